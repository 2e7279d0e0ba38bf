//! Token accuracy: the metric for POS tasks, over all tokens.
//!
//! Why over *all* tokens and in one pass: seed system A's old config path compared tags
//! outside its per-sentence loop, so only the last sentence of a batch could count as
//! correct while every token counted in the denominator (seed-systems.md A.8, marked BUG);
//! and running POS through conlleval finds no chunks, so its F1 is 0 (marked QUIRK). Here
//! every gold token is compared with the prediction at the same position.

use serde::{Deserialize, Serialize};

/// Correct tokens out of all tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Tokens whose predicted tag equals the gold tag.
    pub correct: usize,
    /// All gold tokens.
    pub total: usize,
    /// `correct / total` as a fraction; 0 when there is no token.
    pub accuracy: f64,
}

impl Accuracy {
    /// From counts.
    pub fn new(correct: usize, total: usize) -> Self {
        let accuracy = if total > 0 {
            correct as f64 / total as f64
        } else {
            0.0
        };
        Accuracy {
            correct,
            total,
            accuracy,
        }
    }
}

/// Token accuracy of `pred` against `gold`, sentence by sentence, position by position.
///
/// Every gold token counts in the denominator; a gold token with no prediction at its
/// position (a shorter or missing predicted sentence) counts as wrong, and extra predicted
/// tokens are ignored, so a misaligned prediction lowers the score instead of panicking.
/// Use [`crate::seqeval::check_aligned`] first to reject misalignment as an error.
pub fn token_accuracy<G, P, S, T>(gold: &[G], pred: &[P]) -> Accuracy
where
    G: AsRef<[S]>,
    P: AsRef<[T]>,
    S: AsRef<str>,
    T: AsRef<str>,
{
    let mut correct = 0;
    let mut total = 0;
    for (i, g) in gold.iter().enumerate() {
        let g = g.as_ref();
        let p: &[T] = pred.get(i).map(|p| p.as_ref()).unwrap_or(&[]);
        total += g.len();
        correct += g
            .iter()
            .zip(p)
            .filter(|(a, b)| a.as_ref() == b.as_ref())
            .count();
    }
    Accuracy::new(correct, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(s: &[&str]) -> Vec<Vec<String>> {
        s.iter()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// 2 sentences, 5 tokens; differences at (0,1) and (1,0) → 3/5 = 0.6.
    #[test]
    fn counts_every_token() {
        let gold = sents(&["NN VB DT", "NN PUNCT"]);
        let pred = sents(&["NN NN DT", "VB PUNCT"]);
        let a = token_accuracy(&gold, &pred);
        assert_eq!((a.correct, a.total), (3, 5));
        assert_eq!(a.accuracy, 0.6);
    }

    /// A missing sentence and a short one count as wrong: gold 4 tokens, 1 matched.
    #[test]
    fn misaligned_prediction_scores_lower_without_panic() {
        let gold = sents(&["NN VB", "DT NN"]);
        let pred = sents(&["NN"]);
        let a = token_accuracy(&gold, &pred);
        assert_eq!((a.correct, a.total), (1, 4));
    }

    #[test]
    fn no_tokens_is_zero() {
        let empty: Vec<Vec<String>> = vec![];
        assert_eq!(token_accuracy(&empty, &empty), Accuracy::new(0, 0));
        assert_eq!(Accuracy::new(0, 0).accuracy, 0.0);
    }
}
