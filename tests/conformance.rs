//! Conformance on real logs: the seven loghub 2k samples in `../shared/datasets/loghub`
//! are ingested with a built-in pattern each, and every record's timestamp and level is
//! compared with loghub's ground-truth `*_structured.csv`.
//!
//! The data is research-licensed and not in this repository, so the test is `#[ignore]`d
//! (the README's `cargo test` does not need it) and `.ci/run` selects it explicitly. When
//! the folder is missing it fails loudly rather than passing vacuously.

use std::path::PathBuf;

use chrono::{NaiveDateTime, TimeZone};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{TimestampMicrosecondType, UInt64Type};

use crate::common::Sandbox;

struct Case {
    system: &'static str,
    pattern: &'static str,
    timezone: &'static str,
    /// Extra source settings (the year for year-less syslog).
    extra: &'static str,
    /// Ground-truth row → (naive local time text, strftime format).
    expected_time: fn(&csv::StringRecord, &csv::StringRecord) -> (String, &'static str),
    level_column: Option<&'static str>,
}

fn col<'a>(header: &csv::StringRecord, row: &'a csv::StringRecord, name: &str) -> &'a str {
    let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

const CASES: &[Case] = &[
    Case {
        system: "HDFS",
        pattern: "hdfs",
        timezone: "UTC",
        extra: "",
        expected_time: |h, r| (format!("{} {}", col(h, r, "Date"), col(h, r, "Time")), "%y%m%d %H%M%S"),
        level_column: Some("Level"),
    },
    Case {
        system: "BGL",
        pattern: "bgl",
        // BlueGene/L at LLNL: the text time is US Pacific (epoch − text = 7 h in June, 8 h in January).
        timezone: "America/Los_Angeles",
        extra: "",
        expected_time: |h, r| (col(h, r, "Time").to_string(), "%Y-%m-%d-%H.%M.%S%.f"),
        level_column: Some("Level"),
    },
    Case {
        system: "Apache",
        pattern: "apache_error",
        timezone: "UTC",
        extra: "",
        expected_time: |h, r| (col(h, r, "Time").to_string(), "%a %b %d %H:%M:%S %Y"),
        level_column: Some("Level"),
    },
    Case {
        system: "OpenSSH",
        pattern: "syslog",
        timezone: "UTC",
        // The sample has no year; loghub does not say which, so the source names one.
        extra: "year = 2017\n",
        expected_time: |h, r| {
            (format!("2017 {} {} {}", col(h, r, "Date"), col(h, r, "Day"), col(h, r, "Time")), "%Y %b %d %H:%M:%S")
        },
        level_column: None,
    },
    Case {
        system: "Zookeeper",
        pattern: "zookeeper",
        timezone: "UTC",
        extra: "",
        expected_time: |h, r| {
            (format!("{} {}", col(h, r, "Date"), col(h, r, "Time").replace(',', ".")), "%Y-%m-%d %H:%M:%S%.f")
        },
        level_column: Some("Level"),
    },
    Case {
        system: "HealthApp",
        pattern: "healthapp",
        timezone: "UTC",
        extra: "",
        expected_time: |h, r| {
            // Unpadded fields; the last is a count of milliseconds (Java's `S`).
            let t = col(h, r, "Time");
            let (date, clock) = t.split_once('-').unwrap();
            let p: Vec<u32> = clock.split(':').map(|x| x.parse().unwrap()).collect();
            (format!("{date} {:02}:{:02}:{:02}.{:03}", p[0], p[1], p[2], p[3]), "%Y%m%d %H:%M:%S%.f")
        },
        level_column: None,
    },
    Case {
        system: "Spark",
        pattern: "spark",
        timezone: "UTC",
        extra: "",
        expected_time: |h, r| (format!("{} {}", col(h, r, "Date"), col(h, r, "Time")), "%y/%m/%d %H:%M:%S"),
        level_column: Some("Level"),
    },
];

