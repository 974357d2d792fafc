//! One function per verb: load what it needs, call the library, print the result.
//! Results go to stdout, diagnostics to stderr.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use datafusion::arrow::array::{RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::DFParser;

use crate::analyze::Window;
use crate::analyze::timeline::{self, Event, TimelineQuery};
use crate::catalog;
use crate::cli::{
    Cli, Command, GlobalArgs, MinLevel, OutputArgs, OutputFormat, ReportArgs, SkewArgs, SloArgs, SqlArgs, SuspectsArgs,
    TimelineArgs,
};
use crate::config::{Config, parse_tz};
use crate::display;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions, IngestSummary};
use crate::output;
use crate::report;
use crate::warehouse::Warehouse;

/// How a successful run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A `--fail-on` gate tripped: the output was written, the exit status is 1.
    GateFailed,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::GateFailed => ExitCode::from(1),
        }
    }
}

pub fn run(cli: Cli) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Planning and evaluating deep (but allowed) expressions recurses.
        .thread_stack_size(8 << 20)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let outcome = runtime.block_on(dispatch(cli));
    // Not waiting for tasks a stopped query left (a timed-out scan's blocking reads).
    runtime.shutdown_background();
    outcome
}

async fn dispatch(cli: Cli) -> Result<Outcome> {
    let global = &cli.global;
    match cli.command {
        Command::Formats => formats(),
        Command::Demo(args) => crate::demo::run(global, &args).await,
        Command::Ingest(args) => {
            let config = load(global)?;
            let sources: Vec<_> = if args.sources.is_empty() {
                config.sources.clone()
            } else {
                for name in &args.sources {
                    if !config.sources.iter().any(|s| &s.name == name) {
                        return Err(Error::Usage(format!("no source named `{name}` in the config")));
                    }
                }
                config.sources.iter().filter(|s| args.sources.contains(&s.name)).cloned().collect()
            };
            if sources.is_empty() {
                return Err(Error::Usage("nothing to ingest: the config has no [[sources]]".into()));
            }
            let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
            let options = IngestOptions {
                progress: !global.quiet,
                clock_skew: config.clock_skew.clone(),
                storage: config.storage.clone(),
                lock_wait: args.wait.and_then(|d| d.to_std().ok()).unwrap_or_default(),
                ..IngestOptions::default()
            };
            let summary = ingest::ingest(&warehouse, &sources, &options).await?;
            print_summary(&summary, &mut std::io::stdout().lock()).map_err(|e| Error::io("stdout", e))?;
            check_failures(&summary)?;
            Ok(Outcome::Success)
        }
        Command::Check(args) => check_cmd(global, &args).await,
        Command::Sql(args) => sql(global, &args).await,
        Command::Timeline(args) => timeline_cmd(global, &args).await,
        Command::Report(args) => report_cmd(global, &args).await,
        Command::Digest(args) => crate::digest::command(global, &args).await,
        Command::Skew(args) => skew_cmd(global, &args).await,
        Command::Slo(args) => slo_cmd(global, &args).await,
        Command::Suspects(args) => suspects_cmd(global, &args).await,
    }
}

async fn check_cmd(global: &GlobalArgs, args: &crate::cli::CheckArgs) -> Result<Outcome> {
    use crate::warehouse::check;
    let config = load(global)?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let report = check::check(&warehouse, args.deep).await?;
    let mut out = std::io::stdout().lock();
    let w = |e| Error::io("stdout", e);
    writeln!(out, "manifest: {} entries naming files; table folders: {} files", report.entries, report.files)
        .map_err(w)?;
    for (object, file) in &report.missing {
        writeln!(out, "missing: {file} (named by {})", display::escape(object)).map_err(w)?;
    }
    for file in &report.orphans {
        writeln!(out, "orphan: {file} (no entry names it: an interrupted write)").map_err(w)?;
    }
    for (file, why) in &report.unreadable {
        writeln!(out, "unreadable: {file}: {why}").map_err(w)?;
    }
    for (object, recorded, found) in &report.row_mismatches {
        writeln!(out, "rows: {} records {recorded}, its files hold {found}", display::escape(object)).map_err(w)?;
    }
    for file in &report.foreign {
        writeln!(out, "foreign: {file} (not written by retrace; left alone)").map_err(w)?;
    }
    if report.is_clean() {
        writeln!(out, "ok: the warehouse agrees with its manifest").map_err(w)?;
        return Ok(Outcome::Success);
    }
    if !args.repair {
        writeln!(out, "the warehouse disagrees with its manifest; `retrace check --repair` makes them agree")
            .map_err(w)?;
        return Ok(Outcome::GateFailed);
    }
    let wait = args.wait.and_then(|d| d.to_std().ok()).unwrap_or_default();
    let repaired = check::repair(&warehouse, &report, wait).await?;
    writeln!(
        out,
        "repaired: removed {} files and {} entries; run `retrace ingest` to read those objects again",
        repaired.files_removed, repaired.entries_removed
    )
    .map_err(w)?;
    Ok(Outcome::Success)
}

