//! `components[]`: the layers tasks are wired from (design.md §3). A component named by several
//! tasks is one set of parameters: that is how sharing is declared, exactly as in the paper.
//!
//! Each kind has a raw struct (the JSON keys as written, all optional) and a spec struct (typed,
//! defaults filled, checked). Defaults are the paper's where it has one (seed-systems A.2, A.9:
//! the old scripts' values), else the seed system the kind comes from (B for attention and the
//! char BiLSTM), else PyTorch's.

mod raw;
mod spec;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::paths;
use crate::resolve::{check_name, Ctx, Entry};

pub(crate) use raw::{fields, parse_kind};
pub use raw::{
    RawAttention, RawCharCnn, RawCharRnn, RawComponent, RawComponentKind, RawCrf, RawEmbedding,
    RawFeatureEmbedding, RawHighway, RawLinear, RawLstm, RawRecurrent, RawSoftmax, RawTransformer,
};
pub use spec::{
    Activation, AttentionSpec, Cell, CharCnnSpec, CharRnnSpec, ClassWeights, Constraints, CrfSpec,
    EmbeddingSpec, FeatureEmbeddingSpec, HighwaySpec, LinearSpec, Position, RnnSpec, Scoring,
    SoftmaxSpec, TransformerSource, TransformerSpec,
};

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
        self.kind
            .d_feature()
            .or_else(|| self.d_input.and_then(|d| self.kind.d_encoded(d)))
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
                ctx.invalid(
                    key("padding_idx"),
                    format!("{idx}; the padding row is 0, so only 0 is accepted"),
                );
            }
            let file = match &r.file {
                Some(file) => Some(ctx.path(&key("file"), file, Entry::File)?),
                None => None,
            };
            if r.stats.is_some() && file.is_none() {
                ctx.invalid(
                    key("stats"),
                    "describes the embedding file, and no \"file\" is given",
                );
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
            let filters = r
                .filters
                .clone()
                .unwrap_or_else(|| vec![(2, 25), (3, 25), (4, 25)]);
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
        RawComponentKind::FeatureEmbedding(r) => {
            ComponentKind::FeatureEmbedding(FeatureEmbeddingSpec {
                column: r.column,
                dimension: dim(ctx, &key("dimension"), r.dimension, 32),
            })
        }
        RawComponentKind::Lstm(r) => {
            let spec = rnn(
                ctx,
                &at,
                r.hidden_size,
                r.num_layers,
                r.bidirectional,
                r.dropout,
            );
            ComponentKind::Lstm(RnnSpec {
                forget_bias: r.forget_bias.unwrap_or(1.0),
                ..spec
            })
        }
        RawComponentKind::Gru(r) => ComponentKind::Gru(rnn(
            ctx,
            &at,
            r.hidden_size,
            r.num_layers,
            r.bidirectional,
            r.dropout,
        )),
        RawComponentKind::Rnn(r) => ComponentKind::Rnn(rnn(
            ctx,
            &at,
            r.hidden_size,
            r.num_layers,
            r.bidirectional,
            r.dropout,
        )),
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
                            ctx.invalid(
                                key(name),
                                "comes from the pretrained checkpoint; remove it",
                            );
                        }
                    }
                    TransformerSource::Pretrained(ctx.path(&key("pretrained"), dir, Entry::Dir)?)
                }
                None => {
                    let heads = dim(ctx, &key("heads"), r.heads, 4);
                    let hidden = dim(ctx, &key("hidden"), r.hidden, 256);
                    if heads > 0 && !hidden.is_multiple_of(heads) {
                        ctx.invalid(
                            key("hidden"),
                            format!("{hidden} is not divisible by {heads} heads"),
                        );
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
                    format!(
                        "\"{}\"; a linear component is an output layer (\"output\")",
                        position_str(position)
                    ),
                );
            }
            if let Some(hidden) = r.hidden {
                ctx.positive(key("hidden"), hidden as u64);
            }
            if r.activation.is_some() && r.hidden.is_none() {
                ctx.invalid(
                    key("activation"),
                    "applies to the hidden layer, and no \"hidden\" is given",
                );
            }
            ComponentKind::Linear(LinearSpec {
                hidden: r.hidden,
                activation: r.activation.unwrap_or(Activation::Tanh),
            })
        }
        RawComponentKind::Crf(r) => ComponentKind::Crf(CrfSpec {
            constraints: r.constraints.unwrap_or(Constraints::None),
        }),
        RawComponentKind::Softmax(r) => {
            let class_weights = r.class_weights.clone().unwrap_or(ClassWeights::None);
            if let ClassWeights::List(weights) = &class_weights {
                if weights.is_empty() {
                    ctx.invalid(key("class_weights"), "empty list");
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
            ComponentKind::Softmax(SoftmaxSpec { class_weights })
        }
    };
    Some(Component {
        name: raw.name.clone(),
        kind,
        d_input: None,
    })
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
            ComponentKind::FeatureEmbedding(s) => {
                RawComponentKind::FeatureEmbedding(RawFeatureEmbedding {
                    column: s.column,
                    dimension: Some(s.dimension),
                })
            }
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
                RawComponentKind::Transformer(raw)
            }
            ComponentKind::Linear(s) => RawComponentKind::Linear(RawLinear {
                position: Some(Position::Output),
                hidden: s.hidden,
                activation: s.hidden.map(|_| s.activation),
            }),
            ComponentKind::Crf(s) => RawComponentKind::Crf(RawCrf {
                constraints: Some(s.constraints),
            }),
            ComponentKind::Softmax(s) => RawComponentKind::Softmax(RawSoftmax {
                class_weights: Some(s.class_weights.clone()),
            }),
        };
        RawComponent {
            name: self.name.clone(),
            kind,
        }
    }
}
