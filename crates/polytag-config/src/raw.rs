//! From a JSON value to the written-form types, collecting every problem: unknown keys (with
//! "did you mean"), unknown kinds, wrong types and missing keys, each with its config path.
//!
//! Each dataset, component and task is typed on its own, so one broken element does not hide
//! the problems of the others; unknown keys are reported and dropped first, so an element whose
//! only fault is a typo still takes part in the name and kind checks that follow. The names of
//! elements that failed are kept so that references to them are not reported again as dangling.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::component::{self, Kind, RawComponent};
use crate::dataset::{RawDataset, RawFiles, RawParser};
use crate::error::ConfigError;
use crate::experiment::RawExperiment;
use crate::json::{fields_of, type_name};
use crate::suggest::did_you_mean;
use crate::task::{self, RawLrSchedule, RawTask};
use crate::training::{RawSchedule, RawTraining};

/// The experiment as written, with the elements that could not be typed left out (`None`).
#[derive(Debug, Default)]
pub(crate) struct Partial {
    pub name: Option<String>,
    pub seed: Option<u64>,
    pub output_dir: Option<String>,
    pub training: Option<RawTraining>,
    pub datasets: Vec<Option<RawDataset>>,
    pub tasks: Vec<Option<RawTask>>,
    pub components: Vec<Option<RawComponent>>,
    pub broken_datasets: HashSet<String>,
    pub broken_components: HashSet<String>,
}

impl Partial {
    /// A fully typed experiment.
    pub fn from_raw(raw: &RawExperiment) -> Partial {
        Partial {
            name: raw.name.clone(),
            seed: raw.seed,
            output_dir: raw.output_dir.clone(),
            training: raw.training.clone(),
            datasets: raw.datasets.iter().cloned().map(Some).collect(),
            tasks: raw.tasks.iter().cloned().map(Some).collect(),
            components: raw.components.iter().cloned().map(Some).collect(),
            broken_datasets: HashSet::new(),
            broken_components: HashSet::new(),
        }
    }

    /// The complete experiment, if every element was typed.
    pub fn complete(&self) -> Option<RawExperiment> {
        Some(RawExperiment {
            name: self.name.clone(),
            seed: self.seed,
            output_dir: self.output_dir.clone(),
            training: self.training.clone(),
            datasets: self.datasets.iter().cloned().collect::<Option<_>>()?,
            tasks: self.tasks.iter().cloned().collect::<Option<_>>()?,
            components: self.components.iter().cloned().collect::<Option<_>>()?,
        })
    }
}

/// Types `value`; problems go to `errors`.
pub(crate) fn from_value(value: Value, errors: &mut Vec<ConfigError>) -> Partial {
    let mut partial = Partial::default();
    let Value::Object(mut top) = value else {
        errors.push(ConfigError::Type {
            path: "(top level)".to_string(),
            message: format!("expected an object, found a {}", type_name(&value)),
        });
        return partial;
    };
    // `$schema` points an editor at `polytag schema`'s output; it is read and ignored.
    match top.remove("$schema") {
        None | Some(Value::String(_)) => {}
        Some(other) => errors.push(ConfigError::Type {
            path: "$schema".to_string(),
            message: format!(
                "expected a string (the address of the JSON Schema), found a {}",
                type_name(&other)
            ),
        }),
    }
    check_keys(&mut top, "", fields_of::<RawExperiment>(), errors);
    partial.name = top.remove("name").and_then(|v| typed(v, "name", errors));
    partial.seed = top.remove("seed").and_then(|v| typed(v, "seed", errors));
    partial.output_dir = top
        .remove("output_dir")
        .and_then(|v| typed(v, "output_dir", errors));
    if let Some(mut training) = top.remove("training") {
        if let Value::Object(map) = &mut training {
            check_keys(map, "training", fields_of::<RawTraining>(), errors);
            if let Some(Value::Object(schedule)) = map.get_mut("schedule") {
                check_keys(
                    schedule,
                    "training.schedule",
                    fields_of::<RawSchedule>(),
                    errors,
                );
            }
        }
        partial.training = typed(training, "training", errors);
    }
    for (i, item) in list(&mut top, "datasets", errors).into_iter().enumerate() {
        let typed = dataset(
            item,
            &format!("datasets[{i}]"),
            &mut partial.broken_datasets,
            errors,
        );
        partial.datasets.push(typed);
    }
    for (i, item) in list(&mut top, "components", errors).into_iter().enumerate() {
        let typed = component(
            item,
            &format!("components[{i}]"),
            &mut partial.broken_components,
            errors,
        );
        partial.components.push(typed);
    }
    for (i, item) in list(&mut top, "tasks", errors).into_iter().enumerate() {
        partial
            .tasks
            .push(task(item, &format!("tasks[{i}]"), errors));
    }
    partial
}

