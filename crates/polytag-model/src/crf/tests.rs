//! CRF checks against brute-force enumeration of every label sequence (independent of the
//! forward algorithm and of Viterbi), and finite-difference gradient checks.

use super::*;
use crate::sequence::length_mask;
use crate::test_support::RNG;
use burn::tensor::Distribution;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const L: usize = 3;

fn randn(rng: &mut StdRng, n: usize) -> Vec<f32> {
    // sum of uniforms: roughly normal, good enough for test scores
    (0..n)
        .map(|_| (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * 1.7)
        .collect()
}

/// A CRF with explicit random scores, and those scores on the host.
struct Fixture {
    crf: Crf,
    trans: Vec<f32>,
    start: Vec<f32>,
    end: Vec<f32>,
}

fn fixture(seed: u64, device: &Device) -> Fixture {
    let mut rng = StdRng::seed_from_u64(seed);
    let (trans, start, end) = (
        randn(&mut rng, L * L),
        randn(&mut rng, L),
        randn(&mut rng, L),
    );
    let mut crf = CrfConfig::new(L).init(device);
    crf.transitions = Param::from_data(TensorData::new(trans.clone(), [L, L]), device);
    crf.start = Param::from_data(TensorData::new(start.clone(), [L]), device);
    crf.end = Param::from_data(TensorData::new(end.clone(), [L]), device);
    Fixture {
        crf,
        trans,
        start,
        end,
    }
}

/// BIOES-like constraints on 3 labels {0: O, 1: B, 2: E}: B must be followed by E, E and O by
/// O or B; start in O or B; end in O or E.
fn toy_constraints() -> CrfConstraints {
    let allowed = vec![
        true, true, false, // O -> O, B
        false, false, true, // B -> E
        true, true, false, // E -> O, B
    ];
    CrfConstraints::new(
        L,
        allowed,
        vec![true, true, false],
        vec![true, false, true],
        "crf",
    )
    .unwrap()
}

fn all_paths(n: usize) -> Vec<Vec<u32>> {
    (0..L.pow(n as u32))
        .map(|code| {
            (0..n)
                .map(|i| ((code / L.pow(i as u32)) % L) as u32)
                .collect()
        })
        .collect()
}

/// Path score written out directly from the definition.
fn brute_score(f: &Fixture, em: &[f32], path: &[u32]) -> f64 {
    let mut s =
        f64::from(f.start[path[0] as usize]) + f64::from(f.end[*path.last().unwrap() as usize]);
    for (i, &y) in path.iter().enumerate() {
        s += f64::from(em[i * L + y as usize]);
        if i > 0 {
            s += f64::from(f.trans[path[i - 1] as usize * L + y as usize]);
        }
    }
    s
}

struct Brute {
    /// (score, path), best first
    ranked: Vec<(f64, Vec<u32>)>,
    log_z: f64,
    marginals: Vec<f64>,
}

fn brute(f: &Fixture, em: &[f32], n: usize, c: Option<&CrfConstraints>) -> Brute {
    let mut ranked: Vec<(f64, Vec<u32>)> = all_paths(n)
        .into_iter()
        .filter(|p| c.is_none_or(|c| c.allows(p)))
        .map(|p| (brute_score(f, em, &p), p))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let m = ranked[0].0;
    let z: f64 = ranked.iter().map(|(s, _)| (s - m).exp()).sum();
    let log_z = m + z.ln();
    let mut marginals = vec![0.0; n * L];
    for (s, p) in &ranked {
        for (t, &y) in p.iter().enumerate() {
            marginals[t * L + y as usize] += (s - log_z).exp();
        }
    }
    Brute {
        ranked,
        log_z,
        marginals,
    }
}

const LENGTHS: [usize; 4] = [4, 1, 3, 2];
const T: usize = 4;

fn emissions(seed: u64, device: &Device) -> (Tensor<3>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let v = randn(&mut rng, LENGTHS.len() * T * L);
    (
        Tensor::from_data(TensorData::new(v.clone(), [LENGTHS.len(), T, L]), device),
        v,
    )
}

fn sentence(em: &[f32], b: usize) -> &[f32] {
    &em[b * T * L..(b * T + LENGTHS[b]) * L]
}

fn check_against_brute_force(constraints: Option<CrfConstraints>) {
    let device = Device::flex();
    for seed in 0..5u64 {
        let mut f = fixture(seed, &device);
        if let Some(c) = &constraints {
            f.crf = f.crf.with_constraints(c.clone(), "crf").unwrap();
        }
        let (em, emv) = emissions(100 + seed, &device);
        let mask = length_mask(&LENGTHS, T, &device);
        let log_z: Vec<f32> = f
            .crf
            .log_partition(em.clone(), mask)
            .try_to_vec_as()
            .unwrap();
        let paths = f.crf.decode(em.clone(), &LENGTHS).unwrap();
        let nbest = f.crf.nbest(em.clone(), &LENGTHS, 5).unwrap();
        let marg = f.crf.marginals(em.clone(), &LENGTHS).unwrap();
        for (b, &n) in LENGTHS.iter().enumerate() {
            let want = brute(&f, sentence(&emv, b), n, constraints.as_ref());
            assert!(
                (f64::from(log_z[b]) - want.log_z).abs() < 1e-4,
                "seed {seed} sentence {b}: log Z {} vs brute {}",
                log_z[b],
                want.log_z
            );
            assert_eq!(
                paths[b], want.ranked[0].1,
                "viterbi, seed {seed} sentence {b}"
            );
            let k = want.ranked.len().min(5);
            assert_eq!(nbest[b].len(), k);
            for (got, (s, p)) in nbest[b].iter().zip(&want.ranked) {
                assert_eq!(&got.labels, p, "n-best, seed {seed} sentence {b}");
                assert!((f64::from(got.score) - s).abs() < 1e-4);
                assert!((f64::from(got.log_prob) - (s - want.log_z)).abs() < 1e-4);
            }
            for t in 0..n {
                let row = &marg[b][t * L..(t + 1) * L];
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "marginals sum to {sum}");
                for (j, p) in row.iter().enumerate() {
                    assert!((f64::from(*p) - want.marginals[t * L + j]).abs() < 1e-5);
                }
            }
            if let Some(c) = &constraints {
                assert!(c.allows(&paths[b]));
                assert!(nbest[b].iter().all(|p| c.allows(&p.labels)));
            }
        }
    }
}

