//! `polytag vectors train|neighbors|stats|concat|pos-embed|char-regress`: word vectors for
//! `embedding` components (issue 14); the work is done by `polytag-vectors`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use polytag_data::{count_columns, ColumnOptions, Format, ReaderOptions, Separator};
use polytag_vectors::pos_embed::{train_pos_embedding, PosEmbedOptions, TagCounts};
use polytag_vectors::{stats, FileFormat, InputFile, Model, Source, TrainOptions, Vectors};

/// `polytag vectors …`.
#[derive(Subcommand, Debug)]
pub enum VectorsCommand {
    /// Train word vectors (skip-gram / CBOW with negative sampling, or seed 000's
    /// full-softmax skip-gram) on raw text or corpus token columns.
    Train(TrainArgs),
    /// Cosine nearest neighbours of words.
    Neighbors {
        /// The vector file (word2vec text or binary, GloVe, fastText `.vec`; `.gz` too).
        file: PathBuf,
        /// Words to look up.
        #[arg(required = true)]
        words: Vec<String>,
        /// Neighbours per word.
        #[arg(short, long, default_value_t = 10)]
        k: usize,
    },
    /// Count, dimension, norms; with --corpus, coverage of its tokens and word types by
    /// exact / lowercase / digits→0 lookup (what an `embedding` component does).
    Stats {
        /// The vector file.
        file: PathBuf,
        /// Corpus files whose tokens to look up.
        #[arg(long, value_name = "C")]
        corpus: Vec<PathBuf>,
        #[command(flatten)]
        input: CorpusArgs,
    },
    /// Concatenate tables row by row into one feature table (seed 000's [word | char | PoS]);
    /// rows follow the first table's words, which every other table must have.
    Concat {
        /// The tables, in feature order.
        #[arg(required = true, num_args = 2..)]
        tables: Vec<PathBuf>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = VectorFormat::Text)]
        format: VectorFormat,
    },
    /// Seed 000's PoS embedding: one vector per word type, trained to predict the PoS tags of
    /// its occurrences (the corpus's label column, or --pos-col).
    PosEmbed(PosEmbedArgs),
    /// Seed 000's char table: a char BiLSTM trained per word type by MSE onto the word
    /// vectors, then computed for every word of the table.
    CharRegress(super::char_regress::CharRegressArgs),
}

/// How corpus files are read (`train`, `stats`, `pos-embed`).
#[derive(Args, Debug, Clone)]
pub struct CorpusArgs {
    /// `text` (one sentence a line) or a corpus format whose token column is read; by default
    /// `.conllu`/`.jsonl`/`.conll` (and `.gz` of them) by extension, else text.
    #[arg(long, value_enum)]
    input_format: Option<CorpusFormat>,
    /// Token column of CoNLL files (0-based).
    #[arg(long, default_value_t = 0)]
    token_col: usize,
}

/// Input file formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorpusFormat {
    /// One sentence a line, whitespace-separated tokens.
    Text,
    /// Token-per-line columns.
    Conll,
    /// Universal Dependencies CoNLL-U.
    Conllu,
    /// JSON Lines with a token list.
    Jsonl,
}

/// `--model`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelArg {
    /// Skip-gram with negative sampling.
    Skipgram,
    /// CBOW with negative sampling.
    Cbow,
    /// Seed 000's full-softmax skip-gram (window 5 left, 4 right unless given).
    Softmax,
}

/// `--format`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorFormat {
    /// word2vec text.
    Text,
    /// word2vec binary.
    Binary,
}

impl From<VectorFormat> for FileFormat {
    fn from(f: VectorFormat) -> Self {
        match f {
            VectorFormat::Text => FileFormat::Text,
            VectorFormat::Binary => FileFormat::Binary,
        }
    }
}

