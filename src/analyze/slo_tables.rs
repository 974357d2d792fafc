//! The configured SLOs as SQL tables, for `retrace sql` and the server's clients
//! (Grafana's SLI, error-budget and breach panels): `slos`, one row per SLO;
//! `slo_minutes`, each SLO's bad and total events per minute; and `slo_breaches`, the
//! breaches `retrace slo` finds. They are computed by the same evaluation the reports use
//! (`sli::evaluate`: counters, histograms, PromQL, log predicates; `Analysis` for
//! breaches), so a dashboard and a report never disagree.
//!
//! Both are computed when scanned. `slo_minutes` covers the window its `minute` filters
//! give (`WHERE minute >= '…' AND minute < '…'`, as Grafana's time macros write), or the
//! warehouse's whole range without one; an `slo = '…'` filter evaluates that SLO only.
//! `slo_breaches` evaluates the whole range, as `retrace slo` does (a breach's onset and
//! baseline need the hours before any window).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use super::params::Window;
use super::{analysis, sli};
use crate::config::Slo;
use crate::error::Result;

/// Registers `slos` and `slo_minutes` for `slos`.
pub fn register(ctx: &SessionContext, slos: &[Slo]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("slo", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, false),
        Field::new("objective", DataType::Float64, false),
        Field::new("period_days", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(slos.iter().map(|s| s.name.as_str()))),
            Arc::new(StringArray::from_iter_values(slos.iter().map(|s| s.service.as_str()))),
            Arc::new(Float64Array::from_iter_values(slos.iter().map(|s| s.objective))),
            Arc::new(Float64Array::from_iter_values(slos.iter().map(|s| s.period.num_seconds() as f64 / 86_400.0))),
        ],
    )?;
    ctx.register_table("slos", Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;
    let slos = Arc::new(slos.to_vec());
    ctx.register_table("slo_minutes", Arc::new(SloMinutes { slos: slos.clone(), schema: minutes_schema() }))?;
    ctx.register_table("slo_breaches", Arc::new(SloBreaches { slos, schema: breaches_schema() }))?;
    Ok(())
}

fn breaches_schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("slo", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, false),
        Field::new("onset", ts(), false),
        Field::new("detected", ts(), false),
        Field::new("detected_by", DataType::Utf8, false),
        // Null while still burning where the data ends.
        Field::new("recovered", ts(), true),
        // `recovered`, or where the data ends for an ongoing breach.
        Field::new("until", ts(), false),
        Field::new("peak_burn_rate", DataType::Float64, false),
        Field::new("bad_events", DataType::Float64, false),
        Field::new("budget_consumed_pct", DataType::Float64, false),
    ]))
}

#[derive(Debug)]
struct SloBreaches {
    slos: Arc<Vec<Slo>>,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for SloBreaches {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let ctx = context(state)?;
        let batch = self.compute(&ctx).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(MemorySourceConfig::try_new_exec(&[vec![batch]], self.schema.clone(), projection.cloned())?)
    }
}

impl SloBreaches {
    async fn compute(&self, ctx: &SessionContext) -> Result<RecordBatch> {
        let breaches = match analysis::data_range(ctx).await? {
            Some(window) if !self.slos.is_empty() => {
                let analysis = super::Analysis::evaluate(ctx, &self.slos, window).await?;
                analysis.breaches().cloned().collect()
            }
            _ => Vec::new(),
        };
        let micros = |t: DateTime<Utc>| t.timestamp_micros();
        let text = |f: fn(&super::slo::Breach) -> &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(breaches.iter().map(f)))
        };
        let time = |f: fn(&super::slo::Breach) -> Option<DateTime<Utc>>| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::from(breaches.iter().map(|b| f(b).map(micros)).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            )
        };
        let number = |f: fn(&super::slo::Breach) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(breaches.iter().map(f)))
        };
        let columns = vec![
            text(|b| &b.id),
            text(|b| &b.slo),
            text(|b| &b.service),
            time(|b| Some(b.onset)),
            time(|b| Some(b.detected)),
            text(|b| &b.detected_by),
            time(|b| b.recovered),
            time(|b| Some(b.until())),
            number(|b| b.peak_burn_rate),
            number(|b| b.bad_events),
            number(|b| b.budget_consumed_pct),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// The scan's session as a context the analysis can query.
fn context(state: &dyn Session) -> datafusion::error::Result<SessionContext> {
    let state = state
        .as_any()
        .downcast_ref::<SessionState>()
        .ok_or_else(|| DataFusionError::Internal("the SLO tables need a DataFusion session".into()))?;
    Ok(SessionContext::new_with_state(state.clone()))
}

fn minutes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("slo", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, false),
        Field::new("minute", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        Field::new("bad", DataType::Float64, true),
        Field::new("total", DataType::Float64, true),
        // 1 − bad/total; null for a minute without data (a gap is never counted good).
        Field::new("sli", DataType::Float64, true),
        Field::new("objective", DataType::Float64, false),
    ]))
}

#[derive(Debug)]
struct SloMinutes {
    slos: Arc<Vec<Slo>>,
    schema: SchemaRef,
}

/// What the filters of a scan say: the minutes wanted and the SLO named, if any.
#[derive(Debug, Default, PartialEq)]
struct Wanted {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    slo: Option<String>,
}