fn load(global: &GlobalArgs) -> Result<Config> {
    Config::load(global.config.as_deref(), global.warehouse.as_deref())
}

/// Exit status 2 when any object could not be ingested (the summary was printed first).
pub fn check_failures(summary: &IngestSummary) -> Result<()> {
    if summary.failures.is_empty() {
        return Ok(());
    }
    for (object, message) in &summary.failures {
        eprintln!("error: {}: {}", display::escape(object), display::escape(message));
    }
    Err(Error::IngestIncomplete { failures: summary.failures.len() })
}

pub fn print_summary(s: &IngestSummary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "objects: {} seen, {} ingested ({} replaced), {} unchanged, {} failed",
        s.objects_seen, s.objects_ingested, s.objects_replaced, s.objects_unchanged, s.objects_failed
    )?;
    if s.recovered_files > 0 {
        writeln!(out, "recovered: removed {} files of an interrupted ingest", s.recovered_files)?;
    }
    for (table, rows) in &s.rows {
        writeln!(out, "rows: {table:<8} {rows:>10}")?;
    }
    for (table, n) in &s.duplicates {
        writeln!(out, "duplicates dropped: {table:<8} {n:>8} (already held by an object of the same stream)")?;
    }
    for (table, n) in &s.kept_similar {
        writeln!(
            out,
            "possible duplicates kept: {table:<8} {n:>8} (identical to rows of another host or file; see docs/formats.md)"
        )?;
    }
    if s.objects_repaired > 0 {
        writeln!(out, "re-ingested: {} unchanged objects whose files were missing", s.objects_repaired)?;
    }
    for (entry, why) in &s.skipped {
        writeln!(out, "skipped: {}: {why}", display::escape(entry))?;
    }
    if s.merged_lines > 0 {
        writeln!(out, "continuation lines joined to their record: {}", s.merged_lines)?;
    }
    if s.rejects.is_empty() {
        writeln!(out, "rejects: none")?;
    } else {
        for (reason, n) in &s.rejects {
            writeln!(out, "rejects: {reason:<22} {n:>8}")?;
        }
        writeln!(out, "(see: retrace sql \"SELECT * FROM rejects\")")?;
    }
    Ok(())
}

fn formats() -> Result<Outcome> {
    use crate::ingest::pattern::PATTERNS;
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

async fn sql(global: &GlobalArgs, args: &SqlArgs) -> Result<Outcome> {
    let text = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| Error::io(f.display(), e))?,
        (None, None) => return Err(Error::Usage("give a query or --file".into())),
    };
    let params = parse_params(&args.params)?;
    let config = load(global)?;
    let limits = crate::limits::QueryLimits {
        memory: args.memory_limit.unwrap_or_else(crate::limits::default_memory),
        timeout: args.timeout.to_std().ok().filter(|d| !d.is_zero()),
    };
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = catalog::open_with(&warehouse, &limits).await?;
    let mut statements = DFParser::parse_sql(&text).map_err(|e| Error::Usage(format!("SQL: {e}")))?;
    if statements.is_empty() {
        return Err(Error::Usage("no SQL statement given".into()));
    }
    for statement in &statements {
        if let Err(e) = crate::limits::check_depth(statement) {
            // Dropping a tree that deep recurses without stack protection: leak it, the
            // process ends right after.
            std::mem::forget(std::mem::take(&mut statements));
            return Err(e);
        }
    }
    // Every statement is planned (and checked read-only) before any runs: a refused or
    // broken statement writes nothing. Results are then streamed, statement by statement.
    let state = ctx.state();
    let mut plans = Vec::new();
    for statement in statements {
        let plan = state.statement_to_plan(statement).await?;
        catalog::read_only().verify_plan(&plan).map_err(|e| {
            let message = e.strip_backtrace();
            let message = message.strip_prefix("Error during planning: ").unwrap_or(&message);
            Error::RefusedSql(format!("{message}; retrace sql is read-only"))
        })?;
        plans.push(bind_params(plan, &params)?);
    }
    let run = async {
        for plan in plans {
            stream_plan(&ctx, plan, &args.output, &limits).await?;
        }
        Ok::<_, Error>(())
    };
    match limits.timeout {
        None => run.await?,
        Some(limit) => {
            // A CPU-bound operator that never yields would outlive the timeout below:
            // the watchdog ends the process a little after it.
            let watchdog = Watchdog::start(limit + std::time::Duration::from_secs(10));
            let outcome = tokio::time::timeout(limit, run).await;
            watchdog.stop();
            outcome.map_err(|_| {
                Error::QueryLimit(format!(
                    "it ran longer than --timeout {}; narrow it or raise the limit",
                    display::duration(chrono::Duration::from_std(limit).unwrap_or_default())
                ))
            })??;
        }
    }
    Ok(Outcome::Success)
}

