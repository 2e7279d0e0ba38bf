//! Every case of `shared/testvectors/conlleval`: conlleval.pl's text output byte for byte,
//! every figure of expected.json (conlleval's as printed, seqeval's to 1e-9), the
//! scheme-aware BIOES figures, scheme detection, and the speed of scoring 50k tokens.
//!
//! Skips (with a note) when the shared folder is absent, as it is in CI; fails when it is present
//! but a file is missing and `CI=true` or `POLYTAG_REQUIRE_SHARED=1` (tests/common).

// One helper for every crate whose tests read ../shared.
#[path = "../../polytag-config/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use polytag_eval::{
    evaluate, read_columns, score_path, Decoding, Report, Scheme, SchemeChoice, SpanMetrics,
    SpanRule,
};
use serde_json::Value;

fn vectors_dir() -> Option<PathBuf> {
    common::shared("testvectors/conlleval/expected.json")?
        .parent()
        .map(Path::to_path_buf)
}

fn expected(dir: &Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        other => panic!("expected.json is not an object: {other}"),
    }
}

fn round2(x: f64) -> f64 {
    format!("{x:.2}").parse().unwrap()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number `{key}` in {v}"))
}

fn scheme_of(name: &str) -> Scheme {
    name.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Compares conlleval's printed figures (percentages rounded to 2 decimals) with a report.
fn check_conlleval(case: &str, exp: &Value, report: &Report) {
    let c = &report.counts;
    let t = c.totals();
    assert_eq!(c.tokens as f64, num(exp, "tokens"), "{case} tokens");
    assert_eq!(t.gold as f64, num(exp, "gold_phrases"), "{case} gold");
    assert_eq!(t.found as f64, num(exp, "found_phrases"), "{case} found");
    assert_eq!(
        t.correct as f64,
        num(exp, "correct_phrases"),
        "{case} correct"
    );
    let m = &report.metrics;
    assert_eq!(
        round2(100.0 * m.accuracy.accuracy),
        num(exp, "accuracy"),
        "{case}"
    );
    assert_eq!(
        round2(100.0 * m.spans.precision),
        num(exp, "precision"),
        "{case}"
    );
    assert_eq!(round2(100.0 * m.spans.recall), num(exp, "recall"), "{case}");
    assert_eq!(round2(100.0 * m.spans.f1), num(exp, "f1"), "{case}");
    let types = exp["types"].as_object().unwrap();
    let found_types: Vec<&String> = m
        .spans
        .per_type
        .iter()
        .filter(|(_, t)| t.gold > 0 || t.found > 0)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        found_types,
        types.keys().collect::<Vec<_>>(),
        "{case} types"
    );
    for (ty, e) in types {
        let got = &m.spans.per_type[ty];
        assert_eq!(got.found as f64, num(e, "found"), "{case} {ty}");
        assert_eq!(
            round2(100.0 * got.precision),
            num(e, "precision"),
            "{case} {ty}"
        );
        assert_eq!(round2(100.0 * got.recall), num(e, "recall"), "{case} {ty}");
        assert_eq!(round2(100.0 * got.f1), num(e, "f1"), "{case} {ty}");
    }
}

fn check_seqeval(case: &str, mode: &str, exp: &Value, got: &SpanMetrics) {
    for (key, value) in [
        ("precision", got.precision),
        ("recall", got.recall),
        ("f1", got.f1),
    ] {
        let want = num(exp, key);
        assert!(
            (value - want).abs() <= 1e-9,
            "{case} seqeval {mode} {key}: got {value}, expected {want}"
        );
    }
}

