//! Sorting, encoding and storing one object's files on threads of their own, so that
//! parsing goes on while zstd works: a flush hands its batches over and returns.
//!
//! One flush waits in the queue at most, which bounds memory at about three flushes'
//! worth of rows (the buffer filling, the one queued, the one being encoded). An input
//! whose rows come faster than one thread encodes them (metrics samples) gets a second
//! encoder on the same queue ([`Writer::add_encoder`]); files keep the order they were
//! sent in, whichever encoder wrote them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// In the order they were sent, whichever encoder wrote them.
    pub files: Vec<String>,
    /// Each data file's `[first, last]` timestamp (µs), for the manifest entry.
    pub spans: std::collections::BTreeMap<String, parquet::Span>,
    pub rows: dedupe::ObjectRows,
    pub error: Option<Error>,
}

/// What one encoder did; files and the error carry the order they were sent in.
#[derive(Default)]
struct Encoded {
    files: Vec<(u64, String)>,
    spans: std::collections::BTreeMap<String, parquet::Span>,
    rows: dedupe::ObjectRows,
    error: Option<(u64, Error)>,
}

pub struct Writer<'scope> {
    tx: Option<SyncSender<(u64, FileJob)>>,
    sent: u64,
    threads: Vec<ScopedJoinHandle<'scope, Encoded>>,
    /// Starts one more encoder on the same queue (`None` once every encoder stopped).
    spawn_encoder: Box<dyn FnMut() -> Option<ScopedJoinHandle<'scope, Encoded>> + 'scope>,
}

/// Every key the writer has stored, kept outside the writer so that a caller whose
/// parsing panicked (and so never sees [`Written`]) can still remove them.
pub type Stored = std::sync::Mutex<Vec<String>>;

/// Encoders a writer may have ([`Writer::add_encoder`]).
const MAX_ENCODERS: usize = 2;

impl<'scope> Writer<'scope> {
    /// A writer with one encoder thread.
    pub fn spawn<'env>(
        scope: &'scope Scope<'scope, 'env>,
        warehouse: &'env Warehouse,
        handle: &'env Handle,
        stored: &'env Stored,
    ) -> Self {
        // A queue of one flush: parsing goes on while the encoder works.
        let (tx, rx) = sync_channel(1);
        let rx = Arc::new(Mutex::new(rx));
        let failed = Arc::new(AtomicBool::new(false));
        // Only the encoders hold the receiver: when the last one stops (on an error),
        // it is dropped and the next send fails instead of waiting forever.
        let queue = Arc::downgrade(&rx);
        let spawn_encoder = Box::new(move || {
            let (rx, failed) = (queue.upgrade()?, Arc::clone(&failed));
            Some(scope.spawn(move || run(&rx, &failed, warehouse, handle, stored)))
        });
        let threads = spawn_encoder().into_iter().collect();
        drop(rx);
        Writer { tx: Some(tx), sent: 0, threads, spawn_encoder }
    }

    /// Starts a second encoder, for inputs whose rows come faster than one thread
    /// encodes them. It takes flushes from the same queue, so memory holds about four
    /// flushes' worth of rows instead of three (the buffer filling, one queued, two
    /// being encoded). Files keep the order they were sent in ([`Writer::finish`]).
    pub fn add_encoder(&mut self) {
        if self.threads.len() < MAX_ENCODERS
            && self.tx.is_some()
            && let Some(thread) = (self.spawn_encoder)()
        {
            self.threads.push(thread);
        }
    }

    /// Hands a file over; fails if the writer has stopped on an error ([`Writer::finish`] says which).
    pub fn send(&mut self, job: FileJob) -> Result<()> {
        self.sent += 1;
        match &self.tx {
            Some(tx) if tx.send((self.sent, job)).is_ok() => Ok(()),
            _ => Err(Error::Internal("the file writer stopped".into())),
        }
    }

    /// Waits for the files handed over, and puts what the encoders did together in the
    /// order the files were sent.
    pub fn finish(&mut self) -> Written {
        self.tx = None;
        let mut files: Vec<(u64, String)> = Vec::new();
        let mut written = Written::default();
        let mut first_error: Option<(u64, Error)> = None;
        for thread in self.threads.drain(..) {
            let encoded = match thread.join() {
                Ok(encoded) => encoded,
                Err(_) => Encoded {
                    error: Some((0, Error::Internal("the file writer panicked".into()))),
                    ..Default::default()
                },
            };
            files.extend(encoded.files);
            written.spans.extend(encoded.spans);
            written.rows.merge(encoded.rows);
            if let Some((seq, e)) = encoded.error
                && first_error.as_ref().is_none_or(|(first, _)| seq < *first)
            {
                first_error = Some((seq, e));
            }
        }
        files.sort_unstable_by_key(|(seq, _)| *seq);
        let order: HashMap<&str, u64> = files.iter().map(|(seq, key)| (key.as_str(), *seq)).collect();
        written.rows.order_files(|key| order.get(key).copied().unwrap_or(u64::MAX));
        written.files = files.into_iter().map(|(_, key)| key).collect();
        written.error = first_error.map(|(_, e)| e);
        written
    }
}

