//! SLO documents as SLO tools ship them (`slo_documents = ["slos/*.yaml"]`, or the older
//! `openslo = […]`, in `retrace.toml`), recognised by `apiVersion`/`kind` (Sloth's own
//! spec by `version`):
//!
//! - **OpenSLO** `openslo/v1` (`SLO`, `SLI`, `DataSource`, `Service`) and `openslo/v1alpha`
//!   (`SLO` with `objectives[].ratioMetrics`);
//! - **Sloth** `version: prometheus/v1` specs and `sloth.slok.dev/v1`
//!   `PrometheusServiceLevel` resources (`events` and `raw` SLIs);
//! - **Pyrra** `pyrra.dev/v1alpha1` `ServiceLevelObjective` (`ratio`, `latency`,
//!   `bool_gauge`).
//!
//! A file may hold several documents (`---`), or a YAML list of them, as the OpenSLO tools
//! write. Queries are PromQL (checked against the evaluated subset, see
//! `config::promql`); a series selector on its own is a counter whose increases retrace
//! computes. Sloth's `{{.window}}` becomes `5m`, the window of its shortest recording rule;
//! Pyrra's rules use the shortest burn-rate window of the SLO's window.
//!
//! An SLO whose metric source is not Prometheus (Datadog, CloudWatch, …), or that needs
//! what retrace cannot evaluate (a Sloth SLI plugin, native histograms), is refused by a
//! message naming what it is and left out; anything malformed fails the load with the
//! document and field named, never half-imported.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

use super::promql::Query;
use super::selector::Selector;
use super::{Sli, Slo};

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    match get(v, path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What the documents define: the SLOs retrace evaluates, and why the others are not.
#[derive(Debug, Default)]
pub struct Loaded {
    pub slos: Vec<Slo>,
    /// One message per SLO left out, naming it and its source type or construct.
    pub refused: Vec<String>,
}

/// Why an SLO is not imported: it is of a kind retrace does not evaluate (left out, said),
/// or it is malformed (the load fails).
enum Refusal {
    Unsupported(String),
    Invalid(String),
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal::Invalid(message)
    }
}

type Outcome<T> = Result<T, Refusal>;

/// Reads every SLO of the documents in `files`.
pub fn load(files: &[std::path::PathBuf]) -> Result<Loaded, String> {
    let mut docs = Vec::new();
    for file in files {
        let content = std::fs::read_to_string(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(&content).enumerate() {
            use serde::Deserialize;
            let value = Value::deserialize(doc).map_err(|e| format!("{}: document {}: {e}", file.display(), i + 1))?;
            match value {
                Value::Null => {}
                // A YAML list of documents, as the OpenSLO tools read and write them.
                Value::Sequence(items) => {
                    for (j, item) in items.into_iter().enumerate() {
                        docs.push((format!("{} document {} item {}", file.display(), i + 1, j + 1), item));
                    }
                }
                other => docs.push((format!("{} document {}", file.display(), i + 1), other)),
            }
        }
    }
    let named = |kind: &str| -> BTreeMap<String, &Value> {
        docs.iter()
            .filter(|(_, d)| text(d, &["apiVersion"]).is_some_and(|a| a.starts_with("openslo")))
            .filter(|(_, d)| text(d, &["kind"]).as_deref() == Some(kind))
            .filter_map(|(_, d)| Some((text(d, &["metadata", "name"])?, d)))
            .collect()
    };
    let refs = Refs { slis: named("SLI"), sources: named("DataSource") };
    let mut loaded = Loaded::default();
    for (at, doc) in &docs {
        let api = text(doc, &["apiVersion"]).unwrap_or_default();
        let kind = text(doc, &["kind"]).unwrap_or_default();
        let outcome: Outcome<Vec<Slo>> = if text(doc, &["version"]).as_deref() == Some("prometheus/v1") {
            sloth(at, doc, &mut loaded.refused)
        } else if api == "sloth.slok.dev/v1" && kind == "PrometheusServiceLevel" {
            get(doc, &["spec"])
                .ok_or_else(|| Refusal::Invalid(format!("{at}: spec is missing")))
                .and_then(|s| sloth(at, s, &mut loaded.refused))
        } else if api.starts_with("pyrra.dev/") && kind == "ServiceLevelObjective" {
            pyrra(at, doc).map(|s| vec![s])
        } else if api == "openslo/v1" || api == "openslo.com/v2alpha" {
            match kind.as_str() {
                "SLO" => openslo_v1(at, doc, &refs).map(|s| vec![s]),
                "SLI" | "Service" | "DataSource" | "AlertPolicy" | "AlertCondition" | "AlertNotificationTarget" => {
                    Ok(vec![])
                }
                other => return Err(format!("{at}: kind `{other}` is not an OpenSLO kind")),
            }
        } else if api == "openslo/v1alpha" {
            match kind.as_str() {
                "SLO" => openslo_v1alpha(at, doc),
                _ => Ok(vec![]),
            }
        } else if api.starts_with("openslo") {
            Err(Refusal::Unsupported(format!(
                "{at}: apiVersion `{api}` is not read (openslo/v1, openslo/v1alpha and openslo.com/v2alpha are)"
            )))
        } else {
            return Err(format!(
                "{at}: not an SLO document (apiVersion `{api}`, kind `{kind}`); retrace reads OpenSLO, Sloth and Pyrra documents"
            ));
        };
        match outcome {
            Ok(slos) => {
                for s in slos {
                    if loaded.slos.iter().any(|o: &Slo| o.name == s.name) {
                        return Err(format!("{at}: SLO `{}` is defined twice", s.name));
                    }
                    loaded.slos.push(s);
                }
            }
            Err(Refusal::Unsupported(m)) => loaded.refused.push(m),
            Err(Refusal::Invalid(m)) => return Err(m),
        }
    }
    Ok(loaded)
}

/// OpenSLO documents an SLO may refer to by name.
struct Refs<'a> {
    slis: BTreeMap<String, &'a Value>,
    sources: BTreeMap<String, &'a Value>,
}

