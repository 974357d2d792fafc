//! Named query parameters (`$from`, `$service`, …) and helpers to read typed columns back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::ParamValues;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;

use crate::error::{Error, Result};

/// A time window `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Window> {
        if to <= from {
            return Err(Error::Usage(format!("the window is empty: --to ({to}) must be after --from ({from})")));
        }
        Ok(Window { from, to })
    }
}

/// Named parameters for a query in `queries/`.
#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, ScalarValue>);

impl Params {
    /// `$from`, `$to`, `$from_date`, `$to_date` and `$service` for a window.
    pub fn window(window: Window, service: Option<&str>) -> Params {
        let last = window.to - chrono::Duration::microseconds(1);
        Params::default()
            .with("from", timestamp(window.from))
            .with("to", timestamp(window.to))
            .with("from_date", ScalarValue::Utf8(Some(window.from.date_naive().to_string())))
            .with("to_date", ScalarValue::Utf8(Some(last.date_naive().to_string())))
            .with("service", ScalarValue::Utf8(Some(service.unwrap_or("").to_string())))
    }

    pub fn with(mut self, name: &str, value: ScalarValue) -> Params {
        self.0.insert(name.to_string(), value);
        self
    }

    pub fn into_param_values(self) -> ParamValues {
        ParamValues::Map(self.0.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

pub fn timestamp(t: DateTime<Utc>) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(t.timestamp_micros()), Some("UTC".into()))
}

/// Runs one query with named parameters and collects the result.
/// How often a query whose files vanished under it (an ingest replacing objects) runs
/// again before the error is reported.
pub const VANISHED_RETRIES: u32 = 6;

pub async fn run(ctx: &SessionContext, sql: &str, params: Params) -> Result<Vec<RecordBatch>> {
    let started = std::time::Instant::now();
    let values = params.into_param_values();
    let mut attempt = 0;
    let batches = loop {
        let run = async { ctx.sql(sql).await?.with_param_values(values.clone())?.collect().await };
        match run.await {
            // An ingest replaced files between listing and reading: the next listing has
            // the new ones.
            Err(e) if crate::error::vanished_file(&e) && attempt < VANISHED_RETRIES => {
                attempt += 1;
                tracing::debug!(attempt, error = %e, "A file vanished under the query; running it again.");
                crate::catalog::forget_listings(ctx);
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            other => break other?,
        }
    };
    // `-vv` shows where an analysis spends its time, query by query.
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        rows = batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        query = sql.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim(),
        "query"
    );
    Ok(batches)
}

/// Where an event's evidence is: an object and a line in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct SourceRef {
    pub object: String,
    pub line: u64,
}

impl SourceRef {
    /// `object:line`, or just `object` for derived events (line 0: an analysis, not a record).
    pub fn display(&self, root: Option<&str>) -> String {
        let object = crate::display::relative_source(&self.object, root);
        if self.line == 0 { object.to_string() } else { format!("{object}:{}", self.line) }
    }
}

/// The `source`/`line` pair of a result, read together.
pub struct Provenance {
    source: Column,
    line: Column,
}

impl Provenance {
    pub fn of(batch: &RecordBatch, source: &str, line: &str) -> Result<Provenance> {
        Ok(Provenance { source: Column::of(batch, source)?, line: Column::of(batch, line)? })
    }

    pub fn at(&self, row: usize) -> Result<SourceRef> {
        Ok(SourceRef {
            object: self.source.str(row)?.unwrap_or_default(),
            line: self.line.i64(row)?.unwrap_or(0).max(0) as u64,
        })
    }
}

/// Typed access to a result column by name, whatever string/int encoding DataFusion chose.
pub struct Column(ArrayRef);

impl Column {
    pub fn of(batch: &RecordBatch, name: &str) -> Result<Column> {
        let array = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("query result has no column `{name}`")))?;
        Ok(Column(array.clone()))
    }

    pub fn str(&self, row: usize) -> Result<Option<String>> {
        if self.0.is_null(row) {
            return Ok(None);
        }
        let utf8 = cast(&self.0.slice(row, 1), &DataType::Utf8)?;
        Ok(Some(utf8.as_string::<i32>().value(0).to_string()))
    }

    pub fn i64(&self, row: usize) -> Result<Option<i64>> {
        if self.0.is_null(row) {
            return Ok(None);
        }
        let v = cast(&self.0.slice(row, 1), &DataType::Int64)?;
        Ok(Some(v.as_primitive::<Int64Type>().value(0)))
    }

    pub fn f64(&self, row: usize) -> Result<Option<f64>> {
        if self.0.is_null(row) {
            return Ok(None);
        }
        let v = cast(&self.0.slice(row, 1), &DataType::Float64)?;
        Ok(Some(v.as_primitive::<datafusion::arrow::datatypes::Float64Type>().value(0)))
    }

    /// The whole column as text, cast once (for reading many rows).
    pub fn utf8(&self) -> Result<datafusion::arrow::array::StringArray> {
        Ok(cast(&self.0, &DataType::Utf8)?.as_string::<i32>().clone())
    }

    /// The whole column as UTC microseconds, cast once.
    pub fn micros(&self) -> Result<Vec<Option<i64>>> {
        let v = cast(&self.0, &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))?;
        Ok(v.as_primitive::<TimestampMicrosecondType>().iter().collect())
    }

    /// The whole column as booleans, cast once.
    pub fn bools(&self) -> Result<Vec<Option<bool>>> {
        Ok(cast(&self.0, &DataType::Boolean)?.as_boolean().iter().collect())
    }

    pub fn time(&self, row: usize) -> Result<Option<DateTime<Utc>>> {
        if self.0.is_null(row) {
            return Ok(None);
        }
        let v = cast(&self.0.slice(row, 1), &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))?;
        let micros = v.as_primitive::<TimestampMicrosecondType>().value(0);
        DateTime::from_timestamp_micros(micros)
            .map(Some)
            .ok_or_else(|| Error::Internal(format!("timestamp {micros} out of range")))
    }
}
