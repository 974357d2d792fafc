//! The report model: everything a renderer shows, computed once. Renderers only format.
//! Nothing here is invented: every number is a count over the warehouse, every event
//! points at its source object and line.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::analyze::Analysis;
use crate::analyze::changes::ChangeLog;
use crate::analyze::params::{self, Params, Window};
use crate::analyze::slo::Breach;
use crate::analyze::timeline::{self, Event, EventKind, TimelineQuery};
use crate::error::Result;

const ACTIVITY_SQL: &str = include_str!("../../queries/service_activity.sql");
const REJECTS_SQL: &str = include_str!("../../queries/rejects_summary.sql");

#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub window: Window,
    pub service: Option<String>,
    pub display_timezone: Tz,
    /// Prefix stripped from source URLs when shown (keeps reports machine-independent).
    pub source_root: Option<String>,
    /// SLOs and the service graph, for breaches and suspects (none: the report has neither).
    pub config: Option<crate::config::Config>,
    /// The breach the report was asked for (`--breach`, or the latest): only breaches that
    /// overlap it are reported. `None`: every breach that began in the window.
    pub focus: Option<Breach>,
    /// Replace secrets and personal data with placeholders (on unless `--no-redact`).
    pub redact: bool,
    /// Records dropped as duplicates at ingest, per table (from the warehouse manifest).
    pub duplicates: std::collections::BTreeMap<String, u64>,
    /// The window's SLOs, evaluated once ([`crate::report::select::resolve`]): breaches,
    /// suspects and charts all read it.
    pub analysis: Analysis,
}

/// How many timeline rows a report shows: a reader scans dozens of rows, not thousands.
/// Changes, deploys, loops and breaches always show; error bursts and new signatures fill
/// the rest, largest first.
pub const TIMELINE_ROWS: usize = 60;

/// A clock offset worth telling the reader about (the `retrace skew --toml` default).
pub const SKEW_NOTABLE_MS: f64 = 100.0;

/// How many contributing signals of each kind are listed.
pub const SIGNALS_PER_KIND: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub title: String,
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub service: Option<String>,
    /// Shown beside UTC; its IANA name in JSON.
    #[serde(serialize_with = "crate::display::serialize_tz")]
    pub display_timezone: Tz,
    /// The breach id the report is about (`None`: a window report).
    pub focus: Option<String>,
    /// One line for the header: the verdict on the worst breach, or why there is none.
    pub headline: String,
    pub impact: Option<Impact>,
    pub response: Option<Response>,
    /// SLOs burning above budget all along: a finding of their own, not a breach.
    pub chronic: Vec<ChronicFinding>,
    /// SLO breaches in the window (or overlapping the focus), each with its ranked suspects (top 5).
    pub breaches: Vec<crate::analyze::suspects::BreachSuspects>,
    pub activity: Vec<ServiceActivity>,
    /// Per service, the minute with the most error lines; the three busiest services.
    pub error_peaks: Vec<ErrorPeak>,
    /// At most [`TIMELINE_ROWS`] rows, oldest first.
    pub timeline: Vec<Event>,
    /// Timeline rows left out (smallest error bursts and signatures): `retrace timeline` has them.
    pub timeline_omitted: usize,
    /// New error signatures, error bursts and automation loops, largest first per kind.
    pub signals: Vec<Event>,
    pub deploys: Vec<DeploySpan>,
    pub data_quality: DataQuality,
    pub charts: Charts,
    /// Distinct values replaced by placeholders.
    pub redacted_values: usize,
    #[serde(skip)]
    pub source_root: Option<String>,
    /// Catches, in rendered output, any value redaction replaced (`Redactor::scrubber`).
    #[serde(skip)]
    pub scrubber: super::redact::Scrubber,
}

/// An SLO whose normal error ratio is above its budget.
#[derive(Debug, Clone, Serialize)]
pub struct ChronicFinding {
    pub slo: String,
    pub service: String,
    /// `burn_rate` and `hours_burning_pct`, beside the SLO in JSON.
    #[serde(flatten)]
    pub burn: crate::analyze::slo::ChronicBurn,
}

impl ChronicFinding {
    /// The sentence every output uses.
    pub fn text(&self) -> String {
        self.burn.text(&self.slo)
    }
}

