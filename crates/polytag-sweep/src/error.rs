//! What can go wrong in a sweep, each error naming the flag or file at fault.

use std::path::PathBuf;

/// Sweep errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `--grid` flag that cannot be read.
    #[error("--grid {text}: {problem}")]
    Grid {
        /// The flag's value as given.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A plan that cannot be made (no configs, repeated seeds, …).
    #[error("{0}")]
    Plan(String),
    /// A file that cannot be read or parsed.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A file or directory that cannot be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The trainer program could not be started.
    #[error("cannot start {program}: {message}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        message: String,
    },
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Writes `bytes` to `path` atomically ([`polytag_run::write_atomic`]: unique temporary file,
/// fsync, rename, cleanup on failure), so readers (a `polytag report` of a running sweep, a
/// resumed sweep) never see half a file.
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    polytag_run::write_atomic(path, bytes).map_err(|e| {
        // The innermost cause (the OS's words): this crate's messages are one line.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(source) = cause.source() {
            cause = source;
        }
        Error::Write {
            path: path.to_path_buf(),
            message: cause.to_string(),
        }
    })
}
