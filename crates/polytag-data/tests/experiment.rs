//! Loading a whole experiment's corpora and vocabularies (`ExperimentData::load`), on the
//! shipped quickstart config and on small broken variants of it written to a temp dir.

use std::path::{Path, PathBuf};

use polytag_config::{Experiment, Override};
use polytag_data::{Error, ExperimentData};

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
