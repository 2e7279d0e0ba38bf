//! Tag schemes: IOB1, BIO (IOB2) and BIOES (IOBES); reading tags, detecting and validating a
//! scheme, converting between schemes, and turning tag sequences into [`Span`]s.
//!
//! A chunk tag is `P-TYPE`: the prefix `P` is what precedes the **first** hyphen, so
//! `B-GPE-ORG` is prefix `B`, type `GPE-ORG` (conlleval.pl 2004-01-26 does the same). `O` is
//! outside; a bare `B`/`I`/`E`/`S` is a chunk tag with an empty type (conlleval reads it so);
//! anything else (`NN`, `-LRB-`, `U-PER`) is a [`Tag::Plain`] tag, as POS tags are.
//!
//! Decoding. [`lenient_spans`] reads all three schemes, and ill-formed input, with one rule: a
//! chunk tag continues the open chunk iff the previous tag is `B-X`/`I-X` and this one is
//! `I-X`/`E-X` of the same type; any other chunk tag opens a new chunk; `O` and plain tags
//! close. On `B`/`I`/`O` tags this is exactly conlleval.pl's `startOfChunk`/`endOfChunk` (so
//! an `I-X` after `O` opens a chunk: IOB1 semantics, and the datasets README's counting
//! convention); on `E`/`S` tags it is seqeval 1.2's `get_entities` (an `S-` chunk has one
//! token, `E-` closes one), which conlleval.pl gets wrong (it merges `S-X S-X`). Because the
//! rule is the same for every scheme, a scheme is only needed for [`strict_spans`],
//! [`validate`] and [`Scheme::encode`].
//!
//! Strict decoding ([`strict_spans`]) keeps only the lenient chunks that are well-formed in
//! the declared scheme, as seqeval 1.2's `mode="strict"` does for IOB2 and IOBES.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A tagging scheme for chunk (entity) labels.
///
/// Why an enum and not the string from the config: every place that turns tags into spans or
/// spans into tags must agree on the same three readings (style.md, "Enums, not strings").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scheme {
    /// IOB1 (CoNLL-2003 as distributed): chunks start with `I-`; `B-X` only marks a chunk that
    /// directly follows another chunk of type `X`.
    #[serde(rename = "iob1", alias = "IOB1")]
    Iob1,
    /// BIO, also called IOB2: every chunk starts with `B-`, continues with `I-`.
    #[serde(rename = "bio", alias = "BIO", alias = "iob2", alias = "IOB2")]
    Bio,
    /// BIOES, also called IOBES: `S-` for single-token chunks, else `B-` `I-`* `E-`.
    #[serde(rename = "bioes", alias = "BIOES", alias = "iobes", alias = "IOBES")]
    Bioes,
}

impl Scheme {
    /// All schemes, in the order they are listed in messages.
    pub const ALL: [Scheme; 3] = [Scheme::Iob1, Scheme::Bio, Scheme::Bioes];

