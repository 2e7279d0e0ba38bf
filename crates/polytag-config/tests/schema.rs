//! `polytag_config::schema()` against real acceptance: every shipped config validates, and the
//! mistakes the parser rejects before resolution (unknown keys at every level, unknown kinds,
//! wrong types, missing required keys) are rejected by the schema too.
//!
//! The validator is a focused one, below: the `jsonschema` crate as a dev-dependency turns on
//! features of serde_json (`float_roundtrip`), num-traits, regex and ahash for test builds only,
//! so `cargo test` and `cargo build` would compile burn twice and the tests would parse floats
//! unlike the binary. This one implements the draft 2020-12 keywords the schema uses and
//! refuses any other keyword, so a constraint can never be skipped silently.

mod common;

use std::path::{Path, PathBuf};

use polytag_config::{Experiment, ResolveOptions};
use serde_json::{json, Map, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Validates instances against one root schema (its `$defs` resolve `$ref`s).
struct Validator {
    root: Value,
}

/// Keywords that annotate and constrain nothing.
const ANNOTATIONS: [&str; 5] = ["$schema", "$defs", "title", "description", "format"];

/// Keywords that constrain an object together.
const OBJECT_KEYWORDS: [&str; 3] = ["properties", "additionalProperties", "required"];

impl Validator {
    fn new(root: Value) -> Validator {
        Validator { root }
    }

    /// Every violation, as `path: what` (empty: valid).
    fn errors(&self, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(&self.root, value, "", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return errors.push(format!("{at}: nothing is allowed here")),
            Value::Object(map) => map,
            other => panic!("not a schema at {at}: {other}"),
        };
        for (keyword, arg) in schema {
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "$ref" => {
                    let target = arg.as_str().unwrap();
                    let name = target.strip_prefix("#/$defs/").expect("a local $ref");
                    self.check(&self.root["$defs"][name], value, at, errors);
                }
                "type" => {
                    let types: Vec<&str> = match arg {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
                        other => panic!("bad type {other}"),
                    };
                    if !types.iter().any(|t| has_type(value, t)) {
                        errors.push(format!("{at}: {value} is not of type {types:?}"));
                    }
                }
                "const" if arg != value => errors.push(format!("{at}: {value} is not {arg}")),
                "enum" if !arg.as_array().unwrap().contains(value) => {
                    errors.push(format!("{at}: {value} is not one of {arg}"))
                }
                "const" | "enum" => {}
                "minimum" => {
                    if let (Some(v), Some(min)) = (value.as_f64(), arg.as_f64()) {
                        if v < min {
                            errors.push(format!("{at}: {value} < {min}"));
                        }
                    }
                }
                "exclusiveMinimum" => {
                    if let (Some(v), Some(min)) = (value.as_f64(), arg.as_f64()) {
                        if v <= min {
                            errors.push(format!("{at}: {value} <= {min}"));
                        }
                    }
                }
                "properties" | "additionalProperties" | "required" => {
                    // The three act together: checked once, at the first of them.
                    let first = schema
                        .keys()
                        .find(|k| OBJECT_KEYWORDS.contains(&k.as_str()));
                    if let (Some(true), Value::Object(object)) =
                        (first.map(|k| k == keyword), value)
                    {
                        self.check_object(schema, object, at, errors);
                    }
                }
                "items" | "prefixItems" | "minItems" | "maxItems" => {
                    if let Value::Array(items) = value {
                        self.check_array(keyword, arg, schema, items, at, errors);
                    }
                }
                "anyOf" | "oneOf" => {
                    let alternatives = arg.as_array().unwrap();
                    let passing = alternatives
                        .iter()
                        .filter(|s| {
                            let mut sub = Vec::new();
                            self.check(s, value, at, &mut sub);
                            sub.is_empty()
                        })
                        .count();
                    let ok = if keyword == "oneOf" {
                        passing == 1
                    } else {
                        passing >= 1
                    };
                    if !ok {
                        errors.push(format!(
                            "{at}: {value} matches {passing} of the {keyword} alternatives"
                        ));
                    }
                }
                other => panic!("the test validator does not implement `{other}` (at {at})"),
            }
        }
    }

    /// `properties`, `required` and `additionalProperties` of one object schema.
    fn check_object(
        &self,
        schema: &Map<String, Value>,
        object: &Map<String, Value>,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let empty = Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().unwrap();
            if !object.contains_key(key) {
                errors.push(format!("{at}: missing required key {key:?}"));
            }
        }
        for (key, item) in object {
            let path = format!("{at}/{key}");
            match properties.get(key) {
                Some(sub) => self.check(sub, item, &path, errors),
                None => match schema.get("additionalProperties") {
                    None | Some(Value::Bool(true)) => {}
                    Some(Value::Bool(false)) => errors.push(format!("{path}: unknown key")),
                    Some(sub) => self.check(sub, item, &path, errors),
                },
            }
        }
    }

    fn check_array(
        &self,
        keyword: &str,
        arg: &Value,
        schema: &Map<String, Value>,
        items: &[Value],
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let prefix = schema
            .get("prefixItems")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        match keyword {
            "prefixItems" => {
                for (i, (sub, item)) in arg.as_array().unwrap().iter().zip(items).enumerate() {
                    self.check(sub, item, &format!("{at}/{i}"), errors);
                }
            }
            "items" => {
                for (i, item) in items.iter().enumerate().skip(prefix) {
                    self.check(arg, item, &format!("{at}/{i}"), errors);
                }
            }
            "minItems" if (items.len() as u64) < arg.as_u64().unwrap() => {
                errors.push(format!("{at}: fewer than {arg} items"))
            }
            "maxItems" if (items.len() as u64) > arg.as_u64().unwrap() => {
                errors.push(format!("{at}: more than {arg} items"))
            }
            _ => {}
        }
    }
}

