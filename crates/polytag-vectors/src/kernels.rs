//! The gradient steps of skip-gram and CBOW with negative sampling and of the full-softmax
//! skip-gram, on rows of the shared [`Matrix`]es.
//!
//! Losses (h = the input vector, v_t = output row of target t, σ = logistic function):
//! - negative sampling: L = −log σ(h·v_w) − Σ_neg log σ(−h·v_n) (Mikolov et al. 2013b);
//! - full softmax: L = −log softmax(V h)_o over all output rows (seed-systems.md B.2).
//!
//! Every step is plain SGD: each parameter moves by −α ∂L/∂θ, with the output rows updated
//! from the input vector as it was before the step, as word2vec.c does. For CBOW (h = mean of
//! the context rows) each context row moves by −α ∂L/∂h, not ∂L/∂h / count, again as
//! word2vec.c and gensim (`cbow_mean=1`) do; the tests pin exactly this.

use crate::matrix::{Matrix, Row};

/// Per-thread scratch rows, so the hot loops allocate nothing.
#[derive(Debug)]
pub struct Scratch {
    h: Row,
    v: Row,
    neu1e: Row,
    scores: Vec<f32>,
}

impl Scratch {
    /// Buffers for rows of width `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            h: Row::new(dim),
            v: Row::new(dim),
            neu1e: Row::new(dim),
            scores: Vec::new(),
        }
    }
}

/// Range and resolution of [`sigmoid`]'s table: σ(±8) is within 3.4e-4 of 0 / 1.
const SIGMOID_MAX: f32 = 8.0;
const SIGMOID_STEPS: usize = 1024;

/// σ at `SIGMOID_STEPS + 1` evenly spaced points of [−8, 8].
static SIGMOID_TABLE: std::sync::LazyLock<Vec<f32>> = std::sync::LazyLock::new(|| {
    (0..=SIGMOID_STEPS)
        .map(|i| {
            let x = -SIGMOID_MAX + 2.0 * SIGMOID_MAX * i as f32 / SIGMOID_STEPS as f32;
            1.0 / (1.0 + (-x).exp())
        })
        .collect()
});

/// Logistic function from a table with linear interpolation (error below 3e-6:
/// h²/8 · max σ″ with h = 1/64), as
/// word2vec.c and gensim use a table: `expf` was 7 % of a training step (perf). Outside
/// ±8 the table's end values are used.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    let table = &*SIGMOID_TABLE;
    let pos = (x.clamp(-SIGMOID_MAX, SIGMOID_MAX) + SIGMOID_MAX)
        * (SIGMOID_STEPS as f32 / (2.0 * SIGMOID_MAX));
    // `pos` is in [0, STEPS]; the last index pairs with itself.
    let i = (pos as usize).min(SIGMOID_STEPS - 1);
    let frac = pos - i as f32;
    table[i] + frac * (table[i + 1] - table[i])
}

/// a·b, in 8 independent lanes so that the compiler vectorises it.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut sum = ar.iter().zip(br).map(|(x, y)| x * y).sum::<f32>();
    for a in acc {
        sum += a;
    }
    sum
}

/// y += alpha · x.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Skip-gram with negative sampling, one (input, targets) pair: `targets[0]` is the word to
/// predict (label 1), the rest are negatives (label 0).
pub fn skipgram_ns(
    syn0: &Matrix,
    syn1: &Matrix,
    input: u32,
    targets: &[u32],
    alpha: f32,
    s: &mut Scratch,
) {
    syn0.load(input as usize, &mut s.h);
    s.neu1e.floats_mut().fill(0.0);
    for (k, &t) in targets.iter().enumerate() {
        let label = if k == 0 { 1.0 } else { 0.0 };
        let g = (label - sigmoid(syn1.dot(t as usize, s.h.floats()))) * alpha;
        syn1.ns_update(t as usize, g, s.h.floats(), s.neu1e.floats_mut(), &mut s.v);
    }
    axpy(1.0, s.neu1e.floats(), s.h.floats_mut());
    syn0.store(input as usize, &s.h);
}

