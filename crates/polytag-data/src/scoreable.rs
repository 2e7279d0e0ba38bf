//! Data that training would accept but that cannot be scored (or scored meaningfully): checked
//! by `validate` and `train` before anything is built, each problem naming its file and line or
//! config path.
//!
//! - A dev or test split with no sentence, or (for a chunk task) no entity: its F1 is 0 or
//!   undefined at every step, so model selection on it would keep an arbitrary checkpoint.
//! - In a chunk-labelled dataset, a tag that is not `O` nor `P-TYPE` with `P` one of
//!   `B I E S` and a non-empty `TYPE`: `B-`, `-PER`, `BPER`, `b-per`. (A well-formed tag the
//!   declared scheme does not use, `E-PER` in BIO, stays a warning: it is repaired on reading.)
//!
//! `polytag score` keeps conlleval's own reading of such tags; this is about training data.

use polytag_config::Experiment;

use crate::corpus::Corpus;
use crate::experiment::ExperimentData;
use crate::scheme::Tag;

/// At most this many malformed tags are listed per file (then a count).
const MAX_LISTED: usize = 10;

/// Why `tag` cannot be a tag of a chunk-labelled corpus, or `None` when it can.
pub fn malformed_chunk_tag(tag: &str) -> Option<&'static str> {
    match Tag::parse(tag) {
        Tag::Outside => None,
        Tag::Chunk { label: "", .. } => Some("has an empty entity type"),
        Tag::Chunk { .. } => None,
        Tag::Plain(t) if t.starts_with('-') => Some("has no prefix before the hyphen"),
        Tag::Plain(t) => match t.split_once('-') {
            Some((head, _)) if is_prefix(&head.to_ascii_uppercase()) => {
                Some("has a lower-case prefix (prefixes are B, I, E, S)")
            }
            Some(_) => Some("has an unknown prefix (expected B, I, E or S)"),
            None => Some("is neither O nor a prefixed tag like B-PER"),
        },
    }
}

fn is_prefix(head: &str) -> bool {
    matches!(head, "B" | "I" | "E" | "S")
}

/// Every problem of the experiment's data as `file:line: message` or `config.path: message`
/// lines, in dataset order; empty when the data can be trained on and scored.
pub fn problems(exp: &Experiment, data: &ExperimentData) -> Vec<String> {
    let mut out = Vec::new();
    for (d, (spec, dd)) in exp.datasets.iter().zip(&data.datasets).enumerate() {
        let chunked = dd.scheme.is_some();
        let conll_lines = matches!(spec.parser.format, polytag_config::Format::Conll { .. });
        let held_out = spec.dev_split.is_some();
        for (split, corpus) in dd.splits() {
            if chunked {
                malformed_tags(corpus, conll_lines, &mut out);
            }
            if split == "train" {
                continue; // an empty training split is the loader's error already
            }
            let key = if split == "dev" && held_out {
                format!("datasets[{d}].dev_split")
            } else {
                format!("datasets[{d}].files.{split}")
            };
            if corpus.sentences.is_empty() {
                out.push(format!(
                    "{key}: {} holds no sentence; dataset {:?} cannot be scored on its {split} split",
                    corpus.path.display(),
                    spec.name
                ));
            } else if chunked && !has_entity(corpus) {
                out.push(format!(
                    "{key}: {} holds no entity (every label is O); its {split} F1 is undefined",
                    corpus.path.display()
                ));
            }
        }
    }
    out
}

fn has_entity(corpus: &Corpus) -> bool {
    corpus
        .sentences
        .iter()
        .flat_map(|s| &s.labels)
        .any(|l| matches!(Tag::parse(l), Tag::Chunk { .. }))
}

/// Malformed tags of a chunk-labelled corpus. CoNLL files hold one token per line, so the
/// token's own line is named; other formats name the sentence's first line.
fn malformed_tags(corpus: &Corpus, conll_lines: bool, out: &mut Vec<String>) {
    let mut found = 0usize;
    for sentence in &corpus.sentences {
        for (i, label) in sentence.labels.iter().enumerate() {
            let Some(why) = malformed_chunk_tag(label) else {
                continue;
            };
            found += 1;
            if found <= MAX_LISTED {
                let line = if conll_lines {
                    sentence.line + i
                } else {
                    sentence.line
                };
                // A training split is held in the training scheme (BIOES), which turns `B-`
                // into `S-`; plain tags are kept as written, so only those are quoted.
                let what = if matches!(Tag::parse(label), Tag::Chunk { .. }) {
                    "a chunk tag (B-, I-, E- or S-)".to_string()
                } else {
                    format!("tag {label:?}")
                };
                out.push(format!("{}:{line}: {what} {why}", corpus.path.display()));
            }
        }
    }
    if found > MAX_LISTED {
        out.push(format!(
            "{}: {} more malformed tag(s)",
            corpus.path.display(),
            found - MAX_LISTED
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tags_are_named() {
        for ok in ["O", "B-PER", "I-PER", "E-X", "S-GPE-ORG", "B-per"] {
            assert_eq!(malformed_chunk_tag(ok), None, "{ok}");
        }
        for bad in ["B-", "I-", "-PER", "BPER", "b-per", "X-PER", "PER", "o"] {
            assert!(malformed_chunk_tag(bad).is_some(), "{bad}");
        }
    }
}
