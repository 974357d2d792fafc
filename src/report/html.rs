//! HTML rendering of a [`Report`]: one self-contained page (inline CSS and SVG, no
//! scripts, fonts or requests; a Content-Security-Policy forbids them), readable on screen
//! and on paper, light or dark by `prefers-color-scheme`.
//!
//! Every string from the data goes through [`esc`]: log text is data, not markup.

use std::fmt::Write;

use chrono_tz::Tz;

use super::charts::{self, Chart};
use super::model::Report;
use super::tables;
use crate::display::{duration, utc};
use crate::error::Result;

pub use crate::display::html_escape as esc;

pub const STYLE: &str = r##"
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d2125; --muted: #5f6b76; --line: #d8dee4;
  --card: #f6f8fa; --accent: #0969da; --bad: #c0392b; --bad-bg: #fdecea; --ok: #1a7f37; --ok-bg: #e6f4ea;
  --warn: #9a6700; --warn-bg: #fff4d6; --badge: #eaeef2; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --card: #161b22; --accent: #4493f8;
    --bad: #ff7b72; --bad-bg: #3d1d1c; --ok: #56d364; --ok-bg: #12261e; --warn: #e3b341; --warn-bg: #2e2614;
    --badge: #262c36; }
  svg rect[fill="#FFFFFF"] { fill: var(--card); }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 0 24px 48px; }