/// What the incident cost.
#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    pub slos: Vec<String>,
    pub started: DateTime<Utc>,
    /// When the last breach recovered; `None` while one is still going on (then
    /// `ongoing_at` is where its data ends).
    pub recovered: Option<DateTime<Utc>>,
    pub ongoing_at: Option<DateTime<Utc>>,
    /// From the start to the recovery, or to the end of the data while ongoing.
    pub duration_minutes: i64,
    pub bad_events: f64,
    /// The largest share of an SLO's period budget one breach burned, in percent.
    pub budget_burned_pct: f64,
    pub affected_services: Vec<String>,
}

/// Detection and response, from the earliest breach of the incident.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    pub onset: DateTime<Utc>,
    pub detected: DateTime<Utc>,
    pub detected_by: String,
    /// The action after which the SLI recovered (an undo, a rollback, a kill switch…),
    /// never after `resolved`; `None` when nothing in the change log explains it.
    pub mitigated: Option<DateTime<Utc>>,
    pub mitigated_by: Option<String>,
    /// The SLI back within budget (or its baseline) for 10 minutes; `None` while ongoing
    /// (then `ongoing_at` is where the data ends).
    pub resolved: Option<DateTime<Utc>>,
    pub ongoing_at: Option<DateTime<Utc>>,
    /// Every burn-rate alert cleared (`None`: still firing at the window's end).
    pub alerts_cleared: Option<DateTime<Utc>>,
    pub time_to_detect_minutes: i64,
    pub time_to_mitigate_minutes: Option<i64>,
    pub time_to_resolve_minutes: Option<i64>,
    /// What people did and when, from the incident events (all `None` without any).
    pub people: PeopleResponse,
}

/// The human milestones of an incident (from `incident_events`), and the gaps a
/// facilitator asks about.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PeopleResponse {
    pub first_alert: Option<Milestone>,
    pub first_page: Option<Milestone>,
    pub acknowledged: Option<Milestone>,
    pub declared: Option<Milestone>,
    pub first_status_update: Option<Milestone>,
    /// What someone did or said about the mitigating change (a chat line naming it), else
    /// the first `action` event after the onset.
    pub mitigating_action: Option<Milestone>,
    /// First page minus when the burn-rate alert would have fired (`detected`): positive,
    /// people knew later than the SLO says they could have.
    pub detection_gap_minutes: Option<i64>,
    /// First page to first acknowledgement.
    pub time_to_acknowledge_minutes: Option<i64>,
    /// Onset to the first status update.
    pub time_to_communicate_minutes: Option<i64>,
    /// Whether the warehouse held any incident event for the incident at all (else the
    /// absence of a page says nothing).
    pub recorded: bool,
}

/// One human milestone: when, who, what.
#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub what: String,
}

/// What the reader cannot fully trust.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DataQuality {
    /// Runs of 5+ minutes with no SLI data, per SLO, inside the window.
    pub gaps: Vec<Gap>,
    /// Rejected records (whole warehouse).
    pub rejects: Vec<RejectGroup>,
    /// Hosts whose clock is off by at least [`SKEW_NOTABLE_MS`] by the window's evidence
    /// (docs/formats.md, clock skew).
    pub skew: Vec<SkewRow>,
    /// Hosts the skew evidence covered (the ones not in `skew` agree within the bound).
    pub skew_hosts_checked: usize,
    /// Records dropped at ingest as duplicates, per table (whole warehouse).
    pub duplicates: Vec<DuplicateCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub slo: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkewRow {
    pub host: String,
    pub evidence: String,
    pub reference: String,
    pub pairs: u64,
    pub median_offset_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateCount {
    pub table: String,
    pub records: u64,
}

/// The numbers the charts draw, per minute from `start`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Charts {
    pub start: Option<DateTime<Utc>>,
    pub minutes: usize,
    pub slis: Vec<SliSeries>,
    /// Error log lines per minute, per service.
    pub services: Vec<ServiceSeries>,
    /// Changes and deploys to mark on the time axis.
    pub markers: Vec<Marker>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SliSeries {
    pub slo: String,
    pub service: String,
    pub objective: f64,
    /// Bad events as a share of all events, in percent (`None`: no data that minute).
    pub error_pct: Vec<Option<f64>>,
    /// The fast alert pair's windows (long, short), with the factor both must exceed.
    pub burn: Vec<BurnSeries>,
    pub alert_factor: f64,
    /// Breaches of this SLO: onset → recovered.
    pub breaches: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BurnSeries {
    pub window: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceSeries {
    pub service: String,
    pub error_lines: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub ts: DateTime<Utc>,
    /// [`EventKind::Change`] or [`EventKind::Deploy`].
    pub kind: EventKind,
    pub id: String,
    pub service: Option<String>,
    /// The top suspect of a breach (drawn emphasised).
    pub suspect: bool,
}

/// A row of `service_activity.sql`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ServiceActivity {
    pub service: Option<String>,
    pub lines: u64,
    pub warn_lines: u64,
    pub error_lines: u64,
    pub status_5xx: u64,
    pub first_error: Option<DateTime<Utc>>,
}

/// A row of `error_peak_minutes.sql`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ErrorPeak {
    pub minute: DateTime<Utc>,
    pub service: Option<String>,
    pub lines: u64,
}

pub use crate::analyze::spans::DeploySpan;

#[derive(Debug, Clone, Serialize)]
pub struct RejectGroup {
    pub table: String,
    pub reason: String,
    pub records: u64,
    pub objects: u64,
    pub example: String,
}

impl Report {
    pub fn changes(&self) -> impl Iterator<Item = &Event> {
        self.timeline.iter().filter(|e| e.kind == EventKind::Change)
    }

    /// A source URL as shown to readers.
    pub fn show_source<'a>(&self, object: &'a str) -> &'a str {
        crate::display::relative_source(object, self.source_root.as_deref())
    }
}

