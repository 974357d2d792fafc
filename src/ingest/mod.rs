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
pub mod detect;
pub mod document;
pub mod exporters;
pub mod jsonl;
pub mod kinds;
pub mod lines;
pub mod logfmt;
pub mod matrix;
pub mod names;
pub mod notes;
// Line patterns are named in the config, so the config owns them; parsers reach them here.
pub use crate::config::pattern;
pub mod prometheus;
pub mod reader;
pub mod record;
pub mod reject;
pub mod responders;
pub mod retry;
pub mod samples;
pub mod seen_series;
pub mod series;
pub mod series_bytes;
pub mod shard;
pub mod time;
pub mod whitespace;
pub mod words8;
pub mod writer;

use std::collections::BTreeMap;
use std::io::BufRead;
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
    /// How long to wait for another process's warehouse lock before giving up.
    pub lock_wait: std::time::Duration,
    /// Ingest only this shard's objects (`--shard k/n`), beside the other shards' runs.
    pub shard: Option<shard::Shard>,
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
            lock_wait: std::time::Duration::ZERO,
            shard: None,
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
    /// Unchanged, but files their entry names were missing: ingested again.
    pub objects_repaired: usize,
    pub objects_failed: usize,
    /// Listed objects another shard ingests (`--shard`); not counted in `objects_seen`.
    pub objects_other_shards: usize,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Rejected records per reason code.
    pub rejects: BTreeMap<String, u64>,
    /// Rows dropped per table because another object of the same stream already held
    /// them (overlapping exports).
    pub duplicates: BTreeMap<String, u64>,
    /// Rows kept per table although an object of another stream holds identical ones
    /// (two hosts logging the same line: possible duplicates, kept because in doubt).
    pub kept_similar: BTreeMap<String, u64>,
    pub blank_lines: u64,
    /// Lines joined to the record before them (stack traces under a `continuation` pattern).
    pub merged_lines: u64,
    /// Uncommitted files of an earlier interrupted ingest that were removed first.
    pub recovered_files: usize,
    /// (object or source, message) for every object or source that failed.
    pub failures: Vec<(String, String)>,
    /// (entry, why) for every entry of a source listing that is not an object and was
    /// skipped: a symbolic link loop, an unreadable folder. Names are escaped.
    pub skipped: Vec<(String, String)>,
    /// (object, format it was read as) for every ingested object that gave no row and no
    /// reject: an empty file, or a format that does not see its records (issue 19: an
    /// OTLP metrics file read as logs gave 0 rows, 0 rejects and exit 0, silently).
    pub empty: Vec<(String, String)>,
    /// Per source without a `format`: the formats its objects were read as, and how many.
    pub detected: BTreeMap<String, BTreeMap<String, usize>>,
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
    /// `None`: worked out from the object's first kilobytes ([`detect`]).
    format: Option<Format>,
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
    /// The stream its rows without an origin belong to ([`dedupe::stream_of`]).
    stream: String,
    /// A local file's real path (its `meta.location` is escaped when the name is odd).
    local: Option<std::path::PathBuf>,
    /// The values of the source URL's `{name}` placeholders in this object's path.
    path_fields: Vec<(String, String)>,
}

