//! The LSTM recurrence as ONE autodiff op on the CPU training device (`flex` + autodiff):
//! forward and backward are hand-written loops over `f32` slices around one `h·W_hh` matmul
//! per step, instead of ~20 recorded burn ops per step and their generic backward.
//!
//! Why: measured on a CoNLL training batch (19 sentences, T = 35; `bench_train_parts`), the
//! tensor path spends 49 ms of a 73 ms step in the BiLSTM, most of it in per-op overhead
//! (each recorded op costs ~5–15 µs fwd+bwd on `[38, 684]`, its sigmoid ~160 µs through
//! scalar libm) and in the padding of short sentences, which a random batch is ~70 % of.
//! Here each step only touches the rows with a real token (like PyTorch's packed sequences),
//! and the gates, state update and their derivatives are single fused passes: 6.2 ms for the
//! same batch. A step's few rows times `W_hh` go through [`host::SmallMatmul`] (no packing).
//!
//! What it computes is [`Recurrent::run_tensor`]'s LSTM, exactly (up to f32 rounding):
//! same gates `[i, f, g, o]`, same masking (a padded step carries the state and outputs
//! zero), same time-reversed backward direction. The input projection `x·W_ih + b` stays a
//! burn matmul (on the real tokens only); the op takes its result and `W_hh`, and returns
//! the outputs `[B, T, dirs·H]`. Gradients: derived by hand below and checked against the
//! tensor path's autodiff in the tests.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::Flex;
use burn::prelude::*;

use super::{Cell, CellWeights, Recurrent};
use crate::fused::{flex, values};
use crate::{fused, host};

impl Recurrent {
    /// The stack's outputs through the fused op, or `None` where it does not apply (another
    /// device or cell, a float type other than f32, checkpointing): the caller then takes the
    /// tensor path.
    pub(super) fn forward_fused(&self, x: &Tensor<3>, mask: &Tensor<2>) -> Option<Tensor<3>> {
        let device = x.device();
        if self.cell != Cell::Lstm || !fused::applies(&device) {
            return None;
        }
        let [b, t, _] = x.dims();
        let mask = host::read(mask.clone());
        let nd = if self.layers.first()?.backward.is_some() {
            2
        } else {
            1
        };
        let plan = Arc::new(Plan::new(&mask, b, t, self.d_hidden, nd)?);
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(plan.rows.clone(), [plan.rows.len()]),
            &device,
        );
        let mut input = x.clone();
        for (li, layer) in self.layers.iter().enumerate() {
            if li > 0 {
                input = crate::dropout::dropout(&self.dropout, input);
            }
            let dirs: Vec<&CellWeights> = std::iter::once(&layer.forward)
                .chain(&layer.backward)
                .collect();
            if dirs.len() != plan.nd {
                return None;
            }
            let [_, _, d_in] = input.dims();
            // the input projection of the real tokens, direction-major: [dirs·N, G]
            let real = input
                .clone()
                .reshape([b * t, d_in])
                .select(0, index.clone());
            let xw = Tensor::cat(
                dirs.iter().map(|w| w.x2h.forward(real.clone())).collect(),
                0,
            );
            let w_hh = Tensor::stack::<3>(dirs.iter().map(|w| w.h2h.weight.val()).collect(), 0);
            input = lstm_op(xw, w_hh, plan.clone())?;
        }
        Some(input)
    }
}

/// Which real token each step of each direction updates; constant for a batch.
#[derive(Debug)]
struct Plan {
    b: usize,
    t: usize,
    /// Hidden size H.
    d: usize,
    /// Directions (1 or 2).
    nd: usize,
    /// `b·T + t` of each real token, in that (row-major) order: row `r` of the op's inputs.
    rows: Vec<i64>,
    /// `steps[k][s]`: `(b, r)` of the rows that direction `k` updates at step `s` (position
    /// `s`, or `T−1−s` for the backward direction).
    steps: Vec<Vec<Vec<(usize, usize)>>>,
}

