//! Matrix products written straight into the caller's buffer, through the `gemm` crate
//! (burn's own CPU matmul).
//!
//! Why not burn's `matmul` here: on the `flex` device every product allocates its output as
//! a zeroed byte vector and then copies it into a 16-byte-aligned buffer (burn-flex 0.22.1,
//! `FlexTensor::empty`), two passes over the output before the product writes it, and the
//! kernels' own inputs had to be copied into tensors first. Profiled on seed 000 (one
//! thread), that `memset` + `memmove` was a quarter of the run. A [`Mat`] borrows a slice,
//! so inputs, their transposes and the output need no copy at all.
//!
//! This is the one module of the crate with `unsafe`: `gemm` takes raw pointers and strides.
//! [`Mat::new`] and [`matmul`] check every length the call relies on, so the safe functions
//! cannot make it read or write out of bounds.
#![allow(unsafe_code)]

/// Products of at least this many multiply-adds use the rayon pool (burn-flex's threshold);
/// smaller ones run on this thread. Either way each output element is one dot product
/// summed in the same order, so results do not depend on the number of threads.
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// A matrix stored row-major in a slice, read as is or transposed ([`Mat::t`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mat<'a> {
    data: &'a [f32],
    /// Rows and columns as stored.
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a> Mat<'a> {
    /// `data` as a `rows × cols` row-major matrix.
    ///
    /// # Panics
    /// If `data` does not hold exactly `rows · cols` values.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "a {rows}×{cols} matrix");
        Mat {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// The transpose (no copy).
    pub(crate) fn t(self) -> Self {
        Mat {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows and columns as read.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// Strides (column, row) in elements, as read.
    fn strides(&self) -> (isize, isize) {
        let c = self.cols as isize;
        if self.transposed {
            (c, 1)
        } else {
            (1, c)
        }
    }
}

/// `out` ← a·b, or `out` ← `out` + a·b with `accumulate`; `out` is `m × n` row-major for a
/// `m × k` and b `k × n`.
///
/// # Panics
/// If the inner dimensions differ or `out` does not hold `m · n` values.
pub(crate) fn matmul(out: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) {
    let ((m, k), (k2, n)) = (a.shape(), b.shape());
    assert_eq!(k, k2, "inner dimensions of a product");
    assert_eq!(out.len(), m * n, "a {m}×{n} product");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    let parallelism = if m * n * k >= PARALLEL_THRESHOLD && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let ((a_cs, a_rs), (b_cs, b_rs)) = (a.strides(), b.strides());
    // SAFETY: `Mat::new` checked that `a.data` holds rows·cols values, and with the strides
    // above every (i, j) of the m×k (resp. k×n) matrix as read maps to an index below that
    // length; `out` holds m·n values written at i·n + j (column stride 1, row stride n). The
    // three slices cannot overlap: `out` is borrowed mutably. With `accumulate` false, `gemm`
    // does not read `out` (read_dst = false), with it, `out` is initialised f32s.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// a·b into a new `m × n` buffer.
pub(crate) fn product(a: Mat<'_>, b: Mat<'_>) -> Vec<f32> {
    let mut out = vec![0.0f32; a.shape().0 * b.shape().1];
    matmul(&mut out, a, b, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By the definition, in f64.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        (0..m * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                (0..k)
                    .map(|l| f64::from(a[i * k + l]) * f64::from(b[l * n + j]))
                    .sum::<f64>() as f32
            })
            .collect()
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|ji| x[(ji % rows) * cols + ji / rows])
            .collect()
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-4 * y.abs().max(1.0), "{i}: {x} vs {y}");
        }
    }

    #[test]
    fn products_of_plain_and_transposed_operands() {
        let (m, k, n) = (7, 33, 5);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 13) % 7) as f32 * 0.5 - 1.5)
            .collect();
        let want = naive(&a, &b, m, k, n);
        close(&product(Mat::new(&a, m, k), Mat::new(&b, k, n)), &want);
        // the same product from stored transposes
        let (at, bt) = (transpose(&a, m, k), transpose(&b, k, n));
        close(
            &product(Mat::new(&at, k, m).t(), Mat::new(&bt, n, k).t()),
            &want,
        );
        // accumulate adds to what is there
        let mut out = vec![1.0f32; m * n];
        matmul(&mut out, Mat::new(&a, m, k), Mat::new(&b, k, n), true);
        close(&out, &want.iter().map(|w| w + 1.0).collect::<Vec<_>>());
        // k = 0: an empty sum
        let mut out = vec![3.0f32; 4];
        matmul(&mut out, Mat::new(&[], 2, 0), Mat::new(&[], 0, 2), false);
        assert_eq!(out, [0.0; 4]);
    }

    #[test]
    #[should_panic(expected = "inner dimensions")]
    fn mismatched_inner_dimensions_panic_before_the_call() {
        product(Mat::new(&[0.0; 6], 2, 3), Mat::new(&[0.0; 4], 2, 2));
    }
}
