//! SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators"):
//! the one 64-bit mixer polytag derives its seeds with.
//!
//! A run has one seed; every random stream in it (the scheduler's draws, each task's batch
//! order, each step's dropout masks) gets its own seed from [`derive_seed`], so a resumed run
//! can recompute the seed of any step without replaying the ones before it.

/// SplitMix64's increment, ⌊2^64 / φ⌋ (odd): the state advances by it once per output.
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijective mix of 64 bits (Stafford's "Mix13" variant). The i-th
/// output of a SplitMix64 stream whose state starts at `s` is `mix64(s + (i + 1) · GAMMA)`.
#[inline]
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One SplitMix64 step from state `z`: advance by [`GAMMA`], then [`mix64`].
#[inline]
pub fn splitmix64(z: u64) -> u64 {
    mix64(z.wrapping_add(GAMMA))
}

/// The seed of item `index` of stream `stream` in a run seeded with `seed`: distinct inputs
/// give unrelated seeds (each stream id is a fixed constant chosen by its user).
pub fn derive_seed(seed: u64, stream: u64, index: u64) -> u64 {
    splitmix64(splitmix64(seed ^ stream).wrapping_add(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first outputs of SplitMix64 seeded with 0 and 1234567, from the reference C code
    /// (`splitmix64.c`, Vigna) that Java's `SplittableRandom` and `rand_xoshiro` also use.
    #[test]
    fn matches_the_reference_outputs() {
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(GAMMA), 0x6E78_9E6A_A1B9_65F4);
        let mut state = 1_234_567u64;
        let mut next = || {
            let out = splitmix64(state);
            state = state.wrapping_add(GAMMA);
            out
        };
        assert_eq!(next(), 6_457_827_717_110_365_317);
        assert_eq!(next(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn streams_and_indices_give_different_seeds() {
        let a = derive_seed(42, 1, 0);
        assert_ne!(a, derive_seed(42, 2, 0));
        assert_ne!(a, derive_seed(42, 1, 1));
        assert_ne!(a, derive_seed(43, 1, 0));
        assert_eq!(a, derive_seed(42, 1, 0));
    }
}
