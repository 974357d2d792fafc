//! logfmt: `key=value key="quoted \"value\"" flag` (as written by Heroku, Go's logfmt
//! and slog's text handler). A bare key is `true`; `key=` is an empty (missing) value.

use super::pattern::Fields;

/// The fields of one line, or why it is not logfmt.
pub fn parse(line: &str) -> Result<Fields, String> {
    let mut fields = Fields::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            if b[i] == b'"' {
                return Err(format!("unexpected quote in a key at byte {i}"));
            }
            i += 1;
        }
        let key = &line[start..i];
        if i >= b.len() || b[i] != b'=' {
            fields.push((key.to_string(), "true".into()));
            continue;
        }
        i += 1; // '='
        if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut value = String::new();
            let mut closed = false;
            let mut seg = i;
            while i < b.len() {
                match b[i] {
                    b'\\' if i + 1 < b.len() => {
                        value.push_str(&line[seg..i]);
                        // The escaped character is a whole char, not a byte: `\é` must not
                        // split é's UTF-8 sequence (slicing mid-character panics).
                        let escaped = line[i + 1..].chars().next().unwrap_or('\\');
                        value.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            c => c,
                        });
                        i += 1 + escaped.len_utf8();
                        seg = i;
                    }
                    b'"' => {
                        value.push_str(&line[seg..i]);
                        i += 1;
                        closed = true;
                        break;
                    }
                    _ => i += 1,
                }
            }
            if !closed {
                return Err(format!("unterminated quoted value for key `{key}`"));
            }
            fields.push((key.to_string(), value));
        } else {
            let vstart = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = &line[vstart..i];
            if !value.is_empty() {
                fields.push((key.to_string(), value.to_string()));
            }
        }
    }
    if fields.is_empty() {
        return Err("no key=value pairs".into());
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_quotes_escapes_and_bare_keys() {
        let f = parse(r#"ts=2026-11-19T14:02:00Z level=warn msg="pool \"main\" low" retry n= svc=payments"#).unwrap();
        assert_eq!(
            f,
            vec![
                ("ts".to_string(), "2026-11-19T14:02:00Z".to_string()),
                ("level".into(), "warn".into()),
                ("msg".into(), "pool \"main\" low".into()),
                ("retry".into(), "true".into()),
                ("svc".into(), "payments".into()),
            ]
        );
    }

    #[test]
    fn broken_lines_say_why() {
        assert!(parse(r#"msg="never closed"#).unwrap_err().contains("unterminated"));
        assert!(parse("   ").unwrap_err().contains("no key=value"));
        // Unicode values survive byte-wise scanning.
        assert_eq!(parse("msg=Größe").unwrap()[0].1, "Größe");
    }

    #[test]
    fn escaped_multibyte_characters_stay_whole() {
        assert_eq!(parse(r#"msg="caf\é""#).unwrap()[0].1, "café");
        assert_eq!(parse(r#"msg="\😀 ok""#).unwrap()[0].1, "😀 ok");
        assert_eq!(parse(r#"a="x\""#).unwrap_err(), "unterminated quoted value for key `a`");
        // Every prefix of a line with escapes and multibyte text parses or says why.
        let line = r#"k="a\é\"b\ñ" m=ü n="\\""#;
        for end in (0..=line.len()).filter(|&e| line.is_char_boundary(e)) {
            let _ = parse(&line[..end]);
        }
    }
}
