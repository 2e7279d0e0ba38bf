//! Learning-rate schedules (design.md §4; seed-systems.md A.7.1, A′.1, B.6, C).
//!
//! Each task has its own schedule, driven by the task's own step counter: `step` is the number of
//! updates the task has already made, 0 for its first (A.7.1 sets the rate before incrementing
//! the counter). All but `plateau` are pure functions of (lr0, step); `plateau` is fed dev scores
//! by [`LrScheduler::observe`] and keeps the small [`PlateauState`] that a checkpoint saves.
//!
//! | kind | rate at step t |
//! |---|---|
//! | `constant` | lr0 |
//! | `exponential` (default, the paper) | lr0 · decay_rate^(t / decay_step), continuous |
//! | `step` | lr0 · gamma^⌊t / step_size⌋ |
//! | `multi_step` | lr0 · gamma^(number of milestones ≤ t) |
//! | `cosine` | min_lr + (lr0 − min_lr)(1 + cos(π t / T)) / 2 for t ≤ T, then min_lr |
//! | `one_cycle` | PyTorch `OneCycleLR` (cos, two phases), see [`OneCycle`] |
//! | `linear` | lr0 · t / W for t < W (warm-up), then lr0 · (e + (1 − e) · max(0, (T − t) / (T − W))); e = 0 and W = ⌈ratio · T⌉ as Hugging Face |
//! | `plateau` | PyTorch `ReduceLROnPlateau`, see [`Plateau`] |
//!
//! Milestones, step sizes and totals count the task's own steps, not epochs: seed 003 stepped
//! its PyTorch schedulers per epoch (and passed the dev score as the epoch, a bug not copied
//! here); multiply its epoch numbers by the steps per epoch to translate.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A task's learning-rate schedule as written in the config (`tasks[i].lr_schedule`), tagged by
/// `kind`. The base rate lr0 is the task's `learning_rate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// lr0 throughout (seed 000's Adam without a step schedule).
    Constant,
    /// lr0 · decay_rate^(t / decay_step): the paper's decay, continuous in t.
    Exponential(Exponential),
    /// lr0 · gamma^⌊t / step_size⌋ (PyTorch `StepLR`).
    Step(StepDecay),
    /// lr0 · gamma^(milestones ≤ t) (PyTorch `MultiStepLR`).
    MultiStep(MultiStep),
    /// Cosine annealing from lr0 to min_lr over total_steps (PyTorch `CosineAnnealingLR`, one
    /// half period, then flat).
    Cosine(Cosine),
    /// One-cycle policy (PyTorch `OneCycleLR`, cosine annealing, two phases).
    OneCycle(OneCycle),
    /// Linear warm-up, then linear decay to `end_factor` · lr0 (Hugging Face's
    /// `get_linear_schedule_with_warmup`; A′.1 with `end_factor` 0.1 and no warm-up).
    Linear(Linear),
    /// Reduce on plateau of the dev score (PyTorch `ReduceLROnPlateau`).
    Plateau(Plateau),
}

impl Default for LrSchedule {
    fn default() -> Self {
        LrSchedule::Exponential(Exponential::default())
    }
}

