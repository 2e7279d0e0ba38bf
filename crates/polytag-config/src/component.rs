//! `components[]`: the layers tasks are wired from (design.md §3). A component named by several
//! tasks is one set of parameters: that is how sharing is declared, exactly as in the paper.
//!
//! Each kind has a raw struct (the JSON keys as written, all optional) and a spec struct (typed,
//! defaults filled, checked). Defaults are the paper's where it has one (seed-systems A.2, A.9:
//! the old scripts' values), else the seed system the kind comes from (B for attention and the
//! char BiLSTM), else PyTorch's.

use std::fmt;
use std::path::PathBuf;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::paths;
use crate::resolve::{check_name, Ctx, Entry};

/// The kind of a component: its `model` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Word embedding table (one per language).
    Embedding,
    /// Character CNN with max-over-time pooling.
    CharCnn,
    /// Character BiLSTM/BiGRU, final states concatenated.
    CharRnn,
    /// Highway layers.
    Highway,
    /// Embedding of an extra input column (e.g. POS tags).
    FeatureEmbedding,
    /// LSTM encoder.
    Lstm,
    /// GRU encoder.
    Gru,
    /// Elman (tanh) RNN encoder.
    Rnn,
    /// Masked multi-head self-attention block.
    Attention,
    /// BERT-style encoder.
    Transformer,
    /// Output layer (universal or language-specific).
    Linear,
    /// Linear-chain CRF decoder.
    Crf,
    /// Per-token softmax decoder.
    Softmax,
}

impl Kind {
    /// Every kind, in the order of design.md §3.
    pub const ALL: [Kind; 13] = [
        Kind::Embedding,
        Kind::CharCnn,
        Kind::CharRnn,
        Kind::Highway,
        Kind::FeatureEmbedding,
        Kind::Lstm,
        Kind::Gru,
        Kind::Rnn,
        Kind::Attention,
        Kind::Transformer,
        Kind::Linear,
        Kind::Crf,
        Kind::Softmax,
    ];

    /// The name written in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Embedding => "embedding",
            Kind::CharCnn => "char_cnn",
            Kind::CharRnn => "char_rnn",
            Kind::Highway => "highway",
            Kind::FeatureEmbedding => "feature_embedding",
            Kind::Lstm => "lstm",
            Kind::Gru => "gru",
            Kind::Rnn => "rnn",
            Kind::Attention => "attention",
            Kind::Transformer => "transformer",
            Kind::Linear => "linear",
            Kind::Crf => "crf",
            Kind::Softmax => "softmax",
        }
    }

    /// The kind written as `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
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

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `components[]` entry as written: `name`, `model` (the kind) and the kind's options.
#[derive(Debug, Clone, PartialEq)]
pub struct RawComponent {
    /// Unique name that tasks refer to.
    pub name: String,
    /// The kind and its options.
    pub kind: RawComponentKind,
}

/// The options of each kind as written, tagged by `model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is documented by its struct
pub enum RawComponentKind {
    Embedding(RawEmbedding),
    CharCnn(RawCharCnn),
    CharRnn(RawCharRnn),
    Highway(RawHighway),
    FeatureEmbedding(RawFeatureEmbedding),
    Lstm(RawLstm),
    Gru(RawRecurrent),
    Rnn(RawRecurrent),
    Attention(RawAttention),
    Transformer(RawTransformer),
    Linear(RawLinear),
    Crf(RawCrf),
    Softmax(RawSoftmax),
}

impl Serialize for RawComponent {
    /// `name` first, then `model`, then the options, as people write them.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kind = serde_json::to_value(&self.kind).map_err(serde::ser::Error::custom)?;
        let mut map = Map::new();
        map.insert("name".to_string(), Value::String(self.name.clone()));
        if let Value::Object(options) = kind {
            map.extend(options);
        }
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawComponent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Map::deserialize(deserializer)?;
        let name = match map.remove("name") {
            Some(Value::String(name)) => name,
            Some(_) => return Err(D::Error::custom("\"name\" must be a string")),
            None => return Err(D::Error::missing_field("name")),
        };
        let kind = RawComponentKind::deserialize(Value::Object(map)).map_err(D::Error::custom)?;
        Ok(RawComponent { name, kind })
    }
}

