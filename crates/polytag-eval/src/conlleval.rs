//! A faithful reimplementation of `conlleval.pl` version 2004-01-26 (Erik Tjong Kim Sang, the
//! CoNLL-2000..2003 shared-task scorer): its chunk start/end rules, its counts, and its text
//! report byte for byte.
//!
//! The port is a state machine fed one step per line, as the perl loop is: [`Conlleval::token`]
//! for a token line, [`Conlleval::boundary`] for a sentence boundary (the perl script turns a
//! blank or `-X-` line into the tags `O O` and does not count it as a token). Everything the
//! script does is kept, quirks included, because figures must match published ones:
//!
//! - the prefix is what precedes the first hyphen (`B-GPE-ORG` → `B`, `GPE-ORG`);
//! - `startOfChunk`/`endOfChunk` know `B`, `I`, `E`, `O`, `.`, `[`, `]` only: an `S-` tag is
//!   an unknown prefix, so `S-X S-X` is one chunk (the `conll02-nl-dev-bioes` vector shows it;
//!   the scheme-aware mode in [`crate::report`] avoids it);
//! - a chunk is correct when both columns start one at the same token with the same type and
//!   both end it at the same token (`$inCorrect`), judged on the types of the tokens;
//! - a type perl finds false (`"0"`) is read as empty (`$guessedType ? $guessedType : ""`);
//! - the per-type list is the sorted concatenation of gold and found type keys with adjacent
//!   duplicates dropped, except that the empty type is never deduplicated (`not($lastType)`);
//! - percentages are `100*correct/found` etc. in double precision, printed with `%6.2f`
//!   (Rust's `{:6.2}` rounds the same way, ties to even on the exact binary value), the type
//!   name right-aligned in 17 *bytes*, as perl pads byte strings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use polytag_data::scheme::split_tag;

use crate::accuracy::Accuracy;
use crate::span::{Confusion, Span, SpanMetrics, TypeCounts};

/// conlleval.pl's reading of a tag: `(prefix, type)`, with a false type (`"0"`) read as `""`.
fn perl_tag(tag: &str) -> (&str, &str) {
    let (prefix, ty) = split_tag(tag);
    match ty {
        None | Some("0") => (prefix, ""),
        Some(ty) => (prefix, ty),
    }
}

/// conlleval.pl `endOfChunk`: did a chunk end between the previous and the current word?
fn end_of_chunk(prev_tag: &str, tag: &str, prev_type: &str, ty: &str) -> bool {
    matches!(
        (prev_tag, tag),
        ("B", "B") | ("B", "O") | ("I", "B") | ("I", "O") | ("E", "E") | ("E", "I") | ("E", "O")
    ) || (prev_tag != "O" && prev_tag != "." && prev_type != ty)
        || prev_tag == "]"
        || prev_tag == "["
}

/// conlleval.pl `startOfChunk`: did a chunk start between the previous and the current word?
fn start_of_chunk(prev_tag: &str, tag: &str, prev_type: &str, ty: &str) -> bool {
    matches!(
        (prev_tag, tag),
        ("B", "B") | ("I", "B") | ("O", "B") | ("O", "I") | ("E", "E") | ("E", "I") | ("O", "E")
    ) || (tag != "O" && tag != "." && prev_type != ty)
        || tag == "["
        || tag == "]"
}

/// The previous step's tag of one column, split.
#[derive(Debug, Clone)]
struct Last {
    tag: String,
    ty: String,
}

impl Last {
    fn outside() -> Self {
        Last {
            tag: "O".to_string(),
            ty: String::new(),
        }
    }

    fn set(&mut self, tag: &str, ty: &str) {
        self.tag.clear();
        self.tag.push_str(tag);
        self.ty.clear();
        self.ty.push_str(ty);
    }
}

/// Chunks of one column as conlleval's start/end events delimit them, for the confusion
/// table; positions count tokens across the whole input (boundaries are not tokens).
#[derive(Debug, Clone, Default)]
struct SpanTrack {
    open: Option<(usize, String)>,
    spans: Vec<Span>,
}

impl SpanTrack {
    fn step(&mut self, at: usize, ended: bool, started: bool, ty: &str) {
        if ended || started {
            if let Some((start, label)) = self.open.take() {
                self.spans.push(Span::new(start, at, label));
            }
        }
        if started {
            self.open = Some((at, ty.to_string()));
        }
    }

