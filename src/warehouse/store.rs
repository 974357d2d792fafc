//! URLs and paths → object stores. One function decides which `ObjectStore` serves a
//! location; every store gets the same retry policy. Credentials come from the standard
//! environment variables of each cloud (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT`,
//! `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, …) via the builders' `from_env`.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use globset::{GlobBuilder, GlobMatcher};
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig};
use url::Url;

use super::path_template::PathTemplate;
use crate::error::{Error, Result};

/// Retries with exponential back-off for transient failures (5xx, timeouts, resets).
pub fn retry_config() -> RetryConfig {
    RetryConfig {
        max_retries: 5,
        retry_timeout: Duration::from_secs(120),
        backoff: object_store::BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        },
    }
}

/// Object-store settings from the config's `[storage]` table, passed to the builder of
/// every store (`aws_endpoint`, `aws_access_key_id`, `google_service_account`,
/// `azure_storage_account_name`, …: object_store's config keys). They override the
/// environment; a key meant for another cloud is ignored by the others.
#[derive(Debug, Clone, Default)]
pub struct StorageOptions {
    pub settings: std::collections::BTreeMap<String, String>,
    /// Stores registered by `scheme://authority` (library use and tests: in-memory or
    /// wrapped stores); a URL with that root uses the store instead of a builder.
    pub stores: Vec<(String, Arc<dyn ObjectStore>)>,
}

impl StorageOptions {
    pub fn new(settings: std::collections::BTreeMap<String, String>) -> StorageOptions {
        StorageOptions { settings, stores: Vec::new() }
    }

    /// Serves every URL under `root` (`memory://bucket`) from `store`.
    pub fn with_store(mut self, root: &str, store: Arc<dyn ObjectStore>) -> StorageOptions {
        self.stores.push((root.trim_end_matches('/').to_string(), store));
        self
    }

    /// Every key must be known to at least one cloud's builder (catches typos).
    pub fn validate(&self) -> std::result::Result<(), String> {
        use std::str::FromStr;
        for key in self.settings.keys() {
            let known = object_store::aws::AmazonS3ConfigKey::from_str(key).is_ok()
                || object_store::gcp::GoogleConfigKey::from_str(key).is_ok()
                || object_store::azure::AzureConfigKey::from_str(key).is_ok()
                || object_store::ClientConfigKey::from_str(key).is_ok();
            if !known {
                return Err(format!(
                    "storage.{key}: not an object-store setting (e.g. aws_endpoint, aws_access_key_id, aws_region, google_service_account_path, azure_storage_account_name)"
                ));
            }
        }
        Ok(())
    }

    fn apply_s3(&self, mut b: AmazonS3Builder) -> AmazonS3Builder {
        use std::str::FromStr;
        for (k, v) in &self.settings {
            if let Ok(key) = object_store::aws::AmazonS3ConfigKey::from_str(k) {
                b = b.with_config(key, v);
            }
        }
        b
    }

    fn apply_gcs(&self, mut b: GoogleCloudStorageBuilder) -> GoogleCloudStorageBuilder {
        use std::str::FromStr;
        for (k, v) in &self.settings {
            if let Ok(key) = object_store::gcp::GoogleConfigKey::from_str(k) {
                b = b.with_config(key, v);
            }
        }
        b
    }

    fn apply_azure(&self, mut b: MicrosoftAzureBuilder) -> MicrosoftAzureBuilder {
        use std::str::FromStr;
        for (k, v) in &self.settings {
            if let Ok(key) = object_store::azure::AzureConfigKey::from_str(k) {
                b = b.with_config(key, v);
            }
        }
        b
    }
}

/// A store and a prefix inside it.
#[derive(Debug, Clone)]
pub struct Location {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: Path,
    /// `scheme://authority/`: what DataFusion registers the store under.
    pub base_url: Url,
}

impl Location {
    /// Opens a location with credentials and endpoints from the environment only.
    pub fn parse(location: &str) -> Result<Location> {
        Location::parse_with(location, &StorageOptions::default())
    }

