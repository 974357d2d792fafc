//! Every query of docs/grafana/retrace-dashboard.json runs through `retrace serve`, with
//! Grafana's `$__timeFrom()` / `$__timeTo()` expanded as Grafana expands them, and returns
//! rows of the shape its panel needs.

use std::time::Duration;

use retrace::limits::QueryLimits;
use tokio_postgres::types::Type;

use crate::common::basic_sandbox;
use crate::serve::{connect, start};

/// Every `rawSql` in the dashboard (panels' targets and annotations), with where it sits.
fn dashboard_queries() -> Vec<(String, String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/grafana/retrace-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            queries.push((
                format!("panel {}", panel["title"]),
                t["format"].as_str().unwrap().to_string(),
                t["rawSql"].as_str().unwrap().to_string(),
            ));
        }
    }
    for a in dashboard["annotations"]["list"].as_array().unwrap() {
        if let Some(sql) = a["target"]["rawSql"].as_str() {
            queries.push((format!("annotation {}", a["name"]), "annotation".into(), sql.to_string()));
        }
    }
    queries
}

/// What Grafana's PostgreSQL data source does to the two macros: quoted RFC 3339 instants.
fn expand(sql: &str, from: &str, to: &str) -> String {
    sql.replace("$__timeFrom()", &format!("'{from}'")).replace("$__timeTo()", &format!("'{to}'"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_through_the_server() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, None, QueryLimits { memory: 256 << 20, timeout: Some(Duration::from_secs(60)) }).await;
    let client = connect(addr, None).await.unwrap();
    let queries = dashboard_queries();
    assert!(queries.len() >= 6, "{queries:?}");
    for (place, format, sql) in queries {
        assert!(
            !sql.contains("$__") || sql.matches("$__").count() == sql.matches("$__time").count(),
            "{place}: a macro the test does not expand"
        );
        let sql = expand(&sql, "2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z");
        let rows = client.query(&sql, &[]).await.unwrap_or_else(|e| panic!("{place}: {e:?}\n{sql}"));
        assert!(!rows.is_empty(), "{place}: no rows on the basic fixtures\n{sql}");
        let columns: Vec<(&str, &Type)> = rows[0].columns().iter().map(|c| (c.name(), c.type_())).collect();
        match format.as_str() {
            "time_series" => {
                assert_eq!(columns[0], ("time", &Type::TIMESTAMPTZ), "{place}");
                assert_eq!(columns[1].0, "metric", "{place}");
                assert_eq!(columns[2].1, &Type::FLOAT8, "{place}");
            }
            "annotation" => {
                assert_eq!(columns[0], ("time", &Type::TIMESTAMPTZ), "{place}");
                assert_eq!(columns[1], ("text", &Type::TEXT), "{place}");
                for r in &rows {
                    assert!(
                        !r.get::<_, Option<String>>(1).unwrap_or_default().is_empty(),
                        "{place}: an empty annotation"
                    );
                }
            }
            _ => assert!(columns.len() >= 2, "{place}: {columns:?}"),
        }
        // Outside the data, the queries answer with no rows, not an error.
        let empty = expand(&dashboard_sql_again(&place), "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z");
        assert!(client.query(&empty, &[]).await.unwrap_or_else(|e| panic!("{place}: {e:?}")).is_empty(), "{place}");
    }
}

fn dashboard_sql_again(place: &str) -> String {
    dashboard_queries().into_iter().find(|(p, _, _)| p == place).map(|(_, _, sql)| sql).unwrap()
}
