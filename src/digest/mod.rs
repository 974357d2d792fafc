//! The weekly reliability digest (`retrace digest`): what CI publishes every week.
//!
//! For an ISO week in the display zone (or any period), per SLO: attainment against the
//! objective, error budget burned in the week and left over the SLO's period; per service
//! and overall: breaches with their top suspect, deploy frequency, change failure rate and
//! time to restore; and the same figures for the previous period, to compare against.
//! Every figure is documented in docs/digest.md. Output is deterministic.

pub mod render;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::analyze::Window;
use crate::analyze::analysis::{Analysis, Slis};
use crate::analyze::slo::{Breach, SloResult};
use crate::analyze::suspects::{self, BreachSuspects, Verdict};
use crate::analyze::timeline::EventKind;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::report::redact_model::redact_fields;

/// A reporting period: its label, bounds (UTC) and the zone its days are counted in.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub label: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The ISO week (year, week) when the period is one: what comes before it is the week
    /// before, not the same length before. Not in the JSON (the label says it).
    #[serde(skip)]
    pub week: Option<(i32, u32)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub period: Period,
    pub previous: Period,
    /// Days and weeks are counted in it; its IANA name in JSON.
    #[serde(serialize_with = "crate::display::serialize_tz")]
    pub display_timezone: Tz,
    pub overall: Figures,
    pub previous_overall: Figures,
    pub slos: Vec<SloFigures>,
    pub services: Vec<ServiceFigures>,
    pub breaches: Vec<BreachLine>,
    /// Pages, acknowledgements and alert noise, from the incident events.
    pub paging: Paging,
    pub previous_paging: Paging,
    /// An SLO has no budget left over its period at the end of this one.
    pub budget_exhausted: bool,
    /// Catches, in rendered output, any value redaction replaced.
    #[serde(skip)]
    pub scrubber: crate::report::redact::Scrubber,
}

redact_fields!(Digest {
    period, previous, overall, previous_overall, slos, services, breaches, paging, previous_paging, budget_exhausted,
} keep { display_timezone, scrubber });
redact_fields!(Paging {
    recorded,
    pages,
    alerts_fired,
    acknowledged,
    time_to_acknowledge_median_minutes,
    time_to_acknowledge_worst_minutes,
    alerts_without_breach,
    breaches_without_alert,
});
redact_fields!(Period { label, from, to } keep { week });
redact_fields!(Figures {
    deploys,
    changes,
    deploys_per_day,
    failed,
    change_failure_rate_pct,
    breaches,
    time_to_restore_median_minutes,
    time_to_restore_worst_minutes,
});
redact_fields!(SloFigures {
    slo,
    service,
    objective_pct,
    attainment_pct,
    met,
    previous_attainment_pct,
    budget_burned_pct,
    previous_budget_burned_pct,
    budget_remaining_pct,
    period_days,
    breaches,
    no_data_minutes,
    chronic,
});
redact_fields!(ServiceFigures { service, figures, previous });
redact_fields!(BreachLine {
    id,
    slo,
    service,
    onset,
    recovered,
    ongoing_at,
    time_to_restore_minutes,
    budget_consumed_pct,
    verdict,
    top_suspect,
    top_suspect_title,
});

impl Digest {
    /// Replaces secrets in every text of the finished digest (the file CI publishes).
    pub fn redact(&mut self, r: &mut crate::report::redact::Redactor) {
        crate::report::redact_model::Redact::redact(self, r);
        self.scrubber = r.scrubber();
    }
}

/// How people were alerted over a period (`incident_events`; docs/digest.md).
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Paging {
    /// Whether the period has any incident event (else the zeros say nothing).
    pub recorded: bool,
    pub pages: u64,
    pub alerts_fired: u64,
    /// Pages followed by an acknowledgement within two hours.
    pub acknowledged: u64,
    /// Page → the first acknowledgement after it, over acknowledged pages.
    pub time_to_acknowledge_median_minutes: Option<f64>,
    pub time_to_acknowledge_worst_minutes: Option<i64>,
    /// Alerts that fired with no SLO breach around them (30 minutes before its onset to
    /// its recovery): noise, or an SLO missing.
    pub alerts_without_breach: u64,
    /// Breaches no alert or page came with: what only the SLO saw.
    pub breaches_without_alert: u64,
}

