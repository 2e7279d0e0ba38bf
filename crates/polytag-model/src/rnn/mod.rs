//! The `lstm`, `gru` and `rnn` components: ONE masked recurrence with three cells.
//!
//! - Padding never enters the recurrence in either direction: at a padded step the state is
//!   carried unchanged and the output is zero, so the forward direction stops at each
//!   sentence's last real token and the backward direction starts there (state zero through
//!   the trailing padding). This is what the paper gets from packed sequences (seed-systems
//!   A.1 step 5) and what burn's built-in RNNs do not do (burn-0.22-notes §4).
//! - The input projection of all time steps is one matmul (`x2h`, fused gates `[T·B, G·H]`);
//!   per step only `h·W_hh` is computed. The projection is split into steps by recursive
//!   halving ([`crate::sequence::time_steps`]) to keep the backward pass O(T log T).
//! - Several layers, uni- or bidirectional, dropout between layers (as PyTorch's `dropout`);
//!   the two directions of a layer share one time loop (the backward one time-reversed).
//! - On the CPU the same recurrence runs as fused loops (`cpu`): `cpu::rnn` for
//!   inference (any cell), `cpu::lstm` for training the LSTM and `cpu::gru` for training the
//!   GRU and the simple RNN (one autodiff op per layer, hand-written backward); all skip
//!   padded steps, and are tested against the tensor path here.
//!
//! Gate equations (PyTorch's, so weights can be compared):
//! - LSTM, gates `[i, f, g, o]`: c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')
//! - GRU, gates `[r, z, n]`: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·(W_hn h + b_hn)),
//!   h' = (1 − z)·n + z·h
//! - RNN: h' = tanh(x + h)
//!
//! Initialisation: every weight and bias U(−1/√H, 1/√H) (PyTorch's default). `forget_bias` is
//! added once to the forget-gate slice `[H, 2H)` of the input bias. The paper's old code filled
//! that slice of *both* bias vectors, doubling it (seed-systems A.2 \[QUIRK\]): to reproduce it,
//! pass twice the value.

use std::sync::Arc;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::activation::fast_tanh;
use crate::cpu::{self, io, Path};
use crate::sequence::{step_pads, time_steps};

#[cfg(test)]
mod tests;

/// The recurrent cell of a [`Recurrent`] layer stack: the config's enum (LSTM: 4 gates and a
/// cell state; GRU: 3 gates; Elman RNN with tanh: 1 "gate").
pub use polytag_config::Cell;

/// What the model needs to know about a [`Cell`] (an extension trait: [`Cell`] is the
/// config crate's type).
pub trait CellExt {
    /// Number of `H`-wide slices in the fused projections.
    fn num_gates(self) -> usize;
    /// The config spelling (also the component kind).
    fn name(self) -> &'static str;
}

impl CellExt for Cell {
    fn num_gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            Cell::Rnn => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
            Cell::Rnn => "rnn",
        }
    }
}

/// `[1, G·H]`: 2 on the LSTM's g slice, 1 elsewhere (see [`step`]).
fn gate_scale(cell: Cell, d: usize, device: &Device) -> Tensor<2> {
    let g = cell.num_gates() * d;
    let v: Vec<f32> = (0..g)
        .map(|j| {
            if cell == Cell::Lstm && (2 * d..3 * d).contains(&j) {
                2.0
            } else {
                1.0
            }
        })
        .collect();
    Tensor::from_data(TensorData::new(v, [1, g]), device)
}

