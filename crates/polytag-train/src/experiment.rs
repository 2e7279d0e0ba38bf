//! Loading an experiment: what `train`, `validate` and `bench` check before anything is built
//! or written (design.md §2, §3).
//!
//! The config is resolved first (every naming, kind, width and path problem at once), then the
//! corpora are read and the vocabularies built (every data problem at once). Nothing is
//! printed: problems come back as the error, warnings beside the result, and the caller (the
//! CLI) decides how to show them.

use std::fmt;
use std::path::{Path, PathBuf};

use polytag_config::{ConfigErrors, ConfigWarning, Experiment, Override, ResolveOptions};
use polytag_data::{DataErrors, ExperimentData};

/// A loaded experiment with the warnings met on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved experiment.
    pub experiment: Experiment,
    /// Its corpora, vocabularies and label schemes.
    pub data: ExperimentData,
    /// Config warnings, then label problems tolerated in the declared schemes, in that order.
    pub warnings: Vec<Warning>,
}

/// Something worth telling the user that does not stop the run.
#[derive(Debug)]
pub enum Warning {
    /// A config warning (no `ref` task, …).
    Config {
        /// The experiment file.
        config: PathBuf,
        /// The warning.
        warning: ConfigWarning,
    },
    /// A label that is invalid in its dataset's scheme (repaired while reading).
    Label {
        /// Index of the dataset in the config.
        dataset: usize,
        /// The corpus file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Config { config, warning } => write!(f, "{}: {warning}", config.display()),
            Warning::Label {
                dataset,
                path,
                line,
                message,
            } => write!(
                f,
                "datasets[{dataset}]: {}:{line}: {message}",
                path.display()
            ),
        }
    }
}

/// Why an experiment could not be loaded: every problem of the stage that failed.
#[derive(Debug)]
pub enum LoadError {
    /// The config does not resolve.
    Config(ConfigErrors),
    /// The config resolves, the corpora do not load.
    Data {
        /// The config's warnings, met before the data failed.
        warnings: Vec<Warning>,
        /// Every data problem.
        errors: DataErrors,
    },
}

/// Resolves the experiment file `config` with `overrides` and loads its corpora.
pub fn load(config: &Path, overrides: &[Override]) -> Result<Loaded, LoadError> {
    load_with(config, overrides, &ResolveOptions::default())
}

/// [`load`] with resolution options (a resumed run reads its transformer copies).
pub fn load_with(
    config: &Path,
    overrides: &[Override],
    options: &ResolveOptions,
) -> Result<Loaded, LoadError> {
    let resolved = Experiment::load_with(config, overrides, options).map_err(LoadError::Config)?;
    let mut warnings: Vec<Warning> = resolved
        .warnings
        .into_iter()
        .map(|warning| Warning::Config {
            config: config.to_path_buf(),
            warning,
        })
        .collect();
    let experiment = resolved.experiment;
    let data = match ExperimentData::load(&experiment) {
        Ok(d) => d,
        Err(errors) => return Err(LoadError::Data { warnings, errors }),
    };
    for (d, dataset) in data.datasets.iter().enumerate() {
        for (path, p) in &dataset.label_problems {
            warnings.push(Warning::Label {
                dataset: d,
                path: path.clone(),
                line: p.line,
                message: p.message.clone(),
            });
        }
    }
    Ok(Loaded {
        experiment,
        data,
        warnings,
    })
}
