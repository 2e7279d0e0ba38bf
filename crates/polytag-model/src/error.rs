//! Errors of polytag-model: configuration mistakes found while building a model (each names
//! the config path it comes from), inputs that do not fit the model, and device selection.
//!
//! The builder checks every dimension before a tensor exists, so a bad config surfaces here as
//! a message naming `components[i]` or `tasks[i].model.<slot>`, never as a burn shape panic.

use polytag_config::{Errors, Kind};

/// Result alias of this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// One problem found while building or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Multi-head attention splits the features into equal heads.
    #[error("{path}: attention dimension {dimension} not divisible by {heads} heads")]
    HeadsNotDivisible {
        /// Config path of the attention component.
        path: String,
        /// The model dimension the attention block receives.
        dimension: usize,
        /// The number of heads asked for.
        heads: usize,
    },
    /// Two uses of one component (or a component and the value it is given) disagree.
    #[error("{path}: {what} is {found}, expected {expected}")]
    DimensionMismatch {
        /// Config path where the disagreement shows.
        path: String,
        /// Which size disagrees, e.g. "input dimension".
        what: &'static str,
        /// The size fixed earlier (by an earlier task or the component itself).
        expected: usize,
        /// The size this use would need.
        found: usize,
    },
    /// A size that must be positive is zero.
    #[error("{path}: {what} must be at least 1")]
    ZeroSize {
        /// Config path of the option.
        path: String,
        /// The option, e.g. "hidden_size".
        what: &'static str,
    },
    /// A probability outside [0, 1).
    #[error("{path}: dropout {value} is not in [0, 1)")]
    Dropout {
        /// Config path of the option.
        path: String,
        /// The value given.
        value: f64,
    },
    /// A transformer's `config.json` that cannot be used (read again when building).
    #[error("{path}: {message}")]
    TransformerConfig {
        /// Config path (`components[0].pretrained`).
        path: String,
        /// What is wrong, naming the file.
        message: String,
    },
    /// The caller did not supply a size only the data can know (vocabulary, label count).
    #[error("{path}: no {what} given to the model builder for component \"{name}\"")]
    MissingInput {
        /// Config path of the component.
        path: String,
        /// Its name.
        name: String,
        /// What is missing, e.g. "vocabulary size".
        what: &'static str,
    },
    /// Pretrained vectors whose length is not `vocab × dim`.
    #[error("{path}: pretrained vectors hold {found} values, expected {vocab} × {dim} = {}", vocab * dim)]
    PretrainedShape {
        /// Config path of the embedding component.
        path: String,
        /// Vocabulary size (rows).
        vocab: usize,
        /// Vector dimension (columns).
        dim: usize,
        /// Number of values received.
        found: usize,
    },
    /// An option this component kind has no use for was set (never silently ignored).
    #[error("{path}: option {option} has no effect on a {kind} component")]
    UnusedOption {
        /// Config path of the component.
        path: String,
        /// The option name.
        option: &'static str,
        /// The component kind.
        kind: &'static str,
    },
    /// A component of the wrong kind in a task slot.
    #[error("{path}: component \"{name}\" is a {found}, expected {expected}")]
    WrongKind {
        /// Config path of the slot.
        path: String,
        /// The component's name.
        name: String,
        /// Kind(s) the slot accepts (`lstm, gru or rnn`).
        expected: String,
        /// Kind of the component named.
        found: Kind,
    },
    /// A slot naming a component index that does not exist.
    #[error("{path}: component index {index} out of range: there are {count} components")]
    NoComponent {
        /// Config path of the slot.
        path: String,
        /// The index.
        index: usize,
        /// Number of components.
        count: usize,
    },
    /// A component kind this crate does not implement.
    #[error("{path}: component kind {kind} is not implemented by polytag-model")]
    Unsupported {
        /// Config path of the component.
        path: String,
        /// The kind.
        kind: &'static str,
    },
    /// A transition-constraint matrix of the wrong size.
    #[error("{path}: transition constraints cover {found} labels, the crf has {expected}")]
    Constraints {
        /// Config path of the crf component.
        path: String,
        /// Label count of the crf.
        expected: usize,
        /// Label count the constraints describe.
        found: usize,
    },
    /// Scheme constraints asked for, but the labels do not follow the scheme.
    #[error(
        "{path}: cannot derive transition constraints: label \"{label}\" is not a {scheme} tag"
    )]
    SchemeLabel {
        /// Config path of the crf component.
        path: String,
        /// The offending label.
        label: String,
        /// The scheme's name.
        scheme: &'static str,
    },
    /// Scheme constraints asked for a CRF whose task has plain (non-chunk) labels.
    #[error("{path}: crf \"{name}\" asks for scheme constraints, but the labels of tasks[{task}] have no tag scheme")]
    NoScheme {
        /// Config path of the crf component.
        path: String,
        /// Its name.
        name: String,
        /// The task without a scheme.
        task: usize,
    },
    /// Scheme constraints asked for a CRF shared by tasks in different schemes.
    #[error("{path}: scheme constraints need one tag scheme, but tasks[{first_task}] uses {first} and tasks[{second_task}] uses {second}")]
    SchemeMismatch {
        /// Config path of the crf component.
        path: String,
        /// The first task's scheme.
        first: &'static str,
        /// The first task.
        first_task: usize,
        /// The other scheme.
        second: &'static str,
        /// The task using it.
        second_task: usize,
    },
    /// A task index out of range in a call to [`crate::Model`].
    #[error("task index {task} out of range: the model has {num_tasks} tasks")]
    TaskIndex {
        /// The index asked for.
        task: usize,
        /// Number of tasks in the model.
        num_tasks: usize,
    },
    /// A [`crate::TaskInput`] tensor whose shape does not fit the others.
    #[error("task input {what} has shape {found:?}, expected {expected:?}")]
    InputShape {
        /// Which tensor.
        what: &'static str,
        /// The shape implied by `words` and `lengths`.
        expected: Vec<usize>,
        /// The shape received.
        found: Vec<usize>,
    },
    /// A sentence length of zero or longer than the padded batch.
    #[error("task input sentence {sentence} has length {length}, expected 1..={max_len}")]
    InputLength {
        /// Index of the sentence in the batch.
        sentence: usize,
        /// Its length.
        length: usize,
        /// The padded length of the batch.
        max_len: usize,
    },
    /// A task has more features than the batch has input streams.
    #[error("task \"{task}\" reads input stream {stream}, the input has {available}")]
    MissingStream {
        /// The task's name.
        task: String,
        /// The stream index (= the feature's position in the task).
        stream: usize,
        /// Number of streams in the input.
        available: usize,
    },
    /// A feature given an input stream of another kind than it reads.
    #[error("{path}: component \"{name}\" reads {expected}, its input stream holds {found}")]
    StreamKind {
        /// Config path of the feature slot.
        path: String,
        /// The component's name.
        name: String,
        /// What it reads.
        expected: &'static str,
        /// What the stream holds.
        found: &'static str,
    },
    /// `loss` was called on an input without gold labels.
    #[error("task \"{task}\": the loss needs gold labels, the input has none")]
    NoLabels {
        /// The task's name.
        task: String,
    },
    /// A device whose backend was not compiled in.
    #[error("device {device} needs polytag built with the cargo feature `{feature}` (cargo build --release --features {feature})")]
    DeviceFeature {
        /// The device asked for.
        device: &'static str,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
    /// Reading a tensor back to the host failed (device error).
    #[error("reading {what} back from the device failed")]
    Read {
        /// What was being read.
        what: &'static str,
        /// The backend's error.
        #[source]
        source: burn::tensor::TensorReadError,
    },
    /// Hugging Face weights that cannot be loaded or exported (names file and tensor).
    #[error(transparent)]
    Weights(#[from] crate::transformer::WeightsError),
}

/// Every problem found while building a model, in config order (validation reports them all,
/// not just the first).
pub type BuildErrors = Errors<ModelError>;