/// Runs one plan and writes its batches as they come: memory holds a batch, not the result.
async fn stream_plan(
    ctx: &datafusion::prelude::SessionContext,
    plan: datafusion::logical_expr::LogicalPlan,
    output: &OutputArgs,
    limits: &crate::limits::QueryLimits,
) -> Result<()> {
    use futures::StreamExt;
    let explain = |e| crate::limits::explain(e, limits);
    let mut attempt = 0;
    loop {
        let df = ctx.execute_logical_plan(plan.clone()).await.map_err(explain)?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let mut stream = df.execute_stream().await.map_err(explain)?;
        let mut sink = output::Sink::open(schema, output.format, output.output.as_deref())?;
        let mut wrote = false;
        let mut again = false;
        while let Some(batch) = stream.next().await {
            match batch {
                Ok(batch) => {
                    sink.write(&batch)?;
                    wrote = true;
                }
                // An ingest replaced files between listing and reading. Before anything
                // was written the query simply runs again over the new listing.
                Err(e) if crate::error::vanished_file(&e) && !wrote && attempt < 3 => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "A file vanished under the query; running it again.");
                    catalog::forget_listings(ctx);
                    again = true;
                    break;
                }
                Err(e) if crate::error::vanished_file(&e) => {
                    return Err(Error::Usage(format!(
                        "an ingest replaced files while this query read them ({e}); run it again"
                    )));
                }
                Err(e) => return Err(explain(e)),
            }
        }
        if !again {
            return sink.finish();
        }
    }
}

