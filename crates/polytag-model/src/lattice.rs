//! Exact inference over a linear-chain label lattice, on the host, in f64: Viterbi, n-best
//! Viterbi, the forward algorithm and forward-backward marginals.
//!
//! Both decoders use it: the CRF with its start / transition / end scores, and the softmax
//! decoder as the special case of zero transitions over per-token log-probabilities (then the
//! n-best list is the k most probable independent taggings and the marginals are the softmax).
//! Decoding pulls a batch's emissions to the host once; per sentence, the work is O(n·L²·k),
//! tiny next to the encoder, and exact per sequence (backtracking from each sentence's own
//! last token: the paper's padded Viterbi did not, seed-systems A.2 \[BUG\]).
//!
//! Scores use the T[from, to] convention. Forbidden moves (scheme constraints) are −∞ here:
//! decoding never outputs them, and n-best lists hold only allowed paths.

/// Scores of a label lattice: `trans[from * L + to]`, `start[to]`, `end[from]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lattice {
    num_labels: usize,
    trans: Vec<f64>,
    start: Vec<f64>,
    end: Vec<f64>,
}

/// One path of an n-best list.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredPath {
    /// Label ids, one per token.
    pub labels: Vec<u32>,
    /// Unnormalised path score (CRF: emissions + transitions + start + end).
    pub score: f32,
    /// log P(path | sentence) = score − log Z; exp of it is the path's probability.
    pub log_prob: f32,
}

impl Lattice {
    /// A lattice from f32 scores (as read from the device). `allowed` entries that are false
    /// become −∞. Lengths must be `L²`, `L`, `L`: only [`crate::crf::Crf::lattice`] builds
    /// one, from its own parameters.
    pub(crate) fn new(
        num_labels: usize,
        trans: &[f32],
        start: &[f32],
        end: &[f32],
        allowed: Option<&crate::crf::CrfConstraints>,
    ) -> Self {
        let mask = |v: &[f32], ok: Option<&[bool]>| -> Vec<f64> {
            v.iter()
                .enumerate()
                .map(|(i, &x)| match ok.and_then(|o| o.get(i)) {
                    Some(false) => f64::NEG_INFINITY,
                    _ => f64::from(x),
                })
                .collect()
        };
        Lattice {
            num_labels,
            trans: mask(trans, allowed.map(|c| c.transitions())),
            start: mask(start, allowed.map(|c| c.starts())),
            end: mask(end, allowed.map(|c| c.ends())),
        }
    }

    /// Zero transitions, no constraints: per-token independent labels.
    pub fn independent(num_labels: usize) -> Self {
        Lattice {
            num_labels,
            trans: vec![0.0; num_labels * num_labels],
            start: vec![0.0; num_labels],
            end: vec![0.0; num_labels],
        }
    }

    /// The same scores with every constraint turned into a large finite penalty, so that a
    /// path exists even when the constraints leave none (the fallback of decoding).
    fn relaxed(&self) -> Self {
        let relax = |v: &[f64]| {
            v.iter()
                .map(|&x| if x.is_finite() { x } else { -1e4 })
                .collect()
        };
        Lattice {
            num_labels: self.num_labels,
            trans: relax(&self.trans),
            start: relax(&self.start),
            end: relax(&self.end),
        }
    }