/// `embedding` as written. `allow_gpu` and `sparse` are read for compatibility with the
/// paper's files and ignored: the paper ignores `allow_gpu` too, and sparse gradients are a
/// PyTorch storage choice with no effect on the numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on EmbeddingSpec
pub struct RawEmbedding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trainable: Option<bool>,
    /// The paper's count of reserved rows; polytag reserves PAD and UNK, so only 2 is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub padding: Option<usize>,
    /// The paper's padding row; polytag's is row 0, so only 0 is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub padding_idx: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lowercase: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Ignored (see the struct doc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_gpu: Option<bool>,
    /// Ignored (see the struct doc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sparse: Option<bool>,
}

/// `char_cnn` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on CharCnnSpec
pub struct RawCharCnn {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<(usize, usize)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
}

/// `char_rnn` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on CharRnnSpec
pub struct RawCharRnn {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<Cell>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bidirectional: Option<bool>,
}

/// `highway` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on HighwaySpec
pub struct RawHighway {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_layers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// `feature_embedding` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on FeatureEmbeddingSpec
pub struct RawFeatureEmbedding {
    pub column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<usize>,
}

/// `lstm` as written. `batch_first` is read for the paper's files and ignored (a PyTorch
/// tensor-layout flag; polytag's layout is fixed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on RnnSpec
pub struct RawLstm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_layers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bidirectional: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forget_bias: Option<f64>,
    /// Ignored (see the struct doc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_first: Option<bool>,
}

/// `gru` and `rnn` as written (no forget gate, so no `forget_bias`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on RnnSpec
pub struct RawRecurrent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_layers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bidirectional: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    /// Ignored, as for `lstm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_first: Option<bool>,
}

/// `attention` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on AttentionSpec
pub struct RawAttention {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoring: Option<Scoring>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffn_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_layers: Option<usize>,
}

/// `transformer` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on TransformerSpec
pub struct RawTransformer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretrained: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffn_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
}

/// `linear` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on LinearSpec
pub struct RawLinear {
    /// The paper's `"output"`; the only place a linear layer goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
}

/// `crf` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on CrfSpec
pub struct RawCrf {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
}

/// `softmax` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on SoftmaxSpec
pub struct RawSoftmax {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_weights: Option<ClassWeights>,
}

/// Non-linearity of char CNNs, highway layers and MLP output layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ClassWeights, A::Error> {
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

/// A resolved component.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Unique name.
    pub name: String,
    /// Kind and options.
    pub kind: ComponentKind,
    /// Width of its input vectors, inferred from the tasks that use it (seed-systems A.4
    /// step 5). `None` for components that read ids (embeddings, char encoders, transformers),
    /// for decoders, and for unused components.
    pub d_input: Option<usize>,
}

/// Kind and checked options of a component.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // each variant is documented by its spec
pub enum ComponentKind {
    Embedding(EmbeddingSpec),
    CharCnn(CharCnnSpec),
    CharRnn(CharRnnSpec),
    Highway(HighwaySpec),
    FeatureEmbedding(FeatureEmbeddingSpec),
    Lstm(RnnSpec),
    Gru(RnnSpec),
    Rnn(RnnSpec),
    Attention(AttentionSpec),
    Transformer(TransformerSpec),
    Linear(LinearSpec),
    Crf(CrfSpec),
    Softmax(SoftmaxSpec),
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
    /// `(width, count)` per convolution; default [[2,25],[3,25],[4,25]] (the scripts).
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
        self.filters.iter().map(|&(width, _)| width).max().unwrap_or(1)
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

impl ComponentKind {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            ComponentKind::Embedding(_) => Kind::Embedding,
            ComponentKind::CharCnn(_) => Kind::CharCnn,
            ComponentKind::CharRnn(_) => Kind::CharRnn,
            ComponentKind::Highway(_) => Kind::Highway,
            ComponentKind::FeatureEmbedding(_) => Kind::FeatureEmbedding,
            ComponentKind::Lstm(_) => Kind::Lstm,
            ComponentKind::Gru(_) => Kind::Gru,
            ComponentKind::Rnn(_) => Kind::Rnn,
            ComponentKind::Attention(_) => Kind::Attention,
            ComponentKind::Transformer(_) => Kind::Transformer,
            ComponentKind::Linear(_) => Kind::Linear,
            ComponentKind::Crf(_) => Kind::Crf,
            ComponentKind::Softmax(_) => Kind::Softmax,
        }
    }

    /// Cell and options of `lstm`, `gru`, `rnn`.
    pub fn as_recurrent(&self) -> Option<(Cell, &RnnSpec)> {
        match self {
            ComponentKind::Lstm(spec) => Some((Cell::Lstm, spec)),
            ComponentKind::Gru(spec) => Some((Cell::Gru, spec)),
            ComponentKind::Rnn(spec) => Some((Cell::Rnn, spec)),
            _ => None,
        }
    }

    /// Output width of a component that reads ids (embeddings, char encoders, transformers):
    /// `None` for the others and for pretrained transformers.
    pub fn d_feature(&self) -> Option<usize> {
        match self {
            ComponentKind::Embedding(spec) => Some(spec.dimension),
            ComponentKind::CharCnn(spec) => Some(spec.d_output()),
            ComponentKind::CharRnn(spec) => Some(spec.d_output()),
            ComponentKind::FeatureEmbedding(spec) => Some(spec.dimension),
            ComponentKind::Transformer(spec) => spec.d_output(),
            _ => None,
        }
    }

    /// Output width of an encoder given its input width (`None` for non-encoders).
    pub fn d_encoded(&self, d_input: usize) -> Option<usize> {
        match self {
            ComponentKind::Lstm(spec) | ComponentKind::Gru(spec) | ComponentKind::Rnn(spec) => {
                Some(spec.d_output())
            }
            ComponentKind::Attention(_) | ComponentKind::Highway(_) => Some(d_input),
            _ => None,
        }
    }
}

