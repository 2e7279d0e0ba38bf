//! Which task trains at each global step (design.md §4, seed-systems.md A.7.1 and A.7.2).
//!
//! Four kinds:
//! - `round_robin`: tasks in turn, 0, 1, …, K−1, 0, …;
//! - `proportional`: drawn with probability ∝ training size N_k;
//! - `sqrt_size` (the paper, A.7.1): drawn with probability ∝ w_k = √N_k × task_discount (if k's
//!   task type differs from the target's) × lang_discount (if k's language differs from the
//!   target's); both discounts 0.1 by default, so a task of another type in another language
//!   weighs 0.01 √N;
//! - `epoch_mix` (the paper's scripts, A.7.2, "new" variant): fixed counts per epoch,
//!   n_tgt = max(1, ⌊N_tgt / B_tgt⌋) and n_x = ⌊w_x / w_tgt × n_tgt⌋ for each auxiliary x
//!   (w as in `sqrt_size`), the epoch's list shuffled uniformly.
//!
//! Reproducibility: the task drawn at global step t is a pure function of (seed, t, the tasks).
//! Every draw seeds its own `StdRng` from a hash of (seed, t) (for `epoch_mix`, every epoch from a
//! hash of (seed, epoch)), so the only state is the step counter: resuming is O(1) and cannot drift
//! from an uninterrupted run however many random numbers a draw consumed. `StdRng` is not promised
//! to be stable across `rand` versions; `Cargo.lock` pins it.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use polytag_config::{Schedule, ScheduleKind};

use crate::error::{Error, Result};
use crate::seed::derive_seed;

/// What the scheduler needs to know about one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// Training sentences after sampling (N_k; A.7.1 counts them after `sample`).
    pub size: usize,
    /// The task's batch size (B; `epoch_mix` uses the target's).
    pub batch_size: usize,
    /// Language code, compared by equality with the target's.
    pub language: String,
    /// Task type (`ner`, `pos`, …), compared by equality with the target's.
    pub task_type: String,
    /// Whether this is the target (`ref`) task.
    pub is_target: bool,
}

/// The scheduler's saved state: enough to continue the exact sequence after a resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerState {
    /// The schedule kind it was built with.
    pub kind: ScheduleKind,
    /// The seed it was built with.
    pub seed: u64,
    /// Global steps already drawn.
    pub step: u64,
    /// Relative weights (per-step probabilities × a constant; for `epoch_mix` the per-epoch
    /// counts) it was built with, so a resume with other tasks or sizes is caught.
    pub weights: Vec<f64>,
}

/// Chooses one task per global step. See the module documentation for the kinds.
#[derive(Clone, Debug)]
pub struct Scheduler {
    kind: ScheduleKind,
    seed: u64,
    step: u64,
    /// Relative weight per task (1 for round robin, counts per epoch for `epoch_mix`).
    weights: Vec<f64>,
    /// The weighted draw for `proportional` and `sqrt_size`.
    sampler: Option<WeightedIndex<f64>>,
    /// Steps per task per epoch (`epoch_mix` only; empty otherwise).
    epoch_counts: Vec<usize>,
    /// The shuffled order of the epoch `cached_epoch`.
    epoch_order: Vec<usize>,
    cached_epoch: Option<u64>,
}

/// Hash stream for per-step draws.
const STEP_STREAM: u64 = 0x7374_6570_5f64_7261;
/// Hash stream for per-epoch shuffles.
const EPOCH_STREAM: u64 = 0x6570_6f63_685f_6d69;

