//! The report's tables, built once from the model and written by both renderers
//! ([`super::table::Table::markdown`] and [`super::table::Table::html`]): the same
//! columns, rows and words in the Markdown draft and the HTML page.

use chrono::{DateTime, Utc};

use super::model::{DeploySpan, Report, Response};
use super::table::{Cell, Table};
use crate::analyze::slo::Breach;
use crate::analyze::suspects::{BreachSuspects, Verdict};
use crate::analyze::timeline::{Event, EventKind, Subject};
use crate::display::duration;

/// The CSS class of an event kind's badge.
pub fn kind_class(kind: EventKind) -> String {
    format!("k-{}", kind.label().replace(' ', "-"))
}

fn kind(kind: EventKind) -> Cell {
    Cell::Badge { class: kind_class(kind), text: kind.label().to_string() }
}

fn text(s: Option<&str>) -> Cell {
    Cell::Text(s.unwrap_or("").to_string())
}

/// A breach's moments: onset, detection, peak, recovery and when the alerts cleared.
pub fn breach_times(br: &Breach) -> Table {
    let mut t = Table::new(&["", "@"]);
    for (label, at) in [("onset", br.onset), ("detected", br.detected), ("peak", br.peak_at)] {
        t.row(vec![label.into(), Cell::Time(at)]);
    }
    match (br.recovered, br.ongoing_at) {
        (Some(r), _) => t.row(vec!["recovered".into(), Cell::Time(r)]),
        (None, Some(end)) => t.row(vec!["ongoing at (end of data)".into(), Cell::Time(end)]),
        (None, None) => t.row(vec!["ongoing".into(), Cell::Text(String::new())]),
    }
    if let Some(end) = br.end {
        t.row(vec!["alerts cleared".into(), Cell::Time(end)]);
    }
    t
}

/// Detection and response, step by step from the onset: what the SLO says and what people
/// did, in time order.
pub fn response(r: &Response) -> Table {
    let mut t = Table::new(&["step", "@time", ">after onset", "what"]);
    let mut rows: Vec<(DateTime<Utc>, String, String)> = Vec::new();
    let mut row = |step: &str, at: DateTime<Utc>, what: String| rows.push((at, step.to_string(), what));
    row("onset", r.onset, "the change point: first minute the error ratio left its baseline".into());
    row("detected", r.detected, format!("{} burn-rate alert fires", r.detected_by));
    if let (Some(m), Some(by)) = (r.mitigated, &r.mitigated_by) {
        row("mitigated", m, format!("{by}: the SLI recovered after it"));
    }
    match (r.resolved, r.ongoing_at) {
        (Some(at), _) => row("resolved", at, "error ratio back within budget (or its baseline) for 10 minutes".into()),
        (None, Some(end)) => row("ongoing", end, "still failing when the data ends: not resolved".into()),
        (None, None) => {}
    }
    if let Some(c) = r.alerts_cleared {
        row("alerts cleared", c, "every burn-rate alert pair quiet".into());
    }
    let p = &r.people;
    let who = |m: &super::model::Milestone| m.actor.as_deref().map(|a| format!("{a}: ")).unwrap_or_default();
    if let Some(m) = &p.first_alert {
        row("alert fired", m.at, format!("{}{}", who(m), m.what));
    }
    if let Some(m) = &p.first_page {
        let gap = match p.detection_gap_minutes {
            Some(g) if g > 0 => format!(" — {g} min after the burn-rate alert would have fired"),
            Some(g) if g < 0 => format!(" — {} min before the burn-rate alert would have fired", -g),
            _ => String::new(),
        };
        row("paged", m.at, format!("{}{}{gap}", who(m), m.what));
    }
    if let Some(m) = &p.acknowledged {
        let after = p.time_to_acknowledge_minutes.map(|n| format!(" — {n} min after the page")).unwrap_or_default();
        row("acknowledged", m.at, format!("{}{}{after}", who(m), m.what).trim().to_string());
    }
    if let Some(m) = &p.declared {
        row("declared", m.at, format!("{}{}", who(m), m.what));
    }
    if let Some(m) = &p.mitigating_action {
        row("action", m.at, format!("{}{}", who(m), m.what));
    }
    if let Some(m) = &p.first_status_update {
        row("status update", m.at, format!("{}{}", who(m), m.what));
    }
    // Stable: at the same minute the SLO's steps come first.
    rows.sort_by_key(|(at, _, _)| *at);
    for (at, step, what) in rows {
        t.row(vec![step.into(), Cell::Time(at), duration(at - r.onset).into(), what.into()]);
    }
    t
}

