//! CoNLL-U (Universal Dependencies) files, plain or gzip-compressed.
//!
//! Token = FORM (column 1), label = UPOS (column 3) or XPOS (column 4). Multi-word token
//! range lines (`3-4 del`) and empty nodes (`5.1`) are skipped, so the tokens are the
//! syntactic words that carry a tag: the counting convention of shared/datasets/README.md and
//! UD's own stats.xml. (The seed systems read these files as plain columns and kept the range
//! lines, which double-counts `del` = `de el`; seed-systems.md A.5.) `# newdoc` comments count
//! as documents; all `#` lines are skipped.

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::columns::{ColumnSplitter, Separator};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::lines::Lines;
use crate::sentence::{drain, Sentence, SentenceBuilder};

/// Column of the word form (0-based).
const FORM: usize = 1;
/// Column of the universal POS tag.
const UPOS: usize = 3;
/// Column of the language-specific POS tag.
const XPOS: usize = 4;

/// What to read from a CoNLL-U file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConlluOptions {
    /// Label = UPOS (true, the default) or XPOS (false; e.g. PTB tags in English EWT).
    pub upos: bool,
    /// Further columns (0-based, e.g. 2 = LEMMA, 5 = FEATS) kept as features.
    pub extra_cols: Vec<usize>,
}

impl Default for ConlluOptions {
    fn default() -> Self {
        Self {
            upos: true,
            extra_cols: Vec::new(),
        }
    }
}

/// Reads a CoNLL-U file from `reader`; `path` names it in messages and in the result.
pub fn read_conllu<R: BufRead>(reader: R, path: &Path, opts: &ConlluOptions) -> Result<Corpus> {
    let mut kept = Vec::new();
    let mut corpus = read_conllu_each(reader, path, opts, &mut |s| {
        kept.push(s);
        Ok(())
    })?;
    corpus.sentences = kept;
    Ok(corpus)
}

/// [`read_conllu`] one sentence at a time: each goes to `sink` as soon as it is read, and the
/// corpus returned holds the documents and warnings but no sentence (memory is bounded by
/// the longest sentence: `data stats` on a file of any size).
pub fn read_conllu_each<R: BufRead>(
    reader: R,
    path: &Path,
    opts: &ConlluOptions,
    sink: &mut dyn FnMut(Sentence) -> Result<()>,
) -> Result<Corpus> {
    let mut lines = Lines::new(reader, path);
    let mut corpus = Corpus::new(path);
    let mut builder = SentenceBuilder::new(opts.extra_cols.len());
    let mut splitter = ColumnSplitter::new(Separator::Tab);
    let (label_col, label_role) = if opts.upos {
        (UPOS, "UPOS")
    } else {
        (XPOS, "XPOS")
    };
    // The ID the next word line must have (word IDs count 1, 2, … within a sentence).
    let mut next_id = 1usize;
    while let Some((line_no, line)) = lines.next_line()? {
        if line.trim_matches([' ', '\t']).is_empty() {
            builder.finish(&mut corpus.sentences);
            drain(&mut corpus.sentences, sink)?;
            next_id = 1;
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim_start().starts_with("newdoc") {
                corpus.documents += 1;
            }
            continue;
        }
        splitter.split(line);
        splitter.check_count(path, line_no)?;
        let id = splitter.required(line, 0, || "ID".into(), path, line_no)?;
        let is_word = check_id(id, next_id).map_err(|expected| Error::ConlluId {
            path: path.to_path_buf(),
            line: line_no,
            id: id.to_string(),
            expected,
        })?;
        if !is_word {
            continue;
        }
        next_id += 1;
        let token = splitter.required(line, FORM, || "FORM".into(), path, line_no)?;
        let label = splitter.required(line, label_col, || label_role.into(), path, line_no)?;
        for (i, &col) in opts.extra_cols.iter().enumerate() {
            splitter.required(line, col, || format!("extra_cols[{i}]"), path, line_no)?;
        }
        let features = opts
            .extra_cols
            .iter()
            .map(|&col| splitter.field(line, col).unwrap_or_default());
        builder.push(line_no, token, label, features);
    }
    builder.finish(&mut corpus.sentences);
    drain(&mut corpus.sentences, sink)?;
    Ok(corpus)
}

