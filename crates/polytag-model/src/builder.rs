//! From a resolved [`Experiment`] and what only the data knows ([`BuildInputs`]) to a
//! [`Model`]: every used component instantiated once, one wiring per task, every size
//! inferred (seed-systems A.4 step 5) and every mismatch reported with its config path.
//!
//! Inference, in task order: word dim + char dim (+ feature dims) → the first encoder's input;
//! each encoder's output → the next; the last output (2H for a BiLSTM) → the output layers'
//! input; the task type's label count → linear outputs and the decoder. The first task to use
//! a component fixes its input width; a later task that would feed it another width is an
//! error at that task's slot (`tasks[2].model.lstm: input dimension is 150, expected 110`),
//! never a burn shape panic. Components no task uses are not built.
//!
//! This is the only place that reads `polytag_config` component specs; below it there are only
//! typed `*Config` structs (style.md, "builder.rs alone maps config::ComponentSpec").

use std::collections::BTreeMap;

use burn::prelude::*;
use polytag_config::{
    ClassWeights, ComponentKind, Constraints, Errors, Experiment, Input, Role, TransformerSource,
    TransformerSpec,
};
use polytag_data::scheme::{transition_allowed, Scheme, Tag};

use crate::attention::AttentionConfig;
use crate::char_cnn::CharCnnConfig;
use crate::char_rnn::CharRnnConfig;
use crate::component::ComponentConfig;
use crate::crf::{CrfConfig, CrfConstraints};
use crate::embedding::TokenEmbeddingConfig;
use crate::error::{BuildErrors, ModelError, Result};
use crate::highway::HighwayConfig;
use crate::linear::OutputLayerConfig;
use crate::rnn::{Cell, RecurrentConfig};
use crate::softmax::SoftmaxConfig;
use crate::tagger::{FeatureSlot, Model, ModelConfig, NamedComponent, Slot, TaskWiring};
use crate::transformer_feature::TransformerFeatureConfig;
use polytag_config::hf::HfModelConfig;

/// The label set of one task, as the data layer built it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskLabels {
    /// Label strings in id order (the task type's vocabulary: shared layers need one order).
    pub labels: Vec<String>,
    /// The tag scheme the labels are in after any conversion (`None`: plain labels, POS).
    pub scheme: Option<Scheme>,
    /// Training frequency of each label (for `class_weights: inverse_freq`); may be empty
    /// when no softmax decoder asks for it.
    pub counts: Vec<usize>,
}

/// What the builder cannot know from the config: vocabulary sizes, pretrained vectors,
/// label sets. Filled by the caller from polytag-data.
#[derive(Clone, Debug, Default)]
pub struct BuildInputs {
    /// Rows of each `embedding` / `feature_embedding` table (PAD and UNK included), by
    /// component index in the experiment.
    pub vocab_sizes: BTreeMap<usize, usize>,
    /// Initial vectors of `embedding` components that name a `file`, row-major
    /// `[vocab, dimension]`, by component index.
    pub pretrained: BTreeMap<usize, Vec<f32>>,
    /// Rows of the char table (PAD and UNK included), shared by all char encoders.
    pub char_vocab_size: usize,
    /// One entry per task, in task order.
    pub labels: Vec<TaskLabels>,
    /// The padding piece of each `transformer` component's tokenizer (its vocabulary size is
    /// in `vocab_sizes`), by component index.
    pub subword_pad: BTreeMap<usize, u32>,
    /// Whether pretrained transformers read their `model.safetensors`: true for a new run,
    /// false when a checkpoint's parameters will replace them anyway (`--resume`, `eval`,
    /// `predict`), so a run works without its model folder.
    pub load_pretrained: bool,
}

