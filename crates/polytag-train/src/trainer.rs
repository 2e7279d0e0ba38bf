//! The training loop (design.md §4; seed-systems A.7.1 with its bugs fixed).
//!
//! One global step = one batch of one task: the [`Scheduler`] draws the task, its
//! [`TrainBatches`] stream gives the batch, the task's loss is backpropagated, gradients are
//! clipped by global norm (embedding tables excluded unless `clip_embeddings`), and the task's
//! own optimizer steps at the rate its [`LrScheduler`] gives for the task's own step counter
//! (components with their own `learning_rate` at that rate times the schedule's factor).
//! With `accumulate: N` a step takes N batches of the drawn task and steps once on their mean
//! gradient, so every checkpoint falls on an optimizer-step boundary.
//! Every `eval_freq` steps (and at the end) every task is scored on dev and test; the ref
//! task's dev score drives [`Selection`] (best checkpoint, predictions, early stopping).
//!
//! Resuming is exact: nothing random depends on state that is not saved. Dropout masks come
//! from reseeding the backend with (seed, step) before every step (burn-0.22-notes §7), task
//! draws and batch orders come from seeded streams whose positions are saved, and parameters
//! and optimizer states are saved bit for bit ([`crate::checkpoint`]).

use std::collections::HashSet;
use std::time::Instant;

use burn::module::ParamId;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use polytag_config::{Experiment, OptimizerState};
use polytag_data::scheme::Scheme;
use polytag_data::{Batch, BatchOptions, EncodedSentence, ExperimentData, TrainBatches};
use polytag_model::{BuildInputs, Model, TaskInput};
use serde_json::json;

use crate::checkpoint::{write_checkpoint, Checkpoint, CheckpointDir, TrainState};
use crate::clip::{clip_grad_norm, embedding_params};
use crate::decode::batch_options;
use crate::error::{Error, Result};
use crate::evaluate::{evaluate_split, predictions_conll, EvalContext};
use crate::lr::{LrSchedule, LrScheduler};
use crate::metrics_log::{MetricsLog, MetricsRecord};
use crate::progress::Progress;
use crate::report::{build_report, RunFacts};
use crate::run_dir::{utc_timestamp, CheckpointKind, RunDir};
use crate::scheduler::{Scheduler, TaskInfo};
use crate::selection::Selection;
use crate::vocabularies::{TaskVocabs, Vocabularies};
use polytag_run::seed::derive_seed;
use polytag_run::Error as RunError;

/// Stream ids for seeds derived from the experiment seed.
const STEP_STREAM: u64 = 0x6472_6f70_6f75_7421;
const BATCH_STREAM: u64 = 0x6261_7463_6865_7321;
const SCHEDULE_STREAM: u64 = 0x7363_6865_6475_6c65;
const MICRO_STREAM: u64 = 0x6d69_6372_6f62_6174;

/// Sets the number of CPU threads of the backend (rayon's global pool; `training.threads`).
/// Call before the first tensor operation.
pub fn configure_threads(threads: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| Error::Threads {
            threads,
            message: e.to_string(),
        })
}

/// The number of CPU threads the backend computes with: rayon's global pool, as
/// [`configure_threads`] set it or, by default, one per core.
pub fn backend_threads() -> usize {
    rayon::current_num_threads()
}

/// What one training step did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutcome {
    /// The global step just done (the first step is 1).
    pub step: u64,
    /// Index of the task trained.
    pub task: usize,
    /// Its batch loss (finite: a non-finite loss is [`Error::Diverged`]); with `accumulate`
    /// the mean of the step's batch losses.
    pub loss: f64,
    /// The learning rate the task's optimizer applied.
    pub learning_rate: f64,
    /// Sentences in the step's batches.
    pub sentences: usize,
    /// Real (unpadded) tokens in the step's batches.
    pub tokens: usize,
}

