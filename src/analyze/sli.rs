//! SLIs per minute: for one SLO, the bad and total event counts of every minute in a
//! window, and which minutes had no data at all (gaps are never counted as good).
//!
//! - `ratio`: counter increases per series (a value lower than the previous one is a
//!   counter reset: the new value is the increase), summed per minute.
//! - `gauge_ratio`: per-minute mean of each gauge series, summed over series.
//! - `latency`: histogram buckets (`le` = threshold vs `le="+Inf"`) as counters, or log
//!   lines with `latency_ms` over the threshold.
//! - `log_ratio`: SQL predicates over the service's log lines.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, AsArray, MapArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};
use datafusion::prelude::SessionContext;

use super::params::{self, Params, Window};
use super::promql;
use crate::config::selector::Selector;
use crate::config::{Sli, Slo};
use crate::error::{Error, Result};

pub const MINUTE: i64 = 60_000_000;

/// Per-minute counts from `start` (a minute index: micros / 60 s) on.
#[derive(Debug, Clone, PartialEq)]
pub struct Minutes {
    pub start: i64,
    pub bad: Vec<f64>,
    pub total: Vec<f64>,
    pub has_data: Vec<bool>,
}

impl Minutes {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Minutes {
        let start = from.timestamp_micros().div_euclid(MINUTE);
        let end = (to.timestamp_micros() + MINUTE - 1).div_euclid(MINUTE);
        let n = (end - start).max(0) as usize;
        Minutes { start, bad: vec![0.0; n], total: vec![0.0; n], has_data: vec![false; n] }
    }

    pub fn len(&self) -> usize {
        self.bad.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bad.is_empty()
    }

    fn index(&self, micros: i64) -> Option<usize> {
        let i = micros.div_euclid(MINUTE) - self.start;
        (0..self.len() as i64).contains(&i).then_some(i as usize)
    }

    /// The minutes that start in `[from, to)`, by arithmetic on their index: a suspect's
    /// before/after ratios ask this thousands of times per report, and turning every
    /// minute of the window into a date to compare cost 12 % of a report's time.
    pub fn starting_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> std::ops::Range<usize> {
        // Minute i starts at (start + i) * MINUTE, which is >= t exactly when
        // start + i >= ceil(t / MINUTE).
        let first = |t: DateTime<Utc>| {
            let i = (t.timestamp_micros() + MINUTE - 1).div_euclid(MINUTE) - self.start;
            i.clamp(0, self.len() as i64) as usize
        };
        let (lo, hi) = (first(from), first(to));
        lo..hi.max(lo)
    }

