//! Seed 000's PoS embedding (seed-systems.md B.2): one vector per word type, trained so that
//! a linear softmax layer on it predicts the PoS tag of each occurrence of the word. The
//! learned row is the word's "PoS embedding": it encodes the word's tag distribution.
//!
//! Cross entropy summed over occurrences equals, per word type w with n_w occurrences and tag
//! distribution q_w, n_w · CE(q_w, softmax(W e_w + b)); training runs on word types with
//! those weights, so one epoch costs O(types · tags · dim) instead of O(tokens · …). Adam as
//! in the seed (its lr 1e-3 over batches of 100 tokens; here batches of word types, default
//! lr 1e-2 since there are fewer steps). Deterministic for a seed.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::vectors::Vectors;

/// Options of [`train_pos_embedding`].
#[derive(Debug, Clone, PartialEq)]
pub struct PosEmbedOptions {
    /// Embedding width (seed: 32).
    pub dim: usize,
    /// Passes over the word types (seed: 50).
    pub epochs: usize,
    /// Word types per Adam step.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Lowercase words before grouping (seed 000's data are lowercased).
    pub lowercase: bool,
    /// Seed of the initial values and of the batch order.
    pub seed: u64,
}

impl Default for PosEmbedOptions {
    fn default() -> Self {
        Self {
            dim: 32,
            epochs: 50,
            batch: 100,
            lr: 1e-2,
            lowercase: false,
            seed: 1,
        }
    }
}

/// Per word type: its tag counts.
#[derive(Debug, Clone, Default)]
pub struct TagCounts {
    words: Vec<String>,
    index: HashMap<String, usize>,
    tags: Vec<String>,
    tag_index: HashMap<String, usize>,
    /// (word, tag) → count, sparse per word.
    counts: Vec<Vec<(usize, f32)>>,
}

impl TagCounts {
    /// Adds one occurrence of `word` tagged `tag`.
    pub fn add(&mut self, word: &str, tag: &str) {
        let w = *self.index.entry(word.to_string()).or_insert_with(|| {
            self.words.push(word.to_string());
            self.counts.push(Vec::new());
            self.words.len() - 1
        });
        let t = *self.tag_index.entry(tag.to_string()).or_insert_with(|| {
            self.tags.push(tag.to_string());
            self.tags.len() - 1
        });
        match self.counts[w].iter_mut().find(|(tt, _)| *tt == t) {
            Some((_, n)) => *n += 1.0,
            None => self.counts[w].push((t, 1.0)),
        }
    }

    /// Number of word types.
    pub fn num_words(&self) -> usize {
        self.words.len()
    }
}

