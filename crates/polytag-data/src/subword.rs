//! Sub-word pieces for a `transformer` feature: a model's `tokenizer.json` applied to the
//! words of a sentence (never to raw text, so word boundaries are the corpus's), and the
//! windows a sentence longer than the encoder's `max_len` is split into.
//!
//! Labels stay per word (transformer-design.md §4): every word gets at least one piece (a word
//! the normaliser empties, e.g. U+200B, becomes the UNK piece) and is read from exactly one
//! window, the one where it has the most context on both sides (BERT's
//! `_check_is_max_context`), so no word is ever truncated or dropped.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A Hugging Face `tokenizer.json` with truncation and padding turned off (model packages
/// ship them on: MiniLM's sets truncation 128 and padding Fixed 128, which would silently cut
/// sentences), and the ids of its special pieces.
#[derive(Clone)]
pub struct SubwordTokenizer {
    inner: Arc<tokenizers::Tokenizer>,
    /// The file it was read from.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes (hex): a run records it, resume and prediction check it.
    pub sha256: String,
    /// Opens every window (`[CLS]`, `<s>`).
    pub cls: u32,
    /// Closes every window (`[SEP]`, `</s>`).
    pub sep: u32,
    /// Fills windows shorter than the batch's longest (`[PAD]`, `<pad>`).
    pub pad: u32,
    /// Stands for a word the tokenizer turns into no piece at all (`[UNK]`, `<unk>`).
    pub unk: u32,
    /// Pieces in the vocabulary, added tokens included (a scratch encoder's embedding rows).
    pub vocab_size: usize,
}

impl fmt::Debug for SubwordTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubwordTokenizer")
            .field("path", &self.path)
            .field("sha256", &self.sha256)
            .field("cls", &self.cls)
            .field("sep", &self.sep)
            .field("pad", &self.pad)
            .field("unk", &self.unk)
            .finish_non_exhaustive()
    }
}

/// Same file, same tokenizer: equality is by content digest.
impl PartialEq for SubwordTokenizer {
    fn eq(&self, other: &Self) -> bool {
        self.sha256 == other.sha256
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of a digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl SubwordTokenizer {
    /// Reads `path`: a `tokenizer.json`, or a model folder holding one.
    ///
    /// # Errors
    /// [`Error::Open`] if unreadable, [`Error::Tokenizer`] if not a tokenizer or without the
    /// special pieces a window needs.
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            path.join("tokenizer.json")
        } else {
            path.to_path_buf()
        };
        let bytes = std::fs::read(&file).map_err(|source| Error::Open {
            path: file.clone(),
            source,
        })?;
        Self::from_bytes(&bytes, &file)
    }

