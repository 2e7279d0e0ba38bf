//! Whole-model checks: sharing between tasks, padding invariance through every stage, the
//! softmax/tagger wiring, and configuration errors with their paths.

use super::*;
use crate::activation::Activation;
use crate::attention::{AttentionConfig, Scoring};
use crate::char_cnn::CharCnnConfig;
use crate::crf::CrfConfig;
use crate::embedding::TokenEmbeddingConfig;
use crate::highway::HighwayConfig;
use crate::input::InputStream;
use crate::linear::OutputLayerConfig;
use crate::rnn::{Cell, RecurrentConfig};
use crate::softmax::SoftmaxConfig;
use crate::test_support::RNG;
use burn::module::ParamId;
use burn::optim::{GradientsParams, SgdConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WORDS: usize = 30;
const CHARS: usize = 20;
const NER: usize = 5;
const POS: usize = 4;

fn named(name: &str, i: usize, config: ComponentConfig) -> NamedComponent {
    NamedComponent {
        name: name.into(),
        path: format!("components[{i}]"),
        config,
    }
}

fn slot(component: usize, task: usize, key: &str) -> Slot {
    Slot {
        component,
        path: format!("tasks[{task}].model.{key}"),
    }
}

/// The paper's wiring, small: Dutch NER (0), Dutch POS (1), English NER (2). Shared: char
/// CNN + highway + BiLSTM (all), nld embedding (0, 1), NER universal layer and CRF (0, 2).
fn paper_config() -> ModelConfig {
    let (d_w, d_c, h) = (6, 5, 4);
    let comps = vec![
        ComponentConfig::Embedding {
            config: TokenEmbeddingConfig::new(WORDS, d_w),
            pretrained: None,
        },
        ComponentConfig::Embedding {
            config: TokenEmbeddingConfig::new(WORDS, d_w),
            pretrained: None,
        },
        ComponentConfig::CharCnn(CharCnnConfig::new(CHARS, 3, vec![(2, 2), (3, 3)])),
        ComponentConfig::Highway(HighwayConfig::new(d_c)),
        ComponentConfig::Recurrent(
            RecurrentConfig::new(d_w + d_c, h, Cell::Lstm).with_forget_bias(1.0),
        ),
        ComponentConfig::Linear(OutputLayerConfig::new(2 * h, NER)), // 5 ner_univ
        ComponentConfig::Linear(OutputLayerConfig::new(2 * h, NER)), // 6 ner_nld
        ComponentConfig::Linear(OutputLayerConfig::new(2 * h, NER)), // 7 ner_eng
        ComponentConfig::Linear(OutputLayerConfig::new(2 * h, POS)), // 8 pos_univ
        ComponentConfig::Linear(OutputLayerConfig::new(2 * h, POS)), // 9 pos_nld
        ComponentConfig::Crf {
            config: CrfConfig::new(NER),
            constraints: None,
        }, // 10
        ComponentConfig::Crf {
            config: CrfConfig::new(POS),
            constraints: None,
        }, // 11
    ];
    let names = [
        "nld_word_embed",
        "eng_word_embed",
        "char_embed",
        "char_highway",
        "lstm",
        "ner_univ_linear",
        "ner_nld_linear",
        "ner_eng_linear",
        "pos_univ_linear",
        "pos_nld_linear",
        "ner_crf",
        "pos_crf",
    ];
    let components = comps
        .into_iter()
        .enumerate()
        .map(|(i, c)| named(names[i], i, c))
        .collect();
    let task =
        |t: usize, name: &str, emb: usize, univ: usize, spec: usize, crf: usize, l: usize| {
            TaskWiring {
                name: name.into(),
                path: format!("tasks[{t}]"),
                num_labels: l,
                features: vec![
                    FeatureSlot {
                        slot: slot(emb, t, "word_embed"),
                        highway: None,
                    },
                    FeatureSlot {
                        slot: slot(2, t, "char_embed"),
                        highway: Some(slot(3, t, "char_highway")),
                    },
                ],
                encoders: vec![slot(4, t, "lstm")],
                universal: Some(slot(univ, t, "univ_layer")),
                specific: Some(slot(spec, t, "spec_layer")),
                decoder: slot(crf, t, "crf"),
                feature_dropout: 0.0,
                encoder_dropout: 0.5,
                linear_dropout: 0.0,
            }
        };
    ModelConfig {
        components,
        tasks: vec![
            task(0, "Dutch NER", 0, 5, 6, 10, NER),
            task(1, "Dutch POS", 0, 8, 9, 11, POS),
            task(2, "English NER", 1, 5, 7, 10, NER),
        ],
    }
}

/// A random batch: lengths as given, word ids in 2..WORDS, 1–6 chars per word.
fn batch(lengths: &[usize], labels: usize, seed: u64, device: &Device) -> TaskInput {
    let mut rng = StdRng::seed_from_u64(seed);
    let (b, t, l) = (lengths.len(), lengths.iter().copied().max().unwrap_or(1), 6);
    let mut words = vec![0i64; b * t];
    let mut chars = vec![0i64; b * t * l];
    let mut gold = vec![0i64; b * t];
    for (bi, &n) in lengths.iter().enumerate() {
        for ti in 0..n {
            words[bi * t + ti] = rng.random_range(2..WORDS as i64);
            gold[bi * t + ti] = rng.random_range(0..labels as i64);
            for ci in 0..rng.random_range(1..=l) {
                chars[(bi * t + ti) * l + ci] = rng.random_range(2..CHARS as i64);
            }
        }
    }
    TaskInput::new(
        vec![
            InputStream::Tokens(Tensor::from_data(TensorData::new(words, [b, t]), device)),
            InputStream::Chars(Tensor::from_data(TensorData::new(chars, [b, t, l]), device)),
        ],
        lengths.to_vec(),
        Some(Tensor::from_data(TensorData::new(gold, [b, t]), device)),
        device,
    )
}

/// Sentence `bi` of a batch on its own (unpadded).
fn alone(input: &TaskInput, bi: usize) -> TaskInput {
    let n = input.lengths[bi];
    TaskInput::new(
        input
            .streams
            .iter()
            .map(|stream| match stream {
                InputStream::Tokens(ids) => {
                    InputStream::Tokens(ids.clone().slice(s![bi..bi + 1, 0..n]))
                }
                InputStream::Chars(ids) => {
                    let [_, _, l] = ids.dims();
                    InputStream::Chars(ids.clone().slice(s![bi..bi + 1, 0..n, 0..l]))
                }
                InputStream::Subwords(_) => unreachable!("these tests build no sub-word stream"),
            })
            .collect(),
        vec![n],
        input
            .labels
            .as_ref()
            .map(|y| y.clone().slice(s![bi..bi + 1, 0..n])),
        &input.mask.device(),
    )
}

fn grad_ids(model: &Model, task: usize, input: &TaskInput) -> BTreeSet<ParamId> {
    let grads = GradientsParams::from_grads(model.loss(task, input).unwrap().backward(), model);
    let mut ids = BTreeSet::new();
    struct Collect<'a>(&'a GradientsParams, &'a mut BTreeSet<ParamId>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if self.0.get::<D>(p.id).is_some() {
                self.1.insert(p.id);
            }
        }
    }
    model.visit(&mut Collect(&grads, &mut ids));
    ids
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

