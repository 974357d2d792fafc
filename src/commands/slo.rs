//! `retrace slo`: breaches per SLO; the SLO scope and analysis window `suspects` shares.

use super::{Outcome, load, text_batch};
use crate::analyze::Window;
use crate::cli::{GlobalArgs, SloArgs};
use crate::config::Config;
use crate::display;
use crate::error::{Error, Result};
use crate::output;
use crate::warehouse::Warehouse;

/// The window an analysis command covers: the flags, else the warehouse's data range.
pub async fn analysis_window(
    ctx: &datafusion::prelude::SessionContext,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<Window>> {
    let range = crate::analyze::analysis::data_range(ctx).await?;
    let (Some(from), Some(to)) = (from.or(range.map(|r| r.from)), to.or(range.map(|r| r.to))) else {
        return Ok(None);
    };
    Window::new(from, to).map(Some)
}

/// What `slo` and `suspects` evaluate: the config, the selected SLOs, a session and the window.
pub(crate) struct SloScope {
    pub(crate) config: Config,
    pub(crate) slos: Vec<crate::config::Slo>,
    pub(crate) ctx: datafusion::prelude::SessionContext,
    pub(crate) window: Window,
}

/// `None` when the warehouse has no data yet (said on stderr).
pub(crate) async fn slo_scope(global: &GlobalArgs, sel: &crate::cli::SloSelection) -> Result<Option<SloScope>> {
    let config = load(global)?;
    let slos: Vec<_> = config.slos.iter().filter(|s| sel.slo.as_ref().is_none_or(|n| &s.name == n)).cloned().collect();
    if slos.is_empty() {
        return Err(Error::Usage(match &sel.slo {
            Some(n) => format!("no SLO named `{n}` in the config"),
            None => "the config defines no [[slo]] (see docs/slo.md)".into(),
        }));
    }
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = super::session(global, &config, &warehouse, &Default::default(), true).await?;
    let Some(window) = analysis_window(&ctx, sel.from, sel.to).await? else {
        eprintln!("The warehouse has no logs or metrics yet: nothing to evaluate.");
        return Ok(None);
    };
    Ok(Some(SloScope { config, slos, ctx, window }))
}

pub(crate) async fn slo_cmd(global: &GlobalArgs, args: &SloArgs) -> Result<Outcome> {
    use crate::analyze::slo;
    let Some(SloScope { slos, ctx, window, .. }) = slo_scope(global, &args.selection).await? else {
        return Ok(Outcome::Success);
    };
    let analysis = crate::analyze::Analysis::evaluate(&ctx, &slos, window).await?;
    // The summary shows no breach's services: only the breach table asks for them.
    let analysis = if args.summary { analysis } else { analysis.with_affected_services(&ctx).await? };
    let results: Vec<&slo::SloResult> = analysis.results().collect();
    if args.output.format == crate::output::OutputFormat::Json {
        return super::emit_document("retrace.slo/v1", window, "slos", &results, args.output.output.as_deref())
            .map(|()| Outcome::Success);
    }
    let t = |d: chrono::DateTime<chrono::Utc>| display::utc(d);
    let (names, columns): (Vec<&str>, Vec<Vec<Option<String>>>) = if args.summary {
        let col = |f: &dyn Fn(&slo::SloResult) -> Option<String>| results.iter().map(|r| f(r)).collect::<Vec<_>>();
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
                "chronic_burn_rate",
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
                col(&|r| r.chronic.map(|c| format!("{:.2}", c.burn_rate))),
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
                "ongoing_at",
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
                col(&|b| b.recovered.map(t)),
                col(&|b| b.ongoing_at.map(t)),
                col(&|b| b.end.map(t)),
                col(&|b| Some(b.bad_events.to_string())),
                col(&|b| Some(format!("{:.3}", b.budget_consumed_pct))),
                col(&|b| Some(b.affected_services.join(","))),
                col(&|b| Some(b.id.clone())),
            ],
        )
    };
    for r in results.iter().filter_map(|r| r.chronic.map(|c| (r, c))) {
        eprintln!("{}", r.1.text(&r.0.slo));
    }
    if !args.summary && results.iter().all(|r| r.breaches.is_empty()) {
        eprintln!("No breaches of {} SLO(s) in {} → {}.", results.len(), t(window.from), t(window.to));
    }
    let names: Vec<String> = names.into_iter().map(String::from).collect();
    let (schema, batch) = text_batch(&names, columns)?;
    output::emit(&schema, &[batch], args.output.format, args.output.output.as_deref())?;
    Ok(Outcome::Success)
}
