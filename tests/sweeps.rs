//! Robustness sweeps (issue 18, docs/evaluation.md): incident families generated with
//! their parameters drawn at random over their realistic range, judged by the same breach
//! model and suspect ranking as `retrace slo` and `retrace suspects`, without a warehouse
//! (per-minute SLIs and the change log are built in memory and handed to
//! [`Slis::of`] and [`suspects::rank_known`]).
//!
//! Every case comes from a seeded splitmix64, so a run is deterministic and a failing case
//! can be replayed by its family and number. The parameters are drawn, not picked:
//!
//! - change-to-impact delay: 0–15 min (`plain`, `chronic`, `cascade`), 30 min–4 h (`delayed`);
//! - innocent changes and deploys (2–6) at every offset from 60 min before to 5 min after
//!   the onset, on any service, plus 1–3 routine deploys 1–6 h before;
//! - every service's baseline error ratio from 0.1× to 5× its budget (the breached service
//!   from 1.5× to 5× in `chronic`);
//! - ramps from instant to 15 min; peaks from 20× to 400× the budget;
//! - 1–4 unrelated services breaking at once (`common-cause`, no culprit);
//! - cascade depth 1–3, each caller with a routine deploy minutes before its own breach;
//! - mitigation by undoing the culprit, by another action (kill switch, traffic shift), or
//!   none (it passed); an innocent undone to no effect in a third of the cases;
//! - recovery inside the data, or beyond its end (the breach is still going on).
//!
//! The test prints a table per family with 95 % Wilson intervals; docs/evaluation.md
//! carries it. The scenario generator is committed before the rules it measures and is
//! not tuned to make cases pass.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use retrace::analyze::analysis::Slis;
use retrace::analyze::changes::{ChangeLog, ChangeRow};
use retrace::analyze::params::{SourceRef, Window};
use retrace::analyze::sli::Minutes;
use retrace::analyze::spans::DeploySpan;
use retrace::analyze::suspects::{self, BreachSuspects, ServiceErrors, Verdict};
use retrace::config::{Config, Sli, Slo};

use crate::common::Rng;

/// Services and what each calls. Chains (edge → checkout → payments → ledger,
/// search → index) and services no path joins (auth, mail, batch, cdn).
const TOPOLOGY: &[(&str, &[&str])] = &[
    ("edge", &["checkout", "search", "auth"]),
    ("checkout", &["payments", "auth"]),
    ("payments", &["ledger"]),
    ("ledger", &[]),
    ("search", &["index"]),
    ("index", &[]),
    ("auth", &[]),
    ("mail", &[]),
    ("batch", &[]),
    ("cdn", &[]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Plain,
    Delayed,
    Chronic,
    Cascade,
    CommonCause,
    NoChange,
}

impl Family {
    const ALL: [(Family, usize); 6] = [
        (Family::Plain, 200),
        (Family::Delayed, 200),
        (Family::Chronic, 150),
        (Family::Cascade, 150),
        (Family::CommonCause, 200),
        (Family::NoChange, 100),
    ];

    fn name(self) -> &'static str {
        match self {
            Family::Plain => "plain",
            Family::Delayed => "delayed",
            Family::Chronic => "chronic",
            Family::Cascade => "cascade",
            Family::CommonCause => "common-cause",
            Family::NoChange => "no-change",
        }
    }

    fn has_culprit(self) -> bool {
        matches!(self, Family::Plain | Family::Delayed | Family::Chronic | Family::Cascade)
    }
}

#[derive(Debug, Clone)]
struct Service {
    name: &'static str,
    rpm: f64,
    baseline: f64,
    /// The objective of its availability SLO, if it has one.
    objective: Option<f64>,
}

impl Service {
    fn budget(&self) -> f64 {
        1.0 - self.objective.unwrap_or(0.999)
    }
}

