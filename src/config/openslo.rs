//! OpenSLO v1 import (`openslo = ["slos/*.yaml"]` in `retrace.toml`). The supported
//! subset, documented in docs/slo.md:
//!
//! - documents of `kind: SLO` (several per file, `---`-separated) with an inline
//!   `spec.indicator` or an `spec.indicatorRef` naming a `kind: SLI` document of the same
//!   files;
//! - `ratioMetric` with `good` or `bad` and `total`, `counter: true` (counters) or false
//!   (gauges); `thresholdMetric` with an objective's `op` (`lt`, `lte`, `gt`, `gte`) and
//!   `value` (the share of samples on the wrong side is the error ratio);
//! - `metricSource.type: Prometheus` whose `spec.query` is a series selector
//!   (`http_requests_total{service="checkout",code=~"5.."}`): retrace computes rates itself;
//! - `timeWindow[0].duration` (`30d`, `4w`, `720h`) and `objectives[0].target` (or
//!   `targetPercent`).
//!
//! Anything else is refused with the document and field named, never half-imported.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

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

/// Reads every SLO of the OpenSLO documents in `files`.
pub fn load(files: &[std::path::PathBuf]) -> Result<Vec<Slo>, String> {
    let mut docs = Vec::new();
    for file in files {
        let content = std::fs::read_to_string(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(&content).enumerate() {
            use serde::Deserialize;
            let value = Value::deserialize(doc).map_err(|e| format!("{}: document {}: {e}", file.display(), i + 1))?;
            if !value.is_null() {
                docs.push((format!("{} document {}", file.display(), i + 1), value));
            }
        }
    }
    let slis: BTreeMap<String, &Value> = docs
        .iter()
        .filter(|(_, d)| text(d, &["kind"]).as_deref() == Some("SLI"))
        .filter_map(|(_, d)| Some((text(d, &["metadata", "name"])?, d)))
        .collect();
    let mut out = Vec::new();
    for (at, doc) in &docs {
        let api = text(doc, &["apiVersion"]).unwrap_or_default();
        if api != "openslo/v1" {
            return Err(format!("{at}: apiVersion `{api}` is not supported (openslo/v1 is)"));
        }
        match text(doc, &["kind"]).as_deref() {
            Some("SLO") => out.push(slo(at, doc, &slis)?),
            Some("SLI") | Some("Service") => {}
            other => {
                return Err(format!("{at}: kind `{}` is not supported (SLO, SLI, Service are)", other.unwrap_or("")));
            }
        }
    }
    Ok(out)
}

fn slo(at: &str, doc: &Value, slis: &BTreeMap<String, &Value>) -> Result<Slo, String> {
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
    let target = objective
        .and_then(|o| get(o, &["target"]).and_then(Value::as_f64))
        .or_else(|| objective.and_then(|o| get(o, &["targetPercent"]).and_then(Value::as_f64)).map(|p| p / 100.0))
        .ok_or(format!("{at}: spec.objectives[0].target is missing"))?;
    if !(target > 0.0 && target < 1.0) {
        return Err(format!("{at}: spec.objectives[0].target must be between 0 and 1, got {target}"));
    }
    let indicator = match (get(doc, &["spec", "indicator"]), text(doc, &["spec", "indicatorRef"])) {
        (Some(i), _) => i,
        (None, Some(r)) => {
            slis.get(&r).copied().ok_or(format!("{at}: spec.indicatorRef `{r}` names no SLI document"))?
        }
        (None, None) => return Err(format!("{at}: spec.indicator or spec.indicatorRef is needed")),
    };
    let sli = if let Some(ratio) = get(indicator, &["spec", "ratioMetric"]) {
        let counter = get(ratio, &["counter"]).and_then(Value::as_bool).unwrap_or(true);
        let total = query(&at, ratio, "total")?;
        match (get(ratio, &["bad"]), get(ratio, &["good"])) {
            (Some(_), _) => {
                let bad = query(&at, ratio, "bad")?;
                if counter { Sli::Ratio { bad, total } } else { Sli::GaugeRatio { bad, total } }
            }
            (None, Some(_)) => Sli::GoodRatio { good: query(&at, ratio, "good")?, total, counter },
            (None, None) => return Err(format!("{at}: ratioMetric needs `good` or `bad`")),
        }
    } else if let Some(threshold) = get(indicator, &["spec", "thresholdMetric"]) {
        let selector = source_query(&at, threshold, "thresholdMetric")?;
        let o = objective.ok_or(format!("{at}: a thresholdMetric needs spec.objectives[0].op and value"))?;
        let op = text(o, &["op"]).ok_or(format!("{at}: spec.objectives[0].op is missing"))?;
        if !matches!(op.as_str(), "lt" | "lte" | "gt" | "gte") {
            return Err(format!("{at}: spec.objectives[0].op `{op}` is not lt, lte, gt or gte"));
        }
        let value =
            get(o, &["value"]).and_then(Value::as_f64).ok_or(format!("{at}: spec.objectives[0].value is missing"))?;
        Sli::Threshold { selector, op, value }
    } else {
        return Err(format!("{at}: the indicator has neither ratioMetric nor thresholdMetric"));
    };
    Ok(Slo { name, service, objective: target, period, sli })
}

fn query(at: &str, ratio: &Value, part: &str) -> Result<String, String> {
    let v = get(ratio, &[part]).ok_or(format!("{at}: ratioMetric.{part} is missing"))?;
    source_query(at, v, &format!("ratioMetric.{part}"))
}

fn source_query(at: &str, v: &Value, field: &str) -> Result<String, String> {
    let kind = text(v, &["metricSource", "type"]).unwrap_or_default();
    if !kind.eq_ignore_ascii_case("prometheus") {
        return Err(format!("{at}: {field}.metricSource.type `{kind}` is not supported (Prometheus is)"));
    }
    let q = text(v, &["metricSource", "spec", "query"])
        .ok_or(format!("{at}: {field}.metricSource.spec.query is missing"))?;
    Selector::parse(&q).map_err(|e| {
        format!("{at}: {field}.metricSource.spec.query: {e} — use a series selector; retrace computes rates itself")
    })?;
    Ok(q.trim().to_string())
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

    fn load_text(text: &str) -> Result<Vec<Slo>, String> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("slos.yaml");
        std::fs::write(&f, text).unwrap();
        load(&[f])
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
        let e = load_text(&DOCS.replace(
            "type: Prometheus\n        spec:\n          query: http_requests_total{service=\"checkout\",code=~\"5..\"}",
            "type: Datadog\n        spec:\n          query: x",
        ))
        .unwrap_err();
        assert!(e.contains("ratioMetric.bad.metricSource.type `Datadog`"), "{e}");
        let e =
            load_text(&DOCS.replace("http_requests_total{service=\"checkout\"}", "sum(rate(http_requests_total[5m]))"))
                .unwrap_err();
        assert!(e.contains("series selector"), "{e}");
        let e = load_text(&DOCS.replace("indicatorRef: checkout-errors", "indicatorRef: nope")).unwrap_err();
        assert!(e.contains("indicatorRef `nope`"), "{e}");
        let e = load_text(&DOCS.replace("openslo/v1\nkind: SLI", "openslo/v2alpha\nkind: SLI")).unwrap_err();
        assert!(e.contains("openslo/v2alpha"), "{e}");
    }
}