impl Plan {
    /// `None` for a batch without any real token.
    fn new(mask: &[f32], b: usize, t: usize, d: usize, nd: usize) -> Option<Plan> {
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
            b,
            t,
            d,
            nd,
            rows,
            steps: (0..nd).map(|k| steps(k == 1)).collect(),
        })
    }

    fn n(&self) -> usize {
        self.rows.len()
    }

    fn time(&self, k: usize, s: usize) -> usize {
        if k == 0 {
            s
        } else {
            self.t - 1 - s
        }
    }
}

/// What the backward pass reads, per direction `k` and real row `r` (index `k·N + r`).
#[derive(Debug)]
struct Saved {
    /// `[nd·N, 4H]`: σ(i), σ(f), tanh(g), σ(o).
    gates: Vec<f32>,
    /// `[nd·N, H]`: the cell state before the step.
    c_prev: Vec<f32>,
    /// `[nd·N, H]`: tanh of the cell state after the step.
    tanh_c: Vec<f32>,
    /// `[nd, N, H]`: the hidden state before the step (for `dW_hh`).
    h_prev: FlexTensor,
}

/// The recorded op: `xw` `[nd·N, 4H]`, `w_hh` `[nd, H, 4H]` → outputs `[B, T, nd·H]`.
fn lstm_op(xw: Tensor<2>, w_hh: Tensor<3>, plan: Arc<Plan>) -> Option<Tensor<3>> {
    let (xw, xw_node) = fused::primitive(xw)?;
    let (w_hh, w_node) = fused::primitive(w_hh)?;
    let shape = w_hh.layout().shape();
    if shape.num_dims() != 3 || [shape[0], shape[1], shape[2]] != [plan.nd, plan.d, 4 * plan.d] {
        return None;
    }
    let (out, saved) = lstm_forward(&xw, &w_hh, &plan);
    Some(fused::record(
        LstmBackward,
        [xw_node, w_node],
        (plan, Arc::new(saved), w_hh),
        out,
    ))
}

#[derive(Debug)]
struct LstmBackward;

impl Backward<Flex, 2> for LstmBackward {
    type State = (Arc<Plan>, Arc<Saved>, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (plan, saved, w_hh) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node);
        let (dxw, dw) = lstm_backward(&grad, &w_hh, &plan, &saved);
        let [xw_parent, w_parent] = ops.parents;
        if let Some(node) = xw_parent {
            grads.register::<Flex>(node.id, dxw);
        }
        if let Some(node) = w_parent {
            grads.register::<Flex>(node.id, dw);
        }
    }
}

/// Rows at most this many go through [`host::SmallMatmul`], more through burn's gemm
/// (which wins once the weight's packing is shared by enough rows).
const SMALL_ROWS: usize = 16;

/// One direction's `[K, N]` weight, on the host and (lazily) as a flex tensor.
struct Weight<'a> {
    values: &'a [f32],
    k: usize,
    n: usize,
    tensor: Option<FlexTensor>,
}

impl<'a> Weight<'a> {
    fn new(values: &'a [f32], k: usize, n: usize) -> Self {
        Weight {
            values,
            k,
            n,
            tensor: None,
        }
    }

    /// `rows` `[m, K]` times the weight, into `out` `[m, N]`.
    fn times(&mut self, rows: &[f32], m: usize, out: &mut Vec<f32>) {
        out.clear();
        if m <= SMALL_ROWS {
            out.resize(m * self.n, 0.0);
            host::vectorized(host::SmallMatmul {
                a: rows,
                b: self.values,
                out,
                m,
                k: self.k,
                n: self.n,
            });
        } else {
            let (weights, k, n) = (self.values, self.k, self.n);
            let w = self
                .tensor
                .get_or_insert_with(|| flex(weights.to_vec(), [k, n]));
            let y = Flex::float_matmul(flex(rows.to_vec(), [m, k]), w.clone());
            out.extend_from_slice(&values(&y));
        }
    }
}