/// Ends the process if it is still running `after` from now (unless stopped first).
struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Watchdog {
    fn start(after: std::time::Duration) -> Watchdog {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                eprintln!("error: query stopped: it did not stop at its --timeout; ending the process");
                std::process::exit(2);
            }
        });
        Watchdog(done)
    }

    fn stop(self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `name=value` pairs (`--param`), a leading `$` allowed.
pub fn parse_params(raw: &[String]) -> Result<HashMap<String, String>> {
    raw.iter()
        .map(|p| {
            let (k, v) =
                p.split_once('=').ok_or_else(|| Error::Usage(format!("--param `{p}`: expected NAME=VALUE")))?;
            Ok((k.trim().trim_start_matches('$').to_string(), v.to_string()))
        })
        .collect()
}

/// Binds `--param` values, typed as each placeholder's inferred type.
pub fn bind_params(
    plan: datafusion::logical_expr::LogicalPlan,
    params: &HashMap<String, String>,
) -> Result<datafusion::logical_expr::LogicalPlan> {
    let types = plan.get_parameter_types()?;
    if types.is_empty() {
        return Ok(plan);
    }
    let mut values = HashMap::new();
    for (name, ty) in types {
        let key = name.trim_start_matches('$').to_string();
        let raw = params.get(&key).ok_or_else(|| Error::Usage(format!("the query needs --param {key}=VALUE")))?;
        let value = match ty {
            Some(DataType::Timestamp(_, _)) => {
                let t = crate::cli::parse_time(raw).map_err(Error::Usage)?;
                crate::analyze::params::timestamp(t)
            }
            Some(ty) => ScalarValue::try_from_string(raw.clone(), &ty)
                .map_err(|e| Error::Usage(format!("--param {key}: {}", e.strip_backtrace())))?,
            None => match raw.as_str() {
                "true" | "false" => ScalarValue::Boolean(Some(raw == "true")),
                _ => ScalarValue::Utf8(Some(raw.clone())),
            },
        };
        values.insert(key, value.into());
    }
    Ok(plan.with_param_values(ParamValues::Map(values))?)
}

fn display_tz(config: &Config, flag: Option<&str>) -> Result<chrono_tz::Tz> {
    match flag {
        Some(name) => parse_tz(name, "--timezone").map_err(Error::Usage),
        None => Ok(config.display_timezone),
    }
}

/// The window an analysis command covers: the flags, else the warehouse's data range.
pub async fn analysis_window(
    ctx: &datafusion::prelude::SessionContext,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<Window>> {
    let range = crate::analyze::slo::data_range(ctx).await?;
    let (Some(from), Some(to)) = (from.or(range.map(|r| r.from)), to.or(range.map(|r| r.to))) else {
        return Ok(None);
    };
    Window::new(from, to).map(Some)
}

/// What `slo` and `suspects` evaluate: the config, the selected SLOs, a session and the window.
struct SloScope {
    config: Config,
    slos: Vec<crate::config::Slo>,
    ctx: datafusion::prelude::SessionContext,
    window: Window,
}

/// `None` when the warehouse has no data yet (said on stderr).
async fn slo_scope(global: &GlobalArgs, sel: &crate::cli::SloSelection) -> Result<Option<SloScope>> {
    let config = load(global)?;
    let slos: Vec<_> = config.slos.iter().filter(|s| sel.slo.as_ref().is_none_or(|n| &s.name == n)).cloned().collect();
    if slos.is_empty() {
        return Err(Error::Usage(match &sel.slo {
            Some(n) => format!("no SLO named `{n}` in the config"),
            None => "the config defines no [[slo]] (see docs/slo.md)".into(),
        }));
    }
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = catalog::open(&warehouse).await?;
    let Some(window) = analysis_window(&ctx, sel.from, sel.to).await? else {
        eprintln!("The warehouse has no logs or metrics yet: nothing to evaluate.");
        return Ok(None);
    };
    Ok(Some(SloScope { config, slos, ctx, window }))
}

async fn slo_cmd(global: &GlobalArgs, args: &SloArgs) -> Result<Outcome> {
    use crate::analyze::slo;
    let Some(SloScope { slos, ctx, window, .. }) = slo_scope(global, &args.selection).await? else {
        return Ok(Outcome::Success);
    };
    let results = slo::evaluate(&ctx, &slos, window).await?;
    let t = |d: chrono::DateTime<chrono::Utc>| display::utc(d);
    let (names, columns): (Vec<&str>, Vec<Vec<Option<String>>>) = if args.summary {
        let col = |f: &dyn Fn(&slo::SloResult) -> Option<String>| results.iter().map(f).collect::<Vec<_>>();
        (
            vec![
                "slo",
                "service",
                "objective",
                "minutes",
                "no_data_minutes",
                "bad_events",
                "total_events",
                "error_ratio",
                "budget_consumed_pct",
                "breaches",
            ],
            vec![
                col(&|r| Some(r.slo.clone())),
                col(&|r| Some(r.service.clone())),
                col(&|r| Some(r.objective.to_string())),
                col(&|r| Some(r.minutes.to_string())),
                col(&|r| Some(r.no_data_minutes.to_string())),
                col(&|r| Some(r.bad_events.to_string())),
                col(&|r| Some(r.total_events.to_string())),
                col(&|r| (r.total_events > 0.0).then(|| format!("{:.6}", r.bad_events / r.total_events))),
                col(&|r| Some(format!("{:.3}", r.budget_consumed_pct))),
                col(&|r| Some(r.breaches.len().to_string())),
            ],
        )
    } else {
        let breaches: Vec<&slo::Breach> = results.iter().flat_map(|r| &r.breaches).collect();
        let col = |f: &dyn Fn(&slo::Breach) -> Option<String>| breaches.iter().map(|b| f(b)).collect::<Vec<_>>();
        (
            vec![
                "slo",
                "service",
                "onset",
                "detected",
                "detected_by",
                "peak_burn_rate",
                "recovered",
                "end",
                "bad_events",
                "budget_consumed_pct",
                "affected_services",
                "breach_id",
            ],
            vec![
                col(&|b| Some(b.slo.clone())),
                col(&|b| Some(b.service.clone())),
                col(&|b| Some(t(b.onset))),
                col(&|b| Some(t(b.detected))),
                col(&|b| Some(b.detected_by.clone())),
                col(&|b| Some(format!("{:.1}", b.peak_burn_rate))),
                col(&|b| Some(t(b.recovered))),
                col(&|b| b.end.map(t)),
                col(&|b| Some(b.bad_events.to_string())),
                col(&|b| Some(format!("{:.3}", b.budget_consumed_pct))),
                col(&|b| Some(b.affected_services.join(","))),
                col(&|b| Some(b.id.clone())),
            ],
        )
    };
    if !args.summary && results.iter().all(|r| r.breaches.is_empty()) {
        eprintln!("No breaches of {} SLO(s) in {} → {}.", results.len(), t(window.from), t(window.to));
    }
    let names: Vec<String> = names.into_iter().map(String::from).collect();
    let (schema, batch) = text_batch(&names, columns)?;
    output::emit(&schema, &[batch], args.output.format, args.output.output.as_deref())?;
    Ok(Outcome::Success)
}

async fn suspects_cmd(global: &GlobalArgs, args: &SuspectsArgs) -> Result<Outcome> {
    use crate::analyze::{slo, suspects};
    let Some(SloScope { config, slos, ctx, window }) = slo_scope(global, &args.selection).await? else {
        return Ok(Outcome::Success);
    };
    let breaches: Vec<slo::Breach> =
        slo::evaluate(&ctx, &slos, window).await?.into_iter().flat_map(|r| r.breaches).collect();
    if breaches.is_empty() {
        eprintln!(
            "No SLO breaches in {} → {}: nothing to explain.",
            display::utc(window.from),
            display::utc(window.to)
        );
    }
    let options = suspects::SuspectOptions {
        lookback: args.lookback.unwrap_or(config.suspects.lookback),
        grace: args.grace.unwrap_or(config.suspects.grace),
    };
    let mut ranked = suspects::rank(&ctx, &config, &breaches, options).await?;
    redact_for_print(&mut ranked, &config, args.no_redact)?;
    let rows: Vec<(&suspects::BreachSuspects, Option<&suspects::Suspect>)> = ranked
        .iter()
        .flat_map(|b| {
            let top: Vec<_> = b.suspects.iter().take(args.top).map(Some).collect();
            if top.is_empty() { vec![(b, None)] } else { top.into_iter().map(|s| (b, s)).collect() }
        })
        .collect();
    let col = |f: &dyn Fn(&suspects::BreachSuspects, Option<&suspects::Suspect>) -> Option<String>| {
        rows.iter().map(|(b, s)| f(b, *s)).collect::<Vec<_>>()
    };
    let names: Vec<String> =
        ["slo", "onset", "breach_verdict", "rank", "kind", "id", "service", "time_utc", "verdict", "score", "evidence"]
            .map(String::from)
            .to_vec();
    let columns = vec![
        col(&|b, _| Some(b.breach.slo.clone())),
        col(&|b, _| Some(display::utc(b.breach.onset))),
        col(&|b, _| Some(b.verdict.clone())),
        col(&|_, s| s.map(|s| s.rank.to_string())),
        col(&|_, s| s.map(|s| s.kind.clone())),
        col(&|_, s| s.map(|s| s.id.clone())),
        col(&|_, s| s.and_then(|s| s.service.clone())),
        col(&|_, s| s.map(|s| display::utc(s.ts))),
        col(&|_, s| s.map(|s| s.verdict.label().to_string())),
        col(&|_, s| s.map(|s| format!("{:.2}", s.score))),
        col(&|_, s| s.map(|s| s.evidence.join("; "))),
    ];
    let (schema, batch) = text_batch(&names, columns)?;
    output::emit(&schema, &[batch], args.output.format, args.output.output.as_deref())?;
    Ok(Outcome::Success)
}

async fn skew_cmd(global: &GlobalArgs, args: &SkewArgs) -> Result<Outcome> {
    use crate::analyze::skew;
    let config = load(global)?;
    let from = args.from.unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let to = args.to.unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let window = Window::new(from, to)?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = catalog::open(&warehouse).await?;
    let estimates = skew::estimate(&ctx, window).await?;
    if args.toml {
        let suggestions = skew::suggestions(&estimates, args.min_pairs, args.min_offset_ms);
        print!("{}", skew::to_toml(&suggestions));
        return Ok(Outcome::Success);
    }
    if estimates.is_empty() {
        eprintln!(
            "No evidence: no host logged a start line for a deployed version, and no trace_id was logged by two hosts."
        );
    }
    let names = ["host", "evidence", "reference", "pairs", "median_offset_ms", "min_offset_ms", "max_offset_ms"]
        .map(String::from);
    let col = |f: &dyn Fn(&skew::SkewEstimate) -> String| estimates.iter().map(|e| Some(f(e))).collect::<Vec<_>>();
    let columns = vec![
        col(&|e| e.host.clone()),
        col(&|e| e.evidence.clone()),
        col(&|e| e.reference.clone()),
        col(&|e| e.pairs.to_string()),
        col(&|e| format!("{:.1}", e.median_offset_ms)),
        col(&|e| format!("{:.1}", e.min_offset_ms)),
        col(&|e| format!("{:.1}", e.max_offset_ms)),
    ];
    let (schema, batch) = text_batch(&names, columns)?;
    output::emit(&schema, &[batch], args.output.format, args.output.output.as_deref())?;
    Ok(Outcome::Success)
}

async fn timeline_cmd(global: &GlobalArgs, args: &TimelineArgs) -> Result<Outcome> {
    let config = load(global)?;
    let tz = display_tz(&config, args.timezone.as_deref())?;
    let window = Window::new(args.window.from, args.window.to)?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = catalog::open(&warehouse).await?;
    let query = TimelineQuery {
        window,
        service: args.window.service.clone(),
        bucket: args.bucket,
        include_warn: args.min_level == MinLevel::Warn,
        slos: config.slos.clone(),
    };
    let mut events = timeline::build(&ctx, &query).await?;
    redact_for_print(&mut events, &config, args.no_redact)?;
    if events.is_empty() {
        eprintln!("No changes, deploys or error lines in {} → {}.", display::utc(window.from), display::utc(window.to));
    }
    let root = config.path.as_deref().and_then(source_root);
    print_events(&events, tz, root.as_deref(), &args.output)?;
    Ok(Outcome::Success)
}

/// Redacts what a verb is about to print, as reports are (unless `--no-redact`).
pub fn redact_for_print<T: report::redact_model::Redact>(value: &mut T, config: &Config, keep: bool) -> Result<()> {
    if keep {
        return Ok(());
    }
    let mut redactor = report::redact::Redactor::new(&config.redaction)
        .map_err(|message| Error::Config { path: "[redaction]".into(), message })?;
    value.redact(&mut redactor);
    Ok(())
}

/// Timeline events in any output format. The aligned table is for reading: one `event`
/// column (title — detail, cut at 120 characters) and `source:line`; the other formats
/// keep every field in its own column.
pub fn print_events(events: &[Event], tz: chrono_tz::Tz, source_root: Option<&str>, output: &OutputArgs) -> Result<()> {
    let (schema, batch) = if output.format == OutputFormat::Table {
        events_table(events, tz, source_root)?
    } else {
        events_batch(events, tz, source_root)?
    };
    output::emit(&schema, &[batch], output.format, output.output.as_deref())
}

fn local_column(tz: chrono_tz::Tz) -> String {
    format!("time_{}", tz.name().to_lowercase().replace('/', "_"))
}

type Columns = (std::sync::Arc<Schema>, RecordBatch);

fn text_batch(names: &[String], columns: Vec<Vec<Option<String>>>) -> Result<Columns> {
    let schema =
        std::sync::Arc::new(Schema::new(names.iter().map(|n| Field::new(n, DataType::Utf8, true)).collect::<Vec<_>>()));
    let arrays = columns
        .into_iter()
        .map(|c| std::sync::Arc::new(c.into_iter().collect::<StringArray>()) as datafusion::arrow::array::ArrayRef)
        .collect();
    Ok((schema.clone(), RecordBatch::try_new(schema, arrays)?))
}

fn events_table(events: &[Event], tz: chrono_tz::Tz, source_root: Option<&str>) -> Result<Columns> {
    let names =
        ["time_utc".to_string(), local_column(tz), "kind".into(), "service".into(), "event".into(), "source".into()];
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(events.len()); names.len()];
    for e in events {
        let mut event = e.headline();
        if event.chars().count() > 120 {
            event = event.chars().take(119).collect::<String>() + "…";
        }
        let row = [
            Some(display::utc(e.ts)),
            Some(display::local(e.ts, tz)),
            Some(e.kind.label().to_string()),
            e.service.clone(),
            Some(event),
            Some(e.source.display(source_root)),
        ];
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    text_batch(&names, cols)
}

/// Events as one batch, every field in its own column. Sources under `source_root` are
/// shown relative to it.
pub fn events_batch(events: &[Event], tz: chrono_tz::Tz, source_root: Option<&str>) -> Result<Columns> {
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("time_utc", DataType::Utf8, false),
        Field::new(local_column(tz), DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, true),
        Field::new("severity", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, true),
        Field::new("count", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
    ]));
    let col = |f: &dyn Fn(&Event) -> Option<String>| -> std::sync::Arc<StringArray> {
        std::sync::Arc::new(events.iter().map(f).collect::<StringArray>())
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            col(&|e| Some(display::utc(e.ts))),
            col(&|e| Some(display::local(e.ts, tz))),
            col(&|e| Some(e.kind.label().to_string())),
            col(&|e| e.service.clone()),
            col(&|e| Some(e.severity.label().to_string())),
            col(&|e| Some(e.title.clone())),
            col(&|e| e.detail.clone()),
            std::sync::Arc::new(events.iter().map(|e| e.count).collect::<UInt64Array>()),
            col(&|e| Some(display::relative_source(&e.source.object, source_root).to_string())),
            std::sync::Arc::new(events.iter().map(|e| e.source.line).collect::<UInt64Array>()),
        ],
    )?;
    Ok((schema, batch))
}