#[test]
fn log_z_viterbi_nbest_and_marginals_match_brute_force() {
    check_against_brute_force(None);
}

#[test]
fn constraints_forbid_invalid_paths() {
    check_against_brute_force(Some(toy_constraints()));
    // and an emission table that strongly prefers a forbidden path still decodes validly:
    // O→E is forbidden, emissions favour [O, E]
    let device = Device::flex();
    let f = fixture(1, &device);
    let crf = f.crf.with_constraints(toy_constraints(), "crf").unwrap();
    let em = Tensor::<3>::from_floats([[[50.0, 0.0, 0.0], [0.0, 0.0, 50.0]]], &device);
    let path = crf.decode(em.clone(), &[2]).unwrap();
    assert!(toy_constraints().allows(&path[0]), "{path:?}");
    let unconstrained = fixture(1, &device).crf.decode(em, &[2]).unwrap();
    assert_eq!(unconstrained[0], vec![0, 2]);
}

#[test]
fn gold_score_matches_the_definition() {
    let device = Device::flex();
    let f = fixture(3, &device);
    let (em, emv) = emissions(7, &device);
    let labels_v: Vec<i64> = vec![0, 2, 1, 1, 2, 0, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0];
    let labels = Tensor::<2, Int>::from_data(TensorData::new(labels_v.clone(), [4, T]), &device);
    let gold: Vec<f32> = f
        .crf
        .gold_score(em, labels, length_mask(&LENGTHS, T, &device), &LENGTHS)
        .try_to_vec_as()
        .unwrap();
    for (b, &n) in LENGTHS.iter().enumerate() {
        let path: Vec<u32> = labels_v[b * T..b * T + n]
            .iter()
            .map(|&y| y as u32)
            .collect();
        let want = brute_score(&f, sentence(&emv, b), &path);
        assert!((f64::from(gold[b]) - want).abs() < 1e-4);
    }
}

