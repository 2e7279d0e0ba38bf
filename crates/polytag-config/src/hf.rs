//! A Hugging Face `config.json` for the transformer encoders polytag can load (BERT, RoBERTa,
//! XLM-R), read without burn so the config layer can infer widths and check window sizes before
//! any tensor is made.
//!
//! Only what the encoder needs is read; every problem names the file and the key. Unknown keys
//! are ignored (HF configs carry dozens: `architectures`, `torch_dtype`, `id2label`, …).
//!
//! ```
//! use polytag_config::hf::{Family, HfModelConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("config.json"), r#"{"model_type": "xlm-roberta",
//!   "vocab_size": 250002, "hidden_size": 768, "num_hidden_layers": 12,
//!   "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
//!   "layer_norm_eps": 1e-5, "max_position_embeddings": 514, "type_vocab_size": 1,
//!   "pad_token_id": 1}"#).unwrap();
//! let cfg = HfModelConfig::read(dir.path()).unwrap();
//! assert_eq!(cfg.family, Family::Roberta);
//! assert_eq!(cfg.position_offset(), 2); // positions start at pad_token_id + 1
//! assert_eq!(cfg.max_window(), 512);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The architecture family: decides the key prefix (`bert.`/`roberta.`) and the positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `model_type: "bert"`: positions `0..S`.
    Bert,
    /// `model_type: "roberta"` or `"xlm-roberta"`: positions start at `pad_token_id + 1`, pads
    /// sit at `pad_token_id` (HF `create_position_ids_from_input_ids`).
    Roberta,
}

impl Family {
    /// The prefix of the base model's tensors in a `*ForTokenClassification` checkpoint.
    pub fn prefix(self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::Roberta => "roberta",
        }
    }
}

/// The FFN activation (`hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenAct {
    /// `gelu`: the exact erf form (PyTorch `F.gelu`).
    Gelu,
    /// `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation.
    GeluTanh,
    /// `relu`.
    Relu,
}

impl HiddenAct {
    /// The name HF writes in `config.json`.
    pub fn hf_name(self) -> &'static str {
        match self {
            HiddenAct::Gelu => "gelu",
            HiddenAct::GeluTanh => "gelu_new",
            HiddenAct::Relu => "relu",
        }
    }
}

/// The `model_type` values polytag loads.
pub const SUPPORTED_MODEL_TYPES: [&str; 3] = ["bert", "roberta", "xlm-roberta"];
/// The `hidden_act` values polytag computes.
pub const SUPPORTED_HIDDEN_ACTS: [&str; 4] = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

/// The encoder hyper-parameters of a Hugging Face model directory.
#[derive(Debug, Clone, PartialEq)]
pub struct HfModelConfig {
    /// BERT or RoBERTa (incl. XLM-R).
    pub family: Family,
    /// `model_type` as written (`bert`, `roberta`, `xlm-roberta`); kept for export.
    pub model_type: String,
    /// Rows of the word embedding table.
    pub vocab_size: usize,
    /// H, the width of every layer's output.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer (divides `hidden_size`).
    pub num_attention_heads: usize,
    /// Width of the FFN's inner layer.
    pub intermediate_size: usize,
    /// FFN activation.
    pub hidden_act: HiddenAct,
    /// Epsilon of every LayerNorm (HF default 1e-12; burn's default 1e-5 would be wrong).
    pub layer_norm_eps: f64,
    /// Rows of the position embedding table.
    pub max_position_embeddings: usize,
    /// Rows of the token type table (polytag always uses type 0).
    pub type_vocab_size: usize,
    /// Id of the padding token; RoBERTa positions depend on it.
    pub pad_token_id: usize,
    /// Dropout after embeddings, attention output and FFN output.
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// The file this came from (`None` for a from-scratch config).
    pub source: Option<PathBuf>,
    /// The whole JSON object as read, so an export writes back every key the user's model had.
    pub raw: Map<String, Value>,
}

/// Why a `config.json` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HfConfigError {
    /// The file could not be read (usually: the directory is not a HF model directory).
    #[error("cannot read {}: {error}", .path.display())]
    Read {
        /// The `config.json` path.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is not valid JSON (or not an object).
    #[error("{}:{line}:{column}: invalid JSON: {message}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A required key is absent.
    #[error("{}: missing key \"{key}\"", .path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
    },
    /// A key has the wrong JSON type or an unusable value.
    #[error("{}: key \"{key}\": {message}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A value polytag does not implement (model type, activation, position embedding type).
    #[error("{}: key \"{key}\": unsupported value \"{found}\"; supported: {}",
        .path.display(), .supported.join(", "))]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// The value as written.
        found: String,
        /// What would work.
        supported: Vec<&'static str>,
    },
}

