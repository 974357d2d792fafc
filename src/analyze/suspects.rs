//! Suspect changes: for a breach, the config changes and deploys that could have caused
//! it, ranked, each with the evidence behind its rank (docs/suspects.md).
//!
//! Candidates are changes and deploys from `onset − lookback` to `onset + grace`. Each
//! gets four pieces of evidence, every one in [0, 1] and explained with its numbers:
//!
//! - **time**: how long before the onset it happened, decaying (`exp(−Δ / 90 min)`);
//! - **scope**: where it happened relative to the breached service in the dependency
//!   graph (same service 1.0, a dependency 0.75 / 0.55 / 0.4 by distance, unrelated 0.1);
//! - **effect**: difference-in-differences of the changed service's error ratio in the 15
//!   minutes after the change vs the hour before, against services the change cannot
//!   reach (neither dependencies nor dependents);
//! - **recovery**: the change was reverted or rolled back and the breach recovered within
//!   10 minutes of that.
//!
//! The verdict needs evidence, not just proximity: **likely** when a revert was followed
//! by recovery (and the change is in scope), or when the changed service's own errors
//! jumped right after it, close to the onset; **possible** with weaker evidence; and when
//! no candidate reaches possible the breach's verdict is that no change explains it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use datafusion::arrow::array::Array;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use super::changes::ChangeLog;
use super::params::{self, Column, Params, Window};
use super::sli::{self, Minutes};
use super::slo::Breach;
use super::timeline::EventKind;
use crate::config::Config;
use crate::error::Result;

pub use crate::config::SuspectOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Likely,
    Possible,
    Unlikely,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Likely => "likely",
            Verdict::Possible => "possible",
            Verdict::Unlikely => "unlikely",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    pub rank: usize,
    /// [`EventKind::Change`] or [`EventKind::Deploy`] (`change`/`deploy` in JSON).
    pub kind: EventKind,
    pub id: String,
    pub service: Option<String>,
    pub ts: DateTime<Utc>,
    pub title: String,
    pub time: f64,
    pub scope: f64,
    pub effect: f64,
    pub recovery: f64,
    pub score: f64,
    pub verdict: Verdict,
    /// When it was undone: the undo the breach recovered after, else the last undo.
    pub undone_at: Option<DateTime<Utc>>,
    /// One line per piece of evidence, with its numbers.
    pub evidence: Vec<String>,
}

/// The ranked suspects of one breach and the breach's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreachSuspects {
    pub breach: Breach,
    /// `likely: <id>`, `possible: <id>` or `no change explains this breach`.
    pub verdict: String,
    pub suspects: Vec<Suspect>,
}

/// A change or deploy that might be blamed.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// [`EventKind::Change`] or [`EventKind::Deploy`].
    pub kind: EventKind,
    pub id: String,
    pub service: Option<String>,
    pub ts: DateTime<Utc>,
    pub title: String,
    /// When it was undone (revert, rollback, value restored), if it was.
    pub undone: Vec<DateTime<Utc>>,
    /// For a deploy: the version it rolled out (to find the hosts that run it).
    pub version: Option<String>,
}

/// Every change (reverts excluded) and deploy made in `window`, with the times each was
/// undone up to `undo_until`: what the digest's change failure rate counts.
pub async fn changes_and_deploys(
    ctx: &SessionContext,
    window: Window,
    undo_until: DateTime<Utc>,
) -> Result<Vec<Candidate>> {
    candidates(ctx, None, window.from, window.to, undo_until).await
}

