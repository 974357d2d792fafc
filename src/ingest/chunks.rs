//! Parallel parsing of one object in a line format (JSON Lines, logfmt, Prometheus text,
//! text patterns).
//!
//! A reader thread decompresses and splits the object into chunks of lines; workers parse
//! chunks into Arrow batches (one per UTC day); the calling thread takes the results in
//! chunk order and hands them to a [`ChunkSink`], which sorts and writes them. Chunks go to
//! workers round-robin and are collected round-robin, so the output is the same whatever
//! the threads' timing, and bounded channels keep a fixed number of chunks in flight.
//!
//! Timestamps are the one thing a line cannot always decide alone: a year-less time and
//! a wall-clock time repeated by a DST fall-back depend on the rows before
//! ([`super::time`]). A worker parses its chunk from a blank state and says whether any
//! row consulted it; such a chunk is parsed again on the calling thread with the state
//! its predecessors left, so the rows are exactly those of a sequential read.
//!
//! Under a `continuation` pattern a record may span lines, and so chunks. A worker
//! leaves to the calling thread what its chunk cannot decide alone: the lines before the
//! chunk's first record (more of the record the chunk before ended with, or rejects if
//! there is none) and its last record (the next chunk may continue it). The calling
//! thread holds that record, appends the next chunk's leading lines to it and emits it
//! with the time state of the rows before it, as a sequential read would.

use std::io::BufRead;
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;

use super::batch::{Capacity, DayBuffer};
use super::lines::{self, Counts, LineParser, Pending};
use super::pattern::LinePattern;
use super::reader;
use super::record::{Assembler, Emit, Row};
use super::reject::Reject;
use super::seen_series::SeenSeries;
use super::time::TimeState;
use super::{csv, jsonl};
use crate::config::Format;
use crate::error::{Error, Result};
use crate::tables::Kind;

/// Bytes of line text per chunk: big enough to amortize the hand-offs, small enough
/// that the chunks in flight stay a few megabytes.
const CHUNK_BYTES: usize = 1 << 20;
/// Lines per chunk at most (short lines).
pub const CHUNK_LINES: usize = 8192;
/// Chunks (or runs of series) queued per worker, each way.
const QUEUE: usize = 2;

/// Where the parsed chunks go, in line order.
pub trait ChunkSink {
    /// A batch of rows of one UTC day, in line order.
    fn batch(&mut self, day: NaiveDate, batch: RecordBatch) -> Result<()>;
    /// One row (a chunk parsed again in order).
    fn row(&mut self, row: &Row<'_>, line: u64) -> Result<()>;
    fn reject(&mut self, line: u64, reject: &Reject, raw: &[u8]) -> Result<()>;
}

/// What parses one object.
pub struct Parse<'a> {
    pub format: Format,
    pub pattern: Option<&'a LinePattern>,
    pub kind: Kind,
    /// The `source` column (the object's URL).
    pub source: &'a str,
    /// Lines per chunk at most: the sink's flush threshold, so that what it buffers stays
    /// under twice that (capped by [`CHUNK_LINES`]).
    pub chunk_lines: usize,
}

/// A run of lines: their text back to back and where each one is. For CSV, a run of
/// records: each record's fields back to back, where each field ends, and the header.
struct Chunk {
    text: Vec<u8>,
    lines: Vec<LineAt>,
    max_lines: usize,
    /// CSV: the header's names (set for a chunk of records).
    names: Option<Arc<[String]>>,
    /// CSV: where each field ends, from its record's start (`LineAt::fields` indexes it).
    field_ends: Vec<usize>,
    /// CSV: records the record loop refused (line, reject, raw text).
    rejects: Vec<(u64, Reject, Vec<u8>)>,
    /// The bytes of their raw text.
    refused_bytes: usize,
}

