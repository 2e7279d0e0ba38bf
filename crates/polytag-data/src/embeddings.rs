//! Pretrained word vectors in word2vec/GloVe/fastText text format, turned into the initial
//! `[vocab, dim]` table of an `embedding` component.
//!
//! Format: one `word v1 v2 ... vdim` line per word, optionally preceded by a `count dim` header
//! (word2vec and fastText `.vec` write one, GloVe does not; the paper's `stats: true` says it is
//! there, seed-systems.md A.6), or word2vec binary (the same header, then `word␠` + raw
//! little-endian f32s; recognised from the bytes after the header). Plain or gzip. The file is streamed: only vectors of words that
//! some vocabulary entry can use are parsed and kept, so a multi-GB file costs one pass and
//! `vocab × dim` floats of memory.
//!
//! Each vocabulary entry takes the vector of the first file word that matches it at the best
//! level: exact → lowercase → lowercase with digits→0 (seed-systems.md A′.1). Rows that find
//! nothing are drawn from uniform(±√(3/dim)) — variance 1/dim, the usual scale of trained
//! vectors, so unknown words neither dominate nor vanish next to found ones — with an explicit
//! seed; [`MissingInit::Zero`] reproduces A′.1's zero rows. The PAD row is always zero.
//!
//! Why not the `finalfusion` crate: its text readers (`ReadText`, `ReadTextDims`) load every
//! vector of the file into one matrix (GBs for fastText), L2-normalise by default, check the
//! dimension only as a total (a line with 49 of 50 values shifts all later vectors instead of
//! failing) and report errors without a line number; they would also add ndarray and
//! friends to a crate that is meant to build in seconds. The reader here is ~150 lines.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lines::{self, Lines};
use crate::vocab::{digits_to_zero, Counts, Match, WordVocab, PAD};

/// Whether the file starts with a `count dim` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Header {
    /// A first line of exactly two integers is a header (a 1-d file whose first word is an
    /// integer would be misread: say [`Header::Absent`] for it).
    #[default]
    Auto,
    /// The paper's `stats: true`: the first line must be a header.
    Present,
    /// No header: the first line is a vector.
    Absent,
}

/// How rows without a vector in the file start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingInit {
    /// uniform(±√(3/dim)), seeded.
    #[default]
    Uniform,
    /// All zeros (seed-systems.md A′.1).
    Zero,
}

/// How to read an embedding file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingOptions {
    /// The component's `dimension`; `None` takes it from the header or the first vector.
    pub dim: Option<usize>,
    /// Header handling (`stats`).
    pub header: Header,
    /// Lowercase file words as they are read (the paper's `ignore_case`, A.6), so a cased file
    /// serves a lowercased vocabulary; the first file word of each lowercase form wins.
    pub lowercase: bool,
    /// Initialisation of rows the file does not cover.
    pub missing: MissingInit,
    /// Seed for [`MissingInit::Uniform`].
    pub seed: u64,
}

impl Default for EmbeddingOptions {
    fn default() -> Self {
        Self {
            dim: None,
            header: Header::Auto,
            lowercase: false,
            missing: MissingInit::Uniform,
            seed: 0,
        }
    }
}

/// The initial embedding table for a [`WordVocab`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingTable {
    /// Vector size.
    pub dim: usize,
    /// Row-major `[vocab.len(), dim]`; row `i` belongs to word id `i`; row [`PAD`] is zero.
    pub data: Vec<f32>,
    /// For each row, how its vector was found ([`Match::Unknown`] = initialised; also for the
    /// reserved rows).
    pub matches: Vec<Match>,
}

impl EmbeddingTable {
    /// Number of rows (= vocabulary size).
    pub fn num_rows(&self) -> usize {
        self.matches.len()
    }

    /// Row `id`, if in range.
    pub fn row(&self, id: u32) -> Option<&[f32]> {
        let start = (id as usize).checked_mul(self.dim)?;
        self.data.get(start..start + self.dim)
    }
}

/// Counts of vocabulary entries (and of training tokens) by how their vector was found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageCounts {
    /// Found under their own spelling.
    pub exact: u64,
    /// Found under their lowercase form.
    pub lowercase: u64,
    /// Found under their lowercase, digits→0 form.
    pub digits: u64,
    /// Not in the file.
    pub missing: u64,
}

impl CoverageCounts {
    /// Sum of the four counts.
    pub fn total(&self) -> u64 {
        self.exact + self.lowercase + self.digits + self.missing
    }

