//! [`Sentence`]: one labelled sentence, what every reader produces whatever the file format.

use serde::{Deserialize, Serialize};

/// One labelled sentence as read from a file: strings only; ids come later ([`crate::encode`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentence {
    /// The tokens (word forms), in order.
    pub tokens: Vec<String>,
    /// One label per token (NER tag, POS tag, ...), as written in the file.
    pub labels: Vec<String>,
    /// One entry per requested extra column (`extra_cols`), each with one value per token.
    pub features: Vec<Vec<String>>,
    /// 1-based line of the first token in the file, for messages that point back at the data.
    pub line: usize,
}

impl Sentence {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True for a sentence without tokens (readers never produce one; built by hand it is
    /// accepted by batching as a length-0 row).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Accumulates the tokens of the sentence being read; shared by the column readers so that
/// CoNLL and CoNLL-U end sentences the same way.
pub(crate) struct SentenceBuilder {
    current: Sentence,
    num_features: usize,
}

impl SentenceBuilder {
    /// A builder for sentences with `num_features` extra columns.
    pub(crate) fn new(num_features: usize) -> Self {
        Self {
            current: Self::blank(num_features),
            num_features,
        }
    }

    fn blank(num_features: usize) -> Sentence {
        Sentence {
            tokens: Vec::new(),
            labels: Vec::new(),
            features: vec![Vec::new(); num_features],
            line: 0,
        }
    }

    /// True while no token has been pushed since the last boundary.
    pub(crate) fn at_start(&self) -> bool {
        self.current.tokens.is_empty()
    }

    /// Adds one token; `features` yields exactly `num_features` values.
    pub(crate) fn push<'a>(
        &mut self,
        line: usize,
        token: &str,
        label: &str,
        features: impl Iterator<Item = &'a str>,
    ) {
        if self.current.tokens.is_empty() {
            self.current.line = line;
        }
        self.current.tokens.push(token.to_string());
        self.current.labels.push(label.to_string());
        for (column, value) in self.current.features.iter_mut().zip(features) {
            column.push(value.to_string());
        }
    }

    /// Ends the current sentence (if it has tokens) and appends it to `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<Sentence>) {
        if !self.current.tokens.is_empty() {
            let done = std::mem::replace(&mut self.current, Self::blank(self.num_features));
            out.push(done);
        }
    }
}

/// Hands every sentence of `done` to `sink`, leaving `done` empty (the streaming readers'
/// staging buffer).
pub(crate) fn drain(
    done: &mut Vec<Sentence>,
    sink: &mut dyn FnMut(Sentence) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    for sentence in done.drain(..) {
        sink(sentence)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_skips_empty_and_records_first_line() {
        let mut out = Vec::new();
        let mut b = SentenceBuilder::new(1);
        b.finish(&mut out);
        assert!(out.is_empty());
        b.push(7, "a", "O", ["x"].into_iter());
        b.push(8, "b", "B-PER", ["y"].into_iter());
        assert!(!b.at_start());
        b.finish(&mut out);
        assert!(b.at_start());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line, 7);
        assert_eq!(
            out[0].features,
            vec![vec!["x".to_string(), "y".to_string()]]
        );
    }
}
