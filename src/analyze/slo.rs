//! Burn rates and breaches (docs/slo.md has every definition).
//!
//! Per minute: error ratio = bad / total; burn rate = error ratio / (1 − objective).
//! Alerting is the SRE Workbook's multi-window, multi-burn-rate scheme: four pairs of a
//! long and a short window, each firing when *both* windows burn faster than the pair's
//! factor. Factors follow from budget shares: factor = share × period / long window, so a
//! 30-day SLO gets 14.4 (1h/5m), 6 (6h/30m), 3 (1d/2h) and 1 (3d/6h).
//!
//! A breach is an episode: it opens when a pair starts firing, begins at the change point
//! against the baseline before it, and recovers when the errors are back (see
//! [`analyze`]). A breach still burning when the data ends is ongoing. An SLO whose
//! normal error ratio is above budget burns chronically: that is a finding of its own,
//! not a breach. Minutes without data are gaps: they count neither as good nor as bad,
//! and are reported.

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

/// A breach of one SLO: one episode of its error budget burning fast enough to alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// `<slo>@<onset, RFC 3339 to the minute>`: what `retrace report --breach` takes.
    /// Unique: a breach's onset is never inside an earlier breach of its SLO.
    pub id: String,
    pub slo: String,
    pub service: String,
    /// The change point: the first minute of the episode, where the error ratio left its
    /// baseline (Page's CUSUM against the baseline before the alert, docs/slo.md).
    pub onset: DateTime<Utc>,
    /// First minute the alert that opened the breach fired.
    pub detected: DateTime<Utc>,
    pub detected_by: String,
    /// The error ratio before the episode: the median of the 10-minute ratios of the
    /// 6 hours before the alert (the last 30 minutes left out).
    pub baseline_error_ratio: f64,
    pub peak_burn_rate: f64,
    pub peak_at: DateTime<Utc>,
    /// The first minute after the onset from which the next 10 minutes are back within
    /// budget (or within the baseline's noise). `None`: still burning when the data ends.
    pub recovered: Option<DateTime<Utc>>,
    /// Where the data ends, for a breach that had not recovered by then (`None` once it
    /// recovered): the breach is *ongoing at* this time, in every output.
    pub ongoing_at: Option<DateTime<Utc>>,
    /// When the alert conditions that can open a breach had cleared (`None`: still firing).
    pub end: Option<DateTime<Utc>>,
    pub bad_events: f64,
    /// `bad_events` as a share of the period's error budget, in percent.
    pub budget_consumed_pct: f64,
    pub no_data_minutes: u64,
    /// The SLO's service and services whose error logs burst during the breach.
    pub affected_services: Vec<String>,
}

impl Breach {
    /// Its recovery, or where the data ends while it is still going on: how far the
    /// breach reaches.
    pub fn until(&self) -> DateTime<Utc> {
        self.recovered.or(self.ongoing_at).unwrap_or(self.onset).max(self.onset)
    }

    pub fn is_ongoing(&self) -> bool {
        self.recovered.is_none()
    }
}

/// An SLO whose normal error ratio is above its budget: the slowest alert would fire all
/// the time. Not a breach: no episode begins, and no change explains a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChronicBurn {
    /// The median burn rate of the hours with data.
    pub burn_rate: f64,
    /// The share of those hours burning faster than 1, in percent.
    pub hours_burning_pct: f64,
}

impl ChronicBurn {
    /// The finding, as every output words it.
    pub fn text(&self, slo: &str) -> String {
        format!(
            "{slo} is burning at {:.1}× its budget all window ({:.0} % of its hours): the objective or the baseline needs attention.",
            self.burn_rate, self.hours_burning_pct
        )
    }
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
    /// Burning above budget all along, if it is.
    pub chronic: Option<ChronicBurn>,
    pub breaches: Vec<Breach>,
}

/// Minutes that together must be back within budget to mark a recovery.
pub const RECOVERY_MINUTES: usize = 10;

/// How far before an alert its baseline and its change point are looked for.
const BASELINE_MINUTES: usize = 360;

/// The pairs that page (1h/5m and 6h/30m): one of them starting to fire opens a breach
/// of its own, whatever slower pairs were doing.
const FAST_PAIRS: usize = 2;

