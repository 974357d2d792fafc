//! Burn rates and breaches (docs/slo.md has every definition).
//!
//! Per minute: error ratio = bad / total; burn rate = error ratio / (1 − objective).
//! Alerting is the SRE Workbook's multi-window, multi-burn-rate scheme: four pairs of a
//! long and a short window, each firing when *both* windows burn faster than the pair's
//! factor. Factors follow from budget shares: factor = share × period / long window, so a
//! 30-day SLO gets 14.4 (1h/5m), 6 (6h/30m), 3 (1d/2h) and 1 (3d/6h).
//!
//! A breach is a maximal run of minutes where any pair fires. Minutes without data are
//! gaps: they count neither as good nor as bad, and are reported.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::sli::{self, Minutes};
use crate::config::Slo;

/// One alerting pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BurnWindow {
    pub long_minutes: i64,
    pub short_minutes: i64,
    /// Share of the period's budget this pair is there to catch.
    pub budget_share: f64,
    pub factor: f64,
}

impl BurnWindow {
    pub fn name(&self) -> String {
        format!("{}/{}", minutes_text(self.long_minutes), minutes_text(self.short_minutes))
    }
}

fn minutes_text(m: i64) -> String {
    match m {
        m if m % 1440 == 0 => format!("{}d", m / 1440),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}

/// The four pairs for an SLO period (`[0]` is the fast one).
pub fn burn_windows(period: Duration) -> [BurnWindow; 4] {
    let period_minutes = period.num_minutes() as f64;
    [(60, 5, 0.02), (360, 30, 0.05), (1440, 120, 0.10), (4320, 360, 0.10)].map(|(long, short, share)| BurnWindow {
        long_minutes: long,
        short_minutes: short,
        budget_share: share,
        factor: share * period_minutes / long as f64,
    })
}

/// Prefix sums over a [`Minutes`] series, for window error ratios in O(1).
struct Sums {
    bad: Vec<f64>,
    total: Vec<f64>,
    data: Vec<u32>,
}

impl Sums {
    fn new(m: &Minutes) -> Sums {
        let mut s = Sums { bad: vec![0.0], total: vec![0.0], data: vec![0] };
        for i in 0..m.len() {
            s.bad.push(s.bad[i] + m.bad[i]);
            s.total.push(s.total[i] + m.total[i]);
            s.data.push(s.data[i] + u32::from(m.has_data[i]));
        }
        s
    }

    /// Minutes with data among the `w` minutes ending with minute `i`.
    fn data_minutes(&self, i: usize, w: usize) -> u32 {
        self.data[i + 1] - self.data[(i + 1).saturating_sub(w)]
    }

    /// Error ratio over the `w` minutes ending with minute `i` (inclusive); `None` when
    /// none of them has data.
    fn ratio(&self, i: usize, w: usize) -> Option<f64> {
        let (hi, lo) = (i + 1, (i + 1).saturating_sub(w));
        if self.data[hi] == self.data[lo] {
            return None;
        }
        let total = self.total[hi] - self.total[lo];
        Some(if total > 0.0 { (self.bad[hi] - self.bad[lo]) / total } else { 0.0 })
    }
}

/// A breach of one SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// `<slo>@<onset, RFC 3339 to the minute>`: what `retrace report --breach` takes.
    pub id: String,
    pub slo: String,
    pub service: String,
    /// First bad minute (burn rate > 1) of the run of bad minutes that led to the alert.
    pub onset: DateTime<Utc>,
    /// First minute the fast (1h/5m) pair fired; the first firing pair if it never did.
    pub detected: DateTime<Utc>,
    pub detected_by: String,
    pub peak_burn_rate: f64,
    pub peak_at: DateTime<Utc>,
    /// The first minute after the onset from which the next 10 minutes burn at most 1.
    pub recovered: DateTime<Utc>,
    /// When every alert condition had cleared (`None`: still firing at the window's end).
    pub end: Option<DateTime<Utc>>,
    pub bad_events: f64,
    /// `bad_events` as a share of the period's error budget, in percent.
    pub budget_consumed_pct: f64,
    pub no_data_minutes: u64,
    /// The SLO's service and services whose error logs burst during the breach.
    pub affected_services: Vec<String>,
}