/// Sloth renders `{{.window}}` per recording rule; the shortest is 5m.
fn window(query: &str) -> String {
    let mut q = query.trim().to_string();
    for tpl in ["{{.window}}", "{{ .window }}", "{{.Window}}"] {
        q = q.replace(tpl, "5m");
    }
    q
}

/// A metric query: a bare series selector (a counter retrace takes increases of) or PromQL.
enum Metric {
    Selector(String),
    PromQl(String),
}

fn metric(at: &str, field: &str, query: &str) -> Outcome<Metric> {
    let q = window(query);
    if Selector::parse(&q).is_ok() {
        return Ok(Metric::Selector(q));
    }
    Query::parse(&q).map_err(|e| Refusal::Invalid(format!("{at}: {field}: {e}")))?;
    Ok(Metric::PromQl(q))
}

fn not_prometheus(at: &str, field: &str, kind: &str) -> Refusal {
    let kind = if kind.is_empty() { "no type" } else { kind };
    Refusal::Unsupported(format!("{at}: {field}: metric source `{kind}` is not Prometheus, the one retrace evaluates"))
}

/// `good`/`bad` and `total` as an SLI: selectors keep retrace's own counter arithmetic;
/// PromQL on either side makes both PromQL (a bare selector is then its value).
fn ratio_sli(bad: Option<Metric>, good: Option<Metric>, total: Metric, counter: bool) -> Sli {
    let text = |m: &Metric| match m {
        Metric::Selector(s) | Metric::PromQl(s) => s.clone(),
    };
    let all_selectors =
        [bad.as_ref(), good.as_ref(), Some(&total)].into_iter().flatten().all(|m| matches!(m, Metric::Selector(_)));
    match (bad, good) {
        (Some(b), _) if all_selectors && counter => Sli::Ratio { bad: text(&b), total: text(&total) },
        (Some(b), _) if all_selectors => Sli::GaugeRatio { bad: text(&b), total: text(&total) },
        (None, Some(g)) if all_selectors => Sli::GoodRatio { good: text(&g), total: text(&total), counter },
        (b, g) => Sli::PromQl { bad: b.as_ref().map(text), good: g.as_ref().map(text), total: text(&total) },
    }
}

fn percent(at: &str, field: &str, v: Option<&Value>) -> Outcome<f64> {
    let p = match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| Refusal::Invalid(format!("{at}: {field} is missing or not a number")))?;
    // 99.9 / 100 is 0.9990000000000001 in binary; the user wrote 0.999.
    let target = (p / 100.0 * 1e12).round() / 1e12;
    if !(target > 0.0 && target < 1.0) {
        return Err(Refusal::Invalid(format!("{at}: {field} must be a percentage between 0 and 100, got {p}")));
    }
    Ok(target)
}

