//! The evidence for one candidate of one breach, and its verdict: pure arithmetic over
//! what [`super::rank`] gathered (the candidate, every service's errors, deploy canaries)
//! and what is known of the breach's neighbours (breaches it follows or shares its
//! minutes with).
//!
//! Every piece of evidence is measured on what the change did *before the breach's own
//! change point* or on what operators did about it, never on the breach's ramp: a
//! bystander changed ten minutes before an outage sees the outage's errors in any window
//! that crosses the onset, and that is not its effect.

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
    /// Services with no dependency path to the breached one that broke in the same minutes.
    pub shared_with: &'a [String],
    /// The breach of a dependency this one follows, and that breach's service.
    pub follows: Option<(&'a Breach, &'a str)>,
    /// Other breaches that began within 5 minutes of this one.
    pub peers: Vec<&'a Breach>,
}

/// How a candidate relates to the breached service.
enum Scope {
    NoService,
    Same,
    /// A dependency, this many hops down.
    Dependency(usize),
    /// A service that calls the breached one (a change there can only add load).
    Caller,
    Unrelated,
}

impl Judge<'_> {
    pub(super) fn suspect(&self, c: Candidate) -> Suspect {
        let breach = self.breach;
        let delta = breach.onset - c.ts;
        let delta_min = delta.num_seconds() as f64 / 60.0;
        let time = (-(delta_min.max(0.0)) / 90.0).exp();
        let mut evidence = vec![if delta_min >= 0.0 {
            format!("time: {} before the onset → {time:.2}", minutes_text(delta_min))
        } else {
            format!("time: {} after the onset (within the grace) → {time:.2}", minutes_text(-delta_min))
        }];

        let relation = match c.service.as_deref() {
            None => Scope::NoService,
            Some(s) => match self.graph.distance(&breach.service, s) {
                Some(0) => Scope::Same,
                Some(d) => Scope::Dependency(d),
                None if self.graph.distance(s, &breach.service).is_some() => Scope::Caller,
                None => Scope::Unrelated,
            },
        };
        let shared = !self.shared_with.is_empty();
        // Breaches of other services under the same changed dependency, in the same
        // minutes: what one change to a shared dependency does.
        let co: Vec<&Breach> = match (&relation, c.service.as_deref()) {
            (Scope::Dependency(_), Some(s)) => self
                .peers
                .iter()
                .copied()
                .filter(|p| p.service != breach.service && self.graph.distance(&p.service, s).is_some_and(|d| d >= 1))
                .collect(),
            _ => Vec::new(),
        };
        let mut scope: f64 = match relation {
            Scope::NoService if shared => 0.6,
            Scope::NoService => 0.3,
            Scope::Same => 1.0,
            Scope::Dependency(1) => 0.8,
            Scope::Dependency(2) => 0.7,
            Scope::Dependency(_) => 0.6,
            Scope::Caller => 0.3,
            Scope::Unrelated => 0.1,
        };
        let svc = c.service.as_deref().unwrap_or("");
        if !co.is_empty() {
            scope = (scope * 1.25).min(1.0);
        }
        let mut scope_text = match relation {
            Scope::NoService if shared => {
                "scope: names no service, and unrelated services broke together → 0.60".to_string()
            }
            Scope::NoService => "scope: names no service → 0.30".to_string(),
            Scope::Same => format!("scope: same service ({svc}) → 1.00"),
            Scope::Dependency(d) if !co.is_empty() => format!(
                "scope: {svc} is {d} hop(s) down {}'s dependencies, and {} under it broke in the same minutes → {scope:.2}",
                breach.service,
                co.iter().map(|p| p.service.as_str()).collect::<Vec<_>>().join(", ")
            ),
            Scope::Dependency(d) => {
                format!("scope: {svc} is {d} hop(s) down {}'s dependencies → {scope:.2}", breach.service)
            }
            Scope::Caller => format!("scope: {svc} calls {} (it can only add load) → {scope:.2}", breach.service),
            Scope::Unrelated => format!("scope: no dependency path joins {svc} and {} → {scope:.2}", breach.service),
        };

        // Effect: did the changed service's own errors leave their baseline right after
        // the change, and not when unrelated services' did too?
        let mut effect = 0.0;
        match (&relation, c.service.as_deref()) {
            (Scope::NoService, _) => {
                // Nothing of its own to measure: how close the breach's change point is.
                let p = proximity(delta_min);
                effect = p * if shared { 1.0 } else { 0.6 };
                evidence.push(format!(
                    "effect: {} broke {} after it → {effect:.2}",
                    breach.service,
                    minutes_text(delta_min.max(0.0))
                ));
            }
            (_, Some(s)) => {
                let until = c.ts + Duration::minutes(15);
                match self.errors.rise(s, c.ts, until) {
                    None if self.errors.get(s).is_none() => {
                        evidence.push(format!("effect: no error data for {s} around the change → 0.00"))
                    }
                    None => evidence.push(format!("effect: {s} errors did not rise in the 15 min after it → 0.00")),
                    Some(rise) => {
                        let after = (rise.at - c.ts).num_seconds() as f64 / 60.0;
                        let p = proximity(after);
                        let magnitude = rise.magnitude();
                        let raw = p * magnitude;
                        let unrelated = self.graph.unrelated_to(s);
                        let along: Vec<&String> = unrelated
                            .iter()
                            .filter(|o| {
                                self.errors
                                    .rise(o, c.ts, until)
                                    .is_some_and(|r| (r.at - rise.at).num_minutes().abs() <= 3)
                            })
                            .collect();
                        let controls = if unrelated.is_empty() {
                            "no unrelated service to compare against".to_string()
                        } else if along.is_empty() {
                            "no unrelated service rose then".to_string()
                        } else {
                            let names: Vec<&str> = along.iter().map(|o| o.as_str()).collect();
                            format!("but {} rose in the same minutes, with no dependency path to {s}", names.join(", "))
                        };
                        // A rise after the breach began (callers of the breached service fail
                        // with it) is the breach's echo, not this change's effect.
                        // A caller's own errors are what a broken dependency does to it: its
                        // change could only have added load, which shows on the breached side.
                        let echo = rise.at > breach.onset + Duration::minutes(2) || matches!(relation, Scope::Caller);
                        effect = if along.is_empty() && !echo { raw } else { 0.0 };
                        let controls = if echo && matches!(relation, Scope::Caller) {
                            format!("a caller's errors follow {}'s: its echo", breach.service)
                        } else if echo {
                            format!("after {} broke at {}: its echo", breach.service, breach.onset.format("%H:%M"))
                        } else {
                            controls
                        };
                        evidence.push(format!(
                            "effect: {s} errors {:.2}% → {:.2}% from {}, {} after it ({controls}) → {effect:.2}",
                            rise.before * 100.0,
                            rise.after * 100.0,
                            rise.at.format("%H:%M"),
                            minutes_text(after.max(0.0))
                        ));
                    }
                }
                // A dependency whose own errors never rose before the breach: it cannot
                // have broken the breached service through them.
                if matches!(relation, Scope::Dependency(_))
                    && co.is_empty()
                    && self.errors.get(s).is_some()
                    && self.errors.rise(s, c.ts, breach.onset + Duration::minutes(2)).is_none()
                {
                    scope *= 0.6;
                    scope_text =
                        format!("{scope_text}, ×0.6: {s}'s own errors did not rise before the breach → {scope:.2}");
                }
            }
            _ => {}
        }
        evidence.insert(1, scope_text);

        // Partial rollouts: the hosts that logged the new version against the rest.
        let mut canary_confirms = false;
        if let (Some(s), Some(v)) = (&c.service, &c.version) {
            let to = canary_end(c.ts, breach).min(breach.onset.max(c.ts + Duration::minutes(5)));
            if let Some((new, rest, hosts, total)) = self.canaries.get(s).and_then(|l| l.canary(v, c.ts, to)) {
                let did = new - rest;
                let canary_effect = if did > 0.0 { did / (did + 0.005) } else { 0.0 };
                evidence.push(format!(
                    "canary: {hosts} of {total} {s} hosts logged {v}; their errors {:.2}% vs {:.2}% on the rest → {canary_effect:.2}",
                    new * 100.0,
                    rest * 100.0
                ));
                effect = effect.max(canary_effect);
                canary_confirms = canary_effect >= 0.6;
            }
        }

        // Undo: recovery right after it, errors going on after it, or nothing to tell. A
        // change that cannot reach the breached service cannot end it either.
        let (mut recovery, mut undone_at, mut undo_text) = undo_evidence(&c.undone, breach, self.errors);
        // The same undo ending a breach under the same dependency counts for this one.
        if recovery < 1.0
            && let Some((u, p, r)) = co.iter().find_map(|p| {
                let r = p.recovered?;
                let u = c.undone.iter().find(|u| {
                    let gap = r - **u;
                    gap >= Duration::minutes(-1) && gap <= Duration::minutes(10)
                })?;
                Some((*u, p, r))
            })
        {
            recovery = 1.0;
            undone_at = Some(u);
            undo_text = format!(
                "recovery: undone at {}, and {} (under the same dependency) recovered {} later → 1.00",
                u.format("%H:%M"),
                p.service,
                minutes_text((r - u).num_seconds() as f64 / 60.0)
            );
        }
        if recovery > 0.0 && matches!(relation, Scope::Unrelated) {
            recovery = 0.0;
            undo_text = format!("{undo_text}, but nothing joins {svc} to {}: a coincidence → 0.00", breach.service);
        }
        evidence.push(undo_text);

        let mut score = 0.2 * time + 0.25 * scope + 0.3 * effect + 0.3 * recovery;
        // Likely needs two things to agree: errors that rose right after it *and* recovery
        // right after its undo (or a canary that failed where it ran), or the recovery
        // alone on the breached service or a near dependency. A rise right after a change
        // alone is what a coincidence looks like too: possible, and said so.
        let confirmed = recovery >= 1.0 || canary_confirms;
        let mut verdict = if (recovery >= 1.0 && scope >= 0.5) || (effect >= 0.6 && scope >= 0.7 && confirmed) {
            Verdict::Likely
        } else if (effect >= 0.3 && scope >= 0.5) || (recovery >= 1.0 && scope >= 0.3) {
            Verdict::Possible
        } else {
            Verdict::Unlikely
        };
        if effect >= 0.6 && scope >= 0.7 && !confirmed {
            evidence.push(
                "unconfirmed: nothing but the timing ties the rise to it (no undo followed by recovery, no canary) → at most possible"
                    .to_string(),
            );
        }
        if recovery < 0.0 {
            verdict = Verdict::Unlikely;
        }
        if shared && c.service.is_some() && verdict == Verdict::Likely {
            verdict = Verdict::Possible;
            evidence.push(format!(
                "shared: {} broke in the same minutes with no dependency path to {}: a change to one service does not explain that → at most possible",
                self.shared_with.join(", "),
                breach.service
            ));
        }
        if let Some((upstream, upstream_service)) = self.follows {
            let on_the_way = c
                .service
                .as_deref()
                .is_some_and(|s| s == upstream_service || self.graph.distance(upstream_service, s).is_some());
            if !on_the_way && verdict == Verdict::Likely {
                verdict = Verdict::Possible;
                score -= 0.1;
                evidence.push(format!(
                    "follows: its dependency {upstream_service} broke first ({}): the breach came from there → at most possible",
                    upstream.id
                ));
            }
        }
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
            undone_at,
            evidence,
            said: Vec::new(),
        }
    }
}

