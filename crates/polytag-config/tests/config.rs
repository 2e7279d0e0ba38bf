//! End-to-end tests of polytag-config through its public API: the paper's experiment shape,
//! every bad-input message, overrides, paths, the round trip, and the shipped configs.

mod common;

use std::path::{Path, PathBuf};

use polytag_config::{
    Batching, ComponentKind, ConfigErrors, DeviceKind, Env, Experiment, Format, LrSchedule,
    Optimizer, Override, RawExperiment, ResolveOptions, Resolved, Sample, SchemeChoice, TaskModel,
};
use serde_json::{json, Value};

/// The shape of the paper's example config (seed-systems A.4), written for this test: four
/// datasets and tasks (Dutch/English × NER/POS), per-language word embeddings, a global char
/// CNN + highway + BiLSTM, universal and language-specific linears, one CRF per task type, and
/// the keys the paper writes but never reads.
fn paper() -> Value {
    let dataset = |name: &str, lang: &str, task: &str, tok: usize, lab: usize, stem: &str| {
        json!({
            "name": name, "language": lang, "type": "sequence", "task": task,
            "parser": {"format": "conll", "token_col": tok, "label_col": lab},
            "batch_size": 19,
            "files": {
                "train": format!("/missing/{stem}.train"),
                "dev": format!("/missing/{stem}.dev"),
                "test": format!("/missing/{stem}.test")
            }
        })
    };
    let task = |name: &str, lang: &str, kind: &str, spec: &str, prob: f64| {
        json!({
            "name": name, "language": lang, "task": kind,
            "model": {
                "model": "lstm_crf", "word_embed": format!("{lang}_word_embed"), "char_embed": "char_embed",
                "crf": format!("{kind}_crf"), "lstm": "lstm", "univ_layer": format!("{kind}_univ_linear"),
                "spec_layer": spec, "embed_dropout": 0.0, "lstm_dropout": 0.6, "linear_dropout": 0.0,
                "use_char_embedding": true, "char_highway": "char_highway"
            },
            "dataset": format!("{lang}_{kind}"), "learning_rate": 0.02, "decay_rate": 0.9,
            "decay_step": 10000, "prob": prob, "gpu": true
        })
    };
    let embed = |lang: &str| {
        json!({
            "name": format!("{lang}_word_embed"), "model": "embedding", "language": lang,
            "file": format!("/missing/{lang}wiki.cbow.50d.txt"), "stats": true, "padding": 2,
            "trainable": true, "allow_gpu": false, "dimension": 50, "padding_idx": 0, "sparse": true
        })
    };
    let linear = |name: &str| json!({"name": name, "model": "linear", "position": "output"});
    let mut value = json!({
        "training": {"eval_freq": 1000, "max_step": 50000, "gpu": true},
        "datasets": [
            dataset("nld_ner", "nld", "ner", 0, 1, "ned"),
            dataset("nld_pos", "nld", "pos", 1, 3, "nl-ud"),
            dataset("eng_ner", "eng", "ner", 0, 1, "eng"),
            dataset("eng_pos", "eng", "pos", 1, 3, "en-ud")
        ],
        "tasks": [
            task("Dutch NER", "nld", "ner", "ner_nld_linear", 1.0),
            task("Dutch POS", "nld", "pos", "pos_nld_linear", 0.1),
            task("English NER", "eng", "ner", "ner_eng_linear", 1.0),
            task("English POS", "eng", "pos", "pos_eng_linear", 0.1)
        ],
        "components": [
            embed("eng"), embed("nld"),
            {"name": "char_embed", "model": "char_cnn", "dimension": 50, "filters": [[2, 20], [3, 20], [4, 20]]},
            {"name": "lstm", "model": "lstm", "hidden_size": 171, "bidirectional": true, "forget_bias": 1.0,
             "batch_first": true, "dropout": 0.0},
            {"name": "ner_crf", "model": "crf"},
            {"name": "pos_crf", "model": "crf"},
            linear("ner_univ_linear"), linear("ner_eng_linear"), linear("ner_nld_linear"),
            linear("pos_univ_linear"), linear("pos_eng_linear"), linear("pos_nld_linear"),
            {"name": "char_highway", "model": "highway", "position": "char", "num_layers": 2, "activation": "selu"}
        ]
    });
    value["datasets"][0]["sample"] = json!(200);
    value["tasks"][0]["ref"] = json!(true);
    value
}

fn options() -> ResolveOptions {
    ResolveOptions::default()
        .without_file_check()
        .with_base_dir("/cfg")
        .with_env(Env::from_pairs([("POLYTAG_DATA", "/data")]))
}

fn resolve_with(value: &Value, options: &ResolveOptions) -> Result<Resolved, ConfigErrors> {
    Experiment::from_json_str(&value.to_string(), &[], options)
}

fn resolve(value: &Value) -> Result<Resolved, ConfigErrors> {
    resolve_with(value, &options())
}

