//! A cache of the manifest in one object (`_manifest/snapshot.zst`), so that opening
//! a warehouse of 20,000 source objects costs one listing and one read instead of 20,000
//! reads (on S3, minutes).
//!
//! The entries stay the truth and the commit protocol does not change: a cached entry is
//! used only while the listing shows its entry file with the size, ETag and modification
//! time it had when it was cached; any other entry file is read, and a cached entry whose
//! file is gone is forgotten. A missing, unreadable or older-format snapshot is ignored
//! (every entry is read). Only a writer holding the warehouse lock rewrites it
//! ([`Warehouse::refresh_snapshot`]), with one atomic put; readers never write.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use bytes::Bytes;
use object_store::{ObjectMeta, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use super::compact::{Records, overlay};
use super::{ObjectEntry, Warehouse, layout};
use crate::error::{Error, Result};

/// Bumped when the snapshot's shape changes: an older one is ignored, not misread.
const FORMAT: u32 = 1;

/// What the listing says of one entry file: its content is the cached one while these
/// are the same. Without an ETag a store's time stamp may be too coarse to tell two
/// writes apart, so such entries are always read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    size: u64,
    e_tag: String,
    /// Microseconds since the epoch.
    modified: i64,
}

impl Stamp {
    fn of(meta: &ObjectMeta) -> Option<Stamp> {
        Some(Stamp { size: meta.size, e_tag: meta.e_tag.clone()?, modified: meta.last_modified.timestamp_micros() })
    }
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    entries: Vec<Cached>,
}

#[derive(Serialize, Deserialize)]
struct Cached {
    id: String,
    stamp: Stamp,
    entry: ObjectEntry,
}

/// The manifest as loaded: every entry (with the compaction records laid over them, by
/// [`Warehouse::load_manifest`]), and what loading it took.
#[derive(Debug, Default)]
pub struct Loaded {
    pub entries: BTreeMap<String, ObjectEntry>,
    /// The compaction records (`compact`).
    pub records: Records,
    /// Per compaction record, its members whose entry moved on (`compact::fix`).
    pub stale_members: BTreeMap<String, BTreeSet<String>>,
    /// Each entry's stamp, where the store gives one.
    stamps: BTreeMap<String, Stamp>,
    /// The entries as stored, when the records changed `entries` (the snapshot caches these).
    raw: Option<BTreeMap<String, ObjectEntry>>,
    /// Entry files read because the snapshot did not hold them as they are.
    pub read: usize,
    /// Cached entries whose file is gone.
    pub forgotten: usize,
}

impl Loaded {
    /// Whether the snapshot no longer describes the manifest.
    pub fn stale(&self) -> bool {
        self.read > 0 || self.forgotten > 0
    }

    /// Whether compaction records need `compact::fix` (stale members, superseded records).
    pub fn needs_fix(&self) -> bool {
        !self.stale_members.is_empty() || !self.records.superseded.is_empty()
    }

    /// The entries, and what the snapshot would cache now (the entries as stored, taken
    /// without a second copy when the records changed them); a writer adds what it
    /// commits ([`Cache::committed`]) and saves it ([`Warehouse::save_snapshot`]).
    pub fn into_entries_and_cache(self) -> (BTreeMap<String, ObjectEntry>, Cache) {
        let stored = self.raw.unwrap_or_else(|| self.entries.clone());
        (self.entries, Cache { entries: stored, stamps: self.stamps, committed: Vec::new() })
    }
}

/// The entries a snapshot caches, with their stamps, kept up to date by a writer.
#[derive(Debug, Default)]
pub struct Cache {
    entries: BTreeMap<String, ObjectEntry>,
    stamps: BTreeMap<String, Stamp>,
    /// Entries committed since the load, whose stamps are read when the snapshot is saved.
    committed: Vec<String>,
}

/// Up to this many committed entries are stamped with one `head` each; more, with one
/// listing of the entries (a first ingest of 20,000 objects must not cost 20,000 HEADs).
const HEADS: usize = 64;

impl Cache {
    /// Records an entry just committed (no request: its stamp is read on saving).
    pub fn committed(&mut self, id: &str, entry: &ObjectEntry) {
        let mut entry = entry.clone();
        (entry.shared, entry.shared_rows) = (Default::default(), 0);
        self.entries.insert(id.to_string(), entry);
        self.stamps.remove(id);
        self.committed.push(id.to_string());
    }

    /// The committed entries' stamps as the store now lists them. Entries without one
    /// are left out of the snapshot: the next load reads them.
    async fn stamp_committed(&mut self, warehouse: &Warehouse) -> Result<()> {
        use futures::StreamExt;
        let ids = std::mem::take(&mut self.committed);
        if ids.len() <= HEADS {
            let stamps: Vec<(String, Option<Stamp>)> = futures::stream::iter(ids)
                .map(|id| async move {
                    let path = warehouse.location.child(&layout::manifest_key(&id));
                    let stamp = warehouse.location.store.head(&path).await.ok().and_then(|meta| Stamp::of(&meta));
                    (id, stamp)
                })
                .buffer_unordered(16)
                .collect()
                .await;
            for (id, stamp) in stamps {
                if let Some(s) = stamp {
                    self.stamps.insert(id, s);
                }
            }
            return Ok(());
        }
        let wanted: BTreeSet<String> = ids.into_iter().collect();
        for meta in warehouse.location.list(layout::MANIFEST_DIR).await? {
            let Some(id) = meta.location.filename().and_then(|n| n.strip_suffix(".json")) else { continue };
            if wanted.contains(id)
                && let Some(s) = Stamp::of(&meta)
            {
                self.stamps.insert(id.to_string(), s);
            }
        }
        Ok(())
    }
}

