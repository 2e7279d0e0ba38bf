//! [`TaskInput`]: one padded batch as tensors, the only thing a [`crate::Model`] reads.
//!
//! polytag-data hands over plain `u32` ids ([`polytag_data::Batch`]); tensors are made here,
//! on the model's device, once per batch.

use burn::prelude::*;
use polytag_data::Batch;

use crate::error::{ModelError, Result};
use crate::sequence::length_mask;

/// A padded batch of `B` sentences of at most `T` words of at most `L` chars.
#[derive(Clone, Debug)]
pub struct TaskInput {
    /// `[B, T]` word ids (0 = padding).
    pub words: Tensor<2, Int>,
    /// `[B, T, L]` char ids (0 = padding), right-padded per word.
    pub chars: Tensor<3, Int>,
    /// One `[B, T]` id tensor per extra input column (feature embeddings).
    pub features: Vec<Tensor<2, Int>>,
    /// `[B, T]`: 1.0 on the first `lengths[b]` positions, 0.0 on padding. Must agree with
    /// `lengths` ([`Self::new`] and [`Self::from_batch`] derive it).
    pub mask: Tensor<2>,
    /// Sentence lengths, each in `1..=T`.
    pub lengths: Vec<usize>,
    /// `[B, T]` gold label ids (any valid id at padding), for the loss.
    pub labels: Option<Tensor<2, Int>>,
}

fn ids<const D: usize>(v: &[u32], shape: [usize; D], device: &Device) -> Tensor<D, Int> {
    let data: Vec<i64> = v.iter().map(|&x| i64::from(x)).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

impl TaskInput {
    /// Builds the input from its tensors, deriving the mask from `lengths`.
    pub fn new(
        words: Tensor<2, Int>,
        chars: Tensor<3, Int>,
        features: Vec<Tensor<2, Int>>,
        lengths: Vec<usize>,
        labels: Option<Tensor<2, Int>>,
    ) -> Self {
        let [_, t] = words.dims();
        let mask = length_mask(&lengths, t, &words.device());
        Self {
            words,
            chars,
            features,
            mask,
            lengths,
            labels,
        }
    }

    /// Tensors of a polytag-data batch on `device` (labels only if the batch has them).
    ///
    /// # Errors
    /// [`ModelError::InputShape`] if a buffer's length does not match the batch's sizes.
    pub fn from_batch(batch: &Batch, device: &Device) -> Result<Self> {
        let (b, t, l) = (batch.batch_size, batch.max_len, batch.max_chars);
        let check = |what: &'static str, v: &[u32], shape: Vec<usize>| {
            if v.len() == shape.iter().product::<usize>() {
                Ok(())
            } else {
                Err(ModelError::InputShape {
                    what,
                    expected: shape,
                    found: vec![v.len()],
                })
            }
        };
        check("words", &batch.words, vec![b, t])?;
        check("chars", &batch.chars, vec![b, t, l])?;
        for f in &batch.features {
            check("features", f, vec![b, t])?;
        }
        if batch.has_labels {
            check("labels", &batch.labels, vec![b, t])?;
        }
        let input = Self::new(
            ids(&batch.words, [b, t], device),
            ids(&batch.chars, [b, t, l], device),
            batch
                .features
                .iter()
                .map(|f| ids(f, [b, t], device))
                .collect(),
            batch.lengths.clone(),
            batch.has_labels.then(|| ids(&batch.labels, [b, t], device)),
        );
        input.check()?;
        Ok(input)
    }

    /// Batch size and padded length `(B, T)`.
    pub fn dims(&self) -> (usize, usize) {
        let [b, t] = self.words.dims();
        (b, t)
    }

    /// Checks that every tensor agrees with `words` `[B, T]` and that each length is in
    /// `1..=T`: a bad batch is an error, never a shape panic inside the model.
    ///
    /// # Errors
    /// [`ModelError::InputShape`], [`ModelError::InputLength`].
    pub fn check(&self) -> Result<()> {
        let [b, t] = self.words.dims();
        let same = |what: &'static str, found: Vec<usize>, expected: Vec<usize>| {
            if found == expected {
                Ok(())
            } else {
                Err(ModelError::InputShape {
                    what,
                    expected,
                    found,
                })
            }
        };
        let [cb, ct, cl] = self.chars.dims();
        same("chars", vec![cb, ct], vec![b, t]).map_err(|_| ModelError::InputShape {
            what: "chars",
            expected: vec![b, t, cl],
            found: vec![cb, ct, cl],
        })?;
        same("lengths", vec![self.lengths.len()], vec![b])?;
        same("mask", self.mask.dims().to_vec(), vec![b, t])?;
        for f in &self.features {
            same("features", f.dims().to_vec(), vec![b, t])?;
        }
        if let Some(l) = &self.labels {
            same("labels", l.dims().to_vec(), vec![b, t])?;
        }
        for (sentence, &length) in self.lengths.iter().enumerate() {
            if length == 0 || length > t {
                return Err(ModelError::InputLength {
                    sentence,
                    length,
                    max_len: t,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        Batch {
            batch_size: 2,
            max_len: 3,
            max_chars: 2,
            words: vec![5, 6, 7, 8, 0, 0],
            chars: vec![1, 2, 3, 0, 4, 4, 5, 0, 0, 0, 0, 0],
            char_lengths: vec![2, 1, 2, 1, 0, 0],
            labels: vec![1, 0, 2, 1, 0, 0],
            has_labels: true,
            features: vec![vec![3, 3, 3, 4, 0, 0]],
            lengths: vec![3, 1],
            sentence_idx: vec![7, 2],
        }
    }

    #[test]
    fn from_batch_builds_tensors_and_mask() {
        let device = Device::flex();
        let input = TaskInput::from_batch(&batch(), &device).unwrap();
        assert_eq!(input.chars.dims(), [2, 3, 2]);
        let mask: Vec<f32> = input.mask.try_to_vec_as().unwrap();
        assert_eq!(mask, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        let w: Vec<i64> = input.words.try_to_vec_as().unwrap();
        assert_eq!(w, vec![5, 6, 7, 8, 0, 0]);
        assert!(input.labels.is_some() && input.features.len() == 1);
    }

    #[test]
    fn bad_batches_are_errors() {
        let device = Device::flex();
        let mut b = batch();
        b.chars.pop();
        let err = TaskInput::from_batch(&b, &device).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task input chars has shape [11], expected [2, 3, 2]"
        );
        let mut b = batch();
        b.lengths = vec![3, 0];
        let err = TaskInput::from_batch(&b, &device).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task input sentence 1 has length 0, expected 1..=3"
        );
        let mut b = batch();
        b.lengths = vec![3];
        assert!(matches!(
            TaskInput::from_batch(&b, &device),
            Err(ModelError::InputShape {
                what: "lengths",
                ..
            })
        ));
    }
}
