//! The trainer on a tiny two-task experiment written to a temp dir: per-task learning rates on
//! per-task step counters, a whole run, and the [`crate::Predictor`] reading it back.

use std::path::Path;
use std::sync::Mutex;

use polytag_config::Experiment;
use polytag_data::ExperimentData;

use super::*;
use crate::predictor::Predictor;
use crate::progress::NoProgress;

/// The flex RNG is process-global (burn-0.22-notes §7): tests that seed it take turns.
static RNG: Mutex<()> = Mutex::new(());

const TRAIN: &str = "\
John NOUN B-PER
Smith NOUN I-PER
lives VERB O
in ADP O
Paris NOUN B-LOC

Mary NOUN B-PER
works VERB O
in ADP O
Berlin NOUN B-LOC

The DET O
club NOUN O
Ajax NOUN B-ORG
won VERB O

Anna NOUN B-PER
visits VERB O
Rome NOUN B-LOC

Siemens NOUN B-ORG
hires VERB O
Peter NOUN B-PER
Jones NOUN I-PER
";

const DEV: &str = "\
Peter NOUN B-PER
lives VERB O
in ADP O
Rome NOUN B-LOC

Ajax NOUN B-ORG
hires VERB O
John NOUN B-PER
";

/// Dutch-style NER (ref, SGD, lr 0.1 halving every own step) and POS (Adam, constant 0.01)
/// on the same file, taking turns.
fn experiment(dir: &Path, max_step: u64, ner_lr: f64, extra: &str) -> (Experiment, ExperimentData) {
    experiment_with(dir, max_step, ner_lr, extra, &Variant::default())
}

/// What the fine-tuning tests change in [`experiment`].
struct Variant {
    /// `lstm_dropout` of both tasks.
    dropout: f64,
    /// Keys added to both tasks.
    task_extra: &'static str,
    /// POS's optimizer keys.
    pos_optimizer: &'static str,
    /// Keys added to the `lstm` component.
    lstm_extra: &'static str,
    /// Keys added to the `emb` component.
    emb_extra: String,
}

impl Default for Variant {
    fn default() -> Self {
        Variant {
            dropout: 0.5,
            task_extra: "",
            pos_optimizer: r#""optimizer": "adam""#,
            lstm_extra: "",
            emb_extra: String::new(),
        }
    }
}

fn experiment_with(
    dir: &Path,
    max_step: u64,
    ner_lr: f64,
    extra: &str,
    variant: &Variant,
) -> (Experiment, ExperimentData) {
    std::fs::write(dir.join("train.conll"), TRAIN).unwrap();
    std::fs::write(dir.join("dev.conll"), DEV).unwrap();
    let dropout = variant.dropout;
    // Without dropout anywhere when the LSTM's is 0 (the embedding and linear defaults too).
    let others = if dropout == 0.0 {
        r#", "embed_dropout": 0.0, "linear_dropout": 0.0"#
    } else {
        ""
    };
    let model = |out: &str, crf: &str| {
        format!(
            r#"{{"model": "lstm_crf", "word_embed": "emb", "char_embed": "chars", "lstm": "lstm",
                "univ_layer": "{out}", "crf": "{crf}", "lstm_dropout": {dropout} {others}}}"#
        )
    };
    let json = format!(
        r#"{{
  "name": "tiny", "seed": 3,
  "training": {{"max_step": {max_step}, "eval_freq": 10, "schedule": {{"kind": "round_robin"}},
                "eval_batch_size": 2 {extra}}},
  "datasets": [
    {{"name": "ner", "language": "eng", "task": "ner", "batch_size": 2,
      "parser": {{"format": "conll", "token_col": 0, "label_col": 2, "scheme": "bio"}},
      "files": {{"train": "train.conll", "dev": "dev.conll", "test": "dev.conll"}}}},
    {{"name": "pos", "language": "eng", "task": "pos", "batch_size": 2,
      "parser": {{"format": "conll", "token_col": 0, "label_col": 1, "scheme": "none"}},
      "files": {{"train": "train.conll", "dev": "dev.conll"}}}}
  ],
  "components": [
    {{"name": "emb", "model": "embedding", "dimension": 8 {emb_extra}}},
    {{"name": "chars", "model": "char_cnn", "dimension": 4, "filters": [[2, 4]]}},
    {{"name": "lstm", "model": "lstm", "hidden_size": 8 {lstm_extra}}},
    {{"name": "ner_out", "model": "linear"}},
    {{"name": "pos_out", "model": "linear"}},
    {{"name": "ner_crf", "model": "crf"}},
    {{"name": "pos_crf", "model": "crf"}}
  ],
  "tasks": [
    {{"name": "NER", "dataset": "ner", "ref": true, "optimizer": "sgd", "momentum": 0.9,
      "learning_rate": {ner_lr}, "decay_rate": 0.5, "decay_step": 1, "model": {ner} {task_extra}}},
    {{"name": "POS", "dataset": "pos", {pos_optimizer}, "learning_rate": 0.01,
      "lr_schedule": "constant", "model": {pos} {task_extra}}}
  ]
}}"#,
        ner = model("ner_out", "ner_crf"),
        pos = model("pos_out", "pos_crf"),
        lstm_extra = variant.lstm_extra,
        emb_extra = variant.emb_extra,
        task_extra = variant.task_extra,
        pos_optimizer = variant.pos_optimizer,
    );
    std::fs::write(dir.join("exp.json"), json).unwrap();
    let exp = Experiment::load(dir.join("exp.json"), &[])
        .unwrap()
        .experiment;
    let data = ExperimentData::load(&exp).unwrap();
    (exp, data)
}

