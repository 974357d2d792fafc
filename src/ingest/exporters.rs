//! Shapes that real tools export, mapped onto the `changes` and `deploys` columns. Each
//! mapper takes one record of the document and returns fields for the assembler; fields
//! that are not columns are kept as attributes, as for every format.
//!
//! - `github_deployments` (deploys): GitHub deployment statuses, either the REST API's
//!   `GET /repos/{owner}/{repo}/deployments/{id}/statuses` array or `deployment_status`
//!   webhook payloads (one per line, as most webhook archivers store them).
//! - `launchdarkly_audit` (changes): LaunchDarkly's audit log, `GET /api/v2/auditlog`
//!   (`{"items": […]}`), the feature-flag change history most teams already have.
//! - `otlp_json` (logs): OpenTelemetry's OTLP/JSON logs (`{"resourceLogs": […]}`), as
//!   the Collector's file exporter writes them (one request per line) or as one document.
//! - `k8s_events` (changes): `kubectl get events -o json` (`{"items": […]}`) or
//!   `kubectl get events -w -o json` (one event per value): scaling, rollouts, image
//!   pulls and restarts are changes the cluster made.

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

/// GitHub's deployment states → the contract's deploy statuses.
fn github_state(state: &str) -> Result<&'static str, String> {
    Ok(match state {
        "queued" | "pending" => "started",
        "in_progress" => "progress",
        "success" => "succeeded",
        "failure" | "error" => "failed",
        "inactive" => {
            return Err("GitHub state `inactive` (superseded by a newer deployment) is not a deploy event".into());
        }
        other => return Err(format!("unknown GitHub deployment state `{other}`")),
    })
}

/// `https://api.github.com/repos/acme/payments/deployments/42` → (`payments`, `42`).
fn repo_and_id(deployment_url: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = deployment_url.trim_end_matches('/').split('/').collect();
    match parts.iter().position(|p| *p == "repos") {
        Some(i) if parts.len() > i + 4 && parts[i + 3] == "deployments" => {
            (Some(parts[i + 2].to_string()), Some(parts[i + 4].to_string()))
        }
        _ => (None, None),
    }
}

pub fn github_deployment(v: &Value) -> Result<Fields, String> {
    // A webhook payload wraps the status; an API array element is the status itself.
    let (status, deployment) = match v.get("deployment_status") {
        Some(s) => (s, v.get("deployment")),
        None => (v, None),
    };
    let state = status.get("state").and_then(Value::as_str).ok_or("no `state`")?;
    let mut f = Fields::new();
    push(&mut f, "ts", text(status.get("created_at")).or_else(|| text(status.get("updated_at"))));
    f.push(("status".into(), github_state(state)?.to_string()));
    f.push(("github_state".into(), state.to_string()));
    let (url_repo, url_id) = text(status.get("deployment_url")).map_or((None, None), |u| repo_and_id(&u));
    push(&mut f, "deploy_id", deployment.and_then(|d| text(d.get("id"))).or(url_id));
    push(&mut f, "service", text(at(v, &["repository", "name"])).or(url_repo));
    push(
        &mut f,
        "environment",
        text(status.get("environment")).or_else(|| deployment.and_then(|d| text(d.get("environment")))),
    );
    push(&mut f, "version", deployment.and_then(|d| text(d.get("ref"))));
    push(&mut f, "commit", deployment.and_then(|d| text(d.get("sha"))));
    push(&mut f, "actor", text(at(status, &["creator", "login"])));
    push(&mut f, "description", text(status.get("description")));
    push(&mut f, "status_id", text(status.get("id")));
    push(&mut f, "log_url", text(status.get("log_url")).or_else(|| text(status.get("target_url"))));
    push(&mut f, "environment_url", text(status.get("environment_url")));
    Ok(f)
}

/// `proj/default:env/production:flag/new-checkout` → (`production`, `new-checkout`).
fn ld_resource(resource: &str) -> (Option<String>, Option<String>) {
    let mut env = None;
    let mut flag = None;
    for part in resource.split(':') {
        let part = part.split(';').next().unwrap_or(part);
        if let Some(e) = part.strip_prefix("env/") {
            env = Some(e.to_string());
        } else if let Some(k) = part.strip_prefix("flag/") {
            flag = Some(k.to_string());
        }
    }
    (env, flag)
}

