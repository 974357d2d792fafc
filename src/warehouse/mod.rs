//! The warehouse: Parquet tables on an object store, and the manifest that makes ingest
//! idempotent. See `layout` for the keys.
//!
//! Commit protocol for one source object: (1) write its data files, each a single atomic
//! `put` (object stores never expose a half-written object); (2) write its manifest entry
//! — the commit; (3) delete the files of the entry it replaced. A crash before (2) leaves
//! files no entry names; `recover` deletes them before the next ingest, which then
//! redoes that object. Readers listing a table can see the old and new files of a
//! *changed* object together only between (2) and (3). One writer at a time is assumed.

pub mod check;
pub mod compact;
pub mod layout;
pub mod local_list;
pub mod lock;
pub mod manifest;
pub mod parquet;
pub mod path_template;
pub mod snapshot;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::tables::ALL_TABLES;
pub use manifest::ObjectEntry;
pub use store::Location;

/// What [`Warehouse::recover`] did and saw.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Uncommitted and staging files removed.
    pub deleted: usize,
    /// Every file a manifest entry names that is there.
    pub present: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Warehouse {
    pub location: Location,
    /// What users see in messages: the URL or path they gave.
    pub display: String,
}

impl Warehouse {
    pub fn open(location: &str) -> Result<Warehouse> {
        Warehouse::open_with(location, &store::StorageOptions::default())
    }

    /// Opens a warehouse with the config's `[storage]` settings.
    pub fn open_with(location: &str, options: &store::StorageOptions) -> Result<Warehouse> {
        Ok(Warehouse { location: Location::parse_with(location, options)?, display: location.to_string() })
    }

    pub fn from_location(location: Location, display: &str) -> Warehouse {
        Warehouse { location, display: display.to_string() }
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.location.store.put(&self.location.child(key), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.location.store.delete(&self.location.child(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The manifest entry of one object, if it was ingested before.
    pub async fn entry(&self, object_id: &str) -> Result<Option<ObjectEntry>> {
        let path = self.location.child(&layout::manifest_key(object_id));
        match self.location.store.get(&path).await {
            Ok(got) => {
                let bytes = got.bytes().await?;
                let entry = serde_json::from_slice(&bytes).map_err(|e| Error::Warehouse {
                    location: self.location.url_of(&path),
                    message: format!("unreadable manifest entry: {e}"),
                })?;
                Ok(Some(entry))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Commits an object: its entry becomes the truth, then replaced files are removed.
    pub async fn commit(&self, object_id: &str, entry: &ObjectEntry, previous: Option<&ObjectEntry>) -> Result<()> {
        let json = serde_json::to_vec_pretty(entry).map_err(|e| Error::Internal(e.to_string()))?;
        let key = layout::manifest_key(object_id);
        let path = self.location.child(&key);
        self.location.store.put(&path, PutPayload::from_bytes(Bytes::from(json))).await.map_err(|source| {
            Error::StoreAt {
                what: format!("writing the manifest entry of {}", entry.object),
                location: self.location.url_of(&path),
                source,
            }
        })?;
        if let Some(prev) = previous {
            // Files merged by `retrace compact` hold other objects' rows too: they are
            // rewritten without this object's (`compact::fix`), never deleted here.
            let keep: BTreeSet<&String> = entry.files.iter().collect();
            for old in prev.own_files().filter(|f| !keep.contains(f)) {
                self.delete(old).await?;
            }
        }
        Ok(())
    }

    /// Every manifest entry, keyed by object id (read through the snapshot, `snapshot`).
    pub async fn manifest(&self) -> Result<BTreeMap<String, ObjectEntry>> {
        Ok(self.load_manifest().await?.entries)
    }

    /// Records dropped as duplicates at ingest, per table (for reports' data quality).
    pub async fn duplicates(&self) -> Result<BTreeMap<String, u64>> {
        let mut out = BTreeMap::new();
        for e in self.manifest().await?.values() {
            if e.duplicates > 0 {
                *out.entry(e.kind.table().to_string()).or_default() += e.duplicates;
            }
        }
        Ok(out)
    }

    /// Deletes data files that no entry of `manifest` (as loaded by [`Warehouse::manifest`])
    /// names: leftovers of an interrupted ingest, and on a local folder the staging files
    /// (`x.parquet#1`) a killed write leaves. Files that do not have retrace's naming
    /// shape are left alone, with a warning. Call only while holding the warehouse lock
    /// (`lock::acquire`): a live ingest's written but not yet committed files look the
    /// same. Returns the number of files deleted and every committed file that exists.
    pub async fn recover(&self, manifest: &BTreeMap<String, ObjectEntry>) -> Result<Recovered> {
        self.recover_objects(manifest, None).await
    }

    /// [`Warehouse::recover`] limited to the files of the objects `only` names (a shard's:
    /// the other shards' uncommitted files are their live writes, not leftovers).
    pub async fn recover_objects(
        &self,
        manifest: &BTreeMap<String, ObjectEntry>,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Recovered> {
        let mine =
            |name: &str| only.is_none_or(|ids| layout::object_id_of_file(name).is_some_and(|id| ids.contains(id)));
        let committed: BTreeSet<&str> = manifest.values().flat_map(|e| e.files.iter().map(String::as_str)).collect();
        let mut recovered = Recovered::default();
        for table in ALL_TABLES {
            for meta in self.location.list(table).await? {
                let Some(key) = self.location.relative(&meta.location) else { continue };
                if committed.contains(key.as_str()) {
                    recovered.present.insert(key);
                    continue;
                }
                let name = meta.location.filename().unwrap_or_default();
                if !mine(name) {
                    // Another shard's: committed after this run loaded the manifest, or
                    // being written now.
                    continue;
                }
                if layout::is_retrace_file(name) {
                    debug!(file = %key, "Removing uncommitted file from an interrupted ingest.");
                    self.delete(&key).await?;
                    recovered.deleted += 1;
                } else {
                    warn!(file = %key, "The warehouse holds a file retrace did not write; leaving it.");
                }
            }
        }
        recovered.deleted += self.remove_staging_files(&mine)?;
        Ok(recovered)
    }

    /// The warehouse's folder when it is a local one.
    pub fn local_root(&self) -> Option<std::path::PathBuf> {
        self.location.local_path()
    }

    /// Removes the staging files of writes a killed process left (`<file>.parquet#N`):
    /// object_store's listing hides them, so only a walk of the folders finds them.
    fn remove_staging_files(&self, mine: &dyn Fn(&str) -> bool) -> Result<usize> {
        let Some(root) = self.local_root() else { return Ok(0) };
        let mut removed = 0;
        let mut folders: Vec<std::path::PathBuf> = ALL_TABLES.iter().map(|t| root.join(t)).collect();
        folders.push(root.join(layout::MANIFEST_ROOT));
        while let Some(dir) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    folders.push(path);
                    continue;
                }
                let name = entry.file_name();
                let name = name.to_string_lossy();
                // Only staging files of what retrace writes here (data files, entries, the
                // manifest snapshot).
                let ours = name.rsplit_once('#').is_some_and(|(stem, _)| {
                    stem.ends_with(".parquet") || stem.ends_with(".json") || stem == layout::SNAPSHOT_NAME
                });
                let stem = name.rsplit_once('#').map_or("", |(stem, _)| stem);
                if ours && layout::is_staging_file(&name) && mine(stem) {
                    std::fs::remove_file(&path).map_err(|e| Error::io(path.display(), e))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Path of a table folder, for display.
    pub fn table_path(&self, table: &str) -> Path {
        self.location.child(table)
    }
}
