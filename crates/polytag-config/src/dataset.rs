//! `datasets[]`: which files, how to read them, how much of the training split to keep, and
//! where the dev split comes from: `files.dev`, or `dev_split`, a fraction of the training
//! file held out (ner-uk ships no dev file; its maintainers say to take one out of train).

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::paths;
use crate::resolve::{check_name, Ctx, Entry};

/// One `datasets[]` entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    /// Unique name that tasks refer to.
    pub name: String,
    /// Language code (`nld`, `eng`); tasks of one language share a word vocabulary.
    pub language: String,
    /// Task type (`ner`, `pos`, `chunk`, any name); tasks of one type share a label set.
    pub task: String,
    /// Only `sequence` exists (the paper writes it).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DatasetType>,
    /// How to read the files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parser: Option<RawParser>,
    /// `"all"`, a sentence count, a fraction of the training split, or `{"first": N}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<RawSample>,
    /// Seed of the sample draw (and of the `dev_split` draw).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_seed: Option<u64>,
    /// A fraction of the training file held out as the dev split, for corpora that ship
    /// without one (ner-uk); the alternative to `files.dev`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_split: Option<f64>,
    /// Training sentences per batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// `bucketed` (the default) or `shuffled`: how the training split is cut into batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batching: Option<Batching>,
    /// The splits.
    pub files: RawFiles,
}

/// `datasets[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatasetType {
    /// One label per token.
    Sequence,
}

/// `datasets[].batching`: how each epoch's training batches are drawn. Both use every training
/// sentence once per epoch, seeded; they differ in padding, so in compute per token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Batching {
    /// Shuffle, sort pools of 100 batches by length, cut, shuffle the batch order: sentences of
    /// similar length share a batch, so little padding (the default).
    #[default]
    Bucketed,
    /// A seeded shuffle cut into consecutive batches, lengths mixed: the paper's scripts'
    /// unsorted chunks (seed-systems.md A.5) and the PyTorch benchmark reference's draw.
    Shuffled,
}

/// `datasets[].parser` as written; which keys apply depends on `format`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawParser {
    /// `conll`, `conllu` or `jsonl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<FormatName>,
    /// conll: 0-based column of the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_col: Option<usize>,
    /// conll: 0-based column of the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_col: Option<usize>,
    /// conll: `whitespace`, `tab` or `space`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub separator: Option<Separator>,
    /// The tag scheme of the label column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<SchemeChoice>,
    /// conllu: `upos` or `xpos`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<ConlluLabel>,
    /// jsonl: the field holding the token list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_field: Option<String>,
    /// jsonl: the field holding the tags (strings, or integers mapped by `label_names`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels_field: Option<String>,
    /// jsonl: names of integer tags, index = tag id (as HF datasets export them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_names: Option<Vec<String>>,
    /// Map Penn Treebank bracket tokens (`-LRB-` → `(` ...) as the paper's newer parser does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize_brackets: Option<bool>,
}

/// `parser.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormatName {
    /// Columns, one token per line, blank line between sentences.
    Conll,
    /// CoNLL-U (Universal Dependencies).
    Conllu,
    /// One JSON object per line (Hugging Face datasets export).
    Jsonl,
}

/// `parser.separator` of CoNLL column files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Separator {
    /// Any run of spaces and tabs (the default: reads both CoNLL-2003 and tab files).
    Whitespace,
    /// Exactly one tab (the paper's parser; keeps tokens that contain spaces).
    Tab,
    /// Exactly one space.
    Space,
}

/// `parser.scheme`: how labels encode spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = crate::schema::iob2_alias)]
pub enum SchemeChoice {
    /// Detect from the training labels (the default).
    Auto,
    /// IOB1: `I-` starts a span, `B-` only between two touching spans (CoNLL-2003).
    Iob1,
    /// BIO / IOB2: every span starts with `B-` (CoNLL-2002).
    #[serde(alias = "iob2")]
    Bio,
    /// BIOES: single-token spans `S-`, last token `E-` (the paper's `*.bioes` files).
    Bioes,
    /// Plain labels (POS): token accuracy, no spans.
    None,
}

