//! The PromQL that SLO tools write, evaluated on the `metrics` table: selectors, `rate`,
//! `irate`, `increase`, the `*_over_time` family, `sum/avg/min/max/count` with `by` or
//! `without`, arithmetic and comparisons between scalars and vectors (`on`/`ignoring`,
//! `group_left`/`group_right`, `bool`), `and`/`or`/`unless`, subqueries, `vector`,
//! `scalar` and `histogram_quantile` over `le` buckets. Parsing is the maintained
//! `promql-parser` crate's; anything outside the subset is refused when the SLO is
//! loaded, naming the construct.
//!
//! Semantics follow Prometheus: an instant selector takes each series' latest sample in
//! the 5 minutes up to the evaluation time; a range is left-open `(t − range, t]`; `rate`
//! and `increase` extrapolate as Prometheus's `extrapolatedRate` does, so an SLI computes
//! what the tool's recording rule would.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use datafusion::prelude::SessionContext;
use promql_parser::label::Matchers;
use promql_parser::parser::{self, Expr, LabelModifier, VectorMatchCardinality, VectorSelector};

use super::params::{self, Params, Window};
pub use crate::config::promql::Query;
use crate::config::promql::{LOOKBACK_MS, metric_name, selectors};
use crate::error::{Error, Result};

/// The step of a subquery that names none (`[30m:]`): Prometheus's default evaluation
/// interval.
const DEFAULT_STEP_MS: i64 = 60 * 1000;

/// One series: its labels (`__name__` and `service` among them) and samples, oldest first.
#[derive(Debug, Clone)]
struct Series {
    labels: Labels,
    points: Vec<(i64, f64)>,
}

type Labels = BTreeMap<String, String>;

/// An instant vector's element.
#[derive(Debug, Clone)]
struct Sample {
    labels: Labels,
    value: f64,
}

#[derive(Debug, Clone)]
enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

/// The samples a query reads, loaded once for all its evaluation times.
pub struct Data {
    by_metric: HashMap<String, Vec<Series>>,
}

impl Data {
    /// Loads every metric the queries select, over `window` and what they reach before it.
    pub async fn load(ctx: &SessionContext, queries: &[&Query], window: Window) -> Result<Data> {
        let mut names = Vec::new();
        let mut reach_ms = 0;
        for q in queries {
            selectors(&q.expr, &mut names);
            reach_ms = reach_ms.max(q.reach_ms());
        }
        names.sort();
        names.dedup();
        let padded = Window { from: window.from - chrono::Duration::milliseconds(reach_ms), to: window.to };
        let mut by_metric = HashMap::new();
        for name in names {
            by_metric.insert(name.clone(), load_metric(ctx, &name, padded).await?);
        }
        Ok(Data { by_metric })
    }
}

async fn load_metric(ctx: &SessionContext, name: &str, window: Window) -> Result<Vec<Series>> {
    const SQL: &str = "SELECT ts, service, labels, value, metric FROM metrics \
                       WHERE ts >= $from AND ts < $to AND date >= $from_date AND date <= $to_date ORDER BY ts";
    let filter = datafusion::logical_expr::col("metric").eq(datafusion::logical_expr::lit(name.to_string()));
    let batches = params::run_filtered(ctx, SQL, Params::window(window, None), Some(filter)).await?;
    let mut series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for b in batches {
        let ts = b.column(0).as_primitive::<TimestampMicrosecondType>();
        let service = b.column(1).as_string::<i32>();
        let labels = b.column(2).as_map();
        let value = b.column(3).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            let mut l = Labels::new();
            l.insert("__name__".into(), name.to_string());
            if service.is_valid(i) {
                l.insert("service".into(), service.value(i).to_string());
            }
            if labels.is_valid(i) {
                let entries = labels.value(i);
                let (k, v) = (entries.column(0).as_string::<i32>(), entries.column(1).as_string::<i32>());
                for j in 0..entries.len() {
                    l.entry(k.value(j).to_string()).or_insert_with(|| v.value(j).to_string());
                }
            }
            series.entry(l).or_default().push((ts.value(i).div_euclid(1000), value.value(i)));
        }
    }
    Ok(series.into_iter().map(|(labels, points)| Series { labels, points }).collect())
}