/// Ranks the changes and deploys behind each of `breaches`. A service's errors come from
/// its SLO's minutes in `analysis` where they reach far enough (they always do for
/// breaches of its window and the default lookback), so the SLIs are not read again.
/// `log`: changes and deploys already read (the report's); a breach whose lookback it does
/// not cover reads its own.
pub async fn rank(
    ctx: &SessionContext,
    config: &Config,
    analysis: &super::Analysis,
    log: Option<&ChangeLog>,
    breaches: &[Breach],
    options: SuspectOptions,
) -> Result<Vec<BreachSuspects>> {
    let mut out = Vec::new();
    let mut minutes_cache: HashMap<String, (Window, Minutes)> = HashMap::new();
    for e in &analysis.slos {
        if slo_of(config, &e.slo.service).is_some_and(|f| f.name == e.slo.name) && !e.minutes.is_empty() {
            let covered = Window { from: e.minutes.time(0), to: e.minutes.time(e.minutes.len()) };
            minutes_cache.insert(e.slo.service.clone(), (covered, e.minutes.clone()));
        }
    }
    for breach in breaches {
        let from = breach.onset - options.lookback;
        let candidates =
            candidates(ctx, log, from, breach.onset + options.grace, breach.recovered + Duration::hours(1)).await?;
        let graph = Graph::new(config);
        let canaries = CanaryLines::load(ctx, &candidates, breach).await?;
        // The errors every candidate's effect reads (its service and the unrelated ones),
        // over the union of their spans, in one go.
        let mut needed = BTreeSet::new();
        let mut effect_span: Option<Window> = None;
        for c in &candidates {
            if let Some(s) = &c.service {
                let span = effect_span_of(c.ts, breach);
                effect_span = Some(match effect_span {
                    Some(w) => Window { from: w.from.min(span.from), to: w.to.max(span.to) },
                    None => span,
                });
                needed.insert(s.clone());
                needed.extend(graph.unrelated_to(s));
            }
        }
        if let Some(span) = effect_span {
            fill_service_minutes(ctx, config, &needed, span, &mut minutes_cache).await?;
        }
        let mut suspects = Vec::new();
        for c in candidates {
            let delta = breach.onset - c.ts;
            let delta_min = delta.num_seconds() as f64 / 60.0;
            let time = (-(delta_min.max(0.0)) / 90.0).exp();
            let distance = c.service.as_deref().and_then(|s| graph.distance(&breach.service, s));
            let scope = match (&c.service, distance) {
                (None, _) => 0.3,
                (Some(_), Some(0)) => 1.0,
                (Some(_), Some(1)) => 0.75,
                (Some(_), Some(2)) => 0.55,
                (Some(_), Some(_)) => 0.4,
                (Some(_), None) => 0.1,
            };
            let mut evidence = vec![format!("time: {} before the onset → {time:.2}", minutes_text(delta_min))];
            evidence.push(match (&c.service, distance) {
                (None, _) => "scope: names no service → 0.30".to_string(),
                (Some(s), Some(0)) => format!("scope: same service ({s}) → {scope:.2}"),
                (Some(s), Some(d)) => {
                    format!("scope: {s} is {d} hop(s) from {} in the dependency graph → {scope:.2}", breach.service)
                }
                (Some(s), None) => format!("scope: {s} is unrelated to {} → {scope:.2}", breach.service),
            });

            // Effect: the changed service's error ratio right after vs before, against unrelated services.
            let mut effect = 0.0;
            if let Some(s) = &c.service {
                let after_end = effect_after_end(c.ts, breach);
                let minutes_of = |s: &str| &minutes_cache.get(s).expect("filled for every candidate's services").1;
                let own = minutes_of(s);
                let before = ratio_between(own, c.ts - Duration::minutes(60), c.ts);
                let after = ratio_between(own, c.ts, after_end);
                let mut control_diffs = Vec::new();
                for o in graph.unrelated_to(s) {
                    let m = minutes_of(&o);
                    if let (Some(b), Some(a)) =
                        (ratio_between(m, c.ts - Duration::minutes(60), c.ts), ratio_between(m, c.ts, after_end))
                    {
                        control_diffs.push(a - b);
                    }
                }
                let control = if control_diffs.is_empty() {
                    0.0
                } else {
                    control_diffs.iter().sum::<f64>() / control_diffs.len() as f64
                };
                match (before, after) {
                    (Some(b), Some(a)) => {
                        let did = (a - b) - control;
                        effect = if did > 0.0 { did / (did + 0.005) } else { 0.0 };
                        evidence.push(format!(
                            "effect: {s} errors {:.2}% → {:.2}% in the 15 min after (unrelated services {:+.2} pp) → {effect:.2}",
                            b * 100.0,
                            a * 100.0,
                            control * 100.0
                        ));
                    }
                    _ => evidence.push(format!("effect: no error data for {s} around the change → 0.00")),
                }
            }

            // Partial rollouts: the hosts that logged the new version against the rest.
            if let (Some(s), Some(v)) = (&c.service, &c.version) {
                let to = canary_end(c.ts, breach);
                if let Some((new, rest, hosts, total)) = canaries.get(s).and_then(|l| l.canary(v, c.ts, to)) {
                    let did = new - rest;
                    let canary_effect = if did > 0.0 { did / (did + 0.005) } else { 0.0 };
                    evidence.push(format!(
                        "canary: {hosts} of {total} {s} hosts logged {v}; their errors {:.2}% vs {:.2}% on the rest → {canary_effect:.2}",
                        new * 100.0,
                        rest * 100.0
                    ));
                    effect = effect.max(canary_effect);
                }
            }

            // Recovery: undone, then the breach recovered within 10 minutes.
            let recovery_at = c.undone.iter().find(|u| {
                let gap = breach.recovered - **u;
                gap >= Duration::minutes(-1) && gap <= Duration::minutes(10)
            });
            let recovery = if recovery_at.is_some() { 1.0 } else { 0.0 };
            evidence.push(match (recovery_at, c.undone.last()) {
                (Some(u), _) => format!(
                    "recovery: undone at {}, recovered {} later → 1.00",
                    u.format("%H:%M"),
                    minutes_text((breach.recovered - *u).num_seconds() as f64 / 60.0)
                ),
                (None, Some(u)) => {
                    format!("recovery: undone at {} without recovery after it → 0.00", u.format("%H:%M"))
                }
                (None, None) => "recovery: never undone → 0.00".to_string(),
            });

            let score = 0.2 * time + 0.2 * scope + 0.3 * effect + 0.3 * recovery;
            let close = delta <= Duration::minutes(15);
            let verdict = if (recovery >= 1.0 && scope >= 0.5) || (effect >= 0.6 && scope >= 0.7 && close) {
                Verdict::Likely
            } else if (effect >= 0.4 && scope >= 0.5) || (recovery >= 1.0 && scope >= 0.3) {
                Verdict::Possible
            } else {
                Verdict::Unlikely
            };
            suspects.push(Suspect {
                rank: 0,
                kind: c.kind,
                id: c.id,
                service: c.service,
                ts: c.ts,
                title: c.title,
                time: round2(time),
                scope: round2(scope),
                effect: round2(effect),
                recovery,
                score: round2(score),
                verdict,
                undone_at: recovery_at.or(c.undone.last()).copied(),
                evidence,
            });
        }
        suspects.sort_by(|a, b| {
            (a.verdict, std::cmp::Reverse(ordered(a.score)), std::cmp::Reverse(a.ts), &a.id).cmp(&(
                b.verdict,
                std::cmp::Reverse(ordered(b.score)),
                std::cmp::Reverse(b.ts),
                &b.id,
            ))
        });
        for (i, s) in suspects.iter_mut().enumerate() {
            s.rank = i + 1;
        }
        let verdict = match suspects.first() {
            Some(s) if s.verdict != Verdict::Unlikely => format!("{}: {}", s.verdict.label(), s.id),
            _ => "no change explains this breach".to_string(),
        };
        out.push(BreachSuspects { breach: breach.clone(), verdict, suspects });
    }
    Ok(out)
}