impl Scheduler {
    /// Builds a scheduler over `tasks` (indices in the returned sequence are indices into it).
    ///
    /// Errors: no tasks, a task of size 0 or batch size 0, more than one target, no target for
    /// `sqrt_size` / `epoch_mix`, a discount that is negative or not finite.
    pub fn new(config: &Schedule, tasks: &[TaskInfo], seed: u64) -> Result<Self> {
        let weights = Self::weights_for(config, tasks)?;
        let (sampler, epoch_counts) = match config.kind {
            ScheduleKind::RoundRobin => (None, Vec::new()),
            ScheduleKind::Proportional | ScheduleKind::SqrtSize => {
                // Every weight is finite and ≥ 0 and the sizes are ≥ 1, so at least the target
                // (sqrt_size) or every task (proportional) has a positive weight.
                let sampler = WeightedIndex::new(weights.iter().copied()).map_err(|_| {
                    Error::InvalidValue {
                        path: "schedule".to_string(),
                        value: weights.iter().sum(),
                        expected: "a positive total task weight",
                    }
                })?;
                (Some(sampler), Vec::new())
            }
            ScheduleKind::EpochMix => {
                let counts: Vec<usize> = weights.iter().map(|&w| w as usize).collect();
                for (task_idx, &n) in counts.iter().enumerate() {
                    if n == 0 {
                        tracing::warn!(
                            task_idx,
                            "epoch_mix gives tasks[{task_idx}] no step per epoch; it will not train"
                        );
                    }
                }
                (None, counts)
            }
        };
        Ok(Scheduler {
            kind: config.kind,
            seed,
            step: 0,
            weights,
            sampler,
            epoch_counts,
            epoch_order: Vec::new(),
            cached_epoch: None,
        })
    }

