//! The CRF's forward algorithm (log Z) as one autodiff op on the CPU training device: the
//! recursion over the lattice runs on the host, and the backward is the forward–backward
//! algorithm (∂ log Z / ∂ score = the probability of using it).
//!
//! Why: the tensor path records ~8 ops per time step (broadcast add, log-sum-exp as max,
//! sub, exp, sum, log, add, mask) plus their backward, most of its cost per-op overhead on
//! `[B, L, L]` tensors.
//!
//! Same semantics as `Crf`'s tensor path: the first step always counts, later steps only
//! where the mask is set (elsewhere α carries), scores after the constraints' masking (done
//! by burn ops before the op, so forbidden scores get no gradient). f32, with the same
//! max-shifted log-sum-exp ([`log_sum_exp`]); decoding's f64 forward algorithm is
//! [`crate::lattice`]'s (see [`log_sum_exp`] for why it stays separate).

use std::sync::Arc;

use burn::prelude::*;

use super::autodiff::{self, Grad};
use super::math::{exp, log_sum_exp};
use super::simd::{vectorized, Kernel};

/// log Z `[B]` of `emissions` `[B, T, L]` under the `[B, T]` `mask` with the score tables
/// `transitions` `[L, L]` (`[from, to]`), `start` `[L]`, `end` `[L]`, as one recorded op;
/// `None` where it does not apply (the caller then takes the tensor path).
pub(crate) fn log_partition(
    emissions: Tensor<3>,
    mask: &[f32],
    transitions: Tensor<2>,
    start: Tensor<1>,
    end: Tensor<1>,
) -> Option<Tensor<1>> {
    let [b, t, l] = emissions.dims();
    if t == 0 || l == 0 || mask.len() != b * t {
        return None;
    }
    // per sentence, the time steps that count
    let steps: Vec<Vec<usize>> = (0..b)
        .map(|bi| {
            std::iter::once(0)
                .chain((1..t).filter(|&ti| mask[bi * t + ti] != 0.0))
                .collect()
        })
        .collect();
    let inputs = [
        autodiff::input(emissions)?,
        autodiff::input(transitions)?,
        autodiff::input(start)?,
        autodiff::input(end)?,
    ];
    let [em, trans, start, end] = &inputs;
    let chain = CrfBatch {
        b,
        t,
        l,
        em: em.values()?.into_owned(),
        trans: trans.values()?.into_owned(),
        start: start.values()?.into_owned(),
        end: end.values()?.into_owned(),
        steps,
    };
    if chain.em.len() != b * t * l
        || chain.trans.len() != l * l
        || chain.start.len() != l
        || chain.end.len() != l
    {
        return None;
    }
    let (log_z, alphas) = vectorized(Alphas { chain: &chain });
    let state = LogZBackward {
        chain: Arc::new(chain),
        alphas: Arc::new(alphas),
        log_z: Arc::new(log_z.clone()),
    };
    Some(autodiff::record(inputs, state, log_z, [b]))
}

/// A batch's scores on the host.
#[derive(Debug)]
struct CrfBatch {
    b: usize,
    t: usize,
    l: usize,
    /// `[B, T, L]`
    em: Vec<f32>,
    /// `[L, L]`, `trans[from·L + to]`
    trans: Vec<f32>,
    start: Vec<f32>,
    end: Vec<f32>,
    /// Per sentence, the time steps that count (the first always).
    steps: Vec<Vec<usize>>,
}

impl CrfBatch {
    fn emissions(&self, bi: usize, ti: usize) -> &[f32] {
        let at = (bi * self.t + ti) * self.l;
        &self.em[at..at + self.l]
    }
}

/// The forward recursion: log Z `[B]` and, per sentence, α of each counted step (`[n, L]`).
struct Alphas<'a> {
    chain: &'a CrfBatch,
}

