//! Hugging Face `model.safetensors` → [`Bert`], through `burn::store` (transformer-design.md
//! §2): `SafetensorsStore` with a [`KeyRemapper`] from HF names to the module's paths,
//! `PyTorchToBurnAdapter` (transposes Linear weights, LayerNorm `weight/bias` → `gamma/beta`)
//! and `FloatCastAdapter` to F32 (F16/BF16 files would otherwise keep their dtype).
//!
//! Before the store touches a tensor, the file's header is checked against [`hf_params`] so
//! that a wrong file fails before training with the HF tensor name and the file: a missing
//! tensor, a shape that disagrees with `config.json`, a non-float tensor, or a tensor that is
//! neither a parameter of the encoder nor one of the expected leftovers ([`EXPECTED_UNUSED`]:
//! pooler, the position id buffer, pretraining and task heads).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::store::{
    FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter,
    SafetensorsStore,
};
use burn::tensor::DType;
use polytag_config::hf::HfModelConfig;

use super::{Bert, WeightsError};
use crate::error::ModelError;

/// HF names (base model, prefix already removed) → [`Bert`] paths; applied in order to every
/// key, as [`KeyRemapper`] does. LayerNorm `weight/bias` are renamed by the adapter.
pub const REMAP: [(&str, &str); 8] = [
    (r"^(?:bert|roberta)\.", ""),
    (
        r"^encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.",
        "layers.$1.$2.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.attention\.output\.dense\.",
        "layers.$1.attn_out.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.",
        "layers.$1.attn_norm.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.intermediate\.dense\.",
        "layers.$1.ffn_in.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.output\.dense\.",
        "layers.$1.ffn_out.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.output\.LayerNorm\.",
        "layers.$1.out_norm.",
    ),
    (r"^embeddings\.LayerNorm\.", "embeddings.layer_norm."),
];

/// Tensors a checkpoint may hold that the encoder does not use (name after the prefix, or
/// the whole name for heads that sit beside the base model): the pooler (polytag tags tokens,
/// it never pools the sentence), the `position_ids` buffer, pretraining heads (`cls.*`,
/// `lm_head.*`) and a token classifier (`classifier.*`).
pub const EXPECTED_UNUSED: [&str; 5] = [
    "pooler.",
    "embeddings.position_ids",
    "cls.",
    "classifier.",
    "lm_head.",
];

/// What loading did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Parameters set from the file (all of the encoder's).
    pub applied: usize,
    /// File tensors not used (all in [`EXPECTED_UNUSED`]).
    pub unused: usize,
    /// Their names as in the file, sorted.
    pub unused_names: Vec<String>,
}

/// One parameter of the encoder under both names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfParam {
    /// HF name without the `bert.`/`roberta.` prefix.
    pub hf: String,
    /// Path in [`Bert`] (what `burn::store` reports).
    pub burn: String,
    /// Shape in the HF file (Linear weights `[out, in]`).
    pub shape: Vec<usize>,
    /// A Linear weight: burn stores it `[in, out]`, the transpose of the file.
    pub transposed: bool,
}

/// Every parameter of an encoder shaped like `cfg`, embeddings first (the table that both
/// loading and export use).
pub fn hf_params(cfg: &HfModelConfig) -> Vec<HfParam> {
    let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
    let mut t = Table(Vec::new());
    for (name, rows) in [
        ("word_embeddings", cfg.vocab_size),
        ("position_embeddings", cfg.max_position_embeddings),
        ("token_type_embeddings", cfg.type_vocab_size),
    ] {
        let path = format!("embeddings.{name}.weight");
        t.push(&path, &path, vec![rows, h], false);
    }
    t.norm("embeddings.LayerNorm", "embeddings.layer_norm", h);
    for i in 0..cfg.num_hidden_layers {
        let hf = |s: &str| format!("encoder.layer.{i}.{s}");
        let burn = |s: &str| format!("layers.{i}.{s}");
        for qkv in ["query", "key", "value"] {
            t.linear(&hf(&format!("attention.self.{qkv}")), &burn(qkv), h, h);
        }
        t.linear(&hf("attention.output.dense"), &burn("attn_out"), h, h);
        t.norm(&hf("attention.output.LayerNorm"), &burn("attn_norm"), h);
        t.linear(&hf("intermediate.dense"), &burn("ffn_in"), h, f);
        t.linear(&hf("output.dense"), &burn("ffn_out"), f, h);
        t.norm(&hf("output.LayerNorm"), &burn("out_norm"), h);
    }
    t.0
}

/// Builds [`hf_params`].
struct Table(Vec<HfParam>);

impl Table {
    fn push(&mut self, hf: &str, burn: &str, shape: Vec<usize>, transposed: bool) {
        self.0.push(HfParam {
            hf: hf.to_string(),
            burn: burn.to_string(),
            shape,
            transposed,
        });
    }