#[test]
fn paper_tasks_share_encoders_and_own_their_gates() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(1);
    let model = paper_config().init(&device).unwrap();
    model.force_init();
    let ner = batch(&[5, 3], NER, 1, &device);
    let pos = batch(&[4, 4, 2], POS, 2, &device);

    let used_ner = grad_ids(&model, 0, &ner);
    let used_pos = grad_ids(&model, 1, &pos);
    let used_eng = grad_ids(&model, 2, &ner);
    // shared by all three: char CNN (table + convs), highway, BiLSTM
    for c in [2, 3, 4] {
        let ids = ids_of(&model.components[c]);
        assert!(!ids.is_empty());
        for used in [&used_ner, &used_pos, &used_eng] {
            assert!(
                ids.is_subset(used),
                "component {c} not trained by every task"
            );
        }
    }
    // Dutch embedding: NER and POS of Dutch, not English
    let nld = ids_of(&model.components[0]);
    assert!(nld.is_subset(&used_ner) && nld.is_subset(&used_pos));
    assert!(nld.is_disjoint(&used_eng));
    // own gate and own specific layer per task
    let gates: Vec<BTreeSet<ParamId>> = model.heads.iter().map(ids_of).collect();
    assert!(gates.iter().all(|g| g.len() == 2)); // weight + bias
    assert!(gates[0].is_subset(&used_ner) && gates[0].is_disjoint(&used_pos));
    assert!(gates[0].is_disjoint(&gates[2]) && gates[0].is_disjoint(&used_eng));
    assert!(ids_of(&model.components[6]).is_disjoint(&used_eng)); // ner_nld_linear
    assert!(ids_of(&model.components[7]).is_subset(&used_eng)); // ner_eng_linear
    assert_eq!(model.tasks_using(4), vec![0, 1, 2]);
    assert_eq!(model.tasks_using(5), vec![0, 2]);
    assert_eq!(model.tasks_using(9), vec![1]);
}

