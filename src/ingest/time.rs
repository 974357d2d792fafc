//! Timestamp normalization: every accepted shape → microseconds since the epoch, UTC.
//!
//! Rules (documented in `docs/formats.md`, tested below):
//! - A number (or a string of digits) is epoch time; its unit is inferred from magnitude:
//!   < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds. A
//!   fraction is allowed for seconds (`1795096920.25`).
//! - RFC 3339 / ISO 8601 with an offset or `Z` is taken as written.
//! - A naive date-time takes the source's IANA zone. In the repeated hour of a DST
//!   fall-back the *earlier* instant is chosen; in the skipped hour of a spring-forward
//!   the offset in force before the jump is used (as if the clock had not moved yet).
//! - Results before 2000-01-01 or from 2100-01-01 on are refused as implausible: such a
//!   value almost always means a wrong unit or a missing field, and silently accepting it
//!   would put events decades away from the incident.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a timestamp could not be normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    Unparseable,
    Implausible(String),
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Unparseable => f.write_str("not a recognised timestamp"),
            TimeError::Implausible(t) => write!(f, "implausible time {t} (outside 2000..2100)"),
        }
    }
}

const MIN_MICROS: i64 = 946_684_800_000_000; // 2000-01-01T00:00:00Z
const MAX_MICROS: i64 = 4_102_444_800_000_000; // 2100-01-01T00:00:00Z

/// Naive forms accepted, most common first. `%.f` accepts an empty or any-length fraction.
const NAIVE_FORMATS: &[&str] =
    &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S%.f"];

/// Forms with an explicit numeric offset that RFC 3339 parsing does not cover.
const OFFSET_FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f %#z"];

/// Normalizes timestamps of one source, whose naive times are in `zone`.
#[derive(Debug, Clone, Copy)]
pub struct TimeParser {
    zone: Tz,
}

impl TimeParser {
    pub fn new(zone: Tz) -> Self {
        TimeParser { zone }
    }

    pub fn parse_str(&self, s: &str) -> Result<i64, TimeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TimeError::Unparseable);
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            let v: f64 = s.parse().map_err(|_| TimeError::Unparseable)?;
            // Integer strings are parsed exactly; f64 would lose nanosecond precision.
            return match s.parse::<i64>() {
                Ok(i) => epoch_int(i),
                Err(_) => epoch_float(v),
            };
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return plausible(t.timestamp_micros());
        }
        if let Some(t) = OFFSET_FORMATS.iter().find_map(|f| DateTime::<FixedOffset>::parse_from_str(s, f).ok()) {
            return plausible(t.timestamp_micros());
        }
        // A trailing `Z` on a form RFC 3339 rejects (e.g. no seconds): UTC.
        if let Some(naive) = s.strip_suffix('Z').and_then(parse_naive) {
            return plausible(naive.and_utc().timestamp_micros());
        }
        match parse_naive(s) {
            Some(naive) => plausible(self.localize(naive)),
            None => Err(TimeError::Unparseable),
        }
    }

    pub fn parse_i64(&self, v: i64) -> Result<i64, TimeError> {
        epoch_int(v)
    }

    pub fn parse_f64(&self, v: f64) -> Result<i64, TimeError> {
        epoch_float(v)
    }

    /// A naive wall-clock time in the source zone → UTC micros (DST rules in the module doc).
    fn localize(&self, naive: NaiveDateTime) -> i64 {
        match self.zone.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.timestamp_micros(),
            LocalResult::Ambiguous(earlier, _later) => earlier.timestamp_micros(),
            LocalResult::None => {
                // Skipped hour: use the offset in force before the transition.
                let before = naive - chrono::Duration::hours(3);
                let offset = self.zone.offset_from_local_datetime(&before).earliest().map(|o| {
                    use chrono::Offset;
                    o.fix().local_minus_utc()
                });
                let secs = offset.unwrap_or(0) as i64;
                (naive - chrono::Duration::seconds(secs)).and_utc().timestamp_micros()
            }
        }
    }
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    NAIVE_FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn epoch_int(v: i64) -> Result<i64, TimeError> {
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
    micros.map_or(Err(TimeError::Unparseable), plausible)
}

