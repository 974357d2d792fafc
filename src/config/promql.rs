//! PromQL queries in SLO definitions: parsed with the maintained `promql-parser` crate
//! and checked against the subset `analyze::promql` evaluates, so an SLO outside it is
//! refused when the config loads, naming the construct.

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};

/// How far back an instant selector looks for a series' latest sample.
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// A parsed query of the supported subset.
#[derive(Debug, Clone)]
pub struct Query {
    pub text: String,
    pub expr: Expr,
}

impl Query {
    /// Parses `text` and checks every construct is one retrace evaluates.
    pub fn parse(text: &str) -> std::result::Result<Query, String> {
        let expr = parser::parse(text.trim()).map_err(|e| format!("not PromQL: {}", e.trim()))?;
        check(&expr)?;
        Ok(Query { text: text.trim().to_string(), expr })
    }

    /// What one step of the query's value is per minute: a per-second rate is ×60, an
    /// `increase` over a range is per that range; anything else is taken as it is.
    pub fn per_minute(&self) -> f64 {
        scale(&self.expr).unwrap_or(1.0)
    }

    /// The longest stretch before an evaluation time the query reads.
    pub fn reach_ms(&self) -> i64 {
        reach(&self.expr) + LOOKBACK_MS
    }
}

fn scale(e: &Expr) -> Option<f64> {
    match e {
        Expr::Call(c) if matches!(c.func.name, "rate" | "irate") => Some(60.0),
        Expr::Call(c) if c.func.name == "increase" => match c.args.args.first().map(|a| a.as_ref()) {
            Some(Expr::MatrixSelector(m)) => Some(60.0 / m.range.as_secs_f64()),
            _ => None,
        },
        Expr::Call(c) => c.args.args.iter().find_map(|a| scale(a)),
        Expr::Aggregate(a) => scale(&a.expr),
        Expr::Paren(p) => scale(&p.expr),
        Expr::Unary(u) => scale(&u.expr),
        Expr::Binary(b) => scale(&b.lhs).or_else(|| scale(&b.rhs)),
        Expr::Subquery(s) => scale(&s.expr),
        _ => None,
    }
}

fn reach(e: &Expr) -> i64 {
    match e {
        Expr::MatrixSelector(m) => m.range.as_millis() as i64,
        Expr::Subquery(s) => s.range.as_millis() as i64 + reach(&s.expr),
        Expr::Call(c) => c.args.args.iter().map(|a| reach(a)).max().unwrap_or(0),
        Expr::Aggregate(a) => reach(&a.expr),
        Expr::Paren(p) => reach(&p.expr),
        Expr::Unary(u) => reach(&u.expr),
        Expr::Binary(b) => reach(&b.lhs).max(reach(&b.rhs)),
        _ => 0,
    }
}

const FUNCTIONS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "sum_over_time",
    "count_over_time",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "histogram_quantile",
    "vector",
    "scalar",
    "abs",
    "clamp_min",
    "clamp_max",
];
const AGGREGATIONS: &[&str] = &["sum", "avg", "min", "max", "count"];

/// Refuses what the evaluator does not do, naming it.
fn check(e: &Expr) -> std::result::Result<(), String> {
    match e {
        Expr::NumberLiteral(_) => Ok(()),
        Expr::StringLiteral(s) => Err(format!("a string literal (\"{}\") is not supported", s.val)),
        Expr::VectorSelector(v) => check_selector(v),
        Expr::MatrixSelector(m) => check_selector(&m.vs),
        Expr::Paren(p) => check(&p.expr),
        Expr::Unary(u) => check(&u.expr),
        Expr::Subquery(s) => {
            if s.offset.is_some() || s.at.is_some() {
                return Err("`offset` and `@` are not supported".into());
            }
            check(&s.expr)
        }
        Expr::Aggregate(a) => {
            let op = a.op.to_string();
            if !AGGREGATIONS.contains(&op.as_str()) {
                return Err(format!("the aggregation `{op}` is not supported ({} are)", AGGREGATIONS.join(", ")));
            }
            check(&a.expr)
        }
        Expr::Call(c) => {
            if !FUNCTIONS.contains(&c.func.name) {
                return Err(format!("the function `{}` is not supported ({} are)", c.func.name, FUNCTIONS.join(", ")));
            }
            c.args.args.iter().try_for_each(|a| check(a))
        }
        Expr::Binary(b) => {
            if let Some(m) = &b.modifier
                && (m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
            {
                return Err("`fill` modifiers are not supported".into());
            }
            let op = b.op.to_string();
            if op == "atan2" {
                return Err("the operator `atan2` is not supported".into());
            }
            check(&b.lhs)?;
            check(&b.rhs)
        }
        Expr::Extension(_) => Err("an extension expression is not supported".into()),
    }
}

fn check_selector(v: &VectorSelector) -> std::result::Result<(), String> {
    if v.offset.is_some() || v.at.is_some() {
        return Err(format!("`offset` and `@` are not supported (in `{v}`)"));
    }
    if !v.matchers.or_matchers.is_empty() {
        return Err(format!("`or` inside a selector is not supported (in `{v}`)"));
    }
    metric_name(v).map(|_| ())
}

pub fn metric_name(v: &VectorSelector) -> std::result::Result<String, String> {
    v.name
        .clone()
        .or_else(|| {
            v.matchers
                .matchers
                .iter()
                .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
                .map(|m| m.value.clone())
        })
        .ok_or_else(|| format!("`{v}` names no metric; retrace selects series by metric name"))
}

/// The metric names a query selects.
pub fn selectors(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::VectorSelector(v) => out.extend(metric_name(v).ok()),
        Expr::MatrixSelector(m) => out.extend(metric_name(&m.vs).ok()),
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Aggregate(a) => selectors(&a.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        _ => {}
    }
}
