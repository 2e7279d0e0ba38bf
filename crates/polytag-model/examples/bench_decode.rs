//! Times the decode path of the paper's model (the `bench_paper` sizes) on the CPU:
//! `model.valid()` (no autodiff), emissions + exact Viterbi, batches of 100 sentences.
//!
//! ```text
//! cargo run --release -p polytag-model --example bench_decode -- [REPS] [--file DEV.conll]
//!     [--batch 100] [--order length|file]
//! ```
//!
//! Every rep decodes the whole set (default: 3,250 synthetic sentences; with `--file`, all
//! sentences of that file), building each batch's tensors as polytag's decode path does
//! (`Batch::build` → `TaskInput::from_batch`). Batches follow polytag's evaluation order,
//! longest sentences first (`--order file` keeps file order, as the PyTorch reference).
//! Prints the median over REPS (default 5) of the whole pass, per batch, and tokens/s.
#![allow(clippy::print_stdout)]

mod common;

use std::time::Instant;

use burn::prelude::*;
use common::{arg, batch, median, paper_config, sentences};
use polytag_data::{eval_batches, EvalOrder};
use polytag_model::TaskInput;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let file = arg("--file");
    let batch_size: usize = arg("--batch").and_then(|b| b.parse().ok()).unwrap_or(100);
    let order = match arg("--order").as_deref() {
        Some("file") => EvalOrder::File,
        _ => EvalOrder::Length,
    };
    let device = Device::flex();
    device.seed(0);
    let model = paper_config().init(&device)?;
    model.force_init();
    let model = model.valid();
    let rows = sentences(file.as_deref(), usize::MAX, 3250)?;
    let lengths: Vec<usize> = rows.iter().map(|s| s.len()).collect();
    let tokens: usize = lengths.iter().sum();
    let batches = eval_batches(&lengths, batch_size, order)?;
    let mut passes = Vec::new();
    let mut checksum = 0u64;
    for rep in 0..reps + 1 {
        let t0 = Instant::now();
        for indices in &batches {
            let input = TaskInput::from_batch(&batch(&rows, indices), &device)?;
            let paths = model.decode(0, &input)?;
            checksum += paths.iter().flatten().map(|&y| u64::from(y)).sum::<u64>();
        }
        // the first pass warms up allocator and caches
        if rep > 0 {
            passes.push(t0.elapsed().as_secs_f64());
        }
    }
    let pass = median(passes);
    println!(
        "decode: {} sentences, {tokens} tokens, {} batches of ≤{batch_size}; median of {reps}: \
         {:.1} ms per pass, {:.2} ms per batch, {:.0} tok/s (checksum {checksum})",
        rows.len(),
        batches.len(),
        pass * 1e3,
        pass * 1e3 / batches.len() as f64,
        tokens as f64 / pass
    );
    Ok(())
}