/// Ingests `sources` into `warehouse`.
pub async fn ingest(warehouse: &Warehouse, sources: &[Source], options: &IngestOptions) -> Result<IngestSummary> {
    // One writer at a time (or per shard): recovery below deletes files no entry names,
    // which is what a live ingest's written-but-uncommitted files look like.
    let lock = match options.shard {
        None => crate::warehouse::lock::acquire(warehouse, "ingest", options.lock_wait).await?,
        Some(s) => {
            let purpose = format!("ingest --shard {s}");
            crate::warehouse::lock::acquire_scoped(warehouse, &purpose, &s.lock_scope(), options.lock_wait).await?
        }
    };
    // Loaded once: recovery and the unchanged-object check both need every entry.
    let mut loaded = retry::transient("load the manifest", || warehouse.load_manifest()).await?;
    let snapshot_stale = loaded.stale();
    // Compaction records an interrupted run left behind are brought up to date first.
    if loaded.needs_fix() && fix_compactions(warehouse, options.shard).await? {
        loaded = retry::transient("load the manifest", || warehouse.load_manifest()).await?;
    }
    let (manifest, mut cache) = loaded.into_entries_and_cache();
    let mut summary = IngestSummary::default();

    // Every source is listed first: a shard's recovery may only touch its own objects.
    let mut listed = Vec::new();
    for source in sources {
        let resolved = match SourceUrl::parse_with(&source.url, &options.storage) {
            Ok(u) => u,
            Err(e) => {
                summary.failures.push((source.url.clone(), e.to_string()));
                continue;
            }
        };
        let listing = match retry::transient("list a source", || resolved.listing()).await {
            Ok(o) => o,
            Err(e) => {
                summary.failures.push((source.url.clone(), format!("cannot list: {e}")));
                continue;
            }
        };
        for skipped in listing.skipped {
            warn!(source = %source.name, entry = %skipped.name, reason = %skipped.reason, "Skipped an entry of the source.");
            summary.skipped.push((skipped.name, skipped.reason));
        }
        if listing.objects.is_empty() {
            warn!(source = %source.name, url = %source.url, "No objects match this source.");
        }
        let mut objects = Vec::with_capacity(listing.objects.len());
        for object in listing.objects {
            let url = resolved.location.url_of(&object.meta.location);
            let stream = dedupe::stream_of(source.stream.as_deref(), &url);
            if options.shard.is_some_and(|s| !s.owns(source.kind, &stream)) {
                summary.objects_other_shards += 1;
                continue;
            }
            let id = layout::object_id(source.kind, &url);
            objects.push((object, url, stream, id));
        }
        listed.push((source, resolved, objects));
    }
    let only: Option<std::collections::BTreeSet<String>> = options
        .shard
        .map(|_| listed.iter().flat_map(|(_, _, objects)| objects.iter().map(|(.., id)| id.clone())).collect());
    let recovered = retry::transient("remove files of an interrupted ingest", || {
        warehouse.recover_objects(&manifest, only.as_ref())
    })
    .await?;
    summary.recovered_files = recovered.deleted;
    if summary.recovered_files > 0 {
        info!(files = summary.recovered_files, "Removed files left by an interrupted ingest.");
    }

    let clock_skew = Arc::new(options.clock_skew.clone().into_iter().collect::<std::collections::HashMap<_, _>>());
    let mut jobs = Vec::new();
    for (source, resolved, objects) in listed {
        for (crate::warehouse::store::Listed { meta, local }, url, stream, id) in objects {
            summary.objects_seen += 1;
            let format = source.format;
            let path_fields = match &resolved.template {
                None => Vec::new(),
                Some(t) => match t.values(meta.location.as_ref()) {
                    Some(values) => values,
                    None => {
                        // The glob matched but the template cannot split the key (a
                        // placeholder folder is empty): the fields are unknown.
                        summary.objects_failed += 1;
                        summary.failures.push((
                            url,
                            format!("the path does not fill the placeholders of source `{}`'s url", source.name),
                        ));
                        continue;
                    }
                },
            };
            let version = layout::object_version(meta.size, meta.e_tag.as_deref(), &meta.last_modified.to_rfc3339());
            let previous = manifest.get(&id);
            if let Some(p) = previous.filter(|p| p.version == version) {
                // Unchanged, unless files it names are gone (deleted by hand, lost by a
                // store): then its rows are missing and it is ingested again.
                let missing = p.files.iter().filter(|f| !recovered.present.contains(*f)).count();
                if missing == 0 {
                    summary.objects_unchanged += 1;
                    continue;
                }
                warn!(object = %url, missing, "Files of an unchanged object are missing; ingesting it again.");
                summary.objects_repaired += 1;
            }
            jobs.push(Job {
                source: source.clone(),
                format,
                meta,
                id,
                version,
                previous: previous.cloned(),
                store: resolved.location.store.clone(),
                clock_skew: clock_skew.clone(),
                fingerprint: true,
                stream,
                url,
                local,
                path_fields,
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
    let mut presence = dedupe::Presence::new(manifest, ids);
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
                        other => return Ok::<_, Error>((job, other.map_err(|f| *f.error))),
                    }
                }
            }
        })
        .buffered(options.concurrency.max(1));

    // Whether an object whose rows a merged file holds was read again (`compact::fix`).
    let mut replaced_merged = false;
    while let Some(done) = results.next().await {
        let (job, outcome) = done?;
        let kind = job.source.kind;
        let outcome = match outcome {
            Ok(mut outcome) => match presence.resolve(warehouse, kind, &outcome.rows).await {
                Ok(resolved) => {
                    outcome.entry.rows -= resolved.dropped;
                    outcome.entry.duplicates = resolved.dropped;
                    outcome.entry.kept_similar = resolved.kept_similar;
                    outcome.entry.files.retain(|f| !resolved.emptied.contains(f));
                    outcome.entry.spans.retain(|f, _| !resolved.emptied.contains(f));
                    if resolved.dropped > 0 {
                        *summary.duplicates.entry(kind.table().to_string()).or_default() += resolved.dropped;
                    }
                    if resolved.kept_similar > 0 {
                        *summary.kept_similar.entry(kind.table().to_string()).or_default() += resolved.kept_similar;
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
                lock.check()?;
                retry::transient("commit", || warehouse.commit(&job.id, &outcome.entry, job.previous.as_ref())).await?;
                replaced_merged |= job.previous.as_ref().is_some_and(|p| !p.shared.is_empty());
                cache.committed(&job.id, &outcome.entry);
                summary.objects_ingested += 1;
                summary.objects_replaced += usize::from(job.previous.is_some());
                if job.format.is_none() {
                    *summary
                        .detected
                        .entry(job.source.name.clone())
                        .or_default()
                        .entry(outcome.format.name())
                        .or_default() += 1;
                }
                if outcome.entry.rows == 0 && outcome.rejects.iter().all(|(_, n)| *n == 0) {
                    summary.empty.push((job.url.clone(), outcome.format.name()));
                }
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
    if replaced_merged && lock.check().is_ok() {
        // The merged files still hold the replaced objects' old rows: rewrite them now
        // (an interruption leaves it to the next ingest, which does it first).
        fix_compactions(warehouse, options.shard).await?;
    }
    // The next run opens the manifest with one read instead of one per entry. Losing
    // the race to a stolen lease, or failing to write, loses nothing: entries are the truth.
    if (snapshot_stale || summary.objects_ingested > 0)
        && lock.check().is_ok()
        && let Err(e) = warehouse.save_snapshot(&mut cache).await
    {
        warn!(error = %e, "Could not rewrite the manifest snapshot; the next ingest reads every entry.");
    }
    lock.release().await;
    summary.failures.sort();
    summary.empty.sort();
    Ok(summary)
}

/// Brings compaction records up to date ([`crate::warehouse::compact::fix`]) with the
/// manifest as it is now. Shards share the records, so under `--shard` one shard at a
/// time does it, holding the `compaction-fix` scope as well as its own. Returns whether
/// anything changed.
async fn fix_compactions(warehouse: &Warehouse, shard: Option<shard::Shard>) -> Result<bool> {
    let fixing = match shard {
        None => None,
        Some(_) => Some(
            crate::warehouse::lock::acquire_scoped(
                warehouse,
                "ingest: updating compaction records",
                "compaction-fix",
                std::time::Duration::from_secs(300),
            )
            .await?,
        ),
    };
    let now = retry::transient("load the manifest", || warehouse.load_manifest()).await?;
    let changed =
        now.needs_fix() && crate::warehouse::compact::fix(warehouse, &now.records, &now.stale_members).await?;
    if let Some(lock) = fixing {
        lock.release().await;
    }
    Ok(changed)
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
    /// The format it was read as (worked out, for a source without one).
    format: Format,
    rejects: BTreeMap<Reason, u64>,
    counts: lines::Counts,
    /// Fingerprints and files per day, for duplicate resolution.
    rows: dedupe::ObjectRows,
}

/// Why an object failed, and whether trying it again may help.
struct ObjectFailure {
    error: Box<Error>,
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
    let stored = writer::Stored::default();
    // A panic is a bug in retrace, but it is this object's failure alone: the others are
    // committed, and this one is reported and tried again on the next run.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        std::thread::scope(|scope| {
            let mut sink = ObjectSink::new(job, writer::Writer::spawn(scope, warehouse, handle, &stored), flush_rows);
            #[cfg(test)]
            tests::maybe_panic(&job.url);
            let read = read_object(job, handle, progress, parse_threads, &mut sink);
            sink.finish(read)
        })
    }));
    let (result, files) = match run {
        Ok(done) => done,
        Err(panic) => {
            let files = stored.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
            let message = format!(
                "internal error (a bug in retrace, please report it): {}; nothing of this object was kept and it is tried again on the next ingest",
                panic_message(panic.as_ref())
            );
            (Err(Error::Object { object: job.url.clone(), message }), files)
        }
    };
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
            Err(ObjectFailure { error: Box::new(Error::Object { object: job.url.clone(), message }), transient })
        }
    }
}

