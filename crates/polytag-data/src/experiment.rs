//! From a resolved [`Experiment`] to its corpora and vocabularies: the step between
//! `polytag-config` and the model builder.
//!
//! Every dataset's splits are read with the reader its `parser` names (plus the extra columns
//! its tasks' `feature_embedding` components need), a dataset with `dev_split` has its dev
//! split held out of the training file ([`split_dev`]; ner-uk ships no dev file), the training
//! split is sampled with its seed, and the vocabularies are built the way the paper shares
//! them (seed-systems A.3/A.4): one word vocabulary per `embedding` component (from the
//! training splits of the tasks that use it), one global character vocabulary, one label
//! vocabulary per task type (the union of that type's training splits, so languages of one
//! type share a CRF), one value vocabulary per `feature_embedding` component. Problems are
//! collected, not stopped at: a user fixing a config sees every missing file and empty split
//! at once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use polytag_config::{
    Batching as ConfigBatching, ComponentKind, ConlluLabel, EmbeddingSpec, Errors, Experiment,
    Format as ConfigFormat, Input, Sample as ConfigSample, SchemeChoice,
    Separator as ConfigSeparator,
};

use crate::bucket::Batching;
use crate::columns::{ColumnOptions, Separator};
use crate::corpus::{read_corpus, Corpus, Format, ReaderOptions};
use crate::embeddings::{
    extend_from_file, token_coverage, unknown_words, Coverage, CoverageCounts, EmbeddingOptions,
    EmbeddingTable, Extended, Header,
};
use crate::encode::InputVocab;
use crate::error::Error;
use crate::labels::LabelVocab;
use crate::sample::{sample_corpus, Sample};
use crate::scheme::Scheme;
use crate::stats::{CorpusStats, DeclaredScheme, LabelProblem};
use crate::subword::{SubwordCounts, SubwordTokenizer, SubwordVocab};
use crate::vocab::{CharVocab, Counts, FeatureVocab, WordVocab, WordVocabOptions};

/// The splits of one dataset, as read.
#[derive(Debug, Clone)]
pub struct DatasetData {
    /// Training sentences after sampling.
    pub train: Corpus,
    /// Training sentences before sampling: the file's, less those held out by `dev_split`.
    pub train_total: usize,
    /// Development split (whole): the dev file, or the sentences `dev_split` held out of the
    /// training file (in file order, with that file's path and line numbers).
    pub dev: Corpus,
    /// Test split (whole), if the config names one.
    pub test: Option<Corpus>,
    /// The files' tag scheme: declared, or detected from the training labels; `None` for
    /// plain labels (POS), which are scored by accuracy. The corpora here hold the labels
    /// converted to [`TRAINING_SCHEME`]; predictions go back to this scheme when written.
    pub scheme: Option<Scheme>,
    /// The file columns kept as `Sentence::features`, in that order.
    pub feature_columns: Vec<usize>,
    /// Labels invalid in `scheme`, per file (warnings: the real CoNLL files have a few).
    pub label_problems: Vec<(PathBuf, LabelProblem)>,
}

impl DatasetData {
    /// `(split name, corpus)` for each split present, train first.
    pub fn splits(&self) -> impl Iterator<Item = (&'static str, &Corpus)> {
        [
            ("train", Some(&self.train)),
            ("dev", Some(&self.dev)),
            ("test", self.test.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, c)| c.map(|c| (name, c)))
    }
}

/// The scheme every chunk-labelled dataset is converted to on loading: BIOES, as the paper
/// trains (its files were `*.bioes`), so that datasets of one task type written in different
/// schemes (CoNLL-2003 in IOB1, CoNLL-2002 in BIO) share one label set and one CRF, and the
/// CRF can forbid the transitions BIOES rules out. Spans are unchanged by the conversion.
pub const TRAINING_SCHEME: Scheme = Scheme::Bioes;

