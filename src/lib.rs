//! retrace reconstructs incident timelines from the telemetry a company already keeps.
//!
//! # Pipeline
//!
//! Each stage consumes only the previous stage's types:
//!
//! ```text
//! sources (object-store URLs, globs, .gz/.zst)          config::Source
//!   -> ingest: records -> typed Arrow batches, UTC       ingest::{record, batch}, rejects kept
//!   -> warehouse: sorted zstd Parquet per table and day  warehouse::{layout, manifest}
//!   -> catalog: tables + views on a SessionContext       catalog
//!   -> analyze: timeline, SLOs, suspects (queries/)      analyze::{timeline, slo, suspects}
//!   -> report: one model, redacted, three renderers      report::{model, markdown, html, json}
//!   -> digest: weekly figures for CI                     digest
//! ```
//!
//! # Tables
//!
//! `logs`, `metrics`, `changes`, `deploys` (one per source kind) and `rejects` (records
//! that could not become rows, with object, line, reason and raw text). Schemas are in
//! [`tables`]; every column is documented in `docs/tables.md`. View: `deploy_spans`.
//!
//! # Warehouse key layout
//!
//! ```text
//! <warehouse>/<table>/date=YYYY-MM-DD/<object-id>-<version>-<seq>.parquet
//! <warehouse>/_manifest/objects/<object-id>.json
//! ```
//!
//! Rows are partitioned by the UTC day of `ts` (rejects by the day their object was last
//! modified) and sorted by `(ts, line)` inside each file. `object-id` hashes the source
//! object's URL, `version` its size and ETag/last-modified. A manifest entry is written
//! after an object's files and is the commit point: re-ingesting an unchanged object is a
//! no-op, a changed one replaces its files, and files of an interrupted run (named by no
//! entry) are removed before the next ingest. See [`warehouse`].

pub mod analyze;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod digest;
pub mod display;
pub mod error;
pub mod ingest;
pub mod limits;
pub mod logging;
pub mod output;
pub mod report;
pub mod serve;
pub mod tables;
#[cfg(test)]
pub(crate) mod test_rng;
pub mod warehouse;

pub use commands::{Outcome, run};
pub use error::{Error, Result};
