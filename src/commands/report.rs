//! `retrace report`: the incident report in every format, written whole or not at all.

use super::{Outcome, display_tz, load, source_root};
use crate::analyze::Window;
use crate::cli::{GlobalArgs, ReportArgs};
use crate::error::{Error, Result};
use crate::report;
use crate::warehouse::Warehouse;

pub(crate) async fn report_cmd(global: &GlobalArgs, args: &ReportArgs) -> Result<Outcome> {
    use report::select::{self, Selection};
    let config = load(global)?;
    let tz = display_tz(&config, args.timezone.as_deref())?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = super::session(global, &config, &warehouse, &Default::default(), true).await?;
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
        analysis: resolved.analysis,
    };
    let report = report::build(&ctx, &request).await?;
    for path in write_report(&report, &args.out, &args.format, args.charts)? {
        println!("{}", path.display());
    }
    Ok(Outcome::Success)
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
    let mut written = super::write_documents(dir, "report", formats, &report.scrubber, |format| match format {
        DocFormat::Md => Ok(report::markdown::render(report)),
        DocFormat::Html => report::html::render(report),
        DocFormat::Json => report::json::render(report),
    })?;
    if charts.is_some() {
        let chart_dir = dir.join("charts");
        std::fs::create_dir_all(&chart_dir).map_err(|e| Error::io(chart_dir.display(), e))?;
        written.extend(report::charts::write_png(&report.charts, &chart_dir)?);
    }
    Ok(written)
}
