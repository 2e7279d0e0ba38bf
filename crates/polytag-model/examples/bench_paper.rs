//! Times one training step of the paper's model (seed-systems A.9 sizes) on the CPU:
//! word embedding 50 + char CNN 50 [[2,20],[3,20],[4,20]] + highway 2 → BiLSTM 171 →
//! universal/specific gated output → CRF over 17 BIOES labels, one batch of 19 sentences of
//! CoNLL-2003-like lengths (T = 30), random ids.
//!
//! `cargo run --release -p polytag-model --example bench_paper [iterations]`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use polytag_model::char_cnn::CharCnnConfig;
use polytag_model::component::ComponentConfig;
use polytag_model::crf::CrfConfig;
use polytag_model::highway::HighwayConfig;
use polytag_model::linear::OutputLayerConfig;
use polytag_model::rnn::{Cell, RecurrentConfig};
use polytag_model::tagger::{FeatureSlot, NamedComponent, Slot, TaskWiring};
use polytag_model::{ModelConfig, TaskInput, TokenEmbeddingConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const VOCAB: usize = 20_000;
const CHARS: usize = 100;
const LABELS: usize = 17;

fn config() -> ModelConfig {
    let comps = [
        (
            "word",
            ComponentConfig::Embedding {
                config: TokenEmbeddingConfig::new(VOCAB, 50),
                pretrained: None,
            },
        ),
        (
            "char",
            ComponentConfig::CharCnn(CharCnnConfig::new(
                CHARS,
                50,
                vec![(2, 20), (3, 20), (4, 20)],
            )),
        ),
        ("highway", ComponentConfig::Highway(HighwayConfig::new(60))),
        (
            "lstm",
            ComponentConfig::Recurrent(
                RecurrentConfig::new(110, 171, Cell::Lstm).with_forget_bias(1.0),
            ),
        ),
        (
            "univ",
            ComponentConfig::Linear(OutputLayerConfig::new(342, LABELS)),
        ),
        (
            "spec",
            ComponentConfig::Linear(OutputLayerConfig::new(342, LABELS)),
        ),
        (
            "crf",
            ComponentConfig::Crf {
                config: CrfConfig::new(LABELS),
                constraints: None,
            },
        ),
    ];
    let slot = |c: usize| Slot {
        component: c,
        path: format!("tasks[0].{c}"),
    };
    ModelConfig {
        components: comps
            .into_iter()
            .enumerate()
            .map(|(i, (n, c))| NamedComponent {
                name: n.into(),
                path: format!("components[{i}]"),
                config: c,
            })
            .collect(),
        tasks: vec![TaskWiring {
            name: "ner".into(),
            path: "tasks[0]".into(),
            num_labels: LABELS,
            features: vec![
                FeatureSlot {
                    slot: slot(0),
                    highway: None,
                    column: None,
                },
                FeatureSlot {
                    slot: slot(1),
                    highway: Some(slot(2)),
                    column: None,
                },
            ],
            encoders: vec![slot(3)],
            universal: Some(slot(4)),
            specific: Some(slot(5)),
            decoder: slot(6),
            feature_dropout: 0.0,
            encoder_dropout: 0.6,
            linear_dropout: 0.0,
        }],
    }
}

fn batch(device: &Device) -> TaskInput {
    let mut rng = StdRng::seed_from_u64(1);
    let (b, t, l) = (19, 30, 12);
    // CoNLL-2003 English train: mean 14.5 tokens; one sentence at the maximum T
    let lengths: Vec<usize> = (0..b)
        .map(|i| if i == 0 { t } else { rng.random_range(4..=t) })
        .collect();
    let (mut words, mut chars, mut labels) =
        (vec![0i64; b * t], vec![0i64; b * t * l], vec![0i64; b * t]);
    for (bi, &n) in lengths.iter().enumerate() {
        for ti in 0..n {
            words[bi * t + ti] = rng.random_range(2..VOCAB as i64);
            labels[bi * t + ti] = rng.random_range(0..LABELS as i64);
            for ci in 0..rng.random_range(1..=l) {
                chars[(bi * t + ti) * l + ci] = rng.random_range(2..CHARS as i64);
            }
        }
    }
    TaskInput::new(
        Tensor::from_data(TensorData::new(words, [b, t]), device),
        Tensor::from_data(TensorData::new(chars, [b, t, l]), device),
        vec![],
        lengths,
        Some(Tensor::from_data(TensorData::new(labels, [b, t]), device)),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iters: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut model = config().init(&device)?;
    model.force_init();
    let input = batch(&device);
    let tokens: usize = input.lengths.iter().sum();
    let mut opt = SgdConfig::new().init();
    let (mut fb, mut step) = (Vec::new(), Vec::new());
    for i in 0..iters + 3 {
        let t0 = Instant::now();
        let loss = model.loss(0, &input)?;
        let grads = loss.backward();
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(grads, &model);
        model = opt.step(0.01, model, grads);
        let t2 = Instant::now();
        if i >= 3 {
            fb.push((t1 - t0).as_secs_f64() * 1e3);
            step.push((t2 - t0).as_secs_f64() * 1e3);
        }
    }
    let valid = model.valid();
    let plain = Device::flex();
    let eval_input = TaskInput::new(
        input.words.clone().inner(),
        input.chars.clone().inner(),
        vec![],
        input.lengths.clone(),
        None,
    );
    let _ = plain;
    let mut dec = Vec::new();
    for i in 0..iters + 3 {
        let t0 = Instant::now();
        let paths = valid.decode(0, &eval_input)?;
        if i >= 3 {
            dec.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        assert_eq!(paths.len(), 19);
    }
    println!(
        "batch: 19 sentences, T = 30, {tokens} tokens; {} parameters",
        model.num_params()
    );
    println!(
        "forward+backward: median {:.1} ms (min {:.1}) over {iters}",
        median(fb.clone()),
        fb.iter().cloned().fold(f64::MAX, f64::min)
    );
    println!("with SGD step:    median {:.1} ms", median(step));
    println!("decode (valid):   median {:.1} ms", median(dec));
    Ok(())
}
