//! Dropping duplicates that overlapping exports bring (the 10:00–12:00 and 11:00–13:00
//! dumps of the same log both hold 11:00–12:00), and never anything else.
//!
//! A row's identity is a fingerprint of its kind's key columns ([`key_columns`]) *and of
//! its origin*. Two rows are one record seen twice only when they come from the same
//! stream:
//! - a log row that names its host (a metric whose labels name its instance, host or
//!   pod) carries its origin in the key columns themselves;
//! - a row that does not (nginx, apache, log4j and klog lines name no host; they are
//!   collected one file per host) belongs to its object's *stream*: the source's
//!   declared `stream`, else the object's lineage ([`lineage`]: its path with dates,
//!   rotation numbers and copy markers taken out). `web-1/access.log` and
//!   `web-2/access.log` are two streams and keep every row; `app.jsonl` and
//!   `app.jsonl.1`, or `app-2026-11-19.jsonl` and `app-2026-11-20.jsonl`, are one;
//! - changes and deploys are identified by their own ids.
//!
//! When in doubt a row is kept, and counted: a row identical to another object's row
//! but of a different stream is a *possible duplicate kept* (the ingest summary and the
//! manifest say how many).
//!
//! Inside one object nothing is ever dropped: two identical lines in one export are two
//! events (an error logged twice in the same second). Across objects, rows are compared
//! as multisets: an object's k-th row with a given fingerprint is a duplicate when the
//! warehouse already holds k rows with it from other objects. Objects are resolved in
//! the order of their URLs, so which copy is kept does not depend on timing.
//!
//! Limits (documented in docs/formats.md): a duplicate dropped from object B stays
//! dropped if the object it duplicated is later re-ingested with fewer rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, MapArray, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::filter_record_batch;

use crate::error::{Error, Result};
use crate::tables::Kind;
use crate::warehouse::{ObjectEntry, Warehouse, parquet};

/// Fingerprint → number of rows with it.
pub type Multiset = foldhash::HashMap<u64, u32>;

/// The columns that identify a row of each kind.
pub fn key_columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Logs => &["ts", "service", "host", "level", "msg", "trace_id"],
        Kind::Metrics => &["ts", "metric", "value", "service", "labels"],
        Kind::Changes => &["ts", "change_id"],
        Kind::Deploys => &["ts", "deploy_id", "status"],
        Kind::Events => &["ts", "kind", "actor", "title", "text", "ref"],
    }
}

/// The stream rows without an origin of their own belong to (see the module docs), as
/// the hash their fingerprints are scoped with.
pub fn stream_hash(stream: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x7374_7265_616d_2121).hash_one(stream)
}

/// An object's stream: the source's declared `stream`, else the lineage of its URL.
pub fn stream_of(declared: Option<&str>, object_url: &str) -> String {
    match declared {
        Some(name) => format!("stream:{name}"),
        None => format!("lineage:{}", lineage(object_url)),
    }
}

