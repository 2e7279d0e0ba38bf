//! Training word vectors: skip-gram and CBOW with negative sampling (Mikolov et al. 2013,
//! word2vec.c / gensim semantics) and seed 000's full-softmax skip-gram (seed-systems.md B.2).
//!
//! Shared by all three: frequent-word subsampling (word2vec.c's formula), a window that is
//! shrunk by a random amount at each position (word2vec's "dynamic window"; off for the
//! softmax model, whose seed used a fixed one) and may be asymmetric (`window_right`, for
//! seed 000's 5-left / 4-right window), a learning rate decaying linearly from `alpha` to
//! `min_alpha` over all epochs, and Hogwild threads ([`crate::matrix`]).
//!
//! # Determinism
//! The sentences are cut into `threads` contiguous parts of about equal token counts; each
//! thread walks its part once per epoch with its own random stream, seeded from (`seed`,
//! thread, epoch), and computes its learning rate from its own progress. What a thread draws
//! and which rate it uses therefore never depend on timing. With `threads = 1` nothing else
//! varies: the output is bit-identical for a given seed, corpus and options (tested). With
//! more threads, only the interleaving of the threads' reads and writes of shared rows varies
//! between runs, so the vectors are statistically equivalent, not bit-identical — the same
//! contract as word2vec.c and gensim.

use crate::corpus::TrainCorpus;
use crate::error::{Error, Result};
use crate::kernels::{self, Scratch};
use crate::matrix::Matrix;
use crate::vectors::Vectors;

/// Which objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Skip-gram with negative sampling: each context word predicts the centre word.
    SkipGram,
    /// CBOW with negative sampling: the mean of the context predicts the centre word.
    Cbow,
    /// Seed 000's skip-gram: the centre word predicts each context word through a full
    /// softmax over the vocabulary (no negatives).
    Softmax,
}

/// Hyper-parameters of [`train`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// The objective.
    pub model: Model,
    /// Vector width.
    pub dim: usize,
    /// Context words to the left of the centre (and to the right unless `window_right`).
    pub window: usize,
    /// Context words to the right, when it differs (seed 000: `window` 5, `window_right` 4).
    pub window_right: Option<usize>,
    /// Shrink the window by a random amount at each position (word2vec, gensim default).
    pub shrink_window: bool,
    /// Negative samples per positive (negative-sampling models).
    pub negative: usize,
    /// Passes over the corpus.
    pub epochs: usize,
    /// Subsampling threshold (word2vec `-sample`); 0 keeps every token.
    pub sample: f64,
    /// Initial learning rate.
    pub alpha: f32,
    /// Final learning rate.
    pub min_alpha: f32,
    /// Worker threads.
    pub threads: usize,
    /// Seed of the initial vectors and of every random draw.
    pub seed: u64,
}

impl TrainOptions {
    /// gensim's defaults for the model (dim 100, window 5, 5 negatives, 5 epochs, sample
    /// 1e-3, α 0.025 → 0.0001); the softmax model uses seed 000's 5-left/4-right fixed window.
    pub fn new(model: Model) -> Self {
        Self {
            model,
            dim: 100,
            window: 5,
            window_right: (model == Model::Softmax).then_some(4),
            shrink_window: model != Model::Softmax,
            negative: 5,
            epochs: 5,
            sample: 1e-3,
            alpha: 0.025,
            min_alpha: 0.0001,
            threads: 1,
            seed: 1,
        }
    }

    /// Rejects options training cannot run with, naming the option.
    pub fn check(&self) -> Result<()> {
        let bad = |option, message: &str| {
            Err(Error::Option {
                option,
                message: message.to_string(),
            })
        };
        if self.dim == 0 {
            return bad("dim", "must be at least 1");
        }
        if self.window == 0 && self.window_right.unwrap_or(0) == 0 {
            return bad("window", "must be at least 1");
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1");
        }
        if self.model != Model::Softmax && self.negative == 0 {
            return bad(
                "negative",
                "must be at least 1 for skipgram and cbow (softmax needs none)",
            );
        }
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return bad("alpha", "must be a positive number");
        }
        if !(self.sample >= 0.0 && self.sample.is_finite()) {
            return bad("sample", "must be 0 or a positive number");
        }
        Ok(())
    }

    fn right(&self) -> usize {
        self.window_right.unwrap_or(self.window)
    }
}

