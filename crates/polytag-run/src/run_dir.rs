//! The run directory (design.md §6): where one training run leaves everything needed to
//! evaluate, resume, reproduce and compare it.
//!
//! ```text
//! <output_dir>/<experiment>/<YYYYmmdd-HHMMSS>[-n]/
//!   config.json                 resolved config (reproduces the run alone)
//!   log.txt                     tracing log
//!   metrics.jsonl               one line per evaluation, task and split
//!   checkpoints/best/  last/    complete checkpoints only (see below)
//!   predictions/<task>.<split>.conll
//!   report.json  report.md
//! ```
//!
//! The timestamp is UTC (std `SystemTime` and civil-date arithmetic, no time-zone database), so
//! names sort by start time on every machine. Two runs started in the same second get `-1`,
//! `-2`, …: the directory is claimed with `create_dir`, which fails if another process won.
//!
//! Checkpoints are written into `checkpoints/<kind>.tmp/`, synced, and swapped in by renames:
//! `<kind>` → `<kind>.old`, `<kind>.tmp` → `<kind>`, then `<kind>.old` is removed. Whatever
//! moment a run is killed at, [`RunDir::checkpoint`] finds the newest complete checkpoint:
//! `<kind>.old` exists only after `<kind>.tmp` was complete, so a missing `<kind>` with both
//! present means the `.tmp` is the newer complete one. Readers (`eval`, `predict`, `report`, maybe
//! while the run is still training) never change the directory; only the writer tidies up, in
//! [`RunDir::recover`] (on `--resume`) and [`RunDir::begin_checkpoint`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::atomic::{parent_dir, sync_dir, sync_tree, write_atomic, write_atomic_with};
use crate::error::{Error, Result};
use crate::metrics_log::MetricsLog;

/// The resolved experiment file.
pub const CONFIG_FILE: &str = "config.json";
/// The tracing log.
pub const LOG_FILE: &str = "log.txt";
/// One JSON line per evaluation.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Checkpoint directories live here.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// Prediction files live here.
pub const PREDICTIONS_DIR: &str = "predictions";
/// Machine-readable summary.
pub const REPORT_JSON: &str = "report.json";
/// Human-readable summary.
pub const REPORT_MD: &str = "report.md";

/// Which checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// The evaluation with the best ref-task dev score.
    Best,
    /// The latest one, for resuming.
    Last,
}

impl CheckpointKind {
    /// Directory name under `checkpoints/`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Best => "best",
            CheckpointKind::Last => "last",
        }
    }
}

