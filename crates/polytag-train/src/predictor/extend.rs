//! Prediction-time `extend_vocab`: words of the input that the trained vocabulary maps to UNK
//! but that an `embedding` component's vector file has get a row holding the file's vector,
//! as dev/test words did at training time (seed-systems A.6).
//!
//! The file is the one the run's `config.json` names (the path training resolved, `${VAR}`s
//! already expanded then), or a copy named by [`Predictor::set_vector_file`]. It is read
//! once per call, for the words of that call's sentences only (plus the trained vocabulary,
//! to check it): a multi-GB file costs one pass and `(vocabulary + new words) × dim` floats.
//!
//! A file that is missing, or not the file the run was trained with, is an error naming it
//! ([`Error::VectorFile`]), never a silent fallback: its vectors would be fed to a model
//! trained with others. The check compares what the run recorded at training
//! ([`polytag_data::FileRecord`]: the number of vectors and a digest of the vectors of the
//! trained vocabulary's words) with the file read now. Runs written before polytag kept the
//! record are read without the check. [`Predictor::disable_vocab_extension`] turns the whole
//! thing off (such words are then unknown, as without a file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polytag_config::{ComponentKind, Experiment};
use polytag_data::{embedding_options, extend_from_file, unknown_words, Sentence};
use polytag_model::component::Component;

use super::Predictor;
use crate::error::{Error, Result};

/// What one [`Predictor::extend_vocab`] call did for one component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VocabExtension {
    /// The component's name.
    pub component: String,
    /// The vector file read (none is read when `candidates` is 0).
    pub path: PathBuf,
    /// Distinct words of the input the vocabulary mapped to UNK.
    pub candidates: usize,
    /// Of those, the words the file has (exact → lowercase → digits→0), now in the
    /// vocabulary with the file's vector.
    pub added: usize,
}

/// The `embedding` components of `exp` trained with a `file` and `extend_vocab` on, with
/// that file.
pub(super) fn vector_files(exp: &Experiment) -> BTreeMap<usize, PathBuf> {
    exp.components
        .iter()
        .enumerate()
        .filter_map(|(c, component)| match &component.kind {
            ComponentKind::Embedding(spec) if spec.extend_vocab => {
                spec.file.clone().map(|f| (c, f))
            }
            _ => None,
        })
        .collect()
}

impl Predictor {
    /// `(component name, vector file)` of each `embedding` component whose vocabulary
    /// [`Predictor::extend_vocab`] extends.
    pub fn vector_files(&self) -> Vec<(&str, &Path)> {
        self.vector_files
            .iter()
            .map(|(&c, path)| (self.exp.components[c].name.as_str(), path.as_path()))
            .collect()
    }