fn ordered(v: f64) -> i64 {
    (v * 1e6) as i64
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn minutes_text(m: f64) -> String {
    if m.abs() >= 120.0 { format!("{:.1} h", m / 60.0) } else { format!("{m:.0} min") }
}

const CANARY_LINES_SQL: &str = include_str!("../../queries/canary_lines.sql");

/// The longest text every version contains (`v2.` of `v2.14.0` and `v2.15.1`; empty when
/// they share nothing). A message that names a version contains it, so the canary scan
/// ships only messages holding it: most log lines name no version, and copying and
/// sorting every message of every deployed service was most of a report's time.
fn common_substring(versions: &[&str]) -> String {
    let Some(shortest) = versions.iter().min_by_key(|v| v.len()) else { return String::new() };
    let chars: Vec<(usize, char)> = shortest.char_indices().collect();
    for len in (1..=chars.len()).rev() {
        for start in 0..=chars.len() - len {
            let from = chars[start].0;
            let to = chars.get(start + len).map_or(shortest.len(), |c| c.0);
            let candidate = &shortest[from..to];
            if versions.iter().all(|v| v.contains(candidate)) {
                return candidate.to_string();
            }
        }
    }
    String::new()
}

/// `minutes` after `ts`, or the breach's recovery if sooner, but at least a minute after
/// `ts`: where the "after" side of a change's effect and a deploy's canary check end.
fn after_until_recovery(ts: DateTime<Utc>, minutes: i64, breach: &Breach) -> DateTime<Utc> {
    (ts + Duration::minutes(minutes)).min(breach.recovered.max(ts + Duration::minutes(1)))
}

/// The end of the "after" side of a change's effect: 15 minutes on.
fn effect_after_end(ts: DateTime<Utc>, breach: &Breach) -> DateTime<Utc> {
    after_until_recovery(ts, 15, breach)
}

/// The errors a change's effect reads: the hour before it to the recovery (or the end of
/// its "after" side, if later).
fn effect_span_of(ts: DateTime<Utc>, breach: &Breach) -> Window {
    Window { from: ts - Duration::minutes(60), to: effect_after_end(ts, breach).max(breach.recovered) }
}

/// Where a deploy's canary check ends: 30 minutes after it.
fn canary_end(ts: DateTime<Utc>, breach: &Breach) -> DateTime<Utc> {
    after_until_recovery(ts, 30, breach)
}

/// One service's lines over the span of its deploys' canary windows, read once per
/// breach: a busy day has a deploy every few minutes, and one query per deploy
/// (canary_hosts.sql) made a report take a minute.
#[derive(Default)]
struct CanaryLines {
    /// Sorted.
    ts: Vec<i64>,
    host: Vec<u32>,
    is_error: Vec<bool>,
    /// Rows whose message names one of the versions: (row, message).
    named: Vec<(usize, String)>,
    hosts: usize,
}

impl CanaryLines {
    /// The lines for every service with a deploy (with a version) among `candidates`.
    async fn load(
        ctx: &SessionContext,
        candidates: &[Candidate],
        breach: &Breach,
    ) -> Result<BTreeMap<String, CanaryLines>> {
        /// A service's deploys: from the first one's start to the last canary window's end.
        struct Span<'c> {
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            versions: BTreeSet<&'c str>,
        }
        let mut spans: BTreeMap<&str, Span> = BTreeMap::new();
        for c in candidates {
            if let (Some(s), Some(v)) = (&c.service, &c.version) {
                let to = canary_end(c.ts, breach);
                let span = spans.entry(s).or_insert(Span { from: c.ts, to, versions: BTreeSet::new() });
                span.from = span.from.min(c.ts);
                span.to = span.to.max(to);
                span.versions.insert(v);
            }
        }
        // One scan for every deployed service, over the union of their spans: a scan per
        // service read the same row groups again for each (a second of a report with
        // eight deployed services). A service's extra lines outside its own span are
        // never counted: `canary` looks at a deploy's window only.
        let (Some(from), Some(to)) = (spans.values().map(|s| s.from).min(), spans.values().map(|s| s.to).max()) else {
            return Ok(BTreeMap::new());
        };
        let services: Vec<String> = spans.keys().map(|s| regex::escape(s)).collect();
        let raw: Vec<&str> = spans.values().flat_map(|s| s.versions.iter().copied()).collect();
        let needle = common_substring(&raw);
        let versions: BTreeSet<String> = raw.iter().map(|v| regex::escape(v)).collect();
        // Compiled once for the whole scan (the query used to do it per batch in SQL).
        // Thousands of deploys in a lookback make a big automaton: past the default 10 MB
        // limit, the canary evidence would be lost for the whole breach.
        let names_version = regex::RegexBuilder::new(&versions.into_iter().collect::<Vec<_>>().join("|"))
            .size_limit(1 << 28)
            .build()
            .map_err(|e| crate::error::Error::Internal(format!("the pattern of deployed versions: {e}")))?;
        let p = Params::window(Window::new(from, to)?, None)
            .with("services", datafusion::scalar::ScalarValue::Utf8(Some(format!("^(?:{})$", services.join("|")))))
            .with("needle", datafusion::scalar::ScalarValue::Utf8(Some(needle)));
        // Per service: its lines, and host → the host's index in them.
        let mut building: BTreeMap<String, (CanaryLines, HashMap<String, u32>)> = BTreeMap::new();
        for b in params::run(ctx, CANARY_LINES_SQL, p).await? {
            let (service, host, ts, err, named) = (
                Column::of(&b, "service")?,
                Column::of(&b, "host")?,
                Column::of(&b, "ts")?,
                Column::of(&b, "is_error")?,
                Column::of(&b, "msg")?,
            );
            let (svc, hs, ts, errs, named) = (service.utf8()?, host.utf8()?, ts.micros()?, err.bools()?, named.utf8()?);
            for i in 0..b.num_rows() {
                let (false, false, Some(t)) = (svc.is_null(i), hs.is_null(i), ts[i]) else { continue };
                if !building.contains_key(svc.value(i)) {
                    building.insert(svc.value(i).to_string(), Default::default());
                }
                let (lines, ids) = building.get_mut(svc.value(i)).expect("inserted above");
                let id = match ids.get(hs.value(i)) {
                    Some(id) => *id,
                    None => {
                        let id = ids.len() as u32;
                        ids.insert(hs.value(i).to_string(), id);
                        id
                    }
                };
                if !named.is_null(i) && names_version.is_match(named.value(i)) {
                    lines.named.push((lines.ts.len(), named.value(i).to_string()));
                }
                lines.ts.push(t);
                lines.host.push(id);
                lines.is_error.push(errs[i].unwrap_or(false));
            }
        }
        Ok(building
            .into_iter()
            .map(|(service, (lines, ids))| (service, CanaryLines { hosts: ids.len(), ..lines }))
            .collect())
    }

    /// Error ratios of the hosts that logged `version` in `[from, to)` and of the
    /// others, with the host counts; `None` unless both groups exist.
    fn canary(&self, version: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<(f64, f64, usize, usize)> {
        let (from, to) = (from.timestamp_micros(), to.timestamp_micros());
        let lo = self.ts.partition_point(|t| *t < from);
        let hi = self.ts.partition_point(|t| *t < to);
        // Per host: (named the version, errors, lines).
        let mut per_host = vec![(false, 0u64, 0u64); self.hosts];
        for i in lo..hi {
            let h = &mut per_host[self.host[i] as usize];
            h.1 += u64::from(self.is_error[i]);
            h.2 += 1;
        }
        let first = self.named.partition_point(|(row, _)| *row < lo);
        for (row, msg) in self.named[first..].iter().take_while(|(row, _)| *row < hi) {
            if msg.contains(version) {
                per_host[self.host[*row] as usize].0 = true;
            }
        }
        let (mut new, mut rest) = ((0.0, 0.0, 0usize), (0.0, 0.0, 0usize));
        for (on_new, errors, lines) in per_host.into_iter().filter(|h| h.2 > 0) {
            let g = if on_new { &mut new } else { &mut rest };
            g.0 += errors as f64;
            g.1 += lines as f64;
            g.2 += 1;
        }
        if new.2 == 0 || rest.2 == 0 || new.1 == 0.0 || rest.1 == 0.0 {
            return None;
        }
        Some((new.0 / new.1, rest.0 / rest.1, new.2, new.2 + rest.2))
    }
}

/// Error ratio over `[from, to)` of minutes with data.
fn ratio_between(m: &Minutes, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
    let (mut bad, mut total, mut data) = (0.0, 0.0, false);
    for i in m.starting_in(from, to) {
        if m.has_data[i] {
            bad += m.bad[i];
            total += m.total[i];
            data = true;
        }
    }
    data.then(|| if total > 0.0 { bad / total } else { 0.0 })
}

/// The SLO a service's errors are read from: its first in the config.
fn slo_of<'c>(config: &'c Config, service: &str) -> Option<&'c crate::config::Slo> {
    config.slos.iter().find(|slo| slo.service == service)
}

