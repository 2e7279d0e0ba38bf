//! Sweeps: one experiment run over a grid of settings × seeds (`polytag sweep`).
//!
//! The data flow is plan → run → report. A [`Plan`] expands `--grid KEY=V1,V2` axes (and,
//! given several experiment files, a `config` axis) times `--seeds` into runs, each with the
//! `--set` overrides that make it and its own run directory under one sweep directory; the
//! plan is written as `sweep.json` before anything runs, so the sweep can be resumed and
//! `polytag report SWEEP_DIR` finds every run. [`run`] trains the runs N at a time, each as a
//! child `polytag train` process (a crash or a bad setting fails one run, never the sweep),
//! recording each outcome in `state.json`. [`slurm_script`] writes the same plan as a Slurm
//! array job instead, for a cluster's own scheduler.
//!
//! No burn here: everything heavy happens in the child processes.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use polytag_sweep::{Axis, Plan, PlanSpec};
//! let spec = PlanSpec {
//!     configs: vec!["exp.json".into()],
//!     sets: vec!["training.max_step=300".into()],
//!     axes: vec![Axis::parse("components.encoder.model=gru,lstm")?],
//!     seeds: vec![1, 2, 3],
//! };
//! let plan = Plan::new(spec)?;
//! assert_eq!(plan.runs.len(), 6);
//! assert_eq!(plan.runs[0].dir, std::path::Path::new("runs/v0-model=gru/seed-1"));
//! assert_eq!(
//!     plan.runs[0].sets,
//!     ["training.max_step=300", "components.encoder.model=gru", "seed=1"]
//! );
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod error;
mod grid;
mod plan;
mod runner;
mod slurm;

pub use error::{Error, Result};

/// Set by the sweep on each training child: the sweep's pid. A child whose parent is no longer
/// that process (the sweep was killed, even by SIGKILL, and the child re-parented) stops, so a
/// killed sweep leaves no training running; `sweep --resume` continues the runs.
pub const PARENT_PID_ENV: &str = "POLYTAG_SWEEP_PID";
pub use grid::Axis;
pub use plan::{Plan, PlanSpec, PlannedRun, PLAN_FILE};
pub use runner::{run, Event, Outcome, RunState, Runner, State, Status, Summary, STATE_FILE};
pub use slurm::{slurm_script, SlurmOptions};

#[cfg(test)]
mod test_support;
