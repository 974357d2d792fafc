//! Markdown rendering of a [`Report`]: an editable draft. Every table cell goes through
//! `md_cell`, so log text with pipes or line breaks cannot break a table.

use std::fmt::Write;

use chrono_tz::Tz;

use super::model::Report;
use super::tables;
use crate::display::{duration, utc};

/// SLO breaches and their ranked suspects, with each suspect's evidence.
fn render_breaches(w: &mut String, report: &Report, tz: Tz) {
    if report.breaches.is_empty() {
        return;
    }
    let _ = writeln!(w, "## Suspect changes\n");
    for b in &report.breaches {
        let br = &b.breach;
        let _ = writeln!(w, "### {} ({})\n", md_text(&br.slo), md_text(&br.service));
        let _ = write!(w, "{}", tables::breach_times(br).markdown(tz));
        let _ = writeln!(
            w,
            "Detected by the {} burn-rate alert; peak burn rate {:.0}×; {} bad events, {:.1}% of the period's error budget. Affected services: {}.\n",
            md_text(&br.detected_by),
            br.peak_burn_rate,
            br.bad_events,
            br.budget_consumed_pct,
            md_text(&br.affected_services.join(", "))
        );
        let _ = writeln!(w, "**Verdict: {}.**\n", md_text(&b.verdict));
        if b.suspects.is_empty() {
            let _ = writeln!(w, "No change or deploy in the 6 hours before the onset.\n");
            continue;
        }
        let _ = write!(w, "{}", tables::suspects(b).markdown(tz));
    }
}

pub fn render(report: &Report) -> String {
    let tz = report.display_timezone;
    let (from, to) = report.window;
    let mut out = String::new();
    let w = &mut out;

    let _ = writeln!(w, "# {}\n", md_text(&report.title));
    let _ = writeln!(w, "**{}**\n", md_text(&report.headline));
    let _ = writeln!(
        w,
        "Window: **{} → {}** ({}), shown in UTC and {}.\n",
        utc(from),
        utc(to),
        duration(to - from),
        tz.name()
    );
    if report.breaches.is_empty() {
        let _ = writeln!(
            w,
            "> No SLO breach began in this window (or the config defines no SLOs): the changes below are listed, not ranked.\n"
        );
    }

    // Summary: counts only.
    let changes = report.changes().count();
    let error_lines: u64 = report.activity.iter().map(|a| a.error_lines).sum();
    let services_with_errors = report.activity.iter().filter(|a| a.error_lines > 0).count();
    let _ = writeln!(w, "## Summary\n");
    let _ = writeln!(w, "- {changes} config changes, {} deploys.", report.deploys.len());
    let _ = writeln!(w, "- {error_lines} error log lines across {services_with_errors} services.");
    for c in &report.chronic {
        let _ = writeln!(w, "- Chronic burn: {}", md_text(&c.text()));
    }
    if !report.error_peaks.is_empty() {
        let peaks: Vec<String> = report
            .error_peaks
            .iter()
            .map(|p| {
                format!(
                    "{} on {} ({} lines)",
                    utc(p.minute),
                    md_text(p.service.as_deref().unwrap_or("(no service)")),
                    p.lines
                )
            })
            .collect();
        let _ = writeln!(w, "- Busiest minute for error lines, per service: {}.", peaks.join("; "));
    }
    let _ = writeln!(w);

    impact(w, report, tz);
    let _ = writeln!(w, "## Timeline\n");
    let _ = writeln!(
        w,
        "Error log lines appear as bursts (5-minute buckets at least 3× the service's rate of the 6 hours before, merged) \
         and as new signatures (message templates not seen in those 6 hours). Deploys are spans; `loop` rows are settings \
         flipping back and forth.\n"
    );
    let _ = write!(w, "{}", tables::timeline(report).markdown(tz));
    if report.timeline_omitted > 0 {
        let _ = writeln!(
            w,
            "{} smaller error bursts and signatures are left out; `retrace timeline` lists every row.\n",
            report.timeline_omitted
        );
    }

    render_breaches(w, report, tz);
    signals(w, report, tz);

    let _ = writeln!(w, "## Activity per service\n");
    let _ = write!(w, "{}", tables::activity(report).markdown(tz));

    let _ = writeln!(w, "## Config changes\n");
    if changes == 0 {
        let _ = writeln!(w, "No config changes in the window.\n");
    } else {
        let _ = write!(w, "{}", tables::changes(report).markdown(tz));
    }

    let _ = writeln!(w, "## Deploys\n");
    if report.deploys.is_empty() {
        let _ = writeln!(w, "No deploys in the window.\n");
    } else {
        let _ = write!(w, "{}", tables::deploys(&report.deploys).markdown(tz));
    }

    data_quality(w, report, tz);

    let _ = writeln!(w, "## Action items\n");
    let _ = write!(w, "{}", tables::actions(report.response.as_ref()).markdown(tz));
    // One newline at the end of the file, not a table's blank line.
    out.truncate(out.trim_end().len() + 1);
    out
}

