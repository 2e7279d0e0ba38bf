//! Corpus statistics: what `polytag data stats` reports and what `validate` summarises.
//!
//! Counts follow the conventions of the shared datasets README: a sentence is a maximal run of
//! token lines, `-DOCSTART-` lines count as documents (not tokens), and entities are lenient
//! chunks ([`scheme::count_chunks`]: an `I-X` after `O` opens a chunk, as conlleval does), so
//! the figures can be checked against that table and against conlleval.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::columns::Separator;
use crate::corpus::{for_each_sentence, Corpus, ReaderOptions};
use crate::error::{Error, Result};
use crate::lines;
use crate::scheme::{self, Scheme, SchemeDetector, Violation};

/// Which tag scheme a file is declared to use (the config's `parser.scheme`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeclaredScheme {
    /// Detect it from the labels ([`scheme::detect`]).
    #[default]
    Auto,
    /// Labels are not chunk tags (POS): no entities, no validation.
    None,
    /// This scheme; labels invalid in it are reported.
    Scheme(Scheme),
}

impl std::str::FromStr for DeclaredScheme {
    type Err = scheme::UnknownScheme;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DeclaredScheme::Auto),
            "none" => Ok(DeclaredScheme::None),
            _ => s.parse().map(DeclaredScheme::Scheme),
        }
    }
}

/// A label that is invalid in the file's scheme, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelProblem {
    /// 1-based line of the token in the file (exact for CoNLL columns; for CoNLL-U, the line
    /// of the sentence's first word plus the word index).
    pub line: usize,
    /// What is wrong, e.g. "`I-LOC` cannot follow `O` in BIO".
    pub message: String,
}

/// Everything `polytag data stats` prints about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusStats {
    /// The file.
    pub file: String,
    /// Sentences.
    pub sentences: usize,
    /// Tokens (document markers excluded).
    pub tokens: usize,
    /// Document markers (`-DOCSTART-` lines, `# newdoc` comments).
    pub documents: usize,
    /// The scheme used for counting: declared, or detected (`None` for POS-like labels).
    pub scheme: Option<Scheme>,
    /// Whether `scheme` was detected rather than declared.
    pub detected: bool,
    /// Lenient chunks per entity type (empty without a scheme).
    pub entities: BTreeMap<String, usize>,
    /// Distinct labels with their token counts.
    pub labels: BTreeMap<String, usize>,
    /// Labels invalid in `scheme`, in file order.
    pub problems: Vec<LabelProblem>,
    /// Longest sentence, in tokens.
    pub max_len: usize,
}

impl CorpusStats {
    /// Computes the statistics of `corpus` under `declared`.
    pub fn compute(corpus: &Corpus, declared: DeclaredScheme) -> CorpusStats {
        let labels_of: Vec<&[String]> = corpus.sentences.iter().map(|s| &s.labels[..]).collect();
        let (scheme, detected) = match declared {
            DeclaredScheme::Auto => (scheme::detect(&labels_of), true),
            DeclaredScheme::None => (None, false),
            DeclaredScheme::Scheme(s) => (Some(s), false),
        };
        let mut labels = BTreeMap::new();
        for sentence in &corpus.sentences {
            for label in &sentence.labels {
                *labels.entry(label.clone()).or_insert(0) += 1;
            }
        }
        let (entities, problems) = match scheme {
            Some(s) => (
                scheme::count_chunks(&labels_of),
                scheme::validate(&labels_of, s)
                    .into_iter()
                    .map(|v| locate(corpus, &v))
                    .collect(),
            ),
            None => (BTreeMap::new(), Vec::new()),
        };
        CorpusStats {
            file: corpus.path.display().to_string(),
            sentences: corpus.len(),
            tokens: corpus.num_tokens(),
            documents: corpus.documents,
            scheme,
            detected,
            entities,
            labels,
            problems,
            max_len: corpus.sentences.iter().map(|s| s.len()).max().unwrap_or(0),
        }
    }
}

