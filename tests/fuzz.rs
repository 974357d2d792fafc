//! Property tests over arbitrary bytes, on the stable toolchain: every parser retrace
//! exposes to input — each format (through `ingest::parse_bytes`, the code path ingest
//! uses), the config, `--param` binding and the report renderers — is fed mutated valid
//! inputs and random bytes, and must answer (rows, rejects or an error), never panic,
//! and keep its counts adding up.
//!
//! The mutator is deterministic (a seeded xorshift): a failure prints its seed and case,
//! and the input that broke a parser goes into `REGRESSIONS` below for good. The budget
//! is `RETRACE_FUZZ_CASES` cases per target (default 300; `.ci/run` runs 3,000).
//! Found so far and fixed: a backslash before a multi-byte character in logfmt
//! (`msg="caf\é"`) sliced a string mid-character.

use std::panic::AssertUnwindSafe;

use retrace::config::{Config, Format};

/// Inputs that once broke a parser: (format, kind, bytes). Kept forever.
const REGRESSIONS: &[(&str, &str, &[u8])] = &[
    ("logfmt", "logs", "ts=2026-11-19T14:00:00Z msg=\"caf\\é\"".as_bytes()),
    ("logfmt", "logs", b"ts=2026-11-19T14:00:00Z msg=\"\\\xc3\""),
    ("jsonl", "logs", b"\xEF\xBB\xBF{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"bom\"}"),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough to pick mutations.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Bytes that parsers treat specially, and ones that break naive code: quotes and
/// escapes, separators, line ends, NUL, invalid UTF-8, the lead byte of a multi-byte
/// character, a BOM, huge numbers, control characters.
const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"=",
    b",",
    b":",
    b"\n",
    b"\r\n",
    b"\0",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    "é".as_bytes(),
    "😀".as_bytes(),
    b"\xEF\xBB\xBF",
    b"99999999999999999999999",
    b"-0",
    b"1e400",
    b"NaN",
    b"\x1b[31m",
    b"null",
    b"true",
    b"\t",
    b" ",
    b"%",
    b"{{",
    b"}}",
    b"\\u0000",
    b"\\ud800",
    b"0x",
    b"2026-13-45T25:61:61Z",
];

fn mutate(rng: &mut Rng, seeds: &[&[u8]]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(data.len() + 1);
        match rng.below(8) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, piece.iter().copied());
            }
            2 if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(32)).min(data.len());
                let piece = data[start..end].to_vec();
                data.splice(at..at, piece);
            }
            4 => {
                let other = seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                data.splice(at..at, other[from..].iter().copied());
            }
            5 => data.truncate(at),
            6 => {
                let random: Vec<u8> = (0..rng.below(24)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, random);
            }
            _ => {
                let i = rng.below(data.len().max(1));
                if let Some(b) = data.get_mut(i) {
                    *b = b'0' + rng.below(10) as u8;
                }
            }
        }
    }
    data
}