impl BuildInputs {
    /// The inputs as the data layer loaded them: vocabulary sizes per embedding component,
    /// pretrained tables, the char vocabulary, and per task its task type's labels (in the
    /// training scheme, BIOES for chunk tags) with their training frequencies.
    pub fn from_data(exp: &Experiment, data: &polytag_data::ExperimentData) -> BuildInputs {
        let mut vocab_sizes: BTreeMap<usize, usize> =
            data.words.iter().map(|(&c, v)| (c, v.len())).collect();
        vocab_sizes.extend(data.features.iter().map(|(&c, v)| (c, v.len())));
        let pretrained = data
            .embeddings
            .iter()
            .map(|(&c, e)| (c, e.table.data.clone()))
            .collect();
        let labels = exp
            .tasks
            .iter()
            .map(|task| {
                let vocab = data.labels.get(&task.task);
                let labels: Vec<String> = vocab.map(|v| v.labels().to_vec()).unwrap_or_default();
                let mut counts = vec![0usize; labels.len()];
                if let (Some(vocab), Some(d)) = (vocab, data.datasets.get(task.dataset)) {
                    for sentence in &d.train.sentences {
                        for label in &sentence.labels {
                            if let Some(id) = vocab.id(label) {
                                counts[id as usize] += 1;
                            }
                        }
                    }
                }
                let scheme = data
                    .datasets
                    .get(task.dataset)
                    .and_then(|d| d.scheme)
                    .map(|_| polytag_data::TRAINING_SCHEME);
                TaskLabels {
                    labels,
                    scheme,
                    counts,
                }
            })
            .collect();
        for (&c, v) in &data.subwords {
            vocab_sizes.insert(c, v.tokenizer.vocab_size);
        }
        BuildInputs {
            vocab_sizes,
            pretrained,
            char_vocab_size: data.chars.len(),
            labels,
            subword_pad: data
                .subwords
                .iter()
                .map(|(&c, v)| (c, v.tokenizer.pad))
                .collect(),
            load_pretrained: true,
        }
    }
}

/// Builds the model of an experiment on `device`.
///
/// # Errors
/// Every problem found, each with its config path (missing vocabulary sizes or labels,
/// width or label-count disagreements between tasks, attention heads, scheme constraints,
/// unsupported kinds), or the pretrained-vector shape errors of the components.
pub fn build(
    experiment: &Experiment,
    inputs: &BuildInputs,
    device: &Device,
) -> std::result::Result<Model, BuildErrors> {
    model_config(experiment, inputs)?.init(device)
}

