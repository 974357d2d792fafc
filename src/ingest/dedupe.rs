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
use std::hash::BuildHasher;

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
pub type Multiset = foldhash::HashMap<u64, u32>;

/// The columns that identify a row of each kind.
pub fn key_columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Logs => &["ts", "service", "host", "level", "msg", "trace_id"],
        Kind::Metrics => &["ts", "metric", "value", "service", "labels"],
        Kind::Changes => &["ts", "change_id"],
        Kind::Deploys => &["ts", "deploy_id", "status"],
    }
}

/// One fingerprint per row of `batch` (a table batch of `kind`): the key columns hashed
/// column by column (one downcast per column, not per value). Fingerprints live only
/// for one ingest (they are recomputed from files), so the hash need not be stable
/// across versions; it must be the same for a row read back from a file.
pub fn fingerprints(batch: &RecordBatch, kind: Kind) -> Result<Vec<u64>> {
    let state = foldhash::fast::FixedState::with_seed(0x7265_7472_6163_6521);
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
    Ok(acc)
}

/// What a null hashes to (a value's hash is this by chance only).
const NULL: u64 = 0x6e75_6c6c_6e75_6c6c;

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
            let mut set = Multiset::default();
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
