//! The checked options of each component kind, defaults filled in, and the enums they use.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Non-linearity of char CNNs, highway layers and MLP output layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
    /// Scaled ELU (the paper's highway).
    Selu,
}

/// Recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit.
    Gru,
    /// Elman RNN with tanh.
    Rnn,
}

/// Attention score function (seed-systems B.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Q Kᵀ.
    Dot,
    /// Q Kᵀ / √d_k.
    ScaledDot,
    /// Row-normalised Q and K: scores in [-1, 1].
    Cosine,
    /// Q W Kᵀ with one learned d_k × d_k matrix shared by the heads.
    General,
}

/// Where the paper puts a layer (`position`): read to check it agrees with the slot the layer
/// is wired into, since in polytag the slot decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// On the character representation (the paper's char highway).
    Char,
    /// On word representations (a highway among a tagger's encoders).
    Word,
    /// The output layer.
    Output,
}

/// Transition constraints of a CRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Constraints {
    /// Every transition allowed (the paper, seed A).
    None,
    /// Only transitions valid in the tag scheme of the labels (seed A′ for BIOES).
    Scheme,
}

/// Per-class loss weights of a softmax decoder: `"none"`, `"inverse_freq"` or a list.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeights {
    /// All 1.
    None,
    /// 1 / training frequency of the label, normalised to mean 1.
    InverseFreq,
    /// One weight per label, in label-vocabulary order.
    List(Vec<f64>),
}

impl Serialize for ClassWeights {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ClassWeights::None => serializer.serialize_str("none"),
            ClassWeights::InverseFreq => serializer.serialize_str("inverse_freq"),
            ClassWeights::List(weights) => weights.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ClassWeights {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WeightsVisitor;
        impl<'de> serde::de::Visitor<'de> for WeightsVisitor {
            type Value = ClassWeights;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"none\", \"inverse_freq\" or a list of numbers")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ClassWeights, E> {
                match v {
                    "none" => Ok(ClassWeights::None),
                    "inverse_freq" => Ok(ClassWeights::InverseFreq),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ClassWeights, A::Error> {
                let mut weights = Vec::new();
                while let Some(w) = seq.next_element::<f64>()? {
                    weights.push(w);
                }
                Ok(ClassWeights::List(weights))
            }
        }
        deserializer.deserialize_any(WeightsVisitor)
    }
}

/// Word embedding table: one per language (its vocabulary is the language's).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingSpec {
    /// Vector width; default 100 (the paper's scripts; its example config uses 50).
    pub dimension: usize,
    /// Pretrained vectors (word2vec text, optionally .gz); absent = random init.
    pub file: Option<PathBuf>,
    /// Whether the file starts with a `count dim` header; `None` = detect.
    pub stats: Option<bool>,
    /// Updated by training; default true.
    pub trainable: bool,
    /// Lower-case every token before lookup (the paper's old path); default false: the
    /// lookup falls back exact → lowercase → digits→0 instead (seed-systems A′.1).
    pub lowercase: bool,
    /// The language it is for, if declared; tasks of another language may not use it.
    pub language: Option<String>,
}

/// Character CNN (seed-systems A.2).
#[derive(Debug, Clone, PartialEq)]
pub struct CharCnnSpec {
    /// Character vector width; default 50.
    pub dimension: usize,
    /// `(width, count)` per convolution; default `[[2,25],[3,25],[4,25]]` (the scripts).
    pub filters: Vec<(usize, usize)>,
    /// After the convolution; default relu (A; A′ uses tanh).
    pub activation: Activation,
}

impl CharCnnSpec {
    /// Output width: the sum of the filter counts.
    pub fn d_output(&self) -> usize {
        self.filters.iter().map(|&(_, count)| count).sum()
    }

    /// The widest filter: words are padded to at least this many characters.
    pub fn max_width(&self) -> usize {
        self.filters
            .iter()
            .map(|&(width, _)| width)
            .max()
            .unwrap_or(1)
    }
}

/// Character RNN: final states of both directions (seed-systems B.2's char part).
#[derive(Debug, Clone, PartialEq)]
pub struct CharRnnSpec {
    /// Character vector width; default 30 (seed B).
    pub dimension: usize,
    /// Hidden size per direction; default 24 (seed B: 48 with both directions).
    pub hidden_size: usize,
    /// Default lstm.
    pub cell: Cell,
    /// Default true.
    pub bidirectional: bool,
}

