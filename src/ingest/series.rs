//! Prometheus `query_range` (and instant `query`) responses on every core.
//!
//! A reader thread parses the document one item of `data.result` at a time
//! ([`document::for_each_item`]) and deals runs of whole series to the workers; each
//! worker turns its run's samples into Arrow batches (one per UTC day); the calling
//! thread takes the results in run order and hands them to the sink, as
//! [`super::chunks`] does for lines. Samples are numbered in document order whatever the
//! threads' timing, so the output is the same as a sequential read's. A run whose times
//! depended on the rows before it ([`super::time`]) is read again on the calling thread.
//!
//! (Read on one thread, a `query_range` ingest was 0.9M samples/s: the JSON parse, the
//! rows and the Arrow builders all waited on each other.)

use std::io::BufRead;
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;

use super::batch::{Capacity, DayBuffer};
use super::chunks::{self, ChunkSink, TimeReport};
use super::document;
use super::lines::{self, Counts};
use super::matrix::Item;
use super::prometheus;
use super::record::Assembler;
use super::reject::Reject;
use super::samples::{emit_part, pair, samples_in};
use super::time::TimeState;
use crate::error::{Error, Result};
use crate::tables::Kind;

/// Where a response keeps its series.
const RESULT: &[&str] = &["data", "result"];

/// What reads one response.
pub struct Parse<'a> {
    pub kind: Kind,
    /// Names series without a `__name__` (an aggregation).
    pub metric: Option<&'a str>,
    /// The `source` column (the object's URL).
    pub source: &'a str,
    /// Samples per run at least (a run holds whole series): the sink's flush threshold.
    pub chunk_lines: usize,
}

/// Items of `data.result` (or parts of a long series), and the number of the sample
/// before their first.
struct Run {
    parts: Vec<Part>,
    before: u64,
    samples: u64,
}

/// Samples `points` of an item (`0..1` for an item that is one record).
struct Part {
    item: Arc<Item>,
    points: Range<usize>,
}

/// A worker's result for one run.
struct Done {
    run: Run,
    batches: Vec<(NaiveDate, RecordBatch)>,
    /// (sample, reject, raw text)
    rejects: Vec<(u64, Reject, Vec<u8>)>,
    time: TimeReport,
}

/// Reads a response with `workers` threads.
pub fn read(
    input: Box<dyn BufRead + Send>,
    parse: &Parse<'_>,
    asm: &Assembler,
    workers: usize,
    sink: &mut dyn ChunkSink,
) -> Result<Counts> {
    let min_samples = parse.chunk_lines.clamp(1, chunks::CHUNK_LINES) as u64;
    chunks::pipeline(
        "response reader",
        workers,
        || {
            let wasm = asm.fork();
            move |run| parse_run(run, parse, &wasm)
        },
        move |to_workers| split(input, parse.metric, min_samples, to_workers),
        |from_workers| collect(from_workers, parse, asm, sink),
    )?;
    Ok(Counts::default())
}

/// The reader: items → runs of `min_samples` samples, dealt round-robin. A series longer
/// than that is dealt in parts (shared, not copied), so that what is in flight stays a
/// few runs of rows however long a series is.
fn split(
    input: Box<dyn BufRead + Send>,
    metric: Option<&str>,
    min_samples: u64,
    to_workers: Vec<SyncSender<Run>>,
) -> Result<()> {
    let mut run = Run { parts: Vec::new(), before: 0, samples: 0 };
    let (mut dealt, mut numbered) = (0usize, 0u64);
    let mut bare = Vec::new();
    let mut stopped = false;
    let read = document::for_each_item(input, RESULT, &mut |item: Item| {
        let item = match item {
            Item::Series(series) => {
                if let Some(message) = prometheus::error_response(&series.rest) {
                    return Err(Error::Object { object: String::new(), message });
                }
                Item::Series(series)
            }
            Item::Json(bare_item) => match pair(&mut bare, bare_item) {
                Some(pair) => Item::Json(pair),
                None => return Ok(()),
            },
        };
        let samples = samples_in(&item, metric);
        let item = Arc::new(item);
        let mut done = 0u64;
        while done < samples {
            let take = (samples - done).min(min_samples - run.samples);
            let points = done as usize..(done + take) as usize;
            run.parts.push(Part { item: item.clone(), points });
            (done, run.samples, numbered) = (done + take, run.samples + take, numbered + take);
            if run.samples >= min_samples {
                let full = std::mem::replace(&mut run, Run { parts: Vec::new(), before: numbered, samples: 0 });
                if to_workers[dealt % to_workers.len()].send(full).is_err() {
                    stopped = true;
                    return Err(Error::Internal("the collector stopped".into()));
                }
                dealt += 1;
            }
        }
        Ok(())
    });
    match read {
        Err(document::DocumentError::Sink(_)) if stopped => return Ok(()), // the collector reports why
        other => other.map_err(lines::document_error)?,
    }
    // A scalar's time without its value is a record too: it is rejected, not dropped.
    if let Some(lone) = bare.pop() {
        run.parts.push(Part { item: Arc::new(Item::Json(serde_json::Value::Array(vec![lone]))), points: 0..1 });
    }
    if !run.parts.is_empty() {
        // A failed send means the collector stopped; it reports why.
        let _ = to_workers[dealt % to_workers.len()].send(run);
    }
    Ok(())
}

fn parse_run(mut run: Run, parse: &Parse<'_>, asm: &Assembler) -> Result<Done> {
    TimeReport::start(asm);
    // Labels and values are short: a sixteenth of a kilobyte per sample is plenty.
    let samples = usize::try_from(run.samples).unwrap_or(usize::MAX);
    let capacity = Capacity { rows: samples, text_bytes: samples.saturating_mul(16) };
    let mut days = DayBuffer::with_capacity(parse.kind, asm.spec(), capacity);
    let mut rejects = Vec::new();
    let mut n = run.before;
    {
        let mut emit = chunks::emit_to_days(&mut days, &mut rejects, parse.source, asm);
        for part in &run.parts {
            emit_part(&part.item, part.points.clone(), parse.metric, &mut n, asm, &mut emit)?;
        }
    }
    let time = TimeReport::take(asm);
    if !time.may_depend() {
        // Not needed again: let go here (a series is freed with its last part) rather
        // than held while the run's batches wait for the collector.
        run.parts = Vec::new();
    }
    Ok(Done { batches: days.take()?, rejects, time, run })
}

/// The calling thread: results in run order → the sink.
fn collect(
    from_workers: &[Receiver<Result<Done>>],
    parse: &Parse<'_>,
    asm: &Assembler,
    sink: &mut dyn ChunkSink,
) -> Result<()> {
    let mut state = TimeState::default();
    for i in 0.. {
        // A worker that hangs up has had every run dealt to it; so have the others.
        let Ok(done) = from_workers[i % from_workers.len()].recv() else { break };
        let done = done?;
        let Some(after) = done.time.after(state) else {
            // Parsed again in order, from the state the runs before left.
            asm.time().set_state(state);
            let mut n = done.run.before;
            let mut to_sink = chunks::emit_to(sink);
            for part in &done.run.parts {
                emit_part(&part.item, part.points.clone(), parse.metric, &mut n, asm, &mut to_sink)?;
            }
            state = chunks::settle(asm);
            continue;
        };
        state = after;
        for (day, batch) in done.batches {
            sink.batch(day, batch)?;
        }
        for (line, reject, raw) in &done.rejects {
            sink.reject(*line, reject, raw)?;
        }
    }
    Ok(())
}