/// The config's resolved schedule (every default filled in by `polytag_config`) as the one the
/// scheduler runs: the two have the same kinds and options, field for field (one set of keys;
/// PyTorch's `eps` of ReduceLROnPlateau is the constant [`PLATEAU_EPS`]).
impl From<&polytag_config::LrSchedule> for LrSchedule {
    fn from(s: &polytag_config::LrSchedule) -> Self {
        use polytag_config::LrSchedule as Cfg;
        match s {
            Cfg::Constant => LrSchedule::Constant,
            Cfg::Exponential {
                decay_rate,
                decay_step,
            } => LrSchedule::Exponential(Exponential {
                decay_rate: *decay_rate,
                decay_step: *decay_step,
            }),
            Cfg::Step { step_size, gamma } => LrSchedule::Step(StepDecay {
                step_size: *step_size,
                gamma: *gamma,
            }),
            Cfg::MultiStep { milestones, gamma } => LrSchedule::MultiStep(MultiStep {
                milestones: milestones.clone(),
                gamma: *gamma,
            }),
            Cfg::Cosine { t_max, min_lr } => LrSchedule::Cosine(Cosine {
                total_steps: Some(*t_max),
                min_lr: *min_lr,
            }),
            Cfg::OneCycle {
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
            } => LrSchedule::OneCycle(OneCycle {
                total_steps: Some(*total_steps),
                pct_start: *pct_start,
                div_factor: *div_factor,
                final_div_factor: *final_div_factor,
            }),
            Cfg::Linear {
                total_steps,
                end_factor,
                warmup,
            } => LrSchedule::Linear(Linear {
                total_steps: *total_steps,
                end_factor: *end_factor,
                warmup_steps: match warmup {
                    polytag_config::Warmup::Steps(n) => Some(*n),
                    polytag_config::Warmup::Ratio(_) => None,
                },
                warmup_ratio: match warmup {
                    polytag_config::Warmup::Steps(_) => None,
                    polytag_config::Warmup::Ratio(r) => Some(*r),
                },
            }),
            Cfg::Plateau {
                factor,
                patience,
                min_lr,
                threshold,
                threshold_mode,
                cooldown,
            } => LrSchedule::Plateau(Plateau {
                factor: *factor,
                patience: (*patience).min(u32::MAX as u64) as u32,
                min_lr: *min_lr,
                threshold: *threshold,
                threshold_mode: match threshold_mode {
                    polytag_config::ThresholdMode::Rel => ThresholdMode::Rel,
                    polytag_config::ThresholdMode::Abs => ThresholdMode::Abs,
                },
                cooldown: (*cooldown).min(u32::MAX as u64) as u32,
            }),
        }
    }
}

/// Options of `exponential`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Exponential {
    /// Factor per `decay_step` steps; 0.9 as in the paper.
    pub decay_rate: f64,
    /// Steps over which the rate falls by `decay_rate`; 10,000 as in the paper.
    pub decay_step: u64,
}

impl Default for Exponential {
    fn default() -> Self {
        Exponential {
            decay_rate: 0.9,
            decay_step: 10_000,
        }
    }
}

/// Options of `step`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDecay {
    /// Steps between two decays (≥ 1).
    pub step_size: u64,
    /// Factor per decay; 0.1 as PyTorch.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
}

/// Options of `multi_step`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiStep {
    /// Steps at which the rate is multiplied by `gamma`; a milestone listed twice decays twice
    /// (as PyTorch); order does not matter.
    pub milestones: Vec<u64>,
    /// Factor per milestone; 0.1 as PyTorch.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
}

/// Options of `cosine`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cosine {
    /// Length of the half period T; absent: the task's expected number of steps.
    pub total_steps: Option<u64>,
    /// Rate reached at T and kept afterwards; 0 as PyTorch's `eta_min`.
    pub min_lr: f64,
}

/// Options of `one_cycle`, with PyTorch's defaults.
///
/// With max_lr = the task's `learning_rate` (the peak), initial = max_lr / div_factor and
/// final = initial / final_div_factor, phase 1 anneals initial → max_lr over steps
/// 0 ..= pct_start·T − 1, phase 2 anneals max_lr → final until step T − 1, each by cos:
/// end + (start − end)(1 + cos(π·pct)) / 2. After T − 1 the rate stays at final (PyTorch raises
/// an error there). Momentum cycling, which PyTorch also does by default,
/// belongs to the optimizer and is not done here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OneCycle {
    /// Total steps T; absent: the task's expected number of steps.
    pub total_steps: Option<u64>,
    /// Fraction of T spent rising; 0.3.
    pub pct_start: f64,
    /// initial = max_lr / div_factor; 25.
    pub div_factor: f64,
    /// final = initial / final_div_factor; 1e4.
    pub final_div_factor: f64,
}

impl Default for OneCycle {
    fn default() -> Self {
        OneCycle {
            total_steps: None,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
        }
    }
}

/// Options of `linear`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Linear {
    /// Steps T to reach the end rate; absent: the task's expected number of steps.
    pub total_steps: Option<u64>,
    /// Final rate as a fraction of lr0; 0 as Hugging Face (A′.1 used 0.1).
    pub end_factor: f64,
    /// Warm-up steps W (rate 0 at step 0, as Hugging Face, whose first update uses lr 0).
    pub warmup_steps: Option<u64>,
    /// W = ⌈warmup_ratio · T⌉ (Hugging Face's `get_warmup_steps`); not with `warmup_steps`.
    pub warmup_ratio: Option<f64>,
}

impl Default for Linear {
    fn default() -> Self {
        Linear {
            total_steps: None,
            end_factor: 0.0,
            warmup_steps: None,
            warmup_ratio: None,
        }
    }
}

