//! A task's optimiser and learning-rate schedule: defaults, the options each kind uses, and
//! the way back to the written form.

use super::raw::{LrKind, OptimizerName, RawLrSchedule, RawTask, ThresholdMode};
use crate::resolve::Ctx;

/// A task's optimiser settings (seed-systems A.4 step 8).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskHyper {
    /// Initial learning rate; default 0.001 (the paper's code; its example config uses 0.02).
    pub learning_rate: f64,
    /// Default SGD with momentum 0.9.
    pub optimizer: Optimizer,
    /// Default 0 (AdamW: 0.01, as PyTorch).
    pub weight_decay: f64,
    /// Whether `weight_decay` applies to biases and LayerNorm `gamma`/`beta` too. Default false
    /// for AdamW (the Hugging Face Trainer's grouping, which fine-tuning recipes assume), true
    /// for SGD and Adam (PyTorch's optimizers decay every parameter; the paper's runs did).
    pub decay_norm_and_bias: bool,
    /// Batches (of the dataset's `batch_size`) whose mean gradient makes one optimizer step;
    /// default 1. One global step is one optimizer step of the drawn task.
    pub accumulate: u64,
    /// Default exponential 0.9 per 10 000 task steps.
    pub lr_schedule: LrSchedule,
    /// Largest global gradient norm; default 5.0; `None` = no clipping.
    pub gradient_clipping: Option<f64>,
    /// Whether embedding tables count in the clipped norm; default false (A.7.1).
    pub clip_embeddings: bool,
    /// Evaluated at every evaluation; default true.
    pub require_eval: bool,
}

/// Optimiser and its own options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// SGD with momentum.
    Sgd {
        /// Default 0.9.
        momentum: f64,
    },
    /// Adam.
    Adam {
        /// Default 0.9.
        beta1: f64,
        /// Default 0.999.
        beta2: f64,
        /// Default 1e-8.
        epsilon: f64,
    },
    /// AdamW.
    AdamW {
        /// Default 0.9.
        beta1: f64,
        /// Default 0.999.
        beta2: f64,
        /// Default 1e-8.
        epsilon: f64,
    },
}

/// Learning rate as a function of the task's own step counter (design.md §4, seed C).
#[derive(Debug, Clone, PartialEq)]
pub enum LrSchedule {
    /// lr0 throughout.
    Constant,
    /// lr0 · decay_rate^(step / decay_step), continuous (the paper; A.7.1).
    Exponential {
        /// Default 0.9.
        decay_rate: f64,
        /// Default 10 000.
        decay_step: u64,
    },
    /// lr0 · gamma^⌊step / step_size⌋.
    Step {
        /// Required.
        step_size: u64,
        /// Default 0.1.
        gamma: f64,
    },
    /// lr0 · gamma^(milestones passed).
    MultiStep {
        /// Required, strictly increasing.
        milestones: Vec<u64>,
        /// Default 0.1.
        gamma: f64,
    },
    /// min_lr + (lr0 − min_lr)(1 + cos(π · min(step, t_max) / t_max)) / 2.
    Cosine {
        /// Default `training.max_step`.
        t_max: u64,
        /// Default 0.
        min_lr: f64,
    },
    /// Peak lr0 after `pct_start · total_steps`, starting at lr0 / div_factor and ending at
    /// lr0 / (div_factor · final_div_factor) (PyTorch's OneCycleLR with cosine annealing).
    OneCycle {
        /// Default `training.max_step`.
        total_steps: u64,
        /// Default 0.3.
        pct_start: f64,
        /// Default 25.
        div_factor: f64,
        /// Default 1e4.
        final_div_factor: f64,
    },
    /// Linear warm-up from 0 to lr0 over `warmup` steps, then linear decay to
    /// `end_factor` · lr0 at `total_steps` (Hugging Face `get_linear_schedule_with_warmup`).
    Linear {
        /// Default (`None`): the task's expected number of optimizer steps in the run.
        total_steps: Option<u64>,
        /// Default 0 (Hugging Face); seed A′.1's decay used 0.1.
        end_factor: f64,
        /// Default no warm-up.
        warmup: Warmup,
    },
    /// × factor after `patience` evaluations without a better dev score of this task
    /// (PyTorch's ReduceLROnPlateau in `max` mode: the monitored value is a dev score).
    Plateau {
        /// Default 0.1.
        factor: f64,
        /// Evaluations; default 10.
        patience: u64,
        /// Default 0.
        min_lr: f64,
        /// Size of a significant improvement; default 1e-4.
        threshold: f64,
        /// Default `rel`.
        threshold_mode: ThresholdMode,
        /// Evaluations after a reduction during which bad ones are not counted; default 0.
        cooldown: u64,
    },
}

