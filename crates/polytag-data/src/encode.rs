//! Sentences turned into ids once per corpus, so batching is only copying integers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::labels::LabelVocab;
use crate::sentence::Sentence;
use crate::subword::{EncodedSubwords, SubwordVocab};
use crate::vocab::{CharVocab, FeatureVocab, WordVocab};

/// The vocabulary one input stream goes through. A task reads one stream per feature
/// component, in the order of its features, so two embeddings with different vocabularies
/// (one lowercased, one not) each get their own ids, and a new kind of input (sub-word
/// pieces) is one more variant.
#[derive(Debug, Clone, PartialEq)]
pub enum InputVocab {
    /// One id per word, from an `embedding`'s own word vocabulary.
    Words(WordVocab),
    /// The characters of each word.
    Chars(CharVocab),
    /// One id per word from `Sentence::features[column]`, through a `feature_embedding`'s
    /// value vocabulary.
    Column {
        /// Index into `Sentence::features` (the kept extra columns, not the file column).
        column: usize,
        /// The component's value vocabulary.
        vocab: FeatureVocab,
    },
    /// Sub-word pieces of the words, through a `transformer`'s tokenizer, with the windows
    /// of its `max_len`/`stride`.
    Subwords(SubwordVocab),
}

/// One input stream of one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncodedStream {
    /// One id per token (words, feature values).
    Tokens(Vec<u32>),
    /// Characters of all tokens, concatenated: token `i`'s are
    /// `ids[offsets[i]..offsets[i + 1]]` (`offsets` has T + 1 entries). Stored flat rather than
    /// one `Vec` per word: a 200k-token corpus would otherwise make 200k small allocations.
    Chars {
        /// Character ids.
        ids: Vec<u32>,
        /// Start of each token's characters, and the end.
        offsets: Vec<u32>,
    },
    /// Sub-word pieces and windows of the sentence.
    Subwords(EncodedSubwords),
}

/// One sentence as ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedSentence {
    /// Number of tokens.
    pub len: usize,
    /// One stream per input of the task, in [`Encoder::inputs`] order.
    pub streams: Vec<EncodedStream>,
    /// Label ids, one per token; empty for unlabelled input (prediction).
    pub labels: Vec<u32>,
}

impl EncodedSentence {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a sentence without tokens.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The length training batches bucket by: the sub-word pieces of its longest sub-word
    /// stream when it has one (a transformer's cost, and the padding of its windows, follow
    /// the pieces, not the words), else its words.
    pub fn bucket_len(&self) -> usize {
        self.streams
            .iter()
            .filter_map(|s| match s {
                EncodedStream::Subwords(e) => Some(e.sentence.pieces.len()),
                _ => None,
            })
            .max()
            .unwrap_or(self.len)
    }
}

impl EncodedStream {
    /// Character ids of token `i` of a [`EncodedStream::Chars`] stream (empty if out of range
    /// or for a token stream).
    pub fn word_chars(&self, i: usize) -> &[u32] {
        let EncodedStream::Chars { ids, offsets } = self else {
            return &[];
        };
        let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
            return &[];
        };
        ids.get(start as usize..end as usize).unwrap_or(&[])
    }
}

/// The vocabularies one task's input goes through.
#[derive(Debug, Clone, Copy)]
pub struct Encoder<'a> {
    /// One vocabulary per input stream, in the order of the task's features.
    pub inputs: &'a [InputVocab],
    /// The task type's labels; `None` encodes no labels (prediction on raw text).
    pub labels: Option<&'a LabelVocab>,
}

