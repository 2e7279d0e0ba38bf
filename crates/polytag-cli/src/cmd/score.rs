//! `polytag score`: a drop-in replacement for conlleval.pl.

use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use polytag_eval::{score_path, score_reader, Report, SchemeChoice, ScoreOptions};

use crate::OutputFormat;

/// Scores `file` (`-` = stdin) and prints conlleval's report or the JSON metrics.
///
/// `--strict` adds nothing to the text report's format (conlleval has no strict mode); it
/// makes the JSON's headline figures the strict ones and prints the strict line in text.
pub fn run(file: &Path, scheme: &str, strict: bool, format: OutputFormat) -> Result<ExitCode> {
    let mut choice: SchemeChoice = scheme.parse().with_context(|| {
        format!(
            "--scheme: unknown scheme {scheme:?}; expected {}",
            SchemeChoice::NAMES
        )
    })?;
    if strict && choice == SchemeChoice::Conlleval {
        // Strict mode needs a scheme; take the data's own.
        choice = SchemeChoice::Auto;
    }
    let report: Report = if file == Path::new("-") {
        let stdin = std::io::stdin();
        score_reader(
            BufReader::new(stdin.lock()),
            &ScoreOptions {
                scheme: choice,
                ..ScoreOptions::default()
            },
        )?
    } else {
        score_path(file, choice)?
    };
    match format {
        OutputFormat::Text => {
            out!("{}", report.conlleval_text());
            if strict {
                match &report.metrics.strict {
                    Some(m) => outln!(
                        "strict ({}): precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}",
                        report.metrics.scheme.map_or("?", |s| s.name()),
                        100.0 * m.precision,
                        100.0 * m.recall,
                        100.0 * m.f1
                    ),
                    None => outln!("strict: no chunk tags found; nothing to score strictly"),
                }
            }
        }
        OutputFormat::Json => outln!("{}", json(&report)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON of `--format json`: the full metrics plus a `conlleval` block with the printed
/// figures (percentages as conlleval rounds them), the form `expected.json` of the test
/// vectors uses, so the two can be compared key by key.
fn json(report: &Report) -> String {
    let c = &report.counts;
    let m = &report.metrics;
    // Rounded exactly as conlleval.pl's printf("%.2f") rounds (Rust's `{:.2}` rounds the
    // exact binary value the same way), then read back as a number.
    let pct = |x: f64| {
        format!("{:.2}", 100.0 * x)
            .parse::<f64>()
            .unwrap_or(f64::NAN)
    };
    let types: serde_json::Map<String, serde_json::Value> = m
        .spans
        .per_type
        .iter()
        .map(|(t, tm)| {
            (
                t.clone(),
                serde_json::json!({
                    "precision": pct(tm.precision), "recall": pct(tm.recall),
                    "f1": pct(tm.f1), "found": tm.found,
                }),
            )
        })
        .collect();
    let value = serde_json::json!({
        "conlleval": {
            "tokens": c.tokens,
            "gold_phrases": m.spans.gold,
            "found_phrases": m.spans.found,
            "correct_phrases": m.spans.correct,
            "accuracy": pct(m.accuracy.accuracy),
            "precision": pct(m.spans.precision),
            "recall": pct(m.spans.recall),
            "f1": pct(m.spans.f1),
            "types": types,
        },
        "metrics": m,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
