//! The CPU inference path: on the plain `flex` device (no autodiff, so decoding and
//! evaluation), components do their element-wise work here, on `f32` slices, instead of as
//! a chain of burn ops.
//!
//! Why: the flex backend runs each element-wise op as its own pass over memory, and its
//! `exp`/`sigmoid` go through scalar libm (~3 ns per element, 40× an add; measured with
//! `examples/bench_parts.rs`). A BiLSTM step is ~20 such ops on `[2B, 4H]`; fused into one
//! loop with a vectorised exp, the step costs little next to its `h·W_hh` matmul, which
//! stays a burn matmul (burn's gemm). The tensor path remains the only one for training
//! (it needs autodiff) and for GPU devices (reading back each step would cost a transfer);
//! tests check that both paths agree.
//!
//! The transcendental functions are polynomial approximations accurate to a few f32 ulps
//! (tests below: |error| < 3e-7 against f64), i.e. the same functions up to rounding; the
//! tensor path's own `fast_tanh` identity differs from libm tanh by as much.

use burn::prelude::*;
use macerator::{AutoArch, Simd, WithSimd};

/// Whether the host path serves tensors on `device`: the plain CPU device only.
pub(crate) fn applies(device: &Device) -> bool {
    !device.is_autodiff() && *device == Device::flex()
}

/// A tensor's values on the host, row-major, usable as `&[f32]` / `&mut [f32]`.
///
/// Holds the tensor's own buffer (no copy for a flex tensor nothing else shares): turning it
/// into a `Vec<f32>` would copy, as burn's buffers are aligned to 16 bytes.
pub(crate) struct Values(TensorData);

impl std::ops::Deref for Values {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // `read` converted the data to f32
        self.0.as_slice().expect("f32 data reads as f32")
    }
}

impl std::ops::DerefMut for Values {
    fn deref_mut(&mut self) -> &mut [f32] {
        self.0.as_mut_slice().expect("f32 data reads as f32")
    }
}

impl Values {
    /// Back into a tensor of `shape` on `device` (no copy).
    pub(crate) fn into_tensor<const D: usize>(
        self,
        shape: [usize; D],
        device: &Device,
    ) -> Tensor<D> {
        let (bytes, _, dtype) = self.0.into_parts();
        Tensor::from_data(TensorData::from_bytes(bytes, shape, dtype), device)
    }
}

/// The values of a tensor, row-major.
pub(crate) fn read<const D: usize>(t: Tensor<D>) -> Values {
    // A flex tensor lives in host memory and the model's float dtype converts to f32, so
    // neither the read nor the conversion can fail.
    Values(
        t.try_into_data_as::<f32>()
            .expect("a flex float tensor reads back as f32"),
    )
}

/// The values of an id tensor, row-major.
pub(crate) fn read_ids<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    // as in `read`: host memory, and every int dtype converts to i64
    t.try_into_data_as::<i64>()
        .and_then(|d| Ok(d.try_into_vec::<i64>()?))
        .expect("a flex int tensor reads back as i64")
}

/// A tensor on `device` holding `values` (row-major, `shape`); moves the buffer, no copy.
pub(crate) fn tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A loop over `f32` slices to compile for the widest instruction set ([`vectorized`]).
///
/// `run` must be `#[inline(always)]` and call only `#[inline(always)]` functions (such as
/// those below): code is compiled for the wider instruction set only where it is inlined into
/// the dispatch. (A closure would not do: its body is a function of its own, compiled for the
/// baseline and not inlined; measured: no AVX register in it.)
pub(crate) trait Kernel {
    /// What the loop returns.
    type Output;
    /// The loop.
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for the best instruction set of this CPU (AVX-512 or AVX2 where
/// present, through `macerator`, which burn's flex backend uses the same way), so that its
/// loops vectorise 16 or 8 lanes wide instead of the SSE2 baseline's 4. Only IEEE
/// add/mul/div/min/max and bit operations are used, so every instruction set gives
/// bit-identical results.
pub(crate) fn vectorized<K: Kernel>(kernel: K) -> K::Output {
    struct Dispatch<K>(K);
    impl<K: Kernel> WithSimd for Dispatch<K> {
        type Output = K::Output;
        #[inline(always)]
        fn with_simd<S: Simd>(self) -> K::Output {
            self.0.run()
        }
    }
    AutoArch::new().dispatch(Dispatch(kernel))
}

/// e^x, Cephes' `expf` scheme without branches (so that loops over it vectorise): split
/// x = n·ln 2 + r with |r| ≤ ln 2 / 2, a degree-6 polynomial for e^r, 2^n built in the
/// exponent bits. Inputs are clamped to [−87.3, 88.3]: outside, e^x under- or overflows f32 anyway (it then
/// returns ~1e-38 instead of 0 and ~2e38 instead of ∞).
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

/// tanh(x) = 2·σ(2x) − 1: the identity the tensor path uses ([`crate::activation::fast_tanh`]).
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

/// SELU with the constants of burn's `selu` (and the SELU paper).
#[inline(always)]
pub(crate) fn selu(x: f32) -> f32 {
    const ALPHA: f32 = 1.673_263_2;
    const GAMMA: f32 = 1.050_701;
    if x >= 0.0 {
        GAMMA * x
    } else {
        GAMMA * ALPHA * (exp(x) - 1.0)
    }
}

/// `out` `[m, n]` = `a` `[m, k]` · `b` `[k, n]` (row-major), for few rows.
///
/// Why not burn's matmul: a recurrence step multiplies a handful of rows (the sentences
/// still running) by a `[171, 684]` weight, and gemm packs the whole weight on every call:
/// measured, packing took a quarter of the fused LSTM's time. This kernel streams the weight
/// once per 16-column strip, with up to 8 rows' accumulators in registers.
pub(crate) struct SmallMatmul<'a> {
    pub a: &'a [f32],
    pub b: &'a [f32],
    pub out: &'a mut [f32],
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl Kernel for SmallMatmul<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let SmallMatmul { a, b, out, m, k, n } = self;
        let mut i = 0;
        while i < m {
            let rows = &a[i * k..];
            let out = &mut out[i * n..];
            match m - i {
                1 => strips::<1>(rows, b, out, k, n),
                2 => strips::<2>(rows, b, out, k, n),
                3 => strips::<3>(rows, b, out, k, n),
                4 => strips::<4>(rows, b, out, k, n),
                5 => strips::<5>(rows, b, out, k, n),
                6 => strips::<6>(rows, b, out, k, n),
                7 => strips::<7>(rows, b, out, k, n),
                _ => strips::<8>(rows, b, out, k, n),
            }
            i += 8;
        }
    }
}