/// The elements of a required top-level list.
fn list(top: &mut Map<String, Value>, key: &str, errors: &mut Vec<ConfigError>) -> Vec<Value> {
    match top.remove(key) {
        Some(Value::Array(items)) => items,
        Some(other) => {
            errors.push(ConfigError::Type {
                path: key.to_string(),
                message: format!("expected a list, found a {}", type_name(&other)),
            });
            Vec::new()
        }
        None => {
            errors.push(ConfigError::Invalid {
                path: key.to_string(),
                reason: "missing".to_string(),
            });
            Vec::new()
        }
    }
}

fn dataset(
    mut value: Value,
    at: &str,
    broken: &mut HashSet<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<RawDataset> {
    if let Value::Object(map) = &mut value {
        check_keys(map, at, fields_of::<RawDataset>(), errors);
        if let Some(Value::Object(parser)) = map.get_mut("parser") {
            check_keys(
                parser,
                &format!("{at}.parser"),
                fields_of::<RawParser>(),
                errors,
            );
        }
        if let Some(Value::Object(files)) = map.get_mut("files") {
            check_keys(
                files,
                &format!("{at}.files"),
                fields_of::<RawFiles>(),
                errors,
            );
        }
    }
    let name = name_of(&value);
    let result = typed(value, at, errors);
    if result.is_none() {
        broken.extend(name);
    }
    result
}

fn component(
    value: Value,
    at: &str,
    broken: &mut HashSet<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<RawComponent> {
    let name = name_of(&value);
    let result = component_inner(value, at, errors);
    if result.is_none() {
        broken.extend(name);
    }
    result
}

fn component_inner(value: Value, at: &str, errors: &mut Vec<ConfigError>) -> Option<RawComponent> {
    let Value::Object(mut map) = value else {
        errors.push(ConfigError::Type {
            path: at.to_string(),
            message: format!("expected an object, found a {}", type_name(&value)),
        });
        return None;
    };
    let name: Option<String> = match map.remove("name") {
        Some(v) => typed(v, &format!("{at}.name"), errors),
        None => {
            errors.push(ConfigError::Type {
                path: at.to_string(),
                message: "missing field `name`".to_string(),
            });
            None
        }
    };
    let kind = match map.remove("model") {
        Some(Value::String(tag)) => match Kind::from_name(&tag) {
            Some(kind) => Some(kind),
            None => {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                errors.push(ConfigError::UnknownKind {
                    path: format!("{at}.model"),
                    what: "component kind",
                    suggestion: did_you_mean(&tag, known.iter().copied()),
                    found: tag,
                    known: known.iter().map(|k| k.to_string()).collect(),
                });
                None
            }
        },
        Some(other) => {
            errors.push(ConfigError::Type {
                path: format!("{at}.model"),
                message: format!(
                    "expected a component kind (string), found a {}",
                    type_name(&other)
                ),
            });
            None
        }
        None => {
            errors.push(ConfigError::Type {
                path: at.to_string(),
                message: "missing field `model` (the component kind)".to_string(),
            });
            None
        }
    };
    let learning_rate = match map.remove("learning_rate") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            errors.push(ConfigError::Type {
                path: format!("{at}.learning_rate"),
                message: format!("expected a number, found a {}", type_name(&other)),
            });
            None
        }
    };
    let kind = kind?;
    let mut known: Vec<&'static str> = vec!["name", "model", "learning_rate"];
    known.extend_from_slice(component::fields(kind));
    check_keys(&mut map, at, &known, errors);
    let options = match component::parse_kind(kind, Value::Object(map)) {
        Ok(options) => options,
        Err(error) => {
            errors.push(type_error(at, &error));
            return None;
        }
    };
    Some(RawComponent {
        name: name?,
        learning_rate,
        kind: options,
    })
}

