//! Drivers that turn an object's bytes into records for the line formats (JSON Lines,
//! logfmt, text patterns, Prometheus exposition) and the JSON document formats
//! (Prometheus `query_range`, GitHub deployments, LaunchDarkly audit, Kubernetes events).
//!
//! Every line is accounted for: it becomes a row, a reject, a blank/comment line, or (for
//! a `continuation` pattern) part of the record before it; [`Counts`] says how many of
//! the last two kinds there were, so the ingest summary adds up.

use std::borrow::Cow;
use std::io::BufRead;

use serde::Serialize;

use super::document::{self, DocumentError};
use super::pattern::{Fields, LinePattern};
use super::record::{Assembler, Row, Value};
use super::reject::{Reason, Reject};
use super::{exporters, jsonl, logfmt, prometheus, reader, responders};
use crate::config::Format;
use crate::error::{Error, Result};
use crate::tables::Kind;

/// Lines of an object that are not records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Empty lines and comments (`# HELP` in the Prometheus text format).
    pub blank: u64,
    /// Lines appended to the record before them.
    pub merged: u64,
}

/// Where records go: `(line, raw text, outcome)`.
pub type Emit<'a> = dyn FnMut(u64, &[u8], std::result::Result<Row<'_>, Reject>) -> Result<()> + 'a;

pub fn assemble_fields(asm: &Assembler, fields: Fields) -> std::result::Result<Row<'static>, Reject> {
    asm.assemble(fields.into_iter().map(|(k, v)| (Cow::Owned(k), Value::Str(Cow::Owned(v)))))
}

/// A record held back until the next line shows whether it continues.
struct Pending {
    line: u64,
    raw: Vec<u8>,
    fields: Fields,
}

/// Reads a line format.
pub struct LineParser {
    format: Format,
    pattern: Option<LinePattern>,
    pending: Option<Pending>,
    counts: Counts,
}

impl LineParser {
    pub fn new(format: Format, pattern: Option<LinePattern>) -> Self {
        LineParser { format, pattern, pending: None, counts: Counts::default() }
    }

    pub fn read(mut self, input: impl BufRead, asm: &Assembler, emit: &mut Emit<'_>) -> Result<Counts> {
        let mut lines = reader::Lines::new(input, reader::MAX_LINE);
        while let Some((n, line)) = lines.next_line().map_err(|e| Error::io("", e))? {
            match line {
                reader::Line::Text(text) => self.line(n, text, asm, emit)?,
                reader::Line::TooLong { head, len } => {
                    self.flush(asm, emit)?;
                    let reject = Reject::new(
                        Reason::LineTooLong,
                        format!("line of {len} bytes exceeds the {} byte limit", reader::MAX_LINE),
                    );
                    emit(n, head, Err(reject))?;
                }
            }
        }
        self.flush(asm, emit)?;
        Ok(self.counts)
    }

    fn line(&mut self, n: u64, bytes: &[u8], asm: &Assembler, emit: &mut Emit<'_>) -> Result<()> {
        if !self.pattern.as_ref().is_some_and(|p| p.continuation) {
            return match parse_single(self.format, self.pattern.as_ref(), bytes, asm)? {
                Some(outcome) => emit(n, bytes, outcome),
                None => {
                    self.counts.blank += 1;
                    Ok(())
                }
            };
        }
        if jsonl::is_blank(bytes) {
            self.counts.blank += 1;
            return Ok(());
        }
        let (text, lossy) = lossy_text(bytes);
        self.continuation_line(n, &text, lossy, asm, emit)
    }

    /// A line under a `continuation` pattern: a new record, or more of the one before.
    fn continuation_line(
        &mut self,
        n: u64,
        text: &str,
        lossy: bool,
        asm: &Assembler,
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        let Some(pattern) = &self.pattern else {
            return Err(Error::Internal(format!("format {} without a pattern", self.format.name())));
        };
        match pattern.fields(text) {
            Some(mut fields) => {
                self.flush(asm, emit)?;
                flag_lossy(&mut fields, lossy);
                self.pending = Some(Pending { line: n, raw: text.as_bytes().to_vec(), fields });
                Ok(())
            }
            None if self.pending.is_some() => {
                let pending = self.pending.as_mut().expect("checked above");
                append_msg(&mut pending.fields, text);
                flag_lossy(&mut pending.fields, lossy);
                self.counts.merged += 1;
                Ok(())
            }
            None => {
                let reject = Reject::new(Reason::NoMatch, format!("line does not match pattern `{}`", pattern.name));
                emit(n, text.as_bytes(), Err(reject))
            }
        }
    }