fn cases() -> usize {
    std::env::var("RETRACE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

fn source(kind: &str, format: &str) -> (retrace::config::Source, Format) {
    let regex = if format == "regex" { "regex = '^(?P<ts>\\S+) (?P<level>\\w+) (?P<msg>.*)$'\n" } else { "" };
    let text =
        format!("[[sources]]\nkind = \"{kind}\"\nurl = \"/x\"\nformat = \"{format}\"\nservice = \"svc\"\n{regex}");
    let config = Config::parse(&text, std::path::Path::new("/")).unwrap_or_else(|e| panic!("{format}: {e}"));
    let s = config.sources[0].clone();
    let f = s.format.expect("format set");
    (s, f)
}

/// Seeds per format: valid inputs of the shapes the format's tools write.
fn seeds(format: &str) -> Vec<Vec<u8>> {
    let lines: Vec<&str> = match format {
        "jsonl" => vec![
            r#"{"ts":"2026-11-19T14:02:00Z","service":"payments","host":"h1","level":"error","msg":"pool exhausted","status":503,"latency_ms":12.5,"trace_id":"ab","attributes":{"a":"b","n":[1,2]}}"#,
            r#"{"ts":1795096920123,"metric":"http_requests_total","value":3,"labels":{"code":"500"}}"#,
            r#"{"ts":"2026-11-19 09:02:00","change_id":"CHG-1","key":"k","old_value":"a","new_value":"b","reverts":"CHG-0"}"#,
            r#"{"@timestamp":"2026-11-19T14:02:00.123456789+01:00","message":"esc \"q\" \u00e9 \\ \n","level":"WARN"}"#,
        ],
        "csv" => vec![
            "ts,service,level,msg,status\n2026-11-19T14:02:00Z,payments,error,\"a, \"\"b\"\"\",503\n1795096920,x,info,m,200\n",
            "ts,metric,value,service,code\n1795096920,http_requests_total,1234,payments,200\n",
        ],
        "logfmt" => vec![
            r#"ts=2026-11-19T14:02:00Z level=warn service=payments msg="pool \"main\" low" retry n= svc=x"#,
            r#"time=2026-11-19T14:02:00.5+02:00 lvl=error msg=caf\é status=500"#,
        ],
        "regex" => vec!["2026-11-19T14:02:00Z ERROR pool exhausted\n2026-11-19T14:02:01Z INFO ok"],
        "prometheus_text" => vec![
            "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{service=\"checkout\",code=\"503\"} 3 1795096920000\nup 1 1795096920000\n",
            "rpc_duration_seconds_bucket{le=\"0.5\"} 12 1795096920000\nx{a=\"\\\"q\\\\\"} NaN 1795096920000\n",
        ],
        "prometheus_json" => vec![
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"x"},"values":[[1795096920,"1"],[1795096980.5,"0"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up"},"value":[1795096920,"1"]}]}}"#,
        ],
        "github_deployments" => vec![
            r#"[{"id":1,"state":"success","creator":{"login":"octocat"},"description":"Deployment finished","environment":"production","created_at":"2026-11-19T13:58:00Z","deployment_url":"https://api.github.com/repos/acme/payments/deployments/42"}]"#,
        ],
        "launchdarkly_audit" => vec![
            r#"{"items":[{"_id":"6543","date":1795096920000,"kind":"flag","name":"New checkout","titleVerb":"turned on the flag","title":"Ann turned on New checkout","member":{"email":"ann@acme.io"},"accesses":[{"action":"updateOn","resource":"proj/default:env/production:flag/new-checkout"}]}]}"#,
        ],
        "k8s_events" => vec![
            r#"{"items":[{"metadata":{"name":"payments.1","namespace":"prod","uid":"u-1"},"involvedObject":{"kind":"Deployment","name":"payments","namespace":"prod"},"reason":"ScalingReplicaSet","message":"Scaled up","firstTimestamp":"2026-11-19T14:05:00Z","lastTimestamp":"2026-11-19T14:05:00Z","count":1}]}"#,
        ],
        "otlp_json" => vec![
            r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}}]},"scopeLogs":[{"scope":{"name":"pool"},"logRecords":[{"timeUnixNano":"1795096920000000000","severityNumber":17,"body":{"stringValue":"pool exhausted"},"traceId":"5b8e","attributes":[{"key":"pool.size","value":{"intValue":"20"}}]}]}]}]}"#,
        ],
        pattern => {
            let name = pattern.strip_prefix("pattern:").expect("a pattern format");
            let p = retrace::ingest::pattern::named(name).expect("a built-in pattern");
            vec![p.example]
        }
    };
    let mut seeds: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    // Several records in one object: multi-line objects, continuations, chunk borders.
    seeds.push(lines.join("\n").repeat(3).into_bytes());
    seeds
}

/// (format, kinds it is read as).
fn targets() -> Vec<(String, Vec<&'static str>)> {
    let mut t: Vec<(String, Vec<&'static str>)> = vec![
        ("jsonl".into(), vec!["logs", "metrics", "changes", "deploys"]),
        ("csv".into(), vec!["logs", "metrics", "changes", "deploys"]),
        ("logfmt".into(), vec!["logs", "changes"]),
        ("regex".into(), vec!["logs"]),
        ("prometheus_text".into(), vec!["metrics"]),
        ("prometheus_json".into(), vec!["metrics"]),
        ("github_deployments".into(), vec!["deploys"]),
        ("launchdarkly_audit".into(), vec!["changes"]),
        ("k8s_events".into(), vec!["changes"]),
        ("otlp_json".into(), vec!["logs"]),
    ];
    for p in retrace::ingest::pattern::PATTERNS {
        t.push((format!("pattern:{}", p.name), vec!["logs"]));
    }
    t
}

/// Parses `bytes` and checks what must always hold; a panic is a failure naming the input.
fn check_parse(format: &str, kind: &str, bytes: &[u8], what: &str) {
    let (src, f) = source(kind, format);
    check_parsed(&src, f, format, kind, bytes, what);
}