/// `parser.label` of CoNLL-U files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConlluLabel {
    /// Universal POS tags, column 4 (the default).
    Upos,
    /// Language-specific tags, column 5.
    Xpos,
}

/// `datasets[].files` as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFiles {
    /// Training split.
    pub train: String,
    /// Development split (model selection); absent when the dataset gives `dev_split`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Test split (reported at the best dev step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
}

/// `datasets[].sample` as written: any number is read, the range is checked on resolution
/// (so the error can name the config path).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawSample {
    /// `"all"`.
    All,
    /// A JSON integer.
    Count(i64),
    /// A JSON number with a fraction or exponent (`0.5`, `1.0`).
    Fraction(f64),
    /// `{"first": N}`: the first N sentences in file order.
    First(i64),
}

/// The one key of the object form of `sample`.
const FIRST_KEY: &str = "first";

impl Serialize for RawSample {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match *self {
            RawSample::All => serializer.serialize_str("all"),
            RawSample::Count(n) => serializer.serialize_i64(n),
            RawSample::Fraction(p) => serializer.serialize_f64(p),
            RawSample::First(n) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(FIRST_KEY, &n)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for RawSample {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SampleVisitor;
        impl<'de> Visitor<'de> for SampleVisitor {
            type Value = RawSample;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"all\", an integer count, a fraction or {\"first\": count}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSample, E> {
                if v == "all" {
                    Ok(RawSample::All)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSample, E> {
                i64::try_from(v)
                    .map(RawSample::Count)
                    .map_err(|_| E::custom("sample count too large"))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawSample, E> {
                Ok(RawSample::Count(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawSample, E> {
                Ok(RawSample::Fraction(v))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawSample, A::Error> {
                let mut first = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != FIRST_KEY {
                        return Err(de::Error::unknown_field(&key, &[FIRST_KEY]));
                    }
                    if first.is_some() {
                        return Err(de::Error::duplicate_field(FIRST_KEY));
                    }
                    first = Some(map.next_value::<i64>()?);
                }
                first
                    .map(RawSample::First)
                    .ok_or_else(|| de::Error::missing_field(FIRST_KEY))
            }
        }
        deserializer.deserialize_any(SampleVisitor)
    }
}

/// A resolved dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Unique name.
    pub name: String,
    /// Language code.
    pub language: String,
    /// Task type.
    pub task: String,
    /// How to read its files.
    pub parser: Parser,
    /// What to keep of the training split (dev and test are always whole).
    pub sample: Sample,
    /// Seed of the sample draw and of the `dev_split` draw; default: the experiment's `seed`.
    pub sample_seed: u64,
    /// `Some(p)`: the dev split is a fraction `p` in (0, 0.5] of the training file, drawn with
    /// `sample_seed` before `sample` is applied (the rest is the training split), and
    /// `files.dev` is the training file's path. `None`: the dev split is the file `files.dev`.
    pub dev_split: Option<f64>,
    /// Training sentences per batch; default 10 (the paper's scripts; its example uses 19).
    pub batch_size: usize,
    /// How training batches are drawn; default [`Batching::Bucketed`].
    pub batching: Batching,
    /// Absolute paths of the splits.
    pub files: Files,
}

/// A resolved `parser`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parser {
    /// File format with its options.
    pub format: Format,
    /// Declared tag scheme; default `auto`.
    pub scheme: SchemeChoice,
    /// Penn bracket tokens mapped back to brackets; default false.
    pub normalize_brackets: bool,
}

/// File format and the options that belong to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// Column files. Defaults: token 0, label 1 (the paper's parser), whitespace separator.
    Conll {
        /// 0-based token column.
        token_col: usize,
        /// 0-based label column.
        label_col: usize,
        /// Column separator.
        separator: Separator,
    },
    /// CoNLL-U: token = FORM; multi-word ranges and empty nodes skipped by the reader.
    Conllu {
        /// UPOS (default) or XPOS.
        label: ConlluLabel,
    },
    /// JSON lines. Defaults: `tokens`, `ner_tags`.
    Jsonl {
        /// Field of the token list.
        tokens_field: String,
        /// Field of the tag list.
        labels_field: String,
        /// Names of integer tags.
        label_names: Option<Vec<String>>,
    },
}

/// What to keep of a training split (seed-systems A.5, but seeded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    /// Every sentence (the default).
    All,
    /// This many sentences drawn without replacement (all if the file has fewer).
    Count(usize),
    /// Each sentence kept with this probability, in (0, 1].
    Fraction(f64),
    /// The first this many sentences in file order (all if the file has fewer): a fixed
    /// prefix, as benchmarks and other tools' `--limit` options take it.
    First(usize),
}

/// Absolute paths of a dataset's splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// Training split.
    pub train: PathBuf,
    /// Development split; the training file when the dataset has a `dev_split`.
    pub dev: PathBuf,
    /// Test split, if any.
    pub test: Option<PathBuf>,
}

impl Files {
    /// `(split, path)` for each split present, train first (dev is the training file again
    /// when the dataset has a `dev_split`).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        [
            ("train", Some(&self.train)),
            ("dev", Some(&self.dev)),
            ("test", self.test.as_ref()),
        ]
        .into_iter()
        .filter_map(|(split, path)| path.map(|p| (split, p.as_path())))
    }
}