impl CorpusStats {
    /// [`CorpusStats::compute`] of the file at `path`, streamed: the file is read once (twice
    /// when the scheme is to be detected), one sentence at a time, so memory is bounded by its
    /// longest sentence and the problems found. Also returns the corpus without its sentences
    /// (documents, warnings). The figures equal `compute` on the whole corpus.
    pub fn compute_file(
        path: &Path,
        opts: &ReaderOptions,
        declared: DeclaredScheme,
    ) -> Result<(CorpusStats, Corpus)> {
        let (scheme, detected) = match declared {
            DeclaredScheme::Auto => {
                let mut detector = SchemeDetector::default();
                for_each_sentence(path, opts, &mut |s| {
                    detector.add(&s.labels);
                    Ok(())
                })?;
                (detector.scheme(), true)
            }
            DeclaredScheme::None => (None, false),
            DeclaredScheme::Scheme(s) => (Some(s), false),
        };
        let (mut sentences, mut tokens, mut max_len) = (0usize, 0usize, 0usize);
        let mut labels: BTreeMap<String, usize> = BTreeMap::new();
        let mut entities: BTreeMap<String, usize> = BTreeMap::new();
        let mut problems = Vec::new();
        let corpus = for_each_sentence(path, opts, &mut |s| {
            sentences += 1;
            tokens += s.len();
            max_len = max_len.max(s.len());
            for label in &s.labels {
                match labels.get_mut(label) {
                    Some(n) => *n += 1,
                    None => {
                        labels.insert(label.clone(), 1);
                    }
                }
            }
            if let Some(scheme) = scheme {
                let one = [&s.labels[..]];
                for (t, n) in scheme::count_chunks(&one) {
                    *entities.entry(t).or_insert(0) += n;
                }
                for v in scheme::validate(&one, scheme) {
                    problems.push(problem_at(s.line, &v));
                }
            }
            Ok(())
        })?;
        let stats = CorpusStats {
            file: path.display().to_string(),
            sentences,
            tokens,
            documents: corpus.documents,
            scheme,
            detected,
            entities,
            labels,
            problems,
            max_len,
        };
        Ok((stats, corpus))
    }
}

/// A violation in the sentence starting at `line` as a file line and a message.
fn problem_at(line: usize, v: &Violation) -> LabelProblem {
    let text = v.to_string();
    let message = text
        .split_once(": ")
        .map_or(text.clone(), |(_, rest)| rest.to_string());
    LabelProblem {
        line: line + v.token,
        message,
    }
}

/// Turns a violation (sentence, token) into a file line and a message without the position.
fn locate(corpus: &Corpus, v: &Violation) -> LabelProblem {
    let line = corpus
        .sentences
        .get(v.sentence)
        .map_or(0, |s| s.line + v.token);
    let text = v.to_string();
    // Violation's Display starts with "sentence N, token M: "; the line replaces it.
    let message = text
        .split_once(": ")
        .map_or(text.clone(), |(_, rest)| rest.to_string());
    LabelProblem { line, message }
}

/// Thousands separators, as the datasets README writes counts (`14,041`).
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for CorpusStats {
    /// The text form of `polytag data stats`: a few lines, figures grouped by thousands.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} sentences, {} tokens, {} documents (longest sentence {} tokens)",
            self.file,
            grouped(self.sentences),
            grouped(self.tokens),
            grouped(self.documents),
            self.max_len
        )?;
        match self.scheme {
            Some(s) => writeln!(
                f,
                "  scheme: {}{}",
                s.name().to_ascii_lowercase(),
                if self.detected { " (detected)" } else { "" }
            )?,
            None => writeln!(f, "  scheme: none ({} distinct labels)", self.labels.len())?,
        }
        if !self.entities.is_empty() {
            let parts: Vec<String> = self
                .entities
                .iter()
                .map(|(t, n)| format!("{t} {}", grouped(*n)))
                .collect();
            let total: usize = self.entities.values().sum();
            writeln!(
                f,
                "  entities: {} (total {})",
                parts.join(", "),
                grouped(total)
            )?;
        } else if self.scheme.is_none() {
            let mut top: Vec<(&String, &usize)> = self.labels.iter().collect();
            top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let parts: Vec<String> = top
                .iter()
                .take(20)
                .map(|(t, n)| format!("{t} {}", grouped(**n)))
                .collect();
            let more = top.len().saturating_sub(20);
            let tail = if more > 0 {
                format!(", … {more} more")
            } else {
                String::new()
            };
            writeln!(f, "  labels: {}{tail}", parts.join(", "))?;
        }
        if self.problems.is_empty() {
            writeln!(f, "  problems: none")
        } else {
            writeln!(f, "  problems: {}", self.problems.len())?;
            for p in self.problems.iter().take(10) {
                writeln!(f, "    {}:{}: {}", self.file, p.line, p.message)?;
            }
            if self.problems.len() > 10 {
                writeln!(f, "    … {} more", self.problems.len() - 10)?;
            }
            Ok(())
        }
    }
}

