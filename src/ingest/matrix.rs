//! The items of a Prometheus response's `data.result`, read straight from the stream.
//!
//! A series keeps its labels (and any other key) as JSON, and its points compactly: a
//! number as a number, a string as a range of one text buffer the whole series shares.
//! A 10,000-point series is a handful of allocations instead of 30,000, so it is cheap
//! to read, to hand to another thread, and to free there. (As `serde_json::Value`s,
//! freed on the worker that parsed them, the allocator's locks cost more than the
//! parallel parse saved.)
//!
//! Nothing is lost on the way: anything that is not the expected shape is kept as the
//! JSON it was, and [`Series::to_json`] and [`Point::to_json`] give back the value a
//! `serde_json::Value` parse would have given, for reject text.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One item of `data.result`: an object (a series, whatever keys it has), or anything
/// else (a scalar result's time or value) as JSON.
#[derive(Debug)]
pub enum Item {
    Series(Series),
    Json(Value),
}

/// An object of `data.result`.
#[derive(Debug, Default)]
pub struct Series {
    /// Every key but `values` and `value` (the labels are under `metric`).
    pub rest: Map<String, Value>,
    /// `values`: a range query's points.
    pub values: Option<Points>,
    /// `value`: an instant query's point.
    pub value: Option<Point>,
    /// The text of every string in the points, back to back.
    text: String,
}

/// A series' `values`.
#[derive(Debug)]
pub enum Points {
    List(Vec<Point>),
    /// `values` that is not a list.
    Json(Value),
}

/// One point: `[time, "value"]`, or anything else as JSON.
#[derive(Debug)]
pub enum Point {
    Pair(Scalar, Scalar),
    Json(Box<Value>),
}

/// One element of a point.
#[derive(Debug)]
pub enum Scalar {
    Num(Number),
    /// Where in the series' text.
    Str(Range<usize>),
    Json(Box<Value>),
}

impl Series {
    /// The text of the series' strings.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The object as a `serde_json::Value` parse would have read it.
    pub fn to_json(&self) -> Value {
        let mut map = self.rest.clone();
        if let Some(values) = &self.values {
            let values = match values {
                Points::List(points) => Value::Array(points.iter().map(|p| p.to_json(&self.text)).collect()),
                Points::Json(v) => v.clone(),
            };
            map.insert("values".into(), values);
        }
        if let Some(value) = &self.value {
            map.insert("value".into(), value.to_json(&self.text));
        }
        Value::Object(map)
    }
}

impl Point {
    /// The point as JSON; `text` is its series' [`Series::text`].
    pub fn to_json(&self, text: &str) -> Value {
        match self {
            Point::Pair(a, b) => Value::Array(vec![a.to_json(text), b.to_json(text)]),
            Point::Json(v) => (**v).clone(),
        }
    }
}

impl Scalar {
    pub fn to_json(&self, text: &str) -> Value {
        match self {
            Scalar::Num(n) => Value::Number(n.clone()),
            Scalar::Str(at) => Value::String(text[at.clone()].to_string()),
            Scalar::Json(v) => (**v).clone(),
        }
    }
}

impl Series {
    /// Sets `values` to points read elsewhere, whose strings are in `text`.
    pub(super) fn set_points(&mut self, mut points: Vec<Point>, text: &str) {
        let shift = self.text.len();
        self.text.push_str(text);
        for point in &mut points {
            if let Point::Pair(a, b) = point {
                for scalar in [a, b] {
                    if let Scalar::Str(at) = scalar {
                        *at = at.start + shift..at.end + shift;
                    }
                }
            }
        }
        self.values = Some(Points::List(points));
    }
}

impl From<Value> for Item {
    /// A top-level object that is itself the record (a response without `data.result`).
    fn from(v: Value) -> Item {
        match &v {
            Value::Object(_) => Item::deserialize(&v).unwrap_or(Item::Json(v)),
            _ => Item::Json(v),
        }
    }
}

