//! The LSTM recurrence as ONE autodiff op on the CPU training device: forward and backward
//! are loops over `f32` slices around one `h·W_hh` matmul per step, instead of ~20 recorded
//! burn ops per step and their generic backward; and the LSTM cell ([`lstm_cell`]) shared
//! with the inference recurrence ([`super::rnn`]).
//!
//! Why: the tensor path's training step spends most of its BiLSTM time in per-op overhead
//! and in the padding of short sentences (a random batch is mostly padding). Here each step
//! only touches the rows with a real token (like PyTorch's packed sequences), and the gates,
//! state update and their derivatives are single fused passes. A step's rows times `W_hh`
//! go through burn's gemm ([`Weight::times_into`]).
//!
//! What it computes is `Recurrent`'s tensor-path LSTM, exactly (up to f32 rounding): same
//! gates `[i, f, g, o]`, same masking (a padded step carries the state and outputs zero),
//! same time-reversed backward direction. The input projection `x·W_ih + b` stays a burn
//! matmul (on the real tokens only); the op takes its result and `W_hh`, and returns the
//! outputs `[B, T, dirs·H]`. Gradients: derived at [`backward`], checked against the tensor
//! path's autodiff in `rnn`'s tests.

use std::sync::Arc;

use burn::prelude::*;

use super::autodiff::{self, Grad, Held};
use super::directions::{self, Outputs};
use super::io;
use super::math::{sigmoid, tanh};
use super::matmul::{Rows, Weight};
use super::simd::{vectorized, Kernel};

/// One LSTM unit after a step: the gate activations σ(i), σ(f), tanh(g), σ(o), the new cell
/// state, its tanh and the new output.
pub(crate) struct LstmUnit {
    pub(crate) gates: [f32; 4],
    pub(crate) c: f32,
    pub(crate) tanh_c: f32,
    pub(crate) h: f32,
}

/// One LSTM unit's step from its gate pre-activations `[i, f, g, o]` (`x·W_ih + b + h·W_hh`)
/// and its previous cell state: c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c'). The one
/// implementation of the cell on the CPU, for inference and training.
#[inline(always)]
pub(crate) fn lstm_cell(pre: [f32; 4], c_prev: f32) -> LstmUnit {
    let i = sigmoid(pre[0]);
    let f = sigmoid(pre[1]);
    let g = tanh(pre[2]);
    let o = sigmoid(pre[3]);
    let c = f * c_prev + i * g;
    let tanh_c = tanh(c);
    LstmUnit {
        gates: [i, f, g, o],
        c,
        tanh_c,
        h: o * tanh_c,
    }
}

/// Which real token each step of each direction updates; constant for a batch.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) batch: usize,
    pub(crate) max_len: usize,
    pub(crate) d_hidden: usize,
    pub(crate) num_dirs: usize,
    /// `b·T + t` of each real token, in that (row-major) order: row `r` of the op's inputs.
    rows: Vec<i64>,
    /// `steps[dir][s]`: `(b, r)` of the rows that direction `dir` updates at step `s`
    /// (position `s`, or `T−1−s` for the backward direction).
    pub(crate) steps: Vec<Vec<Vec<(usize, usize)>>>,
}

impl Plan {
    /// The plan of a `[batch, max_len]` `mask` for `num_dirs` directions of `d_hidden` units;
    /// `None` for a batch without any real token (the tensor path then runs).
    pub(crate) fn new(
        mask: &[f32],
        batch: usize,
        max_len: usize,
        d_hidden: usize,
        num_dirs: usize,
    ) -> Option<Plan> {
        let (b, t) = (batch, max_len);
        let mut rows = Vec::new();
        let mut row_of = vec![usize::MAX; b * t];
        for (slot, &m) in mask.iter().enumerate().take(b * t) {
            if m != 0.0 {
                row_of[slot] = rows.len();
                rows.push(slot as i64);
            }
        }
        if rows.is_empty() {
            return None;
        }
        let steps = |reverse: bool| -> Vec<Vec<(usize, usize)>> {
            (0..t)
                .map(|s| {
                    let time = if reverse { t - 1 - s } else { s };
                    (0..b)
                        .filter_map(|bi| {
                            let r = row_of[bi * t + time];
                            (r != usize::MAX).then_some((bi, r))
                        })
                        .collect()
                })
                .collect()
        };
        Some(Plan {
            batch,
            max_len,
            d_hidden,
            num_dirs,
            rows,
            steps: (0..num_dirs).map(|dir| steps(dir == 1)).collect(),
        })
    }