header.verdict { padding: 28px 24px 20px; border-bottom: 4px solid var(--line); background: var(--card); }
header.verdict.likely { border-color: var(--bad); } header.verdict.possible { border-color: var(--warn); }
header .inner { max-width: 1100px; margin: 0 auto; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted); margin: 0; }
h1 { font-size: 26px; margin: 4px 0 8px; }
.headline { font-size: 18px; font-weight: 600; margin: 0 0 6px; }
.likely .headline { color: var(--bad); } .possible .headline { color: var(--warn); }
.meta { color: var(--muted); margin: 0; }
nav { margin: 16px 0 0; font-size: 14px; } nav a { margin-right: 14px; }
a { color: var(--accent); }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; margin: 16px 0; }
.fact { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.fact .k { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.fact .v { font-size: 20px; font-weight: 600; }
.fact .s { font-size: 13px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 8px 0 16px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: 12.5px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.time .local { display: block; color: var(--muted); font-size: 12px; }
code, .src { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; color: var(--muted);
  overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: var(--badge); white-space: nowrap; }
.k-breach, .v-likely { background: var(--bad-bg); color: var(--bad); }
.k-change { background: #efe3f7; color: #6f2da8; } .k-deploy { background: #ddf4ff; color: #0550ae; }
.k-loop, .v-possible { background: var(--warn-bg); color: var(--warn); }
.k-new-error, .k-errors { background: var(--badge); color: var(--fg); }
.v-unlikely { background: var(--badge); color: var(--muted); }
@media (prefers-color-scheme: dark) { .k-change { background: #2c1f3d; color: #d2a8ff; }
  .k-deploy { background: #132339; color: #79c0ff; } }
tr.suspect td { background: var(--bad-bg); }
ul.evidence { margin: 0; padding-left: 18px; } ul.evidence li { margin: 0; }
figure { margin: 16px 0 24px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
figcaption { font-weight: 600; font-size: 14px; margin: 0 0 4px 6px; }
figure svg { width: 100%; height: auto; display: block; }
svg text[fill="#000000"], svg text[fill="#222222"] { fill: var(--fg); }
svg line[stroke="#222222"], svg polyline[stroke="#222222"], svg line[stroke="#000000"] { stroke: var(--fg); }
.note { color: var(--muted); font-size: 13.5px; }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
@media print {
  :root { --bg: #fff; --fg: #000; --card: #fff; --line: #bbb; }
  nav { display: none; } header.verdict { padding: 0 0 12px; }
  main { max-width: none; padding: 0; } h2 { break-after: avoid; }
  figure, tr { break-inside: avoid; } a { color: inherit; text-decoration: none; }
}
"##;

/// The page head: charset, CSP (nothing may load), colour schemes, the stylesheet.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta name=\"generator\" content=\"retrace\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n",
        esc(title)
    )
}

/// Both clocks in one cell: UTC, and the display zone under it.
pub fn render(report: &Report) -> Result<String> {
    let tz = report.display_timezone;
    let charts = charts::render_svg(&report.charts)?;
    let mut out = head(&report.title);
    let w = &mut out;
    let (from, to) = report.window;
    let class = match report.breaches.first().and_then(|b| b.suspects.first()) {
        Some(s) => s.verdict.label(),
        None => "none",
    };
    let _ = writeln!(w, "<body>\n<header class=\"verdict {class}\"><div class=\"inner\">");
    let _ = writeln!(w, "<p class=\"eyebrow\">retrace · incident report</p>");
    let _ = writeln!(w, "<h1>{}</h1>", esc(&report.title));
    let _ = writeln!(w, "<p class=\"headline\">{}</p>", esc(&report.headline));
    let _ = writeln!(
        w,
        "<p class=\"meta\">Window {} → {} ({}), times in UTC with {} beneath.</p>",
        utc(from),
        utc(to),
        duration(to - from),
        esc(tz.name())
    );
    let _ = writeln!(
        w,
        "<nav><a href=\"#summary\">Summary</a><a href=\"#charts\">Charts</a><a href=\"#suspects\">Suspects</a>\
         <a href=\"#timeline\">Timeline</a><a href=\"#signals\">Signals</a><a href=\"#data-quality\">Data quality</a>\
         <a href=\"#actions\">Action items</a></nav>"
    );
    let _ = writeln!(w, "</div></header>\n<main>");

    summary(w, report, tz);
    charts_section(w, &charts);
    suspects(w, report, tz);
    timeline(w, report, tz);
    signals(w, report, tz);
    activity(w, report, tz);
    deploys(w, report, tz);
    data_quality(w, report, tz);

    let _ = writeln!(w, "<section id=\"actions\"><h2>Action items</h2>");
    let _ = write!(w, "{}", tables::actions(report.response.as_ref()).html(tz));
    let _ = writeln!(w, "</section>");
    let _ = writeln!(
        w,
        "<footer>Generated by retrace from the warehouse; every row names its source object and line. \
         {} value(s) redacted. Machine-readable: report.json (schema {}).</footer>",
        report.redacted_values,
        super::json::SCHEMA
    );
    let _ = writeln!(w, "</main>\n</body>\n</html>");
    Ok(out)
}

fn summary(w: &mut String, report: &Report, tz: Tz) {
    let _ = writeln!(w, "<section id=\"summary\"><h2>Summary</h2>");
    for c in &report.chronic {
        let _ = writeln!(w, "<p class=\"chronic\"><strong>Chronic burn:</strong> {}</p>", esc(&c.text()));
    }
    let _ = writeln!(w, "<div class=\"facts\">");
    let fact = |w: &mut String, k: &str, v: &str, s: &str| {
        let _ = writeln!(
            w,
            "<div class=\"fact\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"s\">{}</div></div>",
            esc(k),
            esc(v),
            esc(s)
        );
    };
    if let (Some(i), Some(r)) = (&report.impact, &report.response) {
        fact(
            w,
            "impact",
            &duration(chrono::Duration::minutes(i.duration_minutes)),
            &match (i.recovered, i.ongoing_at) {
                (Some(r), _) => format!("{} → {}", hm(i.started), hm(r)),
                (None, Some(end)) => format!("{} → ongoing at {} (end of data)", hm(i.started), hm(end)),
                (None, None) => format!("{} → ongoing", hm(i.started)),
            },
        );
        fact(
            w,
            "error budget burned",
            &format!("{:.1}%", i.budget_burned_pct),
            &format!("{:.0} bad events", i.bad_events),
        );
        fact(
            w,
            "time to detect",
            &duration(chrono::Duration::minutes(r.time_to_detect_minutes)),
            &format!("by the {} alert", r.detected_by),
        );
        match (r.time_to_mitigate_minutes, &r.mitigated_by) {
            (Some(m), Some(by)) => fact(w, "time to mitigate", &duration(chrono::Duration::minutes(m)), by),
            _ if r.resolved.is_none() => fact(w, "time to mitigate", "—", "not mitigated yet"),
            _ => fact(w, "time to mitigate", "—", "no action in the change log explains the recovery"),
        }
        match r.time_to_resolve_minutes {
            Some(m) => fact(w, "time to resolve", &duration(chrono::Duration::minutes(m)), "SLI back within budget"),
            None => fact(w, "time to resolve", "ongoing", "still failing when the data ends"),
        }
        fact(w, "affected services", &i.affected_services.len().to_string(), &i.affected_services.join(", "));
    } else {
        fact(w, "SLO breaches", "none", "in this window");
    }
    let changes = report.changes().count();
    fact(w, "changes and deploys", &format!("{changes} · {}", report.deploys.len()), "in the window");
    let errors: u64 = report.activity.iter().map(|a| a.error_lines).sum();
    fact(
        w,
        "error log lines",
        &errors.to_string(),
        &format!("{} services", report.activity.iter().filter(|a| a.error_lines > 0).count()),
    );
    let _ = writeln!(w, "</div>");

    if let Some(r) = &report.response {
        let _ = writeln!(w, "<h3>Detection and response</h3>");
        let _ = write!(w, "{}", tables::response(r).html(tz));
        if let Some(people) = tables::people_summary(r) {
            let _ = writeln!(w, "<p class=\"people\">{}</p>", esc(&people));
        }
    }
    let _ = writeln!(w, "</section>");
}

fn hm(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%H:%MZ").to_string()
}

fn charts_section(w: &mut String, charts: &[Chart]) {
    let _ = writeln!(w, "<section id=\"charts\"><h2>Charts</h2>");
    if charts.is_empty() {
        let _ = writeln!(w, "<p class=\"empty\">No SLI or error data in the window.</p>");
    }
    for c in charts {
        let id = format!("chart-{}", c.name);
        // plotters writes `<svg width=… height=… viewBox=…`; label it for assistive tech.
        let svg = c.svg.replacen("<svg ", &format!("<svg role=\"img\" aria-labelledby=\"{id}\" "), 1);
        let _ = writeln!(
            w,
            "<figure class=\"chart\"><figcaption id=\"{id}\">{}</figcaption>\n{svg}</figure>",
            esc(&c.title)
        );
    }
    let _ = writeln!(
        w,
        "<p class=\"note\">Shaded: breach (onset → recovery). Vertical lines: changes (purple), deploys (blue), the top suspect (orange, bold).</p></section>"
    );
}

fn suspects(w: &mut String, report: &Report, tz: Tz) {
    let _ = writeln!(w, "<section id=\"suspects\"><h2>Suspect changes</h2>");
    if report.breaches.is_empty() {
        let _ = writeln!(
            w,
            "<p class=\"empty\">No SLO breach in this window: the changes in the timeline are listed, not ranked.</p></section>"
        );
        return;
    }
    for b in &report.breaches {
        let br = &b.breach;
        let _ = writeln!(w, "<h3>{} <span class=\"meta\">({})</span></h3>", esc(&br.slo), esc(&br.service));
        let _ = writeln!(
            w,
            "<p>Breach <code>{}</code>: onset {}, detected {} by the {} alert, {}; peak burn rate {:.0}×, {:.1}% of the period's error budget. Verdict: <strong>{}</strong>.</p>",
            esc(&br.id),
            hm(br.onset),
            hm(br.detected),
            esc(&br.detected_by),
            esc(&crate::analyze::timeline::recovery_text(br)),
            br.peak_burn_rate,
            br.budget_consumed_pct,
            esc(&b.verdict)
        );
        if b.suspects.is_empty() {
            let _ = writeln!(w, "<p class=\"empty\">No change or deploy in the lookback before the onset.</p>");
            continue;
        }
        let _ = write!(w, "{}", tables::suspects(b).html(tz));
    }
    let _ = writeln!(w, "</section>");
}

fn timeline(w: &mut String, report: &Report, tz: Tz) {
    let _ = writeln!(w, "<section id=\"timeline\"><h2>Timeline</h2>");
    let _ = write!(w, "{}", tables::timeline(report).html(tz));
    if report.timeline_omitted > 0 {
        let _ = writeln!(
            w,
            "<p class=\"note\">{} smaller error bursts and signatures are left out; <code>retrace timeline</code> lists every row.</p>",
            report.timeline_omitted
        );
    }
    let _ = writeln!(w, "</section>");
}

fn signals(w: &mut String, report: &Report, tz: Tz) {
    let _ = writeln!(w, "<section id=\"signals\"><h2>Contributing signals</h2>");
    if report.signals.is_empty() {
        let _ = writeln!(
            w,
            "<p class=\"empty\">No new error signatures, error bursts or automation loops in the window.</p></section>"
        );
        return;
    }
    let _ = writeln!(w, "{}</section>", tables::signals(report).html(tz));
}

fn activity(w: &mut String, report: &Report, tz: Tz) {
    let _ = writeln!(w, "<section id=\"activity\"><h2>Activity per service</h2>");
    let _ = writeln!(w, "{}</section>", tables::activity(report).html(tz));
}

fn deploys(w: &mut String, report: &Report, tz: Tz) {
    let _ = writeln!(w, "<section id=\"deploys\"><h2>Deploys</h2>");
    if report.deploys.is_empty() {
        let _ = writeln!(w, "<p class=\"empty\">No deploys in the window.</p></section>");
        return;
    }
    let _ = writeln!(w, "{}</section>", tables::deploys(&report.deploys).html(tz));
}

fn data_quality(w: &mut String, report: &Report, tz: Tz) {
    let q = &report.data_quality;
    let _ = writeln!(w, "<section id=\"data-quality\"><h2>Data quality</h2>");
    let _ = writeln!(
        w,
        "<p class=\"note\">What the reader cannot fully trust: missing data, records that could not be read, clocks that disagree, and duplicates dropped.</p>"
    );
    let _ = writeln!(w, "<h3>No-data gaps</h3>");
    if q.gaps.is_empty() {
        let _ = writeln!(w, "<p class=\"empty\">No SLI went 5 minutes or more without data in the window.</p>");
    } else {
        let _ = write!(w, "{}", tables::gaps(report).html(tz));
    }
    let _ = writeln!(w, "<h3>Rejected records</h3>");
    if q.rejects.is_empty() {
        let _ = writeln!(w, "<p class=\"empty\">No records were rejected at ingest.</p>");
    } else {
        let _ = write!(w, "{}", tables::rejects(report).html(tz));
    }
    let _ = writeln!(w, "<h3>Clock skew</h3>");
    if q.skew_hosts_checked == 0 {
        let _ = writeln!(w, "<p class=\"empty\">No skew evidence (deploy starts, trace pairs) in the window.</p>");
    } else if q.skew.is_empty() {
        let _ = writeln!(
            w,
            "<p class=\"empty\">{} hosts checked against deploy starts and trace pairs; none is off by 100 ms or more.</p>",
            q.skew_hosts_checked
        );
    } else {
        let _ = write!(w, "{}", tables::skew(report).html(tz));
    }
    let _ = writeln!(w, "<h3>Duplicates</h3>");
    if q.duplicates.is_empty() {
        let _ = writeln!(w, "<p class=\"empty\">No duplicate records were dropped at ingest.</p>");
    } else {
        let list: Vec<String> = q.duplicates.iter().map(|d| format!("{} {}", d.records, esc(&d.table))).collect();
        let _ = writeln!(w, "<p>Dropped at ingest as exact duplicates: {}.</p>", list.join(", "));
    }
    let _ = writeln!(w, "</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_and_terminal_codes() {
        assert_eq!(esc("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(esc("\"><img src=x onerror=alert(1)>"), "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(esc("it's `x` & \u{1b}[31mred\u{1b}[0m"), "it&#39;s `x` &amp; red");
    }
}
