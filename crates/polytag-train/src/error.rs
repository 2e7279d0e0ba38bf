//! The crate's one error type.
//!
//! Variants hold data, not pre-formatted strings; each message says what was expected, what was
//! found and where: a config path (`tasks[2]`, `lr_schedule.gamma`), a file (with its line for
//! `metrics.jsonl`), or a checkpoint directory. The caller that knows more (which task a learning
//! rate schedule belongs to) wraps the error rather than this crate guessing.

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
    /// A model operation failed (a batch that does not fit, a task index out of range).
    #[error("{context}")]
    Model {
        /// What was being done: `step 120, task "Dutch NER"`, `evaluating "POS" on dev`.
        context: String,
        /// The model's error (boxed: it is large and rare).
        #[source]
        source: Box<polytag_model::ModelError>,
    },
    /// The model could not be built from the experiment.
    #[error("cannot build the model: {0}")]
    Build(#[source] polytag_model::BuildErrors),
    /// A data operation failed (encoding a corpus, starting a batch stream).
    #[error("{context}")]
    Data {
        /// What was being done, with the task or file.
        context: String,
        /// The data layer's error.
        #[source]
        source: polytag_data::Error,
    },
    /// The corpora of an experiment could not be loaded again (on resume).
    #[error("cannot load the experiment's data: {0}")]
    LoadData(#[source] polytag_data::DataErrors),
    /// A burn record (model parameters, optimizer state) could not be written or read.
    #[error("{}: {source}", .path.display())]
    Record {
        /// The `.bpk` file.
        path: PathBuf,
        /// burn's error.
        #[source]
        source: burn::store::RecordError,
    },
    /// A JSON file of a checkpoint or run is not what was expected.
    #[error("{}: invalid JSON", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The config saved with a run or checkpoint does not resolve any more.
    #[error("{}: {errors}", .path.display())]
    Config {
        /// The `config.json`.
        path: PathBuf,
        /// Every problem found.
        errors: polytag_config::ConfigErrors,
    },
    /// A run directory has no checkpoint of the kind asked for.
    #[error("{}: no {kind} checkpoint (has the run evaluated yet?)", .run_dir.display())]
    NoCheckpoint {
        /// The run directory.
        run_dir: PathBuf,
        /// `best` or `last`.
        kind: &'static str,
    },
    /// A checkpoint was written by an incompatible version of polytag.
    #[error("{}: checkpoint format {found}, this polytag reads format {expected}", .path.display())]
    CheckpointFormat {
        /// The manifest.
        path: PathBuf,
        /// Its format number.
        found: u32,
        /// The format this build reads.
        expected: u32,
    },
    /// No task of that name.
    #[error("no task named {name:?}; known: {known}")]
    UnknownTask {
        /// The name asked for.
        name: String,
        /// The experiment's task names, comma-separated.
        known: String,
    },
    /// The training loss is NaN or infinite: the run diverged.
    #[error("step {step}, task {task:?}: the training loss is {loss}; lower the learning rate or enable gradient clipping")]
    Diverged {
        /// Global step.
        step: u64,
        /// Task name.
        task: String,
        /// The loss value.
        loss: f64,
    },
    /// The rayon thread pool could not be configured.
    #[error("training.threads: cannot start {threads} threads: {message}")]
    Threads {
        /// Threads requested.
        threads: usize,
        /// rayon's message.
        message: String,
    },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
