//! JSON documents that hold many records: a top-level array, an object with the records
//! under a path (`{"items": […]}`, `{"data": {"result": […]}}`), or a stream of such
//! values one after another (JSON Lines of webhook payloads). Records are handed over one
//! at a time as they are parsed, so memory is bounded by the largest record, not by the
//! document.

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Calls `on_item` for every record of the document(s) in `input`, each read as a `T`
/// (a `serde_json::Value`, or a type that reads its records more compactly). A top-level
/// object that lacks `path` is itself one record. Returns the first syntax or I/O error,
/// which makes the whole object unreadable.
pub fn for_each_item<R: BufRead, T: Item>(
    input: R,
    path: &'static [&'static str],
    on_item: &mut dyn FnMut(T) -> crate::error::Result<()>,
) -> Result<(), DocumentError> {
    // serde_json reads a stream a byte at a time; from a buffer of our own each byte is
    // a copy, not a call through the object's reader (`dyn BufRead`, a chain behind it):
    // those calls were a tenth of a `query_range` ingest.
    let mut input = BufReader::with_capacity(64 << 10, input);
    loop {
        // Skip white space between top-level values; stop at the end.
        loop {
            let buf = input.fill_buf().map_err(DocumentError::Io)?;
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let done = n < buf.len();
            input.consume(n);
            if done {
                break;
            }
        }
        let mut failure = None;
        let mut de = serde_json::Deserializer::from_reader(Bytewise(&mut input));
        let seed = Items { path, on_item, failure: &mut failure };
        let result = seed.deserialize(&mut de);
        if let Some(e) = failure {
            return Err(DocumentError::Sink(e));
        }
        result.map_err(
            |e| {
                if e.is_io() { DocumentError::Io(e.into()) } else { DocumentError::Syntax(e.to_string()) }
            },
        )?;
    }
}

/// A reader that serves short reads (serde_json's one byte) from the buffer, inlined.
struct Bytewise<'a, R>(&'a mut BufReader<R>);

impl<R: BufRead> Read for Bytewise<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let (Some(&byte), [first]) = (self.0.buffer().first(), &mut *buf) {
            *first = byte;
            self.0.consume(1);
            return Ok(1);
        }
        self.0.read(buf)
    }
}

#[derive(Debug)]
pub enum DocumentError {
    Io(std::io::Error),
    Syntax(String),
    /// The record handler failed (a warehouse write); not the document's fault.
    Sink(crate::error::Error),
}

/// What a record of a document is read as: anything that reads from JSON, and can be
/// made from a `serde_json::Value` (for a top-level object that is itself the record).
pub trait Item: DeserializeOwned + From<serde_json::Value> {}

impl<T: DeserializeOwned + From<serde_json::Value>> Item for T {}

struct Items<'a, T> {
    path: &'static [&'static str],
    on_item: &'a mut dyn FnMut(T) -> crate::error::Result<()>,
    failure: &'a mut Option<crate::error::Error>,
}

impl<T> Items<'_, T> {
    fn emit<E: serde::de::Error>(&mut self, v: T) -> Result<(), E> {
        (self.on_item)(v).map_err(|e| {
            *self.failure = Some(e);
            E::custom("record handler failed")
        })
    }
}

impl<'de, T: Item> DeserializeSeed<'de> for Items<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Item> Visitor<'de> for Items<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array or object of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<T>()? {
            self.emit(v)?;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            let v = serde_json::Value::deserialize_map_access(map)?;
            return self.emit(T::from(v));
        };
        // Keys before the path's key are collected: if the path never shows up, the object
        // is itself a record (a webhook payload in a stream) and they are its fields.
        let mut seen = serde_json::Map::new();
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == *first && !found {
                found = true;
                map.next_value_seed(Items { path: rest, on_item: &mut *self.on_item, failure: &mut *self.failure })?;
                seen.clear();
            } else if found {
                map.next_value::<IgnoredAny>()?;
            } else {
                seen.insert(key, map.next_value()?);
            }
        }
        if !found {
            self.emit(T::from(serde_json::Value::Object(seen)))?;
        }
        Ok(())
    }
}

/// `serde_json::Value` from a `MapAccess` without going through an intermediate string.
trait FromMapAccess {
    fn deserialize_map_access<'de, A: MapAccess<'de>>(map: A) -> Result<serde_json::Value, A::Error>;
}

impl FromMapAccess for serde_json::Value {
    fn deserialize_map_access<'de, A: MapAccess<'de>>(map: A) -> Result<serde_json::Value, A::Error> {
        use serde::Deserialize;
        serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str, path: &'static [&'static str]) -> Result<Vec<String>, DocumentError> {
        let mut out = Vec::new();
        for_each_item(text.as_bytes(), path, &mut |v: serde_json::Value| {
            out.push(v.to_string());
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn arrays_paths_and_streams() {
        assert_eq!(items(r#" [{"a":1},{"a":2}] "#, &["items"]).unwrap(), vec![r#"{"a":1}"#, r#"{"a":2}"#]);
        assert_eq!(
            items(r#"{"kind":"List","items":[{"a":1},{"a":2}],"more":{"x":[1]}}"#, &["items"]).unwrap(),
            vec![r#"{"a":1}"#, r#"{"a":2}"#]
        );
        assert_eq!(
            items(r#"{"status":"success","data":{"resultType":"matrix","result":[{"s":1}]}}"#, &["data", "result"])
                .unwrap(),
            vec![r#"{"s":1}"#]
        );
        // A stream of payloads without the path: each object is a record.
        assert_eq!(items("{\"a\":1}\n{\"a\":2}\n", &["items"]).unwrap(), vec![r#"{"a":1}"#, r#"{"a":2}"#]);
    }

    #[test]
    fn broken_documents_fail_as_a_whole() {
        assert!(matches!(items(r#"{"items":[{"a":1},{"a":"#, &["items"]), Err(DocumentError::Syntax(_))));
        assert!(matches!(items("[1,2] garbage", &["items"]), Err(DocumentError::Syntax(_))));
    }
}
