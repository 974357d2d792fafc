//! Redaction: secrets and personal data in log text are replaced by placeholders before a
//! report is rendered, so a post-mortem draft can be pasted into a ticket safely.
//!
//! The same value always maps to the same placeholder within one report (`<ipv4-2>` is
//! the same address in every row), numbered by first appearance, so the timeline stays
//! readable and the output stays deterministic. Rules are configurable (`[redaction]`,
//! docs/reports.md, Hostile content and redaction); an allow-list keeps values that are known to be harmless.

use std::collections::HashMap;

use regex::Regex;

use crate::display::html_escape as esc;

pub use crate::config::redaction::{BUILTINS, CustomPattern, RedactionConfig, builtin_names};

struct Rule {
    label: String,
    regex: Regex,
    /// The capture group holding the secret; 0: every group that took part in the match.
    group: usize,
    /// An address: must stand alone (not part of a longer dotted or word token).
    address: bool,
    ipv6: bool,
}

/// The net under the model pass: replaces, in finished output (a rendered report or
/// digest), every value the pass replaced wherever it still stands as a token of its own,
/// raw, HTML-escaped or JSON-escaped. The pass should leave none; this catches text a
/// renderer spells anew. Values shorter than four characters are left (they would match
/// inside ordinary text).
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    forms: Vec<(String, String)>,
    any: Option<Regex>,
}

impl Scrubber {
    /// `html`: the output is HTML, so a placeholder put into it is HTML-escaped.
    pub fn scrub(&self, output: &str, html: bool) -> String {
        let Some(any) = &self.any else { return output.to_string() };
        let mut out = String::with_capacity(output.len());
        let mut last = 0;
        for m in any.find_iter(output) {
            if !token_bounds(output, m.start(), m.end()) {
                continue;
            }
            let placeholder = self.forms.iter().find(|(f, _)| f == m.as_str()).map_or("", |(_, p)| p.as_str());
            out.push_str(&output[last..m.start()]);
            // The placeholder escaped for the format it lands in.
            if html {
                out.push_str(&esc(placeholder));
            } else {
                out.push_str(placeholder);
            }
            last = m.end();
        }
        out.push_str(&output[last..]);
        out
    }
}

/// Applies the configured rules to text, remembering which placeholder each value got.
pub struct Redactor {
    rules: Vec<Rule>,
    allow: Vec<Regex>,
    placeholders: HashMap<(String, String), String>,
    counters: HashMap<String, usize>,
}

impl Redactor {
    /// [`Redactor::new`], its refusal as the config error every caller reports.
    pub fn for_config(config: &RedactionConfig) -> crate::error::Result<Redactor> {
        Redactor::new(config).map_err(|message| crate::error::Error::Config { path: "[redaction]".into(), message })
    }

