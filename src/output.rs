//! Result batches → the formats users ask for (`--format table|csv|json|md|parquet`).
//! One writer per format over the same batches (ripgrep's printer split). Text formats
//! format every cell with Arrow's display rules, so timestamps, maps and lists look the
//! same in table, CSV and Markdown.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::ArrowWriter;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned text table
    Table,
    /// CSV with a header row
    Csv,
    /// JSON Lines, one object per row
    Json,
    /// Markdown table
    Md,
    /// Parquet file (needs --output)
    Parquet,
}

/// A document format for reports and digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocFormat {
    Md,
    Html,
    Json,
}

impl DocFormat {
    pub fn extension(self) -> &'static str {
        match self {
            DocFormat::Md => "md",
            DocFormat::Html => "html",
            DocFormat::Json => "json",
        }
    }
}

/// Writes a whole file so that it is either there complete or not changed: into a
/// temporary file beside it, then renamed over it. A full disk leaves the old file (or
/// none), never a truncated one, and the temporary file is removed.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path.display(), e));
    }
    Ok(())
}

/// The temporary file a whole-file write goes to first: hidden, beside its target (so
/// the rename stays on one file system), named for this process.
fn temp_beside(path: &Path) -> std::path::PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes batches to `--output` or stdout.
pub fn emit(schema: &SchemaRef, batches: &[RecordBatch], format: OutputFormat, output: Option<&Path>) -> Result<()> {
    let mut sink = Sink::open(schema.clone(), format, output)?;
    for b in batches {
        sink.write(b)?;
    }
    sink.finish()
}

/// Writes batches in a text format.
pub fn write(schema: &SchemaRef, batches: &[RecordBatch], format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let mut sink = Sink::new(schema.clone(), format, Box::new(out))?;
    for b in batches {
        sink.write(b)?;
    }
    sink.finish()
}

/// An aligned table is printed this many rows at a time (a table needs its rows to size
/// its columns; a longer result is several tables, each with its header, and nothing
/// is held beyond one of them).
pub const TABLE_ROWS: usize = 10_000;

/// Results written as they arrive, batch by batch: memory holds one batch (one table's
/// rows for `table`), whatever the result's size. Into a file, the rows go to a
/// temporary file renamed at [`Sink::finish`]: a failed query leaves no partial file.
pub struct Sink<'a> {
    schema: SchemaRef,
    writer: Writer<'a>,
    /// (temporary file, the file asked for) when writing to `--output`.
    target: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