impl Wanted {
    /// Narrows by one filter; false when the filter says nothing this table can use.
    fn narrow(&mut self, filter: &Expr) -> bool {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = filter else { return false };
        if *op == Operator::And {
            let (a, b) = (self.narrow(left), self.narrow(right));
            return a || b;
        }
        let (name, op, value) = match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), Expr::Literal(v, _)) => (c.name.as_str(), *op, v),
            (Expr::Literal(v, _), Expr::Column(c)) => match op.swap() {
                Some(swapped) => (c.name.as_str(), swapped, v),
                None => return false,
            },
            _ => return false,
        };
        match (name, op) {
            ("slo", Operator::Eq) => match value {
                ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => {
                    self.slo = Some(s.clone());
                    true
                }
                _ => false,
            },
            ("minute", op) => {
                let Some(t) = instant(value) else { return false };
                match op {
                    Operator::GtEq | Operator::Gt => self.from = Some(self.from.map_or(t, |f| f.max(t))),
                    Operator::Lt | Operator::LtEq => {
                        // `<=` keeps the minute that starts at `t`.
                        let t = if op == Operator::LtEq { t + Duration::minutes(1) } else { t };
                        self.to = Some(self.to.map_or(t, |f| f.min(t)));
                    }
                    Operator::Eq => {
                        self.from = Some(t);
                        self.to = Some(t + Duration::minutes(1));
                    }
                    _ => return false,
                }
                true
            }
            _ => false,
        }
    }
}

/// A timestamp literal (or text in any form `retrace sql --param` takes) as an instant.
fn instant(value: &ScalarValue) -> Option<DateTime<Utc>> {
    let micros = match value {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000)?,
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000)?,
        ScalarValue::TimestampMicrosecond(Some(v), _) => *v,
        ScalarValue::TimestampNanosecond(Some(v), _) => v.div_euclid(1_000),
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => {
            return crate::cli::parse_time(s).ok();
        }
        _ => return None,
    };
    DateTime::from_timestamp_micros(micros)
}

#[async_trait]
impl TableProvider for SloMinutes {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: the filters narrow what is computed; DataFusion still applies them.
        Ok(filters
            .iter()
            .map(|f| {
                if Wanted::default().narrow(f) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let mut wanted = Wanted::default();
        for f in filters {
            wanted.narrow(f);
        }
        let ctx = context(state)?;
        let batch = self.compute(&ctx, &wanted).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(MemorySourceConfig::try_new_exec(&[vec![batch]], self.schema.clone(), projection.cloned())?)
    }
}

impl SloMinutes {
    async fn compute(&self, ctx: &SessionContext, wanted: &Wanted) -> Result<RecordBatch> {
        let range = analysis::data_range(ctx).await?;
        let from = wanted.from.or(range.map(|r| r.from));
        let to = wanted.to.or(range.map(|r| r.to));
        let (mut slo, mut service, mut minute, mut bad, mut total, mut ratio, mut objective) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        if let (Some(from), Some(to)) = (from, to)
            && from < to
        {
            for s in self.slos.iter().filter(|s| wanted.slo.as_ref().is_none_or(|name| *name == s.name)) {
                let minutes = sli::evaluate(ctx, s, Window { from, to }).await?;
                for i in 0..minutes.len() {
                    let has = minutes.has_data[i];
                    slo.push(s.name.clone());
                    service.push(s.service.clone());
                    minute.push(minutes.time(i).timestamp_micros());
                    bad.push(has.then_some(minutes.bad[i]));
                    total.push(has.then_some(minutes.total[i]));
                    let t = minutes.total[i];
                    ratio.push((has && t > 0.0).then(|| 1.0 - minutes.bad[i] / t));
                    objective.push(s.objective);
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(slo)),
            Arc::new(StringArray::from(service)),
            Arc::new(TimestampMicrosecondArray::from(minute).with_timezone("UTC")),
            Arc::new(Float64Array::from(bad)),
            Arc::new(Float64Array::from(total)),
            Arc::new(Float64Array::from(ratio)),
            Arc::new(Float64Array::from(objective)),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    #[test]
    fn filters_narrow_the_window_and_the_slo() {
        let ts = |s: &str| {
            let t = DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
            lit(ScalarValue::TimestampMicrosecond(Some(t), Some("UTC".into())))
        };
        let mut w = Wanted::default();
        let f = col("minute").gt_eq(ts("2026-11-19T14:00:00Z")).and(col("minute").lt(ts("2026-11-19T15:00:00Z")));
        assert!(w.narrow(&f));
        assert!(w.narrow(&col("slo").eq(lit("checkout-availability"))));
        assert!(w.narrow(&ts("2026-11-19T14:30:00Z").lt_eq(col("minute"))));
        assert!(!w.narrow(&col("bad").gt(lit(1.0))));
        assert_eq!(w.from.unwrap().to_rfc3339(), "2026-11-19T14:30:00+00:00");
        assert_eq!(w.to.unwrap().to_rfc3339(), "2026-11-19T15:00:00+00:00");
        assert_eq!(w.slo.as_deref(), Some("checkout-availability"));
    }
}
