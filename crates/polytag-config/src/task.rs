//! `tasks[]`: a (language, task type) pair trained on one dataset, wired from named components,
//! with its own optimiser and learning-rate schedule (seed-systems A.4 steps 6–8, A.7.1).

use serde::{Deserialize, Serialize};

use crate::component::{position_str, Component, ComponentKind, Kind, Position};
use crate::dataset::Dataset;
use crate::error::ConfigError;
use crate::json::kind_or_object;
use crate::resolve::{check_name, Ctx, Names};

/// One `tasks[]` entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// A kind name or `{kind, ...}`.
    #[serde(default, deserialize_with = "kind_or_object", skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum RawTaskModel {
    /// The paper's model.
    LstmCrf(RawLstmCrf),
    /// Any stack of features, encoders, output layers and a decoder.
    Tagger(RawTagger),
}

/// `lstm_crf` as written (the paper's keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// × factor after `patience` evaluations without a better dev score.
    Plateau,
}

/// `tasks[].lr_schedule` as written: one flat set of keys; which apply depends on `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

impl RawLrSchedule {
    fn only(kind: LrKind) -> RawLrSchedule {
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
        }
    }

    /// `(key, given)` for every option, to reject the ones a kind does not use.
    fn given(&self) -> [(&'static str, bool); 11] {
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
        ]
    }
}

/// A resolved task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Unique name.
    pub name: String,
    /// Language code (the dataset's).
    pub language: String,
    /// Task type (the dataset's).
    pub task: String,
    /// Index into [`crate::Experiment::datasets`].
    pub dataset: usize,
    /// The components it is wired from (indices into [`crate::Experiment::components`]).
    pub model: TaskModel,
    /// Optimiser and schedule.
    pub hyper: TaskHyper,
    /// The target task; exactly one task of an experiment is.
    pub is_ref: bool,
}

/// Which components a task uses, by index.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskModel {
    /// The paper's wiring.
    LstmCrf(LstmCrf),
    /// The general wiring.
    Tagger(Tagger),
}

/// The paper's model (seed-systems A.1): [word ; char] → dropout → BiLSTM → dropout →
/// universal / language-specific output (gated when both) → CRF.
#[derive(Debug, Clone, PartialEq)]
pub struct LstmCrf {
    /// An `embedding`.
    pub word_embed: usize,
    /// A `char_cnn` or `char_rnn`; `None` also when `use_char_embedding` is false.
    pub char_embed: Option<usize>,
    /// A `highway` on the char representation.
    pub char_highway: Option<usize>,
    /// An `lstm`, `gru` or `rnn`.
    pub lstm: usize,
    /// A `linear` shared by the task type (at least one of univ/spec is set).
    pub univ_layer: Option<usize>,
    /// A `linear` for this (task type, language).
    pub spec_layer: Option<usize>,
    /// A `crf`.
    pub crf: usize,
    /// On [word ; char]; default 0.2 (the old scripts).
    pub embed_dropout: f64,
    /// On the encoder output; default 0.5 (the old scripts).
    pub lstm_dropout: f64,
    /// Before the output layers; default 0. The paper accepts it and never applies it
    /// (A.1 \[QUIRK\]); polytag applies it.
    pub linear_dropout: f64,
}

/// The general model: features concatenated → encoders in order → output → decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagger {
    /// `embedding`, `char_cnn`, `char_rnn`, `feature_embedding`, `transformer`; concatenated
    /// in this order.
    pub features: Vec<usize>,
    /// A `highway` on the (single) char encoder among the features.
    pub char_highway: Option<usize>,
    /// `lstm`, `gru`, `rnn`, `attention`, `highway`, applied in order (may be empty).
    pub encoders: Vec<usize>,
    /// A `linear` shared by the task type.
    pub univ_layer: Option<usize>,
    /// A `linear` for this (task type, language).
    pub spec_layer: Option<usize>,
    /// A `crf` or `softmax`.
    pub decoder: usize,
    /// On the concatenated features; default 0.2 (as `lstm_crf`).
    pub embed_dropout: f64,
    /// On the last encoder's output; default 0.5 (as `lstm_crf`).
    pub encoder_dropout: f64,
    /// Before the output layers; default 0.
    pub linear_dropout: f64,
}

