//! `polytag vectors char-regress`: seed 000's char table (seed-systems.md B.2). A char
//! BiLSTM (char embedding 30 → 24 per direction, final states concatenated = 48) is trained
//! per word type by mean squared error to reproduce the word's vector from its spelling, then
//! run over every word of the table, so that the char features of a word are a spelling-based
//! estimate of its word vector. Reuses the model crate's `char_rnn` component (the same
//! masked recurrence the tagger uses).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::prelude::*;
use clap::{Args, ValueEnum};
use polytag_model::char_rnn::{CharRnn, CharRnnConfig};
use polytag_vectors::{FileFormat, Vectors};

use super::vectors::VectorFormat;

/// `polytag vectors char-regress`.
#[derive(Args, Debug)]
pub struct CharRegressArgs {
    /// The word table to regress onto (its words are also the output's words).
    vectors: PathBuf,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VectorFormat::Text)]
    format: VectorFormat,
    /// Char embedding size (seed 000: 30).
    #[arg(long, default_value_t = 30)]
    char_dim: usize,
    /// Train on words of at most this many chars (seed 000: 15); all words get a vector.
    #[arg(long, default_value_t = 15)]
    max_len: usize,
    /// Epochs (seed 000: 100).
    #[arg(long, default_value_t = 100)]
    epochs: usize,
    /// Words per step (seed 000: 100).
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Optimizer (seed 000: sgd).
    #[arg(long, value_enum, default_value_t = OptimizerArg::Sgd)]
    optimizer: OptimizerArg,
    /// Learning rate (seed 000: 1e-3).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Random seed (initial weights, batch order).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// `--optimizer`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerArg {
    /// Plain SGD (seed 000).
    Sgd,
    /// Adam.
    Adam,
}

/// Char ids of each word: PAD = 0, UNK = 1, then chars in first-seen order.
fn char_ids(words: &[String]) -> Vec<Vec<i64>> {
    let mut index = std::collections::HashMap::new();
    words
        .iter()
        .map(|w| {
            w.chars()
                .map(|c| {
                    let next = index.len() as i64 + 2;
                    *index.entry(c).or_insert(next)
                })
                .collect()
        })
        .collect()
}

/// `[B, 1, L]` char ids (right-padded) and `[B, 1]` word mask for `rows`.
fn batch(chars: &[Vec<i64>], rows: &[usize], device: &Device) -> (Tensor<3, Int>, Tensor<2>) {
    let len = rows
        .iter()
        .map(|&r| chars[r].len())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut ids = vec![0i64; rows.len() * len];
    for (i, &r) in rows.iter().enumerate() {
        ids[i * len..i * len + chars[r].len()].copy_from_slice(&chars[r]);
    }
    (
        Tensor::<3, Int>::from_data(TensorData::new(ids, [rows.len(), 1, len]), device),
        Tensor::<2>::ones([rows.len(), 1], device),
    )
}

fn encode(model: &CharRnn, chars: &[Vec<i64>], rows: &[usize], device: &Device) -> Tensor<2> {
    let (ids, mask) = batch(chars, rows, device);
    let out = model.forward(ids, mask);
    let [b, _, d] = out.dims();
    out.reshape([b, d])
}

/// Trains the char BiLSTM and writes one char vector per word of the table.
pub fn run(args: &CharRegressArgs) -> Result<ExitCode> {
    let table = Vectors::load(&args.vectors)?;
    if table.dim % 2 != 0 {
        bail!(
            "{}: dimension {} is odd; the BiLSTM's two directions need an even width",
            args.vectors.display(),
            table.dim
        );
    }
    if args.epochs == 0 || args.batch == 0 || args.char_dim == 0 {
        bail!("--epochs, --batch and --char-dim must be at least 1");
    }
    let chars = char_ids(&table.words);
    let num_chars = chars.iter().flatten().copied().max().unwrap_or(1) as usize + 1;
    // Words within the length limit, sorted by length so that a batch needs little padding
    // (seed 000 grouped words of equal length to need none).
    let mut train: Vec<usize> = (0..table.len())
        .filter(|&i| (1..=args.max_len).contains(&chars[i].len()))
        .collect();
    train.sort_by_key(|&i| (chars[i].len(), i));
    if train.is_empty() {
        bail!(
            "{}: no word of 1 to {} chars to train on",
            args.vectors.display(),
            args.max_len
        );
    }
    let batches: Vec<Vec<usize>> = train.chunks(args.batch).map(<[usize]>::to_vec).collect();

    let device = Device::flex().autodiff();
    device.seed(args.seed);
    let config = CharRnnConfig::new(num_chars, args.char_dim, table.dim / 2);
    let mut model = config.init(&device);
    let mut sgd = SgdConfig::new().init();
    let mut adam = AdamConfig::new().init();
    let mut order: Vec<usize> = (0..batches.len()).collect();
    let mut state = args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for epoch in 0..args.epochs {
        // Fisher-Yates with a seeded xorshift: the batch order depends only on the seed.
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut total = 0.0f64;
        for &b in &order {
            let rows = &batches[b];
            let target: Vec<f32> = rows.iter().flat_map(|&r| table.row(r).to_vec()).collect();
            let target =
                Tensor::<2>::from_data(TensorData::new(target, [rows.len(), table.dim]), &device);
            let diff = encode(&model, &chars, rows, &device) - target;
            let loss = (diff.clone() * diff).mean();
            total += f64::from(loss.clone().into_scalar::<f32>()) * rows.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = match args.optimizer {
                OptimizerArg::Sgd => sgd.step(args.lr, model, grads),
                OptimizerArg::Adam => adam.step(args.lr, model, grads),
            };
        }
        if epoch == 0 || epoch + 1 == args.epochs || (epoch + 1) % 10 == 0 {
            errln!(
                "polytag: epoch {}: mean squared error {:.6}",
                epoch + 1,
                total / train.len() as f64
            );
        }
    }

    let eval = model.valid();
    let plain = Device::flex();
    let mut data = Vec::with_capacity(table.len() * table.dim);
    let all: Vec<usize> = (0..table.len()).collect();
    for rows in all.chunks(1000) {
        let out = encode(&eval, &chars, rows, &plain);
        data.extend(
            out.try_to_vec_as::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        );
    }
    let out = Vectors {
        words: table.words.clone(),
        dim: table.dim,
        data,
    };
    out.save(&args.out, FileFormat::from(args.format))?;
    errln!(
        "polytag: wrote {} char vectors of {} to {}",
        out.len(),
        out.dim,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
