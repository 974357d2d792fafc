//! `retrace serve` with the clients analysts use: psql (Debian's postgresql-client) and
//! psycopg 3 (PyPI). Ignored by default; `.ci/run` installs both and runs them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use retrace::limits::QueryLimits;
use retrace::serve::ServeOptions;

use crate::common::basic_sandbox;
use crate::serve::{RUNAWAY, busy_sandbox, start, start_with};

fn psql_available() -> bool {
    let found = Command::new("psql").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var("CI").is_err(), "CI must install psql (.ci/run installs postgresql-client)");
        eprintln!("skipped: psql is not installed");
    }
    found
}

/// Runs psql with `args` against `conninfo`; returns (success, stdout, stderr).
fn psql(conninfo: &str, password: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new("psql");
    cmd.arg(conninfo).args(["-X", "-v", "ON_ERROR_STOP=1"]).args(args).env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().expect("psql runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn limits() -> QueryLimits {
    QueryLimits { memory: 256 << 20, timeout: Some(Duration::from_secs(3)) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs psql; .ci/run installs postgresql-client"]
async fn psql_lists_describes_queries_and_is_refused_a_drop() {
    if !psql_available() {
        return;
    }
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let addr = start(&sb, Some("s3cret"), limits()).await;
    let conninfo = format!("host={} port={} user=analyst dbname=retrace sslmode=disable", addr.ip(), addr.port());

    let run = |args: &[&str]| {
        let conninfo = conninfo.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            psql(&conninfo, Some("s3cret"), &args)
        })
    };
    let (ok, out, err) = run(&["-c", "\\dt"]).await.unwrap();
    assert!(ok, "\\dt: {err}");
    for table in retrace::tables::ALL_TABLES {
        assert!(
            out.lines().any(|l| l.split('|').nth(1).is_some_and(|c| c.trim() == table)),
            "\\dt lacks {table}:\n{out}"
        );
    }
    let (ok, out, err) = run(&["-c", "\\d logs"]).await.unwrap();
    assert!(ok, "\\d logs: {err}");
    assert!(out.contains("Table \"public.logs\""), "{out}");
    for column in ["ts", "service", "level", "msg", "attributes"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(&format!("{column} "))),
            "\\d logs lacks {column}:\n{out}"
        );
    }
    let (ok, out, err) = run(&["-c", "\\dv"]).await.unwrap();
    assert!(ok && out.contains("timeline"), "\\dv: {out}{err}");

    let (ok, out, err) = run(&["-At", "-c", "SELECT count(*) FROM logs"]).await.unwrap();
    assert!(ok, "{err}");
    let n: i64 = out.trim().parse().unwrap();
    assert!(n > 0);

    let (ok, _, err) = run(&["-c", "DROP TABLE logs"]).await.unwrap();
    assert!(!ok && err.contains("read-only"), "{err}");

    // A wrong password is refused.
    let conninfo2 = conninfo.clone();
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || psql(&conninfo2, Some("wrong"), &["-c", "SELECT 1"])).await.unwrap();
    assert!(!ok && err.to_lowercase().contains("password"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs psql; .ci/run installs postgresql-client"]
async fn psql_connects_over_tls_and_verifies_the_certificate() {
    if !psql_available() {
        return;
    }
    let (sb, config) = basic_sandbox();
    sb.ingest(&config).await;
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let addr = start_with(
        &sb,
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            password: Some("s3cret".into()),
            tls: Some((tls.join("server.crt"), tls.join("server.key"))),
            limits: limits(),
            max_connections: 8,
            slos: Vec::new(),
        },
    )
    .await;
    let conninfo = format!(
        "host=localhost port={} user=analyst dbname=retrace sslmode=verify-full sslrootcert={}",
        addr.port(),
        tls.join("server.crt").display()
    );
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        psql(&conninfo, Some("s3cret"), &["-At", "-c", "SELECT count(*) FROM changes"])
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(out.trim().parse::<i64>().unwrap() > 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python with psycopg; .ci/run sets RETRACE_PYTHON"]
async fn psycopg_parameters_types_refusals_concurrency_and_limits() {
    let Ok(python) = std::env::var("RETRACE_PYTHON") else {
        assert!(std::env::var("CI").is_err(), "CI must set RETRACE_PYTHON (.ci/run makes the venv)");
        eprintln!("skipped: set RETRACE_PYTHON to a Python with psycopg");
        return;
    };
    let (sb, config) = busy_sandbox();
    sb.ingest(&config).await;
    let rows: usize = sb.sql_batches("SELECT * FROM logs").await.iter().map(|b| b.num_rows()).sum();
    let addr = start(&sb, Some("s3cret"), limits()).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve_clients/psycopg_checks.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([addr.ip().to_string(), addr.port().to_string(), "s3cret".into(), rows.to_string(), RUNAWAY.into()])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("all psycopg checks passed"), "{stdout}");
    eprintln!("{stdout}");
}
