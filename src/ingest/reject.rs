//! Why a record did not become a row. Every reject is kept in the `rejects` table with
//! its object, line, reason code and a human detail; the summary counts them per code.

use std::fmt;

/// Stable reason codes (the `rejects.reason` column); `docs/tables.md` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    InvalidUtf8,
    InvalidJson,
    NotAnObject,
    InvalidCsv,
    WrongFieldCount,
    LineTooLong,
    MissingField,
    BadTimestamp,
    ImplausibleTimestamp,
    BadValue,
    NoMatch,
    InvalidLogfmt,
    InvalidExposition,
    UnsupportedRecord,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::InvalidUtf8 => "invalid_utf8",
            Reason::InvalidJson => "invalid_json",
            Reason::NotAnObject => "not_an_object",
            Reason::InvalidCsv => "invalid_csv",
            Reason::WrongFieldCount => "wrong_field_count",
            Reason::LineTooLong => "line_too_long",
            Reason::MissingField => "missing_field",
            Reason::BadTimestamp => "bad_timestamp",
            Reason::ImplausibleTimestamp => "implausible_timestamp",
            Reason::BadValue => "bad_value",
            Reason::NoMatch => "no_match",
            Reason::InvalidLogfmt => "invalid_logfmt",
            Reason::InvalidExposition => "invalid_exposition",
            Reason::UnsupportedRecord => "unsupported_record",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejected record's reason and the detail a person needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub reason: Reason,
    pub detail: String,
}

impl Reject {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Reject { reason, detail: detail.into() }
    }
}

/// How much of a rejected line is kept in `rejects.raw`.
pub const RAW_LIMIT: usize = 4096;

/// The raw text of a rejected record: lossy UTF-8, cut at [`RAW_LIMIT`] bytes on a char boundary.
pub fn raw_text(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(RAW_LIMIT)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > RAW_LIMIT {
        s.push_str(" …[truncated]");
    }
    s
}
