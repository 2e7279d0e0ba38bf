//! Hand-derived values of every schedule (`lr/mod.rs` documents the formulas).

use super::*;

fn sched(lr0: f64, schedule: LrSchedule, expected_steps: u64) -> LrScheduler {
    LrScheduler::new(lr0, schedule, expected_steps).unwrap()
}

fn close(a: f64, b: f64) {
    assert!(
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300),
        "{a} != {b} (diff {})",
        (a - b).abs()
    );
}

/// lr0 0.02, 0.9 per 10,000 (the paper's example): t = 0 → 0.02; t = 5,000 →
/// 0.02·√0.9 = 0.02 × 0.9486832980505138 = 0.018973665961010276; t = 10,000 → 0.018;
/// t = 20,000 → 0.0162.
#[test]
fn exponential_is_continuous_in_the_task_step() {
    let s = sched(0.02, LrSchedule::default(), 0);
    close(s.lr(0), 0.02);
    close(s.lr(5_000), 0.018973665961010276);
    close(s.lr(10_000), 0.018);
    close(s.lr(20_000), 0.0162);
}

/// lr0 0.1, gamma 0.5, every 10: t = 9 → 0.1; 10 → 0.05; 25 → 0.025.
#[test]
fn step_decays_every_step_size() {
    let s = sched(
        0.1,
        LrSchedule::Step(StepDecay {
            step_size: 10,
            gamma: 0.5,
        }),
        0,
    );
    close(s.lr(0), 0.1);
    close(s.lr(9), 0.1);
    close(s.lr(10), 0.05);
    close(s.lr(25), 0.025);
}

/// Seed 003's final setting as steps: milestones [25, 15], gamma 0.5, lr0 1e-3:
/// t = 14 → 1e-3; 15 → 5e-4; 24 → 5e-4; 25 → 2.5e-4; 1000 → 2.5e-4. The step is the step,
/// not a score.
#[test]
fn multi_step_counts_passed_milestones() {
    let s = sched(
        1e-3,
        LrSchedule::MultiStep(MultiStep {
            milestones: vec![25, 15],
            gamma: 0.5,
        }),
        0,
    );
    close(s.lr(14), 1e-3);
    close(s.lr(15), 5e-4);
    close(s.lr(24), 5e-4);
    close(s.lr(25), 2.5e-4);
    close(s.lr(1000), 2.5e-4);
}

/// lr0 1, T 100, min 0.1: t = 0 → 1; t = 25 → 0.1 + 0.9·(1 + cos π/4)/2 = 0.1 + 0.9 ×
/// 0.8535533905932737 = 0.8681980515339464; t = 50 → 0.1 + 0.9·0.5 = 0.55; t ≥ 100 → 0.1.
#[test]
fn cosine_anneals_then_stays_at_min() {
    let s = sched(
        1.0,
        LrSchedule::Cosine(Cosine {
            total_steps: Some(100),
            min_lr: 0.1,
        }),
        0,
    );
    close(s.lr(0), 1.0);
    close(s.lr(25), 0.8681980515339464);
    close(s.lr(50), 0.55);
    close(s.lr(100), 0.1);
    close(s.lr(150), 0.1);
}

/// lr0 (the peak) 1e-2, T 10, defaults 0.3 / 25 / 1e4: initial 4e-4, final 4e-8, phase 1 ends at
/// 0.3·10 − 1 = 2, phase 2 at 9.
/// t = 0 → 4e-4; t = 1: pct ½, cos(π/2) + 1 = 1 → (1e-2 + 4e-4)/2 = 5.2e-3; t = 2 → 1e-2;
/// t = 4: pct 2/7, cos(2π/7) = 0.6234898018587336 → 4e-8 + (1e-2 − 4e-8)/2 × 1.6234898018587336
/// = 0.008117456539497631; t = 9 → 4e-8; t = 20 → 4e-8 (PyTorch would raise).
#[test]
fn one_cycle_matches_pytorch() {
    let s = sched(
        1e-2,
        LrSchedule::OneCycle(OneCycle {
            total_steps: Some(10),
            ..OneCycle::default()
        }),
        0,
    );
    close(s.lr(0), 4e-4);
    close(s.lr(1), 5.2e-3);
    close(s.lr(2), 1e-2);
    close(s.lr(4), 0.008117456539497631);
    close(s.lr(9), 4e-8);
    close(s.lr(20), 4e-8);
}

/// Absent total_steps: the task's expected steps.
#[test]
fn one_cycle_defaults_to_expected_steps() {
    let s = sched(1e-2, LrSchedule::OneCycle(OneCycle::default()), 10);
    close(s.lr(2), 1e-2);
    close(s.lr(9), 4e-8);
}

