//! The `attention` component: a masked multi-head self-attention block with residual +
//! post-LayerNorm and a feed-forward sub-layer (seed-systems B.4, as intended rather than as
//! written):
//!
//! 1. Q, K, V = linear projections of x (`D → D`, with bias);
//! 2. heads by the STANDARD split: `[B, T, D]` → `[B, T, h, d_k]` → `[B, h, T, d_k]` (the seed
//!    reshaped the flattened `T × D` matrix instead, mixing positions into heads \[QUIRK\]);
//! 3. scores per head: `dot` Q·Kᵀ, `scaled_dot` Q·Kᵀ/√d_k, `cosine` (row-normalised Q and K,
//!    scores in [−1, 1], no temperature), `general` Q·W·Kᵀ with one learned `d_k × d_k` matrix
//!    shared by all heads (Xavier-uniform);
//! 4. padded KEYS of each sentence get a large negative score (the seed tiled masks onto the
//!    wrong batch elements \[BUG\]); softmax over keys; context = A·V;
//! 5. heads merged back to `[B, T, D]`; as in the seed there is no output projection;
//!    out = LayerNorm(x + dropout(context));
//! 6. out2 = LayerNorm(out + dropout(W₂ relu(W₁ out + b₁) + b₂)).
//!
//! `num_layers` blocks are stacked. Padded query rows are set to zero at the end of each
//! block, like every other sequence component.
//!
//! On the CPU, `dot` and `scaled_dot` blocks run on the real tokens only, their attention
//! core (steps 2–5) as one kernel and, in training, each residual + layer norm as one recorded
//! op ([`AttentionBlock::forward`]; `cpu::attention`, `cpu::layer_norm`); the burn ops of
//! [`AttentionBlock::forward_with_weights`] are the other devices' path and the reference the
//! kernels are tested against, values and gradients.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};

use crate::cpu::{self, io, Path};
use crate::sequence::TokenRows;

/// Score given to padded keys: exp of it underflows to exactly 0 in the softmax, while staying
/// finite (no NaN for an all-padding row).
const NEG_LARGE: f32 = -1e9;

/// ε of both layer norms, named so that the fused training op ([`cpu::layer_norm`]) uses the
/// same value as the modules (burn keeps it private).
const LAYER_NORM_EPSILON: f64 = 1e-5;

/// How query and key vectors are compared: the config's enum.
pub use polytag_config::Scoring;

/// A block's score function without parameters; `general` scoring is the presence of its
/// matrix ([`AttentionBlock::general`]), so a `general` block without one cannot exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unweighted {
    /// Q·Kᵀ.
    Dot,
    /// Q·Kᵀ / √d_k.
    ScaledDot,
    /// cos(Q, K) ∈ [−1, 1].
    Cosine,
}

/// Configuration of a [`SelfAttention`] block.
#[derive(Config, Debug)]
pub struct AttentionConfig {
    /// Model dimension (input = output); must be divisible by `heads`.
    pub d_model: usize,
    /// Number of heads.
    #[config(default = 4)]
    pub heads: usize,
    /// Score function.
    #[config(default = "Scoring::ScaledDot")]
    pub scoring: Scoring,
    /// Hidden size of the feed-forward sub-layer (512 in seed B).
    #[config(default = 512)]
    pub ffn_size: usize,
    /// Dropout on both residual branches (0.2 in seed B).
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Stacked blocks (1 in seed B; 1–3 tested there).
    #[config(default = 1)]
    pub num_layers: usize,
}

/// A stack of [`AttentionBlock`]s: the `attention` component.
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// The blocks, input first.
    pub blocks: Vec<AttentionBlock>,
}

