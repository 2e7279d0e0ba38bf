//! The masked recurrence for inference on the CPU ([`super::Path::Host`]), every cell: the
//! same stack as `Recurrent`'s tensor path, with the gates, state update, masking and
//! output placement in one fused loop over plain `f32` slices.
//!
//! Work the tensor path does and this one skips, without changing any result:
//! - the input projection of padding and of repeated input vectors: the first layer's rows
//!   are deduplicated ([`distinct_rows`], bitwise) before `x·W_ih`, so a batch's padding
//!   rows and repeated words (`the`, `,`: about half the tokens of a CoNLL batch) are
//!   projected once; a deeper layer's input (the layer below's outputs, never repeated) is
//!   only packed to its real tokens ([`token_rows`]), as hashing its rows found nothing to
//!   share and cost 10–20 % of a 3-layer stack's decoding (`perf`, seed 003);
//! - `h·W_hh` of rows that do not move at a step (padding, where the state is carried): only
//!   the rows of real tokens go into each step's matmul ([`Weight::times_into`]).
//!
//! Per step the tensor path also issues ~20 element-wise burn ops on `[2B, 4H]`, and stacks,
//! flips and concatenates the outputs afterwards; here the outputs are written straight into
//! their `[B, T, dirs·H]` places.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::directions::{self, Outputs};
use super::lstm::lstm_cell;
use super::math::{sigmoid, tanh};
use super::matmul::{Rows, Weight};
use super::simd::{vectorized, Kernel};
use crate::rnn::{Cell, CellExt};

/// One direction of a layer, on the host.
pub(crate) struct Direction<'a> {
    /// `[U, G·H]`: the input projections `x·W_ih + b` of the distinct input rows.
    pub(crate) xw: &'a [f32],
    /// `[H, G·H]`: the recurrent weight.
    pub(crate) w_hh: Weight,
    /// `[G·H]`: the recurrent bias (the GRU's, inside r·(…)); zeros for the other cells.
    pub(crate) b_hh: &'a [f32],
}

/// A layer's input, on the host.
pub(crate) struct Layer<'a> {
    /// The cell.
    pub(crate) cell: Cell,
    /// Forward direction first.
    pub(crate) dirs: &'a [Direction<'a>],
    /// For each `b·T + t`, the row of `xw` holding its projection ([`distinct_rows`],
    /// [`token_rows`]; read only where `mask` is 1).
    pub(crate) xw_rows: &'a [usize],
    /// `[B, T]`, 1.0 = token (right padding).
    pub(crate) mask: &'a [f32],
    /// B
    pub(crate) batch: usize,
    /// T
    pub(crate) max_len: usize,
    /// H
    pub(crate) d_hidden: usize,
}

/// Runs one layer: outputs `[B, T, dirs·H]` (if `keep`) and the final states `[B, dirs·H]`
/// (forward first), row-major.
pub(crate) fn layer(layer: &Layer<'_>, keep: bool) -> (Option<Vec<f32>>, Vec<f32>) {
    let (b, t, d) = (layer.batch, layer.max_len, layer.d_hidden);
    let nd = layer.dirs.len();
    // each direction its own state `[B, H]` and outputs `[B, T, H]`; the two directions of a
    // layer are independent and run in parallel ([`directions::each_direction`])
    let mut states: Vec<Vec<f32>> = (0..nd).map(|_| vec![0.0f32; b * d]).collect();
    let jobs: Vec<(usize, &mut Vec<f32>)> = states.iter_mut().enumerate().collect();
    let out = if keep {
        Some(directions::with_outputs(jobs, b * t, d, |(dir, h), out| {
            direction(layer, dir, h, Some(out))
        }))
    } else {
        directions::each_direction(jobs, |(dir, h)| direction(layer, dir, h, None));
        None
    };
    let mut last = Vec::with_capacity(b * nd * d);
    for bi in 0..b {
        for h in &states {
            last.extend_from_slice(&h[bi * d..(bi + 1) * d]);
        }
    }
    (out, last)
}