    /// Parses the bytes of a `tokenizer.json`; `path` names it in errors.
    ///
    /// # Errors
    /// As [`Self::load`].
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |message: String| Error::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let mut tk = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
        tk.with_truncation(None).map_err(|e| bad(e.to_string()))?;
        tk.with_padding(None);
        // The post-processor's frame around an empty sentence: [CLS] [SEP] (BERT),
        // <s> </s> (RoBERTa/XLM-R), whatever the template says.
        let empty: &[&str] = &[];
        let frame = tk.encode(empty, true).map_err(|e| bad(e.to_string()))?;
        let specials: Vec<u32> = frame
            .get_ids()
            .iter()
            .zip(frame.get_special_tokens_mask())
            .filter(|(_, &m)| m == 1)
            .map(|(&id, _)| id)
            .collect();
        let (Some(&cls), Some(&sep)) = (specials.first(), specials.last()) else {
            return Err(bad(
                "its post-processor adds no [CLS] ... [SEP] frame (needed around every window)"
                    .into(),
            ));
        };
        if specials.len() < 2 {
            return Err(bad(
                "its post-processor adds only one special piece; a window needs an opening and a closing one".into(),
            ));
        }
        let named = |names: &[&str], hint: &str| -> Option<u32> {
            names.iter().find_map(|n| tk.token_to_id(n)).or_else(|| {
                let mut added: Vec<(u32, String)> = tk
                    .get_added_tokens_decoder()
                    .into_iter()
                    .filter(|(_, t)| t.special)
                    .map(|(id, t)| (id, t.content.to_lowercase()))
                    .collect();
                added.sort();
                added
                    .into_iter()
                    .find(|(_, c)| c.contains(hint))
                    .map(|(id, _)| id)
            })
        };
        let pad = named(&["[PAD]", "<pad>"], "pad")
            .ok_or_else(|| bad("no padding piece ([PAD] or <pad>)".into()))?;
        let unk = named(&["[UNK]", "<unk>"], "unk")
            .ok_or_else(|| bad("no unknown-word piece ([UNK] or <unk>)".into()))?;
        let vocab_size = tk.get_vocab_size(true);
        Ok(SubwordTokenizer {
            inner: Arc::new(tk),
            path: path.to_path_buf(),
            sha256: sha256_hex(bytes),
            cls,
            sep,
            pad,
            unk,
            vocab_size,
        })
    }

    /// The pieces of `words`, pretokenized (the tokenizer never sees the spaces between
    /// words, and words are passed as written: casing is the tokenizer's business), without
    /// special pieces. A word with no piece gets [`Self::unk`]; a word with more than
    /// `max_pieces` keeps its first `max_pieces` (it must fit one window).
    ///
    /// # Errors
    /// [`Error::Tokenizer`] if the tokenizer fails on the input.
    pub fn encode_words<S: AsRef<str>>(
        &self,
        words: &[S],
        max_pieces: usize,
    ) -> Result<(SubwordSentence, SubwordCounts)> {
        let words: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
        let mut counts = SubwordCounts {
            words: words.len() as u64,
            ..SubwordCounts::default()
        };
        let mut per_word: Vec<Vec<u32>> = vec![Vec::new(); words.len()];
        if !words.is_empty() {
            let enc = self
                .inner
                .encode(words.as_slice(), false)
                .map_err(|e| Error::Tokenizer {
                    path: self.path.clone(),
                    message: e.to_string(),
                })?;
            for (&id, word) in enc.get_ids().iter().zip(enc.get_word_ids()) {
                if let Some(pieces) = word.and_then(|w| per_word.get_mut(w as usize)) {
                    pieces.push(id);
                }
            }
        }
        let mut pieces = Vec::new();
        let mut word_starts = Vec::with_capacity(words.len() + 1);
        for mut word in per_word {
            word_starts.push(pieces.len() as u32);
            if word.is_empty() {
                counts.empty += 1;
                word.push(self.unk);
            }
            if word.len() > max_pieces.max(1) {
                counts.cut += 1;
                word.truncate(max_pieces.max(1));
            }
            pieces.extend(word);
        }
        word_starts.push(pieces.len() as u32);
        counts.pieces = pieces.len() as u64;
        Ok((
            SubwordSentence {
                pieces,
                word_starts,
            },
            counts,
        ))
    }
}

/// The pieces of one sentence: word `i`'s are `pieces[word_starts[i]..word_starts[i + 1]]`
/// (`word_starts` has T + 1 entries; every word has at least one piece).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubwordSentence {
    /// Piece ids, no special pieces.
    pub pieces: Vec<u32>,
    /// Start of each word's pieces, and the end.
    pub word_starts: Vec<u32>,
}

/// What tokenizing some words did, reported like embedding coverage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubwordCounts {
    /// Words tokenized.
    pub words: u64,
    /// Pieces produced (UNK substitutes included).
    pub pieces: u64,
    /// Words with no piece, given UNK.
    pub empty: u64,
    /// Words longer than a window, cut to its length.
    pub cut: u64,
}

impl SubwordCounts {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: SubwordCounts) {
        self.words += other.words;
        self.pieces += other.pieces;
        self.empty += other.empty;
        self.cut += other.cut;
    }
}