const DEFAULT_BATCH_SIZE: usize = 10;

/// Resolves `datasets[index]`. `None` when a path cannot be expanded (already reported).
pub(crate) fn resolve(
    index: usize,
    raw: &RawDataset,
    seed: u64,
    ctx: &mut Ctx<'_>,
) -> Option<Dataset> {
    let at = format!("datasets[{index}]");
    check_name(&format!("{at}.name"), &raw.name, ctx);
    let parser = resolve_parser(&at, raw.parser.as_ref(), &raw.files.train, ctx);
    let sample = match raw.sample {
        None | Some(RawSample::All) => Sample::All,
        Some(RawSample::Count(n)) => match usize::try_from(n) {
            Ok(n) if n >= 1 => Sample::Count(n),
            _ => {
                ctx.range(format!("{at}.sample"), n as f64, false, SAMPLE_RANGE);
                Sample::All
            }
        },
        Some(RawSample::Fraction(p)) => {
            ctx.range(format!("{at}.sample"), p, p > 0.0 && p <= 1.0, SAMPLE_RANGE);
            Sample::Fraction(p)
        }
        Some(RawSample::First(n)) => match usize::try_from(n) {
            Ok(n) if n >= 1 => Sample::First(n),
            _ => {
                ctx.range(format!("{at}.sample.first"), n as f64, false, FIRST_RANGE);
                Sample::All
            }
        },
    };
    let batch_size = raw.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    ctx.positive(format!("{at}.batch_size"), batch_size as u64);
    let train = ctx.path(&format!("{at}.files.train"), &raw.files.train, Entry::File);
    let dev_split = resolve_dev_split(&at, raw, ctx);
    let dev = match (&raw.files.dev, dev_split) {
        (Some(dev), None) => ctx.path(&format!("{at}.files.dev"), dev, Entry::File),
        // Held out of the training file, whose path was checked just above.
        _ => train.clone(),
    };
    let test = match &raw.files.test {
        Some(test) => Some(ctx.path(&format!("{at}.files.test"), test, Entry::File)?),
        None => None,
    };
    Some(Dataset {
        name: raw.name.clone(),
        language: raw.language.clone(),
        task: raw.task.clone(),
        parser,
        sample,
        sample_seed: raw.sample_seed.unwrap_or(seed),
        dev_split,
        batch_size,
        batching: raw.batching.unwrap_or_default(),
        files: Files {
            train: train?,
            dev: dev?,
            test,
        },
    })
}

const SAMPLE_RANGE: &str = "\"all\", an integer count >= 1 or a fraction in (0, 1]";
const FIRST_RANGE: &str = "an integer count >= 1";

