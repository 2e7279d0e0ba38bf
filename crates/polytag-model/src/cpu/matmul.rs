//! `rows · W` for a recurrence step's rows, with [`super::gemm`] (burn's gemm, called
//! directly: the step's gathered rows and the weight — padded so that gemm need not pack it
//! — are read in place, and the product goes to a buffer the direction re-uses at every
//! step, without burn's extra passes over it).
//!
//! A hand-written kernel for steps with few rows (`SmallMatmul`, streaming `W` in 16-column
//! strips instead of letting gemm pack it per call) was measured and removed: it cost more
//! instructions and no less time than gemm on the paper's LSTM (`BENCHMARKS.md`); padding
//! the weight removed the per-call packing itself.

use burn::prelude::*;

use super::gemm::{matmul, Mat};
use super::io;

/// gemm reads a weight in place only when its output width is a multiple of the SIMD width
/// (16 `f32`s with AVX-512, 8 with AVX2); otherwise it packs the whole weight into a buffer
/// of its own on every call (`gemm-common` 0.19, `do_prepack_lhs`).
const PADDED_TO: usize = 16;

/// A `[K, N]` weight as a gemm operand, built once per layer and direction: its rows padded
/// with zeros to a multiple of [`PADDED_TO`] columns, so that a step's product reads it in
/// place. Why: packed per call, the paper's `W_hh` (`[171, 684]`, 468 KB) was copied at
/// every step of every direction, and those per-call buffers fragmented the malloc arenas
/// of the threads running the directions (15 MB of the paper workload's peak RSS).
pub(crate) struct Weight {
    values: Vec<f32>,
    k: usize,
    n: usize,
    stride: usize,
}

impl Weight {
    /// The weight `values` `[k, n]`, row-major.
    pub(crate) fn new(values: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(values.len(), k * n, "a {k}×{n} weight");
        let stride = n.next_multiple_of(PADDED_TO);
        let mut padded = vec![0.0f32; k * stride];
        if n > 0 {
            for (to, from) in padded.chunks_mut(stride).zip(values.chunks(n)) {
                to[..n].copy_from_slice(from);
            }
        }
        Weight {
            values: padded,
            k,
            n,
            stride,
        }
    }

    /// A `[K, N]` tensor of the plain CPU device.
    pub(crate) fn from_tensor(tensor: Tensor<2>) -> Self {
        let [k, n] = tensor.dims();
        Self::new(&io::read(tensor), k, n)
    }

    /// `rows` `[m, K]` times the weight, into `out` (re-used from step to step: one
    /// allocation per direction, not one per step).
    pub(crate) fn times_into<'o>(&self, rows: &[f32], m: usize, out: &'o mut Vec<f32>) -> Rows<'o> {
        // `matmul` without `accumulate` writes every value, so a grown tail's zeros are
        // never read
        out.resize(m * self.stride, 0.0);
        matmul(
            out,
            Mat::new(rows, m, self.k),
            Mat::new(&self.values, self.k, self.stride),
            false,
        );
        Rows {
            values: out,
            width: self.n,
            stride: self.stride,
        }
    }
}

/// The `[m, N]` rows of a [`Weight`]'s product, `stride` values apart (the padded width).
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    values: &'a [f32],
    width: usize,
    stride: usize,
}

impl<'a> Rows<'a> {
    /// Row `r`'s N values.
    pub(crate) fn row(&self, r: usize) -> &'a [f32] {
        let start = r * self.stride;
        &self.values[start..start + self.width]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small integers: every product and sum is exact in f32, so the rows must match the
    /// definition exactly, whatever gemm's order of operations.
    fn ints(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7 + seed) % 11) as f32 - 5.0)
            .collect()
    }

    #[test]
    fn products_of_padded_weights_read_back_unpadded() {
        // widths below, at and above a multiple of the padding, and the paper's 4·171
        for n in [1, 15, 16, 17, 684] {
            let k = 9;
            let w = ints(k * n, n);
            let weight = Weight::new(&w, k, n);
            let mut out = Vec::new();
            // one buffer for all steps, a larger step before smaller ones (stale values in
            // the buffer must not show) and a step with no rows
            for m in [5, 2, 0, 3] {
                let x = ints(m * k, m + 1);
                let rows = weight.times_into(&x, m, &mut out);
                for r in 0..m {
                    let want: Vec<f32> = (0..n)
                        .map(|j| (0..k).map(|l| x[r * k + l] * w[l * n + j]).sum())
                        .collect();
                    assert_eq!(rows.row(r), &want[..], "n {n}, m {m}, row {r}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "a 3×4 weight")]
    fn a_weight_of_the_wrong_size_is_refused() {
        Weight::new(&[0.0; 11], 3, 4);
    }
}
