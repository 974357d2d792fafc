//! JSON Lines: one JSON object per line. Blank lines are skipped (they are not records).

use super::record::{Assembler, Row, Value};
use super::reject::{Reason, Reject};

/// Parses one line into a row of the assembler's kind.
pub fn parse_line(line: &[u8], asm: &Assembler) -> Result<Row, Reject> {
    let text = std::str::from_utf8(line)
        .map_err(|e| Reject::new(Reason::InvalidUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Reject::new(Reason::InvalidJson, format!("invalid JSON: {e}")))?;
    let serde_json::Value::Object(map) = &value else {
        return Err(Reject::new(Reason::NotAnObject, "a JSON Lines record must be an object"));
    };
    asm.assemble(map.iter().map(|(k, v)| (k.as_str(), Value::from_json(v))))
}

/// True for lines with nothing but white space.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}
