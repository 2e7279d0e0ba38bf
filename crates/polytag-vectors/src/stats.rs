//! `polytag vectors stats`: what a vector file holds and how much of a corpus it covers,
//! under the lookup an `embedding` component uses (exact, then lowercase, then lowercase
//! with digits → 0; seed-systems.md A.6/A′).

use std::collections::HashMap;

use polytag_data::vocab::digits_to_zero;

use crate::vectors::Vectors;

/// Summary of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStats {
    /// Words.
    pub count: usize,
    /// Width.
    pub dim: usize,
    /// Smallest, mean and largest row norm.
    pub norm_min: f32,
    /// Mean row norm.
    pub norm_mean: f32,
    /// Largest row norm.
    pub norm_max: f32,
}

/// Counts by the level at which a corpus word found its vector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Levels {
    /// Own spelling.
    pub exact: u64,
    /// Lowercase form.
    pub lowercase: u64,
    /// Lowercase form with digits → 0.
    pub digits: u64,
    /// Not found.
    pub missing: u64,
}

impl Levels {
    /// Sum of all four.
    pub fn total(&self) -> u64 {
        self.exact + self.lowercase + self.digits + self.missing
    }
}

/// Coverage of a corpus: by token and by distinct word type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Running tokens.
    pub tokens: Levels,
    /// Distinct word types.
    pub types: Levels,
}

/// Count, dimension and norms of `v`.
pub fn table_stats(v: &Vectors) -> TableStats {
    let norms = v.norms();
    let n = norms.len().max(1) as f32;
    TableStats {
        count: v.len(),
        dim: v.dim,
        norm_min: norms.iter().copied().fold(f32::INFINITY, f32::min),
        norm_mean: norms.iter().sum::<f32>() / n,
        norm_max: norms.iter().copied().fold(0.0, f32::max),
    }
}

/// How the `tokens` (with repeats) are covered by `v`.
pub fn coverage<'a>(v: &Vectors, tokens: impl IntoIterator<Item = &'a str>) -> Coverage {
    let words: std::collections::HashSet<&str> = v.words.iter().map(String::as_str).collect();
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for t in tokens {
        *counts.entry(t).or_default() += 1;
    }
    let mut out = Coverage::default();
    for (word, n) in counts {
        let lower = word.to_lowercase();
        let (tok, typ) = (&mut out.tokens, &mut out.types);
        let level = if words.contains(word) {
            0
        } else if words.contains(lower.as_str()) {
            1
        } else if words.contains(digits_to_zero(&lower).as_ref()) {
            2
        } else {
            3
        };
        for (l, k) in [(tok, n), (typ, 1)] {
            match level {
                0 => l.exact += k,
                1 => l.lowercase += k,
                2 => l.digits += k,
                _ => l.missing += k,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_by_level_for_tokens_and_types() {
        let v = Vectors {
            words: vec!["the".into(), "paris".into(), "0000".into()],
            dim: 1,
            data: vec![1.0, 3.0, 4.0],
        };
        // the ×2 exact; Paris lowercase; 1999 digits; Rome missing.
        let c = coverage(&v, "the Paris the 1999 Rome".split(' '));
        let expect = |e, l, d, m| Levels {
            exact: e,
            lowercase: l,
            digits: d,
            missing: m,
        };
        assert_eq!(c.tokens, expect(2, 1, 1, 1));
        assert_eq!(c.types, expect(1, 1, 1, 1));
        let s = table_stats(&v);
        assert_eq!((s.count, s.dim, s.norm_min, s.norm_max), (3, 1, 1.0, 4.0));
        assert!((s.norm_mean - 8.0 / 3.0).abs() < 1e-6);
    }
}
