//! Prometheus data: the text exposition format (with sample timestamps) line by line, and
//! the JSON a `query_range` (or instant `query`) API call returns, one series at a time.

use std::borrow::Cow;

use super::matrix::{self, Point, Points, Scalar};
use super::pattern::{Fields, LineFields};
use super::record::Value;
use super::whitespace;

/// Why a sample without a timestamp is refused when the source sets no `scrape_time`.
pub const NO_TIMESTAMP: &str = "no timestamp: a plain scrape carries none; set `scrape_time` on the source \
     (\"object_modified\" or an RFC 3339 time), or export with /federate or the query_range API, which write one per sample";

/// One exposition line: `None` for `# HELP`/`# TYPE`/comment lines. A sample without a
/// timestamp has no `ts` field.
///
/// `name{label="value",…} value [timestamp_ms]`. Label values may escape `\\`, `\"`, `\n`.
/// Also as other tools print it: the name as a `__name__` label (`{__name__="up",
/// job="x"} 1 1700000000000`, what `promtool tsdb dump` writes), and Prometheus 3's quoted
/// UTF-8 names and label names (`{"http.server.duration", "service.name"="x"} …`).
pub fn parse_exposition(line: &str) -> Result<Option<LineFields<'_, '_>>, String> {
    let line = whitespace::trim(line);
    if line.starts_with('#') {
        return Ok(None);
    }
    let name_end = whitespace::find_space_or(line, b'{').ok_or("no value after the metric name")?;
    let before = &line[..name_end];
    if !before.is_empty() && !before.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':') {
        return Err(format!("`{before}` is not a metric name"));
    }
    // `metric`, `value` and `ts` first, then the labels, in one vector: the three are
    // filled in once the labels have been read (the name may be among them).
    const LABELS: usize = 3;
    let mut fields: LineFields = Vec::with_capacity(8);
    fields.extend([("metric", ""), ("value", ""), ("ts", "")].map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v))));
    let mut quoted_name = None;
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        (quoted_name, rest) = parse_labels(after, &mut fields)?;
    }
    let from_label = fields[LABELS..].iter().position(|(k, _)| k == "__name__").map(|i| fields.remove(LABELS + i).1);
    let name = match (before, quoted_name, from_label) {
        (b, None, None) if !b.is_empty() => Cow::Borrowed(b),
        ("", Some(q), None) | ("", None, Some(q)) if !q.is_empty() => q,
        ("", None, None) => {
            return Err("no metric name: none before `{`, no quoted name and no `__name__` label".into());
        }
        _ => return Err("the metric is named twice (before `{`, quoted inside it, or as `__name__`)".into()),
    };
    fields[0].1 = name;
    let mut parts = whitespace::words(rest);
    fields[1].1 = Cow::Borrowed(parts.next().ok_or("no sample value")?);
    match parts.next() {
        Some(ts) => fields[2].1 = Cow::Borrowed(ts),
        None => {
            fields.remove(2);
        }
    }
    if let Some(extra) = parts.next() {
        return Err(format!("unexpected `{extra}` after the timestamp"));
    }
    Ok(Some(fields))
}

/// The text of a quoted string whose opening quote was consumed: `x\"y" rest` → (`x"y`,
/// ` rest`). Escapes `\\`, `\"`, `\n`. Borrowed unless it holds an escape (a copy per
/// label of every sample was a fifth of a Prometheus text ingest); `what` names it in
/// an error.
fn quoted<'a>(s: &'a str, what: impl Fn() -> String) -> Result<(Cow<'a, str>, &'a str), String> {
    let first = memchr::memchr2(b'"', b'\\', s.as_bytes()).ok_or_else(|| format!("{}: unterminated value", what()))?;
    if s.as_bytes()[first] == b'"' {
        return Ok((Cow::Borrowed(&s[..first]), &s[first + 1..]));
    }
    let mut value = s[..first].to_string();
    let mut chars = s[first..].char_indices();
    loop {
        match chars.next() {
            Some((_, '\\')) => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, c)) => value.push(c),
                None => return Err(format!("{}: unterminated value", what())),
            },
            Some((i, '"')) => return Ok((Cow::Owned(value), &s[first + i + 1..])),
            Some((_, c)) => value.push(c),
            None => return Err(format!("{}: unterminated value", what())),
        }
    }
}