impl Kernel for Alphas<'_> {
    type Output = (Vec<f32>, Vec<Vec<f32>>);
    #[inline(always)]
    fn run(self) -> Self::Output {
        let lat = self.chain;
        let l = lat.l;
        // transposed transitions: column `to` contiguous
        let trans_t: Vec<f32> = (0..l * l).map(|k| lat.trans[(k % l) * l + k / l]).collect();
        let mut scratch = vec![0.0f32; l];
        let mut log_z = Vec::with_capacity(lat.b);
        let mut alphas = Vec::with_capacity(lat.b);
        for (bi, steps) in lat.steps.iter().enumerate() {
            let mut alpha: Vec<f32> = Vec::with_capacity(steps.len() * l);
            let e0 = lat.emissions(bi, 0);
            alpha.extend(lat.start.iter().zip(e0).map(|(s, e)| s + e));
            for &ti in &steps[1..] {
                let prev = alpha.len() - l;
                let e = lat.emissions(bi, ti);
                for (j, &ej) in e.iter().enumerate() {
                    let col = &trans_t[j * l..(j + 1) * l];
                    for ((x, &a), &tr) in scratch.iter_mut().zip(&alpha[prev..prev + l]).zip(col) {
                        *x = a + tr;
                    }
                    alpha.push(log_sum_exp(&scratch) + ej);
                }
            }
            let last = alpha.len() - l;
            for ((x, &a), &e) in scratch.iter_mut().zip(&alpha[last..]).zip(&lat.end) {
                *x = a + e;
            }
            log_z.push(log_sum_exp(&scratch));
            alphas.push(alpha);
        }
        (log_z, alphas)
    }
}

/// The op's backward state.
#[derive(Clone, Debug)]
struct LogZBackward {
    chain: Arc<CrfBatch>,
    alphas: Arc<Vec<Vec<f32>>>,
    log_z: Arc<Vec<f32>>,
}

impl autodiff::Backward<4> for LogZBackward {
    fn backward(self, grad: &[f32]) -> [Grad; 4] {
        let d = vectorized(Marginals {
            chain: &self.chain,
            alphas: &self.alphas,
            log_z: &self.log_z,
            grad,
        });
        let (b, t, l) = (self.chain.b, self.chain.t, self.chain.l);
        [
            Grad::new(d.em, &[b, t, l]),
            Grad::new(d.trans, &[l, l]),
            Grad::new(d.start, &[l]),
            Grad::new(d.end, &[l]),
        ]
    }
}

/// Gradients of Σ_b grad_b · log Z_b with respect to each score table.
struct ScoreGrads {
    em: Vec<f32>,
    trans: Vec<f32>,
    start: Vec<f32>,
    end: Vec<f32>,
}

/// The backward recursion (β) and the expected use of every score, times the incoming
/// gradient: a node's marginal for emissions, start and end, an edge's for transitions.
struct Marginals<'a> {
    chain: &'a CrfBatch,
    alphas: &'a [Vec<f32>],
    log_z: &'a [f32],
    grad: &'a [f32],
}

impl Kernel for Marginals<'_> {
    type Output = ScoreGrads;
    #[inline(always)]
    fn run(self) -> ScoreGrads {
        let lat = self.chain;
        let l = lat.l;
        let mut out = ScoreGrads {
            em: vec![0.0; lat.b * lat.t * l],
            trans: vec![0.0; l * l],
            start: vec![0.0; l],
            end: vec![0.0; l],
        };
        let mut scratch = vec![0.0f32; l];
        let mut next = vec![0.0f32; l];
        for (bi, steps) in lat.steps.iter().enumerate() {
            let (g, z, alpha) = (self.grad[bi], self.log_z[bi], &self.alphas[bi]);
            let n = steps.len();
            // β of the last counted step is `end`
            let mut beta = lat.end.clone();
            for s in (0..n).rev() {
                let a = &alpha[s * l..(s + 1) * l];
                let ti = steps[s];
                let at = (bi * lat.t + ti) * l;
                for j in 0..l {
                    let p = g * exp(a[j] + beta[j] - z);
                    out.em[at + j] += p;
                    if s + 1 == n {
                        out.end[j] += p;
                    }
                    if s == 0 {
                        out.start[j] += p;
                    }
                }
                if s == 0 {
                    break;
                }
                // edges (s−1 → s) and β of step s−1
                let a_prev = &alpha[(s - 1) * l..s * l];
                let e = lat.emissions(bi, ti);
                for (x, (&ej, &bj)) in next.iter_mut().zip(e.iter().zip(&beta)) {
                    *x = ej + bj;
                }
                for i in 0..l {
                    let row = &lat.trans[i * l..(i + 1) * l];
                    for ((x, &tr), &nx) in scratch.iter_mut().zip(row).zip(&next) {
                        *x = tr + nx;
                    }
                    let edges = &mut out.trans[i * l..(i + 1) * l];
                    for (d, &x) in edges.iter_mut().zip(&scratch) {
                        *d += g * exp(a_prev[i] + x - z);
                    }
                    beta[i] = log_sum_exp(&scratch);
                }
            }
        }
        out
    }
}
