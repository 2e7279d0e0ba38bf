//! `polytag sweep`: a grid × seeds on the quickstart sample with a failing variant, resumed;
//! the grouped HTML/Markdown report; the Slurm script; bad grids refused before any run.

use std::path::Path;

use serde_json::Value;

use crate::{assert_fails_with, polytag, root, stderr, stdout};

fn quickstart() -> String {
    root().join("configs/quickstart.json").display().to_string()
}

/// A few steps per run; a learning rate of 1e30 makes training diverge (a run-time failure,
/// after the config has resolved).
fn sweep_args<'a>(q: &'a str, dir: &'a str) -> Vec<&'a str> {
    vec![
        "sweep",
        q,
        "--set",
        "training.max_step=20",
        "--set",
        "training.eval_freq=10",
        "--set",
        "training.checkpoint_freq=10",
        "--grid",
        "tasks.Dutch NER.learning_rate=0.02,0.05,1e30",
        "--seeds",
        "1,2",
        "--jobs",
        "2",
        "--sweep-dir",
        dir,
    ]
}

fn state(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).expect("state.json"))
        .expect("state is JSON")
}

#[test]
fn a_sweep_survives_a_failing_variant_reports_grouped_seeds_and_resumes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let q = quickstart();
    let dir = tmp.path().join("sweep");
    let d = dir.display().to_string();
    let out = polytag(tmp.path(), &sweep_args(&q, &d));
    // Two of six runs diverge: the sweep goes on, reports, and exits 1 naming them.
    assert_fails_with(&out, "2 of 6 runs failed");
    let err = stderr(&out);
    assert_eq!(
        err.matches("] done: runs/v0-learning_rate=0.02/seed-")
            .count(),
        2,
        "{err}"
    );
    assert_eq!(
        err.matches("] FAILED: runs/v2-learning_rate=1e30/seed-")
            .count(),
        2,
        "{err}"
    );
    let s = state(&dir);
    let statuses: Vec<&str> = s["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    // Seed-major order: (0.02, 1), (0.05, 1), (1e30, 1), (0.02, 2), …
    assert_eq!(
        statuses,
        ["done", "done", "failed", "done", "done", "failed"]
    );
    let why = s["runs"][2]["error"].as_str().expect("error recorded");
    assert!(why.contains("the training loss is NaN"), "{why}");
    for seed in [1, 2] {
        let run = dir.join(format!("runs/v0-learning_rate=0.02/seed-{seed}"));
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(run.join("config.json")).expect("config"),
        )
        .expect("json");
        assert_eq!(config["seed"], seed);
        assert!(run.join("report.json").is_file());
    }

    // The report: seeds grouped, each variant's mean ± std, intervals compared.
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert_eq!(
        stdout(&out),
        format!(
            "{md}\nreport: {} and {}\n",
            dir.join("report.md").display(),
            dir.join("report.html").display()
        )
    );
    assert!(md.contains("## Dutch NER — seeds grouped"), "{md}");
    assert!(md.contains("| v0-learning_rate=0.02 | 2 | "), "{md}");
    assert!(
        md.contains("| v2-learning_rate=1e30 | 0 | – | – | – | – |"),
        "{md}"
    );
    assert!(
        md.contains("2 failed (left out of the seed groups)."),
        "{md}"
    );
    assert!(
        md.contains("## Dutch NER — do the test intervals (mean ± std) overlap?"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    check_html_structure(&html, 4);

    // `polytag report SWEEP_DIR` reads the same runs.
    let again = polytag(tmp.path(), &["report", &d]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again), md);

    // Resumed: finished runs are kept, failed ones tried again (and fail again).
    let out = polytag(tmp.path(), &["sweep", "--resume", &d]);
    assert_fails_with(&out, "2 of 6 runs failed");
    let err = stderr(&out);
    assert_eq!(err.matches("finished before: ").count(), 4, "{err}");
    assert_eq!(state(&dir)["runs"][2]["attempts"], 2);
    assert_eq!(state(&dir)["runs"][0]["attempts"], 1);

    // A new sweep into the same directory is refused.
    let out = polytag(tmp.path(), &sweep_args(&q, &d));
    assert_fails_with(
        &out,
        "already holds a sweep; continue it with `polytag sweep --resume",
    );
}

