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
