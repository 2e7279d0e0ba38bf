//! Splitting a token line into columns: the one splitter CoNLL and CoNLL-U share.
//!
//! The splitter also enforces that every token line of a file has the same number of columns
//! as the first one, which catches a stray space inside a token or a missing label column at
//! the line where it happens instead of as a wrong label much later.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How columns are separated on a token line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Separator {
    /// Any run of spaces and tabs (the default; works for every corpus in shared/datasets).
    ///
    /// Only ASCII space and tab separate: a token containing a no-break space stays one token.
    #[default]
    Whitespace,
    /// Exactly one tab between columns (the paper's parser; GermEval, CoNLL-U).
    Tab,
    /// Exactly one space between columns.
    Space,
}

/// Which columns of a CoNLL-style file hold what, all 0-based as in the experiment file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnOptions {
    /// Column of the token (word form).
    pub token_col: usize,
    /// Column of the label.
    pub label_col: usize,
    /// How columns are separated.
    pub separator: Separator,
    /// Further columns to keep as features (e.g. a POS column fed to a `feature_embedding`).
    pub extra_cols: Vec<usize>,
    /// Skip sentence-initial lines that start with `#` followed by whitespace or nothing
    /// (`# sent_id = 1`, GermEval's `#<TAB>url`). On by default; turn it off for a file whose
    /// sentences may start with the token `#`.
    pub comments: bool,
}

impl Default for ColumnOptions {
    /// Token in column 0, label in column 1, any whitespace, comments skipped.
    fn default() -> Self {
        Self {
            token_col: 0,
            label_col: 1,
            separator: Separator::Whitespace,
            extra_cols: Vec::new(),
            comments: true,
        }
    }
}

/// Splits lines into column byte ranges, reusing one buffer, and checks column counts.
pub(crate) struct ColumnSplitter {
    separator: Separator,
    spans: Vec<(usize, usize)>,
    /// (column count, line) of the first token line.
    first: Option<(usize, usize)>,
}

impl ColumnSplitter {
    /// A splitter for `separator`.
    pub(crate) fn new(separator: Separator) -> Self {
        Self {
            separator,
            spans: Vec::with_capacity(16),
            first: None,
        }
    }

    /// Splits `line` and returns the number of columns.
    ///
    /// Trailing whitespace is ignored for every separator, so a line that ends in a tab
    /// (GermEval test.tsv line 19728 has an empty fifth field) has the same columns as its
    /// neighbours instead of an extra empty one.
    pub(crate) fn split(&mut self, line: &str) -> usize {
        self.spans.clear();
        let line = line.trim_end_matches([' ', '\t']);
        let bytes = line.as_bytes();
        match self.separator {
            Separator::Whitespace => {
                let mut start = None;
                for (i, &b) in bytes.iter().enumerate() {
                    let is_sep = b == b' ' || b == b'\t';
                    match (start, is_sep) {
                        (None, false) => start = Some(i),
                        (Some(s), true) => {
                            self.spans.push((s, i));
                            start = None;
                        }
                        _ => {}
                    }
                }
                if let Some(s) = start {
                    self.spans.push((s, bytes.len()));
                }
            }
            Separator::Tab | Separator::Space => {
                let sep = if self.separator == Separator::Tab {
                    b'\t'
                } else {
                    b' '
                };
                if !bytes.is_empty() {
                    let mut start = 0;
                    for (i, &b) in bytes.iter().enumerate() {
                        if b == sep {
                            self.spans.push((start, i));
                            start = i + 1;
                        }
                    }
                    self.spans.push((start, bytes.len()));
                }
            }
        }
        self.spans.len()
    }