/// One task's data and tables.
struct TaskRuntime {
    name: String,
    vocabs: TaskVocabs,
    /// The dataset's own scheme (`None`: plain labels).
    scheme: Option<Scheme>,
    dataset: usize,
    train: Vec<EncodedSentence>,
    dev: Vec<EncodedSentence>,
    test: Option<Vec<EncodedSentence>>,
    /// Evaluated at every evaluation (`require_eval`, or the ref task).
    evaluate: bool,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// Global steps done.
    pub steps: u64,
    /// Whether early stopping ended it.
    pub stopped_early: bool,
    /// The best evaluation's step and ref dev score.
    pub best: Option<(u64, f64)>,
    /// `report.json`.
    pub report_json: std::path::PathBuf,
    /// `report.md`.
    pub report_md: std::path::PathBuf,
}

/// A training run in progress.
pub struct Trainer {
    exp: Experiment,
    data: ExperimentData,
    vocabs: Vocabularies,
    tasks: Vec<TaskRuntime>,
    run_dir: RunDir,
    /// The training device (autodiff).
    device: Device,
    /// The same device without autodiff, for evaluation.
    eval_device: Device,
    model: Model,
    /// One per task, or one for all with `training.optimizer_state: "shared"`.
    optimizers: Vec<crate::optim::TaskOptimizer>,
    rates: crate::optim::ComponentRates,
    lr: Vec<LrScheduler>,
    scheduler: Scheduler,
    batches: Vec<TrainBatches>,
    selection: Selection,
    metrics: MetricsLog,
    embedding_ids: HashSet<ParamId>,
    batch_options: BatchOptions,
    state: TrainState,
    /// When this process started training (elapsed time adds to `state.elapsed_s`).
    session_start: Instant,
    elapsed_at_start: f64,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("experiment", &self.exp.name)
            .field("run_dir", &self.run_dir)
            .field("step", &self.state.step)
            .finish_non_exhaustive()
    }
}

impl Trainer {
    /// A new run of `exp` on its loaded `data` in `run_dir` (created and empty); `device` is
    /// the plain device (autodiff is added here). Writes `config.json`; the model's weights
    /// depend only on `exp.seed`.
    pub fn new(
        exp: Experiment,
        data: ExperimentData,
        run_dir: RunDir,
        device: Device,
    ) -> Result<Self> {
        crate::checkpoint::write_json(&run_dir.config_path(), &exp.to_raw())?;
        let digests = crate::transformers::copy_into_run(&exp, run_dir.path())?;
        for (c, vocab) in &data.subwords {
            let copied = digests.get(c).and_then(|d| d.get("tokenizer.json"));
            if copied != Some(&vocab.tokenizer.sha256) {
                return Err(RunError::StateMismatch {
                    what: "transformer tokenizer",
                    expected: format!("{} as loaded", vocab.tokenizer.path.display()),
                    found: "a different file when copied into the run (changed meanwhile?)".into(),
                }
                .into());
            }
        }
        let metrics = run_dir.metrics_log()?;
        Self::fresh(exp, data, run_dir, device, metrics)
    }

