//! Partial rollouts: the hosts that logged a deploy's new version against the rest of
//! its service, over the deploy's first half hour.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use datafusion::arrow::array::Array;
use datafusion::prelude::SessionContext;

use super::candidates::Candidate;
use crate::analyze::params::{self, Column, Params, Window};
use crate::analyze::slo::Breach;
use crate::error::Result;

/// Where a deploy's canary check ends: 30 minutes after it, or the breach's recovery (or
/// the end of its data) if sooner, but at least a minute after it.
pub(super) fn canary_end(ts: DateTime<Utc>, breach: &Breach) -> DateTime<Utc> {
    (ts + chrono::Duration::minutes(30)).min(breach.until().max(ts + chrono::Duration::minutes(1)))
}

const CANARY_LINES_SQL: &str = include_str!("../../../queries/canary_lines.sql");

/// The longest text every version contains (`v2.` of `v2.14.0` and `v2.15.1`; empty when
/// they share nothing). A message that names a version contains it, so the canary scan
/// ships only messages holding it: most log lines name no version, and copying and
/// sorting every message of every deployed service was most of a report's time.
fn common_substring(versions: &[&str]) -> String {
    let Some(shortest) = versions.iter().min_by_key(|v| v.len()) else { return String::new() };
    let chars: Vec<(usize, char)> = shortest.char_indices().collect();
    for len in (1..=chars.len()).rev() {
        for start in 0..=chars.len() - len {
            let from = chars[start].0;
            let to = chars.get(start + len).map_or(shortest.len(), |c| c.0);
            let candidate = &shortest[from..to];
            if versions.iter().all(|v| v.contains(candidate)) {
                return candidate.to_string();
            }
        }
    }
    String::new()
}

/// One service's lines over the span of its deploys' canary windows, read once per
/// breach: a busy day has a deploy every few minutes, and one query per deploy
/// (canary_hosts.sql) made a report take a minute.
#[derive(Debug, Default)]
pub struct CanaryLines {
    /// Sorted.
    ts: Vec<i64>,
    host: Vec<u32>,
    is_error: Vec<bool>,
    /// Rows whose message names one of the versions: (row, message).
    named: Vec<(usize, String)>,
    hosts: usize,
}

