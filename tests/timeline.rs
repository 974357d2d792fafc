use retrace::analyze::Window;
use retrace::analyze::timeline::{self, EventKind, TimelineQuery};

use crate::common::{Sandbox, source};

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    retrace::cli::parse_time(s).unwrap()
}

/// The timeline of every service over `[from, to)`, errors only, in 5-minute buckets.
fn every_service(from: &str, to: &str) -> TimelineQuery {
    TimelineQuery {
        window: Window::new(t(from), t(to)).unwrap(),
        service: None,
        bucket: chrono::Duration::minutes(5),
        include_warn: false,
        breaches: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_deploys_and_error_bursts_in_time_order() {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/changes.csv", "c.csv");
    sb.copy_fixture("basic/deploys.jsonl", "d.jsonl");
    let mut logs = String::new();
    // 30 error lines in 14:10–14:12 on payments (one 5-minute bucket), one stray error at 14:31, warnings, info.
    for i in 0..30 {
        logs.push_str(&format!(
            "{{\"ts\":\"2026-11-19T14:1{}:{:02}Z\",\"service\":\"payments\",\"level\":\"error\",\"msg\":\"pool exhausted #{i}\"}}\n",
            i / 10,
            (i % 10) * 5
        ));
    }
    logs.push_str("{\"ts\":\"2026-11-19T14:31:00Z\",\"service\":\"checkout\",\"level\":\"fatal\",\"msg\":\"crash\"}\n");
    logs.push_str("{\"ts\":\"2026-11-19T14:20:00Z\",\"service\":\"edge\",\"level\":\"warn\",\"msg\":\"slow\"}\n");
    logs.push_str("{\"ts\":\"2026-11-19T14:21:00Z\",\"service\":\"edge\",\"level\":\"info\",\"msg\":\"fine\"}\n");
    // The logs begin seven hours before: the errors above have a baseline to be new against.
    logs.push_str("{\"ts\":\"2026-11-19T07:00:00Z\",\"service\":\"edge\",\"level\":\"info\",\"msg\":\"up\"}\n");
    sb.write("l.jsonl", logs.as_bytes());
    let config = sb.config(
        &[source("changes", "sources/c.csv"), source("deploys", "sources/d.jsonl"), source("logs", "sources/l.jsonl")]
            .concat(),
    );
    sb.ingest(&config).await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();

    let query = |service: Option<&str>, include_warn| TimelineQuery {
        window: Window::new(t("2026-11-19T13:30Z"), t("2026-11-19T15:00Z")).unwrap(),
        service: service.map(str::to_string),
        bucket: chrono::Duration::minutes(5),
        include_warn,
        breaches: Vec::new(),
    };
    let events = timeline::build(&ctx, &query(None, false)).await.unwrap();
    let rows: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{} {:?} {} {} [{}]",
                retrace::display::utc(e.ts),
                e.kind,
                e.service.as_deref().unwrap_or("-"),
                e.title,
                e.count
            )
        })
        .collect();
    insta::assert_snapshot!(rows.join("\n"), @"
    2026-11-19 13:35:00Z Deploy checkout D-1 v1 → v2: succeeded at 100% in production [2]
    2026-11-19 14:02:00Z Change payments CHG-1 db.pool.max: 200 → 20 (by alice via config-service) [1]
    2026-11-19 14:10:00Z NewSignature payments new: pool exhausted <*> [30]
    2026-11-19 14:10:00Z LogErrors payments 30 error log lines (10/min, baseline 0.00/min) [30]
    2026-11-19 14:31:00Z NewSignature checkout new: crash [1]
    2026-11-19 14:41:00Z Change payments CHG-2 db.pool.max: 20 → 200 (by bob via config-service) — reverts CHG-1 [1]
    ");
    let burst = events.iter().find(|e| e.kind == EventKind::LogErrors).unwrap();
    assert_eq!(burst.detail.as_deref(), Some("pool exhausted #0"));
    assert_eq!(burst.source.line, 1);
    assert_eq!(burst.end, Some(t("2026-11-19T14:13Z")), "end of the last minute with lines");
    // The lone fatal line is no burst, but it is a new signature.
    assert!(!events.iter().any(|e| e.kind == EventKind::LogErrors && e.service.as_deref() == Some("checkout")));
    let crash = events.iter().find(|e| e.kind == EventKind::NewSignature && e.service.as_deref() == Some("checkout"));
    assert_eq!(crash.map(|e| (e.title.as_str(), e.count)), Some(("new: crash", 1)));

    // One service, warnings included.
    let edge = timeline::build(&ctx, &query(Some("edge"), true)).await.unwrap();
    let edge: Vec<(EventKind, &str)> = edge.iter().map(|e| (e.kind, e.title.as_str())).collect();
    assert_eq!(edge, vec![(EventKind::NewSignature, "new: slow")]);
}