/// Finds breaches in per-minute data. `m` must start at least the longest window (3 days
/// for 30d SLOs) before `from` for the long windows to be full; earlier breaches are not
/// reported.
///
/// A breach is an *episode*: it opens when an alert starts firing (a fast pair, or a slow
/// pair on an SLO that is not burning chronically) after the previous breach recovered;
/// its onset is the change point against the baseline before it, never earlier than the
/// previous breach's recovery; it recovers when 10 minutes are back within budget or
/// within the baseline's noise; it ends when no alert that could open a breach fires. A
/// breach that has not recovered when the data ends is ongoing, with no recovery.
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
    let firing: Vec<Option<usize>> = (0..m.len())
        .map(|i| {
            windows.iter().position(|w| {
                enough(i, w)
                    && burn(i, w.long_minutes).is_some_and(|b| b > w.factor)
                    && burn(i, w.short_minutes).is_some_and(|b| b > w.factor)
            })
        })
        .collect();
    let chronic = chronic_burn(m, budget);
    let fast = |i: usize| firing[i].is_some_and(|p| p < FAST_PAIRS);
    // Whether the alert firing at `i` could open a breach: a slower pair on a chronically
    // burning SLO is the chronic burn, reported as such.
    let alerting = |i: usize| firing[i].is_some_and(|p| p < FAST_PAIRS || chronic.is_none());
    let data_end = (0..m.len()).rev().find(|&i| m.has_data[i]).map_or(m.len(), |i| i + 1);

    // Mean traffic per minute with data: the period's budget in events.
    let data_minutes = m.has_data.iter().filter(|d| **d).count().max(1) as f64;
    let period_budget = budget * (sums.total[m.len()] / data_minutes) * slo.period.num_minutes() as f64;

    let mut breaches: Vec<Breach> = Vec::new();
    // Where the next breach's onset search may start: the previous breach's recovery.
    let mut floor = 0usize;
    let mut i = first;
    while i < m.len() {
        if !alerting(i) {
            i += 1;
            continue;
        }
        let detected = i;
        let detected_by = windows[firing[i].unwrap_or(0)].name();
        // A slow pair firing on errors an earlier breach left in its long window is that
        // breach's tail: it needs errors of its own in the last half hour.
        if !fast(i) && burn(i, 30).is_none_or(|b| b <= 1.0) {
            i += 1;
            continue;
        }
        let lo = floor.max(detected.saturating_sub(BASELINE_MINUTES));
        let p0 = baseline_ratio(m, lo, detected.saturating_sub(30).max(lo));
        // The alert's short window must hold more errors than the baseline's noise: at low
        // traffic two stray errors in five minutes "burn" a 99.99 % budget 14× over, and
        // that is not an episode.
        let short = windows[firing[i].unwrap_or(0)].short_minutes as usize;
        let (bad, total) = (
            sums.bad[i + 1] - sums.bad[(i + 1).saturating_sub(short)],
            sums.total[i + 1] - sums.total[(i + 1).saturating_sub(short)],
        );
        if !beyond_noise(bad, total, p0) {
            i += 1;
            continue;
        }
        let onset = change_point(m, lo, detected, p0, p0.max(budget));
        // The errors were still there when the alert fired (its short window burned), so
        // a recovery is looked for from a few minutes before the detection on.
        let recovered = ((onset + 1).max(detected.saturating_sub(4))..m.len())
            .find(|&k| recovered_from(m, &sums, k, budget, p0, data_end));
        let until = recovered.unwrap_or(data_end).max(onset + 1).min(m.len());
        // The end: the first minute from the recovery on where no alert that can open a
        // breach fires, or where a fast pair starts firing again (a new episode).
        let end = recovered
            .and_then(|r| (r..m.len()).find(|&k| !alerting(k) || (k > r && fast(k) && (k == 0 || !fast(k - 1)))));
        let (mut peak, mut peak_at) = (0.0f64, onset);
        for k in onset..until {
            if let Some(b) = burn(k, 5)
                && b > peak
            {
                (peak, peak_at) = (b, k);
            }
        }
        let bad_events: f64 = (onset..until).map(|k| m.bad[k]).sum();
        breaches.push(Breach {
            id: breach_id(&slo.name, m.time(onset)),
            slo: slo.name.clone(),
            service: slo.service.clone(),
            onset: m.time(onset),
            detected: m.time(detected),
            detected_by,
            baseline_error_ratio: round6(p0),
            peak_burn_rate: round3(peak),
            peak_at: m.time(peak_at),
            recovered: recovered.map(|r| m.time(r)),
            ongoing_at: recovered.is_none().then(|| m.time(data_end)),
            end: end.map(|e| m.time(e)),
            bad_events: round3(bad_events),
            budget_consumed_pct: round3(if period_budget > 0.0 { bad_events / period_budget * 100.0 } else { 0.0 }),
            no_data_minutes: (onset..until).filter(|&k| !m.has_data[k]).count() as u64,
            affected_services: vec![slo.service.clone()],
        });
        match (recovered, end) {
            (Some(r), Some(e)) => {
                floor = r;
                i = e.max(detected + 1);
            }
            // Still burning, or still alerting, when the data ends.
            _ => break,
        }
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
        chronic,
        breaches,
    }
}

