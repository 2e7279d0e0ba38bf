//! `polytag score`: the conlleval drop-in. The expected reports are conlleval.pl's own output
//! for the hand-made edge cases of the shared test vectors (copied here, they are tiny).

use crate::*;

#[test]
fn reproduces_conlleval_on_adjacent_same_type_chunks() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "e.txt",
        "a B-PER B-PER\nb B-PER I-PER\nc I-PER I-PER\n\n",
    );
    let o = polytag(dir.path(), &["score", "e.txt"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "processed 3 tokens with 2 phrases; found: 1 phrases; correct: 0.\n\
         accuracy:  66.67%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n\
         \x20             PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
    );
}

#[test]
fn reads_standard_input_and_prints_json() {
    let o = polytag_with_stdin(
        &["score", "-", "--format", "json"],
        "x O O\nNew B-LOC B-LOC\nYork I-LOC I-LOC\n",
    );
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["conlleval"]["f1"], 100.0);
    assert_eq!(v["conlleval"]["correct_phrases"], 1);
}

#[test]
fn bioes_input_is_scored_by_its_own_rules_with_scheme_auto() {
    let dir = tempfile::tempdir().unwrap();
    // conlleval.pl merges `S-X S-X` into one chunk; BIOES rules give two, both correct.
    write(dir.path(), "s.txt", "a S-PER S-PER\nb S-PER S-PER\n");
    let literal = polytag(dir.path(), &["score", "s.txt"]);
    assert!(
        stdout(&literal).starts_with("processed 2 tokens with 1 phrases"),
        "{}",
        stdout(&literal)
    );
    let aware = polytag(dir.path(), &["score", "s.txt", "--scheme", "auto"]);
    assert!(
        stdout(&aware)
            .starts_with("processed 2 tokens with 2 phrases; found: 2 phrases; correct: 2."),
        "{}",
        stdout(&aware)
    );
}

#[test]
fn a_line_with_one_column_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.txt", "a O O\nb\n");
    let o = polytag(dir.path(), &["score", "bad.txt"]);
    assert_fails_with(&o, "bad.txt:2");
}

#[test]
fn an_unknown_scheme_is_a_usage_error_listing_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "x.txt", "a O O\n");
    let o = polytag(dir.path(), &["score", "x.txt", "--scheme", "iob3"]);
    assert_fails_with(
        &o,
        "--scheme: unknown scheme \"iob3\"; expected conlleval, auto",
    );
}