/// The messages of a config that must fail.
fn errors(value: &Value) -> Vec<String> {
    match resolve(value) {
        Ok(_) => panic!("expected errors"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn paper_shape_resolves_with_its_sharing() {
    let resolved = resolve(&paper()).unwrap();
    assert_eq!(resolved.warnings, []);
    let exp = resolved.experiment;
    assert_eq!(exp.training.device, DeviceKind::Auto); // "gpu": true
    assert_eq!(exp.training.max_step, 50_000);
    assert_eq!(exp.target(), 0);
    assert_eq!(exp.target_task().name, "Dutch NER");
    let c = |name: &str| exp.component_index(name).unwrap();
    // Global: char CNN, highway, BiLSTM. Per language: word embeddings. Per task type: CRF
    // and universal linear. Per task: the specific linear.
    assert_eq!(exp.tasks_using(c("lstm")), [0, 1, 2, 3]);
    assert_eq!(exp.tasks_using(c("char_embed")), [0, 1, 2, 3]);
    assert_eq!(exp.tasks_using(c("char_highway")), [0, 1, 2, 3]);
    assert_eq!(exp.tasks_using(c("nld_word_embed")), [0, 1]);
    assert_eq!(exp.tasks_using(c("eng_word_embed")), [2, 3]);
    assert_eq!(exp.tasks_using(c("ner_crf")), [0, 2]);
    assert_eq!(exp.tasks_using(c("pos_univ_linear")), [1, 3]);
    assert_eq!(exp.tasks_using(c("ner_eng_linear")), [2]);
    // Widths: word 50 + char 3 × 20 = 110 into the BiLSTM, 2 × 171 = 342 into the linears,
    // 60 into the highway.
    assert_eq!(exp.components[c("lstm")].d_input, Some(110));
    assert_eq!(exp.components[c("ner_univ_linear")].d_input, Some(342));
    assert_eq!(exp.components[c("pos_nld_linear")].d_input, Some(342));
    assert_eq!(exp.components[c("char_highway")].d_input, Some(60));
    assert_eq!(exp.components[c("lstm")].d_output(), Some(342));
    assert_eq!(exp.components[c("ner_crf")].d_input, None);

    let dutch = &exp.tasks[0];
    assert_eq!(dutch.hyper.learning_rate, 0.02);
    assert_eq!(dutch.hyper.optimizer, Optimizer::Sgd { momentum: 0.9 });
    assert_eq!(
        dutch.hyper.lr_schedule,
        LrSchedule::Exponential {
            decay_rate: 0.9,
            decay_step: 10_000
        }
    );
    assert_eq!(dutch.hyper.gradient_clipping, Some(5.0));
    let TaskModel::LstmCrf(model) = &dutch.model else {
        panic!("lstm_crf expected")
    };
    assert_eq!(model.spec_layer, Some(c("ner_nld_linear")));
    assert_eq!(model.univ_layer, Some(c("ner_univ_linear")));
    assert_eq!(model.lstm_dropout, 0.6);
    let pipeline = dutch.model.pipeline();
    assert_eq!(pipeline.features, [c("nld_word_embed"), c("char_embed")]);
    assert_eq!(pipeline.encoders, [c("lstm")]);

    let ned = &exp.datasets[0];
    assert_eq!(ned.sample, Sample::Count(200));
    assert_eq!(ned.sample_seed, 1);
    assert_eq!(ned.batch_size, 19);
    assert_eq!(
        ned.parser.format,
        Format::Conll {
            token_col: 0,
            label_col: 1,
            separator: polytag_config::Separator::Whitespace
        }
    );
    assert_eq!(ned.parser.scheme, SchemeChoice::Auto);
    assert_eq!(exp.datasets[1].sample, Sample::All);
    let ComponentKind::Lstm(lstm) = &exp.components[c("lstm")].kind else {
        panic!()
    };
    assert_eq!(
        (lstm.hidden_size, lstm.forget_bias, lstm.num_layers),
        (171, 1.0, 1)
    );
    let ComponentKind::Embedding(emb) = &exp.components[c("nld_word_embed")].kind else {
        panic!()
    };
    assert_eq!(
        emb.file.as_deref(),
        Some(Path::new("/missing/nldwiki.cbow.50d.txt"))
    );
    assert_eq!(emb.stats, Some(true));
    assert_eq!(exp.languages(), ["nld", "eng"]);
    assert_eq!(exp.task_types(), ["ner", "pos"]);
}

#[test]
fn paper_shape_with_file_check_reports_only_its_missing_files() {
    let errors = resolve_with(&paper(), &options().with_base_dir("/cfg")).map(|_| ());
    assert!(errors.is_ok());
    let strict = ResolveOptions {
        check_files: true,
        ..options()
    };
    let errors = resolve_with(&paper(), &strict).unwrap_err();
    assert!(errors.only_missing_files());
    let paths: Vec<&str> = errors.iter().filter_map(|e| e.path()).collect();
    assert_eq!(paths.len(), 14); // 4 datasets × 3 splits + 2 embedding files
    assert_eq!(paths[0], "datasets[0].files.train");
    assert_eq!(
        errors.iter().next().unwrap().to_string(),
        "datasets[0].files.train: not found: /missing/ned.train"
    );
    assert!(paths.contains(&"components[1].file"));
    // The same list from a resolved experiment.
    let exp = resolve(&paper()).unwrap().experiment;
    assert_eq!(exp.missing_files().len(), 14);
}

/// The paper's own file from ../shared (skipped when absent, as in CI): parses unchanged and
/// only its `/PATH/TO` placeholders are missing.
#[test]
fn shared_paper_example_only_misses_its_placeholders() {
    let Some(file) = common::shared("docs/paper-example-config.json") else {
        return; // CI: no ../shared
    };
    let errors = Experiment::load(&file, &[]).unwrap_err();
    assert!(errors.only_missing_files(), "{errors}");
    assert_eq!(errors.len(), 14);
    for error in &errors {
        let polytag_config::ConfigError::MissingFile { file, .. } = error else {
            unreachable!()
        };
        assert!(file.starts_with("/PATH/TO"), "{}", file.display());
    }
    let resolved =
        Experiment::load_with(&file, &[], &ResolveOptions::default().without_file_check()).unwrap();
    assert_eq!(resolved.experiment.name, "paper-example-config");
    assert_eq!(resolved.experiment.tasks.len(), 4);
}

/// Line 2 is `  "training": {"max_step": 10,},`: the `}` after the comma is character 31.
#[test]
fn invalid_json_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        "{\n  \"training\": {\"max_step\": 10,},\n  \"datasets\": []\n}\n",
    )
    .unwrap();
    let errors = Experiment::load(&file, &[]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!("{}:2:31: invalid JSON: trailing comma", file.display())
    );
}

#[test]
fn unreadable_file_is_named() {
    let errors = Experiment::load("/nonexistent/x.json", &[]).unwrap_err();
    assert!(
        errors
            .to_string()
            .starts_with("cannot read /nonexistent/x.json: "),
        "{errors}"
    );
}

#[test]
fn unknown_key_suggests_the_closest() {
    let mut v = paper();
    v["datasets"][0]["parser"]["token_colum"] = json!(0);
    v["training"]["max_stpe"] = json!(5);
    v["components"][3]["hiden_size"] = json!(5);
    v["tasks"][0]["model"]["lstm_dropuot"] = json!(0.5);
    v["tasks"][1]["zzz"] = json!(1);
    assert_eq!(
        errors(&v),
        [
            "training.max_stpe: unknown key; did you mean \"max_step\"?",
            "datasets[0].parser.token_colum: unknown key; did you mean \"token_col\"?",
            "components[3].hiden_size: unknown key; did you mean \"hidden_size\"?",
            "tasks[0].model.lstm_dropuot: unknown key; did you mean \"lstm_dropout\"?",
            "tasks[1].zzz: unknown key; expected one of: name, language, task, dataset, model, learning_rate, \
             momentum, decay_rate, decay_step, optimizer, betas, epsilon, weight_decay, \
             decay_norm_and_bias, accumulate, lr_schedule, gradient_clipping, clip_embeddings, require_eval, ref, prob, gpu",
        ]
    );
}

#[test]
fn keys_of_another_kind_are_unknown() {
    let mut v = paper();
    v["components"][4]["hidden_size"] = json!(5); // a crf
    assert_eq!(
        errors(&v),
        ["components[4].hidden_size: unknown key; expected one of: name, model, learning_rate, constraints"]
    );
}

#[test]
fn unknown_kinds_suggest() {
    let mut v = paper();
    v["components"][3]["model"] = json!("lstmm");
    v["tasks"][0]["model"]["model"] = json!("lstm-crf");
    assert_eq!(
        errors(&v),
        [
            "components[3].model: unknown component kind \"lstmm\"; did you mean \"lstm\"?",
            "tasks[0].model.model: unknown task model \"lstm-crf\"; did you mean \"lstm_crf\"?",
        ]
    );
}

#[test]
fn wrong_types_name_the_nested_key() {
    let mut v = paper();
    v["datasets"][0]["parser"]["token_col"] = json!("a");
    v["components"][2]["filters"] = json!([[2, 20], [3]]);
    v["tasks"][1]["model"]["embed_dropout"] = json!("high");
    v["tasks"][1]["learning_rate"] = json!("fast");
    v["training"]["device"] = json!("gpu");
    let got = errors(&v);
    assert_eq!(
        got,
        [
            "training.device: unknown variant `gpu`, expected one of `cpu`, `cuda`, `wgpu`, `auto`",
            "datasets[0].parser.token_col: invalid type: string \"a\", expected usize",
            "components[2].filters[1]: invalid length 1, expected a tuple of size 2",
            "tasks[1].model.embed_dropout: invalid type: string \"high\", expected f64",
            "tasks[1].learning_rate: invalid type: string \"fast\", expected f64",
        ]
    );
}

#[test]
fn missing_required_keys() {
    let mut v = paper();
    v["datasets"][1]["files"]
        .as_object_mut()
        .unwrap()
        .remove("dev");
    v["components"][5].as_object_mut().unwrap().remove("model");
    v.as_object_mut().unwrap().remove("tasks");
    assert_eq!(
        errors(&v),
        [
            "components[5]: missing field `model` (the component kind)",
            "tasks: missing",
            "datasets[1].files.dev: missing; give a dev file, or \"dev_split\" (a fraction of \
             the training file to hold out, e.g. 0.1) beside \"files\"",
        ]
    );
}

#[test]
fn duplicate_names() {
    let mut v = paper();
    v["components"][12]["name"] = json!("lstm");
    v["datasets"][3]["name"] = json!("nld_ner");
    v["tasks"][3]["name"] = json!("Dutch NER");
    let got = errors(&v);
    assert!(got.contains(
        &"datasets[3].name: duplicate dataset name \"nld_ner\" (first at datasets[0])".to_string()
    ));
    assert!(got.contains(
        &"components[12].name: duplicate component name \"lstm\" (first at components[3])"
            .to_string()
    ));
    assert!(got.contains(
        &"tasks[3].name: duplicate task name \"Dutch NER\" (first at tasks[0])".to_string()
    ));
}

#[test]
fn dangling_references_list_known_names_of_the_right_kind() {
    let mut v = paper();
    v["tasks"][1]["model"]["crf"] = json!("nercrf");
    v["tasks"][2]["dataset"] = json!("eng_nre");
    assert_eq!(
        errors(&v),
        [
            "tasks[1].model.crf: no component named \"nercrf\"; known: ner_crf, pos_crf",
            "tasks[2].dataset: no dataset named \"eng_nre\"; known: nld_ner, nld_pos, eng_ner, eng_pos",
        ]
    );
}

#[test]
fn wrong_component_kind_for_a_slot() {
    let mut v = paper();
    v["tasks"][0]["model"]["crf"] = json!("lstm");
    v["tasks"][1]["model"]["lstm"] = json!("ner_crf");
    assert_eq!(
        errors(&v),
        [
            "tasks[0].model.crf: component \"lstm\" is a lstm, expected crf",
            "tasks[1].model.lstm: component \"ner_crf\" is a crf, expected lstm, gru or rnn",
        ]
    );
}

#[test]
fn broken_component_is_not_reported_again_as_dangling() {
    let mut v = paper();
    v["components"][4]["constraints"] = json!("strict"); // ner_crf
    let got = errors(&v);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("components[4].constraints: unknown variant `strict`"),
        "{}",
        got[0]
    );
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let mut v = paper();
    v["datasets"][0]["sample"] = json!(0);
    v["datasets"][2]["parser"]["separater"] = json!("tab");
    v["components"][2]["filters"] = json!([]);
    v["tasks"][0]["model"]["crf"] = json!("nercrf");
    v["tasks"][1]["ref"] = json!(true);
    v["tasks"][3]["language"] = json!("nld");
    v["tasks"][3]["learning_rate"] = json!(-1);
    assert_eq!(
        errors(&v),
        [
            "datasets[2].parser.separater: unknown key; did you mean \"separator\"?",
            "datasets[0].sample: expected \"all\", an integer count >= 1 or a fraction in (0, 1], found 0",
            "components[2].filters: empty list; give [[width, count], ...]",
            "tasks[0].model.crf: no component named \"nercrf\"; known: ner_crf, pos_crf",
            "tasks[3].language: \"nld\" does not match dataset \"eng_pos\" (language \"eng\")",
            "tasks[3].learning_rate: expected a learning rate > 0, found -1",
            "tasks: 2 tasks have \"ref\": true (tasks[0], tasks[1]); exactly one task is the target",
        ]
    );
}

