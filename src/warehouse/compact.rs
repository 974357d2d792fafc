//! `retrace compact`: a day's many small files merged into a few, without changing what
//! any query answers.
//!
//! A log shipper writing one object per host per minute leaves 20,000 files a day, and
//! every query then opens 20,000 footers. Compaction merges a table's small files of one
//! day (every column kept, rows sorted by `ts`, `source`, `line`) into files of up to
//! `target_rows`, and commits each merged file with one put of a *compaction record*
//! (`_manifest/compactions/<id>.json`): the merged file and, per member object, the
//! commit whose rows it holds and the files they came from. Entries are not rewritten:
//! loading the manifest lays the records over them ([`overlay`]), so an entry's `files`
//! name the merged file in place of the replaced ones, and `shared` says it is shared.
//!
//! Protocol, per merged file: (1) put the merged file; (2) put the record — the commit;
//! (3) delete the replaced files. A crash before (2) leaves a merged file nothing names,
//! after (2) replaced files nothing names: the next ingest's recovery removes either.
//! As while an ingest replaces a changed object, a query running between (1) and (3)
//! can count the merged rows twice.
//!
//! A member read again by an ingest (changed, or its files lost) is *stale*: its rows in
//! the merged file are an old commit's. [`fix`] rewrites the merged file without them
//! (rows are matched by `source`) under a new record that supersedes the old one, then
//! deletes the old record and file; with no member left the record simply goes. Ingest,
//! repair and compact run it under the warehouse lock.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, BooleanArray, RecordBatch, StringArray, new_null_array};
use datafusion::arrow::compute::{
    SortColumn, cast, concat_batches, filter_record_batch, lexsort_to_indices, take_record_batch,
};
use datafusion::arrow::datatypes::SchemaRef;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use super::{ObjectEntry, Warehouse, layout, parquet};
use crate::error::{Error, Result};
use crate::tables::Kind;

/// A file at most this big (compressed) is small: worth merging, and cheap to read whole.
pub const SMALL_BYTES: u64 = 8 << 20;

/// Rows per merged file unless told otherwise: about 100–200 MB of Arrow while merging.
pub const TARGET_ROWS: u64 = 500_000;

/// One compaction record: merged files and whose rows they hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    pub table: String,
    pub day: NaiveDate,
    pub files: Vec<String>,
    /// Each merged file's first and last `ts` (µs), as entries keep them.
    #[serde(default)]
    pub spans: BTreeMap<String, [i64; 2]>,
    /// By object id.
    pub members: BTreeMap<String, Member>,
    /// Records this one replaces (rewritten without their stale members).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<String>,
}

/// One object's part of a merged file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub object: String,
    pub version: String,
    /// The entry's `commit` whose rows these are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The object's files the merged file replaced.
    pub replaced: Vec<String>,
    pub rows: u64,
}

/// The compaction records of a warehouse, by id.
#[derive(Debug, Default, Clone)]
pub struct Records {
    pub active: BTreeMap<String, Compaction>,
    /// Records a newer one supersedes (left by an interrupted `fix`; ignored, then removed).
    pub superseded: BTreeSet<String>,
}

impl Records {
    pub async fn load(warehouse: &Warehouse) -> Result<Records> {
        let mut all = BTreeMap::new();
        for meta in warehouse.location.list(layout::COMPACTIONS_DIR).await? {
            let Some(id) = meta.location.filename().and_then(|n| n.strip_suffix(".json")) else { continue };
            let bytes = match warehouse.location.store.get(&meta.location).await {
                Ok(got) => got.bytes().await?,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let record: Compaction = serde_json::from_slice(&bytes).map_err(|e| Error::Warehouse {
                location: warehouse.location.url_of(&meta.location),
                message: format!("unreadable compaction record: {e}"),
            })?;
            all.insert(id.to_string(), record);
        }
        let superseded: BTreeSet<String> =
            all.values().flat_map(|r| r.supersedes.iter().cloned()).filter(|id| all.contains_key(id)).collect();
        all.retain(|id, _| !superseded.contains(id));
        Ok(Records { active: all, superseded })
    }
}

/// Lays the records over the entries (module docs); returns each record's stale members.
pub fn overlay(entries: &mut BTreeMap<String, ObjectEntry>, records: &Records) -> BTreeMap<String, BTreeSet<String>> {
    let mut stale: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rid, record) in &records.active {
        for (id, member) in &record.members {
            let current = entries.get_mut(id).filter(|e| {
                e.version == member.version
                    && e.commit == member.commit
                    && member.replaced.iter().all(|f| e.files.contains(f))
            });
            let Some(entry) = current else {
                stale.entry(rid.clone()).or_default().insert(id.clone());
                continue;
            };
            entry.files.retain(|f| !member.replaced.contains(f));
            for f in &member.replaced {
                entry.spans.remove(f);
            }
            for f in &record.files {
                if !entry.files.contains(f) {
                    entry.files.push(f.clone());
                }
                if let Some(span) = record.spans.get(f) {
                    entry.spans.insert(f.clone(), *span);
                }
                entry.shared.insert(f.clone());
            }
            entry.shared_rows += member.rows;
        }
    }
    stale
}

