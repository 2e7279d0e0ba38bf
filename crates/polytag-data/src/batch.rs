//! [`Batch`]: padded rectangular id buffers for a group of encoded sentences, plus the
//! evaluation batch order. Training order comes from [`crate::bucket`].
//!
//! Buffers are plain `Vec<u32>` in row-major order with shape letters `[B, T, L]` = batch,
//! words, chars (style.md); the model crate turns them into tensors. Padding is id 0 ([`PAD`])
//! everywhere, including labels, so the `lengths` are the mask: padded positions must be
//! ignored by every consumer, never "predicted" as label 0.

use serde::{Deserialize, Serialize};

use crate::encode::{EncodedSentence, EncodedStream};
use crate::error::{Error, Result};
use crate::subword::SubwordBatch;
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
    /// One padded buffer per input stream of the sentences ([`EncodedSentence::streams`]).
    pub streams: Vec<BatchStream>,
    /// `[B, T]` label ids, 0 at padding (masked by `lengths`); all 0 when unlabelled.
    pub labels: Vec<u32>,
    /// False when the sentences carry no labels (prediction input).
    pub has_labels: bool,
    /// `[B]` sentence lengths.
    pub lengths: Vec<usize>,
    /// `[B]` index of each row's sentence in the corpus, to write predictions back in order.
    pub sentence_idx: Vec<usize>,
}

/// One input stream of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchStream {
    /// `[B, T]` ids, one per token.
    Tokens(Vec<u32>),
    /// `[B, T, L]` character ids, right-padded per word.
    Chars {
        /// `L`: longest word in characters, at least `min_char_len` and 1, at most
        /// `max_char_len`.
        max_chars: usize,
        /// `[B, T, L]` character ids.
        ids: Vec<u32>,
        /// `[B, T]` characters per word after truncation (0 at padded positions).
        lengths: Vec<u32>,
    },
    /// Sub-word windows of all sentences and where each word's pieces are.
    Subwords(SubwordBatch),
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
        let has_labels = !rows.is_empty() && rows.iter().all(|s| s.labels.len() == s.len());
        let num_streams = rows.first().map_or(0, |s| s.streams.len());
        let streams = (0..num_streams)
            .map(|k| {
                let column = rows.iter().map(|s| (s.len(), s.streams.get(k)));
                pad_stream(column, b, t, opts)
            })
            .collect();
        let mut labels = vec![0; b * t];
        if has_labels {
            for (r, sentence) in rows.iter().enumerate() {
                labels[r * t..r * t + sentence.len()].copy_from_slice(&sentence.labels);
            }
        }
        Batch {
            batch_size: b,
            max_len: t,
            streams,
            labels,
            has_labels,
            lengths: rows.iter().map(|s| s.len()).collect(),
            sentence_idx: indices.to_vec(),
        }
    }

    /// Number of real (unpadded) tokens.
    pub fn num_tokens(&self) -> usize {
        self.lengths.iter().sum()
    }
}

