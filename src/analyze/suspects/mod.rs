//! Suspect changes: for a breach, the config changes and deploys that could have caused
//! it, ranked, each with the evidence behind its rank (docs/suspects.md).
//!
//! Candidates are changes and deploys from `onset − lookback` to `onset + grace`. Each
//! gets four pieces of evidence, every one in [0, 1] and explained with its numbers:
//!
//! - **time**: how long before the onset it happened, decaying (`exp(−Δ / 90 min)`);
//! - **scope**: where it happened relative to the breached service in the dependency
//!   graph (same service 1.0, a dependency 0.75 / 0.55 / 0.4 by distance, unrelated 0.1);
//! - **effect**: difference-in-differences of the changed service's error ratio in the 15
//!   minutes after the change vs the hour before, against services the change cannot
//!   reach (neither dependencies nor dependents);
//! - **recovery**: the change was reverted or rolled back and the breach recovered within
//!   10 minutes of that.
//!
//! The verdict needs evidence, not just proximity: **likely** when a revert was followed
//! by recovery (and the change is in scope), or when the changed service's own errors
//! jumped right after it, close to the onset; **possible** with weaker evidence; and when
//! no candidate reaches possible the breach's verdict is that no change explains it.

mod canary;
mod candidates;
mod errors;
mod evidence;
pub mod graph;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use self::canary::CanaryLines;
pub use self::candidates::{Candidate, from_log};
pub use self::errors::{ServiceErrors, slo_of};
use self::graph::Graph;
use super::Analysis;
use super::changes::ChangeLog;
use super::params::Window;
use super::slo::Breach;
use super::timeline::EventKind;
use crate::config::Config;
use crate::error::Result;

pub use crate::config::SuspectOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Likely,
    Possible,
    Unlikely,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Likely => "likely",
            Verdict::Possible => "possible",
            Verdict::Unlikely => "unlikely",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    pub rank: usize,
    /// [`EventKind::Change`] or [`EventKind::Deploy`] (`change`/`deploy` in JSON).
    pub kind: EventKind,
    pub id: String,
    pub service: Option<String>,
    pub ts: DateTime<Utc>,
    pub title: String,
    pub time: f64,
    pub scope: f64,
    pub effect: f64,
    pub recovery: f64,
    pub score: f64,
    pub verdict: Verdict,
    /// When it was undone: the undo the breach recovered after, else the last undo.
    pub undone_at: Option<DateTime<Utc>>,
    /// One line per piece of evidence, with its numbers.
    pub evidence: Vec<String>,
}

/// The ranked suspects of one breach and the breach's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreachSuspects {
    pub breach: Breach,
    /// `likely: <id>`, `possible: <id>` or `no change explains this breach`.
    pub verdict: String,
    pub suspects: Vec<Suspect>,
}

/// Every change (reverts excluded) and deploy made in `window`, with the times each was
/// undone up to `undo_until`: what the digest's change failure rate counts.
pub async fn changes_and_deploys(
    ctx: &SessionContext,
    window: Window,
    undo_until: DateTime<Utc>,
) -> Result<Vec<Candidate>> {
    candidates::read(ctx, None, window.from, window.to, undo_until).await
}

/// Where a breach's candidates are looked for: its lookback before the onset to the
/// grace after it.
fn candidate_span(breach: &Breach, options: SuspectOptions) -> (DateTime<Utc>, DateTime<Utc>) {
    (breach.onset - options.lookback, breach.onset + options.grace)
}

/// How far after a breach its candidates' undoing is looked for.
fn undo_until(breach: &Breach) -> DateTime<Utc> {
    breach.recovered + Duration::hours(1)
}

/// Ranks the changes and deploys behind each of `breaches`, reading what the ranking
/// needs: the candidates (from `log`, the report's, where it covers a breach's lookback),
/// the errors of their services and of the services they cannot reach (each service's
/// SLO minutes in `analysis` are not read again), and deploy canaries. The judging
/// itself is [`judge`].
pub async fn rank(
    ctx: &SessionContext,
    config: &Config,
    analysis: &Analysis,
    log: Option<&ChangeLog>,
    breaches: &[Breach],
    options: SuspectOptions,
) -> Result<Vec<BreachSuspects>> {
    let graph = Graph::new(config);
    let mut errors = ServiceErrors::of_analysis(config, analysis);
    let mut out = Vec::new();
    for breach in breaches {
        let (from, to) = candidate_span(breach, options);
        let found = candidates::read(ctx, log, from, to, undo_until(breach)).await?;
        let canaries = CanaryLines::load(ctx, &found, breach).await?;
        // The errors every candidate's effect reads (its service and the unrelated ones),
        // over the union of their spans, in one go.
        let mut needed = BTreeSet::new();
        let mut span: Option<Window> = None;
        for c in &found {
            if let Some(s) = &c.service {
                let own = evidence::effect_span_of(c.ts, breach);
                span = Some(match span {
                    Some(w) => Window { from: w.from.min(own.from), to: w.to.max(own.to) },
                    None => own,
                });
                needed.insert(s.clone());
                needed.extend(graph.unrelated_to(s));
            }
        }
        if let Some(span) = span {
            errors.fill(ctx, config, &needed, span).await?;
        }
        out.push(judge(breach, found, &graph, &errors, &canaries));
    }
    Ok(out)
}

/// Ranks the changes and deploys behind each of `breaches` from what is already known:
/// the candidates in `log` and the errors in `errors` (no deploy canaries). What
/// [`rank`] does after reading; the robustness sweeps (tests/sweeps.rs) call it on
/// generated data.
pub fn rank_known(
    config: &Config,
    log: &ChangeLog,
    errors: &ServiceErrors,
    breaches: &[Breach],
    options: SuspectOptions,
) -> Vec<BreachSuspects> {
    let graph = Graph::new(config);
    breaches
        .iter()
        .map(|breach| {
            let (from, to) = candidate_span(breach, options);
            let (changes, spans) = log.within(from, undo_until(breach).max(to), None);
            judge(breach, from_log(&changes, &spans, from, to), &graph, errors, &BTreeMap::new())
        })
        .collect()
}

/// Judges each candidate of `breach`, orders them (verdict, then score, then the later
/// first) and gives the breach its verdict.
fn judge(
    breach: &Breach,
    found: Vec<Candidate>,
    graph: &Graph,
    errors: &ServiceErrors,
    canaries: &BTreeMap<String, CanaryLines>,
) -> BreachSuspects {
    let judge = evidence::Judge { breach, graph, errors, canaries };
    let mut suspects: Vec<Suspect> = found.into_iter().map(|c| judge.suspect(c)).collect();
    suspects.sort_by(|a, b| {
        (a.verdict, std::cmp::Reverse(ordered(a.score)), std::cmp::Reverse(a.ts), &a.id).cmp(&(
            b.verdict,
            std::cmp::Reverse(ordered(b.score)),
            std::cmp::Reverse(b.ts),
            &b.id,
        ))
    });
    for (i, s) in suspects.iter_mut().enumerate() {
        s.rank = i + 1;
    }
    let verdict = match suspects.first() {
        Some(s) if s.verdict != Verdict::Unlikely => format!("{}: {}", s.verdict.label(), s.id),
        _ => "no change explains this breach".to_string(),
    };
    BreachSuspects { breach: breach.clone(), verdict, suspects }
}

fn ordered(v: f64) -> i64 {
    (v * 1e6) as i64
}
