use std::sync::Arc;

use object_store::memory::InMemory;
use retrace::warehouse::{Location, Warehouse};

use crate::common::{Sandbox, source};

/// The warehouse goes through object_store, not the file system: an in-memory store works
/// the same way (ingest, manifest, catalog, SQL), which is what s3://, gs:// and az:// rely on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_on_an_in_memory_store() {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "logs.jsonl");
    let config = sb.config(&source("logs", "sources/logs.jsonl"));
    let store = Arc::new(InMemory::new());
    let location = Location::from_store(store.clone(), "memory:///", "team/warehouse").unwrap();
    let warehouse = Warehouse::from_location(location, "memory://team/warehouse");

    let options = retrace::ingest::IngestOptions::default();
    let first = retrace::ingest::ingest(&warehouse, &config.sources, &options).await.unwrap();
    assert_eq!(first.total_rows(), 6);
    let again = retrace::ingest::ingest(&warehouse, &config.sources, &options).await.unwrap();
    assert_eq!(again.objects_unchanged, 1);

    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let mut keys: Vec<String> = store.list(None).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
    keys.sort();
    assert!(keys.iter().all(|k| k.starts_with("team/warehouse/")), "{keys:?}");
    assert_eq!(keys.iter().filter(|k| k.contains("/logs/date=")).count(), 2);

    let ctx = retrace::catalog::open(&warehouse).await.unwrap();
    let batches = ctx
        .sql("SELECT date, count(*) AS n FROM logs GROUP BY date ORDER BY date")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let table = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    insta::assert_snapshot!(table, @r"
    +------------+---+
    | date       | n |
    +------------+---+
    | 2026-11-19 | 5 |
    | 2026-11-20 | 1 |
    +------------+---+
    ");
}

/// A store that fails a share of requests: about one in `every` gets, puts and lists
/// fails outright, and about one in `every + 2` gets breaks its byte stream half-way (a
/// connection reset in the middle of an object). The choice is a fixed pseudo-random
/// sequence, not a period, so no operation fails the same way every time.
#[derive(Debug)]
struct Flaky {
    inner: Arc<dyn object_store::ObjectStore>,
    every: usize,
    calls: std::sync::atomic::AtomicUsize,
    failures: std::sync::atomic::AtomicUsize,
}

impl Flaky {
    fn new(inner: Arc<dyn object_store::ObjectStore>, every: usize) -> Flaky {
        Flaky { inner, every, calls: Default::default(), failures: Default::default() }
    }

    fn roll(&self, modulo: usize) -> bool {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) as u64 + 1;
        // splitmix64 of the call number
        let mut z = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let fail = (z ^ (z >> 31)).is_multiple_of(modulo as u64);
        if fail {
            self.failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        fail
    }

    fn injected() -> object_store::Error {
        object_store::Error::Generic { store: "flaky", source: "injected 503 Service Unavailable".into() }
    }
}

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flaky({})", self.inner)
    }
}