/// The file lineage of an object URL: the same path with what changes between exports
/// and rotations of one stream taken out. Dates and times (`2026-11-19`, `20261119`,
/// `2026-11-19T10-00-00`, `/2026/11/19/` folders, epoch stamps), a rotation number after
/// the extension (`access.log.1`), compression extensions and copy markers (`app (1).log`,
/// `app-copy.log`, `.bak`, `.old`) become one token. Anything else, host names and
/// numbered hosts (`web-1`, `web-2`) included, stays: when in doubt, two streams.
pub fn lineage(object_url: &str) -> String {
    use std::sync::LazyLock;
    static COMPRESSION: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"(?i)\.(gz|gzip|zst|zstd|bz2|xz)$").expect("static regex"));
    static COPY: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"(?i)(\s*\(\d+\)|[-_ .]copy(\s*\d+)?|\.(bak|old|orig|tmp))$").expect("static regex")
    });
    static ROTATION: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"(\.[A-Za-z][A-Za-z0-9]*)\.\d{1,4}$").expect("static regex"));
    static DATE_FOLDERS: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"/(19|20)\d\d/[01]\d(/[0-3]\d(/[0-2]\d)?)?/").expect("static regex"));
    static STAMP: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"(19|20)\d\d-?[01]\d-?[0-3]\d([T_ -]?[0-2]\d[:-]?[0-5]\d([:-]?[0-5]\d)?(\.\d+)?Z?)?|\b1[0-9]{9}([0-9]{3})?\b",
        )
        .expect("static regex")
    });
    let (folder, name) = object_url.rsplit_once('/').unwrap_or(("", object_url));
    let mut name = name.to_string();
    // Peel in the order tools add them: `app-2026-11-19.log.1.gz`, `app (1).jsonl`.
    loop {
        let before = name.clone();
        name = COMPRESSION.replace(&name, "").into_owned();
        name = COPY.replace(&name, "").into_owned();
        name = ROTATION.replace(&name, "$1").into_owned();
        if let Some((stem, ext)) = name.rsplit_once('.') {
            let stem = COPY.replace(stem, "");
            name = format!("{stem}.{ext}");
        }
        if name == before {
            break;
        }
    }
    let folder = DATE_FOLDERS.replace_all(&format!("{folder}/"), "/<date>/").into_owned();
    let path = format!("{folder}{}", STAMP.replace_all(&name, "<time>"));
    STAMP.replace_all(&path, "<time>").into_owned()
}

/// One fingerprint per row of `batch` (a table batch of `kind`): the key columns hashed
/// column by column (one downcast per column, not per value), scoped by `stream` for
/// rows that do not carry their origin ([`has_origin`]). Also returns the *loose*
/// fingerprints (the key columns alone), which find possible duplicates of another
/// stream so they can be counted. Fingerprints live only for one ingest (they are
/// recomputed from files), so the hash need not be stable across versions; it must be
/// the same for a row read back from a file.
pub fn fingerprints(batch: &RecordBatch, kind: Kind, stream: u64) -> Result<(Vec<u64>, Vec<u64>)> {
    let (loose, origin) = key_hashes(batch, kind)?;
    let exact = loose.iter().zip(origin).map(|(&l, known)| scoped(l, known, stream)).collect();
    Ok((exact, loose))
}

/// The exact fingerprint of a row from its loose one: scoped by its stream unless it
/// names its origin.
fn scoped(loose: u64, known_origin: bool, stream: u64) -> u64 {
    if known_origin { loose } else { FINGERPRINT.hash_one((loose, stream)) }
}

const FINGERPRINT: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x7265_7472_6163_6521);

/// The fingerprints of a merged file's rows (`retrace compact`), each scoped by its own
/// object's stream: `streams` maps an object URL to its stream hash; rows of objects it
/// does not name (being replaced in this run, or stale) are left out.
pub fn fingerprints_by_source(
    batch: &RecordBatch,
    kind: Kind,
    streams: &HashMap<String, u64>,
) -> Result<(Vec<u64>, Vec<u64>)> {
    let (loose, origin) = key_hashes(batch, kind)?;
    let source = crate::warehouse::compact::source_column(batch)?;
    let (mut exact, mut kept) = (Vec::with_capacity(loose.len()), Vec::with_capacity(loose.len()));
    for (row, (&l, known)) in loose.iter().zip(origin).enumerate() {
        if let Some(&stream) = streams.get(source.value(row)) {
            exact.push(scoped(l, known, stream));
            kept.push(l);
        }
    }
    Ok((exact, kept))
}

