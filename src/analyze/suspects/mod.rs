//! Suspect changes: for a breach, the config changes and deploys that could have caused
//! it, ranked, each with the evidence behind its rank (docs/suspects.md).
//!
//! Candidates are changes and deploys from `onset − lookback` to `onset + grace`. Each
//! gets evidence explained with its numbers:
//!
//! - **time**: how long before the onset it happened, decaying (`exp(−Δ / 120 min)`);
//! - **scope**: where it happened relative to the breached service in the dependency
//!   graph (same service 1.0, a dependency 0.75 / 0.55 / 0.4 by distance, halved when the
//!   dependency's own errors never rose; a caller 0.3; unrelated 0.1);
//! - **effect**: whether the changed service's own errors left their baseline within
//!   minutes of the change (a change point, not a window that could cross the breach's
//!   ramp), and not in the same minutes as services it cannot reach;
//! - **recovery**: undone, then the breach recovered within 10 minutes (1); undone during
//!   the breach with errors going on (−1, evidence against).
//!
//! Breaches are judged together: one that follows a dependency's breach points at it,
//! and one shared with unrelated services says so and blames no single service's change
//! as likely. Each breach also gets its mitigation: the action it recovered after.
//!
//! The verdict needs evidence, not just proximity: **likely** when an undo was followed
//! by recovery (and the change is in scope), or when the changed service's own errors
//! jumped right after it; **possible** with weaker evidence; two equally supported
//! likely candidates are both possible; and when no candidate reaches possible the
//! breach's verdict is that no change explains it.

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
    /// What people said about it during the incident (a chat line naming it), shown
    /// beside the evidence and never scored. Filled by the report, empty elsewhere.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub said: Vec<String>,
}

/// The action after which a breach's SLI recovered: an undo, a rollback, a kill switch,
/// a traffic shift, whatever the change log holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mitigation {
    pub at: DateTime<Utc>,
    /// [`EventKind::Change`] or [`EventKind::Deploy`].
    pub kind: EventKind,
    pub id: String,
    pub service: Option<String>,
    /// What it did, as the change log says (`feature.kill_switch: off → on`).
    pub title: String,
    /// The suspect it undid, if it undid one.
    pub undid: Option<String>,
}

impl Mitigation {
    /// `CHG-1031 (undid CHG-1024)` or `CHG-2001 feature.kill_switch: off → on`.
    pub fn describe(&self) -> String {
        match &self.undid {
            Some(u) => format!("{} (undid {u})", self.id),
            None => format!("{} {}", self.id, self.title),
        }
    }
}

/// The ranked suspects of one breach and the breach's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreachSuspects {
    pub breach: Breach,
    /// `likely: <id>`, `possible: <id>`, `no change explains this breach`, or for a breach
    /// that follows a dependency's, `follows <breach id>: <that breach's verdict>`; a
    /// breach shared with unrelated services says so after it.
    pub verdict: String,
    pub suspects: Vec<Suspect>,
    /// The breach of a dependency this one follows (the first of the chain), if any.
    pub follows: Option<String>,
    /// Services with no dependency path to this one (or each other's) that breached
    /// within 5 minutes of its onset: a common cause rather than a change of its own.
    pub shared_with: Vec<String>,
    /// The action the SLI recovered after (`None`: still ongoing, or no action in the
    /// change log explains the recovery).
    pub mitigation: Option<Mitigation>,
}

/// Every change (reverts excluded) and deploy made in `window`, with the times each was
/// undone up to `undo_until`: what the digest's change failure rate counts.
pub async fn changes_and_deploys(
    ctx: &SessionContext,
    window: Window,
    undo_until: DateTime<Utc>,
) -> Result<Vec<Candidate>> {
    let log = candidates::log_over(ctx, None, Window::new(window.from, undo_until.max(window.to))?).await?;
    Ok(from_log(&log.changes, &log.spans, window.from, window.to, None))
}

/// What a breach's ranking reads from the change log: its lookback before the onset to an
/// hour after it ends (its candidates' undoing and its mitigation).
fn log_reach(breach: &Breach, options: SuspectOptions) -> Window {
    Window { from: breach.onset - options.lookback, to: breach.until() + Duration::hours(1) }
}

