//! polytag-data: everything between a corpus file on disk and the integer batches a model eats.
//!
//! Readers (CoNLL columns, CoNLL-U, JSONL) produce [`Sentence`]s; tag schemes (IOB1, BIO, BIOES)
//! are detected, validated, converted and turned into spans in [`scheme`]; vocabularies, embedding
//! files, training-set sampling and batching (length-bucketed or plainly shuffled) follow.
//! Nothing here links burn.
//!
//! Pipeline order, one module per step:
//! 1. [`read_corpus`] ([`conll`], [`conllu`], [`jsonl`]) → [`Corpus`] of [`Sentence`]s, every
//!    error naming `file:line`;
//! 2. [`sample::sample_corpus`] → the training subset (seeded);
//! 3. [`vocab`]: [`WordVocab`], [`CharVocab`], [`FeatureVocab`]; [`labels`]: [`LabelVocab`]
//!    (+ [`LabelVocab::unseen_in`] for dev/test labels missing from train);
//! 4. [`embeddings::load_embeddings`] → the initial word table and its coverage;
//! 5. [`Encoder`] → [`EncodedSentence`]s once per corpus;
//! 6. [`TrainBatches`] (training order) or [`batch::eval_batches`], then [`Batch::build`].
//!
//! ```
//! use std::io::Cursor;
//! use std::path::Path;
//! use polytag_data::*;
//!
//! let text = "-DOCSTART- O\n\nEU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\n";
//! let corpus = read_corpus_from(Cursor::new(text), Path::new("train.conll"), &ReaderOptions::default())?;
//! assert_eq!((corpus.len(), corpus.num_tokens(), corpus.documents), (2, 4, 1));
//!
//! let words = WordVocab::build(&Counts::of_tokens([&corpus]), &WordVocabOptions::default());
//! let chars = CharVocab::from_corpora([&corpus], 1);
//! let labels = LabelVocab::from_corpora([&corpus]);
//! let inputs = [InputVocab::Words(words), InputVocab::Chars(chars)];
//! let encoder = Encoder { inputs: &inputs, labels: Some(&labels) };
//! let encoded = encoder.encode_corpus(&corpus)?;
//!
//! let lengths = encoded.iter().map(|s| s.len()).collect();
//! let mut stream = TrainBatches::new(lengths, 2, Batching::Bucketed, 42)?;
//! let batch = Batch::build(&encoded, stream.next_batch(), &BatchOptions { min_char_len: 3, max_char_len: None });
//! assert_eq!((batch.batch_size, batch.max_len), (2, 3));
//! let BatchStream::Tokens(words) = &batch.streams[0] else { unreachable!() };
//! assert_eq!(words.len(), 2 * 3);
//! let BatchStream::Chars { max_chars, .. } = &batch.streams[1] else { unreachable!() };
//! assert_eq!(*max_chars, 7);
//! # Ok::<(), polytag_data::Error>(())
//! ```

#![warn(missing_docs)]

pub mod batch;
pub mod bucket;
pub mod columns;
pub mod conll;
pub mod conllu;
pub mod corpus;
pub mod embeddings;
pub mod encode;
pub mod error;
pub mod experiment;
pub mod jsonl;
pub mod labels;
pub mod lines;
pub mod penn;
pub mod sample;
pub mod scheme;
pub mod scoreable;
pub mod sentence;
pub mod stats;
pub mod subword;
pub mod tokenize;
pub mod vocab;

pub use batch::{eval_batches, Batch, BatchOptions, BatchStream, EvalOrder};
pub use bucket::{BatchState, Batching, TrainBatches};
pub use columns::{ColumnOptions, Separator};
pub use conll::{read_conll, write_conll};
pub use conllu::{read_conllu, ConlluOptions};
pub use corpus::{
    for_each_sentence, read_corpus, read_corpus_from, Corpus, Format, ReaderOptions, Warning,
    WarningKind,
};
pub use embeddings::{
    extend_from_file, load_embeddings, read_embeddings, token_coverage, unknown_words, Coverage,
    CoverageCounts, EmbeddingOptions, EmbeddingTable, Extended, FileRecord, Header, MissingInit,
};
pub use encode::{EncodedSentence, EncodedStream, Encoder, InputVocab};
pub use error::{Error, Result};
pub use experiment::{
    embedding_options, subword_vocabs, task_inputs, DataError, DataErrors, DatasetData,
    ExperimentData, InputTables, InputVocabs, LoadedEmbedding, SplitCoverage, TRAINING_SCHEME,
};
pub use jsonl::{read_jsonl, JsonlOptions};
pub use labels::{LabelVocab, UnseenLabel};
pub use sample::{sample_corpus, Sample};
pub use sentence::Sentence;
pub use stats::{count_columns, CorpusStats, DeclaredScheme, LabelProblem};
pub use subword::{
    plan_windows, sha256_hex, EncodedSubwords, SubwordBatch, SubwordCounts, SubwordSentence,
    SubwordTokenizer, SubwordVocab, WindowPlan,
};
pub use vocab::{
    CharVocab, Counts, FeatureVocab, Match, Vocab, WordVocab, WordVocabOptions, PAD, UNK,
};
