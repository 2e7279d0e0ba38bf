//! `components[]`: the layers tasks are wired from (design.md §3). A component named by several
//! tasks is one set of parameters: that is how sharing is declared, exactly as in the paper.
//!
//! Each kind has a raw struct (the JSON keys as written, all optional) and a spec struct (typed,
//! defaults filled, checked). Defaults are the paper's where it has one (seed-systems A.2, A.9:
//! the old scripts' values), else the seed system the kind comes from (B for attention and the
//! char BiLSTM), else PyTorch's.

mod kinds;
mod raw;
mod spec;

use std::fmt;

use crate::resolve::{check_name, Ctx};

pub(crate) use kinds::{fields, parse_kind};
pub use kinds::{ComponentKind, Input, Kind, RawComponentKind, Role};
pub use raw::{
    RawAttention, RawCharCnn, RawCharRnn, RawComponent, RawCrf, RawEmbedding, RawFeatureEmbedding,
    RawHighway, RawLinear, RawLstm, RawRecurrent, RawSoftmax, RawTransformer,
};
pub use spec::{
    Activation, AttentionSpec, Cell, CharCnnSpec, CharRnnSpec, ClassWeights, Constraints, CrfSpec,
    EmbeddingSpec, FeatureEmbeddingSpec, Freeze, HighwaySpec, LinearSpec, Position, RnnSpec,
    Scoring, SoftmaxSpec, SubwordPooling, TransformerFiles, TransformerSource, TransformerSpec,
};

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
    /// `Some(lr)`: its parameters step at lr (times the task schedule's factor lr(t) / lr0)
    /// whichever task trains them, the rest of the task at the task's rate (a pretrained
    /// encoder at 3e-5 under a head at 1e-3). Default `None`: the task's rate.
    pub learning_rate: Option<f64>,
    /// Width of its input vectors, inferred from the tasks that use it (seed-systems A.4
    /// step 5). `None` for components that read ids (embeddings, char encoders, transformers),
    /// for decoders, and for unused components.
    pub d_input: Option<usize>,
}

impl Component {
    /// Output width where it does not depend on labels: features and encoders.
    pub fn d_output(&self) -> Option<usize> {
        self.kind
            .d_feature()
            .or_else(|| self.d_input.and_then(|d| self.kind.d_encoded(d)))
    }

    /// Back to the written form, every default spelled out.
    pub fn to_raw(&self) -> RawComponent {
        RawComponent {
            name: self.name.clone(),
            learning_rate: self.learning_rate,
            kind: self.kind.to_raw(),
        }
    }
}

/// Checks `components[index]` and fills its defaults. `None` when a path cannot be expanded.
pub(crate) fn resolve(index: usize, raw: &RawComponent, ctx: &mut Ctx<'_>) -> Option<Component> {
    let at = format!("components[{index}]");
    check_name(&format!("{at}.name"), &raw.name, ctx);
    if let Some(lr) = raw.learning_rate {
        ctx.range(
            format!("{at}.learning_rate"),
            lr,
            lr.is_finite() && lr > 0.0,
            "a learning rate > 0",
        );
    }
    ctx.component_name = Some(raw.name.clone());
    let kind = ComponentKind::resolve(&raw.kind, &at, ctx);
    ctx.component_name = None;
    let kind = kind?;
    Some(Component {
        name: raw.name.clone(),
        learning_rate: raw.learning_rate,
        kind,
        d_input: None,
    })
}

pub(crate) fn position_str(position: Position) -> &'static str {
    match position {
        Position::Char => "char",
        Position::Word => "word",
        Position::Output => "output",
    }
}