/// A′.1, lr0 1e-3, T 1000: t = 0 → 1e-3; t = 500 → 1e-4 + 9e-4·0.5 = 5.5e-4;
/// t = 1000 → 1e-4; t = 2000 → 1e-4.
#[test]
fn linear_decays_to_a_tenth() {
    let a1 = Linear {
        end_factor: 0.1,
        ..Linear::default()
    };
    let s = sched(1e-3, LrSchedule::Linear(a1), 1000);
    close(s.lr(0), 1e-3);
    close(s.lr(500), 5.5e-4);
    close(s.lr(1000), 1e-4);
    close(s.lr(2000), 1e-4);
}

/// factor 0.5, patience 1, rel threshold 1e-4, lr0 1:
/// 0.5 best; 0.6 best; 0.6 not > 0.6·1.0001 → bad 1; 0.59 → bad 2 > 1 → lr 0.5;
/// 0.7 best; 0.70001 not > 0.70007 → bad 1; NaN → bad 2 → lr 0.25.
#[test]
fn plateau_reduces_after_patience_bad_evaluations() {
    let mut s = sched(
        1.0,
        LrSchedule::Plateau(Plateau {
            factor: 0.5,
            patience: 1,
            ..Plateau::default()
        }),
        0,
    );
    let scores = [0.5, 0.6, 0.6, 0.59, 0.7, 0.70001, f64::NAN];
    let reduced: Vec<bool> = scores.iter().map(|&x| s.observe(x)).collect();
    assert_eq!(reduced, [false, false, false, true, false, false, true]);
    close(s.lr(12345), 0.25);
    let state = s.state().plateau.unwrap();
    assert_eq!(state.best, Some(0.7));
    assert_eq!(state.num_reductions, 2);
}

/// factor 0.1, patience 0, cooldown 1, min_lr 0.005, abs threshold 0, lr0 0.1:
/// 1.0 best; 1.0 bad → 0.01, cooldown 1; 1.0 bad but cooled down (count held at 0);
/// 1.0 bad → max(0.001, 0.005) = 0.005; 1.0 (cooldown); 1.0 → 0.005 − 0.005 ≤ eps: no change.
#[test]
fn plateau_cooldown_and_min_lr() {
    let mut s = sched(
        0.1,
        LrSchedule::Plateau(Plateau {
            threshold_mode: ThresholdMode::Abs,
            threshold: 0.0,
            patience: 0,
            cooldown: 1,
            min_lr: 0.005,
            ..Plateau::default()
        }),
        0,
    );
    let reduced: Vec<bool> = (0..6).map(|_| s.observe(1.0)).collect();
    assert_eq!(reduced, [false, true, false, true, false, false]);
    close(s.lr(0), 0.005);
    // A dev score: a larger value is an improvement, a smaller one is not.
    assert!(!s.observe(0.9));
    assert!(!s.observe(1.1));
    assert_eq!(s.state().plateau.unwrap().best, Some(1.1));
}

#[test]
fn plateau_state_round_trips_through_json() {
    let schedule = LrSchedule::Plateau(Plateau {
        factor: 0.5,
        patience: 0,
        ..Plateau::default()
    });
    let mut a = sched(1.0, schedule.clone(), 0);
    a.observe(0.3);
    a.observe(0.2);
    let json = serde_json::to_string(&a.state()).unwrap();
    let mut b = sched(1.0, schedule, 0);
    b.restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.observe(0.1), b.observe(0.1));
    close(b.lr(0), 0.25);
    let mut other = sched(1.0, LrSchedule::Constant, 0);
    assert!(matches!(
        other.restore(b.state()),
        Err(Error::StateMismatch { .. })
    ));
    assert!(other.restore(LrState::default()).is_ok());
}

#[test]
fn step_schedules_ignore_observations() {
    let mut s = sched(0.02, LrSchedule::default(), 0);
    assert!(!s.observe(0.1));
    close(s.lr(0), 0.02);
}

