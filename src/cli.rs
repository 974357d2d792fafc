//! Command-line interface: clap derive only. Parsing of typed values (times, durations)
//! lives in small `value_parser` functions with unit tests; behaviour lives in `commands`.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

// The formats belong to the output stage; the command line names them.
pub use crate::output::{DocFormat, OutputFormat};

const EXAMPLES: &str = "\
Examples:
  retrace demo                                   run the whole pipeline on the bundled sample
  retrace ingest                                 ingest every [[sources]] of ./retrace.toml
  retrace sql \"SELECT service, count(*) FROM logs GROUP BY 1\"
  retrace sql -f queries/errors_per_minute.sql --format csv
  retrace timeline --from 2026-11-19T13:30Z --to 2026-11-19T15:00Z --service payments
  retrace report                                 the most recent SLO breach: report.md, .html, .json
  retrace report --breach checkout-availability@2026-11-19T14:09Z --format html --charts png
  retrace report --from 2026-11-19T13:30Z --to 2026-11-19T15:00Z --out reports/incident
  retrace digest --week 2026-W47 --fail-on budget-exhausted
  retrace skew --from 2026-11-19T00:00Z --to 2026-11-20T00:00Z

Object stores (s3://, gs://, az://, http(s)://): credentials and endpoints come from the
usual environment variables (AWS_ACCESS_KEY_ID, AWS_ENDPOINT, GOOGLE_SERVICE_ACCOUNT, …)
or the config's [storage] table. Transient failures (5xx, timeouts, resets) are retried
up to 5 times with exponential back-off from 100 ms to 10 s, for at most 2 minutes per
request.";

/// Reconstruct incident timelines from logs, metrics, config changes and deploys.
#[derive(Debug, Parser)]
#[command(name = "retrace", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every verb accepts, before or after it.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./retrace.toml, optional unless given]
    #[arg(long, global = true, env = "RETRACE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Warehouse location (a directory or s3://, gs://, az://, file:// URL); overrides the config
    #[arg(long, global = true, env = "RETRACE_WAREHOUSE", value_name = "URL")]
    pub warehouse: Option<String>,

    /// More diagnostics on stderr (-v: debug, -vv: trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr, no progress bars
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Run queries on this Ballista scheduler (`df://host:50050`); overrides `[cluster]`
    /// (a build with `--features cluster`; docs/distributed.md)
    #[arg(long, global = true, env = "RETRACE_CLUSTER", value_name = "URL")]
    pub cluster: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on the bundled sample scenario, with no set-up.
    ///
    /// Ingests samples/ into a scratch warehouse (<temp>/retrace-demo/warehouse, emptied
    /// first; with --warehouse, that one is used and kept), prints the timeline around the
    /// incident and writes the Markdown report.
    Demo(DemoArgs),
    /// Ingest the configured sources into the warehouse (idempotent).
    Ingest(IngestArgs),
    /// Verify the warehouse against its manifest; with --repair, make them agree.
    ///
    /// Exit status 0 when they agree (or were repaired), 1 when something disagrees.
    Check(CheckArgs),
    /// Merge each day's small files into a few, without changing any query's answer.
    ///
    /// For warehouses fed many small objects (one per host and minute): queries then open
    /// a few files a day instead of thousands. Safe to run at any time; it takes the
    /// warehouse lock, as an ingest does (docs/warehouse.md).
    Compact(CompactArgs),
    /// Run read-only SQL over the warehouse tables; with no query on a terminal, a shell.
    Sql(SqlArgs),
    /// Serve the warehouse over the PostgreSQL wire protocol (psql, DBeaver, Grafana, …).
    ///
    /// Read-only, as `retrace sql`; every query gets its own memory limit and timeout.
    /// Without a password it listens on loopback only (docs/serve.md).
    Serve(ServeArgs),
    /// Print changes, deploys and error bursts in a window, in time order.
    Timeline(TimelineArgs),
    /// Write an incident report (Markdown draft, HTML with charts, JSON) for a breach or a window.
    ///
    /// With neither --breach nor --from/--to, reports the most recent SLO breach. Log text
    /// is redacted (tokens, keys, passwords, emails, IP addresses) unless --no-redact.
    Report(ReportArgs),
    /// Weekly reliability digest: SLO attainment, error budget, breaches, deploy frequency,
    /// change failure rate and time to restore, per service, against the previous week.
    Digest(DigestArgs),
    /// SLO breaches: burn rates per minute and multi-window alerts (docs/slo.md).
    ///
    /// Prints one row per breach (onset, detected, peak burn rate, recovery, end, budget
    /// consumed, affected services); with --summary, one row per SLO.
    Slo(SloArgs),
    /// Rank the changes and deploys that could have caused each SLO breach, with evidence.
    ///
    /// Candidates come from `onset − lookback` to `onset + grace`. Each is scored on time
    /// before the onset, scope in the dependency graph, the changed service's error jump
    /// against unrelated services, and recovery after it was undone (docs/suspects.md).
    /// Verdicts: likely, possible, or no change explains this breach.
    Suspects(SuspectsArgs),
    /// Estimate each host's clock skew from events two clocks saw.
    ///
    /// Evidence: a host's "starting … version X" line against the deploy of X (the deploy
    /// system's clock), and the same trace_id logged by a caller and a callee on two hosts.
    /// Prints every estimate with its evidence count; with --toml, prints the
    /// `[clock_skew]` entries worth applying (nothing is applied unless you add them to
    /// the config and re-ingest).
    Skew(SkewArgs),
    /// List the input formats retrace reads.
    Formats,
    /// Run a Ballista scheduler for `--cluster` (a build with `--features cluster`).
    ///
    /// It plans the queries clients send over the warehouse of the config (the same
    /// `[storage]` settings) and hands their tasks to executors (docs/distributed.md).
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor that registers with a scheduler (a build with `--features cluster`).
    ///
    /// It reads the warehouse of the config (the same `[storage]` settings) and runs the
    /// tasks the scheduler gives it (docs/distributed.md).
    Executor(ExecutorArgs),
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on (gRPC, for clients and executors)
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
    pub listen: String,

    /// Seconds without a heartbeat before an executor counts as lost and its tasks run elsewhere
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub executor_timeout: u64,

    /// How many times a task may fail (its executor lost, a fetch failed) before the query fails
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub task_attempts: usize,
}

