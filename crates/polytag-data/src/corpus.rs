//! [`Corpus`] (the sentences of one file) and [`read_corpus`], the one entry point that picks
//! the reader for a [`Format`].

use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::columns::ColumnOptions;
use crate::conll::read_conll;
use crate::conllu::{read_conllu, ConlluOptions};
use crate::error::{Error, Result};
use crate::jsonl::{read_jsonl, JsonlOptions};
use crate::lines;
use crate::penn::normalize_penn_brackets;
use crate::sentence::Sentence;

/// All sentences of one file, plus what was noticed while reading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    /// The file the sentences came from (as given; used in messages).
    pub path: PathBuf,
    /// The sentences, in file order.
    pub sentences: Vec<Sentence>,
    /// Document markers seen: `-DOCSTART-` lines (CoNLL) or `# newdoc` comments (CoNLL-U).
    pub documents: usize,
    /// Things that were accepted but may be mistakes, in file order.
    pub warnings: Vec<Warning>,
}

impl Corpus {
    /// An empty corpus for `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            sentences: Vec::new(),
            documents: 0,
            warnings: Vec::new(),
        }
    }

    /// Total number of tokens over all sentences.
    pub fn num_tokens(&self) -> usize {
        self.sentences.iter().map(Sentence::len).sum()
    }

    /// Number of sentences.
    pub fn len(&self) -> usize {
        self.sentences.len()
    }

    /// True when the file held no sentence.
    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }
}

/// Something a reader accepted but the user may want to know about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// 1-based line it refers to (0 for the file as a whole).
    pub line: usize,
    /// What was noticed.
    pub kind: WarningKind,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WarningKind {
    /// The file holds no sentence at all.
    EmptyFile,
    /// A JSONL record with an empty token list; it was skipped.
    EmptySentence,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            WarningKind::EmptyFile => write!(f, "the file holds no sentence"),
            WarningKind::EmptySentence => {
                write!(f, "line {}: record without tokens skipped", self.line)
            }
        }
    }
}

/// File formats polytag reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Token-per-line columns ([`crate::conll`]).
    #[default]
    Conll,
    /// Universal Dependencies CoNLL-U ([`crate::conllu`]).
    Conllu,
    /// JSON Lines with token and tag lists ([`crate::jsonl`]).
    Jsonl,
}

impl Format {
    /// Guesses the format from a file name: `*.conllu[.gz]` → CoNLL-U, `*.jsonl[.gz]` /
    /// `*.json[.gz]` → JSONL, anything else → CoNLL columns. For `polytag data stats`, where no
    /// config says.
    pub fn from_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".conllu") {
            Format::Conllu
        } else if name.ends_with(".jsonl") || name.ends_with(".json") {
            Format::Jsonl
        } else {
            Format::Conll
        }
    }

    /// The lower-case name used in configs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Conll => "conll",
            Format::Conllu => "conllu",
            Format::Jsonl => "jsonl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything [`read_corpus`] needs to know about one dataset file.
///
/// Fields a format does not use are ignored, except `columns.extra_cols` for JSONL, which is
/// rejected because the features would silently be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderOptions {
    /// Which reader.
    pub format: Format,
    /// CoNLL: token, label and extra columns, separator, comments. CoNLL-U: only `extra_cols`
    /// (token and label columns are fixed by the format).
    pub columns: ColumnOptions,
    /// CoNLL-U: label = UPOS (true) or XPOS (false).
    pub upos: bool,
    /// JSONL: names of integer tags.
    pub label_names: Vec<String>,
    /// JSONL: the tag field (default `ner_tags`).
    pub tag_field: String,
    /// JSONL: the token field (default `tokens`).
    pub token_field: String,
    /// Map Penn Treebank bracket tokens back to characters (`-LRB-` → `(`, ...; see
    /// [`crate::penn`]). Off by default: the public CoNLL/UD corpora already use `(`.
    pub penn_brackets: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        let jsonl = JsonlOptions::default();
        Self {
            format: Format::Conll,
            columns: ColumnOptions::default(),
            upos: true,
            label_names: jsonl.label_names,
            tag_field: jsonl.tag_field,
            token_field: jsonl.token_field,
            penn_brackets: false,
        }
    }
}

/// Reads the corpus at `path` (plain or gzip) with the reader for `opts.format`.
///
/// An empty file is not an error here (dev/test may legitimately be empty); it carries a
/// [`WarningKind::EmptyFile`] warning, and the caller decides (an empty train set is a
/// validation error upstream).
pub fn read_corpus(path: &Path, opts: &ReaderOptions) -> Result<Corpus> {
    check_options(opts)?;
    let reader = lines::open(path)?;
    read_corpus_from(reader, path, opts)
}

/// [`read_corpus`] one sentence at a time: each sentence goes to `sink` as soon as it is read
/// (Penn brackets mapped when asked); the corpus returned has the documents and warnings but
/// no sentence. Memory is bounded by the longest sentence (`data stats` streams files).
pub fn for_each_sentence(
    path: &Path,
    opts: &ReaderOptions,
    sink: &mut dyn FnMut(Sentence) -> Result<()>,
) -> Result<Corpus> {
    check_options(opts)?;
    let reader = lines::open(path)?;
    let mut count = 0usize;
    let mut each = |mut sentence: Sentence| {
        count += 1;
        if opts.penn_brackets {
            normalize_penn_brackets(std::slice::from_mut(&mut sentence));
        }
        sink(sentence)
    };
    let mut corpus = match opts.format {
        Format::Conll => crate::conll::read_conll_each(reader, path, &opts.columns, &mut each)?,
        Format::Conllu => {
            let conllu = ConlluOptions {
                upos: opts.upos,
                extra_cols: opts.columns.extra_cols.clone(),
            };
            crate::conllu::read_conllu_each(reader, path, &conllu, &mut each)?
        }
        Format::Jsonl => {
            let jsonl = JsonlOptions {
                token_field: opts.token_field.clone(),
                tag_field: opts.tag_field.clone(),
                label_names: opts.label_names.clone(),
            };
            crate::jsonl::read_jsonl_each(reader, path, &jsonl, &mut each)?
        }
    };
    if count == 0 {
        corpus.warnings.push(Warning {
            line: 0,
            kind: WarningKind::EmptyFile,
        });
    }
    Ok(corpus)
}

