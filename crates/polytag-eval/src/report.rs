//! Scoring a conlleval input file: the library side of `polytag score`.
//!
//! `--scheme` ([`SchemeChoice`]) decides how chunks are read:
//!
//! - `conlleval` (the default): literal conlleval.pl. The text report is byte for byte what
//!   the script prints, quirks included (it reads `S-X S-X` as one chunk, so BIOES figures are
//!   wrong, as the `conll02-nl-dev-bioes` vector records). This is the drop-in replacement.
//! - `iob1`, `bio` (`iob2`), `bioes` (`iobes`): scheme-aware. Both columns are decoded by
//!   the scheme's rules ([`polytag_data::scheme::lenient_spans`]: `S-` is one token, `E-` ends
//!   a chunk, ill-formed chunks are kept as conlleval keeps them), re-encoded in BIO, and that
//!   is scored by the conlleval port. So the report is exactly what conlleval.pl prints for
//!   the file converted to BIO: for BIOES input it equals the `conll02-nl-dev-bioes-as-iob2`
//!   vector byte for byte, for well-formed BIO input it equals the literal report. The
//!   `accuracy:` figure then compares BIO-normalised tags (`S-X` ≡ `B-X`, `E-X` ≡ `I-X`, an
//!   ill-formed `I-X` opening ≡ `B-X`), i.e. whether each token has the same chunk role.
//! - `auto`: the scheme detected from the gold column ([`polytag_data::scheme::detect`]; the
//!   predicted column if gold has no chunk tag), scheme-aware as above; literal conlleval
//!   when neither column has a chunk tag (POS data: accuracy is then the figure that matters).
//!
//! Whatever the choice, when a scheme is known (given, or detected from the data) the report
//! also carries seqeval's strict-mode figures for it.

use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::str::FromStr;

use polytag_data::scheme::{convert, detect, Scheme, SchemeDetector};
use serde::{Deserialize, Serialize};

use crate::accuracy::Accuracy;
use crate::conlleval::{Conlleval, ConllevalCounts};
use crate::error::{Error, Result};
use crate::input::{Columns, SentenceReader, TaggedSentence};
use crate::seqeval::{evaluate, SpanRule};
use crate::span::{SpanMetrics, SpanTally};

/// The `--scheme` option of `score`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SchemeChoice {
    /// Literal conlleval.pl (default).
    #[default]
    Conlleval,
    /// Detect the scheme from the data, then score scheme-aware.
    Auto,
    /// Score scheme-aware in this scheme.
    Scheme(Scheme),
}

impl SchemeChoice {
    /// The accepted spellings, for help texts.
    pub const NAMES: &'static str = "conlleval, auto, iob1, bio (iob2), bioes (iobes)";
}

impl FromStr for SchemeChoice {
    type Err = Error;

    /// Case-insensitive: `conlleval`, `auto`, or a scheme name.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "conlleval" => Ok(SchemeChoice::Conlleval),
            "auto" => Ok(SchemeChoice::Auto),
            _ => s
                .parse::<Scheme>()
                .map(SchemeChoice::Scheme)
                .map_err(|_| Error::UnknownScheme {
                    name: s.to_string(),
                }),
        }
    }
}

impl fmt::Display for SchemeChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemeChoice::Conlleval => f.write_str("conlleval"),
            SchemeChoice::Auto => f.write_str("auto"),
            SchemeChoice::Scheme(s) => f.write_str(&s.name().to_ascii_lowercase()),
        }
    }
}

/// Options of [`score_reader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreOptions {
    /// How chunks are read (see the module doc).
    pub scheme: SchemeChoice,
    /// The input's name in error messages (a path, or `<stdin>`).
    pub name: String,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            scheme: SchemeChoice::Conlleval,
            name: "<stdin>".to_string(),
        }
    }
}

/// How the reported chunks were decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decoding {
    /// conlleval.pl's own rules on the tags as written.
    Conlleval,
    /// The scheme's rules (tags re-encoded in BIO, then conlleval's rules).
    Scheme(Scheme),
}

