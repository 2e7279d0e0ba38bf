//! The GRU and the simple (Elman, tanh) RNN recurrences as ONE autodiff op per layer on the
//! CPU training device, like [`super::lstm`]'s: forward and hand-written backward are loops
//! over `f32` slices around one `rows · W_hh` gemm per step, only the rows of real tokens
//! move at a step (the [`Plan`] of the LSTM), and padded steps carry the state and output
//! zero.
//!
//! What it computes is `Recurrent`'s tensor-path GRU and RNN, exactly (up to f32 rounding):
//! - GRU, gates `[r, z, n]`: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n),
//!   h' = (1 − z)·n + z·h, where `x = x·W_ih + b_ih` (the op's `xw`) and
//!   `h_· = h·W_hh + b_hh` (`W_hh`, `b_hh` are the op's inputs: `b_hn` sits inside r·(…));
//! - RNN: h' = tanh(x + h·W_hh) (no recurrent bias).
//!
//! The input projection `x·W_ih + b` stays a burn matmul (on the real tokens only), as for
//! the LSTM. Gradients: derived at [`backward`], checked against the tensor path's autodiff
//! in `rnn`'s tests.

use std::sync::Arc;

use burn::prelude::*;

use super::autodiff::{self, Grad, Held};
use super::directions::{self, Outputs};
use super::io;
use super::lstm::Plan;
use super::math::{sigmoid, tanh};
use super::matmul::{Rows, Weight};
use super::simd::{vectorized, Kernel};
use crate::rnn::{Cell, CellExt};

/// The fused GRU layer: `xw` `[dirs·N, 3H]` (the input projection of the plan's rows,
/// direction-major), `w_hh` `[dirs, H, 3H]`, `b_hh` `[dirs, 3H]` → outputs
/// `[B, T, dirs·H]`. `None` where the op does not apply (not the CPU training device, not
/// f32, other shapes).
pub(crate) fn train_gru(
    xw: Tensor<2>,
    w_hh: Tensor<3>,
    b_hh: Tensor<2>,
    plan: Arc<Plan>,
) -> Option<Tensor<3>> {
    let xw = autodiff::input(xw)?;
    let w_hh = autodiff::input(w_hh)?;
    let b_hh = autodiff::input(b_hh)?;
    let (d, nd) = (plan.d_hidden, plan.num_dirs);
    let g = 3 * d;
    if xw.dims() != [nd * plan.num_rows(), g] || w_hh.dims() != [nd, d, g] || b_hh.dims() != [nd, g]
    {
        return None;
    }
    let (out, saved) = forward(
        Cell::Gru,
        &xw.values()?,
        &w_hh.values()?,
        &b_hh.values()?,
        &plan,
    );
    let state = GruBackward(Recurrence {
        cell: Cell::Gru,
        saved: Arc::new(saved),
        w_hh: w_hh.hold(),
        plan: plan.clone(),
    });
    Some(autodiff::record(
        [xw, w_hh, b_hh],
        state,
        out,
        [plan.batch, plan.max_len, nd * d],
    ))
}

/// The fused simple-RNN layer: `xw` `[dirs·N, H]`, `w_hh` `[dirs, H, H]` → outputs
/// `[B, T, dirs·H]`. `None` where the op does not apply.
pub(crate) fn train_rnn(xw: Tensor<2>, w_hh: Tensor<3>, plan: Arc<Plan>) -> Option<Tensor<3>> {
    let xw = autodiff::input(xw)?;
    let w_hh = autodiff::input(w_hh)?;
    let (d, nd) = (plan.d_hidden, plan.num_dirs);
    if xw.dims() != [nd * plan.num_rows(), d] || w_hh.dims() != [nd, d, d] {
        return None;
    }
    let zeros = vec![0.0f32; nd * d];
    let (out, saved) = forward(Cell::Rnn, &xw.values()?, &w_hh.values()?, &zeros, &plan);
    let state = RnnBackward(Recurrence {
        cell: Cell::Rnn,
        saved: Arc::new(saved),
        w_hh: w_hh.hold(),
        plan: plan.clone(),
    });
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
    /// `[nd·N, G]`: GRU r, z, n; RNN the new state h'.
    act: Vec<f32>,
    /// `[nd·N, H]`: GRU `h_n = (h·W_hh + b_hh)_n` (empty for the RNN).
    hn: Vec<f32>,
    /// `[nd·N, H]`: the hidden state before the step.
    h_prev: Vec<f32>,
}

