//! The human side of the timeline: what people and their tools did (`incident_events`),
//! and the changes or deploys they name ("reverting CHG-1024" links that action to
//! CHG-1024). A mention is what someone said, never proof: it is shown, not scored.

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;

use super::changes::ChangeLog;
use super::params::{self, Params, Window};
use crate::error::Result;

const EVENTS_SQL: &str = include_str!("../../queries/incident_events_in_window.sql");

/// A row of `incident_events_in_window.sql`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HumanRow {
    pub ts: DateTime<Utc>,
    pub kind: String,
    pub service: Option<String>,
    pub actor: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub severity: Option<String>,
    pub source: Option<String>,
    pub line: Option<i64>,
}

/// The window's incident events (of `service`, and those naming none).
pub async fn read(ctx: &SessionContext, window: Window, service: Option<&str>) -> Result<Vec<HumanRow>> {
    params::rows(ctx, EVENTS_SQL, Params::window(window, service)).await
}

/// The ids of `log`'s changes and deploys that `text` names, as whole words, in order.
pub fn mentions(text: &str, log: &ChangeLog) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        .filter(|w| !w.is_empty())
        .collect();
    let named = |id: &str| words.iter().any(|w| w.trim_end_matches(['.', ':']) == id);
    let mut out: Vec<String> = Vec::new();
    let ids =
        log.changes.iter().filter_map(|c| c.change_id.as_deref()).chain(log.spans.iter().map(|s| s.deploy_id.as_str()));
    for id in ids {
        if named(id) && !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}