/// The text a panic was raised with (`panic!("…")` and most std panics carry one).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "panicked".to_string(),
    }
}

/// Parses the object's records into the sink; returns the lines that were not records.
fn read_object(
    job: &Job,
    handle: &Handle,
    progress: &ProgressBar,
    workers: usize,
    sink: &mut ObjectSink<'_, '_>,
) -> Result<(lines::Counts, Format)> {
    let mut input =
        reader::open(job.store.clone(), &job.meta.location, job.local.as_deref(), handle, progress.clone())?;
    let format = match job.format {
        Some(f) => f,
        None => {
            // The first kilobytes decide; they are read again as the object's start.
            let mut head = Vec::with_capacity(detect::HEAD_BYTES);
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut input, detect::HEAD_BYTES as u64), &mut head)
                .map_err(|e| Error::io("", e))?;
            let format =
                detect::detect(&head, job.source.kind, job.meta.location.as_ref()).map_err(|why| Error::Object {
                    object: String::new(),
                    message: format!("cannot tell its format: {why}; set `format` on source `{}`", job.source.name),
                })?;
            input = Box::new(std::io::Read::chain(std::io::Cursor::new(head), input));
            format
        }
    };
    let metrics_format = matches!(format, Format::PrometheusJson | Format::PrometheusText | Format::Csv);
    if job.source.kind == crate::tables::Kind::Metrics && metrics_format && workers > 1 {
        // Samples are a few short fields, cheap to parse, while encoding costs the same
        // per row (and a `query_range` response's series-major rows must be put in time
        // order): one encoder was the slowest stage. A second took a 1× `query_range`
        // ingest from 2.60 to 2.10 s and CSV samples 6–16 % faster, Prometheus text
        // 0–8 %. Logs keep one: their parsing already fills the cores, and a second
        // encoder measured slower on nginx lines and ~250 MB peak on JSON Lines.
        sink.writer.add_encoder();
    }
    let parse = ObjectParse {
        source: &job.source,
        format,
        url: &job.url,
        modified: job.meta.last_modified,
        clock_skew: &job.clock_skew,
        path_fields: &job.path_fields,
        workers,
        chunk_lines: sink.flush_rows,
    };
    parse_input(input, &parse, sink).map(|counts| (counts, format))
}

