//! Comparing gold and predicted spans: per-type counts, precision / recall / F1, and the
//! confusion table of entity types.
//!
//! [`Span`] itself lives upstream in `polytag_data::scheme` (the decoders that make spans are
//! there); this module only scores them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

pub use polytag_data::scheme::Span;

/// Raw counts for one entity type (or overall): gold chunks, predicted ("found") chunks, and
/// predicted chunks that match a gold one exactly (same boundaries and type).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeCounts {
    /// Chunks in the gold column.
    pub gold: usize,
    /// Chunks in the predicted column.
    pub found: usize,
    /// Predicted chunks equal to a gold chunk.
    pub correct: usize,
}

impl TypeCounts {
    fn add(&mut self, other: TypeCounts) {
        self.gold += other.gold;
        self.found += other.found;
        self.correct += other.correct;
    }
}

/// Precision, recall and F1 as fractions in `[0, 1]`, with 0 where a ratio is undefined.
///
/// Computed as seqeval 1.2 does (`tp / pred`, `tp / true`, `2·p·r / (p + r)` in that order
/// of operations), so its figures are reproduced to the last bit; conlleval.pl's 0-when-empty
/// convention is the same.
pub fn prf(correct: usize, found: usize, gold: usize) -> (f64, f64, f64) {
    let precision = if found > 0 {
        correct as f64 / found as f64
    } else {
        0.0
    };
    let recall = if gold > 0 {
        correct as f64 / gold as f64
    } else {
        0.0
    };
    let denom = precision + recall;
    let f1 = if denom > 0.0 {
        2.0 * precision * recall / denom
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// Counts and scores for one entity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeMetrics {
    /// Gold chunks of this type.
    pub gold: usize,
    /// Predicted chunks of this type.
    pub found: usize,
    /// Correct predicted chunks of this type.
    pub correct: usize,
    /// `correct / found` (0 when nothing was found).
    pub precision: f64,
    /// `correct / gold` (0 when there is no gold chunk).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

impl From<TypeCounts> for TypeMetrics {
    fn from(c: TypeCounts) -> Self {
        let (precision, recall, f1) = prf(c.correct, c.found, c.gold);
        TypeMetrics {
            gold: c.gold,
            found: c.found,
            correct: c.correct,
            precision,
            recall,
            f1,
        }
    }
}

/// Which gold type was predicted as which, for predicted and gold spans with identical
/// boundaries, plus the gold spans no prediction shares boundaries with (`missed`) and the
/// predictions no gold span shares boundaries with (`spurious`).
///
/// Why: F1 alone does not tell a boundary error from a type error; this table does
/// (design.md §5, "Reports also give a confusion table of entity types").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// `matched[gold_type][predicted_type]`: spans with the same boundaries.
    pub matched: BTreeMap<String, BTreeMap<String, usize>>,
    /// Gold spans whose boundaries no prediction has, per gold type.
    pub missed: BTreeMap<String, usize>,
    /// Predicted spans whose boundaries no gold span has, per predicted type.
    pub spurious: BTreeMap<String, usize>,
}

impl Confusion {
    /// Adds the spans of one sentence (or of a whole corpus in one coordinate system).
    ///
    /// Each side is expected to hold at most one span per start position (every decoder here
    /// guarantees it); otherwise only the last of several same-boundary predictions counts.
    pub fn add(&mut self, gold: &[Span], pred: &[Span]) {
        let by_bounds: BTreeMap<(usize, usize), &str> = pred
            .iter()
            .map(|s| ((s.start, s.end), s.label.as_str()))
            .collect();
        let mut gold_bounds = std::collections::BTreeSet::new();
        for g in gold {
            gold_bounds.insert((g.start, g.end));
            match by_bounds.get(&(g.start, g.end)) {
                Some(p) => {
                    *self
                        .matched
                        .entry(g.label.clone())
                        .or_default()
                        .entry((*p).to_string())
                        .or_insert(0) += 1;
                }
                None => *self.missed.entry(g.label.clone()).or_insert(0) += 1,
            }
        }
        for p in pred {
            if !gold_bounds.contains(&(p.start, p.end)) {
                *self.spurious.entry(p.label.clone()).or_insert(0) += 1;
            }
        }
    }

    /// A plain-text table: one row per gold type (then a `(spurious)` row), one column per
    /// predicted type (then `(missed)`), counts right-aligned.
    pub fn render(&self) -> String {
        let mut labels: Vec<&str> = self
            .matched
            .iter()
            .flat_map(|(g, row)| std::iter::once(g.as_str()).chain(row.keys().map(String::as_str)))
            .chain(self.missed.keys().map(String::as_str))
            .chain(self.spurious.keys().map(String::as_str))
            .collect();
        labels.sort_unstable();
        labels.dedup();
        let missed_col = "(missed)";
        let spurious_row = "(spurious)";
        let corner = "gold \\ predicted";
        let row_w = labels
            .iter()
            .map(|l| l.chars().count())
            .chain([corner.len(), spurious_row.len()])
            .max()
            .unwrap_or(0);
        let col_w: Vec<usize> = labels
            .iter()
            .map(|l| l.chars().count().max(5))
            .chain([missed_col.len()])
            .collect();
        let mut out = String::new();
        let _ = write!(out, "{corner:<row_w$}");
        for (l, w) in labels.iter().chain([&missed_col]).zip(&col_w) {
            let _ = write!(out, "  {l:>w$}");
        }
        out.push('\n');
        for g in &labels {
            let _ = write!(out, "{g:<row_w$}");
            let row = self.matched.get(*g);
            for (p, w) in labels.iter().zip(&col_w) {
                let n = row.and_then(|r| r.get(*p)).copied().unwrap_or(0);
                let _ = write!(out, "  {n:>w$}");
            }
            let n = self.missed.get(*g).copied().unwrap_or(0);
            let _ = writeln!(out, "  {n:>w$}", w = missed_col.len());
        }
        let _ = write!(out, "{spurious_row:<row_w$}");
        for (p, w) in labels.iter().zip(&col_w) {
            let n = self.spurious.get(*p).copied().unwrap_or(0);
            let _ = write!(out, "  {n:>w$}");
        }
        let _ = writeln!(out, "  {:>w$}", "", w = missed_col.len());
        out
    }
}

/// Span-level scores: overall (micro-averaged) and per type, plus the [`Confusion`] table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanMetrics {
    /// Gold chunks.
    pub gold: usize,
    /// Predicted chunks.
    pub found: usize,
    /// Correct predicted chunks.
    pub correct: usize,
    /// Micro precision, a fraction.
    pub precision: f64,
    /// Micro recall, a fraction.
    pub recall: f64,
    /// Micro F1, a fraction.
    pub f1: f64,
    /// Per entity type, sorted by type name.
    pub per_type: BTreeMap<String, TypeMetrics>,
    /// Gold type × predicted type for same-boundary spans, plus missed and spurious.
    pub confusion: Confusion,
}