    fn finish(mut self, at: usize) -> Vec<Span> {
        if let Some((start, label)) = self.open.take() {
            self.spans.push(Span::new(start, at, label));
        }
        self.spans
    }
}

/// The conlleval.pl state machine. Feed it lines with [`token`](Self::token) and
/// [`boundary`](Self::boundary), then call [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct Conlleval {
    last_gold: Last,
    last_pred: Last,
    in_correct: bool,
    tokens: usize,
    correct_tags: usize,
    per_type: BTreeMap<String, TypeCounts>,
    gold_track: SpanTrack,
    pred_track: SpanTrack,
    /// Spans moved out of the tracks by [`Conlleval::flush_spans`], already tallied.
    flushed: Confusion,
}

impl Default for Conlleval {
    fn default() -> Self {
        Self::new()
    }
}

impl Conlleval {
    /// The state before the first line (previous tags `O`, no chunk open).
    pub fn new() -> Self {
        Conlleval {
            last_gold: Last::outside(),
            last_pred: Last::outside(),
            in_correct: false,
            tokens: 0,
            correct_tags: 0,
            per_type: BTreeMap::new(),
            gold_track: SpanTrack::default(),
            pred_track: SpanTrack::default(),
            flushed: Confusion::default(),
        }
    }

    /// One token line with its gold and predicted tags.
    pub fn token(&mut self, gold: &str, pred: &str) {
        self.step(gold, pred, false);
    }

    /// A sentence boundary line: tags `O O`, not counted as a token.
    pub fn boundary(&mut self) {
        self.step("O", "O", true);
    }

    /// Tallies the chunks completed so far into the confusion table and forgets them, so a
    /// long input is scored in memory bounded by its longest sentence. Call it right after
    /// [`boundary`](Self::boundary) (no chunk is open there); elsewhere it waits for one.
    /// The figures are the same with or without it; only [`ConllevalCounts::gold_spans`] and
    /// `pred_spans` then hold just the chunks after the last flush.
    pub fn flush_spans(&mut self) {
        if self.gold_track.open.is_none() && self.pred_track.open.is_none() {
            self.flushed
                .add(&self.gold_track.spans, &self.pred_track.spans);
            self.gold_track.spans.clear();
            self.pred_track.spans.clear();
        }
    }

    fn step(&mut self, gold: &str, pred: &str, boundary: bool) {
        let (c, c_ty) = perl_tag(gold);
        let (g, g_ty) = perl_tag(pred);
        let (lc, lc_ty) = (self.last_gold.tag.as_str(), self.last_gold.ty.as_str());
        let (lg, lg_ty) = (self.last_pred.tag.as_str(), self.last_pred.ty.as_str());
        let c_end = end_of_chunk(lc, c, lc_ty, c_ty);
        let g_end = end_of_chunk(lg, g, lg_ty, g_ty);
        let c_start = start_of_chunk(lc, c, lc_ty, c_ty);
        let g_start = start_of_chunk(lg, g, lg_ty, g_ty);

        if self.in_correct {
            if c_end && g_end && lg_ty == lc_ty {
                self.in_correct = false;
                self.per_type.entry(lc_ty.to_string()).or_default().correct += 1;
            } else if c_end != g_end || g_ty != c_ty {
                self.in_correct = false;
            }
        }
        if c_start && g_start && g_ty == c_ty {
            self.in_correct = true;
        }
        if c_start {
            self.per_type.entry(c_ty.to_string()).or_default().gold += 1;
        }
        if g_start {
            self.per_type.entry(g_ty.to_string()).or_default().found += 1;
        }
        self.gold_track.step(self.tokens, c_end, c_start, c_ty);
        self.pred_track.step(self.tokens, g_end, g_start, g_ty);
        if !boundary {
            if c == g && g_ty == c_ty {
                self.correct_tags += 1;
            }
            self.tokens += 1;
        }
        self.last_gold.set(c, c_ty);
        self.last_pred.set(g, g_ty);
    }

    /// Ends the input: a chunk still being matched counts as correct (the script's final
    /// `if ($inCorrect)`), open chunks close at the last token.
    pub fn finish(mut self) -> ConllevalCounts {
        if self.in_correct {
            let ty = self.last_gold.ty.clone();
            self.per_type.entry(ty).or_default().correct += 1;
        }
        ConllevalCounts {
            tokens: self.tokens,
            correct_tags: self.correct_tags,
            per_type: self.per_type,
            gold_spans: self.gold_track.finish(self.tokens),
            pred_spans: self.pred_track.finish(self.tokens),
            flushed: self.flushed,
        }
    }
}