impl HfModelConfig {
    /// Reads `dir/config.json`.
    pub fn read(dir: &Path) -> Result<HfModelConfig, HfConfigError> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|error| HfConfigError::Read {
            path: path.clone(),
            error,
        })?;
        Self::from_json_str(&text, &path)
    }

    /// Parses the text of a `config.json`; `path` is only used in messages.
    pub fn from_json_str(text: &str, path: &Path) -> Result<HfModelConfig, HfConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| HfConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let Value::Object(raw) = value else {
            return Err(HfConfigError::Syntax {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: "expected a JSON object".into(),
            });
        };
        let r = Reader { path, obj: &raw };
        let model_type = r.string("model_type")?;
        let family = match model_type.as_str() {
            "bert" => Family::Bert,
            "roberta" | "xlm-roberta" => Family::Roberta,
            _ => return Err(r.unsupported("model_type", &model_type, &SUPPORTED_MODEL_TYPES)),
        };
        let act = r.string("hidden_act")?;
        let hidden_act = match act.as_str() {
            "gelu" => HiddenAct::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" => HiddenAct::GeluTanh,
            "relu" => HiddenAct::Relu,
            _ => return Err(r.unsupported("hidden_act", &act, &SUPPORTED_HIDDEN_ACTS)),
        };
        // Relative/rotary position kinds change attention itself; only absolute is implemented.
        if raw.contains_key("position_embedding_type") {
            let kind = r.string("position_embedding_type")?;
            if kind != "absolute" {
                return Err(r.unsupported("position_embedding_type", &kind, &["absolute"]));
            }
        }
        let cfg = HfModelConfig {
            family,
            model_type,
            vocab_size: r.usize("vocab_size")?,
            hidden_size: r.usize("hidden_size")?,
            num_hidden_layers: r.usize("num_hidden_layers")?,
            num_attention_heads: r.usize("num_attention_heads")?,
            intermediate_size: r.usize("intermediate_size")?,
            hidden_act,
            layer_norm_eps: r.f64_or("layer_norm_eps", 1e-12)?,
            max_position_embeddings: r.usize("max_position_embeddings")?,
            type_vocab_size: r.usize_or("type_vocab_size", 2)?,
            pad_token_id: r.usize_or("pad_token_id", 0)?,
            hidden_dropout_prob: r.f64_or("hidden_dropout_prob", 0.1)?,
            attention_probs_dropout_prob: r.f64_or("attention_probs_dropout_prob", 0.1)?,
            source: Some(path.to_path_buf()),
            raw: raw.clone(),
        };
        cfg.check(path)?;
        Ok(cfg)
    }

    /// A from-scratch BERT (no file): HF `BertConfig` defaults for everything not given
    /// (GELU, eps 1e-12, dropout 0.1, 2 token types, pad id 0).
    pub fn scratch(
        layers: usize,
        heads: usize,
        hidden: usize,
        ffn: usize,
        vocab_size: usize,
        max_positions: usize,
    ) -> HfModelConfig {
        let mut cfg = HfModelConfig {
            family: Family::Bert,
            model_type: "bert".into(),
            vocab_size,
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: ffn,
            hidden_act: HiddenAct::Gelu,
            layer_norm_eps: 1e-12,
            max_position_embeddings: max_positions,
            type_vocab_size: 2,
            pad_token_id: 0,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            source: None,
            raw: Map::new(),
        };
        cfg.raw = cfg.to_json();
        cfg
    }

    /// First position id of a real token: 0 for BERT, `pad_token_id + 1` for RoBERTa/XLM-R.
    pub fn position_offset(&self) -> usize {
        match self.family {
            Family::Bert => 0,
            Family::Roberta => self.pad_token_id + 1,
        }
    }

    /// Subwords per window, specials (CLS/SEP or `<s>`/`</s>`) included, that have a position
    /// embedding: 512 for BERT, 512 for RoBERTa's 514 rows.
    pub fn max_window(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_offset())
    }

    /// Width of one attention head.
    pub fn head_size(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// The hyper-parameters as HF `config.json` keys (for export and from-scratch configs);
    /// keys of the file that polytag does not interpret are kept from [`HfModelConfig::raw`].
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = self.raw.clone();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("model_type", self.model_type.clone().into());
        put("vocab_size", self.vocab_size.into());
        put("hidden_size", self.hidden_size.into());
        put("num_hidden_layers", self.num_hidden_layers.into());
        put("num_attention_heads", self.num_attention_heads.into());
        put("intermediate_size", self.intermediate_size.into());
        if self.raw.get("hidden_act").and_then(Value::as_str).is_none() {
            put("hidden_act", self.hidden_act.hf_name().into());
        }
        put("layer_norm_eps", self.layer_norm_eps.into());
        put(
            "max_position_embeddings",
            self.max_position_embeddings.into(),
        );
        put("type_vocab_size", self.type_vocab_size.into());
        put("pad_token_id", self.pad_token_id.into());
        put("hidden_dropout_prob", self.hidden_dropout_prob.into());
        put(
            "attention_probs_dropout_prob",
            self.attention_probs_dropout_prob.into(),
        );
        put("position_embedding_type", "absolute".into());
        m
    }

    fn check(&self, path: &Path) -> Result<(), HfConfigError> {
        let invalid = |key, message: String| HfConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        };
        for (key, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be at least 1".into()));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(invalid(
                "num_attention_heads",
                format!(
                    "{} heads do not divide hidden_size {}",
                    self.num_attention_heads, self.hidden_size
                ),
            ));
        }
        if self.max_window() < 3 {
            return Err(invalid(
                "max_position_embeddings",
                format!(
                    "{} leaves {} positions after the offset {} (need at least 3: two specials and a subword)",
                    self.max_position_embeddings,
                    self.max_window(),
                    self.position_offset()
                ),
            ));
        }
        if self.pad_token_id >= self.vocab_size {
            return Err(invalid(
                "pad_token_id",
                format!(
                    "{} is not below vocab_size {}",
                    self.pad_token_id, self.vocab_size
                ),
            ));
        }
        for (key, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(invalid(key, format!("{p} is not in [0, 1)")));
            }
        }
        // (written so that NaN fails too)
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 {
            return Err(invalid("layer_norm_eps", "must be positive".into()));
        }
        Ok(())
    }
}