    /// HF `weight [out, in]`, `bias [out]`; burn keeps the weight as `[in, out]`.
    fn linear(&mut self, hf: &str, burn: &str, d_in: usize, d_out: usize) {
        let (w, b) = (format!("{hf}.weight"), format!("{hf}.bias"));
        self.push(&w, &format!("{burn}.weight"), vec![d_out, d_in], true);
        self.push(&b, &format!("{burn}.bias"), vec![d_out], false);
    }

    /// HF `LayerNorm.{weight,bias}` = burn `{gamma,beta}`.
    fn norm(&mut self, hf: &str, burn: &str, d: usize) {
        self.push(
            &format!("{hf}.weight"),
            &format!("{burn}.gamma"),
            vec![d],
            false,
        );
        self.push(
            &format!("{hf}.bias"),
            &format!("{burn}.beta"),
            vec![d],
            false,
        );
    }
}

/// The name after the `bert.`/`roberta.` prefix (unchanged without one).
fn strip_prefix(name: &str) -> &str {
    name.strip_prefix("bert.")
        .or_else(|| name.strip_prefix("roberta."))
        .unwrap_or(name)
}

fn expected_unused(name: &str) -> bool {
    let bare = strip_prefix(name);
    EXPECTED_UNUSED
        .iter()
        .any(|p| bare == *p || (p.ends_with('.') && (bare.starts_with(p) || name.starts_with(p))))
}

/// One tensor as the safetensors header describes it.
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
}

/// Reads only the JSON header of a safetensors file (8-byte little-endian length, then JSON),
/// so checking names and shapes costs nothing even for a 700 MB file.
fn read_header(file: &Path) -> Result<BTreeMap<String, HeaderEntry>, WeightsError> {
    let bad = |message: String| WeightsError::Read {
        file: file.to_path_buf(),
        message,
    };
    let mut f = std::fs::File::open(file).map_err(|e| bad(e.to_string()))?;
    let file_len = f.metadata().map_err(|e| bad(e.to_string()))?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|e| bad(format!("not a safetensors file (no header length: {e})")))?;
    let n = u64::from_le_bytes(len);
    if n > file_len.saturating_sub(8) || n > 100_000_000 {
        return Err(bad(format!(
            "not a safetensors file (header length {n} in a file of {file_len} bytes)"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|e| bad(e.to_string()))?;
    let json: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("not a safetensors file (header: {e})")))?;
    let mut out = BTreeMap::new();
    for (name, v) in json {
        if name == "__metadata__" {
            continue;
        }
        let dtype = v.get("dtype").and_then(|d| d.as_str());
        let shape = v.get("shape").and_then(|s| s.as_array()).and_then(|s| {
            s.iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<Vec<_>>>()
        });
        let (Some(dtype), Some(shape)) = (dtype, shape) else {
            return Err(bad(format!("header entry {name} lacks a dtype or shape")));
        };
        out.insert(
            name,
            HeaderEntry {
                dtype: dtype.to_string(),
                shape,
            },
        );
    }
    Ok(out)
}