    /// Rebuilds a scheduler from the config and tasks of a run and the state saved in its
    /// checkpoint; it continues exactly where the saved one stopped.
    ///
    /// Errors as [`Scheduler::new`], plus [`Error::StateMismatch`] when the state was saved with
    /// another kind or other task weights (the tasks, sizes or discounts changed).
    pub fn restore(config: &Schedule, tasks: &[TaskInfo], state: &SchedulerState) -> Result<Self> {
        let mut scheduler = Scheduler::new(config, tasks, state.seed)?;
        if state.kind != scheduler.kind {
            return Err(Error::StateMismatch {
                what: "scheduler",
                expected: format!("kind {}", kind_name(scheduler.kind)),
                found: format!("kind {}", kind_name(state.kind)),
            });
        }
        // Weights went through JSON: compare with a relative tolerance, not bit for bit.
        let same = state.weights.len() == scheduler.weights.len()
            && state
                .weights
                .iter()
                .zip(&scheduler.weights)
                .all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()));
        if !same {
            return Err(Error::StateMismatch {
                what: "scheduler",
                expected: format!("task weights {:?}", scheduler.weights),
                found: format!("task weights {:?}", state.weights),
            });
        }
        scheduler.step = state.step;
        Ok(scheduler)
    }

    /// The state to save in a checkpoint.
    pub fn state(&self) -> SchedulerState {
        SchedulerState {
            kind: self.kind,
            seed: self.seed,
            step: self.step,
            weights: self.weights.clone(),
        }
    }

    /// The task for the next global step; advances the step counter.
    pub fn next_task(&mut self) -> usize {
        let task = self.task_at(self.step);
        self.step += 1;
        task
    }

    /// The task at global step `step` (0-based), without moving the counter.
    pub fn task_at(&mut self, step: u64) -> usize {
        let num_tasks = self.weights.len();
        match self.kind {
            // `num_tasks` ≥ 1 (checked in `new`), so the remainder fits in usize.
            ScheduleKind::RoundRobin => (step % num_tasks as u64) as usize,
            ScheduleKind::Proportional | ScheduleKind::SqrtSize => match &self.sampler {
                Some(sampler) => {
                    let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, STEP_STREAM, step));
                    sampler.sample(&mut rng)
                }
                // `new` always builds the sampler for these kinds.
                None => (step % num_tasks as u64) as usize,
            },
            ScheduleKind::EpochMix => {
                // The target has ≥ 1 step per epoch, so the epoch is never empty.
                let len = self.steps_per_epoch().unwrap_or(1).max(1) as u64;
                let epoch = step / len;
                if self.cached_epoch != Some(epoch) {
                    self.epoch_order = self.epoch_order_for(epoch);
                    self.cached_epoch = Some(epoch);
                }
                // `epoch_order` has exactly `len` entries and the offset is < `len`.
                self.epoch_order[(step % len) as usize]
            }
        }
    }

    /// Global steps drawn so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The schedule kind.
    pub fn kind(&self) -> ScheduleKind {
        self.kind
    }

    /// Expected share of the steps per task (sums to 1): what a log line at start should show.
    pub fn probabilities(&self) -> Vec<f64> {
        let total: f64 = self.weights.iter().sum();
        self.weights.iter().map(|w| w / total).collect()
    }

    /// Steps per task per epoch (`epoch_mix` only).
    pub fn epoch_counts(&self) -> Option<&[usize]> {
        (self.kind == ScheduleKind::EpochMix).then_some(self.epoch_counts.as_slice())
    }

    /// Length of an epoch in global steps (`epoch_mix` only).
    pub fn steps_per_epoch(&self) -> Option<usize> {
        self.epoch_counts().map(|c| c.iter().sum())
    }

    /// The shuffled step list of one epoch: the counts in task order, then a uniform shuffle.
    fn epoch_order_for(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = self
            .epoch_counts
            .iter()
            .enumerate()
            .flat_map(|(task, &n)| std::iter::repeat_n(task, n))
            .collect();
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, EPOCH_STREAM, epoch));
        order.shuffle(&mut rng);
        order
    }

    /// Relative weights per kind (for `epoch_mix`: the per-epoch counts, as f64).
    fn weights_for(config: &Schedule, tasks: &[TaskInfo]) -> Result<Vec<f64>> {
        if tasks.is_empty() {
            return Err(Error::NoTasks);
        }
        let mut target = None;
        for (task_idx, task) in tasks.iter().enumerate() {
            if task.size == 0 {
                return Err(Error::EmptyTask { task_idx });
            }
            if task.batch_size == 0 {
                return Err(Error::ZeroBatchSize { task_idx });
            }
            if task.is_target {
                if let Some(first) = target {
                    return Err(Error::MultipleTargets {
                        first,
                        second: task_idx,
                    });
                }
                target = Some(task_idx);
            }
        }
        for (path, value) in [
            ("schedule.task_discount", config.task_discount),
            ("schedule.lang_discount", config.lang_discount),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::InvalidValue {
                    path: path.to_string(),
                    value,
                    expected: "a finite number >= 0",
                });
            }
        }
        match config.kind {
            ScheduleKind::RoundRobin => Ok(vec![1.0; tasks.len()]),
            ScheduleKind::Proportional => Ok(tasks.iter().map(|t| t.size as f64).collect()),
            ScheduleKind::SqrtSize | ScheduleKind::EpochMix => {
                let target_idx = target.ok_or(Error::NoTarget {
                    kind: kind_name(config.kind),
                })?;
                // `target_idx` comes from enumerating `tasks`.
                let tgt = &tasks[target_idx];
                let sqrt_weights: Vec<f64> = tasks
                    .iter()
                    .map(|t| {
                        let mut w = (t.size as f64).sqrt();
                        if t.task_type != tgt.task_type {
                            w *= config.task_discount;
                        }
                        if t.language != tgt.language {
                            w *= config.lang_discount;
                        }
                        w
                    })
                    .collect();
                if config.kind == ScheduleKind::SqrtSize {
                    return Ok(sqrt_weights);
                }
                let n_tgt = (tgt.size / tgt.batch_size).max(1);
                let w_tgt = sqrt_weights[target_idx];
                Ok(sqrt_weights
                    .iter()
                    .enumerate()
                    .map(|(k, &w)| {
                        if k == target_idx {
                            n_tgt as f64
                        } else {
                            // ⌊w_x / w_tgt × n_tgt⌋. The relative nudge keeps a count that is
                            // an integer in exact arithmetic from flooring one too low:
                            // N_tgt = 75, B = 1, N_x = 12 in another language gives
                            // 0.1·√12/√75·75 = 3 exactly, 2.9999999999999996 in f64.
                            (w / w_tgt * n_tgt as f64 * (1.0 + 1e-12)).floor()
                        }
                    })
                    .collect())
            }
        }
    }
}

