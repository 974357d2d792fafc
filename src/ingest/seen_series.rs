//! Prometheus text lines of a series seen before in the same chunk.
//!
//! A file of scrapes (a `/federate` dump, a `promtool tsdb dump`, a collector's export)
//! repeats every series once per scrape: `name{labels} value timestamp`, with only the
//! value and the time changing. The first two times a series shows up in a chunk its
//! line is read whole; from then on its labels are assembled once
//! ([`Assembler::shared`]) and each later line only adds its value and time
//! ([`Assembler::assemble_with`]), as a `query_range` series' samples do. Parsing the
//! labels and assembling them again for every sample was half a worker's instructions.
//!
//! The row (or reject) is the one [`lines::parse_single`] gives for the line: a series
//! is only remembered when reading a line whole found its value and time exactly where
//! the split from the end found them, so the labels are the series text's alone.

use std::borrow::Cow;

use super::lines;
use super::prometheus::{self, SAMPLE_FIELDS};
use super::record::{Assembler, Row, Shared, Value};
use super::reject::Reject;
use super::whitespace;
use crate::config::Format;
use crate::config::pattern::LineFields;
use crate::error::Result;

/// The series of a chunk's lines, by their text (`name{labels}`).
#[derive(Default)]
pub struct SeenSeries<'b> {
    series: foldhash::HashMap<&'b str, Seen<'b>>,
}

enum Seen<'b> {
    /// Read whole once: a series seen once per chunk is not worth assembling apart.
    Once,
    Shared(Shared<'b>),
    /// Its labels cannot be assembled apart from a sample (a label fills the value or
    /// time column): always read whole.
    Whole,
}

