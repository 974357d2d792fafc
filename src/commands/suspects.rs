//! `retrace suspects`: ranked changes and deploys per breach, with their evidence.

use super::{Outcome, redact_for_print, text_batch};

use super::slo::{SloScope, slo_scope};
use crate::cli::{GlobalArgs, SuspectsArgs};
use crate::display;
use crate::error::Result;
use crate::output;

pub(crate) async fn suspects_cmd(global: &GlobalArgs, args: &SuspectsArgs) -> Result<Outcome> {
    use crate::analyze::{slo, suspects};
    let Some(SloScope { config, slos, ctx, window }) = slo_scope(global, &args.selection).await? else {
        return Ok(Outcome::Success);
    };
    let analysis = crate::analyze::Analysis::evaluate(&ctx, &slos, window).await?.with_affected_services(&ctx).await?;
    let breaches: Vec<slo::Breach> = analysis.breaches().cloned().collect();
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
    let mut ranked = suspects::rank(&ctx, &config, &analysis, None, &breaches, options).await?;
    redact_for_print(&mut ranked, &config, args.no_redact)?;
    if args.output.format == crate::output::OutputFormat::Json {
        for b in &mut ranked {
            b.suspects.truncate(args.top);
        }
        return super::emit_document("retrace.suspects/v1", window, "breaches", &ranked, args.output.output.as_deref())
            .map(|()| Outcome::Success);
    }
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
        col(&|_, s| s.map(|s| s.kind.label().to_string())),
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