pub fn launchdarkly_audit(v: &Value) -> Result<Fields, String> {
    let mut f = Fields::new();
    push(&mut f, "ts", text(v.get("date")));
    push(&mut f, "change_id", text(v.get("_id")));
    f.push(("system".into(), "launchdarkly".into()));
    let resource = v
        .get("accesses")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| text(a.get("resource")))
        .or_else(|| at(v, &["target", "resources"]).and_then(Value::as_array).and_then(|r| text(r.first())));
    let (env, flag) = resource.as_deref().map_or((None, None), ld_resource);
    push(&mut f, "key", flag.or_else(|| text(v.get("name"))));
    push(&mut f, "scope", env);
    push(&mut f, "actor", text(at(v, &["member", "email"])).or_else(|| text(at(v, &["token", "name"]))));
    push(&mut f, "description", text(v.get("title")).or_else(|| text(v.get("shortDescription"))));
    let action =
        v.get("accesses").and_then(Value::as_array).and_then(|a| a.first()).and_then(|a| text(a.get("action")));
    let verb = text(v.get("titleVerb")).unwrap_or_default();
    // The on/off toggle is the change post-mortems care about most; name its new state.
    if verb.contains("turned on") {
        f.push(("new_value".into(), "on".into()));
        f.push(("old_value".into(), "off".into()));
    } else if verb.contains("turned off") {
        f.push(("new_value".into(), "off".into()));
        f.push(("old_value".into(), "on".into()));
    }
    push(&mut f, "action", action);
    push(&mut f, "flag_name", text(v.get("name")));
    push(&mut f, "kind", text(v.get("kind")));
    push(&mut f, "comment", text(v.get("comment")));
    Ok(f)
}

pub fn k8s_event(v: &Value) -> Result<Fields, String> {
    if v.get("involvedObject").is_none() && v.get("regarding").is_none() {
        return Err("not a Kubernetes Event (no involvedObject)".into());
    }
    let object = v.get("involvedObject").or_else(|| v.get("regarding")).unwrap_or(&Value::Null);
    let mut f = Fields::new();
    // lastTimestamp is when the (possibly repeated) event last happened; eventTime is set by newer clients.
    push(
        &mut f,
        "ts",
        text(v.get("lastTimestamp"))
            .or_else(|| text(v.get("eventTime")))
            .or_else(|| text(v.get("firstTimestamp")))
            .or_else(|| text(at(v, &["metadata", "creationTimestamp"]))),
    );
    push(&mut f, "change_id", text(at(v, &["metadata", "uid"])).or_else(|| text(at(v, &["metadata", "name"]))));
    f.push(("system".into(), "kubernetes".into()));
    let kind = text(object.get("kind")).unwrap_or_default();
    let name = text(object.get("name")).unwrap_or_default();
    f.push(("key".into(), format!("{kind}/{name}")));
    push(&mut f, "scope", text(object.get("namespace")));
    push(
        &mut f,
        "actor",
        text(at(v, &["source", "component"]))
            .or_else(|| text(v.get("reportingComponent")))
            .or_else(|| text(v.get("reportingController"))),
    );
    push(&mut f, "description", text(v.get("message")).or_else(|| text(v.get("note"))));
    push(&mut f, "reason", text(v.get("reason")));
    push(&mut f, "type", text(v.get("type")));
    push(&mut f, "count", text(v.get("count")));
    push(&mut f, "node", text(at(v, &["source", "host"])));
    Ok(f)
}

/// An OTLP `AnyValue` (`{"stringValue": "x"}`, `{"intValue": "3"}`, …) as text.
fn any_value(v: &Value) -> Option<String> {
    let obj = v.as_object()?;
    let (kind, inner) = obj.iter().next()?;
    match kind.as_str() {
        "stringValue" => inner.as_str().map(str::to_string),
        "intValue" | "doubleValue" | "boolValue" => text(Some(inner)),
        _ => Some(inner.to_string()),
    }
}

/// OTLP attributes (`[{"key": "k", "value": {…}}]`) → fields, in order.
fn otlp_attributes(list: Option<&Value>, fields: &mut Fields) {
    for kv in list.and_then(Value::as_array).into_iter().flatten() {
        if let (Some(k), Some(v)) = (kv.get("key").and_then(Value::as_str), kv.get("value").and_then(any_value)) {
            fields.push((k.to_string(), v));
        }
    }
}

