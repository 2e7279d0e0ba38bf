//! Loading a whole experiment's corpora and vocabularies (`ExperimentData::load`), on the
//! shipped quickstart config and on small broken variants of it written to a temp dir.

// One helper for every crate whose tests read ../shared.
#[path = "../../polytag-config/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use polytag_config::{Experiment, Override};
use polytag_data::{EncodedStream, Encoder, Error, ExperimentData};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn quickstart(overrides: &[&str]) -> Experiment {
    let set: Vec<Override> = overrides
        .iter()
        .map(|o| Override::parse(o).unwrap())
        .collect();
    Experiment::load(root().join("configs/quickstart.json"), &set)
        .unwrap()
        .experiment
}

/// Counts of the shipped sample (datasets/sample/README.md, computed there with awk).
#[test]
fn quickstart_loads_every_split_and_shares_vocabularies_as_the_paper() {
    let exp = quickstart(&[]);
    let data = ExperimentData::load(&exp).unwrap();
    assert_eq!(data.datasets.len(), 4);
    for d in &data.datasets {
        assert_eq!(d.train.len(), 400);
        assert_eq!(d.dev.len(), 120);
        assert_eq!(d.test.as_ref().map(|t| t.len()), Some(120));
        assert!(d.label_problems.is_empty(), "{:?}", d.label_problems);
    }
    // One label vocabulary per task type; NER converted to BIOES: O + B/I/E/S × 4 types.
    assert_eq!(data.labels.len(), 2);
    assert_eq!(data.labels["ner"].len(), 17);
    assert_eq!(data.labels["ner"].labels()[0], "O");
    // One word vocabulary per embedding component, PAD and UNK first.
    assert_eq!(data.words.len(), 2);
    for vocab in data.words.values() {
        assert!(vocab.len() > 100);
    }
    assert!(data.chars.len() > 30);
    // Detected/declared schemes: NER declared bio, POS none.
    let ner = exp.datasets.iter().position(|d| d.task == "ner").unwrap();
    let pos = exp.datasets.iter().position(|d| d.task == "pos").unwrap();
    assert_eq!(
        data.datasets[ner].scheme,
        Some(polytag_data::scheme::Scheme::Bio)
    );
    assert_eq!(data.datasets[pos].scheme, None);
}

#[test]
fn sampling_keeps_the_requested_count_and_is_seeded() {
    let exp = quickstart(&["datasets.nld_ner.sample=50"]);
    let a = ExperimentData::load(&exp).unwrap();
    let b = ExperimentData::load(&exp).unwrap();
    let d = exp
        .datasets
        .iter()
        .position(|d| d.name == "nld_ner")
        .unwrap();
    assert_eq!(a.datasets[d].train.len(), 50);
    assert_eq!(a.datasets[d].train_total, 400);
    assert_eq!(a.datasets[d].train.sentences, b.datasets[d].train.sentences);
}

/// `sample: {"first": N}` keeps the first N training sentences of the file, whatever the seed
/// (the benchmark's "first 2,000 sentences"); dev stays whole.
#[test]
fn sample_first_keeps_the_files_first_sentences() {
    let all = ExperimentData::load(&quickstart(&[])).unwrap();
    let first = |seed: &str| {
        let exp = quickstart(&[r#"datasets.nld_ner.sample={"first": 30}"#, seed]);
        let d = exp
            .datasets
            .iter()
            .position(|d| d.name == "nld_ner")
            .unwrap();
        (ExperimentData::load(&exp).unwrap(), d)
    };
    let (a, d) = first("seed=1");
    let (b, _) = first("seed=2");
    assert_eq!(a.datasets[d].train.len(), 30);
    assert_eq!(a.datasets[d].train_total, 400);
    assert_eq!(
        a.datasets[d].train.sentences,
        all.datasets[d].train.sentences[..30]
    );
    assert_eq!(a.datasets[d].train.sentences, b.datasets[d].train.sentences);
    assert_eq!(a.datasets[d].dev.len(), all.datasets[d].dev.len());
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn one_task_config(dir: &Path, train: &str, dev: &str) -> Experiment {
    let train = write(dir, "train.conll", train);
    let dev = write(dir, "dev.conll", dev);
    let cfg = format!(
        r#"{{"datasets": [{{"name": "d", "language": "x", "task": "ner",
              "files": {{"train": "{}", "dev": "{}"}}}}],
            "components": [{{"name": "emb", "model": "embedding", "dimension": 8}},
                           {{"name": "lstm", "model": "lstm", "hidden_size": 4}},
                           {{"name": "out", "model": "linear"}},
                           {{"name": "crf", "model": "crf"}}],
            "tasks": [{{"name": "t", "dataset": "d", "ref": true,
                        "model": {{"model": "lstm_crf", "word_embed": "emb", "lstm": "lstm",
                                  "univ_layer": "out", "crf": "crf"}}}}]}}"#,
        train.display(),
        dev.display()
    );
    let path = write(dir, "exp.json", &cfg);
    Experiment::load(&path, &[]).unwrap().experiment
}