/// Both wirings in one shape, for the model builder: the paper's model is a tagger with
/// features [word, char] and one encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Feature components, concatenated in order.
    pub features: Vec<usize>,
    /// Highway on the char encoder among the features.
    pub char_highway: Option<usize>,
    /// Encoders in order.
    pub encoders: Vec<usize>,
    /// Universal output layer.
    pub univ_layer: Option<usize>,
    /// Language-specific output layer.
    pub spec_layer: Option<usize>,
    /// `crf` or `softmax`.
    pub decoder: usize,
    /// On the concatenated features.
    pub embed_dropout: f64,
    /// On the encoder output.
    pub encoder_dropout: f64,
    /// Before the output layers.
    pub linear_dropout: f64,
}

impl TaskModel {
    /// The wiring as a [`Pipeline`].
    pub fn pipeline(&self) -> Pipeline {
        match self {
            TaskModel::LstmCrf(m) => Pipeline {
                features: std::iter::once(m.word_embed).chain(m.char_embed).collect(),
                char_highway: m.char_highway,
                encoders: vec![m.lstm],
                univ_layer: m.univ_layer,
                spec_layer: m.spec_layer,
                decoder: m.crf,
                embed_dropout: m.embed_dropout,
                encoder_dropout: m.lstm_dropout,
                linear_dropout: m.linear_dropout,
            },
            TaskModel::Tagger(t) => Pipeline {
                features: t.features.clone(),
                char_highway: t.char_highway,
                encoders: t.encoders.clone(),
                univ_layer: t.univ_layer,
                spec_layer: t.spec_layer,
                decoder: t.decoder,
                embed_dropout: t.embed_dropout,
                encoder_dropout: t.encoder_dropout,
                linear_dropout: t.linear_dropout,
            },
        }
    }

    /// Every component the task uses, in pipeline order, each once.
    pub fn components(&self) -> Vec<usize> {
        let p = self.pipeline();
        let mut all: Vec<usize> = p.features.into_iter().chain(p.char_highway).chain(p.encoders).collect();
        all.extend(p.univ_layer);
        all.extend(p.spec_layer);
        all.push(p.decoder);
        let mut seen = Vec::with_capacity(all.len());
        for c in all {
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
        seen
    }

    /// The decoder component (`crf` of the paper's model).
    pub fn decoder(&self) -> usize {
        match self {
            TaskModel::LstmCrf(m) => m.crf,
            TaskModel::Tagger(t) => t.decoder,
        }
    }
}

/// A task's optimiser settings (seed-systems A.4 step 8).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskHyper {
    /// Initial learning rate; default 0.001 (the paper's code; its example config uses 0.02).
    pub learning_rate: f64,
    /// Default SGD with momentum 0.9.
    pub optimizer: Optimizer,
    /// Default 0 (AdamW: 0.01, as PyTorch).
    pub weight_decay: f64,
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
    /// × factor after `patience` evaluations without a better dev score of this task.
    Plateau {
        /// Default 0.1.
        factor: f64,
        /// Evaluations; default 10.
        patience: u64,
        /// Default 0.
        min_lr: f64,
    },
}

/// What a task uses a component for; the cross-checks depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Feature,
    CharHighway,
    Encoder,
    Output,
    Decoder,
}

/// A component reference of a task, with its config path.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub component: usize,
    pub path: String,
    pub role: Role,
}

/// A resolved task and the references it made.
pub(crate) struct ResolvedTask {
    pub task: Task,
    pub slots: Vec<Slot>,
}

/// What task resolution looks names up in.
pub(crate) struct Lookup<'a> {
    pub datasets: &'a Names<()>,
    pub dataset_list: &'a [Option<Dataset>],
    pub components: &'a Names<Kind>,
    pub component_list: &'a [Option<Component>],
    pub max_step: u64,
}

const FEATURE_KINDS: [Kind; 5] =
    [Kind::Embedding, Kind::CharCnn, Kind::CharRnn, Kind::FeatureEmbedding, Kind::Transformer];
