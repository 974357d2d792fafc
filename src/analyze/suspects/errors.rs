//! Every service's errors per minute, as the suspect ranking reads them: a service's SLO's
//! SLI when it has one (its first in the config), else the share of its log lines at
//! error/fatal level.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;

use crate::analyze::Analysis;
use crate::analyze::params::Window;
use crate::analyze::sli::{self, Minutes};
use crate::config::{Config, Slo};
use crate::error::Result;

/// The default errors SLI of a service without an SLO.
const DEFAULT_BAD: &str = "level IN ('error', 'fatal')";
const DEFAULT_TOTAL: &str = "true";

/// Services' errors per minute, each over the span it was read for.
#[derive(Debug, Clone, Default)]
pub struct ServiceErrors {
    by_service: HashMap<String, (Window, Minutes)>,
}

impl ServiceErrors {
    /// Errors known without reading: each service's SLO minutes in `analysis`. They reach
    /// far enough for breaches of its window and the default lookback.
    pub fn of_analysis(config: &Config, analysis: &Analysis) -> ServiceErrors {
        let mut out = ServiceErrors::default();
        for e in &analysis.slos {
            if slo_of(config, &e.slo.service).is_some_and(|f| f.name == e.slo.name) && !e.minutes.is_empty() {
                out.insert(&e.slo.service, e.minutes.clone());
            }
        }
        out
    }

    /// `service`'s errors are `minutes` (over the span they cover).
    pub fn insert(&mut self, service: &str, minutes: Minutes) {
        let covered = Window { from: minutes.time(0), to: minutes.time(minutes.len()) };
        self.by_service.insert(service.to_string(), (covered, minutes));
    }

    pub fn get(&self, service: &str) -> Option<&Minutes> {
        self.by_service.get(service).map(|(_, m)| m)
    }

    /// Reads the errors of `services` not yet covering `span`, a generous span around it
    /// (breaches are usually close together): the SLO ones side by side, the others from
    /// one grouped scan of the logs. The effects of a breach's candidates look up their
    /// own service and every unrelated one, so filling up front turns a query per service
    /// into one.
    pub async fn fill(
        &mut self,
        ctx: &SessionContext,
        config: &Config,
        services: &BTreeSet<String>,
        span: Window,
    ) -> Result<()> {
        let missing: Vec<&str> = services
            .iter()
            .filter(|s| !self.by_service.get(*s).is_some_and(|(w, _)| w.from <= span.from && w.to >= span.to))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let wide = Window { from: span.from - Duration::hours(6), to: span.to + Duration::hours(2) };
        let (mut with_slo, mut without) = (Vec::new(), Vec::new());
        for s in missing {
            match slo_of(config, s) {
                Some(slo) => with_slo.push((s, slo)),
                None => without.push(s),
            }
        }
        let evaluated =
            futures::future::try_join_all(with_slo.iter().map(|(_, slo)| sli::evaluate(ctx, slo, wide))).await?;
        for ((s, _), m) in with_slo.iter().zip(evaluated) {
            self.by_service.insert(s.to_string(), (wide, m));
        }
        for (s, m) in sli::log_ratio_per_service(ctx, &without, DEFAULT_BAD, DEFAULT_TOTAL, wide).await? {
            self.by_service.insert(s, (wide, m));
        }
        Ok(())
    }

    /// `service`'s error ratio over `[from, to)`, over its minutes with data.
    pub fn ratio(&self, service: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
        ratio_between(self.get(service)?, from, to)
    }
}

/// Where a service's errors left their baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rise {
    /// The first minute above the baseline (the change point).
    pub at: DateTime<Utc>,
    /// The error ratio of the hour before the change it was looked for after.
    pub before: f64,
    /// The error ratio of the 5 minutes from `at`.
    pub after: f64,
}

impl ServiceErrors {
    /// When `service`'s errors rose above the hour before `ts`, looking from a minute
    /// before `ts` to `until`: Page's CUSUM of the errors in excess of that hour's ratio
    /// plus a reference (the ratio again, and at least a quarter of an error a minute,
    /// so that one stray error at low traffic is not a rise), alarming at 4 excess errors
    /// (more over a noisy baseline). The rise is where the sum last left zero before
    /// the alarm.
    pub fn rise(&self, service: &str, ts: DateTime<Utc>, until: DateTime<Utc>) -> Option<Rise> {
        let m = self.get(service)?;
        let before_span = m.starting_in(ts - Duration::minutes(60), ts);
        let (mut bad, mut total, mut minutes) = (0.0, 0.0, 0.0);
        for i in before_span {
            if m.has_data[i] {
                (bad, total, minutes) = (bad + m.bad[i], total + m.total[i], minutes + 1.0);
            }
        }
        let span = m.starting_in(ts - Duration::minutes(1), until);
        // No data in the hour before (a service whose logs hold only its errors, or that
        // was silent): nothing failed then, at the traffic the minutes after show.
        let (before, per_minute) = if minutes == 0.0 || total <= 0.0 {
            let (t, n) =
                span.clone().filter(|&i| m.has_data[i]).fold((0.0, 0.0), |(t, n), i| (t + m.total[i], n + 1.0));
            if n == 0.0 || t <= 0.0 {
                return None;
            }
            (0.0, t / n)
        } else {
            (bad / total, total / minutes)
        };
        let k = before.max(0.25 / per_minute);
        let alarm = 4.0 + 2.0 * (before * per_minute * 15.0).sqrt();
        let (mut sum, mut start) = (0.0f64, span.start);
        for i in span {
            if !m.has_data[i] {
                continue;
            }
            sum += m.bad[i] - (before + k) * m.total[i];
            if sum <= 0.0 {
                (sum, start) = (0.0, i + 1);
            } else if sum >= alarm {
                let after = ratio_between(m, m.time(start), m.time(start) + Duration::minutes(5)).unwrap_or(0.0);
                return Some(Rise { at: m.time(start), before, after });
            }
        }
        None
    }
}

impl Rise {
    /// How large the rise is, in [0.3, 1]: the log of how many times the ratio grew, 20×
    /// being the most (a rise is already beyond the baseline's noise, hence the floor).
    pub fn magnitude(&self) -> f64 {
        ((self.after / self.before.max(1e-4)).ln() / 20f64.ln()).clamp(0.3, 1.0)
    }
}

/// Error ratio over `[from, to)` of minutes with data.
pub fn ratio_between(m: &Minutes, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
    let (mut bad, mut total, mut data) = (0.0, 0.0, false);
    for i in m.starting_in(from, to) {
        if m.has_data[i] {
            bad += m.bad[i];
            total += m.total[i];
            data = true;
        }
    }
    data.then(|| if total > 0.0 { bad / total } else { 0.0 })
}

/// The SLO a service's errors are read from: its first in the config.
pub fn slo_of<'c>(config: &'c Config, service: &str) -> Option<&'c Slo> {
    config.slos.iter().find(|slo| slo.service == service)
}
