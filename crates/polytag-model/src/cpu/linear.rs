//! burn's `Linear` (y = x·W + b) on the CPU with [`super::gemm`]: on the host for inference,
//! as one autodiff op for training (forward one product, backward two, written into their
//! own buffers). On the flex device burn's `Linear` allocates every product through a zeroed
//! byte vector copied into an aligned one, and its backward does the same for both
//! gradients ([`super::gemm`] says why that mattered). Every other device keeps burn's.

use burn::nn::Linear;
use burn::prelude::*;

use super::autodiff::{self, Grad, Held};
use super::gemm::{matmul, product, Mat};
use super::{io, Path};

/// `linear` applied to `x` `[…, d_in]` → `[…, d_out]`, on whatever path `x`'s device takes.
pub(crate) fn forward<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let fused = match Path::of(&x.device()) {
        Path::Host => host(linear, x.clone()),
        Path::Autodiff => train(linear, x.clone()),
        Path::Tensor => None,
    };
    fused.unwrap_or_else(|| linear.forward(x))
}

/// The output shape and the product's (rows, d_in, d_out); `None` if `x`'s last axis is not
/// the weight's input size.
fn shapes<const D: usize>(
    linear: &Linear,
    x: &Tensor<D>,
) -> Option<([usize; D], usize, usize, usize)> {
    let [d_in, d_out] = linear.weight.lazy_shape().dims::<2>();
    let mut shape = x.dims();
    if D == 0 || shape[D - 1] != d_in {
        return None;
    }
    let n = shape[..D - 1].iter().product::<usize>();
    shape[D - 1] = d_out;
    Some((shape, n, d_in, d_out))
}

/// x·W + b, `n` rows: the product written into a buffer whose rows start as the bias.
fn affine(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    n: usize,
    d_in: usize,
    d_out: usize,
) -> Vec<f32> {
    let mut y = match b {
        Some(b) => b.repeat(n),
        None => vec![0.0; n * d_out],
    };
    matmul(&mut y, Mat::new(x, n, d_in), Mat::new(w, d_in, d_out), true);
    y
}

/// Inference (the plain CPU device): x, W and b read in place.
fn host<const D: usize>(linear: &Linear, x: Tensor<D>) -> Option<Tensor<D>> {
    let (shape, n, d_in, d_out) = shapes(linear, &x)?;
    let device = x.device();
    let x = Held::host(x)?;
    let w = Held::host(linear.weight.val())?;
    let b = match &linear.bias {
        Some(b) => Some(Held::host(b.val())?),
        None => None,
    };
    let b = match &b {
        Some(b) => Some(b.values()?),
        None => None,
    };
    let y = affine(&x.values()?, &w.values()?, b.as_deref(), n, d_in, d_out);
    Some(io::tensor(y, shape, &device))
}

/// Training: one recorded op of x, W (and b).
fn train<const D: usize>(linear: &Linear, x: Tensor<D>) -> Option<Tensor<D>> {
    let (shape, n, d_in, d_out) = shapes(linear, &x)?;
    let x = autodiff::input(x)?;
    let w = autodiff::input(linear.weight.val())?;
    let b = match &linear.bias {
        Some(b) => Some(autodiff::input(b.val())?),
        None => None,
    };
    let y = {
        let b = match &b {
            Some(b) => Some(b.values()?),
            None => None,
        };
        affine(&x.values()?, &w.values()?, b.as_deref(), n, d_in, d_out)
    };
    let state = LinearBackward {
        x: x.hold(),
        w: w.hold(),
        n,
        d_in,
        d_out,
    };
    Some(match b {
        Some(b) => autodiff::record([x, w, b], state, y, shape),
        None => autodiff::record([x, w], NoBias(state), y, shape),
    })
}

/// The op's backward state: its input and weight.
#[derive(Clone, Debug)]
struct LinearBackward {
    x: Held,
    w: Held,
    n: usize,
    d_in: usize,
    d_out: usize,
}

