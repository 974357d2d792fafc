//! The analyses on an Apache Ballista cluster (`--features cluster`, docs/distributed.md):
//! one `retrace scheduler` and two `retrace executor` processes on 127.0.0.1, the
//! warehouse on s3s-fs (tests/s3.rs), credentials only in the config's `[storage]`. Every
//! answer through the cluster must equal the local one, byte for byte.
//!
//! `#[ignore]`d: they need s3s-fs and a build with the feature. `.ci/run` runs them with
//! `cargo test --features cluster --test tests cluster:: -- --ignored`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::Sandbox;
use crate::s3::{KEY, S3Server, SECRET};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Two ports in a row (an executor's Flight port and its gRPC port, the next one).
fn free_port_pair() -> u16 {
    loop {
        let p = free_port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "{what} exited before listening on {port}");
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Cluster {
    scheduler: Child,
    executors: Vec<Child>,
    url: String,
    /// The processes' stderr, printed when a test fails.
    logs: std::path::PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.executors.iter_mut().chain(std::iter::once(&mut self.scheduler)) {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            for e in std::fs::read_dir(&self.logs).into_iter().flatten().flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                eprintln!("--- {} (last lines)", e.path().display());
                for l in tail.into_iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
    }
}

fn log_file(sb: &Sandbox, name: &str) -> Stdio {
    let dir = sb.path().join("cluster-logs");
    std::fs::create_dir_all(&dir).unwrap();
    Stdio::from(std::fs::File::create(dir.join(name)).unwrap())
}

fn retrace(sb: &Sandbox) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retrace"));
    cmd.current_dir(sb.path());
    // Credentials come from the config alone: not from this process's environment.
    for var in [
        "RETRACE_CONFIG",
        "RETRACE_WAREHOUSE",
        "RETRACE_CLUSTER",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT",
        "AWS_ALLOW_HTTP",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn start_cluster(sb: &Sandbox, executors: usize) -> Cluster {
    let port = free_port();
    let mut scheduler = retrace(sb)
        .args(["scheduler", "--listen", &format!("127.0.0.1:{port}"), "--executor-timeout", "5"])
        .stdout(Stdio::null())
        .stderr(log_file(sb, "scheduler.log"))
        .spawn()
        .unwrap();
    wait_for_port(port, "the scheduler", &mut scheduler);
    let mut cluster = Cluster {
        scheduler,
        executors: Vec::new(),
        url: format!("df://127.0.0.1:{port}"),
        logs: sb.path().join("cluster-logs"),
    };
    for i in 0..executors {
        cluster.executors.push(start_cluster_executor(sb, &cluster.url, i));
    }
    // Registered once a query runs on them.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = retrace(sb).args(["--cluster", &cluster.url, "sql", "--format", "csv", "SELECT 1 AS one"]).output();
        if out.as_ref().is_ok_and(|o| o.status.success()) {
            break;
        }
        assert!(Instant::now() < deadline, "the cluster never answered: {out:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    cluster
}

/// A day of a shop whose outage 13:00–13:40 follows a config change at 12:58, with the
/// basic fixtures beside it; all on the S3 server.
fn seed(s3: &S3Server, sb: &Sandbox) {
    let lines = crate::common::shop_outage_lines(16, |i| format!("shop-{}", i % 3));
    s3.put("telemetry", "logs/shop.jsonl", lines.as_bytes());
    let fixtures = crate::common::fixture_dir().join("basic");
    for (from, to) in
        [("logs.jsonl", "logs/app.jsonl"), ("metrics.csv", "metrics/m.csv"), ("deploys.jsonl", "deploys/d.jsonl")]
    {
        s3.put("telemetry", to, &std::fs::read(fixtures.join(from)).unwrap());
    }
    let mut changes = String::from_utf8(std::fs::read(fixtures.join("changes.csv")).unwrap()).unwrap();
    changes += "2026-11-19T12:58:00Z,CHG-2001,shop,config-service,cache.ttl_seconds,300,0,carol,prod,Disable the cache,,OPS-99\n";
    s3.put("telemetry", "changes/c.csv", changes.as_bytes());
    let config = format!(
        "warehouse = \"s3://lake/prod\"\n\
         [storage]\naws_access_key_id = \"{KEY}\"\naws_secret_access_key = \"{SECRET}\"\naws_endpoint = \"{}\"\naws_allow_http = \"true\"\naws_region = \"us-east-1\"\n\
         [[sources]]\nkind = \"logs\"\nurl = \"s3://telemetry/logs/*.jsonl\"\n\
         [[sources]]\nkind = \"metrics\"\nurl = \"s3://telemetry/metrics/m.csv\"\n\
         [[sources]]\nkind = \"changes\"\nurl = \"s3://telemetry/changes/c.csv\"\n\
         [[sources]]\nkind = \"deploys\"\nurl = \"s3://telemetry/deploys/d.jsonl\"\n\
         [[slo]]\nname = \"shop-availability\"\nservice = \"shop\"\nobjective = 0.999\nperiod = \"30d\"\n\
         sli = {{ kind = \"log_ratio\", bad = \"status >= 500\", total = \"status IS NOT NULL\" }}\n",
        s3.endpoint()
    );
    std::fs::write(sb.path().join("retrace.toml"), config).unwrap();
    let out = retrace(sb).args(["-q", "ingest"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The S3 server with [`seed`]'s warehouse, and a scheduler with two executors over it
/// (each test holds all three until it ends).
fn seeded_cluster() -> (Cluster, Sandbox, S3Server) {
    let s3 = S3Server::start();
    let sb = Sandbox::new();
    seed(&s3, &sb);
    (start_cluster(&sb, 2), sb, s3)
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The same command locally and through the cluster.
fn both(sb: &Sandbox, cluster: &Cluster, args: &[&str]) -> (String, String) {
    let local = ok(retrace(sb).args(args).output().unwrap(), &format!("local {args:?}"));
    let remote =
        ok(retrace(sb).args(["--cluster", &cluster.url]).args(args).output().unwrap(), &format!("cluster {args:?}"));
    (local, remote)
}

#[test]
#[ignore = "needs s3s-fs and --features cluster; .ci/run runs it"]
fn sql_slo_suspects_and_reports_through_the_cluster_equal_the_local_ones() {
    let (cluster, sb, _s3) = seeded_cluster();

    for sql in [
        "SELECT service, level, count(*) AS n FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT date_bin(INTERVAL '10 minutes', ts) AS t, avg(CAST(status AS DOUBLE)) AS s, count(DISTINCT host) AS hosts \
         FROM logs WHERE service = 'shop' GROUP BY 1 ORDER BY 1",
        "SELECT l.host, count(*) AS n FROM logs l JOIN changes c ON l.service = c.service GROUP BY 1 ORDER BY 1",
        "SELECT * FROM timeline ORDER BY ts, kind, service, source, line LIMIT 50",
        "SELECT metric, sum(value) AS v FROM metrics GROUP BY 1 ORDER BY 1",
    ] {
        let (local, remote) = both(&sb, &cluster, &["sql", "--format", "csv", sql]);
        assert!(local.lines().count() > 1, "{sql}: {local}");
        assert_eq!(remote, local, "{sql}");
    }
    let (local, remote) = both(&sb, &cluster, &["slo", "--format", "json"]);
    assert!(local.contains("shop-availability") && local.contains("2026-11-19T13:0"), "{local}");
    assert_eq!(remote, local);
    let (local, remote) = both(&sb, &cluster, &["suspects", "--format", "json"]);
    assert!(local.contains("CHG-2001"), "{local}");
    assert_eq!(remote, local);
    let (local, remote) =
        both(&sb, &cluster, &["timeline", "--from", "2026-11-19T12:30Z", "--to", "2026-11-19T14:00Z"]);
    assert_eq!(remote, local);

    // Reports byte for byte (the Markdown draft, the HTML page with its charts, the JSON),
    // and the weekly digest.
    same_files(&sb, &cluster, &["report"], "report");
    same_files(&sb, &cluster, &["digest", "--week", "2026-W47"], "digest");

    // The SLO tables are computed in the client process: on a cluster they are not there,
    // and the query says which table it could not find.
    let out = retrace(&sb).args(["--cluster", &cluster.url, "sql", "SELECT * FROM slos"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("slos"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "needs s3s-fs and --features cluster; .ci/run runs it"]
fn an_executor_killed_mid_query_gives_the_right_answer_or_a_clear_error() {
    let (mut cluster, sb, _s3) = seeded_cluster();
    // A query with enough work to be running when an executor dies: a self-join of the
    // shop's lines within each host and minute, grouped.
    let sql = "SELECT a.host, count(*) AS pairs FROM logs a JOIN logs b ON a.host = b.host \
               AND date_trunc('minute', a.ts) = date_trunc('minute', b.ts) GROUP BY 1 ORDER BY 1";
    let expected = ok(retrace(&sb).args(["sql", "--format", "csv", sql]).output().unwrap(), "local");
    let mut outcomes = Vec::new();
    for round in 0..2 {
        // A query that cannot finish must say so, not hang: --timeout bounds the wait.
        let child = retrace(&sb)
            .args(["--cluster", &cluster.url, "sql", "--timeout", "40s", "--format", "csv", sql])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300 + 400 * round));
        let mut victim = cluster.executors.remove(0);
        victim.kill().unwrap(); // SIGKILL: no goodbye to the scheduler
        victim.wait().unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            assert_eq!(stdout, expected, "a query that survived an executor's death must be right");
        } else {
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(stderr.starts_with("error: "), "{stderr}");
            assert!(stdout.is_empty() || expected.starts_with(&*stdout), "partial wrong rows: {stdout}");
        }
        outcomes.push(out.status.success());
        // A replacement, so the second round has two executors again.
        let replacement = start_cluster_executor(&sb, &cluster.url, round as usize + 10);
        cluster.executors.push(replacement);
    }
    // Which way each round went (retried and right, or a clear error), for the log.
    eprintln!("executor killed mid-query, survived per round: {outcomes:?}");
    // With the executors back, the next query is right.
    let again =
        ok(retrace(&sb).args(["--cluster", &cluster.url, "sql", "--format", "csv", sql]).output().unwrap(), "after");
    assert_eq!(again, expected, "outcomes {outcomes:?}");
}

/// Runs `args --out <dir>` locally and through the cluster; every file written is the same.
fn same_files(sb: &Sandbox, cluster: &Cluster, args: &[&str], what: &str) {
    let (local, remote) = (format!("{what}-local"), format!("{what}-cluster"));
    ok(retrace(sb).args(args).args(["--out", &local]).output().unwrap(), &format!("local {what}"));
    ok(retrace(sb).args(["--cluster", &cluster.url]).args(args).args(["--out", &remote]).output().unwrap(), what);
    let files = |dir: &str| {
        let mut names: Vec<_> = std::fs::read_dir(sb.path().join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(files(&remote), files(&local));
    assert!(files(&local).iter().any(|f| f.ends_with(".html")), "{:?}", files(&local));
    for name in files(&local) {
        let a = std::fs::read(sb.path().join(&local).join(&name)).unwrap();
        let b = std::fs::read(sb.path().join(&remote).join(&name)).unwrap();
        assert!(a == b, "{what}: {name} differs between the local run and the cluster's");
    }
}

fn start_cluster_executor(sb: &Sandbox, url: &str, i: usize) -> Child {
    let scheduler = url.trim_start_matches("df://");
    let flight = free_port_pair();
    let mut child = retrace(sb)
        .args(["executor", "--scheduler", scheduler, "--listen", &format!("127.0.0.1:{flight}")])
        .args(["--tasks", "2", "--heartbeat", "1"])
        .arg("--work-dir")
        .arg(sb.path().join(format!("executor-{i}")))
        .stdout(Stdio::null())
        .stderr(log_file(sb, &format!("executor-{i}.log")))
        .spawn()
        .unwrap();
    wait_for_port(flight, "an executor", &mut child);
    child
}

#[test]
fn a_scheduler_that_is_not_there_is_named() {
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("retrace.toml"), "warehouse = \"wh\"\n").unwrap();
    let port = free_port();
    let out = retrace(&sb).args(["--cluster", &format!("df://127.0.0.1:{port}"), "sql", "SELECT 1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("cannot reach"), "{stderr}");
}

/// A scheduler with no executor queues the job for good, and Ballista's client would wait
/// for ever: `[cluster] timeout` ends the command with an error naming the cluster.
#[test]
fn a_cluster_without_executors_ends_at_the_configured_timeout() {
    let sb = Sandbox::new();
    sb.write("logs/a.jsonl", b"{\"ts\":\"2026-11-19T10:00:00Z\",\"service\":\"web\",\"msg\":\"up\"}\n");
    let config = "warehouse = \"wh\"\n[[sources]]\nkind = \"logs\"\nurl = \"sources/logs/*.jsonl\"\n[cluster]\ntimeout = \"3s\"\n";
    std::fs::write(sb.path().join("retrace.toml"), config).unwrap();
    ok(retrace(&sb).args(["-q", "ingest"]).output().unwrap(), "ingest");
    let port = free_port();
    let mut scheduler = retrace(&sb)
        .args(["scheduler", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port, "the scheduler", &mut scheduler);
    let started = Instant::now();
    let out = retrace(&sb)
        .args([
            "--cluster",
            &format!("df://127.0.0.1:{port}"),
            "timeline",
            "--from",
            "2026-11-19T09:00Z",
            "--to",
            "2026-11-19T11:00Z",
        ])
        .output()
        .unwrap();
    let _ = scheduler.kill();
    let _ = scheduler.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no answer from the cluster") && stderr.contains("[cluster] timeout"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
    // A timeout that is not a duration is a config error naming the field.
    std::fs::write(sb.path().join("retrace.toml"), config.replace("3s", "soon")).unwrap();
    let out = retrace(&sb).args(["--cluster", &format!("df://127.0.0.1:{port}"), "sql", "SELECT 1"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("[cluster] timeout `soon`"), "{out:?}");
}