struct LineAt {
    number: u64,
    start: usize,
    end: usize,
    /// Set for a line over the limit: its full length (`text` holds its head).
    too_long: Option<usize>,
    /// CSV: this record's entries in `Chunk::field_ends`.
    fields: Range<usize>,
}

impl<'a> Parse<'a> {
    /// A parser for records that span lines, under a `continuation` pattern.
    fn joiner(&self) -> Option<LineParser<'a>> {
        self.pattern.filter(|p| p.continuation).map(LineParser::new)
    }
}

impl Chunk {
    fn new(max_lines: usize) -> Chunk {
        Chunk {
            text: Vec::with_capacity(CHUNK_BYTES + 4096),
            lines: Vec::with_capacity(max_lines),
            max_lines,
            names: None,
            field_ends: Vec::new(),
            rejects: Vec::new(),
            refused_bytes: 0,
        }
    }

    /// Reads the next line into the chunk; false at the end of the input.
    fn read_line<R: BufRead>(&mut self, lines: &mut reader::Lines<R>) -> std::io::Result<bool> {
        let start = self.text.len();
        let Some((number, len)) = lines.append_line(&mut self.text)? else { return Ok(false) };
        let too_long = (len > reader::MAX_LINE).then_some(len);
        self.lines.push(LineAt { number, start, end: self.text.len(), too_long, fields: 0..0 });
        Ok(true)
    }

    /// Adds a CSV record that starts on line `number`.
    fn push_record(&mut self, number: u64, record: &::csv::ByteRecord) {
        let start = self.text.len();
        self.text.extend_from_slice(record.as_slice());
        let first = self.field_ends.len();
        self.field_ends.extend(csv::field_ends(record));
        let fields = first..self.field_ends.len();
        self.lines.push(LineAt { number, start, end: self.text.len(), too_long: None, fields });
    }

    /// A line's text as a reject shows it (a CSV record's fields joined by commas).
    fn raw(&self, at: &LineAt) -> Vec<u8> {
        let text = &self.text[at.start..at.end];
        if self.names.is_none() {
            return text.to_vec();
        }
        let ends = &self.field_ends[at.fields.clone()];
        let starts = std::iter::once(0).chain(ends.iter().copied());
        csv::join_fields(starts.zip(ends.iter().copied()).map(|(a, b)| &text[a..b]))
    }

    /// Records the CSV loop refused count too: a file whose every record is refused must
    /// not pile them up in one chunk.
    fn is_full(&self) -> bool {
        self.text.len() + self.refused_bytes >= CHUNK_BYTES || self.lines.len() + self.rejects.len() >= self.max_lines
    }

    /// Adds a CSV record the record loop refused.
    fn refuse(&mut self, number: u64, reject: Reject, raw: Vec<u8>) {
        self.refused_bytes += raw.len();
        self.rejects.push((number, reject, raw));
    }
}

/// A worker's result for one chunk.
struct Parsed<'p> {
    chunk: Chunk,
    batches: Vec<(NaiveDate, RecordBatch)>,
    /// (line, reject, raw text)
    rejects: Vec<(u64, Reject, Vec<u8>)>,
    blank: u64,
    /// Under a `continuation` pattern, what the calling thread decides ([`Joined`]).
    joined: Option<Joined<'p>>,
    time: TimeReport,
}

/// What a worker's time parser says about the rows it read from a blank state.
pub(super) struct TimeReport {
    /// Whether a row's time depended on earlier rows (then the rows are parsed again).
    consulted: bool,
    /// The year the first year-less row got, read without the rows before (then the
    /// rows are parsed again unless they would have given the same: `TimeState::agrees_with`).
    first_yearless: Option<(i32, u32)>,
    /// The worker's time state at the end of the rows.
    end: TimeState,
}

impl TimeReport {
    /// Starts a worker's rows from a blank state.
    pub(super) fn start(asm: &Assembler) {
        asm.time().set_state(TimeState::default());
        settle(asm);
    }

