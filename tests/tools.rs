//! Real tools' output, captured with provenance in `tests/fixtures/<tool>/SOURCE.md`:
//! nginx, rsyslog, Prometheus and promtool, OpenTelemetry, Kubernetes, LaunchDarkly.
//! Each test reads a file as the tool wrote it and asserts what lands and what is refused.

use std::collections::BTreeMap;

use crate::common::Sandbox;

fn config(sb: &Sandbox, kind: &str, url: &str, extra: &str) -> retrace::config::Config {
    sb.config(&format!("[[sources]]\nkind = \"{kind}\"\nurl = \"sources/{url}\"\n{extra}"))
}

/// Lines of a fixture that are samples (not blank, not `#` comments).
fn sample_lines(fixture: &str) -> u64 {
    let text = std::fs::read_to_string(crate::common::fixture_dir().join(fixture)).unwrap();
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count() as u64
}

fn rejects(summary: &retrace::ingest::IngestSummary) -> BTreeMap<String, u64> {
    summary.rejects.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

// ---- Prometheus ---------------------------------------------------------------------------

/// A plain scrape (`curl /metrics`) carries no timestamps: refused with a way forward, and
/// kept once `scrape_time` says when it was taken. `NaN` samples (empty summaries) are
/// refused either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_scrape_is_stamped_by_scrape_time() {
    let samples = sample_lines("prometheus/scrape.prom");
    let sb = Sandbox::new();
    let path = sb.copy_fixture("prometheus/scrape.prom", "scrape.prom");
    let refused = sb.ingest(&config(&sb, "metrics", "scrape.prom", "")).await;
    assert_eq!(
        (refused.total_rows(), rejects(&refused)),
        (0, BTreeMap::from([("invalid_exposition".into(), samples)]))
    );
    let detail = sb.sql("SELECT DISTINCT detail FROM rejects").await;
    assert!(detail.contains("scrape_time") && detail.contains("/federate"), "{detail}");

    let taken = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:16:31Z").unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(taken.into()).unwrap();
    let sb2 = Sandbox::new();
    sb2.copy_fixture("prometheus/scrape.prom", "scrape.prom");
    let stamped = sb.ingest(&config(&sb, "metrics", "scrape.prom", "scrape_time = \"object_modified\"")).await;
    assert_eq!(stamped.total_rows(), samples - 3, "all but the 3 NaN quantiles: {:?}", stamped.rejects);
    assert_eq!(rejects(&stamped), BTreeMap::from([("bad_value".into(), 3)]));
    insta::assert_snapshot!(sb.sql("SELECT DISTINCT ts, ts_raw, ts_flags FROM metrics").await, @r"
    +----------------------+--------+-------------+
    | ts                   | ts_raw | ts_flags    |
    +----------------------+--------+-------------+
    | 2026-12-01T10:16:31Z |        | scrape_time |
    +----------------------+--------+-------------+
    ");
    // A histogram's buckets keep `le`, so histogram_quantile can use them.
    let buckets = sb
        .sql("SELECT count(*) AS n FROM metrics WHERE metric = 'prometheus_http_request_duration_seconds_bucket' AND labels['le'] = '+Inf'")
        .await;
    assert!(!buckets.contains("| 0 "), "{buckets}");

    let at = sb2.ingest(&config(&sb2, "metrics", "scrape.prom", "scrape_time = \"2026-12-01T11:16:31+01:00\"")).await;
    assert_eq!(at.total_rows(), samples - 3);
    assert!(sb2.sql("SELECT DISTINCT ts FROM metrics").await.contains("2026-12-01T10:16:31Z"));
}

/// `promtool tsdb dump` names the metric as a `__name__` label; `/federate` writes
/// `untyped` families with a timestamp per sample.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_dump_and_federate_parse_as_written() {
    let sb = Sandbox::new();
    sb.copy_fixture("prometheus/tsdb_dump.txt", "dump.prom");
    sb.copy_fixture("prometheus/federate.prom", "federate.prom");
    let summary = sb.ingest(&config(&sb, "metrics", "*.prom", "")).await;
    // One summary quantile with no observations, dumped as NaN.
    let dump = std::fs::read_to_string(crate::common::fixture_dir().join("prometheus/tsdb_dump.txt")).unwrap();
    let nan = dump.lines().filter(|l| l.contains("} NaN ")).count() as u64;
    assert!(nan > 0);
    assert_eq!(summary.total_rows(), 100 - nan + sample_lines("prometheus/federate.prom"));
    assert_eq!(rejects(&summary), BTreeMap::from([("bad_value".into(), nan)]));
    insta::assert_snapshot!(sb.sql(
        "SELECT metric, labels['job'] AS job, count(*) AS n, min(ts) AS first FROM metrics GROUP BY 1, 2 ORDER BY 1 LIMIT 4"
    ).await, @r"
    +------------------------------------------+------------+----+--------------------------+
    | metric                                   | job        | n  | first                    |
    +------------------------------------------+------------+----+--------------------------+
    | go_gc_duration_seconds                   | prometheus | 12 | 2026-12-01T10:12:15.271Z |
    | go_goroutines                            | prometheus | 13 | 2026-12-01T10:12:15.271Z |
    | process_resident_memory_bytes            | prometheus | 12 | 2026-12-01T10:12:15.271Z |
    | prometheus_engine_query_duration_seconds | prometheus | 1  | 2026-12-01T10:12:30.271Z |
    +------------------------------------------+------------+----+--------------------------+
    ");
}

/// `query_range` as Prometheus answers it: named series, aggregations without `__name__`
/// (named by `metric`), error responses, scalar and string results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_range_responses_as_prometheus_writes_them() {
    let sb = Sandbox::new();
    sb.copy_fixture("prometheus/query_range_aggregated.json", "agg/sum_by_code.json");
    let refused = sb.ingest(&config(&sb, "metrics", "agg/*.json", "format = \"prometheus_json\"")).await;
    assert_eq!(refused.total_rows(), 0);
    let detail = sb.sql("SELECT DISTINCT detail FROM rejects").await;
    assert!(detail.contains("set `metric` on the source"), "{detail}");

    let sb = Sandbox::new();
    sb.copy_fixture("prometheus/query_range_aggregated.json", "agg/sum_by_code.json");
    let named = sb
        .ingest(&config(
            &sb,
            "metrics",
            "agg/*.json",
            "format = \"prometheus_json\"\nmetric = \"http_requests:rate1m\"",
        ))
        .await;
    assert!(named.rejects.is_empty(), "{:?}", named.rejects);
    insta::assert_snapshot!(sb.sql(
        "SELECT metric, labels['code'] AS code, count(*) AS samples FROM metrics GROUP BY 1, 2 ORDER BY 2"
    ).await, @r"
        +----------------------+------+---------+
        | metric               | code | samples |
        +----------------------+------+---------+
        | http_requests:rate1m | 200  | 11      |
        | http_requests:rate1m | 400  | 11      |
        +----------------------+------+---------+
        ");

    // An error response fails its object, saying what Prometheus said.
    let sb = Sandbox::new();
    sb.copy_fixture("prometheus/query_error.json", "q/error.json");
    sb.copy_fixture("prometheus/query_error_execution.json", "q/execution.json");
    sb.copy_fixture("prometheus/query_range_named.json", "q/named.json");
    let summary = sb.ingest(&config(&sb, "metrics", "q/*.json", "format = \"prometheus_json\"")).await;
    assert_eq!(summary.objects_failed, 2, "{:?}", summary.failures);
    let failures: Vec<&str> = summary.failures.iter().map(|(_, m)| m.as_str()).collect();
    assert!(
        failures.iter().any(|m| m.contains("error response (bad_data)") && m.contains("parse error")),
        "{failures:?}"
    );
    assert!(failures.iter().any(|m| m.contains("error response (execution)")), "{failures:?}");
    assert!(summary.total_rows() > 0 && summary.rejects.is_empty());

    // A scalar is one sample once named; a string result holds none.
    let sb = Sandbox::new();
    sb.copy_fixture("prometheus/query_scalar.json", "s/scalar.json");
    sb.copy_fixture("prometheus/query_string.json", "s/string.json");
    let summary =
        sb.ingest(&config(&sb, "metrics", "s/*.json", "format = \"prometheus_json\"\nmetric = \"up_scalar\"")).await;
    assert_eq!(summary.total_rows(), 1);
    assert!(sb.sql("SELECT detail FROM rejects").await.contains("a string result (`hello`) holds no samples"));
    insta::assert_snapshot!(sb.sql("SELECT ts, metric, value FROM metrics").await, @r"
    +----------------------+-----------+-------+
    | ts                   | metric    | value |
    +----------------------+-----------+-------+
    | 2026-12-01T10:16:31Z | up_scalar | 1.0   |
    +----------------------+-----------+-------+
    ");
    let sb = Sandbox::new();
    sb.copy_fixture("prometheus/query_scalar.json", "s/scalar.json");
    sb.ingest(&config(&sb, "metrics", "s/*.json", "format = \"prometheus_json\"")).await;
    assert!(sb.sql("SELECT detail FROM rejects").await.contains("a scalar result names no metric"));
}
