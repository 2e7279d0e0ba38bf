//! One run directory read back: `config.json`, `metrics.jsonl` and, once finished,
//! `report.json` (design.md §6). The records are polytag-run's, the types the trainer writes
//! ([`MetricsRecord`], and [`RunReportSummary`], the lenient reading of its `RunReport`);
//! polytag-run links no burn, so a report builds and runs in seconds.

use std::path::{Path, PathBuf};

use polytag_run::{MetricsRecord, RunReportSummary};
use serde_json::Value;

use crate::error::{Error, Result};

/// Whether the run has written its final `report.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `report.json` exists.
    Finished,
    /// No `report.json` yet, and a live process holds the run's lock: training is under way.
    Running,
    /// No `report.json`, and no live process trains it (killed, or its machine went down):
    /// `train --resume` continues it.
    Stopped,
    /// Known to have failed (a sweep recorded it; see [`Run::failure`]).
    Failed,
}

/// One evaluation point of a task's learning curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Global training step of the evaluation.
    pub step: u64,
    /// Dev score (0–1), when the dev split was evaluated at this step.
    pub dev: Option<f64>,
    /// Mean training loss since the previous evaluation, when the task trained in between.
    pub loss: Option<f64>,
}

/// Precision, recall and F1 (0–1) of one entity type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeScore {
    /// Entity type (`PER`, `LOC`, …).
    pub name: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// The task's own best dev evaluation (earliest step on ties) and the test score there.
#[derive(Debug, Clone, PartialEq)]
pub struct Best {
    /// Step of the best dev score.
    pub step: u64,
    /// Best dev score (0–1).
    pub dev: f64,
    /// Test score at that step, when test was evaluated there.
    pub test: Option<f64>,
    /// Dev per-type scores at that step (empty for accuracy tasks).
    pub dev_per_type: Vec<TypeScore>,
    /// Test per-type scores at that step.
    pub test_per_type: Vec<TypeScore>,
}

/// One task of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRun {
    /// The task's name in the config (`Dutch NER`).
    pub name: String,
    /// Whether it is the experiment's reference task (selects the checkpoint).
    pub is_ref: bool,
    /// Best dev evaluation so far; `None` when the task was never evaluated on dev.
    pub best: Option<Best>,
    /// Parameters used by this task's tagger (from `report.json`).
    pub params: Option<u64>,
    /// Learning curve, by step.
    pub curve: Vec<Point>,
}

/// One run directory, read.
#[derive(Debug, Clone)]
pub struct Run {
    /// The directory as given.
    pub dir: PathBuf,
    /// Short unique name among the compared runs (set by [`crate::load_runs`]).
    pub label: String,
    /// The experiment's `name`.
    pub experiment: String,
    /// Finished or still running.
    pub status: Status,
    /// The resolved config (`config.json`).
    pub config: Value,
    /// Tasks in config order, then any found only in `metrics.jsonl`.
    pub tasks: Vec<TaskRun>,
    /// Last evaluated step.
    pub last_step: Option<u64>,
    /// `training.max_step` of the config.
    pub max_step: Option<u64>,
    /// Wall time: `report.json`'s, or the last evaluation's while running.
    pub wall_time_s: Option<f64>,
    /// Training throughput (finished runs only).
    pub tokens_per_s: Option<f64>,
    /// Total parameters (finished runs only).
    pub params: Option<u64>,
    /// Why the run failed, when [`Run::mark_failed`] said so.
    pub failure: Option<String>,
}

