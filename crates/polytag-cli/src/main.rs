//! The `polytag` binary: parses the command line, calls one library function per subcommand,
//! renders errors. No logic of its own lives here (style.md, "cli").

// No `print!`/`eprint!` here (the workspace lints warn, CI denies): they panic on a closed pipe.
// Output goes through `out!`/`outln!` (a failed write is an error, `?`) and `errln!` (a failed
// write to stderr is ignored: there is nowhere left to report it).

/// `print!` whose failure (a closed pipe: `polytag … | head -1`) returns from the enclosing
/// function with the `io::Error`; [`main`] ends quietly when that error is a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))?
    };
}

/// `println!` that returns a failed write as an error (see [`out!`]).
macro_rules! outln {
    () => {
        $crate::write_stdout(format_args!("\n"))?
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

/// `eprint!` that never panics (a closed stderr is ignored).
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::write_stderr(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics (a closed stderr is ignored).
macro_rules! errln {
    () => {
        $crate::write_stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod cmd;
mod malloc;

use std::io::{IsTerminal, Write};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit codes, in one place: 0 success, 1 bad input or failed check, 2 usage (clap's own).
const EXIT_FAILURE: u8 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "polytag",
    version,
    about = "Multi-lingual multi-task sequence labeling"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Resolve an experiment, load its corpora and build its model; print a summary.
    Validate {
        /// The experiment file (JSON).
        config: PathBuf,
        /// Override a config value: `training.max_step=200`, `tasks.0.learning_rate=0.01`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// Train an experiment (or continue a killed run with `--resume RUN_DIR`).
    Train {
        /// The experiment file (JSON); not given with `--resume`.
        #[arg(required_unless_present = "resume")]
        config: Option<PathBuf>,
        /// Override a config value: `training.max_step=200`, `tasks.0.learning_rate=0.01`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Write the run here instead of `<output_dir>/<experiment>/<time>/`.
        #[arg(long, value_name = "DIR")]
        run_dir: Option<PathBuf>,
        /// Continue the run in DIR from its last checkpoint.
        /// With it, `--set` may only point corpus paths elsewhere (a moved data root); the
        /// files must still hash as recorded.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "run_dir"])]
        resume: Option<PathBuf>,
        /// Device: cpu, cuda, wgpu, auto (overrides `training.device`).
        #[arg(long, value_name = "D")]
        device: Option<String>,
    },
    /// Tag a labelled file with a trained run and score it (conlleval report).
    Eval {
        /// The run directory (its best checkpoint is used).
        run_dir: PathBuf,
        /// The labelled file, read as the task's dataset is read.
        #[arg(long)]
        file: PathBuf,
        /// Task name; default the experiment's target (ref) task.
        #[arg(long)]
        task: Option<String>,
        /// Also write `token gold pred` lines here (scoreable by `polytag score`).
        #[arg(long, value_name = "FILE")]
        predictions: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        #[command(flatten)]
        vectors: cmd::predict::VectorArgs,
    },
    /// Tag raw text with a trained run: one sentence per line, from a file, stdin, or typed at
    /// a prompt.
    Predict {
        /// The run directory (its best checkpoint is used).
        run_dir: PathBuf,
        /// Task name; default the experiment's target (ref) task.
        #[arg(long)]
        task: Option<String>,
        /// Text file (`-` = stdin); without it, an interactive prompt on a terminal.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = cmd::predict::PredictFormat::Text)]
        format: cmd::predict::PredictFormat,
        /// Also give the K best label sequences with their probabilities (K ≥ 1).
        #[arg(long, default_value_t = 1, value_name = "K",
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        nbest: usize,
        /// Report a line that is not UTF-8 on stderr and give it an empty record, instead
        /// of stopping there with an error.
        #[arg(long)]
        skip_bad_lines: bool,
        #[command(flatten)]
        vectors: cmd::predict::VectorArgs,
    },
    /// Write a trained run's task in another framework's format: `hf` is a Hugging Face
    /// `AutoModelForTokenClassification` directory (a transformer + softmax task; a CRF or
    /// gated task is refused with the reason).
    Export {
        /// The run directory (its best checkpoint is used).
        run_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        format: cmd::export::ExportFormat,
        /// The folder to write (new or empty).
        out: PathBuf,
        /// Task name; default the experiment's target (ref) task.
        #[arg(long)]
        task: Option<String>,
    },
    /// Compare run directories: scores, per-type P/R/F1, config differences, learning curves.
    Report {
        /// Run directories (finished or still running).
        #[arg(required = true, value_name = "RUN_DIR")]
        run_dirs: Vec<PathBuf>,
        /// Write a self-contained HTML report (tables + SVG learning curves) here.
        #[arg(long, value_name = "OUT")]
        html: Option<PathBuf>,
        /// Write the Markdown report here (`-` = stdout; stdout by default when neither
        /// --html nor --md is given).
        #[arg(long, value_name = "OUT")]
        md: Option<PathBuf>,
    },
    /// Time training steps and dev decoding of an experiment (the PyTorch comparison that
    /// `scripts/bench` runs); prints one JSON line.
    Bench {
        /// The experiment file (JSON); not given with `--keys`.
        #[arg(required_unless_present = "keys")]
        config: Option<PathBuf>,
        /// Print the keys of the JSON line, one per line, and exit (for scripts).
        #[arg(long, conflicts_with_all = ["config", "set"])]
        keys: bool,
        /// Override a config value: `training.threads=1`, `datasets.0.sample={"first":500}`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Timed training steps.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
        steps: u64,
        /// Untimed training steps before them.
        #[arg(long, default_value_t = 10)]
        warmup: u64,
        /// Dev sentences per decoding batch, taken in file order.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
        decode_batch: u64,
    },
    /// Train an experiment over a grid of settings × seeds, N runs at a time, each in its own
    /// run directory under one sweep directory; finish with a report grouping the seeds.
    Sweep(cmd::sweep::SweepArgs),
    /// Inspect and convert corpus files.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Word vectors: train, inspect, concatenate; seed 000's feature tables.
    Vectors {
        #[command(subcommand)]
        command: cmd::vectors::VectorsCommand,
    },
    /// Print the JSON Schema of the experiment file (for editors: see configs/README.md).
    Schema,
    /// Score `token … gold pred` lines like conlleval.pl (a drop-in replacement).
    Score {
        /// The file to score (`-` for standard input).
        file: PathBuf,
        /// How tags become spans: `conlleval` (the reference tool's rules, default), `auto`
        /// (detect), `iob1`, `bio`, `bioes`.
        #[arg(long, default_value = "conlleval")]
        scheme: String,
        /// seqeval's strict mode: ill-formed chunks count as wrong.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Subcommand, Debug)]
enum DataCommand {
    /// Sentences, tokens, documents, entities per type, scheme detected, problems found.
    Stats {
        /// Corpus files (CoNLL columns, CoNLL-U, JSONL; `.gz` too).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        reader: ReaderArgs,
        /// Treat labels invalid in the declared scheme as errors, not warnings.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Convert the tag scheme of a CoNLL file (other columns are kept as they are).
    Convert {
        /// Target scheme.
        #[arg(long, ignore_case = true, value_parser = scheme_parser())]
        to: polytag_data::scheme::Scheme,
        /// Input file.
        input: PathBuf,
        /// Output file (written atomically).
        output: PathBuf,
        #[command(flatten)]
        reader: ReaderArgs,
    },
}

/// How to read a corpus file from the command line (the config's `parser` block).
#[derive(clap::Args, Debug, Clone)]
struct ReaderArgs {
    /// Input format; by default from the extension (`.conllu[.gz]`, `.jsonl`), else CoNLL.
    #[arg(long, value_enum)]
    input_format: Option<InputFormat>,
    /// Column of the token (0-based).
    #[arg(long, default_value_t = 0)]
    token_col: usize,
    /// Column of the label (0-based); default: the last column.
    #[arg(long)]
    label_col: Option<usize>,
    /// Declared scheme: auto (detect), iob1, bio, bioes, none.
    #[arg(long, default_value = "auto")]
    scheme: String,
    /// CoNLL-U: read XPOS instead of UPOS.
    #[arg(long)]
    xpos: bool,
}

/// `--input-format`: the corpus formats polytag reads.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum InputFormat {
    /// Token-per-line columns.
    Conll,
    /// Universal Dependencies CoNLL-U.
    Conllu,
    /// JSON Lines with token and tag lists.
    Jsonl,
}

impl From<InputFormat> for polytag_data::Format {
    fn from(f: InputFormat) -> Self {
        match f {
            InputFormat::Conll => polytag_data::Format::Conll,
            InputFormat::Conllu => polytag_data::Format::Conllu,
            InputFormat::Jsonl => polytag_data::Format::Jsonl,
        }
    }
}

/// `--to`: a tag scheme, its names listed in `--help` and in clap's error; parsed by the
/// scheme's own `FromStr`, so the spellings cannot drift from the data crate's.
fn scheme_parser() -> impl clap::builder::TypedValueParser<Value = polytag_data::scheme::Scheme> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("iob1"),
        PossibleValue::new("bio").alias("iob2"),
        PossibleValue::new("bioes").alias("iobes"),
    ])
    .try_map(|s| s.parse::<polytag_data::scheme::Scheme>())
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    Text,
    Json,
}

/// Writes to stdout (flushed, so a closed pipe is seen at the write that hits it).
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.flush()
}

/// Writes to stderr; a failure is ignored (there is nowhere left to report it).
pub(crate) fn write_stderr(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Whether the error is stdout (or another pipe) closed by its reader: the command's output
/// is no longer wanted, which is not a failure of the command.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    malloc::tune();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("POLYTAG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let result = match cli.command {
        Command::Validate { config, set } => cmd::validate::run(&config, &set),
        Command::Train {
            config,
            set,
            run_dir,
            resume,
            device,
        } => cmd::train::run(&cmd::train::TrainArgs {
            config,
            set,
            run_dir,
            resume,
            device,
        }),
        Command::Eval {
            run_dir,
            file,
            task,
            predictions,
            format,
            vectors,
        } => cmd::eval::run(
            &run_dir,
            &file,
            task.as_deref(),
            predictions.as_deref(),
            format,
            &vectors,
        ),
        Command::Predict {
            run_dir,
            task,
            input,
            format,
            nbest,
            skip_bad_lines,
            vectors,
        } => cmd::predict::run(
            &run_dir,
            task.as_deref(),
            input.as_deref(),
            format,
            nbest,
            skip_bad_lines,
            &vectors,
        ),
        Command::Export {
            run_dir,
            format,
            out,
            task,
        } => cmd::export::run(&run_dir, format, &out, task.as_deref()),
        Command::Report { run_dirs, html, md } => {
            cmd::report::run(&run_dirs, html.as_deref(), md.as_deref())
        }
        Command::Bench { keys: true, .. } => cmd::bench::keys(),
        Command::Bench {
            config: None,
            keys: false,
            ..
        } => Err(anyhow::anyhow!("bench: give an experiment file or --keys")),
        Command::Bench {
            config: Some(config),
            keys: false,
            set,
            steps,
            warmup,
            decode_batch,
        } => cmd::bench::run(&cmd::bench::BenchArgs {
            config,
            set,
            steps,
            warmup,
            decode_batch: usize::try_from(decode_batch).unwrap_or(usize::MAX),
        }),
        Command::Sweep(args) => cmd::sweep::run(&args),
        Command::Data { command } => match command {
            DataCommand::Stats {
                files,
                reader,
                strict,
                format,
            } => cmd::data::stats(&files, &reader, strict, format),
            DataCommand::Convert {
                to,
                input,
                output,
                reader,
            } => cmd::data::convert(to, &input, &output, &reader),
        },
        Command::Score {
            file,
            scheme,
            strict,
            format,
        } => cmd::score::run(&file, &scheme, strict, format),
        Command::Schema => cmd::schema::run(),
        Command::Vectors { command } => cmd::vectors::run(&command),
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): the work is done or no longer wanted.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            errln!("polytag: {err}");
            for cause in err.chain().skip(1) {
                errln!("  caused by: {cause}");
            }
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
