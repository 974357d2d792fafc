//! `retrace.toml` → a validated [`Config`]: URLs resolved against the config file's folder,
//! time zones parsed, formats known, SLOs checked. Everything downstream takes `Config`
//! and never sees raw TOML (ripgrep's lowargs → hiargs split).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

pub mod openslo;
pub mod pattern;
pub mod promql;
pub mod redaction;
pub mod selector;
pub mod units;

use crate::error::{Error, Result};
use crate::tables::Kind;
use crate::warehouse::path_template::PathTemplate;
use crate::warehouse::store::StorageOptions;
use pattern::LinePattern;

pub const DEFAULT_CONFIG: &str = "retrace.toml";
pub const DEFAULT_WAREHOUSE: &str = "./warehouse";

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config was read from (`None`: defaults, no file).
    pub path: Option<PathBuf>,
    /// Warehouse URL or absolute local path.
    pub warehouse: String,
    pub display_timezone: Tz,
    pub sources: Vec<Source>,
    pub services: BTreeMap<String, Service>,
    pub slos: Vec<Slo>,
    /// SLOs of `slo_documents` that were left out, and why (a Datadog source, a Sloth
    /// plugin): said when the config loads.
    pub slo_refused: Vec<String>,
    /// Per-host clock-skew corrections (`[clock_skew]`): how far each host's clock runs
    /// ahead, in microseconds. Applied to every source at ingest.
    pub clock_skew: BTreeMap<String, i64>,
    /// Object-store settings (`[storage]`): endpoints, credentials, regions.
    pub storage: StorageOptions,
    /// Where suspects are looked for around a breach (`[suspects]`).
    pub suspects: SuspectOptions,
    /// What reports replace with placeholders (`[redaction]`, docs/reports.md, Hostile content and redaction).
    pub redaction: redaction::RedactionConfig,
    /// `retrace serve`'s settings (`[serve]`); its flags and environment override them.
    pub serve: ServeConfig,
    /// The Ballista cluster analyses run on (`[cluster]`); `--cluster` overrides it.
    pub cluster: ClusterConfig,
}

/// `[cluster]`: run `sql`, `slo`, `suspects`, `timeline`, `report` and `digest` on an
/// Apache Ballista cluster (docs/distributed.md). Needs a build with `--features cluster`.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The scheduler: `df://host:50050`.
    pub scheduler: Option<String>,
    /// How long a command may wait for the cluster before it gives up (30 minutes unless
    /// set): Ballista's client polls a job with no deadline of its own, and a job with no
    /// executor, or one whose executor died at the wrong moment, never ends.
    pub timeout: std::time::Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig { scheduler: None, timeout: std::time::Duration::from_secs(30 * 60) }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    scheduler: Option<String>,
    timeout: Option<String>,
}

/// `[serve]`: where `retrace serve` listens and who may connect (docs/serve.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// `host:port`.
    pub listen: Option<String>,
    /// The password clients give (SCRAM-SHA-256). `RETRACE_SERVE_PASSWORD` overrides it,
    /// and is the better place for it.
    pub password: Option<String>,
    /// PEM certificate chain and key for TLS; relative to the config file.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Source {
    /// Unique name (`--source NAME`); defaults to `<kind>-<n>`.
    pub name: String,
    pub kind: Kind,
    /// Object-store URL or absolute local path, possibly with a glob.
    pub url: String,
    /// `None`: decided per object from its extension.
    pub format: Option<Format>,
    /// Zone for naive timestamps in this source.
    pub timezone: Tz,
    /// Service for records that name none.
    pub service: Option<String>,
    /// Host for records that name none (`host`): formats without a host field are
    /// collected one file per host.
    pub host: Option<String>,
    /// Other constant fields (`fields = { env = "prod" }`): a column of the kind, else an
    /// attribute (a label for metrics).
    pub fields: BTreeMap<String, String>,
    /// When records without a time of their own were taken (`scrape_time`).
    pub scrape_time: Option<ScrapeTime>,
    /// The metric name of `query_range` series that carry no `__name__` (`metric`).
    pub metric: Option<String>,
    /// The day of `notes` lines whose heading and line name none (`date`).
    pub date: Option<chrono::NaiveDate>,
    /// strftime format of the timestamp field (`ts_format`); `None`: detect the shape.
    pub ts_format: Option<String>,
    /// Year for year-less timestamps (`year`); `None`: the object's modification year.
    pub year: Option<i32>,
    /// The user pattern of `format = "regex"`.
    pub regex: Option<LinePattern>,
    /// Source-wide clock skew (`skew`), microseconds the source's clocks run ahead.
    pub skew: Option<i64>,
    /// Declares which stream the source's objects belong to (`stream`): sources that
    /// name the same stream are overlapping exports of it, so identical rows without a
    /// host are one record. `None`: each object's file lineage is its stream.
    pub stream: Option<String>,
}

