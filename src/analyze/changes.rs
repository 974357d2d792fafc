//! Config changes in a window (`queries/changes_in_window.sql`), decoded once into typed
//! rows that the timeline and the suspect ranking share.

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;

use super::params::{self, Params};
use crate::error::Result;

const CHANGES_SQL: &str = include_str!("../../queries/changes_in_window.sql");

/// A row of `changes_in_window.sql`: one config change.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChangeRow {
    pub ts: DateTime<Utc>,
    pub change_id: Option<String>,
    pub service: Option<String>,
    pub system: Option<String>,
    pub key: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor: Option<String>,
    pub description: Option<String>,
    /// The change this one undoes.
    pub reverts: Option<String>,
    pub source: Option<String>,
    pub line: Option<i64>,
}

impl ChangeRow {
    /// `key: old → new` (`∅` for a missing value), for a change that names its key: how the
    /// suspect ranking titles a candidate and a mitigation.
    pub fn setting(&self) -> Option<String> {
        let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "∅".to_string());
        self.key.as_ref().map(|k| format!("{k}: {} → {}", value(&self.old_value), value(&self.new_value)))
    }
}

/// Config changes in the window of `p` (`$from`, `$to`, `$service`), by time.
pub async fn rows(ctx: &SessionContext, p: Params) -> Result<Vec<ChangeRow>> {
    params::rows(ctx, CHANGES_SQL, p).await
}

/// Everything that changed over a reach, read once: config changes and deploy spans. The
/// report reads one over the union of its window and its breaches' lookbacks, and both
/// the timeline and the suspect ranking take theirs from it (`changes_in_window.sql` and
/// `deploy_spans_in_window.sql` had run twice each per report).
#[derive(Debug, Clone)]
pub struct ChangeLog {
    pub reach: super::Window,
    /// Changes in the reach, by time.
    pub changes: Vec<ChangeRow>,
    /// Deploy spans overlapping the reach, by start then id.
    pub spans: Vec<super::spans::DeploySpan>,
}

impl ChangeLog {
    pub async fn read(ctx: &SessionContext, reach: super::Window) -> Result<ChangeLog> {
        let (changes, spans) =
            futures::try_join!(rows(ctx, Params::window(reach, None)), super::spans::in_window(ctx, reach, None))?;
        Ok(ChangeLog { reach, changes, spans })
    }

    /// Whether the log answers for `[from, to)`.
    pub fn covers(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.reach.from <= from && to <= self.reach.to
    }

    /// What the two queries return for `[from, to)` and `service` (none: every service):
    /// changes made in it, spans overlapping it, in the queries' order.
    pub fn within(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        service: Option<&str>,
    ) -> (Vec<ChangeRow>, Vec<super::spans::DeploySpan>) {
        let of = |s: &Option<String>| service.is_none_or(|want| s.as_deref() == Some(want));
        let changes = self.changes.iter().filter(|c| c.ts >= from && c.ts < to && of(&c.service)).cloned().collect();
        let spans =
            self.spans.iter().filter(|s| s.started < to && s.ended >= from && of(&s.service)).cloned().collect();
        (changes, spans)
    }
}