/// Length of a linear warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warmup {
    /// A number of the task's optimizer steps (`warmup_steps`).
    Steps(u64),
    /// A fraction of `total_steps`, rounded up as Hugging Face does (`warmup_ratio`).
    Ratio(f64),
}

pub(super) fn resolve_hyper(
    at: &str,
    raw: &RawTask,
    max_step: u64,
    ctx: &mut Ctx<'_>,
) -> TaskHyper {
    let key = |k: &str| format!("{at}.{k}");
    let learning_rate = raw.learning_rate.unwrap_or(0.001);
    ctx.range(
        key("learning_rate"),
        learning_rate,
        learning_rate > 0.0,
        "a learning rate > 0",
    );
    let name = raw.optimizer.unwrap_or(OptimizerName::Sgd);
    let optimizer = match name {
        OptimizerName::Sgd => {
            for (k, given) in [
                ("betas", raw.betas.is_some()),
                ("epsilon", raw.epsilon.is_some()),
            ] {
                if given {
                    ctx.invalid(key(k), "only used by optimizers adam and adamw");
                }
            }
            let momentum = raw.momentum.unwrap_or(0.9);
            ctx.range(
                key("momentum"),
                momentum,
                (0.0..1.0).contains(&momentum),
                "a value in [0, 1)",
            );
            Optimizer::Sgd { momentum }
        }
        OptimizerName::Adam | OptimizerName::AdamW => {
            if raw.momentum.is_some() {
                ctx.invalid(
                    key("momentum"),
                    "only used by optimizer sgd (adam has \"betas\")",
                );
            }
            let (beta1, beta2) = raw.betas.unwrap_or((0.9, 0.999));
            ctx.range(
                key("betas[0]"),
                beta1,
                (0.0..1.0).contains(&beta1),
                "a value in [0, 1)",
            );
            ctx.range(
                key("betas[1]"),
                beta2,
                (0.0..1.0).contains(&beta2),
                "a value in [0, 1)",
            );
            let epsilon = raw.epsilon.unwrap_or(1e-8);
            ctx.range(key("epsilon"), epsilon, epsilon > 0.0, "a value > 0");
            if name == OptimizerName::Adam {
                Optimizer::Adam {
                    beta1,
                    beta2,
                    epsilon,
                }
            } else {
                Optimizer::AdamW {
                    beta1,
                    beta2,
                    epsilon,
                }
            }
        }
    };
    let weight_decay = raw.weight_decay.unwrap_or(if name == OptimizerName::AdamW {
        0.01
    } else {
        0.0
    });
    ctx.range(
        key("weight_decay"),
        weight_decay,
        weight_decay >= 0.0,
        "a value >= 0",
    );
    let lr_schedule = resolve_lr(at, raw, max_step, ctx);
    let accumulate = raw.accumulate.unwrap_or(1);
    ctx.positive(key("accumulate"), accumulate);
    let gradient_clipping = raw.gradient_clipping.unwrap_or(5.0);
    ctx.range(
        key("gradient_clipping"),
        gradient_clipping,
        gradient_clipping >= 0.0,
        "a norm >= 0 (0 = off)",
    );
    TaskHyper {
        learning_rate,
        optimizer,
        weight_decay,
        decay_norm_and_bias: raw
            .decay_norm_and_bias
            .unwrap_or(name != OptimizerName::AdamW),
        accumulate,
        lr_schedule,
        gradient_clipping: (gradient_clipping > 0.0).then_some(gradient_clipping),
        clip_embeddings: raw.clip_embeddings.unwrap_or(false),
        require_eval: raw.require_eval.unwrap_or(true),
    }
}

