//! The core of masked multi-head self-attention — scores Q·Kᵀ·scale, softmax over each
//! sentence's real keys, the weighted sum of the values — as one loop per sentence and head:
//! on the host for inference, and as one autodiff op for training ([`crate::attention`]).
//!
//! Why: as burn ops the core is a head split (a copy of Q, K and V each), two batched matmuls
//! over `[B, h, T, T]`, a scale, a mask fill, a softmax of five passes, and a head merge (a
//! copy), each recorded and differentiated on its own. Per sentence and head the work is
//! small (`n × n × d_k`, all of it in L1), so plain loops over `d_k`-long rows do it in one
//! pass and skip padded queries and keys altogether.
//!
//! Layout: the real tokens only, sentence after sentence (`[N, D]`, N = Σ lengths), as the
//! attention block packs them before its projections ([`crate::attention`]): padded
//! positions cost nothing here, nor in the block's matmuls. A padded key's weight is exactly
//! 0 in the tensor path too (its `−1e9` score underflows in `exp`).

use burn::prelude::*;
use rayon::prelude::*;

use super::autodiff::{self, Grad, Held};
use super::directions::parallel;
use super::math::{axpy, dot, exp};
use super::simd::{vectorized, Kernel};

/// One call's shape: `d = heads · d_k` features per token, scores multiplied by `scale` (1
/// for `dot`, 1/√d_k for `scaled_dot`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Heads {
    pub(crate) d: usize,
    pub(crate) heads: usize,
    pub(crate) scale: f32,
}

impl Heads {
    fn d_k(&self) -> usize {
        self.d / self.heads.max(1)
    }

    /// Whether `heads` splits `d` into equal heads.
    fn valid(&self) -> bool {
        self.heads > 0 && self.d.is_multiple_of(self.heads)
    }
}

/// The lengths of a `[B, T]` mask whose rows are ones then zeros; `None` for any other mask
/// (the tensor path then runs).
pub(crate) fn lengths(mask: &[f32], t: usize) -> Option<Vec<usize>> {
    mask.chunks(t.max(1))
        .map(|row| {
            let n = row.iter().take_while(|&&m| m == 1.0).count();
            row[n..].iter().all(|&m| m == 0.0).then_some(n)
        })
        .collect()
}

/// Inference: the context `[N, D]` (heads merged) of the packed `q`, `k`, `v` `[N, D]` of
/// sentences of `lengths`.
pub(crate) fn context(q: &[f32], k: &[f32], v: &[f32], lengths: &[usize], sh: Heads) -> Vec<f32> {
    forward(q, k, v, lengths, sh, false).0
}

/// Training: [`context`] as one recorded op of `q`, `k`, `v` `[N, D]`; `None` where it does
/// not apply (another device or dtype, shapes that disagree).
pub(crate) fn train(
    q: Tensor<2>,
    k: Tensor<2>,
    v: Tensor<2>,
    lengths: &[usize],
    sh: Heads,
) -> Option<Tensor<2>> {
    let shape = [lengths.iter().sum::<usize>(), sh.d];
    if q.dims() != shape || k.dims() != shape || v.dims() != shape || !sh.valid() {
        return None;
    }
    let (q, k, v) = (
        autodiff::input(q)?,
        autodiff::input(k)?,
        autodiff::input(v)?,
    );
    let (out, weights) = forward(&q.values()?, &k.values()?, &v.values()?, lengths, sh, true);
    let state = ContextBackward {
        q: q.hold(),
        k: k.hold(),
        v: v.hold(),
        weights,
        lengths: lengths.to_vec(),
        sh,
    };
    Some(autodiff::record([q, k, v], state, out, shape))
}

/// `buf` cut into consecutive parts of `len · d` values per length.
fn sentences<'a>(mut buf: &'a mut [f32], lengths: &[usize], d: usize) -> Vec<&'a mut [f32]> {
    lengths
        .iter()
        .map(|&n| {
            let (part, rest) = std::mem::take(&mut buf).split_at_mut(n * d);
            buf = rest;
            part
        })
        .collect()
}

/// Where each sentence's rows start.
fn starts(lengths: &[usize]) -> Vec<usize> {
    lengths
        .iter()
        .scan(0, |at, &n| {
            let start = *at;
            *at += n;
            Some(start)
        })
        .collect()
}