fn loghub_dir() -> PathBuf {
    // `RETRACE_LOGHUB` points elsewhere when the repository is not beside `shared/`.
    let dir = std::env::var_os("RETRACE_LOGHUB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/loghub"));
    assert!(
        dir.is_dir(),
        "conformance data is missing: expected the loghub samples at {} (see docs/testing.md)",
        dir.display()
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reads ../shared/datasets/loghub; .ci/run selects it explicitly"]
async fn loghub_samples_match_ground_truth() {
    let root = loghub_dir();
    let mut table = vec!["| system | pattern | records | rows | rejects | ts match | level match |".to_string()];
    table.push("|---|---|---|---|---|---|---|".into());
    for case in CASES {
        let log = root.join(case.system).join(format!("{}_2k.log", case.system));
        let truth = root.join(case.system).join(format!("{}_2k.log_structured.csv", case.system));
        let sb = Sandbox::new();
        sb.write("logs/sample.log", &std::fs::read(&log).unwrap());
        let config = sb.config(&format!(
            "[[sources]]\nkind = \"logs\"\nurl = \"sources/logs/sample.log\"\nformat = \"pattern:{}\"\ntimezone = \"{}\"\n{}",
            case.pattern, case.timezone, case.extra
        ));
        let summary = sb.ingest(&config).await;
        assert_eq!(summary.objects_failed, 0, "{}: {:?}", case.system, summary.failures);

        let mut reader = csv::Reader::from_path(&truth).unwrap();
        let header = reader.headers().unwrap().clone();
        let expected: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(expected.len(), 2000, "{}", case.system);

        let rows = sb.sql_batches("SELECT line, ts, level FROM logs ORDER BY line").await;
        let rejects = summary.total_rejects();
        let total_rows: usize = rows.iter().map(|b| b.num_rows()).sum();
        // Every record is a row or a reject; nothing is merged or dropped.
        assert_eq!(
            total_rows as u64 + rejects + summary.merged_lines,
            2000,
            "{}: {total_rows} rows + {rejects} rejects + {} merged",
            case.system,
            summary.merged_lines
        );
        assert_eq!(rejects, 0, "{}: {:?}", case.system, sb.sql("SELECT line, reason, detail FROM rejects").await);

        let tz: chrono_tz::Tz = case.timezone.parse().unwrap();
        let (mut ts_ok, mut level_ok) = (0usize, 0usize);
        for batch in &rows {
            let lines = batch.column(0).as_primitive::<UInt64Type>();
            let ts = batch.column(1).as_primitive::<TimestampMicrosecondType>();
            let level = batch.column(2).as_string::<i32>();
            for i in 0..batch.num_rows() {
                let line = lines.value(i) as usize;
                let truth = &expected[line - 1];
                assert_eq!(col(&header, truth, "LineId"), line.to_string());
                let (text, format) = (case.expected_time)(&header, truth);
                let naive = NaiveDateTime::parse_from_str(&text, format)
                    .unwrap_or_else(|e| panic!("{}: ground truth `{text}`: {e}", case.system));
                let want = tz.from_local_datetime(&naive).earliest().unwrap().timestamp_micros();
                if ts.value(i) == want {
                    ts_ok += 1;
                } else {
                    panic!("{} line {line}: ts {} != ground truth {text}", case.system, ts.value(i));
                }
                let want_level = case.level_column.map(|c| col(&header, truth, c).to_ascii_lowercase());
                let want_level =
                    want_level.map(|l| retrace::ingest::kinds::canonical_level(&l).map_or(l.clone(), str::to_string));
                let got = (!level.is_null(i)).then(|| level.value(i).to_string());
                assert_eq!(got, want_level, "{} line {line}: level", case.system);
                level_ok += 1;
            }
        }
        table.push(format!(
            "| {} | `pattern:{}` | 2000 | {total_rows} | {rejects} | {ts_ok}/{total_rows} | {level_ok}/{total_rows} |",
            case.system, case.pattern
        ));
    }
    // The table in docs/formats.md is this output.
    println!("{}", table.join("\n"));
}

/// BGL carries the epoch next to its local text time: both must agree once the text is
/// read in US Pacific time — a cross-check of zone handling on real data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reads ../shared/datasets/loghub; .ci/run selects it explicitly"]
async fn bgl_epoch_agrees_with_pacific_text_time() {
    let root = loghub_dir();
    let sb = Sandbox::new();
    sb.write("logs/bgl.log", &std::fs::read(root.join("BGL/BGL_2k.log")).unwrap());
    let config = sb.config(
        "[[sources]]\nkind = \"logs\"\nurl = \"sources/logs/bgl.log\"\nformat = \"pattern:bgl\"\ntimezone = \"America/Los_Angeles\"\n",
    );
    sb.ingest(&config).await;
    let out = sb
        .sql(
            "SELECT count(*) AS n, \
                    sum(CASE WHEN CAST(attributes['epoch'] AS BIGINT) = CAST(date_part('epoch', date_trunc('second', ts)) AS BIGINT) THEN 1 ELSE 0 END) AS agree \
             FROM logs",
        )
        .await;
    assert!(out.contains("| 2000 | 2000  |"), "{out}");
}

/// `format = "auto"` recognises each loghub system's pattern from the first 16 KB of its
/// real log, as the conformance test above names it.
#[test]
#[ignore = "reads ../shared/datasets/loghub; .ci/run selects it explicitly"]
fn loghub_formats_are_recognised_from_their_content() {
    let root = loghub_dir();
    for case in CASES {
        let log = std::fs::read(root.join(case.system).join(format!("{}_2k.log", case.system))).unwrap();
        let head = &log[..log.len().min(retrace::ingest::detect::HEAD_BYTES)];
        let found = retrace::ingest::detect::detect(head, retrace::tables::Kind::Logs, "sample.log");
        assert_eq!(found, Ok(retrace::config::Format::Pattern(case.pattern)), "{}", case.system);
    }
}
