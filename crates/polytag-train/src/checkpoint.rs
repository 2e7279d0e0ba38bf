//! What a checkpoint directory holds, and reading it back (design.md §4, §6).
//!
//! ```text
//! checkpoints/<best|last>/
//!   checkpoint.json   the manifest (format, kind, step, ref task and score, file list)
//!   config.json       the resolved experiment (a checkpoint reproduces its model alone)
//!   vocab.json        every vocabulary ([`Vocabularies`])
//!   model.bpk         the parameters (burn's burnpack, ParamIds included)
//!   state.json        `last` only: the whole training state ([`TrainState`])
//!   optim-<i>.bpk     `last` only: task i's optimizer state (only `optim-0`, the one
//!                     optimizer of all tasks, with `training.optimizer_state: "shared"`)
//! ```
//!
//! Files are written into the staging directory of [`RunDir::begin_checkpoint`] and swapped
//! in by [`crate::CheckpointStaging::commit`], so a kill at any moment leaves the previous
//! complete checkpoint readable.
//!
//! The manifest, written last into the staging directory (so it is swapped in with the files
//! it describes), records each file's size and SHA-256. [`CheckpointDir::open`] reads every
//! file into memory and checks it against the manifest: a flipped byte is an error naming the
//! file, and a reader never sees a later checkpoint swapped in under it (nor fails when the
//! folder goes away after opening).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use burn::prelude::*;
use polytag_config::{Experiment, ResolveOptions};
use polytag_data::BatchState;
use polytag_model::Model;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lr::LrState;
use crate::optim::TaskOptimizer;
use crate::run_dir::{CheckpointKind, RunDir};
use crate::scheduler::SchedulerState;
use crate::selection::Selection;
use crate::vocabularies::Vocabularies;
use polytag_run::Fingerprint;

/// The checkpoint layout this build writes (2: the manifest holds `checksums`). Format 1
/// checkpoints (no checksums) are still read.
pub const FORMAT: u32 = 2;
/// The manifest.
pub const MANIFEST_FILE: &str = "checkpoint.json";
/// The resolved experiment.
pub const CONFIG_FILE: &str = "config.json";
/// The vocabularies.
pub const VOCAB_FILE: &str = "vocab.json";
/// The parameters, without burn's `.bpk` extension (burn adds it).
pub const MODEL_STEM: &str = "model";
/// The training state.
pub const STATE_FILE: &str = "state.json";

/// `checkpoint.json`: what the directory is, readable without burn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// `best` or `last`.
    pub kind: String,
    /// Global step at which it was taken.
    pub step: u64,
    /// Experiment name.
    pub experiment: String,
    /// The ref task (selection target).
    pub ref_task: String,
    /// The ref task's dev score at this step, if evaluated here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_dev_score: Option<f64>,
    /// Version of polytag that wrote it.
    pub polytag_version: String,
    /// UTC time of writing (`YYYYmmdd-HHMMSS`).
    pub created: String,
    /// Files in the directory.
    pub files: Vec<String>,
    /// Size and SHA-256 of every file but the manifest (format 2 on).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, Fingerprint>,
}

/// Everything a resumed run needs besides parameters and optimizer states (`state.json`).
///
/// Dropout masks come from reseeding the backend with (seed, step) before every step, so no
/// backend RNG state needs saving (burn cannot read it back; burn-0.22-notes §7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Global steps done.
    pub step: u64,
    /// The experiment seed (all streams derive from it).
    pub seed: u64,
    /// Steps done per task (each task's lr schedule runs on its own counter).
    pub task_steps: Vec<u64>,
    /// Task sampling.
    pub scheduler: SchedulerState,
    /// Training batch stream per task.
    pub batches: Vec<BatchState>,
    /// Learning-rate schedule state per task (plateau).
    pub lr: Vec<LrState>,
    /// Best tracking and early stopping.
    pub selection: Selection,
    /// Per task: training loss summed since the last evaluation.
    pub loss_sums: Vec<f64>,
    /// Per task: batches summed into `loss_sums`.
    pub loss_counts: Vec<u64>,
    /// Per task: training tokens processed so far.
    pub train_tokens: Vec<u64>,
    /// Seconds spent in training steps (not evaluation) so far.
    pub train_time_s: f64,
    /// Seconds since the run started, resumed sessions added up.
    pub elapsed_s: f64,
    /// Whether training has ended (max_step reached or stopped early).
    pub finished: bool,
    /// Whether it ended by early stopping.
    pub stopped_early: bool,
}

