//! `polytag sweep CONFIG… [--grid PATH=V1,V2]… [--seeds 1,2,3] [--jobs N]`, `--emit slurm`,
//! and `polytag sweep --resume SWEEP_DIR`.
//!
//! Every variant's config is resolved before anything is written, so a misspelt grid key
//! fails the sweep at once, not after the first hour of runs. The runs themselves are child
//! `polytag train` processes (polytag-sweep); at the end the sweep directory gets
//! `report.md` and `report.html` with the seeds grouped.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use polytag_config::{Experiment, Override};
use polytag_sweep::{
    Axis, Event, Outcome, Plan, PlanSpec, Runner, SlurmOptions, State, Status, Summary,
};

use crate::cmd::validate::report_config_errors;

/// The options of `polytag sweep`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// Experiment files (JSON); several make one more axis of the grid (`config`).
    #[arg(required_unless_present = "resume", value_name = "CONFIG")]
    pub configs: Vec<PathBuf>,
    /// One axis: a config path as for --set and its values (`components.encoder.model=gru,lstm`;
    /// commas inside [..], {..} or "..." do not split). Repeat for more axes.
    #[arg(long = "grid", value_name = "PATH=V1,V2")]
    pub grid: Vec<String>,
    /// Seeds: each variant runs once per seed; the report gives mean ± std over them.
    #[arg(long, value_delimiter = ',', value_name = "S1,S2")]
    pub seeds: Vec<u64>,
    /// Override a config value in every run: `training.max_step=500`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Runs at a time (each gets an equal share of the cores unless RAYON_NUM_THREADS is set);
    /// with --emit slurm, at most this many array tasks at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    /// The sweep directory (default `<output_dir>/<experiment>-sweep/<time>/`).
    #[arg(long, value_name = "DIR")]
    pub sweep_dir: Option<PathBuf>,
    /// Continue the sweep in DIR: finished runs are kept, killed ones resumed, failed ones
    /// tried again.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["configs", "grid", "seeds", "set", "sweep_dir", "emit"])]
    pub resume: Option<PathBuf>,
    /// Do not run: write a job script for a cluster scheduler into the sweep directory.
    #[arg(long, value_enum, value_name = "KIND")]
    pub emit: Option<Emit>,
    /// With --emit slurm: one more `#SBATCH` option (`--time=04:00:00`); repeatable.
    #[arg(
        long = "sbatch",
        value_name = "OPTION",
        requires = "emit",
        allow_hyphen_values = true
    )]
    pub sbatch: Vec<String>,
    /// Device for every run: cpu, cuda, wgpu, auto (overrides `training.device`).
    #[arg(long, value_name = "D")]
    pub device: Option<String>,
}

/// Job scripts `--emit` can write.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// A Slurm array job (`sbatch SWEEP_DIR/sweep.slurm`).
    Slurm,
}

