//! Builder checks on experiments resolved by polytag-config: the paper's four-task sharing,
//! size inference, errors with config paths, and scheme constraints.

use super::*;
use crate::component::Component;
use crate::input::{InputStream, TaskInput};
use crate::test_support::RNG;
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, SgdConfig};
use polytag_config::{Experiment, ResolveOptions};
use std::collections::BTreeSet;

/// The paper's multi-task setup (seed-systems A.3) in small sizes: Dutch NER (target), Dutch
/// POS, English NER, English POS; char CNN + highway + BiLSTM shared by all, word embedding per
/// language, universal linear and CRF per task type, specific linear per task.
const PAPER: &str = r#"{
  "datasets": [
    {"name": "nld_ner", "language": "nld", "task": "ner", "files": {"train": "a", "dev": "b"}},
    {"name": "nld_pos", "language": "nld", "task": "pos", "files": {"train": "a", "dev": "b"}},
    {"name": "eng_ner", "language": "eng", "task": "ner", "files": {"train": "a", "dev": "b"}},
    {"name": "eng_pos", "language": "eng", "task": "pos", "files": {"train": "a", "dev": "b"}}
  ],
  "components": [
    {"name": "nld_word_embed", "model": "embedding", "dimension": 8},
    {"name": "eng_word_embed", "model": "embedding", "dimension": 8},
    {"name": "char_embed", "model": "char_cnn", "dimension": 5, "filters": [[2, 3], [3, 4]]},
    {"name": "char_highway", "model": "highway", "num_layers": 2, "activation": "selu"},
    {"name": "lstm", "model": "lstm", "hidden_size": 6, "forget_bias": 1.0},
    {"name": "ner_crf", "model": "crf"},
    {"name": "pos_crf", "model": "crf"},
    {"name": "ner_univ_linear", "model": "linear", "position": "output"},
    {"name": "ner_nld_linear", "model": "linear", "position": "output"},
    {"name": "ner_eng_linear", "model": "linear", "position": "output"},
    {"name": "pos_univ_linear", "model": "linear", "position": "output"},
    {"name": "pos_nld_linear", "model": "linear", "position": "output"},
    {"name": "pos_eng_linear", "model": "linear", "position": "output"},
    {"name": "spare", "model": "gru", "hidden_size": 3}
  ],
  "tasks": [
    {"name": "Dutch NER", "dataset": "nld_ner", "ref": true, "model": {"model": "lstm_crf",
      "word_embed": "nld_word_embed", "char_embed": "char_embed", "char_highway": "char_highway",
      "lstm": "lstm", "univ_layer": "ner_univ_linear", "spec_layer": "ner_nld_linear",
      "crf": "ner_crf", "embed_dropout": 0.0, "lstm_dropout": 0.6}},
    {"name": "Dutch POS", "dataset": "nld_pos", "model": {"model": "lstm_crf",
      "word_embed": "nld_word_embed", "char_embed": "char_embed", "char_highway": "char_highway",
      "lstm": "lstm", "univ_layer": "pos_univ_linear", "spec_layer": "pos_nld_linear",
      "crf": "pos_crf", "embed_dropout": 0.0, "lstm_dropout": 0.6}},
    {"name": "English NER", "dataset": "eng_ner", "model": {"model": "lstm_crf",
      "word_embed": "eng_word_embed", "char_embed": "char_embed", "char_highway": "char_highway",
      "lstm": "lstm", "univ_layer": "ner_univ_linear", "spec_layer": "ner_eng_linear",
      "crf": "ner_crf", "embed_dropout": 0.0, "lstm_dropout": 0.6}},
    {"name": "English POS", "dataset": "eng_pos", "model": {"model": "lstm_crf",
      "word_embed": "eng_word_embed", "char_embed": "char_embed", "char_highway": "char_highway",
      "lstm": "lstm", "univ_layer": "pos_univ_linear", "spec_layer": "pos_eng_linear",
      "crf": "pos_crf", "embed_dropout": 0.0, "lstm_dropout": 0.6}}
  ]
}"#;

