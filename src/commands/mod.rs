//! The verbs: one file each, each loading what it needs, calling the library and
//! printing the result. Results go to stdout, diagnostics to stderr. Library stages
//! never print and never take CLI types; what the verbs share is here.

mod check;
mod compact;
mod demo;
mod digest;
mod formats;
mod ingest;
mod report;
mod serve;
mod shell;
mod skew;
mod slo;
mod sql;
mod suspects;
mod timeline;

use std::io::IsTerminal;
use std::process::ExitCode;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{Config, parse_tz};
use crate::error::{Error, Result};

pub use crate::catalog::bind_params;
pub use ingest::{check_failures, print_summary};
pub use report::write_report;
pub use slo::analysis_window;
pub use sql::parse_params;
pub use timeline::{events_batch, print_events};

/// Writes a document in each format into `dir` as `<stem>.<ext>`, each file scrubbed of
/// every value redaction replaced and written whole or not at all; returns the paths.
/// The report and the digest both write this way.
pub(crate) fn write_documents(
    dir: &std::path::Path,
    stem: &str,
    formats: &[crate::output::DocFormat],
    scrubber: &crate::report::redact::Scrubber,
    render: impl Fn(crate::output::DocFormat) -> Result<String>,
) -> Result<Vec<std::path::PathBuf>> {
    use crate::output::DocFormat;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut written = Vec::new();
    for format in formats {
        let text = render(*format)?;
        let path = dir.join(format!("{stem}.{}", format.extension()));
        crate::output::write_file(&path, scrubber.scrub(&text, *format == DocFormat::Html).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

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
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if matches!(cli.command, Command::Serve(_)) {
        // A query whose operators never yield (a cross join over generate_series) holds
        // its threads until it ends; spare threads keep the other clients, the deadlines
        // and the accept loop going meanwhile.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        builder.worker_threads((cores * 4).max(8));
    }
    let runtime = builder
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
        Command::Formats => formats::formats(),
        Command::Scheduler(args) => {
            let config = load(global)?;
            let warehouse = crate::warehouse::Warehouse::open_with(&config.warehouse, &config.storage)?;
            crate::cluster::run_scheduler(&warehouse, &args).await.map(|()| Outcome::Success)
        }
        Command::Executor(args) => {
            let config = load(global)?;
            let warehouse = crate::warehouse::Warehouse::open_with(&config.warehouse, &config.storage)?;
            crate::cluster::run_executor(&warehouse, &args).await.map(|()| Outcome::Success)
        }
        Command::Demo(args) => demo::run(global, &args).await,
        Command::Ingest(args) => ingest::run(global, &args).await,
        Command::Check(args) => check::check_cmd(global, &args).await,
        Command::Compact(args) => compact::run(global, &args).await,
        Command::Sql(args) if args.query.is_none() && args.file.is_none() && std::io::stdin().is_terminal() => {
            shell::shell(global, &args).await
        }
        Command::Sql(args) => sql::sql(global, &args).await,
        Command::Serve(args) => serve::serve(global, &args).await,
        Command::Timeline(args) => timeline::timeline_cmd(global, &args).await,
        Command::Report(args) => report::report_cmd(global, &args).await,
        Command::Digest(args) => digest::command(global, &args).await,
        Command::Skew(args) => skew::skew_cmd(global, &args).await,
        Command::Slo(args) => slo::slo_cmd(global, &args).await,
        Command::Suspects(args) => suspects::suspects_cmd(global, &args).await,
    }
}

pub(crate) fn load(global: &GlobalArgs) -> Result<Config> {
    Config::load(global.config.as_deref(), global.warehouse.as_deref())
}

/// The session the analysis verbs query: local, or on the Ballista cluster `--cluster`
/// or `[cluster] scheduler` names. A one-shot command on a cluster ends at `[cluster]
/// timeout` (`cluster::connect`); the interactive shell bounds each query instead.
pub(crate) async fn session(
    global: &GlobalArgs,
    config: &Config,
    warehouse: &crate::warehouse::Warehouse,
    limits: &crate::limits::QueryLimits,
    one_shot: bool,
) -> Result<datafusion::prelude::SessionContext> {
    match cluster_of(global, config) {
        None => crate::catalog::open_with(warehouse, limits).await,
        Some(url) => crate::cluster::connect(warehouse, limits, url, one_shot.then_some(config.cluster.timeout)).await,
    }
}

/// The Ballista scheduler queries run on, if any: `--cluster`, else `[cluster] scheduler`.
pub(crate) fn cluster_of<'a>(global: &'a GlobalArgs, config: &'a Config) -> Option<&'a str> {
    global.cluster.as_deref().or(config.cluster.scheduler.as_deref())
}

pub(crate) fn display_tz(config: &Config, flag: Option<&str>) -> Result<chrono_tz::Tz> {
    match flag {
        Some(name) => parse_tz(name, "--timezone").map_err(Error::Usage),
        None => Ok(config.display_timezone),
    }
}

/// Redacts what a verb is about to print, as reports are (unless `--no-redact`).
pub fn redact_for_print<T: crate::report::redact_model::Redact>(
    value: &mut T,
    config: &Config,
    keep: bool,
) -> Result<()> {
    if keep {
        return Ok(());
    }
    let mut redactor = crate::report::redact::Redactor::for_config(&config.redaction)?;
    value.redact(&mut redactor);
    Ok(())
}

/// `--format json` of the analysis verbs (`slo`, `suspects`): one typed JSON document,
/// `{"schema": …, "window": {"from", "to"}, <key>: …}`, with numbers as numbers, booleans,
/// times in RFC 3339 and absent values as null (docs/json.md), to `path` or stdout.
pub(crate) fn emit_document<T: serde::Serialize>(
    schema: &str,
    window: crate::analyze::Window,
    key: &str,
    body: &T,
    path: Option<&std::path::Path>,
) -> Result<()> {
    let doc = serde_json::json!({
        "schema": schema,
        "window": { "from": window.from, "to": window.to },
        key: body,
    });
    let mut text = serde_json::to_string_pretty(&doc)
        .map_err(|e| crate::error::Error::Internal(format!("serialising {schema}: {e}")))?;
    text.push('\n');
    // A file is written whole, as every output file is; a closed stdout (`| head`) is the
    // broken pipe `main` treats as success.
    match path {
        Some(p) => crate::output::write_file(p, text.as_bytes()),
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes()).map_err(|e| crate::error::Error::io("stdout", e))
        }
    }
}

/// The `file://` URL of a config file's folder: source URLs under it are shown relative.
pub fn source_root(config_path: &std::path::Path) -> Option<String> {
    let dir = std::path::absolute(config_path).ok()?.parent()?.to_path_buf();
    Some(format!("file://{}/", dir.display()))
}

/// A zone's column name in printed tables (`time_America/New_York`).
pub(crate) fn local_column(tz: chrono_tz::Tz) -> String {
    format!("time_{}", tz.name().to_lowercase().replace('/', "_"))
}

pub(crate) type Columns = (std::sync::Arc<Schema>, RecordBatch);

pub(crate) fn text_batch(names: &[String], columns: Vec<Vec<Option<String>>>) -> Result<Columns> {
    let schema =
        std::sync::Arc::new(Schema::new(names.iter().map(|n| Field::new(n, DataType::Utf8, true)).collect::<Vec<_>>()));
    let arrays = columns
        .into_iter()
        .map(|c| std::sync::Arc::new(c.into_iter().collect::<StringArray>()) as datafusion::arrow::array::ArrayRef)
        .collect();
    Ok((schema.clone(), RecordBatch::try_new(schema, arrays)?))
}
