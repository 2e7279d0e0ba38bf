//! Checks across tasks and components, run once every task's references are resolved:
//! exactly one target, what may be shared across languages and task types, the input width
//! each shared component receives (seed-systems A.4 step 5, but as an error instead of the
//! paper's silent widest-wins), and extra input columns against their datasets.

use std::collections::HashMap;

use crate::component::{Component, ComponentKind, Input, Role};
use crate::dataset::{Dataset, Format};
use crate::error::{ConfigError, ConfigWarning, Shared};
use crate::resolve::Ctx;
use crate::task::ResolvedTask;

/// Runs every cross-check over the tasks that resolved; fills `Component::d_input` and
/// decides the target task (`is_ref`).
pub(crate) fn run(
    refs: &[usize],
    tasks: &mut [Option<ResolvedTask>],
    components: &mut [Option<Component>],
    datasets: &[Option<Dataset>],
    ctx: &mut Ctx<'_>,
) {
    choose_target(refs, tasks, ctx);
    check_sharing(tasks, components, ctx);
    infer_widths(tasks, components, ctx);
    check_feature_columns(tasks, components, datasets, ctx);
}

/// `training.optimizer_state: "shared"` runs one optimizer for every task, so its settings
/// (kind, betas, ε, momentum, weight decay and what it decays) must agree across tasks.
pub(crate) fn check_shared_optimizer(
    state: crate::OptimizerState,
    tasks: &[Option<ResolvedTask>],
    ctx: &mut Ctx<'_>,
) {
    if state != crate::OptimizerState::Shared {
        return;
    }
    let mut first: Option<(usize, &crate::TaskHyper)> = None;
    for (i, resolved) in tasks.iter().enumerate() {
        let Some(resolved) = resolved else { continue };
        let h = &resolved.task.hyper;
        match first {
            None => first = Some((i, h)),
            Some((j, f)) => {
                let same = f.optimizer == h.optimizer
                    && f.weight_decay == h.weight_decay
                    && f.decay_norm_and_bias == h.decay_norm_and_bias;
                if !same {
                    ctx.invalid(
                        format!("tasks[{i}].optimizer"),
                        format!(
                            "training.optimizer_state \"shared\" runs one optimizer for all \
                             tasks: its optimizer, betas, epsilon, momentum, weight_decay and \
                             decay_norm_and_bias must equal those of tasks[{j}]"
                        ),
                    );
                }
            }
        }
    }
}

/// `refs`: the tasks that say `"ref": true`, counted on the written form so that a task broken
/// elsewhere still counts.
fn choose_target(refs: &[usize], tasks: &mut [Option<ResolvedTask>], ctx: &mut Ctx<'_>) {
    if refs.len() > 1 {
        ctx.push(ConfigError::ManyRefs {
            tasks: refs.iter().map(|i| format!("tasks[{i}]")).collect(),
        });
    } else if refs.is_empty() {
        if let Some(Some(first)) = tasks.first_mut() {
            first.task.is_ref = true;
            ctx.warnings.push(ConfigWarning::NoRefTask {
                task: first.task.name.clone(),
            });
        }
    }
}

/// Word embeddings hold one language's vocabulary; output layers and decoders are sized by one
/// task type's labels; an embedding that declares a `language` serves only that language.
fn check_sharing(
    tasks: &[Option<ResolvedTask>],
    components: &[Option<Component>],
    ctx: &mut Ctx<'_>,
) {
    let mut first: HashMap<(usize, Shared), (String, String)> = HashMap::new();
    for resolved in tasks.iter().flatten() {
        let task = &resolved.task;
        for slot in &resolved.slots {
            let Some(Some(component)) = components.get(slot.component) else {
                continue;
            };
            let shared = match (&component.kind, slot.role) {
                (ComponentKind::Embedding(spec), _) => {
                    if let Some(language) = spec.language.as_ref().filter(|l| **l != task.language)
                    {
                        ctx.invalid(
                            slot.path.clone(),
                            format!(
                                "component \"{}\" is for language \"{language}\", but task \"{}\" is \"{}\"",
                                component.name, task.name, task.language
                            ),
                        );
                    }
                    Shared::Language
                }
                (_, Role::Output | Role::Decoder) => Shared::TaskType,
                _ => continue,
            };
            let value = match shared {
                Shared::Language => &task.language,
                Shared::TaskType => &task.task,
            };
            match first.get(&(slot.component, shared)) {
                Some((seen, seen_task)) if seen != value => ctx.push(ConfigError::SharedAcross {
                    path: slot.path.clone(),
                    name: component.name.clone(),
                    what: shared,
                    first: seen.clone(),
                    first_task: seen_task.clone(),
                    second: value.clone(),
                }),
                Some(_) => {}
                None => {
                    first.insert((slot.component, shared), (value.clone(), task.name.clone()));
                }
            }
        }
    }
}