    /// Found at any level.
    pub fn found(&self) -> u64 {
        self.exact + self.lowercase + self.digits
    }

    fn add(&mut self, level: Match, n: u64) {
        match level {
            Match::Exact => self.exact += n,
            Match::Lowercase => self.lowercase += n,
            Match::Digits => self.digits += n,
            Match::Unknown => self.missing += n,
        }
    }

    fn percent(&self, n: u64) -> f64 {
        match self.total() {
            0 => 0.0,
            total => 100.0 * n as f64 / total as f64,
        }
    }
}

impl fmt::Display for CoverageCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} exact ({:.1}%), {} lowercase ({:.1}%), {} digits ({:.1}%), {} missing ({:.1}%)",
            self.exact,
            self.percent(self.exact),
            self.lowercase,
            self.percent(self.lowercase),
            self.digits,
            self.percent(self.digits),
            self.missing,
            self.percent(self.missing)
        )
    }
}

/// What an embedding file covered: logged at load time and kept in the run report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// The embedding file.
    pub path: PathBuf,
    /// Vocabulary entries (PAD and UNK excluded) by match level.
    pub vocab: CoverageCounts,
    /// Training tokens by the match level of the entry they map to (tokens that map to UNK
    /// count as missing); `None` when no counts were given.
    pub tokens: Option<CoverageCounts>,
    /// Vector lines in the file.
    pub file_vectors: usize,
    /// The count the header declared, if there was a header.
    pub declared_count: Option<usize>,
    /// Lines skipped because they are not UTF-8 (no vocabulary word can match them; common in
    /// large crawled files, hence not an error).
    pub skipped_not_utf8: usize,
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} vectors; vocabulary {}",
            self.path.display(),
            self.file_vectors,
            self.vocab
        )?;
        if let Some(tokens) = &self.tokens {
            write!(f, "; training tokens {tokens}")?;
        }
        Ok(())
    }
}

/// Loads the vectors at `path` for `vocab`; `train_counts` (raw token counts) adds the
/// token-weighted coverage.
pub fn load_embeddings(
    path: &Path,
    vocab: &WordVocab,
    opts: &EmbeddingOptions,
    train_counts: Option<&Counts>,
) -> Result<(EmbeddingTable, Coverage)> {
    read_embeddings(lines::open(path)?, path, vocab, opts, train_counts)
}

/// Like [`load_embeddings`] from any (uncompressed) reader; `path` names it in messages.
pub fn read_embeddings<R: BufRead>(
    reader: R,
    path: &Path,
    vocab: &WordVocab,
    opts: &EmbeddingOptions,
    train_counts: Option<&Counts>,
) -> Result<(EmbeddingTable, Coverage)> {
    let wanted = wanted_keys(vocab);
    let num_rows = vocab.len();
    let mut entries = Entries {
        wanted: &wanted,
        lowercase: opts.lowercase,
        matches: vec![Match::Unknown; num_rows],
        found: Vec::new(),
        lowered: String::new(),
        vector: Vec::new(),
    };
    let mut dim = opts.dim;
    let mut declared_count = None;
    let mut file_vectors = 0usize;
    let mut skipped_not_utf8 = 0usize;
    let mut lines = Lines::new(reader, path);
    let mut binary = false;

    while let Some((line_no, bytes)) = lines.next_bytes()? {
        let Ok(text) = std::str::from_utf8(bytes) else {
            skipped_not_utf8 += 1;
            continue;
        };
        let mut fields = text.split_ascii_whitespace();
        let Some(word) = fields.next() else {
            continue;
        };
        if line_no == 1 && opts.header != Header::Absent {
            if let Some((count, header_dim)) = parse_header(text) {
                if let Some(expected) = dim.filter(|&d| d != header_dim) {
                    return Err(Error::EmbeddingDimension {
                        path: path.to_path_buf(),
                        line: 1,
                        expected,
                        found: header_dim,
                    });
                }
                dim = Some(header_dim);
                declared_count = Some(count);
                binary = looks_binary(lines.reader_mut(), header_dim);
                if binary {
                    break;
                }
                continue;
            }
            if opts.header == Header::Present {
                return Err(Error::EmbeddingHeader {
                    path: path.to_path_buf(),
                });
            }
        }
        let num_values = fields.clone().count();
        let dim = *dim.get_or_insert(num_values);
        if num_values != dim || dim == 0 {
            return Err(Error::EmbeddingDimension {
                path: path.to_path_buf(),
                line: line_no,
                expected: dim,
                found: num_values,
            });
        }
        file_vectors += 1;
        entries.add(word, dim, num_rows, |vector| {
            for value in fields {
                match value.parse::<f32>() {
                    Ok(v) if v.is_finite() => vector.push(v),
                    _ => {
                        return Err(Error::EmbeddingValue {
                            path: path.to_path_buf(),
                            line: line_no,
                            value: value.to_string(),
                        })
                    }
                }
            }
            Ok(())
        })?;
    }
    if binary {
        // `binary` is only set after a header, which set both.
        let (count, dim) = (declared_count.unwrap_or(0), dim.unwrap_or(0));
        file_vectors =
            read_binary_entries(lines.reader_mut(), path, count, dim, num_rows, &mut entries)?;
    }
    let Entries { matches, found, .. } = entries;

    let Some(dim) = dim.filter(|_| file_vectors > 0) else {
        return Err(Error::EmbeddingEmpty {
            path: path.to_path_buf(),
        });
    };
    let data = initial_rows(num_rows, dim, opts, &matches, &found);
    let coverage = coverage(
        path,
        vocab,
        &matches,
        train_counts,
        file_vectors,
        declared_count,
        skipped_not_utf8,
    );
    if let Some(declared) = declared_count.filter(|&d| d != file_vectors) {
        tracing::warn!(
            path = %path.display(),
            declared,
            found = file_vectors,
            "embedding header count differs from the number of vectors"
        );
    }
    tracing::info!("{coverage}");
    Ok((EmbeddingTable { dim, data, matches }, coverage))
}

