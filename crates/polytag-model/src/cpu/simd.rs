//! Runtime dispatch to the widest instruction set of this CPU, for loops over slices.

use macerator::{AutoArch, Simd, WithSimd};

/// A loop over `f32` slices to compile for the widest instruction set ([`vectorized`]).
///
/// `run` must be `#[inline(always)]` and call only `#[inline(always)]` functions (such as
/// those of [`super::math`]): code is compiled for the wider instruction set only where it is
/// inlined into the dispatch. (A closure would not do: its body is a function of its own,
/// compiled for the baseline and not inlined; measured: no AVX register in it.)
pub(crate) trait Kernel {
    /// What the loop returns.
    type Output;
    /// The loop.
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for the best instruction set of this CPU (AVX-512 or AVX2 where
/// present, through `macerator`, which burn's flex backend uses the same way), so that its
/// loops vectorise 16 or 8 lanes wide instead of the SSE2 baseline's 4. Only IEEE
/// add/mul/div/min/max and bit operations are used, so every instruction set gives
/// bit-identical results.
pub(crate) fn vectorized<K: Kernel>(kernel: K) -> K::Output {
    struct Dispatch<K>(K);
    impl<K: Kernel> WithSimd for Dispatch<K> {
        type Output = K::Output;
        #[inline(always)]
        fn with_simd<S: Simd>(self) -> K::Output {
            self.0.run()
        }
    }
    AutoArch::new().dispatch(Dispatch(kernel))
}

#[cfg(test)]
mod tests {
    use super::super::math::sigmoid;
    use super::*;

    #[test]
    fn vectorized_runs_the_kernel() {
        struct Sigmoid<'a>(&'a mut [f32]);
        impl Kernel for Sigmoid<'_> {
            type Output = usize;
            #[inline(always)]
            fn run(self) -> usize {
                self.0.iter_mut().for_each(|x| *x = sigmoid(*x));
                self.0.len()
            }
        }
        let mut v: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 1e-3).collect();
        let want: Vec<f32> = v.iter().map(|&x| sigmoid(x)).collect();
        assert_eq!(vectorized(Sigmoid(&mut v)), want.len());
        assert_eq!(v, want);
    }
}