/// An SLO evaluated over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloResult {
    pub slo: String,
    pub service: String,
    pub objective: f64,
    pub period_days: f64,
    pub windows: Vec<BurnWindow>,
    pub minutes: u64,
    pub no_data_minutes: u64,
    /// Gaps of at least 5 minutes without data: (start, end).
    pub gaps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub bad_events: f64,
    pub total_events: f64,
    pub budget_consumed_pct: f64,
    pub breaches: Vec<Breach>,
}

/// Minutes that together must burn at most 1 to mark a recovery.
pub const RECOVERY_MINUTES: usize = 10;

/// Burn rate of minute `i` alone.
fn minute_burn(m: &Minutes, i: usize, budget: f64) -> Option<f64> {
    if !m.has_data[i] {
        return None;
    }
    Some(if m.total[i] > 0.0 { m.bad[i] / m.total[i] / budget } else { 0.0 })
}

/// Finds breaches in per-minute data. `m` must start at least the longest window (3 days
/// for 30d SLOs) before `from` for the long windows to be full; earlier breaches are not
/// reported.
pub fn analyze(slo: &Slo, m: &Minutes, from: DateTime<Utc>) -> SloResult {
    let budget = 1.0 - slo.objective;
    let windows = burn_windows(slo.period);
    let sums = Sums::new(m);
    let first = ((from.timestamp_micros().div_euclid(sli::MINUTE) - m.start).max(0) as usize).min(m.len());
    let burn = |i: usize, w: i64| sums.ratio(i, w as usize).map(|r| r / budget);
    // A pair needs data to speak: at least its short window's length of minutes with data
    // in the long window, and half the short window. Otherwise the first minutes of a
    // warehouse (one error in five minutes "burns" a 3-day budget) would page.
    let enough = |i: usize, w: &BurnWindow| {
        sums.data_minutes(i, w.long_minutes as usize) as i64 >= w.short_minutes
            && 2 * sums.data_minutes(i, w.short_minutes as usize) as i64 >= w.short_minutes
    };
    let firing = |i: usize| -> Option<usize> {
        windows.iter().position(|w| {
            enough(i, w)
                && burn(i, w.long_minutes).is_some_and(|b| b > w.factor)
                && burn(i, w.short_minutes).is_some_and(|b| b > w.factor)
        })
    };

    // Mean traffic per minute with data: the period's budget in events.
    let data_minutes = m.has_data.iter().filter(|d| **d).count().max(1) as f64;
    let period_budget = budget * (sums.total[m.len()] / data_minutes) * slo.period.num_minutes() as f64;

    let mut breaches = Vec::new();
    let mut i = first;
    while i < m.len() {
        let Some(_) = firing(i) else {
            i += 1;
            continue;
        };
        let run_start = i;
        let mut detected = None;
        while i < m.len() && firing(i).is_some() {
            if detected.is_none() && firing(i) == Some(0) {
                detected = Some(i);
            }
            i += 1;
        }
        let run_end = i; // exclusive; == len when still firing
        // A slower pair that fires later on the same bad minutes (1d/2h catching up after
        // recovery) is the earlier breach's tail, not a new breach: no bad minute of its own.
        let has_bad = (run_start..run_end).any(|k| minute_burn(m, k, budget).is_some_and(|b| b > 1.0));
        if !has_bad && let Some(prev) = breaches.last_mut() {
            let prev: &mut Breach = prev;
            prev.end = (run_end < m.len()).then(|| m.time(run_end));
            continue;
        }
        let (detected, detected_by) = match detected {
            Some(d) => (d, windows[0].name()),
            None => (run_start, windows[firing(run_start).unwrap_or(0)].name()),
        };
        // Onset: walk back from the first alert minute over bad minutes (gaps are skipped).
        let mut onset = run_start;
        let mut j = run_start;
        while j > 0 {
            j -= 1;
            match minute_burn(m, j, budget) {
                Some(b) if b > 1.0 => onset = j,
                Some(_) => break,
                None => continue,
            }
        }
        if minute_burn(m, onset, budget).is_none_or(|b| b <= 1.0) {
            // The alert fired on older bad minutes only (a slow burn): the run's start.
            onset = run_start;
        }
        // Recovered: the first minute after the onset from which the next 10 minutes
        // together burn at most 1. Judged over 10 minutes, not minute by minute: at low
        // traffic a single error makes a minute "bad", and that is noise, not the incident.
        let recovered = (onset + 1..=run_end)
            .find(|&k| {
                let last = (k + RECOVERY_MINUTES).min(m.len()) - 1;
                k <= last && sums.ratio(last, last + 1 - k).is_none_or(|r| r / budget <= 1.0)
            })
            .unwrap_or(run_end);
        let (mut peak, mut peak_at) = (0.0f64, onset);
        for k in onset..run_end.max(onset + 1).min(m.len()) {
            if let Some(b) = burn(k, 5)
                && b > peak
            {
                (peak, peak_at) = (b, k);
            }
        }
        let bad_events: f64 = (onset..run_end).map(|k| m.bad[k]).sum();
        breaches.push(Breach {
            id: breach_id(&slo.name, m.time(onset)),
            slo: slo.name.clone(),
            service: slo.service.clone(),
            onset: m.time(onset),
            detected: m.time(detected),
            detected_by,
            peak_burn_rate: round3(peak),
            peak_at: m.time(peak_at),
            recovered: m.time(recovered),
            end: (run_end < m.len()).then(|| m.time(run_end)),
            bad_events: round3(bad_events),
            budget_consumed_pct: round3(if period_budget > 0.0 { bad_events / period_budget * 100.0 } else { 0.0 }),
            no_data_minutes: (onset..run_end).filter(|&k| !m.has_data[k]).count() as u64,
            affected_services: vec![slo.service.clone()],
        });
    }

    let range = first..m.len();
    let bad_events: f64 = range.clone().map(|k| m.bad[k]).sum();
    let total_events: f64 = range.clone().map(|k| m.total[k]).sum();
    let mut gaps = Vec::new();
    let mut k = first;
    while k < m.len() {
        if m.has_data[k] {
            k += 1;
            continue;
        }
        let start = k;
        while k < m.len() && !m.has_data[k] {
            k += 1;
        }
        if k - start >= 5 {
            gaps.push((m.time(start), m.time(k)));
        }
    }
    SloResult {
        slo: slo.name.clone(),
        service: slo.service.clone(),
        objective: slo.objective,
        period_days: slo.period.num_minutes() as f64 / 1440.0,
        windows: windows.to_vec(),
        minutes: range.len() as u64,
        no_data_minutes: range.clone().filter(|&k| !m.has_data[k]).count() as u64,
        gaps,
        bad_events: round3(bad_events),
        total_events: round3(total_events),
        budget_consumed_pct: round3(if period_budget > 0.0 { bad_events / period_budget * 100.0 } else { 0.0 }),
        breaches,
    }
}

