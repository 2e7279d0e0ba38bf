//! A component of any kind: [`ComponentConfig`] (what to build, sizes already inferred) and
//! [`Component`] (the built module, one entry of the model's `components` list).
//!
//! Each config component becomes exactly one [`Component`], built once, however many tasks
//! use it: sharing is by position in the model tree, never by cloning a module (a clone is a
//! separate copy once trained, burn-0.22-notes §2).
//!
//! This file is the model's one table of kinds: what each builds to ([`ComponentConfig::init`]),
//! its own size checks, and how it runs in each role it can fill ([`Component::feature`],
//! [`Component::char_highway`], [`Component::encode`]); which roles a kind may fill is polytag-config's registry
//! ([`Kind::roles`]). `crates/polytag-model/README.md` walks through adding a kind.

use burn::module::Module;
use burn::prelude::*;
use polytag_config::Kind;

use crate::attention::{AttentionConfig, SelfAttention};
use crate::char_cnn::{CharCnn, CharCnnConfig};
use crate::char_rnn::{CharRnn, CharRnnConfig};
use crate::crf::{Crf, CrfConfig, CrfConstraints};
use crate::embedding::{TokenEmbedding, TokenEmbeddingConfig};
use crate::error::{ModelError, Result};
use crate::highway::{Highway, HighwayConfig};
use crate::input::InputStream;
use crate::linear::{OutputLayer, OutputLayerConfig};
use crate::rnn::{CellExt, Recurrent, RecurrentConfig};
use crate::softmax::{SoftmaxConfig, SoftmaxDecoder};
use crate::transformer_feature::{TransformerFeature, TransformerFeatureConfig};

/// What to build for one component, all sizes known.
#[derive(Clone, Debug)]
pub enum ComponentConfig {
    /// Word embedding, random or from pretrained vectors (`[vocab, dim]` row-major).
    Embedding {
        /// Table sizes and trainability.
        config: TokenEmbeddingConfig,
        /// Initial vectors, if a file was given.
        pretrained: Option<Vec<f32>>,
    },
    /// Embedding of an extra input column (the data layer encodes the column into the
    /// task's input stream for this feature).
    FeatureEmbedding {
        /// Table sizes and trainability.
        config: TokenEmbeddingConfig,
    },
    /// Char CNN.
    CharCnn(CharCnnConfig),
    /// Char RNN.
    CharRnn(CharRnnConfig),
    /// Highway layers.
    Highway(HighwayConfig),
    /// LSTM / GRU / RNN stack.
    Recurrent(RecurrentConfig),
    /// Self-attention blocks.
    Attention(AttentionConfig),
    /// Output layer.
    Linear(OutputLayerConfig),
    /// CRF decoder.
    Crf {
        /// Label count.
        config: CrfConfig,
        /// Scheme constraints, if asked for.
        constraints: Option<CrfConstraints>,
    },
    /// Softmax decoder.
    Softmax(SoftmaxConfig),
    /// BERT-style encoder read per word.
    Transformer(TransformerFeatureConfig),
}

/// A built component.
#[derive(Module, Debug)]
#[allow(missing_docs)]
// each variant holds the module of the same name
// one per model component, built once: the size of the enum does not matter
#[allow(clippy::large_enum_variant)]
pub enum Component {
    Embedding(TokenEmbedding),
    FeatureEmbedding(TokenEmbedding),
    CharCnn(CharCnn),
    CharRnn(CharRnn),
    Highway(Highway),
    Recurrent(Recurrent),
    Attention(SelfAttention),
    Linear(OutputLayer),
    Crf(Crf),
    Softmax(SoftmaxDecoder),
    Transformer(TransformerFeature),
}

impl ComponentConfig {
    /// The config kind (`lstm`, `gru`, `rnn` for the recurrent stack, by its cell).
    pub fn kind(&self) -> Kind {
        match self {
            ComponentConfig::Embedding { .. } => Kind::Embedding,
            ComponentConfig::FeatureEmbedding { .. } => Kind::FeatureEmbedding,
            ComponentConfig::CharCnn(_) => Kind::CharCnn,
            ComponentConfig::CharRnn(_) => Kind::CharRnn,
            ComponentConfig::Highway(_) => Kind::Highway,
            ComponentConfig::Recurrent(c) => c.cell.kind(),
            ComponentConfig::Attention(_) => Kind::Attention,
            ComponentConfig::Linear(_) => Kind::Linear,
            ComponentConfig::Crf { .. } => Kind::Crf,
            ComponentConfig::Softmax(_) => Kind::Softmax,
            ComponentConfig::Transformer(_) => Kind::Transformer,
        }
    }

    /// Input width it expects, for components that read vectors.
    pub fn d_input(&self) -> Option<usize> {
        match self {
            ComponentConfig::Highway(c) => Some(c.d_model),
            ComponentConfig::Recurrent(c) => Some(c.d_input),
            ComponentConfig::Attention(c) => Some(c.d_model),
            ComponentConfig::Linear(c) => Some(c.d_input),
            _ => None,
        }
    }

