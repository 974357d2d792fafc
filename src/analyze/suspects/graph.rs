//! The service dependency graph (`[services.x] depends_on`): how far a change is from a
//! breached service, and which services it cannot reach.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::config::Config;

/// Services and what each depends on.
#[derive(Debug, Clone)]
pub struct Graph {
    deps: BTreeMap<String, Vec<String>>,
}

impl Graph {
    pub fn new(config: &Config) -> Graph {
        Graph { deps: config.services.iter().map(|(k, v)| (k.clone(), v.depends_on.clone())).collect() }
    }

    fn services(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.deps.keys().cloned().collect();
        all.extend(self.deps.values().flatten().cloned());
        all
    }

    /// Hops from `from` down its dependencies to `to` (0: the same service).
    pub fn distance(&self, from: &str, to: &str) -> Option<usize> {
        if from == to {
            return Some(0);
        }
        let mut seen = BTreeSet::from([from.to_string()]);
        let mut queue = VecDeque::from([(from.to_string(), 0)]);
        while let Some((s, d)) = queue.pop_front() {
            for next in self.deps.get(&s).into_iter().flatten() {
                if next == to {
                    return Some(d + 1);
                }
                if seen.insert(next.clone()) {
                    queue.push_back((next.clone(), d + 1));
                }
            }
        }
        None
    }

    /// Whether a path of dependencies joins `a` and `b`, in either direction.
    pub fn related(&self, a: &str, b: &str) -> bool {
        self.distance(a, b).is_some() || self.distance(b, a).is_some()
    }

    /// Whether nothing joins `a` and `b`: no path of dependencies either way, and no
    /// dependency in common.
    pub fn independent(&self, a: &str, b: &str) -> bool {
        a != b
            && !self.related(a, b)
            && !self
                .services()
                .iter()
                .any(|d| self.distance(a, d).is_some_and(|x| x > 0) && self.distance(b, d).is_some_and(|x| x > 0))
    }

    /// Services neither upstream nor downstream of `s`: controls for its effect.
    pub fn unrelated_to(&self, s: &str) -> Vec<String> {
        self.services().into_iter().filter(|o| !self.related(s, o)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_distances_and_controls() {
        let text = r#"
[services.edge]
depends_on = ["checkout", "search"]
[services.checkout]
depends_on = ["payments"]
[services.search]
[services.payments]
[services.mail]
"#;
        let config = Config::parse(text, std::path::Path::new("/")).unwrap();
        let g = Graph::new(&config);
        assert_eq!(g.distance("edge", "payments"), Some(2));
        assert_eq!(g.distance("payments", "edge"), None);
        assert_eq!(g.distance("checkout", "checkout"), Some(0));
        assert!(g.related("payments", "edge"));
        assert!(!g.related("payments", "search"));
        // checkout and search both serve edge but depend on nothing in common.
        assert!(g.independent("checkout", "search"));
        assert!(!g.independent("edge", "payments"));
        assert!(g.independent("mail", "payments"));
        assert_eq!(g.unrelated_to("payments"), vec!["mail", "search"]);
    }
}