/// Masked multi-head self-attention + FFN block.
#[derive(Module, Debug)]
pub struct AttentionBlock {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// `d_k × d_k` bilinear form of the `general` scoring, shared by the heads: present iff
    /// the block scores `general` (Q·W·Kᵀ).
    pub general: Option<Param<Tensor<2>>>,
    /// LayerNorm after the attention residual.
    pub norm_attention: LayerNorm,
    /// FFN first layer `D → ffn_size`.
    pub ffn_in: Linear,
    /// FFN second layer `ffn_size → D`.
    pub ffn_out: Linear,
    /// LayerNorm after the FFN residual.
    pub norm_ffn: LayerNorm,
    /// Dropout of the residual branches.
    pub dropout: Dropout,
    /// The score function when there is no `general` matrix.
    #[module(skip)]
    unweighted: Unweighted,
    heads: usize,
}

impl AttentionConfig {
    /// Builds the stack (lazy parameters).
    pub fn init(&self, device: &Device) -> SelfAttention {
        SelfAttention {
            blocks: (0..self.num_layers)
                .map(|_| self.init_block(device))
                .collect(),
        }
    }

    /// Builds one block. `d_model % heads == 0` is checked by the builder, which can name the
    /// config path; here a mismatch falls back to one head rather than panicking.
    pub fn init_block(&self, device: &Device) -> AttentionBlock {
        let d = self.d_model;
        let heads = if d.checked_rem(self.heads) == Some(0) {
            self.heads
        } else {
            1
        };
        let d_k = d / heads;
        let general = (self.scoring == Scoring::General).then(|| {
            Initializer::XavierUniform { gain: 1.0 }.init_with(
                [d_k, d_k],
                Some(d_k),
                Some(d_k),
                device,
            )
        });
        AttentionBlock {
            query: LinearConfig::new(d, d).init(device),
            key: LinearConfig::new(d, d).init(device),
            value: LinearConfig::new(d, d).init(device),
            general,
            norm_attention: LayerNormConfig::new(d)
                .with_epsilon(LAYER_NORM_EPSILON)
                .init(device),
            ffn_in: LinearConfig::new(d, self.ffn_size).init(device),
            ffn_out: LinearConfig::new(self.ffn_size, d).init(device),
            norm_ffn: LayerNormConfig::new(d)
                .with_epsilon(LAYER_NORM_EPSILON)
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            unweighted: match self.scoring {
                Scoring::Dot | Scoring::General => Unweighted::Dot,
                Scoring::ScaledDot => Unweighted::ScaledDot,
                Scoring::Cosine => Unweighted::Cosine,
            },
            heads,
        }
    }
}

impl SelfAttention {
    /// # Shapes
    /// - `x`: `[B, T, D]`, `mask`: `[B, T]` (1.0 = token)
    /// - output: `[B, T, D]`, zero at padded positions
    ///
    /// On the CPU the whole stack runs on the real tokens, packed once (`forward_fused`).
    pub fn forward(&self, mut x: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
        let path = Path::of(&x.device());
        if path != Path::Tensor {
            if let Some(y) = forward_fused(&self.blocks, x.clone(), mask.clone(), path) {
                return y;
            }
        }
        for block in &self.blocks {
            x = block.forward_with_weights(x, mask.clone()).0;
        }
        x
    }

    /// Model dimension (0 for an empty stack).
    pub fn d_model(&self) -> usize {
        self.blocks.first().map_or(0, AttentionBlock::d_model)
    }
}

impl AttentionBlock {
    /// # Shapes
    /// - `x`: `[B, T, D]`, `mask`: `[B, T]` (1.0 = token)
    /// - output: `[B, T, D]`, zero at padded positions
    ///
    /// On the CPU, `dot` and `scaled_dot` blocks run their attention core as one kernel
    /// (`cpu::attention`) and, in training, each residual + layer norm as one op
    /// (`cpu::layer_norm`); other scorings and devices take [`Self::forward_with_weights`].
    pub fn forward(&self, x: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
        let path = Path::of(&x.device());
        if path != Path::Tensor {
            if let Some(y) =
                forward_fused(std::slice::from_ref(self), x.clone(), mask.clone(), path)
            {
                return y;
            }
        }
        self.forward_with_weights(x, mask).0
    }

