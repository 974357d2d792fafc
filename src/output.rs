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

use crate::cli::OutputFormat;
use crate::error::{Error, Result};

/// Writes a whole file so that it is either there complete or not changed: into a
/// temporary file beside it, then renamed over it. A full disk leaves the old file (or
/// none), never a truncated one, and the temporary file is removed.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path.display(), e));
    }
    Ok(())
}

/// Writes batches to `--output` or stdout.
pub fn emit(schema: &SchemaRef, batches: &[RecordBatch], format: OutputFormat, output: Option<&Path>) -> Result<()> {
    if format == OutputFormat::Parquet {
        let path = output.ok_or_else(|| Error::Usage("--format parquet needs --output FILE".into()))?;
        let file = File::create(path).map_err(|e| Error::io(path.display(), e))?;
        let mut w =
            ArrowWriter::try_new(file, schema.clone(), Some(crate::warehouse::parquet::writer_properties(false)))?;
        for b in batches {
            w.write(b)?;
        }
        w.close()?;
        return Ok(());
    }
    match output {
        Some(path) => {
            let mut file = std::io::BufWriter::new(File::create(path).map_err(|e| Error::io(path.display(), e))?);
            write(schema, batches, format, &mut file)?;
            file.flush().map_err(|e| Error::io(path.display(), e))
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            write(schema, batches, format, &mut lock)?;
            lock.flush().map_err(|e| Error::io("stdout", e))
        }
    }
}

/// Writes batches in a text format.
pub fn write(schema: &SchemaRef, batches: &[RecordBatch], format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| Error::io("output", e);
    match format {
        OutputFormat::Table => {
            let table = datafusion::arrow::util::pretty::pretty_format_batches_with_schema(
                schema.clone(),
                &printable(batches)?,
            )?;
            writeln!(out, "{table}").map_err(io)?;
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(schema.fields().iter().map(|f| f.name().as_str())).map_err(csv_error)?;
            for row in rows(batches)? {
                w.write_record(&row).map_err(csv_error)?;
            }
            w.flush().map_err(io)?;
        }
        OutputFormat::Json => {
            // Explicit nulls: every line has every column, so consumers see a stable shape.
            let mut w = datafusion::arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, datafusion::arrow::json::writer::LineDelimited>(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        OutputFormat::Md => {
            let names: Vec<String> = schema.fields().iter().map(|f| md_cell(f.name())).collect();
            writeln!(out, "| {} |", names.join(" | ")).map_err(io)?;
            writeln!(out, "|{}", " --- |".repeat(names.len())).map_err(io)?;
            for row in rows(batches)? {
                let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
                writeln!(out, "| {} |", cells.join(" | ")).map_err(io)?;
            }
        }
        OutputFormat::Parquet => return Err(Error::Internal("parquet is written by emit".into())),
    }
    Ok(())
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

    #[test]
    fn markdown_cells_stay_inside_their_cell() {
        assert_eq!(md_cell("a|b\nc\u{1b}[31mred"), "a\\|b cred");
        assert_eq!(md_cell("<script>`x`[l](u)"), "\\<script\\>\\`x\\`\\[l\\](u)");
    }
}
