//! The report model: everything a renderer shows, computed once. Renderers only format.
//! Nothing here is invented: every number is a count over the warehouse, every event
//! points at its source object and line.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::analyze::params::{self, Column, Params, Window};
use crate::analyze::timeline::{self, Event, EventKind, TimelineQuery};
use crate::error::Result;

const ACTIVITY_SQL: &str = include_str!("../../queries/service_activity.sql");
const SPANS_SQL: &str = include_str!("../../queries/deploy_spans_in_window.sql");
const REJECTS_SQL: &str = include_str!("../../queries/rejects_summary.sql");
const PEAKS_SQL: &str = include_str!("../../queries/error_peak_minutes.sql");

#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub window: Window,
    pub service: Option<String>,
    pub display_timezone: Tz,
    /// Prefix stripped from source URLs when shown (keeps reports machine-independent).
    pub source_root: Option<String>,
    /// SLOs and the service graph, for breaches and suspects (none: the report has neither).
    pub config: Option<crate::config::Config>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub title: String,
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub service: Option<String>,
    pub display_timezone: String,
    pub activity: Vec<ServiceActivity>,
    /// Per service, the minute with the most error lines; the three busiest services.
    pub error_peaks: Vec<ErrorPeak>,
    pub timeline: Vec<Event>,
    pub deploys: Vec<DeploySpan>,
    pub rejects: Vec<RejectGroup>,
    /// SLO breaches that began in the window, each with its ranked suspects (top 5).
    pub breaches: Vec<crate::analyze::suspects::BreachSuspects>,
    #[serde(skip)]
    pub source_root: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceActivity {
    pub service: Option<String>,
    pub lines: u64,
    pub warn_lines: u64,
    pub error_lines: u64,
    pub status_5xx: u64,
    pub first_error: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorPeak {
    pub minute: DateTime<Utc>,
    pub service: Option<String>,
    pub lines: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeploySpan {
    pub deploy_id: String,
    pub service: Option<String>,
    pub version: Option<String>,
    pub previous_version: Option<String>,
    pub environment: Option<String>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    pub final_status: String,
    pub max_percent: Option<f64>,
    pub events: u64,
}

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

pub async fn build(ctx: &SessionContext, req: &ReportRequest) -> Result<Report> {
    let window = req.window;
    let query = TimelineQuery {
        window,
        service: req.service.clone(),
        bucket: chrono::Duration::minutes(5),
        include_warn: false,
        slos: req.config.as_ref().map(|c| c.slos.clone()).unwrap_or_default(),
    };
    let timeline = timeline::build(ctx, &query).await?;

    let mut activity = Vec::new();
    for b in params::run(ctx, ACTIVITY_SQL, Params::window(window, req.service.as_deref())).await? {
        let c = |n| Column::of(&b, n);
        let (service, lines, warn, error, s5xx, first) =
            (c("service")?, c("lines")?, c("warn_lines")?, c("error_lines")?, c("status_5xx")?, c("first_error")?);
        for i in 0..b.num_rows() {
            activity.push(ServiceActivity {
                service: service.str(i)?,
                lines: lines.i64(i)?.unwrap_or(0) as u64,
                warn_lines: warn.i64(i)?.unwrap_or(0) as u64,
                error_lines: error.i64(i)?.unwrap_or(0) as u64,
                status_5xx: s5xx.i64(i)?.unwrap_or(0) as u64,
                first_error: first.time(i)?,
            });
        }
    }

    let mut error_peaks = Vec::new();
    for b in params::run(ctx, PEAKS_SQL, Params::window(window, req.service.as_deref())).await? {
        let (minute, service, lines) =
            (Column::of(&b, "minute")?, Column::of(&b, "service")?, Column::of(&b, "lines")?);
        for i in 0..b.num_rows() {
            error_peaks.push(ErrorPeak {
                minute: minute.time(i)?.unwrap_or_default(),
                service: service.str(i)?,
                lines: lines.i64(i)?.unwrap_or(0) as u64,
            });
        }
    }

    let mut deploys = Vec::new();
    for b in params::run(ctx, SPANS_SQL, Params::window(window, req.service.as_deref())).await? {
        let c = |n| Column::of(&b, n);
        let (id, service, version, prev, env, started, ended, status, pct, events) = (
            c("deploy_id")?,
            c("service")?,
            c("version")?,
            c("previous_version")?,
            c("environment")?,
            c("started")?,
            c("ended")?,
            c("final_status")?,
            c("max_percent")?,
            c("events")?,
        );
        for i in 0..b.num_rows() {
            deploys.push(DeploySpan {
                deploy_id: id.str(i)?.unwrap_or_default(),
                service: service.str(i)?,
                version: version.str(i)?,
                previous_version: prev.str(i)?,
                environment: env.str(i)?,
                started: started.time(i)?.unwrap_or_default(),
                ended: ended.time(i)?.unwrap_or_default(),
                final_status: status.str(i)?.unwrap_or_default(),
                max_percent: pct.f64(i)?,
                events: events.i64(i)?.unwrap_or(0) as u64,
            });
        }
    }

    let mut rejects = Vec::new();
    for b in params::run(ctx, REJECTS_SQL, Params::default()).await? {
        let c = |n| Column::of(&b, n);
        let (table, reason, records, objects, detail, src, line) = (
            c("table_name")?,
            c("reason")?,
            c("records")?,
            c("objects")?,
            c("example_detail")?,
            c("example_source")?,
            c("example_line")?,
        );
        for i in 0..b.num_rows() {
            let src = src.str(i)?.unwrap_or_default();
            let src = crate::display::relative_source(&src, req.source_root.as_deref());
            rejects.push(RejectGroup {
                table: table.str(i)?.unwrap_or_default(),
                reason: reason.str(i)?.unwrap_or_default(),
                records: records.i64(i)?.unwrap_or(0) as u64,
                objects: objects.i64(i)?.unwrap_or(0) as u64,
                example: format!("{}:{} — {}", src, line.i64(i)?.unwrap_or(0), detail.str(i)?.unwrap_or_default()),
            });
        }
    }

    let title = match &req.service {
        Some(s) => format!("Incident window report: {s}"),
        None => "Incident window report".to_string(),
    };
    let mut breaches = Vec::new();
    if let Some(config) = req.config.as_ref().filter(|c| !c.slos.is_empty()) {
        use crate::analyze::{slo, suspects};
        let found: Vec<slo::Breach> = slo::evaluate(ctx, &config.slos, window)
            .await?
            .into_iter()
            .flat_map(|r| r.breaches)
            .filter(|b| req.service.as_ref().is_none_or(|s| b.affected_services.contains(s)))
            .collect();
        breaches = suspects::rank(ctx, config, &found, config.suspects).await?;
        for b in &mut breaches {
            b.suspects.truncate(5);
        }
    }

    Ok(Report {
        title,
        window: (window.from, window.to),
        service: req.service.clone(),
        display_timezone: req.display_timezone.name().to_string(),
        activity,
        error_peaks,
        timeline,
        deploys,
        rejects,
        breaches,
        source_root: req.source_root.clone(),
    })
}
