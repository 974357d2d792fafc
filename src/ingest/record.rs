//! One record (a JSON object, a CSV row) → one typed [`Row`] of a table, or a [`Reject`].
//!
//! Each kind declares its columns once ([`KindSpec`]): canonical name, aliases, type and
//! whether it is required. Assembly is the same for every format: the canonical name
//! wins over an alias, an earlier alias over a later one, and every field that is not a
//! column — including a losing duplicate — is kept in the kind's map column
//! (`attributes`, or `labels` for metrics). Nothing in a record is dropped.

use std::borrow::Cow;
use std::collections::HashMap;

use super::names::NameIndex;
use super::reject::{Reason, Reject};
use super::time::{Stamp, TimeError, TimeParser, TsFlags};
use super::whitespace;

/// Where records go: `(line, raw text, outcome)`.
pub type Emit<'a> = dyn FnMut(u64, &[u8], Result<Row<'_>, Reject>) -> crate::error::Result<()> + 'a;

/// A record of owned fields (a pattern's captures, a document's fields) as a row.
pub fn assemble_fields(asm: &Assembler, fields: Vec<(String, String)>) -> Result<Row<'static>, Reject> {
    asm.assemble(fields.into_iter().map(|(k, v)| (Cow::Owned(k), Value::Str(Cow::Owned(v)))))
}

/// A field value as a format hands it over, before typing.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// A JSON array or object; kept as JSON text unless it is a map of extras.
    Nested(Cow<'a, serde_json::Value>),
}

impl<'a> Value<'a> {
    pub fn from_json(v: &'a serde_json::Value) -> Value<'a> {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n.as_f64().map_or(Value::Null, Value::Float),
            },
            serde_json::Value::String(s) => Value::Str(Cow::Borrowed(s)),
            other => Value::Nested(Cow::Borrowed(other)),
        }
    }

    pub fn from_json_owned(v: serde_json::Value) -> Value<'static> {
        match v {
            serde_json::Value::String(s) => Value::Str(Cow::Owned(s)),
            nested @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => Value::Nested(Cow::Owned(nested)),
            scalar => match Value::from_json(&scalar) {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                Value::Int(i) => Value::Int(i),
                Value::Float(f) => Value::Float(f),
                Value::Str(_) | Value::Nested(_) => unreachable!("strings and nested values are matched above"),
            },
        }
    }

    fn to_text(&self) -> Option<String> {
        self.clone().into_text().map(Cow::into_owned)
    }

    /// The value as text, borrowing a string that was borrowed.
    fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(float_text(f))),
            Value::Str(s) => Some(s),
            Value::Nested(v) => Some(Cow::Owned(v.to_string())),
        }
    }

    fn describe(&self) -> String {
        let mut t = self.to_text().unwrap_or_else(|| "null".into());
        if t.len() > 60 {
            let mut cut = 60;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            t.truncate(cut);
            t.push('…');
        }
        format!("`{t}`")
    }
}

/// A float as `Display` writes it.
fn float_text(f: f64) -> String {
    match whole(f) {
        Some(i) => i.to_string(),
        None => f.to_string(),
    }
}

/// A float that `Display` writes as the integer it is: a whole number below 2^53 (a Unix
/// time in seconds, as `query_range` writes them), which can be printed without the
/// shortest-round-trip search, a tenth of a `query_range` ingest.
fn whole(f: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    (f.fract() == 0.0 && f.abs() < EXACT && !(f == 0.0 && f.is_sign_negative())).then_some(f as i64)
}

/// A record's timestamp as written (`ts_raw`): its text, or the number a JSON record
/// holds, printed only when the row is stored, into a buffer on the stack (a string per
/// row for a `query_range` sample's time was 3 % of its ingest).
#[derive(Debug, Clone, PartialEq)]
pub enum TimeText<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Float(f64),
}

impl TimeText<'_> {
    /// `f` of the text, as [`Value::into_text`] would give it.
    pub fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let mut digits = itoa::Buffer::new();
        match self {
            TimeText::Text(text) => f(text),
            TimeText::Int(i) => f(digits.format(*i)),
            TimeText::Float(x) => match whole(*x) {
                Some(i) => f(digits.format(i)),
                None => f(&x.to_string()),
            },
        }
    }
}