fn trainer(dir: &Path, max_step: u64) -> Trainer {
    let (exp, data) = experiment(dir, max_step, 0.1, "");
    let run = RunDir::create_exact(&dir.join("run")).unwrap();
    Trainer::new(exp, data, run, Device::flex()).unwrap()
}

/// Round robin: NER trains at global steps 1, 3, 5 (its own steps 0, 1, 2) with
/// 0.1 · 0.5^k = 0.1, 0.05, 0.025; POS at steps 2, 4 with its constant 0.01. A decay on the
/// global counter would have given NER 0.1 · 0.5² = 0.025 at global step 3.
#[test]
fn each_task_runs_its_own_schedule_on_its_own_step_counter() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut t = trainer(dir.path(), 100);
    let steps: Vec<(usize, f64)> = (0..5)
        .map(|_| {
            let step = t.train_step().unwrap();
            assert!(step.loss.is_finite() && step.loss > 0.0);
            (step.task, step.learning_rate)
        })
        .collect();
    assert_eq!(
        steps,
        [(0, 0.1), (1, 0.01), (0, 0.05), (1, 0.01), (0, 0.025)]
    );
    assert_eq!(t.state.task_steps, [3, 2]);
}

/// Global-norm clipping at 5 and the per-task optimizers leave the shared LSTM moved by both
/// tasks and each task's output layer only by its own.
#[test]
fn a_step_changes_the_shared_layers_and_only_its_own_head() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut t = trainer(dir.path(), 100);
    let values = |t: &Trainer, c: usize| -> Vec<f32> {
        let mut v = Vec::new();
        struct Collect<'a>(&'a mut Vec<f32>);
        impl burn::module::ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
                self.0.extend(p.val().try_to_vec_as::<f32>().unwrap());
            }
        }
        t.model.components[c].visit(&mut Collect(&mut v));
        v
    };
    let (lstm, ner_out, pos_out) = (2, 3, 4);
    let before = [values(&t, lstm), values(&t, ner_out), values(&t, pos_out)];
    assert_eq!(t.train_step().unwrap().task, 0);
    assert_ne!(values(&t, lstm), before[0]);
    assert_ne!(values(&t, ner_out), before[1]);
    assert_eq!(values(&t, pos_out), before[2]);
}