/// Per row: the hash of the key columns (the loose fingerprint), and whether the row
/// names its origin.
fn key_hashes(batch: &RecordBatch, kind: Kind) -> Result<(Vec<u64>, Vec<bool>)> {
    let state = FINGERPRINT;
    let mut acc = vec![0u64; batch.num_rows()];
    for name in key_columns(kind) {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("{kind} batch has no key column `{name}`")))?;
        let mut fold = |value: &dyn Fn(usize) -> u64| {
            for (row, h) in acc.iter_mut().enumerate() {
                let v = if col.is_null(row) { NULL } else { value(row) };
                *h = state.hash_one((*h, v));
            }
        };
        if let Some(a) = col.as_any().downcast_ref::<TimestampMicrosecondArray>() {
            fold(&|row| a.value(row) as u64);
        } else if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
            fold(&|row| state.hash_one(a.value(row)));
        } else if let Some(a) = col.as_any().downcast_ref::<Int32Array>() {
            fold(&|row| a.value(row) as u64);
        } else if let Some(a) = col.as_any().downcast_ref::<Float64Array>() {
            fold(&|row| a.value(row).to_bits());
        } else if let Some(a) = col.as_any().downcast_ref::<MapArray>() {
            let (keys, values) = (a.keys().as_string::<i32>(), a.values().as_string::<i32>());
            let offsets = a.value_offsets();
            fold(&|row| {
                let entries = offsets[row] as usize..offsets[row + 1] as usize;
                entries
                    .fold(0u64, |h, i| state.hash_one((h, keys.value(i), values.is_valid(i).then(|| values.value(i)))))
            });
        } else {
            return Err(Error::Internal(format!("no fingerprint for column `{name}` of type {}", col.data_type())));
        }
    }
    Ok((acc, has_origin(batch, kind)?))
}

/// Per row: whether the row names where it came from, so that the same key columns in
/// two objects are the same record (a host, or for metrics an instance/host/pod label).
/// Changes and deploys carry ids of their own.
fn has_origin(batch: &RecordBatch, kind: Kind) -> Result<Vec<bool>> {
    let rows = batch.num_rows();
    match kind {
        Kind::Changes | Kind::Deploys => Ok(vec![true; rows]),
        // An event with a reference (an alert fingerprint, a log entry id, a message ts)
        // is the same event wherever it is found; one without is its file's alone.
        Kind::Events => {
            let reference =
                batch.column_by_name("ref").ok_or_else(|| Error::Internal("events batch has no `ref`".into()))?;
            Ok((0..rows).map(|r| reference.is_valid(r)).collect())
        }
        Kind::Logs => {
            let host =
                batch.column_by_name("host").ok_or_else(|| Error::Internal("logs batch has no `host`".into()))?;
            Ok((0..rows).map(|r| host.is_valid(r)).collect())
        }
        Kind::Metrics => {
            let Some(labels) = batch.column_by_name("labels").and_then(|c| c.as_any().downcast_ref::<MapArray>())
            else {
                return Err(Error::Internal("metrics batch has no `labels` map".into()));
            };
            let keys = labels.keys().as_string::<i32>();
            let offsets = labels.value_offsets();
            Ok((0..rows)
                .map(|r| {
                    labels.is_valid(r)
                        && (offsets[r] as usize..offsets[r + 1] as usize)
                            .any(|i| matches!(keys.value(i), "instance" | "host" | "hostname" | "pod" | "node"))
                })
                .collect())
        }
    }
}

/// What a null hashes to (a value's hash is this by chance only).
const NULL: u64 = 0x6e75_6c6c_6e75_6c6c;

/// What one object holds, per day: the multisets of its rows' exact and loose
/// fingerprints, and its files; and the stream its origin-less rows belong to.
#[derive(Debug, Default)]
pub struct ObjectRows {
    pub stream: u64,
    pub days: BTreeMap<NaiveDate, DayRows>,
}

#[derive(Debug, Default)]
pub struct DayRows {
    pub exact: Multiset,
    pub loose: Multiset,
    pub files: Vec<String>,
    /// The first and last `ts` of these rows (µs); `None` when unknown.
    pub span: Option<[i64; 2]>,
}

impl ObjectRows {
    pub fn new(stream: u64) -> ObjectRows {
        ObjectRows { stream, days: BTreeMap::new() }
    }

