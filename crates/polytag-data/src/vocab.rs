//! Vocabularies: strings ↔ `u32` ids for words, characters and feature columns.
//!
//! - [`WordVocab`]: PAD = 0, UNK = 1, built from token counts with `min_count`; optional
//!   lowercasing and digit→0 normalisation; lookup falls back exact → lowercase → digits→0 → UNK
//!   (seed-systems.md A′.1), so `Paris`, `PARIS` and `1996`/`1997` find an entry when the data
//!   or the embedding file has a near form.
//! - [`CharVocab`]: PAD = 0, UNK = 1, case-sensitive. The paper numbered characters from 1, so
//!   its first character shared id 1 with UNK (seed-systems.md A.4 \[BUG\]); here real characters
//!   start at 2.
//! - [`FeatureVocab`]: PAD = 0, UNK = 1, for an extra input column (`feature_embedding`).
//! - [`crate::labels::LabelVocab`] (its own module) builds on [`Vocab`] with no reserved entries.
//!
//! All are serde types: checkpoints store them so a run can be evaluated without the training
//! files. Ordering is deterministic (count, then string), never hash order.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;

/// Id of the padding entry in word, char and feature vocabularies.
pub const PAD: u32 = 0;
/// Id of the unknown entry in word, char and feature vocabularies.
pub const UNK: u32 = 1;
/// Strings of the two reserved entries (a token spelled `<unk>` in the data maps to UNK).
pub const RESERVED: [&str; 2] = ["<pad>", "<unk>"];

/// A bijection between strings and dense ids `0..len`, the first `num_reserved` of which are
/// special entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "VocabRepr", into = "VocabRepr")]
pub struct Vocab {
    items: Vec<String>,
    index: HashMap<String, u32>,
    num_reserved: usize,
}

/// What a [`Vocab`] looks like on disk: the index is rebuilt on load.
#[derive(Serialize, Deserialize)]
struct VocabRepr {
    items: Vec<String>,
    num_reserved: usize,
}

impl TryFrom<VocabRepr> for Vocab {
    type Error = String;

    fn try_from(repr: VocabRepr) -> Result<Self, String> {
        if repr.num_reserved > repr.items.len() {
            return Err(format!(
                "vocabulary has {} reserved entries but only {} items",
                repr.num_reserved,
                repr.items.len()
            ));
        }
        let mut vocab = Vocab::with_reserved(&[]);
        for item in repr.items {
            if vocab.index.contains_key(&item) {
                return Err(format!("vocabulary lists {item:?} twice"));
            }
            vocab.push(&item);
        }
        vocab.num_reserved = repr.num_reserved;
        Ok(vocab)
    }
}

impl From<Vocab> for VocabRepr {
    fn from(vocab: Vocab) -> Self {
        VocabRepr {
            items: vocab.items,
            num_reserved: vocab.num_reserved,
        }
    }
}

impl Vocab {
    /// A vocabulary holding only `reserved`, with ids `0..reserved.len()`.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        let mut vocab = Vocab {
            items: Vec::new(),
            index: HashMap::new(),
            num_reserved: 0,
        };
        for item in reserved {
            vocab.push(item);
        }
        vocab.num_reserved = vocab.items.len();
        vocab
    }

    /// Builds `reserved` followed by every counted string with `count >= min_count`, ordered
    /// by decreasing count, ties by string (so the order never depends on hashing).
    pub fn from_counts(reserved: &[&str], counts: &HashMap<String, u64>, min_count: u64) -> Self {
        let mut vocab = Self::with_reserved(reserved);
        let mut entries: Vec<(&String, u64)> = counts
            .iter()
            .filter(|(_, &c)| c >= min_count)
            .map(|(s, &c)| (s, c))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (item, _) in entries {
            vocab.push(item);
        }
        vocab
    }

    /// Adds `item` if absent; returns its id either way.
    pub fn push(&mut self, item: &str) -> u32 {
        if let Some(&id) = self.index.get(item) {
            return id;
        }
        // Ids are u32 to match the batch buffers; 4 billion entries is far beyond any corpus.
        let id = u32::try_from(self.items.len()).unwrap_or(u32::MAX);
        self.items.push(item.to_string());
        self.index.insert(item.to_string(), id);
        id
    }

    /// The id of `item`, if present.
    pub fn id(&self, item: &str) -> Option<u32> {
        self.index.get(item).copied()
    }

    /// The string of `id`, if in range.
    pub fn get(&self, id: u32) -> Option<&str> {
        self.items.get(id as usize).map(String::as_str)
    }

    /// Number of entries, reserved ones included.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is no entry at all (not even reserved ones).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of reserved entries at the start.
    pub fn num_reserved(&self) -> usize {
        self.num_reserved
    }

    /// All entries in id order.
    pub fn items(&self) -> &[String] {
        &self.items
    }
}

