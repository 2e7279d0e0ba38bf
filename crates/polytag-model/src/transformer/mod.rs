//! A BERT-family encoder (BERT, RoBERTa, XLM-R) that loads Hugging Face weights: the
//! `transformer` component wraps it (pooling subwords to words is that component's job).
//!
//! Own module rather than `burn::nn::TransformerEncoder` (transformer-design.md §1): burn's
//! encoder has no embeddings, one dropout for everything, and an extra dropout inside the FFN
//! that HF's `BertLayer` does not have. The structure is HF's (`modeling_bert.py`): post-LN
//! layers, `LayerNorm(x + Dropout(Dense(Attention(x))))` then
//! `LayerNorm(x + Dropout(Dense(act(Dense(x)))))`, every LayerNorm with the file's epsilon.
//!
//! - [`embeddings`]: word + position + token type (always 0) → LayerNorm → dropout; RoBERTa
//!   positions start at `pad_token_id + 1`.
//! - [`layer`]: one encoder layer.
//! - [`load`]: `model.safetensors` → [`Bert`] through `burn::store`, with errors naming the
//!   HF tensor and the file before any training starts.
//! - [`export`]: the reverse, a `*ForTokenClassification` directory `transformers` can read.
//!
//! ```
//! use burn::prelude::*;
//! use polytag_config::hf::HfModelConfig;
//! use polytag_model::transformer::Bert;
//!
//! let device = Device::flex();
//! let cfg = HfModelConfig::scratch(2, 4, 16, 24, 50, 32);
//! let bert = Bert::new(&cfg, &device);
//! let ids = Tensor::<2, Int>::from_data([[2, 7, 9, 3], [2, 5, 3, 0]], &device);
//! let pad = ids.clone().equal_elem(0);
//! assert_eq!(bert.forward(ids, pad).dims(), [2, 4, 16]);
//! ```

pub mod embeddings;
pub mod export;
pub mod layer;
pub mod load;

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::*;
use polytag_config::hf::{HfConfigError, HfModelConfig};

use crate::error::ModelError;

pub use embeddings::BertEmbeddings;
pub use export::export_hf;
pub use layer::BertLayer;
pub use load::LoadReport;

/// A pretrained (or from-scratch) BERT-family encoder.
#[derive(Module, Debug)]
pub struct Bert {
    /// Word, position and token type embeddings with their LayerNorm.
    pub embeddings: BertEmbeddings,
    /// The encoder layers, lowest first.
    pub layers: Vec<BertLayer>,
    /// The HF config it was built from (kept for export and for the window size).
    #[module(skip)]
    config: HfModelConfig,
}

/// Which parameters stop receiving gradients (the `freeze` key of a `transformer` component).
///
/// Only gradients stop: dropout keeps its training behaviour, as when a PyTorch user sets
/// `requires_grad = False`. A fully frozen encoder is cheapest run on the inner (non-autodiff)
/// device, which also turns its dropout off; that is the caller's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freeze {
    /// Everything is trained.
    None,
    /// The embedding tables and their LayerNorm are fixed (the big CPU saving: the word
    /// embedding gradient is dense, transformer-design.md §7).
    Embeddings,
    /// The embeddings and the lowest `n` layers are fixed (`n` ≥ the layer count = all).
    Layers(usize),
    /// Nothing is trained (feature extraction).
    All,
}

impl Bert {
    /// A randomly initialised encoder shaped like `cfg`, initialised as HF does
    /// (`_init_weights`): weights N(0, 0.02), biases 0, LayerNorm 1 / 0. Draws come from
    /// the device RNG (`device.seed(..)`), lazily: loading weights right after replaces the
    /// parameters before any is drawn.
    pub fn new(cfg: &HfModelConfig, device: &Device) -> Bert {
        Bert {
            embeddings: BertEmbeddings::new(cfg, device),
            layers: (0..cfg.num_hidden_layers)
                .map(|_| BertLayer::new(cfg, device))
                .collect(),
            config: cfg.clone(),
        }
    }