impl Encoder<'_> {
    /// Encodes one sentence; `path` names its file in errors.
    ///
    /// A label missing from the label vocabulary is an error (validation should have reported
    /// it with [`LabelVocab::unseen_in`] first); so is a sentence without the feature column a
    /// stream reads. Unknown words, characters and feature values map to UNK.
    pub fn encode(&self, sentence: &Sentence, path: &Path) -> Result<EncodedSentence> {
        let streams = self
            .inputs
            .iter()
            .map(|input| encode_stream(input, sentence, path))
            .collect::<Result<Vec<_>>>()?;
        let labels = match self.labels {
            None => Vec::new(),
            Some(vocab) => sentence
                .labels
                .iter()
                .map(|label| {
                    vocab.id(label).ok_or_else(|| Error::UnknownLabel {
                        path: path.to_path_buf(),
                        line: sentence.line,
                        label: label.clone(),
                    })
                })
                .collect::<Result<Vec<u32>>>()?,
        };
        Ok(EncodedSentence {
            len: sentence.len(),
            streams,
            labels,
        })
    }

    /// Encodes every sentence of `corpus`, in order.
    pub fn encode_corpus(&self, corpus: &Corpus) -> Result<Vec<EncodedSentence>> {
        corpus
            .sentences
            .iter()
            .map(|s| self.encode(s, &corpus.path))
            .collect()
    }
}