fn forward(cell: Cell, xw: &[f32], w_hh: &[f32], b_hh: &[f32], plan: &Plan) -> (Vec<f32>, Saved) {
    let (b, t, d, nd, n) = (
        plan.batch,
        plan.max_len,
        plan.d_hidden,
        plan.num_dirs,
        plan.num_rows(),
    );
    let g = cell.num_gates() * d;
    let mut act = vec![0.0f32; nd * n * g];
    let mut hn = vec![0.0f32; if cell == Cell::Gru { nd * n * d } else { 0 }];
    let mut h_prev = vec![0.0f32; nd * n * d];
    // each direction on its own rows of the saved values, and its own `[B, T, H]` outputs
    let mut jobs: Vec<DirForward<'_>> = act
        .chunks_mut(n * g)
        .zip(h_prev.chunks_mut(n * d))
        .enumerate()
        .map(|(dir, (act, h_prev))| DirForward {
            dir,
            act,
            h_prev,
            hn: &mut [],
        })
        .collect();
    if cell == Cell::Gru {
        for (job, hn) in jobs.iter_mut().zip(hn.chunks_mut(n * d)) {
            job.hn = hn;
        }
    }
    let out = directions::with_outputs(jobs, b * t, d, |job, out| {
        forward_direction(cell, xw, w_hh, b_hh, plan, job, out)
    });
    (out, Saved { act, hn, h_prev })
}

/// One direction's share of the forward pass: its rows of the saved values.
struct DirForward<'a> {
    dir: usize,
    /// `[N, G]`
    act: &'a mut [f32],
    /// `[N, H]`
    h_prev: &'a mut [f32],
    /// `[N, H]` (GRU; empty for the RNN)
    hn: &'a mut [f32],
}

/// The forward recurrence of one direction, its outputs to `out` `[B, T, H]`. The two
/// directions of a layer are independent and run on two threads where the rayon pool has
/// them (`training.threads`).
fn forward_direction(
    cell: Cell,
    xw: &[f32],
    w_hh: &[f32],
    b_hh: &[f32],
    plan: &Plan,
    job: DirForward<'_>,
    out: &mut Outputs<'_>,
) {
    let (b, t, d, n) = (plan.batch, plan.max_len, plan.d_hidden, plan.num_rows());
    let g = cell.num_gates() * d;
    let DirForward {
        dir,
        act,
        h_prev,
        hn,
    } = job;
    let w = Weight::new(&w_hh[dir * d * g..(dir + 1) * d * g], d, g);
    let xw = &xw[dir * n * g..(dir + 1) * n * g];
    let b_hh = &b_hh[dir * g..(dir + 1) * g];
    let mut h = vec![0.0f32; b * d];
    directions::forward_steps(plan, dir, &w, &mut h, h_prev, |active, time, hw, h| {
        vectorized(ForwardStep {
            cell,
            active,
            d,
            time,
            t,
            xw,
            hw,
            b_hh,
            h,
            out: &mut *out,
            act: &mut *act,
            hn: &mut *hn,
        });
    });
}

/// One forward step of one direction at time `time` for the `(sentence, row)` pairs in
/// `active`; the slices are that direction's.
struct ForwardStep<'a, 'o> {
    cell: Cell,
    active: &'a [(usize, usize)],
    d: usize,
    time: usize,
    t: usize,
    /// `[N, G]`
    xw: &'a [f32],
    /// `[active, G]`
    hw: Rows<'a>,
    /// `[G]`
    b_hh: &'a [f32],
    /// `[B, H]` state of this direction.
    h: &'a mut [f32],
    /// `[B, T, H]`
    out: &'a mut Outputs<'o>,
    /// `[N, G]`
    act: &'a mut [f32],
    /// `[N, H]`
    hn: &'a mut [f32],
}

impl Kernel for ForwardStep<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let ForwardStep {
            cell,
            active,
            d,
            time,
            t,
            xw,
            hw,
            b_hh,
            h,
            out,
            act,
            hn,
        } = self;
        let g = cell.num_gates() * d;
        for (a, &(bi, row)) in active.iter().enumerate() {
            let x = &xw[row * g..(row + 1) * g];
            let hw = hw.row(a);
            let act = &mut act[row * g..(row + 1) * g];
            let h = &mut h[bi * d..(bi + 1) * d];
            match cell {
                Cell::Gru => {
                    let hn = &mut hn[row * d..(row + 1) * d];
                    let (ar, rest) = act.split_at_mut(d);
                    let (az, an) = rest.split_at_mut(d);
                    for j in 0..d {
                        let rg = sigmoid(x[j] + (hw[j] + b_hh[j]));
                        let zg = sigmoid(x[d + j] + (hw[d + j] + b_hh[d + j]));
                        let hnj = hw[2 * d + j] + b_hh[2 * d + j];
                        let ng = tanh(x[2 * d + j] + rg * hnj);
                        ar[j] = rg;
                        az[j] = zg;
                        an[j] = ng;
                        hn[j] = hnj;
                        h[j] = ng + zg * (h[j] - ng);
                    }
                }
                _ => {
                    for j in 0..d {
                        let v = tanh(x[j] + hw[j]);
                        act[j] = v;
                        h[j] = v;
                    }
                }
            }
            out.row(bi * t + time).copy_from_slice(h);
        }
    }
}

