//! Optimizers: one per task by default (design.md §4; seed-systems A.7.1), parameter groups.
//!
//! The paper gives each task its own SGD with momentum over every parameter its model uses,
//! shared ones included, so a shared LSTM gets a separate momentum buffer per task. burn's
//! [`ModuleOptimizer`] keeps state per [`burn::module::ParamId`] and only for the parameters
//! that received a gradient, so one `ModuleOptimizer` per task, stepped only on that task's
//! batches, is exactly that (burn-0.22-notes §2, verified there).
//!
//! burn's defaults differ from PyTorch's (notes §8): momentum dampening 0.1 (PyTorch 0) and
//! Adam epsilon 1e-5 (PyTorch 1e-8); both are set explicitly from the config here.
//!
//! That per-task state costs memory when a big component is shared: K tasks on one encoder
//! hold K copies of its moments. `training.optimizer_state: "shared"` makes the trainer use one
//! optimizer for all tasks instead; since burn keeps state per parameter, a task-private
//! parameter's state is then the same as before and a shared one's exists once.
//!
//! Parameter groups: a component with its own `learning_rate` steps at that rate times the
//! task schedule's factor ([`ComponentRates`]); with `decay_norm_and_bias: false` biases and
//! LayerNorm gains/shifts get no weight decay (Hugging Face's grouping, [`NO_DECAY`]).

use std::path::Path;

use burn::lr_scheduler::constant::ConstantLr;
use burn::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use burn::module::{Module, ParamGroup};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use polytag_config::{Experiment, Optimizer};
use polytag_model::Model;

use crate::error::{Error, Result};

/// Parameter paths that Hugging Face's Trainer exempts from weight decay: biases and LayerNorm
/// parameters (burn names them `gamma` and `beta`). Anchored on a whole path segment so that a
/// field named e.g. `my_bias_table` is not caught.
pub const NO_DECAY: &str = r"(^|\.)(bias|gamma|beta)$";

/// The rates of one step: the task's rate for every parameter, and for each component with
/// its own `learning_rate` that rate times the task schedule's factor lr(t) / lr0.
#[derive(Clone, Debug, Default)]
pub struct ComponentRates {
    /// The component's parameters (by id, so `components.3` cannot match `components.13`)
    /// and its base rate.
    groups: Vec<(ParamGroup, f64)>,
}

impl ComponentRates {
    /// The groups of every component of `exp` that sets `learning_rate` and is in `model`.
    pub fn new(exp: &Experiment, model: &Model) -> Self {
        let groups = exp
            .components
            .iter()
            .filter_map(|c| {
                let lr = c.learning_rate?;
                let index = model.component_index(&c.name)?;
                let component = model.components.get(index)?.clone();
                Some((ParamGroup::ids_from_module(component), lr))
            })
            .collect();
        ComponentRates { groups }
    }

    /// Groups given directly: each module's parameters at its base rate (tests, other models).
    pub fn from_modules<M: Module>(modules: impl IntoIterator<Item = (M, f64)>) -> Self {
        ComponentRates {
            groups: modules
                .into_iter()
                .map(|(m, lr)| (ParamGroup::ids_from_module(m), lr))
                .collect(),
        }
    }

