//! The crate's one error type.
//!
//! Variants hold data, not pre-formatted strings; each message says what was expected, what was
//! found and where: a config path (`tasks[2]`, `lr_schedule.gamma`), a file (with its line for
//! `metrics.jsonl`), or a checkpoint directory. The caller that knows more (which task a learning
//! rate schedule belongs to) wraps the error rather than this crate guessing.

use std::path::PathBuf;

/// Everything that can go wrong in training, evaluation, checkpoints and prediction.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Scheduling, learning-rate schedules, selection or the run directory (polytag-run).
    #[error(transparent)]
    Run(#[from] polytag_run::Error),
    /// A model operation failed (a batch that does not fit, a task index out of range).
    #[error("{context}")]
    Model {
        /// What was being done: `step 120, task "Dutch NER"`, `evaluating "POS" on dev`.
        context: String,
        /// The model's error (boxed: it is large and rare).
        #[source]
        source: Box<polytag_model::ModelError>,
    },
    /// The model could not be built from the experiment. The problems are the source, so
    /// the message does not repeat them (the CLI prints each source as `caused by:`).
    #[error("cannot build the model")]
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
    #[error("cannot load the experiment's data")]
    LoadData(#[source] polytag_data::DataErrors),
    /// A burn record (model parameters, optimizer state) could not be written or read.
    #[error("cannot {action} {}", .path.display())]
    Record {
        /// `save` or `load`.
        action: &'static str,
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
    /// `polytag export --format hf`: the task has no Hugging Face equivalent.
    #[error("cannot export task {task:?} as a Hugging Face token classifier: {why}")]
    Export {
        /// The task.
        task: String,
        /// What HF cannot represent.
        why: String,
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
    /// `polytag bench`: the target task's dev split has no tokens.
    #[error("{}: the dev split has no tokens to decode", .path.display())]
    NothingToDecode {
        /// The dev file.
        path: PathBuf,
    },
    /// An `embedding` component's vector file cannot extend the vocabulary at prediction
    /// time (`extend_vocab`): it is unreadable, or not the file the run was trained with.
    #[error("component {component:?}: {}: {problem}", .path.display())]
    VectorFile {
        /// The component's name.
        component: String,
        /// The file read.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// The reader's error, if reading failed (boxed: it is large and rare).
        #[source]
        source: Option<Box<polytag_data::Error>>,
    },
    /// No `embedding` component of that name has a vector file to extend its vocabulary from.
    #[error("no embedding component named {name:?} extends its vocabulary from a file; those that do: {known}")]
    NoVectorFile {
        /// The name asked for.
        name: String,
        /// The components that do, comma-separated (`none`).
        known: String,
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
