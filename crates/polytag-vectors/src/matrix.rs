//! The shared parameter matrices of word2vec training, updated by several threads at once
//! without locks (Hogwild, Recht et al. 2011), soundly.
//!
//! Each value is an `AtomicU32` holding an `f32`'s bits, read and written with `Relaxed`
//! ordering. A relaxed load or store of a 32-bit value compiles to a plain move on x86-64 and
//! AArch64, so this costs what the racy `float*` of word2vec.c and gensim costs — but it is
//! defined behaviour in Rust (the workspace forbids `unsafe`), and a value read while another
//! thread writes it is one of the two, never torn. Rows are copied into a thread's own buffer,
//! updated there with vectorisable loops ([`crate::kernels`]) and stored back: two threads
//! that update the same row in the same instant lose one of the two updates, which is the
//! Hogwild trade-off (rare for a vocabulary of thousands of rows, harmless to SGD).

use std::sync::atomic::{AtomicU32, Ordering};

/// A `[rows, dim]` matrix of `f32`, shared between training threads.
#[derive(Debug)]
pub struct Matrix {
    data: Vec<AtomicU32>,
    dim: usize,
}

impl Matrix {
    /// A matrix with the given row-major values.
    pub fn from_values(values: &[f32], dim: usize) -> Self {
        Self {
            data: values.iter().map(|v| AtomicU32::new(v.to_bits())).collect(),
            dim,
        }
    }

    /// All zeros.
    pub fn zeros(rows: usize, dim: usize) -> Self {
        Self {
            data: (0..rows * dim).map(|_| AtomicU32::new(0)).collect(),
            dim,
        }
    }

    /// Row width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Copies row `row` into `out` (`out.len() == dim`).
    #[inline]
    pub fn load(&self, row: usize, out: &mut [f32]) {
        let cells = &self.data[row * self.dim..(row + 1) * self.dim];
        for (o, c) in out.iter_mut().zip(cells) {
            *o = f32::from_bits(c.load(Ordering::Relaxed));
        }
    }

    /// Writes `values` into row `row`.
    #[inline]
    pub fn store(&self, row: usize, values: &[f32]) {
        let cells = &self.data[row * self.dim..(row + 1) * self.dim];
        for (c, v) in cells.iter().zip(values) {
            c.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    /// All values, row-major (read once training has finished).
    pub fn to_vec(&self) -> Vec<f32> {
        self.data
            .iter()
            .map(|c| f32::from_bits(c.load(Ordering::Relaxed)))
            .collect()
    }
}