fn resolve(text: &str) -> Experiment {
    let options = ResolveOptions::default()
        .without_file_check()
        .with_base_dir("/data");
    match Experiment::from_json_str(text, &[], &options) {
        Ok(r) => r.experiment,
        Err(e) => panic!("fixture does not resolve:\n{e}"),
    }
}

fn labels(names: &[&str], scheme: Option<Scheme>) -> TaskLabels {
    TaskLabels {
        labels: names.iter().map(|s| s.to_string()).collect(),
        scheme,
        counts: vec![],
    }
}

const NER: [&str; 5] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
const POS: [&str; 3] = ["NOUN", "VERB", "DET"];

fn paper_inputs() -> BuildInputs {
    BuildInputs {
        vocab_sizes: [(0, 40), (1, 30)].into_iter().collect(),
        pretrained: BTreeMap::new(),
        char_vocab_size: 25,
        labels: vec![
            labels(&NER, Some(Scheme::Bio)),
            labels(&POS, None),
            labels(&NER, Some(Scheme::Bio)),
            labels(&POS, None),
        ],
        ..BuildInputs::default()
    }
}

fn batch(words: usize, labels: usize, device: &Device) -> TaskInput {
    let lengths = vec![4usize, 2];
    let w: Vec<i64> = (0..8).map(|i| (i % words as i64).max(2)).collect();
    let c: Vec<i64> = (0..8 * 3).map(|i| (i % 7) + 2).collect();
    let y: Vec<i64> = (0..8).map(|i| i % labels as i64).collect();
    TaskInput::new(
        vec![
            InputStream::Tokens(Tensor::from_data(TensorData::new(w, [2, 4]), device)),
            InputStream::Chars(Tensor::from_data(TensorData::new(c, [2, 4, 3]), device)),
        ],
        lengths,
        Some(Tensor::from_data(TensorData::new(y, [2, 4]), device)),
        device,
    )
}

fn ids_of<M: Module>(m: &M) -> BTreeSet<ParamId> {
    struct Ids(BTreeSet<ParamId>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.insert(p.id);
        }
    }
    let mut v = Ids(BTreeSet::new());
    m.visit(&mut v);
    v.0
}

fn trained_by(model: &Model, task: usize, input: &TaskInput) -> BTreeSet<ParamId> {
    let grads = GradientsParams::from_grads(model.loss(task, input).unwrap().backward(), model);
    struct Collect<'a>(&'a GradientsParams, BTreeSet<ParamId>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if self.0.get::<D>(p.id).is_some() {
                self.1.insert(p.id);
            }
        }
    }
    let mut c = Collect(&grads, BTreeSet::new());
    model.visit(&mut c);
    c.1
}

#[test]
fn paper_config_infers_sizes_and_skips_unused_components() {
    let exp = resolve(PAPER);
    let cfg = model_config(&exp, &paper_inputs()).unwrap();
    let by_name = |n: &str| {
        cfg.components
            .iter()
            .find(|c| c.name == n)
            .map(|c| &c.config)
    };
    // word 8 + char 3 + 4 = 15 into the BiLSTM; 2 × 6 into every linear
    assert_eq!(by_name("lstm").and_then(ComponentConfig::d_input), Some(15));
    assert_eq!(
        by_name("char_highway").and_then(ComponentConfig::d_input),
        Some(7)
    );
    assert_eq!(
        by_name("ner_eng_linear").and_then(ComponentConfig::d_input),
        Some(12)
    );
    assert_eq!(
        by_name("ner_eng_linear").map(ComponentConfig::d_output),
        Some(5)
    );
    assert_eq!(by_name("pos_crf").map(ComponentConfig::d_output), Some(3));
    assert!(
        by_name("spare").is_none(),
        "a component no task uses is not built"
    );
    assert_eq!(cfg.components.len(), 13);
    assert_eq!(
        cfg.tasks[2].specific.as_ref().unwrap().path,
        "tasks[2].model.spec_layer"
    );
    assert_eq!(cfg.tasks[0].encoder_dropout, 0.6);
}

