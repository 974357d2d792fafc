//! The manifest: one JSON entry per ingested source object, written *after* its data
//! files. An entry is the commit point of an object's ingest: files no entry names are
//! leftovers of an interrupted run and are removed by `Warehouse::recover`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::tables::Kind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    /// Full URL of the source object.
    pub object: String,
    pub kind: Kind,
    pub size: u64,
    pub e_tag: Option<String>,
    /// RFC 3339, as the source store reported it.
    pub last_modified: String,
    /// Hash of size, ETag and last-modified: what "unchanged" is judged by.
    pub version: String,
    pub rows: u64,
    pub rejects: u64,
    /// Records dropped as exact duplicates of rows already in the warehouse (docs/formats.md).
    #[serde(default)]
    pub duplicates: u64,
    /// Records kept although another stream's object holds identical ones (possible
    /// duplicates: deduplication keeps what it cannot prove to be the same record).
    #[serde(default)]
    pub kept_similar: u64,
    /// The stream this object's origin-less rows belong to (`ingest::dedupe::stream_of`);
    /// absent in entries written before streams, which take their URL's lineage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Data and reject files, relative to the warehouse root.
    pub files: Vec<String>,
    /// Each data file's first and last `ts` (µs since the epoch): a duplicate has the
    /// timestamp of the row it repeats, so duplicate resolution reads only the committed
    /// files whose span meets a new object's. Absent in entries written before spans
    /// (their files are always read).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spans: BTreeMap<String, [i64; 2]>,
    /// Unique to the ingest that wrote this entry: a compaction record holds an object's
    /// rows for exactly this commit (an object read again, even unchanged, is a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Files of `files` this object shares with others since `retrace compact` merged
    /// them (`compact`), and its rows there. Set when the manifest is loaded; never
    /// stored in the entry, whose `files` keep naming what the ingest wrote.
    #[serde(skip)]
    pub shared: BTreeSet<String>,
    #[serde(skip)]
    pub shared_rows: u64,
}

impl ObjectEntry {
    /// The files only this object's rows are in.
    pub fn own_files(&self) -> impl Iterator<Item = &String> {
        self.files.iter().filter(|f| !self.shared.contains(*f))
    }
}
