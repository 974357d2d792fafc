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
use super::words8;

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
    // Most lines: the fields go to the assembler as they are read, with no list between.
    let mut flat = FlatFields::new(text);
    let row = asm.assemble(&mut flat);
    if flat.is_complete() {
        return row;
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

/// The fields of a flat object of plain values, read one at a time as the assembler
/// takes them. The line is taken only when it ends [complete](FlatFields::is_complete):
/// anything that needs serde_json ends it early, and so, for [`FlatFields::new`], does
/// a repeated key (which must keep its last value in its first place, [`scan_flat`]) or
/// more keys than it keeps; the line then goes the way it went before.
struct FlatFields<'a> {
    text: &'a str,
    at: usize,
    step: Step,
    /// Whether a repeated key ends the read (else keys are not looked at).
    distinct: bool,
    /// The keys so far, to tell a repeated one, and one bit per key ([`Seen::mark`]) so
    /// that a new key is rarely compared with them.
    keys: [&'a str; FLAT_KEYS],
    count: usize,
    marks: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Open,
    Field,
    Done,
    Failed,
}

/// Keys a line may have for [`FlatFields`] (more go through [`scan_flat`]).
const FLAT_KEYS: usize = 16;

impl<'a> FlatFields<'a> {
    /// A reader of objects with distinct keys, at most [`FLAT_KEYS`] of them.
    fn new(text: &'a str) -> Self {
        FlatFields { text, at: 0, step: Step::Open, distinct: true, keys: [""; FLAT_KEYS], count: 0, marks: 0 }
    }

    /// A reader of objects with any keys, repeated or not, as many as there are.
    fn any_keys(text: &'a str) -> Self {
        FlatFields { distinct: false, ..FlatFields::new(text) }
    }

    /// Whether every field was read and the line is a flat object with nothing after it.
    fn is_complete(&self) -> bool {
        self.step == Step::Done
    }

    /// The next field; `Err` when the line is not for this reader.
    fn field(&mut self) -> Result<Option<(&'a str, Value<'a>)>, ()> {
        let (text, b) = (self.text, self.text.as_bytes());
        let mut i = skip_ws(b, self.at);
        match self.step {
            Step::Open => {
                if b.get(i) != Some(&b'{') {
                    return Err(());
                }
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    return self.close(i);
                }
            }
            Step::Field => match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => return self.close(i),
                _ => return Err(()),
            },
            Step::Done | Step::Failed => return Err(()),
        }
        let (key, value, i) = key_value(text, i).ok_or(())?;
        if self.distinct {
            let mark = Seen::mark(key);
            if self.count == FLAT_KEYS || (self.marks & mark != 0 && self.keys[..self.count].contains(&key)) {
                return Err(());
            }
            self.marks |= mark;
            self.keys[self.count] = key;
            self.count += 1;
        }
        self.at = i;
        self.step = Step::Field;
        Ok(Some((key, value)))
    }

    /// The closing brace at `i`: the end, if only white space follows.
    fn close(&mut self, i: usize) -> Result<Option<(&'a str, Value<'a>)>, ()> {
        if skip_ws(self.text.as_bytes(), i + 1) != self.text.len() {
            return Err(());
        }
        self.step = Step::Done;
        Ok(None)
    }
}

impl<'a> Iterator for FlatFields<'a> {
    type Item = (&'a str, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if matches!(self.step, Step::Done | Step::Failed) {
            return None;
        }
        self.field().unwrap_or_else(|()| {
            self.step = Step::Failed;
            None
        })
    }
}

/// The fields of a flat object of plain values, or `None` when the line needs the full
/// parser: a string or key with an escape or a control character, a nested value, or
/// anything that is not valid JSON.
fn scan_flat(text: &str) -> Option<Vec<(Cow<'_, str>, Value<'_>)>> {
    let mut flat = FlatFields::any_keys(text);
    let mut fields: Vec<(Cow<str>, Value)> = Vec::with_capacity(12);
    let mut seen = Seen::default();
    for (key, value) in &mut flat {
        set_field(&mut fields, &mut seen, Cow::Borrowed(key), value);
    }
    flat.is_complete().then_some(fields)
}