const ENCODER_KINDS: [Kind; 5] = [Kind::Lstm, Kind::Gru, Kind::Rnn, Kind::Attention, Kind::Highway];
const RECURRENT_KINDS: [Kind; 3] = [Kind::Lstm, Kind::Gru, Kind::Rnn];
const CHAR_KINDS: [Kind; 2] = [Kind::CharCnn, Kind::CharRnn];

/// Collects a task's component references; a failed one is reported and makes the task
/// unusable for the cross-checks.
struct Wiring<'l, 'a> {
    lookup: &'l Lookup<'a>,
    slots: Vec<Slot>,
    ok: bool,
}

impl Wiring<'_, '_> {
    fn get(&mut self, ctx: &mut Ctx<'_>, path: String, name: &str, expected: &[Kind], role: Role) -> Option<usize> {
        let names = self.lookup.components;
        let found = match names.get(name) {
            Some((index, kind)) if expected.contains(&kind) => Some(index),
            Some((_, kind)) => {
                ctx.push(ConfigError::WrongKind {
                    path: path.clone(),
                    name: name.to_string(),
                    found: kind,
                    expected: expected.to_vec(),
                });
                None
            }
            None if names.is_broken(name) => None,
            None => {
                ctx.push(ConfigError::NotFound {
                    path: path.clone(),
                    what: "component",
                    name: name.to_string(),
                    known: names.known(|k| expected.contains(&k)),
                });
                None
            }
        };
        match found {
            Some(component) => self.slots.push(Slot { component, path, role }),
            None => self.ok = false,
        }
        found
    }

    fn opt(
        &mut self,
        ctx: &mut Ctx<'_>,
        path: String,
        name: Option<&String>,
        expected: &[Kind],
        role: Role,
    ) -> Option<usize> {
        name.and_then(|name| self.get(ctx, path, name, expected, role))
    }

    fn kind(&self, component: usize) -> Option<Kind> {
        self.lookup.component_list.get(component)?.as_ref().map(|c| c.kind.kind())
    }
}