/// A breach's ranked suspects with their evidence; the culprit's row highlighted.
pub fn suspects(b: &BreachSuspects) -> Table {
    let mut t = Table::new(&[">#", "verdict", ">score", "change", "service", "@time", "evidence"]);
    for s in &b.suspects {
        t.highlighted(
            vec![
                s.rank.to_string().into(),
                Cell::Badge { class: format!("v-{}", s.verdict.label()), text: s.verdict.label().to_string() },
                format!("{:.2}", s.score).into(),
                Cell::Lead { strong: s.id.clone(), rest: s.title.clone() },
                text(s.service.as_deref()),
                Cell::Time(s.ts),
                Cell::List(
                    s.evidence
                        .iter()
                        .cloned()
                        .chain(s.said.iter().map(|w| format!("said (not scored): {w}")))
                        .collect(),
                ),
            ],
            s.rank == 1 && s.verdict != Verdict::Unlikely,
        );
    }
    t
}

fn event_row(e: &Event, report: &Report) -> Vec<Cell> {
    vec![
        Cell::Time(e.ts),
        kind(e.kind),
        text(e.service.as_deref()),
        e.headline().into(),
        Cell::Source(e.source.display(report.source_root.as_deref())),
    ]
}

pub fn timeline(report: &Report) -> Table {
    let mut t = Table::new(&["@time", "kind", "service", "event", "source"]);
    for e in &report.timeline {
        t.row(event_row(e, report));
    }
    t
}

/// New error signatures, bursts and loops, with the lines each stands for.
pub fn signals(report: &Report) -> Table {
    let mut t = Table::new(&["@time", "kind", "service", "signal", ">lines"]);
    for e in &report.signals {
        t.row(vec![
            Cell::Time(e.ts),
            kind(e.kind),
            text(e.service.as_deref()),
            e.headline().into(),
            e.count.to_string().into(),
        ]);
    }
    t
}

pub fn activity(report: &Report) -> Table {
    let mut t = Table::new(&["service", ">log lines", ">warn", ">error", ">5xx", "first error (UTC)"]);
    for a in &report.activity {
        t.row(vec![
            a.service.as_deref().unwrap_or("(none)").into(),
            a.lines.to_string().into(),
            a.warn_lines.to_string().into(),
            a.error_lines.to_string().into(),
            a.status_5xx.to_string().into(),
            a.first_error.map_or(Cell::Text(String::new()), Cell::Time),
        ]);
    }
    t
}

/// Config changes: what each did, from its fields ([`Subject::describe`]).
pub fn changes(report: &Report) -> Table {
    let mut t = Table::new(&["@time", "change", "service", "what", "description"]);
    for e in report.changes() {
        t.row(vec![
            Cell::Time(e.ts),
            Cell::Code(e.id.clone().unwrap_or_default()),
            text(e.service.as_deref()),
            e.subject.as_ref().map(Subject::describe).unwrap_or_default().into(),
            text(e.detail.as_deref()),
        ]);
    }
    t
}

pub fn deploys(deploys: &[DeploySpan]) -> Table {
    let mut t = Table::new(&["deploy", "service", "version", "@started", "@ended", "outcome", ">rollout"]);
    for d in deploys {
        t.row(vec![
            Cell::Code(d.deploy_id.clone()),
            text(d.service.as_deref()),
            d.version_text().into(),
            Cell::Time(d.started),
            Cell::Time(d.ended),
            d.final_status.clone().into(),
            d.max_percent.map(|p| format!("{p}%")).unwrap_or_default().into(),
        ]);
    }
    t
}

pub fn gaps(report: &Report) -> Table {
    let mut t = Table::new(&["SLO", "@from", "@to", ">length"]);
    for g in &report.data_quality.gaps {
        t.row(vec![g.slo.clone().into(), Cell::Time(g.from), Cell::Time(g.to), duration(g.to - g.from).into()]);
    }
    t
}

