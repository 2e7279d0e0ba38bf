//! The tag-scheme code on the real corpora of `shared/datasets`: scheme detection and the
//! README's per-type entity counts (its convention: entity = maximal chunk decoded leniently).
//!
//! Skips (with a note) when the shared folder is absent, as it is in CI; fails when it is present
//! but a corpus is missing and `CI=true` or `POLYTAG_REQUIRE_SHARED=1` (tests/common).

// One helper for every crate whose tests read ../shared.
#[path = "../../polytag-config/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::Path;

use polytag_data::scheme::{count_chunks, detect, validate, Scheme};

/// Whether `../shared/datasets` is there (its README is the source of the expected figures).
fn datasets_present() -> bool {
    common::shared("datasets/README.md").is_some()
}

/// The last column of a whitespace-separated corpus, one Vec per sentence; `-DOCSTART-`
/// lines and blank-line runs separate sentences.
fn ner_column(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.first() {
            None | Some(&"-DOCSTART-") => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            Some(_) => cur.push(fields.last().unwrap().to_string()),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn counts(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
    list.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn readme_counts_and_schemes() {
    if !datasets_present() {
        return;
    }
    // (file, scheme, sentences, entities per type), from the README's tables.
    type Case = (
        &'static str,
        Scheme,
        usize,
        &'static [(&'static str, usize)],
    );
    let cases: [Case; 5] = [
        (
            "conll2003-en/dev.conll",
            Scheme::Iob1,
            3250,
            &[("LOC", 1837), ("MISC", 922), ("ORG", 1341), ("PER", 1842)],
        ),
        (
            "conll2003-en/train.conll",
            Scheme::Iob1,
            14041,
            &[("LOC", 7140), ("MISC", 3438), ("ORG", 6321), ("PER", 6600)],
        ),
        (
            "conll2002-es/dev.conll",
            Scheme::Bio,
            1915,
            &[("LOC", 985), ("MISC", 445), ("ORG", 1700), ("PER", 1222)],
        ),
        (
            "conll2002-nl/dev.conll",
            Scheme::Bio,
            2895,
            &[("LOC", 479), ("MISC", 748), ("ORG", 686), ("PER", 703)],
        ),
        (
            "conll2003-de/dev.conll",
            Scheme::Iob1,
            2867,
            &[("LOC", 1181), ("MISC", 1010), ("ORG", 1241), ("PER", 1401)],
        ),
    ];
    for (file, scheme, sentences, expected) in cases {
        let Some(path) = common::shared(&format!("datasets/{file}")) else {
            continue;
        };
        let tags = ner_column(&path);
        assert_eq!(tags.len(), sentences, "{file} sentences");
        assert_eq!(detect(&tags), Some(scheme), "{file} scheme");
        assert_eq!(count_chunks(&tags), counts(expected), "{file} entities");
    }
}

/// The irregularities the README lists are exactly what validation reports: CoNLL-2003
/// English train (IOB1) has two `B-MISC` after `O`; CoNLL-2002 Spanish dev (BIO) one `I-LOC`
/// opening a chunk (line 30882, at a sentence start).
#[test]
fn readme_irregularities_are_found() {
    if !datasets_present() {
        return;
    }
    if let Some(en) = common::shared("datasets/conll2003-en/train.conll") {
        let v = validate(&ner_column(&en), Scheme::Iob1);
        let tags: Vec<(&str, Option<&str>)> = v
            .iter()
            .map(|v| (v.tag.as_str(), v.prev.as_deref()))
            .collect();
        assert_eq!(tags, vec![("B-MISC", Some("O")), ("B-MISC", Some("O"))]);
    }
    if let Some(es) = common::shared("datasets/conll2002-es/dev.conll") {
        let v = validate(&ner_column(&es), Scheme::Bio);
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].tag.as_str(), v[0].prev.as_deref()), ("I-LOC", None));
        assert_eq!(v[0].token, 0);
    }
}