impl<'a> Value<'a> {
    /// The value as a timestamp as written.
    fn into_time_text(self) -> Option<TimeText<'a>> {
        match self {
            Value::Int(i) => Some(TimeText::Int(i)),
            Value::Float(f) => Some(TimeText::Float(f)),
            other => other.into_text().map(TimeText::Text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Timestamp,
    Text,
    Int32,
    Float64,
}

#[derive(Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColType,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

/// Columns of one kind, in schema order (before the extras map and provenance columns).
#[derive(Debug)]
pub struct KindSpec {
    pub columns: &'static [ColumnSpec],
    /// Keys whose object value is merged into the extras map (`{"attributes": {...}}`).
    pub nested_extras: &'static [&'static str],
    /// The column naming the host, for per-host clock-skew corrections.
    pub host_column: Option<usize>,
    /// Kind-specific checks and normalization after assembly.
    pub normalize: fn(&mut Row) -> Result<(), Reject>,
}

/// Per-source settings a record falls back on.
#[derive(Debug, Clone, Default)]
pub struct SourceDefaults {
    /// Fields every record of the object has unless it says otherwise: the source's
    /// constants (`service`, `host`, `fields`) and its URL's `{name}` placeholders. A
    /// name that is a column fills it when the record leaves it empty; any other name is
    /// an attribute (label) unless the record has one of that name.
    pub fields: Vec<(String, String)>,
    /// When the source's records were taken, for those that carry no time of their own
    /// (a Prometheus scrape; `scrape_time`): UTC microseconds, flagged `scrape_time`.
    pub scrape_time: Option<i64>,
    /// Clock-skew corrections (how far a clock runs ahead), applied after normalization.
    pub skew: Skew,
}

/// Configured clock-skew corrections for one source: a source-wide offset and per-host
/// offsets (a host's entry replaces the source's). Microseconds the clock runs *ahead*;
/// the corrected time is `ts - skew`.
#[derive(Debug, Clone, Default)]
pub struct Skew {
    pub source: Option<i64>,
    pub hosts: HashMap<String, i64>,
}

impl Skew {
    pub fn is_empty(&self) -> bool {
        self.source.is_none() && self.hosts.is_empty()
    }

    fn for_host(&self, host: Option<&str>) -> Option<i64> {
        host.and_then(|h| self.hosts.get(h).copied()).or(self.source)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Timestamp(i64),
    /// Borrowed from the record where it was written as is (the common case).
    Text(Cow<'a, str>),
    Int32(i32),
    Float64(f64),
}

/// A typed row: one cell per column of the spec, plus the extras map (sorted by key) and
/// the timestamp as written with the judgements made normalizing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub cells: Vec<Cell<'a>>,
    pub extras: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub ts_raw: Option<TimeText<'a>>,
    pub ts_flags: TsFlags,
}

impl<'a> Row<'a> {
    pub fn ts(&self) -> i64 {
        match self.cells[0] {
            Cell::Timestamp(t) => t,
            _ => 0,
        }
    }

