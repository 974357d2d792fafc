//! Ingest: source objects → typed Arrow batches → warehouse files, with every malformed
//! record kept in `rejects`.
//!
//! Per source: list the objects its URL names; skip those whose manifest entry has the
//! same version (size + ETag/last-modified); stream each other object on a blocking thread
//! (decompress → lines/records → rows → per-day builders → sorted Parquet files), then
//! commit its manifest entry. An object that cannot be read at all is reported and
//! contributes nothing (its files are removed, it is retried next run); the others go on.

pub mod batch;
pub mod chunks;
pub mod csv;
pub mod dedupe;
pub mod document;
pub mod exporters;
pub mod jsonl;
pub mod kinds;
pub mod lines;
pub mod logfmt;
pub mod pattern;
pub mod prometheus;
pub mod reader;
pub mod record;
pub mod reject;
pub mod retry;
pub mod time;
pub mod writer;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use futures::StreamExt;
use indicatif::ProgressBar;
use object_store::ObjectMeta;
use serde::Serialize;
use tokio::runtime::Handle;
use tracing::{info, warn};

use crate::config::{Format, Source};
use crate::error::{Error, Result};
use crate::tables::REJECTS;
use crate::warehouse::store::{SourceUrl, StorageOptions};
use crate::warehouse::{ObjectEntry, Warehouse, layout};
use batch::{DayBuffer, RejectsBuilder};
use record::{Assembler, Row, SourceDefaults};
use reject::{Reason, Reject};
use time::TimeParser;

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Objects ingested at once.
    pub concurrency: usize,
    /// Buffered rows per object before a flush to Parquet (bounds memory).
    pub flush_rows: usize,
    /// Threads parsing one object's lines (formats with one record per line).
    pub parse_threads: usize,
    pub progress: bool,
    /// Per-host clock-skew corrections (`[clock_skew]`), microseconds ahead.
    pub clock_skew: BTreeMap<String, i64>,
    /// Object-store settings for source URLs (`[storage]`).
    pub storage: StorageOptions,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            flush_rows: 128 * 1024,
            parse_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            progress: false,
            clock_skew: BTreeMap::new(),
            storage: StorageOptions::default(),
        }
    }
}

/// What an ingest did. Counts add up: every non-blank line of every ingested object is
/// in `rows` or in `rejects`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IngestSummary {
    pub objects_seen: usize,
    pub objects_ingested: usize,
    /// Ingested before with the same version: skipped.
    pub objects_unchanged: usize,
    /// Ingested before with another version: rows replaced.
    pub objects_replaced: usize,
    pub objects_failed: usize,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Rejected records per reason code.
    pub rejects: BTreeMap<String, u64>,
    /// Rows dropped per table because another object already held them (overlapping exports).
    pub duplicates: BTreeMap<String, u64>,
    pub blank_lines: u64,
    /// Lines joined to the record before them (stack traces under a `continuation` pattern).
    pub merged_lines: u64,
    /// Uncommitted files of an earlier interrupted ingest that were removed first.
    pub recovered_files: usize,
    /// (object or source, message) for every object or source that failed.
    pub failures: Vec<(String, String)>,
}

impl IngestSummary {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
    pub fn total_rejects(&self) -> u64 {
        self.rejects.values().sum()
    }
}

/// One object to ingest.
struct Job {
    source: Source,
    format: Format,
    meta: ObjectMeta,
    url: String,
    id: String,
    version: String,
    previous: Option<ObjectEntry>,
    store: Arc<dyn object_store::ObjectStore>,
    clock_skew: Arc<std::collections::HashMap<String, i64>>,
    /// Whether another object could hold the same rows (then fingerprints are taken for
    /// duplicate resolution; hashing every row of a lone object would be wasted).
    fingerprint: bool,
}

