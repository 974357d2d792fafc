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
    let bytes = std::fs::read(crate::common::fixture_dir().join(fixture)).unwrap();
    String::from_utf8_lossy(&bytes).lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count() as u64
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

// ---- text logs ----------------------------------------------------------------------------

/// Two nginx servers (one folder each) and their shared error log, as nginx 1.22 wrote
/// them: every line lands, the path names the host, and the error log's raw client bytes
/// (not UTF-8) are kept lossily and flagged rather than rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_access_and_error_logs_as_nginx_writes_them() {
    let sb = Sandbox::new();
    for host in ["web-1", "web-2"] {
        sb.copy_fixture(&format!("nginx/{host}/access.log"), &format!("nginx/{host}/access.log"));
    }
    sb.copy_fixture("nginx/error.log", "nginx-error/error.log");
    let config = sb.config(
        r#"
[[sources]]
kind = "logs"
url = "sources/nginx/{host}/access.log"
format = "pattern:nginx"
service = "shop"

[[sources]]
kind = "logs"
url = "sources/nginx-error/*.log"
format = "pattern:nginx_error"
service = "shop"
host = "lb-1"
"#,
    );
    let summary = sb.ingest(&config).await;
    assert!(summary.rejects.is_empty(), "{:?}", summary.rejects);
    let access = sample_lines("nginx/web-1/access.log") + sample_lines("nginx/web-2/access.log");
    assert_eq!(summary.total_rows(), access + sample_lines("nginx/error.log"));
    insta::assert_snapshot!(sb.sql(
        "SELECT host, level, count(*) AS n FROM logs GROUP BY 1, 2 ORDER BY 1, 2"
    ).await, @r"
    +-------+-------+----+
    | host  | level | n  |
    +-------+-------+----+
    | lb-1  | error | 18 |
    | lb-1  | info  | 16 |
    | web-1 | error | 4  |
    | web-1 | info  | 12 |
    | web-1 | warn  | 7  |
    | web-2 | error | 4  |
    | web-2 | info  | 8  |
    | web-2 | warn  | 8  |
    +-------+-------+----+
    ");
    // Raw bytes: five error-log lines hold client bytes that are not UTF-8.
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, msg, attributes['request'] AS request, attributes['invalid_utf8'] AS bad FROM logs \
         WHERE attributes['invalid_utf8'] IS NOT NULL ORDER BY line"
    ).await, @r#"
    +----------------------+-------------------------------------------------------------------------+--------------------------+----------+
    | ts                   | msg                                                                     | request                  | bad      |
    +----------------------+-------------------------------------------------------------------------+--------------------------+----------+
    | 2026-12-01T10:12:45Z | open() "/tmp/ngx/html1/caf��" failed (2: No such file or directory)     | GET /caf�� HTTP/1.1      | replaced |
    | 2026-12-01T10:12:45Z | client sent invalid request while reading client request line           | GET /na�ve.txt HTTP/1.1 | replaced |
    | 2026-12-01T10:12:45Z | connect() failed (111: Connection refused) while connecting to upstream | GET /api/caf� HTTP/1.1   | replaced |
    | 2026-12-01T10:13:03Z | open() "/tmp/ngx/html1/�t�" failed (2: No such file or directory)       | GET /%E9t%E9 HTTP/1.1    | replaced |
    | 2026-12-01T10:13:05Z | open() "/tmp/ngx/html2/��.txt" failed (2: No such file or directory)    | GET /%FF%FE.txt HTTP/1.1 | replaced |
    +----------------------+-------------------------------------------------------------------------+--------------------------+----------+
    "#);
    insta::assert_snapshot!(sb.sql(
        "SELECT msg, attributes['client'] AS client, attributes['server'] AS server, attributes['upstream'] AS upstream \
         FROM logs WHERE msg LIKE 'connect()%' ORDER BY line LIMIT 2"
    ).await, @r"
    +-------------------------------------------------------------------------+-----------+--------+-----------------------------------------+
    | msg                                                                     | client    | server | upstream                                |
    +-------------------------------------------------------------------------+-----------+--------+-----------------------------------------+
    | connect() failed (111: Connection refused) while connecting to upstream | 127.0.0.1 | web-1  | http://127.0.0.1:18099/api/orders       |
    | connect() failed (111: Connection refused) while connecting to upstream | 127.0.0.1 | web-1  | http://127.0.0.1:18099/api/orders?id=42 |
    +-------------------------------------------------------------------------+-----------+--------+-----------------------------------------+
    ");
}

