//! Timestamp normalization: every accepted shape → microseconds since the epoch, UTC,
//! plus flags that say where a judgement was made.
//!
//! Rules (documented in `docs/formats.md`, tested below):
//! - A number (or a string of digits) is epoch time; its unit is inferred from magnitude:
//!   < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds. A
//!   fraction is allowed for seconds (`1795096920.25`).
//! - RFC 3339 / ISO 8601 with an offset or `Z` is taken as written.
//! - A zone abbreviation in the text (`EST`, `CEST`, …) maps through [`ZONE_ABBREVIATIONS`].
//! - A naive date-time takes the source's IANA zone. In the repeated hour of a DST
//!   fall-back the *earlier* instant is chosen unless that would put the row more than
//!   [`DST_BACKSTEP`] before the previous row of the same object while the later one
//!   would not (a log that runs through the second pass of the hour); either way the row
//!   is flagged `dst_ambiguous`. In the skipped hour of a spring-forward the offset in
//!   force before the jump is used, flagged `dst_gap`.
//! - A year-less time (`Dec 10 06:55:46`) takes the source's `year` option, else the year
//!   of the object's last modification (one year less if that would put the row more
//!   than a day after the object was written). Within one object a month that goes
//!   backwards by more than six months (Dec → Jan) starts the next year. Flagged
//!   `year_inferred`.
//! - Results before 2000-01-01 or from 2100-01-01 on are refused as implausible: such a
//!   value almost always means a wrong unit or a missing field, and silently accepting it
//!   would put events decades away from the incident.

use std::cell::Cell;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::whitespace;

/// Why a timestamp could not be normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    Unparseable,
    /// Did not match the source's explicit `ts_format`.
    FormatMismatch(String),
    Implausible(String),
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Unparseable => f.write_str("not a recognised timestamp"),
            TimeError::FormatMismatch(fmt) => write!(f, "does not match ts_format `{fmt}`"),
            TimeError::Implausible(t) => write!(f, "implausible time {t} (outside 2000..2100)"),
        }
    }
}

/// Judgements made while normalizing one timestamp (the `ts_flags` column).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TsFlags(u8);

impl TsFlags {
    pub const NONE: TsFlags = TsFlags(0);
    /// Local time in a repeated DST hour: two instants were possible.
    pub const DST_AMBIGUOUS: TsFlags = TsFlags(1);
    /// Local time in a skipped DST hour: it never happened on a correct clock.
    pub const DST_GAP: TsFlags = TsFlags(2);
    /// The text had no year; it was inferred.
    pub const YEAR_INFERRED: TsFlags = TsFlags(4);
    /// Shifted by a configured clock-skew correction.
    pub const SKEW_ADJUSTED: TsFlags = TsFlags(8);
    /// The record had no time; it is the source's `scrape_time` (a plain scrape).
    pub const SCRAPE_TIME: TsFlags = TsFlags(16);

    const NAMES: [(TsFlags, &'static str); 5] = [
        (TsFlags::DST_AMBIGUOUS, "dst_ambiguous"),
        (TsFlags::DST_GAP, "dst_gap"),
        (TsFlags::YEAR_INFERRED, "year_inferred"),
        (TsFlags::SKEW_ADJUSTED, "skew_adjusted"),
        (TsFlags::SCRAPE_TIME, "scrape_time"),
    ];

    pub fn contains(self, other: TsFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: TsFlags) {
        self.0 |= other.0;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `dst_ambiguous,year_inferred`; `None` when no flag is set.
    pub fn to_text(self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let names: Vec<&str> = Self::NAMES.iter().filter(|(f, _)| self.contains(*f)).map(|(_, n)| *n).collect();
        Some(names.join(","))
    }
}

/// A normalized timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub micros: i64,
    pub flags: TsFlags,
}

impl Stamp {
    fn plain(micros: i64) -> Result<Stamp, TimeError> {
        plausible(micros).map(|micros| Stamp { micros, flags: TsFlags::NONE })
    }
}

const MIN_MICROS: i64 = 946_684_800_000_000; // 2000-01-01T00:00:00Z
const MAX_MICROS: i64 = 4_102_444_800_000_000; // 2100-01-01T00:00:00Z

/// How far a fall-back-hour row may step back from the previous row before the later of
/// its two instants is preferred.
pub const DST_BACKSTEP: chrono::Duration = chrono::Duration::minutes(10);

/// Naive forms with a year, tried in order. `%.f` accepts an empty or any-length fraction;
/// a `,` fraction separator (`17:41:44,747`) is rewritten to `.` before matching.
const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y-%m-%d-%H.%M.%S%.f",    // IBM BlueGene/L: 2005-06-03-15.42.50.675872
    "%a %b %d %H:%M:%S%.f %Y", // ctime, Apache error log: Sun Dec 04 04:47:44 2005
    "%b %d %Y %H:%M:%S%.f",    // syslog with a year: Dec 10 2017 06:55:46
    "%d/%b/%Y:%H:%M:%S",       // common log format without its offset
    "%Y%m%d-%H:%M:%S:%3f",     // HealthApp: 20171224-1:2:35:789 (unpadded fields)
    "%y/%m/%d %H:%M:%S%.f",    // log4j in Spark: 17/06/09 20:10:40
    "%y%m%d %H%M%S",           // Hadoop HDFS: 081109 203615
];

