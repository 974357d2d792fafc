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
    // A write killed before its rename leaves object_store's staging file behind.
    let staging = sb.warehouse_path().join("logs/date=2026-11-19/0123456789abcdef-89abcdef-0001.parquet#1");
    std::fs::write(&staging, b"half a file").unwrap();
    // A file retrace did not write is left alone.
    let foreign = sb.warehouse_path().join("logs/README.txt");
    std::fs::write(&foreign, "notes").unwrap();

    let next = sb.ingest(&config).await;
    assert_eq!(next.recovered_files, 2);
    assert!(!stray.exists() && !staging.exists());
    assert!(foreign.exists());
    std::fs::remove_file(foreign).unwrap();
    assert_eq!(sb.warehouse_files(), committed);
    assert!(sb.sql("SELECT count(*) AS n FROM logs").await.contains("| 3 "));
}

/// Overlapping exports: the rows two objects share are kept once; identical lines inside
/// one object are distinct events and are all kept. The count dropped is reported, and
/// the result does not depend on which object finished first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_exports_are_deduplicated() {
    let line = |t: &str, msg: &str| {
        format!(
            "{{\"ts\":\"2026-11-19T{t}Z\",\"service\":\"api\",\"host\":\"h1\",\"level\":\"error\",\"msg\":\"{msg}\"}}\n"
        )
    };
    // 10:00–12:00 export and 11:00–13:00 export; "boom" is logged twice at 11:30:00.
    let first =
        [line("10:00:00", "a"), line("11:30:00", "boom"), line("11:30:00", "boom"), line("11:45:00", "b")].concat();
    let second =
        [line("11:30:00", "boom"), line("11:30:00", "boom"), line("11:45:00", "b"), line("12:30:00", "c")].concat();
    for concurrency in [1, 2] {
        let sb = Sandbox::new();
        sb.write("x/1-export.jsonl", first.as_bytes());
        sb.write("x/2-export.jsonl", second.as_bytes());
        let config = sb.config(&source("logs", "sources/x/*.jsonl"));
        let options = retrace::ingest::IngestOptions { concurrency, ..Default::default() };
        let summary = retrace::ingest::ingest(&sb.warehouse(), &config.sources, &options).await.unwrap();
        assert_eq!(summary.rows.get("logs"), Some(&5), "concurrency {concurrency}");
        assert_eq!(summary.duplicates.get("logs"), Some(&3));
        let out = sb
            .sql("SELECT ts, msg, regexp_replace(source, '.*/', '') AS object, line FROM logs ORDER BY ts, line")
            .await;
        insta::allow_duplicates! { insta::assert_snapshot!(out, @"
        +----------------------+------+----------------+------+
        | ts                   | msg  | object         | line |
        +----------------------+------+----------------+------+
        | 2026-11-19T10:00:00Z | a    | 1-export.jsonl | 1    |
        | 2026-11-19T11:30:00Z | boom | 1-export.jsonl | 2    |
        | 2026-11-19T11:30:00Z | boom | 1-export.jsonl | 3    |
        | 2026-11-19T11:45:00Z | b    | 1-export.jsonl | 4    |
        | 2026-11-19T12:30:00Z | c    | 2-export.jsonl | 4    |
        +----------------------+------+----------------+------+
        "); }
        // Idempotent: nothing new on a second run.
        let again = retrace::ingest::ingest(&sb.warehouse(), &config.sources, &options).await.unwrap();
        assert_eq!((again.objects_unchanged, again.total_rows()), (2, 0));
        // Re-ingesting the first export (changed): it still holds the shared rows (the
        // second export's copies were dropped), so all its rows are written; the union
        // stays intact.
        sb.write("x/1-export.jsonl", [first.as_str(), &line("10:05:00", "d")].concat().as_bytes());
        let third = retrace::ingest::ingest(&sb.warehouse(), &config.sources, &options).await.unwrap();
        assert_eq!((third.objects_replaced, third.total_rows(), third.duplicates.get("logs")), (1, 5, None));
        assert!(sb.sql("SELECT count(*) AS n FROM logs").await.contains("| 6 "));
    }
}

/// A real kill: `retrace ingest` is SIGKILLed once some objects are committed. The
/// warehouse stays readable (every file in it is a complete Parquet file), and the next
/// run removes the uncommitted files and ingests exactly the objects not yet committed.
#[test]
fn an_ingest_killed_half_way_is_completed_by_the_next_run() {
    const OBJECTS: usize = 30;
    const LINES: usize = 20_000;
    let sb = Sandbox::new();
    for o in 0..OBJECTS {
        let mut text = String::with_capacity(LINES * 90);
        for i in 0..LINES {
            text.push_str(&format!(
                "{{\"ts\":\"2026-11-19T{:02}:{:02}:{:02}Z\",\"service\":\"s{o}\",\"msg\":\"line {i}\"}}\n",
                i / 3600 % 24,
                i / 60 % 60,
                i % 60
            ));
        }
        sb.write(&format!("logs/{o:02}.jsonl.gz"), text.as_bytes());
    }
    sb.config_file(&source("logs", "sources/logs/*.jsonl.gz"));
    let retrace = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_retrace"));
        cmd.current_dir(sb.path()).env_remove("RETRACE_CONFIG").env_remove("RETRACE_WAREHOUSE");
        cmd
    };
    let manifest = sb.warehouse_path().join("_manifest/objects");
    // Entries only: object_store's local put stages `<id>.json#<n>` beside them and renames
    // it, and a kill can leave that staging file behind (it is not a commit).
    let committed = || {
        std::fs::read_dir(&manifest)
            .map(|d| d.filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))).count())
            .unwrap_or(0)
    };

    let mut child = retrace().args(["-q", "ingest"]).stdout(std::process::Stdio::null()).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while committed() < 3 {
        assert!(std::time::Instant::now() < deadline, "no commits within 2 minutes");
        assert!(child.try_wait().unwrap().is_none(), "the ingest finished before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
    let done = committed();
    assert!(done < OBJECTS, "everything was committed before the kill");

    // Readable: every Parquet file present is complete (SQL over all of them works).
    let out = retrace().args(["sql", "--format", "csv", "SELECT count(*) AS n FROM logs"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = retrace().args(["ingest"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(&format!(
            "objects: {OBJECTS} seen, {} ingested (0 replaced), {done} unchanged, 0 failed",
            OBJECTS - done
        )),
        "{stdout}"
    );
    let out = retrace()
        .args(["sql", "--format", "csv", "SELECT count(*) AS n, count(DISTINCT source) AS objects FROM logs"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("n,objects\n{},{OBJECTS}\n", OBJECTS * LINES));
}

/// A reader during a replacing ingest: every query answers (a file it listed and found
/// deleted by the ingest's commit makes it run again, not fail with "not found").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_during_a_replacing_ingest_never_fail() {
    let sb = Sandbox::new();
    let write_all = |round: usize| {
        for o in 0..12 {
            let text: String = (0..2000)
                .map(|i| {
                    format!(
                        "{{\"ts\":\"2026-11-19T10:{:02}:{:02}Z\",\"host\":\"h{o}\",\"msg\":\"r{round} {i}\"}}\n",
                        i / 60 % 60,
                        i % 60
                    )
                })
                .collect();
            sb.write(&format!("x/o{o}.jsonl"), text.as_bytes());
        }
    };
    write_all(0);
    let config = sb.config(&source("logs", "sources/x/*.jsonl"));
    let options = retrace::ingest::IngestOptions { flush_rows: 200, ..Default::default() };
    retrace::ingest::ingest(&sb.warehouse(), &config.sources, &options).await.unwrap();
    let warehouse = sb.warehouse();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (warehouse, stop) = (warehouse.clone(), stop.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let ctx = retrace::catalog::open(&warehouse).await.unwrap();
                let params = retrace::analyze::params::Params::default();
                retrace::analyze::params::run(&ctx, "SELECT count(*), max(msg) FROM logs", params).await.unwrap();
                answered += 1;
            }
            answered
        })
    };
    for round in 1..=4 {
        // A new mtime: every object is replaced.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_all(round);
        let s = retrace::ingest::ingest(&warehouse, &config.sources, &options).await.unwrap();
        assert_eq!(s.objects_replaced, 12);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let answered = reader.await.expect("no query failed");
    assert!(answered > 0);
}
