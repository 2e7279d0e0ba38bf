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

/// Issue 14, `extend_vocab` at prediction time: a run trained with a vector file gives a word
/// of the input outside its vocabulary (here "Zanzibar", in the file but in no split of the
/// sample) the file's vector, so its tagging differs from `--no-extend-vocab`, where the word
/// is unknown; the count is reported. `eval` on a new file does the same. A missing file
/// stops both before any output, naming it; `--vectors` reads a moved copy.
#[test]
fn predict_and_eval_add_input_words_from_the_vector_file() {
    let dir = tempfile::tempdir().unwrap();
    // Every word of the English sample, and Zanzibar, with made-up 32-d vectors.
    let mut words = std::collections::BTreeSet::new();
    for split in ["train", "dev", "test"] {
        let text =
            std::fs::read_to_string(root().join(format!("datasets/sample/eng/{split}.conll")))
                .unwrap();
        words.extend(
            text.lines()
                .filter_map(|l| l.split(' ').next())
                .map(str::to_string),
        );
    }
    words.remove("");
    words.insert("Zanzibar".to_string());
    let mut vec_text = format!("{} 32\n", words.len());
    for (k, w) in words.iter().enumerate() {
        let values: Vec<String> = (0..32)
            .map(|i| format!("{:.3}", ((k * 31 + i * 17) % 200) as f32 / 100.0 - 1.0))
            .collect();
        vec_text.push_str(&format!("{w} {}\n", values.join(" ")));
    }
    let vec = write(dir.path(), "eng.vec", &vec_text);
    let run = dir.path().join("run");
    let set = format!("components.eng_word_embed.file=\"{}\"", vec.display());
    let o = polytag(
        &root(),
        &[
            "train",
            "configs/quickstart.json",
            "--set",
            &set,
            "--set",
            "training.max_step=40",
            "--set",
            "training.eval_freq=20",
            "--run-dir",
            run.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = run.to_str().unwrap();
    let sentence = "Zanzibar is in Germany .\n";
    let predict = |extra: &[&str]| {
        let mut args = vec!["predict", run, "--task", "English NER", "--format", "conll"];
        args.extend_from_slice(extra);
        polytag_with_stdin(&args, sentence)
    };
    let on = predict(&[]);
    assert!(on.status.success(), "{}", stderr(&on));
    let report = format!(
        "polytag: eng_word_embed: 1 of 1 words outside the vocabulary found in {} and added \
         (extend_vocab)",
        vec.display()
    );
    assert!(stderr(&on).contains(&report), "{}", stderr(&on));
    let off = predict(&["--no-extend-vocab"]);
    assert!(off.status.success(), "{}", stderr(&off));
    assert!(!stderr(&off).contains("extend_vocab"), "{}", stderr(&off));
    // The first token's confidence (or label) shows which row fed the model.
    let first = |o: &std::process::Output| stdout(o).lines().next().unwrap_or("").to_string();
    assert!(first(&on).starts_with("Zanzibar "), "{}", stdout(&on));
    assert_ne!(first(&on), first(&off), "the file's vector vs the UNK row");
    // Later tokens are known words either way; the output has the same shape.
    assert_eq!(stdout(&on).lines().count(), stdout(&off).lines().count());

    // eval on a new labelled file goes through the same extension.
    let gold = write(
        dir.path(),
        "new.conll",
        "Zanzibar NNP B-LOC\nis VBZ O\nin IN O\nGermany NNP B-LOC\n. . O\n",
    );
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            run,
            "--file",
            gold.to_str().unwrap(),
            "--task",
            "English NER",
        ];
        args.extend_from_slice(extra);
        polytag(dir.path(), &args)
    };
    let o = eval(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(&report), "{}", stderr(&o));

    // The file moved away: an error naming it before any output, with the ways out.
    let moved = dir.path().join("moved.vec");
    std::fs::rename(&vec, &moved).unwrap();
    let o = predict(&[]);
    assert_fails_with(
        &o,
        &format!(
            "caused by: component \"eng_word_embed\": {}: cannot read the vector file the run \
             was trained with",
            vec.display()
        ),
    );
    assert!(
        stderr(&o).contains("--no-extend-vocab leaves such words unknown"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
    assert_fails_with(&eval(&[]), &vec.display().to_string());
    let copy = format!("eng_word_embed={}", moved.display());
    let o = predict(&["--vectors", &copy]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&on));
    let o = predict(&["--no-extend-vocab"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&off));
    assert_fails_with(
        &predict(&["--vectors", "nope=x.vec"]),
        "no embedding component named \"nope\" extends its vocabulary from a file; those that \
         do: eng_word_embed",
    );
    // A changed file is not the file the model was trained with.
    std::fs::write(&vec, vec_text.replacen(" 0.", " 0.5", 1)).unwrap();
    assert_fails_with(&predict(&[]), "not the same file");
}