/// Resolves `tasks[index]`. `None` when a reference fails (already reported).
pub(crate) fn resolve(index: usize, raw: &RawTask, lookup: &Lookup<'_>, ctx: &mut Ctx<'_>) -> Option<ResolvedTask> {
    let at = format!("tasks[{index}]");
    check_name(&format!("{at}.name"), &raw.name, ctx);
    let dataset = match lookup.datasets.get(&raw.dataset) {
        Some((i, ())) => Some(i),
        None if lookup.datasets.is_broken(&raw.dataset) => None,
        None => {
            ctx.push(ConfigError::NotFound {
                path: format!("{at}.dataset"),
                what: "dataset",
                name: raw.dataset.clone(),
                known: lookup.datasets.known(|()| true),
            });
            None
        }
    };
    let data = dataset.and_then(|i| lookup.dataset_list.get(i)?.as_ref());
    let field = |key: &'static str, given: Option<&String>, of_data: Option<&String>, ctx: &mut Ctx<'_>| {
        match (given, of_data) {
            (Some(given), Some(expected)) if given != expected => {
                ctx.push(ConfigError::DatasetMismatch {
                    path: format!("{at}.{key}"),
                    field: key,
                    found: given.clone(),
                    dataset: raw.dataset.clone(),
                    expected: expected.clone(),
                });
                None
            }
            (Some(v), _) | (None, Some(v)) => Some(v.clone()),
            (None, None) => None,
        }
    };
    let language = field("language", raw.language.as_ref(), data.map(|d| &d.language), ctx);
    let task_type = field("task", raw.task.as_ref(), data.map(|d| &d.task), ctx);

    let mut w = Wiring { lookup, slots: Vec::new(), ok: dataset.is_some() && data.is_some() };
    let m = |key: &str| format!("{at}.model.{key}");
    let model = match &raw.model {
        RawTaskModel::LstmCrf(r) => {
            let word_embed = w.get(ctx, m("word_embed"), &r.word_embed, &[Kind::Embedding], Role::Feature);
            let use_char = r.use_char_embedding.unwrap_or(true);
            let (char_embed, char_highway) = if use_char {
                let char_embed = w.opt(ctx, m("char_embed"), r.char_embed.as_ref(), &CHAR_KINDS, Role::Feature);
                let highway =
                    w.opt(ctx, m("char_highway"), r.char_highway.as_ref(), &[Kind::Highway], Role::CharHighway);
                if r.char_highway.is_some() && r.char_embed.is_none() {
                    ctx.invalid(m("char_highway"), "needs a \"char_embed\" to work on");
                }
                (char_embed, highway)
            } else {
                (None, None)
            };
            let lstm = w.get(ctx, m("lstm"), &r.lstm, &RECURRENT_KINDS, Role::Encoder);
            let univ_layer = w.opt(ctx, m("univ_layer"), r.univ_layer.as_ref(), &[Kind::Linear], Role::Output);
            let spec_layer = w.opt(ctx, m("spec_layer"), r.spec_layer.as_ref(), &[Kind::Linear], Role::Output);
            let crf = w.get(ctx, m("crf"), &r.crf, &[Kind::Crf], Role::Decoder);
            if r.univ_layer.is_none() && r.spec_layer.is_none() {
                ctx.invalid(format!("{at}.model"), "give \"univ_layer\", \"spec_layer\" or both");
                w.ok = false;
            }
            let embed_dropout = dropout(ctx, m("embed_dropout"), r.embed_dropout, 0.2);
            let lstm_dropout = dropout(ctx, m("lstm_dropout"), r.lstm_dropout, 0.5);
            let linear_dropout = dropout(ctx, m("linear_dropout"), r.linear_dropout, 0.0);
            match (word_embed, lstm, crf) {
                (Some(word_embed), Some(lstm), Some(crf)) => Some(TaskModel::LstmCrf(LstmCrf {
                    word_embed,
                    char_embed,
                    char_highway,
                    lstm,
                    univ_layer,
                    spec_layer,
                    crf,
                    embed_dropout,
                    lstm_dropout,
                    linear_dropout,
                })),
                _ => None,
            }
        }
        RawTaskModel::Tagger(r) => {
            if r.features.is_empty() {
                ctx.invalid(m("features"), "empty list; a tagger needs at least one feature");
                w.ok = false;
            }
            let features: Vec<usize> = r
                .features
                .iter()
                .enumerate()
                .filter_map(|(i, name)| w.get(ctx, m(&format!("features[{i}]")), name, &FEATURE_KINDS, Role::Feature))
                .collect();
            let char_highway =
                w.opt(ctx, m("char_highway"), r.char_highway.as_ref(), &[Kind::Highway], Role::CharHighway);
            if r.char_highway.is_some() && w.ok {
                let chars = features.iter().filter(|&&f| w.kind(f).is_some_and(|k| CHAR_KINDS.contains(&k))).count();
                if chars != 1 {
                    ctx.invalid(
                        m("char_highway"),
                        format!("needs exactly one char_cnn or char_rnn among the features, found {chars}"),
                    );
                }
            }
            let encoders: Vec<usize> = r
                .encoders
                .iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, name)| w.get(ctx, m(&format!("encoders[{i}]")), name, &ENCODER_KINDS, Role::Encoder))
                .collect();
            let univ_layer = w.opt(ctx, m("univ_layer"), r.univ_layer.as_ref(), &[Kind::Linear], Role::Output);
            let spec_layer = w.opt(ctx, m("spec_layer"), r.spec_layer.as_ref(), &[Kind::Linear], Role::Output);
            let decoder = w.get(ctx, m("decoder"), &r.decoder, &[Kind::Crf, Kind::Softmax], Role::Decoder);
            if r.univ_layer.is_none() && r.spec_layer.is_none() {
                ctx.invalid(format!("{at}.model"), "give \"univ_layer\", \"spec_layer\" or both");
                w.ok = false;
            }
            let embed_dropout = dropout(ctx, m("embed_dropout"), r.embed_dropout, 0.2);
            let encoder_dropout = dropout(ctx, m("encoder_dropout"), r.encoder_dropout, 0.5);
            let linear_dropout = dropout(ctx, m("linear_dropout"), r.linear_dropout, 0.0);
            decoder.map(|decoder| {
                TaskModel::Tagger(Tagger {
                    features,
                    char_highway,
                    encoders,
                    univ_layer,
                    spec_layer,
                    decoder,
                    embed_dropout,
                    encoder_dropout,
                    linear_dropout,
                })
            })
        }
    };
    check_positions(&w, ctx);
    let hyper = resolve_hyper(&at, raw, lookup.max_step, ctx);
    let (Some(dataset), Some(language), Some(task_type), Some(model), true) = (dataset, language, task_type, model, w.ok)
    else {
        return None;
    };
    Some(ResolvedTask {
        task: Task {
            name: raw.name.clone(),
            language,
            task: task_type,
            dataset,
            model,
            hyper,
            is_ref: raw.is_ref.unwrap_or(false),
        },
        slots: w.slots,
    })
}