#[test]
fn sample_must_be_all_a_count_or_a_fraction() {
    let check = |sample: Value| -> Result<Sample, Vec<String>> {
        let mut v = paper();
        v["datasets"][0]["sample"] = sample;
        match resolve(&v) {
            Ok(r) => Ok(r.experiment.datasets[0].sample),
            Err(e) => Err(e.iter().map(ToString::to_string).collect()),
        }
    };
    let range = "expected \"all\", an integer count >= 1 or a fraction in (0, 1]";
    assert_eq!(
        check(json!(0)),
        Err(vec![format!("datasets[0].sample: {range}, found 0")])
    );
    assert_eq!(
        check(json!(-3)),
        Err(vec![format!("datasets[0].sample: {range}, found -3")])
    );
    assert_eq!(
        check(json!(0.0)),
        Err(vec![format!("datasets[0].sample: {range}, found 0")])
    );
    assert_eq!(
        check(json!(1.5)),
        Err(vec![format!("datasets[0].sample: {range}, found 1.5")])
    );
    assert_eq!(
        check(json!(-0.2)),
        Err(vec![format!("datasets[0].sample: {range}, found -0.2")])
    );
    assert_eq!(check(json!(1.0)), Ok(Sample::Fraction(1.0)));
    assert_eq!(check(json!(0.25)), Ok(Sample::Fraction(0.25)));
    assert_eq!(check(json!(1)), Ok(Sample::Count(1)));
    assert_eq!(check(json!("all")), Ok(Sample::All));
    assert_eq!(
        check(json!("half")),
        Err(vec![
            "datasets[0].sample: invalid value: string \"half\", expected \"all\", an integer count, a fraction or {\"first\": count}"
                .to_string()
        ])
    );
}

/// `sample: {"first": N}`: a prefix of the training file; N >= 1, the one key `first`, and
/// it survives the written form.
#[test]
fn sample_first_takes_a_prefix() {
    let check = |sample: Value| -> Result<Sample, Vec<String>> {
        let mut v = paper();
        v["datasets"][0]["sample"] = sample;
        match resolve(&v) {
            Ok(r) => Ok(r.experiment.datasets[0].sample),
            Err(e) => Err(e.iter().map(ToString::to_string).collect()),
        }
    };
    assert_eq!(check(json!({"first": 2000})), Ok(Sample::First(2000)));
    assert_eq!(
        check(json!({"first": 0})),
        Err(vec![
            "datasets[0].sample.first: expected an integer count >= 1, found 0".to_string()
        ])
    );
    let err = check(json!({"frist": 5})).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].starts_with("datasets[0].sample: unknown field `frist`, expected `first`"),
        "{err:?}"
    );
    let err = check(json!({})).unwrap_err();
    assert!(
        err[0].starts_with("datasets[0].sample: missing field `first`"),
        "{err:?}"
    );
    let err = check(json!({"first": 1.5})).unwrap_err();
    assert!(err[0].starts_with("datasets[0].sample"), "{err:?}");

    let mut v = paper();
    v["datasets"][0]["sample"] = json!({"first": 7});
    let exp = resolve(&v).unwrap().experiment;
    let written: Value = serde_json::from_str(&exp.to_json()).unwrap();
    assert_eq!(written["datasets"][0]["sample"], json!({"first": 7}));
    let again = Experiment::from_json_str(&exp.to_json(), &[], &options()).unwrap();
    assert_eq!(again.experiment.datasets[0].sample, Sample::First(7));
}

/// `dev_split` instead of `files.dev` (ner-uk has no dev file): exactly one of the two, a
/// fraction in (0, 0.5], kept through the written form.
#[test]
fn dev_split_replaces_the_dev_file() {
    let with_split = |split: Value, dev: Option<&str>| {
        let mut v = paper();
        let files = v["datasets"][1]["files"].as_object_mut().unwrap();
        match dev {
            Some(dev) => files.insert("dev".into(), json!(dev)),
            None => files.remove("dev"),
        };
        if !split.is_null() {
            v["datasets"][1]["dev_split"] = split;
        }
        v
    };
    let exp = resolve(&with_split(json!(0.1), None)).unwrap().experiment;
    let d = &exp.datasets[1];
    assert_eq!(d.dev_split, Some(0.1));
    assert_eq!(d.files.train, PathBuf::from("/missing/nl-ud.train"));
    assert_eq!(d.files.dev, d.files.train);
    assert_eq!(exp.datasets[0].dev_split, None);
    // The dev split is the training file: only `files.train` is reported missing.
    let missing: Vec<String> = exp.missing_files().iter().map(|e| e.to_string()).collect();
    assert!(missing.contains(&"datasets[1].files.train: not found: /missing/nl-ud.train".into()));
    assert!(!missing
        .iter()
        .any(|m| m.starts_with("datasets[1].files.dev")));
    // Written back as `dev_split` without `files.dev`, and read back the same.
    let raw = exp.to_raw();
    assert_eq!(raw.datasets[1].dev_split, Some(0.1));
    assert_eq!(raw.datasets[1].files.dev, None);
    let text = exp.to_json();
    assert!(text.contains("\"dev_split\": 0.1"), "{text}");
    let again =
        Experiment::from_json_str(&text, &[], &ResolveOptions::default().without_file_check())
            .unwrap();
    assert_eq!(again.experiment, exp);
    // An override can switch a dataset from a dev file to a split.
    let set = [
        Override::parse("datasets.nld_ner.files.dev=null").unwrap(),
        Override::parse("datasets.nld_ner.dev_split=0.5").unwrap(),
    ];
    let exp = Experiment::from_json_str(&paper().to_string(), &set, &options())
        .unwrap()
        .experiment;
    assert_eq!(exp.datasets[0].dev_split, Some(0.5));

    assert_eq!(
        errors(&with_split(json!(0.1), Some("x.dev"))),
        [
            "datasets[1].dev_split: given together with files.dev; give one: a dev file, or the \
          fraction of the training file to hold out"
        ]
    );
    assert_eq!(
        errors(&with_split(Value::Null, None)),
        [
            "datasets[1].files.dev: missing; give a dev file, or \"dev_split\" (a fraction of the \
          training file to hold out, e.g. 0.1) beside \"files\""
        ]
    );
    for bad in [0.0, -0.1, 0.51, 1.0] {
        assert_eq!(
            errors(&with_split(json!(bad), None)),
            [format!(
                "datasets[1].dev_split: expected a fraction in (0, 0.5], found {bad}"
            )],
            "{bad}"
        );
    }
    assert_eq!(
        errors(&with_split(json!("10%"), None)),
        ["datasets[1].dev_split: invalid type: string \"10%\", expected f64"]
    );
    let exp = resolve(&with_split(json!(0.5), None)).unwrap().experiment;
    assert_eq!(exp.datasets[1].dev_split, Some(0.5));
}