/// The report, unredacted: [`super::build`] redacts it once it is finished.
pub async fn build(ctx: &SessionContext, req: &ReportRequest) -> Result<Report> {
    let window = req.window;
    let query = TimelineQuery {
        window,
        service: req.service.clone(),
        bucket: chrono::Duration::minutes(5),
        include_warn: false,
        breaches: req.analysis.breaches().cloned().collect(),
    };
    let found = breaches_to_rank(req);
    // What changed over the window and every ranked breach's lookback, and the error lines
    // per minute over the window and its baseline: read once, shared by the timeline, the
    // ranking, the deploys table and the charts.
    let reach = change_reach(req, &found);
    let ranked = async {
        let log = ChangeLog::read(ctx, reach).await?;
        let breaches = suspects(ctx, req, &found, &log).await?;
        Ok::<_, crate::error::Error>((log, breaches))
    };
    // The sections are independent until the charts: run their queries side by side (the
    // engine spreads each over the cores, but most take tens of milliseconds of planning
    // and file opening that would otherwise queue one behind another).
    let ((log, mut breaches), errors, signatures, people, activity, skew) = futures::try_join!(
        ranked,
        timeline::error_minutes(ctx, &query),
        timeline::new_signatures(ctx, &query),
        crate::analyze::people::read(ctx, query.window, query.service.as_deref()),
        activity(ctx, req),
        crate::analyze::skew::estimate(ctx, window),
    )?;
    let mut events = timeline::assemble(&query, &log, &errors, signatures, &people);
    said_about_suspects(&mut breaches, &people);
    let error_peaks = error_peaks(window, &errors);
    let deploys = log.within(window.from, window.to, req.service.as_deref()).1;
    if let Some(focus) = &req.focus {
        events.retain(|e| e.kind != EventKind::Breach || overlaps_event(e, focus));
    }
    let (charts, data_quality) =
        futures::try_join!(async { Ok(charts(req, &breaches, &events, &errors)) }, data_quality(ctx, req, skew))?;
    // Sources as readers see them (relative to the config's folder): every renderer and
    // the JSON show the same, machine-independent references.
    for e in &mut events {
        e.source.object = crate::display::relative_source(&e.source.object, req.source_root.as_deref()).to_string();
    }
    let (timeline, timeline_omitted) = trim_timeline(events.clone());
    let signals = signals(&events);

    let title = match (&req.focus, &req.service) {
        (Some(f), _) => format!("Incident report: {} ({})", f.slo, f.onset.format("%Y-%m-%d %H:%MZ")),
        (None, Some(s)) => format!("Incident window report: {s}"),
        (None, None) => "Incident window report".to_string(),
    };
    let report = Report {
        title,
        window: (window.from, window.to),
        service: req.service.clone(),
        display_timezone: req.display_timezone,
        focus: req.focus.as_ref().map(|f| f.id.clone()),
        headline: headline(&breaches),
        impact: impact(&breaches),
        chronic: req
            .analysis
            .results()
            .filter(|r| req.service.as_ref().is_none_or(|s| *s == r.service))
            .filter_map(|r| {
                r.chronic.map(|burn| ChronicFinding { slo: r.slo.clone(), service: r.service.clone(), burn })
            })
            .collect(),
        response: response(&breaches, req.focus.is_some(), &people),
        breaches,
        activity,
        error_peaks,
        timeline,
        timeline_omitted,
        signals,
        deploys,
        data_quality,
        charts,
        redacted_values: 0,
        source_root: req.source_root.clone(),
        scrubber: Default::default(),
    };
    Ok(report)
}