/// OTLP severity numbers (1–24) → levels, for records without `severityText`.
fn otlp_severity(n: i64) -> Option<&'static str> {
    Some(match n {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ => return None,
    })
}

/// One `resourceLogs` element → one record per log record, with the resource's
/// attributes on each. The resource's `service.name` and `host.name` *are* the record's
/// `service` and `host`: they come first, so a record attribute of the same name stays in
/// `attributes` instead of overriding where the record came from.
pub fn otlp_resource_logs(v: &Value) -> Result<Vec<Fields>, String> {
    let mut resource = Fields::new();
    otlp_attributes(at(v, &["resource", "attributes"]), &mut resource);
    let identity: Fields = [("service.name", "service"), ("host.name", "host")]
        .into_iter()
        .filter_map(|(attr, column)| {
            resource.iter().find(|(k, _)| k == attr).map(|(_, v)| (column.to_string(), v.clone()))
        })
        .collect();
    let mut out = Vec::new();
    let scopes = v.get("scopeLogs").or_else(|| v.get("instrumentationLibraryLogs"));
    for scope in scopes.and_then(Value::as_array).into_iter().flatten() {
        let scope_name = text(at(scope, &["scope", "name"]));
        let records = scope.get("logRecords").or_else(|| scope.get("logs"));
        for r in records.and_then(Value::as_array).into_iter().flatten() {
            let mut f = identity.clone();
            // timeUnixNano is 0 when the source did not know; the Collector's observed time is next best.
            let time =
                [r.get("timeUnixNano"), r.get("observedTimeUnixNano")].into_iter().filter_map(text).find(|t| t != "0");
            push(&mut f, "ts", time);
            let level = text(r.get("severityText")).or_else(|| {
                r.get("severityNumber").and_then(Value::as_i64).and_then(otlp_severity).map(str::to_string)
            });
            push(&mut f, "level", level);
            push(&mut f, "msg", r.get("body").and_then(any_value));
            push(&mut f, "trace_id", text(r.get("traceId")));
            push(&mut f, "span_id", text(r.get("spanId")));
            otlp_attributes(r.get("attributes"), &mut f);
            // The identity attributes are already `service` and `host`, above.
            f.extend(resource.iter().filter(|(k, _)| k != "service.name" && k != "host.name").cloned());
            push(&mut f, "scope", scope_name.clone());
            out.push(f);
        }
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
    fn github_api_status_and_webhook() {
        let api: Value = serde_json::from_str(
            r#"{"id":1,"state":"success","creator":{"login":"octocat"},"description":"Deployment finished",
                "environment":"production","created_at":"2026-11-19T14:05:00Z",
                "deployment_url":"https://api.github.com/repos/acme/payments/deployments/42"}"#,
        )
        .unwrap();
        let f = github_deployment(&api).unwrap();
        assert_eq!(
            (get(&f, "deploy_id"), get(&f, "service"), get(&f, "status"), get(&f, "actor")),
            (Some("42"), Some("payments"), Some("succeeded"), Some("octocat"))
        );
        let hook: Value = serde_json::from_str(
            r#"{"action":"created","deployment_status":{"state":"in_progress","created_at":"2026-11-19T14:01:00Z"},
                "deployment":{"id":42,"sha":"abc123","ref":"v2.4.1","environment":"production"},
                "repository":{"name":"payments"}}"#,
        )
        .unwrap();
        let f = github_deployment(&hook).unwrap();
        assert_eq!(
            (get(&f, "deploy_id"), get(&f, "version"), get(&f, "commit"), get(&f, "status"), get(&f, "environment")),
            (Some("42"), Some("v2.4.1"), Some("abc123"), Some("progress"), Some("production"))
        );
        let inactive: Value = serde_json::from_str(r#"{"state":"inactive"}"#).unwrap();
        assert!(github_deployment(&inactive).unwrap_err().contains("superseded"));
    }

    #[test]
    fn launchdarkly_flag_toggle() {
        let v: Value = serde_json::from_str(
            r#"{"_id":"6543","date":1795096920000,"kind":"flag","name":"New checkout","titleVerb":"turned on the flag",
                "title":"Ann turned on the flag New checkout in Production","member":{"email":"ann@acme.io"},
                "accesses":[{"action":"updateOn","resource":"proj/default:env/production:flag/new-checkout"}]}"#,
        )
        .unwrap();
        let f = launchdarkly_audit(&v).unwrap();
        assert_eq!(
            (get(&f, "key"), get(&f, "scope"), get(&f, "new_value"), get(&f, "actor"), get(&f, "action")),
            (Some("new-checkout"), Some("production"), Some("on"), Some("ann@acme.io"), Some("updateOn"))
        );
    }

    #[test]
    fn otlp_logs() {
        let v: Value = serde_json::from_str(
            r#"{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}},
                {"key":"host.name","value":{"stringValue":"pay-1"}}]},
                "scopeLogs":[{"scope":{"name":"pool"},"logRecords":[
                  {"timeUnixNano":"1795096920000000000","severityNumber":17,"body":{"stringValue":"pool exhausted"},
                   "traceId":"abc","attributes":[{"key":"pool.size","value":{"intValue":"20"}}]},
                  {"timeUnixNano":"0","observedTimeUnixNano":"1795096921000000000","severityText":"WARN","body":{"stringValue":"slow"}}]}]}"#,
        )
        .unwrap();
        let rows = otlp_resource_logs(&v).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (get(&rows[0], "ts"), get(&rows[0], "level"), get(&rows[0], "service"), get(&rows[0], "pool.size")),
            (Some("1795096920000000000"), Some("error"), Some("payments"), Some("20"))
        );
        assert_eq!((get(&rows[1], "ts"), get(&rows[1], "level")), (Some("1795096921000000000"), Some("WARN")));
        assert_eq!((rows[0][0].1.as_str(), rows[0][1].1.as_str()), ("payments", "pay-1"), "{:?}", rows[0]);
    }

    /// The resource says where a record came from; a record attribute of the same name
    /// does not override it (issue 19), it lands in `attributes`.
    #[test]
    fn otlp_resource_identity_wins_over_record_attributes() {
        let v: Value = serde_json::from_str(
            r#"{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}},
                {"key":"host.name","value":{"stringValue":"pay-1"}}]},
                "scopeLogs":[{"logRecords":[{"timeUnixNano":"1795096920000000000","body":{"stringValue":"x"},
                  "attributes":[{"key":"service","value":{"stringValue":"upstream-cart"}},
                                {"key":"host","value":{"stringValue":"10.0.0.9"}}]}]}]}"#,
        )
        .unwrap();
        let rows = otlp_resource_logs(&v).unwrap();
        let spec = crate::ingest::kinds::spec(crate::tables::Kind::Logs);
        let asm = crate::ingest::record::Assembler::new(
            spec,
            crate::ingest::time::TimeParser::new(chrono_tz::Tz::UTC),
            Default::default(),
        );
        let row = asm
            .assemble(rows[0].iter().map(|(k, v)| (k.as_str(), crate::ingest::record::Value::Str(v.into()))))
            .unwrap();
        let cols: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        let cell = |name: &str| format!("{:?}", row.cells[cols.iter().position(|c| *c == name).unwrap()]);
        assert!(cell("service").contains("payments") && cell("host").contains("pay-1"), "{row:?}");
        assert!(row.extras.iter().any(|(k, v)| k == "service" && v == "upstream-cart"), "{row:?}");
    }

    #[test]
    fn kubernetes_event() {
        let v: Value = serde_json::from_str(
            r#"{"metadata":{"name":"payments.1","namespace":"prod","uid":"u-1"},"reason":"ScalingReplicaSet",
                "message":"Scaled up replica set payments-7d9 to 3","type":"Normal","count":1,
                "involvedObject":{"kind":"Deployment","name":"payments","namespace":"prod"},
                "source":{"component":"deployment-controller"},"lastTimestamp":"2026-11-19T14:02:00Z"}"#,
        )
        .unwrap();
        let f = k8s_event(&v).unwrap();
        assert_eq!(
            (get(&f, "key"), get(&f, "scope"), get(&f, "actor"), get(&f, "reason")),
            (Some("Deployment/payments"), Some("prod"), Some("deployment-controller"), Some("ScalingReplicaSet"))
        );
    }
}