/// Ingests `sources` into `warehouse`.
pub async fn ingest(warehouse: &Warehouse, sources: &[Source], options: &IngestOptions) -> Result<IngestSummary> {
    // Loaded once: recovery and the unchanged-object check both need every entry.
    let manifest = retry::transient("load the manifest", || warehouse.manifest()).await?;
    let recovered = retry::transient("remove files of an interrupted ingest", || warehouse.recover(&manifest)).await?;
    let mut summary = IngestSummary { recovered_files: recovered, ..Default::default() };
    if summary.recovered_files > 0 {
        info!(files = summary.recovered_files, "Removed files left by an interrupted ingest.");
    }

    let clock_skew = Arc::new(options.clock_skew.clone().into_iter().collect::<std::collections::HashMap<_, _>>());
    let mut jobs = Vec::new();
    for source in sources {
        let resolved = match SourceUrl::parse_with(&source.url, &options.storage) {
            Ok(u) => u,
            Err(e) => {
                summary.failures.push((source.url.clone(), e.to_string()));
                continue;
            }
        };
        let objects = match retry::transient("list a source", || resolved.objects()).await {
            Ok(o) => o,
            Err(e) => {
                summary.failures.push((source.url.clone(), format!("cannot list: {e}")));
                continue;
            }
        };
        if objects.is_empty() {
            warn!(source = %source.name, url = %source.url, "No objects match this source.");
        }
        for meta in objects {
            summary.objects_seen += 1;
            let url = resolved.location.url_of(&meta.location);
            let Some(format) = source.format.or_else(|| Format::from_object_name(meta.location.as_ref())) else {
                summary.objects_failed += 1;
                summary.failures.push((
                    url,
                    format!("cannot tell the format from the name; set `format` on source `{}`", source.name),
                ));
                continue;
            };
            let id = layout::object_id(source.kind, &url);
            let version = layout::object_version(meta.size, meta.e_tag.as_deref(), &meta.last_modified.to_rfc3339());
            let previous = manifest.get(&id).cloned();
            if previous.as_ref().is_some_and(|p| p.version == version) {
                summary.objects_unchanged += 1;
                continue;
            }
            jobs.push(Job {
                source: source.clone(),
                format,
                meta,
                url,
                id,
                version,
                previous,
                store: resolved.location.store.clone(),
                clock_skew: clock_skew.clone(),
                fingerprint: true,
            });
        }
    }

    // Duplicates are resolved in job (URL) order against what other objects hold: other
    // objects of the kind in this run, or committed by earlier runs.
    let ids: std::collections::BTreeSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let mut in_run: BTreeMap<crate::tables::Kind, usize> = BTreeMap::new();
    for job in &jobs {
        *in_run.entry(job.source.kind).or_default() += 1;
    }
    let committed: std::collections::BTreeSet<crate::tables::Kind> =
        manifest.iter().filter(|(id, _)| !ids.contains(*id)).map(|(_, e)| e.kind).collect();
    for job in &mut jobs {
        let kind = job.source.kind;
        job.fingerprint = in_run[&kind] > 1 || committed.contains(&kind);
    }
    let mut presence = dedupe::Presence::new(manifest.clone(), ids);
    let total_bytes: u64 = jobs.iter().map(|j| j.meta.size).sum();
    let progress = progress_bar(options.progress, total_bytes);
    let handle = Handle::current();
    let (flush_rows, parse_threads) = (options.flush_rows, options.parse_threads);
    let mut results = futures::stream::iter(jobs)
        .map(|job| {
            let (wh, handle, progress) = (warehouse.clone(), handle.clone(), progress.clone());
            async move {
                let url = job.url.clone();
                let mut job = job;
                let mut attempt = 0;
                loop {
                    let (wh, handle, progress) = (wh.clone(), handle.clone(), progress.clone());
                    let (back, outcome) = tokio::task::spawn_blocking(move || {
                        let outcome = ingest_object(&job, &wh, &handle, &progress, flush_rows, parse_threads);
                        (job, outcome)
                    })
                    .await
                    .map_err(|e| Error::Internal(format!("ingest task for {url} failed: {e}")))?;
                    job = back;
                    match outcome {
                        // A broken read (the store's own retries cover single requests, not
                        // a byte stream that dies half-way) is retried from the start.
                        Err(f) if f.transient && attempt < retry::OBJECT_ATTEMPTS - 1 => {
                            attempt += 1;
                            warn!(object = %url, attempt, error = %f.error, "Transient failure; reading the object again.");
                            tokio::time::sleep(retry::backoff(attempt)).await;
                        }
                        other => return Ok::<_, Error>((job, other.map_err(|f| f.error))),
                    }
                }
            }
        })
        .buffered(options.concurrency.max(1));

    while let Some(done) = results.next().await {
        let (job, outcome) = done?;
        let kind = job.source.kind;
        let outcome = match outcome {
            Ok(mut outcome) => match presence.resolve(warehouse, kind, &outcome.rows).await {
                Ok((dropped, emptied)) => {
                    outcome.entry.rows -= dropped;
                    outcome.entry.duplicates = dropped;
                    outcome.entry.files.retain(|f| !emptied.contains(f));
                    if dropped > 0 {
                        *summary.duplicates.entry(kind.table().to_string()).or_default() += dropped;
                    }
                    Ok(outcome)
                }
                Err(e) => {
                    for key in &outcome.entry.files {
                        let _ = warehouse.delete(key).await;
                    }
                    Err(Error::Object { object: job.url.clone(), message: format!("resolving duplicates: {e}") })
                }
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(outcome) => {
                retry::transient("commit", || warehouse.commit(&job.id, &outcome.entry, job.previous.as_ref())).await?;
                summary.objects_ingested += 1;
                summary.objects_replaced += usize::from(job.previous.is_some());
                *summary.rows.entry(job.source.kind.table().to_string()).or_default() += outcome.entry.rows;
                for (reason, n) in outcome.rejects {
                    *summary.rejects.entry(reason.code().to_string()).or_default() += n;
                }
                summary.blank_lines += outcome.counts.blank;
                summary.merged_lines += outcome.counts.merged;
            }
            Err(e) => {
                summary.objects_failed += 1;
                summary.failures.push((job.url.clone(), e.to_string()));
            }
        }
    }
    progress.finish_and_clear();
    summary.failures.sort();
    Ok(summary)
}

fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} ingest [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

struct ObjectOutcome {
    entry: ObjectEntry,
    rejects: BTreeMap<Reason, u64>,
    counts: lines::Counts,
    /// Fingerprints and files per day, for duplicate resolution.
    rows: dedupe::ObjectRows,
}

/// Why an object failed, and whether trying it again may help.
struct ObjectFailure {
    error: Error,
    transient: bool,
}

/// Streams one object into warehouse files. Runs on a blocking thread.
fn ingest_object(
    job: &Job,
    warehouse: &Warehouse,
    handle: &Handle,
    progress: &ProgressBar,
    flush_rows: usize,
    parse_threads: usize,
) -> std::result::Result<ObjectOutcome, ObjectFailure> {
    let (result, files) = std::thread::scope(|scope| {
        let mut sink = ObjectSink::new(job, writer::Writer::spawn(scope, warehouse, handle), flush_rows);
        let read = read_object(job, handle, progress, parse_threads, &mut sink);
        sink.finish(read)
    });
    match result {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // The object contributes nothing: remove what it wrote so far.
            for key in &files {
                if let Err(del) = handle.block_on(warehouse.delete(key)) {
                    warn!(file = %key, error = %del, "Could not remove a file of a failed object; the next ingest will.");
                }
            }
            let transient = e.is_transient();
            let message = match e {
                Error::Object { message, .. } => message,
                Error::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            Err(ObjectFailure { error: Error::Object { object: job.url.clone(), message }, transient })
        }
    }
}

/// Parses the object's records into the sink; returns the lines that were not records.
fn read_object(
    job: &Job,
    handle: &Handle,
    progress: &ProgressBar,
    workers: usize,
    sink: &mut ObjectSink<'_, '_>,
) -> Result<lines::Counts> {
    let input = reader::open(job.store.clone(), &job.meta.location, handle, progress.clone())?;
    let source = &job.source;
    let pattern = match job.format {
        Format::Pattern(name) => pattern::named(name).map(pattern::LinePattern::builtin),
        Format::Regex => source.regex.clone(),
        _ => None,
    };
    // The source's `ts_format` overrides a built-in pattern's.
    let ts_format = source.ts_format.clone().or_else(|| pattern.as_ref().and_then(|p| p.ts_format.clone()));
    let time = TimeParser::new(source.timezone)
        .with_format(ts_format)
        .with_year(source.year)
        .with_reference(job.meta.last_modified);
    let skew = record::Skew { source: source.skew, hosts: (*job.clock_skew).clone() };
    let asm = Assembler::new(kinds::spec(source.kind), time, SourceDefaults { service: source.service.clone(), skew });
    let mut emit = |n: u64, raw: &[u8], outcome: std::result::Result<Row, Reject>| match outcome {
        Ok(row) => sink.row(&row, n),
        Err(reject) => sink.reject(n, &reject, raw),
    };
    match job.format {
        Format::Csv => {
            let blank = csv::read(input, &asm, emit)?;
            Ok(lines::Counts { blank, merged: 0 })
        }
        Format::PrometheusJson
        | Format::GithubDeployments
        | Format::LaunchdarklyAudit
        | Format::K8sEvents
        | Format::OtlpJson => lines::read_document(input, job.format, &asm, &mut emit),
        Format::Pattern(_) | Format::Regex if pattern.as_ref().is_some_and(|p| p.continuation) => {
            // A record may span lines: one reader, in order.
            let parser = lines::LineParser::new(job.format, pattern);
            parser.read(input, &asm, &mut emit)
        }
        Format::Jsonl | Format::Logfmt | Format::Pattern(_) | Format::Regex | Format::PrometheusText => {
            let parse = chunks::Parse {
                format: job.format,
                pattern: pattern.as_ref(),
                kind: source.kind,
                source: &job.url,
                chunk_lines: sink.flush_rows,
            };
            chunks::read(input, &parse, &asm, workers, sink)
        }
    }
}

/// Collects one object's rows and rejects and hands them to the writer in flushes.
struct ObjectSink<'a, 'scope> {
    job: &'a Job,
    writer: writer::Writer<'scope>,
    flush_rows: usize,
    data: DayBuffer,
    rejects: RejectsBuilder,
    reject_day: NaiveDate,
    reject_counts: BTreeMap<Reason, u64>,
    rows: u64,
    seq: u32,
}

impl chunks::ChunkSink for ObjectSink<'_, '_> {
    fn batch(&mut self, day: NaiveDate, batch: datafusion::arrow::array::RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.data.absorb(day, batch);
        if self.data.rows() >= self.flush_rows {
            self.flush_data()?;
        }
        Ok(())
    }

    fn row(&mut self, row: &Row, line: u64) -> Result<()> {
        ObjectSink::row(self, row, line)
    }

    fn reject(&mut self, line: u64, reject: &Reject, raw: &[u8]) -> Result<()> {
        ObjectSink::reject(self, line, reject, raw)
    }
}

impl<'a, 'scope> ObjectSink<'a, 'scope> {
    fn new(job: &'a Job, writer: writer::Writer<'scope>, flush_rows: usize) -> Self {
        let kind = job.source.kind;
        ObjectSink {
            job,
            writer,
            flush_rows,
            data: DayBuffer::new(kind, kinds::spec(kind)),
            rejects: RejectsBuilder::default(),
            // Rejects have no trustworthy time; they are filed under the day the object was written.
            reject_day: job.meta.last_modified.date_naive(),
            reject_counts: BTreeMap::new(),
            rows: 0,
            seq: 0,
        }
    }

    fn row(&mut self, row: &Row, line: u64) -> Result<()> {
        self.data.append(row, &self.job.url, line)?;
        self.rows += 1;
        if self.data.rows() >= self.flush_rows {
            self.flush_data()?;
        }
        Ok(())
    }

    fn reject(&mut self, line: u64, reject: &Reject, raw: &[u8]) -> Result<()> {
        tracing::debug!(object = %self.job.url, line, reason = %reject.reason, detail = %reject.detail, "Rejected record.");
        self.rejects.append(&self.job.url, line, self.job.source.kind, reject, raw);
        *self.reject_counts.entry(reject.reason).or_default() += 1;
        if self.rejects.len() >= self.flush_rows {
            self.flush_rejects()?;
        }
        Ok(())
    }

    fn send(&mut self, table: &str, day: NaiveDate, pieces: Vec<datafusion::arrow::array::RecordBatch>) -> Result<()> {
        let key = layout::data_key(table, day, &self.job.id, &self.job.version, self.seq);
        self.seq += 1;
        let data = table != REJECTS;
        let kind = self.job.source.kind;
        let fingerprint = (data && self.job.fingerprint).then_some(kind);
        self.writer.send(writer::FileJob { key, day, pieces, sort: data, fingerprint })
    }

    fn flush_data(&mut self) -> Result<()> {
        let table = self.job.source.kind.table();
        for (day, pieces) in self.data.take_pieces()? {
            self.send(table, day, pieces)?;
        }
        Ok(())
    }

    fn flush_rejects(&mut self) -> Result<()> {
        if !self.rejects.is_empty() {
            let batch = self.rejects.finish()?;
            self.send(REJECTS, self.reject_day, vec![batch])?;
        }
        Ok(())
    }

    /// Flushes what is left (if the read went well) and waits for the writer. Returns
    /// the outcome and every file written, for removal if the object failed.
    fn finish(mut self, read: Result<lines::Counts>) -> (Result<ObjectOutcome>, Vec<String>) {
        let flushed = read.and_then(|counts| {
            self.flush_data()?;
            self.flush_rejects()?;
            Ok(counts)
        });
        let written = self.writer.finish();
        // The writer's own error explains a failed hand-off better than the hand-off does.
        let result = match (flushed, written.error) {
            (_, Some(e)) | (Err(e), None) => Err(e),
            (Ok(counts), None) => {
                let meta = &self.job.meta;
                Ok(ObjectOutcome {
                    entry: ObjectEntry {
                        object: self.job.url.clone(),
                        kind: self.job.source.kind,
                        size: meta.size,
                        e_tag: meta.e_tag.clone(),
                        last_modified: meta.last_modified.to_rfc3339(),
                        version: self.job.version.clone(),
                        rows: self.rows,
                        rejects: self.reject_counts.values().sum(),
                        duplicates: 0,
                        files: written.files.clone(),
                    },
                    rejects: std::mem::take(&mut self.reject_counts),
                    counts,
                    rows: written.rows,
                })
            }
        };
        (result, written.files)
    }
}
