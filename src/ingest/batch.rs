//! Rows → Arrow. A [`DayBuffer`] holds the rows of one object per UTC day in Arrow
//! builders (and batches parsed elsewhere) until a flush hands them to the writer, which
//! sorts each day by `(ts, line)`, the order the warehouse promises inside every file.
//! Memory is bounded by the flush threshold, not by the object's size.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int32Builder, MapBuilder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
    UInt64Builder,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::error::ArrowError;

use super::record::{Cell, ColType, KindSpec, Row};
use super::reject::{Reject, raw_text};
use super::time::TsFlags;
use crate::tables::{Kind, REJECTS_SCHEMA};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day of a timestamp.
pub fn day_of(micros: i64) -> NaiveDate {
    let days = micros.div_euclid(MICROS_PER_DAY);
    NaiveDate::from_num_days_from_ce_opt(719_163 + days as i32).unwrap_or(NaiveDate::MIN)
}

enum ColumnBuilder {
    Timestamp(TimestampMicrosecondBuilder),
    Text(StringBuilder),
    Int32(Int32Builder),
    Float64(Float64Builder),
}

/// Builders for one kind's table.
pub struct TableBuilder {
    kind: Kind,
    columns: Vec<ColumnBuilder>,
    extras: MapBuilder<StringBuilder, StringBuilder>,
    ts_raw: StringBuilder,
    ts_flags: StringBuilder,
    /// The text of the flags the last row had: rows of one object mostly share theirs
    /// (every year-less syslog row is `year_inferred`), and naming them per row was ~3 %
    /// of a syslog ingest.
    last_flags: Option<(TsFlags, String)>,
    source: StringBuilder,
    line: UInt64Builder,
    len: usize,
}

/// How much a builder should hold before it grows: rows, and bytes of text per text
/// column. Growing by doubling copies every value once more; sized from the chunk it is
/// about to hold, a builder grows little.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    pub rows: usize,
    pub text_bytes: usize,
}

impl Capacity {
    /// The default small start of Arrow's builders.
    pub const SMALL: Capacity = Capacity { rows: 1024, text_bytes: 1024 };

    /// For `rows` records of `bytes` of input. Most text columns (service, host, level,
    /// ids) hold a sixteenth of a line or less; a longer one (the message) grows once or
    /// twice. Sizing every column for the longest costs more memory than the copies:
    /// glibc keeps freed blocks of this size in its heap, so a quarter per column put
    /// 60 MB on an ingest's peak RSS.
    pub fn for_input(rows: usize, bytes: usize) -> Capacity {
        Capacity { rows, text_bytes: bytes / 16 }
    }
}

impl TableBuilder {
    pub fn new(kind: Kind, spec: &KindSpec) -> Self {
        TableBuilder::with_capacity(kind, spec, Capacity::SMALL)
    }

    pub fn with_capacity(kind: Kind, spec: &KindSpec, cap: Capacity) -> Self {
        let text = || StringBuilder::with_capacity(cap.rows, cap.text_bytes);
        let columns = spec
            .columns
            .iter()
            .map(|c| match c.ty {
                ColType::Timestamp => {
                    ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(cap.rows).with_timezone("UTC"))
                }
                ColType::Text => ColumnBuilder::Text(text()),
                ColType::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(cap.rows)),
                ColType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(cap.rows)),
            })
            .collect();
        TableBuilder {
            kind,
            columns,
            extras: MapBuilder::with_capacity(None, text(), text(), cap.rows),
            ts_raw: text(),
            ts_flags: StringBuilder::new(),
            last_flags: None,
            source: text(),
            line: UInt64Builder::with_capacity(cap.rows),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn append(&mut self, row: &Row, source: &str, line: u64) -> Result<(), ArrowError> {
        for (b, cell) in self.columns.iter_mut().zip(&row.cells) {
            match (b, cell) {
                (ColumnBuilder::Timestamp(b), Cell::Timestamp(v)) => b.append_value(*v),
                (ColumnBuilder::Text(b), Cell::Text(v)) => b.append_value(v),
                (ColumnBuilder::Int32(b), Cell::Int32(v)) => b.append_value(*v),
                (ColumnBuilder::Float64(b), Cell::Float64(v)) => b.append_value(*v),
                (ColumnBuilder::Timestamp(b), Cell::Null) => b.append_null(),
                (ColumnBuilder::Text(b), Cell::Null) => b.append_null(),
                (ColumnBuilder::Int32(b), Cell::Null) => b.append_null(),
                (ColumnBuilder::Float64(b), Cell::Null) => b.append_null(),
                (_, cell) => {
                    return Err(ArrowError::InvalidArgumentError(format!(
                        "cell {cell:?} does not fit its column (bug in the {} spec)",
                        self.kind
                    )));
                }
            }
        }
        if row.extras.is_empty() {
            self.extras.append(false)?;
        } else {
            for (k, v) in &row.extras {
                self.extras.keys().append_value(k);
                self.extras.values().append_value(v);
            }
            self.extras.append(true)?;
        }
        match &row.ts_raw {
            Some(raw) => raw.with_text(|text| self.ts_raw.append_value(text)),
            None => self.ts_raw.append_null(),
        }
        self.append_flags(row.ts_flags);
        self.source.append_value(source);
        self.line.append_value(line);
        self.len += 1;
        Ok(())
    }

    fn append_flags(&mut self, flags: TsFlags) {
        if flags.is_empty() {
            return self.ts_flags.append_null();
        }
        if self.last_flags.as_ref().is_none_or(|(last, _)| *last != flags) {
            self.last_flags = flags.to_text().map(|text| (flags, text));
        }
        match &self.last_flags {
            Some((_, text)) => self.ts_flags.append_value(text),
            None => self.ts_flags.append_null(),
        }
    }

    /// Finishes the builders into a batch in append order.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let mut arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
                    ColumnBuilder::Text(b) => Arc::new(b.finish()),
                    ColumnBuilder::Int32(b) => Arc::new(b.finish()),
                    ColumnBuilder::Float64(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        arrays.push(Arc::new(self.extras.finish()));
        arrays.push(Arc::new(self.ts_raw.finish()));
        arrays.push(Arc::new(self.ts_flags.finish()));
        arrays.push(Arc::new(self.source.finish()));
        arrays.push(Arc::new(self.line.finish()));
        self.len = 0;
        RecordBatch::try_new(self.kind.schema(), arrays)
    }
}