/// The context and, if `keep`, the attention weights: per sentence of length n, `heads`
/// blocks of `n × n` (query-major).
fn forward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    lengths: &[usize],
    sh: Heads,
    keep: bool,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let d = sh.d;
    let mut out = vec![0.0f32; lengths.iter().sum::<usize>() * d];
    let starts = starts(lengths);
    let one = |(bi, out): (usize, &mut [f32])| {
        let (n, at) = (lengths[bi], starts[bi] * d);
        let mut weights = vec![0.0f32; sh.heads * n * n];
        vectorized(SentenceForward {
            q: &q[at..at + n * d],
            k: &k[at..at + n * d],
            v: &v[at..at + n * d],
            n,
            sh,
            out,
            weights: &mut weights,
        });
        if keep {
            weights
        } else {
            Vec::new()
        }
    };
    let parts = sentences(&mut out, lengths, d);
    let weights = if parallel() && lengths.len() > 1 {
        parts.into_par_iter().enumerate().map(one).collect()
    } else {
        parts.into_iter().enumerate().map(one).collect()
    };
    (out, weights)
}

/// One sentence's forward, all heads.
struct SentenceForward<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    n: usize,
    sh: Heads,
    out: &'a mut [f32],
    weights: &'a mut [f32],
}

impl Kernel for SentenceForward<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (n, d, d_k) = (self.n, self.sh.d, self.sh.d_k());
        if n == 0 {
            return;
        }
        let span = |i: usize, c: usize| i * d + c..i * d + c + d_k;
        for h in 0..self.sh.heads {
            let c = h * d_k;
            for i in 0..n {
                let a = &mut self.weights[(h * n + i) * n..(h * n + i + 1) * n];
                let qi = &self.q[span(i, c)];
                for (j, a) in a.iter_mut().enumerate() {
                    *a = dot(qi, &self.k[span(j, c)]) * self.sh.scale;
                }
                softmax(a);
                let o = &mut self.out[span(i, c)];
                for (j, &a) in a.iter().enumerate() {
                    axpy(o, a, &self.v[span(j, c)]);
                }
            }
        }
    }
}

/// The op's backward state: its inputs and the attention weights.
#[derive(Clone, Debug)]
struct ContextBackward {
    q: Held,
    k: Held,
    v: Held,
    weights: Vec<Vec<f32>>,
    lengths: Vec<usize>,
    sh: Heads,
}

impl autodiff::Backward<3> for ContextBackward {
    /// Per sentence and head, with A the weights, S the scaled scores, G the context's
    /// gradient: dV = Aᵀ·G; dA = G·Vᵀ; dS = A ⊙ (dA − rowsum(A ⊙ dA)) (softmax);
    /// dQ = scale · dS·K; dK = scale · dSᵀ·Q.
    fn backward(self, grad: &[f32]) -> [Grad; 3] {
        let (sh, lengths) = (self.sh, &self.lengths);
        let d = sh.d;
        let values = "the op admitted f32 inputs only";
        let (q, k, v) = (
            self.q.values().expect(values),
            self.k.values().expect(values),
            self.v.values().expect(values),
        );
        let len = grad.len();
        let (mut dq, mut dk, mut dv) = (vec![0.0f32; len], vec![0.0f32; len], vec![0.0f32; len]);
        let starts = starts(lengths);
        type Rows<'a> = ((&'a mut [f32], &'a mut [f32]), &'a mut [f32]);
        let one = |(bi, ((dq, dk), dv)): (usize, Rows<'_>)| {
            let (n, at) = (lengths[bi], starts[bi] * d);
            let span = at..at + n * d;
            vectorized(SentenceBackward {
                grad: &grad[span.clone()],
                q: &q[span.clone()],
                k: &k[span.clone()],
                v: &v[span],
                weights: &self.weights[bi],
                n,
                sh,
                dq,
                dk,
                dv,
            })
        };
        let parts = sentences(&mut dq, lengths, d)
            .into_iter()
            .zip(sentences(&mut dk, lengths, d))
            .zip(sentences(&mut dv, lengths, d));
        if parallel() && lengths.len() > 1 {
            parts
                .collect::<Vec<_>>()
                .into_par_iter()
                .enumerate()
                .for_each(one);
        } else {
            parts.enumerate().for_each(one);
        }
        let shape = [len / d.max(1), d];
        [
            Grad::new(dq, &shape),
            Grad::new(dk, &shape),
            Grad::new(dv, &shape),
        ]
    }
}

/// One sentence's backward, all heads.
struct SentenceBackward<'a> {
    grad: &'a [f32],
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    weights: &'a [f32],
    n: usize,
    sh: Heads,
    dq: &'a mut [f32],
    dk: &'a mut [f32],
    dv: &'a mut [f32],
}