impl Run {
    /// Marks a run that will not finish (its trainer exited with an error, as a sweep's
    /// `state.json` records): shown as failed, left out of seed groups.
    pub fn mark_failed(&mut self, error: impl Into<String>) {
        self.status = Status::Failed;
        self.failure = Some(error.into());
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn json_err(path: &Path, line: Option<usize>, e: &serde_json::Error) -> Error {
    Error::Json {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    }
}

impl Run {
    /// Reads the run in `dir`. The label is the directory name; [`crate::load_runs`]
    /// lengthens it where two runs share one.
    pub fn load(dir: &Path) -> Result<Run> {
        if !dir.is_dir() {
            return Err(Error::NotADir {
                dir: dir.to_path_buf(),
            });
        }
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(Error::NoConfig {
                dir: dir.to_path_buf(),
            });
        }
        let config: Value = serde_json::from_str(&read(&config_path)?)
            .map_err(|e| json_err(&config_path, None, &e))?;

        let report_path = dir.join("report.json");
        let report: Option<RunReportSummary> = if report_path.is_file() {
            Some(
                serde_json::from_str(&read(&report_path)?)
                    .map_err(|e| json_err(&report_path, None, &e))?,
            )
        } else {
            None
        };
        let status = if report.is_some() {
            Status::Finished
        } else if polytag_run::lock::holder(dir).is_some() {
            Status::Running
        } else {
            Status::Stopped
        };

        let metrics_path = dir.join("metrics.jsonl");
        let records = if metrics_path.is_file() {
            parse_metrics(&metrics_path, &read(&metrics_path)?, status)?
        } else {
            Vec::new()
        };

        let mut tasks: Vec<TaskRun> = config
            .get("tasks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some(TaskRun {
                    name: t.get("name")?.as_str()?.to_string(),
                    is_ref: t.get("ref").and_then(Value::as_bool).unwrap_or(false),
                    best: None,
                    params: None,
                    curve: Vec::new(),
                })
            })
            .collect();
        for r in &records {
            if !tasks.iter().any(|t| t.name == r.task) {
                tasks.push(TaskRun {
                    name: r.task.clone(),
                    is_ref: false,
                    best: None,
                    params: None,
                    curve: Vec::new(),
                });
            }
        }
        for task in &mut tasks {
            fill_task(task, &records);
            if let Some(rep) = &report {
                task.params = rep
                    .tasks
                    .iter()
                    .find(|t| t.name == task.name)
                    .and_then(|t| t.params);
            }
        }

        let last = records.iter().max_by_key(|r| r.step);
        Ok(Run {
            dir: dir.to_path_buf(),
            label: dir_name(dir, 1),
            experiment: config
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            status,
            max_step: config.pointer("/training/max_step").and_then(Value::as_u64),
            config,
            tasks,
            last_step: last.map(|r| r.step),
            wall_time_s: report
                .as_ref()
                .and_then(|r| r.wall_time_s)
                .or_else(|| last.map(|r| r.wall_time_s).filter(|t| !t.is_nan())),
            tokens_per_s: report.as_ref().and_then(|r| r.tokens_per_s),
            params: report.as_ref().and_then(|r| r.params),
            failure: None,
        })
    }
}

/// Parses `metrics.jsonl`. While a run is in progress its last line may be half-appended:
/// an unparsable last line without a newline is then skipped, not an error.
fn parse_metrics(path: &Path, text: &str, status: Status) -> Result<Vec<MetricsRecord>> {
    let mut out = Vec::new();
    let n_lines = text.lines().count();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<MetricsRecord>(line) {
            Ok(r) => out.push(r),
            Err(_) if status != Status::Finished && i + 1 == n_lines && !text.ends_with('\n') => {}
            Err(e) => return Err(json_err(path, Some(i + 1), &e)),
        }
    }
    Ok(out)
}

fn fill_task(task: &mut TaskRun, records: &[MetricsRecord]) {
    let mine: Vec<&MetricsRecord> = records.iter().filter(|r| r.task == task.name).collect();
    let mut best: Option<&MetricsRecord> = None;
    // A NaN score (written as `null`) is no evaluation to select.
    for r in mine
        .iter()
        .filter(|r| r.split == "dev" && !r.score.is_nan())
    {
        if best.is_none_or(|b| r.score > b.score) {
            best = Some(r);
        }
    }
    task.best = best.map(|b| {
        let test = mine.iter().find(|r| r.split == "test" && r.step == b.step);
        Best {
            step: b.step,
            dev: b.score,
            test: test.map(|t| t.score),
            dev_per_type: per_type(&b.metrics),
            test_per_type: test.map(|t| per_type(&t.metrics)).unwrap_or_default(),
        }
    });
    let mut steps: Vec<u64> = mine.iter().map(|r| r.step).collect();
    steps.sort_unstable();
    steps.dedup();
    task.curve = steps
        .into_iter()
        .map(|step| {
            let at = || mine.iter().filter(move |r| r.step == step);
            Point {
                step,
                dev: at().find(|r| r.split == "dev").map(|r| r.score),
                loss: at().find_map(|r| r.metrics.get("train_loss").and_then(Value::as_f64)),
            }
        })
        .collect();
}

fn per_type(metrics: &serde_json::Map<String, Value>) -> Vec<TypeScore> {
    let Some(types) = metrics.get("per_type").and_then(Value::as_object) else {
        return Vec::new();
    };
    types
        .iter()
        .map(|(name, m)| {
            let f = |k: &str| m.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            TypeScore {
                name: name.clone(),
                precision: f("precision"),
                recall: f("recall"),
                f1: f("f1"),
            }
        })
        .collect()
}