/// Checks a CoNLL-U ID against the next expected word ID: `Ok(true)` for that word,
/// `Ok(false)` for a range starting at it (`3-4`) or an empty node after the previous word
/// (`2.1`), `Err(what was expected)` otherwise.
fn check_id(id: &str, next: usize) -> std::result::Result<bool, String> {
    let number = |s: &str| -> Option<usize> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let expected = || {
        format!(
            "word {next}, a range {next}-N or an empty node {}.N",
            next - 1
        )
    };
    if let Some((a, b)) = id.split_once('-') {
        return match (number(a), number(b)) {
            (Some(a), Some(b)) if a == next && b > a => Ok(false),
            _ => Err(expected()),
        };
    }
    if let Some((a, b)) = id.split_once('.') {
        return match (number(a), number(b)) {
            (Some(a), Some(b)) if a == next - 1 && b >= 1 => Ok(false),
            _ => Err(expected()),
        };
    }
    match number(id) {
        Some(n) if n == next => Ok(true),
        _ => Err(expected()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::io::{Cursor, Write};

    /// Two sentences: the first has a multi-word token (`del` = `de` + `el`) and an empty node.
    const UD: &str = "# newdoc id = d1\n# sent_id = 1\n# text = Vino del sur.\n\
1\tVino\tvenir\tVERB\tvmis3s0\t_\t0\troot\t_\t_\n\
2-3\tdel\t_\t_\t_\t_\t_\t_\t_\t_\n\
2\tde\tde\tADP\tspcms\t_\t4\tcase\t_\t_\n\
3\tel\tel\tDET\tda0ms0\t_\t4\tdet\t_\t_\n\
3.1\tsur\tsur\tNOUN\t_\t_\t_\t_\t_\t_\n\
4\tsur\tsur\tNOUN\tncms000\t_\t1\tobl\t_\t_\n\
5\t.\t.\tPUNCT\tfp\t_\t1\tpunct\t_\t_\n\
\n\
# sent_id = 2\n\
1\tSí\tsí\tINTJ\trn\t_\t0\troot\t_\t_\n";

    fn read(text: &str, opts: &ConlluOptions) -> Result<Corpus> {
        read_conllu(Cursor::new(text.as_bytes()), Path::new("dev.conllu"), opts)
    }

    #[test]
    fn ids_are_validated_with_their_line() {
        let line = |id: &str| format!("{id}\tw\tw\tNOUN\t_\t_\t0\troot\t_\t_\n");
        for (ids, bad_line) in [
            (vec!["1", "3"], 2),
            (vec!["0"], 1),
            (vec!["x"], 1),
            (vec!["1", "1"], 2),
            (vec!["1", "3-4"], 2),
            (vec!["1", "2-1"], 2),
            (vec!["1", "2.1"], 2),
            (vec!["1", "1.x"], 2),
        ] {
            let text: String = ids.iter().map(|id| line(id)).collect();
            match read(&text, &ConlluOptions::default()) {
                Err(Error::ConlluId { line, .. }) => assert_eq!(line, bad_line, "{ids:?}"),
                other => panic!("{ids:?}: {other:?}"),
            }
        }
        // IDs restart after a blank line; ranges and empty nodes in place are fine.
        let ok = format!(
            "{}{}\n{}{}{}",
            line("1"),
            line("2"),
            line("1-2"),
            line("1"),
            line("1.1")
        );
        let ok = format!("{ok}{}", line("2"));
        assert_eq!(read(&ok, &ConlluOptions::default()).unwrap().len(), 2);
    }

    #[test]
    fn skips_ranges_empty_nodes_and_comments() {
        let c = read(UD, &ConlluOptions::default()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.sentences[0].tokens, ["Vino", "de", "el", "sur", "."]);
        assert_eq!(
            c.sentences[0].labels,
            ["VERB", "ADP", "DET", "NOUN", "PUNCT"]
        );
        assert_eq!(c.sentences[0].line, 4);
        assert_eq!(c.sentences[1].tokens, ["Sí"]);
        assert_eq!(c.documents, 1);
        assert_eq!(c.num_tokens(), 6);
    }

    #[test]
    fn xpos_and_extra_columns() {
        let opts = ConlluOptions {
            upos: false,
            extra_cols: vec![3],
        };
        let c = read(UD, &opts).unwrap();
        assert_eq!(c.sentences[1].labels, ["rn"]);
        assert_eq!(c.sentences[1].features, vec![vec!["INTJ".to_string()]]);
    }

    #[test]
    fn short_line_is_a_column_error() {
        let err = read("1\tVino\tvenir\n", &ConlluOptions::default()).unwrap_err();
        assert!(
            matches!(&err, Error::TooFewColumns { line: 1, column: 3, found: 3, role, .. } if role == "UPOS")
        );
        let text = "1\tVino\tvenir\tVERB\n2\tx\n";
        let err = read(text, &ConlluOptions::default()).unwrap_err();
        assert!(matches!(
            err,
            Error::ColumnCount {
                line: 2,
                expected: 4,
                found: 2,
                ..
            }
        ));
    }

    #[test]
    fn reads_gzip_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev.conllu.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(UD.as_bytes()).unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let c = read_conllu(
            crate::lines::open(&path).unwrap(),
            &path,
            &ConlluOptions::default(),
        )
        .unwrap();
        assert_eq!(c.num_tokens(), 6);
    }
}