/// A breach's id: the SLO and its onset minute, so it is stable across runs and readable.
pub fn breach_id(slo: &str, onset: DateTime<Utc>) -> String {
    format!("{slo}@{}", onset.format("%Y-%m-%dT%H:%MZ"))
}

/// Burn rate over the `w` minutes ending at each minute of `m` (`None`: no data in them).
/// The series the report's burn-rate chart draws.
pub fn burn_series(slo: &Slo, m: &Minutes, w: i64) -> Vec<Option<f64>> {
    let budget = 1.0 - slo.objective;
    let sums = Sums::new(m);
    (0..m.len()).map(|i| sums.ratio(i, w.max(1) as usize).map(|r| r / budget)).collect()
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sli;

    fn slo(objective: f64) -> Slo {
        Slo {
            name: "s".into(),
            service: "svc".into(),
            objective,
            period: Duration::days(30),
            sli: Sli::LogRatio { bad: "x".into(), total: "y".into() },
        }
    }

    #[test]
    fn thirty_day_factors_match_the_workbook_and_scale_with_the_period() {
        let f: Vec<f64> =
            burn_windows(Duration::days(30)).iter().map(|w| (w.factor * 1000.0).round() / 1000.0).collect();
        assert_eq!(f, vec![14.4, 6.0, 3.0, 1.0]);
        let w: Vec<String> = burn_windows(Duration::days(30)).iter().map(BurnWindow::name).collect();
        assert_eq!(w, vec!["1h/5m", "6h/30m", "1d/2h", "3d/6h"]);
        // 7 days: same budget shares, so 14.4 × 7/30 = 3.36 for the fast pair.
        let seven: Vec<f64> =
            burn_windows(Duration::days(7)).iter().map(|w| (w.factor * 1000.0).round() / 1000.0).collect();
        assert_eq!(seven, vec![3.36, 1.4, 0.7, 0.233]);
    }

    /// Hand-computed: 4,320 minutes of history at 1,000 requests/min and 0.05% errors, then
    /// 20 minutes at 5% errors (burn 50), then clean again. Objective 99.9%.
    #[test]
    fn breach_onset_detection_peak_and_end_by_hand() {
        let from = DateTime::from_timestamp(1_795_046_400, 0).unwrap(); // 2026-11-19T00:00Z
        let history = 4320usize;
        let n = history + 600;
        let mut m = Minutes {
            start: from.timestamp_micros() / sli::MINUTE - history as i64,
            bad: vec![0.5; n],
            total: vec![1000.0; n],
            has_data: vec![true; n],
        };
        let t0 = history + 120; // 02:00
        for k in t0..t0 + 20 {
            m.bad[k] = 50.0;
        }
        // A 10-minute gap later on.
        for k in history + 400..history + 410 {
            (m.bad[k], m.total[k], m.has_data[k]) = (0.0, 0.0, false);
        }
        let r = analyze(&slo(0.999), &m, from);
        assert_eq!(r.breaches.len(), 1, "{:?}", r.breaches);
        let b = &r.breaches[0];
        assert_eq!(b.onset.to_rfc3339(), "2026-11-19T02:00:00+00:00");
        // 1h window: 0.5 per minute baseline; after k bad minutes the 1h ratio is
        // (59−k+1)·0.5 + 50·k over 60,000. It exceeds 14.4 × 0.001 = 0.0144 (864 bad) when
        // 49.5·k + 30 > 864, i.e. k ≥ 17: the 17th bad minute, 02:16. The 5m window
        // (≥ 0.0144 × 5000 = 72 bad) burns from the 2nd bad minute on.
        assert_eq!(b.detected.to_rfc3339(), "2026-11-19T02:16:00+00:00");
        assert_eq!(b.detected_by, "1h/5m");
        assert_eq!(b.peak_burn_rate, 50.0);
        assert_eq!(b.recovered.to_rfc3339(), "2026-11-19T02:20:00+00:00");
        // The end is when no pair fires. 1h/5m: the 1h window holds the 1,000 burst errors
        // for an hour, but the 5m window (needs > 72 bad) ending at 02:22 still holds
        // 02:18–02:19 (100 + 1.5) and the one ending at 02:23 only 02:19 (50 + 2): clear.
        // 6h/30m (factor 6): the 30m window (> 180) fires, but the 6h window needs > 2,160
        // and holds 1,000 + 340 × 0.5 = 1,170: no. 1d/2h (factor 3): 1d needs > 4,320 and
        // holds 1,000 + 1,420 × 0.5 = 1,710: no. 3d/6h (factor 1): 3d needs > 4,320 and holds
        // 1,000 + 4,300 × 0.5 = 3,150: no. So the end is 02:23.
        assert_eq!(b.end.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-19T02:23:00+00:00"));
        // Bad events from the onset to the end: the burst plus three baseline minutes.
        assert_eq!(b.bad_events, 20.0 * 50.0 + 3.0 * 0.5);
        // Budget: 0.1% of 1,000 requests/min (mean over minutes with data; the gap is not
        // traffic) × 43,200 minutes = 43,200 bad events; 1,001.5 of them is 2.318%.
        assert_eq!(b.budget_consumed_pct, 2.318);
        assert_eq!(r.no_data_minutes, 10);
        assert_eq!(r.gaps.len(), 1);
        assert_eq!(r.gaps[0].0.to_rfc3339(), "2026-11-19T06:40:00+00:00");
    }

    /// The first minutes of data: one error in the fifth minute would "burn" the 3-day
    /// budget (0.1% of 5 × 115 requests is 0.6), but no pair has enough data to fire.
    #[test]
    fn a_warehouse_that_just_started_does_not_page() {
        let from = DateTime::from_timestamp(1_795_046_400, 0).unwrap();
        let n = 30;
        let mut m = Minutes {
            start: from.timestamp_micros() / sli::MINUTE,
            bad: vec![0.0; n],
            total: vec![115.0; n],
            has_data: vec![true; n],
        };
        m.bad[5] = 1.0;
        assert!(analyze(&slo(0.999), &m, from).breaches.is_empty());
    }

    #[test]
    fn no_data_is_never_good_and_never_alerts() {
        let from = DateTime::from_timestamp(1_795_046_400, 0).unwrap();
        let n = 5000;
        let m = Minutes {
            start: from.timestamp_micros() / sli::MINUTE - 4320,
            bad: vec![0.0; n],
            total: vec![0.0; n],
            has_data: vec![false; n],
        };
        let r = analyze(&slo(0.999), &m, from);
        assert!(r.breaches.is_empty());
        assert_eq!(r.no_data_minutes, 680);
    }
}
