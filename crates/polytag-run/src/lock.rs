//! The run-directory lock: one process trains a run directory at a time.
//!
//! `train` and `train --resume` take `<run_dir>/lock` before writing anything there; a second
//! process refuses, naming the holder's pid. The file holds the holder's pid and, on Linux, its
//! start time (so a pid reused by an unrelated process after a kill does not keep the lock); a
//! lock whose process is gone (the holder was killed) is stale and taken over. Readers (`eval`,
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
        let record = match start_time(me) {
            Some(start) => format!("{me} {start}\n"),
            None => format!("{me}\n"),
        };
        for _ in 0..5 {
            match fs::File::options().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(record.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|source| Error::Write {
                            path: path.clone(),
                            source,
                        })?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => match read_lock(&path) {
                    Some((pid, start)) if pid != me && holds(pid, start) => {
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
    read_lock(&run_dir.join(LOCK_FILE))
        .filter(|&(pid, start)| holds(pid, start))
        .map(|(pid, _)| pid)
}

fn read_pid(path: &Path) -> Option<u32> {
    read_lock(path).map(|(pid, _)| pid)
}

/// `pid [start time]`.
fn read_lock(path: &Path) -> Option<(u32, Option<u64>)> {
    let text = fs::read_to_string(path).ok()?;
    let mut fields = text.split_whitespace();
    let pid = fields.next()?.parse().ok()?;
    Some((pid, fields.next().and_then(|s| s.parse().ok())))
}

/// Whether the process that wrote a lock is still the one running as `pid`.
fn holds(pid: u32, start: Option<u64>) -> bool {
    is_alive(pid)
        && match (start, start_time(pid)) {
            (Some(recorded), Some(now)) => recorded == now,
            _ => true,
        }
}

/// The start time of process `pid` (clock ticks since boot, `/proc/<pid>/stat` field 22).
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after `comm`: state is field 3, so starttime (22) is the 20th from there.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
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
    fn a_live_pid_with_another_start_time_is_a_reused_pid_not_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let other = std::os::unix::process::parent_id();
        let start = start_time(other).expect("Linux /proc");
        fs::write(dir.path().join(LOCK_FILE), format!("{other} {start}\n")).unwrap();
        assert_eq!(holder(dir.path()), Some(other));
        fs::write(
            dir.path().join(LOCK_FILE),
            format!("{other} {}\n", start + 1),
        )
        .unwrap();
        assert_eq!(holder(dir.path()), None);
        let _lock = RunLock::acquire(dir.path()).unwrap();
        let text = fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(
            text,
            format!(
                "{} {}\n",
                std::process::id(),
                start_time(std::process::id()).unwrap()
            )
        );
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