/// Occurrence counts of strings (tokens, characters, feature values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub HashMap<String, u64>);

impl Counts {
    /// Empty counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one occurrence of `item`.
    pub fn add(&mut self, item: &str) {
        if let Some(count) = self.0.get_mut(item) {
            *count += 1;
        } else {
            self.0.insert(item.to_string(), 1);
        }
    }

    /// Counts every token of `corpus`.
    pub fn add_tokens(&mut self, corpus: &Corpus) {
        for sentence in &corpus.sentences {
            for token in &sentence.tokens {
                self.add(token);
            }
        }
    }

    /// The count of `item` (0 if never seen).
    pub fn get(&self, item: &str) -> u64 {
        self.0.get(item).copied().unwrap_or(0)
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Token counts of several corpora (e.g. train of every dataset of one language).
    pub fn of_tokens<'a>(corpora: impl IntoIterator<Item = &'a Corpus>) -> Self {
        let mut counts = Self::new();
        for corpus in corpora {
            counts.add_tokens(corpus);
        }
        counts
    }
}

/// How a word-vocabulary lookup found its entry (also used for embedding coverage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Match {
    /// The (normalised) token itself is an entry.
    Exact,
    /// Its lowercase form is.
    Lowercase,
    /// Its lowercase form with every ASCII digit replaced by `0` is.
    Digits,
    /// None of them: UNK.
    Unknown,
}

/// Options for building a [`WordVocab`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordVocabOptions {
    /// Keep words seen at least this often (1 keeps all).
    pub min_count: u64,
    /// Lowercase every word before counting and looking up (the paper's vocab, A.4).
    pub lowercase: bool,
    /// Replace ASCII digits by `0` before counting and looking up (`1996` → `0000`).
    pub digits_to_zero: bool,
}

impl Default for WordVocabOptions {
    /// Case-sensitive, digits kept, every word kept: the A′.1 vocab, whose fallback lookup
    /// already covers case and digit variants.
    fn default() -> Self {
        Self {
            min_count: 1,
            lowercase: false,
            digits_to_zero: false,
        }
    }
}

/// Replaces every ASCII digit by `0`.
///
/// ASCII only (the A′.1 code used Python's `\d`, which also matches other scripts' digits);
/// a deliberate simplification so the mapping is byte-length preserving and obvious.
pub fn digits_to_zero(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        Cow::Owned(
            s.chars()
                .map(|c| if c.is_ascii_digit() { '0' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// Lowercases `s`, borrowing when nothing changes.
fn lowercase(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The word vocabulary of one language: PAD = 0, UNK = 1, then words by frequency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordVocab {
    vocab: Vocab,
    lowercase: bool,
    digits_to_zero: bool,
}

impl WordVocab {
    /// Builds the vocabulary from raw token counts: tokens are normalised per `opts` first
    /// (so `The` and `the` add up when lowercasing), then `min_count` applies.
    pub fn build(counts: &Counts, opts: &WordVocabOptions) -> Self {
        let mut normalised: HashMap<String, u64> = HashMap::with_capacity(counts.0.len());
        for (token, &count) in &counts.0 {
            let key = normalise(token, opts.lowercase, opts.digits_to_zero);
            *normalised.entry(key.into_owned()).or_insert(0) += count;
        }
        Self {
            vocab: Vocab::from_counts(&RESERVED, &normalised, opts.min_count),
            lowercase: opts.lowercase,
            digits_to_zero: opts.digits_to_zero,
        }
    }

    /// Adds words not yet present (after normalisation), e.g. the dev/test words that an
    /// embedding file covers; returns how many were new.
    pub fn extend<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) -> usize {
        let before = self.vocab.len();
        for word in words {
            let key = self.normalise(word);
            self.vocab.push(&key);
        }
        self.vocab.len() - before
    }

    /// The token as stored: lowercased and/or digit-normalised per the build options.
    pub fn normalise<'a>(&self, token: &'a str) -> Cow<'a, str> {
        normalise(token, self.lowercase, self.digits_to_zero)
    }

    /// The id of `token`: exact → lowercase → digits→0 → [`UNK`].
    pub fn id(&self, token: &str) -> u32 {
        self.lookup(token).0
    }

    /// The id of `token` and which fallback step found it.
    pub fn lookup(&self, token: &str) -> (u32, Match) {
        let key = self.normalise(token);
        if let Some(id) = self.vocab.id(&key) {
            return (id, Match::Exact);
        }
        let lower = lowercase(&key);
        if let Some(id) = self.vocab.id(&lower) {
            return (id, Match::Lowercase);
        }
        if let Some(id) = self.vocab.id(&digits_to_zero(&lower)) {
            return (id, Match::Digits);
        }
        (UNK, Match::Unknown)
    }

    /// The underlying string ↔ id table.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Number of entries including PAD and UNK (= rows of the embedding table).
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    /// Never true (PAD and UNK are always there); for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }
}

fn normalise(token: &str, lower: bool, digits: bool) -> Cow<'_, str> {
    let token = if lower {
        lowercase(token)
    } else {
        Cow::Borrowed(token)
    };
    if digits {
        match digits_to_zero(&token) {
            Cow::Borrowed(_) => token,
            Cow::Owned(s) => Cow::Owned(s),
        }
    } else {
        token
    }
}

/// The character vocabulary (global in the paper): PAD = 0, UNK = 1, case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharVocab {
    vocab: Vocab,
}

