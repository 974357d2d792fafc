use crate::common::{Sandbox, source};

/// 100 lines, three of them malformed in different ways.
fn hundred_lines() -> String {
    let mut text = String::new();
    for i in 1..=100u64 {
        let line = match i {
            17 => r#"{"ts":"2026-11-19T14:00:17Z","service":"a","msg":"cut off"#.to_string(),
            50 => r#"{"service":"a","msg":"no time at all"}"#.to_string(),
            88 => r#"{"ts":"half past two","service":"a","msg":"bad time"}"#.to_string(),
            _ => format!(
                r#"{{"ts":"2026-11-19T14:{:02}:{:02}Z","service":"a","level":"info","msg":"line {i}"}}"#,
                i / 60,
                i % 60
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_malformed_lines_of_a_hundred() {
    let sb = Sandbox::new();
    sb.write("app.jsonl", hundred_lines().as_bytes());
    let summary = sb.ingest(&sb.config(&source("logs", "sources/app.jsonl"))).await;

    assert_eq!(summary.rows.get("logs"), Some(&97));
    assert_eq!(summary.total_rejects(), 3);
    assert_eq!(
        summary.rejects.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
        vec![("bad_timestamp", 1), ("invalid_json", 1), ("missing_field", 1)]
    );
    assert_eq!(summary.total_rows() + summary.total_rejects(), 100, "every line is a row or a reject");

    insta::assert_snapshot!(
        sb.sql("SELECT source, line, table_name, reason, detail, raw FROM rejects ORDER BY line").await
    );
    // The rest of the object was ingested around them.
    insta::assert_snapshot!(sb.sql("SELECT count(*) AS rows, min(line), max(line) FROM logs").await, @r"
    +------+----------------+----------------+
    | rows | min(logs.line) | max(logs.line) |
    +------+----------------+----------------+
    | 97   | 1              | 100            |
    +------+----------------+----------------+
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_lines_are_rejected_with_reasons_and_kept() {
    let sb = Sandbox::new();
    let mut text: Vec<u8> = Vec::new();
    text.extend_from_slice(b"{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"ok\"}\n");
    text.extend_from_slice(b"\x00\x01\x02\xff binary garbage\n");
    text.extend_from_slice(b"{\"ts\":\"2026-11-19T14:00:01Z\",\"msg\":\"caf\xe9\"}\n");
    text.extend_from_slice(b"[1,2,3]\n");
    text.extend_from_slice(b"{\"ts\":0,\"msg\":\"epoch zero\"}\n");
    text.extend_from_slice(b"{\"ts\":\"2026-11-19T14:00:02Z\",\"msg\":\"");
    text.extend(std::iter::repeat_n(b'x', 1_500_000));
    text.extend_from_slice(b"\"}\n");
    text.extend_from_slice(b"{\"ts\":\"2026-11-19T14:00:03Z\",\"msg\":\"still here\"}\n");
    sb.write("hostile.jsonl", &text);
    let summary = sb.ingest(&sb.config(&source("logs", "sources/hostile.jsonl"))).await;

    assert_eq!(summary.rows.get("logs"), Some(&2));
    assert_eq!(summary.total_rows() + summary.total_rejects(), 7);
    let rejects = sb.sql("SELECT line, reason, detail, length(raw) AS raw_len FROM rejects ORDER BY line").await;
    insta::assert_snapshot!(rejects);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_rows_with_the_wrong_shape_are_rejected() {
    let sb = Sandbox::new();
    sb.write(
        "m.csv",
        b"ts,metric,value,service\n\
          2026-11-19T14:00:00Z,up,1,a\n\
          2026-11-19T14:00:15Z,up,1\n\
          2026-11-19T14:00:30Z,up,not-a-number,a\n\
          2026-11-19T14:00:45Z,,1,a\n\
          2026-11-19T14:01:00Z,up,1,a,extra\n\
          2026-11-19T14:01:15Z,up,0,a\n",
    );
    let summary = sb.ingest(&sb.config(&source("metrics", "sources/m.csv"))).await;
    assert_eq!(summary.rows.get("metrics"), Some(&2));
    insta::assert_snapshot!(sb.sql("SELECT line, reason, detail, raw FROM rejects ORDER BY line").await, @"
    +------+-------------------+------------------------------------------------------------------------------+----------------------------------------+
    | line | reason            | detail                                                                       | raw                                    |
    +------+-------------------+------------------------------------------------------------------------------+----------------------------------------+
    | 3    | wrong_field_count | 3 fields, the header has 4                                                   | 2026-11-19T14:00:15Z,up,1              |
    | 4    | bad_value         | field `value`: expected a finite number, got `not-a-number`                  | 2026-11-19T14:00:30Z,up,not-a-number,a |
    | 5    | missing_field     | missing required field `metric` (also accepted: name, __name__, metric_name) | 2026-11-19T14:00:45Z,,1,a              |
    | 6    | wrong_field_count | 5 fields, the header has 4                                                   | 2026-11-19T14:01:00Z,up,1,a,extra      |
    +------+-------------------+------------------------------------------------------------------------------+----------------------------------------+
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_object_fails_alone() {
    let sb = Sandbox::new();
    sb.write("good.jsonl", b"{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"fine\"}\n");
    // Named .gz but not gzip: the object cannot be read at all.
    std::fs::write(sb.path().join("sources/bad.jsonl.gz"), b"this is not gzip").unwrap();
    let summary = sb.ingest(&sb.config(&source("logs", "sources/*.jsonl*"))).await;
    assert_eq!((summary.objects_seen, summary.objects_ingested, summary.objects_failed), (2, 1, 1));
    assert_eq!(summary.rows.get("logs"), Some(&1));
    assert_eq!(summary.failures.len(), 1);
    assert!(summary.failures[0].0.ends_with("bad.jsonl.gz"), "{:?}", summary.failures);
    // Nothing of the failed object is committed; the next run tries it again.
    assert!(sb.warehouse_files().iter().filter(|f| f.starts_with("_manifest/objects")).count() == 1);
    let again = sb.ingest(&sb.config(&source("logs", "sources/*.jsonl*"))).await;
    assert_eq!((again.objects_unchanged, again.objects_failed), (1, 1));
}

/// A `.gz` cut off mid-stream: the object is reported failed and contributes no rows at
/// all (not even the lines before the cut), so the next run retries it whole; the other
/// objects are ingested and the CLI exits 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_gzip_contributes_nothing_and_fails_alone() {
    let sb = Sandbox::new();
    let mut lines = String::new();
    for i in 0..5000 {
        lines.push_str(&format!("{{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"line {i} {}\"}}\n", i * 7919 % 10007));
    }
    let full = sb.write("logs/whole.jsonl.gz", lines.as_bytes());
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(sb.path().join("sources/logs/cut.jsonl.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let summary = sb.ingest(&sb.config(&source("logs", "sources/logs/*.jsonl.gz"))).await;
    assert_eq!((summary.objects_ingested, summary.objects_failed), (1, 1));
    assert_eq!(summary.rows.get("logs"), Some(&5000));
    assert!(summary.failures[0].0.ends_with("cut.jsonl.gz"), "{:?}", summary.failures);
    let rows = sb.sql("SELECT count(*) AS n FROM logs WHERE source LIKE '%cut.jsonl.gz'").await;
    assert!(rows.contains("| 0 "), "{rows}");
}

/// A 10 MB line is rejected without being held: the reject keeps its first 4 KiB and the
/// lines after it are read normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_line_is_rejected() {
    let sb = Sandbox::new();
    let mut text = b"{\"ts\":\"2026-11-19T14:00:00Z\",\"msg\":\"before\"}\n{\"msg\":\"".to_vec();
    text.extend(std::iter::repeat_n(b'y', 10 * 1024 * 1024));
    text.extend_from_slice(b"\"}\n{\"ts\":\"2026-11-19T14:00:01Z\",\"msg\":\"after\"}\n");
    sb.write("big.jsonl.gz", &text);
    let summary = sb.ingest(&sb.config(&source("logs", "sources/big.jsonl.gz"))).await;
    assert_eq!(summary.rows.get("logs"), Some(&2));
    assert_eq!(summary.rejects.get("line_too_long"), Some(&1));
    let r = sb.sql("SELECT line, reason, length(raw) < 5000 AS capped, detail FROM rejects").await;
    assert!(
        r.contains("| 2    | line_too_long | true   | line of 10485770 bytes exceeds the 1048576 byte limit |"),
        "{r}"
    );
}

/// A CSV whose header lacks a required column: every row is rejected naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_without_a_required_column() {
    let sb = Sandbox::new();
    sb.write("d.csv", b"ts,service,version\n2026-11-19T14:00:00Z,payments,v2\n2026-11-19T14:01:00Z,payments,v3\n");
    let summary = sb.ingest(&sb.config(&source("deploys", "sources/d.csv"))).await;
    assert_eq!((summary.total_rows(), summary.rejects.get("missing_field")), (0, Some(&2)));
    let r = sb.sql("SELECT DISTINCT detail FROM rejects").await;
    assert!(r.contains("missing required field `deploy_id`"), "{r}");
}

/// Times that parse but cannot be right (1970, 2100) are rejected as implausible, in
/// every format, with the time they parsed to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implausible_years_are_flagged_not_accepted() {
    let sb = Sandbox::new();
    sb.write(
        "a.log",
        b"ts=1970-01-01T00:00:05Z msg=epoch\nts=2100-03-01T00:00:00Z msg=future\nts=2026-11-19T14:00:00Z msg=fine\n",
    );
    let config = sb.config("[[sources]]\nkind = \"logs\"\nurl = \"sources/a.log\"\nformat = \"logfmt\"\n");
    let summary = sb.ingest(&config).await;
    assert_eq!((summary.total_rows(), summary.rejects.get("implausible_timestamp")), (1, Some(&2)));
    let r = sb.sql("SELECT line, detail FROM rejects ORDER BY line").await;
    assert!(
        r.contains("implausible time 1970-01-01T00:00:05Z") && r.contains("implausible time 2100-03-01T00:00:00Z"),
        "{r}"
    );
}

/// An empty object (and an empty `.gz`) is ingested as zero rows, not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_objects_are_fine() {
    let sb = Sandbox::new();
    sb.write("e/empty.jsonl", b"");
    sb.write("e/empty.jsonl.gz", b"");
    sb.write("e/empty.csv", b"");
    let summary = sb.ingest(&sb.config(&source("logs", "sources/e/"))).await;
    assert_eq!((summary.objects_ingested, summary.objects_failed, summary.total_rows()), (3, 0, 0));
}

/// CSV is bounded too: a 10 MB line and a quoted field that never closes are each
/// rejected as `line_too_long` (the second after 1 MiB), and the rows around them are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_records_are_bounded() {
    let sb = Sandbox::new();
    let mut text = b"ts,service,msg\n2026-11-19T14:00:00Z,a,before\n2026-11-19T14:00:01Z,a,".to_vec();
    text.extend(std::iter::repeat_n(b'z', 10 * 1024 * 1024));
    text.extend_from_slice(b"\n2026-11-19T14:00:02Z,a,after\n2026-11-19T14:00:03Z,a,\"never closed\n");
    for _ in 0..30_000 {
        text.extend_from_slice(b"a line of a runaway quoted field, 2026-11-19T14:00:04Z\n");
    }
    text.extend_from_slice(b"2026-11-19T14:00:05Z,a,\"closed again\"\n");
    sb.write("big.csv", &text);
    let summary = sb.ingest(&sb.config(&source("logs", "sources/big.csv"))).await;
    assert_eq!(summary.rejects.get("line_too_long"), Some(&2), "{:?}", summary.rejects);
    let r = sb.sql("SELECT line, reason, detail FROM rejects ORDER BY line").await;
    assert!(
        r.contains("| 3     | line_too_long     | record of 10485783 bytes exceeds the 1048576 byte limit |"),
        "{r}"
    );
    assert!(r.contains("| 5     | line_too_long     | record of 1048612 bytes"), "{r}");
    let rows = sb.sql("SELECT line, msg FROM logs ORDER BY line").await;
    assert!(rows.contains("| 2     | before") && rows.contains("| 4     | after"), "{rows}");
    assert!(rows.contains("| 30006 | closed again"), "{rows}");
    // The runaway field's first MiB is the cut record; the lines after the cut are records
    // of their own: rejected, not lost.
    assert_eq!(summary.total_rows(), 3);
    let after_cut = summary.rejects.get("wrong_field_count").copied().unwrap_or(0);
    assert!(after_cut > 10_000, "{:?}", summary.rejects);
    assert_eq!(summary.total_rejects(), after_cut + 2);
}

/// Blank lines in a CSV are skipped without shifting the line numbers of later records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_line_numbers_survive_blank_lines() {
    let sb = Sandbox::new();
    sb.write("b.csv", b"\nts,service,msg\n\n2026-11-19T14:00:00Z,a,x\n\n\n2026-11-19T14:00:01Z,a,\"two\nlines\"\n\n2026-11-19T14:00:02Z,a,z\n");
    let summary = sb.ingest(&sb.config(&source("logs", "sources/b.csv"))).await;
    assert_eq!((summary.total_rows(), summary.blank_lines), (3, 5));
    let rows = sb.sql("SELECT line, msg FROM logs ORDER BY line").await;
    assert!(rows.contains("| 4    | x ") && rows.contains("| 7    | two") && rows.contains("| 10   | z "), "{rows}");
}
