//! JSON rendering of a [`Report`]: the stable, versioned document CI and other tools read
//! (docs/report-json.md). Fields are only ever added within a schema version; a rename or
//! removal bumps [`SCHEMA`].

use serde::Serialize;

use super::model::Report;
use crate::error::{Error, Result};

/// The schema id every document carries first.
pub const SCHEMA: &str = "retrace.report/v2";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    #[serde(flatten)]
    report: &'a Report,
}

pub fn render(report: &Report) -> Result<String> {
    let mut text = serde_json::to_string_pretty(&Document { schema: SCHEMA, report })
        .map_err(|e| Error::Internal(format!("report JSON: {e}")))?;
    text.push('\n');
    Ok(crate::display::json_inert(text))
}