/// Rows `0..R` of `a` (`k` wide) times `b` into `out` (`n` wide), 16 columns at a time.
#[inline(always)]
fn strips<const R: usize>(a: &[f32], b: &[f32], out: &mut [f32], k: usize, n: usize) {
    const W: usize = 16;
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * k..(r + 1) * k]);
    let mut j = 0;
    while j + W <= n {
        let mut acc = [[0.0f32; W]; R];
        for p in 0..k {
            let strip = &b[p * n + j..p * n + j + W];
            for r in 0..R {
                let x = rows[r][p];
                for c in 0..W {
                    acc[r][c] += x * strip[c];
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            out[r * n + j..r * n + j + W].copy_from_slice(acc);
        }
        j += W;
    }
    if j < n {
        let w = n - j;
        let mut acc = [[0.0f32; W]; R];
        for p in 0..k {
            let strip = &b[p * n + j..p * n + n];
            for r in 0..R {
                let x = rows[r][p];
                for (o, &v) in acc[r][..w].iter_mut().zip(strip) {
                    *o += x * v;
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            out[r * n + j..r * n + n].copy_from_slice(&acc[..w]);
        }
    }
}

/// SELU′ from x and selu(x), as burn differentiates its `selu` (the x ≥ 0 branch at 0).
#[inline(always)]
pub(crate) fn selu_derivative(x: f32, selu_x: f32) -> f32 {
    const ALPHA: f32 = 1.673_263_2;
    const GAMMA: f32 = 1.050_701;
    if x >= 0.0 {
        GAMMA
    } else {
        // γα·e^x = selu(x) + γα
        selu_x + GAMMA * ALPHA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn small_matmul_matches_burn() {
        let device = Device::flex();
        for (m, k, n) in [
            (1, 3, 5),
            (5, 17, 40),
            (8, 9, 16),
            (11, 33, 70),
            (19, 171, 684),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.1)
                .collect();
            let want =
                read(tensor(a.clone(), [m, k], &device).matmul(tensor(b.clone(), [k, n], &device)));
            let mut out = vec![0.0; m * n];
            vectorized(SmallMatmul {
                a: &a,
                b: &b,
                out: &mut out,
                m,
                k,
                n,
            });
            for (x, y) in out.iter().zip(want.iter()) {
                assert!((x - y).abs() < 1e-4, "{m}x{k}x{n}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn vectorized_runs_the_kernel() {
        struct Sigmoid<'a>(&'a mut [f32]);
        impl Kernel for Sigmoid<'_> {
            type Output = usize;
            #[inline(always)]
            fn run(self) -> usize {
                self.0.iter_mut().for_each(|x| *x = sigmoid(*x));
                self.0.len()
            }
        }
        let mut v: Vec<f32> = grid();
        let want: Vec<f32> = v.iter().map(|&x| sigmoid(x)).collect();
        assert_eq!(vectorized(Sigmoid(&mut v)), want.len());
        assert_eq!(v, want);
        assert!(applies(&Device::flex()) && !applies(&Device::flex().autodiff()));
    }
}