    /// Validates the config: unknown rule names and bad regexes are errors naming the field.
    pub fn new(config: &RedactionConfig) -> Result<Redactor, String> {
        let mut rules = Vec::new();
        if config.enabled {
            for name in &config.rules {
                let b = BUILTINS.iter().find(|b| b.name == name).ok_or_else(|| {
                    format!("redaction.rules: unknown rule `{name}`; known: {}", builtin_names().join(", "))
                })?;
                let regex = Regex::new(b.pattern).map_err(|e| format!("redaction rule {}: {e}", b.name))?;
                rules.push(Rule {
                    label: b.label.to_string(),
                    regex,
                    group: b.group,
                    address: b.name.starts_with("ip"),
                    ipv6: b.name == "ipv6",
                });
            }
            for p in &config.patterns {
                let regex =
                    Regex::new(&p.regex).map_err(|e| format!("redaction.patterns `{}`: bad regex: {e}", p.name))?;
                let group = usize::from(regex.captures_len() > 1);
                let label = p.name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
                rules.push(Rule { label, regex, group, address: false, ipv6: false });
            }
        }
        let allow = config
            .allow
            .iter()
            .map(|a| Regex::new(&format!("^(?:{a})$")).map_err(|e| format!("redaction.allow `{a}`: bad regex: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Redactor { rules, allow, placeholders: HashMap::new(), counters: HashMap::new() })
    }

    /// A redactor that changes nothing (`--no-redact`).
    pub fn off() -> Redactor {
        Redactor { rules: Vec::new(), allow: Vec::new(), placeholders: HashMap::new(), counters: HashMap::new() }
    }

    /// How many distinct values were replaced so far.
    pub fn replaced(&self) -> usize {
        self.placeholders.len()
    }

    pub fn redact(&mut self, text: &str) -> String {
        let mut out = text.to_string();
        for r in 0..self.rules.len() {
            out = self.apply(r, &out);
        }
        out
    }

    /// `value` redacted as it stands after `key` (`key: value`): a rule that needs the key
    /// to see a secret (`password: …`) replaces the value with the placeholder the same
    /// pair gets anywhere else.
    pub fn redact_value(&mut self, key: &str, value: &str) -> String {
        let prefix = format!("{key}: ");
        let pair = self.redact(&format!("{prefix}{value}"));
        match pair.strip_prefix(&prefix) {
            Some(v) => v.to_string(),
            // The key itself held something a rule replaced: judge the value alone.
            None => self.redact(value),
        }
    }

    pub fn redact_in_place(&mut self, text: &mut String) {
        if !self.rules.is_empty() {
            *text = self.redact(text);
        }
    }

    fn apply(&mut self, r: usize, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut found = Vec::new();
        let group = self.rules[r].group;
        for caps in self.rules[r].regex.captures_iter(text) {
            let groups = if group == 0 { 1..caps.len() } else { group..group + 1 };
            found.extend(groups.filter_map(|g| caps.get(g)).map(|m| (m.start(), m.end())));
        }
        for (start, end) in found {
            let value = &text[start..end];
            if value.is_empty() || self.allow.iter().any(|a| a.is_match(value)) {
                continue;
            }
            if self.rules[r].address && !stands_alone(text, start, end) {
                continue;
            }
            if self.rules[r].ipv6 && (value == "::" || value.parse::<std::net::Ipv6Addr>().is_err()) {
                continue;
            }
            // A placeholder an earlier rule wrote is not a value to redact again, and `∅`
            // is how an unset value is shown.
            if (value.starts_with('<') && value.ends_with('>')) || value == "∅" {
                continue;
            }
            out.push_str(&text[last..start]);
            out.push_str(&self.placeholder(r, value));
            last = end;
        }
        out.push_str(&text[last..]);
        out
    }

    /// What [`Scrubber::scrub`] needs to catch, in finished output, every value this
    /// redactor has replaced so far.
    pub fn scrubber(&self) -> Scrubber {
        let mut forms: Vec<(String, String)> = Vec::new();
        for ((_, value), placeholder) in &self.placeholders {
            if value.chars().count() < 4 {
                continue;
            }
            // As the HTML renderers write it (`html::esc`), and as serde_json does.
            for form in [value.clone(), esc(value), json_escape(value)] {
                if !forms.iter().any(|(f, _)| *f == form) {
                    forms.push((form, placeholder.clone()));
                }
            }
        }
        // Longest first, so a value is replaced before a value inside it.
        forms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let alternation: Vec<String> = forms.iter().map(|(f, _)| regex::escape(f)).collect();
        let any = (!forms.is_empty()).then(|| Regex::new(&alternation.join("|")).ok()).flatten();
        Scrubber { forms, any }
    }

    fn placeholder(&mut self, r: usize, value: &str) -> String {
        let label = self.rules[r].label.clone();
        let key = (label.clone(), value.to_string());
        if let Some(p) = self.placeholders.get(&key) {
            return p.clone();
        }
        let n = self.counters.entry(label.clone()).or_default();
        *n += 1;
        let p = format!("<{label}-{n}>");
        self.placeholders.insert(key, p.clone());
        p
    }
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_string()
}

/// Whether a match is not part of a longer word (letters or digits on either side).
fn token_bounds(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// Whether `text[start..end]` is a token of its own: not glued to letters, digits, dots
/// or colons before it, nor to letters, digits or a `.digit` after it.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let mut after = text[end..].chars();
    let (a1, a2) = (after.next(), after.next());
    let glued_before = before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == ':' || c == '_');
    let glued_after = a1.is_some_and(|c| c.is_alphanumeric() || c == '_')
        || (a1 == Some('.') && a2.is_some_and(|c| c.is_ascii_digit()));
    !glued_before && !glued_after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        Redactor::new(&RedactionConfig::default()).unwrap().redact(text)
    }

    #[test]
    fn every_builtin_rule_replaces_its_secret() {
        let cases = [
            ("GET /api Authorization: Bearer abc.DEF-123_xyz=", "GET /api Authorization: Bearer <token-1>"),
            ("connect postgres://app:hunter2@db:5432/x", "connect postgres://app:<password-1>@db:5432/x"),
            ("login password=s3cr3t user=bob", "login password=<secret-1> user=bob"),
            ("cfg api_key: \"k-123456\" ok", "cfg api_key: \"<secret-1>\" ok"),
            ("key AKIAIOSFODNN7EXAMPLE used", "key <aws-key-1> used"),
            ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe <api-key-1>"),
            ("mail to jane.doe+ops@example.co.uk failed", "mail to <email-1> failed"),
            ("from 10.1.2.3:8080 to 192.168.0.254", "from <ipv4-1>:8080 to <ipv4-2>"),
            ("peer [2001:db8::8a2e:370:7334]:443 and ::1", "peer [<ipv6-1>]:443 and <ipv6-2>"),
            ("jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "jwt <token-1>"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    /// A value redacted beside its key gets what the pair gets in text, however short:
    /// the report's change table spells old and new values from the change's fields.
    #[test]
    fn a_value_is_judged_with_its_key() {
        let mut r = Redactor::new(&RedactionConfig::default()).unwrap();
        let in_text = r.redact("db_password: abc → hunter2");
        assert_eq!(in_text, "db_password: <secret-1> → <secret-2>");
        assert_eq!(r.redact_value("db_password", "abc"), "<secret-1>");
        assert_eq!(r.redact_value("db_password", "hunter2"), "<secret-2>");
        assert_eq!(r.redact_value("pool.size", "20"), "20");
        // A key a rule rewrites (an address in it) still has its value judged alone.
        assert_eq!(r.redact_value("10.1.2.3", "mail jane@example.com"), "mail <email-1>");
    }

    /// The class: a secret under any of the names databases, clouds and apps give it, in
    /// `key=value`, `key: value` and env-file form, quoted or not, and both sides of a
    /// change (`key: old → new`).
    #[test]
    fn secrets_under_their_common_names_are_replaced() {
        let keys = [
            "password",
            "db_password",
            "DB_PASSWORD",
            "access_token",
            "refresh_token",
            "api_token",
            "PGPASSWORD",
            "MYSQL_PWD",
            "pass",
            "MYSQL_ROOT_PASSWORD",
            "POSTGRES_PASSWORD",
            "MONGO_INITDB_ROOT_PASSWORD",
            "REDIS_PASSWORD",
            "RABBITMQ_DEFAULT_PASS",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AZURE_CLIENT_SECRET",
            "AZURE_STORAGE_KEY",
            "AZURE_STORAGE_ACCOUNT_KEY",
            "GITHUB_TOKEN",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SECRET_KEY_BASE",
            "DJANGO_SECRET_KEY",
            "JWT_SECRET",
            "VAULT_TOKEN",
            "SENTRY_DSN",
            "app.db.password",
            "x-api-key",
            "client_secret",
            "auth_token",
            "passphrase",
        ];
        for key in keys {
            for (text, gone) in [
                (format!("{key}=Zq9xK2mLp7"), vec!["Zq9xK2mLp7"]),
                (format!("set {key}: \"Zq9 xK2m\" done"), vec!["Zq9 xK2m", "xK2m"]),
                (format!("export {key}='Zq9xK2mLp7'"), vec!["Zq9xK2mLp7"]),
                (format!("{key}: Old9secret → New7secret (by ops)"), vec!["Old9secret", "New7secret"]),
                (format!("{key}: ∅ → New7secret"), vec!["New7secret"]),
            ] {
                let out = redact(&text);
                for g in gone {
                    assert!(!out.contains(g), "{key}: {text} -> {out}");
                }
                assert!(out.contains("<secret-"), "{text} -> {out}");
            }
        }
    }

    #[test]
    fn words_that_only_contain_a_key_name_are_kept() {
        for text in ["bypass=on", "compass: north", "passthrough=true", "max_tokens: 100 → 200", "author=ann"] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn scrub_catches_a_value_spelled_again_in_any_escaping() {
        let mut r = Redactor::new(&RedactionConfig::default()).unwrap();
        assert_eq!(r.redact("password=hunter2&x"), "password=<secret-1>&x");
        let r = r.scrubber();
        assert_eq!(
            r.scrub("headline: hunter2 was set; json \"hunter2\"", false),
            "headline: <secret-1> was set; json \"<secret-1>\""
        );
        // Inside a longer word it is not the value.
        assert_eq!(r.scrub("hunter22", false), "hunter22");
        let mut r = Redactor::new(&RedactionConfig::default()).unwrap();
        r.redact(r#"password="a<b>&c""#);
        let r = r.scrubber();
        assert_eq!(r.scrub("<!DOCTYPE html><p>a&lt;b&gt;&amp;c</p>", true), "<!DOCTYPE html><p>&lt;secret-1&gt;</p>");
        assert_eq!(r.scrub(r#"{"v":"a<b>&c"}"#, false), r#"{"v":"<secret-1>"}"#);
    }

    #[test]
    fn harmless_lookalikes_are_kept() {
        for text in [
            "at 14:02:00 version v2.14.0 took 1.5s",
            "mac aa:bb:cc:dd:ee:ff",
            "2026-11-19T14:02:00Z",
            "payments.db.pool.max_connections: 200 → 20",
            "999.1.1.1 is not an address; 1.2.3.4.5 neither",
            "std::io::Error and Vec::new and ad::be::ef",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn the_same_value_gets_the_same_placeholder() {
        let mut r = Redactor::new(&RedactionConfig::default()).unwrap();
        assert_eq!(r.redact("a 10.0.0.1 b 10.0.0.2"), "a <ipv4-1> b <ipv4-2>");
        assert_eq!(r.redact("again 10.0.0.2 then 10.0.0.1"), "again <ipv4-2> then <ipv4-1>");
        assert_eq!(r.replaced(), 2);
    }

    #[test]
    fn allow_list_rule_choice_and_custom_patterns() {
        let config = RedactionConfig {
            rules: vec!["ipv4".into(), "email".into()],
            allow: vec![r"127\.0\.0\.1".into(), r".*@example\.com".into()],
            patterns: vec![CustomPattern { name: "customer".into(), regex: r"cust-(\d+)".into() }],
            ..RedactionConfig::default()
        };
        let mut r = Redactor::new(&config).unwrap();
        assert_eq!(
            r.redact("127.0.0.1 10.0.0.9 ops@example.com a@b.io cust-42 password=x"),
            "127.0.0.1 <ipv4-1> ops@example.com <email-1> cust-<customer-1> password=x"
        );
        let off = RedactionConfig { enabled: false, ..RedactionConfig::default() };
        assert_eq!(Redactor::new(&off).unwrap().redact("10.0.0.9"), "10.0.0.9");
    }

    #[test]
    fn bad_config_is_an_error_naming_the_field() {
        let bad = RedactionConfig { rules: vec!["phone".into()], ..RedactionConfig::default() };
        assert!(Redactor::new(&bad).err().unwrap().contains("unknown rule `phone`"));
        let bad = RedactionConfig { allow: vec!["(".into()], ..RedactionConfig::default() };
        assert!(Redactor::new(&bad).err().unwrap().contains("redaction.allow"));
    }
}
