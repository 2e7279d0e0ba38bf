//! Task models: one [`Model`] holds every component once and one head per task; each task is
//! a wiring of component indices ([`TaskWiring`]).
//!
//! A task computes, for a batch (seed-systems A.1, generalised):
//! 1. features: each feature component on its input (words → `embedding`, an extra column →
//!    `feature_embedding`, chars → `char_cnn` / `char_rnn`, optionally followed by a
//!    `highway`), concatenated in order (the paper: `[word ; char]`);
//! 2. feature dropout (`embed_dropout`);
//! 3. encoders in order (`lstm`/`gru`/`rnn`, `attention`, position-wise `highway`);
//! 4. encoder dropout (`lstm_dropout`), then `linear_dropout` (the paper accepted it and never
//!    applied it, seed-systems A.1 \[QUIRK\]; polytag applies it);
//! 5. emissions: the universal or the specific layer alone, or with both the task's gated
//!    mixture g·specific + (1 − g)·universal (the gate lives in the task head, never shared);
//! 6. the decoder: `crf` or `softmax`.
//!
//! The paper's `lstm_crf` is the wiring features = [word_embed, char_embed (+ char_highway)],
//! encoders = \[lstm\]. Training loss and decoding share [`Model::emissions`], so train and
//! predict cannot drift apart.

use std::collections::BTreeSet;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;

use crate::component::{Component, ComponentConfig};
use crate::crf::Crf;
use crate::dropout::dropout;
use crate::error::{BuildErrors, ModelError, Result};
use crate::gated_output::{Gate, GateConfig};
use crate::input::TaskInput;
use crate::lattice::ScoredPath;
use crate::sequence::TokenRows;
use crate::softmax::SoftmaxDecoder;
use crate::summary::{ComponentSummary, HeadSummary, ModelSummary};
use polytag_config::{Errors, Kind, Role};

/// A use of a component by a task: its index in the model and the config path of the slot
/// (`tasks[0].model.lstm`), for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index into [`ModelConfig::components`] / [`Model::components`].
    pub component: usize,
    /// Config path of the slot that names it.
    pub path: String,
}

/// A feature component and the highway applied to its output, if any (the paper's char
/// highway). The task's feature `j` reads input stream `j` ([`TaskInput::streams`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureSlot {
    /// The feature component.
    pub slot: Slot,
    /// A highway on its output.
    pub highway: Option<Slot>,
}

/// How one task is wired from the components.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskWiring {
    /// Task name (for messages and summaries).
    pub name: String,
    /// Config path of the task (`tasks[0]`).
    pub path: String,
    /// Labels of its task type.
    pub num_labels: usize,
    /// Feature components, concatenated in this order.
    pub features: Vec<FeatureSlot>,
    /// Encoders, applied in this order.
    pub encoders: Vec<Slot>,
    /// Universal output layer.
    pub universal: Option<Slot>,
    /// Language-specific output layer (with a universal one too, the task gets a gate).
    pub specific: Option<Slot>,
    /// `crf` or `softmax`.
    pub decoder: Slot,
    /// Dropout after the concatenated features (`embed_dropout`).
    pub feature_dropout: f64,
    /// Dropout after the last encoder (`lstm_dropout`).
    pub encoder_dropout: f64,
    /// Dropout right before the output layers (`linear_dropout`).
    pub linear_dropout: f64,
}

/// A component to build, with its name and config path.
#[derive(Clone, Debug)]
pub struct NamedComponent {
    /// Unique name from the config.
    pub name: String,
    /// Config path (`components[3]`).
    pub path: String,
    /// What to build.
    pub config: ComponentConfig,
}

/// Everything needed to build a [`Model`]: the components (each built once) and the tasks'
/// wirings. Produced by [`crate::builder`] from an experiment; usable directly in tests.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// The components, in config order.
    pub components: Vec<NamedComponent>,
    /// The tasks, in config order.
    pub tasks: Vec<TaskWiring>,
}

/// Name and path of a built component (not saved: rebuilt from the config).
#[derive(Clone, Debug)]
pub struct ComponentInfo {
    /// Unique name.
    pub name: String,
    /// Config path.
    pub path: String,
}

