//! polytag-train: how the tasks of an experiment share training, and where a run leaves its
//! results (design.md §4, §6).
//!
//! It receives the resolved training options and per-task sizes and hands the trainer, step by
//! step, which task to train ([`Scheduler`]), at which learning rate ([`LrScheduler`]), whether
//! an evaluation is a new best or the end ([`Selection`]), and where every file goes
//! ([`RunDir`], [`MetricsLog`], [`write_atomic`]). All state that a resumed run needs is serde
//! data, so a checkpoint can hold it and a resume continues the same sequence.
//!
//! On top of those burn-free parts sit the burn-dependent ones: [`Trainer`] (the loop: one task
//! batch per step, per-task [`TaskOptimizer`]s, global-norm [`clip`]ping, evaluation on dev and
//! test, checkpoints, exact resume), [`evaluate`] and [`decode`] (the one decode path, shared
//! with [`Predictor`], which `polytag eval` / `predict` use), [`checkpoint`] (what a checkpoint
//! directory holds), [`report`] and [`progress`].
//!
//! ```
//! use polytag_train::{LrSchedule, LrScheduler, ScheduleConfig, Scheduler, Selection, TaskInfo};
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
//! let mut scheduler = Scheduler::new(&ScheduleConfig::default(), &tasks, 42)?;
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

mod atomic;
pub mod checkpoint;
pub mod clip;
pub mod decode;
pub mod error;
pub mod evaluate;
pub mod lr;
pub mod metrics_log;
pub mod optim;
pub mod predictor;
pub mod progress;
pub mod report;
pub mod run_dir;
pub mod scheduler;
pub mod selection;
pub mod trainer;
pub mod vocabularies;

pub use atomic::{write_atomic, write_atomic_with};
pub use checkpoint::{Checkpoint, CheckpointDir, TrainState};
pub use error::{Error, Result};
pub use lr::{
    Cosine, Exponential, Linear, LrSchedule, LrScheduler, LrState, MultiStep, OneCycle, Plateau,
    PlateauMode, PlateauState, StepDecay, ThresholdMode,
};
pub use metrics_log::{MetricsLog, MetricsRecord};
pub use optim::TaskOptimizer;
pub use predictor::{Predictor, Tagged};
pub use progress::{NoProgress, Progress, TerminalProgress};
pub use report::{Report, TaskReport};
pub use run_dir::{file_name_safe, utc_timestamp, CheckpointKind, CheckpointStaging, RunDir};
pub use scheduler::{ScheduleConfig, ScheduleKind, Scheduler, SchedulerState, TaskInfo};
pub use selection::{Best, Selection, Verdict};
pub use trainer::{backend_threads, configure_threads, RunSummary, StepOutcome, Trainer};
pub use vocabularies::{DatasetInfo, TaskVocabs, Vocabularies};
