//! Lookup tables: the `embedding` (words of one language) and `feature_embedding` (an extra
//! input column such as POS ids) components, and the character tables inside the char encoders.
//!
//! Padding is id 0 everywhere (polytag-data's vocabularies reserve it). Its row is zero and
//! receives no gradient: the lookup is multiplied by the non-padding mask, so whatever the row
//! holds never reaches an output and its gradient is exactly zero (the old mlmt code instead
//! let a random padding-char vector feed the convolutions, seed-systems A.2 \[QUIRK\]). The row
//! is also zeroed at initialisation, so a saved table shows it as zero.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::prelude::*;
use burn::tensor::module::embedding;

use crate::error::{ModelError, Result};

/// Configuration of a [`TokenEmbedding`].
#[derive(Config, Debug)]
pub struct TokenEmbeddingConfig {
    /// Rows of the table: the vocabulary size including PAD (0) and UNK (1).
    pub vocab_size: usize,
    /// Vector size.
    pub dimension: usize,
    /// False freezes the table (no gradient, never updated), as the paper's `trainable: false`.
    #[config(default = true)]
    pub trainable: bool,
}

/// A lookup table whose row 0 (padding) is zero and gets no gradient.
#[derive(Module, Debug)]
pub struct TokenEmbedding {
    /// `[vocab_size, dimension]`.
    pub weight: Param<Tensor<2>>,
}

impl TokenEmbeddingConfig {
    /// A table drawn from N(0, 1) (the framework default the paper's new code relies on,
    /// seed-systems A.2), padding row zeroed. Initialisation is lazy (burn-0.22-notes §7).
    pub fn init(&self, device: &Device) -> TokenEmbedding {
        let vocab = self.vocab_size;
        let weight = Initializer::Normal {
            mean: 0.0,
            std: 1.0,
        }
        .init([self.vocab_size, self.dimension], device)
        .init_mapper(move |w: Tensor<2>| {
            let keep = non_padding_rows(vocab, &w.device());
            w * keep
        })
        .set_require_grad(self.trainable);
        TokenEmbedding { weight }
    }

    /// A table holding the caller's pretrained vectors, row-major `[vocab_size, dimension]`
    /// (polytag-data builds them from the embedding file, unknown rows already initialised).
    /// Row 0 is forced to zero whatever the vectors hold.
    ///
    /// # Errors
    /// [`ModelError::PretrainedShape`] when `vectors.len() != vocab_size * dimension`; `path`
    /// is the config path used in the message.
    pub fn init_pretrained(
        &self,
        mut vectors: Vec<f32>,
        path: &str,
        device: &Device,
    ) -> Result<TokenEmbedding> {
        if vectors.len() != self.vocab_size * self.dimension {
            return Err(ModelError::PretrainedShape {
                path: path.to_string(),
                vocab: self.vocab_size,
                dim: self.dimension,
                found: vectors.len(),
            });
        }
        for v in vectors.iter_mut().take(self.dimension) {
            *v = 0.0;
        }
        let data = TensorData::new(vectors, [self.vocab_size, self.dimension]);
        let weight = Param::from_data(data, device).set_require_grad(self.trainable);
        Ok(TokenEmbedding { weight })
    }
}

/// `[vocab, 1]` column of ones with a zero in row 0.
fn non_padding_rows(vocab: usize, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = (0..vocab).map(|i| if i == 0 { 0.0 } else { 1.0 }).collect();
    Tensor::from_data(TensorData::new(v, [vocab, 1]), device)
}

