//! The one decode path: encoded sentences → length-sorted batches → model → per-sentence
//! results in the original order. Train-time evaluation and [`crate::Predictor`] both go
//! through [`decode_sentences`], so what `polytag predict` prints is what the dev score saw
//! (style.md: train and predict share one encode; burn's text-classification example does not).

use burn::prelude::*;
use polytag_config::{ComponentKind, Experiment};
use polytag_data::{eval_batches, Batch, BatchOptions, EncodedSentence, EvalOrder};
use polytag_model::{Model, ScoredPath, TaskInput};

use crate::error::{Error, Result};

/// What to compute for each sentence besides the best path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Want {
    /// Per-token label probabilities (CRF marginals or softmax).
    pub marginals: bool,
    /// The k best paths when k > 1.
    pub nbest: usize,
}

/// One sentence's decoding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    /// The best label ids (exact Viterbi for a CRF).
    pub path: Vec<u32>,
    /// `len × L` label probabilities, row-major, when asked for.
    pub marginals: Option<Vec<f32>>,
    /// The k best paths, best first, when more than one was asked for.
    pub nbest: Vec<ScoredPath>,
}

/// Batch shapes of an experiment: words padded to at least the widest char-CNN filter (the
/// char CNN pads itself too; this keeps every batch's `L` valid for it regardless).
pub fn batch_options(exp: &Experiment) -> BatchOptions {
    let widest = exp
        .components
        .iter()
        .filter_map(|c| match &c.kind {
            ComponentKind::CharCnn(spec) => Some(spec.max_width()),
            _ => None,
        })
        .max()
        .unwrap_or(1);
    BatchOptions {
        min_char_len: widest,
        max_char_len: None,
    }
}

/// Decodes `sentences` with `model` (an inference copy, `model.valid()`) for task `task`.
///
/// Sentences are batched at most `batch_size` at a time in decreasing length, a batch cut
/// early where its padding would outgrow its tokens (`EvalOrder::Length`); results come back
/// in input order through `Batch::sentence_idx`. A sentence without tokens gets an
/// empty result (readers never produce one; raw text might).
pub fn decode_sentences(
    model: &Model,
    task: usize,
    sentences: &[EncodedSentence],
    device: &Device,
    batch_size: usize,
    opts: &BatchOptions,
    want: Want,
) -> Result<Vec<Decoded>> {
    let task_name = model.task(task).map(|w| w.name.clone()).unwrap_or_default();
    let model_err = |source| Error::Model {
        context: format!("decoding task {task_name:?}"),
        source: Box::new(source),
    };
    let mut out = vec![Decoded::default(); sentences.len()];
    // Only non-empty sentences go to the model; `kept[i]` is the input index of row i.
    let kept: Vec<usize> = (0..sentences.len())
        .filter(|&i| !sentences[i].is_empty())
        .collect();
    let rows: Vec<EncodedSentence> = kept.iter().map(|&i| sentences[i].clone()).collect();
    let lengths: Vec<usize> = rows.iter().map(EncodedSentence::len).collect();
    let batches =
        eval_batches(&lengths, batch_size.max(1), EvalOrder::Length).map_err(|source| {
            Error::Data {
                context: format!("decoding task {task_name:?}"),
                source,
            }
        })?;
    for indices in batches {
        let batch = Batch::build(&rows, &indices, opts);
        let input = TaskInput::from_batch(&batch, device).map_err(model_err)?;
        let paths = model.decode(task, &input).map_err(model_err)?;
        let marginals = if want.marginals {
            Some(model.marginals(task, &input).map_err(model_err)?)
        } else {
            None
        };
        let nbest = if want.nbest > 1 {
            Some(model.nbest(task, &input, want.nbest).map_err(model_err)?)
        } else {
            None
        };
        for (r, (&row, path)) in batch.sentence_idx.iter().zip(paths).enumerate() {
            // `row` indexes `rows`, built from `kept`: in range by construction.
            let slot = &mut out[kept[row]];
            slot.path = path;
            slot.marginals = marginals.as_ref().and_then(|m| m.get(r).cloned());
            slot.nbest = nbest
                .as_ref()
                .and_then(|n| n.get(r).cloned())
                .unwrap_or_default();
        }
    }
    Ok(out)
}
