//! `training`: how long to train, how often to evaluate, on which device, and how the
//! scheduler picks the task of each step (design.md §4, seed-systems A.7).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::kind_or_object;
use crate::resolve::Ctx;

/// `training` as written. Every key is optional; [`Training`] documents the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTraining {
    /// Global steps (one task batch each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_step: Option<u64>,
    /// Evaluate every this many global steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_freq: Option<u64>,
    /// `cpu`, `cuda`, `wgpu` or `auto`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceKind>,
    /// The paper's switch: `true` means `device: auto`, `false` means `cpu`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<bool>,
    /// Task sampling: a kind name or `{kind, task_discount, lang_discount}`.
    #[serde(
        default,
        deserialize_with = "kind_or_object",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::schema::training_schedule")]
    pub schedule: Option<RawSchedule>,
    /// Stop after `patience` evaluations without improvement of the target's dev score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<bool>,
    /// Evaluations without improvement before stopping; giving it turns early stopping on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience: Option<u64>,
    /// Write the `last` checkpoint every this many global steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_freq: Option<u64>,
    /// Same as the top-level `seed` (giving both with different values is an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// CPU threads for the backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Sentences per evaluation batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_batch_size: Option<usize>,
    /// `per_task` (the paper) or `shared`: optimizer state of shared components kept once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer_state: Option<OptimizerState>,
}

/// Who owns the optimizer state (momentum buffers, Adam moments) of a shared component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerState {
    /// Each task's optimizer keeps its own state for every parameter it trains, shared ones
    /// included: K tasks sharing an encoder hold K copies of its moments (the paper, A.7.1).
    #[default]
    PerTask,
    /// One optimizer for all tasks: every parameter has exactly one state, whichever task
    /// steps it (one copy of a shared encoder's moments). Every task must then have the same
    /// optimizer settings; learning rates and schedules stay per task.
    Shared,
}

/// `training.schedule` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// How tasks are drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ScheduleKind>,
    /// Weight factor of a task whose type differs from the target's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_discount: Option<f64>,
    /// Weight factor of a task whose language differs from the target's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang_discount: Option<f64>,
}

/// Where tensors live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// burn's pure-Rust `flex` backend (the default; what CI runs).
    Cpu,
    /// CUDA device 0 (needs the `cuda` cargo feature).
    Cuda,
    /// The default wgpu adapter (needs the `wgpu` cargo feature).
    Wgpu,
    /// The best compiled-in device: what the paper's `"gpu": true` means.
    Auto,
}

/// How the task of each training step is chosen (design.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Tasks in turn.
    RoundRobin,
    /// Drawn with weight N (training sentences), times the discounts.
    Proportional,
    /// Drawn with weight √N times the discounts: the paper's config-driven loop (A.7.1).
    SqrtSize,
    /// The paper's script mode (A.7.2): per epoch a fixed count of batches per task
    /// (from the same weights), in shuffled order.
    EpochMix,
}

/// Resolved `training`.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// Global steps; default 50 000 (the paper's `pipeline.py`).
    pub max_step: u64,
    /// Evaluate all tasks every this many global steps; default 1000 (paper example).
    pub eval_freq: u64,
    /// Default `cpu` (design.md §8); the paper's `gpu: true` becomes `auto`.
    pub device: DeviceKind,
    /// Default `sqrt_size` with both discounts 0.1 (seed-systems A.7.1).
    pub schedule: Schedule,
    /// `Some(n)`: stop after n evaluations without a better target dev score. Default off;
    /// `early_stop: true` alone means 5.
    pub patience: Option<u64>,
    /// Default: `eval_freq`.
    pub checkpoint_freq: u64,
    /// Default: the backend's choice (all cores).
    pub threads: Option<usize>,
    /// Default 100 (the paper's evaluation batch, A.5).
    pub eval_batch_size: usize,
    /// Default `per_task` (the paper).
    pub optimizer_state: OptimizerState,
}

/// Resolved `training.schedule`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// How tasks are drawn.
    pub kind: ScheduleKind,
    /// Factor for a task of another type than the target's; default 0.1 (A.7.1).
    pub task_discount: f64,
    /// Factor for a task of another language than the target's; default 0.1 (A.7.1).
    pub lang_discount: f64,
}

/// The paper's run length.
pub const DEFAULT_MAX_STEP: u64 = 50_000;
const DEFAULT_EVAL_FREQ: u64 = 1000;
const DEFAULT_PATIENCE: u64 = 5;
const DEFAULT_EVAL_BATCH: usize = 100;
const DEFAULT_DISCOUNT: f64 = 0.1;

