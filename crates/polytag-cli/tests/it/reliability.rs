//! Process-level reliability (issue 13): a closed stdout, the run-directory lock, the checkpoint
//! manifest, resuming from another working directory or a moved data root, checkpoints held in
//! memory once opened, a killed sweep, and stderr hygiene.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_polytag"));
    c.env_remove("POLYTAG_LOG");
    c
}

fn quickstart() -> String {
    root().join("configs/quickstart.json").display().to_string()
}

/// Runs `polytag args…` in `dir` with a stdout whose reader has already gone.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    bin()
        .args(args)
        .current_dir(dir)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("polytag runs")
}

#[track_caller]
fn assert_quiet_end(o: &Output) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        matches!(o.status.code(), Some(0) | Some(141)),
        "exit {:?}: {err}",
        o.status.code()
    );
}

#[test]
fn a_closed_stdout_ends_quietly_and_never_fails_a_finished_run() {
    let tmp = tempfile::tempdir().unwrap();
    let train_file = root().join("datasets/sample/nld/train.conll");
    let t = train_file.display().to_string();
    // Many files, so that stats are written after the reader is gone for sure.
    let mut args = vec!["data", "stats"];
    args.extend(std::iter::repeat_n(t.as_str(), 20));
    assert_quiet_end(&with_closed_stdout(tmp.path(), &args));
    let q = quickstart();
    assert_quiet_end(&with_closed_stdout(tmp.path(), &["validate", &q]));
    let scored = write(tmp.path(), "p.txt", "a B-PER B-PER\nb O O\n\nc I-LOC O\n");
    let s = scored.display().to_string();
    assert_quiet_end(&with_closed_stdout(tmp.path(), &["score", &s]));
    assert_quiet_end(&with_closed_stdout(tmp.path(), &["schema"]));
    let o = with_closed_stdout(
        tmp.path(),
        &[
            "train",
            &q,
            "--run-dir",
            "run",
            "--set",
            "training.max_step=4",
            "--set",
            "training.eval_freq=2",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    assert!(tmp.path().join("run/report.json").is_file());
}

/// `polytag train quickstart --run-dir RUN --set …` as a child, output discarded.
fn spawn_train(dir: &Path, run: &Path, sets: &[&str]) -> Child {
    let mut c = bin();
    c.arg("train")
        .arg(quickstart())
        .arg("--run-dir")
        .arg(run)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for s in sets {
        c.args(["--set", s]);
    }
    c.spawn().expect("polytag starts")
}

/// Waits (up to two minutes) until `done` holds.
#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid in `run/lock` (`pid start-time`).
fn lock_pid(run: &Path) -> Option<u32> {
    std::fs::read_to_string(run.join("lock"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The run directory under `dir` holding a lock, if any.
fn find_lock(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.join("lock").is_file() {
            return Some(path);
        }
        if path.is_dir() {
            if let Some(found) = find_lock(&path) {
                return Some(found);
            }
        }
    }
    None
}

/// A child killed when the test ends, failed or not (no training left running).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|s| s == "Z" || s == "X"),
        Err(_) => true,
    }
}

const LONG: [&str; 3] = [
    "training.max_step=100000",
    "training.eval_freq=20",
    "training.checkpoint_freq=20",
];

#[test]
fn a_second_process_on_a_run_directory_is_refused_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut child = Reaped(spawn_train(tmp.path(), &run, &LONG));
    let pid = child.0.id();
    wait_for("the lock and a checkpoint", || {
        lock_pid(&run) == Some(pid) && run.join("checkpoints/last/checkpoint.json").is_file()
    });
    let r = run.display().to_string();
    let o = polytag(tmp.path(), &["train", "--resume", &r]);
    assert_fails_with(
        &o,
        &format!("in use by another polytag process (pid {pid})"),
    );
    let q = quickstart();
    let o = polytag(tmp.path(), &["train", &q, "--run-dir", &r]);
    assert_fails_with(&o, &format!("(pid {pid})"));
    let o = polytag(tmp.path(), &["report", &r]);
    assert!(stdout(&o).contains("running"), "{}", stdout(&o));

    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reaped");
    let o = polytag(tmp.path(), &["report", &r]);
    assert!(stdout(&o).contains("stopped at step"), "{}", stdout(&o));
    // The dead holder's lock is stale: a resume takes it over.
    let resumed = Reaped(
        bin()
            .args(["train", "--resume", &r])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rpid = resumed.0.id();
    wait_for("the resumed run's lock", || lock_pid(&run) == Some(rpid));
}

/// A short finished run in `dir/run`.
fn short_run(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    let q = quickstart();
    let r = run.display().to_string();
    let o = polytag(
        dir,
        &[
            "train",
            &q,
            "--run-dir",
            &r,
            "--set",
            "training.max_step=20",
            "--set",
            "training.eval_freq=10",
            "--set",
            "training.checkpoint_freq=10",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    run
}

fn flip_bytes(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let n = b.len();
    for i in [n / 3, n / 2, n - 9] {
        b[i] ^= 0x5a;
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn flipped_checkpoint_bytes_are_refused_by_eval_predict_and_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let run = short_run(tmp.path());
    let r = run.display().to_string();
    let dev = root()
        .join("datasets/sample/nld/dev.conll")
        .display()
        .to_string();
    assert!(polytag(tmp.path(), &["eval", &r, "--file", &dev])
        .status
        .success());

    flip_bytes(&run.join("checkpoints/best/model.bpk"));
    let o = polytag(tmp.path(), &["eval", &r, "--file", &dev]);
    assert_fails_with(&o, "checkpoints/best/model.bpk: checksum mismatch");
    let o = polytag_with_stdin(&["predict", &r, "--input", "-"], "Jan woont in Gent .\n");
    assert_fails_with(&o, "checkpoints/best/model.bpk: checksum mismatch");

    flip_bytes(&run.join("checkpoints/last/state.json"));
    let o = polytag(tmp.path(), &["train", "--resume", &r]);
    assert_fails_with(&o, "checkpoints/last/state.json: checksum mismatch");
}

/// Copies the quickstart experiment and its sample data to `proj/configs/exp.json` and
/// `proj/data/…`, the config naming the data relatively (`../data/…`).
fn project(proj: &Path) -> PathBuf {
    for lang in ["nld", "eng"] {
        let d = proj.join("data").join(lang);
        std::fs::create_dir_all(&d).unwrap();
        for split in ["train", "dev", "test"] {
            let f = format!("{split}.conll");
            std::fs::copy(
                root().join("datasets/sample").join(lang).join(&f),
                d.join(&f),
            )
            .unwrap();
        }
    }
    std::fs::create_dir_all(proj.join("configs")).unwrap();
    let text = std::fs::read_to_string(quickstart())
        .unwrap()
        .replace("../datasets/sample", "../data");
    write(&proj.join("configs"), "exp.json", text)
}

#[test]
fn resume_works_from_anywhere_refuses_changed_corpora_and_follows_a_moved_data_root() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("proj");
    project(&proj);
    // Started from the config's folder with a bare file name and a relative run directory.
    let o = polytag(
        &proj.join("configs"),
        &[
            "train",
            "exp.json",
            "--run-dir",
            "../run",
            "--set",
            "training.max_step=10",
            "--set",
            "training.eval_freq=10",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = proj.join("run");
    let r = run.display().to_string();
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(!config.contains("../data"), "relative paths kept: {config}");
    assert!(run.join("corpora.json").is_file());

    // From another directory.
    let o = polytag(tmp.path(), &["train", "--resume", &r]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A corpus changed since: refused, naming the config key and the file.
    let dev = proj.join("data/nld/dev.conll");
    let original = std::fs::read(&dev).unwrap();
    let mut changed = original.clone();
    changed.extend_from_slice(b"Extra X B-PER\n\n");
    std::fs::write(&dev, &changed).unwrap();
    let o = polytag(tmp.path(), &["train", "--resume", &r]);
    assert_fails_with(&o, "datasets[0].files.dev");
    assert_fails_with(&o, &dev.display().to_string());
    assert_fails_with(&o, "refusing to resume");
    std::fs::write(&dev, &original).unwrap();

    // The data root moved: not found until the new place is given; same hashes, so resumed,
    // and the run's record follows (the next resume needs no --set).
    let moved = tmp.path().join("moved");
    std::fs::rename(proj.join("data"), &moved).unwrap();
    let o = polytag(tmp.path(), &["train", "--resume", &r]);
    assert_fails_with(&o, &proj.join("data/nld/train.conll").display().to_string());
    let mut sets = Vec::new();
    for (d, lang) in ["nld", "nld", "eng", "eng"].iter().enumerate() {
        for split in ["train", "dev", "test"] {
            sets.push(format!(
                "datasets.{d}.files.{split}={}",
                moved.join(lang).join(format!("{split}.conll")).display()
            ));
        }
    }
    let mut args = vec!["train", "--resume", r.as_str()];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    let o = polytag(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = polytag(tmp.path(), &["train", "--resume", &r]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Other settings cannot change on resume.
    let o = polytag(
        tmp.path(),
        &["train", "--resume", &r, "--set", "training.max_step=99"],
    );
    assert_fails_with(
        &o,
        "--set training.max_step=99: on --resume only corpus paths",
    );
}

#[test]
fn a_predictor_keeps_its_checkpoint_when_the_folder_goes_away() {
    let tmp = tempfile::tempdir().unwrap();
    let run = short_run(tmp.path());
    let mut child = bin()
        .args(["predict"])
        .arg(&run)
        .args(["--input", "-", "--format", "conll"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "Jan woont in Gent .").unwrap();
    let mut first = String::new();
    while !first.ends_with("\n\n") {
        assert!(out.read_line(&mut first).unwrap() > 0, "{first}");
    }
    std::fs::remove_dir_all(run.join("checkpoints")).unwrap();
    writeln!(stdin, "Marie woont in Brussel .").unwrap();
    drop(stdin);
    let mut rest = String::new();
    while out.read_line(&mut rest).unwrap() > 0 {}
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // "Marie woont in Brussel ." tagged: five token lines.
    assert_eq!(rest.lines().filter(|l| !l.is_empty()).count(), 5, "{rest}");
}

#[test]
fn a_killed_sweep_leaves_no_training_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let mut sweep = Reaped(
        bin()
            .args(["sweep", &quickstart()])
            .args(LONG.iter().flat_map(|s| ["--set", s]))
            .args(["--seeds", "1", "--jobs", "1", "--sweep-dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut found = None;
    wait_for("the sweep's training child", || {
        found = find_lock(&dir.join("runs")).and_then(|run| Some((lock_pid(&run)?, run)));
        found.is_some()
    });
    let (trainer, run) = found.unwrap();
    sweep.0.kill().unwrap();
    sweep.0.wait().unwrap();
    let start = Instant::now();
    while !gone(trainer) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "training child {trainer} outlived its SIGKILLed sweep"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = run.display().to_string();
    let o = polytag(tmp.path(), &["report", &r]);
    assert!(stdout(&o).contains("stopped"), "{}", stdout(&o));
}

#[test]
fn stderr_off_a_terminal_has_no_colour_and_each_warning_once() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = write(tmp.path(), "empty.conll", "");
    let e = empty.display().to_string();
    let o = polytag(tmp.path(), &["data", "stats", &e]);
    let err = stderr(&o);
    assert_eq!(err.matches("no sentence").count(), 1, "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    // A tracing warning (a stale lock taken over) goes through the same stderr.
    let run = short_run(tmp.path());
    std::fs::write(run.join("lock"), "999999999\n").unwrap();
    let r = run.display().to_string();
    let o = polytag(tmp.path(), &["train", "--resume", &r]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.matches("stale run-directory lock").count(), 1, "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}