/// `batching`: `bucketed` unless the dataset says `shuffled`; written back explicitly; an
/// unknown value is an error at its config path listing the allowed values, a non-string one
/// gets serde's type message, as every enum option of the schema does.
#[test]
fn batching_defaults_to_bucketed_and_takes_shuffled() {
    let exp = resolve(&paper()).unwrap().experiment;
    assert!(exp
        .datasets
        .iter()
        .all(|d| d.batching == Batching::Bucketed));
    let written: Value = serde_json::from_str(&exp.to_json()).unwrap();
    assert_eq!(written["datasets"][0]["batching"], json!("bucketed"));

    let mut v = paper();
    v["datasets"][2]["batching"] = json!("shuffled");
    let exp = resolve(&v).unwrap().experiment;
    assert_eq!(exp.datasets[2].batching, Batching::Shuffled);
    assert_eq!(exp.datasets[0].batching, Batching::Bucketed);
    let written: Value = serde_json::from_str(&exp.to_json()).unwrap();
    assert_eq!(written["datasets"][2]["batching"], json!("shuffled"));
    let again = Experiment::from_json_str(
        &exp.to_json(),
        &[],
        &ResolveOptions::default().without_file_check(),
    )
    .unwrap();
    assert_eq!(again.experiment, exp);

    // As the benchmark is switched back: a JSON string through `--set`.
    let set = [Override::parse("datasets.eng_ner.batching=\"bucketed\"").unwrap()];
    let exp = Experiment::from_json_str(&v.to_string(), &set, &options())
        .unwrap()
        .experiment;
    assert_eq!(exp.datasets[2].batching, Batching::Bucketed);

    let mut v = paper();
    v["datasets"][1]["batching"] = json!("sorted");
    v["datasets"][3]["batching"] = json!(true);
    assert_eq!(
        errors(&v),
        [
            "datasets[1].batching: unknown variant `sorted`, expected `bucketed` or `shuffled`",
            "datasets[3].batching: invalid type: boolean `true`, expected string or map",
        ]
    );
}

#[test]
fn missing_data_file_is_reported_with_its_config_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = paper();
    for (i, d) in v["datasets"].as_array_mut().unwrap().iter_mut().enumerate() {
        for split in ["train", "dev", "test"] {
            let name = format!("{i}.{split}");
            std::fs::write(dir.path().join(&name), "").unwrap();
            d["files"][split] = json!(name);
        }
    }
    for c in v["components"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("file");
        c.as_object_mut().unwrap().remove("stats");
    }
    v["datasets"][2]["files"]["dev"] = json!("gone.conll");
    let strict = ResolveOptions::default().with_base_dir(dir.path());
    let errors = resolve_with(&v, &strict).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!(
            "datasets[2].files.dev: not found: {}",
            dir.path().join("gone.conll").display()
        )
    );
    v["datasets"][2]["files"]["dev"] = json!("2.dev");
    assert!(resolve_with(&v, &strict).is_ok());
}

#[test]
fn overrides_apply_before_validation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paper.json");
    std::fs::write(&file, paper().to_string()).unwrap();
    let set = |texts: &[&str]| {
        texts
            .iter()
            .map(|t| Override::parse(t).unwrap())
            .collect::<Vec<_>>()
    };
    let opts = ResolveOptions::default().without_file_check();
    let exp = Experiment::load_with(
        &file,
        &set(&[
            "training.max_step=200",
            "tasks.0.learning_rate=0.01",
            "tasks.English POS.optimizer=adam",
            "tasks.\"English POS\".momentum=null",
            "components.lstm.hidden_size=64",
            "datasets.nld_ner.sample=0.5",
        ]),
        &opts,
    )
    .unwrap()
    .experiment;
    assert_eq!(exp.training.max_step, 200);
    assert_eq!(exp.tasks[0].hyper.learning_rate, 0.01);
    assert!(matches!(
        exp.tasks[3].hyper.optimizer,
        Optimizer::Adam { .. }
    ));
    assert_eq!(
        exp.components[exp.component_index("ner_univ_linear").unwrap()].d_input,
        Some(128)
    );
    assert_eq!(exp.datasets[0].sample, Sample::Fraction(0.5));
    assert_eq!(exp.name, "paper");
    assert_eq!(exp.source.as_deref(), Some(file.as_path()));

    let errors = Experiment::load_with(&file, &set(&["tasks.Dutch NR.learning_rate=0.1"]), &opts)
        .unwrap_err();
    assert_eq!(
        errors.to_string(),
        "--set tasks.Dutch NR.learning_rate=0.1: tasks has no element named \"Dutch NR\"; \
         known: Dutch NER, Dutch POS, English NER, English POS"
    );
    let errors = Experiment::load_with(&file, &set(&["training.max_stpe=1"]), &opts).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "training.max_stpe: unknown key; did you mean \"max_step\"?"
    );
    assert_eq!(
        Override::parse("training").unwrap_err().to_string(),
        "--set training: expected PATH=VALUE"
    );
}

#[test]
fn round_trip_through_json_gives_an_equal_experiment() {
    let mut v = paper();
    // Exercise the other shapes too: a tagger with attention, softmax and a feature column,
    // jsonl and conllu datasets, other schedules and optimisers.
    v["components"].as_array_mut().unwrap().extend([
        json!({"name": "pos_feat", "model": "feature_embedding", "column": 1, "dimension": 8}),
        json!({"name": "att", "model": "attention", "scoring": "cosine", "heads": 2}),
        json!({"name": "gru", "model": "gru", "hidden_size": 30}),
        json!({"name": "soft", "model": "softmax", "class_weights": [1.0, 2.0]}),
        json!({"name": "mlp", "model": "linear", "hidden": 16, "activation": "relu"}),
        json!({"name": "chars", "model": "char_rnn", "cell": "gru"}),
        json!({"name": "bert", "model": "transformer", "pretrained": "${POLYTAG_DATA}/bert$$x",
               "learning_rate": 3e-5}),
    ]);
    v["datasets"].as_array_mut().unwrap().extend([
        json!({"name": "chunks", "language": "eng", "task": "chunk",
               "parser": {"token_col": 0, "label_col": 2, "separator": "tab", "scheme": "iob2"},
               "sample": 0.3, "sample_seed": 7,
               "files": {"train": "$POLYTAG_DATA/c/train.txt", "dev": "../c/dev.txt"}}),
        json!({"name": "ud", "language": "eng", "task": "upos",
               "files": {"train": "ud/train.conllu.gz", "dev": "ud/dev.conllu"}, "parser": {"label": "xpos"}}),
        json!({"name": "hf", "language": "eng", "task": "hfner",
               "parser": {"format": "jsonl", "label_names": ["O", "B-PER"]},
               "files": {"train": "hf/train.jsonl", "dev": "hf/dev.jsonl", "test": "hf/test.jsonl"}}),
    ]);
    v["tasks"].as_array_mut().unwrap().extend([
        json!({"name": "Chunks", "dataset": "chunks", "optimizer": "adamw", "lr_schedule": "cosine",
               "gradient_clipping": 0,
               "model": {"model": "tagger", "features": ["eng_word_embed", "pos_feat", "char_embed"],
                         "char_highway": "char_highway", "encoders": ["gru", "att"],
                         "univ_layer": "mlp", "decoder": "soft", "encoder_dropout": 0.1}}),
        json!({"name": "UD", "dataset": "ud", "lr_schedule": {"kind": "plateau", "threshold": 0.01,
               "threshold_mode": "abs", "cooldown": 2},
               "model": {"model": "tagger", "features": ["eng_word_embed", "chars"],
                         "spec_layer": "ud_out", "decoder": "ud_crf"}}),
        json!({"name": "HF", "dataset": "hf", "lr_schedule": {"kind": "linear", "warmup_ratio": 0.1},
               "optimizer": "adamw", "betas": [0.8, 0.9], "accumulate": 4, "decay_norm_and_bias": true,
               "model": {"model": "tagger", "features": ["bert"], "spec_layer": "soft_out", "decoder": "hf_crf"}}),
    ]);
    v["components"].as_array_mut().unwrap().extend([
        json!({"name": "soft_out", "model": "linear"}),
        json!({"name": "ud_out", "model": "linear"}),
        json!({"name": "ud_crf", "model": "crf"}),
        json!({"name": "hf_crf", "model": "crf", "constraints": "scheme"}),
    ]);
    v["training"] = json!({"max_step": 300, "device": "cpu", "schedule": {"kind": "epoch_mix", "task_discount": 0.5},
                           "patience": 3, "threads": 2, "seed": 9});
    v["output_dir"] = json!("../runs");
    let first = resolve(&v).unwrap();
    let warnings: Vec<String> = first.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings, Vec::<String>::new());
    let exp = first.experiment;
    assert_eq!(exp.seed, 9);
    assert_eq!(exp.output_dir.as_deref(), Some(Path::new("/runs")));
    let ud = &exp.datasets[5];
    assert_eq!(
        ud.parser.format,
        Format::Conllu {
            label: polytag_config::ConlluLabel::Xpos
        }
    );
    assert_eq!(ud.files.train, PathBuf::from("/cfg/ud/train.conllu.gz"));
    assert_eq!(
        exp.datasets[4].files.train,
        PathBuf::from("/data/c/train.txt")
    );
    assert_eq!(exp.datasets[4].files.dev, PathBuf::from("/c/dev.txt"));
    assert_eq!(exp.datasets[4].parser.scheme, SchemeChoice::Bio);
    assert_eq!(exp.feature_columns(4), [1]);
    assert_eq!(exp.feature_columns(0), Vec::<usize>::new());
    let att = exp.component_index("att").unwrap();
    assert_eq!(exp.components[att].d_input, Some(60)); // GRU 2 × 30
    let mlp = exp.component_index("mlp").unwrap();
    assert_eq!(exp.components[mlp].d_input, Some(60));
    let ComponentKind::Transformer(bert) =
        &exp.components[exp.component_index("bert").unwrap()].kind
    else {
        panic!()
    };
    assert_eq!(
        bert.source,
        polytag_config::TransformerSource::Pretrained(PathBuf::from("/data/bert$x"))
    );
    assert_eq!(
        exp.tasks[4].hyper.lr_schedule,
        LrSchedule::Cosine {
            t_max: 300,
            min_lr: 0.0
        }
    );
    assert_eq!(exp.tasks[4].hyper.gradient_clipping, None);
    assert_eq!(exp.tasks[4].hyper.weight_decay, 0.01);
    // AdamW leaves biases and LayerNorm undecayed by default; SGD decays all as PyTorch.
    assert!(!exp.tasks[4].hyper.decay_norm_and_bias);
    assert!(exp.tasks[0].hyper.decay_norm_and_bias);
    assert_eq!(exp.tasks[0].hyper.accumulate, 1);
    assert_eq!(exp.tasks[6].hyper.accumulate, 4);
    assert!(exp.tasks[6].hyper.decay_norm_and_bias);
    assert_eq!(
        exp.tasks[6].hyper.lr_schedule,
        LrSchedule::Linear {
            total_steps: None,
            end_factor: 0.0,
            warmup: polytag_config::Warmup::Ratio(0.1)
        }
    );
    assert_eq!(
        exp.components[exp.component_index("bert").unwrap()].learning_rate,
        Some(3e-5)
    );
    assert_eq!(exp.components[0].learning_rate, None);

    let text = exp.to_json();
    // The written form needs no environment and no base folder: paths are absolute, `$` escaped.
    let again =
        Experiment::from_json_str(&text, &[], &ResolveOptions::default().without_file_check())
            .unwrap();
    assert_eq!(again.experiment, exp);
    // And it parses as the written form on its own.
    let raw = RawExperiment::from_json_str(&text).unwrap();
    assert_eq!(raw, exp.to_raw());
    assert_eq!(serde_json::from_str::<RawExperiment>(&text).unwrap(), raw);
}

