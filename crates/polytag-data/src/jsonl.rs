//! JSON Lines as exported by Hugging Face `datasets` (`ds.to_json("train.jsonl")`): one object
//! per line with a token list and a tag list.
//!
//! HF stores tags as class indices (`"ner_tags": [3, 0, 7]`) whose names live in the dataset's
//! features (`ClassLabel(names=[...])`), not in the file; they are mapped through
//! [`JsonlOptions::label_names`]. Files with string tags (`"tags": ["B-PER", "O"]`) need no
//! names. Other fields (`id`, `pos_tags`, ...) are ignored.

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::corpus::{Corpus, Warning, WarningKind};
use crate::error::{Error, Result};
use crate::lines::Lines;
use crate::sentence::Sentence;

/// Which fields of a JSONL record hold tokens and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonlOptions {
    /// Field with the list of tokens (default `tokens`).
    pub token_field: String,
    /// Field with the list of tags (default `ner_tags`; `pos_tags`, `upos`, ... for others).
    pub tag_field: String,
    /// Names of integer tags, index = tag value (HF `features["ner_tags"].feature.names`).
    pub label_names: Vec<String>,
}

impl Default for JsonlOptions {
    fn default() -> Self {
        Self {
            token_field: "tokens".to_string(),
            tag_field: "ner_tags".to_string(),
            label_names: Vec::new(),
        }
    }
}

/// Reads a JSONL file from `reader`; `path` names it in messages and in the result.
///
/// Blank lines are skipped; a record with an empty token list is skipped with a warning.
pub fn read_jsonl<R: BufRead>(reader: R, path: &Path, opts: &JsonlOptions) -> Result<Corpus> {
    let mut kept = Vec::new();
    let mut corpus = read_jsonl_each(reader, path, opts, &mut |s| {
        kept.push(s);
        Ok(())
    })?;
    corpus.sentences = kept;
    Ok(corpus)
}

/// [`read_jsonl`] one sentence at a time: each goes to `sink` as soon as it is read, and the
/// corpus returned holds the documents and warnings but no sentence (memory is bounded by
/// the longest sentence: `data stats` on a file of any size).
pub fn read_jsonl_each<R: BufRead>(
    reader: R,
    path: &Path,
    opts: &JsonlOptions,
    sink: &mut dyn FnMut(Sentence) -> Result<()>,
) -> Result<Corpus> {
    let mut lines = Lines::new(reader, path);
    let mut corpus = Corpus::new(path);
    while let Some((line, text)) = lines.next_line()? {
        if text.trim().is_empty() {
            continue;
        }
        let record: Map<String, Value> =
            serde_json::from_str(text).map_err(|source| Error::Json {
                path: path.to_path_buf(),
                line,
                source,
            })?;
        let field_error = |field: &str, expected: &'static str| Error::JsonField {
            path: path.to_path_buf(),
            line,
            field: field.to_string(),
            expected,
        };
        let tokens = string_list(record.get(&opts.token_field))
            .ok_or_else(|| field_error(&opts.token_field, "a list of non-empty strings"))?;
        let tags = record
            .get(&opts.tag_field)
            .and_then(Value::as_array)
            .ok_or_else(|| field_error(&opts.tag_field, "a list of tags"))?;
        if tags.len() != tokens.len() {
            return Err(Error::LengthMismatch {
                path: path.to_path_buf(),
                line,
                tokens: tokens.len(),
                tags: tags.len(),
            });
        }
        if tokens.is_empty() {
            corpus.warnings.push(Warning {
                line,
                kind: WarningKind::EmptySentence,
            });
            continue;
        }
        let mut labels = Vec::with_capacity(tags.len());
        for tag in tags {
            let label = match tag {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Number(n) => {
                    let index = n.as_u64().ok_or_else(|| {
                        field_error(&opts.tag_field, "non-negative integers or strings")
                    })?;
                    usize::try_from(index)
                        .ok()
                        .and_then(|i| opts.label_names.get(i))
                        .cloned()
                        .ok_or_else(|| Error::LabelIndex {
                            path: path.to_path_buf(),
                            line,
                            index,
                            num_names: opts.label_names.len(),
                        })?
                }
                _ => {
                    return Err(field_error(
                        &opts.tag_field,
                        "non-negative integers or strings",
                    ))
                }
            };
            labels.push(label);
        }
        sink(Sentence {
            tokens,
            labels,
            features: Vec::new(),
            line,
        })?;
    }
    Ok(corpus)
}

