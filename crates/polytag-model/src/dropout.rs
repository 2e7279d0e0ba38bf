//! Dropout with a cheap mask on the CPU training device.
//!
//! [`dropout`] does what burn's `Dropout::forward` does — during training, each element is
//! kept with probability 1 − p and scaled by 1 / (1 − p), otherwise zeroed; outside training
//! it is the identity — but on the `flex` autodiff device it draws the mask from a
//! counter-based generator (SplitMix64 of the element index) instead of burn's per-element
//! ChaCha draw and Bernoulli sampler.
//!
//! Why: measured on the paper's training step (`bench_paper --file`), drawing the masks took
//! ~15 % of the step (a `[19, 35, 342]` mask per step, ~10 ns per element through ChaCha
//! and the sampler); the generator here is a few vectorised integer operations per element. The generator is seeded by draws from the device
//! RNG (three per call), so a run stays reproducible from `device.seed(..)` (what `--resume` relies on); the
//! masks are different draws from the same distribution than burn's, so runs are not
//! bit-identical to runs made before this change. Other devices keep burn's dropout.

use burn::nn::Dropout;
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::host;

/// `d` applied to `x` (see the module doc).
pub(crate) fn dropout<const D: usize>(d: &Dropout, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !d.training.is_enabled() || !device.is_autodiff() || d.prob == 0.0 {
        return x;
    }
    if device != Device::flex() {
        return d.forward(x);
    }
    // three draws below 2^30 (ids are i32 on flex; the bound itself must stay representable)
    let seed = host::read_ids(Tensor::<1, Int>::random(
        [3],
        Distribution::Uniform(0.0, 1_073_741_824.0),
        &device,
    ));
    let seed = seed
        .iter()
        .fold(0u64, |s, &v| s.rotate_left(30) ^ v.unsigned_abs());
    let dims = x.dims();
    let mut mask = vec![0.0f32; dims.iter().product()];
    host::vectorized(Mask {
        out: &mut mask,
        seed,
        keep: 1.0 - d.prob,
    });
    x * host::tensor(mask, dims, &device)
}

/// Fills `out` with 1 / keep (probability `keep`) or 0, element `i` decided by
/// SplitMix64(seed + i·γ).
struct Mask<'a> {
    out: &'a mut [f32],
    seed: u64,
    keep: f64,
}

impl host::Kernel for Mask<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        // keep iff the top 24 bits, as a fraction of 2^24, fall below `keep`
        let threshold = (self.keep * f64::from(1u32 << 24)).round() as u64;
        let scale = (1.0 / self.keep) as f32;
        for (i, m) in self.out.iter_mut().enumerate() {
            let mut z = self.seed.wrapping_add((i as u64).wrapping_mul(GAMMA));
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            *m = if (z >> 40) < threshold { scale } else { 0.0 };
        }
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
