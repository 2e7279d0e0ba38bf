//! The recurrence's tests: hand-derived values, padding, and every CPU path against the
//! tensor path (values and gradients).

use super::*;
use crate::sequence::length_mask;
use crate::test_support::RNG;
use burn::tensor::Distribution;

fn set_linear(l: &mut Linear, w: f32, b: &[f32]) {
    l.weight = l.weight.clone().map(|t| t.ones_like().mul_scalar(w));
    let b = b.to_vec();
    l.bias = l.bias.clone().map(|p| {
        p.map(move |t| {
            let n = t.dims()[0];
            Tensor::from_data(TensorData::new(b.clone(), [n]), &t.device())
        })
    });
}

/// All weights 0; LSTM input bias per gate [i, f, g, o] = [0, 0, 1, 0]:
/// i = f = o = σ(0) = 0.5, g = tanh(1);
/// step 1: c = 0.5·tanh(1) = 0.380797, h = 0.5·tanh(0.380797) = 0.181700;
/// step 2: c = 0.5·0.380797 + 0.5·tanh(1) = 0.571196, h = 0.5·tanh(0.571196) = 0.258118.
#[test]
fn lstm_constant_weights_match_hand_derivation() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let mut rnn = RecurrentConfig::new(2, 1, Cell::Lstm)
        .with_bidirectional(false)
        .init(&device);
    set_linear(&mut rnn.layers[0].forward.x2h, 0.0, &[0.0, 0.0, 1.0, 0.0]);
    set_linear(&mut rnn.layers[0].forward.h2h, 0.0, &[]);
    let out = rnn.forward(
        Tensor::ones([1, 2, 2], &device),
        Tensor::ones([1, 2], &device),
    );
    let v: Vec<f32> = out.try_to_vec_as().unwrap();
    assert!((v[0] - 0.181_700).abs() < 1e-5, "{v:?}");
    assert!((v[1] - 0.258_118).abs() < 1e-5, "{v:?}");
}

/// All weights 0; GRU input bias [r, z, n] = [0, 0, 1], hidden bias [0, 0, 2]:
/// r = z = 0.5, n = tanh(1 + 0.5·2) = tanh(2) = 0.964028, h1 = 0.5·n + 0.5·0 = 0.482014.
#[test]
fn gru_constant_weights_match_hand_derivation() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let mut rnn = RecurrentConfig::new(2, 1, Cell::Gru)
        .with_bidirectional(false)
        .init(&device);
    set_linear(&mut rnn.layers[0].forward.x2h, 0.0, &[0.0, 0.0, 1.0]);
    set_linear(&mut rnn.layers[0].forward.h2h, 0.0, &[0.0, 0.0, 2.0]);
    let out = rnn.forward(
        Tensor::ones([1, 1, 2], &device),
        Tensor::ones([1, 1], &device),
    );
    let v: f32 = out.into_scalar();
    assert!((v - 0.482_014).abs() < 1e-5, "{v}");
}

/// Weight 0.5 everywhere, no bias, x = [1, 1]: h1 = tanh(1) = 0.761594,
/// h2 = tanh(1 + 0.5·0.761594) = tanh(1.380797) = 0.881130.
#[test]
fn rnn_constant_weights_match_hand_derivation() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let mut rnn = RecurrentConfig::new(2, 1, Cell::Rnn)
        .with_bidirectional(false)
        .init(&device);
    set_linear(&mut rnn.layers[0].forward.x2h, 0.5, &[0.0]);
    set_linear(&mut rnn.layers[0].forward.h2h, 0.5, &[]);
    let out = rnn.forward(
        Tensor::ones([1, 2, 2], &device),
        Tensor::ones([1, 2], &device),
    );
    let v: Vec<f32> = out.try_to_vec_as().unwrap();
    assert!(
        (v[0] - 0.761_594).abs() < 1e-5 && (v[1] - 0.881_130).abs() < 1e-5,
        "{v:?}"
    );
}

