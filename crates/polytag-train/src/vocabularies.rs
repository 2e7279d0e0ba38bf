//! [`Vocabularies`]: everything besides the parameters that turns text into a model's input and
//! its output back into labels, saved as `vocab.json` in every checkpoint.
//!
//! Training builds it from the loaded corpora; `polytag eval` / `predict` read it back, so
//! both map tokens, characters, feature values and labels through exactly the same tables (the
//! paper's checkpoint stored its token, label and char vocabularies for the same reason, A.8).

use std::collections::BTreeMap;

use polytag_config::{ComponentKind, Experiment};
use polytag_data::scheme::Scheme;
use polytag_data::{
    subword_vocabs, task_inputs, CharVocab, DataErrors, Encoder, ExperimentData, FeatureVocab,
    FileRecord, InputTables, InputVocab, LabelVocab, SubwordVocab, WordVocab,
};
use polytag_model::{BuildInputs, TaskLabels};
use serde::{Deserialize, Serialize};

/// What a dataset's files look like, beyond the config: needed to read new files like them
/// and to write labels back in their own scheme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The files' tag scheme (declared or detected on the training split); `None` for plain
    /// labels (POS), which are scored by accuracy.
    pub scheme: Option<Scheme>,
    /// File columns read as `Sentence::features`, in that order.
    pub feature_columns: Vec<usize>,
}

/// The vocabularies of an experiment (polytag-data's types, all serde).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vocabularies {
    /// Word vocabulary per `embedding` component (by component index).
    pub words: BTreeMap<usize, WordVocab>,
    /// The character vocabulary.
    pub chars: CharVocab,
    /// Label vocabulary per task type, labels in the training scheme (BIOES for chunks).
    pub labels: BTreeMap<String, LabelVocab>,
    /// Value vocabulary per `feature_embedding` component (by component index).
    pub features: BTreeMap<usize, FeatureVocab>,
    /// Per dataset, in config order.
    pub datasets: Vec<DatasetInfo>,
    /// Per task, the training frequency of each label id (softmax class weights use them, so
    /// a model rebuilt for prediction has the same constants).
    pub label_counts: Vec<Vec<usize>>,
    /// Per `transformer` component (by index): its tokenizer's digest and size. A resumed run
    /// must read the same tokenizer (compared with the rest), and a model rebuilt from a
    /// checkpoint sizes a scratch encoder's embeddings from it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transformers: BTreeMap<usize, TransformerRecord>,
    /// Per `embedding` component with a `file` (by index): what the file held when training
    /// started, so that prediction can check the file it reads again to extend the vocabulary
    /// (`extend_vocab`) is that file. Absent in runs written before polytag recorded it.
    #[serde(default, skip_serializing_if = "EmbeddingFiles::is_empty")]
    pub embedding_files: EmbeddingFiles,
    /// The loaded tokenizers (not saved: a run's copies are read again, [`Self::attach_subwords`]).
    #[serde(skip)]
    pub subwords: Attached,
}

/// What a run records of a transformer's tokenizer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformerRecord {
    /// SHA-256 of its `tokenizer.json`.
    pub tokenizer_sha256: String,
    /// Pieces in its vocabulary.
    pub vocab_size: usize,
    /// Its padding piece.
    pub pad: u32,
}

/// [`FileRecord`]s by component index. Equal unless both sides record a component
/// differently: a run written before the records existed resumes under a build that writes
/// them (a file that changed is caught by the vocabulary it gives anyway).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmbeddingFiles(pub BTreeMap<usize, FileRecord>);

impl EmbeddingFiles {
    /// No records.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for EmbeddingFiles {
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .all(|(c, r)| other.0.get(c).is_none_or(|o| o == r))
    }
}

/// Loaded tokenizers by component index. Always equal: vocabularies compare by what they
/// record ([`TransformerRecord`] digests), not by what happens to be loaded.
#[derive(Clone, Debug, Default)]
pub struct Attached(pub BTreeMap<usize, SubwordVocab>);

impl PartialEq for Attached {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Vocabularies {
    /// The vocabularies of loaded data.
    pub fn from_data(exp: &Experiment, data: &ExperimentData) -> Self {
        let inputs = BuildInputs::from_data(exp, data);
        Vocabularies {
            words: data.words.clone(),
            chars: data.chars.clone(),
            labels: data.labels.clone(),
            features: data.features.clone(),
            datasets: data
                .datasets
                .iter()
                .map(|d| DatasetInfo {
                    scheme: d.scheme,
                    feature_columns: d.feature_columns.clone(),
                })
                .collect(),
            label_counts: inputs.labels.into_iter().map(|l| l.counts).collect(),
            transformers: data
                .subwords
                .iter()
                .map(|(&c, v)| {
                    (
                        c,
                        TransformerRecord {
                            tokenizer_sha256: v.tokenizer.sha256.clone(),
                            vocab_size: v.tokenizer.vocab_size,
                            pad: v.tokenizer.pad,
                        },
                    )
                })
                .collect(),
            embedding_files: EmbeddingFiles(
                data.embeddings
                    .iter()
                    .map(|(&c, e)| (c, FileRecord::new(&e.table, &e.coverage)))
                    .collect(),
            ),
            subwords: Attached(data.subwords.clone()),
        }
    }

