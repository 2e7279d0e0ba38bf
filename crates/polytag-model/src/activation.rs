//! The element-wise non-linearities a config may name (`activation` of `char_cnn` and
//! `highway`): one enum instead of strings below the builder (style.md "Naming"), the
//! config's.

use burn::prelude::*;
use burn::tensor::activation::{relu, selu, sigmoid};

/// A point-wise activation function: the config's own enum (relu, the char CNN default of
/// seed-systems A.2 and the new scripts' highway; tanh, the char CNN of seed-systems A′.1;
/// selu, the paper's example highway), used as is below the builder.
pub use polytag_config::Activation;

/// Applies `activation` element-wise. The CPU kernels' per-value version is
/// `cpu::math::activate`, the same function up to f32 rounding.
pub fn apply<const D: usize>(activation: Activation, x: Tensor<D>) -> Tensor<D> {
    match activation {
        Activation::Relu => relu(x),
        Activation::Tanh => fast_tanh(x),
        Activation::Selu => selu(x),
    }
}

/// tanh(x) computed as 2·σ(2x) − 1.
///
/// Why: on the flex CPU backend `tanh` goes through scalar libm and costs several times a
/// `sigmoid` per element, forward and backward (`BENCHMARKS.md`). RNN training is bound by
/// these element-wise passes, not by the matmuls. The
/// identity is exact; in f32 the absolute error stays below ~1e-7 (the relative error grows
/// only for |x| < 1e-4, where the value itself is tiny).
pub fn fast_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    sigmoid(x * 2.0) * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tanh_matches_tanh() {
        let device = Device::flex();
        let xs: Vec<f32> = (-200..=200).map(|i| i as f32 * 0.05).collect();
        let n = xs.len();
        let got: Vec<f32> = fast_tanh(Tensor::<1>::from_data(
            TensorData::new(xs.clone(), [n]),
            &device,
        ))
        .try_to_vec_as()
        .unwrap();
        for (x, y) in xs.iter().zip(got) {
            assert!(
                (f64::from(*x).tanh() - f64::from(y)).abs() < 3e-7,
                "{x}: {y}"
            );
        }
    }
}