/// Ranks the changes and deploys behind each of `breaches`, reading what the ranking
/// needs: the change log around each (from `log`, the report's, where it covers it), the
/// errors of the candidates' services and of the services they cannot reach (each
/// service's SLO minutes in `analysis` are not read again), and deploy canaries. Each
/// breach is judged with every breach of `analysis` as its context ([`judge_all`]).
pub async fn rank(
    ctx: &SessionContext,
    config: &Config,
    analysis: &Analysis,
    log: Option<&ChangeLog>,
    breaches: &[Breach],
    options: SuspectOptions,
) -> Result<Vec<BreachSuspects>> {
    let graph = Graph::new(config);
    let context: Vec<Breach> = analysis.breaches().cloned().collect();
    let wanted = with_upstream(&graph, breaches, &context);
    let mut errors = ServiceErrors::of_analysis(config, analysis);
    let mut gathered = Vec::new();
    for breach in &wanted {
        let reach = log_reach(breach, options);
        let own = candidates::log_over(ctx, log, reach).await?;
        let found = breach_candidates(&own, breach, options);
        let canaries = CanaryLines::load(ctx, &found, breach).await?;
        // The errors every candidate's evidence reads (its service and the unrelated
        // ones), over the union of their spans, in one go.
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
        gathered.push((breach.clone(), own, found, canaries));
    }
    let judged = judge_all(&graph, &context, &errors, gathered);
    Ok(requested(judged, breaches))
}

/// Ranks the changes and deploys behind each of `breaches` from what is already known:
/// the change log `log` and the errors in `errors` (no deploy canaries), with every
/// breach of `analysis` as context. What [`rank`] does after reading; the robustness
/// sweeps (tests/sweeps.rs) call it on generated data.
pub fn rank_known(
    config: &Config,
    analysis: &Analysis,
    log: &ChangeLog,
    errors: &ServiceErrors,
    breaches: &[Breach],
    options: SuspectOptions,
) -> Vec<BreachSuspects> {
    let graph = Graph::new(config);
    let context: Vec<Breach> = analysis.breaches().cloned().collect();
    let gathered = with_upstream(&graph, breaches, &context)
        .into_iter()
        .map(|breach| {
            let reach = log_reach(&breach, options);
            let (changes, spans) = log.within(reach.from, reach.to, None);
            let own = ChangeLog { reach, changes, spans };
            let found = breach_candidates(&own, &breach, options);
            (breach, own, found, BTreeMap::new())
        })
        .collect();
    requested(judge_all(&graph, &context, errors, gathered), breaches)
}

/// The candidates of `breach` in its own change log: from its lookback to the grace
/// after its onset. A revert made before the onset is a candidate like any change (it
/// changed something too); one made after it is a response.
fn breach_candidates(log: &ChangeLog, breach: &Breach, options: SuspectOptions) -> Vec<Candidate> {
    from_log(
        &log.changes,
        &log.spans,
        breach.onset - options.lookback,
        breach.onset + options.grace,
        Some(breach.onset),
    )
}

/// `breaches` and the breaches of dependencies they follow (transitively), by onset:
/// a breach's verdict quotes its upstream's, so that one is judged first.
fn with_upstream(graph: &Graph, breaches: &[Breach], context: &[Breach]) -> Vec<Breach> {
    let mut out: Vec<Breach> = breaches.to_vec();
    let mut k = 0;
    while k < out.len() {
        if let Some(up) = upstream_of(graph, &out[k], context)
            && !out.iter().any(|b| b.id == up.id)
        {
            out.push(up.clone());
        }
        k += 1;
    }
    out.sort_by(|a, b| (a.onset, &a.id).cmp(&(b.onset, &b.id)));
    out
}

