//! `polytag bench CONFIG [--set K=V]… [--steps N] [--warmup N] [--decode-batch N]`: the
//! throughput benchmark of issue 6 (`../shared/bench/README.md`); the measuring is
//! [`polytag_train::bench`]. `polytag bench --keys` prints the JSON line's keys, one per line,
//! for scripts that check a bench line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use polytag_train::bench::{measure, BenchOptions, KEYS};
use polytag_train::configure_threads;

use crate::cmd::validate::{load_experiment, parse_overrides};

/// The options of `polytag bench`.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    /// The experiment file.
    pub config: PathBuf,
    /// `--set PATH=VALUE` overrides.
    pub set: Vec<String>,
    /// Timed training steps (at least 1).
    pub steps: u64,
    /// Untimed steps before the timed ones.
    pub warmup: u64,
    /// Dev sentences per decoding batch (at least 1).
    pub decode_batch: usize,
}

/// Runs `bench`; prints the JSON line; exit code 0.
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    if args.steps == 0 || args.decode_batch == 0 {
        bail!("--steps and --decode-batch must be at least 1");
    }
    let (exp, data) = load_experiment(&args.config, &parse_overrides(&args.set)?)?;
    let device = polytag_model::select_device(exp.training.device)?;
    if let Some(threads) = exp.training.threads {
        configure_threads(threads)?;
    }
    let opts = BenchOptions {
        steps: args.steps,
        warmup: args.warmup,
        decode_batch: args.decode_batch,
    };
    let figures = measure(exp, data, device, &opts)?;
    outln!("{}", figures.to_json());
    Ok(ExitCode::SUCCESS)
}

/// `polytag bench --keys`: the JSON line's keys, one per line.
pub fn keys() -> Result<ExitCode> {
    for key in KEYS {
        outln!("{key}");
    }
    Ok(ExitCode::SUCCESS)
}
