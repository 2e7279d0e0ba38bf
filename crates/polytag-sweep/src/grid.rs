//! `--grid KEY=V1,V2,…`: one axis of a sweep.

use polytag_config::Override;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A config path (written as for `--set`) and the values it takes, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// The config path: `training.max_step`, `components.encoder.model`, `tasks.0.lr_schedule`.
    pub key: String,
    /// Each value as it is written after `=` in a `--set` (JSON, or a bare string).
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `KEY=V1,V2`. Commas inside brackets, braces or double quotes do not split, so
    /// JSON values work: `filters=[[2,20]],[[3,30]]`. Every `KEY=Vi` must be a valid `--set`.
    pub fn parse(text: &str) -> Result<Axis> {
        let fail = |problem: &str| Error::Grid {
            text: text.to_string(),
            problem: problem.to_string(),
        };
        let eq = split_points(text, '=')
            .first()
            .copied()
            .ok_or_else(|| fail("expected KEY=V1,V2,…"))?;
        let (key, list) = (&text[..eq], &text[eq + 1..]);
        if key.is_empty() {
            return Err(fail("the key is empty"));
        }
        if key == "seed" {
            return Err(fail(
                "give seeds with --seeds 1,2,3 (they are grouped in the report)",
            ));
        }
        let mut values = Vec::new();
        let mut start = 0;
        for cut in split_points(list, ',').into_iter().chain([list.len()]) {
            let value = list[start..cut].trim();
            if value.is_empty() {
                return Err(fail("empty value (two commas in a row, or one at an end)"));
            }
            if values.iter().any(|v| v == value) {
                return Err(fail(&format!("value {value} is given twice")));
            }
            values.push(value.to_string());
            start = cut + 1;
        }
        for v in &values {
            Override::parse(&format!("{key}={v}")).map_err(|e| fail(&e.to_string()))?;
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }

    /// The `--set` text for one value.
    pub fn set(&self, value: &str) -> String {
        format!("{}={value}", self.key)
    }

    /// The key's path segments (quotes removed), as `--set` reads them.
    pub fn segments(&self) -> Vec<String> {
        // `parse` checked that KEY=value parses; a placeholder value parses too.
        Override::parse(&format!("{}=0", self.key))
            .map(|o| o.path)
            .unwrap_or_else(|_| vec![self.key.clone()])
    }
}

/// Byte offsets of `sep` outside double quotes, brackets and braces.
fn split_points(text: &str, sep: char) -> Vec<usize> {
    let mut depth = 0i32;
    let mut quoted = false;
    let mut points = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            c if c == sep && !quoted && depth == 0 => points.push(i),
            _ => {}
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_top_level_commas_only() {
        let a = Axis::parse("components.cnn.filters=[[2,20],[3,20]],[[4,30]]").expect("axis");
        assert_eq!(a.key, "components.cnn.filters");
        assert_eq!(a.values, ["[[2,20],[3,20]]", "[[4,30]]"]);
        let a = Axis::parse(r#"tasks."A, B".optimizer=sgd, adam"#).expect("axis");
        assert_eq!(a.key, r#"tasks."A, B".optimizer"#);
        assert_eq!(a.values, ["sgd", "adam"]);
        assert_eq!(a.segments(), ["tasks", "A, B", "optimizer"]);
        assert_eq!(a.set("adam"), r#"tasks."A, B".optimizer=adam"#);
        let a = Axis::parse("x={\"kind\":\"cosine\",\"warmup\":1},constant").expect("axis");
        assert_eq!(a.values, ["{\"kind\":\"cosine\",\"warmup\":1}", "constant"]);
    }

    #[test]
    fn bad_grids_say_what_is_wrong() {
        let msg = |t: &str| Axis::parse(t).unwrap_err().to_string();
        assert_eq!(msg("lr"), "--grid lr: expected KEY=V1,V2,…");
        assert_eq!(msg("=1,2"), "--grid =1,2: the key is empty");
        assert!(msg("lr=1,,2").contains("empty value"));
        assert!(msg("lr=1,").contains("empty value"));
        assert_eq!(msg("lr=1,1"), "--grid lr=1,1: value 1 is given twice");
        assert!(msg("seed=1,2").contains("--seeds"));
        assert!(msg("a..b=1").starts_with("--grid a..b=1: "));
    }
}
