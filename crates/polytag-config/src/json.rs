//! JSON text to a `serde_json::Value`, strictly: syntax errors carry `file:line:column`, and an
//! object that names a key twice is an error (serde_json keeps the last one silently, so a
//! pasted duplicate `"learning_rate"` would change a run without a word).
//!
//! Key order is kept (the workspace enables serde_json's `preserve_order`), so a resolved
//! config written back lists things in the order the user wrote them.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::ConfigError;

/// Parses `text` (from `file`, used in messages only) into a value.
pub(crate) fn parse(text: &str, file: &str) -> Result<Value, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = StrictValue
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|error| syntax(&error, file))?;
    Ok(value)
}

/// serde_json appends " at line L column C" to its messages; the position goes in front instead.
fn syntax(error: &serde_json::Error, file: &str) -> ConfigError {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    ConfigError::Syntax {
        file: file.to_string(),
        line: error.line(),
        column: error.column(),
        message,
    }
}

/// Builds a [`Value`] like serde_json does, but refuses duplicate keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or infinity, so this only fails on a serde_json bug.
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The field names a serde-derived struct accepts, read from the derive itself so the list of
/// known keys (for "unknown key; did you mean") can never drift from the struct.
///
/// `#[derive(Deserialize)]` on a struct calls `deserialize_struct(name, FIELDS, visitor)`; this
/// deserializer records `FIELDS` and stops. Only meaningful for plain structs (no `flatten`).
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The error is the expected way out of the capture: nothing was meant to be built.
    let _ = T::deserialize(FieldCapture(&mut fields));
    fields
}

struct FieldCapture<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldCapture<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("field capture: not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field capture: done"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// `#[serde(deserialize_with)]` for a block that is either a kind name or an object with a
/// `kind` key: `"lr_schedule": "cosine"` reads as `{"kind": "cosine"}`. The object goes through
/// the struct's own derive (unknown keys and nested error paths still work); `null` is `None`.
pub(crate) fn kind_or_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct KindOrObject<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for KindOrObject<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a kind name or an object with \"kind\"")
        }
        fn visit_str<E: de::Error>(self, kind: &str) -> Result<Option<T>, E> {
            // Through a JSON object rather than serde's `MapDeserializer` of `&str`s: the
            // latter cannot fill an `Option<_>` field (`"schedule": "round_robin"` failed
            // with "expected option" for that reason).
            let object = serde_json::json!({ "kind": kind });
            T::deserialize(object).map(Some).map_err(E::custom)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_unit<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
    }

    deserializer.deserialize_any(KindOrObject(std::marker::PhantomData))
}

/// The JSON type of a value, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_file_line_and_column() {
        // Line 3 is `  "b": }`: the value is missing where `}` stands, column 8.
        let text = "{\n  \"a\": 1,\n  \"b\": }\n";
        let err = parse(text, "exp.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "exp.json:3:8: invalid JSON: expected value"
        );
    }

    #[test]
    fn trailing_comma_is_reported_where_it_stands() {
        let text = "{\"a\": [1, 2,]}";
        let err = parse(text, "x.json").unwrap_err();
        assert_eq!(err.to_string(), "x.json:1:13: invalid JSON: trailing comma");
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let text = "{\n  \"lr\": 1,\n  \"lr\": 2\n}";
        let err = parse(text, "x.json").unwrap_err();
        assert!(
            err.to_string().starts_with("x.json:3:")
                && err.to_string().ends_with("duplicate key \"lr\""),
            "{err}"
        );
    }

    #[test]
    fn keeps_key_order_and_number_kinds() {
        let value = parse("{\"z\": 1, \"a\": 1.0, \"m\": -2}", "x").unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert!(value["z"].is_u64());
        assert!(value["a"].is_f64());
        assert!(value["m"].is_i64());
    }

    #[test]
    fn trailing_text_is_an_error() {
        let err = parse("{} x", "x.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.json:1:4: invalid JSON: trailing characters"
        );
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Two {
        first: u32,
        #[serde(rename = "ref")]
        second: Option<bool>,
    }

    #[test]
    fn captures_struct_fields() {
        assert_eq!(fields_of::<Two>(), ["first", "ref"]);
    }
}
