//! polytag-eval: span-level precision / recall / F1 identical to `conlleval.pl` (2004-01-26),
//! seqeval 1.2's default and strict modes, token accuracy, and a confusion table of entity
//! types (design.md §5).
//!
//! It receives tag sequences, either as a conlleval input file (`token … gold predicted`
//! lines, read by [`input`]) or in memory from the trainer, and hands on [`Metrics`] /
//! [`SpanMetrics`] (serde types, for `--format json` and run-dir records) and conlleval's text
//! report. Tags become spans through `polytag_data::scheme`; no burn here.
//!
//! ```
//! use polytag_eval::{score_reader, ScoreOptions, SchemeChoice};
//!
//! let file = "EU B-ORG B-ORG\nrejects O O\nGerman B-MISC I-MISC\n";
//! let opts = ScoreOptions { scheme: SchemeChoice::Conlleval, ..ScoreOptions::default() };
//! let report = score_reader(file.as_bytes(), &opts)?;
//! assert_eq!(
//!     report.conlleval_text(),
//!     "processed 3 tokens with 2 phrases; found: 2 phrases; correct: 2.\n\
//!      accuracy:  66.67%; precision: 100.00%; recall: 100.00%; FB1: 100.00\n\
//!      \x20            MISC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n\
//!      \x20             ORG: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n"
//! );
//! assert_eq!(report.metrics.spans.f1, 1.0);
//!
//! // In memory, as the trainer calls it:
//! use polytag_eval::{evaluate, SpanRule};
//! let gold = vec![vec!["B-PER".to_string(), "I-PER".to_string()]];
//! let pred = vec![vec!["B-PER".to_string(), "O".to_string()]];
//! assert_eq!(evaluate(&gold, &pred, SpanRule::Lenient).f1, 0.0);
//! # Ok::<(), polytag_eval::Error>(())
//! ```

#![warn(missing_docs)]

pub mod accuracy;
pub mod conlleval;
pub mod error;
pub mod input;
pub mod report;
pub mod seqeval;
pub mod span;

pub use accuracy::{token_accuracy, Accuracy};
pub use conlleval::{Conlleval, ConllevalCounts};
pub use error::{Error, Result};
pub use input::{read_columns, Columns, SentenceReader, TaggedSentence};
pub use polytag_data::scheme::Scheme;
pub use report::{
    score_columns, score_path, score_reader, Decoding, Metrics, Report, SchemeChoice, ScoreOptions,
};
pub use seqeval::{check_aligned, evaluate, try_evaluate, SpanRule};
pub use span::{prf, Confusion, Span, SpanMetrics, SpanTally, TypeCounts, TypeMetrics};
