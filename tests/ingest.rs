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
    assert_eq!(
        summary.rows,
        counts(&[("changes", 2), ("deploys", 2), ("incident_events", 5), ("logs", 6), ("metrics", 5)])
    );
    assert_eq!((summary.objects_seen, summary.objects_ingested, summary.objects_failed), (5, 5, 0));
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
    insta::assert_snapshot!(
        "incident_events",
        sb.sql("SELECT ts, kind, service, actor, title, text, ref, severity, attributes, line FROM incident_events ORDER BY ts").await
    );
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
            "incident_events/date=2026-11-19",
            "logs/date=2026-11-19",
            "logs/date=2026-11-20",
            "metrics/date=2026-11-19"
        ]
    );
    assert_eq!(files.iter().filter(|f| f.starts_with("_manifest/objects/")).count(), 5);

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

/// Two nginx servers behind a load balancer write the same line in the same second: the
/// path says which host each came from, so both are kept, each with its host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_placeholders_and_constants_say_where_records_came_from() {
    let sb = Sandbox::new();
    let line = b"10.0.0.7 - - [19/Nov/2026:14:02:00 +0000] \"GET /pay HTTP/1.1\" 503 31 \"-\" \"curl/8.5\" 0.412\n";
    sb.write("logs/checkout/web-1/access.log", line);
    sb.write("logs/checkout/web-2/access.log", line);
    sb.write("logs/search/web-3/access.log", line);
    sb.write(
        "legacy/app.log",
        b"2026-11-19 14:09:12,117 ERROR [pool-3] com.acme.pay.Pool - timeout acquiring connection\n",
    );
    sb.write(
        "metrics/eu/node-1.jsonl",
        br#"{"ts":"2026-11-19T14:00:00Z","metric":"up","value":1}
{"ts":"2026-11-19T14:00:00Z","metric":"up","value":0,"labels":{"region":"us"}}
"#,
    );
    let config = sb.config(
        r#"
[[sources]]
kind = "logs"
url = "sources/logs/{service}/{host}/*.log"
format = "pattern:nginx"
fields = { env = "prod" }

[[sources]]
kind = "logs"
url = "sources/legacy/*.log"
format = "pattern:log4j"
host = "batch-1"
service = "payments"

[[sources]]
kind = "metrics"
url = "sources/metrics/{region}/{host}.jsonl"
service = "edge"
"#,
    );
    let summary = sb.ingest(&config).await;
    assert_eq!(summary.rows, counts(&[("logs", 4), ("metrics", 2)]));
    assert_eq!(summary.objects_failed, 0, "{:?}", summary.failures);
    insta::assert_snapshot!(
        sb.sql("SELECT service, host, status, attributes['env'] AS env FROM logs ORDER BY host").await,
        @r"
    +----------+---------+--------+------+
    | service  | host    | status | env  |
    +----------+---------+--------+------+
    | payments | batch-1 |        |      |
    | checkout | web-1   | 503    | prod |
    | checkout | web-2   | 503    | prod |
    | search   | web-3   | 503    | prod |
    +----------+---------+--------+------+
    "
    );
    // The record's own region wins over the path's; the path fills what it leaves out.
    insta::assert_snapshot!(
        sb.sql("SELECT service, value, labels['region'] AS region, labels['host'] AS host FROM metrics ORDER BY value").await,
        @r"
    +---------+-------+--------+--------+
    | service | value | region | host   |
    +---------+-------+--------+--------+
    | edge    | 0.0   | us     | node-1 |
    | edge    | 1.0   | eu     | node-1 |
    +---------+-------+--------+--------+
    "
    );
}

#[test]
fn a_field_set_twice_or_a_timestamp_from_the_path_is_refused() {
    let sb = Sandbox::new();
    let parse = |toml: &str| retrace::config::Config::parse(toml, sb.path()).map(|_| ()).unwrap_err();
    let twice = parse("[[sources]]\nkind = \"logs\"\nurl = \"logs/{host}/*.log\"\nhost = \"web-1\"\n");
    assert!(twice.contains("`host` is both a constant and a `{host}` placeholder"), "{twice}");
    let ts = parse("[[sources]]\nkind = \"logs\"\nurl = \"logs/{ts}/*.log\"\n");
    assert!(ts.contains("`{ts}`"), "{ts}");
    let inner = parse("[[sources]]\nkind = \"logs\"\nurl = \"logs/*.log\"\nfields = { host = \"x\" }\n");
    assert!(inner.contains("host = "), "{inner}");
}