/// Errors on one service: baseline until `from`, a linear ramp to `peak`, back at `until`.
#[derive(Debug, Clone)]
struct Impact {
    service: &'static str,
    from: DateTime<Utc>,
    ramp_minutes: f64,
    peak: f64,
    until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mitigation {
    Undo,
    Action,
    None,
}

/// One generated incident and what is true about it.
struct Case {
    family: Family,
    number: usize,
    services: Vec<Service>,
    changes: Vec<ChangeRow>,
    spans: Vec<DeploySpan>,
    impacts: Vec<Impact>,
    data: Window,
    culprit: Option<String>,
    /// When service came back (`None`: after the data ends).
    recovered: Option<DateTime<Utc>>,
    /// The action service came back after, when it is in the data.
    mitigated: Option<DateTime<Utc>>,
}

struct Builder {
    rng: Rng,
    changes: Vec<ChangeRow>,
    spans: Vec<DeploySpan>,
    next_id: usize,
}

impl Builder {
    fn change(&mut self, ts: DateTime<Utc>, service: &str, key: &str, old: &str, new: &str) -> String {
        self.next_id += 1;
        let id = format!("CHG-{}", self.next_id);
        self.changes.push(ChangeRow {
            ts,
            change_id: Some(id.clone()),
            service: Some(service.into()),
            system: Some("config".into()),
            key: Some(key.into()),
            old_value: Some(old.into()),
            new_value: Some(new.into()),
            actor: Some("someone".into()),
            description: None,
            reverts: None,
            source: None,
            line: None,
        });
        id
    }

    fn revert(&mut self, ts: DateTime<Utc>, of: &str) {
        let original = self.changes.iter().find(|c| c.change_id.as_deref() == Some(of)).cloned().expect("a change");
        self.next_id += 1;
        let by_id = self.rng.chance(0.5);
        self.changes.push(ChangeRow {
            ts,
            change_id: Some(format!("CHG-{}", self.next_id)),
            old_value: original.new_value.clone(),
            new_value: original.old_value.clone(),
            reverts: by_id.then(|| of.to_string()),
            ..original
        });
    }

    fn deploy(&mut self, ts: DateTime<Utc>, service: &str, version: &str, previous: &str, status: &str) -> String {
        self.next_id += 1;
        let id = format!("D-{}", self.next_id);
        let minutes = self.rng.range(3.0, 15.0);
        self.spans.push(DeploySpan {
            deploy_id: id.clone(),
            service: Some(service.into()),
            version: Some(version.into()),
            previous_version: Some(previous.into()),
            environment: Some("production".into()),
            started: ts,
            ended: ts + Duration::seconds((minutes * 60.0) as i64),
            final_status: status.into(),
            max_percent: Some(100.0),
            events: 2,
            source: SourceRef { object: String::new(), line: 0 },
        });
        id
    }

    /// A change or a deploy on `service` at `ts` that breaks nothing.
    fn innocent(&mut self, ts: DateTime<Utc>, service: &str) -> String {
        let n = self.rng.int(1, 99);
        if self.rng.chance(0.5) {
            let key = self.rng.pick(&["cache.ttl_seconds", "log.level", "feature.new_header", "pool.max_idle"]);
            self.change(ts, service, key, &format!("{n}"), &format!("{}", n + 1))
        } else {
            self.deploy(ts, service, &format!("v1.{}.0", n + 1), &format!("v1.{n}.0"), "succeeded")
        }
    }

    /// The change or deploy that breaks `service` at `ts`.
    fn culprit(&mut self, ts: DateTime<Utc>, service: &str) -> String {
        if self.rng.chance(0.6) {
            let key = self.rng.pick(&["db.pool_size", "rate_limit.rps", "tls.min_version", "routing.weights"]);
            self.change(ts, service, key, "200", "20")
        } else {
            self.deploy(ts, service, "v2.0.0", "v1.9.0", "succeeded")
        }
    }

