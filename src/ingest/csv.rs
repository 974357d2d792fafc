//! CSV with a header row. Header names map to columns exactly like JSON keys do; an empty
//! cell is a missing value. A row whose field count differs from the header's is rejected
//! (it is almost always a quoting error that would shift every value).
//!
//! Memory stays bounded like for the line formats: the CSV parser reads through
//! [`BoundedInput`], which hands it lines of at most [`reader::MAX_LINE`] bytes and never
//! lets one record (quoted fields may span lines) grow past that either. A line or record
//! that would is cut short and rejected as `line_too_long`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::rc::Rc;

use super::reader::{self, Line, Lines};
use super::record::{Assembler, Row, Value};
use super::reject::{Reason, Reject};

/// What the input adapter tells the record loop.
#[derive(Debug, Default)]
struct Side {
    /// Physical lines (1-based) whose record was cut, with the record's length so far.
    cut: BTreeMap<u64, usize>,
    /// Blank lines outside quotes: not fed to the parser (it would skip them and count
    /// lines differently), so `shifts` maps the parser's line numbers back.
    blank: u64,
    /// Parser line → offset to add from that line on.
    shifts: BTreeMap<u64, u64>,
}

impl Side {
    /// The physical line of the parser's line `fed`.
    fn physical(&self, fed: u64) -> u64 {
        fed + self.shifts.range(..=fed).next_back().map_or(0, |(_, d)| *d)
    }
}

/// Feeds the CSV parser bounded lines. A too-long line becomes a one-space line (so the
/// parser yields a record for it); a quoted record that grows too long is closed with a
/// `"` at the end of the line where it crossed the limit. Both are recorded in `side`.
struct BoundedInput<R> {
    lines: Lines<R>,
    pending: Vec<u8>,
    at: usize,
    in_quotes: bool,
    record_start: u64,
    record_len: usize,
    fed: u64,
    side: Rc<RefCell<Side>>,
}

impl<R: BufRead> Read for BoundedInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pending.len() {
            self.pending.clear();
            self.at = 0;
            let (n, line) = loop {
                let Some((n, line)) = self.lines.next_line()? else { return Ok(0) };
                if !self.in_quotes && matches!(line, Line::Text(t) if t.iter().all(u8::is_ascii_whitespace)) {
                    self.side.borrow_mut().blank += 1;
                    continue;
                }
                break (n, line);
            };
            self.fed += 1;
            let shift = n - self.fed;
            let mut side = self.side.borrow_mut();
            if side.physical(self.fed) != n {
                side.shifts.insert(self.fed, shift);
            }
            if !self.in_quotes {
                self.record_start = n;
                self.record_len = 0;
            }
            match line {
                Line::TooLong { len, .. } => {
                    side.cut.insert(self.record_start, self.record_len + len);
                    self.pending.push(if self.in_quotes { b'"' } else { b' ' });
                    self.in_quotes = false;
                }
                Line::Text(text) => {
                    self.record_len += text.len() + 1;
                    let quotes = memchr::memchr_iter(b'"', text).count();
                    self.in_quotes ^= quotes % 2 == 1;
                    self.pending.extend_from_slice(text);
                    if self.in_quotes && self.record_len > reader::MAX_LINE {
                        side.cut.insert(self.record_start, self.record_len);
                        self.pending.push(b'"');
                        self.in_quotes = false;
                    }
                }
            }
            self.pending.push(b'\n');
        }
        let n = (self.pending.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// One CSV record as the record loop hands it over.
pub enum Record<'r> {
    /// A record with as many fields as the header: the header's names and the fields.
    Fields(&'r [String], &'r csv::ByteRecord),
    /// A record refused before its fields were looked at, and its text.
    Rejected(Reject, Vec<u8>),
}

/// The record loop: the header, then each record with its 1-based line number (the
/// line it starts on). Returns the number of blank lines. The parallel reader
/// (`chunks`) runs it on its reader thread and hands the records to worker threads.
pub fn records<R: BufRead>(
    input: R,
    mut on_record: impl FnMut(u64, Record<'_>) -> Result<(), crate::error::Error>,
) -> Result<u64, crate::error::Error> {
    let side: Rc<RefCell<Side>> = Rc::default();
    let bounded = BoundedInput {
        lines: Lines::new(input, reader::MAX_LINE),
        pending: Vec::new(),
        at: 0,
        in_quotes: false,
        record_start: 1,
        record_len: 0,
        fed: 0,
        side: side.clone(),
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(bounded);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(side.borrow().blank),
            Ok(true) => {}
            Err(e) => {
                let message = e.to_string();
                // An I/O error is the object failing (e.g. truncated gzip), not a bad record.
                if let csv::ErrorKind::Io(io) = e.into_kind() {
                    return Err(crate::error::Error::io("", io));
                }
                let line = side.borrow().physical(line);
                on_record(line, Record::Rejected(Reject::new(Reason::InvalidCsv, message), Vec::new()))?;
                continue;
            }
        }
        let line = side.borrow().physical(record.position().map_or(line, |p| p.line()));
        if let Some(len) = side.borrow_mut().cut.remove(&line) {
            let reject = Reject::new(
                Reason::LineTooLong,
                format!("record of {len} bytes exceeds the {} byte limit", reader::MAX_LINE),
            );
            on_record(line, Record::Rejected(reject, join_raw(&record)))?;
            continue;
        }
        let Some(names) = &header else {
            header = Some(
                record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().trim_start_matches('\u{feff}').to_string())
                    .collect(),
            );
            continue;
        };
        if record.len() != names.len() {
            let reject = Reject::new(
                Reason::WrongFieldCount,
                format!("{} fields, the header has {}", record.len(), names.len()),
            );
            on_record(line, Record::Rejected(reject, join_raw(&record)))?;
            continue;
        }
        on_record(line, Record::Fields(names, &record))?;
    }
}

