//! `retrace sql` with no query on a terminal: an interactive shell. Line editing, history
//! (`~/.retrace_history`) and completion come from rustyline; statements run as
//! `retrace sql` runs them (planned, checked read-only, streamed under the limits).
//! Backslash commands follow psql: `\d`, `\d NAME`, `\timing`, `\format`, `\q`.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use datafusion::prelude::SessionContext;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::cli::{OutputArgs, OutputFormat};
use crate::error::{Error, Result};
use crate::limits::QueryLimits;

const HELP: &str = "\
Statements end with `;` and may span lines. Read-only: SELECT, WITH, EXPLAIN, SHOW.
  \\d              tables and views
  \\d NAME         a table's or view's columns
  \\timing         show how long each statement took (on/off)
  \\format FORMAT  table, csv, json or md (also: \\pset format FORMAT)
  \\q              quit (or Ctrl-D); Ctrl-C clears the line or stops a running query
Tab completes table, column and keyword names. History is kept in ~/.retrace_history.";

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "LIMIT",
    "HAVING",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS NULL",
    "IS NOT NULL",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "DISTINCT",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "WITH",
    "UNION ALL",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "EXPLAIN",
    "SHOW TABLES",
    "DESC",
    "ASC",
    "date_trunc",
    "date_bin",
    "approx_percentile_cont",
    "regexp_like",
    "arrow_typeof",
    "now()",
    "interval",
];

/// `retrace sql` on a terminal with no query: the shell, until `\q` or end of input.
pub(crate) async fn shell(global: &crate::cli::GlobalArgs, args: &crate::cli::SqlArgs) -> Result<super::Outcome> {
    let params = super::sql::parse_params(&args.params)?;
    let (ctx, limits, warehouse) = super::sql::open(global, args, false).await?;
    run(&ctx, &warehouse, &params, &args.output, &limits).await?;
    Ok(super::Outcome::Success)
}

async fn run(
    ctx: &SessionContext,
    warehouse: &str,
    params: &HashMap<String, String>,
    output: &OutputArgs,
    limits: &QueryLimits,
) -> Result<()> {
    let names = Names::read(ctx).await;
    let mut editor: Editor<Names, DefaultHistory> =
        Editor::new().map_err(|e| Error::Internal(format!("cannot start the line editor: {e}")))?;
    editor.set_helper(Some(names));
    let history = history_path();
    if let Some(path) = &history {
        // A first run has none yet.
        let _ = editor.load_history(path);
    }
    eprintln!("retrace sql: {warehouse} (read-only). \\? for help, \\q to quit.");
    let mut shell = Shell { format: output.format, timing: false };
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "retrace> " } else { "     ..> " };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::Internal(format!("reading a line: {e}"))),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            match shell.command(ctx, trimmed, output, limits).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    eprintln!("error: {e}");
                    continue;
                }
            }
        }
        if buffer.is_empty() && matches!(trimmed, "quit" | "exit") {
            break;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !complete(&buffer) {
            continue;
        }
        let statement = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(statement.trim());
        if let Err(e) = shell.execute(ctx, &statement, params, output, limits).await {
            eprintln!("error: {e}");
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// True when `text` ends a statement: a `;` last, outside quotes and comments.
fn complete(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut last = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '-' && chars.peek() == Some(&'-') => {
                // A comment runs to the end of its line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            None if !c.is_whitespace() => last = Some(c),
            None => {}
        }
    }
    quote.is_none() && last == Some(';')
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".retrace_history"))
}

struct Shell {
    format: OutputFormat,
    timing: bool,
}

impl Shell {
    async fn execute(
        &self,
        ctx: &SessionContext,
        text: &str,
        params: &HashMap<String, String>,
        output: &OutputArgs,
        limits: &QueryLimits,
    ) -> Result<()> {
        let output = OutputArgs { format: self.format, output: output.output.clone() };
        let started = std::time::Instant::now();
        tokio::select! {
            result = super::sql::run_text(ctx, text, params, &output, limits) => result?,
            _ = tokio::signal::ctrl_c() => return Err(Error::Usage("query stopped (Ctrl-C)".into())),
        }
        if self.timing {
            eprintln!("Time: {:.3} ms", started.elapsed().as_secs_f64() * 1e3);
        }
        Ok(())
    }

