//! Reports over hostile content: every renderer escapes log text, strips terminal escape
//! codes and redacts secrets with stable placeholders; tables stay valid whatever the text.

use std::process::Command;

use retrace::analyze::Window;
use retrace::report;

use crate::common::{Sandbox, source};

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    retrace::cli::parse_time(s).unwrap()
}

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(document.cookie)>",
    "pipes | in | text and `backticks` and [a link](javascript:alert(1))",
    "\u{1b}[31mred alert\u{1b}[0m and \u{1b}]0;pwned\u{7}title",
    "login failed for jane.doe@example.com from 203.0.113.7 with Authorization: Bearer eyAbCdEf0123456789xyz",
    "db url postgres://app:hunter2@db.internal:5432/pay password=s3cr3t key AKIAIOSFODNN7EXAMPLE",
    "retry from 203.0.113.7 again",
    "invoice\u{202E}fdp.exe and zero\u{200B}width\u{FEFF} text",
];

/// A warehouse whose error lines are the hostile strings (5 of each in one minute on a
/// service of its own, so each is a burst whose example is the string) and a change whose
/// description is one.
async fn hostile_sandbox() -> (Sandbox, retrace::config::Config) {
    let sb = Sandbox::new();
    let mut logs = String::new();
    for (k, msg) in HOSTILE.iter().enumerate() {
        for i in 0..5 {
            let line = serde_json::json!({
                "ts": format!("2026-11-19T14:1{k}:{:02}Z", i * 10),
                "service": format!("svc{k}"),
                "level": "error",
                "msg": msg,
            });
            logs.push_str(&line.to_string());
            logs.push('\n');
        }
    }
    sb.write("l.jsonl", logs.as_bytes());
    sb.write(
        "c.jsonl",
        br#"{"ts":"2026-11-19T14:05:00Z","change_id":"CHG-<b>1</b>","service":"payments","key":"db.url","old_value":"postgres://app:old@db","new_value":"postgres://app:hunter2@db","description":"by ops@example.com | see `runbook` <script>x</script>"}
"#,
    );
    // The same strings said in chat and written in notes (incident events).
    let mut events = String::new();
    for (k, msg) in HOSTILE.iter().enumerate() {
        let row =
            serde_json::json!({"ts": format!("2026-11-19T14:1{k}:30Z"), "kind": "chat", "actor": msg, "text": msg});
        events.push_str(&row.to_string());
        events.push('\n');
    }
    sb.write("e.jsonl", events.as_bytes());
    let config = sb.config(
        &[source("logs", "sources/l.jsonl"), source("changes", "sources/c.jsonl"), source("events", "sources/e.jsonl")]
            .concat(),
    );
    sb.ingest(&config).await;
    (sb, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_log_text_is_escaped_stripped_and_redacted_in_every_format() {
    let (sb, config) = hostile_sandbox().await;
    let r = sb.window_report(&config, true).await;
    let md = report::markdown::render(&r);
    let html = report::html::render(&r).unwrap();
    let json = report::json::render(&r).unwrap();

    // The hostile text reached the report (as signatures and bursts), so the checks below mean something.
    let bursts = r.timeline.iter().filter(|e| e.kind == retrace::analyze::timeline::EventKind::LogErrors).count();
    assert_eq!(bursts, HOSTILE.len(), "one burst per hostile line");
    let chat = r.timeline.iter().filter(|e| e.kind == retrace::analyze::timeline::EventKind::Response).count();
    assert_eq!(chat, HOSTILE.len(), "one chat line per hostile string");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror="));

    // No markup from the data, no terminal control anywhere.
    for (name, text) in [("md", &md), ("html", &html), ("json", &json)] {
        assert!(!text.contains('\u{1b}'), "{name} has an ESC");
        assert!(!text.contains('\u{7}'), "{name} has a BEL");
        assert!(!text.contains('\u{202E}') && !text.contains('\u{200B}'), "{name} has a bidi or zero-width character");
    }
    assert!(!html.contains("<script"), "raw script tag in HTML");
    assert!(!html.contains("<img"), "raw img tag in HTML");
    assert!(!html.contains("<b>1</b>"));
    // In Markdown every `<` and `]` from the data is backslash-escaped (shown literally).
    assert!(md.contains("\\<script\\>"), "{md}");
    assert!(!md.replace("\\<", "").contains('<'), "an unescaped < in Markdown");
    assert!(!md.replace("\\]", "").contains("](javascript:"), "live link in Markdown");

    // Every Markdown table row has as many unescaped cell separators as its header.
    crate::common::assert_markdown_tables_intact(&md, "report.md");

    // Secrets are gone; the same value has the same placeholder in every format and row.
    for secret in [
        "jane.doe@example.com",
        "203.0.113.7",
        "eyAbCdEf0123456789xyz",
        "hunter2",
        "s3cr3t",
        "AKIAIOSFODNN7EXAMPLE",
        "ops@example.com",
    ] {
        for (name, text) in [("md", &md), ("html", &html), ("json", &json)] {
            assert!(!text.contains(secret), "{secret} leaked into {name}");
        }
    }
    let bursts = || r.timeline.iter().filter(|e| e.kind == retrace::analyze::timeline::EventKind::LogErrors);
    let ip = bursts().map(|e| e.headline()).find(|h| h.contains("login failed")).expect("the login burst");
    // ops@example.com (the change at 14:05) was met first, so this address is the second.
    assert!(ip.contains("for <email-2> from <ipv4-1> with Authorization: Bearer <token-1>"), "{ip}");
    let again = bursts().map(|e| e.headline()).find(|h| h.contains("retry from")).expect("the retry burst");
    assert!(again.contains("retry from <ipv4-1> again"), "{again}");
    assert!(md.contains("\\<ipv4-1\\>") && html.contains("&lt;ipv4-1&gt;") && json.contains("<ipv4-1>"));
    assert!(r.redacted_values >= 7, "{}", r.redacted_values);

    // --no-redact keeps the text (still escaped).
    let raw = sb.window_report(&config, false).await;
    let raw_html = report::html::render(&raw).unwrap();
    assert!(raw_html.contains("203.0.113.7") && raw_html.contains("jane.doe@example.com"));
    assert!(!raw_html.contains("<script"));
    assert_eq!(raw.redacted_values, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_output_has_no_escape_codes() {
    let (sb, _) = hostile_sandbox().await;
    let config = sb.config_file(&[source("logs", "sources/l.jsonl"), source("changes", "sources/c.jsonl")].concat());
    let out = Command::new(env!("CARGO_BIN_EXE_retrace"))
        .args([
            "--config",
            &config.display().to_string(),
            "timeline",
            "--from",
            "2026-11-19T14:00Z",
            "--to",
            "2026-11-19T15:00Z",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("red alert"), "{stdout}");
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{7}'), "{stdout:?}");
    assert!(!stdout.contains("pwned"), "OSC payload shown: {stdout:?}");
    let sql = Command::new(env!("CARGO_BIN_EXE_retrace"))
        .args([
            "--config",
            &config.display().to_string(),
            "sql",
            "SELECT msg FROM logs WHERE msg LIKE '%red alert%' LIMIT 1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&sql.stdout);
    assert!(stdout.contains("red alert") && !stdout.contains('\u{1b}'), "{stdout:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_command_selects_windows_and_rejects_unknown_breaches() {
    let (sb, _) = hostile_sandbox().await;
    let config = sb.config_file(&[source("logs", "sources/l.jsonl"), source("changes", "sources/c.jsonl")].concat());
    let out_dir = sb.path().join("out");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_retrace"))
            .args(["--config", &config.display().to_string(), "report", "--out", &out_dir.display().to_string()])
            .args(args)
            .output()
            .unwrap()
    };
    // No SLOs in this config: a breach cannot be chosen, a window can.
    let latest = run(&[]);
    assert_eq!(latest.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&latest.stderr).contains("defines no SLOs"), "{latest:?}");
    let window =
        run(&["--from", "2026-11-19T14:00Z", "--to", "2026-11-19T15:00Z", "--format", "md,json", "--charts", "png"]);
    assert!(window.status.success(), "{}", String::from_utf8_lossy(&window.stderr));
    let written = String::from_utf8_lossy(&window.stdout);
    assert!(
        written.contains("report.md") && written.contains("report.json") && !written.contains("report.html"),
        "{written}"
    );
    assert!(out_dir.join("charts/errors-by-service.png").exists(), "{written}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "retrace.report/v2");
    assert_eq!(json["window"][0], "2026-11-19T14:00:00Z");
    assert!(json["focus"].is_null());
    // --breach and --from conflict; a bad format is refused by the parser.
    assert_eq!(
        run(&["--breach", "x@y", "--from", "2026-11-19T14:00Z", "--to", "2026-11-19T15:00Z"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["--format", "pdf"]).status.code(), Some(2));
}

/// The report's busiest error minutes come from the timeline's error minutes, not from a
/// scan of their own: they must be what `queries/error_peak_minutes.sql` says, ties and
/// lines without a service included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_peaks_agree_with_their_canned_query() {
    let sb = Sandbox::new();
    let mut logs = String::new();
    // (service, minute, error lines): b and d tie on lines and minute; a ties on lines at
    // a later minute; lines without a service peak highest.
    for (service, minute, n) in
        [("a", 3, 5), ("a", 1, 2), ("b", 1, 5), ("c", 2, 3), ("d", 1, 5), ("d", 7, 4), ("", 9, 7), ("e", 4, 1)]
    {
        for k in 0..n {
            let service = if service.is_empty() { String::new() } else { format!(",\"service\":\"{service}\"") };
            logs.push_str(&format!(
                "{{\"ts\":\"2026-11-19T14:{minute:02}:{k:02}Z\",\"level\":\"{}\"{service},\"msg\":\"boom\"}}\n",
                if k % 2 == 0 { "error" } else { "fatal" }
            ));
        }
        logs.push_str(&format!(
            "{{\"ts\":\"2026-11-19T14:{minute:02}:59Z\",\"level\":\"info\",\"service\":\"a\",\"msg\":\"ok\"}}\n"
        ));
    }
    sb.write("l.jsonl", logs.as_bytes());
    let config = sb.config(&source("logs", "sources/l.jsonl"));
    sb.ingest(&config).await;
    let r = sb.window_report(&config, false).await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    let window = Window::new(t("2026-11-19T14:00Z"), t("2026-11-19T15:00Z")).unwrap();
    let sql: Vec<report::model::ErrorPeak> = retrace::analyze::params::rows(
        &ctx,
        include_str!("../queries/error_peak_minutes.sql"),
        retrace::analyze::Params::window(window, None),
    )
    .await
    .unwrap();
    let show = |p: &[report::model::ErrorPeak]| {
        p.iter().map(|p| format!("{} {:?} {}", p.minute.format("%H:%M"), p.service, p.lines)).collect::<Vec<_>>()
    };
    assert_eq!(show(&r.error_peaks), show(&sql));
    assert_eq!(show(&r.error_peaks), ["14:09 None 7", "14:01 Some(\"b\") 5", "14:01 Some(\"d\") 5"]);
}
