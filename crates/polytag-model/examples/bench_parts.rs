//! Times the pieces of the paper model's decode path (`model.valid()`, plain CPU device) on
//! one batch of 100 sentences, plus the raw flex ops they are made of.
//!
//! ```text
//! cargo run --release -p polytag-model --example bench_parts -- [PIECE] [REPS]
//!     [--file DEV.conll] [--batch-index I]
//! ```
//!
//! PIECE `all` (default) prints the median wall time of every piece. Any other PIECE (`cnn`,
//! `highway`, `lstm`, `emissions`, `viterbi`, `decode`, or `none` for the setup alone) runs
//! only that piece REPS times and prints nothing else, for instruction counts under
//! `valgrind --tool=callgrind`: (Ir(PIECE, R2) − Ir(PIECE, R1)) / (R2 − R1) is one run.
#![allow(clippy::print_stdout)]

mod common;

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::Distribution;
use common::{arg, batch, chars, max_chars, paper_config, paper_parts, sentences, time, words};
use polytag_data::{eval_batches, EvalOrder};
use polytag_model::TaskInput;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let piece = args.get(1).map_or("all", String::as_str).to_string();
    let reps: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let device = Device::flex();
    device.seed(0);
    let file = arg("--file");
    let which: usize = arg("--batch-index")
        .and_then(|b| b.parse().ok())
        .unwrap_or(10);
    let model = paper_config().init(&device)?;
    model.force_init();
    let model = model.valid();
    let rows = sentences(file.as_deref(), usize::MAX, 3250)?;
    let lengths: Vec<usize> = rows.iter().map(|s| s.len()).collect();
    let batches = eval_batches(&lengths, 100, EvalOrder::Length)?;
    let b = batch(&rows, &batches[which.min(batches.len() - 1)]);
    let input = TaskInput::from_batch(&b, &device)?;
    let (emb, cnn, hw, rnn, crf) = paper_parts(&model)?;
    let ch = cnn.forward(chars(&input), input.mask.clone());
    let x = Tensor::cat(vec![emb.forward(words(&input)), hw.forward(ch.clone())], 2);
    let em = model.emissions(0, &input)?;
    let run = |piece: &str| -> Result<(), Box<dyn std::error::Error>> {
        match piece {
            "none" => {}
            "cnn" => {
                std::hint::black_box(cnn.forward(chars(&input), input.mask.clone()));
            }
            "highway" => {
                std::hint::black_box(hw.forward(ch.clone()));
            }
            "lstm" => {
                std::hint::black_box(rnn.forward(x.clone(), input.mask.clone()));
            }
            "emissions" => {
                std::hint::black_box(model.emissions(0, &input)?);
            }
            "viterbi" => {
                std::hint::black_box(crf.decode(em.clone(), &input.lengths)?);
            }
            "decode" => {
                std::hint::black_box(model.decode(0, &input)?);
            }
            other => return Err(format!("unknown piece {other:?}").into()),
        }
        Ok(())
    };
    if piece != "all" {
        for _ in 0..reps {
            run(&piece)?;
        }
        return Ok(());
    }
    println!(
        "batch: B={} T={} L={} tokens={}",
        b.batch_size,
        b.max_len,
        max_chars(&b),
        b.num_tokens()
    );
    for p in ["cnn", "highway", "lstm", "emissions", "viterbi", "decode"] {
        println!("{p:10} {:7.2} ms", time(reps, || run(p)));
    }
    let bsz = b.batch_size;
    for (m, k, n) in [(2 * bsz, 171, 684), (bsz * b.max_len, 110, 684)] {
        let a = Tensor::<2>::random([m, k], Distribution::Default, &device);
        let w = Tensor::<2>::random([k, n], Distribution::Default, &device);
        let ms = time(reps, || a.clone().matmul(w.clone()));
        println!(
            "matmul {m}x{k}x{n}: {ms:.3} ms, {:.1} GFLOP/s",
            2.0 * (m * k * n) as f64 / ms / 1e6
        );
    }
    let g = Tensor::<2>::random([2 * bsz, 684], Distribution::Default, &device);
    println!(
        "sigmoid [{}x684] {:.3} ms, add {:.3} ms",
        2 * bsz,
        time(reps, || sigmoid(g.clone())),
        time(reps, || g.clone() + g.clone())
    );
    Ok(())
}
