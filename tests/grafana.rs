//! Every query of docs/grafana/retrace-dashboard.json runs through `retrace serve`, with
//! Grafana's `$__timeFrom()` / `$__timeTo()` expanded as Grafana expands them, and returns
//! rows of the shape its panel needs.

use std::time::Duration;

use retrace::limits::QueryLimits;
use tokio_postgres::types::Type;

use retrace::serve::ServeOptions;

use crate::common::{Sandbox, basic_sandbox, basic_sources};
use crate::serve::{connect, loopback, start_with};

/// The basic fixtures, plus eight hours of a `shop` service whose 5xx share jumps to a
/// half from 13:00 to 13:40, with a log-ratio SLO on it and a counter SLO on the
/// fixtures' payments metrics: every panel and annotation has something to show.
async fn dashboard_sandbox() -> (Sandbox, retrace::config::Config) {
    let (sb, _) = basic_sandbox();
    let lines = crate::common::shop_outage_lines(14, |_| "shop-1".into());
    sb.write("logs/shop.jsonl", lines.as_bytes());
    let slos = "[[slo]]\nname = \"shop-availability\"\nservice = \"shop\"\nobjective = 0.999\nperiod = \"30d\"\n\
                sli = { kind = \"log_ratio\", bad = \"status >= 500\", total = \"status IS NOT NULL\" }\n\
                [[slo]]\nname = \"payments-availability\"\nservice = \"payments\"\nobjective = 0.99\nperiod = \"30d\"\n\
                sli = { kind = \"ratio\", bad = 'http_requests_total{service=\"payments\",code=~\"5..\"}', total = 'http_requests_total{service=\"payments\"}' }\n";
    let config = sb.config(&format!("{}{slos}", basic_sources()));
    sb.ingest(&config).await;
    (sb, config)
}

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
    let (sb, config) = dashboard_sandbox().await;
    let limits = QueryLimits { memory: 256 << 20, timeout: Some(Duration::from_secs(120)) };
    let addr = start_with(&sb, ServeOptions { slos: config.slos.clone(), ..loopback(limits, 8) }).await;
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
                let text = columns.iter().position(|c| *c == ("text", &Type::TEXT)).expect("a text column");
                if let Some(end) = columns.iter().position(|c| c.0 == "timeend") {
                    assert_eq!(columns[end].1, &Type::TIMESTAMPTZ, "{place}");
                }
                for r in &rows {
                    assert!(
                        !r.get::<_, Option<String>>(text).unwrap_or_default().is_empty(),
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

/// What the SLO panels show is what `retrace slo` computes: the outage's minutes at half
/// good, the day's budget overspent 40-fold, and one breach starting with the outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slo_tables_answer_what_the_analysis_computes() {
    let (sb, config) = dashboard_sandbox().await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    retrace::analyze::slo_tables::register(&ctx, &config.slos).unwrap();
    let text = |sql: &str| {
        let ctx = ctx.clone();
        let sql = sql.to_string();
        async move {
            let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
        }
    };
    let minute = text(
        "SELECT slo, minute, bad, total, sli FROM slo_minutes \
         WHERE slo = 'shop-availability' AND minute >= '2026-11-19T13:10:00Z' AND minute < '2026-11-19T13:11:00Z'",
    )
    .await;
    assert!(minute.contains("| shop-availability | 2026-11-19T13:10:00Z | 3.0 | 6.0   | 0.5 |"), "{minute}");
    let budget = text(
        "SELECT slo, round(1.0 - (sum(bad) / sum(total)) / (1.0 - max(objective)), 2) AS left \
         FROM slo_minutes WHERE minute >= '2026-11-19T00:00:00Z' AND minute < '2026-11-20T00:00:00Z' AND total > 0 \
         GROUP BY slo ORDER BY slo",
    )
    .await;
    assert!(budget.contains("| shop-availability     | -40.67 |"), "{budget}");
    let breaches = text("SELECT slo, onset, recovered FROM slo_breaches WHERE slo = 'shop-availability'").await;
    assert!(breaches.contains("| shop-availability | 2026-11-19T13:00:00Z |"), "{breaches}");
    assert_eq!(breaches.matches("shop-availability").count(), 1, "{breaches}");
    // Without SLOs the tables are there, empty.
    let bare = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    retrace::analyze::slo_tables::register(&bare, &[]).unwrap();
    let n = bare.sql("SELECT count(*) FROM slo_minutes").await.unwrap().collect().await.unwrap();
    assert_eq!(
        datafusion::arrow::util::pretty::pretty_format_batches(&n).unwrap().to_string().matches("| 0 ").count(),
        1
    );
}

fn dashboard_sql_again(place: &str) -> String {
    dashboard_queries().into_iter().find(|(p, _, _)| p == place).map(|(_, _, sql)| sql).unwrap()
}