/// The recurrence of direction `dir` of `layer`: its final state `h` `[B, H]` and, if
/// given, its outputs `out` `[B, T, H]`.
fn direction(layer: &Layer<'_>, dir: usize, h: &mut [f32], mut out: Option<&mut Outputs<'_>>) {
    let (b, t, d) = (layer.batch, layer.max_len, layer.d_hidden);
    let direction = &layer.dirs[dir];
    let mut c = vec![0.0f32; if layer.cell == Cell::Lstm { b * d } else { 0 }];
    let mut active: Vec<usize> = Vec::with_capacity(b);
    let mut gathered: Vec<f32> = Vec::with_capacity(b * d);
    let mut product = Vec::new();
    for s in 0..t {
        // the backward direction reads the sentence right to left: step s is position
        // T−1−s, and a right-padded sentence's pads come first (the state stays zero
        // through them)
        let time = if dir == 0 { s } else { t - 1 - s };
        // rows with a real token at `time`; the others carry their state unchanged and
        // output zero
        active.clear();
        active.extend((0..b).filter(|&bi| layer.mask[bi * t + time] != 0.0));
        if active.is_empty() {
            continue;
        }
        gathered.clear();
        for &bi in &active {
            gathered.extend_from_slice(&h[bi * d..(bi + 1) * d]);
        }
        // [n, H] · [H, G] → [n, G]
        let hw = direction
            .w_hh
            .times_into(&gathered, active.len(), &mut product);
        vectorized(Step {
            cell: layer.cell,
            active: &active,
            xw_rows: layer.xw_rows,
            xw: direction.xw,
            hw,
            b_hh: direction.b_hh,
            h: &mut *h,
            c: &mut c,
            out: out.as_deref_mut(),
            t,
            time,
        });
    }
}

/// The distinct rows of `x` (`width` values each, compared bitwise) at real tokens (`mask`
/// `[B·T]` 1.0) in order of first appearance, followed by one zero row if there is padding;
/// and for each row of `x` the index of its distinct row (the zero row for padding, as in
/// [`token_rows`]: padding is not hashed, and in a decoding batch in file order it is most
/// of the rows).
pub(crate) fn distinct_rows(x: &[f32], width: usize, mask: &[f32]) -> (Vec<f32>, Vec<usize>) {
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
            // a prefix tells model activations apart as well as the whole row does, at a
            // fraction of the cost (the hash is one serial chain); equality compares all
            self.0[..self.0.len().min(HASHED_PREFIX)]
                .iter()
                .for_each(|v| state.write_u32(v.to_bits()));
        }
    }
    let mut index: HashMap<Row<'_>, usize, BuildHasherDefault<FxHasher>> = HashMap::default();
    let mut unique = Vec::new();
    let mut padded = false;
    let mut rows: Vec<usize> = x
        .chunks_exact(width)
        .zip(mask)
        .map(|(row, &m)| {
            if m == 0.0 {
                padded = true;
                return usize::MAX;
            }
            let next = index.len();
            *index.entry(Row(row)).or_insert_with(|| {
                unique.extend_from_slice(row);
                next
            })
        })
        .collect();
    if padded {
        let zero = index.len();
        unique.resize((zero + 1) * width, 0.0);
        rows.iter_mut()
            .filter(|r| **r == usize::MAX)
            .for_each(|r| *r = zero);
    }
    (unique, rows)
}

/// How many leading values of a row [`distinct_rows`] hashes.
const HASHED_PREFIX: usize = 16;

/// The rows of `x` (`width` values each) at real tokens (`mask` `[B·T]` 1.0), packed in
/// order, followed by one zero row if there is padding; and for each row of `x` the index of
/// its packed row (the zero row for padding, whose projection the recurrence never reads).
pub(crate) fn token_rows(x: &[f32], width: usize, mask: &[f32]) -> (Vec<f32>, Vec<usize>) {
    // padding maps to the row after the tokens'
    let tokens = mask.iter().filter(|&&m| m != 0.0).count();
    let mut packed = Vec::with_capacity((tokens + 1) * width);
    let mut next = 0;
    let rows = x
        .chunks_exact(width)
        .zip(mask)
        .map(|(row, &m)| {
            if m == 0.0 {
                return tokens;
            }
            packed.extend_from_slice(row);
            next += 1;
            next - 1
        })
        .collect();
    if tokens < mask.len() {
        packed.resize((tokens + 1) * width, 0.0);
    }
    (packed, rows)
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
/// `xw[xw_rows[bi·T + time]]`, and write it to this direction's `out` `[B, T, H]`.
/// `h`, `c` are this direction's `[B, H]` state (`c` empty except for the LSTM).
struct Step<'a, 'o> {
    cell: Cell,
    active: &'a [usize],
    xw_rows: &'a [usize],
    xw: &'a [f32],
    hw: Rows<'a>,
    b_hh: &'a [f32],
    h: &'a mut [f32],
    c: &'a mut [f32],
    out: Option<&'a mut Outputs<'o>>,
    t: usize,
    time: usize,
}

impl Kernel for Step<'_, '_> {
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
        } = self;
        let g = b_hh.len();
        let d = g / cell.num_gates();
        for (r, &bi) in active.iter().enumerate() {
            let at = xw_rows[bi * t + time] * g;
            let hs = &mut h[bi * d..(bi + 1) * d];
            let cs = c.get_mut(bi * d..(bi + 1) * d).unwrap_or_default();
            cell_step(cell, &xw[at..at + g], hw.row(r), b_hh, hs, cs);
            if let Some(out) = out.as_deref_mut() {
                out.row(bi * t + time).copy_from_slice(hs);
            }
        }
    }
}

