//! `polytag eval` and `polytag predict` on a run trained for a few steps on the sample.

use std::sync::OnceLock;

use crate::*;

/// One short quickstart run shared by the tests here (training is the slow part).
fn run_dir() -> &'static std::path::Path {
    static RUN: OnceLock<tempfile::TempDir> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let o = polytag(
            &root(),
            &[
                "train",
                "configs/quickstart.json",
                "--set",
                "training.max_step=60",
                "--set",
                "training.eval_freq=30",
                "--run-dir",
                run.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    })
    .path()
}

fn run() -> String {
    run_dir().join("run").to_str().unwrap().to_string()
}

#[test]
fn eval_predictions_score_the_same_with_polytag_score() {
    let dir = tempfile::tempdir().unwrap();
    let test = root().join("datasets/sample/nld/test.conll");
    let preds = dir.path().join("p.txt");
    let o = polytag(
        dir.path(),
        &[
            "eval",
            &run(),
            "--file",
            test.to_str().unwrap(),
            "--predictions",
            preds.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let eval_out = stdout(&o);
    let report: String = eval_out.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert!(
        report.starts_with("processed 1175 tokens with 264 phrases"),
        "{eval_out}"
    );
    let o = polytag(dir.path(), &["score", preds.to_str().unwrap()]);
    assert_eq!(stdout(&o), report);
}

#[test]
fn eval_json_and_an_unknown_task() {
    let dir = tempfile::tempdir().unwrap();
    let test = root().join("datasets/sample/eng/dev.conll");
    let o = polytag(
        dir.path(),
        &[
            "eval",
            &run(),
            "--file",
            test.to_str().unwrap(),
            "--task",
            "English POS",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["tokens"], 1185);
    let o = polytag(
        dir.path(),
        &[
            "eval",
            &run(),
            "--file",
            test.to_str().unwrap(),
            "--task",
            "nope",
        ],
    );
    assert_fails_with(
        &o,
        "no task named \"nope\"; known: Dutch NER, Dutch POS, English NER, English POS",
    );
}

fn predict(args: &[&str], input: &str) -> String {
    let run = run();
    let mut all = vec!["predict", run.as_str()];
    all.extend_from_slice(args);
    let o = polytag_with_stdin(&all, input);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn predict_gives_tokens_with_offsets_labels_and_confidences() {
    let text = "Jan de Vries woont in Bergen op Zoom.\n\nHij werkt bij Philips.\n";
    let out = predict(&["--format", "json", "--nbest", "3"], text);
    let lines: Vec<&str> = out.lines().collect();
    // One record per input line, the blank one included.
    assert_eq!(lines.len(), 3, "{out}");
    let blank: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(blank["tokens"].as_array().map(Vec::len), Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let tokens = v["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 9);
    assert_eq!(
        (tokens[8]["text"].as_str(), tokens[8]["start"].as_u64()),
        (Some("."), Some(36))
    );
    for t in tokens {
        let c = t["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{t}");
    }
    for e in v["entities"].as_array().unwrap() {
        let (s, end) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&text[s..end], e["text"].as_str().unwrap());
    }
    let nbest = v["nbest"].as_array().unwrap();
    assert!(!nbest.is_empty() && nbest.len() <= 3);
    let probs: Vec<f64> = nbest
        .iter()
        .map(|n| n["probability"].as_f64().unwrap())
        .collect();
    assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{probs:?}");
}

#[test]
fn predict_conll_and_text_formats() {
    let out = predict(
        &["--format", "conll", "--task", "English POS"],
        "The cat sat.\n",
    );
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(' ').collect())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows.iter().map(|r| r[0]).collect::<Vec<_>>(),
        ["The", "cat", "sat", "."]
    );
    let out = predict(&["--task", "English POS"], "The cat sat.\n");
    assert_eq!(out.lines().next().unwrap().split(' ').count(), 4, "{out}");
}

/// One record per input line in order, blank lines included, in every format; a line that
/// is not UTF-8 is an error naming it, or with `--skip-bad-lines` a warning and an empty record.
#[test]
fn predict_keeps_the_input_structure() {
    let input = "Jan woont in Gent.\n\n\nMarie werkt.\n";
    let out = predict(&["--format", "json"], input);
    let texts: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].to_string())
        .collect();
    assert_eq!(
        texts,
        ["\"Jan woont in Gent.\"", "\"\"", "\"\"", "\"Marie werkt.\""]
    );
    // CoNLL and text: one blank-line-terminated record per input line.
    for format in ["conll", "text"] {
        let out = predict(&["--format", format], input);
        let records = out.lines().filter(|l| l.is_empty()).count();
        assert_eq!(records, 4, "{format}: {out:?}");
        assert!(out.ends_with("\n\n"), "{format}: {out:?}");
    }
    let run = run();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_polytag"))
        .args(["predict", run.as_str(), "--input", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"Jan woont in Gent.\n\xff\xfe\nMarie werkt.\n")
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_fails_with(&o, "<stdin>:2: not valid UTF-8");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_polytag"))
        .args([
            "predict",
            run.as_str(),
            "--input",
            "-",
            "--format",
            "json",
            "--skip-bad-lines",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"Jan woont in Gent.\n\xff\xfe\nMarie werkt.\n")
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("<stdin>:2: not valid UTF-8; skipped"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
}

/// `--nbest 0` is a usage error naming the flag, not silently raised to 1 (review D10).
#[test]
fn predict_refuses_nbest_zero() {
    // No stdin to write: clap exits before reading it.
    let o = polytag(&root(), &["predict", &run(), "--nbest", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--nbest"), "{}", stderr(&o));
}

/// Copies the directory tree `from` to `to`.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Review D2: an error whose cause was both in its message and its `caused by:` line printed
/// the same text twice. A run whose best model file is damaged gives a three-link chain
/// (the command's context, polytag's record error, burn's): each text is printed once.
#[test]
fn d2_a_damaged_model_file_names_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("run");
    copy_tree(&run_dir().join("run"), &copy);
    let model = copy.join("checkpoints/best/model.bpk");
    std::fs::write(&model, b"not a burnpack file").unwrap();
    // A format-1 checkpoint (no checksums) reaches burn's reader; a format-2 one stops at
    // the checksum (tests/it/reliability.rs).
    let manifest = copy.join("checkpoints/best/checkpoint.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["format"] = 1.into();
    m.as_object_mut().unwrap().remove("checksums");
    std::fs::write(&manifest, m.to_string()).unwrap();
    let test = root().join("datasets/sample/nld/test.conll");
    let o = polytag(
        dir.path(),
        &[
            "eval",
            copy.to_str().unwrap(),
            "--file",
            test.to_str().unwrap(),
        ],
    );
    assert_fails_with(&o, "cannot load");
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert_eq!(
        lines[0],
        format!(
            "polytag: cannot load the trained model of {}",
            copy.display()
        )
    );
    assert_eq!(
        lines[1],
        format!("  caused by: cannot load {}", model.display())
    );
    let burn = lines[2]
        .strip_prefix("  caused by: ")
        .expect("a third link");
    assert!(!burn.is_empty(), "{err}");
    for line in &lines[..2] {
        assert!(!line.contains(burn), "burn's message printed twice:\n{err}");
    }
    assert_eq!(
        err.matches(&model.display().to_string()).count(),
        1,
        "{err}"
    );
}