/// Checks the file's tensors against the encoder's parameters (see the module doc); returns
/// the names of the expected leftovers.
fn check_header(
    cfg: &HfModelConfig,
    file: &Path,
    header: &BTreeMap<String, HeaderEntry>,
) -> Result<Vec<String>, WeightsError> {
    let params = hf_params(cfg);
    // old checkpoints name LayerNorm parameters gamma/beta
    let by_hf: BTreeMap<String, &HfParam> = params
        .iter()
        .flat_map(|p| {
            let old =
                p.hf.strip_suffix("LayerNorm.weight")
                    .map(|s| format!("{s}LayerNorm.gamma"))
                    .or_else(|| {
                        p.hf.strip_suffix("LayerNorm.bias")
                            .map(|s| format!("{s}LayerNorm.beta"))
                    });
            std::iter::once((p.hf.clone(), p)).chain(old.map(|o| (o, p)))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut unused = Vec::new();
    let mut unexpected = Vec::new();
    for (name, entry) in header {
        let bare = strip_prefix(name);
        match by_hf.get(bare) {
            Some(p) => {
                if !matches!(entry.dtype.as_str(), "F32" | "F16" | "BF16" | "F64") {
                    return Err(WeightsError::Dtype {
                        file: file.to_path_buf(),
                        tensor: name.clone(),
                        dtype: entry.dtype.clone(),
                    });
                }
                if entry.shape != p.shape {
                    return Err(WeightsError::Shape {
                        file: file.to_path_buf(),
                        tensor: name.clone(),
                        expected: p.shape.clone(),
                        found: entry.shape.clone(),
                    });
                }
                seen.insert(p.hf.clone());
            }
            None if expected_unused(name) => unused.push(name.clone()),
            None => unexpected.push(name.clone()),
        }
    }
    let prefix = header
        .keys()
        .find(|k| strip_prefix(k) != k.as_str())
        .map(|k| &k[..k.len() - strip_prefix(k).len()])
        .unwrap_or("");
    let missing: Vec<&HfParam> = params.iter().filter(|p| !seen.contains(&p.hf)).collect();
    if let Some(first) = missing.first() {
        return Err(WeightsError::Missing {
            file: file.to_path_buf(),
            tensor: format!("{prefix}{}", first.hf),
            expected: first.shape.clone(),
            more: missing.len() - 1,
        });
    }
    if let Some(first) = unexpected.first() {
        return Err(WeightsError::Unexpected {
            file: file.to_path_buf(),
            tensor: first.clone(),
            more: unexpected.len() - 1,
        });
    }
    Ok(unused)
}

impl Bert {
    /// Replaces every parameter with the tensors of a Hugging Face `model.safetensors`
    /// (a `BertModel`, `XLMRobertaModel` or a `*ForTokenClassification` / `*ForMaskedLM`
    /// checkpoint of one: prefixes and heads are handled). The file must match the config
    /// this encoder was built from (normally the `config.json` beside it).
    pub fn load_safetensors(mut self, file: &Path) -> Result<(Bert, LoadReport), ModelError> {
        let header = read_header(file)?;
        let unused_names = check_header(&self.config, file, &header)?;
        let store_error = |message: String| WeightsError::Read {
            file: file.to_path_buf(),
            message,
        };
        let remap = KeyRemapper::from_patterns(REMAP.to_vec())
            .map_err(|e| store_error(format!("key pattern: {e}")))?;
        let mut store = SafetensorsStore::from_file(PathBuf::from(file))
            .with_from_adapter(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32)))
            .remap(remap);
        let result = self
            .load_from(&mut store)
            .map_err(|e| store_error(e.to_string()))?;
        if let Some(e) = result.errors.first() {
            return Err(store_error(e.to_string()).into());
        }
        if let Some((path, _)) = result.missing.first() {
            return Err(store_error(format!("parameter {path} was not set")).into());
        }
        Ok((
            self,
            LoadReport {
                applied: result.applied.len(),
                unused: unused_names.len(),
                unused_names,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::prelude::*;

    /// Paths of every float parameter of a module.
    #[derive(Default)]
    pub(crate) struct Paths {
        stack: Vec<String>,
        out: Vec<String>,
    }

    impl ModuleVisitor for Paths {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.stack.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.stack.pop();
        }
        fn visit_float<const D: usize>(&mut self, _: &Param<Tensor<D>>) {
            self.out.push(self.stack.join("."));
        }
    }

    #[test]
    fn table_covers_the_module_and_the_remapper_agrees() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let cfg = HfModelConfig::scratch(2, 2, 8, 12, 30, 16);
        let bert = Bert::new(&cfg, &Device::flex());
        let mut paths = Paths::default();
        bert.visit(&mut paths);
        let table = hf_params(&cfg);
        let mut burn: Vec<_> = table.iter().map(|p| p.burn.clone()).collect();
        burn.sort();
        paths.out.sort();
        assert_eq!(burn, paths.out);
        assert_eq!(table.len(), 5 + 2 * 16);

        let remap = KeyRemapper::from_patterns(REMAP.to_vec()).unwrap();
        for p in &table {
            for name in [
                p.hf.clone(),
                format!("bert.{}", p.hf),
                format!("roberta.{}", p.hf),
            ] {
                let mut key = name.clone();
                for (re, to) in remap.to_regex_pairs() {
                    key = re.replace_all(&key, to.as_str()).to_string();
                }
                // the adapter renames LayerNorm weight/bias
                let key = match key.rsplit_once('.') {
                    Some((m, "weight")) if m.ends_with("norm") => format!("{m}.gamma"),
                    Some((m, "bias")) if m.ends_with("norm") => format!("{m}.beta"),
                    _ => key,
                };
                assert_eq!(key, p.burn, "{name}");
            }
        }
    }

    #[test]
    fn expected_unused_names() {
        for ok in [
            "pooler.dense.weight",
            "bert.pooler.dense.bias",
            "embeddings.position_ids",
            "roberta.embeddings.position_ids",
            "cls.predictions.bias",
            "classifier.weight",
            "lm_head.dense.weight",
        ] {
            assert!(expected_unused(ok), "{ok}");
        }
        for bad in ["embeddings.token_type_ids", "decoder.weight", "poolerx"] {
            assert!(!expected_unused(bad), "{bad}");
        }
    }
}