    fn flush(&mut self, asm: &Assembler, emit: &mut Emit<'_>) -> Result<()> {
        match self.pending.take() {
            Some(p) => emit(p.line, &p.raw, assemble_fields(asm, p.fields)),
            None => Ok(()),
        }
    }
}

/// Parses one line of a format whose records are one line each (every line format but a
/// `continuation` pattern): `None` for a blank or comment line.
pub fn parse_single<'b>(
    format: Format,
    pattern: Option<&LinePattern>,
    bytes: &'b [u8],
    asm: &Assembler,
) -> Result<Option<std::result::Result<Row<'b>, Reject>>> {
    if jsonl::is_blank(bytes) {
        return Ok(None);
    }
    if format == Format::Jsonl {
        return Ok(Some(jsonl::parse_line(bytes, asm)));
    }
    if format == Format::PrometheusText {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => return Ok(Some(Err(invalid_utf8(&e)))),
        };
        return Ok(match prometheus::parse_exposition(text) {
            Ok(None) => None,
            Ok(Some(fields)) if !asm.stamps_untimed() && !fields.iter().any(|(k, _)| k == "ts") => {
                Some(Err(Reject::new(Reason::InvalidExposition, prometheus::NO_TIMESTAMP)))
            }
            Ok(Some(fields)) => Some(assemble_fields(asm, fields)),
            Err(e) => Some(Err(Reject::new(Reason::InvalidExposition, e))),
        });
    }
    // Text logs carry what clients sent (an nginx error log writes raw request bytes):
    // a line that is not UTF-8 is kept with U+FFFD in place of the bad bytes, and flagged.
    let (text, lossy) = lossy_text(bytes);
    let fields = match format {
        Format::Logfmt => logfmt::parse(&text).map_err(|e| Reject::new(Reason::InvalidLogfmt, e)),
        _ => {
            let Some(pattern) = pattern else {
                return Err(Error::Internal(format!("format {} without a pattern", format.name())));
            };
            pattern
                .fields(&text)
                .ok_or_else(|| Reject::new(Reason::NoMatch, format!("line does not match pattern `{}`", pattern.name)))
        }
    };
    Ok(Some(fields.and_then(|mut f| {
        flag_lossy(&mut f, lossy);
        assemble_fields(asm, f)
    })))
}

/// The attribute that marks a record whose line was not valid UTF-8.
pub const LOSSY_UTF8: &str = "invalid_utf8";

/// A line as text: borrowed when it is UTF-8, else with U+FFFD for each bad sequence.
fn lossy_text(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    let text = String::from_utf8_lossy(bytes);
    let lossy = matches!(text, Cow::Owned(_));
    (text, lossy)
}

fn flag_lossy(fields: &mut Fields, lossy: bool) {
    if lossy && !fields.iter().any(|(k, _)| k == LOSSY_UTF8) {
        fields.push((LOSSY_UTF8.to_string(), "replaced".to_string()));
    }
}

fn invalid_utf8(e: &std::str::Utf8Error) -> Reject {
    Reject::new(Reason::InvalidUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to()))
}

/// Appends a continuation line to `msg`, keeping a record under the line limit.
fn append_msg(fields: &mut Fields, line: &str) {
    let msg = match fields.iter_mut().find(|(k, _)| k == "msg") {
        Some((_, m)) => m,
        None => {
            fields.push(("msg".into(), String::new()));
            &mut fields.last_mut().expect("just pushed").1
        }
    };
    if msg.len() + line.len() < reader::MAX_LINE {
        msg.push('\n');
        msg.push_str(line);
    } else if !msg.ends_with("…[truncated]") {
        msg.push_str("\n…[truncated]");
    }
}