/// JSON Schema's types; `integer` is any number with a zero fraction.
fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        other => panic!("unknown type {other}"),
    }
}

fn validator() -> Validator {
    Validator::new(polytag_config::schema())
}

/// The schema's complaints about `value`, one line each (empty: valid).
fn problems(validator: &Validator, value: &Value) -> Vec<String> {
    validator.errors(value)
}

/// Whether the parser accepts `value` (files on disk are not checked).
fn parser_accepts(value: &Value) -> bool {
    let options = ResolveOptions::default().without_file_check();
    Experiment::from_json_str(&value.to_string(), &[], &options).is_ok()
}

/// Whether the parser rejects `value` for a reason a schema can see: an unknown key or kind, a
/// wrong type, or a missing key (not a dangling name or a width).
fn parser_rejects_shape(value: &Value) -> bool {
    use polytag_config::ConfigError;
    let options = ResolveOptions::default().without_file_check();
    match Experiment::from_json_str(&value.to_string(), &[], &options) {
        Ok(_) => false,
        Err(errors) => errors.iter().any(|e| match e {
            ConfigError::UnknownKey { .. }
            | ConfigError::UnknownKind { .. }
            | ConfigError::Type { .. } => true,
            ConfigError::Invalid { reason, .. } => reason == "missing",
            _ => false,
        }),
    }
}

