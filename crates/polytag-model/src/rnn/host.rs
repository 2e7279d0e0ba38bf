//! The recurrence on the host, for inference on the CPU ([`crate::host`]): the same masked
//! stack as [`Recurrent::run_tensor`], with the matmuls as burn ops and everything else
//! (gates, state update, masking, output placement) in one fused loop over plain `f32`
//! slices.
//!
//! Work the tensor path does and this one skips, without changing any result:
//! - the input projection of repeated input vectors: rows of `x` are deduplicated (bitwise)
//!   before `x·W_ih`, so a batch's padding rows (all zero) and repeated words (`the`, `,`:
//!   about half the tokens of a CoNLL batch) are projected once;
//! - `h·W_hh` of rows that do not move at a step (padding, where the state is carried): only
//!   the rows of real tokens go into each step's matmul.
//!
//! Per step the tensor path also issues ~20 element-wise burn ops on `[2B, 4H]`, and stacks,
//! flips and concatenates the outputs afterwards; here the outputs are written straight into
//! their `[B, T, dirs·H]` places.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use burn::prelude::*;

use super::{Cell, CellWeights, Recurrent, RecurrentLayer};
use crate::host;

impl Recurrent {
    /// [`Recurrent::run_tensor`] on the host. Dropout between layers is skipped: on a
    /// non-autodiff device burn's dropout is the identity anyway.
    pub(super) fn run_host(
        &self,
        x: Tensor<3>,
        mask: Tensor<2>,
        keep_last_outputs: bool,
    ) -> (Tensor<3>, Tensor<2>) {
        let [b, t, _] = x.dims();
        let device = x.device();
        let mask = host::read(mask);
        let d_out = self.d_output();
        let mut input = x;
        let mut last = vec![0.0; b * d_out];
        let n = self.layers.len();
        for (li, layer) in self.layers.iter().enumerate() {
            let keep = li + 1 < n || keep_last_outputs;
            let (out, fin) = self.layer_host(layer, input.clone(), &mask, keep);
            last = fin;
            if let Some(out) = out {
                input = host::tensor(out, [b, t, d_out], &device);
            }
        }
        (input, host::tensor(last, [b, d_out], &device))
    }

    /// One layer over `x` `[B, T, D]` with the `[B, T]` mask: outputs `[B, T, dirs·H]` (if
    /// `keep`) and the final states `[B, dirs·H]` (forward first), row-major.
    fn layer_host(
        &self,
        layer: &RecurrentLayer,
        x: Tensor<3>,
        mask: &[f32],
        keep: bool,
    ) -> (Option<Vec<f32>>, Vec<f32>) {
        let [b, t, d_in] = x.dims();
        let device = x.device();
        let d = self.d_hidden;
        let g = self.cell.num_gates() * d;
        let dirs: Vec<&CellWeights> = std::iter::once(&layer.forward)
            .chain(&layer.backward)
            .collect();
        let nd = dirs.len();
        // input projections of the distinct rows of x, [U, G] per direction
        let (unique, rows) = distinct_rows(&host::read(x), d_in.max(1));
        let num_unique = unique.len() / d_in.max(1);
        let unique = host::tensor(unique, [num_unique, d_in], &device);
        let xw: Vec<host::Values> = dirs
            .iter()
            .map(|w| host::read(w.x2h.forward(unique.clone())))
            .collect();
        let w_hh: Vec<Tensor<2>> = dirs.iter().map(|w| w.h2h.weight.val()).collect();
        // the GRU's b_hh (inside r·(…)); the other cells have none
        let mut b_hh = Vec::with_capacity(nd * g);
        for w in &dirs {
            match &w.h2h.bias {
                Some(p) => b_hh.extend_from_slice(&host::read(p.val())),
                None => b_hh.resize(b_hh.len() + g, 0.0),
            }
        }
        let mut h = vec![0.0f32; nd * b * d];
        let mut c = vec![
            0.0f32;
            if self.cell == Cell::Lstm {
                nd * b * d
            } else {
                0
            }
        ];
        let mut out = vec![0.0f32; if keep { b * t * nd * d } else { 0 }];
        let xw_rows: Vec<&[f32]> = xw.iter().map(|v| &**v).collect();
        let mut active: Vec<usize> = Vec::with_capacity(b);
        let mut gathered: Vec<f32> = Vec::with_capacity(b * d);
        for s in 0..t {
            for (k, w) in w_hh.iter().enumerate() {
                // the backward direction reads the sentence right to left: step s is position
                // T−1−s, and a right-padded sentence's pads come first (the state stays zero
                // through them)
                let time = if k == 0 { s } else { t - 1 - s };
                // rows with a real token at `time`; the others carry their state unchanged
                // and output zero
                active.clear();
                active.extend((0..b).filter(|&bi| mask[bi * t + time] != 0.0));
                if active.is_empty() {
                    continue;
                }
                gathered.clear();
                for &bi in &active {
                    let row = k * b + bi;
                    gathered.extend_from_slice(&h[row * d..(row + 1) * d]);
                }
                let n = active.len();
                // [n, H] · [H, G] → [n, G]
                let hw =
                    host::read(host::tensor(gathered.clone(), [n, d], &device).matmul(w.clone()));
                host::vectorized(Step {
                    cell: self.cell,
                    active: &active,
                    xw_rows: &rows[..],
                    xw: xw_rows[k],
                    hw: &hw,
                    b_hh: &b_hh[k * g..(k + 1) * g],
                    h: &mut h[k * b * d..(k + 1) * b * d],
                    c: c.get_mut(k * b * d..(k + 1) * b * d).unwrap_or_default(),
                    out: keep.then_some(out.as_mut_slice()),
                    t,
                    time,
                    dir: k,
                    nd,
                });
            }
        }
        let mut last = Vec::with_capacity(b * nd * d);
        for bi in 0..b {
            for k in 0..nd {
                last.extend_from_slice(&h[(k * b + bi) * d..(k * b + bi + 1) * d]);
            }
        }
        (keep.then_some(out), last)
    }
}

