//! The experiment: the written form ([`RawExperiment`]), the resolved form ([`Experiment`]) and
//! the steps between them (style.md, "Two stages, like LowArgs/HiArgs").
//!
//! text → JSON value (syntax, duplicate keys) → `--set` overrides → written-form types (unknown
//! keys, types) → resolution (names → indices, kinds, widths, paths, files). Every step reports
//! all it finds; nothing downstream sees names or the raw form.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checks;
use crate::component::{self, Component, ComponentKind, RawComponent, TransformerSource};
use crate::dataset::{self, Dataset, RawDataset};
use crate::error::{ConfigError, ConfigErrors, ConfigWarning, Errors};
use crate::json;
use crate::overrides::{self, Override};
use crate::paths::{self, Env};
use crate::raw::{self, Partial};
use crate::resolve::{self, Ctx, Entry, Names};
use crate::task::{self, Lookup, RawTask, Task};
use crate::training::{self, RawTraining, Training};

/// The experiment file as written (the paper's JSON is accepted as is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Name of the experiment (run directories are `runs/<name>/...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seed of everything random (initialisation, sampling, batching, scheduling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Where runs go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_dir: Option<String>,
    /// Run length, evaluation, device, scheduler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<RawTraining>,
    /// Corpora.
    pub datasets: Vec<RawDataset>,
    /// Tasks and their wiring.
    pub tasks: Vec<RawTask>,
    /// Shared and language-specific layers.
    pub components: Vec<RawComponent>,
}

impl RawExperiment {
    /// Parses JSON text, reporting every syntax, key and type problem with its path.
    pub fn from_json_str(text: &str) -> Result<RawExperiment, ConfigErrors> {
        let value = json::parse(text, "<string>")?;
        let mut errors = Vec::new();
        let partial = raw::from_value(value, &mut errors);
        match partial.complete() {
            Some(raw) if errors.is_empty() => Ok(raw),
            _ => Err(Errors(errors)),
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// How to resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveOptions {
    /// Folder that relative paths start from; default: the config file's folder, or the
    /// current directory for text that came from no file.
    pub base_dir: Option<PathBuf>,
    /// Report data, embedding and model files that do not exist (default true).
    pub check_files: bool,
    /// Where `${VAR}` comes from (default: the process environment).
    pub env: Env,
    /// A run's `transformers/` folder: each transformer's `tokenizer.json` and `config.json`
    /// are read from its `<name>/` copy there and the model folder is not checked (a run's
    /// checkpoint holds the weights), so a run works after its model folder is gone.
    pub transformers_dir: Option<PathBuf>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            base_dir: None,
            check_files: true,
            env: Env::Process,
            transformers_dir: None,
        }
    }
}

impl ResolveOptions {
    /// Skips the file-existence check (for configs whose data lives elsewhere; missing files can
    /// still be listed later with [`Experiment::missing_files`]).
    pub fn without_file_check(mut self) -> Self {
        self.check_files = false;
        self
    }

    /// Reads transformer files from a run's copies in `dir` (see
    /// [`ResolveOptions::transformers_dir`]).
    pub fn with_transformer_copies(mut self, dir: impl Into<PathBuf>) -> Self {
        self.transformers_dir = Some(dir.into());
        self
    }

    /// Takes `${VAR}` values from `env`.
    pub fn with_env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Resolves relative paths against `dir`.
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }
}

/// A resolved experiment and what is worth telling about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The experiment.
    pub experiment: Experiment,
    /// Warnings (no target task declared, unused components or datasets); for the caller to
    /// show, never printed here.
    pub warnings: Vec<ConfigWarning>,
}

/// A resolved, validated experiment: names are indices, options are enums with defaults
/// filled, paths are absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Default: the config file's stem, else `experiment`.
    pub name: String,
    /// Default 1.
    pub seed: u64,
    /// Where runs go, if the config says (relative to the config file); else the caller's
    /// default (`runs/`).
    pub output_dir: Option<PathBuf>,
    /// Run settings.
    pub training: Training,
    /// Corpora, in config order.
    pub datasets: Vec<Dataset>,
    /// Components, in config order; each is one set of parameters however many tasks use it.
    pub components: Vec<Component>,
    /// Tasks, in config order; exactly one has `is_ref`.
    pub tasks: Vec<Task>,
    /// The file it was loaded from.
    pub source: Option<PathBuf>,
}