/// word2vec.c's linear congruential generator: one multiply and add per draw, which matters
/// in a loop that draws several numbers per token.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, thread: u64, epoch: u64) -> Self {
        // splitmix64 of the three, so neighbouring seeds give unrelated streams.
        let mut z = seed
            .wrapping_add(thread.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_add(epoch.wrapping_mul(0xD1B5_4A32_D192_ED03));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng(z ^ (z >> 31))
    }

    #[inline]
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(25_214_903_917).wrapping_add(11);
        (self.0 >> 16) as u32
    }

    /// Uniform in `0..n` (multiply-shift; `n` ≤ 2^32).
    #[inline]
    fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.next_u32()) * n as u64) >> 32) as usize
    }
}

/// Draws negatives ∝ count^0.75 (word2vec's unigram table) in O(1) with Walker's alias
/// method: exact, and 8 bytes a word instead of word2vec.c's 400 MB table. Each word's
/// (threshold, alias) pair sits together, so a draw touches one cache line.
#[derive(Debug)]
struct Negatives {
    table: Vec<(u32, u32)>,
}

impl Negatives {
    fn new(counts: &[u64]) -> Self {
        let n = counts.len();
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut prob = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            prob[s] = (scaled[s] * f64::from(u32::MAX)) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Self {
            table: prob.into_iter().zip(alias).collect(),
        }
    }

    #[inline]
    fn draw(&self, rng: &mut Rng) -> u32 {
        let i = rng.below(self.table.len());
        let (prob, alias) = self.table[i];
        if rng.next_u32() <= prob {
            i as u32
        } else {
            alias
        }
    }
}

/// word2vec.c's keep probability (√(f/t) + 1)·t/f with t = sample × total tokens, as a
/// threshold on a uniform u32 (≥ 1 → always kept).
fn keep_thresholds(counts: &[u64], sample: f64) -> Vec<u32> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| {
            if sample <= 0.0 {
                return u32::MAX;
            }
            let t = sample * total as f64;
            let f = c as f64;
            let keep = ((f / t).sqrt() + 1.0) * t / f;
            if keep >= 1.0 {
                u32::MAX
            } else {
                (keep * f64::from(u32::MAX)) as u32
            }
        })
        .collect()
}

/// Splits the sentences into `parts` contiguous ranges of about equal token counts.
fn partition(corpus: &TrainCorpus, parts: usize) -> Vec<(usize, usize)> {
    let total = corpus.ids.len();
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 1..=parts {
        let goal = total * p / parts;
        let end = if p == parts {
            corpus.num_sentences()
        } else {
            start + corpus.ends[start..].partition_point(|&e| e <= goal)
        };
        ranges.push((start, end));
        start = end;
    }
    ranges
}

/// How many steps ahead of the one computing its rows are prefetched (2 and 3 measured no
/// better than 1 at 2 threads on the bench text: a step outlasts a memory access).
const PREFETCH_AHEAD: usize = 1;

/// Tokens between two progress reports of a thread.
const REPORT_EVERY: u64 = 10_000;