/// The SLO's first 12 hours with data (at least 30 of their minutes each): if their median
/// burn rate is above 1, the SLO burns chronically. The first hours, not all of them: a
/// long incident later in the data is a breach to find, not a baseline.
fn chronic_burn(m: &Minutes, budget: f64) -> Option<ChronicBurn> {
    let mut burns: Vec<f64> = m
        .bad
        .chunks(60)
        .zip(m.total.chunks(60))
        .zip(m.has_data.chunks(60))
        .filter(|(_, d)| d.iter().filter(|x| **x).count() >= 30)
        .take(12)
        .map(|((b, t), _)| {
            let total: f64 = t.iter().sum();
            if total > 0.0 { b.iter().sum::<f64>() / total / budget } else { 0.0 }
        })
        .collect();
    if burns.len() < 3 {
        return None;
    }
    burns.sort_by(f64::total_cmp);
    let median = burns[burns.len() / 2];
    let burning = burns.iter().filter(|b| **b > 1.0).count() as f64 / burns.len() as f64;
    (median > 1.0).then(|| ChronicBurn { burn_rate: round3(median), hours_burning_pct: round3(burning * 100.0) })
}

/// The median error ratio of the 10-minute blocks with data in `[lo, hi)`: robust to a
/// burst or the start of a ramp among them. 0 when there are none.
fn baseline_ratio(m: &Minutes, lo: usize, hi: usize) -> f64 {
    let mut ratios: Vec<f64> = (lo..hi)
        .step_by(10)
        .filter_map(|s| {
            let e = (s + 10).min(hi);
            let total: f64 = m.total[s..e].iter().sum();
            (m.has_data[s..e].iter().any(|d| *d) && total > 0.0).then(|| m.bad[s..e].iter().sum::<f64>() / total)
        })
        .collect();
    if ratios.is_empty() {
        return 0.0;
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// The change point of the episode alerted at `d`: Page's CUSUM of the errors in excess
/// of the baseline `p0` plus a reference `k` (at least half an error a minute), from `lo`
/// to `d`. The onset is the minute
/// after the sum last returned to zero: where the errors began to run above the baseline
/// and kept doing so. With a clean baseline (`p0` ≈ 0, `k` the budget) that is the first
/// minute of the run burning faster than 1, as before; over a chronic burn it is where
/// the episode left the burn, not the first minute of data.
fn change_point(m: &Minutes, lo: usize, d: usize, p0: f64, k: f64) -> usize {
    let (mut sum, mut start) = (0.0f64, lo);
    for i in lo..=d.min(m.len().saturating_sub(1)) {
        if !m.has_data[i] {
            continue;
        }
        // At low traffic a single stray error outweighs `k` of a minute's requests: the
        // reference is at least half an error above the baseline's expectation, so noise
        // before the episode does not pull its onset earlier.
        sum += m.bad[i] - ((p0 + k) * m.total[i]).max(p0 * m.total[i] + 0.5);
        if sum <= 0.0 {
            sum = 0.0;
            start = i + 1;
        }
    }
    start.min(d)
}

/// Whether the 10 minutes from `k` are back: within budget, or within the noise of the
/// baseline ratio `p0` (3 standard deviations of a Poisson count, plus one). They need
/// data in at least half of them: minutes past the end of the data say nothing. Near the
/// end of the data (`data_end`), the minutes left are judged if there are at least half
/// as many.
fn recovered_from(m: &Minutes, sums: &Sums, k: usize, budget: f64, p0: f64, data_end: usize) -> bool {
    let last = (k + RECOVERY_MINUTES).min(data_end.max(k + RECOVERY_MINUTES / 2)) - 1;
    let n = (last + 1).saturating_sub(k);
    if last >= m.len() || 2 * sums.data_minutes(last, n) < RECOVERY_MINUTES as u32 {
        return false;
    }
    let (bad, total) = (sums.bad[last + 1] - sums.bad[k], sums.total[last + 1] - sums.total[k]);
    bad <= budget * total || !beyond_noise(bad, total, p0)
}

/// Whether `bad` errors in `total` requests are more than a baseline ratio `p0` explains:
/// over 3 standard deviations of a Poisson count above its expectation, plus one.
fn beyond_noise(bad: f64, total: f64, p0: f64) -> bool {
    let expected = p0 * total;
    bad > expected + 3.0 * expected.sqrt() + 1.0
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

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
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
        assert_eq!(b.recovered.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-19T02:20:00+00:00"));
        assert_eq!(b.ongoing_at, None);
        // The end is when no pair fires. 1h/5m: the 1h window holds the 1,000 burst errors
        // for an hour, but the 5m window (needs > 72 bad) ending at 02:22 still holds
        // 02:18–02:19 (100 + 1.5) and the one ending at 02:23 only 02:19 (50 + 2): clear.
        // 6h/30m (factor 6): the 30m window (> 180) fires, but the 6h window needs > 2,160
        // and holds 1,000 + 340 × 0.5 = 1,170: no. 1d/2h (factor 3): 1d needs > 4,320 and
        // holds 1,000 + 1,420 × 0.5 = 1,710: no. 3d/6h (factor 1): 3d needs > 4,320 and holds
        // 1,000 + 4,300 × 0.5 = 3,150: no. So the end is 02:23.
        assert_eq!(b.end.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-19T02:23:00+00:00"));
        // Bad events from the onset to the recovery: the burst.
        assert_eq!(b.bad_events, 20.0 * 50.0);
        // Budget: 0.1% of 1,000 requests/min (mean over minutes with data; the gap is not
        // traffic) × 43,200 minutes = 43,200 bad events; 1,000 of them is 2.315%.
        assert_eq!(b.budget_consumed_pct, 2.315);
        // The baseline: 0.5 of 1,000 in every 10-minute block before the alert.
        assert_eq!(b.baseline_error_ratio, 0.0005);
        assert_eq!(r.no_data_minutes, 10);
        assert_eq!(r.gaps.len(), 1);
        assert_eq!(r.gaps[0].0.to_rfc3339(), "2026-11-19T06:40:00+00:00");
    }

    /// 3 days at 1,000 requests/min plus `hours` of window, `ratio` errors everywhere.
    fn steady(ratio: f64, hours: usize) -> (DateTime<Utc>, Minutes) {
        let from = DateTime::from_timestamp(1_795_046_400, 0).unwrap();
        let n = 4320 + hours * 60;
        let m = Minutes {
            start: from.timestamp_micros() / sli::MINUTE - 4320,
            bad: vec![1000.0 * ratio; n],
            total: vec![1000.0; n],
            has_data: vec![true; n],
        };
        (from, m)
    }

    /// A 99.99 % SLO over a 0.05 % baseline burns at 5× all day: a chronic finding, not a
    /// breach from the first minute; a page hours later is its own breach, with its onset
    /// at the change point, not walked back to the start of the data.
    #[test]
    fn a_chronic_burn_is_a_finding_and_an_acute_page_inside_it_its_own_breach() {
        let (from, mut m) = steady(0.0005, 12);
        let t0 = 4320 + 8 * 60;
        for k in t0..t0 + 30 {
            m.bad[k] = 50.0;
        }
        let r = analyze(&slo(0.9999), &m, from);
        let c = r.chronic.expect("chronic");
        assert_eq!(c.burn_rate, 5.0);
        assert_eq!(r.breaches.len(), 1, "{:?}", r.breaches);
        let b = &r.breaches[0];
        assert_eq!(b.onset, m.time(t0));
        assert_eq!(b.baseline_error_ratio, 0.0005);
        assert_eq!(b.recovered, Some(m.time(t0 + 30)));
        assert!(c.text("s").contains("burning at 5.0× its budget all window"));
    }

    /// Errors that never come back down: no recovery, ongoing at the end of the data, and
    /// moving `--to` past the data does not invent one.
    #[test]
    fn a_breach_that_never_recovers_is_ongoing_at_the_end_of_the_data() {
        let (from, mut m) = steady(0.0002, 6);
        let t0 = 4320 + 5 * 60;
        for k in t0..m.len() {
            m.bad[k] = 100.0;
        }
        // The window runs two hours past the data: minutes without data, not recovery.
        let mut wider = m.clone();
        for _ in 0..120 {
            wider.bad.push(0.0);
            wider.total.push(0.0);
            wider.has_data.push(false);
        }
        for m in [&m, &wider] {
            let r = analyze(&slo(0.999), m, from);
            assert_eq!(r.breaches.len(), 1);
            let b = &r.breaches[0];
            assert_eq!((b.onset, b.recovered, b.end), (m.time(t0), None, None));
            assert_eq!(b.ongoing_at, Some(m.time(4320 + 6 * 60)), "where the data ends");
            assert!(b.is_ongoing());
        }
    }

    /// Frequent bursts: each episode is its own breach, starting after the previous one
    /// recovered, with an id of its own.
    #[test]
    fn episodes_have_unique_ids_and_never_start_inside_an_earlier_breach() {
        let (from, mut m) = steady(0.0002, 10);
        for start in [4320 + 60, 4320 + 100, 4320 + 130, 4320 + 400] {
            for k in start..start + 12 {
                m.bad[k] = 80.0;
            }
        }
        let r = analyze(&slo(0.999), &m, from);
        assert_eq!(r.breaches.len(), 4, "{:#?}", r.breaches);
        let ids: std::collections::BTreeSet<&str> = r.breaches.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids.len(), 4);
        for pair in r.breaches.windows(2) {
            assert!(pair[1].onset >= pair[0].recovered.unwrap(), "{pair:#?}");
        }
        assert_eq!(r.no_data_minutes, 0, "gapless data has no no-data minute");
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