    /// The canonical upper-case name (`IOB1`, `BIO`, `BIOES`), as used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Iob1 => "IOB1",
            Scheme::Bio => "BIO",
            Scheme::Bioes => "BIOES",
        }
    }

    /// Whether `prefix` belongs to this scheme's tag set (`E`/`S` only in BIOES).
    pub fn allows(self, prefix: Prefix) -> bool {
        match prefix {
            Prefix::B | Prefix::I => true,
            Prefix::E | Prefix::S => self == Scheme::Bioes,
        }
    }

    /// Writes `spans` as a tag sequence of length `len` in this scheme; positions outside
    /// every span are `O`.
    ///
    /// `spans` are expected sorted and non-overlapping, as the decoders here return them;
    /// a span reaching past `len` is clipped and an empty one is skipped rather than
    /// panicking. In IOB1 a chunk opens with `B-X` only when the previous span ends right
    /// where it starts and has the same type (the one case IOB1 needs `B-`).
    pub fn encode(self, spans: &[Span], len: usize) -> Vec<String> {
        let mut tags = vec!["O".to_string(); len];
        self.encode_into(spans, &mut tags);
        tags
    }

    fn encode_into(self, spans: &[Span], tags: &mut [String]) {
        let mut prev: Option<&Span> = None;
        for span in spans {
            let end = span.end.min(tags.len());
            if span.start >= end {
                continue;
            }
            let label = &span.label;
            let adjacent_same = prev.is_some_and(|p| p.end == span.start && p.label == span.label);
            for (i, tag) in tags[span.start..end].iter_mut().enumerate() {
                let first = i == 0;
                let last = span.start + i + 1 == end;
                let prefix = match self {
                    Scheme::Iob1 if first && adjacent_same => "B",
                    Scheme::Iob1 => "I",
                    Scheme::Bio if first => "B",
                    Scheme::Bio => "I",
                    Scheme::Bioes if first && last => "S",
                    Scheme::Bioes if first => "B",
                    Scheme::Bioes if last => "E",
                    Scheme::Bioes => "I",
                };
                *tag = format!("{prefix}-{label}");
            }
            prev = Some(span);
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scheme name that is none of `iob1`, `bio`/`iob2`, `bioes`/`iobes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tag scheme `{name}`; expected iob1, bio (or iob2), bioes (or iobes)")]
pub struct UnknownScheme {
    /// The name as given.
    pub name: String,
}

impl FromStr for Scheme {
    type Err = UnknownScheme;

    /// Case-insensitive; `IOB2` is read as BIO and `IOBES` as BIOES.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "iob1" => Ok(Scheme::Iob1),
            "bio" | "iob2" => Ok(Scheme::Bio),
            "bioes" | "iobes" => Ok(Scheme::Bioes),
            _ => Err(UnknownScheme {
                name: s.to_string(),
            }),
        }
    }
}

/// The position prefix of a chunk tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// `B-`: begins a chunk (BIO, BIOES) or a chunk right after a same-type one (IOB1).
    B,
    /// `I-`: inside a chunk (and, in IOB1, its start).
    I,
    /// `E-`: ends a chunk (BIOES).
    E,
    /// `S-`: a single-token chunk (BIOES).
    S,
}

/// One tag, read: outside, a chunk tag, or a plain (unprefixed) tag such as a POS tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag<'a> {
    /// Exactly `O`.
    Outside,
    /// `P-TYPE` with `P` one of `B`, `I`, `E`, `S` (or a bare `P`, with an empty type).
    Chunk {
        /// The position prefix.
        prefix: Prefix,
        /// The entity type: everything after the first hyphen (may itself hold hyphens).
        label: &'a str,
    },
    /// Any other tag, kept whole (`NN`, `PROPN`, `-LRB-`, `U-PER`).
    Plain(&'a str),
}

impl<'a> Tag<'a> {
    /// Reads one tag; see the module doc for the rules.
    pub fn parse(tag: &'a str) -> Self {
        if tag == "O" {
            return Tag::Outside;
        }
        let (head, label) = split_tag(tag);
        let prefix = match head {
            "B" => Prefix::B,
            "I" => Prefix::I,
            "E" => Prefix::E,
            "S" => Prefix::S,
            _ => return Tag::Plain(tag),
        };
        Tag::Chunk {
            prefix,
            label: label.unwrap_or(""),
        }
    }

    /// The entity type of a chunk tag; `None` for `O` and plain tags.
    pub fn label(&self) -> Option<&'a str> {
        match *self {
            Tag::Chunk { label, .. } => Some(label),
            _ => None,
        }
    }

    /// The prefix of a chunk tag; `None` for `O` and plain tags.
    pub fn prefix(&self) -> Option<Prefix> {
        match *self {
            Tag::Chunk { prefix, .. } => Some(prefix),
            _ => None,
        }
    }

    /// Whether this tag continues a chunk whose previous tag is `prev` (the lenient rule):
    /// `prev` is `B-X`/`I-X` and this is `I-X`/`E-X` of the same type.
    pub fn continues(&self, prev: &Tag<'_>) -> bool {
        match self {
            Tag::Chunk {
                prefix: Prefix::I | Prefix::E,
                label,
            } => prev.opens_into(label),
            _ => false,
        }
    }
}

impl Tag<'_> {
    /// Whether this is `B-X`/`I-X` with `X == label`: the tag after which `I-label`
    /// continues a chunk, and after which IOB1's `B-label` is legal.
    fn opens_into(&self, label: &str) -> bool {
        match self {
            Tag::Chunk {
                prefix: Prefix::B | Prefix::I,
                label: l,
            } => *l == label,
            _ => false,
        }
    }
}

/// Splits a tag at its first hyphen: `B-GPE-ORG` → (`B`, `Some("GPE-ORG")`), `NN` → (`NN`,
/// `None`). This is conlleval.pl's `/^([^-]*)-(.*)$/` (its 2004-01-26 fix for hyphenated types).
pub fn split_tag(tag: &str) -> (&str, Option<&str>) {
    match tag.split_once('-') {
        Some((head, rest)) => (head, Some(rest)),
        None => (tag, None),
    }
}

/// A chunk: tokens `start..end` (end exclusive) of one sentence, with its entity type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// Index of the first token.
    pub start: usize,
    /// Index one past the last token.
    pub end: usize,
    /// The entity type (`PER`, `GPE-ORG`).
    pub label: String,
}

impl Span {
    /// A span over `start..end` with type `label`.
    pub fn new(start: usize, end: usize, label: impl Into<String>) -> Self {
        Span {
            start,
            end,
            label: label.into(),
        }
    }

    /// Number of tokens covered.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no token (never produced by the decoders here).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Lenient spans of one sentence: the chunks conlleval.pl finds in IOB1/BIO tags, with
/// BIOES's `S-`/`E-` understood; ill-formed chunks are kept (an `I-X` after `O` opens one).
///
/// Plain tags count as `O`. See the module doc for the single rule used.
pub fn lenient_spans<T: AsRef<str>>(tags: &[T]) -> Vec<Span> {
    lenient_chunks(tags)
        .into_iter()
        .map(|(start, end, label)| Span::new(start, end, label))
        .collect()
}

/// Lenient chunks as `(start, end, label)` without allocating labels.
fn lenient_chunks<T: AsRef<str>>(tags: &[T]) -> Vec<(usize, usize, &str)> {
    let mut chunks = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    let mut prev = Tag::Outside;
    for (i, raw) in tags.iter().enumerate() {
        let tag = Tag::parse(raw.as_ref());
        if !tag.continues(&prev) {
            if let Some((start, label)) = open.take() {
                chunks.push((start, i, label));
            }
            if let Some(label) = tag.label() {
                open = Some((i, label));
            }
        }
        prev = tag;
    }
    if let Some((start, label)) = open {
        chunks.push((start, tags.len(), label));
    }
    chunks
}

/// Strict spans of one sentence: the lenient chunks that are well-formed in `scheme`, as
/// seqeval 1.2 `mode="strict"` keeps them; the others are dropped, not repaired.
///
/// A chunk is well-formed when every tag in it belongs to the scheme, it opens legally (BIO:
/// `B-`; BIOES: `B-` or `S-`; IOB1: `I-`, or `B-X` right after an `X` chunk), every transition
/// inside it is legal ([`transition_allowed`]), and in BIOES it ends with `E-` or is a single
/// `S-`. This equals seqeval's IOB2 and IOBES classes. For IOB1 seqeval's
/// class has known bugs on ill-formed input (`O B-X I-X` yields a chunk on `I-X` alone; a
/// valid `B-X` followed by an illegal `B-Y` is dropped); here the rule above is applied
/// instead, which agrees with seqeval on well-formed IOB1. Plain tags count as `O` (seqeval
/// raises an error on them).
pub fn strict_spans<T: AsRef<str>>(tags: &[T], scheme: Scheme) -> Vec<Span> {
    let parsed: Vec<Tag<'_>> = tags.iter().map(|t| Tag::parse(t.as_ref())).collect();
    lenient_chunks(tags)
        .into_iter()
        .filter(|&(start, end, _)| chunk_well_formed(&parsed, start, end, scheme))
        .map(|(start, end, label)| Span::new(start, end, label))
        .collect()
}

fn chunk_well_formed(tags: &[Tag<'_>], start: usize, end: usize, scheme: Scheme) -> bool {
    let Some(chunk) = tags.get(start..end) else {
        return false; // cannot happen: chunks come from the same tags
    };
    let prefixes_ok = chunk
        .iter()
        .all(|t| t.prefix().is_some_and(|p| scheme.allows(p)));
    if !prefixes_ok {
        return false;
    }
    // The opening tag is judged as an opening only: in BIOES a `B-`/`S-` opens a good chunk
    // even right after an unclosed one (that flaw is the previous chunk's, which is dropped);
    // in IOB1 a `B-X` opens one only right after an `X` chunk, which is what `B-` means there.
    let prev = start.checked_sub(1).and_then(|i| tags.get(i));
    let opening_ok = match scheme {
        Scheme::Bioes => matches!(chunk[0].prefix(), Some(Prefix::B | Prefix::S)),
        _ => transition_allowed(scheme, prev, &chunk[0]),
    };
    if !opening_ok {
        return false;
    }
    if chunk
        .windows(2)
        .any(|w| !transition_allowed(scheme, Some(&w[0]), &w[1]))
    {
        return false;
    }
    match (scheme, chunk.last().and_then(Tag::prefix)) {
        (Scheme::Bioes, Some(Prefix::E | Prefix::S)) => true,
        (Scheme::Bioes, _) => false,
        _ => true,
    }
}

/// Whether `cur` may follow `prev` (`None`: sentence start) in `scheme`, assuming both
/// belong to the scheme's tag set.
///
/// BIO: `I-X` only after `B-X`/`I-X`. IOB1: `B-X` only after `B-X`/`I-X`. BIOES: after
/// `B-X`/`I-X` only `I-X`/`E-X`; elsewhere no `I-`/`E-`. A plain tag counts as `O`.
pub fn transition_allowed(scheme: Scheme, prev: Option<&Tag<'_>>, cur: &Tag<'_>) -> bool {
    let prev = prev.copied().unwrap_or(Tag::Outside);
    match (scheme, cur.prefix(), cur.label()) {
        (Scheme::Bio, Some(Prefix::I), Some(label)) => prev.opens_into(label),
        (Scheme::Iob1, Some(Prefix::B), Some(label)) => prev.opens_into(label),
        (Scheme::Bioes, prefix, _) => {
            if matches!(prev.prefix(), Some(Prefix::B | Prefix::I)) {
                cur.continues(&prev)
            } else {
                !matches!(prefix, Some(Prefix::I | Prefix::E))
            }
        }
        _ => true,
    }
}

/// Rewrites one sentence's tags in scheme `to`: a lenient decode ([`lenient_spans`], which
/// reads IOB1, BIO and BIOES alike) then [`Scheme::encode`].
///
/// Plain tags outside every chunk are kept as they are, so conversion never hides a tag that
/// validation should report. Well-formed input round-trips exactly between any two schemes.
pub fn convert<T: AsRef<str>>(tags: &[T], to: Scheme) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .map(|t| match Tag::parse(t.as_ref()) {
            Tag::Plain(p) => p.to_string(),
            _ => "O".to_string(),
        })
        .collect();
    to.encode_into(&lenient_spans(tags), &mut out);
    out
}

/// Guesses the scheme of a corpus (one tag sequence per sentence) from its chunk tags.
///
/// Rule: any `S-` or `E-` tag → BIOES. Otherwise count the two ways a chunk can open: with
/// `I-` (after `O`, a plain tag, the sentence start or another type: legal only in IOB1) and
/// with `B-` not after a same-type tag (legal only in BIO). IOB1 when the `I-` openings
/// outnumber those `B-` openings, BIO otherwise. A majority rather than "none at all", because
/// real corpora carry a few irregular openings (CoNLL-2003 English train, IOB1, has two
/// `B-MISC` after `O`; CoNLL-2002 Spanish, BIO, has one `I-LOC` after `O` per split).
/// `None` when there is no chunk tag at all (all `O`, or POS tags).
pub fn detect<S, T>(sentences: &[S]) -> Option<Scheme>
where
    S: AsRef<[T]>,
    T: AsRef<str>,
{
    let mut detector = SchemeDetector::default();
    for sentence in sentences {
        detector.add(sentence.as_ref());
    }
    detector.scheme()
}

/// [`detect`] one sentence at a time, for input read as a stream (`score`, `data stats`):
/// the same answer as `detect` over all the sentences added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemeDetector {
    any_chunk: bool,
    bioes: bool,
    i_openings: usize,
    b_openings: usize,
}

impl SchemeDetector {
    /// Adds one sentence's tags.
    pub fn add<T: AsRef<str>>(&mut self, sentence: &[T]) {
        if self.bioes {
            return;
        }
        let mut prev = Tag::Outside;
        for raw in sentence {
            let tag = Tag::parse(raw.as_ref());
            if let Tag::Chunk { prefix, label } = tag {
                self.any_chunk = true;
                let after_same = prev.opens_into(label);
                match prefix {
                    Prefix::E | Prefix::S => {
                        self.bioes = true;
                        return;
                    }
                    Prefix::I if !after_same => self.i_openings += 1,
                    Prefix::B if !after_same => self.b_openings += 1,
                    _ => {}
                }
            }
            prev = tag;
        }
    }

    /// The scheme of everything added so far (see [`detect`]).
    pub fn scheme(&self) -> Option<Scheme> {
        if self.bioes {
            Some(Scheme::Bioes)
        } else if !self.any_chunk {
            None
        } else if self.i_openings > self.b_openings {
            Some(Scheme::Iob1)
        } else {
            Some(Scheme::Bio)
        }
    }
}

/// What is wrong at one position of a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// The tag is not in the scheme's tag set (a plain tag, or `E-`/`S-` outside BIOES).
    UnknownTag,
    /// The tag may not follow the previous one (e.g. `I-X` after `O` in BIO, `B-X` after
    /// `O` in IOB1, anything but `I-X`/`E-X` after `B-X` in BIOES).
    IllegalTransition,
    /// The sentence ends inside a chunk (BIOES: last tag `B-` or `I-`).
    Unterminated,
}

/// One invalid tag or transition found by [`validate`], with its position so that the caller
/// (who knows the file) can report `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Index of the sentence in the slice given to [`validate`].
    pub sentence: usize,
    /// Index of the offending tag in its sentence (for `Unterminated`, the last tag).
    pub token: usize,
    /// The offending tag.
    pub tag: String,
    /// The tag before it; `None` at the sentence start.
    pub prev: Option<String>,
    /// What is wrong.
    pub kind: ViolationKind,
    /// The scheme checked against.
    pub scheme: Scheme,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sentence {}, token {}: ",
            self.sentence + 1,
            self.token + 1
        )?;
        match self.kind {
            ViolationKind::UnknownTag => {
                write!(f, "tag `{}` is not a {} tag", self.tag, self.scheme)
            }
            ViolationKind::IllegalTransition => {
                let prev = self.prev.as_deref().unwrap_or("the sentence start");
                write!(
                    f,
                    "`{}` cannot follow `{}` in {}",
                    self.tag, prev, self.scheme
                )
            }
            ViolationKind::Unterminated => write!(
                f,
                "sentence ends inside a chunk at `{}` (a {} chunk ends with E- or is S-)",
                self.tag, self.scheme
            ),
        }
    }
}