fn epoch_float(v: f64) -> Result<i64, TimeError> {
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
    plausible(micros.round() as i64)
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

    fn utc(micros: i64) -> String {
        format_micros(micros)
    }

    #[test]
    fn offsets_and_zulu() {
        let p = TimeParser::new(Tz::UTC);
        assert_eq!(utc(p.parse_str("2026-11-19T14:02:00Z").unwrap()), "2026-11-19T14:02:00Z");
        assert_eq!(utc(p.parse_str("2026-11-19T09:02:00-05:00").unwrap()), "2026-11-19T14:02:00Z");
        assert_eq!(utc(p.parse_str("2026-11-19 15:02:00.250+01:00").unwrap()), "2026-11-19T14:02:00.250Z");
        assert_eq!(utc(p.parse_str("2026-11-19T15:02:00+0100").unwrap()), "2026-11-19T14:02:00Z");
        assert_eq!(utc(p.parse_str("2026-11-19T14:02Z").unwrap()), "2026-11-19T14:02:00Z");
    }

    #[test]
    fn epochs_by_magnitude() {
        let p = TimeParser::new(Tz::UTC);
        let want = "2026-11-19T14:02:00Z";
        assert_eq!(utc(p.parse_i64(1_795_096_920).unwrap()), want);
        assert_eq!(utc(p.parse_i64(1_795_096_920_000).unwrap()), want);
        assert_eq!(utc(p.parse_i64(1_795_096_920_000_000).unwrap()), want);
        assert_eq!(utc(p.parse_i64(1_795_096_920_000_000_000).unwrap()), want);
        assert_eq!(utc(p.parse_str("1795096920").unwrap()), want);
        assert_eq!(utc(p.parse_str("1795096920123").unwrap()), "2026-11-19T14:02:00.123Z");
        assert_eq!(utc(p.parse_f64(1_795_096_920.25).unwrap()), "2026-11-19T14:02:00.250Z");
        assert_eq!(utc(p.parse_str("1795096920.5").unwrap()), "2026-11-19T14:02:00.500Z");
    }

    #[test]
    fn naive_times_take_the_source_zone_across_dst() {
        let ny = TimeParser::new(chrono_tz::America::New_York);
        // EDT (UTC-4) before 2026-11-01 02:00 local, EST (UTC-5) after.
        assert_eq!(utc(ny.parse_str("2026-10-31 12:00:00").unwrap()), "2026-10-31T16:00:00Z");
        assert_eq!(utc(ny.parse_str("2026-11-02T12:00:00").unwrap()), "2026-11-02T17:00:00Z");
        // 01:30 happens twice on 2026-11-01: the earlier (EDT) instant is chosen.
        assert_eq!(utc(ny.parse_str("2026-11-01 01:30:00").unwrap()), "2026-11-01T05:30:00Z");
        // 02:30 never happens on 2026-03-08: the pre-jump offset (EST) is used.
        assert_eq!(utc(ny.parse_str("2026-03-08 02:30:00").unwrap()), "2026-03-08T07:30:00Z");
        // An explicit offset wins over the source zone.
        assert_eq!(utc(ny.parse_str("2026-11-02T12:00:00Z").unwrap()), "2026-11-02T12:00:00Z");
    }

    #[test]
    fn garbage_and_implausible_times_are_refused() {
        let p = TimeParser::new(Tz::UTC);
        assert_eq!(p.parse_str("yesterday"), Err(TimeError::Unparseable));
        assert_eq!(p.parse_str(""), Err(TimeError::Unparseable));
        assert!(matches!(p.parse_i64(0), Err(TimeError::Implausible(t)) if t.starts_with("1970")));
        assert!(matches!(p.parse_str("2100-01-01T00:00:00Z"), Err(TimeError::Implausible(_))));
        assert_eq!(p.parse_f64(f64::NAN), Err(TimeError::Unparseable));
    }
}
