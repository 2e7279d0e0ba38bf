//! polytag-train: the training engine of polytag, on burn (design.md §4, §6).
//!
//! It receives a resolved experiment and its loaded corpora ([`experiment::load`] does both and
//! collects the warnings) and trains the model: [`Trainer`] (the loop: one task batch per step,
//! per-task [`TaskOptimizer`]s, global-norm [`clip`]ping, evaluation on dev and test,
//! checkpoints, exact resume), [`evaluate`] and [`decode`] (the one decode path, shared with
//! [`Predictor`], which `polytag eval` / `predict` use), [`checkpoint`] (what a checkpoint
//! directory holds), [`report`] (building `report.json`) and [`bench`](mod@bench) (`polytag bench`).
//!
//! The burn-free parts it drives live in polytag-run and are re-exported here: which task
//! trains at each step ([`Scheduler`]), at which learning rate ([`LrScheduler`]), whether an
//! evaluation is a new best or the end ([`Selection`]), and where every file goes ([`RunDir`],
//! [`MetricsLog`], [`write_atomic`]).
//!
//! ```
//! use polytag_train::{LrSchedule, LrScheduler, Schedule, ScheduleKind, Scheduler, Selection};
//! use polytag_train::TaskInfo;
//!
//! let task = |size: usize, language: &str, is_target: bool| TaskInfo {
//!     size,
//!     batch_size: 10,
//!     language: language.to_string(),
//!     task_type: "ner".to_string(),
//!     is_target,
//! };
//! let tasks = [task(400, "nl", true), task(2500, "en", false)];
//! // The paper's schedule: weights √400 = 20 and 0.1·√2500 = 5.
//! let schedule = Schedule {
//!     kind: ScheduleKind::SqrtSize,
//!     task_discount: 0.1,
//!     lang_discount: 0.1,
//! };
//! let mut scheduler = Scheduler::new(&schedule, &tasks, 42)?;
//! assert_eq!(scheduler.probabilities(), [0.8, 0.2]);
//! let lr = LrScheduler::new(0.02, LrSchedule::default(), 50_000)?;
//! let mut selection = Selection::new(Some(5), 0.0)?;
//! let mut task_steps = [0u64; 2];
//! for step in 1..=100u64 {
//!     let task = scheduler.next_task();
//!     let _rate = lr.lr(task_steps[task]); // the task's own step counter
//!     task_steps[task] += 1;
//!     if step % 50 == 0 {
//!         let verdict = selection.observe(step, 0.5);
//!         assert!(!verdict.stop);
//!     }
//! }
//! assert_eq!(selection.best().map(|b| b.step), Some(50));
//! # Ok::<(), polytag_train::Error>(())
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod checkpoint;
pub mod clip;
pub mod decode;
pub mod error;
pub mod evaluate;
pub mod experiment;
pub mod optim;
pub mod predictor;
pub mod report;
pub mod trainer;
pub mod transformers;
pub mod vocabularies;

pub use polytag_run::{
    file_name_safe, utc_timestamp, write_atomic, write_atomic_with, Best, CheckpointKind,
    CheckpointStaging, Cosine, Exponential, Linear, LrSchedule, LrScheduler, LrState, MetricsLog,
    MetricsRecord, MultiStep, NoProgress, OneCycle, Plateau, PlateauState, Progress, RunDir,
    RunReport, Schedule, ScheduleKind, Scheduler, SchedulerState, Selection, StepDecay, TaskInfo,
    TaskReport, TerminalProgress, ThresholdMode, Verdict,
};
pub use polytag_run::{lr, metrics_log, progress, run_dir, scheduler, selection};

pub use checkpoint::{Checkpoint, CheckpointDir, TrainState};
pub use error::{Error, Result};
pub use optim::TaskOptimizer;
pub use predictor::{HfExport, Predictor, Tagged, VocabExtension};
pub use trainer::{backend_threads, configure_threads, RunSummary, StepOutcome, Trainer};
pub use vocabularies::{DatasetInfo, TaskVocabs, Vocabularies};