/// How `threshold` defines a significant improvement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// score > best · (1 + threshold). PyTorch's default.
    #[default]
    Rel,
    /// score > best + threshold.
    Abs,
}

/// Options of `plateau`, PyTorch `ReduceLROnPlateau` semantics and defaults in `max` mode (the
/// monitored value is always the task's dev score, larger is better).
///
/// Each evaluation: an improvement (see [`ThresholdMode`]) resets the count of bad evaluations,
/// anything else (NaN included) increments it; during cooldown the count is held at 0; when it
/// exceeds `patience`, lr ← max(lr · factor, min_lr) (skipped if that changes lr by ≤
/// [`PLATEAU_EPS`]), the
/// count resets and cooldown starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Plateau {
    /// Multiplier per reduction, in (0, 1); 0.1.
    pub factor: f64,
    /// Bad evaluations tolerated before a reduction; 10.
    pub patience: u32,
    /// Size of a significant improvement; 1e-4.
    pub threshold: f64,
    /// `rel` (default) or `abs`.
    pub threshold_mode: ThresholdMode,
    /// Evaluations after a reduction during which bad ones are not counted; 0.
    pub cooldown: u32,
    /// Lower bound of the rate; 0.
    pub min_lr: f64,
}

/// Plateau reductions smaller than this are skipped (PyTorch's `eps` default).
pub const PLATEAU_EPS: f64 = 1e-8;

impl Default for Plateau {
    fn default() -> Self {
        Plateau {
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
        }
    }
}

fn default_gamma() -> f64 {
    0.1
}

/// The mutable part of `plateau`, saved in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlateauState {
    /// The current rate.
    pub lr: f64,
    /// Best monitored value so far; `None` before the first evaluation (JSON has no infinity).
    pub best: Option<f64>,
    /// Consecutive evaluations without improvement.
    pub num_bad_evals: u32,
    /// Evaluations of cooldown left.
    pub cooldown_left: u32,
    /// Reductions made so far.
    pub num_reductions: u32,
}

/// Saved state of an [`LrScheduler`]: empty except for `plateau`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LrState {
    /// Present exactly when the schedule is `plateau`.
    pub plateau: Option<PlateauState>,
}

/// One task's schedule, resolved against its base rate and expected length.
#[derive(Clone, Debug, PartialEq)]
pub struct LrScheduler {
    lr0: f64,
    schedule: LrSchedule,
    /// `total_steps` of cosine / one_cycle / linear after applying the default.
    total_steps: u64,
    /// Warm-up steps of `linear` (0 otherwise).
    warmup_steps: u64,
    plateau: Option<PlateauState>,
}

impl LrScheduler {
    /// Checks the options and builds the schedule for a task with base rate `lr0`.
    ///
    /// `expected_steps` is the task's expected number of own steps (e.g. `max_step` × its
    /// scheduler probability); it stands in for an absent `total_steps`.
    ///
    /// Errors: [`Error::InvalidValue`] naming `learning_rate` or `lr_schedule.<option>`.
    pub fn new(lr0: f64, schedule: LrSchedule, expected_steps: u64) -> Result<Self> {
        check(
            lr0.is_finite() && lr0 > 0.0,
            "learning_rate",
            lr0,
            "a finite number > 0",
        )?;
        let total = |given: Option<u64>| given.unwrap_or(expected_steps);
        let total_steps = match &schedule {
            LrSchedule::Cosine(c) => total(c.total_steps),
            LrSchedule::OneCycle(c) => total(c.total_steps),
            LrSchedule::Linear(c) => total(c.total_steps),
            _ => 0,
        };
        validate(&schedule, total_steps)?;
        let warmup_steps = match &schedule {
            LrSchedule::Linear(l) => {
                let w = match (l.warmup_steps, l.warmup_ratio) {
                    (Some(_), Some(_)) => {
                        return Err(Error::InvalidValue {
                            path: "lr_schedule.warmup_ratio".into(),
                            value: l.warmup_ratio.unwrap_or(0.0),
                            expected: "no warmup_ratio when warmup_steps is given",
                        })
                    }
                    (Some(w), None) => w,
                    (None, Some(r)) => (r * total_steps as f64).ceil() as u64,
                    (None, None) => 0,
                };
                check(
                    w < total_steps,
                    "lr_schedule.warmup_steps",
                    w as f64,
                    "fewer warm-up steps than total_steps",
                )?;
                w
            }
            _ => 0,
        };
        let plateau = matches!(schedule, LrSchedule::Plateau(_)).then_some(PlateauState {
            lr: lr0,
            best: None,
            num_bad_evals: 0,
            cooldown_left: 0,
            num_reductions: 0,
        });
        Ok(LrScheduler {
            lr0,
            schedule,
            total_steps,
            warmup_steps,
            plateau,
        })
    }

