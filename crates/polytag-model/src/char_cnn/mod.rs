//! The `char_cnn` component: a word's characters → embedding → one valid 1-D convolution per
//! filter width → activation → max over positions, the filters concatenated in config order
//! (seed-systems A.2; Ma & Hovy style).
//!
//! Padding is handled so that a word's vector does not depend on how the batch was padded:
//! words shorter than the widest filter are padded to it (as the paper does, at least 4 chars);
//! a window position takes part in the max only if it lies inside the word, or if it is the
//! first window (the only one a word shorter than the filter has). Every other position is set
//! to a large negative value before the max, so padding never wins. Padded words output zero.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::prelude::*;

use std::sync::Arc;

use crate::activation::{self, Activation};
use crate::cpu::{self, io, Path};
use crate::embedding::{TokenEmbedding, TokenEmbeddingConfig};

/// Value given to windows that must not win the max. Finite, so a masked value times zero
/// stays zero in the backward pass.
const NEG_LARGE: f32 = -1e9;

/// Configuration of a [`CharCnn`].
#[derive(Config, Debug)]
pub struct CharCnnConfig {
    /// Rows of the char table (PAD = 0, UNK = 1 included).
    pub vocab_size: usize,
    /// Char embedding size (`dimension`; 50 in the paper).
    pub dimension: usize,
    /// `(width, count)` per filter, e.g. the paper's `[[2,20],[3,20],[4,20]]`.
    pub filters: Vec<(usize, usize)>,
    /// Non-linearity after the convolution: ReLU in the paper, tanh in seed-systems A′.1.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

/// Character CNN word encoder.
///
/// The tensor path (GPU devices) uses burn's `Conv1d` as is: an unfolded-window matmul was
/// tried and measured slower on the flex CPU backend (`BENCHMARKS.md`). On the CPU the
/// table method of `cpu::char_cnn` replaces it (same outputs, many times faster).
#[derive(Module, Debug)]
pub struct CharCnn {
    /// Char lookup table (row 0 = padding, zero).
    pub embedding: TokenEmbedding,
    /// One valid convolution (with bias) per filter spec, in config order: kernels
    /// `[count, dimension, width]`.
    pub convs: Vec<Conv1d>,
    #[module(skip)]
    widths: Vec<usize>,
    #[module(skip)]
    activation: Activation,
}

impl CharCnnConfig {
    /// Output size: the sum of the filter counts.
    pub fn d_output(&self) -> usize {
        self.filters.iter().map(|&(_, n)| n).sum()
    }

    /// Builds the module (lazy parameters; PyTorch's Conv1d init). Widths and counts must be
    /// positive (the builder checks them with a config path).
    pub fn init(&self, device: &Device) -> CharCnn {
        CharCnn {
            embedding: TokenEmbeddingConfig::new(self.vocab_size, self.dimension).init(device),
            convs: self
                .filters
                .iter()
                .map(|&(width, count)| Conv1dConfig::new(self.dimension, count, width).init(device))
                .collect(),
            widths: self.filters.iter().map(|&(w, _)| w).collect(),
            activation: self.activation,
        }
    }
}

impl CharCnn {
    /// Encodes every word of a batch from its characters.
    ///
    /// # Shapes
    /// - `chars`: `[B, T, L]` char ids, right-padded with 0 (words and sentences)
    /// - `word_mask`: `[B, T]`, 1.0 for real words
    /// - output: `[B, T, Σ counts]`, zero at padded words
    pub fn forward(&self, chars: Tensor<3, Int>, word_mask: Tensor<2>) -> Tensor<3> {
        match Path::of(&chars.device()) {
            Path::Host => self.forward_host(chars, word_mask),
            Path::Autodiff => self
                .forward_autodiff(&chars, &word_mask)
                .unwrap_or_else(|| self.forward_tensor(chars, word_mask)),
            Path::Tensor => self.forward_tensor(chars, word_mask),
        }
    }

