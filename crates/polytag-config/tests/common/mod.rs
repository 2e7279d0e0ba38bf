//! Where the tests find the hand-made files of `../shared` (beside the repository), and what
//! they do when a file is not there.
//!
//! - `../shared` absent (a clean clone, CI without it): the test prints `skipped: ../shared not
//!   found` and passes, unless `POLYTAG_REQUIRE_SHARED=1`, which makes it fail.
//! - `../shared` present but the file missing: a skip note locally; a failure when `CI=true` or
//!   `POLYTAG_REQUIRE_SHARED=1`, so a renamed or lost file cannot turn the checks into no-ops.
//!
//! `POLYTAG_SHARED=DIR` points at another copy. The skip note goes straight to stderr, past the
//! test harness's capture, so `cargo test` shows it next to the `ok`.
//! polytag-data and polytag-eval include this same file by path (`#[path]`).

use std::io::Write;
use std::path::{Path, PathBuf};

/// `../shared/<relative>` if it exists; `None` (with a note) where the test should skip.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("POLYTAG_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let flag = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v == value);
    let require_shared = flag("POLYTAG_REQUIRE_SHARED", "1");
    let require_files = require_shared || flag("CI", "true");
    let path = root.join(relative);
    if !root.is_dir() {
        assert!(
            !require_shared,
            "POLYTAG_REQUIRE_SHARED=1 but ../shared ({}) does not exist",
            root.display()
        );
        let _ = writeln!(
            std::io::stderr(),
            "skipped: ../shared not found ({}); {relative} not checked",
            root.display()
        );
        return None;
    }
    if !path.exists() {
        assert!(
            !require_files,
            "{} is missing although ../shared exists (CI=true or POLYTAG_REQUIRE_SHARED=1 \
             require every file the tests use)",
            path.display()
        );
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {} missing in ../shared",
            path.display()
        );
        return None;
    }
    Some(path)
}

/// Every `configs/**/*.json` of the repository, sorted.
#[allow(dead_code)] // only the config crate's tests use it
pub fn shipped_configs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A stand-in for `${POLYTAG_MODELS}`: every model folder the shipped configs name
/// (`configs/seed001`, `seed004`, `transformer`), each a copy of the model crate's tiny BERT
/// fixture, so those configs resolve (widths from `config.json`, tokenizers) without the real
/// checkpoints.
#[allow(dead_code)] // not every test crate that includes this module uses it
pub fn stand_in_models(dir: &Path) -> PathBuf {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../polytag-model/tests/fixtures/tiny-bert");
    let models = dir.join("models");
    for name in [
        "bert-base-multilingual-cased",
        "bert-base-cased",
        "all-MiniLM-L6-v2",
    ] {
        let to = models.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&fixture).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    models
}
