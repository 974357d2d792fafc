//! What each kind's records look like: columns, aliases, required fields and the
//! per-kind normalization (log levels, deploy statuses, metric values). Column order
//! matches `tables.rs`; the map column and provenance columns follow.

use std::borrow::Cow;

use super::record::{Cell, ColType, ColumnSpec, KindSpec, Row, lowercase};
use super::reject::{Reason, Reject};
use crate::tables::Kind;

const fn col(name: &'static str, ty: ColType, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec { name, ty, aliases, required: false }
}
const fn req(name: &'static str, ty: ColType, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec { name, ty, aliases, required: true }
}

const TS_ALIASES: &[&str] = &["timestamp", "time", "@timestamp", "datetime", "event_time", "timeUnixNano"];
/// `service.name` and `host.name` are OpenTelemetry's resource attribute names.
const SERVICE_ALIASES: &[&str] = &["service_name", "svc", "app", "application", "service.name"];

pub fn spec(kind: Kind) -> &'static KindSpec {
    match kind {
        Kind::Logs => &LOGS,
        Kind::Metrics => &METRICS,
        Kind::Changes => &CHANGES,
        Kind::Deploys => &DEPLOYS,
        Kind::Events => &EVENTS,
    }
}

// ---- logs -------------------------------------------------------------------------------

pub static LOGS: KindSpec = KindSpec {
    columns: &[
        req("ts", ColType::Timestamp, TS_ALIASES),
        col("service", ColType::Text, SERVICE_ALIASES),
        col("host", ColType::Text, &["hostname", "host_name", "node", "host.name"]),
        col("level", ColType::Text, &["severity", "severity_text", "severityText", "lvl", "loglevel", "log_level"]),
        col("msg", ColType::Text, &["message", "body", "log"]),
        col("status", ColType::Int32, &["status_code", "http_status", "http.response.status_code", "http.status_code"]),
        col("latency_ms", ColType::Float64, &["duration_ms", "elapsed_ms", "response_time_ms"]),
        col("trace_id", ColType::Text, &["traceid", "traceId", "trace", "trace.id"]),
    ],
    nested_extras: &["attributes", "attrs", "resource"],
    host_column: Some(2),
    normalize: normalize_log,
};

const LOG_LEVEL: usize = 3;

fn normalize_log(row: &mut Row) -> Result<(), Reject> {
    lowercase(row, LOG_LEVEL);
    if let Some(level) = row.text(LOG_LEVEL) {
        // Already canonical (the usual case): leave the borrowed text alone.
        if let Some(c) = canonical_level(level).filter(|c| *c != level) {
            row.set_text(LOG_LEVEL, Some(Cow::Borrowed(c)));
        }
    }
    Ok(())
}

/// Maps the level spellings seen in the wild onto trace/debug/info/warn/error/fatal.
/// Unknown spellings are kept (lower-cased) rather than guessed.
pub fn canonical_level(level: &str) -> Option<&'static str> {
    Some(match level {
        "trace" | "finest" | "finer" => "trace",
        "debug" | "fine" | "dbg" => "debug",
        "info" | "information" | "informational" | "notice" | "inf" => "info",
        "warn" | "warning" | "wrn" => "warn",
        "error" | "err" | "severe" => "error",
        "fatal" | "critical" | "crit" | "alert" | "emerg" | "emergency" | "panic" => "fatal",
        _ => return None,
    })
}

// ---- metrics ----------------------------------------------------------------------------

pub static METRICS: KindSpec = KindSpec {
    columns: &[
        req("ts", ColType::Timestamp, TS_ALIASES),
        req("metric", ColType::Text, &["name", "__name__", "metric_name"]),
        req("value", ColType::Float64, &["val", "sample"]),
        col("service", ColType::Text, SERVICE_ALIASES),
    ],
    nested_extras: &["labels", "tags"],
    host_column: None,
    normalize: normalize_metric,
};

fn normalize_metric(_: &mut Row) -> Result<(), Reject> {
    Ok(())
}

// ---- changes ----------------------------------------------------------------------------

pub static CHANGES: KindSpec = KindSpec {
    columns: &[
        req("ts", ColType::Timestamp, TS_ALIASES),
        req("change_id", ColType::Text, &["id", "change", "event_id"]),
        col("service", ColType::Text, SERVICE_ALIASES),
        col("system", ColType::Text, &["source_system", "tool"]),
        col("key", ColType::Text, &["setting", "flag", "path", "config_key"]),
        col("old_value", ColType::Text, &["old", "from", "previous_value", "before"]),
        col("new_value", ColType::Text, &["new", "to", "value", "after"]),
        col("actor", ColType::Text, &["user", "author", "who", "changed_by"]),
        col("scope", ColType::Text, &["target"]),
        col("description", ColType::Text, &["desc", "comment", "reason", "summary"]),
        col("reverts", ColType::Text, &["revert_of", "reverted_change"]),
    ],
    nested_extras: &["attributes", "attrs"],
    host_column: None,
    normalize: normalize_change,
};

fn normalize_change(_: &mut Row) -> Result<(), Reject> {
    Ok(())
}

// ---- deploys ----------------------------------------------------------------------------

