//! Prometheus-style series selectors (`http_requests_total{service="checkout",code=~"5.."}`)
//! → predicates over the `metrics` table (DataFusion expressions). `service` matches the column; every other
//! label matches `labels['<name>']`. Regex matchers are anchored, as in PromQL.

/// One label matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: Op,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

use datafusion::functions::core::expr_fn::get_field;
use datafusion::functions::regex::expr_fn::regexp_like;
use datafusion::logical_expr::{Expr, col, lit, not};

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let text = text.trim();
        let (metric, rest) = match text.find('{') {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let metric = metric.trim();
        if metric.is_empty() || !metric.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            return Err(format!("`{text}`: a selector starts with a metric name"));
        }
        let mut matchers = Vec::new();
        if let Some(rest) = rest {
            let body = rest.trim_end().strip_suffix('}').ok_or_else(|| format!("`{text}`: missing `}}`"))?;
            let mut chars = body.char_indices().peekable();
            loop {
                while chars.peek().is_some_and(|(_, c)| c.is_whitespace() || *c == ',') {
                    chars.next();
                }
                let Some(&(start, _)) = chars.peek() else { break };
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        end = i + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let label = body[start..end].to_string();
                if label.is_empty() {
                    return Err(format!("`{text}`: expected a label name at byte {start}"));
                }
                let op_text: String =
                    std::iter::from_fn(|| chars.next_if(|(_, c)| "=!~".contains(*c)).map(|(_, c)| c)).collect();
                let op = match op_text.as_str() {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "=~" => Op::Re,
                    "!~" => Op::NotRe,
                    other => return Err(format!("`{text}`: unknown operator `{other}` after `{label}`")),
                };
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(format!("`{text}`: the value of `{label}` must be quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => {
                            if let Some((_, c)) = chars.next() {
                                value.push(c);
                            }
                        }
                        Some((_, '"')) => break,
                        Some((_, c)) => value.push(c),
                        None => return Err(format!("`{text}`: unterminated value of `{label}`")),
                    }
                }
                if matches!(op, Op::Re | Op::NotRe) {
                    regex::Regex::new(&value).map_err(|e| format!("`{text}`: bad regex for `{label}`: {e}"))?;
                }
                matchers.push(Matcher { label, op, value });
            }
        }
        Ok(Selector { metric: metric.to_string(), matchers })
    }

    /// The value of an `=` matcher on `label`, if the selector has one.
    pub fn equals(&self, label: &str) -> Option<&str> {
        self.matchers.iter().find(|m| m.label == label && m.op == Op::Eq).map(|m| m.value.as_str())
    }

    /// A copy with one more `label="value"` matcher (replacing any on that label).
    pub fn with(&self, label: &str, value: &str) -> Selector {
        let mut s = self.clone();
        s.matchers.retain(|m| m.label != label);
        s.matchers.push(Matcher { label: label.into(), op: Op::Eq, value: value.into() });
        s
    }

    /// The predicate over `metrics`, as a DataFusion expression: label names and values
    /// are literals, never spliced into SQL text, so no quoting rule can be got wrong.
    pub fn to_expr(&self) -> Expr {
        let mut all = col("metric").eq(lit(self.metric.clone()));
        for m in &self.matchers {
            let c = if m.label == "service" { col("service") } else { get_field(col("labels"), m.label.as_str()) };
            let anchored = || lit(format!("^(?:{})$", m.value));
            all = all.and(match m.op {
                // An absent label matches `=""`, as in PromQL.
                Op::Eq if m.value.is_empty() => c.clone().is_null().or(c.eq(lit(""))),
                Op::Eq => c.eq(lit(m.value.clone())),
                Op::Ne => c.clone().is_null().or(c.not_eq(lit(m.value.clone()))),
                Op::Re => regexp_like(c, anchored(), None),
                Op::NotRe => c.clone().is_null().or(not(regexp_like(c, anchored(), None))),
            });
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which of a few series each selector picks, evaluated by DataFusion over a table
    /// shaped like `metrics` (a `labels` map, a `service` column).
    #[tokio::test]
    async fn selectors_pick_the_series_prometheus_would() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql(
            "CREATE VIEW metrics AS SELECT * FROM (VALUES \
             (1, 'http_requests_total', 'checkout', MAP {'code': '500', 'path': '/pay'}), \
             (2, 'http_requests_total', 'checkout', MAP {'code': '200', 'path': '/health'}), \
             (3, 'http_requests_total', 'search', MAP {'code': '503', 'path': 'it''s'}), \
             (4, 'http_requests_total', 'search', MAP {'path': '/x'}), \
             (5, 'up', 'search', MAP {'code': '500'})) AS t(id, metric, service, labels)",
        )
        .await
        .unwrap();
        let ids = |selector: &str| {
            let ctx = ctx.clone();
            let expr = Selector::parse(selector).unwrap().to_expr();
            async move {
                let df = ctx.table("metrics").await.unwrap().filter(expr).unwrap().select_columns(&["id"]).unwrap();
                let mut ids: Vec<i64> = df
                    .collect()
                    .await
                    .unwrap()
                    .iter()
                    .flat_map(|b| {
                        let a = datafusion::arrow::compute::cast(
                            b.column(0),
                            &datafusion::arrow::datatypes::DataType::Int64,
                        )
                        .unwrap();
                        datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(&a)
                            .values()
                            .to_vec()
                    })
                    .collect();
                ids.sort();
                ids
            }
        };
        assert_eq!(ids("http_requests_total").await, vec![1, 2, 3, 4]);
        assert_eq!(ids(r#"http_requests_total{service="checkout",code=~"5.."}"#).await, vec![1]);
        // Anchored: `5` alone matches no code; `!=` and `!~` keep series without the label.
        assert_eq!(ids(r#"http_requests_total{code=~"5"}"#).await, Vec::<i64>::new());
        assert_eq!(ids(r#"http_requests_total{code!="200"}"#).await, vec![1, 3, 4]);
        assert_eq!(ids(r#"http_requests_total{code!~"5.."}"#).await, vec![2, 4]);
        // `=""` matches a missing label; a quote in a value is just a character.
        assert_eq!(ids(r#"http_requests_total{code=""}"#).await, vec![4]);
        assert_eq!(ids(r#"http_requests_total{path="it's"}"#).await, vec![3]);
        assert_eq!(ids(r#"up{code="500"}"#).await, vec![5]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(Selector::parse(r#"x{code=5}"#).unwrap_err().contains("quoted"));
        assert!(Selector::parse(r#"x{code=~"(5"}"#).unwrap_err().contains("bad regex"));
        assert!(Selector::parse(r#"{code="5"}"#).unwrap_err().contains("metric name"));
        assert!(Selector::parse(r#"x{code="5""#).unwrap_err().contains("missing"));
    }
}
