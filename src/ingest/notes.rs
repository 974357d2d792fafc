//! A facilitator's notes (`format = "notes"`, kind `events`): Markdown or plain lines that
//! start with a time, as people write them during an incident.
//!
//! ```text
//! ## 2026-11-19
//! - 14:05 EST paged DB on-call
//! - 09:41 reverted the pool change
//! 2026-11-20 00:10 UTC declared resolved
//! 14:05,paged DB on-call            (CSV: time, text)
//! ```
//!
//! The date comes from the line (`2026-11-19 14:05`), else from the last heading that holds
//! one (`## 2026-11-19`, `# Incident 4211 — 2026-11-19`), else from the source's `date`. The
//! zone is the one the line names (`UTC`, `Z`, `EST`/`EDT`, `CET`/`CEST`, `PST`/`PDT`, …, or
//! `+01:00`), else the source's `timezone` (DST judged and flagged as for every naive time).
//! A time earlier than the one before it by more than 12 hours is the next day. A line
//! without a time continues the note before it; headings and prose before the first note
//! are not records. The kind is read from the words (`paged` → page, `acked` → ack,
//! `declared` → declared, `reverted` → action, …), else `note`.

use std::io::BufRead;

use chrono::{NaiveDate, NaiveTime};
use regex::Regex;
use std::sync::LazyLock;

use super::lines::Counts;
use super::pattern::Fields;
use super::reader;
use super::record::{Assembler, Emit, assemble_fields};
use super::reject::{Reason, Reject};
use crate::error::{Error, Result};

/// `[bullet] [date] HH:MM[:SS] [am|pm] [zone] [separator] text`.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\*\*)?\[?
          (?:(?P<date>\d{4}-\d{2}-\d{2})[T\s]+)?
          (?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<ampm>[aApP][mM])?
          (?:\s*(?P<zone>Z|UTC|GMT|[ECMP][SD]T|CES?T|BST|IST|JST|AES?T|AEDT|[+-]\d{2}:?\d{2}))?\b\]?
          (?:\*\*)?\s*[-—–:|,]?\s*(?P<text>.*)$",
    )
    .expect("the notes line pattern compiles")
});

/// A chat transcript's speaker at the start of a line's text: `<dana>`, `dana:`, `Dana Whitfield:`.
static SPEAKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:<(?P<nick>[^>]{1,64})>|(?P<name>[\w.@'-]+(?: [\w.@'-]+){0,2}):)\s+(?P<said>.*)$")
        .expect("the speaker pattern compiles")
});

/// What a timed line is: a note (its kind read from the words) or a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Notes,
    Chat,
}

static DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4}-\d{2}-\d{2})\b").expect("the date pattern compiles"));

/// A zone abbreviation's UTC offset, as `+HH:MM`.
fn offset(zone: &str) -> Option<String> {
    let fixed = match zone {
        "Z" | "UTC" | "GMT" => "+00:00",
        "EST" => "-05:00",
        "EDT" => "-04:00",
        "CST" => "-06:00",
        "CDT" => "-05:00",
        "MST" => "-07:00",
        "MDT" => "-06:00",
        "PST" => "-08:00",
        "PDT" => "-07:00",
        "CET" => "+01:00",
        "CEST" => "+02:00",
        "BST" => "+01:00",
        "IST" => "+05:30",
        "JST" => "+09:00",
        "AEST" => "+10:00",
        "AEDT" => "+11:00",
        numeric => {
            let digits: String = numeric.chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() != 4 {
                return None;
            }
            return Some(format!("{}{}:{}", &numeric[..1], &digits[..2], &digits[2..]));
        }
    };
    Some(fixed.to_string())
}