#[test]
fn an_empty_training_split_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let exp = one_task_config(dir.path(), "\n\n", "a O\n");
    let err = ExperimentData::load(&exp).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(matches!(err.0[0].error, Error::EmptyTrain { .. }));
    let msg = err.to_string();
    assert!(msg.starts_with("datasets[0].files.train: "), "{msg}");
    assert!(
        msg.ends_with("train.conll: the training split is empty"),
        "{msg}"
    );
}

#[test]
fn a_dev_label_unseen_in_train_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let exp = one_task_config(dir.path(), "a B-PER\nb O\n", "x O\n\ny O\nz B-LOC\n");
    let err = ExperimentData::load(&exp).unwrap_err();
    assert_eq!(err.0.len(), 1);
    let msg = err.to_string();
    assert!(msg.contains("datasets[0].files.dev: "), "{msg}");
    assert!(
        msg.ends_with(
            "dev.conll:4: label \"B-LOC\" (1 use(s)) is in no training split of task type \"ner\""
        ),
        "{msg}"
    );
}

#[test]
fn a_missing_file_is_reported_with_its_config_path() {
    let dir = tempfile::tempdir().unwrap();
    let exp = one_task_config(dir.path(), "a O\n", "b O\n");
    std::fs::remove_file(dir.path().join("dev.conll")).unwrap();
    let err = ExperimentData::load(&exp).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("datasets[0].files.dev: cannot read "),
        "{msg}"
    );
}

/// A three-token PER in dev is `B-PER I-PER E-PER` in BIOES; training saw only `S-PER`. The
/// label set has every BIOES prefix of every type seen in training, so this loads.
#[test]
fn every_bioes_prefix_of_a_training_type_is_a_label() {
    let dir = tempfile::tempdir().unwrap();
    let exp = one_task_config(dir.path(), "a B-PER\nb O\n", "x B-PER\ny I-PER\nz I-PER\n");
    let data = ExperimentData::load(&exp).unwrap();
    assert_eq!(data.labels["ner"].len(), 5);
    assert_eq!(
        data.datasets[0].dev.sentences[0].labels,
        ["B-PER", "I-PER", "E-PER"]
    );
}

/// A one-task config whose dev split is held out of `train` (`dev_split`), with extra
/// dataset keys such as `"sample": 10`.
fn split_config(dir: &Path, train: &str, dataset_keys: &str) -> Experiment {
    let train = write(dir, "train.conll", train);
    let cfg = format!(
        r#"{{"seed": 5,
            "datasets": [{{"name": "d", "language": "x", "task": "ner", {dataset_keys}
              "files": {{"train": "{}"}}}}],
            "components": [{{"name": "emb", "model": "embedding", "dimension": 8}},
                           {{"name": "lstm", "model": "lstm", "hidden_size": 4}},
                           {{"name": "out", "model": "linear"}},
                           {{"name": "crf", "model": "crf"}}],
            "tasks": [{{"name": "t", "dataset": "d", "ref": true,
                        "model": {{"model": "lstm_crf", "word_embed": "emb", "lstm": "lstm",
                                  "univ_layer": "out", "crf": "crf"}}}}]}}"#,
        train.display()
    );
    let path = write(dir, "exp.json", &cfg);
    Experiment::load(&path, &[]).unwrap().experiment
}

/// `n` two-token sentences, sentence `i` = `w{i} O` / `x{i} B-PER`, so every sentence has
/// every label (no dev label is ever unseen in train) and the first token names it.
fn numbered(n: usize) -> String {
    (0..n).map(|i| format!("w{i} O\nx{i} B-PER\n\n")).collect()
}

fn first_tokens(corpus: &polytag_data::Corpus) -> Vec<usize> {
    corpus
        .sentences
        .iter()
        .map(|s| s.tokens[0][1..].parse().unwrap())
        .collect()
}