/// One row of the tensor path's cell step, in place: `xw`, `hw` are this row's `[G·H]` input
/// and recurrent projections, `b_hh` the recurrent bias (GRU; zeros otherwise), `h`/`c` its
/// `[H]` state (`c` empty except for the LSTM). Same equations and identities as the tensor
/// path (tanh(g) = 2σ(2g) − 1).
#[inline(always)]
fn cell_step(cell: Cell, xw: &[f32], hw: &[f32], b_hh: &[f32], h: &mut [f32], c: &mut [f32]) {
    let d = h.len();
    match cell {
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
                let pre = [xi[j] + hi[j], xf[j] + hf[j], xg[j] + hg[j], xo[j] + ho[j]];
                let unit = lstm_cell(pre, c[j]);
                c[j] = unit.c;
                h[j] = unit.h;
            }
        }
        Cell::Gru => {
            let (xr, xz, xn) = (&xw[..d], &xw[d..2 * d], &xw[2 * d..3 * d]);
            let (hr, hz, hn) = (&hw[..d], &hw[d..2 * d], &hw[2 * d..3 * d]);
            let (br, bz, bn) = (&b_hh[..d], &b_hh[d..2 * d], &b_hh[2 * d..3 * d]);
            for j in 0..d {
                let r = sigmoid(xr[j] + (hr[j] + br[j]));
                let z = sigmoid(xz[j] + (hz[j] + bz[j]));
                let n = tanh(xn[j] + r * (hn[j] + bn[j]));
                h[j] = n + z * (h[j] - n);
            }
        }
        Cell::Rnn => {
            let (x, hw) = (&xw[..d], &hw[..d]);
            for j in 0..d {
                h[j] = tanh(x[j] + hw[j]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_rows_compares_whole_rows_bitwise() {
        let width = HASHED_PREFIX + 4;
        let row = |tail: f32, head: f32| {
            let mut r = vec![head; HASHED_PREFIX];
            r.extend([1.0, 2.0, 3.0, tail]);
            r
        };
        // rows 0, 2 equal; row 1 differs from them only after the hashed prefix; row 3 only
        // in the sign of zero; row 4 repeats row 1
        let rows = [
            row(4.0, 0.0),
            row(5.0, 0.0),
            row(4.0, 0.0),
            row(4.0, -0.0),
            row(5.0, 0.0),
        ];
        let x: Vec<f32> = rows.concat();
        let (unique, index) = distinct_rows(&x, width, &[1.0; 5]);
        assert_eq!(index, vec![0, 1, 0, 2, 1]);
        assert_eq!(
            unique,
            [row(4.0, 0.0), row(5.0, 0.0), row(4.0, -0.0)].concat()
        );
        // padding (rows 1 and 3 here) is not looked up: it maps to one zero row at the end
        let (unique, index) = distinct_rows(&x, width, &[1.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(index, vec![0, 2, 0, 2, 1]);
        assert_eq!(
            unique,
            [row(4.0, 0.0), row(5.0, 0.0), vec![0.0; width]].concat()
        );
    }

    #[test]
    fn token_rows_packs_real_tokens_and_one_zero_row_for_padding() {
        // B = 2, T = 3, width 2: the second sentence has one token
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mask = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        let (packed, index) = token_rows(&x, 2, &mask);
        assert_eq!(packed, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0, 0.0]);
        assert_eq!(index, vec![0, 1, 2, 3, 4, 4]);
        // without padding, no zero row
        let (packed, index) = token_rows(&x[..6], 2, &[1.0; 3]);
        assert_eq!(packed, x[..6].to_vec());
        assert_eq!(index, vec![0, 1, 2]);
    }
}
