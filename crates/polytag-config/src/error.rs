//! Everything that can be wrong with an experiment file, and the warnings that are not errors.
//!
//! Each error says where: a config path such as `tasks[1].model.crf` (the layer that resolves a
//! name knows the path, so it adds it, as ripgrep's flag parser adds the flag name), or
//! `file:line:column` for JSON syntax. Validation collects every problem it can find into one
//! [`ConfigErrors`] so a user fixes a config in one round instead of one error per run.

use std::fmt;
use std::path::PathBuf;

use crate::component::Kind;

/// One problem found while reading, overriding or resolving an experiment file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read {}: {error}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The text is not valid JSON, or one object names the same key twice (serde_json would
    /// silently keep the last one, hiding a mistake).
    #[error("{file}:{line}:{column}: invalid JSON: {message}")]
    Syntax {
        /// The file as given (or `<string>` for text that came from no file).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the JSON parser expected.
        message: String,
    },
    /// A key that the schema does not have at this place.
    #[error("{path}: unknown key; {}", hint(.suggestion, .known))]
    UnknownKey {
        /// Config path of the key, e.g. `datasets[0].parser.token_colum`.
        path: String,
        /// The closest known key, when one is close enough to be a typo.
        suggestion: Option<String>,
        /// All keys allowed here.
        known: Vec<String>,
    },
    /// A kind tag (`model` of a component or task) that does not exist.
    #[error("{path}: unknown {what} \"{found}\"; {}", hint(.suggestion, .known))]
    UnknownKind {
        /// Config path of the tag, e.g. `components[3].model`.
        path: String,
        /// What was being named: `component kind`, `task model`.
        what: &'static str,
        /// The value as written.
        found: String,
        /// The closest known value, if close enough.
        suggestion: Option<String>,
        /// All values allowed here.
        known: Vec<String>,
    },
    /// A value of the wrong JSON type or a missing required key (serde's message).
    #[error("{path}: {message}")]
    Type {
        /// Config path of the value (of the enclosing object for a missing key).
        path: String,
        /// What was expected and found.
        message: String,
    },
    /// Two datasets, components or tasks with the same name.
    #[error("{path}: duplicate {what} name \"{name}\" (first at {first})")]
    Duplicate {
        /// Config path of the second `name`.
        path: String,
        /// `dataset`, `component` or `task`.
        what: &'static str,
        /// The repeated name.
        name: String,
        /// Config path of the first element with that name.
        first: String,
    },
    /// A reference to a dataset or component that does not exist.
    #[error("{path}: no {what} named \"{name}\"; known: {}", list(.known))]
    NotFound {
        /// Config path of the reference.
        path: String,
        /// `dataset` or `component`.
        what: &'static str,
        /// The name as written.
        name: String,
        /// The names that would fit here (components of the right kind only).
        known: Vec<String>,
    },
    /// A reference to a component of a kind that cannot fill this slot.
    #[error("{path}: component \"{name}\" is a {found}, expected {}", kinds(.expected))]
    WrongKind {
        /// Config path of the reference.
        path: String,
        /// The component named.
        name: String,
        /// Its kind.
        found: Kind,
        /// The kinds this slot takes.
        expected: Vec<Kind>,
    },
    /// A task whose language or task type differs from its dataset's.
    #[error("{path}: \"{found}\" does not match dataset \"{dataset}\" ({field} \"{expected}\")")]
    DatasetMismatch {
        /// Config path, `tasks[0].language` or `tasks[0].task`.
        path: String,
        /// `language` or `task`.
        field: &'static str,
        /// The task's value.
        found: String,
        /// The dataset named by the task.
        dataset: String,
        /// The dataset's value.
        expected: String,
    },
    /// More than one task says `"ref": true`.
    #[error("tasks: {} tasks have \"ref\": true ({}); exactly one task is the target", .tasks.len(), .tasks.join(", "))]
    ManyRefs {
        /// Config paths of those tasks.
        tasks: Vec<String>,
    },
    /// `${VAR}` or `$VAR` in a path names a variable that is not set (or is empty).
    #[error("{path}: environment variable {var} is not set")]
    EnvVar {
        /// Config path of the path value.
        path: String,
        /// The variable.
        var: String,
    },
    /// A data, embedding or model file that does not exist.
    #[error("{path}: not found: {}", .file.display())]
    MissingFile {
        /// Config path, e.g. `datasets[0].files.train`.
        path: String,
        /// The absolute path that was looked for.
        file: PathBuf,
    },
    /// A number outside its allowed range.
    #[error("{path}: expected {expected}, found {found}")]
    OutOfRange {
        /// Config path of the value.
        path: String,
        /// The value as a number.
        found: f64,
        /// The allowed range, in words: `a fraction in (0, 1]`.
        expected: &'static str,
    },
    /// A component that receives inputs of different widths from different tasks: one set of
    /// parameters cannot take both (seed-systems A.4 step 5 infers these widths; the paper
    /// silently used the widest).
    #[error("{path}: component \"{name}\" gets input width {found} here but {expected} in task \"{other_task}\"")]
    Width {
        /// Config path of the reference in the task that disagrees.
        path: String,
        /// The shared component.
        name: String,
        /// Width in this task.
        found: usize,
        /// Width in the first task that used it.
        expected: usize,
        /// That first task.
        other_task: String,
    },
    /// A component shared across languages or task types where its parameters depend on one
    /// vocabulary (word embeddings: one language; output layers and decoders: one label set).
    #[error("{path}: component \"{name}\" is shared by tasks of different {what}s (\"{first}\" in task \"{first_task}\", \"{second}\" here); {}", .what.reason())]
    SharedAcross {
        /// Config path of the reference in the second task.
        path: String,
        /// The component.
        name: String,
        /// Language or task type.
        what: Shared,
        /// Value in the first task that used it.
        first: String,
        /// That first task.
        first_task: String,
        /// Value in this task.
        second: String,
    },
    /// Any other inconsistency, with the reason in words.
    #[error("{path}: {reason}")]
    Invalid {
        /// Config path of the offending value.
        path: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A `--set PATH=VALUE` override that cannot be applied.
    #[error("--set {text}: {problem}")]
    Override {
        /// The override as given.
        text: String,
        /// Why it cannot be applied.
        problem: OverrideProblem,
    },
}

