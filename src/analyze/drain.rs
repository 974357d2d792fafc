//! Log template mining, Drain-style (He et al., "Drain: An Online Log Parsing Approach
//! with Fixed Depth Tree", ICWS 2017), kept small: messages are split on white space,
//! tokens with a digit are variables (`<*>`), and messages with the same token count and
//! first token are compared position by position. A message joins the most similar
//! template when at least half of the positions agree (differing positions become
//! `<*>`); otherwise it starts a template of its own.
//!
//! The timeline uses it to spot *new error signatures*: templates whose first occurrence
//! is inside the window and not in the baseline before it.

use std::collections::HashMap;

pub const WILDCARD: &str = "<*>";
const SIMILARITY: f64 = 0.5;
/// Tokens considered per message: long messages are compared by their head.
const MAX_TOKENS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub tokens: Vec<String>,
    pub count: u64,
}

impl Template {
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }
}

/// Templates mined so far; `add` returns the id of the message's template.
#[derive(Debug, Default)]
pub struct Miner {
    pub templates: Vec<Template>,
    groups: HashMap<(usize, String), Vec<usize>>,
}

fn mask(token: &str) -> String {
    if token.bytes().any(|b| b.is_ascii_digit()) { WILDCARD.to_string() } else { token.to_string() }
}

impl Miner {
    pub fn add(&mut self, message: &str) -> usize {
        let tokens: Vec<String> = message.split_whitespace().take(MAX_TOKENS).map(mask).collect();
        let first = tokens.first().cloned().unwrap_or_default();
        let key = (tokens.len(), first);
        let group = self.groups.entry(key).or_default();
        let mut best: Option<(usize, f64)> = None;
        for &id in group.iter() {
            let t = &self.templates[id].tokens;
            let same = t.iter().zip(&tokens).filter(|(a, b)| a == b && a.as_str() != WILDCARD).count();
            let fixed = t.iter().filter(|a| a.as_str() != WILDCARD).count().max(1);
            let sim = same as f64 / fixed as f64;
            if sim >= SIMILARITY && best.is_none_or(|(_, s)| sim > s) {
                best = Some((id, sim));
            }
        }
        match best {
            Some((id, _)) => {
                let t = &mut self.templates[id];
                for (a, b) in t.tokens.iter_mut().zip(&tokens) {
                    if a != b {
                        *a = WILDCARD.to_string();
                    }
                }
                t.count += 1;
                id
            }
            None => {
                let id = self.templates.len();
                self.templates.push(Template { tokens, count: 1 });
                group.push(id);
                id
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_similar_messages_share_a_template() {
        let mut m = Miner::default();
        let a = m.add("timeout acquiring connection from pool main after 5000 ms");
        let b = m.add("timeout acquiring connection from pool replica after 5012 ms");
        let c = m.add("order 8812 placed by user 77");
        let d = m.add("timeout acquiring connection");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(m.templates[a].text(), "timeout acquiring connection from pool <*> after <*> ms");
        assert_eq!(m.templates[a].count, 2);
        assert_eq!(m.templates[c].text(), "order <*> placed by user <*>");
        // Half the fixed positions must agree: a different sentence of the same shape is new.
        let e = m.add("cache refresh completed for region eu after 12 ms");
        assert_ne!(a, e);
    }
}
