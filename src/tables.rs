//! The canonical tables: their names and Arrow schemas. This is the contract between
//! ingest (which fills them), the warehouse (which stores them) and the catalog (which
//! registers them for SQL). `docs/tables.md` documents every column; keep the two in step.
//!
//! Conventions: every time column is `Timestamp(Microsecond, "UTC")`; every data table
//! ends with `source` (the object URL a row came from) and `line` (1-based line in that
//! object), so any row can be traced back to its evidence. The `date` partition column
//! (`YYYY-MM-DD`, UTC) comes from the warehouse key and is added by the catalog.

use std::fmt;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayBuilder, MapBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

/// The kind of telemetry a source holds; each kind fills one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Logs,
    Metrics,
    Changes,
    Deploys,
    /// The human side: alerts, pages, acknowledgements, chat, status updates, notes.
    Events,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Logs, Kind::Metrics, Kind::Changes, Kind::Deploys, Kind::Events];

    pub fn table(self) -> &'static str {
        match self {
            Kind::Logs => LOGS,
            Kind::Metrics => METRICS,
            Kind::Changes => CHANGES,
            Kind::Deploys => DEPLOYS,
            Kind::Events => EVENTS,
        }
    }

    /// The name a source's `kind =` gives it (the table is `incident_events` for `events`).
    pub fn source_name(self) -> &'static str {
        match self {
            Kind::Events => "events",
            other => other.table(),
        }
    }

    pub fn schema(self) -> SchemaRef {
        match self {
            Kind::Logs => LOGS_SCHEMA.clone(),
            Kind::Metrics => METRICS_SCHEMA.clone(),
            Kind::Changes => CHANGES_SCHEMA.clone(),
            Kind::Deploys => DEPLOYS_SCHEMA.clone(),
            Kind::Events => EVENTS_SCHEMA.clone(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.table())
    }
}

pub const LOGS: &str = "logs";
pub const METRICS: &str = "metrics";
pub const CHANGES: &str = "changes";
pub const DEPLOYS: &str = "deploys";
pub const EVENTS: &str = "incident_events";
pub const REJECTS: &str = "rejects";

/// Every table in the warehouse, in the order they are documented.
pub const ALL_TABLES: [&str; 6] = [LOGS, METRICS, CHANGES, DEPLOYS, EVENTS, REJECTS];

/// The partition column every table gets from its `date=YYYY-MM-DD` key segment.
pub const DATE: &str = "date";
pub const TS: &str = "ts";

pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `Map<Utf8, Utf8>` exactly as `MapBuilder` produces it, so written batches and the
/// declared schema can never disagree on field names or nullability.
pub fn string_map_type() -> DataType {
    let mut b = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    ArrayBuilder::finish(&mut b).data_type().clone()
}

fn ts() -> Field {
    Field::new(TS, timestamp_type(), false)
}
fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}
/// Every data table ends with these: the timestamp as written and the judgements made
/// normalizing it, then where the row came from.
fn provenance() -> [Field; 4] {
    [
        Field::new("ts_raw", DataType::Utf8, true),
        Field::new("ts_flags", DataType::Utf8, true),
        Field::new("source", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
    ]
}

fn schema(fields: impl IntoIterator<Item = Field>) -> SchemaRef {
    Arc::new(Schema::new(fields.into_iter().chain(provenance()).collect::<Vec<_>>()))
}

pub static LOGS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema([
        ts(),
        text("service"),
        text("host"),
        text("level"),
        text("msg"),
        Field::new("status", DataType::Int32, true),
        Field::new("latency_ms", DataType::Float64, true),
        text("trace_id"),
        Field::new("attributes", string_map_type(), true),
    ])
});

pub static METRICS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema([
        ts(),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        text("service"),
        Field::new("labels", string_map_type(), true),
    ])
});

pub static CHANGES_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema([
        ts(),
        Field::new("change_id", DataType::Utf8, false),
        text("service"),
        text("system"),
        text("key"),
        text("old_value"),
        text("new_value"),
        text("actor"),
        text("scope"),
        text("description"),
        text("reverts"),
        Field::new("attributes", string_map_type(), true),
    ])
});

pub static DEPLOYS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema([
        ts(),
        Field::new("deploy_id", DataType::Utf8, false),
        text("service"),
        text("version"),
        text("previous_version"),
        text("environment"),
        Field::new("status", DataType::Utf8, false),
        Field::new("percent", DataType::Float64, true),
        text("actor"),
        text("commit"),
        text("description"),
        Field::new("attributes", string_map_type(), true),
    ])
});

/// What people and their tools did: alerts firing and resolving, pages, acknowledgements,
/// escalations, declarations, status updates, chat, notes and actions.
pub static EVENTS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    schema([
        ts(),
        Field::new("kind", DataType::Utf8, false),
        text("service"),
        text("actor"),
        text("title"),
        text("text"),
        text("ref"),
        text("severity"),
        Field::new("attributes", string_map_type(), true),
    ])
});

/// Rejected records: what could not become a row, and why. Nothing is dropped silently.
pub static REJECTS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
    ]))
});

pub fn schema_of(table: &str) -> Option<SchemaRef> {
    match table {
        LOGS => Some(LOGS_SCHEMA.clone()),
        METRICS => Some(METRICS_SCHEMA.clone()),
        CHANGES => Some(CHANGES_SCHEMA.clone()),
        DEPLOYS => Some(DEPLOYS_SCHEMA.clone()),
        EVENTS => Some(EVENTS_SCHEMA.clone()),
        REJECTS => Some(REJECTS_SCHEMA.clone()),
        _ => None,
    }
}