/// The fine-tuning keys: bad values name their config path.
#[test]
fn fine_tuning_keys_are_checked_where_they_are_written() {
    let mut v = paper();
    v["components"][0]["learning_rate"] = json!(0.0);
    v["components"][1]["learning_rate"] = json!("fast");
    v["tasks"][0]["accumulate"] = json!(0);
    for t in 0..2 {
        let task = v["tasks"][t].as_object_mut().unwrap();
        task.remove("decay_rate");
        task.remove("decay_step");
    }
    v["tasks"][0]["lr_schedule"] =
        json!({"kind": "linear", "warmup_steps": 5, "warmup_ratio": 0.1});
    v["tasks"][1]["lr_schedule"] =
        json!({"kind": "linear", "total_steps": 10, "warmup_steps": 10, "end_factor": 2});
    assert_eq!(
        errors(&v),
        [
            "components[1].learning_rate: expected a number, found a string",
            "components[0].learning_rate: expected a learning rate > 0, found 0",
            "tasks[0].lr_schedule.warmup_ratio: give either \"warmup_steps\" or \"warmup_ratio\", \
             not both",
            "tasks[0].accumulate: expected an integer >= 1, found 0",
            "tasks[1].lr_schedule.end_factor: expected a factor in [0, 1], found 2",
            "tasks[1].lr_schedule.warmup_steps: 10 is not below total_steps 10",
        ]
    );
}

/// `optimizer_state: "shared"` runs one optimizer, so the tasks' optimizer settings must agree.
#[test]
fn a_shared_optimizer_state_needs_equal_optimizer_settings() {
    let mut v = paper();
    v["training"]["optimizer_state"] = json!("shared");
    let exp = resolve(&v).unwrap().experiment;
    assert_eq!(
        exp.training.optimizer_state,
        polytag_config::OptimizerState::Shared
    );
    v["tasks"][1]["momentum"] = json!(0.5);
    assert_eq!(
        errors(&v),
        [
            "tasks[1].optimizer: training.optimizer_state \"shared\" runs one optimizer for all \
          tasks: its optimizer, betas, epsilon, momentum, weight_decay and decay_norm_and_bias \
          must equal those of tasks[0]"
        ]
    );
}

#[test]
fn environment_variables_expand_and_unset_ones_are_named() {
    let mut v = paper();
    v["datasets"][0]["files"]["train"] = json!("${POLYTAG_DATA}/conll2002-nl/train.conll");
    v["datasets"][0]["files"]["dev"] = json!("$POLYTAG_DATA/conll2002-nl/dev.conll");
    v["datasets"][1]["files"]["test"] = json!("${NOT_SET_ANYWHERE}/x");
    assert_eq!(
        errors(&v),
        ["datasets[1].files.test: environment variable NOT_SET_ANYWHERE is not set"]
    );
    v["datasets"][1]["files"]["test"] = json!("x");
    let exp = resolve(&v).unwrap().experiment;
    assert_eq!(
        exp.datasets[0].files.train,
        Path::new("/data/conll2002-nl/train.conll")
    );
    assert_eq!(
        exp.datasets[0].files.dev,
        Path::new("/data/conll2002-nl/dev.conll")
    );
}

#[test]
fn relative_paths_start_at_the_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("configs/sub")).unwrap();
    let file = dir.path().join("configs/sub/exp.json");
    let mut v = paper();
    v["datasets"][0]["files"]["train"] = json!("../../data/train.conll");
    v["components"][0]["file"] = json!("vec.txt");
    std::fs::write(&file, v.to_string()).unwrap();
    let exp = Experiment::load_with(&file, &[], &ResolveOptions::default().without_file_check())
        .unwrap()
        .experiment;
    assert_eq!(
        exp.datasets[0].files.train,
        dir.path().join("data/train.conll")
    );
    let ComponentKind::Embedding(emb) = &exp.components[0].kind else {
        panic!()
    };
    assert_eq!(
        emb.file.as_deref(),
        Some(dir.path().join("configs/sub/vec.txt").as_path())
    );
}

#[test]
fn exactly_one_target_task() {
    let mut v = paper();
    v["tasks"][2]["ref"] = json!(true);
    assert_eq!(
        errors(&v),
        ["tasks: 2 tasks have \"ref\": true (tasks[0], tasks[2]); exactly one task is the target"]
    );
    v["tasks"][0]["ref"] = json!(false);
    let r = resolve(&v).unwrap();
    assert_eq!(r.experiment.target(), 2);
    v["tasks"][2]["ref"] = json!(false);
    let r = resolve(&v).unwrap();
    assert_eq!(r.experiment.target(), 0);
    assert!(r.experiment.tasks[0].is_ref);
    assert_eq!(
        r.warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["tasks: no task has \"ref\": true; the first task \"Dutch NER\" is the target"]
    );
}

#[test]
fn task_language_and_type_must_match_the_dataset() {
    let mut v = paper();
    v["tasks"][1]["task"] = json!("ner");
    assert_eq!(
        errors(&v),
        ["tasks[1].task: \"ner\" does not match dataset \"nld_pos\" (task \"pos\")"]
    );
    // Absent, they are taken from the dataset.
    let mut v = paper();
    v["tasks"][1].as_object_mut().unwrap().remove("task");
    v["tasks"][1].as_object_mut().unwrap().remove("language");
    let exp = resolve(&v).unwrap().experiment;
    assert_eq!(
        (exp.tasks[1].language.as_str(), exp.tasks[1].task.as_str()),
        ("nld", "pos")
    );
}

