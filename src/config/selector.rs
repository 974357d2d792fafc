//! Prometheus-style series selectors (`http_requests_total{service="checkout",code=~"5.."}`)
//! → SQL predicates over the `metrics` table. `service` matches the column; every other
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

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

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

    /// SQL predicate over `metrics`.
    pub fn to_sql(&self) -> String {
        let mut parts = vec![format!("metric = {}", quote(&self.metric))];
        for m in &self.matchers {
            let col = if m.label == "service" { "service".to_string() } else { format!("labels[{}]", quote(&m.label)) };
            parts.push(match m.op {
                Op::Eq if m.value.is_empty() => format!("({col} IS NULL OR {col} = '')"),
                Op::Eq => format!("{col} = {}", quote(&m.value)),
                Op::Ne => format!("({col} IS NULL OR {col} <> {})", quote(&m.value)),
                Op::Re => format!("regexp_like({col}, {})", quote(&format!("^(?:{})$", m.value))),
                Op::NotRe => {
                    format!("({col} IS NULL OR NOT regexp_like({col}, {}))", quote(&format!("^(?:{})$", m.value)))
                }
            });
        }
        parts.join(" AND ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_translates() {
        let s = Selector::parse(r#"http_requests_total{service="checkout", code=~"5..",path!="/health"}"#).unwrap();
        assert_eq!(s.metric, "http_requests_total");
        assert_eq!(s.equals("service"), Some("checkout"));
        assert_eq!(
            s.to_sql(),
            "metric = 'http_requests_total' AND service = 'checkout' AND regexp_like(labels['code'], '^(?:5..)$') \
             AND (labels['path'] IS NULL OR labels['path'] <> '/health')"
        );
        assert_eq!(Selector::parse("up").unwrap().to_sql(), "metric = 'up'");
        assert_eq!(
            Selector::parse(r#"x{le="+Inf"}"#).unwrap().with("le", "0.3").to_sql(),
            "metric = 'x' AND labels['le'] = '0.3'"
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(Selector::parse(r#"x{code=5}"#).unwrap_err().contains("quoted"));
        assert!(Selector::parse(r#"x{code=~"(5"}"#).unwrap_err().contains("bad regex"));
        assert!(Selector::parse(r#"{code="5"}"#).unwrap_err().contains("metric name"));
        assert!(Selector::parse(r#"x{code="5""#).unwrap_err().contains("missing"));
        assert!(Selector::parse(r#"x{a="it's"}"#).unwrap().to_sql().contains("'it''s'"));
    }
}
