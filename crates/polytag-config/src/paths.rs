//! Paths in an experiment file: `${VAR}` / `$VAR` from the environment, `~/` from `HOME`,
//! relative to the config file's folder, made absolute.
//!
//! Paths are normalised lexically (`a/./b/../c` → `a/c`) and never canonicalised: a data file
//! may not exist yet when a config is validated, and symlinks are the user's business.
//! `$$` stands for a literal `$`; [`escape`] writes paths back that way, so a resolved config
//! re-reads to the same paths even if a directory name contains `$`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Where `${VAR}` values come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Env {
    /// The process environment (what the CLI uses).
    #[default]
    Process,
    /// A fixed table: tests, and tools that resolve a config for another machine.
    Map(BTreeMap<String, String>),
}

impl Env {
    /// A fixed table from `(name, value)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The value of `name`; unset and empty are both `None` (an empty `POLYTAG_DATA` would
    /// turn `${POLYTAG_DATA}/x` into `/x`, which is never what was meant).
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match self {
            Env::Process => std::env::var(name).ok(),
            Env::Map(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.is_empty())
    }
}

/// Why a path value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathProblem {
    /// `${VAR}` or `$VAR` with VAR unset or empty.
    Unset(String),
    /// `${` without `}`.
    Unterminated,
    /// The value is the empty string.
    Empty,
}

/// Expands variables in `raw`, then makes it absolute against `base` (itself absolute).
pub(crate) fn resolve(raw: &str, base: &Path, env: &Env) -> Result<PathBuf, PathProblem> {
    if raw.is_empty() {
        return Err(PathProblem::Empty);
    }
    let expanded = expand(raw, env)?;
    let path = PathBuf::from(expanded);
    let joined = if path.is_absolute() {
        path
    } else {
        base.join(path)
    };
    Ok(normalize(&joined))
}

/// `${VAR}`, `$VAR` (VAR = `[A-Za-z_][A-Za-z0-9_]*`), `$$` → `$`, leading `~/` → `$HOME/`.
/// A `$` followed by anything else stays as it is.
fn expand(raw: &str, env: &Env) -> Result<String, PathProblem> {
    let mut out = String::with_capacity(raw.len());
    let rest = match raw.strip_prefix("~/") {
        Some(rest) => {
            out.push_str(
                &env.get("HOME")
                    .ok_or_else(|| PathProblem::Unset("HOME".into()))?,
            );
            out.push('/');
            rest
        }
        None => raw,
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let close = chars[i + 2..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or(PathProblem::Unterminated)?;
                let name: String = chars[i + 2..i + 2 + close].iter().collect();
                out.push_str(&env.get(&name).ok_or(PathProblem::Unset(name))?);
                i += close + 3;
            }
            Some(&c) if c == '_' || c.is_ascii_alphabetic() => {
                let len = chars[i + 1..]
                    .iter()
                    .take_while(|c| **c == '_' || c.is_ascii_alphanumeric())
                    .count();
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                out.push_str(&env.get(&name).ok_or(PathProblem::Unset(name))?);
                i += 1 + len;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Removes `.` and resolves `..` against the preceding component, without touching the disk.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A path as a config string that [`resolve`] maps back to the same path: `$` doubled.
/// Non-UTF-8 bytes are replaced (JSON strings are UTF-8).
pub(crate) fn escape(path: &Path) -> String {
    path.to_string_lossy().replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::from_pairs([("DATA", "/data"), ("HOME", "/home/u"), ("EMPTY", "")])
    }

    #[test]
    fn expands_both_variable_forms() {
        let base = Path::new("/cfg");
        assert_eq!(
            resolve("${DATA}/x.conll", base, &env()),
            Ok(PathBuf::from("/data/x.conll"))
        );
        assert_eq!(
            resolve("$DATA/x.conll", base, &env()),
            Ok(PathBuf::from("/data/x.conll"))
        );
        assert_eq!(resolve("~/x", base, &env()), Ok(PathBuf::from("/home/u/x")));
        assert_eq!(resolve("a$$b", base, &env()), Ok(PathBuf::from("/cfg/a$b")));
        assert_eq!(
            resolve("a$-b", base, &env()),
            Ok(PathBuf::from("/cfg/a$-b"))
        );
    }

    #[test]
    fn unset_or_empty_variable_is_named() {
        let base = Path::new("/cfg");
        assert_eq!(
            resolve("${NOPE}/x", base, &env()),
            Err(PathProblem::Unset("NOPE".into()))
        );
        assert_eq!(
            resolve("$EMPTY/x", base, &env()),
            Err(PathProblem::Unset("EMPTY".into()))
        );
        assert_eq!(
            resolve("${DATA", base, &env()),
            Err(PathProblem::Unterminated)
        );
        assert_eq!(resolve("", base, &env()), Err(PathProblem::Empty));
    }

    #[test]
    fn relative_paths_join_the_config_folder() {
        let base = Path::new("/repo/configs");
        assert_eq!(
            resolve("../datasets/sample/eng/train.conll", base, &env()),
            Ok(PathBuf::from("/repo/datasets/sample/eng/train.conll"))
        );
        assert_eq!(
            resolve("./a/./b", base, &env()),
            Ok(PathBuf::from("/repo/configs/a/b"))
        );
        assert_eq!(resolve("/abs/../x", base, &env()), Ok(PathBuf::from("/x")));
    }

    #[test]
    fn escape_round_trips() {
        let p = Path::new("/data/$weird/x");
        assert_eq!(
            resolve(&escape(p), Path::new("/"), &env()),
            Ok(p.to_path_buf())
        );
    }
}
