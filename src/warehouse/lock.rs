//! The warehouse lock: one writer at a time (ingest, `check --repair`, `compact`), or, for
//! a sharded ingest (`ingest --shard k/n`), one writer per *scope*: each shard takes the
//! lock of its scope (`shard-2-of-3`), which excludes the whole-warehouse lock and the
//! same scope, not the other shards (docs/adr/0004-sharded-ingest.md).
//!
//! Without it, a second ingest's start-up clean-up deleted the files a first ingest had
//! written but not yet recorded, and the first then recorded them anyway: both exited 0
//! and rows were gone for good.
//!
//! - On a local folder: an OS lock (`flock`) on `_manifest/lock`. The kernel releases it
//!   when the process ends, however it ends, so it is never stale.
//! - On an object store: a lease object, `_manifest/lease.json`, created with a
//!   conditional put (`If-None-Match: *`). It names its owner and expires
//!   [`LEASE_TTL`] after its last heartbeat; a heartbeat task renews it every third of
//!   that with a conditional update on its ETag (`If-Match`). A lease past its expiry is
//!   stale and is taken over with the same conditional update, so of two processes
//!   taking it over at once exactly one wins. A holder whose renewal fails because the
//!   lease changed has lost it: its next commit stops with [`Error::LockLost`].
//!
//! A scoped lock is the same file or lease with the scope in its name
//! (`_manifest/lock.shard-2-of-3`, `_manifest/lease.shard-2-of-3.json`). The two kinds
//! exclude each other by taking their own first and then looking for the other (a live
//! whole lock; a live scoped one): of two takers at once, at least one sees the other and
//! steps back, as in Dekker's algorithm. Shards of different counts (`1/2` beside `1/3`)
//! would split the objects differently, so they exclude each other too.
//!
//! Stores without conditional updates (object_store answers `NotImplemented`) take a
//! stale lease over by delete-then-create, which is safe against another taker only up
//! to the moment between the two calls; docs/adr/0002 says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use super::Warehouse;
use crate::error::{Error, Result};

/// How long a lease lives without a heartbeat.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
const LEASE_KEY: &str = "_manifest/lease.json";
const LOCK_FILE: &str = "_manifest/lock";
const MANIFEST: &str = "_manifest";

/// What a lease or lock file says about its holder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    /// `pid@host` plus a random token: unique per process.
    pub owner: String,
    /// What it is doing: `ingest`, `check --repair`.
    pub purpose: String,
    pub since: DateTime<Utc>,
    /// Object-store leases only: when it is stale unless renewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

impl Holder {
    /// Whether a lease still holds: it has an expiry, not yet passed.
    fn is_live(&self) -> bool {
        self.expires.is_some_and(|e| e >= Utc::now())
    }
}

/// Who holds a lock file another process has locked, as its file says.
fn file_holder(file: &mut std::fs::File) -> String {
    use std::io::Read;
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    serde_json::from_str::<Holder>(&text)
        .map(|h| h.to_string())
        .unwrap_or_else(|_| "another process (it has not said who yet)".into())
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, since {})", self.owner, self.purpose, self.since.format("%Y-%m-%dT%H:%M:%SZ"))?;
        if let Some(e) = self.expires {
            write!(f, ", lease expires {}", e.format("%Y-%m-%dT%H:%M:%SZ"))?;
        }
        Ok(())
    }
}

/// A held lock. Dropping it releases it (a lease is deleted in the background).
pub struct WarehouseLock {
    warehouse: String,
    lost: Arc<AtomicBool>,
    inner: Inner,
}

enum Inner {
    File(#[allow(dead_code)] std::fs::File),
    Lease { heartbeat: tokio::task::JoinHandle<()>, release: Option<Release> },
}

struct Release {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    owner: String,
}

impl WarehouseLock {
    /// Fails once the lock has been lost; call before every commit.
    pub fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::LockLost {
                warehouse: self.warehouse.clone(),
                message: "another process took the lease over after a renewal failed".into(),
            });
        }
        Ok(())
    }
}

impl WarehouseLock {
    /// Releases the lock now (a lease is deleted before this returns, so the next
    /// process does not find it held).
    pub async fn release(mut self) {
        if let Inner::Lease { heartbeat, release } = &mut self.inner {
            heartbeat.abort();
            if let Some(r) = release.take() {
                r.run().await;
            }
        }
    }
}