    /// Opens a location: `s3://`, `gs://`, `az://`/`abfs://`, `http(s)://`, `file://`, or a local path.
    pub fn parse_with(location: &str, options: &StorageOptions) -> Result<Location> {
        let err = |message: String| Error::Url { url: location.to_string(), message };
        if !location.contains("://") {
            let abs = std::path::absolute(location).map_err(|e| err(e.to_string()))?;
            let prefix = Path::from_absolute_path(&abs).map_err(|e| err(e.to_string()))?;
            return Ok(Location {
                store: Arc::new(LocalFileSystem::new()),
                prefix,
                base_url: Url::parse("file:///").expect("static URL"),
            });
        }
        let url = Url::parse(location).map_err(|e| err(e.to_string()))?;
        let prefix = Path::from_url_path(url.path()).map_err(|e| err(e.to_string()))?;
        // Host *and port*: `http://h:18766/app.jsonl` and `http://h:18767/app.jsonl` are
        // two objects, and the root is part of every object URL (their identity).
        let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
        let root = format!("{}://{}", url.scheme(), authority);
        let base_url = Url::parse(&format!("{root}/")).map_err(|e| err(e.to_string()))?;
        if let Some((_, store)) = options.stores.iter().find(|(r, _)| *r == root) {
            return Ok(Location { store: store.clone(), prefix, base_url });
        }
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => {
                let path = url.to_file_path().map_err(|_| err("not a local file URL".into()))?;
                return Location::parse(&path.display().to_string());
            }
            "s3" | "s3a" => Arc::new(
                options
                    .apply_s3(AmazonS3Builder::from_env())
                    .with_url(location)
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            ),
            "gs" => Arc::new(
                options
                    .apply_gcs(GoogleCloudStorageBuilder::from_env())
                    .with_url(location)
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            ),
            "az" | "azure" | "abfs" | "abfss" => Arc::new(
                options
                    .apply_azure(MicrosoftAzureBuilder::from_env())
                    .with_url(location)
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            ),
            "http" | "https" => {
                let origin =
                    format!("{}://{}", url.scheme(), &url[url::Position::BeforeHost..url::Position::AfterPort]);
                Arc::new(
                    HttpBuilder::new()
                        .with_url(origin)
                        // The URL's scheme is the user's choice: plain http:// must work too.
                        .with_client_options(object_store::ClientOptions::new().with_allow_http(url.scheme() == "http"))
                        .with_retry(retry_config())
                        .build()
                        .map_err(|e| err(e.to_string()))?,
                )
            }
            other => return Err(err(format!("unsupported scheme `{other}`; use s3, gs, az, http(s), file or a path"))),
        };
        Ok(Location { store, prefix, base_url })
    }

    /// A location over an explicit store (tests, in-memory warehouses).
    pub fn from_store(store: Arc<dyn ObjectStore>, base_url: &str, prefix: &str) -> Result<Location> {
        let base_url = Url::parse(base_url).map_err(|e| Error::Url { url: base_url.into(), message: e.to_string() })?;
        Ok(Location { store, prefix: Path::from(prefix), base_url })
    }

    /// The folder this location is on the local file system, when it is served by
    /// object_store's `LocalFileSystem` (not a store registered for `file://`).
    pub fn local_path(&self) -> Option<std::path::PathBuf> {
        (self.base_url.scheme() == "file" && self.store.to_string().starts_with("LocalFileSystem"))
            .then(|| std::path::PathBuf::from(format!("/{}", self.prefix.as_ref())))
    }

    /// The path of `key` (a `/`-separated relative key) under this location.
    pub fn child(&self, key: &str) -> Path {
        let mut p = self.prefix.clone();
        for part in key.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    /// `key` relative to this location's prefix.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let prefix = self.prefix.as_ref();
        let full = path.as_ref();
        if prefix.is_empty() {
            return Some(full.to_string());
        }
        full.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')).map(str::to_string)
    }

    /// Full URL of a path in this store (what the `source` column records).
    pub fn url_of(&self, path: &Path) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// URL of a folder under the prefix, with a trailing slash (for DataFusion listing tables).
    pub fn folder_url(&self, key: &str) -> String {
        let p = self.child(key);
        format!("{}{}/", self.base_url, p)
    }

    /// Lists every object under `key` (recursively), sorted by path.
    pub async fn list(&self, key: &str) -> Result<Vec<ObjectMeta>> {
        let prefix = self.child(key);
        let mut all: Vec<ObjectMeta> = self.store.list(Some(&prefix)).try_collect().await?;
        all.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(all)
    }
}

/// A source URL split into where to list and what to match.
#[derive(Debug)]
pub struct SourceUrl {
    pub location: Location,
    /// Path up to the first segment with a glob character.
    pub list_prefix: Path,
    pub glob: Option<GlobMatcher>,
    /// `{name}` placeholders of the URL, read back from each object's key.
    pub template: Option<PathTemplate>,
    /// For a local path: the folder (or file) to walk, listed by [`local_list`] rather
    /// than the object store, which cannot name odd file names.
    pub local_root: Option<std::path::PathBuf>,
}

/// One object a source names: its metadata, and for a local file its real path (which
/// an odd name's escaped `location` does not spell).
#[derive(Debug, Clone)]
pub struct Listed {
    pub meta: ObjectMeta,
    pub local: Option<std::path::PathBuf>,
}

