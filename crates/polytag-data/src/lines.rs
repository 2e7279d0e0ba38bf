//! Opening corpus and embedding files (plain or gzip) and walking them line by line.
//!
//! Every reader in the crate goes through [`Lines`], so they all share one behaviour: lines are
//! numbered from 1, `\n` and `\r\n` endings are both accepted, a missing final newline is fine,
//! a UTF-8 byte-order mark on the first line is dropped, and a line that is not UTF-8 or holds a
//! NUL byte is an error naming `file:line`. One buffer is reused for the whole file, so reading is linear in
//! the file size and allocates nothing per line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// Buffer size for file readers: large enough that a 3 MB corpus costs a few dozen reads.
const BUFFER_SIZE: usize = 1 << 16;

/// The two bytes every gzip stream starts with (RFC 1952, ID1 ID2).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` for buffered reading, transparently decompressing gzip.
///
/// Gzip is recognised by the `.gz` extension or by the gzip magic bytes, so a compressed file
/// without the extension still reads. `MultiGzDecoder` is used because `gzip -c a b > ab.gz`
/// (several members) is a valid gzip file that a single-member decoder would cut short.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::with_capacity(BUFFER_SIZE, file);
    let has_gz_extension = path.extension().is_some_and(|ext| ext == "gz");
    let head = reader.fill_buf().map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    if has_gz_extension || head.starts_with(&GZIP_MAGIC) {
        let decoder = MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(BUFFER_SIZE, decoder)))
    } else {
        Ok(Box::new(reader))
    }
}

/// A numbered, UTF-8-checked line iterator over a [`BufRead`].
///
/// Not an [`Iterator`] because each line borrows the internal buffer (a lending iterator);
/// call [`Lines::next_line`] in a `while let` loop.
pub struct Lines<R> {
    reader: R,
    path: PathBuf,
    buf: Vec<u8>,
    line: usize,
}

impl<R: BufRead> Lines<R> {
    /// Wraps `reader`; `path` is only used in error messages.
    pub fn new(reader: R, path: &Path) -> Self {
        Self {
            reader,
            path: path.to_path_buf(),
            buf: Vec::with_capacity(256),
            line: 0,
        }
    }

    /// The underlying reader, positioned after the last line returned (for a file that
    /// switches to binary after a text header: word2vec's binary format).
    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Number of the last line returned (0 before the first).
    pub fn line_number(&self) -> usize {
        self.line
    }

    /// The next line, with its 1-based number, without its `\n` / `\r\n`; `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        let Some((start, end)) = self.fill()? else {
            return Ok(None);
        };
        match std::str::from_utf8(&self.buf[start..end]) {
            Ok(text) if text.contains('\0') => Err(Error::NulByte {
                path: self.path.clone(),
                line: self.line,
            }),
            Ok(text) => Ok(Some((self.line, text))),
            Err(_) => Err(Error::NotUtf8 {
                path: self.path.clone(),
                line: self.line,
            }),
        }
    }

    /// The next line as raw bytes (endings and BOM stripped), for callers that decide
    /// themselves what to do with non-UTF-8 lines (embedding files skip them).
    pub fn next_bytes(&mut self) -> Result<Option<(usize, &[u8])>> {
        let Some((start, end)) = self.fill()? else {
            return Ok(None);
        };
        Ok(Some((self.line, &self.buf[start..end])))
    }

    /// Reads the next line into the buffer; returns the byte range of its content.
    fn fill(&mut self) -> Result<Option<(usize, usize)>> {
        self.buf.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                line: self.line + 1,
                source,
            })?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        let mut end = self.buf.len();
        if end > 0 && self.buf[end - 1] == b'\n' {
            end -= 1;
        }
        if end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        let start = if self.line == 1 && self.buf[..end].starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Ok(Some((start, end)))
    }
}

/// Reads the whole of `reader` into memory; used by tests that decompress what they wrote.
#[cfg(test)]
pub(crate) fn read_all(mut reader: impl std::io::Read) -> String {
    let mut out = String::new();
    // Test helper: the input is produced by the test itself.
    reader.read_to_string(&mut out).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn collect(text: &[u8]) -> Result<Vec<(usize, String)>> {
        let mut lines = Lines::new(Cursor::new(text.to_vec()), Path::new("t.txt"));
        let mut out = Vec::new();
        while let Some((number, line)) = lines.next_line()? {
            out.push((number, line.to_string()));
        }
        Ok(out)
    }

    #[test]
    fn crlf_missing_final_newline_and_bom() {
        let got = collect(b"\xEF\xBB\xBFa b\r\n\r\nc d").unwrap();
        assert_eq!(
            got,
            vec![
                (1, "a b".to_string()),
                (2, String::new()),
                (3, "c d".to_string())
            ]
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = collect(b"ok\nalso ok\nbad \xE9t\xE9\n").unwrap_err();
        assert!(matches!(err, Error::NotUtf8 { line: 3, .. }), "{err:?}");
        assert_eq!(err.to_string(), "t.txt:3: not valid UTF-8");
    }

    #[test]
    fn missing_file_is_open_error() {
        let err = open(Path::new("/nonexistent/x.conll")).err().unwrap();
        assert!(matches!(err, Error::Open { .. }));
        assert_eq!(err.to_string(), "cannot read /nonexistent/x.conll");
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.starts_with("No such file"), "{source}");
    }

    #[test]
    fn gzip_detected_by_magic_without_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain-name.txt");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"x y\n").unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        assert_eq!(read_all(open(&path).unwrap()), "x y\n");
    }

    #[test]
    fn truncated_gzip_is_io_error_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..2000 {
            writeln!(enc, "line {i} with some text that compresses").unwrap();
        }
        let bytes = enc.finish().unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let mut lines = Lines::new(open(&path).unwrap(), &path);
        let err = loop {
            match lines.next_line() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("truncated stream read to the end"),
                Err(e) => break e,
            }
        };
        assert!(matches!(err, Error::Io { line, .. } if line > 1), "{err:?}");
    }
}
