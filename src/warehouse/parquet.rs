//! Parquet encoding of one sorted batch: zstd, row groups small enough that a one-hour
//! window skips most of a day, page statistics and the sort order recorded in the footer
//! so engines (DataFusion, DuckDB, polars) can prune on `ts`.

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;

use crate::error::Result;
use crate::warehouse::Warehouse;

/// Rows per row group: ~1/30 of a busy day's logs per group at the benchmark's volume.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// Columns whose values are (nearly) all distinct: a dictionary never pays off, and
/// building one first is a hash per value before falling back. Messages carry ids,
/// users and sizes, so few repeat exactly; zstd still finds the repeated words.
const DISTINCT: &[&str] = &["ts", "line", "ts_raw", "trace_id", "msg"];
/// Columns whose min/max would not prune anything a user asks.
const NO_STATISTICS: &[&str] = &["msg", "ts_raw", "trace_id", "source"];
/// Columns that are sorted or nearly so in a warehouse file: deltas are small.
const DELTA_INTEGERS: &[&str] = &["ts", "line"];

pub fn writer_properties(sorted_by_first_column: bool) -> WriterProperties {
    let mut props = WriterProperties::builder()
        // Level 1: about twice as fast to write as 3 for a few percent more bytes; ingest
        // time is what users wait on (docs/performance.md).
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid zstd level")))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("retrace {}", env!("CARGO_PKG_VERSION")));
    for name in DISTINCT {
        props = props.set_column_dictionary_enabled(ColumnPath::from(*name), false);
    }
    for name in DELTA_INTEGERS {
        props = props.set_column_encoding(ColumnPath::from(*name), Encoding::DELTA_BINARY_PACKED);
    }
    // Min/max cost two byte comparisons per value; kept where they prune. Not for free
    // text and random ids (a chunk's range of trace ids or messages spans nearly all of
    // them: 4 % of an ingest's CPU), nor for a map's keys and values (no engine prunes a
    // `labels['host']` filter on them), nor for `source` (one object per file, and no
    // query filters on it; its URL compared twice per row was 2 % of a metrics ingest).
    for name in NO_STATISTICS {
        props = props.set_column_statistics_enabled(ColumnPath::from(*name), EnabledStatistics::None);
    }
    for map in ["labels", "attributes"] {
        for part in ["keys", "values"] {
            let path = ColumnPath::new(vec![map.to_string(), "entries".to_string(), part.to_string()]);
            props = props.set_column_statistics_enabled(path, EnabledStatistics::None);
        }
    }
    // Timestamps as written share long prefixes with their neighbours.
    props = props.set_column_encoding(ColumnPath::from("ts_raw"), Encoding::DELTA_BYTE_ARRAY);
    if sorted_by_first_column {
        props = props.set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]));
    }
    props.build()
}

/// Encodes a batch as a complete Parquet file in memory.
pub fn encode(batch: &RecordBatch, sorted_by_first_column: bool) -> Result<Bytes> {
    encode_all(std::slice::from_ref(batch), sorted_by_first_column)
}

/// Encodes batches of one schema, in order, as one Parquet file in memory (row groups
/// span batches; nothing is concatenated first).
pub fn encode_all(batches: &[RecordBatch], sorted_by_first_column: bool) -> Result<Bytes> {
    let Some(first) = batches.first() else {
        return Err(crate::error::Error::Internal("no batch to encode".into()));
    };
    let size: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
    let mut buf = Vec::with_capacity(size / 4);
    let mut writer = ArrowWriter::try_new(&mut buf, first.schema(), Some(writer_properties(sorted_by_first_column)))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(Bytes::from(buf))
}

/// A time span `[first, last]` of `ts` values (µs since the epoch), as entries keep them.
pub type Span = [i64; 2];

/// Whether two spans share an instant.
pub fn spans_meet(a: Span, b: Span) -> bool {
    a[0] <= b[1] && b[0] <= a[1]
}

/// The smallest span holding both.
pub fn span_union(a: Span, b: Span) -> Span {
    [a[0].min(b[0]), a[1].max(b[1])]
}