/// Year-less forms; the year is inferred (see the module doc).
const YEARLESS_FORMATS: &[&str] = &[
    "%b %d %H:%M:%S%.f", // syslog RFC 3164: Dec 10 06:55:46
    "%m%d %H:%M:%S%.f",  // klog: 1123 14:02:00.123456
];

/// Forms with an explicit numeric offset that RFC 3339 parsing does not cover.
const OFFSET_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f %#z",
    "%d/%b/%Y:%H:%M:%S %z",     // nginx/Apache access log: 10/Oct/2000:13:55:36 -0700
    "%a, %d %b %Y %H:%M:%S %z", // RFC 2822
];

/// Zone abbreviations accepted in timestamp text, with their UTC offsets in minutes.
/// Abbreviations are ambiguous in general; this table picks the reading most common in
/// server logs (`IST` is India, `BST` is British Summer Time) and is documented in
/// `docs/formats.md`. A source whose logs mean otherwise should use numeric offsets or
/// a `timezone`.
pub const ZONE_ABBREVIATIONS: &[(&str, i32)] = &[
    ("UTC", 0),
    ("GMT", 0),
    ("UT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 60),
    ("BST", 60),
    ("CET", 60),
    ("CEST", 120),
    ("MET", 60),
    ("MEST", 120),
    ("EET", 120),
    ("EEST", 180),
    ("MSK", 180),
    ("IST", 330),
    ("SGT", 480),
    ("HKT", 480),
    ("AWST", 480),
    ("JST", 540),
    ("KST", 540),
    ("ACST", 570),
    ("AEST", 600),
    ("AEDT", 660),
    ("NZST", 720),
    ("NZDT", 780),
    ("AST", -240),
    ("ADT", -180),
    ("EST", -300),
    ("EDT", -240),
    ("CST", -360),
    ("CDT", -300),
    ("MST", -420),
    ("MDT", -360),
    ("PST", -480),
    ("PDT", -420),
    ("AKST", -540),
    ("AKDT", -480),
    ("HST", -600),
];

fn abbreviation_offset(token: &str) -> Option<i32> {
    ZONE_ABBREVIATIONS.iter().find(|(a, _)| *a == token).map(|(_, m)| *m)
}

/// Per-object state: year inference and DST disambiguation look at earlier rows.
#[derive(Debug, Default)]
struct State {
    /// (year, month) of the previous year-less row.
    yearless: Cell<Option<(i32, u32)>>,
    /// The previous row's result.
    last: Cell<Option<i64>>,
    /// Index into the auto-detect list that matched last (tried first next time).
    hint: Cell<usize>,
    /// Whether the previous row was read by the naive form at `hint` (then it is tried
    /// first, before RFC 3339; see [`TimeParser::parse_str`]).
    naive_first: Cell<bool>,
    /// Set when a result depended on `last` (see [`TimeParser::take_consulted`]).
    consulted: Cell<bool>,
    /// The first year-less row's (year, month) when it was read from a blank state: a
    /// run of rows parsed out of order agrees with an in-order read exactly when the year
    /// the rows before would have given that row is this one ([`year_after`]); every later
    /// row follows from it. (Before, every year-less row marked its run as needing a
    /// second, in-order parse, which made syslog ingest one thread's work done twice.)
    first_yearless: Cell<Option<(i32, u32)>>,
}

/// The year of a year-less row in `month`, after a year-less row in `prev` = (year,
/// month); `None` without one (the object's first: [`TimeParser`] infers it).
pub fn year_after(prev: Option<(i32, u32)>, month: u32) -> Option<i32> {
    match prev {
        // Dec → Jan inside one object: the next year.
        Some((y, m)) if month + 6 < m => Some(y + 1),
        // A month far ahead of the previous row (Jan → Dec): a log read backwards, or the previous year.
        Some((y, m)) if m + 6 < month => Some(y - 1),
        Some((y, _)) => Some(y),
        None => None,
    }
}

/// The state one row hands the next, so that a run of rows parsed out of order (a chunk
/// on a worker thread) can be checked and, if it needed the state, parsed again in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeState {
    yearless: Option<(i32, u32)>,
    last: Option<i64>,
    hint: usize,
    naive_first: bool,
}

