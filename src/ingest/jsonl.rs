//! JSON Lines: one JSON object per line. Blank lines are skipped (they are not records).
//!
//! A line is deserialized straight into a list of fields that borrow their keys and
//! string values from the line (unless they hold escapes), instead of into a
//! `serde_json::Value` map that allocates every key and string and sorts the keys: this
//! is the hot loop of a log ingest.
//!
//! Most log lines are flat objects of plain strings, numbers and literals. Those are
//! read by [`scan_flat`], a single pass over the bytes that hands out slices of the line
//! (a number other than a plain integer is handed to `serde_json` alone); a line with
//! anything else in it (an escape, a nested value, an error) goes through `serde_json`
//! whole, which decides it and words any error. Both routes give the same
//! fields, which the tests check line by line.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::record::{Assembler, Row, Value};
use super::reject::{Reason, Reject};

/// Parses one line into a row of the assembler's kind.
pub fn parse_line<'a>(line: &'a [u8], asm: &Assembler) -> Result<Row<'a>, Reject> {
    let text = std::str::from_utf8(line)
        .map_err(|e| Reject::new(Reason::InvalidUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    if !text.trim_start().starts_with('{') {
        // Valid JSON that is not an object, or not JSON at all: say which.
        return Err(match serde_json::from_str::<serde_json::Value>(text) {
            Ok(_) => Reject::new(Reason::NotAnObject, "a JSON Lines record must be an object"),
            Err(e) => Reject::new(Reason::InvalidJson, format!("invalid JSON: {e}")),
        });
    }
    let fields = match scan_flat(text) {
        Some(fields) => fields,
        None => {
            serde_json::from_str::<Fields>(text)
                .map_err(|e| Reject::new(Reason::InvalidJson, format!("invalid JSON: {e}")))?
                .0
        }
    };
    asm.assemble(fields)
}

/// The fields of a flat object of plain values, or `None` when the line needs the full
/// parser: a string or key with an escape or a control character, a nested value, or
/// anything that is not valid JSON.
fn scan_flat(text: &str) -> Option<Vec<(Cow<'_, str>, Value<'_>)>> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut fields: Vec<(Cow<str>, Value)> = Vec::with_capacity(12);
    let mut index = KeyIndex::default();
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return (skip_ws(b, i + 1) == b.len()).then_some(fields);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key, next) = plain_string(text, i + 1)?;
        i = skip_ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let value = match *b.get(i)? {
            b'"' => {
                let (s, next) = plain_string(text, i + 1)?;
                i = next;
                Value::Str(Cow::Borrowed(s))
            }
            b'-' | b'0'..=b'9' => {
                let (n, next) = number(text, i)?;
                i = next;
                n
            }
            b't' if b[i..].starts_with(b"true") => {
                i += 4;
                Value::Bool(true)
            }
            b'f' if b[i..].starts_with(b"false") => {
                i += 5;
                Value::Bool(false)
            }
            b'n' if b[i..].starts_with(b"null") => {
                i += 4;
                Value::Null
            }
            _ => return None,
        };
        set_field(&mut fields, &mut index, Cow::Borrowed(key), value);
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return (skip_ws(b, i + 1) == b.len()).then_some(fields),
            _ => return None,
        }
    }
}

/// Adds a field; a repeated key keeps its last value in its first place, as a
/// `serde_json::Map` would. Both routes go through here. Past [`INDEX_AFTER`] keys the
/// lookup goes through an index: comparing each key with every earlier one is quadratic,
/// and one 830 KB line with 90k keys took 4.6 s.
fn set_field<'a>(
    fields: &mut Vec<(Cow<'a, str>, Value<'a>)>,
    index: &mut KeyIndex<'a>,
    key: Cow<'a, str>,
    value: Value<'a>,
) {
    if fields.len() < INDEX_AFTER {
        match fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => fields.push((key, value)),
        }
        return;
    }
    if index.is_empty() {
        index.extend(fields.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)));
    }
    match index.get(&key) {
        Some(&i) => fields[i].1 = value,
        None => {
            index.insert(key.clone(), fields.len());
            fields.push((key, value));
        }
    }
}

