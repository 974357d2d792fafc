//! Drivers that turn an object's bytes into records for the line formats (JSON Lines,
//! logfmt, text patterns, Prometheus exposition) and the JSON document formats
//! (Prometheus `query_range`, GitHub deployments, LaunchDarkly audit, Kubernetes events).
//!
//! Every line is accounted for: it becomes a row, a reject, a blank/comment line, or (for
//! a `continuation` pattern) part of the record before it; [`Counts`] says how many of
//! the last two kinds there were, so the ingest summary adds up.

use std::borrow::Cow;
use std::io::BufRead;
use std::ops::Range;

use serde::Serialize;

use super::document::{self, DocumentError};
use super::pattern::{Fields, LineFields, LinePattern};
use super::record::{Assembler, Emit, Row, Value, assemble_fields};
use super::reject::{Reason, Reject};
use super::{exporters, jsonl, logfmt, matrix, prometheus, reader, responders, samples};
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

fn assemble_line<'a>(asm: &Assembler, fields: LineFields<'a, 'a>) -> std::result::Result<Row<'a>, Reject> {
    asm.assemble(fields.into_iter().map(|(k, v)| (k, Value::Str(v))))
}

/// A record held back until the next line shows whether it continues. Its values are
/// kept back to back in one string: one copy per record, however many fields it has.
pub struct Pending<'p> {
    line: u64,
    raw: Vec<u8>,
    values: String,
    fields: Vec<(Cow<'p, str>, Range<usize>)>,
}

impl<'p> Pending<'p> {
    fn new(line: u64, raw: &str, fields: LineFields<'p, '_>) -> Self {
        let mut values = String::with_capacity(fields.iter().map(|(_, v)| v.len()).sum());
        let fields = fields
            .into_iter()
            .map(|(name, value)| {
                let start = values.len();
                values.push_str(&value);
                (name, start..values.len())
            })
            .collect();
        Pending { line, raw: raw.as_bytes().to_vec(), values, fields }
    }

    fn set(&mut self, name: &'static str, value: &str) {
        let start = self.values.len();
        self.values.push_str(value);
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some((_, at)) => *at = start..self.values.len(),
            None => self.fields.push((Cow::Borrowed(name), start..self.values.len())),
        }
    }

    /// Appends a continuation line to `msg`, keeping a record under the line limit.
    fn append_msg(&mut self, line: &str) {
        let at = match self.fields.iter().position(|(k, _)| k == "msg") {
            Some(i) => i,
            None => {
                self.fields.push((Cow::Borrowed("msg"), self.values.len()..self.values.len()));
                self.fields.len() - 1
            }
        };
        let mut msg = self.fields[at].1.clone();
        if msg.end != self.values.len() {
            // Only the last value can grow in place: move `msg` to the end.
            let start = self.values.len();
            self.values.extend_from_within(msg.clone());
            msg = start..self.values.len();
        }
        if msg.len() + line.len() < reader::MAX_LINE {
            self.values.push('\n');
            self.values.push_str(line);
        } else if !self.values[msg.clone()].ends_with("…[truncated]") {
            self.values.push_str("\n…[truncated]");
        }
        self.fields[at].1 = msg.start..self.values.len();
    }

    fn flag_lossy(&mut self, lossy: bool) {
        if lossy && !self.fields.iter().any(|(k, _)| k == LOSSY_UTF8) {
            self.set(LOSSY_UTF8, "replaced");
        }
    }

    fn assemble(&self, asm: &Assembler) -> std::result::Result<Row<'_>, Reject> {
        let fields = self
            .fields
            .iter()
            .map(|(k, at)| (Cow::Borrowed(k.as_ref()), Value::Str(Cow::Borrowed(&self.values[at.clone()]))));
        asm.assemble(fields)
    }
}

/// Reads the lines of a `continuation` pattern in order: a line that matches opens a
/// record, one that does not is more of the record before it. The record last opened is
/// held ([`Pending`]) until a line shows it is complete; [`super::chunks`] hands it from
/// one chunk's parser to the next.
pub struct LineParser<'p> {
    pattern: &'p LinePattern,
    pending: Option<Pending<'p>>,
    counts: Counts,
}

