//! `polytag export RUN --format hf OUT`: a trained run's task as a Hugging Face
//! token-classification model directory (see `polytag_train::HfExport` for what can be
//! exported and why a CRF or gated task is refused).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::ValueEnum;
use polytag_train::run_dir::CheckpointKind;
use polytag_train::Predictor;

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A `transformers` `AutoModelForTokenClassification` directory.
    Hf,
}

/// Exports the best checkpoint of `run_dir`'s task `task` to `out` (a new or empty folder).
pub fn run(
    run_dir: &Path,
    format: ExportFormat,
    out: &Path,
    task: Option<&str>,
) -> Result<ExitCode> {
    match format {
        ExportFormat::Hf => {}
    }
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{}: exists and is not an empty folder; give a new output folder",
            out.display()
        );
    }
    let predictor = Predictor::load(run_dir, CheckpointKind::Best)?;
    let done = predictor.export_hf(task, out)?;
    errln!(
        "polytag: exported task {:?} (step {}, {} labels) to {}",
        done.task,
        predictor.step(),
        done.labels.len(),
        done.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