/// Writes a complete checkpoint of `kind` atomically. `training` adds the `last`-only parts.
pub fn write_checkpoint(
    run_dir: &RunDir,
    manifest: &Checkpoint,
    exp: &Experiment,
    vocabs: &Vocabularies,
    model: &Model,
    training: Option<(&TrainState, &[TaskOptimizer])>,
) -> Result<PathBuf> {
    let kind = if manifest.kind == CheckpointKind::Best.as_str() {
        CheckpointKind::Best
    } else {
        CheckpointKind::Last
    };
    let staging = run_dir.begin_checkpoint(kind)?;
    let dir = staging.path().to_path_buf();
    let mut files = vec![
        MANIFEST_FILE.to_string(),
        CONFIG_FILE.to_string(),
        VOCAB_FILE.to_string(),
        format!("{MODEL_STEM}.bpk"),
    ];
    write_json(&dir.join(CONFIG_FILE), &exp.to_raw())?;
    write_json(&dir.join(VOCAB_FILE), vocabs)?;
    let model_path = dir.join(MODEL_STEM);
    model
        .clone()
        .save_file(&model_path)
        .map_err(|source| Error::Record {
            action: "save",
            path: model_path.with_extension("bpk"),
            source,
        })?;
    if let Some((state, optimizers)) = training {
        write_json(&dir.join(STATE_FILE), state)?;
        files.push(STATE_FILE.to_string());
        for (t, opt) in optimizers.iter().enumerate() {
            let stem = format!("optim-{t}");
            opt.save(&dir.join(&stem))?;
            files.push(format!("{stem}.bpk"));
        }
    }
    let mut checksums = BTreeMap::new();
    for name in files.iter().filter(|f| *f != MANIFEST_FILE) {
        checksums.insert(name.clone(), Fingerprint::of_file(&dir.join(name))?);
    }
    let manifest = Checkpoint {
        format: FORMAT,
        files,
        checksums,
        ..manifest.clone()
    };
    write_json(&dir.join(MANIFEST_FILE), &manifest)?;
    Ok(staging.commit()?)
}

/// A checkpoint directory opened for reading: every file read and verified at
/// [`CheckpointDir::open`], held in memory from then on.
#[derive(Clone, Debug)]
pub struct CheckpointDir {
    /// Where it is.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Checkpoint,
    /// The bytes of each file of the manifest (but the manifest itself and optimizer states).
    files: Arc<BTreeMap<String, Vec<u8>>>,
    /// The run directory it belongs to (its transformer copies are read from there).
    pub run_root: PathBuf,
}