fn check_parsed(src: &retrace::config::Source, f: Format, format: &str, kind: &str, bytes: &[u8], what: &str) {
    // Two workers now and then: chunk borders and the in-order re-parse get their share.
    let workers = 1 + bytes.len() % 2;
    let run = std::panic::catch_unwind(AssertUnwindSafe(|| retrace::ingest::parse_bytes(src, f, bytes, workers)));
    match run {
        Err(_) => panic!("{format} as {kind} panicked on {what}: {:?}", String::from_utf8_lossy(bytes)),
        // An object that cannot be read at all (not UTF-8 where the format needs it, a
        // broken document) is an error for that object: allowed.
        Ok(Err(_)) => {}
        Ok(Ok(parsed)) => {
            // Nothing is lost: at most one record or reject per non-blank line for
            // line formats (documents may hold many records on a line).
            let lines = bytes.split(|&b| b == b'\n').count() as u64;
            let rejects: u64 = parsed.rejects.values().sum();
            if matches!(format, "logfmt" | "regex" | "prometheus_text") || format.starts_with("pattern:") {
                assert!(
                    parsed.rows + rejects + parsed.blank + parsed.merged <= lines + 1,
                    "{format}: {parsed:?} from {lines} lines of {what}"
                );
            }
        }
    }
}

#[test]
fn every_format_survives_mutated_and_random_input() {
    for (i, (format, kind, bytes)) in REGRESSIONS.iter().enumerate() {
        check_parse(format, kind, bytes, &format!("regression {i}"));
    }
    let budget = cases();
    for (t, (format, kinds)) in targets().into_iter().enumerate() {
        let seeds = seeds(&format);
        let refs: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
        // The seeds themselves parse to at least one row: the seeds are real input.
        let (src, f) = source(kinds[0], &format);
        let parsed: u64 = refs.iter().map(|s| retrace::ingest::parse_bytes(&src, f, s, 1).map_or(0, |p| p.rows)).sum();
        assert!(parsed > 0, "{format}: no seed parses");
        for kind in &kinds {
            let seed = 0x5eed_0000 + t as u64 * 31 + kind.len() as u64;
            let mut rng = Rng(seed);
            let (src, f) = source(kind, &format);
            for case in 0..budget / kinds.len() {
                let bytes = if case % 10 == 9 {
                    (0..rng.below(200)).map(|_| rng.next() as u8).collect()
                } else {
                    mutate(&mut rng, &refs)
                };
                check_parsed(&src, f, &format, kind, &bytes, &format!("seed {seed:#x} case {case}"));
            }
        }
    }
}

#[test]
fn the_config_parser_answers_every_input() {
    let seeds: Vec<&[u8]> = vec![
        include_bytes!("../samples/retrace.toml"),
        b"warehouse = \"s3://b/p\"\n[[sources]]\nkind = \"logs\"\nurl = \"x/*.log\"\nformat = \"pattern:nginx\"\ntimezone = \"Europe/Berlin\"\nskew = \"-250ms\"\n[redaction]\nallow = ['10\\\\..*']\n[[redaction.patterns]]\nname = \"c\"\nregex = 'cust-(\\d+)'\n",
        b"[[slo]]\nname = \"a\"\nservice = \"s\"\nobjective = 0.999\nperiod = \"7d\"\nsli = { kind = \"log_ratio\", bad = \"status >= 500\", total = \"status IS NOT NULL\" }\n",
    ];
    let mut rng = Rng(0xc0ff_ee00);
    for case in 0..cases() {
        let bytes = mutate(&mut rng, &seeds);
        let text = String::from_utf8_lossy(&bytes);
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| Config::parse(&text, std::path::Path::new("/"))));
        assert!(run.is_ok(), "config parser panicked on case {case}: {text:?}");
    }
}

#[test]
fn parameter_binding_answers_every_value() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ctx = datafusion::prelude::SessionContext::new();
    let plan = rt
        .block_on(ctx.state().create_logical_plan(
            "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a', 1.5, CAST('2026-11-19T00:00:00Z' AS TIMESTAMP))) t(i, s, f, ts) \
             WHERE i = $i AND s = $s AND f < $f AND ts >= $ts",
        ))
        .unwrap();
    let seeds: Vec<&[u8]> = vec![b"42", b"-7", b"3.25", b"2026-11-19T14:00Z", b"hello", b"1e308", b"true"];
    let mut rng = Rng(0xba5e_ba11);
    for case in 0..cases() {
        let values: Vec<String> = ["i", "s", "f", "ts"]
            .iter()
            .map(|k| format!("{k}={}", String::from_utf8_lossy(&mutate(&mut rng, &seeds))))
            .collect();
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let params = retrace::commands::parse_params(&values)?;
            retrace::commands::bind_params(plan.clone(), &params)
        }));
        assert!(run.is_ok(), "binding panicked on case {case}: {values:?}");
    }
}