/// Brings the records up to date with the entries (module docs). Call only while
/// holding the warehouse lock. Returns whether anything changed (load the manifest again).
pub async fn fix(
    warehouse: &Warehouse,
    records: &Records,
    stale_members: &BTreeMap<String, BTreeSet<String>>,
) -> Result<bool> {
    let mut changed = false;
    for id in &records.superseded {
        // Its files are named by nothing now: recovery removes them.
        warehouse.delete(&layout::compaction_key(id)).await?;
        changed = true;
    }
    for (rid, stale) in stale_members {
        let Some(record) = records.active.get(rid) else { continue };
        changed = true;
        let mut kept = record.clone();
        kept.members.retain(|id, _| !stale.contains(id));
        if kept.members.is_empty() {
            debug!(record = %rid, "No member of a compaction is current; removing it.");
            warehouse.delete(&layout::compaction_key(rid)).await?;
            for f in &record.files {
                warehouse.delete(f).await?;
            }
            continue;
        }
        let gone: BTreeSet<&str> =
            record.members.iter().filter(|(id, _)| stale.contains(*id)).map(|(_, m)| m.object.as_str()).collect();
        let schema = table_schema(&record.table)?;
        let mut batches = Vec::new();
        let mut unreadable = None;
        for f in &record.files {
            match parquet::read(warehouse, f).await {
                Ok(b) => batches.extend(b),
                Err(e) => {
                    unreadable = Some((f.clone(), e));
                    break;
                }
            }
        }
        if let Some((file, e)) = unreadable {
            // Its members' entries name the files it replaced, which are gone: the next
            // ingest finds them missing and reads those objects again.
            warn!(record = %rid, file = %file, error = %e,
                  "A merged file cannot be read; dropping its compaction record (the next ingest reads its objects again).");
            warehouse.delete(&layout::compaction_key(rid)).await?;
            continue;
        }
        let mut rows = Vec::new();
        for batch in batches {
            let batch = conform(&batch, &schema)?;
            let keep: BooleanArray =
                source_column(&batch)?.iter().map(|s| Some(!gone.contains(s.unwrap_or("")))).collect();
            rows.push(filter_record_batch(&batch, &keep)?);
        }
        let id = layout::fresh_id(rid);
        let (files, spans) = write_merged(warehouse, &record.table, record.day, &id, &schema, &rows).await?;
        kept.files = files;
        kept.spans = spans;
        kept.supersedes = vec![rid.clone()];
        put_record(warehouse, &id, &kept).await?;
        warehouse.delete(&layout::compaction_key(rid)).await?;
        for f in record.files.iter().filter(|f| !kept.files.contains(f)) {
            warehouse.delete(f).await?;
        }
    }
    Ok(changed)
}

/// What `retrace compact` should merge.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Tables to compact (`logs`, `metrics`, …); empty: every data table.
    pub tables: Vec<String>,
    /// Days to compact; empty: every day.
    pub days: Vec<NaiveDate>,
    pub target_rows: u64,
    pub dry_run: bool,
    pub lock_wait: std::time::Duration,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            tables: Vec::new(),
            days: Vec::new(),
            target_rows: TARGET_ROWS,
            dry_run: false,
            lock_wait: std::time::Duration::ZERO,
        }
    }
}

