//! The evaluation suite: generated incident scenarios with ground truth, run through
//! `slo` + `suspects` exactly as the CLI does. It fails below top-1 ≥ 90 %, top-3 = 100 %
//! and any culprit blamed (verdict likely) in a control scenario. docs/evaluation.md
//! explains the categories and holds the per-category results this test prints.
//!
//! Every scenario is deterministic (splitmix64 from its seed): 10 hours of per-minute
//! request counters for seven services, routine config changes and deploys, and one
//! injected incident per category's recipe.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use retrace::analyze::params::Window;
use retrace::analyze::{Analysis, slo, suspects};

use crate::common::{Rng, Sandbox};

/// Dependencies: edge → checkout, cart, search; checkout → payments, inventory, cart;
/// search → inventory. `mail` depends on nothing and nothing on it.
const SERVICES: [&str; 7] = ["edge", "checkout", "search", "payments", "inventory", "cart", "mail"];
const DEPS: &str = r#"
[services.edge]
depends_on = ["checkout", "cart", "search"]
[services.checkout]
depends_on = ["payments", "inventory", "cart"]
[services.search]
depends_on = ["inventory"]
[services.payments]
[services.inventory]
[services.cart]
[services.mail]
"#;
const LEAVES: [&str; 4] = ["payments", "inventory", "cart", "search"];

const MINUTES: i64 = 600;
const ONSET_MINUTE: i64 = 420;

/// One generated scenario.
struct Scenario {
    name: String,
    start: DateTime<Utc>,
    /// Per service, per minute: the error ratio injected (on top of the 0.05% baseline).
    errors: BTreeMap<&'static str, Vec<f64>>,
    changes: Vec<String>,
    deploys: Vec<String>,
    /// Breached service → the culprit id (`None`: a control, nothing should be blamed).
    truth: Vec<(&'static str, Option<String>)>,
}

impl Scenario {
    fn new(name: String, seed: u64) -> Scenario {
        let start = DateTime::from_timestamp(1_794_441_600, 0).unwrap() + Duration::days(seed as i64 % 20); // 2026-11-12
        Scenario {
            name,
            start,
            errors: SERVICES.iter().map(|s| (*s, vec![0.0; MINUTES as usize])).collect(),
            changes: Vec::new(),
            deploys: Vec::new(),
            truth: Vec::new(),
        }
    }

    fn at(&self, minute: i64) -> DateTime<Utc> {
        self.start + Duration::minutes(minute)
    }

    fn fail(&mut self, service: &'static str, from: i64, to: i64, ratio: f64) {
        let e = self.errors.get_mut(service).unwrap();
        for m in from.max(0)..to.min(MINUTES) {
            e[m as usize] = e[m as usize].max(ratio);
        }
    }

    #[allow(clippy::too_many_arguments)] // one argument per changes column: clearer than a struct here
    fn change(&mut self, id: &str, minute: i64, service: &str, key: &str, old: &str, new: &str, reverts: Option<&str>) {
        let ts = self.at(minute) + Duration::seconds(17);
        let reverts = reverts.map(|r| format!(",\"reverts\":\"{r}\"")).unwrap_or_default();
        self.changes.push(format!(
            "{{\"ts\":\"{}\",\"change_id\":\"{id}\",\"service\":\"{service}\",\"system\":\"config\",\"key\":\"{key}\",\"old_value\":\"{old}\",\"new_value\":\"{new}\",\"actor\":\"ops\"{reverts}}}",
            ts.to_rfc3339()
        ));
    }

    fn deploy(&mut self, id: &str, service: &str, from_v: &str, to_v: &str, events: &[(i64, &str, f64)]) {
        for (minute, status, pct) in events {
            self.deploys.push(format!(
                "{{\"ts\":\"{}\",\"deploy_id\":\"{id}\",\"service\":\"{service}\",\"version\":\"{to_v}\",\"previous_version\":\"{from_v}\",\"status\":\"{status}\",\"percent\":{pct}}}",
                self.at(*minute).to_rfc3339()
            ));
        }
    }

