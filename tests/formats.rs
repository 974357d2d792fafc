//! Every input format end to end: text patterns, logfmt, user regexes, Prometheus, the
//! exporter shapes, time-zone abbreviations, year-less times and clock-skew corrections.

use crate::common::Sandbox;

fn config(sb: &Sandbox, kind: &str, url: &str, extra: &str) -> retrace::config::Config {
    sb.config(&format!("[[sources]]\nkind = \"{kind}\"\nurl = \"sources/{url}\"\n{extra}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logfmt_lines() {
    let sb = Sandbox::new();
    sb.write(
        "app.logfmt",
        br#"ts=2026-11-19T14:02:00.5Z level=warning service=payments msg="pool \"main\" low" pool=main
time="2026-11-19 09:03:00 EST" lvl=err app=payments msg=timeout status=503 duration_ms=1200.5
garbage "unterminated
"#,
    );
    let summary = sb.ingest(&config(&sb, "logs", "app.logfmt", "")).await;
    assert_eq!((summary.total_rows(), summary.rejects.get("invalid_logfmt")), (2, Some(&1)));
    insta::assert_snapshot!(sb.sql("SELECT ts, service, level, msg, status, latency_ms, attributes, ts_raw FROM logs ORDER BY ts").await, @r#"
    +--------------------------+----------+-------+-----------------+--------+------------+--------------+-------------------------+
    | ts                       | service  | level | msg             | status | latency_ms | attributes   | ts_raw                  |
    +--------------------------+----------+-------+-----------------+--------+------------+--------------+-------------------------+
    | 2026-11-19T14:02:00.500Z | payments | warn  | pool "main" low |        |            | {pool: main} | 2026-11-19T14:02:00.5Z  |
    | 2026-11-19T14:03:00Z     | payments | error | timeout         | 503    | 1200.5     |              | 2026-11-19 09:03:00 EST |
    +--------------------------+----------+-------+-----------------+--------+------------+--------------+-------------------------+
    "#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_access_log_with_request_time() {
    let sb = Sandbox::new();
    sb.write(
        "access.log.gz",
        br#"10.0.0.7 - - [19/Nov/2026:15:02:00 +0100] "GET /pay HTTP/1.1" 200 512 "-" "curl/8.5" 0.012
10.0.0.8 - alice [19/Nov/2026:14:02:01 +0000] "POST /pay HTTP/1.1" 503 31 "https://shop/" "Mozilla/5.0" 2.500
not an access log line
"#,
    );
    let extra = "format = \"pattern:nginx\"\nservice = \"edge\"\n";
    let summary = sb.ingest(&config(&sb, "logs", "access.log.gz", extra)).await;
    assert_eq!((summary.total_rows(), summary.rejects.get("no_match")), (2, Some(&1)));
    let out = sb
        .sql("SELECT ts, service, level, msg, status, latency_ms, attributes['client'] AS client, attributes['user'] AS user FROM logs ORDER BY ts")
        .await;
    insta::assert_snapshot!(out, @r"
    +----------------------+---------+-------+--------------------+--------+------------+----------+-------+
    | ts                   | service | level | msg                | status | latency_ms | client   | user  |
    +----------------------+---------+-------+--------------------+--------+------------+----------+-------+
    | 2026-11-19T14:02:00Z | edge    | info  | GET /pay HTTP/1.1  | 200    | 12.0       | 10.0.0.7 | -     |
    | 2026-11-19T14:02:01Z | edge    | error | POST /pay HTTP/1.1 | 503    | 2500.0     | 10.0.0.8 | alice |
    +----------------------+---------+-------+--------------------+--------+------------+----------+-------+
    ");
}

/// log4j stack traces join the record they belong to; the counts still add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log4j_stack_traces_are_one_record() {
    let sb = Sandbox::new();
    sb.write(
        "pay.log",
        b"2026-11-19 14:09:12,117 ERROR [pool-3] com.acme.Pool - timeout acquiring connection\n\
java.sql.SQLTransientConnectionException: pool exhausted\n\
\tat com.acme.Pool.get(Pool.java:88)\n\
2026-11-19 14:09:13,001 INFO  [main] com.acme.App - still serving\n",
    );
    let extra = "format = \"pattern:log4j\"\ntimezone = \"Europe/Berlin\"\nservice = \"payments\"\n";
    let summary = sb.ingest(&config(&sb, "logs", "pay.log", extra)).await;
    assert_eq!((summary.total_rows(), summary.merged_lines, summary.total_rejects()), (2, 2, 0));
    let out = sb.sql("SELECT ts, level, line, msg, attributes['logger'] AS logger FROM logs ORDER BY ts").await;
    assert!(out.contains("2026-11-19T13:09:12.117Z | error | 1    | timeout acquiring connection"), "{out}");
    assert!(out.contains("pool exhausted"), "{out}");
    assert!(out.contains("2026-11-19T13:09:13.001Z | info  | 4 "), "{out}");
}

/// Syslog without a year: the source's `year`, and Dec → Jan inside one object rolls over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_year_rollover() {
    let sb = Sandbox::new();
    sb.write(
        "messages",
        b"<38>Dec 31 23:59:59 web-1 sshd[1]: last of the year\n<35>Jan  1 00:00:01 web-1 sshd[1]: first of the next\n",
    );
    let extra = "format = \"pattern:syslog\"\nyear = 2025\n";
    sb.ingest(&config(&sb, "logs", "messages", extra)).await;
    let out = sb.sql("SELECT ts, host, service, level, ts_flags, attributes['pid'] AS pid FROM logs ORDER BY ts").await;
    insta::assert_snapshot!(out, @r"
    +----------------------+-------+---------+-------+---------------+-----+
    | ts                   | host  | service | level | ts_flags      | pid |
    +----------------------+-------+---------+-------+---------------+-----+
    | 2025-12-31T23:59:59Z | web-1 | sshd    | info  | year_inferred | 1   |
    | 2026-01-01T00:00:01Z | web-1 | sshd    | error | year_inferred | 1   |
    +----------------------+-------+---------+-------+---------------+-----+
    ");
}

/// A user regex: named groups fill columns, other groups become attributes, `ts_format`
/// reads the time, and `multiline` joins continuation lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_regex_with_ts_format() {
    let sb = Sandbox::new();
    sb.write("custom.txt", b"19.11.2026 15:02:00 | payments | WARN | order=42 | slow checkout\n  detail line\n");
    let extra = r#"format = "regex"
regex = '^(?P<ts>\S+ \S+) \| (?P<service>\w+) \| (?P<level>\w+) \| order=(?P<order>\d+) \| (?P<msg>.*)$'
ts_format = "%d.%m.%Y %H:%M:%S"
timezone = "Europe/Berlin"
multiline = true
"#;
    let summary = sb.ingest(&config(&sb, "logs", "custom.txt", extra)).await;
    assert_eq!((summary.total_rows(), summary.merged_lines), (1, 1));
    let out = sb.sql("SELECT ts, service, level, msg, attributes FROM logs").await;
    assert!(out.contains("2026-11-19T14:02:00Z | payments | warn  | slow checkout"), "{out}");
    assert!(out.contains("{order: 42}"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_text_and_query_range_json() {
    let sb = Sandbox::new();
    sb.write(
        "scrape.prom",
        b"# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
http_requests_total{service=\"checkout\",code=\"200\"} 1027 1795096920000\n\
http_requests_total{service=\"checkout\",code=\"503\"} 3 1795096920000\n\
up 1\n",
    );
    sb.write(
        "range.json",
        br#"{"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"__name__":"db_pool_in_use","service":"payments","instance":"db-7:9100"},
   "values":[[1795096920,"18"],[1795096935,"20"],[1795096950.5,"20"]]}]}}"#,
    );
    let config = sb.config(
        "[[sources]]\nkind = \"metrics\"\nurl = \"sources/scrape.prom\"\n\
         [[sources]]\nkind = \"metrics\"\nurl = \"sources/range.json\"\nformat = \"prometheus_json\"\n",
    );
    let summary = sb.ingest(&config).await;
    assert_eq!(
        (summary.total_rows(), summary.blank_lines, summary.rejects.get("invalid_exposition")),
        (5, 2, Some(&1))
    );
    insta::assert_snapshot!(sb.sql("SELECT ts, metric, value, service, labels, line FROM metrics ORDER BY metric, ts, value").await, @"
    +--------------------------+---------------------+--------+----------+-----------------------+------+
    | ts                       | metric              | value  | service  | labels                | line |
    +--------------------------+---------------------+--------+----------+-----------------------+------+
    | 2026-11-19T14:02:00Z     | db_pool_in_use      | 18.0   | payments | {instance: db-7:9100} | 1    |
    | 2026-11-19T14:02:15Z     | db_pool_in_use      | 20.0   | payments | {instance: db-7:9100} | 2    |
    | 2026-11-19T14:02:30.500Z | db_pool_in_use      | 20.0   | payments | {instance: db-7:9100} | 3    |
    | 2026-11-19T14:02:00Z     | http_requests_total | 3.0    | checkout | {code: 503}           | 4    |
    | 2026-11-19T14:02:00Z     | http_requests_total | 1027.0 | checkout | {code: 200}           | 3    |
    +--------------------------+---------------------+--------+----------+-----------------------+------+
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_shapes_for_changes_and_deploys() {
    let sb = Sandbox::new();
    sb.write(
        "gh/statuses.json",
        br#"[{"id":11,"state":"in_progress","created_at":"2026-11-19T13:55:00Z","environment":"production",
              "creator":{"login":"ci-bot"},"deployment_url":"https://api.github.com/repos/acme/payments/deployments/42"},
             {"id":12,"state":"success","created_at":"2026-11-19T13:58:00Z","environment":"production",
              "creator":{"login":"ci-bot"},"deployment_url":"https://api.github.com/repos/acme/payments/deployments/42"},
             {"id":13,"state":"inactive","created_at":"2026-11-19T15:00:00Z",
              "deployment_url":"https://api.github.com/repos/acme/payments/deployments/42"}]"#,
    );
    sb.write(
        "ld/audit.json",
        br#"{"items":[{"_id":"a1","date":1795096920000,"kind":"flag","name":"Fast pool",
            "titleVerb":"turned off the flag","title":"Ann turned off Fast pool","member":{"email":"ann@acme.io"},
            "accesses":[{"action":"updateOn","resource":"proj/default:env/production:flag/fast-pool"}]}],
            "totalCount":1,"_links":{}}"#,
    );
    sb.write(
        "k8s/events.json",
        br#"{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"e1","namespace":"prod","uid":"u-1"},
            "involvedObject":{"kind":"Deployment","name":"payments","namespace":"prod"},"reason":"ScalingReplicaSet",
            "message":"Scaled down replica set payments-7d9 to 1","type":"Normal","source":{"component":"deployment-controller"},
            "lastTimestamp":"2026-11-19T14:05:00Z","count":1}]}"#,
    );
    let config = sb.config(
        "[[sources]]\nkind = \"deploys\"\nurl = \"sources/gh/statuses.json\"\nformat = \"github_deployments\"\n\
         [[sources]]\nkind = \"changes\"\nurl = \"sources/ld/audit.json\"\nformat = \"launchdarkly_audit\"\nservice = \"payments\"\n\
         [[sources]]\nkind = \"changes\"\nurl = \"sources/k8s/events.json\"\nformat = \"k8s_events\"\nservice = \"payments\"\n",
    );
    let summary = sb.ingest(&config).await;
    assert_eq!(summary.rows.get("deploys"), Some(&2));
    assert_eq!(summary.rows.get("changes"), Some(&2));
    assert_eq!(summary.rejects.get("unsupported_record"), Some(&1));
    let deploys = sb.sql("SELECT ts, deploy_id, service, environment, status, actor FROM deploys ORDER BY ts").await;
    insta::assert_snapshot!(deploys, @r"
    +----------------------+-----------+----------+-------------+-----------+--------+
    | ts                   | deploy_id | service  | environment | status    | actor  |
    +----------------------+-----------+----------+-------------+-----------+--------+
    | 2026-11-19T13:55:00Z | 42        | payments | production  | progress  | ci-bot |
    | 2026-11-19T13:58:00Z | 42        | payments | production  | succeeded | ci-bot |
    +----------------------+-----------+----------+-------------+-----------+--------+
    ");
    let changes =
        sb.sql("SELECT ts, change_id, system, key, old_value, new_value, actor, scope FROM changes ORDER BY ts").await;
    insta::assert_snapshot!(changes, @r"
    +----------------------+-----------+--------------+---------------------+-----------+-----------+-----------------------+------------+
    | ts                   | change_id | system       | key                 | old_value | new_value | actor                 | scope      |
    +----------------------+-----------+--------------+---------------------+-----------+-----------+-----------------------+------------+
    | 2026-11-19T14:02:00Z | a1        | launchdarkly | fast-pool           | on        | off       | ann@acme.io           | production |
    | 2026-11-19T14:05:00Z | u-1       | kubernetes   | Deployment/payments |           |           | deployment-controller | prod       |
    +----------------------+-----------+--------------+---------------------+-----------+-----------+-----------------------+------------+
    ");
}

/// Configured clock skew shifts a host's rows (and only its rows), keeps the original
/// text and flags the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_corrections_are_applied_and_flagged() {
    let sb = Sandbox::new();
    sb.write(
        "l.jsonl",
        b"{\"ts\":\"2026-11-19T14:02:02.5Z\",\"host\":\"web-3\",\"msg\":\"a\"}\n{\"ts\":\"2026-11-19T14:02:00Z\",\"host\":\"web-1\",\"msg\":\"b\"}\n",
    );
    let text = "warehouse = \"warehouse\"\n[[sources]]\nkind = \"logs\"\nurl = \"sources/l.jsonl\"\n\n[clock_skew]\n\"web-3\" = \"+2.5s\"\n";
    let config = retrace::config::Config::parse(text, sb.path()).unwrap();
    let options = retrace::ingest::IngestOptions { clock_skew: config.clock_skew.clone(), ..Default::default() };
    retrace::ingest::ingest(&sb.warehouse(), &config.sources, &options).await.unwrap();
    insta::assert_snapshot!(sb.sql("SELECT ts, host, ts_raw, ts_flags FROM logs ORDER BY host").await, @r"
    +----------------------+-------+------------------------+---------------+
    | ts                   | host  | ts_raw                 | ts_flags      |
    +----------------------+-------+------------------------+---------------+
    | 2026-11-19T14:02:00Z | web-1 | 2026-11-19T14:02:00Z   |               |
    | 2026-11-19T14:02:00Z | web-3 | 2026-11-19T14:02:02.5Z | skew_adjusted |
    +----------------------+-------+------------------------+---------------+
    ");
}

/// The repeated hour of a DST fall-back in a naive-time source: rows are flagged, and a
/// log running through the second pass stays in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dst_fall_back_rows_are_flagged() {
    let sb = Sandbox::new();
    sb.write(
        "c.csv",
        b"ts,change_id\n2026-11-01 00:59:00,A\n2026-11-01 01:30:00,B\n2026-11-01 01:10:00,C\n2026-11-01 02:00:00,D\n",
    );
    sb.ingest(&config(&sb, "changes", "c.csv", "timezone = \"America/New_York\"\n")).await;
    insta::assert_snapshot!(sb.sql("SELECT change_id, ts, ts_raw, ts_flags FROM changes ORDER BY line").await, @r"
    +-----------+----------------------+---------------------+---------------+
    | change_id | ts                   | ts_raw              | ts_flags      |
    +-----------+----------------------+---------------------+---------------+
    | A         | 2026-11-01T04:59:00Z | 2026-11-01 00:59:00 |               |
    | B         | 2026-11-01T05:30:00Z | 2026-11-01 01:30:00 | dst_ambiguous |
    | C         | 2026-11-01T06:10:00Z | 2026-11-01 01:10:00 | dst_ambiguous |
    | D         | 2026-11-01T07:00:00Z | 2026-11-01 02:00:00 |               |
    +-----------+----------------------+---------------------+---------------+
    ");
}

/// OpenTelemetry logs: OTLP/JSON as the Collector's file exporter writes it, and JSON Lines
/// with OpenTelemetry's names (`severity_text`, `body`, nested `resource` with
/// `service.name`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opentelemetry_logs() {
    let sb = Sandbox::new();
    sb.write(
        "otel/export.json",
        br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}},{"key":"host.name","value":{"stringValue":"pay-1"}}]},"scopeLogs":[{"scope":{"name":"pool"},"logRecords":[{"timeUnixNano":"1795096920000000000","severityNumber":17,"body":{"stringValue":"pool exhausted"},"traceId":"5b8efff798038103d269b633813fc60c","attributes":[{"key":"pool.size","value":{"intValue":"20"}}]}]}]}]}
{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"0","observedTimeUnixNano":"1795096921500000000","severityText":"WARN","body":{"stringValue":"retrying"}}]}]}]}
"#,
    );
    sb.write(
        "otel/flat.jsonl",
        br#"{"@timestamp":"2026-11-19T14:02:02Z","severity_text":"ERROR","body":"timeout","resource":{"service.name":"cart","host.name":"cart-0"},"attributes":{"http.response.status_code":503}}
"#,
    );
    let config = sb.config(
        "[[sources]]\nkind = \"logs\"\nurl = \"sources/otel/export.json\"\nformat = \"otlp_json\"\n\
         [[sources]]\nkind = \"logs\"\nurl = \"sources/otel/flat.jsonl\"\n",
    );
    let summary = sb.ingest(&config).await;
    assert_eq!((summary.total_rows(), summary.total_rejects()), (3, 0));
    insta::assert_snapshot!(sb.sql("SELECT ts, service, host, level, msg, status, trace_id, attributes FROM logs ORDER BY ts").await, @"
    +--------------------------+----------+--------+-------+----------------+--------+----------------------------------+------------------------------+
    | ts                       | service  | host   | level | msg            | status | trace_id                         | attributes                   |
    +--------------------------+----------+--------+-------+----------------+--------+----------------------------------+------------------------------+
    | 2026-11-19T14:02:00Z     | payments | pay-1  | error | pool exhausted |        | 5b8efff798038103d269b633813fc60c | {pool.size: 20, scope: pool} |
    | 2026-11-19T14:02:01.500Z | checkout |        | warn  | retrying       |        |                                  |                              |
    | 2026-11-19T14:02:02Z     | cart     | cart-0 | error | timeout        | 503    |                                  |                              |
    +--------------------------+----------+--------+-------+----------------+--------+----------------------------------+------------------------------+
    ");
}

/// `cat a.gz b.gz > c.gz` is one gzip stream of two members: both are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_member_gzip() {
    use std::io::Write;
    let sb = Sandbox::new();
    let member = |text: &str| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap()
    };
    let mut bytes = member("{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"first member\"}\n");
    bytes.extend(member("{\"ts\":\"2026-11-19T14:00:01Z\",\"msg\":\"second member\"}\n"));
    std::fs::create_dir_all(sb.path().join("sources")).unwrap();
    std::fs::write(sb.path().join("sources/cat.jsonl.gz"), bytes).unwrap();
    let summary = sb.ingest(&config(&sb, "logs", "cat.jsonl.gz", "")).await;
    assert_eq!(summary.total_rows(), 2);
    let out = sb.sql("SELECT line, msg FROM logs ORDER BY line").await;
    assert!(out.contains("| 1    | first member ") && out.contains("| 2    | second member |"), "{out}");
}
