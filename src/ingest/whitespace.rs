//! White space exactly as `str::trim` and `str::split_whitespace` see it (Unicode's
//! `White_Space`), decided a byte at a time while the text is ASCII. The standard
//! versions decode a character per step: in a Prometheus text ingest, trimming, splitting
//! and finding the end of the metric name that way were a seventh of the instructions.
//! Every Unicode space above U+007F is written with a first byte above 0x7F, so only
//! there does a character need decoding.

use super::words8;

/// The ASCII bytes `char::is_whitespace` accepts: tab, line feed, vertical tab, form
/// feed, carriage return and space. (`u8::is_ascii_whitespace` leaves out the vertical
/// tab, which `str::trim` removes.)
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// `s.trim_start()`.
pub fn trim_start(s: &str) -> &str {
    let i = s.bytes().position(|b| !ascii_space(b)).unwrap_or(s.len());
    // `i` is an ASCII byte or a character's first byte: every byte before it is ASCII.
    let rest = &s[i..];
    if rest.as_bytes().first().is_some_and(|&b| b > 0x7f) { rest.trim_start() } else { rest }
}

/// `s.trim_end()`.
pub fn trim_end(s: &str) -> &str {
    // The byte after the last one that is not ASCII space: every byte after it is ASCII,
    // so it ends a character.
    let end = s.bytes().rposition(|b| !ascii_space(b)).map_or(0, |p| p + 1);
    let rest = &s[..end];
    if rest.as_bytes().last().is_some_and(|&b| b > 0x7f) { rest.trim_end() } else { rest }
}

/// `s.trim()`.
pub fn trim(s: &str) -> &str {
    trim_end(trim_start(s))
}

/// `s` (trimmed) split at its last white space: what is before it, trimmed, and the
/// last word; `None` for a single word. Byte by byte while the bytes are ASCII (a
/// Prometheus value and time always are): decoding characters backwards for
/// `rfind(char::is_whitespace)` was 5 % of a Prometheus text ingest.
pub fn last_word(s: &str) -> Option<(&str, &str)> {
    let (at, space) = match s.bytes().rposition(|b| ascii_space(b) || b > 0x7f) {
        Some(at) if s.as_bytes()[at] <= 0x7f => (at, 1),
        Some(_) => {
            let at = s.rfind(char::is_whitespace)?;
            (at, s[at..].chars().next()?.len_utf8())
        }
        None => return None,
    };
    Some((trim_end(&s[..at]), &s[at + space..]))
}

/// The index of the first white space or `stop` (an ASCII byte) in `s`.
pub fn find_space_or(s: &str, stop: u8) -> Option<usize> {
    debug_assert!(stop.is_ascii());
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(at) = candidate(&b[i..], stop) {
        i += at;
        if b[i] <= 0x7f {
            if b[i] == stop || ascii_space(b[i]) {
                return Some(i);
            }
            i += 1; // another control byte
        } else {
            // `i` starts a character: every byte before it was ASCII or a whole character.
            let c = s[i..].chars().next().expect("a character starts here");
            if c.is_whitespace() {
                return Some(i);
            }
            i += c.len_utf8();
        }
    }
    None
}

/// The first byte that may answer [`find_space_or`]: `stop`, a byte below 0x21 (the
/// ASCII spaces and other control bytes) or above 0x7F (names and values are tens of
/// bytes, and a byte-at-a-time loop was 4 % of a Prometheus text ingest).
fn candidate(b: &[u8], stop: u8) -> Option<usize> {
    words8::first(
        b,
        |x| words8::equal(x, stop) | words8::below(x, 0x21) | words8::high(x),
        |c| c == stop || !(0x21..=0x7f).contains(&c),
    )
}

/// `s.split_whitespace()`.
pub fn words(s: &str) -> Words<'_> {
    Words { rest: s }
}

pub struct Words<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = trim_start(self.rest);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        // `trim_start` stopped at a character that is not white space, so the word is
        // never empty.
        let end = find_space_or(s, b' ').unwrap_or(s.len());
        self.rest = &s[end..];
        Some(&s[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random strings over an alphabet of ASCII and Unicode spaces, the vertical tab,
    /// letters of one to four bytes and the `{` stop.
    fn strings() -> impl Iterator<Item = String> {
        const ALPHABET: &[char] = &[
            'a',
            'Z',
            '0',
            '{',
            '"',
            ' ',
            ' ',
            '\t',
            '\n',
            '\r',
            '\x0b',
            '\x0c',
            '\u{85}',
            '\u{a0}',
            '\u{1680}',
            '\u{2003}',
            '\u{2028}',
            '\u{3000}',
            '\u{200b}',
            'é',
            '€',
            '\u{1f600}',
            '\u{feff}',
        ];
        let mut below = crate::test_rng::below_from(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: usize| below(n as u64) as usize;
        (0..30_000).map(move |_| (0..next(24)).map(|_| ALPHABET[next(ALPHABET.len())]).collect())
    }

    #[test]
    fn trims_and_words_are_the_standard_ones() {
        for s in strings() {
            assert_eq!(trim_start(&s), s.trim_start(), "{s:?}");
            assert_eq!(trim_end(&s), s.trim_end(), "{s:?}");
            assert_eq!(trim(&s), s.trim(), "{s:?}");
            assert_eq!(words(&s).collect::<Vec<_>>(), s.split_whitespace().collect::<Vec<_>>(), "{s:?}");
            assert_eq!(find_space_or(&s, b'{'), s.find(|c: char| c == '{' || c.is_whitespace()), "{s:?}");
            let t = s.trim();
            let last = t.rfind(char::is_whitespace).map(|at| {
                let space = t[at..].chars().next().map_or(1, char::len_utf8);
                (t[..at].trim_end(), &t[at + space..])
            });
            assert_eq!(last_word(t), last, "{s:?}");
        }
    }
}
