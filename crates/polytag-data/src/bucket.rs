//! Training batches: an endless, seeded, resumable stream of sentence indices.
//!
//! Each epoch starts with a shuffle of all sentence indices; [`Batching`] says what follows.
//! [`Batching::Bucketed`] (the default): cut the shuffled list into pools of [`POOL_BATCHES`]
//! batches; sort each pool by length and cut it into batches; shuffle the order of all batches.
//! Sentences of similar length share a batch (little padding, so less wasted compute than the
//! paper's unsorted chunks, seed-systems.md A.5), yet batch contents and order differ every
//! epoch (the pools are random). [`Batching::Shuffled`]: cut the shuffled list into consecutive
//! batches, lengths mixed, as the paper's scripts and the PyTorch benchmark reference do; it
//! exists to compare with them on the same work. Either way every sentence is used exactly once
//! per epoch, and one batch is short when the batch size does not divide the sentence count.
//!
//! The plan of epoch `e` is a pure function of `(batching, seed, e)`, so the whole iterator
//! state is [`BatchState`] `(seed, epoch, position)` plus what it was made for: a checkpoint
//! stores it and [`TrainBatches::resume`] continues with exactly the batches an uninterrupted
//! run would get.

use std::fmt;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Batches per sorting pool. Large enough that batches hold near-equal lengths (100 batches ≈
/// 1,000–3,000 sentences), small enough that batch composition still changes every epoch.
pub const POOL_BATCHES: usize = 100;

/// How an epoch's batches are cut from its shuffle (a dataset's `batching` in the config).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Batching {
    /// Length-sorted within pools of [`POOL_BATCHES`] batches, batch order shuffled.
    #[default]
    Bucketed,
    /// Consecutive chunks of the shuffle, lengths mixed.
    Shuffled,
}

impl Batching {
    /// The name configs and checkpoints use.
    pub fn as_str(self) -> &'static str {
        match self {
            Batching::Bucketed => "bucketed",
            Batching::Shuffled => "shuffled",
        }
    }
}

impl fmt::Display for Batching {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a [`TrainBatches`] stream stands; serialisable for checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchState {
    /// The stream's seed.
    pub seed: u64,
    /// 0-based epoch of the plan in use (of the batch last returned).
    pub epoch: u64,
    /// Index of the next batch within the current epoch's plan.
    pub position: usize,
    /// Number of sentences the plan was made for (checked on resume).
    pub num_sentences: usize,
    /// Batch size the plan was made for (checked on resume).
    pub batch_size: usize,
    /// How the plan cuts batches (checked on resume). Checkpoints written before the choice
    /// existed lack it and were bucketed.
    #[serde(default)]
    pub batching: Batching,
}

/// The endless stream of training batches (as sentence indices) for one dataset.
#[derive(Debug, Clone)]
pub struct TrainBatches {
    lengths: Vec<usize>,
    batch_size: usize,
    batching: Batching,
    seed: u64,
    epoch: u64,
    position: usize,
    plan: Vec<Vec<usize>>,
}

impl TrainBatches {
    /// A stream over sentences with the given lengths, starting at epoch 0.
    pub fn new(
        lengths: Vec<usize>,
        batch_size: usize,
        batching: Batching,
        seed: u64,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::BatchSize);
        }
        if lengths.is_empty() {
            return Err(Error::NoSentences);
        }
        let plan = plan_epoch(&lengths, batch_size, batching, seed, 0);
        Ok(Self {
            lengths,
            batch_size,
            batching,
            seed,
            epoch: 0,
            position: 0,
            plan,
        })
    }

    /// Continues a stream from a saved [`BatchState`]; the data must be the same size, the
    /// batch size and the batching the same, or the resumed run would silently differ.
    pub fn resume(
        lengths: Vec<usize>,
        batch_size: usize,
        batching: Batching,
        state: &BatchState,
    ) -> Result<Self> {
        if state.num_sentences != lengths.len()
            || state.batch_size != batch_size
            || state.batching != batching
        {
            return Err(Error::ResumeMismatch {
                saved: state.num_sentences,
                saved_batch_size: state.batch_size,
                saved_batching: state.batching,
                found: lengths.len(),
                found_batch_size: batch_size,
                found_batching: batching,
            });
        }
        let mut stream = Self::new(lengths, batch_size, batching, state.seed)?;
        stream.epoch = state.epoch;
        stream.plan = plan_epoch(
            &stream.lengths,
            batch_size,
            batching,
            state.seed,
            state.epoch,
        );
        stream.position = state.position.min(stream.plan.len());
        Ok(stream)
    }

    /// The state to save now; resuming from it yields the batch `next_batch` would return.
    pub fn state(&self) -> BatchState {
        BatchState {
            seed: self.seed,
            epoch: self.epoch,
            position: self.position,
            num_sentences: self.lengths.len(),
            batch_size: self.batch_size,
            batching: self.batching,
        }
    }

    /// 0-based epoch of the batch last returned (0 before the first); the trainer logs it.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.plan.len()
    }

    /// The next batch's sentence indices, starting a new epoch when the current one is used up.
    pub fn next_batch(&mut self) -> &[usize] {
        if self.position >= self.plan.len() {
            self.epoch += 1;
            self.position = 0;
            self.plan = plan_epoch(
                &self.lengths,
                self.batch_size,
                self.batching,
                self.seed,
                self.epoch,
            );
        }
        let i = self.position;
        self.position += 1;
        // `plan` has at least one batch: `lengths` is non-empty (checked in `new`).
        &self.plan[i]
    }
}