/// The kind as spelled in the config (`training.schedule.kind`), for error messages.
fn kind_name(kind: ScheduleKind) -> &'static str {
    match kind {
        ScheduleKind::RoundRobin => "round_robin",
        ScheduleKind::Proportional => "proportional",
        ScheduleKind::SqrtSize => "sqrt_size",
        ScheduleKind::EpochMix => "epoch_mix",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(size: usize, batch_size: usize, language: &str, task_type: &str) -> TaskInfo {
        TaskInfo {
            size,
            batch_size,
            language: language.to_string(),
            task_type: task_type.to_string(),
            is_target: false,
        }
    }

    fn target(size: usize, batch_size: usize, language: &str, task_type: &str) -> TaskInfo {
        TaskInfo {
            is_target: true,
            ..task(size, batch_size, language, task_type)
        }
    }

    /// `kind` with the paper's discounts, 0.1 each (A.7.1).
    fn config(kind: ScheduleKind) -> Schedule {
        Schedule {
            kind,
            task_discount: 0.1,
            lang_discount: 0.1,
        }
    }

    /// The paper's four-task setting with square sizes, so √N is exact.
    fn four_tasks() -> Vec<TaskInfo> {
        vec![
            target(400, 10, "nl", "ner"),
            task(2500, 10, "en", "ner"),
            task(10000, 10, "nl", "pos"),
            task(3600, 10, "en", "pos"),
        ]
    }

    /// Counts of each task over `n` draws.
    fn histogram(scheduler: &mut Scheduler, n: usize, num_tasks: usize) -> Vec<usize> {
        let mut counts = vec![0; num_tasks];
        for _ in 0..n {
            counts[scheduler.next_task()] += 1;
        }
        counts
    }

    /// Asserts each count is within 5 binomial standard deviations √(n p (1−p)) of n p.
    fn assert_frequencies(counts: &[usize], probabilities: &[f64]) {
        let n: usize = counts.iter().sum();
        for (k, (&c, &p)) in counts.iter().zip(probabilities).enumerate() {
            let mean = n as f64 * p;
            let sigma = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (c as f64 - mean).abs() <= 5.0 * sigma,
                "task {k}: {c} draws, expected {mean:.1} ± 5 × {sigma:.1}"
            );
        }
    }

    #[test]
    fn round_robin_cycles_in_order() {
        let tasks = four_tasks();
        let mut s = Scheduler::new(&config(ScheduleKind::RoundRobin), &tasks, 7).unwrap();
        let seq: Vec<usize> = (0..9).map(|_| s.next_task()).collect();
        assert_eq!(seq, [0, 1, 2, 3, 0, 1, 2, 3, 0]);
        assert_eq!(s.probabilities(), [0.25; 4]);
    }

    /// Weights = sizes 400, 2500, 10000, 3600 (total 16500): p = 0.02424…, 0.15151…, 0.60606…,
    /// 0.21818….
    #[test]
    fn proportional_frequencies_match_sizes() {
        let tasks = four_tasks();
        let mut s = Scheduler::new(&config(ScheduleKind::Proportional), &tasks, 1).unwrap();
        let p = [
            400.0 / 16500.0,
            2500.0 / 16500.0,
            10000.0 / 16500.0,
            3600.0 / 16500.0,
        ];
        for (a, b) in s.probabilities().iter().zip(p) {
            assert!((a - b).abs() < 1e-15);
        }
        let counts = histogram(&mut s, 200_000, 4);
        assert_frequencies(&counts, &p);
    }

    /// w = √400 = 20 (target), 0.1·√2500 = 5 (other language), 0.1·√10000 = 10 (other task),
    /// 0.01·√3600 = 0.6 (both); total 35.6.
    #[test]
    fn sqrt_size_weights_follow_the_paper() {
        let tasks = four_tasks();
        let mut s = Scheduler::new(&config(ScheduleKind::SqrtSize), &tasks, 2).unwrap();
        let p = [20.0 / 35.6, 5.0 / 35.6, 10.0 / 35.6, 0.6 / 35.6];
        for (a, b) in s.probabilities().iter().zip(p) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        let counts = histogram(&mut s, 200_000, 4);
        assert_frequencies(&counts, &p);
    }

    /// Draws are seeded per step, so neighbouring steps must still be independent: with two
    /// equal tasks each ordered pair (a, b) of consecutive draws has probability ¼.
    #[test]
    fn consecutive_draws_are_independent() {
        let tasks = vec![task(100, 1, "en", "ner"), task(100, 1, "en", "ner")];
        let mut s = Scheduler::new(&config(ScheduleKind::Proportional), &tasks, 11).unwrap();
        let draws: Vec<usize> = (0..200_001).map(|_| s.next_task()).collect();
        let mut pairs = [0usize; 4];
        for w in draws.windows(2) {
            pairs[2 * w[0] + w[1]] += 1;
        }
        assert_frequencies(&pairs, &[0.25; 4]);
    }

    /// task_discount 0.5, lang_discount 0.2: w = 20, 0.2·50 = 10, 0.5·100 = 50, 0.1·60 = 6.
    #[test]
    fn sqrt_size_discounts_are_configurable() {
        let cfg = Schedule {
            kind: ScheduleKind::SqrtSize,
            task_discount: 0.5,
            lang_discount: 0.2,
        };
        let s = Scheduler::new(&cfg, &four_tasks(), 0).unwrap();
        let p = [20.0 / 86.0, 10.0 / 86.0, 50.0 / 86.0, 6.0 / 86.0];
        for (a, b) in s.probabilities().iter().zip(p) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    /// n_tgt = ⌊400 / 10⌋ = 40; n_cl = ⌊5/20 · 40⌋ = 10; n_ct = ⌊10/20 · 40⌋ = 20;
    /// n_clct = ⌊0.6/20 · 40⌋ = ⌊1.2⌋ = 1; 71 steps per epoch.
    #[test]
    fn epoch_mix_counts_are_exact_per_epoch() {
        let tasks = four_tasks();
        let mut s = Scheduler::new(&config(ScheduleKind::EpochMix), &tasks, 3).unwrap();
        assert_eq!(s.epoch_counts(), Some(&[40, 10, 20, 1][..]));
        assert_eq!(s.steps_per_epoch(), Some(71));
        let mut orders = Vec::new();
        for _ in 0..5 {
            let epoch: Vec<usize> = (0..71).map(|_| s.next_task()).collect();
            let mut counts = [0; 4];
            for &t in &epoch {
                counts[t] += 1;
            }
            assert_eq!(counts, [40, 10, 20, 1]);
            orders.push(epoch);
        }
        // Shuffled: not the sorted list, and a new order every epoch.
        let sorted: Vec<usize> = [0; 40]
            .into_iter()
            .chain([1; 10])
            .chain([2; 20])
            .chain([3; 1])
            .collect();
        assert_ne!(orders[0], sorted);
        assert_ne!(orders[0], orders[1]);
    }

    /// N_tgt = 75, B = 1: n_tgt = 75; N_x = 12 in another language: 0.1·√12/√75·75
    /// = 0.1·0.4·75 = 3 exactly (f64 gives 2.9999999999999996 without care).
    #[test]
    fn epoch_mix_does_not_floor_exact_integers_down() {
        let tasks = vec![target(75, 1, "nl", "ner"), task(12, 1, "en", "ner")];
        let s = Scheduler::new(&config(ScheduleKind::EpochMix), &tasks, 0).unwrap();
        assert_eq!(s.epoch_counts(), Some(&[75, 3][..]));
    }

    /// N_tgt = 5 < B = 10 would give 0 target steps; at least one is kept.
    #[test]
    fn epoch_mix_keeps_one_target_step() {
        let tasks = vec![target(5, 10, "nl", "ner"), task(100, 10, "nl", "ner")];
        let s = Scheduler::new(&config(ScheduleKind::EpochMix), &tasks, 0).unwrap();
        // n_x = ⌊√100/√5 · 1⌋ = ⌊4.47⌋ = 4.
        assert_eq!(s.epoch_counts(), Some(&[1, 4][..]));
    }

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        for kind in [
            ScheduleKind::Proportional,
            ScheduleKind::SqrtSize,
            ScheduleKind::EpochMix,
        ] {
            let tasks = four_tasks();
            let draw = |seed| {
                let mut s = Scheduler::new(&config(kind), &tasks, seed).unwrap();
                (0..500).map(|_| s.next_task()).collect::<Vec<_>>()
            };
            assert_eq!(draw(42), draw(42), "{kind:?}");
            assert_ne!(draw(42), draw(43), "{kind:?}");
        }
    }

    #[test]
    fn restored_state_continues_the_same_sequence() {
        for kind in [
            ScheduleKind::RoundRobin,
            ScheduleKind::Proportional,
            ScheduleKind::SqrtSize,
            ScheduleKind::EpochMix,
        ] {
            let tasks = four_tasks();
            let cfg = config(kind);
            let mut full = Scheduler::new(&cfg, &tasks, 9).unwrap();
            let expected: Vec<usize> = (0..400).map(|_| full.next_task()).collect();

            let mut first = Scheduler::new(&cfg, &tasks, 9).unwrap();
            // 150 is inside the third epoch of epoch_mix (71 steps each).
            let mut seen: Vec<usize> = (0..150).map(|_| first.next_task()).collect();
            let json = serde_json::to_string(&first.state()).unwrap();
            drop(first);
            let state: SchedulerState = serde_json::from_str(&json).unwrap();
            let mut resumed = Scheduler::restore(&cfg, &tasks, &state).unwrap();
            assert_eq!(resumed.step(), 150);
            seen.extend((150..400).map(|_| resumed.next_task()));
            assert_eq!(seen, expected, "{kind:?}");
        }
    }

    #[test]
    fn restore_rejects_other_tasks_or_kind() {
        let tasks = four_tasks();
        let cfg = config(ScheduleKind::SqrtSize);
        let state = Scheduler::new(&cfg, &tasks, 1).unwrap().state();
        let mut other = tasks.clone();
        other[1].size = 2501;
        assert!(matches!(
            Scheduler::restore(&cfg, &other, &state),
            Err(Error::StateMismatch { .. })
        ));
        assert!(matches!(
            Scheduler::restore(&config(ScheduleKind::Proportional), &tasks, &state),
            Err(Error::StateMismatch { .. })
        ));
    }

    #[test]
    fn invalid_tasks_are_errors() {
        let cfg = config(ScheduleKind::SqrtSize);
        assert!(matches!(Scheduler::new(&cfg, &[], 0), Err(Error::NoTasks)));
        let no_target = vec![task(10, 1, "en", "ner")];
        assert!(matches!(
            Scheduler::new(&cfg, &no_target, 0),
            Err(Error::NoTarget { kind: "sqrt_size" })
        ));
        // Round robin and proportional need no target.
        assert!(Scheduler::new(&config(ScheduleKind::RoundRobin), &no_target, 0).is_ok());
        let two = vec![target(10, 1, "en", "ner"), target(10, 1, "nl", "ner")];
        assert!(matches!(
            Scheduler::new(&cfg, &two, 0),
            Err(Error::MultipleTargets {
                first: 0,
                second: 1
            })
        ));
        let empty = vec![target(10, 1, "en", "ner"), task(0, 1, "nl", "ner")];
        let err = Scheduler::new(&cfg, &empty, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tasks[1]: training size is 0; a scheduled task needs at least one sentence"
        );
        let zero_batch = vec![target(10, 0, "en", "ner")];
        assert!(matches!(
            Scheduler::new(&cfg, &zero_batch, 0),
            Err(Error::ZeroBatchSize { task_idx: 0 })
        ));
        let bad = Schedule {
            task_discount: f64::NAN,
            ..cfg
        };
        let err = Scheduler::new(&bad, &four_tasks(), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "schedule.task_discount: expected a finite number >= 0, found NaN"
        );
    }

    /// A zero discount silences the other-language tasks instead of failing.
    #[test]
    fn zero_discount_never_draws_that_task() {
        let cfg = Schedule {
            kind: ScheduleKind::SqrtSize,
            task_discount: 0.1,
            lang_discount: 0.0,
        };
        let mut s = Scheduler::new(&cfg, &four_tasks(), 5).unwrap();
        let counts = histogram(&mut s, 10_000, 4);
        assert_eq!(counts[1], 0);
        assert_eq!(counts[3], 0);
    }
}
