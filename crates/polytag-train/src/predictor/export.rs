//! `polytag export RUN --format hf OUT`: a trained run as a Hugging Face token classifier.
//!
//! HF's `*ForTokenClassification` is encoder → dropout → `Linear(H, labels)` → softmax, read
//! at the first sub-word of each word. A polytag task maps onto it one to one when it is
//! exactly that: a `transformer` feature alone with `subword_pooling: first`, no encoders or
//! char highway, one linear output layer without a hidden layer (universal or specific, not
//! both: the gate has no HF equivalent) and a `softmax` decoder. Anything else is refused
//! with the reason — a `crf` decoder above all, whose transition scores HF cannot hold (an
//! export without them would predict differently). A multi-task run exports one task (its
//! shared encoder and that task's head), chosen by `--task`, the target task by default.
//!
//! The labels are the training scheme's (BIOES for chunk tasks, as the classifier was trained
//! on them); `id2label` says so, and HF's entity aggregation reads `S-`/`E-` as other tags.

use std::path::{Path, PathBuf};

use polytag_config::{ComponentKind, SubwordPooling, TaskModel};
use polytag_model::component::Component;

use super::Predictor;
use crate::error::{Error, Result};

/// What [`Predictor::export_hf`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct HfExport {
    /// The exported task's name.
    pub task: String,
    /// Its labels, in classifier order.
    pub labels: Vec<String>,
    /// The model directory written.
    pub out: PathBuf,
}

impl Predictor {
    /// Writes task `task` (default: the target task) as a HF token-classification model
    /// directory `out` (`config.json` with `id2label`, `model.safetensors`, the tokenizer
    /// files of the run's copy). Refuses, naming the reason, a task HF cannot represent.
    pub fn export_hf(&self, task: Option<&str>, out: &Path) -> Result<HfExport> {
        let t = self.task_index(task)?;
        let spec = &self.exp.tasks[t];
        let refuse = |why: String| Error::Export {
            task: spec.name.clone(),
            why,
        };
        let pipeline = match &spec.model {
            TaskModel::Tagger(m) => m.clone(),
            TaskModel::LstmCrf(_) => {
                return Err(refuse(
                    "its model is lstm_crf (a BiLSTM and a CRF); HF token classification is a \
                     transformer with a softmax layer"
                        .into(),
                ))
            }
        };
        let name = |c: usize| self.exp.components[c].name.clone();
        let [feature] = pipeline.features[..] else {
            return Err(refuse(format!(
                "it reads {} features; HF token classification reads one transformer",
                pipeline.features.len()
            )));
        };
        match &self.exp.components[feature].kind {
            ComponentKind::Transformer(t) if t.pooling == SubwordPooling::First => {}
            ComponentKind::Transformer(t) => {
                return Err(refuse(format!(
                    "transformer {:?} pools sub-words by {:?}; HF reads the first sub-word only",
                    name(feature),
                    t.pooling
                )))
            }
            _ => {
                return Err(refuse(format!(
                    "its feature {:?} is not a transformer",
                    name(feature)
                )))
            }
        }
        if let Some(e) = pipeline.encoders.first().or(pipeline.char_highway.as_ref()) {
            return Err(refuse(format!(
                "{:?} sits between the encoder and the output layer; HF has no place for it",
                name(*e)
            )));
        }
        let linear = match (pipeline.univ_layer, pipeline.spec_layer) {
            (Some(l), None) | (None, Some(l)) => l,
            _ => {
                return Err(refuse(
                    "it has a universal and a specific output layer with a gate; HF has one \
                     linear layer"
                        .into(),
                ))
            }
        };
        if !matches!(
            self.exp.components[pipeline.decoder].kind,
            ComponentKind::Softmax(_)
        ) {
            return Err(refuse(format!(
                "its decoder {:?} is a CRF: HF token classification has no transition scores, \
                 and dropping them would change the predictions (train with a softmax decoder \
                 to export)",
                name(pipeline.decoder)
            )));
        }
        let Component::Transformer(encoder) = &self.model.components[feature] else {
            unreachable!("component {feature} is a transformer in the config that built it")
        };
        let Component::Linear(layer) = &self.model.components[linear] else {
            unreachable!("component {linear} is a linear in the config that built it")
        };
        if layer.hidden.is_some() {
            return Err(refuse(format!(
                "its output layer {:?} has a hidden layer; HF has one linear layer",
                name(linear)
            )));
        }
        let labels = self.tasks[t]
            .labels
            .as_ref()
            .map(|v| v.labels().to_vec())
            .unwrap_or_default();
        let bias =
            layer.output.bias.as_ref().map(|b| b.val()).ok_or_else(|| {
                refuse(format!("its output layer {:?} has no bias", name(linear)))
            })?;
        polytag_model::transformer::export_hf(
            &encoder.bert,
            (layer.output.weight.val(), bias),
            &labels,
            out,
        )
        .map_err(|source| Error::Model {
            context: format!("cannot export to {}", out.display()),
            source: Box::new(source),
        })?;
        Ok(HfExport {
            task: spec.name.clone(),
            labels,
            out: out.to_path_buf(),
        })
    }
}
