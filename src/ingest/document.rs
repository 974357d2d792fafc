//! JSON documents that hold many records: a top-level array, an object with the records
//! under a path (`{"items": […]}`, `{"data": {"result": […]}}`), or a stream of such
//! values one after another (JSON Lines of webhook payloads). Records are handed over one
//! at a time as they are read, so memory is bounded by the largest record, not by the
//! document.
//!
//! The document's frame (the brackets, keys and commas around the records) is walked
//! here; each record is first found as a run of bytes (its strings and brackets matched,
//! nothing else looked at) and then parsed from that slice by serde_json, which checks
//! everything else. serde_json reading the stream itself goes a byte at a time through
//! its reader and counts lines and columns as it goes: that was half the reader thread of
//! a `query_range` ingest. Error positions are still the document's own (line and
//! column), worked out only when there is an error.

use std::io::{BufRead, ErrorKind};
use std::ops::Range;

use serde::de::{DeserializeOwned, IgnoredAny};

/// Calls `on_item` for every record of the document(s) in `input`, each read as a `T`
/// (a `serde_json::Value`, or a type that reads its records more compactly). A top-level
/// object that lacks `path` is itself one record. Returns the first syntax or I/O error,
/// which makes the whole object unreadable.
pub fn for_each_item<R: BufRead, T: Item>(
    input: R,
    path: &'static [&'static str],
    on_item: &mut dyn FnMut(T) -> crate::error::Result<()>,
) -> Result<(), DocumentError> {
    let mut doc = Scanner::new(input);
    while doc.skip_space()?.is_some() {
        doc.records(path, on_item)?;
    }
    Ok(())
}

#[derive(Debug)]
pub enum DocumentError {
    Io(std::io::Error),
    Syntax(String),
    /// The record handler failed (a warehouse write); not the document's fault.
    Sink(crate::error::Error),
}

/// What a record of a document is read as: anything that reads from JSON, and can be
/// made from a `serde_json::Value` (for a top-level object that is itself the record).
pub trait Item: DeserializeOwned + From<serde_json::Value> {
    /// One record from its bytes (a type may read its usual shape faster by hand).
    fn from_json_bytes(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }
}

impl Item for serde_json::Value {}

/// Input read ahead at a time.
const READ_AHEAD: usize = 64 << 10;

/// A document being read: the bytes from the value being read on, and where they are.
struct Scanner<R> {
    input: R,
    buf: Vec<u8>,
    /// The next byte to look at, in `buf`.
    at: usize,
    /// The document's bytes before `buf[0]`, the newlines among them, and the offset
    /// of the line the last of them ends (for error positions).
    dropped: u64,
    dropped_lines: u64,
    dropped_line_start: u64,
    end: bool,
}

impl<R: BufRead> Scanner<R> {
    fn new(input: R) -> Self {
        Scanner {
            input,
            buf: Vec::with_capacity(2 * READ_AHEAD),
            at: 0,
            dropped: 0,
            dropped_lines: 0,
            dropped_line_start: 0,
            end: false,
        }
    }