fn quickstart() -> Value {
    let text = std::fs::read_to_string(root().join("configs/quickstart.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_shipped_config_validates() {
    let validator = validator();
    let files = common::shipped_configs();
    assert!(files.len() >= 20, "found only {files:?}");
    for file in &files {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        assert_eq!(
            problems(&validator, &value),
            Vec::<String>::new(),
            "{}",
            file.display()
        );
    }
}

#[test]
fn the_paper_example_config_validates_when_shared_is_present() {
    let Some(file) = common::shared("docs/paper-example-config.json") else {
        return;
    };
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(problems(&validator(), &value), Vec::<String>::new());
}

/// A change to the quickstart that both the parser and the schema must reject.
fn rejected(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut value = quickstart();
    edit(&mut value);
    assert!(parser_rejects_shape(&value), "the parser accepts {value}");
    let found = problems(&validator(), &value);
    assert!(!found.is_empty(), "the schema accepts {value}");
    found
}

#[test]
fn misspelt_keys_are_rejected_at_every_level() {
    let found = rejected(|v| {
        let task = v["tasks"][0].as_object_mut().unwrap();
        let lr = task.remove("learning_rate").unwrap();
        task.insert("learning_rte".into(), lr);
    });
    assert!(
        found.iter().any(|p| p.contains("learning_rte")),
        "{found:?}"
    );
    rejected(|v| v["trainng"] = json!({}));
    rejected(|v| v["training"]["max_steps"] = json!(10));
    rejected(|v| v["training"]["schedule"]["task_discont"] = json!(0.1));
    rejected(|v| v["datasets"][0]["parser"]["label_column"] = json!(2));
    rejected(|v| v["datasets"][0]["files"]["devel"] = json!("x"));
    rejected(|v| v["tasks"][0]["model"]["lstm_dropuot"] = json!(0.5));
    rejected(|v| v["tasks"][0]["lr_schedule"] = json!({"kind": "step", "gama": 0.5}));
    // A key of another component kind: `hidden_size` belongs to lstm, not to embedding.
    rejected(|v| v["components"][0]["hidden_size"] = json!(10));
    rejected(|v| v["components"][4]["hiden_size"] = json!(10));
    rejected(|v| v["datasets"][0]["sample"] = json!({"frist": 10}));
    // `$schema` is ignored only at the top level.
    rejected(|v| v["tasks"][0]["$schema"] = json!("schema.json"));
}

/// The fine-tuning keys are in the schema where the parser reads them: a `learning_rate` on
/// any component kind, the task's `accumulate` / `decay_norm_and_bias`, the linear schedule's
/// warm-up and `training.optimizer_state`.
#[test]
fn fine_tuning_keys_are_in_the_schema() {
    let mut value = quickstart();
    value["components"][0]["learning_rate"] = json!(3e-5);
    value["components"][4]["learning_rate"] = json!(1e-3);
    value["tasks"][0]["accumulate"] = json!(4);
    for t in 0..4 {
        // One optimizer for all tasks: their settings must agree.
        value["tasks"][t]["decay_norm_and_bias"] = json!(false);
    }
    value["tasks"][0]["lr_schedule"] = json!({"kind": "linear", "warmup_ratio": 0.1});
    value["tasks"][1]["lr_schedule"] = json!({"kind": "plateau", "threshold_mode": "abs"});
    value["training"]["optimizer_state"] = json!("shared");
    assert!(parser_accepts(&value));
    assert_eq!(problems(&validator(), &value), Vec::<String>::new());
    rejected(|v| v["components"][0]["learning_rate"] = json!("fast"));
    // 0 is a range error for the parser (not a shape error), and the schema says > 0.
    let mut zero = value.clone();
    zero["components"][0]["learning_rate"] = json!(0.0);
    assert!(!parser_accepts(&zero));
    // (Reported as the component matching none of the kinds' alternatives.)
    let found = problems(&validator(), &zero);
    assert!(
        found.len() == 1 && found[0].starts_with("/components/0: "),
        "{found:?}"
    );
    rejected(|v| v["training"]["optimizer_state"] = json!("once"));
    rejected(|v| v["tasks"][0]["lr_schedule"] = json!({"kind": "linear", "warmup": 10}));
}

#[test]
fn unknown_kinds_wrong_types_and_missing_keys_are_rejected() {
    rejected(|v| v["components"][4]["model"] = json!("lsmt"));
    rejected(|v| v["tasks"][0]["model"]["model"] = json!("crf_lstm"));
    rejected(|v| v["tasks"][0]["optimizer"] = json!("adagrad"));
    rejected(|v| v["tasks"][0]["lr_schedule"] = json!("polynomial"));
    rejected(|v| v["training"]["device"] = json!("gpu"));
    rejected(|v| v["training"]["schedule"] = json!("random"));
    rejected(|v| v["datasets"][0]["parser"]["scheme"] = json!("bilou"));
    rejected(|v| v["components"][3]["activation"] = json!("gelu"));
    rejected(|v| v["training"]["max_step"] = json!("600"));
    rejected(|v| v["training"]["max_step"] = json!(-1));
    rejected(|v| v["datasets"][0]["sample"] = json!("half"));
    rejected(|v| v["name"] = Value::Null);
    rejected(|v| {
        v.as_object_mut().unwrap().remove("components");
    });
    rejected(|v| {
        v["tasks"][0].as_object_mut().unwrap().remove("dataset");
    });
    rejected(|v| {
        v["components"][0].as_object_mut().unwrap().remove("name");
    });
    rejected(|v| {
        v["tasks"][0]["model"]
            .as_object_mut()
            .unwrap()
            .remove("lstm");
    });
    rejected(|v| v["$schema"] = json!(1));
}

/// The forms the parser accepts beyond plain objects are accepted by the schema too.
#[test]
fn shorthands_and_optional_forms_validate() {
    let validator = validator();
    let accepted = |edit: &dyn Fn(&mut Value)| {
        let mut value = quickstart();
        edit(&mut value);
        assert!(parser_accepts(&value), "the parser rejects {value}");
        assert_eq!(
            problems(&validator, &value),
            Vec::<String>::new(),
            "{value}"
        );
    };
    accepted(&|v| v["$schema"] = json!("../schema.json"));
    accepted(&|v| v["training"]["schedule"] = json!("round_robin"));
    accepted(&|v| v["training"]["schedule"] = Value::Null);
    accepted(&|v| {
        v["tasks"][0]["lr_schedule"] = json!({"kind": "step", "gamma": 0.5, "step_size": 10})
    });
    accepted(&|v| v["tasks"][0]["lr_schedule"] = Value::Null);
    accepted(&|v| v["datasets"][0]["parser"]["scheme"] = json!("iob2"));
    accepted(&|v| v["datasets"][0]["sample"] = json!("all"));
    accepted(&|v| v["datasets"][0]["sample"] = json!(100));
    accepted(&|v| v["datasets"][0]["sample"] = json!(0.5));
    accepted(&|v| v["datasets"][0]["sample"] = json!({"first": 100}));
    accepted(&|v| v["tasks"][0]["betas"] = json!([0.9, 0.999]));
    accepted(&|v| v["tasks"][0]["momentum"] = Value::Null);
    accepted(&|v| v["components"][2]["filters"] = json!([[3, 30]]));
}

#[test]
fn the_schema_closes_every_object() {
    // Every object schema that lists properties forbids others, as the parser does.
    fn walk(value: &Value, at: &str, open: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.contains_key("properties")
                    && map.get("additionalProperties") != Some(&Value::Bool(false))
                {
                    open.push(at.to_string());
                }
                for (k, v) in map {
                    walk(v, &format!("{at}/{k}"), open);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{at}/{i}"), open);
                }
            }
            _ => {}
        }
    }
    let mut open = Vec::new();
    walk(&polytag_config::schema(), "#", &mut open);
    assert_eq!(open, Vec::<String>::new());
}