impl TimeState {
    /// The state after a run of rows that did not consult it, given the state that run
    /// ended with when parsed from a blank one: its last time and year-less month, if it
    /// parsed any.
    pub fn after(self, run: TimeState) -> TimeState {
        TimeState { last: run.last.or(self.last), yearless: run.yearless.or(self.yearless), ..self }
    }

    /// Whether a run whose first year-less row, read from a blank state, got `first` =
    /// (year, month) reads the same after this state as it did alone.
    pub fn agrees_with(&self, first: Option<(i32, u32)>) -> bool {
        match (first, self.yearless) {
            (Some((year, month)), Some(_)) => year_after(self.yearless, month) == Some(year),
            _ => true,
        }
    }
}

/// Normalizes the timestamps of one object.
#[derive(Debug)]
pub struct TimeParser {
    zone: Tz,
    /// An explicit strftime format (`ts_format`); `None`: detect the shape.
    format: Option<String>,
    /// `format`, parsed once (re-parsing the format string per row cost ~8% of ingest).
    format_items: Vec<Item<'static>>,
    /// The source's `year` option for year-less times.
    year: Option<i32>,
    /// When the object was last modified (year-less fallback).
    reference: Option<DateTime<Utc>>,
    state: State,
}

impl TimeParser {
    pub fn new(zone: Tz) -> Self {
        TimeParser {
            zone,
            format: None,
            format_items: Vec::new(),
            year: None,
            reference: None,
            state: State::default(),
        }
    }

    pub fn with_format(mut self, format: Option<String>) -> Self {
        self.format_items =
            format.as_deref().and_then(|f| StrftimeItems::new(f).parse_to_owned().ok()).unwrap_or_default();
        self.format = format;
        self
    }

    pub fn with_year(mut self, year: Option<i32>) -> Self {
        self.year = year;
        self
    }

    pub fn with_reference(mut self, reference: DateTime<Utc>) -> Self {
        self.reference = Some(reference);
        self
    }

    /// The same settings with a fresh state (for a worker thread).
    pub fn fork(&self) -> TimeParser {
        TimeParser {
            zone: self.zone,
            format: self.format.clone(),
            format_items: self.format_items.clone(),
            year: self.year,
            reference: self.reference,
            state: State::default(),
        }
    }

    pub fn state(&self) -> TimeState {
        TimeState {
            yearless: self.state.yearless.get(),
            last: self.state.last.get(),
            hint: self.state.hint.get(),
            naive_first: self.state.naive_first.get(),
        }
    }

    pub fn set_state(&self, s: TimeState) {
        self.state.yearless.set(s.yearless);
        self.state.last.set(s.last);
        self.state.hint.set(s.hint);
        self.state.naive_first.set(s.naive_first);
    }

    /// Whether a result since the last call depended on earlier rows (a year-less time,
    /// or a wall-clock time repeated by a DST fall-back); clears the mark. Rows that did
    /// not are the same whatever came before them. (The auto-detect `hint` only orders
    /// the formats tried; a time two formats both accept reads the same under either.)
    pub fn take_consulted(&self) -> bool {
        self.state.consulted.replace(false)
    }

    /// The first year-less row's (year, month) since the last call, when it was read
    /// without an earlier one in the state; clears it. See [`year_after`].
    pub fn take_first_yearless(&self) -> Option<(i32, u32)> {
        self.state.first_yearless.replace(None)
    }

