use super::*;
use crate::corpus::CorpusBuilder;

/// Four groups; each has two "target" words that occur only between the group's own three
/// context words (random order, random target). Targets of a group share all their contexts
/// and no target shares any with another group, so each target's nearest target must be its
/// partner.
fn planted() -> TrainCorpus {
    let mut b = CorpusBuilder::new(false);
    let mut rng = Rng::new(42, 0, 0);
    for _ in 0..4000 {
        let g = rng.below(4);
        let target = format!("t{g}{}", rng.below(2));
        let mut ctx: Vec<String> = (0..3).map(|k| format!("c{g}{k}")).collect();
        for k in (1..3).rev() {
            ctx.swap(k, rng.below(k + 1));
        }
        let sentence = [&ctx[0], &ctx[1], &target, &ctx[2]];
        b.add_sentence(sentence.iter().map(|s| s.as_str()));
    }
    b.finish(1, &[]).unwrap()
}

fn check_planted(model: Model, threads: usize) {
    let corpus = planted();
    let opts = TrainOptions {
        dim: 16,
        epochs: 10,
        sample: 0.0,
        threads,
        alpha: if model == Model::Softmax { 0.05 } else { 0.025 },
        ..TrainOptions::new(model)
    };
    let v = train(&corpus, &opts, &|_| {}).unwrap();
    let targets: Vec<usize> = (0..v.len())
        .filter(|&i| v.words[i].starts_with('t'))
        .collect();
    assert_eq!(targets.len(), 8);
    let targets_only = Vectors {
        words: targets.iter().map(|&i| v.words[i].clone()).collect(),
        dim: v.dim,
        data: targets.iter().flat_map(|&i| v.row(i).to_vec()).collect(),
    };
    for i in 0..targets_only.len() {
        let (j, cos) = targets_only.neighbors(i, 1)[0];
        let (a, b) = (&targets_only.words[i], &targets_only.words[j]);
        assert_eq!(a[..2], b[..2], "{model:?}: nearest of {a} is {b} ({cos})");
    }
}

#[test]
fn skipgram_recovers_planted_groups() {
    check_planted(Model::SkipGram, 1);
}

#[test]
fn cbow_recovers_planted_groups() {
    check_planted(Model::Cbow, 1);
}

#[test]
fn softmax_recovers_planted_groups() {
    check_planted(Model::Softmax, 1);
}

#[test]
fn two_threads_recover_planted_groups() {
    check_planted(Model::SkipGram, 2);
}

#[test]
fn one_thread_is_bit_identical_and_seed_matters() {
    let corpus = planted();
    let opts = TrainOptions {
        dim: 8,
        epochs: 2,
        ..TrainOptions::new(Model::SkipGram)
    };
    let a = train(&corpus, &opts, &|_| {}).unwrap();
    let b = train(&corpus, &opts, &|_| {}).unwrap();
    assert_eq!(a.data, b.data);
    let c = train(&corpus, &TrainOptions { seed: 2, ..opts }, &|_| {}).unwrap();
    assert_ne!(a.data, c.data);
}

#[test]
fn progress_counts_every_token_of_every_epoch() {
    let corpus = planted();
    let seen = std::sync::atomic::AtomicU64::new(0);
    let opts = TrainOptions {
        dim: 4,
        epochs: 3,
        threads: 2,
        ..TrainOptions::new(Model::Cbow)
    };
    train(&corpus, &opts, &|n| {
        seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(seen.into_inner(), 3 * 4 * 4000);
}

#[test]
fn bad_options_name_the_option() {
    let corpus = planted();
    let err = |opts: TrainOptions| train(&corpus, &opts, &|_| {}).unwrap_err().to_string();
    let base = TrainOptions::new(Model::SkipGram);
    assert_eq!(
        err(TrainOptions {
            dim: 0,
            ..base.clone()
        }),
        "--dim: must be at least 1"
    );
    assert_eq!(
        err(TrainOptions {
            epochs: 0,
            ..base.clone()
        }),
        "--epochs: must be at least 1"
    );
    assert_eq!(
        err(TrainOptions {
            negative: 0,
            ..base
        }),
        "--negative: must be at least 1 for skipgram and cbow (softmax needs none)"
    );
}

#[test]
fn negatives_follow_count_to_the_three_quarters() {
    // Counts 1 and 16: weights 1 and 8, so the second word is drawn 8/9 of the time.
    let neg = Negatives::new(&[1, 16]);
    let mut rng = Rng::new(7, 0, 0);
    let n = 90_000;
    let ones = (0..n).filter(|_| neg.draw(&mut rng) == 1).count();
    let share = ones as f64 / n as f64;
    assert!((share - 8.0 / 9.0).abs() < 0.01, "{share}");
}

#[test]
fn subsampling_keeps_rare_words_and_thins_frequent_ones() {
    // t = 0.1 × 100 = 10: count 1 is always kept; count 90: (√9 + 1) · 10/90 = 4/9.
    let keep = keep_thresholds(&[90, 9, 1], 0.1);
    assert_eq!(keep[2], u32::MAX);
    let expected = 4.0 / 9.0 * f64::from(u32::MAX);
    assert!((f64::from(keep[0]) - expected).abs() < 2.0);
}

#[test]
fn partition_is_contiguous_and_balanced() {
    let mut b = CorpusBuilder::new(false);
    for _ in 0..10 {
        b.add_sentence("a b".split(' '));
    }
    let c = b.finish(1, &[]).unwrap();
    assert_eq!(partition(&c, 3), [(0, 3), (3, 6), (6, 10)]);
}