impl LinearBackward {
    /// dX = G·Wᵀ (in x's shape), dW = Xᵀ·G.
    fn grads(&self, grad: &[f32]) -> (Grad, Grad) {
        let (n, d_in, d_out) = (self.n, self.d_in, self.d_out);
        let values = "the op admitted f32 inputs only";
        let x = self.x.values().expect(values);
        let w = self.w.values().expect(values);
        let g = Mat::new(grad, n, d_out);
        let dx = product(g, Mat::new(&w, d_in, d_out).t());
        let dw = product(Mat::new(&x, n, d_in).t(), g);
        (Grad::new(dx, &self.x.dims()), Grad::new(dw, &[d_in, d_out]))
    }
}

impl autodiff::Backward<3> for LinearBackward {
    /// [`LinearBackward::grads`], and db = Σ_rows G.
    fn backward(self, grad: &[f32]) -> [Grad; 3] {
        let mut db = vec![0.0f32; self.d_out];
        for row in grad.chunks_exact(self.d_out.max(1)) {
            for (d, &g) in db.iter_mut().zip(row) {
                *d += g;
            }
        }
        let (dx, dw) = self.grads(grad);
        [dx, dw, Grad::new(db, &[self.d_out])]
    }
}

/// [`LinearBackward`] of a layer without bias.
#[derive(Clone, Debug)]
struct NoBias(LinearBackward);

impl autodiff::Backward<2> for NoBias {
    fn backward(self, grad: &[f32]) -> [Grad; 2] {
        let (dx, dw) = self.0.grads(grad);
        [dx, dw]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::RNG;
    use burn::nn::LinearConfig;
    use burn::tensor::Distribution;

    /// The fused op and the host path give burn's values, and the op burn's gradients of x,
    /// W and b, with and without bias, for inputs of rank 2 and 3.
    #[test]
    fn fused_and_host_paths_match_burn() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        device.seed(4);
        for bias in [true, false] {
            let linear = LinearConfig::new(19, 7).with_bias(bias).init(&device);
            let x0 = Tensor::<3>::random([3, 5, 19], Distribution::Normal(0.0, 1.0), &device);
            let r = Tensor::<3>::random([3, 5, 7], Distribution::Normal(0.0, 1.0), &device);
            let run = |fused: bool| {
                let x = x0.clone().detach().require_grad();
                let y = if fused {
                    train(&linear, x.clone()).expect("the fused op applies")
                } else {
                    linear.forward(x.clone())
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                let mut g: Vec<Tensor<1>> = vec![
                    x.grad(&grads).unwrap().reshape([-1]),
                    linear.weight.val().grad(&grads).unwrap().reshape([-1]),
                ];
                if let Some(b) = &linear.bias {
                    g.push(b.val().grad(&grads).unwrap());
                }
                (y.inner(), g)
            };
            let (y_f, g_f) = run(true);
            let (y_t, g_t) = run(false);
            let diff = |a: Tensor<3>, b: Tensor<3>| (a - b).abs().max().into_scalar::<f32>();
            assert!(diff(y_f, y_t.clone()) < 1e-5);
            let plain = linear.valid();
            let host_y = host(&plain, x0.clone().inner()).expect("the host path applies");
            assert!(diff(host_y, y_t.clone()) < 1e-5);
            let flat: Tensor<2> = x0.clone().inner().reshape([15, 19]);
            let host_2d = forward(&plain, flat).reshape([3, 5, 7]);
            assert!(diff(host_2d, y_t) < 1e-5);
            assert_eq!(g_f.len(), if bias { 3 } else { 2 });
            for (i, (a, b)) in g_f.into_iter().zip(g_t).enumerate() {
                let d = (a - b).abs().max().into_scalar::<f32>();
                assert!(d < 1e-4, "bias {bias}: gradient {i} differs by {d}");
            }
        }
    }
}