    /// The minutes of `[from, to)` (rounded out to whole minutes, as [`Minutes::new`]):
    /// those this series holds, and minutes without data outside it.
    pub fn slice(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Minutes {
        let mut out = Minutes::new(from, to);
        let lo = (self.start.max(out.start) - out.start) as usize;
        let hi =
            ((self.start + self.len() as i64).min(out.start + out.len() as i64) - out.start).max(lo as i64) as usize;
        for i in lo..hi {
            let j = (out.start + i as i64 - self.start) as usize;
            (out.bad[i], out.total[i], out.has_data[i]) = (self.bad[j], self.total[j], self.has_data[j]);
        }
        out
    }

    /// The start of minute `i`.
    pub fn time(&self, i: usize) -> DateTime<Utc> {
        DateTime::from_timestamp_micros((self.start + i as i64) * MINUTE).unwrap_or_default()
    }
}

/// Evaluates an SLO's SLI per minute over `window`.
pub async fn evaluate(ctx: &SessionContext, slo: &Slo, window: Window) -> Result<Minutes> {
    let mut m = Minutes::new(window.from, window.to);
    match &slo.sli {
        Sli::Ratio { bad, total } => {
            let bad = counter_increases(ctx, &parse(bad)?, window).await?;
            let total = counter_increases(ctx, &parse(total)?, window).await?;
            fill(&mut m, &bad, &total);
        }
        Sli::GaugeRatio { bad, total } => {
            let bad = gauge_means(ctx, &parse(bad)?, window).await?;
            let total = gauge_means(ctx, &parse(total)?, window).await?;
            fill(&mut m, &bad, &total);
        }
        Sli::Latency { histogram: Some(h), threshold } => {
            let sel = parse(h)?;
            let good = counter_increases(ctx, &sel.with("le", &format_le(*threshold)), window).await?;
            let total = counter_increases(ctx, &sel.with("le", "+Inf"), window).await?;
            fill(&mut m, &bad_from_good(&good, &total), &total);
        }
        Sli::Latency { histogram: None, threshold } => {
            let bad = format!("latency_ms > {threshold}");
            log_ratio(ctx, &slo.service, &bad, "latency_ms IS NOT NULL", window, &mut m).await?;
        }
        Sli::LogRatio { bad, total } => log_ratio(ctx, &slo.service, bad, total, window, &mut m).await?,
        Sli::GoodRatio { good, total, counter } => {
            let (good, total) = if *counter {
                (
                    counter_increases(ctx, &parse(good)?, window).await?,
                    counter_increases(ctx, &parse(total)?, window).await?,
                )
            } else {
                (gauge_means(ctx, &parse(good)?, window).await?, gauge_means(ctx, &parse(total)?, window).await?)
            };
            fill(&mut m, &bad_from_good(&good, &total), &total);
        }
        Sli::Threshold { selector, op, value } => {
            let (bad, total) = threshold_counts(ctx, &parse(selector)?, op, *value, window).await?;
            fill(&mut m, &bad, &total);
        }
        Sli::PromQl { bad, good, total } => {
            let total = query(total)?;
            let (part, is_good) = match (bad, good) {
                (Some(b), _) => (query(b)?, false),
                (None, Some(g)) => (query(g)?, true),
                (None, None) => {
                    return Err(Error::Usage(format!("SLO `{}`: a PromQL SLI needs a bad or good query", slo.name)));
                }
            };
            let data = promql::Data::load(ctx, &[&total, &part], window).await?;
            let totals = promql::per_minute(&total, &data, window.from, m.len())?;
            let parts = promql::per_minute(&part, &data, window.from, m.len())?;
            for (i, (t, p)) in totals.into_iter().zip(parts).enumerate() {
                // No total: no data that minute (never counted as good). No bad series:
                // nothing failed (an error counter that has not been created yet).
                let Some(t) = t.filter(|t| t.is_finite()) else { continue };
                let t = (t * total.per_minute()).max(0.0);
                let p = p.filter(|p| p.is_finite()).map_or(if is_good { t } else { 0.0 }, |p| p * part.per_minute());
                m.total[i] = t;
                m.bad[i] = if is_good { (t - p).max(0.0) } else { p.max(0.0) };
                m.has_data[i] = true;
            }
        }
        Sli::PromQlThreshold { query: q, op, value } => {
            let q = query(q)?;
            let data = promql::Data::load(ctx, &[&q], window).await?;
            for (i, v) in promql::per_minute(&q, &data, window.from, m.len())?.into_iter().enumerate() {
                let Some(v) = v.filter(|v| v.is_finite()) else { continue };
                let bad = if on_good_side(op, v, *value) { 0.0 } else { 1.0 };
                (m.bad[i], m.total[i], m.has_data[i]) = (bad, 1.0, true);
            }
        }
        Sli::PromQlRatio { ratio } => {
            let ratio = query(ratio)?;
            let data = promql::Data::load(ctx, &[&ratio], window).await?;
            for (i, r) in promql::per_minute(&ratio, &data, window.from, m.len())?.into_iter().enumerate() {
                // A ratio of no events (0/0) is no data, not a perfect minute.
                let Some(r) = r.filter(|r| r.is_finite()) else { continue };
                (m.bad[i], m.total[i], m.has_data[i]) = (r.clamp(0.0, 1.0), 1.0, true);
            }
        }
    }
    Ok(m)
}

/// Whether `v` is on the good side of `op value`.
fn on_good_side(op: &str, v: f64, value: f64) -> bool {
    match op {
        "lt" => v < value,
        "lte" => v <= value,
        "gt" => v > value,
        _ => v >= value,
    }
}

fn query(text: &str) -> Result<promql::Query> {
    promql::Query::parse(text).map_err(Error::Usage)
}

fn parse(s: &str) -> Result<Selector> {
    Selector::parse(s).map_err(Error::Usage)
}

/// `0.3` → `"0.3"`, `1.0` → `"1"` (how Prometheus writes `le`).
fn format_le(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Per minute, `total − good` (never below zero: counters of two series can disagree).
fn bad_from_good(good: &HashMap<i64, f64>, total: &HashMap<i64, f64>) -> HashMap<i64, f64> {
    total.iter().map(|(k, t)| (*k, (t - good.get(k).copied().unwrap_or(0.0)).max(0.0))).collect()
}

fn fill(m: &mut Minutes, bad: &HashMap<i64, f64>, total: &HashMap<i64, f64>) {
    for (minute, t) in total {
        let i = minute - m.start;
        if (0..m.len() as i64).contains(&i) {
            let i = i as usize;
            m.total[i] += t;
            m.bad[i] += bad.get(minute).copied().unwrap_or(0.0);
            m.has_data[i] = true;
        }
    }
}

/// The identity of a series: service and every label.
fn series_key(service: Option<&str>, labels: &MapArray, row: usize) -> String {
    let mut key = service.unwrap_or("").to_string();
    if labels.is_valid(row) {
        let entries = labels.value(row);
        let (k, v) = (entries.column(0).as_string::<i32>(), entries.column(1).as_string::<i32>());
        let mut pairs: Vec<(&str, &str)> = (0..entries.len()).map(|i| (k.value(i), v.value(i))).collect();
        pairs.sort();
        for (k, v) in pairs {
            key.push('\u{1f}');
            key.push_str(k);
            key.push('=');
            key.push_str(v);
        }
    }
    key
}

async fn samples(ctx: &SessionContext, sel: &Selector, window: Window) -> Result<Vec<RecordBatch>> {
    // Five minutes more in front: the first increase of the window needs the sample before it.
    let padded = Window { from: window.from - chrono::Duration::minutes(5), to: window.to };
    const SQL: &str = "SELECT ts, service, labels, value, metric FROM metrics \
                       WHERE ts >= $from AND ts < $to AND date >= $from_date AND date <= $to_date ORDER BY ts";
    params::run_filtered(ctx, SQL, Params::window(padded, None), Some(sel.to_expr())).await
}

/// Counter increases per minute (micros / 60 s → increase), summed over series.
pub async fn counter_increases(ctx: &SessionContext, sel: &Selector, window: Window) -> Result<HashMap<i64, f64>> {
    let mut last: HashMap<String, f64> = HashMap::new();
    let mut out: HashMap<i64, f64> = HashMap::new();
    let from = window.from.timestamp_micros();
    for b in samples(ctx, sel, window).await? {
        let ts = b.column(0).as_primitive::<TimestampMicrosecondType>();
        let service = b.column(1).as_string::<i32>();
        let labels = b.column(2).as_map();
        let value = b.column(3).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            let key = series_key(service.is_valid(i).then(|| service.value(i)), labels, i);
            let v = value.value(i);
            let prev = last.insert(key, v);
            let t = ts.value(i);
            if t < from {
                continue;
            }
            let inc = match prev {
                Some(p) if v >= p => v - p,
                Some(_) => v, // reset
                None => 0.0,  // first sample of the series: no baseline
            };
            *out.entry(t.div_euclid(MINUTE)).or_default() += inc;
        }
    }
    Ok(out)
}

/// Per minute: each gauge series' mean in that minute, summed over series.
pub async fn gauge_means(ctx: &SessionContext, sel: &Selector, window: Window) -> Result<HashMap<i64, f64>> {
    let mut acc: HashMap<(i64, String), (f64, u32)> = HashMap::new();
    let from = window.from.timestamp_micros();
    for b in samples(ctx, sel, window).await? {
        let ts = b.column(0).as_primitive::<TimestampMicrosecondType>();
        let service = b.column(1).as_string::<i32>();
        let labels = b.column(2).as_map();
        let value = b.column(3).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if ts.value(i) < from {
                continue;
            }
            let key = series_key(service.is_valid(i).then(|| service.value(i)), labels, i);
            let e = acc.entry((ts.value(i).div_euclid(MINUTE), key)).or_default();
            e.0 += value.value(i);
            e.1 += 1;
        }
    }
    let mut out: HashMap<i64, f64> = HashMap::new();
    for ((minute, _), (sum, n)) in acc {
        *out.entry(minute).or_default() += sum / f64::from(n);
    }
    Ok(out)
}

