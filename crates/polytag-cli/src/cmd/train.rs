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
use polytag_config::{Experiment, Override, ResolveOptions};
use polytag_run::{compare_corpora, CorpusFile, RunLock, CORPORA_FILE};
use polytag_train::{
    configure_threads, NoProgress, Progress, RunDir, RunSummary, TerminalProgress, Trainer,
};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::cmd::validate::{load_experiment, load_experiment_with, parse_overrides};

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
    die_with_sweep();
    let summary = match &args.resume {
        Some(dir) => resume(dir, args)?,
        None => start(args)?,
    };
    if let Some((step, score)) = summary.best {
        outln!(
            "best: step {step}, ref dev score {:.2}{}",
            100.0 * score,
            if summary.stopped_early {
                " (stopped early)"
            } else {
                ""
            }
        );
    }
    outln!("report: {}", summary.report_md.display());
    Ok(ExitCode::SUCCESS)
}

/// A training child of `sweep` (it sets [`polytag_sweep::PARENT_PID_ENV`]) ends when the sweep
/// is gone: a watcher notices the re-parenting within half a second. Ending at any moment is
/// safe for the run directory (checkpoints and records are written atomically; the lock of a
/// dead process is stale), exactly as a kill is; `sweep --resume` continues the run.
fn die_with_sweep() {
    let Some(sweep) = std::env::var(polytag_sweep::PARENT_PID_ENV)
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return;
    };
    let orphaned = move || std::os::unix::process::parent_id() != sweep;
    let stop = move || -> ! {
        errln!("polytag: the sweep that started this run (pid {sweep}) is gone; stopping");
        #[allow(clippy::exit)] // no destructor matters: the run directory is kill-safe
        std::process::exit(EXIT_ORPHANED)
    };
    if orphaned() {
        stop();
    }
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        if orphaned() {
            stop();
        }
    });
}

/// Exit code of a sweep child that stopped because its sweep is gone (128 + SIGKILL, as if
/// it had been killed with the sweep).
const EXIT_ORPHANED: i32 = 137;

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
            if let Some(pid) = polytag_run::lock::holder(dir) {
                return Err(polytag_run::Error::Locked {
                    path: dir.clone(),
                    pid,
                }
                .into());
            }
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
    let _lock = RunLock::acquire(&root)?;
    write_corpora(&root, &corpus_files(&exp)?)?;
    let _log = log_to(&run_dir)?;
    super::vectors::write_embedding_coverage(&root, &exp, &data)?;
    errln!("polytag: training {} in {}", exp.name, root.display());
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
    if args.config.is_some() || args.run_dir.is_some() {
        bail!("--resume continues a run with its own config.json; give no CONFIG or --run-dir");
    }
    let run_dir = RunDir::open(dir)?;
    // Before anything is read or written: one process per run directory.
    let _lock = RunLock::acquire(dir)?;
    let moved = parse_overrides(&args.set)?;
    if let Some(o) = moved.iter().find(|o| !is_corpus_path(&o.path)) {
        bail!(
            "--set {}: on --resume only corpus paths (datasets.N.files.train|dev|test) may be \
             set, for a moved data root; the run continues with its own config.json",
            o.text
        );
    }
    let mut overrides = moved.clone();
    overrides.extend(device_override(&args.device)?);
    let config = run_dir.config_path();
    // Transformer tokenizers and sizes come from the run's own copies, not the model folder.
    let options = ResolveOptions::default()
        .with_transformer_copies(polytag_train::transformers::copies_dir(run_dir.path()));
    // The corpora must be the ones the run was trained on, wherever they are now.
    if let Ok(resolved) = Experiment::load_with(&config, &overrides, &options) {
        let now = corpus_files(&resolved.experiment)?;
        let record = dir.join(CORPORA_FILE);
        match std::fs::read_to_string(&record) {
            Ok(text) => {
                let recorded: Vec<CorpusFile> = serde_json::from_str(&text)
                    .with_context(|| format!("{}: invalid corpus record", record.display()))?;
                let problems = compare_corpora(&recorded, &now);
                if !problems.is_empty() {
                    for p in &problems {
                        errln!("polytag: {}: {p}", config.display());
                    }
                    bail!(
                        "refusing to resume {}: {} corpus file(s) differ from the run's record \
                         ({})",
                        dir.display(),
                        problems.len(),
                        record.display()
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(
                    "{} has no {CORPORA_FILE} (an older run): recording the corpora as they are now",
                    dir.display()
                );
                write_corpora(dir, &now)?;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", record.display())),
        }
    }
    let (exp, data) = load_experiment_with(&config, &overrides, &options)?;
    if !moved.is_empty() {
        // The data root moved and the hashes match: the run's record follows the files, so
        // the next resume needs no --set.
        polytag_run::write_atomic(&config, format!("{}\n", exp.to_json()).as_bytes())?;
        write_corpora(dir, &corpus_files(&exp)?)?;
    }
    let device = polytag_model::select_device(exp.training.device)?;
    if let Some(threads) = exp.training.threads {
        configure_threads(threads)?;
    }
    let _log = log_to(&run_dir)?;
    errln!("polytag: resuming {} in {}", exp.name, dir.display());
    let trainer = Trainer::resume(exp, data, run_dir, device)?;
    Ok(trainer.run(progress().as_mut())?)
}

/// `datasets.N.files.train|dev|test`: the overrides a resume accepts.
fn is_corpus_path(path: &[String]) -> bool {
    matches!(path, [d, n, f, split]
        if d == "datasets" && n.parse::<usize>().is_ok() && f == "files"
            && matches!(split.as_str(), "train" | "dev" | "test"))
}

/// Size and SHA-256 of every corpus file of the experiment, keyed by its config path.
fn corpus_files(exp: &Experiment) -> Result<Vec<CorpusFile>> {
    let mut files = Vec::new();
    for (d, ds) in exp.datasets.iter().enumerate() {
        let mut named = vec![("train", ds.files.train.as_path())];
        if ds.dev_split.is_none() {
            named.push(("dev", ds.files.dev.as_path()));
        }
        if let Some(test) = &ds.files.test {
            named.push(("test", test.as_path()));
        }
        for (split, path) in named {
            files.push(CorpusFile::record(
                format!("datasets[{d}].files.{split}"),
                path,
            )?);
        }
    }
    Ok(files)
}

/// Writes `corpora.json` (atomically).
fn write_corpora(dir: &Path, files: &[CorpusFile]) -> Result<()> {
    let mut text = serde_json::to_string_pretty(files)?;
    text.push('\n');
    polytag_run::write_atomic(&dir.join(CORPORA_FILE), text.as_bytes())?;
    Ok(())
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