/// What a source's listing found: the objects, and the entries it had to skip.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<Listed>,
    pub skipped: Vec<super::local_list::Skipped>,
}

fn has_glob(segment: &str) -> bool {
    segment.contains(['*', '?', '[', '{'])
}

impl SourceUrl {
    pub fn parse(url: &str) -> Result<SourceUrl> {
        SourceUrl::parse_with(url, &StorageOptions::default())
    }

    pub fn parse_with(url: &str, options: &StorageOptions) -> Result<SourceUrl> {
        let (root, path) = split_root(url);
        let location = Location::parse_with(&root, options)?;
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let first_glob = segments.iter().position(|s| has_glob(s));
        let fixed = &segments[..first_glob.unwrap_or(segments.len())];
        let list_prefix = location.child(&fixed.join("/"));
        let mut template = None;
        let glob = match first_glob {
            None => None,
            Some(_) => {
                // Not `child()`: path parts percent-encode `*`, which would defeat the glob.
                let joined = segments.join("/");
                let pattern = match location.prefix.as_ref() {
                    "" => joined,
                    prefix => format!("{prefix}/{joined}"),
                };
                let (pattern, placeholders) =
                    PathTemplate::split(&pattern).map_err(|message| Error::Url { url: url.into(), message })?;
                template = placeholders;
                // Paths are object keys: `*` stays inside one folder, `**` crosses folders.
                let glob = GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| Error::Url { url: url.into(), message: format!("bad glob: {e}") })?;
                Some(glob.compile_matcher())
            }
        };
        let local_root =
            location.local_path().map(|_| std::path::PathBuf::from(format!("/{}", fixed_path(&segments, first_glob))));
        Ok(SourceUrl { location, list_prefix, glob, template, local_root })
    }

    /// Lists the objects this URL names, local folders entry by entry ([`local_list`]).
    pub async fn listing(&self) -> Result<Listing> {
        let Some(root) = self.local_root.clone() else {
            return self.store_listing().await;
        };
        let glob = self.glob.clone();
        let (found, skipped) = tokio::task::spawn_blocking(move || super::local_list::list(&root, glob.as_ref()))
            .await
            .map_err(|e| Error::Internal(format!("listing a local folder: {e}")))?;
        let objects = found.into_iter().map(|o| Listed { meta: o.meta, local: Some(o.path) }).collect();
        Ok(Listing { objects, skipped })
    }

    /// An object store's listing that reports a key it cannot name (object_store refuses
    /// control characters in paths) as skipped instead of failing the whole source.
    async fn store_listing(&self) -> Result<Listing> {
        use futures::StreamExt;
        if self.glob.is_none() {
            match self.location.store.head(&self.list_prefix).await {
                Ok(meta) => return Ok(Listing { objects: vec![Listed { meta, local: None }], skipped: Vec::new() }),
                Err(object_store::Error::NotFound { .. }) => {}
                // HTTP stores cannot list; a failed HEAD is the answer.
                Err(e) if self.location.base_url.scheme().starts_with("http") => return Err(e.into()),
                Err(_) => {}
            }
        }
        let mut listing = Listing::default();
        let mut stream = self.location.store.list(Some(&self.list_prefix));
        while let Some(item) = stream.next().await {
            match item {
                Ok(m) if self.glob.as_ref().is_none_or(|g| g.is_match(m.location.as_ref())) => {
                    listing.objects.push(Listed { meta: m, local: None })
                }
                Ok(_) => {}
                Err(object_store::Error::InvalidPath { source }) => listing.skipped.push(super::local_list::Skipped {
                    name: crate::display::escape(&source.to_string()).into_owned(),
                    reason: "a key the object store client cannot name (a control character or invalid UTF-8); the listing may end here".into(),
                }),
                Err(e) => return Err(e.into()),
            }
        }
        listing.objects.sort_by(|a, b| a.meta.location.cmp(&b.meta.location));
        Ok(listing)
    }

    /// The objects this URL names: every match of the glob, or the single object, or
    /// everything under the prefix when it is a folder. Sorted by path.
    pub async fn objects(&self) -> Result<Vec<ObjectMeta>> {
        let store = &self.location.store;
        if self.glob.is_none() {
            match store.head(&self.list_prefix).await {
                Ok(meta) => return Ok(vec![meta]),
                Err(object_store::Error::NotFound { .. }) => {}
                // HTTP stores cannot list; a failed HEAD is the answer.
                Err(e) if self.location.base_url.scheme().starts_with("http") => return Err(e.into()),
                Err(_) => {}
            }
        }
        let mut all: Vec<ObjectMeta> = store
            .list(Some(&self.list_prefix))
            .try_filter(|m| {
                let keep = self.glob.as_ref().is_none_or(|g| g.is_match(m.location.as_ref()));
                futures::future::ready(keep)
            })
            .try_collect()
            .await?;
        all.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(all)
    }
}