impl CharVocab {
    /// Every character of every token of `corpora` seen at least `min_count` times.
    pub fn from_corpora<'a>(corpora: impl IntoIterator<Item = &'a Corpus>, min_count: u64) -> Self {
        let mut counts: HashMap<char, u64> = HashMap::new();
        for corpus in corpora {
            for sentence in &corpus.sentences {
                for token in &sentence.tokens {
                    for c in token.chars() {
                        *counts.entry(c).or_insert(0) += 1;
                    }
                }
            }
        }
        let counts = counts
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect();
        Self {
            vocab: Vocab::from_counts(&RESERVED, &counts, min_count),
        }
    }

    /// The id of `c`, or [`UNK`].
    pub fn id(&self, c: char) -> u32 {
        let mut buf = [0u8; 4];
        self.vocab.id(c.encode_utf8(&mut buf)).unwrap_or(UNK)
    }

    /// The underlying string ↔ id table (each entry one character).
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Number of entries including PAD and UNK.
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    /// Never true; for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }
}

/// Values of one extra input column (e.g. POS tags as a feature): PAD = 0, UNK = 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureVocab {
    vocab: Vocab,
}

impl FeatureVocab {
    /// Every value of feature column `feature_idx` (an index into `Sentence::features`) in
    /// `corpora`. Sentences without that column contribute nothing.
    pub fn from_corpora<'a>(
        corpora: impl IntoIterator<Item = &'a Corpus>,
        feature_idx: usize,
    ) -> Self {
        let mut counts = Counts::new();
        for corpus in corpora {
            for sentence in &corpus.sentences {
                for value in sentence.features.get(feature_idx).into_iter().flatten() {
                    counts.add(value);
                }
            }
        }
        Self {
            vocab: Vocab::from_counts(&RESERVED, &counts.0, 1),
        }
    }

    /// Every value of one feature column across corpora whose feature lists differ: each
    /// `(corpus, feature_idx)` names where that column sits in that corpus's sentences (a
    /// `feature_embedding` component shared by datasets that request different columns).
    pub fn from_columns<'a>(columns: impl IntoIterator<Item = (&'a Corpus, usize)>) -> Self {
        let mut counts = Counts::new();
        for (corpus, feature_idx) in columns {
            for sentence in &corpus.sentences {
                for value in sentence.features.get(feature_idx).into_iter().flatten() {
                    counts.add(value);
                }
            }
        }
        Self {
            vocab: Vocab::from_counts(&RESERVED, &counts.0, 1),
        }
    }

    /// The id of `value`, or [`UNK`].
    pub fn id(&self, value: &str) -> u32 {
        self.vocab.id(value).unwrap_or(UNK)
    }

    /// The underlying string ↔ id table.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Number of entries including PAD and UNK.
    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    /// Never true; for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentence::Sentence;

    fn corpus(path: &str, sentences: &[(&[&str], &[&str])]) -> Corpus {
        let mut c = Corpus::new(path);
        for (i, (tokens, labels)) in sentences.iter().enumerate() {
            c.sentences.push(Sentence {
                tokens: tokens.iter().map(|s| s.to_string()).collect(),
                labels: labels.iter().map(|s| s.to_string()).collect(),
                features: vec![],
                line: 1 + 10 * i,
            });
        }
        c
    }

    fn counts(tokens: &[&str]) -> Counts {
        let mut c = Counts::new();
        for t in tokens {
            c.add(t);
        }
        c
    }

    #[test]
    fn word_vocab_order_and_min_count() {
        // the ×3, a ×2, b ×2, z ×1: by count desc, ties alphabetically, after PAD and UNK.
        let c = counts(&["the", "a", "b", "the", "z", "b", "a", "the"]);
        let v = WordVocab::build(&c, &WordVocabOptions::default());
        assert_eq!(v.vocab().items(), ["<pad>", "<unk>", "the", "a", "b", "z"]);
        let v = WordVocab::build(
            &c,
            &WordVocabOptions {
                min_count: 2,
                ..Default::default()
            },
        );
        assert_eq!(v.vocab().items(), ["<pad>", "<unk>", "the", "a", "b"]);
        assert_eq!(v.id("z"), UNK);
    }

    #[test]
    fn word_lookup_fallback_chain() {
        let c = counts(&["paris", "Berlin", "0000", "x"]);
        let v = WordVocab::build(&c, &WordVocabOptions::default());
        assert_eq!(v.lookup("Berlin").1, Match::Exact);
        assert_eq!(
            v.lookup("Paris"),
            (v.vocab().id("paris").unwrap(), Match::Lowercase)
        );
        assert_eq!(v.lookup("PARIS").1, Match::Lowercase);
        assert_eq!(
            v.lookup("berlin"),
            (UNK, Match::Unknown),
            "no upward fallback"
        );
        assert_eq!(
            v.lookup("1996"),
            (v.vocab().id("0000").unwrap(), Match::Digits)
        );
        assert_eq!(v.lookup("London"), (UNK, Match::Unknown));
    }

    #[test]
    fn normalising_vocab_merges_counts() {
        // The ×1 + the ×1 → "the" ×2 survives min_count 2; 1996 + 2001 → "0000" ×2.
        let c = counts(&["The", "the", "1996", "2001", "Solo"]);
        let opts = WordVocabOptions {
            min_count: 2,
            lowercase: true,
            digits_to_zero: true,
        };
        let v = WordVocab::build(&c, &opts);
        assert_eq!(v.vocab().items(), ["<pad>", "<unk>", "0000", "the"]);
        assert_eq!(v.lookup("THE").1, Match::Exact);
        assert_eq!(v.lookup("1812").1, Match::Exact);
        assert_eq!(v.id("Solo"), UNK);
    }

    #[test]
    fn extend_adds_only_new_words() {
        let mut v = WordVocab::build(&counts(&["a"]), &WordVocabOptions::default());
        assert_eq!(v.extend(["a", "b", "b"]), 1);
        assert_eq!(v.len(), 4);
    }

    #[test]
    fn char_vocab_reserves_pad_and_unk() {
        // Case-sensitive; 'a' ×3, 'A' ×1, 'b' ×1: first real char gets id 2, not 1.
        let c = corpus("c", &[(&["aa", "Ab"], &["O", "O"])]);
        let v = CharVocab::from_corpora([&c], 1);
        assert_eq!(v.vocab().items(), ["<pad>", "<unk>", "a", "A", "b"]);
        assert_eq!(v.id('a'), 2);
        assert_eq!(v.id('z'), UNK);
        assert_eq!(CharVocab::from_corpora([&c], 2).len(), 3);
    }

    #[test]
    fn feature_vocab() {
        let mut c = corpus("c", &[(&["a", "b"], &["O", "O"])]);
        c.sentences[0].features = vec![vec!["NN".into(), "VB".into()]];
        let v = FeatureVocab::from_corpora([&c], 0);
        assert_eq!(v.len(), 4);
        assert_eq!(v.id("JJ"), UNK);
        assert_eq!(v.id("NN"), 2);
    }

    #[test]
    fn serde_round_trip_rebuilds_index() {
        let v = WordVocab::build(&counts(&["a", "B", "c"]), &WordVocabOptions::default());
        let json = serde_json::to_string(&v).unwrap();
        assert!(!json.contains("index"), "{json}");
        let back: WordVocab = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.lookup("b").1, Match::Unknown);
        assert_eq!(back.lookup("C").1, Match::Lowercase);
    }

    #[test]
    fn corrupt_serialised_vocab_is_rejected() {
        let dup = r#"{"items":["<pad>","<unk>","a","a"],"num_reserved":2}"#;
        assert!(serde_json::from_str::<Vocab>(dup).is_err());
        let short = r#"{"items":["<pad>"],"num_reserved":2}"#;
        assert!(serde_json::from_str::<Vocab>(short).is_err());
    }

    #[test]
    fn digits_helper() {
        assert_eq!(digits_to_zero("a1b22"), "a0b00");
        assert!(matches!(digits_to_zero("a0b"), Cow::Borrowed(_)));
    }
}
