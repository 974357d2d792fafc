//! What incident responders' tools export, mapped onto `incident_events` (one record of
//! the document → one or more events). Fields without a column are kept as attributes.
//!
//! - `alertmanager`: the JSON Prometheus Alertmanager POSTs to a webhook receiver (one
//!   payload per line, a JSON array of them, or one document): one event per alert.
//! - `prometheus_json` into events: the `ALERTS` series of a `query_range` export, each
//!   run of firing samples one `alert_firing` and one `alert_resolved`.
//! - `pagerduty`: PagerDuty REST API v2 log entries (`{"log_entries": […]}`), or v2
//!   webhook payloads (`{"messages": [{"log_entries": […]}]}`).
//! - `slack`: a Slack workspace export's channel-day file (`<channel>/<date>.json`).
//! - `grafana_annotations`: Grafana's `GET /api/annotations`.

use serde_json::Value;

use super::pattern::Fields;

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn push(fields: &mut Fields, key: &str, value: Option<String>) {
    if let Some(v) = value {
        fields.push((key.to_string(), v));
    }
}

/// An object's string fields as attributes under `prefix.key`, except those in `skip`.
fn keep_map(fields: &mut Fields, v: Option<&Value>, prefix: &str, skip: &[&str]) {
    for (k, val) in v.and_then(Value::as_object).into_iter().flatten() {
        if !skip.contains(&k.as_str()) {
            push(fields, &format!("{prefix}.{k}"), text(Some(val)));
        }
    }
}

/// Alertmanager's "not set" time (`endsAt` of a firing alert in newer versions).
fn set_time(v: Option<&Value>) -> Option<String> {
    text(v).filter(|t| !t.starts_with("0001-01-01"))
}

/// One Alertmanager webhook payload → one event per alert: `alert_firing` at `startsAt`,
/// `alert_resolved` at `endsAt`. The alert's `status` decides which (a firing alert may
/// carry a future `endsAt`: its expiry, not its resolution).
pub fn alertmanager(v: &Value) -> Result<Vec<Fields>, String> {
    let alerts = v.get("alerts").and_then(Value::as_array).ok_or("an Alertmanager payload has `alerts`")?;
    let mut out = Vec::new();
    for a in alerts {
        let status = text(a.get("status")).or_else(|| text(v.get("status"))).unwrap_or_default();
        let (kind, ts) = match status.as_str() {
            "resolved" => ("alert_resolved", set_time(a.get("endsAt")).or_else(|| set_time(a.get("startsAt")))),
            _ => ("alert_firing", set_time(a.get("startsAt"))),
        };
        let labels = a.get("labels");
        let label = |k: &str| labels.and_then(|l| text(l.get(k)));
        let annotation = |k: &str| a.get("annotations").and_then(|x| text(x.get(k)));
        let mut f = Fields::new();
        push(&mut f, "ts", ts);
        f.push(("kind".into(), kind.into()));
        push(&mut f, "service", label("service").or_else(|| label("job")).or_else(|| label("app")));
        f.push(("actor".into(), "alertmanager".into()));
        push(&mut f, "title", label("alertname"));
        push(
            &mut f,
            "text",
            annotation("summary").or_else(|| annotation("description")).or_else(|| annotation("message")),
        );
        push(&mut f, "ref", text(a.get("fingerprint")).or_else(|| text(a.get("generatorURL"))));
        push(&mut f, "severity", label("severity"));
        keep_map(&mut f, labels, "label", &["alertname", "severity"]);
        keep_map(&mut f, a.get("annotations"), "annotation", &[]);
        push(&mut f, "status", Some(status));
        push(&mut f, "startsAt", text(a.get("startsAt")));
        push(&mut f, "endsAt", text(a.get("endsAt")));
        push(&mut f, "generatorURL", text(a.get("generatorURL")));
        push(&mut f, "receiver", text(v.get("receiver")));
        push(&mut f, "groupKey", text(v.get("groupKey")));
        push(&mut f, "externalURL", text(v.get("externalURL")));
        out.push(f);
    }
    Ok(out)
}

