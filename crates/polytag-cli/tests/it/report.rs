//! `polytag report`: comparing run directories. The runs are tiny hand-written run dirs (the
//! files a trainer leaves), so no training is needed.

use crate::*;

/// A run dir `name` with one ref task `ner`: dev 0.40 then 0.80 at steps 5 and 10, test 0.75
/// at step 10; `report.json` only when `finished`.
fn run_dir(dir: &std::path::Path, name: &str, seed: u32, finished: bool) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    write(
        dir,
        &format!("{name}/config.json"),
        format!(
            r#"{{"name": "e", "seed": {seed}, "training": {{"max_step": 20}}, "tasks": [{{"name": "ner", "ref": true}}]}}"#
        ),
    );
    let rec = |step: u32, split: &str, score: f64| {
        format!(
            r#"{{"step":{step},"task":"ner","split":"{split}","score":{score},"metrics":{{"train_loss":1.5,"per_type":{{"PER":{{"precision":{score},"recall":{score},"f1":{score}}}}}}},"wall_time_s":{step}.0}}"#
        )
    };
    let mut lines = vec![rec(5, "dev", 0.4), rec(5, "test", 0.3)];
    if finished {
        lines.extend([rec(10, "dev", 0.8), rec(10, "test", 0.75)]);
        write(
            dir,
            &format!("{name}/report.json"),
            r#"{"wall_time_s": 12.0, "tokens_per_s": 99.6, "params": 42, "tasks": [{"name": "ner", "params": 40}]}"#,
        );
    }
    write(
        dir,
        &format!("{name}/metrics.jsonl"),
        lines.join("\n") + "\n",
    );
}

#[test]
fn prints_markdown_by_default_with_running_runs_marked() {
    let dir = tempfile::tempdir().unwrap();
    run_dir(dir.path(), "s1", 1, true);
    run_dir(dir.path(), "s2", 2, false);
    // s2 is being trained (its lock names a live process: this test); s3's process is gone.
    write(dir.path(), "s2/lock", format!("{}\n", std::process::id()));
    run_dir(dir.path(), "s3", 3, false);
    let o = polytag(dir.path(), &["report", "s1", "s2", "s3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.starts_with("# polytag report: 3 runs\n"), "{md}");
    assert!(
        md.contains("| s3 | stopped at step 5 (resume with polytag train --resume) |"),
        "{md}"
    );
    assert!(
        md.contains("1 still running") && md.contains("1 stopped unfinished"),
        "{md}"
    );
    assert!(
        md.contains("| s1 | done | ner (ref) | 80.00 | 75.00 | 10 | 12.0 s | 100 | 40 |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| s2 | running (step 5 of 20) | ner (ref) | 40.00 | 30.00 | 5 | 5.0 s | – | – |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| s1 | PER | 80.00 | 80.00 | 80.00 | 75.00 | 75.00 | 75.00 |"),
        "{md}"
    );
    assert!(
        md.contains("| run | seed |\n| --- | --- |\n| s1 | 1 |\n| s2 | 2 |\n| s3 | 3 |\n"),
        "{md}"
    );
}

#[test]
fn writes_html_and_markdown_files() {
    let dir = tempfile::tempdir().unwrap();
    run_dir(dir.path(), "s1", 1, true);
    run_dir(dir.path(), "s2", 2, true);
    let o = polytag(
        dir.path(),
        &["report", "s1", "s2", "--html", "r.html", "--md", "r.md"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "files given: nothing on stdout");
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 1, "one task, one curve");
    assert!(html.contains("<th>seed</th>"));
    let md = std::fs::read_to_string(dir.path().join("r.md")).unwrap();
    assert!(md.contains("## Config differences"));
}

#[test]
fn missing_or_invalid_run_dir_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    run_dir(dir.path(), "s1", 1, true);
    let o = polytag(dir.path(), &["report", "s1", "gone"]);
    assert_fails_with(
        &o,
        "polytag: gone: not a run directory (no such directory)\n",
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let o = polytag(dir.path(), &["report", "empty"]);
    assert_fails_with(&o, "polytag: empty: not a run directory (no config.json)\n");

    write(dir.path(), "s1/metrics.jsonl", "{\"step\": 1}\n");
    let o = polytag(dir.path(), &["report", "s1"]);
    assert_fails_with(
        &o,
        "polytag: s1/metrics.jsonl:1: invalid run file: missing field",
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}