/// The window's breaches the report ranks: those touching its service and overlapping
/// its focus.
fn breaches_to_rank(req: &ReportRequest) -> Vec<Breach> {
    if req.config.as_ref().is_none_or(|c| c.slos.is_empty()) {
        return Vec::new();
    }
    req.analysis
        .breaches()
        .filter(|b| req.service.as_ref().is_none_or(|s| b.affected_services.contains(s)))
        .filter(|b| req.focus.as_ref().is_none_or(|f| overlaps(b, f)))
        .cloned()
        .collect()
}

/// The window, widened to each ranked breach's lookback and the hour after its recovery
/// (where the ranking looks for changes and their undoing).
fn change_reach(req: &ReportRequest, found: &[Breach]) -> Window {
    let options = req.config.as_ref().map(|c| c.suspects).unwrap_or_default();
    let mut reach = req.window;
    for b in found {
        reach.from = reach.from.min(b.onset - options.lookback);
        reach.to = reach.to.max(b.onset + options.grace).max(b.until() + chrono::Duration::hours(1));
    }
    reach
}

/// Each ranked breach with its five strongest suspects; the one asked about first.
async fn suspects(
    ctx: &SessionContext,
    req: &ReportRequest,
    found: &[Breach],
    log: &ChangeLog,
) -> Result<Vec<crate::analyze::suspects::BreachSuspects>> {
    use crate::analyze::suspects;
    let Some(config) = req.config.as_ref().filter(|c| !c.slos.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut breaches = suspects::rank(ctx, config, &req.analysis, Some(log), found, config.suspects).await?;
    for b in &mut breaches {
        b.suspects.truncate(5);
    }
    // The breach the reader asked about first, then by onset.
    breaches.sort_by(|a, b| {
        let focused = |x: &suspects::BreachSuspects| req.focus.as_ref().is_none_or(|f| f.id != x.breach.id);
        (focused(a), a.breach.onset, &a.breach.id).cmp(&(focused(b), b.breach.onset, &b.breach.id))
    });
    Ok(breaches)
}

fn overlaps(b: &Breach, focus: &Breach) -> bool {
    b.onset <= focus.until() && b.until() >= focus.onset
}

fn overlaps_event(e: &Event, focus: &Breach) -> bool {
    e.ts <= focus.until() && e.end.unwrap_or(e.ts) >= focus.onset
}

fn headline(breaches: &[crate::analyze::suspects::BreachSuspects]) -> String {
    let Some(first) = breaches.first() else {
        return "No SLO breach in this window: changes are listed, not ranked.".to_string();
    };
    match first.suspects.first() {
        Some(s) if s.verdict != crate::analyze::suspects::Verdict::Unlikely => format!(
            "{} {}: {} {} ({})",
            s.verdict.label().to_uppercase(),
            if s.kind == EventKind::Deploy { "deploy" } else { "change" },
            s.id,
            s.title,
            s.service.as_deref().unwrap_or("no service")
        ),
        _ => format!("{} breached; no change or deploy explains it", first.breach.slo),
    }
}

fn impact(breaches: &[crate::analyze::suspects::BreachSuspects]) -> Option<Impact> {
    let first = breaches.iter().map(|b| &b.breach).min_by_key(|b| b.onset)?;
    let started = first.onset;
    let (recovered, ongoing_at) = resolution(breaches);
    let until = recovered.or(ongoing_at).unwrap_or(started);
    let mut slos: Vec<String> = breaches.iter().map(|b| b.breach.slo.clone()).collect();
    slos.dedup();
    let mut affected: Vec<String> = Vec::new();
    for b in breaches {
        for s in &b.breach.affected_services {
            if !affected.contains(s) {
                affected.push(s.clone());
            }
        }
    }
    affected.sort();
    Some(Impact {
        slos,
        started,
        recovered,
        ongoing_at,
        duration_minutes: (until - started).num_minutes(),
        bad_events: breaches.iter().map(|b| b.breach.bad_events).sum(),
        budget_burned_pct: breaches.iter().map(|b| b.breach.budget_consumed_pct).fold(0.0, f64::max),
        affected_services: affected,
    })
}

/// When `breaches` were all over: the last recovery, or `(None, end of data)` while one
/// is still going on. A focused report passes its own breach first and alone decides.
fn resolution(breaches: &[crate::analyze::suspects::BreachSuspects]) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    if let Some(b) = breaches.iter().find(|b| b.breach.is_ongoing()) {
        return (None, b.breach.ongoing_at);
    }
    (breaches.iter().filter_map(|b| b.breach.recovered).max(), None)
}