/// A `query_range` series of `ALERTS{alertname, alertstate}`: each run of `firing`
/// samples (a gap of more than twice the usual step ends one) is an `alert_firing` at its
/// first sample and an `alert_resolved` at its last; `pending` samples are not alerts yet.
pub fn prometheus_alerts(series: &Value) -> Result<Vec<Fields>, String> {
    let metric = series.get("metric").and_then(Value::as_object).ok_or("a series has `metric` labels")?;
    let name = metric.get("__name__").and_then(Value::as_str).unwrap_or("ALERTS");
    if name != "ALERTS" {
        return Err(format!(
            "`{name}` is not the ALERTS series; query `ALERTS` (or `ALERTS{{alertstate=\"firing\"}}`)"
        ));
    }
    if metric.get("alertstate").and_then(Value::as_str) == Some("pending") {
        return Ok(Vec::new());
    }
    let times: Vec<f64> = series
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get(0).and_then(Value::as_f64))
        .collect();
    let mut steps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    steps.sort_by(f64::total_cmp);
    let step = steps.get(steps.len() / 2).copied().unwrap_or(60.0);
    let mut runs: Vec<(f64, f64)> = Vec::new();
    for t in times {
        match runs.last_mut() {
            Some((_, end)) if t - *end <= 2.0 * step => *end = t,
            _ => runs.push((t, t)),
        }
    }
    let label = |k: &str| metric.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    for (start, end) in runs {
        for (kind, ts) in [("alert_firing", start), ("alert_resolved", end)] {
            let mut f: Fields = vec![("ts".into(), ts.to_string()), ("kind".into(), kind.into())];
            push(&mut f, "service", label("service").or_else(|| label("job")));
            f.push(("actor".into(), "prometheus".into()));
            push(&mut f, "title", label("alertname"));
            push(&mut f, "severity", label("severity"));
            for (k, v) in metric {
                if !matches!(k.as_str(), "__name__" | "alertname" | "severity" | "alertstate") {
                    push(&mut f, &format!("label.{k}"), v.as_str().map(str::to_string));
                }
            }
            if kind == "alert_resolved" {
                // The last sample seen firing: it resolved within one step after.
                f.push(("resolved_within_s".into(), step.to_string()));
            }
            out.push(f);
        }
    }
    Ok(out)
}

/// PagerDuty log entry types → event kinds.
fn pagerduty_kind(entry_type: &str) -> &'static str {
    match entry_type.trim_end_matches("_reference") {
        "trigger_log_entry" => "alert_firing",
        "resolve_log_entry" => "alert_resolved",
        "notify_log_entry" => "page",
        "acknowledge_log_entry" => "ack",
        "escalate_log_entry" | "assign_log_entry" | "delegate_log_entry" | "reach_trigger_limit_log_entry" => {
            "escalation"
        }
        "annotate_log_entry" => "note",
        "snooze_log_entry" | "unacknowledge_log_entry" | "urgency_change_log_entry" | "priority_change_log_entry" => {
            "action"
        }
        _ => "note",
    }
}

/// A PagerDuty log entry, or a v2 webhook payload holding some (`messages[].log_entries`).
pub fn pagerduty(v: &Value) -> Result<Vec<Fields>, String> {
    if let Some(messages) = v.get("messages").and_then(Value::as_array) {
        let entries =
            messages.iter().flat_map(|m| m.get("log_entries").and_then(Value::as_array).into_iter().flatten());
        return entries.map(pagerduty_entry).collect();
    }
    if let Some(entries) = v.get("log_entries").and_then(Value::as_array) {
        return entries.iter().map(pagerduty_entry).collect();
    }
    pagerduty_entry(v).map(|f| vec![f])
}

fn pagerduty_entry(e: &Value) -> Result<Fields, String> {
    let entry_type = text(e.get("type")).ok_or("a PagerDuty log entry has a `type`")?;
    let mut f = Fields::new();
    push(&mut f, "ts", text(e.get("created_at")));
    f.push(("kind".into(), pagerduty_kind(&entry_type).into()));
    push(&mut f, "service", text(at(e, &["service", "summary"])));
    // Who acted; for a notification, who was paged.
    let actor = match entry_type.as_str() {
        "notify_log_entry" => text(at(e, &["user", "summary"])).or_else(|| text(at(e, &["agent", "summary"]))),
        _ => text(at(e, &["agent", "summary"])),
    };
    push(&mut f, "actor", actor);
    push(&mut f, "title", text(at(e, &["incident", "summary"])));
    push(&mut f, "text", text(e.get("summary")).or_else(|| text(at(e, &["channel", "summary"]))));
    push(&mut f, "ref", text(e.get("html_url")).or_else(|| text(e.get("id"))));
    push(&mut f, "severity", text(at(e, &["incident", "urgency"])));
    push(&mut f, "entry_type", Some(entry_type));
    push(&mut f, "entry_id", text(e.get("id")));
    push(&mut f, "incident_id", text(at(e, &["incident", "id"])));
    push(&mut f, "channel.type", text(at(e, &["channel", "type"])));
    push(&mut f, "channel.details", text(at(e, &["channel", "details"])));
    push(&mut f, "agent.type", text(at(e, &["agent", "type"])));
    Ok(f)
}