    pub fn parse_str(&self, s: &str) -> Result<Stamp, TimeError> {
        let s = whitespace::trim(s);
        let s = whitespace::trim(s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s));
        if s.is_empty() {
            return Err(TimeError::Unparseable);
        }
        if let Some(format) = &self.format {
            return self.parse_with(s, format).ok_or_else(|| TimeError::FormatMismatch(format.clone()))?;
        }
        // Digits alone (a Unix time, the usual Prometheus and CSV form): read here; up to
        // 18 of them cannot overflow. The general check below was 4 % of a Prometheus
        // text ingest.
        if s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
            return epoch_int(s.bytes().fold(0i64, |n, b| n * 10 + i64::from(b - b'0')));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && s.bytes().filter(|b| *b == b'.').count() <= 1 {
            // Integer strings are parsed exactly; f64 would lose nanosecond precision.
            return match s.parse::<i64>() {
                Ok(i) => epoch_int(i),
                Err(_) => epoch_float(s.parse().map_err(|_| TimeError::Unparseable)?),
            };
        }
        // When the row before was read by a naive form, that form first: nearly every line
        // of a log has the shape of the line before it, and the forms tried before naive
        // ones would cost several failed parses per row. Only then: for RFC 3339 rows the
        // failed naive parse was 15 % of a JSON Lines ingest. Trying it first changes no
        // answer: a naive form that matches the whole text leaves no offset, `Z` or zone
        // name that an earlier form would have read.
        if self.state.naive_first.get() {
            if let Some(naive) = self.hinted_naive(s) {
                return self.remember(self.localize(naive, TsFlags::NONE));
            }
            self.state.naive_first.set(false);
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return self.remember(Stamp::plain(t.timestamp_micros()));
        }
        let s = comma_fraction(s);
        let s = pad_millis(&s);
        if let Some(t) = OFFSET_FORMATS.iter().find_map(|f| DateTime::<FixedOffset>::parse_from_str(&s, f).ok()) {
            return self.remember(Stamp::plain(t.timestamp_micros()));
        }
        // A trailing `Z` on a form RFC 3339 rejects (e.g. no seconds): UTC.
        if let Some(naive) = s.strip_suffix('Z').and_then(|r| self.detect_naive(r)) {
            return self.remember(Stamp::plain(naive.and_utc().timestamp_micros()));
        }
        if let Some((rest, minutes)) = split_abbreviation(&s)
            && let Some(naive) = self.detect_naive(&rest)
        {
            let micros = naive.and_utc().timestamp_micros() - i64::from(minutes) * 60_000_000;
            return self.remember(Stamp::plain(micros));
        }
        if let Some(naive) = self.detect_naive(&s) {
            self.state.naive_first.set(true);
            return self.remember(self.localize(naive, TsFlags::NONE));
        }
        for f in YEARLESS_FORMATS {
            if let Some(stamp) = self.parse_yearless(&s, f) {
                return self.remember(stamp);
            }
        }
        Err(TimeError::Unparseable)
    }

    pub fn parse_i64(&self, v: i64) -> Result<Stamp, TimeError> {
        self.remember(epoch_int(v))
    }

    pub fn parse_f64(&self, v: f64) -> Result<Stamp, TimeError> {
        self.remember(epoch_float(v))
    }

    fn remember(&self, r: Result<Stamp, TimeError>) -> Result<Stamp, TimeError> {
        if let Ok(s) = &r {
            self.state.last.set(Some(s.micros));
        }
        r
    }

    /// Parses with an explicit format; `None` when it does not match.
    fn parse_with(&self, s: &str, format: &str) -> Option<Result<Stamp, TimeError>> {
        let s = comma_fraction(s);
        let s = if format.ends_with(":%3f") { pad_millis(&s) } else { s };
        if format.contains("%Z") {
            // chrono does not resolve `%Z`: take the abbreviation out and apply the table.
            let (rest, minutes) = split_abbreviation(&s)?;
            let f = format.replace("%Z", "").split_whitespace().collect::<Vec<_>>().join(" ");
            let naive = NaiveDateTime::parse_from_str(&rest, &f).ok()?;
            let micros = naive.and_utc().timestamp_micros() - i64::from(minutes) * 60_000_000;
            return Some(self.remember(Stamp::plain(micros)));
        }
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, &s, self.format_items.iter()).ok()?;
        if parsed.offset().is_some() {
            let t = parsed.to_datetime().ok()?;
            return Some(self.remember(Stamp::plain(t.timestamp_micros())));
        }
        if let Ok(naive) = parsed.to_naive_datetime_with_offset(0) {
            return Some(self.remember(self.localize(naive, TsFlags::NONE)));
        }
        let stamp = self.yearless(parsed)?;
        Some(self.remember(stamp))
    }

    fn hinted_naive(&self, s: &str) -> Option<NaiveDateTime> {
        let format = NAIVE_FORMATS.get(self.state.hint.get())?;
        let s = comma_fraction(s);
        NaiveDateTime::parse_from_str(&pad_millis(&s), format).ok().filter(|t| t.year() >= 1000)
    }

    fn detect_naive(&self, s: &str) -> Option<NaiveDateTime> {
        // `%Y` also reads two digits: `17/06/09` must not become the year 17.
        let parse = |f: &str| NaiveDateTime::parse_from_str(s, f).ok().filter(|t| t.year() >= 1000);
        let hint = self.state.hint.get();
        if let Some(t) = NAIVE_FORMATS.get(hint).and_then(|f| parse(f)) {
            return Some(t);
        }
        NAIVE_FORMATS.iter().enumerate().find_map(|(i, f)| {
            let t = parse(f)?;
            self.state.hint.set(i);
            Some(t)
        })
    }

    /// A format without a year: fills the year in (module doc) and localizes.
    fn parse_yearless(&self, s: &str, format: &str) -> Option<Result<Stamp, TimeError>> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, s, StrftimeItems::new(format)).ok()?;
        self.yearless(parsed)
    }

    /// Fields parsed without a year → the inferred year filled in, localized.
    fn yearless(&self, mut parsed: Parsed) -> Option<Result<Stamp, TimeError>> {
        if parsed.year().is_some() || parsed.year_div_100().is_some() || parsed.year_mod_100().is_some() {
            return None;
        }
        let month = parsed.month()?;
        let year = match year_after(self.state.yearless.get(), month) {
            Some(y) => y,
            None => {
                let y = self.first_year(&parsed);
                self.state.first_yearless.set(Some((y, month)));
                y
            }
        };
        self.state.yearless.set(Some((year, month)));
        parsed.set_year(i64::from(year)).ok()?;
        let naive = parsed.to_naive_datetime_with_offset(0).ok()?;
        Some(self.localize(naive, TsFlags::YEAR_INFERRED))
    }

    /// The year of the first year-less row of an object.
    fn first_year(&self, parsed: &Parsed) -> i32 {
        if let Some(y) = self.year {
            return y;
        }
        let Some(reference) = self.reference else { return Utc::now().year() };
        let year = reference.year();
        let mut p = parsed.clone();
        let in_year = p.set_year(i64::from(year)).ok().and_then(|_| p.to_naive_datetime_with_offset(0).ok());
        match in_year {
            // Written in January, about December: last year.
            Some(t) if t.and_utc() > reference + chrono::Duration::days(1) => year - 1,
            _ => year,
        }
    }

    /// A naive wall-clock time in the source zone → UTC (DST rules in the module doc).
    fn localize(&self, naive: NaiveDateTime, mut flags: TsFlags) -> Result<Stamp, TimeError> {
        let micros = match self.zone.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.timestamp_micros(),
            LocalResult::Ambiguous(earlier, later) => {
                flags.insert(TsFlags::DST_AMBIGUOUS);
                let (e, l) = (earlier.timestamp_micros(), later.timestamp_micros());
                let back = DST_BACKSTEP.num_microseconds().unwrap_or(0);
                self.state.consulted.set(true);
                match self.state.last.get() {
                    Some(prev) if e < prev - back && l >= prev - back => l,
                    _ => e,
                }
            }
            LocalResult::None => {
                flags.insert(TsFlags::DST_GAP);
                // Skipped hour: use the offset in force before the transition.
                let before = naive - chrono::Duration::hours(3);
                let offset =
                    self.zone.offset_from_local_datetime(&before).earliest().map(|o| o.fix().local_minus_utc());
                let secs = i64::from(offset.unwrap_or(0));
                (naive - chrono::Duration::seconds(secs)).and_utc().timestamp_micros()
            }
        };
        plausible(micros).map(|micros| Stamp { micros, flags })
    }
}