/// Everything `score` computes, serialisable (`--format json`, run-dir records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// How `spans` and `accuracy` were decoded.
    pub decoding: Decoding,
    /// The scheme of the data: the one given, else the one detected from the gold column
    /// (`None` when there is no chunk tag, e.g. POS data).
    pub scheme: Option<Scheme>,
    /// Sentences read.
    pub sentences: usize,
    /// Tokens read (boundaries and `-DOCSTART-` lines excluded).
    pub tokens: usize,
    /// Token accuracy as the text report's `accuracy:` counts it (see `decoding`).
    pub accuracy: Accuracy,
    /// Span counts and scores as fractions: the text report's figures, per type too, and
    /// the confusion table.
    pub spans: SpanMetrics,
    /// seqeval strict-mode figures in `scheme`, when a scheme is known.
    pub strict: Option<SpanMetrics>,
}

/// The result of scoring one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The figures.
    pub metrics: Metrics,
    /// The conlleval state machine's counts behind `metrics.spans`.
    pub counts: ConllevalCounts,
}

impl Report {
    /// The conlleval.pl text report (see [`ConllevalCounts::text`]).
    pub fn conlleval_text(&self) -> String {
        self.counts.text()
    }

    /// [`Metrics`] as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Cannot fail: every map key is a String and every value a plain number, string or
        // struct (serde_json only errors on non-string keys or failing Serialize impls).
        serde_json::to_string_pretty(&self.metrics).unwrap_or_default()
    }
}

/// Reads conlleval input from `reader` and scores it (see the module doc for `--scheme`).
///
/// The input is streamed: one sentence is held at a time, so memory is bounded by the
/// longest sentence whatever the file's size. The figures are those of [`score_columns`] on
/// the whole input (the scheme detected from all of it): every decoding the detection could
/// pick is tallied as the sentences go by, and the detected one is kept at the end.
pub fn score_reader<R: BufRead>(reader: R, opts: &ScoreOptions) -> Result<Report> {
    let mut sentences = SentenceReader::new(reader, &opts.name);
    let mut stream = StreamScore::new(opts.scheme);
    while let Some(s) = sentences.next_sentence()? {
        stream.add(&s);
    }
    Ok(stream.finish(sentences.ends_with_boundary()))
}

/// The state of [`score_reader`]: conlleval machines for the literal and the BIO-normalised
/// decoding (only those the choice may need), and strict tallies for each possible scheme.
struct StreamScore {
    choice: SchemeChoice,
    gold_scheme: SchemeDetector,
    pred_scheme: SchemeDetector,
    sentences: usize,
    literal: Option<Conlleval>,
    normalised: Option<Conlleval>,
    strict: Vec<(Scheme, SpanTally)>,
}

impl StreamScore {
    fn new(choice: SchemeChoice) -> Self {
        let all = [Scheme::Iob1, Scheme::Bio, Scheme::Bioes];
        let (literal, normalised, strict): (bool, bool, Vec<Scheme>) = match choice {
            SchemeChoice::Conlleval => (true, false, all.to_vec()),
            SchemeChoice::Auto => (true, true, all.to_vec()),
            SchemeChoice::Scheme(s) => (false, true, vec![s]),
        };
        StreamScore {
            choice,
            gold_scheme: SchemeDetector::default(),
            pred_scheme: SchemeDetector::default(),
            sentences: 0,
            literal: literal.then(Conlleval::new),
            normalised: normalised.then(Conlleval::new),
            strict: strict.into_iter().map(|s| (s, SpanTally::new())).collect(),
        }
    }

    fn add(&mut self, s: &TaggedSentence) {
        self.gold_scheme.add(&s.gold);
        self.pred_scheme.add(&s.pred);
        let first = self.sentences == 0;
        self.sentences += 1;
        if let Some(machine) = &mut self.literal {
            if !first {
                machine.boundary();
                machine.flush_spans();
            }
            for (g, p) in s.gold.iter().zip(&s.pred) {
                machine.token(g, p);
            }
        }
        if let Some(machine) = &mut self.normalised {
            if !first {
                machine.boundary();
                machine.flush_spans();
            }
            let g = convert(&s.gold, Scheme::Bio);
            let p = convert(&s.pred, Scheme::Bio);
            for (g, p) in g.iter().zip(&p) {
                machine.token(g, p);
            }
        }
        let pred = &s.pred[..s.pred.len().min(s.gold.len())];
        for (scheme, tally) in &mut self.strict {
            let rule = SpanRule::Strict(*scheme);
            tally.add(&rule.spans(&s.gold), &rule.spans(pred));
        }
    }