/// How strongly a rise `minutes` after a change points at it: fully within 3 minutes
/// (a change takes a minute or two to roll out, and minutes are whole), fading after.
/// A rise before the change (more than the minute's rounding) is not its doing.
fn proximity(minutes: f64) -> f64 {
    if minutes < -1.0 {
        0.0
    } else if minutes <= 3.0 {
        1.0
    } else {
        (-(minutes - 3.0) / 4.0).exp()
    }
}

/// The undo evidence: 1 when the breach recovered within 10 minutes of an undo; 0.5 when
/// the errors fell by half right after it and the recovery took longer (a backlog
/// draining); −1 when an undo made during the breach changed nothing (the errors of the
/// 15 minutes after it are not half those before, and the breach went on); 0 otherwise.
/// Also the undo time shown, and the evidence line.
fn undo_evidence(
    undone: &[DateTime<Utc>],
    breach: &Breach,
    errors: &ServiceErrors,
) -> (f64, Option<DateTime<Utc>>, String) {
    let hm = |t: DateTime<Utc>| t.format("%H:%M").to_string();
    if let Some(r) = breach.recovered
        && let Some(u) = undone.iter().find(|u| {
            let gap = r - **u;
            gap >= Duration::minutes(-1) && gap <= Duration::minutes(10)
        })
    {
        let later = minutes_text((r - *u).num_seconds() as f64 / 60.0);
        return (1.0, Some(*u), format!("recovery: undone at {}, recovered {later} later → 1.00", hm(*u)));
    }
    let Some(u) = undone.iter().copied().find(|u| *u >= breach.onset - Duration::minutes(1)).or(undone.last().copied())
    else {
        return (0.0, None, "recovery: never undone → 0.00".to_string());
    };
    if u < breach.onset - Duration::minutes(1) {
        return (
            -1.0,
            Some(u),
            format!(
                "recovery: undone at {}, before the onset: it was not in place when the errors began → −1.00",
                hm(u)
            ),
        );
    }
    let fell = || {
        let m = |from: DateTime<Utc>, to: DateTime<Utc>| errors.ratio(&breach.service, from, to);
        let before = m(u - Duration::minutes(15), u)?;
        let after = m(u + Duration::minutes(5), u + Duration::minutes(20))?;
        (after < 0.5 * before).then_some((before, after))
    };
    match (breach.recovered, breach.ongoing_at) {
        (Some(r), _) if u > r => {
            (0.0, Some(u), format!("recovery: undone at {}, after the recovery at {} → 0.00", hm(u), hm(r)))
        }
        (Some(r), _) if let Some((before, after)) = fell() => (
            0.5,
            Some(u),
            format!(
                "recovery: undone at {}, errors fell from {:.2}% to {:.2}% after it, recovered {} later → 0.50",
                hm(u),
                before * 100.0,
                after * 100.0,
                minutes_text((r - u).num_seconds() as f64 / 60.0)
            ),
        ),
        (Some(r), _) => (
            -1.0,
            Some(u),
            format!(
                "recovery: undone at {}, errors unchanged: the breach went on for {} → −1.00",
                hm(u),
                minutes_text((r - u).num_seconds() as f64 / 60.0)
            ),
        ),
        (None, Some(end)) if end - u >= Duration::minutes(15) => (
            -1.0,
            Some(u),
            format!(
                "recovery: undone at {}, errors unchanged: still failing {} later when the data ends → −1.00",
                hm(u),
                minutes_text((end - u).num_seconds() as f64 / 60.0)
            ),
        ),
        _ => (0.0, Some(u), format!("recovery: undone at {}, too close to the end of the data to tell → 0.00", hm(u))),
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub(super) fn minutes_text(m: f64) -> String {
    if m.abs() >= 120.0 { format!("{:.1} h", m / 60.0) } else { format!("{m:.0} min") }
}

/// The errors a change's evidence reads: the hour before it to the breach's onset, or
/// to 15 minutes after the change if that is later.
pub(super) fn effect_span_of(ts: DateTime<Utc>, breach: &Breach) -> Window {
    Window {
        from: ts - Duration::minutes(60),
        to: (ts + Duration::minutes(16)).max(breach.onset + Duration::minutes(3)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rise_counts_fully_within_three_minutes_and_fades_after() {
        assert_eq!(proximity(-3.0), 0.0);
        assert_eq!(proximity(0.0), 1.0);
        assert_eq!(proximity(3.0), 1.0);
        assert!((proximity(7.0) - (-1.0f64).exp()).abs() < 1e-9);
        assert!(proximity(12.0) < 0.11);
    }
}
