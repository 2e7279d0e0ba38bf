//! Gradient clipping by global norm, PyTorch's `clip_grad_norm_` (seed-systems A.7.1).
//!
//! burn's own clipping (`with_gradient_clipping`) clips each parameter tensor by its own norm;
//! the paper clips the joint L2 norm of all gradients of the step, leaving the embedding tables
//! out of the norm and untouched (`"embedding.weight"` in the parameter name). Here excluded
//! parameters are named by [`ParamId`] (collected by the trainer from the model's embedding
//! components, see [`embedding_params`]), not by a path substring, so a component named
//! `my_embedding` cannot be excluded by accident.

use std::collections::HashSet;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use polytag_model::component::Component;
use polytag_model::Model;

/// Ids of every embedding table of the model: word and feature embeddings and the character
/// tables of char encoders (what the paper's `"embedding.weight"` filter matched).
pub fn embedding_params(model: &Model) -> HashSet<ParamId> {
    model
        .components
        .iter()
        .filter_map(|c| match c {
            Component::Embedding(e) | Component::FeatureEmbedding(e) => Some(e.weight.id),
            Component::CharCnn(cnn) => Some(cnn.embedding.weight.id),
            Component::CharRnn(rnn) => Some(rnn.embedding.weight.id),
            _ => None,
        })
        .collect()
}

/// Two passes over the parameters: sum squared gradient norms, then scale.
struct Clip<'a> {
    grads: &'a mut GradientsParams,
    exclude: &'a HashSet<ParamId>,
    seen: HashSet<ParamId>,
    /// `None`: accumulate the squared norm; `Some(k)`: multiply gradients by k.
    scale: Option<f32>,
    sum_sq: f64,
}

impl ModuleVisitor for Clip<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if self.exclude.contains(&p.id) || !self.seen.insert(p.id) {
            return;
        }
        match self.scale {
            None => {
                if let Some(g) = self.grads.get::<D>(p.id) {
                    self.sum_sq += f64::from(g.square().sum().into_scalar::<f32>());
                }
            }
            Some(k) => {
                if let Some(g) = self.grads.remove::<D>(p.id) {
                    self.grads.register(p.id, g * k);
                }
            }
        }
    }
}

/// Scales the gradients of every parameter of `model` not in `exclude` so that their joint L2
/// norm is at most `max_norm` (factor `max_norm / (norm + 1e-6)`, as PyTorch). Returns the
/// norm before clipping. Parameters without a gradient (other tasks' heads) count as zero.
pub fn clip_grad_norm<M: Module>(
    model: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
    exclude: &HashSet<ParamId>,
) -> f64 {
    let mut clip = Clip {
        grads,
        exclude,
        seen: HashSet::new(),
        scale: None,
        sum_sq: 0.0,
    };
    model.visit(&mut clip);
    let norm = clip.sum_sq.sqrt();
    if norm > max_norm {
        clip.scale = Some((max_norm / (norm + 1e-6)) as f32);
        clip.seen.clear();
        model.visit(&mut clip);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Two {
        a: Linear,
        b: Linear,
    }

    fn grad_values<const D: usize>(grads: &GradientsParams, id: ParamId) -> Vec<f32> {
        grads
            .get::<D>(id)
            .expect("a gradient")
            .try_to_vec_as::<f32>()
            .expect("f32 data")
    }

    /// `a`: 2→1 without bias, `b`: 1→1 without bias, loss = a(x)·3 + b(y) with x = [3, 4],
    /// y = [12]. Gradients: ∂/∂a.weight = 3·x = [9, 12] (norm 15), ∂/∂b.weight = y = [12].
    /// Joint norm √(81 + 144 + 144) = √369 ≈ 19.209; with `b` excluded the norm is 15, and
    /// clipping to 5 scales `a`'s gradient by 5 / 15 to [3, 4] while `b`'s stays [12].
    #[test]
    fn global_norm_by_hand_with_an_excluded_parameter() {
        let device = Device::flex().autodiff();
        let model = Two {
            a: LinearConfig::new(2, 1).with_bias(false).init(&device),
            b: LinearConfig::new(1, 1).with_bias(false).init(&device),
        };
        let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
        let y = Tensor::<2>::from_floats([[12.0]], &device);
        let grads = || {
            let loss = model.a.forward(x.clone()).sum() * 3.0 + model.b.forward(y.clone()).sum();
            GradientsParams::from_grads(loss.backward(), &model)
        };

        let mut all = grads();
        let norm = clip_grad_norm(&model, &mut all, 1e9, &HashSet::new());
        assert!((norm - 369f64.sqrt()).abs() < 1e-4, "{norm}");

        let mut clipped = grads();
        let exclude = HashSet::from([model.b.weight.id]);
        let norm = clip_grad_norm(&model, &mut clipped, 5.0, &exclude);
        assert!((norm - 15.0).abs() < 1e-4, "{norm}");
        let a = grad_values::<2>(&clipped, model.a.weight.id);
        assert!(
            (a[0] - 3.0).abs() < 1e-4 && (a[1] - 4.0).abs() < 1e-4,
            "{a:?}"
        );
        assert_eq!(grad_values::<2>(&clipped, model.b.weight.id), vec![12.0]);
        // Below the limit nothing changes.
        let norm = clip_grad_norm(&model, &mut clipped, 5.0, &exclude);
        assert!((norm - 5.0).abs() < 1e-3, "{norm}");
    }
}
