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

/// Every field of `v` that the mapper did not take (`taken`: top-level keys or dotted
/// paths), flattened to dotted names, so that nothing a tool exported is dropped. Objects
/// below `depth` 2 are kept as JSON text (a GitHub `repository.owner`), like arrays.
fn keep_rest(fields: &mut Fields, v: &Value, taken: &[&str]) {
    fn walk(fields: &mut Fields, v: &Value, path: &str, depth: usize, taken: &[&str]) {
        if taken.contains(&path) || fields.iter().any(|(k, _)| k == path) {
            return;
        }
        match v {
            Value::Object(map) if depth < 2 => {
                for (k, child) in map {
                    let child_path = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(fields, child, &child_path, depth + 1, taken);
                }
            }
            Value::Object(map) if map.is_empty() => {}
            Value::Array(a) if a.is_empty() => {}
            other => push(fields, path, text(Some(other))),
        }
    }
    walk(fields, v, "", 0, taken);
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
    let status_taken = [
        "state",
        "created_at",
        "deployment_url",
        "environment",
        "creator.login",
        "description",
        "id",
        "log_url",
        "target_url",
        "environment_url",
    ];
    match deployment {
        // A webhook: the status's fields, then the deployment's and the rest of the
        // payload (repository, sender) under their own names.
        Some(d) => {
            let mut status_fields = Fields::new();
            keep_rest(&mut status_fields, status, &status_taken);
            f.extend(status_fields.into_iter().map(|(k, v)| (format!("deployment_status.{k}"), v)));
            let mut rest = Fields::new();
            keep_rest(&mut rest, d, &["id", "ref", "sha", "environment"]);
            f.extend(rest.into_iter().map(|(k, v)| (format!("deployment.{k}"), v)));
            keep_rest(&mut f, v, &["deployment_status", "deployment", "repository.name"]);
        }
        None => keep_rest(&mut f, status, &status_taken),
    }
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
    // An entry may touch several environments (a flag created everywhere, a change
    // copied across): each access or target resource names one; all are kept.
    let accesses =
        v.get("accesses").and_then(Value::as_array).into_iter().flatten().filter_map(|a| text(a.get("resource")));
    let targets =
        at(v, &["target", "resources"]).and_then(Value::as_array).into_iter().flatten().filter_map(|r| text(Some(r)));
    let mut envs: Vec<String> = Vec::new();
    let mut flag = None;
    for resource in accesses.chain(targets) {
        let (env, key) = ld_resource(&resource);
        if let Some(env) = env.filter(|e| !envs.contains(e)) {
            envs.push(env);
        }
        flag = flag.or(key);
    }
    push(&mut f, "key", flag.or_else(|| text(v.get("name"))));
    push(&mut f, "scope", (!envs.is_empty()).then(|| envs.join(",")));
    if envs.len() > 1 {
        f.push(("environments".into(), envs.join(",")));
    }
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
    keep_rest(
        &mut f,
        v,
        &[
            "date",
            "_id",
            "accesses",
            "target",
            "member.email",
            "title",
            "shortDescription",
            "titleVerb",
            "name",
            "kind",
            "comment",
            "_links",
        ],
    );
    Ok(f)
}

/// A Kubernetes Event. `ts` is when it first happened (`firstTimestamp`, else the
/// events.k8s.io `eventTime`, else `lastTimestamp`): a change that began before a breach
/// and repeated into it began before it. `firstTimestamp`, `lastTimestamp` and `count`
/// are kept as attributes; the service is the workload that owns the involved object.
pub fn k8s_event(v: &Value, objects: &K8sObjects) -> Result<Fields, String> {
    if v.get("involvedObject").is_none() && v.get("regarding").is_none() {
        let kind = text(v.get("kind")).unwrap_or_else(|| "an object".into());
        return Err(format!("not a Kubernetes Event ({kind}, no involvedObject)"));
    }
    let object = v.get("involvedObject").or_else(|| v.get("regarding")).unwrap_or(&Value::Null);
    let mut f = Fields::new();
    push(
        &mut f,
        "ts",
        text(v.get("firstTimestamp"))
            .or_else(|| text(v.get("eventTime")))
            .or_else(|| text(v.get("lastTimestamp")))
            .or_else(|| text(at(v, &["metadata", "creationTimestamp"]))),
    );
    push(&mut f, "change_id", text(at(v, &["metadata", "uid"])).or_else(|| text(at(v, &["metadata", "name"]))));
    f.push(("system".into(), "kubernetes".into()));
    let kind = text(object.get("kind")).unwrap_or_default();
    let name = text(object.get("name")).unwrap_or_default();
    let uid = text(object.get("uid"));
    push(&mut f, "service", objects.service(uid.as_deref(), &kind, &name));
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
    push(&mut f, "node", text(at(v, &["source", "host"])));
    keep_rest(
        &mut f,
        v,
        &[
            "metadata.managedFields",
            "metadata.uid",
            "message",
            "note",
            "source.component",
            "source.host",
            "kind",
            "apiVersion",
        ],
    );
    Ok(f)
}