#[test]
fn padded_batch_equals_each_sentence_alone() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(7);
    let lengths = [5usize, 2, 4];
    let x = Tensor::<3>::random([3, 6, 4], Distribution::Normal(0.0, 1.0), &device);
    let mask = length_mask(&lengths, 6, &device);
    for cell in [Cell::Lstm, Cell::Gru, Cell::Rnn] {
        for bidirectional in [false, true] {
            for layers in [1, 2] {
                let rnn = RecurrentConfig::new(4, 3, cell)
                    .with_bidirectional(bidirectional)
                    .with_num_layers(layers)
                    .with_forget_bias(if cell == Cell::Lstm { 1.0 } else { 0.0 })
                    .init(&device);
                let full = rnn.forward(x.clone(), mask.clone());
                let fin = rnn.final_states(x.clone(), mask.clone());
                for (bi, &len) in lengths.iter().enumerate() {
                    let xs = x.clone().slice(s![bi..bi + 1, 0..len]);
                    let alone = rnn.forward(xs.clone(), Tensor::ones([1, len], &device));
                    let part = full.clone().slice(s![bi..bi + 1, 0..len]);
                    let diff = (part - alone).abs().max().into_scalar::<f32>();
                    assert!(
                        diff < 1e-6,
                        "{cell:?} bi={bidirectional} l={layers}: {diff}"
                    );
                    let pad = full.clone().slice(s![bi..bi + 1, len..6]).abs().sum();
                    assert_eq!(pad.into_scalar::<f32>(), 0.0);
                    let fa = rnn.final_states(xs, Tensor::ones([1, len], &device));
                    let fd = (fin.clone().slice(s![bi..bi + 1]) - fa).abs().max();
                    assert!(fd.into_scalar::<f32>() < 1e-6);
                }
            }
        }
    }
}

/// Biases are drawn from U(−k, k), k = 1/√H; with forget_bias 2.5 the forget slice
/// [H, 2H) must lie in [2.5 − k, 2.5 + k] and every other entry in [−k, k], whatever the
/// draw (so the test needs no seed).
#[test]
fn forget_bias_is_added_to_the_forget_slice_only() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let rnn = RecurrentConfig::new(2, 3, Cell::Lstm)
        .with_forget_bias(2.5)
        .init(&device);
    let k = 1.0 / 3f32.sqrt() + 1e-6;
    for dir in [
        &rnn.layers[0].forward,
        rnn.layers[0].backward.as_ref().unwrap(),
    ] {
        let b: Vec<f32> = dir
            .x2h
            .bias
            .as_ref()
            .unwrap()
            .val()
            .try_to_vec_as()
            .unwrap();
        for (j, v) in b.iter().enumerate() {
            let centre = if (3..6).contains(&j) { 2.5 } else { 0.0 };
            assert!((v - centre).abs() <= k, "entry {j}: {v}");
        }
    }
}

#[test]
fn gradient_reaches_every_parameter() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let rnn = RecurrentConfig::new(3, 2, Cell::Gru)
        .with_num_layers(2)
        .init(&device);
    let x = Tensor::<3>::ones([2, 3, 3], &device);
    let out = rnn.forward(x, length_mask(&[3, 1], 3, &device));
    let grads = burn::optim::GradientsParams::from_grads(out.sum().backward(), &rnn);
    assert_eq!(grads.len(), rnn.num_params_tensors());
}

impl Recurrent {
    fn num_params_tensors(&self) -> usize {
        // per direction: x2h weight + bias, h2h weight (+ bias for the GRU)
        let per = if self.cell == Cell::Gru { 4 } else { 3 };
        self.layers
            .iter()
            .map(|l| per * if l.backward.is_some() { 2 } else { 1 })
            .sum()
    }
}

fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

/// Outputs and the gradients of x and of every weight agree with the tensor path's
/// autodiff, for one and two layers, uni- and bidirectional, ragged lengths (one sentence
/// of length 1, one at the full T).
#[test]
fn fused_lstm_matches_tensor_path_values_and_gradients() {
    check_fused_lstm(&[4, 1, 6, 3], 6, 5);
}

/// The same for the fused GRU and simple RNN (`cpu::gru`), including the GRU's recurrent
/// bias, on ragged lengths, a training-sized batch and the edges.
#[test]
fn fused_gru_and_rnn_match_tensor_path_values_and_gradients() {
    let big: Vec<usize> = (0..22)
        .map(|i| [9, 3, 7, 4, 1, 8, 5, 6, 3, 2][i % 10])
        .collect();
    for cell in [Cell::Gru, Cell::Rnn] {
        check_fused(cell, &[4, 1, 6, 3], 6, 5, false);
        check_fused(cell, &big, 9, 17, false);
        check_fused(cell, &[1, 1, 1], 1, 19, false);
        check_fused(cell, &[3, 0, 2], 3, 29, false);
    }
}