pub static DEPLOYS: KindSpec = KindSpec {
    columns: &[
        req("ts", ColType::Timestamp, TS_ALIASES),
        req("deploy_id", ColType::Text, &["id", "deployment_id", "release_id"]),
        col("service", ColType::Text, SERVICE_ALIASES),
        col("version", ColType::Text, &["new_version", "to_version", "release"]),
        col("previous_version", ColType::Text, &["from_version", "old_version", "prev_version"]),
        col("environment", ColType::Text, &["env"]),
        req("status", ColType::Text, &["state", "result"]),
        col("percent", ColType::Float64, &["pct", "progress", "rollout_percent"]),
        col("actor", ColType::Text, &["user", "author", "triggered_by"]),
        col("commit", ColType::Text, &["sha", "commit_sha", "git_sha"]),
        col("description", ColType::Text, &["desc", "message", "summary"]),
    ],
    nested_extras: &["attributes", "attrs"],
    host_column: None,
    normalize: normalize_deploy,
};

const DEPLOY_STATUS: usize = 6;
const DEPLOY_PERCENT: usize = 7;

fn normalize_deploy(row: &mut Row) -> Result<(), Reject> {
    lowercase(row, DEPLOY_STATUS);
    let status = row.text(DEPLOY_STATUS).unwrap_or_default();
    let canonical = canonical_deploy_status(status).ok_or_else(|| {
        Reject::new(
            Reason::BadValue,
            format!("field `status`: `{status}` is not one of started, progress, succeeded, failed, rolled_back"),
        )
    })?;
    row.set_text(DEPLOY_STATUS, Some(Cow::Borrowed(canonical)));
    if let Cell::Float64(p) = row.cells[DEPLOY_PERCENT]
        && !(0.0..=100.0).contains(&p)
    {
        return Err(Reject::new(Reason::BadValue, format!("field `percent`: {p} is outside 0..100")));
    }
    Ok(())
}

/// The deploy statuses of the contract, with the synonyms CD systems use.
pub fn canonical_deploy_status(s: &str) -> Option<&'static str> {
    Some(match s {
        "started" | "start" | "queued" | "pending" | "created" => "started",
        "progress" | "in_progress" | "progressing" | "running" => "progress",
        "succeeded" | "success" | "successful" | "completed" | "complete" | "done" => "succeeded",
        "failed" | "failure" | "error" | "errored" => "failed",
        "rolled_back" | "rolledback" | "rollback" | "rolled-back" | "reverted" => "rolled_back",
        _ => return None,
    })
}

// ---- incident events --------------------------------------------------------------------

pub static EVENTS: KindSpec = KindSpec {
    columns: &[
        req("ts", ColType::Timestamp, TS_ALIASES),
        req("kind", ColType::Text, &["event", "event_type", "type"]),
        col("service", ColType::Text, SERVICE_ALIASES),
        col("actor", ColType::Text, &["user", "author", "who", "agent", "by"]),
        col("title", ColType::Text, &["summary", "subject", "name"]),
        col("text", ColType::Text, &["message", "msg", "body", "description", "details", "note"]),
        col("ref", ColType::Text, &["id", "url", "link", "html_url", "event_id"]),
        col("severity", ColType::Text, &["priority", "urgency", "level"]),
    ],
    nested_extras: &["attributes", "attrs", "labels"],
    host_column: None,
    normalize: normalize_event,
};

const EVENT_KIND: usize = 1;

/// The event kinds the timeline and the report know.
pub const EVENT_KINDS: &[&str] = &[
    "alert_firing",
    "alert_resolved",
    "page",
    "ack",
    "escalation",
    "declared",
    "status_update",
    "chat",
    "note",
    "action",
];

fn normalize_event(row: &mut Row) -> Result<(), Reject> {
    lowercase(row, EVENT_KIND);
    let kind = row.text(EVENT_KIND).unwrap_or_default();
    let canonical = canonical_event_kind(kind).ok_or_else(|| {
        Reject::new(Reason::BadValue, format!("field `kind`: `{kind}` is not one of {}", EVENT_KINDS.join(", ")))
    })?;
    if canonical != kind {
        row.set_text(EVENT_KIND, Some(Cow::Borrowed(canonical)));
    }
    Ok(())
}

/// The spellings tools and people use for each event kind.
pub fn canonical_event_kind(kind: &str) -> Option<&'static str> {
    if let Some(k) = EVENT_KINDS.iter().find(|k| **k == kind) {
        return Some(k);
    }
    Some(match kind.replace(['-', ' '], "_").as_str() {
        "firing" | "alert" | "triggered" | "trigger" | "alert_fired" | "alerting" => "alert_firing",
        "resolved" | "alert_resolve" | "recovered" | "ok" => "alert_resolved",
        "paged" | "notify" | "notified" | "notification" => "page",
        "acknowledged" | "acknowledge" | "acked" => "ack",
        "escalate" | "escalated" | "reassigned" => "escalation",
        "declare" | "incident_declared" | "incident" => "declared",
        "status" | "update" | "status_page" | "statuspage" | "investigating" | "identified" | "monitoring" => {
            "status_update"
        }
        "message" | "slack" => "chat",
        "annotation" | "comment" | "annotate" => "note",
        "mitigation" | "rollback" | "revert" => "action",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_and_status_synonyms() {
        assert_eq!(canonical_level("warning"), Some("warn"));
        assert_eq!(canonical_level("crit"), Some("fatal"));
        assert_eq!(canonical_level("verbose"), None);
        assert_eq!(canonical_deploy_status("success"), Some("succeeded"));
        assert_eq!(canonical_deploy_status("rolledback"), Some("rolled_back"));
        assert_eq!(canonical_deploy_status("paused"), None);
    }
}
