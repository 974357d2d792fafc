//! Charts drawn with plotters from [`Charts`]: SVG for the HTML report (text stays text,
//! styled by the page for light and dark), PNG for `--charts png`.
//!
//! Three kinds, all on the report window's time axis (UTC):
//! - the SLI: error ratio per minute against the objective's error budget, breaches
//!   shaded, changes and deploys marked (the top suspect in red);
//! - burn rate of the fast alert pair's two windows against the alert factor (log scale);
//! - error log lines per minute, one line per service.

use std::path::{Path, PathBuf};
use std::sync::Once;

use chrono::{DateTime, Duration, Utc};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::model::{Charts, Marker, SliSeries};
use crate::analyze::timeline::EventKind;
use crate::error::{Error, Result};

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 280;

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GRID: RGBColor = RGBColor(0x99, 0x99, 0x99);
const ERROR_LINE: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const BUDGET_LINE: RGBColor = RGBColor(0x27, 0x7d, 0xa1);
const BREACH_FILL: RGBColor = RGBColor(0xe7, 0x4c, 0x3c);
const CHANGE: RGBColor = RGBColor(0x8e, 0x44, 0xad);
const DEPLOY: RGBColor = RGBColor(0x29, 0x80, 0xb9);
const SUSPECT: RGBColor = RGBColor(0xd3, 0x54, 0x00);
/// Service colours (Okabe–Ito, readable by colour-blind readers), in service order.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xd5, 0x5e, 0x00),
    RGBColor(0x88, 0x88, 0x88),
    RGBColor(0xf0, 0xe4, 0x42),
];

/// One chart, ready to embed or write.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem and element id: `sli-<slo>`, `burn-<slo>`, `errors-by-service`.
    pub name: String,
    pub title: String,
    pub svg: String,
}

/// Charts need a font to measure and (for PNG) draw text; DejaVu Sans is embedded so
/// output does not depend on the fonts a machine has.
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

fn chart_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Internal(format!("drawing a chart: {e:?}"))
}

/// Every chart of a report, as SVG.
pub fn render_svg(charts: &Charts) -> Result<Vec<Chart>> {
    register_fonts();
    let mut out = Vec::new();
    for (name, title, _) in plan(charts) {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            draw(charts, &name, &root)?;
            root.present().map_err(chart_error)?;
        }
        out.push(Chart { name, title, svg });
    }
    Ok(out)
}

/// Every chart of a report, as PNG files in `dir`; returns the paths written.
pub fn write_png(charts: &Charts, dir: &Path) -> Result<Vec<PathBuf>> {
    register_fonts();
    let mut paths = Vec::new();
    for (name, title, _) in plan(charts) {
        let path = dir.join(format!("{name}.png"));
        {
            // A PNG travels alone (pasted into a ticket): it carries its title, which the
            // HTML shows as a caption instead.
            let root = BitMapBackend::new(&path, (WIDTH, HEIGHT + 30)).into_drawing_area();
            root.fill(&WHITE).map_err(chart_error)?;
            let root = root.titled(&title, (FONT, 18).into_font().color(&INK)).map_err(chart_error)?;
            draw(charts, &name, &root)?;
            root.present().map_err(|e| Error::io(path.display(), std::io::Error::other(format!("{e:?}"))))?;
        }
        paths.push(path);
    }
    Ok(paths)
}

/// Which charts a report has: (name, title, index of the SLI series if any).
fn plan(charts: &Charts) -> Vec<(String, String, Option<usize>)> {
    let mut out = Vec::new();
    if charts.minutes == 0 {
        return out;
    }
    for (i, s) in charts.slis.iter().enumerate() {
        out.push((
            format!("sli-{}", slug(&s.slo)),
            format!("{}: error ratio vs the {}% objective", s.slo, trim_float(s.objective * 100.0)),
            Some(i),
        ));
        out.push((format!("burn-{}", slug(&s.slo)), format!("{}: burn rate (fast alert pair)", s.slo), Some(i)));
    }
    if !charts.services.is_empty() {
        out.push(("errors-by-service".into(), "Error log lines per minute, by service".into(), None));
    }
    out
}