#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with (`host:port` or `df://host:port`)
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
    pub scheduler: String,

    /// Address to listen on for the Arrow Flight service that hands out results
    /// (`host:port`); the gRPC port is the next one
    #[arg(long, default_value = "127.0.0.1:50051", value_name = "HOST:PORT")]
    pub listen: String,

    /// The address other executors and clients reach this one at [default: the --listen host]
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,

    /// Tasks run at once [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub tasks: Option<usize>,

    /// Where intermediate results (shuffle files) are written [default: a temporary folder]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// Seconds between heartbeats to the scheduler
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub heartbeat: u64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo report
    #[arg(long, default_value = "reports/demo", value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Only ingest the sources with these names (default: all)
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,

    /// Wait this long for another ingest's warehouse lock (`30s`, `5m`); default: fail at once
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<chrono::Duration>,

    /// Ingest only shard K of N (split by a stable hash of each object's stream), so N
    /// machines can ingest into one warehouse at once; every shard must use the same N
    #[arg(long, value_name = "K/N", value_parser = crate::ingest::shard::Shard::parse)]
    pub shard: Option<crate::ingest::shard::Shard>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also read every file's Parquet footer and compare its row count with the manifest
    #[arg(long)]
    pub deep: bool,

    /// Remove files no entry names, and entries whose files are damaged (with their
    /// files); the next ingest reads those objects again
    #[arg(long)]
    pub repair: bool,

    /// Wait this long for another process's warehouse lock (with --repair)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<chrono::Duration>,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Only these tables (logs, metrics, changes, deploys, incident_events); default: all
    #[arg(long = "table", value_name = "TABLE")]
    pub tables: Vec<String>,

    /// Only these days (YYYY-MM-DD, UTC); default: every day
    #[arg(long = "day", value_name = "DATE")]
    pub days: Vec<chrono::NaiveDate>,

    /// Rows per merged file at most
    #[arg(long, value_name = "ROWS", default_value_t = crate::warehouse::compact::TARGET_ROWS)]
    pub target_rows: u64,

    /// Print what would be merged; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Wait this long for another process's warehouse lock (`30s`, `5m`)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<chrono::Duration>,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The SQL to run [default: an interactive shell when stdin is a terminal, else the
    /// SQL read from stdin]
    #[arg(conflicts_with = "file")]
    pub query: Option<String>,

    /// Read the SQL from a file (several `;`-separated statements are run in order)
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Bind a named parameter: `--param from=2026-11-19T13:00Z` fills `$from`
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,

    /// Memory the query may hold before it spills to disk or stops (`512MB`, `4GB`)
    /// [default: half of this machine's (or cgroup's, or ulimit's) memory]
    #[arg(long, value_name = "SIZE", env = "RETRACE_MEMORY_LIMIT", value_parser = crate::limits::parse_size)]
    pub memory_limit: Option<usize>,

    /// Stop a query that runs longer than this (`30s`, `10m`; `0` for no limit)
    #[arg(long, value_name = "DURATION", env = "RETRACE_SQL_TIMEOUT", default_value = "30m", value_parser = parse_timeout)]
    pub timeout: chrono::Duration,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, `host:port` [default: [serve] listen, else 127.0.0.1:5433]
    #[arg(long, value_name = "ADDR", env = "RETRACE_SERVE_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,

    /// TLS certificate chain (PEM) [default: [serve] tls_cert]
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM, PKCS#8) [default: [serve] tls_key]
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Memory one query may hold before it spills or stops (`512MB`, `4GB`)
    /// [default: a quarter of this machine's (or cgroup's, or ulimit's) memory]
    #[arg(long, value_name = "SIZE", env = "RETRACE_MEMORY_LIMIT", value_parser = crate::limits::parse_size)]
    pub memory_limit: Option<usize>,

    /// Stop a query that runs longer than this (`30s`, `10m`; `0` for no limit)
    #[arg(long, value_name = "DURATION", env = "RETRACE_SERVE_TIMEOUT", default_value = "5m", value_parser = parse_timeout)]
    pub timeout: chrono::Duration,

    /// Connections served at once; more are refused ("too many clients")
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections: usize,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Write results to this file instead of stdout (required for parquet)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A time window, `[from, to)`.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Start of the window: RFC 3339 (`2026-11-19T13:30:00Z`), `YYYY-MM-DDTHH:MM[:SS]` (UTC) or `YYYY-MM-DD`
    #[arg(long, value_parser = parse_time)]
    pub from: DateTime<Utc>,

    /// End of the window (exclusive), same forms as --from
    #[arg(long, value_parser = parse_time)]
    pub to: DateTime<Utc>,

    /// Only events of this service
    #[arg(long)]
    pub service: Option<String>,
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub window: WindowArgs,

    /// Group error log lines per service into buckets of this length (`30s`, `1m`, `5m`, `1h`)
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub bucket: chrono::Duration,

    /// Lowest log level shown as error bursts
    #[arg(long, value_enum, default_value_t = MinLevel::Error)]
    pub min_level: MinLevel,

    /// Display time zone (IANA name) shown beside UTC [default: the config's display_timezone]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Keep secrets and personal data in titles and evidence (redacted by default, as in reports)
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinLevel {
    Warn,
    Error,
}

