//! The `linear` component at `position: output`: the universal (task-type-shared) or
//! language-specific emission layer of seed-systems A.2, optionally with one hidden tanh layer
//! (the new single-task script's "Linears" MLP: 2H → H (tanh) → L; other activations allowed).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::activation::{self, Activation};
use crate::cpu;

/// Configuration of an [`OutputLayer`].
#[derive(Config, Debug)]
pub struct OutputLayerConfig {
    /// Input size (the encoder's output, e.g. 2H of a BiLSTM).
    pub d_input: usize,
    /// Output size: the number of labels of the task type.
    pub d_output: usize,
    /// Hidden size of an optional tanh layer before the output.
    #[config(default = "None")]
    pub hidden: Option<usize>,
    /// Non-linearity of the hidden layer (tanh, as the paper's MLP).
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
}

/// Linear (or one-hidden-layer MLP) emission layer.
#[derive(Module, Debug)]
pub struct OutputLayer {
    /// Optional `d_input → hidden` layer (tanh).
    pub hidden: Option<Linear>,
    /// Last layer `→ d_output`.
    pub output: Linear,
    #[module(skip)]
    activation: Activation,
}

impl OutputLayerConfig {
    /// Builds the layer (PyTorch-default init: U(±1/√fan_in) for weights and biases).
    pub fn init(&self, device: &Device) -> OutputLayer {
        let (hidden, d_last) = match self.hidden {
            Some(h) => (Some(LinearConfig::new(self.d_input, h).init(device)), h),
            None => (None, self.d_input),
        };
        OutputLayer {
            hidden,
            output: LinearConfig::new(d_last, self.d_output).init(device),
            activation: self.activation,
        }
    }
}

impl OutputLayer {
    /// # Shapes
    /// - `x`: `[..., d_input]` → `[..., d_output]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match &self.hidden {
            Some(h) => cpu::linear::forward(
                &self.output,
                activation::apply(self.activation, cpu::linear::forward(h, x)),
            ),
            None => cpu::linear::forward(&self.output, x),
        }
    }

    /// Input size.
    pub fn d_input(&self) -> usize {
        let first = self.hidden.as_ref().unwrap_or(&self.output);
        first.weight.lazy_shape().dims::<2>()[0]
    }

    /// Output size.
    pub fn d_output(&self) -> usize {
        self.output.weight.lazy_shape().dims::<2>()[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_with_and_without_hidden_layer() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let x = Tensor::<3>::ones([2, 3, 6], &device);
        let plain = OutputLayerConfig::new(6, 4).init(&device);
        assert_eq!(plain.forward(x.clone()).dims(), [2, 3, 4]);
        let mlp = OutputLayerConfig::new(6, 4)
            .with_hidden(Some(5))
            .init(&device);
        assert_eq!(mlp.forward(x).dims(), [2, 3, 4]);
        assert_eq!((mlp.d_input(), mlp.d_output()), (6, 4));
    }
}