    /// Output width (label count for decoders).
    pub fn d_output(&self) -> usize {
        match self {
            ComponentConfig::Embedding { config, .. }
            | ComponentConfig::FeatureEmbedding { config, .. } => config.dimension,
            ComponentConfig::CharCnn(c) => c.d_output(),
            ComponentConfig::CharRnn(c) => c.d_output(),
            ComponentConfig::Highway(c) => c.d_model,
            ComponentConfig::Recurrent(c) => c.d_output(),
            ComponentConfig::Attention(c) => c.d_model,
            ComponentConfig::Linear(c) => c.d_output,
            ComponentConfig::Crf { config, .. } => config.num_labels,
            ComponentConfig::Softmax(c) => c.num_labels,
            ComponentConfig::Transformer(c) => c.d_output(),
        }
    }

    /// Every problem with the sizes and options of this component alone; `path` is its config
    /// path (`components[3]`).
    pub fn check(&self, path: &str) -> Vec<ModelError> {
        let mut errors = Vec::new();
        let mut positive = |v: usize, what: &'static str| {
            if v == 0 {
                errors.push(ModelError::ZeroSize {
                    path: path.to_string(),
                    what,
                });
            }
        };
        match self {
            ComponentConfig::Embedding { config, .. }
            | ComponentConfig::FeatureEmbedding { config, .. } => {
                positive(config.vocab_size, "vocabulary size");
                positive(config.dimension, "dimension");
            }
            ComponentConfig::CharCnn(c) => {
                positive(c.vocab_size, "char vocabulary size");
                positive(c.dimension, "dimension");
                positive(c.filters.len(), "number of filters");
                for &(w, n) in &c.filters {
                    positive(w, "filter width");
                    positive(n, "filter count");
                }
            }
            ComponentConfig::CharRnn(c) => {
                positive(c.vocab_size, "char vocabulary size");
                positive(c.dimension, "dimension");
                positive(c.hidden_size, "hidden_size");
            }
            ComponentConfig::Highway(c) => {
                positive(c.d_model, "input dimension");
                positive(c.num_layers, "num_layers");
            }
            ComponentConfig::Recurrent(c) => {
                positive(c.d_input, "input dimension");
                positive(c.d_hidden, "hidden_size");
                positive(c.num_layers, "num_layers");
                dropout(&mut errors, path, c.dropout);
                if c.cell != crate::rnn::Cell::Lstm && c.forget_bias != 0.0 {
                    errors.push(ModelError::UnusedOption {
                        path: path.to_string(),
                        option: "forget_bias",
                        kind: c.cell.name(),
                    });
                }
            }
            ComponentConfig::Attention(c) => {
                positive(c.d_model, "input dimension");
                positive(c.heads, "heads");
                positive(c.ffn_size, "ffn_size");
                positive(c.num_layers, "num_layers");
                dropout(&mut errors, path, c.dropout);
                if c.heads > 0 && c.d_model % c.heads != 0 {
                    errors.push(ModelError::HeadsNotDivisible {
                        path: path.to_string(),
                        dimension: c.d_model,
                        heads: c.heads,
                    });
                }
            }
            ComponentConfig::Linear(c) => {
                positive(c.d_input, "input dimension");
                positive(c.d_output, "label count");
                if let Some(h) = c.hidden {
                    positive(h, "hidden");
                }
            }
            ComponentConfig::Crf {
                config,
                constraints,
            } => {
                positive(config.num_labels, "label count");
                if let Some(c) = constraints {
                    if c.num_labels() != config.num_labels {
                        errors.push(ModelError::Constraints {
                            path: path.to_string(),
                            expected: config.num_labels,
                            found: c.num_labels(),
                        });
                    }
                }
            }
            ComponentConfig::Softmax(c) => {
                positive(c.num_labels, "label count");
                if let Some(w) = &c.class_weights {
                    if w.len() != c.num_labels {
                        errors.push(ModelError::DimensionMismatch {
                            path: path.to_string(),
                            what: "number of class weights",
                            expected: c.num_labels,
                            found: w.len(),
                        });
                    }
                }
            }
            ComponentConfig::Transformer(c) => {
                positive(c.model.vocab_size, "sub-word vocabulary size");
                positive(c.model.hidden_size, "hidden");
                positive(c.model.num_hidden_layers, "layers");
                positive(c.model.num_attention_heads, "heads");
                dropout(&mut errors, path, c.model.hidden_dropout_prob);
                if c.model.num_attention_heads > 0
                    && c.model.hidden_size % c.model.num_attention_heads != 0
                {
                    errors.push(ModelError::HeadsNotDivisible {
                        path: path.to_string(),
                        dimension: c.model.hidden_size,
                        heads: c.model.num_attention_heads,
                    });
                }
            }
        }
        errors
    }

    /// Builds the module. Call [`Self::check`] first: sizes are trusted here.
    ///
    /// # Errors
    /// [`ModelError::PretrainedShape`] / [`ModelError::Constraints`] (named by `path`).
    pub fn init(self, path: &str, device: &Device) -> Result<Component> {
        Ok(match self {
            ComponentConfig::Embedding {
                config,
                pretrained: Some(v),
            } => Component::Embedding(config.init_pretrained(v, path, device)?),
            ComponentConfig::Embedding {
                config,
                pretrained: None,
            } => Component::Embedding(config.init(device)),
            ComponentConfig::FeatureEmbedding { config, .. } => {
                Component::FeatureEmbedding(config.init(device))
            }
            ComponentConfig::CharCnn(c) => Component::CharCnn(c.init(device)),
            ComponentConfig::CharRnn(c) => Component::CharRnn(c.init(device)),
            ComponentConfig::Highway(c) => Component::Highway(c.init(device)),
            ComponentConfig::Recurrent(c) => Component::Recurrent(c.init(device)),
            ComponentConfig::Attention(c) => Component::Attention(c.init(device)),
            ComponentConfig::Linear(c) => Component::Linear(c.init(device)),
            ComponentConfig::Crf {
                config,
                constraints,
            } => {
                let crf = config.init(device);
                Component::Crf(match constraints {
                    Some(c) => crf.with_constraints(c, path)?,
                    None => crf,
                })
            }
            ComponentConfig::Softmax(c) => Component::Softmax(c.init()),
            ComponentConfig::Transformer(c) => Component::Transformer(c.init(device)?),
        })
    }
}

