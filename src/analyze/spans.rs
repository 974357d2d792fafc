//! Deploy spans in a window (`queries/deploy_spans_in_window.sql`), decoded once into
//! typed rows that the timeline, the suspect ranking and the report share: one query,
//! one decoder, instead of three column-by-column decodings (one into an 8-tuple).

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use super::params::{self, Column, Params, SourceRef, Window};
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

/// Deploy spans overlapping `window` (of `service`, when given), by start then id.
pub async fn in_window(ctx: &SessionContext, window: Window, service: Option<&str>) -> Result<Vec<DeploySpan>> {
    let mut spans = Vec::new();
    for b in params::run(ctx, DEPLOY_SPANS_SQL, Params::window(window, service)).await? {
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
        let provenance = params::Provenance::of(&b, "source", "line")?;
        for i in 0..b.num_rows() {
            spans.push(DeploySpan {
                deploy_id: id.str(i)?.unwrap_or_default(),
                service: service.str(i)?,
                version: version.str(i)?,
                previous_version: prev.str(i)?,
                environment: env.str(i)?,
                started: started.time(i)?.unwrap_or_default(),
                ended: ended.time(i)?.unwrap_or_default(),
                final_status: status.str(i)?.unwrap_or_default(),
                max_percent: pct.f64(i)?,
                events: events.i64(i)?.unwrap_or(0).max(0) as u64,
                source: provenance.at(i)?,
            });
        }
    }
    Ok(spans)
}