const DEFAULT_SEED: u64 = 1;

impl Experiment {
    /// Reads `path`, applies `overrides`, resolves with the process environment and checks
    /// that every file exists.
    pub fn load(path: impl AsRef<Path>, overrides: &[Override]) -> Result<Resolved, ConfigErrors> {
        Experiment::load_with(path, overrides, &ResolveOptions::default())
    }

    /// [`Experiment::load`] with options; `base_dir` defaults to the file's folder.
    pub fn load_with(
        path: impl AsRef<Path>,
        overrides: &[Override],
        options: &ResolveOptions,
    ) -> Result<Resolved, ConfigErrors> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let value = json::parse(&text, &path.display().to_string())?;
        let mut options = options.clone();
        if options.base_dir.is_none() {
            options.base_dir = Some(path.parent().unwrap_or(Path::new("")).to_path_buf());
        }
        let source = paths::normalize(&absolute(path));
        resolve_value(value, overrides, Some(source), &options)
    }

    /// Resolves JSON text that came from no file.
    pub fn from_json_str(
        text: &str,
        overrides: &[Override],
        options: &ResolveOptions,
    ) -> Result<Resolved, ConfigErrors> {
        let value = json::parse(text, "<string>")?;
        resolve_value(value, overrides, None, options)
    }

    /// Resolves the written form.
    pub fn resolve(
        raw: &RawExperiment,
        options: &ResolveOptions,
    ) -> Result<Resolved, ConfigErrors> {
        resolve_partial(&Partial::from_raw(raw), None, options, Vec::new())
    }

    /// The written form with every default spelled out and absolute paths: what a run saves
    /// as `config.json`, and what resolves back to an equal experiment.
    pub fn to_raw(&self) -> RawExperiment {
        RawExperiment {
            name: Some(self.name.clone()),
            seed: Some(self.seed),
            output_dir: self.output_dir.as_deref().map(paths::escape),
            training: Some(self.training.to_raw()),
            datasets: self.datasets.iter().map(Dataset::to_raw).collect(),
            tasks: self
                .tasks
                .iter()
                .map(|t| t.to_raw(&self.datasets, &self.components))
                .collect(),
            components: self.components.iter().map(Component::to_raw).collect(),
        }
    }

    /// [`Experiment::to_raw`] as pretty JSON.
    pub fn to_json(&self) -> String {
        self.to_raw().to_json()
    }

    /// Index of the target task (the one with `is_ref`).
    pub fn target(&self) -> usize {
        self.tasks.iter().position(|t| t.is_ref).unwrap_or(0)
    }

    /// The target task.
    ///
    /// # Panics
    /// Never for a resolved experiment: resolution rejects an experiment without tasks.
    pub fn target_task(&self) -> &Task {
        &self.tasks[self.target()]
    }

    /// The dataset of task `task`.
    ///
    /// # Panics
    /// If `task` is out of range (indices in a resolved experiment are always valid).
    pub fn dataset_of(&self, task: usize) -> &Dataset {
        &self.datasets[self.tasks[task].dataset]
    }

    /// Tasks that use component `component`, in order: more than one means shared parameters.
    pub fn tasks_using(&self, component: usize) -> Vec<usize> {
        (0..self.tasks.len())
            .filter(|&t| self.tasks[t].model.components().contains(&component))
            .collect()
    }

    /// Index of the component named `name`.
    pub fn component_index(&self, name: &str) -> Option<usize> {
        self.components.iter().position(|c| c.name == name)
    }

    /// Index of the task named `name`.
    pub fn task_index(&self, name: &str) -> Option<usize> {
        self.tasks.iter().position(|t| t.name == name)
    }

    /// Extra input columns the reader must keep for dataset `dataset`: the columns of the
    /// `feature_embedding` components its tasks use, sorted and unique. A reader returns one
    /// feature list per entry, in this order.
    pub fn feature_columns(&self, dataset: usize) -> Vec<usize> {
        let mut columns: Vec<usize> = self
            .tasks
            .iter()
            .filter(|t| t.dataset == dataset)
            .flat_map(|t| t.model.components())
            .filter_map(|c| match &self.components.get(c)?.kind {
                ComponentKind::FeatureEmbedding(spec) => Some(spec.column),
                _ => None,
            })
            .collect();
        columns.sort_unstable();
        columns.dedup();
        columns
    }

    /// Languages in order of first appearance among the tasks.
    pub fn languages(&self) -> Vec<&str> {
        first_seen(self.tasks.iter().map(|t| t.language.as_str()))
    }

    /// Task types in order of first appearance among the tasks.
    pub fn task_types(&self) -> Vec<&str> {
        first_seen(self.tasks.iter().map(|t| t.task.as_str()))
    }

    /// Every data, embedding and model file that does not exist, as
    /// [`ConfigError::MissingFile`] with its config path.
    pub fn missing_files(&self) -> Vec<ConfigError> {
        let mut missing = Vec::new();
        for (i, dataset) in self.datasets.iter().enumerate() {
            for (split, file) in dataset.files.iter() {
                if split == "dev" && dataset.dev_split.is_some() {
                    // The training file, already checked as `files.train`.
                    continue;
                }
                missing.extend(resolve::missing(
                    &format!("datasets[{i}].files.{split}"),
                    file,
                    Entry::File,
                ));
            }
        }
        for (i, component) in self.components.iter().enumerate() {
            match &component.kind {
                ComponentKind::Embedding(spec) => {
                    if let Some(file) = &spec.file {
                        missing.extend(resolve::missing(
                            &format!("components[{i}].file"),
                            file,
                            Entry::File,
                        ));
                    }
                }
                ComponentKind::Transformer(spec) => {
                    if let TransformerSource::Pretrained(dir) = &spec.source {
                        missing.extend(resolve::missing(
                            &format!("components[{i}].pretrained"),
                            dir,
                            Entry::Dir,
                        ));
                    }
                    if let (Some(file), Some(_)) = (&spec.files.tokenizer, &spec.tokenizer) {
                        missing.extend(resolve::missing(
                            &format!("components[{i}].tokenizer"),
                            file,
                            Entry::File,
                        ));
                    }
                }
                _ => {}
            }
        }
        missing
    }
}