/// What conlleval.pl counts, and the chunks behind the counts.
#[derive(Debug, Clone, PartialEq)]
pub struct ConllevalCounts {
    /// Token lines (boundaries excluded).
    pub tokens: usize,
    /// Tokens whose gold and predicted tags are equal (prefix and type).
    pub correct_tags: usize,
    /// Per chunk type: gold phrases, found phrases, correct phrases. The overall counts are
    /// the sums (see [`totals`](Self::totals)).
    pub per_type: BTreeMap<String, TypeCounts>,
    /// Gold chunks, in token positions counted over the whole input.
    pub gold_spans: Vec<Span>,
    /// Predicted chunks, same positions.
    pub pred_spans: Vec<Span>,
    /// The confusion table of chunks flushed before `gold_spans`/`pred_spans` (see
    /// [`Conlleval::flush_spans`]); empty unless the input was streamed.
    pub flushed: Confusion,
}

impl ConllevalCounts {
    /// Overall gold / found / correct phrase counts.
    pub fn totals(&self) -> TypeCounts {
        self.per_type
            .values()
            .fold(TypeCounts::default(), |a, c| TypeCounts {
                gold: a.gold + c.gold,
                found: a.found + c.found,
                correct: a.correct + c.correct,
            })
    }

    /// Token accuracy as the report's `accuracy:` figure counts it.
    pub fn accuracy(&self) -> Accuracy {
        Accuracy::new(self.correct_tags, self.tokens)
    }

    /// The counts as [`SpanMetrics`] (fractions), with the confusion table of the chunks.
    pub fn span_metrics(&self) -> SpanMetrics {
        let mut confusion = self.flushed.clone();
        confusion.add(&self.gold_spans, &self.pred_spans);
        SpanMetrics::from_counts(&self.per_type, confusion)
    }

    /// The types conlleval.pl prints, in its order: sorted gold then found keys, adjacent
    /// duplicates dropped except after the empty type (perl's `not($lastType)` is true for it).
    fn sorted_types(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for (ty, c) in &self.per_type {
            if c.gold > 0 {
                keys.push(ty);
            }
            if c.found > 0 {
                keys.push(ty);
            }
        }
        keys.sort_unstable();
        let mut out: Vec<&str> = Vec::with_capacity(keys.len());
        let mut last: Option<&str> = None;
        for k in keys {
            if last.is_none_or(|l| l.is_empty() || l != k) {
                out.push(k);
            }
            last = Some(k);
        }
        out
    }

    /// The report exactly as conlleval.pl prints it (without `-l`/`-r`), e.g.
    ///
    /// ```text
    /// processed 51362 tokens with 5942 phrases; found: 5713 phrases; correct: 4295.
    /// accuracy:  95.40%; precision:  75.18%; recall:  72.28%; FB1:  73.70
    ///               LOC: precision:  76.90%; recall:  71.58%; FB1:  74.15  1710
    /// ```
    pub fn text(&self) -> String {
        let t = self.totals();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "processed {} tokens with {} phrases; found: {} phrases; correct: {}.",
            self.tokens, t.gold, t.found, t.correct
        );
        let (precision, recall, fb1) = percentages(t.correct, t.found, t.gold);
        if self.tokens > 0 {
            let accuracy = (100 * self.correct_tags) as f64 / self.tokens as f64;
            let _ = writeln!(
                out,
                "accuracy: {accuracy:6.2}%; precision: {precision:6.2}%; recall: {recall:6.2}%; FB1: {fb1:6.2}"
            );
        }
        for ty in self.sorted_types() {
            let c = self.per_type.get(ty).copied().unwrap_or_default();
            let (precision, recall, fb1) = percentages(c.correct, c.found, c.gold);
            let pad = 17usize.saturating_sub(ty.len());
            let _ = writeln!(
                out,
                "{:pad$}{ty}: precision: {precision:6.2}%; recall: {recall:6.2}%; FB1: {fb1:6.2}  {}",
                "", c.found
            );
        }
        out
    }
}