fn resolve_lr(at: &str, raw: &RawTask, max_step: u64, ctx: &mut Ctx<'_>) -> LrSchedule {
    let s = raw
        .lr_schedule
        .clone()
        .unwrap_or_else(|| RawLrSchedule::only(LrKind::Exponential));
    let key = |k: &str| format!("{at}.lr_schedule.{k}");
    let kind_name = lr_kind_str(s.kind);
    let used: &[&str] = match s.kind {
        LrKind::Constant | LrKind::Exponential => &[],
        LrKind::Step => &["step_size", "gamma"],
        LrKind::MultiStep => &["milestones", "gamma"],
        LrKind::Cosine => &["t_max", "min_lr"],
        LrKind::OneCycle => &["total_steps", "pct_start", "div_factor", "final_div_factor"],
        LrKind::Linear => &["total_steps", "end_factor", "warmup_steps", "warmup_ratio"],
        LrKind::Plateau => &[
            "factor",
            "patience",
            "min_lr",
            "threshold",
            "threshold_mode",
            "cooldown",
        ],
    };
    for (k, given) in s.given() {
        if given && !used.contains(&k) {
            ctx.invalid(key(k), format!("not used by lr_schedule \"{kind_name}\""));
        }
    }
    if s.kind != LrKind::Exponential {
        for (k, given) in [
            ("decay_rate", raw.decay_rate.is_some()),
            ("decay_step", raw.decay_step.is_some()),
        ] {
            if given {
                ctx.invalid(
                    format!("{at}.{k}"),
                    format!("only used by lr_schedule \"exponential\", not \"{kind_name}\""),
                );
            }
        }
    }
    let required = |k: &str, value: Option<u64>, ctx: &mut Ctx<'_>| -> u64 {
        match value {
            Some(v) => {
                ctx.positive(key(k), v);
                v
            }
            None => {
                ctx.invalid(
                    format!("{at}.lr_schedule"),
                    format!("\"{kind_name}\" needs \"{k}\""),
                );
                1
            }
        }
    };
    let gamma = |ctx: &mut Ctx<'_>| {
        let g = s.gamma.unwrap_or(0.1);
        ctx.range(key("gamma"), g, g > 0.0 && g <= 1.0, "a factor in (0, 1]");
        g
    };
    let min_lr = |ctx: &mut Ctx<'_>| {
        let v = s.min_lr.unwrap_or(0.0);
        ctx.range(key("min_lr"), v, v >= 0.0, "a value >= 0");
        v
    };
    match s.kind {
        LrKind::Constant => LrSchedule::Constant,
        LrKind::Exponential => {
            let decay_rate = raw.decay_rate.unwrap_or(0.9);
            ctx.range(
                format!("{at}.decay_rate"),
                decay_rate,
                decay_rate > 0.0 && decay_rate <= 1.0,
                "a factor in (0, 1]",
            );
            let decay_step = raw.decay_step.unwrap_or(10_000);
            ctx.positive(format!("{at}.decay_step"), decay_step);
            LrSchedule::Exponential {
                decay_rate,
                decay_step,
            }
        }
        LrKind::Step => LrSchedule::Step {
            step_size: required("step_size", s.step_size, ctx),
            gamma: gamma(ctx),
        },
        LrKind::MultiStep => {
            let milestones = s.milestones.clone().unwrap_or_default();
            if milestones.is_empty() {
                ctx.invalid(
                    format!("{at}.lr_schedule"),
                    "\"multi_step\" needs a non-empty \"milestones\" list",
                );
            }
            if milestones.windows(2).any(|w| w[0] >= w[1]) {
                ctx.invalid(key("milestones"), "must be strictly increasing");
            }
            LrSchedule::MultiStep {
                milestones,
                gamma: gamma(ctx),
            }
        }
        LrKind::Cosine => {
            let t_max = s.t_max.unwrap_or(max_step);
            ctx.positive(key("t_max"), t_max);
            LrSchedule::Cosine {
                t_max,
                min_lr: min_lr(ctx),
            }
        }
        LrKind::OneCycle => {
            let total_steps = s.total_steps.unwrap_or(max_step);
            ctx.positive(key("total_steps"), total_steps);
            let pct_start = s.pct_start.unwrap_or(0.3);
            ctx.range(
                key("pct_start"),
                pct_start,
                pct_start > 0.0 && pct_start < 1.0,
                "a fraction in (0, 1)",
            );
            let div_factor = s.div_factor.unwrap_or(25.0);
            ctx.range(
                key("div_factor"),
                div_factor,
                div_factor >= 1.0,
                "a factor >= 1",
            );
            let final_div_factor = s.final_div_factor.unwrap_or(1e4);
            ctx.range(
                key("final_div_factor"),
                final_div_factor,
                final_div_factor >= 1.0,
                "a factor >= 1",
            );
            LrSchedule::OneCycle {
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
            }
        }
        LrKind::Plateau => {
            let factor = s.factor.unwrap_or(0.1);
            ctx.range(
                key("factor"),
                factor,
                factor > 0.0 && factor < 1.0,
                "a factor in (0, 1)",
            );
            let patience = s.patience.unwrap_or(10);
            let threshold = s.threshold.unwrap_or(1e-4);
            ctx.range(
                key("threshold"),
                threshold,
                threshold >= 0.0,
                "a value >= 0",
            );
            LrSchedule::Plateau {
                factor,
                patience,
                min_lr: min_lr(ctx),
                threshold,
                threshold_mode: s.threshold_mode.unwrap_or(ThresholdMode::Rel),
                cooldown: s.cooldown.unwrap_or(0),
            }
        }
        LrKind::Linear => {
            if let Some(total) = s.total_steps {
                ctx.positive(key("total_steps"), total);
            }
            let end_factor = s.end_factor.unwrap_or(0.0);
            ctx.range(
                key("end_factor"),
                end_factor,
                (0.0..=1.0).contains(&end_factor),
                "a factor in [0, 1]",
            );
            let warmup = match (s.warmup_steps, s.warmup_ratio) {
                (Some(_), Some(_)) => {
                    ctx.invalid(
                        key("warmup_ratio"),
                        "give either \"warmup_steps\" or \"warmup_ratio\", not both",
                    );
                    Warmup::Steps(0)
                }
                (Some(steps), None) => {
                    if let Some(total) = s.total_steps.filter(|&t| steps >= t) {
                        ctx.invalid(
                            key("warmup_steps"),
                            format!("{steps} is not below total_steps {total}"),
                        );
                    }
                    Warmup::Steps(steps)
                }
                (None, Some(ratio)) => {
                    ctx.range(
                        key("warmup_ratio"),
                        ratio,
                        (0.0..1.0).contains(&ratio),
                        "a fraction in [0, 1)",
                    );
                    Warmup::Ratio(ratio)
                }
                (None, None) => Warmup::Steps(0),
            };
            LrSchedule::Linear {
                total_steps: s.total_steps,
                end_factor,
                warmup,
            }
        }
    }
}