/// Weighted cross entropy of the word types `batch` and its gradient, accumulated into
/// `grads` (same layout as `params`: [E | W | b]). Returns the loss, summed over occurrences.
fn loss_and_grad(
    data: &TagCounts,
    params: &[f32],
    dim: usize,
    batch: &[usize],
    grads: &mut [f32],
) -> f64 {
    let num_tags = data.tags.len();
    let num_words = data.words.len();
    let (e, rest) = params.split_at(num_words * dim);
    let (w, b) = rest.split_at(num_tags * dim);
    let (ge, grest) = grads.split_at_mut(num_words * dim);
    let (gw, gb) = grest.split_at_mut(num_tags * dim);
    let mut logits = vec![0.0f32; num_tags];
    let mut loss = 0.0f64;
    for &word in batch {
        let ew = &e[word * dim..(word + 1) * dim];
        for t in 0..num_tags {
            logits[t] = b[t] + crate::kernels::dot(&w[t * dim..(t + 1) * dim], ew);
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
        let log_z = max + sum.ln();
        let n: f32 = data.counts[word].iter().map(|&(_, c)| c).sum();
        // d/dlogit_t of Σ_occurrences −log p = n · p_t − count_t.
        let mut dlogit: Vec<f32> = logits.iter().map(|l| n * (l - log_z).exp()).collect();
        for &(t, c) in &data.counts[word] {
            loss += f64::from(c) * f64::from(log_z - logits[t]);
            dlogit[t] -= c;
        }
        for t in 0..num_tags {
            gb[t] += dlogit[t];
            crate::kernels::axpy(dlogit[t], ew, &mut gw[t * dim..(t + 1) * dim]);
            crate::kernels::axpy(
                dlogit[t],
                &w[t * dim..(t + 1) * dim],
                &mut ge[word * dim..(word + 1) * dim],
            );
        }
    }
    loss
}

/// Trains the table; returns one row per word type, in first-occurrence order, and the mean
/// loss per token of the last epoch.
pub fn train_pos_embedding(data: &TagCounts, opts: &PosEmbedOptions) -> Result<(Vectors, f64)> {
    if opts.dim == 0 {
        return Err(Error::Option {
            option: "dim",
            message: "must be at least 1".into(),
        });
    }
    if data.words.is_empty() {
        return Err(Error::Option {
            option: "corpus",
            message: "no tagged tokens read".into(),
        });
    }
    let dim = opts.dim;
    let (num_words, num_tags) = (data.words.len(), data.tags.len());
    let size = (num_words + num_tags) * dim + num_tags;
    // Xavier-uniform scale for both matrices, from one seeded stream.
    let mut state = opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let bound = (6.0 / (dim + num_tags) as f32).sqrt();
    let mut params: Vec<f32> = (0..size).map(|_| (next() * 2.0 - 1.0) * bound).collect();
    params[size - num_tags..].fill(0.0);
    let (mut m, mut v, mut grads) = (vec![0.0f32; size], vec![0.0f32; size], vec![0.0f32; size]);
    let total: f32 = data.counts.iter().flatten().map(|&(_, c)| c).sum();
    let mut order: Vec<usize> = (0..num_words).collect();
    let (beta1, beta2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let mut step = 0i32;
    let mut last = 0.0;
    for _ in 0..opts.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, (next() * (i + 1) as f32) as usize % (i + 1));
        }
        let mut epoch_loss = 0.0;
        for batch in order.chunks(opts.batch.max(1)) {
            grads.fill(0.0);
            epoch_loss += loss_and_grad(data, &params, dim, batch, &mut grads);
            let n: f32 = batch
                .iter()
                .map(|&w| data.counts[w].iter().map(|&(_, c)| c).sum::<f32>())
                .sum();
            step += 1;
            let (c1, c2) = (1.0 - beta1.powi(step), 1.0 - beta2.powi(step));
            for k in 0..size {
                // Mean over the batch's occurrences, as the seed's batch-mean loss.
                let g = grads[k] / n;
                if g == 0.0 && m[k] == 0.0 {
                    continue;
                }
                m[k] = beta1 * m[k] + (1.0 - beta1) * g;
                v[k] = beta2 * v[k] + (1.0 - beta2) * g * g;
                params[k] -= opts.lr * (m[k] / c1) / ((v[k] / c2).sqrt() + eps);
            }
        }
        last = epoch_loss / f64::from(total);
    }
    params.truncate(num_words * dim);
    Ok((
        Vectors {
            words: data.words.clone(),
            dim,
            data: params,
        },
        last,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged() -> TagCounts {
        let mut t = TagCounts::default();
        for (w, tag, n) in [
            ("dog", "NOUN", 5),
            ("cat", "NOUN", 4),
            ("run", "VERB", 5),
            ("eat", "VERB", 3),
            ("walk", "VERB", 2),
            ("walk", "NOUN", 1),
        ] {
            for _ in 0..n {
                t.add(w, tag);
            }
        }
        t
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = tagged();
        let dim = 3;
        let size = (5 + 2) * dim + 2;
        let params: Vec<f32> = (0..size)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 10.0)
            .collect();
        let batch = [0usize, 3, 4];
        let mut grads = vec![0.0; size];
        loss_and_grad(&data, &params, dim, &batch, &mut grads);
        for k in 0..size {
            let eps = 1e-2f32;
            let mut p = params.clone();
            p[k] += eps;
            let up = loss_and_grad(&data, &p, dim, &batch, &mut vec![0.0; size]);
            p[k] -= 2.0 * eps;
            let down = loss_and_grad(&data, &p, dim, &batch, &mut vec![0.0; size]);
            let numeric = (up - down) / f64::from(2.0 * eps);
            assert!(
                (numeric - f64::from(grads[k])).abs() < 1e-2,
                "{k}: {numeric} vs {}",
                grads[k]
            );
        }
    }

    /// Training reaches the entropy floor of the data: each word's predicted tag distribution
    /// is its observed one. (Rows are identified only through their projection W·e, so the
    /// loss, not cosine neighbours in the unconstrained directions, is what is pinned.)
    #[test]
    fn training_reaches_the_tag_entropy_floor() {
        let (v, loss) = train_pos_embedding(
            &tagged(),
            &PosEmbedOptions {
                dim: 4,
                epochs: 300,
                batch: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(v.words, ["dog", "cat", "run", "eat", "walk"]);
        // A perfect tagger still pays walk's 2:1 ambiguity: (2 ln 1.5 + ln 3) / 20 ≈ 0.0955.
        let floor = (2.0 * 1.5f64.ln() + 3f64.ln()) / 20.0;
        assert!(
            loss > floor - 1e-6 && loss < floor + 0.05,
            "{loss} vs {floor}"
        );
    }
}