#[test]
fn dev_split_holds_out_a_seeded_fraction_of_train_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let exp = split_config(dir.path(), &numbered(20), r#""dev_split": 0.25,"#);
    let a = ExperimentData::load(&exp).unwrap();
    let d = &a.datasets[0];
    // 0.25 × 20 = 5 held out, 15 left; nothing sampled away.
    assert_eq!((d.dev.len(), d.train.len(), d.train_total), (5, 15, 15));
    let (dev, train) = (first_tokens(&d.dev), first_tokens(&d.train));
    // Disjoint, together the whole file, each in file order.
    let mut all: Vec<usize> = dev.iter().chain(&train).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..20).collect::<Vec<_>>());
    assert!(dev.windows(2).all(|w| w[0] < w[1]), "{dev:?}");
    assert!(train.windows(2).all(|w| w[0] < w[1]), "{train:?}");
    // Dev points into the training file: its path, and each sentence's line there
    // (sentence i starts on line 3i + 1).
    assert_eq!(d.dev.path, exp.datasets[0].files.train);
    for s in &d.dev.sentences {
        let i: usize = s.tokens[0][1..].parse().unwrap();
        assert_eq!(s.line, 3 * i + 1);
    }
    // Deterministic for one seed, another seed holds out other sentences.
    let b = ExperimentData::load(&exp).unwrap();
    assert_eq!(first_tokens(&b.datasets[0].dev), dev);
    let dir2 = tempfile::tempdir().unwrap();
    let other = split_config(
        dir2.path(),
        &numbered(20),
        r#""dev_split": 0.25, "sample_seed": 6,"#,
    );
    let c = ExperimentData::load(&other).unwrap();
    assert_eq!(c.datasets[0].dev.len(), 5);
    assert_ne!(first_tokens(&c.datasets[0].dev), dev);
}

#[test]
fn dev_split_is_taken_before_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let whole = split_config(dir.path(), &numbered(40), r#""dev_split": 0.1,"#);
    let dir2 = tempfile::tempdir().unwrap();
    let sampled = split_config(
        dir2.path(),
        &numbered(40),
        r#""dev_split": 0.1, "sample": 10,"#,
    );
    let whole = ExperimentData::load(&whole).unwrap();
    let sampled = ExperimentData::load(&sampled).unwrap();
    let (w, s) = (&whole.datasets[0], &sampled.datasets[0]);
    // The same 4 dev sentences whatever the sample; the sample draws from the other 36.
    assert_eq!(first_tokens(&w.dev), first_tokens(&s.dev));
    assert_eq!((s.dev.len(), s.train.len(), s.train_total), (4, 10, 36));
    let dev = first_tokens(&s.dev);
    assert!(first_tokens(&s.train).iter().all(|i| !dev.contains(i)));
}

#[test]
fn dev_split_count_rounds_to_nearest_and_keeps_one() {
    use polytag_data::experiment::dev_split_count;
    assert_eq!(dev_split_count(9466, 0.1), 947); // 946.6 (ner-uk v1 train)
    assert_eq!(dev_split_count(20, 0.25), 5);
    assert_eq!(dev_split_count(10, 0.05), 1); // 0.5 rounds up
    assert_eq!(dev_split_count(3, 0.1), 1); // 0.3 rounds to 0; at least one
    assert_eq!(dev_split_count(7, 0.5), 4); // 3.5 rounds up
    assert_eq!(dev_split_count(1, 0.5), 1);
    assert_eq!(dev_split_count(0, 0.5), 0);
}