/// A whole run, then the predictor: it tags the dev file exactly as the run's predictions file
/// says, with probabilities in (0, 1] and n-best paths best first.
#[test]
fn a_run_and_the_predictor_agree_on_the_dev_predictions() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let t = trainer(dir.path(), 20);
    let run = t.run_dir().path().to_path_buf();
    let summary = t.run(&mut NoProgress).unwrap();
    assert_eq!(summary.steps, 20);
    assert!(summary.best.is_some());
    let records: Vec<MetricsRecord> = MetricsLog::read(&run.join("metrics.jsonl")).unwrap();
    // 2 evaluations: NER dev + test, POS dev.
    assert_eq!(records.len(), 6);

    let p = Predictor::load(&run, CheckpointKind::Best).unwrap();
    let ner = p.task_index(None).unwrap();
    assert_eq!(ner, 0);
    assert_eq!(p.task_index(Some("POS")).unwrap(), 1);
    assert!(matches!(
        p.task_index(Some("Chunks")),
        Err(Error::UnknownTask { .. })
    ));
    assert_eq!(p.file_scheme(ner), Some(Scheme::Bio));
    assert_eq!(p.file_scheme(1), None);
    let corpus =
        polytag_data::read_corpus(&dir.path().join("dev.conll"), &p.reader_options(ner)).unwrap();
    let tagged = p.tag(ner, &corpus.sentences, 3).unwrap();
    let file = std::fs::read_to_string(run.join("predictions/NER.dev.conll")).unwrap();
    let predicted: Vec<Vec<String>> = file
        .split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.lines()
                .map(|l| l.split(' ').nth(2).unwrap().to_string())
                .collect()
        })
        .collect();
    let labels: Vec<Vec<String>> = tagged.iter().map(|t| t.labels.clone()).collect();
    assert_eq!(labels, predicted);
    for t in &tagged {
        assert_eq!(t.confidence.len(), t.labels.len());
        assert!(t.confidence.iter().all(|&c| c > 0.0 && c <= 1.0 + 1e-6));
        assert_eq!(t.nbest.len(), 3);
        // Ranked by total probability in the file's scheme (merged BIOES paths), so the first
        // need not be the single best BIOES path; they are distinct and sorted.
        assert!(t.nbest[0].0 != t.nbest[1].0 && t.nbest[1].0 != t.nbest[2].0);
        assert!(t.nbest[0].1 >= t.nbest[1].1 && t.nbest[1].1 >= t.nbest[2].1);
        assert!(t.nbest[0].1 <= 1.0 + 1e-6);
    }
    // Unlabelled input tags the same.
    let mut bare = corpus.sentences.clone();
    for s in &mut bare {
        s.labels.clear();
    }
    let again = p.tag(ner, &bare, 1).unwrap();
    assert_eq!(again[0].labels, labels[0]);
    assert!(again[0].nbest.is_empty());
}

/// With rates too small to change any prediction, every evaluation after the first scores the
/// same, which is not an improvement (strictly greater, A.7.1): patience 2 stops the run at
/// its third evaluation, step 30 of 100, and `last` is saved there.
#[test]
fn early_stopping_ends_the_run_after_patience_evaluations() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (mut exp, data) = experiment(dir.path(), 100, 1e-12, r#", "patience": 2"#);
    exp.tasks[1].hyper.learning_rate = 1e-12;
    let run = RunDir::create_exact(&dir.path().join("run")).unwrap();
    let summary = Trainer::new(exp, data, run.clone(), Device::flex())
        .unwrap()
        .run(&mut NoProgress)
        .unwrap();
    assert!(summary.stopped_early);
    assert_eq!(summary.steps, 30);
    assert_eq!(summary.best.map(|b| b.0), Some(10));
    let last = CheckpointDir::open(&run, CheckpointKind::Last).unwrap();
    assert_eq!(last.manifest.step, 30);
    assert!(last.train_state().unwrap().stopped_early);
}

