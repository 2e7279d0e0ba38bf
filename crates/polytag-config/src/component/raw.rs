//! The written form of each component kind: every key optional, as in the JSON; the paper's
//! no-op keys are read here and go no further.

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::spec::{
    Activation, Cell, ClassWeights, Constraints, Freeze, Position, Scoring, SubwordPooling,
};
use super::RawComponentKind;

/// One `components[]` entry as written: `name`, `model` (the kind), an optional
/// `learning_rate` (any kind) and the kind's options.
#[derive(Debug, Clone, PartialEq)]
pub struct RawComponent {
    /// Unique name that tasks refer to.
    pub name: String,
    /// The rate this component's parameters step at, instead of the task's.
    pub learning_rate: Option<f64>,
    /// The kind and its options.
    pub kind: RawComponentKind,
}

impl Serialize for RawComponent {
    /// `name` first, then `model`, then the options, as people write them.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kind = serde_json::to_value(&self.kind).map_err(serde::ser::Error::custom)?;
        let mut map = Map::new();
        map.insert("name".to_string(), Value::String(self.name.clone()));
        if let Some(lr) = self.learning_rate {
            map.insert("learning_rate".to_string(), serde_json::json!(lr));
        }
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
        let learning_rate = match map.remove("learning_rate") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => return Err(D::Error::custom("\"learning_rate\" must be a number")),
        };
        let kind = RawComponentKind::deserialize(Value::Object(map)).map_err(D::Error::custom)?;
        Ok(RawComponent {
            name,
            learning_rate,
            kind,
        })
    }
}

/// `embedding` as written. `allow_gpu` and `sparse` are read for compatibility with the
/// paper's files and ignored: the paper ignores `allow_gpu` too, and sparse gradients are a
/// PyTorch storage choice with no effect on the numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    pub extend_vocab: Option<bool>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on FeatureEmbeddingSpec
pub struct RawFeatureEmbedding {
    pub column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<usize>,
}

/// `lstm` as written. `batch_first` is read for the paper's files and ignored (a PyTorch
/// tensor-layout flag; polytag's layout is fixed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subword_pooling: Option<SubwordPooling>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze: Option<Freeze>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
}

/// `linear` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on CrfSpec
pub struct RawCrf {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
}

/// `softmax` as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented on SoftmaxSpec
pub struct RawSoftmax {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_weights: Option<ClassWeights>,
}
