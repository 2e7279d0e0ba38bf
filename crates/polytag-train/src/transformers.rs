//! A run's copies of its transformers' `tokenizer.json` and `config.json`
//! (`RUN/transformers/<component name>/`, with `sha256.json`), so `eval`, `predict` and
//! `--resume` work after the model folder is moved or deleted, and read the very files the
//! run was trained with (a checkpoint holds the weights; the tokenizer and sizes must match).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use polytag_config::{ComponentKind, Experiment};
use polytag_data::sha256_hex;

use crate::checkpoint::{read_json, write_json};
use crate::error::Result;

/// The folder of the copies inside a run directory.
pub const TRANSFORMERS_DIR: &str = "transformers";
/// The digests of the copied files, per folder.
pub const DIGESTS_FILE: &str = "sha256.json";

/// `RUN/transformers`.
pub fn copies_dir(run_root: &Path) -> PathBuf {
    run_root.join(TRANSFORMERS_DIR)
}

/// The files of each transformer component of `exp` that a run keeps: `(component index,
/// component name, [(file name in the copy, source)])`.
#[allow(clippy::type_complexity)] // the tuple is described above, read in one place
fn sources(exp: &Experiment) -> Vec<(usize, String, Vec<(&'static str, PathBuf)>)> {
    exp.components
        .iter()
        .enumerate()
        .filter_map(|(c, component)| {
            let ComponentKind::Transformer(spec) = &component.kind else {
                return None;
            };
            let mut files = Vec::new();
            if let Some(tokenizer) = &spec.files.tokenizer {
                files.push(("tokenizer.json", tokenizer.clone()));
            }
            if let Some(dir) = &spec.files.model_dir {
                files.push(("config.json", dir.join("config.json")));
            }
            Some((c, component.name.clone(), files))
        })
        .collect()
}

/// Copies every transformer's files into `RUN/transformers/<name>/` and records their
/// SHA-256 there; returns the digests by component index (the run's vocabularies keep them).
pub fn copy_into_run(
    exp: &Experiment,
    run_root: &Path,
) -> Result<BTreeMap<usize, BTreeMap<String, String>>> {
    let mut all = BTreeMap::new();
    for (c, name, files) in sources(exp) {
        let dir = copies_dir(run_root).join(&name);
        fs::create_dir_all(&dir).map_err(|source| polytag_run::Error::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let mut digests = BTreeMap::new();
        for (file_name, source_path) in files {
            let bytes = fs::read(&source_path).map_err(|source| polytag_run::Error::Read {
                path: source_path.clone(),
                source,
            })?;
            crate::write_atomic(&dir.join(file_name), &bytes)?;
            digests.insert(file_name.to_string(), sha256_hex(&bytes));
        }
        write_json(&dir.join(DIGESTS_FILE), &digests)?;
        all.insert(c, digests);
    }
    Ok(all)
}

/// Checks that a run's copies still have the digests recorded when they were made.
///
/// # Errors
/// A missing or unreadable copy, or one whose content changed.
pub fn verify_copies(exp: &Experiment, run_root: &Path) -> Result<()> {
    for (_, name, files) in sources(exp) {
        let dir = copies_dir(run_root).join(&name);
        let recorded: BTreeMap<String, String> = read_json(&dir.join(DIGESTS_FILE))?;
        for (file_name, _) in files {
            let path = dir.join(file_name);
            let bytes = fs::read(&path).map_err(|source| polytag_run::Error::Read {
                path: path.clone(),
                source,
            })?;
            let found = sha256_hex(&bytes);
            if recorded.get(file_name) != Some(&found) {
                return Err(polytag_run::Error::StateMismatch {
                    what: "transformer file",
                    expected: format!(
                        "{} with SHA-256 {}",
                        path.display(),
                        recorded
                            .get(file_name)
                            .map_or("(none recorded)", String::as_str)
                    ),
                    found: found.to_string(),
                }
                .into());
            }
        }
    }
    Ok(())
}
