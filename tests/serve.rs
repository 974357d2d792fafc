//! `retrace serve` with a real PostgreSQL client library (tokio-postgres): both protocols,
//! parameters, types, read-only, many clients, per-query limits, auth, fresh ingests.
//! psql and psycopg are in `serve_clients` (ignored: `.ci/run` installs them).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use retrace::limits::QueryLimits;
use retrace::serve::{ServeOptions, serve};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::common::{Sandbox, basic_sandbox};

/// Starts a server over `sb`'s warehouse on a free loopback port.
pub async fn start(sb: &Sandbox, password: Option<&str>, limits: QueryLimits) -> SocketAddr {
    start_with(sb, ServeOptions { password: password.map(str::to_string), ..loopback(limits, 64) }).await
}

/// A free loopback port, no password, no TLS, no SLOs.
pub fn loopback(limits: QueryLimits, max_connections: usize) -> ServeOptions {
    ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        password: None,
        tls: None,
        limits,
        max_connections,
        slos: Vec::new(),
    }
}

pub async fn start_with(sb: &Sandbox, options: ServeOptions) -> SocketAddr {
    let warehouse = sb.warehouse();
    let (tx, rx) = tokio::sync::oneshot::channel();
    // On a runtime of its own, as in `retrace serve` (8 threads on two cores), on a thread
    // that lives as long as the test process: the test's runtime then never waits at its
    // end for a cancelled query's operators to reach their next yield.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(8).enable_all().build().unwrap();
        runtime.block_on(async move {
            let result = serve(&warehouse, &options, |addr| tx.send(addr).unwrap()).await;
            panic!("the server stopped: {result:?}");
        })
    });
    rx.await.expect("the server started")
}

/// The basic sandbox with 15,000 more log lines: enough for a join of every line with
/// every other to run for many minutes.
pub fn busy_sandbox() -> (Sandbox, retrace::config::Config) {
    let (sb, config) = basic_sandbox();
    let lines: String = (0..15000)
        .map(|i| format!("{{\"ts\":\"2026-11-19T12:{:02}:{:02}Z\",\"service\":\"bulk\",\"level\":\"info\",\"msg\":\"line {i}\"}}\n", i / 60 % 60, i % 60))
        .collect();
    sb.write("logs/bulk.jsonl", lines.as_bytes());
    (sb, config)
}

/// A cross join under a filter (225 million pairs): runs for tens of seconds in a debug
/// build unless stopped.
pub const RUNAWAY: &str = "SELECT count(*) FROM logs a JOIN logs b ON a.line + b.line > 7";

fn limits() -> QueryLimits {
    QueryLimits { memory: 256 << 20, timeout: Some(Duration::from_secs(60)) }
}