    /// Continues the run in `run_dir` (its `config.json` resolved into `exp`, its corpora
    /// loaded into `data`) from its last checkpoint; without one it starts over. The
    /// vocabularies built from the data must equal the checkpoint's (the corpora must not
    /// have changed).
    pub fn resume(
        exp: Experiment,
        data: ExperimentData,
        run_dir: RunDir,
        device: Device,
    ) -> Result<Self> {
        run_dir.recover()?;
        crate::transformers::verify_copies(&exp, run_dir.path())?;
        let ckpt = match CheckpointDir::open(&run_dir, CheckpointKind::Last) {
            Ok(c) => c,
            Err(Error::NoCheckpoint { .. }) => {
                tracing::warn!(
                    "no checkpoint yet in {}: starting over",
                    run_dir.path().display()
                );
                let metrics = MetricsLog::open_for_resume(&run_dir.metrics_path(), 0)?;
                return Self::fresh(exp, data, run_dir, device, metrics);
            }
            Err(e) => return Err(e),
        };
        let vocabs = Vocabularies::from_data(&exp, &data);
        if ckpt.vocabularies()? != vocabs {
            return Err(RunError::StateMismatch {
                what: "vocabularies",
                expected: "the vocabularies of the corpora as they are now".into(),
                found: format!(
                    "different ones in {} (have the corpora changed?)",
                    ckpt.path.display()
                ),
            }
            .into());
        }
        let state = ckpt.train_state()?;
        let train_device = device.clone().autodiff();
        let model = ckpt.model(&exp, &vocabs, &train_device)?;
        let metrics = MetricsLog::open_for_resume(&run_dir.metrics_path(), state.step)?;
        let mut trainer = Self::assemble(
            exp, data, vocabs, run_dir, device, model, metrics, state.seed,
        )?;
        let mut optimizers = Vec::with_capacity(trainer.optimizers.len());
        for (t, fresh) in std::mem::take(&mut trainer.optimizers)
            .into_iter()
            .enumerate()
        {
            optimizers.push(ckpt.optimizer(t, fresh)?);
        }
        trainer.optimizers = optimizers;
        let infos = task_infos(&trainer.exp, &trainer.data);
        trainer.scheduler =
            Scheduler::restore(&trainer.exp.training.schedule, &infos, &state.scheduler)?;
        if state.batches.len() != trainer.tasks.len() || state.lr.len() != trainer.tasks.len() {
            return Err(RunError::StateMismatch {
                what: "training state",
                expected: format!("{} tasks", trainer.tasks.len()),
                found: format!("{} batch streams", state.batches.len()),
            }
            .into());
        }
        for (t, task) in trainer.tasks.iter().enumerate() {
            let lengths = task.train.iter().map(EncodedSentence::bucket_len).collect();
            let dataset = trainer.exp.dataset_of(t);
            trainer.batches[t] = TrainBatches::resume(
                lengths,
                dataset.batch_size,
                dataset.batching.into(),
                &state.batches[t],
            )
            .map_err(|source| Error::Data {
                context: format!("resuming the batches of task {:?}", task.name),
                source,
            })?;
            trainer.lr[t].restore(state.lr[t].clone())?;
        }
        trainer.selection = state.selection.clone();
        trainer.elapsed_at_start = state.elapsed_s;
        trainer.state = state;
        tracing::info!(
            step = trainer.state.step,
            "resumed {} from {}",
            trainer.exp.name,
            ckpt.path.display()
        );
        Ok(trainer)
    }

    fn fresh(
        exp: Experiment,
        data: ExperimentData,
        run_dir: RunDir,
        device: Device,
        metrics: MetricsLog,
    ) -> Result<Self> {
        let train_device = device.clone().autodiff();
        // Weights depend only on the seed: seed, build, draw every lazy parameter now.
        train_device.seed(exp.seed);
        let model = polytag_model::build(&exp, &BuildInputs::from_data(&exp, &data), &train_device)
            .map_err(Error::Build)?;
        model.force_init();
        let vocabs = Vocabularies::from_data(&exp, &data);
        let seed = exp.seed;
        Self::assemble(exp, data, vocabs, run_dir, device, model, metrics, seed)
    }

