//! The report's tables as plain rows of text, built once and rendered by both the Markdown and
//! the HTML writer, so the two outputs cannot disagree.

use crate::diff::config_differences;
use crate::run::{Run, Status};

/// A table: header cells and rows of cells (all already formatted).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Which columns are numbers (right-aligned).
    pub numeric: Vec<bool>,
    /// Rows, each as long as `header`.
    pub rows: Vec<Vec<String>>,
}

/// `1 run`, `6 runs`: the report's title.
pub fn count_runs(n: usize) -> String {
    if n == 1 {
        "1 run".to_string()
    } else {
        format!("{n} runs")
    }
}

/// What an absent value prints as.
pub const NONE: &str = "–";

/// A 0–1 score as a percentage with two decimals (as `report.md` does).
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}", 100.0 * x)
    } else {
        NONE.to_string()
    }
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| NONE.to_string(), f)
}

/// A run's status cell: `done`, `running (step 750 of 3000)` or `failed: why`.
pub fn status(run: &Run) -> String {
    match run.status {
        Status::Finished => "done".to_string(),
        Status::Failed => {
            let why = run.failure.as_deref().unwrap_or("see its log");
            let mut cut: String = why.chars().take(60).collect();
            if cut.len() < why.len() {
                cut.push('…');
            }
            format!("failed: {cut}")
        }
        Status::Running => {
            let of = run.max_step.map(|m| format!(" of {m}")).unwrap_or_default();
            match run.last_step {
                Some(s) => format!("running (step {s}{of})"),
                None => "running (no evaluation yet)".to_string(),
            }
        }
        Status::Stopped => match run.last_step {
            Some(s) => format!("stopped at step {s} (resume with polytag train --resume)"),
            None => "stopped before its first evaluation".to_string(),
        },
    }
}

/// Runs × tasks: each task's best dev, test at that step, the step; run-level wall time and
/// throughput; the task's parameter count (the run's where the task's is unknown).
pub fn summary(runs: &[Run]) -> Table {
    let header = [
        "run",
        "status",
        "task",
        "best dev",
        "test",
        "step",
        "wall time",
        "tokens/s",
        "params",
    ];
    let numeric = [false, false, false, true, true, true, true, true, true];
    let mut rows = Vec::new();
    for run in runs {
        for task in &run.tasks {
            let name = if task.is_ref {
                format!("{} (ref)", task.name)
            } else {
                task.name.clone()
            };
            rows.push(vec![
                run.label.clone(),
                status(run),
                name,
                opt(task.best.as_ref(), |b| pct(b.dev)),
                opt(task.best.as_ref().and_then(|b| b.test), pct),
                opt(task.best.as_ref(), |b| b.step.to_string()),
                opt(run.wall_time_s, |w| format!("{w:.1} s")),
                opt(run.tokens_per_s, |t| format!("{t:.0}")),
                opt(task.params.or(run.params), |p| p.to_string()),
            ]);
        }
    }
    Table {
        header: header.iter().map(|s| s.to_string()).collect(),
        numeric: numeric.to_vec(),
        rows,
    }
}

/// Names of all tasks over all runs, in first-seen order.
pub fn task_names(runs: &[Run]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for t in runs.iter().flat_map(|r| &r.tasks) {
        if !names.contains(&t.name) {
            names.push(t.name.clone());
        }
    }
    names
}

/// Per task with per-type scores: run × type rows, dev and test P/R/F1 at the task's best dev
/// step. Tasks without types (accuracy) or never evaluated are left out.
pub fn per_type(runs: &[Run]) -> Vec<(String, Table)> {
    let header = [
        "run", "type", "dev P", "dev R", "dev F1", "test P", "test R", "test F1",
    ];
    let mut out = Vec::new();
    for name in task_names(runs) {
        let mut rows = Vec::new();
        for run in runs {
            let Some(best) = run
                .tasks
                .iter()
                .find(|t| t.name == name)
                .and_then(|t| t.best.as_ref())
            else {
                continue;
            };
            for ty in &best.dev_per_type {
                let test = best.test_per_type.iter().find(|t| t.name == ty.name);
                rows.push(vec![
                    run.label.clone(),
                    ty.name.clone(),
                    pct(ty.precision),
                    pct(ty.recall),
                    pct(ty.f1),
                    opt(test, |t| pct(t.precision)),
                    opt(test, |t| pct(t.recall)),
                    opt(test, |t| pct(t.f1)),
                ]);
            }
        }
        if !rows.is_empty() {
            out.push((
                name,
                Table {
                    header: header.iter().map(|s| s.to_string()).collect(),
                    numeric: (0..header.len()).map(|i| i >= 2).collect(),
                    rows,
                },
            ));
        }
    }
    out
}

/// Up to this many differing keys, runs are rows and keys columns (the common case: a few
/// varied settings over many seeds); beyond it keys are rows and runs columns.
const KEYS_AS_COLUMNS: usize = 6;

/// The config keys that differ between the runs; `None` with fewer than two runs or when all
/// configs are equal.
pub fn config_diff(runs: &[Run]) -> Option<Table> {
    if runs.len() < 2 {
        return None;
    }
    let configs: Vec<&serde_json::Value> = runs.iter().map(|r| &r.config).collect();
    let diffs = config_differences(&configs);
    if diffs.is_empty() {
        return None;
    }
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| NONE.to_string());
    if diffs.len() <= KEYS_AS_COLUMNS {
        let mut header = vec!["run".to_string()];
        header.extend(diffs.iter().map(|d| d.path.clone()));
        let rows = runs
            .iter()
            .enumerate()
            .map(|(i, run)| {
                let mut row = vec![run.label.clone()];
                row.extend(
                    diffs
                        .iter()
                        .map(|d| d.values.get(i).map_or_else(|| NONE.to_string(), cell)),
                );
                row
            })
            .collect();
        Some(Table {
            numeric: vec![false; header.len()],
            header,
            rows,
        })
    } else {
        let mut header = vec!["key".to_string()];
        header.extend(runs.iter().map(|r| r.label.clone()));
        let rows = diffs
            .iter()
            .map(|d| {
                let mut row = vec![d.path.clone()];
                row.extend(d.values.iter().map(cell));
                row
            })
            .collect();
        Some(Table {
            numeric: vec![false; header.len()],
            header,
            rows,
        })
    }
}