#[test]
fn dev_split_of_a_one_sentence_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let exp = split_config(dir.path(), "a O\n", r#""dev_split": 0.1,"#);
    let err = ExperimentData::load(&exp).unwrap_err();
    assert_eq!(err.0.len(), 1);
    let msg = err.to_string();
    assert!(msg.starts_with("datasets[0].dev_split: "), "{msg}");
    assert!(
        msg.ends_with("train.conll: the training split is empty"),
        "{msg}"
    );
    let exp = split_config(dir.path(), "\n", r#""dev_split": 0.1,"#);
    let msg = ExperimentData::load(&exp).unwrap_err().to_string();
    assert!(msg.starts_with("datasets[0].files.train: "), "{msg}");
}

fn shared_options() -> Option<polytag_config::ResolveOptions> {
    let shared = common::shared("datasets/conll2003-en/train.conll")?
        .parent()?
        .parent()?
        .to_path_buf();
    Some(
        polytag_config::ResolveOptions::default().with_env(polytag_config::Env::from_pairs([(
            "POLYTAG_DATA",
            shared.to_str()?,
        )])),
    )
}

/// seed 000's corpus through its shipped config: CoNLL-2003 English with the POS column kept
/// as a feature (counts from datasets/README.md). Skipped without the corpora.
#[test]
fn seed000_reads_conll2003_with_its_pos_column() {
    let Some(options) = shared_options() else {
        return;
    };
    let path = root().join("configs/seed000/features-word-char-pos.json");
    let exp = Experiment::load_with(path, &[], &options)
        .unwrap()
        .experiment;
    let data = ExperimentData::load(&exp).unwrap();
    let d = &data.datasets[0];
    assert_eq!((d.train.len(), d.dev.len()), (14_041, 3_250));
    assert_eq!(d.test.as_ref().map(|t| t.len()), Some(3_453));
    assert_eq!(d.feature_columns, [1]);
    // One value vocabulary, for the POS component: the Penn tags of the training split.
    assert_eq!(data.features.len(), 1);
    assert_eq!(data.labels["ner"].len(), 17);
}

/// seed 003's corpus through its shipped config: ner-uk v1 train (9,466 sentences,
/// datasets/README.md) less 947 held out. Skipped when the corpora are not beside the repo.
#[test]
fn seed003_holds_out_a_tenth_of_ner_uk() {
    let Some(options) = shared_options() else {
        return;
    };
    let exp = Experiment::load_with(root().join("configs/seed003/lstm.json"), &[], &options)
        .unwrap()
        .experiment;
    let data = ExperimentData::load(&exp).unwrap();
    let d = &data.datasets[0];
    assert_eq!(
        (d.dev.len(), d.train.len(), d.train_total),
        (947, 8519, 8519)
    );
    assert_eq!(d.test.as_ref().map(|t| t.len()), Some(4396));
    // O plus BIOES × PERS, LOC, ORG, MISC.
    assert_eq!(data.labels["ner"].len(), 17);
}

/// A tagger task with two word embeddings (one lowercased) and a column feature: each of its
/// input streams is encoded through its own component's table (review D1: both embeddings
/// used to be fed the first one's ids).
#[test]
fn two_embeddings_of_one_task_each_read_their_own_ids() {
    let dir = tempfile::tempdir().unwrap();
    let train = write(
        dir.path(),
        "train.conll",
        "Paris NNP B-LOC\nis VBZ O\nnice JJ O\n\nparis NN O\nIS VBZ O\n",
    );
    let dev = write(dir.path(), "dev.conll", "PARIS NNP B-LOC\nis VBZ O\n");
    let cfg = format!(
        r#"{{"datasets": [{{"name": "d", "language": "x", "task": "ner",
              "parser": {{"format": "conll", "label_col": 2}},
              "files": {{"train": "{}", "dev": "{}"}}}}],
            "components": [{{"name": "cased", "model": "embedding", "dimension": 4}},
                           {{"name": "lower", "model": "embedding", "dimension": 3, "lowercase": true}},
                           {{"name": "pos", "model": "feature_embedding", "column": 1}},
                           {{"name": "chars", "model": "char_cnn"}},
                           {{"name": "out", "model": "linear"}},
                           {{"name": "crf", "model": "crf"}}],
            "tasks": [{{"name": "t", "dataset": "d",
                        "model": {{"model": "tagger", "features": ["cased", "lower", "pos", "chars"],
                                  "univ_layer": "out", "decoder": "crf"}}}}]}}"#,
        train.display(),
        dev.display()
    );
    let path = write(dir.path(), "exp.json", &cfg);
    let exp = Experiment::load(&path, &[]).unwrap().experiment;
    let data = ExperimentData::load(&exp).unwrap();
    let inputs = data.task_inputs(&exp, 0).unwrap();
    let encoder = Encoder {
        inputs: &inputs,
        labels: None,
    };
    let dev = encoder.encode_corpus(&data.datasets[0].dev).unwrap();
    let (cased, lower) = (&data.words[&0], &data.words[&1]);
    // "PARIS" is unknown to the cased table (no case fallback finds "Paris" or "paris"
    // upper-cased), known to the lowercased one as "paris"; "is" is in both.
    assert_eq!(
        dev[0].streams[0],
        EncodedStream::Tokens(vec![cased.id("PARIS"), cased.id("is")])
    );
    assert_eq!(
        dev[0].streams[1],
        EncodedStream::Tokens(vec![lower.id("paris"), lower.id("is")])
    );
    assert_ne!(lower.id("paris"), polytag_data::vocab::UNK);
    assert_ne!(cased.len(), lower.len(), "the two vocabularies differ");
    let pos = &data.features[&2];
    assert_eq!(
        dev[0].streams[2],
        EncodedStream::Tokens(vec![pos.id("NNP"), pos.id("VBZ")])
    );
    assert!(matches!(dev[0].streams[3], EncodedStream::Chars { .. }));
}
