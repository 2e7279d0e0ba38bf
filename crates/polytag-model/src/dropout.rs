//! Dropout with a cheap mask on the CPU training device.
//!
//! [`dropout`] does what burn's `Dropout::forward` does — during training, each element is
//! kept with probability 1 − p and scaled by 1 / (1 − p), otherwise zeroed; outside training
//! it is the identity — but on the `flex` autodiff device it draws the mask from a
//! counter-based generator (SplitMix64 of the element index) instead of burn's per-element
//! ChaCha draw and Bernoulli sampler.
//!
//! Why: drawing burn's masks (ChaCha and a sampler per element) was a sizeable share of the
//! paper's training step (`BENCHMARKS.md`); the generator here ([`crate::cpu::dropout`]) is
//! a few vectorised integer operations per element. It is seeded by draws from the device
//! RNG (three per call), so a run stays reproducible from `device.seed(..)` (what
//! `--resume` relies on); the masks are different draws from the same distribution than
//! burn's, so runs are not bit-identical to runs made before this change. Other devices keep
//! burn's dropout.

use burn::nn::Dropout;
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::cpu::{self, io, Path};

/// `d` applied to `x` (see the module doc).
pub(crate) fn dropout<const D: usize>(d: &Dropout, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    // burn's dropout is the identity outside training and without autodiff
    if !d.training.is_enabled() || !device.is_autodiff() || d.prob == 0.0 {
        return x;
    }
    match Path::of(&device) {
        Path::Autodiff => {
            // three draws below 2^30 (ids are i32 on flex; the bound itself must stay
            // representable)
            let seed = io::read_ids(Tensor::<1, Int>::random(
                [3],
                Distribution::Uniform(0.0, 1_073_741_824.0),
                &device,
            ));
            let seed = seed
                .iter()
                .fold(0u64, |s, &v| s.rotate_left(30) ^ v.unsigned_abs());
            let dims = x.dims();
            let mask = cpu::dropout::mask(dims.iter().product(), seed, 1.0 - d.prob);
            x * io::tensor(mask, dims, &device)
        }
        // (the plain CPU device has no autodiff, so only GPUs get here)
        Path::Host | Path::Tensor => d.forward(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::DropoutConfig;

    #[test]
    fn keeps_the_right_fraction_scaled_and_is_reproducible() {
        let device = Device::flex().autodiff();
        let d = DropoutConfig::new(0.6).init();
        let x = Tensor::<2>::ones([200, 500], &device);
        device.seed(9);
        let a: Vec<f32> = dropout(&d, x.clone()).try_to_vec_as().unwrap();
        device.seed(9);
        let b: Vec<f32> = dropout(&d, x.clone()).try_to_vec_as().unwrap();
        assert_eq!(a, b);
        let kept = a.iter().filter(|&&v| v != 0.0).count() as f64 / a.len() as f64;
        // 100,000 Bernoulli(0.4) draws: standard deviation 0.0015
        assert!((kept - 0.4).abs() < 0.01, "{kept}");
        assert!(a.iter().all(|&v| v == 0.0 || (v - 2.5).abs() < 1e-6));
        // the next call draws another mask
        let c: Vec<f32> = dropout(&d, x.clone()).try_to_vec_as().unwrap();
        assert_ne!(a, c);
        // neighbouring elements are independent: P(both kept) ≈ 0.16
        let both = a.windows(2).filter(|w| w[0] != 0.0 && w[1] != 0.0).count() as f64
            / (a.len() - 1) as f64;
        assert!((both - 0.16).abs() < 0.01, "{both}");
    }

    #[test]
    fn identity_outside_training() {
        let d = DropoutConfig::new(0.5).init();
        let plain = Tensor::<2>::ones([3, 4], &Device::flex());
        assert_eq!(dropout(&d, plain.clone()).to_data(), plain.to_data());
        let ad = Device::flex().autodiff();
        let x = Tensor::<2>::ones([3, 4], &ad);
        let off = DropoutConfig::new(0.0).init();
        assert_eq!(dropout(&off, x.clone()).to_data(), x.to_data());
    }
}