/// What compaction did to one table's day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayCompacted {
    pub table: String,
    pub day: NaiveDate,
    /// Small files merged.
    pub merged: usize,
    /// Files written in their place.
    pub written: usize,
    pub rows: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// One small file of one object.
struct Small {
    id: String,
    key: String,
    size: u64,
    start: i64,
}

/// Merges each chosen table's small files day by day (module docs). Takes the lock.
pub async fn compact(warehouse: &Warehouse, options: &CompactOptions) -> Result<Vec<DayCompacted>> {
    let lock = super::lock::acquire(warehouse, "compact", options.lock_wait).await?;
    let mut loaded = warehouse.load_manifest().await?;
    if loaded.needs_fix() && !options.dry_run {
        fix(warehouse, &loaded.records, &loaded.stale_members).await?;
        loaded = warehouse.load_manifest().await?;
    }
    if !options.dry_run {
        // Leftovers first, so that nothing uncommitted is merged in.
        warehouse.recover(&loaded.entries).await?;
    }
    let mut done = Vec::new();
    for kind in Kind::ALL {
        let table = kind.table();
        if !options.tables.is_empty() && !options.tables.iter().any(|t| t == table) {
            continue;
        }
        let sizes: BTreeMap<String, u64> = warehouse
            .location
            .list(table)
            .await?
            .into_iter()
            .filter_map(|m| Some((warehouse.location.relative(&m.location)?, m.size)))
            .collect();
        let mut by_day: BTreeMap<NaiveDate, Vec<Small>> = BTreeMap::new();
        for (id, entry) in loaded.entries.iter().filter(|(_, e)| e.kind == kind) {
            for key in entry.own_files() {
                let Some(day) = layout::day_of_data_key(table, key) else { continue };
                let Some(&size) = sizes.get(key) else { continue };
                if size > SMALL_BYTES || (!options.days.is_empty() && !options.days.contains(&day)) {
                    continue;
                }
                let start = entry.spans.get(key).map_or(i64::MIN, |s| s[0]);
                by_day.entry(day).or_default().push(Small { id: id.clone(), key: key.clone(), size, start });
            }
        }
        for (day, mut files) in by_day {
            if files.len() < 2 {
                continue;
            }
            // In time order, so each merged file covers a short span (pruning, duplicates).
            files.sort_by(|a, b| (a.start, &a.key).cmp(&(b.start, &b.key)));
            let mut day_done = DayCompacted { table: table.to_string(), day, ..Default::default() };
            let mut group: Vec<(Small, Vec<RecordBatch>)> = Vec::new();
            let mut group_rows = 0u64;
            let schema = kind.schema();
            let total = files.len();
            for (i, small) in files.into_iter().enumerate() {
                let batches = if options.dry_run { Vec::new() } else { parquet::read(warehouse, &small.key).await? };
                group_rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                group.push((small, batches));
                let last = i + 1 == total;
                if group_rows >= options.target_rows || last {
                    let members = std::mem::take(&mut group);
                    if members.len() >= 2 {
                        lock.check()?;
                        let merged =
                            merge_group(warehouse, &loaded.entries, table, day, &schema, members, options).await?;
                        day_done.merged += merged.merged;
                        day_done.written += merged.written;
                        day_done.rows += merged.rows;
                        day_done.bytes_before += merged.bytes_before;
                        day_done.bytes_after += merged.bytes_after;
                    }
                    group_rows = 0;
                }
            }
            if day_done.merged > 0 {
                info!(table, %day, merged = day_done.merged, written = day_done.written, "Compacted a day.");
                done.push(day_done);
            }
        }
    }
    lock.release().await;
    Ok(done)
}