/// What a task owns alone: its gate and its dropouts.
#[derive(Module, Debug)]
pub struct TaskHead {
    /// Per-label gate between universal and specific layer (only with a specific layer).
    pub gate: Option<Gate>,
    /// Dropout after the features.
    pub feature_dropout: Dropout,
    /// Dropout after the encoders.
    pub encoder_dropout: Dropout,
    /// Dropout before the output layers.
    pub linear_dropout: Dropout,
}

/// All tasks' parameters: every component once, one head per task.
#[derive(Module, Debug)]
pub struct Model {
    /// The components, in config order; tasks refer to them by index.
    pub components: Vec<Component>,
    /// One head per task, in task order.
    pub heads: Vec<TaskHead>,
    #[module(skip)]
    info: Vec<ComponentInfo>,
    #[module(skip)]
    tasks: Vec<TaskWiring>,
}

impl ModelConfig {
    /// Every problem with the components and the wirings, each naming its config path: each
    /// slot holds a kind that may fill its role ([`Kind::roles`]), and widths chain from the
    /// features through the encoders to the output layers. A config from [`crate::builder`]
    /// passes by construction (polytag-config inferred the widths); this guards configs built
    /// by hand.
    pub fn check(&self) -> Vec<ModelError> {
        let mut errors: Vec<ModelError> = self
            .components
            .iter()
            .flat_map(|c| c.config.check(&c.path))
            .collect();
        for task in &self.tasks {
            self.check_task(task, &mut errors);
        }
        errors
    }

    /// The component in `slot` if it may fill `role`; reports it otherwise.
    fn get(
        &self,
        slot: &Slot,
        role: Role,
        errors: &mut Vec<ModelError>,
    ) -> Option<&NamedComponent> {
        let Some(c) = self.components.get(slot.component) else {
            errors.push(ModelError::NoComponent {
                path: slot.path.clone(),
                index: slot.component,
                count: self.components.len(),
            });
            return None;
        };
        if !c.config.kind().roles().contains(&role) {
            errors.push(ModelError::WrongKind {
                path: slot.path.clone(),
                name: c.name.clone(),
                expected: Kind::list(&Kind::with_role(role)),
                found: c.config.kind(),
            });
            return None;
        }
        Some(c)
    }

