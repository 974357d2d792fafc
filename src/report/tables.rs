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

/// Detection and response, step by step from the onset.
pub fn response(r: &Response) -> Table {
    let mut t = Table::new(&["step", "@time", ">after onset", "what"]);
    let mut row = |step: &str, at: DateTime<Utc>, what: &str| {
        t.row(vec![step.into(), Cell::Time(at), duration(at - r.onset).into(), what.into()]);
    };
    row("onset", r.onset, "the change point: first minute the error ratio left its baseline");
    row("detected", r.detected, &format!("{} burn-rate alert fires", r.detected_by));
    if let (Some(m), Some(by)) = (r.mitigated, &r.mitigated_by) {
        row("mitigated", m, &format!("{by}: the SLI recovered after it"));
    }
    match (r.resolved, r.ongoing_at) {
        (Some(at), _) => row("resolved", at, "error ratio back within budget (or its baseline) for 10 minutes"),
        (None, Some(end)) => row("ongoing", end, "still failing when the data ends: not resolved"),
        (None, None) => {}
    }
    if let Some(c) = r.alerts_cleared {
        row("alerts cleared", c, "every burn-rate alert pair quiet");
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
                Cell::List(s.evidence.clone()),
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

/// Action items for the review to fill in.
pub fn actions() -> Table {
    let mut t = Table::new(&["action", "owner", "due", "tracking"]);
    for hint in ["prevent: …", "detect sooner: …", "mitigate faster: …"] {
        let empty = || Cell::Placeholder(String::new());
        t.row(vec![Cell::Placeholder(hint.into()), empty(), empty(), empty()]);
    }
    t
}