/// Where each field of a record ends in its fields back to back (`ByteRecord::as_slice`).
pub fn field_ends(record: &csv::ByteRecord) -> impl Iterator<Item = usize> + Clone + '_ {
    record.iter().scan(0, |at, f| {
        *at += f.len();
        Some(*at)
    })
}

/// A record's fields (`bytes`, the fields back to back, each ending at the next of
/// `ends`) as a row of the header's `names`.
pub fn to_row<'a>(
    bytes: &'a [u8],
    ends: impl Iterator<Item = usize> + Clone,
    names: &'a [String],
    asm: &Assembler,
) -> Result<Row<'a>, Reject> {
    let starts = std::iter::once(0).chain(ends.clone());
    let ranges = starts.zip(ends.clone());
    let field = |text: &'a str| if text.is_empty() { Value::Null } else { Value::Str(Cow::Borrowed(text)) };
    // The whole record is checked at once (the usual case: valid), and its fields are
    // slices of it, handed to the assembler with no list in between; only an invalid
    // record is looked at field by field, to name the field. (Valid as a whole but not
    // field by field: a character cut by a field boundary.)
    if let Some(text) = std::str::from_utf8(bytes).ok().filter(|text| ends.clone().all(|e| text.is_char_boundary(e))) {
        return asm.assemble(names.iter().zip(ranges).map(|(name, (a, b))| (name.as_str(), field(&text[a..b]))));
    }
    let mut fields = Vec::with_capacity(names.len());
    for (name, (a, b)) in names.iter().zip(ranges) {
        fields.push(std::str::from_utf8(&bytes[a..b]).map_err(|e| {
            let at = e.valid_up_to();
            Reject::new(Reason::InvalidUtf8, format!("field `{name}`: invalid UTF-8 at byte {at}"))
        })?);
    }
    asm.assemble(names.iter().zip(fields).map(|(name, text)| (name.as_str(), field(text))))
}

/// The record re-joined with commas, for `rejects.raw` (quoting is not reproduced).
pub fn join_raw(record: &csv::ByteRecord) -> Vec<u8> {
    join_fields(record.iter())
}

/// Fields joined with commas (a record's text as a reject shows it).
pub fn join_fields<'f>(fields: impl Iterator<Item = &'f [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::record::{Cell, SourceDefaults};
    use crate::ingest::{kinds, time::TimeParser};
    use crate::tables::Kind;

    /// Each record's outcome as text: its line, then the service column or the reject.
    fn outcomes(input: &[u8]) -> Vec<String> {
        let asm =
            Assembler::new(kinds::spec(Kind::Logs), TimeParser::new(chrono_tz::Tz::UTC), SourceDefaults::default());
        let mut out = Vec::new();
        records(input, |line, record| {
            out.push(match record {
                Record::Fields(names, record) => match to_row(record.as_slice(), field_ends(record), names, &asm) {
                    Ok(row) => format!("{line} {:?}", row.cells[1]),
                    Err(r) => format!(
                        "{line} {} {} [{}]",
                        r.reason.code(),
                        r.detail,
                        String::from_utf8_lossy(&join_raw(record))
                    ),
                },
                Record::Rejected(r, raw) => {
                    format!("{line} {} {} [{}]", r.reason.code(), r.detail, String::from_utf8_lossy(&raw))
                }
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn fields_are_checked_for_utf8_one_by_one_when_the_record_is_not_valid() {
        let got = outcomes(
            b"ts,service,host\n\
              2026-11-19T14:02:00Z,caf\xc3\xa9,h1\n\
              2026-11-19T14:02:01Z,bad\xff,h1\n\
              2026-11-19T14:02:02Z,cut\xc3,\xa9h\n\
              2026-11-19T14:02:03Z,two\n",
        );
        assert_eq!(got[0], format!("2 {:?}", Cell::Text("café".into())));
        assert_eq!(
            got[1],
            "3 invalid_utf8 field `service`: invalid UTF-8 at byte 3 [2026-11-19T14:02:01Z,bad\u{fffd},h1]"
        );
        // Valid as a whole, but a field boundary cuts the character in two.
        assert!(got[2].starts_with("4 invalid_utf8 field `service`: invalid UTF-8 at byte 3"), "{}", got[2]);
        assert_eq!(got[3], "5 wrong_field_count 2 fields, the header has 3 [2026-11-19T14:02:03Z,two]");
        assert_eq!(got.len(), 4);
    }
}