    /// The rate for the task's update number `step` (0-based count of its previous updates).
    pub fn lr(&self, step: u64) -> f64 {
        let lr0 = self.lr0;
        let t = step as f64;
        let total = self.total_steps as f64;
        match &self.schedule {
            LrSchedule::Constant => lr0,
            LrSchedule::Exponential(e) => lr0 * e.decay_rate.powf(t / e.decay_step as f64),
            LrSchedule::Step(s) => lr0 * s.gamma.powf((step / s.step_size) as f64),
            LrSchedule::MultiStep(m) => {
                let passed = m.milestones.iter().filter(|&&ms| ms <= step).count();
                lr0 * m.gamma.powf(passed as f64)
            }
            LrSchedule::Cosine(c) => {
                let progress = (t / total).min(1.0);
                c.min_lr + (lr0 - c.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
            LrSchedule::OneCycle(c) => one_cycle(c, lr0, total, t),
            LrSchedule::Linear(l) => {
                let w = self.warmup_steps as f64;
                if t < w {
                    lr0 * t / w
                } else {
                    let left = ((total - t) / (total - w)).max(0.0);
                    lr0 * (l.end_factor + (1.0 - l.end_factor) * left)
                }
            }
            LrSchedule::Plateau(_) => self.plateau.as_ref().map_or(lr0, |p| p.lr),
        }
    }

    /// Feeds one evaluation of the monitored value (the task's dev score). Only `plateau`
    /// reacts; returns whether the rate was reduced.
    pub fn observe(&mut self, score: f64) -> bool {
        let (LrSchedule::Plateau(cfg), Some(state)) = (&self.schedule, self.plateau.as_mut())
        else {
            return false;
        };
        let improved = match state.best {
            None => !score.is_nan(),
            Some(best) => is_better(cfg, score, best),
        };
        if improved {
            state.best = Some(score);
            state.num_bad_evals = 0;
        } else {
            state.num_bad_evals = state.num_bad_evals.saturating_add(1);
        }
        if state.cooldown_left > 0 {
            state.cooldown_left -= 1;
            state.num_bad_evals = 0;
        }
        if state.num_bad_evals > cfg.patience {
            state.num_bad_evals = 0;
            state.cooldown_left = cfg.cooldown;
            let reduced = (state.lr * cfg.factor).max(cfg.min_lr);
            if state.lr - reduced > PLATEAU_EPS {
                tracing::debug!(
                    from = state.lr,
                    to = reduced,
                    "plateau: reducing learning rate"
                );
                state.lr = reduced;
                state.num_reductions += 1;
                return true;
            }
        }
        false
    }

    /// The state to save in a checkpoint.
    pub fn state(&self) -> LrState {
        LrState {
            plateau: self.plateau.clone(),
        }
    }

    /// Puts back a saved state. Errors with [`Error::StateMismatch`] when the state has a
    /// plateau part and the schedule is not `plateau`, or the reverse.
    pub fn restore(&mut self, state: LrState) -> Result<()> {
        match (&self.plateau, state.plateau) {
            (Some(_), Some(saved)) => {
                self.plateau = Some(saved);
                Ok(())
            }
            (None, None) => Ok(()),
            (current, saved) => Err(Error::StateMismatch {
                what: "lr schedule",
                expected: describe_plateau(current.is_some()),
                found: describe_plateau(saved.is_some()),
            }),
        }
    }

    /// lr(step) / lr0: the factor a component with its own `learning_rate` is scaled by, so
    /// that warm-up, decay and plateau reductions apply to it as to the task.
    pub fn factor(&self, step: u64) -> f64 {
        self.lr(step) / self.lr0
    }

    /// Warm-up steps of a `linear` schedule (0 for the others).
    pub fn warmup_steps(&self) -> u64 {
        self.warmup_steps
    }

    /// The base rate lr0.
    pub fn lr0(&self) -> f64 {
        self.lr0
    }

    /// The schedule.
    pub fn schedule(&self) -> &LrSchedule {
        &self.schedule
    }
}

fn describe_plateau(is_plateau: bool) -> String {
    if is_plateau {
        "a plateau schedule".to_string()
    } else {
        "a step-driven schedule".to_string()
    }
}

/// PyTorch `OneCycleLR._anneal_func` (cos) over the two phases of `three_phase=False`.
fn one_cycle(c: &OneCycle, lr0: f64, total: f64, t: f64) -> f64 {
    let max_lr = lr0;
    let initial = max_lr / c.div_factor;
    let last = initial / c.final_div_factor;
    let anneal = |start: f64, end: f64, pct: f64| {
        end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
    };
    let end1 = c.pct_start * total - 1.0;
    let end2 = total - 1.0;
    if t <= end1 {
        // end1 ≥ t ≥ 0 here; end1 = 0 would be 0/0 in PyTorch: take the peak.
        let pct = if end1 > 0.0 { t / end1 } else { 1.0 };
        anneal(initial, max_lr, pct)
    } else {
        let span = end2 - end1;
        let pct = if span > 0.0 {
            ((t - end1) / span).min(1.0)
        } else {
            1.0
        };
        anneal(max_lr, last, pct)
    }
}

fn is_better(cfg: &Plateau, score: f64, best: f64) -> bool {
    match cfg.threshold_mode {
        ThresholdMode::Rel => score > best * (1.0 + cfg.threshold),
        ThresholdMode::Abs => score > best + cfg.threshold,
    }
}

fn check(ok: bool, path: &str, value: f64, expected: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            path: path.to_string(),
            value,
            expected,
        })
    }
}