fn duration(at: &str, field: &str, text: Option<String>, default_days: i64) -> Outcome<chrono::Duration> {
    match text {
        Some(d) => super::units::parse_duration(&d).map_err(|e| Refusal::Invalid(format!("{at}: {field}: {e}"))),
        None => Ok(chrono::Duration::days(default_days)),
    }
}

// ---- Sloth ------------------------------------------------------------------------------

/// A Sloth spec (`version: prometheus/v1`, or a `PrometheusServiceLevel`'s `spec`): one SLO
/// per `slos` entry, named `<service>-<name>` as Sloth's `sloth_id`, over Sloth's default
/// 30-day period.
fn sloth(at: &str, spec: &Value, refused: &mut Vec<String>) -> Outcome<Vec<Slo>> {
    let service = text(spec, &["service"]).ok_or_else(|| Refusal::Invalid(format!("{at}: service is missing")))?;
    // SLO plugins that only label, log or schedule rules leave the SLI as written; any
    // other rewrites the rules (a denominator correction), which retrace cannot follow.
    const KEEP_THE_SLI: &[&str] =
        &["sloth.dev/core/debug/v1", "sloth.dev/contrib/info_labels/v1", "sloth.dev/contrib/rule_intervals/v1"];
    let plugin_ids = |v: &Value, keys: &[&str]| -> Vec<String> {
        keys.iter()
            .filter_map(|k| get(v, &[k, "chain"]).and_then(Value::as_sequence))
            .flatten()
            .filter_map(|p| text(p, &["id"]))
            .collect()
    };
    let spec_plugins = plugin_ids(spec, &["slo_plugins", "sloPlugins"]);
    let mut out = Vec::new();
    let slos = get(spec, &["slos"])
        .and_then(Value::as_sequence)
        .ok_or_else(|| Refusal::Invalid(format!("{at}: slos is missing")))?;
    for (i, slo) in slos.iter().enumerate() {
        let one = || -> Outcome<Slo> {
            let name =
                text(slo, &["name"]).ok_or_else(|| Refusal::Invalid(format!("{at}: slos[{i}].name is missing")))?;
            let at = format!("{at} (Sloth SLO {name})");
            let objective = percent(&at, "objective", get(slo, &["objective"]))?;
            let pick = |a: &str, b: &str, v: &Value| text(v, &[a]).or_else(|| text(v, &[b]));
            let sli = if let Some(events) = get(slo, &["sli", "events"]) {
                let bad = pick("error_query", "errorQuery", events)
                    .ok_or_else(|| Refusal::Invalid(format!("{at}: sli.events.errorQuery is missing")))?;
                let total = pick("total_query", "totalQuery", events)
                    .ok_or_else(|| Refusal::Invalid(format!("{at}: sli.events.totalQuery is missing")))?;
                // Sloth's queries are PromQL as written (a bare selector is its value).
                let bad = promql(&at, "sli.events.errorQuery", &bad)?;
                let total = promql(&at, "sli.events.totalQuery", &total)?;
                Sli::PromQl { bad: Some(bad), good: None, total }
            } else if let Some(raw) = get(slo, &["sli", "raw"]) {
                let ratio = pick("error_ratio_query", "errorRatioQuery", raw)
                    .ok_or_else(|| Refusal::Invalid(format!("{at}: sli.raw.errorRatioQuery is missing")))?;
                Sli::PromQlRatio { ratio: promql(&at, "sli.raw.errorRatioQuery", &ratio)? }
            } else if let Some(plugin) = get(slo, &["sli", "plugin"]) {
                let id = text(plugin, &["id"]).unwrap_or_default();
                return Err(Refusal::Unsupported(format!(
                    "{at}: sli.plugin `{id}` builds its query in Go code retrace cannot run; write its query as sli.events or sli.raw"
                )));
            } else {
                return Err(Refusal::Invalid(format!("{at}: sli needs events, raw or plugin")));
            };
            // After the queries: MetricsQL is said as such, whatever validates it.
            let mut plugins = spec_plugins.clone();
            plugins.extend(plugin_ids(slo, &["plugins"]));
            if let Some(id) = plugins.iter().find(|id| !KEEP_THE_SLI.contains(&id.as_str())) {
                return Err(Refusal::Unsupported(format!(
                    "{at}: SLO plugin `{id}` rewrites the SLI rules in Go code retrace cannot run"
                )));
            }
            Ok(Slo {
                name: format!("{service}-{name}"),
                service: service.clone(),
                objective,
                period: chrono::Duration::days(30),
                sli,
            })
        };
        match one() {
            Ok(s) => out.push(s),
            // One SLO of the spec is left out; the others are read.
            Err(Refusal::Unsupported(m)) => refused.push(m),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn promql(at: &str, field: &str, query: &str) -> Outcome<String> {
    let q = window(query);
    Query::parse(&q).map_err(|e| {
        // A function Prometheus does not have: another dialect (VictoriaMetrics' MetricsQL
        // `histogram_share`), not a typo in PromQL.
        if e.contains("unknown function") {
            Refusal::Unsupported(format!(
                "{at}: {field}: {e}: not PromQL (MetricsQL or another dialect), which retrace does not evaluate"
            ))
        } else {
            Refusal::Invalid(format!("{at}: {field}: {e}"))
        }
    })?;
    Ok(q)
}

// ---- Pyrra ------------------------------------------------------------------------------

/// Pyrra's shortest burn-rate window for an SLO window (slo/rules.go `Windows`).
fn pyrra_window(window: chrono::Duration) -> &'static str {
    match window.num_days() {
        7 => "1m",
        14 => "3m",
        _ => "5m",
    }
}

/// A Pyrra `ServiceLevelObjective`: the SLI its recording rules compute, summed over its
/// `grouping` (one SLO, not one per group). The service is the total selector's `service`
/// or `job` label, else the resource's name.
fn pyrra(at: &str, doc: &Value) -> Outcome<Slo> {
    let name =
        text(doc, &["metadata", "name"]).ok_or_else(|| Refusal::Invalid(format!("{at}: metadata.name is missing")))?;
    let at = format!("{at} (Pyrra SLO {name})");
    let objective = percent(&at, "spec.target", get(doc, &["spec", "target"]))?;
    let period = duration(&at, "spec.window", text(doc, &["spec", "window"]), 28)?;
    let w = pyrra_window(period);
    let indicator =
        get(doc, &["spec", "indicator"]).ok_or_else(|| Refusal::Invalid(format!("{at}: spec.indicator is missing")))?;
    let selector = |part: &[&str]| -> Outcome<String> {
        let field = format!("spec.indicator.{}.metric", part.join("."));
        let mut path = part.to_vec();
        path.push("metric");
        let q = text(indicator, &path).ok_or_else(|| Refusal::Invalid(format!("{at}: {field} is missing")))?;
        // Pyrra requires a plain selector here, as it generates the rest.
        Query::parse(&q).map_err(|e| Refusal::Invalid(format!("{at}: {field}: {e}")))?;
        if !q.contains('{') && !q.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            return Err(Refusal::Invalid(format!("{at}: {field}: Pyrra takes a series selector, got `{q}`")));
        }
        Ok(q)
    };
    let rate = |sel: &str| format!("sum(rate({sel}[{w}]))");
    let (sli, total) = if get(indicator, &["ratio"]).is_some() {
        let (errors, total) = (selector(&["ratio", "errors"])?, selector(&["ratio", "total"])?);
        (Sli::PromQl { bad: Some(rate(&errors)), good: None, total: rate(&total) }, total)
    } else if get(indicator, &["latency"]).is_some() {
        let (success, total) = (selector(&["latency", "success"])?, selector(&["latency", "total"])?);
        (Sli::PromQl { bad: None, good: Some(rate(&success)), total: rate(&total) }, total)
    } else if get(indicator, &["bool_gauge"]).is_some() {
        let m = selector(&["bool_gauge"])?;
        let good = format!("sum(sum_over_time({m}[{w}]))");
        (Sli::PromQl { bad: None, good: Some(good), total: format!("sum(count_over_time({m}[{w}]))") }, m)
    } else if get(indicator, &["latencyNative"]).is_some() {
        return Err(Refusal::Unsupported(format!(
            "{at}: spec.indicator.latencyNative reads native histograms, which retrace does not store"
        )));
    } else {
        return Err(Refusal::Invalid(format!("{at}: spec.indicator needs ratio, latency or bool_gauge")));
    };
    let label = |l: &str| {
        Selector::parse(&total)
            .ok()
            .and_then(|s| s.matchers.into_iter().find(|m| m.label == l && m.op == super::selector::Op::Eq))
            .map(|m| m.value)
    };
    let service = label("service").or_else(|| label("job")).unwrap_or_else(|| name.clone());
    Ok(Slo { name, service, objective, period, sli })
}

// ---- OpenSLO ----------------------------------------------------------------------------

fn openslo_v1(at: &str, doc: &Value, refs: &Refs<'_>) -> Outcome<Slo> {
    let name = text(doc, &["metadata", "name"]).ok_or(format!("{at}: metadata.name is missing"))?;
    let at = format!("{at} (SLO {name})");
    let service = text(doc, &["spec", "service"]).ok_or(format!("{at}: spec.service is missing"))?;
    let period = match text(doc, &["spec", "timeWindow"])
        .or_else(|| get(doc, &["spec", "timeWindow"]).and_then(|w| w.get(0)).and_then(|w| text(w, &["duration"])))
    {
        Some(d) => super::units::parse_duration(&d).map_err(|e| format!("{at}: spec.timeWindow[0].duration: {e}"))?,
        None => chrono::Duration::days(30),
    };
    let objective = get(doc, &["spec", "objectives"]).and_then(|o| o.get(0));
    // v1 names it `indicator`, v2alpha `sli`.
    let inline = get(doc, &["spec", "indicator"]).or_else(|| get(doc, &["spec", "sli"]));
    let by_ref = text(doc, &["spec", "indicatorRef"]).or_else(|| text(doc, &["spec", "sliRef"]));
    let indicator = match (inline, by_ref) {
        (Some(i), _) => i,
        (None, Some(r)) => {
            refs.slis.get(&r).copied().ok_or(format!("{at}: spec.indicatorRef `{r}` names no SLI document"))?
        }
        (None, None) => return Err(format!("{at}: spec.indicator or spec.indicatorRef is needed").into()),
    };
    let sli = if let Some(ratio) = get(indicator, &["spec", "ratioMetric"]) {
        let counter = get(ratio, &["counter"]).and_then(Value::as_bool).unwrap_or(true);
        if let Some(raw) = get(ratio, &["raw"]) {
            let q = source_query(&at, raw, "ratioMetric.raw", refs)?;
            let q = match q {
                Metric::Selector(s) | Metric::PromQl(s) => s,
            };
            let ratio = match text(ratio, &["rawType"]).as_deref() {
                Some("success") => format!("1 - ({q})"),
                Some("failure") | None => q,
                Some(other) => {
                    return Err(format!("{at}: ratioMetric.rawType `{other}` is not success or failure").into());
                }
            };
            Query::parse(&ratio).map_err(|e| format!("{at}: ratioMetric.raw: {e}"))?;
            Sli::PromQlRatio { ratio }
        } else {
            let part = |p: &str| -> Outcome<Option<Metric>> {
                get(ratio, &[p]).map(|v| source_query(&at, v, &format!("ratioMetric.{p}"), refs)).transpose()
            };
            let total = part("total")?.ok_or(format!("{at}: ratioMetric.total is missing"))?;
            let (bad, good) = (part("bad")?, part("good")?);
            if bad.is_none() && good.is_none() {
                return Err(format!("{at}: ratioMetric needs `good` or `bad`").into());
            }
            ratio_sli(bad, good, total, counter)
        }
    } else if let Some(threshold) = get(indicator, &["spec", "thresholdMetric"]) {
        let query = source_query(&at, threshold, "thresholdMetric", refs)?;
        let o = objective.ok_or(format!("{at}: a thresholdMetric needs spec.objectives[0].op and value"))?;
        let (op, value) = threshold_objective(&at, o)?;
        match query {
            Metric::Selector(selector) => Sli::Threshold { selector, op, value },
            Metric::PromQl(query) => Sli::PromQlThreshold { query, op, value },
        }
    } else {
        return Err(format!("{at}: the indicator has neither ratioMetric nor thresholdMetric").into());
    };
    // The target after the indicator: an SLO on another metric source is refused for
    // that, whatever else it lacks.
    let target = objective
        .and_then(|o| get(o, &["target"]).and_then(Value::as_f64))
        .or_else(|| objective.and_then(|o| get(o, &["targetPercent"]).and_then(Value::as_f64)).map(|p| p / 100.0))
        .ok_or(format!("{at}: spec.objectives[0].target is missing"))?;
    if !(target > 0.0 && target < 1.0) {
        return Err(format!("{at}: spec.objectives[0].target must be between 0 and 1, got {target}").into());
    }
    Ok(Slo { name, service, objective: target, period, sli })
}

fn threshold_objective(at: &str, o: &Value) -> Outcome<(String, f64)> {
    let op = text(o, &["op"]).ok_or(format!("{at}: spec.objectives[0].op is missing"))?;
    if !matches!(op.as_str(), "lt" | "lte" | "gt" | "gte") {
        return Err(format!("{at}: spec.objectives[0].op `{op}` is not lt, lte, gt or gte").into());
    }
    let value =
        get(o, &["value"]).and_then(Value::as_f64).ok_or(format!("{at}: spec.objectives[0].value is missing"))?;
    Ok((op, value))
}

/// A metric source: v1's `metricSource` (`type` inline or through `metricSourceRef` to a
/// `DataSource`), or v2alpha's `dataSourceRef`/`dataSourceSpec` beside `spec.query`.
fn source_query(at: &str, v: &Value, field: &str, refs: &Refs<'_>) -> Outcome<Metric> {
    let (source, query_path): (&Value, &[&str]) = match get(v, &["metricSource"]) {
        Some(m) => (m, &["spec", "query"]),
        None => (v, &["spec", "query"]),
    };
    let reference = text(source, &["metricSourceRef"]).or_else(|| text(source, &["dataSourceRef"]));
    let kind = text(source, &["type"]).or_else(|| text(source, &["dataSourceSpec", "type"]));
    let kind = match (kind, reference) {
        (Some(k), _) => k,
        (None, Some(r)) => match refs.sources.get(&r).and_then(|d| text(d, &["spec", "type"])) {
            Some(k) => k,
            None => {
                return Err(Refusal::Unsupported(format!(
                    "{at}: {field}: data source `{r}` is not defined in these documents, so its type is unknown"
                )));
            }
        },
        (None, None) => String::new(),
    };
    if !kind.eq_ignore_ascii_case("prometheus") {
        return Err(not_prometheus(at, field, &kind));
    }
    let q = text(source, query_path).ok_or(format!("{at}: {field}: spec.query is missing"))?;
    metric(at, &format!("{field}.spec.query"), &q)
}

/// `openslo/v1alpha` (what Sloth reads): one SLO per objective, each with
/// `ratioMetrics` good/total, or the indicator's `thresholdMetric` and the objective's
/// `op`/`value`; `timeWindows[0]` is `unit` × `count`.
fn openslo_v1alpha(at: &str, doc: &Value) -> Outcome<Vec<Slo>> {
    let name = text(doc, &["metadata", "name"]).ok_or(format!("{at}: metadata.name is missing"))?;
    let at = format!("{at} (SLO {name})");
    let service = text(doc, &["spec", "service"]).ok_or(format!("{at}: spec.service is missing"))?;
    let window = get(doc, &["spec", "timeWindows"]).and_then(|w| w.get(0));
    let period = match window {
        None => chrono::Duration::days(30),
        Some(w) => {
            let count = get(w, &["count"])
                .and_then(Value::as_i64)
                .ok_or(format!("{at}: spec.timeWindows[0].count is missing"))?;
            match text(w, &["unit"]).unwrap_or_default().to_ascii_lowercase().as_str() {
                "second" => chrono::Duration::seconds(count),
                "minute" => chrono::Duration::minutes(count),
                "hour" => chrono::Duration::hours(count),
                "day" => chrono::Duration::days(count),
                "week" => chrono::Duration::weeks(count),
                "month" => chrono::Duration::days(30 * count),
                "quarter" => chrono::Duration::days(91 * count),
                "year" => chrono::Duration::days(365 * count),
                other => return Err(format!("{at}: spec.timeWindows[0].unit `{other}` is not a time unit").into()),
            }
        }
    };
    let objectives = get(doc, &["spec", "objectives"])
        .and_then(Value::as_sequence)
        .ok_or(format!("{at}: spec.objectives is missing"))?;
    let source = |v: &Value, field: &str| -> Outcome<Metric> {
        let kind = text(v, &["source"]).unwrap_or_default();
        if !kind.eq_ignore_ascii_case("prometheus") {
            return Err(not_prometheus(&at, field, &kind));
        }
        let q = text(v, &["query"]).ok_or(format!("{at}: {field}.query is missing"))?;
        metric(&at, &format!("{field}.query"), &q)
    };
    let mut out = Vec::new();
    for (i, o) in objectives.iter().enumerate() {
        let target = get(o, &["target"])
            .and_then(Value::as_f64)
            .ok_or(format!("{at}: spec.objectives[{i}].target is missing"))?;
        if !(target > 0.0 && target < 1.0) {
            return Err(format!("{at}: spec.objectives[{i}].target must be between 0 and 1, got {target}").into());
        }
        let sli = if let Some(r) = get(o, &["ratioMetrics"]) {
            let counter = get(r, &["incremental"]).and_then(Value::as_bool).unwrap_or(true);
            let good =
                get(r, &["good"]).map(|g| source(g, &format!("spec.objectives[{i}].ratioMetrics.good"))).transpose()?;
            let bad =
                get(r, &["bad"]).map(|b| source(b, &format!("spec.objectives[{i}].ratioMetrics.bad"))).transpose()?;
            let total =
                get(r, &["total"]).ok_or(format!("{at}: spec.objectives[{i}].ratioMetrics.total is missing"))?;
            let total = source(total, &format!("spec.objectives[{i}].ratioMetrics.total"))?;
            if bad.is_none() && good.is_none() {
                return Err(format!("{at}: spec.objectives[{i}].ratioMetrics needs good or bad").into());
            }
            ratio_sli(bad, good, total, counter)
        } else if let Some(t) = get(doc, &["spec", "indicator", "thresholdMetric"]) {
            let (op, value) = threshold_objective(&at, o)?;
            match source(t, "spec.indicator.thresholdMetric")? {
                Metric::Selector(selector) => Sli::Threshold { selector, op, value },
                Metric::PromQl(query) => Sli::PromQlThreshold { query, op, value },
            }
        } else {
            return Err(
                format!("{at}: spec.objectives[{i}] has no ratioMetrics and the indicator no thresholdMetric").into()
            );
        };
        let slo_name = if objectives.len() == 1 { name.clone() } else { format!("{name}-{i}") };
        out.push(Slo { name: slo_name, service: service.clone(), objective: target, period, sli });
    }
    Ok(out)
}

/// Files named by `openslo` entries: paths (relative to `base`) or globs.
pub fn files(patterns: &[String], base: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut out = Vec::new();
    for p in patterns {
        let path = base.join(p);
        if p.contains(['*', '?', '[']) {
            let dir = path.parent().ok_or(format!("openslo: `{p}` has no folder"))?;
            let glob = globset::Glob::new(&path.display().to_string()).map_err(|e| format!("openslo: `{p}`: {e}"))?;
            let matcher = glob.compile_matcher();
            let mut found: Vec<_> = std::fs::read_dir(dir)
                .map_err(|e| format!("openslo: `{p}`: {e}"))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| matcher.is_match(f))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = r#"
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{service="checkout",code=~"5.."}
    total:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{service="checkout"}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  indicatorRef: checkout-errors
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.999
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-latency
spec:
  service: search
  indicator:
    metadata:
      name: search-p99
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: http_request_duration_seconds_p99{service="search"}
  timeWindow:
    - duration: 7d
      isRolling: true
  objectives:
    - op: lte
      value: 0.3
      targetPercent: 99
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: cart-success
spec:
  service: cart
  indicator:
    spec:
      ratioMetric:
        good:
          metricSource: {type: prometheus, spec: {query: 'http_requests_total{service="cart",code="200"}'}}
        total:
          metricSource: {type: prometheus, spec: {query: 'http_requests_total{service="cart"}'}}
  objectives:
    - target: 0.99
"#;

    fn load_all(text: &str) -> Result<Loaded, String> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("slos.yaml");
        std::fs::write(&f, text).unwrap();
        load(&[f])
    }

    fn load_text(text: &str) -> Result<Vec<Slo>, String> {
        load_all(text).map(|l| l.slos)
    }

    #[test]
    fn the_supported_subset() {
        let slos = load_text(DOCS).unwrap();
        assert_eq!(slos.len(), 3);
        assert_eq!(
            (slos[0].name.as_str(), slos[0].service.as_str(), slos[0].objective),
            ("checkout-availability", "checkout", 0.999)
        );
        assert_eq!(slos[0].period, chrono::Duration::days(28));
        assert!(matches!(&slos[0].sli, Sli::Ratio { bad, .. } if bad.contains("5..")));
        assert_eq!(slos[1].objective, 0.99);
        assert_eq!(slos[1].period, chrono::Duration::days(7));
        assert!(matches!(&slos[1].sli, Sli::Threshold { op, value, .. } if op == "lte" && *value == 0.3));
        assert!(matches!(&slos[2].sli, Sli::GoodRatio { counter: true, .. }));
        assert_eq!(slos[2].period, chrono::Duration::days(30));
    }

    #[test]
    fn unsupported_input_is_refused_with_the_field() {
        // Another metric source: that SLO is left out, saying so; the others load.
        let loaded = load_all(&DOCS.replace(
            "type: Prometheus\n        spec:\n          query: http_requests_total{service=\"checkout\",code=~\"5..\"}",
            "type: Datadog\n        spec:\n          query: x",
        ))
        .unwrap();
        assert_eq!(loaded.slos.len(), 2);
        assert!(loaded.refused[0].contains("metric source `Datadog` is not Prometheus"), "{:?}", loaded.refused);
        // PromQL is read; what the evaluator does not do is named.
        let slos =
            load_text(&DOCS.replace("http_requests_total{service=\"checkout\"}", "sum(rate(http_requests_total[5m]))"))
                .unwrap();
        assert!(
            matches!(&slos[0].sli, Sli::PromQl { bad: Some(b), total, .. } if b.contains("5..") && total.starts_with("sum(rate"))
        );
        let e = load_text(&DOCS.replace("http_requests_total{service=\"checkout\"}", "topk(1, http_requests_total)"))
            .unwrap_err();
        assert!(e.contains("`topk`"), "{e}");
        let e = load_text(&DOCS.replace("indicatorRef: checkout-errors", "indicatorRef: nope")).unwrap_err();
        assert!(e.contains("indicatorRef `nope`"), "{e}");
        let loaded = load_all(&DOCS.replace(
            "openslo/v1\nkind: SLO\nmetadata:\n  name: cart-success",
            "openslo/v2alpha\nkind: SLO\nmetadata:\n  name: cart-success",
        ))
        .unwrap();
        assert!(loaded.refused[0].contains("openslo/v2alpha"), "{:?}", loaded.refused);
        let e = load_text("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n").unwrap_err();
        assert!(e.contains("not an SLO document") && e.contains("PrometheusRule"), "{e}");
    }

    #[test]
    fn yaml_lists_sloth_and_pyrra() {
        let list = DOCS.split("---").map(|d| {
            let d = d.trim();
            format!("- {}", d.replace('\n', "\n  "))
        });
        let slos = load_text(&list.collect::<Vec<_>>().join("\n")).unwrap();
        assert_eq!(slos.len(), 3, "a YAML list of documents reads as the documents");

        let sloth = r#"
version: "prometheus/v1"
service: "myservice"
slos:
  - name: "requests-availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
  - name: "raw"
    objective: 95
    sli:
      raw:
        error_ratio_query: 1 - avg_over_time(up[{{.window}}])
  - name: "plugged"
    objective: 99
    sli:
      plugin:
        id: "sloth-common/kubernetes/apiserver/availability"
"#;
        let loaded = load_all(sloth).unwrap();
        assert_eq!(loaded.slos.len(), 2);
        assert_eq!(
            (loaded.slos[0].name.as_str(), loaded.slos[0].objective),
            ("myservice-requests-availability", 0.999)
        );
        assert!(matches!(&loaded.slos[0].sli, Sli::PromQl { bad: Some(b), .. } if b.contains("[5m]")));
        assert!(matches!(&loaded.slos[1].sli, Sli::PromQlRatio { ratio } if ratio == "1 - avg_over_time(up[5m])"));
        assert!(loaded.refused[0].contains("sli.plugin `sloth-common/kubernetes/apiserver/availability`"));

        let pyrra = r#"
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-errors
spec:
  target: "99.5"
  window: 2w
  indicator:
    ratio:
      errors:
        metric: http_requests_total{job="api",code=~"5.."}
      total:
        metric: http_requests_total{job="api"}
      grouping: [handler]
"#;
        let slo = &load_text(pyrra).unwrap()[0];
        assert_eq!((slo.name.as_str(), slo.service.as_str(), slo.objective), ("api-errors", "api", 0.995));
        assert_eq!(slo.period, chrono::Duration::weeks(2));
        assert!(matches!(&slo.sli, Sli::PromQl { bad: Some(b), total, .. }
            if b == r#"sum(rate(http_requests_total{job="api",code=~"5.."}[3m]))"# && total == r#"sum(rate(http_requests_total{job="api"}[3m]))"#));
    }
}