    /// The report on the rows read since [`TimeReport::start`].
    pub(super) fn take(asm: &Assembler) -> TimeReport {
        let (consulted, first_yearless) = (asm.time().take_consulted(), asm.time().take_first_yearless());
        TimeReport { consulted, first_yearless, end: asm.time().state() }
    }

    /// Whether the rows may depend on the rows before them at all.
    pub(super) fn may_depend(&self) -> bool {
        self.consulted || self.first_yearless.is_some()
    }

    /// The state after these rows, if they read the same after `state` (the rows before
    /// them) as they did alone; `None` when they must be parsed again from `state`.
    pub(super) fn after(&self, state: TimeState) -> Option<TimeState> {
        (!self.consulted && state.agrees_with(self.first_yearless)).then(|| state.after(self.end))
    }
}

/// A `continuation` chunk's loose ends.
struct Joined<'p> {
    /// The non-blank lines before the first line that opens a record (or is over the
    /// limit): more of the record the chunk before ended with.
    lead: Vec<usize>,
    /// Where the chunk's own lines start (`lines.len()` when they are all `lead`).
    start: usize,
    /// The chunk's last record, which the next chunk's `lead` may continue.
    tail: Option<Pending<'p>>,
    /// Lines joined to a record within the chunk.
    merged: u64,
}

/// Parses `input` with `workers` threads; returns the lines that were not records.
pub fn read(
    input: Box<dyn BufRead + Send>,
    parse: &Parse<'_>,
    asm: &Assembler,
    workers: usize,
    sink: &mut dyn ChunkSink,
) -> Result<Counts> {
    let max_lines = parse.chunk_lines.clamp(1, CHUNK_LINES);
    let csv = parse.format == Format::Csv;
    let (counts, blank) = pipeline(
        "line reader",
        workers,
        || {
            let wasm = asm.fork();
            move |chunk| parse_chunk(chunk, parse, &wasm)
        },
        move |to_workers| {
            if csv { split_csv(input, max_lines, to_workers) } else { split(input, max_lines, to_workers) }
        },
        |from_workers| collect(from_workers, parse, asm, sink),
    )?;
    Ok(Counts { blank: counts.blank + blank, ..counts })
}

/// One object's parse on several threads: `workers` threads (at least one), each
/// applying what `make` returns to the items dealt to it; a reader thread (`read`,
/// named `reader` in a panic's error) dealing items to their bounded queues; and
/// `collect`, on the calling thread, taking the workers' results. Returns what
/// `collect` and `read` return, the collector's error first.
pub(super) fn pipeline<'env, In, Out, W, R, C>(
    reader: &str,
    workers: usize,
    mut make: impl FnMut() -> W,
    read: impl FnOnce(Vec<SyncSender<In>>) -> Result<R> + Send + 'env,
    collect: impl FnOnce(&[Receiver<Out>]) -> Result<C>,
) -> Result<(C, R)>
where
    In: Send + 'env,
    Out: Send + 'env,
    W: FnMut(In) -> Out + Send + 'env,
    R: Send + 'env,
{
    std::thread::scope(|scope| {
        let workers = workers.max(1);
        let (mut to_workers, mut from_workers) = (Vec::with_capacity(workers), Vec::with_capacity(workers));
        for _ in 0..workers {
            let (in_tx, in_rx) = sync_channel::<In>(QUEUE);
            let (out_tx, out_rx) = sync_channel::<Out>(QUEUE);
            let mut work = make();
            scope.spawn(move || {
                for item in in_rx {
                    if out_tx.send(work(item)).is_err() {
                        return;
                    }
                }
            });
            to_workers.push(in_tx);
            from_workers.push(out_rx);
        }
        let reading = scope.spawn(move || read(to_workers));
        let collected = collect(&from_workers);
        // On a collector error the workers and the reader stop at their next send.
        drop(from_workers);
        let read = reading.join().map_err(|_| Error::Internal(format!("the {reader} panicked")))?;
        Ok((collected?, read?))
    })
}