    /// [`Self::forward`] as burn ops: the GPU path, and the reference the table method
    /// ([`cpu::char_cnn`]) is tested against.
    fn forward_tensor(&self, chars: Tensor<3, Int>, word_mask: Tensor<2>) -> Tensor<3> {
        let [b, t, l] = chars.dims();
        let device = chars.device();
        let widest = self.widths.iter().copied().max().unwrap_or(1).max(1);
        let (chars, l) = if l < widest {
            let pad = Tensor::<3, Int>::zeros([b, t, widest - l], &device);
            (Tensor::cat(vec![chars, pad], 2), widest)
        } else {
            (chars, l)
        };
        let flat = chars.reshape([b * t, l]);
        let real = flat.clone().not_equal_elem(0).float(); // [BT, L]
        let e = self.embedding.forward(flat).swap_dims(1, 2); // [BT, d, L]: channels first

        let mut outs = Vec::with_capacity(self.convs.len());
        for (conv, &k) in self.convs.iter().zip(&self.widths) {
            // [BT, F, P], P = L − k + 1
            let y = activation::apply(self.activation, conv.forward(e.clone()));
            let [_, f, p] = y.dims();
            // Window p covers chars p..p+k−1: inside the word iff char p+k−1 is real (right
            // padding). Window 0 always counts, so a word shorter than k keeps one window.
            let last_real = real.clone().slice(s![.., k - 1..l]); // [BT, P]
            let first: Vec<f32> = (0..p).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
            let first = Tensor::<2>::from_data(TensorData::new(first, [1, p]), &device);
            let outside = (last_real + first).equal_elem(0.0).unsqueeze_dim::<3>(1); // [BT, 1, P]
            outs.push(
                y.mask_fill(outside, NEG_LARGE)
                    .max_dim(2)
                    .reshape([b * t, f]),
            );
        }
        let d = self.d_output();
        Tensor::cat(outs, 1).reshape([b, t, d]) * word_mask.unsqueeze_dim::<3>(2)
    }

    /// Output size: the sum of the filter counts.
    pub fn d_output(&self) -> usize {
        self.convs
            .iter()
            .map(|c| c.weight.lazy_shape().dims::<3>()[0])
            .sum()
    }

    /// The tables `Q` `[V, K·F]` (`Q[c, j·F + o]` = offset `j` of output channel `o` for char
    /// `c`; zero where `j` is past that filter's width) and the biases `[F]`, as tensors on
    /// the weights' device.
    fn tables(&self) -> (Tensor<2>, Tensor<1>) {
        let device = self.embedding.weight.val().device();
        let dim = self.embedding.dimension();
        let widest = self.widths.iter().copied().max().unwrap_or(1).max(1);
        let offsets: Vec<Tensor<2>> = (0..widest)
            .map(|j| {
                let cols: Vec<Tensor<2>> = self
                    .convs
                    .iter()
                    .zip(&self.widths)
                    .map(|(conv, &k)| {
                        let [f, _, _] = conv.weight.lazy_shape().dims::<3>();
                        if j < k {
                            conv.weight
                                .val()
                                .narrow(2, j, 1)
                                .reshape([f, dim])
                                .transpose()
                        } else {
                            Tensor::zeros([dim, f], &device)
                        }
                    })
                    .collect();
                Tensor::cat(cols, 1)
            })
            .collect();
        let table = self.embedding.weight.val().matmul(Tensor::cat(offsets, 1));
        let bias = Tensor::cat(
            self.convs
                .iter()
                .map(|conv| match &conv.bias {
                    Some(b) => b.val(),
                    None => Tensor::zeros([conv.weight.lazy_shape().dims::<3>()[0]], &device),
                })
                .collect(),
            0,
        );
        (table, bias)
    }

    /// `(width, count)` per filter.
    fn layout(&self) -> Vec<(usize, usize)> {
        self.convs
            .iter()
            .zip(&self.widths)
            .map(|(c, &k)| (k, c.weight.lazy_shape().dims::<3>()[0]))
            .collect()
    }

    /// The words of a batch for the table kernels.
    fn words(&self, chars: Tensor<3, Int>, word_mask: Tensor<2>) -> cpu::char_cnn::Words {
        let [_, _, l] = chars.dims();
        cpu::char_cnn::Words {
            chars: io::read_ids(chars),
            mask: io::read(word_mask).to_vec(),
            l,
            layout: self.layout(),
        }
    }

    /// [`Self::forward`] on the host, for inference on the CPU ([`cpu::char_cnn`]).
    fn forward_host(&self, chars: Tensor<3, Int>, word_mask: Tensor<2>) -> Tensor<3> {
        let [b, t, _] = chars.dims();
        let device = chars.device();
        let d_out = self.d_output();
        let (table, bias) = self.tables();
        let (table, bias) = (io::read(table), io::read(bias));
        let words = self.words(chars, word_mask);
        let out = cpu::char_cnn::encode(&table, &bias, &words, self.activation);
        io::tensor(out, [b, t, d_out], &device)
    }

