//! Sorting, encoding and storing one object's files on a thread of their own, so that
//! parsing goes on while zstd works: a flush hands its batches over and returns.
//!
//! One flush waits in the queue at most, which bounds memory at about three flushes'
//! worth of rows (the buffer filling, the one queued, the one being encoded).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, RecordBatch, TimestampMicrosecondArray, UInt64Array};
use datafusion::arrow::compute::interleave_record_batch;
use tokio::runtime::Handle;

use super::dedupe;
use crate::error::{Error, Result};
use crate::tables::Kind;
use crate::warehouse::{Warehouse, parquet};

/// One file to write.
pub struct FileJob {
    pub key: String,
    pub day: NaiveDate,
    /// The file's rows in pieces; sorted by `(ts, line)` on the way when `sort` is set.
    pub pieces: Vec<RecordBatch>,
    pub sort: bool,
    /// Record the rows' fingerprints (data tables, for duplicate resolution), with the
    /// hash of the object's stream ([`dedupe::stream_hash`]).
    pub fingerprint: Option<(Kind, u64)>,
}

/// What the writer did: the files it stored (also after an error, so they can be
/// removed), their fingerprints, and the first error.
#[derive(Default)]
pub struct Written {
    pub files: Vec<String>,
    /// Each data file's `[first, last]` timestamp (µs), for the manifest entry.
    pub spans: std::collections::BTreeMap<String, parquet::Span>,
    pub rows: dedupe::ObjectRows,
    pub error: Option<Error>,
}

pub struct Writer<'scope> {
    tx: Option<SyncSender<FileJob>>,
    thread: Option<ScopedJoinHandle<'scope, Written>>,
}

/// Every key the writer has stored, kept outside the writer so that a caller whose
/// parsing panicked (and so never sees [`Written`]) can still remove them.
pub type Stored = std::sync::Mutex<Vec<String>>;

impl<'scope> Writer<'scope> {
    pub fn spawn<'env>(
        scope: &'scope Scope<'scope, 'env>,
        warehouse: &'env Warehouse,
        handle: &'env Handle,
        stored: &'env Stored,
    ) -> Self {
        let (tx, rx) = sync_channel(1);
        let thread = scope.spawn(move || run(rx, warehouse, handle, stored));
        Writer { tx: Some(tx), thread: Some(thread) }
    }

    /// Queues a file; fails if the writer has stopped on an error ([`Writer::finish`] says which).
    pub fn send(&mut self, job: FileJob) -> Result<()> {
        match &self.tx {
            Some(tx) if tx.send(job).is_ok() => Ok(()),
            _ => Err(Error::Internal("the file writer stopped".into())),
        }
    }

    /// Waits for the queued files.
    pub fn finish(&mut self) -> Written {
        self.tx = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(written)) => written,
            Some(Err(_)) => {
                Written { error: Some(Error::Internal("the file writer panicked".into())), ..Default::default() }
            }
            None => Written::default(),
        }
    }
}

fn run(rx: Receiver<FileJob>, warehouse: &Warehouse, handle: &Handle, stored: &Stored) -> Written {
    let mut written = Written::default();
    for job in rx {
        if let Err(e) = write(&job, warehouse, handle, &mut written, stored) {
            written.error = Some(e);
            break; // dropping `rx` makes the next send fail
        }
    }
    written
}

fn write(job: &FileJob, warehouse: &Warehouse, handle: &Handle, written: &mut Written, stored: &Stored) -> Result<()> {
    let batches = if job.sort { sorted(&job.pieces)? } else { job.pieces.clone() };
    let bytes = parquet::encode_all(&batches, job.sort)?;
    handle.block_on(warehouse.put(&job.key, bytes))?;
    written.files.push(job.key.clone());
    stored.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(job.key.clone());
    if let Some((kind, stream)) = job.fingerprint {
        let (mut exact, mut loose) = (Vec::new(), Vec::new());
        for batch in &batches {
            let (e, l) = dedupe::fingerprints(batch, kind, stream)?;
            exact.extend(e);
            loose.extend(l);
        }
        written.rows.stream = stream;
        let span = parquet::ts_span(&batches);
        if let Some(span) = span {
            written.spans.insert(job.key.clone(), span);
        }
        written.rows.add(job.day, &job.key, span, &exact, &loose);
    }
    Ok(())
}

