//! `retrace check`: the warehouse against its manifest, and `--repair`.

use std::io::Write;

use super::{Outcome, load};
use crate::cli::GlobalArgs;
use crate::display;
use crate::error::{Error, Result};
use crate::warehouse::Warehouse;

pub(crate) async fn check_cmd(global: &GlobalArgs, args: &crate::cli::CheckArgs) -> Result<Outcome> {
    use crate::warehouse::check;
    let config = load(global)?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let report = check::check(&warehouse, args.deep).await?;
    let mut out = std::io::stdout().lock();
    let w = |e| Error::io("stdout", e);
    writeln!(out, "manifest: {} entries naming files; table folders: {} files", report.entries, report.files)
        .map_err(w)?;
    for (object, file) in &report.missing {
        writeln!(out, "missing: {file} (named by {})", display::escape(object)).map_err(w)?;
    }
    for file in &report.orphans {
        writeln!(out, "orphan: {file} (no entry names it: an interrupted write)").map_err(w)?;
    }
    for (file, why) in &report.unreadable {
        writeln!(out, "unreadable: {file}: {why}").map_err(w)?;
    }
    for (object, recorded, found) in &report.row_mismatches {
        writeln!(out, "rows: {} records {recorded}, its files hold {found}", display::escape(object)).map_err(w)?;
    }
    for file in &report.foreign {
        writeln!(out, "foreign: {file} (not written by retrace; left alone)").map_err(w)?;
    }
    if report.is_clean() {
        writeln!(out, "ok: the warehouse agrees with its manifest").map_err(w)?;
        return Ok(Outcome::Success);
    }
    if !args.repair {
        writeln!(out, "the warehouse disagrees with its manifest; `retrace check --repair` makes them agree")
            .map_err(w)?;
        return Ok(Outcome::GateFailed);
    }
    let wait = args.wait.and_then(|d| d.to_std().ok()).unwrap_or_default();
    let repaired = check::repair(&warehouse, &report, wait).await?;
    writeln!(
        out,
        "repaired: removed {} files and {} entries; run `retrace ingest` to read those objects again",
        repaired.files_removed, repaired.entries_removed
    )
    .map_err(w)?;
    Ok(Outcome::Success)
}