#[test]
fn a_step_of_one_task_moves_the_shared_parameters_another_task_sees() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(2);
    let mut model = paper_config().init(&device).unwrap();
    model.force_init();
    let ner = batch(&[5, 3], NER, 3, &device);
    let pos = batch(&[4, 2], POS, 4, &device);
    let lstm_before = model.components[4].clone().valid();
    let pos_spec_before: Vec<f32> = match &model.components[9] {
        Component::Linear(l) => l.output.weight.val().try_to_vec_as().unwrap(),
        _ => unreachable!("component 9 is pos_nld_linear"),
    };
    let em_pos_before: Vec<f32> = model
        .valid()
        .emissions(1, &pos.inner())
        .unwrap()
        .try_to_vec_as()
        .unwrap();

    let mut opt = SgdConfig::new().init();
    let grads = GradientsParams::from_grads(model.loss(0, &ner).unwrap().backward(), &model);
    model = opt.step(0.5, model, grads);

    // the BiLSTM moved …
    let (Component::Recurrent(a), Component::Recurrent(b)) = (&lstm_before, &model.components[4])
    else {
        unreachable!("component 4 is the lstm")
    };
    let wa: Vec<f32> = a.layers[0]
        .forward
        .h2h
        .weight
        .val()
        .try_to_vec_as()
        .unwrap();
    let wb: Vec<f32> = b.layers[0]
        .forward
        .h2h
        .weight
        .val()
        .try_to_vec_as()
        .unwrap();
    assert_ne!(wa, wb);
    // … the POS task's own layer did not …
    let pos_spec_after: Vec<f32> = match &model.components[9] {
        Component::Linear(l) => l.output.weight.val().try_to_vec_as().unwrap(),
        _ => unreachable!("component 9 is pos_nld_linear"),
    };
    assert_eq!(pos_spec_before, pos_spec_after);
    // … and the POS task computes different emissions through the shared parameters
    let em_pos_after: Vec<f32> = model
        .valid()
        .emissions(1, &pos.inner())
        .unwrap()
        .try_to_vec_as()
        .unwrap();
    assert_ne!(em_pos_before, em_pos_after);
}

#[test]
fn padded_batch_decodes_and_scores_each_sentence_as_alone() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(3);
    let model = paper_config().init(&device).unwrap();
    let input = batch(&[6, 1, 4, 2], NER, 5, &device);
    let em = model.emissions(0, &input).unwrap();
    let paths = model.decode(0, &input).unwrap();
    let marg = model.marginals(0, &input).unwrap();
    for bi in 0..4 {
        let one = alone(&input, bi);
        let n = one.lengths[0];
        let em1 = model.emissions(0, &one).unwrap();
        let diff = (em.clone().slice(s![bi..bi + 1, 0..n]) - em1).abs().max();
        assert!(diff.into_scalar::<f32>() < 1e-5, "sentence {bi}");
        // the output layers and the gate never see padding: its emissions stay zero
        if n < 6 {
            let pad = em.clone().slice(s![bi..bi + 1, n..6]).abs().max();
            assert_eq!(pad.into_scalar::<f32>(), 0.0, "padding of sentence {bi}");
        }
        assert_eq!(model.decode(0, &one).unwrap()[0], paths[bi]);
        assert_eq!(paths[bi].len(), n);
        let m1 = model.marginals(0, &one).unwrap();
        assert!(m1[0]
            .iter()
            .zip(&marg[bi])
            .all(|(a, b)| (a - b).abs() < 1e-5));
    }
    // the batch loss is the mean of the sentences' losses
    let total = model.loss(0, &input).unwrap().into_scalar::<f32>();
    let mean: f32 = (0..4)
        .map(|bi| {
            model
                .loss(0, &alone(&input, bi))
                .unwrap()
                .into_scalar::<f32>()
        })
        .sum::<f32>()
        / 4.0;
    assert!((total - mean).abs() < 1e-4, "{total} vs {mean}");
    let nb = model.nbest(0, &input, 3).unwrap();
    assert_eq!(nb[0][0].labels, paths[0]);
    assert_eq!(nb[1].len(), 3);
}

