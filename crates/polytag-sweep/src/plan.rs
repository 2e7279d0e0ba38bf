//! The expansion of configs × grid × seeds into runs, kept as `sweep.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{write_atomic, Error, Result};
use crate::grid::Axis;

/// The plan's file in the sweep directory.
pub const PLAN_FILE: &str = "sweep.json";

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanSpec {
    /// Experiment files; more than one adds a `config` axis.
    pub configs: Vec<PathBuf>,
    /// `--set` overrides applied to every run (before the grid's).
    pub sets: Vec<String>,
    /// `--grid` axes, the first varying slowest.
    pub axes: Vec<Axis>,
    /// `--seeds`; empty: each variant runs once with its config's own seed.
    pub seeds: Vec<u64>,
}

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// The variant (grid point) it belongs to, e.g. `v3-model=gru,lr_schedule=cosine`; runs
    /// of one variant differ only in seed.
    pub variant: String,
    /// The experiment file (absolute when the plan was made from an existing file).
    pub config: PathBuf,
    /// Every `--set`, in the order applied: the sweep's own, the grid's, then `seed=N`.
    pub sets: Vec<String>,
    /// The seed set by `--seeds`, if any.
    pub seed: Option<u64>,
    /// Run directory, relative to the sweep directory.
    pub dir: PathBuf,
}

/// The whole sweep, as written to `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Experiment files.
    pub configs: Vec<PathBuf>,
    /// Overrides shared by all runs.
    pub sets: Vec<String>,
    /// Grid axes.
    pub axes: Vec<Axis>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// The runs, seed-major (every variant's first seed comes before any second seed, so a
    /// sweep stopped half-way has seen every variant).
    pub runs: Vec<PlannedRun>,
}

impl Plan {
    /// Expands the spec. Config paths are made absolute when the files exist (a plan must
    /// work from any directory: a resumed sweep, a Slurm node).
    pub fn new(spec: PlanSpec) -> Result<Plan> {
        if spec.configs.is_empty() {
            return Err(Error::Plan("give at least one experiment file".into()));
        }
        for (i, s) in spec.seeds.iter().enumerate() {
            if spec.seeds[..i].contains(s) {
                return Err(Error::Plan(format!("--seeds: seed {s} is given twice")));
            }
        }
        for (i, a) in spec.axes.iter().enumerate() {
            if spec.axes[..i].iter().any(|b| b.segments() == a.segments()) {
                return Err(Error::Plan(format!(
                    "--grid {}: the key is given by two --grid flags",
                    a.key
                )));
            }
        }
        let configs: Vec<PathBuf> = spec
            .configs
            .iter()
            .map(|c| std::path::absolute(c).unwrap_or_else(|_| c.clone()))
            .collect();
        let stems = config_names(&configs);
        let short = short_keys(&spec.axes);

        // Variants: configs (slowest) × axes (the last axis fastest), as (config index,
        // value index per axis): point n of a config is n written in mixed radix.
        let per_config: usize = spec.axes.iter().map(|a| a.values.len()).product();
        let points: Vec<(usize, Vec<usize>)> = (0..configs.len())
            .flat_map(|c| {
                let axes = &spec.axes;
                (0..per_config).map(move |mut n| {
                    let mut idx = vec![0; axes.len()];
                    for k in (0..axes.len()).rev() {
                        idx[k] = n % axes[k].values.len();
                        n /= axes[k].values.len();
                    }
                    (c, idx)
                })
            })
            .collect();
        let width = (points.len().max(1) - 1).to_string().len();
        let variants: Vec<(String, usize, Vec<String>)> = points
            .iter()
            .enumerate()
            .map(|(v, (c, idx))| {
                let mut parts = Vec::new();
                if configs.len() > 1 {
                    parts.push(format!("config={}", stems[*c]));
                }
                let mut sets = spec.sets.clone();
                for (k, &i) in idx.iter().enumerate() {
                    let value = &spec.axes[k].values[i];
                    parts.push(format!("{}={}", short[k], value_name(value)));
                    sets.push(spec.axes[k].set(value));
                }
                let name = if parts.is_empty() {
                    stems[*c].clone()
                } else {
                    safe_name(&format!("v{v:0width$}-{}", parts.join(",")))
                };
                (name, *c, sets)
            })
            .collect();

        let mut runs = Vec::new();
        let seeds: Vec<Option<u64>> = if spec.seeds.is_empty() {
            vec![None]
        } else {
            spec.seeds.iter().copied().map(Some).collect()
        };
        for seed in seeds {
            for (name, c, sets) in &variants {
                let mut sets = sets.clone();
                let mut dir = Path::new("runs").join(name);
                if let Some(s) = seed {
                    sets.push(format!("seed={s}"));
                    dir = dir.join(format!("seed-{s}"));
                }
                runs.push(PlannedRun {
                    variant: name.clone(),
                    config: configs[*c].clone(),
                    sets,
                    seed,
                    dir,
                });
            }
        }
        Ok(Plan {
            configs,
            sets: spec.sets,
            axes: spec.axes,
            seeds: spec.seeds,
            runs,
        })
    }

