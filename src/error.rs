//! The crate's error type.
//!
//! Variants separate "your input is wrong" (config, URLs, SQL, unreadable objects) from
//! "this is a bug" ([`Error::Internal`]), as DataFusion's `Plan`/`Execution` vs `Internal`
//! do. Messages name the object, line and field where there is one. Malformed *records*
//! are not errors: they become rows of the `rejects` table (see `ingest::reject`).

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::parquet::errors::ParquetError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `retrace.toml` is missing, unreadable or invalid.
    #[error("config {path}: {message}")]
    Config { path: String, message: String },

    /// A source or warehouse URL cannot be used.
    #[error("URL `{url}`: {message}")]
    Url { url: String, message: String },

    /// A command-line value that parsed but makes no sense together with the rest.
    #[error("{0}")]
    Usage(String),

    /// A query went past a limit (memory, time, expression depth): the message says
    /// which and how to raise it.
    #[error("query stopped: {0}")]
    QueryLimit(String),

    /// SQL that retrace refuses to run (writes, DDL, `SET`, …).
    #[error("refused SQL: {0}")]
    RefusedSql(String),

    /// One source object could not be read at all (as opposed to a malformed record in it).
    #[error("object {object}: {message}")]
    Object { object: String, message: String },

    /// Some objects (or whole sources) of an ingest failed; the rest were ingested and committed.
    #[error("ingest incomplete: {failures} failed (listed above); everything else was ingested")]
    IngestIncomplete { failures: usize },

    /// Another process holds the warehouse lock (an ingest, a repair, a compaction).
    #[error("warehouse {warehouse} is locked by {holder}; try again when it is done, or pass --wait DURATION")]
    Locked { warehouse: String, holder: String },

    /// The warehouse lock was lost while this process held it (taken over after it
    /// looked stale): stop before committing anything more.
    #[error("warehouse {warehouse}: lost the lock ({message}); stopped before committing more")]
    LockLost { warehouse: String, message: String },

    /// The warehouse holds something retrace did not write, or cannot read its own manifest.
    #[error("warehouse {location}: {message}")]
    Warehouse { location: String, message: String },

    #[error("object store: {0}{hint}", hint = store_hint(.0))]
    ObjectStore(#[from] object_store::Error),

    /// A store operation on a named warehouse file failed (`what` says which).
    #[error("{what} ({location}): {source}{hint}", hint = store_hint(source))]
    StoreAt {
        what: String,
        location: String,
        #[source]
        source: object_store::Error,
    },

    #[error(transparent)]
    DataFusion(#[from] DataFusionError),

    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),

    #[error("parquet: {0}")]
    Parquet(#[from] ParquetError),

    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// `--cluster` names a scheduler that does not answer.
    #[error("cannot reach the Ballista scheduler at {address}: {message}")]
    ClusterUnreachable { address: String, message: String },

    /// The cluster refused or failed a query, or a scheduler/executor could not start.
    #[error("cluster: {0}")]
    Cluster(String),

    /// A broken invariant inside retrace. Please report it.
    #[error("internal error (this is a bug in retrace): {0}")]
    Internal(String),
}

/// An I/O error is transient when it carries a store error (the object's byte stream
/// broke) or is a network-level failure; decompression and decoding errors are not.
fn transient_io(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    e.get_ref().is_some_and(|inner| inner.is::<object_store::Error>())
        || matches!(e.kind(), K::ConnectionReset | K::ConnectionAborted | K::TimedOut | K::Interrupted | K::BrokenPipe)
}

/// True when an I/O error anywhere in the chain says the disk or a quota is full, or the
/// file system is read-only.
pub fn storage_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            // 28 ENOSPC, 122 EDQUOT, 30 EROFS on Linux.
            if matches!(io.kind(), K::StorageFull | K::QuotaExceeded | K::ReadOnlyFilesystem)
                || matches!(io.raw_os_error(), Some(28 | 122 | 30))
            {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                cur = Some(inner);
                continue;
            }
        }
        cur = err.source();
    }
    false
}

