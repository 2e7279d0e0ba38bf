//! Seeds grouped: runs whose configs differ only in `seed` are one variant; each variant gets
//! mean ± standard deviation per task, and the intervals mean ± std say whether two variants
//! are apart by more than seed noise (the question a sweep over seeds is run to answer).
//!
//! The interval test is deliberately simple (no t-test, no multiple-comparison correction): it
//! is what papers in this field report, and with 3–5 seeds a formal test says little more.

use std::path::Path;

use serde_json::Value;

use crate::run::Run;
use crate::table::{pct, Table, NONE};

/// Runs that share a config up to `seed`.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Name shown for the variant (the runs' common parent directory when they have one, as
    /// `polytag sweep` lays them out; else the first run's label).
    pub label: String,
    /// Indices into the runs, in the order given.
    pub members: Vec<usize>,
}

/// Mean and sample standard deviation (n − 1) of a score over a group's runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Runs that have the score.
    pub n: usize,
    /// Mean (0–1).
    pub mean: f64,
    /// Sample standard deviation; `None` for a single run.
    pub std: Option<f64>,
}

impl Stat {
    /// `None` when no value is given.
    pub fn of(values: &[f64]) -> Option<Stat> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        Some(Stat { n, mean, std })
    }

    /// `[mean − std, mean + std]` (a point for one run).
    pub fn interval(&self) -> (f64, f64) {
        let s = self.std.unwrap_or(0.0);
        (self.mean - s, self.mean + s)
    }

    /// Whether the two mean ± std intervals share a point.
    pub fn overlaps(&self, other: &Stat) -> bool {
        let (a_lo, a_hi) = self.interval();
        let (b_lo, b_hi) = other.interval();
        a_lo <= b_hi && b_lo <= a_hi
    }

    /// `85.31 ± 0.42` in %.
    pub fn render(&self) -> String {
        match self.std {
            Some(s) => format!("{} ± {}", pct(self.mean), pct(s)),
            None => pct(self.mean),
        }
    }
}

/// Groups the runs by config with `seed` removed, in first-seen order.
pub fn seed_groups(runs: &[Run]) -> Vec<Group> {
    // A dataset's `sample_seed` defaults to the run's seed: equal to it, it varies with the
    // seed and is not part of the variant.
    let key = |r: &Run| {
        let mut c = r.config.clone();
        if let Value::Object(m) = &mut c {
            let seed = m.remove("seed");
            if let Some(Value::Array(datasets)) = m.get_mut("datasets") {
                for d in datasets.iter_mut().filter_map(Value::as_object_mut) {
                    if seed.is_some() && d.get("sample_seed") == seed.as_ref() {
                        d.remove("sample_seed");
                    }
                }
            }
        }
        c
    };
    let keys: Vec<Value> = runs.iter().map(key).collect();
    let mut groups: Vec<Group> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match groups.iter_mut().find(|g| &keys[g.members[0]] == k) {
            Some(g) => g.members.push(i),
            None => groups.push(Group {
                label: String::new(),
                members: vec![i],
            }),
        }
    }
    let parents: Vec<Option<String>> = groups
        .iter()
        .map(|g| common_parent(g.members.iter().map(|&i| runs[i].dir.as_path())))
        .collect();
    for (g, parent) in groups.iter_mut().zip(&parents) {
        let unique = parent
            .as_ref()
            .is_some_and(|p| parents.iter().filter(|q| q.as_ref() == Some(p)).count() == 1);
        g.label = match parent {
            Some(p) if unique && g.members.len() > 1 => p.clone(),
            _ if g.members.len() > 1 => {
                format!("{} +{} more", runs[g.members[0]].label, g.members.len() - 1)
            }
            _ => runs[g.members[0]].label.clone(),
        };
    }
    groups
}

/// The file name of the directory all `dirs` sit in, when they share one.
fn common_parent<'a>(mut dirs: impl Iterator<Item = &'a Path>) -> Option<String> {
    let first = dirs.next()?.parent()?;
    if dirs.all(|d| d.parent() == Some(first)) {
        first.file_name().map(|n| n.to_string_lossy().into_owned())
    } else {
        None
    }
}

