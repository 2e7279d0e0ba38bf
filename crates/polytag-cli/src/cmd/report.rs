//! `polytag report`: compares run directories as Markdown (stdout or a file) and/or one
//! self-contained HTML file; the work is in polytag-report. A sweep directory stands for its
//! runs (those that have started), so `polytag report SWEEP_DIR` works for local and Slurm
//! sweeps alike.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use polytag_sweep::Plan;

/// Loads `run_dirs` and writes the requested reports; with neither `html` nor `md`, prints
/// the Markdown report.
pub fn run(run_dirs: &[PathBuf], html: Option<&Path>, md: Option<&Path>) -> Result<ExitCode> {
    let mut dirs = Vec::new();
    for d in run_dirs {
        if Plan::is_sweep_dir(d) && !d.join("config.json").is_file() {
            let runs = crate::cmd::sweep::run_dirs(&Plan::load(d)?, d)?;
            if runs.is_empty() {
                anyhow::bail!("{}: no run of this sweep has started yet", d.display());
            }
            dirs.extend(runs);
        } else {
            dirs.push((d.clone(), None));
        }
    }
    let runs = crate::cmd::sweep::load_runs(&dirs)?;
    if let Some(path) = html {
        polytag_train::write_atomic(path, polytag_report::html(&runs).as_bytes())?;
    }
    match md {
        Some(p) if p != Path::new("-") => {
            polytag_train::write_atomic(p, polytag_report::markdown(&runs).as_bytes())?
        }
        Some(_) => out!("{}", polytag_report::markdown(&runs)),
        None if html.is_none() => out!("{}", polytag_report::markdown(&runs)),
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}
