//! One optimizer per task (design.md §4; seed-systems A.7.1).
//!
//! The paper gives each task its own SGD with momentum over every parameter its model uses,
//! shared ones included, so a shared LSTM gets a separate momentum buffer per task. burn's
//! [`ModuleOptimizer`] keeps state per [`burn::module::ParamId`] and only for the parameters
//! that received a gradient, so one `ModuleOptimizer` per task, stepped only on that task's
//! batches, is exactly that (burn-0.22-notes §2, verified there).
//!
//! burn's defaults differ from PyTorch's (notes §8): momentum dampening 0.1 (PyTorch 0) and
//! Adam epsilon 1e-5 (PyTorch 1e-8); both are set explicitly from the config here.

use std::path::Path;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use polytag_config::Optimizer;

use crate::error::{Error, Result};

/// A task's optimizer and its state.
#[derive(Clone)]
pub struct TaskOptimizer {
    inner: ModuleOptimizer,
}

impl std::fmt::Debug for TaskOptimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskOptimizer")
    }
}

impl TaskOptimizer {
    /// A fresh optimizer (no state yet) for a task's `optimizer` and `weight_decay`.
    ///
    /// SGD and Adam take `weight_decay` as an L2 penalty added to the gradient (PyTorch's
    /// `weight_decay` of those optimizers); AdamW decouples it.
    pub fn new(optimizer: &Optimizer, weight_decay: f64) -> Self {
        let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
        let inner = match *optimizer {
            Optimizer::Sgd { momentum } => {
                let momentum = (momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                });
                SgdConfig::new()
                    .with_momentum(momentum)
                    .with_weight_decay(decay)
                    .init()
            }
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => AdamConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_epsilon(epsilon as f32)
                .with_weight_decay(decay)
                .init(),
            Optimizer::AdamW {
                beta1,
                beta2,
                epsilon,
            } => AdamWConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_epsilon(epsilon as f32)
                .with_weight_decay(weight_decay as f32)
                .init(),
        };
        TaskOptimizer { inner }
    }

    /// One update of the parameters that have a gradient in `grads`, at rate `lr`.
    pub fn step<M: Module>(&mut self, lr: f64, model: M, grads: GradientsParams) -> M {
        self.inner.step(lr, model, grads)
    }

    /// Writes the state (moments, momentum buffers, step counts) to `path` (burnpack; the
    /// extension is added by burn).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner.save(path).map_err(|source| Error::Record {
            action: "save",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Replaces the state with the one saved at `path`.
    pub fn load(self, path: &Path) -> Result<Self> {
        let inner = self.inner.load(path).map_err(|source| Error::Record {
            action: "load",
            path: path.to_path_buf(),
            source,
        })?;
        Ok(TaskOptimizer { inner })
    }

    /// Number of state tensors held (Adam: two moments per parameter it has updated).
    pub fn num_state_tensors(&self) -> usize {
        self.inner.to_record().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::prelude::*;

    /// A shared layer and one head per task, as the multi-task model is wired.
    #[derive(Module, Debug)]
    struct Net {
        shared: Linear,
        heads: Vec<Linear>,
    }

    impl Net {
        fn loss(&self, task: usize, x: Tensor<2>) -> Tensor<1> {
            self.heads[task].forward(self.shared.forward(x)).sum()
        }
    }

    fn weights(l: &Linear) -> Vec<f32> {
        l.weight.val().try_to_vec_as::<f32>().expect("f32")
    }

    fn net(device: &Device) -> Net {
        let lin = |i, o| {
            LinearConfig::new(i, o)
                .with_bias(false)
                .with_initializer(burn::nn::Initializer::Constant { value: 0.5 })
                .init(device)
        };
        Net {
            shared: lin(2, 2),
            heads: vec![lin(2, 1), lin(2, 1)],
        }
    }

    fn grads(model: &Net, task: usize, device: &Device) -> GradientsParams {
        let x = Tensor::<2>::from_floats([[1.0, 2.0]], device);
        GradientsParams::from_grads(model.loss(task, x).backward(), model)
    }

    fn adam() -> TaskOptimizer {
        TaskOptimizer::new(
            &Optimizer::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
            },
            0.0,
        )
    }

    /// Plain SGD (momentum 0) moves by −lr·g: the head's gradient is shared(x) = [1.5, 1.5]
    /// (x = [1, 2], all weights 0.5), so with lr 0.1 task 1's head goes from 0.5 to 0.35 and
    /// task 0's head stays at 0.5.
    #[test]
    fn a_task_step_moves_only_that_tasks_parameters() {
        let device = Device::flex().autodiff();
        let mut model = net(&device);
        let mut sgd = TaskOptimizer::new(&Optimizer::Sgd { momentum: 0.0 }, 0.0);
        let g = grads(&model, 1, &device);
        model = sgd.step(0.1, model, g);
        for w in weights(&model.heads[1]) {
            assert!((w - 0.35).abs() < 1e-6, "{w}");
        }
        assert_eq!(weights(&model.heads[0]), vec![0.5, 0.5]);
    }

    /// Each optimizer keeps state only for the parameters its own task touched (shared layer +
    /// own head), and a step of one task leaves the other task's state alone.
    #[test]
    fn optimizer_state_is_separate_per_task() {
        let device = Device::flex().autodiff();
        let mut model = net(&device);
        let mut opts = [adam(), adam()];
        let g = grads(&model, 1, &device);
        model = opts[1].step(0.01, model, g);
        // Adam: two moments for each of the 2 parameters task 1 touched.
        assert_eq!(
            (opts[0].num_state_tensors(), opts[1].num_state_tensors()),
            (0, 4)
        );
        let g = grads(&model, 0, &device);
        model = opts[0].step(0.01, model, g);
        assert_eq!(
            (opts[0].num_state_tensors(), opts[1].num_state_tensors()),
            (4, 4)
        );
        // Adam's first step moves each weight by ≈ lr (m̂/√v̂ = ±1) whatever the gradient: the
        // shared layer moved twice (once per task), each head once.
        let shared = weights(&model.shared);
        assert!(shared.iter().all(|w| (w - 0.48).abs() < 1e-4), "{shared:?}");
        for head in &model.heads {
            assert!(weights(head).iter().all(|w| (w - 0.49).abs() < 1e-4));
        }
    }

    /// SGD with momentum 0.9 and dampening 0 (PyTorch): v₁ = g, v₂ = 0.9·v₁ + g; with a
    /// constant gradient g the second step moves by lr·1.9·g. A dampening of 0.1 (burn's
    /// default) would give lr·(0.9 + 0.9)·g on the second step instead.
    #[test]
    fn sgd_momentum_has_no_dampening() {
        let device = Device::flex().autodiff();
        let lin = LinearConfig::new(1, 1)
            .with_bias(false)
            .with_initializer(burn::nn::Initializer::Constant { value: 0.0 })
            .init(&device);
        let mut model = lin;
        let mut opt = TaskOptimizer::new(&Optimizer::Sgd { momentum: 0.9 }, 0.0);
        let step = |model: Linear, opt: &mut TaskOptimizer| {
            let x = Tensor::<2>::from_floats([[1.0]], &device);
            let g = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
            opt.step(0.1, model, g)
        };
        model = step(model, &mut opt);
        let w1 = weights(&model)[0];
        assert!((w1 + 0.1).abs() < 1e-6, "{w1}");
        model = step(model, &mut opt);
        let w2 = weights(&model)[0];
        assert!((w2 - (w1 - 0.19)).abs() < 1e-6, "{w2}");
    }
}
