//! The digest as Markdown (for a wiki or a PR comment), HTML (one self-contained page) and
//! JSON (schema `retrace.digest/v1`, docs/digest.md). Renderers only format.

use std::fmt::Write;

use serde::Serialize;

use super::{Digest, Figures};
use crate::display::utc;
use crate::error::{Error, Result};
use crate::output::md_cell;
use crate::report::html::{esc, head};

pub const SCHEMA: &str = "retrace.digest/v1";

fn pct(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}%")).unwrap_or_else(|| "—".into())
}

fn minutes(v: Option<f64>) -> String {
    v.map(|m| crate::display::duration(chrono::Duration::seconds((m * 60.0) as i64))).unwrap_or_else(|| "—".into())
}

/// `+3`, `−1.5 pp`: the change against the previous period (`—` when either side is missing).
fn delta(now: Option<f64>, before: Option<f64>, unit: &str, digits: usize) -> String {
    match (now, before) {
        (Some(a), Some(b)) => {
            let d = a - b;
            if d.abs() < 0.5 * 10f64.powi(-(digits as i32)) {
                "±0".to_string()
            } else {
                format!("{}{:.digits$}{unit}", if d > 0.0 { "+" } else { "−" }, d.abs())
            }
        }
        _ => "—".to_string(),
    }
}

/// Rows of (figure, this period, previous, change) for a set of figures.
fn figure_rows(f: &Figures, p: &Figures) -> Vec<[String; 4]> {
    vec![
        [
            "breaches".into(),
            f.breaches.to_string(),
            p.breaches.to_string(),
            delta(Some(f.breaches as f64), Some(p.breaches as f64), "", 0),
        ],
        [
            "deploys".into(),
            f.deploys.to_string(),
            p.deploys.to_string(),
            delta(Some(f.deploys as f64), Some(p.deploys as f64), "", 0),
        ],
        [
            "deploys per day".into(),
            format!("{:.2}", f.deploys_per_day),
            format!("{:.2}", p.deploys_per_day),
            delta(Some(f.deploys_per_day), Some(p.deploys_per_day), "", 2),
        ],
        [
            "config changes".into(),
            f.changes.to_string(),
            p.changes.to_string(),
            delta(Some(f.changes as f64), Some(p.changes as f64), "", 0),
        ],
        [
            "change failure rate".into(),
            format!("{} ({} of {})", pct(f.change_failure_rate_pct, 1), f.failed, f.changes + f.deploys),
            pct(p.change_failure_rate_pct, 1),
            delta(f.change_failure_rate_pct, p.change_failure_rate_pct, " pp", 1),
        ],
        [
            "time to restore (median)".into(),
            minutes(f.time_to_restore_median_minutes),
            minutes(p.time_to_restore_median_minutes),
            delta(f.time_to_restore_median_minutes, p.time_to_restore_median_minutes, " min", 0),
        ],
        [
            "time to restore (worst)".into(),
            minutes(f.time_to_restore_worst_minutes.map(|m| m as f64)),
            minutes(p.time_to_restore_worst_minutes.map(|m| m as f64)),
            delta(
                f.time_to_restore_worst_minutes.map(|m| m as f64),
                p.time_to_restore_worst_minutes.map(|m| m as f64),
                " min",
                0,
            ),
        ],
    ]
}

