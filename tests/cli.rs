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
    2026-11-19 14:03:00Z,2026-11-19 19:33:00 IST,new error,payments,error,new: db pool exhausted,"1 lines in the window, none in the 6h before",1,sources/logs.jsonl,2
    2026-11-19 14:04:00Z,2026-11-19 19:34:00 IST,new error,checkout,error,new: payment failed | upstream <*>,"1 lines in the window, none in the 6h before",1,sources/logs.jsonl,5
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