/// How one object's bytes become records: its source's settings and what is known of
/// the object itself.
pub struct ObjectParse<'a> {
    pub source: &'a Source,
    pub format: Format,
    /// The object's URL (the `source` column, and messages).
    pub url: &'a str,
    /// When the object was last modified: the year of year-less timestamps.
    pub modified: chrono::DateTime<chrono::Utc>,
    pub clock_skew: &'a std::collections::HashMap<String, i64>,
    /// The source URL's placeholders as this object's path fills them.
    pub path_fields: &'a [(String, String)],
    /// Threads parsing one object's lines.
    pub workers: usize,
    /// Lines handed to a parsing thread at a time.
    pub chunk_lines: usize,
}

/// Parses an object's (decompressed) bytes into `sink`, by its format; returns the lines
/// that were not records. The whole of ingest between reading bytes and writing files.
pub fn parse_input(
    input: Box<dyn BufRead + Send>,
    p: &ObjectParse<'_>,
    sink: &mut dyn chunks::ChunkSink,
) -> Result<lines::Counts> {
    let source = p.source;
    let pattern = match p.format {
        Format::Pattern(name) => pattern::named(name).map(pattern::LinePattern::builtin),
        Format::Regex => source.regex.clone(),
        _ => None,
    };
    // The source's `ts_format` overrides a built-in pattern's.
    let ts_format = source.ts_format.clone().or_else(|| pattern.as_ref().and_then(|p| p.ts_format.clone()));
    let time =
        TimeParser::new(source.timezone).with_format(ts_format).with_year(source.year).with_reference(p.modified);
    let skew = record::Skew { source: source.skew, hosts: p.clock_skew.clone() };
    let mut fields = source.constants();
    fields.extend(p.path_fields.iter().cloned());
    let scrape_time = source.scrape_time.map(|t| match t {
        crate::config::ScrapeTime::ObjectModified => p.modified.timestamp_micros(),
        crate::config::ScrapeTime::At(t) => t.timestamp_micros(),
    });
    let asm = Assembler::new(kinds::spec(source.kind), time, SourceDefaults { fields, skew, scrape_time });
    let mut emit = |n: u64, raw: &[u8], outcome: std::result::Result<Row, Reject>| match outcome {
        Ok(row) => sink.row(&row, n),
        Err(reject) => sink.reject(n, &reject, raw),
    };
    match p.format {
        Format::Notes => notes::read(input, notes::Mode::Notes, source.date, &asm, &mut emit),
        Format::Chat => notes::read(input, notes::Mode::Chat, source.date, &asm, &mut emit),
        Format::PrometheusJson if source.kind != crate::tables::Kind::Events => {
            let parse = series::Parse {
                kind: source.kind,
                metric: source.metric.as_deref(),
                source: p.url,
                chunk_lines: p.chunk_lines,
            };
            series::read(input, &parse, &asm, p.workers, sink)
        }
        Format::PrometheusJson
        | Format::GithubDeployments
        | Format::LaunchdarklyAudit
        | Format::K8sEvents
        | Format::Alertmanager
        | Format::Pagerduty
        | Format::Slack
        | Format::GrafanaAnnotations
        | Format::Opsgenie
        | Format::Statuspage
        | Format::OtlpJson => {
            lines::read_document(input, p.format, source.kind, source.metric.as_deref(), &asm, &mut emit)
        }
        Format::Jsonl | Format::Csv | Format::Logfmt | Format::Pattern(_) | Format::Regex | Format::PrometheusText => {
            let parse = chunks::Parse {
                format: p.format,
                pattern: pattern.as_ref(),
                kind: source.kind,
                source: p.url,
                chunk_lines: p.chunk_lines,
            };
            chunks::read(input, &parse, &asm, p.workers, sink)
        }
    }
}