    /// Loads the tokenizers of `exp` (resolved against a run's copies) for prediction, and
    /// checks each is the one the run recorded.
    ///
    /// # Errors
    /// An unreadable tokenizer, or one whose digest differs from the record.
    pub fn attach_subwords(&mut self, exp: &Experiment) -> Result<(), DataErrors> {
        let mut errors = Vec::new();
        let subwords = subword_vocabs(exp, &mut errors);
        for (c, vocab) in &subwords {
            let recorded = self
                .transformers
                .get(c)
                .map(|r| r.tokenizer_sha256.as_str());
            if recorded != Some(vocab.tokenizer.sha256.as_str()) {
                errors.push(polytag_data::DataError {
                    config_path: format!("components[{c}]"),
                    error: polytag_data::Error::Tokenizer {
                        path: vocab.tokenizer.path.clone(),
                        message: format!(
                            "SHA-256 {} differs from the {} the run was trained with",
                            vocab.tokenizer.sha256,
                            recorded.unwrap_or("(none recorded)")
                        ),
                    },
                });
            }
        }
        self.subwords = Attached(subwords);
        polytag_config::Errors::check(errors, ())
    }

    /// What the model builder needs, without the data: sizes from the vocabularies, and for
    /// embedding components that name a file, a zero table of the right shape (the real
    /// values come from the checkpoint's parameters).
    pub fn build_inputs(&self, exp: &Experiment) -> BuildInputs {
        let mut vocab_sizes: BTreeMap<usize, usize> =
            self.words.iter().map(|(&c, v)| (c, v.len())).collect();
        vocab_sizes.extend(self.features.iter().map(|(&c, v)| (c, v.len())));
        let mut pretrained = BTreeMap::new();
        for (c, component) in exp.components.iter().enumerate() {
            if let (ComponentKind::Embedding(spec), Some(words)) =
                (&component.kind, self.words.get(&c))
            {
                if spec.file.is_some() {
                    pretrained.insert(c, vec![0.0; words.len() * spec.dimension]);
                }
            }
        }
        let labels = exp
            .tasks
            .iter()
            .enumerate()
            .map(|(t, task)| TaskLabels {
                labels: self
                    .labels
                    .get(&task.task)
                    .map(|v| v.labels().to_vec())
                    .unwrap_or_default(),
                scheme: self
                    .datasets
                    .get(task.dataset)
                    .and_then(|d| d.scheme)
                    .map(|_| polytag_data::TRAINING_SCHEME),
                counts: self.label_counts.get(t).cloned().unwrap_or_default(),
            })
            .collect();
        for (&c, record) in &self.transformers {
            vocab_sizes.insert(c, record.vocab_size);
        }
        BuildInputs {
            vocab_sizes,
            pretrained,
            char_vocab_size: self.chars.len(),
            labels,
            subword_pad: self.transformers.iter().map(|(&c, r)| (c, r.pad)).collect(),
            // Restoring a checkpoint: its parameters replace the pretrained weights.
            load_pretrained: false,
        }
    }

    /// The tables task `task` reads its input through: one per feature, in feature order
    /// (polytag-data's [`polytag_data::task_inputs`], the same rule training used).
    ///
    /// # Errors
    /// A feature whose table is missing from these vocabularies (a run directory written by
    /// another version, or an input polytag cannot encode).
    pub fn task_vocabs(
        &self,
        exp: &Experiment,
        task: usize,
    ) -> Result<TaskVocabs, polytag_data::Error> {
        let spec = &exp.tasks[task];
        let tables = InputTables {
            words: &self.words,
            chars: &self.chars,
            features: &self.features,
            subwords: &self.subwords.0,
        };
        let inputs = task_inputs(exp, task, &tables)?;
        Ok(TaskVocabs {
            inputs,
            labels: self.labels.get(&spec.task).cloned(),
        })
    }
}

/// One task's input and output tables.
#[derive(Clone, Debug)]
pub struct TaskVocabs {
    /// One table per input stream, in the task's feature order.
    pub inputs: Vec<InputVocab>,
    /// The task type's labels (training scheme); `None` if the task type has none.
    pub labels: Option<LabelVocab>,
}

impl TaskVocabs {
    /// An encoder; `with_labels: false` for unlabelled input.
    pub fn encoder(&self, with_labels: bool) -> Encoder<'_> {
        Encoder {
            inputs: &self.inputs,
            labels: if with_labels {
                self.labels.as_ref()
            } else {
                None
            },
        }
    }

    /// The label string of id `id` (`O` for an id the vocabulary does not have, which a model
    /// built from the same vocabulary never produces).
    pub fn label(&self, id: u32) -> &str {
        self.labels
            .as_ref()
            .and_then(|l| l.label(id))
            .unwrap_or("O")
    }
}