fn task(mut value: Value, at: &str, errors: &mut Vec<ConfigError>) -> Option<RawTask> {
    let mut model_ok = true;
    if let Value::Object(map) = &mut value {
        check_keys(map, at, fields_of::<RawTask>(), errors);
        if let Some(Value::Object(schedule)) = map.get_mut("lr_schedule") {
            check_keys(
                schedule,
                &format!("{at}.lr_schedule"),
                fields_of::<RawLrSchedule>(),
                errors,
            );
        }
        if let Some(model) = map.get_mut("model") {
            model_ok = task_model(model, &format!("{at}.model"), errors);
            if !model_ok {
                // The model's problems are reported; a stand-in model lets the task's other keys
                // be checked in the same run.
                *model = serde_json::json!({"model": "tagger", "features": [], "decoder": ""});
            }
        }
    }
    let result = typed(value, at, errors);
    if model_ok {
        result
    } else {
        None
    }
}

/// Checks the keys of `tasks[i].model` for its tag and types it on its own (so an error names
/// the nested key); true when it is well-formed.
fn task_model(model: &mut Value, at: &str, errors: &mut Vec<ConfigError>) -> bool {
    let Value::Object(map) = model else {
        errors.push(ConfigError::Type {
            path: at.to_string(),
            message: format!("expected an object, found a {}", type_name(model)),
        });
        return false;
    };
    let tag = match map.get("model") {
        Some(Value::String(tag)) => tag.clone(),
        Some(other) => {
            errors.push(ConfigError::Type {
                path: format!("{at}.model"),
                message: format!(
                    "expected \"lstm_crf\" or \"tagger\", found a {}",
                    type_name(other)
                ),
            });
            return false;
        }
        None => {
            errors.push(ConfigError::Type {
                path: at.to_string(),
                message: "missing field `model` (\"lstm_crf\" or \"tagger\")".to_string(),
            });
            return false;
        }
    };
    let Some(fields) = task::model_fields(&tag) else {
        errors.push(ConfigError::UnknownKind {
            path: format!("{at}.model"),
            what: "task model",
            suggestion: did_you_mean(&tag, task::MODEL_TAGS),
            found: tag,
            known: task::MODEL_TAGS.iter().map(|t| t.to_string()).collect(),
        });
        return false;
    };
    let mut known: Vec<&'static str> = vec!["model"];
    known.extend_from_slice(fields);
    check_keys(map, at, &known, errors);
    let mut options = map.clone();
    options.remove("model");
    let result = match tag.as_str() {
        "lstm_crf" => {
            serde_path_to_error::deserialize::<_, task::RawLstmCrf>(Value::Object(options))
                .map(|_| ())
        }
        _ => serde_path_to_error::deserialize::<_, task::RawTagger>(Value::Object(options))
            .map(|_| ()),
    };
    match result {
        Ok(()) => true,
        Err(error) => {
            errors.push(type_error(at, &error));
            false
        }
    }
}

/// Reports the keys of `map` that are not in `known` (with the closest known key) and removes
/// them, so the typed pass that follows does not report them again.
fn check_keys(
    map: &mut Map<String, Value>,
    at: &str,
    known: &[&str],
    errors: &mut Vec<ConfigError>,
) {
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        map.remove(&key);
        errors.push(ConfigError::UnknownKey {
            path: join(at, &key),
            suggestion: did_you_mean(&key, known.iter().copied()),
            known: known.iter().map(|k| k.to_string()).collect(),
        });
    }
}

/// Types `value`, reporting a failure at `at` plus the nested path serde walked.
fn typed<T: DeserializeOwned>(value: Value, at: &str, errors: &mut Vec<ConfigError>) -> Option<T> {
    match serde_path_to_error::deserialize(value) {
        Ok(typed) => Some(typed),
        Err(error) => {
            errors.push(type_error(at, &error));
            None
        }
    }
}

fn type_error(at: &str, error: &serde_path_to_error::Error<serde_json::Error>) -> ConfigError {
    use serde_path_to_error::Segment;
    let mut path = at.to_string();
    for segment in error.path().iter() {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } => path = join(&path, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    ConfigError::Type {
        path,
        message: error.inner().to_string(),
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn name_of(value: &Value) -> Option<String> {
    value.get("name")?.as_str().map(str::to_string)
}
