//! JSON Lines: one JSON object per line. Blank lines are skipped (they are not records).
//!
//! A line is deserialized straight into a list of fields that borrow their keys and
//! string values from the line (unless they hold escapes), instead of into a
//! `serde_json::Value` map that allocates every key and string and sorts the keys: this
//! is the hot loop of a log ingest.

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
    let Fields(fields) =
        serde_json::from_str(text).map_err(|e| Reject::new(Reason::InvalidJson, format!("invalid JSON: {e}")))?;
    asm.assemble(fields)
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
        while let Some(Key(key)) = map.next_key()? {
            let value: Field<'de> = map.next_value()?;
            match fields.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value.0,
                None => fields.push((key, value.0)),
            }
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
}
