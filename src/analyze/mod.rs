//! Analysis over the catalog. SQL lives in `queries/` where SQL fits (each file documents
//! its parameters); Rust binds the parameters, runs it, and turns rows into typed values.

pub mod analysis;
pub mod changes;
pub mod drain;
pub mod params;
pub mod people;
pub mod promql;
pub mod skew;
pub mod sli;
pub mod slo;
pub mod slo_tables;
pub mod spans;
pub mod suspects;
pub mod timeline;

pub use analysis::Analysis;
pub use params::{Params, Window};