    /// Column `i` of `line` (the same line last passed to [`split`](Self::split)).
    pub(crate) fn field<'a>(&self, line: &'a str, i: usize) -> Option<&'a str> {
        let &(start, end) = self.spans.get(i)?;
        line.get(start..end)
    }

    /// Checks the column count of the last split line against the file's first token line
    /// (remembering it if this is the first).
    pub(crate) fn check_count(&mut self, path: &Path, line: usize) -> Result<()> {
        let found = self.spans.len();
        match self.first {
            None => {
                self.first = Some((found, line));
                Ok(())
            }
            Some((expected, _)) if expected == found => Ok(()),
            Some((expected, first_line)) => Err(Error::ColumnCount {
                path: path.to_path_buf(),
                line,
                expected,
                first_line,
                found,
            }),
        }
    }

    /// Column `column` of `line`, non-empty, or the error that names `role`.
    pub(crate) fn required<'a>(
        &self,
        line: &'a str,
        column: usize,
        role: impl FnOnce() -> String,
        path: &Path,
        line_no: usize,
    ) -> Result<&'a str> {
        match self.field(line, column) {
            Some("") => Err(Error::EmptyField {
                path: path.to_path_buf(),
                line: line_no,
                column,
            }),
            Some(value) => Ok(value),
            None => Err(Error::TooFewColumns {
                path: path.to_path_buf(),
                line: line_no,
                role: role(),
                column,
                found: self.spans.len(),
            }),
        }
    }
}

/// True for a comment line in the sense of [`ColumnOptions::comments`]: `#` followed by a
/// space, a tab or the end of the line. `#hashtag` stays a token.
pub(crate) fn is_comment(line: &str) -> bool {
    let mut bytes = line.bytes();
    bytes.next() == Some(b'#') && matches!(bytes.next(), None | Some(b' ') | Some(b'\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(sep: Separator, line: &str) -> Vec<String> {
        let mut s = ColumnSplitter::new(sep);
        let n = s.split(line);
        (0..n)
            .map(|i| s.field(line, i).unwrap().to_string())
            .collect()
    }

    #[test]
    fn whitespace_collapses_runs_and_mixed_separators() {
        assert_eq!(
            fields(Separator::Whitespace, "EU \t NNP  B-ORG"),
            ["EU", "NNP", "B-ORG"]
        );
        assert_eq!(fields(Separator::Whitespace, "  lead"), ["lead"]);
    }

    #[test]
    fn whitespace_keeps_no_break_space_inside_token() {
        assert_eq!(
            fields(Separator::Whitespace, "10\u{a0}000 NUM"),
            ["10\u{a0}000", "NUM"]
        );
    }

    #[test]
    fn tab_keeps_spaces_and_empty_inner_fields() {
        assert_eq!(
            fields(Separator::Tab, "New York\t\tB-LOC"),
            ["New York", "", "B-LOC"]
        );
    }

    #[test]
    fn trailing_tab_adds_no_column() {
        // GermEval test.tsv line 19728: "index token outer inner" plus a trailing tab.
        assert_eq!(fields(Separator::Tab, "3\tx\tO\tO\t").len(), 4);
        assert_eq!(fields(Separator::Whitespace, "3\tx\tO\tO\t").len(), 4);
        assert_eq!(fields(Separator::Space, "a b ").len(), 2);
    }

    #[test]
    fn column_count_must_match_first_token_line() {
        let p = Path::new("f.tsv");
        let mut s = ColumnSplitter::new(Separator::Tab);
        s.split("a\tb\tc");
        s.check_count(p, 4).unwrap();
        s.split("a\tb");
        let err = s.check_count(p, 9).unwrap_err();
        assert!(matches!(
            err,
            Error::ColumnCount {
                line: 9,
                expected: 3,
                first_line: 4,
                found: 2,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "f.tsv:9: expected 3 columns as on line 4, found 2"
        );
    }

    #[test]
    fn required_names_role_and_column() {
        let p = Path::new("train.conll");
        let mut s = ColumnSplitter::new(Separator::Whitespace);
        let line = "EU NNP";
        s.split(line);
        let err = s
            .required(line, 3, || "label_col".into(), p, 152)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "train.conll:152: expected at least 4 columns, found 2 (label_col is column 3, counting from 0)"
        );
        let line = "EU\t\tO";
        let mut s = ColumnSplitter::new(Separator::Tab);
        s.split(line);
        let err = s
            .required(line, 1, || "token_col".into(), p, 3)
            .unwrap_err();
        assert!(matches!(
            err,
            Error::EmptyField {
                line: 3,
                column: 1,
                ..
            }
        ));
    }

    #[test]
    fn comment_detection() {
        assert!(is_comment("# sent_id = 1"));
        assert!(is_comment("#\thttp://x\t[2010]"));
        assert!(is_comment("#"));
        assert!(!is_comment("#hashtag NN O"));
        assert!(!is_comment("a # b"));
    }
}
