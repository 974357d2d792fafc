//! The post-mortem corpus (`tests/postmortems/*.toml`, issue 18): incidents transcribed
//! from published timelines, turned into warehouse data and run through the SLO and
//! suspect analysis exactly as `retrace slo` and `retrace suspects` do. The scenarios were
//! committed before any rule is measured on them and are never edited to make a case
//! pass (tests/postmortems/README.md).
//!
//! Each service gets per-minute request counters (`http_requests_total{code}`) over the
//! scenario's data span (at most the three days before its first impact: the longest
//! burn window), with errors following the transcribed impact (baseline ratio, a linear
//! ramp to the peak, back to baseline at `until`), and up to five error log lines a minute
//! carrying the impact's message. Changes and deploys are written as their tools write
//! them (JSON Lines). Counts are deterministic (no noise): the shapes are the sources'.
//!
//! The test prints one row per scenario and the totals docs/evaluation.md reports. It
//! asserts only what holds whatever the rules: every scenario ingests cleanly and every
//! impacted service with an SLO breaches. The targets of issue 18 are asserted once the
//! rules it asks for exist.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use retrace::analyze::params::Window;
use retrace::analyze::suspects::{self, Verdict};
use retrace::analyze::{Analysis, slo};
use serde::Deserialize;

use crate::common::Sandbox;

#[derive(Debug, Deserialize)]
struct Scenario {
    source: Source,
    data: Data,
    services: Vec<Service>,
    #[serde(default)]
    changes: Vec<Change>,
    #[serde(default)]
    deploys: Vec<Deploy>,
    impact: Vec<Impact>,
    truth: Truth,
}

#[derive(Debug, Deserialize)]
struct Source {
    organisation: String,
}