/// Lists every tag that is invalid in `scheme` (one [`Violation`] per position at most).
///
/// Each adjacent pair is judged on its own, so one wrong tag can give two messages (BIOES
/// `S-Y I-Y B-Z`: `I-Y` may not follow `S-Y`, and `B-Z` may not follow an open `I-Y`). An
/// unknown tag is reported as such and then treated as `O` for the next transition.
pub fn validate<S, T>(sentences: &[S], scheme: Scheme) -> Vec<Violation>
where
    S: AsRef<[T]>,
    T: AsRef<str>,
{
    let mut out = Vec::new();
    for (s_idx, sentence) in sentences.iter().enumerate() {
        let raw = sentence.as_ref();
        let mut prev: Option<Tag<'_>> = None;
        let mut prev_raw: Option<&str> = None;
        for (t_idx, tag_str) in raw.iter().enumerate() {
            let tag_str = tag_str.as_ref();
            let tag = Tag::parse(tag_str);
            let known = match tag {
                Tag::Outside => true,
                // `B-` (no type) is no chunk tag of any scheme.
                Tag::Chunk { prefix, label } => scheme.allows(prefix) && !label.is_empty(),
                Tag::Plain(_) => false,
            };
            let kind = if !known {
                Some(ViolationKind::UnknownTag)
            } else if !transition_allowed(scheme, prev.as_ref(), &tag) {
                Some(ViolationKind::IllegalTransition)
            } else {
                None
            };
            if let Some(kind) = kind {
                out.push(Violation {
                    sentence: s_idx,
                    token: t_idx,
                    tag: tag_str.to_string(),
                    prev: prev_raw.map(str::to_string),
                    kind,
                    scheme,
                });
            }
            prev = Some(if known { tag } else { Tag::Outside });
            prev_raw = Some(tag_str);
        }
        if scheme == Scheme::Bioes {
            if let (
                Some(Tag::Chunk {
                    prefix: Prefix::B | Prefix::I,
                    ..
                }),
                Some(last),
            ) = (prev, prev_raw)
            {
                out.push(Violation {
                    sentence: s_idx,
                    token: raw.len().saturating_sub(1),
                    tag: last.to_string(),
                    prev: None,
                    kind: ViolationKind::Unterminated,
                    scheme,
                });
            }
        }
    }
    out
}

