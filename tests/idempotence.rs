use std::time::{Duration, SystemTime};

use crate::common::{Sandbox, source};

fn two_objects(sb: &Sandbox) -> retrace::config::Config {
    sb.write(
        "logs/a.jsonl",
        b"{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"a1\"}\n{\"ts\":\"2026-11-20T14:00:00Z\",\"msg\":\"a2\"}\n",
    );
    sb.write("logs/b.jsonl.gz", b"{\"ts\":\"2026-11-19T15:00:00Z\",\"msg\":\"b1\"}\n");
    sb.config(&source("logs", "sources/logs/*"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_ingest_twice_adds_nothing() {
    let sb = Sandbox::new();
    let config = two_objects(&sb);
    let first = sb.ingest(&config).await;
    assert_eq!((first.objects_ingested, first.total_rows()), (2, 3));
    let files = sb.warehouse_files();

    let second = sb.ingest(&config).await;
    assert_eq!((second.objects_seen, second.objects_unchanged, second.objects_ingested), (2, 2, 0));
    assert_eq!(second.total_rows(), 0);
    assert_eq!(sb.warehouse_files(), files, "a no-op ingest writes nothing");
    assert!(sb.sql("SELECT count(*) AS n FROM logs").await.contains("| 3 "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_touched_object_is_replaced_not_duplicated() {
    let sb = Sandbox::new();
    let config = two_objects(&sb);
    sb.ingest(&config).await;

    // Same bytes, new modification time: re-read, rows replaced.
    let a = sb.path().join("sources/logs/a.jsonl");
    let later = SystemTime::now() + Duration::from_secs(120);
    std::fs::File::options().write(true).open(&a).unwrap().set_modified(later).unwrap();
    let touched = sb.ingest(&config).await;
    assert_eq!((touched.objects_ingested, touched.objects_replaced, touched.objects_unchanged), (1, 1, 1));
    insta::assert_snapshot!(sb.sql("SELECT msg, count(*) AS n FROM logs GROUP BY msg ORDER BY msg").await, @r"
    +-----+---+
    | msg | n |
    +-----+---+
    | a1  | 1 |
    | a2  | 1 |
    | b1  | 1 |
    +-----+---+
    ");

    // New content: the object's rows are exactly the new ones (a2 gone, a3 new).
    sb.write(
        "logs/a.jsonl",
        b"{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"a1\"}\n{\"ts\":\"2026-11-21T09:00:00Z\",\"msg\":\"a3\"}\n",
    );
    let changed = sb.ingest(&config).await;
    assert_eq!(changed.objects_replaced, 1);
    insta::assert_snapshot!(sb.sql("SELECT date, msg FROM logs ORDER BY ts").await, @r"
    +------------+-----+
    | date       | msg |
    +------------+-----+
    | 2026-11-19 | a1  |
    | 2026-11-19 | b1  |
    | 2026-11-21 | a3  |
    +------------+-----+
    ");
    // The old day partition of the replaced object holds no file any more.
    assert!(!sb.warehouse_files().iter().any(|f| f.starts_with("logs/date=2026-11-20/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_an_interrupted_ingest_are_removed_and_redone() {
    let sb = Sandbox::new();
    let config = two_objects(&sb);
    sb.ingest(&config).await;
    let committed = sb.warehouse_files();

    // An interrupted run: a data file was written, its manifest entry never was.
    let stray = sb.warehouse_path().join("logs/date=2026-11-19/0123456789abcdef-89abcdef-0000.parquet");
    std::fs::copy(sb.warehouse_path().join(committed.iter().find(|f| f.starts_with("logs/")).unwrap()), &stray)
        .unwrap();
    // A file retrace did not write is left alone.
    let foreign = sb.warehouse_path().join("logs/README.txt");
    std::fs::write(&foreign, "notes").unwrap();

    let next = sb.ingest(&config).await;
    assert_eq!(next.recovered_files, 1);
    assert!(!stray.exists());
    assert!(foreign.exists());
    std::fs::remove_file(foreign).unwrap();
    assert_eq!(sb.warehouse_files(), committed);
    assert!(sb.sql("SELECT count(*) AS n FROM logs").await.contains("| 3 "));
}
