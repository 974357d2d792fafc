//! `retrace ingest`: the configured sources into the warehouse, and the summary it prints.

use std::io::Write;

use super::{Outcome, load};
use crate::cli::{GlobalArgs, IngestArgs};
use crate::display;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions, IngestSummary};
use crate::warehouse::Warehouse;

/// `retrace ingest`.
pub(crate) async fn run(global: &GlobalArgs, args: &IngestArgs) -> Result<Outcome> {
    let config = load(global)?;
    let sources: Vec<_> = if args.sources.is_empty() {
        config.sources.clone()
    } else {
        for name in &args.sources {
            if !config.sources.iter().any(|s| &s.name == name) {
                return Err(Error::Usage(format!("no source named `{name}` in the config")));
            }
        }
        config.sources.iter().filter(|s| args.sources.contains(&s.name)).cloned().collect()
    };
    if sources.is_empty() {
        return Err(Error::Usage("nothing to ingest: the config has no [[sources]]".into()));
    }
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let options = IngestOptions {
        progress: !global.quiet,
        clock_skew: config.clock_skew.clone(),
        storage: config.storage.clone(),
        lock_wait: args.wait.and_then(|d| d.to_std().ok()).unwrap_or_default(),
        shard: args.shard,
        ..IngestOptions::default()
    };
    let summary = ingest::ingest(&warehouse, &sources, &options).await?;
    print_summary(&summary, &mut std::io::stdout().lock()).map_err(|e| Error::io("stdout", e))?;
    check_failures(&summary)?;
    Ok(Outcome::Success)
}

/// Exit status 2 when any object could not be ingested (the summary was printed first).
pub fn check_failures(summary: &IngestSummary) -> Result<()> {
    if summary.failures.is_empty() {
        return Ok(());
    }
    for (object, message) in &summary.failures {
        eprintln!("error: {}: {}", display::escape(object), display::escape(message));
    }
    Err(Error::IngestIncomplete { failures: summary.failures.len() })
}

pub fn print_summary(s: &IngestSummary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "objects: {} seen, {} ingested ({} replaced), {} unchanged, {} failed",
        s.objects_seen, s.objects_ingested, s.objects_replaced, s.objects_unchanged, s.objects_failed
    )?;
    if s.objects_other_shards > 0 {
        writeln!(out, "shard: {} listed objects belong to other shards", s.objects_other_shards)?;
    }
    if s.recovered_files > 0 {
        writeln!(out, "recovered: removed {} files of an interrupted ingest", s.recovered_files)?;
    }
    for (source, formats) in &s.detected {
        let chosen: Vec<String> =
            formats.iter().map(|(f, n)| format!("{f} ({n} object{})", if *n == 1 { "" } else { "s" })).collect();
        writeln!(out, "format: {} read as {}", display::escape(source), chosen.join(", "))?;
    }
    for (table, rows) in &s.rows {
        writeln!(out, "rows: {table:<8} {rows:>10}")?;
    }
    for (table, n) in &s.duplicates {
        writeln!(out, "duplicates dropped: {table:<8} {n:>8} (already held by an object of the same stream)")?;
    }
    for (table, n) in &s.kept_similar {
        writeln!(
            out,
            "possible duplicates kept: {table:<8} {n:>8} (identical to rows of another host or file; see docs/formats.md)"
        )?;
    }
    if s.objects_repaired > 0 {
        writeln!(out, "re-ingested: {} unchanged objects whose files were missing", s.objects_repaired)?;
    }
    for (entry, why) in &s.skipped {
        writeln!(out, "skipped: {}: {why}", display::escape(entry))?;
    }
    for (object, format) in &s.empty {
        writeln!(
            out,
            "warning: {} gave no rows and no rejects as {format}: is it empty, or is `format` not the one it is written in?",
            display::escape(object)
        )?;
    }
    if s.merged_lines > 0 {
        writeln!(out, "continuation lines joined to their record: {}", s.merged_lines)?;
    }
    if s.rejects.is_empty() {
        writeln!(out, "rejects: none")?;
    } else {
        for (reason, n) in &s.rejects {
            writeln!(out, "rejects: {reason:<22} {n:>8}")?;
        }
        writeln!(out, "(see: retrace sql \"SELECT * FROM rejects\")")?;
    }
    Ok(())
}