impl fmt::Display for SubwordCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_word = if self.words == 0 {
            0.0
        } else {
            self.pieces as f64 / self.words as f64
        };
        write!(
            f,
            "{} words, {:.2} pieces per word, {} without a piece (given UNK), {} cut to a window",
            self.words, per_word, self.empty, self.cut
        )
    }
}

/// The windows of one sentence: piece ranges `[start, end)` of at most `max_pieces` pieces,
/// each starting and ending on a word boundary, and the window each word is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowPlan {
    /// `(start, end)` piece ranges, in order; consecutive ones overlap by up to `stride`.
    pub windows: Vec<(u32, u32)>,
    /// Per word, the index of its window.
    pub word_window: Vec<u32>,
}

/// Splits a sentence whose words start at `word_starts` (T + 1 entries) into windows of at
/// most `max_pieces` pieces overlapping by about `stride` pieces, and assigns each word to the
/// window where it has maximal context: the largest `min(left, right) + 0.01·window length`,
/// `left`/`right` the pieces of that window before and after the word (BERT's
/// `_check_is_max_context`); ties go to the earlier window.
///
/// Windows begin and end on word boundaries, so a word lies whole in every window that holds
/// it. Each word must have at most `max_pieces` pieces ([`SubwordTokenizer::encode_words`]
/// cuts longer ones); `max_pieces` is at least 1 and `stride` below it.
pub fn plan_windows(word_starts: &[u32], max_pieces: usize, stride: usize) -> WindowPlan {
    let words = word_starts.len().saturating_sub(1);
    let n = word_starts.last().copied().unwrap_or(0) as usize;
    let max_pieces = max_pieces.max(1);
    let mut windows = Vec::new();
    if n <= max_pieces {
        windows.push((0, n as u32));
    } else {
        let mut start = 0usize; // index into word_starts
        loop {
            let s = word_starts[start] as usize;
            // Last boundary within reach; at least one word past `start` (a word fits).
            let mut end = start + 1;
            while end < words && word_starts[end + 1] as usize - s <= max_pieces {
                end += 1;
            }
            let e = word_starts[end] as usize;
            windows.push((s as u32, e as u32));
            if end >= words {
                break;
            }
            // Next window: the first boundary after `start` that keeps at most `stride`
            // pieces of overlap.
            let mut next = start + 1;
            while next < end && (e - word_starts[next] as usize) > stride {
                next += 1;
            }
            start = next;
        }
    }
    let word_window = (0..words)
        .map(|w| {
            let (a, b) = (word_starts[w], word_starts[w + 1]);
            let mut best = (0u32, -1i64);
            for (i, &(s, e)) in windows.iter().enumerate() {
                if s <= a && b <= e {
                    let score = 100 * i64::from((a - s).min(e - b)) + i64::from(e - s);
                    if score > best.1 {
                        best = (i as u32, score);
                    }
                }
            }
            best.0
        })
        .collect();
    WindowPlan {
        windows,
        word_window,
    }
}

/// What a `transformer` feature reads through: its tokenizer and window settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SubwordVocab {
    /// The tokenizer.
    pub tokenizer: SubwordTokenizer,
    /// Longest window in pieces, `[CLS]` and `[SEP]` included.
    pub max_len: usize,
    /// Overlap between consecutive windows, in pieces.
    pub stride: usize,
}

impl SubwordVocab {
    /// Pieces a window holds besides `[CLS]` and `[SEP]`.
    pub fn max_pieces(&self) -> usize {
        self.max_len.saturating_sub(2).max(1)
    }

