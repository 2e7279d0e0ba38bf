//! `polytag sweep … --emit slurm`: the plan as a Slurm array job, one array task per run.
//!
//! Each task does what the local runner does for one run: nothing when the run finished,
//! `train --resume` when its directory holds a config (a requeued or re-submitted task), else
//! `train CONFIG --set … --run-dir DIR`. `polytag report SWEEP_DIR` then reads what the tasks
//! left, grouped by seed.

use std::fmt::Write;
use std::path::Path;

use crate::plan::Plan;

/// What the script needs besides the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmOptions {
    /// The `polytag` binary the tasks call (overridable with `$POLYTAG` at run time).
    pub program: std::path::PathBuf,
    /// `--job-name`.
    pub job_name: String,
    /// At most this many tasks at once (`--array=0-N%K`).
    pub max_parallel: Option<usize>,
    /// More `#SBATCH` lines, each one option (`--time=04:00:00`, `--cpus-per-task=4`).
    pub sbatch: Vec<String>,
    /// Arguments added to every `train` call (`--device cuda`).
    pub extra_args: Vec<String>,
}

/// Quotes `s` for bash (single quotes; a `'` inside becomes `'\''`).
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._=,+-:@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The array job script for `plan`, whose runs live under `sweep_dir` (give it absolute: the
/// tasks run on other machines, from other directories).
pub fn slurm_script(plan: &Plan, sweep_dir: &Path, opts: &SlurmOptions) -> String {
    let mut s = String::new();
    let n = plan.runs.len();
    let sweep = sweep_dir.display().to_string();
    // Writing into a String cannot fail.
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# polytag sweep: {n} runs ({} variant(s) x {} seed(s)). Submit with `sbatch {}`;",
        plan.variants(),
        plan.seeds.len().max(1),
        quote(&format!("{sweep}/sweep.slurm"))
    );
    let _ = writeln!(s, "# compare with `polytag report {}`.", quote(&sweep));
    let _ = writeln!(s, "#SBATCH --job-name={}", quote(&opts.job_name));
    let throttle = opts
        .max_parallel
        .map(|k| format!("%{k}"))
        .unwrap_or_default();
    let _ = writeln!(s, "#SBATCH --array=0-{}{throttle}", n.saturating_sub(1));
    let _ = writeln!(
        s,
        "#SBATCH --output={}",
        quote(&format!("{sweep}/logs/%A_%a.log"))
    );
    for o in &opts.sbatch {
        let _ = writeln!(s, "#SBATCH {o}");
    }
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(
        s,
        "POLYTAG=\"${{POLYTAG:-{}}}\"",
        opts.program
            .display()
            .to_string()
            .replace(['"', '$', '`', '\\'], "_")
    );
    let extra: String = opts
        .extra_args
        .iter()
        .map(|a| format!(" {}", quote(a)))
        .collect();
    let _ = writeln!(
        s,
        "case \"${{SLURM_ARRAY_TASK_ID:?run this script with sbatch (an array task)}}\" in"
    );
    for (i, run) in plan.runs.iter().enumerate() {
        let dir = sweep_dir.join(&run.dir).display().to_string();
        let mut args = format!("train {}", quote(&run.config.display().to_string()));
        for set in &run.sets {
            let _ = write!(args, " --set {}", quote(set));
        }
        let _ = writeln!(
            s,
            "  {i}) dir={}; args=({args} --run-dir \"$dir\"{extra}) ;;",
            quote(&dir)
        );
    }
    let _ = writeln!(
        s,
        "  *) echo \"polytag sweep: no array task $SLURM_ARRAY_TASK_ID (0-{})\" >&2; exit 2 ;;",
        n.saturating_sub(1)
    );
    let _ = writeln!(s, "esac");
    let _ = writeln!(
        s,
        "if [ -e \"$dir/report.json\" ]; then echo \"polytag sweep: $dir is finished\"; exit 0; fi"
    );
    let _ = writeln!(
        s,
        "if [ -e \"$dir/config.json\" ]; then exec \"$POLYTAG\" train --resume \"$dir\"{extra}; fi"
    );
    let _ = writeln!(
        s,
        "# A task killed before its config was written leaves only empty folders."
    );
    let _ = writeln!(
        s,
        "if [ -d \"$dir\" ]; then find \"$dir\" -depth -type d -empty -delete; fi"
    );
    let _ = writeln!(s, "mkdir -p \"$(dirname \"$dir\")\"");
    let _ = writeln!(s, "exec \"$POLYTAG\" \"${{args[@]}}\"");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Axis, PlanSpec};
    use std::process::Command;

    fn opts(program: &Path) -> SlurmOptions {
        SlurmOptions {
            program: program.to_path_buf(),
            job_name: "exp sweep".into(),
            max_parallel: Some(2),
            sbatch: vec!["--time=01:00:00".into()],
            extra_args: vec!["--device".into(), "cpu".into()],
        }
    }

    #[test]
    fn quoting_survives_bash() {
        assert_eq!(quote("a=1"), "a=1");
        assert_eq!(quote("tasks.Dutch NER.lr=0.1"), "'tasks.Dutch NER.lr=0.1'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    /// A 2 × 3-seed grid gives six array tasks; each one, run by bash, calls polytag with that
    /// run's overrides (a stand-in program records the arguments).
    #[test]
    fn six_array_tasks_call_train_with_their_overrides() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let plan = Plan::new(PlanSpec {
            configs: vec![tmp.path().join("exp.json")],
            sets: vec!["training.max_step=100".into()],
            axes: vec![Axis::parse("tasks.Dutch NER.learning_rate=0.01,0.1").expect("axis")],
            seeds: vec![1, 2, 3],
        })
        .expect("plan");
        let sweep = tmp.path().join("sweep");
        let record = tmp.path().join("record");
        let fake = tmp.path().join("fake");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/bash\nprintf '%s\\n' \"$@\" > {}\n",
                record.display()
            ),
        )
        .expect("fake");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let script = slurm_script(&plan, &sweep, &opts(&fake));
        let path = tmp.path().join("sweep.slurm");
        std::fs::write(&path, &script).expect("script");
        let check = Command::new("bash")
            .arg("-n")
            .arg(&path)
            .status()
            .expect("bash");
        assert!(check.success(), "{script}");
        assert!(script.contains("#SBATCH --array=0-5%2\n"), "{script}");
        assert!(script.contains("#SBATCH --time=01:00:00\n"));
        assert_eq!(script.matches(") dir=").count(), 6);
        for (task, run) in plan.runs.iter().enumerate() {
            let out = Command::new("bash")
                .arg(&path)
                .env("SLURM_ARRAY_TASK_ID", task.to_string())
                .output()
                .expect("bash");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let args = std::fs::read_to_string(&record).expect("recorded");
            let lr = if task % 2 == 0 { "0.01" } else { "0.1" };
            let seed = task / 2 + 1;
            let expected = format!(
                "train\n{}\n--set\ntraining.max_step=100\n--set\ntasks.Dutch NER.learning_rate={lr}\n--set\nseed={seed}\n--run-dir\n{}\n--device\ncpu\n",
                tmp.path().join("exp.json").display(),
                sweep.join(&run.dir).display()
            );
            assert_eq!(args, expected, "task {task}");
        }
        // A task whose run directory holds a config resumes; a finished one does nothing.
        let dir0 = sweep.join(&plan.runs[0].dir);
        std::fs::create_dir_all(&dir0).expect("dir");
        std::fs::write(dir0.join("config.json"), "{}").expect("config");
        let run = |task: &str| {
            Command::new("bash")
                .arg(&path)
                .env("SLURM_ARRAY_TASK_ID", task)
                .output()
                .expect("bash")
        };
        assert!(run("0").status.success());
        assert_eq!(
            std::fs::read_to_string(&record).expect("recorded"),
            format!("train\n--resume\n{}\n--device\ncpu\n", dir0.display())
        );
        std::fs::write(dir0.join("report.json"), "{}").expect("report");
        std::fs::remove_file(&record).expect("rm");
        let out = run("0");
        assert!(out.status.success() && !record.exists());
        let out = run("6");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no array task 6"));
    }
}
