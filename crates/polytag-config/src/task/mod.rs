//! `tasks[]`: a (language, task type) pair trained on one dataset, wired from named components,
//! with its own optimiser and learning-rate schedule (seed-systems A.4 steps 6–8, A.7.1).

mod hyper;
mod raw;

use crate::component::{position_str, Component, ComponentKind, Input, Kind, Position, Role};
use crate::dataset::Dataset;
use crate::error::ConfigError;
use crate::resolve::{check_name, Ctx, Names};

use hyper::{lr_to_raw, resolve_hyper};
pub use hyper::{LrSchedule, Optimizer, TaskHyper, Warmup};
pub(crate) use raw::{model_fields, MODEL_TAGS};
pub use raw::{
    LrKind, OptimizerName, RawLrSchedule, RawLstmCrf, RawTagger, RawTask, RawTaskModel,
    ThresholdMode,
};

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
/// features [word, char] and one encoder, so the general [`Tagger`] is that shape.
pub type Pipeline = Tagger;

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
            TaskModel::Tagger(t) => t.clone(),
        }
    }

    /// Every component the task uses, in pipeline order, each once.
    pub fn components(&self) -> Vec<usize> {
        let p = self.pipeline();
        let mut all: Vec<usize> = p
            .features
            .into_iter()
            .chain(p.char_highway)
            .chain(p.encoders)
            .collect();
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

    /// Config paths of task `t`'s slots, spelled as its config writes them.
    pub fn paths(&self, t: usize) -> SlotPaths {
        SlotPaths {
            base: format!("tasks[{t}].model"),
            paper: matches!(self, TaskModel::LstmCrf(_)),
        }
    }

    /// The decoder component (`crf` of the paper's model).
    pub fn decoder(&self) -> usize {
        match self {
            TaskModel::LstmCrf(m) => m.crf,
            TaskModel::Tagger(t) => t.decoder,
        }
    }
}

/// Config paths of one task's slots (`tasks[0].model.features[1]`, or `….char_embed` for the
/// paper's wiring), for messages about a slot.
#[derive(Debug, Clone)]
pub struct SlotPaths {
    base: String,
    paper: bool,
}

impl SlotPaths {
    /// Of the `j`-th feature of the pipeline.
    pub fn feature(&self, j: usize) -> String {
        match (self.paper, j) {
            (true, 0) => format!("{}.word_embed", self.base),
            (true, _) => format!("{}.char_embed", self.base),
            (false, j) => format!("{}.features[{j}]", self.base),
        }
    }

    /// Of the char highway.
    pub fn char_highway(&self) -> String {
        format!("{}.char_highway", self.base)
    }

    /// Of the `j`-th encoder.
    pub fn encoder(&self, j: usize) -> String {
        if self.paper {
            format!("{}.lstm", self.base)
        } else {
            format!("{}.encoders[{j}]", self.base)
        }
    }

    /// Of the universal output layer.
    pub fn univ(&self) -> String {
        format!("{}.univ_layer", self.base)
    }

    /// Of the language-specific output layer.
    pub fn spec(&self) -> String {
        format!("{}.spec_layer", self.base)
    }

    /// Of the decoder.
    pub fn decoder(&self) -> String {
        let slot = if self.paper { "crf" } else { "decoder" };
        format!("{}.{slot}", self.base)
    }