/// A highway's written `position` must agree with its slot (char highway vs. word encoder).
fn check_positions(w: &Wiring<'_, '_>, ctx: &mut Ctx<'_>) {
    for slot in &w.slots {
        let Some(Some(component)) = w.lookup.component_list.get(slot.component) else { continue };
        let ComponentKind::Highway(spec) = &component.kind else { continue };
        let (expected, place) = match slot.role {
            Role::CharHighway => (Position::Char, "on characters"),
            _ => (Position::Word, "on words"),
        };
        if let Some(position) = spec.position.filter(|&p| p != expected) {
            ctx.invalid(
                slot.path.clone(),
                format!(
                    "highway \"{}\" says \"position\": \"{}\" but is used {place} here",
                    component.name,
                    position_str(position)
                ),
            );
        }
    }
}

fn dropout(ctx: &mut Ctx<'_>, path: String, value: Option<f64>, default: f64) -> f64 {
    let value = value.unwrap_or(default);
    ctx.probability(path, value);
    value
}

fn resolve_hyper(at: &str, raw: &RawTask, max_step: u64, ctx: &mut Ctx<'_>) -> TaskHyper {
    let key = |k: &str| format!("{at}.{k}");
    let learning_rate = raw.learning_rate.unwrap_or(0.001);
    ctx.range(key("learning_rate"), learning_rate, learning_rate > 0.0, "a learning rate > 0");
    let name = raw.optimizer.unwrap_or(OptimizerName::Sgd);
    let optimizer = match name {
        OptimizerName::Sgd => {
            for (k, given) in [("betas", raw.betas.is_some()), ("epsilon", raw.epsilon.is_some())] {
                if given {
                    ctx.invalid(key(k), "only used by optimizers adam and adamw");
                }
            }
            let momentum = raw.momentum.unwrap_or(0.9);
            ctx.range(key("momentum"), momentum, (0.0..1.0).contains(&momentum), "a value in [0, 1)");
            Optimizer::Sgd { momentum }
        }
        OptimizerName::Adam | OptimizerName::AdamW => {
            if raw.momentum.is_some() {
                ctx.invalid(key("momentum"), "only used by optimizer sgd (adam has \"betas\")");
            }
            let (beta1, beta2) = raw.betas.unwrap_or((0.9, 0.999));
            ctx.range(key("betas[0]"), beta1, (0.0..1.0).contains(&beta1), "a value in [0, 1)");
            ctx.range(key("betas[1]"), beta2, (0.0..1.0).contains(&beta2), "a value in [0, 1)");
            let epsilon = raw.epsilon.unwrap_or(1e-8);
            ctx.range(key("epsilon"), epsilon, epsilon > 0.0, "a value > 0");
            if name == OptimizerName::Adam {
                Optimizer::Adam { beta1, beta2, epsilon }
            } else {
                Optimizer::AdamW { beta1, beta2, epsilon }
            }
        }
    };
    let weight_decay = raw.weight_decay.unwrap_or(if name == OptimizerName::AdamW { 0.01 } else { 0.0 });
    ctx.range(key("weight_decay"), weight_decay, weight_decay >= 0.0, "a value >= 0");
    let lr_schedule = resolve_lr(at, raw, max_step, ctx);
    let gradient_clipping = raw.gradient_clipping.unwrap_or(5.0);
    ctx.range(key("gradient_clipping"), gradient_clipping, gradient_clipping >= 0.0, "a norm >= 0 (0 = off)");
    TaskHyper {
        learning_rate,
        optimizer,
        weight_decay,
        lr_schedule,
        gradient_clipping: (gradient_clipping > 0.0).then_some(gradient_clipping),
        clip_embeddings: raw.clip_embeddings.unwrap_or(false),
        require_eval: raw.require_eval.unwrap_or(true),
    }
}

