//! [`Bert`] + a token classifier → a Hugging Face `*ForTokenClassification` directory
//! (`config.json`, `model.safetensors`, and the tokenizer files copied from the source model),
//! readable by `transformers.AutoModelForTokenClassification.from_pretrained`.
//!
//! What a run can export (for `polytag export RUN --format hf OUT`, wired by the CLI): HF's
//! token classifier is exactly encoder → dropout → `Linear(H, labels)` → softmax per subword,
//! read at the first subword of each word. A polytag task whose decoder is `softmax` over the
//! transformer feature alone, with one linear output layer and no gate/encoder/highway in
//! between, maps onto it one to one. Anything else has no HF equivalent and should be refused
//! with the reason rather than exported lossy: a `crf` decoder (HF token classification has no
//! transition scores; dropping them changes the predictions), extra encoders (BiLSTM) or
//! concatenated features (char CNN, word embeddings) between the encoder and the output, and
//! the universal + specific gated output. A multi-task run exports one task, chosen by
//! `--task` (required when the run has several): the shared encoder plus that task's head.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use polytag_config::hf::Family;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use serde_json::{Map, Value};

use super::load::hf_params;
use super::{Bert, WeightsError};
use crate::error::ModelError;

/// Tokenizer files copied from the source model directory when present, so the export is a
/// complete model directory.
const TOKENIZER_FILES: [&str; 6] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "sentencepiece.bpe.model",
    "added_tokens.json",
];

/// Float parameters of a module by path, as f32 values on the host.
#[derive(Default)]
struct Collect {
    stack: Vec<String>,
    out: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    error: Option<ModelError>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        match host(param.val(), "an encoder parameter") {
            Ok(v) => {
                self.out.insert(self.stack.join("."), v);
            }
            Err(e) => self.error = self.error.take().or(Some(e)),
        }
    }
}

/// Shape and f32 values of a tensor, read back to the host.
fn host<const D: usize>(
    t: Tensor<D>,
    what: &'static str,
) -> Result<(Vec<usize>, Vec<f32>), ModelError> {
    let shape = t.dims().to_vec();
    let values = t
        .try_into_data_as::<f32>()
        .and_then(|d| Ok(d.try_into_vec::<f32>()?))
        .map_err(|source| ModelError::Read { what, source })?;
    Ok((shape, values))
}

