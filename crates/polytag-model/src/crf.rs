//! The `crf` component: a linear-chain CRF over labels `0..L-1` with separate start `[L]`,
//! end `[L]` and transition `[L, L]` scores.
//!
//! Convention: `transitions[from, to]` is the score of label `to` following label `from`
//! (seed B's T[from, to]; mlmt's T[to, from] with START/END rows appended is converted by
//! transposing and moving its START column / END row into `start` / `end`, seed-systems E).
//!
//! A path y₁…yₙ scores start\[y₁\] + Σₜ e_t\[y_t\] + Σₜ T[y_{t−1}, y_t] + end\[yₙ\]. Training
//! minimises the mean over sentences of log Z − gold score (sentence-level NLL, as both seeds),
//! with the batched forward algorithm (burn ops on the device; one fused op on the CPU
//! training device, `cpu::crf`); padded steps carry the forward variables unchanged,
//! so a sentence's log Z does not depend on the batch's padding. Decoding (exact
//! per-sequence Viterbi, n-best, marginals) runs on the host ([`crate::lattice`]).
//!
//! Constraints (optional, from the tag scheme): a constant mask of allowed transitions, starts
//! and ends. In training forbidden scores are replaced by a large negative constant (their
//! parameters get no gradient); in decoding they are −∞, so no forbidden path is ever output.
//! Init: U(−0.1, 0.1) for all scores (seed B).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::prelude::*;
use rayon::prelude::*;

use crate::cpu::{self, io, Path};
use crate::error::{ModelError, Result};
use crate::lattice::{Lattice, ScoredPath};
use crate::sequence::{logsumexp, step_pads, time_steps};

/// Score of a forbidden move in the device-side forward algorithm: exp(−1e4) is exactly 0 in
/// f32, and, unlike −∞, it keeps every intermediate finite (no NaN gradients).
const FORBIDDEN: f32 = -1e4;

/// Which transitions, first labels and last labels a tag scheme allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrfConstraints {
    num_labels: usize,
    transitions: Vec<bool>,
    starts: Vec<bool>,
    ends: Vec<bool>,
}

impl CrfConstraints {
    /// Constraints from row-major `allowed[from * L + to]`, `start[to]`, `end[from]`.
    ///
    /// # Errors
    /// [`ModelError::Constraints`] if the sizes are not `L²`, `L`, `L`.
    pub fn new(
        num_labels: usize,
        transitions: Vec<bool>,
        starts: Vec<bool>,
        ends: Vec<bool>,
        path: &str,
    ) -> Result<Self> {
        let found = |n: usize, sq: bool| if sq { (n as f64).sqrt() as usize } else { n };
        for (n, sq) in [
            (transitions.len(), true),
            (starts.len(), false),
            (ends.len(), false),
        ] {
            let want = if sq {
                num_labels * num_labels
            } else {
                num_labels
            };
            if n != want {
                return Err(ModelError::Constraints {
                    path: path.to_string(),
                    expected: num_labels,
                    found: found(n, sq),
                });
            }
        }
        Ok(Self {
            num_labels,
            transitions,
            starts,
            ends,
        })
    }

    /// Number of labels covered.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    /// `allowed[from * L + to]`.
    pub fn transitions(&self) -> &[bool] {
        &self.transitions
    }

    /// Labels allowed first.
    pub fn starts(&self) -> &[bool] {
        &self.starts
    }

    /// Labels allowed last.
    pub fn ends(&self) -> &[bool] {
        &self.ends
    }

    /// Whether a label sequence uses only allowed moves.
    pub fn allows(&self, path: &[u32]) -> bool {
        let l = self.num_labels;
        let ok = |v: &[bool], i: usize| v.get(i).copied().unwrap_or(false);
        match (path.first(), path.last()) {
            (Some(&f), Some(&e)) => {
                ok(&self.starts, f as usize)
                    && ok(&self.ends, e as usize)
                    && path
                        .windows(2)
                        .all(|w| ok(&self.transitions, w[0] as usize * l + w[1] as usize))
            }
            _ => true,
        }
    }
}

/// Configuration of a [`Crf`].
#[derive(Config, Debug)]
pub struct CrfConfig {
    /// Number of labels of the task type.
    pub num_labels: usize,
}

/// Linear-chain CRF.
#[derive(Module, Debug)]
pub struct Crf {
    /// `[L, L]`, `transitions[from, to]`.
    pub transitions: Param<Tensor<2>>,
    /// `[L]`, score of starting with a label.
    pub start: Param<Tensor<1>>,
    /// `[L]`, score of ending with a label.
    pub end: Param<Tensor<1>>,
    #[module(skip)]
    constraints: Option<CrfConstraints>,
}

impl CrfConfig {
    /// Builds an unconstrained CRF (lazy parameters).
    pub fn init(&self, device: &Device) -> Crf {
        let l = self.num_labels;
        let init = Initializer::Uniform {
            min: -0.1,
            max: 0.1,
        };
        Crf {
            transitions: init.init([l, l], device),
            start: init.init([l], device),
            end: init.init([l], device),
            constraints: None,
        }
    }
}