/// One task's scores over a group (failed runs left out): dev at each run's best dev, test
/// there.
fn task_stats(runs: &[Run], group: &Group, task: &str) -> (Option<Stat>, Option<Stat>) {
    let bests = group
        .members
        .iter()
        .filter(|&&i| runs[i].status != crate::run::Status::Failed)
        .filter_map(|&i| runs[i].tasks.iter().find(|t| t.name == task))
        .filter_map(|t| t.best.as_ref());
    let (dev, test): (Vec<f64>, Vec<Option<f64>>) = bests.map(|b| (b.dev, b.test)).unzip();
    let test: Vec<f64> = test.into_iter().flatten().collect();
    (Stat::of(&dev), Stat::of(&test))
}

/// `best`, `overlaps`, or `apart (−1.20)` (difference of means to the best, in points).
fn versus(stat: Option<Stat>, best: Option<(usize, Stat)>, me: usize) -> String {
    match (stat, best) {
        (Some(_), Some((b, _))) if b == me => "best".to_string(),
        (Some(s), Some((_, b))) if s.overlaps(&b) => "overlaps".to_string(),
        (Some(s), Some((_, b))) => format!("apart ({:+.2})", 100.0 * (s.mean - b.mean)),
        _ => NONE.to_string(),
    }
}

/// The highest mean (first on ties) among the groups that have the score.
fn best_of(stats: &[Option<Stat>]) -> Option<(usize, Stat)> {
    stats
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .fold(None, |acc: Option<(usize, Stat)>, (i, s)| match acc {
            Some((_, b)) if b.mean >= s.mean => acc,
            _ => Some((i, s)),
        })
}

/// Per task: variants × (runs, dev mean ± std, test mean ± std, each against the best mean).
/// `None` unless some variant has two or more runs (nothing to group otherwise).
pub fn grouped(runs: &[Run]) -> Option<(Vec<Group>, TaskTables)> {
    let groups = seed_groups(runs);
    if groups.iter().all(|g| g.members.len() < 2) {
        return None;
    }
    let header = [
        "variant",
        "runs",
        "dev (mean ± std)",
        "test (mean ± std)",
        "dev vs best",
        "test vs best",
    ];
    let mut tables = Vec::new();
    for task in crate::table::task_names(runs) {
        let stats: Vec<(Option<Stat>, Option<Stat>)> =
            groups.iter().map(|g| task_stats(runs, g, &task)).collect();
        let devs: Vec<Option<Stat>> = stats.iter().map(|s| s.0).collect();
        let tests: Vec<Option<Stat>> = stats.iter().map(|s| s.1).collect();
        let (best_dev, best_test) = (best_of(&devs), best_of(&tests));
        let rows = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let (dev, test) = stats[i];
                let render = |s: Option<Stat>| s.map_or_else(|| NONE.to_string(), |s| s.render());
                vec![
                    g.label.clone(),
                    dev.map_or(0, |s| s.n).to_string(),
                    render(dev),
                    render(test),
                    versus(dev, best_dev, i),
                    versus(test, best_test, i),
                ]
            })
            .collect();
        tables.push((
            task,
            Table {
                header: header.iter().map(|s| s.to_string()).collect(),
                numeric: vec![false, true, true, true, false, false],
                rows,
            },
        ));
    }
    Some((groups, tables))
}

/// One table per task, by task name.
pub type TaskTables = Vec<(String, Table)>;

/// Up to this many variants get the pairwise overlap matrix (beyond, it is unreadable).
const MATRIX_MAX: usize = 16;