/// A vocabulary extended by the words an embedding file covers, with its table
/// ([`extend_from_file`]).
#[derive(Debug, Clone)]
pub struct Extended {
    /// The vocabulary given, then the covered candidates in the order given.
    pub vocab: WordVocab,
    /// Its `[vocab.len(), dim]` table: the rows of the given vocabulary as the file (or the
    /// initialisation) gives them, then the candidates' rows, each the file's vector as it is.
    pub table: EmbeddingTable,
    /// What the file covered, candidates included (those it missed count as missing).
    pub coverage: Coverage,
    /// Candidates that got a row.
    pub added: usize,
}

/// The distinct words of `tokens` that `vocab` maps to UNK, in first-seen order: the
/// candidates of [`extend_from_file`].
pub fn unknown_words<'a>(
    vocab: &WordVocab,
    tokens: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    tokens
        .into_iter()
        .filter(|token| vocab.lookup(token).1 == Match::Unknown && seen.insert(*token))
        .collect()
}

/// Reads `path` for `vocab` extended by `candidates` (words it maps to UNK, [`unknown_words`])
/// and keeps, of the candidates, only those the file covers, each found by the rule every
/// entry follows (exact → lowercase → lowercase with digits→0): the paper's rule for dev/test
/// words (seed-systems A.6), used at training time (`extend_vocab`) and by `polytag predict`
/// for the words of its input. A kept row is the file's vector as it is: no scaling, no
/// normalisation (the file's vectors are never rescaled anywhere). One pass over the file;
/// only the vectors of `vocab`'s entries and of the candidates are kept in memory.
pub fn extend_from_file(
    path: &Path,
    vocab: &WordVocab,
    candidates: &[&str],
    opts: &EmbeddingOptions,
    train_counts: Option<&Counts>,
) -> Result<Extended> {
    let base = vocab.len();
    let mut with_candidates = vocab.clone();
    with_candidates.extend(candidates.iter().copied());
    let (table, coverage) = load_embeddings(path, &with_candidates, opts, train_counts)?;
    if with_candidates.len() == base {
        return Ok(Extended {
            vocab: with_candidates,
            table,
            coverage,
            added: 0,
        });
    }
    // Keep the candidates the file covered, in the order given.
    let kept: Vec<usize> = (base..with_candidates.len())
        .filter(|&row| table.matches[row] != Match::Unknown)
        .collect();
    let mut extended = vocab.clone();
    let items = with_candidates.vocab().items();
    extended.extend(kept.iter().map(|&row| items[row].as_str()));
    let dim = table.dim;
    let rows: Vec<usize> = (0..base).chain(kept.iter().copied()).collect();
    let table = EmbeddingTable {
        dim,
        data: rows
            .iter()
            .flat_map(|&r| table.data[r * dim..(r + 1) * dim].iter().copied())
            .collect(),
        matches: rows.iter().map(|&r| table.matches[r]).collect(),
    };
    Ok(Extended {
        vocab: extended,
        table,
        coverage,
        added: kept.len(),
    })
}