/// The breach of a dependency that `b` follows: one that began up to 30 minutes before
/// it (or in the same 2 minutes) and had not recovered when `b` began. The earliest such.
fn upstream_of<'c>(graph: &Graph, b: &Breach, context: &'c [Breach]) -> Option<&'c Breach> {
    context
        .iter()
        .filter(|a| a.id != b.id && graph.distance(&b.service, &a.service).is_some_and(|d| d >= 1))
        .filter(|a| {
            a.onset >= b.onset - Duration::minutes(30)
                && a.onset <= b.onset + Duration::minutes(2)
                && a.until() >= b.onset - Duration::minutes(2)
        })
        .min_by(|x, y| (x.onset, &x.id).cmp(&(y.onset, &y.id)))
}

/// Services that breached within 5 minutes of `b`'s onset with nothing in the dependency
/// graph joining them to `b`'s or to each other (no path, no dependency in common: a
/// shared dependency would be the common cause, and its changes are candidates already).
fn shared_with(graph: &Graph, b: &Breach, context: &[Breach]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for o in context {
        if (o.onset - b.onset).num_minutes().abs() <= 5
            && graph.independent(&b.service, &o.service)
            && !out.contains(&o.service)
            && out.iter().all(|s| graph.independent(s, &o.service))
        {
            out.push(o.service.clone());
        }
    }
    out.sort();
    out
}

/// The judged breaches in the order asked for.
fn requested(judged: Vec<BreachSuspects>, breaches: &[Breach]) -> Vec<BreachSuspects> {
    let mut by_id: BTreeMap<String, BreachSuspects> = judged.into_iter().map(|j| (j.breach.id.clone(), j)).collect();
    breaches.iter().filter_map(|b| by_id.remove(&b.id)).collect()
}

type Gathered = (Breach, ChangeLog, Vec<Candidate>, BTreeMap<String, CanaryLines>);

/// Judges each gathered breach (by onset, upstream first) with its neighbours: the breach
/// of a dependency it follows and the unrelated services that broke with it.
fn judge_all(
    graph: &Graph,
    context: &[Breach],
    errors: &ServiceErrors,
    gathered: Vec<Gathered>,
) -> Vec<BreachSuspects> {
    let mut out: Vec<BreachSuspects> = Vec::new();
    for (breach, log, found, canaries) in gathered {
        let shared = shared_with(graph, &breach, context);
        // The root of the chain this breach follows, and its judged verdict.
        let mut root = upstream_of(graph, &breach, context);
        while let Some(up) = root.and_then(|r| upstream_of(graph, r, context)) {
            root = Some(up);
        }
        let follows = root.map(|r| (r, r.service.as_str()));
        let peers: Vec<&Breach> = context
            .iter()
            .filter(|o| o.id != breach.id && (o.onset - breach.onset).num_minutes().abs() <= 5)
            // A breach that follows another is that one's echo, not a peer.
            .filter(|o| upstream_of(graph, o, context).is_none())
            .collect();
        let judge = evidence::Judge {
            breach: &breach,
            graph,
            errors,
            canaries: &canaries,
            shared_with: &shared,
            follows,
            peers,
        };
        let mitigation = mitigation(graph, &breach, &log, &found);
        let mut suspects: Vec<Suspect> = found.into_iter().map(|c| judge.suspect(c)).collect();
        settle_ties(&mut suspects);
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
        let verdict = own_verdict(&suspects);
        out.push(BreachSuspects {
            breach,
            verdict,
            suspects,
            follows: root.map(|r| r.id.clone()),
            shared_with: shared,
            mitigation,
        });
    }
    // Verdicts quote the breach each follows (judged above: the roots of chains are
    // always gathered), and say when a breach is shared.
    let own: BTreeMap<String, String> = out.iter().map(|j| (j.breach.id.clone(), j.verdict.clone())).collect();
    for j in &mut out {
        if let Some(root) = &j.follows {
            let theirs = own.get(root).map(|v| v.replacen(": ", " ", 1)).unwrap_or_else(|| "not judged".into());
            j.verdict = format!("follows {root}: {theirs}");
        }
        if !j.shared_with.is_empty() {
            j.verdict = format!(
                "{}; shared with {} service(s) with no dependency path to it ({}): a common cause?",
                j.verdict,
                j.shared_with.len(),
                j.shared_with.join(", ")
            );
        }
    }
    out
}