/// The default errors SLI of a service without an SLO: the share of its log lines at
/// error/fatal level.
const DEFAULT_BAD: &str = "level IN ('error', 'fatal')";
const DEFAULT_TOTAL: &str = "true";

/// Every service's errors per minute over `span` into `cache` (services already covered
/// are left alone): a service's SLO's SLI when it has one, else the share of its log lines
/// at error/fatal level, all of those from one grouped scan. The effects of a breach's
/// candidates look up their own service and every unrelated one, so filling the cache
/// up front turns a query per service into one.
async fn fill_service_minutes(
    ctx: &SessionContext,
    config: &Config,
    services: &BTreeSet<String>,
    span: Window,
    cache: &mut HashMap<String, (Window, Minutes)>,
) -> Result<()> {
    let missing: Vec<&str> = services
        .iter()
        .filter(|s| !cache.get(*s).is_some_and(|(w, _)| w.from <= span.from && w.to >= span.to))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // Read a generous span once: breaches are usually close together.
    let wide = Window { from: span.from - Duration::hours(6), to: span.to + Duration::hours(2) };
    let (mut with_slo, mut without) = (Vec::new(), Vec::new());
    for s in missing {
        match slo_of(config, s) {
            Some(slo) => with_slo.push((s, slo)),
            None => without.push(s),
        }
    }
    let evaluated =
        futures::future::try_join_all(with_slo.iter().map(|(_, slo)| sli::evaluate(ctx, slo, wide))).await?;
    for ((s, _), m) in with_slo.iter().zip(evaluated) {
        cache.insert(s.to_string(), (wide, m));
    }
    for (s, m) in sli::log_ratio_per_service(ctx, &without, DEFAULT_BAD, DEFAULT_TOTAL, wide).await? {
        cache.insert(s, (wide, m));
    }
    Ok(())
}