/// What a run records of the embedding file a component was trained with, so that
/// prediction, which reads the file again to give words of its input a row, can tell whether
/// it still holds the vectors the model was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Vector lines in the file.
    pub vectors: usize,
    /// Vector size.
    pub dim: usize,
    /// Rows of the table the run started from (its vocabulary's size).
    pub rows: usize,
    /// [`EmbeddingTable::file_rows_sha256`] of those rows.
    pub rows_sha256: String,
}

impl FileRecord {
    /// The record of a table loaded with its coverage.
    pub fn new(table: &EmbeddingTable, coverage: &Coverage) -> Self {
        Self {
            vectors: coverage.file_vectors,
            dim: table.dim,
            rows: table.num_rows(),
            rows_sha256: table.file_rows_sha256(table.num_rows()),
        }
    }
}

impl EmbeddingTable {
    /// SHA-256 of the rows below `rows` that the file gave a vector (each row's id, match
    /// level and values): the same file read for the same vocabulary gives the same digest,
    /// a file whose vector for any of those words changed (or went missing) another one.
    pub fn file_rows_sha256(&self, rows: usize) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for (row, level) in self.matches.iter().enumerate().take(rows) {
            if *level == Match::Unknown {
                continue;
            }
            hasher.update((row as u64).to_le_bytes());
            hasher.update([*level as u8]);
            for v in &self.data[row * self.dim..(row + 1) * self.dim] {
                hasher.update(v.to_le_bytes());
            }
        }
        crate::subword::hex(&hasher.finalize())
    }
}

/// `count dim` if `line` is exactly two unsigned integers.
fn parse_header(line: &str) -> Option<(usize, usize)> {
    let mut fields = line.split_ascii_whitespace();
    let count = fields.next()?.parse().ok()?;
    let dim = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some((count, dim))
}

/// Vectors found so far for the vocabulary rows, and how (the per-entry part of the reader,
/// shared by the text and the binary format).
struct Entries<'a> {
    wanted: &'a HashMap<String, Vec<(u32, Match)>>,
    lowercase: bool,
    matches: Vec<Match>,
    /// Row-major per vocabulary row; allocated at the first vector.
    found: Vec<f32>,
    lowered: String,
    vector: Vec<f32>,
}

impl Entries<'_> {
    /// Offers the file's vector for `word`; `parse` fills it, and is called only when some
    /// row wants the word (most lines of a large file belong to no vocabulary word).
    fn add(
        &mut self,
        word: &str,
        dim: usize,
        num_rows: usize,
        parse: impl FnOnce(&mut Vec<f32>) -> Result<()>,
    ) -> Result<()> {
        if self.found.is_empty() {
            self.found = vec![0.0; num_rows * dim];
        }
        let key = if self.lowercase {
            self.lowered.clear();
            self.lowered
                .extend(word.chars().flat_map(char::to_lowercase));
            self.lowered.as_str()
        } else {
            word
        };
        let Some(targets) = self.wanted.get(key) else {
            return Ok(());
        };
        self.vector.clear();
        parse(&mut self.vector)?;
        for &(row, level) in targets {
            let row = row as usize;
            // Strictly better only: the first file word at a level keeps the row.
            if level < self.matches[row] {
                self.matches[row] = level;
                self.found[row * dim..(row + 1) * dim].copy_from_slice(&self.vector);
            }
        }
        Ok(())
    }
}

/// After a `count dim` header: true unless the next line reads as a text entry of `dim`
/// numbers (word2vec binary puts raw floats there, which essentially never do).
fn looks_binary<R: BufRead>(reader: &mut R, dim: usize) -> bool {
    let Ok(buf) = reader.fill_buf() else {
        return false;
    };
    if buf.is_empty() {
        return false;
    }
    let (line, complete) = match buf.iter().position(|&b| b == b'\n') {
        Some(end) => (&buf[..end], true),
        None => (buf, false),
    };
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        // A buffer that ends inside a character: judge the part before it.
        Err(e) if !complete && e.error_len().is_none() => {
            std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return true,
    };
    if text.trim().is_empty() {
        // A blank line: text (skipped); a binary entry starts with its word.
        return false;
    }
    let values: Vec<&str> = text.split_ascii_whitespace().skip(1).collect();
    let numeric = values.iter().all(|v| v.parse::<f32>().is_ok());
    // A line longer than the buffer shows only its first values.
    !(numeric && (values.len() == dim || !complete && values.len() < dim))
}

