//! The config keys that differ between runs, as dotted paths (`training.max_step`), so a
//! comparison shows what was varied and nothing else. Elements of lists of named objects are
//! addressed by name (`tasks[Dutch NER].learning_rate`), other array elements by index.

use serde_json::Value;

/// One differing key and each run's value, rendered compactly (`None`: absent in that run).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Dotted path; array elements by index.
    pub path: String,
    /// One entry per run, in run order.
    pub values: Vec<Option<String>>,
}

/// Values longer than this are cut (a whole missing task block would swamp the table).
const MAX_VALUE_CHARS: usize = 40;

/// Compares `configs` key by key. Objects present in every run are descended into (their key
/// union), so are arrays (index by index); where a key is absent from some run, or the kinds
/// differ, the difference is reported at that path as a whole, not leaf by leaf.
pub fn config_differences(configs: &[&Value]) -> Vec<Difference> {
    let mut out = Vec::new();
    let values: Vec<Option<&Value>> = configs.iter().map(|v| Some(*v)).collect();
    walk(String::new(), &values, &mut out);
    out
}

fn walk(path: String, values: &[Option<&Value>], out: &mut Vec<Difference>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    if values.iter().all(|v| matches!(v, Some(Value::Object(_)))) {
        let mut keys: Vec<&String> = Vec::new();
        for v in values {
            if let Some(Value::Object(m)) = v {
                for k in m.keys() {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
        }
        for k in keys {
            let children: Vec<Option<&Value>> =
                values.iter().map(|v| v.and_then(|v| v.get(k))).collect();
            walk(join(k), &children, out);
        }
    } else if let Some(named) = by_name(values) {
        for (name, children) in named {
            walk(format!("{path}[{name}]"), &children, out);
        }
    } else if values.iter().all(|v| matches!(v, Some(Value::Array(_)))) {
        let len = values
            .iter()
            .filter_map(|v| v.and_then(Value::as_array).map(Vec::len))
            .max()
            .unwrap_or(0);
        for i in 0..len {
            let children: Vec<Option<&Value>> =
                values.iter().map(|v| v.and_then(|v| v.get(i))).collect();
            walk(join(&i.to_string()), &children, out);
        }
    } else if values.windows(2).any(|w| w[0] != w[1]) {
        out.push(Difference {
            path,
            values: values.iter().map(|v| v.map(compact)).collect(),
        });
    }
}

/// Arrays of named objects (`datasets`, `tasks`, `components`) in every run are matched by
/// `name`, not by index: one component more at the front would otherwise shift every later
/// one and make the whole list "differ". Returns each name (first-seen order) with each run's
/// element; `None` when some array has an element without a string `name` or a repeated one.
fn by_name<'a>(values: &[Option<&'a Value>]) -> Option<Vec<Named<'a>>> {
    let mut names: Vec<String> = Vec::new();
    let mut per_run: Vec<Vec<(&str, &Value)>> = Vec::new();
    for v in values {
        let arr = v.and_then(Value::as_array)?;
        let mut elems = Vec::new();
        for e in arr {
            let name = e.get("name")?.as_str()?;
            if elems.iter().any(|(n, _)| *n == name) {
                return None;
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
            elems.push((name, e));
        }
        per_run.push(elems);
    }
    if names.is_empty() {
        return None;
    }
    Some(
        names
            .into_iter()
            .map(|name| {
                let children = per_run
                    .iter()
                    .map(|elems| elems.iter().find(|(n, _)| *n == name).map(|(_, e)| *e))
                    .collect();
                (name, children)
            })
            .collect(),
    )
}

/// A list element's name with each run's element of that name.
type Named<'a> = (String, Vec<Option<&'a Value>>);

/// A value as one short line: strings without quotes, the rest as compact JSON, cut.
fn compact(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > MAX_VALUE_CHARS {
        let cut: String = s.chars().take(MAX_VALUE_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_differing_leaves_as_dotted_paths() {
        let a = json!({"name": "x", "seed": 1, "training": {"max_step": 10, "eval_freq": 5},
                       "tasks": [{"name": "t", "learning_rate": 0.1}], "dims": [1, 2]});
        let b = json!({"name": "x", "seed": 2, "training": {"max_step": 10, "eval_freq": 5},
                       "tasks": [{"name": "t", "learning_rate": 0.01}], "dims": [1, 3]});
        let d = config_differences(&[&a, &b]);
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["seed", "tasks[t].learning_rate", "dims.1"]);
        assert_eq!(d[0].values, [Some("1".into()), Some("2".into())]);
        assert_eq!(d[1].values, [Some("0.1".into()), Some("0.01".into())]);
    }

    #[test]
    fn missing_subtree_is_one_difference() {
        let a = json!({"tasks": [{"name": "a"}]});
        let b = json!({"tasks": [{"name": "b", "lr": 1}, {"name": "a"}], "extra": true});
        let d = config_differences(&[&a, &b]);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].path, "tasks[b]");
        assert_eq!(d[0].values, [None, Some(r#"{"name":"b","lr":1}"#.into())]);
        assert_eq!(d[1].path, "extra");
        assert_eq!(d[1].values, [None, Some("true".into())]);
    }

    #[test]
    fn unnamed_or_duplicate_names_fall_back_to_indices() {
        let a = json!({"l": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]});
        let b = json!({"l": [{"name": "a", "v": 1}, {"name": "a", "v": 3}]});
        let d = config_differences(&[&a, &b]);
        assert_eq!(d[0].path, "l.1.v");
        let a = json!({"l": [{"v": 1}]});
        let b = json!({"l": [{"v": 2}]});
        assert_eq!(config_differences(&[&a, &b])[0].path, "l.0.v");
    }

    #[test]
    fn identical_configs_have_no_differences() {
        let a = json!({"a": [1, 2, {"b": "c"}]});
        assert!(config_differences(&[&a, &a.clone()]).is_empty());
        assert!(config_differences(&[&a]).is_empty());
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(100);
        let a = json!({"k": long});
        let b = json!({"k": "y"});
        let d = config_differences(&[&a, &b]);
        let v = d[0].values[0].as_deref().unwrap_or_default();
        assert_eq!(v.chars().count(), MAX_VALUE_CHARS);
        assert!(v.ends_with('…'));
    }
}
