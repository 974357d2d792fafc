//! Deploy spans in a window (`queries/deploy_spans_in_window.sql`), decoded once into
//! typed rows that the timeline, the suspect ranking and the report share: one query,
//! one decoder, instead of three column-by-column decodings (one into an 8-tuple).

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use super::params::{self, Params, SourceRef, Window};
use crate::error::Result;

const DEPLOY_SPANS_SQL: &str = include_str!("../../queries/deploy_spans_in_window.sql");

/// One deploy: its events folded into a span (`queries/deploy_spans.sql`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploySpan {
    pub deploy_id: String,
    pub service: Option<String>,
    pub version: Option<String>,
    pub previous_version: Option<String>,
    pub environment: Option<String>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    /// The status of its last event.
    pub final_status: String,
    pub max_percent: Option<f64>,
    pub events: u64,
    /// Its first event's object and line. Not in the report's JSON (v1).
    #[serde(skip)]
    pub source: SourceRef,
}

impl DeploySpan {
    /// `v2.14.0 → v2.15.0`, or the version alone.
    pub fn version_text(&self) -> String {
        match (&self.previous_version, &self.version) {
            (Some(p), Some(v)) => format!("{p} → {v}"),
            (None, Some(v)) => v.clone(),
            _ => String::new(),
        }
    }
}

/// A row of `deploy_spans_in_window.sql`.
#[derive(serde::Deserialize)]
struct Row {
    deploy_id: Option<String>,
    service: Option<String>,
    version: Option<String>,
    previous_version: Option<String>,
    environment: Option<String>,
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
    final_status: Option<String>,
    max_percent: Option<f64>,
    events: i64,
    source: Option<String>,
    line: Option<i64>,
}

/// Deploy spans overlapping `window` (of `service`, when given), by start then id.
pub async fn in_window(ctx: &SessionContext, window: Window, service: Option<&str>) -> Result<Vec<DeploySpan>> {
    let rows: Vec<Row> = params::rows(ctx, DEPLOY_SPANS_SQL, Params::window(window, service)).await?;
    Ok(rows
        .into_iter()
        .map(|r| DeploySpan {
            deploy_id: r.deploy_id.unwrap_or_default(),
            service: r.service,
            version: r.version,
            previous_version: r.previous_version,
            environment: r.environment,
            started: r.started,
            ended: r.ended,
            final_status: r.final_status.unwrap_or_default(),
            max_percent: r.max_percent,
            events: r.events.max(0) as u64,
            source: SourceRef::of(r.source, r.line),
        })
        .collect())
}