/// Pretrained vectors loaded for one `embedding` component.
#[derive(Debug, Clone)]
pub struct LoadedEmbedding {
    /// The initial `[vocab, dim]` table.
    pub table: EmbeddingTable,
    /// What the file covered.
    pub coverage: Coverage,
    /// Dev/test words given a row because the file has them (`extend_vocab`).
    pub added_words: usize,
    /// Token coverage of every split of every dataset using the component, after the
    /// vocabulary was extended: what the model will actually see.
    pub splits: Vec<SplitCoverage>,
}

/// Token coverage of one split by an embedding file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SplitCoverage {
    /// Dataset name.
    pub dataset: String,
    /// `train`, `dev` or `test`.
    pub split: String,
    /// Tokens by the match level of the entry they map to.
    pub tokens: CoverageCounts,
}

/// Everything the model builder and the trainer need from the corpora of an experiment.
#[derive(Debug, Clone)]
pub struct ExperimentData {
    /// One entry per `experiment.datasets`, same order.
    pub datasets: Vec<DatasetData>,
    /// Word vocabulary per `embedding` component (by component index).
    pub words: BTreeMap<usize, WordVocab>,
    /// Pretrained vectors per `embedding` component that names a `file`.
    pub embeddings: BTreeMap<usize, LoadedEmbedding>,
    /// The one character vocabulary (all training splits).
    pub chars: CharVocab,
    /// Label vocabulary per task type (`ner`, `pos`, ...).
    pub labels: BTreeMap<String, LabelVocab>,
    /// Value vocabulary per `feature_embedding` component (by component index).
    pub features: BTreeMap<usize, FeatureVocab>,
    /// Tokenizer and windows per `transformer` component (by component index).
    pub subwords: BTreeMap<usize, SubwordVocab>,
    /// Per `transformer` component, what its tokenizer made of the distinct training words
    /// of the tasks that use it (words without a piece are reported like embedding
    /// coverage).
    pub subword_counts: BTreeMap<usize, SubwordCounts>,
}

/// Every problem found while loading, each naming its file (and line) or config path.
pub type DataErrors = Errors<DataError>;

/// One loading problem and where in the config it comes from.
#[derive(Debug)]
pub struct DataError {
    /// The config path of the setting involved (`datasets[0].files.train`).
    pub config_path: String,
    /// What went wrong.
    pub error: Error,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.config_path, self.error)?;
        let mut source = std::error::Error::source(&self.error);
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// The reader options a dataset's `parser` block describes, with `extra_cols` added.
pub fn reader_options(parser: &polytag_config::Parser, extra_cols: Vec<usize>) -> ReaderOptions {
    let mut opts = ReaderOptions {
        penn_brackets: parser.normalize_brackets,
        ..ReaderOptions::default()
    };
    opts.columns.extra_cols = extra_cols;
    match &parser.format {
        ConfigFormat::Conll {
            token_col,
            label_col,
            separator,
        } => {
            opts.format = Format::Conll;
            opts.columns = ColumnOptions {
                token_col: *token_col,
                label_col: *label_col,
                separator: match separator {
                    ConfigSeparator::Whitespace => Separator::Whitespace,
                    ConfigSeparator::Tab => Separator::Tab,
                    ConfigSeparator::Space => Separator::Space,
                },
                ..opts.columns
            };
        }
        ConfigFormat::Conllu { label } => {
            opts.format = Format::Conllu;
            opts.upos = *label == ConlluLabel::Upos;
        }
        ConfigFormat::Jsonl {
            tokens_field,
            labels_field,
            label_names,
        } => {
            opts.format = Format::Jsonl;
            opts.token_field = tokens_field.clone();
            opts.tag_field = labels_field.clone();
            if let Some(names) = label_names {
                opts.label_names = names.clone();
            }
        }
    }
    opts
}