impl Kernel for SentenceBackward<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (n, d, d_k, scale) = (self.n, self.sh.d, self.sh.d_k(), self.sh.scale);
        let span = |i: usize, c: usize| i * d + c..i * d + c + d_k;
        let mut ds = vec![0.0f32; n];
        for h in 0..self.sh.heads {
            let c = h * d_k;
            for i in 0..n {
                let a = &self.weights[(h * n + i) * n..(h * n + i + 1) * n];
                let gi = &self.grad[span(i, c)];
                // dA_ij = G_i · V_j, and A_ij·G_i into dV_j
                for (j, (ds, &a)) in ds.iter_mut().zip(a).enumerate() {
                    *ds = dot(gi, &self.v[span(j, c)]);
                    axpy(&mut self.dv[span(j, c)], a, gi);
                }
                let rowsum = a.iter().zip(&ds).fold(0.0f32, |s, (&a, &g)| s + a * g);
                for (ds, &a) in ds.iter_mut().zip(a) {
                    *ds = a * (*ds - rowsum) * scale;
                }
                let qi = &self.q[span(i, c)];
                for (j, &s) in ds.iter().enumerate() {
                    axpy(&mut self.dq[span(i, c)], s, &self.k[span(j, c)]);
                    axpy(&mut self.dk[span(j, c)], s, qi);
                }
            }
        }
    }
}

/// Softmax of `xs` in place (max subtracted first, as burn's).
#[inline(always)]
fn softmax(xs: &mut [f32]) {
    let max = xs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let mut sum = 0.0f32;
    for x in xs.iter_mut() {
        *x = exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in xs.iter_mut() {
        *x *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attention by the definition, in f64, on packed sentences: the reference of
    /// [`context`].
    fn naive(q: &[f32], k: &[f32], v: &[f32], lengths: &[usize], sh: Heads) -> Vec<f32> {
        let (d, d_k) = (sh.d, sh.d_k());
        let mut out = vec![0.0f32; q.len()];
        for (&n, start) in lengths.iter().zip(starts(lengths)) {
            let at = |i: usize, c: usize| (start + i) * d + c;
            for h in 0..sh.heads {
                for i in 0..n {
                    let s: Vec<f64> = (0..n)
                        .map(|j| {
                            (0..d_k)
                                .map(|c| {
                                    f64::from(q[at(i, h * d_k + c)])
                                        * f64::from(k[at(j, h * d_k + c)])
                                })
                                .sum::<f64>()
                                * f64::from(sh.scale)
                        })
                        .collect();
                    let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = s.iter().map(|x| (x - max).exp()).sum();
                    for c in 0..d_k {
                        let y: f64 = (0..n)
                            .map(|j| (s[j] - max).exp() / z * f64::from(v[at(j, h * d_k + c)]))
                            .sum();
                        out[at(i, h * d_k + c)] = y as f32;
                    }
                }
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 250.0
                    - 2.0
            })
            .collect()
    }

    #[test]
    fn context_matches_the_definition_per_sentence() {
        // d_k = 20: a 16-lane chunk and a remainder of 4; an empty sentence in between
        let sh = Heads {
            d: 40,
            heads: 2,
            scale: 1.0 / 20f32.sqrt(),
        };
        let lengths = [5, 0, 2, 1];
        let len = 8 * sh.d;
        let (q, k, v) = (values(len, 1), values(len, 7), values(len, 13));
        let got = context(&q, &k, &v, &lengths, sh);
        let want = naive(&q, &k, &v, &lengths, sh);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-5, "element {i}: {g} vs {w}");
        }
        // a one-token sentence attends to itself only: its context is its value
        assert_eq!(&got[7 * sh.d..], &v[7 * sh.d..]);
        // sentences do not see each other's keys and values
        let mut v2 = v.clone();
        v2[5 * sh.d] = 1e6;
        assert_eq!(
            context(&q, &k, &v2, &lengths, sh)[..5 * sh.d],
            got[..5 * sh.d]
        );
    }

    #[test]
    fn lengths_of_prefix_masks_only() {
        assert_eq!(
            lengths(&[1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0], 3),
            Some(vec![2, 3, 0])
        );
        assert_eq!(lengths(&[1.0, 0.0, 1.0], 3), None);
        assert_eq!(lengths(&[1.0, 0.5, 0.0], 3), None);
    }
}
