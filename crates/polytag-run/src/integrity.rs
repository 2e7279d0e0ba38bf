//! File fingerprints (size and SHA-256): the corpus record of a run (`corpora.json`, checked
//! on `--resume`) and the checksums of a checkpoint's files (its manifest, checked on load).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The corpus record in a run directory.
pub const CORPORA_FILE: &str = "corpora.json";

/// Size and SHA-256 (lower-case hex) of some bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Length in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

impl Fingerprint {
    /// Of bytes in memory.
    pub fn of_bytes(bytes: &[u8]) -> Fingerprint {
        Fingerprint {
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
        }
    }

    /// Of a file, read in pieces (corpora may be large).
    pub fn of_file(path: &Path) -> Result<Fingerprint> {
        let read_err = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(read_err)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    size += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_err(e)),
            }
        }
        Ok(Fingerprint {
            size,
            sha256: hex(&hasher.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One corpus file a run trains or evaluates on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusFile {
    /// Where in the config it is named: `datasets[0].files.train`.
    pub key: String,
    /// The resolved (absolute) path at the time of recording.
    pub path: PathBuf,
    /// Its fingerprint then.
    #[serde(flatten)]
    pub fingerprint: Fingerprint,
}

impl CorpusFile {
    /// Fingerprints the file at `path`, named `key` in the config.
    pub fn record(key: impl Into<String>, path: &Path) -> Result<CorpusFile> {
        Ok(CorpusFile {
            key: key.into(),
            path: path.to_path_buf(),
            fingerprint: Fingerprint::of_file(path)?,
        })
    }
}

/// Compares the corpora as they are now with the run's record: every recorded file must be
/// there under the same key with the same size and hash (its path may differ: a moved data
/// root). Returns one message per difference, each naming the config key and both files.
pub fn compare_corpora(recorded: &[CorpusFile], now: &[CorpusFile]) -> Vec<String> {
    let mut problems = Vec::new();
    for old in recorded {
        match now.iter().find(|c| c.key == old.key) {
            None => problems.push(format!(
                "{}: the run was trained with {}, which the config no longer names",
                old.key,
                old.path.display()
            )),
            Some(new) if new.fingerprint != old.fingerprint => problems.push(format!(
                "{}: {} differs from the corpus the run was trained on ({}: {} bytes, sha256 {}; now {} bytes, sha256 {})",
                old.key,
                new.path.display(),
                old.path.display(),
                old.fingerprint.size,
                short(&old.fingerprint.sha256),
                new.fingerprint.size,
                short(&new.fingerprint.sha256),
            )),
            Some(_) => {}
        }
    }
    for new in now {
        if !recorded.iter().any(|c| c.key == new.key) {
            problems.push(format!(
                "{}: {} is not a corpus the run was trained with",
                new.key,
                new.path.display()
            ));
        }
    }
    problems
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        let fp = Fingerprint::of_bytes(b"abc");
        assert_eq!(fp.size, 3);
        assert_eq!(
            fp.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(Fingerprint::of_file(&p).unwrap(), fp);
    }

    #[test]
    fn moved_files_with_equal_hashes_pass_and_changed_ones_are_named() {
        let fp = |b: &[u8]| Fingerprint::of_bytes(b);
        let rec = |k: &str, p: &str, b: &[u8]| CorpusFile {
            key: k.into(),
            path: p.into(),
            fingerprint: fp(b),
        };
        let recorded = vec![rec("datasets[0].files.train", "/a/train", b"x")];
        assert!(compare_corpora(
            &recorded,
            &[rec("datasets[0].files.train", "/b/train", b"x")]
        )
        .is_empty());
        let p = compare_corpora(
            &recorded,
            &[rec("datasets[0].files.train", "/b/train", b"y")],
        );
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("datasets[0].files.train") && p[0].contains("/b/train"),
            "{p:?}"
        );
        assert_eq!(compare_corpora(&recorded, &[]).len(), 1);
    }
}