pub async fn connect(addr: SocketAddr, password: Option<&str>) -> Result<Client, tokio_postgres::Error> {
    let mut config = format!("host={} port={} user=analyst dbname=retrace", addr.ip(), addr.port());
    if let Some(p) = password {
        config.push_str(&format!(" password={p}"));
    }
    let (client, connection) = tokio_postgres::connect(&config, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The first column of the first row of a simple query, as text.
async fn scalar(client: &Client, sql: &str) -> String {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no row"))
}

fn sqlstate(e: &tokio_postgres::Error) -> (String, String) {
    let db = e.as_db_error().unwrap_or_else(|| panic!("not a server error: {e:?}"));
    (db.code().code().to_string(), db.message().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_over_both_protocols_answer_as_retrace_sql_does() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, None, limits()).await;
    let client = connect(addr, None).await.unwrap();

    // Simple protocol, text.
    let local = sb.sql("SELECT count(*) AS n FROM logs").await;
    let n = scalar(&client, "SELECT count(*) FROM logs").await;
    assert!(local.contains(&format!("| {n} ")), "{local} vs {n}");

    // Extended protocol with a `$1` parameter, binary results.
    let rows = client
        .query(
            "SELECT service, count(*) AS n FROM logs WHERE level = $1 GROUP BY service ORDER BY service",
            &[&"error"],
        )
        .await
        .unwrap();
    let served: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let local = sb
        .sql_batches("SELECT service, count(*) AS n FROM logs WHERE level = 'error' GROUP BY service ORDER BY service")
        .await;
    let local_rows: usize = local.iter().map(|b| b.num_rows()).sum();
    assert!(!served.is_empty());
    assert_eq!(served.len(), local_rows);

    // Timestamps are timestamptz: the client reads UTC instants.
    let row = client.query_one("SELECT min(ts) FROM logs", &[]).await.unwrap();
    let first: chrono::DateTime<chrono::Utc> = row.get(0);
    let local = sb.sql("SELECT min(ts) AS t FROM logs").await;
    assert!(local.contains(&first.format("%Y-%m-%dT%H:%M:%S").to_string()), "{local} vs {first}");
    let row = client.query_one("SELECT ts FROM logs ORDER BY ts LIMIT 1", &[]).await.unwrap();
    assert_eq!(row.columns()[0].type_(), &tokio_postgres::types::Type::TIMESTAMPTZ);

    // A timestamp parameter, bound over the extended protocol.
    let since = first + chrono::Duration::minutes(1);
    let later: i64 = client.query_one("SELECT count(*) FROM logs WHERE ts >= $1", &[&since]).await.unwrap().get(0);
    let all: i64 = client.query_one("SELECT count(*) FROM logs", &[]).await.unwrap().get(0);
    assert!(later < all, "{later} of {all}");

    // Maps arrive as JSON text; lists as arrays.
    let json = scalar(&client, "SELECT labels FROM metrics WHERE cardinality(labels) > 0 LIMIT 1").await;
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert!(parsed.as_object().is_some_and(|o| !o.is_empty()), "{json}");
    let row = client.query_one("SELECT make_array('a', 'b')", &[]).await.unwrap();
    assert_eq!(row.get::<_, Vec<String>>(0), vec!["a".to_string(), "b".to_string()]);

    // The views and the catalog clients read.
    let timeline: i64 = client.query_one("SELECT count(*) FROM timeline", &[]).await.unwrap().get(0);
    assert!(timeline > 0);
    let tables: Vec<String> = client
        .query("SELECT relname::text FROM pg_catalog.pg_class WHERE relkind = 'r' ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in retrace::tables::ALL_TABLES {
        assert!(tables.iter().any(|n| n == t), "{t} not in pg_class: {tables:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_engine_settings_are_refused_and_the_server_goes_on() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, None, limits()).await;
    let client = connect(addr, None).await.unwrap();
    let before = scalar(&client, "SELECT count(*) FROM logs").await;
    for sql in [
        "DROP TABLE logs",
        "CREATE TABLE t AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
        "INSERT INTO logs SELECT * FROM logs",
        "COPY logs TO '/tmp/x.parquet'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let e = client.simple_query(sql).await.expect_err(sql);
        let (code, message) = sqlstate(&e);
        assert_eq!(code, "25006", "{sql}: {message}");
        assert!(message.contains("read-only") || message.contains("shared"), "{sql}: {message}");
        // Over the extended protocol too.
        let e = client.query(sql, &[]).await.expect_err(sql);
        assert_eq!(sqlstate(&e).0, "25006", "{sql}");
    }
    // Client settings a driver sends at start-up are fine.
    client.simple_query("SET application_name = 'retrace-test'").await.unwrap();
    client.simple_query("SET extra_float_digits = 3").await.unwrap();
    assert_eq!(scalar(&client, "SELECT count(*) FROM logs").await, before);
    // Expressions nested too deep are refused before planning.
    let deep = format!("SELECT {}1", "1 + ".repeat(600));
    let (code, message) = sqlstate(&client.simple_query(&deep).await.unwrap_err());
    assert_eq!(code, "54001", "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_at_once_get_the_same_answers() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, None, limits()).await;
    let expected =
        scalar(&connect(addr, None).await.unwrap(), "SELECT count(*) || '/' || count(DISTINCT service) FROM logs")
            .await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        tasks.push(tokio::spawn(async move {
            let client = connect(addr, None).await.unwrap();
            let mut answers = Vec::new();
            for j in 0..10 {
                let level = if (i + j) % 2 == 0 { "error" } else { "info" };
                let n: i64 =
                    client.query_one("SELECT count(*) FROM logs WHERE level = $1", &[&level]).await.unwrap().get(0);
                answers.push((level.to_string(), n.to_string()));
                let all = scalar(&client, "SELECT count(*) || '/' || count(DISTINCT service) FROM logs").await;
                answers.push(("all".to_string(), all));
            }
            answers
        }));
    }
    let mut by_level = std::collections::BTreeMap::new();
    for t in tasks {
        for (level, n) in t.await.unwrap() {
            let seen = by_level.entry(level.clone()).or_insert(n.clone());
            assert_eq!(*seen, n, "{level}: clients disagree");
        }
    }
    assert_eq!(by_level["all"], expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_query_is_stopped_by_its_limits_while_others_are_served() {
    let t0 = Instant::now();
    let (sb, config) = busy_sandbox();
    sb.ingest(&config).await;
    eprintln!("ingested after {:?}", t0.elapsed());
    let addr = start(&sb, None, QueryLimits { memory: 32 << 20, timeout: Some(Duration::from_secs(3)) }).await;

    let runaway = tokio::spawn(async move {
        let client = connect(addr, None).await.unwrap();
        let started = Instant::now();
        let e = client.simple_query(RUNAWAY).await.expect_err("the cross join must be stopped");
        (sqlstate(&e), started.elapsed())
    });
    // Another client is answered while it runs.
    let other = connect(addr, None).await.unwrap();
    for _ in 0..5 {
        let started = Instant::now();
        scalar(&other, "SELECT count(*) FROM changes").await;
        assert!(started.elapsed() < Duration::from_secs(3), "a short query waited {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ((code, message), took) = runaway.await.unwrap();
    eprintln!("runaway: {code} {message} after {took:?}");
    assert_eq!(code, "57014", "{message}");
    assert!(message.contains("query timeout of 3s"), "{message}");
    assert!(took < Duration::from_secs(20), "stopped after {took:?}");

    // Memory: an aggregate that cannot spill fails alone, saying which limit.
    let e = other.simple_query("SELECT array_agg(v) FROM generate_series(1, 20000000) AS t(v)").await.unwrap_err();
    let (code, message) = sqlstate(&e);
    assert_eq!(code, "53200", "{message}");
    eprintln!("memory: {message}");
    assert!(message.contains("more memory than its limit of 32 MB"), "{message}");
    // And the server goes on.
    scalar(&other, "SELECT count(*) FROM logs").await;
    eprintln!("done after {:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_required_when_set_and_open_addresses_need_one() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, Some("correct-horse"), limits()).await;
    let e = connect(addr, Some("wrong")).await.expect_err("a wrong password is refused");
    assert!(e.as_db_error().is_some_and(|d| *d.code() == SqlState::INVALID_PASSWORD), "{e:?}");
    assert!(connect(addr, None).await.is_err(), "no password is refused");
    let client = connect(addr, Some("correct-horse")).await.unwrap();
    scalar(&client, "SELECT count(*) FROM logs").await;

    // Listening beyond loopback without a password is refused before binding.
    let options = ServeOptions {
        listen: "0.0.0.0:0".parse().unwrap(),
        password: None,
        tls: None,
        limits: limits(),
        max_connections: 4,
        slos: Vec::new(),
    };
    let e = serve(&sb.warehouse(), &options, |_| panic!("must not listen")).await.unwrap_err();
    assert!(e.to_string().contains("without a password"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_ingest_commits_is_seen_without_a_restart() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, None, limits()).await;
    let client = connect(addr, None).await.unwrap();
    let before: i64 = client.query_one("SELECT count(*) FROM logs", &[]).await.unwrap().get(0);
    sb.write(
        "logs/more.jsonl",
        b"{\"ts\":\"2026-11-21T00:00:01Z\",\"service\":\"edge\",\"level\":\"info\",\"msg\":\"new day\"}\n",
    );
    sb.ingest(&config).await;
    let after: i64 = client.query_one("SELECT count(*) FROM logs", &[]).await.unwrap().get(0);
    assert_eq!(after, before + 1);
    let day: i64 = client.query_one("SELECT count(*) FROM logs WHERE date = '2026-11-21'", &[]).await.unwrap().get(0);
    assert_eq!(day, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_clients_than_the_limit_are_told_why() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start_with(&sb, loopback(limits(), 2)).await;
    let a = connect(addr, None).await.unwrap();
    let _b = connect(addr, None).await.unwrap();
    let e = connect(addr, None).await.expect_err("a third client is refused");
    assert!(format!("{e:?}").contains("too many clients"), "{e:?}");
    drop(a);
    // A freed slot serves again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = connect(addr, None).await.unwrap();
    scalar(&c, "SELECT 1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canned_queries_run_with_execute_and_are_listed() {
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, None, limits()).await;
    let client = connect(addr, None).await.unwrap();
    let listed = scalar(&client, "SELECT count(*) FROM retrace_queries").await;
    assert_eq!(listed, "16");
    let usage = scalar(&client, "SELECT usage FROM retrace_queries WHERE name = 'changes_in_window'").await;
    assert_eq!(usage, "EXECUTE changes_in_window('<from>', '<to>', '<from_date>', '<to_date>', '<service>')");

    let direct = scalar(
        &client,
        "SELECT count(*) FROM changes WHERE ts >= '2026-11-19T00:00:00Z' AND ts < '2026-11-20T00:00:00Z'",
    )
    .await;
    let rows = client
        .simple_query(
            "EXECUTE changes_in_window('2026-11-19T00:00Z', '2026-11-20T00:00Z', '2026-11-19', '2026-11-19', '')",
        )
        .await
        .unwrap();
    let served = rows.iter().filter(|m| matches!(m, SimpleQueryMessage::Row(_))).count();
    assert!(served > 0);
    assert_eq!(served.to_string(), direct);
    // Over the extended protocol too, and one with no parameters.
    let rows = client
        .query(
            "EXECUTE changes_in_window('2026-11-19T00:00Z', '2026-11-20T00:00Z', '2026-11-19', '2026-11-19', '')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len().to_string(), direct);
    client.simple_query("EXECUTE rejects_summary").await.unwrap();

    let (code, message) =
        sqlstate(&client.simple_query("EXECUTE changes_in_window('2026-11-19T00:00Z')").await.unwrap_err());
    assert_eq!(code, "42P02", "{message}");
    assert!(message.contains("takes 5 argument(s), ($from, $to, $from_date, $to_date, $service), not 1"), "{message}");
    let (code, message) = sqlstate(&client.simple_query("EXECUTE no_such_query").await.unwrap_err());
    assert_eq!(code, "26000", "{message}");
    assert!(message.contains("retrace_queries"), "{message}");
}
