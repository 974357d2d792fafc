//! The human side of an incident: what responders' tools export (tests/fixtures/<tool>/,
//! with provenance) lands in `incident_events`, each record as the tool wrote it.

use std::collections::BTreeMap;

use crate::common::Sandbox;

fn config(sb: &Sandbox, url: &str, extra: &str) -> retrace::config::Config {
    sb.config(&format!("[[sources]]\nkind = \"events\"\nurl = \"sources/{url}\"\n{extra}\n"))
}

/// Alertmanager webhook payloads (firing, then resolved; and a group of three), with the
/// format worked out from their keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_webhooks_become_firing_and_resolved_events() {
    let sb = Sandbox::new();
    for f in [
        "alertmanager-bot_firing.json",
        "alertmanager-bot_resolved.json",
        "prometheus-msteams_grafana-inspired_firing.json",
    ] {
        sb.copy_fixture(&format!("alertmanager/{f}"), &format!("am/{f}"));
    }
    let config = config(&sb, "am/*.json", "");
    let summary = sb.ingest(&config).await;
    assert!(summary.rejects.is_empty() && summary.failures.is_empty(), "{:?} {:?}", summary.rejects, summary.failures);
    assert_eq!(summary.detected["events-1"], BTreeMap::from([("alertmanager".to_string(), 3)]));
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, kind, service, actor, title, severity, ref IS NOT NULL AS has_ref, attributes['status'] AS status \
         FROM incident_events ORDER BY ts, title"
    ).await, @r"
    +-----------------------------+----------------+---------+--------------+------------------+----------+---------+----------+
    | ts                          | kind           | service | actor        | title            | severity | has_ref | status   |
    +-----------------------------+----------------+---------+--------------+------------------+----------+---------+----------+
    | 2018-11-04T21:43:58.283995Z | alert_firing   |         | alertmanager | Fire             | critical | true    | firing   |
    | 2018-11-04T21:48:13.283995Z | alert_resolved |         | alertmanager | Fire             | critical | true    | resolved |
    | 2020-10-11T14:34:11.279383Z | alert_firing   |         | alertmanager | JustATestAlert_1 | info     | true    | firing   |
    | 2020-10-11T14:34:11.279383Z | alert_firing   |         | alertmanager | JustATestAlert_1 | info     | true    | firing   |
    | 2020-10-11T14:34:11.279383Z | alert_firing   |         | alertmanager | JustATestAlert_1 | info     | true    | firing   |
    +-----------------------------+----------------+---------+--------------+------------------+----------+---------+----------+
    ");
}

/// A PagerDuty v2 webhook carries its log entries; a trigger is the alert that pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_log_entries() {
    let sb = Sandbox::new();
    sb.copy_fixture("pagerduty/go-pagerduty_webhook_v2_incident_trigger.json", "pd/webhook.json");
    let summary = sb.ingest(&config(&sb, "pd/*.json", "format = \"pagerduty\"")).await;
    assert!(summary.rejects.is_empty(), "{:?}", summary.rejects);
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, kind, service, actor, title, text, severity, attributes['entry_type'] AS entry FROM incident_events"
    ).await, @r"
    +----------------------+--------------+------------------------+-------------+-----------------------+-------------------------------+----------+-------------------+
    | ts                   | kind         | service                | actor       | title                 | text                          | severity | entry             |
    +----------------------+--------------+------------------------+-------------+-----------------------+-------------------------------+----------+-------------------+
    | 2017-09-26T15:14:36Z | alert_firing | Production XDB Cluster | Laura Haley | [#33] My new incident | Triggered through the website |          | trigger_log_entry |
    +----------------------+--------------+------------------------+-------------+-----------------------+-------------------------------+----------+-------------------+
    ");
}