    pub fn add(&mut self, day: NaiveDate, file: &str, span: Option<[i64; 2]>, exact: &[u64], loose: &[u64]) {
        let first = !self.days.contains_key(&day);
        let rows = self.days.entry(day).or_default();
        // A file without a span makes the day's span unknown: every file is then read.
        rows.span = match (first, rows.span, span) {
            (true, _, s) => s,
            (false, Some(a), Some(b)) => Some(parquet::span_union(a, b)),
            _ => None,
        };
        for fp in exact {
            *rows.exact.entry(*fp).or_default() += 1;
        }
        for fp in loose {
            *rows.loose.entry(*fp).or_default() += 1;
        }
        rows.files.push(file.to_string());
    }

    /// Adds what another encoder of the same object recorded ([`ObjectRows::add`] for
    /// each of its files, in any order: counts add up, spans join).
    pub fn merge(&mut self, other: ObjectRows) {
        if !other.days.is_empty() {
            self.stream = other.stream;
        }
        for (day, theirs) in other.days {
            let Some(ours) = self.days.get_mut(&day) else {
                self.days.insert(day, theirs);
                continue;
            };
            ours.span = match (ours.span, theirs.span) {
                (Some(a), Some(b)) => Some(parquet::span_union(a, b)),
                _ => None,
            };
            for (fp, n) in theirs.exact {
                *ours.exact.entry(fp).or_default() += n;
            }
            for (fp, n) in theirs.loose {
                *ours.loose.entry(fp).or_default() += n;
            }
            ours.files.extend(theirs.files);
        }
    }

    /// Puts each day's files in the order `rank` gives (the order they were sent in).
    pub fn order_files(&mut self, rank: impl Fn(&str) -> u64) {
        for rows in self.days.values_mut() {
            rows.files.sort_by_key(|f| rank(f));
        }
    }
}

/// What resolving one object did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Rows dropped: the same record, already held from the same stream.
    pub dropped: u64,
    /// Rows kept although another stream holds identical ones (possible duplicates).
    pub kept_similar: u64,
    /// Files deleted because none of their rows were left.
    pub emptied: Vec<String>,
}

/// What the warehouse holds per (table, day): the fingerprints of the committed files
/// read so far and of the objects resolved in this run.
///
/// A duplicate has the timestamp of the row it repeats, so resolving an object reads only
/// the committed files of its days whose span meets its own (and files of unknown span):
/// a new object at the end of a day of 20,000 small ones reads none of theirs. A file
/// holding a fingerprint an object has always meets that object's span, so it is read
/// before the fingerprint is first looked up or counted: the multisets are exact for
/// every fingerprint consulted.
pub struct Presence {
    /// Objects of this run: their committed files are not presence (they are being replaced).
    excluded: BTreeSet<String>,
    committed: BTreeMap<String, ObjectEntry>,
    /// Committed files per (kind, day), indexed on a kind's first need.
    files: HashMap<(Kind, NaiveDate), Vec<CommittedFile>>,
    indexed: BTreeSet<Kind>,
    present: HashMap<(Kind, NaiveDate), (Multiset, Multiset)>,
}

struct CommittedFile {
    key: String,
    /// How its origin-less rows are scoped: one stream, or (a merged file) each row's
    /// object URL → its stream, for the objects whose rows count.
    streams: Streams,
    span: Option<[i64; 2]>,
    /// Row groups counted already: a merged file's day is read a part at a time.
    read: BTreeSet<usize>,
    /// How many row groups it has, once read.
    groups: Option<usize>,
}

enum Streams {
    One(u64),
    BySource(HashMap<String, u64>),
}

impl Presence {
    pub fn new(committed: BTreeMap<String, ObjectEntry>, excluded: BTreeSet<String>) -> Presence {
        Presence { excluded, committed, files: HashMap::new(), indexed: BTreeSet::new(), present: HashMap::new() }
    }