/// A general `tagger`: word embedding + POS feature embedding → BiGRU → attention →
/// universal layer only → softmax.
fn tagger_config(scoring: Scoring) -> ModelConfig {
    let comps = vec![
        named(
            "emb",
            0,
            ComponentConfig::Embedding {
                config: TokenEmbeddingConfig::new(WORDS, 6).with_trainable(false),
                pretrained: Some((0..WORDS * 6).map(|i| (i % 7) as f32 * 0.1).collect()),
            },
        ),
        named(
            "pos_feat",
            1,
            ComponentConfig::FeatureEmbedding {
                config: TokenEmbeddingConfig::new(9, 2),
            },
        ),
        named(
            "gru",
            2,
            ComponentConfig::Recurrent(RecurrentConfig::new(8, 4, Cell::Gru)),
        ),
        named(
            "att",
            3,
            ComponentConfig::Attention(
                AttentionConfig::new(8)
                    .with_heads(2)
                    .with_ffn_size(6)
                    .with_scoring(scoring),
            ),
        ),
        named(
            "out",
            4,
            ComponentConfig::Linear(
                OutputLayerConfig::new(8, NER)
                    .with_hidden(Some(5))
                    .with_activation(Activation::Relu),
            ),
        ),
        named(
            "softmax",
            5,
            ComponentConfig::Softmax(
                SoftmaxConfig::new(NER).with_class_weights(Some(vec![1.0, 2.0, 1.0, 1.0, 0.5])),
            ),
        ),
    ];
    ModelConfig {
        components: comps,
        tasks: vec![TaskWiring {
            name: "tagger".into(),
            path: "tasks[0]".into(),
            num_labels: NER,
            features: vec![
                FeatureSlot {
                    slot: slot(0, 0, "features[0]"),
                    highway: None,
                },
                FeatureSlot {
                    slot: slot(1, 0, "features[1]"),
                    highway: None,
                },
            ],
            encoders: vec![slot(2, 0, "encoders[0]"), slot(3, 0, "encoders[1]")],
            universal: Some(slot(4, 0, "univ_layer")),
            specific: None,
            decoder: slot(5, 0, "decoder"),
            feature_dropout: 0.1,
            encoder_dropout: 0.2,
            linear_dropout: 0.1,
        }],
    }
}

