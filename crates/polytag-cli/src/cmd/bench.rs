//! `polytag bench CONFIG [--set K=V]… [--steps N] [--warmup N] [--decode-batch N]`: the
//! throughput benchmark of issue 6 (`../shared/bench/README.md`) through polytag's own paths.
//!
//! The experiment is resolved and its corpora loaded as `train` does; the trainer's own step
//! (`Trainer::train_steps`: scheduled task, the seeded batch stream — bucketed or shuffled as
//! the dataset's `batching` says —, per-step dropout seed, loss, backward, global-norm
//! clipping, the task's optimizer) runs `warmup` untimed steps, then `steps` timed ones; then
//! the target task's dev split is decoded by the one decode path (`decode_sentences`) in file
//! order, `decode_batch` sentences per batch. The decode timing starts from the sentences as
//! read, so it counts the string → id encoding and the padding, as the PyTorch peer's timing
//! counts its `make_batch`. One JSON line on stdout with the peer's keys. The trainer insists
//! on a run directory: it gets a temporary one, removed at the end, so a bench leaves nothing
//! behind.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::module::Module;
use polytag_data::EncodedSentence;
use polytag_train::decode::{batch_options, decode_sentences, Want};
use polytag_train::{backend_threads, configure_threads, RunDir, Trainer, Vocabularies};
use serde_json::json;

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

/// What one bench measured, before rounding.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    threads: usize,
    steps: u64,
    batch: usize,
    final_loss: f64,
    train_sentences: usize,
    train_tokens: usize,
    train_s: f64,
    decode_sentences: usize,
    decode_tokens: usize,
    decode_correct: usize,
    decode_s: f64,
    peak_rss_mb: Option<f64>,
}

/// Runs `bench`; prints the JSON line; exit code 0.
pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    if args.steps == 0 || args.decode_batch == 0 {
        bail!("--steps and --decode-batch must be at least 1");
    }
    let figures = measure(args)?;
    println!("{}", to_json(&figures));
    Ok(ExitCode::SUCCESS)
}