/// `17:41:44,747` → `17:41:44.747` (log4j and Python logging write a comma).
fn comma_fraction(s: &str) -> std::borrow::Cow<'_, str> {
    let b = s.as_bytes();
    for i in 3..b.len().saturating_sub(1) {
        if b[i] == b','
            && b[i + 1].is_ascii_digit()
            && b[i - 1].is_ascii_digit()
            && b[i - 2].is_ascii_digit()
            && b[i - 3] == b':'
        {
            let mut out = s.to_string();
            out.replace_range(i..i + 1, ".");
            return out.into();
        }
    }
    s.into()
}

/// `20171224-1:2:35:11` → `20171224-1:2:35:011`: Java's `S` pattern writes milliseconds
/// unpadded, so a last `:`-separated field of one or two digits after `H:M:S` is a count
/// of milliseconds, not a fraction.
fn pad_millis(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().filter(|b| *b == b':').count() == 3
        && let Some((head, tail)) = s.rsplit_once(':')
        && (1..3).contains(&tail.len())
        && tail.bytes().all(|b| b.is_ascii_digit())
    {
        return format!("{head}:{tail:0>3}").into();
    }
    s.into()
}

/// Takes a zone abbreviation token out of the text: `Thu Nov 19 09:02:00 EST 2026` →
/// (`Thu Nov 19 09:02:00 2026`, -300).
fn split_abbreviation(s: &str) -> Option<(String, i32)> {
    let tokens: Vec<&str> = s.split_whitespace().collect();
    let (at, minutes) = tokens.iter().enumerate().skip(1).find_map(|(i, t)| Some((i, abbreviation_offset(t)?)))?;
    let rest: Vec<&str> = tokens.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, t)| *t).collect();
    Some((rest.join(" "), minutes))
}