    /// Number of variants (grid points × configs).
    pub fn variants(&self) -> usize {
        self.runs.len() / self.seeds.len().max(1)
    }

    /// Writes `sweep.json` into `sweep_dir` (created if missing).
    pub fn save(&self, sweep_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(sweep_dir).map_err(|e| Error::Write {
            path: sweep_dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Write {
            path: sweep_dir.join(PLAN_FILE),
            message: e.to_string(),
        })?;
        write_atomic(&sweep_dir.join(PLAN_FILE), format!("{text}\n").as_bytes())
    }

    /// Reads `sweep_dir/sweep.json`.
    pub fn load(sweep_dir: &Path) -> Result<Plan> {
        let path = sweep_dir.join(PLAN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Read {
            path: path.clone(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "no such file (not a sweep directory?)".to_string()
            } else {
                e.to_string()
            },
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Read {
            path,
            message: e.to_string(),
        })
    }

    /// Whether `dir` holds a sweep plan.
    pub fn is_sweep_dir(dir: &Path) -> bool {
        dir.join(PLAN_FILE).is_file()
    }
}

/// Each config's file stem, with parent folders added while two would share one.
fn config_names(configs: &[PathBuf]) -> Vec<String> {
    let name = |p: &Path, depth: usize| {
        let parts: Vec<String> = p
            .with_extension("")
            .components()
            .rev()
            .take(depth)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.into_iter().rev().collect::<Vec<_>>().join("_")
    };
    for depth in 1..8 {
        let names: Vec<String> = configs.iter().map(|c| name(c, depth)).collect();
        if names
            .iter()
            .enumerate()
            .all(|(i, n)| !names[..i].contains(n))
        {
            return names;
        }
    }
    (0..configs.len()).map(|i| format!("config{i}")).collect()
}

/// Axis names for directory names: the key's last segment, or the whole key where two axes
/// end alike (`encoder.dropout`, `embed.dropout`).
fn short_keys(axes: &[Axis]) -> Vec<String> {
    let last: Vec<String> = axes
        .iter()
        .map(|a| a.segments().last().cloned().unwrap_or_default())
        .collect();
    axes.iter()
        .zip(&last)
        .map(|(a, l)| {
            if last.iter().filter(|m| *m == l).count() > 1 {
                a.segments().join(".")
            } else {
                l.clone()
            }
        })
        .collect()
}

/// How a value appears in a variant name: itself, except that a JSON object with a `kind`,
/// `model` or `name` string (a schedule, a component) is named by it.
fn value_name(value: &str) -> String {
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(value) {
        for key in ["kind", "model", "name"] {
            if let Some(serde_json::Value::String(s)) = m.get(key) {
                return s.clone();
            }
        }
    }
    value.to_string()
}

/// One safe directory name: path separators, shell-hostile characters and whitespace become
/// `_`; at most 100 bytes (the variant index keeps cut names apart).
fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "._=,+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.len() > 100 {
        let mut cut = 100;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(axes: &[&str], seeds: &[u64]) -> PlanSpec {
        PlanSpec {
            configs: vec!["/x/exp.json".into()],
            sets: vec!["training.max_step=50".into()],
            axes: axes.iter().map(|a| Axis::parse(a).expect("axis")).collect(),
            seeds: seeds.to_vec(),
        }
    }

    #[test]
    fn grid_times_seeds_seed_major() {
        let plan = Plan::new(spec(&["a.rnn=gru,lstm", "b.lr=0.1,0.2,0.3"], &[1, 2])).expect("plan");
        assert_eq!(plan.runs.len(), 12);
        assert_eq!(plan.variants(), 6);
        let dirs: Vec<String> = plan
            .runs
            .iter()
            .map(|r| r.dir.display().to_string())
            .collect();
        assert_eq!(dirs[0], "runs/v0-rnn=gru,lr=0.1/seed-1");
        assert_eq!(dirs[2], "runs/v2-rnn=gru,lr=0.3/seed-1");
        assert_eq!(dirs[3], "runs/v3-rnn=lstm,lr=0.1/seed-1");
        assert_eq!(dirs[6], "runs/v0-rnn=gru,lr=0.1/seed-2");
        assert_eq!(
            plan.runs[11].sets,
            ["training.max_step=50", "a.rnn=lstm", "b.lr=0.3", "seed=2"]
        );
        assert_eq!(plan.runs[11].seed, Some(2));
        assert_eq!(plan.runs[11].variant, "v5-rnn=lstm,lr=0.3");
    }

    #[test]
    fn configs_are_an_axis_and_no_seeds_means_one_run_each() {
        let mut s = spec(&["lr=1,2"], &[]);
        s.configs = vec![
            "/c/seed000/bigru.json".into(),
            "/c/seed000/bigru-crf.json".into(),
        ];
        let plan = Plan::new(s).expect("plan");
        let dirs: Vec<String> = plan
            .runs
            .iter()
            .map(|r| r.dir.display().to_string())
            .collect();
        assert_eq!(
            dirs,
            [
                "runs/v0-config=bigru,lr=1",
                "runs/v1-config=bigru,lr=2",
                "runs/v2-config=bigru-crf,lr=1",
                "runs/v3-config=bigru-crf,lr=2"
            ]
        );
        assert_eq!(plan.runs[2].config, Path::new("/c/seed000/bigru-crf.json"));
        assert_eq!(plan.runs[2].sets, ["training.max_step=50", "lr=1"]);
        // One config, no grid: the run is named after the config.
        let plan = Plan::new(spec(&[], &[7])).expect("plan");
        assert_eq!(plan.runs[0].dir, Path::new("runs/exp/seed-7"));
    }

    #[test]
    fn names_stay_apart_and_safe() {
        assert_eq!(
            config_names(&["/a/x/m.json".into(), "/a/y/m.json".into()]),
            ["x_m", "y_m"]
        );
        let axes = [
            Axis::parse("components.enc.dropout=0.1").expect("axis"),
            Axis::parse("components.emb.dropout=0.2").expect("axis"),
        ];
        assert_eq!(
            short_keys(&axes),
            ["components.enc.dropout", "components.emb.dropout"]
        );
        assert_eq!(safe_name("v1-f=[[2, 20]]/x"), "v1-f=__2,_20___x");
        assert_eq!(value_name(r#"{"kind": "cosine", "t_max": 400}"#), "cosine");
        assert_eq!(value_name("[1,2]"), "[1,2]");
        assert_eq!(safe_name(&"é".repeat(80)).len(), 100);
    }

    #[test]
    fn repeated_seeds_or_keys_are_refused() {
        let e = Plan::new(spec(&[], &[1, 1])).unwrap_err().to_string();
        assert_eq!(e, "--seeds: seed 1 is given twice");
        let e = Plan::new(spec(&["a.b=1,2", "a.\"b\"=3"], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("given by two --grid flags"), "{e}");
        let mut s = spec(&[], &[]);
        s.configs.clear();
        assert!(Plan::new(s).is_err());
    }

    #[test]
    fn plan_round_trips_through_sweep_json() {
        let dir = tempfile::tempdir().expect("temp dir");
        let plan = Plan::new(spec(&["x=1,2"], &[3])).expect("plan");
        plan.save(dir.path()).expect("save");
        assert!(Plan::is_sweep_dir(dir.path()));
        assert_eq!(Plan::load(dir.path()).expect("load"), plan);
        let e = Plan::load(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("sweep.json: no such file (not a sweep directory?)"),
            "{e}"
        );
    }
}
