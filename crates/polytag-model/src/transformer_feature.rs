//! The `transformer` feature: a BERT/RoBERTa encoder ([`crate::transformer::Bert`]) run on
//! the sub-word windows of a batch, then pooled to one vector per word
//! ([`crate::subword_pool::pool`]). One per config component, shared by every task that
//! names it (sharing is by component index, as for every kind).

use std::path::PathBuf;

use burn::module::Module;
use burn::prelude::*;
use polytag_config::hf::HfModelConfig;
use polytag_config::{Freeze, SubwordPooling};

use crate::error::Result;
use crate::input::SubwordInput;
use crate::subword_pool::pool;
use crate::transformer::{self, Bert};

/// What to build: the encoder's sizes and the feature's options.
#[derive(Clone, Debug)]
pub struct TransformerFeatureConfig {
    /// Encoder sizes (`config.json`, or a scratch encoder's), dropout already set.
    pub model: HfModelConfig,
    /// Pieces → word vector.
    pub pooling: SubwordPooling,
    /// Parameters kept fixed.
    pub freeze: Freeze,
    /// `model.safetensors` to start from; `None` for a scratch encoder or when a checkpoint
    /// will replace the parameters.
    pub weights: Option<PathBuf>,
}

impl TransformerFeatureConfig {
    /// Output width.
    pub fn d_output(&self) -> usize {
        self.pooling.width(self.model.hidden_size)
    }

    /// Builds the encoder, loads the pretrained weights if any (into the standalone `Bert`,
    /// whose parameter paths match the key table), then freezes.
    ///
    /// # Errors
    /// The weight file's problems, naming it.
    pub fn init(self, device: &Device) -> Result<TransformerFeature> {
        let mut bert = Bert::new(&self.model, device);
        if let Some(weights) = &self.weights {
            let (loaded, _report) = bert.load_safetensors(weights)?;
            bert = loaded;
        }
        let bert = bert.freeze(match self.freeze {
            Freeze::None => transformer::Freeze::None,
            Freeze::Embeddings => transformer::Freeze::Embeddings,
            Freeze::Layers(n) => transformer::Freeze::Layers(n),
            Freeze::All => transformer::Freeze::All,
        });
        Ok(TransformerFeature {
            bert,
            pooling: self.pooling,
            frozen: self.freeze == Freeze::All,
        })
    }
}

/// A built transformer feature.
#[derive(Module, Debug)]
pub struct TransformerFeature {
    /// The encoder.
    pub bert: Bert,
    #[module(skip)]
    pooling: SubwordPooling,
    /// `freeze: true`: the encoder runs without autodiff (no graph through its parameters).
    #[module(skip)]
    frozen: bool,
}