/// A dataset's `batching` as [`crate::TrainBatches`] takes it.
impl From<ConfigBatching> for Batching {
    fn from(choice: ConfigBatching) -> Self {
        match choice {
            ConfigBatching::Bucketed => Batching::Bucketed,
            ConfigBatching::Shuffled => Batching::Shuffled,
        }
    }
}

fn declared(choice: SchemeChoice) -> DeclaredScheme {
    match choice {
        SchemeChoice::Auto => DeclaredScheme::Auto,
        SchemeChoice::None => DeclaredScheme::None,
        SchemeChoice::Iob1 => DeclaredScheme::Scheme(Scheme::Iob1),
        SchemeChoice::Bio => DeclaredScheme::Scheme(Scheme::Bio),
        SchemeChoice::Bioes => DeclaredScheme::Scheme(Scheme::Bioes),
    }
}

fn sample(s: ConfigSample) -> Sample {
    match s {
        ConfigSample::All => Sample::All,
        ConfigSample::Count(n) => Sample::Count(n),
        ConfigSample::Fraction(p) => Sample::Fraction(p),
        ConfigSample::First(n) => Sample::First(n),
    }
}

/// Seed offset of the dev-split draw, so that it and the `sample` draw that follows (both
/// seeded by the dataset's `sample_seed`) are not the same random stream.
const DEV_SPLIT_STREAM: u64 = 0x9e37_79b9_7f4a_7c15;

/// How many of `len` training sentences `fraction` holds out as dev: `fraction · len` rounded
/// to the nearest integer (halves up), at least 1 (an empty dev split could select nothing),
/// at most `len`.
pub fn dev_split_count(len: usize, fraction: f64) -> usize {
    // Sentence counts are far below 2^52, so the product is exact enough; the cast saturates
    // (and maps NaN to 0).
    let n = (fraction * len as f64).round() as usize;
    n.max(1).min(len)
}

/// Splits a training corpus into `(train, dev)` for a `dev_split` dataset: `dev_split_count`
/// sentences drawn uniformly without replacement with a generator seeded from `seed`, both
/// parts in file order. Dev keeps the training file's path, so its messages and line numbers
/// point into that file; documents and reader warnings stay with train.
pub fn split_dev(corpus: Corpus, fraction: f64, seed: u64) -> (Corpus, Corpus) {
    let len = corpus.sentences.len();
    let count = dev_split_count(len, fraction);
    // `Count(n)` validates for n >= 1; the count is 0 only for an empty corpus, where the
    // error's empty default holds nothing out of nothing.
    let held = Sample::Count(count)
        .indices(len, seed ^ DEV_SPLIT_STREAM)
        .unwrap_or_default();
    let mut is_dev = vec![false; len];
    for &i in &held {
        is_dev[i] = true;
    }
    let mut dev = Corpus::new(corpus.path.clone());
    let mut train = corpus;
    let sentences = std::mem::take(&mut train.sentences);
    for (sentence, dev_side) in sentences.into_iter().zip(is_dev) {
        if dev_side {
            dev.sentences.push(sentence);
        } else {
            train.sentences.push(sentence);
        }
    }
    (train, dev)
}

impl ExperimentData {
    /// Reads every dataset of `exp` and builds the vocabularies (see the module doc), in
    /// named steps: [`read_dataset`] for each dataset, [`label_vocabs`],
    /// [`check_unseen_labels`], [`to_training_scheme`], then [`input_vocabs`]. A new kind of
    /// input (a transformer's tokenizer, a vector trainer's vocabulary) is one more step.
    ///
    /// Errors: unreadable or malformed files, an empty training split, dev/test labels that no
    /// training split of that task type has (design.md §2: the model could never predict
    /// them), an unreadable embedding file.
    pub fn load(exp: &Experiment) -> Result<ExperimentData, DataErrors> {
        let mut errors = Vec::new();
        let datasets: Vec<DatasetData> = (0..exp.datasets.len())
            .filter_map(|d| read_dataset(exp, d, &mut errors))
            .collect();
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        let labels = label_vocabs(exp, &datasets);
        check_unseen_labels(exp, &datasets, &labels, &mut errors);
        let mut datasets = datasets;
        to_training_scheme(&mut datasets);
        let inputs = input_vocabs(exp, &datasets, &mut errors);
        Errors::check(
            errors,
            ExperimentData {
                datasets,
                words: inputs.words,
                embeddings: inputs.embeddings,
                chars: inputs.chars,
                labels,
                features: inputs.features,
                subwords: inputs.subwords,
                subword_counts: inputs.subword_counts,
            },
        )
    }

