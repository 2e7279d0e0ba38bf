//! Synthetic run directories for the tests: the files a trainer writes, with numbers chosen so
//! the expected report can be worked out by hand.

use std::path::{Path, PathBuf};

use serde_json::json;

/// Writes a run with tasks `ner` (ref, per-type) and `pos` (accuracy) to `root/name`.
///
/// `ner` dev scores are 0.50, 0.70, 0.60 at steps 10, 20, 30 (best: 0.70 at step 20), test
/// 0.55, 0.65, 0.60; `pos` dev 0.80, 0.90, 0.90 (best: the earlier 0.90, step 20). Training
/// loss is 3, 2, 1. `steps` cuts the run after that many evaluations; `finished` adds
/// `report.json`. `seed` and `lr` land in `config.json`.
pub fn write_run(
    root: &Path,
    name: &str,
    seed: u64,
    lr: f64,
    steps: usize,
    finished: bool,
) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = json!({
        "name": "synthetic",
        "seed": seed,
        "training": {"max_step": 30, "eval_freq": 10},
        "tasks": [
            {"name": "ner", "ref": true, "learning_rate": lr},
            {"name": "pos", "ref": false, "learning_rate": 0.1}
        ]
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&config).expect("json"),
    )
    .expect("temp file");
    let ner_dev = [0.5, 0.7, 0.6];
    let ner_test = [0.55, 0.65, 0.6];
    let pos_dev = [0.8, 0.9, 0.9];
    let mut lines = String::new();
    for k in 0..steps.min(3) {
        let step = 10 * (k as u64 + 1);
        let loss = 3.0 - k as f64;
        let per_type = |f: f64| {
            json!({"PER": {"precision": f, "recall": f, "f1": f, "gold": 10, "found": 10, "correct": 5},
                                       "LOC": {"precision": 1.0, "recall": 0.5, "f1": 2.0 / 3.0, "gold": 4, "found": 2, "correct": 2}})
        };
        for (split, score) in [("dev", ner_dev[k]), ("test", ner_test[k])] {
            let rec = json!({"step": step, "task": "ner", "split": split, "score": score,
                "metrics": {"f1": score, "per_type": per_type(score), "train_loss": loss},
                "wall_time_s": 1.5 * step as f64});
            lines.push_str(&rec.to_string());
            lines.push('\n');
        }
        let rec = json!({"step": step, "task": "pos", "split": "dev", "score": pos_dev[k],
            "metrics": {"accuracy": pos_dev[k], "train_loss": loss / 2.0}, "wall_time_s": 1.5 * step as f64});
        lines.push_str(&rec.to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("metrics.jsonl"), lines).expect("temp file");
    if finished {
        let report = json!({"experiment": "synthetic", "wall_time_s": 50.0, "tokens_per_s": 1234.4,
            "params": 1000, "tasks": [{"name": "ner", "params": 600}, {"name": "pos", "params": 500}]});
        std::fs::write(dir.join("report.json"), report.to_string()).expect("temp file");
    } else {
        // Being trained: its lock names a live process (this test's).
        std::fs::write(dir.join("lock"), format!("{}\n", std::process::id())).expect("temp");
    }
    dir
}

/// Writes a finished run with one task `ner` (ref) evaluated once, at step 10, with these
/// dev and test scores; `seed` and `lr` land in `config.json` (runs with equal `lr` differ
/// only in `seed` and the dataset's `sample_seed`, which follows it).
pub fn write_scored_run(
    root: &Path,
    name: &str,
    seed: u64,
    lr: f64,
    dev: f64,
    test: f64,
) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = json!({
        "name": "scored",
        "seed": seed,
        "datasets": [{"name": "d", "sample_seed": seed}],
        "training": {"max_step": 10, "eval_freq": 10},
        "tasks": [{"name": "ner", "ref": true, "learning_rate": lr}]
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("temp file");
    let mut lines = String::new();
    for (split, score) in [("dev", dev), ("test", test)] {
        let rec = json!({"step": 10, "task": "ner", "split": split, "score": score,
            "metrics": {"f1": score, "train_loss": 1.0}, "wall_time_s": 5.0});
        lines.push_str(&rec.to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("metrics.jsonl"), lines).expect("temp file");
    let report = json!({"experiment": "scored", "wall_time_s": 5.0, "tokens_per_s": 100.0,
        "params": 10, "tasks": [{"name": "ner", "params": 10}]});
    std::fs::write(dir.join("report.json"), report.to_string()).expect("temp file");
    dir
}