fn run(
    rx: &Mutex<Receiver<(u64, FileJob)>>,
    failed: &AtomicBool,
    warehouse: &Warehouse,
    handle: &Handle,
    stored: &Stored,
) -> Encoded {
    let mut encoded = Encoded::default();
    loop {
        // The lock is held only to take a job, so a second encoder takes the next one
        // while the first encodes.
        let next = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((seq, job)) = next else { break };
        if failed.load(Ordering::Relaxed) {
            break;
        }
        if let Err(e) = write(seq, &job, warehouse, handle, &mut encoded, stored) {
            encoded.error = Some((seq, e));
            // Every encoder stops; once all have, dropping the receiver makes the next
            // send fail.
            failed.store(true, Ordering::Relaxed);
            break;
        }
    }
    encoded
}

fn write(
    seq: u64,
    job: &FileJob,
    warehouse: &Warehouse,
    handle: &Handle,
    written: &mut Encoded,
    stored: &Stored,
) -> Result<()> {
    let batches = if job.sort { sorted(&job.pieces)? } else { job.pieces.clone() };
    let bytes = parquet::encode_all(&batches, job.sort)?;
    handle.block_on(warehouse.put(&job.key, bytes))?;
    written.files.push((seq, job.key.clone()));
    stored.lock().unwrap_or_else(PoisonError::into_inner).push(job.key.clone());
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

    /// What a writer did, in a form two runs can be compared by: files in order, spans,
    /// and per day the files, the span and the sorted fingerprint counts.
    type Summary = (
        Vec<String>,
        Vec<(String, parquet::Span)>,
        u64,
        Vec<(NaiveDate, Vec<String>, Option<parquet::Span>, Vec<(u64, u32)>, Vec<(u64, u32)>)>,
    );

    fn write_all(
        encoders: usize,
        jobs: &[(NaiveDate, Vec<RecordBatch>)],
        bad: Option<usize>,
    ) -> (Summary, Option<String>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(&dir.path().display().to_string()).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let stored = Stored::default();
        let written = std::thread::scope(|scope| {
            let mut writer = Writer::spawn(scope, &wh, rt.handle(), &stored);
            for _ in 1..encoders {
                writer.add_encoder();
            }
            for (n, (day, pieces)) in jobs.iter().enumerate() {
                // A piece without its `ts` column cannot be sorted: the writer's own error.
                let pieces = if bad == Some(n) { vec![pieces[0].project(&[1]).unwrap()] } else { pieces.clone() };
                let key = format!("logs/date={day}/o-v-{n:04}.parquet");
                let job = FileJob { key, day: *day, pieces, sort: true, fingerprint: Some((Kind::Logs, 7)) };
                if writer.send(job).is_err() {
                    break;
                }
            }
            writer.finish()
        });
        let mut stored = stored.into_inner().unwrap();
        stored.sort();
        let sorted_counts = |m: &dedupe::Multiset| {
            let mut v: Vec<(u64, u32)> = m.iter().map(|(k, v)| (*k, *v)).collect();
            v.sort();
            v
        };
        let days = written
            .rows
            .days
            .iter()
            .map(|(d, r)| (*d, r.files.clone(), r.span, sorted_counts(&r.exact), sorted_counts(&r.loose)))
            .collect();
        let spans = written.spans.iter().map(|(k, v)| (k.clone(), *v)).collect();
        ((written.files, spans, written.rows.stream, days), written.error.map(|e| e.to_string()), stored)
    }

    #[test]
    fn two_encoders_write_what_one_writes_in_the_order_sent() {
        let base = 1_795_096_800;
        let mut next = crate::test_rng::below_from(0x9e37_79b9_7f4a_7c15);
        // Files of very different sizes on three days, so that encoders finish out of
        // order; repeated messages and times, so that fingerprint counts exceed one.
        let jobs: Vec<(NaiveDate, Vec<RecordBatch>)> = (0..14)
            .map(|_| {
                let day = next(3) as i64;
                let rows: Vec<(i64, u64)> =
                    (0..1 + next(4000)).map(|_| (base + day * 86_400 + next(86_000) as i64, next(300))).collect();
                let pieces = rows.chunks(700).map(piece).collect::<Vec<_>>();
                (day_of(base + day * 86_400), pieces)
            })
            .collect();
        let (one, none, _) = write_all(1, &jobs, None);
        assert_eq!(none, None);
        assert_eq!(one.0.len(), 14);
        assert!(one.3.iter().any(|d| d.3.iter().any(|(_, n)| *n > 1)), "the case has repeated rows");
        for encoders in [2, 3] {
            let (many, error, stored) = write_all(encoders, &jobs, None);
            assert_eq!(error, None);
            assert_eq!(many, one, "{encoders} encoders");
            let mut files = many.0.clone();
            files.sort();
            assert_eq!(stored, files);
        }
        // An error stops every encoder, names the failing file's cause, and every file
        // stored before it is reported for removal.
        for encoders in [1, 2] {
            let (done, error, stored) = write_all(encoders, &jobs, Some(5));
            assert!(error.as_deref().is_some_and(|e| e.contains("no `ts` column")), "{error:?}");
            let mut files = done.0.clone();
            files.sort();
            assert_eq!(stored, files);
            assert!(done.0.len() < 14, "{encoders} encoders wrote {} files", done.0.len());
        }
    }

    fn day_of(secs: i64) -> NaiveDate {
        crate::ingest::batch::day_of(secs * 1_000_000)
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
        let mut next = crate::test_rng::below_from(0x2545_f491_4f6c_dd1d);
        for series in 0..7u64 {
            let mut t = base + (series as i64 % 3);
            for k in 0..40u64 {
                t += next(3) as i64;
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
