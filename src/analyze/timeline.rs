//! The unified timeline, first cut: config changes, deploy events and bursts of error log
//! lines merged into one time-ordered list of [`Event`]s. Later analyses (breaches, new
//! error signatures, automation loops) add kinds to [`EventKind`]; renderers do not change.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use serde::Serialize;

use super::params::{self, Column, Params, Provenance, Window};
use crate::error::Result;

const CHANGES_SQL: &str = include_str!("../../queries/changes_in_window.sql");
const DEPLOYS_SQL: &str = include_str!("../../queries/deploy_events_in_window.sql");
const LOG_ERRORS_SQL: &str = include_str!("../../queries/log_errors_per_minute.sql");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Change,
    Deploy,
    LogErrors,
}

impl EventKind {
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Change => "change",
            EventKind::Deploy => "deploy",
            EventKind::LogErrors => "errors",
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

/// Where an event's evidence is: an object and a line in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SourceRef {
    pub object: String,
    pub line: u64,
}

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
}

/// Builds the timeline for a window, oldest first (ties: kind, service, title).
pub async fn build(ctx: &SessionContext, q: &TimelineQuery) -> Result<Vec<Event>> {
    let base = Params::window(q.window, q.service.as_deref());
    let mut events = changes(ctx, base.clone()).await?;
    events.extend(deploys(ctx, base.clone()).await?);
    let errors = base.with("include_warn", ScalarValue::Boolean(Some(q.include_warn)));
    events.extend(log_bursts(ctx, errors, q.bucket).await?);
    events.sort_by(|a, b| {
        (a.ts, a.kind, &a.service, &a.title, &a.source).cmp(&(b.ts, b.kind, &b.service, &b.title, &b.source))
    });
    Ok(events)
}

async fn changes(ctx: &SessionContext, p: Params) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for b in params::run(ctx, CHANGES_SQL, p).await? {
        let c = |n| Column::of(&b, n);
        let provenance = Provenance::of(&b, "source", "line")?;
        let (ts, id, service, system, key, old, new, actor, desc, reverts) = (
            c("ts")?,
            c("change_id")?,
            c("service")?,
            c("system")?,
            c("key")?,
            c("old_value")?,
            c("new_value")?,
            c("actor")?,
            c("description")?,
            c("reverts")?,
        );
        for i in 0..b.num_rows() {
            let id_v = id.str(i)?.unwrap_or_default();
            let mut title = id_v.clone();
            if let Some(k) = key.str(i)? {
                title.push_str(&format!(" {k}: {} → {}", show(old.str(i)?), show(new.str(i)?)));
            }
            let mut by = Vec::new();
            if let Some(a) = actor.str(i)? {
                by.push(format!("by {a}"));
            }
            if let Some(s) = system.str(i)? {
                by.push(format!("via {s}"));
            }
            if !by.is_empty() {
                title.push_str(&format!(" ({})", by.join(" ")));
            }
            let reverts = reverts.str(i)?;
            if let Some(r) = &reverts {
                title.push_str(&format!(" — reverts {r}"));
            }
            out.push(Event {
                ts: ts.time(i)?.unwrap_or_default(),
                end: None,
                kind: EventKind::Change,
                service: service.str(i)?,
                severity: if reverts.is_some() { Severity::Warn } else { Severity::Info },
                id: Some(id_v),
                title,
                detail: desc.str(i)?,
                count: 1,
                source: provenance.at(i)?,
            });
        }
    }
    Ok(out)
}

async fn deploys(ctx: &SessionContext, p: Params) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for b in params::run(ctx, DEPLOYS_SQL, p).await? {
        let c = |n| Column::of(&b, n);
        let provenance = Provenance::of(&b, "source", "line")?;
        let (ts, id, service, version, prev, env, status, pct, actor, desc) = (
            c("ts")?,
            c("deploy_id")?,
            c("service")?,
            c("version")?,
            c("previous_version")?,
            c("environment")?,
            c("status")?,
            c("percent")?,
            c("actor")?,
            c("description")?,
        );
        for i in 0..b.num_rows() {
            let id_v = id.str(i)?.unwrap_or_default();
            let status_v = status.str(i)?.unwrap_or_default();
            let mut title = format!("{id_v} {status_v}");
            match (prev.str(i)?, version.str(i)?) {
                (Some(p), Some(v)) => title.push_str(&format!(": {p} → {v}")),
                (None, Some(v)) => title.push_str(&format!(": {v}")),
                _ => {}
            }
            if let Some(p) = pct.f64(i)? {
                title.push_str(&format!(" at {p}%"));
            }
            if let Some(e) = env.str(i)? {
                title.push_str(&format!(" in {e}"));
            }
            if let Some(a) = actor.str(i)? {
                title.push_str(&format!(" (by {a})"));
            }
            let severity = match status_v.as_str() {
                "failed" | "rolled_back" => Severity::Warn,
                _ => Severity::Info,
            };
            out.push(Event {
                ts: ts.time(i)?.unwrap_or_default(),
                end: None,
                kind: EventKind::Deploy,
                service: service.str(i)?,
                severity,
                id: Some(id_v),
                title,
                detail: desc.str(i)?,
                count: 1,
                source: provenance.at(i)?,
            });
        }
    }
    Ok(out)
}

/// One (service, level, minute) group from SQL.
struct Minute {
    minute: DateTime<Utc>,
    lines: u64,
    first_msg: Option<String>,
    source: SourceRef,
}

async fn log_bursts(ctx: &SessionContext, p: Params, bucket: Duration) -> Result<Vec<Event>> {
    // (service, level, bucket start) → minutes in that bucket, in time order.
    let mut groups: BTreeMap<(Option<String>, String, DateTime<Utc>), Vec<Minute>> = BTreeMap::new();
    let bucket_us = bucket.num_microseconds().unwrap_or(60_000_000).max(60_000_000);
    for b in params::run(ctx, LOG_ERRORS_SQL, p).await? {
        let c = |n| Column::of(&b, n);
        let provenance = Provenance::of(&b, "first_source", "first_line")?;
        let (minute, service, level, lines, msg) =
            (c("minute")?, c("service")?, c("level")?, c("lines")?, c("first_msg")?);
        for i in 0..b.num_rows() {
            let m = minute.time(i)?.unwrap_or_default();
            let start_us = m.timestamp_micros().div_euclid(bucket_us) * bucket_us;
            let start = DateTime::from_timestamp_micros(start_us).unwrap_or(m);
            groups.entry((service.str(i)?, level.str(i)?.unwrap_or_default(), start)).or_default().push(Minute {
                minute: m,
                lines: lines.i64(i)?.unwrap_or(0) as u64,
                first_msg: msg.str(i)?,
                source: provenance.at(i)?,
            });
        }
    }
    let mut out = Vec::new();
    for ((service, level, _start), mut minutes) in groups {
        minutes.sort_by_key(|m| m.minute);
        let first = &minutes[0];
        let last = minutes.last().map_or(first.minute, |m| m.minute);
        let count: u64 = minutes.iter().map(|m| m.lines).sum();
        let what = if count == 1 { "line" } else { "lines" };
        out.push(Event {
            ts: first.minute,
            end: Some(last + Duration::minutes(1)),
            kind: EventKind::LogErrors,
            service,
            severity: if level == "warn" { Severity::Warn } else { Severity::Error },
            id: None,
            title: format!("{count} {level} log {what}"),
            detail: first.first_msg.clone(),
            count,
            source: first.source.clone(),
        });
    }
    Ok(out)
}

fn show(v: Option<String>) -> String {
    v.unwrap_or_else(|| "∅".to_string())
}