    pub fn text(&self, col: usize) -> Option<&str> {
        match &self.cells[col] {
            Cell::Text(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    pub fn set_text(&mut self, col: usize, value: Option<Cow<'a, str>>) {
        self.cells[col] = value.map_or(Cell::Null, Cell::Text);
    }
}

/// What the fields shared by a group of records assemble to ([`Assembler::shared`]).
#[derive(Debug)]
pub struct Shared<'a> {
    /// Every column's cell; `Null` in the columns the records' own fields fill.
    cells: Vec<Cell<'a>>,
    /// The columns the records' own fields fill.
    own: [bool; MAX_COLUMNS],
    /// Sorted.
    extras: Extras<'a>,
    time: (Option<TimeText<'a>>, TsFlags),
}

/// Columns a kind may declare at most (the widest, deploys, has 12).
const MAX_COLUMNS: usize = 16;

/// Columns a record of a group fills with its own fields ([`Assembler::assemble_with`]).
const OWN_COLUMNS: usize = 2;

/// Priority offset of a field found inside a nested map (after every top-level alias).
const NESTED_PRIORITY: usize = 1000;

/// Turns field lists into rows for one kind and one source.
pub struct Assembler {
    spec: &'static KindSpec,
    /// name or alias → (column, priority; 0 = canonical). Every key of every record is
    /// looked up here.
    index: NameIndex,
    time: TimeParser,
    defaults: SourceDefaults,
    /// The vectors of the last row handed back ([`Assembler::recycle`]), for the next:
    /// a row's two allocations and frees were 3–5 % of an ingest's instructions.
    spare: std::cell::Cell<Spare>,
}

/// Extras a kept vector may have room for (a wider record's vector is freed).
const SPARE_EXTRAS: usize = 256;

/// A row's vectors, empty, kept for the next row.
#[derive(Default)]
struct Spare {
    cells: Vec<Cell<'static>>,
    extras: Extras<'static>,
}

impl Assembler {
    pub fn new(spec: &'static KindSpec, time: TimeParser, defaults: SourceDefaults) -> Self {
        assert!(spec.columns.len() <= MAX_COLUMNS, "a kind declares more than {MAX_COLUMNS} columns");
        let index = NameIndex::new(spec.columns.iter().enumerate().flat_map(|(col, c)| {
            std::iter::once((c.name, col, 0)).chain(c.aliases.iter().enumerate().map(move |(i, a)| (*a, col, i + 1)))
        }));
        Assembler { spec, index, time, defaults, spare: Default::default() }
    }

    /// The same assembler with a fresh timestamp state (for a worker thread).
    pub fn fork(&self) -> Assembler {
        Assembler {
            spec: self.spec,
            index: self.index.clone(),
            time: self.time.fork(),
            defaults: self.defaults.clone(),
            spare: Default::default(),
        }
    }

    pub fn time(&self) -> &TimeParser {
        &self.time
    }

    pub fn spec(&self) -> &'static KindSpec {
        self.spec
    }

    /// Whether records without a time of their own get the source's scrape time.
    pub fn stamps_untimed(&self) -> bool {
        self.defaults.scrape_time.is_some()
    }

    /// Assembles one record. The first column of every spec is its timestamp.
    pub fn assemble<'a, K: Into<Cow<'a, str>>>(
        &self,
        fields: impl IntoIterator<Item = (K, Value<'a>)>,
    ) -> Result<Row<'a>, Reject> {
        // On the stack: a heap vector here was an allocation per record.
        let mut chosen: [Option<Chosen<'a>>; MAX_COLUMNS] = [const { None }; MAX_COLUMNS];
        let Spare { mut cells, mut extras } = self.spare.take();
        self.gather(fields, &mut chosen, &mut extras);
        let mut filled: [bool; MAX_COLUMNS] = std::array::from_fn(|c| chosen[c].is_some());
        self.add_defaults(&mut filled, &mut extras, |col, value| chosen[col] = Some(value));
        cells.reserve(self.spec.columns.len());
        let mut time = (None, TsFlags::NONE);
        // By reference: moving the whole array (16 slots of 64 bytes) cost more than the
        // columns it holds.
        for (col, slot) in chosen.iter_mut().take(self.spec.columns.len()).enumerate() {
            cells.push(self.cell(col, slot, &mut time, &mut extras)?);
        }
        // Every slot is empty now (`cell` took the used ones): skip the array's drop,
        // a check of all 16 slots per record (~1 % of a JSON Lines ingest).
        std::mem::forget(chosen);
        self.finish(cells, extras, time, false)
    }

    /// Takes a row back once its values are copied out, so that the next record reuses
    /// its vectors instead of allocating its own.
    pub fn recycle(&self, row: Row<'_>) {
        let Row { mut cells, mut extras, .. } = row;
        // A record with thousands of fields does not leave its vector's memory behind.
        if extras.capacity() > SPARE_EXTRAS {
            extras = Vec::new();
        }
        cells.clear();
        extras.clear();
        // Emptied, a vector of borrowed values becomes one of any lifetime; collecting
        // an empty `into_iter` in place keeps the allocation (the test checks it).
        let cells = cells.into_iter().map(|_| unreachable!("emptied")).collect();
        let extras = extras.into_iter().map(|_| unreachable!("emptied")).collect();
        self.spare.set(Spare { cells, extras });
    }

    /// What the fields every record of a group shares (a series' labels) assemble to,
    /// for [`Assembler::assemble_with`]; `own` names the fields each record adds (a
    /// sample's `ts` and `value`). `None` when the shared fields cannot be assembled apart
    /// from the records' own: one of them names a column an own field fills, or the
    /// timestamp column, or would refuse every record; then each record is assembled
    /// whole, with the same outcome.
    pub fn shared<'a>(
        &self,
        fields: impl IntoIterator<Item = (Cow<'a, str>, Value<'a>)>,
        own: &[&str],
    ) -> Option<Shared<'a>> {
        let columns = self.spec.columns.len();
        let mut own_columns = [false; MAX_COLUMNS];
        for name in own {
            own_columns[self.lookup(name)?.0] = true;
        }
        let mut chosen: [Option<Chosen<'a>>; MAX_COLUMNS] = [const { None }; MAX_COLUMNS];
        let mut extras: Extras<'a> = Vec::new();
        self.gather(fields, &mut chosen, &mut extras);
        if chosen[0].is_some() || (0..columns).any(|c| own_columns[c] && chosen[c].is_some()) {
            return None;
        }
        // A record's own fields fill their columns before any default would.
        let mut defaults: [Option<Chosen<'a>>; MAX_COLUMNS] = [const { None }; MAX_COLUMNS];
        let mut filled: [bool; MAX_COLUMNS] = std::array::from_fn(|c| own_columns[c] || chosen[c].is_some());
        self.add_defaults(&mut filled, &mut extras, |col, value| defaults[col] = Some(value));
        let mut cells = Vec::with_capacity(columns);
        let mut time = (None, TsFlags::NONE);
        for col in 0..columns {
            let mut slot = chosen[col].take().or_else(|| defaults[col].take());
            cells.push(if own_columns[col] {
                Cell::Null
            } else {
                self.cell(col, &mut slot, &mut time, &mut extras).ok()?
            });
        }
        // Own fields only fill columns: a record never adds to the shared extras.
        extras.sort();
        Some(Shared { cells, own: own_columns, extras, time })
    }

    /// Assembles one record of a group from its own fields and what the group shares:
    /// the same row (or reject) [`Assembler::assemble`] gives for all the fields. `None`
    /// when an own field is not one `shared` was made for (then assemble it whole).
    pub fn assemble_with<'a>(
        &self,
        shared: &Shared<'a>,
        fields: impl IntoIterator<Item = (Cow<'a, str>, Value<'a>)>,
    ) -> Option<Result<Row<'a>, Reject>> {
        // A record's own fields are few (a sample's time and value): their slots in a
        // small array on the stack, not a slot per column (initializing and dropping 16
        // slots cost more than the fields) nor a vector (an allocation per sample).
        // More columns than it holds go the whole-record way.
        let mut chosen: [(usize, Option<Chosen<'a>>); OWN_COLUMNS] = [const { (usize::MAX, None) }; OWN_COLUMNS];
        let Spare { mut cells, mut extras } = self.spare.take();
        for (key, value) in fields {
            let (col, prio) = self.lookup(&key).filter(|(col, _)| shared.own[*col])?;
            let at = chosen.iter().position(|(c, _)| *c == col || *c == usize::MAX)?;
            match &mut chosen[at] {
                (c, slot) if *c == col => place(slot, &mut extras, prio, key, value),
                free => *free = (col, Some((prio, key, value))),
            }
        }
        if !extras.is_empty() {
            return None;
        }
        cells.extend(shared.cells.iter().cloned());
        let mut time = shared.time.clone();
        for (col, cell) in cells.iter_mut().enumerate() {
            if shared.own[col] {
                let mut slot = chosen.iter_mut().find(|(c, _)| *c == col).and_then(|(_, slot)| slot.take());
                match self.cell(col, &mut slot, &mut time, &mut extras) {
                    Ok(c) => *cell = c,
                    Err(reject) => return Some(Err(reject)),
                }
            }
        }
        // Sorted already, unless an own field did not fit its column.
        let sorted = extras.is_empty();
        extras.extend(shared.extras.iter().cloned());
        Some(self.finish(cells, extras, time, sorted))
    }

    /// Places fields in their columns (the best-ranked wins; the rest, and any field
    /// that is not a column, go to the extras).
    fn gather<'a, K: Into<Cow<'a, str>>>(
        &self,
        fields: impl IntoIterator<Item = (K, Value<'a>)>,
        chosen: &mut [Option<Chosen<'a>>; MAX_COLUMNS],
        extras: &mut Extras<'a>,
    ) {
        for (key, value) in fields {
            let key: Cow<'a, str> = key.into();
            if let Some((col, prio)) = self.lookup(&key) {
                place(&mut chosen[col], extras, prio, key, value);
            } else if let Value::Nested(nested) = &value
                && nested.is_object()
                && self.spec.nested_extras.contains(&key.as_ref())
            {
                let Value::Nested(nested) = value else { unreachable!("matched above") };
                // Nested keys can fill columns too (`{"resource": {"service.name": …}}`),
                // but lose to any top-level field for the same column.
                match nested {
                    Cow::Borrowed(serde_json::Value::Object(map)) => {
                        for (k, v) in map {
                            self.place_nested(chosen, extras, Cow::Borrowed(k.as_str()), Value::from_json(v));
                        }
                    }
                    Cow::Owned(serde_json::Value::Object(map)) => {
                        for (k, v) in map {
                            self.place_nested(chosen, extras, Cow::Owned(k), Value::from_json_owned(v));
                        }
                    }
                    _ => unreachable!("checked to be an object"),
                }
            } else {
                push_extra(extras, key, value);
            }
        }
    }

    /// The source's defaults: in the columns not `filled` yet (the first default of a
    /// column wins), and as extras where the record has no field of their name.
    fn add_defaults<'a>(
        &self,
        filled: &mut [bool; MAX_COLUMNS],
        extras: &mut Extras<'a>,
        mut set: impl FnMut(usize, Chosen<'a>),
    ) {
        for (name, value) in &self.defaults.fields {
            match self.lookup(name) {
                Some((col, _)) => {
                    if !filled[col] {
                        filled[col] = true;
                        set(col, (usize::MAX, Cow::Owned(name.clone()), Value::Str(Cow::Owned(value.clone()))));
                    }
                }
                None if extras.iter().any(|(k, _)| k == name) => {}
                None => extras.push((Cow::Owned(name.clone()), Cow::Owned(value.clone()))),
            }
        }
    }

    /// Column `col`'s cell from the field placed there (if any). The timestamp column
    /// sets `time` (the text as written, and the judgements made reading it).
    /// The slot is taken by reference (and emptied): moving its 72 bytes into every
    /// call cost 2 % of a JSON Lines ingest's instructions.
    fn cell<'a>(
        &self,
        col: usize,
        slot: &mut Option<Chosen<'a>>,
        time: &mut (Option<TimeText<'a>>, TsFlags),
        extras: &mut Extras<'a>,
    ) -> Result<Cell<'a>, Reject> {
        let spec = &self.spec.columns[col];
        let cell = match slot.take() {
            None if spec.ty == ColType::Timestamp && self.defaults.scrape_time.is_some() => {
                time.1 = TsFlags::SCRAPE_TIME;
                self.defaults.scrape_time.map_or(Cell::Null, Cell::Timestamp)
            }
            None => Cell::Null,
            Some((_, key, value)) if spec.ty == ColType::Timestamp => match self.timestamp(&key, &value)? {
                Some(stamp) => {
                    time.1 = stamp.flags;
                    time.0 = value.into_time_text();
                    Cell::Timestamp(stamp.micros)
                }
                None => Cell::Null,
            },
            // A value that does not fit an optional column (an OTLP `status` of "OK")
            // stays in the record as an attribute; only a required one rejects it.
            Some((_, key, value)) => match self.convert(spec, value) {
                Ok(cell) => cell,
                Err(value) if spec.required => {
                    let detail = format!("field `{key}`: expected {}, got {}", expected(spec.ty), value.describe());
                    return Err(Reject::new(Reason::BadValue, detail));
                }
                Err(value) => {
                    push_extra(extras, key, value);
                    Cell::Null
                }
            },
        };
        if spec.required && cell == Cell::Null {
            return Err(missing(spec));
        }
        Ok(cell)
    }

    /// The row from its cells: extras in key order (unless `sorted` already), then the
    /// kind's checks and the clock-skew correction.
    fn finish<'a>(
        &self,
        cells: Vec<Cell<'a>>,
        mut extras: Extras<'a>,
        (ts_raw, ts_flags): (Option<TimeText<'a>>, TsFlags),
        sorted: bool,
    ) -> Result<Row<'a>, Reject> {
        if !sorted && extras.len() > 1 {
            extras.sort();
        }
        let mut row = Row { cells, extras, ts_raw, ts_flags };
        (self.spec.normalize)(&mut row)?;
        self.correct_skew(&mut row);
        Ok(row)
    }

    /// The column and priority of a field name.
    fn lookup(&self, key: &str) -> Option<(usize, usize)> {
        self.index.get(key)
    }

    fn place_nested<'a>(
        &self,
        chosen: &mut [Option<Chosen<'a>>; MAX_COLUMNS],
        extras: &mut Extras<'a>,
        key: Cow<'a, str>,
        value: Value<'a>,
    ) {
        match self.lookup(&key) {
            Some((col, prio)) if !matches!(value, Value::Nested(_)) => {
                place(&mut chosen[col], extras, prio + NESTED_PRIORITY, key, value)
            }
            _ => push_extra(extras, key, value),
        }
    }

    fn correct_skew(&self, row: &mut Row) {
        if self.defaults.skew.is_empty() {
            return;
        }
        // A host column, else a `host` (or Prometheus `instance`) attribute or label.
        let host = match self.spec.host_column {
            Some(c) => row.text(c),
            None => row.extras.iter().find(|(k, _)| k == "host" || k == "instance").map(|(_, v)| v.as_ref()),
        };
        if let (Some(skew), Cell::Timestamp(t)) = (self.defaults.skew.for_host(host), &mut row.cells[0]) {
            *t -= skew;
            row.ts_flags.insert(TsFlags::SKEW_ADJUSTED);
        }
    }

    /// Normalizes a timestamp field; `None` for an empty string.
    fn timestamp(&self, key: &str, value: &Value<'_>) -> Result<Option<Stamp>, Reject> {
        let parsed = match value {
            Value::Str(s) if s.trim().is_empty() => return Ok(None),
            Value::Str(s) => self.time.parse_str(s),
            Value::Int(i) => self.time.parse_i64(*i),
            Value::Float(f) => self.time.parse_f64(*f),
            _ => Err(TimeError::Unparseable),
        };
        match parsed {
            Ok(stamp) => Ok(Some(stamp)),
            Err(TimeError::Unparseable) => Err(Reject::new(
                Reason::BadTimestamp,
                format!("field `{key}`: {} is not a recognised timestamp", value.describe()),
            )),
            Err(e @ TimeError::FormatMismatch(_)) => {
                Err(Reject::new(Reason::BadTimestamp, format!("field `{key}`: {} {e}", value.describe())))
            }
            Err(e @ TimeError::Implausible(_)) => {
                Err(Reject::new(Reason::ImplausibleTimestamp, format!("field `{key}`: {e}")))
            }
        }
    }

    /// A value as its column's type; the value back when it does not fit.
    fn convert<'v>(&self, spec: &ColumnSpec, value: Value<'v>) -> Result<Cell<'v>, Value<'v>> {
        Ok(match (spec.ty, &value) {
            (_, Value::Null) => Cell::Null,
            (ColType::Timestamp, _) => return Err(value),
            (ColType::Text, _) => value.into_text().map_or(Cell::Null, Cell::Text),
            (ColType::Int32, v) => {
                let n = match v {
                    Value::Int(i) => Some(*i),
                    Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
                    Value::Str(s) => match whitespace::trim(s) {
                        "" => return Ok(Cell::Null),
                        t => t.parse::<i64>().ok(),
                    },
                    _ => None,
                };
                match n.and_then(|n| i32::try_from(n).ok()) {
                    Some(n) => Cell::Int32(n),
                    None => return Err(value),
                }
            }
            (ColType::Float64, v) => {
                let n = match v {
                    Value::Int(i) => Some(*i as f64),
                    Value::Float(f) => Some(*f),
                    Value::Str(s) => match whitespace::trim(s) {
                        "" => return Ok(Cell::Null),
                        t => t.parse::<f64>().ok(),
                    },
                    _ => None,
                };
                match n.filter(|n| n.is_finite()) {
                    Some(n) => Cell::Float64(n),
                    None => return Err(value),
                }
            }
        })
    }
}

/// What a column of type `ty` expects, for a reject's detail.
fn expected(ty: ColType) -> &'static str {
    match ty {
        ColType::Timestamp => "a timestamp",
        ColType::Text => "text",
        ColType::Int32 => "an integer",
        ColType::Float64 => "a finite number",
    }
}

/// The field holding a column so far: (priority, key, value).
type Chosen<'a> = (usize, Cow<'a, str>, Value<'a>);

/// Puts a field in its column if it outranks the one there (which then becomes an extra).
fn place<'a>(slot: &mut Option<Chosen<'a>>, extras: &mut Extras<'a>, prio: usize, key: Cow<'a, str>, value: Value<'a>) {
    match slot {
        Some((p, _, _)) if *p <= prio => push_extra(extras, key, value),
        _ => {
            if let Some((_, old_key, old_value)) = slot.take() {
                push_extra(extras, old_key, old_value);
            }
            *slot = Some((prio, key, value));
        }
    }
}

/// A row's fields that are not columns: (key, value as text).
type Extras<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

fn push_extra<'a>(extras: &mut Extras<'a>, key: Cow<'a, str>, value: Value<'a>) {
    if let Some(text) = value.into_text() {
        extras.push((key, text));
    }
}

fn missing(spec: &ColumnSpec) -> Reject {
    let detail = if spec.aliases.is_empty() {
        format!("missing required field `{}`", spec.name)
    } else {
        format!("missing required field `{}` (also accepted: {})", spec.name, spec.aliases.join(", "))
    };
    Reject::new(Reason::MissingField, detail)
}

/// Lower-cases a text cell in place.
pub fn lowercase(row: &mut Row, col: usize) {
    if let Cell::Text(s) = &mut row.cells[col]
        && s.bytes().any(|b| b.is_ascii_uppercase())
    {
        *s = Cow::Owned(s.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::kinds;
    use crate::test_rng::{below_from, xorshift};
    use chrono_tz::Tz;

    fn asm(kind: crate::tables::Kind) -> Assembler {
        Assembler::new(kinds::spec(kind), TimeParser::new(Tz::UTC), SourceDefaults::default())
    }

    /// A record assembled from what its group shares plus its own fields is the record
    /// assembled whole: random labels (columns, aliases of the own fields' columns,
    /// duplicates, the timestamp's aliases), source defaults, scrape times, skew, and
    /// own values that do and do not fit.
    #[test]
    fn shared_fields_assemble_as_the_whole_record() {
        let mut below = below_from(0x5eed_u64);
        let names =
            ["metric", "__name__", "name", "service", "svc", "host", "instance", "le", "code", "val", "time", "env"];
        let values = ["checkout", "", "10.0.0.1:9090", "0.5", "x", "web-1"];
        let times = ["1795046400", "1795046400.25", "2026-11-19T14:02:00Z", "", "yesterday", "17"];
        let numbers = ["1.5", "NaN", "", "7", " 2 ", "abc"];
        let (mut rows, mut rejects, mut whole) = (0, 0, 0);
        for case in 0..6_000 {
            let mut defaults = SourceDefaults::default();
            for _ in 0..below(3) {
                let name = ["service", "env", "metric", "region"][below(4) as usize];
                defaults.fields.push((name.to_string(), format!("d{}", below(3))));
            }
            if below(4) == 0 {
                defaults.scrape_time = Some(1_795_000_000_000_000);
            }
            if below(4) == 0 {
                defaults.skew.hosts.insert("web-1".into(), 5_000_000);
            }
            let a = Assembler::new(kinds::spec(crate::tables::Kind::Metrics), TimeParser::new(Tz::UTC), defaults);
            let labels: Vec<(String, String)> = (0..below(6))
                .map(|_| (names[below(names.len() as u64) as usize].to_string(), values[below(6) as usize].to_string()))
                .collect();
            let own_ts = times[below(times.len() as u64) as usize];
            let own_value = numbers[below(numbers.len() as u64) as usize];
            let own = || {
                [("ts", Value::Str(Cow::Borrowed(own_ts))), ("value", Value::Str(Cow::Borrowed(own_value)))]
                    .into_iter()
                    .map(|(k, v)| (Cow::Borrowed(k), v))
            };
            let shared_fields =
                || labels.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), Value::Str(Cow::Borrowed(v.as_str()))));
            let want = a.assemble(own().chain(shared_fields()));
            match a.shared(shared_fields(), &["ts", "value"]).and_then(|sh| a.assemble_with(&sh, own())) {
                Some(got) => {
                    if got.is_ok() {
                        rows += 1
                    } else {
                        rejects += 1
                    }
                    assert_eq!(got, want, "case {case}: labels {labels:?}, ts {own_ts:?}, value {own_value:?}");
                }
                None => whole += 1,
            }
        }
        // Many groups go the shared way, to rows and to rejects; those that cannot are
        // assembled whole.
        assert!(rows > 300 && rejects > 300 && whole > 300, "{rows} rows, {rejects} rejects, {whole} whole");
    }