    /// `b·T + t` of each real token: the rows to project before [`train`].
    pub(crate) fn rows(&self) -> &[i64] {
        &self.rows
    }

    /// Directions (1 or 2).
    pub(crate) fn num_dirs(&self) -> usize {
        self.num_dirs
    }

    pub(crate) fn num_rows(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn time(&self, dir: usize, s: usize) -> usize {
        if dir == 0 {
            s
        } else {
            self.max_len - 1 - s
        }
    }
}

/// The fused op for one layer: `xw` `[dirs·N, 4H]` (the input projection of the plan's rows,
/// direction-major), `w_hh` `[dirs, H, 4H]` → outputs `[B, T, dirs·H]`. `None` where the
/// op does not apply (not the CPU training device, not f32, other shapes).
pub(crate) fn train(xw: Tensor<2>, w_hh: Tensor<3>, plan: Arc<Plan>) -> Option<Tensor<3>> {
    let xw = autodiff::input(xw)?;
    let w_hh = autodiff::input(w_hh)?;
    let (d, nd) = (plan.d_hidden, plan.num_dirs);
    if xw.dims() != [nd * plan.num_rows(), 4 * d] || w_hh.dims() != [nd, d, 4 * d] {
        return None;
    }
    let (out, saved) = forward(&xw.values()?, &w_hh.values()?, &plan);
    let state = LstmBackward {
        saved: Arc::new(saved),
        w_hh: w_hh.hold(),
        plan: plan.clone(),
    };
    Some(autodiff::record(
        [xw, w_hh],
        state,
        out,
        [plan.batch, plan.max_len, nd * d],
    ))
}

/// What the backward pass reads, per direction `dir` and real row `r` (index `dir·N + r`).
#[derive(Debug)]
struct Saved {
    /// `[nd·N, 4H]`: σ(i), σ(f), tanh(g), σ(o).
    gates: Vec<f32>,
    /// `[nd·N, H]`: the cell state before the step.
    c_prev: Vec<f32>,
    /// `[nd·N, H]`: tanh of the cell state after the step.
    tanh_c: Vec<f32>,
    /// `[nd, N, H]`: the hidden state before the step (for `dW_hh`), on the plain device.
    h_prev: Tensor<3>,
}

fn forward(xw: &[f32], w_hh: &[f32], plan: &Plan) -> (Vec<f32>, Saved) {
    let (b, t, d, nd, n) = (
        plan.batch,
        plan.max_len,
        plan.d_hidden,
        plan.num_dirs,
        plan.num_rows(),
    );
    let g = 4 * d;
    let mut gates = vec![0.0f32; nd * n * g];
    let mut c_prev = vec![0.0f32; nd * n * d];
    let mut tanh_c = vec![0.0f32; nd * n * d];
    let mut h_prev = vec![0.0f32; nd * n * d];
    // each direction on its own rows of the saved values, and its own `[B, T, H]` outputs
    let jobs: Vec<DirForward<'_>> = gates
        .chunks_mut(n * g)
        .zip(c_prev.chunks_mut(n * d))
        .zip(tanh_c.chunks_mut(n * d))
        .zip(h_prev.chunks_mut(n * d))
        .enumerate()
        .map(|(dir, (((gates, c_prev), tanh_c), h_prev))| DirForward {
            dir,
            gates,
            c_prev,
            tanh_c,
            h_prev,
        })
        .collect();
    let out = directions::with_outputs(jobs, b * t, d, |job, out| {
        forward_direction(xw, w_hh, plan, job, out)
    });
    let h_prev = io::tensor(h_prev, [nd, n, d], &Device::flex());
    (
        out,
        Saved {
            gates,
            c_prev,
            tanh_c,
            h_prev,
        },
    )
}

/// One direction's share of the forward pass: its rows of the saved values (`[N, ·]`).
struct DirForward<'a> {
    dir: usize,
    gates: &'a mut [f32],
    c_prev: &'a mut [f32],
    tanh_c: &'a mut [f32],
    h_prev: &'a mut [f32],
}