/// word2vec binary entries (`word␠` + `dim` little-endian f32, optionally followed by
/// word2vec.c's newline); errors name the entry as line `entry + 1` (the header is line 1).
/// Returns the number of vectors read. Words that are not UTF-8 are skipped, as in text.
fn read_binary_entries<R: BufRead>(
    reader: &mut R,
    path: &Path,
    count: usize,
    dim: usize,
    num_rows: usize,
    entries: &mut Entries<'_>,
) -> Result<usize> {
    let mut word = Vec::new();
    let mut bytes = vec![0u8; dim * 4];
    for entry in 1..=count {
        let line = entry + 1;
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            line,
            source,
        };
        word.clear();
        reader.read_until(b' ', &mut word).map_err(io)?;
        if word.pop() != Some(b' ') {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("file ends after {} of {count} binary vectors", entry - 1),
            )));
        }
        reader.read_exact(&mut bytes).map_err(io)?;
        let start = usize::from(word.first() == Some(&b'\n'));
        let Ok(text) = std::str::from_utf8(&word[start..]) else {
            continue;
        };
        entries.add(text, dim, num_rows, |vector| {
            for b in bytes.chunks_exact(4) {
                let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if !v.is_finite() {
                    return Err(Error::EmbeddingValue {
                        path: path.to_path_buf(),
                        line,
                        value: v.to_string(),
                    });
                }
                vector.push(v);
            }
            Ok(())
        })?;
    }
    Ok(count)
}

/// For every file word that could serve some entry: the rows it serves and at which level.
fn wanted_keys(vocab: &WordVocab) -> HashMap<String, Vec<(u32, Match)>> {
    let items = vocab.vocab().items();
    let mut wanted: HashMap<String, Vec<(u32, Match)>> = HashMap::with_capacity(items.len() * 2);
    for (row, item) in items.iter().enumerate().skip(vocab.vocab().num_reserved()) {
        // Row numbers fit u32: they are vocabulary ids.
        let row = row as u32;
        let lower = item.to_lowercase();
        let digits = digits_to_zero(&lower).into_owned();
        wanted
            .entry(item.clone())
            .or_default()
            .push((row, Match::Exact));
        if lower != *item {
            wanted
                .entry(lower.clone())
                .or_default()
                .push((row, Match::Lowercase));
        }
        if digits != lower {
            wanted.entry(digits).or_default().push((row, Match::Digits));
        }
    }
    wanted
}

/// Found rows copied, other rows initialised per `opts.missing`, PAD zero.
fn initial_rows(
    num_rows: usize,
    dim: usize,
    opts: &EmbeddingOptions,
    matches: &[Match],
    found: &[f32],
) -> Vec<f32> {
    let mut data = vec![0.0f32; num_rows * dim];
    if opts.missing == MissingInit::Uniform {
        // Draw for every row in order, found or not, so a row's initial value depends only on
        // the seed and its id, not on what else the file happened to contain.
        let bound = (3.0 / dim as f32).sqrt();
        let mut rng = StdRng::seed_from_u64(opts.seed);
        for value in data.iter_mut() {
            *value = rng.random_range(-bound..bound);
        }
    }
    for (row, level) in matches.iter().enumerate() {
        let span = row * dim..(row + 1) * dim;
        if *level != Match::Unknown {
            data[span.clone()].copy_from_slice(&found[span]);
        } else if row == PAD as usize {
            data[span].fill(0.0);
        }
    }
    data
}

/// Tokens (with their counts) by the match level of the entry they map to; tokens that map
/// to UNK count as missing. `matches` is [`EmbeddingTable::matches`] for `vocab`.
pub fn token_coverage(vocab: &WordVocab, matches: &[Match], counts: &Counts) -> CoverageCounts {
    let reserved = vocab.vocab().num_reserved();
    let mut by_token = CoverageCounts::default();
    for (token, &n) in &counts.0 {
        let (id, _) = vocab.lookup(token);
        let level = if (id as usize) < reserved {
            Match::Unknown
        } else {
            matches.get(id as usize).copied().unwrap_or(Match::Unknown)
        };
        by_token.add(level, n);
    }
    by_token
}

