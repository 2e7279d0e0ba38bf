//! Fused ops for training on the CPU: one recorded autodiff op with a hand-written forward
//! and backward over `f32` slices, where the tensor path records tens of small burn ops.
//!
//! On the `flex` autodiff device every recorded op costs ~5–15 µs forward + backward before
//! any arithmetic (measured on `[38, 684]`, `bench_train_parts`), and `sigmoid`/`exp` run
//! through scalar libm; a recurrence or a lattice recursion records tens of ops per time
//! step. The components with such loops (the LSTM, the char CNN, the highway mix, the CRF's
//! forward algorithm) therefore record one op each on that device, built with the helpers
//! here. Each is tested against the tensor path's values and autodiff gradients. Other
//! devices (GPU), the other float types and gradient checkpointing keep the tensor path
//! (`primitive` refuses them).

use std::borrow::Cow;

use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::ops::{Backward, NodeGuard, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::{DType, Shape};

/// The backend of `Device::flex().autodiff()` (no gradient checkpointing).
pub(crate) type Ad = Autodiff<Flex>;

/// Whether fused ops serve tensors on `device`: the CPU training device.
pub(crate) fn applies(device: &Device) -> bool {
    device.is_autodiff() && *device == Device::flex()
}

/// The flex tensor and autodiff node of an f32 tensor on the CPU training device; `None`
/// for anything else (the caller takes the tensor path).
pub(crate) fn primitive<const D: usize>(t: Tensor<D>) -> Option<(FlexTensor, NodeGuard)> {
    if t.dtype() != DType::F32 {
        return None;
    }
    Some(t.try_into_primitive::<Ad>().ok()?.into_parts())
}

/// Records `op` with its inputs' `nodes` and the output `out`; `state` is what its backward
/// reads (only kept when some input needs a gradient).
pub(crate) fn record<O, const N: usize, const D: usize>(
    op: O,
    nodes: [NodeGuard; N],
    state: O::State,
    out: FlexTensor,
) -> Tensor<D>
where
    O: Backward<Flex, N>,
{
    let out = match op
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive::<Ad>(out)
}

/// The values of an f32 flex tensor, row-major (borrowed when contiguous).
pub(crate) fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(v) => Cow::Borrowed(v),
        // `primitive` admitted f32 only, so only the layout can make `as_slice` refuse
        None => Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .map(<[f32]>::to_vec)
                .unwrap_or_default(),
        ),
    }
}

/// A flex tensor holding `values` (row-major, no copy).
pub(crate) fn flex(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}
