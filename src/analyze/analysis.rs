//! One analysis per window: every SLO's SLI read from the warehouse once, per minute, and
//! everything the later stages derive from it. The timeline's breach rows, the suspect
//! ranking's error ratios, the report's charts and the digest's budgets all read the same
//! [`Analysis`]; none of them runs an SLI query of its own.
//!
//! Reading is the expensive part (a scan of logs or metrics per SLO); finding breaches in
//! the minutes is arithmetic. So [`Slis`] holds the minutes of a reach, and any window
//! inside it is analysed without reading again: the report looks for the latest breach
//! over the whole warehouse, then analyses the breach's window from the same minutes; the
//! digest analyses this week, the week before and the SLO's whole period from one read.

use chrono::{DateTime, Duration, DurationRound, Utc};
use datafusion::prelude::SessionContext;

use super::params::{self, Params, Window};
use super::sli::{self, Minutes};
use super::slo::{self, Breach, SloResult};
use crate::config::Slo;
use crate::error::Result;

/// The longest alerting window of an SLO: how much data before a window its breaches need.
pub fn lead(slo: &Slo) -> Duration {
    Duration::minutes(slo::burn_windows(slo.period).iter().map(|w| w.long_minutes).max().unwrap_or(60))
}

/// Every SLO's SLI per minute over a reach, read once.
#[derive(Debug, Clone)]
pub struct Slis {
    series: Vec<(Slo, Minutes)>,
}

impl Slis {
    /// Reads each SLO's SLI over `[from − its lead, to)`, the SLOs side by side.
    pub async fn read(ctx: &SessionContext, slos: &[Slo], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Slis> {
        let minutes = futures::future::try_join_all(
            slos.iter().map(|slo| sli::evaluate(ctx, slo, Window { from: from - lead(slo), to })),
        )
        .await?;
        Ok(Slis { series: slos.iter().cloned().zip(minutes).collect() })
    }

    /// SLIs already per minute: each SLO's minutes over the reach (generated data in the
    /// robustness sweeps, tests/sweeps.rs).
    pub fn of(series: Vec<(Slo, Minutes)>) -> Slis {
        Slis { series }
    }

    /// Breaches and budgets over `window`, from the minutes already read. Minutes outside
    /// the reach count as no data: the reach is the warehouse's data range or wider.
    pub fn analysis(&self, window: Window) -> Analysis {
        let slos = self
            .series
            .iter()
            .map(|(slo, all)| {
                let minutes = all.slice(window.from - lead(slo), window.to);
                let result = slo::analyze(slo, &minutes, window.from);
                Evaluated { slo: slo.clone(), minutes, result }
            })
            .collect();
        Analysis { window, slos }
    }
}

/// The SLOs over one window: each SLO's minutes and what they say.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub window: Window,
    pub slos: Vec<Evaluated>,
}

/// One SLO over the window.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub slo: Slo,
    /// The SLI per minute from the SLO's [`lead`] before the window to its end.
    pub minutes: Minutes,
    pub result: SloResult,
}

impl Analysis {
    /// Reads and analyses `slos` over `window`.
    pub async fn evaluate(ctx: &SessionContext, slos: &[Slo], window: Window) -> Result<Analysis> {
        Ok(Slis::read(ctx, slos, window.from, window.to).await?.analysis(window))
    }

    /// No SLOs: no breaches, nothing to chart.
    pub fn empty(window: Window) -> Analysis {
        Analysis { window, slos: Vec::new() }
    }

    pub fn results(&self) -> impl Iterator<Item = &SloResult> {
        self.slos.iter().map(|e| &e.result)
    }

    /// Every breach that began in the window, SLO by SLO in config order.
    pub fn breaches(&self) -> impl Iterator<Item = &Breach> {
        self.results().flat_map(|r| &r.breaches)
    }

    pub fn slo(&self, name: &str) -> Option<&Evaluated> {
        self.slos.iter().find(|e| e.slo.name == name)
    }

    /// Fills each breach's affected services: its own service and the services whose
    /// error lines burst while it lasted (one query per breach). Only the verbs that show
    /// them ask: finding the latest breach of a warehouse does not need them.
    pub async fn with_affected_services(mut self, ctx: &SessionContext) -> Result<Analysis> {
        for b in self.slos.iter_mut().flat_map(|e| &mut e.result.breaches) {
            b.affected_services =
                affected_services(ctx, &b.service, b.onset, b.until().max(b.onset + Duration::minutes(1))).await?;
        }
        Ok(self)
    }
}

