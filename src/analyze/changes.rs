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

/// Config changes in the window of `p` (`$from`, `$to`, `$service`), by time.
pub async fn rows(ctx: &SessionContext, p: Params) -> Result<Vec<ChangeRow>> {
    params::rows(ctx, CHANGES_SQL, p).await
}
