//! Property tests (issue 13): `score` never panics on generated or mutated input, and the
//! streamed scorer gives exactly the figures of scoring the whole input at once.
//!
//! `cargo test` runs a bounded number of cases; set `POLYTAG_PROPTEST_CASES` for more.

use std::io::Cursor;

use polytag_eval::{read_columns, score_columns, score_reader, Scheme, SchemeChoice, ScoreOptions};
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

fn tag() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "O",
        "B-PER",
        "I-PER",
        "E-PER",
        "S-PER",
        "B-LOC",
        "I-LOC",
        "E-LOC",
        "S-LOC",
        "I-ORG",
        "B-",
        "-X",
        "NN",
        "B-GPE-ORG",
    ])
}

/// Well-formed conlleval input: token lines `w gold pred`, blank lines, `-X-` and
/// `-DOCSTART-` boundaries.
fn scoreable() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => (tag(), tag()).prop_map(|(g, p)| format!("w {g} {p}\n")),
            2 => Just("\n".to_string()),
            1 => Just("-X- -X- O O\n".to_string()),
            1 => Just("-DOCSTART- -X- O O\n".to_string()),
        ],
        0..80,
    )
    .prop_map(|lines| lines.concat())
}

fn choices() -> [SchemeChoice; 5] {
    [
        SchemeChoice::Conlleval,
        SchemeChoice::Auto,
        SchemeChoice::Scheme(Scheme::Iob1),
        SchemeChoice::Scheme(Scheme::Bio),
        SchemeChoice::Scheme(Scheme::Bioes),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn streamed_scores_equal_whole_input_scores(text in scoreable()) {
        let columns = read_columns(Cursor::new(text.as_bytes()), "t").unwrap();
        for choice in choices() {
            let opts = ScoreOptions { scheme: choice, ..ScoreOptions::default() };
            let streamed = score_reader(Cursor::new(text.as_bytes()), &opts).unwrap();
            let whole = score_columns(&columns, choice);
            prop_assert_eq!(&streamed.metrics, &whole.metrics);
            prop_assert_eq!(streamed.conlleval_text(), whole.conlleval_text());
        }
    }

    #[test]
    fn score_never_panics(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        scoreable().prop_map(|t| t.into_bytes()),
        (scoreable(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(t, i, b)| {
            let mut v = t.into_bytes();
            if !v.is_empty() {
                let at = i.index(v.len());
                v[at] = b;
            }
            v
        }),
    ]) {
        for choice in choices() {
            let opts = ScoreOptions { scheme: choice, ..ScoreOptions::default() };
            if let Ok(r) = score_reader(Cursor::new(&bytes), &opts) {
                let _ = r.conlleval_text();
                let _ = r.to_json();
            }
        }
    }
}