/// `a="1",b="x\"y"} rest` → the labels (pushed onto `labels`), a quoted metric name
/// among them (Prometheus 3: `{"my.metric", a="1"}`), and `rest`. Label names may be
/// quoted too.
fn parse_labels<'a>(s: &'a str, labels: &mut LineFields<'a, 'a>) -> Result<(Option<Cow<'a, str>>, &'a str), String> {
    let mut name = None;
    let mut rest = whitespace::trim_start(s);
    loop {
        if let Some(tail) = rest.strip_prefix('}') {
            return Ok((name, tail));
        }
        let key;
        if let Some(after) = rest.strip_prefix('"') {
            let (text, tail) = quoted(after, || "a quoted name".into())?;
            let tail = whitespace::trim_start(tail);
            if !tail.starts_with('=') {
                // A quoted string on its own is the metric's name.
                if name.replace(text).is_some() {
                    return Err("two quoted metric names in one series".into());
                }
                rest = whitespace::trim_start(tail.strip_prefix(',').unwrap_or(tail));
                continue;
            }
            (key, rest) = (text, &tail[1..]);
        } else {
            let eq = memchr::memchr(b'=', rest.as_bytes()).ok_or("label without `=`")?;
            (key, rest) = (Cow::Borrowed(whitespace::trim(&rest[..eq])), &rest[eq + 1..]);
        }
        let after =
            whitespace::trim_start(rest).strip_prefix('"').ok_or_else(|| format!("label `{key}`: value not quoted"))?;
        let (value, tail) = quoted(after, || format!("label `{key}`"))?;
        labels.push((key, value));
        rest = whitespace::trim_start(tail);
        rest = whitespace::trim_start(rest.strip_prefix(',').unwrap_or(rest));
    }
}

/// The message of a Prometheus API error response (`{"status":"error","errorType":…,
/// "error":…}`), which holds no data; `None` for anything else.
pub fn error_response(doc: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    if doc.get("status").and_then(|s| s.as_str()) != Some("error") {
        return None;
    }
    let text = |k: &str| doc.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    Some(format!(
        "a Prometheus API error response ({}): {}; it holds no samples",
        Some(text("errorType")).filter(|t| !t.is_empty()).unwrap_or_else(|| "no errorType".into()),
        text("error")
    ))
}

/// A scalar result (`"resultType": "scalar", "result": [t, "v"]`) as one sample named
/// `metric`; a string result (or a scalar with no name given) is refused saying so.
pub fn bare_result(pair: &serde_json::Value, metric: Option<&str>) -> Result<Fields, String> {
    let (ts, value) = sample_pair(pair)?;
    let ts = match ts {
        Value::Float(t) => t.to_string(),
        Value::Str(t) => t.into_owned(),
        _ => unreachable!("a sample's time is a number or a string"),
    };
    if value.parse::<f64>().is_err() {
        return Err(format!("a string result (`{value}`) holds no samples"));
    }
    let Some(metric) = metric else {
        return Err("a scalar result names no metric; set `metric` on the source to keep it as a sample".into());
    };
    Ok(vec![("ts".into(), ts), ("value".into(), value.into_owned()), ("metric".into(), metric.to_string())])
}

/// `[time, "value"]` → the time (a number, or a string as written) and the value as
/// text.
fn sample_pair(p: &serde_json::Value) -> Result<(Value<'_>, Cow<'_, str>), String> {
    let pair = p.as_array().filter(|a| a.len() == 2).ok_or("a sample must be [time, \"value\"]")?;
    let ts = match &pair[0] {
        serde_json::Value::String(s) => Value::Str(Cow::Borrowed(s.as_str())),
        t => t.as_f64().map(Value::Float).ok_or_else(|| format!("bad sample {p}"))?,
    };
    let value = match &pair[1] {
        serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
        v => Cow::Owned(v.as_f64().ok_or_else(|| format!("bad sample {p}"))?.to_string()),
    };
    Ok((ts, value))
}

/// A point's time (a number, or a string as written) and value as text; `text` is its
/// series' [`matrix::Series::text`].
fn point_pair<'s>(p: &'s Point, text: &'s str) -> Result<(Value<'s>, Cow<'s, str>), String> {
    let (t, v) = match p {
        Point::Json(v) => return sample_pair(v),
        Point::Pair(t, v) => (t, v),
    };
    let bad = || format!("bad sample {}", p.to_json(text));
    let ts = match t {
        Scalar::Str(at) => Value::Str(Cow::Borrowed(&text[at.clone()])),
        Scalar::Num(n) => n.as_f64().map(Value::Float).ok_or_else(bad)?,
        Scalar::Json(_) => return Err(bad()),
    };
    let value = match v {
        Scalar::Str(at) => Cow::Borrowed(&text[at.clone()]),
        Scalar::Num(n) => Cow::Owned(n.as_f64().ok_or_else(bad)?.to_string()),
        Scalar::Json(_) => return Err(bad()),
    };
    Ok((ts, value))
}

