//! The S3 path against a real S3-compatible server on 127.0.0.1: s3s-fs 0.14.1, which
//! checks SigV4 signatures. Each test starts its own server on a free port over a temp
//! folder (a bucket is a folder) and drives the `retrace` binary, so credentials come
//! from a clean process environment.
//!
//! The tests are `#[ignore]`d because they need the `s3s-fs` binary; `.ci/run` installs
//! it (`cargo install s3s-fs@0.14.1 --features binary --locked`) and selects them. Run
//! locally with `cargo test --test tests s3:: -- --ignored` (set `S3S_FS` to the binary
//! if it is not on `PATH` or in `~/.cargo/bin`).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::Sandbox;

pub(crate) const KEY: &str = "AKIARETRACETEST";
pub(crate) const SECRET: &str = "retrace-test-secret-key";

pub(crate) struct S3Server {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

fn s3s_fs_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("S3S_FS") {
        return PathBuf::from(p);
    }
    let mut candidates: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|d| d.join("s3s-fs")).collect();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/s3s-fs"));
    }
    candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!("s3s-fs is not installed: run `cargo install s3s-fs@0.14.1 --features binary --locked` or set S3S_FS")
    })
}

impl S3Server {
    /// Starts s3s-fs with buckets `telemetry` and `lake`.
    pub(crate) fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        for bucket in ["telemetry", "lake"] {
            std::fs::create_dir_all(root.path().join(bucket)).unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(s3s_fs_binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", KEY, "--secret-key", SECRET])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        S3Server { child, port, root }
    }

    /// Kills the server and starts it again on the same port and folder after `pause`.
    fn restart_after(&mut self, pause: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(pause);
        self.child = Command::new(s3s_fs_binary())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--access-key",
                KEY,
                "--secret-key",
                SECRET,
            ])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs restarts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not listen again on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Puts a file straight into a bucket folder (s3s-fs serves what is on disk).
    pub(crate) fn put(&self, bucket: &str, key: &str, content: &[u8]) {
        let path = self.root.path().join(bucket).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn files(&self, bucket: &str, under: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.path().join(bucket).join(under)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path().strip_prefix(self.root.path()).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gz(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

/// Two days of logs and one object that the glob must not pick up.
fn seed(s3: &S3Server) {
    s3.put(
        "telemetry",
        "logs/2026-11-19/payments.jsonl.gz",
        &gz("{\"ts\":\"2026-11-19T14:09:00Z\",\"service\":\"payments\",\"level\":\"error\",\"msg\":\"pool exhausted\"}\n\
             {\"ts\":\"2026-11-19T14:09:01Z\",\"service\":\"payments\",\"level\":\"error\",\"msg\":\"pool exhausted\"}\n"),
    );
    s3.put(
        "telemetry",
        "logs/2026-11-20/payments.jsonl.gz",
        &gz("{\"ts\":\"2026-11-20T08:00:00Z\",\"service\":\"payments\",\"level\":\"info\",\"msg\":\"ok\"}\n"),
    );
    s3.put("telemetry", "logs/2026-11-20/notes.txt", b"not a log");
    s3.put(
        "telemetry",
        "changes/changes.csv",
        b"ts,change_id,service,key,old_value,new_value\n2026-11-19T14:02:00Z,CHG-1024,payments,db.pool.max,200,20\n",
    );
}

const SOURCES: &str = "warehouse = \"s3://lake/prod\"\n\
[[sources]]\nkind = \"logs\"\nurl = \"s3://telemetry/logs/*/*.jsonl.gz\"\n\
[[sources]]\nkind = \"changes\"\nurl = \"s3://telemetry/changes/changes.csv\"\n";

fn retrace(sb: &Sandbox) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retrace"));
    cmd.current_dir(sb.path());
    for var in ["RETRACE_CONFIG", "RETRACE_WAREHOUSE", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"] {
        cmd.env_remove(var);
    }
    cmd
}

fn with_env(mut cmd: Command, s3: &S3Server, secret: &str) -> Command {
    cmd.env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_ENDPOINT", s3.endpoint())
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1");
    cmd
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
#[ignore = "needs the s3s-fs binary; .ci/run installs it and runs these"]
fn ingest_and_sql_with_credentials_from_the_environment() {
    let s3 = S3Server::start();
    seed(&s3);
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("retrace.toml"), SOURCES).unwrap();

    let out = with_env(retrace(&sb), &s3, SECRET).args(["-q", "ingest"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The glob picked the two .jsonl.gz objects, not notes.txt.
    assert!(stdout.contains("objects: 3 seen, 3 ingested"), "{stdout}");

    // The warehouse is on S3: Parquet files per day under the prefix, plus the manifest.
    let files = s3.files("lake", "prod");
    assert!(
        files.iter().any(|f| f.starts_with("lake/prod/logs/date=2026-11-19/") && f.ends_with(".parquet")),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.starts_with("lake/prod/logs/date=2026-11-20/")), "{files:?}");
    assert_eq!(files.iter().filter(|f| f.starts_with("lake/prod/_manifest/objects/")).count(), 3, "{files:?}");
    // The manifest snapshot: the next ingest opens the manifest with one read.
    assert!(files.iter().any(|f| f == "lake/prod/_manifest/snapshot.zst"), "{files:?}");

    // SQL over the S3 warehouse, with partition pruning.
    let out = with_env(retrace(&sb), &s3, SECRET)
        .args([
            "sql",
            "--format",
            "csv",
            "SELECT date, service, level, count(*) AS n FROM logs GROUP BY 1, 2, 3 ORDER BY 1",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "date,service,level,n\n2026-11-19,payments,error,2\n2026-11-20,payments,info,1\n");

    // Unchanged objects (same ETag) are skipped the second time.
    let out = with_env(retrace(&sb), &s3, SECRET).args(["-q", "ingest"]).output().unwrap();
    assert!(text(&out).0.contains("3 unchanged"), "{}", text(&out).0);
}

#[test]
#[ignore = "needs the s3s-fs binary; .ci/run installs it and runs these"]
fn credentials_and_endpoint_from_the_config() {
    let s3 = S3Server::start();
    seed(&s3);
    let sb = Sandbox::new();
    let storage = format!(
        "[storage]\naws_access_key_id = \"{KEY}\"\naws_secret_access_key = \"{SECRET}\"\naws_endpoint = \"{}\"\naws_allow_http = \"true\"\naws_region = \"us-east-1\"\n",
        s3.endpoint()
    );
    std::fs::write(sb.path().join("retrace.toml"), format!("{SOURCES}{storage}")).unwrap();
    let mut cmd = retrace(&sb);
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT", "AWS_ALLOW_HTTP", "AWS_REGION"] {
        cmd.env_remove(var);
    }
    let out = cmd.args(["-q", "ingest"]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let out =
        retrace(&sb).args(["sql", "--format", "csv", "SELECT change_id, new_value FROM changes"]).output().unwrap();
    assert_eq!(text(&out).0, "change_id,new_value\nCHG-1024,20\n", "{}", text(&out).1);
}

#[test]
#[ignore = "needs the s3s-fs binary; .ci/run installs it and runs these"]
fn wrong_credentials_fail_with_a_clear_error() {
    let s3 = S3Server::start();
    seed(&s3);
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("retrace.toml"), SOURCES).unwrap();
    let out = with_env(retrace(&sb), &s3, "not-the-secret").args(["ingest"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("access denied") && stderr.contains("credentials"), "{stderr}");
    assert!(s3.files("lake", "prod").is_empty());
}

/// `objects` log objects of `lines` lines each under `telemetry/many/`.
fn seed_many(s3: &S3Server, objects: usize, lines: usize) {
    for o in 0..objects {
        let text: String = (0..lines)
            .map(|i| {
                format!(
                    "{{\"ts\":\"2026-11-19T{:02}:{:02}:{:02}Z\",\"service\":\"s{}\",\"host\":\"h{o}\",\"msg\":\"line {i}\"}}\n",
                    i / 3600 % 24,
                    i / 60 % 60,
                    i % 60,
                    o % 3
                )
            })
            .collect();
        s3.put("telemetry", &format!("many/o{o:03}.jsonl.gz"), &gz(&text));
    }
}

const MANY: &str = "warehouse = \"s3://lake/prod\"\n[[sources]]\nname = \"many\"\nkind = \"logs\"\nurl = \"s3://telemetry/many/*.jsonl.gz\"\n";

/// What the warehouse holds, as one CSV: the tables two runs must agree on.
fn tables(sb: &Sandbox, s3: &S3Server) -> String {
    let out = with_env(retrace(sb), s3, SECRET)
        .args(["sql", "--format", "csv", "SELECT service, host, count(*) AS n, count(DISTINCT msg) AS msgs, min(ts) AS first, max(ts) AS last FROM logs GROUP BY 1, 2 ORDER BY 1, 2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    text(&out).0
}

/// The tables of one undisturbed ingest of `MANY` into a warehouse of its own.
fn clean_run_tables(s3: &S3Server) -> String {
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("retrace.toml"), MANY.replace("s3://lake/prod", "s3://lake/clean")).unwrap();
    let out = with_env(retrace(&sb), s3, SECRET).args(["-q", "ingest"]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    tables(&sb, s3)
}

/// Two ingests at once into one S3 warehouse: the second waits for the first's lease (or,
/// without --wait, exits 2 naming the holder), and the tables hold exactly the rows of
/// one ingest.
#[test]
#[ignore = "needs the s3s-fs binary; .ci/run installs it and runs these"]
fn concurrent_ingests_on_s3_give_the_rows_of_one() {
    let s3 = S3Server::start();
    seed_many(&s3, 24, 4000);
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("retrace.toml"), MANY).unwrap();
    let start = |args: &[&str]| {
        with_env(retrace(&sb), &s3, SECRET).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    };
    let first = start(&["-q", "ingest"]);
    // Started a moment later: it finds the lease held.
    std::thread::sleep(Duration::from_millis(300));
    let refused = with_env(retrace(&sb), &s3, SECRET).args(["-q", "ingest"]).output().unwrap();
    let waiting = start(&["-q", "ingest", "--wait", "120s"]);
    let (first, waiting) = (first.wait_with_output().unwrap(), waiting.wait_with_output().unwrap());
    assert!(first.status.success(), "{:?}", text(&first));
    assert!(waiting.status.success(), "{:?}", text(&waiting));
    let (_, refused_err) = text(&refused);
    if !refused.status.success() {
        assert_eq!(refused.status.code(), Some(2));
        assert!(refused_err.contains("is locked by pid") && refused_err.contains("(ingest, since"), "{refused_err}");
    }
    // Between them every object was ingested once; the other run found them unchanged.
    let summaries = [text(&first).0, text(&waiting).0, text(&refused).0].concat();
    assert!(summaries.contains("24 ingested"), "{summaries}");
    let clean = clean_run_tables(&s3);
    assert_eq!(tables(&sb, &s3), clean);
    assert!(clean.contains("s0,h0,4000,"), "{clean}");
    // No lease is left behind.
    assert!(!s3.files("lake", "prod/_manifest").iter().any(|f| f.ends_with("lease.json")));
}

/// The S3 server dies in the middle of an ingest and comes back: whatever the ingest
/// managed, the runs that follow leave exactly the tables of a clean run.
#[test]
#[ignore = "needs the s3s-fs binary; .ci/run installs it and runs these"]
fn an_s3_server_restarted_mid_ingest_leaves_the_tables_of_a_clean_run() {
    let mut s3 = S3Server::start();
    seed_many(&s3, 30, 6000);
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("retrace.toml"), MANY).unwrap();
    let ingest = with_env(retrace(&sb), &s3, SECRET)
        .args(["-q", "ingest"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it commit some objects, then take the server away for two seconds.
    let deadline = Instant::now() + Duration::from_secs(60);
    while s3.files("lake", "prod/_manifest/objects").len() < 5 {
        assert!(Instant::now() < deadline, "the ingest committed nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    s3.restart_after(Duration::from_secs(2));
    let first = ingest.wait_with_output().unwrap();
    // It either rode the outage out (retries) or reported the objects it could not do.
    assert!(matches!(first.status.code(), Some(0) | Some(2)), "{:?}", text(&first));
    // The next run finishes the job (waiting out a lease the dead server kept).
    let again = with_env(retrace(&sb), &s3, SECRET).args(["-q", "ingest", "--wait", "90s"]).output().unwrap();
    assert!(again.status.success(), "{:?}", text(&again));
    let clean = clean_run_tables(&s3);
    assert_eq!(tables(&sb, &s3), clean);
    let check = with_env(retrace(&sb), &s3, SECRET).args(["check", "--deep"]).output().unwrap();
    assert!(check.status.success() && text(&check).0.contains("ok:"), "{:?}", text(&check));
}

/// `{service}` and `{host}` in an S3 URL list like `*` and fill the columns from each key.
#[test]
#[ignore = "needs the s3s-fs binary; .ci/run installs it and runs these"]
fn url_placeholders_fill_columns_from_object_keys() {
    let s3 = S3Server::start();
    let line = "10.0.0.7 - - [19/Nov/2026:14:02:00 +0000] \"GET /pay HTTP/1.1\" 503 31 \"-\" \"curl/8.5\" 0.412\n";
    for key in
        ["nginx/checkout/web-1/access.log.gz", "nginx/checkout/web-2/access.log.gz", "nginx/search/web-3/access.log.gz"]
    {
        s3.put("telemetry", key, &gz(line));
    }
    let sb = Sandbox::new();
    std::fs::write(
        sb.path().join("retrace.toml"),
        "warehouse = \"s3://lake/prod\"\n[[sources]]\nkind = \"logs\"\nurl = \"s3://telemetry/nginx/{service}/{host}/*.log.gz\"\nformat = \"pattern:nginx\"\n",
    )
    .unwrap();
    let out = with_env(retrace(&sb), &s3, SECRET).args(["-q", "ingest"]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let out = with_env(retrace(&sb), &s3, SECRET)
        .args(["sql", "--format", "csv", "SELECT service, host, status FROM logs ORDER BY host"])
        .output()
        .unwrap();
    assert_eq!(text(&out).0, "service,host,status\ncheckout,web-1,503\ncheckout,web-2,503\nsearch,web-3,503\n");
}
