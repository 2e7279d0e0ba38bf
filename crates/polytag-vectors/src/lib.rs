//! Word vectors for polytag: train them, read and write them, inspect them.
//!
//! - [`corpus`]: raw text or the token column of any corpus polytag reads → word ids;
//! - [`train`](mod@train): skip-gram / CBOW with negative sampling and seed 000's full-softmax
//!   skip-gram, Hogwild threads ([`matrix`]) over the steps in [`kernels`];
//! - [`vectors`]: the table, word2vec text/binary files identical to gensim's, cosine
//!   neighbours, concatenation of tables (seed 000's [word | char | PoS] features);
//! - [`pos_embed`]: seed 000's per-word PoS-distribution embedding.
//!
//! No burn here: word2vec needs two matrices and a dot product, and this crate must build in
//! seconds. What needs a neural network with characters (seed 000's char regression) lives
//! with the models.
//!
//! ```
//! use polytag_vectors::{corpus::CorpusBuilder, train, Model, TrainOptions};
//! let mut text = CorpusBuilder::new(true);
//! for _ in 0..50 {
//!     text.add_sentence("the cat sat on the mat".split(' '));
//! }
//! let corpus = text.finish(1, &[]).unwrap();
//! let opts = TrainOptions { dim: 8, epochs: 2, ..TrainOptions::new(Model::SkipGram) };
//! let vectors = train(&corpus, &opts, &|_| {}).unwrap();
//! assert_eq!((vectors.len(), vectors.dim), (5, 8));
//! ```

#![warn(missing_docs)]

pub mod corpus;
pub mod error;
pub mod kernels;
pub mod matrix;
pub mod pos_embed;
pub mod stats;
pub mod train;
pub mod vectors;

pub use corpus::{read_files, InputFile, Source, TrainCorpus};
pub use error::{Error, Result};
pub use train::{train, Model, TrainOptions};
pub use vectors::{concat, FileFormat, Vectors};