    /// Routine changes that do nothing, at minutes drawn from `[lo, hi]`.
    fn routine(&mut self, rng: &mut Rng, n: usize, lo: i64, hi: i64, services: &[&str]) {
        for i in 0..n {
            let svc = rng.pick(services).to_string();
            let m = rng.int(lo, hi);
            let key = format!("feature.{}", rng.int(1, 40));
            self.change(&format!("R-{i}"), m, &svc, &key, "a", "b", None);
        }
    }

    fn metrics_csv(&self, rng: &mut Rng) -> String {
        let mut out = String::from("ts,metric,service,code,value\n");
        for svc in SERVICES {
            let (mut ok, mut bad) = (1_000_000.0f64, 500.0f64);
            for m in 0..MINUTES {
                let traffic = (600.0 * (0.9 + 0.2 * rng.u01())).round();
                let ratio = 0.0005 + self.errors[svc][m as usize];
                let errors = (traffic * ratio + rng.u01()).floor();
                ok += traffic - errors;
                bad += errors;
                let ts = self.at(m).timestamp() + 30;
                let _ = writeln!(out, "{ts},http_requests_total,{svc},200,{ok}");
                let _ = writeln!(out, "{ts},http_requests_total,{svc},500,{bad}");
            }
        }
        out
    }
}

fn culprit_change(s: &mut Scenario, rng: &mut Rng, service: &str, minute: i64) -> String {
    let id = format!("C-{}", rng.int(1000, 9999));
    s.change(&id, minute, service, "db.pool.max", "200", "20", None);
    id
}

fn build(category: &'static str, i: u64) -> Scenario {
    let seed = 1000 * (1 + i) + category.len() as u64;
    let mut rng = Rng(seed);
    let mut s = Scenario::new(format!("{category}-{i}"), seed);
    let onset = ONSET_MINUTE + rng.int(-20, 20);
    let leaf = *rng.pick(&LEAVES);
    match category {
        "config_change" => {
            let m = onset - rng.int(2, 10);
            let id = culprit_change(&mut s, &mut rng, leaf, m);
            let fix = onset + rng.int(15, 45);
            s.change("FIX", fix, leaf, "db.pool.max", "20", "200", Some(&id));
            s.fail(leaf, onset, fix + 1, 0.05 + 0.1 * rng.u01());
            s.routine(&mut rng, 4, onset - 300, onset - 30, &SERVICES);
            s.truth.push((leaf, Some(id)));
        }
        "deploy" => {
            let d = onset - rng.int(3, 8);
            s.deploy(
                "D-1",
                leaf,
                "v1.4.0",
                "v1.5.0",
                &[(d, "started", 0.0), (d + 2, "progress", 50.0), (d + 5, "succeeded", 100.0)],
            );
            let rb = onset + rng.int(15, 40);
            s.deploy("D-2", leaf, "v1.5.0", "v1.4.0", &[(rb, "started", 0.0), (rb + 2, "succeeded", 100.0)]);
            s.fail(leaf, onset, rb + 3, 0.04 + 0.1 * rng.u01());
            s.deploy("D-0", "mail", "v9", "v10", &[(onset - 200, "started", 0.0), (onset - 195, "succeeded", 100.0)]);
            s.routine(&mut rng, 3, onset - 300, onset - 30, &SERVICES);
            s.truth.push((leaf, Some("D-1".into())));
        }
        "upstream_dependency" => {
            let up = *rng.pick(&["payments", "inventory"]);
            let id = {
                let m = onset - rng.int(2, 8);
                culprit_change(&mut s, &mut rng, up, m)
            };
            let fix = onset + rng.int(15, 40);
            s.change("FIX", fix, up, "db.pool.max", "20", "200", Some(&id));
            let ratio = 0.06 + 0.1 * rng.u01();
            s.fail(up, onset, fix + 1, ratio);
            s.fail("checkout", onset + 1, fix + 2, ratio * 0.6);
            // A routine change on the breached service itself, earlier.
            s.change("R-own", onset - rng.int(40, 120), "checkout", "ui.banner", "a", "b", None);
            s.routine(&mut rng, 3, onset - 300, onset - 30, &SERVICES);
            s.truth.push(("checkout", Some(id.clone())));
            s.truth.push((up, Some(id)));
        }
        "delayed_effect" => {
            let id = {
                let m = onset - rng.int(60, 120);
                culprit_change(&mut s, &mut rng, leaf, m)
            };
            let fix = onset + rng.int(15, 30);
            s.change("FIX", fix, leaf, "db.pool.max", "20", "200", Some(&id));
            s.fail(leaf, onset, fix + 1, 0.05 + 0.05 * rng.u01());
            s.change("DECOY", onset - rng.int(2, 5), "mail", "smtp.timeout", "5s", "3s", None);
            s.routine(&mut rng, 3, onset - 300, onset - 30, &SERVICES);
            s.truth.push((leaf, Some(id)));
        }
        "decoy_closer" => {
            let id = {
                let m = onset - rng.int(15, 30);
                culprit_change(&mut s, &mut rng, leaf, m)
            };
            let fix = onset + rng.int(15, 35);
            s.change("FIX", fix, leaf, "db.pool.max", "20", "200", Some(&id));
            s.fail(leaf, onset, fix + 1, 0.05 + 0.1 * rng.u01());
            let unrelated = if leaf == "search" { "payments" } else { "mail" };
            s.change("DECOY", onset - rng.int(1, 4), unrelated, "cache.ttl", "60", "30", None);
            s.routine(&mut rng, 2, onset - 300, onset - 30, &SERVICES);
            s.truth.push((leaf, Some(id)));
        }
        "many_routine_changes" => {
            s.routine(&mut rng, 12, onset - 60, onset + 1, &SERVICES);
            let id = {
                let m = onset - rng.int(3, 12);
                culprit_change(&mut s, &mut rng, leaf, m)
            };
            let fix = onset + rng.int(15, 40);
            s.change("FIX", fix, leaf, "db.pool.max", "20", "200", Some(&id));
            s.fail(leaf, onset, fix + 1, 0.05 + 0.1 * rng.u01());
            s.truth.push((leaf, Some(id)));
        }
        "canary_rollout" => {
            let d = onset - rng.int(3, 8);
            let pct = [10.0, 25.0][rng.int(0, 1) as usize];
            s.deploy("CANARY", leaf, "v2.0.0", "v2.1.0", &[(d, "started", 0.0), (d + 1, "progress", pct)]);
            let rb = onset + rng.int(10, 30);
            s.deploy("CANARY", leaf, "v2.0.0", "v2.1.0", &[(rb, "rolled_back", pct)]);
            s.fail(leaf, onset, rb + 1, pct / 100.0 * 0.4);
            s.routine(&mut rng, 4, onset - 300, onset - 30, &SERVICES);
            s.truth.push((leaf, Some("CANARY".into())));
        }
        "automation_loop" => {
            let id = {
                let m = onset - rng.int(2, 6);
                culprit_change(&mut s, &mut rng, leaf, m)
            };
            let ratio = 0.08 + 0.05 * rng.u01();
            let mut t = onset;
            for k in 0..3 {
                let revert = t + 8;
                s.fail(leaf, t, revert + 1, ratio);
                s.change(&format!("AUTO-R{k}"), revert, leaf, "db.pool.max", "20", "200", Some(&id));
                s.change(&format!("AUTO-A{k}"), revert + 3, leaf, "db.pool.max", "200", "20", None);
                t = revert + 3;
            }
            let manual = t + rng.int(5, 12);
            s.fail(leaf, t, manual + 1, ratio);
            s.change("MANUAL", manual, leaf, "db.pool.max", "20", "200", Some(&id));
            s.routine(&mut rng, 3, onset - 300, onset - 30, &SERVICES);
            s.truth.push((leaf, Some(id)));
        }
        "overlapping_breaches" => {
            let (x, y) = [("payments", "search"), ("search", "cart"), ("cart", "inventory"), ("payments", "mail")]
                [(i % 4) as usize];
            let cx = {
                let m = onset - rng.int(2, 6);
                culprit_change(&mut s, &mut rng, x, m)
            };
            let onset_y = onset + rng.int(8, 15);
            let cy = format!("Y-{}", rng.int(1000, 9999));
            s.change(&cy, onset_y - rng.int(2, 6), y, "queue.workers", "16", "2", None);
            let fix_x = onset + rng.int(20, 30);
            let fix_y = fix_x + rng.int(15, 25);
            s.change("FIX-X", fix_x, x, "db.pool.max", "20", "200", Some(&cx));
            s.change("FIX-Y", fix_y, y, "queue.workers", "2", "16", Some(&cy));
            s.fail(x, onset, fix_x + 1, 0.06 + 0.05 * rng.u01());
            s.fail(y, onset_y, fix_y + 1, 0.06 + 0.05 * rng.u01());
            s.truth.push((x, Some(cx)));
            s.truth.push((y, Some(cy)));
        }
        "control" => {
            // An external dependency fails: no change causes it.
            let len = rng.int(20, 40);
            s.fail(leaf, onset, onset + len, 0.05 + 0.1 * rng.u01());
            s.change("OWN", onset - rng.int(30, 90), leaf, "log.level", "info", "debug", None);
            let unrelated = if leaf == "search" { "cart" } else { "mail" };
            s.change("NEAR", onset - rng.int(1, 5), unrelated, "cache.ttl", "60", "30", None);
            s.deploy("D-9", unrelated, "v3", "v4", &[(onset - 25, "started", 0.0), (onset - 20, "succeeded", 100.0)]);
            s.routine(&mut rng, 4, onset - 300, onset - 30, &SERVICES);
            s.truth.push((leaf, None));
        }
        other => panic!("unknown category {other}"),
    }
    s
}

const CATEGORIES: [&str; 10] = [
    "config_change",
    "deploy",
    "upstream_dependency",
    "delayed_effect",
    "decoy_closer",
    "many_routine_changes",
    "canary_rollout",
    "automation_loop",
    "overlapping_breaches",
    "control",
];

#[derive(Default)]
struct Tally {
    breaches: usize,
    top1: usize,
    top3: usize,
    likely_correct: usize,
    controls: usize,
    controls_blamed: usize,
    control_verdicts: Vec<String>,
    missed: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspects_are_ranked_right_on_the_evaluation_suite() {
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for category in CATEGORIES {
        for i in 0..4 {
            let s = build(category, i);
            let mut rng = Rng(i + 77);
            let sb = Sandbox::new();
            sb.write("metrics.csv", s.metrics_csv(&mut rng).as_bytes());
            sb.write("changes.jsonl", (s.changes.join("\n") + "\n").as_bytes());
            sb.write("deploys.jsonl", (s.deploys.join("\n") + "\n").as_bytes());
            let mut toml = String::from(
                "[[sources]]\nkind = \"metrics\"\nurl = \"sources/metrics.csv\"\n\
                 [[sources]]\nkind = \"changes\"\nurl = \"sources/changes.jsonl\"\n\
                 [[sources]]\nkind = \"deploys\"\nurl = \"sources/deploys.jsonl\"\n",
            );
            toml.push_str(DEPS);
            for svc in SERVICES {
                let _ = write!(
                    toml,
                    "[[slo]]\nname = \"{svc}\"\nservice = \"{svc}\"\nobjective = 0.999\n\
                     sli = {{ kind = \"ratio\", bad = 'http_requests_total{{service=\"{svc}\",code=~\"5..\"}}', total = 'http_requests_total{{service=\"{svc}\"}}' }}\n"
                );
            }
            let config = sb.config(&toml);
            let summary = sb.ingest(&config).await;
            assert_eq!(summary.total_rejects(), 0, "{}: {:?}", s.name, summary.rejects);

            let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
            let window = Window::new(s.at(60), s.at(MINUTES)).unwrap();
            let analysis = Analysis::evaluate(&ctx, &config.slos, window).await.unwrap();
            let breaches: Vec<slo::Breach> = analysis.breaches().cloned().collect();
            let ranked = suspects::rank(&ctx, &config, &analysis, None, &breaches, suspects::SuspectOptions::default())
                .await
                .unwrap();
            let t = tallies.entry(category).or_default();
            for (service, culprit) in &s.truth {
                let found = ranked.iter().find(|b| b.breach.service == *service);
                match culprit {
                    None => {
                        t.controls += 1;
                        if let Some(b) = found {
                            t.control_verdicts.push(b.verdict.clone());
                            if b.suspects.iter().any(|x| x.verdict == suspects::Verdict::Likely) {
                                t.controls_blamed += 1;
                                t.missed.push(format!("{} blamed {}", s.name, b.verdict));
                            }
                        }
                    }
                    Some(id) => {
                        t.breaches += 1;
                        let Some(b) = found else {
                            t.missed.push(format!("{}: no breach of {service}", s.name));
                            continue;
                        };
                        let pos = b.suspects.iter().position(|x| &x.id == id);
                        if pos == Some(0) {
                            t.top1 += 1;
                            if b.suspects[0].verdict == suspects::Verdict::Likely {
                                t.likely_correct += 1;
                            } else if std::env::var_os("RETRACE_EVAL_VERBOSE").is_some() {
                                println!("not likely: {} {:?}", s.name, b.suspects[0].evidence);
                            }
                        } else {
                            t.missed.push(format!(
                                "{}: {service} culprit {id} at {:?}, top: {:?}",
                                s.name,
                                pos.map(|p| p + 1),
                                b.suspects.iter().take(3).map(|x| (&x.id, x.score, x.verdict)).collect::<Vec<_>>()
                            ));
                        }
                        if pos.is_some_and(|p| p < 3) {
                            t.top3 += 1;
                        }
                    }
                }
            }
        }
    }

    let mut table = String::from(
        "| category | breaches | top-1 | top-3 | likely & right | controls blamed |\n|---|---|---|---|---|---|\n",
    );
    let (mut n, mut top1, mut top3, mut controls, mut blamed) = (0, 0, 0, 0, 0);
    for (cat, t) in &tallies {
        let of = |k: usize| if t.breaches > 0 { format!("{k}/{}", t.breaches) } else { "—".into() };
        let _ = writeln!(
            table,
            "| {cat} | {} | {} | {} | {} | {} |",
            t.breaches + t.controls,
            of(t.top1),
            of(t.top3),
            of(t.likely_correct),
            if t.controls > 0 { format!("{}/{}", t.controls_blamed, t.controls) } else { "—".into() }
        );
        n += t.breaches;
        top1 += t.top1;
        top3 += t.top3;
        controls += t.controls;
        blamed += t.controls_blamed;
    }
    let _ = writeln!(
        table,
        "| **all** | {} | **{top1}/{n} ({:.0}%)** | **{top3}/{n}** | | **{blamed}/{controls}** |",
        n + controls,
        100.0 * top1 as f64 / n as f64
    );
    println!("{table}");
    for t in tallies.values() {
        for m in &t.missed {
            println!("miss: {m}");
        }
        for v in &t.control_verdicts {
            println!("control verdict: {v}");
        }
    }
    assert!(top1 as f64 >= 0.9 * n as f64, "top-1 {top1}/{n}\n{table}");
    assert_eq!(top3, n, "top-3\n{table}");
    assert_eq!(blamed, 0, "controls blamed\n{table}");
}
