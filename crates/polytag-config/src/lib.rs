//! polytag-config: the experiment file, from JSON text to a validated [`Experiment`].
//!
//! It receives a JSON experiment (the paper's format, with additions: design.md §2–§4) and
//! `--set` overrides; it hands on an [`Experiment`] in which every name is an index, every
//! option an enum with its default filled in, every path absolute, and every problem found
//! before any corpus is read or tensor made. Two stages, like ripgrep's `LowArgs`/`HiArgs`:
//! [`RawExperiment`] is the JSON as written; [`Experiment::resolve`] checks names, kinds,
//! widths and paths. [`Experiment::to_json`] writes the resolved form back, fully explicit,
//! and it resolves to the same experiment.
//!
//! ```
//! use polytag_config::{Experiment, Override, ResolveOptions};
//!
//! let text = r#"{
//!   "datasets": [{"name": "nld_ner", "language": "nld", "task": "ner",
//!                 "files": {"train": "train.conll", "dev": "dev.conll"}}],
//!   "components": [
//!     {"name": "emb", "model": "embedding", "dimension": 50},
//!     {"name": "lstm", "model": "lstm", "hidden_size": 64},
//!     {"name": "out", "model": "linear"},
//!     {"name": "crf", "model": "crf"}
//!   ],
//!   "tasks": [{"name": "Dutch NER", "dataset": "nld_ner",
//!              "model": {"model": "lstm_crf", "word_embed": "emb", "lstm": "lstm",
//!                        "univ_layer": "out", "crf": "crf"}}]
//! }"#;
//! let set = [Override::parse("tasks.Dutch NER.learning_rate=0.02").unwrap()];
//! let options = ResolveOptions::default().without_file_check().with_base_dir("/data");
//! let resolved = Experiment::from_json_str(text, &set, &options).unwrap();
//! let exp = resolved.experiment;
//! assert_eq!(exp.tasks[0].hyper.learning_rate, 0.02);
//! assert_eq!(exp.target(), 0); // no "ref": the first task, with a warning
//! assert_eq!(resolved.warnings.len(), 1);
//! assert_eq!(exp.components[2].d_input, Some(128)); // 2 × 64 from the BiLSTM
//! assert_eq!(exp.datasets[0].files.train, std::path::Path::new("/data/train.conll"));
//! ```

#![warn(missing_docs)]

mod checks;
mod component;
mod dataset;
mod error;
mod experiment;
pub mod hf;
mod json;
mod overrides;
mod paths;
mod raw;
mod resolve;
mod schema;
mod suggest;
mod task;
mod training;

pub use component::{
    Activation, AttentionSpec, Cell, CharCnnSpec, CharRnnSpec, ClassWeights, Component,
    ComponentKind, Constraints, CrfSpec, EmbeddingSpec, FeatureEmbeddingSpec, Freeze, HighwaySpec,
    Input, Kind, LinearSpec, Position, RawAttention, RawCharCnn, RawCharRnn, RawComponent,
    RawComponentKind, RawCrf, RawEmbedding, RawFeatureEmbedding, RawHighway, RawLinear, RawLstm,
    RawRecurrent, RawSoftmax, RawTransformer, RnnSpec, Role, Scoring, SoftmaxSpec, SubwordPooling,
    TransformerFiles, TransformerSource, TransformerSpec,
};
pub use dataset::{
    Batching, ConlluLabel, Dataset, DatasetType, Files, Format, FormatName, Parser, RawDataset,
    RawFiles, RawParser, RawSample, Sample, SchemeChoice, Separator,
};
pub use error::{ConfigError, ConfigErrors, ConfigWarning, Errors, OverrideProblem, Shared};
pub use experiment::{Experiment, RawExperiment, ResolveOptions, Resolved};
pub use overrides::Override;
pub use paths::Env;
pub use schema::{schema, schema_text};
pub use task::{
    LrKind, LrSchedule, LstmCrf, Optimizer, OptimizerName, Pipeline, RawLrSchedule, RawLstmCrf,
    RawTagger, RawTask, RawTaskModel, SlotPaths, Tagger, Task, TaskHyper, TaskModel, ThresholdMode,
    Warmup,
};
pub use training::{
    DeviceKind, OptimizerState, RawSchedule, RawTraining, Schedule, ScheduleKind, Training,
};
