//! Errors of polytag-report: a run directory that is missing or holds unreadable files.
//!
//! Every message is one line naming the directory or `file:line`, with the cause inline (no
//! `#[source]` chain), so `polytag report a b c` says exactly which run is broken.

use std::path::PathBuf;

/// What can go wrong reading run directories or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No run directories were given.
    #[error("no run directories given")]
    NoRuns,
    /// The path does not exist or is not a directory.
    #[error("{}: not a run directory (no such directory)", dir.display())]
    NotADir {
        /// The path given.
        dir: PathBuf,
    },
    /// A directory without `config.json` (every run writes it before its first step).
    #[error("{}: not a run directory (no config.json)", dir.display())]
    NoConfig {
        /// The directory given.
        dir: PathBuf,
    },
    /// A file that exists but cannot be read.
    #[error("{}: cannot read: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error, as text.
        message: String,
    },
    /// A file (or one line of `metrics.jsonl`) that is not the JSON a run writes.
    #[error("{}{}: invalid run file: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line, for `metrics.jsonl`.
        line: Option<usize>,
        /// What serde_json said.
        message: String,
    },
}

/// Result with this crate's error.
pub type Result<T> = std::result::Result<T, Error>;