/// A `"key": value` pair starting at `i` with a plain key and a plain value: the key,
/// the value and the index after it; `None` for anything else.
fn key_value(text: &str, mut i: usize) -> Option<(&str, Value<'_>, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let (key, next) = plain_string(text, i + 1)?;
    i = skip_ws(b, next);
    if b.get(i) != Some(&b':') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let (value, end) = match *b.get(i)? {
        b'"' => {
            let (s, next) = plain_string(text, i + 1)?;
            (Value::Str(Cow::Borrowed(s)), next)
        }
        b'-' | b'0'..=b'9' => number(text, i)?,
        b't' if b[i..].starts_with(b"true") => (Value::Bool(true), i + 4),
        b'f' if b[i..].starts_with(b"false") => (Value::Bool(false), i + 5),
        b'n' if b[i..].starts_with(b"null") => (Value::Null, i + 4),
        _ => return None,
    };
    Some((key, value, end))
}

/// Adds a field; a repeated key keeps its last value in its first place, as a
/// `serde_json::Map` would. Both routes go through here.
fn set_field<'a>(
    fields: &mut Vec<(Cow<'a, str>, Value<'a>)>,
    seen: &mut Seen<'a>,
    key: Cow<'a, str>,
    value: Value<'a>,
) {
    if fields.len() < INDEX_AFTER {
        // A key whose mark is new is a new key: most lines have no repeated key, and
        // comparing each key with every earlier one was 11 % of a JSON Lines ingest.
        let mark = Seen::mark(&key);
        let slot = if seen.marks & mark == 0 { None } else { fields.iter_mut().find(|(k, _)| *k == key) };
        seen.marks |= mark;
        match slot {
            Some(slot) => slot.1 = value,
            None => fields.push((key, value)),
        }
        return;
    }
    // Past [`INDEX_AFTER`] keys the lookup goes through an index: one 830 KB line with
    // 90k keys took 4.6 s when each key was compared with every earlier one.
    let index = &mut seen.index;
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

/// The keys of one object so far: one bit per key (a key whose bit is not set is new),
/// and past [`INDEX_AFTER`] keys an index.
#[derive(Default)]
struct Seen<'a> {
    marks: u64,
    index: foldhash::HashMap<Cow<'a, str>, usize>,
}

impl Seen<'_> {
    /// One of 64 bits for a key, from its length and its first and last bytes.
    fn mark(key: &str) -> u64 {
        let b = key.as_bytes();
        let (first, last) = (b.first().copied().unwrap_or(0), b.last().copied().unwrap_or(0));
        let h =
            (b.len() as u32).wrapping_mul(0x9e37_79b9) ^ u32::from(first).wrapping_mul(0x85eb_ca6b) ^ u32::from(last);
        1 << (h.wrapping_mul(0x2545_f491) >> 26)
    }
}

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
    words8::first(
        b,
        |x| words8::equal(x, b'"') | words8::equal(x, b'\\') | words8::below(x, 0x20),
        |c| c == b'"' || c == b'\\' || c < 0x20,
    )
}