    /// `dir/config.json` + `dir/model.safetensors`: the usual way to get a pretrained encoder.
    pub fn from_pretrained(dir: &Path, device: &Device) -> Result<(Bert, LoadReport), ModelError> {
        let cfg = HfModelConfig::read(dir).map_err(WeightsError::from)?;
        Bert::new(&cfg, device).load_safetensors(&dir.join("model.safetensors"))
    }

    /// The last layer's hidden states.
    ///
    /// # Shapes
    /// - `ids`: `[W, S]` subword ids of W windows (specials included), `pad`: `[W, S]`,
    ///   true = padding (padded keys get no attention weight; padded rows are computed but
    ///   meaningless)
    /// - output: `[W, S, H]`
    pub fn forward(&self, ids: Tensor<2, Int>, pad: Tensor<2, Bool>) -> Tensor<3> {
        let mut x = self.embeddings.forward(ids, pad.clone());
        let key_pad = key_pad(pad);
        for layer in &self.layers {
            x = layer.forward(x, key_pad.clone());
        }
        x
    }

    /// The embedding output followed by every layer's output (`1 + layers` tensors), as HF's
    /// `output_hidden_states`; for parity tests and layer mixing.
    ///
    /// # Shapes
    /// - as [`Bert::forward`]; each output `[W, S, H]`
    pub fn forward_all(&self, ids: Tensor<2, Int>, pad: Tensor<2, Bool>) -> Vec<Tensor<3>> {
        let mut out = Vec::with_capacity(self.layers.len() + 1);
        out.push(self.embeddings.forward(ids, pad.clone()));
        let key_pad = key_pad(pad);
        for layer in &self.layers {
            let next = layer.forward(out[out.len() - 1].clone(), key_pad.clone());
            out.push(next);
        }
        out
    }

    /// Stops gradients of the parameters `freeze` names (see [`Freeze`]). (It shadows
    /// burn's `Module::freeze`, which also turns dropout off; call that as
    /// `Module::freeze(bert)` if wanted.)
    pub fn freeze(mut self, freeze: Freeze) -> Bert {
        let frozen_layers = match freeze {
            Freeze::None => return self,
            Freeze::Embeddings => 0,
            Freeze::Layers(n) => n.min(self.layers.len()),
            Freeze::All => self.layers.len(),
        };
        self.embeddings = self.embeddings.no_grad();
        self.layers = self
            .layers
            .into_iter()
            .enumerate()
            .map(|(i, l)| if i < frozen_layers { l.no_grad() } else { l })
            .collect();
        self
    }

    /// The HF config this encoder has the shape of.
    pub fn config(&self) -> &HfModelConfig {
        &self.config
    }

    /// H, the width of the output.
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }
}

