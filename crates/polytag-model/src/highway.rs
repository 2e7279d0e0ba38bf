//! The `highway` component (seed-systems A.2): per layer, a gate g = σ(W_g x + b_g) mixes a
//! transform t = f(W_t x + b_t) with the input itself, x ← g·t + (1 − g)·x. Carry is the
//! identity (the paper's later code removed the affine carry). Position-wise, so padding
//! cannot leak between positions.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::activation::Activation;

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
    pub fn forward<const D: usize>(&self, mut x: Tensor<D>) -> Tensor<D> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