/// The time of a plain Prometheus scrape, which carries none (`scrape_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeTime {
    /// The object's last-modified time: when the scrape was written.
    ObjectModified,
    At(chrono::DateTime<chrono::Utc>),
}

impl ScrapeTime {
    fn parse(text: &str) -> std::result::Result<ScrapeTime, String> {
        if text == "object_modified" {
            return Ok(ScrapeTime::ObjectModified);
        }
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| ScrapeTime::At(t.to_utc()))
            .map_err(|e| format!("`{text}` is neither \"object_modified\" nor an RFC 3339 time ({e})"))
    }
}

/// How far before the onset candidates are looked for, and how far after.
#[derive(Debug, Clone, Copy)]
pub struct SuspectOptions {
    pub lookback: chrono::Duration,
    pub grace: chrono::Duration,
}

impl Default for SuspectOptions {
    fn default() -> Self {
        SuspectOptions { lookback: chrono::Duration::hours(6), grace: chrono::Duration::minutes(2) }
    }
}

/// How a source's objects are read. `docs/formats.md` describes each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Logfmt,
    /// A built-in text pattern, by name (`pattern:syslog`).
    Pattern(&'static str),
    /// The source's own regex (`regex = '…'`).
    Regex,
    PrometheusText,
    PrometheusJson,
    GithubDeployments,
    LaunchdarklyAudit,
    K8sEvents,
    OtlpJson,
    Alertmanager,
    Pagerduty,
    Slack,
    GrafanaAnnotations,
    /// A facilitator's notes: lines that start with a time.
    Notes,
    /// A plain chat transcript: timed lines with a speaker (`[14:05] <dana> …`).
    Chat,
    Opsgenie,
    Statuspage,
}

/// Every format name `format =` accepts, for messages and `retrace formats`.
pub const FORMAT_NAMES: &str = "jsonl, csv, logfmt, pattern:<name>, regex, prometheus_text, prometheus_json, \
     github_deployments, launchdarkly_audit, k8s_events, otlp_json, alertmanager, pagerduty, slack, grafana_annotations, notes, chat, opsgenie, statuspage";

impl Format {
    pub fn parse(s: &str) -> std::result::Result<Format, String> {
        Ok(match s {
            "jsonl" | "ndjson" | "json" => Format::Jsonl,
            "csv" => Format::Csv,
            "logfmt" => Format::Logfmt,
            "regex" => Format::Regex,
            "prometheus_text" | "prometheus" => Format::PrometheusText,
            "prometheus_json" => Format::PrometheusJson,
            "github_deployments" => Format::GithubDeployments,
            "launchdarkly_audit" => Format::LaunchdarklyAudit,
            "k8s_events" => Format::K8sEvents,
            "otlp_json" | "otlp" => Format::OtlpJson,
            "alertmanager" => Format::Alertmanager,
            "pagerduty" => Format::Pagerduty,
            "slack" => Format::Slack,
            "grafana_annotations" => Format::GrafanaAnnotations,
            "notes" => Format::Notes,
            "chat" => Format::Chat,
            "opsgenie" => Format::Opsgenie,
            "statuspage" => Format::Statuspage,
            other => match other.strip_prefix("pattern:") {
                Some(name) => match pattern::named(name) {
                    Some(p) => Format::Pattern(p.name),
                    None => {
                        let known: Vec<&str> = pattern::PATTERNS.iter().map(|p| p.name).collect();
                        return Err(format!("unknown pattern `{name}`; built-in: {}", known.join(", ")));
                    }
                },
                None => return Err(format!("unknown format `{other}`; known: {FORMAT_NAMES}")),
            },
        })
    }