    /// Undoes `id` at `ts`: a revert (or the old value set back) or a rollback deploy.
    fn undo(&mut self, ts: DateTime<Utc>, id: &str) {
        if id.starts_with("CHG-") {
            self.revert(ts, id);
        } else {
            let span = self.spans.iter().find(|s| s.deploy_id == id).cloned().expect("a deploy");
            let service = span.service.clone().unwrap_or_default();
            let (v, p) = (span.previous_version.clone().unwrap_or_default(), span.version.clone().unwrap_or_default());
            self.deploy(ts, &service, &v, &p, "succeeded");
        }
    }

    /// An operator action that is not an undo: a kill switch, a traffic shift, a restart.
    fn action(&mut self, ts: DateTime<Utc>, service: &str) {
        let key = self.rng.pick(&["feature.kill_switch", "traffic.region_weight", "autoscaler.min_replicas"]);
        let (old, new) = match *key {
            "feature.kill_switch" => ("off", "on"),
            "traffic.region_weight" => ("50", "0"),
            _ => ("4", "12"),
        };
        self.change(ts, service, key, old, new);
        if let Some(last) = self.changes.last_mut() {
            last.actor = Some("oncall".into());
        }
    }
}

fn callers_of(service: &str) -> Vec<&'static str> {
    TOPOLOGY.iter().filter(|(_, deps)| deps.contains(&service)).map(|(s, _)| *s).collect()
}