    /// Reads component `name`'s vectors from `path` (a copy of the file moved since
    /// training) instead of the path the run recorded; the copy is checked like the original.
    ///
    /// # Errors
    /// [`Error::NoVectorFile`] when no such component extends its vocabulary from a file.
    pub fn set_vector_file(&mut self, name: &str, path: PathBuf) -> Result<()> {
        let found = self
            .vector_files
            .keys()
            .copied()
            .find(|&c| self.exp.components[c].name == name);
        match found {
            Some(c) => {
                self.vector_files.insert(c, path);
                Ok(())
            }
            None => {
                let known: Vec<&str> = self.vector_files().iter().map(|(n, _)| *n).collect();
                Err(Error::NoVectorFile {
                    name: name.to_string(),
                    known: if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    },
                })
            }
        }
    }

    /// Words outside the vocabulary stay unknown: no vector file is read.
    pub fn disable_vocab_extension(&mut self) {
        self.vector_files.clear();
    }

    /// Checks that every vector file [`Predictor::extend_vocab`] may read for task `task` is
    /// a readable file, so that a missing one is reported before any input is tagged.
    ///
    /// # Errors
    /// [`Error::VectorFile`] naming the first file that is not.
    pub fn check_vector_files(&self, task: usize) -> Result<()> {
        for (&c, path) in &self.vector_files {
            if !self.exp.tasks_using(c).contains(&task) {
                continue;
            }
            if let Err(e) = std::fs::File::open(path) {
                return Err(Error::VectorFile {
                    component: self.exp.components[c].name.clone(),
                    path: path.clone(),
                    problem: format!("cannot read the vector file the run was trained with: {e}"),
                    source: None,
                });
            }
        }
        Ok(())
    }

    /// Gives the words of `sentences` that task `task`'s word vocabularies map to UNK a row
    /// each, when the component's vector file has them (exact → lowercase → digits→0, the
    /// rule of training): the vocabulary grows by those words and the trained table by their
    /// vectors, taken from the file as they are, even for a table fine-tuned in training
    /// (`trainable: true`): the paper's rule for words training never saw, which is also what
    /// the run's own dev/test words got. Components without a file, with `extend_vocab` off,
    /// or after [`Predictor::disable_vocab_extension`] are left alone; a call whose sentences
    /// have no such word reads no file. Words added stay for later calls.
    ///
    /// # Errors
    /// [`Error::VectorFile`] for a file that cannot be read, does not parse, or is not the
    /// file the run was trained with (see the module documentation).
    pub fn extend_vocab(
        &mut self,
        task: usize,
        sentences: &[Sentence],
    ) -> Result<Vec<VocabExtension>> {
        let mut done = Vec::new();
        let components: Vec<(usize, PathBuf)> = self
            .vector_files
            .iter()
            .filter(|(&c, _)| self.exp.tasks_using(c).contains(&task))
            .map(|(&c, p)| (c, p.clone()))
            .collect();
        for (c, path) in components {
            done.push(self.extend_component(c, &path, sentences)?);
        }
        if done.iter().any(|d| d.added > 0) {
            self.tasks = super::all_task_vocabs(&self.exp, &self.vocabs)?;
        }
        Ok(done)
    }

    /// Test view: the id component `c`'s vocabulary gives `word` and that row of the table.
    #[cfg(test)]
    pub(crate) fn embedding_row(&self, c: usize, word: &str) -> Option<(u32, Vec<f32>)> {
        let id = self.vocabs.words.get(&c)?.id(word);
        let Some(Component::Embedding(table)) = self.model.components.get(c) else {
            return None;
        };
        let dim = table.dimension();
        let values: Vec<f32> = table.weight.val().try_to_vec_as().ok()?;
        let start = id as usize * dim;
        Some((id, values.get(start..start + dim)?.to_vec()))
    }

    /// Test view: rows of component `c`'s table.
    #[cfg(test)]
    pub(crate) fn embedding_rows(&self, c: usize) -> usize {
        match self.model.components.get(c) {
            Some(Component::Embedding(table)) => table.vocab_size(),
            _ => 0,
        }
    }

    fn extend_component(
        &mut self,
        c: usize,
        path: &Path,
        sentences: &[Sentence],
    ) -> Result<VocabExtension> {
        let name = self.exp.components[c].name.clone();
        let problem = |problem: String, source| Error::VectorFile {
            component: name.clone(),
            path: path.to_path_buf(),
            problem,
            source,
        };
        let (ComponentKind::Embedding(spec), Some(vocab)) =
            (&self.exp.components[c].kind, self.vocabs.words.get(&c))
        else {
            return Ok(VocabExtension {
                component: name,
                path: path.to_path_buf(),
                candidates: 0,
                added: 0,
            });
        };
        let candidates = unknown_words(
            vocab,
            sentences
                .iter()
                .flat_map(|s| s.tokens.iter().map(String::as_str)),
        );
        let mut report = VocabExtension {
            component: name.clone(),
            path: path.to_path_buf(),
            candidates: candidates.len(),
            added: 0,
        };
        if candidates.is_empty() {
            return Ok(report);
        }
        let base = vocab.len();
        let opts = embedding_options(spec, self.exp.seed);
        let extended = extend_from_file(path, vocab, &candidates, &opts, None).map_err(|e| {
            problem(
                "cannot read the vector file the run was trained with".into(),
                Some(Box::new(e)),
            )
        })?;
        if let Some(record) = self.vocabs.embedding_files.0.get(&c) {
            let vectors = extended.coverage.file_vectors;
            if vectors != record.vectors {
                return Err(problem(
                    format!(
                        "holds {vectors} vectors where the file the run was trained with held {}: \
                         not the same file",
                        record.vectors
                    ),
                    None,
                ));
            }
            // The trained rows only: words added by earlier calls are not in the record.
            if extended.table.file_rows_sha256(record.rows) != record.rows_sha256 {
                return Err(problem(
                    "its vectors for the trained vocabulary differ from those the run was \
                     trained with: not the same file"
                        .into(),
                    None,
                ));
            }
        } else {
            tracing::warn!(
                "component {name:?}: the run has no record of {} as it was in training \
                 (written by an older polytag); its vectors are used unchecked",
                path.display()
            );
        }
        report.added = extended.added;
        if extended.added == 0 {
            return Ok(report);
        }
        let rows = extended.table.data[base * extended.table.dim..].to_vec();
        let at = format!("components[{c}]");
        let Some(Component::Embedding(table)) = self.model.components.get_mut(c) else {
            return Err(problem(
                "the model holds no embedding table for the component".into(),
                None,
            ));
        };
        *table = table
            .clone()
            .append_rows(rows, &at)
            .map_err(|source| Error::Model {
                context: format!(
                    "component {name:?}: adding the rows of words from {}",
                    path.display()
                ),
                source: Box::new(source),
            })?;
        self.vocabs.words.insert(c, extended.vocab);
        tracing::info!(
            "component {name:?}: {} of {} words outside the vocabulary found in {} (extend_vocab)",
            extended.added,
            candidates.len(),
            path.display()
        );
        Ok(report)
    }
}
