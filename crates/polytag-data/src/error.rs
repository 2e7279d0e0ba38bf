//! The crate's one error type.
//!
//! Every variant that comes from a file carries its path and, where a line exists, the 1-based
//! line number, so a message reads `train.conll:152: expected at least 4 columns, found 2`.
//! Variants hold data, not pre-formatted strings; the underlying I/O or JSON error is kept as
//! the `source` so the CLI can print it as a `caused by:` line (style.md, "Errors with context").

use std::path::PathBuf;

/// Result alias used throughout polytag-data.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between a file on disk and a batch of ids.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened (missing, unreadable, a directory).
    #[error("cannot read {}", .path.display())]
    Open {
        /// The file that was asked for.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },

    /// Reading failed part-way (a truncated or corrupt gzip stream, an I/O fault).
    #[error("{}:{line}: read error", .path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The line that was being read when it failed.
        line: usize,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },

    /// A line is not valid UTF-8 (e.g. a Latin-1 CoNLL-2002 original).
    #[error("{}:{line}: not valid UTF-8", .path.display())]
    NotUtf8 {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
    },

    /// A line holds a NUL byte (a binary file, or text damaged in transfer): no token or
    /// label can hold one.
    #[error("{}:{line}: a NUL byte (\\0) in the line; corpus text cannot hold one", .path.display())]
    NulByte {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
    },

    /// A CoNLL-U ID that is not the next word (`1`, `2`, …), a range starting there
    /// (`3-4`), or an empty node after the current word (`5.1`).
    #[error("{}:{line}: CoNLL-U ID {id:?} where {expected} was expected", .path.display())]
    ConlluId {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// The ID as written.
        id: String,
        /// What was expected, in words.
        expected: String,
    },

    /// A token line has too few columns for one of the requested columns (0-based `column`).
    #[error(
        "{}:{line}: expected at least {} columns, found {found} ({role} is column {column}, counting from 0)",
        .path.display(), .column + 1
    )]
    TooFewColumns {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// Which option asked for the column: `token_col`, `label_col`, `extra_cols[1]`, ...
        role: String,
        /// The requested column, 0-based as in the experiment file.
        column: usize,
        /// How many columns the line has.
        found: usize,
    },

    /// A token line has a different number of columns from the file's first token line.
    #[error(
        "{}:{line}: expected {expected} columns as on line {first_line}, found {found}",
        .path.display()
    )]
    ColumnCount {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// Column count of the first token line.
        expected: usize,
        /// Line number of the first token line.
        first_line: usize,
        /// Column count of this line.
        found: usize,
    },

    /// A field that must hold a token, label or feature is empty (two separators in a row).
    #[error("{}:{line}: column {column} is empty (counting from 0)", .path.display())]
    EmptyField {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// The empty column, 0-based.
        column: usize,
    },

    /// A JSONL line is not a JSON object.
    #[error("{}:{line}: invalid JSON", .path.display())]
    Json {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// What serde_json objected to (with its column).
        #[source]
        source: serde_json::Error,
    },

    /// A JSONL object lacks a field or has it with the wrong type.
    #[error("{}:{line}: field \"{field}\": expected {expected}", .path.display())]
    JsonField {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// The field name (`tokens`, `ner_tags`, ...).
        field: String,
        /// What was expected, e.g. `a list of strings`.
        expected: &'static str,
    },

    /// A JSONL integer tag has no entry in the label-name list.
    #[error(
        "{}:{line}: tag index {index} has no label name ({num_names} names given)",
        .path.display()
    )]
    LabelIndex {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// The integer tag.
        index: u64,
        /// How many label names the options provide.
        num_names: usize,
    },

    /// Tokens and tags of one JSONL record differ in length.
    #[error("{}:{line}: {tokens} tokens but {tags} tags", .path.display())]
    LengthMismatch {
        /// The file being read.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// Number of tokens.
        tokens: usize,
        /// Number of tags.
        tags: usize,
    },

    /// A reader option that the chosen format cannot honour (rejected rather than ignored).
    #[error("{format} files do not support {option}")]
    Unsupported {
        /// The format, e.g. `jsonl`.
        format: &'static str,
        /// The option, e.g. `extra_cols`.
        option: &'static str,
    },

    /// An embedding line whose vector has the wrong number of values.
    #[error("{}:{line}: expected {expected} values, found {found}", .path.display())]
    EmbeddingDimension {
        /// The embedding file.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// The dimension from the header, the options or the first vector line.
        expected: usize,
        /// Values on this line.
        found: usize,
    },

    /// An embedding value that is not a finite number.
    #[error("{}:{line}: value {value:?} is not a finite number", .path.display())]
    EmbeddingValue {
        /// The embedding file.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// The text that failed to parse.
        value: String,
    },

    /// An embedding file that holds no vectors at all.
    #[error("{}: no word vectors found", .path.display())]
    EmbeddingEmpty {
        /// The embedding file.
        path: PathBuf,
    },

    /// A `count dim` header that was required (`stats: true`) but is missing or malformed.
    #[error("{}:1: expected a \"count dim\" header line", .path.display())]
    EmbeddingHeader {
        /// The embedding file.
        path: PathBuf,
    },

    /// A label that the label vocabulary does not contain (e.g. a dev label unseen in train).
    #[error("{}:{line}: unknown label {label:?}", .path.display())]
    UnknownLabel {
        /// The corpus file.
        path: PathBuf,
        /// Line of the sentence's first token.
        line: usize,
        /// The label.
        label: String,
    },

    /// A sub-word tokenizer file that cannot be used (not a `tokenizer.json`, no special
    /// pieces for the window frame, or a failure while tokenizing).
    #[error("{}: {message}", .path.display())]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A task feature whose input table is missing.
    #[error("{slot}: component \"{component}\" has no {what}")]
    NoInput {
        /// Config path of the feature slot (`tasks[0].model.features[1]`).
        slot: String,
        /// The component's name.
        component: String,
        /// The missing table.
        what: &'static str,
    },

    /// A sentence with fewer feature columns than there are feature vocabularies.
    #[error("{}:{line}: expected {expected} feature columns, found {found}", .path.display())]
    FeatureColumns {
        /// The corpus file.
        path: PathBuf,
        /// Line of the sentence's first token.
        line: usize,
        /// Feature vocabularies given.
        expected: usize,
        /// Feature columns the sentence has.
        found: usize,
    },

    /// A dev/test label that no training split of its task type has: the model could never
    /// predict it (design.md §2).
    #[error(
        "{}:{line}: label {label:?} ({count} use(s)) is in no training split of task type {task:?}",
        .path.display()
    )]
    UnseenLabel {
        /// The dev or test file.
        path: PathBuf,
        /// Line of its first use.
        line: usize,
        /// The label.
        label: String,
        /// Uses in that file.
        count: usize,
        /// The task type whose label vocabulary lacks it.
        task: String,
    },

    /// A training split without a single sentence (after sampling).
    #[error("{}: the training split is empty", .path.display())]
    EmptyTrain {
        /// The training file.
        path: PathBuf,
    },

    /// Training batches asked for over no sentences (it would never yield a batch).
    #[error("no sentences to make training batches from")]
    NoSentences,

    /// A sample fraction outside (0, 1].
    #[error("sample fraction must be in (0, 1], found {value}")]
    SampleFraction {
        /// The rejected fraction.
        value: f64,
    },

    /// A sample count of zero.
    #[error("sample count must be at least 1, found 0")]
    SampleCount,

    /// A batch size of zero.
    #[error("batch size must be at least 1, found 0")]
    BatchSize,

    /// A saved batch-iterator state that does not fit the data it is restored on.
    #[error(
        "cannot resume batches: state was saved for {saved} sentences in {saved_batching} batches \
         of {saved_batch_size}, data has {found} sentences in {found_batching} batches of \
         {found_batch_size}"
    )]
    ResumeMismatch {
        /// Sentence count recorded in the state.
        saved: usize,
        /// Batch size recorded in the state.
        saved_batch_size: usize,
        /// Batching recorded in the state.
        saved_batching: crate::bucket::Batching,
        /// Sentence count of the data now.
        found: usize,
        /// Batch size asked for now.
        found_batch_size: usize,
        /// Batching asked for now.
        found_batching: crate::bucket::Batching,
    },
}