/// Services that call `service`, directly or not, with their distance.
fn transitive_callers(service: &str) -> Vec<(&'static str, usize)> {
    let mut out: Vec<(&'static str, usize)> = Vec::new();
    let mut frontier = vec![(service.to_string(), 0usize)];
    while let Some((s, d)) = frontier.pop() {
        for c in callers_of(&s) {
            if !out.iter().any(|(o, _)| *o == c) {
                out.push((c, d + 1));
                frontier.push((c.to_string(), d + 1));
            }
        }
    }
    out
}

fn depends(a: &str, b: &str) -> bool {
    transitive_callers(b).iter().any(|(c, _)| *c == a)
}

fn generate(family: Family, number: usize) -> Case {
    let seed = 0x5EED_0018_u64 ^ ((family as u64) << 40) ^ number as u64;
    let mut rng = Rng(seed);
    let base: DateTime<Utc> = "2026-03-02T00:00:00Z".parse().unwrap();
    let onset = base + Duration::hours(number as i64 * 7 + family as i64 * 24 * 60) + rng.minutes(0.0, 59.0);
    let mut services: Vec<Service> = TOPOLOGY
        .iter()
        .map(|(name, _)| {
            let objective = rng.chance(0.75).then(|| *rng.pick(&[0.99, 0.999, 0.9995, 0.9999]));
            let mut s = Service { name, rpm: rng.log_range(200.0, 5000.0).round(), baseline: 0.0, objective };
            s.baseline = s.budget() * rng.log_range(0.1, 5.0);
            s
        })
        .collect();
    let mut b = Builder { rng, changes: Vec::new(), spans: Vec::new(), next_id: 0 };
    let names: Vec<&'static str> = TOPOLOGY.iter().map(|(n, _)| *n).collect();

    // Where it breaks: the origin, and the services that break with it.
    let origin: &'static str = match family {
        // At the bottom of a chain so that callers up to three deep exist.
        Family::Cascade => {
            let bottoms = ["payments", "ledger", "index", "auth"];
            bottoms[b.rng.next() as usize % bottoms.len()]
        }
        _ => names[b.rng.next() as usize % names.len()],
    };
    let slo_on = |services: &mut Vec<Service>, name: &str, rng: &mut Rng| {
        let s = services.iter_mut().find(|s| s.name == name).unwrap();
        if s.objective.is_none() {
            s.objective = Some(*rng.pick(&[0.99, 0.999, 0.9995, 0.9999]));
            s.baseline = s.budget() * rng.log_range(0.1, 5.0);
        }
    };
    slo_on(&mut services, origin, &mut b.rng);
    if family == Family::Chronic {
        let s = services.iter_mut().find(|s| s.name == origin).unwrap();
        s.baseline = s.budget() * b.rng.range(1.5, 5.0);
    }
    let ramp = if b.rng.chance(0.3) { 0.0 } else { b.rng.range(0.0, 15.0) };
    let peak_of = |s: &Service, rng: &mut Rng| (s.budget() * rng.log_range(20.0, 400.0)).clamp(s.baseline * 3.0, 1.0);
    let mut impacts = Vec::new();
    let origin_service = services.iter().find(|s| s.name == origin).unwrap().clone();
    impacts.push(Impact {
        service: origin,
        from: onset,
        ramp_minutes: ramp,
        peak: peak_of(&origin_service, &mut b.rng),
        until: None,
    });
    // Callers see the origin's errors, weaker and a little later; in a cascade each level
    // up to the depth drawn has an SLO and breaches in turn.
    let depth = b.rng.int(1, 3) as usize;
    for (caller, d) in transitive_callers(origin) {
        if family == Family::Cascade && d <= depth {
            slo_on(&mut services, caller, &mut b.rng);
        }
        let share = if family == Family::Cascade { b.rng.range(0.6, 1.0) } else { b.rng.range(0.1, 1.0) };
        let s = services.iter().find(|s| s.name == caller).unwrap().clone();
        let lag = b.rng.minutes(0.5, 3.0) * d as i32;
        impacts.push(Impact {
            service: caller,
            from: onset + lag,
            ramp_minutes: ramp,
            peak: (impacts[0].peak * share).max(s.baseline * 3.0).min(1.0),
            until: None,
        });
    }
    if family == Family::CommonCause {
        // 1–4 more services, no dependency path between any two of the broken ones.
        let k = b.rng.int(1, 4) as usize;
        let mut broken = vec![origin];
        for _ in 0..200 {
            if broken.len() > k {
                break;
            }
            let c = *b.rng.pick(&names);
            if broken.iter().all(|o| *o != c && !depends(o, c) && !depends(c, o)) {
                broken.push(c);
            }
        }
        for c in broken.into_iter().skip(1) {
            slo_on(&mut services, c, &mut b.rng);
            let s = services.iter().find(|s| s.name == c).unwrap().clone();
            impacts.push(Impact {
                service: c,
                from: onset + b.rng.minutes(0.0, 3.0),
                ramp_minutes: ramp,
                peak: peak_of(&s, &mut b.rng),
                until: None,
            });
        }
    }

    // The culprit, and innocents around it.
    let culprit = family.has_culprit().then(|| {
        let delay = match family {
            Family::Delayed => b.rng.minutes(30.0, 240.0),
            _ => b.rng.minutes(0.0, 15.0),
        };
        b.culprit(onset - delay, origin)
    });
    for _ in 0..b.rng.int(2, 6) {
        let at = onset + b.rng.minutes(-60.0, 5.0);
        let on = *b.rng.pick(&names);
        b.innocent(at, on);
    }
    for _ in 0..b.rng.int(1, 3) {
        let at = onset - b.rng.minutes(60.0, 360.0);
        let on = *b.rng.pick(&names);
        b.innocent(at, on);
    }
    if family == Family::CommonCause {
        // A bystander on each broken service 5–15 minutes before the onset.
        for i in impacts.iter().filter(|i| i.from >= onset).cloned().collect::<Vec<_>>() {
            if i.service == origin || !impacts.iter().any(|o| o.service == i.service && o.from < onset) {
                let at = onset - b.rng.minutes(5.0, 15.0);
                b.innocent(at, i.service);
            }
        }
    }
    if family == Family::Cascade {
        // Each breaking caller deploys minutes before its own breach.
        for i in impacts.iter().skip(1).cloned().collect::<Vec<_>>() {
            let at = i.from - b.rng.minutes(1.0, 10.0);
            b.innocent(at, i.service);
        }
    }

    // How it ends.
    let mitigation = match b.rng.int(0, 3) {
        0 | 1 if culprit.is_some() => Mitigation::Undo,
        0..=2 => Mitigation::Action,
        _ => Mitigation::None,
    };
    let fixed_at = onset + b.rng.minutes(5.0, 90.0);
    let back_at = fixed_at + b.rng.minutes(0.0, 3.0);
    // An innocent undone while the errors go on, in a third of the cases.
    if b.rng.chance(1.0 / 3.0) {
        let innocents: Vec<String> = b
            .changes
            .iter()
            .filter_map(|c| c.change_id.clone())
            .chain(b.spans.iter().map(|s| s.deploy_id.clone()))
            .filter(|id| Some(id) != culprit.as_ref())
            .collect();
        if !innocents.is_empty() {
            let id = b.rng.pick(&innocents).clone();
            let t = onset + (fixed_at - onset) / 2;
            let created = b
                .changes
                .iter()
                .map(|c| (c.change_id.clone(), c.ts))
                .chain(b.spans.iter().map(|s| (Some(s.deploy_id.clone()), s.started)));
            if created.filter(|(i, _)| i.as_deref() == Some(id.as_str())).all(|(_, ts)| ts < t) {
                b.undo(t, &id);
            }
        }
    }
    let ongoing = b.rng.chance(0.25);
    let data_end = if ongoing { onset + b.rng.minutes(20.0, 100.0) } else { back_at + b.rng.minutes(30.0, 180.0) };
    let mut mitigated = None;
    let in_data = back_at < data_end;
    if in_data {
        match mitigation {
            Mitigation::Undo => {
                b.undo(fixed_at, culprit.as_deref().unwrap());
                mitigated = Some(fixed_at);
            }
            Mitigation::Action => {
                b.action(fixed_at, origin);
                mitigated = Some(fixed_at);
            }
            Mitigation::None => {}
        }
    }
    for i in &mut impacts {
        i.until = Some(back_at + (i.from - onset));
    }
    let data_start = onset - b.rng.minutes(8.0 * 60.0, 30.0 * 60.0);
    b.changes.sort_by_key(|c| c.ts);
    b.spans.sort_by(|x, y| (x.started, &x.deploy_id).cmp(&(y.started, &y.deploy_id)));
    Case {
        family,
        number,
        services,
        changes: b.changes,
        spans: b.spans,
        impacts,
        data: Window { from: data_start, to: data_end },
        culprit,
        recovered: in_data.then_some(back_at),
        mitigated,
    }
}