/// A run directory on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates `<output_dir>/<experiment>/<UTC timestamp>[-n]/` with its `checkpoints/` and
    /// `predictions/` folders. `experiment` is made safe as one path component (see
    /// [`file_name_safe`]).
    pub fn create(output_dir: &Path, experiment: &str) -> Result<Self> {
        Self::create_at_time(output_dir, experiment, SystemTime::now())
    }

    /// [`RunDir::create`] with the clock given (tests, reproducible names).
    pub fn create_at_time(output_dir: &Path, experiment: &str, now: SystemTime) -> Result<Self> {
        let parent = output_dir.join(file_name_safe(experiment));
        create_dir_all(&parent)?;
        let stamp = utc_timestamp(now);
        let mut n = 0u32;
        let root = loop {
            let name = if n == 0 {
                stamp.clone()
            } else {
                format!("{stamp}-{n}")
            };
            let candidate = parent.join(name);
            match fs::create_dir(&candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
                Err(source) => {
                    return Err(Error::CreateDir {
                        path: candidate,
                        source,
                    })
                }
            }
        };
        let run = RunDir { root };
        run.create_subdirs()?;
        sync_dir(&parent);
        Ok(run)
    }

    /// Uses exactly `dir` (`--run-dir DIR`): created if missing, accepted if empty; a directory
    /// with files in it is an error (a finished or killed run there is resumed, not overwritten).
    pub fn create_exact(dir: &Path) -> Result<Self> {
        match fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(Error::RunDirNotEmpty {
                        path: dir.to_path_buf(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_dir_all(dir)?,
            Err(source) => {
                return Err(Error::Read {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
        let run = RunDir {
            root: dir.to_path_buf(),
        };
        run.create_subdirs()?;
        Ok(run)
    }

    /// Opens an existing run (for `--resume`, `eval`, `predict`, `report`): it must be a
    /// directory holding `config.json`. Changes nothing on disk (the run may still be training);
    /// a resumed run calls [`RunDir::recover`] next.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::NotARunDir {
                path: dir.to_path_buf(),
                reason: "no such directory",
            });
        }
        if !dir.join(CONFIG_FILE).is_file() {
            return Err(Error::NotARunDir {
                path: dir.to_path_buf(),
                reason: "no config.json",
            });
        }
        Ok(RunDir {
            root: dir.to_path_buf(),
        })
    }

    /// For the process that continues the run (`--resume`): finishes or rolls back checkpoint
    /// swaps a kill interrupted, removes unfinished staging directories, and recreates missing
    /// folders. Never call it from a reader: it would delete a live run's staging directory.
    pub fn recover(&self) -> Result<()> {
        self.create_subdirs()?;
        for kind in [CheckpointKind::Best, CheckpointKind::Last] {
            self.recover_checkpoint(kind)?;
        }
        Ok(())
    }

    /// The run directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// `log.txt`.
    pub fn log_path(&self) -> PathBuf {
        self.root.join(LOG_FILE)
    }

    /// `metrics.jsonl`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join(METRICS_FILE)
    }

    /// `checkpoints/`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join(CHECKPOINTS_DIR)
    }

    /// `checkpoints/best` or `checkpoints/last` (whether or not it exists yet; see
    /// [`RunDir::checkpoint`]).
    pub fn checkpoint_path(&self, kind: CheckpointKind) -> PathBuf {
        self.checkpoints_dir().join(kind.as_str())
    }

    /// `predictions/<task>.<split>.conll`, the names made file-name safe.
    pub fn predictions_path(&self, task: &str, split: &str) -> PathBuf {
        self.root.join(PREDICTIONS_DIR).join(format!(
            "{}.{}.conll",
            file_name_safe(task),
            file_name_safe(split)
        ))
    }

    /// `report.json`.
    pub fn report_json_path(&self) -> PathBuf {
        self.root.join(REPORT_JSON)
    }

    /// `report.md`.
    pub fn report_md_path(&self) -> PathBuf {
        self.root.join(REPORT_MD)
    }

    /// Writes the resolved config as pretty JSON, atomically.
    pub fn write_config<T: Serialize>(&self, config: &T) -> Result<()> {
        write_json(&self.config_path(), config)
    }

    /// Writes `report.json` and `report.md`, each atomically.
    pub fn write_report<T: Serialize>(&self, report: &T, markdown: &str) -> Result<()> {
        write_json(&self.report_json_path(), report)?;
        write_atomic(&self.report_md_path(), markdown.as_bytes())
    }

    /// Writes a predictions file atomically; returns its path.
    pub fn write_predictions(&self, task: &str, split: &str, conll: &str) -> Result<PathBuf> {
        let path = self.predictions_path(task, split);
        create_dir_all(&self.root.join(PREDICTIONS_DIR))?;
        write_atomic(&path, conll.as_bytes())?;
        Ok(path)
    }

    /// Opens `metrics.jsonl` for appending (a torn last line is dropped).
    pub fn metrics_log(&self) -> Result<MetricsLog> {
        MetricsLog::open(&self.metrics_path())
    }

    /// The newest complete checkpoint of that kind, if any: `<kind>`, or while a swap is
    /// interrupted, `<kind>.tmp` (when `<kind>.old` shows it was complete) or `<kind>.old`.
    /// Read-only.
    pub fn checkpoint(&self, kind: CheckpointKind) -> Option<PathBuf> {
        let (dest, tmp, old) = self.checkpoint_paths(kind);
        if dest.is_dir() {
            Some(dest)
        } else if old.is_dir() {
            Some(if tmp.is_dir() { tmp } else { old })
        } else {
            None
        }
    }

    /// Starts writing a checkpoint: returns an empty staging directory (`checkpoints/<kind>.tmp`)
    /// to fill, then [`CheckpointStaging::commit`] swaps it in. Until the commit the previous
    /// checkpoint stays the one that counts.
    pub fn begin_checkpoint(&self, kind: CheckpointKind) -> Result<CheckpointStaging> {
        self.recover_checkpoint(kind)?;
        let (dest, tmp, old) = self.checkpoint_paths(kind);
        remove_dir_if_exists(&tmp)?;
        create_dir_all(&tmp)?;
        Ok(CheckpointStaging {
            tmp,
            dest,
            old,
            committed: false,
        })
    }

    fn checkpoint_paths(&self, kind: CheckpointKind) -> (PathBuf, PathBuf, PathBuf) {
        let dir = self.checkpoints_dir();
        let name = kind.as_str();
        (
            dir.join(name),
            dir.join(format!("{name}.tmp")),
            dir.join(format!("{name}.old")),
        )
    }

    /// Brings `checkpoints/` back to "at most `<kind>`, complete" after a kill at any point of
    /// the swap (module documentation).
    fn recover_checkpoint(&self, kind: CheckpointKind) -> Result<()> {
        let (dest, tmp, old) = self.checkpoint_paths(kind);
        let (has_dest, has_tmp, has_old) = (dest.is_dir(), tmp.is_dir(), old.is_dir());
        if !has_dest && has_old {
            // Killed between the two renames: `.tmp` (if present) was complete and is newer.
            let newest = if has_tmp { &tmp } else { &old };
            tracing::warn!(
                checkpoint = %dest.display(),
                "completing an interrupted checkpoint swap"
            );
            rename(newest, &dest)?;
        }
        // Any `.tmp` left now is an unfinished write; any `.old` is superseded.
        remove_dir_if_exists(&tmp)?;
        remove_dir_if_exists(&old)?;
        Ok(())
    }

    fn create_subdirs(&self) -> Result<()> {
        create_dir_all(&self.checkpoints_dir())?;
        create_dir_all(&self.root.join(PREDICTIONS_DIR))
    }
}

