//! The example SLO documents shipped by OpenSLO, Sloth and Pyrra (tests/fixtures/<project>/,
//! copied with provenance before this code was written): every one whose metric source is
//! Prometheus imports unchanged, the others are refused by a message naming their source
//! type, and Sloth's SLIs compute what its generated recording rules compute.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use retrace::analyze::params::Window;
use retrace::analyze::promql;
use retrace::config::Slo;
use serde_yaml_ng::Value;

use crate::common::Rng;
use crate::common::Sandbox;

fn fixtures(project: &str) -> Vec<PathBuf> {
    let dir = crate::common::fixture_dir().join(project);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            // Sloth's generated rules and its alert-window files are not SLO documents.
            (name.ends_with(".yaml") || name.ends_with(".yml"))
                && !name.ends_with(".rules.yml")
                && !name.contains("windows__")
        })
        .collect();
    files.sort();
    files
}

fn name(f: &std::path::Path) -> String {
    f.file_name().unwrap().to_string_lossy().to_string()
}

/// Each file as a user would point `slo_documents` at it.
fn load_each(project: &str) -> BTreeMap<String, retrace::config::openslo::Loaded> {
    fixtures(project)
        .into_iter()
        .map(|f| {
            let loaded = retrace::config::openslo::load(std::slice::from_ref(&f))
                .unwrap_or_else(|e| panic!("{}: {e}", name(&f)));
            (name(&f), loaded)
        })
        .collect()
}

/// Why a document may be left out: each names its source type or the construct.
const REASONS: &[&str] = &[
    "is not Prometheus",
    "is not defined in these documents, so its type is unknown",
    "sli.plugin `",
    "SLO plugin `",
    "latencyNative reads native histograms",
    "not PromQL (MetricsQL",
];