/// Per minute: samples on the wrong side of the threshold, and all samples.
async fn threshold_counts(
    ctx: &SessionContext,
    sel: &Selector,
    op: &str,
    value: f64,
    window: Window,
) -> Result<(HashMap<i64, f64>, HashMap<i64, f64>)> {
    let good = |v: f64| match op {
        "lt" => v < value,
        "lte" => v <= value,
        "gt" => v > value,
        _ => v >= value,
    };
    let (mut bad, mut total): (HashMap<i64, f64>, HashMap<i64, f64>) = Default::default();
    let from = window.from.timestamp_micros();
    for b in samples(ctx, sel, window).await? {
        let ts = b.column(0).as_primitive::<TimestampMicrosecondType>();
        let v = b.column(3).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if ts.value(i) < from {
                continue;
            }
            let minute = ts.value(i).div_euclid(MINUTE);
            *total.entry(minute).or_default() += 1.0;
            *bad.entry(minute).or_default() += f64::from(u8::from(!good(v.value(i))));
        }
    }
    Ok((bad, total))
}

async fn log_ratio(
    ctx: &SessionContext,
    service: &str,
    bad: &str,
    total: &str,
    window: Window,
    m: &mut Minutes,
) -> Result<()> {
    let mut per_service = log_ratio_per_service(ctx, &[service], bad, total, window).await?;
    if let Some(found) = per_service.remove(service) {
        *m = found;
    }
    Ok(())
}

