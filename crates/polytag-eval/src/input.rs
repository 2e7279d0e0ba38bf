//! Reading conlleval's input: one `token … gold predicted` line per token.
//!
//! As conlleval.pl reads it: the last two columns are the gold and the predicted tag, any
//! number of columns may precede them, all lines carry the same number of columns, a blank
//! line ends a sentence, and a line whose first column is `-X-` is a boundary too. Beyond the
//! script: columns are split on any whitespace (the script splits on single spaces, so tabs
//! or double spaces would break it), a `\r` before the newline is ignored, and `-DOCSTART-`
//! lines are document separators, not tokens (the datasets README's convention; the script
//! would count them as tokens). Boundary lines are exempt from the column-count check.

use std::io::BufRead;

use crate::error::{Error, Result};

/// One sentence of gold and predicted tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedSentence {
    /// 1-based line number of its first token.
    pub first_line: usize,
    /// Gold tags (the second-to-last column).
    pub gold: Vec<String>,
    /// Predicted tags (the last column).
    pub pred: Vec<String>,
}

/// The whole input, as sentences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Sentences in file order; never empty ones.
    pub sentences: Vec<TaggedSentence>,
    /// Whether a boundary line follows the last token line. conlleval.pl's last step then
    /// is a boundary, which can matter for its final chunk in odd inputs (see
    /// [`crate::conlleval`]); kept so that the port sees what the script saw.
    pub ends_with_boundary: bool,
}

impl Columns {
    /// Gold tags per sentence.
    pub fn gold(&self) -> Vec<&[String]> {
        self.sentences.iter().map(|s| s.gold.as_slice()).collect()
    }

    /// Predicted tags per sentence.
    pub fn pred(&self) -> Vec<&[String]> {
        self.sentences.iter().map(|s| s.pred.as_slice()).collect()
    }

    /// Number of token lines.
    pub fn tokens(&self) -> usize {
        self.sentences.iter().map(|s| s.gold.len()).sum()
    }
}

/// Whether a line with these columns separates sentences rather than holding a token.
fn is_boundary(first: Option<&str>) -> bool {
    matches!(first, None | Some("-X-") | Some("-DOCSTART-"))
}

/// Reads `reader` to the end; `name` (a path or `<stdin>`) is used in error messages.
pub fn read_columns<R: BufRead>(reader: R, name: &str) -> Result<Columns> {
    let mut sentences = SentenceReader::new(reader, name);
    let mut out = Columns::default();
    while let Some(s) = sentences.next_sentence()? {
        out.sentences.push(s);
    }
    out.ends_with_boundary = sentences.ends_with_boundary();
    Ok(out)
}

/// The input one sentence at a time ([`read_columns`] without holding the file: memory is
/// bounded by the longest sentence).
pub struct SentenceReader<R> {
    reader: R,
    name: String,
    buf: Vec<u8>,
    line_no: usize,
    expected: Option<(usize, usize)>, // (columns, line that fixed it)
    ends_with_boundary: bool,
    done: bool,
}

impl<R: BufRead> SentenceReader<R> {
    /// Reads from `reader`; `name` (a path or `<stdin>`) is used in error messages.
    pub fn new(reader: R, name: &str) -> Self {
        SentenceReader {
            reader,
            name: name.to_string(),
            buf: Vec::new(),
            line_no: 0,
            expected: None,
            ends_with_boundary: false,
            done: false,
        }
    }

    /// Whether a boundary line followed the last token line read so far (see
    /// [`Columns::ends_with_boundary`]).
    pub fn ends_with_boundary(&self) -> bool {
        self.ends_with_boundary
    }