/// The forward recurrence of one direction, its outputs to `out` `[B, T, H]` (the two
/// directions of a layer run in parallel: [`directions::with_outputs`]).
fn forward_direction(
    xw: &[f32],
    w_hh: &[f32],
    plan: &Plan,
    job: DirForward<'_>,
    out: &mut Outputs<'_>,
) {
    let (b, t, d, n) = (plan.batch, plan.max_len, plan.d_hidden, plan.num_rows());
    let g = 4 * d;
    let DirForward {
        dir,
        gates,
        c_prev,
        tanh_c,
        h_prev,
    } = job;
    let w = Weight::new(&w_hh[dir * d * g..(dir + 1) * d * g], d, g);
    let xw = &xw[dir * n * g..(dir + 1) * n * g];
    let mut h = vec![0.0f32; b * d];
    let mut c = vec![0.0f32; b * d];
    directions::forward_steps(plan, dir, &w, &mut h, h_prev, |active, time, hw, h| {
        vectorized(ForwardStep {
            active,
            d,
            time,
            t,
            xw,
            hw,
            h,
            c: &mut c,
            out: &mut *out,
            gates: &mut *gates,
            c_prev: &mut *c_prev,
            tanh_c: &mut *tanh_c,
        });
    });
}

/// One forward step of one direction at time `time` (of `t`) for the `(sentence, row)`
/// pairs in `active`; `d` = H; the slices are that direction's.
struct ForwardStep<'a, 'o> {
    active: &'a [(usize, usize)],
    d: usize,
    time: usize,
    t: usize,
    /// `[N, G]`
    xw: &'a [f32],
    /// `[active, G]`
    hw: Rows<'a>,
    /// `[B, H]` state of this direction.
    h: &'a mut [f32],
    c: &'a mut [f32],
    /// `[B, T, H]`
    out: &'a mut Outputs<'o>,
    /// `[N, G]`
    gates: &'a mut [f32],
    /// `[N, H]`
    c_prev: &'a mut [f32],
    /// `[N, H]`
    tanh_c: &'a mut [f32],
}

impl Kernel for ForwardStep<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let ForwardStep {
            active, d, time, t, ..
        } = self;
        let g = 4 * d;
        for (a, &(bi, row)) in active.iter().enumerate() {
            let x = &self.xw[row * g..(row + 1) * g];
            let hw = self.hw.row(a);
            let gates = &mut self.gates[row * g..(row + 1) * g];
            let c = &mut self.c[bi * d..(bi + 1) * d];
            self.c_prev[row * d..(row + 1) * d].copy_from_slice(c);
            let tc = &mut self.tanh_c[row * d..(row + 1) * d];
            let h = &mut self.h[bi * d..(bi + 1) * d];
            let (gi, rest) = gates.split_at_mut(d);
            let (gf, rest) = rest.split_at_mut(d);
            let (gg, go) = rest.split_at_mut(d);
            for j in 0..d {
                let unit = lstm_cell(
                    [
                        x[j] + hw[j],
                        x[d + j] + hw[d + j],
                        x[2 * d + j] + hw[2 * d + j],
                        x[3 * d + j] + hw[3 * d + j],
                    ],
                    c[j],
                );
                [gi[j], gf[j], gg[j], go[j]] = unit.gates;
                c[j] = unit.c;
                tc[j] = unit.tanh_c;
                h[j] = unit.h;
            }
            self.out.row(bi * t + time).copy_from_slice(h);
        }
    }
}

/// The op's backward state.
#[derive(Clone, Debug)]
struct LstmBackward {
    plan: Arc<Plan>,
    saved: Arc<Saved>,
    w_hh: Held,
}

impl autodiff::Backward<2> for LstmBackward {
    fn backward(self, grad: &[f32]) -> [Grad; 2] {
        let w_hh = self
            .w_hh
            .values()
            .expect("the op admitted f32 weights only");
        backward(grad, &w_hh, &self.plan, &self.saved)
    }
}