/// Which SLOs over which window: shared by `slo` and `suspects`.
#[derive(Debug, Args)]
pub struct SloSelection {
    /// Start of the evaluated window [default: the first data in the warehouse]
    #[arg(long, value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,

    /// End of the evaluated window, exclusive [default: after the last data]
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,

    /// Only this SLO (by name)
    #[arg(long)]
    pub slo: Option<String>,
}

#[derive(Debug, Args)]
pub struct SloArgs {
    #[command(flatten)]
    pub selection: SloSelection,

    /// One row per SLO (error ratio, budget consumed, gaps, breaches) instead of per breach
    #[arg(long)]
    pub summary: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SuspectsArgs {
    #[command(flatten)]
    pub selection: SloSelection,

    /// How far before a breach's onset to look for changes [default: the config's
    /// `[suspects] lookback`, else 6h]
    #[arg(long, value_parser = parse_duration)]
    pub lookback: Option<chrono::Duration>,

    /// Changes up to this long after the onset are still candidates (clock skew)
    /// [default: the config's `[suspects] grace`, else 2m]
    #[arg(long, value_parser = parse_duration)]
    pub grace: Option<chrono::Duration>,

    /// Suspects shown per breach
    #[arg(long, default_value_t = 5)]
    pub top: usize,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Keep secrets and personal data in titles and evidence (redacted by default, as in reports)
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Args)]
pub struct SkewArgs {
    /// Only log lines from this time on [default: all]
    #[arg(long, value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,

