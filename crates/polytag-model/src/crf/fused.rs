//! The forward algorithm (log Z) as one autodiff op on the CPU training device
//! ([`crate::fused`]): the recursion over the lattice runs on the host, and the backward is
//! the forward–backward algorithm (∂ log Z / ∂ score = the probability of using it).
//!
//! Why: the tensor path records ~8 ops per time step (broadcast add, log-sum-exp as max,
//! sub, exp, sum, log, add, mask) plus their backward; measured 2.0 ms per batch of 19
//! sentences (T = 35, 17 labels), most of it per-op overhead on `[19, 17, 17]` tensors.
//!
//! Same semantics as [`Crf::log_partition_tensor`]: the first step always counts, later
//! steps only where the mask is set (elsewhere α carries), scores after the constraints'
//! masking (done by burn ops before the op, so forbidden scores get no gradient). f32, with
//! the same max-shifted log-sum-exp.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::prelude::*;

use super::Crf;
use crate::{fused, host};

impl Crf {
    /// log Z through the fused op, or `None` where it does not apply (the caller then takes
    /// the tensor path).
    pub(super) fn log_partition_fused(
        &self,
        emissions: &Tensor<3>,
        mask: &Tensor<2>,
    ) -> Option<Tensor<1>> {
        if !fused::applies(&emissions.device()) {
            return None;
        }
        let [b, t, l] = emissions.dims();
        if t == 0 || l == 0 {
            return None;
        }
        let mask = host::read(mask.clone());
        // per sentence, the time steps that count
        let steps: Vec<Vec<usize>> = (0..b)
            .map(|bi| {
                std::iter::once(0)
                    .chain((1..t).filter(|&ti| mask[bi * t + ti] != 0.0))
                    .collect()
            })
            .collect();
        let (trans, start, end) = self.scores();
        let (em, em_node) = fused::primitive(emissions.clone())?;
        let (trans, trans_node) = fused::primitive(trans)?;
        let (start, start_node) = fused::primitive(start)?;
        let (end, end_node) = fused::primitive(end)?;
        let lattice = Lattice {
            b,
            t,
            l,
            em: fused::values(&em).into_owned(),
            trans: fused::values(&trans).into_owned(),
            start: fused::values(&start).into_owned(),
            end: fused::values(&end).into_owned(),
            steps,
        };
        if lattice.em.len() != b * t * l
            || lattice.trans.len() != l * l
            || lattice.start.len() != l
            || lattice.end.len() != l
        {
            return None;
        }
        let (log_z, alphas) = host::vectorized(Forward { lattice: &lattice });
        Some(fused::record(
            LogZBackward,
            [em_node, trans_node, start_node, end_node],
            (Arc::new(lattice), Arc::new(alphas), log_z.clone()),
            fused::flex(log_z, [b]),
        ))
    }
}

/// A batch's scores on the host.
#[derive(Debug)]
struct Lattice {
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

impl Lattice {
    fn emissions(&self, bi: usize, ti: usize) -> &[f32] {
        let at = (bi * self.t + ti) * self.l;
        &self.em[at..at + self.l]
    }
}

/// log Σ exp over `xs` (max-shifted, as the tensor path's `logsumexp`).
#[inline(always)]
fn lse(xs: &[f32]) -> f32 {
    let m = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = xs.iter().map(|&x| host::exp(x - m)).sum();
    m + sum.ln()
}

/// The forward recursion: log Z `[B]` and, per sentence, α of each counted step (`[n, L]`).
struct Forward<'a> {
    lattice: &'a Lattice,
}

impl host::Kernel for Forward<'_> {
    type Output = (Vec<f32>, Vec<Vec<f32>>);
    #[inline(always)]
    fn run(self) -> Self::Output {
        let lat = self.lattice;
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
                    alpha.push(lse(&scratch) + ej);
                }
            }
            let last = alpha.len() - l;
            for ((x, &a), &e) in scratch.iter_mut().zip(&alpha[last..]).zip(&lat.end) {
                *x = a + e;
            }
            log_z.push(lse(&scratch));
            alphas.push(alpha);
        }
        (log_z, alphas)
    }
}

#[derive(Debug)]
struct LogZBackward;

