//! Registers the warehouse tables (and the views in `queries/`) on a DataFusion
//! `SessionContext`. Tables are listing tables over `<table>/date=…/*.parquet` with the
//! declared schema (never inferred) and `date` as a partition column, so a `date` filter
//! prunes whole folders and `ts` filters prune row groups and pages.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::prelude::col;

use crate::error::Result;
use crate::limits::QueryLimits;
use crate::tables::{ALL_TABLES, DATE, REJECTS, TS, schema_of};
use crate::warehouse::Warehouse;

/// Views every session has; each is a file in `queries/` (documented there).
pub const VIEWS: &[(&str, &str)] = &[
    ("deploy_spans", include_str!("../queries/deploy_spans.sql")),
    // After deploy_spans: it reads it.
    ("timeline", include_str!("../queries/timeline.sql")),
];

/// A session over `warehouse` with every table and view registered, under the default
/// [`QueryLimits`] (half of the memory this process can have).
pub async fn open(warehouse: &Warehouse) -> Result<SessionContext> {
    open_with(warehouse, &QueryLimits::default()).await
}

/// [`open`] with the memory pool sized by `limits`.
pub async fn open_with(warehouse: &Warehouse, limits: &QueryLimits) -> Result<SessionContext> {
    let ctx = SessionContext::new_with_config_rt(session_config(SessionConfig::new()), crate::limits::runtime(limits)?);
    register(&ctx, warehouse).await?;
    Ok(ctx)
}

/// The settings every session has, local or on a cluster (whose config starts from
/// Ballista's): UTC, as every time in the warehouse is, and `information_schema`.
pub fn session_config(base: SessionConfig) -> SessionConfig {
    base.with_information_schema(true).set_str("datafusion.execution.time_zone", "UTC")
}

/// Registers the warehouse's object store, tables and views on `ctx`.
pub async fn register(ctx: &SessionContext, warehouse: &Warehouse) -> Result<()> {
    let started = std::time::Instant::now();
    ctx.register_object_store(&warehouse.location.base_url, warehouse.location.store.clone());

    for table in ALL_TABLES {
        let schema = schema_of(table).expect("every listed table has a schema");
        let mut options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![(DATE.to_string(), DataType::Utf8)]);
        if table != REJECTS {
            options = options.with_file_sort_order(vec![vec![col(TS).sort(true, false)]]);
        }
        let url = ListingTableUrl::parse(warehouse.location.folder_url(table))?;
        let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
        ctx.register_table(table, Arc::new(ListingTable::try_new(config)?))?;
    }
    let tables_ms = started.elapsed().as_secs_f64() * 1e3;
    for (name, sql) in VIEWS {
        let df = ctx.sql(sql).await?;
        ctx.register_table(*name, df.into_view())?;
    }
    // `-vv`: what a session costs before the first query (a short query's floor).
    tracing::debug!(
        tables_ms = format!("{tables_ms:.1}"),
        total_ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1e3),
        "session opened"
    );
    Ok(())
}

/// Drops the session's cached folder listings (DataFusion keeps them for the session's
/// life), so the next query lists the tables again: after an ingest replaced files a
/// query had listed.
pub fn forget_listings(ctx: &SessionContext) {
    if let Some(cache) = ctx.runtime_env().cache_manager.get_list_files_cache() {
        cache.clear();
    }
}

/// What user SQL may do: read. DDL, DML (`INSERT`, `COPY`) and statements (`SET`) are refused.
pub fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

/// Checks `plan` against [`read_only`]; the refusal is DataFusion's reason without its
/// "Error during planning" prefix, for `retrace sql` and the server to word their own way.
pub fn verify_read_only(plan: &datafusion::logical_expr::LogicalPlan) -> std::result::Result<(), String> {
    read_only().verify_plan(plan).map_err(|e| {
        let message = e.strip_backtrace();
        message.strip_prefix("Error during planning: ").unwrap_or(&message).to_string()
    })
}

/// Binds named parameter values (`--param`, a server `EXECUTE`'s arguments), typed as each placeholder's inferred type.
pub fn bind_params(
    plan: datafusion::logical_expr::LogicalPlan,
    params: &std::collections::HashMap<String, String>,
) -> Result<datafusion::logical_expr::LogicalPlan> {
    let types = plan.get_parameter_types()?;
    if types.is_empty() {
        return Ok(plan);
    }
    let mut values = std::collections::HashMap::new();
    for (name, ty) in types {
        let key = name.trim_start_matches('$').to_string();
        let raw = params
            .get(&key)
            .ok_or_else(|| crate::error::Error::Usage(format!("the query needs --param {key}=VALUE")))?;
        let value = match ty {
            Some(DataType::Timestamp(_, _)) => {
                let t = crate::cli::parse_time(raw).map_err(crate::error::Error::Usage)?;
                datafusion::scalar::ScalarValue::TimestampMicrosecond(Some(t.timestamp_micros()), Some("UTC".into()))
            }
            Some(ty) => datafusion::scalar::ScalarValue::try_from_string(raw.clone(), &ty)
                .map_err(|e| crate::error::Error::Usage(format!("--param {key}: {}", e.strip_backtrace())))?,
            None => match raw.as_str() {
                "true" | "false" => datafusion::scalar::ScalarValue::Boolean(Some(raw == "true")),
                _ => datafusion::scalar::ScalarValue::Utf8(Some(raw.clone())),
            },
        };
        values.insert(key, value.into());
    }
    Ok(plan.with_param_values(datafusion::common::ParamValues::Map(values))?)
}