    /// Only log lines before this time [default: all]
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,

    /// Print the `[clock_skew]` TOML to apply instead of the estimates
    #[arg(long)]
    pub toml: bool,

    /// Least evidence (pairs) for a suggestion
    #[arg(long, default_value_t = 3)]
    pub min_pairs: u64,

    /// Smallest offset worth correcting, in milliseconds
    #[arg(long, default_value_t = 100.0)]
    pub min_offset_ms: f64,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The breach to report on: its id as `retrace slo` prints it (`<slo>@<onset>`)
    #[arg(long, value_name = "ID", conflicts_with_all = ["from", "to"])]
    pub breach: Option<String>,

    /// Start of a window to report on instead of a breach (same forms as `timeline --from`)
    #[arg(long, value_parser = parse_time, requires = "to")]
    pub from: Option<DateTime<Utc>>,

    /// End of the window (exclusive)
    #[arg(long, value_parser = parse_time, requires = "from")]
    pub to: Option<DateTime<Utc>>,

    /// Only events and breaches of this service
    #[arg(long)]
    pub service: Option<String>,

    /// Formats to write, comma-separated: md, html, json
    #[arg(long, value_enum, value_delimiter = ',', default_value = "md,html,json")]
    pub format: Vec<DocFormat>,

    /// Directory to write `report.md`, `report.html`, `report.json` (and charts) into
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub out: PathBuf,

    /// Display time zone (IANA name) shown beside UTC [default: the config's display_timezone]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Also write every chart as an image file (`<out>/charts/<name>.png`)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub charts: Option<ChartFormat>,

