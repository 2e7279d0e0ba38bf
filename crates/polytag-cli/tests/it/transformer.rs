//! A `transformer` feature end to end: train a tiny BERT (the model crate's `tiny-bert`
//! fixture, copied to a temporary model folder) shared by English NER and POS on the sample,
//! with windows shorter than many sentences; kill it after a checkpoint, delete the model
//! folder, resume, and check the resumed run equals an uninterrupted one; then `eval` and
//! `predict` from the run alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::*;

fn fixture() -> PathBuf {
    root().join("crates/polytag-model/tests/fixtures/tiny-bert")
}

/// Copies the files of `from` (flat) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A one-task experiment: the English NER sample read through `bert` (mean pooling, windows
/// of 12 pieces so long sentences are split), a linear layer and a CRF.
fn config(dir: &Path, model: &Path) -> PathBuf {
    let sample = root().join("datasets/sample/eng");
    let file = |split: &str| sample.join(format!("{split}.conll")).display().to_string();
    let v = json!({
        "name": "tiny-bert", "seed": 5,
        "training": {"max_step": 360, "eval_freq": 60, "checkpoint_freq": 60, "device": "cpu",
                     "eval_batch_size": 50},
        "datasets": [{"name": "eng_ner", "language": "eng", "task": "ner",
                      "parser": {"token_col": 0, "label_col": 2, "scheme": "bio"},
                      "batch_size": 8,
                      "files": {"train": file("train"), "dev": file("dev"), "test": file("test")}},
                     {"name": "eng_pos", "language": "eng", "task": "pos",
                      "parser": {"token_col": 0, "label_col": 1, "scheme": "none"},
                      "batch_size": 8,
                      "files": {"train": file("train"), "dev": file("dev")}}],
        "tasks": [{"name": "English NER", "dataset": "eng_ner", "optimizer": "adam",
                   "learning_rate": 0.002, "ref": true,
                   "model": {"model": "tagger", "features": ["bert"], "spec_layer": "out",
                             "decoder": "crf", "embed_dropout": 0.1}},
                  {"name": "English POS", "dataset": "eng_pos", "optimizer": "adam",
                   "learning_rate": 0.002,
                   "model": {"model": "tagger", "features": ["bert"], "spec_layer": "pos_out",
                             "decoder": "pos_crf", "embed_dropout": 0.1}}],
        "components": [
            {"name": "bert", "model": "transformer", "pretrained": model.display().to_string(),
             "max_len": 12, "stride": 3, "subword_pooling": "mean"},
            {"name": "out", "model": "linear"},
            {"name": "crf", "model": "crf"},
            {"name": "pos_out", "model": "linear"},
            {"name": "pos_crf", "model": "crf"}
        ]
    });
    let path = dir.join("tiny-bert.json");
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

fn metrics(run: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("wall_time_s");
            v
        })
        .collect()
}

fn last_step(run: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(run.join("checkpoints/last/checkpoint.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["step"].as_u64()
}

#[test]
fn a_transformer_trains_resumes_exactly_and_predicts_without_its_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    copy_dir(&fixture(), &model);
    let config = config(dir.path(), &model);
    let cfg = config.display().to_string();

    // One encoder, shared by both tasks.
    let o = polytag(dir.path(), &["validate", &cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = stdout(&o);
    let rows: Vec<&str> = summary
        .lines()
        .filter(|l| l.contains("transformer"))
        .collect();
    assert_eq!(rows.len(), 1, "{summary}");
    assert!(rows[0].contains("English NER, English POS"), "{summary}");
    assert!(summary.contains("pieces of bert"), "{summary}");

    let whole = dir.path().join("whole");
    let o = polytag(
        dir.path(),
        &["train", &cfg, "--run-dir", whole.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The run keeps the tokenizer and config.json, with their digests.
    for file in ["tokenizer.json", "config.json", "sha256.json"] {
        assert!(
            whole.join("transformers/bert").join(file).is_file(),
            "{file}"
        );
    }
    let digests: Value = serde_json::from_str(
        &std::fs::read_to_string(whole.join("transformers/bert/sha256.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        digests["tokenizer.json"].as_str().unwrap(),
        polytag_data_sha256(&model.join("tokenizer.json"))
    );

    let killed = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_polytag"))
        .args(["train", &cfg, "--run-dir", killed.to_str().unwrap()])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("polytag starts");
    let started = Instant::now();
    while last_step(&killed).is_none_or(|s| s < 60) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint at step 60"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let at_kill = last_step(&killed).unwrap();
    assert!(
        at_kill < 360 && !killed.join("report.json").exists(),
        "the run finished before it was killed (step {at_kill}); the test proves nothing"
    );

    // The model folder goes away: resume, eval and predict use the run's copies and
    // checkpoint.
    std::fs::remove_dir_all(&model).unwrap();
    let o = polytag(dir.path(), &["train", "--resume", killed.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (metrics(&whole), metrics(&killed));
    assert!(!a.is_empty());
    assert_eq!(a, b, "killed at step {at_kill}");

    let test = root().join("datasets/sample/eng/test.conll");
    let o = polytag(
        dir.path(),
        &[
            "eval",
            killed.to_str().unwrap(),
            "--file",
            test.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("processed"), "{}", stdout(&o));

    let text = "Dutch nurses protested in Amsterdam on Tuesday.\n";
    let o = polytag_with_stdin(
        &["predict", killed.to_str().unwrap(), "--format", "json"],
        text,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let line: Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    let tokens = line["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 8);
    assert_eq!(tokens[7]["text"], ".");
    assert_eq!(tokens[7]["start"], 46);
    for t in tokens {
        let c = t["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{t}");
    }

    // A changed copy is refused, naming the file (input from a file: the refusal comes
    // before any input is read).
    let input = dir.path().join("input.txt");
    std::fs::write(&input, text).unwrap();
    std::fs::write(killed.join("transformers/bert/tokenizer.json"), "{}").unwrap();
    let o = polytag(
        dir.path(),
        &[
            "predict",
            killed.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_fails_with(&o, "transformers/bert/tokenizer.json");
}

/// SHA-256 of a file, as the run records it.
fn polytag_data_sha256(path: &Path) -> String {
    polytag_data::sha256_hex(&std::fs::read(path).unwrap())
}
