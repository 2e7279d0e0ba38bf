//! The checked options of each component kind, defaults filled in, and the enums they use.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::kinds::{Spec, Width};
use super::position_str;
use super::raw::*;
use crate::paths;
use crate::resolve::{Ctx, Entry};

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
    /// With a `file`: dev/test words that would be unknown but have a vector in the file get
    /// their own row with that vector (seed-systems A.6: the paper's scripts build the
    /// vocabulary so); default true, false keeps the vocabulary to the training words.
    pub extend_vocab: bool,
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
    /// A folder with a Hugging Face BERT/RoBERTa checkpoint: `config.json`,
    /// `model.safetensors`, `tokenizer.json`; sizes come from its `config.json`.
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

/// How the pieces of one word become its vector (`subword_pooling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubwordPooling {
    /// The first piece (BERT's NER recipe, HF `label_all_tokens=False`).
    #[default]
    First,
    /// The last piece.
    Last,
    /// The mean of the word's pieces.
    Mean,
    /// First and last concatenated: twice the model width.
    FirstLast,
}

impl SubwordPooling {
    /// Output width for a model of width `hidden`.
    pub fn width(self, hidden: usize) -> usize {
        match self {
            SubwordPooling::FirstLast => 2 * hidden,
            _ => hidden,
        }
    }
}

/// Which encoder parameters training leaves alone (`freeze`): `false`, `true`,
/// `"embeddings"` or a number N of lower layers (with the embeddings below them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Freeze {
    /// Everything trains (`false`, the default: fine-tuning).
    #[default]
    None,
    /// The embedding tables only (`"embeddings"`: the big CPU saving for large vocabularies).
    Embeddings,
    /// The embeddings and the lowest N layers.
    Layers(usize),
    /// The whole encoder (`true`: feature extraction).
    All,
}