impl TokenEmbedding {
    /// Looks up `ids`; padding ids (0) give zero vectors.
    ///
    /// # Shapes
    /// - `ids`: `[N, T]` → `[N, T, dimension]`
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let keep = ids.clone().not_equal_elem(0).float().unsqueeze_dim::<3>(2);
        embedding(self.weight.val(), ids) * keep
    }

    /// Appends rows (row-major, `dimension` values each) after the trained ones: how a
    /// loaded model gives words added to its vocabulary after training (`polytag predict`'s
    /// `extend_vocab`) their vectors. Existing rows and the table's trainability are kept.
    ///
    /// # Errors
    /// [`ModelError::PretrainedShape`] when `rows.len()` is not a multiple of the dimension;
    /// `path` is the config path used in the message.
    pub fn append_rows(self, rows: Vec<f32>, path: &str) -> Result<TokenEmbedding> {
        let [vocab, dim] = self.weight.lazy_shape().dims::<2>();
        let added = rows.len().checked_div(dim).unwrap_or(0);
        if added * dim != rows.len() {
            return Err(ModelError::PretrainedShape {
                path: path.to_string(),
                vocab: vocab + added + 1,
                dim,
                found: vocab * dim + rows.len(),
            });
        }
        if added == 0 {
            return Ok(self);
        }
        // `map` keeps the parameter's id and gradient setting.
        let weight = self.weight.map(|old| {
            let new = Tensor::<2>::from_data(TensorData::new(rows, [added, dim]), &old.device());
            Tensor::cat(vec![old, new], 0)
        });
        Ok(TokenEmbedding { weight })
    }

    /// Output size.
    pub fn dimension(&self) -> usize {
        self.weight.lazy_shape().dims::<2>()[1]
    }

    /// Number of rows.
    pub fn vocab_size(&self) -> usize {
        self.weight.lazy_shape().dims::<2>()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::optim::{AdamConfig, GradientsParams, SgdConfig};

    #[test]
    fn padding_row_is_zero_and_padding_ids_give_zero_vectors() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let emb = TokenEmbeddingConfig::new(5, 3).init(&device);
        let w: Vec<f32> = emb.weight.val().try_to_vec_as().unwrap();
        assert!(w[..3].iter().all(|&v| v == 0.0));
        assert!(w[3..].iter().any(|&v| v != 0.0));
        let out = emb.forward(Tensor::from_data([[2, 0, 4]], &device));
        let out: Vec<f32> = out.try_to_vec_as().unwrap();
        assert_eq!(&out[3..6], &[0.0, 0.0, 0.0]);
        assert_eq!(&out[0..3], &w[6..9]);
    }

    #[test]
    fn padding_row_gets_zero_gradient_and_stays_zero_after_steps() {
        let device = Device::flex().autodiff();
        // Pretrained table whose row 0 is deliberately non-zero in the input vectors.
        let vectors: Vec<f32> = (0..12).map(|i| i as f32 + 1.0).collect();
        let mut emb = TokenEmbeddingConfig::new(4, 3)
            .init_pretrained(vectors, "components[0]", &device)
            .unwrap();
        let ids = Tensor::<2, Int>::from_data([[1, 0, 3, 0], [0, 2, 2, 0]], &device);
        let loss = emb.forward(ids.clone()).powf_scalar(2.0).sum();
        let grads = loss.backward();
        let g: Vec<f32> = emb.weight.grad(&grads).unwrap().try_to_vec_as().unwrap();
        assert_eq!(&g[0..3], &[0.0, 0.0, 0.0]);
        // d sum(w^2) / dw = 2 w * count: row 2 used twice -> 4 * w[2]
        assert_eq!(&g[6..9], &[28.0, 32.0, 36.0]);

        let mut adam = AdamConfig::new().init();
        let mut sgd = SgdConfig::new()
            .with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(0.1)))
            .init();
        for step in 0..3 {
            let loss = emb.forward(ids.clone()).powf_scalar(2.0).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &emb);
            emb = if step % 2 == 0 {
                adam.step(0.1, emb, grads)
            } else {
                sgd.step(0.1, emb, grads)
            };
        }
        let w: Vec<f32> = emb.weight.val().try_to_vec_as().unwrap();
        assert_eq!(&w[0..3], &[0.0, 0.0, 0.0]);
        assert_ne!(&w[3..6], &[4.0, 5.0, 6.0]);
    }

    #[test]
    fn frozen_table_gets_no_gradient() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        let emb = TokenEmbeddingConfig::new(4, 2)
            .with_trainable(false)
            .init(&device);
        let x = Tensor::<3>::ones([1, 2, 2], &device).require_grad();
        let out = emb.forward(Tensor::from_data([[1, 2]], &device)) * x;
        let grads = GradientsParams::from_grads(out.sum().backward(), &emb);
        assert!(grads.is_empty());
    }

    #[test]
    fn appended_rows_follow_the_trained_ones() {
        let device = Device::flex();
        let emb = TokenEmbeddingConfig::new(3, 2)
            .with_trainable(false)
            .init_pretrained(vec![9.0, 9.0, 1.0, 2.0, 3.0, 4.0], "c", &device)
            .unwrap();
        let emb = emb.append_rows(vec![5.0, 6.0, 7.0, 8.0], "c").unwrap();
        assert_eq!(emb.vocab_size(), 5);
        let out = emb.forward(Tensor::from_data([[4, 2, 0]], &device));
        let out: Vec<f32> = out.try_to_vec_as().unwrap();
        assert_eq!(out, [7.0, 8.0, 3.0, 4.0, 0.0, 0.0]);
        let err = emb.append_rows(vec![1.0], "c").unwrap_err();
        assert!(
            err.to_string().starts_with("c: pretrained vectors hold"),
            "{err}"
        );
    }

    #[test]
    fn pretrained_of_wrong_length_is_an_error() {
        let device = Device::flex();
        let err = TokenEmbeddingConfig::new(4, 3)
            .init_pretrained(vec![0.0; 11], "components[1]", &device)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "components[1]: pretrained vectors hold 11 values, expected 4 × 3 = 12"
        );
    }
}