    /// Files of every committed object of `kind` (but this run's), by day.
    fn index(&mut self, kind: Kind) {
        if !self.indexed.insert(kind) {
            return;
        }
        // A merged file's day, each member's stream by URL, and its span.
        type Merged = (NaiveDate, HashMap<String, u64>, Option<[i64; 2]>);
        let mut merged: BTreeMap<&str, Merged> = BTreeMap::new();
        for (id, entry) in &self.committed {
            if self.excluded.contains(id) || entry.kind != kind {
                continue;
            }
            let mut stream = None;
            for key in &entry.files {
                let Some(day) = crate::warehouse::layout::day_of_data_key(kind.table(), key) else { continue };
                let stream = *stream.get_or_insert_with(|| match &entry.stream {
                    Some(s) => stream_hash(s),
                    None => stream_hash(&stream_of(None, &entry.object)),
                });
                let span = entry.spans.get(key).copied();
                if entry.shared.contains(key) {
                    let (_, streams, _) = merged.entry(key).or_insert_with(|| (day, HashMap::new(), span));
                    streams.insert(entry.object.clone(), stream);
                    continue;
                }
                let file = CommittedFile {
                    key: key.clone(),
                    streams: Streams::One(stream),
                    span,
                    read: BTreeSet::new(),
                    groups: None,
                };
                self.files.entry((kind, day)).or_default().push(file);
            }
        }
        for (key, (day, streams, span)) in merged {
            let file = CommittedFile {
                key: key.to_string(),
                streams: Streams::BySource(streams),
                span,
                read: BTreeSet::new(),
                groups: None,
            };
            self.files.entry((kind, day)).or_default().push(file);
        }
    }

    /// The day's presence, with every committed file whose span meets `span` read.
    async fn load(
        &mut self,
        warehouse: &Warehouse,
        kind: Kind,
        day: NaiveDate,
        span: Option<[i64; 2]>,
    ) -> Result<&mut (Multiset, Multiset)> {
        self.index(kind);
        let (exact, loose) = self.present.entry((kind, day)).or_default();
        for file in self.files.get_mut(&(kind, day)).into_iter().flatten() {
            let meets = match (file.span, span) {
                (Some(f), Some(o)) => parquet::spans_meet(f, o),
                _ => true,
            };
            if !meets || file.groups == Some(file.read.len()) {
                continue;
            }
            // Only the row groups whose `ts` range meets the span: the same argument,
            // a group at a time (a merged file holds a whole day).
            let (batches, groups, total) = parquet::read_meeting(warehouse, &file.key, span, &file.read).await?;
            file.groups = Some(total);
            for batch in batches {
                let (e, l) = match &file.streams {
                    Streams::One(stream) => fingerprints(&batch, kind, *stream)?,
                    Streams::BySource(streams) => fingerprints_by_source(&batch, kind, streams)?,
                };
                for fp in e {
                    *exact.entry(fp).or_default() += 1;
                }
                for fp in l {
                    *loose.entry(fp).or_default() += 1;
                }
            }
            file.read.extend(groups);
        }
        Ok(self.present.get_mut(&(kind, day)).expect("inserted above"))
    }

