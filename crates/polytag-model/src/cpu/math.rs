//! Scalar functions for the kernels, branch-free where it matters so that loops over them
//! vectorise. All `#[inline(always)]` ([`super::simd::Kernel`]).
//!
//! The transcendental functions are polynomial approximations accurate to a few f32 ulps
//! (tests below: |error| < 3e-7 against f64), i.e. the same functions as burn's up to
//! rounding; the tensor path's own `fast_tanh` identity differs from libm tanh by as much.

use crate::activation::Activation;

/// e^x, Cephes' `expf` scheme without branches (so that loops over it vectorise): split
/// x = n·ln 2 + r with |r| ≤ ln 2 / 2, a degree-6 polynomial for e^r, 2^n built in the
/// exponent bits. Inputs are clamped to [−87.3, 88.3]: outside, e^x under- or overflows f32
/// anyway (it then returns ~1e-38 instead of 0 and ~2e38 instead of ∞).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part exact in f32 and the rest (Cody–Waite)
    const LN2_HI: f32 = 355.0 / 512.0;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits
    const SHIFTER: f32 = 12_582_912.0;
    // Plain multiply-adds, not `mul_add`: without FMA hardware that is a libm call per
    // element. n·LN2_HI is exact (LN2_HI has 9 significant bits), so r loses nothing.
    let x = x.clamp(-87.3, 88.3);
    let t = x * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e_r = p * (r * r) + r + 1.0;
    // n in −126..=127 sits in the low bits of t's representation (two's complement)
    let n_bits = t.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    e_r * scale
}

/// σ(x) = 1 / (1 + e^−x).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh(x) = 2·σ(2x) − 1: the identity the tensor path uses
/// ([`crate::activation::fast_tanh`]).
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

/// max(0, x); NaN stays NaN, as in burn's relu.
#[inline(always)]
pub(crate) fn relu(x: f32) -> f32 {
    if x > 0.0 || x.is_nan() {
        x
    } else {
        0.0
    }
}

const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_GAMMA: f32 = 1.050_701;

/// SELU with the constants of burn's `selu` (and the SELU paper).
#[inline(always)]
pub(crate) fn selu(x: f32) -> f32 {
    if x >= 0.0 {
        SELU_GAMMA * x
    } else {
        SELU_GAMMA * SELU_ALPHA * (exp(x) - 1.0)
    }
}

/// SELU′ from x and selu(x), as burn differentiates its `selu` (the x ≥ 0 branch at 0).
#[inline(always)]
pub(crate) fn selu_derivative(x: f32, selu_x: f32) -> f32 {
    if x >= 0.0 {
        SELU_GAMMA
    } else {
        // γα·e^x = selu(x) + γα
        selu_x + SELU_GAMMA * SELU_ALPHA
    }
}

/// `activation` of one value: [`crate::activation::apply`] up to f32 rounding.
#[inline(always)]
pub(crate) fn activate(activation: Activation, x: f32) -> f32 {
    match activation {
        Activation::Relu => relu(x),
        Activation::Tanh => tanh(x),
        Activation::Selu => selu(x),
    }
}

/// log Σ exp over `xs`, max-shifted as the tensor path's `logsumexp`.
///
/// f32 with the polynomial [`exp`], for the CRF's training op. Decoding
/// ([`crate::lattice`]) keeps its own f64 version: it scores forbidden moves −∞ (this one
/// sees the finite training constant only) and uses libm's exp, so that n-best scores and
/// log-probabilities stay what they are; sharing one generic routine would change either
/// the decoded numbers or the training kernel's speed.
#[inline(always)]
pub(crate) fn log_sum_exp(xs: &[f32]) -> f32 {
    let m = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = xs.iter().map(|&x| exp(x - m)).sum();
    m + sum.ln()
}

/// Σ aᵢ·bᵢ in 16 fixed lanes, then the lanes in order: vectorises without reassociation, so
/// every instruction set gives the same sum.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let rest = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(0.0f32, |s, (&x, &y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().fold(rest, |s, &l| s + l)
}

/// y ← y + a·x.
#[inline(always)]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Σ xᵢ in 16 fixed lanes, as [`dot`].
#[inline(always)]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let chunks = x.chunks_exact(16);
    let rest = chunks.remainder().iter().fold(0.0f32, |s, &v| s + v);
    for c in chunks {
        for l in 0..16 {
            lanes[l] += c[l];
        }
    }
    lanes.iter().fold(rest, |s, &l| s + l)
}

#[cfg(test)]
mod tests {
    use super::super::io::{read, tensor};
    use super::*;
    use burn::prelude::*;

    fn grid() -> Vec<f32> {
        (-20_000..=20_000).map(|i| i as f32 * 1e-3).collect()
    }

    #[test]
    fn exp_is_accurate_to_a_few_ulps() {
        for x in grid().into_iter().chain([-87.0, -50.0, 40.0, 88.0]) {
            let want = f64::from(x).exp();
            let got = f64::from(exp(x));
            assert!(((got - want) / want).abs() < 4e-7, "{x}: {got} vs {want}");
        }
        assert!(exp(-200.0) < 1e-37 && exp(-200.0) >= 0.0);
        assert!(exp(200.0) > 1e38 && exp(200.0).is_finite());
    }

    #[test]
    fn sigmoid_and_tanh_match_f64() {
        for x in grid() {
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!((f64::from(sigmoid(x)) - s).abs() < 3e-7, "sigmoid {x}");
            let t = f64::from(x).tanh();
            assert!((f64::from(tanh(x)) - t).abs() < 3e-7, "tanh {x}");
        }
        assert_eq!(sigmoid(-100.0).max(0.0), sigmoid(-100.0));
        assert!(sigmoid(100.0) == 1.0 && tanh(100.0) == 1.0 && tanh(-100.0) == -1.0);
    }

    #[test]
    fn selu_matches_burn() {
        let device = Device::flex();
        let xs: Vec<f32> = grid().into_iter().step_by(7).collect();
        let n = xs.len();
        let want = read(burn::tensor::activation::selu(tensor(
            xs.clone(),
            [n],
            &device,
        )));
        for (x, w) in xs.iter().zip(want.iter()) {
            assert!((selu(*x) - w).abs() < 3e-7, "{x}");
        }
    }

    #[test]
    fn dot_sums_lanes_and_remainder() {
        let a: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let b = vec![2.0f32; 37];
        assert_eq!(dot(&a, &b), (0..37).map(|i| 2.0 * i as f32).sum::<f32>());
        assert_eq!(sum(&a), 666.0);
    }
}
