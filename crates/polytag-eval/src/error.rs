//! Errors of polytag-eval: bad evaluation input, with the file and line it came from.

/// What can go wrong reading `token … gold predicted` columns or pairing gold with predictions.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A non-blank line with fewer than the two tag columns (conlleval.pl dies with
    /// "unexpected number of features in line").
    #[error("{name}:{line}: expected at least 2 columns (… gold predicted), found {found}")]
    TooFewColumns {
        /// The input's name (a path, or `<stdin>`).
        name: String,
        /// 1-based line number.
        line: usize,
        /// Columns found.
        found: usize,
    },
    /// A line whose column count differs from the first token line's (conlleval.pl: "unexpected
    /// number of features").
    #[error("{name}:{line}: expected {expected} columns as on line {first_line}, found {found}")]
    Columns {
        /// The input's name.
        name: String,
        /// 1-based line number.
        line: usize,
        /// Columns on the first token line.
        expected: usize,
        /// Line that fixed `expected`.
        first_line: usize,
        /// Columns found here.
        found: usize,
    },
    /// A line that is not UTF-8.
    #[error("{name}:{line}: not valid UTF-8")]
    Utf8 {
        /// The input's name.
        name: String,
        /// 1-based line number.
        line: usize,
    },
    /// The input could not be read.
    #[error("cannot read {name}")]
    Read {
        /// The input's name.
        name: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Gold and predicted corpora have different numbers of sentences.
    #[error("gold has {gold} sentences, prediction {pred}")]
    SentenceCount {
        /// Gold sentences.
        gold: usize,
        /// Predicted sentences.
        pred: usize,
    },
    /// A gold and a predicted sentence differ in length.
    #[error("sentence {sentence}: gold has {gold} tags, prediction {pred}")]
    SentenceLength {
        /// 1-based sentence number.
        sentence: usize,
        /// Gold tags.
        gold: usize,
        /// Predicted tags.
        pred: usize,
    },
    /// An unknown `--scheme` value.
    #[error("unknown scheme `{name}`; expected conlleval, auto, iob1, bio (iob2), bioes (iobes)")]
    UnknownScheme {
        /// The value as given.
        name: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