impl Release {
    /// Deletes the lease if it is still ours: a taken-over lease is someone else's now.
    async fn run(self) {
        if let Ok(got) = self.store.get(&self.path).await
            && let Ok(bytes) = got.bytes().await
            && serde_json::from_slice::<Holder>(&bytes).is_ok_and(|h| h.owner == self.owner)
        {
            let _ = self.store.delete(&self.path).await;
        }
    }
}

impl Drop for WarehouseLock {
    fn drop(&mut self) {
        if let Inner::Lease { heartbeat, release } = &mut self.inner {
            heartbeat.abort();
            if let Some(r) = release.take()
                && let Ok(handle) = tokio::runtime::Handle::try_current()
            {
                handle.spawn(r.run());
            }
        }
    }
}

/// A name for this process that no other process shares.
fn owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    let token = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("pid {}@{host} #{:x}", std::process::id(), (token as u64) ^ u64::from(std::process::id()).rotate_left(32))
}

/// Takes the warehouse lock for `purpose`, waiting up to `wait` for a holder to finish.
pub async fn acquire(warehouse: &Warehouse, purpose: &str, wait: Duration) -> Result<WarehouseLock> {
    acquire_with_ttl(warehouse, purpose, None, wait, LEASE_TTL).await
}

/// Takes the lock of `scope` (a shard's: `shard-2-of-3`), which other scopes share.
pub async fn acquire_scoped(
    warehouse: &Warehouse,
    purpose: &str,
    scope: &str,
    wait: Duration,
) -> Result<WarehouseLock> {
    acquire_with_ttl(warehouse, purpose, Some(scope), wait, LEASE_TTL).await
}

fn lock_file(scope: Option<&str>) -> String {
    scope.map_or_else(|| LOCK_FILE.to_string(), |s| format!("{LOCK_FILE}.{s}"))
}

fn lease_key(scope: Option<&str>) -> String {
    scope.map_or_else(|| LEASE_KEY.to_string(), |s| format!("{MANIFEST}/lease.{s}.json"))
}

/// The scope of a scoped lock's file or lease name in `_manifest/`.
fn scope_of(name: &str) -> Option<&str> {
    name.strip_prefix("lock.").or_else(|| name.strip_prefix("lease.")?.strip_suffix(".json"))
}

/// Whether a live lock of `theirs` keeps `mine` from being taken: the whole lock and every
/// scope exclude each other; shard scopes exclude shards of another count.
fn excludes(mine: Option<&str>, theirs: Option<&str>) -> bool {
    let count = |s: &str| s.strip_prefix("shard-").and_then(|r| r.split_once("-of-")).map(|(_, n)| n.to_string());
    match (mine, theirs) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => a == b || matches!((count(a), count(b)), (Some(x), Some(y)) if x != y),
    }
}

/// [`acquire`] with a lease lifetime of `ttl` (tests use short ones).
pub async fn acquire_with_ttl(
    warehouse: &Warehouse,
    purpose: &str,
    scope: Option<&str>,
    wait: Duration,
    ttl: Duration,
) -> Result<WarehouseLock> {
    let deadline = tokio::time::Instant::now() + wait;
    let me = Holder { owner: owner(), purpose: purpose.to_string(), since: Utc::now(), expires: None };
    let mut failures = 0u32;
    loop {
        let attempt = match warehouse.local_root() {
            Some(root) => try_file_lock(warehouse, &root, &me, scope).await,
            None => try_lease(warehouse, &me, scope, ttl).await,
        };
        // Ours is taken: now look for a live lock that excludes it (module docs).
        let attempt = match attempt {
            Ok(Ok(lock)) => match live_conflict(warehouse, scope).await {
                Ok(None) => Ok(Ok(lock)),
                Ok(Some(holder)) => {
                    lock.release().await;
                    Ok(Err(holder))
                }
                Err(e) => {
                    lock.release().await;
                    Err(e)
                }
            },
            other => other,
        };
        let attempt = match attempt {
            // A store that fails now and then (5xx past its own retries) gets a few more tries.
            Err(e) if e.is_transient() && failures < 4 => {
                failures += 1;
                warn!(error = %e, "Could not take the warehouse lock; trying again.");
                tokio::time::sleep(Duration::from_millis(200 << failures)).await;
                continue;
            }
            other => other?,
        };
        match attempt {
            Ok(lock) => return Ok(lock),
            Err(holder) if tokio::time::Instant::now() >= deadline => {
                return Err(Error::Locked { warehouse: warehouse.display.clone(), holder });
            }
            Err(holder) => {
                debug!(%holder, "Waiting for the warehouse lock.");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// `Ok(Ok(lock))` when taken, `Ok(Err(holder))` when someone else holds it.
async fn try_file_lock(
    warehouse: &Warehouse,
    root: &std::path::Path,
    me: &Holder,
    scope: Option<&str>,
) -> Result<std::result::Result<WarehouseLock, String>> {
    let path = root.join(lock_file(scope));
    let me = me.clone();
    let name = warehouse.display.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::{Seek, Write};
        let dir = path.parent().expect("the lock file is in a folder");
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(path.display(), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(Err(file_holder(&mut file))),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path.display(), e)),
        }
        let json = serde_json::to_vec(&me).map_err(|e| Error::Internal(e.to_string()))?;
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(&json))
            .map_err(|e| Error::io(path.display(), e))?;
        Ok(Ok(WarehouseLock { warehouse: name, lost: Arc::new(AtomicBool::new(false)), inner: Inner::File(file) }))
    })
    .await
    .map_err(|e| Error::Internal(format!("taking the warehouse lock: {e}")))?
}

