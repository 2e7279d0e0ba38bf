//! `--set PATH=VALUE`: edits of the JSON value before it is typed (so an override is checked
//! exactly like the file: unknown keys, types, names).
//!
//! A path is dot-separated segments; in an object a segment is a key, in a list it is an index
//! (`tasks.0.learning_rate`) or the `name` of an element (`tasks."Dutch NER".learning_rate`,
//! or unquoted `tasks.Dutch NER.learning_rate`; quotes are needed only for names with dots).
//! The value is JSON if it parses as JSON (`0.01`, `true`, `[[2,20]]`, `"x"`), else a string.
//!
//! Why not the `config` crate (config-rs 0.15): its paths are `a.b[0]` with identifiers limited
//! to `[A-Za-z0-9_-]`, so list elements cannot be chosen by `name` ("Dutch NER") nor by
//! `tasks.0`; it coerces override strings lazily, so `sample=200` (a count) and `sample=0.5`
//! (a fraction) are no longer told apart by JSON type; it needs Rust 1.88 (the workspace
//! targets 1.85) and pulls TOML/YAML/INI parsers for nothing. The edit below is the whole job.

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::{ConfigError, OverrideProblem};
use crate::json::type_name;

/// One parsed `--set PATH=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The text as given (for messages).
    pub text: String,
    /// Path segments, unquoted.
    pub path: Vec<String>,
    /// The value to put there.
    pub value: Value,
}

impl Override {
    /// Parses `PATH=VALUE` (split at the first `=` outside quotes).
    pub fn parse(text: &str) -> Result<Override, ConfigError> {
        let fail = |problem| ConfigError::Override {
            text: text.to_string(),
            problem,
        };
        let mut path = Vec::new();
        let mut segment = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        let mut value_start = None;
        for (i, c) in text.char_indices() {
            match c {
                '"' => {
                    quoted = !quoted;
                    was_quoted = true;
                }
                '.' if !quoted => {
                    if segment.is_empty() && !was_quoted {
                        return Err(fail(OverrideProblem::EmptySegment));
                    }
                    path.push(std::mem::take(&mut segment));
                    was_quoted = false;
                }
                '=' if !quoted => {
                    value_start = Some(i + 1);
                    break;
                }
                c => segment.push(c),
            }
        }
        if quoted {
            return Err(fail(OverrideProblem::UnterminatedQuote));
        }
        let Some(value_start) = value_start else {
            return Err(fail(OverrideProblem::NoEquals));
        };
        if segment.is_empty() && !was_quoted {
            return Err(fail(OverrideProblem::EmptySegment));
        }
        path.push(segment);
        let raw = &text[value_start..];
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        Ok(Override {
            text: text.to_string(),
            path,
            value,
        })
    }

    /// Writes the value into `root`. Missing object keys are created (an unknown key then gets
    /// the usual "unknown key; did you mean" from validation); list elements must exist.
    pub fn apply(&self, root: &mut Value) -> Result<(), ConfigError> {
        let fail = |problem| ConfigError::Override {
            text: self.text.clone(),
            problem,
        };
        let mut at = String::new();
        let mut current = root;
        // `parse` never yields an empty path; an empty one writes nothing.
        let Some((last, parents)) = self.path.split_last() else {
            return Ok(());
        };
        for segment in parents {
            current = step(current, segment, &at, true).map_err(fail)?;
            at = describe(&at, segment);
        }
        match current {
            Value::Object(map) => {
                map.insert(last.clone(), self.value.clone());
            }
            Value::Array(_) => {
                let slot = step(current, last, &at, false).map_err(fail)?;
                *slot = self.value.clone();
            }
            other => {
                let at = if at.is_empty() {
                    "(top level)".to_string()
                } else {
                    at
                };
                return Err(fail(OverrideProblem::NotContainer {
                    at,
                    found: type_name(other),
                }));
            }
        }
        Ok(())
    }
}

impl FromStr for Override {
    type Err = ConfigError;
    fn from_str(text: &str) -> Result<Override, ConfigError> {
        Override::parse(text)
    }
}