fn lr_kind_str(kind: LrKind) -> &'static str {
    match kind {
        LrKind::Constant => "constant",
        LrKind::Exponential => "exponential",
        LrKind::Step => "step",
        LrKind::MultiStep => "multi_step",
        LrKind::Cosine => "cosine",
        LrKind::OneCycle => "one_cycle",
        LrKind::Linear => "linear",
        LrKind::Plateau => "plateau",
    }
}

pub(super) fn lr_to_raw(schedule: &LrSchedule) -> (RawLrSchedule, Option<f64>, Option<u64>) {
    match schedule {
        LrSchedule::Constant => (RawLrSchedule::only(LrKind::Constant), None, None),
        LrSchedule::Exponential {
            decay_rate,
            decay_step,
        } => (
            RawLrSchedule::only(LrKind::Exponential),
            Some(*decay_rate),
            Some(*decay_step),
        ),
        LrSchedule::Step { step_size, gamma } => (
            RawLrSchedule {
                step_size: Some(*step_size),
                gamma: Some(*gamma),
                ..RawLrSchedule::only(LrKind::Step)
            },
            None,
            None,
        ),
        LrSchedule::MultiStep { milestones, gamma } => (
            RawLrSchedule {
                milestones: Some(milestones.clone()),
                gamma: Some(*gamma),
                ..RawLrSchedule::only(LrKind::MultiStep)
            },
            None,
            None,
        ),
        LrSchedule::Cosine { t_max, min_lr } => (
            RawLrSchedule {
                t_max: Some(*t_max),
                min_lr: Some(*min_lr),
                ..RawLrSchedule::only(LrKind::Cosine)
            },
            None,
            None,
        ),
        LrSchedule::OneCycle {
            total_steps,
            pct_start,
            div_factor,
            final_div_factor,
        } => (
            RawLrSchedule {
                total_steps: Some(*total_steps),
                pct_start: Some(*pct_start),
                div_factor: Some(*div_factor),
                final_div_factor: Some(*final_div_factor),
                ..RawLrSchedule::only(LrKind::OneCycle)
            },
            None,
            None,
        ),
        LrSchedule::Linear {
            total_steps,
            end_factor,
            warmup,
        } => (
            RawLrSchedule {
                total_steps: *total_steps,
                end_factor: Some(*end_factor),
                warmup_steps: match warmup {
                    Warmup::Steps(n) => Some(*n),
                    Warmup::Ratio(_) => None,
                },
                warmup_ratio: match warmup {
                    Warmup::Steps(_) => None,
                    Warmup::Ratio(r) => Some(*r),
                },
                ..RawLrSchedule::only(LrKind::Linear)
            },
            None,
            None,
        ),
        LrSchedule::Plateau {
            factor,
            patience,
            min_lr,
            threshold,
            threshold_mode,
            cooldown,
        } => (
            RawLrSchedule {
                factor: Some(*factor),
                patience: Some(*patience),
                min_lr: Some(*min_lr),
                threshold: Some(*threshold),
                threshold_mode: Some(*threshold_mode),
                cooldown: Some(*cooldown),
                ..RawLrSchedule::only(LrKind::Plateau)
            },
            None,
            None,
        ),
    }
}
