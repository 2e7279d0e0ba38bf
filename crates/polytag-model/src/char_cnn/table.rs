//! The char CNN by table lookups, on the CPU: inference on the host ([`crate::host`]) and
//! training as one autodiff op on the `flex` autodiff device.
//!
//! A convolution over embedded chars is linear in the embedding, so each filter offset `j`
//! has a table `Q_j = E · W_j` (`[V, F]`, all filters side by side) and a window's output is
//! `b + Σ_j Q_j[c_{p+j}]`: `k` row additions instead of `d·k` multiply-adds per output (the
//! paper's sizes: 4 rows of 60 instead of 18,000 multiply-adds per window). The tables are
//! one small matmul per forward, recorded by autodiff like any other op, so the embedding
//! and the kernels get their gradients through it.
//!
//! The max runs over the same windows as the tensor path (window `p` counts iff it ends on a
//! real char, or is the first), and the activation, monotonic for every [`Activation`], is
//! applied once to the maximum: max f(y) = f(max y), and its derivative is f′ at the same
//! window. Padding chars (id 0) are never read, which is what the embedding's padding mask
//! does in the tensor path (row 0 contributes nothing and gets no gradient).
//!
//! Measured (`examples/bench_train_parts.rs`, 19 CoNLL sentences, T = 35, L = 13): forward +
//! backward 11.6 ms with burn's `Conv1d`, 0.33 ms as the fused op; inference on a batch of
//! 100 (`examples/bench_parts.rs`): 17.4 ms → 0.4 ms.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::Flex;
use burn::prelude::*;

use super::CharCnn;
use crate::activation::Activation;
use crate::fused::{flex, values};
use crate::{fused, host};

impl CharCnn {
    /// The tables `Q` `[V, K·F]` (`Q[c, j·F + o]` = offset `j` of output channel `o` for char
    /// `c`; zero where `j` is past that filter's width) and the biases `[F]`, as tensors on
    /// the weights' device.
    fn tables(&self) -> (Tensor<2>, Tensor<1>) {
        let device = self.embedding.weight.val().device();
        let dim = self.embedding.dimension();
        let widest = self.widths.iter().copied().max().unwrap_or(1).max(1);
        let offsets: Vec<Tensor<2>> = (0..widest)
            .map(|j| {
                let cols: Vec<Tensor<2>> = self
                    .convs
                    .iter()
                    .zip(&self.widths)
                    .map(|(conv, &k)| {
                        let [f, _, _] = conv.weight.lazy_shape().dims::<3>();
                        if j < k {
                            conv.weight
                                .val()
                                .narrow(2, j, 1)
                                .reshape([f, dim])
                                .transpose()
                        } else {
                            Tensor::zeros([dim, f], &device)
                        }
                    })
                    .collect();
                Tensor::cat(cols, 1)
            })
            .collect();
        let table = self.embedding.weight.val().matmul(Tensor::cat(offsets, 1));
        let bias = Tensor::cat(
            self.convs
                .iter()
                .map(|conv| match &conv.bias {
                    Some(b) => b.val(),
                    None => Tensor::zeros([conv.weight.lazy_shape().dims::<3>()[0]], &device),
                })
                .collect(),
            0,
        );
        (table, bias)
    }

    /// `(width, count)` per filter.
    fn layout(&self) -> Vec<(usize, usize)> {
        self.convs
            .iter()
            .zip(&self.widths)
            .map(|(c, &k)| (k, c.weight.lazy_shape().dims::<3>()[0]))
            .collect()
    }

    /// [`Self::forward`] on the host, for inference on the CPU.
    pub(super) fn forward_host(&self, chars: Tensor<3, Int>, word_mask: Tensor<2>) -> Tensor<3> {
        let [b, t, l] = chars.dims();
        let device = chars.device();
        let d_out = self.d_output();
        let (table, bias) = self.tables();
        let (table, bias) = (host::read(table), host::read(bias));
        let chars = host::read_ids(chars);
        let mask = host::read(word_mask);
        let layout = self.layout();
        let mut out = vec![0.0f32; b * t * d_out];
        host::vectorized(Encode {
            windows: &Windows::new(&table, &bias, &layout),
            chars: &chars,
            l,
            mask: &mask,
            out: &mut out,
            argmax: None,
            activation: Some(self.activation),
        });
        host::tensor(out, [b, t, d_out], &device)
    }

