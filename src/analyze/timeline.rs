//! The unified timeline: config changes, deploys as spans, SLO breaches, new error
//! signatures (templates mined Drain-style, first seen in the window and not in the 6
//! hours before), bursts of error lines above their baseline, and automation loops (the
//! same setting or version flipping back and forth), merged into one time-ordered list of
//! [`Event`]s. A window of millions of log lines becomes dozens to hundreds of rows.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use serde::Serialize;

use super::changes::ChangeLog;
use super::params::{self, Params, Window};
use crate::error::Result;

const LOG_ERRORS_SQL: &str = include_str!("../../queries/log_errors_per_minute.sql");
const ERROR_MESSAGES_SQL: &str = include_str!("../../queries/error_messages.sql");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Breach,
    Change,
    Deploy,
    Loop,
    NewSignature,
    LogErrors,
    /// What people and their tools did: alerts, pages, acks, chat, status updates, notes.
    Response,
}

impl EventKind {
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Breach => "breach",
            EventKind::Change => "change",
            EventKind::Deploy => "deploy",
            EventKind::Loop => "loop",
            EventKind::NewSignature => "new error",
            EventKind::LogErrors => "errors",
            EventKind::Response => "response",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

pub use super::params::SourceRef;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub ts: DateTime<Utc>,
    /// End of the event, for events that last (a burst's last bucket).
    pub end: Option<DateTime<Utc>>,
    pub kind: EventKind,
    pub service: Option<String>,
    pub severity: Severity,
    /// The change or deploy id, if the event has one.
    pub id: Option<String>,
    pub title: String,
    pub detail: Option<String>,
    /// Records the event stands for (log lines in a burst; 1 otherwise).
    pub count: u64,
    pub source: SourceRef,
    /// What a change or a deploy changed, as fields: analyses (loop detection) read
    /// these, never the title, which is display text. Not in the report's JSON (v1).
    #[serde(skip)]
    pub subject: Option<Subject>,
}

/// The typed content of a change or deploy event, straight from its row.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    Change {
        key: Option<String>,
        old: Option<String>,
        new: Option<String>,
        actor: Option<String>,
        system: Option<String>,
        reverts: Option<String>,
    },
    Deploy {
        version: Option<String>,
        previous: Option<String>,
        status: String,
    },
}

impl Subject {
    /// What a change did, in one line: `key: old → new (by actor via system) — reverts X`
    /// (each part only when known). A change's title is its id and this; the report's
    /// change table shows this beside the id. Empty for a deploy.
    pub fn describe(&self) -> String {
        let Subject::Change { key, old, new, actor, system, reverts } = self else { return String::new() };
        let mut parts = Vec::new();
        if let Some(k) = key {
            parts.push(format!("{k}: {} → {}", show(old.clone()), show(new.clone())));
        }
        let by: Vec<String> = [actor.as_ref().map(|a| format!("by {a}")), system.as_ref().map(|s| format!("via {s}"))]
            .into_iter()
            .flatten()
            .collect();
        if !by.is_empty() {
            parts.push(format!("({})", by.join(" ")));
        }
        let mut out = parts.join(" ");
        if let Some(r) = reverts {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("— reverts {r}"));
        }
        out
    }
}