    /// The format an object's name implies (`x.jsonl.gz` → jsonl), if any.
    pub fn from_object_name(name: &str) -> Option<Format> {
        let base = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".zst")).unwrap_or(name);
        let ext = base.rsplit_once('.')?.1;
        match ext {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "logfmt" => Some(Format::Logfmt),
            "prom" => Some(Format::PrometheusText),
            _ => None,
        }
    }

    /// The kinds a format can fill; `None`: any kind.
    pub fn kinds(self) -> Option<&'static [Kind]> {
        match self {
            Format::PrometheusText => Some(&[Kind::Metrics]),
            // `ALERTS` into events.
            Format::PrometheusJson => Some(&[Kind::Metrics, Kind::Events]),
            Format::Alertmanager
            | Format::Pagerduty
            | Format::Slack
            | Format::GrafanaAnnotations
            | Format::Notes
            | Format::Chat
            | Format::Opsgenie
            | Format::Statuspage => Some(&[Kind::Events]),
            Format::GithubDeployments => Some(&[Kind::Deploys]),
            Format::LaunchdarklyAudit | Format::K8sEvents => Some(&[Kind::Changes]),
            Format::Pattern(_) => Some(&[Kind::Logs]),
            Format::OtlpJson => Some(&[Kind::Logs, Kind::Metrics]),
            _ => None,
        }
    }

    pub fn name(self) -> String {
        match self {
            Format::Jsonl => "jsonl".into(),
            Format::Csv => "csv".into(),
            Format::Logfmt => "logfmt".into(),
            Format::Pattern(p) => format!("pattern:{p}"),
            Format::Regex => "regex".into(),
            Format::PrometheusText => "prometheus_text".into(),
            Format::PrometheusJson => "prometheus_json".into(),
            Format::GithubDeployments => "github_deployments".into(),
            Format::LaunchdarklyAudit => "launchdarkly_audit".into(),
            Format::K8sEvents => "k8s_events".into(),
            Format::OtlpJson => "otlp_json".into(),
            Format::Alertmanager => "alertmanager".into(),
            Format::Pagerduty => "pagerduty".into(),
            Format::Slack => "slack".into(),
            Format::GrafanaAnnotations => "grafana_annotations".into(),
            Format::Notes => "notes".into(),
            Format::Chat => "chat".into(),
            Format::Opsgenie => "opsgenie".into(),
            Format::Statuspage => "statuspage".into(),
        }
    }
}

/// `+2.5s`, `-300ms`, `1m` → signed microseconds (clock skew).
pub fn parse_offset(s: &str) -> std::result::Result<i64, String> {
    let t = s.trim();
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    let split = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
    let (num, unit) = body.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not an offset; use e.g. +2.5s, -300ms, 1m"))?;
    let scale = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" | "" => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        other => return Err(format!("`{s}`: unknown unit `{other}`; use us, ms, s, m or h")),
    };
    Ok((sign * n * scale).round() as i64)
}