/// The non-Event objects of a Kubernetes list, by uid: what their labels say and who owns
/// them.
#[derive(Debug, Default)]
pub struct K8sObjects {
    by_uid: std::collections::HashMap<String, K8sObject>,
}

#[derive(Debug)]
struct K8sObject {
    kind: String,
    name: String,
    /// `app.kubernetes.io/name`, the recommended label for the application.
    app: Option<String>,
    owner: Option<(String, String, String)>,
}

impl K8sObjects {
    pub fn index(items: &[Value]) -> K8sObjects {
        let mut by_uid = std::collections::HashMap::new();
        for item in items.iter().filter(|i| i.get("involvedObject").is_none() && i.get("regarding").is_none()) {
            let (Some(uid), Some(kind), Some(name)) =
                (text(at(item, &["metadata", "uid"])), text(item.get("kind")), text(at(item, &["metadata", "name"])))
            else {
                continue;
            };
            let owners = at(item, &["metadata", "ownerReferences"]).and_then(Value::as_array);
            let owner = owners
                .and_then(|o| o.iter().find(|r| r.get("controller") == Some(&Value::Bool(true))).or_else(|| o.first()))
                .and_then(|r| Some((text(r.get("uid"))?, text(r.get("kind"))?, text(r.get("name"))?)));
            let app = text(at(item, &["metadata", "labels", "app.kubernetes.io/name"]));
            by_uid.insert(uid, K8sObject { kind, name, app, owner });
        }
        K8sObjects { by_uid }
    }

    /// The service an event's object belongs to: the `app.kubernetes.io/name` label of it
    /// or of an owner up its chain, else the top owner's workload name, else the name.
    fn service(&self, uid: Option<&str>, kind: &str, name: &str) -> Option<String> {
        let (mut kind, mut name) = (kind.to_string(), name.to_string());
        let mut uid = uid.map(str::to_string);
        // Owner chains are short (Pod → ReplicaSet → Deployment); a loop is a broken list.
        for _ in 0..8 {
            let Some(object) = uid.as_ref().and_then(|u| self.by_uid.get(u)) else { break };
            if let Some(app) = &object.app {
                return Some(app.clone());
            }
            (kind, name) = (object.kind.clone(), object.name.clone());
            match &object.owner {
                Some((owner_uid, owner_kind, owner_name)) => {
                    (kind, name) = (owner_kind.clone(), owner_name.clone());
                    uid = Some(owner_uid.clone());
                }
                None => break,
            }
        }
        k8s_workload(&kind, &name)
    }
}

/// The workload a Kubernetes object belongs to, from the names controllers give what they
/// create: Pod `checkout-7d9f8b6c5-x2k4p` → ReplicaSet `checkout-7d9f8b6c5` → Deployment
/// `checkout`; StatefulSet Pod `db-0` → `db`; a CronJob's Job `report-29381040` →
/// `report`. Events carry no labels of the involved object, so its name is the evidence.
pub fn k8s_workload(kind: &str, name: &str) -> Option<String> {
    // The alphabet of generated name suffixes (k8s.io/apimachinery rand.String: no vowels,
    // no 0, 1, 3).
    let generated = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
    };
    let strip = |name: &str, test: &dyn Fn(&str) -> bool| -> Option<String> {
        let (head, tail) = name.rsplit_once('-')?;
        (test(tail) && !head.is_empty()).then(|| head.to_string())
    };
    let hash = |s: &str| generated(s, 6..=10);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if name.is_empty() {
        return None;
    }
    match kind {
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "Service"
        | "CronJob"
        | "HorizontalPodAutoscaler"
        | "PodDisruptionBudget"
        | "Ingress"
        | "ConfigMap" => Some(name.to_string()),
        "ReplicaSet" => Some(strip(name, &hash).unwrap_or_else(|| name.to_string())),
        "Job" => Some(strip(name, &|s| digits(s) && s.len() >= 8).unwrap_or_else(|| name.to_string())),
        "Pod" => {
            // ReplicaSet or DaemonSet/Job pod: `<owner>-<5>`; StatefulSet pod: `<owner>-<n>`.
            if let Some(owner) = strip(name, &|s| generated(s, 5..=5)) {
                return Some(
                    strip(&owner, &hash).or_else(|| strip(&owner, &|s| digits(s) && s.len() >= 8)).unwrap_or(owner),
                );
            }
            strip(name, &digits).or_else(|| Some(name.to_string()))
        }
        _ => None,
    }
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

