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
    let mut out = String::new();
    for (ts, metric, labels, value) in synthetic_samples(rng, t("2026-11-19T12:00:00Z")) {
        let labels: serde_json::Map<String, serde_json::Value> =
            labels.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
        let row = serde_json::json!({"ts": ts.to_rfc3339(), "metric": metric, "value": value, "labels": labels});
        out.push_str(&row.to_string());
        out.push('\n');
    }
    out
}

/// One sample: time, metric, labels, value.
type Synthetic = (DateTime<Utc>, String, Vec<(&'static str, String)>, f64);

/// The samples of [`synthetic_metrics`], series by series, from `start`.
fn synthetic_samples(rng: &mut Rng, start: DateTime<Utc>) -> Vec<Synthetic> {
    let mut out = Vec::new();
    let mut line = |ts: DateTime<Utc>, metric: &str, labels: &[(&'static str, String)], value: f64| {
        out.push((ts, metric.to_string(), labels.to_vec(), value));
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

// ---- the PromQL engine against Prometheus itself ------------------------------------------

fn which(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not installed: `apt-get install prometheus` (.ci/run does)"))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET path` from a server on 127.0.0.1; the status line and the body.
fn get(port: u16, path: &str) -> std::io::Result<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((head.lines().next().unwrap_or("").to_string(), body.to_string()))
}

/// A Prometheus server over blocks made by promtool from the same samples retrace reads.
struct Prometheus {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(samples: &[Synthetic]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let mut om = String::new();
        for (ts, metric, labels, value) in samples {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            om.push_str(&format!("{metric}{{{}}} {value} {}\n", labels.join(","), ts.timestamp()));
        }
        om.push_str("# EOF\n");
        let input = dir.path().join("samples.om");
        std::fs::write(&input, om).unwrap();
        let data = dir.path().join("data");
        let made = std::process::Command::new(which("promtool"))
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .output()
            .unwrap();
        assert!(made.status.success(), "promtool: {}", String::from_utf8_lossy(&made.stderr));
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  evaluation_interval: 1m\n").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(which("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=30d")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = Prometheus { child, port, _dir: dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !get(port, "/-/ready").is_ok_and(|(status, _)| status.contains(" 200")) {
            assert!(std::time::Instant::now() < deadline, "prometheus did not become ready on 127.0.0.1:{port}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        server
    }

    /// `query_range` summed over the series at each step: time (ms) → value.
    fn query_range(&self, query: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> BTreeMap<i64, f64> {
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            encode(query),
            from.timestamp(),
            to.timestamp()
        );
        let (status, body) = get(self.port, &path).unwrap();
        assert!(status.contains(" 200"), "{query}: {status} {body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut out = BTreeMap::new();
        for series in doc["data"]["result"].as_array().unwrap() {
            for point in series["values"].as_array().unwrap() {
                let t = (point[0].as_f64().unwrap() * 1000.0).round() as i64;
                let v: f64 = point[1].as_str().unwrap().parse().unwrap();
                *out.entry(t).or_insert(0.0) += v;
            }
        }
        out
    }
}

/// Every Sloth recording rule the examples generate, and the constructs SLO queries use
/// beyond them, evaluated by retrace and by Prometheus (2.42, Debian 12) on the same
/// samples: equal at every step. Samples sit 7 s off the minute and the steps 30 s past
/// it, so no sample lies on a range boundary (where Prometheus 2 and 3 differ).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs prometheus and promtool (Debian package `prometheus`); .ci/run installs them"]
async fn the_promql_engine_agrees_with_prometheus() {
    // Recent data: Prometheus keeps blocks within its retention of now.
    let hour = Utc::now().timestamp().div_euclid(3600) * 3600;
    let start = DateTime::from_timestamp(hour - 5 * 3600 + 7, 0).unwrap();
    let samples = synthetic_samples(&mut Rng(11), start);
    let prometheus = Prometheus::start(&samples);

    let sb = Sandbox::new();
    let mut jsonl = String::new();
    for (ts, metric, labels, value) in &samples {
        let labels: serde_json::Map<String, serde_json::Value> =
            labels.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
        jsonl.push_str(
            &serde_json::json!({"ts": ts.to_rfc3339(), "metric": metric, "value": value, "labels": labels}).to_string(),
        );
        jsonl.push('\n');
    }
    sb.write("metrics.jsonl", jsonl.as_bytes());
    sb.ingest(&sb.config("[[sources]]\nkind = \"metrics\"\nurl = \"sources/metrics.jsonl\"\n")).await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();

    let mut queries: Vec<String> = Vec::new();
    for f in fixtures("sloth") {
        let text =
            std::fs::read_to_string(f.with_file_name(name(&f).replace(".yaml", ".yml").replace(".yml", ".rules.yml")))
                .unwrap_or_default();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            use serde::Deserialize;
            let Ok(doc) = Value::deserialize(doc) else { continue };
            let groups = doc.get("groups").or_else(|| doc.get("spec").and_then(|s| s.get("groups")));
            for rule in groups
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .flat_map(|g| g.get("rules").and_then(Value::as_sequence).into_iter().flatten())
            {
                let is_5m = rule.get("record").and_then(Value::as_str) == Some("slo:sli_error:ratio_rate5m");
                // A rule over another rule's output (`slo:numerator_correction:…`) has
                // no raw samples to compare on.
                if let (true, Some(expr)) = (is_5m, rule.get("expr").and_then(Value::as_str))
                    && !expr.contains("slo:")
                    && promql::Query::parse(expr).is_ok()
                    && !queries.contains(&expr.to_string())
                {
                    queries.push(expr.to_string());
                }
            }
        }
    }
    let sloth_rules = queries.len();
    assert!(sloth_rules >= 8, "{queries:#?}");
    queries.extend(
        [
            r#"histogram_quantile(0.9, sum by (le) (rate(apiserver_request_duration_seconds_bucket[5m])))"#,
            r#"histogram_quantile(0.5, sum by (le, verb) (rate(apiserver_request_duration_seconds_bucket{verb!="WATCH"}[10m])))"#,
            r#"sum(increase(http_request_duration_seconds_count{job="myapp"}[10m]))"#,
            r#"sum by (code) (irate(http_request_duration_seconds_count[2m]))"#,
            r#"rate(http_request_duration_seconds_count{code=~"5.."}[5m]) / ignoring(code) group_left sum without (code) (rate(http_request_duration_seconds_count[5m]))"#,
            r#"sum by (job) (rate(http_request_duration_seconds_count{code!="200"}[5m])) / on(job) sum by (job) (rate(http_request_duration_seconds_count[5m]))"#,
            r#"avg(max_over_time(unifipoller_client_satisfaction_ratio[10m]))"#,
            r#"count(unifipoller_client_satisfaction_ratio > bool 0.7)"#,
            r#"sum(rate(apiserver_request_total{code!="200"}[5m])) and on() sum(rate(apiserver_request_total[5m])) > 0"#,
            r#"min(avg_over_time(unifipoller_client_satisfaction_ratio[15m:1m]))"#,
        ]
        .map(str::to_string),
    );

    let from = start + Duration::minutes(20) + Duration::seconds(23); // 30 s past a minute
    let to = start + Duration::hours(3) - Duration::minutes(2);
    let window = Window::new(start, start + Duration::hours(3)).unwrap();
    let mut compared = 0;
    for q in &queries {
        let query = promql::Query::parse(q).unwrap();
        let data = promql::Data::load(&ctx, &[&query], window).await.unwrap();
        let theirs = prometheus.query_range(q, from, to);
        let mut steps = 0;
        let mut t = from.timestamp_millis();
        while t <= to.timestamp_millis() {
            let ours = promql::at(&query, &data, t).unwrap().filter(|v| v.is_finite());
            let want = theirs.get(&t).copied().filter(|v| v.is_finite());
            match (ours, want) {
                (Some(o), Some(w)) => {
                    assert!((o - w).abs() <= 1e-9 * w.abs().max(1.0), "{q} at {t}: retrace {o} ≠ Prometheus {w}");
                    steps += 1;
                }
                (None, None) => {}
                (o, w) => panic!("{q} at {t}: retrace {o:?}, Prometheus {w:?}"),
            }
            t += 60_000;
        }
        // A rule over labels the synthetic data lacks (the SLI plugin's `f1`) is empty on
        // both sides; every other is compared at 100+ steps.
        assert!(steps > 100 || (theirs.is_empty() && q.contains(r#"f1="v1""#)), "{q}: only {steps} steps with data");
        compared += usize::from(steps > 0);
    }
    println!("{compared} queries ({sloth_rules} Sloth rules) agree with Prometheus at every step");
}
