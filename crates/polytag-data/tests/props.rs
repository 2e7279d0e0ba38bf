//! Property tests (issue 13): the CoNLL, CoNLL-U and JSONL readers never panic on generated or
//! mutated input (they return a corpus or an error), and the scheme conversions round-trip.
//!
//! `cargo test` runs a bounded number of cases; set `POLYTAG_PROPTEST_CASES` (e.g. 20000) for
//! a longer run.

use std::io::Cursor;
use std::path::Path;

use polytag_data::scheme::{self, lenient_spans, Scheme, Span};
use polytag_data::{
    read_conll, read_conllu, read_jsonl, write_conll, ColumnOptions, ConlluOptions, JsonlOptions,
    Sentence,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("POLYTAG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces corpus lines are made of, hostile ones included.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Jan".to_string()),
        Just("B-PER".to_string()),
        Just("I-LOC".to_string()),
        Just("E-ORG".to_string()),
        Just("S-X".to_string()),
        Just("O".to_string()),
        Just("B-".to_string()),
        Just("-PER".to_string()),
        Just("b-per".to_string()),
        Just("-DOCSTART-".to_string()),
        Just("-X-".to_string()),
        Just("#".to_string()),
        Just("# newdoc".to_string()),
        Just("1".to_string()),
        Just("2-3".to_string()),
        Just("1.1".to_string()),
        Just("_".to_string()),
        Just("\t".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\0".to_string()),
        Just("{\"tokens\":[\"a\"],\"ner_tags\":[\"O\"]}".to_string()),
        Just("{\"tokens\":[\"a\",\"b\"],\"ner_tags\":[1]}".to_string()),
        Just("[".to_string()),
        Just("\u{feff}".to_string()),
        "\\PC{0,4}".prop_map(|s| s),
    ]
}

/// Generated input: pieces joined, plus raw bytes (not always UTF-8).
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(piece(), 0..60).prop_map(|p| p.concat().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// A real corpus with a few random edits (flip, delete, insert, duplicate a range).
fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            0usize..4,
            any::<prop::sample::Index>(),
            0usize..40,
            any::<u8>(),
        ),
        1..6,
    )
    .prop_map(move |edits| {
        let mut b = base.to_vec();
        for (kind, at, len, byte) in edits {
            if b.is_empty() {
                b.push(byte);
                continue;
            }
            let i = at.index(b.len());
            let j = (i + len).min(b.len());
            match kind {
                0 => b[i] ^= byte | 1,
                1 => {
                    b.drain(i..j);
                }
                2 => b.insert(i, byte),
                _ => {
                    let copy = b[i..j].to_vec();
                    b.splice(i..i, copy);
                }
            }
        }
        b
    })
}

const SAMPLE: &[u8] = include_bytes!("../../../datasets/sample/nld/dev.conll");

fn read_all(bytes: &[u8]) {
    let p = Path::new("fuzz");
    let conll = ColumnOptions {
        label_col: 2,
        ..ColumnOptions::default()
    };
    let _ = read_conll(Cursor::new(bytes), p, &conll);
    let _ = read_conll(Cursor::new(bytes), p, &ColumnOptions::default());
    let _ = read_conllu(Cursor::new(bytes), p, &ConlluOptions::default());
    let _ = read_jsonl(Cursor::new(bytes), p, &JsonlOptions::default());
}

/// Sorted, non-overlapping spans over `len` tokens with types from a small set.
fn sentence_spans() -> impl Strategy<Value = (usize, Vec<Span>)> {
    prop::collection::vec((0usize..3, 1usize..4, 0usize..3), 0..8).prop_map(|parts| {
        let types = ["PER", "LOC", "GPE-ORG"];
        let mut spans = Vec::new();
        let mut at = 0;
        for (gap, len, t) in parts {
            let start = at + gap;
            spans.push(Span::new(start, start + len, types[t]));
            at = start + len;
        }
        (at + 1, spans)
    })
}

fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("O"),
        Just("B-PER"),
        Just("I-PER"),
        Just("E-PER"),
        Just("S-PER"),
        Just("B-LOC"),
        Just("I-LOC"),
        Just("B-"),
        Just("I-"),
        Just("-PER"),
        Just("BPER"),
        Just("NN"),
    ]
    .prop_map(str::to_string)
}

const SCHEMES: [Scheme; 3] = [Scheme::Iob1, Scheme::Bio, Scheme::Bioes];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn readers_never_panic_on_generated_input(bytes in input()) {
        read_all(&bytes);
    }

    #[test]
    fn readers_never_panic_on_a_mutated_corpus(bytes in mutated(SAMPLE)) {
        read_all(&bytes);
    }

    /// Encoded in any scheme, the spans read back; converting between schemes gives the
    /// other scheme's own encoding.
    #[test]
    fn scheme_conversions_round_trip((len, spans) in sentence_spans()) {
        for from in SCHEMES {
            let tags = from.encode(&spans, len);
            prop_assert_eq!(&lenient_spans(&scheme::convert(&tags, Scheme::Bio)), &spans);
            for to in SCHEMES {
                prop_assert_eq!(scheme::convert(&tags, to), to.encode(&spans, len));
            }
        }
    }

    /// Any tag sequence (ill-formed ones too) converts without panicking, and once converted
    /// the result is stable: converting it again, through any scheme, changes nothing.
    #[test]
    fn conversions_of_any_tags_are_stable(tags in prop::collection::vec(tag(), 0..20)) {
        for to in SCHEMES {
            let once = scheme::convert(&tags, to);
            prop_assert_eq!(once.len(), tags.len());
            for via in SCHEMES {
                let back = scheme::convert(&scheme::convert(&once, via), to);
                prop_assert_eq!(&back, &once);
            }
        }
    }

    /// Sentences written as CoNLL read back as they were.
    #[test]
    fn conll_written_reads_back(
        sents in prop::collection::vec(
            prop::collection::vec(("[A-Za-z0-9.,]{1,6}", tag()), 1..8), 1..6)
    ) {
        let sentences: Vec<Sentence> = sents
            .iter()
            .map(|s| Sentence {
                tokens: s.iter().map(|(t, _)| t.clone()).collect(),
                labels: s.iter().map(|(_, l)| l.clone()).collect(),
                features: Vec::new(),
                line: 0,
            })
            .collect();
        let mut text = Vec::new();
        write_conll(&mut text, &sentences, ' ').unwrap();
        let opts = ColumnOptions { label_col: 1, ..ColumnOptions::default() };
        let corpus = read_conll(Cursor::new(&text), Path::new("w"), &opts).unwrap();
        prop_assert_eq!(corpus.sentences.len(), sentences.len());
        for (a, b) in corpus.sentences.iter().zip(&sentences) {
            prop_assert_eq!(&a.tokens, &b.tokens);
            prop_assert_eq!(&a.labels, &b.labels);
        }
    }
}
