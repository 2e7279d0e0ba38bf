//! Runs a plan: N child `polytag train` processes at a time, each outcome kept in
//! `state.json`, finished runs skipped and killed ones resumed when the sweep is run again.
//!
//! Why child processes, not threads: a run that panics, runs out of memory or is given a bad
//! setting must fail alone (the issue: "survives a failed variant"), and each run keeps the
//! same log, run directory and exit code as when it is trained by hand.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{write_atomic, Error, Result};
use crate::plan::Plan;

/// The state file in the sweep directory.
pub const STATE_FILE: &str = "state.json";

/// Where one run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not started in this sweep (or interrupted: it is resumed next time).
    Pending,
    /// A child process is training it.
    Running,
    /// Finished: `report.json` is written.
    Done,
    /// The last attempt failed; the next run of the sweep tries again.
    Failed,
}

/// One run's line in `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Run directory, relative to the sweep directory.
    pub dir: PathBuf,
    /// Status.
    pub status: Status,
    /// Attempts so far (over all invocations of the sweep).
    pub attempts: u32,
    /// Exit code of the last attempt (absent when killed by a signal or not run).
    pub exit_code: Option<i32>,
    /// Why the last attempt failed, from the end of its log.
    pub error: Option<String>,
    /// Wall time of the last attempt.
    pub wall_time_s: Option<f64>,
    /// Process training it while `running` (so a second sweep does not train it twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// `state.json`: one entry per planned run, in plan order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The runs.
    pub runs: Vec<RunState>,
}

impl State {
    /// Reads `state.json` when present (entries matched to the plan by directory), else all
    /// pending. A run interrupted while `running` becomes pending.
    pub fn load(sweep_dir: &Path, plan: &Plan) -> Result<State> {
        let path = sweep_dir.join(STATE_FILE);
        let old: Vec<RunState> = match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str::<State>(&text)
                    .map_err(|e| Error::Read {
                        path: path.clone(),
                        message: e.to_string(),
                    })?
                    .runs
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(Error::Read {
                    path,
                    message: e.to_string(),
                })
            }
        };
        let runs = plan
            .runs
            .iter()
            .map(|r| -> Result<RunState> {
                let mut s = old
                    .iter()
                    .find(|o| o.dir == r.dir)
                    .cloned()
                    .unwrap_or(RunState {
                        dir: r.dir.clone(),
                        status: Status::Pending,
                        attempts: 0,
                        exit_code: None,
                        error: None,
                        wall_time_s: None,
                        pid: None,
                    });
                if s.status == Status::Running {
                    let dir = sweep_dir.join(&r.dir);
                    if let Some(pid) = s.pid.filter(|&p| trains(p, &dir)) {
                        return Err(Error::Plan(format!(
                            "{} is still being trained by process {pid} (an earlier sweep \
                             that was stopped?); wait for it or stop it first",
                            dir.display()
                        )));
                    }
                    s.status = Status::Pending;
                    s.pid = None;
                }
                // The run directory is the truth: a run finished by hand (or by Slurm) is done.
                if sweep_dir.join(&r.dir).join("report.json").is_file() {
                    s.status = Status::Done;
                }
                Ok(s)
            })
            .collect::<Result<Vec<RunState>>>()?;
        Ok(State { runs })
    }

    /// Writes `state.json` atomically.
    pub fn save(&self, sweep_dir: &Path) -> Result<()> {
        let path = sweep_dir.join(STATE_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&path, format!("{text}\n").as_bytes())
    }
}

/// How runs are started.
#[derive(Debug, Clone)]
pub struct Runner {
    /// The `polytag` binary (the sweep's own executable).
    pub program: PathBuf,
    /// Runs at a time (at least 1).
    pub jobs: usize,
    /// Arguments added to every `train` call (`--device cpu`).
    pub extra_args: Vec<String>,
    /// Environment variables set for every child.
    pub env: Vec<(String, String)>,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `report.json` written, exit code 0.
    Done,
    /// Anything else.
    Failed {
        /// Exit code, absent when killed by a signal.
        exit_code: Option<i32>,
        /// The error the child printed last (or how it died).
        error: String,
    },
}

