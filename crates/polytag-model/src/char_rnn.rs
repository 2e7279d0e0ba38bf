//! The `char_rnn` component: an alternative char encoder (seed B's char vectors, seed-systems
//! B.2): char embedding → bidirectional LSTM/GRU over each word's characters → the final
//! forward state (after the last real char) concatenated with the final backward state (which
//! started at the last real char). Uses the shared masked recurrence, so character padding
//! never enters either direction; padded words output zero.

use burn::config::Config;
use burn::module::Module;
use burn::prelude::*;

use crate::embedding::{TokenEmbedding, TokenEmbeddingConfig};
use crate::rnn::{Cell, Recurrent, RecurrentConfig};

/// Configuration of a [`CharRnn`].
#[derive(Config, Debug)]
pub struct CharRnnConfig {
    /// Rows of the char table (PAD = 0, UNK = 1 included).
    pub vocab_size: usize,
    /// Char embedding size.
    pub dimension: usize,
    /// Hidden size per direction.
    pub hidden_size: usize,
    /// Both directions (the output is then `2 · hidden_size`).
    #[config(default = true)]
    pub bidirectional: bool,
    /// LSTM or GRU (or a plain RNN).
    #[config(default = "Cell::Lstm")]
    pub cell: Cell,
}

/// Bidirectional char RNN word encoder.
#[derive(Module, Debug)]
pub struct CharRnn {
    /// Char lookup table (row 0 = padding, zero).
    pub embedding: TokenEmbedding,
    /// One (bidirectional) layer.
    pub rnn: Recurrent,
}

impl CharRnnConfig {
    /// Output size: `hidden_size`, doubled when bidirectional.
    pub fn d_output(&self) -> usize {
        self.hidden_size * if self.bidirectional { 2 } else { 1 }
    }

    /// Builds the module (lazy parameters).
    pub fn init(&self, device: &Device) -> CharRnn {
        CharRnn {
            embedding: TokenEmbeddingConfig::new(self.vocab_size, self.dimension).init(device),
            rnn: RecurrentConfig::new(self.dimension, self.hidden_size, self.cell)
                .with_bidirectional(self.bidirectional)
                .init(device),
        }
    }
}

impl CharRnn {
    /// # Shapes
    /// - `chars`: `[B, T, L]` char ids right-padded with 0; `word_mask`: `[B, T]`
    /// - output: `[B, T, d_output]`, zero at padded words
    pub fn forward(&self, chars: Tensor<3, Int>, word_mask: Tensor<2>) -> Tensor<3> {
        let [b, t, l] = chars.dims();
        let flat = chars.reshape([b * t, l]);
        let char_mask = flat.clone().not_equal_elem(0).float();
        let e = self.embedding.forward(flat);
        let states = self.rnn.final_states(e, char_mask); // [BT, 2H]
        let d = self.rnn.d_output();
        states.reshape([b, t, d]) * word_mask.unsqueeze_dim::<3>(2)
    }

    /// Output size.
    pub fn d_output(&self) -> usize {
        self.rnn.d_output()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::length_mask;

    #[test]
    fn padded_batch_gives_the_same_word_vectors_as_each_word_alone() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let enc = CharRnnConfig::new(12, 4, 3)
            .with_cell(Cell::Gru)
            .init(&device);
        // sentence 0: words "3 4 5" and "6"; sentence 1: word "7 8"; chars padded to 5
        let mut ids = vec![0i64; 2 * 2 * 5];
        ids[..3].copy_from_slice(&[3, 4, 5]);
        ids[5] = 6;
        ids[10..12].copy_from_slice(&[7, 8]);
        let chars = Tensor::<3, Int>::from_data(TensorData::new(ids, [2, 2, 5]), &device);
        let out = enc.forward(chars, length_mask(&[2, 1], 2, &device));
        assert_eq!(out.dims(), [2, 2, 6]);
        let alone = |w: Vec<i64>| {
            let n = w.len();
            let c = Tensor::<3, Int>::from_data(TensorData::new(w, [1, 1, n]), &device);
            enc.forward(c, Tensor::ones([1, 1], &device))
        };
        for (b, t, w) in [(0, 0, vec![3, 4, 5]), (0, 1, vec![6]), (1, 0, vec![7, 8])] {
            let got = out.clone().slice(s![b..b + 1, t..t + 1]);
            let diff = (got - alone(w)).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-6, "word ({b}, {t}): {diff}");
        }
        let pad = out.slice(s![1..2, 1..2]).abs().sum().into_scalar::<f32>();
        assert_eq!(pad, 0.0);
    }
}