/// A file- and id-safe form of a name.
pub fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn draw<DB: DrawingBackend>(charts: &Charts, name: &str, root: &DrawingArea<DB, Shift>) -> Result<()> {
    for (n, _, sli) in plan(charts) {
        if n != name {
            continue;
        }
        return match (sli, name.starts_with("burn-")) {
            (Some(i), false) => draw_sli(charts, &charts.slis[i], root),
            (Some(i), true) => draw_burn(charts, &charts.slis[i], root),
            (None, _) => draw_services(charts, root),
        };
    }
    Ok(())
}

fn start(charts: &Charts) -> DateTime<Utc> {
    charts.start.unwrap_or_default()
}

/// `HH:MM` for an x position (minutes from the window's start).
fn time_label(charts: &Charts) -> impl Fn(&f64) -> String + '_ {
    move |x: &f64| (start(charts) + Duration::minutes(x.round() as i64)).format("%H:%M").to_string()
}

fn x_of(charts: &Charts, t: DateTime<Utc>) -> f64 {
    (t - start(charts)).num_seconds() as f64 / 60.0
}

/// Contiguous runs of `Some` values, as (x, y) points: gaps in the data stay gaps.
fn segments(values: &[Option<f64>], floor: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push((i as f64, v.max(floor))),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The chart area every chart shares: margins, the time axis, a light grid, the y axis
/// with its description and label format.
fn frame<'a, DB, Y>(
    charts: &Charts,
    root: &'a DrawingArea<DB, Shift>,
    y: Y,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
) -> Result<ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y::CoordDescType>>>
where
    DB: DrawingBackend + 'a,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let n = charts.minutes as f64;
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .margin_right(24)
        .margin_top(28)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..n, y)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID.mix(0.25))
        .axis_style(INK)
        .label_style((FONT, 12).into_font().color(&INK))
        .x_labels(10)
        .x_label_formatter(&time_label(charts))
        .y_label_formatter(y_format)
        .y_desc(y_desc)
        .axis_desc_style((FONT, 12).into_font().color(&INK))
        .draw()
        .map_err(chart_error)?;
    Ok(chart)
}

fn draw_sli<DB: DrawingBackend>(charts: &Charts, s: &SliSeries, root: &DrawingArea<DB, Shift>) -> Result<()> {
    let budget_pct = (1.0 - s.objective) * 100.0;
    let peak = s.error_pct.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    let ymax = (peak.max(budget_pct * 2.0) * 1.15).max(0.01);
    let n = charts.minutes as f64;
    let mut chart = frame(charts, root, 0f64..ymax, "errors (%)", &|y| format!("{}%", trim_float(*y)))?;
    for (from, to) in &s.breaches {
        let (x0, x1) = (x_of(charts, *from).max(0.0), x_of(charts, *to).min(n));
        chart
            .draw_series(std::iter::once(Rectangle::new([(x0, 0.0), (x1, ymax)], BREACH_FILL.mix(0.12).filled())))
            .map_err(chart_error)?;
    }
    draw_markers(charts, &mut chart, 0.0, ymax)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, budget_pct), (n, budget_pct)],
            BUDGET_LINE.stroke_width(2),
        )))
        .map_err(chart_error)?
        .label(format!("error budget ({}%)", trim_float(budget_pct)))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BUDGET_LINE.stroke_width(2)));
    let mut first = true;
    for seg in segments(&s.error_pct, 0.0) {
        let series = chart.draw_series(LineSeries::new(seg, ERROR_LINE.stroke_width(2))).map_err(chart_error)?;
        if std::mem::take(&mut first) {
            series
                .label("error ratio per minute")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], ERROR_LINE.stroke_width(2)));
        }
    }
    legend(&mut chart)?;
    Ok(())
}