/// The fields a sample has of its own; the rest are its series'.
pub const SAMPLE_FIELDS: &[&str] = &["ts", "value"];

/// One series of a `query_range` result: its labels, read once and borrowed by every
/// sample, and its points. Instant-query results (`"value": [t, "v"]`) work too. A series
/// without `__name__` (an aggregation, a `rate()`) is named `metric` when the source
/// gives one. (Each sample used to get its own copy of every label and its time printed
/// and parsed again: a `query_range` ingest spent a third of its time in malloc.)
pub struct Series<'v> {
    metric: Option<&'v serde_json::Value>,
    /// (name, value); the metric name first, as `metric`, so it wins over a `name` label.
    labels: Vec<(&'v str, Cow<'v, str>)>,
    pub points: Vec<&'v Point>,
    text: &'v str,
}

impl<'v> Series<'v> {
    pub fn read(series: &'v matrix::Series, metric: Option<&'v str>) -> Result<Series<'v>, String> {
        let labels_of = series.rest.get("metric");
        let mut labels: Vec<(&str, Cow<str>)> = vec![];
        if let Some(map) = labels_of.and_then(|m| m.as_object()) {
            for (k, v) in map {
                let v = v.as_str().map_or_else(|| Cow::Owned(v.to_string()), Cow::Borrowed);
                if k == "__name__" {
                    labels.insert(0, ("metric", v));
                } else {
                    labels.push((k.as_str(), v));
                }
            }
        }
        if !labels.iter().any(|(k, _)| *k == "metric") {
            match metric {
                Some(m) => labels.insert(0, ("metric", Cow::Borrowed(m))),
                None => {
                    return Err("series has no `__name__` (an aggregation or function drops it): set `metric` on the source to name it".into());
                }
            }
        }
        let points = match (&series.values, &series.value) {
            (Some(Points::List(points)), _) => points.iter().collect(),
            (_, Some(point)) => vec![point],
            _ => return Err("series has neither `values` nor `value`".into()),
        };
        Ok(Series { metric: labels_of, labels, points, text: series.text() })
    }

    /// One point's own fields ([`SAMPLE_FIELDS`]): its time and value.
    pub fn point<'s>(&'s self, point: &'v Point) -> Result<[(Cow<'s, str>, Value<'s>); 2], String> {
        let (ts, value) = point_pair(point, self.text)?;
        Ok([(Cow::Borrowed("ts"), ts), (Cow::Borrowed("value"), Value::Str(value))])
    }

    /// The fields every sample of the series shares: its labels, the name first.
    pub fn labels(&self) -> impl Iterator<Item = (Cow<'_, str>, Value<'_>)> + '_ {
        self.labels.iter().map(|(k, v)| (Cow::Borrowed(*k), Value::Str(Cow::Borrowed(v.as_ref()))))
    }

    /// A point as the record a reject shows: the series' labels and that one sample.
    pub fn raw(&self, point: &Point) -> String {
        serde_json::json!({"metric": self.metric, "value": point.to_json(self.text)}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parse with owned fields, to compare with literals.
    fn exposition(line: &str) -> Result<Option<Fields>, String> {
        parse_exposition(line)
            .map(|f| f.map(|f| f.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()))
    }

    /// Values with escapes are unescaped, and only they are copied.
    #[test]
    fn label_values_borrow_unless_escaped() {
        let f = parse_exposition(r#"up{a="plain",b="x\"y\\z\nw",c=""} 1 2"#).unwrap().unwrap();
        assert!(matches!(&f[3].1, Cow::Borrowed("plain")));
        assert!(matches!(&f[4].1, Cow::Owned(v) if v == "x\"y\\z\nw"));
        assert!(matches!(&f[5].1, Cow::Borrowed("")));
        for bad in [r#"up{a="x\"} 1 2"#, r#"up{a="x\"#, r#"up{a="x} 1 2"#] {
            let e = parse_exposition(bad).unwrap_err();
            assert_eq!(e, "label `a`: unterminated value", "{bad}");
        }
    }

    #[test]
    fn exposition_lines() {
        let f = exposition(r#"http_requests_total{service="checkout",code="503",path="/a\"b"} 1027 1795096920000"#)
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
        assert_eq!(exposition("# TYPE http_requests_total counter").unwrap(), None);
        let bare = exposition("up 1 1795096920000").unwrap().unwrap();
        assert_eq!(bare.len(), 3);
        let untimed = exposition("up 1").unwrap().unwrap();
        assert!(!untimed.iter().any(|(k, _)| k == "ts"), "a plain scrape's sample has no time: {untimed:?}");
        assert!(exposition(r#"up{a="1} 1 2"#).unwrap_err().contains("unterminated"));
        assert!(NO_TIMESTAMP.contains("/federate") && NO_TIMESTAMP.contains("scrape_time"));
    }

    /// `promtool tsdb dump` names the metric as a label; Prometheus 3 quotes UTF-8 names
    /// and label names (issue 19: both were refused as "`` is not a metric name").
    #[test]
    fn names_as_labels_and_quoted_names() {
        let f = exposition(r#"{__name__="up", instance="localhost:9090", job="prometheus"} 1 1700000000000"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            f,
            vec![
                ("metric".to_string(), "up".to_string()),
                ("value".into(), "1".into()),
                ("ts".into(), "1700000000000".into()),
                ("instance".into(), "localhost:9090".into()),
                ("job".into(), "prometheus".into()),
            ]
        );
        let q = exposition(r#"{"http.server.duration", "service.name"="checkout", le="0.5"} 17 1700000000000"#)
            .unwrap()
            .unwrap();
        assert_eq!(q[0], ("metric".to_string(), "http.server.duration".to_string()));
        assert_eq!(q[3], ("service.name".to_string(), "checkout".to_string()));
        assert_eq!(q[4], ("le".to_string(), "0.5".to_string()));
        assert!(exposition(r#"{job="x"} 1 2"#).unwrap_err().contains("no metric name"));
        assert!(exposition(r#"up{__name__="up"} 1 2"#).unwrap_err().contains("named twice"));
        assert!(exposition(r#"{"a.b", "c.d"} 1 2"#).unwrap_err().contains("two quoted"));
    }

    #[test]
    fn query_range_series() {
        let read = |text: &str| match serde_json::from_str(text).unwrap() {
            matrix::Item::Series(s) => s,
            matrix::Item::Json(v) => panic!("not a series: {v}"),
        };
        let v = read(
            r#"{"metric":{"__name__":"up","job":"pay","name":"x"},"values":[[1795096920,"1"],[1795096935.5,"0"],["1795096950",1.5]]}"#,
        );
        let series = Series::read(&v, None).unwrap();
        assert_eq!(series.points.len(), 3);
        let fields = |i: usize| -> Vec<(String, String)> {
            let own = series.point(series.points[i]).unwrap();
            own.into_iter().chain(series.labels()).map(|(k, v)| (k.into_owned(), format!("{v:?}"))).collect()
        };
        let f = fields(1);
        assert_eq!(f[0], ("ts".into(), "Float(1795096935.5)".into()));
        assert_eq!(f[1], ("value".into(), "Str(\"0\")".into()));
        assert_eq!(f[2], ("metric".into(), "Str(\"up\")".into()));
        assert_eq!(f[3..], [("job".into(), "Str(\"pay\")".into()), ("name".into(), "Str(\"x\")".into())]);
        let f = fields(2);
        assert_eq!((&f[0].1, &f[1].1), (&"Str(\"1795096950\")".to_string(), &"Str(\"1.5\")".to_string()));
        assert_eq!(
            series.raw(series.points[0]),
            r#"{"metric":{"__name__":"up","job":"pay","name":"x"},"value":[1795096920,"1"]}"#
        );
        let odd = read(r#"{"metric":{"__name__":"up"},"values":[[1795096920],[true,"1"],[1795096920,null]]}"#);
        let odd = Series::read(&odd, None).unwrap();
        assert!(odd.point(odd.points[0]).err().unwrap().contains("[time, \"value\"]"));
        assert_eq!(odd.point(odd.points[1]).err().unwrap(), r#"bad sample [true,"1"]"#);
        assert_eq!(odd.point(odd.points[2]).err().unwrap(), "bad sample [1795096920,null]");
        let nameless = read(r#"{"metric":{"job":"pay"},"values":[]}"#);
        assert!(Series::read(&nameless, None).err().unwrap().contains("__name__"));
        let named = Series::read(&nameless, Some("rate")).unwrap();
        assert_eq!(named.labels[0], ("metric", Cow::Borrowed("rate")));
    }
}