impl Warehouse {
    /// Every manifest entry, keyed by object id, with the compaction records laid over
    /// them: what the warehouse holds now.
    pub async fn load_manifest(&self) -> Result<Loaded> {
        let mut loaded = self.load_entries().await?;
        loaded.records = Records::load(self).await?;
        if !loaded.records.active.is_empty() {
            loaded.raw = Some(loaded.entries.clone());
        }
        loaded.stale_members = overlay(&mut loaded.entries, &loaded.records);
        Ok(loaded)
    }

    /// Every manifest entry as its ingest wrote it, through the snapshot.
    async fn load_entries(&self) -> Result<Loaded> {
        use futures::{StreamExt, TryStreamExt};
        let metas = self.location.list(layout::MANIFEST_DIR).await?;
        let mut cached = self.read_snapshot().await;
        let mut loaded = Loaded::default();
        let mut to_read = Vec::new();
        for meta in &metas {
            let Some(id) = meta.location.filename().and_then(|n| n.strip_suffix(".json")) else { continue };
            let stamp = Stamp::of(meta);
            match (cached.remove(id), &stamp) {
                (Some(c), Some(s)) if c.stamp == *s => {
                    loaded.entries.insert(id.to_string(), c.entry);
                }
                _ => to_read.push(id.to_string()),
            }
            if let Some(s) = stamp {
                loaded.stamps.insert(id.to_string(), s);
            }
        }
        loaded.forgotten = cached.len();
        loaded.read = to_read.len();
        let read: Vec<(String, Option<ObjectEntry>)> = futures::stream::iter(to_read)
            .map(|id| async move { self.entry(&id).await.map(|e| (id, e)) })
            .buffer_unordered(16)
            .try_collect()
            .await?;
        for (id, entry) in read {
            match entry {
                Some(e) => {
                    loaded.entries.insert(id, e);
                }
                // Deleted between the listing and the read.
                None => {
                    loaded.stamps.remove(&id);
                }
            }
        }
        debug!(
            entries = loaded.entries.len(),
            read = loaded.read,
            forgotten = loaded.forgotten,
            "Loaded the manifest."
        );
        Ok(loaded)
    }

    /// Rewrites the snapshot from a fresh listing when it no longer describes the
    /// manifest. Call only while holding the warehouse lock (two writers would each put
    /// their own).
    pub async fn refresh_snapshot(&self) -> Result<()> {
        let loaded = self.load_entries().await?;
        if loaded.stale() {
            self.save_snapshot(&mut loaded.into_entries_and_cache().1).await?;
        }
        Ok(())
    }

    /// Writes the snapshot. Call only while holding the warehouse lock.
    pub async fn save_snapshot(&self, cache: &mut Cache) -> Result<()> {
        cache.stamp_committed(self).await?;
        let entries: Vec<Cached> = cache
            .entries
            .iter()
            .filter_map(|(id, entry)| {
                let stamp = cache.stamps.get(id)?.clone();
                Some(Cached { id: id.clone(), stamp, entry: entry.clone() })
            })
            .collect();
        let json =
            serde_json::to_vec(&Snapshot { format: FORMAT, entries }).map_err(|e| Error::Internal(e.to_string()))?;
        let bytes =
            zstd::bulk::compress(&json, 3).map_err(|e| Error::Internal(format!("compressing the snapshot: {e}")))?;
        self.put(layout::SNAPSHOT_KEY, Bytes::from(bytes)).await
    }

    /// The cached entries by id; empty when there is no usable snapshot.
    async fn read_snapshot(&self) -> BTreeMap<String, Cached> {
        let path = self.location.child(layout::SNAPSHOT_KEY);
        let bytes = match self.location.store.get(&path).await {
            Ok(got) => match got.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    warn!(error = %e, "Cannot read the manifest snapshot; reading every entry.");
                    return BTreeMap::new();
                }
            },
            Err(object_store::Error::NotFound { .. }) => return BTreeMap::new(),
            Err(e) => {
                warn!(error = %e, "Cannot read the manifest snapshot; reading every entry.");
                return BTreeMap::new();
            }
        };
        let mut json = Vec::new();
        let decoded = zstd::stream::read::Decoder::new(&bytes[..])
            .and_then(|mut d| d.read_to_end(&mut json))
            .map_err(|e| e.to_string())
            .and_then(|_| serde_json::from_slice::<Snapshot>(&json).map_err(|e| e.to_string()));
        match decoded {
            Ok(s) if s.format == FORMAT => s.entries.into_iter().map(|c| (c.id.clone(), c)).collect(),
            Ok(s) => {
                debug!(format = s.format, "The manifest snapshot has another format; reading every entry.");
                BTreeMap::new()
            }
            Err(e) => {
                warn!(error = %e, "The manifest snapshot is unreadable; reading every entry (the next ingest rewrites it).");
                BTreeMap::new()
            }
        }
    }
}