/// The value as a list of non-empty strings, or `None` if it is anything else.
fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    value?
        .as_array()?
        .iter()
        .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read(text: &str, opts: &JsonlOptions) -> Result<Corpus> {
        read_jsonl(Cursor::new(text.as_bytes()), Path::new("train.jsonl"), opts)
    }

    fn conll_names() -> JsonlOptions {
        JsonlOptions {
            label_names: ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
                .map(String::from)
                .to_vec(),
            ..JsonlOptions::default()
        }
    }

    #[test]
    fn integer_tags_through_label_names() {
        let text = "{\"id\":\"0\",\"tokens\":[\"EU\",\"rejects\"],\"ner_tags\":[3,0]}\n\n{\"id\":\"1\",\"tokens\":[\"Peter\",\"Blackburn\"],\"ner_tags\":[1,2]}";
        let c = read(text, &conll_names()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.sentences[0].labels, ["B-ORG", "O"]);
        assert_eq!(c.sentences[1].labels, ["B-PER", "I-PER"]);
        assert_eq!(c.sentences[1].line, 3);
    }

    #[test]
    fn string_tags_and_custom_field() {
        let opts = JsonlOptions {
            tag_field: "upos".into(),
            ..JsonlOptions::default()
        };
        let c = read(r#"{"tokens":["Hi","!"],"upos":["INTJ","PUNCT"]}"#, &opts).unwrap();
        assert_eq!(c.sentences[0].labels, ["INTJ", "PUNCT"]);
    }

    #[test]
    fn index_out_of_range() {
        let text = "{\"tokens\":[\"a\"],\"ner_tags\":[0]}\n{\"tokens\":[\"a\"],\"ner_tags\":[9]}\n";
        let err = read(text, &conll_names()).unwrap_err();
        assert!(matches!(
            err,
            Error::LabelIndex {
                line: 2,
                index: 9,
                num_names: 5,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "train.jsonl:2: tag index 9 has no label name (5 names given)"
        );
    }

    #[test]
    fn bad_records() {
        let err = read("{\"tokens\":[\"a\"]\n", &conll_names()).unwrap_err();
        assert!(matches!(err, Error::Json { line: 1, .. }));
        let err = read("[1,2]\n", &conll_names()).unwrap_err();
        assert!(matches!(err, Error::Json { line: 1, .. }));
        let err = read(r#"{"words":["a"],"ner_tags":[0]}"#, &conll_names()).unwrap_err();
        assert!(matches!(&err, Error::JsonField { line: 1, field, .. } if field == "tokens"));
        assert_eq!(
            err.to_string(),
            "train.jsonl:1: field \"tokens\": expected a list of non-empty strings"
        );
        let err = read(r#"{"tokens":["a"],"ner_tags":[-1]}"#, &conll_names()).unwrap_err();
        assert!(matches!(&err, Error::JsonField { field, .. } if field == "ner_tags"));
        let err = read(r#"{"tokens":["a","b"],"ner_tags":[0]}"#, &conll_names()).unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                tokens: 2,
                tags: 1,
                ..
            }
        ));
    }

    #[test]
    fn empty_record_is_skipped_with_warning() {
        let c = read(r#"{"tokens":[],"ner_tags":[]}"#, &conll_names()).unwrap();
        assert!(c.is_empty());
        assert_eq!(
            c.warnings,
            [Warning {
                line: 1,
                kind: WarningKind::EmptySentence
            }]
        );
    }
}