    fn finish(self, ends_with_boundary: bool) -> Report {
        let (decoding, scheme) = match self.choice {
            SchemeChoice::Conlleval => (Decoding::Conlleval, self.gold_scheme.scheme()),
            SchemeChoice::Scheme(s) => (Decoding::Scheme(s), Some(s)),
            SchemeChoice::Auto => match self.gold_scheme.scheme().or(self.pred_scheme.scheme()) {
                Some(s) => (Decoding::Scheme(s), Some(s)),
                None => (Decoding::Conlleval, None),
            },
        };
        let machine = match decoding {
            Decoding::Conlleval => self.literal,
            Decoding::Scheme(_) => self.normalised,
        };
        let mut machine = machine.unwrap_or_default();
        if ends_with_boundary && self.sentences > 0 {
            machine.boundary();
        }
        let counts = machine.finish();
        let strict = scheme.and_then(|s| {
            self.strict
                .into_iter()
                .find(|(t, _)| *t == s)
                .map(|(_, tally)| tally.finish())
        });
        let metrics = Metrics {
            decoding,
            scheme,
            sentences: self.sentences,
            tokens: counts.tokens,
            accuracy: counts.accuracy(),
            spans: counts.span_metrics(),
            strict,
        };
        Report { metrics, counts }
    }
}

/// [`score_reader`] on a file; errors name the path.
pub fn score_path(path: &Path, scheme: SchemeChoice) -> Result<Report> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        name: name.clone(),
        source,
    })?;
    score_reader(
        std::io::BufReader::new(file),
        &ScoreOptions { scheme, name },
    )
}

/// Scores columns already read.
pub fn score_columns(columns: &Columns, choice: SchemeChoice) -> Report {
    let gold = columns.gold();
    let pred = columns.pred();
    let detected = || detect(&gold).or_else(|| detect(&pred));
    let (decoding, scheme) = match choice {
        SchemeChoice::Conlleval => (Decoding::Conlleval, detect(&gold)),
        SchemeChoice::Scheme(s) => (Decoding::Scheme(s), Some(s)),
        SchemeChoice::Auto => match detected() {
            Some(s) => (Decoding::Scheme(s), Some(s)),
            None => (Decoding::Conlleval, None),
        },
    };
    let counts = run_conlleval(columns, decoding);
    let strict = scheme.map(|s| evaluate(&gold, &pred, SpanRule::Strict(s)));
    let metrics = Metrics {
        decoding,
        scheme,
        sentences: columns.sentences.len(),
        tokens: counts.tokens,
        accuracy: counts.accuracy(),
        spans: counts.span_metrics(),
        strict,
    };
    Report { metrics, counts }
}

/// Feeds the conlleval port: one boundary between sentences (repeated boundary lines are
/// no-ops in the script) and one after the last sentence if the input had one there.
fn run_conlleval(columns: &Columns, decoding: Decoding) -> ConllevalCounts {
    let mut machine = Conlleval::new();
    for (i, s) in columns.sentences.iter().enumerate() {
        if i > 0 {
            machine.boundary();
        }
        match decoding {
            Decoding::Conlleval => {
                for (g, p) in s.gold.iter().zip(&s.pred) {
                    machine.token(g, p);
                }
            }
            Decoding::Scheme(_) => {
                let g = convert(&s.gold, Scheme::Bio);
                let p = convert(&s.pred, Scheme::Bio);
                for (g, p) in g.iter().zip(&p) {
                    machine.token(g, p);
                }
            }
        }
    }
    if columns.ends_with_boundary && !columns.sentences.is_empty() {
        machine.boundary();
    }
    machine.finish()
}

#[cfg(test)]
mod tests;