/// The reader: lines → chunks, dealt round-robin. Returns the blank lines it skipped
/// (none: the workers count them).
fn split(input: Box<dyn BufRead + Send>, max_lines: usize, to_workers: Vec<SyncSender<Chunk>>) -> Result<u64> {
    let mut lines = reader::Lines::new(input, reader::MAX_LINE);
    let mut deal = Dealer::new(to_workers, max_lines);
    while deal.chunk.read_line(&mut lines).map_err(|e| Error::io("", e))? {
        if !deal.when_full() {
            return Ok(0); // the collector stopped; it reports why
        }
    }
    deal.last();
    Ok(0)
}

/// Deals chunks to the workers round-robin as they fill.
struct Dealer {
    to_workers: Vec<SyncSender<Chunk>>,
    next: usize,
    max_lines: usize,
    /// The chunk being filled.
    chunk: Chunk,
}

impl Dealer {
    fn new(to_workers: Vec<SyncSender<Chunk>>, max_lines: usize) -> Dealer {
        Dealer { to_workers, next: 0, max_lines, chunk: Chunk::new(max_lines) }
    }

    /// Sends the chunk if it is full; false when the collector has stopped.
    fn when_full(&mut self) -> bool {
        if !self.chunk.is_full() {
            return true;
        }
        let full = std::mem::replace(&mut self.chunk, Chunk::new(self.max_lines));
        self.send(full)
    }

    /// Sends what the chunk holds, at the end of the input.
    fn last(self) {
        let Dealer { to_workers, next, chunk, .. } = self;
        if !chunk.lines.is_empty() || !chunk.rejects.is_empty() {
            deal_to(&to_workers, next, chunk);
        }
    }

    fn send(&mut self, chunk: Chunk) -> bool {
        let ok = deal_to(&self.to_workers, self.next, chunk);
        self.next += 1;
        ok
    }
}

/// Sends the `n`th chunk to its worker; false when the collector has stopped.
fn deal_to(to_workers: &[SyncSender<Chunk>], n: usize, chunk: Chunk) -> bool {
    to_workers[n % to_workers.len()].send(chunk).is_ok()
}

/// The CSV reader: records → chunks, dealt round-robin. The record loop (quoting,
/// records across lines, limits, the header, field counts) stays on this one thread, as
/// it is in a sequential read; the workers turn the records into rows. Returns the
/// blank lines outside quotes.
fn split_csv(input: Box<dyn BufRead + Send>, max_lines: usize, to_workers: Vec<SyncSender<Chunk>>) -> Result<u64> {
    let mut deal = Dealer::new(to_workers, max_lines);
    let mut names: Option<Arc<[String]>> = None;
    let mut stopped = false;
    let read = csv::records(input, |line, record| {
        match record {
            csv::Record::Fields(header, record) => {
                let names = names.get_or_insert_with(|| header.into());
                deal.chunk.names.get_or_insert_with(|| names.clone());
                deal.chunk.push_record(line, record);
            }
            csv::Record::Rejected(reject, raw) => deal.chunk.refuse(line, reject, raw),
        }
        if !deal.when_full() {
            stopped = true;
            return Err(Error::Internal("the collector stopped".into()));
        }
        Ok(())
    });
    let blank = match read {
        Err(_) if stopped => return Ok(0), // the collector reports why
        other => other?,
    };
    deal.last();
    Ok(blank)
}