#[derive(Debug, Clone, Default)]
pub struct Service {
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Slo {
    pub name: String,
    pub service: String,
    pub objective: f64,
    pub period: chrono::Duration,
    pub sli: Sli,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    /// Ratio of two counter selectors, e.g. `http_requests_total{service="x",code=~"5.."}`:
    /// increases per minute, with counter resets handled.
    Ratio { bad: String, total: String },
    /// Ratio of two gauge selectors (per-minute means, summed over series).
    GaugeRatio { bad: String, total: String },
    /// Share of requests slower than `threshold`: from a histogram's cumulative buckets
    /// (`histogram` is the `_bucket` selector, `threshold` an `le` value in the metric's
    /// unit), or, without `histogram`, from the service's log `latency_ms`
    /// (`threshold` in milliseconds).
    Latency { histogram: Option<String>, threshold: f64 },
    /// Ratio of two SQL predicates over the service's log lines.
    LogRatio { bad: String, total: String },
    /// `total − good` over `total` (OpenSLO `ratioMetric.good`); counters or gauges.
    GoodRatio { good: String, total: String, counter: bool },
    /// PromQL queries as SLO tools write them (`sum(rate(x{code=~"5.."}[5m]))`): per minute,
    /// `bad` (or `total − good`) over `total`, each query's value at the minute's end.
    PromQl { bad: Option<String>, good: Option<String>, total: String },
    /// A PromQL error ratio (Sloth's `raw`, an OpenSLO `rawMetric`): each minute's SLI is
    /// its value.
    PromQlRatio { ratio: String },
    /// A PromQL value against a threshold (an OpenSLO `thresholdMetric` query): a minute
    /// whose value is on the wrong side of `op value` is bad.
    PromQlThreshold { query: String, op: String, value: f64 },
    /// Share of samples on the wrong side of a threshold (OpenSLO `thresholdMetric`):
    /// `op` is the good side (`lt`, `lte`, `gt`, `gte`) of `value`.
    Threshold { selector: String, op: String, value: f64 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    warehouse: Option<String>,
    display_timezone: Option<String>,
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    services: BTreeMap<String, RawService>,
    #[serde(default)]
    slo: Vec<RawSlo>,
    #[serde(default)]
    clock_skew: BTreeMap<String, String>,
    #[serde(default)]
    storage: BTreeMap<String, String>,
    /// OpenSLO, Sloth and Pyrra YAML files (paths or globs, relative to the config).
    #[serde(default)]
    slo_documents: Vec<String>,
    /// The older name of `slo_documents`.
    #[serde(default)]
    openslo: Vec<String>,
    suspects: Option<RawSuspects>,
    redaction: Option<redaction::RedactionConfig>,
    serve: Option<ServeConfig>,
    cluster: Option<RawCluster>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuspects {
    lookback: Option<String>,
    grace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Option<String>,
    kind: Kind,
    url: String,
    format: Option<String>,
    timezone: Option<String>,
    service: Option<String>,
    host: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    scrape_time: Option<String>,
    metric: Option<String>,
    date: Option<String>,
    ts_format: Option<String>,
    year: Option<i32>,
    regex: Option<String>,
    #[serde(default)]
    multiline: bool,
    skew: Option<String>,
    stream: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    #[serde(default)]
    depends_on: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: String,
    service: String,
    objective: f64,
    #[serde(default = "default_period")]
    period: String,
    sli: RawSli,
}

fn default_period() -> String {
    "30d".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSli {
    kind: String,
    bad: Option<String>,
    total: Option<String>,
    histogram: Option<String>,
    threshold: Option<f64>,
}

impl Source {
    /// The fields every record of the source has unless it says otherwise.
    pub fn constants(&self) -> Vec<(String, String)> {
        let named = [("service", &self.service), ("host", &self.host)];
        let named = named.into_iter().filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())));
        named.chain(self.fields.iter().map(|(k, v)| (k.clone(), v.clone()))).collect()
    }
}

impl Config {
    /// Loads the config. An explicitly named file must exist; the default
    /// `./retrace.toml` is optional (then: defaults, no sources).
    pub fn load(explicit: Option<&Path>, warehouse_override: Option<&str>) -> Result<Config> {
        let mut config = match explicit {
            Some(path) => Config::from_file(path)?,
            None if Path::new(DEFAULT_CONFIG).is_file() => Config::from_file(Path::new(DEFAULT_CONFIG))?,
            None => Config::defaults(),
        };
        if let Some(w) = warehouse_override {
            config.warehouse = resolve_location(w, &std::env::current_dir().map_err(|e| Error::io(".", e))?);
        }
        Ok(config)
    }

