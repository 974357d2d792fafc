//! `retrace demo`: the whole pipeline on the bundled sample, with no set-up. Ingests
//! `samples/` into a scratch warehouse, finds the window around the worst minute of error
//! lines, prints its timeline and writes the Markdown report.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, DurationRound, Utc};

use super::{Outcome, check_failures, print_events, print_summary, redact_for_print, source_root, write_report};
use crate::analyze::Window;
use crate::analyze::params::{self, Params};
use crate::analyze::timeline::{self, TimelineQuery};
use crate::catalog;
use crate::cli::{DemoArgs, DocFormat, GlobalArgs, OutputArgs, OutputFormat};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions};
use crate::report;
use crate::warehouse::Warehouse;

const PEAK_SQL: &str = "SELECT date_trunc('minute', ts) AS minute, count(*) AS lines \
     FROM logs WHERE level IN ('error', 'fatal') GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1";

/// The sample folder: next to the crate (works from any directory with a source checkout).
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

pub async fn run(global: &GlobalArgs, args: &DemoArgs) -> Result<Outcome> {
    let config_path = sample_dir().join("retrace.toml");
    let mut config = Config::from_file(&config_path)?;
    config.warehouse = match &global.warehouse {
        Some(w) => w.clone(),
        None => {
            let scratch = std::env::temp_dir().join("retrace-demo").join("warehouse");
            if scratch.exists() {
                std::fs::remove_dir_all(&scratch).map_err(|e| Error::io(scratch.display(), e))?;
            }
            scratch.display().to_string()
        }
    };
    let say = |text: String| {
        if !global.quiet {
            eprintln!("{text}");
        }
    };
    say(format!("Ingesting the sample scenario into {} …", config.warehouse));
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let options = IngestOptions { progress: !global.quiet, ..IngestOptions::default() };
    let started = std::time::Instant::now();
    let summary = ingest::ingest(&warehouse, &config.sources, &options).await?;
    if !global.quiet {
        print_summary(&summary, &mut std::io::stderr().lock()).map_err(|e| Error::io("stderr", e))?;
        eprintln!("ingest took {:.1}s", started.elapsed().as_secs_f64());
    }
    check_failures(&summary)?;

    let ctx = catalog::open(&warehouse).await?;
    // The report is what `retrace report` with no selector writes: the latest breach. Its
    // SLI reads serve the timeline's window too.
    let resolved = report::select::resolve(&ctx, &config, &report::select::Selection::Latest).await?;
    let window = incident_window(&ctx).await?;
    let breaches = resolved.slis.analysis(window).with_affected_services(&ctx).await?.breaches().cloned().collect();
    let mut events = timeline::build(
        &ctx,
        &TimelineQuery { window, service: None, bucket: Duration::minutes(5), include_warn: false, breaches },
    )
    .await?;
    println!(
        "Timeline {} → {} (UTC; {} shown beside it):",
        crate::display::utc(window.from),
        crate::display::utc(window.to),
        config.display_timezone.name()
    );
    redact_for_print(&mut events, &config, false)?;
    let root = source_root(&config_path);
    let table = OutputArgs { format: OutputFormat::Table, output: None };
    print_events(&events, config.display_timezone, root.as_deref(), &table)?;

    let request = report::ReportRequest {
        window: resolved.window,
        service: None,
        display_timezone: config.display_timezone,
        source_root: root,
        config: Some(config.clone()),
        focus: resolved.focus,
        redact: true,
        duplicates: warehouse.duplicates().await?,
        analysis: resolved.analysis,
    };
    let report = report::build(&ctx, &request).await?;
    print_breaches(&report.breaches);
    let formats = [DocFormat::Md, DocFormat::Html, DocFormat::Json];
    let mut written = write_report(&report, &args.out, &formats, None)?;
    // The digest of the incident's week, as CI would publish it.
    let week = crate::digest::week_of(report.window.0, config.display_timezone)?;
    let mut digest = crate::digest::build(&ctx, &config, week, config.display_timezone).await?;
    let mut redactor = crate::report::redact::Redactor::for_config(&config.redaction)?;
    digest.redact(&mut redactor);
    written.extend(super::digest::write_digest(&digest, &args.out, &formats)?);
    for path in &written {
        say(format!("Wrote {}", path.display()));
    }
    say(format!("Explore the tables: retrace sql --warehouse {} \"SELECT * FROM deploy_spans\"", config.warehouse));
    Ok(Outcome::Success)
}

/// The breaches and their top suspects, as the demo's console summary.
fn print_breaches(breaches: &[crate::analyze::suspects::BreachSuspects]) {
    use crate::display::utc;
    if breaches.is_empty() {
        println!("\nNo SLO breach in the window.");
        return;
    }
    for b in breaches {
        let br = &b.breach;
        println!(
            "\nSLO {} breached: onset {}, detected {} ({}), peak burn rate {:.0}×, {}, {:.1}% of the period's error budget.",
            br.slo,
            utc(br.onset),
            utc(br.detected),
            br.detected_by,
            br.peak_burn_rate,
            match br.recovered {
                Some(r) => format!("recovered {}", utc(r)),
                None => format!("ongoing at {} (end of data)", br.ongoing_at.map(utc).unwrap_or_default()),
            },
            br.budget_consumed_pct
        );
        println!("Verdict: {}.", b.verdict);
        for s in b.suspects.iter().take(3) {
            println!(
                "  #{} {} {} ({}) {} — {}",
                s.rank,
                s.verdict.label(),
                s.id,
                s.service.as_deref().unwrap_or("-"),
                s.title,
                s.evidence.join("; ")
            );
        }
    }
}

/// 90 minutes before to 60 minutes after the minute with the most error lines, widened to
/// half hours. A demo heuristic for choosing what to show, not a finding.
async fn incident_window(ctx: &datafusion::prelude::SessionContext) -> Result<Window> {
    #[derive(serde::Deserialize)]
    struct Peak {
        minute: Option<DateTime<Utc>>,
    }
    let rows: Vec<Peak> = params::rows(ctx, PEAK_SQL, Params::default()).await?;
    let peak = rows
        .into_iter()
        .find_map(|r| r.minute)
        .ok_or_else(|| Error::Usage("the sample has no error lines; is samples/data intact?".into()))?;
    let half_hour = Duration::minutes(30);
    let from = (peak - Duration::minutes(90)).duration_trunc(half_hour).map_err(|e| Error::Internal(e.to_string()))?;
    let to = (peak + Duration::minutes(60) + half_hour)
        .duration_trunc(half_hour)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Window::new(from, to)
}
