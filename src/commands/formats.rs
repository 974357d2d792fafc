//! `retrace formats`: every input format with an example it reads.

use super::Outcome;
use crate::error::Result;

pub(crate) fn formats() -> Result<Outcome> {
    use crate::config::pattern::PATTERNS;
    // (format, kinds, example) — every example is one that the format reads (tested).
    let mut rows: Vec<(String, &str, &str)> = vec![
        (
            "jsonl".into(),
            "any",
            r#"{"ts":"2026-11-19T14:02:00Z","service":"payments","level":"error","msg":"pool exhausted"}"#,
        ),
        ("csv".into(), "any", "ts,metric,value,service,code  /  1795096920,http_requests_total,1234,payments,200"),
        ("logfmt".into(), "any", r#"ts=2026-11-19T14:02:00Z level=warn service=payments msg="pool low""#),
    ];
    for p in PATTERNS {
        rows.push((format!("pattern:{}", p.name), "logs", p.example));
    }
    rows.extend([
        ("regex".into(), "any", r"regex = '^(?P<ts>\S+ \S+) (?P<level>\w+) (?P<msg>.*)$' + ts_format"),
        ("prometheus_text".into(), "metrics", r#"http_requests_total{service="checkout",code="503"} 3 1795096920000"#),
        ("prometheus_json".into(), "metrics", r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[1795096920,"1"]]}]}}"#),
        ("github_deployments".into(), "deploys", r#"[{"id":1,"state":"success","created_at":"…","deployment_url":"…/repos/acme/payments/deployments/42"}]"#),
        ("launchdarkly_audit".into(), "changes", r#"{"items":[{"_id":"a1","date":1795096920000,"titleVerb":"turned on the flag","accesses":[…]}]}"#),
        ("otlp_json".into(), "logs", r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}}]},"scopeLogs":[{"logRecords":[…]}]}]}"#),
        ("k8s_events".into(), "changes", r#"{"kind":"List","items":[{"involvedObject":{"kind":"Deployment","name":"payments"},"reason":"ScalingReplicaSet",…}]}"#),
    ]);
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut out = String::new();
    out.push_str(&format!("{:width$}  {:8} EXAMPLE\n", "FORMAT", "KINDS"));
    for (name, kinds, example) in &rows {
        out.push_str(&format!("{name:width$}  {kinds:8} {example}\n"));
    }
    out.push_str(
        "\nCompression by extension: .gz (multi-member), .zst. Timestamps: RFC 3339 / ISO 8601 with or\n\
         without zone (naive times take the source's `timezone`), epoch s/ms/µs/ns, zone abbreviations\n\
         (EST, CEST, …), year-less syslog times (`year =`), and the shapes of real logs (081109 203615,\n\
         2005-06-03-15.42.50.675872, Sun Dec 04 04:47:44 2005, 2015-07-29 17:41:44,747, 17/06/09 20:10:40,\n\
         20171224-1:2:35:789). Every rule, alias and example: docs/formats.md.\n",
    );
    print!("{out}");
    Ok(Outcome::Success)
}