#[test]
fn every_example_document_imports_or_is_refused_naming_why() {
    let mut imported = BTreeMap::new();
    for project in ["openslo", "sloth", "pyrra"] {
        let loaded = load_each(project);
        for (file, l) in &loaded {
            for r in &l.refused {
                assert!(REASONS.iter().any(|reason| r.contains(reason)), "{file}: {r}");
            }
        }
        imported.insert(project, loaded.values().map(|l| l.slos.len()).sum::<usize>());
        if project == "sloth" {
            // Refused: the two SLI plugins (Go code), the denominator-corrected plugin,
            // and VictoriaMetrics' two MetricsQL SLOs.
            let refused: Vec<&String> = loaded.values().flat_map(|l| &l.refused).collect();
            assert_eq!(refused.len(), 5, "{refused:#?}");
        }
        if project == "pyrra" {
            let refused: Vec<&String> = loaded.values().flat_map(|l| &l.refused).collect();
            assert_eq!(refused.len(), 1, "only the native-histogram latency SLO: {refused:#?}");
        }
    }
    // OpenSLO: v1 slos.yaml, v1alpha slos.yaml (its ratio one is Datadog), the SDK's two
    // v1 test documents. Its four HEAD examples use the placeholder source `Any`; the
    // v2alpha SLO names a data source no document defines.
    assert_eq!(imported, BTreeMap::from([("openslo", 4), ("pyrra", 56), ("sloth", 22)]));

    // What some of them became.
    let openslo = load_each("openslo");
    let v1 = &openslo["pkg__openslo__v1__examples__slos.yaml"].slos[0];
    assert!(
        matches!(&v1.sli, retrace::config::Sli::PromQl { good: Some(g), total, .. }
            if g == r#"sum(http_requests{k8s_cluster="prod",component="web",code=~"2xx|4xx"})"# && total.starts_with("sum(http_requests")),
        "{v1:?}"
    );
    let anys = &openslo["examples__budgeting-method__ratio-timeslices.yaml"].refused;
    assert!(anys[0].contains("metric source `Any` is not Prometheus"), "{anys:?}");
    let pyrra = load_each("pyrra");
    let latency = &pyrra["examples__kubernetes__manifests__slos__slo-apiserver-read-cluster-latency.yaml"].slos[0];
    assert_eq!((latency.objective, latency.period), (0.99, Duration::weeks(2)));
    assert!(
        matches!(&latency.sli, retrace::config::Sli::PromQl { good: Some(g), .. } if g.contains(r#"le="5.0"}[3m]"#))
    );
    let probe = &pyrra["examples__prometheus-probe-success.yaml"].slos[0];
    assert!(matches!(&probe.sli, retrace::config::Sli::PromQl { good: Some(g), total, .. }
        if g == "sum(sum_over_time(probe_success[1m]))" && total == "sum(count_over_time(probe_success[1m]))"));
}

// ---- Sloth's SLIs against its generated rules ----------------------------------------------

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Three hours of what the Sloth examples select, scraped every 15 s (the satisfaction
/// gauge every 60 s, with a client that comes and goes): error shares, traffic and
/// latencies drawn at random per series, and one counter reset.
fn synthetic_metrics(rng: &mut Rng) -> String {
    let start = t("2026-11-19T12:00:00Z");
    let mut out = String::new();
    let mut line = |ts: DateTime<Utc>, metric: &str, labels: &[(&str, String)], value: f64| {
        let labels: serde_json::Map<String, serde_json::Value> =
            labels.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
        let row = serde_json::json!({"ts": ts.to_rfc3339(), "metric": metric, "value": value, "labels": labels});
        out.push_str(&row.to_string());
        out.push('\n');
    };
    let steps = 720;
    type Rows = Vec<(DateTime<Utc>, f64)>;
    let counter = |name: &str,
                   labels: Vec<(&'static str, String)>,
                   per_step: f64,
                   reset_at: Option<usize>,
                   rng: &mut Rng|
     -> (String, Vec<(&'static str, String)>, Rows) {
        let mut v = rng.int(0, 1000) as f64;
        let mut rows = Vec::new();
        for i in 0..steps {
            if Some(i) == reset_at {
                v = 0.0;
            }
            v += (per_step * (0.5 + rng.u01())).round();
            rows.push((start + Duration::seconds(15 * i as i64), v));
        }
        (name.to_string(), labels, rows)
    };
    let mut series = Vec::new();
    for job in ["myservice", "myapp"] {
        for (code, share) in [("200", 1.0), ("429", 0.02 + 0.1 * rng.u01()), ("500", 0.05 * rng.u01()), ("503", 0.03)] {
            let reset = (code == "500").then_some(rng.int(100, 600) as usize);
            series.push(counter(
                "http_request_duration_seconds_count",
                vec![("job", job.into()), ("code", code.into())],
                40.0 * share,
                reset,
                rng,
            ));
        }
    }
    for (code, share) in [("200", 1.0), ("429", 0.01), ("500", 0.04 * rng.u01())] {
        series.push(counter("apiserver_request_total", vec![("code", code.into())], 30.0 * share, None, rng));
    }
    for verb in ["GET", "LIST", "WATCH"] {
        // Buckets are cumulative: draw per-step counts per bucket, then sum upwards.
        let fast = 10.0 + 20.0 * rng.u01();
        let (mut b04, mut b5, mut inf) = (0.0, 0.0, 0.0);
        let (mut r04, mut r5, mut rinf) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..steps {
            let ts = start + Duration::seconds(15 * i as i64);
            let a = (fast * (0.5 + rng.u01())).round();
            let b = (3.0 * rng.u01()).round();
            let c = (1.0 * rng.u01()).round();
            b04 += a;
            b5 += a + b;
            inf += a + b + c;
            r04.push((ts, b04));
            r5.push((ts, b5));
            rinf.push((ts, inf));
        }
        let l = |le: &str| vec![("verb", verb.to_string()), ("le", le.to_string())];
        series.push(("apiserver_request_duration_seconds_bucket".into(), l("0.4"), r04));
        series.push(("apiserver_request_duration_seconds_bucket".into(), l("5"), r5));
        series.push(("apiserver_request_duration_seconds_bucket".into(), l("+Inf"), rinf.clone()));
        series.push(("apiserver_request_duration_seconds_count".into(), vec![("verb", verb.to_string())], rinf));
    }
    for (name, labels, rows) in series {
        for (ts, v) in rows {
            line(ts, &name, &labels, v);
        }
    }
    for client in ["a", "b", "c", "d"] {
        let mood = rng.u01();
        for i in 0..180 {
            if client == "d" && (60..90).contains(&i) {
                continue; // gone for half an hour
            }
            let v = (mood * 0.6 + 0.4 * rng.u01()).min(1.0);
            line(
                start + Duration::minutes(i),
                "unifipoller_client_satisfaction_ratio",
                &[("client", client.into())],
                v,
            );
        }
    }
    out
}

/// The `slo:sli_error:ratio_rate5m` rule Sloth generated for `service`/`slo`.
fn generated_rule(rules: &Value, service: &str, slo: &str) -> Option<String> {
    // A plain rules file, or a PrometheusRule resource (Sloth's Kubernetes output).
    let groups = rules.get("groups").or_else(|| rules.get("spec")?.get("groups"))?.as_sequence()?;
    groups.iter().flat_map(|g| g.get("rules").and_then(Value::as_sequence).into_iter().flatten()).find_map(|r| {
        let record = r.get("record")?.as_str()?;
        let labels = r.get("labels")?;
        let is = |k: &str, v: &str| labels.get(k).and_then(Value::as_str) == Some(v);
        (record == "slo:sli_error:ratio_rate5m" && is("sloth_service", service) && is("sloth_slo", slo))
            .then(|| r.get("expr")?.as_str().map(str::to_string))
            .flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sloth_slis_compute_what_its_generated_rules_compute() {
    for seed in [1u64, 7, 23] {
        let mut rng = Rng(seed);
        let sb = Sandbox::new();
        sb.write("metrics.jsonl", synthetic_metrics(&mut rng).as_bytes());
        let config = sb.config("[[sources]]\nkind = \"metrics\"\nurl = \"sources/metrics.jsonl\"\n");
        let summary = sb.ingest(&config).await;
        assert!(summary.rejects.is_empty(), "{:?}", summary.rejects);
        let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
        let window = Window::new(t("2026-11-19T12:20:00Z"), t("2026-11-19T15:00:00Z")).unwrap();

        let mut compared = 0;
        for f in fixtures("sloth") {
            let loaded = retrace::config::openslo::load(std::slice::from_ref(&f)).unwrap();
            let rules_path = f.with_file_name(
                name(&f)
                    .replace(".yaml", ".rules.yml")
                    .replace(".yml", ".rules.yml")
                    .replace(".rules.rules.yml", ".rules.yml"),
            );
            let text = std::fs::read_to_string(&rules_path).unwrap();
            let rules: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
                .map(|d| {
                    use serde::Deserialize;
                    Value::deserialize(d).unwrap()
                })
                .collect();
            for slo in &loaded.slos {
                let short = slo.name.strip_prefix(&format!("{}-", slo.service)).unwrap_or(&slo.name);
                // Sloth names OpenSLO objectives `<name>-<index>`.
                let find = |slo_name: &str| rules.iter().find_map(|r| generated_rule(r, &slo.service, slo_name));
                let rule = find(short)
                    .or_else(|| find(&format!("{}-0", slo.name)))
                    .unwrap_or_else(|| panic!("{}: no 5m rule for {}", name(&f), slo.name));
                compare(&ctx, slo, &rule, window, &format!("seed {seed}, {}", name(&f))).await;
                compared += 1;
            }
        }
        assert_eq!(compared, 22);
    }
}

/// Per minute, the SLO's error ratio equals the rule's value (both no data, or equal).
async fn compare(ctx: &datafusion::prelude::SessionContext, slo: &Slo, rule: &str, window: Window, at: &str) {
    let minutes = retrace::analyze::sli::evaluate(ctx, slo, window).await.unwrap();
    let query = promql::Query::parse(rule).unwrap_or_else(|e| panic!("{at}: {e}"));
    let data = promql::Data::load(ctx, &[&query], window).await.unwrap();
    let expected = promql::per_minute(&query, &data, window.from, minutes.len()).unwrap();
    let mut with_data = 0;
    for (i, want) in expected.into_iter().enumerate() {
        let got = (minutes.has_data[i] && minutes.total[i] > 0.0).then(|| minutes.bad[i] / minutes.total[i]);
        let want = want.filter(|w| w.is_finite());
        match (got, want) {
            (Some(g), Some(w)) => {
                assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{at}: {} minute {i}: {g} ≠ rule's {w}", slo.name);
                with_data += 1;
            }
            (None, None) => {}
            (g, w) => panic!("{at}: {} minute {i}: {g:?} vs the rule's {w:?}", slo.name),
        }
    }
    assert!(with_data > 100, "{at}: {} compared only {with_data} minutes", slo.name);
}