    /// [`Self::forward`] as the fused op, on the autodiff CPU device; `None` elsewhere (the
    /// caller then takes the tensor path).
    pub(super) fn forward_fused(
        &self,
        chars: &Tensor<3, Int>,
        word_mask: &Tensor<2>,
    ) -> Option<Tensor<3>> {
        if !fused::applies(&chars.device()) {
            return None;
        }
        let [b, t, l] = chars.dims();
        let d_out = self.d_output();
        let (table, bias) = self.tables();
        let windows = Arc::new(WindowInput {
            chars: host::read_ids(chars.clone()),
            mask: host::read(word_mask.clone()).to_vec(),
            l,
            layout: self.layout(),
        });
        let y = window_max_op(table, bias, windows)?; // [B·T, F], pre-activation
        Some(
            self.activation.apply(y.reshape([b, t, d_out]))
                * word_mask.clone().unsqueeze_dim::<3>(2),
        )
    }
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

impl host::Kernel for Encode<'_> {
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
                    .for_each(|(o, &m)| *o = act.apply_host(m)),
                None => o.copy_from_slice(&best),
            }
            if let Some(arg) = argmax.as_deref_mut() {
                arg[n * d_out..(n + 1) * d_out].copy_from_slice(&best_at);
            }
        }
    }
}

/// The constant inputs of the training op.
#[derive(Debug)]
struct WindowInput {
    /// `[N, L]` char ids.
    chars: Vec<i64>,
    /// `[N]` word mask.
    mask: Vec<f32>,
    l: usize,
    layout: Vec<(usize, usize)>,
}

/// The recorded op: tables `[V, K·F]` and biases `[F]` → the pre-activation max `[N, F]`.
fn window_max_op(table: Tensor<2>, bias: Tensor<1>, input: Arc<WindowInput>) -> Option<Tensor<2>> {
    let (table, table_node) = fused::primitive(table)?;
    let (bias, bias_node) = fused::primitive(bias)?;
    let shape = table.layout().shape();
    let [v, row_len] = [shape[0], shape[1]];
    let n = input.mask.len();
    let d_out: usize = input.layout.iter().map(|&(_, f)| f).sum();
    let (table_v, bias_v) = (values(&table), values(&bias));
    if bias_v.len() != d_out || table_v.len() != v * row_len || input.chars.len() != n * input.l {
        return None;
    }
    let mut out = vec![0.0f32; n * d_out];
    let mut argmax = vec![u32::MAX; n * d_out];
    host::vectorized(Encode {
        windows: &Windows::new(&table_v, &bias_v, &input.layout),
        chars: &input.chars,
        l: input.l,
        mask: &input.mask,
        out: &mut out,
        argmax: Some(&mut argmax),
        activation: None,
    });
    Some(fused::record(
        WindowMaxBackward,
        [table_node, bias_node],
        (input, Arc::new(argmax), [v, row_len]),
        flex(out, [n, d_out]),
    ))
}

#[derive(Debug)]
struct WindowMaxBackward;

impl Backward<Flex, 2> for WindowMaxBackward {
    type State = (Arc<WindowInput>, Arc<Vec<u32>>, [usize; 2]);