/// A Slack workspace export: one file per channel and day; the folder names the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_export_is_chat_with_its_channel() {
    let sb = Sandbox::new();
    for day in ["2016-01-16", "2016-03-25", "2016-03-27"] {
        sb.copy_fixture(&format!("slack/traveling-sailor/{day}.json"), &format!("slack/traveling-sailor/{day}.json"));
    }
    let summary = sb.ingest(&config(&sb, "slack/{channel}/*.json", "")).await;
    assert!(summary.rejects.is_empty() && summary.failures.is_empty(), "{:?} {:?}", summary.rejects, summary.failures);
    assert_eq!(summary.total_rows(), 5 + 9 + 8);
    assert_eq!(summary.detected["events-1"], BTreeMap::from([("slack".to_string(), 3)]));
    insta::assert_snapshot!(sb.sql(
        "SELECT attributes['channel'] AS channel, attributes['subtype'] AS subtype, count(*) AS n, count(actor) AS with_actor \
         FROM incident_events GROUP BY 1, 2 ORDER BY 2 NULLS FIRST"
    ).await, @r"
    +------------------+--------------+----+------------+
    | channel          | subtype      | n  | with_actor |
    +------------------+--------------+----+------------+
    | traveling-sailor |              | 10 | 10         |
    | traveling-sailor | bot_add      | 1  | 1          |
    | traveling-sailor | bot_message  | 5  | 5          |
    | traveling-sailor | channel_join | 4  | 4          |
    | traveling-sailor | file_comment | 1  | 1          |
    | traveling-sailor | file_share   | 1  | 1          |
    +------------------+--------------+----+------------+
    ");
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, kind, actor, text FROM incident_events WHERE attributes['subtype'] IS NULL ORDER BY ts LIMIT 3"
    ).await, @r"
    +-----------------------------+------+-----------+-----------------------------------------------------------------------+
    | ts                          | kind | actor     | text                                                                  |
    +-----------------------------+------+-----------+-----------------------------------------------------------------------+
    | 2016-03-25T23:44:41.000002Z | chat | U0BMYT2FL | <@U0BMQB6JE>: <https://www.maxmind.com/en/free-world-cities-database> |
    | 2016-03-25T23:44:46.000004Z | chat | U0BMYT2FL | 33MB zip file                                                         |
    | 2016-03-25T23:44:55.000005Z | chat | U0BMYT2FL | that we parsed together                                               |
    +-----------------------------+------+-----------+-----------------------------------------------------------------------+
    ");
}

/// Grafana annotations are notes (an alert's annotation is the alert firing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_annotations_are_notes() {
    let sb = Sandbox::new();
    sb.copy_fixture("grafana/grafana-api-golang-client_annotations.json", "grafana/annotations.json");
    let summary = sb.ingest(&config(&sb, "grafana/*.json", "")).await;
    assert!(summary.rejects.is_empty() && summary.failures.is_empty(), "{:?} {:?}", summary.rejects, summary.failures);
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, kind, text, ref, attributes['tags'] AS tags, attributes['dashboardId'] AS dashboard FROM incident_events"
    ).await, @r"
    +----------------------+------+------+-------------------------+-----------+-----------+
    | ts                   | kind | text | ref                     | tags      | dashboard |
    +----------------------+------+------+-------------------------+-----------+-----------+
    | 2017-10-06T05:06:35Z | note | test | grafana-annotation-1124 | tag1,tag2 | 468       |
    +----------------------+------+------+-------------------------+-----------+-----------+
    ");
}