    /// The input vocabularies task `task` reads through, one per feature (see
    /// [`task_inputs`]).
    ///
    /// # Errors
    /// As [`task_inputs`].
    pub fn task_inputs(&self, exp: &Experiment, task: usize) -> Result<Vec<InputVocab>, Error> {
        let tables = InputTables {
            words: &self.words,
            chars: &self.chars,
            features: &self.features,
            subwords: &self.subwords,
        };
        task_inputs(exp, task, &tables)
    }
}

/// Reads, splits and samples dataset `d` (step 1 of [`ExperimentData::load`]), detects its
/// scheme and collects its invalid labels. `None` after a problem (pushed to `errors`).
pub fn read_dataset(
    exp: &Experiment,
    d: usize,
    errors: &mut Vec<DataError>,
) -> Option<DatasetData> {
    let spec = exp.datasets.get(d)?;
    let feature_columns = exp.feature_columns(d);
    let opts = reader_options(&spec.parser, feature_columns.clone());
    let mut read = |split: &str, path: &PathBuf| match read_corpus(path, &opts) {
        Ok(c) => Some(c),
        Err(error) => {
            errors.push(DataError {
                config_path: format!("datasets[{d}].files.{split}"),
                error,
            });
            None
        }
    };
    let train = read("train", &spec.files.train);
    // A held-out dev split is cut from the training file below, not read again.
    let dev = match spec.dev_split {
        Some(_) => None,
        None => read("dev", &spec.files.dev),
    };
    let test = match spec.files.test.as_ref().map(|p| read("test", p)) {
        Some(None) => return None,
        Some(Some(t)) => Some(t),
        None => None,
    };
    let train = train?;
    let empty_train = |config_path: String| DataError {
        config_path,
        error: Error::EmptyTrain {
            path: spec.files.train.clone(),
        },
    };
    let (train, dev) = match (spec.dev_split, dev) {
        (Some(fraction), _) => {
            if train.is_empty() {
                errors.push(empty_train(format!("datasets[{d}].files.train")));
                return None;
            }
            let (train, dev) = split_dev(train, fraction, spec.sample_seed);
            if train.is_empty() {
                // One sentence cannot be both trained on and held out.
                errors.push(empty_train(format!("datasets[{d}].dev_split")));
                return None;
            }
            (train, dev)
        }
        (None, Some(dev)) => (train, dev),
        (None, None) => return None,
    };
    let train_total = train.len();
    let train = match sample_corpus(train, &sample(spec.sample), spec.sample_seed) {
        Ok(t) => t,
        Err(error) => {
            errors.push(DataError {
                config_path: format!("datasets[{d}].sample"),
                error,
            });
            return None;
        }
    };
    if train.is_empty() {
        errors.push(empty_train(format!("datasets[{d}].files.train")));
        return None;
    }
    let scheme = CorpusStats::compute(&train, declared(spec.parser.scheme)).scheme;
    let mut label_problems = Vec::new();
    for corpus in [Some(&train), Some(&dev), test.as_ref()]
        .into_iter()
        .flatten()
    {
        let declared = scheme.map_or(DeclaredScheme::None, DeclaredScheme::Scheme);
        for p in CorpusStats::compute(corpus, declared).problems {
            label_problems.push((corpus.path.clone(), p));
        }
    }
    Some(DatasetData {
        train,
        train_total,
        dev,
        test,
        scheme,
        feature_columns,
        label_problems,
    })
}

