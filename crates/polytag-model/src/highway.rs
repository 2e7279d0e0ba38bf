//! The `highway` component (seed-systems A.2): per layer, a gate g = σ(W_g x + b_g) mixes a
//! transform t = f(W_t x + b_t) with the input itself, x ← g·t + (1 − g)·x. Carry is the
//! identity (the paper's later code removed the affine carry). Position-wise, so padding
//! cannot leak between positions.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;

use crate::activation::Activation;
use crate::{fused, host};

/// Configuration of a [`Highway`].
#[derive(Config, Debug)]
pub struct HighwayConfig {
    /// Width of input and output (for the paper: the char CNN's total filter count).
    pub d_model: usize,
    /// 2, as the paper's scripts hard-wire; later scripts use 1 (seed-systems A.9).
    #[config(default = 2)]
    pub num_layers: usize,
    /// SELU in the paper's example config, ReLU in the new scripts.
    #[config(default = "Activation::Selu")]
    pub activation: Activation,
}

/// Stacked highway layers.
#[derive(Module, Debug)]
pub struct Highway {
    /// One `d → 2d` linear per layer: `[transform | gate]` in one matmul.
    pub layers: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
}

impl HighwayConfig {
    /// Builds the module (lazy parameters).
    pub fn init(&self, device: &Device) -> Highway {
        Highway {
            layers: (0..self.num_layers)
                .map(|_| LinearConfig::new(self.d_model, 2 * self.d_model).init(device))
                .collect(),
            activation: self.activation,
        }
    }
}

impl Highway {
    /// # Shapes
    /// - `x`: `[..., d_model]` → `[..., d_model]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if host::applies(&x.device()) {
            return self.forward_host(x);
        }
        if fused::applies(&x.device()) {
            if let Some(out) = self.forward_fused(x.clone()) {
                return out;
            }
        }
        self.forward_tensor(x)
    }

    /// [`Self::forward`] as burn ops: the GPU path, and the reference of the others.
    fn forward_tensor<const D: usize>(&self, mut x: Tensor<D>) -> Tensor<D> {
        for layer in &self.layers {
            let y = layer.forward(x.clone());
            let d = y.dims()[D - 1] / 2;
            let t = self.activation.apply(y.clone().narrow(D - 1, 0, d));
            let gate = sigmoid(y.narrow(D - 1, d, d));
            // g·t + (1 − g)·x = x + g·(t − x): one op fewer per layer
            x = x.clone() + gate * (t - x);
        }
        x
    }
}

impl Highway {
    /// [`Self::forward`] on the host ([`crate::host`]): each layer's `[transform | gate]`
    /// matmul stays a burn op; activation, gate and mix are one fused pass.
    fn forward_host<const D: usize>(&self, mut x: Tensor<D>) -> Tensor<D> {
        let shape = x.dims();
        let device = x.device();
        for layer in &self.layers {
            let y = host::read(layer.forward(x.clone()));
            let mut v = host::read(x);
            let d = shape[D - 1];
            let activation = self.activation;
            host::vectorized(Mix {
                x: &mut v,
                y: &y,
                d,
                activation,
            });
            x = v.into_tensor(shape, &device);
        }
        x
    }
}

impl Highway {
    /// [`Self::forward`] on the CPU training device: each layer's matmul is a burn op, the
    /// rest (activation, gate, mix: ~8 recorded ops, SELU's `exp` on every element) one fused
    /// op ([`crate::fused`]). `None` if the fused op does not apply.
    fn forward_fused<const D: usize>(&self, x: Tensor<D>) -> Option<Tensor<D>> {
        let shape = x.dims();
        let d = shape[D - 1];
        let n = shape.iter().product::<usize>() / d.max(1);
        let mut x: Tensor<2> = x.reshape([n, d]);
        for layer in &self.layers {
            let y = layer.forward(x.clone());
            x = mix_op(y, x, self.activation)?;
        }
        Some(x.reshape(shape))
    }
}

/// The recorded mix: `y` `[N, 2d]` = `[t | g]`, `x` `[N, d]` → x + σ(g)·(f(t) − x).
fn mix_op(y: Tensor<2>, x: Tensor<2>, activation: Activation) -> Option<Tensor<2>> {
    let (y, y_node) = fused::primitive(y)?;
    let (x, x_node) = fused::primitive(x)?;
    let shape = x.layout().shape();
    let [n, d] = [shape[0], shape[1]];
    let mut out = fused::values(&x).into_owned();
    host::vectorized(Mix {
        x: &mut out,
        y: &fused::values(&y),
        d,
        activation,
    });
    Some(fused::record(
        MixBackward,
        [y_node, x_node],
        (y, x, activation),
        fused::flex(out, [n, d]),
    ))
}

#[derive(Debug)]
struct MixBackward;

impl Backward<Flex, 2> for MixBackward {
    type State = (FlexTensor, FlexTensor, Activation);