/// CBOW with negative sampling: h = mean of the `context` rows predicts `targets[0]`.
pub fn cbow_ns(
    syn0: &Matrix,
    syn1: &Matrix,
    context: &[u32],
    targets: &[u32],
    alpha: f32,
    s: &mut Scratch,
) {
    if context.is_empty() {
        return;
    }
    s.h.floats_mut().fill(0.0);
    for &c in context {
        syn0.load(c as usize, &mut s.v);
        axpy(1.0, s.v.floats(), s.h.floats_mut());
    }
    let inv = 1.0 / context.len() as f32;
    s.h.floats_mut().iter_mut().for_each(|x| *x *= inv);
    s.neu1e.floats_mut().fill(0.0);
    for (k, &t) in targets.iter().enumerate() {
        let label = if k == 0 { 1.0 } else { 0.0 };
        let g = (label - sigmoid(syn1.dot(t as usize, s.h.floats()))) * alpha;
        syn1.ns_update(t as usize, g, s.h.floats(), s.neu1e.floats_mut(), &mut s.v);
    }
    for &c in context {
        syn0.load(c as usize, &mut s.v);
        axpy(1.0, s.neu1e.floats(), s.v.floats_mut());
        syn0.store(c as usize, &s.v);
    }
}

/// Full-softmax skip-gram (seed 000's word table, seed-systems.md B.2): the `input` row
/// predicts `target` among all rows of `syn1`. O(vocabulary × dim) per pair, so meant for
/// the small corpora seed 000 trains on.
pub fn skipgram_softmax(
    syn0: &Matrix,
    syn1: &Matrix,
    input: u32,
    target: u32,
    alpha: f32,
    s: &mut Scratch,
) {
    syn0.load(input as usize, &mut s.h);
    let rows = syn1.rows();
    s.scores.resize(rows, 0.0);
    for j in 0..rows {
        syn1.load(j, &mut s.v);
        s.scores[j] = dot(s.h.floats(), s.v.floats());
    }
    let max = s.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for x in s.scores.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    s.neu1e.floats_mut().fill(0.0);
    for j in 0..rows {
        let p = s.scores[j] / sum;
        let g = alpha * (f32::from(j == target as usize) - p);
        syn1.load(j, &mut s.v);
        axpy(g, s.v.floats(), s.neu1e.floats_mut());
        axpy(g, s.h.floats(), s.v.floats_mut());
        syn1.store(j, &s.v);
    }
    axpy(1.0, s.neu1e.floats(), s.h.floats_mut());
    syn0.store(input as usize, &s.h);
}

#[cfg(test)]
mod tests {
    //! Each step is checked against central finite differences of the loss, written here
    //! independently in f64: after a step with α = 1, every parameter must have moved by
    //! −∂L/∂θ.
    use super::*;

    const D: usize = 5;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        // Deterministic pseudo-random values in (−0.5, 0.5).
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    fn ln_sigmoid(x: f64) -> f64 {
        -(1.0 + (-x).exp()).ln()
    }

    fn dot64(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// ∂loss/∂θ_i for all i by central differences.
    fn numeric_grad(theta: &[f64], loss: impl Fn(&[f64]) -> f64) -> Vec<f64> {
        let eps = 1e-6;
        (0..theta.len())
            .map(|i| {
                let mut p = theta.to_vec();
                p[i] += eps;
                let up = loss(&p);
                p[i] -= 2.0 * eps;
                (up - loss(&p)) / (2.0 * eps)
            })
            .collect()
    }

    fn assert_moved(before: &[f32], after: &[f32], grad: &[f64], what: &str) {
        for i in 0..before.len() {
            let moved = f64::from(after[i] - before[i]);
            assert!(
                (moved + grad[i]).abs() < 1e-4,
                "{what}[{i}]: moved {moved}, −gradient {}",
                -grad[i]
            );
        }
    }

    fn to64(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&x| f64::from(x)).collect()
    }

    /// L(h, v_0..v_k) = −log σ(h·v_0) − Σ_{n≥1} log σ(−h·v_n), parameters packed [h | v_0 | ...].
    fn ns_loss(p: &[f64], k: usize) -> f64 {
        let h = &p[..D];
        (0..k)
            .map(|t| {
                let v = &p[D * (t + 1)..D * (t + 2)];
                let sign = if t == 0 { 1.0 } else { -1.0 };
                -ln_sigmoid(sign * dot64(h, v))
            })
            .sum()
    }

