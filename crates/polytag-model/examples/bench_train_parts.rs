//! Times forward + backward of each piece of the paper model's training step (autodiff CPU
//! device) on one training batch of 19 sentences, plus per-op costs of small autodiff ops.
//!
//! ```text
//! cargo run --release -p polytag-model --example bench_train_parts -- [REPS] [--file TRAIN.conll]
//!     [--only lstm]
//! ```
#![allow(clippy::print_stdout)]

mod common;

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::Distribution;
use common::{arg, batch, chars, max_chars, paper_config, paper_parts, sentences, time, words};
use polytag_model::component::Component;
use polytag_model::TaskInput;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let device = Device::flex().autodiff();
    device.seed(0);
    let file = arg("--file");
    let model = paper_config().init(&device)?;
    model.force_init();
    let rows = sentences(file.as_deref(), 2000, 19)?;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(1));
    order.truncate(19);
    let b = batch(&rows, &order);
    let input = TaskInput::from_batch(&b, &device)?;
    println!(
        "batch: B={} T={} L={} tokens={}",
        b.batch_size,
        b.max_len,
        max_chars(&b),
        b.num_tokens()
    );
    let c = &model.components;
    let (emb, cnn, hw, rnn, crf) = paper_parts(&model)?;
    let [bs, t] = input.mask.dims();
    let ch = cnn.forward(chars(&input), input.mask.clone()).detach();
    let x = Tensor::cat(vec![emb.forward(words(&input)), hw.forward(ch.clone())], 2)
        .detach()
        .require_grad();
    let h = Tensor::<3>::random([bs, t, 342], Distribution::Default, &device).require_grad();
    let em = Tensor::<3>::random([bs, t, 17], Distribution::Default, &device).require_grad();
    let labels = input.labels.clone().ok_or("labels")?;
    let lstm = time(reps, || {
        rnn.forward(x.clone(), input.mask.clone()).sum().backward()
    });
    if arg("--only").as_deref() == Some("lstm") {
        return Ok(());
    }
    let parts: Vec<(&str, f64)> = vec![
        (
            "char cnn",
            time(reps, || {
                cnn.forward(chars(&input), input.mask.clone())
                    .sum()
                    .backward()
            }),
        ),
        (
            "highway",
            time(reps, || {
                hw.forward(ch.clone().require_grad()).sum().backward()
            }),
        ),
        (
            "word emb",
            time(reps, || emb.forward(words(&input)).sum().backward()),
        ),
        ("bilstm", lstm),
        (
            "emissions",
            time(reps, || {
                model.emissions(0, &input).unwrap().sum().backward()
            }),
        ),
        (
            "output+gate",
            time(reps, || {
                let Component::Linear(u) = &c[4] else {
                    unreachable!()
                };
                let Component::Linear(s) = &c[5] else {
                    unreachable!()
                };
                let gate = model.heads[0].gate.as_ref().unwrap();
                gate.mix(h.clone(), u.forward(h.clone()), s.forward(h.clone()))
                    .sum()
                    .backward()
            }),
        ),
        (
            "crf nll",
            time(reps, || {
                crf.nll(
                    em.clone(),
                    labels.clone(),
                    input.mask.clone(),
                    &input.lengths,
                )
                .backward()
            }),
        ),
        (
            "loss",
            time(reps, || model.loss(0, &input).unwrap().backward()),
        ),
    ];
    for (n, ms) in parts {
        println!("{n:12} {ms:7.2} ms");
    }
    let plain = Device::flex();
    for (m, k, n) in [
        (19, 171, 684),
        (5, 171, 684),
        (5, 684, 171),
        (1, 171, 684),
        (171, 192, 684),
    ] {
        let l = Tensor::<2>::random([m, k], Distribution::Default, &plain);
        let r = Tensor::<2>::random([k, n], Distribution::Default, &plain);
        let ms = time(reps * 10, || l.clone().matmul(r.clone()));
        println!(
            "plain matmul {m}x{k}x{n}: {:.1} us, {:.1} GFLOP/s",
            ms * 1e3,
            2.0 * (m * k * n) as f64 / ms / 1e6
        );
    }
    let a = Tensor::<2>::random([38, 684], Distribution::Default, &device).require_grad();
    let w = Tensor::<2>::random([171, 684], Distribution::Default, &device).require_grad();
    let hh = Tensor::<2>::random([38, 171], Distribution::Default, &device).require_grad();
    let n = 100;
    let per = |ms: f64| ms * 1e3 / n as f64;
    println!("per autodiff op, fwd+bwd, [38, 684]:");
    let base = time(reps, || a.clone().sum().backward());
    println!("  sum+backward alone {:.1} us", base * 1e3);
    println!(
        "  add      {:.1} us",
        per(time(reps, || {
            let mut y = a.clone();
            for _ in 0..n {
                y = y + a.clone();
            }
            y.sum().backward()
        }) - base)
    );
    println!(
        "  mul      {:.1} us",
        per(time(reps, || {
            let mut y = a.clone();
            for _ in 0..n {
                y = y * a.clone();
            }
            y.sum().backward()
        }) - base)
    );
    println!(
        "  sigmoid  {:.1} us",
        per(time(reps, || {
            let mut y = a.clone();
            for _ in 0..n {
                y = sigmoid(y);
            }
            y.sum().backward()
        }) - base)
    );
    println!(
        "  tanh     {:.1} us",
        per(time(reps, || {
            let mut y = a.clone();
            for _ in 0..n {
                y = y.tanh();
            }
            y.sum().backward()
        }) - base)
    );
    println!(
        "  narrow   {:.1} us",
        per(time(reps, || {
            let mut y = a.clone();
            for _ in 0..n {
                y = y.clone() + y.narrow(1, 0, 684);
            }
            y.sum().backward()
        }) - base)
    );
    println!(
        "  matmul [38,171]x[171,684] {:.1} us",
        per(time(reps, || {
            let mut y = a.clone();
            for _ in 0..n {
                y = y + hh.clone().matmul(w.clone());
            }
            y.sum().backward()
        }) - base)
    );
    Ok(())
}