/// A log-ratio SLI per minute for several services from one scan, grouped by service:
/// a suspect's effect reads the errors of every service in the graph, and a query per
/// service read the same row groups again for each (70 ms apiece over 2M lines).
/// Every service asked about gets its minutes, empty when it logged nothing.
pub async fn log_ratio_per_service(
    ctx: &SessionContext,
    services: &[&str],
    bad: &str,
    total: &str,
    window: Window,
) -> Result<HashMap<String, Minutes>> {
    let mut out: HashMap<String, Minutes> =
        services.iter().map(|s| (s.to_string(), Minutes::new(window.from, window.to))).collect();
    if services.is_empty() {
        return Ok(out);
    }
    // Services are SQL string literals (quotes doubled): a parameter list cannot be bound
    // to `IN`, and a literal list keeps the engine's pruning on the service column.
    let list = services.iter().map(|s| format!("'{}'", s.replace('\'', "''"))).collect::<Vec<_>>().join(", ");
    let sql = format!(
        // The minute by integer division of the microseconds: `date_trunc('minute', ts)`
        // goes through a calendar conversion per row (11 % of a report's CPU in perf).
        // Times before 1970 are rejected at ingest, so division floors.
        "SELECT service, CAST(ts AS BIGINT) / 60000000 * 60 AS minute, \
                sum(CASE WHEN ({total}) AND ({bad}) THEN 1 ELSE 0 END) AS bad, \
                sum(CASE WHEN ({total}) THEN 1 ELSE 0 END) AS total \
         FROM logs WHERE service IN ({list}) AND ts >= $from AND ts < $to \
           AND date >= $from_date AND date <= $to_date \
         GROUP BY 1, 2"
    );
    for b in params::run(ctx, &sql, Params::window(window, None)).await? {
        let service = datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
        let service = service.as_string::<i32>();
        let minute = datafusion::arrow::compute::cast(b.column(1), &datafusion::arrow::datatypes::DataType::Int64)?;
        let minute = minute.as_primitive::<Int64Type>();
        let (bad, total) = (Column64::of(&b, 2)?, Column64::of(&b, 3)?);
        for i in 0..b.num_rows() {
            let Some(m) = service.is_valid(i).then(|| out.get_mut(service.value(i))).flatten() else { continue };
            if let Some(idx) = m.index(minute.value(i) * 1_000_000) {
                m.bad[idx] += bad.get(i);
                m.total[idx] += total.get(i);
                m.has_data[idx] = true;
            }
        }
    }
    Ok(out)
}