    fn check_task(&self, task: &TaskWiring, errors: &mut Vec<ModelError>) {
        let mismatch = |path: &str, what: &'static str, expected: usize, found: usize| {
            ModelError::DimensionMismatch {
                path: path.to_string(),
                what,
                expected,
                found,
            }
        };
        for (p, path) in [
            (
                task.feature_dropout,
                format!("{}.model.embed_dropout", task.path),
            ),
            (
                task.encoder_dropout,
                format!("{}.model.lstm_dropout", task.path),
            ),
            (
                task.linear_dropout,
                format!("{}.model.linear_dropout", task.path),
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                errors.push(ModelError::Dropout { path, value: p });
            }
        }
        if task.features.is_empty() {
            errors.push(ModelError::ZeroSize {
                path: format!("{}.model", task.path),
                what: "number of feature components",
            });
        }
        // A component that reads vectors must get the width it was built for.
        let chain = |slot: &Slot, c: &NamedComponent, d: usize, errors: &mut Vec<ModelError>| {
            if let Some(d_in) = c.config.d_input().filter(|&d_in| d_in != d) {
                errors.push(mismatch(&slot.path, "input dimension", d_in, d));
            }
        };
        let mut d = 0;
        for f in &task.features {
            let Some(c) = self.get(&f.slot, Role::Feature, errors) else {
                continue;
            };
            let mut d_feat = c.config.d_output();
            if let Some(h) = &f.highway {
                if let Some(hc) = self.get(h, Role::CharHighway, errors) {
                    chain(h, hc, d_feat, errors);
                    d_feat = hc.config.d_output();
                }
            }
            d += d_feat;
        }
        for e in &task.encoders {
            if let Some(c) = self.get(e, Role::Encoder, errors) {
                chain(e, c, d, errors);
                d = c.config.d_output();
            }
        }
        if task.universal.is_none() && task.specific.is_none() {
            errors.push(ModelError::ZeroSize {
                path: format!("{}.model", task.path),
                what: "number of output layers",
            });
        }
        let outputs = task.universal.iter().chain(&task.specific);
        for (slot, role) in outputs
            .map(|s| (s, Role::Output))
            .chain([(&task.decoder, Role::Decoder)])
        {
            let Some(c) = self.get(slot, role, errors) else {
                continue;
            };
            if role == Role::Output {
                chain(slot, c, d, errors);
            }
            let labels = c.config.d_output();
            if labels != task.num_labels {
                errors.push(mismatch(&slot.path, "label count", labels, task.num_labels));
            }
        }
    }

    /// Encoder output width of a task: the input width of its output layers (which
    /// [`Self::check`] compared with the encoders' output).
    fn d_encoded(&self, task: &TaskWiring) -> usize {
        task.universal
            .iter()
            .chain(&task.specific)
            .find_map(|s| self.components.get(s.component)?.config.d_input())
            .unwrap_or(0)
    }

    /// Checks everything, then builds every component once and one head per task.
    ///
    /// # Errors
    /// Every problem [`Self::check`] finds, with config paths; nothing is built then.
    pub fn init(self, device: &Device) -> std::result::Result<Model, BuildErrors> {
        let errors = self.check();
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        let heads = self
            .tasks
            .iter()
            .map(|t| TaskHead {
                gate: (t.universal.is_some() && t.specific.is_some())
                    .then(|| GateConfig::new(self.d_encoded(t), t.num_labels).init(device)),
                feature_dropout: DropoutConfig::new(t.feature_dropout).init(),
                encoder_dropout: DropoutConfig::new(t.encoder_dropout).init(),
                linear_dropout: DropoutConfig::new(t.linear_dropout).init(),
            })
            .collect();
        let info = self
            .components
            .iter()
            .map(|c| ComponentInfo {
                name: c.name.clone(),
                path: c.path.clone(),
            })
            .collect();
        let mut components = Vec::with_capacity(self.components.len());
        let mut errors = Vec::new();
        for c in self.components {
            match c.config.init(&c.path, device) {
                Ok(m) => components.push(m),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        Ok(Model {
            components,
            heads,
            info,
            tasks: self.tasks,
        })
    }
}

/// The decoder of a task.
enum Decoder<'a> {
    Crf(&'a Crf),
    Softmax(&'a SoftmaxDecoder),
}

impl Model {
    /// Number of tasks.
    pub fn num_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// The wiring of a task.
    ///
    /// # Errors
    /// [`ModelError::TaskIndex`] if out of range.
    pub fn task(&self, task: usize) -> Result<&TaskWiring> {
        self.tasks.get(task).ok_or(ModelError::TaskIndex {
            task,
            num_tasks: self.tasks.len(),
        })
    }

    fn name(&self, component: usize) -> String {
        self.info
            .get(component)
            .map_or_else(String::new, |i| i.name.clone())
    }

    /// Index of the component named `name`.
    pub fn component_index(&self, name: &str) -> Option<usize> {
        self.info.iter().position(|c| c.name == name)
    }

    /// Indices of the tasks that use component `idx` in any slot.
    pub fn tasks_using(&self, idx: usize) -> Vec<usize> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| uses(t).contains(&idx))
            .map(|(i, _)| i)
            .collect()
    }

    fn component(&self, slot: &Slot) -> Result<&Component> {
        self.components
            .get(slot.component)
            .ok_or(ModelError::NoComponent {
                path: slot.path.clone(),
                index: slot.component,
                count: self.components.len(),
            })
    }

    fn wrong(&self, slot: &Slot, c: &Component, role: Role) -> ModelError {
        ModelError::WrongKind {
            path: slot.path.clone(),
            name: self
                .info
                .get(slot.component)
                .map_or_else(String::new, |i| i.name.clone()),
            expected: Kind::list(&Kind::with_role(role)),
            found: c.kind(),
        }
    }

    /// Emissions `[B, T, L]` of task `task` for a batch: steps 1–5 of the module doc. Shared
    /// by [`Self::loss`] and every decoding method.
    ///
    /// # Errors
    /// [`ModelError::TaskIndex`], or the input's shape errors ([`TaskInput::check`],
    /// [`ModelError::MissingStream`], [`ModelError::StreamKind`]).
    pub fn emissions(&self, task: usize, input: &TaskInput) -> Result<Tensor<3>> {
        let wiring = self.task(task)?;
        input.check()?;
        let head = self.heads.get(task).ok_or(ModelError::TaskIndex {
            task,
            num_tasks: self.heads.len(),
        })?;
        let mask3 = input.mask.clone().unsqueeze_dim::<3>(2);

        let mut feats = Vec::with_capacity(wiring.features.len());
        for (j, f) in wiring.features.iter().enumerate() {
            let c = self.component(&f.slot)?;
            let stream = input
                .streams
                .get(j)
                .ok_or_else(|| ModelError::MissingStream {
                    task: wiring.name.clone(),
                    stream: j,
                    available: input.streams.len(),
                })?;
            let mut x = match c.feature(stream, &input.mask) {
                Some(Ok(x)) => x,
                Some(Err(expected)) => {
                    return Err(ModelError::StreamKind {
                        path: f.slot.path.clone(),
                        name: self.name(f.slot.component),
                        expected,
                        found: stream.what(),
                    })
                }
                None => return Err(self.wrong(&f.slot, c, Role::Feature)),
            };
            if let Some(h) = &f.highway {
                let hc = self.component(h)?;
                x = hc
                    .char_highway(x)
                    .ok_or_else(|| self.wrong(h, hc, Role::CharHighway))?;
            }
            feats.push(x);
        }
        // padded positions are zero from here on (a highway's bias would make them not)
        let mut x = dropout(&head.feature_dropout, Tensor::cat(feats, 2) * mask3.clone());

        for e in &wiring.encoders {
            let c = self.component(e)?;
            x = c
                .encode(x, &input.mask)
                .ok_or_else(|| self.wrong(e, c, Role::Encoder))?;
        }
        let x = dropout(&head.linear_dropout, dropout(&head.encoder_dropout, x));

        // The output layers and the gate read real tokens only: in a shuffled batch most
        // positions can be padding (CoNLL-2003, batch 19: about two thirds), and the decoders
        // never read the emissions there. Packed after the dropouts, so their draws do not move.
        let [b, t, _] = x.dims();
        let packed = TokenRows::new(&input.lengths, t, &x.device());
        let x = match &packed {
            Some(rows) => rows.pack(x).unsqueeze::<3>(),
            None => x,
        };
        let layer = |slot: &Slot| match self.component(slot)? {
            Component::Linear(l) => Ok(l.forward(x.clone())),
            other => Err(self.wrong(slot, other, Role::Output)),
        };
        let emissions = match (&wiring.universal, &wiring.specific, &head.gate) {
            (Some(u), Some(s), Some(gate)) => gate.mix(x.clone(), layer(u)?, layer(s)?),
            (Some(one), _, _) | (None, Some(one), _) => layer(one)?,
            (None, None, _) => {
                return Err(ModelError::ZeroSize {
                    path: format!("{}.model", wiring.path),
                    what: "number of output layers",
                })
            }
        };
        Ok(match packed {
            Some(rows) => rows.unpack(emissions.squeeze_dim::<2>(0), b, t),
            None => emissions,
        })
    }

    fn decoder(&self, wiring: &TaskWiring) -> Result<Decoder<'_>> {
        match self.component(&wiring.decoder)? {
            Component::Crf(c) => Ok(Decoder::Crf(c)),
            Component::Softmax(s) => Ok(Decoder::Softmax(s)),
            other => Err(self.wrong(&wiring.decoder, other, Role::Decoder)),
        }
    }

    /// Training loss of a batch, `[1]`: CRF mean sentence NLL, or mean token cross entropy.
    ///
    /// # Errors
    /// As [`Self::emissions`], and [`ModelError::NoLabels`] without gold labels.
    pub fn loss(&self, task: usize, input: &TaskInput) -> Result<Tensor<1>> {
        let wiring = self.task(task)?;
        let labels = input.labels.clone().ok_or_else(|| ModelError::NoLabels {
            task: wiring.name.clone(),
        })?;
        let em = self.emissions(task, input)?;
        Ok(match self.decoder(wiring)? {
            Decoder::Crf(crf) => crf.nll(em, labels, input.mask.clone(), &input.lengths),
            Decoder::Softmax(s) => s.loss(em, labels, input.mask.clone()),
        })
    }

    /// Best label sequence of each sentence (its own length).
    ///
    /// # Errors
    /// As [`Self::emissions`], and [`ModelError::Read`].
    pub fn decode(&self, task: usize, input: &TaskInput) -> Result<Vec<Vec<u32>>> {
        let em = self.emissions(task, input)?;
        match self.decoder(self.task(task)?)? {
            Decoder::Crf(crf) => crf.decode(em, &input.lengths),
            Decoder::Softmax(s) => s.decode(em, &input.lengths),
        }
    }

    /// The `k` best label sequences of each sentence, best first, with scores and
    /// log-probabilities.
    ///
    /// # Errors
    /// As [`Self::decode`].
    pub fn nbest(&self, task: usize, input: &TaskInput, k: usize) -> Result<Vec<Vec<ScoredPath>>> {
        let em = self.emissions(task, input)?;
        match self.decoder(self.task(task)?)? {
            Decoder::Crf(crf) => crf.nbest(em, &input.lengths, k),
            Decoder::Softmax(s) => s.nbest(em, &input.lengths, k),
        }
    }

    /// Per-token label probabilities of each sentence, `n × L` row-major.
    ///
    /// # Errors
    /// As [`Self::decode`].
    pub fn marginals(&self, task: usize, input: &TaskInput) -> Result<Vec<Vec<f32>>> {
        let em = self.emissions(task, input)?;
        match self.decoder(self.task(task)?)? {
            Decoder::Crf(crf) => crf.marginals(em, &input.lengths),
            Decoder::Softmax(s) => s.marginals(em, &input.lengths),
        }
    }

    /// Draws every lazily initialised parameter now, in a fixed order, so that the weights
    /// depend only on the device seed set before building (burn-0.22-notes §7).
    pub fn force_init(&self) {
        struct Touch;
        impl ModuleVisitor for Touch {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                let _ = p.val();
            }
        }
        self.visit(&mut Touch);
    }

    /// Per component: kind, parameter count, tasks using it; per task: its own parameters.
    pub fn summary(&self) -> ModelSummary {
        let components = self
            .components
            .iter()
            .enumerate()
            .map(|(i, c)| ComponentSummary {
                name: self.name(i),
                kind: c.kind().as_str(),
                params: c.num_params(),
                tasks: self
                    .tasks_using(i)
                    .into_iter()
                    .filter_map(|t| self.tasks.get(t).map(|w| w.name.clone()))
                    .collect(),
            })
            .collect();
        let heads = self
            .tasks
            .iter()
            .zip(&self.heads)
            .map(|(t, h)| HeadSummary {
                task: t.name.clone(),
                params: h.num_params(),
            })
            .collect();
        ModelSummary::new(components, heads)
    }
}

/// Component indices a task uses, in any slot.
fn uses(t: &TaskWiring) -> BTreeSet<usize> {
    let mut s: BTreeSet<usize> = t
        .features
        .iter()
        .flat_map(|f| {
            std::iter::once(f.slot.component).chain(f.highway.as_ref().map(|h| h.component))
        })
        .collect();
    s.extend(t.encoders.iter().map(|e| e.component));
    s.extend(t.universal.as_ref().map(|x| x.component));
    s.extend(t.specific.as_ref().map(|x| x.component));
    s.insert(t.decoder.component);
    s
}

#[cfg(test)]
mod tests;