/// The [`ModelConfig`] of an experiment (nothing built). Widths come from the resolved
/// experiment (polytag-config inferred every component's input width), label counts and
/// vocabulary sizes from `inputs`.
///
/// # Errors
/// As [`build`].
pub fn model_config(
    exp: &Experiment,
    inputs: &BuildInputs,
) -> std::result::Result<ModelConfig, BuildErrors> {
    let mut errors = Vec::new();

    // Label sets per task.
    let mut task_labels: Vec<Option<&TaskLabels>> = Vec::with_capacity(exp.tasks.len());
    for (t, task) in exp.tasks.iter().enumerate() {
        let l = inputs.labels.get(t).filter(|l| !l.labels.is_empty());
        if l.is_none() {
            errors.push(ModelError::MissingInput {
                path: format!("tasks[{t}]"),
                name: task.name.clone(),
                what: "label set",
            });
        }
        task_labels.push(l);
    }

    // Output layers and decoders are sized by the labels of the first task that uses them;
    // another task sharing one must have as many (polytag-config only lets tasks of one task
    // type share them, and labels are per task type, so this guards hand-made inputs).
    let count = |t: usize| {
        task_labels
            .get(t)
            .copied()
            .flatten()
            .map(|l| l.labels.len())
    };
    for (t, task) in exp.tasks.iter().enumerate() {
        let p = task.model.pipeline();
        let paths = task.model.paths(t);
        let sized = [
            (p.univ_layer, paths.univ()),
            (p.spec_layer, paths.spec()),
            (Some(p.decoder), paths.decoder()),
        ];
        for (component, path) in sized {
            let Some(c) = component else { continue };
            let first = exp.tasks_using(c).into_iter().find_map(count);
            if let (Some(expected), Some(found)) = (first, count(t)) {
                if expected != found {
                    errors.push(ModelError::DimensionMismatch {
                        path,
                        what: "label count",
                        expected,
                        found,
                    });
                }
            }
        }
    }

    // The used components, each built once; `index` maps experiment to model indices.
    let mut index = vec![None; exp.components.len()];
    let mut components = Vec::new();
    for (i, comp) in exp.components.iter().enumerate() {
        let users = exp.tasks_using(i);
        if users.is_empty() {
            continue;
        }
        match component_config(i, comp, inputs, &users, &task_labels) {
            Ok(config) => {
                index[i] = Some(components.len());
                components.push(NamedComponent {
                    name: comp.name.clone(),
                    path: format!("components[{i}]"),
                    config,
                });
            }
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(Errors(errors));
    }
    let slot = |component: usize, path: String| Slot {
        // every component a task names is used, so it has a model index
        component: index
            .get(component)
            .copied()
            .flatten()
            .unwrap_or(usize::MAX),
        path,
    };
    let tasks = exp
        .tasks
        .iter()
        .enumerate()
        .map(|(t, task)| {
            let p = task.model.pipeline();
            let paths = task.model.paths(t);
            let reads_chars = |c: usize| exp.components[c].kind.kind().input() == Input::Chars;
            TaskWiring {
                name: task.name.clone(),
                path: format!("tasks[{t}]"),
                num_labels: task_labels[t].map_or(0, |l| l.labels.len()),
                features: p
                    .features
                    .iter()
                    .enumerate()
                    .map(|(j, &c)| FeatureSlot {
                        slot: slot(c, paths.feature(j)),
                        highway: p
                            .char_highway
                            .filter(|_| reads_chars(c))
                            .map(|h| slot(h, paths.char_highway())),
                    })
                    .collect(),
                encoders: p
                    .encoders
                    .iter()
                    .enumerate()
                    .map(|(j, &c)| slot(c, paths.encoder(j)))
                    .collect(),
                universal: p.univ_layer.map(|c| slot(c, paths.univ())),
                specific: p.spec_layer.map(|c| slot(c, paths.spec())),
                decoder: slot(p.decoder, paths.decoder()),
                feature_dropout: p.embed_dropout,
                encoder_dropout: p.encoder_dropout,
                linear_dropout: p.linear_dropout,
            }
        })
        .collect();
    let config = ModelConfig { components, tasks };
    Errors::check(config.check(), config)
}

/// The typed config of component `i` from its spec and the sizes inferred for it.
///
/// This is the builder's one match on the kind: a new kind adds its arm here.
fn component_config(
    i: usize,
    comp: &polytag_config::Component,
    inputs: &BuildInputs,
    users: &[usize],
    labels: &[Option<&TaskLabels>],
) -> std::result::Result<ComponentConfig, Vec<ModelError>> {
    let path = format!("components[{i}]");
    let missing = |what: &'static str| {
        vec![ModelError::MissingInput {
            path: path.clone(),
            name: comp.name.clone(),
            what,
        }]
    };
    let kind = comp.kind.kind();
    // Input width as polytag-config inferred it, for the kinds that read vectors (decoders
    // read label scores, sized by the labels).
    let d_in = match comp.d_input {
        Some(d) => d,
        None if kind.input() == Input::Vectors && !kind.roles().contains(&Role::Decoder) => {
            return Err(missing(
                "input width (a feature before it has no known width)",
            ));
        }
        None => 0,
    };
    // Output layers and decoders: the label count of the task type of their tasks (one type,
    // polytag-config checks it).
    let n_labels = users
        .iter()
        .find_map(|&t| labels.get(t).copied().flatten())
        .map_or(0, |l| l.labels.len());
    let vocab = || inputs.vocab_sizes.get(&i).copied().filter(|&v| v > 0);
    let chars = || Some(inputs.char_vocab_size).filter(|&v| v > 0);
    Ok(match &comp.kind {
        ComponentKind::Embedding(spec) => {
            let vocab = vocab().ok_or_else(|| missing("vocabulary size"))?;
            let pretrained = inputs.pretrained.get(&i).cloned();
            if spec.file.is_some() && pretrained.is_none() {
                return Err(missing("pretrained vectors (the component names a file)"));
            }
            ComponentConfig::Embedding {
                config: TokenEmbeddingConfig::new(vocab, spec.dimension)
                    .with_trainable(spec.trainable),
                pretrained,
            }
        }
        ComponentKind::FeatureEmbedding(spec) => {
            let vocab = vocab().ok_or_else(|| missing("vocabulary size"))?;
            ComponentConfig::FeatureEmbedding {
                config: TokenEmbeddingConfig::new(vocab, spec.dimension),
            }
        }
        ComponentKind::CharCnn(spec) => {
            let v = chars().ok_or_else(|| missing("char vocabulary size"))?;
            ComponentConfig::CharCnn(
                CharCnnConfig::new(v, spec.dimension, spec.filters.clone())
                    .with_activation(spec.activation),
            )
        }
        ComponentKind::CharRnn(spec) => {
            let v = chars().ok_or_else(|| missing("char vocabulary size"))?;
            ComponentConfig::CharRnn(
                CharRnnConfig::new(v, spec.dimension, spec.hidden_size)
                    .with_cell(spec.cell)
                    .with_bidirectional(spec.bidirectional),
            )
        }
        ComponentKind::Highway(spec) => ComponentConfig::Highway(
            HighwayConfig::new(d_in)
                .with_num_layers(spec.num_layers)
                .with_activation(spec.activation),
        ),
        ComponentKind::Lstm(spec) | ComponentKind::Gru(spec) | ComponentKind::Rnn(spec) => {
            let Some(c) = kind.cell() else {
                return Err(vec![ModelError::Unsupported {
                    path,
                    kind: kind.as_str(),
                }]);
            };
            ComponentConfig::Recurrent(
                RecurrentConfig::new(d_in, spec.hidden_size, c)
                    .with_num_layers(spec.num_layers)
                    .with_bidirectional(spec.bidirectional)
                    .with_dropout(spec.dropout)
                    .with_forget_bias(if c == Cell::Lstm {
                        spec.forget_bias
                    } else {
                        0.0
                    }),
            )
        }
        ComponentKind::Attention(spec) => ComponentConfig::Attention(
            AttentionConfig::new(d_in)
                .with_heads(spec.heads)
                .with_scoring(spec.scoring)
                .with_ffn_size(spec.ffn_size)
                .with_dropout(spec.dropout)
                .with_num_layers(spec.num_layers),
        ),
        ComponentKind::Transformer(spec) => {
            ComponentConfig::Transformer(transformer_config(&path, comp, spec, inputs, i)?)
        }
        ComponentKind::Linear(spec) => ComponentConfig::Linear(
            OutputLayerConfig::new(d_in, n_labels)
                .with_hidden(spec.hidden)
                .with_activation(spec.activation),
        ),
        ComponentKind::Crf(spec) => {
            let constraints = match spec.constraints {
                Constraints::None => None,
                Constraints::Scheme => {
                    Some(crf_constraints(&path, &comp.name, users, labels).map_err(|e| vec![e])?)
                }
            };
            ComponentConfig::Crf {
                config: CrfConfig::new(n_labels),
                constraints,
            }
        }
        ComponentKind::Softmax(spec) => {
            let weights = match &spec.class_weights {
                ClassWeights::None => None,
                ClassWeights::List(w) => Some(w.iter().map(|&x| x as f32).collect()),
                ClassWeights::InverseFreq => Some(
                    inverse_freq(n_labels, users, labels)
                        .ok_or_else(|| missing("label counts (class_weights: inverse_freq)"))?,
                ),
            };
            ComponentConfig::Softmax(SoftmaxConfig::new(n_labels).with_class_weights(weights))
        }
    })
}

