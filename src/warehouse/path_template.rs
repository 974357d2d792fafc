//! Source URLs with `{name}` placeholders: `logs/{service}/{host}/*.log.gz` lists like
//! `logs/*/*/*.log.gz` and fills `service` and `host` of every record from the path of
//! the object it came from. Formats without a host field (nginx, apache, klog) are
//! collected one file per host; the path is the only place that says which.
//!
//! A placeholder is `{` + a field name + `}`; `{a,b}` (with a comma) stays the glob's
//! alternation.

use regex::Regex;

/// The placeholders of a source URL and how to read them back from an object key.
#[derive(Debug, Clone)]
pub struct PathTemplate {
    /// Placeholder names in order of appearance (a name may repeat).
    names: Vec<String>,
    /// The glob pattern, anchored, with one capture group per placeholder.
    matcher: Regex,
}

impl PathTemplate {
    /// Splits `pattern` (a glob over object keys) into the glob to list with
    /// (placeholders become `*`) and the template, if it has placeholders.
    pub fn split(pattern: &str) -> Result<(String, Option<PathTemplate>), String> {
        let mut glob = String::with_capacity(pattern.len());
        let mut regex = String::from("^");
        let mut names = Vec::new();
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if let Some(name) = placeholder(rest) {
                if names.iter().any(|n| n == name) {
                    return Err(format!("placeholder `{{{name}}}` appears twice"));
                }
                names.push(name.to_string());
                glob.push('*');
                regex.push_str("([^/]+)");
                rest = &rest[name.len() + 2..];
                continue;
            }
            let taken = match c {
                '*' if rest.starts_with("**/") => {
                    regex.push_str("(?:.*/)?");
                    3
                }
                '*' if rest.starts_with("**") => {
                    regex.push_str(".*");
                    2
                }
                '*' => {
                    regex.push_str("[^/]*");
                    1
                }
                '?' => {
                    regex.push_str("[^/]");
                    1
                }
                '[' => match rest[1..].find(']').map(|i| i + 2) {
                    Some(end) => {
                        let class = &rest[1..end - 1];
                        let (negated, body) = match class.strip_prefix(['!', '^']) {
                            Some(body) => (true, body),
                            None => (false, class),
                        };
                        regex.push('[');
                        if negated {
                            regex.push('^');
                        }
                        regex.push_str(&body.replace('\\', "\\\\").replace('[', "\\["));
                        regex.push(']');
                        end
                    }
                    None => return Err("unclosed `[` in the glob".into()),
                },
                '{' => match rest.find('}') {
                    Some(end) => {
                        let alternatives: Vec<String> =
                            rest[1..end].split(',').map(|a| a.replace('*', "\u{0}").to_string()).collect();
                        let alternatives: Vec<String> =
                            alternatives.iter().map(|a| regex::escape(a).replace('\u{0}', "[^/]*")).collect();
                        regex.push_str(&format!("(?:{})", alternatives.join("|")));
                        end + 1
                    }
                    None => return Err("unclosed `{` in the glob".into()),
                },
                _ => {
                    regex.push_str(&regex::escape(&c.to_string()));
                    c.len_utf8()
                }
            };
            glob.push_str(&rest[..taken]);
            rest = &rest[taken..];
        }
        if names.is_empty() {
            return Ok((glob, None));
        }
        regex.push('$');
        let matcher = Regex::new(&regex).map_err(|e| format!("cannot match the path template: {e}"))?;
        Ok((glob, Some(PathTemplate { names, matcher })))
    }

    /// The placeholder names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The placeholders' values in an object key the listing matched; `None` when the key
    /// does not fit the template (then the object is not the source's).
    pub fn values(&self, key: &str) -> Option<Vec<(String, String)>> {
        let caps = self.matcher.captures(key)?;
        Some(
            self.names
                .iter()
                .enumerate()
                .filter_map(|(i, name)| caps.get(i + 1).map(|m| (name.clone(), percent_decode(m.as_str()))))
                .collect(),
        )
    }
}

/// The placeholder name at the start of `s` (`{host}` → `host`), if there is one.
fn placeholder(s: &str) -> Option<&str> {
    let inner = &s.strip_prefix('{')?[..s.find('}')? - 1];
    let valid = inner.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && inner.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    valid.then_some(inner)
}

/// Object keys percent-encode what a path cannot spell; a value should read as written.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(t: &PathTemplate, key: &str) -> Vec<(String, String)> {
        t.values(key).unwrap_or_else(|| panic!("{key} does not fit"))
    }

    #[test]
    fn placeholders_become_stars_and_read_back_from_keys() {
        let (glob, t) = PathTemplate::split("logs/{service}/{host}/*.log.gz").unwrap();
        assert_eq!(glob, "logs/*/*/*.log.gz");
        let t = t.unwrap();
        assert_eq!(t.names(), ["service", "host"]);
        assert_eq!(
            fields(&t, "logs/checkout/web-1/access.log.gz"),
            [("service".into(), "checkout".into()), ("host".into(), "web-1".into())]
        );
        assert!(t.values("logs/checkout/access.log.gz").is_none(), "one folder short");
        assert!(t.values("logs/checkout/web-1/x/access.log.gz").is_none(), "`*` stays in its folder");
    }

    #[test]
    fn placeholders_mix_with_every_glob_construct() {
        let (glob, t) = PathTemplate::split("data/**/{env}-logs/{host}.{log,txt}").unwrap();
        assert_eq!(glob, "data/**/*-logs/*.{log,txt}");
        let t = t.unwrap();
        assert_eq!(
            fields(&t, "data/2026/11/prod-logs/db-7.txt"),
            [("env".into(), "prod".into()), ("host".into(), "db-7".into())]
        );
        assert_eq!(fields(&t, "data/eu-logs/db-1.log")[0].1, "eu");
        assert!(t.values("data/eu-logs/db-1.gz").is_none());

        let (_, t) = PathTemplate::split("x/[!.]*/{host}/a?.log").unwrap();
        let t = t.unwrap();
        assert_eq!(fields(&t, "x/srv/web%201/ab.log"), [("host".into(), "web 1".into())], "percent-decoded");
        assert!(t.values("x/.hidden/web/ab.log").is_none());
    }

    #[test]
    fn plain_globs_have_no_template_and_bad_ones_say_why() {
        assert!(PathTemplate::split("logs/*.{gz,zst}").unwrap().1.is_none());
        assert!(PathTemplate::split("logs/{host}/{host}.log").unwrap_err().contains("twice"));
        assert!(PathTemplate::split("logs/[ab.log").unwrap_err().contains('['));
    }
}