const AFFECTED_SQL: &str = include_str!("../../queries/error_bursts_vs_baseline.sql");

/// The breach's service plus services whose error lines during `[from, to)` ran at least
/// 3× their rate of the 6 hours before (and at least 10 lines).
async fn affected_services(
    ctx: &SessionContext,
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>> {
    let p = Params::window(Window { from, to }, None)
        .with("baseline_from", params::timestamp(from - Duration::hours(6)))
        .with(
            "baseline_from_date",
            datafusion::scalar::ScalarValue::Utf8(Some((from - Duration::hours(6)).date_naive().to_string())),
        );
    #[derive(serde::Deserialize)]
    struct Row {
        service: Option<String>,
    }
    let mut out = vec![service.to_string()];
    for name in params::rows::<Row>(ctx, AFFECTED_SQL, p).await?.into_iter().filter_map(|r| r.service) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out[1..].sort();
    Ok(out)
}

/// The time range the warehouse has data for (logs and metrics), if any.
pub async fn data_range(ctx: &SessionContext) -> Result<Option<Window>> {
    let sql = "SELECT min(lo) AS lo, max(hi) AS hi FROM (\
               SELECT min(ts) AS lo, max(ts) AS hi FROM logs UNION ALL SELECT min(ts), max(ts) FROM metrics)";
    #[derive(serde::Deserialize)]
    struct Range {
        lo: Option<DateTime<Utc>>,
        hi: Option<DateTime<Utc>>,
    }
    let rows: Vec<Range> = params::rows(ctx, sql, Params::default()).await?;
    Ok(match rows.first() {
        // To the end of the last minute with data: `hi + 1 min` reached into a minute with
        // none, and every SLO reported one no-data minute on gapless data.
        Some(Range { lo: Some(lo), hi: Some(hi) }) => {
            let last = hi.duration_trunc(Duration::minutes(1)).unwrap_or(*hi);
            Some(Window { from: *lo, to: last + Duration::minutes(1) })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sli;

    fn slo() -> Slo {
        Slo {
            name: "s".into(),
            service: "svc".into(),
            objective: 0.999,
            period: Duration::days(30),
            sli: Sli::LogRatio { bad: "x".into(), total: "y".into() },
        }
    }

    /// A window analysed from a wider read is the window analysed from its own read: the
    /// same breaches, budgets and gaps, since minutes outside a read have no data either way.
    #[test]
    fn a_window_of_a_wider_read_is_the_window_read_alone() {
        let day = DateTime::from_timestamp(1_795_046_400, 0).unwrap(); // 2026-11-19T00:00Z
        let (from, to) = (day - Duration::days(4), day + Duration::days(1));
        let mut all = Minutes::new(from, to);
        for i in 0..all.len() {
            (all.total[i], all.bad[i], all.has_data[i]) = (1000.0, 0.5, i % 97 != 0);
        }
        // Two bursts, one in the narrow window and one before it.
        for k in 4 * 1440 + 600..4 * 1440 + 625 {
            all.bad[k] = 60.0;
        }
        for k in 4 * 1440 - 300..4 * 1440 - 280 {
            all.bad[k] = 60.0;
        }
        let slis = Slis { series: vec![(slo(), all.clone())] };
        let narrow = Window { from: day + Duration::hours(8), to: day + Duration::hours(14) };
        let alone = all.slice(narrow.from - lead(&slo()), narrow.to);
        let expected = slo::analyze(&slo(), &alone, narrow.from);
        let got = slis.analysis(narrow);
        assert_eq!(got.slos[0].result, expected);
        assert_eq!(got.breaches().count(), 1);
        // A window past the end of the read: its minutes there are gaps, not good minutes.
        let late = Window { from: day + Duration::hours(20), to: day + Duration::hours(30) };
        let r = &slis.analysis(late).slos[0].result;
        let gaps_in_read = (4 * 1440 + 20 * 60..5 * 1440).filter(|i| i % 97 == 0).count() as u64;
        assert_eq!(r.no_data_minutes, gaps_in_read + 6 * 60);
    }
}
