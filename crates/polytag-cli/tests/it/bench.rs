//! `polytag bench`: the benchmark's JSON line on the shipped sample, and its usage errors.

use serde_json::Value;

use crate::{assert_fails_with, polytag, root, stderr, stdout};

fn sample_config() -> String {
    root()
        .join("configs/bench/sample-en.json")
        .display()
        .to_string()
}

/// A few steps on the sample: one JSON line with the PyTorch peer's keys, figures a working
/// run cannot miss, and no scratch run directory left in the temp dir.
#[test]
fn bench_prints_the_peers_keys_with_sane_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let config = sample_config();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_polytag"))
        .args([
            "bench",
            &config,
            "--steps",
            "3",
            "--warmup",
            "1",
            "--decode-batch",
            "50",
        ])
        .env("TMPDIR", tmp.path())
        .env_remove("POLYTAG_LOG")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let v: Value = serde_json::from_str(lines[0]).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, polytag_train::bench::KEYS);
    assert!(v["system"].as_str().unwrap().starts_with("polytag-"), "{v}");
    assert!(v["threads"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["train_steps"], 3);
    assert_eq!(v["batch"], 19);
    // eng/dev.conll of the sample: 120 sentences (datasets/sample/README.md).
    assert_eq!(v["decode_sentences"], 120);
    let acc = v["decode_token_acc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{v}");
    let loss = v["final_loss"].as_f64().unwrap();
    assert!(loss.is_finite() && loss > 0.0, "{v}");
    for key in [
        "train_sent_per_s",
        "train_tok_per_s",
        "decode_sent_per_s",
        "decode_tok_per_s",
        "peak_rss_mb",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    // Tokens per sentence of the sample are about 10: the rates must say so.
    let train_ratio =
        v["train_tok_per_s"].as_f64().unwrap() / v["train_sent_per_s"].as_f64().unwrap();
    assert!((3.0..30.0).contains(&train_ratio), "{v}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `--keys`: the JSON line's keys, one per line, for scripts (scripts/bench,
/// scripts/check-real-data) that check a bench line.
#[test]
fn bench_keys_lists_the_json_keys() {
    let o = polytag(&root(), &["bench", "--keys"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let keys: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(keys, polytag_train::bench::KEYS);
    let o = polytag(&root(), &["bench"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn bench_refuses_zero_steps_and_a_broken_config() {
    let config = sample_config();
    let o = polytag(&root(), &["bench", &config, "--steps", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--steps"), "{}", stderr(&o));
    let o = polytag(
        &root(),
        &[
            "bench",
            &config,
            "--set",
            r#"datasets.0.sample={"first":0}"#,
        ],
    );
    assert_fails_with(&o, "datasets[0].sample.first");
}
