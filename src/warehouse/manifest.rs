//! The manifest: one JSON entry per ingested source object, written *after* its data
//! files. An entry is the commit point of an object's ingest: files no entry names are
//! leftovers of an interrupted run and are removed by `Warehouse::recover`.

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
}
