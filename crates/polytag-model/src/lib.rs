//! polytag-model: the burn side of polytag — components, task models and the builder.
//!
//! It receives a resolved [`polytag_config::Experiment`] plus what only the data knows
//! ([`BuildInputs`]: vocabulary sizes, pretrained vectors, label sets) and hands on a
//! [`Model`]: every config component built once ([`component::Component`]), one head per task
//! (its gate and dropouts), and per task a wiring of component indices
//! ([`tagger::TaskWiring`]). Sharing is declared in the config by naming a component in several
//! tasks; it exists once in the model tree (burn-0.22-notes §2). Batches arrive as
//! [`polytag_data::Batch`] ids and become tensors in [`TaskInput::from_batch`].
//!
//! One file per concept: [`embedding`], [`char_cnn`], [`char_rnn`], [`highway`], [`rnn`] (one
//! masked recurrence for LSTM / GRU / RNN), [`attention`], [`linear`] and [`gated_output`]
//! (output layers and the per-task gate), [`crf`] and [`softmax`] (decoders), [`lattice`]
//! (exact Viterbi / n-best / marginals on the host), [`builder`], [`tagger`], [`device`];
//! [`transformer`]: a BERT-family encoder that loads and exports Hugging Face weights.
//!
//! On the CPU the components with per-element or per-time-step work have fast paths that
//! compute the same functions (`cpu`, one `match cpu::Path::of(&device)` per component):
//! inference on the plain `flex` device runs their element-wise work in fused, vectorised
//! loops on the host, and training on the `flex` autodiff device records one
//! hand-differentiated op for the LSTM recurrence, the char CNN, the highway mix and the
//! CRF's forward algorithm. Each is tested against the tensor path, which GPU devices keep.
//!
//! ```
//! use burn::prelude::*;
//! use polytag_model::component::ComponentConfig;
//! use polytag_model::crf::CrfConfig;
//! use polytag_model::linear::OutputLayerConfig;
//! use polytag_model::rnn::{Cell, RecurrentConfig};
//! use polytag_model::tagger::{FeatureSlot, NamedComponent, Slot, TaskWiring};
//! use polytag_model::{InputStream, ModelConfig, TaskInput, TokenEmbeddingConfig};
//!
//! let named = |i: usize, name: &str, config| NamedComponent {
//!     name: name.into(), path: format!("components[{i}]"), config,
//! };
//! let slot = |component: usize, key: &str| Slot { component, path: format!("tasks[0].model.{key}") };
//! let config = ModelConfig {
//!     components: vec![
//!         named(0, "emb", ComponentConfig::Embedding {
//!             config: TokenEmbeddingConfig::new(10, 4), pretrained: None }),
//!         named(1, "lstm", ComponentConfig::Recurrent(RecurrentConfig::new(4, 3, Cell::Lstm))),
//!         named(2, "out", ComponentConfig::Linear(OutputLayerConfig::new(6, 2))),
//!         named(3, "crf", ComponentConfig::Crf { config: CrfConfig::new(2), constraints: None }),
//!     ],
//!     tasks: vec![TaskWiring {
//!         name: "ner".into(), path: "tasks[0]".into(), num_labels: 2,
//!         features: vec![FeatureSlot { slot: slot(0, "word_embed"), highway: None }],
//!         encoders: vec![slot(1, "lstm")],
//!         universal: Some(slot(2, "univ_layer")), specific: None, decoder: slot(3, "crf"),
//!         feature_dropout: 0.0, encoder_dropout: 0.0, linear_dropout: 0.0,
//!     }],
//! };
//! let device = Device::flex();
//! let model = config.init(&device)?;
//! let input = TaskInput::new(
//!     // one id stream per feature: word ids, 0 = padding
//!     vec![InputStream::Tokens(Tensor::from_data([[2, 3, 4], [5, 6, 0]], &device))],
//!     vec![3, 2],                                         // sentence lengths
//!     Some(Tensor::from_data([[0, 1, 1], [1, 0, 0]], &device)),
//!     &device,
//! );
//! let loss = model.loss(0, &input)?;                      // mean sentence NLL, [1]
//! assert!(loss.into_scalar::<f32>() > 0.0);
//! let paths = model.decode(0, &input)?;                   // exact Viterbi per sentence
//! assert_eq!((paths[0].len(), paths[1].len()), (3, 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod activation;
pub mod attention;
pub mod builder;
pub mod char_cnn;
pub mod char_rnn;
pub mod component;
mod cpu;
pub mod crf;
pub mod device;
mod dropout;
pub mod embedding;
pub mod error;
pub mod gated_output;
pub mod highway;
pub mod input;
pub mod lattice;
pub mod linear;
pub mod rnn;
pub mod sequence;
pub mod softmax;
pub mod subword_pool;
pub mod summary;
pub mod tagger;
#[cfg(test)]
mod test_support;
pub mod transformer;
pub mod transformer_feature;

pub use builder::{build, model_config, BuildInputs, TaskLabels};
pub use device::select_device;
pub use embedding::{TokenEmbedding, TokenEmbeddingConfig};
pub use error::{BuildErrors, ModelError, Result};
pub use input::{InputStream, SubwordInput, TaskInput};
pub use lattice::ScoredPath;
pub use summary::ModelSummary;
pub use tagger::{Model, ModelConfig};
