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

pub(crate) fn fixture() -> PathBuf {
    root().join("crates/polytag-model/tests/fixtures/tiny-bert")
}

/// Copies the files of `from` (flat) into `to`.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
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

/// Says on stderr why part of a test did not run.
#[allow(clippy::print_stderr)]
fn skipped(why: &str) {
    eprintln!("{why}");
}

/// The peer venv's python (`POLYTAG_PEER_PYTHON`, else `target/peer-venv`) when it can import
/// transformers.
fn peer_python() -> Option<PathBuf> {
    let python = std::env::var_os("POLYTAG_PEER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/peer-venv/bin/python"));
    Command::new(&python)
        .args(["-c", "import torch, transformers"])
        .output()
        .is_ok_and(|o| o.status.success())
        .then_some(python)
}

/// Tags each line's words (JSON lists on stdin) with an exported model: the argmax label at
/// each word's first sub-word, as HF token classification reads it; `null` for a sentence
/// longer than the model's positions.
const HF_TAG: &str = r#"
import json, sys, torch
from transformers import AutoModelForTokenClassification, AutoTokenizer
path = sys.argv[1]
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForTokenClassification.from_pretrained(path).eval()
for line in sys.stdin:
    words = json.loads(line)
    enc = tok(words, is_split_into_words=True, return_tensors="pt")
    if enc["input_ids"].shape[1] > model.config.max_position_embeddings:
        print("null")  # HF has no windows: longer than the model's positions
        continue
    with torch.no_grad():
        logits = model(**enc).logits[0]
    labels, seen = [], set()
    for i, w in enumerate(enc.word_ids()):
        if w is not None and w not in seen:
            seen.add(w)
            labels.append(model.config.id2label[int(logits[i].argmax())])
    print(json.dumps(labels))
"#;

/// POS (softmax, the target task) and NER (CRF) share a tiny BERT. The POS task exports to a
/// directory that `transformers` loads and tags exactly as `polytag eval` does; NER is refused
/// because of its CRF, and so is a non-empty output folder.
#[test]
fn a_softmax_transformer_task_exports_to_hugging_face() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    copy_dir(&fixture(), &model);
    let sample = root().join("datasets/sample/eng");
    let file = |split: &str| sample.join(format!("{split}.conll")).display().to_string();
    let files = json!({"train": file("train"), "dev": file("dev")});
    let v = json!({
        "name": "export", "seed": 3,
        "training": {"max_step": 600, "eval_freq": 200, "device": "cpu"},
        "datasets": [
            {"name": "ner", "language": "eng", "task": "ner", "batch_size": 8,
             "parser": {"token_col": 0, "label_col": 2, "scheme": "bio"}, "files": files},
            {"name": "pos", "language": "eng", "task": "pos", "batch_size": 8,
             "parser": {"token_col": 0, "label_col": 1, "scheme": "none"}, "files": files}],
        "tasks": [
            {"name": "NER", "dataset": "ner", "optimizer": "adam", "learning_rate": 0.003,
             "model": {"model": "tagger", "features": ["bert"], "univ_layer": "ner_out",
                       "decoder": "crf"}},
            {"name": "POS", "dataset": "pos", "optimizer": "adam", "learning_rate": 0.003,
             "ref": true,
             "model": {"model": "tagger", "features": ["bert"], "univ_layer": "pos_out",
                       "decoder": "softmax"}}],
        "components": [
            {"name": "bert", "model": "transformer", "pretrained": model.display().to_string()},
            {"name": "ner_out", "model": "linear"}, {"name": "pos_out", "model": "linear"},
            {"name": "crf", "model": "crf"}, {"name": "softmax", "model": "softmax"}]
    });
    let config = write(dir.path(), "export.json", v.to_string());
    let run = dir.path().join("run");
    let o = polytag(
        dir.path(),
        &[
            "train",
            config.to_str().unwrap(),
            "--run-dir",
            run.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = run.to_str().unwrap();

    let out = dir.path().join("hf");
    let o = polytag(
        dir.path(),
        &[
            "export",
            run,
            "--format",
            "hf",
            "--task",
            "NER",
            out.to_str().unwrap(),
        ],
    );
    assert_fails_with(&o, "\"crf\" is a CRF");
    assert!(!out.exists(), "a refused export writes nothing");
    let o = polytag(
        dir.path(),
        &["export", run, "--format", "hf", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let hf: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(hf["architectures"], json!(["BertForTokenClassification"]));
    assert!(hf["id2label"]["0"].is_string(), "{hf}");
    let o = polytag(
        dir.path(),
        &[
            "export",
            run,
            "--format",
            "hf",
            "--task",
            "POS",
            out.to_str().unwrap(),
        ],
    );
    assert_fails_with(&o, "not an empty folder");

    // Same labels from polytag and from transformers on the sample's test sentences.
    let predictions = dir.path().join("pos.txt");
    let o = polytag(
        dir.path(),
        &[
            "eval",
            run,
            "--task",
            "POS",
            "--file",
            &file("test"),
            "--predictions",
            predictions.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // `token gold pred` lines, a blank line between sentences.
    let text = std::fs::read_to_string(&predictions).unwrap();
    let (sentences, ours): (Vec<Vec<String>>, Vec<Vec<String>>) = text
        .split("\n\n")
        .map(|s| {
            s.lines()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let f: Vec<&str> = l.split(' ').collect();
                    (f[0].to_string(), f[f.len() - 1].to_string())
                })
                .unzip()
        })
        .filter(|(w, _): &(Vec<String>, Vec<String>)| !w.is_empty())
        .take(30)
        .unzip();
    let distinct: std::collections::BTreeSet<&String> = ours.iter().flatten().collect();
    assert!(
        distinct.len() > 2,
        "the model must have learnt something: {distinct:?}"
    );
    assert_eq!(ours.len(), sentences.len());
    let Some(python) = peer_python() else {
        skipped("skipped: no python with torch + transformers (target/peer-venv or POLYTAG_PEER_PYTHON); the export is not read back");
        return;
    };
    let words: String = sentences
        .iter()
        .map(|s| serde_json::to_string(s).unwrap() + "\n")
        .collect();
    let mut child = Command::new(python)
        .args(["-c", HF_TAG])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(words.as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs: Vec<Option<Vec<String>>> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(theirs.len(), ours.len());
    let mut compared = 0;
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        if let Some(b) = b {
            assert_eq!(a, b, "sentence {i}: {:?}", sentences[i]);
            compared += 1;
        }
    }
    assert!(
        compared >= 10,
        "only {compared} sentences fit the tiny model"
    );
}