impl fmt::Display for HfModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}×{} ({} heads, FFN {}, vocab {})",
            self.model_type,
            self.num_hidden_layers,
            self.hidden_size,
            self.num_attention_heads,
            self.intermediate_size,
            self.vocab_size
        )
    }
}

/// Typed access to one key with the file in every error.
struct Reader<'a> {
    path: &'a Path,
    obj: &'a Map<String, Value>,
}

impl Reader<'_> {
    fn get(&self, key: &'static str) -> Result<&Value, HfConfigError> {
        self.obj.get(key).ok_or_else(|| HfConfigError::Missing {
            path: self.path.to_path_buf(),
            key,
        })
    }

    fn invalid(&self, key: &'static str, message: String) -> HfConfigError {
        HfConfigError::Invalid {
            path: self.path.to_path_buf(),
            key,
            message,
        }
    }

    fn unsupported(&self, key: &'static str, found: &str, ok: &[&'static str]) -> HfConfigError {
        HfConfigError::Unsupported {
            path: self.path.to_path_buf(),
            key,
            found: found.to_string(),
            supported: ok.to_vec(),
        }
    }

    fn string(&self, key: &'static str) -> Result<String, HfConfigError> {
        match self.get(key)? {
            Value::String(s) => Ok(s.clone()),
            v => Err(self.invalid(key, format!("expected a string, found {v}"))),
        }
    }

    fn usize(&self, key: &'static str) -> Result<usize, HfConfigError> {
        let v = self.get(key)?;
        v.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| self.invalid(key, format!("expected a non-negative integer, found {v}")))
    }

    fn usize_or(&self, key: &'static str, default: usize) -> Result<usize, HfConfigError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(_) => self.usize(key),
        }
    }

    fn f64_or(&self, key: &'static str, default: f64) -> Result<f64, HfConfigError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| self.invalid(key, format!("expected a number, found {v}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{
      "_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
      "architectures": ["BertModel"],
      "attention_probs_dropout_prob": 0.1,
      "gradient_checkpointing": false,
      "hidden_act": "gelu",
      "hidden_dropout_prob": 0.1,
      "hidden_size": 384,
      "initializer_range": 0.02,
      "intermediate_size": 1536,
      "layer_norm_eps": 1e-12,
      "max_position_embeddings": 512,
      "model_type": "bert",
      "num_attention_heads": 12,
      "num_hidden_layers": 6,
      "pad_token_id": 0,
      "position_embedding_type": "absolute",
      "transformers_version": "4.8.2",
      "type_vocab_size": 2,
      "use_cache": true,
      "vocab_size": 30522
    }"#;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn edit(f: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut m: Map<String, Value> = serde_json::from_str(MINILM).unwrap();
        f(&mut m);
        serde_json::to_string_pretty(&m).unwrap()
    }

    #[test]
    fn reads_minilm() {
        let (dir, path) = write(MINILM);
        let c = HfModelConfig::read(dir.path()).unwrap();
        assert_eq!(c.family, Family::Bert);
        assert_eq!(
            (c.vocab_size, c.hidden_size, c.num_hidden_layers),
            (30522, 384, 6)
        );
        assert_eq!((c.num_attention_heads, c.intermediate_size), (12, 1536));
        assert_eq!(c.head_size(), 32);
        assert_eq!(c.hidden_act, HiddenAct::Gelu);
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.position_offset(), 0);
        assert_eq!(c.max_window(), 512);
        assert_eq!(c.source.as_deref(), Some(path.as_path()));
        assert_eq!(
            c.to_string(),
            "bert 6×384 (12 heads, FFN 1536, vocab 30522)"
        );
    }

    #[test]
    fn roberta_positions_offset_by_pad_plus_one() {
        let text = edit(|m| {
            m.insert("model_type".into(), "roberta".into());
            m.insert("pad_token_id".into(), 1.into());
            m.insert("max_position_embeddings".into(), 514.into());
            m.insert("hidden_act".into(), "gelu_new".into());
        });
        let (dir, _) = write(&text);
        let c = HfModelConfig::read(dir.path()).unwrap();
        assert_eq!(c.family, Family::Roberta);
        assert_eq!(c.hidden_act, HiddenAct::GeluTanh);
        assert_eq!(c.position_offset(), 2);
        assert_eq!(c.max_window(), 512);
        assert_eq!(c.family.prefix(), "roberta");
    }

    #[test]
    fn defaults_for_optional_keys() {
        let text = edit(|m| {
            for k in [
                "layer_norm_eps",
                "type_vocab_size",
                "pad_token_id",
                "hidden_dropout_prob",
                "attention_probs_dropout_prob",
                "position_embedding_type",
            ] {
                m.remove(k);
            }
        });
        let (dir, _) = write(&text);
        let c = HfModelConfig::read(dir.path()).unwrap();
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!((c.type_vocab_size, c.pad_token_id), (2, 0));
        assert_eq!(c.hidden_dropout_prob, 0.1);
    }

    #[test]
    fn unsupported_model_type_names_file_value_and_choices() {
        let text = edit(|m| {
            m.insert("model_type".into(), "gpt2".into());
        });
        let (dir, path) = write(&text);
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("model_type") && e.contains("\"gpt2\""), "{e}");
        assert!(e.contains("bert, roberta, xlm-roberta"), "{e}");
    }

    #[test]
    fn unsupported_activation_and_positions() {
        let (dir, _) = write(&edit(|m| {
            m.insert("hidden_act".into(), "silu".into());
        }));
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("hidden_act") && e.contains("silu"), "{e}");
        let (dir, _) = write(&edit(|m| {
            m.insert("position_embedding_type".into(), "relative_key".into());
        }));
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("position_embedding_type") && e.contains("absolute"),
            "{e}"
        );
    }

    #[test]
    fn missing_file_key_and_bad_json() {
        let dir = tempfile::tempdir().unwrap();
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("config.json") && e.starts_with("cannot read"),
            "{e}"
        );

        let (dir, path) = write(&edit(|m| {
            m.remove("hidden_size");
        }));
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("{}: missing key \"hidden_size\"", path.display())
        );

        let (dir, path) = write("{\n  \"model_type\": \"bert\",\n  \"vocab_size\": ,\n}");
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3:", path.display())), "{e}");

        let (dir, _) = write(&edit(|m| {
            m.insert("num_hidden_layers".into(), "six".into());
        }));
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("num_hidden_layers") && e.contains("integer"),
            "{e}"
        );
    }

    #[test]
    fn heads_must_divide_hidden() {
        let (dir, _) = write(&edit(|m| {
            m.insert("num_attention_heads".into(), 5.into());
        }));
        let e = HfModelConfig::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("num_attention_heads") && e.contains("384"),
            "{e}"
        );
    }

    #[test]
    fn scratch_round_trips_through_json() {
        let c = HfModelConfig::scratch(2, 4, 32, 37, 120, 64);
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.max_window(), 64);
        let text = serde_json::to_string(&Value::Object(c.to_json())).unwrap();
        let back = HfModelConfig::from_json_str(&text, Path::new("x/config.json")).unwrap();
        assert_eq!(back.hidden_size, 32);
        assert_eq!(back.intermediate_size, 37);
        assert_eq!(back.family, Family::Bert);
        assert_eq!(back.hidden_act, HiddenAct::Gelu);
    }
}
