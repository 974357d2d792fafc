use std::process::Command;

/// The ground truth the sample generator wrote.
fn truth() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/ground_truth.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_demo_runs_end_to_end_and_its_report_names_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("wh");
    let out_dir = dir.path().join("report");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_retrace"))
            .args([
                "-q",
                "--warehouse",
                &warehouse.display().to_string(),
                "demo",
                "--out",
                &out_dir.display().to_string(),
            ])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let truth = truth();
    let culprit = truth["culprit_change"].as_str().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap();

    // The culprit change is on the printed timeline and in the report, with its evidence.
    assert!(stdout.contains(culprit), "timeline lacks {culprit}");
    let culprit_row = report
        .lines()
        .find(|l| l.starts_with("| 2026-11-19 14:02:00Z") && l.contains(culprit))
        .unwrap_or_else(|| panic!("no timeline row for {culprit} at its applied time:\n{report}"));
    assert!(culprit_row.contains("payments.db.pool.max_connections: 200 → 20"), "{culprit_row}");
    assert!(culprit_row.contains("2026-11-19 09:02:00 EST"), "display zone: {culprit_row}");
    assert!(culprit_row.contains("`data/changes/changes.jsonl:"), "source reference: {culprit_row}");
    // The automation loop's reverts name it too.
    assert_eq!(
        report.matches(&format!("reverts {culprit}")).count(),
        2 * 4,
        "3 automated + 1 manual revert, in timeline and changes tables"
    );

    // The busiest error minute is on the culprit's service, inside the incident.
    let peaks = report.lines().find(|l| l.starts_with("- Busiest minute for error lines")).expect("peak line");
    let first = peaks.split(": ").nth(1).unwrap();
    assert!(
        first.starts_with("2026-11-19 14:")
            && first.contains(&format!("on {} (", truth["culprit_service"].as_str().unwrap())),
        "{peaks}"
    );
    let minute: u32 = first[14..16].parse().unwrap();
    assert!((9..41).contains(&minute), "peak outside onset..manual revert: {peaks}");

    // Counts the ground truth states; the three malformed lines are reported, not lost.
    assert!(report.contains("| logs | bad_timestamp | 1 | 1 |"), "{report}");
    assert!(report.contains("| logs | invalid_json | 1 | 1 |"));
    assert!(report.contains("| logs | missing_field | 1 | 1 |"), "{report}");
    assert!(report.contains("Window: **2026-11-19 13:00:00Z → 2026-11-19 16:00:00Z** (3h)"), "{report}");

    // Nothing lost: every generated log line is a row or a reject.
    let counts = Command::new(env!("CARGO_BIN_EXE_retrace"))
        .args(["--warehouse", &warehouse.display().to_string(), "sql", "--format", "csv"])
        .arg("SELECT (SELECT count(*) FROM logs) + (SELECT count(*) FROM rejects WHERE table_name = 'logs') AS lines")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&counts.stdout), format!("lines\n{}\n", truth["log_lines"]));

    // The breach and its ranked suspects: the ground truth's onset and recovery, the
    // culprit first with verdict likely, the decoy not blamed.
    let onset = truth["onset"].as_str().unwrap().replace('T', " ");
    let recovered = truth["recovered"].as_str().unwrap().replace('T', " ");
    assert!(report.contains(&format!("| onset | {onset} |")), "{report}");
    assert!(report.contains(&format!("| recovered | {recovered} |")), "{report}");
    // The payments breach names the culprit; checkout's, which follows it, points there.
    assert_eq!(report.matches(&format!("**Verdict: likely: {culprit}.**")).count(), 1, "{report}");
    assert_eq!(
        report
            .matches(&format!("**Verdict: follows payments-availability@2026-11-19T14:09Z: likely {culprit}.**"))
            .count(),
        1,
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "| mitigated | 2026-11-19 14:41:00Z | 2026-11-19 09:41:00 EST | 32m | CHG-1033 (undid {culprit})"
        )),
        "{report}"
    );
    assert!(report.contains(&format!("| 1 | likely | 0.85 | {culprit} ")), "{report}");
    let decoy = truth["decoy_change"].as_str().unwrap();
    assert!(
        !report
            .lines()
            .any(|l| l.contains(&format!(" {decoy} ")) && (l.contains("| likely |") || l.contains("| possible |"))),
        "{report}"
    );
    assert!(stdout.contains(&format!("Verdict: likely: {culprit}.")), "{stdout}");

    // The same through `retrace slo` and `retrace suspects` on the demo's warehouse.
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/retrace.toml");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_retrace"))
            .args(["--config", &config.display().to_string(), "--warehouse", &warehouse.display().to_string()])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let slo = cli(&["slo", "--format", "csv"]);
    assert_eq!(
        slo.lines().map(|l| l.split(',').take(7).collect::<Vec<_>>().join(",")).collect::<Vec<_>>(),
        vec![
            "slo,service,onset,detected,detected_by,peak_burn_rate,recovered".to_string(),
            format!("checkout-availability,checkout,{onset},2026-11-19 14:13:00Z,1h/5m,280.4,{recovered}"),
            format!("payments-availability,payments,{onset},2026-11-19 14:13:00Z,1h/5m,350.3,{recovered}"),
        ],
        "{slo}"
    );
    // JSON is typed: numbers, booleans, RFC 3339 times and nulls, one document.
    let suspects = cli(&["suspects", "--top", "1", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&suspects).unwrap();
    assert_eq!(doc["schema"], "retrace.suspects/v1", "{suspects}");
    let breaches = doc["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 2, "{suspects}");
    for b in breaches {
        let top = &b["suspects"][0];
        assert_eq!(
            (top["id"].as_str(), top["verdict"].as_str(), top["rank"].as_u64()),
            (Some(culprit), Some("likely"), Some(1)),
            "{b}"
        );
        assert!(top["score"].is_f64() && top["recovery"].as_f64() == Some(1.0), "{top}");
        assert_eq!(b["breach"]["recovered"].as_str(), Some(truth["recovered"].as_str().unwrap()), "{b}");
        assert!(b["breach"]["ongoing_at"].is_null(), "{b}");
        assert_eq!(b["mitigation"]["undid"], culprit, "{b}");
        assert_eq!(b["suspects"].as_array().unwrap().len(), 1);
    }
    assert_eq!(breaches[0]["follows"], "payments-availability@2026-11-19T14:09Z", "{suspects}");
    assert!(breaches[1]["follows"].is_null(), "{suspects}");
    let slo: serde_json::Value = serde_json::from_str(&cli(&["slo", "--format", "json"])).unwrap();
    assert_eq!(slo["schema"], "retrace.slo/v1");
    let payments = slo["slos"].as_array().unwrap().iter().find(|s| s["slo"] == "payments-availability").unwrap();
    assert_eq!(payments["breaches"][0]["onset"].as_str(), Some(truth["onset"].as_str().unwrap()), "{payments}");
    assert!(payments["objective"].is_f64() && payments["chronic"].is_null() && payments["no_data_minutes"].is_u64());

    // Cut before the recovery, the breach is ongoing in every output: no made-up recovery
    // at the window's end, no mitigation, and the culprit only possible (nothing confirms
    // it yet).
    let early = dir.path().join("early");
    cli(&["report", "--from", "2026-11-19T13:00Z", "--to", "2026-11-19T14:30Z", "--format", "md,json", "--out"]
        .iter()
        .copied()
        .chain([early.to_str().unwrap()])
        .collect::<Vec<_>>());
    let md = std::fs::read_to_string(early.join("report.md")).unwrap();
    assert!(md.contains("→ ongoing at 2026-11-19 14:30:00Z (end of data)"), "{md}");
    assert!(md.contains("| ongoing | 2026-11-19 14:30:00Z"), "{md}");
    assert!(md.contains("to resolve **not resolved: ongoing when the data ends**"), "{md}");
    assert!(!md.contains("| resolved |") && !md.contains("| mitigated |"), "{md}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(early.join("report.json")).unwrap()).unwrap();
    assert!(j["response"]["resolved"].is_null() && j["response"]["time_to_resolve_minutes"].is_null(), "{j}");
    assert_eq!(j["response"]["ongoing_at"], "2026-11-19T14:30:00Z");
    assert!(j["breaches"].as_array().unwrap().iter().all(|b| b["breach"]["recovered"].is_null()), "{j}");

    // The HTML and JSON renderings of the same report, and the week's digest.
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 5, "2 SLI + 2 burn-rate charts + errors by service");
    assert!(html.contains("LIKELY change: CHG-1024"), "header verdict");
    for external in ["src=\"http", "href=\"http", "url(http", "@import", "<script", "<link"] {
        assert!(!html.contains(external), "external reference {external}");
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "retrace.report/v2");
    assert_eq!(json["focus"], "payments-availability@2026-11-19T14:09Z", "the latest breach (ties: by id)");
    let response = &json["response"];
    // The people's side, against the sample's ground truth: each milestone, and the gaps
    // computed from them (the detection gap against the SLO's own detection, 14:13).
    let people = &response["people"];
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    for (field, truth_key) in [
        ("first_alert", "first_alert"),
        ("first_page", "first_page"),
        ("acknowledged", "acknowledged"),
        ("declared", "declared"),
        ("first_status_update", "first_status_update"),
        ("mitigating_action", "revert_announced"),
    ] {
        assert_eq!(
            people[field]["at"].as_str().map(|t| &t[..19]),
            truth[truth_key].as_str().map(|t| &t[..19]),
            "{field}"
        );
    }
    let minutes = |a: &str, b: &str| {
        let t = |s: &str| retrace::cli::parse_time(s).unwrap();
        (t(a) - t(b)).num_minutes()
    };
    let first_page = truth["first_page"].as_str().unwrap();
    assert_eq!(people["detection_gap_minutes"].as_i64(), Some(minutes(first_page, "2026-11-19T14:13:00Z")));
    assert_eq!(
        people["time_to_acknowledge_minutes"].as_i64(),
        Some(minutes(truth["acknowledged"].as_str().unwrap(), first_page))
    );
    assert_eq!(
        people["time_to_communicate_minutes"].as_i64(),
        Some(minutes(truth["first_status_update"].as_str().unwrap(), truth["onset"].as_str().unwrap()))
    );
    assert!(md.contains("respond faster: the page was acknowledged 12 min after it was sent"), "{md}");
    assert!(md.contains("First page 2m after the burn-rate alert would have fired"), "{md}");
    assert!(
        md.contains("chat: reverting CHG-1024 by hand and pausing the bot — by Omar Haddad; mentions CHG-1024"),
        "{md}"
    );
    assert_eq!(
        (
            response["onset"].as_str(),
            response["detected"].as_str(),
            response["mitigated"].as_str(),
            response["resolved"].as_str()
        ),
        (
            Some("2026-11-19T14:09:00Z"),
            Some("2026-11-19T14:13:00Z"),
            Some("2026-11-19T14:41:00Z"),
            Some("2026-11-19T14:42:00Z")
        )
    );
    assert_eq!(
        (response["time_to_detect_minutes"].as_i64(), response["time_to_mitigate_minutes"].as_i64()),
        (Some(4), Some(32))
    );
    assert_eq!(json["impact"]["affected_services"], serde_json::json!(["checkout", "edge", "payments"]));
    assert_eq!(json["breaches"][0]["suspects"][0]["id"], culprit);
    assert_eq!(json["charts"]["minutes"], 180);
    assert!(json["timeline"].as_array().unwrap().len() <= 60);
    let digest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("digest.json")).unwrap()).unwrap();
    assert_eq!(digest["schema"], "retrace.digest/v2");
    assert_eq!(digest["period"]["label"], "2026-W47");
    assert_eq!(digest["overall"]["breaches"], 2);
    assert_eq!(digest["overall"]["deploys"], 21, "the sample has 21 deploys, all in this week");
    assert_eq!(digest["breaches"][0]["top_suspect"], culprit);
    assert_eq!(digest["breaches"][0]["time_to_restore_minutes"], 33);
    assert_eq!(digest["overall"]["time_to_restore_median_minutes"], 33.0);
    assert_eq!(digest["budget_exhausted"], false);
    // Paging: the on-call and, after the escalation, the secondary were paged; one
    // acknowledgement 12 min after the first page and 2 after the second; every alert came
    // with a breach and both breaches with an alert.
    let paging = &digest["paging"];
    assert_eq!((paging["pages"].as_u64(), paging["acknowledged"].as_u64()), (Some(2), Some(2)), "{paging}");
    assert_eq!(paging["time_to_acknowledge_worst_minutes"], 12);
    assert_eq!(
        (paging["alerts_without_breach"].as_u64(), paging["breaches_without_alert"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(digest["previous_paging"]["recorded"], false);

    // Deterministic: a second run over the (now unchanged) warehouse writes the same bytes.
    let files = ["report.md", "report.html", "report.json", "digest.md", "digest.html", "digest.json"];
    let first: Vec<String> = files.iter().map(|f| std::fs::read_to_string(out_dir.join(f)).unwrap()).collect();
    let again = run();
    assert!(again.status.success());
    for (f, before) in files.iter().zip(&first) {
        assert_eq!(&std::fs::read_to_string(out_dir.join(f)).unwrap(), before, "{f} changed between runs");
    }

    // The committed examples in reports/demo are what the code produces now
    // (regenerate with `bash reports/regenerate.sh`).
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/demo");
    for (f, now) in files.iter().zip(&first) {
        let old = std::fs::read_to_string(committed.join(f)).unwrap_or_default();
        assert!(&old == now, "reports/demo/{f} is out of date: run `bash reports/regenerate.sh` and commit the result");
    }

    // `retrace report --breach` and `retrace digest` gates on the same warehouse.
    let cmd = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_retrace"))
            .args(["--config", &config.display().to_string(), "--warehouse", &warehouse.display().to_string()])
            .args(args)
            .output()
            .unwrap()
    };
    let other = dir.path().join("other");
    let by_id = cmd(&[
        "report",
        "--breach",
        "checkout-availability@2026-11-19T14:09Z",
        "--format",
        "json",
        "--out",
        &other.display().to_string(),
    ]);
    assert!(by_id.status.success(), "{}", String::from_utf8_lossy(&by_id.stderr));
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(other.join("report.json")).unwrap()).unwrap();
    assert_eq!(j["breaches"][0]["breach"]["slo"], "checkout-availability", "the asked-for breach first");
    let unknown = cmd(&["report", "--breach", "nope@2026-11-19T00:00Z", "--out", &other.display().to_string()]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("payments-availability@2026-11-19T14:09Z"),
        "the error lists the known breaches: {}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let digest_dir = other.display().to_string();
    let gate = |week: &str, fail_on: &str| {
        cmd(&["digest", "--week", week, "--fail-on", fail_on, "--format", "json", "--out", &digest_dir]).status.code()
    };
    assert_eq!(gate("2026-W47", "breach"), Some(1));
    assert_eq!(gate("2026-W47", "budget-exhausted"), Some(0));
    assert_eq!(gate("2026-W46", "breach"), Some(0), "no data, no breach");
}
