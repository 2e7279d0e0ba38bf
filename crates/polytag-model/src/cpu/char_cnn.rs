//! The char CNN by table lookups: inference on the host and training as one autodiff op.
//!
//! A convolution over embedded chars is linear in the embedding, so each filter offset `j`
//! has a table `Q_j = E · W_j` (`[V, F]`, all filters side by side) and a window's output is
//! `b + Σ_j Q_j[c_{p+j}]`: `k` row additions instead of `d·k` multiply-adds per output (the
//! paper's sizes: 4 rows of 60 instead of 18,000 multiply-adds per window). The component
//! computes the tables with one small matmul per forward, recorded by autodiff like any
//! other op, so the embedding and the kernels get their gradients through it.
//!
//! The max runs over the same windows as the tensor path (window `p` counts iff it ends on a
//! real char, or is the first), and the activation, monotonic for every [`Activation`], is
//! applied once to the maximum: max f(y) = f(max y), and its derivative is f′ at the same
//! window. Padding chars (id 0) are never read, which is what the embedding's padding mask
//! does in the tensor path (row 0 contributes nothing and gets no gradient).

use std::sync::Arc;

use burn::prelude::*;

use super::autodiff::{self, Grad};
use super::math::activate;
use super::simd::{vectorized, Kernel};
use crate::activation::Activation;

/// The words of a batch and the filter layout: what the window max reads besides the tables.
#[derive(Debug)]
pub(crate) struct Words {
    /// `[N, L]` char ids (0 = padding).
    pub(crate) chars: Vec<i64>,
    /// `[N]` word mask (1.0 = real word).
    pub(crate) mask: Vec<f32>,
    /// L
    pub(crate) l: usize,
    /// `(width, count)` per filter, in output order.
    pub(crate) layout: Vec<(usize, usize)>,
}

impl Words {
    fn d_out(&self) -> usize {
        self.layout.iter().map(|&(_, f)| f).sum()
    }
}

/// Inference: each real word's `activation(max over windows)` `[N, F]` from the tables
/// `table` `[V, K·F]` and biases `bias` `[F]` (padded words stay zero).
pub(crate) fn encode(
    table: &[f32],
    bias: &[f32],
    words: &Words,
    activation: Activation,
) -> Vec<f32> {
    let mut out = vec![0.0f32; words.mask.len() * words.d_out()];
    vectorized(Encode {
        windows: &Windows::new(table, bias, &words.layout),
        chars: &words.chars,
        l: words.l,
        mask: &words.mask,
        out: &mut out,
        argmax: None,
        activation: Some(activation),
    });
    out
}

/// Training: the pre-activation window max `[N, F]` as one recorded op on `table`
/// `[V, K·F]` and `bias` `[F]`; `None` where the op does not apply.
pub(crate) fn train(table: Tensor<2>, bias: Tensor<1>, words: Arc<Words>) -> Option<Tensor<2>> {
    let [v, row_len] = table.dims();
    let table = autodiff::input(table)?;
    let bias = autodiff::input(bias)?;
    let n = words.mask.len();
    let d_out = words.d_out();
    let mut out = vec![0.0f32; n * d_out];
    let mut argmax = vec![u32::MAX; n * d_out];
    {
        let (table_v, bias_v) = (table.values()?, bias.values()?);
        if bias_v.len() != d_out || table_v.len() != v * row_len || words.chars.len() != n * words.l
        {
            return None;
        }
        vectorized(Encode {
            windows: &Windows::new(&table_v, &bias_v, &words.layout),
            chars: &words.chars,
            l: words.l,
            mask: &words.mask,
            out: &mut out,
            argmax: Some(&mut argmax),
            activation: None,
        });
    }
    let state = WindowMaxBackward {
        words,
        argmax: Arc::new(argmax),
        table_dims: [v, row_len],
    };
    Some(autodiff::record([table, bias], state, out, [n, d_out]))
}

/// The lookup tables and the filter layout.
struct Windows<'a> {
    /// `[V, K·F]`
    table: &'a [f32],
    /// `[F]`
    bias: &'a [f32],
    /// `(width, count)` per filter, in output order.
    layout: &'a [(usize, usize)],
    d_out: usize,
    /// `K·F`
    row_len: usize,
}

impl<'a> Windows<'a> {
    fn new(table: &'a [f32], bias: &'a [f32], layout: &'a [(usize, usize)]) -> Self {
        let d_out = bias.len();
        let widest = layout.iter().map(|&(k, _)| k).max().unwrap_or(1).max(1);
        Windows {
            table,
            bias,
            layout,
            d_out,
            row_len: widest * d_out,
        }
    }