/// Checks `raw` and fills defaults.
pub(crate) fn resolve(raw: &RawTraining, ctx: &mut Ctx<'_>) -> Training {
    let max_step = raw.max_step.unwrap_or(DEFAULT_MAX_STEP);
    ctx.positive("training.max_step", max_step);
    let eval_freq = raw.eval_freq.unwrap_or(DEFAULT_EVAL_FREQ);
    ctx.positive("training.eval_freq", eval_freq);
    let device = match (raw.device, raw.gpu) {
        (Some(device), None) => device,
        (None, Some(true)) => DeviceKind::Auto,
        (None, Some(false)) | (None, None) => DeviceKind::Cpu,
        (Some(device), Some(_)) => {
            ctx.invalid(
                "training.gpu",
                "give either \"device\" or the paper's \"gpu\", not both",
            );
            device
        }
    };
    let schedule = resolve_schedule(raw.schedule.as_ref(), ctx);
    let patience = match (raw.early_stop, raw.patience) {
        (Some(false), Some(_)) => {
            ctx.invalid("training.patience", "given while \"early_stop\" is false");
            None
        }
        (Some(false), None) | (None, None) => None,
        (Some(true), None) => Some(DEFAULT_PATIENCE),
        (_, Some(patience)) => {
            ctx.positive("training.patience", patience);
            Some(patience)
        }
    };
    let checkpoint_freq = raw.checkpoint_freq.unwrap_or(eval_freq);
    ctx.positive("training.checkpoint_freq", checkpoint_freq);
    if let Some(threads) = raw.threads {
        ctx.positive("training.threads", threads as u64);
    }
    let eval_batch_size = raw.eval_batch_size.unwrap_or(DEFAULT_EVAL_BATCH);
    ctx.positive("training.eval_batch_size", eval_batch_size as u64);
    Training {
        max_step,
        eval_freq,
        device,
        schedule,
        patience,
        checkpoint_freq,
        threads: raw.threads,
        eval_batch_size,
        optimizer_state: raw.optimizer_state.unwrap_or_default(),
    }
}

fn resolve_schedule(raw: Option<&RawSchedule>, ctx: &mut Ctx<'_>) -> Schedule {
    let default = RawSchedule::default();
    let raw = raw.unwrap_or(&default);
    let kind = raw.kind.unwrap_or(ScheduleKind::SqrtSize);
    let discount = |key: &str, value: Option<f64>, ctx: &mut Ctx<'_>| -> f64 {
        let path = format!("training.schedule.{key}");
        match value {
            Some(_) if kind == ScheduleKind::RoundRobin => {
                ctx.invalid(path, "not used by schedule \"round_robin\"");
                DEFAULT_DISCOUNT
            }
            Some(v) => {
                ctx.range(path, v, (0.0..=1.0).contains(&v), "a factor in [0, 1]");
                v
            }
            None => DEFAULT_DISCOUNT,
        }
    };
    let task_discount = discount("task_discount", raw.task_discount, ctx);
    let lang_discount = discount("lang_discount", raw.lang_discount, ctx);
    Schedule {
        kind,
        task_discount,
        lang_discount,
    }
}

impl Training {
    /// Back to the written form with every default spelled out (the seed lives at the top).
    pub fn to_raw(&self) -> RawTraining {
        let weighted = self.schedule.kind != ScheduleKind::RoundRobin;
        RawTraining {
            max_step: Some(self.max_step),
            eval_freq: Some(self.eval_freq),
            device: Some(self.device),
            gpu: None,
            schedule: Some(RawSchedule {
                kind: Some(self.schedule.kind),
                task_discount: weighted.then_some(self.schedule.task_discount),
                lang_discount: weighted.then_some(self.schedule.lang_discount),
            }),
            early_stop: Some(self.patience.is_some()),
            patience: self.patience,
            checkpoint_freq: Some(self.checkpoint_freq),
            seed: None,
            threads: self.threads,
            eval_batch_size: Some(self.eval_batch_size),
            optimizer_state: Some(self.optimizer_state),
        }
    }
}

#[cfg(test)]
mod schedule_string_form {
    use crate::{Experiment, ResolveOptions, ScheduleKind};

    /// `"schedule": "round_robin"` is short for `{"kind": "round_robin"}` (a reported bug:
    /// the string form was refused).
    #[test]
    fn a_schedule_may_be_given_by_its_kind_alone() {
        let text = r#"{"training": {"schedule": "round_robin"},
          "datasets": [{"name": "d", "language": "x", "task": "ner",
                        "files": {"train": "t", "dev": "d"}}],
          "components": [{"name": "emb", "model": "embedding"},
                         {"name": "lstm", "model": "lstm"},
                         {"name": "out", "model": "linear"}, {"name": "crf", "model": "crf"}],
          "tasks": [{"name": "t", "dataset": "d", "ref": true,
                     "model": {"model": "lstm_crf", "word_embed": "emb", "lstm": "lstm",
                               "univ_layer": "out", "crf": "crf"}}]}"#;
        let opts = ResolveOptions::default().without_file_check();
        let exp = Experiment::from_json_str(text, &[], &opts)
            .unwrap()
            .experiment;
        assert_eq!(exp.training.schedule.kind, ScheduleKind::RoundRobin);
    }
}