    /// Each output is one window's `b + Σ_j Q_j[c_{p+j}]`: its gradient goes to the bias and
    /// to the table rows of that window's chars (none for padding chars).
    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (input, argmax, [v, row_len]) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node);
        let grad = values(&grad);
        let d_out: usize = input.layout.iter().map(|&(_, f)| f).sum();
        let mut d_table = vec![0.0f32; v * row_len];
        let mut d_bias = vec![0.0f32; d_out];
        let l = input.l;
        for (n, word) in input.chars.chunks_exact(l.max(1)).enumerate() {
            let at = &argmax[n * d_out..(n + 1) * d_out];
            let g = &grad[n * d_out..(n + 1) * d_out];
            let mut o = 0;
            for &(k, f) in &input.layout {
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
        let [table_parent, bias_parent] = ops.parents;
        if let Some(node) = table_parent {
            grads.register::<Flex>(node.id, flex(d_table, [v, row_len]));
        }
        if let Some(node) = bias_parent {
            grads.register::<Flex>(node.id, flex(d_bias, [d_out]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::CharCnnConfig;
    use super::*;
    use crate::sequence::length_mask;
    use crate::test_support::RNG;

    /// Random words of 1..=9 chars in 3 sentences padded to 4 words, L = 9, char ids with
    /// repeats (ties between windows) and a vocabulary with an unused tail.
    fn batch(device: &Device) -> (Tensor<3, Int>, Tensor<2>) {
        let lens = [[3usize, 1, 9, 0], [2, 5, 0, 0], [4, 4, 4, 7]];
        let mut ids = vec![0i64; 3 * 4 * 9];
        let mut next = 1i64;
        for (s, words) in lens.iter().enumerate() {
            for (w, &n) in words.iter().enumerate() {
                for c in 0..n {
                    ids[(s * 4 + w) * 9 + c] = 1 + (next % 11);
                    next = next * 7 % 23 + (c as i64 % 2);
                }
            }
        }
        (
            Tensor::from_data(TensorData::new(ids, [3, 4, 9]), device),
            length_mask(&[3, 2, 4], 4, device),
        )
    }

    /// Host path (plain device), fused op (autodiff device) and tensor path give the same
    /// word vectors for every activation; the fused op's gradients of the embedding, kernels
    /// and biases equal the tensor path's.
    /// Words narrower than the widest filter in a batch whose `L` is narrower too (the tensor
    /// path pads the chars to the widest filter; the table paths read past `L` as padding).
    #[test]
    fn table_paths_match_the_convolution_when_l_is_below_the_widest_filter() {
        let device = Device::flex().autodiff();
        let cnn = CharCnnConfig::new(6, 3, vec![(2, 2), (4, 3)]).init(&device);
        let chars = Tensor::<3, Int>::from_data(
            TensorData::new(vec![1i64, 2, 3, 0, 5, 5, 0, 0], [2, 2, 2]),
            &device,
        );
        let mask = length_mask(&[2, 1], 2, &device);
        let reference = cnn.forward_tensor(chars.clone(), mask.clone());
        let fused = cnn
            .forward_fused(&chars, &mask)
            .expect("fused path applies");
        let host = cnn.valid().forward(chars.inner(), mask.inner());
        let diff = |a: Tensor<3>, b: Tensor<3>| (a - b).abs().max().into_scalar::<f32>();
        assert!(diff(reference.clone(), fused) < 1e-5);
        assert!(diff(reference.inner(), host) < 1e-5);
    }

    #[test]
    fn table_paths_match_the_convolution() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        for activation in [Activation::Relu, Activation::Tanh, Activation::Selu] {
            let device = Device::flex().autodiff();
            device.seed(3);
            let cnn = CharCnnConfig::new(16, 5, vec![(2, 3), (3, 4), (4, 2)])
                .with_activation(activation)
                .init(&device);
            let (chars, mask) = batch(&device);
            let r = Tensor::<3>::random(
                [3, 4, 9],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            );
            let reference = cnn.forward_tensor(chars.clone(), mask.clone());
            let fused = cnn
                .forward_fused(&chars, &mask)
                .expect("fused path applies");
            let diff = (reference.clone() - fused.clone())
                .abs()
                .max()
                .into_scalar::<f32>();
            assert!(diff < 1e-5, "{activation:?}: fused {diff}");
            let plain = cnn.valid();
            let host = plain.forward(chars.clone().inner(), mask.clone().inner());
            let diff = (reference.clone().inner() - host)
                .abs()
                .max()
                .into_scalar::<f32>();
            assert!(diff < 1e-5, "{activation:?}: host {diff}");

            let g_ref = (reference * r.clone()).sum().backward();
            let g_fused = (fused * r).sum().backward();
            let mut pairs = vec![(
                cnn.embedding.weight.val().grad(&g_ref).unwrap(),
                cnn.embedding.weight.val().grad(&g_fused).unwrap(),
            )];
            for conv in &cnn.convs {
                let w = conv.weight.val();
                let n = w.dims().iter().product::<usize>();
                pairs.push((
                    w.grad(&g_ref).unwrap().reshape([n, 1]),
                    w.grad(&g_fused).unwrap().reshape([n, 1]),
                ));
                let b = conv.bias.as_ref().unwrap().val();
                pairs.push((
                    b.grad(&g_ref).unwrap().unsqueeze(),
                    b.grad(&g_fused).unwrap().unsqueeze(),
                ));
            }
            for (i, (a, b)) in pairs.into_iter().enumerate() {
                let diff = (a - b).abs().max().into_scalar::<f32>();
                assert!(
                    diff < 1e-4,
                    "{activation:?}: gradient {i} differs by {diff}"
                );
            }
        }
    }
}
