//! Errors of the vectors crate: each names the file (and line or entry) or the option at fault.

use std::path::PathBuf;

/// What went wrong while reading, training or writing vectors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A corpus or vector file could not be opened or read, or a line is not UTF-8 (the data
    /// crate's error already names `file:line`).
    #[error(transparent)]
    Data(#[from] polytag_data::Error),
    /// Reading a binary file or writing a file failed.
    #[error("cannot {action} {}", .path.display())]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No word of the corpus reached `min_count` (or the corpus has no tokens at all).
    #[error("{}: no word occurs at least {min_count} times ({tokens} tokens read); nothing to train", .files.join(", "))]
    EmptyCorpus {
        /// The corpus files, as given.
        files: Vec<String>,
        /// The threshold.
        min_count: u64,
        /// Tokens read before the threshold.
        tokens: u64,
    },
    /// An option is out of its range (`dim 0`, `epochs 0`, ...).
    #[error("--{option}: {message}")]
    Option {
        /// The option name, as on the command line.
        option: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A vector file is malformed at an entry.
    #[error("{}:{entry}: {message}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line (text) or vector number (binary; the header is 0).
        entry: usize,
        /// What was expected and found.
        message: String,
    },
    /// Tables to concatenate disagree.
    #[error("{}: {message}", .path.display())]
    Mismatch {
        /// The table at fault.
        path: PathBuf,
        /// What differs.
        message: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