/// Any other tool: JSON Lines or CSV with the columns' names (and their aliases); a kind
/// outside the set is rejected naming the set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_written_events_and_unknown_kinds() {
    let sb = Sandbox::new();
    sb.write(
        "ev.csv",
        b"ts,kind,service,actor,title,text\n\
          2026-11-19T14:31:00Z,paged,payments,PagerDuty,DB on-call,paged Dana\n\
          2026-11-19T14:33:00Z,acknowledged,payments,Dana,,ack from phone\n\
          2026-11-19T14:35:00Z,Declared,payments,Dana,SEV-2,checkout failing\n\
          2026-11-19T14:36:00Z,coffee,payments,Dana,,brb\n",
    );
    let summary = sb.ingest(&config(&sb, "ev.csv", "")).await;
    assert_eq!((summary.total_rows(), summary.rejects.get("bad_value")), (3, Some(&1)));
    insta::assert_snapshot!(sb.sql("SELECT ts, kind, actor, title FROM incident_events ORDER BY ts").await, @r"
    +----------------------+----------+-----------+------------+
    | ts                   | kind     | actor     | title      |
    +----------------------+----------+-----------+------------+
    | 2026-11-19T14:31:00Z | page     | PagerDuty | DB on-call |
    | 2026-11-19T14:33:00Z | ack      | Dana      |            |
    | 2026-11-19T14:35:00Z | declared | Dana      | SEV-2      |
    +----------------------+----------+-----------+------------+
    ");
    let detail = sb.sql("SELECT detail FROM rejects").await;
    assert!(detail.contains("`coffee` is not one of alert_firing"), "{detail}");
}

/// A facilitator's notes in three time zones across the 2026 US DST change (Sunday
/// 8 March, 02:00 EST → 03:00 EDT): each line's own zone wins, naive lines take the
/// source's zone with DST judged and flagged, the date comes from headings, a line past
/// midnight is the next day, and lines without a time continue the note before them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilitator_notes_in_three_zones_across_a_dst_change() {
    let sb = Sandbox::new();
    sb.write(
        "notes/inc-4211.md",
        "# Incident 4211 notes\n\
         Written by the IC during the call.\n\
         \n\
         ## 2026-03-07\n\
         - 23:50 EST paged DB on-call\n\
         - 00:20 EST Dana acked\n\
         \x20 (she was on the train)\n\
         ## 2026-03-08\n\
         - 01:30 declared SEV-2\n\
         - 02:30 reverted the pool change\n\
         - 03:15 EDT posted update to status page\n\
         - 09:00 CET Berlin team joined\n\
         - 2:15 pm +00:00 failed over to eu-west\n\
         - 2026-03-09 08:00 PST retro scheduled\n"
            .as_bytes(),
    );
    let summary = sb.ingest(&config(&sb, "notes/*.md", "timezone = \"America/New_York\"")).await;
    assert!(summary.rejects.is_empty() && summary.failures.is_empty(), "{:?} {:?}", summary.rejects, summary.failures);
    assert_eq!(summary.detected["events-1"], BTreeMap::from([("notes".to_string(), 1)]));
    assert_eq!((summary.total_rows(), summary.merged_lines), (8, 1));
    insta::assert_snapshot!(sb.sql("SELECT ts, kind, text, ts_flags, attributes['zone_written'] AS zone FROM incident_events ORDER BY line").await, @r"
    +----------------------+---------------+------------------------------+----------+--------+
    | ts                   | kind          | text                         | ts_flags | zone   |
    +----------------------+---------------+------------------------------+----------+--------+
    | 2026-03-08T04:50:00Z | page          | paged DB on-call             |          | EST    |
    | 2026-03-08T05:20:00Z | ack           | Dana acked                   |          | EST    |
    |                      |               | (she was on the train)       |          |        |
    | 2026-03-08T06:30:00Z | declared      | declared SEV-2               |          |        |
    | 2026-03-08T07:30:00Z | action        | reverted the pool change     | dst_gap  |        |
    | 2026-03-08T07:15:00Z | status_update | posted update to status page |          | EDT    |
    | 2026-03-08T08:00:00Z | note          | Berlin team joined           |          | CET    |
    | 2026-03-08T14:15:00Z | action        | failed over to eu-west       |          | +00:00 |
    | 2026-03-09T16:00:00Z | note          | retro scheduled              |          | PST    |
    +----------------------+---------------+------------------------------+----------+--------+
    ");
}