    /// Everything but the restored state: tasks encoded, fresh optimizers and streams.
    #[allow(clippy::too_many_arguments)] // private; each argument is one part of the trainer
    fn assemble(
        exp: Experiment,
        data: ExperimentData,
        vocabs: Vocabularies,
        run_dir: RunDir,
        device: Device,
        model: Model,
        metrics: MetricsLog,
        seed: u64,
    ) -> Result<Self> {
        let mut tasks = Vec::with_capacity(exp.tasks.len());
        let target = exp.target();
        for (t, spec) in exp.tasks.iter().enumerate() {
            let task_vocabs = vocabs.task_vocabs(&exp, t).map_err(|source| Error::Data {
                context: format!("task {:?}: input vocabularies", spec.name),
                source,
            })?;
            let dataset = &data.datasets[spec.dataset];
            let encoder = task_vocabs.encoder(true);
            let encode = |corpus: &polytag_data::Corpus| {
                encoder.encode_corpus(corpus).map_err(|source| Error::Data {
                    context: format!("task {:?}: encoding {}", spec.name, corpus.path.display()),
                    source,
                })
            };
            let train = encode(&dataset.train)?;
            let dev = encode(&dataset.dev)?;
            let test = dataset.test.as_ref().map(&encode).transpose()?;
            tasks.push(TaskRuntime {
                name: spec.name.clone(),
                scheme: dataset.scheme,
                dataset: spec.dataset,
                train,
                dev,
                test,
                evaluate: spec.hyper.require_eval || t == target,
                vocabs: task_vocabs,
            });
        }
        let infos = task_infos(&exp, &data);
        let scheduler = Scheduler::new(
            &exp.training.schedule,
            &infos,
            derive_seed(seed, SCHEDULE_STREAM, 0),
        )?;
        let probabilities = scheduler.probabilities();
        let mut optimizers = Vec::with_capacity(tasks.len());
        let mut lr = Vec::with_capacity(tasks.len());
        let mut batches = Vec::with_capacity(tasks.len());
        for (t, spec) in exp.tasks.iter().enumerate() {
            if t == 0 || exp.training.optimizer_state == OptimizerState::PerTask {
                // Shared: config validation made every task's optimizer settings equal.
                optimizers.push(crate::optim::TaskOptimizer::new(
                    &spec.hyper.optimizer,
                    spec.hyper.weight_decay,
                    spec.hyper.decay_norm_and_bias,
                ));
            }
            let expected = (exp.training.max_step as f64 * probabilities[t]).ceil() as u64;
            lr.push(
                LrScheduler::new(
                    spec.hyper.learning_rate,
                    LrSchedule::from(&spec.hyper.lr_schedule),
                    expected.max(1),
                )
                .map_err(|e| match e {
                    RunError::InvalidValue {
                        path,
                        value,
                        expected,
                    } => RunError::InvalidValue {
                        path: format!("tasks[{t}].{path}"),
                        value,
                        expected,
                    },
                    other => other,
                })?,
            );
            let lengths = tasks[t]
                .train
                .iter()
                .map(EncodedSentence::bucket_len)
                .collect();
            batches.push(
                TrainBatches::new(
                    lengths,
                    exp.dataset_of(t).batch_size,
                    exp.dataset_of(t).batching.into(),
                    derive_seed(seed, BATCH_STREAM, t as u64),
                )
                .map_err(|source| Error::Data {
                    context: format!("task {:?}: training batches", spec.name),
                    source,
                })?,
            );
        }
        let selection = Selection::new(
            exp.training.patience.map(|p| p.min(u32::MAX as u64) as u32),
            0.0,
        )?;
        let n = tasks.len();
        let state = TrainState {
            step: 0,
            seed,
            task_steps: vec![0; n],
            scheduler: scheduler.state(),
            batches: batches.iter().map(TrainBatches::state).collect(),
            lr: lr.iter().map(LrScheduler::state).collect(),
            selection: selection.clone(),
            loss_sums: vec![0.0; n],
            loss_counts: vec![0; n],
            train_tokens: vec![0; n],
            train_time_s: 0.0,
            elapsed_s: 0.0,
            finished: false,
            stopped_early: false,
        };
        let embedding_ids = embedding_params(&model);
        let rates = crate::optim::ComponentRates::new(&exp, &model);
        let eval_device = device.clone().inner();
        Ok(Trainer {
            batch_options: batch_options(&exp),
            exp,
            data,
            vocabs,
            tasks,
            run_dir,
            device: device.autodiff(),
            eval_device,
            model,
            optimizers,
            rates,
            lr,
            scheduler,
            batches,
            selection,
            metrics,
            embedding_ids,
            state,
            session_start: Instant::now(),
            elapsed_at_start: 0.0,
        })
    }