fn encode_stream(input: &InputVocab, sentence: &Sentence, path: &Path) -> Result<EncodedStream> {
    Ok(match input {
        InputVocab::Words(words) => {
            EncodedStream::Tokens(sentence.tokens.iter().map(|t| words.id(t)).collect())
        }
        InputVocab::Chars(chars) => {
            let mut ids = Vec::new();
            let mut offsets = Vec::with_capacity(sentence.len() + 1);
            offsets.push(0);
            for token in &sentence.tokens {
                ids.extend(token.chars().map(|c| chars.id(c)));
                // Offsets fit u32: a sentence with 4 billion characters is not a sentence.
                offsets.push(u32::try_from(ids.len()).unwrap_or(u32::MAX));
            }
            EncodedStream::Chars { ids, offsets }
        }
        InputVocab::Column { column, vocab } => {
            let values = sentence
                .features
                .get(*column)
                .ok_or_else(|| Error::FeatureColumns {
                    path: path.to_path_buf(),
                    line: sentence.line,
                    expected: column + 1,
                    found: sentence.features.len(),
                })?;
            EncodedStream::Tokens(values.iter().map(|v| vocab.id(v)).collect())
        }
        InputVocab::Subwords(vocab) => EncodedStream::Subwords(
            vocab
                .encode(&sentence.tokens)
                .map_err(|e| match e {
                    Error::Tokenizer {
                        path: file,
                        message,
                    } => Error::Tokenizer {
                        path: file,
                        message: format!("{}:{}: {message}", path.display(), sentence.line),
                    },
                    other => other,
                })?
                .0,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Counts, WordVocabOptions, UNK};

    fn corpus() -> Corpus {
        let mut c = Corpus::new("train.conll");
        c.sentences.push(Sentence {
            tokens: vec!["EU".into(), "rejects".into()],
            labels: vec!["B-ORG".into(), "O".into()],
            features: vec![vec!["NNP".into(), "VBZ".into()]],
            line: 3,
        });
        c
    }

    #[test]
    fn encodes_words_chars_labels_features() {
        let c = corpus();
        let words = WordVocab::build(&Counts::of_tokens([&c]), &WordVocabOptions::default());
        let chars = CharVocab::from_corpora([&c], 1);
        let labels = LabelVocab::from_corpora([&c]);
        let feats = [FeatureVocab::from_corpora([&c], 0)];
        let inputs = [
            InputVocab::Words(words.clone()),
            InputVocab::Chars(chars.clone()),
            InputVocab::Column {
                column: 0,
                vocab: feats[0].clone(),
            },
        ];
        let enc = Encoder {
            inputs: &inputs,
            labels: Some(&labels),
        };
        let e = enc.encode_corpus(&c).unwrap().remove(0);
        assert_eq!(e.len(), 2);
        assert_eq!(
            e.streams[0],
            EncodedStream::Tokens(vec![words.id("EU"), words.id("rejects")])
        );
        let EncodedStream::Chars { offsets, .. } = &e.streams[1] else {
            panic!("stream 1 is chars")
        };
        assert_eq!(offsets, &[0, 2, 9]);
        assert_eq!(e.streams[1].word_chars(0), [chars.id('E'), chars.id('U')]);
        assert_eq!(e.streams[1].word_chars(1).len(), 7);
        assert!(e.streams[1].word_chars(5).is_empty());
        // Labels by (len, string): O = 0, B-ORG = 1.
        assert_eq!(e.labels, [1, 0]);
        assert_eq!(
            e.streams[2],
            EncodedStream::Tokens(vec![feats[0].id("NNP"), feats[0].id("VBZ")])
        );

        let mut other = c.sentences[0].clone();
        other.tokens[0] = "EC".into();
        other.labels[0] = "B-LOC".into();
        let err = enc.encode(&other, Path::new("dev.conll")).unwrap_err();
        assert!(matches!(&err, Error::UnknownLabel { line: 3, label, .. } if label == "B-LOC"));
        let unlabelled = Encoder {
            labels: None,
            ..enc
        };
        let e = unlabelled.encode(&other, Path::new("dev.conll")).unwrap();
        assert!(e.labels.is_empty());
        assert_eq!(
            e.streams[0],
            EncodedStream::Tokens(vec![UNK, words.id("rejects")])
        );
        assert_eq!(e.streams[1].word_chars(0)[1], UNK, "C never seen");
    }

    #[test]
    fn bucket_length_is_pieces_with_a_subword_stream_else_words() {
        let c = corpus();
        let words = WordVocab::build(&Counts::of_tokens([&c]), &WordVocabOptions::default());
        let only_words = [InputVocab::Words(words.clone())];
        let enc = Encoder {
            inputs: &only_words,
            labels: None,
        };
        assert_eq!(
            enc.encode(&c.sentences[0], Path::new("x"))
                .unwrap()
                .bucket_len(),
            2
        );
        let subwords = [
            InputVocab::Words(words),
            InputVocab::Subwords(crate::subword::SubwordVocab {
                tokenizer: crate::subword::tests::tiny(),
                max_len: 16,
                stride: 2,
            }),
        ];
        let enc = Encoder {
            inputs: &subwords,
            labels: None,
        };
        let mut s = c.sentences[0].clone();
        s.tokens = vec!["unbelievable".into(), "café".into()];
        // un ##believ ##able | café: 4 pieces for 2 words.
        assert_eq!(enc.encode(&s, Path::new("x")).unwrap().bucket_len(), 4);
    }

    #[test]
    fn missing_feature_column_is_an_error() {
        let c = corpus();
        let words = WordVocab::build(&Counts::of_tokens([&c]), &WordVocabOptions::default());
        let inputs = [
            InputVocab::Words(words),
            InputVocab::Column {
                column: 0,
                vocab: FeatureVocab::from_corpora([&c], 0),
            },
            InputVocab::Column {
                column: 1,
                vocab: FeatureVocab::from_corpora([&c], 1),
            },
        ];
        let enc = Encoder {
            inputs: &inputs,
            labels: None,
        };
        let err = enc.encode_corpus(&c).unwrap_err();
        assert!(matches!(
            err,
            Error::FeatureColumns {
                expected: 2,
                found: 1,
                ..
            }
        ));
    }

    /// Two word embeddings of one task, one lowercased: each stream has its own vocabulary's
    /// ids (review D1: both used to get the first one's).
    #[test]
    fn each_word_stream_uses_its_own_vocabulary() {
        let c = corpus();
        let counts = Counts::of_tokens([&c]);
        let cased = WordVocab::build(&counts, &WordVocabOptions::default());
        let lower = WordVocab::build(
            &counts,
            &WordVocabOptions {
                lowercase: true,
                ..WordVocabOptions::default()
            },
        );
        let inputs = [
            InputVocab::Words(cased.clone()),
            InputVocab::Words(lower.clone()),
        ];
        let enc = Encoder {
            inputs: &inputs,
            labels: None,
        };
        let mut s = c.sentences[0].clone();
        s.tokens = vec!["rejects".into(), "eu".into()];
        let e = enc.encode(&s, Path::new("x")).unwrap();
        // "eu" is unknown to the cased vocabulary (it saw "EU") and known to the lowercased one.
        assert_eq!(
            e.streams[0],
            EncodedStream::Tokens(vec![cased.id("rejects"), UNK])
        );
        assert_eq!(
            e.streams[1],
            EncodedStream::Tokens(vec![lower.id("rejects"), lower.id("eu")])
        );
        assert_ne!(lower.id("eu"), UNK);
    }
}