/// Keys that a plain scan compares before [`set_field`] builds an index.
const INDEX_AFTER: usize = 32;

type KeyIndex<'a> = foldhash::HashMap<Cow<'a, str>, usize>;

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The string starting at `start` (after its opening quote) and the index after its
/// closing quote, if it has no escape and no control character (which JSON forbids raw).
fn plain_string(text: &str, start: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    let end = start + special_byte(&b[start..])?;
    // Stopping at a byte below 0x80 keeps `end` on a character boundary.
    (b[end] == b'"').then(|| (&text[start..end], end + 1))
}

/// The index of the first `"`, `\\` or control byte, eight bytes at a time: messages are
/// most of a log line, and a byte-at-a-time loop over them costs more than the rest of
/// the scan.
fn special_byte(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte's high bit is set where it is zero (`x - 1` borrows), or below 0x20. Borrows
    // can only mark bytes after the first true hit, so the lowest mark is exact.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let hits = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| i + p)
}

/// The number starting at `start` and the index after it. A plain integer is read here;
/// any other number token (a fraction, an exponent, past `i64`, `-0`) is read by
/// serde_json alone, so that its value is bit for bit the one the full parse gives.
fn number(text: &str, start: usize) -> Option<(Value<'_>, usize)> {
    let b = text.as_bytes();
    if let Some((n, end)) = plain_integer(b, start) {
        return Some((Value::Int(n), end));
    }
    let len = b[start..].iter().position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))?;
    let end = start + len;
    let Field(value) = serde_json::from_str(&text[start..end]).ok()?;
    Some((value, end))
}

/// A JSON integer without fraction or exponent that fits an `i64`, and the index after it.
fn plain_integer(b: &[u8], start: usize) -> Option<(i64, usize)> {
    let negative = b[start] == b'-';
    let digits = start + usize::from(negative);
    let len = b[digits..].iter().position(|c| !c.is_ascii_digit()).unwrap_or(b.len() - digits);
    let end = digits + len;
    // JSON has no leading zeros; a fraction or an exponent makes it a float.
    if len == 0 || (len > 1 && b[digits] == b'0') || matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let mut n: i64 = 0;
    for &c in &b[digits..end] {
        n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    // Past i64 (or exactly i64::MIN) is left to the full parser, and so is `-0`, which
    // serde_json reads as the float -0.0.
    if negative && n == 0 {
        return None;
    }
    Some((if negative { -n } else { n }, end))
}

/// True for lines with nothing but white space.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// The fields of one object in line order; a repeated key keeps its last value, as a
/// `serde_json::Map` would.
struct Fields<'a>(Vec<(Cow<'a, str>, Value<'a>)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut fields: Vec<(Cow<'de, str>, Value<'de>)> = Vec::with_capacity(map.size_hint().unwrap_or(12));
        let mut index = KeyIndex::default();
        while let Some(Key(key)) = map.next_key()? {
            let value: Field<'de> = map.next_value()?;
            set_field(&mut fields, &mut index, key, value.0);
        }
        Ok(Fields(fields))
    }
}