#[test]
fn paper_tasks_share_parameters_and_a_step_moves_them_for_the_others() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(9);
    let exp = resolve(PAPER);
    let mut model = build(&exp, &paper_inputs(), &device).unwrap();
    model.force_init();
    let ner = batch(30, 5, &device);
    let pos = batch(30, 3, &device);
    let names = model.clone();
    let idx = |n: &str| names.component_index(n).unwrap();
    let (lstm, cnn, hw) = (idx("lstm"), idx("char_embed"), idx("char_highway"));

    let used: Vec<BTreeSet<ParamId>> = (0..4)
        .map(|t| trained_by(&model, t, if t % 2 == 0 { &ner } else { &pos }))
        .collect();
    for c in [lstm, cnn, hw] {
        let ids = ids_of(&model.components[c]);
        assert!(
            used.iter().all(|u| ids.is_subset(u)),
            "{c} shared by all four tasks"
        );
    }
    // own gate and own specific layer per task
    for t in 0..4 {
        let gate = ids_of(&model.heads[t]);
        assert_eq!(gate.len(), 2);
        for (u, other) in used.iter().enumerate() {
            assert_eq!(gate.is_subset(other), u == t);
        }
    }
    assert!(ids_of(&model.components[idx("ner_nld_linear")]).is_disjoint(&used[2]));
    assert!(ids_of(&model.components[idx("ner_univ_linear")]).is_subset(&used[2]));

    // one SGD step of Dutch NER moves the BiLSTM that English POS computes with
    let before: Vec<f32> = model
        .valid()
        .emissions(
            3,
            &TaskInput {
                labels: None,
                ..pos.inner()
            },
        )
        .unwrap()
        .try_to_vec_as()
        .unwrap();
    let spec_before: Vec<f32> = match &model.components[idx("pos_eng_linear")] {
        Component::Linear(l) => l.output.weight.val().try_to_vec_as().unwrap(),
        _ => unreachable!("pos_eng_linear is a linear"),
    };
    let grads = GradientsParams::from_grads(model.loss(0, &ner).unwrap().backward(), &model);
    model = SgdConfig::new().init().step(0.5, model, grads);
    let after: Vec<f32> = model
        .valid()
        .emissions(
            3,
            &TaskInput {
                labels: None,
                ..pos.inner()
            },
        )
        .unwrap()
        .try_to_vec_as()
        .unwrap();
    let spec_after: Vec<f32> = match &model.components[idx("pos_eng_linear")] {
        Component::Linear(l) => l.output.weight.val().try_to_vec_as().unwrap(),
        _ => unreachable!("pos_eng_linear is a linear"),
    };
    assert_eq!(spec_before, spec_after);
    assert_ne!(before, after);

    let summary = model.summary().to_string();
    assert!(
        summary.contains("Dutch NER, Dutch POS, English NER, English POS"),
        "{summary}"
    );
}

#[test]
fn missing_inputs_and_disagreements_are_reported_with_paths() {
    let exp = resolve(PAPER);
    let mut inputs = paper_inputs();
    inputs.vocab_sizes.remove(&1);
    inputs.char_vocab_size = 0;
    inputs.labels[2] = labels(&NER[..4], Some(Scheme::Bio)); // English NER with 4 labels
    let errors: Vec<String> = model_config(&exp, &inputs)
        .unwrap_err()
        .0
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        vec![
            "tasks[2].model.univ_layer: label count is 4, expected 5",
            "tasks[2].model.crf: label count is 4, expected 5",
            "components[1]: no vocabulary size given to the model builder for component \"eng_word_embed\"",
            "components[2]: no char vocabulary size given to the model builder for component \"char_embed\"",
        ]
    );
}

#[test]
fn a_shared_encoder_fed_two_widths_is_an_error_at_the_second_slot() {
    // English words are 10 wide, Dutch 8: the shared BiLSTM cannot take both. polytag-config
    // rejects this already; the builder must too when handed such an experiment.
    let mut exp = resolve(PAPER);
    match &mut exp.components[1].kind {
        ComponentKind::Embedding(spec) => spec.dimension = 10,
        _ => unreachable!("components[1] is eng_word_embed"),
    }
    let err = model_config(&exp, &paper_inputs()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tasks[2].model.lstm: input dimension is 17, expected 15\n\
         tasks[3].model.lstm: input dimension is 17, expected 15"
    );
}

