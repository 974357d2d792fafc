//! `[redaction]`: which rules reports, the digest and printed timelines apply, what they
//! keep, and the extra patterns a user adds. The rules themselves are declared here (name,
//! placeholder label, pattern) so the config can validate names and regexes when it
//! loads; `report::redact` applies them.

use regex::Regex;
use serde::Deserialize;

/// A built-in rule: its name in the config, the placeholder label, the pattern, and the
/// capture group that holds the secret (the rest of the match is kept, so `password=`
/// stays visible and only the value goes); group 0 means every group that matched.
pub struct Builtin {
    pub name: &'static str,
    pub label: &'static str,
    pub pattern: &'static str,
    pub group: usize,
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "url_password",
        label: "password",
        pattern: r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@",
        group: 1,
    },
    Builtin {
        name: "bearer",
        label: "token",
        pattern: r"(?i)\b(?:bearer|token|basic)\s+([A-Za-z0-9\-._~+/]{8,}=*)",
        group: 1,
    },
    Builtin {
        name: "jwt",
        label: "token",
        pattern: r"\b(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)",
        group: 1,
    },
    Builtin {
        name: "aws_key",
        label: "aws-key",
        pattern: r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b",
        group: 1,
    },
    Builtin {
        name: "api_key",
        label: "api-key",
        pattern: r"\b((?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[baprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,})",
        group: 1,
    },
    // `password=x`, `db_password: "x"`, `PGPASSWORD=x`, `AWS_SECRET_ACCESS_KEY=x`, and a
    // change's `password: old → new` (both sides). The key may carry prefixes joined by
    // `_`, `.` or `-` (`db_password`, `MYSQL_ROOT_PASSWORD`) and a few suffixes
    // (`SECRET_KEY_BASE`), but must not be glued to a word (`bypass`, `compass`).
    Builtin {
        name: "key_value",
        label: "secret",
        pattern: concat!(
            r#"(?i)(?:^|[^a-z0-9])(?:[a-z0-9]+[_.-])*"#,
            r#"(?:password|passwd|passphrase|pass|pwd|pgpassword|mysql_pwd|secret|client[_-]?secret|"#,
            r#"api[_-]?key|apikey|api[_-]?token|access[_-]?key|secret[_-]?key|private[_-]?key|account[_-]?key|"#,
            r#"storage[_-]?key|master[_-]?key|signing[_-]?key|token|auth|auth[_-]?token|session[_-]?id|"#,
            r#"credentials?|dsn|connection[_-]?string|conn[_-]?str)"#,
            r#"(?:[_-](?:access|key|base|value|string|hash|data|b64|base64|json|file))*"#,
            r#"["']?\s*[=:]\s*"#,
            r#"(?:"([^"]*)"|'([^']*)'|([^\s"'&,;<>]+))"#,
            r#"(?:\s*(?:→|->|=>)\s*(?:"([^"]*)"|'([^']*)'|([^\s"'&,;<>()]+)))?"#,
        ),
        group: 0,
    },
    Builtin {
        name: "email",
        label: "email",
        pattern: r"\b([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b",
        group: 1,
    },
    Builtin {
        name: "ipv4",
        label: "ipv4",
        pattern: r"\b((?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3})\b",
        group: 1,
    },
    // Candidates only: every match is confirmed by parsing it as an address, so times
    // (14:02:00), MAC addresses and `std::io` paths are left alone.
    Builtin {
        name: "ipv6",
        label: "ipv6",
        pattern: r"(?i)((?:[0-9a-f]{0,4}:){2,7}(?:[0-9a-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?)",
        group: 1,
    },
];

/// Every built-in rule name, in the order they apply.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// `[redaction]` in retrace.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Built-in rules to apply (default: all of them).
    #[serde(default = "all_rules")]
    pub rules: Vec<String>,
    /// Regular expressions; a found value matching one of them (whole) is kept.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Extra rules: the whole match (or its first group, if it has one) is replaced.
    #[serde(default)]
    pub patterns: Vec<CustomPattern>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    pub name: String,
    pub regex: String,
}

fn yes() -> bool {
    true
}

fn all_rules() -> Vec<String> {
    builtin_names().into_iter().map(String::from).collect()
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig { enabled: true, rules: all_rules(), allow: Vec::new(), patterns: Vec::new() }
    }
}

impl RedactionConfig {
    /// Unknown rule names and bad regexes, as errors naming the field.
    pub fn validate(&self) -> Result<(), String> {
        for name in &self.rules {
            if !BUILTINS.iter().any(|b| b.name == name) {
                return Err(format!("redaction.rules: unknown rule `{name}`; known: {}", builtin_names().join(", ")));
            }
        }
        for p in &self.patterns {
            Regex::new(&p.regex).map_err(|e| format!("redaction.patterns `{}`: bad regex: {e}", p.name))?;
        }
        for a in &self.allow {
            Regex::new(&format!("^(?:{a})$")).map_err(|e| format!("redaction.allow `{a}`: bad regex: {e}"))?;
        }
        Ok(())
    }
}