/// Debian 12's rsyslog writes RSYSLOG_FileFormat by default: RFC 3339 time with
/// microseconds, host, tag[pid]. All 31 lines land; a raw Latin-1 byte is flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_default_file_format_as_debian_writes_it() {
    let sb = Sandbox::new();
    sb.copy_fixture("rsyslog/syslog", "var/log/syslog");
    let summary = sb.ingest(&config(&sb, "logs", "var/log/syslog", "format = \"pattern:rsyslog\"")).await;
    assert!(summary.rejects.is_empty(), "{:?}", summary.rejects);
    assert_eq!(summary.total_rows(), sample_lines("rsyslog/syslog"));
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, host, service, attributes['pid'] AS pid, msg, attributes['invalid_utf8'] AS bad FROM logs ORDER BY ts LIMIT 3"
    ).await, @r"
    +-----------------------------+------+---------+------+------------------------------------------------------------------+-----+
    | ts                          | host | service | pid  | msg                                                              | bad |
    +-----------------------------+------+---------+------+------------------------------------------------------------------+-----+
    | 2026-12-01T10:14:43.192050Z | vm   | CRON    | 9229 | (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1) |     |
    | 2026-12-01T10:14:43.399992Z | vm   | systemd |      | Started Daily apt download activities.                           |     |
    | 2026-12-01T10:14:43.612185Z | vm   | systemd |      | Starting Rotate log files...                                     |     |
    +-----------------------------+------+---------+------+------------------------------------------------------------------+-----+
    ");
    insta::assert_snapshot!(sb.sql(
        "SELECT service, msg, attributes['invalid_utf8'] AS bad FROM logs \
         WHERE service IS NULL OR service IN ('latin1', 'multiline') ORDER BY ts"
    ).await, @r#"
    +-----------+------------------------------------------------------------------------------------------------------------------------------------+----------+
    | service   | msg                                                                                                                                | bad      |
    +-----------+------------------------------------------------------------------------------------------------------------------------------------+----------+
    |           | my app[9278]: tag with a space in it                                                                                               |          |
    | latin1    | caf� raw latin-1 byte                                                                                                              | replaced |
    | multiline | first line#012second line#011after tab                                                                                             |          |
    |           | 1 2026-12-01T10:14:49.152110+00:00 vm rfc5424app 9354 - [timeQuality tzKnown="1" isSynced="0"] sent with logger --rfc5424          |          |
    |           | 1 2026-12-01T10:14:49.363991+00:00 vm sdapp - - [timeQuality tzKnown="1" isSynced="0"][meta@32473 env="prod"] with structured data |          |
    +-----------+------------------------------------------------------------------------------------------------------------------------------------+----------+
    "#);
}

// ---- OpenTelemetry ------------------------------------------------------------------------

/// opentelemetry-proto's `examples/metrics.json` (sum, gauge, histogram, exponential
/// histogram) and collector-contrib's CloudWatch summaries land in `metrics`; read as
/// logs, a metrics export says so instead of giving 0 rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_metrics_land_as_prometheus_would_store_them() {
    let sb = Sandbox::new();
    sb.copy_fixture("otlp/proto-examples-metrics.json", "otlp/metrics.json");
    sb.copy_fixture("otlp/contrib-cloudwatch-summary-multiple_resources_expected.json", "otlp/summaries.json");
    let summary = sb.ingest(&config(&sb, "metrics", "otlp/*.json", "format = \"otlp_json\"")).await;
    assert!(summary.rejects.is_empty() && summary.failures.is_empty(), "{:?} {:?}", summary.rejects, summary.failures);
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, service, metric, value, labels['le'] AS le, labels['quantile'] AS q, labels['temporality'] AS t \
         FROM metrics WHERE source LIKE '%/metrics.json' ORDER BY metric, value"
    ).await, @r"
    +--------------------------+------------+---------------------------------+-------+------+---+-------+
    | ts                       | service    | metric                          | value | le   | q | t     |
    +--------------------------+------------+---------------------------------+-------+------+---+-------+
    | 2018-12-13T14:51:00.300Z | my.service | my.counter                      | 5.0   |      |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.exponential.histogram_bucket | 1.0   | 0    |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.exponential.histogram_bucket | 1.0   | 4    |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.exponential.histogram_bucket | 3.0   | 8    |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.exponential.histogram_bucket | 3.0   | +Inf |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.exponential.histogram_count  | 3.0   |      |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.exponential.histogram_sum    | 10.0  |      |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.gauge                        | 10.0  |      |   |       |
    | 2018-12-13T14:51:00.300Z | my.service | my.histogram_bucket             | 1.0   | 1    |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.histogram_bucket             | 2.0   | +Inf |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.histogram_count              | 2.0   |      |   | delta |
    | 2018-12-13T14:51:00.300Z | my.service | my.histogram_sum                | 2.0   |      |   | delta |
    +--------------------------+------------+---------------------------------+-------+------+---+-------+
    ");
    insta::assert_snapshot!(sb.sql(
        "SELECT service, metric, count(*) AS samples, sum(value) AS total FROM metrics \
         WHERE source LIKE '%/summaries.json' GROUP BY 1, 2 ORDER BY 1, 2"
    ).await, @r"
    +---------+--------------------+---------+----------+
    | service | metric             | samples | total    |
    +---------+--------------------+---------+----------+
    | EC2     | DiskWriteOps       | 8       | 106.8728 |
    | EC2     | DiskWriteOps_count | 2       | 6.0      |
    | EC2     | DiskWriteOps_sum   | 2       | 40.0     |
    +---------+--------------------+---------+----------+
    ");

    let sb = Sandbox::new();
    sb.copy_fixture("otlp/proto-examples-metrics.json", "otlp/metrics.json");
    let summary = sb.ingest(&config(&sb, "logs", "otlp/*.json", "format = \"otlp_json\"")).await;
    assert_eq!(summary.objects_failed, 1);
    assert!(summary.failures[0].1.contains("kind = \"metrics\""), "{:?}", summary.failures);
}