/// Opsgenie alert logs and Statuspage incidents, in the shapes their APIs document
/// (fixtures written from the documented fields: no openly licensed capture exists), and a
/// plain chat transcript copied out of an IRC-style client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_statuspage_and_a_chat_transcript() {
    let sb = Sandbox::new();
    sb.copy_fixture("opsgenie/alert-logs.json", "og/logs.json");
    sb.copy_fixture("statuspage/incidents.json", "sp/incidents.json");
    sb.write(
        "chat/transcript.txt",
        "## 2026-11-19\n\
         [14:28] <omar> on it. payments 5xx\n\
         [14:34:20 UTC] <lee> CHG-1024 shrank db.pool.max, that lines up\n\
         14:40 Omar Haddad: reverting CHG-1024 by hand\n\
         \x20 and pausing the bot\n"
            .as_bytes(),
    );
    let config = sb.config(
        "[[sources]]\nkind = \"events\"\nurl = \"sources/og/*.json\"\n\
         [[sources]]\nkind = \"events\"\nurl = \"sources/sp/*.json\"\n\
         [[sources]]\nkind = \"events\"\nurl = \"sources/chat/*.txt\"\nformat = \"chat\"\n",
    );
    let summary = sb.ingest(&config).await;
    assert!(summary.rejects.is_empty() && summary.failures.is_empty(), "{:?} {:?}", summary.rejects, summary.failures);
    assert_eq!(summary.detected["events-1"], BTreeMap::from([("opsgenie".to_string(), 1)]));
    assert_eq!(summary.detected["events-2"], BTreeMap::from([("statuspage".to_string(), 1)]));
    insta::assert_snapshot!(sb.sql(
        "SELECT ts, kind, actor, title, text, severity FROM incident_events ORDER BY ts, source"
    ).await, @r#"
        +----------------------+----------------+----------------------------+---------------+----------------------------------------------------------------------------+----------+
        | ts                   | kind           | actor                      | title         | text                                                                       | severity |
        +----------------------+----------------+----------------------------+---------------+----------------------------------------------------------------------------+----------+
        | 2026-11-19T14:15:00Z | alert_firing   | System                     |               | Alert created via Prometheus integration                                   |          |
        | 2026-11-19T14:15:10Z | page           | dana.whitfield@example.com |               | Notification sent to [dana.whitfield@example.com] via push                 |          |
        | 2026-11-19T14:25:10Z | escalation     | System                     |               | Escalated to [omar.haddad@example.com] by escalation [payments_escalation] |          |
        | 2026-11-19T14:27:30Z | ack            | omar.haddad@example.com    |               | Alert acknowledged via web                                                 |          |
        | 2026-11-19T14:28:00Z | chat           | omar                       |               | on it. payments 5xx                                                        |          |
        | 2026-11-19T14:34:20Z | chat           | lee                        |               | CHG-1024 shrank db.pool.max, that lines up                                 |          |
        | 2026-11-19T14:38:00Z | status_update  | statuspage                 | investigating | Some card payments are failing. We are investigating.                      | major    |
        | 2026-11-19T14:40:00Z | chat           | Omar Haddad                |               | reverting CHG-1024 by hand                                                 |          |
        |                      |                |                            |               | and pausing the bot                                                        |          |
        | 2026-11-19T14:45:00Z | status_update  | statuspage                 | monitoring    | A fix has been applied and payments are recovering.                        | major    |
        | 2026-11-19T14:47:00Z | alert_resolved | omar.haddad@example.com    |               | Alert closed via web                                                       |          |
        | 2026-11-19T15:05:00Z | status_update  | statuspage                 | resolved      | Payments have been working normally since 14:42 UTC.                       | major    |
        +----------------------+----------------+----------------------------+---------------+----------------------------------------------------------------------------+----------+
    "#);
}