/// What [`parse_bytes`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub rows: u64,
    pub rejects: BTreeMap<Reason, u64>,
    pub blank: u64,
    pub merged: u64,
}

/// Parses one object's bytes as `source` would (no warehouse, no files): the same code
/// path as ingest, for checking a format against a sample and for the parsers' property
/// tests. `bytes` are decompressed; a leading byte-order mark is skipped as ingest does.
pub fn parse_bytes(source: &Source, format: Format, bytes: &[u8], workers: usize) -> Result<Parsed> {
    struct Counting(Parsed);
    impl chunks::ChunkSink for Counting {
        fn batch(&mut self, _: NaiveDate, batch: datafusion::arrow::array::RecordBatch) -> Result<()> {
            self.0.rows += batch.num_rows() as u64;
            Ok(())
        }
        fn row(&mut self, _: &Row<'_>, _: u64) -> Result<()> {
            self.0.rows += 1;
            Ok(())
        }
        fn reject(&mut self, _: u64, reject: &Reject, _: &[u8]) -> Result<()> {
            *self.0.rejects.entry(reject.reason).or_default() += 1;
            Ok(())
        }
    }
    let mut input: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(bytes.to_vec()));
    reader::skip_bom(&mut input).map_err(|e| Error::io("input", e))?;
    let skew = std::collections::HashMap::new();
    let parse = ObjectParse {
        source,
        format,
        url: "memory://parse/object",
        modified: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
        clock_skew: &skew,
        path_fields: &[],
        workers: workers.max(1),
        chunk_lines: 64,
    };
    let mut sink = Counting(Parsed::default());
    let counts = parse_input(input, &parse, &mut sink)?;
    sink.0.blank = counts.blank;
    sink.0.merged = counts.merged;
    Ok(sink.0)
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
        let fingerprint = (data && self.job.fingerprint).then(|| (kind, dedupe::stream_hash(&self.job.stream)));
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
    fn finish(mut self, read: Result<(lines::Counts, Format)>) -> (Result<ObjectOutcome>, Vec<String>) {
        let flushed = read.and_then(|read| {
            self.flush_data()?;
            self.flush_rejects()?;
            Ok(read)
        });
        let written = self.writer.finish();
        // The writer's own error explains a failed hand-off better than the hand-off does.
        let result = match (flushed, written.error) {
            (_, Some(e)) | (Err(e), None) => Err(e),
            (Ok((counts, format)), None) => {
                let meta = &self.job.meta;
                Ok(ObjectOutcome {
                    format,
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
                        kept_similar: 0,
                        stream: Some(self.job.stream.clone()),
                        files: written.files.clone(),
                        spans: written.spans.clone(),
                        commit: Some(layout::fresh_id(&self.job.id)),
                        shared: Default::default(),
                        shared_rows: 0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// Objects whose URL contains this panic while being read (a stand-in for a parser
    /// bug: the logfmt one this guards against is fixed).
    const PANIC_MARK: &str = "planted-panic-7f3a";

    pub(super) fn maybe_panic(url: &str) {
        if url.contains(PANIC_MARK) {
            panic!("planted panic while reading {url}");
        }
    }

    fn config(dir: &std::path::Path, sources: &str) -> Config {
        Config::parse(sources, dir).unwrap()
    }

    fn jsonl(lines: usize, host: Option<&str>, tag: &str) -> String {
        (0..lines)
            .map(|i| {
                let host = host.map(|h| format!(",\"host\":\"{h}\"")).unwrap_or_default();
                format!(
                    "{{\"ts\":\"2026-11-19T10:{:02}:{:02}Z\",\"service\":\"api\"{host},\"msg\":\"{tag} {}\"}}\n",
                    i / 60 % 60,
                    i % 60,
                    i % 7
                )
            })
            .collect()
    }

    async fn count(warehouse: &Warehouse) -> u64 {
        let ctx = crate::catalog::open(warehouse).await.unwrap();
        let batches = ctx.sql("SELECT count(*) FROM logs").await.unwrap().collect().await.unwrap();
        let col = batches[0].column(0).as_any().downcast_ref::<datafusion::arrow::array::Int64Array>().unwrap();
        col.value(0) as u64
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_object_fails_alone_and_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.jsonl", &format!("b-{PANIC_MARK}.jsonl"), "c.jsonl"] {
            std::fs::write(dir.path().join(name), jsonl(50, Some("h1"), name)).unwrap();
        }
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let cfg = config(dir.path(), "[[sources]]\nkind = \"logs\"\nurl = \"*.jsonl\"\n");
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!((s.objects_ingested, s.objects_failed), (2, 1), "{s:?}");
        assert!(s.failures[0].0.contains(PANIC_MARK) && s.failures[0].1.contains("planted panic"), "{:?}", s.failures);
        assert_eq!(count(&wh).await, 100);
        // Nothing of it was kept, and it is tried again (and fails again) next run.
        let again = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!((again.objects_unchanged, again.objects_failed, again.recovered_files), (2, 1, 0), "{again:?}");
    }

    /// The failure found by trying the product: two backends answering the same requests
    /// wrote byte-identical access logs with no host field; half the rows were deleted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn identical_rows_of_two_streams_are_all_kept_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        for host in ["web-1", "web-2"] {
            std::fs::create_dir_all(dir.path().join(host)).unwrap();
            std::fs::write(dir.path().join(host).join("access.jsonl"), jsonl(40, None, "GET /")).unwrap();
        }
        // The same export of one host, copied under a second name: one stream.
        std::fs::write(dir.path().join("web-1").join("access.jsonl.1"), jsonl(40, None, "GET /")).unwrap();
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let cfg = config(dir.path(), "[[sources]]\nkind = \"logs\"\nformat = \"jsonl\"\nurl = \"*/access.jsonl*\"\n");
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!(s.rows.get("logs"), Some(&80), "{s:?}");
        assert_eq!(s.duplicates.get("logs"), Some(&40), "{s:?}");
        assert_eq!(s.kept_similar.get("logs"), Some(&40), "{s:?}");
        assert_eq!(count(&wh).await, 80);
        // Declared overlapping: the user says the two folders are one stream.
        let wh2 = Warehouse::open(&dir.path().join("wh2").display().to_string()).unwrap();
        let cfg = config(
            dir.path(),
            "[[sources]]\nkind = \"logs\"\nformat = \"jsonl\"\nurl = \"web-1/access.jsonl\"\nstream = \"edge\"\n\
             [[sources]]\nkind = \"logs\"\nformat = \"jsonl\"\nurl = \"web-2/access.jsonl\"\nstream = \"edge\"\n",
        );
        let s = ingest(&wh2, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!((s.rows.get("logs"), s.duplicates.get("logs")), (Some(&40), Some(&40)), "{s:?}");
    }

    /// Two ingests at once: the second waits for the first's lock, then ingests only
    /// what the first did not; the warehouse ends with exactly the rows of one ingest.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_ingests_wait_for_the_lock_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..6 {
            std::fs::write(dir.path().join(format!("part{i}.jsonl")), jsonl(3000, Some(&format!("h{i}")), "x"))
                .unwrap();
        }
        std::fs::write(dir.path().join("other.jsonl"), jsonl(500, Some("h9"), "y")).unwrap();
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let all = config(dir.path(), "[[sources]]\nkind = \"logs\"\nurl = \"part*.jsonl\"\n");
        let other = config(dir.path(), "[[sources]]\nkind = \"logs\"\nurl = \"other.jsonl\"\n");
        let waiting =
            IngestOptions { lock_wait: std::time::Duration::from_secs(60), flush_rows: 500, ..Default::default() };
        let (a, b, c) = tokio::join!(
            ingest(&wh, &all.sources, &waiting),
            ingest(&wh, &all.sources, &waiting),
            ingest(&wh, &other.sources, &waiting)
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_eq!(a.objects_ingested + b.objects_ingested, 6, "{a:?} {b:?}");
        assert_eq!(a.objects_unchanged + b.objects_unchanged, 6);
        assert_eq!(c.objects_ingested, 1);
        assert_eq!(count(&wh).await, 6 * 3000 + 500);
        // Without waiting, the loser is told who holds the lock.
        let held = crate::warehouse::lock::acquire(&wh, "ingest", std::time::Duration::ZERO).await.unwrap();
        let e = ingest(&wh, &all.sources, &IngestOptions::default()).await.unwrap_err().to_string();
        assert!(e.contains("is locked by pid") && e.contains("(ingest, since"), "{e}");
        drop(held);
        let report = crate::warehouse::check::check(&wh, true).await.unwrap();
        assert!(report.is_clean(), "{report:?}");
    }

    /// `retrace check` finds a deleted file and an orphan; repair makes the warehouse
    /// agree, and the next ingest restores the object's rows.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missing_files_are_found_repaired_and_re_ingested() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..2 {
            std::fs::write(dir.path().join(format!("o{i}.jsonl")), jsonl(100, Some("h"), &format!("o{i}"))).unwrap();
        }
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let cfg = config(dir.path(), "[[sources]]\nkind = \"logs\"\nurl = \"o*.jsonl\"\n");
        ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        let manifest = wh.manifest().await.unwrap();
        let victim = manifest.values().next().unwrap().files[0].clone();
        std::fs::remove_file(dir.path().join("wh").join(&victim)).unwrap();
        let orphan = victim.replace(".parquet", "").rsplit_once('-').unwrap().0.to_string() + "-9999.parquet";
        std::fs::write(dir.path().join("wh").join(&orphan), b"not parquet").unwrap();
        let report = crate::warehouse::check::check(&wh, true).await.unwrap();
        assert_eq!(report.missing.len(), 1, "{report:?}");
        assert_eq!(report.orphans, vec![orphan.clone()]);
        assert!(!report.is_clean());
        // Ingest alone also notices: the unchanged object is read again.
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!((s.objects_repaired, s.objects_ingested, s.recovered_files), (1, 1, 1), "{s:?}");
        assert_eq!(count(&wh).await, 200);
        assert!(crate::warehouse::check::check(&wh, true).await.unwrap().is_clean());
        // Repair on its own: the damaged entry goes (with its files), then ingest restores it.
        let victim = wh.manifest().await.unwrap().values().next().unwrap().files[0].clone();
        std::fs::remove_file(dir.path().join("wh").join(&victim)).unwrap();
        let report = crate::warehouse::check::check(&wh, false).await.unwrap();
        let repaired = crate::warehouse::check::repair(&wh, &report, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(repaired.entries_removed, 1);
        assert!(crate::warehouse::check::check(&wh, true).await.unwrap().is_clean());
        assert_eq!(count(&wh).await, 100);
        ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!(count(&wh).await, 200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn odd_file_names_are_ingested_and_a_symlink_loop_is_skipped() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(logs.join("sub")).unwrap();
        let names: [&[u8]; 6] = [
            b"new\nline.jsonl",
            b"tab\t.jsonl",
            b"esc\x1b[2J.jsonl",
            b"bel\x07del\x7f.jsonl",
            b"bad\xff.jsonl",
            b"ok.jsonl",
        ];
        for (i, n) in names.iter().enumerate() {
            std::fs::write(
                logs.join("sub").join(std::ffi::OsStr::from_bytes(n)),
                jsonl(10, Some(&format!("h{i}")), "z"),
            )
            .unwrap();
        }
        std::os::unix::fs::symlink(&logs, logs.join("sub").join("loop")).unwrap();
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let cfg = config(dir.path(), "[[sources]]\nkind = \"logs\"\nformat = \"jsonl\"\nurl = \"logs/**/*.jsonl\"\n");
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!((s.objects_ingested, s.objects_failed), (6, 0), "{s:?}");
        assert_eq!(s.skipped.len(), 1, "{s:?}");
        assert!(s.skipped[0].1.contains("loop"));
        assert_eq!(count(&wh).await, 60);
        let again = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!(again.objects_unchanged, 6, "{again:?}");
        let manifest = wh.manifest().await.unwrap();
        assert!(manifest.values().all(|e| !e.object.chars().any(char::is_control)), "{manifest:?}");
    }

    /// One host's log lines at minute `minute` of hour `hour` (2026-11-19), `n` of them.
    fn hour_lines(host: &str, hour: u32, n: usize) -> String {
        (0..n)
            .map(|i| {
                format!("{{\"ts\":\"2026-11-19T{hour:02}:00:{:02}Z\",\"service\":\"api\",\"host\":\"{host}\",\"msg\":\"m{i}\"}}\n", i % 60)
            })
            .collect()
    }

    /// Opening a warehouse reads one snapshot, not an entry per object; an entry changed
    /// behind the snapshot's back (an older retrace, a hand edit), a deleted entry and a
    /// corrupt snapshot are each seen as the entries say.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_manifest_opens_from_its_snapshot_and_never_trusts_a_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("o{i}.jsonl")), hour_lines(&format!("h{i}"), 10 + i, 30)).unwrap();
        }
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let cfg = config(dir.path(), "[[sources]]\nkind = \"logs\"\nurl = \"o*.jsonl\"\n");
        ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        let first = wh.load_manifest().await.unwrap();
        assert_eq!((first.entries.len(), first.read, first.forgotten), (5, 0, 0));

        // A changed object: the ingest refreshes the snapshot with its new entry.
        std::fs::write(dir.path().join("o0.jsonl"), hour_lines("h0", 10, 45)).unwrap();
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!(s.objects_replaced, 1, "{s:?}");
        let after = wh.load_manifest().await.unwrap();
        assert_eq!(after.read, 0);
        let o0 = after.entries.values().find(|e| e.object.ends_with("o0.jsonl")).unwrap();
        assert_eq!(o0.rows, 45);
        // Every data file has its time span.
        assert_eq!(o0.spans.keys().collect::<Vec<_>>(), o0.files.iter().collect::<Vec<_>>());
        let [first_ts, last_ts] = o0.spans[&o0.files[0]];
        assert_eq!((first_ts, last_ts), (1_795_082_400_000_000, 1_795_082_444_000_000));

        // An entry rewritten without the snapshot knowing.
        let id = after.entries.iter().find(|(_, e)| e.object.ends_with("o1.jsonl")).unwrap().0.clone();
        let path = dir.path().join("wh").join(layout::manifest_key(&id));
        let mut edited = after.entries[&id].clone();
        edited.rows = 999;
        std::fs::write(&path, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
        let seen = wh.load_manifest().await.unwrap();
        assert_eq!((seen.read, seen.entries[&id].rows), (1, 999));

        // A deleted entry is gone, not resurrected from the snapshot.
        std::fs::remove_file(&path).unwrap();
        let seen = wh.load_manifest().await.unwrap();
        assert_eq!((seen.entries.len(), seen.forgotten, seen.read), (4, 1, 0));

        // A corrupt snapshot: every entry is read, the same manifest results.
        std::fs::write(dir.path().join("wh").join(layout::SNAPSHOT_KEY), b"not zstd").unwrap();
        let corrupt = wh.load_manifest().await.unwrap();
        assert_eq!((corrupt.entries, corrupt.read), (seen.entries, 4));
    }

    /// A first ingest of many objects stamps their entries with one listing, not a
    /// request each; the next load still reads nothing but the snapshot.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_new_entries_are_stamped_by_one_listing() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..70 {
            std::fs::write(dir.path().join(format!("o{i:02}.jsonl")), hour_lines(&format!("h{i}"), 10, 2)).unwrap();
        }
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let cfg = config(dir.path(), "[[sources]]\nkind = \"logs\"\nurl = \"o*.jsonl\"\n");
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!(s.objects_ingested, 70, "{s:?}");
        let loaded = wh.load_manifest().await.unwrap();
        assert_eq!((loaded.entries.len(), loaded.read, loaded.forgotten), (70, 0, 0));
    }

    /// A new object reads only the committed files whose time span meets its rows: the
    /// other hours' files are made unreadable and the ingest still succeeds, dropping the
    /// duplicates of the one hour it overlaps.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn duplicates_are_resolved_against_the_files_whose_time_span_meets_the_object() {
        let dir = tempfile::tempdir().unwrap();
        for hour in [9, 11, 13] {
            std::fs::write(dir.path().join(format!("app-{hour}.jsonl")), hour_lines("h1", hour, 40)).unwrap();
        }
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let cfg = config(dir.path(), "[[sources]]\nkind = \"logs\"\nurl = \"*.jsonl\"\n");
        ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        for (_, entry) in wh.manifest().await.unwrap() {
            if !entry.object.ends_with("app-11.jsonl") {
                for file in &entry.files {
                    std::fs::write(dir.path().join("wh").join(file), b"unreadable").unwrap();
                }
            }
        }
        // An overlapping export of hour 11: 40 rows already held, 20 new.
        let mut export = hour_lines("h1", 11, 40);
        export.push_str(&hour_lines("h1", 12, 20));
        std::fs::write(dir.path().join("export.jsonl"), export).unwrap();
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!((s.objects_ingested, s.objects_failed), (1, 0), "{s:?}");
        assert_eq!((s.duplicates.get("logs"), s.rows.get("logs")), (Some(&40), Some(&20)), "{s:?}");
        // An object meeting an unreadable file fails naming it, and nothing of it stays.
        std::fs::write(dir.path().join("late.jsonl"), hour_lines("h1", 9, 5)).unwrap();
        let s = ingest(&wh, &cfg.sources, &IngestOptions::default()).await.unwrap();
        assert_eq!(s.objects_failed, 1, "{s:?}");
        assert!(s.failures[0].1.contains("resolving duplicates"), "{:?}", s.failures);
    }
}