/// `likely: <id>` or `possible: <id>` for the top suspect, or that no change explains it.
fn own_verdict(suspects: &[Suspect]) -> String {
    match suspects.first() {
        Some(s) if s.verdict != Verdict::Unlikely => format!("{}: {}", s.verdict.label(), s.id),
        _ => "no change explains this breach".to_string(),
    }
}

/// Two candidates called likely on the same kind of evidence cannot both be: unless one
/// is clearly better supported (recovery after its undo, and an effect), they are both
/// possible, each told about the other.
fn settle_ties(suspects: &mut [Suspect]) {
    let strength = |s: &Suspect| s.recovery.max(0.0) + s.effect;
    let mut likely: Vec<usize> = (0..suspects.len()).filter(|&i| suspects[i].verdict == Verdict::Likely).collect();
    if likely.len() < 2 {
        return;
    }
    likely.sort_by(|&a, &b| strength(&suspects[b]).total_cmp(&strength(&suspects[a])));
    let (best, second) = (strength(&suspects[likely[0]]), strength(&suspects[likely[1]]));
    let keep = (best - second >= 0.5).then_some(likely[0]);
    let ids: Vec<String> = likely.iter().map(|&i| suspects[i].id.clone()).collect();
    for &i in &likely {
        if Some(i) == keep {
            continue;
        }
        let others: Vec<&str> = ids.iter().filter(|id| **id != suspects[i].id).map(String::as_str).collect();
        suspects[i].verdict = Verdict::Possible;
        suspects[i].evidence.push(format!(
            "ambiguous: {} {} as much → possible",
            others.join(", "),
            if others.len() == 1 { "explains it" } else { "explain it" }
        ));
    }
}

/// The action after which `breach` recovered: the last change or deploy (an undo, a
/// rollback, a kill switch, a traffic shift…) in the 15 minutes up to the recovery, after
/// the onset, on the breached service, one it depends on or that depends on it, or on no
/// service. Never after the recovery; `None` while the breach is ongoing or when nothing
/// in the change log explains the recovery.
fn mitigation(graph: &Graph, breach: &Breach, log: &ChangeLog, found: &[Candidate]) -> Option<Mitigation> {
    let recovered = breach.recovered?;
    let from = (recovered - Duration::minutes(15)).max(breach.onset);
    let near = |s: &Option<String>| s.as_deref().is_none_or(|s| graph.related(s, &breach.service));
    let undid = |ts: DateTime<Utc>, service: &Option<String>| {
        found.iter().find(|c| c.service == *service && c.undone.contains(&ts)).map(|c| c.id.clone())
    };
    let mut actions: Vec<Mitigation> = Vec::new();
    for c in log.changes.iter().filter(|c| c.ts > from && c.ts <= recovered && near(&c.service)) {
        let title = c.setting().or_else(|| c.description.clone()).unwrap_or_else(|| "config change".into());
        actions.push(Mitigation {
            at: c.ts,
            kind: EventKind::Change,
            id: c.change_id.clone().unwrap_or_default(),
            service: c.service.clone(),
            title,
            undid: undid(c.ts, &c.service),
        });
    }
    for s in log.spans.iter().filter(|s| near(&s.service)) {
        let rollback = s.final_status == "rolled_back";
        for at in [Some(s.started), rollback.then_some(s.ended)].into_iter().flatten() {
            if at > from && at <= recovered {
                actions.push(Mitigation {
                    at,
                    kind: EventKind::Deploy,
                    id: s.deploy_id.clone(),
                    service: s.service.clone(),
                    title: if at == s.ended && rollback {
                        format!("rollback of {}", s.version_text())
                    } else {
                        format!("deploy {}", s.version_text())
                    },
                    undid: undid(at, &s.service),
                });
            }
        }
    }
    actions.into_iter().max_by(|a, b| (a.at, a.undid.is_some(), &a.id).cmp(&(b.at, b.undid.is_some(), &b.id)))
}

fn ordered(v: f64) -> i64 {
    (v * 1e6) as i64
}
