//! The canned queries of `queries/` in the server: `EXECUTE errors_per_minute` or
//! `EXECUTE changes_in_window('2026-11-19T13:00Z', …)`, the arguments in the order of the
//! file's `Parameters:` block, and the table `retrace_queries` that lists them. Named
//! parameters (`$from`) are what the files use; PostgreSQL clients bind positions, so the
//! server maps one to the other.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

/// Every canned query but the two that are views (`timeline`, `deploy_spans`).
pub const QUERIES: &[(&str, &str)] = &[
    ("canary_hosts", include_str!("../../queries/canary_hosts.sql")),
    ("canary_lines", include_str!("../../queries/canary_lines.sql")),
    ("changes_in_window", include_str!("../../queries/changes_in_window.sql")),
    ("deploy_events_in_window", include_str!("../../queries/deploy_events_in_window.sql")),
    ("deploy_spans_in_window", include_str!("../../queries/deploy_spans_in_window.sql")),
    ("error_budget", include_str!("../../queries/error_budget.sql")),
    ("error_bursts_vs_baseline", include_str!("../../queries/error_bursts_vs_baseline.sql")),
    ("error_messages", include_str!("../../queries/error_messages.sql")),
    ("error_peak_minutes", include_str!("../../queries/error_peak_minutes.sql")),
    ("errors_per_minute", include_str!("../../queries/errors_per_minute.sql")),
    ("incident_events_in_window", include_str!("../../queries/incident_events_in_window.sql")),
    ("log_errors_per_minute", include_str!("../../queries/log_errors_per_minute.sql")),
    ("rejects_summary", include_str!("../../queries/rejects_summary.sql")),
    ("service_activity", include_str!("../../queries/service_activity.sql")),
    ("skew_deploy_starts", include_str!("../../queries/skew_deploy_starts.sql")),
    ("skew_trace_pairs", include_str!("../../queries/skew_trace_pairs.sql")),
];

/// A canned query's SQL and its parameters, in the order `EXECUTE` takes them.
pub(super) fn find(name: &str) -> Option<(&'static str, Vec<String>)> {
    QUERIES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, sql)| (*sql, parameters(sql)))
}

/// The names of the file's `-- Parameters:` block, in order (`$from, $to` lines).
pub fn parameters(sql: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in sql.lines() {
        let Some(comment) = line.trim_start().strip_prefix("--") else {
            break;
        };
        if comment.trim().eq_ignore_ascii_case("Parameters:") {
            inside = true;
            continue;
        }
        // A parameter line starts with `$`; a line that goes on describing one does not.
        if inside && let Some(rest) = comment.trim_start().strip_prefix('$') {
            let head = rest.split("  ").next().unwrap_or(rest);
            for name in head.split(',') {
                let name = name.trim().trim_start_matches('$');
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}

/// The first comment line: what the query answers.
fn description(sql: &str) -> String {
    let first = sql.lines().next().unwrap_or_default().trim_start_matches("--").trim();
    first.split_once(": ").map_or(first, |(_, d)| d).to_string()
}

/// Registers `retrace_queries` (name, parameters, description, usage) on `ctx`.
pub(super) fn register(ctx: &SessionContext) -> datafusion::error::Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("parameters", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
        Field::new("usage", DataType::Utf8, false),
    ]));
    let rows: Vec<(String, String, String, String)> = QUERIES
        .iter()
        .map(|(name, sql)| {
            let params = parameters(sql);
            let usage = if params.is_empty() {
                format!("EXECUTE {name}")
            } else {
                format!("EXECUTE {name}({})", params.iter().map(|p| format!("'<{p}>'")).collect::<Vec<_>>().join(", "))
            };
            (name.to_string(), params.join(", "), description(sql), usage)
        })
        .collect();
    let column = |f: fn(&(String, String, String, String)) -> &str| {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>())) as _
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![column(|r| &r.0), column(|r| &r.1), column(|r| &r.2), column(|r| &r.3)],
    )?;
    ctx.register_table("retrace_queries", Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;
    Ok(())
}

/// `EXECUTE`'s arguments by the query's parameter names.
pub(super) fn bind(names: &[String], values: Vec<String>) -> Result<HashMap<String, String>, String> {
    if names.len() != values.len() {
        return Err(format!(
            "it takes {} argument(s), ({}), not {}",
            names.len(),
            names.iter().map(|n| format!("${n}")).collect::<Vec<_>>().join(", "),
            values.len()
        ));
    }
    Ok(names.iter().cloned().zip(values).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_come_from_the_parameters_block_in_order() {
        let (sql, params) = find("error_budget").unwrap();
        assert!(sql.contains("FROM logs"));
        assert_eq!(params, ["from", "to", "from_date", "to_date", "service", "objective"]);
        assert!(find("errors_per_minute").unwrap().1.is_empty());
        assert!(find("no_such_query").is_none());
        // Every placeholder a query uses is listed (a listed one may go unused), each once.
        let placeholder = regex::Regex::new(r"\$([a-z_]+)").unwrap();
        for (name, sql) in QUERIES {
            let listed = parameters(sql);
            let body: String = sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            for used in placeholder.captures_iter(&body) {
                assert!(listed.iter().any(|l| *l == used[1]), "{name}: ${} used but not listed", &used[1]);
            }
            let mut sorted = listed.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), listed.len(), "{name}: {listed:?}");
        }
    }
}