/// OTLP logs: a record attribute that does not fit its column (a `status` of "OK") stays
/// in `attributes`; the record is kept. The proto example's every AnyValue kind lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_log_attributes_that_do_not_fit_a_column_stay_attributes() {
    let sb = Sandbox::new();
    sb.copy_fixture("otlp/proto-examples-logs.json", "otlp/example.json");
    sb.write(
        "otlp/status.json",
        br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
"scopeLogs":[{"logRecords":[
 {"timeUnixNano":"1795096920000000000","severityText":"ERROR","body":{"stringValue":"grpc call failed"},
  "attributes":[{"key":"http.response.status_code","value":{"stringValue":"OK"}},{"key":"duration_ms","value":{"stringValue":"slow"}}]},
 {"timeUnixNano":"1795096921000000000","severityText":"INFO","body":{"stringValue":"served"},
  "attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}]}]}]}]}
"#,
    );
    let summary = sb.ingest(&config(&sb, "logs", "otlp/*.json", "format = \"otlp_json\"")).await;
    assert!(summary.rejects.is_empty(), "{:?}", summary.rejects);
    assert_eq!(summary.total_rows(), 3);
    insta::assert_snapshot!(sb.sql(
        "SELECT service, level, msg, status, latency_ms, attributes FROM logs ORDER BY ts"
    ).await, @r#"
    +------------+-------+--------------------+--------+------------+------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------+
    | service    | level | msg                | status | latency_ms | attributes                                                                                                                                                                                                                                                                                                                   |
    +------------+-------+--------------------+--------+------------+------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------+
    | my.service | info  | Example log record |        |            | {array.attribute: {"values":[{"stringValue":"many"},{"stringValue":"values"}]}, boolean.attribute: true, double.attribute: 637.704, int.attribute: 10, map.attribute: {"values":[{"key":"some.map.key","value":{"stringValue":"some value"}}]}, scope: my.library, span_id: EEE19B7EC3C1B174, string.attribute: some string} |
    | checkout   | error | grpc call failed   |        |            | {duration_ms: slow, http.response.status_code: OK}                                                                                                                                                                                                                                                                           |
    | checkout   | info  | served             | 200    |            |                                                                                                                                                                                                                                                                                                                              |
    +------------+-------+--------------------+--------+------------+------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------+
    "#);
}

// ---- exporters ----------------------------------------------------------------------------

/// Kubernetes events keep first/last time and count, start when they first happened, and
/// name the workload that owns their object. kspan's recording of a real rollout (YAML
/// documents, turned into the `kubectl get -o json` List they came from) and kne's events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_events_keep_repeats_and_name_their_workload() {
    use serde::Deserialize;
    let yaml = std::fs::read_to_string(crate::common::fixture_dir().join("k8s/kspan-deployment-2-pods.yaml")).unwrap();
    let items: Vec<serde_json::Value> =
        serde_yaml_ng::Deserializer::from_str(&yaml).map(|d| serde_json::Value::deserialize(d).unwrap()).collect();
    let events = items.iter().filter(|i| i["kind"] == "Event").count() as u64;
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let sb = Sandbox::new();
    sb.write("k8s/rollout.json", list.to_string().as_bytes());
    for f in ["kne-normal1eventdata.json", "kne-warning1eventdata.json", "kne-warning2eventdata.json"] {
        sb.copy_fixture(&format!("k8s/{f}"), &format!("k8s/{f}"));
    }
    let summary = sb.ingest(&config(&sb, "changes", "k8s/*.json", "format = \"k8s_events\"")).await;
    assert_eq!(summary.total_rows(), events + 3);
    // The Deployment, ReplicaSets and Pods of the recording are objects, not events: said.
    assert_eq!(rejects(&summary), BTreeMap::from([("unsupported_record".into(), items.len() as u64 - events)]));
    insta::assert_snapshot!(sb.sql(
        "SELECT service, key, attributes['reason'] AS reason, count(*) AS n FROM changes \
         WHERE source LIKE '%rollout.json' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ).await, @r"
    +---------+--------------------------+-------------------+---+
    | service | key                      | reason            | n |
    +---------+--------------------------+-------------------+---+
    | px      | Deployment/px            | ScalingReplicaSet | 4 |
    | px      | Pod/px-5d567cc74c-pmvzr  | Created           | 1 |
    | px      | Pod/px-5d567cc74c-pmvzr  | Pulled            | 1 |
    | px      | Pod/px-5d567cc74c-pmvzr  | Scheduled         | 1 |
    | px      | Pod/px-5d567cc74c-pmvzr  | Started           | 1 |
    | px      | Pod/px-5d567cc74c-ss4lb  | Created           | 1 |
    | px      | Pod/px-5d567cc74c-ss4lb  | Pulled            | 1 |
    | px      | Pod/px-5d567cc74c-ss4lb  | Pulling           | 1 |
    | px      | Pod/px-5d567cc74c-ss4lb  | Scheduled         | 1 |
    | px      | Pod/px-5d567cc74c-ss4lb  | Started           | 1 |
    | px      | Pod/px-7df978b9bf-bfdrj  | Killing           | 1 |
    | px      | Pod/px-7df978b9bf-jm22q  | Killing           | 1 |
    | px      | ReplicaSet/px-5d567cc74c | SuccessfulCreate  | 2 |
    | px      | ReplicaSet/px-7df978b9bf | SuccessfulDelete  | 2 |
    +---------+--------------------------+-------------------+---+
    ");
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, service, key, attributes['count'] AS count, attributes['firstTimestamp'] AS first, \
         attributes['lastTimestamp'] AS last FROM changes WHERE source LIKE '%kne-%' ORDER BY ts"
    ).await, @r"
    +----------------------+------------+--------------------+-------+----------------------+----------------------+
    | ts                   | service    | key                | count | first                | last                 |
    +----------------------+------------+--------------------+-------+----------------------+----------------------+
    | 2023-07-18T14:24:14Z | service-r2 | Service/service-r2 | 1     | 2023-07-18T14:24:14Z | 2023-07-18T14:24:14Z |
    | 2023-07-19T16:29:43Z | r1         | Pod/r1             | 3     | 2023-07-19T16:29:43Z | 2023-07-19T16:39:50Z |
    | 2023-07-19T16:56:23Z | r1         | Pod/r1             | 1     | 2023-07-19T16:56:23Z | 2023-07-19T16:56:23Z |
    +----------------------+------------+--------------------+-------+----------------------+----------------------+
    ");
}

/// A LaunchDarkly entry that touches several environments keeps all of them, and the
/// fields without a column (`currentVersion`, `_accountId`) stay as attributes. Written
/// from LaunchDarkly's documented AuditLogEntryListingRep shape (see the fixture's SOURCE.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launchdarkly_entries_keep_every_environment_and_field() {
    let sb = Sandbox::new();
    sb.copy_fixture("launchdarkly/openapi-webhook-sample-payload.json", "ld/sample.json");
    sb.write(
        "ld/multi.json",
        br#"{"items":[{"_id":"61e9b0","_accountId":"5f2a","date":1795096920000,"kind":"flag","name":"New checkout",
"titleVerb":"created the flag","title":"Ann created the flag New checkout","member":{"email":"ann@acme.io","_id":"m1"},
"accesses":[{"action":"createFlag","resource":"proj/default:env/test:flag/new-checkout"},
            {"action":"createFlag","resource":"proj/default:env/production:flag/new-checkout"}],
"target":{"resources":["proj/default:env/test:flag/new-checkout","proj/default:env/production:flag/new-checkout"]},
"currentVersion":{"key":"new-checkout","on":false}}]}"#,
    );
    let summary = sb.ingest(&config(&sb, "changes", "ld/*.json", "format = \"launchdarkly_audit\"")).await;
    assert!(summary.rejects.is_empty(), "{:?}", summary.rejects);
    insta::assert_snapshot!(sb.sql(
        "SELECT change_id, key, scope, actor, attributes['environments'] AS envs, attributes['_accountId'] AS account, \
         attributes['currentVersion.on'] AS on FROM changes ORDER BY ts"
    ).await, @r"
    +--------------------------+--------------+-----------------+----------------+-----------------+---------+-------+
    | change_id                | key          | scope           | actor          | envs            | account | on    |
    +--------------------------+--------------+-----------------+----------------+-----------------+---------+-------+
    | 57c0a8e29969090743529965 | Testing      | test            | ariel@acme.com |                 |         |       |
    | 61e9b0                   | new-checkout | test,production | ann@acme.io    | test,production | 5f2a    | false |
    +--------------------------+--------------+-----------------+----------------+-----------------+---------+-------+
    ");
}

// ---- format = "auto" ------------------------------------------------------------------------

/// With no `format`, every real tool's output above is recognised from its first
/// kilobytes, reads the same rows as with its format named, and the summary says what
/// was chosen; prose that no format reads fails naming the closest candidates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formats_are_worked_out_from_the_content() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("logs", "nginx/web-1/access.log", "pattern:nginx", ""),
        ("logs", "nginx/error.log", "pattern:nginx_error", ""),
        ("logs", "rsyslog/syslog", "pattern:rsyslog", ""),
        ("logs", "otlp/proto-examples-logs.json", "otlp_json", ""),
        ("metrics", "otlp/proto-examples-metrics.json", "otlp_json", ""),
        ("metrics", "prometheus/federate.prom", "prometheus_text", ""),
        ("metrics", "prometheus/tsdb_dump.txt", "prometheus_text", ""),
        ("metrics", "prometheus/scrape.prom", "prometheus_text", "scrape_time = \"object_modified\""),
        ("metrics", "prometheus/query_range_named.json", "prometheus_json", ""),
        ("changes", "k8s/kne-warning1eventdata.json", "k8s_events", ""),
        ("changes", "launchdarkly/openapi-webhook-sample-payload.json", "launchdarkly_audit", ""),
    ];
    for (kind, fixture, expected, extra) in cases {
        let file = fixture.rsplit('/').next().unwrap();
        let auto = Sandbox::new();
        auto.copy_fixture(fixture, &format!("in/{file}"));
        let config = auto.sb_config(kind, file, extra);
        let summary = auto.ingest(&config).await;
        assert_eq!(summary.failures, vec![], "{fixture}");
        let source = &config.sources[0].name;
        assert_eq!(summary.detected[source], BTreeMap::from([(expected.to_string(), 1)]), "{fixture}");

        let named = Sandbox::new();
        named.copy_fixture(fixture, &format!("in/{file}"));
        let explicit = named.sb_config(kind, file, &format!("{extra}\nformat = \"{expected}\""));
        let with_format = named.ingest(&explicit).await;
        assert_eq!(
            (summary.rows.clone(), summary.rejects.clone()),
            (with_format.rows, with_format.rejects),
            "{fixture}"
        );
        assert!(summary.total_rows() > 0, "{fixture}");
    }

    // Printed per source.
    let sb = Sandbox::new();
    sb.copy_fixture("nginx/web-1/access.log", "in/access.log");
    sb.config_file("[[sources]]\nkind = \"logs\"\nurl = \"sources/in/access.log\"\n");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_retrace"))
        .current_dir(sb.path())
        .env_remove("RETRACE_CONFIG")
        .env_remove("RETRACE_WAREHOUSE")
        .arg("ingest")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("format: logs-1 read as pattern:nginx (1 object)"), "{out}");

    // Prose: no format reads it; the error says which came closest.
    let sb = Sandbox::new();
    sb.write("in/notes.txt", b"Dear team,\nthe release went fine, a=1 b=2 mostly.\nRegards\n");
    let summary = sb.ingest(&sb.sb_config("logs", "notes.txt", "")).await;
    assert_eq!(summary.objects_failed, 1);
    let message = &summary.failures[0].1;
    assert!(
        message.contains("cannot tell its format") && message.contains("set `format` on source `logs-1`"),
        "{message}"
    );
}

trait AutoConfig {
    fn sb_config(&self, kind: &str, file: &str, extra: &str) -> retrace::config::Config;
}

impl AutoConfig for Sandbox {
    fn sb_config(&self, kind: &str, file: &str, extra: &str) -> retrace::config::Config {
        self.config(&format!("[[sources]]\nkind = \"{kind}\"\nurl = \"sources/in/{file}\"\n{extra}\n"))
    }
}