async fn report_cmd(global: &GlobalArgs, args: &ReportArgs) -> Result<Outcome> {
    use report::select::{self, Selection};
    let config = load(global)?;
    let tz = display_tz(&config, args.timezone.as_deref())?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = catalog::open(&warehouse).await?;
    let selection = match (&args.breach, args.from, args.to) {
        (Some(id), _, _) => Selection::Breach(id.clone()),
        (None, Some(from), Some(to)) => Selection::Window(Window::new(from, to)?),
        _ => Selection::Latest,
    };
    let resolved = select::resolve(&ctx, &config, &selection).await?;
    let request = report::ReportRequest {
        window: resolved.window,
        service: args.service.clone(),
        display_timezone: tz,
        source_root: config.path.as_deref().and_then(source_root),
        config: Some(config.clone()),
        focus: resolved.focus,
        redact: !args.no_redact,
        duplicates: warehouse.duplicates().await?,
    };
    let report = report::build(&ctx, &request).await?;
    for path in write_report(&report, &args.out, &args.format, args.charts)? {
        println!("{}", path.display());
    }
    Ok(Outcome::Success)
}

/// The `file://` URL of a config file's folder: source URLs under it are shown relative.
pub fn source_root(config_path: &std::path::Path) -> Option<String> {
    let dir = std::path::absolute(config_path).ok()?.parent()?.to_path_buf();
    Some(format!("file://{}/", dir.display()))
}

/// Writes the report in each format (and the charts as images when asked) into `dir`;
/// returns the paths written.
pub fn write_report(
    report: &report::Report,
    dir: &std::path::Path,
    formats: &[crate::cli::DocFormat],
    charts: Option<crate::cli::ChartFormat>,
) -> Result<Vec<std::path::PathBuf>> {
    use crate::cli::DocFormat;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut written = Vec::new();
    for format in formats {
        let text = match format {
            DocFormat::Md => report::markdown::render(report),
            DocFormat::Html => report::html::render(report)?,
            DocFormat::Json => report::json::render(report)?,
        };
        let path = dir.join(format!("report.{}", format.extension()));
        output::write_file(&path, report.scrubber.scrub(&text).as_bytes())?;
        written.push(path);
    }
    if charts.is_some() {
        let chart_dir = dir.join("charts");
        std::fs::create_dir_all(&chart_dir).map_err(|e| Error::io(chart_dir.display(), e))?;
        written.extend(report::charts::write_png(&report.charts, &chart_dir)?);
    }
    Ok(written)
}