/// The distinct rows of `x` (`width` values each, compared bitwise) in order of first
/// appearance, and for each row of `x` the index of its distinct row.
fn distinct_rows(x: &[f32], width: usize) -> (Vec<f32>, Vec<usize>) {
    struct Row<'a>(&'a [f32]);
    impl Eq for Row<'_> {}
    impl PartialEq for Row<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.0
                .iter()
                .map(|v| v.to_bits())
                .eq(other.0.iter().map(|v| v.to_bits()))
        }
    }
    impl Hash for Row<'_> {
        fn hash<H: Hasher>(&self, state: &mut H) {
            self.0.iter().for_each(|v| state.write_u32(v.to_bits()));
        }
    }
    let mut index: HashMap<Row<'_>, usize, BuildHasherDefault<FxHasher>> = HashMap::default();
    let mut unique = Vec::new();
    let rows = x
        .chunks_exact(width)
        .map(|row| {
            let next = index.len();
            *index.entry(Row(row)).or_insert_with(|| {
                unique.extend_from_slice(row);
                next
            })
        })
        .collect();
    (unique, rows)
}

/// The multiply–rotate hash of rustc's `FxHasher`: hashing rows of floats is on the decode
/// path, and std's SipHash costs several times more per word. Not DoS-resistant, which does
/// not matter for a per-batch table of model activations.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.write_u32(u32::from(b)));
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        self.0 = (self.0.rotate_left(5) ^ u64::from(v)).wrapping_mul(K);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// One direction's step: the rows in `active` (a real token at `time`) update their state
/// from `hw` (`h·W_hh` of the active rows, in `active` order) and their input projection
/// `xw[xw_rows[bi·T + time]]`, and write it to `out` `[B, T, nd·H]` at direction `dir`.
/// `h`, `c` are this direction's `[B, H]` state (`c` empty except for the LSTM).
struct Step<'a> {
    cell: Cell,
    active: &'a [usize],
    xw_rows: &'a [usize],
    xw: &'a [f32],
    hw: &'a [f32],
    b_hh: &'a [f32],
    h: &'a mut [f32],
    c: &'a mut [f32],
    out: Option<&'a mut [f32]>,
    t: usize,
    time: usize,
    dir: usize,
    nd: usize,
}

impl host::Kernel for Step<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Step {
            cell,
            active,
            xw_rows,
            xw,
            hw,
            b_hh,
            h,
            c,
            mut out,
            t,
            time,
            dir,
            nd,
        } = self;
        let g = b_hh.len();
        let d = g / cell.num_gates();
        for (r, &bi) in active.iter().enumerate() {
            let at = xw_rows[bi * t + time] * g;
            let hs = &mut h[bi * d..(bi + 1) * d];
            let cs = c.get_mut(bi * d..(bi + 1) * d).unwrap_or_default();
            cell.step_host(&xw[at..at + g], &hw[r * g..(r + 1) * g], b_hh, hs, cs);
            if let Some(out) = out.as_deref_mut() {
                let o = ((bi * t + time) * nd + dir) * d;
                out[o..o + d].copy_from_slice(hs);
            }
        }
    }
}