/// `train_steps` takes the steps `run` takes: after 6 steps of a run (one evaluation, at the
/// end), the mean training loss it logs per task is the mean of the losses `train_steps(6)`
/// returns on a fresh trainer of the same experiment, to the last bit. Round robin with 5
/// sentences in batches of 2 gives each task steps of 2, 2 and 1 sentences (one epoch: all
/// 5 + 4 + 4 + 3 + 4 = 20 tokens), and no checkpoint, prediction or metrics record is written.
#[test]
fn train_steps_are_the_steps_of_a_run() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let summary = trainer(dir.path(), 6).run(&mut NoProgress).unwrap();
    assert_eq!(summary.steps, 6);
    let records: Vec<MetricsRecord> = MetricsLog::read(&run_dir.join("metrics.jsonl")).unwrap();

    let other = tempfile::tempdir().unwrap();
    let mut t = trainer(other.path(), 6);
    let steps = t.train_steps(6).unwrap();
    assert_eq!(t.step(), 6);
    assert_eq!(
        steps.iter().map(|s| (s.step, s.task)).collect::<Vec<_>>(),
        [(1, 0), (2, 1), (3, 0), (4, 1), (5, 0), (6, 1)]
    );
    for (task, name) in [(0, "NER"), (1, "POS")] {
        let mine: Vec<&StepOutcome> = steps.iter().filter(|s| s.task == task).collect();
        let mean = mine.iter().map(|s| s.loss).sum::<f64>() / mine.len() as f64;
        let logged = records
            .iter()
            .find(|r| r.task == name && r.split == "dev")
            .and_then(|r| r.metrics.get("train_loss"))
            .and_then(serde_json::Value::as_f64)
            .unwrap();
        assert_eq!(mean, logged, "{name}");
        let mut sizes: Vec<usize> = mine.iter().map(|s| s.sentences).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [1, 2, 2], "{name}");
        assert_eq!(mine.iter().map(|s| s.tokens).sum::<usize>(), 20, "{name}");
    }
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let run = other.path().join("run");
    // The empty folders are `RunDir::create_exact`'s; no checkpoint or prediction went in.
    assert_eq!(
        names(&run),
        ["checkpoints", "config.json", "metrics.jsonl", "predictions"]
    );
    assert!(names(&run.join("checkpoints")).is_empty());
    assert!(names(&run.join("predictions")).is_empty());
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl")).unwrap(),
        ""
    );
    assert!(crate::backend_threads() >= 1);
}

fn variant_trainer(dir: &Path, variant: &Variant, extra: &str) -> Trainer {
    let (exp, data) = experiment_with(dir, 100, 0.1, extra, variant);
    let run = RunDir::create_exact(&dir.join("run")).unwrap();
    Trainer::new(exp, data, run, Device::flex()).unwrap()
}

/// Every gradient of `model`'s parameters, in visiting order.
fn all_grads(model: &Model, grads: &GradientsParams) -> Vec<f32> {
    struct Collect<'a>(&'a GradientsParams, Vec<f32>);
    impl burn::module::ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(p.id) {
                self.1.extend(g.try_to_vec_as::<f32>().unwrap());
            }
        }
    }
    let mut c = Collect(grads, Vec::new());
    model.visit(&mut c);
    c.1
}

/// Accumulation as `train_step` does it (each batch's loss over n, gradients summed) on two
/// batches of 2 sentences equals the gradient of the one batch of all 4: the CRF loss is the
/// mean over sentences, so (mean₁ + mean₂) / 2 = mean of the 4 (dropout 0 so that the two
/// shapes draw no different masks).
#[test]
fn two_accumulated_batches_give_the_gradient_of_the_double_batch() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let variant = Variant {
        dropout: 0.0,
        ..Variant::default()
    };
    let t = variant_trainer(dir.path(), &variant, "");
    let input = |indices: Vec<usize>| {
        let batch = Batch::build(&t.tasks[0].train, &indices, &t.batch_options);
        TaskInput::from_batch(&batch, &t.device).unwrap()
    };
    let mut acc = GradientsAccumulator::<Model>::new();
    let mut losses = Vec::new();
    for half in [vec![0, 1], vec![2, 3]] {
        let (g, loss) = scaled_gradients(&t.model, 0, &input(half), 2).unwrap();
        losses.push(loss);
        acc.accumulate(&t.model, g);
    }
    let summed = all_grads(&t.model, &acc.grads());
    let (g, loss) = scaled_gradients(&t.model, 0, &input(vec![0, 1, 2, 3]), 1).unwrap();
    let whole = all_grads(&t.model, &g);
    assert!(
        (loss - (losses[0] + losses[1]) / 2.0).abs() < 1e-5,
        "{loss} {losses:?}"
    );
    assert_eq!(summed.len(), whole.len());
    assert!(summed.len() > 100);
    for (i, (a, b)) in summed.iter().zip(&whole).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
            "grad {i}: {a} vs {b}"
        );
    }
}

