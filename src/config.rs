//! `retrace.toml` → a validated [`Config`]: URLs resolved against the config file's folder,
//! time zones parsed, formats known, SLOs checked. Everything downstream takes `Config`
//! and never sees raw TOML (ripgrep's lowargs → hiargs split).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::tables::Kind;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> std::result::Result<Format, String> {
        match s {
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "logfmt" | "regex" | "prometheus_json" => {
                Err(format!("format `{s}` is part of the contract but not implemented yet"))
            }
            other if other.starts_with("pattern:") => {
                Err(format!("format `{s}`: named text patterns are not implemented yet"))
            }
            other => Err(format!("unknown format `{other}`; known: jsonl, csv")),
        }
    }

    /// The format an object's name implies (`x.jsonl.gz` → jsonl), if any.
    pub fn from_object_name(name: &str) -> Option<Format> {
        let base = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".zst")).unwrap_or(name);
        let ext = base.rsplit_once('.')?.1;
        match ext {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
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
    /// Ratio of two metric selectors, e.g. `http_requests_total{service="x",code=~"5.."}`.
    Ratio { bad: String, total: String },
    /// Ratio of two SQL predicates over the service's log lines.
    LogRatio { bad: String, total: String },
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
    bad: String,
    total: String,
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
            let name = s.name.unwrap_or_else(|| format!("{}-{}", s.kind, n));
            let at = format!("sources[{i}] ({name})");
            if sources.iter().any(|o: &Source| o.name == name) {
                return Err(format!("{at}: duplicate source name `{name}`"));
            }
            let format = s.format.as_deref().map(Format::parse).transpose().map_err(|e| format!("{at}.format: {e}"))?;
            let timezone = parse_tz(s.timezone.as_deref().unwrap_or("UTC"), &format!("{at}.timezone"))?;
            if s.url.trim().is_empty() {
                return Err(format!("{at}.url is empty"));
            }
            sources.push(Source {
                name,
                kind: s.kind,
                url: resolve_location(&s.url, base),
                format,
                timezone,
                service: s.service,
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
            let period = crate::cli::parse_duration(&s.period).map_err(|e| format!("{at}.period: {e}"))?;
            let sli = match s.sli.kind.as_str() {
                "ratio" => Sli::Ratio { bad: s.sli.bad, total: s.sli.total },
                "log_ratio" => Sli::LogRatio { bad: s.sli.bad, total: s.sli.total },
                other => return Err(format!("{at}.sli.kind: unknown `{other}`; known: ratio, log_ratio")),
            };
            if slos.iter().any(|o: &Slo| o.name == s.name) {
                return Err(format!("{at}: duplicate SLO name"));
            }
            slos.push(Slo { name: s.name, service: s.service, objective: s.objective, period, sli });
        }

        Ok(Config { path: None, warehouse, display_timezone, sources, services, slos })
    }
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
