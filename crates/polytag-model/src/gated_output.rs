//! The per-task, per-label gate that mixes the universal and the language-specific emission
//! layers (seed-systems A.2, "gated convex mixture"):
//!
//! g = σ(W_g h + b_g) with one value per label, emission = g·specific + (1 − g)·universal.
//!
//! The gate belongs to the task and is never shared (the paper creates it inside each task's
//! model); the builder puts one in each task head that has both layers.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

/// Configuration of a [`Gate`].
#[derive(Config, Debug)]
pub struct GateConfig {
    /// Size of the encoder output `h` the gate reads.
    pub d_input: usize,
    /// Number of labels (one gate value per label).
    pub num_labels: usize,
}

/// Per-label sigmoid gate.
#[derive(Module, Debug)]
pub struct Gate {
    /// `d_input → num_labels`.
    pub linear: Linear,
}

impl GateConfig {
    /// Builds the gate.
    pub fn init(&self, device: &Device) -> Gate {
        Gate {
            linear: LinearConfig::new(self.d_input, self.num_labels).init(device),
        }
    }
}

impl Gate {
    /// Gated emissions `g·specific + (1 − g)·universal`.
    ///
    /// # Shapes
    /// - `h`: `[B, T, d_input]`; `universal`, `specific`: `[B, T, L]` → `[B, T, L]`
    pub fn mix(&self, h: Tensor<3>, universal: Tensor<3>, specific: Tensor<3>) -> Tensor<3> {
        let g = sigmoid(crate::cpu::linear::forward(&self.linear, h));
        // g·s + (1 − g)·u = u + g·(s − u): one op fewer
        universal.clone() + g * (specific - universal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// W_g = 0, b_g = [0, ln 3]: g = [0.5, 0.75]; u = [1, 1], s = [3, 5]:
    /// emission = [0.5·3 + 0.5·1, 0.75·5 + 0.25·1] = [2, 4].
    #[test]
    fn hand_derived_mixture() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let mut gate = GateConfig::new(2, 2).init(&device);
        gate.linear.weight = gate.linear.weight.clone().map(|w| w.zeros_like());
        gate.linear.bias = gate.linear.bias.clone().map(|p| {
            p.map(|b| Tensor::from_data(TensorData::new(vec![0.0f32, 3f32.ln()], [2]), &b.device()))
        });
        let h = Tensor::<3>::ones([1, 1, 2], &device);
        let u = Tensor::<3>::from_floats([[[1.0, 1.0]]], &device);
        let s = Tensor::<3>::from_floats([[[3.0, 5.0]]], &device);
        let e: Vec<f32> = gate.mix(h, u, s).try_to_vec_as().unwrap();
        assert!(
            (e[0] - 2.0).abs() < 1e-6 && (e[1] - 4.0).abs() < 1e-5,
            "{e:?}"
        );
    }

    /// Directional finite-difference check of loss = Σ r ⊙ mix(h, u, s) with respect to the
    /// gate weight, gate bias, h, u and s at once: (f(θ + εv) − f(θ − εv)) / 2ε ≈ ⟨∇f, v⟩.
    #[test]
    fn gradient_matches_finite_differences() {
        // draws from the device RNG: not while a seeded test runs
        let _rng = crate::test_support::RNG
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        let (b, t, d, l) = (2, 3, 4, 5);
        let mut rng = StdRng::seed_from_u64(11);
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect() };
        let sizes = [d * l, l, b * t * d, b * t * l, b * t * l];
        let theta: Vec<Vec<f32>> = sizes.iter().map(|&n| draw(n)).collect();
        let dir: Vec<Vec<f32>> = sizes.iter().map(|&n| draw(n)).collect();
        let r = draw(b * t * l);
        let eval = |eps: f32| -> (f64, Vec<f32>) {
            let v: Vec<Vec<f32>> = theta
                .iter()
                .zip(&dir)
                .map(|(x, dv)| x.iter().zip(dv).map(|(a, c)| a + eps * c).collect())
                .collect();
            let mut gate = GateConfig::new(d, l).init(&device);
            gate.linear.weight = Param::from_data(TensorData::new(v[0].clone(), [d, l]), &device);
            gate.linear.bias = Some(Param::from_data(
                TensorData::new(v[1].clone(), [l]),
                &device,
            ));
            let t3 = |x: &Vec<f32>, w: usize| {
                Tensor::<3>::from_data(TensorData::new(x.clone(), [b, t, w]), &device)
                    .require_grad()
            };
            let (h, u, s) = (t3(&v[2], d), t3(&v[3], l), t3(&v[4], l));
            let rr = Tensor::<3>::from_data(TensorData::new(r.clone(), [b, t, l]), &device);
            let loss = (gate.mix(h.clone(), u.clone(), s.clone()) * rr).sum();
            let value = f64::from(loss.clone().into_scalar::<f32>());
            let grads = loss.backward();
            let mut g: Vec<f32> = gate
                .linear
                .weight
                .grad(&grads)
                .unwrap()
                .try_to_vec_as()
                .unwrap();
            let bias = gate.linear.bias.as_ref().unwrap();
            g.extend(bias.grad(&grads).unwrap().try_to_vec_as::<f32>().unwrap());
            for x in [h, u, s] {
                g.extend(x.grad(&grads).unwrap().try_to_vec_as::<f32>().unwrap());
            }
            (value, g)
        };
        let (_, g) = eval(0.0);
        let v = dir.concat();
        let analytic: f64 = g
            .iter()
            .zip(&v)
            .map(|(a, c)| f64::from(*a) * f64::from(*c))
            .sum();
        let eps = 1e-2;
        let numeric = (eval(eps).0 - eval(-eps).0) / (2.0 * f64::from(eps));
        assert!(
            (analytic - numeric).abs() < 1e-2 * analytic.abs().max(1.0),
            "analytic {analytic} vs numeric {numeric}"
        );
    }
}
