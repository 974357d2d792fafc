//! The digest as Markdown (for a wiki or a PR comment), HTML (one self-contained page) and
//! JSON (schema `retrace.digest/v2`, docs/digest.md). Renderers only format.

use std::fmt::Write;

use serde::Serialize;

use super::{Digest, Figures};
use crate::display::utc;
use crate::error::{Error, Result};
use crate::output::md_cell;
use crate::report::html::{esc, head};
use crate::report::table::{Cell, Table};

pub const SCHEMA: &str = "retrace.digest/v2";

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

/// Per SLO: attainment and budget, this period and the previous.
fn slos_table(d: &Digest) -> Table {
    let left = format!(">budget left ({} days)", d.slos.first().map(|s| s.period_days).unwrap_or(30.0));
    let mut t = Table::new(&[
        "SLO",
        "service",
        ">objective",
        ">attainment",
        ">previous",
        "met",
        ">budget burned this period",
        ">previous",
        &left,
        ">breaches",
    ]);
    for s in &d.slos {
        let (class, met) = match s.met {
            Some(true) => ("k-deploy", "met"),
            Some(false) => ("v-likely", "missed"),
            None => ("v-unlikely", "no data"),
        };
        t.row(vec![
            s.slo.clone().into(),
            s.service.clone().into(),
            format!("{}%", s.objective_pct).into(),
            pct(s.attainment_pct, 3).into(),
            pct(s.previous_attainment_pct, 3).into(),
            Cell::Badge { class: class.into(), text: met.into() },
            format!("{:.2}%", s.budget_burned_pct).into(),
            format!("{:.2}%", s.previous_budget_burned_pct).into(),
            format!("{:.2}%", s.budget_remaining_pct).into(),
            s.breaches.to_string().into(),
        ]);
    }
    t
}

fn breaches_table(d: &Digest) -> Table {
    let mut t = Table::new(&["breach", "service", "@onset", ">time to restore", ">budget", "verdict", "top suspect"]);
    for b in &d.breaches {
        t.row(vec![
            Cell::Code(b.id.clone()),
            b.service.clone().into(),
            Cell::Time(b.onset),
            match b.time_to_restore_minutes {
                Some(m) => minutes(Some(m as f64)).into(),
                None => format!(
                    "ongoing at {}",
                    b.ongoing_at.map(|t| t.format("%Y-%m-%d %H:%MZ").to_string()).unwrap_or_default()
                )
                .into(),
            },
            format!("{:.1}%", b.budget_consumed_pct).into(),
            b.verdict.clone().into(),
            match (&b.top_suspect, &b.top_suspect_title) {
                (Some(id), t) => Cell::Lead { strong: id.clone(), rest: t.clone().unwrap_or_default() },
                _ => Cell::Text(String::new()),
            },
        ]);
    }
    t
}

fn overall_table(d: &Digest) -> Table {
    let (this, before) = (format!(">{}", d.period.label), format!(">{}", d.previous.label));
    let mut t = Table::new(&["figure", &this, &before, ">change"]);
    for r in figure_rows(&d.overall, &d.previous_overall) {
        t.row(r.map(Cell::Text).to_vec());
    }
    t
}

/// Pages and alert noise, this period and the one before.
fn paging_table(d: &Digest) -> Table {
    let (this, before) = (format!(">{}", d.period.label), format!(">{}", d.previous.label));
    let mut t = Table::new(&["figure", &this, &before]);
    let (p, q) = (&d.paging, &d.previous_paging);
    let minutes = |m: Option<f64>| m.map_or("—".to_string(), |m| format!("{m} min"));
    let worst = |m: Option<i64>| m.map_or("—".to_string(), |m| format!("{m} min"));
    for (figure, a, b) in [
        ("pages", p.pages.to_string(), q.pages.to_string()),
        ("alerts fired", p.alerts_fired.to_string(), q.alerts_fired.to_string()),
        ("pages acknowledged", p.acknowledged.to_string(), q.acknowledged.to_string()),
        (
            "time to acknowledge (median)",
            minutes(p.time_to_acknowledge_median_minutes),
            minutes(q.time_to_acknowledge_median_minutes),
        ),
        (
            "time to acknowledge (worst)",
            worst(p.time_to_acknowledge_worst_minutes),
            worst(q.time_to_acknowledge_worst_minutes),
        ),
        ("alerts with no breach (noise)", p.alerts_without_breach.to_string(), q.alerts_without_breach.to_string()),
        ("breaches no alert caught", p.breaches_without_alert.to_string(), q.breaches_without_alert.to_string()),
    ] {
        t.row(vec![figure.into(), a.into(), b.into()]);
    }
    t
}

