//! The state shared by every step of resolution: the errors and warnings collected so far,
//! the config's folder, the environment and whether files must exist.
//!
//! Each step (training, datasets, components, tasks, cross-checks) pushes its problems here and
//! goes on, so one run of `polytag validate` lists every problem (style.md, "Errors").

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, ConfigWarning};
use crate::paths::{self, Env, PathProblem};

/// Whether a path names a file or a folder, for the existence check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    File,
    Dir,
    /// An output location: never checked.
    Output,
}

/// Resolution state.
pub(crate) struct Ctx<'a> {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<ConfigWarning>,
    pub base_dir: PathBuf,
    pub env: &'a Env,
    pub check_files: bool,
    /// A run's `transformers/` folder: transformer files are read from its
    /// `<component name>/` copies instead of the paths in the config.
    pub transformers_dir: Option<PathBuf>,
    /// The name of the component being resolved (for its copies).
    pub component_name: Option<String>,
}

impl Ctx<'_> {
    /// Records an error.
    pub fn push(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// Records [`ConfigError::Invalid`].
    pub fn invalid(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ConfigError::Invalid {
            path: path.into(),
            reason: reason.into(),
        });
    }

    /// Records [`ConfigError::OutOfRange`] unless `ok`; returns `ok`.
    pub fn range(
        &mut self,
        path: impl Into<String>,
        found: f64,
        ok: bool,
        expected: &'static str,
    ) -> bool {
        if !ok {
            self.errors.push(ConfigError::OutOfRange {
                path: path.into(),
                found,
                expected,
            });
        }
        ok
    }

    /// A whole number that must be at least 1.
    pub fn positive(&mut self, path: impl Into<String>, value: u64) -> bool {
        // Steps and sizes fit f64 exactly far beyond any real config.
        self.range(path, value as f64, value >= 1, "an integer >= 1")
    }

    /// A dropout or similar probability in [0, 1).
    pub fn probability(&mut self, path: impl Into<String>, value: f64) -> bool {
        self.range(
            path,
            value,
            (0.0..1.0).contains(&value),
            "a value in [0, 1)",
        )
    }

    /// A path value: variables expanded, made absolute against the config's folder, and
    /// (if asked) checked to exist. `None` when it cannot be expanded (the error is recorded).
    pub fn path(&mut self, path: &str, raw: &str, entry: Entry) -> Option<PathBuf> {
        match paths::resolve(raw, &self.base_dir, self.env) {
            Ok(resolved) => {
                self.check_exists(path, &resolved, entry);
                Some(resolved)
            }
            Err(PathProblem::Unset(var)) => {
                self.push(ConfigError::EnvVar {
                    path: path.to_string(),
                    var,
                });
                None
            }
            Err(PathProblem::Unterminated) => {
                self.invalid(
                    path,
                    format!("\"{raw}\" has \"${{\" without a closing \"}}\""),
                );
                None
            }
            Err(PathProblem::Empty) => {
                self.invalid(path, "empty path");
                None
            }
        }
    }

    /// The folder of the current component's copies in a run, when resolving a run's config.
    pub fn transformer_copies(&self) -> Option<PathBuf> {
        let dir = self.transformers_dir.as_ref()?;
        Some(dir.join(self.component_name.as_deref()?))
    }

    /// Records [`ConfigError::MissingFile`] at `path` when file checks are on and `file`
    /// is not a file.
    pub fn check_file(&mut self, path: &str, file: &Path) {
        self.check_exists(path, file, Entry::File);
    }

    fn check_exists(&mut self, path: &str, file: &Path, entry: Entry) {
        if !self.check_files {
            return;
        }
        if let Some(error) = missing(path, file, entry) {
            self.push(error);
        }
    }
}

/// [`ConfigError::MissingFile`] when `file` is not there as the kind of entry expected.
pub(crate) fn missing(path: &str, file: &Path, entry: Entry) -> Option<ConfigError> {
    let present = match entry {
        Entry::File => file.is_file(),
        Entry::Dir => file.is_dir(),
        Entry::Output => true,
    };
    (!present).then(|| ConfigError::MissingFile {
        path: path.to_string(),
        file: file.to_path_buf(),
    })
}

/// Names of one list (datasets, components or tasks) → index, with the names of elements
/// that failed to parse, so a reference to a broken element is not reported a second time
/// as dangling.
pub(crate) struct Names<T> {
    index: HashMap<String, (usize, T)>,
    /// In config order, for "known: ..." lists.
    order: Vec<(String, T)>,
    broken: HashSet<String>,
}

impl<T: Copy> Names<T> {
    /// Builds the table; a repeated name is an error at `<list>[i].name`.
    pub fn build<'n>(
        list: &str,
        what: &'static str,
        entries: impl IntoIterator<Item = (usize, &'n str, T)>,
        broken: &HashSet<String>,
        ctx: &mut Ctx<'_>,
    ) -> Names<T> {
        let mut names = Names {
            index: HashMap::new(),
            order: Vec::new(),
            broken: broken.clone(),
        };
        for (i, name, data) in entries {
            if let Some((first, _)) = names.index.get(name) {
                ctx.push(ConfigError::Duplicate {
                    path: format!("{list}[{i}].name"),
                    what,
                    name: name.to_string(),
                    first: format!("{list}[{first}]"),
                });
                continue;
            }
            names.index.insert(name.to_string(), (i, data));
            names.order.push((name.to_string(), data));
        }
        names
    }

    /// The entry named `name`, if any.
    pub fn get(&self, name: &str) -> Option<(usize, T)> {
        self.index.get(name).copied()
    }

    /// True when `name` belongs to an element that failed to parse (already reported).
    pub fn is_broken(&self, name: &str) -> bool {
        self.broken.contains(name)
    }

    /// Known names whose data passes `keep`, in config order.
    pub fn known(&self, keep: impl Fn(T) -> bool) -> Vec<String> {
        self.order
            .iter()
            .filter(|(_, d)| keep(*d))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// Names are used in run-directory file names and on the command line: not empty, no path
/// separators, no control characters.
pub(crate) fn check_name(path: &str, name: &str, ctx: &mut Ctx<'_>) {
    if name.is_empty() {
        ctx.invalid(path, "empty name");
    } else if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        ctx.invalid(
            path,
            format!("\"{name}\" contains a path separator or control character"),
        );
    }
}