/// The labels of `labels` in their training form (BIOES for chunk tags).
fn training_form(data: &DatasetData, labels: &[String]) -> Vec<String> {
    match data.scheme {
        Some(_) => crate::scheme::convert(labels, TRAINING_SCHEME),
        None => labels.to_vec(),
    }
}

/// Label vocabularies per task type, from the training splits only, in the labels' training
/// form (step 2). Chunk tags get every BIOES prefix of every type seen in training, so a
/// sampled training split (200 sentences) that happens to lack `I-ORG` still gives a label
/// set in which every dev/test span can be written.
pub fn label_vocabs(exp: &Experiment, datasets: &[DatasetData]) -> BTreeMap<String, LabelVocab> {
    let mut labels: BTreeMap<String, LabelVocab> = BTreeMap::new();
    for task_type in exp.task_types() {
        let of_type = || {
            exp.datasets
                .iter()
                .zip(datasets)
                .filter(move |(spec, _)| spec.task == task_type)
                .map(|(_, data)| data)
        };
        let mut all = Vec::new();
        for data in of_type() {
            for sentence in &data.train.sentences {
                all.extend(training_form(data, &sentence.labels));
            }
        }
        if of_type().any(|data| data.scheme.is_some()) {
            let types: std::collections::BTreeSet<String> = all
                .iter()
                .filter_map(|l| crate::scheme::split_tag(l).1.map(str::to_string))
                .collect();
            all.extend(
                types
                    .iter()
                    .flat_map(|t| ["B", "I", "E", "S"].map(|p| format!("{p}-{t}"))),
            );
        }
        labels.insert(
            task_type.to_string(),
            LabelVocab::from_labels(all.iter().map(String::as_str)),
        );
    }
    labels
}

/// Dev/test labels that no training split of the task type has (step 3), checked in their
/// training form and reported as the file writes them, once per label with its first line.
pub fn check_unseen_labels(
    exp: &Experiment,
    datasets: &[DatasetData],
    labels: &BTreeMap<String, LabelVocab>,
    errors: &mut Vec<DataError>,
) {
    for (d, (spec, data)) in exp.datasets.iter().zip(datasets).enumerate() {
        let Some(vocab) = labels.get(&spec.task) else {
            continue;
        };
        for (split, corpus) in data.splits().skip(1) {
            // (first line, uses) per unseen label, in order of first use.
            let mut unseen: Vec<(String, usize, usize)> = Vec::new();
            for sentence in &corpus.sentences {
                for (i, label) in training_form(data, &sentence.labels).iter().enumerate() {
                    if vocab.id(label).is_none() {
                        let original = &sentence.labels[i];
                        match unseen.iter_mut().find(|(l, _, _)| l == original) {
                            Some(entry) => entry.2 += 1,
                            None => unseen.push((original.clone(), sentence.line + i, 1)),
                        }
                    }
                }
            }
            for (label, line, count) in unseen {
                errors.push(DataError {
                    config_path: format!("datasets[{d}].files.{split}"),
                    error: Error::UnseenLabel {
                        path: corpus.path.clone(),
                        line,
                        label,
                        count,
                        task: spec.task.clone(),
                    },
                });
            }
        }
    }
}

/// Converts the labels of every chunk-labelled split to [`TRAINING_SCHEME`] (step 4).
pub fn to_training_scheme(datasets: &mut [DatasetData]) {
    for data in datasets.iter_mut().filter(|d| d.scheme.is_some()) {
        let DatasetData {
            train, dev, test, ..
        } = data;
        for corpus in [Some(train), Some(dev), test.as_mut()]
            .into_iter()
            .flatten()
        {
            for sentence in &mut corpus.sentences {
                sentence.labels = crate::scheme::convert(&sentence.labels, TRAINING_SCHEME);
            }
        }
    }
}