/// Feature widths add up; each encoder maps its input width to its output width; every
/// component that takes vectors must get the same width from every task that uses it.
fn infer_widths(
    tasks: &[Option<ResolvedTask>],
    components: &mut [Option<Component>],
    ctx: &mut Ctx<'_>,
) {
    let mut seen: HashMap<usize, (usize, String)> = HashMap::new();
    'tasks: for resolved in tasks.iter().flatten() {
        let task = &resolved.task;
        let pipeline = task.model.pipeline();
        let path_of = |component: usize, role: Role| {
            resolved
                .slots
                .iter()
                .find(|s| s.component == component && s.role == role)
                .map(|s| s.path.clone())
                .unwrap_or_default()
        };
        // Width of the concatenated features; `None` once any part is unknown (a pretrained
        // transformer's width comes from its checkpoint).
        let mut width = Some(0usize);
        for &feature in &pipeline.features {
            let Some(kind) = kind_at(components, feature) else {
                continue 'tasks;
            };
            let d = kind.d_feature();
            if kind.kind().input() == Input::Chars {
                if let (Some(highway), Some(d_char)) = (pipeline.char_highway, d) {
                    let path = path_of(highway, Role::CharHighway);
                    record(
                        &mut seen, components, ctx, highway, d_char, &task.name, &path,
                    );
                }
            }
            width = width.zip(d).map(|(w, d)| w + d);
        }
        for &encoder in &pipeline.encoders {
            let Some(kind) = kind_at(components, encoder) else {
                continue 'tasks;
            };
            let Some(d_in) = width else { break };
            let path = path_of(encoder, Role::Encoder);
            record(&mut seen, components, ctx, encoder, d_in, &task.name, &path);
            if let Err(problem) = kind.check_input(d_in) {
                ctx.invalid(path, problem);
            }
            width = kind.d_encoded(d_in);
        }
        if let Some(d_in) = width {
            for output in pipeline.univ_layer.into_iter().chain(pipeline.spec_layer) {
                let path = path_of(output, Role::Output);
                record(&mut seen, components, ctx, output, d_in, &task.name, &path);
            }
        }
    }
}

fn kind_at(components: &[Option<Component>], component: usize) -> Option<ComponentKind> {
    components
        .get(component)
        .and_then(Option::as_ref)
        .map(|c| c.kind.clone())
}

fn record(
    seen: &mut HashMap<usize, (usize, String)>,
    components: &mut [Option<Component>],
    ctx: &mut Ctx<'_>,
    component: usize,
    width: usize,
    task: &str,
    path: &str,
) {
    match seen.get(&component) {
        Some((expected, other_task)) if *expected != width => {
            let name = components
                .get(component)
                .and_then(Option::as_ref)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            ctx.push(ConfigError::Width {
                path: path.to_string(),
                name,
                found: width,
                expected: *expected,
                other_task: other_task.clone(),
            });
        }
        Some(_) => {}
        None => {
            seen.insert(component, (width, task.to_string()));
            if let Some(Some(c)) = components.get_mut(component) {
                c.d_input = Some(width);
            }
        }
    }
}

/// A `feature_embedding` reads a column of its task's dataset: it must exist in the format
/// and must not be the label column (that would feed the gold answer to the model).
fn check_feature_columns(
    tasks: &[Option<ResolvedTask>],
    components: &[Option<Component>],
    datasets: &[Option<Dataset>],
    ctx: &mut Ctx<'_>,
) {
    for resolved in tasks.iter().flatten() {
        let Some(Some(dataset)) = datasets.get(resolved.task.dataset) else {
            continue;
        };
        for slot in &resolved.slots {
            let Some(Some(component)) = components.get(slot.component) else {
                continue;
            };
            let ComponentKind::FeatureEmbedding(spec) = &component.kind else {
                continue;
            };
            let column = spec.column;
            let d = &dataset.name;
            let problem = match &dataset.parser.format {
                Format::Jsonl { .. } => {
                    Some(format!("dataset \"{d}\" is jsonl, which has no columns"))
                }
                Format::Conllu { .. } if column >= 10 => Some(format!(
                    "column {column} does not exist in CoNLL-U (columns 0-9)"
                )),
                format if format.label_column() == Some(column) => Some(format!(
                    "column {column} is the label column of dataset \"{d}\""
                )),
                _ => None,
            };
            if let Some(problem) = problem {
                ctx.invalid(
                    slot.path.clone(),
                    format!("feature_embedding \"{}\": {problem}", component.name),
                );
            }
        }
    }
}
