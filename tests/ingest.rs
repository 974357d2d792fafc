use std::collections::BTreeMap;

use crate::common::{Sandbox, source};

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn basic_sandbox() -> (Sandbox, retrace::config::Config) {
    crate::common::basic_sandbox()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_lands_in_its_table() {
    let (sb, config) = basic_sandbox();
    let summary = sb.ingest(&config).await;
    assert_eq!(summary.rows, counts(&[("changes", 2), ("deploys", 2), ("logs", 6), ("metrics", 5)]));
    assert_eq!((summary.objects_seen, summary.objects_ingested, summary.objects_failed), (4, 4, 0));
    assert_eq!(summary.blank_lines, 1);
    assert!(summary.rejects.is_empty(), "{:?}", summary.rejects);

    insta::assert_snapshot!(
        "logs",
        sb.sql("SELECT date, ts, service, host, level, msg, status, latency_ms, trace_id, attributes, line FROM logs ORDER BY ts")
            .await
    );
    insta::assert_snapshot!("metrics", sb.sql("SELECT * FROM metrics ORDER BY ts, metric, labels['code']").await);
    insta::assert_snapshot!("changes", sb.sql("SELECT * FROM changes ORDER BY ts").await);
    insta::assert_snapshot!("deploys", sb.sql("SELECT * FROM deploys ORDER BY ts").await);
    insta::assert_snapshot!("deploy_spans", sb.sql("SELECT * FROM deploy_spans").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_partitioned_by_utc_day_sorted_and_zstd() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let files = sb.warehouse_files();
    let data: Vec<&str> =
        files.iter().filter(|f| !f.starts_with("_manifest")).map(|f| f.rsplit_once('/').unwrap().0).collect();
    assert_eq!(
        data,
        vec![
            "changes/date=2026-11-19",
            "deploys/date=2026-11-19",
            "logs/date=2026-11-19",
            "logs/date=2026-11-20",
            "metrics/date=2026-11-19"
        ]
    );
    assert_eq!(files.iter().filter(|f| f.starts_with("_manifest/objects/")).count(), 4);

    // The file for the 19th: ts ascending, zstd, sort order declared in the footer.
    let day = files.iter().find(|f| f.starts_with("logs/date=2026-11-19/")).unwrap();
    let file = std::fs::File::open(sb.warehouse_path().join(day)).unwrap();
    let reader = datafusion::parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
    use datafusion::parquet::file::reader::FileReader;
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 5);
    let rg = meta.row_group(0);
    assert_eq!(rg.column(0).compression(), datafusion::parquet::basic::Compression::ZSTD(Default::default()));
    let sorting = rg.sorting_columns().expect("sorting columns recorded");
    assert_eq!((sorting[0].column_idx, sorting[0].descending), (0, false));

    let ordered = sb.sql("SELECT line FROM logs WHERE date = '2026-11-19'").await;
    insta::assert_snapshot!(ordered, @r"
    +------+
    | line |
    +------+
    | 1    |
    | 2    |
    | 3    |
    | 5    |
    | 6    |
    +------+
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_default_service_fills_records_without_one() {
    let sb = Sandbox::new();
    sb.write(
        "a.jsonl",
        br#"{"ts":"2026-11-19T14:00:00Z","msg":"no service here"}
{"ts":"2026-11-19T14:00:01Z","msg":"mine","service":"explicit"}
"#,
    );
    let config = sb.config("[[sources]]\nkind = \"logs\"\nurl = \"sources/a.jsonl\"\nservice = \"fallback\"\n");
    sb.ingest(&config).await;
    insta::assert_snapshot!(sb.sql("SELECT service, msg FROM logs ORDER BY ts").await, @r"
    +----------+-----------------+
    | service  | msg             |
    +----------+-----------------+
    | fallback | no service here |
    | explicit | mine            |
    +----------+-----------------+
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_objects_flush_in_several_sorted_files() {
    let sb = Sandbox::new();
    // Lines out of order, more than one flush's worth.
    let mut text = String::new();
    for i in 0..2_500u64 {
        let s = (i * 7919) % 2_500;
        text.push_str(&format!("{{\"ts\":{},\"service\":\"s\",\"msg\":\"m{i}\"}}\n", 1_795_096_800 + s));
    }
    sb.write("big.jsonl.gz", text.as_bytes());
    let config = sb.config(&source("logs", "sources/big.jsonl.gz"));
    let options = retrace::ingest::IngestOptions { flush_rows: 1_000, ..Default::default() };
    let summary = retrace::ingest::ingest(&sb.warehouse(), &config.sources, &options).await.unwrap();
    assert_eq!(summary.total_rows(), 2_500);
    let files: Vec<String> = sb.warehouse_files().into_iter().filter(|f| f.starts_with("logs/")).collect();
    assert_eq!(files.len(), 3, "{files:?}");
    // Each file is sorted on its own.
    for f in files {
        let file = std::fs::File::open(sb.warehouse_path().join(&f)).unwrap();
        let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 8192).unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let ts =
                batch.column(0).as_any().downcast_ref::<datafusion::arrow::array::TimestampMicrosecondArray>().unwrap();
            assert!(ts.values().windows(2).all(|w| w[0] <= w[1]), "{f} is not sorted");
        }
    }
    insta::assert_snapshot!(sb.sql("SELECT count(*) AS n, count(DISTINCT msg) AS distinct_msgs, min(ts), max(ts) FROM logs").await, @r"
    +------+---------------+----------------------+----------------------+
    | n    | distinct_msgs | min(logs.ts)         | max(logs.ts)         |
    +------+---------------+----------------------+----------------------+
    | 2500 | 2500          | 2026-11-19T14:00:00Z | 2026-11-19T14:41:39Z |
    +------+---------------+----------------------+----------------------+
    ");
}
