//! Bytes of one object → decompressed, bounded lines. Runs on a blocking thread: the
//! object-store byte stream is bridged into `std::io::Read`, so decompression and parsing
//! are plain synchronous loops over a fixed-size buffer, whatever the object's size.

use std::io::{self, BufRead, BufReader, Read, Seek};
use std::sync::Arc;

use futures::TryStreamExt;
use indicatif::ProgressBar;
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt};
use tokio::runtime::Handle;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// Lines longer than this are rejected (`line_too_long`) without being held in memory.
pub const MAX_LINE: usize = 1 << 20;
const BUF: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn from_name(name: &str) -> Compression {
        if name.ends_with(".gz") || name.ends_with(".gzip") {
            Compression::Gzip
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Counts compressed bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    progress: ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Opens an object for streaming reads, decompressing by its extension. Call from a
/// blocking thread (the bridge blocks on `handle`).
pub fn open(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    local: Option<&std::path::Path>,
    handle: &Handle,
    progress: ProgressBar,
) -> Result<Box<dyn BufRead + Send>, object_store::Error> {
    let inner: Box<dyn Read + Send> = match local {
        // A local file listed by its real path (its name may be one the store cannot spell).
        Some(local) => Box::new(std::fs::File::open(local).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => object_store::Error::NotFound { path: path.to_string(), source: Box::new(e) },
            _ => object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(e) },
        })?),
        None => open_store(store, path, handle)?,
    };
    let raw = Counting { inner, progress };
    decompress(raw, path)
}

fn open_store(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    handle: &Handle,
) -> Result<Box<dyn Read + Send>, object_store::Error> {
    let get = handle.block_on(store.get(path))?;
    Ok(match get.payload {
        // A local file is read directly: the store's stream reads it in 8 KiB pieces, each
        // a hand-off to tokio's blocking pool, which cost ~10% of a plain ingest's CPU.
        GetResultPayload::File(mut file, _) => {
            file.seek(io::SeekFrom::Start(get.range.start))
                .map_err(|e| object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(e) })?;
            Box::new(file.take(get.range.end - get.range.start))
        }
        GetResultPayload::Stream(stream) => {
            let stream = stream.map_err(io::Error::other);
            Box::new(SyncIoBridge::new_with_handle(StreamReader::new(stream), handle.clone()))
        }
    })
}

fn decompress<R: Read + Send + 'static>(raw: R, path: &Path) -> Result<Box<dyn BufRead + Send>, object_store::Error> {
    let mut reader: Box<dyn BufRead + Send> = match Compression::from_name(path.as_ref()) {
        Compression::None => Box::new(BufReader::with_capacity(BUF, raw)),
        Compression::Gzip => {
            // Multi-member: concatenated gzip files (`cat a.gz b.gz`) are one stream.
            let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(BUF, raw));
            Box::new(BufReader::with_capacity(BUF, gz))
        }
        Compression::Zstd => {
            let zst = zstd::stream::read::Decoder::new(raw)
                .map_err(|e| object_store::Error::Generic { store: "zstd", source: Box::new(e) })?;
            Box::new(BufReader::with_capacity(BUF, zst))
        }
    };
    skip_bom(&mut reader).map_err(|e| object_store::Error::Generic { store: "read", source: Box::new(e) })?;
    Ok(reader)
}

/// Skips a UTF-8 byte-order mark at the start of an object (Windows tools write one):
/// left in, it would make the first record of a JSON Lines or logfmt object invalid.
pub fn skip_bom(reader: &mut dyn BufRead) -> io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let start = loop {
        match reader.fill_buf() {
            Ok(a) => break a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    if start.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(())
}

/// One line from [`Lines`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line without its `\n` (or `\r\n`).
    Text(&'a [u8]),
    /// Longer than the limit: its first bytes and its full length.
    TooLong { head: &'a [u8], len: usize },
}

/// A line reader that never holds more than `max` bytes of one line.
pub struct Lines<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Lines { inner, max, buf: Vec::new(), number: 0 }
    }

    /// The next line and its 1-based number, or `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let next = self.append_line(&mut buf);
        self.buf = buf;
        let Some((number, len)) = next? else { return Ok(None) };
        Ok(Some((number, if len > self.max { Line::TooLong { head: &self.buf, len } } else { Line::Text(&self.buf) })))
    }

    /// Appends the next line to `out` (at most `max` bytes of it, without its `\n` or
    /// `\r\n`) and returns its 1-based number and full length (over `max`: too long, and
    /// `out` holds its head), or `None` at the end. The chunk splitter reads into the
    /// chunk's own buffer this way: one copy of each line instead of two.
    pub fn append_line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<(u64, usize)>> {
        let begin = out.len();
        let mut len = 0usize;
        let mut saw_any = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (chunk, found) = match memchr::memchr(b'\n', avail) {
                Some(i) => (&avail[..i], Some(i)),
                None => (avail, None),
            };
            let room = self.max.saturating_sub(out.len() - begin);
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            len += chunk.len();
            let consumed = found.map_or(avail.len(), |i| i + 1);
            self.inner.consume(consumed);
            if found.is_some() {
                break;
            }
        }
        self.number += 1;
        if len <= self.max && out.len() > begin && out.last() == Some(&b'\r') {
            out.pop();
        }
        Ok(Some((self.number, len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut lines = Lines::new(BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            out.push((
                n,
                match line {
                    Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    Line::TooLong { head, len } => format!("TOO LONG {len} {}", String::from_utf8_lossy(head)),
                },
            ));
        }
        out
    }

    #[test]
    fn splits_lines_across_buffer_boundaries() {
        let got = collect(b"alpha\r\nbeta\n\ngamma", 100);
        assert_eq!(got, vec![(1, "alpha".into()), (2, "beta".into()), (3, "".into()), (4, "gamma".into())]);
    }

    #[test]
    fn long_lines_are_cut_not_buffered() {
        let got = collect(b"ok\n0123456789abcdef\nnext\n", 8);
        assert_eq!(got, vec![(1, "ok".into()), (2, "TOO LONG 16 01234567".into()), (3, "next".into())]);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_once() {
        let mut r = BufReader::new(&b"\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBFx"[..]);
        skip_bom(&mut r).unwrap();
        let got = collect_from(r);
        assert_eq!(got, vec![(1, "{\"a\":1}".into()), (2, "\u{feff}x".into())]);
        let mut plain = BufReader::new(&b"{}"[..]);
        skip_bom(&mut plain).unwrap();
        assert_eq!(collect_from(plain), vec![(1, "{}".into())]);
    }

    fn collect_from(r: impl BufRead) -> Vec<(u64, String)> {
        let mut lines = Lines::new(r, 100);
        let mut out = Vec::new();
        while let Some((n, Line::Text(t))) = lines.next_line().unwrap() {
            out.push((n, String::from_utf8_lossy(t).into_owned()));
        }
        out
    }

    #[test]
    fn compression_from_extension() {
        assert_eq!(Compression::from_name("a/b.jsonl.gz"), Compression::Gzip);
        assert_eq!(Compression::from_name("b.csv.zst"), Compression::Zstd);
        assert_eq!(Compression::from_name("b.csv"), Compression::None);
    }
}