fn positive(path: &str, value: f64) -> Result<()> {
    check(
        value.is_finite() && value > 0.0,
        path,
        value,
        "a finite number > 0",
    )
}

fn non_negative(path: &str, value: f64) -> Result<()> {
    check(
        value.is_finite() && value >= 0.0,
        path,
        value,
        "a finite number >= 0",
    )
}

fn validate(schedule: &LrSchedule, total_steps: u64) -> Result<()> {
    let total_ok = |total: u64| {
        check(
            total >= 1,
            "lr_schedule.total_steps",
            total as f64,
            "at least 1 step",
        )
    };
    match schedule {
        LrSchedule::Constant => Ok(()),
        LrSchedule::Exponential(e) => {
            positive("lr_schedule.decay_rate", e.decay_rate)?;
            check(
                e.decay_step >= 1,
                "lr_schedule.decay_step",
                e.decay_step as f64,
                "at least 1 step",
            )
        }
        LrSchedule::Step(s) => {
            positive("lr_schedule.gamma", s.gamma)?;
            check(
                s.step_size >= 1,
                "lr_schedule.step_size",
                s.step_size as f64,
                "at least 1 step",
            )
        }
        LrSchedule::MultiStep(m) => positive("lr_schedule.gamma", m.gamma),
        LrSchedule::Cosine(c) => {
            total_ok(total_steps)?;
            non_negative("lr_schedule.min_lr", c.min_lr)
        }
        LrSchedule::OneCycle(c) => {
            total_ok(total_steps)?;
            check(
                c.pct_start > 0.0 && c.pct_start < 1.0,
                "lr_schedule.pct_start",
                c.pct_start,
                "a number in (0, 1)",
            )?;
            positive("lr_schedule.div_factor", c.div_factor)?;
            positive("lr_schedule.final_div_factor", c.final_div_factor)
        }
        LrSchedule::Linear(l) => {
            total_ok(total_steps)?;
            if let Some(r) = l.warmup_ratio {
                check(
                    (0.0..1.0).contains(&r),
                    "lr_schedule.warmup_ratio",
                    r,
                    "a fraction in [0, 1)",
                )?;
            }
            check(
                (0.0..=1.0).contains(&l.end_factor),
                "lr_schedule.end_factor",
                l.end_factor,
                "a factor in [0, 1]",
            )
        }
        LrSchedule::Plateau(p) => {
            check(
                p.factor > 0.0 && p.factor < 1.0,
                "lr_schedule.factor",
                p.factor,
                "a number in (0, 1)",
            )?;
            non_negative("lr_schedule.threshold", p.threshold)?;
            non_negative("lr_schedule.min_lr", p.min_lr)
        }
    }
}

#[cfg(test)]
mod tests;