impl Cell {
    /// One unit row of [`Cell::step`] in place: `xw`, `hw` are this row's `[G·H]` input and
    /// recurrent projections, `b_hh` the recurrent bias (GRU; zeros otherwise), `h`/`c` its
    /// `[H]` state (`c` empty except for the LSTM). Same equations and identities as the
    /// tensor path (tanh(g) = 2σ(2g) − 1).
    #[inline(always)]
    fn step_host(self, xw: &[f32], hw: &[f32], b_hh: &[f32], h: &mut [f32], c: &mut [f32]) {
        let d = h.len();
        match self {
            Cell::Lstm => {
                let (xi, xf, xg, xo) = (
                    &xw[..d],
                    &xw[d..2 * d],
                    &xw[2 * d..3 * d],
                    &xw[3 * d..4 * d],
                );
                let (hi, hf, hg, ho) = (
                    &hw[..d],
                    &hw[d..2 * d],
                    &hw[2 * d..3 * d],
                    &hw[3 * d..4 * d],
                );
                let c = &mut c[..d];
                for j in 0..d {
                    let i = host::sigmoid(xi[j] + hi[j]);
                    let f = host::sigmoid(xf[j] + hf[j]);
                    let g = host::tanh(xg[j] + hg[j]);
                    let o = host::sigmoid(xo[j] + ho[j]);
                    let c_new = f * c[j] + i * g;
                    c[j] = c_new;
                    h[j] = o * host::tanh(c_new);
                }
            }
            Cell::Gru => {
                let (xr, xz, xn) = (&xw[..d], &xw[d..2 * d], &xw[2 * d..3 * d]);
                let (hr, hz, hn) = (&hw[..d], &hw[d..2 * d], &hw[2 * d..3 * d]);
                let (br, bz, bn) = (&b_hh[..d], &b_hh[d..2 * d], &b_hh[2 * d..3 * d]);
                for j in 0..d {
                    let r = host::sigmoid(xr[j] + (hr[j] + br[j]));
                    let z = host::sigmoid(xz[j] + (hz[j] + bz[j]));
                    let n = host::tanh(xn[j] + r * (hn[j] + bn[j]));
                    h[j] = n + z * (h[j] - n);
                }
            }
            Cell::Rnn => {
                let (x, hw) = (&xw[..d], &hw[..d]);
                for j in 0..d {
                    h[j] = host::tanh(x[j] + hw[j]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::RecurrentConfig;
    use super::*;
    use crate::sequence::length_mask;
    use crate::test_support::RNG;
    use burn::tensor::Distribution;

    /// Every cell, uni- and bidirectional, one and two layers, ragged lengths: the host path
    /// gives the tensor path's outputs and final states (up to f32 rounding of the exp).
    #[test]
    fn host_path_matches_tensor_path() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        device.seed(11);
        let lengths = [5usize, 2, 6, 1];
        let x = Tensor::<3>::random([4, 6, 5], Distribution::Normal(0.0, 1.0), &device);
        let mask = length_mask(&lengths, 6, &device);
        for cell in [Cell::Lstm, Cell::Gru, Cell::Rnn] {
            for bidirectional in [false, true] {
                for layers in [1, 2] {
                    let rnn = RecurrentConfig::new(5, 7, cell)
                        .with_bidirectional(bidirectional)
                        .with_num_layers(layers)
                        .init(&device);
                    let (out_t, fin_t) = rnn.run_tensor(x.clone(), mask.clone(), true);
                    let (out_h, fin_h) = rnn.run_host(x.clone(), mask.clone(), true);
                    assert_eq!(out_t.dims(), out_h.dims());
                    let diff = (out_t - out_h).abs().max().into_scalar::<f32>();
                    let fdiff = (fin_t - fin_h).abs().max().into_scalar::<f32>();
                    assert!(
                        diff < 2e-6 && fdiff < 2e-6,
                        "{cell:?} bi={bidirectional} l={layers}: {diff} {fdiff}"
                    );
                    // the public entry points take the host path on the plain CPU device
                    let fin = rnn.final_states(x.clone(), mask.clone());
                    let (_, fin_h) = rnn.run_host(x.clone(), mask.clone(), false);
                    assert_eq!(fin.to_data(), fin_h.to_data());
                }
            }
        }
    }

    /// The host path is what the plain CPU device runs: padding a batch must not change it.
    #[test]
    fn host_path_ignores_padding() {
        let device = Device::flex();
        let rnn = RecurrentConfig::new(3, 4, Cell::Lstm).init(&device);
        let x = Tensor::<3>::ones([1, 5, 3], &device);
        let padded = rnn.forward(x.clone(), length_mask(&[3], 5, &device));
        let alone = rnn.forward(x.slice(s![.., 0..3]), Tensor::ones([1, 3], &device));
        let diff = (padded.clone().slice(s![.., 0..3]) - alone).abs().max();
        assert!(diff.into_scalar::<f32>() < 1e-6);
        let pad = padded.slice(s![.., 3..5]).abs().sum().into_scalar::<f32>();
        assert_eq!(pad, 0.0);
    }
}