/// `polytag vectors train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training files (raw text or corpora; `.gz` too).
    #[arg(required = true)]
    corpus: Vec<PathBuf>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VectorFormat::Text)]
    format: VectorFormat,
    /// Objective.
    #[arg(long, value_enum, default_value_t = ModelArg::Skipgram)]
    model: ModelArg,
    /// Vector width.
    #[arg(long, default_value_t = 100)]
    dim: usize,
    /// Context words on each side (on the left only when --window-right is given).
    #[arg(long, default_value_t = 5)]
    window: usize,
    /// Context words on the right (seed 000's softmax model: 4).
    #[arg(long)]
    window_right: Option<usize>,
    /// Negative samples per positive.
    #[arg(long, default_value_t = 5)]
    negative: usize,
    /// Passes over the corpus.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Words seen fewer times get no vector.
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    /// Subsampling threshold of frequent words (0: off).
    #[arg(long, default_value_t = 1e-3)]
    sample: f64,
    /// Initial learning rate (decays linearly to 0.0001).
    #[arg(long, default_value_t = 0.025)]
    alpha: f32,
    /// Lowercase every token.
    #[arg(long)]
    lowercase: bool,
    /// Worker threads (1: bit-identical output for a seed).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    input: CorpusArgs,
}

/// `polytag vectors pos-embed`.
#[derive(Args, Debug)]
pub struct PosEmbedArgs {
    /// Tagged corpora (CoNLL columns, CoNLL-U: UPOS, JSONL).
    #[arg(required = true)]
    corpus: Vec<PathBuf>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VectorFormat::Text)]
    format: VectorFormat,
    /// Column of the PoS tag in CoNLL files (0-based); default the last column.
    #[arg(long)]
    pos_col: Option<usize>,
    /// Token column in CoNLL files (0-based).
    #[arg(long, default_value_t = 0)]
    token_col: usize,
    /// Embedding width (seed 000: 32).
    #[arg(long, default_value_t = 32)]
    dim: usize,
    /// Epochs (seed 000: 50).
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Word types per Adam step.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-2)]
    lr: f32,
    /// Lowercase every token.
    #[arg(long)]
    lowercase: bool,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs one `vectors` subcommand.
pub fn run(command: &VectorsCommand) -> Result<ExitCode> {
    match command {
        VectorsCommand::Train(args) => train(args),
        VectorsCommand::Neighbors { file, words, k } => neighbors(file, words, *k),
        VectorsCommand::Stats {
            file,
            corpus,
            input,
        } => stats_cmd(file, corpus, input),
        VectorsCommand::Concat {
            tables,
            out,
            format,
        } => concat(tables, out, *format),
        VectorsCommand::PosEmbed(args) => pos_embed(args),
        VectorsCommand::CharRegress(args) => super::char_regress::run(args),
    }
}

/// Reader options for the token (and label) column of a corpus file.
fn corpus_reader(
    path: &Path,
    format: Format,
    token_col: usize,
    label_col: Option<usize>,
) -> Result<ReaderOptions> {
    let mut columns = ColumnOptions {
        token_col,
        ..ColumnOptions::default()
    };
    if format == Format::Conll {
        let n = count_columns(path, Separator::Whitespace)?;
        columns.label_col = match (label_col, n) {
            (Some(c), _) => c,
            (None, Some(n)) => n.saturating_sub(1),
            (None, None) => 1,
        };
        // A token-only file (one column) has no label: read the token as the label too.
        if n == Some(1) {
            columns.label_col = 0;
        }
    }
    Ok(ReaderOptions {
        format,
        columns,
        ..ReaderOptions::default()
    })
}

fn input_file(path: &Path, args: &CorpusArgs) -> Result<InputFile> {
    let format = match args.input_format {
        Some(f) => f,
        None => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let name = name.strip_suffix(".gz").unwrap_or(&name);
            if name.ends_with(".conllu") {
                CorpusFormat::Conllu
            } else if name.ends_with(".jsonl") {
                CorpusFormat::Jsonl
            } else if name.ends_with(".conll") {
                CorpusFormat::Conll
            } else {
                CorpusFormat::Text
            }
        }
    };
    let source = match format {
        CorpusFormat::Text => Source::Text,
        CorpusFormat::Conll => {
            Source::Corpus(corpus_reader(path, Format::Conll, args.token_col, None)?)
        }
        CorpusFormat::Conllu => Source::Corpus(corpus_reader(path, Format::Conllu, 0, None)?),
        CorpusFormat::Jsonl => Source::Corpus(corpus_reader(path, Format::Jsonl, 0, None)?),
    };
    Ok(InputFile {
        path: path.to_path_buf(),
        source,
    })
}

