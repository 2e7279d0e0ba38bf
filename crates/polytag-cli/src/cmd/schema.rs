//! `polytag schema`: prints the JSON Schema of the experiment file (for editors; see
//! configs/README.md), generated from the types the config parser reads.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// Writes the schema to stdout. A closed pipe (`polytag schema | head`) is not an error.
pub fn run() -> Result<ExitCode> {
    let text = polytag_config::schema_text();
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing the schema to stdout")
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
