//! One encoder layer (HF `BertLayer`): self-attention with an output projection, then the
//! feed-forward block, each followed by dropout, the residual and a LayerNorm (post-LN).

use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::{gelu, gelu_approximate, relu, softmax};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use polytag_config::hf::{HfModelConfig, HiddenAct};

use crate::dropout::dropout;

/// Score given to padded keys before the softmax: its weight underflows to exactly 0 in f32,
/// as HF's additive `finfo(float32).min` does.
const PAD_SCORE: f32 = -1e30;

/// HF's `_init_weights` for Linear weights and embedding tables: N(0, `initializer_range`
/// = 0.02).
pub(crate) fn hf_init() -> Initializer {
    Initializer::Normal {
        mean: 0.0,
        std: 0.02,
    }
}

/// One post-LN encoder layer. Field names follow transformer-design.md §2.2 (`self` is a
/// keyword, hence `query` rather than `attention.self.query`).
#[derive(Module, Debug)]
pub struct BertLayer {
    /// `attention.self.query`, `[H, H]` (burn layout: input × output).
    pub query: Linear,
    /// `attention.self.key`.
    pub key: Linear,
    /// `attention.self.value`.
    pub value: Linear,
    /// `attention.output.dense`.
    pub attn_out: Linear,
    /// `attention.output.LayerNorm`.
    pub attn_norm: LayerNorm,
    /// `intermediate.dense`, `[H, F]`.
    pub ffn_in: Linear,
    /// `output.dense`, `[F, H]`.
    pub ffn_out: Linear,
    /// `output.LayerNorm`.
    pub out_norm: LayerNorm,
    /// `hidden_dropout_prob`, after the attention output and the FFN output.
    pub dropout: Dropout,
    /// `attention_probs_dropout_prob`, on the attention weights.
    pub attn_dropout: Dropout,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    act: HiddenAct,
}

impl BertLayer {
    /// Weights N(0, 0.02), biases 0, LayerNorm 1 / 0 (HF `_init_weights`).
    pub fn new(cfg: &HfModelConfig, device: &Device) -> BertLayer {
        let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
        let linear = |i: usize, o: usize| {
            let mut l = LinearConfig::new(i, o)
                .with_initializer(hf_init())
                .init(device);
            l.bias = Some(Initializer::Zeros.init([o], device));
            l
        };
        let norm = || {
            LayerNormConfig::new(h)
                .with_epsilon(cfg.layer_norm_eps)
                .init(device)
        };
        BertLayer {
            query: linear(h, h),
            key: linear(h, h),
            value: linear(h, h),
            attn_out: linear(h, h),
            attn_norm: norm(),
            ffn_in: linear(h, f),
            ffn_out: linear(f, h),
            out_norm: norm(),
            dropout: DropoutConfig::new(cfg.hidden_dropout_prob).init(),
            attn_dropout: DropoutConfig::new(cfg.attention_probs_dropout_prob).init(),
            heads: cfg.num_attention_heads,
            act: cfg.hidden_act,
        }
    }

    /// # Shapes
    /// - `x`: `[W, S, H]`, `key_pad`: `[W, 1, 1, S]` (true = padded key) → `[W, S, H]`
    pub fn forward(&self, x: Tensor<3>, key_pad: Tensor<4, Bool>) -> Tensor<3> {
        let [w, s, d] = x.dims();
        let h = self.heads;
        let dh = d / h;
        let split = |t: Tensor<3>| t.reshape([w, s, h, dh]).swap_dims(1, 2); // [W, h, S, dh]
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x.clone()));
        let context = if !x.device().is_autodiff() {
            // Inference: burn's fused attention (scale 1/√dh by default; flex runs a flash
            // kernel for long windows, so the [W, h, S, S] scores are never materialised —
            // 400 MB for 32 windows of 512). It has no dropout, which inference has none of.
            attention(
                q,
                k,
                v,
                Some(key_pad),
                None,
                AttentionModuleOptions::default(),
            )
        } else {
            let scores = q.matmul(k.swap_dims(2, 3)) / (dh as f64).sqrt();
            let probs = softmax(scores.mask_fill(key_pad, PAD_SCORE), 3);
            dropout(&self.attn_dropout, probs).matmul(v)
        };
        let context = context.swap_dims(1, 2).reshape([w, s, d]);
        let x = self
            .attn_norm
            .forward(x + dropout(&self.dropout, self.attn_out.forward(context)));
        let inner = self.ffn_in.forward(x.clone());
        let inner = match self.act {
            HiddenAct::Gelu => gelu(inner),
            HiddenAct::GeluTanh => gelu_approximate(inner),
            HiddenAct::Relu => relu(inner),
        };
        self.out_norm
            .forward(x + dropout(&self.dropout, self.ffn_out.forward(inner)))
    }
}