/// Final states in training (the char RNN's word vectors) come off the fused outputs: equal
/// to the tensor path's, values and gradients, every cell, including an all-padding row
/// (a word slot with no characters) and T = 1.
#[test]
fn fused_final_states_match_tensor_path_values_and_gradients() {
    let big: Vec<usize> = (0..22)
        .map(|i| [9, 3, 7, 4, 1, 8, 5, 6, 3, 2][i % 10])
        .collect();
    for cell in [Cell::Lstm, Cell::Gru, Cell::Rnn] {
        check_fused(cell, &[4, 1, 6, 3], 6, 5, true);
        check_fused(cell, &big, 9, 17, true);
        check_fused(cell, &[1, 1, 1], 1, 19, true);
        check_fused(cell, &[3, 0, 2, 0], 3, 29, true);
    }
}

/// The fused path serves every cell on the autodiff CPU device, and none on the plain one.
#[test]
fn fused_path_applies_to_every_cell_in_training_only() {
    let x = |device: &Device| Tensor::<3>::ones([1, 2, 3], device);
    let plain = Device::flex();
    let ad = plain.clone().autodiff();
    for cell in [Cell::Lstm, Cell::Gru, Cell::Rnn] {
        let rnn = RecurrentConfig::new(3, 2, cell).init(&ad);
        assert!(rnn
            .forward_autodiff(&x(&ad), &Tensor::ones([1, 2], &ad))
            .is_some());
        assert!(rnn
            .forward_autodiff(&x(&plain), &Tensor::ones([1, 2], &plain))
            .is_none());
    }
}

/// Every cell, uni- and bidirectional, one and two layers, ragged lengths: the host path
/// gives the tensor path's outputs and final states (up to f32 rounding of the exp).
#[test]
fn host_path_matches_tensor_path() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(11);
    let lengths = [5usize, 2, 6, 1];
    let x = Tensor::<3>::random([4, 6, 5], Distribution::Normal(0.0, 1.0), &device);
    let mask = length_mask(&lengths, 6, &device);
    for cell in [Cell::Lstm, Cell::Gru, Cell::Rnn] {
        for bidirectional in [false, true] {
            for layers in [1, 2] {
                let rnn = RecurrentConfig::new(5, 7, cell)
                    .with_bidirectional(bidirectional)
                    .with_num_layers(layers)
                    .init(&device);
                let (out_t, fin_t) = rnn.run_tensor(x.clone(), mask.clone(), true);
                let (out_h, fin_h) = rnn.run_host(x.clone(), mask.clone(), true);
                assert_eq!(out_t.dims(), out_h.dims());
                let diff = (out_t - out_h).abs().max().into_scalar::<f32>();
                let fdiff = (fin_t - fin_h).abs().max().into_scalar::<f32>();
                assert!(
                    diff < 2e-6 && fdiff < 2e-6,
                    "{cell:?} bi={bidirectional} l={layers}: {diff} {fdiff}"
                );
                // the public entry points take the host path on the plain CPU device
                let fin = rnn.final_states(x.clone(), mask.clone());
                let (_, fin_h) = rnn.run_host(x.clone(), mask.clone(), false);
                assert_eq!(fin.to_data(), fin_h.to_data());
            }
        }
    }
}

/// The host path is what the plain CPU device runs: padding a batch must not change it.
#[test]
fn host_path_ignores_padding() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let rnn = RecurrentConfig::new(3, 4, Cell::Lstm).init(&device);
    let x = Tensor::<3>::ones([1, 5, 3], &device);
    let padded = rnn.forward(x.clone(), length_mask(&[3], 5, &device));
    let alone = rnn.forward(x.slice(s![.., 0..3]), Tensor::ones([1, 3], &device));
    let diff = (padded.clone().slice(s![.., 0..3]) - alone).abs().max();
    assert!(diff.into_scalar::<f32>() < 1e-6);
    let pad = padded.slice(s![.., 3..5]).abs().sum().into_scalar::<f32>();
    assert_eq!(pad, 0.0);
}

/// The fused LSTM against the tensor path ([`check_fused`]).
fn check_fused_lstm(lengths: &[usize], t: usize, seed: u64) {
    check_fused(Cell::Lstm, lengths, t, seed, false);
}