    /// Drops the object's duplicates (rewriting its files where needed), records its rows
    /// as present, and says how many were dropped, how many identical rows of another
    /// stream were kept, and which files ended up empty (deleted). Call in URL order,
    /// before commit.
    pub async fn resolve(&mut self, warehouse: &Warehouse, kind: Kind, rows: &ObjectRows) -> Result<Resolved> {
        let mut resolved = Resolved::default();
        for (day, mine) in &rows.days {
            let (present, present_loose) = self.load(warehouse, kind, *day, mine.span).await?;
            // How many of each fingerprint to drop: the first min(mine, present) occurrences.
            let mut drop: HashMap<u64, u32> = HashMap::new();
            for (fp, n) in &mine.exact {
                if let Some(p) = present.get(fp) {
                    drop.insert(*fp, (*n).min(*p));
                }
            }
            for (fp, n) in &mine.exact {
                let p = present.entry(*fp).or_default();
                *p = (*p).max(*n);
            }
            let similar: u64 =
                mine.loose.iter().map(|(fp, n)| u64::from((*n).min(present_loose.get(fp).copied().unwrap_or(0)))).sum();
            for (fp, n) in &mine.loose {
                let p = present_loose.entry(*fp).or_default();
                *p = (*p).max(*n);
            }
            let dropped_here: u64 = drop.values().map(|&n| u64::from(n)).sum();
            resolved.kept_similar += similar.saturating_sub(dropped_here);
            if drop.is_empty() {
                continue;
            }
            for file in &mine.files {
                let (n, empty) = rewrite_without(warehouse, kind, rows.stream, file, &mut drop).await?;
                resolved.dropped += n;
                if empty {
                    resolved.emptied.push(file.clone());
                }
            }
        }
        Ok(resolved)
    }
}

/// Rewrites one file without the rows `drop` still asks for; returns how many went and
/// whether the file was deleted because none were left.
async fn rewrite_without(
    warehouse: &Warehouse,
    kind: Kind,
    stream: u64,
    key: &str,
    drop: &mut HashMap<u64, u32>,
) -> Result<(u64, bool)> {
    let batches = parquet::read(warehouse, key).await?;
    let mut kept = Vec::with_capacity(batches.len());
    let mut dropped = 0u64;
    for batch in batches {
        let (fps, _) = fingerprints(&batch, kind, stream)?;
        let mask: BooleanArray = fps
            .iter()
            .map(|fp| match drop.get_mut(fp) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    dropped += 1;
                    Some(false)
                }
                _ => Some(true),
            })
            .collect();
        kept.push(filter_record_batch(&batch, &mask)?);
    }
    if dropped == 0 {
        return Ok((0, false));
    }
    let schema = kind.schema();
    let batch = datafusion::arrow::compute::concat_batches(&schema, &kept)?;
    if batch.num_rows() == 0 {
        warehouse.delete(key).await?;
        return Ok((dropped, true));
    }
    warehouse.put(key, parquet::encode(&batch, true)?).await?;
    Ok((dropped, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_keeps_hosts_apart_and_joins_rotations_dates_and_copies() {
        let same = [
            ("s3://b/logs/app.jsonl", "s3://b/logs/app.jsonl.1"),
            ("s3://b/logs/app.jsonl", "s3://b/logs/app.jsonl.2.gz"),
            ("/x/app-2026-11-19.jsonl", "/x/app-2026-11-20.jsonl"),
            ("/x/app.20261119.log", "/x/app.20261120.log"),
            ("/x/export-2026-11-19T10-00-00Z.jsonl", "/x/export-2026-11-19T11-00-00Z.jsonl"),
            ("/x/app.jsonl", "/x/app (1).jsonl"),
            ("/x/app.jsonl", "/x/app-copy.jsonl"),
            ("/x/app.jsonl", "/x/app.jsonl.bak"),
            ("/logs/2026/11/19/app.jsonl.gz", "/logs/2026/11/20/app.jsonl.gz"),
            ("/x/dump-1795089600.jsonl", "/x/dump-1795093200.jsonl"),
        ];
        for (a, b) in same {
            assert_eq!(lineage(a), lineage(b), "{a} ~ {b}");
        }
        let different = [
            ("/logs/web-1/access.log", "/logs/web-2/access.log"),
            ("/logs/web-1.log", "/logs/web-2.log"),
            ("/logs/access.log", "/logs/error.log"),
            ("http://h:18766/app.jsonl", "http://h:18767/app.jsonl"),
            ("/logs/a/app.jsonl", "/logs/b/app.jsonl"),
            ("/x/1-export.jsonl", "/x/2-export.jsonl"),
        ];
        for (a, b) in different {
            assert_ne!(lineage(a), lineage(b), "{a} vs {b}");
        }
    }
}