    #[test]
    fn skipgram_ns_step_is_minus_the_gradient() {
        // Vocabulary of 4; input word 1 predicts word 2 against negatives 0 and 3.
        let syn0 = Matrix::from_values(&values(4 * D, 1), D);
        let syn1 = Matrix::from_values(&values(4 * D, 2), D);
        let targets = [2u32, 0, 3];
        let (w0, w1) = (syn0.to_vec(), syn1.to_vec());
        let mut packed = to64(&w0[D..2 * D]);
        for &t in &targets {
            packed.extend(to64(&w1[t as usize * D..(t as usize + 1) * D]));
        }
        let grad = numeric_grad(&packed, |p| ns_loss(p, targets.len()));
        skipgram_ns(&syn0, &syn1, 1, &targets, 1.0, &mut Scratch::new(D));
        let (a0, a1) = (syn0.to_vec(), syn1.to_vec());
        assert_moved(&w0[D..2 * D], &a0[D..2 * D], &grad[..D], "h");
        for (k, &t) in targets.iter().enumerate() {
            let r = t as usize * D..(t as usize + 1) * D;
            let g = &grad[D * (k + 1)..D * (k + 2)];
            assert_moved(&w1[r.clone()], &a1[r], g, "v");
        }
        // Rows not involved stay put.
        assert_eq!(w0[..D], a0[..D]);
        assert_eq!(w1[D..2 * D], a1[D..2 * D]);
    }

    #[test]
    fn cbow_ns_step_moves_each_context_row_by_minus_dl_dh() {
        let syn0 = Matrix::from_values(&values(5 * D, 3), D);
        let syn1 = Matrix::from_values(&values(5 * D, 4), D);
        let context = [0u32, 3, 4];
        let targets = [1u32, 2];
        let (w0, w1) = (syn0.to_vec(), syn1.to_vec());
        let mut h = vec![0.0f64; D];
        for &c in &context {
            for d in 0..D {
                h[d] += f64::from(w0[c as usize * D + d]) / context.len() as f64;
            }
        }
        let mut packed = h.clone();
        for &t in &targets {
            packed.extend(to64(&w1[t as usize * D..(t as usize + 1) * D]));
        }
        let grad = numeric_grad(&packed, |p| ns_loss(p, targets.len()));
        cbow_ns(&syn0, &syn1, &context, &targets, 1.0, &mut Scratch::new(D));
        let (a0, a1) = (syn0.to_vec(), syn1.to_vec());
        for &c in &context {
            let r = c as usize * D..(c as usize + 1) * D;
            assert_moved(&w0[r.clone()], &a0[r], &grad[..D], "context");
        }
        for (k, &t) in targets.iter().enumerate() {
            let r = t as usize * D..(t as usize + 1) * D;
            assert_moved(&w1[r.clone()], &a1[r], &grad[D * (k + 1)..D * (k + 2)], "v");
        }
    }

    #[test]
    fn softmax_step_is_minus_the_gradient() {
        const V: usize = 4;
        let syn0 = Matrix::from_values(&values(V * D, 5), D);
        let syn1 = Matrix::from_values(&values(V * D, 6), D);
        let (w0, w1) = (syn0.to_vec(), syn1.to_vec());
        // Parameters [h | all of V]; L = logsumexp(V h) − (V h)_target.
        let target = 3;
        let mut packed = to64(&w0[2 * D..3 * D]);
        packed.extend(to64(&w1));
        let loss = |p: &[f64]| {
            let h = &p[..D];
            let scores: Vec<f64> = (0..V)
                .map(|j| dot64(h, &p[D * (j + 1)..D * (j + 2)]))
                .collect();
            let lse = scores.iter().map(|s| s.exp()).sum::<f64>().ln();
            lse - scores[target]
        };
        let grad = numeric_grad(&packed, loss);
        skipgram_softmax(&syn0, &syn1, 2, target as u32, 1.0, &mut Scratch::new(D));
        let (a0, a1) = (syn0.to_vec(), syn1.to_vec());
        assert_moved(&w0[2 * D..3 * D], &a0[2 * D..3 * D], &grad[..D], "h");
        assert_moved(&w1, &a1, &grad[D..], "V");
    }

    #[test]
    fn sigmoid_table_is_close_to_the_formula() {
        for i in -2000..=2000 {
            let x = i as f32 / 200.0;
            let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
            let err = (f64::from(sigmoid(x)) - exact).abs();
            let bound = if x.abs() <= 8.0 { 4e-6 } else { 3.4e-4 };
            assert!(err < bound, "σ({x}): {} vs {exact}", sigmoid(x));
        }
    }

    #[test]
    fn dot_matches_naive_sum_on_odd_lengths() {
        let a = values(19, 7);
        let b = values(19, 8);
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-5);
    }
}