fn epoch_int(v: i64) -> Result<Stamp, TimeError> {
    let a = v.unsigned_abs();
    let micros = if a < 100_000_000_000 {
        v.checked_mul(1_000_000)
    } else if a < 100_000_000_000_000 {
        v.checked_mul(1_000)
    } else if a < 100_000_000_000_000_000 {
        Some(v)
    } else {
        Some(v / 1_000)
    };
    micros.map_or(Err(TimeError::Unparseable), Stamp::plain)
}

fn epoch_float(v: f64) -> Result<Stamp, TimeError> {
    if !v.is_finite() {
        return Err(TimeError::Unparseable);
    }
    let a = v.abs();
    let micros = if a < 1e11 {
        v * 1e6
    } else if a < 1e14 {
        v * 1e3
    } else if a < 1e17 {
        v
    } else {
        v / 1e3
    };
    Stamp::plain(micros.round() as i64)
}

fn plausible(micros: i64) -> Result<i64, TimeError> {
    if (MIN_MICROS..MAX_MICROS).contains(&micros) {
        Ok(micros)
    } else {
        Err(TimeError::Implausible(format_micros(micros)))
    }
}

/// RFC 3339 in UTC with the shortest exact fraction, for messages and reports.
pub fn format_micros(micros: i64) -> String {
    match Utc.timestamp_micros(micros).single() {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => format!("{micros}µs since the epoch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: Stamp) -> String {
        format_micros(s.micros)
    }

    fn at(p: &TimeParser, s: &str) -> String {
        match p.parse_str(s) {
            Ok(stamp) => utc(stamp),
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn offsets_and_zulu() {
        let p = TimeParser::new(Tz::UTC);
        assert_eq!(at(&p, "2026-11-19T14:02:00Z"), "2026-11-19T14:02:00Z");
        assert_eq!(at(&p, "2026-11-19T09:02:00-05:00"), "2026-11-19T14:02:00Z");
        assert_eq!(at(&p, "2026-11-19 15:02:00.250+01:00"), "2026-11-19T14:02:00.250Z");
        assert_eq!(at(&p, "2026-11-19T15:02:00+0100"), "2026-11-19T14:02:00Z");
        assert_eq!(at(&p, "2026-11-19T14:02Z"), "2026-11-19T14:02:00Z");
        assert_eq!(at(&p, "19/Nov/2026:06:02:00 -0800"), "2026-11-19T14:02:00Z");
        assert_eq!(at(&p, "Thu, 19 Nov 2026 15:02:00 +0100"), "2026-11-19T14:02:00Z");
    }

    #[test]
    fn epochs_by_magnitude() {
        let p = TimeParser::new(Tz::UTC);
        let want = "2026-11-19T14:02:00Z";
        for v in [1_795_096_920, 1_795_096_920_000, 1_795_096_920_000_000, 1_795_096_920_000_000_000] {
            assert_eq!(utc(p.parse_i64(v).unwrap()), want);
        }
        assert_eq!(at(&p, "1795096920"), want);
        assert_eq!(at(&p, "1795096920000000000"), want);
        assert_eq!(at(&p, "1795096920123"), "2026-11-19T14:02:00.123Z");
        assert_eq!(utc(p.parse_f64(1_795_096_920.25).unwrap()), "2026-11-19T14:02:00.250Z");
        assert_eq!(at(&p, "1795096920.5"), "2026-11-19T14:02:00.500Z");
        // Digits of every length read as the integer they are, with leading zeros, up to
        // and past the 18 read without a general parse.
        let mut next = crate::test_rng::xorshift(0x853c_49e6_748f_ea9b);
        for _ in 0..20_000 {
            let seed = next();
            let digits = (seed % 21) as usize + 1;
            let text: String = (0..digits).map(|i| char::from(b'0' + ((seed >> (i * 3)) % 10) as u8)).collect();
            let want = text.parse::<i64>().map_err(|_| ()).and_then(|i| epoch_int(i).map_err(|_| ()));
            let got = p.parse_str(&text).map_err(|_| ());
            assert_eq!(got.map(|s| s.micros), want.map(|s| s.micros), "{text}");
        }
    }

    /// Every shape the loghub samples use, read in a UTC source.
    #[test]
    fn real_log_shapes() {
        let p = TimeParser::new(Tz::UTC).with_year(Some(2017));
        assert_eq!(at(&p, "081109 203615"), "2008-11-09T20:36:15Z");
        assert_eq!(at(&p, "2005-06-03-15.42.50.675872"), "2005-06-03T15:42:50.675872Z");
        assert_eq!(at(&p, "[Sun Dec 04 04:47:44 2005]"), "2005-12-04T04:47:44Z");
        assert_eq!(at(&p, "2015-07-29 17:41:44,747"), "2015-07-29T17:41:44.747Z");
        assert_eq!(at(&p, "20171224-1:2:35:789"), "2017-12-24T01:02:35.789Z");
        assert_eq!(at(&p, "20171223-22:15:35:11"), "2017-12-23T22:15:35.011Z");
        assert_eq!(at(&p, "17/06/09 20:10:40"), "2017-06-09T20:10:40Z");
        assert_eq!(at(&p, "Dec 10 06:55:46"), "2017-12-10T06:55:46Z");
        assert!(p.parse_str("Dec 10 06:55:46").unwrap().flags.contains(TsFlags::YEAR_INFERRED));
    }

    #[test]
    fn explicit_formats() {
        let p = TimeParser::new(Tz::UTC).with_format(Some("%d.%m.%Y %H:%M:%S%.f".into()));
        assert_eq!(at(&p, "19.11.2026 14:02:00,5"), "2026-11-19T14:02:00.500Z");
        assert_eq!(p.parse_str("2026-11-19T14:02:00Z"), Err(TimeError::FormatMismatch("%d.%m.%Y %H:%M:%S%.f".into())));
        let z = TimeParser::new(Tz::UTC).with_format(Some("%Y-%m-%d %H:%M:%S %Z".into()));
        assert_eq!(at(&z, "2026-11-19 09:02:00 EST"), "2026-11-19T14:02:00Z");
        let y = TimeParser::new(Tz::UTC).with_format(Some("%b %e %H:%M:%S".into())).with_year(Some(2024));
        assert_eq!(at(&y, "Feb  9 01:00:00"), "2024-02-09T01:00:00Z");
    }

    #[test]
    fn zone_abbreviations() {
        let ny = TimeParser::new(chrono_tz::America::New_York);
        // The abbreviation wins over the source zone.
        assert_eq!(at(&ny, "2026-11-19 15:02:00 CET"), "2026-11-19T14:02:00Z");
        assert_eq!(at(&ny, "Thu Nov 19 06:02:00 PST 2026"), "2026-11-19T14:02:00Z");
        assert_eq!(at(&ny, "2026-07-19 10:02:00 EDT"), "2026-07-19T14:02:00Z");
        assert_eq!(at(&ny, "2026-07-19 14:02:00 UTC"), "2026-07-19T14:02:00Z");
    }

    #[test]
    fn year_less_times_roll_over_into_the_next_year() {
        let p = TimeParser::new(Tz::UTC).with_year(Some(2024));
        assert_eq!(at(&p, "Dec 31 23:59:58"), "2024-12-31T23:59:58Z");
        assert_eq!(at(&p, "Jan  1 00:00:03"), "2025-01-01T00:00:03Z");
        assert_eq!(at(&p, "Jan  1 00:00:04"), "2025-01-01T00:00:04Z");

        // No option: the object's date; written on 2027-01-02 about 30 December → 2026.
        let written = Utc.with_ymd_and_hms(2027, 1, 2, 0, 0, 0).unwrap();
        let q = TimeParser::new(Tz::UTC).with_reference(written);
        assert_eq!(at(&q, "Dec 30 10:00:00"), "2026-12-30T10:00:00Z");
        assert_eq!(at(&q, "Jan  1 10:00:00"), "2027-01-01T10:00:00Z");
        let r = TimeParser::new(Tz::UTC).with_reference(written);
        assert_eq!(at(&r, "Jan  1 10:00:00"), "2027-01-01T10:00:00Z");
    }

    #[test]
    fn naive_times_take_the_source_zone_across_dst() {
        let ny = TimeParser::new(chrono_tz::America::New_York);
        // EDT (UTC-4) before 2026-11-01 02:00 local, EST (UTC-5) after.
        assert_eq!(at(&ny, "2026-10-31 12:00:00"), "2026-10-31T16:00:00Z");
        assert_eq!(at(&ny, "2026-11-02T12:00:00"), "2026-11-02T17:00:00Z");
        // 02:30 never happens on 2026-03-08: the pre-jump offset (EST) is used, and flagged.
        let gap = ny.parse_str("2026-03-08 02:30:00").unwrap();
        assert_eq!((utc(gap), gap.flags), ("2026-03-08T07:30:00Z".into(), TsFlags::DST_GAP));
        // An explicit offset wins over the source zone.
        assert_eq!(at(&ny, "2026-11-02T12:00:00Z"), "2026-11-02T12:00:00Z");
    }

    #[test]
    fn the_repeated_hour_is_flagged_and_follows_the_log() {
        let ny = TimeParser::new(chrono_tz::America::New_York);
        // A log running through the night of 2026-11-01: 01:00–01:59 happens twice.
        let seq = ["2026-11-01 00:59:00", "2026-11-01 01:30:00", "2026-11-01 01:59:00", "2026-11-01 01:05:00"];
        let got: Vec<(String, bool)> = seq
            .iter()
            .map(|s| {
                let st = ny.parse_str(s).unwrap();
                (utc(st), st.flags.contains(TsFlags::DST_AMBIGUOUS))
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-11-01T04:59:00Z".into(), false),
                ("2026-11-01T05:30:00Z".into(), true), // first pass: EDT
                ("2026-11-01T05:59:00Z".into(), true),
                ("2026-11-01T06:05:00Z".into(), true), // second pass: EST, not 54 minutes back
            ]
        );
        // Alone, the earlier instant is chosen.
        let fresh = TimeParser::new(chrono_tz::America::New_York);
        assert_eq!(at(&fresh, "2026-11-01 01:30:00"), "2026-11-01T05:30:00Z");
    }

    #[test]
    fn flags_read_as_text() {
        let mut f = TsFlags::YEAR_INFERRED;
        f.insert(TsFlags::DST_AMBIGUOUS);
        assert_eq!(f.to_text().as_deref(), Some("dst_ambiguous,year_inferred"));
        assert_eq!(TsFlags::NONE.to_text(), None);
    }

    #[test]
    fn garbage_and_implausible_times_are_refused() {
        let p = TimeParser::new(Tz::UTC);
        assert_eq!(p.parse_str("yesterday"), Err(TimeError::Unparseable));
        assert_eq!(p.parse_str(""), Err(TimeError::Unparseable));
        assert_eq!(p.parse_str("1.2.3"), Err(TimeError::Unparseable));
        assert!(matches!(p.parse_i64(0), Err(TimeError::Implausible(t)) if t.starts_with("1970")));
        assert!(matches!(p.parse_str("1970-01-01T00:00:00Z"), Err(TimeError::Implausible(_))));
        assert!(matches!(p.parse_str("2100-01-01T00:00:00Z"), Err(TimeError::Implausible(_))));
        assert_eq!(p.parse_f64(f64::NAN), Err(TimeError::Unparseable));
    }
}