/// The query's value at each minute of `window`, evaluated at the minute's end and
/// summed over the series it returns; `None` where it returns none.
pub fn per_minute(query: &Query, data: &Data, from: DateTime<Utc>, minutes: usize) -> Result<Vec<Option<f64>>> {
    let start = from.timestamp_millis().div_euclid(60_000) * 60_000;
    (0..minutes).map(|i| at(query, data, start + (i as i64 + 1) * 60_000)).collect()
}

/// The query's value at `t_ms` (Unix milliseconds), summed over the series it returns;
/// `None` where it returns none.
pub fn at(query: &Query, data: &Data, t_ms: i64) -> Result<Option<f64>> {
    Ok(match eval(&query.expr, data, t_ms).map_err(|e| Error::Usage(format!("`{}`: {e}", query.text)))? {
        Value::Scalar(v) => Some(v),
        Value::Vector(v) if v.is_empty() => None,
        Value::Vector(v) => Some(v.iter().map(|s| s.value).sum()),
        Value::Matrix(_) => None,
    })
}

type Eval<T> = std::result::Result<T, String>;

fn eval(e: &Expr, data: &Data, t: i64) -> Eval<Value> {
    Ok(match e {
        Expr::NumberLiteral(n) => Value::Scalar(n.val),
        Expr::Paren(p) => eval(&p.expr, data, t)?,
        Expr::Unary(u) => match eval(&u.expr, data, t)? {
            Value::Scalar(v) => Value::Scalar(-v),
            Value::Vector(v) => {
                Value::Vector(v.into_iter().map(|s| Sample { labels: drop_name(s.labels), value: -s.value }).collect())
            }
            Value::Matrix(_) => return Err("unary minus on a range".into()),
        },
        Expr::VectorSelector(v) => Value::Vector(instant(v, data, t)),
        Expr::MatrixSelector(m) => Value::Matrix(range(&m.vs, data, t - m.range.as_millis() as i64, t)),
        Expr::Subquery(s) => {
            let step = s.step.map_or(DEFAULT_STEP_MS, |d| d.as_millis() as i64).max(1);
            let from = t - s.range.as_millis() as i64;
            let mut series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
            // Steps aligned to multiples of the step, in (t − range, t].
            let mut at = from.div_euclid(step) * step + step;
            while at <= t {
                match eval(&s.expr, data, at)? {
                    Value::Vector(v) => {
                        for sample in v {
                            series.entry(sample.labels).or_default().push((at, sample.value));
                        }
                    }
                    Value::Scalar(v) => series.entry(Labels::new()).or_default().push((at, v)),
                    Value::Matrix(_) => return Err("a subquery of a range".into()),
                }
                at += step;
            }
            Value::Matrix(series.into_iter().map(|(labels, points)| Series { labels, points }).collect())
        }
        Expr::Aggregate(a) => {
            let Value::Vector(v) = eval(&a.expr, data, t)? else { return Err(format!("`{}` needs a vector", a.op)) };
            Value::Vector(aggregate(&a.op.to_string(), a.modifier.as_ref(), v))
        }
        Expr::Call(c) => call(c.func.name, &c.args.args, data, t)?,
        Expr::Binary(b) => {
            let lhs = eval(&b.lhs, data, t)?;
            let rhs = eval(&b.rhs, data, t)?;
            binary(&b.op.to_string(), b.modifier.as_ref(), lhs, rhs)?
        }
        Expr::StringLiteral(_) | Expr::Extension(_) => return Err("unsupported expression".into()),
    })
}

fn matches(v: &VectorSelector, labels: &Labels) -> bool {
    let all: &Matchers = &v.matchers;
    all.matchers.iter().all(|m| m.is_match(labels.get(&m.name).map_or("", String::as_str)))
}

fn candidates<'a>(v: &VectorSelector, data: &'a Data) -> impl Iterator<Item = &'a Series> {
    let name = metric_name(v).unwrap_or_default();
    data.by_metric.get(&name).into_iter().flatten().filter(move |s| matches(v, &s.labels))
}

