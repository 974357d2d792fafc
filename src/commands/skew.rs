//! `retrace skew`: per-host clock offsets with their evidence.

use super::{Outcome, load, text_batch};
use crate::analyze::Window;
use crate::cli::{GlobalArgs, SkewArgs};
use crate::error::Result;
use crate::output;
use crate::warehouse::Warehouse;

pub(crate) async fn skew_cmd(global: &GlobalArgs, args: &SkewArgs) -> Result<Outcome> {
    use crate::analyze::skew;
    let config = load(global)?;
    let from = args.from.unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let to = args.to.unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let window = Window::new(from, to)?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = super::session(global, &config, &warehouse, &Default::default(), true).await?;
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
