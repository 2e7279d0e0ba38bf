//! Times training steps of the paper's model (seed-systems A.9 sizes) on the CPU: word
//! embedding 50 + char CNN 50 [[2,20],[3,20],[4,20]] + highway 2 → BiLSTM 171 →
//! universal/specific gated output → CRF over 17 BIOES labels.
//!
//! ```text
//! cargo run --release -p polytag-model --example bench_paper -- [STEPS] [--file TRAIN.conll]
//!     [--only train|decode]
//! ```
//!
//! Without `--file`: one fixed batch of 19 random sentences (T = 30, 371 tokens), timed STEPS
//! times (default 15), then decoding of the same batch. With `--file`: the benchmark workload
//! of `shared/bench` — the first 2,000 sentences, batches of 19 drawn from a seeded shuffle,
//! SGD lr 0.02 momentum 0.9, 10 warm-up steps then STEPS timed steps (default 200).
#![allow(clippy::print_stdout)]

mod common;

use std::time::Instant;

use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use common::{arg, batch, median, paper_config, sentences};
use polytag_model::TaskInput;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = arg("--file");
    let only = arg("--only");
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(if file.is_some() { 200 } else { 15 });
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut model = paper_config().init(&device)?;
    model.force_init();
    let rows = sentences(file.as_deref(), 2000, 19)?;
    let fixed = file.is_none();
    let warmup = if fixed { 3 } else { 10 };
    // batches of 19 from a seeded shuffle, reshuffled when used up (the reference's order)
    let mut rng = StdRng::seed_from_u64(1);
    let mut order: Vec<usize> = Vec::new();
    let mut pos = 0;
    let mut next_batch = || -> Vec<usize> {
        if fixed {
            return (0..19).map(|i| i % rows.len()).collect();
        }
        if pos + 19 > order.len() {
            order = (0..rows.len()).collect();
            order.shuffle(&mut rng);
            pos = 0;
        }
        pos += 19;
        order[pos - 19..pos].to_vec()
    };
    let mut opt = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new().with_momentum(0.9).with_dampening(0.0),
        ))
        .init();
    let (mut fb, mut step, mut tokens) = (Vec::new(), Vec::new(), 0usize);
    let mut last_input = None;
    if only.as_deref() != Some("decode") {
        let start = Instant::now();
        let mut timed = Instant::now();
        for i in 0..warmup + steps {
            if i == warmup {
                timed = Instant::now();
            }
            let input = TaskInput::from_batch(&batch(&rows, &next_batch()), &device)?;
            let t0 = Instant::now();
            let loss = model.loss(0, &input)?;
            let grads = loss.backward();
            let t1 = Instant::now();
            let grads = GradientsParams::from_grads(grads, &model);
            model = opt.step(0.02, model, grads);
            let t2 = Instant::now();
            if i >= warmup {
                fb.push((t1 - t0).as_secs_f64() * 1e3);
                step.push((t2 - t0).as_secs_f64() * 1e3);
                tokens += input.lengths.iter().sum::<usize>();
            }
            last_input = Some(input);
        }
        let secs = timed.elapsed().as_secs_f64();
        println!(
            "train: {steps} steps, {tokens} tokens, {:.0} tok/s ({:.1} s with warm-up)",
            tokens as f64 / secs,
            start.elapsed().as_secs_f64()
        );
        println!(
            "forward+backward: median {:.1} ms (min {:.1})",
            median(fb.clone()),
            fb.iter().cloned().fold(f64::MAX, f64::min)
        );
        println!("with SGD step:    median {:.1} ms", median(step));
    }
    if only.as_deref() != Some("train") {
        let input = match last_input {
            Some(i) => i,
            None => TaskInput::from_batch(&batch(&rows, &next_batch()), &device)?,
        };
        let valid = model.valid();
        let eval_input = TaskInput {
            labels: None,
            ..input.inner()
        };
        let mut dec = Vec::new();
        for i in 0..steps.min(50) + 3 {
            let t0 = Instant::now();
            let paths = valid.decode(0, &eval_input)?;
            if i >= 3 {
                dec.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            assert_eq!(paths.len(), input.lengths.len());
        }
        println!("decode (valid):   median {:.1} ms", median(dec));
    }
    println!("{} parameters", model.num_params());
    Ok(())
}
