//! Padded-sequence helpers shared by the recurrences, the CRF, the attention block and the
//! output layers: length masks, the real tokens of a padded batch (`TokenRows`), a stable
//! log-sum-exp, and the split of a time-major tensor into per-step views.
//!
//! Why the split is not a plain loop of `slice`: burn's autodiff backward of `slice` allocates a
//! zero tensor of the whole source and writes the step's gradient into it, so slicing T steps
//! out of a `[T, B, G]` tensor costs O(T²·B·G) in the backward pass (burn-0.22-notes §1, §9.11).
//! Halving recursively makes every level of the tree cost one pass over the tensor: O(T·log T).

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

/// `[B, T]` float mask: 1.0 on the first `lengths[b]` positions of row `b`, 0.0 on padding.
pub fn length_mask(lengths: &[usize], max_len: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = lengths
        .iter()
        .flat_map(|&l| (0..max_len).map(move |t| if t < l { 1.0 } else { 0.0 }))
        .collect();
    Tensor::from_data(TensorData::new(values, [lengths.len(), max_len]), device)
}

/// The real tokens of a right-padded `[B, T]` batch as rows of the flattened `[B·T]` one:
/// layers that treat tokens independently (projections, output layers, layer norms) run on
/// them only. Both moves are burn ops (`select`, `select_assign`), which autodiff
/// differentiates as a gather and a scatter.
pub(crate) struct TokenRows {
    /// Row `b·T + i` for every `i < lengths[b]`, in batch order.
    rows: Tensor<1, Int>,
}

impl TokenRows {
    /// `None` when there is no padding (nothing to skip).
    pub(crate) fn new(lengths: &[usize], t: usize, device: &Device) -> Option<Self> {
        let count: usize = lengths.iter().sum();
        if count == lengths.len() * t {
            return None;
        }
        let rows: Vec<i64> = lengths
            .iter()
            .enumerate()
            .flat_map(|(b, &len)| (0..len).map(move |i| (b * t + i) as i64))
            .collect();
        let rows = Tensor::from_data(TensorData::new(rows, [count]), device);
        Some(Self { rows })
    }

    /// `[B, T, D]` → `[N, D]`, the N real tokens.
    pub(crate) fn pack(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, t, d] = x.dims();
        x.reshape([b * t, d]).select(0, self.rows.clone())
    }

    /// `[N, D]` → `[B, T, D]`, zero at padding.
    pub(crate) fn unpack(&self, y: Tensor<2>, b: usize, t: usize) -> Tensor<3> {
        let d = y.dims()[1];
        debug_assert_eq!(y.dims()[0], self.rows.dims()[0]);
        Tensor::<2>::zeros([b * t, d], &y.device())
            .select_assign(0, self.rows.clone(), y, IndexingUpdateOp::Add)
            .reshape([b, t, d])
    }
}

/// Numerically stable log-sum-exp along `dim`; the reduced dim is kept (size 1).
///
/// The shift by the maximum is detached: it cancels exactly in the value, so its gradient is
/// zero anyway, and detaching saves the max's backward.
pub fn logsumexp<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let m = x.clone().max_dim(dim).detach();
    (x - m.clone()).exp().sum_dim(dim).log() + m
}

/// Splits a time-major `[T, B, G]` tensor into its `T` steps `[B, G]` by recursive halving
/// (see the module doc for why not one slice per step).
pub fn time_steps(x: Tensor<3>) -> Vec<Tensor<2>> {
    let [t, _, _] = x.dims();
    let mut out = Vec::with_capacity(t);
    split_steps(x, &mut out);
    out
}

fn split_steps(x: Tensor<3>, out: &mut Vec<Tensor<2>>) {
    let [t, b, g] = x.dims();
    match t {
        0 => {}
        1 => out.push(x.reshape([b, g])),
        _ => {
            let mid = t / 2;
            split_steps(x.clone().slice(s![0..mid]), out);
            split_steps(x.slice(s![mid..t]), out);
        }
    }
}

/// Per-step padding masks `[B, 1]` (true = padding) of a `[B, T]` float mask, time-major.
///
/// Masks carry no gradient, so plain slices are cheap here.
pub fn step_pads(mask: &Tensor<2>) -> Vec<Tensor<2, Bool>> {
    let [_, t] = mask.dims();
    let pads = mask.clone().equal_elem(0.0);
    (0..t)
        .map(|i| pads.clone().slice(s![.., i..i + 1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_steps_returns_every_step_in_order() {
        let device = Device::flex();
        let x = Tensor::<1, Int>::arange(0..(7 * 2 * 3), &device)
            .float()
            .reshape([7, 2, 3]);
        let steps = time_steps(x.clone());
        assert_eq!(steps.len(), 7);
        for (i, s) in steps.into_iter().enumerate() {
            let want = x.clone().slice(s![i..i + 1]).reshape([2, 3]);
            assert_eq!(s.to_data(), want.to_data());
        }
    }

    #[test]
    fn time_steps_gradient_is_exact() {
        let device = Device::flex().autodiff();
        let x = Tensor::<3>::ones([5, 2, 3], &device).require_grad();
        let steps = time_steps(x.clone());
        // loss = sum_i (i + 1) * sum(step_i)  =>  d loss / d x[i] = i + 1
        let loss = steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.sum() * (i as f32 + 1.0))
            .reduce(|a, b| a + b)
            .unwrap(); // five steps: the iterator is not empty
        let g = x.grad(&loss.backward()).unwrap(); // x requires grad and was used
        let g: Vec<f32> = g.try_to_vec_as().unwrap(); // flex reads f32 back
        for i in 0..5 {
            assert!(g[i * 6..(i + 1) * 6].iter().all(|&v| v == i as f32 + 1.0));
        }
    }

    #[test]
    fn logsumexp_matches_direct_formula() {
        let device = Device::flex();
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]], &device);
        let v: Vec<f32> = logsumexp(x, 1).try_to_vec_as().unwrap();
        let want0 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() as f32;
        assert!((v[0] - want0).abs() < 1e-5);
        assert!((v[1] - (1000.0 + 2f32.ln())).abs() < 1e-3);
    }
}