/// The op's backward state (shared by both cells).
#[derive(Clone, Debug)]
struct Recurrence {
    cell: Cell,
    plan: Arc<Plan>,
    saved: Arc<Saved>,
    w_hh: Held,
}

#[derive(Clone, Debug)]
struct GruBackward(Recurrence);

#[derive(Clone, Debug)]
struct RnnBackward(Recurrence);

impl autodiff::Backward<3> for GruBackward {
    fn backward(self, grad: &[f32]) -> [Grad; 3] {
        let (dxw, dw, db) = self.0.backward(grad);
        [dxw, dw, db.expect("the GRU has a recurrent bias")]
    }
}

impl autodiff::Backward<2> for RnnBackward {
    fn backward(self, grad: &[f32]) -> [Grad; 2] {
        let (dxw, dw, _) = self.0.backward(grad);
        [dxw, dw]
    }
}

impl Recurrence {
    fn backward(self, grad: &[f32]) -> (Grad, Grad, Option<Grad>) {
        let w_hh = self
            .w_hh
            .values()
            .expect("the op admitted f32 weights only");
        backward(self.cell, grad, &w_hh, &self.plan, &self.saved)
    }
}

/// Gradients of the op: `dxw` `[nd·N, G]`, `dW_hh` `[nd, H, G]` and (GRU) `db_hh` `[nd, G]`,
/// from the gradient of the outputs `[B, T, nd·H]`. Per direction the steps run in reverse;
/// `dh` carries through padded steps unchanged (the state was carried there).
///
/// Derivation, per unit; `dh` = ∂L/∂h' (this step's output gradient plus what the next step
/// sent back):
/// - GRU, with `h_n = (h·W_hh + b_hh)_n`: ∂L/∂a_n = dh·(1 − z)·(1 − n²),
///   ∂L/∂a_z = dh·(h − n)·z(1 − z), ∂L/∂a_r = ∂L/∂a_n·h_n·r(1 − r). The pre-activations
///   are `x + h_·` for r and z and `x_n + r·h_n` for n, so `dxw` = `[da_r, da_z, da_n]`,
///   the gradient of `h·W_hh + b_hh` is `dhw` = `[da_r, da_z, da_n·r]`, the previous
///   step's `dh` = dh·z + `dhw · W_hhᵀ`, `dW_hh` = Σ h_prevᵀ·dhw, `db_hh` = Σ dhw.
/// - RNN: ∂L/∂a = dh·(1 − h'²) = `dxw` = `dhw`; the previous `dh` = `dhw · W_hhᵀ`.
fn backward(
    cell: Cell,
    grad: &[f32],
    w_hh: &[f32],
    plan: &Plan,
    saved: &Saved,
) -> (Grad, Grad, Option<Grad>) {
    let (d, nd, n) = (plan.d_hidden, plan.num_dirs, plan.num_rows());
    let g = cell.num_gates() * d;
    let mut dxw = vec![0.0f32; nd * n * g];
    // the GRU's dhw differs from dxw on the n slice; the RNN's is dxw itself
    let mut dhw = vec![0.0f32; if cell == Cell::Gru { nd * n * g } else { 0 }];
    let mut jobs: Vec<(usize, &mut [f32], &mut [f32])> = dxw
        .chunks_mut(n * g)
        .enumerate()
        .map(|(dir, dx)| (dir, dx, &mut [][..]))
        .collect();
    if cell == Cell::Gru {
        for (job, dh) in jobs.iter_mut().zip(dhw.chunks_mut(n * g)) {
            job.2 = dh;
        }
    }
    directions::each_direction(jobs, |(dir, dx, dh)| {
        backward_direction(cell, grad, w_hh, plan, saved, dir, dx, dh)
    });
    let device = Device::flex();
    let h_prev = io::tensor(saved.h_prev.clone(), [nd, n, d], &device).swap_dims(1, 2);
    let dxw = io::tensor(dxw, [nd, n, g], &device);
    let (dw, db) = if cell == Cell::Gru {
        let dhw = io::tensor(dhw, [nd, n, g], &device);
        let db = dhw.clone().sum_dim(1).reshape([nd, g]);
        (h_prev.matmul(dhw), Some(Grad::from_tensor(db)))
    } else {
        (h_prev.matmul(dxw.clone()), None)
    };
    (
        Grad::from_tensor(dxw.reshape([nd * n, g])),
        Grad::from_tensor(dw),
        db,
    )
}