fn services_table(d: &Digest) -> Table {
    let mut t = Table::new(&[
        "service",
        ">breaches",
        ">deploys",
        ">deploys/day",
        ">changes",
        ">change failure rate",
        "time to restore (median / worst)",
        "vs previous: breaches, deploys, CFR",
    ]);
    for s in &d.services {
        let (f, p) = (&s.figures, &s.previous);
        t.row(vec![
            s.service.clone().into(),
            f.breaches.to_string().into(),
            f.deploys.to_string().into(),
            format!("{:.2}", f.deploys_per_day).into(),
            f.changes.to_string().into(),
            pct(f.change_failure_rate_pct, 1).into(),
            format!(
                "{} / {}",
                minutes(f.time_to_restore_median_minutes),
                minutes(f.time_to_restore_worst_minutes.map(|m| m as f64))
            )
            .into(),
            format!(
                "{}, {}, {}",
                delta(Some(f.breaches as f64), Some(p.breaches as f64), "", 0),
                delta(Some(f.deploys as f64), Some(p.deploys as f64), "", 0),
                delta(f.change_failure_rate_pct, p.change_failure_rate_pct, " pp", 1)
            )
            .into(),
        ]);
    }
    t
}

pub fn markdown(d: &Digest) -> String {
    let tz = d.display_timezone;
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
    let _ = write!(w, "{}", slos_table(d).markdown(tz));
    for (slo, burn) in d.slos.iter().filter_map(|s| s.chronic.map(|c| (&s.slo, c))) {
        let _ = writeln!(w, "Chronic burn: {}\n", burn.text(slo));
    }

    let _ = writeln!(w, "## Breaches\n");
    if d.breaches.is_empty() {
        let _ = writeln!(w, "No SLO breach began in the period.\n");
    } else {
        let _ = write!(w, "{}", breaches_table(d).markdown(tz));
    }

    let _ = writeln!(w, "## Delivery and recovery, overall\n");
    let _ = write!(w, "{}", overall_table(d).markdown(tz));

    let _ = writeln!(w, "## Paging\n");
    if d.paging.recorded || d.previous_paging.recorded {
        let _ = write!(w, "{}", paging_table(d).markdown(tz));
    } else {
        let _ = writeln!(w, "No incident events (alerts, pages) in the warehouse for these periods.\n");
    }

    let _ = writeln!(w, "## Per service\n");
    let _ = write!(w, "{}", services_table(d).markdown(tz));
    let _ = writeln!(
        w,
        "Definitions (docs/digest.md): attainment = good ÷ all events in the period; change failure rate = changes and deploys that were \
         the likely culprit of a breach or were undone (revert, rollback, value restored) ÷ all changes and deploys; time to restore = \
         breach onset → SLI back within budget."
    );
    out
}

pub fn html(d: &Digest) -> String {
    let tz = d.display_timezone;
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
    let chronic: String = d
        .slos
        .iter()
        .filter_map(|s| s.chronic.map(|c| (&s.slo, c)))
        .map(|(slo, c)| format!("<p class=\"chronic\"><strong>Chronic burn:</strong> {}</p>", esc(&c.text(slo))))
        .collect();
    let _ = writeln!(w, "<section id=\"slos\"><h2>SLOs</h2>{}{chronic}</section>", slos_table(d).html(tz));
    let _ = writeln!(w, "<section id=\"breaches\"><h2>Breaches</h2>");
    if d.breaches.is_empty() {
        let _ = writeln!(w, "<p class=\"empty\">No SLO breach began in the period.</p>");
    } else {
        let _ = write!(w, "{}", breaches_table(d).html(tz));
    }
    let _ = writeln!(w, "</section><section id=\"overall\"><h2>Delivery and recovery, overall</h2>");
    let _ = write!(w, "{}", overall_table(d).html(tz));
    let _ = writeln!(w, "</section><section id=\"paging\"><h2>Paging</h2>");
    if d.paging.recorded || d.previous_paging.recorded {
        let _ = write!(w, "{}", paging_table(d).html(tz));
    } else {
        let _ = writeln!(
            w,
            "<p class=\"empty\">No incident events (alerts, pages) in the warehouse for these periods.</p>"
        );
    }
    let _ = writeln!(w, "</section><section id=\"services\"><h2>Per service</h2>");
    let _ = writeln!(w, "{}</section>", services_table(d).html(tz));
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
