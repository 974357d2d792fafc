//! Dropping duplicates that overlapping exports bring (the 10:00–12:00 and 11:00–13:00
//! dumps of the same log both hold 11:00–12:00).
//!
//! A row's identity is a fingerprint of its kind's key columns ([`key_columns`]). Inside
//! one object nothing is ever dropped: two identical lines in one export are two events
//! (an error logged twice in the same second). Across objects, rows are compared as
//! multisets: an object's k-th row with a given fingerprint is a duplicate when the
//! warehouse already holds k rows with it from other objects. Objects are resolved in
//! the order of their URLs, so which copy is kept does not depend on timing.
//!
//! Limits (documented in docs/formats.md): a duplicate dropped from object B stays
//! dropped if the object it duplicated is later re-ingested with fewer rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, MapArray, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use object_store::ObjectStoreExt;

use crate::error::{Error, Result};
use crate::tables::Kind;
use crate::warehouse::{ObjectEntry, Warehouse, parquet};

/// Fingerprint → number of rows with it.
pub type Multiset = HashMap<u64, u32>;

/// The columns that identify a row of each kind.
pub fn key_columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Logs => &["ts", "service", "host", "level", "msg", "trace_id"],
        Kind::Metrics => &["ts", "metric", "value", "service", "labels"],
        Kind::Changes => &["ts", "change_id"],
        Kind::Deploys => &["ts", "deploy_id", "status"],
    }
}

/// One fingerprint per row of `batch` (a table batch of `kind`).
pub fn fingerprints(batch: &RecordBatch, kind: Kind) -> Result<Vec<u64>> {
    let mut hashers: Vec<fnv::FnvHasher> = (0..batch.num_rows()).map(|_| fnv::FnvHasher::default()).collect();
    for name in key_columns(kind) {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("{kind} batch has no key column `{name}`")))?;
        for (row, h) in hashers.iter_mut().enumerate() {
            if col.is_null(row) {
                0u8.hash(h);
                continue;
            }
            1u8.hash(h);
            if let Some(a) = col.as_any().downcast_ref::<TimestampMicrosecondArray>() {
                a.value(row).hash(h);
            } else if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
                a.value(row).hash(h);
            } else if let Some(a) = col.as_any().downcast_ref::<Int32Array>() {
                a.value(row).hash(h);
            } else if let Some(a) = col.as_any().downcast_ref::<Float64Array>() {
                a.value(row).to_bits().hash(h);
            } else if let Some(a) = col.as_any().downcast_ref::<MapArray>() {
                let entries = a.value(row);
                let (keys, values) = (entries.column(0).as_string::<i32>(), entries.column(1).as_string::<i32>());
                for i in 0..entries.len() {
                    keys.value(i).hash(h);
                    values.is_valid(i).hash(h);
                    values.value(i).hash(h);
                }
            } else {
                return Err(Error::Internal(format!("no fingerprint for column `{name}` of type {}", col.data_type())));
            }
        }
    }
    Ok(hashers.into_iter().map(|h| h.finish()).collect())
}

/// What one object holds, per day: the multiset of its rows' fingerprints and its files.
#[derive(Debug, Default)]
pub struct ObjectRows {
    pub days: BTreeMap<NaiveDate, (Multiset, Vec<String>)>,
}

impl ObjectRows {
    pub fn add(&mut self, day: NaiveDate, file: &str, fps: &[u64]) {
        let (set, files) = self.days.entry(day).or_default();
        for fp in fps {
            *set.entry(*fp).or_default() += 1;
        }
        files.push(file.to_string());
    }
}

/// What the warehouse holds per (table, day), loaded on first need from committed files.
pub struct Presence {
    /// Objects of this run: their committed files are not presence (they are being replaced).
    excluded: BTreeSet<String>,
    committed: BTreeMap<String, ObjectEntry>,
    loaded: HashMap<(Kind, NaiveDate), Multiset>,
}

impl Presence {
    pub fn new(committed: BTreeMap<String, ObjectEntry>, excluded: BTreeSet<String>) -> Presence {
        Presence { excluded, committed, loaded: HashMap::new() }
    }

    async fn load(&mut self, warehouse: &Warehouse, kind: Kind, day: NaiveDate) -> Result<&mut Multiset> {
        if !self.loaded.contains_key(&(kind, day)) {
            let prefix = format!("{}/date={day}/", kind.table());
            let mut set = Multiset::new();
            for (id, entry) in &self.committed {
                if self.excluded.contains(id) || entry.kind != kind {
                    continue;
                }
                for file in entry.files.iter().filter(|f| f.starts_with(&prefix)) {
                    for batch in read_file(warehouse, file).await? {
                        for fp in fingerprints(&batch, kind)? {
                            *set.entry(fp).or_default() += 1;
                        }
                    }
                }
            }
            self.loaded.insert((kind, day), set);
        }
        Ok(self.loaded.get_mut(&(kind, day)).expect("inserted above"))
    }

    /// Drops the object's duplicates (rewriting its files where needed), records its rows
    /// as present, and returns how many were dropped and the files that ended up empty
    /// (deleted). Call in URL order, before commit.
    pub async fn resolve(
        &mut self,
        warehouse: &Warehouse,
        kind: Kind,
        rows: &ObjectRows,
    ) -> Result<(u64, Vec<String>)> {
        let mut dropped = 0u64;
        let mut emptied = Vec::new();
        for (day, (mine, files)) in &rows.days {
            let present = self.load(warehouse, kind, *day).await?;
            // How many of each fingerprint to drop: the first min(mine, present) occurrences.
            let mut drop: HashMap<u64, u32> = HashMap::new();
            for (fp, n) in mine {
                if let Some(p) = present.get(fp) {
                    drop.insert(*fp, (*n).min(*p));
                }
            }
            for (fp, n) in mine {
                let p = present.entry(*fp).or_default();
                *p = (*p).max(*n);
            }
            if drop.is_empty() {
                continue;
            }
            for file in files {
                let (n, empty) = rewrite_without(warehouse, kind, file, &mut drop).await?;
                dropped += n;
                if empty {
                    emptied.push(file.clone());
                }
            }
        }
        Ok((dropped, emptied))
    }
}

async fn read_file(warehouse: &Warehouse, key: &str) -> Result<Vec<RecordBatch>> {
    let bytes: Bytes = warehouse.location.store.get(&warehouse.location.child(key)).await?.bytes().await?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// Rewrites one file without the rows `drop` still asks for; returns how many went and
/// whether the file was deleted because none were left.
async fn rewrite_without(
    warehouse: &Warehouse,
    kind: Kind,
    key: &str,
    drop: &mut HashMap<u64, u32>,
) -> Result<(u64, bool)> {
    let batches = read_file(warehouse, key).await?;
    let mut kept = Vec::with_capacity(batches.len());
    let mut dropped = 0u64;
    for batch in batches {
        let fps = fingerprints(&batch, kind)?;
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