    pub fn defaults() -> Config {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Config {
            path: None,
            warehouse: resolve_location(DEFAULT_WAREHOUSE, &cwd),
            display_timezone: Tz::UTC,
            sources: Vec::new(),
            services: BTreeMap::new(),
            slos: Vec::new(),
            slo_refused: Vec::new(),
            clock_skew: BTreeMap::new(),
            storage: StorageOptions::default(),
            suspects: Default::default(),
            redaction: Default::default(),
            serve: Default::default(),
            cluster: Default::default(),
        }
    }

    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config { path: path.display().to_string(), message: format!("cannot read: {e}") })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::path::absolute(&base).map_err(|e| Error::io(base.display(), e))?;
        Config::parse(&text, &base).map_err(|message| Error::Config { path: path.display().to_string(), message }).map(
            |mut c| {
                c.path = Some(path.to_path_buf());
                c
            },
        )
    }

    /// Parses TOML text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> std::result::Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let display_timezone = parse_tz(raw.display_timezone.as_deref().unwrap_or("UTC"), "display_timezone")?;
        let warehouse = resolve_location(raw.warehouse.as_deref().unwrap_or(DEFAULT_WAREHOUSE), base);

        let mut sources = Vec::new();
        let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
        for (i, s) in raw.sources.into_iter().enumerate() {
            let n = counts.entry(s.kind).or_default();
            *n += 1;
            let name = s.name.unwrap_or_else(|| format!("{}-{}", s.kind.source_name(), n));
            let at = format!("sources[{i}] ({name})");
            if sources.iter().any(|o: &Source| o.name == name) {
                return Err(format!("{at}: duplicate source name `{name}`"));
            }
            // `auto` is the default: each object's format is worked out from its start.
            let format = s
                .format
                .as_deref()
                .filter(|f| *f != "auto")
                .map(Format::parse)
                .transpose()
                .map_err(|e| format!("{at}.format: {e}"))?;
            let timezone = parse_tz(s.timezone.as_deref().unwrap_or("UTC"), &format!("{at}.timezone"))?;
            if s.url.trim().is_empty() {
                return Err(format!("{at}.url is empty"));
            }
            if let Some(allowed) = format.and_then(Format::kinds)
                && !allowed.contains(&s.kind)
            {
                let names: Vec<&str> = allowed.iter().map(|k| k.source_name()).collect();
                return Err(format!(
                    "{at}.format: `{}` fills {}, not {}",
                    format.map(Format::name).unwrap_or_default(),
                    names.join(", "),
                    s.kind.source_name()
                ));
            }
            let regex = match (&s.regex, format) {
                (Some(r), Some(Format::Regex)) => Some(
                    LinePattern::user(r, s.ts_format.clone(), s.multiline).map_err(|e| format!("{at}.regex: {e}"))?,
                ),
                (None, Some(Format::Regex)) => {
                    return Err(format!("{at}: format `regex` needs a `regex` with named groups"));
                }
                (Some(_), _) => return Err(format!("{at}.regex is only used with format = \"regex\"")),
                (None, _) => None,
            };
            if let Some(f) = &s.ts_format {
                check_ts_format(f).map_err(|e| format!("{at}.ts_format: {e}"))?;
            }
            if let Some(y) = s.year
                && !(2000..2100).contains(&y)
            {
                return Err(format!("{at}.year: {y} is outside 2000..2100"));
            }
            let skew = s.skew.as_deref().map(parse_offset).transpose().map_err(|e| format!("{at}.skew: {e}"))?;
            let url = resolve_location(&s.url, base);
            let placeholders = PathTemplate::split(&url)
                .map_err(|e| format!("{at}.url: {e}"))?
                .1
                .map(|t| t.names().to_vec())
                .unwrap_or_default();
            let constants = [("service", s.service.as_ref()), ("host", s.host.as_ref())]
                .into_iter()
                .filter_map(|(k, v)| v.map(|_| k))
                .chain(s.fields.keys().map(String::as_str));
            if placeholders.iter().any(|p| p == "ts") {
                return Err(format!("{at}.url: `{{ts}}` is the record's own time; a path cannot set it"));
            }
            for name in constants {
                if placeholders.iter().any(|p| p == name) {
                    return Err(format!(
                        "{at}: `{name}` is both a constant and a `{{{name}}}` placeholder of the url; keep one"
                    ));
                }
                if name == "ts" {
                    return Err(format!("{at}.fields: `ts` is the record's own time; a source cannot set it"));
                }
            }
            if let Some(dup) = s.fields.keys().find(|k| matches!(k.as_str(), "service" | "host")) {
                return Err(format!("{at}.fields: set `{dup}` as `{dup} = \"…\"` on the source"));
            }
            let scrape_time = s
                .scrape_time
                .as_deref()
                .map(ScrapeTime::parse)
                .transpose()
                .map_err(|e| format!("{at}.scrape_time: {e}"))?;
            if (scrape_time.is_some() || s.metric.is_some()) && s.kind != Kind::Metrics {
                return Err(format!("{at}: `scrape_time` and `metric` are for metrics sources, not {}", s.kind));
            }
            if let Some(m) = s.metric.as_deref().filter(|m| m.trim().is_empty() || m.contains(char::is_whitespace)) {
                return Err(format!("{at}.metric: `{m}` is not a metric name"));
            }
            let date = s
                .date
                .as_deref()
                .map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d"))
                .transpose()
                .map_err(|e| format!("{at}.date: expected YYYY-MM-DD ({e})"))?;
            sources.push(Source {
                name,
                kind: s.kind,
                url,
                format,
                timezone,
                service: s.service,
                host: s.host,
                fields: s.fields,
                scrape_time,
                metric: s.metric,
                date,
                ts_format: s.ts_format,
                year: s.year,
                regex,
                skew,
                stream: s.stream,
            });
        }

        let services = raw
            .services
            .into_iter()
            .map(|(name, s)| (name, Service { depends_on: s.depends_on }))
            .collect::<BTreeMap<_, _>>();
        for (name, s) in &services {
            if let Some(dep) = s.depends_on.iter().find(|d| *d == name) {
                return Err(format!("services.{name}.depends_on names itself (`{dep}`)"));
            }
        }

        let mut slos = Vec::new();
        for (i, s) in raw.slo.into_iter().enumerate() {
            let at = format!("slo[{i}] ({})", s.name);
            if !(s.objective > 0.0 && s.objective < 1.0) {
                return Err(format!("{at}.objective must be between 0 and 1 exclusive, got {}", s.objective));
            }
            let period = units::parse_duration(&s.period).map_err(|e| format!("{at}.period: {e}"))?;
            let sli = parse_sli(s.sli).map_err(|e| format!("{at}.sli{e}"))?;
            if slos.iter().any(|o: &Slo| o.name == s.name) {
                return Err(format!("{at}: duplicate SLO name"));
            }
            slos.push(Slo { name: s.name, service: s.service, objective: s.objective, period, sli });
        }

        let documents: Vec<String> = raw.slo_documents.into_iter().chain(raw.openslo).collect();
        let mut slo_refused = Vec::new();
        if !documents.is_empty() {
            let files = openslo::files(&documents, base)?;
            let loaded = openslo::load(&files)?;
            for s in loaded.slos {
                if slos.iter().any(|o: &Slo| o.name == s.name) {
                    return Err(format!("slo_documents: SLO `{}` is also defined in [[slo]]", s.name));
                }
                slos.push(s);
            }
            for message in &loaded.refused {
                tracing::warn!("{message}; this SLO is left out.");
            }
            slo_refused = loaded.refused;
        }

        let mut clock_skew = BTreeMap::new();
        for (host, offset) in raw.clock_skew {
            let micros = parse_offset(&offset).map_err(|e| format!("clock_skew.{host}: {e}"))?;
            clock_skew.insert(host, micros);
        }

        let storage = StorageOptions::new(raw.storage);
        storage.validate()?;

        let mut suspects = SuspectOptions::default();
        if let Some(raw) = raw.suspects {
            if let Some(l) = raw.lookback {
                suspects.lookback = units::parse_duration(&l).map_err(|e| format!("suspects.lookback: {e}"))?;
            }
            if let Some(g) = raw.grace {
                suspects.grace = units::parse_duration(&g).map_err(|e| format!("suspects.grace: {e}"))?;
            }
        }

        let mut cluster = ClusterConfig::default();
        if let Some(raw) = raw.cluster {
            cluster.scheduler = raw.scheduler;
            if let Some(text) = raw.timeout {
                cluster.timeout = units::parse_duration(&text)
                    .ok()
                    .and_then(|d| d.to_std().ok())
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| format!("[cluster] timeout `{text}` is not a duration (e.g. 30m, 2h)"))?;
            }
        }

        let redaction = raw.redaction.unwrap_or_default();
        redaction.validate()?;

        let mut serve = raw.serve.unwrap_or_default();
        for path in [&mut serve.tls_cert, &mut serve.tls_key].into_iter().flatten() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }

        Ok(Config {
            path: None,
            warehouse,
            display_timezone,
            sources,
            services,
            slos,
            slo_refused,
            clock_skew,
            storage,
            suspects,
            redaction,
            serve,
            cluster,
        })
    }
}