impl Serialize for Freeze {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Freeze::None => serializer.serialize_bool(false),
            Freeze::All => serializer.serialize_bool(true),
            Freeze::Embeddings => serializer.serialize_str("embeddings"),
            Freeze::Layers(n) => serializer.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for Freeze {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FreezeVisitor;
        impl serde::de::Visitor<'_> for FreezeVisitor {
            type Value = Freeze;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("false, true, \"embeddings\" or a number of layers")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Freeze, E> {
                Ok(if v { Freeze::All } else { Freeze::None })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Freeze, E> {
                usize::try_from(v)
                    .map(Freeze::Layers)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Freeze, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Freeze, E> {
                match v {
                    "embeddings" => Ok(Freeze::Embeddings),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(FreezeVisitor)
    }
}

/// Where the files of a transformer are read from once resolved: the pretrained folder and
/// `tokenizer` as written, or a run directory's copies (`transformers/<name>/`) when a run is
/// resumed, evaluated or used for prediction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransformerFiles {
    /// The `tokenizer.json` (`None` only when a path could not be expanded).
    pub tokenizer: Option<PathBuf>,
    /// The folder whose `config.json` describes the model (pretrained only).
    pub model_dir: Option<PathBuf>,
    /// The pretrained `model.safetensors` (`None` for a scratch encoder). Only a new run
    /// reads it; restoring a checkpoint does not (the model builder is told which).
    pub weights: Option<PathBuf>,
}

/// BERT-style token encoder (seed-systems D, transformer-design.md §9.1): each word is read
/// from its sub-word pieces (`subword_pooling`), long sentences in overlapping windows.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerSpec {
    /// Checkpoint or sizes.
    pub source: TransformerSource,
    /// Hidden and attention dropout; default 0.1.
    pub dropout: f64,
    /// Longest window in sub-words, `[CLS]`/`[SEP]` included; default 512 (or the model's
    /// position limit when smaller). Longer sentences are split into windows.
    pub max_len: usize,
    /// Pieces shared by consecutive windows; default `max_len / 4`, below `max_len - 2`.
    pub stride: usize,
    /// Pieces → word vector; default first.
    pub pooling: SubwordPooling,
    /// Parameters kept fixed; default none.
    pub freeze: Freeze,
    /// `tokenizer` as written (expanded): a `tokenizer.json` or a folder with one. Required
    /// for a scratch encoder; for a pretrained one it replaces the folder's own.
    pub tokenizer: Option<PathBuf>,
    /// The files actually read (see [`TransformerFiles`]); not written back.
    pub files: TransformerFiles,
    /// Model width: `hidden`, or `hidden_size` from the pretrained `config.json` (`None` when
    /// it could not be read because file checks were off).
    pub hidden: Option<usize>,
}

impl TransformerSpec {
    /// Output width, when known: the model width, doubled for `first_last` pooling.
    pub fn d_output(&self) -> Option<usize> {
        self.hidden.map(|h| self.pooling.width(h))
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

// How each spec is read from its written form and written back ([`Spec`]), and how wide
// its output is ([`Width`]): next to the struct, so a kind's options live in one place.

fn key(at: &str, k: &str) -> String {
    format!("{at}.{k}")
}

impl Spec<RawEmbedding> for EmbeddingSpec {
    fn resolve(r: &RawEmbedding, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        let dimension = dim(ctx, &key(at, "dimension"), r.dimension, 100);
        if let Some(padding) = r.padding.filter(|&p| p != 2) {
            ctx.invalid(
                key(at, "padding"),
                format!("{padding} reserved rows; polytag reserves exactly 2 (PAD = 0, UNK = 1), so only 2 is accepted"),
            );
        }
        if let Some(idx) = r.padding_idx.filter(|&i| i != 0) {
            ctx.invalid(
                key(at, "padding_idx"),
                format!("{idx}; the padding row is 0, so only 0 is accepted"),
            );
        }
        let file = match &r.file {
            Some(file) => Some(ctx.path(&key(at, "file"), file, Entry::File)?),
            None => None,
        };
        if r.extend_vocab.is_some() && file.is_none() {
            ctx.invalid(
                key(at, "extend_vocab"),
                "adds the words an embedding file covers, and no \"file\" is given",
            );
        }
        if r.stats.is_some() && file.is_none() {
            ctx.invalid(
                key(at, "stats"),
                "describes the embedding file, and no \"file\" is given",
            );
        }
        Some(EmbeddingSpec {
            dimension,
            file,
            stats: r.stats,
            trainable: r.trainable.unwrap_or(true),
            lowercase: r.lowercase.unwrap_or(false),
            extend_vocab: r.extend_vocab.unwrap_or(true),
            language: r.language.clone(),
        })
    }

    fn to_raw(&self) -> RawEmbedding {
        RawEmbedding {
            dimension: Some(self.dimension),
            file: self.file.as_deref().map(paths::escape),
            stats: self.stats,
            trainable: Some(self.trainable),
            lowercase: Some(self.lowercase),
            extend_vocab: self.file.is_some().then_some(self.extend_vocab),
            language: self.language.clone(),
            ..RawEmbedding::default()
        }
    }
}

impl Width for EmbeddingSpec {
    fn d_feature(&self) -> Option<usize> {
        Some(self.dimension)
    }
}

impl Spec<RawCharCnn> for CharCnnSpec {
    fn resolve(r: &RawCharCnn, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        let dimension = dim(ctx, &key(at, "dimension"), r.dimension, 50);
        let filters = r
            .filters
            .clone()
            .unwrap_or_else(|| vec![(2, 25), (3, 25), (4, 25)]);
        if filters.is_empty() {
            ctx.invalid(key(at, "filters"), "empty list; give [[width, count], ...]");
        }
        for (i, &(width, count)) in filters.iter().enumerate() {
            ctx.positive(format!("{at}.filters[{i}][0]"), width as u64);
            ctx.positive(format!("{at}.filters[{i}][1]"), count as u64);
        }
        Some(CharCnnSpec {
            dimension,
            filters,
            activation: r.activation.unwrap_or(Activation::Relu),
        })
    }

    fn to_raw(&self) -> RawCharCnn {
        RawCharCnn {
            dimension: Some(self.dimension),
            filters: Some(self.filters.clone()),
            activation: Some(self.activation),
        }
    }
}

impl Width for CharCnnSpec {
    fn d_feature(&self) -> Option<usize> {
        Some(self.d_output())
    }
}

impl Spec<RawCharRnn> for CharRnnSpec {
    fn resolve(r: &RawCharRnn, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        Some(CharRnnSpec {
            dimension: dim(ctx, &key(at, "dimension"), r.dimension, 30),
            hidden_size: dim(ctx, &key(at, "hidden_size"), r.hidden_size, 24),
            cell: r.cell.unwrap_or(Cell::Lstm),
            bidirectional: r.bidirectional.unwrap_or(true),
        })
    }

    fn to_raw(&self) -> RawCharRnn {
        RawCharRnn {
            dimension: Some(self.dimension),
            hidden_size: Some(self.hidden_size),
            cell: Some(self.cell),
            bidirectional: Some(self.bidirectional),
        }
    }
}

impl Width for CharRnnSpec {
    fn d_feature(&self) -> Option<usize> {
        Some(self.d_output())
    }
}

impl Spec<RawHighway> for HighwaySpec {
    fn resolve(r: &RawHighway, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        Some(HighwaySpec {
            num_layers: dim(ctx, &key(at, "num_layers"), r.num_layers, 2),
            activation: r.activation.unwrap_or(Activation::Selu),
            position: r.position,
        })
    }

    fn to_raw(&self) -> RawHighway {
        RawHighway {
            num_layers: Some(self.num_layers),
            activation: Some(self.activation),
            position: self.position,
        }
    }
}

impl Width for HighwaySpec {
    fn d_encoded(&self, d_input: usize) -> Option<usize> {
        Some(d_input)
    }
}

impl Spec<RawFeatureEmbedding> for FeatureEmbeddingSpec {
    fn resolve(r: &RawFeatureEmbedding, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        Some(FeatureEmbeddingSpec {
            column: r.column,
            dimension: dim(ctx, &key(at, "dimension"), r.dimension, 32),
        })
    }

    fn to_raw(&self) -> RawFeatureEmbedding {
        RawFeatureEmbedding {
            column: self.column,
            dimension: Some(self.dimension),
        }
    }
}

impl Width for FeatureEmbeddingSpec {
    fn d_feature(&self) -> Option<usize> {
        Some(self.dimension)
    }
}

impl Spec<RawLstm> for RnnSpec {
    fn resolve(r: &RawLstm, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        let spec = rnn(
            ctx,
            at,
            r.hidden_size,
            r.num_layers,
            r.bidirectional,
            r.dropout,
        );
        Some(RnnSpec {
            forget_bias: r.forget_bias.unwrap_or(1.0),
            ..spec
        })
    }

    fn to_raw(&self) -> RawLstm {
        RawLstm {
            hidden_size: Some(self.hidden_size),
            num_layers: Some(self.num_layers),
            bidirectional: Some(self.bidirectional),
            dropout: Some(self.dropout),
            forget_bias: Some(self.forget_bias),
            batch_first: None,
        }
    }
}

/// `gru` and `rnn`: no forget gate, so `forget_bias` stays 0.
impl Spec<RawRecurrent> for RnnSpec {
    fn resolve(r: &RawRecurrent, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        Some(rnn(
            ctx,
            at,
            r.hidden_size,
            r.num_layers,
            r.bidirectional,
            r.dropout,
        ))
    }

    fn to_raw(&self) -> RawRecurrent {
        RawRecurrent {
            hidden_size: Some(self.hidden_size),
            num_layers: Some(self.num_layers),
            bidirectional: Some(self.bidirectional),
            dropout: Some(self.dropout),
            batch_first: None,
        }
    }
}

impl Width for RnnSpec {
    fn d_encoded(&self, _d_input: usize) -> Option<usize> {
        Some(self.d_output())
    }
}

impl Spec<RawAttention> for AttentionSpec {
    fn resolve(r: &RawAttention, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        let dropout = r.dropout.unwrap_or(0.2);
        ctx.probability(key(at, "dropout"), dropout);
        Some(AttentionSpec {
            scoring: r.scoring.unwrap_or(Scoring::ScaledDot),
            heads: dim(ctx, &key(at, "heads"), r.heads, 4),
            ffn_size: dim(ctx, &key(at, "ffn_size"), r.ffn_size, 512),
            dropout,
            num_layers: dim(ctx, &key(at, "num_layers"), r.num_layers, 1),
        })
    }

    fn to_raw(&self) -> RawAttention {
        RawAttention {
            scoring: Some(self.scoring),
            heads: Some(self.heads),
            ffn_size: Some(self.ffn_size),
            dropout: Some(self.dropout),
            num_layers: Some(self.num_layers),
        }
    }
}

impl Width for AttentionSpec {
    fn d_encoded(&self, d_input: usize) -> Option<usize> {
        Some(d_input)
    }

    fn check_input(&self, d_input: usize) -> Result<(), String> {
        if self.heads > 0 && !d_input.is_multiple_of(self.heads) {
            return Err(format!(
                "attention gets width {d_input}, which is not divisible by its {} heads",
                self.heads
            ));
        }
        Ok(())
    }
}

/// The sizes of a pretrained model that resolution needs, from its `config.json`.
struct PretrainedDims {
    hidden: usize,
    layers: usize,
    max_window: usize,
}

fn pretrained_dims(dir: &Path) -> Result<PretrainedDims, String> {
    let config = crate::hf::HfModelConfig::read(dir).map_err(|e| e.to_string())?;
    Ok(PretrainedDims {
        hidden: config.hidden_size,
        layers: config.num_hidden_layers,
        max_window: config.max_window(),
    })
}

impl Spec<RawTransformer> for TransformerSpec {
    fn resolve(r: &RawTransformer, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        let dropout = r.dropout.unwrap_or(0.1);
        ctx.probability(key(at, "dropout"), dropout);
        // A run's copies stand in for the files named here once the run exists.
        let copies = ctx.transformer_copies();
        let mut files = TransformerFiles::default();
        let tokenizer = match &r.tokenizer {
            Some(path) => {
                // A file or a folder: the file is checked below.
                let p = ctx.path(&key(at, "tokenizer"), path, Entry::Output)?;
                let file = if p.is_dir() {
                    p.join("tokenizer.json")
                } else {
                    p.clone()
                };
                if copies.is_none() {
                    ctx.check_file(&key(at, "tokenizer"), &file);
                }
                files.tokenizer = Some(file);
                Some(p)
            }
            None => None,
        };
        let mut dims = None;
        let source = match &r.pretrained {
            Some(dir) => {
                for (name, given) in [
                    ("layers", r.layers.is_some()),
                    ("heads", r.heads.is_some()),
                    ("hidden", r.hidden.is_some()),
                    ("ffn_size", r.ffn_size.is_some()),
                ] {
                    if given {
                        ctx.invalid(
                            key(at, name),
                            "comes from the pretrained checkpoint; remove it",
                        );
                    }
                }
                let entry = if copies.is_some() {
                    Entry::Output
                } else {
                    Entry::Dir
                };
                let dir = ctx.path(&key(at, "pretrained"), dir, entry)?;
                let model_dir = copies.clone().unwrap_or_else(|| dir.clone());
                if files.tokenizer.is_none() {
                    files.tokenizer = Some(model_dir.join("tokenizer.json"));
                    if copies.is_none() && dir.is_dir() {
                        ctx.check_file(&key(at, "pretrained"), &model_dir.join("tokenizer.json"));
                    }
                }
                // Named even for a run's copies: a resumed run without a checkpoint yet starts
                // over from them; a checkpoint restore never reads them.
                files.weights = Some(dir.join("model.safetensors"));
                if copies.is_none() && dir.is_dir() {
                    ctx.check_file(&key(at, "pretrained"), &dir.join("model.safetensors"));
                }
                if model_dir.join("config.json").is_file() || ctx.check_files {
                    match pretrained_dims(&model_dir) {
                        Ok(d) => dims = Some(d),
                        // The message names the file.
                        Err(problem) if model_dir.is_dir() => {
                            ctx.invalid(key(at, "pretrained"), problem)
                        }
                        // The missing folder is reported already.
                        Err(_) => {}
                    }
                }
                files.model_dir = Some(model_dir);
                TransformerSource::Pretrained(dir)
            }
            None => {
                if r.tokenizer.is_none() {
                    ctx.invalid(
                        key(at, "tokenizer"),
                        "a transformer without \"pretrained\" needs a tokenizer: give \"tokenizer\": a tokenizer.json or a model folder with one",
                    );
                } else if let Some(copy) = &copies {
                    files.tokenizer = Some(copy.join("tokenizer.json"));
                }
                let heads = dim(ctx, &key(at, "heads"), r.heads, 4);
                let hidden = dim(ctx, &key(at, "hidden"), r.hidden, 256);
                if heads > 0 && !hidden.is_multiple_of(heads) {
                    ctx.invalid(
                        key(at, "hidden"),
                        format!("{hidden} is not divisible by {heads} heads"),
                    );
                }
                TransformerSource::Scratch {
                    layers: dim(ctx, &key(at, "layers"), r.layers, 4),
                    heads,
                    hidden,
                    ffn_size: dim(ctx, &key(at, "ffn_size"), r.ffn_size, 1024),
                }
            }
        };
        if let (Some(copy), TransformerSource::Pretrained(_)) = (&copies, &source) {
            files.tokenizer = Some(copy.join("tokenizer.json"));
        }
        let (hidden, layers, max_window) = match (&source, &dims) {
            (TransformerSource::Scratch { hidden, layers, .. }, _) => {
                (Some(*hidden), Some(*layers), None)
            }
            (_, Some(d)) => (Some(d.hidden), Some(d.layers), Some(d.max_window)),
            _ => (None, None, None),
        };
        let max_len = match (r.max_len, max_window) {
            (Some(m), Some(limit)) if m > limit => {
                ctx.invalid(
                    key(at, "max_len"),
                    format!("{m} is longer than the model's {limit} positions (config.json max_position_embeddings)"),
                );
                m
            }
            (Some(m), _) => m,
            (None, Some(limit)) => limit.min(512),
            (None, None) => 512,
        };
        if max_len < 3 {
            ctx.range(
                key(at, "max_len"),
                max_len as f64,
                false,
                "an integer >= 3 ([CLS], one piece, [SEP])",
            );
        }
        let stride = r.stride.unwrap_or(max_len / 4);
        if max_len >= 3 && stride >= max_len - 2 {
            ctx.invalid(
                key(at, "stride"),
                format!(
                    "{stride} must be below max_len - 2 = {} (the pieces of a window)",
                    max_len - 2
                ),
            );
        }
        let freeze = r.freeze.unwrap_or_default();
        match (freeze, layers) {
            (Freeze::Layers(0), _) => ctx.invalid(
                key(at, "freeze"),
                "0 layers; write false to train everything or \"embeddings\"",
            ),
            (Freeze::Layers(n), Some(l)) if n > l => ctx.invalid(
                key(at, "freeze"),
                format!("{n} layers, and the encoder has {l}; write true to freeze all"),
            ),
            _ => {}
        }
        Some(TransformerSpec {
            source,
            dropout,
            max_len,
            stride,
            pooling: r.subword_pooling.unwrap_or_default(),
            freeze,
            tokenizer,
            files,
            hidden,
        })
    }

    fn to_raw(&self) -> RawTransformer {
        let mut raw = RawTransformer {
            dropout: Some(self.dropout),
            max_len: Some(self.max_len),
            stride: Some(self.stride),
            subword_pooling: Some(self.pooling),
            freeze: Some(self.freeze),
            tokenizer: self.tokenizer.as_deref().map(paths::escape),
            ..RawTransformer::default()
        };
        match &self.source {
            TransformerSource::Pretrained(dir) => raw.pretrained = Some(paths::escape(dir)),
            TransformerSource::Scratch {
                layers,
                heads,
                hidden,
                ffn_size,
            } => {
                raw.layers = Some(*layers);
                raw.heads = Some(*heads);
                raw.hidden = Some(*hidden);
                raw.ffn_size = Some(*ffn_size);
            }
        }
        raw
    }
}

impl Width for TransformerSpec {
    fn d_feature(&self) -> Option<usize> {
        self.d_output()
    }
}

impl Spec<RawLinear> for LinearSpec {
    fn resolve(r: &RawLinear, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        if let Some(position) = r.position.filter(|&p| p != Position::Output) {
            ctx.invalid(
                key(at, "position"),
                format!(
                    "\"{}\"; a linear component is an output layer (\"output\")",
                    position_str(position)
                ),
            );
        }
        if let Some(hidden) = r.hidden {
            ctx.positive(key(at, "hidden"), hidden as u64);
        }
        if r.activation.is_some() && r.hidden.is_none() {
            ctx.invalid(
                key(at, "activation"),
                "applies to the hidden layer, and no \"hidden\" is given",
            );
        }
        Some(LinearSpec {
            hidden: r.hidden,
            activation: r.activation.unwrap_or(Activation::Tanh),
        })
    }

    fn to_raw(&self) -> RawLinear {
        RawLinear {
            position: Some(Position::Output),
            hidden: self.hidden,
            activation: self.hidden.map(|_| self.activation),
        }
    }
}

impl Width for LinearSpec {}

impl Spec<RawCrf> for CrfSpec {
    fn resolve(r: &RawCrf, _at: &str, _ctx: &mut Ctx<'_>) -> Option<Self> {
        Some(CrfSpec {
            constraints: r.constraints.unwrap_or(Constraints::None),
        })
    }

    fn to_raw(&self) -> RawCrf {
        RawCrf {
            constraints: Some(self.constraints),
        }
    }
}

impl Width for CrfSpec {}

impl Spec<RawSoftmax> for SoftmaxSpec {
    fn resolve(r: &RawSoftmax, at: &str, ctx: &mut Ctx<'_>) -> Option<Self> {
        let class_weights = r.class_weights.clone().unwrap_or(ClassWeights::None);
        if let ClassWeights::List(weights) = &class_weights {
            if weights.is_empty() {
                ctx.invalid(key(at, "class_weights"), "empty list");
            }
            for (i, &w) in weights.iter().enumerate() {
                ctx.range(
                    format!("{at}.class_weights[{i}]"),
                    w,
                    w > 0.0,
                    "a weight > 0",
                );
            }
        }
        Some(SoftmaxSpec { class_weights })
    }

    fn to_raw(&self) -> RawSoftmax {
        RawSoftmax {
            class_weights: Some(self.class_weights.clone()),
        }
    }
}

impl Width for SoftmaxSpec {}

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
