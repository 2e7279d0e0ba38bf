//! `polytag predict RUN_DIR`: tag raw text (typed at a prompt, piped, or from a file).
//!
//! Each input line is one sentence and gives exactly one output record, in order (a blank
//! line gives an empty record, so output lines up with input); it is tokenised with
//! punctuation split off (`polytag_data::tokenize`), tagged, and printed with character
//! offsets. Confidence is the model's marginal probability of the predicted label at each
//! token (forward-backward for a CRF, the softmax for a softmax decoder); an entity's
//! confidence is the lowest of its tokens', a conservative figure that is exactly right for
//! one-token entities.
//!
//! A run trained with an embedding `file` and `extend_vocab` (the default) gives words of the
//! input outside its vocabulary the file's vector, as training did for dev/test words
//! ([`Predictor::extend_vocab`]); the file must then be where the run recorded it (or named
//! with `--vectors`), else the command stops naming it (`--no-extend-vocab` tags such words
//! as unknown instead). Input is then read in blocks of [`BLOCK_LINES`] lines, one pass over
//! the file each (line by line at an interactive prompt).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use polytag_data::scheme::lenient_spans;
use polytag_data::tokenize::{tokenize, Token};
use polytag_data::Sentence;
use polytag_train::{CheckpointKind, Predictor, Tagged};
use serde_json::json;

/// Output formats of `predict`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictFormat {
    /// Entities (or token/TAG pairs for plain-label tasks), one line each.
    Text,
    /// `token label confidence` lines, blank line between sentences.
    Conll,
    /// One JSON object per sentence.
    Json,
}

/// How `eval` and `predict` treat words outside the trained vocabulary that an `embedding`
/// component's vector file has (its `extend_vocab`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VectorArgs {
    /// Leave words outside the trained vocabulary unknown, even where the run was trained
    /// with `extend_vocab` (the default then gives each such word of the input the vector
    /// file's vector for it, which needs the file).
    #[arg(long)]
    pub no_extend_vocab: bool,
    /// Read embedding component NAME's vectors from PATH, a copy of the file it was trained
    /// with that has moved (checked to be that file); repeatable.
    #[arg(long, value_name = "NAME=PATH")]
    pub vectors: Vec<String>,
}

/// What `--no-extend-vocab` and `--vectors` say the predictor does; checks that the vector
/// files it will read for task `task` are there, so a missing one stops the command before
/// any output.
pub fn setup_extension(predictor: &mut Predictor, task: usize, args: &VectorArgs) -> Result<()> {
    if args.no_extend_vocab {
        if !args.vectors.is_empty() {
            bail!("--vectors: has no use with --no-extend-vocab");
        }
        predictor.disable_vocab_extension();
        return Ok(());
    }
    for spec in &args.vectors {
        let Some((name, path)) = spec.split_once('=') else {
            bail!("--vectors {spec}: expected NAME=PATH (an embedding component and its file)");
        };
        predictor.set_vector_file(name, PathBuf::from(path))?;
    }
    predictor.check_vector_files(task).context(EXTENSION_HINT)
}

const EXTENSION_HINT: &str = "cannot give words outside the vocabulary the vectors of the \
    embedding file the run was trained with (extend_vocab); --vectors NAME=PATH reads a copy \
    of the file that has moved, --no-extend-vocab leaves such words unknown";

/// Words added so far per component (name, file), for the closing summary.
#[derive(Default)]
pub struct ExtensionTotals(BTreeMap<String, (PathBuf, usize, usize)>);

impl ExtensionTotals {
    /// Extends `predictor`'s vocabulary by the words of `sentences` its files have, adding up
    /// what was done.
    pub fn extend(
        &mut self,
        predictor: &mut Predictor,
        task: usize,
        sentences: &[Sentence],
    ) -> Result<()> {
        for done in predictor
            .extend_vocab(task, sentences)
            .context(EXTENSION_HINT)?
        {
            let entry = self.0.entry(done.component).or_insert((done.path, 0, 0));
            entry.1 += done.candidates;
            entry.2 += done.added;
        }
        Ok(())
    }

    /// One stderr line per component whose vocabulary the input reached beyond, like
    /// `validate`'s coverage lines.
    pub fn report(&self) {
        for (name, (path, candidates, added)) in &self.0 {
            if *candidates > 0 {
                errln!(
                    "polytag: {name}: {added} of {candidates} words outside the vocabulary \
                     found in {} and added (extend_vocab)",
                    path.display()
                );
            }
        }
    }
}

/// Input lines read before tagging when a vector file extends the vocabulary: each block
/// costs one pass over the file (its words are looked up together), so non-interactive
/// input is taken in blocks rather than line by line.
const BLOCK_LINES: usize = 10_000;

