//! [`TaskInput`]: one padded batch as tensors, the only thing a [`crate::Model`] reads.
//!
//! polytag-data hands over plain `u32` ids ([`polytag_data::Batch`]); tensors are made here,
//! on the model's device, once per batch.

use burn::prelude::*;
use polytag_data::{Batch, BatchStream, SubwordBatch};

use crate::error::{ModelError, Result};
use crate::sequence::length_mask;

/// A padded batch of `B` sentences of at most `T` words: one id tensor per input stream (the
/// task's feature `j` reads stream `j`), the mask, the lengths and the gold labels.
#[derive(Clone, Debug)]
pub struct TaskInput {
    /// One stream per feature of the task, in feature order.
    pub streams: Vec<InputStream>,
    /// `[B, T]`: 1.0 on the first `lengths[b]` positions, 0.0 on padding. Must agree with
    /// `lengths` ([`Self::new`] and [`Self::from_batch`] derive it).
    pub mask: Tensor<2>,
    /// Sentence lengths, each in `1..=T`.
    pub lengths: Vec<usize>,
    /// `[B, T]` gold label ids (any valid id at padding), for the loss.
    pub labels: Option<Tensor<2, Int>>,
}

/// One input stream as a tensor.
#[derive(Clone, Debug)]
// a handful per batch: the size of the enum does not matter
#[allow(clippy::large_enum_variant)]
pub enum InputStream {
    /// `[B, T]` ids, one per word (0 = padding): words, feature-column values.
    Tokens(Tensor<2, Int>),
    /// `[B, T, L]` char ids (0 = padding), right-padded per word.
    Chars(Tensor<3, Int>),
    /// Sub-word windows of a transformer feature (boxed: four tensors and the batch shape).
    Subwords(Box<SubwordInput>),
}

/// The sub-word windows of a batch (polytag-data's [`SubwordBatch`]) as tensors.
#[derive(Clone, Debug)]
pub struct SubwordInput {
    /// `[W, S]` piece ids, each window `CLS pieces SEP PAD…`.
    pub ids: Tensor<2, Int>,
    /// `[W, S]` true at padding.
    pub pad: Tensor<2, Bool>,
    /// `[B·T]` index into the flattened `[W·S]` windows of each word's first piece.
    pub first: Tensor<1, Int>,
    /// `[B·T]` the same for each word's last piece.
    pub last: Tensor<1, Int>,
    /// `[B, T]` of the batch the words belong to.
    pub batch: [usize; 2],
}

impl SubwordInput {
    /// Tensors of `sub` for a `[b, t]` batch.
    ///
    /// # Errors
    /// [`ModelError::InputShape`] when a buffer does not match `W`, `S`, `B·T`, or an index
    /// points outside the windows.
    pub fn from_batch(sub: &SubwordBatch, b: usize, t: usize, device: &Device) -> Result<Self> {
        let (w, s) = (sub.windows, sub.width);
        let shape = |what: &'static str, found: usize, expected: Vec<usize>| {
            if found == expected.iter().product::<usize>() {
                Ok(())
            } else {
                Err(ModelError::InputShape {
                    what,
                    expected,
                    found: vec![found],
                })
            }
        };
        shape("subword ids", sub.ids.len(), vec![w, s])?;
        shape("subword window lengths", sub.lengths.len(), vec![w])?;
        shape("subword first pieces", sub.first.len(), vec![b, t])?;
        shape("subword last pieces", sub.last.len(), vec![b, t])?;
        if let Some(&bad) = sub
            .first
            .iter()
            .chain(&sub.last)
            .find(|&&i| i as usize >= w * s)
        {
            return Err(ModelError::InputShape {
                what: "subword piece index",
                expected: vec![w * s],
                found: vec![bad as usize],
            });
        }
        let pad: Vec<bool> = (0..w * s)
            .map(|i| i % s >= sub.lengths[i / s] as usize)
            .collect();
        Ok(SubwordInput {
            ids: ids(&sub.ids, [w, s], device),
            pad: Tensor::from_data(TensorData::new(pad, [w, s]), device),
            first: ids(&sub.first, [b * t], device),
            last: ids(&sub.last, [b * t], device),
            batch: [b, t],
        })
    }

    /// The same on the inner (non-autodiff) device.
    pub fn inner(&self) -> SubwordInput {
        SubwordInput {
            ids: self.ids.clone().inner(),
            pad: self.pad.clone().inner(),
            first: self.first.clone().inner(),
            last: self.last.clone().inner(),
            batch: self.batch,
        }
    }
}

impl InputStream {
    /// What the stream holds, for messages.
    pub fn what(&self) -> &'static str {
        match self {
            InputStream::Tokens(_) => "token ids",
            InputStream::Chars(_) => "character ids",
            InputStream::Subwords(_) => "sub-word windows",
        }
    }

    /// `[B, T]` of the stream.
    pub fn batch_dims(&self) -> [usize; 2] {
        match self {
            InputStream::Tokens(ids) => ids.dims(),
            InputStream::Chars(ids) => {
                let [b, t, _] = ids.dims();
                [b, t]
            }
            InputStream::Subwords(sub) => sub.batch,
        }
    }
}