impl CharRnnSpec {
    /// Output width.
    pub fn d_output(&self) -> usize {
        self.hidden_size * if self.bidirectional { 2 } else { 1 }
    }
}

/// Highway layers: x ← g·f(W_t x) + (1−g)·x (seed-systems A.2).
#[derive(Debug, Clone, PartialEq)]
pub struct HighwaySpec {
    /// Default 2 (the paper's old scripts hard-wire 2 × SELU).
    pub num_layers: usize,
    /// Default selu.
    pub activation: Activation,
    /// As written, if written; checked against the slot it fills.
    pub position: Option<Position>,
}

/// Embedding of an extra input column.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureEmbeddingSpec {
    /// 0-based column of the dataset files (CoNLL-U: of the 10 fields).
    pub column: usize,
    /// Vector width; default 32 (seed B's PoS part).
    pub dimension: usize,
}

/// `lstm`, `gru`, `rnn`.
#[derive(Debug, Clone, PartialEq)]
pub struct RnnSpec {
    /// Per direction; default 100 (the scripts; the paper's example uses 171).
    pub hidden_size: usize,
    /// Default 1.
    pub num_layers: usize,
    /// Default true.
    pub bidirectional: bool,
    /// Between layers (so only with `num_layers` ≥ 2); default 0.
    pub dropout: f64,
    /// Added once to the forget-gate bias; default 1.0 (the paper's example). The paper's code
    /// added it to both bias vectors, i.e. twice (A.2 \[QUIRK\]); write 2.0 to reproduce that.
    /// Always 0 for `gru` and `rnn`, which have no forget gate.
    pub forget_bias: f64,
}

impl RnnSpec {
    /// Output width.
    pub fn d_output(&self) -> usize {
        self.hidden_size * if self.bidirectional { 2 } else { 1 }
    }
}

/// Self-attention block with residual and post-LayerNorm, then an FFN sub-layer
/// (seed-systems B.4 with standard head splitting and per-sentence masks).
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionSpec {
    /// Default scaled_dot.
    pub scoring: Scoring,
    /// Default 4; must divide the input width.
    pub heads: usize,
    /// FFN hidden width; default 512.
    pub ffn_size: usize,
    /// Default 0.2.
    pub dropout: f64,
    /// Stacked blocks; default 1.
    pub num_layers: usize,
}

/// Where a transformer's weights and sizes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TransformerSource {
    /// A folder with a BERT checkpoint (safetensors), its config and WordPiece vocabulary;
    /// sizes come from there.
    Pretrained(PathBuf),
    /// Randomly initialised. Defaults: 4 layers, 4 heads, hidden 256, FFN 1024.
    Scratch {
        /// Encoder layers.
        layers: usize,
        /// Attention heads; divides `hidden`.
        heads: usize,
        /// Model width.
        hidden: usize,
        /// FFN width.
        ffn_size: usize,
    },
}

/// BERT-style token encoder (seed-systems D): labels go on the first sub-word of each word.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerSpec {
    /// Checkpoint or sizes.
    pub source: TransformerSource,
    /// Default 0.1.
    pub dropout: f64,
    /// Longest window in sub-words; longer inputs are split and merged. Default 512.
    pub max_len: usize,
}

impl TransformerSpec {
    /// Output width, when known before loading a checkpoint.
    pub fn d_output(&self) -> Option<usize> {
        match self.source {
            TransformerSource::Pretrained(_) => None,
            TransformerSource::Scratch { hidden, .. } => Some(hidden),
        }
    }
}

/// Output layer: input → labels, or input → hidden → labels.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSpec {
    /// Width of an optional hidden layer (the paper's newer single-task MLP); default none.
    pub hidden: Option<usize>,
    /// Of the hidden layer; default tanh (as that MLP).
    pub activation: Activation,
}

/// Linear-chain CRF.
#[derive(Debug, Clone, PartialEq)]
pub struct CrfSpec {
    /// Default none (the paper).
    pub constraints: Constraints,
}

/// Per-token softmax with cross-entropy.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxSpec {
    /// Default none.
    pub class_weights: ClassWeights,
}
