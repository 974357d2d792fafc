//! `retrace digest`: the weekly reliability digest, written in each format, with the
//! exit-status gates CI uses (`--fail-on`).

use chrono::Duration;

use super::{Outcome, display_tz, load};
use crate::analyze::Window;
use crate::cli::{DigestArgs, FailOn, GlobalArgs};
use crate::digest::{Digest, Period, build, iso_week, week_of};
use crate::error::{Error, Result};
use crate::output::DocFormat;
use crate::warehouse::Warehouse;

/// `retrace digest`.
pub(crate) async fn command(global: &GlobalArgs, args: &DigestArgs) -> Result<Outcome> {
    let config = load(global)?;
    let tz = display_tz(&config, args.timezone.as_deref())?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = super::session(global, &config, &warehouse, &Default::default(), true).await?;
    let period = match (args.week, args.from, args.to) {
        (Some((y, w)), _, _) => iso_week(y, w, tz)?,
        (None, Some(from), Some(to)) => {
            let w = Window::new(from, to)?;
            Period {
                label: format!("{} → {}", crate::display::utc(w.from), crate::display::utc(w.to)),
                from: w.from,
                to: w.to,
                week: None,
            }
        }
        _ => {
            let range = crate::analyze::analysis::data_range(&ctx).await?.ok_or_else(|| {
                Error::Usage("the warehouse has no logs or metrics yet; run `retrace ingest` first".into())
            })?;
            week_of(range.to - Duration::microseconds(1), tz)?
        }
    };
    let mut digest = build(&ctx, &config, period, tz).await?;
    if !args.no_redact {
        let mut redactor = crate::report::redact::Redactor::for_config(&config.redaction)?;
        digest.redact(&mut redactor);
    }
    for path in write_digest(&digest, &args.out, &args.format)? {
        println!("{}", path.display());
    }
    let tripped = match args.fail_on {
        FailOn::None => false,
        FailOn::Breach => !digest.breaches.is_empty(),
        FailOn::BudgetExhausted => digest.budget_exhausted,
    };
    if tripped {
        eprintln!(
            "retrace digest: --fail-on {}: {}",
            match args.fail_on {
                FailOn::Breach => "breach",
                FailOn::BudgetExhausted => "budget-exhausted",
                FailOn::None => "none",
            },
            match args.fail_on {
                FailOn::Breach => format!("{} breach(es) in {}", digest.breaches.len(), digest.period.label),
                _ => "an SLO has no error budget left".to_string(),
            }
        );
        return Ok(Outcome::GateFailed);
    }
    Ok(Outcome::Success)
}

/// Writes the digest in each format into `dir`; returns the paths written.
pub fn write_digest(digest: &Digest, dir: &std::path::Path, formats: &[DocFormat]) -> Result<Vec<std::path::PathBuf>> {
    use crate::digest::render;
    super::write_documents(dir, "digest", formats, &digest.scrubber, |format| match format {
        DocFormat::Md => Ok(render::markdown(digest)),
        DocFormat::Html => Ok(render::html(digest)),
        DocFormat::Json => render::json(digest),
    })
}