#[derive(Debug, Deserialize)]
struct Data {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct Service {
    name: String,
    #[serde(default)]
    depends_on: Vec<String>,
    requests_per_minute: f64,
    #[serde(default)]
    baseline_error_ratio: f64,
    slo: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Change {
    id: String,
    ts: DateTime<Utc>,
    service: Option<String>,
    key: Option<String>,
    old: Option<String>,
    new: Option<String>,
    actor: Option<String>,
    description: Option<String>,
    #[serde(default)]
    reverts: String,
}

#[derive(Debug, Deserialize)]
struct Deploy {
    id: String,
    service: String,
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
    version: Option<String>,
    previous: Option<String>,
    status: String,
    percent: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Impact {
    service: String,
    from: DateTime<Utc>,
    #[serde(default)]
    ramp_minutes: f64,
    error_ratio: f64,
    until: Option<DateTime<Utc>>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Truth {
    culprit: String,
    #[serde(default)]
    ongoing: bool,
    #[serde(default)]
    classes: Vec<String>,
}

/// The error ratio of `service` at minute `t`: the largest of its baseline and every
/// impact phase running then.
fn error_ratio(s: &Scenario, svc: &Service, t: DateTime<Utc>) -> f64 {
    let mut r = svc.baseline_error_ratio;
    for i in s.impact.iter().filter(|i| i.service == svc.name) {
        if t < i.from || i.until.is_some_and(|u| t >= u) {
            continue;
        }
        let since = (t - i.from).num_seconds() as f64 / 60.0;
        let share = if i.ramp_minutes <= 0.0 { 1.0 } else { ((since + 1.0) / i.ramp_minutes).min(1.0) };
        r = r.max(svc.baseline_error_ratio + (i.error_ratio - svc.baseline_error_ratio) * share);
    }
    r.clamp(0.0, 1.0)
}

/// Writes the scenario's sources into the sandbox and returns its config text.
fn materialise(s: &Scenario, sb: &Sandbox) -> (String, DateTime<Utc>) {
    let first_impact = s.impact.iter().map(|i| i.from).min().expect("an impact");
    let from = s.data.start.max(first_impact - Duration::days(3));
    let minutes = (s.data.end - from).num_minutes();
    let mut metrics = String::from("ts,metric,service,code,value\n");
    let mut logs = String::new();
    let mut totals: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for m in 0..minutes {
        let t = from + Duration::minutes(m);
        let stamp = (t + Duration::seconds(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for svc in &s.services {
            let ratio = error_ratio(s, svc, t);
            let (ok, bad) = totals.entry(&svc.name).or_default();
            let errors = (svc.requests_per_minute * ratio).round();
            *bad += errors;
            *ok += svc.requests_per_minute - errors;
            let _ = writeln!(metrics, "{stamp},http_requests_total,{},200,{ok}", svc.name);
            let _ = writeln!(metrics, "{stamp},http_requests_total,{},500,{bad}", svc.name);
            // The errors' own log lines, a few a minute: what new-signature and canary
            // evidence reads.
            let message = s
                .impact
                .iter()
                .filter(|i| i.service == svc.name && t >= i.from && i.until.is_none_or(|u| t < u))
                .find_map(|i| i.message.clone());
            if let Some(msg) = message {
                for k in 0..(errors as u64).min(5) {
                    let line = serde_json::json!({
                        "ts": (t + Duration::seconds(5 + 10 * k as i64)).to_rfc3339(),
                        "service": svc.name, "level": "error", "msg": msg,
                    });
                    let _ = writeln!(logs, "{line}");
                }
            }
        }
    }
    let mut changes = String::new();
    for c in &s.changes {
        let line = serde_json::json!({
            "ts": c.ts.to_rfc3339(), "change_id": c.id, "service": c.service, "key": c.key,
            "old_value": c.old, "new_value": c.new, "actor": c.actor, "description": c.description,
            "reverts": (!c.reverts.is_empty()).then_some(&c.reverts),
        });
        let _ = writeln!(changes, "{line}");
    }
    let mut deploys = String::new();
    for d in &s.deploys {
        for (ts, status, pct) in [(d.started, "started", 0.0), (d.ended, d.status.as_str(), d.percent.unwrap_or(100.0))]
        {
            let line = serde_json::json!({
                "ts": ts.to_rfc3339(), "deploy_id": d.id, "service": d.service, "version": d.version,
                "previous_version": d.previous, "status": status, "percent": pct,
            });
            let _ = writeln!(deploys, "{line}");
        }
    }
    sb.write("m.csv", metrics.as_bytes());
    sb.write("l.jsonl", logs.as_bytes());
    sb.write("c.jsonl", changes.as_bytes());
    sb.write("d.jsonl", deploys.as_bytes());
    let mut config = String::new();
    for (kind, file) in [("metrics", "m.csv"), ("logs", "l.jsonl"), ("changes", "c.jsonl"), ("deploys", "d.jsonl")] {
        let _ = writeln!(config, "[[sources]]\nkind = \"{kind}\"\nurl = \"sources/{file}\"");
    }
    for svc in &s.services {
        let deps: Vec<String> = svc.depends_on.iter().map(|d| format!("\"{d}\"")).collect();
        let _ = writeln!(config, "[services.\"{}\"]\ndepends_on = [{}]", svc.name, deps.join(", "));
    }
    for svc in s.services.iter().filter(|s| s.slo.is_some()) {
        let _ = writeln!(
            config,
            "[[slo]]\nname = \"{0}-availability\"\nservice = \"{0}\"\nobjective = {1}\n\
             sli = {{ kind = \"ratio\", bad = 'http_requests_total{{service=\"{0}\",code=~\"5..\"}}', \
             total = 'http_requests_total{{service=\"{0}\"}}' }}",
            svc.name,
            svc.slo.unwrap_or(0.999)
        );
    }
    (config, from)
}

/// What the analysis said about one scenario.
struct Outcome {
    name: String,
    classes: String,
    culprit: String,
    breaches: usize,
    /// The first breach's top suspect and its verdict.
    top: Option<(String, Verdict)>,
    top3: Vec<String>,
    /// A suspect other than the culprit called likely, in any breach.
    false_likely: Option<String>,
    /// Impacted services with an SLO that did not breach.
    missed: Vec<String>,
    /// For a scenario still broken when the data ends: whether a breach claimed a
    /// recovery anyway (at the end of the data, which issue 18 calls made up).
    recovery_made_up: Option<bool>,
}

async fn run(path: &std::path::Path) -> Outcome {
    let s: Scenario =
        toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sb = Sandbox::new();
    let (config_text, from) = materialise(&s, &sb);
    let config = sb.config(&config_text);
    let summary = sb.ingest(&config).await;
    assert_eq!(summary.total_rejects(), 0, "{}: {:?}", path.display(), summary.rejects);
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    let window = Window::new(from, s.data.end).unwrap();
    let analysis = Analysis::evaluate(&ctx, &config.slos, window).await.unwrap();
    let mut breaches: Vec<slo::Breach> = analysis.breaches().cloned().collect();
    breaches.sort_by_key(|b| b.onset);
    let ranked = suspects::rank(&ctx, &config, &analysis, None, &breaches, config.suspects).await.unwrap();
    // `POSTMORTEM=<file stem>` prints one scenario's breaches and suspects.
    if std::env::var("POSTMORTEM").is_ok_and(|v| path.file_stem().is_some_and(|s| s == v.as_str())) {
        crate::common::print_ranked(&ranked, 6);
    }
    let first = ranked.iter().min_by_key(|b| b.breach.onset);
    let top = first.and_then(|b| b.suspects.first()).map(|s| (s.id.clone(), s.verdict));
    let top3 = first.map(|b| b.suspects.iter().take(3).map(|s| s.id.clone()).collect()).unwrap_or_default();
    let false_likely = ranked
        .iter()
        .flat_map(|b| &b.suspects)
        .find(|x| x.verdict == Verdict::Likely && x.id != s.truth.culprit)
        .map(|x| x.id.clone());
    let breached: Vec<&str> = breaches.iter().map(|b| b.service.as_str()).collect();
    let mut missed: Vec<String> = s
        .impact
        .iter()
        .filter(|i| s.services.iter().any(|v| v.name == i.service && v.slo.is_some()))
        .filter(|i| i.error_ratio >= 0.05 && !breached.contains(&i.service.as_str()))
        .map(|i| i.service.clone())
        .collect();
    missed.dedup();
    let recovery_made_up = s.truth.ongoing.then(|| {
        let last = breaches.iter().max_by_key(|b| b.onset);
        last.is_some_and(|b| b.recovered.is_some_and(|r| r >= s.data.end - Duration::minutes(10)))
    });
    Outcome {
        name: path.file_stem().unwrap().to_string_lossy().to_string(),
        classes: s.truth.classes.join(","),
        culprit: if s.truth.culprit.is_empty() { format!("none ({})", s.source.organisation) } else { s.truth.culprit },
        breaches: breaches.len(),
        top,
        top3,
        false_likely,
        missed,
        recovery_made_up,
    }
}

/// Runs every scenario and prints the table docs/evaluation.md reports. Ignored by
/// default: it ingests a day or more per scenario (about a minute in all); `.ci/run`
/// runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the post-mortem corpus, about a minute; .ci/run runs it"]
async fn the_post_mortem_corpus() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/postmortems");
    let mut paths: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "the corpus holds {} scenarios", paths.len());
    let mut table = String::from(
        "| scenario | classes | culprit | breaches | top suspect (first breach) | top-1 | top-3 | false likely |\n|---|---|---|---:|---|---|---|---|\n",
    );
    let (mut with_culprit, mut top1, mut top3, mut false_likely, mut missed) = (0, 0, 0, 0, Vec::new());
    let (mut ongoing, mut made_up) = (0, 0);
    for p in &paths {
        let o = run(p).await;
        let has_culprit = !o.culprit.starts_with("none");
        let hit1 = has_culprit && o.top.as_ref().is_some_and(|(id, _)| *id == o.culprit);
        let hit3 = has_culprit && o.top3.contains(&o.culprit);
        with_culprit += usize::from(has_culprit);
        top1 += usize::from(hit1);
        top3 += usize::from(hit3);
        false_likely += usize::from(o.false_likely.is_some());
        if let Some(m) = o.recovery_made_up {
            ongoing += 1;
            made_up += usize::from(m);
        }
        missed.extend(o.missed.iter().map(|m| format!("{}:{m}", o.name)));
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            o.name,
            o.classes,
            o.culprit,
            o.breaches,
            o.top.map(|(id, v)| format!("{id} ({})", v.label())).unwrap_or_else(|| "—".into()),
            if has_culprit { if hit1 { "yes" } else { "no" } } else { "—" },
            if has_culprit { if hit3 { "yes" } else { "no" } } else { "—" },
            o.false_likely.unwrap_or_default(),
        );
    }
    println!("{table}");
    println!(
        "scenarios {}; with a culprit {with_culprit}: top-1 {top1} ({:.0} %), top-3 {top3} ({:.0} %); \
         scenarios with a false likely {false_likely}; still broken at the end {ongoing}, a recovery made up at the end of the data for {made_up}",
        paths.len(),
        100.0 * top1 as f64 / with_culprit.max(1) as f64,
        100.0 * top3 as f64 / with_culprit.max(1) as f64,
    );
    assert!(missed.is_empty(), "impacted services with an SLO that never breached: {missed:?}");
    // Issue 18: no false likely. (Its top-1 target of 85 % is not met: docs/evaluation.md
    // lists the misses and why.)
    assert_eq!(false_likely, 0, "a change other than the culprit called likely");
}