fn parse_sli(raw: RawSli) -> std::result::Result<Sli, String> {
    let pair = |raw: &RawSli| match (&raw.bad, &raw.total) {
        (Some(b), Some(t)) => Ok((b.clone(), t.clone())),
        _ => Err(format!(": kind `{}` needs `bad` and `total`", raw.kind)),
    };
    Ok(match raw.kind.as_str() {
        "ratio" => {
            let (bad, total) = pair(&raw)?;
            selector::Selector::parse(&bad).map_err(|e| format!(".bad: {e}"))?;
            selector::Selector::parse(&total).map_err(|e| format!(".total: {e}"))?;
            Sli::Ratio { bad, total }
        }
        "gauge_ratio" => {
            let (bad, total) = pair(&raw)?;
            selector::Selector::parse(&bad).map_err(|e| format!(".bad: {e}"))?;
            selector::Selector::parse(&total).map_err(|e| format!(".total: {e}"))?;
            Sli::GaugeRatio { bad, total }
        }
        "log_ratio" => {
            let (bad, total) = pair(&raw)?;
            Sli::LogRatio { bad, total }
        }
        "latency" => {
            let threshold = raw.threshold.ok_or(": kind `latency` needs `threshold`")?;
            if let Some(h) = &raw.histogram {
                selector::Selector::parse(h).map_err(|e| format!(".histogram: {e}"))?;
            }
            Sli::Latency { histogram: raw.histogram, threshold }
        }
        "promql" => {
            let (bad, total) = pair(&raw)?;
            promql::Query::parse(&bad).map_err(|e| format!(".bad: {e}"))?;
            promql::Query::parse(&total).map_err(|e| format!(".total: {e}"))?;
            Sli::PromQl { bad: Some(bad), good: None, total }
        }
        other => {
            return Err(format!(".kind: unknown `{other}`; known: ratio, gauge_ratio, latency, log_ratio, promql"));
        }
    })
}

