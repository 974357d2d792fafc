//! `retrace compact`: each day's small files merged, and what was merged.

use std::io::Write;

use super::{Outcome, load};
use crate::cli::{CompactArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::tables::Kind;
use crate::warehouse::Warehouse;
use crate::warehouse::compact::{self, CompactOptions};

pub(crate) async fn run(global: &GlobalArgs, args: &CompactArgs) -> Result<Outcome> {
    for table in &args.tables {
        if !Kind::ALL.iter().any(|k| k.table() == table) {
            let tables: Vec<&str> = Kind::ALL.iter().map(|k| k.table()).collect();
            return Err(Error::Usage(format!("no table `{table}` to compact (tables: {})", tables.join(", "))));
        }
    }
    if args.target_rows < 1000 {
        return Err(Error::Usage(format!(
            "--target-rows {} is too small to merge anything (at least 1000)",
            args.target_rows
        )));
    }
    let config = load(global)?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let options = CompactOptions {
        tables: args.tables.clone(),
        days: args.days.clone(),
        target_rows: args.target_rows,
        dry_run: args.dry_run,
        lock_wait: args.wait.and_then(|d| d.to_std().ok()).unwrap_or_default(),
    };
    let done = compact::compact(&warehouse, &options).await?;
    let mut out = std::io::stdout().lock();
    let w = |e| Error::io("stdout", e);
    let verb = if args.dry_run { "would merge" } else { "merged" };
    for d in &done {
        if args.dry_run {
            writeln!(out, "{} {}: {verb} {} small files ({})", d.table, d.day, d.merged, mb(d.bytes_before))
                .map_err(w)?;
        } else {
            writeln!(
                out,
                "{} {}: {verb} {} small files ({}) into {} ({}), {} rows",
                d.table,
                d.day,
                d.merged,
                mb(d.bytes_before),
                d.written,
                mb(d.bytes_after),
                d.rows
            )
            .map_err(w)?;
        }
    }
    let (merged, written): (usize, usize) = done.iter().fold((0, 0), |a, d| (a.0 + d.merged, a.1 + d.written));
    if done.is_empty() {
        writeln!(out, "nothing to compact: no day holds two or more small files").map_err(w)?;
    } else {
        let days = done.len();
        let plural = if days == 1 { "" } else { "s" };
        writeln!(out, "{verb} {merged} files into {written}, across {days} table-day{plural}").map_err(w)?;
    }
    Ok(Outcome::Success)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