fn draw_burn<DB: DrawingBackend>(charts: &Charts, s: &SliSeries, root: &DrawingArea<DB, Shift>) -> Result<()> {
    const FLOOR: f64 = 0.1;
    let peak = s.burn.iter().flat_map(|b| b.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let ymax = (peak.max(s.alert_factor) * 2.0).max(10.0);
    let n = charts.minutes as f64;
    let mut chart = frame(charts, root, (FLOOR..ymax).log_scale(), "burn rate", &|y| format!("{}×", trim_float(*y)))?;
    for (from, to) in &s.breaches {
        let (x0, x1) = (x_of(charts, *from).max(0.0), x_of(charts, *to).min(n));
        chart
            .draw_series(std::iter::once(Rectangle::new([(x0, FLOOR), (x1, ymax)], BREACH_FILL.mix(0.12).filled())))
            .map_err(chart_error)?;
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, s.alert_factor), (n, s.alert_factor)],
            BUDGET_LINE.stroke_width(2),
        )))
        .map_err(chart_error)?
        .label(format!("alert factor ({}×)", trim_float(s.alert_factor)))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BUDGET_LINE.stroke_width(2)));
    let colours = [ERROR_LINE, SUSPECT];
    for (k, b) in s.burn.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let width = if k == 0 { 2 } else { 1 };
        let mut first = true;
        for seg in segments(&b.values, FLOOR) {
            let series = chart.draw_series(LineSeries::new(seg, colour.stroke_width(width))).map_err(chart_error)?;
            if std::mem::take(&mut first) {
                series
                    .label(format!("{} window", b.window))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(width)));
            }
        }
    }
    legend(&mut chart)?;
    Ok(())
}

fn draw_services<DB: DrawingBackend>(charts: &Charts, root: &DrawingArea<DB, Shift>) -> Result<()> {
    let peak = charts.services.iter().flat_map(|s| s.error_lines.iter()).max().copied().unwrap_or(0);
    let ymax = (peak as f64 * 1.15).max(5.0);
    let mut chart = frame(charts, root, 0f64..ymax, "error lines / min", &|y| format!("{}", y.round() as i64))?;
    draw_markers(charts, &mut chart, 0.0, ymax)?;
    for (k, s) in charts.services.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let points: Vec<(f64, f64)> = s.error_lines.iter().enumerate().map(|(i, v)| (i as f64, *v as f64)).collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(chart_error)?
            .label(s.service.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    legend(&mut chart)?;
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID.mix(0.5))
        .label_font((FONT, 12).into_font().color(&INK))
        .draw()
        .map_err(chart_error)
}