fn first_seen<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// `path` made absolute against the working directory; the empty path (the folder of a config
/// given as a bare file name, `train quickstart.json`) is the working directory itself. A
/// relative base would leave relative corpus paths in the run's `config.json`, which a resume
/// from another directory would resolve elsewhere.
fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn resolve_value(
    mut value: Value,
    overrides: &[Override],
    source: Option<PathBuf>,
    options: &ResolveOptions,
) -> Result<Resolved, ConfigErrors> {
    let override_errors = overrides::apply_all(&mut value, overrides);
    if !override_errors.is_empty() {
        // A bad override means the user's intent is unknown; checking the rest would report
        // problems of a config nobody asked for.
        return Err(Errors(override_errors));
    }
    let mut errors = Vec::new();
    let partial = raw::from_value(value, &mut errors);
    resolve_partial(&partial, source, options, errors)
}

fn resolve_partial(
    partial: &Partial,
    source: Option<PathBuf>,
    options: &ResolveOptions,
    errors: Vec<ConfigError>,
) -> Result<Resolved, ConfigErrors> {
    let base_dir = paths::normalize(&absolute(
        options.base_dir.as_deref().unwrap_or(Path::new("")),
    ));
    let mut ctx = Ctx {
        errors,
        warnings: Vec::new(),
        base_dir,
        env: &options.env,
        check_files: options.check_files,
        transformers_dir: options.transformers_dir.clone(),
        component_name: None,
    };
    let ctx = &mut ctx;

    let default_training = RawTraining::default();
    let raw_training = partial.training.as_ref().unwrap_or(&default_training);
    let seed = match (partial.seed, raw_training.seed) {
        (Some(top), Some(inner)) if top != inner => {
            ctx.invalid(
                "training.seed",
                format!("{inner} differs from the top-level seed {top}; give one"),
            );
            top
        }
        (Some(seed), _) | (None, Some(seed)) => seed,
        (None, None) => DEFAULT_SEED,
    };
    let training = training::resolve(raw_training, ctx);
    let name = partial.name.clone().unwrap_or_else(|| {
        source
            .as_deref()
            .and_then(|s| s.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".to_string())
    });
    resolve::check_name("name", &name, ctx);
    let output_dir = match &partial.output_dir {
        Some(dir) => ctx.path("output_dir", dir, Entry::Output),
        None => None,
    };

    let datasets: Vec<Option<Dataset>> = partial
        .datasets
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            raw.as_ref()
                .and_then(|raw| dataset::resolve(i, raw, seed, ctx))
        })
        .collect();
    let dataset_names = Names::build(
        "datasets",
        "dataset",
        partial
            .datasets
            .iter()
            .enumerate()
            .filter_map(|(i, d)| Some((i, d.as_ref()?.name.as_str(), ()))),
        &partial.broken_datasets,
        ctx,
    );
    if partial.datasets.is_empty() && !reported(ctx, "datasets") {
        ctx.invalid(
            "datasets",
            "empty list; an experiment needs at least one dataset",
        );
    }

    let mut components: Vec<Option<Component>> = partial
        .components
        .iter()
        .enumerate()
        .map(|(i, raw)| raw.as_ref().and_then(|raw| component::resolve(i, raw, ctx)))
        .collect();
    let component_names = Names::build(
        "components",
        "component",
        partial
            .components
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i, c.name.as_str(), c.kind.kind()))),
        &partial.broken_components,
        ctx,
    );

    let lookup = Lookup {
        datasets: &dataset_names,
        dataset_list: &datasets,
        components: &component_names,
        component_list: &components,
        max_step: training.max_step,
    };
    let mut tasks: Vec<Option<task::ResolvedTask>> = partial
        .tasks
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            raw.as_ref()
                .and_then(|raw| task::resolve(i, raw, &lookup, ctx))
        })
        .collect();
    Names::build(
        "tasks",
        "task",
        partial
            .tasks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i, t.as_ref()?.name.as_str(), ()))),
        &HashSet::new(),
        ctx,
    );
    if partial.tasks.is_empty() && !reported(ctx, "tasks") {
        ctx.invalid("tasks", "empty list; an experiment needs at least one task");
    }

    let refs: Vec<usize> = partial
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.as_ref().is_some_and(|t| t.is_ref == Some(true)))
        .map(|(i, _)| i)
        .collect();
    checks::run(&refs, &mut tasks, &mut components, &datasets, ctx);
    checks::check_shared_optimizer(training.optimizer_state, &tasks, ctx);
    warn_unused(partial, &tasks, ctx);

    if !ctx.errors.is_empty() {
        return Err(Errors(std::mem::take(&mut ctx.errors)));
    }
    // No error was reported, so every element typed and resolved; a `None` here would be a
    // bug in resolution, reported rather than panicking.
    let (Some(datasets), Some(components), Some(tasks)) = (
        datasets.into_iter().collect::<Option<Vec<_>>>(),
        components.into_iter().collect::<Option<Vec<_>>>(),
        tasks
            .into_iter()
            .map(|t| t.map(|t| t.task))
            .collect::<Option<Vec<_>>>(),
    ) else {
        return Err(Errors(vec![ConfigError::Invalid {
            path: "(top level)".to_string(),
            reason: "internal error: an element failed to resolve without an error".to_string(),
        }]));
    };
    Ok(Resolved {
        experiment: Experiment {
            name,
            seed,
            output_dir,
            training,
            datasets,
            components,
            tasks,
            source,
        },
        warnings: std::mem::take(&mut ctx.warnings),
    })
}

