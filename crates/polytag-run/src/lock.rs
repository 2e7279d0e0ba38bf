//! The run-directory lock: one process trains a run directory at a time.
//!
//! `train` and `train --resume` take `<run_dir>/lock` before writing anything there; a second
//! process refuses, naming the holder's pid. The file holds the holder's pid; a lock whose pid
//! is no longer alive (the holder was killed) is stale and taken over. Readers (`eval`,
//! `predict`, `report`) never take it; `report` asks [`holder`] whether a run without
//! `report.json` is still being trained or was stopped.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file in a run directory.
pub const LOCK_FILE: &str = "lock";

/// A held run-directory lock; dropping it releases the lock (removes the file).
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of `run_dir` for this process. Fails with [`Error::Locked`] while a
    /// live process holds it; a stale lock (its pid is dead) is replaced.
    pub fn acquire(run_dir: &Path) -> Result<RunLock> {
        let path = run_dir.join(LOCK_FILE);
        let me = std::process::id();
        for _ in 0..5 {
            match fs::File::options().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(format!("{me}\n").as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|source| Error::Write {
                            path: path.clone(),
                            source,
                        })?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => match read_pid(&path) {
                    Some(pid) if pid != me && is_alive(pid) => {
                        return Err(Error::Locked {
                            path: run_dir.to_path_buf(),
                            pid,
                        })
                    }
                    // Dead holder, our own leftover, or a lock torn before its pid was written.
                    stale => {
                        tracing::warn!(
                            lock = %path.display(),
                            pid = ?stale,
                            "removing a stale run-directory lock (its process is gone)"
                        );
                        match fs::remove_file(&path) {
                            Ok(()) => {}
                            Err(e) if e.kind() == ErrorKind::NotFound => {}
                            Err(source) => return Err(Error::Remove { path, source }),
                        }
                    }
                },
                Err(source) => return Err(Error::Write { path, source }),
            }
        }
        Err(Error::Locked {
            path: run_dir.to_path_buf(),
            pid: read_pid(&path).unwrap_or(0),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Only our own lock: never remove one another process took over.
        if read_pid(&self.path) == Some(std::process::id()) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The pid of the live process holding `run_dir`'s lock, if any (a stale lock gives `None`).
pub fn holder(run_dir: &Path) -> Option<u32> {
    read_pid(&run_dir.join(LOCK_FILE)).filter(|&pid| is_alive(pid))
}

fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether process `pid` exists (and is not a zombie). On Linux from `/proc`; elsewhere a
/// lock is assumed live (the safe answer: refuse rather than share a run directory).
pub fn is_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    if !Path::new("/proc/self").exists() {
        return true;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`; `Z` (zombie), `X` (dead) are gone.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_by_a_live_process_is_refused_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        // A live process other than us: our parent (the test harness's parent shell or cargo).
        let other = std::os::unix::process::parent_id();
        fs::write(dir.path().join(LOCK_FILE), format!("{other}\n")).unwrap();
        let err = RunLock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains(&format!("pid {other}")), "{err}");
        assert_eq!(holder(dir.path()), Some(other));
        fs::remove_file(dir.path().join(LOCK_FILE)).unwrap();
        let lock = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(holder(dir.path()), Some(std::process::id()));
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
        assert_eq!(holder(dir.path()), None);
    }

    #[test]
    fn stale_lock_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        assert!(!is_alive(dead));
        fs::write(dir.path().join(LOCK_FILE), format!("{dead}\n")).unwrap();
        assert_eq!(holder(dir.path()), None);
        let _lock = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(holder(dir.path()), Some(std::process::id()));
        // A torn lock (no pid) is stale too.
        drop(_lock);
        fs::write(dir.path().join(LOCK_FILE), "").unwrap();
        assert!(RunLock::acquire(dir.path()).is_ok());
    }
}
