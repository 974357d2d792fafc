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
    /// Data and reject files, relative to the warehouse root.
    pub files: Vec<String>,
}
