//! The element-wise non-linearities a config may name (`activation` of `char_cnn` and
//! `highway`): one enum instead of strings below the builder (style.md "Naming").

use burn::config::Config;
use burn::prelude::*;
use burn::tensor::activation::{relu, selu, tanh};

/// A point-wise activation function.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// max(0, x): the char CNN default (seed-systems A.2) and the new scripts' highway.
    Relu,
    /// tanh(x): the char CNN of seed-systems A′.1.
    Tanh,
    /// Scaled ELU: the paper's example highway (seed-systems A.2).
    Selu,
}

impl Activation {
    /// Applies the function element-wise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(x),
            Activation::Tanh => tanh(x),
            Activation::Selu => selu(x),
        }
    }

    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Selu => "selu",
        }
    }
}
