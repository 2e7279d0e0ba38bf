//! Training-set subsampling: the dataset's `sample` option (all, a count, a fraction, or the
//! first N sentences).
//!
//! Semantics as in the paper's loader (seed-systems.md A.5), minus its bug of being unseeded:
//! a count draws that many sentences uniformly without replacement, a fraction keeps each
//! sentence independently with that probability. `First` is not random at all: it keeps a
//! prefix of the file, which is how other tools limit a corpus (the PyTorch benchmark peer
//! reads "the first 2,000 sentences"), so a comparison can use exactly their sentences.
//! Every way, the kept sentences stay in file order, so a sample of a document-ordered corpus
//! still reads like the corpus.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::error::{Error, Result};

/// Which part of a training file to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sample {
    /// Every sentence.
    #[default]
    All,
    /// `n` sentences drawn uniformly without replacement (all of them if the file has no more
    /// than `n`); `n >= 1`.
    Count(usize),
    /// Each sentence kept with probability `p`, `0 < p <= 1`; the size varies around `p × N`
    /// (and may be 0 for a tiny file: the caller's empty-train check catches that).
    Fraction(f64),
    /// The first `n` sentences in file order (all of them if the file has no more than `n`);
    /// `n >= 1`; the seed is not used.
    First(usize),
}

impl Sample {
    /// Rejects a zero count and a fraction outside (0, 1] (NaN included).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Sample::All => Ok(()),
            Sample::Count(0) | Sample::First(0) => Err(Error::SampleCount),
            Sample::Count(_) | Sample::First(_) => Ok(()),
            Sample::Fraction(p) if p > 0.0 && p <= 1.0 => Ok(()),
            Sample::Fraction(value) => Err(Error::SampleFraction { value }),
        }
    }

    /// The kept indices out of `0..len`, ascending; the same `seed` gives the same indices.
    pub fn indices(&self, len: usize, seed: u64) -> Result<Vec<usize>> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        Ok(match *self {
            Sample::All => (0..len).collect(),
            Sample::Count(n) if n >= len => (0..len).collect(),
            Sample::Count(n) => {
                let mut kept = rand::seq::index::sample(&mut rng, len, n).into_vec();
                kept.sort_unstable();
                kept
            }
            Sample::Fraction(p) => (0..len).filter(|_| rng.random_bool(p)).collect(),
            Sample::First(n) => (0..n.min(len)).collect(),
        })
    }
}

/// Keeps the sampled sentences of `corpus` (file order preserved); documents and warnings are
/// kept as read.
pub fn sample_corpus(mut corpus: Corpus, sample: &Sample, seed: u64) -> Result<Corpus> {
    let kept = sample.indices(corpus.sentences.len(), seed)?;
    if kept.len() == corpus.sentences.len() {
        return Ok(corpus);
    }
    let mut keep = vec![false; corpus.sentences.len()];
    for &i in &kept {
        keep[i] = true;
    }
    let mut flags = keep.into_iter();
    corpus.sentences.retain(|_| flags.next().unwrap_or(false));
    Ok(corpus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentence::Sentence;

    fn corpus(n: usize) -> Corpus {
        let mut c = Corpus::new("train.conll");
        for i in 0..n {
            c.sentences.push(Sentence {
                tokens: vec![format!("w{i}")],
                labels: vec!["O".into()],
                features: vec![],
                line: i + 1,
            });
        }
        c
    }

    #[test]
    fn validation() {
        assert!(matches!(
            Sample::Count(0).validate(),
            Err(Error::SampleCount)
        ));
        for p in [0.0, -0.5, 1.5, f64::NAN] {
            assert!(
                matches!(
                    Sample::Fraction(p).validate(),
                    Err(Error::SampleFraction { .. })
                ),
                "{p}"
            );
        }
        assert_eq!(
            Sample::Fraction(2.0).validate().unwrap_err().to_string(),
            "sample fraction must be in (0, 1], found 2"
        );
        assert!(Sample::Fraction(1.0).validate().is_ok());
        assert!(Sample::Count(1).validate().is_ok());
    }

    #[test]
    fn count_is_exact_sorted_distinct_and_seeded() {
        let a = Sample::Count(30).indices(100, 42).unwrap();
        assert_eq!(a.len(), 30);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "ascending and distinct");
        assert!(a.iter().all(|&i| i < 100));
        assert_eq!(a, Sample::Count(30).indices(100, 42).unwrap());
        assert_ne!(a, Sample::Count(30).indices(100, 43).unwrap());
        assert_eq!(Sample::Count(500).indices(100, 1).unwrap().len(), 100);
    }

    #[test]
    fn count_is_roughly_uniform() {
        // 2000 draws of 10 out of 20: each index expected 1000 times; binomial sd ≈ 22, so
        // ±150 is a > 6 sd band that a biased sampler (e.g. always the first 10) would leave.
        let mut hits = [0usize; 20];
        for seed in 0..2000 {
            for i in Sample::Count(10).indices(20, seed).unwrap() {
                hits[i] += 1;
            }
        }
        assert!(hits.iter().all(|&h| (850..=1150).contains(&h)), "{hits:?}");
    }

    #[test]
    fn fraction_keeps_about_p() {
        // 10 000 Bernoulli(0.3) trials: mean 3000, sd ≈ 46; ±250 is > 5 sd.
        let kept = Sample::Fraction(0.3).indices(10_000, 9).unwrap();
        assert!((2750..=3250).contains(&kept.len()), "{}", kept.len());
        assert_eq!(kept, Sample::Fraction(0.3).indices(10_000, 9).unwrap());
        assert_eq!(Sample::Fraction(1.0).indices(50, 9).unwrap().len(), 50);
    }

    #[test]
    fn first_is_a_prefix_whatever_the_seed() {
        assert_eq!(Sample::First(3).indices(10, 1).unwrap(), [0, 1, 2]);
        assert_eq!(Sample::First(3).indices(10, 99).unwrap(), [0, 1, 2]);
        assert_eq!(Sample::First(12).indices(10, 1).unwrap().len(), 10);
        assert!(matches!(
            Sample::First(0).indices(10, 1),
            Err(Error::SampleCount)
        ));
        let c = sample_corpus(corpus(50), &Sample::First(4), 7).unwrap();
        let lines: Vec<usize> = c.sentences.iter().map(|s| s.line).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
    }

    #[test]
    fn sample_corpus_keeps_file_order() {
        let c = sample_corpus(corpus(50), &Sample::Count(5), 3).unwrap();
        assert_eq!(c.len(), 5);
        let lines: Vec<usize> = c.sentences.iter().map(|s| s.line).collect();
        let expected: Vec<usize> = Sample::Count(5)
            .indices(50, 3)
            .unwrap()
            .into_iter()
            .map(|i| i + 1)
            .collect();
        assert_eq!(lines, expected);
        assert_eq!(sample_corpus(corpus(4), &Sample::All, 0).unwrap().len(), 4);
        assert!(sample_corpus(corpus(4), &Sample::Count(0), 0).is_err());
    }
}