/// 1 / training frequency per label (summed over the tasks sharing the decoder), normalised
/// to mean 1; a label never seen counts as seen once. `None` without counts.
fn inverse_freq(n: usize, users: &[usize], labels: &[Option<&TaskLabels>]) -> Option<Vec<f32>> {
    let mut counts = vec![0usize; n];
    let mut any = false;
    for &t in users {
        if let Some(Some(l)) = labels.get(t) {
            for (c, &k) in counts.iter_mut().zip(&l.counts) {
                *c += k;
                any = true;
            }
        }
    }
    if !any {
        return None;
    }
    let inv: Vec<f64> = counts.iter().map(|&c| 1.0 / c.max(1) as f64).collect();
    let mean = inv.iter().sum::<f64>() / n.max(1) as f64;
    Some(inv.iter().map(|w| (w / mean) as f32).collect())
}

/// Scheme constraints of a CRF from the label set and scheme of the tasks using it, which
/// must agree on one scheme.
fn crf_constraints(
    path: &str,
    name: &str,
    users: &[usize],
    labels: &[Option<&TaskLabels>],
) -> Result<CrfConstraints> {
    let mut chosen: Option<(usize, &TaskLabels, Scheme)> = None;
    for &t in users {
        let Some(Some(l)) = labels.get(t) else {
            continue;
        };
        let Some(scheme) = l.scheme else {
            return Err(ModelError::NoScheme {
                path: path.to_string(),
                name: name.to_string(),
                task: t,
            });
        };
        match chosen {
            None => chosen = Some((t, l, scheme)),
            Some((t0, _, s0)) if s0 != scheme => {
                return Err(ModelError::SchemeMismatch {
                    path: path.to_string(),
                    first: s0.name(),
                    first_task: t0,
                    second: scheme.name(),
                    second_task: t,
                });
            }
            Some(_) => {}
        }
    }
    let Some((_, l, scheme)) = chosen else {
        return Err(ModelError::MissingInput {
            path: path.to_string(),
            name: name.to_string(),
            what: "label set",
        });
    };
    scheme_constraints(&l.labels, scheme, path)
}

