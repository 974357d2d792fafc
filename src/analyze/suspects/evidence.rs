//! The evidence for one candidate of one breach, and its verdict: pure arithmetic over
//! what [`super::rank`] gathered (the candidate, every service's errors, deploy canaries).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::canary::{CanaryLines, canary_end};
use super::candidates::Candidate;
use super::errors::ServiceErrors;
use super::graph::Graph;
use super::{Suspect, Verdict};
use crate::analyze::params::Window;
use crate::analyze::slo::Breach;

/// What a candidate is judged against.
pub(super) struct Judge<'a> {
    pub breach: &'a Breach,
    pub graph: &'a Graph,
    pub errors: &'a ServiceErrors,
    pub canaries: &'a BTreeMap<String, CanaryLines>,
}

impl Judge<'_> {
    pub(super) fn suspect(&self, c: Candidate) -> Suspect {
        let breach = self.breach;
        let delta = breach.onset - c.ts;
        let delta_min = delta.num_seconds() as f64 / 60.0;
        let time = (-(delta_min.max(0.0)) / 90.0).exp();
        let distance = c.service.as_deref().and_then(|s| self.graph.distance(&breach.service, s));
        let scope = match (&c.service, distance) {
            (None, _) => 0.3,
            (Some(_), Some(0)) => 1.0,
            (Some(_), Some(1)) => 0.75,
            (Some(_), Some(2)) => 0.55,
            (Some(_), Some(_)) => 0.4,
            (Some(_), None) => 0.1,
        };
        let mut evidence = vec![format!("time: {} before the onset → {time:.2}", minutes_text(delta_min))];
        evidence.push(match (&c.service, distance) {
            (None, _) => "scope: names no service → 0.30".to_string(),
            (Some(s), Some(0)) => format!("scope: same service ({s}) → {scope:.2}"),
            (Some(s), Some(d)) => {
                format!("scope: {s} is {d} hop(s) from {} in the dependency graph → {scope:.2}", breach.service)
            }
            (Some(s), None) => format!("scope: {s} is unrelated to {} → {scope:.2}", breach.service),
        });

        // Effect: the changed service's error ratio right after vs before, against unrelated services.
        let mut effect = 0.0;
        if let Some(s) = &c.service {
            let after_end = effect_after_end(c.ts, breach);
            let before = self.errors.ratio(s, c.ts - Duration::minutes(60), c.ts);
            let after = self.errors.ratio(s, c.ts, after_end);
            let mut control_diffs = Vec::new();
            for o in self.graph.unrelated_to(s) {
                if let (Some(b), Some(a)) =
                    (self.errors.ratio(&o, c.ts - Duration::minutes(60), c.ts), self.errors.ratio(&o, c.ts, after_end))
                {
                    control_diffs.push(a - b);
                }
            }
            let control = if control_diffs.is_empty() {
                0.0
            } else {
                control_diffs.iter().sum::<f64>() / control_diffs.len() as f64
            };
            match (before, after) {
                (Some(b), Some(a)) => {
                    let did = (a - b) - control;
                    effect = if did > 0.0 { did / (did + 0.005) } else { 0.0 };
                    evidence.push(format!(
                        "effect: {s} errors {:.2}% → {:.2}% in the 15 min after (unrelated services {:+.2} pp) → {effect:.2}",
                        b * 100.0,
                        a * 100.0,
                        control * 100.0
                    ));
                }
                _ => evidence.push(format!("effect: no error data for {s} around the change → 0.00")),
            }
        }

        // Partial rollouts: the hosts that logged the new version against the rest.
        if let (Some(s), Some(v)) = (&c.service, &c.version) {
            let to = canary_end(c.ts, breach);
            if let Some((new, rest, hosts, total)) = self.canaries.get(s).and_then(|l| l.canary(v, c.ts, to)) {
                let did = new - rest;
                let canary_effect = if did > 0.0 { did / (did + 0.005) } else { 0.0 };
                evidence.push(format!(
                    "canary: {hosts} of {total} {s} hosts logged {v}; their errors {:.2}% vs {:.2}% on the rest → {canary_effect:.2}",
                    new * 100.0,
                    rest * 100.0
                ));
                effect = effect.max(canary_effect);
            }
        }

        // Recovery: undone, then the breach recovered within 10 minutes.
        let recovery_at = c.undone.iter().find(|u| {
            let gap = breach.recovered - **u;
            gap >= Duration::minutes(-1) && gap <= Duration::minutes(10)
        });
        let recovery = if recovery_at.is_some() { 1.0 } else { 0.0 };
        evidence.push(match (recovery_at, c.undone.last()) {
            (Some(u), _) => format!(
                "recovery: undone at {}, recovered {} later → 1.00",
                u.format("%H:%M"),
                minutes_text((breach.recovered - *u).num_seconds() as f64 / 60.0)
            ),
            (None, Some(u)) => format!("recovery: undone at {} without recovery after it → 0.00", u.format("%H:%M")),
            (None, None) => "recovery: never undone → 0.00".to_string(),
        });

        let score = 0.2 * time + 0.2 * scope + 0.3 * effect + 0.3 * recovery;
        let close = delta <= Duration::minutes(15);
        let verdict = if (recovery >= 1.0 && scope >= 0.5) || (effect >= 0.6 && scope >= 0.7 && close) {
            Verdict::Likely
        } else if (effect >= 0.4 && scope >= 0.5) || (recovery >= 1.0 && scope >= 0.3) {
            Verdict::Possible
        } else {
            Verdict::Unlikely
        };
        Suspect {
            rank: 0,
            kind: c.kind,
            id: c.id,
            service: c.service,
            ts: c.ts,
            title: c.title,
            time: round2(time),
            scope: round2(scope),
            effect: round2(effect),
            recovery,
            score: round2(score),
            verdict,
            undone_at: recovery_at.or(c.undone.last()).copied(),
            evidence,
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn minutes_text(m: f64) -> String {
    if m.abs() >= 120.0 { format!("{:.1} h", m / 60.0) } else { format!("{m:.0} min") }
}

/// `minutes` after `ts`, or the breach's recovery if sooner, but at least a minute after
/// `ts`: where the "after" side of a change's effect and a deploy's canary check end.
pub(super) fn after_until_recovery(ts: DateTime<Utc>, minutes: i64, breach: &Breach) -> DateTime<Utc> {
    (ts + Duration::minutes(minutes)).min(breach.recovered.max(ts + Duration::minutes(1)))
}

/// The end of the "after" side of a change's effect: 15 minutes on.
fn effect_after_end(ts: DateTime<Utc>, breach: &Breach) -> DateTime<Utc> {
    after_until_recovery(ts, 15, breach)
}

/// The errors a change's effect reads: the hour before it to the recovery (or the end of
/// its "after" side, if later).
pub(super) fn effect_span_of(ts: DateTime<Utc>, breach: &Breach) -> Window {
    Window { from: ts - Duration::minutes(60), to: effect_after_end(ts, breach).max(breach.recovered) }
}
