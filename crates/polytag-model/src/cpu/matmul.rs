//! `rows · W` for a recurrence step's rows, with [`super::gemm`] (burn's gemm, called
//! directly: the step's gathered rows and the weight are read in place, and the product
//! gets a buffer of its own without burn's extra passes over it).
//!
//! A hand-written kernel for steps with few rows (`SmallMatmul`, streaming `W` in 16-column
//! strips instead of letting gemm pack it per call) was measured and removed: it cost more
//! instructions and no less time than gemm on the paper's LSTM (`BENCHMARKS.md`).

use burn::prelude::*;

use super::gemm::{product, Mat};
use super::io;

/// A `[K, N]` weight as a gemm operand, built once per layer and direction.
pub(crate) struct Weight {
    values: Vec<f32>,
    k: usize,
    n: usize,
}

impl Weight {
    /// The weight `values` `[k, n]`, row-major.
    pub(crate) fn new(values: &[f32], k: usize, n: usize) -> Self {
        Weight {
            values: values.to_vec(),
            k,
            n,
        }
    }

    /// A `[K, N]` tensor of the plain CPU device.
    pub(crate) fn from_tensor(tensor: Tensor<2>) -> Self {
        let [k, n] = tensor.dims();
        Weight {
            values: io::read(tensor).to_vec(),
            k,
            n,
        }
    }

    /// `rows` `[m, K]` times the weight: `[m, N]`, row-major.
    pub(crate) fn times(&self, rows: &[f32], m: usize) -> Vec<f32> {
        product(
            Mat::new(rows, m, self.k),
            Mat::new(&self.values, self.k, self.n),
        )
    }
}