fn parse_chunk<'a>(chunk: Chunk, parse: &Parse<'a>, asm: &Assembler) -> Result<Parsed<'a>> {
    TimeReport::start(asm);
    let capacity = Capacity::for_input(chunk.lines.len(), chunk.text.len());
    let mut days = DayBuffer::with_capacity(parse.kind, asm.spec(), capacity);
    let (mut rejects, mut blank) = (Vec::new(), 0u64);
    let joined = match parse.joiner() {
        Some(mut joiner) => {
            let (lead, start, lead_blank) = leading_lines(&chunk, &joiner);
            let mut emit = emit_to_days(&mut days, &mut rejects, parse.source, asm);
            for at in &chunk.lines[start..] {
                feed(&mut joiner, &chunk, at, asm, &mut emit)?;
            }
            let counts = joiner.counts();
            blank = lead_blank + counts.blank;
            Some(Joined { lead, start, tail: joiner.take_pending(), merged: counts.merged })
        }
        None => {
            // A scrape dump repeats its series: their labels are read once per chunk.
            let mut seen = (parse.format == Format::PrometheusText).then(SeenSeries::default);
            for at in &chunk.lines {
                match outcome(&chunk, at, parse, asm, seen.as_mut())? {
                    None => blank += 1,
                    Some(Ok(row)) => {
                        days.append(&row, parse.source, at.number)?;
                        asm.recycle(row);
                    }
                    Some(Err(reject)) => rejects.push((at.number, reject, chunk.raw(at))),
                }
            }
            None
        }
    };
    Ok(Parsed { batches: days.take()?, rejects, blank, joined, time: TimeReport::take(asm), chunk })
}

/// A `continuation` chunk's lines before its first record: (their indexes, where the
/// chunk's own lines start, blank lines among them).
fn leading_lines(chunk: &Chunk, joiner: &LineParser<'_>) -> (Vec<usize>, usize, u64) {
    let (mut lead, mut blank) = (Vec::new(), 0u64);
    for (i, at) in chunk.lines.iter().enumerate() {
        let bytes = &chunk.text[at.start..at.end];
        if at.too_long.is_some() || joiner.opens_record(bytes) {
            return (lead, i, blank);
        }
        if jsonl::is_blank(bytes) {
            blank += 1;
        } else {
            lead.push(i);
        }
    }
    (lead, chunk.lines.len(), blank)
}

/// One line of a chunk to a `continuation` parser.
fn feed(joiner: &mut LineParser<'_>, chunk: &Chunk, at: &LineAt, asm: &Assembler, emit: &mut Emit<'_>) -> Result<()> {
    let bytes = &chunk.text[at.start..at.end];
    match at.too_long {
        Some(len) => joiner.too_long(at.number, bytes, len, asm, emit),
        None => joiner.line(at.number, bytes, asm, emit),
    }
}

/// One line's outcome: `None` for a blank or comment line.
fn outcome<'c>(
    chunk: &'c Chunk,
    at: &LineAt,
    parse: &Parse<'c>,
    asm: &Assembler,
    seen: Option<&mut SeenSeries<'c>>,
) -> Result<Option<std::result::Result<Row<'c>, Reject>>> {
    if let Some(len) = at.too_long {
        return Ok(Some(Err(lines::too_long(len))));
    }
    if let Some(names) = &chunk.names {
        let ends = chunk.field_ends[at.fields.clone()].iter().copied();
        return Ok(Some(csv::to_row(&chunk.text[at.start..at.end], ends, names, asm)));
    }
    let bytes = &chunk.text[at.start..at.end];
    match seen {
        Some(seen) => seen.line(bytes, asm),
        None => lines::parse_single(parse.format, parse.pattern, bytes, asm),
    }
}