/// The error ratio of `s` in the minute starting at `t`.
fn ratio_at(case: &Case, s: &Service, t: DateTime<Utc>) -> f64 {
    let mut r = s.baseline;
    for i in case.impacts.iter().filter(|i| i.service == s.name && t >= i.from && i.until.is_none_or(|u| t < u)) {
        let since = (t - i.from).num_seconds() as f64 / 60.0;
        let share = if i.ramp_minutes <= 0.0 { 1.0 } else { ((since + 1.0) / i.ramp_minutes).min(1.0) };
        r = r.max(s.baseline + (i.peak - s.baseline) * share);
    }
    r.clamp(0.0, 1.0)
}

/// What the product said about a case.
struct Outcome {
    breaches: usize,
    top1: bool,
    top3: bool,
    /// A change other than the culprit called likely, in any breach.
    innocent_likely: Option<String>,
    /// The origin's breach says it is still going on.
    reported_ongoing: bool,
    /// The origin breached at all.
    origin_breached: bool,
    /// A mitigation time later than the recovery it claims to explain.
    mitigation_after_recovery: bool,
    /// The mitigation named is the action service came back after (or none when none is).
    mitigation_right: bool,
}

fn judge(case: &Case) -> Outcome {
    let mut text = String::new();
    for (name, deps) in TOPOLOGY {
        let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
        let _ = writeln!(text, "[services.{name}]\ndepends_on = [{}]", deps.join(", "));
    }
    let mut config = Config::parse(&text, std::path::Path::new("/")).unwrap();
    let mut rng = Rng(0xC0FFEE ^ case.number as u64 ^ ((case.family as u64) << 32));
    let mut errors = ServiceErrors::default();
    let mut series = Vec::new();
    for s in &case.services {
        let mut m = Minutes::new(case.data.from, case.data.to);
        for i in 0..m.len() {
            let total = (s.rpm * rng.range(0.9, 1.1)).round();
            let bad = rng.poisson(total * ratio_at(case, s, m.time(i))).min(total);
            (m.total[i], m.bad[i], m.has_data[i]) = (total, bad, true);
        }
        if let Some(objective) = s.objective {
            let slo = Slo {
                name: format!("{}-availability", s.name),
                service: s.name.into(),
                objective,
                period: Duration::days(30),
                sli: Sli::Ratio { bad: String::new(), total: String::new() },
            };
            config.slos.push(slo.clone());
            series.push((slo, m.clone()));
        }
        errors.insert(s.name, m);
    }
    let analysis = Slis::of(series).analysis(case.data);
    let mut breaches: Vec<_> = analysis.breaches().cloned().collect();
    breaches.sort_by(|a, b| (a.onset, &a.id).cmp(&(b.onset, &b.id)));
    let log = ChangeLog {
        reach: Window { from: case.data.from - Duration::days(2), to: case.data.to + Duration::days(1) },
        changes: case.changes.clone(),
        spans: case.spans.clone(),
    };
    let ranked = suspects::rank_known(&config, &analysis, &log, &errors, &breaches, config.suspects);
    // `SWEEP_CASE=plain:12 cargo test --test tests sweeps -- --nocapture` shows one case.
    if std::env::var("SWEEP_CASE").is_ok_and(|v| v == format!("{}:{}", case.family.name(), case.number)) {
        println!(
            "data {} → {}; culprit {:?}; recovered {:?}; mitigated {:?}",
            case.data.from, case.data.to, case.culprit, case.recovered, case.mitigated
        );
        for s in &case.services {
            println!("  service {} rpm {} baseline {:.5} objective {:?}", s.name, s.rpm, s.baseline, s.objective);
        }
        for i in &case.impacts {
            println!(
                "  impact {} from {} ramp {:.1} peak {:.4} until {:?}",
                i.service, i.from, i.ramp_minutes, i.peak, i.until
            );
        }
        for c in &case.changes {
            println!("  change {:?} {} {:?} {:?} reverts {:?}", c.change_id, c.ts, c.service, c.key, c.reverts);
        }
        for d in &case.spans {
            println!("  deploy {} {} {:?} {:?}", d.deploy_id, d.started, d.service, d.version);
        }
        for e in &analysis.slos {
            let max = |w: i64| {
                retrace::analyze::slo::burn_series(&e.slo, &e.minutes, w).into_iter().flatten().fold(0.0f64, f64::max)
            };
            println!(
                "  {} max burn 5m {:.1} 30m {:.1} 1h {:.1} 2h {:.1} 6h {:.1}",
                e.slo.name,
                max(5),
                max(30),
                max(60),
                max(120),
                max(360)
            );
        }
        for r in analysis.results() {
            println!("  slo {} chronic {:?} breaches {} minutes {}", r.slo, r.chronic, r.breaches.len(), r.minutes);
        }
        crate::common::print_ranked(&ranked, usize::MAX);
    }
    // The incident's first breach (the rest are its echoes or, in a cascade, its callers).
    let origin = case.impacts[0].service;
    // A breach that follows a dependency's points at it: the one its verdict sends the
    // reader to is the one measured.
    let first = ranked.iter().find(|b| b.breach.onset >= case.impacts[0].from - Duration::minutes(30));
    let first = match first.and_then(|b| b.follows.as_ref()) {
        Some(root) => ranked.iter().find(|b| b.breach.id == *root).or(first),
        None => first,
    };
    let ids: Vec<&str> = first.map(|b| b.suspects.iter().take(3).map(|s| s.id.as_str()).collect()).unwrap_or_default();
    let culprit = case.culprit.as_deref();
    let innocent_likely = ranked
        .iter()
        .flat_map(|b| &b.suspects)
        .find(|s| s.verdict == Verdict::Likely && Some(s.id.as_str()) != culprit)
        .map(|s| s.id.clone());
    let last_of_origin = ranked.iter().rfind(|b| b.breach.service == origin);
    let reported_ongoing = last_of_origin.is_some_and(|b| claimed_recovery(b).is_none());
    let origin_breached = last_of_origin.is_some();
    let mitigation = first.and_then(reported_mitigation);
    let recovered = first.and_then(claimed_recovery);
    if std::env::var("SWEEP_MISSES").is_ok_and(|f| f == case.family.name())
        && culprit.is_some()
        && ids.first() != culprit.as_ref()
        && let Some(b) = first
    {
        let top = &b.suspects[0];
        let c = b.suspects.iter().find(|s| Some(s.id.as_str()) == culprit);
        println!(
            "MISS {}#{}: top {} {:.2} [{}] | culprit {:?}",
            case.family.name(),
            case.number,
            top.id,
            top.score,
            top.evidence.join("; "),
            c.map(|c| (c.rank, c.score, c.evidence.join("; ")))
        );
    }
    Outcome {
        breaches: ranked.len(),
        top1: culprit.is_some() && ids.first() == culprit.as_ref(),
        top3: culprit.is_some_and(|c| ids.contains(&c)),
        innocent_likely,
        reported_ongoing,
        origin_breached,
        mitigation_after_recovery: matches!((mitigation, recovered), (Some(m), Some(r)) if m > r),
        mitigation_right: match (mitigation, case.mitigated) {
            (Some(m), Some(t)) => (m - t).num_seconds().abs() <= 120,
            (None, None) => true,
            _ => false,
        },
    }
}