/// Progress of a sweep, for the caller to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Run `index` was finished before this sweep started.
    AlreadyDone {
        /// Index into the plan's runs.
        index: usize,
    },
    /// A child process started run `index`.
    Started {
        /// Index into the plan's runs.
        index: usize,
        /// Continued from its run directory (`train --resume`).
        resumed: bool,
        /// The child's process id.
        pid: u32,
    },
    /// Run `index` ended.
    Finished {
        /// Index into the plan's runs.
        index: usize,
        /// How.
        outcome: Outcome,
        /// Wall time of the attempt.
        wall_time_s: f64,
    },
}

/// The end of a sweep.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// Runs finished in this invocation.
    pub done: usize,
    /// Runs finished before it.
    pub already_done: usize,
    /// Indices of the runs that failed.
    pub failed: Vec<usize>,
}

/// Runs every unfinished run of `plan` in `sweep_dir`, `runner.jobs` at a time; `on_event`
/// is called (on this thread) as runs start and end. A failed run is recorded and the others
/// go on; the result is an error only when the sweep itself cannot proceed (state unwritable).
pub fn run(
    plan: &Plan,
    sweep_dir: &Path,
    runner: &Runner,
    on_event: &mut dyn FnMut(&Event),
) -> Result<Summary> {
    let mut state = State::load(sweep_dir, plan)?;
    let mut summary = Summary::default();
    let mut todo = VecDeque::new();
    for (index, s) in state.runs.iter().enumerate() {
        if s.status == Status::Done {
            summary.already_done += 1;
            on_event(&Event::AlreadyDone { index });
        } else {
            todo.push_back(index);
        }
    }
    state.save(sweep_dir)?;
    let logs = sweep_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::Write {
        path: logs.clone(),
        message: e.to_string(),
    })?;
    let queue = Mutex::new(todo);
    let (tx, rx) = mpsc::channel::<Event>();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..runner.jobs.max(1) {
            let tx = tx.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some(index) = next else { break };
                let attempt = Attempt::prepare(plan, sweep_dir, index);
                let resumed = attempt.resumed;
                let start = Instant::now();
                let outcome = attempt.execute(runner, |pid| {
                    let _ = tx.send(Event::Started {
                        index,
                        resumed,
                        pid,
                    });
                });
                let _ = tx.send(Event::Finished {
                    index,
                    outcome,
                    wall_time_s: start.elapsed().as_secs_f64(),
                });
            });
        }
        drop(tx);
        for event in rx {
            match &event {
                Event::Started { index, pid, .. } => {
                    let s = &mut state.runs[*index];
                    s.status = Status::Running;
                    s.pid = Some(*pid);
                }
                Event::Finished {
                    index,
                    outcome,
                    wall_time_s,
                } => {
                    let s = &mut state.runs[*index];
                    s.wall_time_s = Some(*wall_time_s);
                    s.attempts += 1;
                    s.pid = None;
                    match outcome {
                        Outcome::Done => {
                            s.status = Status::Done;
                            s.exit_code = Some(0);
                            s.error = None;
                            summary.done += 1;
                        }
                        Outcome::Failed { exit_code, error } => {
                            s.status = Status::Failed;
                            s.exit_code = *exit_code;
                            s.error = Some(error.clone());
                            summary.failed.push(*index);
                        }
                    }
                }
                // Reported before the workers started; never sent by them.
                Event::AlreadyDone { .. } => continue,
            }
            state.save(sweep_dir)?;
            on_event(&event);
        }
        Ok(())
    })?;
    summary.failed.sort_unstable();
    Ok(summary)
}

/// One attempt at one run: the command and where its output goes.
struct Attempt {
    args: Vec<std::ffi::OsString>,
    run_dir: PathBuf,
    log: PathBuf,
    resumed: bool,
}

