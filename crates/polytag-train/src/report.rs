//! Building `report.json` ([`RunReport`]) and `report.md` at the end of a run (design.md §4,
//! §6); the types live in polytag-run.
//!
//! Everything comes from `metrics.jsonl` plus the final training state, so a resumed run
//! reports exactly what an uninterrupted one would. The figures of each task are those of the
//! *selected* evaluation (the ref task's best dev score; the paper's "test at that step"),
//! beside each task's own best dev score for comparison.

use std::path::Path;

use polytag_config::Experiment;
use polytag_model::ModelSummary;
use polytag_run::report::{markdown, RunReport, TaskReport};
use polytag_run::{Best, MetricsRecord};

use crate::checkpoint::TrainState;

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
pub fn build_report(facts: &RunFacts<'_>, records: &[MetricsRecord]) -> (RunReport, String) {
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
    let report = RunReport {
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