/// The recovery a breach claims (`None`: it says it is still going on). The wave-1 model
/// always claimed one: at the end of the data when the errors never came back down.
fn claimed_recovery(b: &BreachSuspects) -> Option<DateTime<Utc>> {
    b.breach.recovered
}

/// The mitigation stated for a breach: the action its SLI recovered after. (The wave-1
/// report took the undo of a likely or possible top suspect after the onset.)
fn reported_mitigation(b: &BreachSuspects) -> Option<DateTime<Utc>> {
    b.mitigation.as_ref().map(|m| m.at)
}

/// A proportion with its 95 % Wilson interval, as `87.5 % [82.1, 91.4]`.
fn share(hits: usize, n: usize) -> String {
    if n == 0 {
        return "—".into();
    }
    let (p, n) = (hits as f64 / n as f64, n as f64);
    let z = 1.96;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt() / (1.0 + z * z / n);
    format!("{:.1} % [{:.1}, {:.1}]", p * 100.0, (centre - half).max(0.0) * 100.0, (centre + half).min(1.0) * 100.0)
}

#[derive(Default)]
struct Tally {
    cases: usize,
    no_breach: usize,
    culprit_cases: usize,
    top1: usize,
    top3: usize,
    innocent_likely: usize,
    ongoing_cases: usize,
    ongoing_reported: usize,
    recovered_cases: usize,
    recovered_called_ongoing: usize,
    mitigation_after: usize,
    mitigation_right: usize,
    examples: Vec<String>,
}

