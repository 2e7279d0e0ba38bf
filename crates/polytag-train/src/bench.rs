//! `polytag bench`: the throughput benchmark of issue 6 (`../shared/bench/README.md`)
//! through polytag's own paths.
//!
//! The experiment is resolved and its corpora loaded as `train` does ([`crate::experiment`]);
//! the trainer's own step (`Trainer::train_steps`: scheduled task, the seeded batch stream —
//! bucketed or shuffled as the dataset's `batching` says —, per-step dropout seed, loss,
//! backward, global-norm clipping, the task's optimizer) runs `warmup` untimed steps, then
//! `steps` timed ones; then the target task's dev split is decoded by the one decode path
//! (`decode_sentences`) in file order, `decode_batch` sentences per batch. The decode timing
//! starts from the sentences as read, so it counts the string → id encoding and the padding,
//! as the PyTorch peer's timing counts its `make_batch`. The result is one JSON line with the
//! peer's keys ([`KEYS`]). The trainer insists on a run directory: it gets a temporary one,
//! removed at the end, so a bench leaves nothing behind.

use std::time::Instant;

use burn::module::Module;
use burn::prelude::*;
use polytag_config::Experiment;
use polytag_data::{EncodedSentence, ExperimentData};
use serde_json::json;

use crate::decode::{batch_options, decode_sentences, Want};
use crate::error::{Error, Result};
use crate::trainer::{backend_threads, Trainer};
use crate::vocabularies::Vocabularies;
use polytag_run::RunDir;

/// The keys of the JSON line, in order: those of `../shared/bench/peer_torch.py`, so the two
/// lines compare key by key (`polytag bench --keys` prints them for scripts).
pub const KEYS: [&str; 12] = [
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
    "peak_rss_mb",
];

/// How much to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchOptions {
    /// Timed training steps (at least 1).
    pub steps: u64,
    /// Untimed steps before the timed ones.
    pub warmup: u64,
    /// Dev sentences per decoding batch (at least 1).
    pub decode_batch: usize,
}

/// What one bench measured, before rounding.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Backend threads.
    pub threads: usize,
    /// Timed training steps.
    pub steps: u64,
    /// The target dataset's batch size.
    pub batch: usize,
    /// Loss of the last timed step.
    pub final_loss: f64,
    /// Sentences in the timed steps.
    pub train_sentences: usize,
    /// Tokens in the timed steps.
    pub train_tokens: usize,
    /// Seconds of the timed steps.
    pub train_s: f64,
    /// Dev sentences decoded.
    pub decode_sentences: usize,
    /// Dev tokens decoded.
    pub decode_tokens: usize,
    /// Of those, tokens whose predicted label is the gold one.
    pub decode_correct: usize,
    /// Seconds of decoding, encoding included.
    pub decode_s: f64,
    /// Peak resident set size in MiB, where the OS says.
    pub peak_rss_mb: Option<f64>,
}

/// Trains and decodes `exp` on `device` as the module documentation says. Call
/// [`crate::configure_threads`] before, as `train` does.
pub fn measure(
    exp: Experiment,
    data: ExperimentData,
    device: Device,
    opts: &BenchOptions,
) -> Result<Figures> {
    for (path, value) in [
        ("bench.steps", opts.steps),
        ("bench.decode_batch", opts.decode_batch as u64),
    ] {
        if value == 0 {
            return Err(polytag_run::Error::InvalidValue {
                path: path.to_string(),
                value: 0.0,
                expected: "at least 1",
            }
            .into());
        }
    }
    let task = exp.target();
    let dataset = exp.tasks[task].dataset;
    let batch = exp.datasets[dataset].batch_size;
    // Taken before the trainer owns the data: the dev sentences as read, and the task's
    // vocabularies (the trainer builds the same ones from the same data).
    let dev = data.datasets[dataset].dev.clone();
    let vocabs = Vocabularies::from_data(&exp, &data)
        .task_vocabs(&exp, task)
        .map_err(|source| Error::Data {
            context: format!("task {:?}: input vocabularies", exp.tasks[task].name),
            source,
        })?;
    let batch_opts = batch_options(&exp);

    let scratch = tempfile::Builder::new()
        .prefix("polytag-bench-")
        .tempdir()
        .map_err(|source| polytag_run::Error::CreateDir {
            path: std::env::temp_dir(),
            source,
        })?;
    let run_dir = RunDir::create_exact(scratch.path())?;
    let mut trainer = Trainer::new(exp, data, run_dir, device.clone())?;
    trainer.train_steps(opts.warmup)?;
    let started = Instant::now();
    let steps = trainer.train_steps(opts.steps)?;
    let train_s = started.elapsed().as_secs_f64();
    let final_loss = steps.last().map_or(f64::NAN, |s| s.loss);

    let model = trainer.model().valid();
    let eval_device = device.inner();
    let encoder = vocabs.encoder(true);
    let (mut decode_tokens, mut decode_correct) = (0usize, 0usize);
    let started = Instant::now();
    for chunk in dev.sentences.chunks(opts.decode_batch) {
        let encoded = chunk
            .iter()
            .map(|s| encoder.encode(s, &dev.path))
            .collect::<std::result::Result<Vec<EncodedSentence>, _>>()
            .map_err(|source| Error::Data {
                context: format!("encoding {}", dev.path.display()),
                source,
            })?;
        // A chunk is one call: `decode_sentences` sorts it by length and cuts it where padding
        // would outgrow its tokens (`EvalOrder::Length`), neither of which changes a row.
        let decoded = decode_sentences(
            &model,
            task,
            &encoded,
            &eval_device,
            opts.decode_batch,
            &batch_opts,
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
        return Err(Error::NothingToDecode { path: dev.path });
    }
    // Dropped here, after the timings: the trainer's files go with the scratch directory.
    drop(trainer);
    drop(scratch);
    Ok(Figures {
        threads: backend_threads(),
        steps: opts.steps,
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

impl Figures {
    /// The JSON line, with the keys and rounding of `../shared/bench/peer_torch.py`.
    pub fn to_json(&self) -> serde_json::Value {
        let f = self;
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
        let v = f.to_json();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, KEYS);
        assert_eq!(
            KEYS,
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
}