    /// Keep secrets and personal data in log text (redaction is on by default)
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChartFormat {
    Png,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// ISO week in the display zone, e.g. `2026-W47` [default: the last complete week of data]
    #[arg(long, value_parser = parse_iso_week, conflicts_with_all = ["from", "to"])]
    pub week: Option<(i32, u32)>,

    /// Start of a custom period instead of a week
    #[arg(long, value_parser = parse_time, requires = "to")]
    pub from: Option<DateTime<Utc>>,

    /// End of the period (exclusive)
    #[arg(long, value_parser = parse_time, requires = "from")]
    pub to: Option<DateTime<Utc>>,

    /// Formats to write, comma-separated: md, html, json
    #[arg(long, value_enum, value_delimiter = ',', default_value = "md,html,json")]
    pub format: Vec<DocFormat>,

    /// Directory to write `digest.md`, `digest.html`, `digest.json` into
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub out: PathBuf,

    /// Display time zone (IANA name): weeks start on its Mondays [default: the config's]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Exit with status 1 when this happened in the period (for CI gates)
    #[arg(long, value_enum, default_value_t = FailOn::None)]
    pub fail_on: FailOn,

    /// Keep secrets and personal data in suspect titles (redacted by default, as in reports)
    #[arg(long)]
    pub no_redact: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// An SLO has no error budget left over its period, as of the end of the week
    BudgetExhausted,
    /// Any SLO breach began in the week
    Breach,
    None,
}

/// Parses `2026-W47` (ISO 8601 week date, year and week).
pub fn parse_iso_week(s: &str) -> Result<(i32, u32), String> {
    let bad = || format!("`{s}` is not an ISO week; use YYYY-Www, e.g. 2026-W47");
    let (year, week) = s.trim().split_once("-W").or_else(|| s.trim().split_once("-w")).ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let week: u32 = week.parse().map_err(|_| bad())?;
    if NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon).is_none() {
        return Err(format!("`{s}`: {year} has no ISO week {week}"));
    }
    Ok((year, week))
}

/// Parses a command-line time. Naive forms are UTC: the command line has no source zone.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // `2026-11-19T13:30Z`: RFC 3339 without seconds, common when typing by hand.
    if let Some(stripped) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z'))
        && let Ok(t) = parse_naive(stripped)
    {
        return Ok(t.and_utc());
    }
    if let Ok(t) = parse_naive(s) {
        return Ok(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!("`{s}` is not a time; use RFC 3339 (2026-11-19T13:30:00Z), 2026-11-19T13:30 (UTC) or 2026-11-19"))
}

fn parse_naive(s: &str) -> Result<NaiveDateTime, chrono::ParseError> {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .map(|f| NaiveDateTime::parse_from_str(s, f))
        .find(Result::is_ok)
        .unwrap_or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
}

pub use crate::config::units::parse_duration;

/// `--timeout`: a duration, or `0` for none.
pub fn parse_timeout(s: &str) -> Result<chrono::Duration, String> {
    if s.trim() == "0" { Ok(chrono::Duration::zero()) } else { parse_duration(s) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_documented_form() {
        let want = "2026-11-19T13:30:00Z";
        for s in [
            "2026-11-19T13:30:00Z",
            "2026-11-19T14:30:00+01:00",
            "2026-11-19T13:30Z",
            "2026-11-19T13:30",
            "2026-11-19 13:30:00",
        ] {
            let t = parse_time(s).unwrap();
            assert_eq!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), want, "{s}");
        }
        assert_eq!(parse_time("2026-11-19").unwrap().to_rfc3339(), "2026-11-19T00:00:00+00:00");
        assert!(parse_time("yesterday").unwrap_err().contains("not a time"));
    }

    #[test]
    fn iso_weeks_parse_and_are_checked() {
        assert_eq!(parse_iso_week("2026-W47").unwrap(), (2026, 47));
        assert_eq!(parse_iso_week("2025-W53").unwrap_err(), "`2025-W53`: 2025 has no ISO week 53");
        assert_eq!(parse_iso_week("2026-W53").unwrap(), (2026, 53));
        assert_eq!(parse_iso_week("2026-W01").unwrap(), (2026, 1));
        assert!(parse_iso_week("2026-47").unwrap_err().contains("not an ISO week"));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s").unwrap(), chrono::Duration::seconds(90));
        assert_eq!(parse_duration("5m").unwrap(), chrono::Duration::minutes(5));
        assert_eq!(parse_duration("2h").unwrap(), chrono::Duration::hours(2));
        assert_eq!(parse_duration("30d").unwrap(), chrono::Duration::days(30));
        assert_eq!(parse_duration("45").unwrap(), chrono::Duration::seconds(45));
        assert!(parse_duration("5y").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("0m").unwrap_err().contains("positive"));
        assert!(parse_duration("m").is_err());
    }
}