enum Writer<'a> {
    Table { out: Box<dyn Write + 'a>, held: Vec<RecordBatch>, rows: usize, printed: bool },
    Csv(csv::Writer<Box<dyn Write + 'a>>),
    Json(datafusion::arrow::json::Writer<Box<dyn Write + 'a>, datafusion::arrow::json::writer::LineDelimited>),
    Md(Box<dyn Write + 'a>),
    Parquet(ArrowWriter<File>),
    Done,
}

impl<'a> Sink<'a> {
    /// Into `output` (atomically) or stdout.
    pub fn open(schema: SchemaRef, format: OutputFormat, output: Option<&Path>) -> Result<Sink<'static>> {
        let Some(path) = output else {
            if format == OutputFormat::Parquet {
                return Err(Error::Usage("--format parquet needs --output FILE".into()));
            }
            let out: Box<dyn Write> = Box::new(std::io::BufWriter::new(std::io::stdout()));
            return Sink::new(schema, format, out);
        };
        let tmp = temp_beside(path);
        let file = File::create(&tmp).map_err(|e| Error::io(path.display(), e))?;
        let mut sink = if format == OutputFormat::Parquet {
            let w =
                ArrowWriter::try_new(file, schema.clone(), Some(crate::warehouse::parquet::writer_properties(false)))?;
            Sink { schema, writer: Writer::Parquet(w), target: None }
        } else {
            Sink::new(schema, format, Box::new(std::io::BufWriter::new(file)))?
        };
        sink.target = Some((tmp, path.to_path_buf()));
        Ok(sink)
    }

    /// Into any writer.
    pub fn new(schema: SchemaRef, format: OutputFormat, mut out: Box<dyn Write + 'a>) -> Result<Sink<'a>> {
        let io = |e: std::io::Error| Error::io("output", e);
        let writer = match format {
            OutputFormat::Table => Writer::Table { out, held: Vec::new(), rows: 0, printed: false },
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(schema.fields().iter().map(|f| f.name().as_str())).map_err(csv_error)?;
                Writer::Csv(w)
            }
            // Explicit nulls: every line has every column, so consumers see a stable shape.
            OutputFormat::Json => Writer::Json(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, datafusion::arrow::json::writer::LineDelimited>(out),
            ),
            OutputFormat::Md => {
                let names: Vec<String> = schema.fields().iter().map(|f| md_cell(f.name())).collect();
                writeln!(out, "| {} |", names.join(" | ")).map_err(io)?;
                writeln!(out, "|{}", " --- |".repeat(names.len())).map_err(io)?;
                Writer::Md(out)
            }
            OutputFormat::Parquet => return Err(Error::Usage("--format parquet needs --output FILE".into())),
        };
        Ok(Sink { schema, writer, target: None })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let io = |e: std::io::Error| Error::io("output", e);
        match &mut self.writer {
            Writer::Table { held, rows, .. } => {
                *rows += batch.num_rows();
                held.push(batch.clone());
                if *rows >= TABLE_ROWS {
                    self.print_table()?;
                }
            }
            Writer::Csv(w) => {
                for row in self::rows(std::slice::from_ref(batch))? {
                    w.write_record(&row).map_err(csv_error)?;
                }
            }
            Writer::Json(w) => w.write(batch)?,
            Writer::Md(out) => {
                for row in self::rows(std::slice::from_ref(batch))? {
                    let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
                    writeln!(out, "| {} |", cells.join(" | ")).map_err(io)?;
                }
            }
            Writer::Parquet(w) => w.write(batch)?,
            Writer::Done => return Err(Error::Internal("a finished sink was written to".into())),
        }
        Ok(())
    }

    fn print_table(&mut self) -> Result<()> {
        if let Writer::Table { out, held, rows, printed } = &mut self.writer {
            if *printed && held.is_empty() {
                return Ok(());
            }
            let table = datafusion::arrow::util::pretty::pretty_format_batches_with_schema(
                self.schema.clone(),
                &printable(held)?,
            )?;
            writeln!(out, "{table}").map_err(|e| Error::io("output", e))?;
            held.clear();
            *rows = 0;
            *printed = true;
        }
        Ok(())
    }

    /// Flushes what is left and, into a file, moves it into place.
    pub fn finish(mut self) -> Result<()> {
        let io = |e: std::io::Error| Error::io("output", e);
        self.print_table()?;
        match std::mem::replace(&mut self.writer, Writer::Done) {
            Writer::Table { mut out, .. } | Writer::Md(mut out) => out.flush().map_err(io)?,
            Writer::Csv(mut w) => w.flush().map_err(io)?,
            Writer::Json(mut w) => {
                w.finish()?;
                w.into_inner().flush().map_err(io)?;
            }
            Writer::Parquet(w) => {
                w.close()?;
            }
            Writer::Done => {}
        }
        if let Some((tmp, path)) = self.target.take() {
            std::fs::rename(&tmp, &path).map_err(|e| Error::io(path.display(), e))?;
        }
        Ok(())
    }
}

impl Drop for Sink<'_> {
    /// A sink dropped before [`Sink::finish`] (a failed query) leaves no file behind.
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.target.take() {
            self.writer = Writer::Done;
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Keeps the `io::Error` inside a csv error visible, so a closed pipe is recognised as one.
fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io("output", io),
        other => Error::Internal(format!("CSV writer: {other:?}")),
    }
}

/// Every row as display strings (nulls as empty strings).
pub fn rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_display_error(true);
    let mut out = Vec::new();
    for b in batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for i in 0..b.num_rows() {
            out.push(formatters.iter().map(|f| f.value(i).to_string()).collect());
        }
    }
    Ok(out)
}

/// A Markdown table cell: terminal escapes stripped, line breaks folded, and the
/// characters Markdown would act on escaped (pipes end cells, backticks open code, `<`
/// opens HTML, brackets make links), so any text keeps the table valid and inert.
pub fn md_cell(s: &str) -> String {
    let s = crate::display::clean(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '`' | '<' | '>' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Batches with every string cell passed through [`crate::display::clean`]: what a
/// terminal table may show.
fn printable(batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    use datafusion::arrow::array::{Array, AsArray, StringArray};
    use datafusion::arrow::datatypes::DataType;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let mut columns = Vec::with_capacity(b.num_columns());
        for c in b.columns() {
            if matches!(c.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
                let utf8 = datafusion::arrow::compute::cast(c, &DataType::Utf8)?;
                let strings = utf8.as_string::<i32>();
                let cleaned: StringArray = strings.iter().map(|v| v.map(crate::display::clean)).collect();
                let cleaned = datafusion::arrow::compute::cast(&cleaned, c.data_type())?;
                columns.push(cleaned);
            } else {
                columns.push(c.clone());
            }
        }
        out.push(RecordBatch::try_new(b.schema(), columns)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed write (here: the target is a folder) leaves the old state and no
    /// temporary file: no truncated report after a full disk.
    #[test]
    fn whole_files_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        write_file(&path, b"first").unwrap();
        write_file(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let blocked = dir.path().join("blocked.md");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("inside"), b"x").unwrap();
        let e = write_file(&blocked, b"never").unwrap_err().to_string();
        assert!(e.contains("blocked.md"), "{e}");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn markdown_cells_stay_inside_their_cell() {
        assert_eq!(md_cell("a|b\nc\u{1b}[31mred"), "a\\|b cred");
        assert_eq!(md_cell("<script>`x`[l](u)"), "\\<script\\>\\`x\\`\\[l\\](u)");
    }
}
