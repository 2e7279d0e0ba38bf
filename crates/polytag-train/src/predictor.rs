//! [`Predictor`]: a trained model loaded from a run directory, for `polytag eval` and
//! `polytag predict`.
//!
//! It reads only the checkpoint (config, vocabularies, parameters), never the training data,
//! and tags through the same [`decode_sentences`] path as train-time evaluation, so its output
//! on a dev file is exactly what the run scored.

use std::path::Path;

use burn::prelude::*;
use polytag_config::Experiment;
use polytag_data::scheme::{convert, Scheme};
use polytag_data::{BatchOptions, ReaderOptions, Sentence};
use polytag_model::Model;

use crate::checkpoint::CheckpointDir;
use crate::decode::{batch_options, decode_sentences, Want};
use crate::error::{Error, Result};
use crate::run_dir::{CheckpointKind, RunDir};
use crate::vocabularies::{TaskVocabs, Vocabularies};

mod export;
mod extend;
pub use export::HfExport;
pub use extend::VocabExtension;

/// Sentences per batch when tagging (the paper's evaluation batch, A.5, unless the config
/// says otherwise).
const DEFAULT_BATCH: usize = 100;

/// One tagged sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Tagged {
    /// The best labels, in the dataset's own scheme.
    pub labels: Vec<String>,
    /// Per token, the model's probability of the label chosen there (CRF marginal or softmax
    /// probability of the training-scheme label).
    pub confidence: Vec<f32>,
    /// The k most probable label sequences in the dataset's own scheme, best first, when
    /// `nbest > 1`. BIOES paths that read the same in the file's scheme are merged (their
    /// probabilities summed), so the first may differ from `labels`, the single best path.
    pub nbest: Vec<(Vec<String>, f64)>,
}

/// A trained model ready to tag.
#[derive(Debug)]
pub struct Predictor {
    exp: Experiment,
    vocabs: Vocabularies,
    tasks: Vec<TaskVocabs>,
    model: Model,
    device: Device,
    batch_options: BatchOptions,
    checkpoint: CheckpointDir,
    /// The vector file of each `embedding` component that extends its vocabulary from it at
    /// prediction time ([`Predictor::extend_vocab`]).
    vector_files: std::collections::BTreeMap<usize, std::path::PathBuf>,
}

/// Every task's input vocabularies, in task order (at load, and again when
/// [`Predictor::extend_vocab`] has grown a word vocabulary).
fn all_task_vocabs(exp: &Experiment, vocabs: &Vocabularies) -> Result<Vec<TaskVocabs>> {
    (0..exp.tasks.len())
        .map(|t| {
            vocabs.task_vocabs(exp, t).map_err(|source| Error::Data {
                context: format!("task {:?}: input vocabularies", exp.tasks[t].name),
                source,
            })
        })
        .collect()
}

impl Predictor {
    /// Loads checkpoint `which` (`best` normally) of the run in `run_dir`, on the CPU.
    pub fn load(run_dir: &Path, which: CheckpointKind) -> Result<Predictor> {
        Self::load_on(run_dir, which, Device::flex())
    }

    /// [`Predictor::load`] on a given (non-autodiff) device.
    pub fn load_on(run_dir: &Path, which: CheckpointKind, device: Device) -> Result<Predictor> {
        let run = RunDir::open(run_dir)?;
        let checkpoint = CheckpointDir::open(&run, which)?;
        let exp = checkpoint.experiment()?;
        crate::transformers::verify_copies(&exp, run.path())?;
        let mut vocabs = checkpoint.vocabularies()?;
        vocabs.attach_subwords(&exp).map_err(Error::LoadData)?;
        let model = checkpoint.model(&exp, &vocabs, &device)?.valid();
        let tasks = all_task_vocabs(&exp, &vocabs)?;
        Ok(Predictor {
            batch_options: batch_options(&exp),
            vector_files: extend::vector_files(&exp),
            exp,
            vocabs,
            tasks,
            model,
            device,
            checkpoint,
        })
    }

    /// The experiment the model was trained in.
    pub fn experiment(&self) -> &Experiment {
        &self.exp
    }

    /// Global step of the loaded checkpoint.
    pub fn step(&self) -> u64 {
        self.checkpoint.manifest.step
    }

    /// [`Error::UnknownTask`] for `name`, listing the run's task names.
    fn unknown_task(&self, name: String) -> Error {
        let known: Vec<&str> = self.exp.tasks.iter().map(|t| t.name.as_str()).collect();
        Error::UnknownTask {
            name,
            known: known.join(", "),
        }
    }

    /// The index of the task named `name`; `None` gives the ref task.
    pub fn task_index(&self, name: Option<&str>) -> Result<usize> {
        match name {
            None => Ok(self.exp.target()),
            Some(n) => self
                .exp
                .task_index(n)
                .ok_or_else(|| self.unknown_task(n.to_string())),
        }
    }

