//! Tensors of the `flex` device to host slices and back: the one way to read a tensor's
//! values in the kernels. Used for the host path's activations and weights, and for the
//! constant inputs of the training ops (masks, char ids). The values an autodiff op records
//! are read through [`super::autodiff::Input`] instead, which borrows the op's own buffers
//! (no copy, and no second node in the graph).

use burn::prelude::*;

use super::autodiff::Held;

/// A tensor's values on the host, row-major, usable as `&[f32]` / `&mut [f32]`.
///
/// Holds the tensor's own buffer (no copy for a flex tensor nothing else shares): turning it
/// into a `Vec<f32>` would copy, as burn's buffers are aligned to 16 bytes.
pub(crate) struct Values(TensorData);

impl std::ops::Deref for Values {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // `read` converted the data to f32
        self.0.as_slice().expect("f32 data reads as f32")
    }
}

impl std::ops::DerefMut for Values {
    fn deref_mut(&mut self) -> &mut [f32] {
        self.0.as_mut_slice().expect("f32 data reads as f32")
    }
}

impl Values {
    /// Back into a tensor of `shape` on `device` (no copy).
    pub(crate) fn into_tensor<const D: usize>(
        self,
        shape: [usize; D],
        device: &Device,
    ) -> Tensor<D> {
        let (bytes, _, dtype) = self.0.into_parts();
        Tensor::from_data(TensorData::from_bytes(bytes, shape, dtype), device)
    }
}

/// The values of a tensor, row-major.
pub(crate) fn read<const D: usize>(t: Tensor<D>) -> Values {
    // A flex tensor lives in host memory and the model's float dtype converts to f32, so
    // neither the read nor the conversion can fail.
    Values(
        t.try_into_data_as::<f32>()
            .expect("a flex float tensor reads back as f32"),
    )
}

/// `f` of the values of `t`, row-major, read in place where `t` is an f32 tensor of the plain
/// CPU device: [`read`] copies a tensor whose buffer something else still holds, twice (into
/// a vector, then again to re-align it), and a host kernel's input usually is one.
pub(crate) fn with_values<const D: usize, R>(t: Tensor<D>, f: impl FnOnce(&[f32]) -> R) -> R {
    let held = Held::host(t.clone());
    match held.as_ref().and_then(Held::values) {
        Some(values) => f(&values),
        None => f(&read(t)),
    }
}

/// The values of an id tensor, row-major.
pub(crate) fn read_ids<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    // as in `read`: host memory, and every int dtype converts to i64
    t.try_into_data_as::<i64>()
        .and_then(|d| Ok(d.try_into_vec::<i64>()?))
        .expect("a flex int tensor reads back as i64")
}

/// A tensor on `device` holding `values` (row-major, `shape`); moves the buffer, no copy.
pub(crate) fn tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}