fn instant(v: &VectorSelector, data: &Data, t: i64) -> Vec<Sample> {
    candidates(v, data)
        .filter_map(|s| {
            let end = s.points.partition_point(|(ts, _)| *ts <= t);
            let (ts, value) = *s.points[..end].last()?;
            (ts > t - LOOKBACK_MS).then(|| Sample { labels: s.labels.clone(), value })
        })
        .collect()
}

fn range(v: &VectorSelector, data: &Data, from: i64, to: i64) -> Vec<Series> {
    candidates(v, data)
        .filter_map(|s| {
            let lo = s.points.partition_point(|(ts, _)| *ts <= from);
            let hi = s.points.partition_point(|(ts, _)| *ts <= to);
            (lo < hi).then(|| Series { labels: s.labels.clone(), points: s.points[lo..hi].to_vec() })
        })
        .collect()
}

fn drop_name(mut labels: Labels) -> Labels {
    labels.remove("__name__");
    labels
}

fn call(name: &str, args: &[Box<Expr>], data: &Data, t: i64) -> Eval<Value> {
    let arg = |i: usize| args.get(i).ok_or_else(|| format!("`{name}` is missing an argument"));
    let scalar_arg = |i: usize| match eval(arg(i)?, data, t)? {
        Value::Scalar(v) => Ok(v),
        _ => Err(format!("`{name}` needs a number as argument {}", i + 1)),
    };
    Ok(match name {
        "vector" => Value::Vector(vec![Sample { labels: Labels::new(), value: scalar_arg(0)? }]),
        "scalar" => match eval(arg(0)?, data, t)? {
            Value::Vector(v) if v.len() == 1 => Value::Scalar(v[0].value),
            _ => Value::Scalar(f64::NAN),
        },
        "abs" | "clamp_min" | "clamp_max" => {
            let Value::Vector(v) = eval(arg(0)?, data, t)? else { return Err(format!("`{name}` needs a vector")) };
            let bound = if name == "abs" { 0.0 } else { scalar_arg(1)? };
            let f = |x: f64| match name {
                "abs" => x.abs(),
                "clamp_min" => x.max(bound),
                _ => x.min(bound),
            };
            Value::Vector(v.into_iter().map(|s| Sample { labels: drop_name(s.labels), value: f(s.value) }).collect())
        }
        "histogram_quantile" => {
            let q = scalar_arg(0)?;
            let Value::Vector(v) = eval(arg(1)?, data, t)? else {
                return Err("`histogram_quantile` needs a vector".into());
            };
            Value::Vector(histogram_quantile(q, v))
        }
        _ => {
            let (range_ms, series) = match arg(0)?.as_ref() {
                Expr::MatrixSelector(m) => {
                    let r = m.range.as_millis() as i64;
                    (r, range(&m.vs, data, t - r, t))
                }
                other => match eval(other, data, t)? {
                    Value::Matrix(m) => {
                        let r = match other {
                            Expr::Subquery(s) => s.range.as_millis() as i64,
                            _ => 0,
                        };
                        (r, m)
                    }
                    _ => return Err(format!("`{name}` needs a range, like `x[5m]`")),
                },
            };
            let out = series
                .into_iter()
                .filter_map(|s| {
                    let value = over_range(name, &s.points, t - range_ms, t)?;
                    Some(Sample { labels: drop_name(s.labels), value })
                })
                .collect();
            Value::Vector(out)
        }
    })
}

/// A range function over one series' samples in `(from, to]`.
fn over_range(name: &str, points: &[(i64, f64)], from: i64, to: i64) -> Option<f64> {
    let values = points.iter().map(|p| p.1);
    match name {
        "sum_over_time" => Some(values.sum()),
        "count_over_time" => Some(points.len() as f64),
        "avg_over_time" => (!points.is_empty()).then(|| values.sum::<f64>() / points.len() as f64),
        "min_over_time" => values.reduce(f64::min),
        "max_over_time" => values.reduce(f64::max),
        "irate" => {
            let [.., (t0, v0), (t1, v1)] = points else { return None };
            let delta = if v1 < v0 { *v1 } else { v1 - v0 };
            (t1 > t0).then(|| delta / ((t1 - t0) as f64 / 1000.0))
        }
        "rate" | "increase" => extrapolated_rate(points, from, to, name == "rate"),
        _ => None,
    }
}