impl Attempt {
    fn prepare(plan: &Plan, sweep_dir: &Path, index: usize) -> Attempt {
        let run = &plan.runs[index];
        let run_dir = sweep_dir.join(&run.dir);
        let log = sweep_dir.join("logs").join(log_name(&run.dir));
        let resumed = run_dir.join("config.json").is_file();
        let mut args: Vec<std::ffi::OsString> = vec!["train".into()];
        if resumed {
            args.push("--resume".into());
            args.push(run_dir.clone().into());
        } else {
            // A directory left by a run killed before it wrote its config holds at most empty
            // folders; clear those so `--run-dir` accepts it. Anything else stays, and the
            // child's error names it.
            remove_empty_tree(&run_dir);
            args.push(run.config.clone().into());
            for s in &run.sets {
                args.push("--set".into());
                args.push(s.into());
            }
            args.push("--run-dir".into());
            args.push(run_dir.clone().into());
        }
        Attempt {
            args,
            run_dir,
            log,
            resumed,
        }
    }

    /// Runs the child to its end; `started` gets its process id once it runs.
    fn execute(self, runner: &Runner, started: impl FnOnce(u32)) -> Outcome {
        let failed = |error: String| Outcome::Failed {
            exit_code: None,
            error,
        };
        if let Some(parent) = self.run_dir.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                return failed(format!("cannot create {}: {e}", parent.display()));
            }
        }
        let mut log = match File::options().create(true).append(true).open(&self.log) {
            Ok(f) => f,
            Err(e) => return failed(format!("cannot open {}: {e}", self.log.display())),
        };
        let start = log.seek(SeekFrom::End(0)).unwrap_or(0);
        let shown: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let _ = writeln!(
            log,
            "== polytag sweep: {} {}",
            runner.program.display(),
            shown.join(" ")
        );
        let (out, err) = match (log.try_clone(), log.try_clone()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                return failed(format!("cannot write {}: {e}", self.log.display()))
            }
        };
        let status = Command::new(&runner.program)
            .args(&self.args)
            .args(&runner.extra_args)
            .envs(runner.env.iter().map(|(k, v)| (k, v)))
            .env(crate::PARENT_PID_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .and_then(|mut child| {
                started(child.id());
                child.wait()
            });
        let status = match status {
            Ok(s) => s,
            Err(e) => {
                return failed(
                    Error::Spawn {
                        program: runner.program.clone(),
                        message: e.to_string(),
                    }
                    .to_string(),
                )
            }
        };
        if status.success() && self.run_dir.join("report.json").is_file() {
            return Outcome::Done;
        }
        let tail = read_from(&self.log, start);
        let error = match (status.code(), last_error(&tail)) {
            (_, Some(e)) => e,
            (None, None) => {
                use std::os::unix::process::ExitStatusExt;
                match status.signal() {
                    Some(sig) => format!("killed by signal {sig}"),
                    None => "ended without an exit code".to_string(),
                }
            }
            (Some(0), None) => "exited 0 but wrote no report.json".to_string(),
            (Some(c), None) => format!("exit code {c}"),
        };
        Outcome::Failed {
            exit_code: status.code(),
            error,
        }
    }
}

