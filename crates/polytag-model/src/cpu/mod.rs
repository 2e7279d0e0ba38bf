//! The CPU kernels: loops over `f32` slices that replace chains of small burn ops on the
//! `flex` device, for inference ([`Path::Host`]) and for training ([`Path::Autodiff`]).
//!
//! Why: the flex backend runs each element-wise op as its own pass over memory, its
//! `exp`/`sigmoid` go through scalar libm, and on the autodiff device every recorded op adds
//! a fixed cost forward and backward before any arithmetic. A recurrence or a lattice
//! recursion records tens of ops per time step; fused into one loop with a vectorised `exp`
//! ([`math`], [`simd`]) the same work costs little next to its matmuls. Those run burn's gemm
//! crate, called directly ([`gemm`]) so that products read the kernels' slices and write their
//! own buffers (burn's matmul re-allocates every output twice): `Linear` layers ([`linear`]),
//! the recurrences' per-step products ([`matmul`]). Measured costs: `BENCHMARKS.md` at the
//! repository root.
//!
//! Each component calls [`Path::of`] once and picks its implementation:
//! - [`Path::Host`], the plain `flex` device (decoding, evaluation): the component reads its
//!   tensors into slices ([`io`]) and runs the kernel; no autodiff graph exists.
//! - [`Path::Autodiff`], `flex` + autodiff (CPU training): the kernel runs as ONE recorded
//!   autodiff op with a hand-written backward ([`autodiff`]). A kernel may still refuse (a
//!   float type other than f32, gradient checkpointing): it returns `None` and the component
//!   takes the tensor path.
//! - [`Path::Tensor`], every other device (GPUs): burn ops. This is also the reference every
//!   kernel is tested against, values and gradients. A GPU kernel (CubeCL) would be another
//!   arm here.
//!
//! Kernels are free functions over slices that take the weights as arguments; only
//! [`autodiff`] names burn's autodiff internals, so a burn upgrade stays in that file.
//! The transcendental functions are polynomial approximations accurate to a few f32 ulps
//! ([`math`]), i.e. the same functions as the tensor path's up to rounding.

use burn::prelude::*;

pub(crate) mod attention;
pub(crate) mod autodiff;
pub(crate) mod char_cnn;
pub(crate) mod crf;
pub(crate) mod directions;
pub(crate) mod dropout;
pub(crate) mod gemm;
pub(crate) mod gru;
pub(crate) mod highway;
pub(crate) mod io;
pub(crate) mod layer_norm;
pub(crate) mod linear;
pub(crate) mod lstm;
pub(crate) mod math;
pub(crate) mod matmul;
pub(crate) mod rnn;
pub(crate) mod simd;

/// Which implementation serves tensors on a device (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The plain CPU device: kernels on host slices, no autodiff.
    Host,
    /// The CPU training device: kernels recorded as one autodiff op each.
    Autodiff,
    /// Any other device: burn ops.
    Tensor,
}

impl Path {
    /// The path for tensors on `device`.
    pub(crate) fn of(device: &Device) -> Path {
        // `==` compares the device kind, not the autodiff wrapper
        if *device != Device::flex() {
            Path::Tensor
        } else if device.is_autodiff() {
            Path::Autodiff
        } else {
            Path::Host
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_follows_the_device() {
        assert_eq!(Path::of(&Device::flex()), Path::Host);
        assert_eq!(Path::of(&Device::flex().autodiff()), Path::Autodiff);
    }
}