/// Prometheus's `extrapolatedRate` for counters: the increase between the first and last
/// sample (resets added back), extrapolated towards the range's edges when the samples
/// stop short of them, but not past where the counter would have been zero.
fn extrapolated_rate(points: &[(i64, f64)], from: i64, to: i64, per_second: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (first, last) = (points[0], points[points.len() - 1]);
    let mut result = last.1 - first.1;
    for w in points.windows(2) {
        if w[1].1 < w[0].1 {
            result += w[0].1;
        }
    }
    let secs = |ms: i64| ms as f64 / 1000.0;
    let mut to_start = secs(first.0 - from);
    let to_end = secs(to - last.0);
    let sampled = secs(last.0 - first.0);
    let average = sampled / (points.len() - 1) as f64;
    if result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold { to_start } else { average / 2.0 };
    interval += if to_end < threshold { to_end } else { average / 2.0 };
    if sampled <= 0.0 {
        return None;
    }
    let mut value = result * (interval / sampled);
    if per_second {
        value /= secs(to - from);
    }
    Some(value)
}

/// The labels an aggregation or a vector match keeps.
fn grouping(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    match modifier {
        None => Labels::new(),
        Some(LabelModifier::Include(keep)) => {
            labels.iter().filter(|(k, _)| keep.labels.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        Some(LabelModifier::Exclude(drop)) => labels
            .iter()
            .filter(|(k, _)| *k != "__name__" && !drop.labels.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

fn aggregate(op: &str, modifier: Option<&LabelModifier>, v: Vec<Sample>) -> Vec<Sample> {
    let mut groups: BTreeMap<Labels, Vec<f64>> = BTreeMap::new();
    for s in v {
        groups.entry(grouping(&s.labels, modifier)).or_default().push(s.value);
    }
    groups
        .into_iter()
        .map(|(labels, values)| {
            let n = values.len() as f64;
            let value = match op {
                "sum" => values.iter().sum(),
                "avg" => values.iter().sum::<f64>() / n,
                "min" => values.iter().copied().fold(f64::INFINITY, f64::min),
                "max" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => n,
            };
            Sample { labels, value }
        })
        .collect()
}

fn arithmetic(op: &str, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b,
        "/" => a / b,
        "%" => a % b,
        "^" => a.powf(b),
        _ => return None,
    })
}

fn compare(op: &str, a: f64, b: f64) -> Option<bool> {
    Some(match op {
        "==" => a == b,
        "!=" => a != b,
        "<" => a < b,
        "<=" => a <= b,
        ">" => a > b,
        ">=" => a >= b,
        _ => return None,
    })
}

/// One element's result of `a op b`: `None` when a comparison filters it out.
fn apply(op: &str, a: f64, b: f64, bool_mode: bool, keep: f64) -> Eval<Option<f64>> {
    if let Some(v) = arithmetic(op, a, b) {
        return Ok(Some(v));
    }
    match compare(op, a, b) {
        Some(hold) if bool_mode => Ok(Some(if hold { 1.0 } else { 0.0 })),
        Some(hold) => Ok(hold.then_some(keep)),
        None => Err(format!("the operator `{op}` needs two vectors")),
    }
}

fn binary(op: &str, modifier: Option<&parser::BinModifier>, lhs: Value, rhs: Value) -> Eval<Value> {
    let bool_mode = modifier.is_some_and(|m| m.return_bool);
    let is_comparison = compare(op, 0.0, 0.0).is_some();
    let relabel = |labels: Labels| if is_comparison && !bool_mode { labels } else { drop_name(labels) };
    Ok(match (lhs, rhs) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            Value::Scalar(apply(op, a, b, true, a)?.ok_or_else(|| format!("`{op}` between two numbers"))?)
        }
        (Value::Vector(v), Value::Scalar(b)) => {
            let mut out = Vec::new();
            for s in v {
                if let Some(value) = apply(op, s.value, b, bool_mode, s.value)? {
                    out.push(Sample { labels: relabel(s.labels), value });
                }
            }
            Value::Vector(out)
        }
        (Value::Scalar(a), Value::Vector(v)) => {
            let mut out = Vec::new();
            for s in v {
                if let Some(value) = apply(op, a, s.value, bool_mode, s.value)? {
                    out.push(Sample { labels: relabel(s.labels), value });
                }
            }
            Value::Vector(out)
        }
        (Value::Vector(l), Value::Vector(r)) => Value::Vector(vector_binary(op, modifier, l, r)?),
        _ => return Err(format!("`{op}` cannot take a range; apply a function like rate() first")),
    })
}

/// The labels two vectors' elements are matched on.
fn signature(labels: &Labels, modifier: Option<&parser::BinModifier>) -> Labels {
    match modifier.and_then(|m| m.matching.as_ref()) {
        Some(LabelModifier::Include(on)) => {
            labels.iter().filter(|(k, _)| on.labels.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        Some(LabelModifier::Exclude(ignoring)) => labels
            .iter()
            .filter(|(k, _)| *k != "__name__" && !ignoring.labels.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => drop_name(labels.clone()),
    }
}

fn vector_binary(
    op: &str,
    modifier: Option<&parser::BinModifier>,
    l: Vec<Sample>,
    r: Vec<Sample>,
) -> Eval<Vec<Sample>> {
    let sig = |s: &Sample| signature(&s.labels, modifier);
    match op {
        "and" => {
            let right: std::collections::BTreeSet<Labels> = r.iter().map(sig).collect();
            return Ok(l.into_iter().filter(|s| right.contains(&sig(s))).collect());
        }
        "unless" => {
            let right: std::collections::BTreeSet<Labels> = r.iter().map(sig).collect();
            return Ok(l.into_iter().filter(|s| !right.contains(&sig(s))).collect());
        }
        "or" => {
            let left: std::collections::BTreeSet<Labels> = l.iter().map(sig).collect();
            let mut out = l;
            out.extend(r.into_iter().filter(|s| !left.contains(&sig(s))));
            return Ok(out);
        }
        _ => {}
    }
    let bool_mode = modifier.is_some_and(|m| m.return_bool);
    let is_comparison = compare(op, 0.0, 0.0).is_some();
    let card = modifier.map_or(VectorMatchCardinality::OneToOne, |m| m.card.clone());
    // The "one" side, indexed by signature; the other side is walked.
    let (many, one, swapped, include) = match &card {
        VectorMatchCardinality::OneToMany(include) => (r, l, true, include.labels.clone()),
        VectorMatchCardinality::ManyToOne(include) => (l, r, false, include.labels.clone()),
        _ => (l, r, false, Vec::new()),
    };
    let mut index: HashMap<Labels, &Sample> = HashMap::new();
    for s in &one {
        if index.insert(sig(s), s).is_some() {
            return Err(format!("many-to-many matching for `{op}`: several series share the labels {:?}", sig(s)));
        }
    }
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in many {
        let key = sig(&s);
        let Some(other) = index.get(&key) else { continue };
        let (a, b) = if swapped { (other.value, s.value) } else { (s.value, other.value) };
        let Some(value) = apply(op, a, b, bool_mode, a)? else { continue };
        let mut labels = if one_to_one { result_labels(&s.labels, modifier) } else { s.labels.clone() };
        if !is_comparison || bool_mode {
            labels.remove("__name__");
        }
        for name in &include {
            match other.labels.get(name) {
                Some(v) => labels.insert(name.clone(), v.clone()),
                None => labels.remove(name),
            };
        }
        if one_to_one && !seen.insert(key) {
            return Err(format!("many-to-one matching for `{op}` needs group_left or group_right"));
        }
        out.push(Sample { labels, value });
    }
    Ok(out)
}

/// A one-to-one match keeps the `on` labels only, or drops the `ignoring` ones.
fn result_labels(labels: &Labels, modifier: Option<&parser::BinModifier>) -> Labels {
    match modifier.and_then(|m| m.matching.as_ref()) {
        Some(LabelModifier::Include(on)) => {
            labels.iter().filter(|(k, _)| on.labels.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        Some(LabelModifier::Exclude(ignoring)) => {
            labels.iter().filter(|(k, _)| !ignoring.labels.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        None => labels.clone(),
    }
}

/// Prometheus's `bucketQuantile`: per group of `le` buckets (cumulative counts), the
/// value below which a share `q` of observations fall, interpolated linearly in the
/// bucket it lands in.
fn histogram_quantile(q: f64, v: Vec<Sample>) -> Vec<Sample> {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for s in v {
        let Some(le) = s.labels.get("le").and_then(|l| l.parse::<f64>().ok()) else { continue };
        let mut labels = drop_name(s.labels);
        labels.remove("le");
        groups.entry(labels).or_default().push((le, s.value));
    }
    groups
        .into_iter()
        .filter_map(|(labels, mut buckets)| {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            let value = bucket_quantile(q, &buckets)?;
            Some(Sample { labels, value })
        })
        .collect()
}

fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if q.is_nan() {
        return Some(f64::NAN);
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let last = buckets.last()?;
    if buckets.len() < 2 || last.0 != f64::INFINITY {
        return Some(f64::NAN);
    }
    let total = last.1;
    if total == 0.0 {
        return Some(f64::NAN);
    }
    let rank = q * total;
    let b = buckets.partition_point(|(_, count)| *count < rank);
    if b == buckets.len() - 1 {
        return Some(buckets[buckets.len() - 2].0);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return Some(buckets[0].0);
    }
    let (mut start, mut below) = (0.0, 0.0);
    let end = buckets[b].0;
    let mut count = buckets[b].1;
    if b > 0 {
        start = buckets[b - 1].0;
        below = buckets[b - 1].1;
        count -= below;
    }
    Some(start + (end - start) * ((rank - below) / count))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (metric, labels, samples) of one test series.
    type Spec<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [(i64, f64)]);

    fn data(series: &[Spec<'_>]) -> Data {
        let mut by_metric: HashMap<String, Vec<Series>> = HashMap::new();
        for (name, labels, points) in series {
            let mut l: Labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            l.insert("__name__".into(), name.to_string());
            by_metric.entry(name.to_string()).or_default().push(Series { labels: l, points: points.to_vec() });
        }
        Data { by_metric }
    }

    fn at(q: &str, d: &Data, t: i64) -> Option<f64> {
        let q = Query::parse(q).unwrap();
        match eval(&q.expr, d, t).unwrap() {
            Value::Scalar(v) => Some(v),
            Value::Vector(v) if v.is_empty() => None,
            Value::Vector(v) => Some(v.iter().map(|s| s.value).sum()),
            Value::Matrix(_) => None,
        }
    }

    /// A counter rising 1/s, scraped every 15 s, per `code`.
    fn counters() -> Data {
        let pts = |per_s: f64| (0..41).map(|i| (i * 15_000, per_s * (i * 15) as f64)).collect::<Vec<_>>();
        let (ok, bad) = (pts(9.0), pts(1.0));
        data(&[
            ("http_requests_total", &[("code", "200"), ("job", "api")], &ok),
            ("http_requests_total", &[("code", "503"), ("job", "api")], &bad),
        ])
    }

    #[test]
    fn rates_and_ratios_as_recording_rules_compute_them() {
        let d = counters();
        let t = 600_000;
        let ratio =
            at(r#"sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))"#, &d, t)
                .unwrap();
        assert!((ratio - 0.1).abs() < 1e-12, "{ratio}");
        let rate = at(r#"sum(rate(http_requests_total{job="api"}[5m]))"#, &d, t).unwrap();
        assert!((rate - 10.0).abs() < 1e-9, "{rate}");
        // increase extrapolates to the whole range: 1/s over 5 minutes is 300.
        let inc = at(r#"increase(http_requests_total{code="503"}[5m])"#, &d, t).unwrap();
        assert!((inc - 300.0).abs() < 1e-9, "{inc}");
        assert!((at(r#"irate(http_requests_total{code="503"}[1m])"#, &d, t).unwrap() - 1.0).abs() < 1e-12);
        let by = Query::parse(r#"sum by (code) (rate(http_requests_total[5m]))"#).unwrap();
        let Value::Vector(v) = eval(&by.expr, &d, t).unwrap() else { panic!() };
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].labels, Labels::from([("code".to_string(), "200".to_string())]));
        // 1 − good/total, Sloth's conversion of an OpenSLO good/total ratio.
        let good =
            at(r#"1 - (sum(rate(http_requests_total{code!~"5.."}[5m])) / sum(rate(http_requests_total[5m])))"#, &d, t);
        assert!((good.unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn counter_resets_are_added_back() {
        let pts: Vec<(i64, f64)> = vec![(0, 100.0), (60_000, 160.0), (120_000, 20.0), (180_000, 80.0)];
        let d = data(&[("c_total", &[], &pts)]);
        // 60 + 20 (after the reset) + 60 = 140 over the 180 s sampled; the range starts 60 s
        // before the first sample, within 1.1 scrape intervals, so Prometheus extrapolates
        // to the whole 240 s.
        let inc = at("increase(c_total[4m])", &d, 180_000).unwrap();
        assert!((inc - 140.0 * (240.0 / 180.0)).abs() < 1e-9, "{inc}");
        // Starting further from the range's edge than 1.1 intervals: half an interval only.
        let inc = at("increase(c_total[10m])", &d, 180_000).unwrap();
        assert!((inc - 140.0 * (210.0 / 180.0)).abs() < 1e-9, "{inc}");
    }

    #[test]
    fn subqueries_filters_and_or_vector() {
        let sat: Vec<(i64, f64)> = (0..=30).map(|i| (i * 60_000, if i % 3 == 0 { 0.5 } else { 0.9 })).collect();
        let d = data(&[
            ("unifipoller_client_satisfaction_ratio", &[("client", "a")], &sat),
            ("unifipoller_client_satisfaction_ratio", &[("client", "b")], &[(0, 0.9), (1_800_000, 0.9)]),
        ]);
        let q = "(sum_over_time((count(unifipoller_client_satisfaction_ratio < 0.75))[10m:]) OR on() vector(0)) \
                 / (sum_over_time((count(unifipoller_client_satisfaction_ratio))[10m:]))";
        // Over the 10 one-minute steps ending at 30 min, client a was unhappy in 3 (minutes 21, 24,
        // 27 and 30 → the steps 21..30 hold 21, 24, 27, 30: 4) of 10; b never, and b's only
        // samples are at 0 and 30 min, so within 5 min lookback it counts at minute 30 only.
        let v = at(q, &d, 1_800_000).unwrap();
        assert!((v - 4.0 / 11.0).abs() < 1e-12, "{v}");
        // No unhappy client at all: `or on() vector(0)` gives 0, not no data.
        let calm = data(&[("unifipoller_client_satisfaction_ratio", &[("client", "b")], &[(0, 0.9), (60_000, 0.9)])]);
        assert_eq!(at(q, &calm, 120_000), Some(0.0));
    }

    #[test]
    fn histogram_quantile_interpolates_in_the_bucket() {
        let b = |le: &'static str, n: f64| ("lat_bucket", vec![("le", le)], vec![(0, 0.0), (60_000, n)]);
        let rows = [b("0.1", 50.0), b("0.5", 90.0), b("1", 100.0), b("+Inf", 100.0)];
        let owned: Vec<Spec<'_>> = rows.iter().map(|(n, l, p)| (*n, l.as_slice(), p.as_slice())).collect();
        let d = data(&owned);
        let p90 = at("histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))", &d, 60_000).unwrap();
        assert!((p90 - 0.5).abs() < 1e-9, "{p90}");
        let p95 = at("histogram_quantile(0.95, sum by (le) (rate(lat_bucket[5m])))", &d, 60_000).unwrap();
        assert!((p95 - 0.75).abs() < 1e-9, "{p95}");
    }

    #[test]
    fn constructs_outside_the_subset_are_named() {
        let e = Query::parse("topk(3, rate(x[5m]))").unwrap_err();
        assert!(e.contains("`topk`"), "{e}");
        let e = Query::parse("predict_linear(x[1h], 60)").unwrap_err();
        assert!(e.contains("`predict_linear`"), "{e}");
        let e = Query::parse("rate(x[5m] offset 1h)").unwrap_err();
        assert!(e.contains("offset"), "{e}");
        let e = Query::parse(r#"{job="x"}"#).unwrap_err();
        assert!(e.contains("names no metric"), "{e}");
        let e = Query::parse("sum(rate(x[5m]").unwrap_err();
        assert!(e.starts_with("not PromQL"), "{e}");
    }
}