/// `dev_split` checked against `files.dev`: exactly one of them says where dev comes from.
/// `Some` only for a usable fraction, so a bad config never reaches the reader.
fn resolve_dev_split(at: &str, raw: &RawDataset, ctx: &mut Ctx<'_>) -> Option<f64> {
    match (&raw.files.dev, raw.dev_split) {
        (Some(_), Some(_)) => {
            ctx.invalid(
                format!("{at}.dev_split"),
                "given together with files.dev; give one: a dev file, or the fraction of the \
                 training file to hold out",
            );
            None
        }
        (None, None) => {
            ctx.invalid(
                format!("{at}.files.dev"),
                "missing; give a dev file, or \"dev_split\" (a fraction of the training file \
                 to hold out, e.g. 0.1) beside \"files\"",
            );
            None
        }
        (Some(_), None) => None,
        (None, Some(p)) => ctx
            .range(
                format!("{at}.dev_split"),
                p,
                p > 0.0 && p <= 0.5,
                DEV_SPLIT_RANGE,
            )
            .then_some(p),
    }
}

const DEV_SPLIT_RANGE: &str = "a fraction in (0, 0.5]";

/// The format is `parser.format`, else implied by the training file's extension
/// (`.conllu`, `.conllu.gz` → conllu; `.jsonl`, `.jsonl.gz` → jsonl), else conll.
fn resolve_parser(at: &str, raw: Option<&RawParser>, train: &str, ctx: &mut Ctx<'_>) -> Parser {
    let default = RawParser::default();
    let raw = raw.unwrap_or(&default);
    let name = raw.format.unwrap_or_else(|| implied_format(train));
    let path = |key: &str| format!("{at}.parser.{key}");
    let unused = |key: &str, given: bool, why: &str, ctx: &mut Ctx<'_>| {
        if given {
            ctx.invalid(
                path(key),
                format!("not used by format {}; {why}", format_str(name)),
            );
        }
    };
    let format = match name {
        FormatName::Conll => {
            let why = "it is for conllu";
            unused("label", raw.label.is_some(), why, ctx);
            let why = "it is for jsonl";
            unused("tokens_field", raw.tokens_field.is_some(), why, ctx);
            unused("labels_field", raw.labels_field.is_some(), why, ctx);
            unused("label_names", raw.label_names.is_some(), why, ctx);
            let token_col = raw.token_col.unwrap_or(0);
            let label_col = raw.label_col.unwrap_or(1);
            if token_col == label_col {
                ctx.invalid(
                    path("label_col"),
                    format!("same column as token_col ({token_col})"),
                );
            }
            Format::Conll {
                token_col,
                label_col,
                separator: raw.separator.unwrap_or(Separator::Whitespace),
            }
        }
        FormatName::Conllu => {
            let why = "CoNLL-U has fixed columns (FORM; \"label\": \"upos\" or \"xpos\")";
            unused("token_col", raw.token_col.is_some(), why, ctx);
            unused("label_col", raw.label_col.is_some(), why, ctx);
            unused("separator", raw.separator.is_some(), why, ctx);
            let why = "it is for jsonl";
            unused("tokens_field", raw.tokens_field.is_some(), why, ctx);
            unused("labels_field", raw.labels_field.is_some(), why, ctx);
            unused("label_names", raw.label_names.is_some(), why, ctx);
            Format::Conllu {
                label: raw.label.unwrap_or(ConlluLabel::Upos),
            }
        }
        FormatName::Jsonl => {
            let why = "JSON lines name their fields (\"tokens_field\", \"labels_field\")";
            unused("token_col", raw.token_col.is_some(), why, ctx);
            unused("label_col", raw.label_col.is_some(), why, ctx);
            unused("separator", raw.separator.is_some(), why, ctx);
            unused("label", raw.label.is_some(), "it is for conllu", ctx);
            if let Some(names) = &raw.label_names {
                check_label_names(&path("label_names"), names, ctx);
            }
            Format::Jsonl {
                tokens_field: raw
                    .tokens_field
                    .clone()
                    .unwrap_or_else(|| "tokens".to_string()),
                labels_field: raw
                    .labels_field
                    .clone()
                    .unwrap_or_else(|| "ner_tags".to_string()),
                label_names: raw.label_names.clone(),
            }
        }
    };
    Parser {
        format,
        scheme: raw.scheme.unwrap_or(SchemeChoice::Auto),
        normalize_brackets: raw.normalize_brackets.unwrap_or(false),
    }
}