/// A message of a Slack export's channel-day file. Who said it: the message's own profile
/// name, else its user (or bot) id; `subtype` (`channel_join`, `bot_message`) is kept.
pub fn slack(m: &Value) -> Result<Vec<Fields>, String> {
    let ts = text(m.get("ts")).ok_or("a Slack message has a `ts`")?;
    let mut f = Fields::new();
    f.push(("ts".into(), ts.clone()));
    f.push(("kind".into(), "chat".into()));
    let actor = text(at(m, &["user_profile", "real_name"]))
        .or_else(|| text(at(m, &["user_profile", "name"])))
        .or_else(|| text(m.get("username")))
        .or_else(|| text(m.get("user")))
        .or_else(|| text(m.get("bot_id")))
        .or_else(|| text(at(m, &["comment", "user"])));
    push(&mut f, "actor", actor);
    let attachments: Vec<String> = m
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| text(a.get("fallback")).or_else(|| text(a.get("text"))))
        .collect();
    let body = text(m.get("text")).or_else(|| (!attachments.is_empty()).then(|| attachments.join("\n")));
    push(&mut f, "text", body);
    // A message's ts is its id within the channel.
    f.push(("ref".into(), ts));
    push(&mut f, "subtype", text(m.get("subtype")));
    push(&mut f, "user", text(m.get("user")));
    push(&mut f, "thread_ts", text(m.get("thread_ts")));
    push(&mut f, "edited_by", text(at(m, &["edited", "user"])));
    Ok(vec![f])
}

/// A Grafana annotation: a `note` (or, when an alert made it, `alert_firing`) at `time`
/// (ms), lasting to `timeEnd` when it is a region.
pub fn grafana_annotation(a: &Value) -> Result<Vec<Fields>, String> {
    let mut f = Fields::new();
    push(&mut f, "ts", text(a.get("time")));
    let from_alert = a.get("alertId").and_then(Value::as_i64).is_some_and(|id| id != 0);
    f.push(("kind".into(), if from_alert { "alert_firing" } else { "note" }.into()));
    push(&mut f, "actor", text(a.get("login")).or_else(|| text(a.get("email"))).or_else(|| text(a.get("userName"))));
    push(&mut f, "text", text(a.get("text")));
    push(&mut f, "ref", text(a.get("id")).map(|id| format!("grafana-annotation-{id}")));
    let tags: Vec<String> =
        a.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(|t| text(Some(t))).collect();
    if !tags.is_empty() {
        f.push(("tags".into(), tags.join(",")));
    }
    for k in [
        "timeEnd",
        "dashboardUID",
        "dashboardId",
        "panelId",
        "alertId",
        "newState",
        "prevState",
        "regionId",
        "type",
        "userId",
    ] {
        push(&mut f, k, text(a.get(k)).filter(|v| v != "0"));
    }
    Ok(vec![f])
}

/// Opsgenie's alert log entries (`GET /v2/alerts/{id}/logs` → `{"data": [{"log",
/// "type", "owner", "createdAt", "offset"}]}`): the kind is read from the log's words, as
/// Opsgenie writes them ("Alert acknowledged via web", "Escalated to …").
pub fn opsgenie_log(e: &Value) -> Result<Vec<Fields>, String> {
    let log = text(e.get("log")).ok_or("an Opsgenie log entry has a `log`")?;
    let l = log.to_ascii_lowercase();
    let kind = if l.contains("acknowledged") {
        "ack"
    } else if l.contains("escalat") {
        "escalation"
    } else if l.contains("closed") || l.contains("resolved") {
        "alert_resolved"
    } else if l.contains("notification") || l.contains("notified") || l.contains("sent to") {
        "page"
    } else if l.contains("created") {
        "alert_firing"
    } else {
        "note"
    };
    let mut f = Fields::new();
    push(&mut f, "ts", text(e.get("createdAt")));
    f.push(("kind".into(), kind.into()));
    push(&mut f, "actor", text(e.get("owner")));
    f.push(("text".into(), log));
    push(&mut f, "ref", text(e.get("offset")));
    push(&mut f, "log_type", text(e.get("type")));
    Ok(vec![f])
}