impl Component {
    /// Output width where it does not depend on labels: features and encoders.
    pub fn d_output(&self) -> Option<usize> {
        self.kind.d_feature().or_else(|| self.d_input.and_then(|d| self.kind.d_encoded(d)))
    }
}

/// The field names of `kind`'s raw struct, for unknown-key checks.
pub(crate) fn fields(kind: Kind) -> &'static [&'static str] {
    use crate::json::fields_of;
    match kind {
        Kind::Embedding => fields_of::<RawEmbedding>(),
        Kind::CharCnn => fields_of::<RawCharCnn>(),
        Kind::CharRnn => fields_of::<RawCharRnn>(),
        Kind::Highway => fields_of::<RawHighway>(),
        Kind::FeatureEmbedding => fields_of::<RawFeatureEmbedding>(),
        Kind::Lstm => fields_of::<RawLstm>(),
        Kind::Gru | Kind::Rnn => fields_of::<RawRecurrent>(),
        Kind::Attention => fields_of::<RawAttention>(),
        Kind::Transformer => fields_of::<RawTransformer>(),
        Kind::Linear => fields_of::<RawLinear>(),
        Kind::Crf => fields_of::<RawCrf>(),
        Kind::Softmax => fields_of::<RawSoftmax>(),
    }
}

/// Deserializes the options of `kind` from `value` (an object without `name` and `model`),
/// going through the variant's own struct so an error names the nested key.
pub(crate) fn parse_kind(
    kind: Kind,
    value: Value,
) -> Result<RawComponentKind, serde_path_to_error::Error<serde_json::Error>> {
    use serde_path_to_error::deserialize as de;
    Ok(match kind {
        Kind::Embedding => RawComponentKind::Embedding(de(value)?),
        Kind::CharCnn => RawComponentKind::CharCnn(de(value)?),
        Kind::CharRnn => RawComponentKind::CharRnn(de(value)?),
        Kind::Highway => RawComponentKind::Highway(de(value)?),
        Kind::FeatureEmbedding => RawComponentKind::FeatureEmbedding(de(value)?),
        Kind::Lstm => RawComponentKind::Lstm(de(value)?),
        Kind::Gru => RawComponentKind::Gru(de(value)?),
        Kind::Rnn => RawComponentKind::Rnn(de(value)?),
        Kind::Attention => RawComponentKind::Attention(de(value)?),
        Kind::Transformer => RawComponentKind::Transformer(de(value)?),
        Kind::Linear => RawComponentKind::Linear(de(value)?),
        Kind::Crf => RawComponentKind::Crf(de(value)?),
        Kind::Softmax => RawComponentKind::Softmax(de(value)?),
    })
}

