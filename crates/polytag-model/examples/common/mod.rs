//! Shared by the benchmark examples: the paper's model (seed-systems A.9 sizes) and its
//! workload, either sentences read from a CoNLL file (`--file`) or synthetic ones of
//! CoNLL-2003-like lengths.
#![allow(dead_code, clippy::print_stdout)]

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use burn::tensor::{Int, Tensor};
use polytag_data::{
    read_conll, Batch, BatchOptions, BatchStream, ColumnOptions, EncodedSentence, EncodedStream,
};
use polytag_model::char_cnn::CharCnn;
use polytag_model::char_cnn::CharCnnConfig;
use polytag_model::component::Component;
use polytag_model::component::ComponentConfig;
use polytag_model::crf::Crf;
use polytag_model::crf::CrfConfig;
use polytag_model::highway::Highway;
use polytag_model::highway::HighwayConfig;
use polytag_model::linear::OutputLayerConfig;
use polytag_model::rnn::Recurrent;
use polytag_model::rnn::{Cell, RecurrentConfig};
use polytag_model::tagger::{FeatureSlot, NamedComponent, Slot, TaskWiring};
use polytag_model::{InputStream, TaskInput};
use polytag_model::{Model, ModelConfig, TokenEmbedding, TokenEmbeddingConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Word table rows (ids are folded into it).
pub const VOCAB: usize = 20_000;
/// Char table rows.
pub const CHARS: usize = 100;
/// CoNLL-2003 NER in BIOES: 4 types × 4 + O.
pub const LABELS: usize = 17;

/// Word emb 50 + char CNN 50 [[2,20],[3,20],[4,20]] + highway 2 (SELU) → BiLSTM 171 →
/// universal/specific gated output → CRF.
pub fn paper_config() -> ModelConfig {
    let comps = [
        (
            "word",
            ComponentConfig::Embedding {
                config: TokenEmbeddingConfig::new(VOCAB, 50),
                pretrained: None,
            },
        ),
        (
            "char",
            ComponentConfig::CharCnn(CharCnnConfig::new(
                CHARS,
                50,
                vec![(2, 20), (3, 20), (4, 20)],
            )),
        ),
        ("highway", ComponentConfig::Highway(HighwayConfig::new(60))),
        (
            "lstm",
            ComponentConfig::Recurrent(
                RecurrentConfig::new(110, 171, Cell::Lstm).with_forget_bias(1.0),
            ),
        ),
        (
            "univ",
            ComponentConfig::Linear(OutputLayerConfig::new(342, LABELS)),
        ),
        (
            "spec",
            ComponentConfig::Linear(OutputLayerConfig::new(342, LABELS)),
        ),
        (
            "crf",
            ComponentConfig::Crf {
                config: CrfConfig::new(LABELS),
                constraints: None,
            },
        ),
    ];
    let slot = |c: usize| Slot {
        component: c,
        path: format!("tasks[0].{c}"),
    };
    ModelConfig {
        components: comps
            .into_iter()
            .enumerate()
            .map(|(i, (n, c))| NamedComponent {
                name: n.into(),
                path: format!("components[{i}]"),
                config: c,
            })
            .collect(),
        tasks: vec![TaskWiring {
            name: "ner".into(),
            path: "tasks[0]".into(),
            num_labels: LABELS,
            features: vec![
                FeatureSlot {
                    slot: slot(0),
                    highway: None,
                },
                FeatureSlot {
                    slot: slot(1),
                    highway: Some(slot(2)),
                },
            ],
            encoders: vec![slot(3)],
            universal: Some(slot(4)),
            specific: Some(slot(5)),
            decoder: slot(6),
            feature_dropout: 0.0,
            encoder_dropout: 0.6,
            linear_dropout: 0.0,
        }],
    }
}

/// Batch shapes as polytag's decode path uses them for the paper's char CNN.
pub fn batch_options() -> BatchOptions {
    BatchOptions {
        min_char_len: 4,
        max_char_len: None,
    }
}

/// The first `limit` sentences of a CoNLL file (token in column 0, label in the last),
/// encoded with ids folded into the tables above, or, without a file, `synthetic` random
/// sentences of 4..=40 tokens (mean ≈ 22) of 1..=12 chars.
pub fn sentences(
    file: Option<&str>,
    limit: usize,
    synthetic: usize,
) -> Result<Vec<EncodedSentence>, Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(1);
    let Some(file) = file else {
        return Ok((0..synthetic)
            .map(|_| {
                let n = rng.random_range(4..=40);
                let mut s = Encoded::default();
                for _ in 0..n {
                    s.words.push(rng.random_range(2..VOCAB as u32));
                    s.labels.push(rng.random_range(0..LABELS as u32));
                    for _ in 0..rng.random_range(1..=12) {
                        s.chars.push(rng.random_range(2..CHARS as u32));
                    }
                    s.offsets.push(s.chars.len() as u32);
                }
                s.done()
            })
            .collect());
    };
    let path = Path::new(file);
    // CoNLL-2003 has 4 columns, the label last
    let opts = ColumnOptions {
        label_col: 3,
        ..ColumnOptions::default()
    };
    let corpus = read_conll(BufReader::new(File::open(path)?), path, &opts)?;
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut char_ids: HashMap<char, u32> = HashMap::new();
    let mut label_ids: HashMap<String, u32> = HashMap::new();
    Ok(corpus
        .sentences
        .iter()
        .take(limit)
        .map(|s| {
            let mut e = Encoded::default();
            for (tok, lab) in s.tokens.iter().zip(&s.labels) {
                let n = ids.len();
                e.words
                    .push(*ids.entry(tok.to_lowercase()).or_insert(fold(n, VOCAB)));
                let n = label_ids.len();
                e.labels
                    .push(*label_ids.entry(lab.clone()).or_insert((n % LABELS) as u32));
                for c in tok.chars() {
                    let n = char_ids.len();
                    e.chars.push(*char_ids.entry(c).or_insert(fold(n, CHARS)));
                }
                e.offsets.push(e.chars.len() as u32);
            }
            e.done()
        })
        .collect())
}