/// Runs `sweep`: exit code 0 when every run finished, 1 when some failed (the others are run
/// and reported all the same).
pub fn run(args: &SweepArgs) -> Result<ExitCode> {
    let (plan, sweep_dir) = match &args.resume {
        Some(dir) => (Plan::load(dir)?, dir.clone()),
        None => plan_new(args)?,
    };
    let device_args: Vec<String> = args
        .device
        .iter()
        .flat_map(|d| ["--device".to_string(), d.clone()])
        .collect();
    let program = std::env::current_exe().context("cannot find the polytag executable")?;
    if args.emit == Some(Emit::Slurm) {
        let script = polytag_sweep::slurm_script(
            &plan,
            &sweep_dir,
            &SlurmOptions {
                program,
                job_name: job_name(&sweep_dir),
                max_parallel: args.jobs.map(|j| j as usize),
                sbatch: args.sbatch.clone(),
                extra_args: device_args,
            },
        );
        let path = sweep_dir.join("sweep.slurm");
        polytag_train::write_atomic(&path, script.as_bytes())?;
        set_executable(&path)?;
        outln!(
            "{} array tasks ({}) in {}",
            plan.runs.len(),
            shape(&plan),
            path.display()
        );
        outln!("submit: sbatch {}", path.display());
        outln!("then:   polytag report {}", sweep_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let jobs = args.jobs.unwrap_or(1) as usize;
    let mut env = Vec::new();
    if jobs > 1 && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        env.push((
            "RAYON_NUM_THREADS".to_string(),
            (cores / jobs).max(1).to_string(),
        ));
    }
    let runner = Runner {
        program,
        jobs,
        extra_args: device_args,
        env,
    };
    errln!(
        "polytag: sweep of {} runs ({}), {jobs} at a time, in {}",
        plan.runs.len(),
        shape(&plan),
        sweep_dir.display()
    );
    let total = plan.runs.len();
    let mut ended = 0;
    let summary = polytag_sweep::run(&plan, &sweep_dir, &runner, &mut |event| {
        let name = |i: usize| plan.runs[i].dir.display().to_string();
        match event {
            Event::AlreadyDone { index } => {
                ended += 1;
                errln!("[{ended}/{total}] finished before: {}", name(*index));
            }
            Event::Started { index, resumed, .. } => errln!(
                "polytag: {} {}",
                if *resumed { "resuming" } else { "starting" },
                name(*index)
            ),
            Event::Finished {
                index,
                outcome,
                wall_time_s,
            } => {
                ended += 1;
                match outcome {
                    Outcome::Done => errln!(
                        "[{ended}/{total}] done: {} ({wall_time_s:.1} s)",
                        name(*index)
                    ),
                    Outcome::Failed { error, .. } => errln!(
                        "[{ended}/{total}] FAILED: {} ({wall_time_s:.1} s): {error}",
                        name(*index)
                    ),
                }
            }
        }
    })?;
    let written = write_reports(&plan, &sweep_dir)?;
    finish(&plan, &sweep_dir, &summary, written)
}

/// Plans a new sweep: parses the grid, resolves every variant's config, picks and fills the
/// sweep directory with `sweep.json`.
fn plan_new(args: &SweepArgs) -> Result<(Plan, PathBuf)> {
    let axes = args
        .grid
        .iter()
        .map(|g| Axis::parse(g))
        .collect::<polytag_sweep::Result<Vec<Axis>>>()?;
    let plan = Plan::new(PlanSpec {
        configs: args.configs.clone(),
        sets: args.set.clone(),
        axes,
        seeds: args.seeds.clone(),
    })?;
    // Every variant (its first seed stands for the others) must resolve.
    let mut first: Option<Experiment> = None;
    let mut failed = 0;
    for run in plan.runs.iter().take(plan.variants()) {
        let overrides = run
            .sets
            .iter()
            .map(|s| Override::parse(s).with_context(|| format!("--set {s}")))
            .collect::<Result<Vec<Override>>>()?;
        match Experiment::load(&run.config, &overrides) {
            Ok(resolved) => {
                first.get_or_insert(resolved.experiment);
            }
            Err(errors) => {
                errln!("polytag: variant {}:", run.variant);
                report_config_errors(&run.config, &errors);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} variants do not resolve; nothing was run",
            plan.variants()
        );
    }
    let sweep_dir = match &args.sweep_dir {
        Some(dir) => dir.clone(),
        None => {
            let exp = first.context("no variant")?;
            exp.output_dir
                .unwrap_or_else(|| PathBuf::from("runs"))
                .join(polytag_train::file_name_safe(&format!(
                    "{}-sweep",
                    exp.name
                )))
                .join(polytag_train::utc_timestamp(SystemTime::now()))
        }
    };
    let sweep_dir = std::path::absolute(&sweep_dir)
        .with_context(|| format!("{}: not a usable path", sweep_dir.display()))?;
    if Plan::is_sweep_dir(&sweep_dir) {
        bail!(
            "{} already holds a sweep; continue it with `polytag sweep --resume {}`",
            sweep_dir.display(),
            sweep_dir.display()
        );
    }
    if std::fs::read_dir(&sweep_dir).is_ok_and(|mut d| d.next().is_some()) {
        bail!(
            "{} is not empty; give a new --sweep-dir",
            sweep_dir.display()
        );
    }
    plan.save(&sweep_dir)?;
    Ok((plan, sweep_dir))
}

/// The run directories of a sweep that hold a run (a config), in plan order, each with the
/// error of its last attempt when `state.json` records it as failed.
pub fn run_dirs(plan: &Plan, sweep_dir: &Path) -> Result<Vec<(PathBuf, Option<String>)>> {
    let state = State::load(sweep_dir, plan)?;
    Ok(plan
        .runs
        .iter()
        .zip(&state.runs)
        .map(|(r, s)| {
            let failure = (s.status == Status::Failed)
                .then(|| s.error.clone().unwrap_or_else(|| "failed".to_string()));
            (sweep_dir.join(&r.dir), failure)
        })
        .filter(|(d, _)| d.join("config.json").is_file())
        .collect())
}

/// Loads run directories for a report, marking those a sweep recorded as failed.
pub fn load_runs(dirs: &[(PathBuf, Option<String>)]) -> Result<Vec<polytag_report::Run>> {
    let paths: Vec<PathBuf> = dirs.iter().map(|(d, _)| d.clone()).collect();
    let mut runs = polytag_report::load_runs(&paths)?;
    for (run, (_, failure)) in runs.iter_mut().zip(dirs) {
        if let Some(why) = failure {
            run.mark_failed(why.clone());
        }
    }
    Ok(runs)
}

/// Writes `report.md` and `report.html` into the sweep directory and prints the Markdown;
/// false when no run got as far as writing its config.
fn write_reports(plan: &Plan, sweep_dir: &Path) -> Result<bool> {
    let dirs = run_dirs(plan, sweep_dir)?;
    if dirs.is_empty() {
        return Ok(false);
    }
    let runs = load_runs(&dirs)?;
    let md = polytag_report::markdown(&runs);
    polytag_train::write_atomic(&sweep_dir.join("report.md"), md.as_bytes())?;
    polytag_train::write_atomic(
        &sweep_dir.join("report.html"),
        polytag_report::html(&runs).as_bytes(),
    )?;
    out!("{md}");
    Ok(true)
}

fn finish(plan: &Plan, sweep_dir: &Path, summary: &Summary, written: bool) -> Result<ExitCode> {
    if written {
        outln!(
            "\nreport: {} and {}",
            sweep_dir.join("report.md").display(),
            sweep_dir.join("report.html").display()
        );
    }
    if summary.failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for &i in &summary.failed {
        errln!(
            "polytag: failed: {} (log: {})",
            plan.runs[i].dir.display(),
            sweep_dir.join("logs").display()
        );
    }
    bail!(
        "{} of {} runs failed (see {}); `polytag sweep --resume {}` tries them again",
        summary.failed.len(),
        plan.runs.len(),
        sweep_dir.join(polytag_sweep::STATE_FILE).display(),
        sweep_dir.display()
    )
}

/// `15 variants x 1 seed`.
fn shape(plan: &Plan) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} x {}",
        plural(plan.variants(), "variant"),
        plural(plan.seeds.len().max(1), "seed")
    )
}

fn job_name(sweep_dir: &Path) -> String {
    let parent = sweep_dir
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    parent.unwrap_or_else(|| "polytag-sweep".to_string())
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}