    /// Whether no component has its own rate (then a plain `f64` rate is passed to burn).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The per-parameter rates for a step whose task rate is `task_lr` and whose schedule
    /// factor is `factor` (lr(t) / lr0).
    pub fn at(&self, task_lr: f64, factor: f64) -> ModuleLearningRate {
        let mut sched = ModuleLrScheduler::new(ConstantLr::new(task_lr));
        for (group, lr) in &self.groups {
            sched = sched.with_group(group.clone(), ConstantLr::new(lr * factor));
        }
        sched.step()
    }
}

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
    /// A fresh optimizer (no state yet) for a task's `optimizer` and `weight_decay`;
    /// `decay_norm_and_bias: false` exempts the [`NO_DECAY`] parameters from the decay.
    ///
    /// SGD and Adam take `weight_decay` as an L2 penalty added to the gradient (PyTorch's
    /// `weight_decay` of those optimizers); AdamW decouples it.
    pub fn new(optimizer: &Optimizer, weight_decay: f64, decay_norm_and_bias: bool) -> Self {
        let inner = build(optimizer, weight_decay).init();
        let inner = if weight_decay > 0.0 && !decay_norm_and_bias {
            let group = ParamGroup::from_regex(NO_DECAY).expect("NO_DECAY is a valid regex");
            match build(optimizer, 0.0) {
                Built::Sgd(c) => inner.with_group(group, c.build(), None),
                Built::Adam(c) => inner.with_group(group, c.build(), None),
                Built::AdamW(c) => inner.with_group(group, c.build(), None),
            }
        } else {
            inner
        };
        TaskOptimizer { inner }
    }

    /// One update of the parameters that have a gradient in `grads`, at rate `lr` (an `f64`
    /// for all, or per parameter from [`ComponentRates::at`]).
    pub fn step<M: Module>(
        &mut self,
        lr: impl Into<ModuleLearningRate>,
        model: M,
        grads: GradientsParams,
    ) -> M {
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

    /// Size of the state as saved (burnpack bytes: 4 per f32 state value plus a little
    /// metadata per tensor), the figure that `optimizer_state: "shared"` reduces.
    pub fn state_bytes(&self) -> Result<usize> {
        self.inner
            .to_record()
            .into_bytes()
            .map(|b| b.len())
            .map_err(|source| Error::Record {
                action: "serialise",
                path: "optimizer state".into(),
                source,
            })
    }
}

/// An optimizer config, before it becomes a whole-module optimizer or a group's.
enum Built {
    Sgd(SgdConfig),
    Adam(AdamConfig),
    AdamW(AdamWConfig),
}

impl Built {
    fn init(&self) -> ModuleOptimizer {
        match self {
            Built::Sgd(c) => c.init(),
            Built::Adam(c) => c.init(),
            Built::AdamW(c) => c.init(),
        }
    }
}

