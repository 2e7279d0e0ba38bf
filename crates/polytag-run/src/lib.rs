//! polytag-run: what a training run needs besides the model (design.md §4, §6), with no burn.
//!
//! It receives the resolved experiment's training options (`polytag_config::Schedule`,
//! `polytag_config::LrSchedule` via [`LrSchedule`]) and per-task sizes, and hands a trainer,
//! step by step, which task to train ([`Scheduler`]), at which learning rate ([`LrScheduler`]),
//! whether an evaluation is a new best or the end ([`Selection`]), and where every file goes
//! ([`RunDir`], [`MetricsLog`], [`write_atomic`]). The records a run leaves ([`MetricsRecord`]
//! lines, the [`RunReport`]) are defined here once, for the writer (polytag-train) and the
//! readers (polytag-report, polytag-sweep) alike. All state that a resumed run needs is serde
//! data, so a checkpoint can hold it and a resume continues the same sequence.
//!
//! Nothing here links burn: a trainer of another kind (skip-gram embeddings, say) reuses the
//! run directory, metrics, schedules and resume logic as they are, and the crates that only
//! read runs build in seconds.
//!
//! ```
//! use polytag_run::{MetricsLog, MetricsRecord, RunDir};
//!
//! let out = tempfile::tempdir()?;
//! let run = RunDir::create(out.path(), "paper/nl ner")?;
//! run.write_config(&serde_json::json!({"name": "paper/nl ner"}))?;
//! let record = MetricsRecord {
//!     step: 1000,
//!     task: "Dutch NER".to_string(),
//!     split: "dev".to_string(),
//!     score: 0.75,
//!     metrics: serde_json::Map::new(),
//!     learning_rate: Some(0.02),
//!     task_step: Some(800),
//!     loss: None,
//!     wall_time_s: 12.5,
//! };
//! run.metrics_log()?.append(&record)?;
//! // A reader (`polytag report`, maybe while the run trains) opens the same directory.
//! let reopened = RunDir::open(run.path())?;
//! let read: Vec<MetricsRecord> = MetricsLog::read(&reopened.metrics_path())?;
//! assert_eq!(read, [record]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod atomic;
pub mod error;
pub mod integrity;
pub mod lock;
pub mod lr;
pub mod metrics_log;
pub mod progress;
pub mod report;
pub mod run_dir;
pub mod scheduler;
pub mod seed;
pub mod selection;
#[cfg(test)]
mod test_support;

pub use atomic::{write_atomic, write_atomic_with};
pub use error::{Error, Result};
pub use integrity::{compare_corpora, CorpusFile, Fingerprint, CORPORA_FILE};
pub use lock::RunLock;
pub use lr::{
    Cosine, Exponential, Linear, LrSchedule, LrScheduler, LrState, MultiStep, OneCycle, Plateau,
    PlateauState, StepDecay, ThresholdMode, PLATEAU_EPS,
};
pub use metrics_log::{MetricsLog, MetricsRecord};
pub use polytag_config::{Schedule, ScheduleKind};
pub use progress::{NoProgress, Progress, TerminalProgress};
pub use report::{RunReport, RunReportSummary, TaskReport, TaskReportSummary};
pub use run_dir::{file_name_safe, utc_timestamp, CheckpointKind, CheckpointStaging, RunDir};
pub use scheduler::{Scheduler, SchedulerState, TaskInfo};
pub use selection::{Best, Selection, Verdict};