    /// The run directory.
    pub fn run_dir(&self) -> &RunDir {
        &self.run_dir
    }

    /// Global steps done so far.
    pub fn step(&self) -> u64 {
        self.state.step
    }

    /// The model being trained.
    pub fn model(&self) -> &Model {
        &self.model
    }

    fn elapsed(&self) -> f64 {
        self.elapsed_at_start + self.session_start.elapsed().as_secs_f64()
    }

    /// Trains until `max_step` or early stopping, evaluating, checkpointing and finally
    /// writing `report.json` / `report.md`.
    pub fn run(mut self, progress: &mut dyn Progress) -> Result<RunSummary> {
        let training = self.exp.training.clone();
        self.session_start = Instant::now();
        tracing::info!(
            "training {} in {}: {} tasks, step {} of {}, {} parameters",
            self.exp.name,
            self.run_dir.path().display(),
            self.tasks.len(),
            self.state.step,
            training.max_step,
            self.model.summary().total_params
        );
        let own_rates: Vec<String> = self
            .exp
            .components
            .iter()
            .filter_map(|c| Some(format!("{} at {}", c.name, c.learning_rate?)))
            .collect();
        tracing::info!(
            "optimizer state {:?} ({} optimizer(s)); components at their own learning rate: {}",
            training.optimizer_state,
            self.optimizers.len(),
            if own_rates.is_empty() {
                "none".to_string()
            } else {
                own_rates.join(", ")
            }
        );
        progress.begin(self.state.step, training.max_step);
        let log_every = (training.eval_freq / 5).max(1);
        let mut window = (Instant::now(), self.state.step);
        while !self.state.finished && self.state.step < training.max_step {
            let StepOutcome {
                step, task, loss, ..
            } = self.train_step()?;
            progress.step(step, &self.tasks[task].name, loss);
            if step.is_multiple_of(log_every) {
                let rate = (step - window.1) as f64 / window.0.elapsed().as_secs_f64().max(1e-9);
                tracing::info!(
                    "step {step}/{}: {} loss {loss:.4}, {rate:.1} steps/s",
                    training.max_step,
                    self.tasks[task].name
                );
                window = (Instant::now(), step);
            }
            let end = step >= training.max_step;
            if step.is_multiple_of(training.eval_freq) || end {
                let (stop, summary) = self.evaluate_all()?;
                progress.evaluated(step, &summary);
                if stop {
                    tracing::info!(
                        "early stop at step {step}: {} evaluations without improvement",
                        self.selection.bad_evals()
                    );
                    self.state.stopped_early = true;
                    self.state.finished = true;
                }
            }
            if end {
                self.state.finished = true;
            }
            if step.is_multiple_of(training.checkpoint_freq) || self.state.finished {
                self.save_last()?;
            }
        }
        if !self.state.finished {
            // max_step lowered below the checkpoint's step on resume: nothing left to do.
            self.state.finished = true;
            self.save_last()?;
        }
        progress.finish();
        self.write_report()
    }

    /// Runs `n` more steps exactly as [`Trainer::run`] runs them (the scheduler's task draw,
    /// the task's seeded batch stream, the per-step dropout seed, loss, backward, global-norm
    /// clipping, the task's optimizer at its scheduled rate) but with no evaluation,
    /// checkpoint, metrics record or report, and regardless of `max_step`: for callers that
    /// time or inspect the steps themselves (`polytag bench`).
    pub fn train_steps(&mut self, n: u64) -> Result<Vec<StepOutcome>> {
        (0..n).map(|_| self.train_step()).collect()
    }

