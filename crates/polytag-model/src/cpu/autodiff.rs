//! Fused ops on the CPU training device ([`super::Path::Autodiff`]): a kernel's forward runs
//! on the inputs' values, its output is recorded as ONE autodiff op, and its hand-written
//! backward ([`Backward`]) turns the output's gradient into the inputs' gradients.
//!
//! This is the only file that names burn's autodiff internals (`Backward`, `Ops`,
//! `NodeGuard`, `Checkpointer`, `FlexTensor`, ...): the kernels see slices, [`Input`],
//! [`Held`] and [`Grad`].

use std::borrow::Cow;
use std::marker::PhantomData;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward as BurnBackward, NodeGuard, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::DType;

use super::Path;

/// The backend of `Device::flex().autodiff()` (no gradient checkpointing).
type Ad = Autodiff<Flex>;

/// The backward pass of a fused op with `N` inputs; the value is the state the forward saved.
pub(crate) trait Backward<const N: usize>: Clone + Send + std::fmt::Debug + 'static {
    /// The gradients of the inputs, in input order, from the output's gradient `grad`
    /// (row-major, the output's shape).
    fn backward(self, grad: &[f32]) -> [Grad; N];
}

/// An f32 input of a fused op on the CPU training device: its values and its graph node.
pub(crate) struct Input {
    held: Held,
    node: NodeGuard,
}

/// `t` as an input of a fused op; `None` where fused ops do not apply (another device, a
/// float type other than f32): the caller then takes the tensor path.
pub(crate) fn input<const D: usize>(t: Tensor<D>) -> Option<Input> {
    if t.dtype() != DType::F32 || Path::of(&t.device()) != Path::Autodiff {
        return None;
    }
    let (tensor, node) = t.try_into_primitive::<Ad>().ok()?.into_parts();
    Some(Input {
        held: Held(tensor),
        node,
    })
}

impl Input {
    /// The values, row-major ([`Held::values`]).
    pub(crate) fn values(&self) -> Option<Cow<'_, [f32]>> {
        self.held.values()
    }

    /// The shape.
    pub(crate) fn dims(&self) -> Vec<usize> {
        self.held.dims()
    }

    /// The tensor, to keep for the backward pass (shares the buffer).
    pub(crate) fn hold(&self) -> Held {
        self.held.clone()
    }
}

/// A tensor a fused op keeps for its backward pass.
#[derive(Clone, Debug)]
pub(crate) struct Held(FlexTensor);

impl Held {
    /// A tensor of the plain CPU device, to read without copying (the host path's view of
    /// tensors other ops still share); `None` on another device or for a dtype other than f32.
    pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Option<Held> {
        if t.dtype() != DType::F32 || Path::of(&t.device()) != Path::Host {
            return None;
        }
        t.try_into_primitive::<Flex>().ok().map(Held)
    }

    /// The values, row-major: borrowed when the layout is contiguous, else copied in
    /// row-major order. `None` if they are not f32, which [`input`] rules out: a kernel
    /// receiving `None` in its forward returns `None` (the tensor path then runs), and
    /// never reads an empty slice instead.
    pub(crate) fn values(&self) -> Option<Cow<'_, [f32]>> {
        match self.0.as_slice::<f32>() {
            Some(v) => Some(Cow::Borrowed(v)),
            // a strided or offset layout (a transposed or sliced view)
            None => Some(Cow::Owned(
                self.0.to_contiguous().as_slice::<f32>()?.to_vec(),
            )),
        }
    }

    /// The shape.
    pub(crate) fn dims(&self) -> Vec<usize> {
        self.0.layout().shape().iter().copied().collect()
    }
}

/// The gradient of one input of a fused op.
pub(crate) struct Grad(FlexTensor);

impl Grad {
    /// From row-major `values` of `shape` (no copy).
    pub(crate) fn new(values: Vec<f32>, shape: &[usize]) -> Grad {
        Grad(FlexTensor::from_data(TensorData::new(
            values,
            shape.to_vec(),
        )))
    }

    /// From a tensor on the plain CPU device (no copy).
    pub(crate) fn from_tensor<const D: usize>(t: Tensor<D>) -> Grad {
        Grad(
            t.try_into_primitive::<Flex>()
                .expect("gradients are computed on the plain flex device"),
        )
    }
}

/// Records the fused op: `out` (row-major, `shape`) computed from `inputs`; `state` is what
/// its backward reads, kept only when some input needs a gradient.
pub(crate) fn record<S, const N: usize, const D: usize>(
    inputs: [Input; N],
    state: S,
    out: Vec<f32>,
    shape: [usize; D],
) -> Tensor<D>
where
    S: Backward<N>,
{
    let nodes = inputs.map(|i| i.node);
    let out = FlexTensor::from_data(TensorData::new(out, shape));
    let out = match Op::<S>(PhantomData)
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive::<Ad>(out)
}

/// burn's side of a [`Backward`].
#[derive(Debug)]
struct Op<S>(PhantomData<S>);

impl<S: Backward<N>, const N: usize> BurnBackward<Flex, N> for Op<S> {
    type State = S;

    fn backward(self, ops: Ops<S, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let grad = Held(grad);
        let values = grad.values().expect("the gradient of an f32 op is f32");
        let inputs = ops.state.backward(&values);
        for (parent, Grad(g)) in ops.parents.into_iter().zip(inputs) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transposed (strided) input reads in row-major order of its logical shape, not as
    /// an empty or storage-order slice.
    #[test]
    fn strided_input_reads_row_major() {
        let device = Device::flex().autodiff();
        let t = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], &device);
        let input = input(t.transpose()).expect("an f32 tensor on the training device");
        assert_eq!(input.dims(), vec![3, 2]);
        let values = input.values().expect("f32 values");
        assert!(
            matches!(values, Cow::Owned(_)),
            "a transposed view is not contiguous"
        );
        assert_eq!(&*values, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        // the plain device is not the training device
        assert!(super::input(Tensor::<1>::ones([2], &Device::flex())).is_none());
    }
}
