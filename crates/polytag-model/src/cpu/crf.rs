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

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

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
    let (log_z, alphas) = alphas(&chain);
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

/// The sentences `0..b` in contiguous blocks, one per thread of the rayon pool
/// (`training.threads`; one block runs on this thread): the unit of parallel work of the forward and backward recursions.
/// Every sentence's results are computed by the same code whatever block it falls in, and
/// what is summed over sentences is summed in sentence order afterwards, so the results do
/// not depend on the number of threads, bit for bit.
fn blocks(b: usize) -> Vec<Range<usize>> {
    let size = b.div_ceil(rayon::current_num_threads().max(1)).max(1);
    (0..b)
        .step_by(size)
        .map(|at| at..(at + size).min(b))
        .collect()
}

/// log Z `[B]` and, per sentence, α of each counted step (`[n, L]`): [`Alphas`] over the
/// sentence blocks in parallel.
fn alphas(chain: &CrfBatch) -> (Vec<f32>, Vec<Vec<f32>>) {
    let l = chain.l;
    // transposed transitions: column `to` contiguous
    let trans_t: Vec<f32> = (0..l * l)
        .map(|k| chain.trans[(k % l) * l + k / l])
        .collect();
    let block = |sentences| {
        vectorized(Alphas {
            chain,
            trans_t: &trans_t,
            sentences,
        })
    };
    let blocks = blocks(chain.b);
    let parts: Vec<(Vec<f32>, Vec<Vec<f32>>)> = if blocks.len() > 1 {
        blocks.into_par_iter().map(block).collect()
    } else {
        blocks.into_iter().map(block).collect()
    };
    let mut log_z = Vec::with_capacity(chain.b);
    let mut alphas = Vec::with_capacity(chain.b);
    for (z, a) in parts {
        log_z.extend(z);
        alphas.extend(a);
    }
    (log_z, alphas)
}

/// The forward recursion of some sentences: their log Z and α of each counted step.
struct Alphas<'a> {
    chain: &'a CrfBatch,
    /// `[L, L]`, `[to·L + from]`
    trans_t: &'a [f32],
    sentences: Range<usize>,
}

impl Kernel for Alphas<'_> {
    type Output = (Vec<f32>, Vec<Vec<f32>>);
    #[inline(always)]
    fn run(self) -> Self::Output {
        let lat = self.chain;
        let l = lat.l;
        let trans_t = self.trans_t;
        let mut scratch = vec![0.0f32; l];
        let mut log_z = Vec::with_capacity(self.sentences.len());
        let mut alphas = Vec::with_capacity(self.sentences.len());
        for bi in self.sentences {
            let steps = &lat.steps[bi];
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
        let d = marginals(&self.chain, &self.alphas, &self.log_z, grad);
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

/// [`Marginals`] over the sentence blocks in parallel, each writing its sentences' rows of
/// the emission gradient and returning its sentences' own sums for the score tables; these
/// are added up in sentence order (not block order), so that the result does not depend on
/// the number of threads.
fn marginals(chain: &CrfBatch, alphas: &[Vec<f32>], log_z: &[f32], grad: &[f32]) -> ScoreGrads {
    let (b, t, l) = (chain.b, chain.t, chain.l);
    let blocks = blocks(b);
    let mut em = vec![0.0f32; b * t * l];
    // per sentence `[L² transitions, L start, L end]`
    let width = l * l + 2 * l;
    let mut tables = vec![0.0f32; b * width];
    let mut jobs = Vec::with_capacity(blocks.len());
    let (mut em_rest, mut tables_rest) = (em.as_mut_slice(), tables.as_mut_slice());
    for sentences in blocks {
        let (em_block, em_next) = em_rest.split_at_mut(sentences.len() * t * l);
        let (tables_block, tables_next) = tables_rest.split_at_mut(sentences.len() * width);
        (em_rest, tables_rest) = (em_next, tables_next);
        jobs.push((sentences, em_block, tables_block));
    }
    let block = |(sentences, em, tables)| {
        vectorized(Marginals {
            chain,
            alphas,
            log_z,
            grad,
            sentences,
            em,
            tables,
        })
    };
    if jobs.len() > 1 {
        jobs.into_par_iter().for_each(block);
    } else {
        jobs.into_iter().for_each(block);
    }
    let mut out = ScoreGrads {
        em,
        trans: vec![0.0; l * l],
        start: vec![0.0; l],
        end: vec![0.0; l],
    };
    for sentence in tables.chunks_exact(width) {
        let (trans, rest) = sentence.split_at(l * l);
        let (start, end) = rest.split_at(l);
        for (acc, part) in [
            (&mut out.trans, trans),
            (&mut out.start, start),
            (&mut out.end, end),
        ] {
            acc.iter_mut().zip(part).for_each(|(a, &p)| *a += p);
        }
    }
    out
}

/// The backward recursion (β) of some sentences and the expected use of every score, times
/// the incoming gradient: a node's marginal for emissions, start and end, an edge's for
/// transitions.
struct Marginals<'a> {
    chain: &'a CrfBatch,
    alphas: &'a [Vec<f32>],
    log_z: &'a [f32],
    grad: &'a [f32],
    sentences: Range<usize>,
    /// `[sentences, T, L]`: their emission gradients.
    em: &'a mut [f32],
    /// `[sentences, L² + 2L]`: each one's gradients of the transitions, start and end.
    tables: &'a mut [f32],
}

impl Kernel for Marginals<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let lat = self.chain;
        let l = lat.l;
        let width = l * l + 2 * l;
        let mut scratch = vec![0.0f32; l];
        let mut next = vec![0.0f32; l];
        let first = self.sentences.start;
        for bi in self.sentences {
            let steps = &lat.steps[bi];
            let (g, z, alpha) = (self.grad[bi], self.log_z[bi], &self.alphas[bi]);
            let tables = &mut self.tables[(bi - first) * width..(bi - first + 1) * width];
            let (trans, rest) = tables.split_at_mut(l * l);
            let (start, end) = rest.split_at_mut(l);
            let n = steps.len();
            // β of the last counted step is `end`
            let mut beta = lat.end.clone();
            for s in (0..n).rev() {
                let a = &alpha[s * l..(s + 1) * l];
                let ti = steps[s];
                let at = ((bi - first) * lat.t + ti) * l;
                for j in 0..l {
                    let p = g * exp(a[j] + beta[j] - z);
                    self.em[at + j] += p;
                    if s + 1 == n {
                        end[j] += p;
                    }
                    if s == 0 {
                        start[j] += p;
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
                    let edges = &mut trans[i * l..(i + 1) * l];
                    for (d, &x) in edges.iter_mut().zip(&scratch) {
                        *d += g * exp(a_prev[i] + x - z);
                    }
                    beta[i] = log_sum_exp(&scratch);
                }
            }
        }
    }
}