    /// One step: `accumulate` batches of the scheduled task (forward, backward, gradients
    /// summed over the mean loss), clip, one optimizer step.
    fn train_step(&mut self) -> Result<StepOutcome> {
        let started = Instant::now();
        let task = self.scheduler.next_task();
        let step = self.state.step + 1;
        let n = self.exp.tasks[task].hyper.accumulate;
        let step_seed = derive_seed(self.state.seed, STEP_STREAM, step);
        let mut accumulated = GradientsAccumulator::<Model>::new();
        let (mut loss_sum, mut sentences, mut tokens) = (0.0, 0, 0);
        for k in 0..n {
            // Batch 0 keeps the per-step dropout seed that runs without accumulation use.
            let seed = if k == 0 {
                step_seed
            } else {
                derive_seed(step_seed, MICRO_STREAM, k)
            };
            self.device.seed(seed);
            let (grads, loss) = self.batch_gradients(task, step, n)?;
            loss_sum += loss.0;
            sentences += loss.1;
            tokens += loss.2;
            if n == 1 {
                return self.finish_step(task, step, grads, loss_sum, sentences, tokens, started);
            }
            accumulated.accumulate(&self.model, grads);
        }
        let grads = accumulated.grads();
        self.finish_step(
            task,
            step,
            grads,
            loss_sum / n as f64,
            sentences,
            tokens,
            started,
        )
    }

    /// Forward and backward of the task's next batch (see [`scaled_gradients`]). Returns the
    /// gradients and (unscaled loss, sentences, real tokens).
    fn batch_gradients(
        &mut self,
        task: usize,
        step: u64,
        n: u64,
    ) -> Result<(GradientsParams, (f64, usize, usize))> {
        let batch = {
            let indices = self.batches[task].next_batch();
            Batch::build(&self.tasks[task].train, indices, &self.batch_options)
        };
        let name = &self.tasks[task].name;
        let model_err = |source| Error::Model {
            context: format!("step {step}, task {name:?}"),
            source: Box::new(source),
        };
        let input = TaskInput::from_batch(&batch, &self.device).map_err(model_err)?;
        let (grads, loss_value) =
            scaled_gradients(&self.model, task, &input, n).map_err(model_err)?;
        if !loss_value.is_finite() {
            return Err(Error::Diverged {
                step,
                task: name.clone(),
                loss: loss_value,
            });
        }
        Ok((grads, (loss_value, batch.batch_size, batch.num_tokens())))
    }

    /// Clipping and the optimizer step on the step's gradients, then the counters.
    #[allow(clippy::too_many_arguments)] // private; the parts of one step's outcome
    fn finish_step(
        &mut self,
        task: usize,
        step: u64,
        mut grads: GradientsParams,
        loss_value: f64,
        sentences: usize,
        tokens: usize,
        started: Instant,
    ) -> Result<StepOutcome> {
        let hyper = &self.exp.tasks[task].hyper;
        if let Some(max_norm) = hyper.gradient_clipping {
            let none = HashSet::new();
            let exclude = if hyper.clip_embeddings {
                &none
            } else {
                &self.embedding_ids
            };
            clip_grad_norm(&self.model, &mut grads, max_norm, exclude);
        }
        let task_step = self.state.task_steps[task];
        let lr = self.lr[task].lr(task_step);
        // One optimizer per task, or a single one shared by all (`optimizer_state: "shared"`).
        let index = task.min(self.optimizers.len() - 1);
        let opt = &mut self.optimizers[index];
        self.model = if self.rates.is_empty() {
            opt.step(lr, self.model.clone(), grads)
        } else {
            let rates = self.rates.at(lr, self.lr[task].factor(task_step));
            opt.step(rates, self.model.clone(), grads)
        };
        self.state.step = step;
        self.state.task_steps[task] += 1;
        self.state.loss_sums[task] += loss_value;
        self.state.loss_counts[task] += 1;
        self.state.train_tokens[task] += tokens as u64;
        self.state.train_time_s += started.elapsed().as_secs_f64();
        Ok(StepOutcome {
            step,
            task,
            loss: loss_value,
            learning_rate: lr,
            sentences,
            tokens,
        })
    }

