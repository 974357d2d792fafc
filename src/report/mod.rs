//! Reports: one [`model::Report`] built from the catalog, rendered by one module per
//! format (Markdown now; HTML and JSON render the same model).

pub mod markdown;
pub mod model;

pub use model::{Report, ReportRequest, build};