pub fn markdown(d: &Digest) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Reliability digest {}\n", md_cell(&d.period.label));
    let _ = writeln!(
        w,
        "Period **{} → {}** (weeks start on Mondays in {}); compared with {} ({} → {}).\n",
        utc(d.period.from),
        utc(d.period.to),
        md_cell(d.display_timezone.name()),
        md_cell(&d.previous.label),
        utc(d.previous.from),
        utc(d.previous.to)
    );
    let missed = d.slos.iter().filter(|s| s.met == Some(false)).count();
    let _ = writeln!(
        w,
        "**{} breach(es); {} of {} SLOs missed their objective; {}.**\n",
        d.breaches.len(),
        missed,
        d.slos.len(),
        if d.budget_exhausted { "an error budget is exhausted" } else { "every error budget has room left" }
    );

    let _ = writeln!(w, "## SLOs\n");
    let _ = writeln!(
        w,
        "| SLO | service | objective | attainment | previous | met | budget burned this period | previous | budget left ({} days) | breaches |",
        d.slos.first().map(|s| s.period_days).unwrap_or(30.0)
    );
    let _ = writeln!(w, "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |");
    for s in &d.slos {
        let _ = writeln!(
            w,
            "| {} | {} | {}% | {} | {} | {} | {:.2}% | {:.2}% | {:.2}% | {} |",
            md_cell(&s.slo),
            md_cell(&s.service),
            s.objective_pct,
            pct(s.attainment_pct, 3),
            pct(s.previous_attainment_pct, 3),
            match s.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "no data",
            },
            s.budget_burned_pct,
            s.previous_budget_burned_pct,
            s.budget_remaining_pct,
            s.breaches
        );
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Breaches\n");
    if d.breaches.is_empty() {
        let _ = writeln!(w, "No SLO breach began in the period.\n");
    } else {
        let _ = writeln!(w, "| breach | service | onset (UTC) | time to restore | budget | verdict | top suspect |");
        let _ = writeln!(w, "| --- | --- | --- | ---: | ---: | --- | --- |");
        for b in &d.breaches {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {:.1}% | {} | {} |",
                md_cell(&b.id),
                md_cell(&b.service),
                utc(b.onset),
                minutes(Some(b.time_to_restore_minutes as f64)),
                b.budget_consumed_pct,
                md_cell(&b.verdict),
                md_cell(&match (&b.top_suspect, &b.top_suspect_title) {
                    (Some(id), Some(t)) => format!("{id} {t}"),
                    _ => String::new(),
                })
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Delivery and recovery, overall\n");
    let _ = writeln!(w, "| figure | {} | {} | change |", md_cell(&d.period.label), md_cell(&d.previous.label));
    let _ = writeln!(w, "| --- | ---: | ---: | ---: |");
    for r in figure_rows(&d.overall, &d.previous_overall) {
        let _ = writeln!(w, "| {} | {} | {} | {} |", r[0], md_cell(&r[1]), md_cell(&r[2]), md_cell(&r[3]));
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Per service\n");
    let _ = writeln!(
        w,
        "| service | breaches | deploys | deploys/day | changes | change failure rate | time to restore (median / worst) | vs previous: breaches, deploys, CFR |"
    );
    let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    for s in &d.services {
        let (f, p) = (&s.figures, &s.previous);
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.2} | {} | {} | {} / {} | {}, {}, {} |",
            md_cell(&s.service),
            f.breaches,
            f.deploys,
            f.deploys_per_day,
            f.changes,
            pct(f.change_failure_rate_pct, 1),
            minutes(f.time_to_restore_median_minutes),
            minutes(f.time_to_restore_worst_minutes.map(|m| m as f64)),
            delta(Some(f.breaches as f64), Some(p.breaches as f64), "", 0),
            delta(Some(f.deploys as f64), Some(p.deploys as f64), "", 0),
            delta(f.change_failure_rate_pct, p.change_failure_rate_pct, " pp", 1)
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Definitions (docs/digest.md): attainment = good ÷ all events in the period; change failure rate = changes and deploys that were \
         the likely culprit of a breach or were undone (revert, rollback, value restored) ÷ all changes and deploys; time to restore = \
         breach onset → SLI back within budget."
    );
    out
}

pub fn html(d: &Digest) -> String {
    let title = format!("Reliability digest {}", d.period.label);
    let mut out = head(&title);
    let w = &mut out;
    let class = if d.budget_exhausted || !d.breaches.is_empty() { "likely" } else { "none" };
    let _ = writeln!(w, "<body>\n<header class=\"verdict {class}\"><div class=\"inner\">");
    let _ = writeln!(w, "<p class=\"eyebrow\">retrace · weekly reliability digest</p><h1>{}</h1>", esc(&title));
    let missed = d.slos.iter().filter(|s| s.met == Some(false)).count();
    let _ = writeln!(
        w,
        "<p class=\"headline\">{} breach(es) · {} of {} SLOs missed · {}</p>",
        d.breaches.len(),
        missed,
        d.slos.len(),
        if d.budget_exhausted { "an error budget is exhausted" } else { "every error budget has room left" }
    );
    let _ = writeln!(
        w,
        "<p class=\"meta\">{} → {} (weeks start on Mondays in {}), compared with {}.</p></div></header>\n<main>",
        utc(d.period.from),
        utc(d.period.to),
        esc(d.display_timezone.name()),
        esc(&d.previous.label)
    );
    let _ = writeln!(
        w,
        "<section id=\"slos\"><h2>SLOs</h2><table><thead><tr><th>SLO</th><th>service</th><th class=\"num\">objective</th><th class=\"num\">attainment</th><th class=\"num\">previous</th><th>met</th><th class=\"num\">budget burned</th><th class=\"num\">budget left</th><th class=\"num\">breaches</th></tr></thead><tbody>"
    );
    for s in &d.slos {
        let met = match s.met {
            Some(true) => "<span class=\"badge k-deploy\">met</span>",
            Some(false) => "<span class=\"badge v-likely\">missed</span>",
            None => "<span class=\"badge v-unlikely\">no data</span>",
        };
        let _ = writeln!(
            w,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}%</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{met}</td><td class=\"num\">{:.2}%</td><td class=\"num\">{:.2}%</td><td class=\"num\">{}</td></tr>",
            esc(&s.slo),
            esc(&s.service),
            s.objective_pct,
            pct(s.attainment_pct, 3),
            pct(s.previous_attainment_pct, 3),
            s.budget_burned_pct,
            s.budget_remaining_pct,
            s.breaches
        );
    }
    let _ = writeln!(w, "</tbody></table></section>");
    let _ = writeln!(w, "<section id=\"breaches\"><h2>Breaches</h2>");
    if d.breaches.is_empty() {
        let _ = writeln!(w, "<p class=\"empty\">No SLO breach began in the period.</p>");
    } else {
        let _ = writeln!(
            w,
            "<table><thead><tr><th>breach</th><th>service</th><th>onset</th><th class=\"num\">time to restore</th><th class=\"num\">budget</th><th>verdict</th><th>top suspect</th></tr></thead><tbody>"
        );
        for b in &d.breaches {
            let _ = writeln!(
                w,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"time\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td><td>{}</td><td><strong>{}</strong> {}</td></tr>",
                esc(&b.id),
                esc(&b.service),
                utc(b.onset),
                minutes(Some(b.time_to_restore_minutes as f64)),
                b.budget_consumed_pct,
                esc(&b.verdict),
                esc(b.top_suspect.as_deref().unwrap_or("")),
                esc(b.top_suspect_title.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(w, "</tbody></table>");
    }
    let _ = writeln!(w, "</section><section id=\"overall\"><h2>Delivery and recovery, overall</h2>");
    let _ = writeln!(
        w,
        "<table><thead><tr><th>figure</th><th class=\"num\">{}</th><th class=\"num\">{}</th><th class=\"num\">change</th></tr></thead><tbody>",
        esc(&d.period.label),
        esc(&d.previous.label)
    );
    for r in figure_rows(&d.overall, &d.previous_overall) {
        let _ = writeln!(
            w,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&r[0]),
            esc(&r[1]),
            esc(&r[2]),
            esc(&r[3])
        );
    }
    let _ = writeln!(w, "</tbody></table></section><section id=\"services\"><h2>Per service</h2>");
    let _ = writeln!(
        w,
        "<table><thead><tr><th>service</th><th class=\"num\">breaches</th><th class=\"num\">deploys</th><th class=\"num\">deploys/day</th><th class=\"num\">changes</th><th class=\"num\">change failure rate</th><th>time to restore</th><th>vs previous</th></tr></thead><tbody>"
    );
    for s in &d.services {
        let (f, p) = (&s.figures, &s.previous);
        let _ = writeln!(
            w,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{} / {}</td><td>breaches {}, deploys {}, CFR {}</td></tr>",
            esc(&s.service),
            f.breaches,
            f.deploys,
            f.deploys_per_day,
            f.changes,
            pct(f.change_failure_rate_pct, 1),
            minutes(f.time_to_restore_median_minutes),
            minutes(f.time_to_restore_worst_minutes.map(|m| m as f64)),
            delta(Some(f.breaches as f64), Some(p.breaches as f64), "", 0),
            delta(Some(f.deploys as f64), Some(p.deploys as f64), "", 0),
            esc(&delta(f.change_failure_rate_pct, p.change_failure_rate_pct, " pp", 1))
        );
    }
    let _ = writeln!(w, "</tbody></table></section>");
    let _ = writeln!(
        w,
        "<footer>Generated by retrace. Machine-readable: digest.json (schema {SCHEMA}). Definitions: docs/digest.md.</footer>\n</main>\n</body>\n</html>"
    );
    out
}

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    #[serde(flatten)]
    digest: &'a Digest,
}

pub fn json(d: &Digest) -> Result<String> {
    let mut s = serde_json::to_string_pretty(&Document { schema: SCHEMA, digest: d })
        .map_err(|e| Error::Internal(format!("digest JSON: {e}")))?;
    s.push('\n');
    Ok(crate::display::json_inert(s))
}