#[test]
fn every_vector_matches() {
    let Some(dir) = vectors_dir() else { return };
    let cases = expected(&dir);
    assert!(
        cases.len() >= 11,
        "expected.json lists {} cases",
        cases.len()
    );
    for (case, exp) in &cases {
        let file = dir.join(exp["file"].as_str().unwrap());
        let out = std::fs::read_to_string(dir.join(format!("{case}.conlleval.out"))).unwrap();

        // Literal conlleval: byte for byte, and every printed figure.
        let literal = score_path(&file, SchemeChoice::Conlleval).unwrap();
        assert_eq!(literal.conlleval_text(), out, "{case}: text differs");
        check_conlleval(case, &exp["conlleval"], &literal);

        // seqeval default and strict, to 1e-9.
        let text = std::fs::read(&file).unwrap();
        let cols = read_columns(text.as_slice(), case).unwrap();
        let (gold, pred) = (cols.gold(), cols.pred());
        let seq = exp["seqeval"].as_object().unwrap();
        for (mode, figures) in seq {
            let rule = match mode.strip_prefix("strict_") {
                None => SpanRule::Lenient,
                Some(scheme) => SpanRule::Strict(scheme_of(scheme)),
            };
            check_seqeval(case, mode, figures, &evaluate(&gold, &pred, rule));
        }

        // Detection finds the scheme the file is in.
        let in_file = scheme_of(exp["gold_scheme_in_file"].as_str().unwrap());
        let auto = score_path(&file, SchemeChoice::Auto).unwrap();
        if case != "edge-all-o" {
            assert_eq!(
                auto.metrics.scheme,
                Some(in_file),
                "{case}: detected scheme"
            );
            assert_eq!(auto.metrics.decoding, Decoding::Scheme(in_file), "{case}");
            // Scheme-aware chunks equal seqeval's lenient chunks.
            let lenient = evaluate(&gold, &pred, SpanRule::Lenient);
            let s = &auto.metrics.spans;
            assert_eq!(
                (s.gold, s.found, s.correct),
                (lenient.gold, lenient.found, lenient.correct),
                "{case}: scheme-aware counts"
            );
            if in_file != Scheme::Bioes {
                // On IOB1/BIO files conlleval's own chunks are the same.
                let l = &literal.metrics.spans;
                assert_eq!((s.gold, s.found, s.correct), (l.gold, l.found, l.correct));
            }
        }
    }
}

/// The scheme-aware mode on the BIOES file prints conlleval.pl's report for the same labels
/// converted to IOB2, byte for byte; literal mode keeps the script's wrong figures.
#[test]
fn bioes_scheme_aware_equals_as_iob2() {
    let Some(dir) = vectors_dir() else { return };
    let bioes = dir.join("conll02-nl-dev-bioes.txt");
    let as_iob2 =
        std::fs::read_to_string(dir.join("conll02-nl-dev-bioes-as-iob2.conlleval.out")).unwrap();
    let literal_out =
        std::fs::read_to_string(dir.join("conll02-nl-dev-bioes.conlleval.out")).unwrap();
    for choice in [
        SchemeChoice::Auto,
        SchemeChoice::Scheme(Scheme::Bioes),
        "iobes".parse().unwrap(),
    ] {
        let r = score_path(&bioes, choice).unwrap();
        assert_eq!(r.conlleval_text(), as_iob2, "{choice}");
        let strict = r.metrics.strict.as_ref().unwrap();
        assert_eq!(
            (strict.gold, strict.found, strict.correct),
            (2616, 2650, 1892)
        );
    }
    let literal = score_path(&bioes, SchemeChoice::Conlleval).unwrap();
    assert_eq!(literal.conlleval_text(), literal_out);
}

/// Scoring the 51k-token CoNLL-2003 English dev vector must take well under a second in
/// release; the time is printed (run with `--nocapture`).
#[test]
fn scoring_50k_tokens_is_fast() {
    let Some(dir) = vectors_dir() else { return };
    let file = dir.join("conll03-en-dev-iob1.txt");
    let _ = score_path(&file, SchemeChoice::Conlleval).unwrap(); // warm the page cache
    for choice in [SchemeChoice::Conlleval, SchemeChoice::Auto] {
        let start = Instant::now();
        let r = score_path(&file, choice).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(r.metrics.tokens, 51362);
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "scored {} tokens ({choice}) in {:.1} ms",
                r.metrics.tokens,
                elapsed.as_secs_f64() * 1e3
            );
        }
        if !cfg!(debug_assertions) {
            assert!(elapsed.as_secs_f64() < 0.5, "took {elapsed:?}");
        }
    }
}