/// Gradients of the op: `dxw` `[nd·N, G]` and `dW_hh` `[nd, H, G]`, from the gradient of the
/// outputs `[B, T, nd·H]`. Per direction the steps run in reverse; `dh`, `dc` carry through
/// padded steps unchanged (the state was carried there).
///
/// Derivation, per unit, with gates i = σ(aᵢ), f = σ(a_f), g = tanh(a_g), o = σ(a_o),
/// c' = f·c + i·g, h' = o·tanh c'; `dh` = ∂L/∂h' (this step's output gradient plus what the
/// next step sent back), `dc` = ∂L/∂c' from the next step:
/// - ∂L/∂c' in all: dc + dh·o·(1 − tanh² c'); then ∂L/∂c = that · f (to the previous step);
/// - ∂L/∂a_o = dh·tanh c'·o(1 − o), ∂L/∂aᵢ = ∂L/∂c'·g·i(1 − i),
///   ∂L/∂a_f = ∂L/∂c'·c·f(1 − f), ∂L/∂a_g = ∂L/∂c'·i·(1 − g²)  (σ′ = σ(1 − σ), tanh′ = 1 − tanh²);
/// - the pre-activation a = xw + h·W_hh, so `dxw` = `dpre`, the previous step's `dh` is
///   `dpre · W_hhᵀ`, and `dW_hh` = Σ_steps h_prevᵀ · dpre.
fn backward(grad: &[f32], w_hh: &[f32], plan: &Plan, saved: &Saved) -> [Grad; 2] {
    let (b, d, nd, n) = (plan.batch, plan.d_hidden, plan.num_dirs, plan.num_rows());
    let g = 4 * d;
    let mut dpre = vec![0.0f32; nd * n * g];
    // each direction on its own rows of dpre, in parallel
    let jobs: Vec<(usize, &mut [f32])> = dpre.chunks_mut(n * g).enumerate().collect();
    directions::each_direction(jobs, |(dir, dpre)| {
        let w_t = directions::transposed(w_hh, dir, d, g);
        let mut dh = vec![0.0f32; b * d];
        let mut dc = vec![0.0f32; b * d];
        directions::backward_steps(
            plan,
            dir,
            &w_t,
            g,
            &mut dh,
            dpre,
            |active, time, dh, dpre| {
                vectorized(BackwardStep {
                    step: Step {
                        active,
                        d,
                        dir,
                        n,
                        nd,
                        time,
                        t: plan.max_len,
                    },
                    grad,
                    saved,
                    dh,
                    dc: &mut dc,
                    dpre,
                });
            },
        );
    });
    // dW_hh[dir] = h_prev[dir]ᵀ · dpre[dir]
    let dpre = io::tensor(dpre, [nd, n, g], &Device::flex());
    let dw = saved.h_prev.clone().swap_dims(1, 2).matmul(dpre.clone());
    [
        Grad::from_tensor(dpre.reshape([nd * n, g])),
        Grad::from_tensor(dw),
    ]
}

/// Where one backward step works: direction `dir` (of `nd`) at time `time` (of `t`), for
/// the `(sentence, row)` pairs in `active`; `d` = H, `n` = rows per direction.
#[derive(Clone, Copy)]
struct Step<'a> {
    active: &'a [(usize, usize)],
    d: usize,
    dir: usize,
    n: usize,
    nd: usize,
    time: usize,
    t: usize,
}

/// One backward step of direction `dir` for the rows in `active`: writes their `dpre` (this
/// direction's `[N, G]` rows), zeroes their `dh` (the caller adds `dpre · W_hhᵀ`) and
/// updates `dc` (to the gradient of the previous cell state).
struct BackwardStep<'a> {
    step: Step<'a>,
    /// `[B, T, nd·H]`
    grad: &'a [f32],
    saved: &'a Saved,
    dh: &'a mut [f32],
    dc: &'a mut [f32],
    dpre: &'a mut [f32],
}

impl Kernel for BackwardStep<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Step {
            active,
            d,
            dir,
            n,
            nd,
            time,
            t,
        } = self.step;
        let g = 4 * d;
        for &(bi, r) in active {
            let row = dir * n + r;
            let o = ((bi * t + time) * nd + dir) * d;
            let gout = &self.grad[o..o + d];
            let gates = &self.saved.gates[row * g..(row + 1) * g];
            let (gi, rest) = gates.split_at(d);
            let (gf, rest) = rest.split_at(d);
            let (gg, go) = rest.split_at(d);
            let c_prev = &self.saved.c_prev[row * d..(row + 1) * d];
            let tc = &self.saved.tanh_c[row * d..(row + 1) * d];
            let dh = &mut self.dh[bi * d..(bi + 1) * d];
            let dc = &mut self.dc[bi * d..(bi + 1) * d];
            let dp = &mut self.dpre[r * g..(r + 1) * g];
            let (di, rest) = dp.split_at_mut(d);
            let (df, rest) = rest.split_at_mut(d);
            let (dg, dout) = rest.split_at_mut(d);
            for j in 0..d {
                let dhj = dh[j] + gout[j];
                let (i, f, gv, o, tcj) = (gi[j], gf[j], gg[j], go[j], tc[j]);
                let dcj = dc[j] + dhj * o * (1.0 - tcj * tcj);
                dout[j] = dhj * tcj * o * (1.0 - o);
                di[j] = dcj * gv * i * (1.0 - i);
                df[j] = dcj * c_prev[j] * f * (1.0 - f);
                dg[j] = dcj * i * (1.0 - gv * gv);
                dc[j] = dcj * f;
                dh[j] = 0.0;
            }
        }
    }
}