#[test]
fn sharing_rules() {
    let mut v = paper();
    v["tasks"][2]["model"]["word_embed"] = json!("nld_word_embed");
    v["tasks"][1]["model"]["crf"] = json!("ner_crf");
    assert_eq!(
        errors(&v),
        [
            "tasks[1].model.crf: component \"ner_crf\" is shared by tasks of different task types (\"ner\" in task \
             \"Dutch NER\", \"pos\" here); its size is the label set of one task type",
            "tasks[2].model.word_embed: component \"nld_word_embed\" is for language \"nld\", but task \"English NER\" is \"eng\"",
            "tasks[2].model.word_embed: component \"nld_word_embed\" is shared by tasks of different languages \
             (\"nld\" in task \"Dutch NER\", \"eng\" here); a word embedding holds the vocabulary of one language",
        ]
    );
}

#[test]
fn widths_must_agree_across_tasks() {
    let mut v = paper();
    v["tasks"][3]["model"]["use_char_embedding"] = json!(false);
    assert_eq!(
        errors(&v),
        ["tasks[3].model.lstm: component \"lstm\" gets input width 50 here but 110 in task \"Dutch NER\""]
    );
    let mut v = paper();
    v["components"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "att", "model": "attention", "heads": 4}));
    v["tasks"][0]["model"] = json!({"model": "tagger", "features": ["nld_word_embed", "char_embed"],
        "char_highway": "char_highway", "encoders": ["att"], "univ_layer": "ner_univ_linear", "decoder": "ner_crf"});
    let got = errors(&v);
    assert_eq!(
        got,
        [
            "tasks[0].model.encoders[0]: attention gets width 110, which is not divisible by its 4 heads",
            "tasks[2].model.univ_layer: component \"ner_univ_linear\" gets input width 342 here but 110 in task \"Dutch NER\"",
        ]
    );
}

#[test]
fn options_a_kind_does_not_use_are_rejected() {
    let mut v = paper();
    v["tasks"][0]["lr_schedule"] = json!({"kind": "cosine", "gamma": 0.5});
    v["tasks"][1]["optimizer"] = json!("adam");
    v["tasks"][1]["momentum"] = json!(0.9);
    v["tasks"][2]["lr_schedule"] = json!("step");
    v["datasets"][1]["parser"]["format"] = json!("conllu");
    v["components"][0]["padding"] = json!(1);
    v["components"][3]["dropout"] = json!(0.5);
    v["components"][12]["position"] = json!("output");
    v["training"]["device"] = json!("cpu");
    assert_eq!(
        errors(&v),
        [
            "training.gpu: give either \"device\" or the paper's \"gpu\", not both",
            "datasets[1].parser.token_col: not used by format conllu; CoNLL-U has fixed columns (FORM; \"label\": \"upos\" or \"xpos\")",
            "datasets[1].parser.label_col: not used by format conllu; CoNLL-U has fixed columns (FORM; \"label\": \"upos\" or \"xpos\")",
            "components[0].padding: 1 reserved rows; polytag reserves exactly 2 (PAD = 0, UNK = 1), so only 2 is accepted",
            "components[3].dropout: applies between layers, and num_layers is 1 (use the task's dropouts instead)",
            "tasks[0].model.char_highway: highway \"char_highway\" says \"position\": \"output\" but is used on characters here",
            "tasks[0].lr_schedule.gamma: not used by lr_schedule \"cosine\"",
            "tasks[0].decay_rate: only used by lr_schedule \"exponential\", not \"cosine\"",
            "tasks[0].decay_step: only used by lr_schedule \"exponential\", not \"cosine\"",
            "tasks[1].model.char_highway: highway \"char_highway\" says \"position\": \"output\" but is used on characters here",
            "tasks[1].momentum: only used by optimizer sgd (adam has \"betas\")",
            "tasks[2].model.char_highway: highway \"char_highway\" says \"position\": \"output\" but is used on characters here",
            "tasks[2].decay_rate: only used by lr_schedule \"exponential\", not \"step\"",
            "tasks[2].decay_step: only used by lr_schedule \"exponential\", not \"step\"",
            "tasks[2].lr_schedule: \"step\" needs \"step_size\"",
            "tasks[3].model.char_highway: highway \"char_highway\" says \"position\": \"output\" but is used on characters here",
        ]
    );
}

#[test]
fn a_broken_task_model_does_not_hide_the_tasks_other_errors() {
    let mut v = paper();
    v["tasks"][0]["model"]["lstm_dropout"] = json!("x");
    v["tasks"][0]["decay_step"] = json!(-1);
    assert_eq!(
        errors(&v),
        [
            "tasks[0].model.lstm_dropout: invalid type: string \"x\", expected f64",
            "tasks[0].decay_step: invalid value: integer `-1`, expected u64",
        ]
    );
}

#[test]
fn feature_columns_are_checked_against_the_dataset() {
    let mut v = paper();
    v["components"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "pos", "model": "feature_embedding", "column": 1}));
    v["tasks"][0]["model"] = json!({"model": "tagger", "features": ["nld_word_embed", "pos"],
        "encoders": ["lstm"], "univ_layer": "ner_univ_linear", "decoder": "ner_crf"});
    let got = errors(&v);
    let expected =
        "tasks[0].model.features[1]: feature_embedding \"pos\": column 1 is the label column of dataset \"nld_ner\"";
    assert!(got.iter().any(|e| e == expected), "{got:?}");
}

#[test]
fn seed_conflict_and_defaults() {
    let mut v = paper();
    v["seed"] = json!(3);
    v["training"]["seed"] = json!(4);
    assert_eq!(
        errors(&v),
        ["training.seed: 4 differs from the top-level seed 3; give one"]
    );
    v["training"]["seed"] = json!(3);
    let exp = resolve(&v).unwrap().experiment;
    assert_eq!((exp.seed, exp.datasets[0].sample_seed), (3, 3));
    assert_eq!(exp.name, "experiment");
    assert_eq!(exp.training.checkpoint_freq, 1000);
    assert_eq!(
        exp.training.schedule.kind,
        polytag_config::ScheduleKind::SqrtSize
    );
    assert_eq!(exp.training.schedule.task_discount, 0.1);
    assert_eq!(exp.training.patience, None);
    assert_eq!(exp.training.eval_batch_size, 100);
}

#[test]
fn unused_components_and_datasets_are_warnings() {
    let mut v = paper();
    v["components"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "spare", "model": "gru"}));
    v["datasets"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "extra", "language": "eng", "task": "ner",
        "files": {"train": "a", "dev": "b"}}));
    let warnings: Vec<String> = resolve(&v)
        .unwrap()
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warnings,
        [
            "components[13]: component \"spare\" is not used by any task",
            "datasets[4]: dataset \"extra\" is not used by any task",
        ]
    );
}

/// Every config under configs/ resolves (data files are not required here), and the quickstart
/// resolves with its files checked: against the shipped sample when present, else against an
/// empty stand-in tree in a temporary folder.
#[test]
fn shipped_configs_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let configs = root.join("configs");
    let files = common::shipped_configs();
    let count = |dir: &str| {
        files
            .iter()
            .filter(|f| f.parent() == Some(&configs.join(dir)))
            .count()
    };
    assert_eq!((count("seed000"), count("seed003")), (12, 8), "{files:?}");
    assert!(files.len() >= 24, "{files:?}");
    let data = tempfile::tempdir().unwrap();
    let models = common::stand_in_models(data.path());
    let opts = ResolveOptions::default()
        .without_file_check()
        .with_env(Env::from_pairs([
            ("POLYTAG_DATA", data.path().to_str().unwrap()),
            ("POLYTAG_VECTORS", data.path().to_str().unwrap()),
            ("POLYTAG_MODELS", models.to_str().unwrap()),
        ]));
    for file in &files {
        let resolved = Experiment::load_with(file, &[], &opts)
            .unwrap_or_else(|e| panic!("{}:\n{e}", file.display()));
        assert_eq!(resolved.warnings, [], "{}", file.display());
        // What they write back resolves to the same experiment.
        let again = Experiment::from_json_str(&resolved.experiment.to_json(), &[], &opts).unwrap();
        assert_eq!(again.experiment.tasks, resolved.experiment.tasks);
    }

    // With the real corpora beside the repository (skipped in CI), every file must exist.
    if let Some(shared) = common::shared("datasets") {
        let real = ResolveOptions::default().with_env(Env::from_pairs([
            ("POLYTAG_DATA", shared.to_str().unwrap()),
            ("POLYTAG_MODELS", models.to_str().unwrap()),
        ]));
        // configs/seed000-pretrained/ reads tables that scripts/seed000-tables builds first.
        let pretrained = configs.join("seed000-pretrained");
        for file in files.iter().filter(|f| !f.starts_with(&pretrained)) {
            Experiment::load_with(file, &[], &real)
                .unwrap_or_else(|e| panic!("{}:\n{e}", file.display()));
        }
    }

    let quickstart = configs.join("quickstart.json");
    let sample = root.join("datasets/sample");
    let strict = ResolveOptions::default();
    let exp = if sample.join("eng/train.conll").exists() {
        Experiment::load_with(&quickstart, &[], &strict)
            .unwrap()
            .experiment
    } else {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("configs")).unwrap();
        let copy = tmp.path().join("configs/quickstart.json");
        std::fs::copy(&quickstart, &copy).unwrap();
        for lang in ["eng", "nld"] {
            let dir = tmp.path().join("datasets/sample").join(lang);
            std::fs::create_dir_all(&dir).unwrap();
            for split in ["train", "dev", "test"] {
                std::fs::write(dir.join(format!("{split}.conll")), "").unwrap();
            }
        }
        Experiment::load_with(&copy, &[], &strict)
            .unwrap()
            .experiment
    };
    assert_eq!(exp.tasks.len(), 4);
    assert_eq!(exp.target_task().name, "Dutch NER");
    assert!(exp
        .datasets
        .iter()
        .all(|d| d.files.train.ends_with("train.conll")));
}