/// The last `n` components of `dir` (`real/multi-s1`), `/`-joined.
pub(crate) fn dir_name(dir: &Path, n: usize) -> String {
    let parts: Vec<String> = dir
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let start = parts.len().saturating_sub(n);
    match parts.get(start..) {
        Some(tail) if !tail.is_empty() => tail.join("/"),
        _ => dir.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::write_run;

    #[test]
    fn finished_run_reads_best_dev_and_test_there() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let run = Run::load(&write_run(tmp.path(), "r", 1, 0.1, 3, true)).expect("loads");
        assert_eq!(run.status, Status::Finished);
        assert_eq!(run.experiment, "synthetic");
        assert_eq!((run.last_step, run.max_step), (Some(30), Some(30)));
        assert_eq!((run.wall_time_s, run.params), (Some(50.0), Some(1000)));
        let ner = &run.tasks[0];
        assert!(ner.is_ref);
        let best = ner.best.as_ref().expect("evaluated");
        assert_eq!((best.step, best.dev, best.test), (20, 0.7, Some(0.65)));
        assert_eq!(best.dev_per_type.len(), 2);
        assert_eq!(ner.curve.len(), 3);
        assert_eq!(
            ner.curve[2],
            Point {
                step: 30,
                dev: Some(0.6),
                loss: Some(1.0)
            }
        );
        // Ties keep the earliest step.
        assert_eq!(run.tasks[1].best.as_ref().map(|b| b.step), Some(20));
    }

    #[test]
    fn half_written_last_line_of_a_running_run_is_skipped() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = write_run(tmp.path(), "r", 1, 0.1, 1, false);
        hold_lock(&dir);
        let path = dir.join("metrics.jsonl");
        let mut text = std::fs::read_to_string(&path).expect("written");
        text.push_str("{\"step\":20,\"task\":\"ner\",\"spl");
        std::fs::write(&path, text).expect("temp file");
        let run = Run::load(&dir).expect("loads");
        assert_eq!((run.status, run.last_step), (Status::Running, Some(10)));
        // Once finished, the same line is an error naming file and line.
        std::fs::write(dir.join("report.json"), "{}").expect("temp file");
        let err = Run::load(&dir).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:4: invalid run file: ", path.display())),
            "{err}"
        );
    }

    #[test]
    fn run_without_metrics_is_running_with_no_evaluation() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = write_run(tmp.path(), "r", 1, 0.1, 0, false);
        hold_lock(&dir);
        std::fs::remove_file(dir.join("metrics.jsonl")).expect("exists");
        let run = Run::load(&dir).expect("loads");
        assert_eq!(crate::table::status(&run), "running (no evaluation yet)");
        assert!(run.tasks.iter().all(|t| t.best.is_none()));
    }

    /// A lock naming this (live) test process: the run reads as being trained.
    fn hold_lock(dir: &Path) {
        std::fs::write(dir.join("lock"), format!("{}\n", std::process::id())).expect("temp");
    }

    #[test]
    fn unfinished_run_whose_process_is_gone_is_stopped() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = write_run(tmp.path(), "r", 1, 0.1, 1, false);
        // No lock at all, then the lock of a process that has ended.
        std::fs::remove_file(dir.join("lock")).expect("written");
        assert_eq!(Run::load(&dir).expect("loads").status, Status::Stopped);
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let dead = child.id();
        child.wait().expect("waited");
        std::fs::write(dir.join("lock"), format!("{dead}\n")).expect("temp");
        let run = Run::load(&dir).expect("loads");
        assert_eq!(run.status, Status::Stopped);
        assert_eq!(
            crate::table::status(&run),
            "stopped at step 10 (resume with polytag train --resume)"
        );
        hold_lock(&dir);
        assert_eq!(Run::load(&dir).expect("loads").status, Status::Running);
    }

    #[test]
    fn bad_directories_give_one_line_naming_them() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let missing = tmp.path().join("nope");
        let err = Run::load(&missing).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: not a run directory (no such directory)",
                missing.display()
            )
        );
        let err = Run::load(tmp.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: not a run directory (no config.json)",
                tmp.path().display()
            )
        );
        std::fs::write(tmp.path().join("config.json"), "{nope").expect("temp file");
        let err = Run::load(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("config.json: invalid run file: "), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