impl RawComponentKind {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            RawComponentKind::Embedding(_) => Kind::Embedding,
            RawComponentKind::CharCnn(_) => Kind::CharCnn,
            RawComponentKind::CharRnn(_) => Kind::CharRnn,
            RawComponentKind::Highway(_) => Kind::Highway,
            RawComponentKind::FeatureEmbedding(_) => Kind::FeatureEmbedding,
            RawComponentKind::Lstm(_) => Kind::Lstm,
            RawComponentKind::Gru(_) => Kind::Gru,
            RawComponentKind::Rnn(_) => Kind::Rnn,
            RawComponentKind::Attention(_) => Kind::Attention,
            RawComponentKind::Transformer(_) => Kind::Transformer,
            RawComponentKind::Linear(_) => Kind::Linear,
            RawComponentKind::Crf(_) => Kind::Crf,
            RawComponentKind::Softmax(_) => Kind::Softmax,
        }
    }
}

/// Checks `components[index]` and fills its defaults. `None` when a path cannot be expanded.
pub(crate) fn resolve(index: usize, raw: &RawComponent, ctx: &mut Ctx<'_>) -> Option<Component> {
    let at = format!("components[{index}]");
    check_name(&format!("{at}.name"), &raw.name, ctx);
    let key = |k: &str| format!("{at}.{k}");
    let kind = match &raw.kind {
        RawComponentKind::Embedding(r) => {
            let dimension = dim(ctx, &key("dimension"), r.dimension, 100);
            if let Some(padding) = r.padding.filter(|&p| p != 2) {
                ctx.invalid(
                    key("padding"),
                    format!("{padding} reserved rows; polytag reserves exactly 2 (PAD = 0, UNK = 1), so only 2 is accepted"),
                );
            }
            if let Some(idx) = r.padding_idx.filter(|&i| i != 0) {
                ctx.invalid(key("padding_idx"), format!("{idx}; the padding row is 0, so only 0 is accepted"));
            }
            let file = match &r.file {
                Some(file) => Some(ctx.path(&key("file"), file, Entry::File)?),
                None => None,
            };
            if r.stats.is_some() && file.is_none() {
                ctx.invalid(key("stats"), "describes the embedding file, and no \"file\" is given");
            }
            ComponentKind::Embedding(EmbeddingSpec {
                dimension,
                file,
                stats: r.stats,
                trainable: r.trainable.unwrap_or(true),
                lowercase: r.lowercase.unwrap_or(false),
                language: r.language.clone(),
            })
        }
        RawComponentKind::CharCnn(r) => {
            let dimension = dim(ctx, &key("dimension"), r.dimension, 50);
            let filters = r.filters.clone().unwrap_or_else(|| vec![(2, 25), (3, 25), (4, 25)]);
            if filters.is_empty() {
                ctx.invalid(key("filters"), "empty list; give [[width, count], ...]");
            }
            for (i, &(width, count)) in filters.iter().enumerate() {
                ctx.positive(format!("{at}.filters[{i}][0]"), width as u64);
                ctx.positive(format!("{at}.filters[{i}][1]"), count as u64);
            }
            ComponentKind::CharCnn(CharCnnSpec {
                dimension,
                filters,
                activation: r.activation.unwrap_or(Activation::Relu),
            })
        }
        RawComponentKind::CharRnn(r) => ComponentKind::CharRnn(CharRnnSpec {
            dimension: dim(ctx, &key("dimension"), r.dimension, 30),
            hidden_size: dim(ctx, &key("hidden_size"), r.hidden_size, 24),
            cell: r.cell.unwrap_or(Cell::Lstm),
            bidirectional: r.bidirectional.unwrap_or(true),
        }),
        RawComponentKind::Highway(r) => ComponentKind::Highway(HighwaySpec {
            num_layers: dim(ctx, &key("num_layers"), r.num_layers, 2),
            activation: r.activation.unwrap_or(Activation::Selu),
            position: r.position,
        }),
        RawComponentKind::FeatureEmbedding(r) => ComponentKind::FeatureEmbedding(FeatureEmbeddingSpec {
            column: r.column,
            dimension: dim(ctx, &key("dimension"), r.dimension, 32),
        }),
        RawComponentKind::Lstm(r) => {
            let spec = rnn(ctx, &at, r.hidden_size, r.num_layers, r.bidirectional, r.dropout);
            ComponentKind::Lstm(RnnSpec { forget_bias: r.forget_bias.unwrap_or(1.0), ..spec })
        }
        RawComponentKind::Gru(r) => {
            ComponentKind::Gru(rnn(ctx, &at, r.hidden_size, r.num_layers, r.bidirectional, r.dropout))
        }
        RawComponentKind::Rnn(r) => {
            ComponentKind::Rnn(rnn(ctx, &at, r.hidden_size, r.num_layers, r.bidirectional, r.dropout))
        }
        RawComponentKind::Attention(r) => {
            let dropout = r.dropout.unwrap_or(0.2);
            ctx.probability(key("dropout"), dropout);
            ComponentKind::Attention(AttentionSpec {
                scoring: r.scoring.unwrap_or(Scoring::ScaledDot),
                heads: dim(ctx, &key("heads"), r.heads, 4),
                ffn_size: dim(ctx, &key("ffn_size"), r.ffn_size, 512),
                dropout,
                num_layers: dim(ctx, &key("num_layers"), r.num_layers, 1),
            })
        }
        RawComponentKind::Transformer(r) => {
            let dropout = r.dropout.unwrap_or(0.1);
            ctx.probability(key("dropout"), dropout);
            let source = match &r.pretrained {
                Some(dir) => {
                    for (name, given) in [
                        ("layers", r.layers.is_some()),
                        ("heads", r.heads.is_some()),
                        ("hidden", r.hidden.is_some()),
                        ("ffn_size", r.ffn_size.is_some()),
                    ] {
                        if given {
                            ctx.invalid(key(name), "comes from the pretrained checkpoint; remove it");
                        }
                    }
                    TransformerSource::Pretrained(ctx.path(&key("pretrained"), dir, Entry::Dir)?)
                }
                None => {
                    let heads = dim(ctx, &key("heads"), r.heads, 4);
                    let hidden = dim(ctx, &key("hidden"), r.hidden, 256);
                    if heads > 0 && hidden % heads != 0 {
                        ctx.invalid(key("hidden"), format!("{hidden} is not divisible by {heads} heads"));
                    }
                    TransformerSource::Scratch {
                        layers: dim(ctx, &key("layers"), r.layers, 4),
                        heads,
                        hidden,
                        ffn_size: dim(ctx, &key("ffn_size"), r.ffn_size, 1024),
                    }
                }
            };
            ComponentKind::Transformer(TransformerSpec {
                source,
                dropout,
                max_len: dim(ctx, &key("max_len"), r.max_len, 512),
            })
        }
        RawComponentKind::Linear(r) => {
            if let Some(position) = r.position.filter(|&p| p != Position::Output) {
                ctx.invalid(
                    key("position"),
                    format!("\"{}\"; a linear component is an output layer (\"output\")", position_str(position)),
                );
            }
            if let Some(hidden) = r.hidden {
                ctx.positive(key("hidden"), hidden as u64);
            }
            if r.activation.is_some() && r.hidden.is_none() {
                ctx.invalid(key("activation"), "applies to the hidden layer, and no \"hidden\" is given");
            }
            ComponentKind::Linear(LinearSpec {
                hidden: r.hidden,
                activation: r.activation.unwrap_or(Activation::Tanh),
            })
        }
        RawComponentKind::Crf(r) => {
            ComponentKind::Crf(CrfSpec { constraints: r.constraints.unwrap_or(Constraints::None) })
        }
        RawComponentKind::Softmax(r) => {
            let class_weights = r.class_weights.clone().unwrap_or(ClassWeights::None);
            if let ClassWeights::List(weights) = &class_weights {
                if weights.is_empty() {
                    ctx.invalid(key("class_weights"), "empty list");
                }
                for (i, &w) in weights.iter().enumerate() {
                    ctx.range(format!("{at}.class_weights[{i}]"), w, w > 0.0, "a weight > 0");
                }
            }
            ComponentKind::Softmax(SoftmaxSpec { class_weights })
        }
    };
    Some(Component { name: raw.name.clone(), kind, d_input: None })
}