#[test]
fn tagger_with_features_attention_and_softmax() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let text = r#"{
      "datasets": [{"name": "d", "language": "en", "task": "ner",
                    "files": {"train": "a", "dev": "b"}}],
      "components": [
        {"name": "emb", "model": "embedding", "dimension": 6, "file": "vec.txt", "trainable": false},
        {"name": "pos", "model": "feature_embedding", "column": 2, "dimension": 2},
        {"name": "chars", "model": "char_rnn", "dimension": 4, "hidden_size": 3, "cell": "gru"},
        {"name": "gru", "model": "gru", "hidden_size": 5},
        {"name": "att", "model": "attention", "heads": 2, "ffn_size": 8, "scoring": "cosine"},
        {"name": "out", "model": "linear", "hidden": 7},
        {"name": "sm", "model": "softmax", "class_weights": "inverse_freq"}
      ],
      "tasks": [{"name": "t", "dataset": "d", "model": {"model": "tagger",
        "features": ["emb", "pos", "chars"], "encoders": ["gru", "att"],
        "univ_layer": "out", "decoder": "sm"}}]
    }"#;
    let exp = resolve(text);
    let mut inputs = BuildInputs {
        vocab_sizes: [(0, 20), (1, 6)].into_iter().collect(),
        pretrained: BTreeMap::new(),
        char_vocab_size: 15,
        labels: vec![TaskLabels {
            counts: vec![10, 1, 5],
            ..labels(&["O", "B-X", "I-X"], Some(Scheme::Bio))
        }],
        ..BuildInputs::default()
    };
    // the embedding names a file: its vectors are required
    let err = model_config(&exp, &inputs).unwrap_err().to_string();
    assert_eq!(
        err,
        "components[0]: no pretrained vectors (the component names a file) given to the model builder for component \"emb\""
    );
    inputs.pretrained.insert(0, vec![0.5; 20 * 6]);
    let cfg = model_config(&exp, &inputs).unwrap();
    // 6 + 2 + 6 → GRU 2×5 = 10 → attention 10 (2 heads) → linear 10 → 7 → 3
    assert_eq!(cfg.components[3].config.d_input(), Some(14));
    assert_eq!(cfg.components[4].config.d_input(), Some(10));
    match &cfg.components[6].config {
        ComponentConfig::Softmax(s) => {
            // 1/10, 1/1, 1/5 normalised to mean 1: × 3 / 1.3
            let w = s.class_weights.clone().unwrap();
            let want = [0.1 * 3.0 / 1.3, 3.0 / 1.3, 0.2 * 3.0 / 1.3];
            assert!(
                w.iter()
                    .zip(want)
                    .all(|(a, b)| (f64::from(*a) - b).abs() < 1e-6),
                "{w:?}"
            );
        }
        other => panic!("expected a softmax, got {}", other.kind()),
    }
    let device = Device::flex();
    let model = cfg.init(&device).unwrap();
    let mut input = batch(20, 3, &device);
    // features emb, pos, chars: streams words, the pos column, chars
    let pos = InputStream::Tokens(Tensor::from_data([[1, 2, 3, 4], [5, 1, 0, 0]], &device));
    input.streams.insert(1, pos);
    assert_eq!(model.decode(0, &input).unwrap()[1].len(), 2);
}