    /// How to read files like the task's dataset (its parser block, its feature columns).
    pub fn reader_options(&self, task: usize) -> ReaderOptions {
        let dataset = self.exp.dataset_of(task);
        let columns = self
            .vocabs
            .datasets
            .get(self.exp.tasks[task].dataset)
            .map(|d| d.feature_columns.clone())
            .unwrap_or_default();
        polytag_data::experiment::reader_options(&dataset.parser, columns)
    }

    /// The task's dataset's own tag scheme (`None`: plain labels such as POS).
    pub fn file_scheme(&self, task: usize) -> Option<Scheme> {
        self.vocabs
            .datasets
            .get(self.exp.tasks.get(task)?.dataset)
            .and_then(|d| d.scheme)
    }

    /// Tags sentences (only tokens and feature columns are read; labels are ignored).
    ///
    /// Labels come back in the dataset's own scheme, with the per-token probability of each
    /// chosen label and, for `nbest > 1`, the k best paths with their probabilities.
    pub fn tag(&self, task: usize, sentences: &[Sentence], nbest: usize) -> Result<Vec<Tagged>> {
        let vocabs = self
            .tasks
            .get(task)
            .ok_or_else(|| self.unknown_task(format!("#{task}")))?;
        let encoder = vocabs.encoder(false);
        let encoded = sentences
            .iter()
            .map(|s| encoder.encode(s, Path::new("<input>")))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|source| Error::Data {
                context: format!("task {:?}: encoding the input", self.exp.tasks[task].name),
                source,
            })?;
        let batch_size = if self.exp.training.eval_batch_size > 0 {
            self.exp.training.eval_batch_size
        } else {
            DEFAULT_BATCH
        };
        let decoded = decode_sentences(
            &self.model,
            task,
            &encoded,
            &self.device,
            batch_size,
            &self.batch_options,
            Want {
                marginals: true,
                // Distinct BIOES paths can be one path in the file's scheme (an unterminated
                // `B- I-` and `B- E-` are both `B- I-` in BIO): ask for more, merge below.
                nbest: if nbest > 1 && self.file_scheme(task).is_some() {
                    4 * nbest
                } else {
                    nbest
                },
            },
        )?;
        let scheme = self.file_scheme(task);
        let to_file = |ids: &[u32]| {
            let labels: Vec<String> = ids.iter().map(|&id| vocabs.label(id).to_string()).collect();
            match scheme {
                Some(s) => convert(&labels, s),
                None => labels,
            }
        };
        let num_labels = vocabs.labels.as_ref().map_or(0, |l| l.len());
        Ok(decoded
            .into_iter()
            .map(|d| {
                let confidence = d
                    .path
                    .iter()
                    .enumerate()
                    .map(|(i, &id)| {
                        d.marginals
                            .as_ref()
                            .and_then(|m| m.get(i * num_labels + id as usize))
                            .copied()
                            .unwrap_or(f32::NAN)
                    })
                    .collect();
                Tagged {
                    labels: to_file(&d.path),
                    confidence,
                    nbest: merge_paths(
                        d.nbest
                            .iter()
                            .map(|p| (to_file(&p.labels), f64::from(p.log_prob).exp())),
                        nbest,
                    ),
                }
            })
            .collect())
    }
}

/// Sums the probabilities of paths that are equal once written in the file's scheme and keeps
/// the `k` most probable, best first (ties keep decoding order).
fn merge_paths(
    paths: impl IntoIterator<Item = (Vec<String>, f64)>,
    k: usize,
) -> Vec<(Vec<String>, f64)> {
    let mut merged: Vec<(Vec<String>, f64)> = Vec::new();
    for (labels, p) in paths {
        match merged.iter_mut().find(|(l, _)| *l == labels) {
            Some(entry) => entry.1 += p,
            None => merged.push((labels, p)),
        }
    }
    merged.sort_by(|a, b| b.1.total_cmp(&a.1));
    merged.truncate(k);
    merged
}

#[cfg(test)]
mod merge_tests {
    use super::merge_paths;

    fn p(s: &str, x: f64) -> (Vec<String>, f64) {
        (s.split(' ').map(str::to_string).collect(), x)
    }

    /// Two BIOES paths that are one BIO path: 0.5 + 0.2 = 0.7 beats the 0.3 path.
    #[test]
    fn equal_paths_merge_and_sort_by_summed_probability() {
        let out = merge_paths([p("B-X I-X", 0.5), p("O O", 0.3), p("B-X I-X", 0.2)], 2);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, ["B-X", "I-X"]);
        assert!((out[0].1 - 0.7).abs() < 1e-12);
        assert_eq!(out[1].0, ["O", "O"]);
        assert_eq!(merge_paths([p("O", 1.0)], 3).len(), 1);
    }
}
