//! Length-bucketed training batches: an endless, seeded, resumable stream of sentence indices.
//!
//! Each epoch: shuffle all sentence indices; cut the shuffled list into pools of
//! [`POOL_BATCHES`] batches; sort each pool by length and cut it into batches; shuffle the
//! order of all batches. Sentences of similar length share a batch (little padding, so less
//! wasted compute than the paper's unsorted chunks, seed-systems.md A.5), yet batch contents
//! and order differ every epoch (the pools are random), and every sentence is used exactly once
//! per epoch.
//!
//! The plan of epoch `e` is a pure function of `(seed, e)`, so the whole iterator state is
//! [`BatchState`] `(seed, epoch, position)`: a checkpoint stores it and
//! [`TrainBatches::resume`] continues with exactly the batches an uninterrupted run would get.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Batches per sorting pool. Large enough that batches hold near-equal lengths (100 batches ≈
/// 1,000–3,000 sentences), small enough that batch composition still changes every epoch.
pub const POOL_BATCHES: usize = 100;

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
}

/// The endless stream of training batches (as sentence indices) for one dataset.
#[derive(Debug, Clone)]
pub struct TrainBatches {
    lengths: Vec<usize>,
    batch_size: usize,
    seed: u64,
    epoch: u64,
    position: usize,
    plan: Vec<Vec<usize>>,
}

impl TrainBatches {
    /// A stream over sentences with the given lengths, starting at epoch 0.
    pub fn new(lengths: Vec<usize>, batch_size: usize, seed: u64) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::BatchSize);
        }
        if lengths.is_empty() {
            return Err(Error::NoSentences);
        }
        let plan = plan_epoch(&lengths, batch_size, seed, 0);
        Ok(Self {
            lengths,
            batch_size,
            seed,
            epoch: 0,
            position: 0,
            plan,
        })
    }

    /// Continues a stream from a saved [`BatchState`]; the data must be the same size and the
    /// batch size the same, or the resumed run would silently differ.
    pub fn resume(lengths: Vec<usize>, batch_size: usize, state: &BatchState) -> Result<Self> {
        if state.num_sentences != lengths.len() || state.batch_size != batch_size {
            return Err(Error::ResumeMismatch {
                saved: state.num_sentences,
                saved_batch_size: state.batch_size,
                found: lengths.len(),
                found_batch_size: batch_size,
            });
        }
        let mut stream = Self::new(lengths, batch_size, state.seed)?;
        stream.epoch = state.epoch;
        stream.plan = plan_epoch(&stream.lengths, batch_size, state.seed, state.epoch);
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
            self.plan = plan_epoch(&self.lengths, self.batch_size, self.seed, self.epoch);
        }
        let i = self.position;
        self.position += 1;
        // `plan` has at least one batch: `lengths` is non-empty (checked in `new`).
        &self.plan[i]
    }
}

