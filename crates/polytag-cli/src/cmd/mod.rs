//! One module per subcommand; each `run` returns the process exit code or an error to render.

pub mod bench;
pub mod char_regress;
pub mod data;
pub mod eval;
pub mod export;
pub mod predict;
pub mod report;
pub mod schema;
pub mod score;
pub mod sweep;
pub mod train;
pub mod validate;
pub mod vectors;

use anyhow::Result;
use polytag_config::Experiment;
use polytag_data::ExperimentData;
use polytag_model::{BuildInputs, ModelSummary};

/// Builds the experiment's model on the CPU (no training device needed) and summarises it:
/// every shape is checked, so a config that validates also builds for `train`.
pub fn model_summary(exp: &Experiment, data: &ExperimentData) -> Result<ModelSummary> {
    let device = burn::prelude::Device::flex();
    let model = polytag_model::build(exp, &BuildInputs::from_data(exp, data), &device)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(model.summary())
}