/// A setting that flips back and forth three times or more is one `loop` row, and errors
/// that were there before the window are no burst and no new signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_and_baselines() {
    let sb = Sandbox::new();
    let mut changes = String::from("ts,change_id,service,key,old_value,new_value\n");
    for (i, (m, v)) in [(0, "20"), (7, "200"), (10, "20"), (17, "200"), (20, "20"), (30, "200")].iter().enumerate() {
        changes.push_str(&format!("2026-11-19T14:{:02}:00Z,C{i},payments,pool,x,{v}\n", m));
    }
    sb.write("c.csv", changes.as_bytes());
    let mut logs = String::new();
    // The same error every minute since 10:00: its baseline; nothing new at 14:00.
    for m in 0..300 {
        logs.push_str(&format!(
            "{{\"ts\":\"2026-11-19T{:02}:{:02}:00Z\",\"service\":\"search\",\"level\":\"error\",\"msg\":\"index shard {} slow\"}}\n",
            10 + m / 60,
            m % 60,
            m % 7
        ));
    }
    sb.write("l.jsonl", logs.as_bytes());
    let config = sb.config(&[source("changes", "sources/c.csv"), source("logs", "sources/l.jsonl")].concat());
    sb.ingest(&config).await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    let q = every_service("2026-11-19T14:00Z", "2026-11-19T15:00Z");
    let events = timeline::build(&ctx, &q).await.unwrap();
    let loops: Vec<&str> = events.iter().filter(|e| e.kind == EventKind::Loop).map(|e| e.title.as_str()).collect();
    assert_eq!(loops, vec!["loop: pool flipped 4 times (20 → 200 → 20 → 200 → 20 → 200)"]);
    assert!(!events.iter().any(|e| matches!(e.kind, EventKind::LogErrors | EventKind::NewSignature)), "{events:#?}");
}

/// Errors in the first hours of the data have nothing before them to be new against: they
/// are bursts, not new signatures (issue 18: random baseline 500s at the start of the data).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_at_the_start_of_the_data_are_not_new_signatures() {
    let sb = Sandbox::new();
    let mut logs = String::new();
    for (ts, msg) in [
        ("2026-11-19T08:00:00Z", "upstream 500 from cart"),
        ("2026-11-19T08:20:00Z", "upstream 500 from cart"),
        ("2026-11-19T15:00:00Z", "disk full on /var"),
    ] {
        logs.push_str(&format!("{{\"ts\":\"{ts}\",\"service\":\"payments\",\"level\":\"error\",\"msg\":\"{msg}\"}}\n"));
    }
    sb.write("l.jsonl", logs.as_bytes());
    let config = sb.config(&source("logs", "sources/l.jsonl"));
    sb.ingest(&config).await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    let query = every_service("2026-11-19T08:00Z", "2026-11-19T16:00Z");
    let fresh: Vec<String> = timeline::build(&ctx, &query)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::NewSignature)
        .map(|e| e.title)
        .collect();
    assert_eq!(fresh, vec!["new: disk full on /var".to_string()]);
}

/// People's events sit in the timeline with their actor; a chat line naming a change
/// ("reverting CHG-1") is linked to it, as what someone said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_events_with_their_actor_and_the_changes_they_name() {
    let (sb, config) = crate::common::basic_sandbox();
    sb.ingest(&config).await;
    let ctx = retrace::catalog::open(&sb.warehouse()).await.unwrap();
    let events = timeline::build(&ctx, &every_service("2026-11-19T14:00Z", "2026-11-19T15:00Z")).await.unwrap();
    let people: Vec<(String, String, Option<String>, Option<String>)> = events
        .iter()
        .filter(|e| e.kind == EventKind::Response)
        .map(|e| (e.ts.format("%H:%M:%S").to_string(), e.title.clone(), e.detail.clone(), e.id.clone()))
        .collect();
    assert_eq!(
        people,
        vec![
            ("14:12:40".into(), "alert fired: PaymentsErrorBudgetBurn".into(), Some("by alertmanager".into()), None),
            ("14:13:05".into(), "paged: [#42] payments errors".into(), Some("by Dana".into()), None),
            ("14:16:30".into(), "acknowledged".into(), Some("by Dana".into()), None),
            (
                "14:20:00".into(),
                "chat: pool exhausted since 14:02 — CHG-1 shrank db.pool.max; reverting CHG-1".into(),
                Some("by Dana; mentions CHG-1".into()),
                Some("CHG-1".into())
            ),
            (
                "14:25:00".into(),
                "status update: Investigating".into(),
                Some("Some payments fail; we are on it.".into()),
                None
            ),
        ]
    );
    // In time order among the machine events: the chat after the change it names.
    let chg = events.iter().position(|e| e.id.as_deref() == Some("CHG-1") && e.kind == EventKind::Change).unwrap();
    let chat = events.iter().position(|e| e.kind == EventKind::Response && e.id.as_deref() == Some("CHG-1")).unwrap();
    assert!(chg < chat);
}