/// A checkpoint being written; see [`RunDir::begin_checkpoint`]. Dropped without a commit, it
/// removes its staging directory.
#[derive(Debug)]
pub struct CheckpointStaging {
    tmp: PathBuf,
    dest: PathBuf,
    old: PathBuf,
    committed: bool,
}

impl CheckpointStaging {
    /// The directory to write the checkpoint's files into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Syncs the staged files and swaps them in as the checkpoint; returns its final path.
    pub fn commit(mut self) -> Result<PathBuf> {
        sync_tree(&self.tmp)?;
        let had_dest = self.dest.is_dir();
        if had_dest {
            rename(&self.dest, &self.old)?;
        }
        rename(&self.tmp, &self.dest)?;
        self.committed = true;
        if had_dest {
            remove_dir_if_exists(&self.old)?;
        }
        sync_dir(&parent_dir(&self.dest));
        Ok(self.dest.clone())
    }
}

impl Drop for CheckpointStaging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover `.tmp` is removed by the next checkpoint or `open`.
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// A name made safe as one file-name component on Linux, macOS and Windows: path separators,
/// control characters and `: * ? " < > |` become `_`; a leading `.` gets a `_` prefix (no hidden
/// files, no `..`); an empty name becomes `_`. Spaces and non-ASCII letters are kept.
pub fn file_name_safe(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if safe.is_empty() || safe.starts_with('.') {
        safe.insert(0, '_');
    }
    safe
}

/// `YYYYmmdd-HHMMSS` in UTC; times before 1970 read as 1970-01-01.
pub fn utc_timestamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms", `civil_from_days`, for non-negative counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
        std::io::Write::write_all(w, b"\n")
    })
}

fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|source| Error::CreateDir {
        path: path.to_path_buf(),
        source,
    })
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|source| Error::Rename {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    })
}

