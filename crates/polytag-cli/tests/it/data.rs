//! `polytag data stats|convert`.

use crate::*;

#[test]
fn stats_counts_sentences_tokens_documents_and_entities() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.conll",
        "-DOCSTART- -X- O\n\nEU NNP I-ORG\nrejects VBZ O\nGerman JJ I-MISC\n\nPeter NNP I-PER\nBlackburn NNP I-PER\n",
    );
    let o = polytag(dir.path(), &["data", "stats", "a.conll"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("a.conll: 2 sentences, 5 tokens, 1 documents"),
        "{out}"
    );
    assert!(out.contains("scheme: iob1 (detected)"), "{out}");
    assert!(
        out.contains("entities: MISC 1, ORG 1, PER 1 (total 3)"),
        "{out}"
    );

    let o = polytag(
        dir.path(),
        &["data", "stats", "a.conll", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["sentences"], 2);
    assert_eq!(v["entities"]["PER"], 1);
}

#[test]
fn a_label_invalid_in_the_declared_scheme_warns_by_default_and_fails_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.conll", "x O\nEU I-ORG\n");
    let o = polytag(dir.path(), &["data", "stats", "b.conll", "--scheme", "bio"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("b.conll:2: `I-ORG` cannot follow `O` in BIO"),
        "{}",
        stdout(&o)
    );
    let o = polytag(
        dir.path(),
        &["data", "stats", "b.conll", "--scheme", "bio", "--strict"],
    );
    assert_fails_with(&o, "b.conll:2: `I-ORG` cannot follow `O` in BIO");
}

#[test]
fn bad_input_files_get_one_line_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cols.conll", "a B-PER\nb\n");
    let o = polytag(
        dir.path(),
        &["data", "stats", "cols.conll", "--label-col", "1"],
    );
    assert_fails_with(&o, "cols.conll:2: expected 2 columns as on line 1, found 1");

    write(dir.path(), "range.conll", "a B-PER\n");
    let o = polytag(
        dir.path(),
        &["data", "stats", "range.conll", "--label-col", "5"],
    );
    assert_fails_with(&o, "range.conll:1: expected at least 6 columns, found 2");

    write(dir.path(), "latin1.conll", b"a O\nSt\xe9phane B-PER\n");
    let o = polytag(dir.path(), &["data", "stats", "latin1.conll"]);
    assert_fails_with(&o, "latin1.conll:2: not valid UTF-8");

    let o = polytag(dir.path(), &["data", "stats", "missing.conll"]);
    assert_fails_with(&o, "polytag: cannot read missing.conll");
}

#[test]
fn convert_to_bioes_and_back_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let text = "New NNP B-LOC\nYork NNP I-LOC\nis VBZ O\nbig JJ O\n\nEU NNP B-ORG\n";
    write(dir.path(), "in.conll", text);
    let o = polytag(
        dir.path(),
        &["data", "convert", "--to", "bioes", "in.conll", "out.conll"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = std::fs::read_to_string(dir.path().join("out.conll")).unwrap();
    assert_eq!(
        out,
        "New NNP B-LOC\nYork NNP E-LOC\nis VBZ O\nbig JJ O\n\nEU NNP S-ORG\n\n"
    );
    let o = polytag(
        dir.path(),
        &["data", "convert", "--to", "bio", "out.conll", "back.conll"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let back = std::fs::read_to_string(dir.path().join("back.conll")).unwrap();
    assert_eq!(back, format!("{text}\n"));
}

#[test]
fn stats_reads_the_shipped_sample() {
    let sample = root().join("datasets/sample/eng/train.conll");
    let o = polytag(
        &root(),
        &[
            "data",
            "stats",
            sample.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["sentences"], 400);
    assert_eq!(v["scheme"], "bio");
}

/// Malformed chunk tags (`B-`, `-PER`, `BPER`, `b-per`) are flagged by `data stats` with their
/// line, and fail it under `--strict`.
#[test]
fn malformed_tags_are_flagged_and_fail_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m.conll",
        "Jan B-PER\nx B-\n\ny -PER\nz BPER\nw b-per\nv O\n",
    );
    let o = polytag(dir.path(), &["data", "stats", "m.conll"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("problems: 4"), "{out}");
    let o = polytag(dir.path(), &["data", "stats", "m.conll", "--strict"]);
    assert_fails_with(&o, "m.conll:2: tag `B-` is not a BIO tag");
    for line in [
        "m.conll:4: tag `-PER`",
        "m.conll:5: tag `BPER`",
        "m.conll:6: tag `b-per`",
    ] {
        assert_fails_with(&o, line);
    }
    assert_fails_with(&o, "4 label(s) invalid in the declared scheme (--strict)");
}