/// One step of the cell as burn ops. `xw` is this step's slice of the input projection
/// `[N, G·H]`, `hw` the recurrent projection `h·W_hh (+ b_hh)` `[N, G·H]`, `h`/`c` the
/// previous state `[N, H]` (`c` only for the LSTM), `gate_scale` the LSTM's `[1, 4H]` from
/// [`gate_scale`]. Returns the new state.
fn step(
    cell: Cell,
    xw: Tensor<2>,
    hw: Tensor<2>,
    h: &Tensor<2>,
    c: Option<&Tensor<2>>,
    gate_scale: &Tensor<2>,
    d: usize,
) -> (Tensor<2>, Option<Tensor<2>>) {
    match cell {
        Cell::Lstm => {
            // One sigmoid for all four slices: the g slice was pre-scaled by 2 (`gate_scale`)
            // so that tanh(g) = 2·σ(2g) − 1 comes out of the same pass. Element-wise passes,
            // not matmuls, bound an RNN on CPU (see `fast_tanh`).
            let s = sigmoid((xw + hw) * gate_scale.clone());
            let i = s.clone().narrow(1, 0, d);
            let f = s.clone().narrow(1, d, d);
            let g = s.clone().narrow(1, 2 * d, d) * 2.0 - 1.0;
            let o = s.narrow(1, 3 * d, d);
            let c_prev = c.cloned().unwrap_or_else(|| h.zeros_like());
            let c_new = f * c_prev + i * g;
            let h_new = o * fast_tanh(c_new.clone());
            (h_new, Some(c_new))
        }
        Cell::Gru => {
            let rz = sigmoid(xw.clone().narrow(1, 0, 2 * d) + hw.clone().narrow(1, 0, 2 * d));
            let r = rz.clone().narrow(1, 0, d);
            let z = rz.narrow(1, d, d);
            let n = fast_tanh(xw.narrow(1, 2 * d, d) + r * hw.narrow(1, 2 * d, d));
            // (1 − z)·n + z·h = n + z·(h − n)
            let h_new = n.clone() + z * (h.clone() - n);
            (h_new, None)
        }
        Cell::Rnn => (fast_tanh(xw + hw), None),
    }
}

/// Configuration of a [`Recurrent`] stack.
#[derive(Config, Debug)]
pub struct RecurrentConfig {
    /// Input feature size.
    pub d_input: usize,
    /// Hidden size per direction (`hidden_size`).
    pub d_hidden: usize,
    /// Which cell.
    pub cell: Cell,
    /// Stacked layers.
    #[config(default = 1)]
    pub num_layers: usize,
    /// Run a second, right-to-left direction and concatenate (`[fwd | bwd]`).
    #[config(default = true)]
    pub bidirectional: bool,
    /// Dropout between stacked layers (not after the last; the task's own dropout does that).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Added to the LSTM forget-gate bias at initialisation (LSTM only; the builder rejects a
    /// non-zero value for other cells).
    #[config(default = 0.0)]
    pub forget_bias: f64,
}

/// Fused weights of one direction of one layer.
#[derive(Module, Debug)]
pub struct CellWeights {
    /// `d_in → G·H`, with bias (the only bias for LSTM and RNN).
    pub x2h: Linear,
    /// `H → G·H`; with bias only for the GRU, whose `b_hn` sits inside `r·(…)`.
    pub h2h: Linear,
}

/// One layer: a forward direction and optionally a backward one.
#[derive(Module, Debug)]
pub struct RecurrentLayer {
    /// Left-to-right weights.
    pub forward: CellWeights,
    /// Right-to-left weights (bidirectional only).
    pub backward: Option<CellWeights>,
}

/// A masked multi-layer (bi)directional LSTM / GRU / RNN.
#[derive(Module, Debug)]
pub struct Recurrent {
    /// The layers, input first.
    pub layers: Vec<RecurrentLayer>,
    /// Dropout between layers.
    pub dropout: Dropout,
    #[module(skip)]
    cell: Cell,
    d_hidden: usize,
}

impl RecurrentConfig {
    /// Output size: `d_hidden`, times 2 when bidirectional.
    pub fn d_output(&self) -> usize {
        self.d_hidden * if self.bidirectional { 2 } else { 1 }
    }

    /// Builds the stack (lazy parameters).
    pub fn init(&self, device: &Device) -> Recurrent {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let layers = (0..self.num_layers)
            .map(|l| {
                let d_in = if l == 0 {
                    self.d_input
                } else {
                    dirs * self.d_hidden
                };
                RecurrentLayer {
                    forward: self.init_direction(d_in, device),
                    backward: self
                        .bidirectional
                        .then(|| self.init_direction(d_in, device)),
                }
            })
            .collect();
        Recurrent {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            cell: self.cell,
            d_hidden: self.d_hidden,
        }
    }

