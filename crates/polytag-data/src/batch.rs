//! [`Batch`]: padded rectangular id buffers for a group of encoded sentences, plus the
//! evaluation batch order. Training order comes from [`crate::bucket`].
//!
//! Buffers are plain `Vec<u32>` in row-major order with shape letters `[B, T, L]` = batch,
//! words, chars (style.md); the model crate turns them into tensors. Padding is id 0 ([`PAD`])
//! everywhere, including labels, so the `lengths` are the mask: padded positions must be
//! ignored by every consumer, never "predicted" as label 0.

use serde::{Deserialize, Serialize};

use crate::encode::EncodedSentence;
use crate::error::{Error, Result};
use crate::vocab::PAD;

/// Shape options shared by training and evaluation batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOptions {
    /// Minimum char dimension `L`: the widest char-CNN filter, so every word yields at least one
    /// convolution window (seed-systems.md A′.1 pads words to 4).
    pub min_char_len: usize,
    /// Longer words are cut to this many characters (`None`: never). A 300-character URL would
    /// otherwise widen `[B, T, L]` for the whole batch.
    pub max_char_len: Option<usize>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            min_char_len: 1,
            max_char_len: None,
        }
    }
}

/// A padded batch of sentences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// `B`: number of sentences.
    pub batch_size: usize,
    /// `T`: longest sentence (at least 1, so tensors never have a zero dimension).
    pub max_len: usize,
    /// `L`: longest word in characters, at least `min_char_len` and 1, at most `max_char_len`.
    pub max_chars: usize,
    /// `[B, T]` word ids.
    pub words: Vec<u32>,
    /// `[B, T, L]` character ids.
    pub chars: Vec<u32>,
    /// `[B, T]` characters per word after truncation (0 at padded positions).
    pub char_lengths: Vec<u32>,
    /// `[B, T]` label ids, 0 at padding (masked by `lengths`); all 0 when unlabelled.
    pub labels: Vec<u32>,
    /// False when the sentences carry no labels (prediction input).
    pub has_labels: bool,
    /// One `[B, T]` buffer per feature column.
    pub features: Vec<Vec<u32>>,
    /// `[B]` sentence lengths.
    pub lengths: Vec<usize>,
    /// `[B]` index of each row's sentence in the corpus, to write predictions back in order.
    pub sentence_idx: Vec<usize>,
}

impl Batch {
    /// Pads the sentences `data[i]` for `i` in `indices` (in that row order).
    ///
    /// # Panics
    /// If an index is out of range: indices come from [`crate::bucket::TrainBatches`] or
    /// [`eval_batches`] over the same `data`, so that is a caller bug, not bad input.
    pub fn build(data: &[EncodedSentence], indices: &[usize], opts: &BatchOptions) -> Batch {
        let rows: Vec<&EncodedSentence> = indices.iter().map(|&i| &data[i]).collect();
        let b = rows.len();
        let t = rows.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let longest_word = rows
            .iter()
            .flat_map(|s| s.char_offsets.windows(2).map(|w| (w[1] - w[0]) as usize))
            .max()
            .unwrap_or(0);
        let cap = opts.max_char_len.unwrap_or(usize::MAX);
        let l = longest_word.min(cap).max(opts.min_char_len).max(1);
        let num_features = rows.first().map_or(0, |s| s.features.len());
        let has_labels = !rows.is_empty() && rows.iter().all(|s| s.labels.len() == s.len());

        let mut batch = Batch {
            batch_size: b,
            max_len: t,
            max_chars: l,
            words: vec![PAD; b * t],
            chars: vec![PAD; b * t * l],
            char_lengths: vec![0; b * t],
            labels: vec![0; b * t],
            has_labels,
            features: vec![vec![PAD; b * t]; num_features],
            lengths: rows.iter().map(|s| s.len()).collect(),
            sentence_idx: indices.to_vec(),
        };
        for (r, sentence) in rows.iter().enumerate() {
            let row = r * t;
            let n = sentence.len();
            batch.words[row..row + n].copy_from_slice(&sentence.words);
            if has_labels {
                batch.labels[row..row + n].copy_from_slice(&sentence.labels);
            }
            for (buffer, column) in batch.features.iter_mut().zip(&sentence.features) {
                buffer[row..row + column.len().min(n)]
                    .copy_from_slice(&column[..column.len().min(n)]);
            }
            for w in 0..n {
                let chars = sentence.word_chars(w);
                let k = chars.len().min(l);
                let start = (row + w) * l;
                batch.chars[start..start + k].copy_from_slice(&chars[..k]);
                // k <= L, which is a word length, far below u32::MAX.
                batch.char_lengths[row + w] = k as u32;
            }
        }
        batch
    }