    /// A row handed back lends its vectors to the next record (the same allocations),
    /// and rows assembled that way are the rows a fresh assembler makes: random records
    /// of columns, aliases, repeated keys, extras and bad values, each row recycled.
    #[test]
    fn recycled_rows_reuse_their_vectors_and_change_nothing() {
        let kind = crate::tables::Kind::Logs;
        let (recycling, fresh) = (asm(kind), asm(kind));
        let first = recycling
            .assemble([("ts", Value::Int(1_795_046_400)), ("region", Value::Str("eu".into())), ("az", Value::Int(2))])
            .expect("a row");
        let (cells, extras) = (first.cells.as_ptr(), first.extras.as_ptr());
        recycling.recycle(first);
        let second =
            recycling.assemble([("ts", Value::Int(1_795_046_401)), ("zone", Value::Str("b".into()))]).expect("a row");
        assert_eq!((second.cells.as_ptr(), second.extras.as_ptr()), (cells, extras));
        recycling.recycle(second);
        let wide =
            (0..1_000).map(|i| (format!("k{i}"), Value::Int(i))).chain([("ts".into(), Value::Int(1_795_046_402))]);
        recycling.recycle(recycling.assemble(wide).expect("a row"));
        let after = recycling.assemble([("ts", Value::Int(1_795_046_403)), ("k", Value::Int(1))]).expect("a row");
        assert!(after.extras.capacity() < 1_000, "a wide record's vector is not kept");
        recycling.recycle(after);

        let mut below = below_from(0xdead_beef_u64);
        let keys = ["ts", "time", "level", "severity", "msg", "message", "service", "svc", "status", "region", "az"];
        let values = ["2026-11-19T14:02:00Z", "1795046400", "ERROR", "x", "", "503", "12.5", "nope"];
        let mut rows = 0;
        for case in 0..5_000 {
            let fields: Vec<(String, String)> = (0..below(9))
                .map(|_| {
                    (keys[below(keys.len() as u64) as usize].into(), values[below(values.len() as u64) as usize].into())
                })
                .collect();
            let record = || fields.iter().map(|(k, v)| (k.as_str(), Value::Str(Cow::Borrowed(v.as_str()))));
            let (got, want) = (recycling.assemble(record()), fresh.assemble(record()));
            assert_eq!(got, want, "case {case}: {fields:?}");
            if let Ok(row) = got {
                rows += 1;
                recycling.recycle(row);
            }
        }
        assert!((300..4_500).contains(&rows), "{rows} of 5,000 records made rows");
    }