/// The segments before the first glob, joined: the folder a local walk starts at.
fn fixed_path(segments: &[&str], first_glob: Option<usize>) -> String {
    segments[..first_glob.unwrap_or(segments.len())].join("/")
}

/// `s3://b/x/*.gz` → (`s3://b`, `x/*.gz`); `/abs/x/*.gz` → (`/`, `abs/x/*.gz`).
fn split_root(url: &str) -> (String, String) {
    if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return ("/".into(), rest.trim_start_matches('/').to_string());
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        (format!("{scheme}://{authority}"), path.to_string())
    } else {
        ("/".into(), url.trim_start_matches('/').to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_split_from_paths() {
        assert_eq!(split_root("s3://b/logs/*.gz"), ("s3://b".into(), "logs/*.gz".into()));
        assert_eq!(split_root("/data/x.csv"), ("/".into(), "data/x.csv".into()));
        assert_eq!(split_root("file:///data/x.csv"), ("/".into(), "data/x.csv".into()));
        assert_eq!(split_root("gs://bucket"), ("gs://bucket".into(), "".into()));
    }

    #[test]
    fn cloud_urls_split_into_bucket_prefix_and_glob() {
        // Building the store needs no network: credentials are resolved on first request.
        let u = SourceUrl::parse("s3://acme-telemetry/logs/2026/11/*/*.jsonl.gz").unwrap();
        assert_eq!(u.location.base_url.as_str(), "s3://acme-telemetry/");
        assert_eq!(u.list_prefix.as_ref(), "logs/2026/11");
        let glob = u.glob.unwrap();
        assert!(glob.is_match("logs/2026/11/19/app.jsonl.gz"));
        assert!(!glob.is_match("logs/2026/11/19/deep/app.jsonl.gz"));
        assert!(!glob.is_match("logs/2026/11/19/app.csv.gz"));
        assert_eq!(
            u.location.url_of(&Path::from("logs/2026/11/19/app.jsonl.gz")),
            "s3://acme-telemetry/logs/2026/11/19/app.jsonl.gz"
        );

        // The port is part of an object's identity.
        let a = SourceUrl::parse("http://h:18766/app.jsonl").unwrap();
        let b = SourceUrl::parse("http://h:18767/app.jsonl").unwrap();
        let url = |u: &SourceUrl| u.location.url_of(&u.list_prefix);
        assert_eq!((url(&a).as_str(), url(&b).as_str()), ("http://h:18766/app.jsonl", "http://h:18767/app.jsonl"));
        let wh = Location::parse("s3://acme-warehouse/prod").unwrap();
        assert_eq!(wh.folder_url("logs"), "s3://acme-warehouse/prod/logs/");
        let gs = Location::parse("gs://bucket/wh").unwrap();
        assert_eq!(gs.folder_url("rejects"), "gs://bucket/wh/rejects/");
        let e = Location::parse("ftp://host/x").unwrap_err().to_string();
        assert!(e.contains("unsupported scheme `ftp`"), "{e}");
    }

    #[tokio::test]
    async fn globs_match_within_folders() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["a/2026-11-18/x.jsonl.gz", "a/2026-11-19/y.jsonl.gz", "a/2026-11-19/deep/z.jsonl.gz", "a/other.csv"] {
            let f = dir.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, b"{}").unwrap();
        }
        let base = dir.path().display().to_string();
        let names = |v: Vec<ObjectMeta>| -> Vec<String> {
            v.iter().map(|m| m.location.filename().unwrap().to_string()).collect()
        };
        let one = SourceUrl::parse(&format!("{base}/a/*/*.jsonl.gz")).unwrap();
        assert_eq!(names(one.objects().await.unwrap()), vec!["x.jsonl.gz", "y.jsonl.gz"]);
        let deep = SourceUrl::parse(&format!("{base}/a/**/*.jsonl.gz")).unwrap();
        assert_eq!(names(deep.objects().await.unwrap()), vec!["x.jsonl.gz", "z.jsonl.gz", "y.jsonl.gz"]);
        let folder = SourceUrl::parse(&format!("{base}/a")).unwrap();
        assert_eq!(folder.objects().await.unwrap().len(), 4);
        let single = SourceUrl::parse(&format!("{base}/a/other.csv")).unwrap();
        assert_eq!(names(single.objects().await.unwrap()), vec!["other.csv"]);
    }
}
