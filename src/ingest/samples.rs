//! The rows one item of a Prometheus response's `data.result` gives: a series' samples,
//! or the one record of a scalar's `[time, "value"]` pair or of an item refused whole.
//! The parallel reader ([`super::series`]) and the sequential one ([`super::lines`]) both
//! emit samples through here.

use std::ops::Range;

use super::matrix::Item;
use super::prometheus::{self, Series};
use super::record::{Assembler, Emit, assemble_fields};
use super::reject::{Reason, Reject};
use crate::error::Result;

/// A scalar or string result is `[time, "value"]`: two items of `data.result` that are
/// not series. Holds the first; returns the pair with the second.
pub fn pair(bare: &mut Vec<serde_json::Value>, item: serde_json::Value) -> Option<serde_json::Value> {
    bare.push(item);
    (bare.len() == 2).then(|| serde_json::Value::Array(std::mem::take(bare)))
}

/// The samples (records) an item of `data.result` gives: a series' points, or one for a
/// scalar's pair or for an item that is refused whole.
pub fn samples_in(item: &Item, metric: Option<&str>) -> u64 {
    match item {
        Item::Series(series) => Series::read(series, metric).map_or(1, |s| s.points.len() as u64),
        Item::Json(_) => 1,
    }
}

/// Emits the samples of one item of `data.result` (a series, or a scalar's pair),
/// numbering them after `n`.
pub fn emit_item(item: &Item, metric: Option<&str>, n: &mut u64, asm: &Assembler, emit: &mut Emit<'_>) -> Result<()> {
    emit_part(item, 0..usize::MAX, metric, n, asm, emit)
}

/// Emits the samples `points` of an item (an item that is one record is emitted for a
/// part that starts at 0). The sequential and the parallel reader both go through here.
pub fn emit_part(
    item: &Item,
    points: Range<usize>,
    metric: Option<&str>,
    n: &mut u64,
    asm: &Assembler,
    emit: &mut Emit<'_>,
) -> Result<()> {
    let whole = points.start == 0;
    let series = match item {
        Item::Json(_) if !whole => return Ok(()),
        Item::Series(series) => series,
        Item::Json(pair) => {
            *n += 1;
            let sample = prometheus::bare_result(pair, metric).map_err(|e| Reject::new(Reason::UnsupportedRecord, e));
            return emit(*n, pair.to_string().as_bytes(), sample.and_then(|f| assemble_fields(asm, f)));
        }
    };
    match Series::read(series, metric) {
        Ok(series) => {
            let points = points.start.min(series.points.len())..points.end.min(series.points.len());
            // The labels are assembled once for the part; each sample adds its time and
            // value (redoing the labels for every sample was a quarter of the ingest).
            let shared = asm.shared(series.labels(), prometheus::SAMPLE_FIELDS);
            for &point in &series.points[points] {
                *n += 1;
                let outcome = match series.point(point) {
                    Err(e) => Err(Reject::new(Reason::UnsupportedRecord, e)),
                    Ok(own) => shared
                        .as_ref()
                        .and_then(|shared| asm.assemble_with(shared, own.clone()))
                        .unwrap_or_else(|| asm.assemble(own.into_iter().chain(series.labels()))),
                };
                // The text of the record only for a reject: printing every series back to
                // JSON was a fifth of a `query_range` ingest.
                let raw = if outcome.is_err() { series.raw(point) } else { String::new() };
                emit(*n, raw.as_bytes(), outcome)?;
            }
            Ok(())
        }
        Err(_) if !whole => Ok(()),
        Err(e) => {
            *n += 1;
            emit(*n, series.to_json().to_string().as_bytes(), Err(Reject::new(Reason::UnsupportedRecord, e)))
        }
    }
}