#[test]
fn heads_must_divide_the_attention_input() {
    let text = r#"{
      "datasets": [{"name": "d", "language": "en", "task": "ner",
                    "files": {"train": "a", "dev": "b"}}],
      "components": [
        {"name": "emb", "model": "embedding", "dimension": 10},
        {"name": "att", "model": "attention", "heads": 5},
        {"name": "out", "model": "linear"},
        {"name": "crf", "model": "crf", "constraints": "scheme"}
      ],
      "tasks": [{"name": "t", "dataset": "d", "model": {"model": "tagger",
        "features": ["emb"], "encoders": ["att"], "univ_layer": "out", "decoder": "crf"}}]
    }"#;
    // polytag-config rejects 4 heads on 10 features itself; hand the builder such an
    // experiment anyway
    let mut exp = resolve(text);
    match &mut exp.components[1].kind {
        ComponentKind::Attention(spec) => spec.heads = 4,
        _ => unreachable!("components[1] is the attention block"),
    }
    let inputs = BuildInputs {
        vocab_sizes: [(0, 9)].into_iter().collect(),
        char_vocab_size: 5,
        labels: vec![labels(&NER, Some(Scheme::Bio))],
        ..BuildInputs::default()
    };
    let err = model_config(&exp, &inputs).unwrap_err();
    assert_eq!(
        err.to_string(),
        "components[1]: attention dimension 10 not divisible by 4 heads"
    );
}

#[test]
fn scheme_constraints_follow_the_scheme() {
    let l: Vec<String> = [
        "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let idx = |s: &str| l.iter().position(|x| x == s).unwrap() as u32;
    let c = scheme_constraints(&l, Scheme::Bioes, "crf").unwrap();
    let ok = |p: &[&str]| c.allows(&p.iter().map(|s| idx(s)).collect::<Vec<_>>());
    assert!(ok(&["B-PER", "I-PER", "E-PER", "O", "S-LOC"]));
    assert!(!ok(&["O", "I-PER", "E-PER"])); // I after O
    assert!(!ok(&["B-PER", "E-LOC"])); // type change inside a chunk
    assert!(!ok(&["I-PER", "E-PER"])); // start with I
    assert!(!ok(&["O", "B-PER"])); // end with B
    assert!(!ok(&["B-PER", "O"])); // B not closed

    let bio: Vec<String> = ["O", "B-PER", "I-PER"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let c = scheme_constraints(&bio, Scheme::Bio, "crf").unwrap();
    assert!(c.allows(&[1, 2, 0, 1]) && c.allows(&[1]) && !c.allows(&[0, 2]) && !c.allows(&[2]));
    let c = scheme_constraints(&bio, Scheme::Iob1, "crf").unwrap();
    // IOB1: I starts a chunk, B only right after a same-type chunk
    assert!(c.allows(&[2, 2, 1, 0]) && !c.allows(&[0, 1]) && !c.allows(&[1]));
    let err = scheme_constraints(&l, Scheme::Bio, "components[5]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "components[5]: cannot derive transition constraints: label \"E-PER\" is not a BIO tag"
    );
}

#[test]
fn scheme_constraints_need_one_scheme_across_tasks() {
    let text = PAPER.replace(
        r#"{"name": "ner_crf", "model": "crf"}"#,
        r#"{"name": "ner_crf", "model": "crf", "constraints": "scheme"}"#,
    );
    let exp = resolve(&text);
    let mut inputs = paper_inputs();
    inputs.labels[2].scheme = Some(Scheme::Iob1);
    assert_eq!(
        model_config(&exp, &inputs).unwrap_err().to_string(),
        "components[5]: scheme constraints need one tag scheme, but tasks[0] uses BIO and tasks[2] uses IOB1"
    );
    inputs.labels[2].scheme = Some(Scheme::Bio);
    let cfg = model_config(&exp, &inputs).unwrap();
    let crf = cfg.components.iter().find(|c| c.name == "ner_crf").unwrap();
    assert!(matches!(
        &crf.config,
        ComponentConfig::Crf {
            constraints: Some(_),
            ..
        }
    ));
    // POS labels have no scheme
    let text = PAPER.replace(
        r#"{"name": "pos_crf", "model": "crf"}"#,
        r#"{"name": "pos_crf", "model": "crf", "constraints": "scheme"}"#,
    );
    let exp = resolve(&text);
    assert_eq!(
        model_config(&exp, &paper_inputs()).unwrap_err().to_string(),
        "components[6]: crf \"pos_crf\" asks for scheme constraints, but the labels of tasks[1] have no tag scheme"
    );
}
