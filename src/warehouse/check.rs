//! `retrace check`: the warehouse against its manifest.
//!
//! The manifest is the truth (ADR 0001): an entry names an object's files, and readers
//! that list folders see exactly the committed rows only when the two agree. This finds
//! where they do not: files an entry names that are gone, files no entry names (an
//! interrupted write), files retrace did not write, and with `deep`, files whose footer
//! cannot be read or whose row counts differ from the entry's. `repair` (under the
//! warehouse lock) removes what no entry names, and takes out every entry whose files
//! are damaged together with its remaining files, so the object is absent, not half
//! there, until the next ingest reads it again.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use object_store::ObjectStoreExt;
use serde::Serialize;

use super::{Warehouse, layout};
use crate::error::Result;
use crate::tables::{ALL_TABLES, REJECTS};

/// What a check found. Empty lists: the warehouse and its manifest agree.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct CheckReport {
    pub entries: usize,
    pub files: usize,
    /// (object, file) for every file an entry names that is not there.
    pub missing: Vec<(String, String)>,
    /// Files with retrace's naming shape that no entry names.
    pub orphans: Vec<String>,
    /// Files in table folders that retrace did not write (left alone, also by repair).
    pub foreign: Vec<String>,
    /// (file, why) for files whose Parquet footer cannot be read (`deep`).
    pub unreadable: Vec<(String, String)>,
    /// (object, rows the entry records, rows its files hold) where they differ (`deep`).
    pub row_mismatches: Vec<(String, u64, u64)>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.orphans.is_empty()
            && self.unreadable.is_empty()
            && self.row_mismatches.is_empty()
    }

    /// Objects whose entries cannot be trusted: some file missing, unreadable or short.
    pub fn damaged_objects(&self) -> BTreeSet<String> {
        self.missing
            .iter()
            .map(|(o, _)| o.clone())
            .chain(self.row_mismatches.iter().map(|(o, _, _)| o.clone()))
            .collect()
    }
}

/// What a repair did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Repaired {
    pub files_removed: usize,
    pub entries_removed: usize,
}

/// Compares the warehouse with its manifest; `deep` also reads every file's footer.
pub async fn check(warehouse: &Warehouse, deep: bool) -> Result<CheckReport> {
    let loaded = warehouse.load_manifest().await?;
    let manifest = loaded.entries;
    let mut report = CheckReport { entries: manifest.len(), ..Default::default() };
    let mut present: BTreeMap<String, u64> = BTreeMap::new();
    for table in ALL_TABLES {
        for meta in warehouse.location.list(table).await? {
            let Some(key) = warehouse.location.relative(&meta.location) else { continue };
            present.insert(key, meta.size);
        }
    }
    report.files = present.len();
    let named: BTreeSet<&str> = manifest
        .values()
        .flat_map(|e| e.files.iter())
        .chain(loaded.records.active.values().flat_map(|r| r.files.iter()))
        .map(String::as_str)
        .collect();
    for key in present.keys() {
        if named.contains(key.as_str()) {
            continue;
        }
        let name = key.rsplit('/').next().unwrap_or_default();
        if layout::is_retrace_file(name) {
            report.orphans.push(key.clone());
        } else {
            report.foreign.push(key.clone());
        }
    }
    for entry in manifest.values() {
        let mut rows = (0u64, 0u64);
        let (mut missing, mut unreadable) = (false, false);
        for file in &entry.files {
            if !present.contains_key(file) {
                report.missing.push((entry.object.clone(), file.clone()));
                missing = true;
                continue;
            }
            // A merged file's rows are checked against its compaction record, below.
            if !deep || entry.shared.contains(file) {
                continue;
            }
            match footer_rows(warehouse, file).await {
                Ok(n) if file.starts_with(&format!("{REJECTS}/")) => rows.1 += n,
                Ok(n) => rows.0 += n,
                Err(e) => {
                    report.unreadable.push((file.clone(), e));
                    unreadable = true;
                }
            }
        }
        // An unreadable file damages its object like a missing one: it holds no rows.
        if unreadable {
            report.row_mismatches.push((entry.object.clone(), entry.rows + entry.rejects, 0));
        } else if deep && !missing && (rows.0 + entry.shared_rows, rows.1) != (entry.rows, entry.rejects) {
            report.row_mismatches.push((
                entry.object.clone(),
                entry.rows + entry.rejects,
                rows.0 + entry.shared_rows + rows.1,
            ));
        }
    }
    for (id, record) in loaded.records.active.iter().filter(|_| deep) {
        let expected: u64 = record.members.values().map(|m| m.rows).sum();
        let mut found = 0;
        for file in record.files.iter().filter(|f| present.contains_key(*f)) {
            match footer_rows(warehouse, file).await {
                Ok(n) => found += n,
                Err(e) => report.unreadable.push((file.clone(), e)),
            }
        }
        if found != expected {
            report.row_mismatches.push((layout::compaction_key(id), expected, found));
        }
    }
    report.missing.sort();
    report.row_mismatches.sort();
    Ok(report)
}

async fn footer_rows(warehouse: &Warehouse, key: &str) -> std::result::Result<u64, String> {
    let bytes = warehouse
        .location
        .store
        .get(&warehouse.location.child(key))
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let meta = ParquetMetaDataReader::new().parse_and_finish(&bytes).map_err(|e| e.to_string())?;
    Ok(meta.file_metadata().num_rows().max(0) as u64)
}

/// Makes the warehouse agree with its manifest (see the module docs). Takes the lock.
pub async fn repair(warehouse: &Warehouse, report: &CheckReport, wait: std::time::Duration) -> Result<Repaired> {
    let lock = super::lock::acquire(warehouse, "check --repair", wait).await?;
    let mut repaired = Repaired::default();
    for key in &report.orphans {
        warehouse.delete(key).await?;
        repaired.files_removed += 1;
    }
    let damaged = report.damaged_objects();
    let manifest = warehouse.manifest().await?;
    for (id, entry) in manifest.iter().filter(|(_, e)| damaged.contains(&e.object)) {
        lock.check()?;
        // The entry first: once it is gone the object is absent, and its leftover files
        // are orphans that a crash here would leave for the next ingest to remove.
        warehouse.delete(&layout::manifest_key(id)).await?;
        repaired.entries_removed += 1;
        for file in entry.own_files() {
            warehouse.delete(file).await?;
            repaired.files_removed += 1;
        }
    }
    // A merged file whose rows disagree with its record: the record goes, so its
    // members miss the files it replaced and the next ingest reads them again.
    for key in report.row_mismatches.iter().map(|(o, _, _)| o).filter(|o| o.starts_with(layout::COMPACTIONS_DIR)) {
        lock.check()?;
        warehouse.delete(key).await?;
    }
    lock.check()?;
    // Merged files still hold the removed objects' rows.
    let loaded = warehouse.load_manifest().await?;
    if loaded.needs_fix() {
        super::compact::fix(warehouse, &loaded.records, &loaded.stale_members).await?;
    }
    if repaired.entries_removed > 0 {
        warehouse.refresh_snapshot().await?;
    }
    repaired.files_removed += warehouse.recover(&warehouse.manifest().await?).await?.deleted;
    lock.release().await;
    Ok(repaired)
}