    fn init_direction(&self, d_in: usize, device: &Device) -> CellWeights {
        let h = self.d_hidden;
        let g = self.cell.num_gates() * h;
        let k = 1.0 / (h.max(1) as f64).sqrt();
        let init = Initializer::Uniform { min: -k, max: k };
        let mut x2h = LinearConfig::new(d_in, g)
            .with_initializer(init.clone())
            .init(device);
        let h2h = LinearConfig::new(h, g)
            .with_bias(self.cell == Cell::Gru)
            .with_initializer(init)
            .init(device);
        if self.cell == Cell::Lstm && self.forget_bias != 0.0 {
            let fb = self.forget_bias as f32;
            x2h.bias = x2h.bias.map(|b| {
                b.init_mapper(move |b: Tensor<1>| {
                    let offset: Vec<f32> = (0..g)
                        .map(|j| if (h..2 * h).contains(&j) { fb } else { 0.0 })
                        .collect();
                    b.clone() + Tensor::from_data(TensorData::new(offset, [g]), &b.device())
                })
            });
        }
        CellWeights { x2h, h2h }
    }
}

impl Recurrent {
    /// Runs the stack over a padded batch.
    ///
    /// # Shapes
    /// - `x`: `[B, T, d_input]`, `mask`: `[B, T]` (1.0 = token, right padding)
    /// - output: `[B, T, d_output]`, zero at padded positions
    pub fn forward(&self, x: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
        self.run(x, mask, true).0
    }

    /// Final states of the last layer, `[B, d_output]`: the forward state after each
    /// sequence's last real token, concatenated with the backward state after its first token
    /// (the char RNN's word vector). All-padding rows give zeros.
    pub fn final_states(&self, x: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
        self.run(x, mask, false)
            .1
            .expect("every path returns final states without keep_last_outputs")
    }

    /// Output size.
    pub fn d_output(&self) -> usize {
        let dirs = match self.layers.first() {
            Some(l) if l.backward.is_some() => 2,
            _ => 1,
        };
        self.d_hidden * dirs
    }

    /// The cell.
    pub fn cell(&self) -> Cell {
        self.cell
    }

    /// Input size.
    pub fn d_input(&self) -> usize {
        self.layers
            .first()
            .map(|l| l.forward.x2h.weight.lazy_shape().dims::<2>()[0])
            .unwrap_or(0)
    }

    /// Outputs `[B, T, d_output]` and final states `[B, d_output]`, through the path of the
    /// device ([`crate::cpu::Path`]). Without `keep_last_outputs` the last layer skips its
    /// outputs (the first value is then meaningless); with it, the fused training LSTM
    /// returns no final states.
    fn run(
        &self,
        x: Tensor<3>,
        mask: Tensor<2>,
        keep_last_outputs: bool,
    ) -> (Tensor<3>, Option<Tensor<2>>) {
        let both = |(out, last)| (out, Some(last));
        match Path::of(&x.device()) {
            Path::Host => both(self.run_host(x, mask, keep_last_outputs)),
            Path::Autodiff => match self.forward_autodiff(&x, &mask) {
                Some(out) if keep_last_outputs => (out, None),
                Some(out) => {
                    let last = self.final_from_outputs(out.clone(), &mask);
                    (out, Some(last))
                }
                None => both(self.run_tensor(x, mask, keep_last_outputs)),
            },
            Path::Tensor => both(self.run_tensor(x, mask, keep_last_outputs)),
        }
    }