fn remove_dir_if_exists(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Remove {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::names;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Reference values from Python's `datetime.fromtimestamp(t, timezone.utc)`.
    #[test]
    fn utc_timestamps() {
        assert_eq!(utc_timestamp(at(0)), "19700101-000000");
        assert_eq!(utc_timestamp(at(951_782_400)), "20000229-000000");
        assert_eq!(utc_timestamp(at(1_700_000_000)), "20231114-221320");
        assert_eq!(utc_timestamp(at(4_102_444_799)), "20991231-235959");
        assert_eq!(utc_timestamp(at(253_402_300_799)), "99991231-235959");
        assert_eq!(
            utc_timestamp(UNIX_EPOCH - Duration::from_secs(5)),
            "19700101-000000"
        );
    }

    #[test]
    fn create_makes_the_layout_and_unique_names_in_one_second() {
        let out = tempfile::tempdir().unwrap();
        let t = at(1_700_000_000);
        let a = RunDir::create_at_time(out.path(), "paper/nl ner", t).unwrap();
        let b = RunDir::create_at_time(out.path(), "paper/nl ner", t).unwrap();
        let c = RunDir::create_at_time(out.path(), "paper/nl ner", t).unwrap();
        let exp = out.path().join("paper_nl ner");
        assert_eq!(a.path(), exp.join("20231114-221320"));
        assert_eq!(b.path(), exp.join("20231114-221320-1"));
        assert_eq!(c.path(), exp.join("20231114-221320-2"));
        assert_eq!(names(a.path()), ["checkpoints", "predictions"]);
        assert_eq!(a.config_path(), a.path().join("config.json"));
        assert_eq!(a.log_path(), a.path().join("log.txt"));
        assert_eq!(a.metrics_path(), a.path().join("metrics.jsonl"));
        assert_eq!(a.report_json_path(), a.path().join("report.json"));
        assert_eq!(a.report_md_path(), a.path().join("report.md"));
        assert_eq!(
            a.checkpoint_path(CheckpointKind::Best),
            a.path().join("checkpoints/best")
        );
        assert_eq!(
            a.predictions_path("Dutch NER", "dev"),
            a.path().join("predictions/Dutch NER.dev.conll")
        );
    }

    #[test]
    fn names_are_made_file_name_safe() {
        assert_eq!(file_name_safe("nl_ner"), "nl_ner");
        assert_eq!(file_name_safe("a/b\\c:d"), "a_b_c_d");
        assert_eq!(file_name_safe(".."), "_..");
        assert_eq!(file_name_safe(""), "_");
        assert_eq!(file_name_safe("Ukrainian NER ü\n"), "Ukrainian NER ü_");
    }

    #[test]
    fn open_requires_a_config() {
        let out = tempfile::tempdir().unwrap();
        let run = RunDir::create(out.path(), "exp").unwrap();
        let err = RunDir::open(run.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is not a run directory (no config.json)",
                run.path().display()
            )
        );
        run.write_config(&serde_json::json!({"name": "exp", "seed": 1}))
            .unwrap();
        assert_eq!(
            fs::read_to_string(run.config_path()).unwrap(),
            "{\n  \"name\": \"exp\",\n  \"seed\": 1\n}\n"
        );
        assert_eq!(RunDir::open(run.path()).unwrap(), run);
        assert!(matches!(
            RunDir::open(&out.path().join("missing")),
            Err(Error::NotARunDir { .. })
        ));
    }

    #[test]
    fn create_exact_refuses_a_used_directory() {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("my-run");
        let run = RunDir::create_exact(&dir).unwrap();
        assert_eq!(run.path(), dir);
        assert!(matches!(
            RunDir::create_exact(&dir),
            Err(Error::RunDirNotEmpty { .. })
        ));
    }

    #[test]
    fn writes_predictions_and_report() {
        let out = tempfile::tempdir().unwrap();
        let run = RunDir::create(out.path(), "exp").unwrap();
        let path = run
            .write_predictions("nl_ner", "test", "Jan B-PER B-PER\n\n")
            .unwrap();
        assert_eq!(fs::read_to_string(path).unwrap(), "Jan B-PER B-PER\n\n");
        run.write_report(&serde_json::json!({"f1": 0.5}), "# Report\n")
            .unwrap();
        assert_eq!(
            fs::read_to_string(run.report_md_path()).unwrap(),
            "# Report\n"
        );
        let mut log = run.metrics_log().unwrap();
        log.append(&serde_json::json!({"step": 1})).unwrap();
        assert!(run.metrics_path().is_file());
    }

    fn write_checkpoint(run: &RunDir, kind: CheckpointKind, content: &str) -> PathBuf {
        let staging = run.begin_checkpoint(kind).unwrap();
        fs::create_dir(staging.path().join("model")).unwrap();
        fs::write(staging.path().join("model/weights.bin"), content).unwrap();
        fs::write(staging.path().join("state.json"), content).unwrap();
        staging.commit().unwrap()
    }

    fn content(dir: &Path) -> String {
        fs::read_to_string(dir.join("state.json")).unwrap()
    }

    #[test]
    fn checkpoint_swap_replaces_the_previous_one() {
        let out = tempfile::tempdir().unwrap();
        let run = RunDir::create(out.path(), "exp").unwrap();
        assert_eq!(run.checkpoint(CheckpointKind::Last), None);
        let path = write_checkpoint(&run, CheckpointKind::Last, "step 100");
        assert_eq!(path, run.checkpoint_path(CheckpointKind::Last));
        write_checkpoint(&run, CheckpointKind::Last, "step 200");
        write_checkpoint(&run, CheckpointKind::Best, "step 200");
        assert_eq!(names(&run.checkpoints_dir()), ["best", "last"]);
        let last = run.checkpoint(CheckpointKind::Last).unwrap();
        assert_eq!(content(&last), "step 200");
        assert_eq!(
            fs::read_to_string(last.join("model/weights.bin")).unwrap(),
            "step 200"
        );
    }

    /// A run killed while writing: the previous checkpoint is still the one found.
    #[test]
    fn kill_during_write_keeps_the_previous_checkpoint() {
        let out = tempfile::tempdir().unwrap();
        let run = RunDir::create(out.path(), "exp").unwrap();
        run.write_config(&serde_json::json!({})).unwrap();
        write_checkpoint(&run, CheckpointKind::Last, "step 100");
        let staging = run.begin_checkpoint(CheckpointKind::Last).unwrap();
        fs::write(staging.path().join("state.json"), "step 2").unwrap();
        std::mem::forget(staging); // killed: no commit, no drop
        assert!(run.checkpoints_dir().join("last.tmp").is_dir());
        let reopened = RunDir::open(run.path()).unwrap();
        let last = reopened.checkpoint(CheckpointKind::Last).unwrap();
        assert_eq!(content(&last), "step 100");
        // Readers leave the directory alone; the resuming writer tidies up.
        assert_eq!(names(&run.checkpoints_dir()), ["last", "last.tmp"]);
        reopened.recover().unwrap();
        assert_eq!(names(&run.checkpoints_dir()), ["last"]);
        assert_eq!(content(&last), "step 100");
    }

    /// Killed between `last` → `last.old` and `last.tmp` → `last`: the staged one is complete
    /// and newer, so it becomes `last`.
    #[test]
    fn kill_between_renames_finishes_the_swap() {
        let out = tempfile::tempdir().unwrap();
        let run = RunDir::create(out.path(), "exp").unwrap();
        write_checkpoint(&run, CheckpointKind::Last, "step 100");
        let dir = run.checkpoints_dir();
        let staging = run.begin_checkpoint(CheckpointKind::Last).unwrap();
        fs::write(staging.path().join("state.json"), "step 200").unwrap();
        std::mem::forget(staging);
        fs::rename(dir.join("last"), dir.join("last.old")).unwrap();
        let found = run.checkpoint(CheckpointKind::Last).unwrap();
        assert_eq!(found, dir.join("last.tmp"));
        assert_eq!(content(&found), "step 200");
        run.recover().unwrap();
        assert_eq!(names(&dir), ["last"]);
        assert_eq!(content(&dir.join("last")), "step 200");
        // Only `.old` left (the staged copy lost): it is the complete one.
        fs::rename(dir.join("last"), dir.join("last.old")).unwrap();
        assert_eq!(
            run.checkpoint(CheckpointKind::Last),
            Some(dir.join("last.old"))
        );
        run.recover().unwrap();
        assert_eq!(names(&dir), ["last"]);
    }

    /// Killed after the swap but before `last.old` was removed: `last` is kept.
    #[test]
    fn kill_before_cleanup_keeps_the_new_checkpoint() {
        let out = tempfile::tempdir().unwrap();
        let run = RunDir::create(out.path(), "exp").unwrap();
        let dir = run.checkpoints_dir();
        write_checkpoint(&run, CheckpointKind::Best, "step 100");
        fs::rename(dir.join("best"), dir.join("best.old")).unwrap();
        write_checkpoint(&run, CheckpointKind::Best, "step 300");
        // `begin_checkpoint` already resolved the stray `.old` (the only complete one then) …
        assert_eq!(names(&dir), ["best"]);
        // … and a leftover `.old` beside a complete `best` is dropped.
        fs::create_dir(dir.join("best.old")).unwrap();
        let best = run.checkpoint(CheckpointKind::Best).unwrap();
        assert_eq!(content(&best), "step 300");
        run.recover().unwrap();
        assert_eq!(names(&dir), ["best"]);
    }

    #[test]
    fn dropped_staging_is_removed() {
        let out = tempfile::tempdir().unwrap();
        let run = RunDir::create(out.path(), "exp").unwrap();
        let staging = run.begin_checkpoint(CheckpointKind::Best).unwrap();
        fs::write(staging.path().join("x"), "x").unwrap();
        drop(staging);
        assert!(names(&run.checkpoints_dir()).is_empty());
        assert_eq!(run.checkpoint(CheckpointKind::Best), None);
    }
}
