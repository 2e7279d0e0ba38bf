//! The `highway` component (seed-systems A.2): per layer, a gate g = σ(W_g x + b_g) mixes a
//! transform t = f(W_t x + b_t) with the input itself, x ← g·t + (1 − g)·x. Carry is the
//! identity (the paper's later code removed the affine carry). Position-wise, so padding
//! cannot leak between positions.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::activation::{self, Activation};
use crate::cpu::{self, io, Path};

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
        match Path::of(&x.device()) {
            Path::Host => self.forward_host(x),
            Path::Autodiff => self
                .forward_autodiff(x.clone())
                .unwrap_or_else(|| self.forward_tensor(x)),
            Path::Tensor => self.forward_tensor(x),
        }
    }

    /// [`Self::forward`] as burn ops: the GPU path, and the reference of the others.
    fn forward_tensor<const D: usize>(&self, mut x: Tensor<D>) -> Tensor<D> {
        for layer in &self.layers {
            let y = layer.forward(x.clone());
            let d = y.dims()[D - 1] / 2;
            let t = activation::apply(self.activation, y.clone().narrow(D - 1, 0, d));
            let gate = sigmoid(y.narrow(D - 1, d, d));
            // g·t + (1 − g)·x = x + g·(t − x): one op fewer per layer
            x = x.clone() + gate * (t - x);
        }
        x
    }

    /// [`Self::forward`] on the host: each layer's `[transform | gate]` matmul stays a burn
    /// op; activation, gate and mix are one fused pass ([`cpu::highway`]).
    fn forward_host<const D: usize>(&self, mut x: Tensor<D>) -> Tensor<D> {
        let shape = x.dims();
        let device = x.device();
        for layer in &self.layers {
            let y = io::read(cpu::linear::forward(layer, x.clone()));
            let mut v = io::read(x);
            cpu::highway::mix(&mut v, &y, shape[D - 1], self.activation);
            x = v.into_tensor(shape, &device);
        }
        x
    }

    /// [`Self::forward`] on the CPU training device: each layer's matmul is a burn op, the
    /// mix one fused op ([`cpu::highway`]). `None` if the fused op does not apply.
    fn forward_autodiff<const D: usize>(&self, x: Tensor<D>) -> Option<Tensor<D>> {
        let shape = x.dims();
        let d = shape[D - 1];
        let n = shape.iter().product::<usize>() / d.max(1);
        let mut x: Tensor<2> = x.reshape([n, d]);
        for layer in &self.layers {
            let y = cpu::linear::forward(layer, x.clone());
            x = cpu::highway::train(y, x, self.activation)?;
        }
        Some(x.reshape(shape))
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
                    hw.forward_autodiff(x.clone()).expect("fused path applies")
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
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
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
