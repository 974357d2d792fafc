//! A `query_range` series read from its bytes: its points by hand, the rest by serde.
//!
//! Nearly every series of a range query is `{"metric": {…}, "values": [[t, "v"], …]}`
//! with plain numbers for times. Through serde each point is a sequence, two elements
//! and a visitor per scalar: half of the reader thread's instructions, which bounds a
//! `query_range` ingest. Here the points of that one shape are read straight from the
//! bytes, and the object without them (its labels, a few hundred bytes) goes to serde.
//! Anything else — escapes, exponents, long fractions, a point of another shape, a second
//! `values` — returns `None`, and the whole item is read by serde, which gives the same
//! item or the error with its place.

use std::ops::Range;

use serde_json::Number;

use super::document::{self, ValueEnd, skip_json_space as space};
use super::matrix::{Item, Point, Scalar};

impl document::Item for Item {
    /// A series of the usual shape read here, anything else by serde.
    fn from_json_bytes(bytes: &[u8]) -> serde_json::Result<Item> {
        match read(bytes) {
            Some(item) => Ok(item),
            None => serde_json::from_slice(bytes),
        }
    }
}

/// The item in `bytes` when it is a series of the usual shape; `None` otherwise.
pub fn read(bytes: &[u8]) -> Option<Item> {
    let (values, points, text) = find_points(bytes)?;
    // The object with `[]` in place of its points: serde reads everything else and
    // checks it.
    let mut rest = Vec::with_capacity(bytes.len() - values.len() + 2);
    rest.extend_from_slice(&bytes[..values.start]);
    rest.extend_from_slice(b"[]");
    rest.extend_from_slice(&bytes[values.end..]);
    let Ok(Item::Series(mut series)) = serde_json::from_slice::<Item>(&rest) else { return None };
    series.set_points(points, &text);
    Some(Item::Series(series))
}

/// The bytes of the object's one `values` key's list, its points, and their strings.
fn find_points(b: &[u8]) -> Option<(Range<usize>, Vec<Point>, String)> {
    let mut at = space(b, 0);
    if b.get(at) != Some(&b'{') {
        return None;
    }
    let mut found = None;
    at = space(b, at + 1);
    while b.get(at) == Some(&b'"') {
        let key_end = at + 1 + memchr::memchr2(b'"', b'\\', &b[at + 1..])?;
        if b[key_end] != b'"' {
            return None; // an escaped key: serde decides what it says
        }
        let key = &b[at + 1..key_end];
        at = space(b, key_end + 1);
        if b.get(at) != Some(&b':') {
            return None;
        }
        at = space(b, at + 1);
        let end = if key == b"values" {
            if found.is_some() {
                return None; // a repeated key: serde keeps the last
            }
            let mut text = String::new();
            let (points, end) = points(b, at, &mut text)?;
            found = Some((at..end, points, text));
            end
        } else {
            // The value's end, or `None` for one cut short: serde reports it.
            at + ValueEnd::default().find(&b[at..])?
        };
        at = space(b, end);
        match b.get(at) {
            Some(b',') => at = space(b, at + 1),
            _ => break,
        }
    }
    // What follows (the closing brace, or a syntax error) is serde's to check.
    found
}