/// A numeric result column as f64, whatever integer type the engine chose.
struct Column64(datafusion::arrow::array::ArrayRef);

impl Column64 {
    fn of(b: &RecordBatch, i: usize) -> Result<Column64> {
        Ok(Column64(datafusion::arrow::compute::cast(b.column(i), &datafusion::arrow::datatypes::DataType::Float64)?))
    }
    fn get(&self, i: usize) -> f64 {
        let a = self.0.as_primitive::<Float64Type>();
        if a.is_valid(i) { a.value(i) } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_keeps_what_it_covers_and_has_no_data_elsewhere() {
        let t = |m: i64| DateTime::from_timestamp(1_795_046_400 + m * 60, 0).unwrap();
        let mut m = Minutes::new(t(10), t(20));
        for i in 0..m.len() {
            (m.bad[i], m.total[i], m.has_data[i]) = (i as f64, 100.0, true);
        }
        let s = m.slice(t(5), t(15));
        assert_eq!((s.start, s.len()), (Minutes::new(t(5), t(15)).start, 10));
        assert_eq!(s.has_data, [[false; 5], [true; 5]].concat());
        assert_eq!(&s.bad[5..], &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let after = m.slice(t(18), t(25));
        assert_eq!(after.has_data, [vec![true; 2], vec![false; 5]].concat());
        assert!(m.slice(t(30), t(40)).has_data.iter().all(|d| !d));
        assert!(m.slice(t(0), t(5)).has_data.iter().all(|d| !d));
        // Seconds round out to whole minutes, as a fresh series does.
        let odd = m.slice(t(12) + chrono::Duration::seconds(30), t(14) + chrono::Duration::seconds(1));
        assert_eq!((odd.start, odd.bad.clone()), (m.start + 2, vec![2.0, 3.0, 4.0]));
    }

    #[test]
    fn le_values_print_like_prometheus() {
        assert_eq!(format_le(0.3), "0.3");
        assert_eq!(format_le(1.0), "1");
        assert_eq!(format_le(2.5), "2.5");
    }

    #[test]
    fn minutes_starting_in_a_span_match_their_times() {
        use chrono::{Duration, TimeZone};
        let t0 = Utc.with_ymd_and_hms(2026, 11, 19, 14, 0, 30).unwrap();
        let m = Minutes::new(t0, t0 + Duration::minutes(10));
        assert_eq!(m.len(), 11, "14:00 to 14:10:30 touches 11 minutes");
        for from_s in (-130..800).step_by(7) {
            for len_s in [-60, 0, 1, 59, 60, 61, 300, 2000] {
                let from = t0 + Duration::seconds(from_s) + Duration::microseconds(from_s % 3);
                let to = from + Duration::seconds(len_s);
                let want: Vec<usize> = (0..m.len()).filter(|&i| m.time(i) >= from && m.time(i) < to).collect();
                let got: Vec<usize> = m.starting_in(from, to).collect();
                assert_eq!(got, want, "from {from} to {to}");
            }
        }
    }
}
