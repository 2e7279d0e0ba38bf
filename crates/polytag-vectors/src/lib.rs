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
//! with the models (`polytag vectors char-regress`).
//!
//! Why not the `finalfrontier` crate (0.9.4, skip-gram / structured skip-gram with subword
//! units): it does build with today's toolchain from the crates.io registry (151 crates in its
//! lock file incl. clap 2, ndarray and finalfusion; 9 min 54 s with `-j1` on the shared
//! 2-core machine), but it has no CBOW and no full-softmax skip-gram or asymmetric window
//! (seed 000), writes finalfusion files (word2vec only by conversion), takes its learning
//! rate from a counter shared by the threads (no run is reproducible) and was slower here:
//! on the same 1.02 M-token text (dim 100, window 5, 5 negatives, 5 epochs, 2 threads,
//! runs alternated on the shared machine) it trained in 17.4 s and 18.2 s, this crate in
//! 8.5 s and 11.2 s.
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