    /// The kernel's shape and score scale for `d`-wide tokens; `None` for `general` and
    /// `cosine` blocks (burn ops only).
    fn heads(&self, d: usize) -> Option<cpu::attention::Heads> {
        let scale = match (&self.general, self.unweighted) {
            (None, Unweighted::Dot) => 1.0,
            (None, Unweighted::ScaledDot) => 1.0 / ((d / self.heads.max(1)) as f32).sqrt(),
            _ => return None,
        };
        Some(cpu::attention::Heads {
            d,
            heads: self.heads,
            scale,
        })
    }

    /// One block on packed real tokens `x` `[N, D]` of sentences of `lengths`: the attention
    /// core as one kernel (`cpu::attention`) and, in training, each residual + layer norm as
    /// one op (`cpu::layer_norm`).
    fn forward_rows(
        &self,
        x: Tensor<2>,
        lengths: &[usize],
        heads: cpu::attention::Heads,
        path: Path,
    ) -> Option<Tensor<2>> {
        let q = cpu::linear::forward(&self.query, x.clone());
        let k = cpu::linear::forward(&self.key, x.clone());
        let v = cpu::linear::forward(&self.value, x.clone());
        let context = if path == Path::Autodiff {
            cpu::attention::train(q, k, v, lengths, heads)?
        } else {
            let shape = x.dims();
            let (q, k, v) = (io::read(q), io::read(k), io::read(v));
            let context = cpu::attention::context(&q, &k, &v, lengths, heads);
            io::tensor(context, shape, &x.device())
        };
        let dropout = |y| crate::dropout::dropout(&self.dropout, y);
        let out = add_norm(&self.norm_attention, x, dropout(context), path)?;
        let ffn_in = cpu::linear::forward(&self.ffn_in, out.clone());
        let ffn = cpu::linear::forward(&self.ffn_out, relu(ffn_in));
        add_norm(&self.norm_ffn, out, dropout(ffn), path)
    }

    /// As [`Self::forward`], also returning the attention weights `[B, heads, T, T]`
    /// (query × key; rows of padded queries are meaningless, their output is zeroed).
    pub fn forward_with_weights(&self, x: Tensor<3>, mask: Tensor<2>) -> (Tensor<3>, Tensor<4>) {
        let [b, t, d] = x.dims();
        let h = self.heads;
        let d_k = d / h;
        let split = |y: Tensor<3>| y.reshape([b, t, h, d_k]).swap_dims(1, 2); // [B, h, T, d_k]
        let q = split(cpu::linear::forward(&self.query, x.clone()));
        let k = split(cpu::linear::forward(&self.key, x.clone()));
        let v = split(cpu::linear::forward(&self.value, x.clone()));

        let scores = match (&self.general, self.unweighted) {
            (Some(w), _) => {
                let w = w.val().unsqueeze::<4>(); // [1, 1, d_k, d_k], shared by heads
                q.matmul(w).matmul(k.swap_dims(2, 3))
            }
            (None, Unweighted::Dot) => q.matmul(k.swap_dims(2, 3)),
            (None, Unweighted::ScaledDot) => q.matmul(k.swap_dims(2, 3)) / (d_k as f64).sqrt(),
            (None, Unweighted::Cosine) => {
                let qn = unit_rows(q);
                let kn = unit_rows(k);
                qn.matmul(kn.swap_dims(2, 3))
            }
        };
        // padded keys, broadcast over heads and queries
        let key_pad = mask.clone().equal_elem(0.0).reshape([b, 1, 1, t]);
        let weights = softmax(scores.mask_fill(key_pad, NEG_LARGE), 3);
        // heads merged back
        let context = weights.clone().matmul(v).swap_dims(1, 2).reshape([b, t, d]);

        let out = self
            .norm_attention
            .forward(x + crate::dropout::dropout(&self.dropout, context));
        let ffn_in = cpu::linear::forward(&self.ffn_in, out.clone());
        let ffn = cpu::linear::forward(&self.ffn_out, relu(ffn_in));
        let out = self
            .norm_ffn
            .forward(out + crate::dropout::dropout(&self.dropout, ffn));
        (out * mask.unsqueeze_dim::<3>(2), weights)
    }