pub fn rejects(report: &Report) -> Table {
    let mut t = Table::new(&["table", "reason", ">records", ">objects", "example"]);
    for r in &report.data_quality.rejects {
        t.row(vec![
            r.table.clone().into(),
            r.reason.clone().into(),
            r.records.to_string().into(),
            r.objects.to_string().into(),
            r.example.clone().into(),
        ]);
    }
    t
}

/// Clock offsets worth knowing (positive: the host's clock runs ahead).
pub fn skew(report: &Report) -> Table {
    let mut t = Table::new(&["host", "evidence", "against", ">pairs", ">median offset"]);
    for s in &report.data_quality.skew {
        t.row(vec![
            s.host.clone().into(),
            s.evidence.clone().into(),
            s.reference.clone().into(),
            s.pairs.to_string().into(),
            format!("{:+.0} ms", s.median_offset_ms).into(),
        ]);
    }
    t
}

/// Action items for the review to fill in, led by those the response's gaps suggest
/// (a late page, a slow acknowledgement, customers told late or not at all).
pub fn actions(response: Option<&Response>) -> Table {
    let mut t = Table::new(&["action", "owner", "due", "tracking"]);
    let empty = || Cell::Placeholder(String::new());
    for proposal in response.map(proposals).unwrap_or_default() {
        t.row(vec![proposal.into(), empty(), empty(), empty()]);
    }
    for hint in ["prevent: …", "detect sooner: …", "mitigate faster: …"] {
        t.row(vec![Cell::Placeholder(hint.into()), empty(), empty(), empty()]);
    }
    t
}

/// Thresholds past which a gap becomes a proposed action item.
const LATE_PAGE_MIN: i64 = 5;
const SLOW_ACK_MIN: i64 = 10;
const LATE_UPDATE_MIN: i64 = 30;

/// The people's figures in one sentence (`First page 2m after the burn-rate alert would
/// have fired; acknowledged 12m after the page; first status update 29m after the onset.`),
/// or `None` without incident events.
pub fn people_summary(r: &Response) -> Option<String> {
    let p = &r.people;
    if !p.recorded {
        return None;
    }
    let minutes = |m: i64| crate::display::duration(chrono::Duration::minutes(m.abs()));
    let mut parts = Vec::new();
    match p.detection_gap_minutes {
        Some(g) if g >= 0 => {
            parts.push(format!("first page {} after the burn-rate alert would have fired", minutes(g)))
        }
        Some(g) => parts.push(format!("first page {} before the burn-rate alert would have fired", minutes(g))),
        None => parts.push("nobody was paged".to_string()),
    }
    match p.time_to_acknowledge_minutes {
        Some(n) => parts.push(format!("acknowledged {} after the page", minutes(n))),
        None if p.first_page.is_some() => parts.push("never acknowledged".to_string()),
        None => {}
    }
    match p.time_to_communicate_minutes {
        Some(n) => parts.push(format!("first status update {} after the onset", minutes(n))),
        None => parts.push("no status update".to_string()),
    }
    let mut text = parts.join("; ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    Some(format!("{text}."))
}

/// The action items the human milestones suggest. Nothing is said about what no incident
/// event recorded: without a paging export, no page says nothing.
fn proposals(r: &Response) -> Vec<String> {
    let p = &r.people;
    if !p.recorded {
        return Vec::new();
    }
    let mut out = Vec::new();
    match (&p.first_page, p.detection_gap_minutes) {
        (Some(_), Some(gap)) if gap >= LATE_PAGE_MIN => out.push(format!(
            "detect sooner: page on the {} burn-rate alert — the first page came {gap} min after it would have fired",
            r.detected_by
        )),
        (None, _) => {
            out.push("detect sooner: nobody was paged during the breach (no page among the incident events)".into())
        }
        _ => {}
    }
    if let Some(n) = p.time_to_acknowledge_minutes.filter(|n| *n >= SLOW_ACK_MIN) {
        out.push(format!("respond faster: the page was acknowledged {n} min after it was sent"));
    }
    match p.time_to_communicate_minutes {
        Some(n) if n >= LATE_UPDATE_MIN => {
            out.push(format!("communicate sooner: the first status update came {n} min after the onset"))
        }
        None => out.push("communicate: no status update was published during the incident".into()),
        _ => {}
    }
    out
}
