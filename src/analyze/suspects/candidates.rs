//! The changes and deploys a breach could be blamed on, each with the times it was undone.

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;

use crate::analyze::changes::{ChangeLog, ChangeRow};
use crate::analyze::params::Window;
use crate::analyze::spans::DeploySpan;
use crate::analyze::timeline::EventKind;
use crate::error::Result;

/// A change or deploy that might be blamed.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// [`EventKind::Change`] or [`EventKind::Deploy`].
    pub kind: EventKind,
    pub id: String,
    pub service: Option<String>,
    pub ts: DateTime<Utc>,
    pub title: String,
    /// When it was undone (revert, rollback, value restored), if it was.
    pub undone: Vec<DateTime<Utc>>,
    /// For a deploy: the version it rolled out (to find the hosts that run it).
    pub version: Option<String>,
    /// For a change: the key it set and the value it set it to; what an error message
    /// that names the change would contain.
    pub key: Option<String>,
    pub new_value: Option<String>,
}

/// The change log over `reach`: from `log` when it covers it, else read.
pub(super) async fn log_over(ctx: &SessionContext, log: Option<&ChangeLog>, reach: Window) -> Result<ChangeLog> {
    Ok(match log.filter(|l| l.covers(reach.from, reach.to)) {
        Some(log) => {
            let (changes, spans) = log.within(reach.from, reach.to, None);
            ChangeLog { reach, changes, spans }
        }
        None => ChangeLog::read(ctx, reach).await?,
    })
}

/// The changes and deploys started in `[from, to)`, by time, each with when a later
/// change or deploy in `changes`/`spans` undid it. Reverts are left out (a revert is a
/// fix), except those made before `reverts_before`: a revert made before a breach
/// changed something too, and can be its cause.
pub fn from_log(
    changes: &[ChangeRow],
    spans: &[DeploySpan],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reverts_before: Option<DateTime<Utc>>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for c in changes {
        let fix = c.reverts.is_some() && reverts_before.is_none_or(|t| c.ts >= t);
        if c.ts < from || c.ts >= to || fix {
            continue;
        }
        let id = c.change_id.clone().unwrap_or_default();
        // Undone: a later change that says it reverts this one, or sets the key back.
        let undone: Vec<DateTime<Utc>> = changes
            .iter()
            .filter(|later| {
                later.ts > c.ts
                    && (later.reverts.as_deref() == Some(id.as_str())
                        || (c.key.is_some()
                            && later.key == c.key
                            && later.service == c.service
                            && c.old_value.is_some()
                            && later.new_value == c.old_value))
            })
            .map(|later| later.ts)
            .collect();
        let title = c.setting().unwrap_or_else(|| "config change".into());
        out.push(Candidate {
            kind: EventKind::Change,
            id,
            service: c.service.clone(),
            ts: c.ts,
            title,
            undone,
            version: None,
            key: c.key.clone(),
            new_value: c.new_value.clone(),
        });
    }

    // Deploys: spans that started in the window; undone by a rollback or a later deploy of the previous version.
    for span in spans {
        if span.started < from || span.started >= to {
            continue;
        }
        let mut undone = Vec::new();
        if span.final_status == "rolled_back" {
            undone.push(span.ended);
        }
        // A later deploy of the same service back to the version this one replaced.
        for later in spans {
            if later.started > span.started
                && later.service == span.service
                && span.previous_version.is_some()
                && later.version == span.previous_version
            {
                undone.push(later.started);
            }
        }
        undone.sort();
        let rollout =
            span.max_percent.filter(|p| *p < 100.0).map(|p| format!(" ({p:.0}% rolled out)")).unwrap_or_default();
        let title = format!(
            "deploy {} → {}{rollout}, {}",
            span.previous_version.as_deref().unwrap_or("?"),
            span.version.as_deref().unwrap_or("?"),
            span.final_status
        );
        out.push(Candidate {
            kind: EventKind::Deploy,
            id: span.deploy_id.clone(),
            service: span.service.clone(),
            ts: span.started,
            title,
            undone,
            version: span.version.clone(),
            key: None,
            new_value: None,
        });
    }
    out.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
    out
}