/// The child of `current` named by `segment`; `create` makes a missing object key an object.
fn step<'v>(
    current: &'v mut Value,
    segment: &str,
    at: &str,
    create: bool,
) -> Result<&'v mut Value, OverrideProblem> {
    let here = || {
        if at.is_empty() {
            "(top level)".to_string()
        } else {
            at.to_string()
        }
    };
    match current {
        Value::Object(map) => {
            if !map.contains_key(segment) && create {
                map.insert(segment.to_string(), Value::Object(Map::new()));
            }
            // Present now, either found or just inserted.
            map.get_mut(segment).ok_or(OverrideProblem::EmptySegment)
        }
        Value::Array(items) => {
            let len = items.len();
            let position = match segment.parse::<usize>() {
                Ok(index) if index < len => index,
                Ok(index) if !items.iter().any(|item| name_is(item, segment)) => {
                    return Err(OverrideProblem::IndexOutOfRange {
                        at: here(),
                        index,
                        len,
                    });
                }
                _ => match items.iter().position(|item| name_is(item, segment)) {
                    Some(position) => position,
                    None => {
                        let known = items
                            .iter()
                            .filter_map(|item| item.get("name")?.as_str().map(str::to_string))
                            .collect();
                        return Err(OverrideProblem::NoElementNamed {
                            at: here(),
                            name: segment.to_string(),
                            known,
                        });
                    }
                },
            };
            items
                .get_mut(position)
                .ok_or(OverrideProblem::IndexOutOfRange {
                    at: here(),
                    index: position,
                    len,
                })
        }
        other => Err(OverrideProblem::NotContainer {
            at: here(),
            found: type_name(other),
        }),
    }
}

fn name_is(item: &Value, name: &str) -> bool {
    item.get("name").and_then(Value::as_str) == Some(name)
}

fn describe(at: &str, segment: &str) -> String {
    if at.is_empty() {
        segment.to_string()
    } else {
        format!("{at}.{segment}")
    }
}

/// Parses and applies every override in order; all parse and path problems are returned.
pub(crate) fn apply_all(root: &mut Value, overrides: &[Override]) -> Vec<ConfigError> {
    overrides
        .iter()
        .filter_map(|o| o.apply(root).err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "training": {"max_step": 100},
            "tasks": [
                {"name": "Dutch NER", "learning_rate": 0.02},
                {"name": "a.b", "learning_rate": 0.02}
            ]
        })
    }

    fn set(text: &str) -> Result<Value, String> {
        let mut value = doc();
        Override::parse(text)
            .and_then(|o| o.apply(&mut value))
            .map_err(|e| e.to_string())?;
        Ok(value)
    }

    #[test]
    fn sets_by_key_index_and_name() {
        assert_eq!(
            set("training.max_step=200").unwrap()["training"]["max_step"],
            json!(200)
        );
        assert_eq!(
            set("tasks.0.learning_rate=0.01").unwrap()["tasks"][0]["learning_rate"],
            json!(0.01)
        );
        assert_eq!(
            set("tasks.Dutch NER.learning_rate=0.5").unwrap()["tasks"][0]["learning_rate"],
            json!(0.5)
        );
        assert_eq!(
            set("tasks.\"Dutch NER\".ref=true").unwrap()["tasks"][0]["ref"],
            json!(true)
        );
        assert_eq!(
            set("tasks.\"a.b\".learning_rate=1").unwrap()["tasks"][1]["learning_rate"],
            json!(1)
        );
    }

    #[test]
    fn value_is_json_when_it_parses_else_a_string() {
        let v = set("training.schedule.kind=round_robin").unwrap();
        assert_eq!(v["training"]["schedule"]["kind"], json!("round_robin"));
        let v = set("training.filters=[[2,20],[3,20]]").unwrap();
        assert_eq!(v["training"]["filters"], json!([[2, 20], [3, 20]]));
        assert_eq!(set("name=\"123\"").unwrap()["name"], json!("123"));
        assert_eq!(set("name=123").unwrap()["name"], json!(123));
        assert_eq!(set("name=a=b").unwrap()["name"], json!("a=b"));
    }

    #[test]
    fn replaces_a_whole_list_element() {
        let v = set("tasks.1={\"name\": \"x\"}").unwrap();
        assert_eq!(v["tasks"][1], json!({"name": "x"}));
    }

    #[test]
    fn bad_paths_name_the_override() {
        assert_eq!(
            set("tasks.5.learning_rate=0.1").unwrap_err(),
            "--set tasks.5.learning_rate=0.1: tasks has 2 elements, no index 5"
        );
        assert_eq!(
            set("tasks.Dutch NR.learning_rate=0.1").unwrap_err(),
            "--set tasks.Dutch NR.learning_rate=0.1: tasks has no element named \"Dutch NR\"; known: Dutch NER, a.b"
        );
        assert_eq!(
            set("training.max_step.x=1").unwrap_err(),
            "--set training.max_step.x=1: training.max_step is a number, not an object or a list"
        );
        assert_eq!(
            set("training.max_step").unwrap_err(),
            "--set training.max_step: expected PATH=VALUE"
        );
        assert_eq!(
            set("training..max_step=1").unwrap_err(),
            "--set training..max_step=1: empty path segment"
        );
        assert_eq!(set("=1").unwrap_err(), "--set =1: empty path segment");
        assert_eq!(
            set("tasks.\"x=1").unwrap_err(),
            "--set tasks.\"x=1: unterminated quote in the path"
        );
    }
}