impl TransformerFeature {
    /// `[B, T, D]` word vectors of the batch's windows.
    pub fn forward(&self, sub: &SubwordInput) -> Tensor<3> {
        let h = if self.frozen && sub.ids.is_autodiff() {
            // Feature extraction: eval mode, no graph; the output re-enters autodiff untracked.
            let out = self
                .bert
                .valid()
                .forward(sub.ids.clone().inner(), sub.pad.clone().inner());
            Tensor::from_inner(out)
        } else {
            self.bert.forward(sub.ids.clone(), sub.pad.clone())
        };
        pool(h, sub, self.pooling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polytag_data::{plan_windows, EncodedSubwords, SubwordBatch, SubwordSentence};

    /// A sentence of words with `lens[i]` pieces, piece ids drawn from 4..20 by position.
    fn sentence(lens: &[u32], salt: u32, max_pieces: usize, stride: usize) -> EncodedSubwords {
        let mut word_starts = vec![0u32];
        for l in lens {
            word_starts.push(word_starts.last().unwrap() + l);
        }
        let n = *word_starts.last().unwrap();
        let pieces = (0..n).map(|p| 4 + (p * 7 + salt * 3) % 16).collect();
        let plan = plan_windows(&word_starts, max_pieces, stride);
        EncodedSubwords {
            sentence: SubwordSentence {
                pieces,
                word_starts,
            },
            plan,
            cls: 1,
            sep: 2,
            pad: 0,
        }
    }

    fn run(feature: &TransformerFeature, rows: &[&EncodedSubwords]) -> (Vec<f32>, [usize; 3]) {
        let device = Device::flex();
        let t = rows.iter().map(|s| s.plan.word_window.len()).max().unwrap();
        let batch = SubwordBatch::build(
            rows.iter().map(|s| (s.plan.word_window.len(), Some(*s))),
            rows.len(),
            t,
        );
        let sub = SubwordInput::from_batch(&batch, rows.len(), t, &device).unwrap();
        let out = feature.forward(&sub);
        let dims = out.dims();
        (out.try_to_vec_as().unwrap(), dims)
    }

    /// Each sentence gets the same word vectors in a padded batch (other sentences, other
    /// window widths, padding windows) as alone: the pad mask and the gather indices isolate
    /// it. One sentence needs three windows.
    #[test]
    fn a_padded_batch_gives_each_sentence_its_vectors_alone() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        for pooling in [
            SubwordPooling::First,
            SubwordPooling::Last,
            SubwordPooling::Mean,
            SubwordPooling::FirstLast,
        ] {
            let config = TransformerFeatureConfig {
                model: HfModelConfig::scratch(2, 2, 8, 16, 20, 16),
                pooling,
                freeze: Freeze::None,
                weights: None,
            };
            let feature = config.init(&device).unwrap();
            let sentences = [
                sentence(&[1, 2, 1], 1, 6, 2),
                sentence(&[2, 1, 3, 1, 2, 1, 1, 2], 2, 6, 2),
                sentence(&[1], 3, 6, 2),
            ];
            assert!(sentences[1].plan.windows.len() >= 3);
            let rows: Vec<&EncodedSubwords> = sentences.iter().collect();
            let (all, [b, t, d]) = run(&feature, &rows);
            assert_eq!((b, t, d), (3, 8, pooling.width(8)));
            for (r, s) in sentences.iter().enumerate() {
                let (alone, [_, t1, _]) = run(&feature, &[s]);
                for w in 0..t1 {
                    for k in 0..d {
                        let (x, y) = (all[(r * t + w) * d + k], alone[w * d + k]);
                        assert!(
                            (x - y).abs() <= 1e-5,
                            "{pooling:?} row {r} word {w}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    /// `freeze` stops exactly the gradients it names; `true` leaves the output untracked
    /// (the encoder ran without autodiff).
    #[test]
    fn freeze_stops_the_gradients_it_names() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        let s = sentence(&[1, 2, 1], 1, 6, 2);
        let batch = SubwordBatch::build(std::iter::once((3, Some(&s))), 1, 3);
        let sub = SubwordInput::from_batch(&batch, 1, 3, &device).unwrap();
        for (freeze, embeddings, layer0, layer1) in [
            (Freeze::None, true, true, true),
            (Freeze::Embeddings, false, true, true),
            (Freeze::Layers(1), false, false, true),
        ] {
            let feature = TransformerFeatureConfig {
                model: HfModelConfig::scratch(2, 2, 8, 16, 20, 16),
                pooling: SubwordPooling::Mean,
                freeze,
                weights: None,
            }
            .init(&device)
            .unwrap();
            let grads = feature.forward(&sub).powf_scalar(2.0).sum().backward();
            let bert = &feature.bert;
            let has = |g: Option<Tensor<2>>| g.is_some();
            assert_eq!(
                has(bert.embeddings.word_embeddings.weight.grad(&grads)),
                embeddings,
                "{freeze:?}"
            );
            assert_eq!(
                has(bert.layers[0].query.weight.grad(&grads)),
                layer0,
                "{freeze:?}"
            );
            assert_eq!(
                has(bert.layers[1].query.weight.grad(&grads)),
                layer1,
                "{freeze:?}"
            );
        }
        let frozen = TransformerFeatureConfig {
            model: HfModelConfig::scratch(2, 2, 8, 16, 20, 16),
            pooling: SubwordPooling::First,
            freeze: Freeze::All,
            weights: None,
        }
        .init(&device)
        .unwrap();
        let out = frozen.forward(&sub);
        assert!(out.is_autodiff() && !out.is_tracked());
    }
}
