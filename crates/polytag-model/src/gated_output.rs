//! The per-task, per-label gate that mixes the universal and the language-specific emission
//! layers (seed-systems A.2, "gated convex mixture"):
//!
//! g = σ(W_g h + b_g) with one value per label, emission = g·specific + (1 − g)·universal.
//!
//! The gate belongs to the task and is never shared (the paper creates it inside each task's
//! model); the builder puts one in each task head that has both layers.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

/// Configuration of a [`Gate`].
#[derive(Config, Debug)]
pub struct GateConfig {
    /// Size of the encoder output `h` the gate reads.
    pub d_input: usize,
    /// Number of labels (one gate value per label).
    pub num_labels: usize,
}

/// Per-label sigmoid gate.
#[derive(Module, Debug)]
pub struct Gate {
    /// `d_input → num_labels`.
    pub linear: Linear,
}

impl GateConfig {
    /// Builds the gate.
    pub fn init(&self, device: &Device) -> Gate {
        Gate {
            linear: LinearConfig::new(self.d_input, self.num_labels).init(device),
        }
    }
}

impl Gate {
    /// Gated emissions `g·specific + (1 − g)·universal`.
    ///
    /// # Shapes
    /// - `h`: `[B, T, d_input]`; `universal`, `specific`: `[B, T, L]` → `[B, T, L]`
    pub fn mix(&self, h: Tensor<3>, universal: Tensor<3>, specific: Tensor<3>) -> Tensor<3> {
        let g = sigmoid(self.linear.forward(h));
        // g·s + (1 − g)·u = u + g·(s − u): one op fewer
        universal.clone() + g * (specific - universal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// W_g = 0, b_g = [0, ln 3]: g = [0.5, 0.75]; u = [1, 1], s = [3, 5]:
    /// emission = [0.5·3 + 0.5·1, 0.75·5 + 0.25·1] = [2, 4].
    #[test]
    fn hand_derived_mixture() {
        let device = Device::flex();
        let mut gate = GateConfig::new(2, 2).init(&device);
        gate.linear.weight = gate.linear.weight.clone().map(|w| w.zeros_like());
        gate.linear.bias = gate.linear.bias.clone().map(|p| {
            p.map(|b| Tensor::from_data(TensorData::new(vec![0.0f32, 3f32.ln()], [2]), &b.device()))
        });
        let h = Tensor::<3>::ones([1, 1, 2], &device);
        let u = Tensor::<3>::from_floats([[[1.0, 1.0]]], &device);
        let s = Tensor::<3>::from_floats([[[3.0, 5.0]]], &device);
        let e: Vec<f32> = gate.mix(h, u, s).try_to_vec_as().unwrap();
        assert!((e[0] - 2.0).abs() < 1e-6 && (e[1] - 4.0).abs() < 1e-5, "{e:?}");
    }
}
