//! `polytag data stats|convert`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use polytag_data::scheme::{self, Scheme};
use polytag_data::{
    count_columns, read_corpus, write_conll, ColumnOptions, CorpusStats, DeclaredScheme, Format,
    ReaderOptions, Separator,
};

use crate::{OutputFormat, ReaderArgs};

/// Reader options for one file from the command line: format from `--input-format` or the
/// extension, label column from `--label-col` or the file's last column.
fn reader_options(path: &Path, args: &ReaderArgs, keep_columns: bool) -> Result<ReaderOptions> {
    let format = args
        .input_format
        .map_or_else(|| Format::from_path(path), Format::from);
    let mut columns = ColumnOptions {
        token_col: args.token_col,
        ..ColumnOptions::default()
    };
    if format == Format::Conll {
        let n = count_columns(path, Separator::Whitespace)?;
        columns.label_col = match (args.label_col, n) {
            (Some(c), _) => c,
            (None, Some(n)) => n.saturating_sub(1),
            (None, None) => 1,
        };
        if keep_columns {
            let (token, label) = (columns.token_col, columns.label_col);
            columns.extra_cols = (0..n.unwrap_or(0))
                .filter(|&c| c != token && c != label)
                .collect();
        }
    }
    Ok(ReaderOptions {
        format,
        columns,
        upos: !args.xpos,
        ..ReaderOptions::default()
    })
}

fn declared(args: &ReaderArgs) -> Result<DeclaredScheme> {
    args.scheme.parse().with_context(|| {
        format!(
            "--scheme: unknown scheme {:?}; expected auto, none, iob1, bio or bioes",
            args.scheme
        )
    })
}

/// `data stats`: one report per file; with `--strict`, labels invalid in the scheme fail.
pub fn stats(
    files: &[PathBuf],
    args: &ReaderArgs,
    strict: bool,
    format: OutputFormat,
) -> Result<ExitCode> {
    let declared = declared(args)?;
    let mut invalid = 0usize;
    for path in files {
        // Streamed: memory is bounded by the longest sentence, whatever the file's size.
        let (stats, corpus) =
            CorpusStats::compute_file(path, &reader_options(path, args, false)?, declared)?;
        match format {
            OutputFormat::Text => out!("{stats}"),
            OutputFormat::Json => outln!("{}", serde_json::to_string(&stats)?),
        }
        for w in &corpus.warnings {
            errln!("polytag: warning: {}: {w}", path.display());
        }
        invalid += stats.problems.len();
        if strict && !stats.problems.is_empty() {
            for p in &stats.problems {
                errln!("polytag: {}:{}: {}", path.display(), p.line, p.message);
            }
        }
    }
    if strict && invalid > 0 {
        bail!("{invalid} label(s) invalid in the declared scheme (--strict)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `data convert --to S IN OUT`: re-encodes the label column, keeps the other columns.
pub fn convert(target: Scheme, input: &Path, output: &Path, args: &ReaderArgs) -> Result<ExitCode> {
    let opts = reader_options(input, args, true)?;
    if opts.format != Format::Conll {
        bail!(
            "{}: data convert reads CoNLL column files only",
            input.display()
        );
    }
    let mut corpus = read_corpus(input, &opts)?;
    for sentence in &mut corpus.sentences {
        sentence.labels = scheme::convert(&sentence.labels, target);
    }
    let mut text = Vec::new();
    write_conll(&mut text, &corpus.sentences, ' ')?;
    polytag_train::write_atomic(output, &text)?;
    errln!(
        "polytag: wrote {} ({} sentences, {} tokens, {})",
        output.display(),
        corpus.len(),
        corpus.num_tokens(),
        target.name()
    );
    Ok(ExitCode::SUCCESS)
}
