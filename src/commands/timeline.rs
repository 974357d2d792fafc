//! `retrace timeline`: changes, deploys, breaches and error signals in time order, and
//! the table the demo prints too.

use datafusion::arrow::array::{RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use super::{Columns, Outcome, display_tz, load, local_column, redact_for_print, source_root, text_batch};
use crate::analyze::Window;
use crate::analyze::timeline::{self, Event, TimelineQuery};
use crate::cli::{GlobalArgs, MinLevel, OutputArgs, OutputFormat, TimelineArgs};
use crate::display;
use crate::error::Result;
use crate::output;
use crate::warehouse::Warehouse;

pub(crate) async fn timeline_cmd(global: &GlobalArgs, args: &TimelineArgs) -> Result<Outcome> {
    let config = load(global)?;
    let tz = display_tz(&config, args.timezone.as_deref())?;
    let window = Window::new(args.window.from, args.window.to)?;
    let warehouse = Warehouse::open_with(&config.warehouse, &config.storage)?;
    let ctx = super::session(global, &config, &warehouse, &Default::default(), true).await?;
    let analysis = crate::analyze::Analysis::evaluate(&ctx, &config.slos, window).await?;
    let query = TimelineQuery {
        window,
        service: args.window.service.clone(),
        bucket: args.bucket,
        include_warn: args.min_level == MinLevel::Warn,
        breaches: analysis.with_affected_services(&ctx).await?.breaches().cloned().collect(),
    };
    let mut events = timeline::build(&ctx, &query).await?;
    redact_for_print(&mut events, &config, args.no_redact)?;
    if events.is_empty() {
        eprintln!("No changes, deploys or error lines in {} → {}.", display::utc(window.from), display::utc(window.to));
    }
    let root = config.path.as_deref().and_then(source_root);
    print_events(&events, tz, root.as_deref(), &args.output)?;
    Ok(Outcome::Success)
}

/// Timeline events in any output format. The aligned table is for reading: one `event`
/// column (title — detail, cut at 120 characters) and `source:line`; the other formats
/// keep every field in its own column.
pub fn print_events(events: &[Event], tz: chrono_tz::Tz, source_root: Option<&str>, output: &OutputArgs) -> Result<()> {
    let (schema, batch) = if output.format == OutputFormat::Table {
        events_table(events, tz, source_root)?
    } else {
        events_batch(events, tz, source_root)?
    };
    output::emit(&schema, &[batch], output.format, output.output.as_deref())
}

pub(crate) fn events_table(events: &[Event], tz: chrono_tz::Tz, source_root: Option<&str>) -> Result<Columns> {
    let names =
        ["time_utc".to_string(), local_column(tz), "kind".into(), "service".into(), "event".into(), "source".into()];
    let mut cols: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(events.len()); names.len()];
    for e in events {
        let mut event = e.headline();
        if event.chars().count() > 120 {
            event = event.chars().take(119).collect::<String>() + "…";
        }
        let row = [
            Some(display::utc(e.ts)),
            Some(display::local(e.ts, tz)),
            Some(e.kind.label().to_string()),
            e.service.clone(),
            Some(event),
            Some(e.source.display(source_root)),
        ];
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    text_batch(&names, cols)
}

/// Events as one batch, every field in its own column. Sources under `source_root` are
/// shown relative to it.
pub fn events_batch(events: &[Event], tz: chrono_tz::Tz, source_root: Option<&str>) -> Result<Columns> {
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("time_utc", DataType::Utf8, false),
        Field::new(local_column(tz), DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, true),
        Field::new("severity", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, true),
        Field::new("count", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
    ]));
    let col = |f: &dyn Fn(&Event) -> Option<String>| -> std::sync::Arc<StringArray> {
        std::sync::Arc::new(events.iter().map(f).collect::<StringArray>())
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            col(&|e| Some(display::utc(e.ts))),
            col(&|e| Some(display::local(e.ts, tz))),
            col(&|e| Some(e.kind.label().to_string())),
            col(&|e| e.service.clone()),
            col(&|e| Some(e.severity.label().to_string())),
            col(&|e| Some(e.title.clone())),
            col(&|e| e.detail.clone()),
            std::sync::Arc::new(events.iter().map(|e| e.count).collect::<UInt64Array>()),
            col(&|e| Some(display::relative_source(&e.source.object, source_root).to_string())),
            std::sync::Arc::new(events.iter().map(|e| e.source.line).collect::<UInt64Array>()),
        ],
    )?;
    Ok((schema, batch))
}
