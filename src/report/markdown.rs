//! Markdown rendering of a [`Report`]: an editable draft. Every table cell goes through
//! `md_cell`, so log text with pipes or line breaks cannot break a table.

use std::fmt::Write;

use chrono_tz::Tz;

use super::model::Report;
use crate::display::{duration, local, utc};
use crate::output::md_cell;

/// SLO breaches and their ranked suspects, with each suspect's evidence.
fn render_breaches(w: &mut String, report: &Report, tz: Tz) {
    if report.breaches.is_empty() {
        return;
    }
    let _ = writeln!(w, "## SLO breaches and suspects\n");
    for b in &report.breaches {
        let br = &b.breach;
        let _ = writeln!(w, "### {} ({})\n", md_text(&br.slo), md_text(&br.service));
        let _ = writeln!(w, "| | UTC | {} |", md_cell(tz.name()));
        let _ = writeln!(w, "| --- | --- | --- |");
        for (label, t) in
            [("onset", br.onset), ("detected", br.detected), ("peak", br.peak_at), ("recovered", br.recovered)]
        {
            let _ = writeln!(w, "| {label} | {} | {} |", utc(t), local(t, tz));
        }
        if let Some(end) = br.end {
            let _ = writeln!(w, "| alerts cleared | {} | {} |", utc(end), local(end, tz));
        }
        let _ = writeln!(w);
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
        let _ = writeln!(w, "| # | verdict | score | change | service | time (UTC) | evidence |");
        let _ = writeln!(w, "| ---: | --- | ---: | --- | --- | --- | --- |");
        for s in &b.suspects {
            let _ = writeln!(
                w,
                "| {} | {} | {:.2} | {} | {} | {} | {} |",
                s.rank,
                s.verdict.label(),
                s.score,
                md_cell(&format!("{} {}", s.id, s.title)),
                md_cell(s.service.as_deref().unwrap_or("")),
                utc(s.ts),
                md_cell(&s.evidence.join("; "))
            );
        }
        let _ = writeln!(w);
    }
}

pub fn render(report: &Report) -> String {
    let tz: Tz = report.display_timezone.parse().unwrap_or(Tz::UTC);
    let (from, to) = report.window;
    let mut out = String::new();
    let w = &mut out;

    let _ = writeln!(w, "# {}\n", md_text(&report.title));
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

    render_breaches(w, report, tz);

    let _ = writeln!(w, "## Activity per service\n");
    let _ = writeln!(w, "| service | log lines | warn | error | 5xx | first error (UTC) |");
    let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | --- |");
    for a in &report.activity {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            md_cell(a.service.as_deref().unwrap_or("(none)")),
            a.lines,
            a.warn_lines,
            a.error_lines,
            a.status_5xx,
            a.first_error.map(utc).unwrap_or_default()
        );
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Timeline\n");
    let _ = writeln!(
        w,
        "Error log lines appear as bursts (5-minute buckets at least 3× the service's rate of the 6 hours before, merged) \
         and as new signatures (message templates not seen in those 6 hours). Deploys are spans; `loop` rows are settings \
         flipping back and forth.\n"
    );
    let _ = writeln!(w, "| time (UTC) | {} | kind | service | event | source |", md_cell(tz.name()));
    let _ = writeln!(w, "| --- | --- | --- | --- | --- | --- |");
    for e in &report.timeline {
        let event = e.headline();
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | `{}` |",
            utc(e.ts),
            local(e.ts, tz),
            e.kind.label(),
            md_cell(e.service.as_deref().unwrap_or("")),
            md_cell(&event),
            md_code(&e.source.display(report.source_root.as_deref()))
        );
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Config changes\n");
    if changes == 0 {
        let _ = writeln!(w, "No config changes in the window.\n");
    } else {
        let _ = writeln!(w, "| time (UTC) | change | service | what | description |");
        let _ = writeln!(w, "| --- | --- | --- | --- | --- |");
        for e in report.changes() {
            let id = e.id.as_deref().unwrap_or("");
            let what = e.title.strip_prefix(id).unwrap_or(&e.title).trim();
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                utc(e.ts),
                md_cell(id),
                md_cell(e.service.as_deref().unwrap_or("")),
                md_cell(what),
                md_cell(e.detail.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Deploys\n");
    if report.deploys.is_empty() {
        let _ = writeln!(w, "No deploys in the window.\n");
    } else {
        let _ = writeln!(w, "| deploy | service | version | started (UTC) | ended (UTC) | outcome | rollout |");
        let _ = writeln!(w, "| --- | --- | --- | --- | --- | --- | ---: |");
        for d in &report.deploys {
            let version = match (&d.previous_version, &d.version) {
                (Some(p), Some(v)) => format!("{p} → {v}"),
                (None, Some(v)) => v.clone(),
                _ => String::new(),
            };
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md_cell(&d.deploy_id),
                md_cell(d.service.as_deref().unwrap_or("")),
                md_cell(&version),
                utc(d.started),
                utc(d.ended),
                md_cell(&d.final_status),
                d.max_percent.map(|p| format!("{p}%")).unwrap_or_default()
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Data quality\n");
    if report.rejects.is_empty() {
        let _ = writeln!(w, "No records were rejected at ingest.\n");
    } else {
        let _ = writeln!(w, "Records that could not be ingested (whole warehouse, not only this window):\n");
        let _ = writeln!(w, "| table | reason | records | objects | example |");
        let _ = writeln!(w, "| --- | --- | ---: | ---: | --- |");
        for r in &report.rejects {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                md_cell(&r.table),
                md_cell(&r.reason),
                r.records,
                r.objects,
                md_cell(&r.example)
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Action items\n");
    let _ = writeln!(w, "- [ ] _owner_ — _action_ — _due date_");
    out
}

/// Text outside tables: neutralize characters Markdown would interpret.
fn md_text(s: &str) -> String {
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

/// Text inside a code span: backticks cannot be escaped there, so they are replaced.
fn md_code(s: &str) -> String {
    md_cell(s).replace('`', "'")
}