/// The input vocabularies of an experiment (step 5).
pub struct InputVocabs {
    /// The one character vocabulary (all training splits).
    pub chars: CharVocab,
    /// Word vocabulary per `embedding` component.
    pub words: BTreeMap<usize, WordVocab>,
    /// Pretrained vectors per `embedding` component that names a `file`.
    pub embeddings: BTreeMap<usize, LoadedEmbedding>,
    /// Value vocabulary per `feature_embedding` component.
    pub features: BTreeMap<usize, FeatureVocab>,
    /// Tokenizer and windows per `transformer` component.
    pub subwords: BTreeMap<usize, SubwordVocab>,
    /// Tokenizer statistics per `transformer` component (distinct training words).
    pub subword_counts: BTreeMap<usize, SubwordCounts>,
}

/// The tokenizer and window settings of every `transformer` component of `exp`, read from
/// the files its resolution chose (`TransformerSpec::files`: the model folder, `tokenizer`,
/// or a run's copies). Problems are pushed to `errors` with the component's config path.
pub fn subword_vocabs(
    exp: &Experiment,
    errors: &mut Vec<DataError>,
) -> BTreeMap<usize, SubwordVocab> {
    let mut out = BTreeMap::new();
    for (c, component) in exp.components.iter().enumerate() {
        let ComponentKind::Transformer(spec) = &component.kind else {
            continue;
        };
        let at = if spec.tokenizer.is_some() {
            "tokenizer"
        } else {
            "pretrained"
        };
        let Some(file) = &spec.files.tokenizer else {
            continue;
        };
        match SubwordTokenizer::load(file) {
            Ok(tokenizer) => {
                out.insert(
                    c,
                    SubwordVocab {
                        tokenizer,
                        max_len: spec.max_len,
                        stride: spec.stride,
                    },
                );
            }
            Err(error) => errors.push(DataError {
                config_path: format!("components[{c}].{at}"),
                error,
            }),
        }
    }
    out
}