/// Every family, every case: the table docs/evaluation.md reports.
#[test]
fn robustness_sweeps() {
    let mut tallies: BTreeMap<Family, Tally> = BTreeMap::new();
    for (family, n) in Family::ALL {
        let t = tallies.entry(family).or_default();
        for number in 0..n {
            let case = generate(family, number);
            let o = judge(&case);
            t.cases += 1;
            t.no_breach += usize::from(o.breaches == 0);
            // Top-1 and top-3 count the cases where an SLO paged: an incident too short or
            // too small for the burn-rate alerts has no breach to attribute (its own column).
            if case.culprit.is_some() && o.breaches > 0 {
                t.culprit_cases += 1;
                t.top1 += usize::from(o.top1);
                t.top3 += usize::from(o.top3);
                if !o.top1 && t.examples.iter().filter(|e| e.ends_with("first")).count() < 5 {
                    t.examples.push(format!("{}#{number}: culprit not first", family.name()));
                }
            }
            if let Some(id) = &o.innocent_likely {
                t.innocent_likely += 1;
                if t.examples.iter().filter(|e| e.ends_with("likely")).count() < 5 {
                    t.examples.push(format!("{}#{number}: innocent {id} likely", family.name()));
                }
            }
            if case.recovered.is_none() && o.origin_breached {
                t.ongoing_cases += 1;
                t.ongoing_reported += usize::from(o.reported_ongoing);
                if !o.reported_ongoing {
                    t.examples.push(format!("{}#{number}: never recovered, not reported ongoing", family.name()));
                }
            } else if case.recovered.is_some() {
                t.recovered_cases += 1;
                t.recovered_called_ongoing += usize::from(o.reported_ongoing);
                if o.reported_ongoing && t.examples.iter().filter(|e| e.ends_with("ongoing")).count() < 3 {
                    t.examples.push(format!("{}#{number}: recovered, called ongoing", family.name()));
                }
            }
            t.mitigation_after += usize::from(o.mitigation_after_recovery);
            t.mitigation_right += usize::from(o.mitigation_right);
        }
    }
    let mut table = String::from(
        "| family | cases | no breach | top-1 | top-3 | innocent likely | never-recovered reported ongoing | recovered called ongoing | mitigation after recovery | mitigation right |\n\
         |---|---:|---:|---|---|---|---|---:|---:|---|\n",
    );
    let mut all = Tally::default();
    for (family, t) in &tallies {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            family.name(),
            t.cases,
            t.no_breach,
            if family.has_culprit() { share(t.top1, t.culprit_cases) } else { "—".into() },
            if family.has_culprit() { share(t.top3, t.culprit_cases) } else { "—".into() },
            share(t.innocent_likely, t.cases),
            share(t.ongoing_reported, t.ongoing_cases),
            t.recovered_called_ongoing,
            t.mitigation_after,
            share(t.mitigation_right, t.cases),
        );
        all.cases += t.cases;
        all.culprit_cases += t.culprit_cases;
        all.top1 += t.top1;
        all.top3 += t.top3;
        all.innocent_likely += t.innocent_likely;
        all.ongoing_cases += t.ongoing_cases;
        all.ongoing_reported += t.ongoing_reported;
        all.mitigation_after += t.mitigation_after;
        all.mitigation_right += t.mitigation_right;
        all.recovered_called_ongoing += t.recovered_called_ongoing;
        all.no_breach += t.no_breach;
    }
    let _ = writeln!(
        table,
        "| **all** | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        all.cases,
        all.no_breach,
        share(all.top1, all.culprit_cases),
        share(all.top3, all.culprit_cases),
        share(all.innocent_likely, all.cases),
        share(all.ongoing_reported, all.ongoing_cases),
        all.recovered_called_ongoing,
        all.mitigation_after,
        share(all.mitigation_right, all.cases),
    );
    println!("{table}");
    for t in tallies.values() {
        for e in &t.examples {
            println!("  {e}");
        }
    }
    assert!(all.cases >= 1000);
    // Issue 18's targets. The cases are deterministic, so these hold or fail the same way
    // on every run; the intervals in the table say how much a new draw could move them.
    let pct = |hits: usize, n: usize| 100.0 * hits as f64 / n.max(1) as f64;
    assert!(pct(all.innocent_likely, all.cases) <= 1.0, "innocent called likely in more than 1 % of cases");
    assert!(pct(all.top1, all.culprit_cases) >= 90.0, "top-1 under 90 %");
    assert!(pct(all.top3, all.culprit_cases) >= 98.0, "top-3 under 98 %");
    let delayed = &tallies[&Family::Delayed];
    assert!(pct(delayed.top3, delayed.culprit_cases) >= 90.0, "delayed-effect top-3 under 90 %");
    assert_eq!(all.ongoing_reported, all.ongoing_cases, "a never-recovered breach not reported ongoing");
    assert_eq!(all.mitigation_after, 0, "a mitigation after the recovery it explains");
}
