//! `report.json` and `report.md`: the run's result at a glance (design.md §4, §6).
//!
//! [`RunReport`] is what the trainer writes once a run ends and what `polytag report` reads
//! back, so the two cannot drift apart. Named `RunReport` because polytag has three reports:
//! this one, the conlleval-style `polytag_eval::Report` of one scored file, and the
//! `polytag-report` crate that compares runs. [`RunReportSummary`] is the lenient reading of
//! the same file: only the figures a comparison shows, each optional, so `polytag report`
//! also reads a `report.json` written by an older polytag (or a stand-in one, as the sweep
//! tests' fake trainer writes).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Experiment name.
    pub experiment: String,
    /// The run directory.
    pub run_dir: String,
    /// The ref task.
    pub ref_task: String,
    /// Step of the selected (best) evaluation.
    pub best_step: Option<u64>,
    /// The ref task's dev score there.
    pub best_score: Option<f64>,
    /// Global steps done.
    pub steps: u64,
    /// `training.max_step`.
    pub max_step: u64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Seconds from start to end (resumed sessions added up).
    pub wall_time_s: f64,
    /// Seconds in training steps.
    pub train_time_s: f64,
    /// Training tokens per second of training time.
    pub tokens_per_s: f64,
    /// Training steps per second of training time.
    pub steps_per_s: f64,
    /// Parameters of the whole model.
    pub params: usize,
    /// One entry per task.
    pub tasks: Vec<TaskReport>,
}

/// One task's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    /// Task name.
    pub name: String,
    /// Task type (`ner`, `pos`).
    pub task: String,
    /// Language.
    pub language: String,
    /// `f1` (spans) or `accuracy`.
    pub metric: String,
    /// Dev score at the selected step.
    pub dev: Option<f64>,
    /// Test score at the selected step.
    pub test: Option<f64>,
    /// Dev per-type figures at the selected step (chunk tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_per_type: Option<Value>,
    /// Test per-type figures at the selected step (chunk tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_per_type: Option<Value>,
    /// This task's own best dev score over the run.
    pub own_best_dev: Option<f64>,
    /// Its step.
    pub own_best_step: Option<u64>,
    /// Training steps of this task.
    pub steps: u64,
    /// Training tokens of this task.
    pub tokens: u64,
    /// Parameters this task's model uses (shared components included).
    pub params: usize,
}

/// The parts of `report.json` that `polytag report` shows; every key may be missing.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct RunReportSummary {
    /// [`RunReport::wall_time_s`].
    #[serde(default)]
    pub wall_time_s: Option<f64>,
    /// [`RunReport::tokens_per_s`].
    #[serde(default)]
    pub tokens_per_s: Option<f64>,
    /// [`RunReport::params`].
    #[serde(default)]
    pub params: Option<u64>,
    /// [`RunReport::tasks`], name and parameters only.
    #[serde(default)]
    pub tasks: Vec<TaskReportSummary>,
}

/// The parts of one [`TaskReport`] that `polytag report` shows.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TaskReportSummary {
    /// [`TaskReport::name`].
    pub name: String,
    /// [`TaskReport::params`].
    #[serde(default)]
    pub params: Option<u64>,
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{:.2}", 100.0 * v))
}

/// The readable version: a summary, one row per task, per-type tables at the selected step.
pub fn markdown(r: &RunReport) -> String {
    let mut s = format!("# {}\n\n", r.experiment);
    s.push_str(&format!(
        "Run `{}`: {} of {} steps{} in {:.1} s ({:.1} s training, {:.1} steps/s, {:.0} tokens/s), {} parameters.\n\n",
        r.run_dir,
        r.steps,
        r.max_step,
        if r.stopped_early { " (stopped early)" } else { "" },
        r.wall_time_s,
        r.train_time_s,
        r.steps_per_s,
        r.tokens_per_s,
        r.params
    ));
    match (r.best_step, r.best_score) {
        (Some(step), Some(score)) => s.push_str(&format!(
            "Selected: step {step}, where {} scored {:.2} on dev (scores in %).\n\n",
            r.ref_task,
            100.0 * score
        )),
        _ => s.push_str("No evaluation was selected.\n\n"),
    }
    s.push_str("| task | lang | metric | dev | test | own best dev (step) | steps | params |\n");
    s.push_str("|---|---|---|---:|---:|---:|---:|---:|\n");
    for t in &r.tasks {
        s.push_str(&format!(
            "| {}{} | {} | {} | {} | {} | {} ({}) | {} | {} |\n",
            t.name,
            if t.name == r.ref_task { " (ref)" } else { "" },
            t.language,
            t.metric,
            pct(t.dev),
            pct(t.test),
            pct(t.own_best_dev),
            t.own_best_step.map_or("–".to_string(), |x| x.to_string()),
            t.steps,
            t.params
        ));
    }
    for t in &r.tasks {
        for (split, table) in [("dev", &t.dev_per_type), ("test", &t.test_per_type)] {
            let Some(Value::Object(types)) = table else {
                continue;
            };
            s.push_str(&format!(
                "\n## {} — {split} per type\n\n| type | precision | recall | F1 | gold | found | correct |\n|---|---:|---:|---:|---:|---:|---:|\n",
                t.name
            ));
            for (name, v) in types {
                let f = |k: &str| v.get(k).and_then(Value::as_f64);
                let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
                s.push_str(&format!(
                    "| {name} | {} | {} | {} | {} | {} | {} |\n",
                    pct(f("precision")),
                    pct(f("recall")),
                    pct(f("f1")),
                    n("gold"),
                    n("found"),
                    n("correct")
                ));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> RunReport {
        RunReport {
            experiment: "exp".into(),
            run_dir: "runs/exp/1".into(),
            ref_task: "ner".into(),
            best_step: Some(20),
            best_score: Some(0.5),
            steps: 30,
            max_step: 30,
            stopped_early: false,
            wall_time_s: 2.5,
            train_time_s: 2.0,
            tokens_per_s: 100.0,
            steps_per_s: 15.0,
            params: 1234,
            tasks: vec![TaskReport {
                name: "ner".into(),
                task: "ner".into(),
                language: "en".into(),
                metric: "f1".into(),
                dev: Some(0.5),
                test: Some(0.25),
                dev_per_type: None,
                test_per_type: None,
                own_best_dev: Some(0.5),
                own_best_step: Some(20),
                steps: 30,
                tokens: 200,
                params: 1000,
            }],
        }
    }

    /// What the writer writes, the lenient reader reads: the two views of one file agree.
    #[test]
    fn the_summary_reads_what_the_report_writes() {
        let text = serde_json::to_string_pretty(&report()).unwrap();
        let summary: RunReportSummary = serde_json::from_str(&text).unwrap();
        assert_eq!(
            summary,
            RunReportSummary {
                wall_time_s: Some(2.5),
                tokens_per_s: Some(100.0),
                params: Some(1234),
                tasks: vec![TaskReportSummary {
                    name: "ner".into(),
                    params: Some(1000),
                }],
            }
        );
        let back: RunReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report());
        let empty: RunReportSummary = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, RunReportSummary::default());
    }
}