fn measure(args: &BenchArgs) -> Result<Figures> {
    let (exp, data) = load_experiment(&args.config, &parse_overrides(&args.set)?)?;
    let device = polytag_model::select_device(exp.training.device)?;
    if let Some(threads) = exp.training.threads {
        configure_threads(threads)?;
    }
    let task = exp.target();
    let dataset = exp.tasks[task].dataset;
    let batch = exp.datasets[dataset].batch_size;
    // Taken before the trainer owns the data: the dev sentences as read, and the task's
    // vocabularies (the trainer builds the same ones from the same data).
    let dev = data.datasets[dataset].dev.clone();
    let vocabs = Vocabularies::from_data(&exp, &data).task_vocabs(&exp, task)?;
    let opts = batch_options(&exp);

    let scratch = ScratchDir::new()?;
    let run_dir = RunDir::create_exact(scratch.path())?;
    let mut trainer = Trainer::new(exp, data, run_dir, device.clone())?;
    trainer.train_steps(args.warmup)?;
    let started = Instant::now();
    let steps = trainer.train_steps(args.steps)?;
    let train_s = started.elapsed().as_secs_f64();
    let final_loss = steps.last().map_or(f64::NAN, |s| s.loss);

    let model = trainer.model().valid();
    let eval_device = device.inner();
    let encoder = vocabs.encoder(true);
    let (mut decode_tokens, mut decode_correct) = (0usize, 0usize);
    let started = Instant::now();
    for chunk in dev.sentences.chunks(args.decode_batch) {
        let encoded = chunk
            .iter()
            .map(|s| encoder.encode(s, &dev.path))
            .collect::<Result<Vec<EncodedSentence>, _>>()
            .with_context(|| format!("encoding {}", dev.path.display()))?;
        // A chunk is one batch: `decode_sentences` sorts within it, which changes no row.
        let decoded = decode_sentences(
            &model,
            task,
            &encoded,
            &eval_device,
            args.decode_batch,
            &opts,
            Want::default(),
        )?;
        for (gold, predicted) in encoded.iter().zip(&decoded) {
            decode_tokens += gold.len();
            decode_correct += gold
                .labels
                .iter()
                .zip(&predicted.path)
                .filter(|(g, p)| g == p)
                .count();
        }
    }
    let decode_s = started.elapsed().as_secs_f64();
    if decode_tokens == 0 {
        bail!(
            "{}: the dev split has no tokens to decode",
            dev.path.display()
        );
    }
    Ok(Figures {
        threads: backend_threads(),
        steps: args.steps,
        batch,
        final_loss,
        train_sentences: steps.iter().map(|s| s.sentences).sum(),
        train_tokens: steps.iter().map(|s| s.tokens).sum(),
        train_s,
        decode_sentences: dev.sentences.len(),
        decode_tokens,
        decode_correct,
        decode_s,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// The JSON line, with the keys and rounding of `../shared/bench/peer_torch.py`.
fn to_json(f: &Figures) -> serde_json::Value {
    let round = |x: f64, digits: i32| {
        let scale = 10f64.powi(digits);
        (x * scale).round() / scale
    };
    let per_s = |n: usize, s: f64| round(n as f64 / s.max(1e-9), 1);
    json!({
        "system": format!("polytag-{}", env!("CARGO_PKG_VERSION")),
        "threads": f.threads,
        "train_steps": f.steps,
        "batch": f.batch,
        "final_loss": round(f.final_loss, 4),
        "train_sent_per_s": per_s(f.train_sentences, f.train_s),
        "train_tok_per_s": per_s(f.train_tokens, f.train_s),
        "decode_sentences": f.decode_sentences,
        "decode_sent_per_s": per_s(f.decode_sentences, f.decode_s),
        "decode_tok_per_s": per_s(f.decode_tokens, f.decode_s),
        "decode_token_acc": round(f.decode_correct as f64 / f.decode_tokens as f64, 4),
        "peak_rss_mb": f.peak_rss_mb.map(|mb| round(mb, 1)),
    })
}

/// Peak resident set size in MiB (`VmHWM` of `/proc/self/status`, what `getrusage`'s
/// `ru_maxrss` reports on Linux); `None` where there is no `/proc`.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_hwm_kib(&status).map(|kib| kib as f64 / 1024.0)
}

/// The `VmHWM:   123456 kB` line's number.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line["VmHWM:".len()..]
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// A fresh directory under the system temp dir, removed (with its contents) when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        for n in 0..1000 {
            let path = base.join(format!("polytag-bench-{pid}-{n}"));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(ScratchDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        bail!("cannot create a scratch directory in {}", base.display())
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp dir is not worth failing a finished bench for.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_from_proc_status() {
        let status = "Name:\tpolytag\nVmPeak:\t  900 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(204_800));
        assert_eq!(vm_hwm_kib("VmRSS:\t 1 kB\n"), None);
        assert_eq!(vm_hwm_kib("VmHWM:\t lots\n"), None);
    }

    #[test]
    fn json_has_the_peers_keys_and_rounding() {
        let f = Figures {
            threads: 2,
            steps: 4,
            batch: 19,
            final_loss: 1.234_56,
            train_sentences: 76,
            train_tokens: 1000,
            train_s: 3.0,
            decode_sentences: 10,
            decode_tokens: 150,
            decode_correct: 149,
            decode_s: 0.5,
            peak_rss_mb: Some(300.04),
        };
        let v = to_json(&f);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "system",
                "threads",
                "train_steps",
                "batch",
                "final_loss",
                "train_sent_per_s",
                "train_tok_per_s",
                "decode_sentences",
                "decode_sent_per_s",
                "decode_tok_per_s",
                "decode_token_acc",
                "peak_rss_mb"
            ]
        );
        assert_eq!(v["final_loss"], json!(1.2346));
        assert_eq!(v["train_sent_per_s"], json!(25.3));
        assert_eq!(v["train_tok_per_s"], json!(333.3));
        assert_eq!(v["decode_sent_per_s"], json!(20.0));
        assert_eq!(v["decode_tok_per_s"], json!(300.0));
        assert_eq!(v["decode_token_acc"], json!(0.9933));
        assert_eq!(v["peak_rss_mb"], json!(300.0));
    }

    #[test]
    fn the_scratch_dir_is_removed_when_dropped() {
        let dir = ScratchDir::new().unwrap();
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("config.json"), "{}").unwrap();
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists());
    }
}
