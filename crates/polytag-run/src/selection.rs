//! Model selection and early stopping on the ref task's dev score (design.md §4, A.7.1).
//!
//! The paper keeps the evaluation whose target dev F1 is *strictly greater* than the best so
//! far; ties keep the earlier step. Two departures, both deliberate:
//! - the first evaluation always becomes the best (unless its score is NaN), so a run whose
//!   target scores 0 at first still has a best checkpoint (a best initialised to 0 would not);
//! - the ref task is whichever task the config marks, not index 0 (A.7.1's bug).
//!
//! Early stopping counts consecutive evaluations without improvement and stops at `patience`
//! of them (seed 000: patience 6, min delta 0).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The best evaluation so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Global step of that evaluation.
    pub step: u64,
    /// The ref task's dev score there.
    pub score: f64,
    /// 0-based index of that evaluation.
    pub evaluation: u64,
}

/// What one evaluation meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The score is a new best: save the best checkpoint, keep the test figures of this step.
    pub improved: bool,
    /// Patience is exhausted: stop training.
    pub stop: bool,
}

/// Best tracking and early stopping; serialise the whole value into a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Evaluations without improvement that stop training; `None` never stops.
    patience: Option<u32>,
    /// An improvement must exceed the best by more than this; 0 (strictly greater, the paper).
    min_delta: f64,
    best: Option<Best>,
    /// Consecutive evaluations without improvement.
    bad_evals: u32,
    /// Evaluations seen.
    evaluations: u64,
}

impl Selection {
    /// `patience`: evaluations without improvement before stopping (`None`: never stop; 0 is an
    /// error). `min_delta`: margin over the best that counts as improvement (≥ 0).
    pub fn new(patience: Option<u32>, min_delta: f64) -> Result<Self> {
        if patience == Some(0) {
            return Err(Error::InvalidValue {
                path: "training.patience".to_string(),
                value: 0.0,
                expected: "at least 1 evaluation (or no early stopping)",
            });
        }
        if !(min_delta.is_finite() && min_delta >= 0.0) {
            return Err(Error::InvalidValue {
                path: "training.min_delta".to_string(),
                value: min_delta,
                expected: "a finite number >= 0",
            });
        }
        Ok(Selection {
            patience,
            min_delta,
            best: None,
            bad_evals: 0,
            evaluations: 0,
        })
    }

    /// Records the ref task's dev score of the evaluation at global step `step`.
    pub fn observe(&mut self, step: u64, score: f64) -> Verdict {
        let evaluation = self.evaluations;
        self.evaluations += 1;
        let improved = !score.is_nan()
            && match &self.best {
                None => true,
                Some(best) => score > best.score + self.min_delta,
            };
        if improved {
            self.best = Some(Best {
                step,
                score,
                evaluation,
            });
            self.bad_evals = 0;
        } else {
            self.bad_evals = self.bad_evals.saturating_add(1);
        }
        Verdict {
            improved,
            stop: self.should_stop(),
        }
    }

    /// Whether patience is exhausted.
    pub fn should_stop(&self) -> bool {
        self.patience.is_some_and(|p| self.bad_evals >= p)
    }

    /// The best evaluation so far.
    pub fn best(&self) -> Option<&Best> {
        self.best.as_ref()
    }

    /// Consecutive evaluations without improvement.
    pub fn bad_evals(&self) -> u32 {
        self.bad_evals
    }

    /// Evaluations seen.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores 0, 0.5, 0.5, 0.4, 0.6 at steps 100…500, patience 2:
    /// 0 is the first → best; 0.5 > 0 → best; 0.5 ties → bad 1; 0.4 → bad 2 → stop.
    #[test]
    fn strictly_greater_improves_and_patience_stops() {
        let mut s = Selection::new(Some(2), 0.0).unwrap();
        let v: Vec<Verdict> = [0.0, 0.5, 0.5, 0.4]
            .iter()
            .enumerate()
            .map(|(i, &x)| s.observe(100 * (i as u64 + 1), x))
            .collect();
        let improved: Vec<bool> = v.iter().map(|v| v.improved).collect();
        let stop: Vec<bool> = v.iter().map(|v| v.stop).collect();
        assert_eq!(improved, [true, true, false, false]);
        assert_eq!(stop, [false, false, false, true]);
        assert_eq!(
            s.best(),
            Some(&Best {
                step: 200,
                score: 0.5,
                evaluation: 1
            })
        );
        // An improvement resets the count.
        let v = s.observe(500, 0.6);
        assert_eq!(
            v,
            Verdict {
                improved: true,
                stop: false
            }
        );
        assert_eq!(s.bad_evals(), 0);
    }

    #[test]
    fn without_patience_never_stops_and_nan_never_improves() {
        let mut s = Selection::new(None, 0.0).unwrap();
        assert!(!s.observe(1, f64::NAN).improved);
        assert!(s.best().is_none());
        assert!(s.observe(2, 0.1).improved);
        for step in 3..100 {
            assert!(!s.observe(step, 0.05).stop);
        }
        assert_eq!(s.evaluations(), 99);
    }

    /// min_delta 0.01: 0.5 → best; 0.505 is not > 0.51 → bad; 0.52 → best.
    #[test]
    fn min_delta_is_a_margin() {
        let mut s = Selection::new(Some(5), 0.01).unwrap();
        assert!(s.observe(1, 0.5).improved);
        assert!(!s.observe(2, 0.505).improved);
        assert!(s.observe(3, 0.52).improved);
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut s = Selection::new(Some(3), 0.0).unwrap();
        s.observe(10, 0.7);
        s.observe(20, 0.6);
        let json = serde_json::to_string(&s).unwrap();
        let mut r: Selection = serde_json::from_str(&json).unwrap();
        assert_eq!(r, s);
        assert_eq!(r.observe(30, 0.6), s.observe(30, 0.6));
        assert!(r.observe(40, 0.1).stop);
    }

    #[test]
    fn zero_patience_is_an_error() {
        let err = Selection::new(Some(0), 0.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training.patience: expected at least 1 evaluation (or no early stopping), found 0"
        );
        assert!(Selection::new(None, -1.0).is_err());
    }
}
