//! `rows · W` for a recurrence step's few rows.

use burn::prelude::*;

use super::io;
use super::simd::{vectorized, Kernel};

/// Rows at most this many go through [`SmallMatmul`], more through burn's gemm (which wins
/// once the weight's packing is shared by enough rows).
pub(crate) const SMALL_ROWS: usize = 16;

/// One direction's `[K, N]` weight, on the host and (lazily) as a tensor for burn's gemm.
pub(crate) struct Weight<'a> {
    values: &'a [f32],
    k: usize,
    n: usize,
    tensor: Option<Tensor<2>>,
}

impl<'a> Weight<'a> {
    /// The weight `values` `[k, n]`, row-major.
    pub(crate) fn new(values: &'a [f32], k: usize, n: usize) -> Self {
        Weight {
            values,
            k,
            n,
            tensor: None,
        }
    }

    /// `rows` `[m, K]` times the weight, into `out` `[m, N]`.
    pub(crate) fn times(&mut self, rows: &[f32], m: usize, out: &mut Vec<f32>) {
        out.clear();
        if m <= SMALL_ROWS {
            out.resize(m * self.n, 0.0);
            vectorized(SmallMatmul {
                a: rows,
                b: self.values,
                out,
                m,
                k: self.k,
                n: self.n,
            });
        } else {
            let (weights, k, n) = (self.values, self.k, self.n);
            let device = Device::flex();
            let w = self
                .tensor
                .get_or_insert_with(|| io::tensor(weights.to_vec(), [k, n], &device));
            let y = io::tensor(rows.to_vec(), [m, k], &device).matmul(w.clone());
            out.extend_from_slice(&io::read(y));
        }
    }
}

/// `out` `[m, n]` = `a` `[m, k]` · `b` `[k, n]` (row-major), for few rows.
///
/// Why not burn's matmul: a recurrence step multiplies a handful of rows (the sentences
/// still running) by a `[171, 684]` weight, and gemm packs the whole weight on every call.
/// This kernel streams the weight once per 16-column strip, with up to 8 rows' accumulators
/// in registers.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::io::{read, tensor};

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
}