impl<'b> SeenSeries<'b> {
    /// The outcome of one line of Prometheus text: what [`lines::parse_single`] gives.
    pub fn line(&mut self, bytes: &'b [u8], asm: &Assembler) -> Result<Option<std::result::Result<Row<'b>, Reject>>> {
        let whole = |asm| lines::parse_single(Format::PrometheusText, None, bytes, asm);
        let Ok(text) = std::str::from_utf8(bytes) else { return whole(asm) };
        let Some((series, value, ts)) = split(text) else { return whole(asm) };
        let seen = self.series.get(series);
        if let Some(Seen::Shared(shared)) = seen {
            let own = [("ts", ts), ("value", value)].map(|(k, v)| (Cow::Borrowed(k), Value::Str(Cow::Borrowed(v))));
            if let Some(outcome) = asm.assemble_with(shared, own) {
                return Ok(Some(outcome));
            }
            return whole(asm);
        }
        let again = match seen {
            None => false,
            Some(Seen::Once) => true,
            Some(_) => return whole(asm),
        };
        let parsed = prometheus::parse_exposition(text);
        let next = match &parsed {
            Ok(Some(fields)) if same_place(fields, value, ts) => match again {
                false => Some(Seen::Once),
                true => Some(labels_of(fields, asm).map_or(Seen::Whole, Seen::Shared)),
            },
            _ => None,
        };
        if let Some(next) = next {
            self.series.insert(series, next);
        }
        Ok(lines::exposition_outcome(parsed, asm))
    }
}

/// A trimmed line as (series, value, time) split at its last two runs of white space;
/// `None` for a comment or a line of fewer than three words.
fn split(text: &str) -> Option<(&str, &str, &str)> {
    let line = whitespace::trim(text);
    if line.starts_with('#') {
        return None;
    }
    let (rest, ts) = whitespace::last_word(line)?;
    let (series, value) = whitespace::last_word(rest)?;
    (!series.is_empty()).then_some((series, value, ts))
}

/// Whether the whole line's value and time are the very words the split found.
fn same_place(fields: &LineFields<'_, '_>, value: &str, ts: &str) -> bool {
    let same = |a: &str, b: &str| a.as_ptr() == b.as_ptr() && a.len() == b.len();
    matches!(fields.get(1..3), Some([(v, vv), (t, tv)])
        if v == "value" && t == "ts" && same(vv, value) && same(tv, ts))
}

/// What a line's name and labels (every field but its value and time) assemble to.
fn labels_of<'b>(fields: &LineFields<'b, 'b>, asm: &Assembler) -> Option<Shared<'b>> {
    let labels = fields.iter().enumerate().filter(|(i, _)| !(1..3).contains(i));
    asm.shared(labels.map(|(_, (k, v))| (k.clone(), Value::Str(v.clone()))), SAMPLE_FIELDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::kinds;
    use crate::ingest::record::SourceDefaults;
    use crate::ingest::time::TimeParser;
    use crate::tables::Kind;
    use crate::test_rng::below_from;

    fn assembler() -> Assembler {
        Assembler::new(kinds::spec(Kind::Metrics), TimeParser::new(chrono_tz::Tz::UTC), SourceDefaults::default())
    }

    /// Lines of every shape: repeated series with changing values and times, labels with
    /// spaces, braces, escapes and non-ASCII in their values, labels that name columns
    /// (`value`, `ts`, `timestamp`, `service`, `metric`), quoted names, `__name__`, comments,
    /// no time, bad values and times, too many words, Unicode spaces.
    fn random_line(below: &mut impl FnMut(u64) -> u64) -> String {
        const NAMES: [&str; 4] = ["http_requests_total", "up", "node_cpu_seconds_total", "a:b_c"];
        const LABELS: [&str; 12] = [
            "service=\"checkout\"",
            "code=\"503\"",
            "host=\"h 1\"",
            "path=\"/a}b {c\"",
            "q=\"x\\\"y\\\\z\\n\"",
            "city=\"Zürich\"",
            "value=\"7\"",
            "ts=\"9\"",
            "timestamp=\"1795046400\"",
            "metric=\"other\"",
            "__name__=\"from_label\"",
            "\"quoted.name\"=\"v\"",
        ];
        const VALUES: [&str; 6] = ["1", "0.25", "-3e-2", "NaN", "+Inf", "abc"];
        const TIMES: [&str; 5] = ["1795046400000", "1795046400123", "1795046401", "-5", "soon"];
        if below(40) == 0 {
            return ["# HELP up x", "# TYPE up gauge", "", "   "][below(4) as usize].to_string();
        }
        let mut line = String::new();
        if below(12) != 0 {
            line.push_str(NAMES[below(4) as usize]);
        }
        if below(5) != 0 {
            let mut labels = Vec::new();
            for _ in 0..below(4) {
                let kinds = if below(3) == 0 { 12 } else { 6 };
                labels.push(LABELS[below(kinds) as usize]);
            }
            line.push('{');
            line.push_str(&labels.join(if below(4) == 0 { ", " } else { "," }));
            line.push('}');
        }
        let sep = |below: &mut dyn FnMut(u64) -> u64| {
            if below(20) == 0 { ["\u{a0}", "\t", "  "][below(3) as usize] } else { " " }
        };
        line.push_str(sep(&mut *below));
        line.push_str(VALUES[if below(8) == 0 { below(6) as usize } else { 0 }]);
        if below(15) != 0 {
            line.push_str(sep(&mut *below));
            line.push_str(TIMES[if below(8) == 0 { below(5) as usize } else { 0 }]);
        }
        if below(30) == 0 {
            line.push_str(" 42");
        }
        line
    }

    /// Read through the seen series, every line gives the row (or reject, or nothing) it
    /// gives read whole, over chunks where series repeat as in a scrape dump.
    #[test]
    fn same_rows_as_lines_read_whole() {
        let (whole_asm, seen_asm) = (assembler(), assembler());
        let mut below = below_from(0x9e37_79b9_7f4a_7c15);
        let (mut hits, mut lines) = (0, 0);
        for _ in 0..40 {
            // A chunk: a few series, each repeated with new values and times.
            let series: Vec<String> = (0..below(12) + 1).map(|_| random_line(&mut below)).collect();
            let mut text = Vec::new();
            for i in 0..400 {
                let base = &series[below(series.len() as u64) as usize];
                let line = match below(4) {
                    0 => random_line(&mut below),
                    // The same series, a new value and time.
                    _ => match split(base) {
                        Some((s, _, _)) => format!("{s} {} {}", i % 7, 1_795_046_400_000u64 + i * 15_000),
                        None => base.clone(),
                    },
                };
                text.push(line);
            }
            let mut seen = SeenSeries::default();
            for line in &text {
                let bytes = line.as_bytes();
                let want = lines::parse_single(Format::PrometheusText, None, bytes, &whole_asm).unwrap();
                let known = split(line).is_some_and(|(s, _, _)| matches!(seen.series.get(s), Some(Seen::Shared(_))));
                let got = seen.line(bytes, &seen_asm).unwrap();
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{line}");
                hits += usize::from(known);
                lines += 1;
            }
        }
        assert!(hits > lines / 3, "{hits} of {lines} lines used a remembered series");
    }

    #[test]
    fn splits_at_the_last_two_words() {
        assert_eq!(split("up{a=\"x y\"} 1 2"), Some(("up{a=\"x y\"}", "1", "2")));
        assert_eq!(split("  up \t 1\u{a0}2  "), Some(("up", "1", "2")));
        // No time: read whole (and refused unless the source sets `scrape_time`).
        assert_eq!(split("up 1"), None);
        assert_eq!(split("# TYPE up gauge"), None);
        assert_eq!(split("1 2"), None);
        assert_eq!(split("up{a=\"ü\"}\u{2003}1\u{a0}2"), Some(("up{a=\"ü\"}", "1", "2")));
        assert_eq!(split("up\u{b}1 2"), Some(("up", "1", "2")));
    }
}