fn shipped(path: &str) -> Experiment {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = ResolveOptions::default()
        .without_file_check()
        .with_env(Env::from_pairs([("POLYTAG_DATA", "/data")]));
    Experiment::load_with(root.join("configs").join(path), &[], &opts)
        .unwrap_or_else(|e| panic!("{path}:\n{e}"))
        .experiment
}

/// The seed-000 configs carry seed 000's training recipe (seed-systems B.6) and the widths of
/// its models (B.3): features 48 + 48 + 32, GRU 2 × hidden, attention on what comes in.
#[test]
fn seed000_configs_follow_the_seed() {
    use polytag_config::Scoring;
    let models = [
        ("bigru", 120, None, "softmax"),
        ("bigru-crf", 100, None, "crf"),
        ("bigru-attention", 128, Some(Scoring::ScaledDot), "softmax"),
        ("bigru-attention-crf-dot", 128, Some(Scoring::Dot), "crf"),
        (
            "bigru-attention-crf-scaled_dot",
            128,
            Some(Scoring::ScaledDot),
            "crf",
        ),
        (
            "bigru-attention-crf-cosine",
            128,
            Some(Scoring::Cosine),
            "crf",
        ),
        (
            "bigru-attention-crf-general",
            128,
            Some(Scoring::General),
            "crf",
        ),
        ("attention-crf", 0, Some(Scoring::ScaledDot), "crf"),
        ("features-word", 128, Some(Scoring::ScaledDot), "crf"),
        ("features-word-char", 128, Some(Scoring::ScaledDot), "crf"),
        ("features-word-pos", 128, Some(Scoring::ScaledDot), "crf"),
        (
            "features-word-char-pos",
            128,
            Some(Scoring::ScaledDot),
            "crf",
        ),
    ];
    for (name, gru, scoring, decoder) in models {
        let exp = shipped(&format!("seed000/{name}.json"));
        assert_eq!(exp.name, format!("seed000-{name}"));
        let d = &exp.datasets[0];
        assert_eq!(d.files.dev, PathBuf::from("/data/conll2003-en/dev.conll"));
        assert_eq!(d.parser.format.label_column(), Some(3));
        assert_eq!(d.parser.scheme, SchemeChoice::Iob1);
        assert_eq!(d.batch_size, 64);
        assert_eq!(exp.training.patience, Some(6));
        // One evaluation per epoch of ⌈14,041 / 64⌉ = 220 batches, 20 epochs.
        assert_eq!((exp.training.eval_freq, exp.training.max_step), (220, 4400));
        let hyper = &exp.tasks[0].hyper;
        assert!(matches!(hyper.optimizer, Optimizer::Adam { .. }), "{name}");
        assert_eq!((hyper.learning_rate, hyper.weight_decay), (1e-3, 1e-3));
        assert_eq!(hyper.gradient_clipping, None);
        assert_eq!(
            hyper.lr_schedule,
            LrSchedule::Plateau {
                factor: 0.95,
                patience: 0,
                min_lr: 5e-5,
                threshold: 1e-4,
                threshold_mode: polytag_config::ThresholdMode::Rel,
                cooldown: 0,
            }
        );
        let kind_of = |c: &str| exp.component_index(c).map(|i| &exp.components[i]);
        let width: usize = match name.strip_prefix("features-") {
            Some(f) => f
                .split('-')
                .map(|p| match p {
                    "word" => 48,
                    "char" => 48,
                    _ => 32,
                })
                .sum(),
            None => 128,
        };
        match kind_of("bigru") {
            Some(c) => {
                let ComponentKind::Gru(spec) = &c.kind else {
                    panic!("{name}")
                };
                assert_eq!(
                    (spec.hidden_size, spec.bidirectional),
                    (gru, true),
                    "{name}"
                );
                assert_eq!(c.d_input, Some(width), "{name}");
            }
            None => assert_eq!(gru, 0, "{name}"),
        }
        match (kind_of("attention"), scoring) {
            (Some(c), Some(scoring)) => {
                let ComponentKind::Attention(spec) = &c.kind else {
                    panic!("{name}")
                };
                assert_eq!(spec.scoring, scoring, "{name}");
                assert_eq!((spec.heads, spec.ffn_size, spec.dropout), (4, 512, 0.2));
                let d_in = if gru == 0 { width } else { 2 * gru };
                assert_eq!(c.d_input, Some(d_in), "{name}");
            }
            (None, None) => {}
            other => panic!("{name}: {other:?}"),
        }
        let decoder_kind = exp.components[exp.tasks[0].model.decoder()].kind.kind();
        assert_eq!(decoder_kind.as_str(), decoder, "{name}");
        if name.contains("pos") || !name.starts_with("features-") {
            assert_eq!(exp.feature_columns(0), [1], "{name}");
        } else {
            assert_eq!(exp.feature_columns(0), Vec::<usize>::new(), "{name}");
        }
    }
}

/// The seed-003 configs: ner-uk v1 with a tenth of train held out as dev, a 3-layer BiRNN of
/// each cell, and the LSTM with each of seed 003's schedules expressed in steps (30 epochs of
/// ⌈8,519 / 64⌉ = 134 batches).
#[test]
fn seed003_configs_follow_the_seed() {
    for cell in ["rnn", "gru", "lstm"] {
        let exp = shipped(&format!("seed003/{cell}.json"));
        let d = &exp.datasets[0];
        assert_eq!(d.dev_split, Some(0.1));
        assert_eq!(d.files.dev, PathBuf::from("/data/ner-uk-v1/train.iob"));
        assert_eq!(
            d.files.test.as_deref(),
            Some(Path::new("/data/ner-uk-v1/test.iob"))
        );
        assert_eq!((exp.training.eval_freq, exp.training.max_step), (134, 4020));
        let encoder = &exp.components[exp.component_index("encoder").unwrap()];
        assert_eq!(encoder.kind.kind().as_str(), cell);
        let (ComponentKind::Lstm(spec) | ComponentKind::Gru(spec) | ComponentKind::Rnn(spec)) =
            &encoder.kind
        else {
            panic!("{cell}")
        };
        assert_eq!(
            (spec.num_layers, spec.bidirectional, spec.dropout),
            (3, true, 0.2)
        );
        assert_eq!(spec.forget_bias, 0.0);
        let hyper = &exp.tasks[0].hyper;
        assert_eq!(hyper.learning_rate, 1e-4);
        assert_eq!(hyper.lr_schedule, LrSchedule::Constant);
    }
    let schedules = [
        ("constant", 1e-3, LrSchedule::Constant),
        (
            "plateau",
            1e-3,
            LrSchedule::Plateau {
                factor: 0.1,
                patience: 3,
                min_lr: 0.0,
                threshold: 1e-4,
                threshold_mode: polytag_config::ThresholdMode::Rel,
                cooldown: 0,
            },
        ),
        (
            "one_cycle",
            1e-2,
            LrSchedule::OneCycle {
                total_steps: 4020,
                pct_start: 0.3,
                div_factor: 25.0,
                final_div_factor: 1e4,
            },
        ),
        (
            "cosine",
            1e-3,
            LrSchedule::Cosine {
                t_max: 4020,
                min_lr: 0.0,
            },
        ),
        (
            "multi_step",
            1e-3,
            LrSchedule::MultiStep {
                milestones: vec![15 * 134, 25 * 134],
                gamma: 0.5,
            },
        ),
    ];
    let lstm = shipped("seed003/lstm.json");
    for (schedule, lr, expected) in schedules {
        let exp = shipped(&format!("seed003/lstm-{schedule}.json"));
        assert_eq!(exp.tasks[0].hyper.learning_rate, lr, "{schedule}");
        assert_eq!(exp.tasks[0].hyper.lr_schedule, expected, "{schedule}");
        // Everything else is the LSTM of the cell comparison.
        assert_eq!(exp.components, lstm.components, "{schedule}");
        assert_eq!(exp.datasets, lstm.datasets, "{schedule}");
        assert_eq!(exp.training, lstm.training, "{schedule}");
    }
}

