//! `metrics.jsonl`: one JSON line per evaluation per task and split (design.md §4, §6).
//!
//! Appends are whole lines written in one call and synced, so a killed run leaves at worst a
//! torn *last* line: readers ignore everything after the last newline, and [`MetricsLog::open`]
//! cuts it off before appending so the next record does not glue onto it. A resumed run restarts
//! from its last checkpoint and would log again the evaluations made after it;
//! [`MetricsLog::open_for_resume`] drops those first, so the file reads as one uninterrupted run.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// One line of `metrics.jsonl`: one task on one split at one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    /// Global step of the evaluation.
    pub step: u64,
    /// Task name.
    pub task: String,
    /// `train`, `dev`, `test`, or the name of an extra evaluation file.
    pub split: String,
    /// The task's headline score (span F1 for NER, accuracy for POS), a fraction in [0, 1].
    /// NaN is written as `null` and read back as NaN.
    #[serde(deserialize_with = "nan_from_null")]
    pub score: f64,
    /// Everything else the evaluator reports (precision, recall, per-type tables, counts).
    #[serde(default)]
    pub metrics: serde_json::Map<String, serde_json::Value>,
    /// The task's learning rate at this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    /// The task's own step counter at this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_step: Option<u64>,
    /// Mean loss on this split, when computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Seconds since the run started (training time, resumed runs included). Always written;
    /// a line without it (written by hand) reads as NaN, "unknown".
    #[serde(default = "unknown")]
    pub wall_time_s: f64,
}

fn unknown() -> f64 {
    f64::NAN
}

/// JSON has no NaN: serde_json writes it as `null`; read `null` back as NaN.
fn nan_from_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// An open `metrics.jsonl`, appending.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens (creating if needed) for appending; a torn last line is cut off first.
    pub fn open(path: &Path) -> Result<Self> {
        let write_err = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(write_err)?;
        let bytes = fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let complete = complete_len(&bytes);
        if complete < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                dropped = bytes.len() - complete,
                "metrics log ends in a torn line (killed run); dropping it"
            );
            file.set_len(complete as u64).map_err(write_err)?;
        }
        Ok(MetricsLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Opens for a run resumed from a checkpoint taken at global step `last_step`: records of
    /// later steps (logged by the killed run after that checkpoint) are removed atomically.
    pub fn open_for_resume(path: &Path, last_step: u64) -> Result<Self> {
        if path.exists() {
            let bytes = fs::read(path).map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let mut kept = Vec::with_capacity(bytes.len());
            for (line_idx, line) in complete_lines(&bytes) {
                #[derive(Deserialize)]
                struct Step {
                    step: u64,
                }
                let record: Step =
                    serde_json::from_slice(line).map_err(|source| Error::MetricsLine {
                        path: path.to_path_buf(),
                        line: line_idx + 1,
                        source,
                    })?;
                if record.step <= last_step {
                    kept.extend_from_slice(line);
                    kept.push(b'\n');
                }
            }
            write_atomic(path, &kept)?;
        }
        MetricsLog::open(path)
    }

    /// Appends one record as one line, then flushes and syncs it.
    pub fn append<T: Serialize>(&mut self, record: &T) -> Result<()> {
        self.append_all(std::iter::once(record))
    }

    /// Appends several records (all tasks and splits of one evaluation) with one write and one
    /// sync: a sync costs milliseconds on a disk, a line microseconds.
    pub fn append_all<'a, T, I>(&mut self, records: I) -> Result<()>
    where
        T: Serialize + 'a,
        I: IntoIterator<Item = &'a T>,
    {
        let mut lines = Vec::new();
        for record in records {
            serde_json::to_writer(&mut lines, record).map_err(|source| Error::MetricsEncode {
                path: self.path.clone(),
                source,
            })?;
            lines.push(b'\n');
        }
        let write_err = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&lines).map_err(write_err)?;
        self.file.flush().map_err(write_err)?;
        self.file.sync_data().map_err(write_err)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every complete line as a `T` (usually [`MetricsRecord`]); a torn last line is
    /// ignored, an invalid complete line is an error naming its line number.
    pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
        let bytes = fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        complete_lines(&bytes)
            .map(|(line_idx, line)| {
                serde_json::from_slice(line).map_err(|source| Error::MetricsLine {
                    path: path.to_path_buf(),
                    line: line_idx + 1,
                    source,
                })
            })
            .collect()
    }
}

