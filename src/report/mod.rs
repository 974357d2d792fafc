//! Reports: one [`model::Report`] built from the catalog, rendered by one module per
//! format (ripgrep's printer split): Markdown (an editable post-mortem draft), HTML (one
//! self-contained page with SVG charts) and JSON (a versioned schema). Redaction happens
//! on the finished model, once, over every text in it (`redact_model`), so every format
//! shows the same placeholders; each rendered file is then scrubbed of any value the
//! pass replaced (`Redactor::scrub`), in case a renderer spells one anew.

pub mod charts;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod redact;
pub mod redact_model;
pub mod select;

pub use model::{Report, ReportRequest, build};