/// Runs `predict`.
pub fn run(
    run_dir: &Path,
    task: Option<&str>,
    input: Option<&Path>,
    format: PredictFormat,
    nbest: usize,
    skip_bad_lines: bool,
    vectors: &VectorArgs,
) -> Result<ExitCode> {
    let mut predictor = Predictor::load(run_dir, CheckpointKind::Best)
        .with_context(|| format!("cannot load the trained model of {}", run_dir.display()))?;
    let t = predictor.task_index(task)?;
    setup_extension(&mut predictor, t, vectors)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let interactive = input.is_none() && std::io::stdin().is_terminal();
    // Line by line (output follows each input line at once) unless a vector file is read.
    let block = if interactive || predictor.vector_files().is_empty() {
        1
    } else {
        BLOCK_LINES
    };
    let mut reader: Box<dyn BufRead> = match input {
        Some(p) if p != Path::new("-") => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
        )),
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    if interactive {
        errln!(
            "polytag: task {} of {}; type a sentence and press Enter (Ctrl-D to quit)",
            predictor.experiment().tasks[t].name,
            run_dir.display()
        );
        err!("> ");
    }
    let name = match input {
        Some(p) if p != Path::new("-") => p.display().to_string(),
        _ => "<stdin>".to_string(),
    };
    let mut totals = ExtensionTotals::default();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut lines: Vec<(String, Vec<Token>, Sentence)> = Vec::new();
    let mut eof = false;
    while !eof {
        lines.clear();
        while lines.len() < block {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .with_context(|| format!("cannot read {name}"))?;
            if n == 0 {
                eof = true;
                break;
            }
            line_no += 1;
            let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            let line = match std::str::from_utf8(bytes) {
                Ok(line) => line,
                Err(_) if skip_bad_lines => {
                    errln!("polytag: warning: {name}:{line_no}: not valid UTF-8; skipped (an empty record)");
                    ""
                }
                Err(_) => bail!(
                    "{name}:{line_no}: not valid UTF-8 (--skip-bad-lines reports and skips such lines)"
                ),
            };
            // One record per input line, blank lines included, so output lines up with input.
            let tokens = tokenize(line);
            let sentence = Sentence {
                labels: vec!["O".to_string(); tokens.len()],
                tokens: tokens.iter().map(|t| t.text.clone()).collect(),
                features: Vec::new(),
                line: line_no,
            };
            lines.push((line.to_string(), tokens, sentence));
        }
        if lines.is_empty() {
            break;
        }
        if !predictor.vector_files().is_empty() {
            let sentences: Vec<Sentence> = lines.iter().map(|(_, _, s)| s.clone()).collect();
            totals.extend(&mut predictor, t, &sentences)?;
        }
        for (line, tokens, sentence) in &lines {
            let empty = || Tagged {
                labels: Vec::new(),
                confidence: Vec::new(),
                nbest: Vec::new(),
            };
            let tagged = if tokens.is_empty() {
                empty()
            } else {
                predictor
                    .tag(t, std::slice::from_ref(sentence), nbest)?
                    .into_iter()
                    .next()
                    .unwrap_or_else(empty)
            };
            let chunked = predictor.file_scheme(t).is_some();
            write_sentence(&mut out, line, tokens, &tagged, chunked, format)?;
            out.flush()?;
            if interactive {
                err!("> ");
            }
        }
    }
    if interactive {
        errln!();
    }
    totals.report();
    Ok(ExitCode::SUCCESS)
}

/// Prints one tagged sentence in `format`.
fn write_sentence(
    out: &mut impl Write,
    text: &str,
    tokens: &[Token],
    tagged: &Tagged,
    chunked: bool,
    format: PredictFormat,
) -> Result<()> {
    let chars: Vec<char> = text.chars().collect();
    let entities: Vec<serde_json::Value> = if chunked {
        lenient_spans(&tagged.labels)
            .iter()
            .filter_map(|span| {
                let (first, last) = (
                    tokens.get(span.start)?,
                    tokens.get(span.end.checked_sub(1)?)?,
                );
                let confidence = tagged.confidence[span.start..span.end]
                    .iter()
                    .copied()
                    .fold(f32::INFINITY, f32::min);
                Some(json!({
                    "text": chars[first.start..last.end].iter().collect::<String>(),
                    "type": span.label,
                    "start": first.start,
                    "end": last.end,
                    "confidence": round4(confidence),
                }))
            })
            .collect()
    } else {
        Vec::new()
    };
    match format {
        PredictFormat::Json => {
            let toks: Vec<serde_json::Value> = tokens
                .iter()
                .zip(&tagged.labels)
                .zip(&tagged.confidence)
                .map(|((t, l), c)| json!({"text": t.text, "start": t.start, "end": t.end, "label": l, "confidence": round4(*c)}))
                .collect();
            let mut v = json!({"text": text, "tokens": toks});
            if chunked {
                v["entities"] = serde_json::Value::Array(entities);
            }
            if tagged.nbest.len() > 1 {
                v["nbest"] = tagged
                    .nbest
                    .iter()
                    .map(|(labels, p)| json!({"labels": labels, "probability": round4(*p as f32)}))
                    .collect();
            }
            writeln!(out, "{v}")?;
        }
        PredictFormat::Conll => {
            for ((t, l), c) in tokens.iter().zip(&tagged.labels).zip(&tagged.confidence) {
                writeln!(out, "{} {l} {:.4}", t.text, c)?;
            }
            writeln!(out)?;
        }
        PredictFormat::Text => {
            if tokens.is_empty() {
                // A blank input line: its record is the separator alone.
            } else if chunked {
                if entities.is_empty() {
                    writeln!(out, "(no entities)")?;
                }
                for e in &entities {
                    writeln!(
                        out,
                        "{}-{}\t{}\t{}\t{:.4}",
                        e["start"],
                        e["end"],
                        e["type"].as_str().unwrap_or(""),
                        e["text"].as_str().unwrap_or(""),
                        e["confidence"].as_f64().unwrap_or(0.0)
                    )?;
                }
            } else {
                let pairs: Vec<String> = tokens
                    .iter()
                    .zip(&tagged.labels)
                    .map(|(t, l)| format!("{}/{l}", t.text))
                    .collect();
                writeln!(out, "{}", pairs.join(" "))?;
            }
            for (k, (labels, p)) in tagged.nbest.iter().enumerate().skip(1) {
                writeln!(out, "  #{} p={:.4}: {}", k + 1, p, labels.join(" "))?;
            }
            // A blank line ends each sentence's record.
            writeln!(out)?;
        }
    }
    Ok(())
}

fn round4(x: f32) -> f64 {
    (f64::from(x) * 10000.0).round() / 10000.0
}