/// Trains vectors on `corpus`; `progress` receives the number of corpus tokens processed
/// since its last call (for a words/s display), from any thread.
pub fn train(
    corpus: &TrainCorpus,
    opts: &TrainOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vectors> {
    opts.check()?;
    let vocab_len = corpus.vocab.len();
    let dim = opts.dim;
    // word2vec.c's init: input rows uniform in ±0.5/dim, output rows zero.
    let mut rng = Rng::new(opts.seed, u64::MAX, 0);
    let init: Vec<f32> = (0..vocab_len * dim)
        .map(|_| (rng.next_u32() as f32 / u32::MAX as f32 - 0.5) / dim as f32)
        .collect();
    let syn0 = Matrix::from_values(&init, dim);
    drop(init);
    let syn1 = Matrix::zeros(vocab_len, dim);
    let negatives = Negatives::new(&corpus.vocab.counts);
    let keep = keep_thresholds(&corpus.vocab.counts, opts.sample);
    let ranges = partition(corpus, opts.threads.min(corpus.num_sentences().max(1)));
    let shared = Shared {
        corpus,
        opts,
        syn0: &syn0,
        syn1: &syn1,
        negatives: &negatives,
        keep: &keep,
        progress,
    };
    for epoch in 0..opts.epochs {
        std::thread::scope(|scope| {
            for (thread, &range) in ranges.iter().enumerate() {
                let shared = &shared;
                scope.spawn(move || shared.work(thread, epoch, range));
            }
        });
    }
    Ok(Vectors {
        words: corpus.vocab.words.clone(),
        dim,
        data: syn0.to_vec(),
    })
}

/// The drawn steps of one sentence: step k reads `inputs[steps[k - 1].0..steps[k].0]` (rows
/// of `syn0`) and `targets[steps[k - 1].1..steps[k].1]` (rows of `syn1`, the word to predict
/// first).
#[derive(Debug, Default)]
struct Plan {
    steps: Vec<(usize, usize)>,
    inputs: Vec<u32>,
    targets: Vec<u32>,
}

impl Plan {
    fn clear(&mut self) {
        self.steps.clear();
        self.inputs.clear();
        self.targets.clear();
    }
}

/// What every worker reads.
struct Shared<'a> {
    corpus: &'a TrainCorpus,
    opts: &'a TrainOptions,
    syn0: &'a Matrix,
    syn1: &'a Matrix,
    negatives: &'a Negatives,
    keep: &'a [u32],
    progress: &'a (dyn Fn(u64) + Sync),
}