/// Impact, and detection and response, for the incident's breaches.
fn impact(w: &mut String, report: &Report, tz: Tz) {
    let (Some(i), Some(r)) = (&report.impact, &report.response) else { return };
    let _ = writeln!(w, "## Impact\n");
    let _ = writeln!(w, "- SLOs breached: {}.", md_text(&i.slos.join(", ")));
    let _ = writeln!(
        w,
        "- Duration: {} ({} → {}), {:.0} bad events.",
        duration(chrono::Duration::minutes(i.duration_minutes)),
        utc(i.started),
        match (i.recovered, i.ongoing_at) {
            (Some(r), _) => utc(r),
            (None, Some(end)) => format!("ongoing at {} (end of data)", utc(end)),
            (None, None) => "ongoing".to_string(),
        },
        i.bad_events
    );
    let _ = writeln!(w, "- Error budget burned: {:.1}% of the period's budget (the worst SLO).", i.budget_burned_pct);
    let _ = writeln!(w, "- Affected services: {}.\n", md_text(&i.affected_services.join(", ")));

    let _ = writeln!(w, "## Detection and response\n");
    let _ = write!(w, "{}", tables::response(r).markdown(tz));
    let ttm = r.time_to_mitigate_minutes.map(|m| duration(chrono::Duration::minutes(m))).unwrap_or_else(|| {
        match r.resolved {
            Some(_) => "unknown (no action in the change log explains the recovery)".into(),
            None => "not yet".into(),
        }
    });
    let ttr = r
        .time_to_resolve_minutes
        .map(|m| duration(chrono::Duration::minutes(m)))
        .unwrap_or_else(|| "not resolved: ongoing when the data ends".into());
    let _ = writeln!(
        w,
        "Time to detect **{}**, to mitigate **{}**, to resolve **{}**.\n",
        duration(chrono::Duration::minutes(r.time_to_detect_minutes)),
        ttm,
        ttr
    );
    if let Some(people) = tables::people_summary(r) {
        let _ = writeln!(w, "{}\n", md_text(&people));
    }
}

/// New error signatures, error bursts and automation loops, largest first per kind.
fn signals(w: &mut String, report: &Report, tz: Tz) {
    let _ = writeln!(w, "## Contributing signals\n");
    if report.signals.is_empty() {
        let _ = writeln!(w, "No new error signatures, error bursts or automation loops in the window.\n");
        return;
    }
    let _ = write!(w, "{}", tables::signals(report).markdown(tz));
}

/// Gaps, rejects, clock skew and duplicates: what the reader cannot fully trust.
fn data_quality(w: &mut String, report: &Report, tz: Tz) {
    let q = &report.data_quality;
    let _ = writeln!(w, "## Data quality\n");
    if q.gaps.is_empty() {
        let _ = writeln!(w, "- No SLI went 5 minutes or more without data in the window.");
    } else {
        for g in &q.gaps {
            let _ = writeln!(
                w,
                "- No data for {} from {} to {} ({}): those minutes count neither good nor bad.",
                md_text(&g.slo),
                utc(g.from),
                utc(g.to),
                duration(g.to - g.from)
            );
        }
    }
    if q.duplicates.is_empty() {
        let _ = writeln!(w, "- No duplicate records were dropped at ingest.");
    } else {
        let list: Vec<String> = q.duplicates.iter().map(|d| format!("{} {}", d.records, md_text(&d.table))).collect();
        let _ = writeln!(w, "- Dropped at ingest as exact duplicates: {}.", list.join(", "));
    }
    match (q.skew_hosts_checked, q.skew.len()) {
        (0, _) => {
            let _ = writeln!(w, "- No clock-skew evidence (deploy starts, trace pairs) in the window.");
        }
        (n, 0) => {
            let _ = writeln!(
                w,
                "- Clocks: {n} hosts checked against deploy starts and trace pairs; none is off by 100 ms or more."
            );
        }
        (n, k) => {
            let _ = writeln!(
                w,
                "- Clocks: {k} of {n} hosts checked are off by 100 ms or more (below); their times may be shifted."
            );
        }
    }
    let _ = writeln!(w);
    if !q.skew.is_empty() {
        let _ = writeln!(w, "Clock skew evidence (positive: the host's clock runs ahead):\n");
        let _ = write!(w, "{}", tables::skew(report).markdown(tz));
    }
    if q.rejects.is_empty() {
        let _ = writeln!(w, "No records were rejected at ingest.\n");
    } else {
        let _ = writeln!(w, "Records that could not be ingested (whole warehouse, not only this window):\n");
        let _ = write!(w, "{}", tables::rejects(report).markdown(tz));
    }
}

/// Text outside tables: neutralize characters Markdown would interpret.
fn md_text(s: &str) -> String {
    let s = crate::display::clean(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|') {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out
}
