//! One table model with two writers: every table of the report and the digest is built
//! once, as a [`Table`] of typed cells, and written as Markdown or HTML. A table's
//! columns, rows and words are the same in both formats; only markup differs (a badge is
//! plain text in Markdown, a time is two columns in Markdown and one cell in HTML).

use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::display::{html_escape as esc, local, utc};
use crate::output::md_cell;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// How a column's cells are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Plain,
    /// A time in UTC with the display zone beside it: two columns in Markdown (`title
    /// (UTC)` and the zone; one when the zone is UTC), one cell in HTML.
    When,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    pub align: Align,
    pub layout: Layout,
}

/// A cell: text, and how it stands out.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A time: UTC, and the display zone beside it in a [`Layout::When`] column.
    Time(DateTime<Utc>),
    /// A label that classifies the row (a verdict, a kind): a coloured badge in HTML.
    Badge {
        class: String,
        text: String,
    },
    /// An id in bold, then text.
    Lead {
        strong: String,
        rest: String,
    },
    /// An identifier: `<code>` in HTML, escaped text in Markdown.
    Code(String),
    /// Where a row's evidence is (`object:line`): a code span in Markdown, small print in HTML.
    Source(String),
    /// Items: a bulleted list in HTML, `; `-separated in Markdown.
    List(Vec<String>),
    /// An example or hint the reader fills in (Markdown italics; HTML muted).
    Placeholder(String),
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Row {
    pub cells: Vec<Cell>,
    /// The row the reader should see first (the culprit): highlighted in HTML.
    pub highlight: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Table {
    /// A table with these columns: `>` before a title aligns it right (numbers), `@` lays
    /// it out as a [`Layout::When`] time.
    pub fn new(titles: &[&str]) -> Table {
        let columns = titles
            .iter()
            .map(|t| match (t.strip_prefix('>'), t.strip_prefix('@')) {
                (Some(t), _) => Column { title: t.to_string(), align: Align::Right, layout: Layout::Plain },
                (_, Some(t)) => Column { title: t.to_string(), align: Align::Left, layout: Layout::When },
                _ => Column { title: t.to_string(), align: Align::Left, layout: Layout::Plain },
            })
            .collect();
        Table { columns, rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(Row { cells, highlight: false });
    }

    pub fn highlighted(&mut self, cells: Vec<Cell>, highlight: bool) {
        self.rows.push(Row { cells, highlight });
    }

    /// The table in GitHub-flavoured Markdown, ending with a blank line. Every cell goes
    /// through `md_cell`, so log text with pipes or line breaks cannot break it.
    pub fn markdown(&self, tz: Tz) -> String {
        // In UTC the zone's column would repeat the UTC one.
        let beside = tz != Tz::UTC;
        let mut out = String::new();
        let (mut head, mut rule) = (Vec::new(), Vec::new());
        for c in &self.columns {
            let align = if c.align == Align::Right { "---:" } else { "---" };
            match c.layout {
                Layout::Plain => head.push(md_cell(&c.title)),
                Layout::When => {
                    head.push(if c.title.is_empty() { "UTC".into() } else { format!("{} (UTC)", md_cell(&c.title)) });
                    if beside {
                        head.push(md_cell(tz.name()));
                        rule.push(align);
                    }
                }
            }
            rule.push(align);
        }
        let _ = writeln!(out, "| {} |", head.join(" | "));
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for row in &self.rows {
            let mut cells = Vec::new();
            for (cell, col) in row.cells.iter().zip(&self.columns) {
                match (cell, col.layout) {
                    (Cell::Time(t), Layout::When) => {
                        cells.push(utc(*t));
                        if beside {
                            cells.push(local(*t, tz));
                        }
                    }
                    (cell, Layout::When) => {
                        cells.push(md_cell_of(cell));
                        if beside {
                            cells.push(String::new());
                        }
                    }
                    (cell, Layout::Plain) => cells.push(md_cell_of(cell)),
                }
            }
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
        out
    }

    /// The table as an HTML `<table>`, every text escaped.
    pub fn html(&self, tz: Tz) -> String {
        let mut out = String::from("<table><thead><tr>");
        for c in &self.columns {
            let class = if c.align == Align::Right { " class=\"num\"" } else { "" };
            let _ = write!(out, "<th{class}>{}</th>", esc(&c.title));
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in &self.rows {
            out.push_str(if row.highlight { "<tr class=\"suspect\">" } else { "<tr>" });
            for (cell, col) in row.cells.iter().zip(&self.columns) {
                let class = match (cell, col.align) {
                    (Cell::Time(_), _) => " class=\"time\"",
                    (Cell::Source(_), _) => " class=\"src\"",
                    (Cell::Placeholder(_), _) => " class=\"empty\"",
                    (_, Align::Right) => " class=\"num\"",
                    _ => "",
                };
                let _ = write!(out, "<td{class}>{}</td>", html_of(cell, col.layout, tz));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
        out
    }
}

fn md_cell_of(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => md_cell(t),
        Cell::Time(t) => utc(*t),
        Cell::Badge { text, .. } => md_cell(text),
        Cell::Lead { strong, rest } if rest.is_empty() => md_cell(strong),
        Cell::Lead { strong, rest } => md_cell(&format!("{strong} {rest}")),
        // An id as escaped text: a code span would keep data's `<` and `[` live-looking.
        Cell::Code(c) => md_cell(c),
        Cell::Source(c) => format!("`{}`", md_code(c)),
        Cell::List(items) => md_cell(&items.join("; ")),
        Cell::Placeholder(t) if t.is_empty() => String::new(),
        Cell::Placeholder(t) => format!("_{}_", md_cell(t)),
    }
}

fn html_of(cell: &Cell, layout: Layout, tz: Tz) -> String {
    match cell {
        Cell::Text(t) | Cell::Source(t) | Cell::Placeholder(t) => esc(t),
        Cell::Code(c) => format!("<code>{}</code>", esc(c)),
        Cell::Time(t) if layout == Layout::When && tz != Tz::UTC => {
            format!("{}<span class=\"local\">{}</span>", utc(*t), esc(&local(*t, tz)))
        }
        Cell::Time(t) => utc(*t),
        Cell::Badge { class, text } => format!("<span class=\"badge {}\">{}</span>", esc(class), esc(text)),
        Cell::Lead { strong, rest } if rest.is_empty() => format!("<strong>{}</strong>", esc(strong)),
        Cell::Lead { strong, rest } => format!("<strong>{}</strong> {}", esc(strong), esc(rest)),
        Cell::List(items) => {
            let items: String = items.iter().map(|i| format!("<li>{}</li>", esc(i))).collect();
            format!("<ul class=\"evidence\">{items}</ul>")
        }
    }
}

/// Text inside a code span in a table: backslash escapes are literal there, so backticks
/// are replaced and only pipes (which end a cell even inside code) are escaped.
pub fn md_code(s: &str) -> String {
    crate::display::clean(s)
        .chars()
        .map(|c| match c {
            '`' => "'".to_string(),
            '|' => "\\|".to_string(),
            '\n' | '\r' | '\t' => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["@time", "kind", "change", ">lines", "evidence", "source"]);
        let at = DateTime::from_timestamp(1_795_097_100, 0).unwrap();
        t.highlighted(
            vec![
                Cell::Time(at),
                Cell::Badge { class: "k-change".into(), text: "change".into() },
                Cell::Lead { strong: "CHG-1".into(), rest: "pool: 20 → 2 | <b>".into() },
                Cell::Text("12".into()),
                Cell::List(vec!["time 0.9".into(), "scope 1.0".into()]),
                Cell::Source("s3://b/c.csv:4 `x`".into()),
            ],
            true,
        );
        t
    }

    #[test]
    fn markdown_and_html_hold_the_same_columns_and_words() {
        let t = sample();
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            t.markdown(tz),
            "| time (UTC) | Europe/Berlin | kind | change | lines | evidence | source |\n\
             | --- | --- | --- | --- | ---: | --- | --- |\n\
             | 2026-11-19 14:05:00Z | 2026-11-19 15:05:00 CET | change | CHG-1 pool: 20 → 2 \\| \\<b\\> | 12 | time 0.9; scope 1.0 | `s3://b/c.csv:4 'x'` |\n\n"
        );
        let html = t.html(tz);
        assert!(
            html.starts_with("<table><thead><tr><th>time</th><th>kind</th><th>change</th><th class=\"num\">lines</th>")
        );
        assert!(html.contains("<tr class=\"suspect\"><td class=\"time\">2026-11-19 14:05:00Z<span class=\"local\">2026-11-19 15:05:00 CET</span></td>"));
        assert!(html.contains("<td><strong>CHG-1</strong> pool: 20 → 2 | &lt;b&gt;</td><td class=\"num\">12</td>"));
        assert!(html.contains("<ul class=\"evidence\"><li>time 0.9</li><li>scope 1.0</li></ul>"));
        // In UTC neither format shows a second time.
        assert!(t.html(Tz::UTC).contains("<td class=\"time\">2026-11-19 14:05:00Z</td>"));
        let md = t.markdown(Tz::UTC);
        assert!(md.starts_with("| time (UTC) | kind | change |"), "{md}");
        assert!(md.contains("| 2026-11-19 14:05:00Z | change |"), "{md}");
    }
}