/// Detection and response. A report focused on a breach (it comes first) answers from
/// that breach alone: its SLO's resolution, not the window's or a neighbour's.
fn response(
    breaches: &[crate::analyze::suspects::BreachSuspects],
    focused: bool,
    people: &[crate::analyze::people::HumanRow],
) -> Option<Response> {
    let scope = if focused { &breaches[..breaches.len().min(1)] } else { breaches };
    let onset = scope.iter().map(|b| b.breach.onset).min()?;
    let first_detected = scope.iter().min_by_key(|b| (b.breach.detected, b.breach.id.clone()))?;
    let (resolved, ongoing_at) = resolution(scope);
    let alerts_cleared = scope
        .iter()
        .map(|b| b.breach.end)
        .try_fold(None, |acc: Option<DateTime<Utc>>, e| e.map(|e| Some(acc.map_or(e, |a| a.max(e)))));
    // Mitigation: the action after which the breach that recovered last recovered (it is
    // what resolved the incident); never after the resolution.
    let mitigation = resolved.and_then(|r| {
        scope
            .iter()
            .filter(|b| b.breach.recovered == Some(r))
            .find_map(|b| b.mitigation.clone())
            .or_else(|| scope.iter().filter_map(|b| b.mitigation.clone()).max_by_key(|m| m.at))
            .filter(|m| m.at <= r)
    });
    Some(Response {
        onset,
        detected: first_detected.breach.detected,
        detected_by: first_detected.breach.detected_by.clone(),
        mitigated: mitigation.as_ref().map(|m| m.at),
        mitigated_by: mitigation.as_ref().map(|m| m.describe()),
        resolved,
        ongoing_at,
        alerts_cleared: alerts_cleared.flatten(),
        time_to_detect_minutes: (first_detected.breach.detected - onset).num_minutes(),
        time_to_mitigate_minutes: mitigation.as_ref().map(|m| (m.at - onset).num_minutes()),
        time_to_resolve_minutes: resolved.map(|r| (r - onset).num_minutes()),
        people: people_response(
            people,
            onset,
            first_detected.breach.detected,
            resolved.or(ongoing_at),
            mitigation.as_ref(),
        ),
    })
}