#[test]
fn padded_batch_scores_equal_each_sentence_alone() {
    let device = Device::flex();
    let f = fixture(4, &device);
    let (em, _) = emissions(8, &device);
    let labels = Tensor::<2, Int>::from_data(
        TensorData::new(
            vec![1i64, 0, 2, 1, 2, 0, 0, 0, 0, 1, 1, 0, 2, 2, 0, 0],
            [4, T],
        ),
        &device,
    );
    let mask = length_mask(&LENGTHS, T, &device);
    let z: Vec<f32> = f
        .crf
        .log_partition(em.clone(), mask.clone())
        .try_to_vec_as()
        .unwrap();
    let g: Vec<f32> = f
        .crf
        .gold_score(em.clone(), labels.clone(), mask, &LENGTHS)
        .try_to_vec_as()
        .unwrap();
    for (b, &n) in LENGTHS.iter().enumerate() {
        let e1 = em.clone().slice(s![b..b + 1, 0..n]);
        let l1 = labels.clone().slice(s![b..b + 1, 0..n]);
        let m1 = Tensor::<2>::ones([1, n], &device);
        let z1 = f
            .crf
            .log_partition(e1.clone(), m1.clone())
            .into_scalar::<f32>();
        let g1 = f.crf.gold_score(e1, l1, m1, &[n]).into_scalar::<f32>();
        assert!(
            (z[b] - z1).abs() < 1e-5 && (g[b] - g1).abs() < 1e-5,
            "sentence {b}"
        );
    }
}

/// Directional derivative check: (loss(θ + εv) − loss(θ − εv)) / 2ε ≈ ⟨∇loss, v⟩ for a random
/// direction v, over the emissions and the three score tables at once.
#[test]
fn nll_gradient_matches_finite_differences() {
    let device = Device::flex().autodiff();
    let labels = Tensor::<2, Int>::from_data(
        TensorData::new(
            vec![0i64, 1, 2, 1, 2, 0, 0, 0, 1, 1, 2, 0, 2, 0, 0, 0],
            [4, T],
        ),
        &device,
    );
    let mask = length_mask(&LENGTHS, T, &device);
    for constrained in [false, true] {
        let mut rng = StdRng::seed_from_u64(77);
        let dirs: Vec<Vec<f32>> = [4 * T * L, L * L, L, L]
            .iter()
            .map(|&n| randn(&mut rng, n))
            .collect();
        let loss_at = |eps: f32| -> (f64, Option<Vec<f32>>) {
            let f = fixture(5, &device);
            let (_, emv) = emissions(9, &device);
            let shift = |v: &[f32], d: &[f32]| -> Vec<f32> {
                v.iter().zip(d).map(|(a, b)| a + eps * b).collect()
            };
            let em =
                Tensor::<3>::from_data(TensorData::new(shift(&emv, &dirs[0]), [4, T, L]), &device)
                    .require_grad();
            let mut crf = f.crf;
            crf.transitions =
                Param::from_data(TensorData::new(shift(&f.trans, &dirs[1]), [L, L]), &device);
            crf.start = Param::from_data(TensorData::new(shift(&f.start, &dirs[2]), [L]), &device);
            crf.end = Param::from_data(TensorData::new(shift(&f.end, &dirs[3]), [L]), &device);
            if constrained {
                crf = crf.with_constraints(toy_constraints(), "crf").unwrap();
            }
            let loss = crf.nll(em.clone(), labels.clone(), mask.clone(), &LENGTHS);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if eps != 0.0 {
                return (value, None);
            }
            let grads = loss.backward();
            let mut g: Vec<f32> = em.grad(&grads).unwrap().try_to_vec_as().unwrap();
            // gradient on padded emissions is exactly zero
            for (b, &n) in LENGTHS.iter().enumerate() {
                assert!(g[(b * T + n) * L..(b + 1) * T * L]
                    .iter()
                    .all(|&x| x == 0.0));
            }
            g.extend(
                crf.transitions
                    .grad(&grads)
                    .unwrap()
                    .try_to_vec_as::<f32>()
                    .unwrap(),
            );
            g.extend(
                crf.start
                    .grad(&grads)
                    .unwrap()
                    .try_to_vec_as::<f32>()
                    .unwrap(),
            );
            g.extend(
                crf.end
                    .grad(&grads)
                    .unwrap()
                    .try_to_vec_as::<f32>()
                    .unwrap(),
            );
            (value, Some(g))
        };
        let (_, g) = loss_at(0.0);
        let g = g.unwrap();
        let v: Vec<f32> = dirs.concat();
        let analytic: f64 = g
            .iter()
            .zip(&v)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let eps = 1e-2;
        let numeric = (loss_at(eps).0 - loss_at(-eps).0) / (2.0 * f64::from(eps));
        assert!(
            (analytic - numeric).abs() < 2e-2 * analytic.abs().max(1.0),
            "constrained={constrained}: analytic {analytic} vs numeric {numeric}"
        );
    }
}