    /// Model dimension.
    pub fn d_model(&self) -> usize {
        self.query.weight.lazy_shape().dims::<2>()[0]
    }

    /// The score function.
    pub fn scoring(&self) -> Scoring {
        match (&self.general, self.unweighted) {
            (Some(_), _) => Scoring::General,
            (None, Unweighted::Dot) => Scoring::Dot,
            (None, Unweighted::ScaledDot) => Scoring::ScaledDot,
            (None, Unweighted::Cosine) => Scoring::Cosine,
        }
    }
}

/// `blocks` on the CPU paths; `None` where the kernels do not apply (a `general` or `cosine`
/// block, a mask that is not ones then zeros per row, no token at all).
///
/// The stack runs on the real tokens only ([`TokenRows`]): `x` is packed to `[N, D]`
/// (N = Σ lengths) once, and the result put back into a zeroed `[B, T, D]` at the end, so
/// that neither the projections and the FFN (most of a block's arithmetic) nor the layer
/// norms compute padded rows (in file order, a decoding batch of 256 CoNLL-2003 sentences is
/// three quarters padding).
fn forward_fused(
    blocks: &[AttentionBlock],
    x: Tensor<3>,
    mask: Tensor<2>,
    path: Path,
) -> Option<Tensor<3>> {
    let [b, t, d] = x.dims();
    let heads = blocks
        .iter()
        .map(|block| block.heads(d))
        .collect::<Option<Vec<_>>>()?;
    let lengths = cpu::attention::lengths(&io::read(mask), t)?;
    if lengths.iter().all(|&n| n == 0) {
        // nothing to attend to: the tensor path's zeros (no empty products to run)
        return None;
    }
    // without padding the rows are all of `x`'s
    let packed = TokenRows::new(&lengths, t, &x.device());
    let mut x: Tensor<2> = match &packed {
        Some(rows) => rows.pack(x),
        None => x.reshape([b * t, d]),
    };
    for (block, heads) in blocks.iter().zip(heads) {
        x = block.forward_rows(x, &lengths, heads, path)?;
    }
    Some(match packed {
        Some(rows) => rows.unpack(x, b, t),
        None => x.reshape([b, t, d]),
    })
}

/// LayerNorm(x + r): one recorded op on the CPU training device ([`cpu::layer_norm`]), burn's
/// layer norm elsewhere (one pass on the plain CPU device already).
fn add_norm<const D: usize>(
    norm: &LayerNorm,
    x: Tensor<D>,
    r: Tensor<D>,
    path: Path,
) -> Option<Tensor<D>> {
    match (path, &norm.beta) {
        (Path::Autodiff, Some(beta)) => {
            cpu::layer_norm::train(x, r, norm.gamma.val(), beta.val(), LAYER_NORM_EPSILON)
        }
        _ => Some(norm.forward(x + r)),
    }
}