impl ConfigError {
    /// The config path this error is about, when it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { path, .. }
            | ConfigError::UnknownKind { path, .. }
            | ConfigError::Type { path, .. }
            | ConfigError::Duplicate { path, .. }
            | ConfigError::NotFound { path, .. }
            | ConfigError::WrongKind { path, .. }
            | ConfigError::DatasetMismatch { path, .. }
            | ConfigError::EnvVar { path, .. }
            | ConfigError::MissingFile { path, .. }
            | ConfigError::OutOfRange { path, .. }
            | ConfigError::Width { path, .. }
            | ConfigError::SharedAcross { path, .. }
            | ConfigError::Invalid { path, .. } => Some(path),
            ConfigError::ManyRefs { .. } => Some("tasks"),
            ConfigError::Read { .. }
            | ConfigError::Syntax { .. }
            | ConfigError::Override { .. } => None,
        }
    }

    /// True for [`ConfigError::MissingFile`]: `polytag validate` on a config whose only problem
    /// is absent data (the paper's example with its `/PATH/TO` placeholders) lists these apart.
    pub fn is_missing_file(&self) -> bool {
        matches!(self, ConfigError::MissingFile { .. })
    }
}

/// Why a `--set` override cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideProblem {
    /// No `=` between path and value.
    #[error("expected PATH=VALUE")]
    NoEquals,
    /// An empty path or an empty segment (`training..max_step`).
    #[error("empty path segment")]
    EmptySegment,
    /// A `"` that is never closed.
    #[error("unterminated quote in the path")]
    UnterminatedQuote,
    /// A list index past the end.
    #[error("{at} has {len} elements, no index {index}")]
    IndexOutOfRange {
        /// The list's path.
        at: String,
        /// The index asked for.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// No element of a list has this `name`.
    #[error("{at} has no element named \"{name}\"; known: {}", list(.known))]
    NoElementNamed {
        /// The list's path.
        at: String,
        /// The segment.
        name: String,
        /// The names of its elements.
        known: Vec<String>,
    },
    /// The path goes through a number, string, boolean or null.
    #[error("{at} is a {found}, not an object or a list")]
    NotContainer {
        /// Path of the scalar.
        at: String,
        /// Its JSON type.
        found: &'static str,
    },
}

