//! How a training run shows that it is alive: a progress bar on a terminal, nothing extra
//! otherwise (the trainer's `tracing` lines then carry the news, design.md §4).
//!
//! The trainer only calls the [`Progress`] trait; the binary picks the implementation, so
//! tests and library users get no terminal output.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Receives the trainer's progress.
pub trait Progress {
    /// Training starts (or resumes) at global step `step` of `max_step`.
    fn begin(&mut self, step: u64, max_step: u64);
    /// Global step `step` trained task `task` with this batch loss.
    fn step(&mut self, step: u64, task: &str, loss: f64);
    /// An evaluation finished; `summary` is one line (ref task dev score, best so far).
    fn evaluated(&mut self, step: u64, summary: &str);
    /// Training ended.
    fn finish(&mut self);
}

/// Shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&mut self, _step: u64, _max_step: u64) {}
    fn step(&mut self, _step: u64, _task: &str, _loss: f64) {}
    fn evaluated(&mut self, _step: u64, _summary: &str) {}
    fn finish(&mut self) {}
}

/// An `indicatif` bar on stderr: steps, steps/s, ETA, the current task and its loss.
#[derive(Debug)]
pub struct TerminalProgress {
    bar: ProgressBar,
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl TerminalProgress {
    /// A hidden bar until [`Progress::begin`].
    pub fn new() -> Self {
        TerminalProgress {
            bar: ProgressBar::hidden(),
        }
    }
}

impl Progress for TerminalProgress {
    fn begin(&mut self, step: u64, max_step: u64) {
        let bar = ProgressBar::new(max_step);
        let style =
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {per_sec}  eta {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_position(step);
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bar = bar;
    }

    fn step(&mut self, step: u64, task: &str, loss: f64) {
        self.bar.set_position(step);
        self.bar.set_message(format!("{task}: loss {loss:.3}"));
    }

    fn evaluated(&mut self, step: u64, summary: &str) {
        self.bar.println(format!("step {step}: {summary}"));
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}
