//! The registry of component kinds: one line per kind says its config name, its checked spec,
//! its written form, what it reads and which task slots it may fill. Everything that lists
//! the kinds ([`Kind`], [`ComponentKind`], [`RawComponentKind`], the name table, the slot
//! rules, dispatch of resolution, write-back and output widths) is generated from that list,
//! so a new kind is one line here plus its spec (with its [`Spec`] and [`Width`] impls) and
//! its raw struct.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::raw::*;
use super::spec::*;
use crate::resolve::Ctx;

/// What a task uses a component for: the slot it fills decides which sizes flow into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Turns a sentence into one vector per word (`features`, `word_embed`, `char_embed`).
    Feature,
    /// Works on a character feature's output (`char_highway`).
    CharHighway,
    /// Maps word vectors to word vectors (`encoders`, `lstm`).
    Encoder,
    /// Maps word vectors to label scores (`univ_layer`, `spec_layer`).
    Output,
    /// Scores and decodes label sequences (`decoder`, `crf`).
    Decoder,
}

/// What a component reads: for features, which id stream of a sentence the data layer must
/// encode for it (polytag-data's `InputVocab`); for the others, the previous layer's vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Input {
    /// One id per word, from the component's own word vocabulary.
    Words,
    /// The characters of each word, from the shared character vocabulary.
    Chars,
    /// One id per word from an extra file column, from the component's own value vocabulary.
    Column,
    /// Sub-word pieces of each word (a transformer's tokenizer).
    Subwords,
    /// Vectors from the layer before it (encoders, output layers, decoders).
    Vectors,
}

/// The checked options of one kind, read from its written form `Raw` (defaults filled,
/// every problem reported to `ctx` with its config path) and written back with every default
/// spelled out.
pub(crate) trait Spec<Raw>: Sized {
    /// Checks `raw` (the component at config path `at`, e.g. `components[3]`). `None` when the
    /// options cannot be used at all (a path that does not expand); problems that still leave
    /// a usable value are reported and a value is returned, so later checks can run.
    fn resolve(raw: &Raw, at: &str, ctx: &mut Ctx<'_>) -> Option<Self>;
    /// The written form, every default spelled out.
    fn to_raw(&self) -> Raw;
}

/// Output widths, where they follow from the options alone.
pub(crate) trait Width {
    /// Width of the vectors a feature produces (`None`: not a feature, or not known before
    /// loading, as for a pretrained transformer).
    fn d_feature(&self) -> Option<usize> {
        None
    }
    /// Output width of an encoder given its input width (`None`: not an encoder).
    fn d_encoded(&self, _d_input: usize) -> Option<usize> {
        None
    }
    /// A problem with receiving vectors of width `d_input` (attention heads must divide it).
    fn check_input(&self, _d_input: usize) -> Result<(), String> {
        Ok(())
    }
}

macro_rules! kinds {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $spec:ty, $raw:ident, reads $input:ident, roles [$($role:ident),*];
    )*) => {
        /// The kind of a component: its `model` key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }

        impl Kind {
            /// Every kind, in the order of design.md §3.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The name written in configs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// The task slots a component of this kind may fill.
            pub fn roles(self) -> &'static [Role] {
                match self {
                    $(Kind::$variant => &[$(Role::$role),*],)*
                }
            }

            /// What a component of this kind reads.
            pub fn input(self) -> Input {
                match self {
                    $(Kind::$variant => Input::$input,)*
                }
            }
        }

        /// Kind and checked options of a component.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)] // each variant is documented by its spec
        pub enum ComponentKind {
            $($variant($spec),)*
        }

        impl ComponentKind {
            /// The kind.
            pub fn kind(&self) -> Kind {
                match self {
                    $(ComponentKind::$variant(_) => Kind::$variant,)*
                }
            }

            /// Output width of a component that reads ids (embeddings, char encoders,
            /// transformers): `None` for the others and for pretrained transformers.
            pub fn d_feature(&self) -> Option<usize> {
                match self {
                    $(ComponentKind::$variant(spec) => Width::d_feature(spec),)*
                }
            }

            /// Output width of an encoder given its input width (`None` for non-encoders).
            pub fn d_encoded(&self, d_input: usize) -> Option<usize> {
                match self {
                    $(ComponentKind::$variant(spec) => Width::d_encoded(spec, d_input),)*
                }
            }

            /// A problem with receiving vectors of width `d_input`, as a message.
            ///
            /// # Errors
            /// The message, e.g. attention heads that do not divide the width.
            pub fn check_input(&self, d_input: usize) -> Result<(), String> {
                match self {
                    $(ComponentKind::$variant(spec) => Width::check_input(spec, d_input),)*
                }
            }

            /// Checks the written options of the component at `at`.
            pub(crate) fn resolve(
                raw: &RawComponentKind,
                at: &str,
                ctx: &mut Ctx<'_>,
            ) -> Option<ComponentKind> {
                Some(match raw {
                    $(RawComponentKind::$variant(r) => {
                        ComponentKind::$variant(<$spec as Spec<$raw>>::resolve(r, at, ctx)?)
                    })*
                })
            }

            /// The written form, every default spelled out.
            pub fn to_raw(&self) -> RawComponentKind {
                match self {
                    $(ComponentKind::$variant(spec) => {
                        RawComponentKind::$variant(<$spec as Spec<$raw>>::to_raw(spec))
                    })*
                }
            }
        }

        /// The options of each kind as written, tagged by `model`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(tag = "model", rename_all = "snake_case")]
        #[allow(missing_docs)] // each variant is documented by its struct
        pub enum RawComponentKind {
            $($variant($raw),)*
        }

        impl RawComponentKind {
            /// The kind.
            pub fn kind(&self) -> Kind {
                match self {
                    $(RawComponentKind::$variant(_) => Kind::$variant,)*
                }
            }
        }

        /// The field names of `kind`'s raw struct, for unknown-key checks.
        pub(crate) fn fields(kind: Kind) -> &'static [&'static str] {
            match kind {
                $(Kind::$variant => crate::json::fields_of::<$raw>(),)*
            }
        }

        /// Deserializes the options of `kind` from `value` (an object without `name` and
        /// `model`), going through the variant's own struct so an error names the nested key.
        pub(crate) fn parse_kind(
            kind: Kind,
            value: Value,
        ) -> Result<RawComponentKind, serde_path_to_error::Error<serde_json::Error>> {
            Ok(match kind {
                $(Kind::$variant => RawComponentKind::$variant(serde_path_to_error::deserialize(value)?),)*
            })
        }
    };
}