/// The rows of one object, bucketed by UTC day: rows appended one by one, and batches
/// of rows built elsewhere (a parse worker's chunk).
pub struct DayBuffer {
    kind: Kind,
    spec: &'static KindSpec,
    days: BTreeMap<NaiveDate, Day>,
    rows: usize,
    capacity: Capacity,
}

struct Day {
    builder: TableBuilder,
    batches: Vec<RecordBatch>,
}

impl DayBuffer {
    pub fn new(kind: Kind, spec: &'static KindSpec) -> Self {
        DayBuffer::with_capacity(kind, spec, Capacity::SMALL)
    }

    /// A buffer whose days' builders start at `capacity`.
    pub fn with_capacity(kind: Kind, spec: &'static KindSpec, capacity: Capacity) -> Self {
        DayBuffer { kind, spec, days: BTreeMap::new(), rows: 0, capacity }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    fn day(&mut self, day: NaiveDate) -> &mut Day {
        let (kind, spec, cap) = (self.kind, self.spec, self.capacity);
        self.days
            .entry(day)
            .or_insert_with(|| Day { builder: TableBuilder::with_capacity(kind, spec, cap), batches: Vec::new() })
    }

    pub fn append(&mut self, row: &Row, source: &str, line: u64) -> Result<(), ArrowError> {
        self.day(day_of(row.ts())).builder.append(row, source, line)?;
        self.rows += 1;
        Ok(())
    }

    /// Takes in a batch of rows that all fall on `day`.
    pub fn absorb(&mut self, day: NaiveDate, batch: RecordBatch) {
        self.rows += batch.num_rows();
        self.day(day).batches.push(batch);
    }

    /// Each day's rows as the pieces they arrived in, oldest day first; the buffer is
    /// empty afterwards.
    pub fn take_pieces(&mut self) -> Result<Vec<(NaiveDate, Vec<RecordBatch>)>, ArrowError> {
        self.rows = 0;
        std::mem::take(&mut self.days)
            .into_iter()
            .map(|(day, mut d)| {
                if !d.builder.is_empty() {
                    d.batches.push(d.builder.finish()?);
                }
                d.batches.retain(|b| b.num_rows() > 0);
                Ok((day, d.batches))
            })
            .filter(|d| d.as_ref().map_or(true, |(_, pieces)| !pieces.is_empty()))
            .collect()
    }

    /// One batch per day in append order, oldest day first; the buffer is empty afterwards.
    pub fn take(&mut self) -> Result<Vec<(NaiveDate, RecordBatch)>, ArrowError> {
        let schema = self.kind.schema();
        self.take_pieces()?
            .into_iter()
            .map(|(day, mut pieces)| {
                let batch = match pieces.len() {
                    1 => pieces.pop().expect("one piece"),
                    _ => concat_batches(&schema, &pieces)?,
                };
                Ok((day, batch))
            })
            .collect()
    }
}

/// Builders for the `rejects` table.
pub struct RejectsBuilder {
    source: StringBuilder,
    line: UInt64Builder,
    table: StringBuilder,
    reason: StringBuilder,
    detail: StringBuilder,
    raw: StringBuilder,
    len: usize,
}

impl Default for RejectsBuilder {
    fn default() -> Self {
        RejectsBuilder {
            source: StringBuilder::new(),
            line: UInt64Builder::new(),
            table: StringBuilder::new(),
            reason: StringBuilder::new(),
            detail: StringBuilder::new(),
            raw: StringBuilder::new(),
            len: 0,
        }
    }
}

impl RejectsBuilder {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn append(&mut self, source: &str, line: u64, kind: Kind, reject: &Reject, raw: &[u8]) {
        self.source.append_value(source);
        self.line.append_value(line);
        self.table.append_value(kind.table());
        self.reason.append_value(reject.reason.code());
        self.detail.append_value(&reject.detail);
        self.raw.append_value(raw_text(raw));
        self.len += 1;
    }

    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.len = 0;
        RecordBatch::try_new(
            REJECTS_SCHEMA.clone(),
            vec![
                Arc::new(self.source.finish()),
                Arc::new(self.line.finish()),
                Arc::new(self.table.finish()),
                Arc::new(self.reason.finish()),
                Arc::new(self.detail.finish()),
                Arc::new(self.raw.finish()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0).to_string(), "1970-01-01");
        assert_eq!(day_of(1_795_132_799_999_999).to_string(), "2026-11-19");
        assert_eq!(day_of(1_795_132_800_000_000).to_string(), "2026-11-20");
        assert_eq!(day_of(-1).to_string(), "1969-12-31");
    }
}
