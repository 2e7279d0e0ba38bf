//! `polytag validate`: the shipped configs, and one test per kind of bad experiment file.

use crate::*;

/// A valid one-task experiment over two small files in `dir`; `patch` edits the JSON text.
fn experiment(dir: &std::path::Path, patch: impl Fn(String) -> String) -> std::path::PathBuf {
    write(dir, "train.conll", "EU B-ORG\nrejects O\n\nPeter B-PER\n");
    write(dir, "dev.conll", "Paris B-LOC\n");
    write(dir, "vec.txt", "EU 0.1 0.2 0.3\nrejects 0.1 0.2\n");
    let json = r#"{
  "datasets": [{"name": "d", "language": "eng", "task": "ner",
                "files": {"train": "train.conll", "dev": "dev.conll"}}],
  "components": [
    {"name": "emb", "model": "embedding", "dimension": 3},
    {"name": "lstm", "model": "lstm", "hidden_size": 4},
    {"name": "out", "model": "linear"},
    {"name": "crf", "model": "crf"}
  ],
  "tasks": [{"name": "t", "dataset": "d", "ref": true,
             "model": {"model": "lstm_crf", "word_embed": "emb", "lstm": "lstm",
                       "univ_layer": "out", "crf": "crf"}}]
}"#;
    write(dir, "exp.json", patch(json.to_string()))
}

fn validate(dir: &std::path::Path) -> std::process::Output {
    polytag(dir, &["validate", "exp.json"])
}

#[test]
fn invalid_json_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| {
        j.replacen("\"ref\": true", "\"ref\": true,,", 1)
    });
    assert_fails_with(
        &validate(dir.path()),
        "polytag: exp.json:10:55: invalid JSON",
    );
}

#[test]
fn an_unknown_key_suggests_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| {
        j.replace("\"hidden_size\"", "\"hiden_size\"")
    });
    assert_fails_with(&validate(dir.path()), "did you mean \"hidden_size\"");
}

#[test]
fn duplicate_component_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| {
        j.replace("\"name\": \"out\"", "\"name\": \"emb\"")
    });
    assert_fails_with(&validate(dir.path()), "duplicate");
}

#[test]
fn a_dangling_reference_lists_the_known_names() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| {
        j.replace("\"crf\": \"crf\"", "\"crf\": \"nercrf\"")
    });
    assert_fails_with(
        &validate(dir.path()),
        "tasks[0].model.crf: no component named \"nercrf\"; known: crf",
    );
}

#[test]
fn a_component_of_the_wrong_kind_for_its_slot_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| {
        j.replace("\"crf\": \"crf\"", "\"crf\": \"lstm\"")
    });
    assert_fails_with(&validate(dir.path()), "tasks[0].model.crf");
}

#[test]
fn a_missing_data_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| j.replace("dev.conll", "nodev.conll"));
    assert_fails_with(&validate(dir.path()), "nodev.conll");
}

#[test]
fn an_empty_training_split_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| j);
    write(dir.path(), "train.conll", "\n");
    assert_fails_with(&validate(dir.path()), "the training split is empty");
}

#[test]
fn a_sample_fraction_out_of_range_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| {
        j.replace("\"task\": \"ner\",", "\"task\": \"ner\", \"sample\": 1.5,")
    });
    assert_fails_with(&validate(dir.path()), "datasets[0].sample");
    experiment(dir.path(), |j| {
        j.replace("\"task\": \"ner\",", "\"task\": \"ner\", \"sample\": 0,")
    });
    assert_fails_with(&validate(dir.path()), "datasets[0].sample");
}

#[test]
fn an_embedding_line_with_the_wrong_dimension_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| {
        j.replace(
            "\"dimension\": 3}",
            "\"dimension\": 3, \"file\": \"vec.txt\"}",
        )
    });
    assert_fails_with(
        &validate(dir.path()),
        "vec.txt:2: expected 3 values, found 2",
    );
}

#[test]
fn a_bad_override_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path(), |j| j);
    let o = polytag(
        dir.path(),
        &["validate", "exp.json", "--set", "tasks.9.learning_rate=1"],
    );
    assert_fails_with(&o, "tasks.9");
}

#[test]
fn the_quickstart_validates_and_prints_the_model_summary() {
    let o = polytag(&root(), &["validate", "configs/quickstart.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("tasks (4; target: Dutch NER)"), "{out}");
    assert!(out.contains("nld_ner"), "{out}");
    assert!(out.contains("400 sent"), "{out}");
    assert!(out.to_lowercase().contains("total"), "{out}");
}

#[test]
fn every_shipped_config_resolves() {
    // ${POLYTAG_MODELS}: the transformer configs' model folders, each the tiny BERT fixture.
    let models = tempfile::tempdir().unwrap();
    for name in [
        "bert-base-multilingual-cased",
        "bert-base-cased",
        "all-MiniLM-L6-v2",
    ] {
        crate::transformer::copy_dir(&crate::transformer::fixture(), &models.path().join(name));
    }
    for entry in walk(&root().join("configs")) {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_polytag"))
            .args([
                "validate",
                entry.to_str().unwrap(),
                "--set",
                "training.max_step=1",
            ])
            .current_dir(root())
            .env_remove("POLYTAG_LOG")
            .env("POLYTAG_MODELS", models.path())
            .output()
            .expect("the polytag binary runs");
        let err = stderr(&o);
        // Real-corpus configs name ${POLYTAG_DATA} files that CI may not have, and
        // seed000-pretrained/ ${POLYTAG_VECTORS} tables built by scripts/seed000-tables: only
        // missing-file and unset-variable problems are acceptable there.
        if !o.status.success() {
            for line in err
                .lines()
                .filter(|l| l.starts_with("polytag: ") && !l.contains("problem(s) found"))
            {
                assert!(
                    line.contains("POLYTAG_DATA")
                        || line.contains("POLYTAG_VECTORS")
                        || line.contains("does not exist")
                        || line.contains("no such file")
                        || line.contains("missing"),
                    "{}: {line}",
                    entry.display()
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}
