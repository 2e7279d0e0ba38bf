//! `polytag report`: compares run directories as Markdown (stdout or a file) and/or one
//! self-contained HTML file; the work is in polytag-report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

/// Loads `run_dirs` and writes the requested reports; with neither `html` nor `md`, prints
/// the Markdown report.
pub fn run(run_dirs: &[PathBuf], html: Option<&Path>, md: Option<&Path>) -> Result<ExitCode> {
    let runs = polytag_report::load_runs(run_dirs)?;
    if let Some(path) = html {
        write_atomic(path, &polytag_report::html(&runs))?;
    }
    match md {
        Some(p) if p != Path::new("-") => write_atomic(p, &polytag_report::markdown(&runs))?,
        Some(_) => print!("{}", polytag_report::markdown(&runs)),
        None if html.is_none() => print!("{}", polytag_report::markdown(&runs)),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temp file in the same directory and renames, so a reader never sees half
/// a report (design.md §6).
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