/// Like [`read_corpus`] but from any reader (stdin, a test string); `path` names it.
/// Input is taken as uncompressed.
pub fn read_corpus_from<R: BufRead>(
    reader: R,
    path: &Path,
    opts: &ReaderOptions,
) -> Result<Corpus> {
    check_options(opts)?;
    let mut corpus = match opts.format {
        Format::Conll => read_conll(reader, path, &opts.columns)?,
        Format::Conllu => {
            let conllu = ConlluOptions {
                upos: opts.upos,
                extra_cols: opts.columns.extra_cols.clone(),
            };
            read_conllu(reader, path, &conllu)?
        }
        Format::Jsonl => {
            let jsonl = JsonlOptions {
                token_field: opts.token_field.clone(),
                tag_field: opts.tag_field.clone(),
                label_names: opts.label_names.clone(),
            };
            read_jsonl(reader, path, &jsonl)?
        }
    };
    if opts.penn_brackets {
        normalize_penn_brackets(&mut corpus.sentences);
    }
    if corpus.sentences.is_empty() {
        // Carried as a warning for the caller to print (a tracing line too would say it twice).
        corpus.warnings.push(Warning {
            line: 0,
            kind: WarningKind::EmptyFile,
        });
    }
    Ok(corpus)
}

/// Rejects option combinations a reader would otherwise ignore.
fn check_options(opts: &ReaderOptions) -> Result<()> {
    if opts.format == Format::Jsonl && !opts.columns.extra_cols.is_empty() {
        return Err(Error::Unsupported {
            format: "jsonl",
            option: "extra_cols",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    #[test]
    fn format_from_path() {
        assert_eq!(
            Format::from_path(Path::new("a/train.conllu.gz")),
            Format::Conllu
        );
        assert_eq!(Format::from_path(Path::new("dev.CONLLU")), Format::Conllu);
        assert_eq!(Format::from_path(Path::new("x.jsonl")), Format::Jsonl);
        assert_eq!(Format::from_path(Path::new("eng.testa")), Format::Conll);
        assert_eq!(Format::from_path(Path::new("test.tsv.gz")), Format::Conll);
    }

    #[test]
    fn reads_gzip_conll_file_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.conll.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"-DOCSTART- O\n\nEU B-ORG\nrejects O\n")
            .unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let c = read_corpus(&path, &ReaderOptions::default()).unwrap();
        assert_eq!((c.len(), c.num_tokens(), c.documents), (1, 2, 1));
        assert_eq!(c.path, path);

        let missing = dir.path().join("nope.conll");
        let err = read_corpus(&missing, &ReaderOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Open { .. }));
        assert_eq!(
            err.to_string(),
            format!("cannot read {}", missing.display())
        );
    }

    #[test]
    fn penn_brackets_only_when_asked() {
        let text = "-LRB- X\nhi X\n-RRB- X\n";
        let off =
            read_corpus_from(Cursor::new(text), Path::new("p"), &ReaderOptions::default()).unwrap();
        assert_eq!(off.sentences[0].tokens, ["-LRB-", "hi", "-RRB-"]);
        let opts = ReaderOptions {
            penn_brackets: true,
            ..ReaderOptions::default()
        };
        let on = read_corpus_from(Cursor::new(text), Path::new("p"), &opts).unwrap();
        assert_eq!(on.sentences[0].tokens, ["(", "hi", ")"]);
    }

    #[test]
    fn empty_file_warns() {
        let c =
            read_corpus_from(Cursor::new(""), Path::new("e"), &ReaderOptions::default()).unwrap();
        assert_eq!(
            c.warnings,
            [Warning {
                line: 0,
                kind: WarningKind::EmptyFile
            }]
        );
        assert_eq!(c.warnings[0].to_string(), "the file holds no sentence");
    }

    #[test]
    fn jsonl_rejects_extra_cols() {
        let opts = ReaderOptions {
            format: Format::Jsonl,
            columns: ColumnOptions {
                extra_cols: vec![1],
                ..ColumnOptions::default()
            },
            ..ReaderOptions::default()
        };
        let err = read_corpus_from(Cursor::new(""), Path::new("x.jsonl"), &opts).unwrap_err();
        assert!(matches!(
            err,
            Error::Unsupported {
                format: "jsonl",
                option: "extra_cols"
            }
        ));
    }

    #[test]
    fn dispatches_conllu_and_jsonl() {
        let opts = ReaderOptions {
            format: Format::Conllu,
            ..ReaderOptions::default()
        };
        let ud = "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n";
        let c = read_corpus_from(Cursor::new(ud), Path::new("u"), &opts).unwrap();
        assert_eq!(c.sentences[0].labels, ["INTJ"]);
        let opts = ReaderOptions {
            format: Format::Jsonl,
            label_names: vec!["O".into()],
            ..ReaderOptions::default()
        };
        let j = r#"{"tokens":["Hi"],"ner_tags":[0]}"#;
        let c = read_corpus_from(Cursor::new(j), Path::new("j"), &opts).unwrap();
        assert_eq!(c.sentences[0].labels, ["O"]);
    }
}