#[test]
fn constraints_of_the_wrong_size_are_an_error() {
    // draws from the device RNG: not while a seeded test runs
    let _rng = crate::test_support::RNG
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    let c = CrfConstraints::new(2, vec![true; 4], vec![true; 2], vec![true; 2], "x").unwrap();
    let err = CrfConfig::new(3)
        .init(&device)
        .with_constraints(c, "components[4]")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "components[4]: transition constraints cover 2 labels, the crf has 3"
    );
    assert!(CrfConstraints::new(3, vec![true; 4], vec![true; 3], vec![true; 3], "x").is_err());
}

/// log Z and its gradients (emissions and the three score tables) equal the tensor path's,
/// with and without constraints, on a ragged padded batch.
#[test]
fn fused_log_z_matches_tensor_path_values_and_gradients() {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(13);
    let lengths = [5usize, 1, 3, 6];
    let mask = length_mask(&lengths, 6, &device);
    let em0 = Tensor::<3>::random([4, 6, 4], Distribution::Normal(0.0, 2.0), &device);
    let w = Tensor::<1>::random([4], Distribution::Normal(1.0, 1.0), &device);
    for constrained in [false, true] {
        let mut crf = CrfConfig::new(4).init(&device);
        if constrained {
            let allowed: Vec<bool> = (0..16).map(|k| k % 5 != 1).collect();
            let c = CrfConstraints::new(
                4,
                allowed,
                vec![true, true, false, true],
                vec![true, false, true, true],
                "crf",
            )
            .unwrap();
            crf = crf.with_constraints(c, "crf").unwrap();
        }
        let run = |fused: bool| {
            let em = em0.clone().detach().require_grad();
            let z = if fused {
                crf.log_partition_autodiff(&em, &mask)
                    .expect("fused path applies")
            } else {
                crf.log_partition_tensor(em.clone(), mask.clone())
            };
            let grads = (z.clone() * w.clone()).sum().backward();
            let g: Vec<Tensor<1>> = vec![
                em.grad(&grads).unwrap().reshape([96]),
                crf.transitions.val().grad(&grads).unwrap().reshape([16]),
                crf.start.val().grad(&grads).unwrap(),
                crf.end.val().grad(&grads).unwrap(),
            ];
            (z.inner(), g)
        };
        let (z_f, g_f) = run(true);
        let (z_t, g_t) = run(false);
        let diff = |a: Tensor<1>, b: Tensor<1>| (a - b).abs().max().into_scalar::<f32>();
        assert!(diff(z_f, z_t) < 1e-4, "constrained={constrained}: log Z");
        for (i, (a, b)) in g_f.into_iter().zip(g_t).enumerate() {
            let d = diff(a.inner(), b.inner());
            assert!(
                d < 1e-5,
                "constrained={constrained}: gradient {i} differs by {d}"
            );
        }
    }
}

/// The fused log Z and its gradients (sentence blocks in parallel) and Viterbi decoding give
/// the same bits in a pool of one thread and of two.
#[test]
fn crf_is_identical_on_one_and_two_threads() {
    use crate::test_support::on_threads;
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(41);
    let lengths: Vec<usize> = (0..23).map(|i| [7, 1, 4, 9, 2, 6][i % 6]).collect();
    let (b, t, l) = (lengths.len(), 9, 5);
    let em0 = Tensor::<3>::random([b, t, l], Distribution::Normal(0.0, 2.0), &device);
    let w = Tensor::<1>::random([b], Distribution::Normal(1.0, 1.0), &device);
    let crf = CrfConfig::new(l).init(&device);
    let run = || {
        let mask = length_mask(&lengths, t, &device);
        let em = em0.clone().detach().require_grad();
        let z = crf
            .log_partition_autodiff(&em, &mask)
            .expect("fused path applies");
        let grads = (z.clone() * w.clone()).sum().backward();
        let values = vec![
            z.inner().to_data(),
            em.grad(&grads).unwrap().to_data(),
            crf.transitions.val().grad(&grads).unwrap().to_data(),
            crf.start.val().grad(&grads).unwrap().to_data(),
            crf.end.val().grad(&grads).unwrap().to_data(),
        ];
        let paths = crf.decode(em0.clone().inner(), &lengths).unwrap();
        (values, paths)
    };
    let (one, two) = (on_threads(1, run), on_threads(2, run));
    assert_eq!(one, two);
    assert_eq!(one.1.len(), b);
}
