//! Sentences turned into ids once per corpus, so batching is only copying integers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::labels::LabelVocab;
use crate::sentence::Sentence;
use crate::vocab::{CharVocab, FeatureVocab, WordVocab};

/// One sentence as ids.
///
/// Characters are stored flat (`chars` + `char_offsets`) rather than one `Vec` per word: a
/// 200k-token corpus would otherwise make 200k small allocations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedSentence {
    /// Word ids, one per token.
    pub words: Vec<u32>,
    /// Character ids of all tokens, concatenated.
    pub chars: Vec<u32>,
    /// Token `i`'s characters are `chars[char_offsets[i]..char_offsets[i + 1]]` (len T + 1).
    pub char_offsets: Vec<u32>,
    /// Label ids, one per token; empty for unlabelled input (prediction).
    pub labels: Vec<u32>,
    /// One id sequence per feature column.
    pub features: Vec<Vec<u32>>,
}

impl EncodedSentence {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True for a sentence without tokens.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Character ids of token `i` (empty if out of range).
    pub fn word_chars(&self, i: usize) -> &[u32] {
        let (Some(&start), Some(&end)) = (self.char_offsets.get(i), self.char_offsets.get(i + 1))
        else {
            return &[];
        };
        self.chars.get(start as usize..end as usize).unwrap_or(&[])
    }
}

/// The vocabularies one task's input goes through.
#[derive(Debug, Clone, Copy)]
pub struct Encoder<'a> {
    /// The language's word vocabulary.
    pub words: &'a WordVocab,
    /// The character vocabulary.
    pub chars: &'a CharVocab,
    /// The task type's labels; `None` encodes no labels (prediction on raw text).
    pub labels: Option<&'a LabelVocab>,
    /// One vocabulary per feature column, in `Sentence::features` order.
    pub features: &'a [FeatureVocab],
}

impl Encoder<'_> {
    /// Encodes one sentence; `path` names its file in errors.
    ///
    /// A label missing from the label vocabulary is an error (validation should have reported
    /// it with [`LabelVocab::unseen_in`] first); unknown words, characters and feature values
    /// map to UNK.
    pub fn encode(&self, sentence: &Sentence, path: &Path) -> Result<EncodedSentence> {
        let words = sentence.tokens.iter().map(|t| self.words.id(t)).collect();
        let mut chars = Vec::new();
        let mut char_offsets = Vec::with_capacity(sentence.len() + 1);
        char_offsets.push(0);
        for token in &sentence.tokens {
            chars.extend(token.chars().map(|c| self.chars.id(c)));
            // Offsets fit u32: a sentence with 4 billion characters is not a sentence.
            char_offsets.push(u32::try_from(chars.len()).unwrap_or(u32::MAX));
        }
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
        if self.features.len() > sentence.features.len() {
            return Err(Error::FeatureColumns {
                path: path.to_path_buf(),
                line: sentence.line,
                expected: self.features.len(),
                found: sentence.features.len(),
            });
        }
        let features = self
            .features
            .iter()
            .zip(&sentence.features)
            .map(|(vocab, column)| column.iter().map(|v| vocab.id(v)).collect())
            .collect();
        Ok(EncodedSentence {
            words,
            chars,
            char_offsets,
            labels,
            features,
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
        let enc = Encoder {
            words: &words,
            chars: &chars,
            labels: Some(&labels),
            features: &feats,
        };
        let e = enc.encode_corpus(&c).unwrap().remove(0);
        assert_eq!(e.len(), 2);
        assert_eq!(e.words, [words.id("EU"), words.id("rejects")]);
        assert_eq!(e.char_offsets, [0, 2, 9]);
        assert_eq!(e.word_chars(0), [chars.id('E'), chars.id('U')]);
        assert_eq!(e.word_chars(1).len(), 7);
        assert!(e.word_chars(5).is_empty());
        // Labels by (len, string): O = 0, B-ORG = 1.
        assert_eq!(e.labels, [1, 0]);
        assert_eq!(
            e.features,
            vec![vec![feats[0].id("NNP"), feats[0].id("VBZ")]]
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
        assert_eq!(e.words[0], UNK);
        assert_eq!(e.word_chars(0)[1], UNK, "C never seen");
    }

    #[test]
    fn missing_feature_column_is_an_error() {
        let c = corpus();
        let words = WordVocab::build(&Counts::of_tokens([&c]), &WordVocabOptions::default());
        let chars = CharVocab::from_corpora([&c], 1);
        let feats = [
            FeatureVocab::from_corpora([&c], 0),
            FeatureVocab::from_corpora([&c], 1),
        ];
        let enc = Encoder {
            words: &words,
            chars: &chars,
            labels: None,
            features: &feats,
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
}
