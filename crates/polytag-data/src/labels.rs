//! [`LabelVocab`]: the label set of one task type, and the labels a dev/test file uses that
//! training never saw.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::vocab::Vocab;

/// The labels of one task type (union over its datasets), no reserved entries.
///
/// Order: by (length, string), as the paper's `build_tasks_from_file` did (seed-systems.md
/// A.4). It is deterministic, puts `O` first in NER sets, groups `B-`/`I-` tags of one length,
/// and gives the paper's ids, so a paper checkpoint's CRF matrices line up without permuting.
/// Model code must not rely on `O` being 0: use [`LabelVocab::outside`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelVocab {
    vocab: Vocab,
}

impl LabelVocab {
    /// All labels of `corpora`, ordered by (length, string).
    pub fn from_corpora<'a>(corpora: impl IntoIterator<Item = &'a Corpus>) -> Self {
        let mut labels: Vec<&str> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for corpus in corpora {
            for sentence in &corpus.sentences {
                for label in &sentence.labels {
                    if seen.insert(label) {
                        labels.push(label);
                    }
                }
            }
        }
        Self::from_labels(labels)
    }

    /// The given labels (duplicates ignored), ordered by (length, string).
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a str>) -> Self {
        let mut labels: Vec<&str> = labels.into_iter().collect();
        labels.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        labels.dedup();
        let mut vocab = Vocab::with_reserved(&[]);
        for label in labels {
            vocab.push(label);
        }
        Self { vocab }
    }

    /// The id of `label`, if it is one.
    pub fn id(&self, label: &str) -> Option<u32> {
        self.vocab.id(label)
    }

    /// The label with id `id`.
    pub fn label(&self, id: u32) -> Option<&str> {
        self.vocab.get(id)
    }

    /// The id of `O`, if the set has it (for the scheme code and reports; never for masking).
    pub fn outside(&self) -> Option<u32> {
        self.vocab.id("O")
    }

    /// All labels in id order.
    pub fn labels(&self) -> &[String] {
        self.vocab.items()
    }

    /// Number of labels (= output size of the task's layers).
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    /// True for a label set read from unlabelled data.
    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }

    /// Labels of `corpus` that this vocabulary lacks, each with its first use, in file order.
    ///
    /// Design.md §2 makes dev/test labels unseen in train a validation error; this gives the
    /// caller everything the message needs.
    pub fn unseen_in(&self, corpus: &Corpus) -> Vec<UnseenLabel> {
        let mut found: Vec<UnseenLabel> = Vec::new();
        let mut position: HashMap<&str, usize> = HashMap::new();
        for sentence in &corpus.sentences {
            for (token_idx, label) in sentence.labels.iter().enumerate() {
                if self.vocab.id(label).is_some() {
                    continue;
                }
                if let Some(&i) = position.get(label.as_str()) {
                    found[i].count += 1;
                } else {
                    position.insert(label, found.len());
                    found.push(UnseenLabel {
                        label: label.clone(),
                        path: corpus.path.clone(),
                        line: sentence.line,
                        token_idx,
                        count: 1,
                    });
                }
            }
        }
        found
    }
}

/// A label used in a corpus but missing from the label vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnseenLabel {
    /// The label.
    pub label: String,
    /// The corpus file.
    pub path: PathBuf,
    /// Line of the first token of the sentence where it is first used.
    pub line: usize,
    /// Position of that use in its sentence (0-based).
    pub token_idx: usize,
    /// How often it occurs in the corpus.
    pub count: usize,
}

impl fmt::Display for UnseenLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: label {:?} (token {} of the sentence starting here, {} use{} in the file) does not occur in the training data",
            self.path.display(),
            self.line,
            self.label,
            self.token_idx + 1,
            self.count,
            if self.count == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentence::Sentence;

    fn corpus(path: &str, sentences: &[(&[&str], &[&str])]) -> Corpus {
        let mut c = Corpus::new(path);
        for (i, (tokens, labels)) in sentences.iter().enumerate() {
            c.sentences.push(Sentence {
                tokens: tokens.iter().map(|s| s.to_string()).collect(),
                labels: labels.iter().map(|s| s.to_string()).collect(),
                features: vec![],
                line: 1 + 10 * i,
            });
        }
        c
    }

    #[test]
    fn label_vocab_union_sorted_by_length_then_string() {
        let a = corpus("a", &[(&["x", "y", "z"], &["B-PER", "O", "I-PER"])]);
        let b = corpus("b", &[(&["x", "y"], &["B-MISC", "B-LOC"])]);
        let v = LabelVocab::from_corpora([&a, &b]);
        assert_eq!(v.labels(), ["O", "B-LOC", "B-PER", "I-PER", "B-MISC"]);
        assert_eq!(v.outside(), Some(0));
        assert_eq!(v.id("B-MISC"), Some(4));
        assert_eq!(v.label(2), Some("B-PER"));
        assert_eq!(v.id("E-PER"), None);
        let pos = LabelVocab::from_labels(["NOUN", "ADP", "X"]);
        assert_eq!(pos.outside(), None);
        assert_eq!(pos.labels(), ["X", "ADP", "NOUN"]);
    }

    #[test]
    fn unseen_labels_with_first_use() {
        let train = corpus("train.conll", &[(&["x"], &["O"])]);
        let dev = corpus(
            "dev.conll",
            &[
                (&["a", "b"], &["O", "B-XYZ"]),
                (&["c"], &["B-XYZ"]),
                (&["d"], &["I-Q"]),
            ],
        );
        let v = LabelVocab::from_corpora([&train]);
        let unseen = v.unseen_in(&dev);
        assert_eq!(unseen.len(), 2);
        assert_eq!(
            (
                unseen[0].label.as_str(),
                unseen[0].line,
                unseen[0].token_idx,
                unseen[0].count
            ),
            ("B-XYZ", 1, 1, 2)
        );
        assert_eq!((unseen[1].label.as_str(), unseen[1].line), ("I-Q", 21));
        assert_eq!(
            unseen[0].to_string(),
            "dev.conll:1: label \"B-XYZ\" (token 2 of the sentence starting here, 2 uses in the file) does not occur in the training data"
        );
    }

    #[test]
    fn serde_round_trip() {
        let labels = LabelVocab::from_labels(["O", "B-PER"]);
        let json = serde_json::to_string(&labels).unwrap();
        let back: LabelVocab = serde_json::from_str(&json).unwrap();
        assert_eq!(back, labels);
        assert_eq!(back.id("B-PER"), Some(1));
    }
}