/// The backward recurrence of direction `dir`: its rows of `dxw` and (GRU) `dhw`. The two
/// directions are independent and run on two threads where the pool has them.
#[allow(clippy::too_many_arguments)]
fn backward_direction(
    cell: Cell,
    grad: &[f32],
    w_hh: &[f32],
    plan: &Plan,
    saved: &Saved,
    dir: usize,
    dxw: &mut [f32],
    dhw: &mut [f32],
) {
    let (b, t, d, nd, n) = (
        plan.batch,
        plan.max_len,
        plan.d_hidden,
        plan.num_dirs,
        plan.num_rows(),
    );
    let g = cell.num_gates() * d;
    let w_t = directions::transposed(w_hh, dir, d, g);
    let mut dh = vec![0.0f32; b * d];
    // the rows times W_hhᵀ: the GRU's dhw, the RNN's dxw
    let (src, other) = if cell == Cell::Gru {
        (dhw, dxw)
    } else {
        (dxw, dhw)
    };
    directions::backward_steps(plan, dir, &w_t, g, &mut dh, src, |active, time, dh, src| {
        let (dxw, dhw) = if cell == Cell::Gru {
            (&mut *other, src)
        } else {
            (src, &mut *other)
        };
        vectorized(BackwardStep {
            cell,
            active,
            d,
            dir,
            n,
            nd,
            time,
            t,
            grad,
            saved,
            dh,
            dxw,
            dhw,
        });
    });
}

/// One backward step of direction `dir` for the rows in `active`: writes their `dxw` (and
/// the GRU's `dhw`; both this direction's `[N, G]` rows) and replaces `dh` by its direct part
/// towards the previous step (GRU: dh·z; RNN: 0); the caller adds `dhw · W_hhᵀ`.
struct BackwardStep<'a> {
    cell: Cell,
    active: &'a [(usize, usize)],
    d: usize,
    dir: usize,
    n: usize,
    nd: usize,
    time: usize,
    t: usize,
    /// `[B, T, nd·H]`
    grad: &'a [f32],
    saved: &'a Saved,
    dh: &'a mut [f32],
    dxw: &'a mut [f32],
    dhw: &'a mut [f32],
}

impl Kernel for BackwardStep<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let BackwardStep {
            cell,
            active,
            d,
            dir,
            n,
            nd,
            time,
            t,
            grad,
            saved,
            dh,
            dxw,
            dhw,
        } = self;
        let g = cell.num_gates() * d;
        for &(bi, r) in active {
            let row = dir * n + r;
            let o = ((bi * t + time) * nd + dir) * d;
            let gout = &grad[o..o + d];
            let act = &saved.act[row * g..(row + 1) * g];
            let dh = &mut dh[bi * d..(bi + 1) * d];
            let dx = &mut dxw[r * g..(r + 1) * g];
            match cell {
                Cell::Gru => {
                    let (ar, rest) = act.split_at(d);
                    let (az, an) = rest.split_at(d);
                    let hn = &saved.hn[row * d..(row + 1) * d];
                    let hp = &saved.h_prev[row * d..(row + 1) * d];
                    let dhr = &mut dhw[r * g..(r + 1) * g];
                    for j in 0..d {
                        let dhj = dh[j] + gout[j];
                        let (rg, zg, ng) = (ar[j], az[j], an[j]);
                        let da_n = dhj * (1.0 - zg) * (1.0 - ng * ng);
                        let da_z = dhj * (hp[j] - ng) * zg * (1.0 - zg);
                        let da_r = da_n * hn[j] * rg * (1.0 - rg);
                        dx[j] = da_r;
                        dx[d + j] = da_z;
                        dx[2 * d + j] = da_n;
                        dhr[j] = da_r;
                        dhr[d + j] = da_z;
                        dhr[2 * d + j] = da_n * rg;
                        dh[j] = dhj * zg;
                    }
                }
                _ => {
                    for j in 0..d {
                        let v = act[j];
                        dx[j] = (dh[j] + gout[j]) * (1.0 - v * v);
                        dh[j] = 0.0;
                    }
                }
            }
        }
    }
}