impl Crf {
    /// Adds scheme constraints.
    ///
    /// # Errors
    /// [`ModelError::Constraints`] if they cover another number of labels.
    pub fn with_constraints(mut self, constraints: CrfConstraints, path: &str) -> Result<Self> {
        if constraints.num_labels != self.num_labels() {
            return Err(ModelError::Constraints {
                path: path.to_string(),
                expected: self.num_labels(),
                found: constraints.num_labels,
            });
        }
        self.constraints = Some(constraints);
        Ok(self)
    }

    /// The constraints, if any.
    pub fn constraints(&self) -> Option<&CrfConstraints> {
        self.constraints.as_ref()
    }

    /// Number of labels.
    pub fn num_labels(&self) -> usize {
        self.start.lazy_shape().dims::<1>()[0]
    }

    /// Scores with the constraints applied: (transitions `[L, L]`, start `[L]`, end `[L]`).
    fn scores(&self) -> (Tensor<2>, Tensor<1>, Tensor<1>) {
        let (t, s, e) = (self.transitions.val(), self.start.val(), self.end.val());
        match &self.constraints {
            None => (t, s, e),
            Some(c) => {
                let l = c.num_labels;
                let device = t.device();
                let forbidden = |v: &[bool]| -> Vec<bool> { v.iter().map(|&a| !a).collect() };
                let ft = Tensor::<2, Bool>::from_data(
                    TensorData::new(forbidden(&c.transitions), [l, l]),
                    &device,
                );
                let fs = Tensor::<1, Bool>::from_data(
                    TensorData::new(forbidden(&c.starts), [l]),
                    &device,
                );
                let fe =
                    Tensor::<1, Bool>::from_data(TensorData::new(forbidden(&c.ends), [l]), &device);
                (
                    t.mask_fill(ft, FORBIDDEN),
                    s.mask_fill(fs, FORBIDDEN),
                    e.mask_fill(fe, FORBIDDEN),
                )
            }
        }
    }

    /// log Z per sentence by the forward algorithm.
    ///
    /// # Shapes
    /// - `emissions`: `[B, T, L]`, `mask`: `[B, T]` (every sentence ≥ 1 token) → `[B]`
    pub fn log_partition(&self, emissions: Tensor<3>, mask: Tensor<2>) -> Tensor<1> {
        match Path::of(&emissions.device()) {
            Path::Autodiff => self
                .log_partition_autodiff(&emissions, &mask)
                .unwrap_or_else(|| self.log_partition_tensor(emissions, mask)),
            // inference decodes on the host ([`Self::lattice`]) and needs no log Z
            Path::Host | Path::Tensor => self.log_partition_tensor(emissions, mask),
        }
    }

    /// [`Self::log_partition`] as one fused op ([`cpu::crf`]), or `None` where it does not
    /// apply (the caller then takes the tensor path).
    fn log_partition_autodiff(&self, emissions: &Tensor<3>, mask: &Tensor<2>) -> Option<Tensor<1>> {
        let (trans, start, end) = self.scores();
        let mask = io::read(mask.clone());
        cpu::crf::log_partition(emissions.clone(), &mask, trans, start, end)
    }

    /// [`Self::log_partition`] as burn ops: the GPU path, and the reference of the fused op
    /// of the CPU training device.
    fn log_partition_tensor(&self, emissions: Tensor<3>, mask: Tensor<2>) -> Tensor<1> {
        let [b, _, l] = emissions.dims();
        let (trans, start, end) = self.scores();
        let trans = trans.unsqueeze::<3>(); // [1, L(from), L(to)]
        let pads = step_pads(&mask);
        let mut steps = time_steps(emissions.swap_dims(0, 1)).into_iter();
        let Some(first) = steps.next() else {
            return Tensor::zeros([b], &mask.device());
        };
        let mut alpha = first + start.unsqueeze::<2>(); // [B, L]
        for (e_t, pad) in steps.zip(pads.into_iter().skip(1)) {
            // [B, L, 1] + [1, L, L] → log-sum-exp over `from` → [B, L]
            let next = logsumexp(alpha.clone().unsqueeze_dim::<3>(2) + trans.clone(), 1)
                .reshape([b, l])
                + e_t;
            alpha = next.mask_where(pad, alpha); // padding: keep alpha
        }
        logsumexp(alpha + end.unsqueeze::<2>(), 1).reshape([b])
    }

