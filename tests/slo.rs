//! SLIs from warehouse data: counter resets, good/total ratios, thresholds from OpenSLO,
//! log predicates; no-data minutes are gaps.

use retrace::analyze::params::Window;
use retrace::analyze::slo;

use crate::common::Sandbox;

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    retrace::cli::parse_time(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_with_resets_thresholds_and_openslo() {
    let sb = Sandbox::new();
    // One sample a minute from 14:00. The 500s counter resets at 14:05 (a restart): the
    // sample after a reset is its own increase.
    let ok = [1000, 1100, 1200, 1300, 1400, 50, 150, 250, 350, 450];
    let bad = [10, 11, 12, 13, 14, 2, 3, 4, 5, 6];
    let p99 = [0.1, 0.2, 0.5, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1];
    let mut csv = String::from("ts,metric,service,code,value\n");
    for m in 0..10 {
        let ts = format!("2026-11-19T14:{m:02}:30Z");
        csv.push_str(&format!("{ts},http_requests_total,api,200,{}\n", ok[m]));
        csv.push_str(&format!("{ts},http_requests_total,api,500,{}\n", bad[m]));
        csv.push_str(&format!("{ts},latency_p99_seconds,api,,{}\n", p99[m]));
    }
    sb.write("m.csv", csv.as_bytes());
    std::fs::write(
        sb.path().join("slos.yaml"),
        r#"
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-success}
spec:
  service: api
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="api",code="200"}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{service="api"}'}}}
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-latency}
spec:
  service: api
  indicator:
    spec:
      thresholdMetric:
        metricSource: {type: Prometheus, spec: {query: 'latency_p99_seconds{service="api"}'}}
  objectives: [{op: lte, value: 0.3, target: 0.9}]
"#,
    )
    .unwrap();
    let config = sb.config(
        "openslo = [\"slos.yaml\"]\n[[sources]]\nkind = \"metrics\"\nurl = \"sources/m.csv\"\n\
         [[slo]]\nname = \"api-errors\"\nservice = \"api\"\nobjective = 0.99\n\
         sli = { kind = \"ratio\", bad = 'http_requests_total{service=\"api\",code=~\"5..\"}', total = 'http_requests_total{service=\"api\"}' }\n",
    );
    sb.ingest(&config).await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    let window = Window::new(t("2026-11-19T14:00Z"), t("2026-11-19T14:20Z")).unwrap();
    let results = slo::evaluate(&ctx, &config.slos, window).await.unwrap();
    let by_name = |n: &str| results.iter().find(|r| r.slo == n).unwrap();

    // Increases: 200s 100×4, then 50 (reset), then 100×4 = 850; 500s 1×4, 2 (reset), 1×4 = 10.
    let errors = by_name("api-errors");
    assert_eq!((errors.bad_events, errors.total_events), (10.0, 860.0));
    // 14:10–14:19 had no samples: gaps, not good minutes.
    assert_eq!(errors.no_data_minutes, 10);
    // good/total: bad = total − good, the same numbers.
    let success = by_name("api-success");
    assert_eq!((success.bad_events, success.total_events), (10.0, 860.0));
    // Threshold: 2 of 10 samples above 0.3 s.
    let latency = by_name("api-latency");
    assert_eq!((latency.bad_events, latency.total_events), (2.0, 10.0));
}