impl<'p> LineParser<'p> {
    pub fn new(pattern: &'p LinePattern) -> Self {
        LineParser { pattern, pending: None, counts: Counts::default() }
    }

    /// One line of text (a line over the limit goes to [`LineParser::too_long`]).
    pub fn line(&mut self, n: u64, bytes: &[u8], asm: &Assembler, emit: &mut Emit<'_>) -> Result<()> {
        if jsonl::is_blank(bytes) {
            self.counts.blank += 1;
            return Ok(());
        }
        let (text, lossy) = lossy_text(bytes);
        match self.pattern.fields(&text) {
            Some(fields) => {
                let mut pending = Pending::new(n, &text, fields);
                pending.flag_lossy(lossy);
                self.flush(asm, emit)?;
                self.pending = Some(pending);
                Ok(())
            }
            None => match self.pending.as_mut() {
                Some(pending) => {
                    pending.append_msg(&text);
                    pending.flag_lossy(lossy);
                    self.counts.merged += 1;
                    Ok(())
                }
                None => {
                    let detail = format!("line does not match pattern `{}`", self.pattern.name);
                    emit(n, text.as_bytes(), Err(Reject::new(Reason::NoMatch, detail)))
                }
            },
        }
    }

    /// A line over the limit: it ends the record before it and is rejected.
    pub fn too_long(&mut self, n: u64, head: &[u8], len: usize, asm: &Assembler, emit: &mut Emit<'_>) -> Result<()> {
        self.flush(asm, emit)?;
        emit(n, head, Err(too_long(len)))
    }

    /// Whether a line opens a record (a blank line does not, nor does a continuation).
    pub fn opens_record(&self, bytes: &[u8]) -> bool {
        !jsonl::is_blank(bytes) && self.pattern.regex.is_match(&lossy_text(bytes).0)
    }

    /// Emits the held record: the line after it opened another, or the input ended.
    pub fn flush(&mut self, asm: &Assembler, emit: &mut Emit<'_>) -> Result<()> {
        match self.pending.take() {
            Some(p) => emit(p.line, &p.raw, p.assemble(asm)),
            None => Ok(()),
        }
    }

    /// The held record, for the parser of the lines after these.
    pub fn take_pending(&mut self) -> Option<Pending<'p>> {
        self.pending.take()
    }

    pub fn hold(&mut self, pending: Option<Pending<'p>>) {
        self.pending = pending;
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }
}

/// The reject of a line over [`reader::MAX_LINE`].
pub fn too_long(len: usize) -> Reject {
    Reject::new(Reason::LineTooLong, format!("line of {len} bytes exceeds the {} byte limit", reader::MAX_LINE))
}

/// Parses one line of a format whose records are one line each (every line format but a
/// `continuation` pattern): `None` for a blank or comment line.
pub fn parse_single<'b>(
    format: Format,
    pattern: Option<&'b LinePattern>,
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
        return Ok(exposition_outcome(prometheus::parse_exposition(text), asm));
    }
    // Text logs carry what clients sent (an nginx error log writes raw request bytes):
    // a line that is not UTF-8 is kept with U+FFFD in place of the bad bytes, and flagged.
    let (text, lossy) = lossy_text(bytes);
    let Format::Logfmt = format else {
        let Some(pattern) = pattern else {
            return Err(Error::Internal(format!("format {} without a pattern", format.name())));
        };
        let no_match = || Reject::new(Reason::NoMatch, format!("line does not match pattern `{}`", pattern.name));
        return Ok(Some(match text {
            Cow::Borrowed(text) => pattern.fields(text).ok_or_else(no_match).and_then(|f| assemble_line(asm, f)),
            // The values outlive the repaired text they were read from.
            Cow::Owned(text) => pattern.fields(&text).ok_or_else(no_match).and_then(|f| {
                let mut f: LineFields<'b, 'b> = f.into_iter().map(|(k, v)| (k, Cow::Owned(v.into_owned()))).collect();
                flag_lossy(&mut f, lossy);
                assemble_line(asm, f)
            }),
        }));
    };
    let fields = logfmt::parse(&text).map_err(|e| Reject::new(Reason::InvalidLogfmt, e));
    Ok(Some(fields.and_then(|mut f| {
        if lossy && !f.iter().any(|(k, _)| k == LOSSY_UTF8) {
            f.push((LOSSY_UTF8.to_string(), "replaced".to_string()));
        }
        assemble_fields(asm, f)
    })))
}