/// A sentence's ids while they are collected: the paper model's two streams (words for the
/// embedding, characters for the char CNN).
struct Encoded {
    words: Vec<u32>,
    chars: Vec<u32>,
    offsets: Vec<u32>,
    labels: Vec<u32>,
}

impl Default for Encoded {
    fn default() -> Self {
        Encoded {
            words: Vec::new(),
            chars: Vec::new(),
            offsets: vec![0],
            labels: Vec::new(),
        }
    }
}

impl Encoded {
    fn done(self) -> EncodedSentence {
        EncodedSentence {
            len: self.words.len(),
            streams: vec![
                EncodedStream::Tokens(self.words),
                EncodedStream::Chars {
                    ids: self.chars,
                    offsets: self.offsets,
                },
            ],
            labels: self.labels,
        }
    }
}

/// `rows[i]` for `i` in `indices`, padded.
pub fn batch(rows: &[EncodedSentence], indices: &[usize]) -> Batch {
    Batch::build(rows, indices, &batch_options())
}

/// Id `2 + n` folded into a table of `max` rows (0 and 1 are PAD and UNK).
fn fold(n: usize, max: usize) -> u32 {
    2 + (n % (max - 2)) as u32
}

/// Median of a sample (upper median for even counts).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `--name value` from the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Median wall time in ms of `reps` calls of `f`, after one untimed warm-up call.
pub fn time<R>(reps: usize, mut f: impl FnMut() -> R) -> f64 {
    let mut v = Vec::new();
    for _ in 0..reps + 1 {
        let t0 = std::time::Instant::now();
        std::hint::black_box(f());
        v.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    v.remove(0);
    median(v)
}

/// The pieces of [`paper_config`]'s model, by their positions in it.
pub type PaperParts<'a> = (
    &'a TokenEmbedding,
    &'a CharCnn,
    &'a Highway,
    &'a Recurrent,
    &'a Crf,
);

/// Takes [`paper_config`]'s model apart: word embedding, char CNN, highway, BiLSTM, CRF.
pub fn paper_parts(model: &Model) -> Result<PaperParts<'_>, Box<dyn std::error::Error>> {
    let c = &model.components;
    match (&c[0], &c[1], &c[2], &c[3], &c[6]) {
        (
            Component::Embedding(emb),
            Component::CharCnn(cnn),
            Component::Highway(hw),
            Component::Recurrent(rnn),
            Component::Crf(crf),
        ) => Ok((emb, cnn, hw, rnn, crf)),
        _ => Err("unexpected components".into()),
    }
}

/// The word ids of a paper-model input (stream 0).
pub fn words(input: &TaskInput) -> Tensor<2, Int> {
    match &input.streams[0] {
        InputStream::Tokens(ids) => ids.clone(),
        InputStream::Chars(_) | InputStream::Subwords(_) => {
            panic!("the paper model's stream 0 holds words")
        }
    }
}

/// The char ids of a paper-model input (stream 1).
pub fn chars(input: &TaskInput) -> Tensor<3, Int> {
    match &input.streams[1] {
        InputStream::Chars(ids) => ids.clone(),
        InputStream::Tokens(_) | InputStream::Subwords(_) => {
            panic!("the paper model's stream 1 holds chars")
        }
    }
}

/// `L` of a paper-model batch (its char stream's width).
pub fn max_chars(b: &Batch) -> usize {
    b.streams
        .iter()
        .find_map(|s| match s {
            BatchStream::Chars { max_chars, .. } => Some(*max_chars),
            BatchStream::Tokens(_) | BatchStream::Subwords(_) => None,
        })
        .unwrap_or(0)
}