fn dropout(errors: &mut Vec<ModelError>, path: &str, p: f64) {
    if !(0.0..1.0).contains(&p) {
        errors.push(ModelError::Dropout {
            path: path.to_string(),
            value: p,
        });
    }
}

impl Component {
    /// The config kind (`lstm`, `gru`, `rnn` for a recurrent stack, by its cell).
    pub fn kind(&self) -> Kind {
        match self {
            Component::Embedding(_) => Kind::Embedding,
            Component::FeatureEmbedding(_) => Kind::FeatureEmbedding,
            Component::CharCnn(_) => Kind::CharCnn,
            Component::CharRnn(_) => Kind::CharRnn,
            Component::Highway(_) => Kind::Highway,
            Component::Recurrent(r) => r.cell().kind(),
            Component::Attention(_) => Kind::Attention,
            Component::Linear(_) => Kind::Linear,
            Component::Crf(_) => Kind::Crf,
            Component::Softmax(_) => Kind::Softmax,
            Component::Transformer(_) => Kind::Transformer,
        }
    }

    /// As a feature: one vector per word `[B, T, D]` from its input stream (`mask` `[B, T]`).
    /// `None` for a kind that is not a feature, `Err(what it reads)` for a stream of the
    /// wrong kind.
    pub fn feature(
        &self,
        input: &InputStream,
        mask: &Tensor<2>,
    ) -> Option<std::result::Result<Tensor<3>, &'static str>> {
        Some(match (self, input) {
            (
                Component::Embedding(e) | Component::FeatureEmbedding(e),
                InputStream::Tokens(ids),
            ) => Ok(e.forward(ids.clone())),
            (Component::CharCnn(c), InputStream::Chars(ids)) => {
                Ok(c.forward(ids.clone(), mask.clone()))
            }
            (Component::CharRnn(c), InputStream::Chars(ids)) => {
                Ok(c.forward(ids.clone(), mask.clone()))
            }
            (Component::Transformer(t), InputStream::Subwords(sub)) => Ok(t.forward(sub)),
            (Component::Embedding(_) | Component::FeatureEmbedding(_), _) => Err("token ids"),
            (Component::Transformer(_), _) => Err("sub-word windows"),
            (Component::CharCnn(_) | Component::CharRnn(_), _) => Err("character ids"),
            _ => return None,
        })
    }

    /// As a char highway: a character feature's word vectors `[B, T, D]` mapped position by
    /// position (padded positions are zeroed with the concatenated features). `None` for a
    /// kind that cannot fill that slot.
    pub fn char_highway(&self, x: Tensor<3>) -> Option<Tensor<3>> {
        match self {
            Component::Highway(h) => Some(h.forward(x)),
            _ => None,
        }
    }

    /// As an encoder: word vectors `[B, T, D]` to word vectors, padded positions zero (`mask`
    /// `[B, T]`). `None` for a kind that is not an encoder.
    pub fn encode(&self, x: Tensor<3>, mask: &Tensor<2>) -> Option<Tensor<3>> {
        Some(match self {
            Component::Recurrent(r) => r.forward(x, mask.clone()),
            Component::Attention(a) => a.forward(x, mask.clone()),
            Component::Highway(h) => h.forward(x) * mask.clone().unsqueeze_dim::<3>(2),
            _ => return None,
        })
    }
}
