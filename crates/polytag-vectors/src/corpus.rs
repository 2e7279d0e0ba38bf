//! Training text for word vectors: raw text (one sentence a line, tokens split on whitespace)
//! or the token column of any corpus polytag reads, from several files, plain or gzip.
//!
//! The corpus is held in memory as word ids (4 bytes a token) so that every epoch and every
//! thread reads it without re-parsing; words below `min_count` are dropped from the sentences
//! before training, as word2vec and gensim do, so they neither get vectors nor take window
//! slots.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polytag_data::lines::{self, Lines};
use polytag_data::ReaderOptions;

use crate::error::{Error, Result};

/// How one input file is read.
#[derive(Debug, Clone)]
pub enum Source {
    /// One sentence a line, tokens separated by whitespace.
    Text,
    /// A labelled corpus: only its token column is used.
    Corpus(ReaderOptions),
}

/// One input file.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The file (`.gz` is decompressed).
    pub path: PathBuf,
    /// How to read it.
    pub source: Source,
}

/// The vocabulary of the training text: words by decreasing count, ties by the word itself,
/// so ids (and therefore the output file's order) do not depend on hash order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocab {
    /// Word of each id.
    pub words: Vec<String>,
    /// Corpus count of each id.
    pub counts: Vec<u64>,
    index: HashMap<String, u32>,
}