    /// Evaluates every task on dev and test, logs the records, updates plateau schedules and
    /// selection, writes the best checkpoint and predictions on improvement. Returns whether
    /// to stop, and a one-line summary.
    fn evaluate_all(&mut self) -> Result<(bool, String)> {
        let step = self.state.step;
        let valid = self.model.valid();
        let ctx = EvalContext {
            model: &valid,
            device: &self.eval_device,
            batch_size: self.exp.training.eval_batch_size,
            batch_options: &self.batch_options,
        };
        let target = self.exp.target();
        let wall = self.elapsed();
        let mut records = Vec::new();
        let mut predictions = Vec::new();
        let mut dev_scores: Vec<Option<f64>> = vec![None; self.tasks.len()];
        let mut lines = Vec::new();
        for (t, task) in self.tasks.iter().enumerate() {
            if !task.evaluate {
                continue;
            }
            let dataset = &self.data.datasets[task.dataset];
            let mut splits = vec![("dev", &dataset.dev, &task.dev)];
            if let (Some(corpus), Some(encoded)) = (&dataset.test, &task.test) {
                splits.push(("test", corpus, encoded));
            }
            let mut line = format!("{}:", task.name);
            for (split, corpus, encoded) in splits {
                let r = evaluate_split(&ctx, t, &task.vocabs, corpus, encoded, task.scheme)?;
                let mut metrics = r.metrics;
                if self.state.loss_counts[t] > 0 {
                    metrics.insert(
                        "train_loss".into(),
                        json!(self.state.loss_sums[t] / self.state.loss_counts[t] as f64),
                    );
                }
                metrics.insert("train_batches".into(), json!(self.state.loss_counts[t]));
                if split == "dev" {
                    dev_scores[t] = Some(r.score);
                }
                line.push_str(&format!(" {split} {:.4}", r.score));
                predictions.push((
                    task.name.clone(),
                    split,
                    predictions_conll(corpus, &r.predicted, task.scheme),
                ));
                records.push(MetricsRecord {
                    step,
                    task: task.name.clone(),
                    split: split.to_string(),
                    score: r.score,
                    metrics,
                    learning_rate: Some(self.lr[t].lr(self.state.task_steps[t])),
                    task_step: Some(self.state.task_steps[t]),
                    loss: None,
                    wall_time_s: wall,
                });
            }
            lines.push(line);
        }
        self.metrics.append_all(&records)?;
        self.state.loss_sums.fill(0.0);
        self.state.loss_counts.fill(0);
        for (t, score) in dev_scores.iter().enumerate() {
            if let Some(score) = *score {
                if self.lr[t].observe(score) {
                    tracing::info!(
                        "step {step}: {} learning rate reduced to {}",
                        self.tasks[t].name,
                        self.lr[t].lr(self.state.task_steps[t])
                    );
                }
            }
        }
        let ref_score = dev_scores[target].unwrap_or(f64::NAN);
        let verdict = self.selection.observe(step, ref_score);
        for line in &lines {
            tracing::info!("step {step}: {line}");
        }
        if verdict.improved {
            tracing::info!(
                "step {step}: new best {} dev score {ref_score:.4}; saving checkpoints/best",
                self.tasks[target].name
            );
            let manifest = self.manifest(CheckpointKind::Best, Some(ref_score));
            write_checkpoint(
                &self.run_dir,
                &manifest,
                &self.exp,
                &self.vocabs,
                &self.model,
                None,
            )?;
            for (task, split, text) in &predictions {
                self.run_dir.write_predictions(task, split, text)?;
            }
        }
        let best = self.selection.best().map_or(f64::NAN, |b| b.score);
        let summary = format!(
            "{} dev {ref_score:.4} (best {best:.4}){}",
            self.tasks[target].name,
            if verdict.improved { ", new best" } else { "" }
        );
        Ok((verdict.stop, summary))
    }