/// Changes and deploys started in `[from, to)`, with when each was undone (looking up to
/// `undo_until`).
async fn candidates(
    ctx: &SessionContext,
    log: Option<&ChangeLog>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    undo_until: DateTime<Utc>,
) -> Result<Vec<Candidate>> {
    let all = Window::new(from, undo_until.max(to))?;
    let (changes, spans) = match log.filter(|l| l.covers(all.from, all.to)) {
        Some(log) => log.within(all.from, all.to, None),
        None => {
            let log = ChangeLog::read(ctx, all).await?;
            (log.changes, log.spans)
        }
    };
    let mut out = Vec::new();
    for c in &changes {
        // A revert is a fix, not a suspect.
        if c.ts < from || c.ts >= to || c.reverts.is_some() {
            continue;
        }
        let id = c.change_id.clone().unwrap_or_default();
        // Undone: a later change that says it reverts this one, or sets the key back.
        let undone: Vec<DateTime<Utc>> = changes
            .iter()
            .filter(|later| {
                later.ts > c.ts
                    && (later.reverts.as_deref() == Some(id.as_str())
                        || (c.key.is_some()
                            && later.key == c.key
                            && later.service == c.service
                            && c.old_value.is_some()
                            && later.new_value == c.old_value))
            })
            .map(|later| later.ts)
            .collect();
        let title = match &c.key {
            Some(k) => {
                format!("{k}: {} → {}", c.old_value.as_deref().unwrap_or("∅"), c.new_value.as_deref().unwrap_or("∅"))
            }
            None => "config change".into(),
        };
        out.push(Candidate {
            kind: EventKind::Change,
            id,
            service: c.service.clone(),
            ts: c.ts,
            title,
            undone,
            version: None,
        });
    }

    // Deploys: spans that started in the window; undone by a rollback or a later deploy of the previous version.
    for span in &spans {
        if span.started < from || span.started >= to {
            continue;
        }
        let mut undone = Vec::new();
        if span.final_status == "rolled_back" {
            undone.push(span.ended);
        }
        // A later deploy of the same service back to the version this one replaced.
        for later in &spans {
            if later.started > span.started
                && later.service == span.service
                && span.previous_version.is_some()
                && later.version == span.previous_version
            {
                undone.push(later.started);
            }
        }
        undone.sort();
        let rollout =
            span.max_percent.filter(|p| *p < 100.0).map(|p| format!(" ({p:.0}% rolled out)")).unwrap_or_default();
        let title = format!(
            "deploy {} → {}{rollout}, {}",
            span.previous_version.as_deref().unwrap_or("?"),
            span.version.as_deref().unwrap_or("?"),
            span.final_status
        );
        out.push(Candidate {
            kind: EventKind::Deploy,
            id: span.deploy_id.clone(),
            service: span.service.clone(),
            ts: span.started,
            title,
            undone,
            version: span.version.clone(),
        });
    }
    out.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
    Ok(out)
}

