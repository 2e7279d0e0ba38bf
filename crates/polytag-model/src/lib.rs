//! polytag-model: burn components, the builder and task models.
#![warn(missing_docs)]

pub mod activation;
pub mod attention;
pub mod char_cnn;
pub mod char_rnn;
pub mod component;
pub mod crf;
pub mod device;
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
pub mod summary;
pub mod tagger;
#[cfg(test)]
mod test_support;

pub use embedding::{TokenEmbedding, TokenEmbeddingConfig};
pub use error::{BuildErrors, ModelError, Result};
pub use input::TaskInput;
pub use tagger::{Model, ModelConfig};