/// The outcome of a Prometheus text line from its parse: `None` for a comment.
pub fn exposition_outcome<'b>(
    parsed: std::result::Result<Option<LineFields<'b, 'b>>, String>,
    asm: &Assembler,
) -> Option<std::result::Result<Row<'b>, Reject>> {
    match parsed {
        Ok(None) => None,
        Ok(Some(fields)) if !asm.stamps_untimed() && !fields.iter().any(|(k, _)| k == "ts") => {
            Some(Err(Reject::new(Reason::InvalidExposition, prometheus::NO_TIMESTAMP)))
        }
        Ok(Some(fields)) => Some(assemble_line(asm, fields)),
        Err(e) => Some(Err(Reject::new(Reason::InvalidExposition, e))),
    }
}

/// The attribute that marks a record whose line was not valid UTF-8.
pub const LOSSY_UTF8: &str = "invalid_utf8";

/// A line as text: borrowed when it is UTF-8, else with U+FFFD for each bad sequence.
fn lossy_text(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    // `from_utf8` checks a valid line several times faster than `from_utf8_lossy`'s
    // chunked scan; that one only runs for the rare line that is not UTF-8.
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), false),
        Err(_) => (Cow::Owned(String::from_utf8_lossy(bytes).into_owned()), true),
    }
}

fn flag_lossy(fields: &mut LineFields<'_, '_>, lossy: bool) {
    if lossy && !fields.iter().any(|(k, _)| k == LOSSY_UTF8) {
        fields.push((Cow::Borrowed(LOSSY_UTF8), Cow::Borrowed("replaced")));
    }
}

fn invalid_utf8(e: &std::str::Utf8Error) -> Reject {
    Reject::new(Reason::InvalidUtf8, format!("invalid UTF-8 at byte {}", e.valid_up_to()))
}

/// Reads a JSON document format. `line` is the record's ordinal in the document. A
/// syntax error makes the whole object unreadable, and so does a Prometheus error
/// response. A Prometheus response is read here only for events (its `ALERTS` series;
/// a scalar result, named by `metric`); its samples go through [`super::series::read`].
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
            return match samples::pair(&mut bare, item) {
                Some(pair) => samples::emit_item(&matrix::Item::Json(pair), metric, &mut n, asm, emit),
                None => Ok(()),
            };
        }
        if format == Format::PrometheusJson
            && let Some(message) = item.as_object().and_then(prometheus::error_response)
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
                // Samples of a response go through `series::read` (ingest::parse_input).
                Format::PrometheusJson => {
                    return Err(Error::Internal("a Prometheus response's samples are read by series::read".into()));
                }
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
    document::for_each_item(input, path, &mut on_item).map_err(document_error)?;
    let objects = exporters::K8sObjects::index(&held);
    for item in held {
        process(item, &objects)?;
    }
    // A scalar's time without its value is a record too: it is rejected, not dropped.
    if let Some(lone) = bare.pop() {
        samples::emit_item(&matrix::Item::Json(serde_json::Value::Array(vec![lone])), metric, &mut n, asm, emit)?;
    }
    Ok(Counts::default())
}

/// The error of a document that could not be read: its syntax or I/O, or the handler's.
pub fn document_error(e: DocumentError) -> Error {
    match e {
        DocumentError::Sink(e) => e,
        DocumentError::Io(e) => Error::io("", e),
        DocumentError::Syntax(m) => {
            Error::Object { object: String::new(), message: format!("invalid JSON document: {m}") }
        }
    }
}