    /// The next sentence, `None` at the end of the input.
    pub fn next_sentence(&mut self) -> Result<Option<TaggedSentence>> {
        let mut current: Option<TaggedSentence> = None;
        while !self.done {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| Error::Read {
                    name: self.name.clone(),
                    source,
                })?;
            if n == 0 {
                self.done = true;
                break;
            }
            self.line_no += 1;
            let line_no = self.line_no;
            let line = std::str::from_utf8(&self.buf).map_err(|_| Error::Utf8 {
                name: self.name.clone(),
                line: line_no,
            })?;
            let mut fields = line.split_whitespace();
            let first = fields.clone().next();
            if is_boundary(first) {
                self.ends_with_boundary = true;
                if current.is_some() {
                    return Ok(current);
                }
                continue;
            }
            let count = fields.clone().count();
            if count < 2 {
                return Err(Error::TooFewColumns {
                    name: self.name.clone(),
                    line: line_no,
                    found: count,
                });
            }
            match self.expected {
                None => self.expected = Some((count, line_no)),
                Some((columns, first_line)) if columns != count => {
                    return Err(Error::Columns {
                        name: self.name.clone(),
                        line: line_no,
                        expected: columns,
                        first_line,
                        found: count,
                    });
                }
                Some(_) => {}
            }
            // count >= 2 was checked above, so both tags exist.
            let (Some(pred), Some(gold)) = (fields.next_back(), fields.next_back()) else {
                continue;
            };
            let sentence = current.get_or_insert_with(|| TaggedSentence {
                first_line: line_no,
                gold: Vec::new(),
                pred: Vec::new(),
            });
            sentence.gold.push(gold.to_string());
            sentence.pred.push(pred.to_string());
            self.ends_with_boundary = false;
        }
        Ok(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read(s: &[u8]) -> Result<Columns> {
        read_columns(Cursor::new(s), "t.txt")
    }

    #[test]
    fn sentences_boundaries_and_docstart() {
        let c = read(
            b"-DOCSTART- -X- O O\n\nEU NNP B-ORG B-ORG\nrejects VBZ O O\n\n\n\
              -X- x O O\nGerman JJ B-MISC O\r\n",
        )
        .unwrap();
        assert_eq!(c.sentences.len(), 2);
        assert_eq!(c.sentences[0].first_line, 3);
        assert_eq!(c.sentences[0].gold, vec!["B-ORG", "O"]);
        assert_eq!(c.sentences[1].pred, vec!["O"]);
        assert_eq!(c.sentences[1].first_line, 8);
        assert!(!c.ends_with_boundary);
        assert_eq!(c.tokens(), 3);
        let c = read(b"a O O\n\n").unwrap();
        assert!(c.ends_with_boundary);
        // No final newline, tabs and multiple spaces.
        let c = read(b"a\tB-X  B-X").unwrap();
        assert_eq!(c.sentences[0].gold, vec!["B-X"]);
        // Two columns (no token) are enough.
        let c = read(b"B-X O\n").unwrap();
        assert_eq!(c.sentences[0].pred, vec!["O"]);
    }

    #[test]
    fn too_few_columns_names_the_line() {
        let err = read(b"a O O\nb\n").unwrap_err();
        assert!(matches!(
            err,
            Error::TooFewColumns {
                line: 2,
                found: 1,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "t.txt:2: expected at least 2 columns (… gold predicted), found 1"
        );
    }

    #[test]
    fn inconsistent_columns_name_both_lines() {
        let err = read(b"\na x O O\n\nb O O\n").unwrap_err();
        assert!(matches!(
            err,
            Error::Columns {
                line: 4,
                expected: 4,
                first_line: 2,
                found: 3,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "t.txt:4: expected 4 columns as on line 2, found 3"
        );
    }

    #[test]
    fn non_utf8_names_the_line() {
        let err = read(b"a O O\nb\xff O O\n").unwrap_err();
        assert!(matches!(err, Error::Utf8 { line: 2, .. }));
        assert_eq!(err.to_string(), "t.txt:2: not valid UTF-8");
    }

    #[test]
    fn empty_input_has_no_sentence() {
        let c = read(b"").unwrap();
        assert!(c.sentences.is_empty());
        let c = read(b"\n \n").unwrap();
        assert!(c.sentences.is_empty());
    }
}
