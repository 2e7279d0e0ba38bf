//! BERT embeddings (HF `BertEmbeddings` / `XLMRobertaEmbeddings`): word + position + token
//! type → LayerNorm → dropout.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::prelude::*;
use polytag_config::hf::{Family, HfModelConfig};

/// How position ids are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// BERT: `0, 1, …, S−1` for every window (padding included; its rows are never used).
    FromZero,
    /// RoBERTa/XLM-R (HF `create_position_ids_from_input_ids`): real tokens count from
    /// `pad + 1`, padding gets `pad` itself. HF finds padding by comparing ids with
    /// `pad_token_id`; here the `pad` mask says it, which is the same for every input whose
    /// real tokens never use the pad id.
    AfterPad {
        /// `pad_token_id`.
        pad: usize,
    },
}

/// The embedding block.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// `[V, H]` subword vectors.
    pub word_embeddings: Embedding,
    /// `[P, H]` absolute position vectors.
    pub position_embeddings: Embedding,
    /// `[T, H]` segment vectors; polytag feeds one segment, so only row 0 is used.
    pub token_type_embeddings: Embedding,
    /// LayerNorm with the config's epsilon.
    pub layer_norm: LayerNorm,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
    #[module(skip)]
    positions: Positions,
}

impl BertEmbeddings {
    /// Tables N(0, 0.02), LayerNorm 1 / 0 (HF `_init_weights`; HF also zeroes the padding
    /// row of the word table, which only matters for from-scratch training and is kept here).
    pub fn new(cfg: &HfModelConfig, device: &Device) -> BertEmbeddings {
        let h = cfg.hidden_size;
        let table = |rows: usize| {
            EmbeddingConfig::new(rows, h)
                .with_initializer(super::layer::hf_init())
                .init(device)
        };
        let mut word_embeddings = table(cfg.vocab_size);
        let pad = cfg.pad_token_id;
        // lazily, so loading weights right after draws nothing
        word_embeddings.weight = word_embeddings.weight.init_mapper(move |w| {
            let zeros = Tensor::<2>::zeros([1, h], &w.device());
            w.slice_assign([pad..pad + 1, 0..h], zeros)
        });
        BertEmbeddings {
            word_embeddings,
            position_embeddings: table(cfg.max_position_embeddings),
            token_type_embeddings: table(cfg.type_vocab_size),
            layer_norm: LayerNormConfig::new(h)
                .with_epsilon(cfg.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(cfg.hidden_dropout_prob).init(),
            positions: match cfg.family {
                Family::Bert => Positions::FromZero,
                Family::Roberta => Positions::AfterPad {
                    pad: cfg.pad_token_id,
                },
            },
        }
    }

    /// # Shapes
    /// - `ids`, `pad`: `[W, S]` (pad: true = padding) → `[W, S, H]`
    pub fn forward(&self, ids: Tensor<2, Int>, pad: Tensor<2, Bool>) -> Tensor<3> {
        let [w, s] = ids.dims();
        let device = ids.device();
        let positions = match self.positions {
            Positions::FromZero => Tensor::<1, Int>::arange(0..s as i64, &device)
                .reshape([1, s])
                .expand([w, s]),
            Positions::AfterPad { pad: pad_id } => {
                let real = pad.bool_not().int();
                real.clone().cumsum(1) * real + pad_id as i64
            }
        };
        let token_type = self
            .token_type_embeddings
            .weight
            .val()
            .slice(0..1)
            .unsqueeze::<3>(); // [1, 1, H]: type 0 everywhere
        let x = self.word_embeddings.forward(ids)
            + self.position_embeddings.forward(positions)
            + token_type;
        crate::dropout::dropout(&self.dropout, self.layer_norm.forward(x))
    }
}
