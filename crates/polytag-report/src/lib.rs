//! Compares polytag run directories (`polytag report RUN_DIR…`).
//!
//! Receives run directories as the trainer leaves them (design.md §6: `config.json`,
//! `metrics.jsonl`, `report.json` once finished) and hands on text: a Markdown report for
//! papers and issues, or one self-contained HTML file that adds learning curves as inline SVG.
//! It reads the files as JSON and links no burn, so it builds and runs in seconds.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("config.json"), r#"{"name": "x", "tasks": [{"name": "ner"}]}"#)?;
//! std::fs::write(
//!     dir.path().join("metrics.jsonl"),
//!     "{\"step\":10,\"task\":\"ner\",\"split\":\"dev\",\"score\":0.5,\"metrics\":{\"train_loss\":2.0}}\n",
//! )?;
//! // No report.json and no live process holding its `lock`: the run was stopped.
//! let runs = polytag_report::load_runs(&[dir.path().to_path_buf()])?;
//! assert!(polytag_report::markdown(&runs).contains("stopped at step 10"));
//! assert_eq!(polytag_report::html(&runs).matches("<svg").count(), 1);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod curve;
mod diff;
mod error;
mod group;
mod html;
mod markdown;
mod run;
mod table;

pub use diff::{config_differences, Difference};
pub use error::{Error, Result};
pub use group::{seed_groups, Group, Stat};
pub use html::html;
pub use markdown::markdown;
pub use run::{Best, Point, Run, Status, TaskRun, TypeScore};

use std::path::PathBuf;