fn resolve_lr(at: &str, raw: &RawTask, max_step: u64, ctx: &mut Ctx<'_>) -> LrSchedule {
    let s = raw.lr_schedule.clone().unwrap_or_else(|| RawLrSchedule::only(LrKind::Exponential));
    let key = |k: &str| format!("{at}.lr_schedule.{k}");
    let kind_name = lr_kind_str(s.kind);
    let used: &[&str] = match s.kind {
        LrKind::Constant | LrKind::Exponential => &[],
        LrKind::Step => &["step_size", "gamma"],
        LrKind::MultiStep => &["milestones", "gamma"],
        LrKind::Cosine => &["t_max", "min_lr"],
        LrKind::OneCycle => &["total_steps", "pct_start", "div_factor", "final_div_factor"],
        LrKind::Plateau => &["factor", "patience", "min_lr"],
    };
    for (k, given) in s.given() {
        if given && !used.contains(&k) {
            ctx.invalid(key(k), format!("not used by lr_schedule \"{kind_name}\""));
        }
    }
    if s.kind != LrKind::Exponential {
        for (k, given) in [("decay_rate", raw.decay_rate.is_some()), ("decay_step", raw.decay_step.is_some())] {
            if given {
                ctx.invalid(format!("{at}.{k}"), format!("only used by lr_schedule \"exponential\", not \"{kind_name}\""));
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
                ctx.invalid(format!("{at}.lr_schedule"), format!("\"{kind_name}\" needs \"{k}\""));
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
            ctx.range(format!("{at}.decay_rate"), decay_rate, decay_rate > 0.0 && decay_rate <= 1.0, "a factor in (0, 1]");
            let decay_step = raw.decay_step.unwrap_or(10_000);
            ctx.positive(format!("{at}.decay_step"), decay_step);
            LrSchedule::Exponential { decay_rate, decay_step }
        }
        LrKind::Step => LrSchedule::Step { step_size: required("step_size", s.step_size, ctx), gamma: gamma(ctx) },
        LrKind::MultiStep => {
            let milestones = s.milestones.clone().unwrap_or_default();
            if milestones.is_empty() {
                ctx.invalid(format!("{at}.lr_schedule"), "\"multi_step\" needs a non-empty \"milestones\" list");
            }
            if milestones.windows(2).any(|w| w[0] >= w[1]) {
                ctx.invalid(key("milestones"), "must be strictly increasing");
            }
            LrSchedule::MultiStep { milestones, gamma: gamma(ctx) }
        }
        LrKind::Cosine => {
            let t_max = s.t_max.unwrap_or(max_step);
            ctx.positive(key("t_max"), t_max);
            LrSchedule::Cosine { t_max, min_lr: min_lr(ctx) }
        }
        LrKind::OneCycle => {
            let total_steps = s.total_steps.unwrap_or(max_step);
            ctx.positive(key("total_steps"), total_steps);
            let pct_start = s.pct_start.unwrap_or(0.3);
            ctx.range(key("pct_start"), pct_start, pct_start > 0.0 && pct_start < 1.0, "a fraction in (0, 1)");
            let div_factor = s.div_factor.unwrap_or(25.0);
            ctx.range(key("div_factor"), div_factor, div_factor >= 1.0, "a factor >= 1");
            let final_div_factor = s.final_div_factor.unwrap_or(1e4);
            ctx.range(key("final_div_factor"), final_div_factor, final_div_factor >= 1.0, "a factor >= 1");
            LrSchedule::OneCycle { total_steps, pct_start, div_factor, final_div_factor }
        }
        LrKind::Plateau => {
            let factor = s.factor.unwrap_or(0.1);
            ctx.range(key("factor"), factor, factor > 0.0 && factor < 1.0, "a factor in (0, 1)");
            let patience = s.patience.unwrap_or(10);
            LrSchedule::Plateau { factor, patience, min_lr: min_lr(ctx) }
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
        LrKind::Plateau => "plateau",
    }
}

impl Task {
    /// Back to the written form (names instead of indices), every default spelled out.
    pub fn to_raw(&self, datasets: &[Dataset], components: &[Component]) -> RawTask {
        // Indices were resolved against these very lists, so they are in range; an empty name
        // would only appear if a caller mixed experiments.
        let name = |i: usize| components.get(i).map(|c| c.name.clone()).unwrap_or_default();
        let opt = |i: Option<usize>| i.map(name);
        let model = match &self.model {
            TaskModel::LstmCrf(m) => RawTaskModel::LstmCrf(RawLstmCrf {
                word_embed: name(m.word_embed),
                char_embed: opt(m.char_embed),
                char_highway: opt(m.char_highway),
                lstm: name(m.lstm),
                crf: name(m.crf),
                univ_layer: opt(m.univ_layer),
                spec_layer: opt(m.spec_layer),
                embed_dropout: Some(m.embed_dropout),
                lstm_dropout: Some(m.lstm_dropout),
                linear_dropout: Some(m.linear_dropout),
                use_char_embedding: Some(m.char_embed.is_some()),
            }),
            TaskModel::Tagger(t) => RawTaskModel::Tagger(RawTagger {
                features: t.features.iter().map(|&i| name(i)).collect(),
                char_highway: opt(t.char_highway),
                encoders: Some(t.encoders.iter().map(|&i| name(i)).collect()),
                univ_layer: opt(t.univ_layer),
                spec_layer: opt(t.spec_layer),
                decoder: name(t.decoder),
                embed_dropout: Some(t.embed_dropout),
                encoder_dropout: Some(t.encoder_dropout),
                linear_dropout: Some(t.linear_dropout),
            }),
        };
        let h = &self.hyper;
        let (optimizer, momentum, betas, epsilon) = match h.optimizer {
            Optimizer::Sgd { momentum } => (OptimizerName::Sgd, Some(momentum), None, None),
            Optimizer::Adam { beta1, beta2, epsilon } => {
                (OptimizerName::Adam, None, Some((beta1, beta2)), Some(epsilon))
            }
            Optimizer::AdamW { beta1, beta2, epsilon } => {
                (OptimizerName::AdamW, None, Some((beta1, beta2)), Some(epsilon))
            }
        };
        let (lr_schedule, decay_rate, decay_step) = lr_to_raw(&h.lr_schedule);
        RawTask {
            name: self.name.clone(),
            language: Some(self.language.clone()),
            task: Some(self.task.clone()),
            dataset: datasets.get(self.dataset).map(|d| d.name.clone()).unwrap_or_default(),
            model,
            learning_rate: Some(h.learning_rate),
            momentum,
            decay_rate,
            decay_step,
            optimizer: Some(optimizer),
            betas,
            epsilon,
            weight_decay: Some(h.weight_decay),
            lr_schedule: Some(lr_schedule),
            gradient_clipping: Some(h.gradient_clipping.unwrap_or(0.0)),
            clip_embeddings: Some(h.clip_embeddings),
            require_eval: Some(h.require_eval),
            is_ref: Some(self.is_ref),
            prob: None,
            gpu: None,
        }
    }
}

fn lr_to_raw(schedule: &LrSchedule) -> (RawLrSchedule, Option<f64>, Option<u64>) {
    match schedule {
        LrSchedule::Constant => (RawLrSchedule::only(LrKind::Constant), None, None),
        LrSchedule::Exponential { decay_rate, decay_step } => {
            (RawLrSchedule::only(LrKind::Exponential), Some(*decay_rate), Some(*decay_step))
        }
        LrSchedule::Step { step_size, gamma } => (
            RawLrSchedule { step_size: Some(*step_size), gamma: Some(*gamma), ..RawLrSchedule::only(LrKind::Step) },
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
            RawLrSchedule { t_max: Some(*t_max), min_lr: Some(*min_lr), ..RawLrSchedule::only(LrKind::Cosine) },
            None,
            None,
        ),
        LrSchedule::OneCycle { total_steps, pct_start, div_factor, final_div_factor } => (
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
        LrSchedule::Plateau { factor, patience, min_lr } => (
            RawLrSchedule {
                factor: Some(*factor),
                patience: Some(*patience),
                min_lr: Some(*min_lr),
                ..RawLrSchedule::only(LrKind::Plateau)
            },
            None,
            None,
        ),
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
