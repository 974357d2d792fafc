//! Warehouse key layout (also described in `lib.rs` and `docs/ARCHITECTURE.md`):
//!
//! ```text
//! <table>/date=YYYY-MM-DD/<object-id>-<version>-<seq>.parquet   data, one file per flush
//! _manifest/objects/<object-id>.json                            one entry per source object
//! _manifest/snapshot.zst                                        a cache of the entries (`snapshot`)
//! <table>/date=YYYY-MM-DD/c-<compaction-id>-<seq>.parquet       many objects' rows, merged (`compact`)
//! _manifest/compactions/<compaction-id>.json                    which objects' rows they hold
//! ```
//!
//! `object-id` is a stable hash of (kind, source object URL), so every file names the
//! object it came from; `version` hashes the object's size and ETag/last-modified, so a
//! changed object writes new files; `seq` orders the flushes of one ingest.

use chrono::NaiveDate;
use std::hash::Hasher;

use crate::tables::Kind;

pub const MANIFEST_ROOT: &str = "_manifest";
pub const MANIFEST_DIR: &str = "_manifest/objects";
pub const SNAPSHOT_NAME: &str = "snapshot.zst";
pub const SNAPSHOT_KEY: &str = "_manifest/snapshot.zst";
pub const COMPACTIONS_DIR: &str = "_manifest/compactions";

fn fnv(parts: &[&str]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    for p in parts {
        h.write(p.as_bytes());
        h.write(&[0]);
    }
    h.finish()
}

/// Stable id of a source object ingested as `kind`.
pub fn object_id(kind: Kind, object_url: &str) -> String {
    format!("{:016x}", fnv(&[kind.table(), object_url]))
}

/// Version tag of an object's current content, from what the store reports about it.
pub fn object_version(size: u64, e_tag: Option<&str>, last_modified: &str) -> String {
    format!("{:08x}", fnv(&[&size.to_string(), e_tag.unwrap_or(""), last_modified]) as u32)
}

pub fn data_key(table: &str, day: NaiveDate, object_id: &str, version: &str, seq: u32) -> String {
    format!("{table}/date={day}/{object_id}-{version}-{seq:04}.parquet")
}

/// The day of a data file of `table` (`<table>/date=YYYY-MM-DD/…`); `None` for a file of
/// another table.
pub fn day_of_data_key(table: &str, key: &str) -> Option<NaiveDate> {
    let rest = key.strip_prefix(table)?.strip_prefix("/date=")?;
    NaiveDate::parse_from_str(rest.get(..10)?, "%Y-%m-%d").ok()
}

/// A merged file of `retrace compact`.
pub fn compacted_key(table: &str, day: NaiveDate, compaction_id: &str, seq: u32) -> String {
    format!("{table}/date={day}/c-{compaction_id}-{seq:04}.parquet")
}

pub fn compaction_key(compaction_id: &str) -> String {
    format!("{COMPACTIONS_DIR}/{compaction_id}.json")
}

/// Whether a file name has the shape of a file retrace writes (an ingest's or a
/// compaction's): such a file that nothing names is a leftover, safe to remove.
pub fn is_retrace_file(file_name: &str) -> bool {
    object_id_of_file(file_name).is_some()
        || file_name.strip_prefix("c-").and_then(|rest| rest.strip_suffix(".parquet")).is_some_and(|stem| {
            stem.split_once('-').is_some_and(|(id, seq)| {
                id.len() == 16
                    && id.bytes().all(|b| b.is_ascii_hexdigit())
                    && !seq.is_empty()
                    && seq.bytes().all(|b| b.is_ascii_digit())
            })
        })
}

/// A fresh id for a commit or a compaction: the time, the process and `salt` hashed, so
/// two writers (or two runs in one nanosecond's tick) do not meet.
pub fn fresh_id(salt: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", fnv(&[&nanos.to_string(), &std::process::id().to_string(), &n.to_string(), salt]))
}

pub fn manifest_key(object_id: &str) -> String {
    format!("{MANIFEST_DIR}/{object_id}.json")
}

/// Whether a file name is object_store's staging name for a write in progress
/// (`x.parquet#1`): a killed write leaves it behind, and the store's listing hides it.
pub fn is_staging_file(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The object id of a data file written by retrace, if the name has retrace's shape.
pub fn object_id_of_file(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".parquet")?;
    let mut parts = stem.split('-');
    let (id, ver, seq) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (parts.next().is_none() && hex(id, 16) && hex(ver, 8) && seq.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_parseable() {
        let id = object_id(Kind::Logs, "s3://b/logs/a.jsonl.gz");
        assert_eq!(id.len(), 16);
        assert_eq!(id, object_id(Kind::Logs, "s3://b/logs/a.jsonl.gz"));
        assert_ne!(id, object_id(Kind::Metrics, "s3://b/logs/a.jsonl.gz"));
        let ver = object_version(10, Some("\"abc\""), "2026-11-19T00:00:00Z");
        let day = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let key = data_key("logs", day, &id, &ver, 3);
        assert!(key.starts_with("logs/date=2026-11-19/") && key.ends_with("-0003.parquet"), "{key}");
        assert_eq!(object_id_of_file(key.rsplit('/').next().unwrap()), Some(id.as_str()));
        assert_eq!(object_id_of_file("part-0.parquet"), None);
    }
}
