//! The written form of a task: the paper's keys plus polytag's, every option optional.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::kind_or_object;

/// One `tasks[]` entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    /// Unique name (`"Dutch NER"`).
    pub name: String,
    /// Must equal the dataset's; taken from it when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Task type; must equal the dataset's; taken from it when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Name of the dataset.
    pub dataset: String,
    /// Which components, tagged by `model`: `lstm_crf` or `tagger`.
    pub model: RawTaskModel,
    /// Initial learning rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    /// SGD momentum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// Exponential schedule: factor per `decay_step` task steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_rate: Option<f64>,
    /// Exponential schedule: task steps per `decay_rate` factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_step: Option<u64>,
    /// `sgd`, `adam` or `adamw`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<OptimizerName>,
    /// Adam/AdamW (β1, β2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub betas: Option<(f64, f64)>,
    /// Adam/AdamW ε.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// L2 (SGD, Adam) or decoupled (AdamW) weight decay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// Whether `weight_decay` also applies to biases and LayerNorm gains/shifts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_norm_and_bias: Option<bool>,
    /// Batches whose mean gradient makes one optimizer step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accumulate: Option<u64>,
    /// A kind name or `{kind, ...}`.
    #[serde(
        default,
        deserialize_with = "kind_or_object",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::schema::lr_schedule")]
    pub lr_schedule: Option<RawLrSchedule>,
    /// Largest global gradient norm; 0 turns clipping off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_clipping: Option<f64>,
    /// Whether embedding tables count in the clipped norm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_embeddings: Option<bool>,
    /// Evaluate this task at every evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_eval: Option<bool>,
    /// The target task: its dev score selects the best checkpoint.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub is_ref: Option<bool>,
    /// Read for the paper's files and ignored: the paper stores it and never uses it (A.7.1);
    /// the scheduler's weights come from `training.schedule`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prob: Option<f64>,
    /// Read for the paper's files and ignored: the device is `training.device`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<bool>,
}

/// `tasks[].model` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum RawTaskModel {
    /// The paper's model.
    LstmCrf(RawLstmCrf),
    /// Any stack of features, encoders, output layers and a decoder.
    Tagger(RawTagger),
}

/// `lstm_crf` as written (the paper's keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on LstmCrf
pub struct RawLstmCrf {
    pub word_embed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub char_embed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub char_highway: Option<String>,
    pub lstm: String,
    pub crf: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub univ_layer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_layer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lstm_dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_dropout: Option<f64>,
    /// The paper's switch; `false` drops `char_embed` and `char_highway`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_char_embedding: Option<bool>,
}

/// `tagger` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on Tagger
pub struct RawTagger {
    pub features: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub char_highway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoders: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub univ_layer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_layer: Option<String>,
    pub decoder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoder_dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_dropout: Option<f64>,
}

/// `tasks[].optimizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerName {
    /// SGD with momentum (the paper).
    Sgd,
    /// Adam (L2 weight decay inside the gradient).
    Adam,
    /// AdamW (decoupled weight decay).
    #[serde(rename = "adamw")]
    AdamW,
}

/// `tasks[].lr_schedule.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LrKind {
    /// No decay.
    Constant,
    /// lr0 · decay_rate^(step / decay_step), continuous (the paper).
    Exponential,
    /// × gamma every `step_size` steps.
    Step,
    /// × gamma at each milestone.
    MultiStep,
    /// Cosine from lr0 to `min_lr` over `t_max` steps.
    Cosine,
    /// Warm up to lr0, then anneal (PyTorch's OneCycleLR, cosine).
    OneCycle,
    /// Linear warm-up to lr0, then linear decay to `end_factor` · lr0 (Hugging Face's
    /// `get_linear_schedule_with_warmup` with the default `end_factor` 0).
    Linear,
    /// × factor after `patience` evaluations without a better dev score.
    Plateau,
}

/// `tasks[].lr_schedule` as written: one flat set of keys; which apply depends on `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on LrSchedule
pub struct RawLrSchedule {
    pub kind: LrKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_max: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lr: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_steps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pct_start: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub div_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_div_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_mode: Option<ThresholdMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_steps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_ratio: Option<f64>,
}

/// `plateau`'s `threshold_mode`: how big an improvement must be to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// score > best · (1 + threshold) (PyTorch's default).
    Rel,
    /// score > best + threshold.
    Abs,
}

impl RawLrSchedule {
    pub(super) fn only(kind: LrKind) -> RawLrSchedule {
        RawLrSchedule {
            kind,
            step_size: None,
            gamma: None,
            milestones: None,
            t_max: None,
            min_lr: None,
            total_steps: None,
            pct_start: None,
            div_factor: None,
            final_div_factor: None,
            factor: None,
            patience: None,
            threshold: None,
            threshold_mode: None,
            cooldown: None,
            end_factor: None,
            warmup_steps: None,
            warmup_ratio: None,
        }
    }

    /// `(key, given)` for every option, to reject the ones a kind does not use.
    pub(super) fn given(&self) -> [(&'static str, bool); 17] {
        [
            ("step_size", self.step_size.is_some()),
            ("gamma", self.gamma.is_some()),
            ("milestones", self.milestones.is_some()),
            ("t_max", self.t_max.is_some()),
            ("min_lr", self.min_lr.is_some()),
            ("total_steps", self.total_steps.is_some()),
            ("pct_start", self.pct_start.is_some()),
            ("div_factor", self.div_factor.is_some()),
            ("final_div_factor", self.final_div_factor.is_some()),
            ("factor", self.factor.is_some()),
            ("patience", self.patience.is_some()),
            ("threshold", self.threshold.is_some()),
            ("threshold_mode", self.threshold_mode.is_some()),
            ("cooldown", self.cooldown.is_some()),
            ("end_factor", self.end_factor.is_some()),
            ("warmup_steps", self.warmup_steps.is_some()),
            ("warmup_ratio", self.warmup_ratio.is_some()),
        ]
    }
}

/// Field names of the model struct for a `model` tag, for unknown-key checks.
pub(crate) fn model_fields(tag: &str) -> Option<&'static [&'static str]> {
    use crate::json::fields_of;
    match tag {
        "lstm_crf" => Some(fields_of::<RawLstmCrf>()),
        "tagger" => Some(fields_of::<RawTagger>()),
        _ => None,
    }
}

/// The task model tags.
pub(crate) const MODEL_TAGS: [&str; 2] = ["lstm_crf", "tagger"];
