//! Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never half
//! of one (design.md §6).
//!
//! The bytes go to a temporary file in the same directory (a rename is only atomic within one
//! file system), which is synced to disk before it is renamed over the destination; the directory
//! is then synced so the rename itself survives a power cut. Any failure before the rename
//! removes the temporary file and leaves the destination as it was.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Distinguishes temporary files of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Writes `path` atomically from a writer callback, for output produced in pieces (JSON
/// serialised straight into the file, predictions line by line). If `write` fails, the
/// destination is untouched and the temporary file is removed.
pub fn write_atomic_with<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut io::BufWriter<File>) -> io::Result<()>,
{
    let dir = parent_dir(path);
    let tmp = temp_path(path);
    let write_err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(write_err)?;
    let mut writer = io::BufWriter::new(file);
    let written = write(&mut writer)
        .and_then(|()| writer.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all());
    if let Err(source) = written {
        // Best effort: the write already failed, and a leftover temp file is harmless.
        let _ = fs::remove_file(&tmp);
        return Err(write_err(source));
    }
    if let Err(source) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Rename {
            from: tmp,
            to: path.to_path_buf(),
            source,
        });
    }
    sync_dir(&dir);
    Ok(())
}

/// Syncs a directory so that renames and creations inside it are durable. Best effort: some
/// file systems (and Windows) cannot sync a directory; the data files themselves are synced.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(dir = %dir.display(), %error, "cannot sync directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Syncs every file and directory under `root` (files first, then their directory).
pub(crate) fn sync_tree(root: &Path) -> Result<()> {
    let read_err = |source| Error::Read {
        path: root.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(root).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(read_err)?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|source| Error::Write { path, source })?;
        }
    }
    sync_dir(root);
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.<name>.tmp.<pid>.<n>` beside `path`: hidden, unique per process and call.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    parent_dir(path).join(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::names;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["report.json"]);
    }

    /// The writer fails half-way: the old content stays and no temporary file is left.
    #[test]
    fn failed_write_leaves_old_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        write_atomic(&path, b"{\"complete\": true}\n").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"{\"compl")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Write { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"{\"complete\": true}\n");
        assert_eq!(names(dir.path()), ["config.json"]);
    }

    /// The rename fails (the destination is a non-empty directory): the temp file is removed.
    #[test]
    fn failed_rename_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        let err = write_atomic(&path, b"data").unwrap_err();
        assert!(matches!(err, Error::Rename { .. }), "{err:?}");
        assert_eq!(names(dir.path()), ["target"]);
        assert_eq!(fs::read(path.join("keep")).unwrap(), b"x");
    }

    #[test]
    fn missing_directory_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/file");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert_eq!(err.to_string(), format!("cannot write {}", path.display()));
    }
}