/// Arbitrary text in every escaping function the renderers use: terminal control and
/// bidi characters never survive, Markdown cells never break their table.
#[test]
fn renderer_escaping_holds_for_any_text() {
    let seeds: Vec<&[u8]> = vec![
        b"<script>alert(1)</script> | `x` [l](javascript:y)",
        "\u{1b}]0;t\u{7}\u{1b}[2J evil\u{202E}gol \u{200B}zw".as_bytes(),
        b"line\nbreak\r\ttab \\| pipe",
    ];
    let mut rng = Rng(0x0e5c_a9e5);
    for case in 0..cases() * 3 {
        let text = String::from_utf8_lossy(&mutate(&mut rng, &seeds)).into_owned();
        let clean = retrace::display::clean(&text);
        assert!(
            !clean
                .chars()
                .any(|c| (c.is_control() && c != '\n' && c != '\t') || retrace::display::is_invisible_format(c)),
            "case {case}: {clean:?}"
        );
        let cell = retrace::output::md_cell(&text);
        assert!(!cell.contains('\n') && !cell.replace("\\|", "").contains('|'), "case {case}: {cell:?}");
        let escaped = retrace::display::escape(&text);
        assert!(!escaped.chars().any(|c| c.is_control()), "case {case}: {escaped:?}");
    }
}

/// The renderers on whole reports: log lines made of mutated hostile text become error
/// bursts and signatures in a report, rendered in every format. Whatever the text, the
/// Markdown tables keep their columns, the HTML holds no markup from the data, the JSON
/// parses, and no terminal control or invisible character is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_render_any_log_text_safely() {
    let seeds: Vec<&[u8]> = vec![
        b"<script>alert(1)</script> | `x` [l](javascript:y) <img src=x onerror=alert(1)>",
        "\u{1b}]0;t\u{7}\u{1b}[2J evil\u{202E}gol \u{200B}zw password=hunter22 \\| ]]>".as_bytes(),
        b"pool exhausted: max_connections=20 in_use=20 waiters=143 -- & &amp; &lt; \"q\" 'a'",
    ];
    let rounds = (cases() / 300).clamp(1, 10);
    let mut rng = Rng(0x4e90_0f00);
    for round in 0..rounds {
        let sb = crate::common::Sandbox::new();
        let mut logs = String::new();
        for k in 0..30 {
            let msg = String::from_utf8_lossy(&mutate(&mut rng, &seeds)).into_owned();
            for i in 0..5 {
                let line = serde_json::json!({
                    "ts": format!("2026-11-19T14:{:02}:{:02}Z", k, i * 10),
                    "service": format!("svc{}", k % 4),
                    "level": "error",
                    "msg": msg,
                });
                logs.push_str(&line.to_string());
                logs.push('\n');
            }
        }
        sb.write("l.jsonl", logs.as_bytes());
        let config = sb.config(&crate::common::source("logs", "sources/l.jsonl"));
        sb.ingest(&config).await;
        let r = sb.window_report(&config, round % 2 == 0).await;
        let md = retrace::report::markdown::render(&r);
        let html = retrace::report::html::render(&r).unwrap();
        let json = retrace::report::json::render(&r).unwrap();
        serde_json::from_str::<serde_json::Value>(&json).unwrap_or_else(|e| panic!("round {round}: JSON: {e}"));
        for (name, text) in [("md", &md), ("html", &html), ("json", &json)] {
            let bad = text
                .chars()
                .find(|&c| (c.is_control() && c != '\n' && c != '\t') || retrace::display::is_invisible_format(c));
            assert!(bad.is_none(), "round {round}: {name} holds {bad:?}");
        }
        // Text that spells a tag is shown escaped (`&lt;img …`), never as markup.
        for tag in ["<script", "<img"] {
            assert!(!html.contains(tag), "round {round}: {tag} in HTML");
        }
        crate::common::assert_markdown_tables_intact(&md, &format!("round {round}"));
    }
}