/// What kind of event a note's words describe.
fn kind_of(text: &str) -> &'static str {
    let t = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["acked", "acknowledged", "ack'd", " ack "]) || t.starts_with("ack ") {
        "ack"
    } else if has(&["paged", "page sent", "called the on-call", "woke"]) {
        "page"
    } else if has(&["escalat"]) {
        "escalation"
    } else if has(&["declared", "declaring", "incident opened"]) {
        "declared"
    } else if has(&["status page", "status update", "posted update", "customers notified", "statuspage"]) {
        "status_update"
    } else if has(&["alert fired", "alert firing", "alerted"]) {
        "alert_firing"
    } else if has(&[
        "revert",
        "rolled back",
        "rollback",
        "roll back",
        "restart",
        "scaled",
        "disabled",
        "enabled",
        "failed over",
        "failover",
        "killed",
        "paused",
        "drained",
        "flipped",
    ]) {
        "action"
    } else {
        "note"
    }
}

/// Whether a line reads as a note (for `format = "auto"`): it starts with a time.
pub fn is_note(line: &str) -> bool {
    LINE.is_match(line.trim())
}

/// Reads a notes object; `date` is the source's, for lines and headings that give none.
pub fn read(
    input: impl BufRead,
    mode: Mode,
    date: Option<NaiveDate>,
    asm: &Assembler,
    emit: &mut Emit<'_>,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let mut day = date;
    let mut last: Option<(NaiveDate, NaiveTime)> = None;
    let mut pending: Option<(u64, Vec<u8>, Fields)> = None;
    let flush = |pending: &mut Option<(u64, Vec<u8>, Fields)>, emit: &mut Emit<'_>| -> Result<()> {
        match pending.take() {
            Some((n, raw, fields)) => emit(n, &raw, assemble_fields(asm, fields)),
            None => Ok(()),
        }
    };
    let mut lines = reader::Lines::new(input, reader::MAX_LINE);
    while let Some((n, line)) = lines.next_line().map_err(|e| Error::io("", e))? {
        let bytes = match line {
            reader::Line::Text(t) => t,
            reader::Line::TooLong { head, len } => {
                flush(&mut pending, emit)?;
                let detail = format!("line of {len} bytes exceeds the {} byte limit", reader::MAX_LINE);
                emit(n, head, Err(Reject::new(Reason::LineTooLong, detail)))?;
                continue;
            }
        };
        let text = String::from_utf8_lossy(bytes);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            counts.blank += 1;
            continue;
        }
        if trimmed.starts_with('#') {
            // A heading: the notes' date from here on, when it names one.
            if let Some(d) = DATE.captures(trimmed).and_then(|c| NaiveDate::parse_from_str(&c[1], "%Y-%m-%d").ok()) {
                day = Some(d);
                last = None;
            }
            flush(&mut pending, emit)?;
            counts.blank += 1;
            continue;
        }
        let Some(caps) = LINE.captures(trimmed) else {
            // No time: more of the note before, or prose before the first note.
            match pending.as_mut() {
                Some((_, _, fields)) => {
                    if let Some((_, t)) = fields.iter_mut().find(|(k, _)| k == "text") {
                        t.push('\n');
                        t.push_str(trimmed);
                    }
                    counts.merged += 1;
                }
                None => counts.blank += 1,
            }
            continue;
        };
        flush(&mut pending, emit)?;
        let line_date = caps.name("date").and_then(|d| NaiveDate::parse_from_str(d.as_str(), "%Y-%m-%d").ok());
        let clock = caps.name("time").map_or("", |m| m.as_str());
        let clock = if clock.matches(':').count() == 1 { format!("{clock}:00") } else { clock.to_string() };
        let mut time = match NaiveTime::parse_from_str(&clock, "%H:%M:%S") {
            Ok(t) => t,
            Err(_) => {
                emit(n, bytes, Err(Reject::new(Reason::BadTimestamp, format!("`{clock}` is not a time of day"))))?;
                continue;
            }
        };
        if let Some(ampm) = caps.name("ampm").map(|m| m.as_str().to_ascii_lowercase()) {
            use chrono::Timelike;
            let h = time.hour() % 12 + if ampm == "pm" { 12 } else { 0 };
            time = time.with_hour(h).unwrap_or(time);
        }
        let mut date = match line_date.or(day) {
            Some(d) => d,
            None => {
                let detail =
                    "no date: put one in a heading (`## 2026-11-19`), on the line, or set `date` on the source";
                emit(n, bytes, Err(Reject::new(Reason::BadTimestamp, detail)))?;
                continue;
            }
        };
        // Past midnight without a new heading: the next day.
        if line_date.is_none()
            && let Some((d, t)) = last
            && d == date
            && time < t
            && (t - time) > chrono::Duration::hours(12)
        {
            date = date.succ_opt().unwrap_or(date);
            day = Some(date);
        }
        last = Some((date, time));
        let zone = caps.name("zone").map(|z| z.as_str().to_string());
        let stamp = match zone.as_deref().and_then(offset) {
            Some(off) => format!("{date}T{}{off}", time.format("%H:%M:%S")),
            None => format!("{date}T{}", time.format("%H:%M:%S")),
        };
        let body = caps.name("text").map_or("", |m| m.as_str()).trim().trim_end_matches("**").trim().to_string();
        let (kind, actor, body) = match mode {
            Mode::Notes => (kind_of(&body), None, body),
            Mode::Chat => match SPEAKER.captures(&body) {
                Some(c) => {
                    let who = c.name("nick").or_else(|| c.name("name")).map(|m| m.as_str().to_string());
                    ("chat", who, c["said"].to_string())
                }
                None => ("chat", None, body),
            },
        };
        let mut fields: Fields = vec![("ts".into(), stamp), ("kind".into(), kind.into())];
        if let Some(a) = actor {
            fields.push(("actor".into(), a));
        }
        if let Some(z) = zone {
            fields.push(("zone_written".into(), z));
        }
        fields.push(("text".into(), body));
        pending = Some((n, bytes.to_vec(), fields));
    }
    flush(&mut pending, emit)?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_lines_and_their_parts() {
        let c = LINE.captures("- 14:05 EST paged DB on-call").unwrap();
        assert_eq!((&c["time"], &c["zone"], &c["text"]), ("14:05", "EST", "paged DB on-call"));
        let c = LINE.captures("**09:41** — reverted the pool change").unwrap();
        assert_eq!((&c["time"], c.name("zone").is_none(), &c["text"]), ("09:41", true, "reverted the pool change"));
        let c = LINE.captures("2026-11-20 00:10 UTC declared resolved").unwrap();
        assert_eq!((&c["date"], &c["zone"], &c["text"]), ("2026-11-20", "UTC", "declared resolved"));
        let c = LINE.captures("14:05,paged DB on-call").unwrap();
        assert_eq!(&c["text"], "paged DB on-call");
        let c = LINE.captures("2:15 pm +01:00 failed over to eu-west").unwrap();
        assert_eq!((&c["ampm"], &c["zone"]), ("pm", "+01:00"));
        assert!(LINE.captures("The database was slow.").is_none());
        assert_eq!(offset("+0530").as_deref(), Some("+05:30"));
        assert_eq!(offset("EDT").as_deref(), Some("-04:00"));
    }

    #[test]
    fn chat_speakers() {
        let c = LINE.captures("[14:05] <dana> reverting CHG-1024").unwrap();
        assert_eq!(&c["text"], "<dana> reverting CHG-1024");
        let s = SPEAKER.captures("<dana> reverting CHG-1024").unwrap();
        assert_eq!((&s["nick"], &s["said"]), ("dana", "reverting CHG-1024"));
        let s = SPEAKER.captures("Omar Haddad: on it").unwrap();
        assert_eq!((&s["name"], &s["said"]), ("Omar Haddad", "on it"));
    }

    #[test]
    fn kinds_from_the_words() {
        for (text, kind) in [
            ("paged DB on-call", "page"),
            ("Dana acked", "ack"),
            ("declared SEV-2", "declared"),
            ("posted update to status page", "status_update"),
            ("reverted the pool change", "action"),
            ("escalated to the DB team", "escalation"),
            ("looking at dashboards", "note"),
        ] {
            assert_eq!(kind_of(text), kind, "{text}");
        }
    }
}