    /// Offset of `Q_j[c]` in the table; None for padding (id 0: it adds zero) and for ids
    /// past the table (the char vocabulary sized it, so none occur).
    #[inline(always)]
    fn row_start(&self, c: i64, j: usize) -> Option<usize> {
        let c = usize::try_from(c).ok().filter(|&c| c > 0)?;
        let start = c * self.row_len + j * self.d_out;
        (start + self.d_out <= self.table.len()).then_some(start)
    }
}

/// Encodes every word of `chars` (`L` ids per word) whose `mask` is set: the max over its
/// windows per output channel, `activation` applied if given, into `out` `[N, F]`; with
/// `argmax`, the winning window per channel (padded words keep zero and `u32::MAX`).
struct Encode<'a> {
    windows: &'a Windows<'a>,
    chars: &'a [i64],
    l: usize,
    mask: &'a [f32],
    out: &'a mut [f32],
    argmax: Option<&'a mut [u32]>,
    activation: Option<Activation>,
}

impl Kernel for Encode<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Encode {
            windows: w,
            chars,
            l,
            mask,
            out,
            mut argmax,
            activation,
        } = self;
        let d_out = w.d_out;
        let mut acc = vec![0.0f32; d_out];
        let mut best = vec![0.0f32; d_out];
        let mut best_at = vec![0u32; d_out];
        for (n, word) in chars.chunks_exact(l.max(1)).enumerate() {
            if mask.get(n).is_none_or(|&m| m == 0.0) {
                continue;
            }
            let mut from = 0;
            for &(k, f) in w.layout {
                let range = from..from + f;
                from += f;
                let best = &mut best[range.clone()];
                let best_at = &mut best_at[range.clone()];
                best.fill(f32::NEG_INFINITY);
                // windows p = 0..=L−k (only 0 if the word is narrower than k)
                for p in 0..=l.saturating_sub(k) {
                    if p > 0 && word.get(p + k - 1).is_none_or(|&c| c == 0) {
                        continue;
                    }
                    let acc = &mut acc[range.clone()];
                    acc.copy_from_slice(&w.bias[range.clone()]);
                    for j in 0..k {
                        let Some(start) = word.get(p + j).and_then(|&c| w.row_start(c, j)) else {
                            continue;
                        };
                        let row = &w.table[start + range.start..start + range.end];
                        for (a, v) in acc.iter_mut().zip(row) {
                            *a += v;
                        }
                    }
                    for ((m, at), a) in best.iter_mut().zip(best_at.iter_mut()).zip(acc.iter()) {
                        if *a > *m {
                            *m = *a;
                            *at = p as u32;
                        }
                    }
                }
            }
            let o = &mut out[n * d_out..(n + 1) * d_out];
            match activation {
                Some(act) => o
                    .iter_mut()
                    .zip(&best)
                    .for_each(|(o, &m)| *o = activate(act, m)),
                None => o.copy_from_slice(&best),
            }
            if let Some(arg) = argmax.as_deref_mut() {
                arg[n * d_out..(n + 1) * d_out].copy_from_slice(&best_at);
            }
        }
    }
}

/// The op's backward state: the words, each output's winning window, the table's shape.
#[derive(Clone, Debug)]
struct WindowMaxBackward {
    words: Arc<Words>,
    argmax: Arc<Vec<u32>>,
    table_dims: [usize; 2],
}

impl autodiff::Backward<2> for WindowMaxBackward {
    /// Each output is one window's `b + Σ_j Q_j[c_{p+j}]`: its gradient goes to the bias and
    /// to the table rows of that window's chars (none for padding chars).
    fn backward(self, grad: &[f32]) -> [Grad; 2] {
        let [v, row_len] = self.table_dims;
        let words = &self.words;
        let d_out = words.d_out();
        let mut d_table = vec![0.0f32; v * row_len];
        let mut d_bias = vec![0.0f32; d_out];
        let l = words.l;
        for (n, word) in words.chars.chunks_exact(l.max(1)).enumerate() {
            let at = &self.argmax[n * d_out..(n + 1) * d_out];
            let g = &grad[n * d_out..(n + 1) * d_out];
            let mut o = 0;
            for &(k, f) in &words.layout {
                for _ in 0..f {
                    let p = at[o] as usize;
                    if at[o] != u32::MAX {
                        d_bias[o] += g[o];
                        for j in 0..k {
                            let c = word.get(p + j).copied().unwrap_or(0);
                            if let Ok(c @ 1..) = usize::try_from(c) {
                                if let Some(cell) = d_table.get_mut(c * row_len + j * d_out + o) {
                                    *cell += g[o];
                                }
                            }
                        }
                    }
                    o += 1;
                }
            }
        }
        [
            Grad::new(d_table, &[v, row_len]),
            Grad::new(d_bias, &[d_out]),
        ]
    }
}