impl Vocab {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when no word is kept.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word`.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }
}

/// The training text as ids, ready for [`crate::train()`].
#[derive(Debug, Clone)]
pub struct TrainCorpus {
    /// The kept words.
    pub vocab: Vocab,
    /// Ids of all kept tokens, sentence after sentence.
    pub ids: Vec<u32>,
    /// End offset (exclusive) in `ids` of each sentence; sentences left empty are dropped.
    pub ends: Vec<usize>,
    /// Tokens read, kept or not.
    pub tokens_read: u64,
}

impl TrainCorpus {
    /// Sentence `i` as ids.
    pub fn sentence(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.ids[start..self.ends[i]]
    }

    /// Number of sentences.
    pub fn num_sentences(&self) -> usize {
        self.ends.len()
    }
}

/// Interns tokens as they are read; [`CorpusBuilder::finish`] applies `min_count` and the
/// final id order.
#[derive(Debug, Default)]
pub struct CorpusBuilder {
    intern: HashMap<String, u32>,
    words: Vec<String>,
    counts: Vec<u64>,
    ids: Vec<u32>,
    ends: Vec<usize>,
    lowercase: bool,
    lowered: String,
}

impl CorpusBuilder {
    /// A builder that lowercases tokens when `lowercase` is set.
    pub fn new(lowercase: bool) -> Self {
        Self {
            lowercase,
            ..Self::default()
        }
    }

    /// Adds one sentence.
    pub fn add_sentence<'a>(&mut self, tokens: impl IntoIterator<Item = &'a str>) {
        for token in tokens {
            let key = if self.lowercase {
                self.lowered.clear();
                self.lowered
                    .extend(token.chars().flat_map(char::to_lowercase));
                self.lowered.as_str()
            } else {
                token
            };
            let id = match self.intern.get(key) {
                Some(&id) => id,
                None => {
                    // Fewer than 2^32 distinct words: each takes at least one byte of input
                    // plus a separator, and the corpus is held in memory.
                    let id = self.words.len() as u32;
                    self.intern.insert(key.to_string(), id);
                    self.words.push(key.to_string());
                    self.counts.push(0);
                    id
                }
            };
            self.counts[id as usize] += 1;
            self.ids.push(id);
        }
        if self.ends.last().copied().unwrap_or(0) != self.ids.len() {
            self.ends.push(self.ids.len());
        }
    }

    /// Reads one file into the builder.
    pub fn add_file(&mut self, file: &InputFile) -> Result<()> {
        match &file.source {
            Source::Text => {
                let mut lines = Lines::new(lines::open(&file.path)?, &file.path);
                while let Some((_, line)) = lines.next_line()? {
                    let tokens: Vec<&str> = line.split_whitespace().collect();
                    self.add_sentence(tokens);
                }
            }
            Source::Corpus(opts) => {
                let corpus = polytag_data::read_corpus(&file.path, opts)?;
                for sentence in &corpus.sentences {
                    self.add_sentence(sentence.tokens.iter().map(String::as_str));
                }
            }
        }
        Ok(())
    }

    /// Drops words below `min_count`, numbers the rest by decreasing count and rewrites the
    /// sentences; `files` only names the input in the error for an empty result.
    pub fn finish(self, min_count: u64, files: &[&Path]) -> Result<TrainCorpus> {
        let tokens_read = self.ids.len() as u64;
        let mut kept: Vec<u32> = (0..self.words.len() as u32)
            .filter(|&id| self.counts[id as usize] >= min_count.max(1))
            .collect();
        if kept.is_empty() {
            return Err(Error::EmptyCorpus {
                files: files.iter().map(|p| p.display().to_string()).collect(),
                min_count,
                tokens: tokens_read,
            });
        }
        kept.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            self.counts[b]
                .cmp(&self.counts[a])
                .then_with(|| self.words[a].cmp(&self.words[b]))
        });
        let mut remap = vec![u32::MAX; self.words.len()];
        for (new, &old) in kept.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let mut ids = Vec::with_capacity(self.ids.len());
        let mut ends = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            ids.extend(
                self.ids[start..end]
                    .iter()
                    .map(|&old| remap[old as usize])
                    .filter(|&new| new != u32::MAX),
            );
            if ends.last().copied().unwrap_or(0) != ids.len() {
                ends.push(ids.len());
            }
            start = end;
        }
        let mut words = self.words;
        let words: Vec<String> = kept
            .iter()
            .map(|&old| std::mem::take(&mut words[old as usize]))
            .collect();
        let counts = kept.iter().map(|&old| self.counts[old as usize]).collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Ok(TrainCorpus {
            vocab: Vocab {
                words,
                counts,
                index,
            },
            ids,
            ends,
            tokens_read,
        })
    }
}

/// Reads `files` into one training corpus.
pub fn read_files(files: &[InputFile], lowercase: bool, min_count: u64) -> Result<TrainCorpus> {
    let mut builder = CorpusBuilder::new(lowercase);
    for file in files {
        builder.add_file(file)?;
    }
    let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    builder.finish(min_count, &paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn min_count_order_and_dropped_words() {
        let mut b = CorpusBuilder::new(false);
        b.add_sentence("b a b c".split(' '));
        b.add_sentence("z".split(' '));
        b.add_sentence("a b".split(' '));
        let c = b.finish(2, &[]).unwrap();
        // b ×3, a ×2 kept (b first: higher count); c, z dropped; the "z" sentence vanishes.
        assert_eq!(c.vocab.words, ["b", "a"]);
        assert_eq!(c.vocab.counts, [3, 2]);
        assert_eq!(c.num_sentences(), 2);
        assert_eq!(c.sentence(0), [0, 1, 0]);
        assert_eq!(c.sentence(1), [1, 0]);
        assert_eq!(c.tokens_read, 7);
    }

    #[test]
    fn ties_by_word_and_lowercase() {
        let mut b = CorpusBuilder::new(true);
        b.add_sentence("The the Zebra apple".split(' '));
        let c = b.finish(1, &[]).unwrap();
        assert_eq!(c.vocab.words, ["the", "apple", "zebra"]);
    }

    #[test]
    fn empty_corpus_and_non_utf8_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "\n\n").unwrap();
        let file = |path: &Path| InputFile {
            path: path.to_path_buf(),
            source: Source::Text,
        };
        let err = read_files(&[file(&empty)], false, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: no word occurs at least 1 times (0 tokens read); nothing to train",
                empty.display()
            )
        );
        let bad = dir.path().join("bad.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"fine line\nbad \xff byte\n").unwrap();
        std::fs::write(&bad, enc.finish().unwrap()).unwrap();
        let err = read_files(&[file(&bad)], false, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}:2: not valid UTF-8", bad.display())
        );
    }

    #[test]
    fn token_column_of_a_conll_corpus() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.conll");
        std::fs::write(&path, "EU B-ORG\nrejects O\n\nEU B-ORG\n").unwrap();
        let file = InputFile {
            path: path.clone(),
            source: Source::Corpus(ReaderOptions::default()),
        };
        let c = read_files(&[file], false, 1).unwrap();
        assert_eq!(c.vocab.words, ["EU", "rejects"]);
        assert_eq!(c.num_sentences(), 2);
    }
}