/// `accumulate: 2`: a step takes two batches of the drawn task (one epoch of 5 sentences in
/// batches of 2 is 2 + 2 + 1, so NER's first step sees 4 sentences), logs their mean loss, and
/// the task's step counter (and schedule) advances once per step.
#[test]
fn an_accumulating_step_takes_n_batches_and_steps_once() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let variant = Variant {
        task_extra: r#", "accumulate": 2"#,
        ..Variant::default()
    };
    let mut t = variant_trainer(dir.path(), &variant, "");
    let first = t.train_step().unwrap();
    assert_eq!((first.step, first.task, first.learning_rate), (1, 0, 0.1));
    assert!(
        first.sentences == 4 || first.sentences == 3,
        "{}",
        first.sentences
    );
    let second = t.train_step().unwrap();
    assert_eq!((second.step, second.task), (2, 1));
    let third = t.train_step().unwrap();
    assert_eq!((third.task, third.learning_rate), (0, 0.05));
    assert_eq!(t.state.task_steps, [2, 1]);
    assert_eq!(t.state.loss_counts, [2, 1]);
}

/// NER's `lstm` at its own rate 0.05 under the task's 0.1: SGD's first step (momentum buffer
/// = gradient) moves every LSTM weight by exactly half of what it moves at the task's rate,
/// and the output layer by the same amount, from the same seed and batch.
#[test]
fn a_component_learning_rate_scales_its_update() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let values = |t: &Trainer, c: usize| -> Vec<f32> {
        struct Collect<'a>(&'a mut Vec<f32>);
        impl burn::module::ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
                self.0.extend(p.val().try_to_vec_as::<f32>().unwrap());
            }
        }
        let mut v = Vec::new();
        t.model.components[c].visit(&mut Collect(&mut v));
        v
    };
    let (lstm, ner_out) = (2, 3);
    let mut moves = Vec::new();
    for lstm_extra in ["", r#", "learning_rate": 0.05"#] {
        let dir = tempfile::tempdir().unwrap();
        let variant = Variant {
            lstm_extra,
            ..Variant::default()
        };
        let mut t = variant_trainer(dir.path(), &variant, "");
        let before = [values(&t, lstm), values(&t, ner_out)];
        assert_eq!(t.train_step().unwrap().task, 0);
        let after = [values(&t, lstm), values(&t, ner_out)];
        let delta = |k: usize| -> Vec<f32> {
            after[k]
                .iter()
                .zip(&before[k])
                .map(|(a, b)| a - b)
                .collect()
        };
        moves.push((delta(0), delta(1)));
    }
    let (full, half) = (&moves[0], &moves[1]);
    assert!(full.0.iter().any(|d| d.abs() > 1e-4));
    for (f, h) in full.0.iter().zip(&half.0) {
        assert!((h - 0.5 * f).abs() <= 1e-6 + 1e-3 * f.abs(), "{h} vs {f}/2");
    }
    for (f, h) in full.1.iter().zip(&half.1) {
        assert!((h - f).abs() <= 1e-6 + 1e-3 * f.abs(), "{h} vs {f}");
    }
}

/// Per-task SGD momentum keeps a buffer of each parameter per task that trains it: NER and
/// POS each hold one for every shared parameter (embeddings, char CNN, LSTM) plus their own
/// output layer and CRF. `optimizer_state: "shared"` holds one per parameter: exactly the
/// per-task total minus one copy of the shared parameters.
#[test]
fn a_shared_optimizer_state_keeps_shared_components_once() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let variant = Variant {
        pos_optimizer: r#""optimizer": "sgd", "momentum": 0.9"#,
        ..Variant::default()
    };
    let mut counts = Vec::new();
    let mut bytes = Vec::new();
    for extra in ["", r#", "optimizer_state": "shared""#] {
        let dir = tempfile::tempdir().unwrap();
        let mut t = variant_trainer(dir.path(), &variant, extra);
        t.train_steps(2).unwrap();
        counts.push(
            t.optimizers
                .iter()
                .map(|o| o.num_state_tensors())
                .collect::<Vec<_>>(),
        );
        bytes.push(
            t.optimizers
                .iter()
                .map(|o| o.state_bytes().unwrap())
                .sum::<usize>(),
        );
    }
    struct Count(usize);
    impl burn::module::ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, _: &burn::module::Param<Tensor<D>>) {
            self.0 += 1;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let t = trainer(dir.path(), 100);
    let params = |c: usize| {
        let mut n = Count(0);
        t.model.components[c].visit(&mut n);
        n.0
    };
    // emb, chars, lstm are shared; the rest belong to one task each.
    let shared: usize = (0..3).map(params).sum();
    assert_eq!(counts[1].len(), 1);
    assert_eq!(counts[1][0], counts[0][0] + counts[0][1] - shared);
    assert!(bytes[1] < bytes[0], "{bytes:?}");
}