fn coverage(
    path: &Path,
    vocab: &WordVocab,
    matches: &[Match],
    train_counts: Option<&Counts>,
    file_vectors: usize,
    declared_count: Option<usize>,
    skipped_not_utf8: usize,
) -> Coverage {
    let reserved = vocab.vocab().num_reserved();
    let mut by_entry = CoverageCounts::default();
    for &level in matches.iter().skip(reserved) {
        by_entry.add(level, 1);
    }
    let tokens = train_counts.map(|counts| token_coverage(vocab, matches, counts));
    Coverage {
        path: path.to_path_buf(),
        vocab: by_entry,
        tokens,
        file_vectors,
        declared_count,
        skipped_not_utf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{WordVocabOptions, UNK};
    use std::io::{Cursor, Write};

    fn vocab(words: &[&str]) -> WordVocab {
        let mut counts = Counts::new();
        for w in words {
            counts.add(w);
        }
        WordVocab::build(&counts, &WordVocabOptions::default())
    }

    fn read(
        text: &str,
        v: &WordVocab,
        opts: &EmbeddingOptions,
    ) -> Result<(EmbeddingTable, Coverage)> {
        read_embeddings(
            Cursor::new(text.as_bytes()),
            Path::new("vec.txt"),
            v,
            opts,
            None,
        )
    }

    fn row(t: &EmbeddingTable, v: &WordVocab, word: &str) -> Vec<f32> {
        t.row(v.vocab().id(word).unwrap()).unwrap().to_vec()
    }

    #[test]
    fn header_auto_detected_and_fallback_levels() {
        // Vocab (all count 1, so alphabetical after PAD, UNK): 1999, Berlin, PARIS, Rome.
        let v = vocab(&["Berlin", "PARIS", "1999", "Rome"]);
        let text = "4 2\nBerlin 1 2\nparis 3 4\n0000 5 6\nberlin 7 8\n";
        let (t, cov) = read(text, &v, &EmbeddingOptions::default()).unwrap();
        assert_eq!(t.dim, 2);
        assert_eq!(t.num_rows(), 6);
        assert_eq!(row(&t, &v, "Berlin"), [1.0, 2.0]);
        assert_eq!(row(&t, &v, "PARIS"), [3.0, 4.0]);
        assert_eq!(row(&t, &v, "1999"), [5.0, 6.0]);
        assert_eq!(t.row(0).unwrap(), [0.0, 0.0], "PAD row is zero");
        assert_eq!(
            cov.vocab,
            CoverageCounts {
                exact: 1,
                lowercase: 1,
                digits: 1,
                missing: 1
            }
        );
        assert_eq!((cov.file_vectors, cov.declared_count), (4, Some(4)));
        // Rome and UNK: uniform within ±sqrt(3/2).
        let bound = (1.5f32).sqrt();
        for id in [UNK, v.vocab().id("Rome").unwrap()] {
            let r = t.row(id).unwrap();
            assert!(r.iter().all(|x| x.abs() < bound && *x != 0.0), "{r:?}");
        }
    }

    #[test]
    fn exact_beats_earlier_lowercase_and_first_wins_ties() {
        let v = vocab(&["Paris"]);
        let text = "paris 1\nParis 2\nParis 3\n";
        let (t, _) = read(text, &v, &EmbeddingOptions::default()).unwrap();
        assert_eq!(row(&t, &v, "Paris"), [2.0]);
    }

    #[test]
    fn no_header_and_required_header() {
        let v = vocab(&["a"]);
        let (t, cov) = read("a 0.5 -1e-3\n", &v, &EmbeddingOptions::default()).unwrap();
        assert_eq!(row(&t, &v, "a"), [0.5, -0.001]);
        assert_eq!(cov.declared_count, None);
        let stats = EmbeddingOptions {
            header: Header::Present,
            ..Default::default()
        };
        let err = read("a 0.5 1\n", &v, &stats).unwrap_err();
        assert!(matches!(err, Error::EmbeddingHeader { .. }));
        // Header::Absent reads a "2 1"-looking first line as the word "2" with one value.
        let absent = EmbeddingOptions {
            header: Header::Absent,
            ..Default::default()
        };
        let v2 = vocab(&["2"]);
        let (t, _) = read("2 1\n", &v2, &absent).unwrap();
        assert_eq!(row(&t, &v2, "2"), [1.0]);
    }

    #[test]
    fn wrong_dimension_names_the_line() {
        let v = vocab(&["a"]);
        let mut text = String::new();
        for i in 0..16 {
            text.push_str(&format!("w{i}{}\n", " 0.1".repeat(50)));
        }
        text.push_str(&format!("short{}\n", " 0.1".repeat(49)));
        let err = read(&text, &v, &EmbeddingOptions::default()).unwrap_err();
        assert!(matches!(
            err,
            Error::EmbeddingDimension {
                line: 17,
                expected: 50,
                found: 49,
                ..
            }
        ));
        assert_eq!(err.to_string(), "vec.txt:17: expected 50 values, found 49");
        // The configured dimension is checked against the header too.
        let opts = EmbeddingOptions {
            dim: Some(3),
            ..Default::default()
        };
        let err = read("1 2\na 1 2\n", &v, &opts).unwrap_err();
        assert!(matches!(
            err,
            Error::EmbeddingDimension {
                line: 1,
                expected: 3,
                found: 2,
                ..
            }
        ));
    }

    #[test]
    fn bad_value_and_empty_file() {
        let v = vocab(&["a"]);
        let err = read("a 1 x\n", &v, &EmbeddingOptions::default()).unwrap_err();
        assert!(matches!(&err, Error::EmbeddingValue { line: 1, value, .. } if value == "x"));
        let err = read("a 1 NaN\n", &v, &EmbeddingOptions::default()).unwrap_err();
        assert!(matches!(err, Error::EmbeddingValue { .. }));
        let err = read("3 50\n\n", &v, &EmbeddingOptions::default()).unwrap_err();
        assert!(matches!(err, Error::EmbeddingEmpty { .. }));
    }

    #[test]
    fn non_utf8_lines_are_skipped_and_counted() {
        let v = vocab(&["a"]);
        let text = b"b\xff 1\na 2\n".to_vec();
        let (t, cov) = read_embeddings(
            Cursor::new(text),
            Path::new("vec.txt"),
            &v,
            &EmbeddingOptions::default(),
            None,
        )
        .unwrap();
        assert_eq!(row(&t, &v, "a"), [2.0]);
        assert_eq!((cov.skipped_not_utf8, cov.file_vectors), (1, 1));
    }

    #[test]
    fn lowercase_option_lowercases_file_words() {
        let mut counts = Counts::new();
        counts.add("paris");
        let v = WordVocab::build(
            &counts,
            &WordVocabOptions {
                lowercase: true,
                ..Default::default()
            },
        );
        let opts = EmbeddingOptions {
            lowercase: true,
            ..Default::default()
        };
        let (t, cov) = read("Paris 1\nparis 2\n", &v, &opts).unwrap();
        assert_eq!(row(&t, &v, "paris"), [1.0], "first lowercase form wins");
        assert_eq!(cov.vocab.exact, 1);
    }

    #[test]
    fn zero_init_and_seeded_uniform() {
        let v = vocab(&["a", "b"]);
        let zero = EmbeddingOptions {
            missing: MissingInit::Zero,
            ..Default::default()
        };
        let (t, _) = read("a 1 1\n", &v, &zero).unwrap();
        assert_eq!(row(&t, &v, "b"), [0.0, 0.0]);
        let seeded = |seed| EmbeddingOptions {
            seed,
            ..Default::default()
        };
        let (t1, _) = read("a 1 1\n", &v, &seeded(7)).unwrap();
        let (t2, _) = read("a 1 1\n", &v, &seeded(7)).unwrap();
        let (t3, _) = read("a 1 1\n", &v, &seeded(8)).unwrap();
        assert_eq!(t1, t2);
        assert_ne!(row(&t1, &v, "b"), row(&t3, &v, "b"));
    }

    #[test]
    fn token_weighted_coverage() {
        // Training tokens: Berlin ×3 (entry found exactly), Rome ×6 (entry, not in the file),
        // berlin ×1 (below min_count; lookup never goes from lower to upper case → UNK).
        // Expected: exact 3, missing 6 + 1 = 7, of 10.
        let mut counts = Counts::new();
        for (w, n) in [("Berlin", 3), ("Rome", 6), ("berlin", 1)] {
            for _ in 0..n {
                counts.add(w);
            }
        }
        let v = WordVocab::build(
            &counts,
            &WordVocabOptions {
                min_count: 2,
                ..Default::default()
            },
        );
        let (_, cov) = read_embeddings(
            Cursor::new("Berlin 1\n"),
            Path::new("vec.txt"),
            &v,
            &EmbeddingOptions::default(),
            Some(&counts),
        )
        .unwrap();
        let tokens = cov.tokens.clone().unwrap();
        assert_eq!((tokens.exact, tokens.missing, tokens.total()), (3, 7, 10));
        assert_eq!(
            tokens.to_string(),
            "3 exact (30.0%), 0 lowercase (0.0%), 0 digits (0.0%), 7 missing (70.0%)"
        );
        assert_eq!((cov.vocab.exact, cov.vocab.missing), (1, 1));
    }

    /// word2vec binary, as gensim writes it (no newline after a vector) and as word2vec.c
    /// does (a newline): `2 2\n`, then `word␠` + two little-endian f32 each.
    #[test]
    fn reads_word2vec_binary_and_names_a_truncated_entry() {
        let v = vocab(&["Paris", "b"]);
        for newline in [false, true] {
            let mut bytes = b"2 2\nparis ".to_vec();
            bytes.extend(1.5f32.to_le_bytes());
            bytes.extend((-2.0f32).to_le_bytes());
            if newline {
                bytes.push(b'\n');
            }
            bytes.extend(b"b ");
            bytes.extend(0.25f32.to_le_bytes());
            bytes.extend(4.0f32.to_le_bytes());
            let (t, cov) = read_embeddings(
                Cursor::new(bytes.clone()),
                Path::new("vec.bin"),
                &v,
                &EmbeddingOptions::default(),
                None,
            )
            .unwrap();
            assert_eq!(row(&t, &v, "Paris"), [1.5, -2.0], "newline {newline}");
            assert_eq!(row(&t, &v, "b"), [0.25, 4.0]);
            assert_eq!(
                (cov.vocab.lowercase, cov.vocab.exact, cov.file_vectors),
                (1, 1, 2)
            );
            bytes.truncate(bytes.len() - 3);
            let err = read_embeddings(
                Cursor::new(bytes),
                Path::new("vec.bin"),
                &v,
                &EmbeddingOptions::default(),
                None,
            )
            .unwrap_err();
            assert_eq!(err.to_string(), "vec.bin:3: read error");
        }
    }

    /// Candidates the file covers (here by the lowercase fallback too) get rows after the
    /// vocabulary's, holding the file's vectors as they are; the others are dropped. The
    /// digest of the vocabulary's rows does not depend on the candidates, and sees a change.
    #[test]
    fn extend_from_file_keeps_covered_candidates_with_their_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.txt");
        std::fs::write(&path, "a 1 2\noslo 3 4\nzanzibar 5 6\nZanzibar 7 8\n").unwrap();
        let v = vocab(&["a", "b"]);
        let tokens = ["a", "Zanzibar", "Oslo", "nope", "Oslo", "b"];
        let candidates = unknown_words(&v, tokens);
        assert_eq!(candidates, ["Zanzibar", "Oslo", "nope"]);
        let opts = EmbeddingOptions::default();
        let ext = extend_from_file(&path, &v, &candidates, &opts, None).unwrap();
        assert_eq!(ext.added, 2);
        assert_eq!(ext.vocab.len(), v.len() + 2);
        assert_eq!(ext.table.num_rows(), v.len() + 2);
        assert_eq!(
            row(&ext.table, &ext.vocab, "Zanzibar"),
            [7.0, 8.0],
            "exact first"
        );
        assert_eq!(row(&ext.table, &ext.vocab, "Oslo"), [3.0, 4.0], "lowercase");
        assert_eq!(ext.vocab.lookup("nope").1, Match::Unknown);
        assert_eq!(ext.vocab.vocab().id("Zanzibar"), Some(v.len() as u32));
        // The rows of `v` are those a plain load gives.
        let (plain, _) = load_embeddings(&path, &v, &opts, None).unwrap();
        assert_eq!(ext.table.data[..plain.data.len()], plain.data[..]);
        let digest = plain.file_rows_sha256(v.len());
        assert_eq!(ext.table.file_rows_sha256(v.len()), digest);
        std::fs::write(&path, "a 1 2.5\n").unwrap();
        let (changed, _) = load_embeddings(&path, &v, &opts, None).unwrap();
        assert_ne!(changed.file_rows_sha256(v.len()), digest);
        // No candidates: the vocabulary as it was.
        let none = extend_from_file(&path, &v, &[], &opts, None).unwrap();
        assert_eq!((none.added, none.vocab.len()), (0, v.len()));
    }

    #[test]
    fn reads_gzip_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vec.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"1 3\na 1 2 3\n").unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let v = vocab(&["a"]);
        let (t, _) = load_embeddings(&path, &v, &EmbeddingOptions::default(), None).unwrap();
        assert_eq!(row(&t, &v, "a"), [1.0, 2.0, 3.0]);
    }
}