impl CheckpointDir {
    /// The newest complete checkpoint of `kind` in `run_dir`, every file read and checked
    /// against the manifest. A reader racing the trainer's swap (files of two checkpoints, or
    /// a folder renamed away mid-read) tries again, a few times; a corrupt checkpoint fails
    /// every time and its error is returned.
    pub fn open(run_dir: &RunDir, kind: CheckpointKind) -> Result<Self> {
        let mut tries = 0;
        loop {
            match Self::open_once(run_dir, kind) {
                Err(Error::Run(_)) if tries < 3 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn open_once(run_dir: &RunDir, kind: CheckpointKind) -> Result<Self> {
        let path = run_dir
            .checkpoint(kind)
            .ok_or_else(|| Error::NoCheckpoint {
                run_dir: run_dir.path().to_path_buf(),
                kind: kind.as_str(),
            })?;
        let manifest_path = path.join(MANIFEST_FILE);
        let manifest: Checkpoint = read_json(&manifest_path)?;
        if manifest.format == 0 || manifest.format > FORMAT {
            return Err(Error::CheckpointFormat {
                path: manifest_path,
                found: manifest.format,
                expected: FORMAT,
            });
        }
        if manifest.format >= 2 && manifest.checksums.is_empty() {
            return Err(polytag_run::Error::Integrity {
                path: manifest_path,
                what: "the manifest records no checksums".into(),
            }
            .into());
        }
        let mut files = BTreeMap::new();
        for name in &manifest.files {
            if name == MANIFEST_FILE {
                continue;
            }
            let file = path.join(name);
            if manifest.format >= 2 && !manifest.checksums.contains_key(name) {
                return Err(polytag_run::Error::Integrity {
                    path: manifest_path,
                    what: format!("no checksum recorded for {name}"),
                }
                .into());
            }
            if let Some(expected) = manifest.checksums.get(name) {
                if name.starts_with("optim-") {
                    // Read (by the optimizer) only on resume, by the run's lock holder.
                    let found = Fingerprint::of_file(&file)?;
                    verify(&file, expected, &found)?;
                    continue;
                }
            }
            let bytes = fs::read(&file).map_err(|source| polytag_run::Error::Read {
                path: file.clone(),
                source,
            })?;
            if let Some(expected) = manifest.checksums.get(name) {
                verify(&file, expected, &Fingerprint::of_bytes(&bytes))?;
            }
            files.insert(name.clone(), bytes);
        }
        Ok(CheckpointDir {
            path,
            manifest,
            files: Arc::new(files),
            run_root: run_dir.path().to_path_buf(),
        })
    }

    /// The bytes of file `name`, read at [`CheckpointDir::open`].
    fn bytes(&self, name: &str) -> Result<&[u8]> {
        self.files.get(name).map(Vec::as_slice).ok_or_else(|| {
            polytag_run::Error::Integrity {
                path: self.path.join(MANIFEST_FILE),
                what: format!("the checkpoint's manifest does not list {name}"),
            }
            .into()
        })
    }

    fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        serde_json::from_slice(self.bytes(name)?).map_err(|source| Error::Json {
            path: self.path.join(name),
            source,
        })
    }

    /// The experiment saved with it (paths as they were; files are not checked, so a model
    /// can be used where its training data is absent; transformer files come from the run's
    /// copies, so it works where the model folder is absent too).
    pub fn experiment(&self) -> Result<Experiment> {
        let path = self.path.join(CONFIG_FILE);
        let text = String::from_utf8_lossy(self.bytes(CONFIG_FILE)?).into_owned();
        let options = ResolveOptions::default()
            .without_file_check()
            .with_base_dir(&self.path)
            .with_transformer_copies(crate::transformers::copies_dir(&self.run_root));
        Experiment::from_json_str(&text, &[], &options)
            .map(|r| r.experiment)
            .map_err(|errors| Error::Config { path, errors })
    }

    /// Its vocabularies.
    pub fn vocabularies(&self) -> Result<Vocabularies> {
        self.json(VOCAB_FILE)
    }

    /// The training state (`last` checkpoints).
    pub fn train_state(&self) -> Result<TrainState> {
        self.json(STATE_FILE)
    }

    /// The model: built for `exp` from `vocabs` on `device`, parameters (and their ids, which
    /// optimizer states refer to) loaded from `model.bpk`.
    pub fn model(&self, exp: &Experiment, vocabs: &Vocabularies, device: &Device) -> Result<Model> {
        let model =
            polytag_model::build(exp, &vocabs.build_inputs(exp), device).map_err(Error::Build)?;
        let name = format!("{MODEL_STEM}.bpk");
        let path = self.path.join(&name);
        let bytes = burn::tensor::Bytes::from_bytes_vec(self.bytes(&name)?.to_vec());
        burn::store::ModuleRecord::from_bytes(bytes)
            .and_then(|record| model.try_load_record(record))
            .map_err(|source| Error::Record {
                action: "load",
                path,
                source,
            })
    }

    /// Optimizer `task`'s saved state put into `fresh` (task `task`'s, or with a shared
    /// optimizer state index 0, the only one).
    pub fn optimizer(&self, task: usize, fresh: TaskOptimizer) -> Result<TaskOptimizer> {
        fresh.load(&self.path.join(format!("optim-{task}.bpk")))
    }
}

/// A file's bytes against the manifest's record of them.
fn verify(path: &Path, expected: &Fingerprint, found: &Fingerprint) -> Result<()> {
    if expected == found {
        return Ok(());
    }
    Err(polytag_run::Error::Integrity {
        path: path.to_path_buf(),
        what: format!(
            "checksum mismatch: the checkpoint's manifest records {} bytes, sha256 {}; the file has {} bytes, sha256 {} (the checkpoint is corrupt)",
            expected.size, expected.sha256, found.size, found.sha256
        ),
    }
    .into())
}

/// Pretty JSON, written atomically.
pub(crate) fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    Ok(crate::write_atomic(path, text.as_bytes())?)
}

/// Reads a JSON file into `T`.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|source| polytag_run::Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}
