//! One highway layer's mix, x ← x + σ(g)·(f(t) − x) from the layer's `[t | g]` projection:
//! on the host for inference, and as one autodiff op for training (the activation, gate and
//! mix are ~8 recorded ops otherwise, SELU's `exp` on every element). The layer's matmul
//! stays a burn op in both.

use burn::prelude::*;

use super::autodiff::{self, Grad, Held};
use super::math::{relu, selu, selu_derivative, sigmoid, tanh};
use super::simd::{vectorized, Kernel};
use crate::activation::Activation;

/// Inference: `x` `[N, d]` ← x + σ(g)·(f(t) − x), `y` `[N, 2d]` = `[t | g]` per row.
pub(crate) fn mix(x: &mut [f32], y: &[f32], d: usize, activation: Activation) {
    vectorized(Mix {
        x,
        y,
        d,
        activation,
    });
}

/// Training: the mix of `y` `[N, 2d]` and `x` `[N, d]` as one recorded op; `None` where it
/// does not apply.
pub(crate) fn train(y: Tensor<2>, x: Tensor<2>, activation: Activation) -> Option<Tensor<2>> {
    let [n, d] = x.dims();
    let y = autodiff::input(y)?;
    let x = autodiff::input(x)?;
    if y.dims() != [n, 2 * d] {
        return None;
    }
    let mut out = x.values()?.into_owned();
    mix(&mut out, &y.values()?, d, activation);
    let state = MixBackward {
        y: y.hold(),
        x: x.hold(),
        activation,
        d,
    };
    Some(autodiff::record([y, x], state, out, [n, d]))
}

/// The op's backward state: its inputs.
#[derive(Clone, Debug)]
struct MixBackward {
    y: Held,
    x: Held,
    activation: Activation,
    d: usize,
}

impl autodiff::Backward<2> for MixBackward {
    /// With s = σ(g), a = f(t): ∂/∂x = 1 − s, ∂/∂t = s·f′(t), ∂/∂g = (a − x)·s·(1 − s).
    fn backward(self, grad: &[f32]) -> [Grad; 2] {
        let d = self.d;
        let n = grad.len() / d.max(1);
        let mut dy = vec![0.0f32; n * 2 * d];
        let mut dx = vec![0.0f32; n * d];
        vectorized(MixGrad {
            grad,
            y: &self.y.values().expect("the op admitted f32 inputs only"),
            x: &self.x.values().expect("the op admitted f32 inputs only"),
            dy: &mut dy,
            dx: &mut dx,
            d,
            activation: self.activation,
        });
        [Grad::new(dy, &[n, 2 * d]), Grad::new(dx, &[n, d])]
    }
}

/// [`MixBackward`]'s loop.
struct MixGrad<'a> {
    grad: &'a [f32],
    y: &'a [f32],
    x: &'a [f32],
    dy: &'a mut [f32],
    dx: &'a mut [f32],
    d: usize,
    activation: Activation,
}

impl Kernel for MixGrad<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        // f and f′ (from t and f(t)), as burn differentiates them: relu′(0) = 0, selu′(0) = γ
        match self.activation {
            Activation::Relu => self.with(relu, |t, _| if t > 0.0 { 1.0 } else { 0.0 }),
            Activation::Tanh => self.with(tanh, |_, a| 1.0 - a * a),
            Activation::Selu => self.with(selu, selu_derivative),
        }
    }
}

impl MixGrad<'_> {
    /// The loop with the activation `f` and its derivative `df(t, f(t))`.
    #[inline(always)]
    fn with(self, f: impl Fn(f32) -> f32, df: impl Fn(f32, f32) -> f32) {
        let d = self.d.max(1);
        let rows = self
            .grad
            .chunks_exact(d)
            .zip(self.y.chunks_exact(2 * d))
            .zip(self.x.chunks_exact(d))
            .zip(self.dy.chunks_exact_mut(2 * d))
            .zip(self.dx.chunks_exact_mut(d));
        for ((((grad, y), x), dy), dx) in rows {
            let (t, g) = y.split_at(d);
            let (dt, dg) = dy.split_at_mut(d);
            for j in 0..d {
                let s = sigmoid(g[j]);
                let a = f(t[j]);
                dx[j] = grad[j] * (1.0 - s);
                dt[j] = grad[j] * s * df(t[j], a);
                dg[j] = grad[j] * (a - x[j]) * s * (1.0 - s);
            }
        }
    }
}

/// The mix's loop.
struct Mix<'a> {
    x: &'a mut [f32],
    y: &'a [f32],
    d: usize,
    activation: Activation,
}

impl Kernel for Mix<'_> {
    type Output = ();
    /// One loop per activation, so that none matches per element.
    #[inline(always)]
    fn run(self) {
        let (x, y, d) = (self.x, self.y, self.d);
        match self.activation {
            Activation::Relu => mix_with(x, y, d, relu),
            Activation::Tanh => mix_with(x, y, d, tanh),
            Activation::Selu => mix_with(x, y, d, selu),
        }
    }
}

#[inline(always)]
fn mix_with(x: &mut [f32], y: &[f32], d: usize, f: impl Fn(f32) -> f32) {
    for (xs, ys) in x
        .chunks_exact_mut(d.max(1))
        .zip(y.chunks_exact(2 * d.max(1)))
    {
        let (t, g) = ys.split_at(d);
        for ((x, &t), &g) in xs.iter_mut().zip(t).zip(g) {
            *x += sigmoid(g) * (f(t) - *x);
        }
    }
}