/// Number of lenient chunks per type in a corpus: the datasets README's entity counts.
pub fn count_chunks<S, T>(sentences: &[S]) -> BTreeMap<String, usize>
where
    S: AsRef<[T]>,
    T: AsRef<str>,
{
    let mut counts = BTreeMap::new();
    for sentence in sentences {
        for (_, _, label) in lenient_chunks(sentence.as_ref()) {
            *counts.entry(label.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn spans(list: &[(usize, usize, &str)]) -> Vec<Span> {
        list.iter().map(|&(s, e, l)| Span::new(s, e, l)).collect()
    }

    #[test]
    fn prefix_is_what_precedes_the_first_hyphen() {
        assert_eq!(
            Tag::parse("B-GPE-ORG"),
            Tag::Chunk {
                prefix: Prefix::B,
                label: "GPE-ORG"
            }
        );
        assert_eq!(Tag::parse("O"), Tag::Outside);
        assert_eq!(Tag::parse("NN"), Tag::Plain("NN"));
        assert_eq!(Tag::parse("-LRB-"), Tag::Plain("-LRB-"));
        assert_eq!(Tag::parse("U-PER"), Tag::Plain("U-PER"));
        assert_eq!(Tag::parse("O-X"), Tag::Plain("O-X"));
        assert_eq!(
            Tag::parse("I"),
            Tag::Chunk {
                prefix: Prefix::I,
                label: ""
            }
        );
        assert_eq!(split_tag("B-GPE-ORG"), ("B", Some("GPE-ORG")));
        assert_eq!(split_tag("NN"), ("NN", None));
    }

    #[test]
    fn scheme_names_parse_case_insensitively_with_aliases() {
        assert_eq!("IOB2".parse::<Scheme>(), Ok(Scheme::Bio));
        assert_eq!("iobes".parse::<Scheme>(), Ok(Scheme::Bioes));
        assert_eq!("Iob1".parse::<Scheme>(), Ok(Scheme::Iob1));
        let err = "bilou".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown tag scheme `bilou`; expected iob1, bio (or iob2), bioes (or iobes)"
        );
        let s: Scheme = serde_json::from_str("\"IOBES\"").unwrap();
        assert_eq!(s, Scheme::Bioes);
        assert_eq!(serde_json::to_string(&Scheme::Bio).unwrap(), "\"bio\"");
    }

    /// `I-X` after `O` opens a chunk (conlleval's rule), `B-X` after `I-X` splits, a type
    /// change inside splits: O I-PER I-PER B-PER I-LOC → PER 1..3, PER 3..4, LOC 4..5.
    #[test]
    fn lenient_reads_iob1_and_ill_formed_bio() {
        let t = tags("O I-PER I-PER B-PER I-LOC O");
        assert_eq!(
            lenient_spans(&t),
            spans(&[(1, 3, "PER"), (3, 4, "PER"), (4, 5, "LOC")])
        );
    }

    /// S- is one token, E- closes: S-X S-X B-X E-X I-X → X 0..1, X 1..2, X 2..4, X 4..5
    /// (the last I-X after E-X opens a new chunk). conlleval.pl would merge S-X S-X.
    #[test]
    fn lenient_understands_bioes() {
        let t = tags("S-X S-X B-X E-X I-X");
        assert_eq!(
            lenient_spans(&t),
            spans(&[(0, 1, "X"), (1, 2, "X"), (2, 4, "X"), (4, 5, "X")])
        );
        // B-X I-X runs to the sentence end without E-: kept leniently.
        assert_eq!(lenient_spans(&tags("O B-X I-X")), spans(&[(1, 3, "X")]));
        // Plain tags close chunks like O.
        assert_eq!(
            lenient_spans(&tags("B-X NN I-X")),
            spans(&[(0, 1, "X"), (2, 3, "X")])
        );
    }

    /// Hyphenated types survive decoding whole.
    #[test]
    fn lenient_keeps_hyphenated_types() {
        let t = tags("B-GPE-ORG I-GPE-ORG B-GPE");
        assert_eq!(
            lenient_spans(&t),
            spans(&[(0, 2, "GPE-ORG"), (2, 3, "GPE")])
        );
    }

    /// BIO strict: only B-X I-X* chunks. `O I-X I-X B-Y I-Y I-Z`: the I-X chunk (1..3) and
    /// the I-Z chunk (5..6) open with I- and are dropped; B-Y I-Y (3..5) is kept.
    #[test]
    fn strict_bio_drops_chunks_opened_by_i() {
        let t = tags("O I-X I-X B-Y I-Y I-Z");
        assert_eq!(strict_spans(&t, Scheme::Bio), spans(&[(3, 5, "Y")]));
        assert_eq!(lenient_spans(&t).len(), 3);
    }

    /// BIOES strict: S-X | B-X I-X* E-X. `B-X I-X O S-Y B-Z E-Z E-Z B-W`: B-X I-X has no
    /// E- (dropped), S-Y kept 3..4, B-Z E-Z kept 4..6, lone E-Z opens illegally (dropped),
    /// final B-W unterminated (dropped).
    #[test]
    fn strict_bioes_needs_closed_chunks() {
        let t = tags("B-X I-X O S-Y B-Z E-Z E-Z B-W");
        assert_eq!(
            strict_spans(&t, Scheme::Bioes),
            spans(&[(3, 4, "Y"), (4, 6, "Z")])
        );
    }

    /// IOB1 strict: `I-X B-X I-X O B-Y I-Y I-Z`: I-X 0..1 kept, B-X I-X 1..3 kept (after a
    /// same-type chunk), B-Y I-Y 4..6 dropped (B- after O), I-Z 6..7 kept.
    #[test]
    fn strict_iob1_drops_b_after_o() {
        let t = tags("I-X B-X I-X O B-Y I-Y I-Z");
        assert_eq!(
            strict_spans(&t, Scheme::Iob1),
            spans(&[(0, 1, "X"), (1, 3, "X"), (6, 7, "Z")])
        );
    }

    /// A good BIOES chunk right after an unclosed one is kept (as seqeval keeps it):
    /// `B-X I-X S-Y B-Z E-Z` → only S-Y 2..3 and B-Z E-Z 3..5.
    #[test]
    fn strict_bioes_keeps_good_chunk_after_unclosed_one() {
        let t = tags("B-X I-X S-Y B-Z E-Z");
        assert_eq!(
            strict_spans(&t, Scheme::Bioes),
            spans(&[(2, 3, "Y"), (3, 5, "Z")])
        );
    }

    /// Strict in a scheme whose tag set lacks the prefix drops the chunk (seqeval raises).
    #[test]
    fn strict_drops_foreign_prefixes() {
        let t = tags("S-X B-Y E-Y");
        assert_eq!(strict_spans(&t, Scheme::Bio), vec![]);
    }

    #[test]
    fn encode_each_scheme() {
        let s = spans(&[(0, 1, "X"), (1, 3, "X"), (4, 7, "Y")]);
        assert_eq!(
            Scheme::Bio.encode(&s, 8),
            tags("B-X B-X I-X O B-Y I-Y I-Y O")
        );
        assert_eq!(
            Scheme::Iob1.encode(&s, 8),
            tags("I-X B-X I-X O I-Y I-Y I-Y O")
        );
        assert_eq!(
            Scheme::Bioes.encode(&s, 8),
            tags("S-X B-X E-X O B-Y I-Y E-Y O")
        );
        // Clipped, never panics.
        assert_eq!(Scheme::Bio.encode(&s, 2), tags("B-X B-X"));
    }

    #[test]
    fn convert_round_trips_between_all_schemes() {
        let bio = tags("B-X B-X I-X O B-Y I-Y I-Y O B-Z");
        let iob1 = tags("I-X B-X I-X O I-Y I-Y I-Y O I-Z");
        let bioes = tags("S-X B-X E-X O B-Y I-Y E-Y O S-Z");
        let all = [
            (Scheme::Bio, &bio),
            (Scheme::Iob1, &iob1),
            (Scheme::Bioes, &bioes),
        ];
        for (_, from) in &all {
            for (to_scheme, to) in &all {
                assert_eq!(&convert(from, *to_scheme), *to, "{from:?} -> {to_scheme}");
            }
        }
    }

    /// Ill-formed input is repaired by the lenient reading: BIO `O I-X I-X` → `O B-X I-X`.
    #[test]
    fn convert_repairs_and_keeps_plain_tags() {
        assert_eq!(convert(&tags("O I-X I-X"), Scheme::Bio), tags("O B-X I-X"));
        assert_eq!(
            convert(&tags("NN B-X E-X"), Scheme::Bio),
            tags("NN B-X I-X")
        );
    }

    #[test]
    fn detect_rules() {
        let bioes = [tags("O S-X O")];
        assert_eq!(detect(&bioes), Some(Scheme::Bioes));
        let iob1 = [tags("I-X I-X B-X O I-Y"), tags("O I-Z")];
        assert_eq!(detect(&iob1), Some(Scheme::Iob1));
        let bio = [tags("B-X I-X B-X O B-Y"), tags("O I-Z")]; // 3 B- openings vs 1 I-
        assert_eq!(detect(&bio), Some(Scheme::Bio));
        // One irregular B- after O in IOB1 data does not flip the decision (2 I- vs 1 B-).
        let noisy_iob1 = [tags("I-X O B-Y"), tags("I-Z I-Z")];
        assert_eq!(detect(&noisy_iob1), Some(Scheme::Iob1));
        let pos = [tags("NN VB DT")];
        assert_eq!(detect(&pos), None);
        assert_eq!(detect(&[tags("O O")]), None);
        let empty: [Vec<String>; 0] = [];
        assert_eq!(detect(&empty), None);
        // Slices of slices work too.
        let a = tags("B-X");
        let slices: Vec<&[String]> = vec![&a[..]];
        assert_eq!(detect(&slices), Some(Scheme::Bio));
    }

    #[test]
    fn validate_bio() {
        let s = [tags("O I-X B-Y I-Y I-X"), tags("I-Z S-Z")];
        let v = validate(&s, Scheme::Bio);
        let got: Vec<_> = v.iter().map(|v| (v.sentence, v.token, v.kind)).collect();
        assert_eq!(
            got,
            vec![
                (0, 1, ViolationKind::IllegalTransition),
                (0, 4, ViolationKind::IllegalTransition),
                (1, 0, ViolationKind::IllegalTransition),
                (1, 1, ViolationKind::UnknownTag),
            ]
        );
        assert_eq!(
            v[0].to_string(),
            "sentence 1, token 2: `I-X` cannot follow `O` in BIO"
        );
        assert_eq!(
            v[2].to_string(),
            "sentence 2, token 1: `I-Z` cannot follow `the sentence start` in BIO"
        );
        assert_eq!(
            v[3].to_string(),
            "sentence 2, token 2: tag `S-Z` is not a BIO tag"
        );
    }

    #[test]
    fn validate_iob1() {
        let s = [tags("I-X B-X O B-X I-Y B-X")];
        let got: Vec<_> = validate(&s, Scheme::Iob1)
            .iter()
            .map(|v| (v.token, v.kind))
            .collect();
        // B-X after O (3) and B-X after I-Y (5) are illegal; B-X after I-X (1) is fine.
        assert_eq!(
            got,
            vec![
                (3, ViolationKind::IllegalTransition),
                (5, ViolationKind::IllegalTransition)
            ]
        );
    }

    #[test]
    fn validate_bioes() {
        let s = [tags("B-X O S-Y I-Y B-Z E-Z B-W"), tags("NN E-X")];
        let v = validate(&s, Scheme::Bioes);
        let got: Vec<_> = v.iter().map(|v| (v.sentence, v.token, v.kind)).collect();
        assert_eq!(
            got,
            vec![
                (0, 1, ViolationKind::IllegalTransition), // O after open B-X
                (0, 3, ViolationKind::IllegalTransition), // I-Y after S-Y
                (0, 4, ViolationKind::IllegalTransition), // B-Z after (open) I-Y
                (0, 6, ViolationKind::Unterminated),      // B-W at the end
                (1, 0, ViolationKind::UnknownTag),        // NN
                (1, 1, ViolationKind::IllegalTransition), // E-X after (NN as) O
            ]
        );
        assert_eq!(
            v[3].to_string(),
            "sentence 1, token 7: sentence ends inside a chunk at `B-W` \
             (a BIOES chunk ends with E- or is S-)"
        );
    }

    #[test]
    fn well_formed_sequences_validate_cleanly() {
        let s = [tags("I-X B-X O I-Y")];
        assert!(validate(&s, Scheme::Iob1).is_empty());
        let s = [tags("B-X B-X O B-Y I-Y")];
        assert!(validate(&s, Scheme::Bio).is_empty());
        let s = [tags("S-X B-X E-X O B-Y I-Y E-Y")];
        assert!(validate(&s, Scheme::Bioes).is_empty());
    }

    /// Random well-formed corpora (seeded): spans → any scheme → any other scheme gives the
    /// direct encoding; every encoding validates cleanly, decodes (lenient and strict) to
    /// the original spans, and is detected as its scheme whenever the scheme is visible.
    #[test]
    fn random_spans_round_trip() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(20040126);
        for _ in 0..2000 {
            let len = rng.random_range(0..15usize);
            let mut original = Vec::new();
            let mut i = 0;
            while i < len {
                if rng.random_bool(0.4) {
                    let end = (i + rng.random_range(1..4usize)).min(len);
                    let label = ["X", "Y", "GPE-ORG"][rng.random_range(0..3usize)];
                    original.push(Span::new(i, end, label));
                    i = end;
                } else {
                    i += 1;
                }
            }
            for from in Scheme::ALL {
                let encoded = from.encode(&original, len);
                assert!(validate(&[&encoded], from).is_empty(), "{from} {encoded:?}");
                assert_eq!(lenient_spans(&encoded), original, "{encoded:?}");
                assert_eq!(strict_spans(&encoded, from), original, "{from} {encoded:?}");
                for to in Scheme::ALL {
                    assert_eq!(convert(&encoded, to), to.encode(&original, len));
                }
                if let Some(d) = detect(&[&encoded]) {
                    // IOB1 and BIO look alike when every chunk is adjacent to a same-type one,
                    // and BIOES without S-/E- cannot be told apart; otherwise detection is
                    // exact.
                    let visible = match from {
                        Scheme::Bioes => true,
                        Scheme::Iob1 => encoded.iter().any(|t| t.starts_with("I-")),
                        Scheme::Bio => encoded.iter().any(|t| t.starts_with("B-")),
                    };
                    if visible {
                        assert_eq!(d, from, "{encoded:?}");
                    }
                }
            }
        }
    }

    /// The datasets README counts entities as lenient chunks.
    #[test]
    fn count_chunks_per_type() {
        let s = [tags("I-X I-X B-X O I-Y"), tags("S-X")];
        let c = count_chunks(&s);
        assert_eq!(c.get("X"), Some(&3));
        assert_eq!(c.get("Y"), Some(&1));
    }
}