#[test]
fn config_json_tagged_by_kind_with_defaults() {
    let s: LrSchedule = serde_json::from_str(r#"{"kind": "exponential"}"#).unwrap();
    assert_eq!(s, LrSchedule::default());
    let s: LrSchedule =
        serde_json::from_str(r#"{"kind": "multi_step", "milestones": [15, 25], "gamma": 0.5}"#)
            .unwrap();
    assert_eq!(
        s,
        LrSchedule::MultiStep(MultiStep {
            milestones: vec![15, 25],
            gamma: 0.5
        })
    );
    let s: LrSchedule = serde_json::from_str(r#"{"kind": "constant"}"#).unwrap();
    assert_eq!(s, LrSchedule::Constant);
    let s: LrSchedule =
        serde_json::from_str(r#"{"kind": "plateau", "patience": 3, "cooldown": 1}"#).unwrap();
    let LrSchedule::Plateau(p) = s else {
        panic!("expected plateau")
    };
    assert_eq!((p.patience, p.factor, p.cooldown), (3, 0.1, 1));
    // `mode` is gone: the monitored value is always a dev score.
    assert!(serde_json::from_str::<LrSchedule>(r#"{"kind": "plateau", "mode": "min"}"#).is_err());
    assert!(serde_json::from_str::<LrSchedule>(r#"{"kind": "cosine", "tmax": 3}"#).is_err());
    assert!(serde_json::from_str::<LrSchedule>(r#"{"kind": "warmup"}"#).is_err());
    assert!(serde_json::from_str::<LrSchedule>(r#"{"kind": "step"}"#).is_err());
}

/// Hugging Face `get_linear_schedule_with_warmup`, lr0 2e-5, T 100, warm-up ratio 0.1 →
/// W = ⌈10.0⌉ = 10: t = 0 → 0 (HF's first update uses lr 0); t = 5 → 2e-5 · 5/10 = 1e-5;
/// t = 10 → 2e-5 · (100 − 10)/90 = 2e-5 (the peak); t = 55 → 2e-5 · 45/90 = 1e-5;
/// t = 100 → 0; t = 150 → 0 (clamped, no negative rate).
#[test]
fn linear_warmup_then_decay_to_zero_as_hugging_face() {
    let hf = Linear {
        warmup_ratio: Some(0.1),
        ..Linear::default()
    };
    let s = sched(2e-5, LrSchedule::Linear(hf), 100);
    assert_eq!(s.warmup_steps(), 10);
    assert_eq!(s.lr(0), 0.0);
    close(s.lr(5), 1e-5);
    close(s.lr(10), 2e-5);
    close(s.lr(55), 1e-5);
    assert_eq!(s.lr(100), 0.0);
    assert_eq!(s.lr(150), 0.0);
    close(s.factor(5), 0.5);
    // warmup_ratio 0.25 of T 10 → ⌈2.5⌉ = 3 steps; warmup_steps 3 of T 7 given explicitly:
    // t = 1 → 1/3; t = 5 → (7 − 5)/(7 − 3) = 0.5.
    let ratio = Linear {
        warmup_ratio: Some(0.25),
        ..Linear::default()
    };
    assert_eq!(sched(1.0, LrSchedule::Linear(ratio), 10).warmup_steps(), 3);
    let steps = Linear {
        total_steps: Some(7),
        warmup_steps: Some(3),
        ..Linear::default()
    };
    let s = sched(1.0, LrSchedule::Linear(steps), 1000);
    close(s.lr(1), 1.0 / 3.0);
    close(s.lr(5), 0.5);
}

#[test]
fn invalid_options_name_their_path() {
    let err =
        |lr0: f64, s: LrSchedule, n: u64| LrScheduler::new(lr0, s, n).unwrap_err().to_string();
    assert_eq!(
        err(0.0, LrSchedule::Constant, 0),
        "learning_rate: expected a finite number > 0, found 0"
    );
    assert_eq!(
        err(
            0.1,
            LrSchedule::Exponential(Exponential {
                decay_rate: 0.9,
                decay_step: 0
            }),
            0
        ),
        "lr_schedule.decay_step: expected at least 1 step, found 0"
    );
    assert_eq!(
        err(0.1, LrSchedule::Linear(Linear::default()), 0),
        "lr_schedule.total_steps: expected at least 1 step, found 0"
    );
    assert_eq!(
        err(
            0.1,
            LrSchedule::Linear(Linear {
                warmup_steps: Some(5),
                ..Linear::default()
            }),
            5
        ),
        "lr_schedule.warmup_steps: expected fewer warm-up steps than total_steps, found 5"
    );
    assert_eq!(
        err(
            0.1,
            LrSchedule::Plateau(Plateau {
                factor: 1.0,
                ..Plateau::default()
            }),
            0
        ),
        "lr_schedule.factor: expected a number in (0, 1), found 1"
    );
    assert_eq!(
        err(
            0.1,
            LrSchedule::OneCycle(OneCycle {
                pct_start: 1.5,
                ..OneCycle::default()
            }),
            10
        ),
        "lr_schedule.pct_start: expected a number in (0, 1), found 1.5"
    );
}