/// The span of the batches' `ts` column; `None` when no row has one.
pub fn ts_span(batches: &[RecordBatch]) -> Option<Span> {
    use datafusion::arrow::array::TimestampMicrosecondArray;
    use datafusion::arrow::compute::{max, min};
    batches
        .iter()
        .filter_map(|b| b.column_by_name("ts")?.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .filter_map(|ts| Some([min(ts)?, max(ts)?]))
        .reduce(span_union)
}

/// A whole warehouse file, ready to decode.
async fn fetch(
    warehouse: &Warehouse,
    key: &str,
) -> Result<datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder<Bytes>> {
    use object_store::ObjectStoreExt;
    let bytes: Bytes = warehouse.location.store.get(&warehouse.location.child(key)).await?.bytes().await?;
    Ok(datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)?)
}

/// Reads a whole warehouse file (small ones: duplicate resolution, compaction).
pub async fn read(warehouse: &Warehouse, key: &str) -> Result<Vec<RecordBatch>> {
    let reader = fetch(warehouse, key).await?.build()?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// Reads the row groups of a warehouse file whose `ts` range meets `span` (all of them
/// without a span, or for a group without statistics), leaving out those in `done`.
/// Returns the batches, the row groups read and how many the file has.
pub async fn read_meeting(
    warehouse: &Warehouse,
    key: &str,
    span: Option<Span>,
    done: &std::collections::BTreeSet<usize>,
) -> Result<(Vec<RecordBatch>, Vec<usize>, usize)> {
    use datafusion::parquet::file::statistics::Statistics;
    let builder = fetch(warehouse, key).await?;
    let meta = builder.metadata().clone();
    let ts = meta.file_metadata().schema_descr().columns().iter().position(|c| c.name() == "ts");
    let groups: Vec<usize> = (0..meta.num_row_groups())
        .filter(|g| !done.contains(g))
        .filter(|&g| {
            let range = ts.and_then(|c| match meta.row_group(g).column(c).statistics() {
                Some(Statistics::Int64(s)) => Some([*s.min_opt()?, *s.max_opt()?]),
                _ => None,
            });
            match (range, span) {
                (Some(group), Some(wanted)) => spans_meet(group, wanted),
                _ => true,
            }
        })
        .collect();
    let total = meta.num_row_groups();
    if groups.is_empty() {
        return Ok((Vec::new(), groups, total));
    }
    let reader = builder.with_row_groups(groups.clone()).build()?;
    Ok((reader.collect::<std::result::Result<Vec<_>, _>>()?, groups, total))
}

#[cfg(test)]
mod tests {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::ingest::batch::DayBuffer;
    use crate::ingest::kinds;
    use crate::ingest::record::{Assembler, SourceDefaults, Value};
    use crate::ingest::time::TimeParser;
    use crate::tables::Kind;

    /// Min/max are written where they prune (`ts`, the metric, the service) and not for
    /// the columns listed as not worth them, the maps' keys and values included.
    #[test]
    fn statistics_where_they_prune() {
        let asm =
            Assembler::new(kinds::spec(Kind::Metrics), TimeParser::new(chrono_tz::Tz::UTC), SourceDefaults::default());
        let mut days = DayBuffer::new(Kind::Metrics, kinds::spec(Kind::Metrics));
        for i in 0..10i64 {
            let row = asm
                .assemble([
                    ("ts", Value::Int(1_795_046_400 + i)),
                    ("metric", Value::Str("up".into())),
                    ("value", Value::Str(format!("{i}").into())),
                    ("service", Value::Str("checkout".into())),
                    ("host", Value::Str(format!("h{i}").into())),
                ])
                .unwrap();
            days.append(&row, "file:///a.prom", i as u64 + 1).unwrap();
        }
        let batches: Vec<RecordBatch> = days.take().unwrap().into_iter().map(|(_, b)| b).collect();
        let file = SerializedFileReader::new(encode_all(&batches, true).unwrap()).unwrap();
        let group = file.metadata().row_group(0);
        let with_stats: Vec<String> = group
            .columns()
            .iter()
            .filter(|c| c.statistics().is_some_and(|s| s.min_bytes_opt().is_some()))
            .map(|c| c.column_path().string())
            .collect();
        for want in ["ts", "metric", "service", "value", "line"] {
            assert!(with_stats.iter().any(|c| c == want), "{want} has no min/max: {with_stats:?}");
        }
        for not in ["source", "ts_raw", "labels.entries.keys", "labels.entries.values"] {
            assert!(!with_stats.iter().any(|c| c == not), "{not} has min/max: {with_stats:?}");
        }
        let paths: Vec<String> = group.columns().iter().map(|c| c.column_path().string()).collect();
        assert!(paths.iter().any(|c| c == "labels.entries.keys"), "the map's columns are named {paths:?}");
    }
}