#[async_trait::async_trait]
impl object_store::ObjectStore for Flaky {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        if self.roll(self.every) {
            return Err(Self::injected());
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        if self.roll(self.every) {
            return Err(Self::injected());
        }
        let mut got = self.inner.get_opts(location, options).await?;
        if !got.meta.location.as_ref().contains("_manifest") && self.roll(self.every + 2) {
            // Deliver the first half, then break.
            use futures::StreamExt;
            let bytes = got.bytes().await?;
            let half = bytes.slice(..bytes.len() / 2);
            let stream = futures::stream::iter(vec![Ok(half), Err(Self::injected())]).boxed();
            let meta = object_store::ObjectStoreExt::head(&self.inner, location).await?;
            got = object_store::GetResult {
                payload: object_store::GetResultPayload::Stream(stream),
                range: 0..meta.size,
                meta,
                attributes: Default::default(),
            };
        }
        Ok(got)
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<object_store::path::Path>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::path::Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        if self.roll(self.every) {
            return Box::pin(futures::stream::once(async { Err(Flaky::injected()) }));
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Ingest from and into stores that fail a share of requests completes with exactly the
/// rows of a clean run: single requests are retried, and an object whose byte stream
/// breaks is read again from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_stores_give_identical_results() {
    use object_store::ObjectStoreExt;
    async fn seed() -> Arc<dyn object_store::ObjectStore> {
        let src: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
        for day in 0..6 {
            let mut text = String::new();
            for i in 0..2000 {
                text.push_str(&format!(
                    "{{\"ts\":\"2026-11-{:02}T{:02}:{:02}:00Z\",\"service\":\"s{}\",\"level\":\"{}\",\"msg\":\"event {i}\"}}\n",
                    13 + day,
                    i / 60 % 24,
                    i % 60,
                    i % 3,
                    if i % 7 == 0 { "error" } else { "info" }
                ));
            }
            let path = object_store::path::Path::from(format!("logs/day{day}.jsonl"));
            src.put(&path, text.into_bytes().into()).await.unwrap();
        }
        src
    }
    let config_text =
        "warehouse = \"memory://lake/wh\"\n[[sources]]\nkind = \"logs\"\nurl = \"memory://src/logs/*.jsonl\"\n";
    let config = retrace::config::Config::parse(config_text, std::path::Path::new("/")).unwrap();

    let mut tables = Vec::new();
    let mut failures = 0;
    for flaky in [false, true] {
        let (src, lake): (Arc<dyn object_store::ObjectStore>, Arc<dyn object_store::ObjectStore>) =
            (seed().await, Arc::new(InMemory::new()));
        let (src_f, lake_f) = (Arc::new(Flaky::new(src.clone(), 4)), Arc::new(Flaky::new(lake.clone(), 5)));
        let (src_used, lake_used): (Arc<dyn object_store::ObjectStore>, Arc<dyn object_store::ObjectStore>) =
            if flaky { (src_f.clone(), lake_f.clone()) } else { (src, lake.clone()) };
        let storage = retrace::warehouse::store::StorageOptions::default()
            .with_store("memory://src", src_used)
            .with_store("memory://lake", lake_used);
        let warehouse = Warehouse::open_with(&config.warehouse, &storage).unwrap();
        // One object at a time: the failure sequence is then the same on every run.
        let options = retrace::ingest::IngestOptions { storage: storage.clone(), concurrency: 1, ..Default::default() };
        let summary = retrace::ingest::ingest(&warehouse, &config.sources, &options).await.unwrap();
        assert_eq!((summary.objects_ingested, summary.objects_failed), (6, 0), "{:?}", summary.failures);
        assert_eq!(summary.total_rows(), 12_000);
        if flaky {
            failures = src_f.failures.load(std::sync::atomic::Ordering::SeqCst)
                + lake_f.failures.load(std::sync::atomic::Ordering::SeqCst);
        }
        // Read back through a clean view of the same lake.
        let clean = Warehouse::open_with(
            &config.warehouse,
            &retrace::warehouse::store::StorageOptions::default().with_store("memory://lake", lake),
        )
        .unwrap();
        let ctx = retrace::catalog::open(&clean).await.unwrap();
        let batches = ctx
            .sql("SELECT date, service, level, count(*) AS n, min(ts) AS first, max(line) AS last_line FROM logs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        tables.push(datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string());
    }
    assert!(failures >= 5, "the flaky stores injected only {failures} failures");
    eprintln!("flaky stores injected {failures} failures");
    assert_eq!(tables[0], tables[1]);
}

/// An HTTP(S) URL as a source: one object fetched over HTTP (here Python's http.server on
/// 127.0.0.1), ingested like any other and skipped when unchanged.
#[test]
fn an_http_source() {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "served/logs.jsonl");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(sb.path().join("sources/served"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sb.config_file(&source("logs", &format!("http://127.0.0.1:{port}/logs.jsonl")));
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_retrace"))
            .current_dir(sb.path())
            .env_remove("RETRACE_CONFIG")
            .env_remove("RETRACE_WAREHOUSE")
            .args(["-q", "ingest"])
            .output()
            .unwrap()
    };
    let first = run();
    let second = run();
    let _ = server.kill();
    let _ = server.wait();
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("rows: logs              6"), "{}", text(&first));
    assert!(text(&second).contains("1 unchanged"), "{}", text(&second));
}