/// Incident events within this long after a page can acknowledge it.
const ACK_WITHIN: Duration = Duration::hours(2);
/// How long before a breach's onset an alert still belongs to it.
const ALERT_LEAD: Duration = Duration::minutes(30);

fn paging(events: &[crate::analyze::people::HumanRow], breaches: &[BreachSuspects]) -> Paging {
    let of = |kind: &'static str| events.iter().filter(move |e| e.kind == kind);
    let mut acks: Vec<i64> = Vec::new();
    for page in of("page") {
        if let Some(ack) = of("ack").find(|a| a.ts >= page.ts && a.ts - page.ts <= ACK_WITHIN) {
            acks.push((ack.ts - page.ts).num_seconds());
        }
    }
    acks.sort_unstable();
    let around = |b: &BreachSuspects, t: DateTime<Utc>| {
        t >= b.breach.onset - ALERT_LEAD && b.breach.recovered.or(b.breach.ongoing_at).is_none_or(|end| t <= end)
    };
    let alerting = |e: &&crate::analyze::people::HumanRow| matches!(e.kind.as_str(), "alert_firing" | "page");
    Paging {
        recorded: !events.is_empty(),
        pages: of("page").count() as u64,
        alerts_fired: of("alert_firing").count() as u64,
        acknowledged: acks.len() as u64,
        time_to_acknowledge_median_minutes: (!acks.is_empty()).then(|| {
            let mid = acks.len() / 2;
            let secs = if acks.len() % 2 == 1 { acks[mid] as f64 } else { (acks[mid - 1] + acks[mid]) as f64 / 2.0 };
            (secs / 60.0 * 10.0).round() / 10.0
        }),
        time_to_acknowledge_worst_minutes: acks.last().map(|s| s / 60),
        alerts_without_breach: of("alert_firing").filter(|a| !breaches.iter().any(|b| around(b, a.ts))).count() as u64,
        breaches_without_alert: breaches
            .iter()
            .filter(|b| !events.iter().filter(alerting).any(|e| around(b, e.ts)))
            .count() as u64,
    }
}