/// The pieces in `(ts, line)` order (rows without a time first). Logs mostly arrive in
/// time order, so the common case is a check (the pieces are returned as they are, not
/// copied); otherwise one gather from the pieces into one batch.
///
/// The order is found by sorting plain `(time, line)` keys: Arrow's `lexsort_to_indices`
/// compares through a dynamic comparator per column, and on a `query_range` export (one
/// sorted run per series) it was a fifth of the ingest's instructions. The standard
/// library's stable sort merges such runs instead of sorting from scratch.
fn sorted(pieces: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    let rows = pieces.iter().map(RecordBatch::num_rows).sum();
    // ((has a time, time), line, piece, row in piece)
    let mut keys: Vec<((bool, i64), u64, u32, u32)> = Vec::with_capacity(rows);
    for (p, piece) in pieces.iter().enumerate() {
        let column = |name: &str| {
            piece.column_by_name(name).ok_or_else(|| Error::Internal(format!("a batch to sort has no `{name}` column")))
        };
        let (ts, line) = (column("ts")?, column("line")?);
        let (Some(ts), Some(line)) =
            (ts.as_any().downcast_ref::<TimestampMicrosecondArray>(), line.as_any().downcast_ref::<UInt64Array>())
        else {
            return Err(Error::Internal("a batch to sort has `ts` or `line` of another type".into()));
        };
        let (t, l) = (ts.values(), line.values());
        keys.extend((0..piece.num_rows()).map(|r| {
            let time = if ts.is_valid(r) { (true, t[r]) } else { (false, 0) };
            (time, l[r], p as u32, r as u32)
        }));
    }
    if keys.is_sorted() {
        return Ok(pieces.to_vec());
    }
    keys.sort();
    let gather: Vec<(usize, usize)> = keys.iter().map(|&(_, _, p, r)| (p as usize, r as usize)).collect();
    let refs: Vec<&RecordBatch> = pieces.iter().collect();
    Ok(vec![interleave_record_batch(&refs, &gather)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::batch::DayBuffer;
    use crate::ingest::kinds;
    use crate::ingest::record::{Assembler, SourceDefaults, Value};
    use crate::ingest::time::TimeParser;

    fn piece(rows: &[(i64, u64)]) -> RecordBatch {
        let asm =
            Assembler::new(kinds::spec(Kind::Logs), TimeParser::new(chrono_tz::Tz::UTC), SourceDefaults::default());
        let mut days = DayBuffer::new(Kind::Logs, kinds::spec(Kind::Logs));
        for (ts, line) in rows {
            let row = asm.assemble([("ts", Value::Int(*ts)), ("msg", Value::Str(format!("m{line}").into()))]).unwrap();
            days.append(&row, "s", *line).unwrap();
        }
        days.take().unwrap().pop().unwrap().1
    }

    fn order(batch: &RecordBatch) -> Vec<u64> {
        batch.column_by_name("line").unwrap().as_any().downcast_ref::<UInt64Array>().unwrap().values().to_vec()
    }

    #[test]
    fn pieces_are_sorted_by_time_then_line() {
        let base = 1_795_096_800;
        let one = |batches: Vec<RecordBatch>| {
            datafusion::arrow::compute::concat_batches(&Kind::Logs.schema(), &batches).unwrap()
        };
        // In order across pieces: handed on as they are.
        let a = piece(&[(base, 1), (base + 1, 2)]);
        let b = piece(&[(base + 1, 3), (base + 5, 4)]);
        let kept = sorted(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(order(&one(kept)), vec![1, 2, 3, 4]);
        // Out of order within and across pieces: equal times keep line order.
        let c = piece(&[(base + 3, 5), (base, 6)]);
        let got = one(sorted(&[b, c, a]).unwrap());
        assert_eq!(order(&got), vec![1, 6, 2, 3, 5, 4]);
        let msg = got.column_by_name("msg").unwrap();
        assert_eq!(msg.as_any().downcast_ref::<datafusion::arrow::array::StringArray>().unwrap().value(1), "m6");
    }

    #[test]
    fn series_major_runs_are_merged() {
        let base = 1_795_096_800;
        let one = |batches: Vec<RecordBatch>| {
            datafusion::arrow::compute::concat_batches(&Kind::Logs.schema(), &batches).unwrap()
        };
        // Series-major input (a `query_range` export): many sorted runs, in pieces that
        // split runs, with repeated times across runs; the result is ordered by time,
        // then line, and every row is there once.
        let mut rows: Vec<(i64, u64)> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for series in 0..7u64 {
            let mut t = base + (series as i64 % 3);
            for k in 0..40u64 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                t += (seed % 3) as i64;
                rows.push((t, series * 100 + k));
            }
        }
        let runs: Vec<RecordBatch> = rows.chunks(33).map(piece).collect();
        let got = order(&one(sorted(&runs).unwrap()));
        let mut want = rows.clone();
        want.sort();
        assert_eq!(got, want.iter().map(|r| r.1).collect::<Vec<_>>());
    }
}