    /// Final states read off the last layer's outputs `[B, T, dirs·H]`: the forward output at
    /// each row's last real token and the backward output at its first. The fused training op
    /// returns only outputs, and these rows are exactly the states the tensor path keeps, so
    /// the char RNN trains through the fused op too (the gradient flows back through the
    /// gather). An all-padding row reads position 0, whose outputs are zero.
    fn final_from_outputs(&self, out: Tensor<3>, mask: &Tensor<2>) -> Tensor<2> {
        let [b, t, d] = out.dims();
        let h = self.d_hidden;
        let device = out.device();
        let mask = io::read(mask.clone());
        // right padding: a row's length is its count of real positions
        let last: Vec<i64> = mask
            .chunks(t)
            .enumerate()
            .map(|(i, row)| {
                let len = row.iter().filter(|&&m| m > 0.5).count();
                (i * t + len.saturating_sub(1)) as i64
            })
            .collect();
        let rows = |idx: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(idx, [b]), &device);
        let flat = out.reshape([b * t, d]);
        let forward = flat.clone().select(0, rows(last)).narrow(1, 0, h);
        if d == h {
            return forward;
        }
        let first = (0..b).map(|i| (i * t) as i64).collect();
        let backward = flat.select(0, rows(first)).narrow(1, h, h);
        Tensor::cat(vec![forward, backward], 1)
    }

    /// [`Self::run`] on the host ([`cpu::rnn`]). Dropout between layers is skipped: on a
    /// non-autodiff device burn's dropout is the identity anyway.
    fn run_host(
        &self,
        x: Tensor<3>,
        mask: Tensor<2>,
        keep_last_outputs: bool,
    ) -> (Tensor<3>, Tensor<2>) {
        let [b, t, _] = x.dims();
        let device = x.device();
        let mask = io::read(mask);
        let d_out = self.d_output();
        let mut input = x;
        let mut last = vec![0.0; b * d_out];
        let n = self.layers.len();
        for (li, layer) in self.layers.iter().enumerate() {
            let keep = li + 1 < n || keep_last_outputs;
            let (out, fin) = self.layer_host(layer, input.clone(), &mask, keep, li == 0);
            last = fin;
            if let Some(out) = out {
                input = io::tensor(out, [b, t, d_out], &device);
            }
        }
        (input, io::tensor(last, [b, d_out], &device))
    }

    /// One layer on the host over `x` `[B, T, D]` with the `[B, T]` mask: outputs
    /// `[B, T, dirs·H]` (if `keep`) and the final states `[B, dirs·H]`, row-major. The input
    /// projection stays a burn matmul, on the distinct rows of `x` (`dedup`: the first
    /// layer, whose input repeats words) or on its real tokens (a deeper layer's).
    fn layer_host(
        &self,
        layer: &RecurrentLayer,
        x: Tensor<3>,
        mask: &[f32],
        keep: bool,
        dedup: bool,
    ) -> (Option<Vec<f32>>, Vec<f32>) {
        let [b, t, d_in] = x.dims();
        let device = x.device();
        let g = self.cell.num_gates() * self.d_hidden;
        let dirs: Vec<&CellWeights> = std::iter::once(&layer.forward)
            .chain(&layer.backward)
            .collect();
        // the caller still holds `x` (the previous layer's output or the features)
        let (unique, xw_rows) = io::with_values(x, |x| {
            if dedup {
                cpu::rnn::distinct_rows(x, d_in.max(1), mask)
            } else {
                cpu::rnn::token_rows(x, d_in.max(1), mask)
            }
        });
        let num_unique = unique.len() / d_in.max(1);
        let unique = io::tensor(unique, [num_unique, d_in], &device);
        let xw: Vec<io::Values> = dirs
            .iter()
            .map(|w| io::read(cpu::linear::forward(&w.x2h, unique.clone())))
            .collect();
        // the GRU's b_hh (inside r·(…)); the other cells have none
        let b_hh: Vec<Vec<f32>> = dirs
            .iter()
            .map(|w| match &w.h2h.bias {
                Some(p) => io::read(p.val()).to_vec(),
                None => vec![0.0; g],
            })
            .collect();
        let directions: Vec<cpu::rnn::Direction<'_>> = (0..dirs.len())
            .map(|k| cpu::rnn::Direction {
                xw: &xw[k],
                w_hh: cpu::matmul::Weight::from_tensor(dirs[k].h2h.weight.val()),
                b_hh: &b_hh[k],
            })
            .collect();
        cpu::rnn::layer(
            &cpu::rnn::Layer {
                cell: self.cell,
                dirs: &directions,
                xw_rows: &xw_rows,
                mask,
                batch: b,
                max_len: t,
                d_hidden: self.d_hidden,
            },
            keep,
        )
    }

    /// The stack's outputs through the fused training recurrence ([`cpu::lstm`] for the
    /// LSTM, [`cpu::gru`] for the GRU and the simple RNN), one op per layer, or `None` where
    /// it does not apply (another device, a batch without tokens, a float type other than
    /// f32): the caller then takes the tensor path.
    fn forward_autodiff(&self, x: &Tensor<3>, mask: &Tensor<2>) -> Option<Tensor<3>> {
        let device = x.device();
        if Path::of(&device) != Path::Autodiff {
            return None;
        }
        let [b, t, _] = x.dims();
        let num_dirs = if self.layers.first()?.backward.is_some() {
            2
        } else {
            1
        };
        let mask = io::read(mask.clone());
        let plan = Arc::new(cpu::lstm::Plan::new(&mask, b, t, self.d_hidden, num_dirs)?);
        let rows = plan.rows();
        let index =
            Tensor::<1, Int>::from_data(TensorData::new(rows.to_vec(), [rows.len()]), &device);
        let mut input = x.clone();
        for (li, layer) in self.layers.iter().enumerate() {
            if li > 0 {
                input = crate::dropout::dropout(&self.dropout, input);
            }
            let dirs: Vec<&CellWeights> = std::iter::once(&layer.forward)
                .chain(&layer.backward)
                .collect();
            if dirs.len() != plan.num_dirs() {
                return None;
            }
            let [_, _, d_in] = input.dims();
            // the input projection of the real tokens, direction-major: [dirs·N, G]
            let real = input
                .clone()
                .reshape([b * t, d_in])
                .select(0, index.clone());
            let xw = Tensor::cat(
                dirs.iter()
                    .map(|w| cpu::linear::forward(&w.x2h, real.clone()))
                    .collect(),
                0,
            );
            let w_hh = Tensor::stack::<3>(dirs.iter().map(|w| w.h2h.weight.val()).collect(), 0);
            input = match self.cell {
                Cell::Lstm => cpu::lstm::train(xw, w_hh, plan.clone())?,
                Cell::Gru => {
                    let b_hh = dirs
                        .iter()
                        .map(|w| w.h2h.bias.as_ref().map(|p| p.val().unsqueeze::<2>()))
                        .collect::<Option<Vec<_>>>()?;
                    cpu::gru::train_gru(xw, w_hh, Tensor::cat(b_hh, 0), plan.clone())?
                }
                Cell::Rnn => cpu::gru::train_rnn(xw, w_hh, plan.clone())?,
            };
        }
        Some(input)
    }

    /// [`Self::run`] as burn ops: the training path (autodiff) and the GPU path.
    fn run_tensor(
        &self,
        x: Tensor<3>,
        mask: Tensor<2>,
        keep_last_outputs: bool,
    ) -> (Tensor<3>, Tensor<2>) {
        let [b, _, _] = x.dims();
        let bidirectional = self.layers.first().is_some_and(|l| l.backward.is_some());
        // Both directions run in ONE time loop as a doubled batch: rows 0..B read the sentence
        // left to right, rows B..2B read it time-reversed, so step s of the backward direction
        // is position T−1−s. This halves the number of per-step ops (not their element-wise
        // work: on flex CPU it measured about even with two loops; it is meant for devices
        // where each op launch costs, wgpu/CUDA). Padding masks are reversed with it: a
        // reversed right-padded sentence starts with its pads, during which the carried
        // state stays zero, so the backward pass effectively starts at the sentence's last
        // real token.
        let step_mask = if bidirectional {
            Tensor::cat(vec![mask.clone(), mask.flip([1])], 0)
        } else {
            mask
        };
        let pads = step_pads(&step_mask);
        let mut input = x.swap_dims(0, 1); // time-major [T, B, D] for the step split
        let mut last = Tensor::zeros([b, self.d_output()], &input.device());
        let n = self.layers.len();
        for (li, layer) in self.layers.iter().enumerate() {
            if li > 0 {
                input = crate::dropout::dropout(&self.dropout, input);
            }
            let keep = li + 1 < n || keep_last_outputs;
            let (out, fin) = self.layer(layer, input.clone(), &pads, keep);
            last = fin;
            if let Some(out) = out {
                input = out;
            }
        }
        (input.swap_dims(0, 1), last)
    }

    /// One layer over time-major `x` `[T, B, D]`: outputs `[T, B, dirs·H]` (if `keep`) and the
    /// final hidden states `[B, dirs·H]` (forward first).
    fn layer(
        &self,
        layer: &RecurrentLayer,
        x: Tensor<3>,
        pads: &[Tensor<2, Bool>],
        keep: bool,
    ) -> (Option<Tensor<3>>, Tensor<2>) {
        let [t, b, d_in] = x.dims();
        let d = self.d_hidden;
        let g = self.cell.num_gates() * d;
        let device = x.device();
        let dirs: Vec<&CellWeights> = std::iter::once(&layer.forward)
            .chain(&layer.backward)
            .collect();
        let nd = dirs.len();
        // the input projection of every step, one matmul per direction
        let flat = x.reshape([t * b, d_in]);
        let mut xw = Vec::with_capacity(nd);
        for (k, w) in dirs.iter().enumerate() {
            let p = w.x2h.forward(flat.clone()).reshape([t, b, g]);
            xw.push(if k == 1 { p.flip([0]) } else { p });
        }
        let xw = Tensor::cat(xw, 1); // [T, nd·B, G]

        // recurrent weights of the directions side by side: [nd, H, G] (+ bias [nd, 1, G])
        let w_hh = Tensor::stack::<3>(dirs.iter().map(|w| w.h2h.weight.val()).collect(), 0);
        let b_hh: Option<Tensor<3>> = dirs
            .iter()
            .map(|w| w.h2h.bias.as_ref().map(|p| p.val().reshape([1, 1, g])))
            .collect::<Option<Vec<_>>>()
            .map(|v| Tensor::cat(v, 0));

        let gate_scale = gate_scale(self.cell, d, &device);
        let mut h = Tensor::<2>::zeros([nd * b, d], &device);
        let mut c = (self.cell == Cell::Lstm).then(|| Tensor::<2>::zeros([nd * b, d], &device));
        let mut outs: Vec<Tensor<2>> = Vec::with_capacity(if keep { t } else { 0 });
        for (xw_s, pad) in time_steps(xw).into_iter().zip(pads) {
            let mut hw = h.clone().reshape([nd, b, d]).matmul(w_hh.clone());
            if let Some(bias) = &b_hh {
                hw = hw + bias.clone();
            }
            let hw = hw.reshape([nd * b, g]);
            let (h_new, c_new) = step(self.cell, xw_s, hw, &h, c.as_ref(), &gate_scale, d);
            // at padding: carry the state unchanged (mask_where takes `h` where pad is true)
            h = h_new.mask_where(pad.clone(), h);
            c = match (c_new, c) {
                (Some(cn), Some(co)) => Some(cn.mask_where(pad.clone(), co)),
                (cn, _) => cn,
            };
            if keep {
                outs.push(h.clone().mask_fill(pad.clone(), 0.0));
            }
        }
        // [.., nd·B, H] → [.., B, nd·H]; the backward half of a time series back in time order
        let split = |y: Tensor<3>, in_time: bool| -> Tensor<3> {
            if nd == 1 {
                return y;
            }
            let f = y.clone().slice(s![.., 0..b]);
            let bw = y.slice(s![.., b..2 * b]);
            let bw = if in_time { bw.flip([0]) } else { bw };
            Tensor::cat(vec![f, bw], 2)
        };
        let out = keep.then(|| split(Tensor::stack::<3>(outs, 0), true));
        let last = split(h.unsqueeze::<3>(), false).reshape([b, nd * d]);
        (out, last)
    }
}