    /// With s = σ(g), a = f(t): ∂/∂x = 1 − s, ∂/∂t = s·f′(t), ∂/∂g = (a − x)·s·(1 − s).
    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (y, x, activation) = ops.state;
        let grad = grads.consume::<Flex>(&ops.node);
        let shape = x.layout().shape();
        let [n, d] = [shape[0], shape[1]];
        let mut dy = vec![0.0f32; n * 2 * d];
        let mut dx = vec![0.0f32; n * d];
        host::vectorized(MixGrad {
            grad: &fused::values(&grad),
            y: &fused::values(&y),
            x: &fused::values(&x),
            dy: &mut dy,
            dx: &mut dx,
            d,
            activation,
        });
        let [y_parent, x_parent] = ops.parents;
        if let Some(node) = y_parent {
            grads.register::<Flex>(node.id, fused::flex(dy, [n, 2 * d]));
        }
        if let Some(node) = x_parent {
            grads.register::<Flex>(node.id, fused::flex(dx, [n, d]));
        }
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

impl host::Kernel for MixGrad<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        // f and f′ (from t and f(t)), as burn differentiates them: relu′(0) = 0, selu′(0) = γ
        match self.activation {
            Activation::Relu => self.with(host::relu, |t, _| if t > 0.0 { 1.0 } else { 0.0 }),
            Activation::Tanh => self.with(host::tanh, |_, a| 1.0 - a * a),
            Activation::Selu => self.with(host::selu, host::selu_derivative),
        }
    }
}

impl MixGrad<'_> {
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
                let s = host::sigmoid(g[j]);
                let a = f(t[j]);
                dx[j] = grad[j] * (1.0 - s);
                dt[j] = grad[j] * s * df(t[j], a);
                dg[j] = grad[j] * (a - x[j]) * s * (1.0 - s);
            }
        }
    }
}

/// One highway layer's mix on the host: `x` `[N, d]` ← x + σ(g)·(f(t) − x), `y` `[N, 2d]` =
/// `[t | g]` per row.
struct Mix<'a> {
    x: &'a mut [f32],
    y: &'a [f32],
    d: usize,
    activation: Activation,
}

impl host::Kernel for Mix<'_> {
    type Output = ();
    /// One loop per activation, so that none matches per element.
    #[inline(always)]
    fn run(self) {
        let (x, y, d) = (self.x, self.y, self.d);
        match self.activation {
            Activation::Relu => mix_with(x, y, d, host::relu),
            Activation::Tanh => mix_with(x, y, d, host::tanh),
            Activation::Selu => mix_with(x, y, d, host::selu),
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
            *x += host::sigmoid(g) * (f(t) - *x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::RNG;
    use burn::tensor::Distribution;

    /// The fused op (CPU training device) and the host path (plain CPU device) give the
    /// tensor path's values, and the fused op its gradients of x, weights and biases, for
    /// every activation on inputs of both signs.
    #[test]
    fn fused_and_host_paths_match_the_tensor_path() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        device.seed(21);
        let x0 = Tensor::<3>::random([2, 3, 4], Distribution::Normal(0.0, 2.0), &device);
        let r = Tensor::<3>::random([2, 3, 4], Distribution::Normal(0.0, 1.0), &device);
        for activation in [Activation::Relu, Activation::Tanh, Activation::Selu] {
            let hw = HighwayConfig::new(4)
                .with_activation(activation)
                .init(&device);
            let run = |fused: bool| {
                let x = x0.clone().detach().require_grad();
                let y = if fused {
                    hw.forward_fused(x.clone()).expect("fused path applies")
                } else {
                    hw.forward_tensor(x.clone())
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                let mut g = vec![x.grad(&grads).unwrap().reshape([6, 4])];
                for layer in &hw.layers {
                    g.push(layer.weight.val().grad(&grads).unwrap());
                    let b = layer.bias.as_ref().unwrap().val();
                    g.push(b.grad(&grads).unwrap().unsqueeze());
                }
                (y.inner(), g)
            };
            let (y_f, g_f) = run(true);
            let (y_t, g_t) = run(false);
            let diff = |a: Tensor<2>, b: Tensor<2>| (a - b).abs().max().into_scalar::<f32>();
            let host = hw.valid().forward(x0.clone().inner());
            assert!(diff(y_f.clone().reshape([6, 4]), y_t.clone().reshape([6, 4])) < 1e-5);
            assert!(diff(host.reshape([6, 4]), y_t.reshape([6, 4])) < 1e-5);
            for (i, (a, b)) in g_f.into_iter().zip(g_t).enumerate() {
                let d = diff(a.inner(), b.inner());
                assert!(d < 1e-4, "{activation:?}: gradient {i} differs by {d}");
            }
        }
    }

    /// With W_t = 0, b_t = 1 (transform = relu(1) = 1) and W_g = 0, b_g = 0 (gate = 0.5),
    /// one layer gives x ← 0.5·1 + 0.5·x.
    #[test]
    fn constant_weights_give_the_hand_derived_mix() {
        let device = Device::flex();
        let mut hw = HighwayConfig::new(2)
            .with_num_layers(1)
            .with_activation(Activation::Relu)
            .init(&device);
        hw.layers[0].weight = hw.layers[0].weight.clone().map(|w| w.zeros_like());
        hw.layers[0].bias = hw.layers[0].bias.clone().map(|p| {
            p.map(|b| {
                Tensor::from_data(TensorData::new(vec![1f32, 1.0, 0.0, 0.0], [4]), &b.device())
            })
        });
        let x = Tensor::<2>::from_floats([[3.0, -1.0]], &device);
        let y: Vec<f32> = hw.forward(x).try_to_vec_as().unwrap();
        assert_eq!(y, vec![2.0, 0.0]);
    }
}
