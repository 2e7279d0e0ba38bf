//! `report.json` and `report.md`: the run's result at a glance (design.md §4, §6).
//!
//! Everything comes from `metrics.jsonl` plus the final training state, so a resumed run
//! reports exactly what an uninterrupted one would. The figures of each task are those of the
//! *selected* evaluation (the ref task's best dev score; the paper's "test at that step"),
//! beside each task's own best dev score for comparison.

use std::path::Path;

use polytag_config::Experiment;
use polytag_model::ModelSummary;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkpoint::TrainState;
use crate::metrics_log::MetricsRecord;
use crate::selection::Best;

/// `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
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

/// What the report needs besides the metrics.
pub struct RunFacts<'a> {
    /// The experiment.
    pub exp: &'a Experiment,
    /// The model's parameter counts.
    pub summary: &'a ModelSummary,
    /// The final training state.
    pub state: &'a TrainState,
    /// The selected evaluation.
    pub best: Option<&'a Best>,
    /// Total wall time.
    pub wall_time_s: f64,
    /// The run directory.
    pub run_dir: &'a Path,
}

/// Builds `report.json`'s value and `report.md`'s text.
pub fn build_report(facts: &RunFacts<'_>, records: &[MetricsRecord]) -> (Report, String) {
    let exp = facts.exp;
    let best_step = facts.best.map(|b| b.step);
    let find = |task: &str, split: &str, step: Option<u64>| {
        step.and_then(|s| {
            records
                .iter()
                .find(|r| r.step == s && r.task == task && r.split == split)
        })
    };
    let per_type = |r: Option<&MetricsRecord>| r.and_then(|r| r.metrics.get("per_type").cloned());
    let tasks: Vec<TaskReport> = exp
        .tasks
        .iter()
        .enumerate()
        .map(|(t, spec)| {
            let dev = find(&spec.name, "dev", best_step);
            let test = find(&spec.name, "test", best_step);
            let own_best = records
                .iter()
                .filter(|r| r.task == spec.name && r.split == "dev" && !r.score.is_nan())
                .fold(None::<&MetricsRecord>, |best, r| match best {
                    Some(b) if b.score >= r.score => Some(b),
                    _ => Some(r),
                });
            let uses = exp.tasks[t].model.components();
            let params = facts
                .summary
                .components
                .iter()
                .enumerate()
                .filter(|(c, _)| uses.contains(c))
                .map(|(_, c)| c.params)
                .sum::<usize>()
                + facts.summary.heads.get(t).map_or(0, |h| h.params);
            let spans = dev
                .or(own_best)
                .is_some_and(|r| r.metrics.contains_key("f1"));
            TaskReport {
                name: spec.name.clone(),
                task: spec.task.clone(),
                language: spec.language.clone(),
                metric: if spans { "f1" } else { "accuracy" }.to_string(),
                dev: dev.map(|r| r.score),
                test: test.map(|r| r.score),
                dev_per_type: per_type(dev),
                test_per_type: per_type(test),
                own_best_dev: own_best.map(|r| r.score),
                own_best_step: own_best.map(|r| r.step),
                steps: facts.state.task_steps.get(t).copied().unwrap_or(0),
                tokens: facts.state.train_tokens.get(t).copied().unwrap_or(0),
                params,
            }
        })
        .collect();
    let train_time = facts.state.train_time_s.max(1e-9);
    let tokens: u64 = facts.state.train_tokens.iter().sum();
    let report = Report {
        experiment: exp.name.clone(),
        run_dir: facts.run_dir.display().to_string(),
        ref_task: exp.target_task().name.clone(),
        best_step,
        best_score: facts.best.map(|b| b.score),
        steps: facts.state.step,
        max_step: exp.training.max_step,
        stopped_early: facts.state.stopped_early,
        wall_time_s: facts.wall_time_s,
        train_time_s: facts.state.train_time_s,
        tokens_per_s: tokens as f64 / train_time,
        steps_per_s: facts.state.step as f64 / train_time,
        params: facts.summary.total_params,
        tasks,
    };
    let markdown = markdown(&report);
    (report, markdown)
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |v| format!("{:.2}", 100.0 * v))
}

/// The readable version: a summary, one row per task, per-type tables at the selected step.
pub fn markdown(r: &Report) -> String {
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