/// The service dependency graph (`[services.x] depends_on`).
struct Graph {
    deps: BTreeMap<String, Vec<String>>,
}

impl Graph {
    fn new(config: &Config) -> Graph {
        Graph { deps: config.services.iter().map(|(k, v)| (k.clone(), v.depends_on.clone())).collect() }
    }

    fn services(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.deps.keys().cloned().collect();
        all.extend(self.deps.values().flatten().cloned());
        all
    }

    /// Hops from `from` down its dependencies to `to` (0: the same service).
    fn distance(&self, from: &str, to: &str) -> Option<usize> {
        if from == to {
            return Some(0);
        }
        let mut seen = BTreeSet::from([from.to_string()]);
        let mut queue = VecDeque::from([(from.to_string(), 0)]);
        while let Some((s, d)) = queue.pop_front() {
            for next in self.deps.get(&s).into_iter().flatten() {
                if next == to {
                    return Some(d + 1);
                }
                if seen.insert(next.clone()) {
                    queue.push_back((next.clone(), d + 1));
                }
            }
        }
        None
    }

    /// Services neither upstream nor downstream of `s`: controls for its effect.
    fn unrelated_to(&self, s: &str) -> Vec<String> {
        self.services()
            .into_iter()
            .filter(|o| o != s && self.distance(s, o).is_none() && self.distance(o, s).is_none())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_share_their_longest_common_text() {
        assert_eq!(common_substring(&["v2.14.0", "v2.15.1", "v2.9.3"]), "v2.");
        assert_eq!(common_substring(&["1.0.0-rc1", "build 1.0.0"]), "1.0.0");
        assert_eq!(common_substring(&["abc", "xyz"]), "");
        assert_eq!(common_substring(&["évé-1", "évé-2"]), "évé-");
        assert_eq!(common_substring(&[]), "");
    }

    #[test]
    fn graph_distances_and_controls() {
        let text = r#"
[services.edge]
depends_on = ["checkout", "search"]
[services.checkout]
depends_on = ["payments"]
[services.search]
[services.payments]
[services.mail]
"#;
        let config = Config::parse(text, std::path::Path::new("/")).unwrap();
        let g = Graph::new(&config);
        assert_eq!(g.distance("edge", "payments"), Some(2));
        assert_eq!(g.distance("payments", "edge"), None);
        assert_eq!(g.distance("checkout", "checkout"), Some(0));
        assert_eq!(g.unrelated_to("payments"), vec!["mail", "search"]);
    }
}