/// Reads every run directory (in the order given) and gives each a short unique label: the
/// directory name, lengthened by parent components where two runs would share it.
pub fn load_runs(dirs: &[PathBuf]) -> Result<Vec<Run>> {
    if dirs.is_empty() {
        return Err(Error::NoRuns);
    }
    let mut runs = dirs
        .iter()
        .map(|d| Run::load(d))
        .collect::<Result<Vec<Run>>>()?;
    let mut depth = 1;
    loop {
        let labels: Vec<String> = runs.iter().map(|r| run::dir_name(&r.dir, depth)).collect();
        let unique = labels
            .iter()
            .enumerate()
            .all(|(i, l)| !labels[..i].contains(l));
        // Depth 16 ends the search for identical paths given twice.
        if unique || depth >= 16 {
            for (run, label) in runs.iter_mut().zip(labels) {
                run.label = label;
            }
            break;
        }
        depth += 1;
    }
    Ok(runs)
}

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::write_run;

    fn two_runs() -> (tempfile::TempDir, Vec<Run>) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let a = write_run(tmp.path(), "a", 1, 0.02, 3, true);
        let b = write_run(tmp.path(), "b", 2, 0.01, 2, false);
        let runs = load_runs(&[a, b]).expect("runs load");
        (tmp, runs)
    }

    #[test]
    fn markdown_has_summary_per_type_and_diff() {
        let (_tmp, runs) = two_runs();
        let md = markdown(&runs);
        // Run a, ner: best dev 0.70 at step 20, test there 0.65; wall 50 s, 1234 tok/s, 600 params.
        assert!(
            md.contains("| a | done | ner (ref) | 70.00 | 65.00 | 20 | 50.0 s | 1234 | 600 |"),
            "{md}"
        );
        // pos: 0.90 first reached at step 20; no test split evaluated.
        assert!(
            md.contains("| a | done | pos | 90.00 | – | 20 | 50.0 s | 1234 | 500 |"),
            "{md}"
        );
        // Run b stopped after two evaluations (step 20, wall 1.5 * 20 = 30 s): running.
        assert!(
            md.contains(
                "| b | running (step 20 of 30) | ner (ref) | 70.00 | 65.00 | 20 | 30.0 s | – | – |"
            ),
            "{md}"
        );
        assert!(md.contains("## ner — per type"));
        assert!(
            !md.contains("## pos — per type"),
            "accuracy task has no types"
        );
        // LOC: P 1, R 0.5, F1 2/3; PER at step 20: 0.70 everywhere (test 0.65).
        assert!(
            md.contains("| a | LOC | 100.00 | 50.00 | 66.67 | 100.00 | 50.00 | 66.67 |"),
            "{md}"
        );
        assert!(
            md.contains("| a | PER | 70.00 | 70.00 | 70.00 | 65.00 | 65.00 | 65.00 |"),
            "{md}"
        );
        assert!(
            md.contains("## Config differences\n\n| run | seed | tasks[ner].learning_rate |"),
            "{md}"
        );
        assert!(md.contains("| a | 1 | 0.02 |\n| b | 2 | 0.01 |"), "{md}");
        assert!(md.contains("1 still running"));
    }

    #[test]
    fn html_is_self_contained_with_one_svg_per_task() {
        let (_tmp, runs) = two_runs();
        let h = html(&runs);
        assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
        assert_eq!(
            h.matches("<table").count(),
            3,
            "summary, ner per type, config diff"
        );
        assert_eq!(h.matches("<svg").count(), 2, "ner and pos curves");
        assert_eq!(h.matches("</svg>").count(), 2);
        // Two panels (dev, loss) × two runs.
        assert_eq!(h.matches("<polyline").count(), 8);
        assert!(h.contains("<th>seed</th><th>tasks[ner].learning_rate</th>"));
        assert!(h.contains("<tr class=\"running\"><td>b</td><td>running (step 20 of 30)</td>"));
        for banned in ["<script", "http://", "https://", "<link"] {
            let hits = h.matches(banned).count();
            // The only URL allowed is the SVG namespace (an identifier, never fetched).
            let ns = h.matches("http://www.w3.org/2000/svg").count();
            assert_eq!(hits, if banned == "http://" { ns } else { 0 }, "{banned}");
        }
    }

    #[test]
    fn labels_are_lengthened_until_unique() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let a = write_run(&tmp.path().join("x"), "run", 1, 0.1, 1, true);
        let b = write_run(&tmp.path().join("y"), "run", 1, 0.1, 1, true);
        let runs = load_runs(&[a, b]).expect("runs load");
        assert_eq!(runs[0].label, "x/run");
        assert_eq!(runs[1].label, "y/run");
        assert!(table::config_diff(&runs).is_none(), "identical configs");
    }

    #[test]
    fn fifty_runs_render_well_under_a_second() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dirs: Vec<PathBuf> = (0..50)
            .map(|i| {
                write_run(
                    tmp.path(),
                    &format!("r{i}"),
                    i,
                    0.01 * i as f64,
                    3,
                    i % 5 != 0,
                )
            })
            .collect();
        let start = std::time::Instant::now();
        let runs = load_runs(&dirs).expect("runs load");
        let md = markdown(&runs);
        let h = html(&runs);
        let took = start.elapsed();
        #[allow(clippy::print_stderr)] // the measurement is the point of this test
        {
            eprintln!(
                "50 runs: load + markdown + html in {took:?} ({} + {} bytes)",
                md.len(),
                h.len()
            );
        }
        assert_eq!(h.matches("<svg").count(), 2);
        // Runs 10-19 and 40-49 dashed, 20-29 dotted (two panels per task, two tasks).
        assert_eq!(h.matches(r#"stroke-dasharray="6 3""#).count(), 20 * 4);
        assert_eq!(h.matches(r#"stroke-dasharray="1.5 2.5""#).count(), 10 * 4);
        assert_eq!(h.matches("border-top:3px dashed").count(), 20);
        assert!(took.as_secs_f64() < 1.0, "{took:?}");
    }

    #[test]
    fn no_runs_is_an_error() {
        assert_eq!(
            load_runs(&[]).unwrap_err().to_string(),
            "no run directories given"
        );
    }
}