/// `[[time, "value"], …]` from `at`: its points and the index after it.
fn points(b: &[u8], mut at: usize, text: &mut String) -> Option<(Vec<Point>, usize)> {
    if b.get(at) != Some(&b'[') {
        return None;
    }
    at = space(b, at + 1);
    let mut points = Vec::with_capacity((b.len() - at) / 24);
    if b.get(at) == Some(&b']') {
        return Some((points, at + 1));
    }
    loop {
        if b.get(at) != Some(&b'[') {
            return None;
        }
        let (time, end) = number(b, space(b, at + 1))?;
        at = space(b, end);
        if b.get(at) != Some(&b',') {
            return None;
        }
        at = space(b, at + 1);
        if b.get(at) != Some(&b'"') {
            return None;
        }
        let start = at + 1;
        let len = b[start..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        at = start + len;
        if b[at] != b'"' {
            return None; // an escape or a control byte: serde decides
        }
        let value = std::str::from_utf8(&b[start..at]).ok()?;
        let from = text.len();
        text.push_str(value);
        points.push(Point::Pair(Scalar::Num(time), Scalar::Str(from..text.len())));
        at = space(b, at + 1);
        if b.get(at) != Some(&b']') {
            return None;
        }
        at = space(b, at + 1);
        match b.get(at) {
            Some(b',') => at = space(b, at + 1),
            Some(b']') => return Some((points, at + 1)),
            _ => return None,
        }
    }
}

/// A JSON number of a plain form — `-?(0|[1-9][0-9]*)`, or with a fraction and at most
/// 15 digits in all — as serde_json reads it, and the index after it. An integer is a
/// u64 (an i64 when negative); a fraction is an f64, which for 15 digits serde_json
/// and the standard library both round exactly (the digits as an integer, divided by a
/// power of ten below 10^22). Anything else is left to serde_json.
fn number(b: &[u8], at: usize) -> Option<(Number, usize)> {
    let negative = b.get(at) == Some(&b'-');
    let start = at + usize::from(negative);
    // The digits as one integer as they go (wrapping past 19 digits, where it is not
    // used): below 10^15 it is exact in an f64 too. A general float parse was 400
    // instructions a point.
    let mut significand = 0u64;
    let mut digits = |mut i: usize| {
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            significand = significand.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            i += 1;
        }
        i
    };
    let mut end = digits(start);
    let whole = end - start;
    if whole == 0 || (whole > 1 && b[start] == b'0') || (negative && whole == 1 && b[start] == b'0') {
        return None;
    }
    let mut fraction = 0;
    if b.get(end) == Some(&b'.') {
        let after = digits(end + 1);
        fraction = after - (end + 1);
        if fraction == 0 {
            return None;
        }
        end = after;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        return None;
    }
    if whole + fraction > 15 {
        // Past 15 digits: an integer may still fit, a fraction is serde_json's to round.
        let text = std::str::from_utf8(&b[at..end]).ok()?;
        let n = match (fraction, negative) {
            (0, false) => Number::from(text.parse::<u64>().ok()?),
            (0, true) => Number::from(text.parse::<i64>().ok()?),
            _ => return None,
        };
        return Some((n, end));
    }
    let n = match (fraction, negative) {
        (0, false) => Number::from(significand),
        (0, true) => Number::from(-(significand as i64)),
        _ => {
            const POW10: [f64; 16] =
                [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
            let f = significand as f64 / POW10[fraction];
            Number::from_f64(if negative { -f } else { f })?
        }
    };
    Some((n, end))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::test_rng::below_from;

    fn json(item: &Item) -> Value {
        match item {
            Item::Series(s) => s.to_json(),
            Item::Json(v) => v.clone(),
        }
    }

    /// Random series — times as integers, negative numbers, fractions of every length,
    /// exponents, strings with escapes, control bytes and non-ASCII, points of other
    /// shapes, extra keys before and after, white space anywhere, a repeated `values`
    /// — and a third of them with one byte changed: read here they give the item serde
    /// gives (compared as JSON, and as the same kind of number), or are left to serde.
    #[test]
    fn series_as_serde_reads_them() {
        const TIMES: [&str; 12] = [
            "1795046400",
            "1795046400.000",
            "1795046415.5",
            "0",
            "-5",
            "-0",
            "1e9",
            "1.0E3",
            "01",
            "12345678901234567890",
            "0.1234567890123456",
            "-1795046400.25",
        ];
        const VALUES: [&str; 8] = ["\"0.00\"", "\"NaN\"", "\"\"", "\"é\"", "\"a\\\"b\"", "1.5", "null", "\"+Inf\""];
        let mut below = below_from(0x0ddc_0ffe_e15e_a5e5);
        let (mut fast, mut total) = (0, 0);
        for case in 0..4000 {
            let sp = |below: &mut dyn FnMut(u64) -> u64| ["", "", "", " ", "\n  "][below(5) as usize];
            let mut points = Vec::new();
            for _ in 0..below(6) {
                let t = if below(3) == 0 {
                    TIMES[below(12) as usize].to_string()
                } else {
                    format!("{}.{:03}", 1_795_046_400 + below(86_400), below(1000))
                };
                let v = if below(4) == 0 {
                    VALUES[below(8) as usize].to_string()
                } else {
                    format!("\"{}.{:02}\"", below(1000), below(100))
                };
                points.push(match below(20) {
                    0 => format!("[{t}]"),
                    1 => format!("[{t},{v},1]"),
                    2 => "{\"t\":1}".to_string(),
                    _ => format!("[{}{t}{},{}{v}{}]", sp(&mut below), sp(&mut below), sp(&mut below), sp(&mut below)),
                });
            }
            let values = format!("[{}{}]", sp(&mut below), points.join(&format!(",{}", sp(&mut below))));
            let metric = r#""metric":{"__name__":"up","job":"a,b]","q":"x\"}"}"#;
            let mut text = match below(5) {
                0 => format!("{{\"values\":{values},{metric}}}"),
                1 => format!("{{{metric},\"values\":{values},\"values\":[[1,\"2\"]]}}"),
                2 => format!("{{ {metric} ,\n \"values\" : {values} , \"extra\": [1,{{\"a\":[]}}] }}"),
                3 => format!("{{\"value\":[1,\"zz\"],{metric},\"values\":{values}}}"),
                _ => format!("{{{metric},\"values\":{values}}}"),
            }
            .into_bytes();
            if below(3) == 0 {
                let at = below(text.len() as u64) as usize;
                text[at] = b"[]{},:\"\\ 0.e-"[below(13) as usize];
            }
            let want = serde_json::from_slice::<Item>(&text);
            if let Some(got) = read(&text) {
                let want = want.unwrap_or_else(|e| {
                    panic!("case {case}: read here, serde says {e}: {}", String::from_utf8_lossy(&text))
                });
                assert_eq!(json(&got), json(&want), "case {case}: {}", String::from_utf8_lossy(&text));
                assert_eq!(format!("{:?}", json(&got)), format!("{:?}", json(&want)), "case {case}");
                fast += 1;
            }
            total += 1;
        }
        assert!(fast > total / 5, "{fast} of {total} read here");
    }

    /// The shape the Prometheus API writes is read here.
    #[test]
    fn the_usual_shape_is_read_here() {
        let text = br#"{"metric":{"__name__":"up","job":"a"},"values":[[1795046400,"1"],[1795046415.5,"NaN"]]}"#;
        let Some(Item::Series(series)) = read(text) else { panic!("not read here") };
        assert_eq!(series.to_json(), serde_json::from_slice::<Value>(text).unwrap());
        assert_eq!(series.text(), "1NaN");
    }

    #[test]
    fn plain_numbers_only() {
        let n = |s: &str| number(s.as_bytes(), 0).map(|(n, end)| (n.to_string(), end));
        assert_eq!(n("1795046400,"), Some(("1795046400".into(), 10)));
        assert_eq!(n("1795046400.000]"), Some(("1795046400.0".into(), 14)));
        assert_eq!(n("-3.25 "), Some(("-3.25".into(), 5)));
        assert_eq!(n("18446744073709551615]"), Some(("18446744073709551615".into(), 20)));
        assert_eq!(n("-9223372036854775808]"), Some(("-9223372036854775808".into(), 20)));
        // Every fraction of up to 15 digits as the standard library rounds it.
        let mut next = crate::test_rng::xorshift(0x1234_5678_9abc_def1);
        for _ in 0..100_000 {
            let seed = next();
            let digits = (seed % 15) as usize + 1;
            let point = (seed >> 8) as usize % digits;
            // No leading zero before the point (JSON has none); zeros anywhere after it.
            let mut text: String = (0..digits)
                .map(|i| {
                    if i == 0 { char::from(b'1' + (next() % 9) as u8) } else { char::from(b'0' + (next() % 10) as u8) }
                })
                .collect();
            if point > 0 {
                text.insert(point, '.');
            }
            if seed & 1 == 1 {
                text.insert(0, '-');
            }
            let want = serde_json::from_str::<Value>(&text).unwrap();
            assert_eq!(n(&text).map(|(n, _)| n), Some(want.to_string()), "{text}");
            assert_eq!(number(text.as_bytes(), 0).map(|(n, _)| Value::Number(n)), Some(want), "{text}");
        }
        for refused in ["-0", "01", "1.", "1e3", "1.5E2", ".5", "-", "1234567890.1234567", "99999999999999999999"] {
            assert_eq!(n(refused), None, "{refused}");
        }
    }
}