/// What people said about each suspect while its breach lasted and before it was undone
/// ("CHG-1024 shrank db.pool.max … that lines up"): an operator's suspicion, shown beside
/// the evidence as what was said, never as proof.
fn said_about_suspects(
    breaches: &mut [crate::analyze::suspects::BreachSuspects],
    people: &[crate::analyze::people::HumanRow],
) {
    for b in breaches.iter_mut() {
        let (from, until) = (b.breach.onset - PEOPLE_LEAD, b.breach.until());
        for s in &mut b.suspects {
            let before = s.undone_at.unwrap_or(until).min(until);
            s.said = people
                .iter()
                .filter(|r| r.ts >= from && r.ts <= before)
                .filter(|r| {
                    let said =
                        [r.title.as_deref(), r.text.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                    said.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_'))).any(|w| w == s.id)
                })
                .map(|r| {
                    let words = [r.title.as_deref(), r.text.as_deref()]
                        .into_iter()
                        .flatten()
                        .filter(|t| !t.trim().is_empty())
                        .collect::<Vec<_>>()
                        .join(" — ");
                    format!("{} at {}: “{words}”", r.actor.as_deref().unwrap_or("someone"), r.ts.format("%H:%MZ"))
                })
                .collect();
        }
    }
}

/// How far before the onset people's events still belong to the incident (an alert on a
/// symptom that began before the SLI moved).
const PEOPLE_LEAD: chrono::Duration = chrono::Duration::minutes(30);

/// The human milestones between shortly before the onset and the incident's end.
fn people_response(
    rows: &[crate::analyze::people::HumanRow],
    onset: DateTime<Utc>,
    detected: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    mitigation: Option<&crate::analyze::suspects::Mitigation>,
) -> PeopleResponse {
    let during: Vec<&crate::analyze::people::HumanRow> =
        rows.iter().filter(|r| r.ts >= onset - PEOPLE_LEAD && end.is_none_or(|e| r.ts <= e)).collect();
    let milestone = |r: &crate::analyze::people::HumanRow| Milestone {
        at: r.ts,
        actor: r.actor.clone(),
        what: [r.title.as_deref(), r.text.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" — "),
    };
    let first = |kind: &str| during.iter().find(|r| r.kind == kind).map(|r| milestone(r));
    let first_page = first("page");
    let acknowledged =
        first_page.as_ref().and_then(|p| during.iter().find(|r| r.kind == "ack" && r.ts >= p.at)).map(|r| milestone(r));
    let first_status_update = during.iter().find(|r| r.kind == "status_update" && r.ts >= onset).map(|r| milestone(r));
    let said = |r: &crate::analyze::people::HumanRow| {
        [r.title.as_deref(), r.text.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
    };
    // The last word before the mitigating change about it, or about the change it undid
    // ("reverting CHG-1024" announces the revert CHG-1033 just before it is made; an
    // earlier "CHG-1024 lines up" is a suspicion, not the action).
    let mitigating_action = mitigation
        .and_then(|m| {
            let ids: Vec<&str> = std::iter::once(m.id.as_str()).chain(m.undid.as_deref()).collect();
            during.iter().rev().find(|r| {
                r.ts <= m.at + chrono::Duration::minutes(1)
                    && matches!(r.kind.as_str(), "action" | "chat" | "note")
                    && said(r)
                        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_')))
                        .any(|w| ids.contains(&w))
            })
        })
        .or_else(|| during.iter().find(|r| r.kind == "action" && r.ts >= onset))
        .map(|r| milestone(r));
    PeopleResponse {
        first_alert: first("alert_firing"),
        detection_gap_minutes: first_page.as_ref().map(|p| (p.at - detected).num_minutes()),
        time_to_acknowledge_minutes: first_page
            .as_ref()
            .zip(acknowledged.as_ref())
            .map(|(p, a)| (a.at - p.at).num_minutes()),
        time_to_communicate_minutes: first_status_update.as_ref().map(|u| (u.at - onset).num_minutes()),
        first_page,
        acknowledged,
        declared: first("declared"),
        first_status_update,
        mitigating_action,
        recorded: !during.is_empty(),
    }
}

/// Keeps every change, deploy, loop and breach, then the largest bursts and signatures up
/// to [`TIMELINE_ROWS`]; returns the rows kept (oldest first) and how many were left out.
fn trim_timeline(events: Vec<Event>) -> (Vec<Event>, usize) {
    if events.len() <= TIMELINE_ROWS {
        return (events, 0);
    }
    let total = events.len();
    type Numbered = Vec<(usize, Event)>;
    let (mut keep, mut rest): (Numbered, Numbered) = events
        .into_iter()
        .enumerate()
        .partition(|(_, e)| !matches!(e.kind, EventKind::LogErrors | EventKind::NewSignature));
    rest.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    let room = TIMELINE_ROWS.saturating_sub(keep.len());
    keep.extend(rest.into_iter().take(room));
    keep.sort_by_key(|(i, _)| *i);
    let kept: Vec<Event> = keep.into_iter().map(|(_, e)| e).collect();
    let omitted = total - kept.len();
    (kept, omitted)
}

fn signals(events: &[Event]) -> Vec<Event> {
    let mut out = Vec::new();
    for kind in [EventKind::NewSignature, EventKind::LogErrors, EventKind::Loop] {
        let mut of_kind: Vec<&Event> = events.iter().filter(|e| e.kind == kind).collect();
        // Stable: largest first, then oldest.
        of_kind.sort_by(|a, b| b.count.cmp(&a.count).then(a.ts.cmp(&b.ts)));
        out.extend(of_kind.into_iter().take(SIGNALS_PER_KIND).cloned());
    }
    out
}

/// Lines per service in the window (`service_activity.sql`, one row per service).
async fn activity(ctx: &SessionContext, req: &ReportRequest) -> Result<Vec<ServiceActivity>> {
    params::rows(ctx, ACTIVITY_SQL, Params::window(req.window, req.service.as_deref())).await
}

/// Per service, the minute with the most error and fatal lines in the window; the three
/// busiest services, busiest first (ties: earlier minute, then service, no service last).
/// What `error_peak_minutes.sql` computes, from the timeline's error minutes instead of
/// another scan of the logs.
fn error_peaks(window: Window, errors: &[timeline::ErrorMinute]) -> Vec<ErrorPeak> {
    let mut per_minute: std::collections::BTreeMap<(Option<&str>, DateTime<Utc>), u64> = Default::default();
    for r in errors.iter().filter(|r| r.minute >= window.from && r.minute < window.to) {
        *per_minute.entry((r.service.as_deref(), r.minute)).or_default() += r.lines;
    }
    let mut best: std::collections::BTreeMap<Option<&str>, (DateTime<Utc>, u64)> = Default::default();
    for ((service, minute), lines) in per_minute {
        let b = best.entry(service).or_insert((minute, lines));
        // Minutes come in order: a later minute wins only with more lines.
        if lines > b.1 {
            *b = (minute, lines);
        }
    }
    let mut peaks: Vec<ErrorPeak> = best
        .into_iter()
        .map(|(service, (minute, lines))| ErrorPeak { minute, service: service.map(str::to_string), lines })
        .collect();
    peaks.sort_by(|a, b| {
        (std::cmp::Reverse(a.lines), a.minute, a.service.is_none(), &a.service).cmp(&(
            std::cmp::Reverse(b.lines),
            b.minute,
            b.service.is_none(),
            &b.service,
        ))
    });
    peaks.truncate(3);
    peaks
}

async fn data_quality(
    ctx: &SessionContext,
    req: &ReportRequest,
    skew: Vec<crate::analyze::skew::SkewEstimate>,
) -> Result<DataQuality> {
    /// A row of `rejects_summary.sql`.
    #[derive(serde::Deserialize)]
    struct Row {
        table_name: String,
        reason: String,
        records: u64,
        objects: u64,
        example_detail: Option<String>,
        example_source: Option<String>,
        example_line: Option<i64>,
    }
    let rows: Vec<Row> = params::rows(ctx, REJECTS_SQL, Params::default()).await?;
    let rejects = rows
        .into_iter()
        .map(|r| {
            let src = r.example_source.unwrap_or_default();
            let src = crate::display::relative_source(&src, req.source_root.as_deref());
            RejectGroup {
                table: r.table_name,
                reason: r.reason,
                records: r.records,
                objects: r.objects,
                example: format!("{}:{} — {}", src, r.example_line.unwrap_or(0), r.example_detail.unwrap_or_default()),
            }
        })
        .collect();
    let gaps = req
        .analysis
        .results()
        .flat_map(|r| r.gaps.iter().map(|(from, to)| Gap { slo: r.slo.clone(), from: *from, to: *to }))
        .collect();
    let mut skew: Vec<SkewRow> = skew
        .into_iter()
        .map(|e| SkewRow {
            host: e.host,
            evidence: e.evidence,
            reference: e.reference,
            pairs: e.pairs,
            median_offset_ms: e.median_offset_ms,
        })
        .collect();
    skew.sort_by(|a, b| (&a.host, &a.evidence, &a.reference).cmp(&(&b.host, &b.evidence, &b.reference)));
    let mut hosts: Vec<&str> = skew.iter().map(|s| s.host.as_str()).collect();
    hosts.dedup();
    let skew_hosts_checked = hosts.len();
    skew.retain(|s| s.median_offset_ms.abs() >= SKEW_NOTABLE_MS);
    let duplicates = req
        .duplicates
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(table, n)| DuplicateCount { table: table.clone(), records: *n })
        .collect();
    Ok(DataQuality { gaps, rejects, skew, skew_hosts_checked, duplicates })
}

/// Rounds chart values so the JSON is compact and stable.
fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

fn charts(
    req: &ReportRequest,
    breaches: &[crate::analyze::suspects::BreachSuspects],
    events: &[Event],
    errors: &[timeline::ErrorMinute],
) -> Charts {
    use crate::analyze::{sli, slo};
    let window = req.window;
    let frame = sli::Minutes::new(window.from, window.to);
    let n = frame.len();
    let mut slis = Vec::new();
    // Only SLOs that breached (or every SLO of the window when none did, so the chart shows
    // what "healthy" looked like).
    let breached: Vec<&str> = breaches.iter().map(|b| b.breach.slo.as_str()).collect();
    for evaluated in &req.analysis.slos {
        let (def, r) = (&evaluated.slo, &evaluated.result);
        if !breached.is_empty() && !breached.contains(&r.slo.as_str()) {
            continue;
        }
        if req.service.as_ref().is_some_and(|s| *s != r.service) && !breached.contains(&r.slo.as_str()) {
            continue;
        }
        // The fast pair's long window before the chart, so its first points are full.
        let fast = slo::burn_windows(def.period)[0];
        let m = evaluated.minutes.slice(window.from - chrono::Duration::minutes(fast.long_minutes), window.to);
        let offset = m.len().saturating_sub(n);
        let error_pct = (offset..m.len())
            .map(|i| m.has_data[i].then(|| round4(if m.total[i] > 0.0 { m.bad[i] / m.total[i] * 100.0 } else { 0.0 })))
            .collect();
        let burn = [fast.long_minutes, fast.short_minutes]
            .into_iter()
            .map(|w| BurnSeries {
                window: if w % 60 == 0 { format!("{}h", w / 60) } else { format!("{w}m") },
                values: slo::burn_series(def, &m, w)[offset..].iter().map(|v| v.map(round4)).collect(),
            })
            .collect();
        let spans =
            breaches.iter().filter(|b| b.breach.slo == r.slo).map(|b| (b.breach.onset, b.breach.until())).collect();
        slis.push(SliSeries {
            slo: r.slo.clone(),
            service: r.service.clone(),
            objective: r.objective,
            error_pct,
            burn,
            alert_factor: round4(fast.factor),
            breaches: spans,
        });
    }

    // Error lines per service per minute.
    let mut per_service: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    // The timeline's error minutes (error and fatal lines of the report's service), from
    // the window's start: the same scan, not another.
    for r in errors.iter().filter(|r| r.minute >= window.from) {
        let Some(s) = r.service.clone() else { continue };
        let k = ((r.minute - window.from).num_minutes()).clamp(0, n.saturating_sub(1) as i64) as usize;
        per_service.entry(s).or_insert_with(|| vec![0; n])[k] += r.lines;
    }
    let services =
        per_service.into_iter().map(|(service, error_lines)| ServiceSeries { service, error_lines }).collect();

    let top: Vec<&str> = breaches.iter().filter_map(|b| b.suspects.first()).map(|s| s.id.as_str()).collect();
    let markers = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Change | EventKind::Deploy))
        .filter_map(|e| {
            let id = e.id.clone()?;
            Some(Marker { ts: e.ts, kind: e.kind, suspect: top.contains(&id.as_str()), id, service: e.service.clone() })
        })
        .collect();
    // The same order as the breaches (the one asked about first).
    slis.sort_by_key(|s: &SliSeries| breaches.iter().position(|b| b.breach.slo == s.slo).unwrap_or(usize::MAX));
    Charts { start: Some(window.from), minutes: n, slis, services, markers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::timeline::{Severity, SourceRef};

    fn event(minute: i64, kind: EventKind, count: u64) -> Event {
        Event {
            ts: DateTime::from_timestamp(1_795_000_000 + minute * 60, 0).unwrap(),
            end: None,
            kind,
            service: Some("s".into()),
            severity: Severity::Info,
            id: None,
            title: format!("{kind:?} {minute}"),
            detail: None,
            count,
            source: SourceRef { object: "o".into(), line: minute as u64 },
            subject: None,
        }
    }

    #[test]
    fn the_timeline_keeps_every_change_and_the_largest_bursts() {
        let mut events = Vec::new();
        for m in 0..100 {
            events.push(event(m, EventKind::LogErrors, m as u64));
        }
        for m in 0..20 {
            events.push(event(m * 5, EventKind::Change, 1));
        }
        events.sort_by_key(|e| (e.ts, e.kind));
        let (kept, omitted) = trim_timeline(events);
        assert_eq!((kept.len(), omitted), (TIMELINE_ROWS, 60));
        assert_eq!(kept.iter().filter(|e| e.kind == EventKind::Change).count(), 20);
        // The 40 bursts kept are the 40 largest (counts 60..99), still in time order.
        let bursts: Vec<u64> = kept.iter().filter(|e| e.kind == EventKind::LogErrors).map(|e| e.count).collect();
        assert_eq!(bursts, (60..100).collect::<Vec<u64>>());
        assert!(kept.windows(2).all(|w| w[0].ts <= w[1].ts));
        let (short, none) = trim_timeline(vec![event(1, EventKind::LogErrors, 3)]);
        assert_eq!((short.len(), none), (1, 0));
    }

    #[test]
    fn signals_are_the_largest_of_each_kind() {
        let mut events: Vec<Event> = (0..15).map(|m| event(m, EventKind::NewSignature, m as u64)).collect();
        events.push(event(3, EventKind::Loop, 1));
        let s = signals(&events);
        assert_eq!(s.len(), SIGNALS_PER_KIND + 1);
        assert_eq!(s[0].count, 14);
        assert_eq!(s.last().unwrap().kind, EventKind::Loop);
    }
}
