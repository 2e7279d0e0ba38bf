//! `polytag validate CONFIG`: everything `train` would check before its first step.
//!
//! Resolution errors (names, kinds, widths, paths) come first and all at once; then the corpora
//! are read and the vocabularies built (data errors, all at once); then the model is built on
//! the CPU, which checks every shape. Nothing is written.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use polytag_config::{ComponentKind, Experiment, Override, ResolveOptions};
use polytag_data::stats::grouped;
use polytag_data::ExperimentData;
use polytag_train::experiment::{LoadError, Warning};

/// Runs `validate`; exit code 1 with every problem on stderr when the experiment is invalid.
pub fn run(config: &Path, set: &[String]) -> Result<ExitCode> {
    let (exp, data) = load_experiment(config, &parse_overrides(set)?)?;
    print_experiment(config, &exp, &data)?;
    let summary = crate::cmd::model_summary(&exp, &data)?;
    outln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// Resolves the experiment and loads its corpora ([`polytag_train::experiment::load`]: what
/// `validate`, `train` and `bench` check before anything is built or written): every problem
/// goes to stderr, one per line, and the result is an error; warnings (config, invalid labels)
/// are printed and passed over.
pub fn load_experiment(
    config: &Path,
    overrides: &[Override],
) -> Result<(Experiment, ExperimentData)> {
    load_experiment_with(config, overrides, &ResolveOptions::default())
}

/// [`load_experiment`] with resolution options (`train --resume` reads the run's transformer
/// copies).
pub fn load_experiment_with(
    config: &Path,
    overrides: &[Override],
    options: &ResolveOptions,
) -> Result<(Experiment, ExperimentData)> {
    let print_warnings = |warnings: &[Warning]| {
        for w in warnings {
            errln!("polytag: warning: {w}");
        }
    };
    match polytag_train::experiment::load_with(config, overrides, options) {
        Ok(loaded) => {
            print_warnings(&loaded.warnings);
            // Data the loader accepts but that cannot be scored: empty or entity-less dev/test
            // splits, malformed chunk tags (polytag_data::scoreable).
            let problems = polytag_data::scoreable::problems(&loaded.experiment, &loaded.data);
            if !problems.is_empty() {
                for p in &problems {
                    errln!("polytag: {}: {p}", config.display());
                }
                bail!(
                    "{}: {} data problem(s) found",
                    config.display(),
                    problems.len()
                );
            }
            Ok((loaded.experiment, loaded.data))
        }
        Err(LoadError::Config(errors)) => {
            report_config_errors(config, &errors);
            bail!("{}: {} problem(s) found", config.display(), errors.0.len());
        }
        Err(LoadError::Data { warnings, errors }) => {
            print_warnings(&warnings);
            for e in &errors.0 {
                errln!("polytag: {}: {e}", config.display());
            }
            bail!(
                "{}: {} data problem(s) found",
                config.display(),
                errors.0.len()
            );
        }
    }
}

/// Prints each resolution problem on its own line, prefixed by the config file unless the
/// message already names it (a JSON syntax error says `exp.json:10:55: ...`).
pub fn report_config_errors(config: &Path, errors: &polytag_config::ConfigErrors) {
    let file = config.display().to_string();
    for e in &errors.0 {
        let msg = e.to_string();
        if msg.starts_with(&file) {
            errln!("polytag: {msg}");
        } else {
            errln!("polytag: {file}: {msg}");
        }
    }
}

/// `--set` values, each `PATH=VALUE`.
pub fn parse_overrides(set: &[String]) -> Result<Vec<Override>> {
    set.iter()
        .map(|s| Override::parse(s).with_context(|| format!("--set {s}")))
        .collect()
}

fn print_experiment(config: &Path, exp: &Experiment, data: &ExperimentData) -> Result<()> {
    outln!(
        "experiment {} ({}), seed {}, device {:?}",
        exp.name,
        config.display(),
        exp.seed,
        exp.training.device
    );
    outln!(
        "training: max_step {}, eval_freq {}, schedule {:?}",
        exp.training.max_step,
        exp.training.eval_freq,
        exp.training.schedule.kind
    );
    outln!(
        "\ntasks ({}; target: {}):",
        exp.tasks.len(),
        exp.target_task().name
    );
    for task in &exp.tasks {
        let d = &exp.datasets[task.dataset];
        outln!(
            "  {:<16} {:<5} {:<5} dataset {:<12} lr {} {:?}",
            task.name,
            task.language,
            task.task,
            d.name,
            task.hyper.learning_rate,
            task.hyper.optimizer
        );
    }
    outln!("\ndatasets ({}):", exp.datasets.len());
    for (spec, d) in exp.datasets.iter().zip(&data.datasets) {
        let scheme = d
            .scheme
            .map_or("none".to_string(), |s| s.name().to_ascii_lowercase());
        let sampled = if d.train.len() == d.train_total {
            String::new()
        } else {
            format!(" (sampled from {})", grouped(d.train_total))
        };
        out!(
            "  {:<12} {:<5} {:<5} {:<6}",
            spec.name,
            spec.language,
            spec.task,
            scheme
        );
        for (split, corpus) in d.splits() {
            out!(
                "  {split} {} sent / {} tok{}",
                grouped(corpus.len()),
                grouped(corpus.num_tokens()),
                if split == "train" {
                    sampled.as_str()
                } else {
                    ""
                }
            );
        }
        outln!();
    }
    outln!("\nvocabularies:");
    for (c, vocab) in &data.words {
        let coverage = data
            .embeddings
            .get(c)
            .map(|e| format!("; {}", e.coverage))
            .unwrap_or_default();
        outln!(
            "  words of {:<18} {} entries{coverage}",
            exp.components[*c].name,
            grouped(vocab.len())
        );
        if let Some(e) = data.embeddings.get(c) {
            out!("{}", super::vectors::split_coverage_lines(e));
        }
    }
    for (c, vocab) in &data.subwords {
        let counts = data
            .subword_counts
            .get(c)
            .map(|n| format!("; distinct training words: {n}"))
            .unwrap_or_default();
        outln!(
            "  pieces of {:<17} {} entries, windows of {} (stride {}){counts}",
            exp.components[*c].name,
            grouped(vocab.tokenizer.vocab_size),
            vocab.max_len,
            vocab.stride
        );
    }
    outln!(
        "  characters              {} entries",
        grouped(data.chars.len())
    );
    for (task_type, labels) in &data.labels {
        outln!(
            "  labels of {:<14} {} ({})",
            task_type,
            labels.len(),
            labels.labels().join(" ")
        );
    }
    for (c, vocab) in &data.features {
        if let ComponentKind::FeatureEmbedding(spec) = &exp.components[*c].kind {
            outln!(
                "  column {} for {:<12} {} values",
                spec.column,
                exp.components[*c].name,
                grouped(vocab.len())
            );
        }
    }
    outln!();
    Ok(())
}
