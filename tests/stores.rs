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