/// The visits of a JSON value that is not a map or a list, as a `Value` wrapped by `$wrap`.
macro_rules! scalars_as_json {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok($wrap(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok($wrap(Value::Number(v.into())))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok($wrap(Value::Number(v.into())))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok($wrap(Number::from_f64(v).map_or(Value::Null, Value::Number)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(Value::String(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok($wrap(Value::String(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(Value::Null))
        }
    };
}

/// A seed (and visitor) that reads one part of a series, keeping the strings it meets
/// in the series' text.
macro_rules! text_seed {
    ($name:ident -> $out:ty) => {
        struct $name<'t> {
            text: &'t mut String,
        }

        impl<'de> DeserializeSeed<'de> for $name<'_> {
            type Value = $out;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$out, D::Error> {
                d.deserialize_any(self)
            }
        }
    };
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series or a scalar result")
    }

    scalars_as_json!(Item::Json);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Item, A::Error> {
        Ok(Item::Json(Value::deserialize(SeqAccessDeserializer::new(seq))?))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut s = Series::default();
        while let Some(key) = map.next_key::<String>()? {
            // A repeated key: the last one wins, as in a `Value` parse.
            match key.as_str() {
                "values" => s.values = Some(map.next_value_seed(PointsSeed { text: &mut s.text })?),
                "value" => s.value = Some(map.next_value_seed(PointSeed { text: &mut s.text })?),
                _ => {
                    let v = map.next_value::<Value>()?;
                    s.rest.insert(key, v);
                }
            }
        }
        Ok(Item::Series(s))
    }
}

text_seed!(PointsSeed -> Points);

impl<'de> Visitor<'de> for PointsSeed<'_> {
    type Value = Points;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of points")
    }

    scalars_as_json!(Points::Json);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Points, A::Error> {
        let mut points = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(p) = seq.next_element_seed(PointSeed { text: &mut *self.text })? {
            points.push(p);
        }
        Ok(Points::List(points))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Points, A::Error> {
        Ok(Points::Json(Value::deserialize(MapAccessDeserializer::new(map))?))
    }
}

text_seed!(PointSeed -> Point);

fn boxed(v: Value) -> Point {
    Point::Json(Box::new(v))
}

impl<'de> Visitor<'de> for PointSeed<'_> {
    type Value = Point;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a point")
    }

    scalars_as_json!(boxed);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Point, A::Error> {
        let text = self.text;
        let first = seq.next_element_seed(ScalarSeed { text: &mut *text })?;
        let second = match first {
            Some(_) => seq.next_element_seed(ScalarSeed { text: &mut *text })?,
            None => None,
        };
        let third = match second {
            Some(_) => seq.next_element::<Value>()?,
            None => None,
        };
        match (first, second, third) {
            (Some(a), Some(b), None) => Ok(Point::Pair(a, b)),
            // Not two elements: kept whole, as JSON.
            (first, second, third) => {
                let mut items: Vec<Value> = [first, second].into_iter().flatten().map(|s| s.to_json(text)).collect();
                items.extend(third);
                while let Some(v) = seq.next_element::<Value>()? {
                    items.push(v);
                }
                Ok(boxed(Value::Array(items)))
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Point, A::Error> {
        Ok(boxed(Value::deserialize(MapAccessDeserializer::new(map))?))
    }
}

text_seed!(ScalarSeed -> Scalar);

impl<'de> Visitor<'de> for ScalarSeed<'_> {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a time or a value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Json(Box::new(Value::Bool(v))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Number::from_f64(v).map_or(Scalar::Json(Box::new(Value::Null)), Scalar::Num))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        let start = self.text.len();
        self.text.push_str(v);
        Ok(Scalar::Str(start..self.text.len()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        self.visit_str(&v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Json(Box::new(Value::Null)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        Ok(Scalar::Json(Box::new(Value::deserialize(SeqAccessDeserializer::new(seq))?)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        Ok(Scalar::Json(Box::new(Value::deserialize(MapAccessDeserializer::new(map))?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item reads back as the `serde_json::Value` parse of the same text.
    #[test]
    fn items_read_back_as_json() {
        let cases = [
            r#"{"metric":{"__name__":"up","job":"a"},"values":[[1795046400.5,"1"],[1795046415,"NaN"]]}"#,
            r#"{"metric":{},"value":[1795046400,"2"]}"#,
            r#"{"metric":{"a":1},"values":[[1],[1,"2",3],[],"x",{"t":1},[null,true],[[1],{"a":"b"}]],"extra":[1]}"#,
            r#"{"values":5,"value":"x","status":"error","error":"bad"}"#,
            r#"{"values":{"a":[1]},"values":[["1","é\"\\"]]}"#,
            r#"{}"#,
            r#"[1795046400,"1"]"#,
            r#""1""#,
            r#"-1.5e300"#,
            r#"null"#,
        ];
        for text in cases {
            let want: Value = serde_json::from_str(text).unwrap();
            let item: Item = serde_json::from_reader(text.as_bytes()).unwrap();
            let got = match &item {
                Item::Series(s) => s.to_json(),
                Item::Json(v) => v.clone(),
            };
            assert_eq!(got, want, "{text}");
            assert!(matches!(item, Item::Series(_)) == want.is_object(), "{text}");
            // The same from a `Value` (a top-level object that is itself the record).
            let again = match Item::from(want.clone()) {
                Item::Series(s) => s.to_json(),
                Item::Json(v) => v,
            };
            assert_eq!(again, want, "{text}");
        }
    }

    #[test]
    fn pairs_are_read_compactly() {
        let item: Item =
            serde_json::from_str(r#"{"metric":{"__name__":"up"},"values":[[1795046400,"1.5"],[1795046415.25,"2"]]}"#)
                .unwrap();
        let Item::Series(s) = item else { panic!("a series") };
        let Some(Points::List(points)) = &s.values else { panic!("a list") };
        assert_eq!(points.len(), 2);
        assert!(matches!(&points[0], Point::Pair(Scalar::Num(_), Scalar::Str(r)) if &s.text()[r.clone()] == "1.5"));
        assert_eq!(s.text(), "1.52");
    }
}