/// The batches of epoch `epoch`: shuffled, pooled, length-sorted, chunked, batch order shuffled.
fn plan_epoch(lengths: &[usize], batch_size: usize, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
    // One independent stream per (seed, epoch); the odd constant (2^64 / golden ratio) spreads
    // consecutive epochs over the seed space.
    let mut rng = StdRng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
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

    fn lengths(n: usize) -> Vec<usize> {
        (0..n).map(|i| 1 + (i * 7919) % 50).collect()
    }

    #[test]
    fn every_sentence_once_per_epoch() {
        let lens = lengths(1234);
        let mut stream = TrainBatches::new(lens.clone(), 8, 5).unwrap();
        // 1234 sentences in one pool of 800 and one of 434: 100 + 55 batches.
        assert_eq!(stream.batches_per_epoch(), 155);
        for epoch in 0..3 {
            let mut seen = vec![0usize; lens.len()];
            for _ in 0..stream.batches_per_epoch() {
                for &i in stream.next_batch() {
                    seen[i] += 1;
                }
                assert_eq!(stream.epoch(), epoch);
            }
            assert!(seen.iter().all(|&n| n == 1), "epoch {epoch}");
        }
    }

    #[test]
    fn batches_are_length_sorted_and_epochs_differ() {
        let lens = lengths(2000);
        let mut stream = TrainBatches::new(lens.clone(), 10, 1).unwrap();
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

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<Vec<usize>> = {
            let mut s = TrainBatches::new(lengths(100), 7, 3).unwrap();
            (0..40).map(|_| s.next_batch().to_vec()).collect()
        };
        let b: Vec<Vec<usize>> = {
            let mut s = TrainBatches::new(lengths(100), 7, 3).unwrap();
            (0..40).map(|_| s.next_batch().to_vec()).collect()
        };
        let c: Vec<Vec<usize>> = {
            let mut s = TrainBatches::new(lengths(100), 7, 4).unwrap();
            (0..40).map(|_| s.next_batch().to_vec()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn resume_continues_exactly() {
        // 100 sentences / 7 = 15 batches per epoch; stop at batch 23 (epoch 1, position 8).
        let mut full = TrainBatches::new(lengths(100), 7, 11).unwrap();
        let expected: Vec<Vec<usize>> = (0..60).map(|_| full.next_batch().to_vec()).collect();

        let mut killed = TrainBatches::new(lengths(100), 7, 11).unwrap();
        for _ in 0..23 {
            killed.next_batch();
        }
        let state = killed.state();
        assert_eq!((state.epoch, state.position), (1, 8));
        let json = serde_json::to_string(&state).unwrap();
        let state: BatchState = serde_json::from_str(&json).unwrap();
        let mut resumed = TrainBatches::resume(lengths(100), 7, &state).unwrap();
        let rest: Vec<Vec<usize>> = (23..60).map(|_| resumed.next_batch().to_vec()).collect();
        assert_eq!(rest, expected[23..]);
    }

    #[test]
    fn resume_at_epoch_end_starts_next_epoch() {
        let mut s = TrainBatches::new(lengths(20), 5, 2).unwrap();
        let expected: Vec<Vec<usize>> = (0..8).map(|_| s.next_batch().to_vec()).collect();
        let mut a = TrainBatches::new(lengths(20), 5, 2).unwrap();
        for _ in 0..4 {
            a.next_batch();
        }
        let mut b = TrainBatches::resume(lengths(20), 5, &a.state()).unwrap();
        let rest: Vec<Vec<usize>> = (0..4).map(|_| b.next_batch().to_vec()).collect();
        assert_eq!(rest, expected[4..]);
        assert_eq!(b.epoch(), 1);
    }

    #[test]
    fn bad_arguments() {
        assert!(matches!(
            TrainBatches::new(vec![1], 0, 0),
            Err(Error::BatchSize)
        ));
        assert!(matches!(
            TrainBatches::new(vec![], 4, 0),
            Err(Error::NoSentences)
        ));
        let s = TrainBatches::new(lengths(10), 4, 0).unwrap();
        let err = TrainBatches::resume(lengths(11), 4, &s.state()).unwrap_err();
        assert!(matches!(
            err,
            Error::ResumeMismatch {
                saved: 10,
                found: 11,
                ..
            }
        ));
        let err = TrainBatches::resume(lengths(10), 5, &s.state()).unwrap_err();
        assert!(matches!(
            err,
            Error::ResumeMismatch {
                saved_batch_size: 4,
                found_batch_size: 5,
                ..
            }
        ));
    }

    #[test]
    fn small_data_single_batch() {
        let mut s = TrainBatches::new(vec![3, 1], 10, 0).unwrap();
        assert_eq!(s.batches_per_epoch(), 1);
        assert_eq!(s.next_batch(), [0, 1]);
        assert_eq!(s.next_batch(), [0, 1]);
        assert_eq!(s.epoch(), 1);
    }
}