/// A size option: given or `default`, at least 1.
fn dim(ctx: &mut Ctx<'_>, path: &str, value: Option<usize>, default: usize) -> usize {
    let value = value.unwrap_or(default);
    ctx.positive(path, value as u64);
    value
}

fn rnn(
    ctx: &mut Ctx<'_>,
    at: &str,
    hidden_size: Option<usize>,
    num_layers: Option<usize>,
    bidirectional: Option<bool>,
    dropout: Option<f64>,
) -> RnnSpec {
    let num_layers = dim(ctx, &format!("{at}.num_layers"), num_layers, 1);
    let dropout = dropout.unwrap_or(0.0);
    if ctx.probability(format!("{at}.dropout"), dropout) && dropout > 0.0 && num_layers < 2 {
        ctx.invalid(
            format!("{at}.dropout"),
            "applies between layers, and num_layers is 1 (use the task's dropouts instead)",
        );
    }
    RnnSpec {
        hidden_size: dim(ctx, &format!("{at}.hidden_size"), hidden_size, 100),
        num_layers,
        bidirectional: bidirectional.unwrap_or(true),
        dropout,
        forget_bias: 0.0,
    }
}

pub(crate) fn position_str(position: Position) -> &'static str {
    match position {
        Position::Char => "char",
        Position::Word => "word",
        Position::Output => "output",
    }
}