/// The fused recurrence of `cell` against the tensor path on `lengths` padded to `t`:
/// outputs, and the gradients of x and of every weight and bias, for uni- and bidirectional
/// stacks of 1 and 2 layers. With `finals`, the final states (`final_states`, read off the
/// fused outputs) against the tensor path's, as the char RNN uses them.
fn check_fused(cell: Cell, lengths: &[usize], t: usize, seed: u64, finals: bool) {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(seed);
    let b = lengths.len();
    let mask = length_mask(lengths, t, &device);
    let x0 = Tensor::<3>::random([b, t, 5], Distribution::Normal(0.0, 1.0), &device);
    let r = Tensor::<3>::random([b, t, 14], Distribution::Normal(0.0, 1.0), &device);
    for bidirectional in [false, true] {
        for layers in [1, 2] {
            let rnn = RecurrentConfig::new(5, 7, cell)
                .with_bidirectional(bidirectional)
                .with_num_layers(layers)
                .with_forget_bias(if cell == Cell::Lstm { 1.0 } else { 0.0 })
                .init(&device);
            let r = r.clone().narrow(2, 0, rnn.d_output());
            let r = if finals { r.narrow(1, 0, 1) } else { r };
            let run = |fused: bool| {
                let x = x0.clone().detach().require_grad();
                let out = match (finals, fused) {
                    (false, true) => rnn
                        .forward_autodiff(&x, &mask)
                        .expect("the fused path applies"),
                    (false, false) => rnn.run_tensor(x.clone(), mask.clone(), true).0,
                    (true, true) => rnn.final_states(x.clone(), mask.clone()).unsqueeze_dim(1),
                    (true, false) => rnn
                        .run_tensor(x.clone(), mask.clone(), false)
                        .1
                        .unsqueeze_dim(1),
                };
                let grads = (out.clone() * r.clone()).sum().backward();
                let mut g: Vec<Tensor<2>> = vec![x.grad(&grads).unwrap().reshape([b * t, 5])];
                for layer in &rnn.layers {
                    for w in std::iter::once(&layer.forward).chain(&layer.backward) {
                        g.push(w.x2h.weight.val().grad(&grads).unwrap());
                        g.push(w.h2h.weight.val().grad(&grads).unwrap());
                        let bias = w.x2h.bias.as_ref().unwrap().val().grad(&grads).unwrap();
                        g.push(bias.unsqueeze());
                        if let Some(b_hh) = &w.h2h.bias {
                            g.push(b_hh.val().grad(&grads).unwrap().unsqueeze());
                        }
                    }
                }
                (out.inner(), g)
            };
            let (out_f, g_f) = run(true);
            let (out_t, g_t) = run(false);
            let tag = format!(
                "{cell:?} lengths={lengths:?} bi={bidirectional} layers={layers} finals={finals}"
            );
            let diff = max_diff(out_f, out_t);
            assert!(diff < 2e-6, "{tag}: outputs differ by {diff}");
            assert_eq!(g_f.len(), g_t.len());
            for (i, (a, b)) in g_f.into_iter().zip(g_t).enumerate() {
                let diff = max_diff(a.inner(), b.inner());
                assert!(diff < 1e-5, "{tag}: gradient {i} differs by {diff}");
            }
        }
    }
}

/// A batch of a real training run's size (19 sentences and more): 22 ragged sentences, 20
/// of them at least 3 tokens long, so that early steps move more than 16 rows at once
/// (where a since-removed small-matmul kernel handed over to gemm).
#[test]
fn fused_lstm_matches_tensor_path_on_a_training_sized_batch() {
    let lengths: Vec<usize> = (0..22)
        .map(|i| [9, 3, 7, 4, 1, 8, 5, 6, 3, 2][i % 10])
        .collect();
    check_fused_lstm(&lengths, 9, 17);
}

/// T = 1, and a batch of one sentence (no padding at all).
#[test]
fn fused_lstm_matches_tensor_path_at_the_edges() {
    check_fused_lstm(&[1, 1, 1], 1, 19);
    check_fused_lstm(&[5], 5, 23);
    // an all-padding row among real ones
    check_fused_lstm(&[3, 0, 2], 3, 29);
}