/// True when an error about `path` itself is already recorded (a missing list is not also
/// reported as empty).
fn reported(ctx: &Ctx<'_>, path: &str) -> bool {
    ctx.errors.iter().any(|e| e.path() == Some(path))
}

fn warn_unused(partial: &Partial, tasks: &[Option<task::ResolvedTask>], ctx: &mut Ctx<'_>) {
    // Only when every task resolved: otherwise "unused" may just mean "referenced by a broken
    // task".
    if tasks.iter().any(Option::is_none) {
        return;
    }
    let tasks: Vec<&Task> = tasks.iter().flatten().map(|t| &t.task).collect();
    let used: HashSet<usize> = tasks.iter().flat_map(|t| t.model.components()).collect();
    for (i, component) in partial.components.iter().enumerate() {
        if let Some(component) = component {
            if !used.contains(&i) {
                ctx.warnings.push(ConfigWarning::UnusedComponent {
                    path: format!("components[{i}]"),
                    name: component.name.clone(),
                });
            }
        }
    }
    for (i, dataset) in partial.datasets.iter().enumerate() {
        if let Some(dataset) = dataset {
            if !tasks.iter().any(|t| t.dataset == i) {
                ctx.warnings.push(ConfigWarning::UnusedDataset {
                    path: format!("datasets[{i}]"),
                    name: dataset.name.clone(),
                });
            }
        }
    }
}
