//! `retrace sql`: read-only SQL, planned first, then streamed under the query limits;
//! `--param` binding shared with the canned-query tests.

use std::collections::HashMap;

use datafusion::sql::parser::DFParser;

use super::{Outcome, load};
use crate::catalog::{self, bind_params};
use crate::cli::{GlobalArgs, OutputArgs, SqlArgs};
use crate::display;
use crate::error::{Error, Result};
use crate::output;
use crate::warehouse::Warehouse;

pub(crate) async fn sql(global: &GlobalArgs, args: &SqlArgs) -> Result<Outcome> {
    let text = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| Error::io(f.display(), e))?,
        // Not a terminal (the dispatcher sends a terminal to the shell): SQL piped in.
        (None, None) => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| Error::io("stdin", e))?;
            text
        }
    };
    let params = parse_params(&args.params)?;
    let (ctx, limits, _) = open(global, args, true).await?;
    run_text(&ctx, &text, &params, &args.output, &limits).await?;
    Ok(Outcome::Success)
}

/// The session `retrace sql` and its shell query, its limits and the warehouse's name.
pub(crate) async fn open(
    global: &GlobalArgs,
    args: &SqlArgs,
    one_shot: bool,
) -> Result<(datafusion::prelude::SessionContext, crate::limits::QueryLimits, String)> {
    let config = load(global)?;
    let limits = crate::limits::QueryLimits {
        memory: args.memory_limit.unwrap_or_else(crate::limits::default_memory),
        timeout: args.timeout.to_std().ok().filter(|d| !d.is_zero()),
    };
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = super::session(global, &config, &warehouse, &limits, one_shot).await?;
    // The SLO tables are computed in this process (an in-memory table and table
    // providers of retrace's own) and cannot be sent to a cluster's executors.
    if super::cluster_of(global, &config).is_none() {
        crate::analyze::slo_tables::register(&ctx, &config.slos)?;
    }
    Ok((ctx, limits, warehouse.display))
}

/// Plans every statement of `text` (each checked read-only) before any runs, so a
/// refused or broken statement writes nothing; then streams the results, statement by
/// statement, under `limits`.
pub(crate) async fn run_text(
    ctx: &datafusion::prelude::SessionContext,
    text: &str,
    params: &HashMap<String, String>,
    output: &OutputArgs,
    limits: &crate::limits::QueryLimits,
) -> Result<()> {
    let mut statements = DFParser::parse_sql(text).map_err(|e| Error::Usage(format!("SQL: {e}")))?;
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
    let state = ctx.state();
    let mut plans = Vec::new();
    for statement in statements {
        let plan = state.statement_to_plan(statement).await?;
        catalog::verify_read_only(&plan)
            .map_err(|message| Error::RefusedSql(format!("{message}; retrace sql is read-only")))?;
        plans.push(bind_params(plan, params)?);
    }
    let run = async {
        for plan in plans {
            stream_plan(ctx, plan, output, limits).await?;
        }
        Ok::<_, Error>(())
    };
    match limits.timeout {
        None => run.await,
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
            })?
        }
    }
}

/// Runs one plan and writes its batches as they come: memory holds a batch, not the result.
pub(crate) async fn stream_plan(
    ctx: &datafusion::prelude::SessionContext,
    plan: datafusion::logical_expr::LogicalPlan,
    output: &OutputArgs,
    limits: &crate::limits::QueryLimits,
) -> Result<()> {
    use futures::StreamExt;
    let explain = |e| crate::limits::explain(e, limits);
    let mut retry = crate::error::VanishedRetry::default();
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
                Err(e)
                    if crate::error::vanished_file(&e)
                        && !wrote
                        && let Some(wait) = retry.next_wait() =>
                {
                    tracing::debug!(attempt = retry.attempt, error = %e, "A file vanished under the query; running it again.");
                    catalog::forget_listings(ctx);
                    tokio::time::sleep(wait).await;
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
pub(crate) struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

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
