//! End-to-end tests through the `polytag` binary (one test binary: each extra `tests/*.rs`
//! would relink burn). Each test writes its inputs to a fresh temp dir, runs the binary and
//! checks the exit code, stdout and the exact error text a user would see.

mod battery;
mod bench;
mod data;
mod predict;
mod reliability;
mod report;
mod schema;
mod score;
mod sweep;
mod train;
mod transformer;
mod validate;
mod vectors;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (configs/ and datasets/ live there).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `polytag args…` in `dir`.
pub fn polytag(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_polytag"))
        .args(args)
        .current_dir(dir)
        .env_remove("POLYTAG_LOG")
        .output()
        .expect("the polytag binary runs")
}

/// Runs `polytag args…` with `input` on its standard input.
pub fn polytag_with_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_polytag"))
        .args(args)
        .env_remove("POLYTAG_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the polytag binary runs");
    if let Some(mut stdin) = child.stdin.take() {
        // A command that fails before reading its input (a corrupt checkpoint) closes stdin.
        match stdin.write_all(input.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin: {e}"),
            _ => {}
        }
    }
    child
        .wait_with_output()
        .expect("the polytag binary finishes")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a failure with exit code 1, no panic, and `needle` in stderr.
#[track_caller]
pub fn assert_fails_with(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}\nstderr: {err}",
        stdout(o)
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        err.contains(needle),
        "expected {needle:?} in stderr:\n{err}"
    );
}

/// Writes `text` to `dir/name`, returning the path.
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("temp file");
    p
}