impl Event {
    /// The title, and the detail after an em dash when there is one: the one-line form
    /// every renderer shows.
    pub fn headline(&self) -> String {
        match &self.detail {
            Some(d) => format!("{} — {d}", self.title),
            None => self.title.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TimelineQuery {
    pub window: Window,
    pub service: Option<String>,
    /// Length of the buckets error lines are grouped into (whole minutes).
    pub bucket: Duration,
    pub include_warn: bool,
    /// Breaches to show (from the window's [`super::Analysis`]; none: no breach rows).
    pub breaches: Vec<super::slo::Breach>,
}

/// How far back the baseline for bursts and new signatures reaches.
pub const BASELINE: Duration = Duration::hours(6);

/// Builds the timeline for a window, oldest first (ties: kind, service, title).
pub async fn build(ctx: &SessionContext, q: &TimelineQuery) -> Result<Vec<Event>> {
    // Each input is its own query: side by side, their planning and file opening overlap
    // instead of queueing.
    let (log, errors, signatures, people) = futures::try_join!(
        ChangeLog::read(ctx, q.window),
        error_minutes(ctx, q),
        new_signatures(ctx, q),
        super::people::read(ctx, q.window, q.service.as_deref())
    )?;
    Ok(assemble(q, &log, &errors, signatures, &people))
}

/// [`build`] from inputs the caller already read (the report shares them with the
/// suspect ranking and the charts): `log` covering the window, `errors` from
/// [`error_minutes`], `signatures` from [`new_signatures`] and `people` from
/// [`super::people::read`] for the same query.
pub fn assemble(
    q: &TimelineQuery,
    log: &ChangeLog,
    errors: &[ErrorMinute],
    signatures: Vec<Event>,
    people: &[super::people::HumanRow],
) -> Vec<Event> {
    let (changes, spans) = log.within(q.window.from, q.window.to, q.service.as_deref());
    let mut events: Vec<Event> = changes.into_iter().map(change_event).collect();
    events.extend(spans.into_iter().map(deploy_event));
    events.extend(loops(&events));
    events.extend(breaches(q));
    events.extend(signatures);
    events.extend(log_bursts(q, errors));
    events.extend(people.iter().map(|r| human_event(r, log)));
    events.sort_by(|a, b| {
        (a.ts, a.kind, &a.service, &a.title, &a.source).cmp(&(b.ts, b.kind, &b.service, &b.title, &b.source))
    });
    events
}

/// Error (and, with `include_warn`, warn) lines per service, level and minute over the
/// window and the [`BASELINE`] before it: the bursts and their baseline from one scan
/// (`log_errors_per_minute.sql`).
pub async fn error_minutes(ctx: &SessionContext, q: &TimelineQuery) -> Result<Vec<ErrorMinute>> {
    let reach = Window { from: q.window.from - BASELINE, to: q.window.to };
    let p =
        Params::window(reach, q.service.as_deref()).with("include_warn", ScalarValue::Boolean(Some(q.include_warn)));
    params::rows(ctx, LOG_ERRORS_SQL, p).await
}

/// A change as a timeline row, titled with its id and what it did ([`Subject::describe`]).
fn change_event(r: super::changes::ChangeRow) -> Event {
    let id = r.change_id.unwrap_or_default();
    let severity = if r.reverts.is_some() { Severity::Warn } else { Severity::Info };
    let subject = Subject::Change {
        key: r.key,
        old: r.old_value,
        new: r.new_value,
        actor: r.actor,
        system: r.system,
        reverts: r.reverts,
    };
    let what = subject.describe();
    Event {
        ts: r.ts,
        end: None,
        kind: EventKind::Change,
        service: r.service,
        severity,
        title: if what.is_empty() { id.clone() } else { format!("{id} {what}") },
        id: Some(id),
        detail: r.description,
        count: 1,
        source: SourceRef::of(r.source, r.line),
        subject: Some(subject),
    }
}

/// A deploy span as a timeline row.
fn deploy_event(span: super::spans::DeploySpan) -> Event {
    let mut title = span.deploy_id.clone();
    match (&span.previous_version, &span.version) {
        (Some(p), Some(v)) => title.push_str(&format!(" {p} → {v}")),
        (None, Some(v)) => title.push_str(&format!(" {v}")),
        _ => {}
    }
    title.push_str(&format!(": {}", span.final_status));
    if let Some(p) = span.max_percent {
        title.push_str(&format!(" at {p}%"));
    }
    if let Some(e) = &span.environment {
        title.push_str(&format!(" in {e}"));
    }
    let (from, to) = (span.started, span.ended);
    let severity = match span.final_status.as_str() {
        "failed" | "rolled_back" => Severity::Warn,
        _ => Severity::Info,
    };
    let n = span.events.max(1);
    Event {
        ts: from,
        end: (to > from).then_some(to),
        kind: EventKind::Deploy,
        service: span.service,
        severity,
        id: Some(span.deploy_id),
        title,
        detail: Some(format!("{n} events over {}", crate::display::duration(to - from))),
        count: n,
        source: span.source,
        subject: Some(Subject::Deploy {
            version: span.version,
            previous: span.previous_version,
            status: span.final_status,
        }),
    }
}

/// What each event kind is called in a timeline row.
fn human_label(kind: &str) -> &str {
    match kind {
        "alert_firing" => "alert fired",
        "alert_resolved" => "alert resolved",
        "page" => "paged",
        "ack" => "acknowledged",
        "escalation" => "escalated",
        "declared" => "incident declared",
        "status_update" => "status update",
        other => other,
    }
}

/// An incident event as a timeline row: `paged: [#42] payments errors`, by its actor,
/// linked to the first change or deploy it names.
fn human_event(r: &super::people::HumanRow, log: &ChangeLog) -> Event {
    let what = r.title.clone().or_else(|| r.text.clone()).filter(|w| !w.trim().is_empty()).unwrap_or_default();
    let title =
        if what.is_empty() { human_label(&r.kind).to_string() } else { format!("{}: {what}", human_label(&r.kind)) };
    let said = [r.title.as_deref(), r.text.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let named = super::people::mentions(&said, log);
    let mut detail: Vec<String> = Vec::new();
    if let Some(a) = &r.actor {
        detail.push(format!("by {a}"));
    }
    if r.title.is_some()
        && let Some(t) = r.text.as_ref().filter(|t| !t.trim().is_empty())
    {
        detail.push(t.clone());
    }
    if !named.is_empty() {
        detail.push(format!("mentions {}", named.join(", ")));
    }
    let severity = match r.kind.as_str() {
        "alert_firing" | "page" | "escalation" | "declared" => Severity::Warn,
        _ => Severity::Info,
    };
    Event {
        ts: r.ts,
        end: None,
        kind: EventKind::Response,
        service: r.service.clone(),
        severity,
        id: named.into_iter().next(),
        title,
        detail: (!detail.is_empty()).then(|| detail.join("; ")),
        count: 1,
        source: SourceRef::of(r.source.clone(), r.line),
        subject: None,
    }
}

/// The query's breaches as timeline rows (those touching its service, if it names one).
fn breaches(q: &TimelineQuery) -> Vec<Event> {
    q.breaches
        .iter()
        .filter(|b| q.service.as_ref().is_none_or(|s| b.affected_services.contains(s)))
        .map(|b| Event {
            ts: b.onset,
            end: Some(b.until()),
            kind: EventKind::Breach,
            service: Some(b.service.clone()),
            severity: Severity::Error,
            id: Some(b.slo.clone()),
            title: format!("SLO {} breached (peak burn rate {:.0}×)", b.slo, b.peak_burn_rate),
            detail: Some(format!(
                "detected {} by {}, {}, {:.1}% of the budget; affected: {}",
                b.detected.format("%H:%M"),
                b.detected_by,
                recovery_text(b),
                b.budget_consumed_pct,
                b.affected_services.join(", ")
            )),
            count: b.bad_events.round() as u64,
            source: SourceRef { object: format!("retrace slo --slo {}", b.slo), line: 0 },
            subject: None,
        })
        .collect()
}

/// `recovered 14:42`, or `ongoing at 16:00 (end of data)` for a breach that never recovered.
pub fn recovery_text(b: &super::slo::Breach) -> String {
    match (b.recovered, b.ongoing_at) {
        (Some(r), _) => format!("recovered {}", r.format("%H:%M")),
        (None, Some(end)) => format!("ongoing at {} (end of data)", end.format("%H:%M")),
        (None, None) => "ongoing".to_string(),
    }
}

/// Settings and deployed versions flipping back and forth: 3 or more returns to an earlier
/// value of the same service and key within the window ("automated remediation stuck in a
/// loop", a deploy rolled back and forward again and again).
fn loops(changes: &[Event]) -> Vec<Event> {
    // (service, key) → (ts, new value, id, source), in time order.
    type ByKey<'a> = BTreeMap<(Option<String>, String), Vec<(&'a Event, String)>>;
    let mut by_key: ByKey = BTreeMap::new();
    for e in changes {
        let kv = match &e.subject {
            // Shown as in the title: an unset value is `∅`.
            Some(Subject::Change { key: Some(key), new, .. }) => Some((key.clone(), show(new.clone()))),
            Some(Subject::Deploy { version: Some(v), .. }) => Some(("deployed version".to_string(), v.clone())),
            _ => None,
        };
        if let Some((key, value)) = kv {
            by_key.entry((e.service.clone(), key)).or_default().push((e, value));
        }
    }
    let mut out = Vec::new();
    for ((service, key), seq) in by_key {
        let values: Vec<&str> = seq.iter().map(|(_, v)| v.as_str()).collect();
        let flips =
            (1..values.len()).filter(|&i| values[..i].contains(&values[i]) && values[i] != values[i - 1]).count();
        if flips >= 3 {
            let (first, last) = (seq[0].0, seq[seq.len() - 1].0);
            let ids: Vec<&str> = seq.iter().filter_map(|(e, _)| e.id.as_deref()).collect();
            out.push(Event {
                ts: first.ts,
                end: Some(last.ts),
                kind: EventKind::Loop,
                service,
                severity: Severity::Warn,
                id: None,
                title: format!("loop: {key} flipped {flips} times ({})", values.join(" → ")),
                detail: Some(format!("changes {}", ids.join(", "))),
                count: seq.len() as u64,
                source: first.source.clone(),
                subject: None,
            });
        }
    }
    out
}

/// Error (and warn) templates whose first occurrence is in the window, not in the baseline.
pub async fn new_signatures(ctx: &SessionContext, q: &TimelineQuery) -> Result<Vec<Event>> {
    let from = q.window.from - BASELINE;
    let p = Params::window(Window { from, to: q.window.to }, q.service.as_deref())
        .with("include_warn", ScalarValue::Boolean(Some(q.include_warn)));
    // Per service: a miner and, per template, (first ts, first source, count in window, seen before).
    type Seen = HashMap<usize, (DateTime<Utc>, SourceRef, u64, bool)>;
    let mut miners: BTreeMap<Option<String>, (super::drain::Miner, Seen)> = BTreeMap::new();
    /// A row of `error_messages.sql`.
    #[derive(serde::Deserialize)]
    struct Line {
        ts: DateTime<Utc>,
        service: Option<String>,
        msg: Option<String>,
        source: Option<String>,
        line: Option<i64>,
    }
    for l in params::rows::<Line>(ctx, ERROR_MESSAGES_SQL, p).await? {
        let (miner, seen) = miners.entry(l.service).or_default();
        let id = miner.add(l.msg.as_deref().unwrap_or_default());
        let before = l.ts < q.window.from;
        let entry = seen.entry(id).or_insert_with(|| (l.ts, SourceRef::of(None, None), 0, false));
        if before {
            entry.3 = true;
        } else {
            if entry.2 == 0 {
                entry.0 = l.ts;
                entry.1 = SourceRef::of(l.source, l.line);
            }
            entry.2 += 1;
        }
    }
    // A signature first seen less than the baseline after the logs begin has nothing
    // before it to be new against: the first errors of a warehouse are not "new".
    #[derive(serde::Deserialize)]
    struct Start {
        lo: Option<DateTime<Utc>>,
    }
    let logs_start = params::rows::<Start>(ctx, "SELECT min(ts) AS lo FROM logs", Params::default())
        .await?
        .first()
        .and_then(|s| s.lo);
    let judged = |first: DateTime<Utc>| logs_start.is_none_or(|s| first >= s + BASELINE);
    let mut out = Vec::new();
    for (service, (miner, seen)) in miners {
        let mut fresh: Vec<_> =
            seen.iter().filter(|(_, v)| !v.3 && v.2 > 0 && judged(v.0)).map(|(k, v)| (*k, v)).collect();
        // The 20 most frequent new signatures per service; a flood of one-offs is noise.
        fresh.sort_by_key(|(id, v)| (std::cmp::Reverse(v.2), v.0, *id));
        for (id, (first, source, count, _)) in fresh.into_iter().take(20) {
            out.push(Event {
                ts: *first,
                end: None,
                kind: EventKind::NewSignature,
                service: service.clone(),
                severity: Severity::Error,
                id: None,
                title: format!("new: {}", miner.templates[id].text()),
                detail: Some(format!(
                    "{count} lines in the window, none in the {} before",
                    crate::display::duration(BASELINE)
                )),
                count: *count,
                source: source.clone(),
                subject: None,
            });
        }
    }
    Ok(out)
}

/// Error lines per minute per service in the baseline before the window.
fn baseline_rates(q: &TimelineQuery, errors: &[ErrorMinute]) -> HashMap<Option<String>, f64> {
    let mut out: HashMap<Option<String>, f64> = HashMap::new();
    for r in errors.iter().filter(|r| r.minute < q.window.from) {
        *out.entry(r.service.clone()).or_default() += r.lines as f64;
    }
    let minutes = BASELINE.num_minutes() as f64;
    out.into_iter().map(|(k, v)| (k, v / minutes)).collect()
}

/// A row of `log_errors_per_minute.sql`: one (service, level, minute) group.
#[derive(Debug, serde::Deserialize)]
pub struct ErrorMinute {
    pub minute: DateTime<Utc>,
    pub service: Option<String>,
    pub level: Option<String>,
    pub lines: u64,
    pub first_msg: Option<String>,
    pub first_source: Option<String>,
    pub first_line: Option<i64>,
}

/// One minute of a burst.
struct Minute {
    minute: DateTime<Utc>,
    lines: u64,
    first_msg: Option<String>,
    source: SourceRef,
}

/// Error lines per service and level, in buckets; only buckets above the service's
/// baseline (at least 5 lines and 3× its baseline rate) are kept, and consecutive ones are
/// merged into one burst.
fn log_bursts(q: &TimelineQuery, errors: &[ErrorMinute]) -> Vec<Event> {
    let baseline = &baseline_rates(q, errors);
    let bucket = q.bucket;
    // (service, level, bucket start) → minutes in that bucket, in time order.
    let mut groups: BTreeMap<(Option<String>, String, DateTime<Utc>), Vec<Minute>> = BTreeMap::new();
    let bucket_us = bucket.num_microseconds().unwrap_or(60_000_000).max(60_000_000);
    for r in errors.iter().filter(|r| r.minute >= q.window.from) {
        let m = r.minute;
        let start_us = m.timestamp_micros().div_euclid(bucket_us) * bucket_us;
        let start = DateTime::from_timestamp_micros(start_us).unwrap_or(m);
        groups.entry((r.service.clone(), r.level.clone().unwrap_or_default(), start)).or_default().push(Minute {
            minute: m,
            lines: r.lines,
            first_msg: r.first_msg.clone(),
            source: SourceRef::of(r.first_source.clone(), r.first_line),
        });
    }
    let bucket_minutes = (bucket_us / 60_000_000) as f64;
    // Bursting buckets, then merged per (service, level) when consecutive.
    type Burst = (Option<String>, String, DateTime<Utc>, Vec<Minute>);
    let mut bursts: Vec<Burst> = Vec::new();
    for ((service, level, start), mut minutes) in groups {
        minutes.sort_by_key(|m| m.minute);
        let count: u64 = minutes.iter().map(|m| m.lines).sum();
        let expected = baseline.get(&service).copied().unwrap_or(0.0) * bucket_minutes;
        if count < 5 || (count as f64) < 3.0 * expected {
            continue;
        }
        match bursts.last_mut() {
            Some((s, l, last_start, ms))
                if *s == service && *l == level && start - *last_start <= Duration::microseconds(bucket_us) =>
            {
                *last_start = start;
                ms.extend(minutes);
            }
            _ => bursts.push((service, level, start, minutes)),
        }
    }
    let mut out = Vec::new();
    for (service, level, _, minutes) in bursts {
        let first = &minutes[0];
        let last = minutes.last().map_or(first.minute, |m| m.minute);
        let count: u64 = minutes.iter().map(|m| m.lines).sum();
        let rate = baseline.get(&service).copied().unwrap_or(0.0);
        let span = ((last - first.minute).num_minutes() + 1).max(1) as f64;
        out.push(Event {
            ts: first.minute,
            end: Some(last + Duration::minutes(1)),
            kind: EventKind::LogErrors,
            service,
            severity: if level == "warn" { Severity::Warn } else { Severity::Error },
            id: None,
            title: format!("{count} {level} log lines ({:.0}/min, baseline {rate:.2}/min)", count as f64 / span),
            detail: first.first_msg.clone(),
            count,
            source: first.source.clone(),
            subject: None,
        });
    }
    out
}

fn show(v: Option<String>) -> String {
    v.unwrap_or_else(|| "∅".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(minute: i64, key: &str, new: Option<&str>) -> Event {
        Event {
            ts: DateTime::from_timestamp(1_795_096_800 + minute * 60, 0).unwrap(),
            end: None,
            kind: EventKind::Change,
            service: Some("payments".into()),
            severity: Severity::Info,
            id: Some(format!("CHG-{minute}")),
            // Display text that a title parser would misread: loops must not read it.
            title: format!("CHG-{minute} reworded: {key} now {} (by ops)", new.unwrap_or("nothing")),
            detail: None,
            count: 1,
            source: SourceRef { object: "o".into(), line: minute as u64 },
            subject: Some(Subject::Change {
                key: Some(key.into()),
                old: None,
                new: new.map(str::to_string),
                actor: Some("ops".into()),
                system: None,
                reverts: None,
            }),
        }
    }

    /// The title and the report's "what" column are one description: each part appears
    /// only when known, in one order.
    #[test]
    fn a_change_is_described_from_its_fields() {
        let change = |key: Option<&str>, actor: Option<&str>, system: Option<&str>, reverts: Option<&str>| {
            Subject::Change {
                key: key.map(str::to_string),
                old: Some("10".into()),
                new: None,
                actor: actor.map(str::to_string),
                system: system.map(str::to_string),
                reverts: reverts.map(str::to_string),
            }
            .describe()
        };
        assert_eq!(
            change(Some("db.pool: max"), Some("ann"), Some("argo"), Some("CHG-1")),
            "db.pool: max: 10 → ∅ (by ann via argo) — reverts CHG-1"
        );
        assert_eq!(change(None, None, Some("argo"), None), "(via argo)");
        assert_eq!(change(None, None, None, Some("CHG-1")), "— reverts CHG-1");
        assert_eq!(change(None, None, None, None), "");
        let deploy = Subject::Deploy { version: Some("v2".into()), previous: None, status: "succeeded".into() };
        assert_eq!(deploy.describe(), "");
    }

    /// Loops are found from the changes' fields: a key holding `: `, values holding ` (`
    /// and ` → `, and an unset value all count as written, whatever the titles say.
    #[test]
    fn loops_read_fields_not_titles() {
        let key = "flags: checkout (beta)";
        let values = [
            Some("on (canary) → all"),
            Some("off"),
            Some("on (canary) → all"),
            None,
            Some("on (canary) → all"),
            Some("off"),
        ];
        let events: Vec<Event> = values.iter().enumerate().map(|(i, v)| change(i as i64, key, *v)).collect();
        let found = loops(&events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].title,
            format!(
                "loop: {key} flipped 3 times (on (canary) → all → off → on (canary) → all → ∅ → on (canary) → all → off)"
            )
        );
        assert_eq!(found[0].count, 6);
        // A different key is its own sequence: without one of the flips this key's
        // sequence (on, off, ∅, on, off) flips twice, not a loop.
        let mut other = events.clone();
        other[2] = change(2, "another", Some("x"));
        assert!(loops(&other).is_empty(), "{:?}", loops(&other));
    }
}