/// Rows scaled to unit L2 norm (the 1e-10 guard of seed B against all-zero rows).
fn unit_rows(x: Tensor<4>) -> Tensor<4> {
    let norm = x.clone().square().sum_dim(3).sqrt() + 1e-10;
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::length_mask;
    use crate::test_support::RNG;
    use burn::tensor::Distribution;

    const ALL: [Scoring; 4] = [
        Scoring::Dot,
        Scoring::ScaledDot,
        Scoring::Cosine,
        Scoring::General,
    ];

    #[test]
    fn every_scoring_has_the_right_shapes_and_zero_weight_on_padded_keys() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        device.seed(5);
        let lengths = [3usize, 5];
        let mask = length_mask(&lengths, 5, &device);
        let x = Tensor::<3>::random([2, 5, 8], Distribution::Normal(0.0, 1.0), &device);
        for scoring in ALL {
            let att = AttentionConfig::new(8)
                .with_heads(2)
                .with_ffn_size(6)
                .with_scoring(scoring)
                .init_block(&device);
            assert_eq!(att.scoring(), scoring);
            assert_eq!(att.general.is_some(), scoring == Scoring::General);
            let (out, w) = att.forward_with_weights(x.clone(), mask.clone());
            assert_eq!(out.dims(), [2, 5, 8]);
            assert_eq!(w.dims(), [2, 2, 5, 5]);
            // sentence 0 has 3 tokens: keys 3 and 4 get exactly zero weight
            let pad_w = w.clone().slice(s![0..1, .., .., 3..5]).abs().sum();
            assert_eq!(pad_w.into_scalar::<f32>(), 0.0, "{scoring:?}");
            // rows sum to one
            let rows: Vec<f32> = w.sum_dim(3).try_to_vec_as().unwrap();
            assert!(rows.iter().all(|r| (r - 1.0).abs() < 1e-5));
            // padded queries output zero
            let pad_q = out.slice(s![0..1, 3..5]).abs().sum();
            assert_eq!(pad_q.into_scalar::<f32>(), 0.0);
        }
    }

    #[test]
    fn cosine_scores_lie_in_minus_one_one() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        device.seed(9);
        let x = Tensor::<4>::random([2, 3, 7, 4], Distribution::Normal(0.0, 10.0), &device);
        let y = Tensor::<4>::random([2, 3, 7, 4], Distribution::Normal(0.0, 10.0), &device);
        let s = unit_rows(x.clone()).matmul(unit_rows(y).swap_dims(2, 3));
        let v: Vec<f32> = s.try_to_vec_as().unwrap();
        assert!(v.iter().all(|&c| (-1.0 - 1e-6..=1.0 + 1e-6).contains(&c)));
        // a vector with itself scores 1
        let own = unit_rows(x.clone()).matmul(unit_rows(x).swap_dims(2, 3));
        let diag: Vec<f32> = own.try_to_vec_as().unwrap();
        for i in 0..7 {
            assert!((diag[i * 7 + i] - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn padded_batch_equals_each_sentence_alone() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        device.seed(21);
        let lengths = [4usize, 2, 6];
        let x = Tensor::<3>::random([3, 6, 8], Distribution::Normal(0.0, 1.0), &device);
        let mask = length_mask(&lengths, 6, &device);
        for scoring in ALL {
            let att = AttentionConfig::new(8)
                .with_heads(4)
                .with_ffn_size(10)
                .with_scoring(scoring)
                .with_num_layers(2)
                .init(&device);
            let full = att.forward(x.clone(), mask.clone());
            for (bi, &len) in lengths.iter().enumerate() {
                let alone = att.forward(
                    x.clone().slice(s![bi..bi + 1, 0..len]),
                    Tensor::ones([1, len], &device),
                );
                let part = full.clone().slice(s![bi..bi + 1, 0..len]);
                let diff = (part - alone).abs().max().into_scalar::<f32>();
                assert!(diff < 1e-5, "{scoring:?} sentence {bi}: {diff}");
            }
        }
    }

    /// The fused path (CPU training device: attention core and both add & norm steps as
    /// recorded ops) and the host path (plain CPU device) give the tensor path's values, and
    /// the fused path its gradients of the input and of every parameter, on a padded batch.
    #[test]
    fn fused_and_host_paths_match_the_tensor_path() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        device.seed(8);
        let lengths = [5usize, 2, 4];
        let mask = length_mask(&lengths, 5, &device);
        // d_k = 20: a 16-lane chunk and a remainder in the kernel's dot products
        let x0 = Tensor::<3>::random([3, 5, 40], Distribution::Normal(0.0, 1.0), &device)
            * mask.clone().unsqueeze_dim::<3>(2);
        let r = Tensor::<3>::random([3, 5, 40], Distribution::Normal(0.0, 1.0), &device);
        for scoring in [Scoring::Dot, Scoring::ScaledDot] {
            let att = AttentionConfig::new(40)
                .with_heads(2)
                .with_ffn_size(24)
                .with_scoring(scoring)
                .with_dropout(0.0)
                .with_num_layers(2)
                .init(&device);
            let run = |fused: bool| {
                let x = x0.clone().detach().require_grad();
                let y = if fused {
                    forward_fused(&att.blocks, x.clone(), mask.clone(), Path::Autodiff)
                        .expect("the fused path applies")
                } else {
                    let mut y = x.clone();
                    for block in &att.blocks {
                        y = block.forward_with_weights(y, mask.clone()).0;
                    }
                    y
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                let flat = |t: Tensor<2>| t.reshape([-1]);
                let mut g: Vec<Tensor<1>> = vec![flat(x.grad(&grads).unwrap().reshape([15, 40]))];
                for block in &att.blocks {
                    for linear in [
                        &block.query,
                        &block.key,
                        &block.value,
                        &block.ffn_in,
                        &block.ffn_out,
                    ] {
                        g.push(flat(linear.weight.val().grad(&grads).unwrap()));
                        g.push(linear.bias.as_ref().unwrap().val().grad(&grads).unwrap());
                    }
                    for norm in [&block.norm_attention, &block.norm_ffn] {
                        g.push(norm.gamma.val().grad(&grads).unwrap());
                        g.push(norm.beta.as_ref().unwrap().val().grad(&grads).unwrap());
                    }
                }
                (y.inner(), g)
            };
            let (y_f, g_f) = run(true);
            let (y_t, g_t) = run(false);
            let host = att
                .valid()
                .forward(x0.clone().inner(), mask.clone().inner());
            let diff = |a: Tensor<3>, b: Tensor<3>| (a - b).abs().max().into_scalar::<f32>();
            assert!(diff(y_f, y_t.clone()) < 1e-5, "{scoring:?}: fused values");
            assert!(diff(host, y_t) < 1e-5, "{scoring:?}: host values");
            assert_eq!(g_f.len(), 1 + 2 * 14);
            for (i, (a, b)) in g_f.into_iter().zip(g_t).enumerate() {
                let scale = b.clone().abs().max().into_scalar::<f32>().max(1.0);
                let d = (a - b).abs().max().into_scalar::<f32>() / scale;
                assert!(d < 1e-4, "{scoring:?}: gradient {i} differs by {d}");
            }
        }
    }

    /// With one head, identity-free check of the head split: for 2 heads, the weights of head
    /// j must equal single-head attention computed on feature slice j only.
    #[test]
    fn standard_head_split_attends_per_feature_slice() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        device.seed(33);
        let att = AttentionConfig::new(4)
            .with_heads(2)
            .with_scoring(Scoring::Dot)
            .with_ffn_size(3)
            .init_block(&device);
        let x = Tensor::<3>::random([1, 3, 4], Distribution::Normal(0.0, 1.0), &device);
        let (_, w) = att.forward_with_weights(x.clone(), Tensor::ones([1, 3], &device));
        let q = att.query.forward(x.clone());
        let k = att.key.forward(x);
        for j in 0..2 {
            let qj = q.clone().slice(s![.., .., 2 * j..2 * j + 2]);
            let kj = k.clone().slice(s![.., .., 2 * j..2 * j + 2]);
            let want = softmax(qj.matmul(kj.swap_dims(1, 2)), 2);
            let got = w.clone().slice(s![.., j..j + 1]).reshape([1, 3, 3]);
            let diff = (want - got).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-6, "head {j}: {diff}");
        }
    }
}