    /// [`Self::forward`] with the window max as one fused op, on the CPU training device;
    /// `None` where the op does not apply (the caller then takes the tensor path).
    fn forward_autodiff(&self, chars: &Tensor<3, Int>, word_mask: &Tensor<2>) -> Option<Tensor<3>> {
        let [b, t, _] = chars.dims();
        let d_out = self.d_output();
        let (table, bias) = self.tables();
        let words = Arc::new(self.words(chars.clone(), word_mask.clone()));
        let y = cpu::char_cnn::train(table, bias, words)?; // [B·T, F], pre-activation
        Some(
            activation::apply(self.activation, y.reshape([b, t, d_out]))
                * word_mask.clone().unsqueeze_dim::<3>(2),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::length_mask;
    use crate::test_support::RNG;

    fn ids(v: &[&[&[i64]]], l: usize, device: &Device) -> Tensor<3, Int> {
        let b = v.len();
        let t = v.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut data = vec![0i64; b * t * l];
        for (bi, s) in v.iter().enumerate() {
            for (ti, w) in s.iter().enumerate() {
                for (ci, &c) in w.iter().enumerate() {
                    data[(bi * t + ti) * l + ci] = c;
                }
            }
        }
        Tensor::from_data(TensorData::new(data, [b, t, l]), device)
    }

    #[test]
    fn padded_batch_gives_the_same_word_vectors_as_each_sentence_alone() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let cnn = CharCnnConfig::new(20, 6, vec![(2, 4), (3, 5), (4, 3)]).init(&device);
        let s0: &[&[i64]] = &[&[3, 4, 5, 6, 7, 8, 9], &[2], &[5, 6]];
        let s1: &[&[i64]] = &[&[10, 11, 12]];
        let batch = cnn.forward(ids(&[s0, s1], 9, &device), length_mask(&[3, 1], 3, &device));
        assert_eq!(batch.dims(), [2, 3, 12]);
        for (bi, s) in [s0, s1].iter().enumerate() {
            let alone = cnn.forward(
                ids(&[s], s.iter().map(|w| w.len()).max().unwrap(), &device),
                Tensor::ones([1, s.len()], &device),
            );
            let part = batch.clone().slice(s![bi..bi + 1, 0..s.len()]);
            let diff = (part - alone).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-6, "sentence {bi}: {diff}");
        }
        // padded word slots are zero
        let pad = batch.slice(s![1..2, 1..3]).abs().sum().into_scalar::<f32>();
        assert_eq!(pad, 0.0);
    }

    #[test]
    fn max_ignores_windows_past_the_word() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // One filter of width 2 with all-zero weights and bias -> conv output = 0 at every
        // window; relu keeps 0. If padding positions were allowed to win they could only tie.
        // Use tanh with a positive bias instead and a negative kernel: windows over real chars
        // give tanh(bias - x), windows over padding give tanh(bias) > those, so they would win.
        let device = Device::flex();
        let mut cnn = CharCnnConfig::new(5, 1, vec![(2, 1)])
            .with_activation(Activation::Tanh)
            .init(&device);
        cnn.embedding.weight = cnn
            .embedding
            .weight
            .map(|w| Tensor::ones_like(&w).mul_scalar(1.0));
        cnn.convs[0].weight = cnn.convs[0]
            .weight
            .clone()
            .map(|w| Tensor::ones_like(&w).mul_scalar(-1.0));
        cnn.convs[0].bias = cnn.convs[0]
            .bias
            .clone()
            .map(|p| p.map(|b| Tensor::ones_like(&b).mul_scalar(0.5)));
        // word of 3 real chars padded to 6: real windows give tanh(0.5 - 2) = tanh(-1.5);
        // a window touching padding would give tanh(0.5 - 1) or tanh(0.5).
        let out = cnn.forward(
            ids(&[&[&[1, 2, 3]]], 6, &device),
            Tensor::ones([1, 1], &device),
        );
        let v = out.into_scalar::<f32>();
        assert!((v - (-1.5f32).tanh()).abs() < 1e-6, "{v}");
        // a one-char word (shorter than the filter) keeps its first window: tanh(0.5 - 1)
        let out = cnn.forward(ids(&[&[&[4]]], 6, &device), Tensor::ones([1, 1], &device));
        let v = out.into_scalar::<f32>();
        assert!((v - (-0.5f32).tanh()).abs() < 1e-6, "{v}");
    }