    /// A backslash command; `Ok(false)` ends the shell.
    async fn command(
        &mut self,
        ctx: &SessionContext,
        line: &str,
        output: &OutputArgs,
        limits: &QueryLimits,
    ) -> Result<bool> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        match (command, rest.as_slice()) {
            ("\\q", _) => return Ok(false),
            ("\\?" | "\\h" | "\\help", _) => eprintln!("{HELP}"),
            ("\\timing", args) => {
                self.timing = match args.first() {
                    Some(&"on") => true,
                    Some(&"off") => false,
                    _ => !self.timing,
                };
                eprintln!("Timing is {}.", if self.timing { "on" } else { "off" });
            }
            ("\\format", [format]) | ("\\pset", ["format", format]) => {
                use clap::ValueEnum;
                self.format = OutputFormat::from_str(format, true)
                    .ok()
                    .filter(|f| *f != OutputFormat::Parquet)
                    .ok_or_else(|| Error::Usage(format!("\\format {format}: one of table, csv, json, md")))?;
                eprintln!("Output format is {format}.");
            }
            ("\\d" | "\\dt" | "\\dv", []) => {
                let sql = "SELECT table_name AS name, CASE table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END AS kind \
                           FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;";
                self.execute(ctx, sql, &HashMap::new(), output, limits).await?;
            }
            ("\\d", [name]) => {
                let name = name.trim_matches('"').replace('\'', "''");
                let sql = format!(
                    "SELECT column_name AS column, data_type AS type, is_nullable AS nullable \
                     FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{name}' \
                     ORDER BY ordinal_position;"
                );
                self.execute(ctx, &sql, &HashMap::new(), output, limits).await?;
            }
            _ => return Err(Error::Usage(format!("{line}: unknown command; \\? lists them"))),
        }
        Ok(true)
    }
}

/// What Tab completes: tables, views, their columns and SQL keywords.
struct Names(BTreeSet<String>);

impl Names {
    async fn read(ctx: &SessionContext) -> Names {
        let mut names: BTreeSet<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        if let Some(schema) = ctx.catalog("datafusion").and_then(|c| c.schema("public")) {
            for table in schema.table_names() {
                if let Ok(Some(t)) = schema.table(&table).await {
                    names.extend(t.schema().fields().iter().map(|f| f.name().clone()));
                }
                names.insert(table);
            }
        }
        Names(names)
    }

    fn candidates(&self, word: &str) -> Vec<String> {
        let lower = word.to_ascii_lowercase();
        self.0.iter().filter(|n| n.to_ascii_lowercase().starts_with(&lower) && n.len() > word.len()).cloned().collect()
    }
}

impl Completer for Names {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        Ok((start, self.candidates(word)))
    }
}

impl Hinter for Names {
    type Hint = String;
}
impl Highlighter for Names {}
impl Validator for Names {}
impl Helper for Names {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_ends_at_a_semicolon_outside_quotes_and_comments() {
        assert!(complete("SELECT 1;"));
        assert!(complete("SELECT 1\n  FROM logs ;  \n"));
        assert!(!complete("SELECT ';'"));
        assert!(!complete("SELECT 1 -- done;"));
        assert!(complete("SELECT 'a;b' -- note\n;"));
        assert!(!complete("SELECT \"odd;"));
    }

    #[test]
    fn completion_is_by_prefix_and_case_blind() {
        let names = Names(["logs", "log_errors", "service", "SELECT"].iter().map(|s| s.to_string()).collect());
        assert_eq!(names.candidates("lo"), vec!["log_errors".to_string(), "logs".to_string()]);
        assert_eq!(names.candidates("sel"), vec!["SELECT".to_string()]);
        assert!(names.candidates("logs").is_empty());
    }
}