    /// The whole-number shortcut writes what `Display` writes, for every kind of float.
    #[test]
    fn float_text_is_display() {
        let mut cases = vec![0.0, -0.0, 1.0, -1.0, 1_795_046_400.0, 1_795_046_400.5, 9_007_199_254_740_991.0];
        cases.extend([
            9_007_199_254_740_992.0,
            1e20,
            -1e300,
            0.1,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
        ]);
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..100_000 {
            let seed = next();
            // Whole numbers of every size, times with millisecond fractions, and raw bit patterns.
            cases.push((seed >> (seed % 64)) as f64 * if seed & 1 == 0 { 1.0 } else { -1.0 });
            cases.push(1.7e9 + (seed % 1_000_000_000) as f64 / 1000.0);
            cases.push(f64::from_bits(seed));
        }
        for f in cases {
            assert_eq!(float_text(f), f.to_string(), "{f:?}");
            assert_eq!(TimeText::Float(f).with_text(str::to_string), f.to_string(), "{f:?}");
        }
    }

    /// A whole-number time as written is what `Display` writes, for every size and sign.
    #[test]
    fn int_text_is_display() {
        let mut cases = vec![0, 1, -1, 9, 10, -10, i64::MAX, i64::MIN, 1_795_046_400, 1_795_046_400_123];
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let seed = next();
            cases.push((seed >> (seed % 64)) as i64 * if seed & 1 == 0 { 1 } else { -1 });
        }
        for i in cases {
            assert_eq!(TimeText::Int(i).with_text(str::to_string), i.to_string(), "{i}");
        }
    }
    fn json_row(a: &Assembler, text: &str) -> Result<Row<'static>, Reject> {
        let serde_json::Value::Object(obj) = serde_json::from_str(text).unwrap() else { panic!("not an object") };
        a.assemble(obj.into_iter().map(|(k, v)| (Cow::Owned(k), Value::from_json_owned(v))))
    }

    #[test]
    fn aliases_unknown_fields_and_precedence() {
        let a = asm(crate::tables::Kind::Logs);
        let row = json_row(
            &a,
            r#"{"timestamp":"2026-11-19T14:02:00Z","ts":"2026-11-19T14:03:00Z","severity":"WARNING",
                "message":"pool low","service":"payments","region":"eu","attrs":{"pod":"p-1"},"status":"503"}"#,
        )
        .unwrap();
        // Canonical `ts` wins; the alias value is kept as an attribute, not lost.
        assert_eq!(crate::ingest::time::format_micros(row.ts()), "2026-11-19T14:03:00Z");
        assert_eq!(row.text(3), Some("warn"));
        assert_eq!(row.text(4), Some("pool low"));
        assert_eq!(row.cells[5], Cell::Int32(503));
        let extras: Vec<(&str, &str)> = row.extras.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(
            extras,
            vec![
                // `attrs` is a map of attributes: merged, not nested.
                ("pod", "p-1"),
                ("region", "eu"),
                ("timestamp", "2026-11-19T14:02:00Z")
            ]
        );
    }

    #[test]
    fn rejects_say_which_field_and_why() {
        let a = asm(crate::tables::Kind::Logs);
        let e = json_row(&a, r#"{"msg":"x"}"#).unwrap_err();
        assert_eq!(e.reason, Reason::MissingField);
        assert!(e.detail.contains("`ts`") && e.detail.contains("@timestamp"), "{}", e.detail);

        let e = json_row(&a, r#"{"ts":"soon","msg":"x"}"#).unwrap_err();
        assert_eq!(
            (e.reason, e.detail.as_str()),
            (Reason::BadTimestamp, "field `ts`: `soon` is not a recognised timestamp")
        );

        let e = json_row(&a, r#"{"ts":0,"msg":"x"}"#).unwrap_err();
        assert_eq!(e.reason, Reason::ImplausibleTimestamp);

        // An optional column's value that does not fit stays, as an attribute.
        let row = json_row(&a, r#"{"ts":"2026-11-19T14:02:00Z","status":"teapot","latency_ms":"slow"}"#).unwrap();
        assert_eq!((&row.cells[5], &row.cells[6]), (&Cell::Null, &Cell::Null));
        let extras: Vec<(&str, &str)> = row.extras.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(extras, [("latency_ms", "slow"), ("status", "teapot")]);

        // A required one rejects the record, naming the field.
        let m = asm(crate::tables::Kind::Metrics);
        let e = json_row(&m, r#"{"ts":"2026-11-19T14:02:00Z","metric":"up","value":"high"}"#).unwrap_err();
        assert_eq!(
            (e.reason, e.detail.as_str()),
            (Reason::BadValue, "field `value`: expected a finite number, got `high`")
        );
    }
}
