//! Reads the shipped synthetic sample (datasets/sample, in the repository) and pins its counts.
//!
//! Expected numbers were counted independently of polytag with awk (sentences = runs of
//! non-blank lines that are not `-DOCSTART-`, tokens = such lines, docs = `-DOCSTART-` lines);
//! datasets/sample/README.md lists the same figures. Regenerating the sample with another seed
//! must update both.

use std::path::PathBuf;

use polytag_data::scheme::{self, Scheme};
use polytag_data::{read_corpus, ColumnOptions, LabelVocab, ReaderOptions};

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/sample")
}

fn options(label_col: usize) -> ReaderOptions {
    ReaderOptions {
        columns: ColumnOptions {
            token_col: 0,
            label_col,
            ..ColumnOptions::default()
        },
        ..ReaderOptions::default()
    }
}

/// (language, split, sentences, tokens, documents)
const EXPECTED: [(&str, &str, usize, usize, usize); 6] = [
    ("eng", "train", 400, 4113, 15),
    ("eng", "dev", 120, 1185, 6),
    ("eng", "test", 120, 1219, 4),
    ("nld", "train", 400, 3862, 17),
    ("nld", "dev", 120, 1181, 5),
    ("nld", "test", 120, 1175, 5),
];

#[test]
fn sample_counts_match_readme() {
    for (lang, split, sentences, tokens, docs) in EXPECTED {
        let path = sample_dir().join(lang).join(format!("{split}.conll"));
        let c = read_corpus(&path, &options(2)).unwrap();
        assert_eq!(
            (c.len(), c.num_tokens(), c.documents),
            (sentences, tokens, docs),
            "{lang}/{split}"
        );
        assert!(c.warnings.is_empty(), "{lang}/{split}: {:?}", c.warnings);
    }
}

#[test]
fn sample_ner_is_valid_bio_with_conll_types() {
    for (lang, split, ..) in EXPECTED {
        let path = sample_dir().join(lang).join(format!("{split}.conll"));
        let c = read_corpus(&path, &options(2)).unwrap();
        let tags: Vec<&[String]> = c.sentences.iter().map(|s| s.labels.as_slice()).collect();
        assert_eq!(scheme::detect(&tags), Some(Scheme::Bio), "{lang}/{split}");
        assert!(
            scheme::validate(&tags, Scheme::Bio).is_empty(),
            "{lang}/{split}"
        );
        let labels = LabelVocab::from_corpora([&c]);
        // All nine tags of BIO over PER, LOC, ORG, MISC occur in every split.
        assert_eq!(
            labels.labels(),
            ["O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "B-MISC", "I-MISC"],
            "{lang}/{split}"
        );
    }
}

#[test]
fn sample_pos_uses_upos_and_dev_test_labels_are_seen_in_train() {
    const UPOS: [&str; 17] = [
        "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X",
    ];
    for lang in ["eng", "nld"] {
        let read = |split: &str, col| {
            read_corpus(
                &sample_dir().join(lang).join(format!("{split}.conll")),
                &options(col),
            )
            .unwrap()
        };
        for col in [1, 2] {
            let train = LabelVocab::from_corpora([&read("train", col)]);
            for split in ["dev", "test"] {
                assert!(
                    train.unseen_in(&read(split, col)).is_empty(),
                    "{lang}/{split} col {col}"
                );
            }
        }
        let pos = LabelVocab::from_corpora([&read("train", 1)]);
        assert!(
            pos.labels().iter().all(|t| UPOS.contains(&t.as_str())),
            "{:?}",
            pos.labels()
        );
    }
}