    /// Random words of 1..=9 chars in 3 sentences padded to 4 words, L = 9, char ids with
    /// repeats (ties between windows) and a vocabulary with an unused tail.
    fn batch(device: &Device) -> (Tensor<3, Int>, Tensor<2>) {
        let lens = [[3usize, 1, 9, 0], [2, 5, 0, 0], [4, 4, 4, 7]];
        let mut ids = vec![0i64; 3 * 4 * 9];
        let mut next = 1i64;
        for (s, words) in lens.iter().enumerate() {
            for (w, &n) in words.iter().enumerate() {
                for c in 0..n {
                    ids[(s * 4 + w) * 9 + c] = 1 + (next % 11);
                    next = next * 7 % 23 + (c as i64 % 2);
                }
            }
        }
        (
            Tensor::from_data(TensorData::new(ids, [3, 4, 9]), device),
            length_mask(&[3, 2, 4], 4, device),
        )
    }

    /// Words narrower than the widest filter in a batch whose `L` is narrower too (the tensor
    /// path pads the chars to the widest filter; the table paths read past `L` as padding).
    #[test]
    fn table_paths_match_the_convolution_when_l_is_below_the_widest_filter() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        let cnn = CharCnnConfig::new(6, 3, vec![(2, 2), (4, 3)]).init(&device);
        let chars = Tensor::<3, Int>::from_data(
            TensorData::new(vec![1i64, 2, 3, 0, 5, 5, 0, 0], [2, 2, 2]),
            &device,
        );
        let mask = length_mask(&[2, 1], 2, &device);
        let reference = cnn.forward_tensor(chars.clone(), mask.clone());
        let fused = cnn
            .forward_autodiff(&chars, &mask)
            .expect("fused path applies");
        let host = cnn.valid().forward(chars.inner(), mask.inner());
        let diff = |a: Tensor<3>, b: Tensor<3>| (a - b).abs().max().into_scalar::<f32>();
        assert!(diff(reference.clone(), fused) < 1e-5);
        assert!(diff(reference.inner(), host) < 1e-5);
    }

    /// Host path (plain device), fused op (autodiff device) and tensor path give the same
    /// word vectors for every activation; the fused op's gradients of the embedding, kernels
    /// and biases equal the tensor path's.
    #[test]
    fn table_paths_match_the_convolution() {
        let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
        for activation in [Activation::Relu, Activation::Tanh, Activation::Selu] {
            let device = Device::flex().autodiff();
            device.seed(3);
            let cnn = CharCnnConfig::new(16, 5, vec![(2, 3), (3, 4), (4, 2)])
                .with_activation(activation)
                .init(&device);
            let (chars, mask) = batch(&device);
            let r = Tensor::<3>::random(
                [3, 4, 9],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            );
            let reference = cnn.forward_tensor(chars.clone(), mask.clone());
            let fused = cnn
                .forward_autodiff(&chars, &mask)
                .expect("fused path applies");
            let diff = (reference.clone() - fused.clone())
                .abs()
                .max()
                .into_scalar::<f32>();
            assert!(diff < 1e-5, "{activation:?}: fused {diff}");
            let plain = cnn.valid();
            let host = plain.forward(chars.clone().inner(), mask.clone().inner());
            let diff = (reference.clone().inner() - host)
                .abs()
                .max()
                .into_scalar::<f32>();
            assert!(diff < 1e-5, "{activation:?}: host {diff}");

            let g_ref = (reference * r.clone()).sum().backward();
            let g_fused = (fused * r).sum().backward();
            let mut pairs = vec![(
                cnn.embedding.weight.val().grad(&g_ref).unwrap(),
                cnn.embedding.weight.val().grad(&g_fused).unwrap(),
            )];
            for conv in &cnn.convs {
                let w = conv.weight.val();
                let n = w.dims().iter().product::<usize>();
                pairs.push((
                    w.grad(&g_ref).unwrap().reshape([n, 1]),
                    w.grad(&g_fused).unwrap().reshape([n, 1]),
                ));
                let b = conv.bias.as_ref().unwrap().val();
                pairs.push((
                    b.grad(&g_ref).unwrap().unsqueeze(),
                    b.grad(&g_fused).unwrap().unsqueeze(),
                ));
            }
            for (i, (a, b)) in pairs.into_iter().enumerate() {
                let diff = (a - b).abs().max().into_scalar::<f32>();
                assert!(
                    diff < 1e-4,
                    "{activation:?}: gradient {i} differs by {diff}"
                );
            }
        }
    }
}
