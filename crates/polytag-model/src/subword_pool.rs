//! From a transformer's piece vectors to one vector per word (`subword_pooling`), reading
//! each word from the window polytag-data chose for it ([`SubwordInput::first`] /
//! [`SubwordInput::last`] index the flattened `[W·S]` windows).

use burn::prelude::*;
use polytag_config::SubwordPooling;

use crate::input::SubwordInput;

/// Pools `h` `[W, S, H]` (the encoder's output on the windows of `sub`) into `[B, T, H]`
/// (`[B, T, 2H]` for `first_last`). Padded word positions get some piece's vector; the
/// tagger's mask zeroes them.
///
/// `mean` averages the pieces `first..=last` with cumulative sums along each window (the
/// pieces of a word are contiguous in one window), so it costs two gathers, not a loop.
pub fn pool(h: Tensor<3>, sub: &SubwordInput, pooling: SubwordPooling) -> Tensor<3> {
    let [w, s, d] = h.dims();
    let [b, t] = sub.batch;
    let flat = h.clone().reshape([w * s, d]);
    let gather = |x: &Tensor<2>, index: &Tensor<1, Int>| x.clone().select(0, index.clone());
    let out = match pooling {
        SubwordPooling::First => gather(&flat, &sub.first),
        SubwordPooling::Last => gather(&flat, &sub.last),
        SubwordPooling::FirstLast => {
            Tensor::cat(vec![gather(&flat, &sub.first), gather(&flat, &sub.last)], 1)
        }
        SubwordPooling::Mean => {
            // Sums restart in every window: no precision lost across a long batch.
            let sums = h.cumsum(1).reshape([w * s, d]);
            let total =
                gather(&sums, &sub.last) - gather(&sums, &sub.first) + gather(&flat, &sub.first);
            let count = (sub.last.clone() - sub.first.clone() + 1)
                .float()
                .reshape([b * t, 1]);
            total / count
        }
    };
    let width = out.dims()[1];
    out.reshape([b, t, width])
}

#[cfg(test)]
mod tests {
    use super::*;
    use polytag_data::SubwordBatch;

    /// Two windows of width 4 with H = 2: position p of window k holds (10k + p, -(10k + p)).
    /// B = 2, T = 2: sentence 0 has one word (window 0, positions 1..=2) and a padded slot;
    /// sentence 1 has words at window 1 position 1 and positions 2..=3.
    fn case() -> (Tensor<3>, SubwordInput) {
        let device = Device::flex();
        let mut h = Vec::new();
        for k in 0..2 {
            for p in 0..4 {
                let v = (10 * k + p) as f32;
                h.extend([v, -v]);
            }
        }
        let h = Tensor::<3>::from_data(TensorData::new(h, [2, 4, 2]), &device);
        let sub = SubwordBatch {
            windows: 2,
            width: 4,
            ids: vec![0; 8],
            lengths: vec![4, 4],
            // sentence 0: word 0 = flat 1..=2, padding → 0; sentence 1: word 0 = flat 5,
            // word 1 = flat 6..=7.
            first: vec![1, 0, 5, 6],
            last: vec![2, 0, 5, 7],
        };
        (h, SubwordInput::from_batch(&sub, 2, 2, &device).unwrap())
    }

    fn values(x: Tensor<3>) -> Vec<f32> {
        x.try_to_vec_as().unwrap()
    }

    #[test]
    fn first_last_mean_and_first_last_by_hand() {
        let (h, sub) = case();
        // flat row r of window k, position p = (10k + p, -(10k + p)): row 1 = 1, 2 = 2,
        // 5 = 11, 6 = 12, 7 = 13, 0 = 0.
        let first = pool(h.clone(), &sub, SubwordPooling::First);
        assert_eq!(first.dims(), [2, 2, 2]);
        assert_eq!(values(first), [1., -1., 0., 0., 11., -11., 12., -12.]);
        let last = pool(h.clone(), &sub, SubwordPooling::Last);
        assert_eq!(values(last), [2., -2., 0., 0., 11., -11., 13., -13.]);
        let mean = pool(h.clone(), &sub, SubwordPooling::Mean);
        // (1 + 2) / 2 = 1.5; pad 0; 11; (12 + 13) / 2 = 12.5.
        let m = values(mean);
        for (a, b) in m.iter().zip([1.5, -1.5, 0., 0., 11., -11., 12.5, -12.5]) {
            assert!((a - b).abs() < 1e-6, "{m:?}");
        }
        let both = pool(h, &sub, SubwordPooling::FirstLast);
        assert_eq!(both.dims(), [2, 2, 4]);
        assert_eq!(
            values(both),
            [1., -1., 2., -2., 0., 0., 0., 0., 11., -11., 11., -11., 12., -12., 13., -13.]
        );
    }

    #[test]
    fn out_of_range_indices_are_errors() {
        let sub = SubwordBatch {
            windows: 1,
            width: 3,
            ids: vec![0; 3],
            lengths: vec![3],
            first: vec![3],
            last: vec![1],
        };
        let err = SubwordInput::from_batch(&sub, 1, 1, &Device::flex()).unwrap_err();
        assert!(err.to_string().contains("subword piece index"), "{err}");
    }
}