/// Which moves a tag scheme allows between the given labels (polytag-data's
/// [`transition_allowed`]): a label may start a sentence if it may follow "nothing", end one
/// if `O` may follow it. Plain (non-chunk) labels count as `O`.
///
/// # Errors
/// [`ModelError::SchemeLabel`] for a chunk tag the scheme does not have (`E-PER` in BIO).
pub fn scheme_constraints(labels: &[String], scheme: Scheme, path: &str) -> Result<CrfConstraints> {
    let tags: Vec<Tag<'_>> = labels.iter().map(|l| Tag::parse(l)).collect();
    for (label, tag) in labels.iter().zip(&tags) {
        if let Some(prefix) = tag.prefix() {
            if !scheme.allows(prefix) {
                return Err(ModelError::SchemeLabel {
                    path: path.to_string(),
                    label: label.clone(),
                    scheme: scheme.name(),
                });
            }
        }
    }
    let transitions = tags
        .iter()
        .flat_map(|from| {
            tags.iter()
                .map(move |to| transition_allowed(scheme, Some(from), to))
        })
        .collect();
    let starts = tags
        .iter()
        .map(|to| transition_allowed(scheme, None, to))
        .collect();
    let ends = tags
        .iter()
        .map(|from| transition_allowed(scheme, Some(from), &Tag::Outside))
        .collect();
    CrfConstraints::new(labels.len(), transitions, starts, ends, path)
}

#[cfg(test)]
mod tests;

/// The encoder of a `transformer` component: sizes from the pretrained `config.json` (the
/// model folder or a run's copy) or the scratch options with the tokenizer's vocabulary,
/// dropout from the component, weights only for a new run of a pretrained model.
fn transformer_config(
    path: &str,
    comp: &polytag_config::Component,
    spec: &TransformerSpec,
    inputs: &BuildInputs,
    i: usize,
) -> std::result::Result<TransformerFeatureConfig, Vec<ModelError>> {
    let missing = |what: &'static str| {
        vec![ModelError::MissingInput {
            path: path.to_string(),
            name: comp.name.clone(),
            what,
        }]
    };
    let mut model = match &spec.source {
        TransformerSource::Pretrained(_) => {
            let dir = spec
                .files
                .model_dir
                .as_ref()
                .ok_or_else(|| missing("model folder (config.json)"))?;
            HfModelConfig::read(dir).map_err(|e| {
                vec![ModelError::TransformerConfig {
                    path: format!("{path}.pretrained"),
                    message: e.to_string(),
                }]
            })?
        }
        TransformerSource::Scratch {
            layers,
            heads,
            hidden,
            ffn_size,
        } => {
            let vocab = inputs
                .vocab_sizes
                .get(&i)
                .copied()
                .ok_or_else(|| missing("sub-word vocabulary size"))?;
            let mut m =
                HfModelConfig::scratch(*layers, *heads, *hidden, *ffn_size, vocab, spec.max_len);
            m.pad_token_id = inputs.subword_pad.get(&i).map_or(0, |&p| p as usize);
            m
        }
    };
    model.hidden_dropout_prob = spec.dropout;
    model.attention_probs_dropout_prob = spec.dropout;
    let weights = match &spec.source {
        TransformerSource::Pretrained(_) if inputs.load_pretrained => spec.files.weights.clone(),
        _ => None,
    };
    Ok(TransformerFeatureConfig {
        model,
        pooling: spec.pooling,
        freeze: spec.freeze,
        weights,
    })
}