/// `runs/v3-x=1/seed-2` → `v3-x=1.seed-2.log`.
fn log_name(dir: &Path) -> String {
    let parts: Vec<String> = dir
        .components()
        .skip(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("{}.log", parts.join("."))
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        if f.seek(SeekFrom::Start(offset)).is_ok() {
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    text
}

/// The error a failed `polytag train` printed: its last `polytag: …` line that is not a
/// warning or a status line, with the `caused by` lines after it; or a panic message; or the
/// last line printed.
fn last_error(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let is_status = |l: &str| {
        [
            "polytag: warning",
            "polytag: training ",
            "polytag: resuming ",
        ]
        .iter()
        .any(|p| l.starts_with(p))
    };
    if let Some(i) = lines
        .iter()
        .rposition(|l| l.starts_with("polytag: ") && !is_status(l))
    {
        let mut msg = lines[i].trim_start_matches("polytag: ").to_string();
        for l in lines[i + 1..]
            .iter()
            .take_while(|l| l.trim_start().starts_with("caused by"))
        {
            msg.push_str("; ");
            msg.push_str(l.trim());
        }
        return Some(msg);
    }
    if let Some(l) = lines.iter().rev().find(|l| l.contains("panicked at")) {
        return Some(l.trim().to_string());
    }
    lines
        .iter()
        .rev()
        .find(|l| !l.starts_with("== polytag sweep") && !is_status(l))
        .map(|l| l.trim().to_string())
}

/// Whether process `pid` is alive and has `run_dir` on its command line (a pid reused by an
/// unrelated process does not count).
fn trains(pid: u32, run_dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let dir = run_dir.as_os_str().as_encoded_bytes();
    cmdline.split(|&b| b == 0).any(|arg| arg == dir)
}

/// Removes `dir` when it holds nothing but (nested) empty folders.
fn remove_empty_tree(dir: &Path) {
    fn only_empty_dirs(dir: &Path) -> bool {
        match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .flatten()
                .all(|e| e.file_type().is_ok_and(|t| t.is_dir()) && only_empty_dirs(&e.path())),
            Err(_) => false,
        }
    }
    if dir.is_dir() && only_empty_dirs(dir) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fake_trainer, plan_in};

    fn runner(program: PathBuf, jobs: usize) -> Runner {
        Runner {
            program,
            jobs,
            extra_args: vec!["--device".into(), "cpu".into()],
            env: vec![("FAKE_MARK".into(), "set".into())],
        }
    }

    #[test]
    fn a_failed_run_is_recorded_and_the_others_finish() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let fake = fake_trainer(tmp.path());
        let sweep = tmp.path().join("sweep");
        // x=fail makes the fake trainer fail with a polytag-style error.
        let plan = plan_in(&sweep, &["x=ok,fail,ok2"], &[1, 2]);
        let mut events = Vec::new();
        let summary = run(&plan, &sweep, &runner(fake, 2), &mut |e| {
            events.push(e.clone())
        })
        .expect("sweep runs");
        assert_eq!(summary.done, 4);
        assert_eq!(summary.failed, [1, 4]);
        let starts = events
            .iter()
            .filter(|e| matches!(e, Event::Started { resumed: false, .. }))
            .count();
        assert_eq!(starts, 6);
        let state = State::load(&sweep, &plan).expect("state");
        let failed = &state.runs[1];
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(failed.exit_code, Some(1));
        assert_eq!(
            failed.error.as_deref(),
            Some("tasks.0: no such thing; caused by: bad value fail")
        );
        assert_eq!(state.runs[0].status, Status::Done);
        // The child saw the sweep's arguments, extra arguments and environment.
        let args = std::fs::read_to_string(sweep.join("runs/v0-x=ok/seed-1/args.txt"))
            .expect("args recorded");
        assert!(
            args.contains("--set x=ok --set seed=1 --run-dir ")
                && args.ends_with("--device cpu set\n"),
            "{args}"
        );
        assert!(sweep.join("logs/v1-x=fail.seed-1.log").is_file());
    }

    #[test]
    fn a_second_sweep_skips_finished_runs_resumes_killed_and_retries_failed() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let fake = fake_trainer(tmp.path());
        let sweep = tmp.path().join("sweep");
        // x=die: the fake trainer writes config.json and dies as if killed (exit 137).
        let plan = plan_in(&sweep, &["x=ok,die"], &[]);
        let s1 = run(&plan, &sweep, &runner(fake.clone(), 1), &mut |_| {}).expect("sweep");
        assert_eq!((s1.done, s1.failed.clone()), (1, vec![1]));
        let state = State::load(&sweep, &plan).expect("state");
        assert_eq!(state.runs[1].error.as_deref(), Some("exit code 137"));
        // Resumed, the fake trainer finishes (as a real run resumed after a kill would).
        let mut events = Vec::new();
        let s2 = run(&plan, &sweep, &runner(fake, 1), &mut |e| {
            events.push(e.clone())
        })
        .expect("sweep");
        assert_eq!((s2.already_done, s2.done), (1, 1));
        assert!(s2.failed.is_empty());
        assert_eq!(events[0], Event::AlreadyDone { index: 0 });
        assert!(matches!(
            events[1],
            Event::Started {
                index: 1,
                resumed: true,
                ..
            }
        ));
        let args = std::fs::read_to_string(sweep.join("runs/v1-x=die/args.txt")).expect("args");
        assert!(args.starts_with("train --resume "), "{args}");
        let state = State::load(&sweep, &plan).expect("state");
        assert_eq!(state.runs[1].attempts, 2);
        assert_eq!(state.runs[1].status, Status::Done);
    }

    #[test]
    fn a_run_still_trained_by_a_live_process_is_not_started_twice() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let sweep = tmp.path().join("sweep");
        let plan = plan_in(&sweep, &["x=1"], &[]);
        let dir = sweep.join(&plan.runs[0].dir);
        // A stand-in for an orphaned trainer: a live process with the run directory in its
        // command line.
        let mut child = Command::new("bash")
            .arg("-c")
            .arg("sleep 30; true")
            .arg(&dir)
            .spawn()
            .expect("bash");
        let mut state = State::load(&sweep, &plan).expect("state");
        state.runs[0].status = Status::Running;
        state.runs[0].pid = Some(child.id());
        state.save(&sweep).expect("save");
        let e = State::load(&sweep, &plan).unwrap_err().to_string();
        assert!(
            e.contains(&format!("still being trained by process {}", child.id())),
            "{e}"
        );
        let _ = child.kill();
        let _ = child.wait();
        // Once it is gone, the run is pending again.
        let state = State::load(&sweep, &plan).expect("state");
        assert_eq!(
            (state.runs[0].status, state.runs[0].pid),
            (Status::Pending, None)
        );
    }

    #[test]
    fn a_missing_program_fails_each_run_without_stopping_the_sweep() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let sweep = tmp.path().join("sweep");
        let plan = plan_in(&sweep, &["x=1,2"], &[]);
        let s = run(
            &plan,
            &sweep,
            &runner(tmp.path().join("no-such-polytag"), 2),
            &mut |_| {},
        )
        .expect("sweep");
        assert_eq!(s.failed, [0, 1]);
        let state = State::load(&sweep, &plan).expect("state");
        assert!(state.runs[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("cannot start ")));
    }

    #[test]
    fn errors_are_read_from_the_end_of_the_log() {
        let log = "polytag: warning: x\npolytag: training e in d\nINFO step 10\npolytag: out of data\n  caused by: disk\n";
        assert_eq!(
            last_error(log).as_deref(),
            Some("out of data; caused by: disk")
        );
        let log =
            "thread 'main' panicked at src/x.rs:1:2:\nboom\nnote: run with RUST_BACKTRACE=1\n";
        assert_eq!(
            last_error(log).as_deref(),
            Some("thread 'main' panicked at src/x.rs:1:2:")
        );
        assert_eq!(last_error("== polytag sweep: x\n").as_deref(), None);
        assert_eq!(
            log_name(Path::new("runs/v1-a=b/seed-3")),
            "v1-a=b.seed-3.log"
        );
    }

    #[test]
    fn empty_leftover_directories_are_cleared_but_files_are_kept() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let d = tmp.path().join("run");
        std::fs::create_dir_all(d.join("checkpoints/x")).expect("dirs");
        remove_empty_tree(&d);
        assert!(!d.exists());
        std::fs::create_dir_all(d.join("checkpoints")).expect("dirs");
        std::fs::write(d.join("checkpoints/keep"), "").expect("file");
        remove_empty_tree(&d);
        assert!(d.join("checkpoints/keep").is_file());
    }
}