/// A strftime format must parse as one and name at least the time of day.
fn check_ts_format(f: &str) -> std::result::Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
        return Err(format!("`{f}` is not a valid strftime format"));
    }
    if !f.contains("%H") && !f.contains("%T") && !f.contains("%I") && !f.contains("%s") {
        return Err(format!("`{f}` has no hour (%H, %I or %T)"));
    }
    Ok(())
}

pub fn parse_tz(name: &str, field: &str) -> std::result::Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("{field}: `{name}` is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"))
}

/// A URL stays as it is; a local path becomes absolute against `base`.
pub fn resolve_location(location: &str, base: &Path) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let p = Path::new(location);
    let joined = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    normalize(&joined).display().to_string()
}

/// Removes `.` and `..` segments without touching the file system (the path may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
warehouse = "wh"
display_timezone = "Europe/Berlin"

[[sources]]
kind = "logs"
url = "data/logs/*/*.jsonl.gz"

[[sources]]
name = "cfg"
kind = "changes"
url = "s3://bucket/changes/"
format = "jsonl"
timezone = "America/New_York"

[services.checkout]
depends_on = ["payments"]

[[slo]]
name = "checkout-availability"
service = "checkout"
objective = 0.999
sli = { kind = "ratio", bad = 'x{code=~"5.."}', total = "x" }
"#;

    #[test]
    fn parses_and_resolves_relative_paths() {
        let c = Config::parse(SAMPLE, Path::new("/etc/retrace")).unwrap();
        assert_eq!(c.warehouse, "/etc/retrace/wh");
        assert_eq!(c.display_timezone, chrono_tz::Europe::Berlin);
        assert_eq!(c.sources[0].name, "logs-1");
        assert_eq!(c.sources[0].url, "/etc/retrace/data/logs/*/*.jsonl.gz");
        assert_eq!(c.sources[0].format, None);
        assert_eq!(c.sources[1].url, "s3://bucket/changes/");
        assert_eq!(c.sources[1].timezone, chrono_tz::America::New_York);
        assert_eq!(c.services["checkout"].depends_on, vec!["payments"]);
        assert_eq!(c.slos[0].period, chrono::Duration::days(30));
        assert!(matches!(c.slos[0].sli, Sli::Ratio { .. }));
    }

    #[test]
    fn errors_name_the_field() {
        let bad_tz = SAMPLE.replace("America/New_York", "Mars/Olympus");
        let e = Config::parse(&bad_tz, Path::new("/")).unwrap_err();
        assert!(e.contains("sources[1] (cfg).timezone") && e.contains("Mars/Olympus"), "{e}");

        let bad_obj = SAMPLE.replace("0.999", "99.9");
        let e = Config::parse(&bad_obj, Path::new("/")).unwrap_err();
        assert!(e.contains("objective must be between 0 and 1"), "{e}");

        let typo = SAMPLE.replace("display_timezone", "display_tz");
        let e = Config::parse(&typo, Path::new("/")).unwrap_err();
        assert!(e.contains("display_tz"), "{e}");

        let fmt = SAMPLE.replace("format = \"jsonl\"", "format = \"xml\"");
        let e = Config::parse(&fmt, Path::new("/")).unwrap_err();
        assert!(e.contains("unknown format `xml`"), "{e}");

        let wrong_kind = SAMPLE.replace("format = \"jsonl\"", "format = \"prometheus_json\"");
        let e = Config::parse(&wrong_kind, Path::new("/")).unwrap_err();
        assert!(e.contains("`prometheus_json` fills metrics, events, not changes"), "{e}");

        let pat = SAMPLE.replace("format = \"jsonl\"", "format = \"pattern:syslgo\"");
        let e = Config::parse(&pat, Path::new("/")).unwrap_err();
        assert!(e.contains("unknown pattern `syslgo`") && e.contains("syslog5424"), "{e}");

        let no_regex = SAMPLE.replace("format = \"jsonl\"", "format = \"regex\"");
        let e = Config::parse(&no_regex, Path::new("/")).unwrap_err();
        assert!(e.contains("needs a `regex`"), "{e}");

        let bad_fmt = SAMPLE.replace("format = \"jsonl\"", "format = \"jsonl\"\nts_format = \"%Y-%m-%d\"");
        let e = Config::parse(&bad_fmt, Path::new("/")).unwrap_err();
        assert!(e.contains("sources[1] (cfg).ts_format") && e.contains("no hour"), "{e}");

        let skew = format!("{SAMPLE}\n[clock_skew]\nweb-3 = \"soon\"\n");
        let e = Config::parse(&skew, Path::new("/")).unwrap_err();
        assert!(e.contains("clock_skew.web-3"), "{e}");
    }

    #[test]
    fn redaction_section_parses_and_is_validated() {
        let c = Config::parse(
            "[redaction]\nrules = [\"email\", \"ipv4\"]\nallow = ['10\\\\..*']\n[[redaction.patterns]]\nname = \"customer\"\nregex = 'cust-(\\d+)'\n",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(c.redaction.rules, ["email", "ipv4"]);
        assert_eq!(c.redaction.patterns[0].name, "customer");
        assert!(c.redaction.enabled);
        assert_eq!(Config::parse("", Path::new("/")).unwrap().redaction, Default::default());
        let bad = Config::parse("[redaction]\nrules = [\"phone\"]\n", Path::new("/")).unwrap_err();
        assert!(bad.contains("unknown rule `phone`"), "{bad}");
        let bad = Config::parse("[redaction]\nallow = [\"(\"]\n", Path::new("/")).unwrap_err();
        assert!(bad.contains("redaction.allow"), "{bad}");
        let typo = Config::parse("[redaction]\nenable = false\n", Path::new("/")).unwrap_err();
        assert!(typo.contains("enable"), "{typo}");
    }

    #[test]
    fn text_sources_and_skew() {
        let text = r#"
[[sources]]
kind = "logs"
url = "/var/log/app/*.log"
format = "regex"
regex = '^(?P<ts>\S+ \S+) (?P<level>\w+) (?P<msg>.*)$'
ts_format = "%Y-%m-%d %H:%M:%S"
year = 2024
skew = "-1.5s"

[clock_skew]
"web-3" = "+250ms"
"#;
        let c = Config::parse(text, Path::new("/")).unwrap();
        let s = &c.sources[0];
        assert_eq!(s.format, Some(Format::Regex));
        assert!(s.regex.is_some());
        assert_eq!((s.year, s.skew), (Some(2024), Some(-1_500_000)));
        assert_eq!(c.clock_skew["web-3"], 250_000);
        assert_eq!(Format::parse("pattern:klog"), Ok(Format::Pattern("klog")));
        assert_eq!(parse_offset("-2m"), Ok(-120_000_000));
        let with = Config::parse("[suspects]\nlookback = \"12h\"\ngrace = \"5m\"\n", Path::new("/")).unwrap();
        assert_eq!(
            (with.suspects.lookback, with.suspects.grace),
            (chrono::Duration::hours(12), chrono::Duration::minutes(5))
        );
    }

    #[test]
    fn format_from_object_name() {
        assert_eq!(Format::from_object_name("a/b.jsonl.gz"), Some(Format::Jsonl));
        assert_eq!(Format::from_object_name("b.csv.zst"), Some(Format::Csv));
        assert_eq!(Format::from_object_name("b.ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::from_object_name("b.log"), None);
        assert_eq!(Format::from_object_name("noext"), None);
    }

    #[test]
    fn locations_resolve() {
        assert_eq!(resolve_location("./a/../b", Path::new("/x")), "/x/b");
        assert_eq!(resolve_location("/abs", Path::new("/x")), "/abs");
        assert_eq!(resolve_location("gs://b/p", Path::new("/x")), "gs://b/p");
    }
}