kinds! {
    /// Word embedding table (one per language).
    Embedding = "embedding", EmbeddingSpec, RawEmbedding, reads Words, roles [Feature];
    /// Character CNN with max-over-time pooling.
    CharCnn = "char_cnn", CharCnnSpec, RawCharCnn, reads Chars, roles [Feature];
    /// Character BiLSTM/BiGRU, final states concatenated.
    CharRnn = "char_rnn", CharRnnSpec, RawCharRnn, reads Chars, roles [Feature];
    /// Highway layers.
    Highway = "highway", HighwaySpec, RawHighway, reads Vectors, roles [CharHighway, Encoder];
    /// Embedding of an extra input column (e.g. POS tags).
    FeatureEmbedding = "feature_embedding", FeatureEmbeddingSpec, RawFeatureEmbedding, reads Column, roles [Feature];
    /// LSTM encoder.
    Lstm = "lstm", RnnSpec, RawLstm, reads Vectors, roles [Encoder];
    /// GRU encoder.
    Gru = "gru", RnnSpec, RawRecurrent, reads Vectors, roles [Encoder];
    /// Elman (tanh) RNN encoder.
    Rnn = "rnn", RnnSpec, RawRecurrent, reads Vectors, roles [Encoder];
    /// Masked multi-head self-attention block.
    Attention = "attention", AttentionSpec, RawAttention, reads Vectors, roles [Encoder];
    /// BERT-style encoder.
    Transformer = "transformer", TransformerSpec, RawTransformer, reads Subwords, roles [Feature];
    /// Output layer (universal or language-specific).
    Linear = "linear", LinearSpec, RawLinear, reads Vectors, roles [Output];
    /// Linear-chain CRF decoder.
    Crf = "crf", CrfSpec, RawCrf, reads Vectors, roles [Decoder];
    /// Per-token softmax decoder.
    Softmax = "softmax", SoftmaxSpec, RawSoftmax, reads Vectors, roles [Decoder];
}

impl Kind {
    /// The kind written as `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// Every kind that may fill `role`, in [`Kind::ALL`] order.
    pub fn with_role(role: Role) -> Vec<Kind> {
        Kind::ALL
            .iter()
            .copied()
            .filter(|k| k.roles().contains(&role))
            .collect()
    }

    /// `crf`, `crf or softmax`, `lstm, gru or rnn`: the kinds as a message lists them.
    pub fn list(kinds: &[Kind]) -> String {
        let mut out = String::new();
        for (i, kind) in kinds.iter().enumerate() {
            if i > 0 {
                out.push_str(if i + 1 == kinds.len() { " or " } else { ", " });
            }
            out.push_str(kind.as_str());
        }
        out
    }

    /// The recurrent cell of `lstm`, `gru`, `rnn`.
    pub fn cell(self) -> Option<Cell> {
        match self {
            Kind::Lstm => Some(Cell::Lstm),
            Kind::Gru => Some(Cell::Gru),
            Kind::Rnn => Some(Cell::Rnn),
            _ => None,
        }
    }
}

impl Cell {
    /// The component kind of a recurrent stack with this cell.
    pub fn kind(self) -> Kind {
        match self {
            Cell::Lstm => Kind::Lstm,
            Cell::Gru => Kind::Gru,
            Cell::Rnn => Kind::Rnn,
        }
    }
}