/// conlleval.pl's percentages: `100*c/found`, `100*c/gold`, `2*p*r/(p+r)`, 0 when undefined,
/// in the script's order of operations (integer `100*c` first, then one division).
fn percentages(correct: usize, found: usize, gold: usize) -> (f64, f64, f64) {
    let precision = if found > 0 {
        (100 * correct) as f64 / found as f64
    } else {
        0.0
    };
    let recall = if gold > 0 {
        (100 * correct) as f64 / gold as f64
    } else {
        0.0
    };
    let fb1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, fb1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[(&str, &str)]) -> ConllevalCounts {
        let mut m = Conlleval::new();
        for &(g, p) in lines {
            if g.is_empty() {
                m.boundary();
            } else {
                m.token(g, p);
            }
        }
        m.finish()
    }

    /// edge-type-change-inside: gold B-PER I-PER I-PER is one PER chunk; the prediction
    /// B-PER I-ORG I-PER changes type twice, so it has three chunks (PER, ORG, PER), none of
    /// them equal to the gold one. Tags equal on tokens 1 and 3 → accuracy 2/3.
    #[test]
    fn type_change_inside_splits_chunks() {
        let c = run(&[("B-PER", "B-PER"), ("I-PER", "I-ORG"), ("I-PER", "I-PER")]);
        let t = c.totals();
        assert_eq!((c.tokens, t.gold, t.found, t.correct), (3, 1, 3, 0));
        assert_eq!(c.correct_tags, 2);
        assert_eq!(c.per_type["PER"].found, 2);
        assert_eq!(
            c.pred_spans,
            vec![
                Span::new(0, 1, "PER"),
                Span::new(1, 2, "ORG"),
                Span::new(2, 3, "PER")
            ]
        );
    }

    /// conlleval.pl does not know S-: S-X S-X is one chunk (no rule ends S before S and the
    /// type does not change), while S-X S-Y is two.
    #[test]
    fn s_prefix_quirk_is_kept() {
        let c = run(&[
            ("S-X", "S-X"),
            ("S-X", "S-X"),
            ("", ""),
            ("S-X", "S-X"),
            ("S-Y", "S-Y"),
        ]);
        assert_eq!(c.totals().gold, 3);
        assert_eq!(c.gold_spans[0], Span::new(0, 2, "X"));
    }

    /// E-X followed by B-X: conlleval has no (E, B) rule, so neither an end nor a start.
    #[test]
    fn e_then_b_same_type_continues() {
        let c = run(&[
            ("B-X", "B-X"),
            ("E-X", "E-X"),
            ("B-X", "B-X"),
            ("E-X", "E-X"),
        ]);
        assert_eq!(c.totals().gold, 1);
        assert_eq!(c.totals().correct, 1);
    }

    /// `[` and `]` are one-token chunks of their own (conlleval's 1998-12-22 correction).
    #[test]
    fn brackets_are_single_token_chunks() {
        let c = run(&[("[", "["), ("[", "O"), ("]", "]")]);
        let t = c.totals();
        assert_eq!((t.gold, t.found, t.correct), (3, 2, 2));
    }

    /// A type perl finds false: `B-0` has the empty type; the empty type is listed twice
    /// when it is both a gold and a found key (`not($lastType)` is true for "").
    #[test]
    fn false_type_and_empty_type_listing() {
        let c = run(&[("B-0", "B")]);
        assert_eq!(c.per_type.keys().collect::<Vec<_>>(), vec![""]);
        assert_eq!(c.totals().correct, 1);
        let text = c.text();
        let line = "                 : precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n";
        assert_eq!(text.matches(line).count(), 2, "{text}");
    }

    /// Type names pad to 17 bytes (perl byte strings): "ДАТА" is 8 bytes → 9 spaces.
    #[test]
    fn type_column_pads_bytes() {
        let c = run(&[("B-ДАТА", "B-ДАТА")]);
        assert!(
            c.text().contains("\n         ДАТА: precision"),
            "{}",
            c.text()
        );
    }

    /// No token at all: only the first line is printed.
    #[test]
    fn empty_input_prints_one_line() {
        let c = run(&[]);
        assert_eq!(
            c.text(),
            "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n"
        );
    }

    /// Hand-computed percentages: 1 correct of 3 found, 2 gold → p 33.33, r 50.00,
    /// FB1 = 2·33.33·50/(83.33) = 40.00.
    #[test]
    fn percentages_follow_the_script() {
        let (p, r, f) = percentages(1, 3, 2);
        assert_eq!(format!("{p:6.2} {r:6.2} {f:6.2}"), " 33.33  50.00  40.00");
        assert_eq!(percentages(0, 0, 0), (0.0, 0.0, 0.0));
    }
}