/// Writes one group's merged file and its record, then deletes what it replaced.
async fn merge_group(
    warehouse: &Warehouse,
    entries: &BTreeMap<String, ObjectEntry>,
    table: &str,
    day: NaiveDate,
    schema: &SchemaRef,
    group: Vec<(Small, Vec<RecordBatch>)>,
    options: &CompactOptions,
) -> Result<DayCompacted> {
    let mut out = DayCompacted {
        table: table.to_string(),
        day,
        merged: group.len(),
        bytes_before: group.iter().map(|(s, _)| s.size).sum(),
        ..Default::default()
    };
    if options.dry_run {
        out.written = 1;
        return Ok(out);
    }
    let mut members: BTreeMap<String, Member> = BTreeMap::new();
    let mut rows = Vec::new();
    for (small, batches) in &group {
        let entry = &entries[&small.id];
        let member = members.entry(small.id.clone()).or_insert_with(|| Member {
            object: entry.object.clone(),
            version: entry.version.clone(),
            commit: entry.commit.clone(),
            replaced: Vec::new(),
            rows: 0,
        });
        member.replaced.push(small.key.clone());
        for batch in batches {
            member.rows += batch.num_rows() as u64;
            rows.push(conform(batch, schema)?);
        }
    }
    out.rows = members.values().map(|m| m.rows).sum();
    let id = layout::fresh_id(&format!("{table}/{day}"));
    let (files, spans) = write_merged(warehouse, table, day, &id, schema, &rows).await?;
    out.written = files.len();
    for f in &files {
        out.bytes_after += warehouse.location.store.head(&warehouse.location.child(f)).await?.size;
    }
    let record = Compaction { table: table.to_string(), day, files, spans, members, supersedes: Vec::new() };
    put_record(warehouse, &id, &record).await?;
    for (small, _) in &group {
        warehouse.delete(&small.key).await?;
    }
    Ok(out)
}

/// Sorts the rows by `ts`, `source`, `line` and stores them as one merged file (none
/// when there are no rows). Returns its key and span.
async fn write_merged(
    warehouse: &Warehouse,
    table: &str,
    day: NaiveDate,
    id: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(Vec<String>, BTreeMap<String, [i64; 2]>)> {
    let all = concat_batches(schema, batches)?;
    if all.num_rows() == 0 {
        return Ok((Vec::new(), BTreeMap::new()));
    }
    let column = |name: &str| {
        all.column_by_name(name)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("{table} rows have no `{name}` column")))
    };
    let order = lexsort_to_indices(
        &[
            SortColumn { values: column("ts")?, options: None },
            SortColumn { values: column("source")?, options: None },
            SortColumn { values: column("line")?, options: None },
        ],
        None,
    )?;
    let sorted = take_record_batch(&all, &order)?;
    let key = layout::compacted_key(table, day, id, 0);
    let spans = parquet::ts_span(std::slice::from_ref(&sorted)).map(|span| (key.clone(), span)).into_iter().collect();
    warehouse.put(&key, parquet::encode(&sorted, true)?).await?;
    Ok((vec![key], spans))
}

async fn put_record(warehouse: &Warehouse, id: &str, record: &Compaction) -> Result<()> {
    let json = serde_json::to_vec_pretty(record).map_err(|e| Error::Internal(e.to_string()))?;
    warehouse.put(&layout::compaction_key(id), bytes::Bytes::from(json)).await
}

fn table_schema(table: &str) -> Result<SchemaRef> {
    crate::tables::schema_of(table).ok_or_else(|| Error::Internal(format!("a compaction record names table `{table}`")))
}

/// A table batch's `source` column: the URL of the object each row came from.
pub fn source_column(batch: &RecordBatch) -> Result<&StringArray> {
    batch
        .column_by_name("source")
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| Error::Internal("a table batch has no `source` column".into()))
}