    /// A sentence's pieces and windows.
    ///
    /// # Errors
    /// As [`SubwordTokenizer::encode_words`].
    pub fn encode<S: AsRef<str>>(&self, words: &[S]) -> Result<(EncodedSubwords, SubwordCounts)> {
        let (sentence, counts) = self.tokenizer.encode_words(words, self.max_pieces())?;
        let plan = plan_windows(&sentence.word_starts, self.max_pieces(), self.stride);
        Ok((
            EncodedSubwords {
                sentence,
                plan,
                cls: self.tokenizer.cls,
                sep: self.tokenizer.sep,
                pad: self.tokenizer.pad,
            },
            counts,
        ))
    }
}

/// One sentence's sub-word stream: pieces, windows, and the frame ids a batch needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedSubwords {
    /// Pieces and word boundaries.
    pub sentence: SubwordSentence,
    /// Windows and each word's window.
    pub plan: WindowPlan,
    /// Window opening piece.
    pub cls: u32,
    /// Window closing piece.
    pub sep: u32,
    /// Padding piece.
    pub pad: u32,
}

/// The sub-word stream of a batch: every sentence's windows stacked (sentence 0's first),
/// each as `CLS pieces SEP PAD…`, and where each word's pieces are.
///
/// `first`/`last` index the flattened `[W·S]` buffer (`window · width + position`); a word's
/// pieces are `first..=last` of one window. Padded word positions hold 0 (masked later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubwordBatch {
    /// `W`: windows in the batch (at least 1).
    pub windows: usize,
    /// `S`: longest window with its `CLS`/`SEP` (at least 2).
    pub width: usize,
    /// `[W·S]` piece ids.
    pub ids: Vec<u32>,
    /// `[W]` real pieces per window, `CLS`/`SEP` included.
    pub lengths: Vec<u32>,
    /// `[B·T]` flat index of each word's first piece in its window.
    pub first: Vec<u32>,
    /// `[B·T]` flat index of each word's last piece in its window.
    pub last: Vec<u32>,
}

impl SubwordBatch {
    /// Pads the rows `(sentence length, stream)` of a `[B, T]` batch.
    pub fn build<'a>(
        rows: impl Iterator<Item = (usize, Option<&'a EncodedSubwords>)> + Clone,
        b: usize,
        t: usize,
    ) -> SubwordBatch {
        let mut width = 2usize;
        let mut windows = 0usize;
        let mut pad = 0;
        for (_, s) in rows.clone() {
            if let Some(s) = s {
                pad = s.pad;
                windows += s.plan.windows.len();
                for &(a, e) in &s.plan.windows {
                    width = width.max((e - a) as usize + 2);
                }
            }
        }
        let windows_total = windows.max(1);
        let mut ids = vec![pad; windows_total * width];
        let mut lengths = vec![0u32; windows_total];
        let mut first = vec![0u32; b * t];
        let mut last = vec![0u32; b * t];
        let mut w0 = 0usize;
        for (r, (n, s)) in rows.enumerate() {
            let Some(s) = s else { continue };
            for (k, &(a, e)) in s.plan.windows.iter().enumerate() {
                let row = (w0 + k) * width;
                let len = (e - a) as usize;
                ids[row] = s.cls;
                ids[row + 1..row + 1 + len]
                    .copy_from_slice(&s.sentence.pieces[a as usize..e as usize]);
                ids[row + 1 + len] = s.sep;
                lengths[w0 + k] = (len + 2) as u32;
            }
            let words = n.min(s.plan.word_window.len());
            for w in 0..words {
                let k = s.plan.word_window[w] as usize;
                let (start, _) = s.plan.windows[k];
                let row = (w0 + k) * width;
                let a = s.sentence.word_starts[w];
                let e = s.sentence.word_starts[w + 1];
                // Flat indices stay far below u32::MAX for any batch that fits in memory.
                first[r * t + w] = (row + 1 + (a - start) as usize) as u32;
                last[r * t + w] = (row + (e - start) as usize) as u32;
            }
            w0 += s.plan.windows.len();
        }
        if windows == 0 {
            lengths[0] = 0;
        }
        SubwordBatch {
            windows: windows_total,
            width,
            ids,
            lengths,
            first,
            last,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