/// `[rows, cols]` row-major → `[cols, rows]`.
fn transpose(rows: usize, cols: usize, v: &[f32]) -> Vec<f32> {
    let mut t = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = v[r * cols + c];
        }
    }
    t
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes `out_dir/{config.json, model.safetensors}` (+ tokenizer files of the source model).
///
/// - `classifier`: the output layer in polytag's (burn's) layout, weight `[H, labels]` and
///   bias `[labels]`; written transposed as HF's `classifier.weight [labels, H]`.
/// - `id2label`: label names by index (the task's label vocabulary).
///
/// Tensor names get the family's prefix (`bert.` / `roberta.`), Linear weights are transposed
/// back to `[out, in]`, LayerNorm parameters are named `weight`/`bias`. `config.json` is the
/// source config with `architectures`, `id2label` and `label2id` set.
pub fn export_hf(
    bert: &Bert,
    classifier: (Tensor<2>, Tensor<1>),
    id2label: &[String],
    out_dir: &Path,
) -> Result<(), ModelError> {
    let fail = |message: String| WeightsError::Export {
        path: out_dir.to_path_buf(),
        message,
    };
    let cfg = bert.config();
    let h = cfg.hidden_size;
    let (weight, bias) = classifier;
    let [w_in, w_out] = weight.dims();
    if w_in != h || w_out != id2label.len() || bias.dims() != [id2label.len()] {
        return Err(fail(format!(
            "classifier weight {:?} / bias {:?} does not fit hidden size {h} and {} labels",
            [w_in, w_out],
            bias.dims(),
            id2label.len()
        ))
        .into());
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = id2label.iter().find(|l| !seen.insert(l.as_str())) {
        return Err(fail(format!("label {dup:?} appears twice in id2label")).into());
    }

    let mut collect = Collect::default();
    bert.visit(&mut collect);
    if let Some(e) = collect.error {
        return Err(e);
    }
    let prefix = cfg.family.prefix();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for p in hf_params(cfg) {
        let (shape, values) = collect
            .out
            .remove(&p.burn)
            .ok_or_else(|| fail(format!("the encoder has no parameter {}", p.burn)))?;
        let values = if p.transposed {
            transpose(shape[0], shape[1], &values)
        } else {
            values
        };
        tensors.push((format!("{prefix}.{}", p.hf), p.shape, le_bytes(&values)));
    }
    let (_, w) = host(weight, "the classifier weight")?;
    let w = transpose(h, w_out, &w);
    tensors.push(("classifier.weight".into(), vec![w_out, h], le_bytes(&w)));
    let (_, b) = host(bias, "the classifier bias")?;
    tensors.push(("classifier.bias".into(), vec![w_out], le_bytes(&b)));

    std::fs::create_dir_all(out_dir).map_err(|e| fail(e.to_string()))?;
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| fail(format!("{name}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // transformers refuses safetensors files whose metadata lacks a known "format"
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let file = out_dir.join("model.safetensors");
    safetensors::tensor::serialize_to_file(views, Some(metadata), &file)
        .map_err(|e| fail(format!("writing {}: {e}", file.display())))?;

    let mut config = cfg.to_json();
    let architecture = match cfg.family {
        Family::Bert => "BertForTokenClassification",
        Family::Roberta if cfg.model_type == "xlm-roberta" => "XLMRobertaForTokenClassification",
        Family::Roberta => "RobertaForTokenClassification",
    };
    config.insert("architectures".into(), Value::from(vec![architecture]));
    let id2label_json: Map<String, Value> = id2label
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), Value::from(l.as_str())))
        .collect();
    let label2id: Map<String, Value> = id2label
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), Value::from(i)))
        .collect();
    config.insert("id2label".into(), Value::Object(id2label_json));
    config.insert("label2id".into(), Value::Object(label2id));
    config.remove("num_labels");
    let text =
        serde_json::to_string_pretty(&Value::Object(config)).map_err(|e| fail(e.to_string()))?;
    let config_file = out_dir.join("config.json");
    std::fs::write(&config_file, text + "\n")
        .map_err(|e| fail(format!("writing {}: {e}", config_file.display())))?;

    if let Some(src) = cfg.source.as_deref().and_then(Path::parent) {
        for name in TOKENIZER_FILES {
            let from = src.join(name);
            if from.is_file() {
                std::fs::copy(&from, out_dir.join(name))
                    .map_err(|e| fail(format!("copying {}: {e}", from.display())))?;
            }
        }
    }
    Ok(())
}

/// Polytag's classifier for an exported model as HF computes it: `x W + b` on `[.., H]`.
pub fn classifier_logits(x: Tensor<3>, weight: Tensor<2>, bias: Tensor<1>) -> Tensor<3> {
    x.matmul(weight.unsqueeze::<3>()) + bias.unsqueeze::<3>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_is_row_major() {
        // [[1, 2, 3], [4, 5, 6]] → [[1, 4], [2, 5], [3, 6]]
        assert_eq!(
            transpose(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }

    #[test]
    fn refuses_a_classifier_of_the_wrong_width() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let cfg = polytag_config::hf::HfModelConfig::scratch(1, 2, 8, 12, 20, 16);
        let bert = Bert::new(&cfg, &device);
        let dir = tempfile::tempdir().unwrap();
        let w = Tensor::<2>::zeros([8, 3], &device);
        let b = Tensor::<1>::zeros([3], &device);
        let labels = vec!["O".to_string(), "B-PER".to_string()];
        let e = export_hf(&bert, (w, b), &labels, dir.path()).unwrap_err();
        assert!(e.to_string().contains("2 labels"), "{e}");
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
    }
}
