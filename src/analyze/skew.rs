//! Clock-skew estimates: how far each host's clock seems off, from events two clocks saw
//! (queries `skew_deploy_starts.sql` and `skew_trace_pairs.sql`). Estimates are reported
//! with their evidence count; applying one is opt-in (`[clock_skew]` in the config).

use datafusion::prelude::SessionContext;

use super::params::{self, Params, Window};
use crate::error::Result;

pub const DEPLOY_STARTS: &str = include_str!("../../queries/skew_deploy_starts.sql");
pub const TRACE_PAIRS: &str = include_str!("../../queries/skew_trace_pairs.sql");

/// One host's estimate from one kind of evidence (against one reference clock): a row of
/// either query.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SkewEstimate {
    pub host: String,
    /// `deploy_start` or `trace_pair`.
    pub evidence: String,
    /// The clock compared against: `deploy system` or the caller's host.
    pub reference: String,
    pub pairs: u64,
    /// Median gap, milliseconds; positive: the host's clock runs ahead.
    pub median_offset_ms: f64,
    pub min_offset_ms: f64,
    pub max_offset_ms: f64,
}

pub async fn estimate(ctx: &SessionContext, window: Window) -> Result<Vec<SkewEstimate>> {
    // Both kinds of evidence side by side: each is a self-join that mostly waits on reads.
    let (deploy_starts, trace_pairs) = futures::try_join!(
        params::rows::<SkewEstimate>(ctx, DEPLOY_STARTS, Params::window(window, None)),
        params::rows::<SkewEstimate>(ctx, TRACE_PAIRS, Params::window(window, None)),
    )?;
    let mut out = deploy_starts;
    out.extend(trace_pairs);
    out.sort_by(|a, b| (&a.host, &a.evidence, &a.reference).cmp(&(&b.host, &b.evidence, &b.reference)));
    Ok(out)
}

/// The `[clock_skew]` entries worth applying: per host, the estimate with the most
/// evidence, when it has at least `min_pairs` pairs and is at least `min_offset_ms` off.
pub fn suggestions(estimates: &[SkewEstimate], min_pairs: u64, min_offset_ms: f64) -> Vec<(String, f64)> {
    let mut best: std::collections::BTreeMap<&str, &SkewEstimate> = std::collections::BTreeMap::new();
    for e in estimates {
        let keep = best.get(e.host.as_str()).is_none_or(|b| e.pairs > b.pairs);
        if keep {
            best.insert(&e.host, e);
        }
    }
    best.into_iter()
        .filter(|(_, e)| e.pairs >= min_pairs && e.median_offset_ms.abs() >= min_offset_ms)
        .map(|(h, e)| (h.to_string(), e.median_offset_ms))
        .collect()
}

/// `[clock_skew]` TOML for the suggestions.
pub fn to_toml(suggestions: &[(String, f64)]) -> String {
    let mut out = String::from("[clock_skew]\n");
    for (host, ms) in suggestions {
        out.push_str(&format!("\"{host}\" = \"{ms:+}ms\"\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(host: &str, pairs: u64, median: f64) -> SkewEstimate {
        SkewEstimate {
            host: host.into(),
            evidence: "trace_pair".into(),
            reference: "r".into(),
            pairs,
            median_offset_ms: median,
            min_offset_ms: median,
            max_offset_ms: median,
        }
    }

    #[test]
    fn only_well_evidenced_large_offsets_are_suggested() {
        let e = [est("a", 10, 2500.0), est("a", 3, 10.0), est("b", 2, 9000.0), est("c", 50, 20.0)];
        let s = suggestions(&e, 3, 100.0);
        assert_eq!(s, vec![("a".to_string(), 2500.0)]);
        assert_eq!(to_toml(&s), "[clock_skew]\n\"a\" = \"+2500ms\"\n");
    }
}
