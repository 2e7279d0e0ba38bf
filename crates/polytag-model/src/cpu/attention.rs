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
//! Padded positions: a padded key gets weight exactly 0, as the tensor path's `−1e9` score
//! does after `exp`; a padded query's context is 0 here (the tensor path attends from it and
//! the block zeroes its row at the end, so outputs and gradients are the same).

use burn::prelude::*;
use rayon::prelude::*;

use super::autodiff::{self, Grad, Held};
use super::directions::parallel;
use super::math::{axpy, dot, exp};
use super::simd::{vectorized, Kernel};

/// One call's shape: `b` sentences of `t` positions, `d = heads · d_k` features per position,
/// scores multiplied by `scale` (1 for `dot`, 1/√d_k for `scaled_dot`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Heads {
    pub(crate) b: usize,
    pub(crate) t: usize,
    pub(crate) d: usize,
    pub(crate) heads: usize,
    pub(crate) scale: f32,
}

impl Heads {
    fn d_k(&self) -> usize {
        self.d / self.heads.max(1)
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

/// Inference: the context `[B·T, D]` (heads merged) of `q`, `k`, `v` `[B·T, D]`; rows of
/// padded positions are 0.
pub(crate) fn context(q: &[f32], k: &[f32], v: &[f32], lengths: &[usize], sh: Heads) -> Vec<f32> {
    forward(q, k, v, lengths, sh, false).0
}

/// Training: [`context`] as one recorded op of `q`, `k`, `v` `[B, T, D]`; `None` where it
/// does not apply (another device or dtype, shapes that disagree).
pub(crate) fn train(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    lengths: &[usize],
    heads: usize,
    scale: f32,
) -> Option<Tensor<3>> {
    let [b, t, d] = q.dims();
    if k.dims() != [b, t, d] || v.dims() != [b, t, d] || lengths.len() != b {
        return None;
    }
    if heads == 0 || d % heads != 0 || lengths.iter().any(|&n| n > t) {
        return None;
    }
    let sh = Heads {
        b,
        t,
        d,
        heads,
        scale,
    };
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
    Some(autodiff::record([q, k, v], state, out, [b, t, d]))
}

/// The context and, if `keep`, the attention weights: per sentence of length n, `heads`
/// blocks of `n × n` (query-major), sentence after sentence.
fn forward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    lengths: &[usize],
    sh: Heads,
    keep: bool,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let rows = sh.t * sh.d;
    let mut out = vec![0.0f32; sh.b * rows];
    let one = |(bi, out): (usize, &mut [f32])| {
        let n = lengths[bi];
        let at = bi * rows;
        let mut weights = vec![0.0f32; sh.heads * n * n];
        vectorized(SentenceForward {
            q: &q[at..at + rows],
            k: &k[at..at + rows],
            v: &v[at..at + rows],
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
    let weights = if parallel() && sh.b > 1 {
        out.par_chunks_mut(rows.max(1))
            .enumerate()
            .map(one)
            .collect()
    } else {
        out.chunks_mut(rows.max(1)).enumerate().map(one).collect()
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
        let sh = self.sh;
        let rows = sh.t * sh.d;
        let values = "the op admitted f32 inputs only";
        let (q, k, v) = (
            self.q.values().expect(values),
            self.k.values().expect(values),
            self.v.values().expect(values),
        );
        let len = sh.b * rows;
        let (mut dq, mut dk, mut dv) = (vec![0.0f32; len], vec![0.0f32; len], vec![0.0f32; len]);
        type Rows<'a> = ((&'a mut [f32], &'a mut [f32]), &'a mut [f32]);
        let one = |(bi, ((dq, dk), dv)): (usize, Rows<'_>)| {
            let at = bi * rows;
            vectorized(SentenceBackward {
                grad: &grad[at..at + rows],
                q: &q[at..at + rows],
                k: &k[at..at + rows],
                v: &v[at..at + rows],
                weights: &self.weights[bi],
                n: self.lengths[bi],
                sh,
                dq,
                dk,
                dv,
            })
        };
        let size = rows.max(1);
        if parallel() && sh.b > 1 {
            dq.par_chunks_mut(size)
                .zip(dk.par_chunks_mut(size))
                .zip(dv.par_chunks_mut(size))
                .enumerate()
                .for_each(one);
        } else {
            dq.chunks_mut(size)
                .zip(dk.chunks_mut(size))
                .zip(dv.chunks_mut(size))
                .enumerate()
                .for_each(one);
        }
        let shape = [sh.b, sh.t, sh.d];
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

    /// Attention of one head by the definition, in f64: the reference of [`context`].
    fn naive(q: &[f32], k: &[f32], v: &[f32], lengths: &[usize], sh: Heads) -> Vec<f32> {
        let (d, d_k) = (sh.d, sh.d_k());
        let mut out = vec![0.0f32; sh.b * sh.t * d];
        for (bi, &n) in lengths.iter().enumerate() {
            let at = |i: usize, c: usize| (bi * sh.t + i) * d + c;
            for h in 0..sh.heads {
                for i in 0..n {
                    let s: Vec<f64> = (0..n)
                        .map(|j| {
                            (0..d_k)
                                .map(|c| {
                                    q[at(i, h * d_k + c)] as f64 * k[at(j, h * d_k + c)] as f64
                                })
                                .sum::<f64>()
                                * sh.scale as f64
                        })
                        .collect();
                    let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = s.iter().map(|x| (x - max).exp()).sum();
                    for c in 0..d_k {
                        let y: f64 = (0..n)
                            .map(|j| (s[j] - max).exp() / z * v[at(j, h * d_k + c)] as f64)
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
    fn context_matches_the_definition_and_zeroes_padded_queries() {
        // d_k = 20: a 16-lane chunk and a remainder of 4
        let sh = Heads {
            b: 3,
            t: 5,
            d: 40,
            heads: 2,
            scale: 1.0 / 20f32.sqrt(),
        };
        let lengths = [5, 2, 0];
        let len = sh.b * sh.t * sh.d;
        let (q, k, v) = (values(len, 1), values(len, 7), values(len, 13));
        let got = context(&q, &k, &v, &lengths, sh);
        let want = naive(&q, &k, &v, &lengths, sh);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-5, "element {i}: {g} vs {w}");
        }
        // padded rows of sentence 1 and all of sentence 2 are exactly 0
        assert!(got[(sh.t + 2) * sh.d..].iter().all(|&x| x == 0.0));
        // a padded key's values do not reach any query
        let mut v2 = v.clone();
        v2[(sh.t + 3) * sh.d] = 1e6;
        assert_eq!(context(&q, &k, &v2, &lengths, sh), got);
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