/// The HTML report of a sweep: summary, one seeds-grouped table per task, the overlap matrix,
/// config differences, and one SVG of learning curves per task; self-contained.
fn check_html_structure(html: &str, tasks: usize) {
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    assert_eq!(html.matches("<table class=\"summary\">").count(), 1);
    assert_eq!(html.matches("<table class=\"grouped\">").count(), tasks);
    assert_eq!(html.matches("<table class=\"overlap\">").count(), 1);
    assert_eq!(html.matches("<table class=\"config-diff\">").count(), 1);
    assert_eq!(html.matches("<svg").count(), tasks);
    assert_eq!(html.matches("</svg>").count(), tasks);
    assert_eq!(
        html.matches("<table").count(),
        html.matches("</table>").count()
    );
    assert!(html.contains("<th>dev (mean ± std)</th>"));
    for banned in ["<script", "https://", "<link", "<img"] {
        assert!(!html.contains(banned), "{banned}");
    }
}

#[test]
fn emit_slurm_writes_six_array_tasks_for_a_2x3_grid() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let q = quickstart();
    let dir = tmp.path().join("sw");
    let d = dir.display().to_string();
    let out = polytag(
        tmp.path(),
        &[
            "sweep",
            &q,
            "--grid",
            "components.lstm.hidden_size=32,64",
            "--seeds",
            "1,2,3",
            "--emit",
            "slurm",
            "--sbatch",
            "--time=02:00:00",
            "--jobs",
            "3",
            "--sweep-dir",
            &d,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("6 array tasks (2 variants x 3 seeds)"));
    let path = dir.join("sweep.slurm");
    let script = std::fs::read_to_string(&path).expect("script");
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .expect("bash");
    assert!(check.success(), "{script}");
    assert!(script.contains("#SBATCH --array=0-5%3\n"), "{script}");
    assert!(script.contains("#SBATCH --time=02:00:00\n"), "{script}");
    let cases: Vec<&str> = script.lines().filter(|l| l.contains(") dir=")).collect();
    assert_eq!(cases.len(), 6, "{script}");
    for (task, line) in cases.iter().enumerate() {
        let size = [32, 64][task % 2];
        let seed = task / 2 + 1;
        assert!(line.starts_with(&format!("  {task}) dir=")), "{line}");
        assert!(
            line.contains(&format!(
                "--set components.lstm.hidden_size={size} --set seed={seed} --run-dir"
            )),
            "{line}"
        );
        assert!(
            line.contains(&format!(
                "/runs/v{}-hidden_size={size}/seed-{seed}",
                task % 2
            )),
            "{line}"
        );
    }
    // Nothing ran; the plan is there for `polytag report` / `--resume`.
    assert!(dir.join("sweep.json").is_file());
    assert!(!dir.join("runs").exists());
}

#[test]
fn a_bad_grid_key_fails_before_anything_runs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let q = quickstart();
    let d = tmp.path().join("sw").display().to_string();
    let out = polytag(
        tmp.path(),
        &[
            "sweep",
            &q,
            "--grid",
            "training.max_stepp=10,20",
            "--sweep-dir",
            &d,
        ],
    );
    assert_fails_with(&out, "variant v0-max_stepp=10:");
    assert_fails_with(&out, "did you mean");
    assert_fails_with(&out, "2 of 2 variants do not resolve; nothing was run");
    assert!(!tmp.path().join("sw").exists());
    let out = polytag(tmp.path(), &["sweep", &q, "--grid", "seed=1,2"]);
    assert_fails_with(&out, "--grid seed=1,2: give seeds with --seeds");
    let out = polytag(tmp.path(), &["sweep", "--resume", &d]);
    assert_fails_with(&out, "sweep.json: no such file (not a sweep directory?)");
}