/// What a shared component must not be shared across.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shared {
    /// Word embeddings hold one language's vocabulary (seed-systems A.3).
    Language,
    /// Output layers and decoders are sized by one task type's label set.
    TaskType,
}

impl Shared {
    fn reason(self) -> &'static str {
        match self {
            Shared::Language => "a word embedding holds the vocabulary of one language",
            Shared::TaskType => "its size is the label set of one task type",
        }
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shared::Language => "language",
            Shared::TaskType => "task type",
        })
    }
}

/// Something worth telling the user that does not stop the run; returned, never printed
/// (only the CLI prints).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigWarning {
    /// No task has `"ref": true`, so the first task selects the best checkpoint.
    #[error("tasks: no task has \"ref\": true; the first task \"{task}\" is the target")]
    NoRefTask {
        /// The task chosen.
        task: String,
    },
    /// A component that no task names (it would be built and never trained).
    #[error("{path}: component \"{name}\" is not used by any task")]
    UnusedComponent {
        /// `components[i]`.
        path: String,
        /// Its name.
        name: String,
    },
    /// A dataset that no task names (it would be read for nothing).
    #[error("{path}: dataset \"{name}\" is not used by any task")]
    UnusedDataset {
        /// `datasets[i]`.
        path: String,
        /// Its name.
        name: String,
    },
}

/// Every problem found in one step, in the order found; displays one per line.
///
/// polytag collects problems instead of stopping at the first (a user fixes a config or a
/// corpus in one round): config resolution ([`ConfigErrors`]), data loading and the model
/// builder all return this one type over their own error enum.
#[derive(Debug)]
pub struct Errors<E>(pub Vec<E>);

/// Every problem found in one experiment file, in file order.
pub type ConfigErrors = Errors<ConfigError>;

impl<E> Default for Errors<E> {
    fn default() -> Self {
        Errors(Vec::new())
    }
}

impl<E> Errors<E> {
    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, E> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when `errors` is empty, else the errors.
    pub fn check<T>(errors: Vec<E>, value: T) -> Result<T, Errors<E>> {
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(Errors(errors))
        }
    }
}

impl ConfigErrors {
    /// True when every error is a missing file: the config itself is sound.
    pub fn only_missing_files(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(ConfigError::is_missing_file)
    }
}

impl<E: fmt::Display> fmt::Display for Errors<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for Errors<E> {}

impl<E> From<E> for Errors<E> {
    fn from(error: E) -> Self {
        Errors(vec![error])
    }
}

impl<E> IntoIterator for Errors<E> {
    type Item = E;
    type IntoIter = std::vec::IntoIter<E>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, E> IntoIterator for &'a Errors<E> {
    type Item = &'a E;
    type IntoIter = std::slice::Iter<'a, E>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// `did you mean "x"?` or `expected one of: a, b`.
fn hint(suggestion: &Option<String>, known: &[String]) -> String {
    match suggestion {
        Some(s) => format!("did you mean \"{s}\"?"),
        None => format!("expected one of: {}", list(known)),
    }
}

/// A comma-separated list, `(none)` when empty.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "(none)".to_string();
    }
    items.join(", ")
}

/// `crf`, `crf or softmax`, `lstm, gru or rnn`.
fn kinds(kinds: &[Kind]) -> String {
    Kind::list(kinds)
}
