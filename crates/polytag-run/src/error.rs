//! The crate's one error type.
//!
//! Variants hold data, not pre-formatted strings; each message says what was expected, what was
//! found and where: a config path (`tasks[2]`, `lr_schedule.gamma`), a file (with its line for
//! `metrics.jsonl`), or a directory. The caller that knows more (which task a learning rate
//! schedule belongs to) wraps the error rather than this crate guessing.

use std::path::PathBuf;

/// Everything that can go wrong in scheduling, learning-rate schedules, selection and the run
/// directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scheduler was given no tasks.
    #[error("schedule: no tasks to schedule")]
    NoTasks,
    /// A task has no training sentences, so it could never produce a batch.
    #[error("tasks[{task_idx}]: training size is 0; a scheduled task needs at least one sentence")]
    EmptyTask {
        /// Index of the task in the list given to the scheduler.
        task_idx: usize,
    },
    /// A task's batch size is 0.
    #[error("tasks[{task_idx}]: batch_size is 0; expected at least 1")]
    ZeroBatchSize {
        /// Index of the task in the list given to the scheduler.
        task_idx: usize,
    },
    /// A schedule that weighs tasks against the target found no target task.
    #[error("schedule: kind {kind} needs a target task (`ref: true`), found none")]
    NoTarget {
        /// The schedule kind, as spelled in the config.
        kind: &'static str,
    },
    /// More than one task is marked as the target.
    #[error(
        "tasks[{second}]: a second target task (`ref: true`); tasks[{first}] is already the target"
    )]
    MultipleTargets {
        /// The first task marked as target.
        first: usize,
        /// The next one.
        second: usize,
    },
    /// A numeric option is outside its valid range.
    #[error("{path}: expected {expected}, found {value}")]
    InvalidValue {
        /// Config path of the option (`schedule.task_discount`, `lr_schedule.gamma`).
        path: String,
        /// The value found.
        value: f64,
        /// What would be valid, in words.
        expected: &'static str,
    },
    /// Saved state does not fit the object it is restored into (a checkpoint from another config).
    #[error("cannot restore {what}: saved state has {found}, the current config has {expected}")]
    StateMismatch {
        /// What was being restored (`scheduler`, `lr schedule`).
        what: &'static str,
        /// Description of the current configuration.
        expected: String,
        /// Description of the saved state.
        found: String,
    },
    /// A directory could not be created.
    #[error("cannot create directory {}", .path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written (or synced to disk).
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A rename (the commit step of every atomic write) failed.
    #[error("cannot rename {} to {}", .from.display(), .to.display())]
    Rename {
        /// Source path.
        from: PathBuf,
        /// Destination path.
        to: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A stale temporary file or directory could not be removed.
    #[error("cannot remove {}", .path.display())]
    Remove {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `RunDir::open` was pointed at something that is not a run directory.
    #[error("{} is not a run directory ({reason})", .path.display())]
    NotARunDir {
        /// The path given.
        path: PathBuf,
        /// Why not, in words.
        reason: &'static str,
    },
    /// `RunDir::create_exact` was pointed at a directory that already holds files.
    #[error("{} already exists and is not empty; use --resume to continue a run", .path.display())]
    RunDirNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// Another live process holds the run directory's lock.
    #[error(
        "{} is in use by another polytag process (pid {pid}); wait for it to end or stop it first",
        .path.display()
    )]
    Locked {
        /// The run directory.
        path: PathBuf,
        /// The holder's pid (0 if unreadable).
        pid: u32,
    },
    /// A file does not match the checksum its manifest records.
    #[error("{}: {what}", .path.display())]
    Integrity {
        /// The file.
        path: PathBuf,
        /// What differs, in words.
        what: String,
    },
    /// A complete line of `metrics.jsonl` is not a valid record.
    #[error("{}:{line}: invalid metrics record", .path.display())]
    MetricsLine {
        /// The metrics file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A record could not be encoded as JSON (a non-string map key, for instance).
    #[error("cannot encode a metrics record for {}", .path.display())]
    MetricsEncode {
        /// The metrics file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
