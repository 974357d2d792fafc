//! `format = "auto"` (the default): an object's format worked out from its first
//! kilobytes. JSON is told apart by the keys each export carries (`resourceLogs`,
//! `resultType`, `involvedObject`, …); text by how many of its first lines each line
//! format reads (every named pattern, logfmt, CSV, the Prometheus exposition format).
//! Where no format reads them, or two read them equally and would give different rows,
//! the error names the candidates instead of guessing.

use super::{logfmt, prometheus};
use crate::config::Format;
use crate::config::pattern::{self, LinePattern};
use crate::tables::Kind;

/// How much of an object is read to decide.
pub const HEAD_BYTES: usize = 16 * 1024;
/// How many of its first lines are scored.
const SAMPLE_LINES: usize = 50;
/// The share of sampled lines a format must read to be chosen.
const ENOUGH: f64 = 0.8;

/// The format of an object whose first bytes are `head`, for a source of `kind`.
/// `name`'s extension decides only when the content does not.
pub fn detect(head: &[u8], kind: Kind, name: &str) -> Result<Format, String> {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let fits = |f: Format| f.kinds().is_none_or(|k| k.contains(&kind));
    let by_name = Format::from_object_name(name).filter(|f| fits(*f));
    if text.is_empty() {
        // Nothing to read either way: the object gives no row, and says so.
        return Ok(by_name.unwrap_or(Format::Jsonl));
    }
    // `{__name__="up"} 1 …` (a promtool dump) starts like JSON too: JSON is an export's
    // keys, or a first line that parses as an object.
    let first_line_json =
        text.lines().next().is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object()));
    let json_like = json_format(text).is_some()
        || first_line_json
        // `[{…}]`, not `[Sun Dec 04 …]` (an Apache error log).
        || text.strip_prefix('[').is_some_and(|rest| rest.trim_start().starts_with(['{', '[', '"', ']']))
        || text.starts_with("{\n")
        || text.starts_with("{\r\n");
    if json_like {
        let format = json_format(text);
        return match format {
            Some(f) if fits(f) => Ok(f),
            Some(f) => Err(format!(
                "it reads as {} (which fills {}), not {}",
                describe(f),
                f.kinds().unwrap_or(&[]).iter().map(|k| k.source_name()).collect::<Vec<_>>().join(" or "),
                kind.source_name()
            )),
            None if text.starts_with('[') => Err(
                "a JSON array that is no export retrace knows (OTLP, query_range, Kubernetes, GitHub, LaunchDarkly); write one object per line (JSON Lines)"
                    .into(),
            ),
            None => Ok(Format::Jsonl),
        };
    }
    // Text: the last line of the head may be cut short.
    let lines: Vec<&str> = {
        let mut all: Vec<&str> = text.lines().collect();
        if head.len() >= HEAD_BYTES && all.len() > 1 {
            all.pop();
        }
        all.into_iter().filter(|l| !l.trim().is_empty()).take(SAMPLE_LINES).collect()
    };
    let mut scored: Vec<(Format, f64)> = candidates(kind)
        .into_iter()
        .filter(|f| fits(*f))
        .map(|f| (f, score(f, &lines)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best: Vec<Format> = scored.iter().filter(|(_, s)| *s >= ENOUGH && *s == scored[0].1).map(|(f, _)| *f).collect();
    match best.as_slice() {
        [one] => Ok(*one),
        [] => match by_name {
            Some(f) => Ok(f),
            None => {
                let closest: Vec<String> =
                    scored.iter().take(3).map(|(f, s)| format!("{} ({:.0}% of lines)", f.name(), s * 100.0)).collect();
                Err(if closest.is_empty() {
                    format!("no format reads its first {} lines", lines.len())
                } else {
                    format!(
                        "no format reads enough of its first {} lines; closest: {}",
                        lines.len(),
                        closest.join(", ")
                    )
                })
            }
        },
        several if several.contains(&Format::Csv) && several.contains(&Format::Notes) && several.len() == 2 => {
            // Timed CSV rows read as notes too; a header of names says they are a table.
            Ok(Format::Csv)
        }
        several => match access_log(several, &lines) {
            Some(f) => Ok(f),
            None => Err(format!(
                "its first {} lines read equally as {}",
                lines.len(),
                several.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            )),
        },
    }
}

fn describe(f: Format) -> String {
    match f {
        Format::OtlpJson => "OpenTelemetry OTLP/JSON".into(),
        Format::PrometheusJson => "a Prometheus API response".into(),
        Format::K8sEvents => "Kubernetes events".into(),
        Format::GithubDeployments => "GitHub deployment statuses".into(),
        Format::LaunchdarklyAudit => "a LaunchDarkly audit log".into(),
        Format::Alertmanager => "an Alertmanager webhook payload".into(),
        Format::Pagerduty => "PagerDuty log entries".into(),
        Format::Slack => "a Slack export".into(),
        Format::GrafanaAnnotations => "Grafana annotations".into(),
        Format::Opsgenie => "Opsgenie alert logs".into(),
        Format::Statuspage => "Statuspage incidents".into(),
        other => other.name(),
    }
}

/// The export a JSON document's first kilobytes name by their keys; `None`: plain records.
fn json_format(text: &str) -> Option<Format> {
    let has = |key: &str| text.contains(&format!("\"{key}\""));
    if has("resourceLogs") || has("resourceMetrics") || has("resourceSpans") {
        Some(Format::OtlpJson)
    } else if has("resultType") || (has("status") && has("errorType")) {
        Some(Format::PrometheusJson)
    } else if has("involvedObject") || (has("regarding") && has("reportingController")) {
        Some(Format::K8sEvents)
    } else if has("deployment_status") || has("deployment_url") {
        Some(Format::GithubDeployments)
    } else if has("accesses") && (has("titleVerb") || has("_accountId")) {
        Some(Format::LaunchdarklyAudit)
    } else if has("alerts") && (has("groupKey") || has("receiver")) {
        Some(Format::Alertmanager)
    } else if has("log_entries") || text.contains("_log_entry\"") {
        Some(Format::Pagerduty)
    } else if has("incident_updates") {
        Some(Format::Statuspage)
    } else if has("log") && has("offset") && has("owner") {
        Some(Format::Opsgenie)
    } else if has("dashboardUID") || (has("panelId") && has("time")) {
        Some(Format::GrafanaAnnotations)
    } else if text.starts_with('[') && has("ts") && text.contains("\"type\": \"message\"")
        || text.contains("\"type\":\"message\"")
    {
        Some(Format::Slack)
    } else {
        None
    }
}

/// The line formats a source of `kind` may hold.
fn candidates(kind: Kind) -> Vec<Format> {
    let mut out = vec![Format::Logfmt, Format::Csv];
    if kind == Kind::Metrics {
        out.push(Format::PrometheusText);
    }
    if kind == Kind::Logs {
        out.extend(pattern::PATTERNS.iter().map(|p| Format::Pattern(p.name)));
    }
    if kind == Kind::Events {
        out.push(Format::Notes);
    }
    out
}

/// The share of `lines` that `format` reads as records.
fn score(format: Format, lines: &[&str]) -> f64 {
    if lines.is_empty() {
        return 0.0;
    }
    let n = lines.len() as f64;
    match format {
        Format::Pattern(name) => {
            let Some(p) = pattern::named(name).map(LinePattern::builtin) else { return 0.0 };
            let matched = lines.iter().filter(|l| p.fields(l).is_some()).count() as f64;
            // A continuation pattern's other lines belong to the record before them (a
            // stack trace), as long as the first line starts a record.
            if p.continuation && matched > 0.0 && p.fields(lines[0]).is_some() {
                return if matched / n >= 0.3 { 1.0_f64.min(matched / n + 0.5) } else { matched / n };
            }
            matched / n
        }
        Format::Logfmt => {
            let read = lines
                .iter()
                .filter(|l| {
                    // Most text parses as logfmt (a bare word is a flag): ask for pairs.
                    let first = l.split_whitespace().next().unwrap_or("");
                    let key = first.split('=').next().unwrap_or("");
                    first.contains('=')
                        && !key.is_empty()
                        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
                        && logfmt::parse(l).is_ok_and(|f| f.iter().filter(|(_, v)| v != "true").count() >= 2)
                })
                .count();
            read as f64 / n
        }
        Format::Csv => {
            let fields = |l: &str| {
                let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(l.as_bytes());
                r.records().next().and_then(|r| r.ok()).map_or(0, |r| r.len())
            };
            let header = fields(lines[0]);
            let names_ok = lines[0].split(',').all(|h| {
                let h = h.trim().trim_matches('"');
                !h.is_empty() && h.len() <= 64 && !h.contains(' ')
            });
            if header < 2 || !names_ok || lines.len() < 2 {
                return 0.0;
            }
            let same = lines[1..].iter().filter(|l| fields(l) == header).count();
            same as f64 / (n - 1.0)
        }
        Format::Notes => {
            // Headings and prose between notes are part of notes.
            let notes: Vec<&&str> = lines.iter().filter(|l| !l.trim_start().starts_with('#')).collect();
            let timed = notes.iter().filter(|l| super::notes::is_note(l)).count();
            if timed == 0 {
                return 0.0;
            }
            // Every line that is not a note continues one: read, if at least half start with a time.
            if timed * 2 >= notes.len() { 1.0 } else { timed as f64 / notes.len() as f64 }
        }
        Format::PrometheusText => {
            let read = lines
                .iter()
                .filter(|l| l.starts_with('#') || prometheus::parse_exposition(l).is_ok_and(|f| f.is_some()))
                .count();
            // Comments alone are no exposition.
            if lines.iter().all(|l| l.starts_with('#')) {
                return 0.0;
            }
            read as f64 / n
        }
        _ => 0.0,
    }
}

/// nginx and Apache write the same `combined` line and differ only in what follows it:
/// nginx's `$request_time` in seconds (`0.412`), Apache's `%D` in microseconds (`1520`).
fn access_log(tied: &[Format], lines: &[&str]) -> Option<Format> {
    let (nginx, apache) = (Format::Pattern("nginx"), Format::Pattern("apache_access"));
    if tied.len() != 2 || !tied.contains(&nginx) || !tied.contains(&apache) {
        return None;
    }
    let p = LinePattern::builtin(pattern::named("nginx")?);
    let tails: Vec<String> = lines
        .iter()
        .filter_map(|l| p.regex.captures(l).and_then(|c| c.name("tail")).map(|t| t.as_str().trim().to_string()))
        .filter(|t| !t.is_empty())
        .collect();
    if tails.iter().any(|t| t.contains('.')) {
        Some(nginx)
    } else if !tails.is_empty() && tails.iter().all(|t| t.bytes().all(|b| b.is_ascii_digit())) {
        Some(apache)
    } else {
        // No tail: the rows are the same either way.
        Some(nginx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_exports_by_their_keys() {
        let d = |s: &str, k| detect(s.as_bytes(), k, "x.json");
        assert_eq!(d(r#"{"resourceLogs":[{"resource":{}}]}"#, Kind::Logs), Ok(Format::OtlpJson));
        assert_eq!(d(r#"{"resourceMetrics":[]}"#, Kind::Metrics), Ok(Format::OtlpJson));
        assert_eq!(
            d(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#, Kind::Metrics),
            Ok(Format::PrometheusJson)
        );
        assert_eq!(
            d(r#"{"status":"error","errorType":"bad_data","error":"x"}"#, Kind::Metrics),
            Ok(Format::PrometheusJson)
        );
        assert_eq!(d(r#"{"kind":"List","items":[{"involvedObject":{}}]}"#, Kind::Changes), Ok(Format::K8sEvents));
        assert_eq!(
            d(r#"[{"id":1,"state":"success","deployment_url":"u"}]"#, Kind::Deploys),
            Ok(Format::GithubDeployments)
        );
        assert_eq!(
            d(r#"{"items":[{"_id":"1","accesses":[],"titleVerb":"x"}]}"#, Kind::Changes),
            Ok(Format::LaunchdarklyAudit)
        );
        assert_eq!(d("{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"x\"}\n", Kind::Logs), Ok(Format::Jsonl));
        let e = d(r#"{"resultType":"matrix"}"#, Kind::Logs).unwrap_err();
        assert!(e.contains("Prometheus API response") && e.contains("metrics"), "{e}");
    }

    #[test]
    fn text_by_what_reads_its_lines() {
        let d = |s: &str, k| detect(s.as_bytes(), k, "x.log");
        let nginx = "10.0.0.7 - - [19/Nov/2026:14:02:00 +0000] \"GET /pay HTTP/1.1\" 503 31 \"-\" \"curl/8.5\" 0.412\n";
        assert_eq!(d(&nginx.repeat(3), Kind::Logs), Ok(Format::Pattern("nginx")));
        let apache =
            "10.0.0.7 - frank [19/Nov/2026:15:02:00 +0100] \"GET /pay HTTP/1.1\" 200 2326 \"-\" \"Mozilla/5.0\" 1520\n";
        assert_eq!(d(&apache.repeat(3), Kind::Logs), Ok(Format::Pattern("apache_access")));
        assert_eq!(
            d("ts=2026-11-19T14:02:00Z level=info msg=ok\nts=2026-11-19T14:02:01Z level=warn msg=slow\n", Kind::Logs),
            Ok(Format::Logfmt)
        );
        assert_eq!(
            d("ts,metric,value\n2026-11-19T14:00:00Z,up,1\n2026-11-19T14:01:00Z,up,0\n", Kind::Metrics),
            Ok(Format::Csv)
        );
        assert_eq!(
            d("# TYPE up gauge\nup{job=\"a\"} 1 1700000000000\nup 0\n", Kind::Metrics),
            Ok(Format::PrometheusText)
        );
        let trace = "2026-11-19 14:09:12,117 ERROR [pool-3] com.acme.Pool - timeout\n\tat com.acme.Pool.get(Pool.java:42)\n\tat x.y(Z.java:1)\n";
        assert_eq!(d(trace, Kind::Logs), Ok(Format::Pattern("log4j")));
        let e = d("hello there\nthis is prose\n", Kind::Logs).unwrap_err();
        assert!(e.contains("no format reads"), "{e}");
        // The extension decides when the content does not.
        assert_eq!(detect(b"just words\n", Kind::Logs, "x.csv"), Ok(Format::Csv));
    }
}
