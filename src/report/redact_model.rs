//! One redaction pass over a finished report: every text it holds, whatever stage built
//! it (the headline and the verdicts are derived before this pass and redacted by it).
//!
//! Each type lists *all* of its fields in [`redact_fields!`], which destructures without
//! `..`: a field added to a report type and not listed here is a compile error, so no
//! text can reach a reader unredacted by being forgotten. Fields that are not text
//! (numbers, times, enums) redact to nothing; the few texts that must stay as they are
//! (the display zone, a zone and not text) are listed as `keep`.

use chrono::{DateTime, Utc};

use super::model::BurnSeries;
use super::model::{
    Charts, ChronicFinding, DataQuality, DeploySpan, DuplicateCount, ErrorPeak, Gap, Impact, Marker, Milestone,
    PeopleResponse, RejectGroup, Report, Response, ServiceActivity, ServiceSeries, SkewRow, SliSeries,
};
use super::redact::Redactor;
use crate::analyze::slo::{Breach, ChronicBurn};
use crate::analyze::suspects::{BreachSuspects, Mitigation, Suspect, Verdict};
use crate::analyze::timeline::{Event, EventKind, Severity, SourceRef, Subject};

impl Report {
    /// Replaces secrets in every text of the finished report, and keeps what the scrub of
    /// its rendered files needs.
    pub fn redact(&mut self, r: &mut Redactor) {
        Redact::redact(self, r);
        self.redacted_values = r.replaced();
        self.scrubber = r.scrubber();
    }
}

/// Text in a value that leaves the process, replaced in place by placeholders.
pub trait Redact {
    fn redact(&mut self, r: &mut Redactor);
}

impl Redact for String {
    fn redact(&mut self, r: &mut Redactor) {
        r.redact_in_place(self);
    }
}

impl<T: Redact> Redact for Option<T> {
    fn redact(&mut self, r: &mut Redactor) {
        if let Some(v) = self {
            v.redact(r);
        }
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(&mut self, r: &mut Redactor) {
        for v in self {
            v.redact(r);
        }
    }
}

impl<A: Redact, B: Redact> Redact for (A, B) {
    fn redact(&mut self, r: &mut Redactor) {
        self.0.redact(r);
        self.1.redact(r);
    }
}

/// Values with no text in them.
macro_rules! no_text {
    ($($t:ty),*) => {
        $(impl Redact for $t {
            fn redact(&mut self, _: &mut Redactor) {}
        })*
    };
}
no_text!(bool, u64, i64, usize, f64, DateTime<Utc>, Verdict, EventKind, Severity, ChronicBurn);

/// `impl Redact` for a struct by redacting every field listed; `keep` lists the fields
/// deliberately left alone. Every field must be named in one of the two lists.
macro_rules! redact_fields {
    ($t:path { $($field:ident),* $(,)? } $(keep { $($kept:ident),* $(,)? })?) => {
        impl $crate::report::redact_model::Redact for $t {
            fn redact(&mut self, r: &mut $crate::report::redact::Redactor) {
                #[allow(unused_variables)]
                let Self { $($field,)* $($($kept: _,)*)? } = self;
                $($crate::report::redact_model::Redact::redact($field, r);)*
            }
        }
    };
}
pub(crate) use redact_fields;

redact_fields!(Report {
    title, window, service, focus, headline, impact, response, chronic, breaches, activity, error_peaks, timeline,
    timeline_omitted, signals, deploys, data_quality, charts, redacted_values,
} keep {
    // A zone, not text: it comes from the config, never from data.
    display_timezone,
    // Not rendered: the prefix stripped from source URLs, and the pass's own record.
    source_root,
    scrubber,
});
redact_fields!(ChronicFinding { slo, service, burn });
redact_fields!(Impact {
    slos,
    started,
    recovered,
    ongoing_at,
    duration_minutes,
    bad_events,
    budget_burned_pct,
    affected_services
});
redact_fields!(Response {
    onset,
    detected,
    detected_by,
    mitigated,
    mitigated_by,
    resolved,
    ongoing_at,
    alerts_cleared,
    time_to_detect_minutes,
    time_to_mitigate_minutes,
    time_to_resolve_minutes,
    people,
});
redact_fields!(PeopleResponse {
    first_alert,
    first_page,
    acknowledged,
    declared,
    first_status_update,
    mitigating_action,
    detection_gap_minutes,
    time_to_acknowledge_minutes,
    time_to_communicate_minutes,
    recorded,
});
redact_fields!(Milestone { at, actor, what });
redact_fields!(BreachSuspects { breach, verdict, suspects, follows, shared_with, mitigation });
redact_fields!(Mitigation { at, kind, id, service, title, undid });
redact_fields!(Breach {
    id,
    slo,
    service,
    onset,
    detected,
    detected_by,
    baseline_error_ratio,
    peak_burn_rate,
    peak_at,
    recovered,
    ongoing_at,
    end,
    bad_events,
    budget_consumed_pct,
    no_data_minutes,
    affected_services,
});
redact_fields!(Suspect {
    rank,
    kind,
    id,
    service,
    ts,
    title,
    time,
    scope,
    effect,
    recovery,
    score,
    verdict,
    undone_at,
    evidence,
    said,
});
redact_fields!(ServiceActivity { service, lines, warn_lines, error_lines, status_5xx, first_error });
redact_fields!(ErrorPeak { minute, service, lines });
redact_fields!(Event { ts, end, kind, service, severity, id, title, detail, count, source, subject });

impl Redact for Subject {
    fn redact(&mut self, r: &mut Redactor) {
        match self {
            Subject::Change { key, old, new, actor, system, reverts } => {
                // A value is redacted as it stands after its key (`password: x`), the way
                // the title spells it, so a short secret under a secret's key is caught
                // here too, not only by the scrub (which leaves values under 4 characters).
                if let Some(k) = key.as_deref() {
                    for v in [&mut *old, &mut *new].into_iter().flatten() {
                        *v = r.redact_value(k, v);
                    }
                } else {
                    old.redact(r);
                    new.redact(r);
                }
                key.redact(r);
                actor.redact(r);
                system.redact(r);
                reverts.redact(r);
            }
            Subject::Deploy { version, previous, status } => {
                version.redact(r);
                previous.redact(r);
                status.redact(r);
            }
        }
    }
}
redact_fields!(SourceRef { object, line });
redact_fields!(DeploySpan {
    deploy_id,
    service,
    version,
    previous_version,
    environment,
    started,
    ended,
    final_status,
    max_percent,
    events,
    source,
});
redact_fields!(DataQuality { gaps, rejects, skew, skew_hosts_checked, duplicates });
redact_fields!(Gap { slo, from, to });
redact_fields!(RejectGroup { table, reason, records, objects, example });
redact_fields!(SkewRow { host, evidence, reference, pairs, median_offset_ms });
redact_fields!(DuplicateCount { table, records });
redact_fields!(Charts { start, minutes, slis, services, markers });
redact_fields!(SliSeries { slo, service, objective, error_pct, burn, alert_factor, breaches });
redact_fields!(BurnSeries { window, values });
redact_fields!(ServiceSeries { service, error_lines });
redact_fields!(Marker { ts, kind, id, service, suspect });