fn lstm_forward(xw: &FlexTensor, w_hh: &FlexTensor, plan: &Plan) -> (FlexTensor, Saved) {
    let (b, t, d, nd, n) = (plan.b, plan.t, plan.d, plan.nd, plan.n());
    let g = 4 * d;
    let xw = values(xw);
    let mut out = vec![0.0f32; b * t * nd * d];
    let mut saved_gates = vec![0.0f32; nd * n * g];
    let mut c_prev = vec![0.0f32; nd * n * d];
    let mut tanh_c = vec![0.0f32; nd * n * d];
    let mut h_prev = vec![0.0f32; nd * n * d];
    let mut gathered = Vec::with_capacity(b * d);
    let mut hw = Vec::with_capacity(b * g);
    let w_all = values(w_hh);
    for k in 0..nd {
        let mut w = Weight::new(&w_all[k * d * g..(k + 1) * d * g], d, g);
        let mut h = vec![0.0f32; b * d];
        let mut c = vec![0.0f32; b * d];
        for s in 0..t {
            let active = &plan.steps[k][s];
            if active.is_empty() {
                continue;
            }
            gathered.clear();
            for &(bi, r) in active {
                let hs = &h[bi * d..(bi + 1) * d];
                gathered.extend_from_slice(hs);
                h_prev[(k * n + r) * d..(k * n + r + 1) * d].copy_from_slice(hs);
            }
            w.times(&gathered, active.len(), &mut hw);
            host::vectorized(ForwardStep {
                active,
                d,
                k,
                n,
                nd,
                time: plan.time(k, s),
                t,
                xw: &xw,
                hw: &hw,
                h: &mut h,
                c: &mut c,
                out: &mut out,
                gates: &mut saved_gates,
                c_prev: &mut c_prev,
                tanh_c: &mut tanh_c,
            });
        }
    }
    let out = flex(out, [b, t, nd * d]);
    let h_prev = flex(h_prev, [nd, n, d]);
    (
        out,
        Saved {
            gates: saved_gates,
            c_prev,
            tanh_c,
            h_prev,
        },
    )
}

/// One forward step of direction `k` for the rows in `active`.
struct ForwardStep<'a> {
    active: &'a [(usize, usize)],
    d: usize,
    k: usize,
    n: usize,
    nd: usize,
    time: usize,
    t: usize,
    /// `[nd·N, G]`
    xw: &'a [f32],
    /// `[active, G]`
    hw: &'a [f32],
    /// `[B, H]` state of this direction.
    h: &'a mut [f32],
    c: &'a mut [f32],
    out: &'a mut [f32],
    gates: &'a mut [f32],
    c_prev: &'a mut [f32],
    tanh_c: &'a mut [f32],
}

impl host::Kernel for ForwardStep<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (d, k, n) = (self.d, self.k, self.n);
        let g = 4 * d;
        for (a, &(bi, r)) in self.active.iter().enumerate() {
            let row = k * n + r;
            let x = &self.xw[row * g..(row + 1) * g];
            let hw = &self.hw[a * g..(a + 1) * g];
            let gates = &mut self.gates[row * g..(row + 1) * g];
            let c = &mut self.c[bi * d..(bi + 1) * d];
            self.c_prev[row * d..(row + 1) * d].copy_from_slice(c);
            let tc = &mut self.tanh_c[row * d..(row + 1) * d];
            let h = &mut self.h[bi * d..(bi + 1) * d];
            let (gi, rest) = gates.split_at_mut(d);
            let (gf, rest) = rest.split_at_mut(d);
            let (gg, go) = rest.split_at_mut(d);
            for j in 0..d {
                let i = host::sigmoid(x[j] + hw[j]);
                let f = host::sigmoid(x[d + j] + hw[d + j]);
                let gv = host::tanh(x[2 * d + j] + hw[2 * d + j]);
                let o = host::sigmoid(x[3 * d + j] + hw[3 * d + j]);
                let c_new = f * c[j] + i * gv;
                let t = host::tanh(c_new);
                gi[j] = i;
                gf[j] = f;
                gg[j] = gv;
                go[j] = o;
                c[j] = c_new;
                tc[j] = t;
                h[j] = o * t;
            }
            let o = ((bi * self.t + self.time) * self.nd + k) * d;
            self.out[o..o + d].copy_from_slice(h);
        }
    }
}