/// How long a query keeps running again after files vanished under it: an ingest that
/// replaces many objects deletes their old files one by one, and a reader can meet
/// several in a row. Time, not a count, bounds it (a count ran out on a busy machine).
pub const VANISHED_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// The retry policy for queries whose files vanished: the wait before the next attempt
/// (25 ms doubling to 1 s), or `None` once [`VANISHED_PATIENCE`] is spent.
#[derive(Debug)]
pub struct VanishedRetry {
    started: std::time::Instant,
    pub attempt: u32,
}

impl Default for VanishedRetry {
    fn default() -> Self {
        VanishedRetry { started: std::time::Instant::now(), attempt: 0 }
    }
}

impl VanishedRetry {
    pub fn next_wait(&mut self) -> Option<std::time::Duration> {
        if self.started.elapsed() >= VANISHED_PATIENCE {
            return None;
        }
        self.attempt += 1;
        Some(std::time::Duration::from_millis((25u64 << self.attempt.min(6)).min(1000)))
    }
}

/// True when a query failed because a file it listed was gone when it came to read it:
/// an ingest replaced an object's files between the two. Running the query again sees
/// the new files.
pub fn vanished_file(e: &DataFusionError) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(object_store::Error::NotFound { .. }) = err.downcast_ref::<object_store::Error>() {
            return true;
        }
        if let Some(DataFusionError::ObjectStore(inner)) = err.downcast_ref::<DataFusionError>()
            && matches!(inner.as_ref(), object_store::Error::NotFound { .. })
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// A hint for the failures people can fix themselves: refused credentials.
fn store_hint(e: &object_store::Error) -> &'static str {
    let denied =
        matches!(e, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }) || {
            let text = e.to_string();
            ["403 Forbidden", "401 Unauthorized", "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"]
                .iter()
                .any(|m| text.contains(m))
        };
    if denied {
        " (access denied: check the credentials — AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the config's [storage] — and the endpoint)"
    } else {
        ""
    }
}

impl Error {
    /// True for failures that may pass on a second try: network errors, 5xx answers that
    /// outlasted the store's own retries, a connection reset in the middle of a read.
    /// False for what another try cannot fix: a missing object, refused credentials,
    /// corrupt data.
    pub fn is_transient(&self) -> bool {
        use object_store::Error as S;
        // A full disk or quota does not pass by trying again; it only multiplies the reads.
        if storage_full(self) {
            return false;
        }
        match self {
            Error::ObjectStore(e) | Error::StoreAt { source: e, .. } => !matches!(
                e,
                S::NotFound { .. }
                    | S::PermissionDenied { .. }
                    | S::Unauthenticated { .. }
                    | S::InvalidPath { .. }
                    | S::NotSupported { .. }
                    | S::NotImplemented { .. }
                    | S::UnknownConfigurationKey { .. }
                    | S::AlreadyExists { .. }
                    | S::Precondition { .. }
            ),
            Error::Io { source, .. } => transient_io(source),
            _ => false,
        }
    }

    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io { path: path.to_string(), source }
    }

    /// True when the error is the reader going away (`retrace sql … | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::BrokenPipe,
            Error::Arrow(ArrowError::IoError(_, e)) => e.kind() == std::io::ErrorKind::BrokenPipe,
            Error::Arrow(ArrowError::ExternalError(e)) => {
                e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk is final: trying again only reads the object again (four times, before).
    #[test]
    fn a_full_disk_is_not_transient_however_it_is_wrapped() {
        let full = || std::io::Error::from(std::io::ErrorKind::StorageFull);
        let store = object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(full()) };
        assert!(!Error::ObjectStore(store).is_transient());
        assert!(
            !Error::io(
                "x",
                std::io::Error::other(object_store::Error::Generic { store: "s", source: Box::new(full()) })
            )
            .is_transient()
        );
        assert!(!Error::io("x", std::io::Error::from_raw_os_error(28)).is_transient());
        // A reset connection still is.
        let reset = object_store::Error::Generic {
            store: "S3",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        };
        assert!(Error::ObjectStore(reset).is_transient());
    }
}