    /// Of the task's model block.
    pub fn model(&self) -> String {
        self.base.clone()
    }
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

/// The kinds the paper's named slots accept: among the registry's kinds for the role,
/// `char_embed` takes those that read characters, `lstm` the recurrent ones.
fn char_kinds() -> Vec<Kind> {
    Kind::with_role(Role::Feature)
        .into_iter()
        .filter(|k| k.input() == Input::Chars)
        .collect()
}

fn recurrent_kinds() -> Vec<Kind> {
    Kind::with_role(Role::Encoder)
        .into_iter()
        .filter(|k| k.cell().is_some())
        .collect()
}

/// Collects a task's component references; a failed one is reported and makes the task
/// unusable for the cross-checks.
struct Wiring<'l, 'a> {
    lookup: &'l Lookup<'a>,
    slots: Vec<Slot>,
    ok: bool,
}

impl Wiring<'_, '_> {
    fn get(
        &mut self,
        ctx: &mut Ctx<'_>,
        path: String,
        name: &str,
        expected: &[Kind],
        role: Role,
    ) -> Option<usize> {
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
            Some(component) => self.slots.push(Slot {
                component,
                path,
                role,
            }),
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
        self.lookup
            .component_list
            .get(component)?
            .as_ref()
            .map(|c| c.kind.kind())
    }
}

/// Resolves `tasks[index]`. `None` when a reference fails (already reported).
pub(crate) fn resolve(
    index: usize,
    raw: &RawTask,
    lookup: &Lookup<'_>,
    ctx: &mut Ctx<'_>,
) -> Option<ResolvedTask> {
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
    let field =
        |key: &'static str, given: Option<&String>, of_data: Option<&String>, ctx: &mut Ctx<'_>| {
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
    let language = field(
        "language",
        raw.language.as_ref(),
        data.map(|d| &d.language),
        ctx,
    );
    let task_type = field("task", raw.task.as_ref(), data.map(|d| &d.task), ctx);

    let mut w = Wiring {
        lookup,
        slots: Vec::new(),
        ok: dataset.is_some() && data.is_some(),
    };
    let m = |key: &str| format!("{at}.model.{key}");
    let model = match &raw.model {
        RawTaskModel::LstmCrf(r) => {
            let word_embed = w.get(
                ctx,
                m("word_embed"),
                &r.word_embed,
                &[Kind::Embedding],
                Role::Feature,
            );
            let use_char = r.use_char_embedding.unwrap_or(true);
            let (char_embed, char_highway) = if use_char {
                let char_embed = w.opt(
                    ctx,
                    m("char_embed"),
                    r.char_embed.as_ref(),
                    &char_kinds(),
                    Role::Feature,
                );
                let highway = w.opt(
                    ctx,
                    m("char_highway"),
                    r.char_highway.as_ref(),
                    &Kind::with_role(Role::CharHighway),
                    Role::CharHighway,
                );
                if r.char_highway.is_some() && r.char_embed.is_none() {
                    ctx.invalid(m("char_highway"), "needs a \"char_embed\" to work on");
                }
                (char_embed, highway)
            } else {
                (None, None)
            };
            let lstm = w.get(ctx, m("lstm"), &r.lstm, &recurrent_kinds(), Role::Encoder);
            let univ_layer = w.opt(
                ctx,
                m("univ_layer"),
                r.univ_layer.as_ref(),
                &Kind::with_role(Role::Output),
                Role::Output,
            );
            let spec_layer = w.opt(
                ctx,
                m("spec_layer"),
                r.spec_layer.as_ref(),
                &Kind::with_role(Role::Output),
                Role::Output,
            );
            let crf = w.get(ctx, m("crf"), &r.crf, &[Kind::Crf], Role::Decoder);
            if r.univ_layer.is_none() && r.spec_layer.is_none() {
                ctx.invalid(
                    format!("{at}.model"),
                    "give \"univ_layer\", \"spec_layer\" or both",
                );
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
                ctx.invalid(
                    m("features"),
                    "empty list; a tagger needs at least one feature",
                );
                w.ok = false;
            }
            let features: Vec<usize> = r
                .features
                .iter()
                .enumerate()
                .filter_map(|(i, name)| {
                    w.get(
                        ctx,
                        m(&format!("features[{i}]")),
                        name,
                        &Kind::with_role(Role::Feature),
                        Role::Feature,
                    )
                })
                .collect();
            let char_highway = w.opt(
                ctx,
                m("char_highway"),
                r.char_highway.as_ref(),
                &Kind::with_role(Role::CharHighway),
                Role::CharHighway,
            );
            if r.char_highway.is_some() && w.ok {
                let chars = features
                    .iter()
                    .filter(|&&f| w.kind(f).is_some_and(|k| k.input() == Input::Chars))
                    .count();
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
                .filter_map(|(i, name)| {
                    w.get(
                        ctx,
                        m(&format!("encoders[{i}]")),
                        name,
                        &Kind::with_role(Role::Encoder),
                        Role::Encoder,
                    )
                })
                .collect();
            let univ_layer = w.opt(
                ctx,
                m("univ_layer"),
                r.univ_layer.as_ref(),
                &Kind::with_role(Role::Output),
                Role::Output,
            );
            let spec_layer = w.opt(
                ctx,
                m("spec_layer"),
                r.spec_layer.as_ref(),
                &Kind::with_role(Role::Output),
                Role::Output,
            );
            let decoder = w.get(
                ctx,
                m("decoder"),
                &r.decoder,
                &Kind::with_role(Role::Decoder),
                Role::Decoder,
            );
            if r.univ_layer.is_none() && r.spec_layer.is_none() {
                ctx.invalid(
                    format!("{at}.model"),
                    "give \"univ_layer\", \"spec_layer\" or both",
                );
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
    let (Some(dataset), Some(language), Some(task_type), Some(model), true) =
        (dataset, language, task_type, model, w.ok)
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
        let Some(Some(component)) = w.lookup.component_list.get(slot.component) else {
            continue;
        };
        let ComponentKind::Highway(spec) = &component.kind else {
            continue;
        };
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

impl Task {
    /// Back to the written form (names instead of indices), every default spelled out.
    pub fn to_raw(&self, datasets: &[Dataset], components: &[Component]) -> RawTask {
        // Indices were resolved against these very lists, so they are in range; an empty name
        // would only appear if a caller mixed experiments.
        let name = |i: usize| {
            components
                .get(i)
                .map(|c| c.name.clone())
                .unwrap_or_default()
        };
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
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => (
                OptimizerName::Adam,
                None,
                Some((beta1, beta2)),
                Some(epsilon),
            ),
            Optimizer::AdamW {
                beta1,
                beta2,
                epsilon,
            } => (
                OptimizerName::AdamW,
                None,
                Some((beta1, beta2)),
                Some(epsilon),
            ),
        };
        let (lr_schedule, decay_rate, decay_step) = lr_to_raw(&h.lr_schedule);
        RawTask {
            name: self.name.clone(),
            language: Some(self.language.clone()),
            task: Some(self.task.clone()),
            dataset: datasets
                .get(self.dataset)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            model,
            learning_rate: Some(h.learning_rate),
            momentum,
            decay_rate,
            decay_step,
            optimizer: Some(optimizer),
            betas,
            epsilon,
            weight_decay: Some(h.weight_decay),
            decay_norm_and_bias: Some(h.decay_norm_and_bias),
            accumulate: Some(h.accumulate),
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
