//! The dropout mask of the CPU training device: a counter-based generator (SplitMix64 of the
//! element index) instead of burn's per-element ChaCha draw and Bernoulli sampler, a few
//! vectorised integer operations per element ([`crate::dropout`] says why and when).

use super::simd::{vectorized, Kernel};

/// `len` mask values: 1 / keep with probability `keep`, else 0; element `i` decided by
/// SplitMix64(seed + i·γ).
pub(crate) fn mask(len: usize, seed: u64, keep: f64) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    vectorized(Mask {
        out: &mut out,
        seed,
        keep,
    });
    out
}

struct Mask<'a> {
    out: &'a mut [f32],
    seed: u64,
    keep: f64,
}

impl Kernel for Mask<'_> {
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
