//! A table of word vectors in memory, its word2vec text and binary files, cosine neighbours
//! and norms.
//!
//! The writers reproduce gensim's `KeyedVectors.save_word2vec_format` byte for byte
//! (`testdata/gensim-tiny.*`, written by gensim itself): text values are numpy's `str` of a
//! float32 (shortest round-trip digits, scientific below 1e-4 and from 1e16 on, two-digit
//! signed exponent), binary entries are `word␠` + little-endian f32s with no newline. The
//! reader takes both, with or without header (GloVe), and binary files with word2vec.c's
//! newline after each vector.

use std::fs::File;
use std::io::{BufRead, BufWriter, Read, Write};
use std::path::Path;

use polytag_data::lines::{self, Lines};

use crate::error::{Error, Result};

/// Word vectors, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    /// Word of each row.
    pub words: Vec<String>,
    /// Vector width.
    pub dim: usize,
    /// Row-major `[words.len(), dim]`.
    pub data: Vec<f32>,
}

/// On-disk layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// word2vec text: `count dim` header, then `word v1 … vdim` lines.
    Text,
    /// word2vec binary: `count dim\n`, then `word␠` + dim little-endian f32 per entry.
    Binary,
}

impl Vectors {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True for a table without words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Writes the table to `path` (atomically: a temp file renamed into place).
    pub fn save(&self, path: &Path, format: FileFormat) -> Result<()> {
        let io = |source| Error::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let tmp = path.with_extension(format!(
            "{}.tmp{}",
            path.extension().and_then(|e| e.to_str()).unwrap_or(""),
            std::process::id()
        ));
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut out = BufWriter::new(File::create(&tmp).map_err(io)?);
        self.write(&mut out, format).map_err(io)?;
        out.flush().map_err(io)?;
        drop(out);
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Writes the table in `format` to any writer.
    pub fn write(&self, out: &mut impl Write, format: FileFormat) -> std::io::Result<()> {
        writeln!(out, "{} {}", self.len(), self.dim)?;
        let mut text = String::new();
        for (i, word) in self.words.iter().enumerate() {
            match format {
                FileFormat::Text => {
                    text.clear();
                    text.push_str(word);
                    for &v in self.row(i) {
                        text.push(' ');
                        push_numpy_f32(&mut text, v);
                    }
                    text.push('\n');
                    out.write_all(text.as_bytes())?;
                }
                FileFormat::Binary => {
                    out.write_all(word.as_bytes())?;
                    out.write_all(b" ")?;
                    for &v in self.row(i) {
                        out.write_all(&v.to_le_bytes())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads a text (with or without header) or binary file, plain or gzip; the format is
    /// recognised from the content.
    pub fn load(path: &Path) -> Result<Self> {
        let mut reader = lines::open(path)?;
        let mut head = Vec::new();
        reader
            .by_ref()
            .take(1 << 16)
            .read_until(b'\n', &mut head)
            .map_err(|source| Error::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })?;
        let header = std::str::from_utf8(&head)
            .ok()
            .and_then(|h| parse_header(h.trim_end()));
        match header {
            Some((count, dim)) if is_binary(&mut reader, dim) => {
                read_binary(reader, path, count, dim)
            }
            _ => read_text(std::io::Cursor::new(head).chain(reader), path),
        }
    }

    /// Euclidean norm of each row.
    pub fn norms(&self) -> Vec<f32> {
        (0..self.len())
            .map(|i| self.row(i).iter().map(|x| x * x).sum::<f32>().sqrt())
            .collect()
    }

    /// The `k` rows of highest cosine similarity to row `i` (itself excluded), best first;
    /// ties go to the earlier row.
    pub fn neighbors(&self, i: usize, k: usize) -> Vec<(usize, f32)> {
        let norms = self.norms();
        let query = self.row(i);
        let mut scored: Vec<(usize, f32)> = (0..self.len())
            .filter(|&j| j != i)
            .map(|j| {
                let denom = norms[i] * norms[j];
                let cos = if denom > 0.0 {
                    crate::kernels::dot(query, self.row(j)) / denom
                } else {
                    0.0
                };
                (j, cos)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }
}

/// Appends numpy's `str(np.float32(v))` (what gensim writes): shortest round-trip digits;
/// scientific when |v| < 1e-4 or ≥ 1e16 — compared in f64, as numpy does, so the float32
/// nearest 1e-4 (just below it) is scientific — with a signed exponent of at least two digits.
pub fn push_numpy_f32(out: &mut String, v: f32) {
    use std::fmt::Write as _;
    let a = f64::from(v.abs());
    if a != 0.0 && a.is_finite() && !(1e-4..1e16).contains(&a) {
        let s = format!("{v:e}");
        // Rust writes `1e-5` / `1e16`; numpy `1e-05` / `1e+16`. `{:e}` always has an `e`.
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    } else if v.is_nan() {
        out.push_str("nan");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
    } else {
        let _ = write!(out, "{v:?}");
    }
}

/// `count dim` if `line` is exactly two unsigned integers.
fn parse_header(line: &str) -> Option<(usize, usize)> {
    let mut fields = line.split_ascii_whitespace();
    let count = fields.next()?.parse().ok()?;
    let dim = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some((count, dim))
}

/// After a header: true unless the next line reads as a text entry of `dim` numbers.
fn is_binary(reader: &mut Box<dyn BufRead>, dim: usize) -> bool {
    let Ok(buf) = reader.fill_buf() else {
        return false;
    };
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let Ok(text) = std::str::from_utf8(line) else {
        return true;
    };
    let mut fields = text.split_ascii_whitespace();
    let _word = fields.next();
    let values: Vec<&str> = fields.collect();
    !(values.len() == dim && values.iter().all(|v| v.parse::<f32>().is_ok()))
}

fn read_text(reader: impl BufRead, path: &Path) -> Result<Vectors> {
    let mut lines = Lines::new(reader, path);
    let mut out = Vectors {
        words: Vec::new(),
        dim: 0,
        data: Vec::new(),
    };
    let mut declared = None;
    let format_error = |entry, message: String| Error::Format {
        path: path.to_path_buf(),
        entry,
        message,
    };
    while let Some((line_no, line)) = lines.next_line()? {
        let mut fields = line.split_ascii_whitespace();
        let Some(word) = fields.next() else {
            continue;
        };
        if line_no == 1 {
            if let Some((count, dim)) = parse_header(line) {
                declared = Some(count);
                out.dim = dim;
                continue;
            }
        }
        let start = out.data.len();
        for value in fields {
            match value.parse::<f32>() {
                Ok(v) => out.data.push(v),
                Err(_) => return Err(format_error(line_no, format!("not a number: {value:?}"))),
            }
        }
        let found = out.data.len() - start;
        if out.dim == 0 {
            out.dim = found;
        }
        if found != out.dim || found == 0 {
            return Err(format_error(
                line_no,
                format!("expected {} values, found {found}", out.dim),
            ));
        }
        out.words.push(word.to_string());
    }
    if out.is_empty() {
        return Err(format_error(0, "no vectors".into()));
    }
    if let Some(count) = declared.filter(|&c| c != out.len()) {
        tracing::warn!(
            "{}: header says {count} vectors, found {}",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}

fn read_binary(mut reader: impl BufRead, path: &Path, count: usize, dim: usize) -> Result<Vectors> {
    let io = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vectors {
        words: Vec::with_capacity(count),
        dim,
        data: Vec::with_capacity(count.saturating_mul(dim).min(1 << 28)),
    };
    let mut word = Vec::new();
    let mut bytes = vec![0u8; dim * 4];
    for entry in 1..=count {
        word.clear();
        reader.read_until(b' ', &mut word).map_err(io)?;
        if word.last() != Some(&b' ') {
            return Err(Error::Format {
                path: path.to_path_buf(),
                entry,
                message: format!("file ends after {} of {count} vectors", entry - 1),
            });
        }
        word.pop();
        // word2vec.c ends each vector with a newline; gensim does not.
        let start = usize::from(word.first() == Some(&b'\n'));
        let text = std::str::from_utf8(&word[start..]).map_err(|_| Error::Format {
            path: path.to_path_buf(),
            entry,
            message: "word is not valid UTF-8".into(),
        })?;
        out.words.push(text.to_string());
        reader.read_exact(&mut bytes).map_err(io)?;
        out.data.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(out)
}

/// Joins tables row by row on their words: the result has the words of `tables[0]`, in its
/// order, each with the concatenation of its vectors from every table (seed-systems.md B.2:
/// [word | char | PoS]). Every word of the first table must be in every other table.
pub fn concat(tables: &[(&Path, &Vectors)]) -> Result<Vectors> {
    let Some(&(_, first)) = tables.first() else {
        return Err(Error::Option {
            option: "concat",
            message: "no tables given".into(),
        });
    };
    let dim: usize = tables.iter().map(|(_, t)| t.dim).sum();
    let mut out = Vectors {
        words: first.words.clone(),
        dim,
        data: Vec::with_capacity(first.len() * dim),
    };
    let indexes: Vec<std::collections::HashMap<&str, usize>> = tables
        .iter()
        .map(|(_, t)| {
            t.words
                .iter()
                .enumerate()
                .map(|(i, w)| (w.as_str(), i))
                .collect()
        })
        .collect();
    for word in &first.words {
        for ((path, table), index) in tables.iter().zip(&indexes) {
            let Some(&row) = index.get(word.as_str()) else {
                return Err(Error::Mismatch {
                    path: path.to_path_buf(),
                    message: format!("has no vector for {word:?}, which the first table has"),
                });
            };
            out.data.extend_from_slice(table.row(row));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

    /// The table `testdata/make_gensim_fixture.py` gave gensim.
    fn tiny() -> Vectors {
        Vectors {
            words: vec!["the".into(), "Köln".into(), "x1".into()],
            dim: 3,
            data: vec![
                0.1, -1.0, 1e-05, 3.0, 1.2345679, -0.0001, 1e16, -2.5e-07, 0.0,
            ],
        }
    }

    #[test]
    fn text_and_binary_writers_match_gensim_bytes() {
        for (format, file) in [
            (FileFormat::Text, "gensim-tiny.txt"),
            (FileFormat::Binary, "gensim-tiny.bin"),
        ] {
            let mut out = Vec::new();
            tiny().write(&mut out, format).unwrap();
            let expected = std::fs::read(Path::new(TESTDATA).join(file)).unwrap();
            assert_eq!(out, expected, "{file}");
        }
    }

    #[test]
    fn numpy_float_strings() {
        let s = |v: f32| {
            let mut out = String::new();
            push_numpy_f32(&mut out, v);
            out
        };
        assert_eq!(s(1.0), "1.0");
        assert_eq!(s(-0.0), "-0.0");
        assert_eq!(s(0.00012), "0.00012");
        assert_eq!(s(1.5e-5), "1.5e-05");
        assert_eq!(s(1.5e20), "1.5e+20");
        assert_eq!(s(123.25), "123.25");
    }

    #[test]
    fn both_formats_round_trip_through_load_and_polytag_data_reader() {
        let dir = tempfile::tempdir().unwrap();
        for (format, name) in [(FileFormat::Text, "v.txt"), (FileFormat::Binary, "v.bin")] {
            let path = dir.path().join(name);
            tiny().save(&path, format).unwrap();
            assert_eq!(Vectors::load(&path).unwrap(), tiny(), "{name}");
            // polytag's embedding reader (what an `embedding` component with `file` uses).
            let mut counts = polytag_data::Counts::new();
            counts.add("Köln");
            counts.add("THE");
            let vocab =
                polytag_data::WordVocab::build(&counts, &polytag_data::WordVocabOptions::default());
            let (table, cov) = polytag_data::load_embeddings(
                &path,
                &vocab,
                &polytag_data::EmbeddingOptions::default(),
                None,
            )
            .unwrap();
            let row = |w: &str| table.row(vocab.vocab().id(w).unwrap()).unwrap().to_vec();
            assert_eq!(row("Köln"), [3.0, 1.2345679, -0.0001], "{name}");
            assert_eq!(row("THE"), [0.1, -1.0, 1e-05], "{name}: lowercase fallback");
            assert_eq!((cov.vocab.exact, cov.vocab.lowercase), (1, 1));
        }
    }

    #[test]
    fn glove_without_header_and_word2vec_c_binary_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let glove = dir.path().join("glove.txt");
        std::fs::write(&glove, "a 1 2\nb 3 4\n").unwrap();
        let v = Vectors::load(&glove).unwrap();
        assert_eq!(
            (v.words.clone(), v.dim, v.data.clone()),
            (vec!["a".into(), "b".into()], 2, vec![1.0, 2.0, 3.0, 4.0])
        );
        let bin = dir.path().join("w2v.bin");
        let mut bytes = b"2 1\na ".to_vec();
        bytes.extend(1.5f32.to_le_bytes());
        bytes.extend(b"\nb ");
        bytes.extend((-2.0f32).to_le_bytes());
        bytes.push(b'\n');
        std::fs::write(&bin, bytes).unwrap();
        let v = Vectors::load(&bin).unwrap();
        assert_eq!(v.words, ["a", "b"]);
        assert_eq!(v.data, [1.5, -2.0]);
    }

    #[test]
    fn bad_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.txt");
        std::fs::write(&path, "2 2\na 1 2\nb 1\n").unwrap();
        let err = Vectors::load(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{}:3: expected 2 values, found 1", path.display())
        );
        std::fs::write(&path, "a 1 x\n").unwrap();
        let err = Vectors::load(&path).unwrap_err().to_string();
        assert_eq!(err, format!("{}:1: not a number: \"x\"", path.display()));
        let bin = dir.path().join("short.bin");
        let mut bytes = b"2 1\na ".to_vec();
        bytes.extend(1.5f32.to_le_bytes());
        std::fs::write(&bin, bytes).unwrap();
        let err = Vectors::load(&bin).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{}:2: file ends after 1 of 2 vectors", bin.display())
        );
    }

    #[test]
    fn neighbors_by_cosine_and_concat() {
        let v = Vectors {
            words: vec!["a".into(), "b".into(), "c".into()],
            dim: 2,
            data: vec![1.0, 0.0, 10.0, 1.0, 0.0, 1.0],
        };
        // cos(a,b) = 10/√101 ≈ 0.995, cos(a,c) = 0.
        let n = v.neighbors(0, 2);
        assert_eq!(n[0].0, 1);
        assert!((n[0].1 - 10.0 / 101f32.sqrt()).abs() < 1e-6);
        assert_eq!(n[1], (2, 0.0));
        let w = Vectors {
            words: vec!["c".into(), "a".into(), "b".into()],
            dim: 1,
            data: vec![7.0, 5.0, 6.0],
        };
        let (pv, pw) = (Path::new("v"), Path::new("w"));
        let both = concat(&[(pv, &v), (pw, &w)]).unwrap();
        assert_eq!(both.dim, 3);
        assert_eq!(both.data, [1.0, 0.0, 5.0, 10.0, 1.0, 6.0, 0.0, 1.0, 7.0]);
        let short = Vectors {
            words: vec!["a".into()],
            dim: 1,
            data: vec![1.0],
        };
        let err = concat(&[(pv, &v), (pw, &short)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "w: has no vector for \"b\", which the first table has"
        );
    }
}