/// The number starting at `start` and the index after it. A plain integer is read here;
/// any other number token (a fraction, an exponent, past `i64`, `-0`) is read by
/// serde_json alone, so that its value is bit for bit the one the full parse gives.
fn number(text: &str, start: usize) -> Option<(Value<'_>, usize)> {
    let b = text.as_bytes();
    if let Some((n, end)) = plain_integer(b, start) {
        return Some((Value::Int(n), end));
    }
    if let Some((f, end)) = plain_decimal(b, start) {
        return Some((Value::Float(f), end));
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

/// A JSON number with a fraction and no exponent, of at most 15 digits (`12.5`,
/// `-0.25`), and the index after it. Such a number's digits and its power of ten are
/// both exact doubles, so one division gives the correctly rounded value: the one
/// serde_json gives (it divides the same way, and a correct parse cannot differ). Every
/// latency in a log is one; through serde_json each cost a call and a deserializer.
fn plain_decimal(b: &[u8], start: usize) -> Option<(f64, usize)> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let negative = b[start] == b'-';
    let int_start = start + usize::from(negative);
    let int_len = b[int_start..].iter().position(|c| !c.is_ascii_digit()).unwrap_or(b.len() - int_start);
    let dot = int_start + int_len;
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') || b.get(dot) != Some(&b'.') {
        return None;
    }
    let frac_len = b[dot + 1..].iter().position(|c| !c.is_ascii_digit()).unwrap_or(b.len() - dot - 1);
    let end = dot + 1 + frac_len;
    if frac_len == 0 || int_len + frac_len > 15 || matches!(b.get(end), Some(b'e' | b'E' | b'.')) {
        return None;
    }
    let mut m: u64 = 0;
    for &c in b[int_start..dot].iter().chain(&b[dot + 1..end]) {
        m = m * 10 + u64::from(c - b'0');
    }
    let f = m as f64 / POW10[frac_len];
    Some((if negative { -f } else { f }, end))
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
        let mut seen = Seen::default();
        while let Some(Key(key)) = map.next_key()? {
            let value: Field<'de> = map.next_value()?;
            set_field(&mut fields, &mut seen, key, value.0);
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
            r#"{"a":0.1,"b":-0.0,"c":123456789.012345,"d":1234567890.123456,"e":0.000000000000001,"f":9.999999999999999}"#,
        ];
        for line in taken {
            let fast = scan_flat(line).unwrap_or_else(|| panic!("not taken: {line}"));
            // Streamed one field at a time: the same fields, except that a repeated key
            // leaves the line to the list.
            let mut flat = FlatFields::new(line);
            let streamed: Vec<(Cow<str>, Value)> = (&mut flat).map(|(k, v)| (Cow::Borrowed(k), v)).collect();
            assert_eq!(flat.is_complete(), !line.contains(r#""msg":"first","msg""#), "{line}");
            if flat.is_complete() {
                assert_eq!(format!("{streamed:?}"), format!("{fast:?}"), "{line}");
            }
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
            let mut flat = FlatFields::new(line);
            flat.by_ref().for_each(drop);
            assert!(!flat.is_complete(), "streamed: {line}");
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
                let mut flat = FlatFields::new(&edited);
                let streamed: Vec<(Cow<str>, Value)> = (&mut flat).map(|(k, v)| (Cow::Borrowed(k), v)).collect();
                if flat.is_complete() {
                    let slow = serde_json::from_str::<Fields>(&edited).map(|f| f.0);
                    let slow = slow.unwrap_or_else(|e| panic!("streamed but serde rejects ({e}): {edited}"));
                    assert_eq!(format!("{streamed:?}"), format!("{slow:?}"), "{edited}");
                }
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

    /// Decimals read by hand are bit for bit serde_json's, over random digits, lengths
    /// and signs (and anything longer than 15 digits is left to serde_json).
    #[test]
    fn plain_decimals_are_serde_json_values() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let digits = 2 + (next() % 16) as usize;
            let frac = 1 + (next() as usize % (digits - 1));
            let mut text: String = (0..digits).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
            text.insert(digits - frac, '.');
            let text = text.trim_start_matches('0');
            let text = if text.starts_with('.') { format!("0{text}") } else { text.to_string() };
            let text = if next() % 2 == 0 { format!("-{text}") } else { text };
            let want: f64 = serde_json::from_str(&text).unwrap();
            match plain_decimal(text.as_bytes(), 0) {
                Some((got, end)) => {
                    assert_eq!(got.to_bits(), want.to_bits(), "{text}");
                    assert_eq!(end, text.len(), "{text}");
                }
                None => assert!(text.bytes().filter(u8::is_ascii_digit).count() > 15, "not taken: {text}"),
            }
        }
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