/// A batch without any real token has no plan: the fused path declines, and the public
/// entry point falls back to the tensor path (zero outputs, zero gradients).
#[test]
fn all_padding_batch_takes_the_tensor_path() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let rnn = RecurrentConfig::new(3, 2, Cell::Lstm).init(&device);
    let x = Tensor::<3>::ones([2, 3, 3], &device).require_grad();
    let mask = Tensor::<2>::zeros([2, 3], &device);
    assert!(crate::cpu::lstm::Plan::new(&[0.0; 6], 2, 3, 2, 2).is_none());
    assert!(rnn.forward_autodiff(&x, &mask).is_none());
    let out = rnn.forward(x.clone(), mask);
    assert_eq!(out.dims(), [2, 3, 4]);
    let grads = out.clone().sum().backward();
    assert_eq!(out.inner().abs().sum().into_scalar::<f32>(), 0.0);
    let gx = x.grad(&grads).unwrap().abs().sum().into_scalar::<f32>();
    assert_eq!(gx, 0.0);
}

/// The host path on a batch of 21 sentences, every cell.
#[test]
fn host_path_matches_tensor_path_on_a_larger_batch() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(31);
    let lengths: Vec<usize> = (0..21).map(|i| [6, 2, 5, 1, 4, 3, 6][i % 7]).collect();
    let x = Tensor::<3>::random([21, 6, 5], Distribution::Normal(0.0, 1.0), &device);
    let mask = length_mask(&lengths, 6, &device);
    for cell in [Cell::Lstm, Cell::Gru, Cell::Rnn] {
        let rnn = RecurrentConfig::new(5, 7, cell).init(&device);
        let (out_t, fin_t) = rnn.run_tensor(x.clone(), mask.clone(), true);
        let (out_h, fin_h) = rnn.run_host(x.clone(), mask.clone(), true);
        let diff = max_diff(out_t, out_h);
        let fdiff = max_diff(fin_t, fin_h);
        assert!(diff < 2e-6 && fdiff < 2e-6, "{cell:?}: {diff} {fdiff}");
    }
}

/// The two directions of a bidirectional layer run in parallel (`cpu::directions`): the
/// fused training op (outputs and every gradient) and the host path give the same bits in a
/// pool of one thread and of two, for every cell.
#[test]
fn cpu_paths_are_identical_on_one_and_two_threads() {
    use crate::test_support::on_threads;
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let ad = Device::flex().autodiff();
    ad.seed(37);
    let lengths: Vec<usize> = (0..22)
        .map(|i| [9, 3, 7, 4, 1, 8, 5, 6, 3, 2][i % 10])
        .collect();
    let (b, t) = (lengths.len(), 9);
    let x0 = Tensor::<3>::random([b, t, 5], Distribution::Normal(0.0, 1.0), &ad);
    let r = Tensor::<3>::random([b, t, 14], Distribution::Normal(0.0, 1.0), &ad);
    for cell in [Cell::Lstm, Cell::Gru, Cell::Rnn] {
        let rnn = RecurrentConfig::new(5, 7, cell)
            .with_bidirectional(true)
            .with_num_layers(2)
            .init(&ad);
        let fused = || {
            let mask = length_mask(&lengths, t, &ad);
            let x = x0.clone().detach().require_grad();
            let out = rnn
                .forward_autodiff(&x, &mask)
                .expect("the fused path applies");
            let grads = (out.clone() * r.clone()).sum().backward();
            let mut values = vec![out.inner().to_data(), x.grad(&grads).unwrap().to_data()];
            for layer in &rnn.layers {
                for w in std::iter::once(&layer.forward).chain(&layer.backward) {
                    values.push(w.x2h.weight.val().grad(&grads).unwrap().to_data());
                    values.push(w.h2h.weight.val().grad(&grads).unwrap().to_data());
                    if let Some(b_hh) = &w.h2h.bias {
                        values.push(b_hh.val().grad(&grads).unwrap().to_data());
                    }
                }
            }
            values
        };
        assert_eq!(on_threads(1, fused), on_threads(2, fused), "{cell:?} fused");
        let plain = Device::flex();
        let host_rnn = RecurrentConfig::new(5, 7, cell)
            .with_bidirectional(true)
            .with_num_layers(2)
            .init(&plain);
        let host = || {
            let mask = length_mask(&lengths, t, &plain);
            let x = x0.clone().inner();
            let (out, fin) = host_rnn.run_host(x, mask, true);
            (out.to_data(), fin.to_data())
        };
        assert_eq!(on_threads(1, host), on_threads(2, host), "{cell:?} host");
    }
}