impl CanaryLines {
    /// The lines for every service with a deploy (with a version) among `candidates`.
    pub(super) async fn load(
        ctx: &SessionContext,
        candidates: &[Candidate],
        breach: &Breach,
    ) -> Result<BTreeMap<String, CanaryLines>> {
        /// A service's deploys: from the first one's start to the last canary window's end.
        struct Span<'c> {
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            versions: BTreeSet<&'c str>,
        }
        let mut spans: BTreeMap<&str, Span> = BTreeMap::new();
        for c in candidates {
            if let (Some(s), Some(v)) = (&c.service, &c.version) {
                let to = canary_end(c.ts, breach);
                let span = spans.entry(s).or_insert(Span { from: c.ts, to, versions: BTreeSet::new() });
                span.from = span.from.min(c.ts);
                span.to = span.to.max(to);
                span.versions.insert(v);
            }
        }
        // One scan for every deployed service, over the union of their spans: a scan per
        // service read the same row groups again for each (a second of a report with
        // eight deployed services). A service's extra lines outside its own span are
        // never counted: `canary` looks at a deploy's window only.
        let (Some(from), Some(to)) = (spans.values().map(|s| s.from).min(), spans.values().map(|s| s.to).max()) else {
            return Ok(BTreeMap::new());
        };
        let services: Vec<String> = spans.keys().map(|s| regex::escape(s)).collect();
        let raw: Vec<&str> = spans.values().flat_map(|s| s.versions.iter().copied()).collect();
        let needle = common_substring(&raw);
        let versions: BTreeSet<String> = raw.iter().map(|v| regex::escape(v)).collect();
        // Compiled once for the whole scan (the query used to do it per batch in SQL).
        // Thousands of deploys in a lookback make a big automaton: past the default 10 MB
        // limit, the canary evidence would be lost for the whole breach.
        let names_version = regex::RegexBuilder::new(&versions.into_iter().collect::<Vec<_>>().join("|"))
            .size_limit(1 << 28)
            .build()
            .map_err(|e| crate::error::Error::Internal(format!("the pattern of deployed versions: {e}")))?;
        let p = Params::window(Window::new(from, to)?, None)
            .with("services", datafusion::scalar::ScalarValue::Utf8(Some(format!("^(?:{})$", services.join("|")))))
            .with("needle", datafusion::scalar::ScalarValue::Utf8(Some(needle)));
        // Per service: its lines, and host → the host's index in them.
        let mut building: BTreeMap<String, (CanaryLines, HashMap<String, u32>)> = BTreeMap::new();
        for b in params::run(ctx, CANARY_LINES_SQL, p).await? {
            let (service, host, ts, err, named) = (
                Column::of(&b, "service")?,
                Column::of(&b, "host")?,
                Column::of(&b, "ts")?,
                Column::of(&b, "is_error")?,
                Column::of(&b, "msg")?,
            );
            let (svc, hs, ts, errs, named) = (service.utf8()?, host.utf8()?, ts.micros()?, err.bools()?, named.utf8()?);
            for i in 0..b.num_rows() {
                let (false, false, Some(t)) = (svc.is_null(i), hs.is_null(i), ts[i]) else { continue };
                if !building.contains_key(svc.value(i)) {
                    building.insert(svc.value(i).to_string(), Default::default());
                }
                let (lines, ids) = building.get_mut(svc.value(i)).expect("inserted above");
                let id = match ids.get(hs.value(i)) {
                    Some(id) => *id,
                    None => {
                        let id = ids.len() as u32;
                        ids.insert(hs.value(i).to_string(), id);
                        id
                    }
                };
                if !named.is_null(i) && names_version.is_match(named.value(i)) {
                    lines.named.push((lines.ts.len(), named.value(i).to_string()));
                }
                lines.ts.push(t);
                lines.host.push(id);
                lines.is_error.push(errs[i].unwrap_or(false));
            }
        }
        Ok(building
            .into_iter()
            .map(|(service, (lines, ids))| (service, CanaryLines { hosts: ids.len(), ..lines }))
            .collect())
    }

    /// Error ratios of the hosts that logged `version` in `[from, to)` and of the
    /// others, with the host counts; `None` unless both groups exist.
    pub(super) fn canary(
        &self,
        version: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<(f64, f64, usize, usize)> {
        let (from, to) = (from.timestamp_micros(), to.timestamp_micros());
        let lo = self.ts.partition_point(|t| *t < from);
        let hi = self.ts.partition_point(|t| *t < to);
        // Per host: (named the version, errors, lines).
        let mut per_host = vec![(false, 0u64, 0u64); self.hosts];
        for i in lo..hi {
            let h = &mut per_host[self.host[i] as usize];
            h.1 += u64::from(self.is_error[i]);
            h.2 += 1;
        }
        let first = self.named.partition_point(|(row, _)| *row < lo);
        for (row, msg) in self.named[first..].iter().take_while(|(row, _)| *row < hi) {
            if msg.contains(version) {
                per_host[self.host[*row] as usize].0 = true;
            }
        }
        let (mut new, mut rest) = ((0.0, 0.0, 0usize), (0.0, 0.0, 0usize));
        for (on_new, errors, lines) in per_host.into_iter().filter(|h| h.2 > 0) {
            let g = if on_new { &mut new } else { &mut rest };
            g.0 += errors as f64;
            g.1 += lines as f64;
            g.2 += 1;
        }
        if new.2 == 0 || rest.2 == 0 || new.1 == 0.0 || rest.1 == 0.0 {
            return None;
        }
        Some((new.0 / new.1, rest.0 / rest.1, new.2, new.2 + rest.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_share_their_longest_common_text() {
        assert_eq!(common_substring(&["v2.14.0", "v2.15.1", "v2.9.3"]), "v2.");
        assert_eq!(common_substring(&["1.0.0-rc1", "build 1.0.0"]), "1.0.0");
        assert_eq!(common_substring(&["abc", "xyz"]), "");
        assert_eq!(common_substring(&["évé-1", "évé-2"]), "évé-");
        assert_eq!(common_substring(&[]), "");
    }
}