/// A Hugging Face weights file or export directory that cannot be used; every message names
/// the file and, where one is at fault, the tensor as the file names it.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file cannot be read or is not a safetensors file; also what `burn::store` reports.
    #[error("{}: {message}", .file.display())]
    Read {
        /// The weights file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A parameter of the encoder has no tensor in the file.
    #[error("{}: tensor {tensor} (shape {expected:?}) is missing{}", .file.display(), more_note(*.more, "missing"))]
    Missing {
        /// The weights file.
        file: PathBuf,
        /// HF name of the first missing tensor (with the file's prefix).
        tensor: String,
        /// The shape config.json implies.
        expected: Vec<usize>,
        /// How many more are missing.
        more: usize,
    },
    /// A tensor's shape disagrees with the config.
    #[error("{}: tensor {tensor} has shape {found:?}, but config.json implies {expected:?}", .file.display())]
    Shape {
        /// The weights file.
        file: PathBuf,
        /// HF name.
        tensor: String,
        /// The shape config.json implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A parameter stored as integers or booleans.
    #[error("{}: tensor {tensor} has dtype {dtype}, expected a float type (F32, F16, BF16, F64)", .file.display())]
    Dtype {
        /// The weights file.
        file: PathBuf,
        /// HF name.
        tensor: String,
        /// The file's dtype.
        dtype: String,
    },
    /// A tensor that is neither an encoder parameter nor an expected leftover: usually a
    /// different architecture than config.json says.
    #[error("{}: unexpected tensor {tensor}{}: not a parameter of a BERT/RoBERTa encoder and not one of the expected unused tensors (pooler.*, embeddings.position_ids, cls.*, classifier.*, lm_head.*)", .file.display(), more_note(*.more, "unexpected"))]
    Unexpected {
        /// The weights file.
        file: PathBuf,
        /// HF name of the first unexpected tensor.
        tensor: String,
        /// How many more there are.
        more: usize,
    },
    /// The model directory's `config.json` is unusable.
    #[error(transparent)]
    Config(#[from] HfConfigError),
    /// Export was asked for something inconsistent (e.g. a classifier of the wrong width).
    #[error("{}: {message}", .path.display())]
    Export {
        /// The output directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn more_note(more: usize, what: &str) -> String {
    match more {
        0 => String::new(),
        n => format!(" (and {n} more {what})"),
    }
}

/// `[W, S]` padding → `[W, 1, 1, S]`, broadcast over heads and queries.
fn key_pad(pad: Tensor<2, Bool>) -> Tensor<4, Bool> {
    let [w, s] = pad.dims();
    pad.reshape([w, 1, 1, s])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::RNG;

    fn tiny() -> HfModelConfig {
        HfModelConfig::scratch(3, 2, 8, 12, 20, 16)
    }

    #[test]
    fn shapes_and_hidden_states() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        device.seed(3);
        let bert = Bert::new(&tiny(), &device);
        let ids = Tensor::<2, Int>::from_data([[2, 5, 6, 3], [2, 7, 3, 0]], &device);
        let pad = ids.clone().equal_elem(0);
        let all = bert.forward_all(ids.clone(), pad.clone());
        assert_eq!(all.len(), 4);
        let last = bert.forward(ids, pad);
        assert_eq!(last.dims(), [2, 4, 8]);
        let d = (last - all[3].clone()).abs().max().into_scalar::<f32>();
        assert_eq!(d, 0.0);
    }

    #[test]
    fn init_is_hf_like_and_seeded() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        // parameters are lazy: drawn from the device RNG on first use
        device.seed(11);
        let a = Bert::new(&tiny(), &device);
        let wa = a.layers[0].query.weight.val();
        device.seed(11);
        let b = Bert::new(&tiny(), &device);
        let wb = b.layers[0].query.weight.val();
        assert!(wa.clone().equal(wb).all().into_scalar::<bool>());
        let std = wa.var(0).mean().sqrt().into_scalar::<f32>();
        assert!((0.01..0.03).contains(&std), "std {std}");
        let bias = a.layers[0].query.bias.as_ref().unwrap().val();
        assert_eq!(bias.abs().sum().into_scalar::<f32>(), 0.0);
        let gamma = a.layers[0].attn_norm.gamma.val();
        assert_eq!(gamma.sum().into_scalar::<f32>(), 8.0);
    }

    #[test]
    fn freeze_stops_gradients_of_the_named_parameters() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        let bert = Bert::new(&tiny(), &device);
        let trainable = |b: &Bert| {
            (
                b.embeddings.word_embeddings.weight.val().is_require_grad(),
                b.layers
                    .iter()
                    .map(|l| l.ffn_in.weight.val().is_require_grad())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(trainable(&bert), (true, vec![true, true, true]));
        let b = bert.clone().freeze(Freeze::Embeddings);
        assert_eq!(trainable(&b), (false, vec![true, true, true]));
        let b = bert.clone().freeze(Freeze::Layers(2));
        assert_eq!(trainable(&b), (false, vec![false, false, true]));
        let b = bert.clone().freeze(Freeze::All);
        assert_eq!(trainable(&b), (false, vec![false, false, false]));
        let b = bert.freeze(Freeze::None);
        assert_eq!(trainable(&b), (true, vec![true, true, true]));
    }
}