fn build(optimizer: &Optimizer, weight_decay: f64) -> Built {
    let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
    match *optimizer {
        Optimizer::Sgd { momentum } => {
            let momentum = (momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
            });
            Built::Sgd(
                SgdConfig::new()
                    .with_momentum(momentum)
                    .with_weight_decay(decay),
            )
        }
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        } => Built::Adam(
            AdamConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_epsilon(epsilon as f32)
                .with_weight_decay(decay),
        ),
        Optimizer::AdamW {
            beta1,
            beta2,
            epsilon,
        } => Built::AdamW(
            AdamWConfig::new()
                .with_beta_1(beta1 as f32)
                .with_beta_2(beta2 as f32)
                .with_epsilon(epsilon as f32)
                .with_weight_decay(weight_decay as f32),
        ),
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
            true,
        )
    }

    /// Plain SGD (momentum 0) moves by −lr·g: the head's gradient is shared(x) = [1.5, 1.5]
    /// (x = [1, 2], all weights 0.5), so with lr 0.1 task 1's head goes from 0.5 to 0.35 and
    /// task 0's head stays at 0.5.
    #[test]
    fn a_task_step_moves_only_that_tasks_parameters() {
        let device = Device::flex().autodiff();
        let mut model = net(&device);
        let mut sgd = TaskOptimizer::new(&Optimizer::Sgd { momentum: 0.0 }, 0.0, true);
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
        let mut opt = TaskOptimizer::new(&Optimizer::Sgd { momentum: 0.9 }, 0.0, true);
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

    /// Task rate 0.1 for the heads, the shared layer in a group at 0.01 (ratio 10). Gradients
    /// (x = [1, 2], all weights 0.5, y = x·W): head [1.5, 1.5]; shared W[i][j] = x_i · 0.5 →
    /// rows [0.5, 0.5] and [1, 1]. One plain SGD step: head 0.5 − 0.1·1.5 = 0.35, shared rows
    /// 0.5 − 0.01·0.5 = 0.495 and 0.5 − 0.01·1 = 0.49. With the schedule at factor 0.5 (task
    /// rate 0.05) the group steps at 0.005: head 0.425, shared 0.4975 and 0.495.
    #[test]
    fn a_component_group_steps_at_its_own_rate_times_the_schedule_factor() {
        let device = Device::flex().autodiff();
        for (factor, head, row0, row1) in [(1.0, 0.35, 0.495, 0.49), (0.5, 0.425, 0.4975, 0.495)] {
            let mut model = net(&device);
            let rates = ComponentRates::from_modules([(model.shared.clone(), 0.01)]);
            let mut sgd = TaskOptimizer::new(&Optimizer::Sgd { momentum: 0.0 }, 0.0, true);
            let g = grads(&model, 0, &device);
            model = sgd.step(rates.at(0.1 * factor, factor), model, g);
            for w in weights(&model.heads[0]) {
                assert!((w - head).abs() < 1e-6, "{w} != {head}");
            }
            let shared = weights(&model.shared);
            for (w, want) in shared.iter().zip([row0, row0, row1, row1]) {
                assert!((w - want).abs() < 1e-6, "{shared:?}");
            }
        }
    }

    /// A component at rate 0 does not move under Adam (whose first step moves every other
    /// weight by ≈ lr whatever the gradient), while the head does.
    #[test]
    fn a_component_at_rate_zero_does_not_move() {
        let device = Device::flex().autodiff();
        let mut model = net(&device);
        let rates = ComponentRates::from_modules([(model.shared.clone(), 0.0)]);
        let mut opt = adam();
        for _ in 0..3 {
            let g = grads(&model, 1, &device);
            model = opt.step(rates.at(0.01, 1.0), model, g);
        }
        assert_eq!(weights(&model.shared), vec![0.5; 4]);
        assert!(weights(&model.heads[1])
            .iter()
            .all(|w| (w - 0.47).abs() < 1e-4));
    }

    #[derive(Module, Debug)]
    struct Normed {
        lin: Linear,
        norm: burn::nn::LayerNorm,
    }

    /// AdamW, lr 0.1, weight decay 0.5, first step (m̂/(√v̂ + ε) = sign(g), ε 1e-8):
    /// loss = lin([1]) + Σ norm([0, 2]) with lin's weight and bias 0.5, gamma [1, 1], beta 0.
    /// Gradients: weight 1, bias 1, gamma = normalised input [−1, 1], beta [1, 1].
    /// Decayed: p·(1 − 0.1·0.5) − 0.1·sign(g). Without decay on bias/LayerNorm (the default for
    /// AdamW): weight 0.5·0.95 − 0.1 = 0.375, bias 0.4, gamma [1.1, 0.9], beta [−0.1, −0.1].
    /// With it: bias 0.375, gamma [0.95 + 0.1, 0.95 − 0.1] = [1.05, 0.85], beta −0.1 (0 decays
    /// to 0).
    #[test]
    fn adamw_leaves_bias_and_layer_norm_undecayed_unless_asked() {
        let device = Device::flex().autodiff();
        let adamw = Optimizer::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        };
        let cases = [
            (false, [0.375, 0.4], [1.1, 0.9]),
            (true, [0.375, 0.375], [1.05, 0.85]),
        ];
        for (decay_all, lin_want, gamma_want) in cases {
            let mut model = Normed {
                lin: LinearConfig::new(1, 1)
                    .with_initializer(burn::nn::Initializer::Constant { value: 0.5 })
                    .init(&device),
                norm: burn::nn::LayerNormConfig::new(2).init(&device),
            };
            let x = Tensor::<2>::from_floats([[1.0]], &device);
            let y = Tensor::<2>::from_floats([[0.0, 2.0]], &device);
            let loss = model.lin.forward(x).sum() + model.norm.forward(y).sum();
            let g = GradientsParams::from_grads(loss.backward(), &model);
            let mut opt = TaskOptimizer::new(&adamw, 0.5, decay_all);
            model = opt.step(0.1, model, g);
            let value =
                |p: &burn::module::Param<Tensor<1>>| p.val().try_to_vec_as::<f32>().unwrap();
            let got = [
                weights(&model.lin)[0],
                value(model.lin.bias.as_ref().unwrap())[0],
            ];
            let gamma = value(&model.norm.gamma);
            let beta = value(model.norm.beta.as_ref().unwrap());
            let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
            assert!(close(&got, &lin_want), "decay_all {decay_all}: {got:?}");
            assert!(
                close(&gamma, &gamma_want),
                "decay_all {decay_all}: {gamma:?}"
            );
            assert!(close(&beta, &[-0.1, -0.1]), "{beta:?}");
        }
    }
}