/// Builds what each feature component reads through, by what it reads
/// ([`polytag_config::Kind::input`]): its own word vocabulary (and pretrained vectors) from
/// the training splits of the tasks that use it, the shared character vocabulary, or its own
/// value vocabulary of a file column.
pub fn input_vocabs(
    exp: &Experiment,
    datasets: &[DatasetData],
    errors: &mut Vec<DataError>,
) -> InputVocabs {
    let mut out = InputVocabs {
        chars: CharVocab::from_corpora(datasets.iter().map(|d| &d.train), 1),
        words: BTreeMap::new(),
        embeddings: BTreeMap::new(),
        features: BTreeMap::new(),
        subwords: subword_vocabs(exp, errors),
        subword_counts: BTreeMap::new(),
    };
    for (c, component) in exp.components.iter().enumerate() {
        let users: Vec<&DatasetData> = exp
            .tasks_using(c)
            .iter()
            .filter_map(|&t| datasets.get(exp.tasks[t].dataset))
            .collect();
        match &component.kind {
            ComponentKind::Embedding(spec) => {
                let counts = Counts::of_tokens(users.iter().map(|d| &d.train));
                let options = WordVocabOptions {
                    lowercase: spec.lowercase,
                    ..WordVocabOptions::default()
                };
                let mut vocab = WordVocab::build(&counts, &options);
                if let Some(file) = &spec.file {
                    let opts = embedding_options(spec, exp.seed);
                    let held_out: Vec<&Corpus> = users
                        .iter()
                        .flat_map(|d| std::iter::once(&d.dev).chain(d.test.as_ref()))
                        .collect();
                    match load_extended(
                        file,
                        &counts,
                        &options,
                        &held_out,
                        spec.extend_vocab,
                        &opts,
                    ) {
                        Ok((extended, table, mut coverage, added_words)) => {
                            vocab = extended;
                            // The file pass saw the candidates too; those it did not cover
                            // were dropped again and are no vocabulary entries.
                            coverage.vocab = token_free_entry_counts(&table);
                            let mut user_ids: Vec<usize> = exp
                                .tasks_using(c)
                                .iter()
                                .map(|&t| exp.tasks[t].dataset)
                                .collect();
                            user_ids.sort_unstable();
                            user_ids.dedup();
                            let splits = user_ids
                                .iter()
                                .filter_map(|&i| Some((exp.datasets.get(i)?, datasets.get(i)?)))
                                .flat_map(|(spec, d)| {
                                    d.splits().map(move |(split, corpus)| (spec, split, corpus))
                                })
                                .map(|(spec, split, corpus)| SplitCoverage {
                                    dataset: spec.name.clone(),
                                    split: split.to_string(),
                                    tokens: token_coverage(
                                        &vocab,
                                        &table.matches,
                                        &Counts::of_tokens([corpus]),
                                    ),
                                })
                                .collect();
                            out.embeddings.insert(
                                c,
                                LoadedEmbedding {
                                    table,
                                    coverage,
                                    added_words,
                                    splits,
                                },
                            );
                        }
                        Err(error) => errors.push(DataError {
                            config_path: format!("components[{c}].file"),
                            error,
                        }),
                    }
                }
                out.words.insert(c, vocab);
            }
            ComponentKind::FeatureEmbedding(spec) => {
                let columns = users.iter().filter_map(|d| {
                    let idx = d
                        .feature_columns
                        .iter()
                        .position(|&col| col == spec.column)?;
                    Some((&d.train, idx))
                });
                out.features.insert(c, FeatureVocab::from_columns(columns));
            }
            ComponentKind::Transformer(_) => {
                let Some(vocab) = out.subwords.get(&c) else {
                    continue;
                };
                let counts = Counts::of_tokens(users.iter().map(|d| &d.train));
                let mut total = SubwordCounts::default();
                for word in counts.0.keys() {
                    match vocab.tokenizer.encode_words(&[word], vocab.max_pieces()) {
                        Ok((_, word_counts)) => total.add(word_counts),
                        Err(error) => {
                            errors.push(DataError {
                                config_path: format!("components[{c}]"),
                                error,
                            });
                            break;
                        }
                    }
                }
                out.subword_counts.insert(c, total);
            }
            _ => {}
        }
    }
    out
}

/// How an `embedding` component's `file` is read (training, and prediction reading it again).
pub fn embedding_options(spec: &EmbeddingSpec, seed: u64) -> EmbeddingOptions {
    EmbeddingOptions {
        dim: Some(spec.dimension),
        header: match spec.stats {
            None => Header::Auto,
            Some(true) => Header::Present,
            Some(false) => Header::Absent,
        },
        lowercase: spec.lowercase,
        seed,
        ..EmbeddingOptions::default()
    }
}

/// Loads `file` for the vocabulary of `counts`, first extended (when `extend`) by the
/// held-out words that would be unknown; of those, only the ones the file covers keep a row
/// (seed-systems A.6; [`extend_from_file`], which `polytag predict` uses for the words of its
/// input too). Returns the vocabulary, its table, the file's coverage and how many words were
/// added. One pass over the file either way.
fn load_extended(
    file: &std::path::Path,
    counts: &Counts,
    options: &WordVocabOptions,
    held_out: &[&Corpus],
    extend: bool,
    opts: &EmbeddingOptions,
) -> Result<(WordVocab, EmbeddingTable, Coverage, usize), Error> {
    let vocab = WordVocab::build(counts, options);
    let candidates = if extend {
        unknown_words(
            &vocab,
            held_out
                .iter()
                .flat_map(|c| c.sentences.iter())
                .flat_map(|s| s.tokens.iter().map(String::as_str)),
        )
    } else {
        Vec::new()
    };
    let Extended {
        vocab,
        table,
        coverage,
        added,
    } = extend_from_file(file, &vocab, &candidates, opts, Some(counts))?;
    Ok((vocab, table, coverage, added))
}