#[test]
fn softmax_tagger_with_features_attention_and_frozen_embedding() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(4);
    for scoring in [
        Scoring::Dot,
        Scoring::ScaledDot,
        Scoring::Cosine,
        Scoring::General,
    ] {
        let model = tagger_config(scoring).init(&device).unwrap();
        let mut input = batch(&[4, 2], NER, 6, &device);
        // a stream of the wrong kind for a feature: an error, not a panic
        let err = model.loss(0, &input).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tasks[0].model.features[1]: component \"pos_feat\" reads token ids, its input stream holds character ids"
        );
        // a missing stream: an error too
        input.streams.truncate(1);
        let err = model.loss(0, &input).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task \"tagger\" reads input stream 1, the input has 1"
        );
        input.streams.push(InputStream::Tokens(Tensor::from_data(
            [[3, 4, 5, 6], [7, 8, 0, 0]],
            &device,
        )));
        let loss = model.loss(0, &input).unwrap();
        assert!(loss.clone().into_scalar::<f32>().is_finite());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        // frozen embedding: no gradient; everything else (feature table, GRU, attention,
        // MLP) gets one
        let emb = ids_of(&model.components[0]);
        assert!(emb.iter().all(|id| grads.get::<2>(*id).is_none()));
        let trained: usize = (1..5).map(|c| ids_of(&model.components[c]).len()).sum();
        assert_eq!(grads.len(), trained);
        let paths = model.valid().decode(0, &input.inner()).unwrap();
        assert_eq!((paths[0].len(), paths[1].len()), (4, 2));
        let m = model.valid().marginals(0, &input.inner()).unwrap();
        assert!((m[1][..NER].iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn configuration_errors_name_their_paths() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut cfg = tagger_config(Scoring::Dot);
    cfg.components[3].config = ComponentConfig::Attention(AttentionConfig::new(250).with_heads(4));
    cfg.components[0].config = ComponentConfig::Embedding {
        config: TokenEmbeddingConfig::new(WORDS, 5),
        pretrained: None,
    };
    cfg.tasks[0].decoder = slot(2, 0, "decoder");
    let errors: Vec<String> = cfg.check().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        vec![
            "components[3]: attention dimension 250 not divisible by 4 heads",
            "tasks[0].model.encoders[0]: input dimension is 7, expected 8",
            "tasks[0].model.encoders[1]: input dimension is 8, expected 250",
            "tasks[0].model.univ_layer: input dimension is 250, expected 8",
            "tasks[0].model.decoder: component \"gru\" is a gru, expected crf or softmax",
        ]
    );
    let device = Device::flex();
    let err = cfg.init(&device).unwrap_err();
    assert_eq!(err.0.len(), 5);

    let mut cfg = paper_config();
    cfg.tasks[1].universal = Some(slot(5, 1, "univ_layer")); // NER layer in a POS task
    cfg.components[4].config =
        ComponentConfig::Recurrent(RecurrentConfig::new(11, 4, Cell::Gru).with_forget_bias(1.0));
    let errors: Vec<String> = cfg.check().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        vec![
            "components[4]: option forget_bias has no effect on a gru component",
            "tasks[1].model.univ_layer: label count is 4, expected 5",
        ]
    );
}

#[test]
fn bad_task_index_and_missing_labels_are_errors() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let model = paper_config().init(&device).unwrap();
    let mut input = batch(&[2], NER, 1, &device);
    assert_eq!(
        model.decode(3, &input).unwrap_err().to_string(),
        "task index 3 out of range: the model has 3 tasks"
    );
    input.labels = None;
    assert_eq!(
        model.loss(0, &input).unwrap_err().to_string(),
        "task \"Dutch NER\": the loss needs gold labels, the input has none"
    );
}

/// Parameter counts derived by hand for the paper config above.
#[test]
fn summary_counts_parameters_and_sharing() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let model = paper_config().init(&device).unwrap();
    let s = model.summary();
    let by_name = |n: &str| s.components.iter().find(|c| c.name == n).unwrap().clone();
    // char CNN: 20×3 table + (2·3·2 + 2) + (3·3·3 + 3)
    assert_eq!(by_name("char_embed").params, 60 + 14 + 30);
    // highway 2 layers of 5 → 10 with bias
    assert_eq!(by_name("char_highway").params, 2 * (5 * 10 + 10));
    // BiLSTM 11 → 4: per direction x2h 11×16 + 16, h2h 4×16
    assert_eq!(by_name("lstm").params, 2 * (11 * 16 + 16 + 4 * 16));
    assert_eq!(by_name("ner_crf").params, 25 + 5 + 5);
    assert_eq!(
        by_name("lstm").tasks,
        vec!["Dutch NER", "Dutch POS", "English NER"]
    );
    assert_eq!(by_name("ner_crf").tasks, vec!["Dutch NER", "English NER"]);
    // gates: 8 → L
    assert_eq!(s.heads[0].params, 8 * NER + NER);
    assert_eq!(s.heads[1].params, 8 * POS + POS);
    assert_eq!(s.total_params, model.num_params());
    assert!(s.to_string().contains("total parameters"));
}

#[test]
fn save_then_load_gives_the_same_outputs() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(12);
    let model = paper_config().init(&device).unwrap();
    let input = batch(&[5, 2], NER, 8, &device);
    let before: Vec<f32> = model.emissions(2, &input).unwrap().try_to_vec_as().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    model.save_file(&path).unwrap();
    device.seed(13); // a fresh model draws other weights
    let fresh = paper_config().init(&device).unwrap();
    let other: Vec<f32> = fresh.emissions(2, &input).unwrap().try_to_vec_as().unwrap();
    assert_ne!(before, other);
    let loaded = fresh.load_file(&path);
    let after: Vec<f32> = loaded
        .emissions(2, &input)
        .unwrap()
        .try_to_vec_as()
        .unwrap();
    assert_eq!(before, after);
}