/// For the reference task (the first run's, else the first task): which pairs of variants'
/// mean ± std intervals overlap, on test where every variant with a dev score has a test
/// score, else on dev.
/// Returns the task, the split used and the table; `None` when there is nothing to compare.
pub fn overlap_matrix(runs: &[Run], groups: &[Group]) -> Option<(String, &'static str, Table)> {
    if groups.len() < 2 || groups.len() > MATRIX_MAX {
        return None;
    }
    let first = &runs[groups[0].members[0]];
    let task = first
        .tasks
        .iter()
        .find(|t| t.is_ref)
        .or_else(|| first.tasks.first())?
        .name
        .clone();
    let stats: Vec<(Option<Stat>, Option<Stat>)> =
        groups.iter().map(|g| task_stats(runs, g, &task)).collect();
    let scored: Vec<&(Option<Stat>, Option<Stat>)> =
        stats.iter().filter(|s| s.0.is_some()).collect();
    if scored.len() < 2 {
        return None;
    }
    let (split, picked): (&'static str, Vec<Option<Stat>>) = if scored.iter().all(|s| s.1.is_some())
    {
        ("test", stats.iter().map(|s| s.1).collect())
    } else {
        ("dev", stats.iter().map(|s| s.0).collect())
    };
    let mut header = vec!["variant".to_string()];
    header.extend((1..=groups.len()).map(|i| format!("#{i}")));
    let rows = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut row = vec![format!("#{} {}", i + 1, g.label)];
            row.extend((0..groups.len()).map(|j| match (picked[i], picked[j]) {
                _ if i == j => NONE.to_string(),
                (Some(a), Some(b)) if a.overlaps(&b) => "overlap".to_string(),
                (Some(_), Some(_)) => "apart".to_string(),
                _ => NONE.to_string(),
            }));
            row
        })
        .collect();
    Some((
        task,
        split,
        Table {
            numeric: vec![false; header.len()],
            header,
            rows,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::write_scored_run;
    use crate::load_runs;

    #[test]
    fn stat_matches_hand_computation() {
        // Mean 2, squared deviations 1 + 0 + 1 = 2, sample variance 2 / 2 = 1.
        let s = Stat::of(&[1.0, 2.0, 3.0]).expect("values");
        assert_eq!((s.n, s.mean, s.std), (3, 2.0, Some(1.0)));
        assert_eq!(s.interval(), (1.0, 3.0));
        assert_eq!(Stat::of(&[0.5]).expect("one").std, None);
        assert!(Stat::of(&[]).is_none());
        let a = Stat::of(&[0.80, 0.82]).expect("a"); // 0.81 ± 0.01414
        let b = Stat::of(&[0.84, 0.86]).expect("b"); // 0.85 ± 0.01414
        let c = Stat::of(&[0.82, 0.84]).expect("c"); // 0.83 ± 0.01414
        assert!(!a.overlaps(&b) && !b.overlaps(&a));
        assert!(a.overlaps(&c) && c.overlaps(&b));
        assert_eq!(a.render(), "81.00 ± 1.41");
    }

    #[test]
    fn seeds_are_grouped_by_config_and_parent_directory() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        // Variant "lr-0.1": dev 0.80, 0.82 → 81.00 ± 1.41; test 0.70, 0.74 → 72.00 ± 2.83.
        // Variant "lr-0.2": dev 0.86, 0.90 → 88.00 ± 2.83; test 0.80, 0.80 → 80.00 ± 0.00.
        // A lone run with another lr: a group of one.
        let dirs = vec![
            write_scored_run(&root.join("lr-0.1"), "seed-1", 1, 0.1, 0.80, 0.70),
            write_scored_run(&root.join("lr-0.2"), "seed-1", 1, 0.2, 0.86, 0.80),
            write_scored_run(&root.join("lr-0.1"), "seed-2", 2, 0.1, 0.82, 0.74),
            write_scored_run(&root.join("lr-0.2"), "seed-2", 2, 0.2, 0.90, 0.80),
            write_scored_run(&root.join("other"), "seed-1", 1, 0.3, 0.83, 0.75),
        ];
        let runs = load_runs(&dirs).expect("runs");
        let (groups, tables) = grouped(&runs).expect("groups of two");
        let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["lr-0.1", "lr-0.2", "other/seed-1"]);
        assert_eq!(groups[0].members, [0, 2]);
        assert_eq!(groups[1].members, [1, 3]);
        let (task, t) = &tables[0];
        assert_eq!(task, "ner");
        assert_eq!(
            t.rows[0],
            [
                "lr-0.1",
                "2",
                "81.00 ± 1.41",
                "72.00 ± 2.83",
                "apart (-7.00)",
                "apart (-8.00)"
            ]
        );
        assert_eq!(
            t.rows[1],
            [
                "lr-0.2",
                "2",
                "88.00 ± 2.83",
                "80.00 ± 0.00",
                "best",
                "best"
            ]
        );
        // 0.83 is outside [0.8517, 0.9083] (dev) and 0.75 outside [0.80, 0.80] (test): apart.
        assert_eq!(
            t.rows[2],
            [
                "other/seed-1",
                "1",
                "83.00",
                "75.00",
                "apart (-5.00)",
                "apart (-5.00)"
            ]
        );
        let (task, split, m) = overlap_matrix(&runs, &groups).expect("matrix");
        assert_eq!((task.as_str(), split), ("ner", "test"));
        assert_eq!(m.header, ["variant", "#1", "#2", "#3"]);
        // Test intervals: [0.6917, 0.7483], [0.80, 0.80], [0.75, 0.75].
        assert_eq!(m.rows[0], ["#1 lr-0.1", "–", "apart", "apart"]);
        assert_eq!(m.rows[2], ["#3 other/seed-1", "apart", "apart", "–"]);
    }

    #[test]
    fn overlapping_variants_are_called_so() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        let dirs = vec![
            write_scored_run(&root.join("a"), "s1", 1, 0.1, 0.80, 0.70),
            write_scored_run(&root.join("a"), "s2", 2, 0.1, 0.84, 0.74),
            write_scored_run(&root.join("b"), "s1", 1, 0.2, 0.83, 0.73),
            write_scored_run(&root.join("b"), "s2", 2, 0.2, 0.85, 0.75),
        ];
        let runs = load_runs(&dirs).expect("runs");
        let (groups, tables) = grouped(&runs).expect("groups");
        // a: dev 0.82 ± 0.0283 = [0.7917, 0.8483]; b: 0.84 ± 0.0141 = [0.8259, 0.8541].
        assert_eq!(tables[0].1.rows[0][4], "overlaps");
        let (_, _, m) = overlap_matrix(&runs, &groups).expect("matrix");
        assert_eq!(m.rows[0], ["#1 a", "–", "overlap"]);
    }

    #[test]
    fn nothing_to_group_without_repeated_configs() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dirs = vec![
            write_scored_run(tmp.path(), "x", 1, 0.1, 0.8, 0.7),
            write_scored_run(tmp.path(), "y", 1, 0.2, 0.8, 0.7),
        ];
        assert!(grouped(&load_runs(&dirs).expect("runs")).is_none());
    }

    #[test]
    fn failed_runs_stay_out_of_the_statistics() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        let dirs = vec![
            write_scored_run(&root.join("a"), "s1", 1, 0.1, 0.80, 0.70),
            write_scored_run(&root.join("a"), "s2", 2, 0.1, 0.84, 0.74),
            write_scored_run(&root.join("a"), "s3", 3, 0.1, 0.10, 0.10),
        ];
        let mut runs = load_runs(&dirs).expect("runs");
        runs[2].mark_failed("the training loss is NaN");
        let (groups, tables) = grouped(&runs).expect("groups");
        assert_eq!(groups[0].members, [0, 1, 2]);
        assert_eq!(
            tables[0].1.rows[0][..4],
            ["a", "2", "82.00 ± 2.83", "72.00 ± 2.83"]
        );
        assert_eq!(
            crate::table::status(&runs[2]),
            "failed: the training loss is NaN"
        );
        assert!(crate::markdown(&runs).contains("1 failed (left out of the seed groups)."));
    }
}