    fn manifest(&self, kind: CheckpointKind, ref_dev_score: Option<f64>) -> Checkpoint {
        Checkpoint {
            format: crate::checkpoint::FORMAT,
            kind: kind.as_str().to_string(),
            step: self.state.step,
            experiment: self.exp.name.clone(),
            ref_task: self.exp.target_task().name.clone(),
            ref_dev_score,
            polytag_version: env!("CARGO_PKG_VERSION").to_string(),
            created: utc_timestamp(std::time::SystemTime::now()),
            files: Vec::new(),
            checksums: Default::default(),
        }
    }

    /// Writes `checkpoints/last` with the complete training state.
    fn save_last(&mut self) -> Result<()> {
        self.state.scheduler = self.scheduler.state();
        self.state.batches = self.batches.iter().map(TrainBatches::state).collect();
        self.state.lr = self.lr.iter().map(LrScheduler::state).collect();
        self.state.selection = self.selection.clone();
        self.state.elapsed_s = self.elapsed();
        let manifest = self.manifest(CheckpointKind::Last, None);
        write_checkpoint(
            &self.run_dir,
            &manifest,
            &self.exp,
            &self.vocabs,
            &self.model,
            Some((&self.state, &self.optimizers)),
        )?;
        tracing::debug!(step = self.state.step, "saved checkpoints/last");
        Ok(())
    }

    fn write_report(&self) -> Result<RunSummary> {
        let records: Vec<MetricsRecord> = MetricsLog::read(&self.run_dir.metrics_path())?;
        let summary = self.model.summary();
        let facts = RunFacts {
            exp: &self.exp,
            summary: &summary,
            state: &self.state,
            best: self.selection.best(),
            wall_time_s: self.elapsed(),
            run_dir: self.run_dir.path(),
        };
        let (report, markdown) = build_report(&facts, &records);
        self.run_dir.write_report(&report, &markdown)?;
        tracing::info!(
            "report written to {}",
            self.run_dir.report_md_path().display()
        );
        Ok(RunSummary {
            steps: self.state.step,
            stopped_early: self.state.stopped_early,
            best: self.selection.best().map(|b| (b.step, b.score)),
            report_json: self.run_dir.report_json_path(),
            report_md: self.run_dir.report_md_path(),
        })
    }
}

/// Gradients of `task`'s loss on `input` divided by `n`, so that the gradients of `n` batches
/// summed are the gradient of their mean loss, and the (unscaled) loss. With the CRF's
/// per-sentence mean, `n` batches of b sentences then give exactly the gradient of one batch of
/// n·b (up to rounding); the softmax decoder's per-token mean gives the mean of the batches'
/// token means, equal to the big batch's when the batches hold as many tokens.
/// A non-finite loss is returned as is, before any backward pass.
pub(crate) fn scaled_gradients(
    model: &Model,
    task: usize,
    input: &TaskInput,
    n: u64,
) -> std::result::Result<(GradientsParams, f64), polytag_model::ModelError> {
    let loss = model.loss(task, input)?;
    let loss_value = f64::from(loss.clone().into_scalar::<f32>());
    if !loss_value.is_finite() {
        return Ok((GradientsParams::new(), loss_value));
    }
    let loss = if n > 1 {
        loss.div_scalar(n as f32)
    } else {
        loss
    };
    Ok((
        GradientsParams::from_grads(loss.backward(), model),
        loss_value,
    ))
}

/// The scheduler's view of the tasks.
fn task_infos(exp: &Experiment, data: &ExperimentData) -> Vec<TaskInfo> {
    let target = exp.target();
    exp.tasks
        .iter()
        .enumerate()
        .map(|(t, task)| TaskInfo {
            size: data.datasets[task.dataset].train.len(),
            batch_size: exp.datasets[task.dataset].batch_size,
            language: task.language.clone(),
            task_type: task.task.clone(),
            is_target: t == target,
        })
        .collect()
}

#[cfg(test)]
mod tests;