impl SpanMetrics {
    /// Builds the scores from per-type counts; the overall counts are their sums (as in
    /// conlleval.pl and seqeval's micro average).
    pub fn from_counts(per_type: &BTreeMap<String, TypeCounts>, confusion: Confusion) -> Self {
        let mut total = TypeCounts::default();
        for c in per_type.values() {
            total.add(*c);
        }
        let (precision, recall, f1) = prf(total.correct, total.found, total.gold);
        SpanMetrics {
            gold: total.gold,
            found: total.found,
            correct: total.correct,
            precision,
            recall,
            f1,
            per_type: per_type
                .iter()
                .map(|(k, c)| (k.clone(), TypeMetrics::from(*c)))
                .collect(),
            confusion,
        }
    }
}

/// Accumulates gold/predicted spans sentence by sentence, then gives [`SpanMetrics`].
#[derive(Debug, Clone, Default)]
pub struct SpanTally {
    per_type: BTreeMap<String, TypeCounts>,
    confusion: Confusion,
}

impl SpanTally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sentence's spans: a prediction is correct when a gold span has the same
    /// start, end and type.
    pub fn add(&mut self, gold: &[Span], pred: &[Span]) {
        let gold_set: std::collections::BTreeSet<&Span> = gold.iter().collect();
        for g in gold {
            self.per_type.entry(g.label.clone()).or_default().gold += 1;
        }
        for p in pred {
            let c = self.per_type.entry(p.label.clone()).or_default();
            c.found += 1;
            if gold_set.contains(p) {
                c.correct += 1;
            }
        }
        self.confusion.add(gold, pred);
    }

    /// The scores over everything added.
    pub fn finish(self) -> SpanMetrics {
        SpanMetrics::from_counts(&self.per_type, self.confusion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: usize, end: usize, label: &str) -> Span {
        Span::new(start, end, label)
    }

    /// gold {PER 0..2, LOC 3..4, ORG 5..6}, pred {PER 0..2, ORG 3..4, PER 7..8}:
    /// PER: gold 1, found 2, correct 1 → p 1/2, r 1, f 2/3. LOC: gold 1, found 0.
    /// ORG: gold 1, found 1, correct 0. Overall: gold 3, found 3, correct 1 → 1/3 each.
    /// Confusion: PER→PER 1, LOC→ORG 1 (same boundaries 3..4), ORG 5..6 missed,
    /// PER 7..8 spurious.
    #[test]
    fn tally_counts_and_confusion() {
        let gold = [s(0, 2, "PER"), s(3, 4, "LOC"), s(5, 6, "ORG")];
        let pred = [s(0, 2, "PER"), s(3, 4, "ORG"), s(7, 8, "PER")];
        let mut t = SpanTally::new();
        t.add(&gold, &pred);
        let m = t.finish();
        assert_eq!((m.gold, m.found, m.correct), (3, 3, 1));
        assert_eq!(m.precision, 1.0 / 3.0);
        assert_eq!(m.recall, 1.0 / 3.0);
        assert!((m.f1 - 1.0 / 3.0).abs() < 1e-15);
        let per = &m.per_type["PER"];
        assert_eq!((per.gold, per.found, per.correct), (1, 2, 1));
        assert_eq!((per.precision, per.recall), (0.5, 1.0));
        assert!((per.f1 - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(m.per_type["LOC"].found, 0);
        assert_eq!(m.per_type["LOC"].f1, 0.0);
        assert_eq!(m.confusion.matched["PER"]["PER"], 1);
        assert_eq!(m.confusion.matched["LOC"]["ORG"], 1);
        assert_eq!(m.confusion.missed["ORG"], 1);
        assert_eq!(m.confusion.spurious["PER"], 1);
        assert_eq!(
            m.confusion.render(),
            "gold \\ predicted    LOC    ORG    PER  (missed)\n\
             LOC                   0      1      0         0\n\
             ORG                   0      0      0         1\n\
             PER                   0      0      1         0\n\
             (spurious)            0      0      1          \n"
        );
    }

    #[test]
    fn empty_tally_is_all_zero() {
        let m = SpanTally::new().finish();
        assert_eq!((m.gold, m.found, m.correct), (0, 0, 0));
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
        assert!(m.per_type.is_empty());
    }

    #[test]
    fn prf_undefined_ratios_are_zero() {
        assert_eq!(prf(0, 0, 5), (0.0, 0.0, 0.0));
        assert_eq!(prf(0, 3, 0), (0.0, 0.0, 0.0));
        assert_eq!(prf(2, 4, 2), (0.5, 1.0, 2.0 * 0.5 * 1.0 / 1.5));
    }
}