/// The optimizer-state measurement of the paper's multi-task config (`configs/paper/
/// multitask-nld.json`, 4 tasks, SGD momentum): run with `POLYTAG_DATA` set and
/// `cargo test --release -p polytag-cli -p polytag-train paper_optimizer_state -- --ignored
/// --nocapture`. Round robin so that each task steps once in 4 steps; prints the state tensors
/// and f32 values held per optimizer under `per_task` and `shared`.
#[test]
#[ignore = "needs the shared corpora (POLYTAG_DATA); a measurement, not a check"]
#[allow(clippy::print_stdout)] // the measurement is the output
fn paper_optimizer_state() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/paper/multitask-nld.json");
    for mode in ["per_task", "shared"] {
        let sets = [
            "training.schedule.kind=round_robin".to_string(),
            "training.schedule.task_discount=null".to_string(),
            "training.schedule.lang_discount=null".to_string(),
            format!("training.optimizer_state={mode}"),
        ];
        let overrides: Vec<polytag_config::Override> = sets
            .iter()
            .map(|s| polytag_config::Override::parse(s).unwrap())
            .collect();
        let exp = Experiment::load(&root, &overrides).unwrap().experiment;
        let data = ExperimentData::load(&exp).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create_exact(&dir.path().join("run")).unwrap();
        let mut t = Trainer::new(exp, data, run, Device::flex()).unwrap();
        t.train_steps(4).unwrap();
        let mut floats = 0;
        for (i, o) in t.optimizers.iter().enumerate() {
            let bytes = o.state_bytes().unwrap();
            floats += bytes / 4;
            println!(
                "{mode} optimizer {i}: {} state tensors, {bytes} bytes",
                o.num_state_tensors()
            );
        }
        // Exact count for SGD momentum (one value per parameter value per optimizer that
        // trains it): a component counts once per task using it under `per_task`, once under
        // `shared`; each task head (gate) once.
        struct Numel(usize);
        impl burn::module::ModuleVisitor for Numel {
            fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
                self.0 += p.val().shape().num_elements();
            }
        }
        let numel = |m: &dyn Fn(&mut Numel)| {
            let mut n = Numel(0);
            m(&mut n);
            n.0
        };
        let mut exact = 0;
        for (c, component) in t.model.components.iter().enumerate() {
            let users = t.model.tasks_using(c).len();
            let copies = if mode == "shared" {
                users.min(1)
            } else {
                users
            };
            exact += copies * numel(&|n| component.visit(n));
        }
        for head in &t.model.heads {
            exact += numel(&|n| head.visit(n));
        }
        println!(
            "{mode}: {exact} f32 state values (≈{floats} from the bytes); model {} parameters",
            t.model.summary().total_params
        );
    }
}