fn train(args: &TrainArgs) -> Result<ExitCode> {
    let model = match args.model {
        ModelArg::Skipgram => Model::SkipGram,
        ModelArg::Cbow => Model::Cbow,
        ModelArg::Softmax => Model::Softmax,
    };
    let opts = TrainOptions {
        dim: args.dim,
        window: args.window,
        window_right: args.window_right.or(TrainOptions::new(model).window_right),
        negative: args.negative,
        epochs: args.epochs,
        sample: args.sample,
        alpha: args.alpha,
        threads: args.threads,
        seed: args.seed,
        ..TrainOptions::new(model)
    };
    // Options first: a typo should not cost a pass over a large corpus.
    opts.check()?;
    let files = args
        .corpus
        .iter()
        .map(|p| input_file(p, &args.input))
        .collect::<Result<Vec<_>>>()?;
    let read_start = Instant::now();
    let corpus = polytag_vectors::read_files(&files, args.lowercase, args.min_count)?;
    errln!(
        "polytag: read {} tokens, {} sentences; {} words with count >= {} ({:.1}s)",
        corpus.tokens_read,
        corpus.num_sentences(),
        corpus.vocab.len(),
        args.min_count,
        read_start.elapsed().as_secs_f64()
    );
    let total = corpus.ids.len() as u64 * opts.epochs as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {human_pos}/{human_len} words  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let start = Instant::now();
    let vectors = polytag_vectors::train(&corpus, &opts, &|n| bar.inc(n))?;
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    // One machine-readable line for scripts/bench. Words/s counts the corpus tokens as read
    // (before min_count and subsampling), as word2vec and gensim report it.
    errln!(
        "polytag: trained {} tokens ({} kept) x {} epochs in {seconds:.2}s: {:.0} words/s",
        corpus.tokens_read,
        corpus.ids.len(),
        opts.epochs,
        (corpus.tokens_read * opts.epochs as u64) as f64 / seconds.max(1e-9)
    );
    vectors.save(&args.out, args.format.into())?;
    errln!(
        "polytag: wrote {} vectors of {} to {}",
        vectors.len(),
        vectors.dim,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn neighbors(file: &Path, words: &[String], k: usize) -> Result<ExitCode> {
    let v = Vectors::load(file)?;
    let mut missing = 0;
    for word in words {
        let found = v.words.iter().position(|w| w == word).or_else(|| {
            let lower = word.to_lowercase();
            v.words.iter().position(|w| *w == lower)
        });
        let Some(i) = found else {
            errln!("polytag: {word:?} is not in {}", file.display());
            missing += 1;
            continue;
        };
        outln!("{}:", v.words[i]);
        for (j, cos) in v.neighbors(i, k) {
            outln!("  {cos:.4}  {}", v.words[j]);
        }
    }
    Ok(if missing > 0 {
        ExitCode::from(crate::EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

fn stats_cmd(file: &Path, corpus: &[PathBuf], input: &CorpusArgs) -> Result<ExitCode> {
    let v = Vectors::load(file)?;
    let s = stats::table_stats(&v);
    outln!(
        "{}: {} vectors, dimension {}",
        file.display(),
        s.count,
        s.dim
    );
    outln!(
        "norms: min {:.4}, mean {:.4}, max {:.4}",
        s.norm_min,
        s.norm_mean,
        s.norm_max
    );
    for path in corpus {
        let file = input_file(path, input)?;
        let mut tokens: Vec<String> = Vec::new();
        match &file.source {
            Source::Text => {
                let text = polytag_vectors::read_files(std::slice::from_ref(&file), false, 1)?;
                for &id in &text.ids {
                    tokens.push(text.vocab.words[id as usize].clone());
                }
            }
            Source::Corpus(opts) => {
                let c = polytag_data::read_corpus(path, opts)?;
                tokens.extend(c.sentences.into_iter().flat_map(|s| s.tokens));
            }
        }
        let c = stats::coverage(&v, tokens.iter().map(String::as_str));
        for (what, l) in [("tokens", c.tokens), ("types", c.types)] {
            let pct = |n: u64| 100.0 * n as f64 / l.total().max(1) as f64;
            outln!(
                "{}: {what}: {} — exact {} ({:.1}%), lowercase {} ({:.1}%), digits→0 {} ({:.1}%), missing {} ({:.1}%)",
                path.display(),
                l.total(),
                l.exact,
                pct(l.exact),
                l.lowercase,
                pct(l.lowercase),
                l.digits,
                pct(l.digits),
                l.missing,
                pct(l.missing)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn concat(tables: &[PathBuf], out: &Path, format: VectorFormat) -> Result<ExitCode> {
    let loaded = tables
        .iter()
        .map(|p| Vectors::load(p).map(|v| (p.as_path(), v)))
        .collect::<polytag_vectors::Result<Vec<_>>>()?;
    let refs: Vec<(&Path, &Vectors)> = loaded.iter().map(|(p, v)| (*p, v)).collect();
    let joined = polytag_vectors::concat(&refs)?;
    joined.save(out, format.into())?;
    errln!(
        "polytag: wrote {} vectors of {} (= {}) to {}",
        joined.len(),
        joined.dim,
        loaded
            .iter()
            .map(|(_, v)| v.dim.to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn pos_embed(args: &PosEmbedArgs) -> Result<ExitCode> {
    let mut counts = TagCounts::default();
    for path in &args.corpus {
        let format = Format::from_path(path);
        let opts = corpus_reader(path, format, args.token_col, args.pos_col)?;
        let corpus = polytag_data::read_corpus(path, &opts)
            .with_context(|| format!("reading PoS tags from {}", path.display()))?;
        for sentence in &corpus.sentences {
            for (token, tag) in sentence.tokens.iter().zip(&sentence.labels) {
                if args.lowercase {
                    counts.add(&token.to_lowercase(), tag);
                } else {
                    counts.add(token, tag);
                }
            }
        }
    }
    if counts.num_words() == 0 {
        bail!(
            "{}: no tagged tokens read",
            args.corpus
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let opts = PosEmbedOptions {
        dim: args.dim,
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        lowercase: args.lowercase,
        seed: args.seed,
    };
    let (vectors, loss) = train_pos_embedding(&counts, &opts)?;
    vectors.save(&args.out, args.format.into())?;
    errln!(
        "polytag: {} word types, final loss {loss:.4} per token; wrote {}",
        vectors.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Per-split token coverage of a loaded embedding file, one indented line per split, for
/// `polytag validate`.
pub fn split_coverage_lines(e: &polytag_data::LoadedEmbedding) -> String {
    let mut out = String::new();
    if e.added_words > 0 {
        out.push_str(&format!(
            "    + {} dev/test words found in the file (extend_vocab)\n",
            e.added_words
        ));
    }
    for s in &e.splits {
        out.push_str(&format!(
            "    {} {:<5} tokens: {}\n",
            s.dataset, s.split, s.tokens
        ));
    }
    out
}

/// Writes `embeddings.json` into a new run directory: for each `embedding` component with a
/// file, what the file covered (vocabulary, training tokens, every split) and how many
/// dev/test words it added. Written before training, atomically (temp + rename).
pub fn write_embedding_coverage(
    run_dir: &Path,
    exp: &polytag_config::Experiment,
    data: &polytag_data::ExperimentData,
) -> Result<()> {
    if data.embeddings.is_empty() {
        return Ok(());
    }
    let entries: Vec<serde_json::Value> = data
        .embeddings
        .iter()
        .map(|(c, e)| {
            serde_json::json!({
                "component": exp.components.get(*c).map(|c| c.name.as_str()),
                "coverage": e.coverage,
                "added_words": e.added_words,
                "splits": e.splits,
            })
        })
        .collect();
    let path = run_dir.join("embeddings.json");
    let tmp = run_dir.join(".embeddings.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&entries)? + "\n")
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
