//! Reports: one [`model::Report`] built from the catalog, rendered by one module per
//! format (ripgrep's printer split): Markdown (an editable post-mortem draft), HTML (one
//! self-contained page with SVG charts) and JSON (a versioned schema). Redaction happens
//! on the model, once, so every format shows the same placeholders.

pub mod charts;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod redact;
pub mod select;

pub use model::{Report, ReportRequest, build};
