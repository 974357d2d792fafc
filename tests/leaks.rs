//! Never leak one: secrets planted where an incident puts them — the culprit change's old
//! and new values (so the report headline and the digest's top suspect carry them), a
//! deploy's description, a log line, a log attribute — appear in no file and no stdout
//! that retrace writes by default: report (md, html, json), digest (md, html, json),
//! timeline and suspects. With --no-redact they do appear, so the check can fail.

use std::path::Path;
use std::process::Command;

/// The secrets planted. The last two (a deploy's description, a log attribute) are shown
/// by no output today, even raw; they are checked all the same.
const SECRETS: &[&str] =
    &["0ldPassw0rdQ9", "N3wPassw0rdZ7", "Hunt3rUrlPw8", "D3ployT0kenXY", "L0gPgPassW1", "D3scT0kenQQ", "AttrT0kenV8"];
const SHOWN_RAW: usize = 5;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The bundled sample with secrets planted in it.
fn planted() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    copy_dir(&samples.join("data"), &dir.path().join("data"));
    let config = std::fs::read_to_string(samples.join("retrace.toml")).unwrap();
    let extra = "\n[[sources]]\nname = \"more-logs\"\nkind = \"logs\"\nurl = \"data/more/*.jsonl\"\n";
    std::fs::write(dir.path().join("retrace.toml"), config.replace("../warehouse", "wh") + extra).unwrap();

    // The culprit: its old and new values are secrets under secret-looking names, so its
    // title (and the headline built from it) holds both.
    let changes = dir.path().join("data/changes/changes.jsonl");
    let text = std::fs::read_to_string(&changes).unwrap();
    let culprit = text.lines().find(|l| l.contains("\"change_id\":\"CHG-1024\"")).unwrap().to_string();
    let mut planted: serde_json::Value = serde_json::from_str(&culprit).unwrap();
    planted["old_value"] = "200 db_password=0ldPassw0rdQ9".into();
    planted["new_value"] = "20 PGPASSWORD=N3wPassw0rdZ7 via postgres://app:Hunt3rUrlPw8@db:5432/pay".into();
    std::fs::write(&changes, text.replace(&culprit, &planted.to_string())).unwrap();

    let deploys = dir.path().join("data/deploys/deploys.jsonl");
    let text = std::fs::read_to_string(&deploys).unwrap();
    // The Deploys table shows a deploy's environment; its description is shown nowhere.
    let text =
        text.replace("\"environment\":\"production\"", "\"environment\":\"production access_token=D3ployT0kenXY\"");
    std::fs::write(
        &deploys,
        text.replace("\"description\":\"Release", "\"description\":\"api_token=D3scT0kenQQ Release"),
    )
    .unwrap();

    // Error lines of a service of their own in the incident's first minutes: a burst whose
    // example is the planted line.
    std::fs::create_dir_all(dir.path().join("data/more")).unwrap();
    let mut lines = String::new();
    for i in 0..20 {
        lines.push_str(&format!(
            "{{\"ts\":\"2026-11-19T14:{:02}:{:02}Z\",\"service\":\"ledger\",\"host\":\"ledger-1\",\"level\":\"error\",\"status\":500,\
             \"msg\":\"pool exhausted; retry with PGPASSWORD=L0gPgPassW1\",\"api_token\":\"AttrT0kenV8\"}}\n",
            10 + i / 6,
            (i % 6) * 10
        ));
    }
    std::fs::write(dir.path().join("data/more/payments-extra.jsonl"), lines).unwrap();
    dir
}

fn retrace(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_retrace"))
        .current_dir(dir)
        .args(["-q", "--config", "retrace.toml"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "retrace {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Every file under `dir`, as text (lossy: PNGs hold no text to leak but are read too).
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.display().to_string(), String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned()));
        }
    }
    out
}

fn outputs(dir: &Path, extra: &[&str]) -> Vec<(String, String)> {
    let report_dir = dir.join(format!("report{}", extra.len()));
    let digest_dir = dir.join(format!("digest{}", extra.len()));
    let mut all = Vec::new();
    let run = |args: &[&str]| retrace(dir, &[args, extra].concat());
    all.push((
        "report stdout".into(),
        run(&["report", "--out", report_dir.to_str().unwrap(), "--format", "md,html,json"]),
    ));
    all.push((
        "digest stdout".into(),
        run(&["digest", "--week", "2026-W47", "--out", digest_dir.to_str().unwrap(), "--format", "md,html,json"]),
    ));
    all.push(("timeline".into(), run(&["timeline", "--from", "2026-11-19T13:30Z", "--to", "2026-11-19T15:30Z"])));
    all.push(("suspects".into(), run(&["suspects", "--format", "json"])));
    all.extend(files(&report_dir));
    all.extend(files(&digest_dir));
    all
}

#[test]
fn planted_secrets_reach_no_output_by_default() {
    let dir = planted();
    retrace(dir.path(), &["ingest"]);
    let redacted = outputs(dir.path(), &[]);
    // The culprit is still found and headlined: the checks below are about real output.
    let (_, md) = redacted.iter().find(|(n, _)| n.ends_with("report.md")).unwrap();
    assert!(md.contains("CHG-1024"), "{md}");
    for (name, text) in &redacted {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} leaked into {name}");
        }
    }
    // Placeholders stand where the secrets were, in the headline too.
    let headline = md.lines().find(|l| l.contains("LIKELY")).unwrap_or_default();
    assert!(headline.contains("CHG-1024") && headline.contains("secret-"), "{headline}");

    // Without redaction the same runs do carry them (so this test can fail).
    let raw = outputs(dir.path(), &["--no-redact"]);
    let all: String = raw.iter().map(|(_, t)| t.as_str()).collect();
    for secret in &SECRETS[..SHOWN_RAW] {
        assert!(all.contains(secret), "{secret} never reached any output: the plant did not take");
    }
}