fn ids<const D: usize>(v: &[u32], shape: [usize; D], device: &Device) -> Tensor<D, Int> {
    let data: Vec<i64> = v.iter().map(|&x| i64::from(x)).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

impl TaskInput {
    /// Builds the input from its tensors, deriving the mask from `lengths`; `T` is the
    /// streams' second dimension (the longest length without streams).
    pub fn new(
        streams: Vec<InputStream>,
        lengths: Vec<usize>,
        labels: Option<Tensor<2, Int>>,
        device: &Device,
    ) -> Self {
        let t = streams.first().map_or_else(
            || lengths.iter().copied().max().unwrap_or(1),
            |s| s.batch_dims()[1],
        );
        let mask = length_mask(&lengths, t, device);
        Self {
            streams,
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
        let (b, t) = (batch.batch_size, batch.max_len);
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
        if batch.lengths.len() != b {
            return Err(ModelError::InputShape {
                what: "lengths",
                expected: vec![b],
                found: vec![batch.lengths.len()],
            });
        }
        let mut streams = Vec::with_capacity(batch.streams.len());
        for stream in &batch.streams {
            streams.push(match stream {
                BatchStream::Tokens(v) => {
                    check("tokens", v, vec![b, t])?;
                    InputStream::Tokens(ids(v, [b, t], device))
                }
                BatchStream::Chars {
                    max_chars, ids: v, ..
                } => {
                    check("chars", v, vec![b, t, *max_chars])?;
                    InputStream::Chars(ids(v, [b, t, *max_chars], device))
                }
                BatchStream::Subwords(sub) => {
                    InputStream::Subwords(Box::new(SubwordInput::from_batch(sub, b, t, device)?))
                }
            });
        }
        if batch.has_labels {
            check("labels", &batch.labels, vec![b, t])?;
        }
        let input = Self {
            streams,
            mask: length_mask(&batch.lengths, t, device),
            lengths: batch.lengths.clone(),
            labels: batch.has_labels.then(|| ids(&batch.labels, [b, t], device)),
        };
        input.check()?;
        Ok(input)
    }

    /// The same batch on the inner (non-autodiff) device, for evaluating a model's
    /// `valid()` copy on a batch made for training.
    pub fn inner(&self) -> TaskInput {
        TaskInput {
            streams: self
                .streams
                .iter()
                .map(|stream| match stream {
                    InputStream::Tokens(ids) => InputStream::Tokens(ids.clone().inner()),
                    InputStream::Chars(ids) => InputStream::Chars(ids.clone().inner()),
                    InputStream::Subwords(sub) => InputStream::Subwords(Box::new(sub.inner())),
                })
                .collect(),
            mask: self.mask.clone().inner(),
            lengths: self.lengths.clone(),
            labels: self.labels.clone().map(Tensor::inner),
        }
    }

    /// Batch size and padded length `(B, T)`.
    pub fn dims(&self) -> (usize, usize) {
        let [b, t] = self.mask.dims();
        (b, t)
    }

    /// Checks that every tensor agrees with the mask `[B, T]` and that each length is in
    /// `1..=T`: a bad batch is an error, never a shape panic inside the model.
    ///
    /// # Errors
    /// [`ModelError::InputShape`], [`ModelError::InputLength`].
    pub fn check(&self) -> Result<()> {
        let [b, t] = self.mask.dims();
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
        for stream in &self.streams {
            match stream {
                InputStream::Tokens(ids) => same("tokens", ids.dims().to_vec(), vec![b, t])?,
                InputStream::Chars(ids) => {
                    let [cb, ct, cl] = ids.dims();
                    same("chars", vec![cb, ct, cl], vec![b, t, cl])?;
                }
                InputStream::Subwords(sub) => {
                    same("subword batch", sub.batch.to_vec(), vec![b, t])?;
                    let [w, s] = sub.ids.dims();
                    same("subword padding", sub.pad.dims().to_vec(), vec![w, s])?;
                    same(
                        "subword first pieces",
                        sub.first.dims().to_vec(),
                        vec![b * t],
                    )?;
                    same("subword last pieces", sub.last.dims().to_vec(), vec![b * t])?;
                }
            }
        }
        same("lengths", vec![self.lengths.len()], vec![b])?;
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
            streams: vec![
                BatchStream::Tokens(vec![5, 6, 7, 8, 0, 0]),
                BatchStream::Chars {
                    max_chars: 2,
                    ids: vec![1, 2, 3, 0, 4, 4, 5, 0, 0, 0, 0, 0],
                    lengths: vec![2, 1, 2, 1, 0, 0],
                },
                BatchStream::Tokens(vec![3, 3, 3, 4, 0, 0]),
            ],
            labels: vec![1, 0, 2, 1, 0, 0],
            has_labels: true,
            lengths: vec![3, 1],
            sentence_idx: vec![7, 2],
        }
    }

    #[test]
    fn from_batch_builds_tensors_and_mask() {
        let device = Device::flex();
        let input = TaskInput::from_batch(&batch(), &device).unwrap();
        let InputStream::Chars(chars) = &input.streams[1] else {
            panic!("stream 1 holds chars")
        };
        assert_eq!(chars.dims(), [2, 3, 2]);
        let mask: Vec<f32> = input.mask.try_to_vec_as().unwrap();
        assert_eq!(mask, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        let InputStream::Tokens(words) = &input.streams[0] else {
            panic!("stream 0 holds tokens")
        };
        let w: Vec<i64> = words.try_to_vec_as().unwrap();
        assert_eq!(w, vec![5, 6, 7, 8, 0, 0]);
        assert!(input.labels.is_some() && input.streams.len() == 3);
    }

    #[test]
    fn bad_batches_are_errors() {
        let device = Device::flex();
        let mut b = batch();
        if let BatchStream::Chars { ids, .. } = &mut b.streams[1] {
            ids.pop();
        }
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