/// Vertical lines for changes (dashed-looking, thin) and deploys, labelled with their ids
/// where a label fits: labels go in up to three rows and are skipped rather than overlap.
/// The top suspects are drawn last, thick, and always labelled.
fn draw_markers<'a, DB: DrawingBackend + 'a>(
    charts: &Charts,
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    y0: f64,
    y1: f64,
) -> Result<()> {
    let n = charts.minutes as f64;
    let visible: Vec<&Marker> = charts.markers.iter().filter(|m| (0.0..=n).contains(&x_of(charts, m.ts))).collect();
    // Labels: the top suspects claim row 0 first, then the rest take the first row with room.
    let minutes_per_px = n / (WIDTH as f64 - 90.0);
    let width_of = |m: &Marker| (m.id.chars().count() as f64 * 6.5 + 8.0) * minutes_per_px;
    let mut taken: [Vec<(f64, f64)>; 3] = Default::default();
    let mut rows: Vec<Option<usize>> = vec![None; visible.len()];
    let mut order: Vec<usize> = (0..visible.len()).collect();
    order.sort_by_key(|&i| (!visible[i].suspect, i));
    for i in order {
        let x = x_of(charts, visible[i].ts);
        let span = (x, x + width_of(visible[i]));
        let free = |row: &Vec<(f64, f64)>| row.iter().all(|(a, b)| span.1 < *a || span.0 > *b);
        if let Some(r) = taken.iter().position(free) {
            taken[r].push(span);
            rows[i] = Some(r);
        }
    }
    let (ymin, yspan) = (y0, y1 - y0);
    // Lines: ordinary markers first, the suspects on top.
    let mut draw_order: Vec<usize> = (0..visible.len()).collect();
    draw_order.sort_by_key(|&i| (visible[i].suspect, i));
    for i in draw_order {
        let m = visible[i];
        let x = x_of(charts, m.ts);
        let colour = match (m.suspect, m.kind) {
            (true, _) => SUSPECT,
            (false, EventKind::Deploy) => DEPLOY,
            _ => CHANGE,
        };
        let width = if m.suspect { 3 } else { 1 };
        let alpha = if m.suspect { 1.0 } else { 0.55 };
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, y0), (x, y1)],
                colour.mix(alpha).stroke_width(width),
            )))
            .map_err(chart_error)?;
        if let Some(r) = rows[i] {
            let y = ymin + yspan * (0.97 - 0.09 * r as f64);
            let style = if m.suspect {
                (FONT, 11).into_font().style(FontStyle::Bold).color(&colour)
            } else {
                (FONT, 11).into_font().color(&colour)
            };
            chart.draw_series(std::iter::once(Text::new(format!(" {}", m.id), (x, y), style))).map_err(chart_error)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{BurnSeries, ServiceSeries};

    fn sample() -> Charts {
        let start = DateTime::parse_from_rfc3339("2026-11-19T13:00:00Z").unwrap().with_timezone(&Utc);
        let mut error_pct: Vec<Option<f64>> = vec![Some(0.02); 60];
        error_pct[10] = None;
        for v in &mut error_pct[20..40] {
            *v = Some(12.5);
        }
        Charts {
            start: Some(start),
            minutes: 60,
            slis: vec![SliSeries {
                slo: "checkout-availability".into(),
                service: "checkout".into(),
                objective: 0.999,
                error_pct: error_pct.clone(),
                burn: vec![BurnSeries {
                    window: "1h".into(),
                    values: error_pct.iter().map(|v| v.map(|e| e * 10.0)).collect(),
                }],
                alert_factor: 14.4,
                breaches: vec![(start + Duration::minutes(20), start + Duration::minutes(40))],
            }],
            services: vec![ServiceSeries { service: "payments<script>".into(), error_lines: vec![3; 60] }],
            markers: vec![Marker {
                ts: start + Duration::minutes(15),
                kind: EventKind::Change,
                id: "CHG-1024".into(),
                service: Some("payments".into()),
                suspect: true,
            }],
        }
    }

    #[test]
    fn svg_charts_have_axes_labels_markers_and_escaped_text() {
        let charts = render_svg(&sample()).unwrap();
        let names: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sli-checkout-availability", "burn-checkout-availability", "errors-by-service"]);
        let sli = &charts[0].svg;
        assert!(sli.starts_with("<svg"), "{}", &sli[..80]);
        assert!(sli.contains("CHG-1024"));
        assert!(sli.contains("13:00") && sli.contains("error budget (0.1%)"));
        // The data gap splits the error line in two.
        assert!(sli.matches("<polyline").count() >= 2);
        let services = &charts[2].svg;
        assert!(services.contains("payments&lt;script&gt;") && !services.contains("<script"));
        // Same input, same bytes.
        assert_eq!(render_svg(&sample()).unwrap()[0].svg, *sli);
    }

    #[test]
    fn png_charts_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_png(&sample(), dir.path()).unwrap();
        assert_eq!(paths.len(), 3);
        for p in paths {
            let bytes = std::fs::read(&p).unwrap();
            assert_eq!(&bytes[1..4], b"PNG", "{}", p.display());
            assert!(bytes.len() > 5_000);
        }
    }
}
