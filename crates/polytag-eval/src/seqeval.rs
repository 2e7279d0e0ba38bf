//! seqeval 1.2 figures on in-memory tag sequences: the `default` (lenient) mode and the
//! `mode="strict"` mode per scheme, micro-averaged and per type, as fractions.
//!
//! This is also the API the trainer calls on dev/test predictions ([`evaluate`]).
//!
//! - Lenient ([`SpanRule::Lenient`]) decodes with [`polytag_data::scheme::lenient_spans`],
//!   which is seqeval's `get_entities` for tags `O` and `P-TYPE` (`P` in `B I E S`): on IOB1/BIO
//!   input it finds conlleval.pl's chunks, on BIOES input the correct BIOES chunks. seqeval
//!   reads the first *character* of any other tag as a prefix; here such plain tags are
//!   outside, the only place the two can differ.
//! - Strict ([`SpanRule::Strict`]) decodes with [`polytag_data::scheme::strict_spans`]:
//!   seqeval's IOB2 and IOBES classes exactly; for IOB1 the well-formedness rule documented
//!   there (seqeval's IOB1 class is buggy on ill-formed input).
//!
//! A chunk is correct when a gold chunk of the same sentence has the same start, end and type.

use polytag_data::scheme::{lenient_spans, strict_spans, Scheme};

use crate::error::{Error, Result};
use crate::span::{Span, SpanMetrics, SpanTally};

/// How tags become spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanRule {
    /// Every chunk, ill-formed ones included (conlleval.pl / seqeval default).
    Lenient,
    /// Only chunks well-formed in the scheme (seqeval `mode="strict"`).
    Strict(Scheme),
}

impl SpanRule {
    /// The spans of one sentence under this rule.
    pub fn spans<T: AsRef<str>>(self, tags: &[T]) -> Vec<Span> {
        match self {
            SpanRule::Lenient => lenient_spans(tags),
            SpanRule::Strict(scheme) => strict_spans(tags, scheme),
        }
    }
}

/// Span metrics of `pred` against `gold` (one tag sequence per sentence).
///
/// Never fails: a predicted sentence is cut to its gold sentence's length and a missing one
/// predicts nothing, so a misaligned prediction scores lower instead of panicking. The
/// trainer's predictions are aligned by construction; use [`try_evaluate`] where they come
/// from a file.
pub fn evaluate<G, P, S, T>(gold: &[G], pred: &[P], rule: SpanRule) -> SpanMetrics
where
    G: AsRef<[S]>,
    P: AsRef<[T]>,
    S: AsRef<str>,
    T: AsRef<str>,
{
    let mut tally = SpanTally::new();
    for (i, g) in gold.iter().enumerate() {
        let g = g.as_ref();
        let p: &[T] = pred.get(i).map(|p| p.as_ref()).unwrap_or(&[]);
        let p = &p[..p.len().min(g.len())];
        tally.add(&rule.spans(g), &rule.spans(p));
    }
    tally.finish()
}

/// As [`evaluate`], but a sentence-count or sentence-length mismatch is an error.
pub fn try_evaluate<G, P, S, T>(gold: &[G], pred: &[P], rule: SpanRule) -> Result<SpanMetrics>
where
    G: AsRef<[S]>,
    P: AsRef<[T]>,
    S: AsRef<str>,
    T: AsRef<str>,
{
    check_aligned(gold, pred)?;
    Ok(evaluate(gold, pred, rule))
}