fn check_label_names(path: &str, names: &[String], ctx: &mut Ctx<'_>) {
    if names.is_empty() {
        ctx.invalid(path, "empty list");
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            ctx.invalid(format!("{path}[{i}]"), format!("\"{name}\" appears twice"));
        }
    }
}

fn implied_format(train: &str) -> FormatName {
    let lower = train.to_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    if stem.ends_with(".conllu") {
        FormatName::Conllu
    } else if stem.ends_with(".jsonl") {
        FormatName::Jsonl
    } else {
        FormatName::Conll
    }
}

fn format_str(name: FormatName) -> &'static str {
    match name {
        FormatName::Conll => "conll",
        FormatName::Conllu => "conllu",
        FormatName::Jsonl => "jsonl",
    }
}

impl Format {
    /// The format's name as written in configs.
    pub fn name(&self) -> FormatName {
        match self {
            Format::Conll { .. } => FormatName::Conll,
            Format::Conllu { .. } => FormatName::Conllu,
            Format::Jsonl { .. } => FormatName::Jsonl,
        }
    }

    /// The column that holds the label, for column formats (CoNLL-U: 3 = UPOS, 4 = XPOS).
    pub fn label_column(&self) -> Option<usize> {
        match self {
            Format::Conll { label_col, .. } => Some(*label_col),
            Format::Conllu {
                label: ConlluLabel::Upos,
            } => Some(3),
            Format::Conllu {
                label: ConlluLabel::Xpos,
            } => Some(4),
            Format::Jsonl { .. } => None,
        }
    }
}

impl Dataset {
    /// Back to the written form, every default spelled out.
    pub fn to_raw(&self) -> RawDataset {
        let mut parser = RawParser {
            format: Some(self.parser.format.name()),
            scheme: Some(self.parser.scheme),
            normalize_brackets: Some(self.parser.normalize_brackets),
            ..RawParser::default()
        };
        match &self.parser.format {
            Format::Conll {
                token_col,
                label_col,
                separator,
            } => {
                parser.token_col = Some(*token_col);
                parser.label_col = Some(*label_col);
                parser.separator = Some(*separator);
            }
            Format::Conllu { label } => parser.label = Some(*label),
            Format::Jsonl {
                tokens_field,
                labels_field,
                label_names,
            } => {
                parser.tokens_field = Some(tokens_field.clone());
                parser.labels_field = Some(labels_field.clone());
                parser.label_names = label_names.clone();
            }
        }
        RawDataset {
            name: self.name.clone(),
            language: self.language.clone(),
            task: self.task.clone(),
            data_type: Some(DatasetType::Sequence),
            parser: Some(parser),
            sample: Some(match self.sample {
                Sample::All => RawSample::All,
                // A count came from an i64 in the first place.
                Sample::Count(n) => RawSample::Count(i64::try_from(n).unwrap_or(i64::MAX)),
                Sample::Fraction(p) => RawSample::Fraction(p),
                Sample::First(n) => RawSample::First(i64::try_from(n).unwrap_or(i64::MAX)),
            }),
            sample_seed: Some(self.sample_seed),
            dev_split: self.dev_split,
            batch_size: Some(self.batch_size),
            batching: Some(self.batching),
            files: RawFiles {
                train: paths::escape(&self.files.train),
                dev: match self.dev_split {
                    Some(_) => None,
                    None => Some(paths::escape(&self.files.dev)),
                },
                test: self.files.test.as_deref().map(paths::escape),
            },
        }
    }
}
