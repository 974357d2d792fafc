//! Prometheus data: the text exposition format (with sample timestamps) line by line, and
//! the JSON a `query_range` (or instant `query`) API call returns, one series at a time.

use super::pattern::Fields;

/// One exposition line: `None` for `# HELP`/`# TYPE`/comment lines.
///
/// `name{label="value",…} value [timestamp_ms]`. Label values may escape `\\`, `\"`, `\n`.
pub fn parse_exposition(line: &str) -> Result<Option<Fields>, String> {
    let line = line.trim();
    if line.starts_with('#') {
        return Ok(None);
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace()).ok_or("no value after the metric name")?;
    let name = &line[..name_end];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return Err(format!("`{name}` is not a metric name"));
    }
    let mut fields: Fields = vec![("metric".into(), name.to_string())];
    let mut labels = Fields::new();
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(after)?;
        labels = parsed;
        rest = tail;
    }
    let mut parts = rest.split_whitespace();
    let value = parts.next().ok_or("no sample value")?;
    fields.push(("value".into(), value.to_string()));
    match parts.next() {
        Some(ts) => fields.push(("ts".into(), ts.to_string())),
        None => return Err("no timestamp: the text format only carries one when the exporter writes it".into()),
    }
    if let Some(extra) = parts.next() {
        return Err(format!("unexpected `{extra}` after the timestamp"));
    }
    fields.extend(labels);
    Ok(Some(fields))
}

/// `a="1",b="x\"y"} rest` → labels and `rest`.
fn parse_labels(s: &str) -> Result<(Fields, &str), String> {
    let mut labels = Fields::new();
    let mut rest = s.trim_start();
    loop {
        if let Some(tail) = rest.strip_prefix('}') {
            return Ok((labels, tail));
        }
        let eq = rest.find('=').ok_or("label without `=`")?;
        let key = rest[..eq].trim().to_string();
        let after =
            rest[eq + 1..].trim_start().strip_prefix('"').ok_or_else(|| format!("label `{key}`: value not quoted"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("label `{key}`: unterminated value")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("label `{key}`: unterminated value")),
            }
        };
        labels.push((key, value));
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
}

/// One series of a `query_range` result → its samples as fields (metric labels, `ts`,
/// `value`). Instant-query results (`"value": [t, "v"]`) work too.
pub fn series_samples(series: &serde_json::Value) -> Result<Vec<Fields>, String> {
    let obj = series.as_object().ok_or("a series must be an object")?;
    let mut labels: Fields = vec![];
    if let Some(metric) = obj.get("metric").and_then(|m| m.as_object()) {
        for (k, v) in metric {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            // `__name__` is the metric; put it first so it wins over a `name` label.
            if k == "__name__" {
                labels.insert(0, ("metric".into(), v));
            } else {
                labels.push((k.clone(), v));
            }
        }
    }
    if !labels.iter().any(|(k, _)| k == "metric") {
        return Err("series has no `__name__` label (use `{__name__=~\"...\"}` or name the metric in the query)".into());
    }
    let points: Vec<&serde_json::Value> = match (obj.get("values"), obj.get("value")) {
        (Some(serde_json::Value::Array(vs)), _) => vs.iter().collect(),
        (_, Some(v)) => vec![v],
        _ => return Err("series has neither `values` nor `value`".into()),
    };
    points
        .into_iter()
        .map(|p| {
            let pair = p.as_array().filter(|a| a.len() == 2).ok_or("a sample must be [time, \"value\"]")?;
            let ts = pair[0].as_f64().map(|t| t.to_string()).or_else(|| pair[0].as_str().map(str::to_string));
            let value = pair[1].as_str().map(str::to_string).or_else(|| pair[1].as_f64().map(|v| v.to_string()));
            let (Some(ts), Some(value)) = (ts, value) else { return Err(format!("bad sample {p}")) };
            let mut fields = vec![("ts".to_string(), ts), ("value".to_string(), value)];
            fields.extend(labels.iter().cloned());
            Ok(fields)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lines() {
        let f =
            parse_exposition(r#"http_requests_total{service="checkout",code="503",path="/a\"b"} 1027 1795096920000"#)
                .unwrap()
                .unwrap();
        assert_eq!(
            f,
            vec![
                ("metric".to_string(), "http_requests_total".to_string()),
                ("value".into(), "1027".into()),
                ("ts".into(), "1795096920000".into()),
                ("service".into(), "checkout".into()),
                ("code".into(), "503".into()),
                ("path".into(), "/a\"b".into()),
            ]
        );
        assert_eq!(parse_exposition("# TYPE http_requests_total counter").unwrap(), None);
        let bare = parse_exposition("up 1 1795096920000").unwrap().unwrap();
        assert_eq!(bare.len(), 3);
        assert!(parse_exposition("up 1").unwrap_err().contains("no timestamp"));
        assert!(parse_exposition(r#"up{a="1} 1 2"#).unwrap_err().contains("unterminated"));
    }

    #[test]
    fn query_range_series() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"metric":{"__name__":"up","job":"pay","name":"x"},"values":[[1795096920,"1"],[1795096935.5,"0"]]}"#,
        )
        .unwrap();
        let rows = series_samples(&v).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0], ("ts".into(), "1795096935.5".into()));
        assert_eq!(rows[1][1], ("value".into(), "0".into()));
        assert_eq!(rows[1][2], ("metric".into(), "up".into()));
        let nameless: serde_json::Value = serde_json::from_str(r#"{"metric":{"job":"pay"},"values":[]}"#).unwrap();
        assert!(series_samples(&nameless).unwrap_err().contains("__name__"));
    }
}