/// A one-task experiment whose only feature is the transformer `bert` with `options`; data
/// files are the repository's sample, so file checks can be on.
fn with_transformer(options: Value) -> Value {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/sample/eng");
    let file = |split: &str| sample.join(format!("{split}.conll")).display().to_string();
    let mut bert = json!({"name": "bert", "model": "transformer"});
    for (k, v) in options.as_object().unwrap() {
        bert[k] = v.clone();
    }
    json!({
        "datasets": [{"name": "ner", "language": "eng", "task": "ner",
                      "parser": {"token_col": 0, "label_col": 2},
                      "files": {"train": file("train"), "dev": file("dev")}}],
        "tasks": [{"name": "NER", "dataset": "ner",
                   "model": {"model": "tagger", "features": ["bert"], "spec_layer": "out", "decoder": "crf"}}],
        "components": [bert, {"name": "out", "model": "linear"}, {"name": "crf", "model": "crf"}]
    })
}

/// A BERT model folder with a `config.json` of width 32, 2 layers, 64 positions.
fn model_dir(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    let config = json!({"model_type": "bert", "vocab_size": 100, "hidden_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "max_position_embeddings": 64,
        "type_vocab_size": 2, "pad_token_id": 0, "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1});
    std::fs::write(model.join("config.json"), config.to_string()).unwrap();
    std::fs::write(model.join("tokenizer.json"), "{}").unwrap();
    std::fs::write(model.join("model.safetensors"), "").unwrap();
    model
}

fn checked(value: &Value) -> Result<Resolved, ConfigErrors> {
    resolve_with(value, &ResolveOptions::default().with_base_dir("/cfg"))
}

fn checked_errors(value: &Value) -> Vec<String> {
    match checked(value) {
        Ok(_) => panic!("expected errors"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn transformer(exp: &Experiment) -> polytag_config::TransformerSpec {
    match &exp.components[0].kind {
        ComponentKind::Transformer(spec) => spec.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn transformer_defaults_width_from_config_json_and_round_trip() {
    use polytag_config::{Freeze, SubwordPooling};
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir(dir.path());
    let pretrained = model.display().to_string();
    let exp = checked(&with_transformer(json!({"pretrained": pretrained})))
        .unwrap()
        .experiment;
    let spec = transformer(&exp);
    // max_len defaults to 512 bounded by the model's 64 positions; stride to a quarter.
    assert_eq!((spec.max_len, spec.stride), (64, 16));
    assert_eq!(spec.pooling, SubwordPooling::First);
    assert_eq!(spec.freeze, Freeze::None);
    assert_eq!(spec.hidden, Some(32));
    assert_eq!(spec.files.tokenizer, Some(model.join("tokenizer.json")));
    assert_eq!(spec.files.weights, Some(model.join("model.safetensors")));
    assert_eq!(
        exp.components[1].d_input,
        Some(32),
        "the linear reads the width"
    );

    // first_last doubles the width; every option written back and read again is equal.
    let v = with_transformer(
        json!({"pretrained": pretrained, "subword_pooling": "first_last",
        "freeze": "embeddings", "stride": 8, "max_len": 40, "dropout": 0.2}),
    );
    let exp = checked(&v).unwrap().experiment;
    let spec = transformer(&exp);
    assert_eq!(exp.components[1].d_input, Some(64));
    assert_eq!(
        (spec.max_len, spec.stride, spec.freeze),
        (40, 8, Freeze::Embeddings)
    );
    let written = exp.to_json();
    let raw: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        raw["components"][0],
        json!({"name": "bert", "model": "transformer", "pretrained": pretrained,
               "dropout": 0.2, "max_len": 40, "stride": 8, "subword_pooling": "first_last",
               "freeze": "embeddings"})
    );
    let again = Experiment::from_json_str(&written, &[], &ResolveOptions::default())
        .unwrap()
        .experiment;
    assert_eq!(again, exp);
    for (freeze, expected) in [
        (json!(true), Freeze::All),
        (json!(false), Freeze::None),
        (json!(2), Freeze::Layers(2)),
    ] {
        let v = with_transformer(json!({"pretrained": pretrained, "freeze": freeze}));
        assert_eq!(
            transformer(&checked(&v).unwrap().experiment).freeze,
            expected
        );
    }

    // A run's copies replace the model folder, which may be gone.
    let copies = dir.path().join("run/transformers");
    std::fs::create_dir_all(copies.join("bert")).unwrap();
    std::fs::copy(model.join("config.json"), copies.join("bert/config.json")).unwrap();
    std::fs::remove_dir_all(&model).unwrap();
    let exp = resolve_with(
        &with_transformer(json!({"pretrained": pretrained})),
        &ResolveOptions::default().with_transformer_copies(&copies),
    )
    .unwrap()
    .experiment;
    let spec = transformer(&exp);
    assert_eq!(
        spec.files.tokenizer,
        Some(copies.join("bert/tokenizer.json"))
    );
    assert_eq!(spec.files.model_dir, Some(copies.join("bert")));
    assert_eq!((spec.hidden, spec.max_len), (Some(32), 64));
}

#[test]
fn transformer_option_errors_name_their_config_path() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir(dir.path());
    let pretrained = model.display().to_string();
    let v = with_transformer(
        json!({"pretrained": pretrained, "max_len": 100, "stride": 98,
                                    "freeze": 3}),
    );
    assert_eq!(
        checked_errors(&v),
        [
            "components[0].max_len: 100 is longer than the model's 64 positions (config.json max_position_embeddings)",
            "components[0].stride: 98 must be below max_len - 2 = 98 (the pieces of a window)",
            "components[0].freeze: 3 layers, and the encoder has 2; write true to freeze all",
        ]
    );
    let v = with_transformer(json!({"pretrained": pretrained, "freeze": 0}));
    assert_eq!(
        checked_errors(&v),
        ["components[0].freeze: 0 layers; write false to train everything or \"embeddings\""]
    );
    let v = with_transformer(json!({"pretrained": pretrained, "freeze": "all"}));
    let errors = checked_errors(&v);
    assert!(errors[0].contains("components[0].freeze"), "{errors:?}");
    // A scratch encoder needs a tokenizer.
    let v = with_transformer(json!({"hidden": 32, "heads": 4}));
    assert_eq!(
        checked_errors(&v),
        ["components[0].tokenizer: a transformer without \"pretrained\" needs a tokenizer: give \"tokenizer\": a tokenizer.json or a model folder with one"]
    );
    // An unreadable config.json names the component and the file.
    std::fs::write(model.join("config.json"), "{oops").unwrap();
    let v = with_transformer(json!({"pretrained": pretrained}));
    let errors = checked_errors(&v);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "components[0].pretrained: {}",
            model.join("config.json").display()
        )),
        "{errors:?}"
    );
    // A missing model folder is a missing file at components[0].pretrained.
    let v = with_transformer(json!({"pretrained": dir.path().join("nope").display().to_string()}));
    let errors = checked_errors(&v);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("components[0].pretrained"),
        "{errors:?}"
    );
}

/// Issue 14: `extend_vocab` is on by default with a file, can be switched off, and is an
/// error without a file (it would be silently ignored).
#[test]
fn extend_vocab_defaults_on_and_needs_a_file() {
    let exp = resolve(&paper()).unwrap().experiment;
    let c = exp.component_index("nld_word_embed").unwrap();
    let ComponentKind::Embedding(spec) = &exp.components[c].kind else {
        panic!("nld_word_embed is an embedding");
    };
    assert!(spec.extend_vocab);
    let mut v = paper();
    let i = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == "nld_word_embed")
        .unwrap();
    v["components"][i]["extend_vocab"] = json!(false);
    let exp = resolve(&v).unwrap().experiment;
    let ComponentKind::Embedding(spec) = &exp.components[c].kind else {
        panic!("nld_word_embed is an embedding");
    };
    assert!(!spec.extend_vocab);
    v["components"][i].as_object_mut().unwrap().remove("file");
    v["components"][i].as_object_mut().unwrap().remove("stats");
    let errors = errors(&v);
    assert!(
        errors.iter().any(|e| e.ends_with(
            "extend_vocab: adds the words an embedding file covers, and no \"file\" is given"
        )),
        "{errors:?}"
    );
}
