//! CoNLL column files: one token per line, columns chosen by [`ColumnOptions`], sentences
//! separated by blank lines.
//!
//! Quirks handled (all seen in shared/datasets, see its README "Loader notes"):
//! - `-DOCSTART-` lines mark documents: counted in [`Corpus::documents`], never a token or a
//!   sentence, and they end the sentence before them (CoNLL-2002/2003).
//! - Runs of blank lines are one boundary (ner-uk separates documents by up to 11).
//! - Sentence-initial `# ...` lines are comments (GermEval), see [`ColumnOptions::comments`].
//! - CRLF endings, a missing final newline, a trailing tab (via the private `lines` module and the
//!   shared column splitter).
//!
//! The seed systems also mapped `B-O`/`I-O` to `O` (seed-systems.md A.5); polytag does not
//! rewrite labels silently: scheme validation reports such tags instead.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::columns::{is_comment, ColumnOptions, ColumnSplitter};
use crate::corpus::Corpus;
use crate::error::Result;
use crate::lines::Lines;
use crate::sentence::{drain, Sentence, SentenceBuilder};

/// The document marker of the CoNLL shared tasks.
const DOCSTART: &str = "-DOCSTART-";

/// Reads a CoNLL column file from `reader`; `path` names it in messages and in the result.
///
/// Streams line by line; memory is the sentences kept, time is linear in the file size.
pub fn read_conll<R: BufRead>(reader: R, path: &Path, opts: &ColumnOptions) -> Result<Corpus> {
    let mut kept = Vec::new();
    let mut corpus = read_conll_each(reader, path, opts, &mut |s| {
        kept.push(s);
        Ok(())
    })?;
    corpus.sentences = kept;
    Ok(corpus)
}