    /// Score of the gold paths.
    ///
    /// # Shapes
    /// - `emissions`: `[B, T, L]`; `labels`: `[B, T]` (padding may hold any label id, e.g. 0);
    ///   `mask`: `[B, T]`; `lengths`: B values in 1..=T → `[B]`
    pub fn gold_score(
        &self,
        emissions: Tensor<3>,
        labels: Tensor<2, Int>,
        mask: Tensor<2>,
        lengths: &[usize],
    ) -> Tensor<1> {
        let [b, t, l] = emissions.dims();
        let device = emissions.device();
        let (trans, start, end) = self.scores();
        let emit = emissions
            .gather(2, labels.clone().unsqueeze_dim::<3>(2))
            .reshape([b, t])
            * mask.clone();
        let mut score = emit.sum_dim(1).reshape([b]);
        if t > 1 {
            // T[y_{t-1}, y_t] through a flat index into the [L·L] table
            let prev = labels.clone().slice(s![.., 0..t - 1]);
            let cur = labels.clone().slice(s![.., 1..t]);
            let flat = (prev * (l as i64) + cur).reshape([b * (t - 1)]);
            let tr = trans.reshape([l * l]).select(0, flat).reshape([b, t - 1])
                * mask.slice(s![.., 1..t]);
            score = score + tr.sum_dim(1).reshape([b]);
        }
        let first = labels.clone().slice(s![.., 0..1]).reshape([b]);
        let last_idx: Vec<i64> = lengths
            .iter()
            .map(|&n| n.clamp(1, t.max(1)) as i64 - 1)
            .collect();
        let last_idx = Tensor::<2, Int>::from_data(TensorData::new(last_idx, [b, 1]), &device);
        let last = labels.gather(1, last_idx).reshape([b]);
        score + start.select(0, first) + end.select(0, last)
    }

    /// Mean over sentences of log Z − gold score, `[1]`.
    pub fn nll(
        &self,
        emissions: Tensor<3>,
        labels: Tensor<2, Int>,
        mask: Tensor<2>,
        lengths: &[usize],
    ) -> Tensor<1> {
        let log_z = self.log_partition(emissions.clone(), mask.clone());
        let gold = self.gold_score(emissions, labels, mask, lengths);
        (log_z - gold).mean()
    }

    /// The scores pulled to the host as a [`Lattice`] (forbidden moves −∞).
    ///
    /// # Errors
    /// [`ModelError::Read`] if the device cannot be read.
    pub fn lattice(&self) -> Result<Lattice> {
        let read = |t: Tensor<2>| {
            t.try_to_vec_as::<f32>().map_err(|source| ModelError::Read {
                what: "crf scores",
                source,
            })
        };
        let trans = read(self.transitions.val())?;
        let start = read(self.start.val().unsqueeze::<2>())?;
        let end = read(self.end.val().unsqueeze::<2>())?;
        Ok(Lattice::new(
            self.num_labels(),
            &trans,
            &start,
            &end,
            self.constraints.as_ref(),
        ))
    }

    /// Exact per-sentence Viterbi paths (each of its own length).
    ///
    /// # Errors
    /// [`ModelError::Read`] if the device cannot be read.
    pub fn decode(&self, emissions: Tensor<3>, lengths: &[usize]) -> Result<Vec<Vec<u32>>> {
        let lattice = self.lattice()?;
        per_sentence(emissions, lengths, |em| lattice.viterbi(em))
    }

    /// The `k` best paths of each sentence, best first.
    ///
    /// # Errors
    /// [`ModelError::Read`] if the device cannot be read.
    pub fn nbest(
        &self,
        emissions: Tensor<3>,
        lengths: &[usize],
        k: usize,
    ) -> Result<Vec<Vec<ScoredPath>>> {
        let lattice = self.lattice()?;
        per_sentence(emissions, lengths, |em| lattice.nbest(em, k))
    }

    /// Per-token marginals P(y_t = j), per sentence `n × L` row-major.
    ///
    /// # Errors
    /// [`ModelError::Read`] if the device cannot be read.
    pub fn marginals(&self, emissions: Tensor<3>, lengths: &[usize]) -> Result<Vec<Vec<f32>>> {
        let lattice = self.lattice()?;
        per_sentence(emissions, lengths, |em| lattice.marginals(em))
    }
}

/// Pulls `[B, T, L]` emissions to the host once and applies `f` to each sentence's
/// `len × L` rows (lengths beyond T are clamped). The sentences are independent and run on
/// the threads of the rayon pool (`training.threads`); the results come in sentence order.
pub(crate) fn per_sentence<R: Send>(
    emissions: Tensor<3>,
    lengths: &[usize],
    f: impl Fn(&[f32]) -> R + Sync,
) -> Result<Vec<R>> {
    let [b, t, l] = emissions.dims();
    let em: Vec<f32> = emissions
        .try_to_vec_as()
        .map_err(|source| ModelError::Read {
            what: "emissions",
            source,
        })?;
    let lengths = &lengths[..lengths.len().min(b)];
    let sentence = |(bi, &n): (usize, &usize)| {
        let from = bi * t * l;
        f(&em[from..from + n.min(t) * l])
    };
    // a pool of one thread would only add a hand-over to its thread and back
    Ok(if cpu::directions::parallel() {
        lengths.par_iter().enumerate().map(sentence).collect()
    } else {
        lengths.iter().enumerate().map(sentence).collect()
    })
}

#[cfg(test)]
mod tests;