impl Shared<'_> {
    /// One thread's pass over its sentences in one epoch.
    ///
    /// The steps of sentence s + 1 are drawn before sentence s trains, so that the rows of
    /// its first steps can be prefetched during the last steps of sentence s. The draws
    /// happen in the same order as when each sentence was drawn just before it trained (the
    /// training itself draws nothing), so the output is unchanged.
    fn work(&self, thread: usize, epoch: usize, (first, last): (usize, usize)) {
        let opts = self.opts;
        let corpus = self.corpus;
        let mut rng = Rng::new(opts.seed, thread as u64, epoch as u64);
        let mut scratch = Scratch::new(opts.dim);
        let mut sentence: Vec<u32> = Vec::new();
        let mut plan = Plan::default();
        let mut next = Plan::default();
        let start = if first == 0 {
            0
        } else {
            corpus.ends[first - 1]
        };
        let end = if last == 0 { 0 } else { corpus.ends[last - 1] };
        let share = (end - start).max(1) as f64;
        let total = share * opts.epochs as f64;
        let mut local = 0u64;
        let mut unreported = 0u64;
        let ahead = PREFETCH_AHEAD;
        if first < last {
            self.draw(first, &mut sentence, &mut plan, &mut rng);
            for k in 0..ahead.min(plan.steps.len()) {
                self.prefetch_step(&plan, k);
            }
        }
        for s in first..last {
            let progress = (epoch as f64 * share + local as f64) / total;
            let alpha =
                (opts.alpha - (opts.alpha - opts.min_alpha) * progress as f32).max(opts.min_alpha);
            if s + 1 < last {
                self.draw(s + 1, &mut sentence, &mut next, &mut rng);
            } else {
                next.clear();
            }
            let n = plan.steps.len();
            let (mut input_start, mut target_start) = (0, 0);
            for (k, &(input_end, target_end)) in plan.steps.iter().enumerate() {
                // Rows of the step PREFETCH_AHEAD steps on, in this sentence or the next.
                if k + ahead < n {
                    self.prefetch_step(&plan, k + ahead);
                } else if k + ahead - n < next.steps.len() {
                    self.prefetch_step(&next, k + ahead - n);
                }
                let step_inputs = &plan.inputs[input_start..input_end];
                let step_targets = &plan.targets[target_start..target_end];
                match opts.model {
                    Model::SkipGram => kernels::skipgram_ns(
                        self.syn0,
                        self.syn1,
                        step_inputs[0],
                        step_targets,
                        alpha,
                        &mut scratch,
                    ),
                    Model::Cbow => kernels::cbow_ns(
                        self.syn0,
                        self.syn1,
                        step_inputs,
                        step_targets,
                        alpha,
                        &mut scratch,
                    ),
                    Model::Softmax => kernels::skipgram_softmax(
                        self.syn0,
                        self.syn1,
                        step_inputs[0],
                        step_targets[0],
                        alpha,
                        &mut scratch,
                    ),
                }
                (input_start, target_start) = (input_end, target_end);
            }
            let raw_len = corpus.sentence(s).len() as u64;
            local += raw_len;
            unreported += raw_len;
            if unreported >= REPORT_EVERY {
                (self.progress)(unreported);
                unreported = 0;
            }
            std::mem::swap(&mut plan, &mut next);
        }
        if unreported > 0 {
            (self.progress)(unreported);
        }
    }

    /// Subsamples sentence `s` and draws its steps into `plan`: for skip-gram one step per
    /// (context word → centre word and its negatives), for CBOW one per centre word (its
    /// context words → it and its negatives), for the softmax model one per (centre word →
    /// context word).
    fn draw(&self, s: usize, sentence: &mut Vec<u32>, plan: &mut Plan, rng: &mut Rng) {
        let opts = self.opts;
        let (left, right) = (opts.window, opts.right());
        let widest = left.max(right);
        sentence.clear();
        sentence.extend(self.corpus.sentence(s).iter().copied().filter(|&w| {
            self.keep[w as usize] == u32::MAX || rng.next_u32() <= self.keep[w as usize]
        }));
        plan.clear();
        let n = sentence.len();
        for i in 0..n {
            let shrink = if opts.shrink_window {
                rng.below(widest)
            } else {
                0
            };
            let lo = i.saturating_sub(left.saturating_sub(shrink));
            let hi = (i + 1 + right.saturating_sub(shrink)).min(n);
            let word = sentence[i];
            match opts.model {
                Model::SkipGram => {
                    for j in (lo..hi).filter(|&j| j != i) {
                        plan.inputs.push(sentence[j]);
                        self.draw_targets(word, &mut plan.targets, rng);
                        plan.steps.push((plan.inputs.len(), plan.targets.len()));
                    }
                }
                Model::Cbow => {
                    plan.inputs
                        .extend((lo..hi).filter(|&j| j != i).map(|j| sentence[j]));
                    self.draw_targets(word, &mut plan.targets, rng);
                    plan.steps.push((plan.inputs.len(), plan.targets.len()));
                }
                Model::Softmax => {
                    for j in (lo..hi).filter(|&j| j != i) {
                        plan.inputs.push(word);
                        plan.targets.push(sentence[j]);
                        plan.steps.push((plan.inputs.len(), plan.targets.len()));
                    }
                }
            }
        }
    }

    /// Requests the rows of `plan`'s step `k` into the cache ([`Matrix::prefetch`]); the
    /// softmax model reads every output row, so only its input row.
    #[inline]
    fn prefetch_step(&self, plan: &Plan, k: usize) {
        let (input_start, target_start) = if k == 0 { (0, 0) } else { plan.steps[k - 1] };
        let (input_end, target_end) = plan.steps[k];
        for &row in &plan.inputs[input_start..input_end] {
            self.syn0.prefetch(row as usize);
        }
        if self.opts.model != Model::Softmax {
            for &row in &plan.targets[target_start..target_end] {
                self.syn1.prefetch(row as usize);
            }
        }
    }

    /// Appends [word, negatives…] to `targets`; a negative equal to the word is skipped, as
    /// in word2vec.c, so there may be fewer than `negative`.
    #[inline]
    fn draw_targets(&self, word: u32, targets: &mut Vec<u32>, rng: &mut Rng) {
        targets.push(word);
        for _ in 0..self.opts.negative {
            let n = self.negatives.draw(rng);
            if n != word {
                targets.push(n);
            }
        }
    }
}

#[cfg(test)]
mod tests;