async fn try_lease(
    warehouse: &Warehouse,
    me: &Holder,
    scope: Option<&str>,
    ttl: Duration,
) -> Result<std::result::Result<WarehouseLock, String>> {
    let store = warehouse.location.store.clone();
    let key = lease_key(scope);
    let path = warehouse.location.child(&key);
    let lease = |h: &Holder| -> Result<PutPayload> {
        let mut h = h.clone();
        h.expires = Some(Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default());
        Ok(PutPayload::from_bytes(Bytes::from(serde_json::to_vec(&h).map_err(|e| Error::Internal(e.to_string()))?)))
    };
    let version = match put_if(&store, &path, lease(me)?, PutMode::Create).await? {
        Some(v) => v,
        None => {
            // Held: by whom, and is it stale?
            let got = match store.get(&path).await {
                Ok(g) => g,
                Err(object_store::Error::NotFound { .. }) => return Ok(Err("a holder that just released it".into())),
                Err(e) => return Err(e.into()),
            };
            let current = UpdateVersion { e_tag: got.meta.e_tag.clone(), version: got.meta.version.clone() };
            let bytes = got.bytes().await?;
            let holder = serde_json::from_slice::<Holder>(&bytes).ok();
            let stale = !holder.as_ref().is_some_and(Holder::is_live);
            if !stale {
                return Ok(Err(holder.map(|h| h.to_string()).unwrap_or_default()));
            }
            let described = holder.map(|h| h.to_string()).unwrap_or_else(|| "an unreadable lease".into());
            warn!(stale = %described, "Taking over a stale warehouse lease.");
            let taken = match put_if(&store, &path, lease(me)?, PutMode::Update(current)).await {
                // No conditional update here: delete, then create (see the module docs).
                Err(Error::ObjectStore(object_store::Error::NotImplemented { .. })) => {
                    warehouse.delete(&key).await?;
                    put_if(&store, &path, lease(me)?, PutMode::Create).await?
                }
                other => other?,
            };
            match taken {
                Some(v) => v,
                None => return Ok(Err(format!("another process taking over the stale lease of {described}"))),
            }
        }
    };
    let lost = Arc::new(AtomicBool::new(false));
    let heartbeat = tokio::spawn(heartbeat(store.clone(), path.clone(), me.clone(), version, lost.clone(), ttl));
    Ok(Ok(WarehouseLock {
        warehouse: warehouse.display.clone(),
        lost,
        inner: Inner::Lease { heartbeat, release: Some(Release { store, path, owner: me.owner.clone() }) },
    }))
}

/// A live lock that excludes one of `scope` (taken a moment ago): its holder, if any.
async fn live_conflict(warehouse: &Warehouse, scope: Option<&str>) -> Result<Option<String>> {
    // The locks there are: the whole one (`None`) and every scoped one in `_manifest/`.
    let mut others: Vec<Option<String>> = Vec::new();
    if scope.is_some() {
        others.push(None);
    }
    match warehouse.local_root() {
        Some(root) => {
            let dir = root.join(MANIFEST);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with("lock.") && !super::layout::is_staging_file(&name) {
                        others.push(scope_of(&name).map(str::to_string));
                    }
                }
            }
        }
        None => {
            let prefix = warehouse.location.child(MANIFEST);
            let listed = warehouse.location.store.list_with_delimiter(Some(&prefix)).await?;
            for meta in listed.objects {
                let name = meta.location.filename().unwrap_or_default();
                if name.starts_with("lease.") && name != "lease.json" {
                    others.push(scope_of(name).map(str::to_string));
                }
            }
        }
    }
    for other in others {
        if other.as_deref() == scope || !excludes(scope, other.as_deref()) {
            continue;
        }
        if let Some(holder) = held_by(warehouse, other.as_deref()).await? {
            return Ok(Some(holder));
        }
    }
    Ok(None)
}

