//! The `softmax` decoder: independent per-token classification.
//!
//! Loss: cross entropy over real tokens only — padding is excluded by the mask, not by a pad
//! class (burn's `CrossEntropyLoss` needs a real class id for padding, burn-0.22-notes §9.9).
//! With class weights w it is Σ w_y·nll / Σ w_y over real tokens (PyTorch's weighted mean).
//! Decoding is the argmax; marginals are the softmax probabilities; n-best lists are the k most
//! probable taggings under token independence (the lattice with zero transitions).

use burn::config::Config;
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::crf::per_sentence;
use crate::error::Result;
use crate::lattice::{Lattice, ScoredPath};

/// Configuration of a [`SoftmaxDecoder`].
#[derive(Config, Debug)]
pub struct SoftmaxConfig {
    /// Number of labels.
    pub num_labels: usize,
    /// One weight per label (`class_weights`; the builder computes `inverse_freq`).
    #[config(default = "None")]
    pub class_weights: Option<Vec<f32>>,
}

/// Per-token softmax decoder (no parameters: the emissions come from the output layer).
#[derive(Module, Debug)]
pub struct SoftmaxDecoder {
    #[module(skip)]
    class_weights: Option<Vec<f32>>,
    num_labels: usize,
}

impl SoftmaxConfig {
    /// Builds the decoder.
    pub fn init(&self) -> SoftmaxDecoder {
        SoftmaxDecoder {
            class_weights: self.class_weights.clone(),
            num_labels: self.num_labels,
        }
    }
}

impl SoftmaxDecoder {
    /// Number of labels.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    /// Mean (weighted) token cross entropy over real tokens, `[1]`; 0 for a batch without
    /// tokens.
    ///
    /// # Shapes
    /// - `emissions`: `[B, T, L]`, `labels`: `[B, T]`, `mask`: `[B, T]`
    pub fn loss(&self, emissions: Tensor<3>, labels: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<1> {
        let [b, t, l] = emissions.dims();
        let device = emissions.device();
        let nll = log_softmax(emissions, 2)
            .gather(2, labels.clone().unsqueeze_dim::<3>(2))
            .reshape([b, t])
            .neg();
        let weight = match &self.class_weights {
            Some(w) if w.len() == l => {
                let w = Tensor::<1>::from_data(TensorData::new(w.clone(), [l]), &device);
                w.select(0, labels.reshape([b * t])).reshape([b, t]) * mask
            }
            _ => mask,
        };
        let total = (nll * weight.clone()).sum();
        total / weight.sum().clamp_min(1e-12)
    }

    /// Argmax label per token, per sentence.
    ///
    /// # Errors
    /// [`crate::ModelError::Read`] if the device cannot be read.
    pub fn decode(&self, emissions: Tensor<3>, lengths: &[usize]) -> Result<Vec<Vec<u32>>> {
        let lattice = Lattice::independent(self.num_labels);
        per_sentence(emissions, lengths, |em| lattice.viterbi(em))
    }

    /// The k most probable taggings (scores are summed log-probabilities).
    ///
    /// # Errors
    /// [`crate::ModelError::Read`] if the device cannot be read.
    pub fn nbest(
        &self,
        emissions: Tensor<3>,
        lengths: &[usize],
        k: usize,
    ) -> Result<Vec<Vec<ScoredPath>>> {
        let lattice = Lattice::independent(self.num_labels);
        per_sentence(log_softmax(emissions, 2), lengths, |em| {
            lattice.nbest(em, k)
        })
    }

    /// Softmax probabilities, per sentence `n × L` row-major.
    ///
    /// # Errors
    /// [`crate::ModelError::Read`] if the device cannot be read.
    pub fn marginals(&self, emissions: Tensor<3>, lengths: &[usize]) -> Result<Vec<Vec<f32>>> {
        let probs = burn::tensor::activation::softmax(emissions, 2);
        per_sentence(probs, lengths, |p| p.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::length_mask;

    /// Emissions [0, ln 3] → p = [1/4, 3/4]. Sentence of 2 real tokens with gold [1, 0] plus a
    /// padded token whose (huge) loss must not count: mean = (−ln ¾ − ln ¼) / 2.
    #[test]
    fn loss_ignores_padding_and_applies_class_weights() {
        let device = Device::flex();
        let e = [0.0f32, 3f32.ln()];
        let em = Tensor::<3>::from_data(
            TensorData::new([e, e, [100.0, -100.0]].concat(), [1, 3, 2]),
            &device,
        );
        let labels = Tensor::<2, Int>::from_data([[1, 0, 1]], &device);
        let mask = length_mask(&[2], 3, &device);
        let plain = SoftmaxConfig::new(2).init();
        let got = plain
            .loss(em.clone(), labels.clone(), mask.clone())
            .into_scalar::<f32>();
        let want = (-(0.75f32.ln()) - 0.25f32.ln()) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // weights [2, 1]: (1·(−ln ¾) + 2·(−ln ¼)) / 3
        let weighted = SoftmaxConfig::new(2)
            .with_class_weights(Some(vec![2.0, 1.0]))
            .init();
        let got = weighted.loss(em, labels, mask).into_scalar::<f32>();
        let want = (-(0.75f32.ln()) - 2.0 * 0.25f32.ln()) / 3.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn decode_marginals_and_nbest() {
        let device = Device::flex();
        let em = Tensor::<3>::from_floats([[[0.0, 2.0], [1.0, 0.0]]], &device);
        let dec = SoftmaxConfig::new(2).init();
        assert_eq!(dec.decode(em.clone(), &[2]).unwrap(), vec![vec![1, 0]]);
        assert_eq!(dec.decode(em.clone(), &[1]).unwrap(), vec![vec![1]]);
        let m = dec.marginals(em.clone(), &[2]).unwrap();
        let p = 1.0 / (1.0 + (-2f32).exp());
        assert!((m[0][1] - p).abs() < 1e-6 && (m[0][0] + m[0][1] - 1.0).abs() < 1e-6);
        let nb = dec.nbest(em, &[2], 2).unwrap();
        assert_eq!(nb[0][0].labels, vec![1, 0]);
        assert_eq!(nb[0][1].labels, vec![1, 1]);
        assert!(nb[0][0].log_prob.abs() < 1.0);
    }
}