    /// Number of real (unpadded) tokens.
    pub fn num_tokens(&self) -> usize {
        self.lengths.iter().sum()
    }
}

/// Order of evaluation batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalOrder {
    /// Consecutive sentences in file order.
    #[default]
    File,
    /// Sentences sorted by decreasing length (ties in file order): less padding, faster;
    /// `Batch::sentence_idx` restores file order.
    Length,
}

/// Evaluation batches: every sentence exactly once, `batch_size` per batch (the last may be
/// smaller), deterministic.
pub fn eval_batches(
    lengths: &[usize],
    batch_size: usize,
    order: EvalOrder,
) -> Result<Vec<Vec<usize>>> {
    if batch_size == 0 {
        return Err(Error::BatchSize);
    }
    let mut indices: Vec<usize> = (0..lengths.len()).collect();
    if order == EvalOrder::Length {
        // Stable sort: equal lengths keep file order.
        indices.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
    }
    Ok(indices.chunks(batch_size).map(<[usize]>::to_vec).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sentence whose word ids are 10, 11, ..., labels 2, 3, ..., and whose word `i` has
    /// `word_lens[i]` characters with ids 100, 101, ...
    fn sentence(word_lens: &[usize]) -> EncodedSentence {
        let mut chars = Vec::new();
        let mut offsets = vec![0u32];
        for &n in word_lens {
            chars.extend((0..n as u32).map(|c| 100 + c));
            offsets.push(chars.len() as u32);
        }
        let t = word_lens.len() as u32;
        EncodedSentence {
            words: (10..10 + t).collect(),
            chars,
            char_offsets: offsets,
            labels: (2..2 + t).collect(),
            features: vec![(50..50 + t).collect()],
        }
    }

    #[test]
    fn shapes_and_padding() {
        let data = vec![sentence(&[3, 1]), sentence(&[2]), sentence(&[1, 5, 2])];
        let b = Batch::build(&data, &[1, 0], &BatchOptions::default());
        // B = 2, T = 2, L = 3 (longest word among sentences 1 and 0).
        assert_eq!((b.batch_size, b.max_len, b.max_chars), (2, 2, 3));
        assert_eq!(b.words, [10, PAD, 10, 11]);
        assert_eq!(b.labels, [2, 0, 2, 3]);
        assert_eq!(b.features, vec![vec![50, PAD, 50, 51]]);
        assert_eq!(b.lengths, [1, 2]);
        assert_eq!(b.sentence_idx, [1, 0]);
        assert_eq!(b.char_lengths, [2, 0, 3, 1]);
        assert_eq!(
            b.chars,
            [100, 101, 0, /* pad word */ 0, 0, 0, 100, 101, 102, 100, 0, 0]
        );
        assert!(b.has_labels);
        assert_eq!(b.num_tokens(), 3);
    }

    #[test]
    fn min_and_max_char_len() {
        let data = vec![sentence(&[1, 5, 2])];
        let wide = BatchOptions {
            min_char_len: 4,
            max_char_len: None,
        };
        let b = Batch::build(&data, &[0], &wide);
        assert_eq!(b.max_chars, 5);
        let b = Batch::build(&[sentence(&[1])], &[0], &wide);
        assert_eq!(b.max_chars, 4, "padded up to the widest filter");
        assert_eq!(b.chars, [100, 0, 0, 0]);
        let capped = BatchOptions {
            min_char_len: 1,
            max_char_len: Some(3),
        };
        let b = Batch::build(&data, &[0], &capped);
        assert_eq!(b.max_chars, 3);
        assert_eq!(&b.chars[3..6], [100, 101, 102]);
        assert_eq!(b.char_lengths, [1, 3, 2]);
    }

    #[test]
    fn unlabelled_and_empty_batches() {
        let mut s = sentence(&[2]);
        s.labels.clear();
        let b = Batch::build(&[s], &[0], &BatchOptions::default());
        assert!(!b.has_labels);
        assert_eq!(b.labels, [0]);
        let empty = Batch::build(&[], &[], &BatchOptions::default());
        assert_eq!((empty.batch_size, empty.max_len), (0, 1));
        assert!(empty.words.is_empty());
    }

    #[test]
    fn eval_orders() {
        let lengths = [3, 1, 4, 1, 5];
        assert_eq!(
            eval_batches(&lengths, 2, EvalOrder::File).unwrap(),
            [vec![0, 1], vec![2, 3], vec![4]]
        );
        assert_eq!(
            eval_batches(&lengths, 2, EvalOrder::Length).unwrap(),
            [vec![4, 2], vec![0, 1], vec![3]]
        );
        assert!(matches!(
            eval_batches(&lengths, 0, EvalOrder::File),
            Err(Error::BatchSize)
        ));
        assert!(eval_batches(&[], 3, EvalOrder::File).unwrap().is_empty());
    }
}
