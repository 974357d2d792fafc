//! Named query parameters (`$from`, `$service`, …) and helpers to read typed columns back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
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

/// Runs one query with named parameters and collects the result. A query whose files
/// vanished under it (an ingest replacing objects) runs again with fresh listings, for up
/// to [`crate::error::VANISHED_PATIENCE`].
pub async fn run(ctx: &SessionContext, sql: &str, params: Params) -> Result<Vec<RecordBatch>> {
    run_filtered(ctx, sql, params, None).await
}

/// [`run`], with `filter` applied to the query's rows: a predicate generated from config
/// (a series selector) is a DataFusion expression, not SQL text spliced into the query.
pub async fn run_filtered(
    ctx: &SessionContext,
    sql: &str,
    params: Params,
    filter: Option<datafusion::logical_expr::Expr>,
) -> Result<Vec<RecordBatch>> {
    let started = std::time::Instant::now();
    let values = params.into_param_values();
    let mut retry = crate::error::VanishedRetry::default();
    let batches = loop {
        let run = async {
            let frame = ctx.sql(sql).await?.with_param_values(values.clone())?;
            match &filter {
                Some(f) => frame.filter(f.clone())?.collect().await,
                None => frame.collect().await,
            }
        };
        match run.await {
            // An ingest replaced files between listing and reading: the next listing has
            // the new ones.
            Err(e) if crate::error::vanished_file(&e) => {
                let Some(wait) = retry.next_wait() else { break Err(e)? };
                tracing::debug!(attempt = retry.attempt, error = %e, "A file vanished under the query; running it again.");
                crate::catalog::forget_listings(ctx);
                tokio::time::sleep(wait).await;
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

/// Runs one query and decodes its rows into `T`, one struct per row (`serde_arrow`):
/// each canned query has a row struct whose fields are its columns, so a result is read
/// once, by name and type, not cell by cell. A column the struct lacks is ignored; one
/// the query lacks fails naming the query.
pub async fn rows<T: serde::de::DeserializeOwned>(ctx: &SessionContext, sql: &str, params: Params) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for batch in run(ctx, sql, params).await? {
        out.extend(decode::<T>(&batch).map_err(|e| {
            let name = sql.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
            Error::Internal(format!("decoding the rows of `{name}`: {e}"))
        })?);
    }
    Ok(out)
}

/// Decodes a batch into rows. String columns come in whatever encoding DataFusion chose
/// (views, dictionaries, large offsets) and timestamps in any unit: both are cast to the
/// plain forms first, so a row struct depends on the column's meaning, not the plan.
pub fn decode<T: serde::de::DeserializeOwned>(batch: &RecordBatch) -> Result<Vec<T>> {
    let fields: Vec<datafusion::arrow::datatypes::FieldRef> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| match plain(f.data_type()) {
            Some(t) => std::sync::Arc::new(f.as_ref().clone().with_data_type(t)),
            None => f.clone(),
        })
        .collect();
    let columns = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { cast(c, f.data_type()) })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    serde_arrow::from_arrow(&fields, &columns).map_err(|e| Error::Internal(e.to_string()))
}

/// The plain type a column is read as, if it is not already.
fn plain(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => Some(DataType::Utf8),
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
            Some(DataType::Utf8)
        }
        DataType::Timestamp(unit, tz) if *unit != TimeUnit::Microsecond || tz.as_deref() != Some("UTC") => {
            Some(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))
        }
        _ => None,
    }
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

impl SourceRef {
    /// From a query's `source` and `line` columns (a missing line is 0).
    pub fn of(object: Option<String>, line: Option<i64>) -> SourceRef {
        SourceRef { object: object.unwrap_or_default(), line: line.unwrap_or(0).max(0) as u64 }
    }
}

/// A whole result column by name, cast once to the Arrow type a large result is read as
/// (row structs via [`rows`] are for small results; the canary scan reads this).
pub struct Column(ArrayRef);

impl Column {
    pub fn of(batch: &RecordBatch, name: &str) -> Result<Column> {
        let array = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("query result has no column `{name}`")))?;
        Ok(Column(array.clone()))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Row {
        ts: Option<DateTime<Utc>>,
        service: Option<String>,
        lines: u64,
        share: Option<f64>,
        flag: bool,
    }

    #[tokio::test]
    async fn rows_decode_by_name_whatever_the_encoding() {
        let ctx = SessionContext::new();
        let sql = "SELECT arrow_cast(ts, 'Timestamp(Millisecond, Some(\"+02:00\"))') AS ts, \
                   arrow_cast(service, 'Dictionary(Int32, Utf8)') AS service, lines, share, flag, 'unused' AS extra \
                   FROM (VALUES (arrow_cast(TIMESTAMP '2026-11-19T14:05:00', 'Timestamp(Microsecond, Some(\"UTC\"))'), arrow_cast('api', 'Utf8View'), 3, 0.5, true), \
                                (NULL, NULL, 0, NULL, false)) AS t(ts, service, lines, share, flag)";
        let got: Vec<Row> = rows(&ctx, sql, Params::default()).await.unwrap();
        assert_eq!(
            got,
            vec![
                Row {
                    ts: DateTime::from_timestamp(1_795_097_100, 0), // 14:05Z, read from +02:00 milliseconds
                    service: Some("api".into()),
                    lines: 3,
                    share: Some(0.5),
                    flag: true,
                },
                Row { ts: None, service: None, lines: 0, share: None, flag: false },
            ]
        );
        let missing = rows::<Row>(&ctx, "SELECT 1 AS lines", Params::default()).await.unwrap_err();
        assert!(missing.to_string().contains("SELECT 1 AS lines"), "{missing}");
    }
}
