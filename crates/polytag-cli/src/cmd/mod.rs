//! One module per subcommand; each `run` returns the process exit code or an error to render.

pub mod data;
pub mod score;
pub mod validate;