/// [`read_conll`] one sentence at a time: each goes to `sink` as soon as it is read, and the
/// corpus returned holds the documents and warnings but no sentence (memory is bounded by
/// the longest sentence: `data stats` on a file of any size).
pub fn read_conll_each<R: BufRead>(
    reader: R,
    path: &Path,
    opts: &ColumnOptions,
    sink: &mut dyn FnMut(Sentence) -> Result<()>,
) -> Result<Corpus> {
    let mut lines = Lines::new(reader, path);
    let mut corpus = Corpus::new(path);
    let mut builder = SentenceBuilder::new(opts.extra_cols.len());
    let mut splitter = ColumnSplitter::new(opts.separator);
    while let Some((line_no, line)) = lines.next_line()? {
        if line.trim_matches([' ', '\t']).is_empty() {
            builder.finish(&mut corpus.sentences);
            drain(&mut corpus.sentences, sink)?;
            continue;
        }
        if is_docstart(line) {
            builder.finish(&mut corpus.sentences);
            drain(&mut corpus.sentences, sink)?;
            corpus.documents += 1;
            continue;
        }
        if opts.comments && builder.at_start() && is_comment(line) {
            continue;
        }
        splitter.split(line);
        splitter.check_count(path, line_no)?;
        let token =
            splitter.required(line, opts.token_col, || "token_col".into(), path, line_no)?;
        let label =
            splitter.required(line, opts.label_col, || "label_col".into(), path, line_no)?;
        // Check every extra column before pushing anything, so an error leaves no half token.
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

/// True for a `-DOCSTART-` line, whatever follows it (`-X- O O`, `-DOCSTART- O`, nothing).
fn is_docstart(line: &str) -> bool {
    line.strip_prefix(DOCSTART)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Writes sentences as CoNLL columns: token, then the features, then the label, joined by
/// `separator`, one blank line after each sentence.
///
/// Reading the result with `token_col: 0`, `extra_cols: [1, ..]`, `label_col: last` gives the
/// sentences back (line numbers aside). `polytag data convert|sample` writes through this.
pub fn write_conll<W: Write>(
    mut out: W,
    sentences: &[Sentence],
    separator: char,
) -> std::io::Result<()> {
    let mut sep_buf = [0u8; 4];
    let sep = separator.encode_utf8(&mut sep_buf).as_bytes();
    for sentence in sentences {
        for (i, (token, label)) in sentence.tokens.iter().zip(&sentence.labels).enumerate() {
            out.write_all(token.as_bytes())?;
            for column in &sentence.features {
                out.write_all(sep)?;
                out.write_all(column.get(i).map_or("_", String::as_str).as_bytes())?;
            }
            out.write_all(sep)?;
            out.write_all(label.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::Separator;
    use crate::error::Error;
    use std::io::Cursor;

    fn read(text: &str, opts: &ColumnOptions) -> Result<Corpus> {
        read_conll(Cursor::new(text.as_bytes()), Path::new("train.conll"), opts)
    }

    fn ner_opts() -> ColumnOptions {
        ColumnOptions {
            token_col: 0,
            label_col: 3,
            ..ColumnOptions::default()
        }
    }

    fn tokens(c: &Corpus) -> Vec<Vec<&str>> {
        c.sentences
            .iter()
            .map(|s| s.tokens.iter().map(String::as_str).collect())
            .collect()
    }

    const CONLL03: &str = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n\n\n\nPeter NNP B-NP I-PER\n-DOCSTART- -X- -X- O\nBlackburn NNP I-NP I-PER\n";

    #[test]
    fn docstart_counts_documents_and_ends_sentences() {
        let c = read(CONLL03, &ner_opts()).unwrap();
        assert_eq!(c.documents, 2);
        assert_eq!(
            tokens(&c),
            [vec!["EU", "rejects"], vec!["Peter"], vec!["Blackburn"]]
        );
        assert_eq!(c.sentences[0].labels, ["I-ORG", "O"]);
        assert_eq!(c.num_tokens(), 4);
        // First-token lines: 3, 8 and 10 (1-based).
        let lines: Vec<usize> = c.sentences.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 8, 10]);
    }

    #[test]
    fn docstart_with_fewer_columns_is_not_a_column_count_error() {
        // CoNLL-2002 Dutch: "-DOCSTART- -DOCSTART- O" has 3 columns like the token lines, but
        // a 1-column marker must not trip the count check either.
        let c = read("-DOCSTART-\nDe Art O B-X\n", &ner_opts()).unwrap();
        assert_eq!(c.documents, 1);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn crlf_blank_runs_and_missing_final_newline() {
        let text = "a X O\r\nb X B-PER\r\n\r\n \r\n\t\r\nc X O";
        let c = read(
            text,
            &ColumnOptions {
                label_col: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(tokens(&c), [vec!["a", "b"], vec!["c"]]);
        assert_eq!(c.sentences[0].labels, ["O", "B-PER"]);
        assert_eq!(c.sentences[1].line, 6);
    }

    #[test]
    fn germeval_comments_and_trailing_tab() {
        let text = "#\thttp://example.org\t[2010-07-04]\n1\tGleich\tO\tO\n2\tBerlin\tB-LOC\tO\t\n\n#\tsrc\n1\tJa\tO\tO\n";
        let opts = ColumnOptions {
            token_col: 1,
            label_col: 2,
            separator: Separator::Tab,
            extra_cols: vec![3],
            comments: true,
        };
        let c = read(text, &opts).unwrap();
        assert_eq!(tokens(&c), [vec!["Gleich", "Berlin"], vec!["Ja"]]);
        assert_eq!(c.sentences[0].labels, ["O", "B-LOC"]);
        assert_eq!(
            c.sentences[0].features,
            vec![vec!["O".to_string(), "O".to_string()]]
        );
        assert_eq!(c.sentences[1].line, 6);
    }

    #[test]
    fn hash_token_inside_sentence_is_a_token() {
        let c = read(
            "a X O\n# X O\n",
            &ColumnOptions {
                label_col: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(tokens(&c), [vec!["a", "#"]]);
        let off = ColumnOptions {
            label_col: 2,
            comments: false,
            ..Default::default()
        };
        let c = read("# X O\n", &off).unwrap();
        assert_eq!(tokens(&c), [vec!["#"]]);
    }

    #[test]
    fn too_few_columns_names_line_and_column() {
        let err = read("EU NNP\n", &ner_opts()).unwrap_err();
        assert!(matches!(
            &err,
            Error::TooFewColumns { line: 1, column: 3, found: 2, role, .. } if role == "label_col"
        ));
        assert_eq!(
            err.to_string(),
            "train.conll:1: expected at least 4 columns, found 2 (label_col is column 3, counting from 0)"
        );
        let opts = ColumnOptions {
            extra_cols: vec![1, 7],
            ..ner_opts()
        };
        let err = read("EU NNP B-NP I-ORG\n", &opts).unwrap_err();
        assert!(
            matches!(&err, Error::TooFewColumns { column: 7, role, .. } if role == "extra_cols[1]")
        );
    }

    #[test]
    fn changed_column_count_names_the_line() {
        let err = read(
            "EU NNP B-NP I-ORG\nrejects VBZ B-VP O\n\nx O\n",
            &ner_opts(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            Error::ColumnCount {
                line: 4,
                expected: 4,
                first_line: 1,
                found: 2,
                ..
            }
        ));
    }

    #[test]
    fn empty_field_with_single_separator() {
        let opts = ColumnOptions {
            label_col: 1,
            separator: Separator::Space,
            ..Default::default()
        };
        let err = read("a  O\n", &opts).unwrap_err();
        assert!(
            matches!(
                err,
                Error::EmptyField {
                    line: 1,
                    column: 1,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn non_utf8_names_the_line() {
        let bytes = b"a X O\nR\xEDo X B-LOC\n".to_vec();
        let err = read_conll(
            Cursor::new(bytes),
            Path::new("esp.train"),
            &ColumnOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::NotUtf8 { line: 2, .. }));
        assert_eq!(err.to_string(), "esp.train:2: not valid UTF-8");
    }

    #[test]
    fn empty_input_gives_empty_corpus() {
        let c = read("\n\n", &ColumnOptions::default()).unwrap();
        assert!(c.is_empty());
        assert_eq!(c.documents, 0);
    }

    #[test]
    fn write_then_read_round_trip() {
        let text = "EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\n\n";
        let opts = ColumnOptions {
            label_col: 2,
            extra_cols: vec![1],
            ..Default::default()
        };
        let c = read(text, &opts).unwrap();
        let mut out = Vec::new();
        write_conll(&mut out, &c.sentences, ' ').unwrap();
        assert_eq!(String::from_utf8(out.clone()).unwrap(), text);
        let back = read_conll(Cursor::new(out), Path::new("train.conll"), &opts).unwrap();
        assert_eq!(back.sentences, c.sentences);
    }
}
