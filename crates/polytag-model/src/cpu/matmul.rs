//! `rows · W` for a recurrence step's rows: burn's gemm on the plain CPU device.
//!
//! A hand-written kernel for steps with few rows (`SmallMatmul`, streaming `W` in 16-column
//! strips instead of letting gemm pack it per call) was measured and removed: it cost more
//! instructions and no less time than gemm on the paper's LSTM (`BENCHMARKS.md`).

use burn::prelude::*;

use super::io;

/// A `[K, N]` weight as a gemm operand, built once per layer and direction.
pub(crate) struct Weight {
    tensor: Tensor<2>,
    k: usize,
}

impl Weight {
    /// The weight `values` `[k, n]`, row-major.
    pub(crate) fn new(values: &[f32], k: usize, n: usize) -> Self {
        Weight {
            tensor: io::tensor(values.to_vec(), [k, n], &Device::flex()),
            k,
        }
    }

    /// A `[K, N]` tensor on the plain CPU device (no copy).
    pub(crate) fn from_tensor(tensor: Tensor<2>) -> Self {
        let [k, _] = tensor.dims();
        Weight { tensor, k }
    }

    /// `rows` `[m, K]` times the weight: `[m, N]`, row-major (the product's own buffer).
    pub(crate) fn times(&self, rows: &[f32], m: usize) -> io::Values {
        let rows = io::tensor(rows.to_vec(), [m, self.k], &Device::flex());
        io::read(rows.matmul(self.tensor.clone()))
    }
}