/// Who holds the lock of `scope` now, if anyone (a stale lease holds nothing).
async fn held_by(warehouse: &Warehouse, scope: Option<&str>) -> Result<Option<String>> {
    match warehouse.local_root() {
        Some(root) => {
            let path = root.join(lock_file(scope));
            tokio::task::spawn_blocking(move || {
                let mut file = match std::fs::OpenOptions::new().read(true).write(true).open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(Error::io(path.display(), e)),
                };
                match file.try_lock() {
                    // Free: the probe's hold ends when `file` closes.
                    Ok(()) => Ok(None),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(Some(file_holder(&mut file))),
                    Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path.display(), e)),
                }
            })
            .await
            .map_err(|e| Error::Internal(format!("probing a warehouse lock: {e}")))?
        }
        None => {
            let path = warehouse.location.child(&lease_key(scope));
            let got = match warehouse.location.store.get(&path).await {
                Ok(g) => g,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let holder = serde_json::from_slice::<Holder>(&got.bytes().await?).ok();
            Ok(holder.filter(Holder::is_live).map(|h| h.to_string()))
        }
    }
}

/// A conditional put: the new version, or `None` when the condition failed (the object
/// exists, or changed since the version named).
async fn put_if(
    store: &Arc<dyn ObjectStore>,
    path: &object_store::path::Path,
    payload: PutPayload,
    mode: PutMode,
) -> Result<Option<UpdateVersion>> {
    match store.put_opts(path, payload, PutOptions { mode, ..Default::default() }).await {
        Ok(put) => Ok(Some(UpdateVersion::from(put))),
        Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Renews the lease every third of its life; marks it lost when it changed underneath.
async fn heartbeat(
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    me: Holder,
    mut version: UpdateVersion,
    lost: Arc<AtomicBool>,
    ttl: Duration,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let mut h = me.clone();
        h.expires = Some(Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default());
        let Ok(json) = serde_json::to_vec(&h) else { return };
        let payload = PutPayload::from_bytes(Bytes::from(json));
        let renewed = if version.e_tag.is_some() {
            let opts = PutOptions { mode: PutMode::Update(version.clone()), ..Default::default() };
            store.put_opts(&path, payload, opts).await
        } else {
            // No ETag to condition on: check it is still ours, then overwrite.
            match store.get(&path).await {
                Ok(got) => match got.bytes().await {
                    Ok(b) if serde_json::from_slice::<Holder>(&b).is_ok_and(|x| x.owner == me.owner) => {
                        store.put(&path, payload).await
                    }
                    _ => Err(object_store::Error::Precondition {
                        path: path.to_string(),
                        source: "lease changed".into(),
                    }),
                },
                Err(e) => Err(e),
            }
        };
        match renewed {
            Ok(put) => version = UpdateVersion::from(put),
            Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
                warn!("The warehouse lease was taken over by another process; this run stops before its next commit.");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // A passing failure: the lease has two more beats before it goes stale.
            Err(e) => warn!(error = %e, "Could not renew the warehouse lease; trying again."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_local_holder_is_refused_by_name_and_gets_it_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(&dir.path().display().to_string()).unwrap();
        let first = acquire(&wh, "ingest", Duration::ZERO).await.unwrap();
        let e = acquire(&wh, "ingest", Duration::ZERO).await.err().unwrap().to_string();
        assert!(e.contains("is locked by pid ") && e.contains("(ingest, since"), "{e}");
        assert!(e.contains(&format!("pid {}@", std::process::id())), "{e}");
        drop(first);
        let again = acquire(&wh, "check --repair", Duration::from_secs(2)).await.unwrap();
        again.check().unwrap();
    }

    #[tokio::test]
    async fn leases_on_object_stores_exclude_expire_and_are_taken_over_once() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let location = super::super::Location::from_store(store.clone(), "memory://wh/", "").unwrap();
        let wh = Warehouse::from_location(location, "memory://wh");
        // Long enough that a loaded machine does not starve a heartbeat past it.
        let ttl = Duration::from_millis(1500);
        let first = acquire_with_ttl(&wh, "ingest", None, Duration::ZERO, ttl).await.unwrap();
        let e = acquire(&wh, "ingest", Duration::ZERO).await.err().unwrap().to_string();
        assert!(e.contains("is locked by pid") && e.contains("lease expires"), "{e}");
        // Heartbeats keep it fresh past its first lifetime.
        tokio::time::sleep(ttl * 2).await;
        assert!(acquire(&wh, "ingest", Duration::ZERO).await.is_err());
        first.check().unwrap();
        // A crashed holder: its lease is left behind, past its expiry.
        std::mem::forget(first);
        let path = wh.location.child(LEASE_KEY);
        let mut stale: Holder =
            serde_json::from_slice(&store.get(&path).await.unwrap().bytes().await.unwrap()).unwrap();
        stale.expires = Some(Utc::now() - chrono::Duration::seconds(1));
        stale.owner = "pid 1@crashed #1".into();
        store.put(&path, PutPayload::from(serde_json::to_vec(&stale).unwrap())).await.unwrap();
        // Two takers at once: exactly one wins.
        let (a, b) = tokio::join!(
            acquire_with_ttl(&wh, "ingest", None, Duration::ZERO, ttl),
            acquire_with_ttl(&wh, "ingest", None, Duration::ZERO, ttl)
        );
        assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1, "{:?} {:?}", a.as_ref().err(), b.as_ref().err());
        let held = a.or(b).unwrap();
        held.check().unwrap();
        // Its lease was changed underneath (a takeover): the next heartbeat marks it lost.
        let mut other: Holder =
            serde_json::from_slice(&store.get(&path).await.unwrap().bytes().await.unwrap()).unwrap();
        other.owner = "pid 2@elsewhere #2".into();
        store.put(&path, PutPayload::from(serde_json::to_vec(&other).unwrap())).await.unwrap();
        for _ in 0..300 {
            if held.check().is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(held.check().unwrap_err().to_string().contains("lost the lock"));
    }

    /// Shards share the warehouse; the whole lock and a shard exclude each other, and so do
    /// shards of different counts. On a folder and on an object store alike.
    #[tokio::test]
    async fn shard_locks_share_the_warehouse_but_not_with_the_whole_lock() {
        let dir = tempfile::tempdir().unwrap();
        let local = Warehouse::open(&dir.path().display().to_string()).unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let location = super::super::Location::from_store(store, "memory://wh/", "").unwrap();
        let remote = Warehouse::from_location(location, "memory://wh");
        for wh in [&local, &remote] {
            let one = acquire_scoped(wh, "ingest --shard 1/3", "shard-1-of-3", Duration::ZERO).await.unwrap();
            let two = acquire_scoped(wh, "ingest --shard 2/3", "shard-2-of-3", Duration::ZERO).await.unwrap();
            let e = acquire_scoped(wh, "ingest --shard 1/3", "shard-1-of-3", Duration::ZERO).await.err().unwrap();
            assert!(e.to_string().contains("(ingest --shard 1/3, since"), "{e}");
            let e = acquire(wh, "compact", Duration::ZERO).await.err().unwrap();
            assert!(e.to_string().contains("--shard"), "{e}");
            let e = acquire_scoped(wh, "ingest --shard 1/2", "shard-1-of-2", Duration::ZERO).await.err().unwrap();
            assert!(e.to_string().contains("--shard"), "{e}");
            one.release().await;
            two.release().await;
            let whole = acquire(wh, "compact", Duration::ZERO).await.unwrap();
            let e = acquire_scoped(wh, "ingest --shard 1/2", "shard-1-of-2", Duration::ZERO).await.err().unwrap();
            assert!(e.to_string().contains("(compact, since"), "{e}");
            whole.release().await;
            // The whole lock's holder gone, a shard gets in; waiting works across kinds.
            let one = acquire_scoped(wh, "ingest --shard 1/2", "shard-1-of-2", Duration::ZERO).await.unwrap();
            let waiter = acquire(wh, "compact", Duration::from_secs(5));
            let (got, ()) = tokio::join!(waiter, async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                one.release().await;
            });
            got.unwrap().release().await;
        }
    }
}