/// A file's batch in the table's current schema: columns added since it was written are
/// null, as queries read them.
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(c) if c.data_type() == field.data_type() => Ok(c.clone()),
            Some(c) => Ok(cast(c, field.data_type())?),
            None => Ok(new_null_array(field.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::ingest::{IngestOptions, IngestSummary, ingest};

    /// `n` log lines of `host` (none: an origin-less line) at minute `minute` of 2026-11-19.
    fn lines(host: Option<&str>, minute: u32, n: usize, tag: &str) -> String {
        (0..n)
            .map(|i| {
                let host = host.map(|h| format!(",\"host\":\"{h}\"")).unwrap_or_default();
                format!(
                    "{{\"ts\":\"2026-11-19T10:{minute:02}:{:02}Z\",\"service\":\"api\"{host},\"msg\":\"{tag} {i}\",\"status\":{}}}\n",
                    i % 60,
                    200 + (i % 4) * 100
                )
            })
            .collect()
    }

    /// 3 hosts × 6 minutes, one object each, plus an origin-less app log and its rotation.
    fn shipper(dir: &Path) {
        for host in ["web-1", "web-2", "web-3"] {
            for minute in 0..6 {
                let folder = dir.join("src").join(host);
                std::fs::create_dir_all(&folder).unwrap();
                std::fs::write(folder.join(format!("m{minute:02}.jsonl")), lines(Some(host), minute, 20, host))
                    .unwrap();
            }
        }
        std::fs::write(dir.join("src").join("app.jsonl"), lines(None, 30, 25, "app")).unwrap();
    }

    fn config(dir: &Path) -> Config {
        Config::parse("[[sources]]\nkind = \"logs\"\nurl = \"src/**/*.jsonl*\"\n", dir).unwrap()
    }

    async fn run_ingest(wh: &Warehouse, dir: &Path) -> IngestSummary {
        ingest(wh, &config(dir).sources, &IngestOptions::default()).await.unwrap()
    }

    /// Every row, in a fixed order, and aggregates a dashboard would ask.
    async fn answers(wh: &Warehouse) -> Vec<String> {
        let ctx = crate::catalog::open(wh).await.unwrap();
        let mut out = Vec::new();
        for q in [
            "SELECT ts, source, line, host, level, msg, status, date FROM logs ORDER BY ts, source, line",
            "SELECT host, count(*), sum(status), count(DISTINCT source) FROM logs GROUP BY host ORDER BY host",
        ] {
            let batches = ctx.sql(q).await.unwrap().collect().await.unwrap();
            out.push(datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string());
        }
        out
    }

    fn parquet_files(dir: &Path) -> usize {
        let day = dir.join("wh/logs/date=2026-11-19");
        std::fs::read_dir(day)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "parquet"))
            .count()
    }

    async fn deep_check(wh: &Warehouse) {
        let report = crate::warehouse::check::check(wh, true).await.unwrap();
        assert!(report.is_clean(), "{report:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_days_small_files_merge_into_one_and_every_answer_stays_the_same() {
        let dir = tempfile::tempdir().unwrap();
        shipper(dir.path());
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        let first = run_ingest(&wh, dir.path()).await;
        assert_eq!(first.objects_ingested, 19, "{first:?}");
        let before = answers(&wh).await;
        assert_eq!(parquet_files(dir.path()), 19);

        let dry = compact(&wh, &CompactOptions { dry_run: true, ..Default::default() }).await.unwrap();
        assert_eq!((dry[0].merged, parquet_files(dir.path())), (19, 19), "{dry:?}");
        let done = compact(&wh, &CompactOptions::default()).await.unwrap();
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!((done[0].table.as_str(), done[0].merged, done[0].written, done[0].rows), ("logs", 19, 1, 385));
        assert_eq!(parquet_files(dir.path()), 1);
        assert_eq!(answers(&wh).await, before);
        deep_check(&wh).await;

        // Nothing is read again, and a second compaction has nothing to do.
        let again = run_ingest(&wh, dir.path()).await;
        assert_eq!((again.objects_unchanged, again.objects_ingested), (19, 0), "{again:?}");
        assert!(compact(&wh, &CompactOptions::default()).await.unwrap().is_empty());
        // Smaller groups: several merged files, the same answers.
        let dir2 = tempfile::tempdir().unwrap();
        shipper(dir2.path());
        let wh2 = Warehouse::open(&dir2.path().join("wh").display().to_string()).unwrap();
        run_ingest(&wh2, dir2.path()).await;
        let before2 = answers(&wh2).await;
        let done = compact(&wh2, &CompactOptions { target_rows: 100, ..Default::default() }).await.unwrap();
        assert_eq!((done[0].merged, done[0].written), (19, 4), "{done:?}");
        assert_eq!(answers(&wh2).await, before2);
        deep_check(&wh2).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_object_read_again_replaces_its_rows_in_the_merged_file() {
        let dir = tempfile::tempdir().unwrap();
        shipper(dir.path());
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        run_ingest(&wh, dir.path()).await;
        compact(&wh, &CompactOptions::default()).await.unwrap();
        // web-2's minute 3 is re-exported with 5 more lines and new text.
        std::fs::write(dir.path().join("src/web-2/m03.jsonl"), lines(Some("web-2"), 3, 25, "again")).unwrap();
        let s = run_ingest(&wh, dir.path()).await;
        assert_eq!((s.objects_ingested, s.objects_replaced, s.rows.get("logs")), (1, 1, Some(&25)), "{s:?}");

        let ctx = crate::catalog::open(&wh).await.unwrap();
        let q = "SELECT count(*) AS n, count(*) FILTER (WHERE msg LIKE 'again%') AS again FROM logs";
        let got = ctx.sql(q).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&got).unwrap().to_string();
        assert!(text.contains("| 390 | 25    |"), "{text}");
        // The merged file was rewritten under a new record; the old one and its file are gone.
        let records = Records::load(&wh).await.unwrap();
        assert_eq!((records.active.len(), records.superseded.len()), (1, 0));
        let record = records.active.values().next().unwrap();
        assert_eq!((record.members.len(), record.supersedes.len()), (18, 1));
        assert_eq!(parquet_files(dir.path()), 2);
        deep_check(&wh).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn duplicates_are_found_in_merged_files_by_each_rows_own_stream() {
        let dir = tempfile::tempdir().unwrap();
        shipper(dir.path());
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        run_ingest(&wh, dir.path()).await;
        compact(&wh, &CompactOptions::default()).await.unwrap();
        // A rotated copy of the origin-less app log (its stream), and web-1's minute 2
        // exported again under another name (its rows name their host).
        std::fs::write(dir.path().join("src/app.jsonl.1"), lines(None, 30, 25, "app")).unwrap();
        std::fs::write(dir.path().join("src/web-1/again.jsonl"), lines(Some("web-1"), 2, 20, "web-1")).unwrap();
        // Origin-less rows of another stream are kept, and counted as possible duplicates.
        std::fs::create_dir_all(dir.path().join("src/other")).unwrap();
        std::fs::write(dir.path().join("src/other/app.jsonl"), lines(None, 30, 25, "app")).unwrap();
        let s = run_ingest(&wh, dir.path()).await;
        assert_eq!(s.objects_ingested, 3, "{s:?}");
        assert_eq!((s.duplicates.get("logs"), s.kept_similar.get("logs")), (Some(&45), Some(&25)), "{s:?}");
        deep_check(&wh).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_interrupted_or_damaged_compaction_loses_no_row() {
        let dir = tempfile::tempdir().unwrap();
        shipper(dir.path());
        let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
        run_ingest(&wh, dir.path()).await;
        let before = answers(&wh).await;
        let day = dir.path().join("wh/logs/date=2026-11-19");
        let saved: Vec<(std::path::PathBuf, Vec<u8>)> = std::fs::read_dir(&day)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect();
        compact(&wh, &CompactOptions::default()).await.unwrap();

        // Killed after the record, before the replaced files were deleted: they are
        // orphans, removed by the next ingest, and no row is counted twice.
        for (path, bytes) in &saved {
            std::fs::write(path, bytes).unwrap();
        }
        let report = crate::warehouse::check::check(&wh, false).await.unwrap();
        assert_eq!(report.orphans.len(), 19, "{report:?}");
        let s = run_ingest(&wh, dir.path()).await;
        assert_eq!((s.recovered_files, s.objects_unchanged), (19, 19), "{s:?}");
        assert_eq!(answers(&wh).await, before);

        // Killed before the record: a merged file nothing names, removed the same way.
        let stray = day.join("c-00000000000000aa-0000.parquet");
        std::fs::copy(day.read_dir().unwrap().next().unwrap().unwrap().path(), &stray).unwrap();
        let s = run_ingest(&wh, dir.path()).await;
        assert_eq!(s.recovered_files, 1, "{s:?}");
        assert!(!stray.exists());
        assert_eq!(answers(&wh).await, before);

        // The merged file lost: check names it missing for its 19 objects; the next
        // ingest reads them all again and the record goes.
        let merged = day.read_dir().unwrap().next().unwrap().unwrap().path();
        std::fs::remove_file(&merged).unwrap();
        let report = crate::warehouse::check::check(&wh, false).await.unwrap();
        assert_eq!(report.missing.len(), 19, "{report:?}");
        let s = run_ingest(&wh, dir.path()).await;
        assert_eq!((s.objects_repaired, s.objects_ingested), (19, 19), "{s:?}");
        assert!(Records::load(&wh).await.unwrap().active.is_empty());
        assert_eq!(answers(&wh).await, before);
        deep_check(&wh).await;
    }
}
