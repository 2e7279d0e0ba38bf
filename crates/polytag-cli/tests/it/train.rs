//! `polytag train`: a short quickstart run and its run directory, exact resume after SIGKILL,
//! determinism, and a bad config that must leave nothing behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::*;

fn quickstart() -> String {
    root().join("configs/quickstart.json").display().to_string()
}

/// `polytag train configs/quickstart.json --run-dir RUN --set …` in `dir`.
fn train(dir: &Path, run: &Path, sets: &[&str]) -> std::process::Output {
    let q = quickstart();
    let run = run.display().to_string();
    let mut args = vec!["train", q.as_str(), "--run-dir", run.as_str()];
    for s in sets {
        args.extend(["--set", s]);
    }
    polytag(dir, &args)
}

/// metrics.jsonl as JSON values, without the wall time (the only field allowed to differ
/// between two runs of one config).
fn metrics(run: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("a JSON line");
            v.as_object_mut()
                .expect("an object")
                .remove("wall_time_s")
                .expect("wall_time_s");
            v
        })
        .collect()
}

const SHORT: [&str; 3] = [
    "training.max_step=40",
    "training.eval_freq=20",
    "training.checkpoint_freq=20",
];

#[test]
fn a_short_quickstart_run_leaves_a_complete_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = train(dir.path(), &run, &SHORT);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("report: "), "{}", stdout(&o));

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["training"]["max_step"], 40);
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(log.contains("training quickstart"), "{log}");

    // 2 evaluations × 4 tasks × (dev, test).
    let records = metrics(&run);
    assert_eq!(records.len(), 16);
    for r in &records {
        let score = r["score"].as_f64().expect("a score");
        assert!((0.0..=1.0).contains(&score), "{r}");
        assert!(r["learning_rate"].as_f64().is_some() && r["task_step"].is_u64());
    }
    let ner_dev = records
        .iter()
        .rfind(|r| r["task"] == "Dutch NER" && r["split"] == "dev")
        .unwrap();
    assert!(ner_dev["metrics"]["per_type"]["PER"]["f1"].is_f64());

    for kind in ["best", "last"] {
        let ckpt = run.join("checkpoints").join(kind);
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(ckpt.join("checkpoint.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["kind"], kind);
        for file in manifest["files"].as_array().unwrap() {
            assert!(
                ckpt.join(file.as_str().unwrap()).is_file(),
                "{kind}: {file}"
            );
        }
    }
    assert!(run.join("checkpoints/last/optim-3.bpk").is_file());
    assert!(run.join("checkpoints/last/state.json").is_file());

    // The predictions of the best step score, through `polytag score`, as the run logged them.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    let best_step = report["best_step"].as_u64().unwrap();
    let best = records
        .iter()
        .find(|r| r["task"] == "Dutch NER" && r["split"] == "dev" && r["step"] == best_step)
        .unwrap();
    let o = polytag(
        dir.path(),
        &[
            "score",
            "run/predictions/Dutch NER.dev.conll",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let scored: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(scored["metrics"]["spans"]["f1"], best["score"]);
    let o = polytag(
        dir.path(),
        &["score", "run/predictions/English POS.test.conll"],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    assert_eq!(report["ref_task"], "Dutch NER");
    assert_eq!(report["steps"], 40);
    assert_eq!(report["tasks"].as_array().unwrap().len(), 4);
    assert_eq!(report["tasks"][0]["dev"], best["score"]);
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("| Dutch NER (ref) | nld | f1 |"), "{md}");
}

#[test]
fn the_same_config_and_seed_give_identical_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for run in [&a, &b] {
        let o = train(dir.path(), run, &SHORT);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(metrics(&a), metrics(&b));
    let o = train(
        dir.path(),
        &dir.path().join("c"),
        &[SHORT[0], SHORT[1], SHORT[2], "seed=2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(metrics(&a), metrics(&dir.path().join("c")));
}

/// The step of `run`'s last checkpoint, if one is complete.
fn last_step(run: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(run.join("checkpoints/last/checkpoint.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["step"].as_u64()
}

#[test]
fn a_run_killed_and_resumed_ends_with_the_same_metrics() {
    killed_and_resumed_equals_whole(&[]);
}

/// The same with the fine-tuning machinery on: the target accumulating 2 batches per step
/// under a linear warm-up schedule, the LSTM at its own rate, one optimizer state for all.
#[test]
fn a_fine_tuning_run_killed_and_resumed_ends_with_the_same_metrics() {
    killed_and_resumed_equals_whole(&[
        "tasks.0.accumulate=2",
        r#"tasks.0.lr_schedule={"kind":"linear","warmup_ratio":0.1}"#,
        "components.lstm.learning_rate=0.003",
        "training.optimizer_state=shared",
    ]);
}

fn killed_and_resumed_equals_whole(extra: &[&str]) {
    let mut sets = vec![
        "training.max_step=300",
        "training.eval_freq=50",
        "training.checkpoint_freq=50",
    ];
    sets.extend_from_slice(extra);
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let o = train(dir.path(), &whole, &sets);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = std::fs::read_to_string(whole.join("config.json")).unwrap();
    for key in extra {
        let key = key.split('=').next().unwrap().rsplit('.').next().unwrap();
        assert!(
            config.contains(&format!("\"{key}\"")),
            "{key} not in {config}"
        );
    }

    let killed = dir.path().join("killed");
    let mut args = vec!["train".to_string(), quickstart(), "--run-dir".into()];
    args.push(killed.display().to_string());
    for s in &sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_polytag"))
        .args(&args)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("polytag starts");
    let started = Instant::now();
    while last_step(&killed).is_none_or(|s| s < 100) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint at step 100"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let at_kill = last_step(&killed).unwrap();
    assert!(
        at_kill < 300 && !killed.join("report.json").exists(),
        "the run finished before it was killed (step {at_kill}); the test proves nothing"
    );

    let resume = killed.display().to_string();
    let o = polytag(dir.path(), &["train", "--resume", &resume]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (metrics(&whole), metrics(&killed));
    assert_eq!(a.len(), 6 * 8);
    assert_eq!(a, b, "killed at step {at_kill}");
    let report = |run: &Path| -> Value {
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap())
                .unwrap();
        let o = v.as_object_mut().unwrap();
        for key in [
            "run_dir",
            "wall_time_s",
            "train_time_s",
            "tokens_per_s",
            "steps_per_s",
        ] {
            o.remove(key);
        }
        v
    };
    assert_eq!(report(&whole), report(&killed));

    // Resuming a finished run trains no further and logs nothing new.
    let o = polytag(dir.path(), &["train", "--resume", &resume]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(metrics(&killed) == a);
}

#[test]
fn a_bad_config_leaves_no_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(quickstart())
        .unwrap()
        .replace("\"crf\": \"ner_crf\"", "\"crf\": \"ner_crf2\"")
        .replace(
            "../datasets",
            &root().join("datasets").display().to_string(),
        );
    write(dir.path(), "bad.json", text);
    let o = polytag(dir.path(), &["train", "bad.json", "--run-dir", "run"]);
    assert_fails_with(&o, "no component named \"ner_crf2\"");
    assert!(!dir.path().join("run").exists());
    // Without --run-dir, the default `runs/` is not created either.
    let o = polytag(dir.path(), &["train", "bad.json"]);
    assert_fails_with(&o, "ner_crf2");
    assert!(!dir.path().join("runs").exists());

    // A missing data file is caught before the run directory exists too.
    let text = std::fs::read_to_string(quickstart())
        .unwrap()
        .replace("../datasets", "/nonexistent/datasets");
    write(dir.path(), "missing.json", text);
    let o = polytag(dir.path(), &["train", "missing.json", "--run-dir", "run"]);
    assert_fails_with(&o, "/nonexistent/datasets");
    assert!(!dir.path().join("run").exists());

    // --resume of something that is not a run.
    let o = polytag(dir.path(), &["train", "--resume", "nowhere"]);
    assert_fails_with(&o, "nowhere is not a run directory");
}