/// Gradients of the op: `dxw` `[nd·N, G]` and `dW_hh` `[nd, H, G]`, from the gradient of the
/// outputs `[B, T, nd·H]`. Per direction the steps run in reverse; `dh`, `dc` carry through
/// padded steps unchanged (the state was carried there), and a step's `dh_{t−1}` is
/// `dpre · W_hhᵀ`.
fn lstm_backward(
    grad: &FlexTensor,
    w_hh: &FlexTensor,
    plan: &Plan,
    saved: &Saved,
) -> (FlexTensor, FlexTensor) {
    let (b, t, d, nd, n) = (plan.b, plan.t, plan.d, plan.nd, plan.n());
    let g = 4 * d;
    let grad = values(grad);
    let mut dpre = vec![0.0f32; nd * n * g];
    let mut gathered = Vec::with_capacity(b * g);
    let mut dh_prev = Vec::with_capacity(b * d);
    let w_all = values(w_hh);
    for k in 0..nd {
        // W_hhᵀ [G, H], contiguous
        let w = &w_all[k * d * g..(k + 1) * d * g];
        let w_t: Vec<f32> = (0..g * d).map(|i| w[(i % d) * g + i / d]).collect();
        let mut w_t = Weight::new(&w_t, g, d);
        let mut dh = vec![0.0f32; b * d];
        let mut dc = vec![0.0f32; b * d];
        for s in (0..t).rev() {
            let active = &plan.steps[k][s];
            if active.is_empty() {
                continue;
            }
            host::vectorized(BackwardStep {
                active,
                d,
                k,
                n,
                nd,
                time: plan.time(k, s),
                t,
                grad: &grad,
                saved,
                dh: &mut dh,
                dc: &mut dc,
                dpre: &mut dpre,
            });
            gathered.clear();
            for &(_, r) in active {
                let row = k * n + r;
                gathered.extend_from_slice(&dpre[row * g..(row + 1) * g]);
            }
            w_t.times(&gathered, active.len(), &mut dh_prev);
            for (a, &(bi, _)) in active.iter().enumerate() {
                dh[bi * d..(bi + 1) * d].copy_from_slice(&dh_prev[a * d..(a + 1) * d]);
            }
        }
    }
    // dW_hh[k] = h_prev[k]ᵀ · dpre[k]
    let dpre = flex(dpre, [nd, n, g]);
    let dw = Flex::float_matmul(Flex::float_transpose(saved.h_prev.clone()), dpre.clone());
    (dpre.reshape([nd * n, g].into()), dw)
}

/// One backward step of direction `k` for the rows in `active`: writes their `dpre` and
/// updates `dh` (consumed) and `dc` (to the gradient of the previous cell state).
struct BackwardStep<'a> {
    active: &'a [(usize, usize)],
    d: usize,
    k: usize,
    n: usize,
    nd: usize,
    time: usize,
    t: usize,
    /// `[B, T, nd·H]`
    grad: &'a [f32],
    saved: &'a Saved,
    dh: &'a mut [f32],
    dc: &'a mut [f32],
    dpre: &'a mut [f32],
}