/// Bytes up to and including the last newline.
fn complete_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |pos| pos + 1)
}

/// Non-blank complete lines with their 0-based line index.
fn complete_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    // `complete_len` ≤ `bytes.len()`.
    bytes[..complete_len(bytes)]
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: u64, task: &str, split: &str, score: f64) -> MetricsRecord {
        let mut metrics = serde_json::Map::new();
        metrics.insert("precision".into(), serde_json::json!(0.5));
        MetricsRecord {
            step,
            task: task.to_string(),
            split: split.to_string(),
            score,
            metrics,
            learning_rate: Some(0.02),
            task_step: Some(step / 2),
            loss: None,
            wall_time_s: 1.5,
        }
    }

    #[test]
    fn appends_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = MetricsLog::open(&path).unwrap();
        let a = record(100, "nl_ner", "dev", 0.5);
        let b = record(100, "nl_ner", "test", 0.25);
        log.append(&a).unwrap();
        log.append_all([&b]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with(
            r#"{"step":100,"task":"nl_ner","split":"dev","score":0.5,"metrics":{"precision":0.5},"learning_rate":0.02,"task_step":50,"wall_time_s":1.5}"#
        ));
        let read: Vec<MetricsRecord> = MetricsLog::read(&path).unwrap();
        assert_eq!(read, [a, b]);
    }

    /// A killed run left half a line: readers skip it, reopening cuts it before appending.
    #[test]
    fn torn_last_line_is_ignored_then_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let a = record(1, "t", "dev", 0.1);
        let mut text = serde_json::to_string(&a).unwrap();
        text.push('\n');
        text.push_str(r#"{"step":2,"task":"t","spl"#);
        fs::write(&path, &text).unwrap();
        let read: Vec<MetricsRecord> = MetricsLog::read(&path).unwrap();
        assert_eq!(read, std::slice::from_ref(&a));

        let b = record(3, "t", "dev", 0.3);
        MetricsLog::open(&path).unwrap().append(&b).unwrap();
        let read: Vec<MetricsRecord> = MetricsLog::read(&path).unwrap();
        assert_eq!(read, [a, b]);
    }

    #[test]
    fn invalid_complete_line_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let good = serde_json::to_string(&record(1, "t", "dev", 0.1)).unwrap();
        fs::write(&path, format!("{good}\n\nnot json\n{good}\n")).unwrap();
        let err = MetricsLog::read::<MetricsRecord>(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}:3: invalid metrics record", path.display())
        );
    }

    #[test]
    fn resume_drops_records_after_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = MetricsLog::open(&path).unwrap();
        for step in [100, 200, 300] {
            log.append(&record(step, "t", "dev", 0.1)).unwrap();
        }
        drop(log);
        let mut log = MetricsLog::open_for_resume(&path, 200).unwrap();
        log.append(&record(300, "t", "dev", 0.2)).unwrap();
        let steps: Vec<(u64, f64)> = MetricsLog::read::<MetricsRecord>(&path)
            .unwrap()
            .iter()
            .map(|r| (r.step, r.score))
            .collect();
        assert_eq!(steps, [(100, 0.1), (200, 0.1), (300, 0.2)]);
    }

    #[test]
    fn nan_score_round_trips_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        MetricsLog::open(&path)
            .unwrap()
            .append(&record(1, "t", "dev", f64::NAN))
            .unwrap();
        assert!(fs::read_to_string(&path)
            .unwrap()
            .contains(r#""score":null"#));
        let read: Vec<MetricsRecord> = MetricsLog::read(&path).unwrap();
        assert!(read[0].score.is_nan());
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        assert!(matches!(
            MetricsLog::read::<MetricsRecord>(&path),
            Err(Error::Read { .. })
        ));
    }
}