    /// Reads more input, dropping what is before `at` first; false at the end.
    fn more(&mut self) -> Result<bool, DocumentError> {
        if self.end {
            return Ok(false);
        }
        if self.at > 0 {
            let gone = &self.buf[..self.at];
            if let Some(last) = memchr::memrchr(b'\n', gone) {
                self.dropped_lines += memchr::memchr_iter(b'\n', gone).count() as u64;
                self.dropped_line_start = self.dropped + last as u64 + 1;
            }
            self.dropped += self.at as u64;
            self.buf.drain(..self.at);
            self.at = 0;
        }
        let before = self.buf.len();
        while self.buf.len() - before < READ_AHEAD {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(DocumentError::Io(e)),
            };
            if chunk.is_empty() {
                self.end = true;
                break;
            }
            let n = chunk.len();
            self.buf.extend_from_slice(chunk);
            self.input.consume(n);
        }
        Ok(self.buf.len() > before)
    }

    /// The next byte that is not white space, not consumed; `None` at the end.
    fn skip_space(&mut self) -> Result<Option<u8>, DocumentError> {
        loop {
            self.at = skip_json_space(&self.buf, self.at);
            if let Some(&b) = self.buf.get(self.at) {
                return Ok(Some(b));
            }
            if !self.more()? {
                return Ok(None);
            }
        }
    }

    /// Like [`Self::skip_space`], where the end of input is an error.
    fn next_byte(&mut self, what: &str) -> Result<u8, DocumentError> {
        match self.skip_space()? {
            Some(b) => Ok(b),
            None => Err(self.error_at(self.at, &format!("EOF while parsing {what}"))),
        }
    }

    /// The records of the value at `at`, `path` being where they are below it: the
    /// elements of an array, or what is under the path in an object (an object without
    /// it is one record).
    fn records<T: Item>(
        &mut self,
        path: &'static [&'static str],
        on_item: &mut dyn FnMut(T) -> crate::error::Result<()>,
    ) -> Result<(), DocumentError> {
        match (self.buf[self.at], path.split_first()) {
            (b'[', _) => self.array(on_item),
            (b'{', Some((first, rest))) => self.object(first, rest, on_item),
            (b'{', None) => {
                let value = self.value()?;
                let record: serde_json::Value = self.parse(value)?;
                on_item(T::from(record)).map_err(DocumentError::Sink)
            }
            _ => Err(self.error_at(self.at, "expected a JSON array or object of records")),
        }
    }

    /// Every element of the array at `at` is a record.
    fn array<T: Item>(&mut self, on_item: &mut dyn FnMut(T) -> crate::error::Result<()>) -> Result<(), DocumentError> {
        self.at += 1;
        if self.next_byte("a list")? == b']' {
            self.at += 1;
            return Ok(());
        }
        loop {
            if self.next_byte("a list")? == b']' {
                return Err(self.error_at(self.at, "trailing comma"));
            }
            let value = self.value()?;
            let record = self.parse_by(value, T::from_json_bytes)?;
            on_item(record).map_err(DocumentError::Sink)?;
            match self.next_byte("a list")? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.error_at(self.at, "expected `,` or `]`")),
            }
        }
    }

    /// The object at `at`: the records are under its key `first` (and then `rest`); an
    /// object without that key is itself a record, of the keys it has. A repeated key
    /// after the first is ignored.
    fn object<T: Item>(
        &mut self,
        first: &str,
        rest: &'static [&'static str],
        on_item: &mut dyn FnMut(T) -> crate::error::Result<()>,
    ) -> Result<(), DocumentError> {
        self.at += 1;
        let mut seen = serde_json::Map::new();
        let mut found = false;
        if self.next_byte("an object")? == b'}' {
            self.at += 1;
        } else {
            loop {
                if self.next_byte("an object")? != b'"' {
                    return Err(self.error_at(self.at, "key must be a string"));
                }
                let key = self.value()?;
                let key: String = self.parse(key)?;
                if self.next_byte("an object")? != b':' {
                    return Err(self.error_at(self.at, "expected `:`"));
                }
                self.at += 1;
                self.next_byte("a value")?;
                if key == first && !found {
                    found = true;
                    self.records(rest, on_item)?;
                    seen.clear();
                } else {
                    let value = self.value()?;
                    if found {
                        self.parse::<IgnoredAny>(value)?;
                    } else {
                        seen.insert(key, self.parse(value)?);
                    }
                }
                match self.next_byte("an object")? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(self.error_at(self.at, "expected `,` or `}`")),
                }
            }
        }
        if !found {
            on_item(T::from(serde_json::Value::Object(seen))).map_err(DocumentError::Sink)?;
        }
        Ok(())
    }

    /// The bytes of the value that starts at `at`, which is moved past it ([`ValueEnd`]).
    /// At the end of input, what there is (the parse says what is missing).
    fn value(&mut self) -> Result<Range<usize>, DocumentError> {
        let mut end = ValueEnd::default();
        loop {
            if let Some(n) = end.find(&self.buf[self.at..]) {
                return Ok(self.take(n));
            }
            if !self.more()? {
                return Ok(self.take(self.buf.len() - self.at));
            }
        }
    }

    /// The next `n` bytes, consumed.
    fn take(&mut self, n: usize) -> Range<usize> {
        self.at += n;
        self.at - n..self.at
    }

    /// The value in `bytes` (of `buf`), or its error at its place in the document.
    fn parse<V: DeserializeOwned>(&self, bytes: Range<usize>) -> Result<V, DocumentError> {
        self.parse_by(bytes, |b| serde_json::from_slice(b))
    }

    /// The value in `bytes` as `read` reads it, or its error at its place in the document.
    fn parse_by<V>(
        &self,
        bytes: Range<usize>,
        read: impl FnOnce(&[u8]) -> serde_json::Result<V>,
    ) -> Result<V, DocumentError> {
        read(&self.buf[bytes.clone()]).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            let message = e.to_string();
            let message = message.strip_suffix(&format!(" at line {line} column {column}")).unwrap_or(&message);
            // The error's place, counted from the document's start.
            let (start_line, start_column) = self.position(bytes.start);
            let (line, column) = match line {
                0 => return DocumentError::Syntax(message.to_string()),
                1 => (start_line, start_column + column as u64),
                _ => (start_line + line as u64 - 1, column as u64),
            };
            DocumentError::Syntax(format!("{message} at line {line} column {column}"))
        })
    }

    /// An error at byte `at` of `buf`.
    fn error_at(&self, at: usize, message: &str) -> DocumentError {
        let (line, column) = self.position(at);
        DocumentError::Syntax(format!("{message} at line {line} column {}", column + 1))
    }

    /// The line (from 1) of byte `at` of `buf`, and the bytes before it on its line.
    fn position(&self, at: usize) -> (u64, u64) {
        let before = &self.buf[..at.min(self.buf.len())];
        let line = self.dropped_lines + memchr::memchr_iter(b'\n', before).count() as u64 + 1;
        let line_start = match memchr::memrchr(b'\n', before) {
            Some(last) => self.dropped + last as u64 + 1,
            None => self.dropped_line_start,
        };
        (line, self.dropped + before.len() as u64 - line_start)
    }
}