/// Prediction-time `extend_vocab`: a word of the input outside the trained vocabulary but in
/// the embedding file gets a row holding the file's vector (the lowercase fallback too, and
/// with the table fine-tuned in training); a word the file lacks stays unknown; a changed
/// or missing file is an error naming it; switched off, nothing is read.
#[test]
fn the_predictor_extends_the_vocabulary_from_the_vector_file() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let vec_path = dir.path().join("emb.vec");
    let mut words: Vec<&str> = TRAIN
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_unstable();
    words.dedup();
    let line = |word: &str, k: usize| {
        let values: Vec<String> = (0..8)
            .map(|i| format!("{}", (k * 8 + i) as f32 / 100.0))
            .collect();
        format!("{word} {}\n", values.join(" "))
    };
    let mut text = String::new();
    for (k, w) in words.iter().enumerate() {
        text.push_str(&line(w, k));
    }
    text.push_str(&line("Zanzibar", 90));
    text.push_str(&line("oslo", 91));
    std::fs::write(&vec_path, &text).unwrap();
    let variant = Variant {
        emb_extra: format!(
            r#", "file": {:?}, "trainable": true"#,
            vec_path.display().to_string()
        ),
        ..Variant::default()
    };
    let (exp, data) = experiment_with(dir.path(), 10, 0.1, "", &variant);
    assert_eq!(
        data.embeddings[&0].added_words, 0,
        "the dev words are all training words"
    );
    let run = dir.path().join("run");
    let t = Trainer::new(
        exp,
        data,
        RunDir::create_exact(&run).unwrap(),
        Device::flex(),
    )
    .unwrap();
    t.run(&mut NoProgress).unwrap();

    let sentence = polytag_data::Sentence {
        tokens: ["Zanzibar", "hires", "Oslo", "Qwerty"]
            .map(String::from)
            .to_vec(),
        labels: Vec::new(),
        features: Vec::new(),
        line: 1,
    };
    let file_row = |k: usize| -> Vec<f32> { (0..8).map(|i| (k * 8 + i) as f32 / 100.0).collect() };
    let mut p = Predictor::load(&run, CheckpointKind::Best).unwrap();
    assert_eq!(p.vector_files(), [("emb", vec_path.as_path())]);
    p.check_vector_files(0).unwrap();
    let before = p.tag(0, std::slice::from_ref(&sentence), 1).unwrap();
    let vocab_len = p.embedding_rows(0) as u32;
    assert_eq!(
        p.embedding_row(0, "Zanzibar").map(|r| r.0),
        Some(polytag_data::UNK)
    );
    let done = p.extend_vocab(0, std::slice::from_ref(&sentence)).unwrap();
    assert_eq!(
        done,
        [crate::VocabExtension {
            component: "emb".into(),
            path: vec_path.clone(),
            candidates: 3,
            added: 2,
        }]
    );
    assert_eq!(
        p.embedding_row(0, "Zanzibar"),
        Some((vocab_len, file_row(90)))
    );
    assert_eq!(
        p.embedding_row(0, "Oslo"),
        Some((vocab_len + 1, file_row(91)))
    );
    assert_eq!(
        p.embedding_row(0, "Qwerty").map(|r| r.0),
        Some(polytag_data::UNK)
    );
    assert_eq!(p.embedding_rows(0), vocab_len as usize + 2);
    // Tagging goes through the new rows (same labels possible, not the same probabilities).
    let after = p.tag(0, std::slice::from_ref(&sentence), 1).unwrap();
    assert_ne!(before[0].confidence, after[0].confidence);
    // Added words stay; the next call only looks for the one still unknown.
    let again = p.extend_vocab(0, std::slice::from_ref(&sentence)).unwrap();
    assert_eq!((again[0].candidates, again[0].added), (1, 0));

    // Switched off: nothing is read, the vocabulary stays.
    let mut off = Predictor::load(&run, CheckpointKind::Best).unwrap();
    off.disable_vocab_extension();
    assert!(off.vector_files().is_empty());
    assert!(off
        .extend_vocab(0, std::slice::from_ref(&sentence))
        .unwrap()
        .is_empty());
    assert_eq!(off.embedding_rows(0), vocab_len as usize);

    // A changed file (one vector of a training word, or one vector more) is refused.
    let changed = text.replacen(
        &line("John", words.iter().position(|w| *w == "John").unwrap()),
        &line("John", 7),
        1,
    );
    for (bad, why) in [
        (changed, "differ from those the run was trained with"),
        (
            text.clone() + &line("extra", 92),
            "vectors where the file the run was trained with held",
        ),
    ] {
        std::fs::write(&vec_path, bad).unwrap();
        let mut p = Predictor::load(&run, CheckpointKind::Best).unwrap();
        let err = p
            .extend_vocab(0, std::slice::from_ref(&sentence))
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::VectorFile { .. }), "{msg}");
        assert!(
            msg.contains(&vec_path.display().to_string()) && msg.contains(why),
            "{msg}"
        );
    }
    // A copy elsewhere is read instead (and checked); a missing file is named.
    let copy = dir.path().join("copy.vec");
    std::fs::write(&copy, &text).unwrap();
    std::fs::remove_file(&vec_path).unwrap();
    let mut p = Predictor::load(&run, CheckpointKind::Best).unwrap();
    let err = p.check_vector_files(0).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "component \"emb\": {}: cannot read",
            vec_path.display()
        )),
        "{err}"
    );
    assert!(p.extend_vocab(0, std::slice::from_ref(&sentence)).is_err());
    assert!(matches!(
        p.set_vector_file("chars", copy.clone()),
        Err(Error::NoVectorFile { .. })
    ));
    p.set_vector_file("emb", copy).unwrap();
    p.check_vector_files(0).unwrap();
    assert_eq!(
        p.extend_vocab(0, std::slice::from_ref(&sentence)).unwrap()[0].added,
        2
    );
}
