use std::process::Command;

use insta_cmd::assert_cmd_snapshot;

use crate::common::{Sandbox, source};

fn retrace(sb: &Sandbox) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retrace"));
    cmd.current_dir(sb.path()).env_remove("RETRACE_CONFIG").env_remove("RETRACE_WAREHOUSE");
    cmd
}

fn filters(sb: &Sandbox) -> Vec<(String, &'static str)> {
    vec![(regex_escape(&sb.path().display().to_string()), "[SANDBOX]")]
}

fn regex_escape(s: &str) -> String {
    regex::escape(s)
}

fn ingested() -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "logs.jsonl");
    sb.copy_fixture("basic/changes.csv", "changes.csv");
    sb.copy_fixture("basic/deploys.jsonl", "deploys.jsonl");
    sb.config_file(
        &[
            source("logs", "sources/logs.jsonl"),
            source("changes", "sources/changes.csv"),
            source("deploys", "sources/deploys.jsonl"),
        ]
        .concat(),
    );
    let out = retrace(&sb).args(["-q", "ingest"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    sb
}

#[test]
fn ingest_prints_a_summary_and_is_idempotent() {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "logs.jsonl");
    sb.config_file(&source("logs", "sources/logs.jsonl"));
    let settings = {
        let mut s = insta::Settings::clone_current();
        for (from, to) in filters(&sb) {
            s.add_filter(&from, to);
        }
        s
    };
    settings.bind(|| {
        assert_cmd_snapshot!(retrace(&sb).args(["-q", "ingest"]), @r"
        success: true
        exit_code: 0
        ----- stdout -----
        objects: 1 seen, 1 ingested (0 replaced), 0 unchanged, 0 failed
        format: logs-1 read as jsonl (1 object)
        rows: logs              6
        rejects: none

        ----- stderr -----
        ");
        assert_cmd_snapshot!(retrace(&sb).args(["ingest", "-q"]), @r"
        success: true
        exit_code: 0
        ----- stdout -----
        objects: 1 seen, 0 ingested (0 replaced), 1 unchanged, 0 failed
        rejects: none

        ----- stderr -----
        ");
    });
}

#[test]
fn ingest_exits_2_when_an_object_cannot_be_read_but_keeps_the_others() {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "a.jsonl");
    std::fs::write(sb.path().join("sources/b.jsonl.gz"), b"not gzip at all").unwrap();
    sb.config_file(&source("logs", "sources/*.jsonl*"));
    let out = retrace(&sb).args(["-q", "ingest"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("2 seen, 1 ingested (0 replaced), 0 unchanged, 1 failed"), "{stdout}");
    assert!(stdout.contains("rows: logs              6"), "{stdout}");
    assert!(stderr.contains("b.jsonl.gz") && stderr.contains("ingest incomplete: 1 failed"), "{stderr}");
}

#[test]
fn sql_is_read_only() {
    let sb = ingested();
    for (sql, what) in [
        ("DROP TABLE logs", "DDL not supported: DropTable"),
        ("CREATE TABLE x AS SELECT 1", "DDL not supported"),
        ("INSERT INTO logs SELECT * FROM logs", "DML not supported: Insert Into"),
        ("COPY (SELECT 1) TO 'out.csv'", "DML not supported: COPY"),
        ("SET datafusion.execution.batch_size = 1", "Statement not supported"),
        ("SELECT 1; DROP TABLE logs", "DDL not supported: DropTable"),
    ] {
        let out = retrace(&sb).args(["sql", sql]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sql}: {stderr}");
        assert!(
            stderr.contains("refused SQL") && stderr.contains(what) && stderr.contains("read-only"),
            "{sql}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{sql}: nothing is printed when a statement is refused");
    }
    assert!(!sb.path().join("out.csv").exists());
    let still = retrace(&sb).args(["sql", "SELECT count(*) AS n FROM logs", "--format", "csv"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&still.stdout), "n\n6\n");
}

#[test]
fn sql_output_formats() {
    let sb = ingested();
    let q = "SELECT change_id, ts, key, new_value FROM changes ORDER BY ts";
    assert_cmd_snapshot!(retrace(&sb).args(["sql", q]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    +-----------+----------------------+-------------+-----------+
    | change_id | ts                   | key         | new_value |
    +-----------+----------------------+-------------+-----------+
    | CHG-1     | 2026-11-19T14:02:00Z | db.pool.max | 20        |
    | CHG-2     | 2026-11-19T14:41:00Z | db.pool.max | 200       |
    +-----------+----------------------+-------------+-----------+

    ----- stderr -----
    ");
    assert_cmd_snapshot!(retrace(&sb).args(["sql", q, "--format", "csv"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    change_id,ts,key,new_value
    CHG-1,2026-11-19T14:02:00Z,db.pool.max,20
    CHG-2,2026-11-19T14:41:00Z,db.pool.max,200

    ----- stderr -----
    ");
    assert_cmd_snapshot!(retrace(&sb).args(["sql", q, "--format", "json"]), @r#"
    success: true
    exit_code: 0
    ----- stdout -----
    {"change_id":"CHG-1","ts":"2026-11-19T14:02:00Z","key":"db.pool.max","new_value":"20"}
    {"change_id":"CHG-2","ts":"2026-11-19T14:41:00Z","key":"db.pool.max","new_value":"200"}

    ----- stderr -----
    "#);
    assert_cmd_snapshot!(retrace(&sb).args(["sql", "SELECT msg FROM logs WHERE msg LIKE '%|%'", "--format", "md"]), @r"
    success: true
    exit_code: 0
    ----- stdout -----
    | msg |
    | --- |
    | payment failed \| upstream 503 |

    ----- stderr -----
    ");

    // Parquet needs a file, and the file reads back.
    let out = retrace(&sb).args(["sql", q, "--format", "parquet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format parquet needs --output FILE"));
    let out = retrace(&sb).args(["sql", q, "--format", "parquet", "-o", "changes.parquet"]).output().unwrap();
    assert!(out.status.success());
    let file = std::fs::File::open(sb.path().join("changes.parquet")).unwrap();
    let rows: usize = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024)
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 2);
}

#[test]
fn sql_files_with_named_parameters() {
    let sb = ingested();
    let query = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/changes_in_window.sql");
    let out = retrace(&sb)
        .args(["sql", "-f", &query.display().to_string(), "--format", "csv"])
        .args(["--param", "from=2026-11-19T14:30Z", "--param", "to=2026-11-19T15:00Z"])
        .args(["--param", "from_date=2026-11-19", "--param", "to_date=2026-11-19", "--param", "service="])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.lines().nth(1).unwrap().starts_with("2026-11-19T14:41:00Z,CHG-2,payments"), "{stdout}");

    let missing = retrace(&sb).args(["sql", "-f", &query.display().to_string()]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--param"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn timeline_shows_utc_and_the_display_zone() {
    let sb = ingested();
    let out = retrace(&sb)
        .args([
            "timeline",
            "--from",
            "2026-11-19T13:30Z",
            "--to",
            "2026-11-19T15:00Z",
            "--timezone",
            "Asia/Kolkata",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    insta::assert_snapshot!(stdout, @r#"
    time_utc,time_asia_kolkata,kind,service,severity,title,detail,count,source,line
    2026-11-19 13:35:00Z,2026-11-19 19:05:00 IST,deploy,checkout,info,D-1 v1 → v2: succeeded at 100% in production,2 events over 12m,2,sources/deploys.jsonl,1
    2026-11-19 14:02:00Z,2026-11-19 19:32:00 IST,change,payments,info,CHG-1 db.pool.max: 200 → 20 (by alice via config-service),"Shrink pool, per proxy limit",1,sources/changes.csv,2
    2026-11-19 14:41:00Z,2026-11-19 20:11:00 IST,change,payments,warn,CHG-2 db.pool.max: 20 → 200 (by bob via config-service) — reverts CHG-1,Manual revert,1,sources/changes.csv,3
    "#);
}

#[test]
fn bad_arguments_and_config_exit_2_with_a_message() {
    let sb = Sandbox::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--config", "missing.toml", "ingest"], "config missing.toml: cannot read"),
        (&["timeline", "--from", "yesterday", "--to", "2026-11-19"], "is not a time"),
        (&["timeline", "--from", "2026-11-19T15:00Z", "--to", "2026-11-19T14:00Z"], "the window is empty"),
        (
            &["timeline", "--from", "2026-11-19", "--to", "2026-11-20", "--timezone", "Mars/Base"],
            "not an IANA time zone",
        ),
        (&["ingest"], "nothing to ingest"),
    ];
    for (args, want) in cases {
        let out = retrace(&sb).args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    std::fs::write(sb.path().join("retrace.toml"), "warehouse = 'w'\n[[sources]]\nkind = 'traces'\nurl = 'x'\n")
        .unwrap();
    let out = retrace(&sb).arg("ingest").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("retrace.toml") && stderr.contains("unknown variant `traces`"), "{stderr}");
}

#[test]
fn ingest_can_be_limited_to_named_sources() {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "logs.jsonl");
    sb.copy_fixture("basic/changes.csv", "changes.csv");
    sb.config_file(
        "[[sources]]\nname = \"app-logs\"\nkind = \"logs\"\nurl = \"sources/logs.jsonl\"\n\
         [[sources]]\nname = \"cfg\"\nkind = \"changes\"\nurl = \"sources/changes.csv\"\n",
    );
    let out = retrace(&sb).args(["-q", "ingest", "--source", "cfg"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 seen, 1 ingested") && stdout.contains("rows: changes           2"), "{stdout}");
    assert!(!stdout.contains("rows: logs"), "{stdout}");

    let out = retrace(&sb).args(["ingest", "--source", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no source named `nope`"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::Stdio;
    let sb = Sandbox::new();
    // Far more output than a pipe buffers, so the writer must meet the closed pipe.
    let mut child = retrace(&sb)
        .args([
            "sql",
            "SELECT value, value * 2 AS twice FROM generate_series(1, 200000) AS t(value)",
            "--format",
            "csv",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn formats_lists_what_is_readable() {
    let sb = Sandbox::new();
    let out = retrace(&sb).arg("formats").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "jsonl",
        "csv",
        "logfmt",
        "pattern:syslog ",
        "pattern:nginx ",
        "pattern:klog ",
        "prometheus_json",
        "github_deployments",
        ".gz",
        ".zst",
        "docs/formats.md",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }
}

/// Runs `retrace sql` through bash with an address-space limit (`ulimit -v`, in KiB), the
/// way a container or a CI job caps memory: allocation failure there aborts a process
/// (exit 134) unless retrace stays under its own, smaller, limit.
fn sql_under_ulimit(sb: &Sandbox, kib: u64, extra: &str, query: &str) -> std::process::Output {
    let script = format!("ulimit -v {kib}; exec '{}' sql {extra} \"$0\"", env!("CARGO_BIN_EXE_retrace"));
    Command::new("bash").current_dir(sb.path()).args(["-c", &script, query]).output().unwrap()
}

/// The class: a query whose working set is larger than the memory the process can have.
/// It fails with a clear error and exit 2 (the default limit is a share of what the
/// process may use), never an abort; an explicit --memory-limit is honoured the same way.
#[test]
fn a_query_past_the_memory_limit_fails_cleanly() {
    let sb = ingested();
    // A 3 GB build side: 3 million rows of 1 KB, joined with themselves.
    let join = "SELECT count(*) FROM (SELECT repeat('x', 1000) || v AS m FROM generate_series(1, 3000000) t(v)) a \
                JOIN (SELECT repeat('x', 1000) || v AS m FROM generate_series(1, 3000000) t(v)) b ON a.m = b.m";
    let out = sql_under_ulimit(&sb, 4_000_000, "", join);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs more memory than its limit of") && stderr.contains("--memory-limit"), "{stderr}");
    // A 2 GB cross join: whichever side the planner buffers, it either streams through
    // (bounded) or stops at the limit; it never aborts.
    let cross = "SELECT count(*), max(length(a.m)) FROM (SELECT repeat('x', 1000) || v AS m FROM generate_series(1, 2000000) t(v)) a \
                 CROSS JOIN (SELECT v FROM generate_series(1, 3) t(v)) b";
    let out = sql_under_ulimit(&sb, 4_000_000, "", cross);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 2)), "{:?}: {stderr}", out.status);
    if out.status.code() == Some(0) {
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("| 6000000 "),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        assert!(stderr.contains("needs more memory than its limit"), "{stderr}");
    }
    let out = retrace(&sb).args(["sql", "--memory-limit", "8MB", join]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("limit of 8 MB"), "{stderr}");
    // A query inside the limit still answers.
    let out = retrace(&sb).args(["sql", "--memory-limit", "64MB", "SELECT count(*) AS n FROM logs"]).output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("| 6 "));
}

/// Results are streamed: 4 GB of rows piped to `head` under a 2 GB address-space limit
/// finish at once (the reader closing the pipe is success), where collecting them first
/// would have aborted.
#[test]
fn results_stream_to_the_output_and_a_closed_pipe_ends_the_query() {
    let sb = ingested();
    for format in ["csv", "json", "table", "md"] {
        let script = format!(
            "ulimit -v 2500000; '{}' sql --format {format} \"SELECT v, repeat('x', 100) AS pad FROM generate_series(1, 40000000) t(v)\" | head -c 2000 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_retrace")
        );
        let out = Command::new("bash").current_dir(sb.path()).args(["-c", &script]).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Into a file: complete after success, absent after a failure.
    let ok = retrace(&sb)
        .args(["sql", "--format", "csv", "-o", "out.csv", "SELECT v FROM generate_series(1, 25000) t(v)"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(std::fs::read_to_string(sb.path().join("out.csv")).unwrap().lines().count(), 25_001);
    let failed = retrace(&sb)
        .args(["sql", "--format", "csv", "-o", "bad.csv", "--memory-limit", "4MB"])
        .arg("SELECT count(*) FROM (SELECT repeat('x', 100000) || v AS m FROM generate_series(1, 3000) t(v)) a JOIN (SELECT repeat('x', 100000) || v AS m FROM generate_series(1, 3000) t(v)) b ON a.m = b.m")
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert!(!sb.path().join("bad.csv").exists());
    assert!(std::fs::read_dir(sb.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
}

#[test]
fn a_query_without_an_end_stops_at_its_timeout() {
    let sb = ingested();
    let started = std::time::Instant::now();
    let out = retrace(&sb)
        .args([
            "sql",
            "--timeout",
            "2s",
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ran longer than --timeout 2s"), "{stderr}");
    // Not a speed target: a generous bound that only a query that did not stop breaks.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn expressions_too_deep_to_plan_are_refused_by_depth() {
    let sb = ingested();
    for (sep, n) in [(" + ", 10_000), (" OR a = ", 5_000), (" || ", 20_000)] {
        let query = format!("SELECT {} FROM logs", vec!["1"; n].join(sep));
        let out = retrace(&sb).args(["sql", &query]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sep}: {stderr}");
        assert!(stderr.contains("nests more than 500 levels deep"), "{sep}: {stderr}");
    }
    // Parentheses nest through the parser's own limit, also a clear error.
    let nested = format!("SELECT {}1{} FROM logs", "(".repeat(5_000), ")".repeat(5_000));
    let out = retrace(&sb).args(["sql", &nested]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Diagnostics redirected to a file are plain text: no colour codes from the logger, and
/// an odd object name (escape sequences in it) is printed escaped, not obeyed.
#[test]
fn stderr_redirected_has_no_terminal_control() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path().join("sources/x")).unwrap();
    let odd = sb.path().join("sources/x").join(std::ffi::OsStr::from_bytes(b"evil\x1b]0;pwned\x07\x1b[2J.jsonl"));
    std::fs::write(&odd, b"{\"ts\":\"2026-11-19T10:00:00Z\",\"msg\":\"ok\"}\nnot json\n").unwrap();
    std::os::unix::fs::symlink(sb.path().join("sources"), sb.path().join("sources/x/loop")).unwrap();
    sb.config_file(&[source("logs", "sources/x/**/*.jsonl"), source("logs", "sources/none/*.jsonl")].concat());
    let out = retrace(&sb).args(["ingest"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("No objects match") && stderr.contains("loop"), "{stderr}");
    assert!(stdout.contains("1 ingested") && stdout.contains("skipped:"), "{stdout}");
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{name} has terminal control: {text:?}");
    }
    let rejects = retrace(&sb).args(["sql", "--format", "csv", "SELECT source FROM rejects"]).output().unwrap();
    let csv = String::from_utf8_lossy(&rejects.stdout);
    assert!(csv.contains("evil%1B]0;pwned%07%1B[2J.jsonl"), "{csv}");
}

/// What can spill does: a sort of ~170 MB of rows under a 100 MB limit writes its runs
/// to the temp folder and finishes, in order.
#[test]
fn a_sort_larger_than_the_limit_spills_and_finishes() {
    let sb = ingested();
    let out = retrace(&sb)
        .args(["sql", "--memory-limit", "100MB", "--format", "csv", "-o", "sorted.csv"])
        .arg("SELECT repeat('x', 100) || v AS s FROM generate_series(1000000, 2599999) t(v) ORDER BY s DESC")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sorted = std::fs::read_to_string(sb.path().join("sorted.csv")).unwrap();
    let lines: Vec<&str> = sorted.lines().collect();
    assert_eq!(lines.len(), 1_600_001);
    assert!(
        lines[1].ends_with("2599999") && lines[1_600_000].ends_with("1000000"),
        "{} … {}",
        lines[1],
        lines[1_600_000]
    );
}

/// An object that gives no row and no reject is named in a warning (issue 19): an empty
/// export, or a file the source's format does not see records in, used to pass silently.
#[test]
fn an_object_with_no_rows_and_no_rejects_is_a_warning_that_names_it() {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "logs/full.jsonl");
    sb.write("logs/empty.jsonl", b"\n\n");
    sb.write("metrics.csv", b"ts,metric,service,value\n");
    sb.config_file(&[source("logs", "sources/logs/*.jsonl"), source("metrics", "sources/metrics.csv")].concat());
    let out = retrace(&sb).args(["ingest"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 2, "{stdout}");
    assert!(warnings[0].contains("logs/empty.jsonl") && warnings[0].contains("as jsonl"), "{stdout}");
    assert!(warnings[1].contains("metrics.csv") && warnings[1].contains("as csv"), "{stdout}");
    assert!(!stdout.contains("full.jsonl"), "{stdout}");
}
