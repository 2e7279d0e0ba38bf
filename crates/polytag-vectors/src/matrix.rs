//! The shared parameter matrices of word2vec training, updated by several threads at once
//! without locks (Hogwild, Recht et al. 2011), soundly.
//!
//! Values live in `AtomicU64`s, two `f32`s each, read and written with `Relaxed` ordering. A
//! relaxed 64-bit load or store compiles to a plain move on x86-64 and AArch64, so this costs
//! what the racy `float*` of word2vec.c and gensim costs — but it is defined behaviour in Rust
//! (the workspace forbids `unsafe`), and a value read while another thread writes it is one of
//! the two, never torn. Pairs rather than single floats halve the (unvectorisable) atomic
//! moves. Rows are copied into a thread's own buffer, updated there with vectorised loops
//! ([`crate::kernels`]) and stored back; the output rows of negative sampling are read
//! straight from the shared words instead ([`Matrix::dot`], [`Matrix::ns_update`]), with the
//! same arithmetic. Two threads that update the same row at the same instant lose one of
//! the two updates, which is the Hogwild trade-off (rare for a vocabulary
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

    /// The negative-sampling update of output row `row`: `neu1e` gains `g`·row (the row as
    /// it was) and the row gains `g`·`h`, each element's arithmetic being that of two `axpy`s
    /// on a loaded copy. The old values are read from the shared words and the new ones
    /// written to `new`, then stored: without a copy of the old row first, an output row
    /// takes half the stores it took, and stores were what a step queued on (`perf`). (Built
    /// in registers and stored word by word directly, the new values compiled to scalar
    /// code.)
    #[inline]
    pub fn ns_update(&self, row: usize, g: f32, h: &[f32], neu1e: &mut [f32], new: &mut Row) {
        let cells = &self.data[row * self.stride..(row + 1) * self.stride];
        let h = &h[..2 * self.stride];
        let neu1e = &mut neu1e[..2 * self.stride];
        let out = &mut new.floats_mut()[..2 * self.stride];
        let split = self.stride / 4 * 4;
        let (cells_main, cells_rest) = cells.split_at(split);
        let (h, h_rest) = h.split_at(2 * split);
        let (neu1e, neu1e_rest) = neu1e.split_at_mut(2 * split);
        let (out, out_rest) = out.split_at_mut(2 * split);
        for (((c, h), e), o) in cells_main
            .chunks_exact(4)
            .zip(h.chunks_exact(8))
            .zip(neu1e.chunks_exact_mut(8))
            .zip(out.chunks_exact_mut(8))
        {
            let mut w = [0u64; 4];
            for k in 0..4 {
                w[k] = c[k].load(Ordering::Relaxed);
            }
            let old: [f32; 8] = bytemuck::cast(w);
            for k in 0..8 {
                e[k] += g * old[k];
                o[k] = old[k] + g * h[k];
            }
        }
        for (((c, h), e), o) in cells_rest
            .iter()
            .zip(h_rest.chunks_exact(2))
            .zip(neu1e_rest.chunks_exact_mut(2))
            .zip(out_rest.chunks_exact_mut(2))
        {
            let old: [f32; 2] = bytemuck::cast(c.load(Ordering::Relaxed));
            for k in 0..2 {
                e[k] += g * old[k];
                o[k] = old[k] + g * h[k];
            }
        }
        self.store(row, new);
    }

    /// `h`·row `row`, computed as [`crate::kernels::dot`] computes it (same lanes, same order
    /// of additions), reading the shared words directly.
    #[inline]
    pub fn dot(&self, row: usize, h: &[f32]) -> f32 {
        let cells = &self.data[row * self.stride..(row + 1) * self.stride];
        let h = &h[..2 * self.stride];
        let split = self.stride / 4 * 4;
        let (cells, cells_rest) = cells.split_at(split);
        let (h, h_rest) = h.split_at(2 * split);
        let mut acc = [0.0f32; 8];
        for (c, h) in cells.chunks_exact(4).zip(h.chunks_exact(8)) {
            let mut w = [0u64; 4];
            for k in 0..4 {
                w[k] = c[k].load(Ordering::Relaxed);
            }
            let x: [f32; 8] = bytemuck::cast(w);
            for k in 0..8 {
                acc[k] += h[k] * x[k];
            }
        }
        let mut rest = [0.0f32; 6];
        for (c, r) in cells_rest.iter().zip(rest.chunks_exact_mut(2)) {
            r.copy_from_slice(&bytemuck::cast::<u64, [f32; 2]>(c.load(Ordering::Relaxed)));
        }
        let mut sum = h_rest.iter().zip(&rest).map(|(x, y)| x * y).sum::<f32>();
        for a in acc {
            sum += a;
        }
        sum
    }

    /// Writes `values` into row `row`.
    #[inline]
    pub fn store(&self, row: usize, values: &Row) {
        let cells = &self.data[row * self.stride..(row + 1) * self.stride];
        for (c, v) in cells.iter().zip(&values.0) {
            c.store(*v, Ordering::Relaxed);
        }
    }

    /// Asks the CPU to fetch row `row` into the cache, so that the caller can start the
    /// memory loads of the next steps' rows before working through the current step: random
    /// output rows of a large vocabulary miss the cache, and waiting for each miss in turn was
    /// the largest single cost (measured with `perf`).
    ///
    /// On x86-64 this issues one `prefetcht0` per 64-byte cache line of the row (through
    /// `safe_arch`'s safe wrapper; a prefetch never faults and changes no value). An earlier
    /// version read one value per line instead: such a load must complete before the
    /// instructions after it retire, so the core stalled on the very misses it meant to hide
    /// (30 % of a training step, `perf`); a prefetch retires at once. Elsewhere it still
    /// reads one value per line.
    #[inline]
    pub fn prefetch(&self, row: usize) {
        let cells = &self.data[row * self.stride..(row + 1) * self.stride];
        #[cfg(target_arch = "x86_64")]
        {
            // 8 cells are one line; the last cell's line as well, for a row that does not
            // start on a line boundary.
            for c in cells.iter().step_by(8) {
                safe_arch::prefetch_t0(c);
            }
            if let Some(last) = cells.last() {
                safe_arch::prefetch_t0(last);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        std::hint::black_box(
            cells
                .iter()
                .step_by(8)
                .fold(0, |acc, c| acc ^ c.load(Ordering::Relaxed)),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{axpy, dot};

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// The fused row operations give bit for bit what a loaded copy and `dot` / `axpy` give,
    /// for widths with and without whole chunks of 8 and with a padding float.
    #[test]
    fn fused_row_ops_match_copy_dot_and_axpy_exactly() {
        for dim in [1, 5, 8, 13, 16, 19, 100] {
            let m = Matrix::from_values(&values(3 * dim, 1), dim);
            let mut h = Row::new(dim);
            h.floats_mut()[..dim].copy_from_slice(&values(dim, 2));
            let mut copy = Row::new(dim);
            m.load(1, &mut copy);
            let expected_dot = dot(h.floats(), copy.floats());
            assert_eq!(
                m.dot(1, h.floats()).to_bits(),
                expected_dot.to_bits(),
                "dim {dim}"
            );

            let g = -0.37f32;
            let mut neu1e = Row::new(dim);
            neu1e.floats_mut()[..dim].copy_from_slice(&values(dim, 3));
            let mut expected_neu1e = neu1e.clone();
            axpy(g, copy.floats(), expected_neu1e.floats_mut());
            let mut expected_row = copy.clone();
            axpy(g, h.floats(), expected_row.floats_mut());
            let before = m.to_vec();
            m.ns_update(1, g, h.floats(), neu1e.floats_mut(), &mut Row::new(dim));
            let after = m.to_vec();
            assert_eq!(neu1e.floats(), expected_neu1e.floats(), "dim {dim}");
            assert_eq!(
                &after[dim..2 * dim],
                &expected_row.floats()[..dim],
                "dim {dim}"
            );
            // Other rows untouched, and the padding float stays zero.
            assert_eq!(before[..dim], after[..dim]);
            assert_eq!(before[2 * dim..], after[2 * dim..]);
            m.load(1, &mut copy);
            assert!(copy.floats()[dim..].iter().all(|&x| x == 0.0));
        }
    }
}
