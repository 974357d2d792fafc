//! Reports: one [`model::Report`] built from the catalog, rendered by one module per
//! format (ripgrep's printer split): Markdown (an editable post-mortem draft), HTML (one
//! self-contained page with SVG charts) and JSON (a versioned schema). Redaction happens
//! on the finished model, once, over every text in it (`redact_model`), so every format
//! shows the same placeholders; each rendered file is then scrubbed of any value the
//! pass replaced (`Redactor::scrub`), in case a renderer spells one anew.

pub mod charts;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod redact;
pub mod redact_model;
pub mod select;
pub mod table;
pub mod tables;

pub use model::{Report, ReportRequest};

use crate::error::Result;

/// Builds the report for `req`, then, unless `req.redact` is off, redacts the finished
/// model in one pass (`redact_model`): the headline and every derived line included.
pub async fn build(ctx: &datafusion::prelude::SessionContext, req: &ReportRequest) -> Result<Report> {
    let mut report = model::build(ctx, req).await?;
    if req.redact {
        let config = req.config.as_ref().map(|c| c.redaction.clone()).unwrap_or_default();
        let mut redactor = redact::Redactor::for_config(&config)?;
        report.redact(&mut redactor);
    }
    Ok(report)
}