/// Checks that `gold` and `pred` have the same number of sentences and the same lengths.
pub fn check_aligned<G, P, S, T>(gold: &[G], pred: &[P]) -> Result<()>
where
    G: AsRef<[S]>,
    P: AsRef<[T]>,
{
    if gold.len() != pred.len() {
        return Err(Error::SentenceCount {
            gold: gold.len(),
            pred: pred.len(),
        });
    }
    for (i, (g, p)) in gold.iter().zip(pred).enumerate() {
        let (g, p) = (g.as_ref().len(), p.as_ref().len());
        if g != p {
            return Err(Error::SentenceLength {
                sentence: i + 1,
                gold: g,
                pred: p,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(s: &[&str]) -> Vec<Vec<String>> {
        s.iter()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// edge-i-after-o-pred: gold `O B-PER I-PER O`, pred `O I-PER I-PER O`. Lenient: both
    /// have PER 1..3 → p = r = f = 1 (expected.json `default`). Strict IOB2: the predicted
    /// chunk opens with I- and is dropped → found 0, p = r = f = 0 (`strict_IOB2`).
    #[test]
    fn i_after_o_lenient_vs_strict() {
        let gold = sents(&["O B-PER I-PER O"]);
        let pred = sents(&["O I-PER I-PER O"]);
        let m = evaluate(&gold, &pred, SpanRule::Lenient);
        assert_eq!((m.precision, m.recall, m.f1), (1.0, 1.0, 1.0));
        let m = evaluate(&gold, &pred, SpanRule::Strict(Scheme::Bio));
        assert_eq!((m.gold, m.found, m.correct), (1, 0, 0));
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
    }

    /// edge-hyphen-type: gold GPE-ORG 0..2; pred GPE-ORG 0..2 and GPE 2..3 →
    /// p 1/2, r 1, f 2/3 (expected.json 0.5, 1.0, 0.6666666666666666).
    #[test]
    fn hyphen_type() {
        let gold = sents(&["B-GPE-ORG I-GPE-ORG O"]);
        let pred = sents(&["B-GPE-ORG I-GPE-ORG B-GPE"]);
        let m = evaluate(&gold, &pred, SpanRule::Lenient);
        assert_eq!((m.precision, m.recall), (0.5, 1.0));
        assert_eq!(m.f1, 0.6666666666666666);
    }

    /// BIOES: S-X S-X are two chunks; B-X E-X one. gold [S-X S-X O B-Y E-Y],
    /// pred [B-X E-X O B-Y E-Y] → gold 3, found 2, correct 1 (Y) → p 1/2, r 1/3.
    #[test]
    fn bioes_single_chunks() {
        let gold = sents(&["S-X S-X O B-Y E-Y"]);
        let pred = sents(&["B-X E-X O B-Y E-Y"]);
        let m = evaluate(&gold, &pred, SpanRule::Lenient);
        assert_eq!((m.gold, m.found, m.correct), (3, 2, 1));
        assert_eq!(m.confusion.missed["X"], 2);
        assert_eq!(m.confusion.spurious["X"], 1);
    }

    /// Chunks never cross sentences: `B-X` ending one sentence and `I-X` opening the next are
    /// two chunks.
    #[test]
    fn chunks_stop_at_sentence_ends() {
        let gold = sents(&["O B-X", "I-X O"]);
        let m = evaluate(&gold, &gold, SpanRule::Lenient);
        assert_eq!(m.gold, 2);
    }

    #[test]
    fn misalignment_is_an_error_only_in_try_evaluate() {
        let gold = sents(&["B-X I-X O", "B-Y"]);
        let short = sents(&["B-X"]);
        let m = evaluate(&gold, &short, SpanRule::Lenient);
        assert_eq!((m.gold, m.found, m.correct), (2, 1, 0));
        let err = try_evaluate(&gold, &short, SpanRule::Lenient).unwrap_err();
        assert_eq!(err.to_string(), "gold has 2 sentences, prediction 1");
        let cut = sents(&["B-X I-X", "B-Y"]);
        let err = try_evaluate(&gold, &cut, SpanRule::Lenient).unwrap_err();
        assert_eq!(err.to_string(), "sentence 1: gold has 3 tags, prediction 2");
        // Too long a prediction is cut to the gold length.
        let long = sents(&["B-X I-X O B-Z", "B-Y"]);
        let m = evaluate(&gold, &long, SpanRule::Lenient);
        assert_eq!((m.found, m.correct), (2, 2));
    }
}
