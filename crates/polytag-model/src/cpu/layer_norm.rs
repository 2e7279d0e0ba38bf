//! A residual sum and its layer normalisation, y = γ ⊙ (s − μ)/√(σ² + ε) + β with s = x + r,
//! as one autodiff op for training (the attention block's two "add & norm" steps,
//! [`crate::attention`]). As burn ops that is an add and burn's layer norm, eight recorded
//! ops (two means, a centring, a square, a square root, a division, a scale and a shift),
//! each a pass over `[N, D]` forward and more backward. Inference needs no kernel: the flex
//! backend's own layer norm is already one pass.

use burn::prelude::*;

use super::autodiff::{self, Grad};
use super::math::{dot, sum};
use super::simd::{vectorized, Kernel};

/// Training: LayerNorm(`x` + `r`) over the last axis with `gamma`, `beta` `[D]` and `epsilon`
/// as one recorded op; `None` where it does not apply.
pub(crate) fn train<const D: usize>(
    x: Tensor<D>,
    r: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> Option<Tensor<D>> {
    let shape = x.dims();
    let d = *shape.last()?;
    if r.dims() != shape || gamma.dims() != [d] || beta.dims() != [d] || d == 0 {
        return None;
    }
    let inputs = [
        autodiff::input(x)?,
        autodiff::input(r)?,
        autodiff::input(gamma)?,
        autodiff::input(beta)?,
    ];
    let mut out = inputs[0].values()?.into_owned();
    let n = out.len() / d;
    let mut rstd = vec![0.0f32; n];
    {
        let r = inputs[1].values()?;
        vectorized(Normalize {
            s: &mut out,
            r: &r,
            rstd: &mut rstd,
            d,
            epsilon: epsilon as f32,
        });
    }
    // `out` holds x̂ now: keep it for the backward, then scale and shift
    let xhat = out.clone();
    let (gamma, beta) = (inputs[2].values()?, inputs[3].values()?);
    vectorized(Affine {
        y: &mut out,
        gamma: &gamma,
        beta: &beta,
    });
    let state = NormBackward {
        xhat,
        rstd,
        gamma: gamma.into_owned(),
        shape: shape.to_vec(),
    };
    Some(autodiff::record(inputs, state, out, shape))
}

/// s ← x̂ = (s + r − μ)·rstd per row, rstd = 1/√(σ² + ε) (σ² the biased variance, as burn's).
struct Normalize<'a> {
    s: &'a mut [f32],
    r: &'a [f32],
    rstd: &'a mut [f32],
    d: usize,
    epsilon: f32,
}

impl Kernel for Normalize<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let d = self.d;
        let inv_d = 1.0 / d as f32;
        for ((s, r), rstd) in self
            .s
            .chunks_exact_mut(d)
            .zip(self.r.chunks_exact(d))
            .zip(self.rstd.iter_mut())
        {
            for (s, &r) in s.iter_mut().zip(r) {
                *s += r;
            }
            let mean = sum(s) * inv_d;
            for s in s.iter_mut() {
                *s -= mean;
            }
            let var = dot(s, s) * inv_d;
            *rstd = 1.0 / (var + self.epsilon).sqrt();
            for s in s.iter_mut() {
                *s *= *rstd;
            }
        }
    }
}

/// y ← y·γ + β per row.
struct Affine<'a> {
    y: &'a mut [f32],
    gamma: &'a [f32],
    beta: &'a [f32],
}

impl Kernel for Affine<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        for y in self.y.chunks_exact_mut(self.gamma.len()) {
            for ((y, &g), &b) in y.iter_mut().zip(self.gamma).zip(self.beta) {
                *y = *y * g + b;
            }
        }
    }
}

/// The op's backward state.
#[derive(Clone, Debug)]
struct NormBackward {
    xhat: Vec<f32>,
    rstd: Vec<f32>,
    gamma: Vec<f32>,
    /// The output's (and both inputs') shape.
    shape: Vec<usize>,
}

impl autodiff::Backward<4> for NormBackward {
    /// With G the output's gradient and ĝ = G ⊙ γ per row: ds = rstd · (ĝ − mean(ĝ) −
    /// x̂ · mean(ĝ ⊙ x̂)), the gradient of both x and r; dγ = Σ_rows G ⊙ x̂; dβ = Σ_rows G.
    fn backward(self, grad: &[f32]) -> [Grad; 4] {
        let d = self.shape.last().copied().unwrap_or(1).max(1);
        let n = grad.len() / d;
        let mut ds = vec![0.0f32; n * d];
        let mut dgamma = vec![0.0f32; d];
        let mut dbeta = vec![0.0f32; d];
        vectorized(NormGrad {
            grad,
            xhat: &self.xhat,
            rstd: &self.rstd,
            gamma: &self.gamma,
            ds: &mut ds,
            dgamma: &mut dgamma,
            dbeta: &mut dbeta,
        });
        [
            Grad::new(ds.clone(), &self.shape),
            Grad::new(ds, &self.shape),
            Grad::new(dgamma, &[d]),
            Grad::new(dbeta, &[d]),
        ]
    }
}

/// [`NormBackward`]'s loop.
struct NormGrad<'a> {
    grad: &'a [f32],
    xhat: &'a [f32],
    rstd: &'a [f32],
    gamma: &'a [f32],
    ds: &'a mut [f32],
    dgamma: &'a mut [f32],
    dbeta: &'a mut [f32],
}

impl Kernel for NormGrad<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let d = self.gamma.len();
        let inv_d = 1.0 / d as f32;
        let rows = self
            .grad
            .chunks_exact(d)
            .zip(self.xhat.chunks_exact(d))
            .zip(self.rstd)
            .zip(self.ds.chunks_exact_mut(d));
        for (((g, xhat), &rstd), ds) in rows {
            // ds ← ĝ first, and the two means
            for (((ds, &g), &gamma), (dgamma, (dbeta, &xhat))) in ds
                .iter_mut()
                .zip(g)
                .zip(self.gamma)
                .zip(self.dgamma.iter_mut().zip(self.dbeta.iter_mut().zip(xhat)))
            {
                *ds = g * gamma;
                *dgamma += g * xhat;
                *dbeta += g;
            }
            let mean_g = sum(ds) * inv_d;
            let mean_gx = dot(ds, xhat) * inv_d;
            for (ds, &xhat) in ds.iter_mut().zip(xhat) {
                *ds = rstd * (*ds - mean_g - xhat * mean_gx);
            }
        }
    }
}