impl Backward<Flex, 4> for LogZBackward {
    type State = (Arc<Lattice>, Arc<Vec<Vec<f32>>>, Vec<f32>);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (lattice, alphas, log_z) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node);
        let grad = fused::values(&grad);
        let d = host::vectorized(Marginals {
            lattice: &lattice,
            alphas: &alphas,
            log_z: &log_z,
            grad: &grad,
        });
        let (b, t, l) = (lattice.b, lattice.t, lattice.l);
        let outs: [FlexTensor; 4] = [
            fused::flex(d.em, [b, t, l]),
            fused::flex(d.trans, [l, l]),
            fused::flex(d.start, [l]),
            fused::flex(d.end, [l]),
        ];
        for (parent, g) in ops.parents.into_iter().zip(outs) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

/// Gradients of Σ_b grad_b · log Z_b.
struct Scores {
    em: Vec<f32>,
    trans: Vec<f32>,
    start: Vec<f32>,
    end: Vec<f32>,
}

/// The backward recursion (β) and the expected use of every score, times the incoming
/// gradient: a node's marginal for emissions, start and end, an edge's for transitions.
struct Marginals<'a> {
    lattice: &'a Lattice,
    alphas: &'a [Vec<f32>],
    log_z: &'a [f32],
    grad: &'a [f32],
}

impl host::Kernel for Marginals<'_> {
    type Output = Scores;
    #[inline(always)]
    fn run(self) -> Scores {
        let lat = self.lattice;
        let l = lat.l;
        let mut out = Scores {
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
                    let p = g * host::exp(a[j] + beta[j] - z);
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
                        *d += g * host::exp(a_prev[i] + x - z);
                    }
                    beta[i] = lse(&scratch);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::CrfConfig;
    use super::*;
    use crate::sequence::length_mask;
    use crate::test_support::RNG;
    use burn::tensor::Distribution;

    /// log Z and its gradients (emissions and the three score tables) equal the tensor path's,
    /// with and without constraints, on a ragged padded batch.
    #[test]
    fn fused_log_z_matches_tensor_path_values_and_gradients() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        device.seed(13);
        let lengths = [5usize, 1, 3, 6];
        let mask = length_mask(&lengths, 6, &device);
        let em0 = Tensor::<3>::random([4, 6, 4], Distribution::Normal(0.0, 2.0), &device);
        let w = Tensor::<1>::random([4], Distribution::Normal(1.0, 1.0), &device);
        for constrained in [false, true] {
            let mut crf = CrfConfig::new(4).init(&device);
            if constrained {
                let allowed: Vec<bool> = (0..16).map(|k| k % 5 != 1).collect();
                let c = super::super::CrfConstraints::new(
                    4,
                    allowed,
                    vec![true, true, false, true],
                    vec![true, false, true, true],
                    "crf",
                )
                .unwrap();
                crf = crf.with_constraints(c, "crf").unwrap();
            }
            let run = |fused: bool| {
                let em = em0.clone().detach().require_grad();
                let z = if fused {
                    crf.log_partition_fused(&em, &mask)
                        .expect("fused path applies")
                } else {
                    crf.log_partition_tensor(em.clone(), mask.clone())
                };
                let grads = (z.clone() * w.clone()).sum().backward();
                let g: Vec<Tensor<1>> = vec![
                    em.grad(&grads).unwrap().reshape([96]),
                    crf.transitions.val().grad(&grads).unwrap().reshape([16]),
                    crf.start.val().grad(&grads).unwrap(),
                    crf.end.val().grad(&grads).unwrap(),
                ];
                (z.inner(), g)
            };
            let (z_f, g_f) = run(true);
            let (z_t, g_t) = run(false);
            let diff = |a: Tensor<1>, b: Tensor<1>| (a - b).abs().max().into_scalar::<f32>();
            assert!(diff(z_f, z_t) < 1e-4, "constrained={constrained}: log Z");
            for (i, (a, b)) in g_f.into_iter().zip(g_t).enumerate() {
                let d = diff(a.inner(), b.inner());
                assert!(
                    d < 1e-5,
                    "constrained={constrained}: gradient {i} differs by {d}"
                );
            }
        }
    }
}
