//! How times and durations are shown to people: UTC always, the display zone beside it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// `2026-11-19 14:02:00Z`
pub fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// A zone as its IANA name (`Europe/Berlin`), for the JSON of a report or digest.
pub fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// `2026-11-19 09:02:00 EST` (the zone's abbreviation at that instant).
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// A source URL as shown to people: relative to `root` (a config folder's `file://` URL)
/// when it is under it, so output does not depend on where a checkout lives.
pub fn relative_source<'a>(object: &'a str, root: Option<&str>) -> &'a str {
    root.and_then(|r| object.strip_prefix(r)).map_or(object, |rel| rel.trim_start_matches('/'))
}

/// Text with terminal control removed: ANSI escape sequences (colours, cursor moves, OSC
/// titles and hyperlinks) and other control characters are dropped; newlines and tabs
/// stay for the caller to fold. Log text is data: it must not drive the reader's terminal.
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || is_invisible_format(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, PM, APC: up to BEL or ST (ESC \\).
                Some(']' | 'P' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            // C1 CSI.
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() || is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Text safe to print on a terminal, with nothing lost: control and invisible format
/// characters are shown as `\u{1b}` escapes (object names, messages that quote them).
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || is_invisible_format(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(
                |c| {
                    if c.is_control() || is_invisible_format(c) {
                        c.escape_unicode().to_string()
                    } else {
                        c.to_string()
                    }
                },
            )
            .collect(),
    )
}

/// HTML-escapes text (after stripping terminal control sequences): what every HTML
/// renderer writes for text, and what the redaction scrub looks for.
pub fn html_escape(s: &str) -> String {
    let s = clean(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON text with bidi controls, zero-width characters and the control characters JSON
/// lets through raw (DEL, C1) written as `\uXXXX` escapes: the same data for a program,
/// nothing invisible or active for a person reading the file. (Only strings can hold
/// them: JSON's own syntax is ASCII, and serde escapes the C0 controls itself.)
pub fn json_inert(text: String) -> String {
    let inert = |c: char| is_invisible_format(c) || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c);
    if !text.chars().any(inert) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if inert(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Bidi controls and zero-width characters: invisible, yet they reorder or split what a
/// reader sees (`evil\u{202E}gol.exe` shows as `evilexe.log`), so log text loses them
/// before it reaches a report or a terminal.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{180E}')
}

#[cfg(test)]
mod inert_tests {
    #[test]
    fn json_keeps_invisible_characters_as_escapes() {
        // DEL and C1 controls: serde_json writes them raw (found by fuzz::reports_render_…).
        let text = "a\u{202E}b\u{200B}c\u{7f}d\u{9b}e";
        let json = serde_json::to_string(&serde_json::json!({ "m": text })).unwrap();
        let inert = super::json_inert(json);
        assert_eq!(inert, r#"{"m":"a\u202eb\u200bc\u007fd\u009be"}"#);
        let back: serde_json::Value = serde_json::from_str(&inert).unwrap();
        assert_eq!(back["m"], text);
    }
}

/// `1h 25m`, `4m 10s`, `45s`.
pub fn duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m, sec) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = DateTime::parse_from_rfc3339("2026-11-19T14:02:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(utc(t), "2026-11-19 14:02:00Z");
        assert_eq!(local(t, chrono_tz::America::New_York), "2026-11-19 09:02:00 EST");
        assert_eq!(duration(chrono::Duration::seconds(5100)), "1h 25m");
        assert_eq!(duration(chrono::Duration::seconds(250)), "4m 10s");
        assert_eq!(duration(chrono::Duration::seconds(45)), "45s");
    }

    #[test]
    fn terminal_control_is_stripped() {
        assert_eq!(clean("plain"), "plain");
        assert_eq!(clean("\u{1b}[31;1mred\u{1b}[0m ok"), "red ok");
        assert_eq!(clean("\u{1b}]0;title\u{7}x\u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\"), "xlink");
        assert_eq!(clean("a\u{0}b\rc\u{9b}2Jd\n\te"), "abcd\n\te");
        assert_eq!(clean("cut \u{1b}["), "cut ");
    }
}