/// Vocabulary entries (reserved rows excluded) by match level.
fn token_free_entry_counts(table: &EmbeddingTable) -> CoverageCounts {
    let mut counts = CoverageCounts::default();
    for &level in table.matches.iter().skip(crate::vocab::RESERVED.len()) {
        match level {
            crate::vocab::Match::Exact => counts.exact += 1,
            crate::vocab::Match::Lowercase => counts.lowercase += 1,
            crate::vocab::Match::Digits => counts.digits += 1,
            crate::vocab::Match::Unknown => counts.missing += 1,
        }
    }
    counts
}

/// The tables one task's input streams are encoded with (held by [`ExperimentData`] after
/// loading, and by a run's saved vocabularies for prediction).
#[derive(Debug, Clone, Copy)]
pub struct InputTables<'a> {
    /// Word vocabulary per `embedding` component.
    pub words: &'a BTreeMap<usize, WordVocab>,
    /// The character vocabulary.
    pub chars: &'a CharVocab,
    /// Value vocabulary per `feature_embedding` component.
    pub features: &'a BTreeMap<usize, FeatureVocab>,
    /// Tokenizer and windows per `transformer` component.
    pub subwords: &'a BTreeMap<usize, SubwordVocab>,
}

/// The input vocabularies of task `task`: one per feature component, in the task's feature
/// order, chosen by what the component reads ([`Input`]); the model feeds stream `j` to
/// feature `j`.
///
/// # Errors
/// [`Error::NoInput`] for a feature whose table is missing (a vocabulary not built for it,
/// a column the dataset does not keep, or an input polytag cannot encode yet).
pub fn task_inputs(
    exp: &Experiment,
    task: usize,
    tables: &InputTables<'_>,
) -> Result<Vec<InputVocab>, Error> {
    let Some(spec) = exp.tasks.get(task) else {
        return Ok(Vec::new());
    };
    let paths = spec.model.paths(task);
    let features = spec.model.pipeline().features;
    // The extra columns the dataset was read with, in `Sentence::features` order.
    let columns = exp.feature_columns(spec.dataset);
    let mut inputs = Vec::with_capacity(features.len());
    for (j, &c) in features.iter().enumerate() {
        let component = exp.components.get(c);
        let missing = |what: &'static str| Error::NoInput {
            slot: paths.feature(j),
            component: component.map_or_else(String::new, |c| c.name.clone()),
            what,
        };
        let kind = component.map(|c| &c.kind);
        let input = match kind.map(|k| k.kind().input()) {
            Some(Input::Words) => InputVocab::Words(
                tables
                    .words
                    .get(&c)
                    .cloned()
                    .ok_or_else(|| missing("word vocabulary"))?,
            ),
            Some(Input::Chars) => InputVocab::Chars(tables.chars.clone()),
            Some(Input::Column) => {
                let Some(ComponentKind::FeatureEmbedding(f)) = kind else {
                    return Err(missing("file column"));
                };
                let column = columns
                    .iter()
                    .position(|&col| col == f.column)
                    .ok_or_else(|| missing("file column"))?;
                let vocab = tables
                    .features
                    .get(&c)
                    .cloned()
                    .ok_or_else(|| missing("value vocabulary"))?;
                InputVocab::Column { column, vocab }
            }
            Some(Input::Subwords) => InputVocab::Subwords(
                tables
                    .subwords
                    .get(&c)
                    .cloned()
                    .ok_or_else(|| missing("sub-word tokenizer"))?,
            ),
            Some(Input::Vectors) | None => return Err(missing("input (not a feature)")),
        };
        inputs.push(input);
    }
    Ok(inputs)
}
