//! Which incident a report is about: a breach by id (`--breach`), a window (`--from/--to`),
//! or, with neither, the most recent breach in the warehouse. A breach becomes a window
//! from an hour before its onset to an hour after its recovery, on half-hour marks.
//!
//! The SLIs are read once: the breaches of the whole warehouse and the analysis of the
//! chosen window both come from the same minutes.

use chrono::{DateTime, Duration, DurationRound, Utc};
use datafusion::prelude::SessionContext;

use crate::analyze::Window;
use crate::analyze::analysis::{self, Analysis, Slis};
use crate::analyze::slo::Breach;
use crate::config::Config;
use crate::error::{Error, Result};

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Breach(String),
    Window(Window),
    Latest,
}

/// The window to report on, the breach it is about (none for a plain window) and the
/// window's analysis (affected services filled in).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub window: Window,
    pub focus: Option<Breach>,
    pub analysis: Analysis,
    /// The SLIs read to find the breach: any other window of the warehouse (the demo's
    /// timeline) is analysed from them without reading again.
    pub slis: Slis,
}

pub async fn resolve(ctx: &SessionContext, config: &Config, selection: &Selection) -> Result<Resolved> {
    if let Selection::Window(w) = selection {
        let slis = Slis::read(ctx, &config.slos, w.from, w.to).await?;
        let analysis = slis.analysis(*w).with_affected_services(ctx).await?;
        return Ok(Resolved { window: *w, focus: None, analysis, slis });
    }
    if config.slos.is_empty() {
        return Err(Error::Usage(
            "the config defines no SLOs, so there are no breaches to report on; pass --from/--to".into(),
        ));
    }
    let Some(range) = analysis::data_range(ctx).await? else {
        return Err(Error::Usage("the warehouse has no logs or metrics yet; run `retrace ingest` first".into()));
    };
    let slis = Slis::read(ctx, &config.slos, range.from, range.to).await?;
    let mut breaches: Vec<Breach> = slis.analysis(range).breaches().cloned().collect();
    breaches.sort_by(|a, b| (a.onset, &a.id).cmp(&(b.onset, &b.id)));
    let focus = match selection {
        Selection::Breach(id) => breaches.iter().find(|b| &b.id == id).cloned().ok_or_else(|| {
            let known: Vec<&str> = breaches.iter().rev().take(10).map(|b| b.id.as_str()).collect();
            Error::Usage(if known.is_empty() {
                format!("no breach `{id}`: the warehouse has no SLO breaches")
            } else {
                format!("no breach `{id}`; the most recent are: {}", known.join(", "))
            })
        })?,
        _ => breaches.last().cloned().ok_or_else(|| {
            Error::Usage(format!(
                "no SLO breach between {} and {}; pass --from/--to to report on a window",
                crate::display::utc(range.from),
                crate::display::utc(range.to)
            ))
        })?,
    };
    let window = breach_window(&focus)?;
    let analysis = slis.analysis(window).with_affected_services(ctx).await?;
    Ok(Resolved { window, focus: Some(focus), analysis, slis })
}

/// An hour before the onset to an hour after the recovery, widened to half hours.
pub fn breach_window(b: &Breach) -> Result<Window> {
    let half = Duration::minutes(30);
    let from = floor(b.onset - Duration::hours(1), half)?;
    let to = floor(b.until() + Duration::hours(1) + half - Duration::microseconds(1), half)?;
    Window::new(from, to)
}

fn floor(t: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>> {
    t.duration_trunc(d).map_err(|e| Error::Internal(format!("rounding {t}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_breach_window_spans_an_hour_each_side_on_half_hours() {
        let b = Breach {
            id: "x@2026-11-19T14:09Z".into(),
            slo: "x".into(),
            service: "s".into(),
            onset: at("2026-11-19T14:09:00Z"),
            detected: at("2026-11-19T14:13:00Z"),
            detected_by: "1h/5m".into(),
            peak_burn_rate: 1.0,
            peak_at: at("2026-11-19T14:16:00Z"),
            recovered: Some(at("2026-11-19T14:42:00Z")),
            ongoing_at: None,
            baseline_error_ratio: 0.0,
            end: None,
            bad_events: 1.0,
            budget_consumed_pct: 1.0,
            no_data_minutes: 0,
            affected_services: vec![],
        };
        let w = breach_window(&b).unwrap();
        assert_eq!((w.from, w.to), (at("2026-11-19T13:00:00Z"), at("2026-11-19T16:00:00Z")));
        let b = Breach { recovered: Some(at("2026-11-19T15:00:00Z")), ..b };
        assert_eq!(breach_window(&b).unwrap().to, at("2026-11-19T16:00:00Z"));
    }
}