/// A key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// A field value with the same typing as [`Value::from_json`].
struct Field<'a>(Value<'a>);

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field(Value::Null))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field<'de>, E> {
        Ok(Field(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
        Ok(Field(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
        // Past i64: a float, as `serde_json::Number::as_i64` then `as_f64` would give.
        Ok(Field(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
        Ok(Field(Value::Float(v)))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field(Value::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field(Value::Str(Cow::Owned(v.to_string()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field(Value::Str(Cow::Owned(v))))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field<'de>, A::Error> {
        let v = serde_json::Value::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Field(Value::Nested(Cow::Owned(v))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field<'de>, A::Error> {
        let v = serde_json::Value::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Field(Value::Nested(Cow::Owned(v))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::kinds;
    use crate::ingest::record::{Cell, SourceDefaults};
    use crate::ingest::time::TimeParser;
    use crate::tables::Kind;

    fn logs() -> Assembler {
        Assembler::new(kinds::spec(Kind::Logs), TimeParser::new(chrono_tz::Tz::UTC), SourceDefaults::default())
    }

    /// The borrowed parse gives the row the `serde_json::Value` route gives.
    #[test]
    fn same_rows_as_the_value_route() {
        let a = logs();
        for line in [
            r#"{"ts":"2026-11-19T14:02:00.250Z","level":"ERROR","service":"api","msg":"a \"quoted\" \u00e9","status":503,"latency_ms":12.5,"big":18446744073709551615,"ok":true,"none":null}"#,
            r#"{"ts":1795183320,"msg":"x","attributes":{"pod":"p-1","service":"from-attrs"},"tags":["a",1]}"#,
            r#"{"ts":"2026-11-19T14:02:00Z","msg":"first","msg":"second","k\n":"escaped key"}"#,
        ] {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let map = v.as_object().unwrap();
            let want = a.assemble(map.iter().map(|(k, v)| (k.as_str(), Value::from_json(v)))).unwrap();
            assert_eq!(parse_line(line.as_bytes(), &a).unwrap(), want, "{line}");
        }
        let row = parse_line(br#"{"ts":"2026-11-19T14:02:00Z","msg":"first","msg":"second"}"#, &a).unwrap();
        assert_eq!(row.cells[4], Cell::Text("second".into()));
    }

    /// The flat scanner takes what it can and gives exactly the serde route's fields;
    /// everything else it leaves to serde.
    #[test]
    fn flat_scanner_agrees_with_serde() {
        fn serde(line: &str) -> Option<Vec<(Cow<'_, str>, Value<'_>)>> {
            serde_json::from_str::<Fields>(line).ok().map(|f| f.0)
        }
        let taken = [
            r#"{"ts":"2026-11-19T14:02:00.250Z","level":"info","status":200,"ok":true,"off":false,"none":null}"#,
            r#"  { "ts" : "x" , "n" : -42 , "big" : 9223372036854775807 }  "#,
            "{}",
            r#"{"msg":"first","msg":"second","é":"ü"}"#,
            r#"{"zero":0,"neg":-7,"min":-9223372036854775807}"#,
            r#"{"latency_ms":12.5,"e":1e3,"E":-2.5E-3,"negzero":-0,"big":9223372036854775808}"#,
            r#"{"min":-9223372036854775808,"huge":18446744073709551616,"exact":0.1000000000000000055511151231257827}"#,
        ];
        for line in taken {
            let fast = scan_flat(line).unwrap_or_else(|| panic!("not taken: {line}"));
            assert_eq!(format!("{fast:?}"), format!("{:?}", serde(line).unwrap()), "{line}");
        }
        let fields = scan_flat(r#"{"a":"1","b":2,"a":"3"}"#).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].0, "a");
        assert!(matches!(&fields[0].1, Value::Str(s) if s == "3"));

        let left = [
            r#"{"msg":"a \"quoted\" word"}"#,
            r#"{"k\n":"v"}"#,
            r#"{"lead":01}"#,
            r#"{"minus":-}"#,
            r#"{"dot":1.}"#,
            r#"{"twice":1.2.3}"#,
            r#"{"exp":1e}"#,
            r#"{"plus":+1}"#,
            r#"{"attrs":{"pod":"p"}}"#,
            r#"{"tags":[1]}"#,
            "{\"tab\":\"a\tb\"}",
            r#"{"ts":1} trailing"#,
            r#"{"ts":1,}"#,
            r#"{"ts" 1}"#,
            r#"{"ts":tru}"#,
            r#"{"ts":1"#,
            r#"{"ts":"open"#,
            r#"{"#,
            r#"{ts:1}"#,
        ];
        for line in left {
            assert!(scan_flat(line).is_none(), "taken: {line}");
        }
    }

    /// Every one-byte edit of a line: the scanner either leaves the line to serde or gives
    /// serde's fields, and never takes a line serde rejects.
    #[test]
    fn flat_scanner_never_disagrees_on_edited_lines() {
        let line = r#"{"ts":"2026-11-19T14:02:00.250Z", "status":503,"latency_ms":-12.5e1,"ok":true,"n":null,"k":"v"}"#;
        let mut checked = 0;
        for at in 0..line.len() {
            for with in ["", " ", "\"", "\\", ",", ":", "}", "{", "0", "-", ".", "e", "a", "\t", "\u{1}"] {
                let edited = format!("{}{with}{}", &line[..at], &line[at + 1..]);
                if let Some(fast) = scan_flat(&edited) {
                    let slow = serde_json::from_str::<Fields>(&edited).map(|f| f.0);
                    let slow = slow.unwrap_or_else(|e| panic!("taken but serde rejects ({e}): {edited}"));
                    assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{edited}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    /// The word-at-a-time search finds the first special byte wherever it is.
    #[test]
    fn special_byte_at_every_offset() {
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    // Bytes just around the special ones must not be taken for them.
                    let mut b: Vec<u8> = (0..len).map(|i| [b'a', 0x20, b'#', b']', 0xc3, 0x7f][i % 6]).collect();
                    let want = (at < len).then(|| {
                        b[at] = special;
                        at
                    });
                    if let Some(at) = want {
                        // A later special byte does not move the answer.
                        if at + 3 < len {
                            b[at + 3] = b'"';
                        }
                    }
                    assert_eq!(special_byte(&b), want, "len {len} at {at} byte {special:#x}");
                }
            }
        }
    }

    #[test]
    fn rejects_name_what_is_wrong() {
        let a = logs();
        let reason = |line: &[u8]| parse_line(line, &a).unwrap_err().reason;
        assert_eq!(reason(b"[1, 2]"), Reason::NotAnObject);
        assert_eq!(reason(b"\"text\""), Reason::NotAnObject);
        assert_eq!(reason(b"{\"ts\": "), Reason::InvalidJson);
        assert_eq!(reason(b"ts=1 msg=x"), Reason::InvalidJson);
        assert_eq!(reason(b"{\"ts\":\"2026-11-19T14:02:00Z\",\"msg\":\"\xff\"}"), Reason::InvalidUtf8);
        let e = parse_line(br#"{"ts":"2026-11-19T14:02:00Z","msg":"x"} trailing"#, &a).unwrap_err();
        assert_eq!(e.reason, Reason::InvalidJson);
        assert!(e.detail.contains("trailing characters"), "{}", e.detail);
    }

    /// 90k keys on one line (830 KB) parse, through both routes, with a repeated key
    /// keeping its last value in its first place. (It took 4.6 s when each key was
    /// compared with every earlier one.)
    #[test]
    fn many_keys_are_indexed_not_compared_pairwise() {
        let asm = Assembler::new(
            crate::ingest::kinds::spec(crate::tables::Kind::Logs),
            crate::ingest::time::TimeParser::new(chrono_tz::Tz::UTC),
            crate::ingest::record::SourceDefaults::default(),
        );
        for escaped in [false, true] {
            let mut line = String::from("{\"ts\":\"2026-11-19T14:00:00Z\",\"k5\":\"first\"");
            for k in 0..90_000 {
                line.push_str(&format!(",\"k{k}\":\"v{k}{}\"", if escaped { "\\n" } else { "" }));
            }
            line.push_str(",\"k5\":\"last\"}");
            let row = parse_line(line.as_bytes(), &asm).unwrap();
            assert_eq!(row.extras.len(), 90_000, "escaped: {escaped}");
            let k5 = row.extras.iter().find(|(k, _)| k == "k5").unwrap();
            assert_eq!(k5.1, "last");
        }
    }
}
