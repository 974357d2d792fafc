//! CSV with a header row. Header names map to columns exactly like JSON keys do; an empty
//! cell is a missing value. A row whose field count differs from the header's is rejected
//! (it is almost always a quoting error that would shift every value).

use std::borrow::Cow;
use std::io::Read;

use super::record::{Assembler, Row, Value};
use super::reject::{Reason, Reject};

/// Reads CSV records; calls `on_record` with each record's 1-based line number, its raw
/// text (for rejects) and its outcome.
pub fn read<R: Read>(
    input: R,
    asm: &Assembler,
    mut on_record: impl FnMut(u64, &[u8], Result<Row, Reject>) -> Result<(), crate::Error>,
) -> Result<(), crate::Error> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                let message = e.to_string();
                // An I/O error is the object failing (e.g. truncated gzip), not a bad record.
                if let csv::ErrorKind::Io(io) = e.into_kind() {
                    return Err(crate::Error::io("", io));
                }
                on_record(line, b"", Err(Reject::new(Reason::InvalidCsv, message)))?;
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        let Some(names) = &header else {
            header = Some(
                record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().trim_start_matches('\u{feff}').to_string())
                    .collect(),
            );
            continue;
        };
        let raw = join_raw(&record);
        let outcome = if record.len() != names.len() {
            Err(Reject::new(
                Reason::WrongFieldCount,
                format!("{} fields, the header has {}", record.len(), names.len()),
            ))
        } else {
            to_row(&record, names, asm)
        };
        on_record(line, &raw, outcome)?;
    }
}

fn to_row(record: &csv::ByteRecord, names: &[String], asm: &Assembler) -> Result<Row, Reject> {
    let mut fields = Vec::with_capacity(names.len());
    for (name, bytes) in names.iter().zip(record.iter()) {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Reject::new(Reason::InvalidUtf8, format!("field `{name}`: invalid UTF-8 at byte {}", e.valid_up_to()))
        })?;
        let value = if text.is_empty() { Value::Null } else { Value::Str(Cow::Borrowed(text)) };
        fields.push((name.as_str(), value));
    }
    asm.assemble(fields)
}

/// The record re-joined with commas, for `rejects.raw` (quoting is not reproduced).
fn join_raw(record: &csv::ByteRecord) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in record.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f);
    }
    out
}