    /// Number of labels.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    fn t(&self, from: usize, to: usize) -> f64 {
        self.trans[from * self.num_labels + to]
    }

    /// Score of one path; `em` holds `n × L` emissions (row-major), `path` n labels. A label
    /// id out of range, or a path longer than the emissions, scores −∞.
    pub fn score(&self, em: &[f32], path: &[u32]) -> f64 {
        let l = self.num_labels;
        let mut s = 0.0;
        let mut prev: Option<usize> = None;
        for (i, &y) in path.iter().enumerate() {
            let y = y as usize;
            let (Some(&e), true) = (em.get(i * l + y), y < l) else {
                return f64::NEG_INFINITY;
            };
            s += f64::from(e);
            s += match prev {
                None => self.start[y],
                Some(p) => self.t(p, y),
            };
            prev = Some(y);
        }
        if let Some(last) = prev {
            s += self.end[last];
        }
        s
    }

    /// Best path of a sentence with `em.len() / L` tokens (empty for zero tokens).
    ///
    /// If the constraints leave no path at all (they forbid every start, say), the best path
    /// of the unconstrained lattice is returned instead of an arbitrary one.
    pub fn viterbi(&self, em: &[f32]) -> Vec<u32> {
        let l = self.num_labels;
        let n = em.len().checked_div(l).unwrap_or(0);
        if n == 0 {
            return Vec::new();
        }
        // one flat back-pointer table and two score rows, no allocation per token (decoding
        // runs this for every sentence of every batch)
        let mut score: Vec<f64> = (0..l).map(|j| self.start[j] + f64::from(em[j])).collect();
        let mut next = vec![f64::NEG_INFINITY; l];
        let mut back = vec![0u32; (n - 1) * l];
        for t in 1..n {
            let bp = &mut back[(t - 1) * l..t * l];
            for j in 0..l {
                let (mut best, mut arg) = (f64::NEG_INFINITY, 0usize);
                for (i, &s) in score.iter().enumerate() {
                    let c = s + self.t(i, j);
                    if c > best {
                        best = c;
                        arg = i;
                    }
                }
                next[j] = best + f64::from(em[t * l + j]);
                bp[j] = arg as u32;
            }
            std::mem::swap(&mut score, &mut next);
        }
        let (mut best, mut arg) = (f64::NEG_INFINITY, 0usize);
        for (j, &s) in score.iter().enumerate() {
            let c = s + self.end[j];
            if c > best {
                best = c;
                arg = j;
            }
        }
        if best == f64::NEG_INFINITY {
            return self.relaxed().viterbi(em);
        }
        let mut path = vec![0u32; n];
        path[n - 1] = arg as u32;
        for t in (1..n).rev() {
            path[t - 1] = back[(t - 1) * l + path[t] as usize];
        }
        path
    }

    /// The `k` best allowed paths, best first, with exact scores (k-best list Viterbi: each
    /// lattice node keeps its k best partial paths). Fewer than `k` if fewer paths exist.
    pub fn nbest(&self, em: &[f32], k: usize) -> Vec<ScoredPath> {
        let l = self.num_labels;
        let n = em.len().checked_div(l).unwrap_or(0);
        if n == 0 || k == 0 {
            return Vec::new();
        }
        #[derive(Clone, Copy)]
        struct Entry {
            score: f64,
            prev_label: u32,
            prev_rank: u32,
        }
        let by_score = |a: &Entry, b: &Entry| b.score.total_cmp(&a.score);
        // beams[t][j]: up to k best partial paths ending in label j at token t, best first
        let mut beams: Vec<Vec<Vec<Entry>>> = Vec::with_capacity(n);
        beams.push(
            (0..l)
                .map(|j| {
                    let s = self.start[j] + f64::from(em[j]);
                    if s.is_finite() {
                        vec![Entry {
                            score: s,
                            prev_label: 0,
                            prev_rank: 0,
                        }]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
        );
        for t in 1..n {
            let prev = &beams[t - 1];
            let row: Vec<Vec<Entry>> = (0..l)
                .map(|j| {
                    let mut cand: Vec<Entry> = Vec::new();
                    for (i, list) in prev.iter().enumerate() {
                        let tr = self.t(i, j);
                        if !tr.is_finite() {
                            continue;
                        }
                        for (r, e) in list.iter().enumerate() {
                            cand.push(Entry {
                                score: e.score + tr,
                                prev_label: i as u32,
                                prev_rank: r as u32,
                            });
                        }
                    }
                    cand.sort_by(by_score);
                    cand.truncate(k);
                    let e_tj = f64::from(em[t * l + j]);
                    for c in &mut cand {
                        c.score += e_tj;
                    }
                    cand
                })
                .collect();
            beams.push(row);
        }
        let mut finals: Vec<(f64, u32, u32)> = Vec::new();
        for (j, list) in beams[n - 1].iter().enumerate() {
            if !self.end[j].is_finite() {
                continue;
            }
            for (r, e) in list.iter().enumerate() {
                finals.push((e.score + self.end[j], j as u32, r as u32));
            }
        }
        finals.sort_by(|a, b| b.0.total_cmp(&a.0));
        finals.truncate(k);
        let log_z = self.log_partition(em);
        finals
            .into_iter()
            .map(|(score, j, r)| {
                let mut labels = vec![0u32; n];
                let (mut j, mut r) = (j, r);
                for t in (0..n).rev() {
                    labels[t] = j;
                    let e = beams[t][j as usize][r as usize];
                    j = e.prev_label;
                    r = e.prev_rank;
                }
                ScoredPath {
                    labels,
                    score: score as f32,
                    log_prob: (score - log_z) as f32,
                }
            })
            .collect()
    }

    fn alphas(&self, em: &[f32], n: usize) -> Vec<Vec<f64>> {
        let l = self.num_labels;
        let mut alpha: Vec<Vec<f64>> = Vec::with_capacity(n);
        alpha.push((0..l).map(|j| self.start[j] + f64::from(em[j])).collect());
        for t in 1..n {
            let prev = &alpha[t - 1];
            let row = (0..l)
                .map(|j| lse((0..l).map(|i| prev[i] + self.t(i, j))) + f64::from(em[t * l + j]))
                .collect();
            alpha.push(row);
        }
        alpha
    }

    /// log Z: log-sum-exp of the scores of all allowed paths (−∞ for zero tokens).
    pub fn log_partition(&self, em: &[f32]) -> f64 {
        let l = self.num_labels;
        let n = em.len().checked_div(l).unwrap_or(0);
        if n == 0 {
            return f64::NEG_INFINITY;
        }
        let alpha = self.alphas(em, n);
        lse((0..l).map(|j| alpha[n - 1][j] + self.end[j]))
    }

    /// Per-token label marginals P(y_t = j | sentence), `n × L` row-major, by forward-backward.
    /// Each row sums to 1. With no allowed path, the unconstrained lattice's marginals.
    pub fn marginals(&self, em: &[f32]) -> Vec<f32> {
        let l = self.num_labels;
        let n = em.len().checked_div(l).unwrap_or(0);
        if n == 0 {
            return Vec::new();
        }
        let alpha = self.alphas(em, n);
        let log_z = lse((0..l).map(|j| alpha[n - 1][j] + self.end[j]));
        if !log_z.is_finite() {
            return self.relaxed().marginals(em);
        }
        let mut beta = vec![vec![0.0f64; l]; n];
        beta[n - 1].clone_from(&self.end);
        for t in (0..n - 1).rev() {
            for i in 0..l {
                beta[t][i] =
                    lse((0..l)
                        .map(|j| self.t(i, j) + f64::from(em[(t + 1) * l + j]) + beta[t + 1][j]));
            }
        }
        let mut out = Vec::with_capacity(n * l);
        for t in 0..n {
            for j in 0..l {
                out.push((alpha[t][j] + beta[t][j] - log_z).exp() as f32);
            }
        }
        out
    }
}

/// log Σ exp(x), −∞ for an empty or all −∞ input.
fn lse(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All paths of a lattice with `n` tokens, by enumeration.
    pub(crate) fn all_paths(l: usize, n: usize) -> Vec<Vec<u32>> {
        (0..l.pow(n as u32))
            .map(|code| {
                (0..n)
                    .map(|i| ((code / l.pow(i as u32)) % l) as u32)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn independent_lattice_marginals_are_the_softmax() {
        let lat = Lattice::independent(3);
        let em = [0.0f32, 1.0, 2.0, -1.0, 0.5, 0.5];
        let m = lat.marginals(&em);
        for t in 0..2 {
            let z: f64 = (0..3).map(|j| f64::from(em[t * 3 + j]).exp()).sum();
            for j in 0..3 {
                let p = f64::from(em[t * 3 + j]).exp() / z;
                assert!((f64::from(m[t * 3 + j]) - p).abs() < 1e-6);
            }
        }
        assert_eq!(lat.viterbi(&em), vec![2, 1]);
    }

    #[test]
    fn nbest_of_independent_tokens_enumerates_in_order() {
        let lat = Lattice::independent(2);
        // token 0: labels score 0 / 3; token 1: 1 / 0 -> paths by score:
        // [1,0]=4, [1,1]=3, [0,0]=1, [0,1]=0
        let em = [0.0f32, 3.0, 1.0, 0.0];
        let best = lat.nbest(&em, 10);
        let got: Vec<(Vec<u32>, f32)> = best.iter().map(|p| (p.labels.clone(), p.score)).collect();
        assert_eq!(
            got,
            vec![
                (vec![1, 0], 4.0),
                (vec![1, 1], 3.0),
                (vec![0, 0], 1.0),
                (vec![0, 1], 0.0)
            ]
        );
        let total: f64 = best.iter().map(|p| f64::from(p.log_prob).exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(all_paths(2, 2).len(), 4);
        assert_eq!(lat.score(&em, &[1, 0]), 4.0);
        assert_eq!(lat.score(&em, &[2, 0]), f64::NEG_INFINITY);
        assert_eq!(lat.score(&em, &[1, 0, 0]), f64::NEG_INFINITY);
    }

    #[test]
    fn empty_sentence_gives_empty_results() {
        let lat = Lattice::independent(3);
        assert!(lat.viterbi(&[]).is_empty());
        assert!(lat.nbest(&[], 3).is_empty());
        assert!(lat.marginals(&[]).is_empty());
    }
}