/// Reads a JSON document format. `line` is the record's ordinal in the document (for
/// Prometheus, the sample's). A syntax error makes the whole object unreadable, and so
/// does a Prometheus error response. `metric` names `query_range` series (and a scalar
/// result) that carry no `__name__`.
pub fn read_document(
    input: impl BufRead,
    format: Format,
    kind: Kind,
    metric: Option<&str>,
    asm: &Assembler,
    emit: &mut Emit<'_>,
) -> Result<Counts> {
    let path: &'static [&'static str] = match (format, kind) {
        (Format::PrometheusJson, _) => &["data", "result"],
        (Format::LaunchdarklyAudit | Format::K8sEvents, _) => &["items"],
        (Format::Pagerduty, _) => &["log_entries"],
        (Format::Opsgenie, _) => &["data"],
        (Format::Statuspage, _) => &["incidents"],
        (Format::OtlpJson, Kind::Metrics) => &["resourceMetrics"],
        (Format::OtlpJson, _) => &["resourceLogs"],
        _ => &[],
    };
    let mut n = 0u64;
    // A scalar or string result is `[time, "value"]`: two items that are not series.
    let mut bare: Vec<serde_json::Value> = Vec::new();
    let mut process = |item: serde_json::Value, objects: &exporters::K8sObjects| -> Result<()> {
        if format == Format::PrometheusJson && !item.is_object() {
            bare.push(item);
            if bare.len() < 2 {
                return Ok(());
            }
            n += 1;
            let pair = serde_json::Value::Array(std::mem::take(&mut bare));
            let raw = pair.to_string();
            let sample = prometheus::bare_result(&pair, metric).map_err(|e| Reject::new(Reason::UnsupportedRecord, e));
            return emit(n, raw.as_bytes(), sample.and_then(|f| assemble_fields(asm, f)));
        }
        if format == Format::PrometheusJson
            && let Some(message) = prometheus::error_response(&item)
        {
            return Err(Error::Object { object: String::new(), message });
        }
        if format == Format::OtlpJson
            && let Some(message) = exporters::otlp_other_signal(&item, kind)
        {
            return Err(Error::Object { object: String::new(), message });
        }
        let raw = item.to_string();
        let mapped: std::result::Result<Vec<Fields>, Reject> = if !item.is_object() {
            Err(Reject::new(Reason::NotAnObject, "a record must be a JSON object"))
        } else {
            match format {
                Format::PrometheusJson if kind == Kind::Events => responders::prometheus_alerts(&item),
                Format::PrometheusJson => prometheus::series_samples(&item, metric),
                Format::Alertmanager => responders::alertmanager(&item),
                Format::Pagerduty => responders::pagerduty(&item),
                Format::Slack => responders::slack(&item),
                Format::GrafanaAnnotations => responders::grafana_annotation(&item),
                Format::Opsgenie => responders::opsgenie_log(&item),
                Format::Statuspage => responders::statuspage_incident(&item),
                Format::GithubDeployments => exporters::github_deployment(&item).map(|f| vec![f]),
                Format::LaunchdarklyAudit => exporters::launchdarkly_audit(&item).map(|f| vec![f]),
                Format::K8sEvents => exporters::k8s_event(&item, objects).map(|f| vec![f]),
                Format::OtlpJson if kind == Kind::Metrics => exporters::otlp_resource_metrics(&item),
                Format::OtlpJson => exporters::otlp_resource_logs(&item),
                other => return Err(Error::Internal(format!("{} is not a document format", other.name()))),
            }
            .map_err(|e| Reject::new(Reason::UnsupportedRecord, e))
        };
        match mapped {
            Ok(records) => {
                for fields in records {
                    n += 1;
                    emit(n, raw.as_bytes(), assemble_fields(asm, fields))?;
                }
            }
            Err(reject) => {
                n += 1;
                emit(n, raw.as_bytes(), Err(reject))?;
            }
        }
        Ok(())
    };
    // Kubernetes events name their object, not its labels or owner: a list that also
    // holds the objects (`kubectl get events,pods,rs,deploy -o json`) says which workload
    // each event is about, wherever in the list they come. So its items are held, and
    // read once the list is whole.
    let mut held: Vec<serde_json::Value> = Vec::new();
    let none = exporters::K8sObjects::default();
    let mut on_item = |item: serde_json::Value| -> Result<()> {
        if format == Format::K8sEvents {
            held.push(item);
            return Ok(());
        }
        process(item, &none)
    };
    document::for_each_item(input, path, &mut on_item).map_err(|e| match e {
        DocumentError::Sink(e) => e,
        DocumentError::Io(e) => Error::io("", e),
        DocumentError::Syntax(m) => {
            Error::Object { object: String::new(), message: format!("invalid JSON document: {m}") }
        }
    })?;
    let objects = exporters::K8sObjects::index(&held);
    for item in held {
        process(item, &objects)?;
    }
    Ok(Counts::default())
}