/// Delivery and reliability figures for a set of changes and breaches.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Figures {
    pub deploys: u64,
    pub changes: u64,
    /// Deploys per day of the period.
    pub deploys_per_day: f64,
    /// Changes and deploys that were a likely culprit of a breach or were undone.
    pub failed: u64,
    /// `failed / (changes + deploys)`, in percent (`None`: nothing was changed).
    pub change_failure_rate_pct: Option<f64>,
    pub breaches: u64,
    /// Onset → recovered, in minutes, over the period's breaches.
    pub time_to_restore_median_minutes: Option<f64>,
    pub time_to_restore_worst_minutes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SloFigures {
    pub slo: String,
    pub service: String,
    /// The objective, in percent.
    pub objective_pct: f64,
    /// Good events as a share of all events in the period, in percent (`None`: no data).
    pub attainment_pct: Option<f64>,
    pub met: Option<bool>,
    pub previous_attainment_pct: Option<f64>,
    /// Bad events in the period as a share of the SLO period's error budget.
    pub budget_burned_pct: f64,
    pub previous_budget_burned_pct: f64,
    /// What is left of the budget over the SLO's period (e.g. 30 days) ending with this period.
    pub budget_remaining_pct: f64,
    pub period_days: f64,
    pub breaches: u64,
    pub no_data_minutes: u64,
    /// Burning above budget all along, if it is (`slo::ChronicBurn`).
    pub chronic: Option<crate::analyze::slo::ChronicBurn>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceFigures {
    pub service: String,
    pub figures: Figures,
    pub previous: Figures,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreachLine {
    pub id: String,
    pub slo: String,
    pub service: String,
    pub onset: DateTime<Utc>,
    /// `None`: still going on when the data ends (at `ongoing_at`).
    pub recovered: Option<DateTime<Utc>>,
    pub ongoing_at: Option<DateTime<Utc>>,
    /// `None` for a breach still going on.
    pub time_to_restore_minutes: Option<i64>,
    pub budget_consumed_pct: f64,
    /// `likely: CHG-1024`, `possible: …` or `no change explains this breach`.
    pub verdict: String,
    pub top_suspect: Option<String>,
    pub top_suspect_title: Option<String>,
}

/// Monday 00:00 to the next Monday 00:00 of ISO week `(year, week)` in `tz`, as UTC.
pub fn iso_week(year: i32, week: u32, tz: Tz) -> Result<Period> {
    let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
        .ok_or_else(|| Error::Usage(format!("{year} has no ISO week {week}")))?;
    let start = |d: NaiveDate| -> Result<DateTime<Utc>> {
        // Midnight can be skipped by a DST change in a few zones: take the first instant of the day.
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&local)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(local + Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| Error::Usage(format!("{d} has no midnight in {}", tz.name())))
    };
    Ok(Period {
        label: format!("{year}-W{week:02}"),
        from: start(monday)?,
        to: start(monday + Duration::days(7))?,
        week: Some((year, week)),
    })
}

/// The period before `p`: the previous ISO week for a week, else the same length before.
pub fn previous(p: &Period, tz: Tz) -> Result<Period> {
    if let Some((y, w)) = p.week {
        let monday = NaiveDate::from_isoywd_opt(y, w, Weekday::Mon).unwrap_or_default() - Duration::days(7);
        let iso = monday.iso_week();
        return iso_week(iso.year(), iso.week(), tz);
    }
    let len = p.to - p.from;
    Ok(Period { label: "previous period".into(), from: p.from - len, to: p.from, week: None })
}

/// The ISO week (in `tz`) holding `t`.
pub fn week_of(t: DateTime<Utc>, tz: Tz) -> Result<Period> {
    let iso = t.with_timezone(&tz).date_naive().iso_week();
    iso_week(iso.year(), iso.week(), tz)
}

pub async fn build(ctx: &SessionContext, config: &Config, period: Period, tz: Tz) -> Result<Digest> {
    let prev = previous(&period, tz)?;
    // One read of every SLI reaches back over the previous period and each SLO's own
    // period (for the budget left): the three analyses below are arithmetic on it.
    let reach_from = config.slos.iter().map(|s| period.to - s.period).fold(prev.from, DateTime::min);
    let slis = Slis::read(ctx, &config.slos, reach_from, period.to).await?;
    let this_window = Window::new(period.from, period.to)?;
    let before_window = Window::new(prev.from, prev.to)?;
    let (this, this_breaches) = evaluate(ctx, config, &slis.analysis(this_window)).await?;
    let (before, before_breaches) = evaluate(ctx, config, &slis.analysis(before_window)).await?;
    let changes = changes_in(ctx, &period).await?;
    let changes_before = changes_in(ctx, &prev).await?;
    let events = crate::analyze::people::read(ctx, this_window, None).await?;
    let events_before = crate::analyze::people::read(ctx, before_window, None).await?;

    let mut slos = Vec::new();
    let mut budget_exhausted = false;
    for (r, p) in this.iter().zip(&before) {
        let def = config.slos.iter().find(|s| s.name == r.slo);
        let period_len = def.map(|d| d.period).unwrap_or(Duration::days(30));
        // The budget over the SLO's own period ending with this one.
        let long = slis.analysis(Window::new(period.to - period_len, period.to)?);
        let consumed = long.slo(&r.slo).map(|e| e.result.budget_consumed_pct).unwrap_or(0.0);
        let remaining = round2(100.0 - consumed);
        budget_exhausted |= remaining <= 0.0 && r.total_events > 0.0;
        let attainment = attainment(r);
        slos.push(SloFigures {
            slo: r.slo.clone(),
            service: r.service.clone(),
            objective_pct: round4(r.objective * 100.0),
            attainment_pct: attainment,
            met: attainment.map(|a| a >= r.objective * 100.0),
            previous_attainment_pct: attainment_of(p),
            budget_burned_pct: round2(r.budget_consumed_pct),
            previous_budget_burned_pct: round2(p.budget_consumed_pct),
            budget_remaining_pct: remaining,
            period_days: r.period_days,
            breaches: r.breaches.len() as u64,
            no_data_minutes: r.no_data_minutes,
            chronic: r.chronic,
        });
    }

    let days = (period.to - period.from).num_seconds() as f64 / 86_400.0;
    let days_before = (prev.to - prev.from).num_seconds() as f64 / 86_400.0;
    let overall = figures(&changes, &this_breaches, days, None);
    let previous_overall = figures(&changes_before, &before_breaches, days_before, None);
    let mut names: Vec<String> = config.services.keys().cloned().collect();
    for s in config.slos.iter().map(|s| &s.service).chain(changes.iter().filter_map(|c| c.service.as_ref())) {
        if !names.contains(s) {
            names.push(s.clone());
        }
    }
    names.sort();
    let services = names
        .into_iter()
        .map(|s| ServiceFigures {
            figures: figures(&changes, &this_breaches, days, Some(&s)),
            previous: figures(&changes_before, &before_breaches, days_before, Some(&s)),
            service: s,
        })
        .collect();
    let breaches = this_breaches
        .iter()
        .map(|b| {
            let top = b.suspects.first();
            BreachLine {
                id: b.breach.id.clone(),
                slo: b.breach.slo.clone(),
                service: b.breach.service.clone(),
                onset: b.breach.onset,
                recovered: b.breach.recovered,
                ongoing_at: b.breach.ongoing_at,
                time_to_restore_minutes: b.breach.recovered.map(|r| (r - b.breach.onset).num_minutes()),
                budget_consumed_pct: round2(b.breach.budget_consumed_pct),
                verdict: b.verdict.clone(),
                top_suspect: top.map(|s| s.id.clone()),
                top_suspect_title: top.map(|s| s.title.clone()),
            }
        })
        .collect();
    Ok(Digest {
        period,
        previous: prev,
        display_timezone: tz,
        overall,
        previous_overall,
        slos,
        services,
        paging: paging(&events, &this_breaches),
        previous_paging: paging(&events_before, &before_breaches),
        breaches,
        budget_exhausted,
        scrubber: Default::default(),
    })
}

/// Every SLO over a period, and its breaches (onset inside the period) with suspects.
async fn evaluate(
    ctx: &SessionContext,
    config: &Config,
    analysis: &Analysis,
) -> Result<(Vec<SloResult>, Vec<BreachSuspects>)> {
    let results: Vec<SloResult> = analysis.results().cloned().collect();
    let breaches: Vec<Breach> = analysis.breaches().cloned().collect();
    let mut ranked = suspects::rank(ctx, config, analysis, None, &breaches, config.suspects).await?;
    ranked.sort_by(|a, b| (a.breach.onset, &a.breach.id).cmp(&(b.breach.onset, &b.breach.id)));
    Ok((results, ranked))
}

/// Changes and deploys made in the period, with their undo times up to a week after it.
async fn changes_in(ctx: &SessionContext, p: &Period) -> Result<Vec<suspects::Candidate>> {
    suspects::changes_and_deploys(ctx, Window::new(p.from, p.to)?, p.to + Duration::days(7)).await
}

fn figures(changes: &[suspects::Candidate], breaches: &[BreachSuspects], days: f64, service: Option<&str>) -> Figures {
    let changes: Vec<&suspects::Candidate> =
        changes.iter().filter(|c| service.is_none_or(|s| c.service.as_deref() == Some(s))).collect();
    let breaches: Vec<&BreachSuspects> =
        breaches.iter().filter(|b| service.is_none_or(|s| b.breach.service == s)).collect();
    let culprits: Vec<&str> = breaches
        .iter()
        .filter_map(|b| b.suspects.first())
        .filter(|s| s.verdict == Verdict::Likely)
        .map(|s| s.id.as_str())
        .collect();
    let deploys = changes.iter().filter(|c| c.kind == EventKind::Deploy).count() as u64;
    let total = changes.len() as u64;
    let failed = changes.iter().filter(|c| !c.undone.is_empty() || culprits.contains(&c.id.as_str())).count() as u64;
    // Time to restore counts the breaches that were restored; an ongoing one has none yet.
    let mut ttr: Vec<i64> =
        breaches.iter().filter_map(|b| b.breach.recovered.map(|r| (r - b.breach.onset).num_minutes())).collect();
    ttr.sort();
    let median = match ttr.len() {
        0 => None,
        n if n % 2 == 1 => Some(ttr[n / 2] as f64),
        n => Some((ttr[n / 2 - 1] + ttr[n / 2]) as f64 / 2.0),
    };
    Figures {
        deploys,
        changes: total - deploys,
        deploys_per_day: if days > 0.0 { round2(deploys as f64 / days) } else { 0.0 },
        failed,
        change_failure_rate_pct: (total > 0).then(|| round2(failed as f64 / total as f64 * 100.0)),
        breaches: breaches.len() as u64,
        time_to_restore_median_minutes: median,
        time_to_restore_worst_minutes: ttr.last().copied(),
    }
}

fn attainment(r: &SloResult) -> Option<f64> {
    (r.total_events > 0.0).then(|| round4((1.0 - r.bad_events / r.total_events) * 100.0))
}

fn attainment_of(r: &SloResult) -> Option<f64> {
    attainment(r)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {

    #[test]
    fn paging_counts_pages_acks_and_alerts_with_no_breach() {
        let row = |ts: &str, kind: &str| crate::analyze::people::HumanRow {
            ts: chrono::DateTime::parse_from_rfc3339(ts).unwrap().to_utc(),
            kind: kind.into(),
            service: None,
            actor: None,
            title: None,
            text: None,
            reference: None,
            severity: None,
            source: None,
            line: None,
        };
        let events = [
            row("2026-11-20T03:00:00Z", "alert_firing"),
            row("2026-11-20T03:01:00Z", "page"),
            row("2026-11-20T03:05:30Z", "ack"),
            row("2026-11-21T09:00:00Z", "page"),
            // Three hours later: not this page's acknowledgement.
            row("2026-11-21T12:00:00Z", "ack"),
        ];
        let p = paging(&events, &[]);
        assert_eq!((p.pages, p.alerts_fired, p.acknowledged), (2, 1, 1));
        assert_eq!((p.time_to_acknowledge_median_minutes, p.time_to_acknowledge_worst_minutes), (Some(4.5), Some(4)));
        assert_eq!((p.alerts_without_breach, p.breaches_without_alert, p.recorded), (1, 0, true));
        assert!(!paging(&[], &[]).recorded);
    }

    use super::*;

    #[test]
    fn iso_weeks_start_on_local_mondays() {
        let p = iso_week(2026, 47, Tz::UTC).unwrap();
        assert_eq!(p.from.to_rfc3339(), "2026-11-16T00:00:00+00:00");
        assert_eq!(p.to.to_rfc3339(), "2026-11-23T00:00:00+00:00");
        let ny = iso_week(2026, 47, chrono_tz::America::New_York).unwrap();
        assert_eq!(ny.from.to_rfc3339(), "2026-11-16T05:00:00+00:00");
        // The week holding the end of DST is 7 days and 1 hour long in New York.
        let dst = iso_week(2026, 44, chrono_tz::America::New_York).unwrap();
        assert_eq!((dst.to - dst.from).num_hours(), 169);
        let prev = previous(&iso_week(2026, 1, Tz::UTC).unwrap(), Tz::UTC).unwrap();
        assert_eq!(prev.label, "2025-W52");
        let t = DateTime::parse_from_rfc3339("2026-11-19T14:09:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(week_of(t, Tz::UTC).unwrap().label, "2026-W47");
    }

    #[test]
    fn change_failure_rate_counts_undone_changes_and_likely_culprits() {
        let t = DateTime::parse_from_rfc3339("2026-11-19T14:00:00Z").unwrap().with_timezone(&Utc);
        use EventKind::{Change, Deploy};
        let c = |id: &str, kind: EventKind, undone: bool| suspects::Candidate {
            kind,
            id: id.into(),
            service: Some("payments".into()),
            ts: t,
            title: String::new(),
            undone: if undone { vec![t + Duration::minutes(5)] } else { vec![] },
            version: None,
            key: None,
            new_value: None,
        };
        let changes = vec![c("A", Change, false), c("B", Change, true), c("D1", Deploy, false), c("D2", Deploy, false)];
        let f = figures(&changes, &[], 7.0, None);
        assert_eq!((f.changes, f.deploys, f.failed), (2, 2, 1));
        assert_eq!(f.change_failure_rate_pct, Some(25.0));
        assert_eq!(f.deploys_per_day, 0.29);
        assert_eq!(f.time_to_restore_median_minutes, None);
        let none = figures(&[], &[], 7.0, Some("payments"));
        assert_eq!(none.change_failure_rate_pct, None);
    }
}