/// Why an OTLP document read as `kind` holds none of it (a metrics export under a logs
/// source, traces anywhere): said, rather than 0 rows and exit 0.
pub fn otlp_other_signal(doc: &Value, kind: crate::tables::Kind) -> Option<String> {
    use crate::tables::Kind;
    let wanted = match kind {
        Kind::Metrics => "resourceMetrics",
        _ => "resourceLogs",
    };
    let found = ["resourceLogs", "resourceMetrics", "resourceSpans"]
        .into_iter()
        .find(|k| *k != wanted && doc.get(*k).is_some())?;
    Some(match found {
        "resourceSpans" => "an OTLP traces export (`resourceSpans`): retrace reads OTLP logs and metrics".to_string(),
        "resourceMetrics" => "an OTLP metrics export (`resourceMetrics`): read it with kind = \"metrics\"".to_string(),
        _ => "an OTLP logs export (`resourceLogs`): read it with kind = \"logs\"".to_string(),
    })
}

/// One `resourceMetrics` element → one row per sample, as Prometheus's OTLP receiver
/// would store them: a `gauge` or `sum` data point is one sample; a `histogram` is
/// `<name>_bucket` samples with a cumulative `le` (so `histogram_quantile` works),
/// `<name>_count` and `<name>_sum`; an `exponentialHistogram` the same, its positive
/// buckets' upper bounds as `le`; a `summary` one sample per `quantile` plus `_count` and
/// `_sum`. Resource attributes and the data point's attributes are labels; the resource's
/// `service.name` is the service. A delta sum is labelled `temporality="delta"`: its
/// values are increments, not a counter. A point flagged "no recorded value" is no sample.
pub fn otlp_resource_metrics(v: &Value) -> Result<Vec<Fields>, String> {
    let mut resource = Fields::new();
    otlp_attributes(at(v, &["resource", "attributes"]), &mut resource);
    let mut common: Fields = resource
        .iter()
        .find(|(k, _)| k == "service.name")
        .map(|(_, v)| ("service".to_string(), v.clone()))
        .into_iter()
        .collect();
    common.extend(resource.iter().filter(|(k, _)| k != "service.name").cloned());
    let mut out = Vec::new();
    let scopes = v.get("scopeMetrics").or_else(|| v.get("instrumentationLibraryMetrics"));
    for scope in scopes.and_then(Value::as_array).into_iter().flatten() {
        let mut labels = common.clone();
        push(&mut labels, "otel_scope_name", text(at(scope, &["scope", "name"])).filter(|s| !s.is_empty()));
        for metric in scope.get("metrics").and_then(Value::as_array).into_iter().flatten() {
            let name = text(metric.get("name")).ok_or("a metric without a `name`")?;
            let (kind, body) = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"]
                .into_iter()
                .find_map(|k| metric.get(k).map(|b| (k, b)))
                .ok_or_else(|| {
                    format!("metric `{name}` has no gauge, sum, histogram, exponentialHistogram or summary")
                })?;
            let delta = body.get("aggregationTemporality").and_then(Value::as_i64) == Some(1);
            for point in body.get("dataPoints").and_then(Value::as_array).into_iter().flatten() {
                // Flag 1 (FLAG_NO_RECORDED_VALUE) marks a stale series, not a sample.
                if point.get("flags").and_then(Value::as_u64).is_some_and(|f| f & 1 == 1) {
                    continue;
                }
                let mut base = labels.clone();
                otlp_attributes(point.get("attributes"), &mut base);
                if delta && kind != "gauge" {
                    base.push(("temporality".into(), "delta".into()));
                }
                let ts = text(point.get("timeUnixNano"));
                let sample = |metric: String, value: Option<String>, extra: Option<(&str, String)>| {
                    let mut f: Fields = vec![("metric".into(), metric)];
                    push(&mut f, "ts", ts.clone());
                    push(&mut f, "value", value);
                    f.extend(extra.map(|(k, v)| (k.to_string(), v)));
                    f.extend(base.iter().cloned());
                    f
                };
                let number = |v: Option<&Value>| text(v).or_else(|| v.and_then(Value::as_f64).map(|f| f.to_string()));
                match kind {
                    "gauge" | "sum" => {
                        out.push(sample(
                            name.clone(),
                            number(point.get("asDouble")).or_else(|| number(point.get("asInt"))),
                            None,
                        ));
                    }
                    "summary" => {
                        for q in point.get("quantileValues").and_then(Value::as_array).into_iter().flatten() {
                            // Omitted fields are zero in proto3 JSON.
                            let quantile = number(q.get("quantile")).unwrap_or_else(|| "0".into());
                            let value = number(q.get("value")).unwrap_or_else(|| "0".into());
                            out.push(sample(name.clone(), Some(value), Some(("quantile", quantile))));
                        }
                    }
                    _ => {
                        for (le, count) in otlp_buckets(kind, point)? {
                            out.push(sample(format!("{name}_bucket"), Some(count.to_string()), Some(("le", le))));
                        }
                    }
                }
                if matches!(kind, "histogram" | "exponentialHistogram" | "summary") {
                    out.push(sample(
                        format!("{name}_count"),
                        Some(number(point.get("count")).unwrap_or_else(|| "0".into())),
                        None,
                    ));
                    if let Some(sum) = number(point.get("sum")) {
                        out.push(sample(format!("{name}_sum"), Some(sum), None));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A histogram point's buckets as cumulative counts by upper bound (`le`), ending with
/// `+Inf` = the point's count.
fn otlp_buckets(kind: &str, point: &Value) -> Result<Vec<(String, u64)>, String> {
    let count_of = |v: &Value| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
    let total = point.get("count").and_then(count_of).unwrap_or(0);
    let mut out = Vec::new();
    let mut running = 0u64;
    if kind == "histogram" {
        let bounds: Vec<f64> = point
            .get("explicitBounds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        let counts: Vec<u64> =
            point.get("bucketCounts").and_then(Value::as_array).into_iter().flatten().filter_map(count_of).collect();
        if !counts.is_empty() && counts.len() != bounds.len() + 1 {
            return Err(format!(
                "{} bucket counts for {} bounds (expected one more count than bounds)",
                counts.len(),
                bounds.len()
            ));
        }
        for (bound, count) in bounds.iter().zip(&counts) {
            running += count;
            out.push((bound.to_string(), running));
        }
    } else {
        // Base 2^(2^-scale); positive bucket i holds (base^i, base^(i+1)]. Negative
        // buckets sit below zero, with the zero bucket: all of them are under le=0.
        let scale = point.get("scale").and_then(Value::as_i64).unwrap_or(0);
        let base = 2f64.powf(2f64.powi(-scale as i32));
        let negative: u64 = at(point, &["negative", "bucketCounts"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(count_of)
            .sum();
        running = negative + point.get("zeroCount").and_then(count_of).unwrap_or(0);
        out.push(("0".to_string(), running));
        let offset = at(point, &["positive", "offset"]).and_then(Value::as_i64).unwrap_or(0);
        let counts = at(point, &["positive", "bucketCounts"]).and_then(Value::as_array).into_iter().flatten();
        for (i, count) in counts.filter_map(count_of).enumerate() {
            running += count;
            out.push((base.powi((offset + i as i64 + 1) as i32).to_string(), running));
        }
    }
    out.push(("+Inf".to_string(), total.max(running)));
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
        let f = k8s_event(&v, &K8sObjects::default()).unwrap();
        assert_eq!(
            (get(&f, "key"), get(&f, "scope"), get(&f, "actor"), get(&f, "reason"), get(&f, "service")),
            (
                Some("Deployment/payments"),
                Some("prod"),
                Some("deployment-controller"),
                Some("ScalingReplicaSet"),
                Some("payments")
            )
        );
    }

    #[test]
    fn kubernetes_workloads_from_labels_owners_and_names() {
        let objects: Vec<Value> = serde_json::from_str(
            r#"[{"kind":"Deployment","metadata":{"uid":"d1","name":"pay-api","labels":{"app.kubernetes.io/name":"payments"}}},
                {"kind":"ReplicaSet","metadata":{"uid":"r1","name":"pay-api-7d9f8b6c5",
                  "ownerReferences":[{"uid":"d1","kind":"Deployment","name":"pay-api","controller":true}]}},
                {"kind":"Pod","metadata":{"uid":"p1","name":"pay-api-7d9f8b6c5-x2k4p",
                  "ownerReferences":[{"uid":"r1","kind":"ReplicaSet","name":"pay-api-7d9f8b6c5","controller":true}]}},
                {"kind":"Pod","metadata":{"uid":"p2","name":"cart-5c6d7f8g9h-abcde",
                  "ownerReferences":[{"uid":"r9","kind":"ReplicaSet","name":"cart-5c6d7f8g9h","controller":true}]}}]"#,
        )
        .unwrap();
        let index = K8sObjects::index(&objects);
        // The label on the owning Deployment wins over every name on the way.
        assert_eq!(index.service(Some("p1"), "Pod", "pay-api-7d9f8b6c5-x2k4p"), Some("payments".into()));
        // An owner not in the list: its name, as a workload.
        assert_eq!(index.service(Some("p2"), "Pod", "cart-5c6d7f8g9h-abcde"), Some("cart".into()));
        // Not in the list at all: names alone.
        assert_eq!(index.service(None, "Pod", "db-0"), Some("db".into()));
        assert_eq!(index.service(None, "Job", "report-29381040"), Some("report".into()));
        assert_eq!(index.service(None, "Node", "ip-10-0-0-1"), None);
    }
}