impl Component {
    /// Back to the written form, every default spelled out.
    pub fn to_raw(&self) -> RawComponent {
        let recurrent = |s: &RnnSpec| RawRecurrent {
            hidden_size: Some(s.hidden_size),
            num_layers: Some(s.num_layers),
            bidirectional: Some(s.bidirectional),
            dropout: Some(s.dropout),
            batch_first: None,
        };
        let kind = match &self.kind {
            ComponentKind::Embedding(s) => RawComponentKind::Embedding(RawEmbedding {
                dimension: Some(s.dimension),
                file: s.file.as_deref().map(paths::escape),
                stats: s.stats,
                trainable: Some(s.trainable),
                lowercase: Some(s.lowercase),
                language: s.language.clone(),
                ..RawEmbedding::default()
            }),
            ComponentKind::CharCnn(s) => RawComponentKind::CharCnn(RawCharCnn {
                dimension: Some(s.dimension),
                filters: Some(s.filters.clone()),
                activation: Some(s.activation),
            }),
            ComponentKind::CharRnn(s) => RawComponentKind::CharRnn(RawCharRnn {
                dimension: Some(s.dimension),
                hidden_size: Some(s.hidden_size),
                cell: Some(s.cell),
                bidirectional: Some(s.bidirectional),
            }),
            ComponentKind::Highway(s) => RawComponentKind::Highway(RawHighway {
                num_layers: Some(s.num_layers),
                activation: Some(s.activation),
                position: s.position,
            }),
            ComponentKind::FeatureEmbedding(s) => RawComponentKind::FeatureEmbedding(RawFeatureEmbedding {
                column: s.column,
                dimension: Some(s.dimension),
            }),
            ComponentKind::Lstm(s) => RawComponentKind::Lstm(RawLstm {
                hidden_size: Some(s.hidden_size),
                num_layers: Some(s.num_layers),
                bidirectional: Some(s.bidirectional),
                dropout: Some(s.dropout),
                forget_bias: Some(s.forget_bias),
                batch_first: None,
            }),
            ComponentKind::Gru(s) => RawComponentKind::Gru(recurrent(s)),
            ComponentKind::Rnn(s) => RawComponentKind::Rnn(recurrent(s)),
            ComponentKind::Attention(s) => RawComponentKind::Attention(RawAttention {
                scoring: Some(s.scoring),
                heads: Some(s.heads),
                ffn_size: Some(s.ffn_size),
                dropout: Some(s.dropout),
                num_layers: Some(s.num_layers),
            }),
            ComponentKind::Transformer(s) => {
                let mut raw = RawTransformer {
                    dropout: Some(s.dropout),
                    max_len: Some(s.max_len),
                    ..RawTransformer::default()
                };
                match &s.source {
                    TransformerSource::Pretrained(dir) => raw.pretrained = Some(paths::escape(dir)),
                    TransformerSource::Scratch { layers, heads, hidden, ffn_size } => {
                        raw.layers = Some(*layers);
                        raw.heads = Some(*heads);
                        raw.hidden = Some(*hidden);
                        raw.ffn_size = Some(*ffn_size);
                    }
                }
                RawComponentKind::Transformer(raw)
            }
            ComponentKind::Linear(s) => RawComponentKind::Linear(RawLinear {
                position: Some(Position::Output),
                hidden: s.hidden,
                activation: s.hidden.map(|_| s.activation),
            }),
            ComponentKind::Crf(s) => RawComponentKind::Crf(RawCrf { constraints: Some(s.constraints) }),
            ComponentKind::Softmax(s) => {
                RawComponentKind::Softmax(RawSoftmax { class_weights: Some(s.class_weights.clone()) })
            }
        };
        RawComponent { name: self.name.clone(), kind }
    }
}
