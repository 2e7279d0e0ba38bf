//! `polytag eval RUN_DIR --file F`: tag a labelled file with a trained run and score it.
//!
//! The predictions are scored exactly as `polytag score` scores a `token gold pred` file (the
//! same text goes through the same code), so `eval --predictions P` followed by
//! `polytag score P` prints the same report. Words of the file outside the trained vocabulary
//! get the vectors of the run's embedding file as in `predict` (`extend_vocab`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use polytag_data::read_corpus;
use polytag_data::scheme::Scheme;
use polytag_eval::{score_reader, SchemeChoice, ScoreOptions};
use polytag_train::{CheckpointKind, Predictor};

use crate::cmd::predict::{setup_extension, ExtensionTotals, VectorArgs};
use crate::OutputFormat;

/// Runs `eval`.
pub fn run(
    run_dir: &Path,
    file: &Path,
    task: Option<&str>,
    predictions: Option<&Path>,
    format: OutputFormat,
    vectors: &VectorArgs,
) -> Result<ExitCode> {
    let mut predictor = Predictor::load(run_dir, CheckpointKind::Best)
        .with_context(|| format!("cannot load the trained model of {}", run_dir.display()))?;
    let t = predictor.task_index(task)?;
    setup_extension(&mut predictor, t, vectors)?;
    let corpus = read_corpus(file, &predictor.reader_options(t))?;
    // Words of the file outside the vocabulary that the vector file has (extend_vocab).
    let mut totals = ExtensionTotals::default();
    totals.extend(&mut predictor, t, &corpus.sentences)?;
    totals.report();
    let tagged = predictor.tag(t, &corpus.sentences, 1)?;
    let mut text = String::new();
    for (sentence, tags) in corpus.sentences.iter().zip(&tagged) {
        for ((token, gold), pred) in sentence
            .tokens
            .iter()
            .zip(&sentence.labels)
            .zip(&tags.labels)
        {
            // Unwrap-free: writing to a String cannot fail.
            let _ = writeln!(text, "{token} {gold} {pred}");
        }
        text.push('\n');
    }
    if let Some(out) = predictions {
        polytag_train::write_atomic(out, text.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    let scheme = match predictor.file_scheme(t) {
        Some(Scheme::Bioes) => SchemeChoice::Scheme(Scheme::Bioes),
        _ => SchemeChoice::Conlleval,
    };
    let report = score_reader(
        text.as_bytes(),
        &ScoreOptions {
            scheme,
            name: file.display().to_string(),
        },
    )?;
    match format {
        OutputFormat::Text => {
            outln!(
                "task {} on {} ({} sentences)",
                predictor.experiment().tasks[t].name,
                file.display(),
                corpus.len()
            );
            out!("{}", report.conlleval_text());
        }
        OutputFormat::Json => outln!("{}", report.to_json()),
    }
    Ok(ExitCode::SUCCESS)
}