/// Number of columns on the first token line of a CoNLL file (comments, blank lines and
/// `-DOCSTART-` skipped), so that "the label is the last column" can be said without knowing
/// the file. `None` for a file without token lines.
pub fn count_columns(path: &Path, separator: Separator) -> Result<Option<usize>> {
    use std::io::BufRead;
    let reader = lines::open(path)?;
    for (idx, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            line: idx + 1,
            source,
        })?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with("-DOCSTART-") || trimmed.starts_with('#') {
            continue;
        }
        let n = match separator {
            Separator::Whitespace => trimmed.split_ascii_whitespace().count(),
            Separator::Tab => text.trim_end().split('\t').count(),
            Separator::Space => text.trim_end().split(' ').count(),
        };
        return Ok(Some(n));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{read_corpus, read_corpus_from, ReaderOptions};
    use crate::ColumnOptions;
    use std::io::Cursor;

    fn corpus(text: &str) -> Corpus {
        let opts = ReaderOptions {
            columns: ColumnOptions {
                label_col: 1,
                ..ColumnOptions::default()
            },
            ..ReaderOptions::default()
        };
        read_corpus_from(Cursor::new(text), Path::new("t.conll"), &opts).unwrap()
    }

    /// Two sentences, one document: `New York` (LOC), `EU` (ORG), `Peter` opened by `I-PER`
    /// after `O` (a chunk leniently; a violation in BIO at line 8 = sentence line 6 + token 2).
    #[test]
    fn streamed_stats_equal_whole_corpus_stats() {
        let texts = [
            "-DOCSTART- O\n\nNew B-LOC\nYork I-LOC\n\nEU B-ORG\nsaw O\nPeter I-PER\n",
            "a S-X\nb B-Y\nc E-Y\n\nd I-Z\ne O\n",
            "a I-X\nb I-X\nc B-X\n\n",
            "a NN\nb VB\n\n\n",
            "",
        ];
        let dir = tempfile::tempdir().unwrap();
        let opts = ReaderOptions {
            columns: ColumnOptions {
                label_col: 1,
                ..ColumnOptions::default()
            },
            ..ReaderOptions::default()
        };
        for (i, text) in texts.iter().enumerate() {
            let path = dir.path().join(format!("{i}.conll"));
            std::fs::write(&path, text).unwrap();
            let whole = read_corpus(&path, &opts).unwrap();
            for declared in [
                DeclaredScheme::Auto,
                DeclaredScheme::None,
                DeclaredScheme::Scheme(Scheme::Bio),
                DeclaredScheme::Scheme(Scheme::Bioes),
                DeclaredScheme::Scheme(Scheme::Iob1),
            ] {
                let (streamed, head) = CorpusStats::compute_file(&path, &opts, declared).unwrap();
                assert_eq!(
                    streamed,
                    CorpusStats::compute(&whole, declared),
                    "{text:?} {declared:?}"
                );
                assert_eq!(head.warnings, whole.warnings);
                assert!(head.sentences.is_empty());
            }
        }
    }

    #[test]
    fn counts_entities_leniently_and_locates_problems() {
        let text = "-DOCSTART- O\n\nNew B-LOC\nYork I-LOC\n\nEU B-ORG\nsaw O\nPeter I-PER\n";
        let stats = CorpusStats::compute(&corpus(text), DeclaredScheme::Scheme(Scheme::Bio));
        assert_eq!((stats.sentences, stats.tokens, stats.documents), (2, 5, 1));
        assert_eq!(stats.entities.get("LOC"), Some(&1));
        assert_eq!(stats.entities.get("ORG"), Some(&1));
        assert_eq!(stats.entities.get("PER"), Some(&1));
        assert_eq!(stats.problems.len(), 1);
        assert_eq!(stats.problems[0].line, 8);
        assert!(stats.problems[0]
            .message
            .contains("`I-PER` cannot follow `O`"));
    }

    #[test]
    fn pos_labels_have_no_scheme_and_no_entities() {
        let stats = CorpusStats::compute(&corpus("a DET\nb NOUN\n"), DeclaredScheme::Auto);
        assert_eq!(stats.scheme, None);
        assert!(stats.entities.is_empty());
        assert_eq!(stats.labels.len(), 2);
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(14041), "14,041");
        assert_eq!(grouped(1234567), "1,234,567");
    }

    #[test]
    fn counts_columns_of_the_first_token_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.conll");
        std::fs::write(&path, "-DOCSTART- -X- O O\n\n# c\nEU NNP B-NP B-ORG\n").unwrap();
        assert_eq!(
            count_columns(&path, Separator::Whitespace).unwrap(),
            Some(4)
        );
    }
}