/// The calling thread: results in chunk order → the sink.
fn collect<'a>(
    from_workers: &[Receiver<Result<Parsed<'a>>>],
    parse: &Parse<'a>,
    asm: &Assembler,
    sink: &mut dyn ChunkSink,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let mut state = TimeState::default();
    // Under a `continuation` pattern: holds the record the chunks so far ended with.
    let mut joiner = parse.joiner();
    for i in 0.. {
        // A worker that hangs up has had every chunk dealt to it; so have the others.
        let Ok(parsed) = from_workers[i % from_workers.len()].recv() else { break };
        let parsed = parsed?;
        counts.blank += parsed.blank;
        // CSV records the record loop refused (whether or not the chunk is parsed again).
        for (line, reject, raw) in &parsed.chunk.rejects {
            sink.reject(*line, reject, raw)?;
        }
        let mut start = 0;
        if let (Some(joiner), Some(joined)) = (joiner.as_mut(), &parsed.joined) {
            asm.time().set_state(state);
            let mut to_sink = emit_to(sink);
            for &i in &joined.lead {
                feed(joiner, &parsed.chunk, &parsed.chunk.lines[i], asm, &mut to_sink)?;
            }
            if joined.start < parsed.chunk.lines.len() {
                joiner.flush(asm, &mut to_sink)?;
            }
            state = settle(asm);
            start = joined.start;
        }
        let Some(after) = parsed.time.after(state) else {
            state = reparse(&parsed.chunk, start, state, parse, asm, joiner.as_mut(), &mut emit_to(sink))?;
            continue;
        };
        state = after;
        for (day, batch) in parsed.batches {
            sink.batch(day, batch)?;
        }
        for (line, reject, raw) in &parsed.rejects {
            sink.reject(*line, reject, raw)?;
        }
        if let (Some(joiner), Some(joined)) = (joiner.as_mut(), parsed.joined)
            && joined.start < parsed.chunk.lines.len()
        {
            counts.merged += joined.merged;
            joiner.hold(joined.tail);
        }
    }
    if let Some(joiner) = joiner.as_mut() {
        asm.time().set_state(state);
        joiner.flush(asm, &mut emit_to(sink))?;
        counts.merged += joiner.counts().merged;
    }
    Ok(counts)
}

/// Rows and rejects straight to the sink.
pub(super) fn emit_to(
    sink: &mut dyn ChunkSink,
) -> impl FnMut(u64, &[u8], std::result::Result<Row<'_>, Reject>) -> Result<()> + '_ {
    |n, raw, outcome| match outcome {
        Ok(row) => sink.row(&row, n),
        Err(reject) => sink.reject(n, &reject, raw),
    }
}

/// Rows into a worker's per-day batches (each handed back to `asm` for its vectors),
/// rejects into its list (line, reject, raw text).
pub(super) fn emit_to_days<'d>(
    days: &'d mut DayBuffer,
    rejects: &'d mut Vec<(u64, Reject, Vec<u8>)>,
    source: &'d str,
    asm: &'d Assembler,
) -> impl FnMut(u64, &[u8], std::result::Result<Row<'_>, Reject>) -> Result<()> + 'd {
    move |n, raw, outcome| match outcome {
        Ok(row) => {
            days.append(&row, source, n)?;
            asm.recycle(row);
            Ok(())
        }
        Err(reject) => {
            rejects.push((n, reject, raw.to_vec()));
            Ok(())
        }
    }
}

/// The time state after rows parsed on the calling thread (and its flags cleared).
pub(super) fn settle(asm: &Assembler) -> TimeState {
    asm.time().take_consulted();
    asm.time().take_first_yearless();
    asm.time().state()
}

/// Parses a chunk again from its line `start`, in order, from the state the chunks
/// before it left.
fn reparse(
    chunk: &Chunk,
    start: usize,
    state: TimeState,
    parse: &Parse<'_>,
    asm: &Assembler,
    joiner: Option<&mut LineParser<'_>>,
    emit: &mut Emit<'_>,
) -> Result<TimeState> {
    asm.time().set_state(state);
    match joiner {
        Some(joiner) => {
            for at in &chunk.lines[start..] {
                feed(joiner, chunk, at, asm, emit)?;
            }
        }
        None => {
            for at in &chunk.lines {
                // Blank lines were counted by the worker.
                if let Some(outcome) = outcome(chunk, at, parse, asm, None)? {
                    let raw = if outcome.is_err() { chunk.raw(at) } else { Vec::new() };
                    emit(at.number, &raw, outcome)?;
                }
            }
        }
    }
    Ok(settle(asm))
}
