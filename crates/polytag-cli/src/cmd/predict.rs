//! `polytag predict RUN_DIR`: tag raw text (typed at a prompt, piped, or from a file).
//!
//! Each input line is one sentence and gives exactly one output record, in order (a blank
//! line gives an empty record, so output lines up with input); it is tokenised with
//! punctuation split off (`polytag_data::tokenize`), tagged, and printed with character
//! offsets. Confidence is the model's marginal probability of the predicted label at each
//! token (forward-backward for a CRF, the softmax for a softmax decoder); an entity's
//! confidence is the lowest of its tokens', a conservative figure that is exactly right for
//! one-token entities.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
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

/// Runs `predict`.
pub fn run(
    run_dir: &Path,
    task: Option<&str>,
    input: Option<&Path>,
    format: PredictFormat,
    nbest: usize,
    skip_bad_lines: bool,
) -> Result<ExitCode> {
    let predictor = Predictor::load(run_dir, CheckpointKind::Best)
        .with_context(|| format!("cannot load the trained model of {}", run_dir.display()))?;
    let t = predictor.task_index(task)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let interactive = input.is_none() && std::io::stdin().is_terminal();
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
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {name}"))?;
        if n == 0 {
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
        let empty = || Tagged {
            labels: Vec::new(),
            confidence: Vec::new(),
            nbest: Vec::new(),
        };
        let tagged = if tokens.is_empty() {
            empty()
        } else {
            predictor
                .tag(t, std::slice::from_ref(&sentence), nbest)?
                .into_iter()
                .next()
                .unwrap_or_else(empty)
        };
        let chunked = predictor.file_scheme(t).is_some();
        write_sentence(&mut out, line, &tokens, &tagged, chunked, format)?;
        out.flush()?;
        if interactive {
            err!("> ");
        }
    }
    if interactive {
        errln!();
    }
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
