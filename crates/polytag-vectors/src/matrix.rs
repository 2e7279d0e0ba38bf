//! The shared parameter matrices of word2vec training, updated by several threads at once
//! without locks (Hogwild, Recht et al. 2011), soundly.
//!
//! Values live in `AtomicU64`s, two `f32`s each, read and written with `Relaxed` ordering. A
//! relaxed 64-bit load or store compiles to a plain move on x86-64 and AArch64, so this costs
//! what the racy `float*` of word2vec.c and gensim costs — but it is defined behaviour in Rust
//! (the workspace forbids `unsafe`), and a value read while another thread writes it is one of
//! the two, never torn. Pairs rather than single floats halve the (unvectorisable) atomic
//! moves. Rows are copied into a thread's own buffer, updated there with vectorised loops
//! ([`crate::kernels`]) and stored back: two threads that update the same row at the same
//! instant lose one of the two updates, which is the Hogwild trade-off (rare for a vocabulary
//! of thousands of rows, harmless to SGD).
//!
//! A row of odd width carries one padding float, always zero: the kernels run over whole rows
//! and zero times anything adds nothing.

use std::sync::atomic::{AtomicU64, Ordering};

/// A `[rows, dim]` matrix of `f32`, shared between training threads.
#[derive(Debug)]
pub struct Matrix {
    data: Vec<AtomicU64>,
    dim: usize,
    /// `u64` words per row: ⌈dim / 2⌉.
    stride: usize,
}

/// A thread's copy of one row: `u64` words, viewed as `f32`s by [`Row::floats`].
#[derive(Debug, Clone)]
pub struct Row(Vec<u64>);

impl Row {
    /// A zero row for a matrix of width `dim`.
    pub fn new(dim: usize) -> Self {
        Row(vec![0; dim.div_ceil(2)])
    }

    /// The values (padding included).
    #[inline]
    pub fn floats(&self) -> &[f32] {
        bytemuck::cast_slice(&self.0)
    }

    /// The values, mutable (padding included).
    #[inline]
    pub fn floats_mut(&mut self) -> &mut [f32] {
        bytemuck::cast_slice_mut(&mut self.0)
    }
}

impl Matrix {
    /// A matrix with the given row-major values.
    pub fn from_values(values: &[f32], dim: usize) -> Self {
        let stride = dim.div_ceil(2);
        let rows = values.len().checked_div(dim).unwrap_or(0);
        let mut padded = vec![0.0f32; rows * stride * 2];
        for r in 0..rows {
            padded[r * stride * 2..r * stride * 2 + dim]
                .copy_from_slice(&values[r * dim..(r + 1) * dim]);
        }
        let words: Vec<u64> = bytemuck::pod_collect_to_vec(&padded);
        Self {
            data: words.into_iter().map(AtomicU64::new).collect(),
            dim,
            stride,
        }
    }

    /// All zeros.
    pub fn zeros(rows: usize, dim: usize) -> Self {
        let stride = dim.div_ceil(2);
        Self {
            data: (0..rows * stride).map(|_| AtomicU64::new(0)).collect(),
            dim,
            stride,
        }
    }

    /// Row width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.stride).unwrap_or(0)
    }

    /// Copies row `row` into `out`.
    #[inline]
    pub fn load(&self, row: usize, out: &mut Row) {
        let cells = &self.data[row * self.stride..(row + 1) * self.stride];
        for (o, c) in out.0.iter_mut().zip(cells) {
            *o = c.load(Ordering::Relaxed);
        }
    }

    /// Writes `values` into row `row`.
    #[inline]
    pub fn store(&self, row: usize, values: &Row) {
        let cells = &self.data[row * self.stride..(row + 1) * self.stride];
        for (c, v) in cells.iter().zip(&values.0) {
            c.store(*v, Ordering::Relaxed);
        }
    }

    /// Reads one value from each 64-byte cache line of row `row` and returns them combined,
    /// so that the caller can start the memory loads of the next step's rows before working
    /// through the current step: random output rows of a large vocabulary miss the cache,
    /// and waiting for each miss in turn was the largest single cost (measured with `perf`).
    #[inline]
    pub fn touch(&self, row: usize) -> u64 {
        let cells = &self.data[row * self.stride..(row + 1) * self.stride];
        cells
            .iter()
            .step_by(8)
            .fold(0, |acc, c| acc ^ c.load(Ordering::Relaxed))
    }

    /// All values, row-major, without padding (read once training has finished).
    pub fn to_vec(&self) -> Vec<f32> {
        let words: Vec<u64> = self
            .data
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let floats: Vec<f32> = bytemuck::pod_collect_to_vec(&words);
        floats
            .chunks_exact(self.stride * 2)
            .flat_map(|row| &row[..self.dim])
            .copied()
            .collect()
    }
}
