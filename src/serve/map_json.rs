//! `map_json(map)`: an Arrow map as a JSON object in text (`{"pod":"web-1"}`), the form a
//! PostgreSQL client can show and parse (`attributes::json ->> 'pod'` in the client's
//! own PostgreSQL, `json.loads` in Python). Values keep their Arrow text form.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, MapArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct MapJson {
    signature: Signature,
}

impl MapJson {
    pub(super) fn new() -> MapJson {
        MapJson { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for MapJson {
    fn name(&self) -> &str {
        "map_json"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("map_json takes one map");
        };
        let array = arg.to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(to_json(&array)?))
    }
}

fn to_json(array: &ArrayRef) -> Result<ArrayRef> {
    let Some(maps) = array.as_any().downcast_ref::<MapArray>() else {
        return exec_err!("map_json takes a map, not {}", array.data_type());
    };
    let options = FormatOptions::default();
    let keys = ArrayFormatter::try_new(maps.keys().as_ref(), &options)?;
    let values = ArrayFormatter::try_new(maps.values().as_ref(), &options)?;
    let offsets = maps.value_offsets();
    let mut out = StringBuilder::with_capacity(maps.len(), maps.len() * 32);
    for row in 0..maps.len() {
        if maps.is_null(row) {
            out.append_null();
            continue;
        }
        let mut object = serde_json::Map::new();
        for i in offsets[row] as usize..offsets[row + 1] as usize {
            let value = if maps.values().is_null(i) {
                serde_json::Value::Null
            } else {
                serde_json::Value::String(values.value(i).to_string())
            };
            object.insert(keys.value(i).to_string(), value);
        }
        out.append_value(serde_json::Value::Object(object).to_string());
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{MapBuilder, StringArray};

    use super::*;

    #[test]
    fn maps_become_json_objects() {
        let mut b = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        b.keys().append_value("pod");
        b.values().append_value("web-1");
        b.keys().append_value("quote\"d");
        b.values().append_null();
        b.append(true).unwrap();
        b.append(false).unwrap();
        b.append(true).unwrap();
        let array: ArrayRef = Arc::new(b.finish());
        let json = to_json(&array).unwrap();
        let json = json.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(json.value(0), r#"{"pod":"web-1","quote\"d":null}"#);
        assert!(json.is_null(1));
        assert_eq!(json.value(2), "{}");
    }
}
