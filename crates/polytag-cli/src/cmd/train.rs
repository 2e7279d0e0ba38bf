//! `polytag train CONFIG [--set K=V]… [--run-dir DIR] [--device D]` and
//! `polytag train --resume RUN_DIR`.
//!
//! Everything that can be checked is checked before the run directory exists (config
//! resolution, corpora, the device), with the same error rendering as `validate`, so a bad
//! experiment leaves nothing behind. Then the trainer runs with `tracing` going to the run's
//! `log.txt` (and to stderr at info level when stderr is not a terminal; on a terminal a
//! progress bar shows the steps instead).

use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use polytag_config::Override;
use polytag_train::{
    configure_threads, NoProgress, Progress, RunDir, RunSummary, TerminalProgress, Trainer,
};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::cmd::validate::{load_experiment, parse_overrides};

/// The options of `polytag train`.
#[derive(Debug, Clone, Default)]
pub struct TrainArgs {
    /// The experiment file (absent with `--resume`).
    pub config: Option<PathBuf>,
    /// `--set PATH=VALUE` overrides.
    pub set: Vec<String>,
    /// `--run-dir DIR`: exactly this directory instead of `<output_dir>/<name>/<time>/`.
    pub run_dir: Option<PathBuf>,
    /// `--resume DIR`: continue that run from its last checkpoint.
    pub resume: Option<PathBuf>,
    /// `--device D`: overrides `training.device`.
    pub device: Option<String>,
}

/// Runs `train`; exit code 0 when training finished, errors rendered by `main`.
pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let summary = match &args.resume {
        Some(dir) => resume(dir, args)?,
        None => start(args)?,
    };
    if let Some((step, score)) = summary.best {
        println!(
            "best: step {step}, ref dev score {:.2}{}",
            100.0 * score,
            if summary.stopped_early {
                " (stopped early)"
            } else {
                ""
            }
        );
    }
    println!("report: {}", summary.report_md.display());
    Ok(ExitCode::SUCCESS)
}

fn device_override(device: &Option<String>) -> Result<Vec<Override>> {
    device
        .iter()
        .map(|d| {
            Override::parse(&format!("training.device={d}"))
                .with_context(|| format!("--device {d}"))
        })
        .collect()
}

fn start(args: &TrainArgs) -> Result<RunSummary> {
    let Some(config) = &args.config else {
        bail!("give an experiment file (polytag train CONFIG) or --resume RUN_DIR");
    };
    let mut overrides = parse_overrides(&args.set)?;
    overrides.extend(device_override(&args.device)?);
    let (exp, data) = load_experiment(config, &overrides)?;
    let device = polytag_model::select_device(exp.training.device)?;
    if let Some(threads) = exp.training.threads {
        configure_threads(threads)?;
    }
    let (run_dir, created) = match &args.run_dir {
        Some(dir) => {
            let existed = dir.exists();
            (RunDir::create_exact(dir)?, !existed)
        }
        None => {
            let output = exp
                .output_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("runs"));
            (RunDir::create(&output, &exp.name)?, true)
        }
    };
    let root = run_dir.path().to_path_buf();
    let _log = log_to(&run_dir)?;
    super::vectors::write_embedding_coverage(&root, &exp, &data)?;
    eprintln!("polytag: training {} in {}", exp.name, root.display());
    let trainer = match Trainer::new(exp, data, run_dir, device) {
        Ok(t) => t,
        Err(e) => {
            // Nothing trained yet: leave no half run behind.
            if created {
                let _ = std::fs::remove_dir_all(&root);
            }
            return Err(e.into());
        }
    };
    Ok(trainer.run(progress().as_mut())?)
}

fn resume(dir: &Path, args: &TrainArgs) -> Result<RunSummary> {
    if args.config.is_some() || !args.set.is_empty() || args.run_dir.is_some() {
        bail!(
            "--resume continues a run with its own config.json; give no CONFIG, --set or --run-dir"
        );
    }
    let run_dir = RunDir::open(dir)?;
    let (exp, data) = load_experiment(&run_dir.config_path(), &device_override(&args.device)?)?;
    let device = polytag_model::select_device(exp.training.device)?;
    if let Some(threads) = exp.training.threads {
        configure_threads(threads)?;
    }
    let _log = log_to(&run_dir)?;
    eprintln!("polytag: resuming {} in {}", exp.name, dir.display());
    let trainer = Trainer::resume(exp, data, run_dir, device)?;
    Ok(trainer.run(progress().as_mut())?)
}

fn progress() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(TerminalProgress::new())
    } else {
        Box::new(NoProgress)
    }
}

/// Sends polytag's `tracing` events (info and up) to the run's `log.txt` (appending, so a
/// resumed run continues the same log) and, off a terminal, to stderr, for as long as the
/// guard lives. Other crates' events below warn are dropped.
fn log_to(run_dir: &RunDir) -> Result<tracing::subscriber::DefaultGuard> {
    let path = run_dir.log_path();
    let file = File::options()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let targets = || {
        Targets::new()
            .with_target("polytag", LevelFilter::INFO)
            .with_default(LevelFilter::WARN)
    };
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .with_writer(Mutex::new(file))
        .with_filter(targets());
    let on_terminal = std::io::stderr().is_terminal();
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_ansi(on_terminal)
        .with_target(false)
        .without_time()
        .with_writer(std::io::stderr)
        .with_filter(if on_terminal {
            Targets::new().with_default(LevelFilter::WARN)
        } else {
            targets()
        });
    let subscriber = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer);
    Ok(tracing::subscriber::set_default(subscriber))
}