impl host::Kernel for BackwardStep<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let (d, k, n) = (self.d, self.k, self.n);
        let g = 4 * d;
        for &(bi, r) in self.active {
            let row = k * n + r;
            let o = ((bi * self.t + self.time) * self.nd + k) * d;
            let gout = &self.grad[o..o + d];
            let gates = &self.saved.gates[row * g..(row + 1) * g];
            let (gi, rest) = gates.split_at(d);
            let (gf, rest) = rest.split_at(d);
            let (gg, go) = rest.split_at(d);
            let c_prev = &self.saved.c_prev[row * d..(row + 1) * d];
            let tc = &self.saved.tanh_c[row * d..(row + 1) * d];
            let dh = &mut self.dh[bi * d..(bi + 1) * d];
            let dc = &mut self.dc[bi * d..(bi + 1) * d];
            let dp = &mut self.dpre[row * g..(row + 1) * g];
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

#[cfg(test)]
mod tests {
    use super::super::RecurrentConfig;
    use super::*;
    use crate::sequence::length_mask;
    use crate::test_support::RNG;
    use burn::module::Param;
    use burn::tensor::Distribution;

    fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    /// Outputs and the gradients of x and of every weight agree with the tensor path's
    /// autodiff, for one and two layers, uni- and bidirectional, ragged lengths (one sentence
    /// of length 1, one at the full T).
    #[test]
    fn fused_lstm_matches_tensor_path_values_and_gradients() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        device.seed(5);
        let lengths = [4usize, 1, 6, 3];
        let mask = length_mask(&lengths, 6, &device);
        let x0 = Tensor::<3>::random([4, 6, 5], Distribution::Normal(0.0, 1.0), &device);
        let r = Tensor::<3>::random([4, 6, 14], Distribution::Normal(0.0, 1.0), &device);
        for bidirectional in [false, true] {
            for layers in [1, 2] {
                let rnn = RecurrentConfig::new(5, 7, Cell::Lstm)
                    .with_bidirectional(bidirectional)
                    .with_num_layers(layers)
                    .with_forget_bias(1.0)
                    .init(&device);
                let d_out = rnn.d_output();
                let r = r.clone().narrow(2, 0, d_out);
                let run = |fused: bool| {
                    let x = x0.clone().detach().require_grad();
                    let out = if fused {
                        rnn.forward_fused(&x, &mask)
                            .expect("the fused path applies")
                    } else {
                        rnn.run_tensor(x.clone(), mask.clone(), true).0
                    };
                    let grads = (out.clone() * r.clone()).sum().backward();
                    let mut g: Vec<Tensor<2>> = vec![x.grad(&grads).unwrap().reshape([4, 30])];
                    let param = |p: &Param<Tensor<2>>| p.val().grad(&grads).unwrap();
                    for layer in &rnn.layers {
                        for w in std::iter::once(&layer.forward).chain(&layer.backward) {
                            g.push(param(&w.x2h.weight));
                            g.push(param(&w.h2h.weight));
                            let b = w.x2h.bias.as_ref().unwrap().val().grad(&grads).unwrap();
                            g.push(b.unsqueeze());
                        }
                    }
                    (out.inner(), g)
                };
                let (out_f, g_f) = run(true);
                let (out_t, g_t) = run(false);
                let tag = format!("bi={bidirectional} layers={layers}");
                assert!(max_diff(out_f, out_t) < 2e-6, "{tag}: outputs");
                assert_eq!(g_f.len(), g_t.len());
                for (i, (a, b)) in g_f.into_iter().zip(g_t).enumerate() {
                    let diff = max_diff(a.inner(), b.inner());
                    assert!(diff < 1e-5, "{tag}: gradient {i} differs by {diff}");
                }
            }
        }
    }

    /// The fused path serves only the LSTM on the autodiff CPU device.
    #[test]
    fn fused_path_applies_only_to_the_lstm_in_training() {
        let x = |device: &Device| Tensor::<3>::ones([1, 2, 3], device);
        let plain = Device::flex();
        let ad = plain.clone().autodiff();
        let lstm = RecurrentConfig::new(3, 2, Cell::Lstm).init(&ad);
        assert!(lstm
            .forward_fused(&x(&ad), &Tensor::ones([1, 2], &ad))
            .is_some());
        assert!(lstm
            .forward_fused(&x(&plain), &Tensor::ones([1, 2], &plain))
            .is_none());
        let gru = RecurrentConfig::new(3, 2, Cell::Gru).init(&ad);
        assert!(gru
            .forward_fused(&x(&ad), &Tensor::ones([1, 2], &ad))
            .is_none());
    }
}