/// Where a JSON value ends, found by matching only its strings and brackets (a scalar
/// runs to the next delimiter); the parse of its bytes checks the rest. It can go on
/// where it stopped when more bytes arrive: what it looked at is not looked at again.
#[derive(Default)]
pub struct ValueEnd {
    looked: usize,
    depth: usize,
    string: bool,
}

impl ValueEnd {
    /// The length of the value `bytes` starts with, once `bytes` holds all of it; `None`
    /// while it may go on (then call again with the same bytes and more after them).
    pub fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        let scalar = !matches!(bytes.first()?, b'{' | b'[' | b'"');
        let (mut k, mut depth, mut string) = (self.looked, self.depth, self.string);
        while let Some(&b) = bytes.get(k) {
            if string {
                match b {
                    b'"' if depth == 0 => return Some(k + 1),
                    b'"' => string = false,
                    b'\\' => k += 1,
                    _ => {}
                }
            } else if scalar {
                if matches!(b, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                    return Some(k);
                }
            } else {
                match b {
                    b'"' => string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Some(k + 1);
                        }
                    }
                    _ => {}
                }
            }
            k += 1;
        }
        (self.looked, self.depth, self.string) = (k, depth, string);
        None
    }
}

/// The index of the first byte from `at` that is not JSON white space.
pub fn skip_json_space(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use serde_json::Value;

    use super::*;
    use crate::test_rng::below_from;

    fn items(text: &str, path: &'static [&'static str]) -> Result<Vec<String>, DocumentError> {
        items_read(text.as_bytes(), path, 8 << 10)
    }

    /// The records, read through a reader that hands out `chunk` bytes at a time.
    fn items_read(text: &[u8], path: &'static [&'static str], chunk: usize) -> Result<Vec<String>, DocumentError> {
        let mut out = Vec::new();
        for_each_item(BufReader::with_capacity(chunk, text), path, &mut |v: Value| {
            out.push(v.to_string());
            Ok(())
        })?;
        Ok(out)
    }

    /// What the records are, from the whole document parsed at once.
    fn reference(text: &[u8], path: &[&str]) -> Option<Vec<String>> {
        fn records(v: Value, path: &[&str], out: &mut Vec<String>) -> Option<()> {
            match v {
                Value::Array(items) => out.extend(items.iter().map(Value::to_string)),
                Value::Object(mut map) => match path.split_first() {
                    Some((first, rest)) if map.contains_key(*first) => records(map.remove(*first)?, rest, out)?,
                    _ => out.push(Value::Object(map).to_string()),
                },
                _ => return None,
            }
            Some(())
        }
        let mut out = Vec::new();
        for v in serde_json::Deserializer::from_slice(text).into_iter::<Value>() {
            records(v.ok()?, path, &mut out)?;
        }
        Some(out)
    }

    #[test]
    fn arrays_paths_and_streams() {
        assert_eq!(items(r#" [{"a":1},{"a":2}] "#, &["items"]).unwrap(), vec![r#"{"a":1}"#, r#"{"a":2}"#]);
        assert_eq!(
            items(r#"{"kind":"List","items":[{"a":1},{"a":2}],"more":{"x":[1]}}"#, &["items"]).unwrap(),
            vec![r#"{"a":1}"#, r#"{"a":2}"#]
        );
        assert_eq!(
            items(r#"{"status":"success","data":{"resultType":"matrix","result":[{"s":1}]}}"#, &["data", "result"])
                .unwrap(),
            vec![r#"{"s":1}"#]
        );
        // A stream of payloads without the path: each object is a record.
        assert_eq!(items("{\"a\":1}\n{\"a\":2}\n", &["items"]).unwrap(), vec![r#"{"a":1}"#, r#"{"a":2}"#]);
        // Scalars in a list are records too (a scalar result's time and value).
        assert_eq!(
            items(r#"[1.5, "x\"]", true, null]"#, &["items"]).unwrap(),
            vec!["1.5", r#""x\"]""#, "true", "null"]
        );
        assert_eq!(items("[] {} []", &["items"]).unwrap(), vec!["{}"]);
        assert_eq!(items("", &["items"]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn broken_documents_fail_as_a_whole() {
        for (text, message) in [
            (r#"{"items":[{"a":1},{"a":"#, "EOF while parsing a value at line 1 column 23"),
            ("[1,2] garbage", "expected a JSON array or object of records at line 1 column 7"),
            ("[1,2,]", "trailing comma at line 1 column 6"),
            (r#"{"items":5}"#, "expected a JSON array or object of records at line 1 column 10"),
            (r#"{"items":[1 2]}"#, "expected `,` or `]` at line 1 column 13"),
            (r#"{"a" 1}"#, "expected `:` at line 1 column 6"),
            (r#"{"a":1,}"#, "key must be a string at line 1 column 8"),
            (r#"{"items":[1],"b":[}"#, "expected value at line 1 column 19"),
            ("[{\"a\":\n1,\n\"b\": tru}]", "expected ident at line 3 column 9"),
        ] {
            match items(text, &["items"]) {
                Err(DocumentError::Syntax(m)) => assert_eq!(m, message, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    /// An error inside a record is placed where serde_json, reading the whole document,
    /// places it, however far into the document it is and however it was read.
    #[test]
    fn errors_are_placed_in_the_document() {
        let mut text = String::from("{\"items\": [\n");
        for i in 0..5000 {
            text.push_str(&format!("  {{\"n\": {i}, \"s\": \"line\\n{i}\"}},\n"));
        }
        text.push_str("  {\"n\": 1, \"s\": \"x\" \"y\"}\n]}");
        let whole = serde_json::from_str::<Value>(&text).unwrap_err();
        for chunk in [1, 7, 4096, 1 << 20] {
            match items_read(text.as_bytes(), &["items"], chunk) {
                Err(DocumentError::Syntax(m)) => {
                    assert!(m.ends_with(&format!("at line {} column {}", whole.line(), whole.column())), "{m}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// A random JSON value: nested, with escapes, numbers of every shape and non-ASCII text.
    fn random_value(below: &mut impl FnMut(u64) -> u64, depth: u32) -> Value {
        const TEXT: [&str; 8] = ["", "a", "q\"uote", "back\\slash", "new\nline", "ünï", "}]{[,:", "\u{1F600}"];
        match below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(below(2) == 0),
            2 => serde_json::json!(below(1 << 40) as i64 - (1 << 39)),
            3 => serde_json::json!(below(1 << 30) as f64 / 1024.0 - 1e5),
            4 => Value::String(TEXT[below(8) as usize].repeat(below(3) as usize + 1)),
            5 => Value::Array((0..below(5)).map(|_| random_value(below, depth - 1)).collect()),
            _ => Value::Object((0..below(5)).map(|k| (format!("k{k}"), random_value(below, depth - 1))).collect()),
        }
    }

    /// A random document: a list of records, records under `items` (with other keys
    /// around them), a record without the path, or several of these one after another.
    fn random_document(below: &mut impl FnMut(u64) -> u64) -> String {
        let mut text = String::new();
        for _ in 0..below(3) + 1 {
            let records: Vec<Value> = (0..below(12)).map(|_| random_value(below, 3)).collect();
            let doc = match below(3) {
                0 => Value::Array(records),
                1 => {
                    serde_json::json!({"kind": random_value(below, 2), "items": records, "after": random_value(below, 2)})
                }
                _ => serde_json::json!({"kind": random_value(below, 2), "other": records}),
            };
            let printed = if below(2) == 0 { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) };
            text.push_str(&printed.unwrap());
            text.push_str(["", "\n", " \r\n\t"][below(3) as usize]);
        }
        text
    }

    /// Against the whole document parsed at once: the same records when it is valid, an
    /// error when it is not (cut short, or a byte changed), whatever the read size.
    #[test]
    fn random_documents_read_as_a_whole_parse_does() {
        let mut below = below_from(0x5eed_d0c5);
        let (mut valid, mut broken) = (0, 0);
        for case in 0..3000 {
            // Bytes, so that a cut or a changed byte may leave invalid UTF-8 too.
            let mut text = random_document(&mut below).into_bytes();
            match below(3) {
                0 => {}
                1 => text.truncate(below(text.len() as u64 + 1) as usize),
                _ => {
                    let at = below(text.len() as u64) as usize;
                    text[at] = b"{}[],:\" \\x1"[below(11) as usize];
                }
            }
            let chunk = [1, 2, 3, 17, 64 << 10][below(5) as usize];
            match (reference(&text, &["items"]), items_read(&text, &["items"], chunk)) {
                (Some(want), Ok(got)) => {
                    assert_eq!(got, want, "case {case}: {}", String::from_utf8_lossy(&text));
                    valid += 1;
                }
                (None, Err(DocumentError::Syntax(_))) => broken += 1,
                (want, got) => panic!(
                    "case {case} (read {chunk} at a time): {:?}\nwhole parse: {want:?}\nread: {got:?}",
                    String::from_utf8_lossy(&text)
                ),
            }
        }
        assert!(valid > 1000 && broken > 500, "{valid} valid, {broken} broken");
    }

    #[test]
    fn handler_errors_are_not_syntax() {
        let mut calls = 0;
        let read = for_each_item(r#"[{"a":1},{"a":2}]"#.as_bytes(), &["items"], &mut |_: Value| {
            calls += 1;
            Err(crate::error::Error::Internal("full".into()))
        });
        assert!(matches!(read, Err(DocumentError::Sink(_))));
        assert_eq!(calls, 1);
    }
}