/// Pads stream `k` of each row (`(sentence length, stream)`) into one `[B, T(, L)]` buffer;
/// the stream's kind is the first row's (every row of a task is encoded alike).
fn pad_stream<'a>(
    rows: impl Iterator<Item = (usize, Option<&'a EncodedStream>)> + Clone,
    b: usize,
    t: usize,
    opts: &BatchOptions,
) -> BatchStream {
    let first = rows.clone().find_map(|(_, s)| s);
    if first.is_some_and(|s| matches!(s, EncodedStream::Subwords(_))) {
        let subwords = rows.map(|(n, s)| match s {
            Some(EncodedStream::Subwords(e)) => (n, Some(e)),
            _ => (n, None),
        });
        return BatchStream::Subwords(SubwordBatch::build(subwords, b, t));
    }
    let chars = first.is_some_and(|s| matches!(s, EncodedStream::Chars { .. }));
    if !chars {
        let mut ids = vec![PAD; b * t];
        for (r, (n, stream)) in rows.enumerate() {
            if let Some(EncodedStream::Tokens(values)) = stream {
                let n = values.len().min(n);
                ids[r * t..r * t + n].copy_from_slice(&values[..n]);
            }
        }
        return BatchStream::Tokens(ids);
    }
    let longest_word = rows
        .clone()
        .filter_map(|(_, s)| match s {
            Some(EncodedStream::Chars { offsets, .. }) => {
                offsets.windows(2).map(|w| (w[1] - w[0]) as usize).max()
            }
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let cap = opts.max_char_len.unwrap_or(usize::MAX);
    let l = longest_word.min(cap).max(opts.min_char_len).max(1);
    let mut ids = vec![PAD; b * t * l];
    let mut lengths = vec![0; b * t];
    for (r, (n, stream)) in rows.enumerate() {
        let Some(stream) = stream else { continue };
        for w in 0..n {
            let chars = stream.word_chars(w);
            let k = chars.len().min(l);
            let start = (r * t + w) * l;
            ids[start..start + k].copy_from_slice(&chars[..k]);
            // k <= L, which is a word length, far below u32::MAX.
            lengths[r * t + w] = k as u32;
        }
    }
    BatchStream::Chars {
        max_chars: l,
        ids,
        lengths,
    }
}

/// Order of evaluation batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalOrder {
    /// Consecutive sentences in file order.
    #[default]
    File,
    /// Sentences sorted by decreasing length (ties in file order), a batch cut early where
    /// padding would outgrow its real tokens ([`MAX_PADDING`]): less padding, faster, less
    /// memory; `Batch::sentence_idx` restores file order.
    Length,
}

/// A length-ordered evaluation batch holds at most this many padded positions per real
/// token. Why: a batch is as long as its longest sentence, and one long sentence among short
/// ones makes most of the batch padding — a dev batch of 100 CoNLL-2003 sentences in file
/// order is a quarter real tokens, and its `[B, T, ·]` activations were the peak memory of
/// decoding. Sentences are independent rows, so a cut changes no result.
pub const MAX_PADDING: usize = 1;

/// Evaluation batches: every sentence exactly once, at most `batch_size` per batch (the last
/// may be smaller), deterministic. With [`EvalOrder::Length`], a batch also ends before the
/// sentence that would make its padded positions outnumber [`MAX_PADDING`] × its tokens.
pub fn eval_batches(
    lengths: &[usize],
    batch_size: usize,
    order: EvalOrder,
) -> Result<Vec<Vec<usize>>> {
    if batch_size == 0 {
        return Err(Error::BatchSize);
    }
    let mut indices: Vec<usize> = (0..lengths.len()).collect();
    if order == EvalOrder::File {
        return Ok(indices.chunks(batch_size).map(<[usize]>::to_vec).collect());
    }
    // Stable sort: equal lengths keep file order.
    indices.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::with_capacity(batch_size);
    let mut tokens = 0;
    for i in indices {
        // Decreasing lengths: the batch's first sentence is its longest.
        if let Some(&first) = current.first() {
            let padded = (current.len() + 1) * lengths[first];
            let real = tokens + lengths[i];
            if current.len() == batch_size || padded - real > MAX_PADDING * real {
                batches.push(std::mem::replace(
                    &mut current,
                    Vec::with_capacity(batch_size),
                ));
                tokens = 0;
            }
        }
        tokens += lengths[i];
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Ok(batches)
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
            len: word_lens.len(),
            streams: vec![
                EncodedStream::Tokens((10..10 + t).collect()),
                EncodedStream::Chars {
                    ids: chars,
                    offsets,
                },
                EncodedStream::Tokens((50..50 + t).collect()),
            ],
            labels: (2..2 + t).collect(),
        }
    }

    fn tokens(b: &Batch, k: usize) -> &[u32] {
        match &b.streams[k] {
            BatchStream::Tokens(ids) => ids,
            other => panic!("stream {k} is {other:?}"),
        }
    }

    /// `(L, ids, lengths)` of the char stream.
    fn chars(b: &Batch) -> (usize, &[u32], &[u32]) {
        match &b.streams[1] {
            BatchStream::Chars {
                max_chars,
                ids,
                lengths,
            } => (*max_chars, ids, lengths),
            other => panic!("stream 1 is {other:?}"),
        }
    }

    #[test]
    fn shapes_and_padding() {
        let data = vec![sentence(&[3, 1]), sentence(&[2]), sentence(&[1, 5, 2])];
        let b = Batch::build(&data, &[1, 0], &BatchOptions::default());
        // B = 2, T = 2, L = 3 (longest word among sentences 1 and 0).
        assert_eq!((b.batch_size, b.max_len, chars(&b).0), (2, 2, 3));
        assert_eq!(tokens(&b, 0), [10, PAD, 10, 11]);
        assert_eq!(b.labels, [2, 0, 2, 3]);
        assert_eq!(tokens(&b, 2), [50, PAD, 50, 51]);
        assert_eq!(b.lengths, [1, 2]);
        assert_eq!(b.sentence_idx, [1, 0]);
        assert_eq!(chars(&b).2, [2, 0, 3, 1]);
        assert_eq!(
            chars(&b).1,
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
        assert_eq!(chars(&b).0, 5);
        let b = Batch::build(&[sentence(&[1])], &[0], &wide);
        assert_eq!(chars(&b).0, 4, "padded up to the widest filter");
        assert_eq!(chars(&b).1, [100, 0, 0, 0]);
        let capped = BatchOptions {
            min_char_len: 1,
            max_char_len: Some(3),
        };
        let b = Batch::build(&data, &[0], &capped);
        assert_eq!(chars(&b).0, 3);
        assert_eq!(&chars(&b).1[3..6], [100, 101, 102]);
        assert_eq!(chars(&b).2, [1, 3, 2]);
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
        assert!(empty.streams.is_empty());
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

    #[test]
    fn length_order_cuts_where_padding_outgrows_tokens() {
        // sorted 10, 9, 2, 2, 1: with the 1, 5 × 10 = 50 positions for 24 tokens (26 padded)
        assert_eq!(
            eval_batches(&[10, 2, 2, 9, 1], 100, EvalOrder::Length).unwrap(),
            [vec![0, 3, 1, 2], vec![4]]
        );
        // one long sentence takes one short one (19 padded ≤ 21 real), not two (38 > 22)
        assert_eq!(
            eval_batches(&[20, 1, 1, 1], 100, EvalOrder::Length).unwrap(),
            [vec![0, 1], vec![2, 3]]
        );
        // empty sentences (length 0) count as padding after the rest: 3, 3, 0, 0 is 6 of
        // 12 positions (allowed), a third 0 would make it 9 of 15
        assert_eq!(
            eval_batches(&[0, 3, 0, 3, 0], 100, EvalOrder::Length).unwrap(),
            [vec![1, 3, 0, 2], vec![4]]
        );
    }

    /// Against the definition on pseudo-random lengths: every sentence once, each batch
    /// within the size and the padding bound, and each cut needed (the next sentence would
    /// have broken one of the two).
    #[test]
    fn length_order_batches_are_greedy_and_bounded() {
        let mut state = 12345u64;
        for case in 0..200 {
            let n = case % 37;
            let lengths: Vec<usize> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 33) % 60) as usize
                })
                .collect();
            let size = 1 + case % 9;
            let batches = eval_batches(&lengths, size, EvalOrder::Length).unwrap();
            let mut seen: Vec<usize> = batches.concat();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
            let padding = |b: &[usize]| {
                let longest = b.iter().map(|&i| lengths[i]).max().unwrap_or(0);
                let real: usize = b.iter().map(|&i| lengths[i]).sum();
                (b.len() * longest - real, real)
            };
            for (k, b) in batches.iter().enumerate() {
                let (pad, real) = padding(b);
                assert!(!b.is_empty() && b.len() <= size, "{lengths:?} {batches:?}");
                assert!(
                    pad <= MAX_PADDING * real || b.len() == 1,
                    "{lengths:?} {b:?}"
                );
                if let Some(next) = batches.get(k + 1) {
                    let grown: Vec<usize> = b.iter().copied().chain([next[0]]).collect();
                    let (pad, real) = padding(&grown);
                    assert!(
                        b.len() == size || pad > MAX_PADDING * real,
                        "needless cut: {lengths:?} {batches:?}"
                    );
                }
            }
        }
    }
}
