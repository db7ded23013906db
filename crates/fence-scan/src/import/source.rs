//! Where an import's bytes come from — memory or a file on disk — and reading them as a stream of JSON with serde's
//! streaming deserializer, so a large file is read in passes rather than held whole.

use super::{ImportError, ImportErrorKind};
use serde::de::DeserializeSeed;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// How much of a file is buffered at a time.
const BUFFER: usize = 256 * 1024;

/// The bytes of one import.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The whole input in memory.
    Bytes(&'a [u8]),
    /// A file, read as a stream (once per pass).
    File(&'a Path),
}

impl Source<'_> {
    /// The input's size in bytes.
    pub fn len(&self) -> Result<u64, ImportError> {
        match self {
            Source::Bytes(b) => Ok(b.len() as u64),
            Source::File(p) => std::fs::metadata(p).map(|m| m.len()).map_err(io_error),
        }
    }

    /// Whether the input has no bytes at all.
    pub fn is_empty(&self) -> Result<bool, ImportError> {
        Ok(self.len()? == 0)
    }

    /// The whole input in memory (for the formats read as one document), at most `max` bytes.
    pub(crate) fn bytes(&self, max: usize) -> Result<std::borrow::Cow<'_, [u8]>, ImportError> {
        let len = self.len()?;
        if len > max as u64 {
            return Err(ImportError::new(
                ImportErrorKind::TooLarge,
                "input",
                format!(
                    "is {len} bytes; at most {max} bytes ({} MiB) of this format can be imported at once",
                    max / 1024 / 1024
                ),
            ));
        }
        match self {
            Source::Bytes(b) => Ok(std::borrow::Cow::Borrowed(b)),
            Source::File(p) => std::fs::read(p)
                .map(std::borrow::Cow::Owned)
                .map_err(io_error),
        }
    }

    /// Whether the input holds only white space (after a byte order mark).
    pub(crate) fn is_blank(&self) -> Result<bool, ImportError> {
        let mut r = self.reader()?;
        loop {
            let buf = r.fill_buf().map_err(io_error)?;
            if buf.is_empty() {
                return Ok(true);
            }
            if !buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(false);
            }
            let n = buf.len();
            r.consume(n);
        }
    }

    /// A buffered reader of the input past its byte order mark.
    fn reader(&self) -> Result<Box<dyn BufRead + '_>, ImportError> {
        let mut r: Box<dyn BufRead + '_> = match self {
            Source::Bytes(b) => Box::new(*b),
            Source::File(p) => Box::new(BufReader::with_capacity(
                BUFFER,
                std::fs::File::open(p).map_err(io_error)?,
            )),
        };
        if r.fill_buf().map_err(io_error)?.starts_with(b"\xEF\xBB\xBF") {
            r.consume(3);
        }
        Ok(r)
    }

    /// Reads the input as one JSON document through `seed`; syntax errors name the line where reading stopped.
    pub(crate) fn read<S, T>(&self, seed: S) -> Result<T, ImportError>
    where
        S: for<'de> DeserializeSeed<'de, Value = T>,
    {
        let got = match self {
            Source::Bytes(b) => {
                let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
                run(&mut serde_json::Deserializer::from_slice(b), seed)
            }
            Source::File(_) => run(
                &mut serde_json::Deserializer::from_reader(self.reader()?),
                seed,
            ),
        };
        got.map_err(|e| match e.is_io() {
            true => io_error(e),
            false => super::json::syntax_error(&e, None),
        })
    }
}

/// One document through `seed`, then nothing but white space.
fn run<'de, R, S>(de: &mut serde_json::Deserializer<R>, seed: S) -> serde_json::Result<S::Value>
where
    R: serde_json::de::Read<'de>,
    S: DeserializeSeed<'de>,
{
    let v = seed.deserialize(&mut *de)?;
    de.end()?;
    Ok(v)
}

fn io_error(e: impl std::fmt::Display) -> ImportError {
    ImportError::new(
        ImportErrorKind::Malformed,
        "input",
        format!("cannot be read: {e}"),
    )
}

/// Reads everything from `r` (for tests of readers).
#[cfg(test)]
pub(crate) fn all(mut r: impl std::io::Read) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = r.read_to_end(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_like_the_same_bytes_past_its_byte_order_mark() {
        let dir = std::env::temp_dir().join(format!("fence-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("in.json");
        std::fs::write(&path, b"\xEF\xBB\xBF {\"a\": [1, 2]}\n").expect("write");
        let file = Source::File(&path);
        let mem = Source::Bytes(b"\xEF\xBB\xBF {\"a\": [1, 2]}\n");
        for src in [file, mem] {
            let v: serde_json::Value = src
                .read(std::marker::PhantomData::<serde_json::Value>)
                .expect("read");
            assert_eq!(v, serde_json::json!({"a": [1, 2]}));
            assert!(!src.is_blank().expect("blank"));
        }
        assert_eq!(all(file.reader().expect("reader")), b" {\"a\": [1, 2]}\n");
        std::fs::write(&path, b" \n\t").expect("write");
        assert!(Source::File(&path).is_blank().expect("blank"));
        let e = Source::File(&path)
            .read(std::marker::PhantomData::<serde_json::Value>)
            .expect_err("empty");
        assert_eq!(e.location, "line 2");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