/// An Atlassian Statuspage incident (`/api/v2/incidents.json` → `{"incidents": […]}`, or
/// a webhook's `{"incident": …}`): one `status_update` per `incident_updates` entry, at
/// its `display_at` (else `created_at`), titled with its status.
pub fn statuspage_incident(v: &Value) -> Result<Vec<Fields>, String> {
    let incident = v.get("incident").unwrap_or(v);
    let updates = incident
        .get("incident_updates")
        .and_then(Value::as_array)
        .ok_or("a Statuspage incident has `incident_updates`")?;
    let mut out = Vec::new();
    for u in updates {
        let mut f = Fields::new();
        push(&mut f, "ts", text(u.get("display_at")).or_else(|| text(u.get("created_at"))));
        f.push(("kind".into(), "status_update".into()));
        f.push(("actor".into(), "statuspage".into()));
        push(&mut f, "title", text(u.get("status")));
        push(&mut f, "text", text(u.get("body")));
        push(&mut f, "ref", text(u.get("id")));
        push(&mut f, "severity", text(incident.get("impact")));
        push(&mut f, "incident", text(incident.get("name")));
        push(&mut f, "incident_id", text(incident.get("id")));
        push(&mut f, "shortlink", text(incident.get("shortlink")));
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a Fields, k: &str) -> Option<&'a str> {
        f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn pagerduty_entry_types_become_event_kinds() {
        for (t, k) in [
            ("trigger_log_entry", "alert_firing"),
            ("notify_log_entry", "page"),
            ("acknowledge_log_entry", "ack"),
            ("escalate_log_entry", "escalation"),
            ("resolve_log_entry", "alert_resolved"),
            ("annotate_log_entry", "note"),
        ] {
            assert_eq!(pagerduty_kind(t), k);
        }
        let page: Value = serde_json::from_str(
            r#"{"type":"notify_log_entry","created_at":"2026-11-19T14:31:00Z","agent":{"summary":"PagerDuty"},
                "user":{"summary":"Dana (DB on-call)"},"channel":{"type":"sms"},"incident":{"summary":"[#42] checkout errors"}}"#,
        )
        .unwrap();
        let f = &pagerduty(&page).unwrap()[0];
        assert_eq!(
            (get(f, "kind"), get(f, "actor"), get(f, "title")),
            (Some("page"), Some("Dana (DB on-call)"), Some("[#42] checkout errors"))
        );
    }

    #[test]
    fn alerts_series_runs_become_firing_and_resolved() {
        let s: Value = serde_json::from_str(
            r#"{"metric":{"__name__":"ALERTS","alertname":"CheckoutErrors","alertstate":"firing","severity":"page","job":"checkout"},
                "values":[[1000,"1"],[1060,"1"],[1120,"1"],[2000,"1"],[2060,"1"]]}"#,
        )
        .unwrap();
        let events = prometheus_alerts(&s).unwrap();
        let summary: Vec<(Option<&str>, Option<&str>)> =
            events.iter().map(|f| (get(f, "kind"), get(f, "ts"))).collect();
        assert_eq!(
            summary,
            [
                (Some("alert_firing"), Some("1000")),
                (Some("alert_resolved"), Some("1120")),
                (Some("alert_firing"), Some("2000")),
                (Some("alert_resolved"), Some("2060"))
            ]
        );
        assert_eq!(get(&events[0], "service"), Some("checkout"));
        let pending: Value =
            serde_json::from_str(r#"{"metric":{"__name__":"ALERTS","alertstate":"pending"},"values":[[1,"1"]]}"#)
                .unwrap();
        assert!(prometheus_alerts(&pending).unwrap().is_empty());
    }
}