/// The batches of epoch `epoch`: shuffled, then chunked (`Shuffled`), or pooled, length-sorted,
/// chunked and the batch order shuffled (`Bucketed`).
fn plan_epoch(
    lengths: &[usize],
    batch_size: usize,
    batching: Batching,
    seed: u64,
    epoch: u64,
) -> Vec<Vec<usize>> {
    // One independent stream per (seed, epoch); the odd constant (2^64 / golden ratio) spreads
    // consecutive epochs over the seed space.
    let mut rng = StdRng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
    if batching == Batching::Shuffled {
        // The short remainder stays a batch of its own, as in the bucketed plan (the paper's
        // new loader and the PyTorch reference drop it instead), so that both modes see every
        // sentence once per epoch.
        return order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    }
    let mut batches = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    for pool in order.chunks_mut(batch_size.saturating_mul(POOL_BATCHES)) {
        // Stable: equal lengths keep their shuffled order.
        pool.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        batches.extend(pool.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [Batching; 2] = [Batching::Bucketed, Batching::Shuffled];

    fn lengths(n: usize) -> Vec<usize> {
        (0..n).map(|i| 1 + (i * 7919) % 50).collect()
    }

    /// The first `n` batches of a fresh stream.
    fn take(
        lens: Vec<usize>,
        batch_size: usize,
        batching: Batching,
        seed: u64,
        n: usize,
    ) -> Vec<Vec<usize>> {
        let mut s = TrainBatches::new(lens, batch_size, batching, seed).unwrap();
        (0..n).map(|_| s.next_batch().to_vec()).collect()
    }

    /// `(mean of max − min length within a batch, padded positions)` over `batches`; padding is
    /// `Σ batch_len · max_len − tokens`, the `[B, T]` cells the model computes for nothing.
    fn spread_and_padding(batches: &[Vec<usize>], lens: &[usize]) -> (f64, usize) {
        let mut spread = 0;
        let mut padding = 0;
        for batch in batches {
            let l: Vec<usize> = batch.iter().map(|&i| lens[i]).collect();
            let (max, min) = (*l.iter().max().unwrap(), *l.iter().min().unwrap());
            spread += max - min;
            padding += l.len() * max - l.iter().sum::<usize>();
        }
        (spread as f64 / batches.len() as f64, padding)
    }

    #[test]
    fn every_sentence_once_per_epoch() {
        let lens = lengths(1234);
        for batching in MODES {
            let mut stream = TrainBatches::new(lens.clone(), 8, batching, 5).unwrap();
            // Bucketed: one pool of 800 and one of 434, 100 + 55 batches; shuffled: ⌈1234 / 8⌉.
            // Either way one short batch of 1234 mod 8 = 2 sentences.
            assert_eq!(stream.batches_per_epoch(), 155, "{batching}");
            for epoch in 0..3 {
                let mut seen = vec![0usize; lens.len()];
                let mut sizes = Vec::new();
                for _ in 0..stream.batches_per_epoch() {
                    let batch = stream.next_batch();
                    sizes.push(batch.len());
                    for &i in batch {
                        seen[i] += 1;
                    }
                    assert_eq!(stream.epoch(), epoch);
                }
                assert!(seen.iter().all(|&n| n == 1), "{batching}, epoch {epoch}");
                assert_eq!(sizes.iter().filter(|&&n| n == 8).count(), 154, "{batching}");
                assert!(sizes.contains(&2), "{batching}");
                if batching == Batching::Shuffled {
                    // Consecutive chunks of one shuffle: the remainder comes last.
                    assert_eq!(sizes.last(), Some(&2));
                }
            }
        }
    }

    #[test]
    fn batches_are_length_sorted_and_epochs_differ() {
        let lens = lengths(2000);
        let mut stream = TrainBatches::new(lens.clone(), 10, Batching::Bucketed, 1).unwrap();
        let first: Vec<Vec<usize>> = (0..stream.batches_per_epoch())
            .map(|_| stream.next_batch().to_vec())
            .collect();
        // Within a batch lengths are non-increasing, and the spread is small: a pool of 1000
        // sentences over 50 lengths holds ~20 per length, so a batch of 10 spans 2 adjacent
        // lengths, 3 only where one length drew fewer than 10 (allowed for; unsorted batches
        // would span ~40).
        for batch in &first {
            let l: Vec<usize> = batch.iter().map(|&i| lens[i]).collect();
            assert!(l.windows(2).all(|w| w[0] >= w[1]), "{l:?}");
            assert!(l[0] - l[l.len() - 1] <= 3, "{l:?}");
        }
        let second: Vec<Vec<usize>> = (0..stream.batches_per_epoch())
            .map(|_| stream.next_batch().to_vec())
            .collect();
        assert_ne!(first, second);
    }

    /// 3,000 sentences of random length in 1..=60, batches of 19 (the benchmark's). Shuffled
    /// batches are 19 independent draws: their expected range is 59 · 18/20 ≈ 53 and the expected
    /// longest ≈ 57.5 against a mean of 30.5, about 27 padded positions per sentence. Bucketed
    /// pools of 1,900 hold ~32 sentences per length, so a batch spans at most 2 adjacent
    /// lengths (3 where a length drew fewer than 19): spread below 1 on average, padding well
    /// below one position per sentence.
    #[test]
    fn shuffled_batches_mix_lengths_and_pad_more() {
        use rand::Rng;
        let mut rng = StdRng::seed_from_u64(17);
        let lens: Vec<usize> = (0..3000).map(|_| rng.random_range(1..=60usize)).collect();
        let n = lens.len().div_ceil(19);
        let bucketed = take(lens.clone(), 19, Batching::Bucketed, 3, n);
        let shuffled = take(lens.clone(), 19, Batching::Shuffled, 3, n);
        let (bucketed_spread, bucketed_padding) = spread_and_padding(&bucketed, &lens);
        let (shuffled_spread, shuffled_padding) = spread_and_padding(&shuffled, &lens);
        assert!(bucketed_spread < 1.5, "{bucketed_spread}");
        assert!(shuffled_spread > 45.0, "{shuffled_spread}");
        assert!(bucketed_padding < lens.len(), "{bucketed_padding}");
        assert!(
            shuffled_padding > 20 * lens.len(),
            "{shuffled_padding} vs {bucketed_padding}"
        );
        // Not sorted within batches either (length order is the bucketed plan's, not shuffled's).
        let unsorted = shuffled
            .iter()
            .filter(|b| !b.windows(2).all(|w| lens[w[0]] >= lens[w[1]]))
            .count();
        assert!(unsorted > n * 9 / 10, "{unsorted} of {n}");
    }

    #[test]
    fn shuffled_epochs_differ() {
        let mut stream = TrainBatches::new(lengths(200), 10, Batching::Shuffled, 1).unwrap();
        let first: Vec<Vec<usize>> = (0..20).map(|_| stream.next_batch().to_vec()).collect();
        let second: Vec<Vec<usize>> = (0..20).map(|_| stream.next_batch().to_vec()).collect();
        assert_eq!(stream.epoch(), 1);
        assert_ne!(first, second);
    }

    #[test]
    fn same_seed_same_stream() {
        for batching in MODES {
            let a = take(lengths(100), 7, batching, 3, 40);
            let b = take(lengths(100), 7, batching, 3, 40);
            let c = take(lengths(100), 7, batching, 4, 40);
            assert_eq!(a, b, "{batching}");
            assert_ne!(a, c, "{batching}");
        }
        assert_ne!(
            take(lengths(100), 7, Batching::Bucketed, 3, 40),
            take(lengths(100), 7, Batching::Shuffled, 3, 40)
        );
    }

    #[test]
    fn resume_continues_exactly() {
        for batching in MODES {
            // 100 sentences / 7 = 15 batches per epoch; stop at batch 23 (epoch 1, position 8).
            let expected = take(lengths(100), 7, batching, 11, 60);

            let mut killed = TrainBatches::new(lengths(100), 7, batching, 11).unwrap();
            for _ in 0..23 {
                killed.next_batch();
            }
            let state = killed.state();
            assert_eq!((state.epoch, state.position), (1, 8));
            let json = serde_json::to_string(&state).unwrap();
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(value["batching"], batching.as_str());
            let state: BatchState = serde_json::from_str(&json).unwrap();
            let mut resumed = TrainBatches::resume(lengths(100), 7, batching, &state).unwrap();
            let rest: Vec<Vec<usize>> = (23..60).map(|_| resumed.next_batch().to_vec()).collect();
            assert_eq!(rest, expected[23..], "{batching}");
        }
    }

    #[test]
    fn resume_at_epoch_end_starts_next_epoch() {
        for batching in MODES {
            let expected = take(lengths(20), 5, batching, 2, 8);
            let mut a = TrainBatches::new(lengths(20), 5, batching, 2).unwrap();
            for _ in 0..4 {
                a.next_batch();
            }
            let mut b = TrainBatches::resume(lengths(20), 5, batching, &a.state()).unwrap();
            let rest: Vec<Vec<usize>> = (0..4).map(|_| b.next_batch().to_vec()).collect();
            assert_eq!(rest, expected[4..], "{batching}");
            assert_eq!(b.epoch(), 1);
        }
    }

    /// A `state.json` from before `batching` existed: it was bucketed, and resumes as such.
    #[test]
    fn state_without_batching_is_bucketed() {
        let json =
            r#"{"seed": 11, "epoch": 1, "position": 8, "num_sentences": 100, "batch_size": 7}"#;
        let state: BatchState = serde_json::from_str(json).unwrap();
        assert_eq!(state.batching, Batching::Bucketed);
        let expected = take(lengths(100), 7, Batching::Bucketed, 11, 60);
        let mut resumed =
            TrainBatches::resume(lengths(100), 7, Batching::Bucketed, &state).unwrap();
        let rest: Vec<Vec<usize>> = (23..60).map(|_| resumed.next_batch().to_vec()).collect();
        assert_eq!(rest, expected[23..]);
        assert!(TrainBatches::resume(lengths(100), 7, Batching::Shuffled, &state).is_err());
    }

    #[test]
    fn bad_arguments() {
        assert!(matches!(
            TrainBatches::new(vec![1], 0, Batching::Bucketed, 0),
            Err(Error::BatchSize)
        ));
        assert!(matches!(
            TrainBatches::new(vec![], 4, Batching::Shuffled, 0),
            Err(Error::NoSentences)
        ));
        let s = TrainBatches::new(lengths(10), 4, Batching::Bucketed, 0).unwrap();
        let err = TrainBatches::resume(lengths(11), 4, Batching::Bucketed, &s.state()).unwrap_err();
        assert!(matches!(
            err,
            Error::ResumeMismatch {
                saved: 10,
                found: 11,
                ..
            }
        ));
        let err = TrainBatches::resume(lengths(10), 5, Batching::Bucketed, &s.state()).unwrap_err();
        assert!(matches!(
            err,
            Error::ResumeMismatch {
                saved_batch_size: 4,
                found_batch_size: 5,
                ..
            }
        ));
        let err = TrainBatches::resume(lengths(10), 4, Batching::Shuffled, &s.state()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot resume batches: state was saved for 10 sentences in bucketed batches of 4, \
             data has 10 sentences in shuffled batches of 4"
        );
    }

    #[test]
    fn small_data_single_batch() {
        let mut s = TrainBatches::new(vec![3, 1], 10, Batching::Bucketed, 0).unwrap();
        assert_eq!(s.batches_per_epoch(), 1);
        assert_eq!(s.next_batch(), [0, 1]);
        assert_eq!(s.next_batch(), [0, 1]);
        assert_eq!(s.epoch(), 1);
        let mut s = TrainBatches::new(vec![3, 1], 10, Batching::Shuffled, 0).unwrap();
        assert_eq!(s.batches_per_epoch(), 1);
        let mut batch = s.next_batch().to_vec();
        batch.sort_unstable();
        assert_eq!(batch, [0, 1]);
    }
}
