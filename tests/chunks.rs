//! One object parsed by several threads gives what one sequential read gives: line
//! numbers, rejects and blank lines across chunk boundaries, and the timestamps that
//! depend on earlier rows (year-less times rolling over, a DST fall-back's repeated hour).

use chrono::{Duration, TimeZone, Utc};
use retrace::ingest::{IngestOptions, ingest};

use crate::common::Sandbox;

/// More lines than several parse chunks hold (8,192 lines each).
const LINES: u64 = 14_400;

fn options(threads: usize) -> IngestOptions {
    // A small flush threshold: several files per day, so flush boundaries are tested too.
    IngestOptions { parse_threads: threads, flush_rows: 3_000, ..Default::default() }
}

/// JSON Lines with naive New York times, one a second from 00:00 EDT on the fall-back day
/// (the 01:00 hour runs twice); every 1000th line is garbage and every 777th blank.
fn fall_back_log() -> Vec<u8> {
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap();
    let mut out = Vec::new();
    for n in 1..=LINES {
        let line = if n % 1000 == 0 {
            "not json".to_string()
        } else if n % 777 == 0 {
            String::new()
        } else {
            let t = start + Duration::seconds(n as i64 - 1);
            let local = t.with_timezone(&chrono_tz::America::New_York).naive_local();
            format!(
                r#"{{"ts":"{}","level":"info","service":"api","msg":"line {n}"}}"#,
                local.format("%Y-%m-%d %H:%M:%S")
            )
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

async fn ingest_fall_back(threads: usize) -> (Sandbox, retrace::ingest::IngestSummary) {
    let sb = Sandbox::new();
    sb.write("ny.jsonl", &fall_back_log());
    let config =
        sb.config("[[sources]]\nkind = \"logs\"\nurl = \"sources/ny.jsonl\"\ntimezone = \"America/New_York\"\n");
    let summary = ingest(&sb.warehouse(), &config.sources, &options(threads)).await.expect("ingest runs");
    (sb, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repeated_hour_stays_in_order_across_chunks() {
    let (sb, summary) = ingest_fall_back(3).await;
    let garbage = LINES / 1000;
    let blank = (1..=LINES).filter(|n| n % 777 == 0 && n % 1000 != 0).count() as u64;
    assert_eq!(summary.rejects.get("invalid_json"), Some(&garbage));
    assert_eq!(summary.blank_lines, blank);
    assert_eq!(summary.total_rows(), LINES - garbage - blank);
    // Every row is exactly `line - 1` seconds after 04:00 UTC: through both passes of 01:00.
    let out = sb
        .sql(
            "SELECT count(*) AS rows, count(DISTINCT CAST(to_unixtime(ts) AS BIGINT) - CAST(line AS BIGINT)) AS offsets, \
             min(ts) AS first, max(ts) AS last, sum(CASE WHEN ts_flags = 'dst_ambiguous' THEN 1 ELSE 0 END) AS ambiguous \
             FROM logs",
        )
        .await;
    insta::assert_snapshot!(out, @r"
    +-------+---------+----------------------+----------------------+-----------+
    | rows  | offsets | first                | last                 | ambiguous |
    +-------+---------+----------------------+----------------------+-----------+
    | 14368 | 1       | 2026-11-01T04:00:00Z | 2026-11-01T07:59:59Z | 7184      |
    +-------+---------+----------------------+----------------------+-----------+
    ");
    let rejects = sb.sql("SELECT line, reason FROM rejects ORDER BY line LIMIT 3").await;
    insta::assert_snapshot!(rejects, @r"
    +------+--------------+
    | line | reason       |
    +------+--------------+
    | 1000 | invalid_json |
    | 2000 | invalid_json |
    | 3000 | invalid_json |
    +------+--------------+
    ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thread_and_three_give_the_same_tables() {
    let (one, s1) = ingest_fall_back(1).await;
    let (three, s3) = ingest_fall_back(3).await;
    assert_eq!(s1, s3);
    let dump = "SELECT ts, level, service, msg, attributes, ts_raw, ts_flags, line FROM logs ORDER BY line";
    assert_eq!(one.sql(dump).await, three.sql(dump).await);
    let rejects = "SELECT line, reason, detail, raw FROM rejects ORDER BY line";
    assert_eq!(one.sql(rejects).await, three.sql(rejects).await);
    assert_eq!(one.warehouse_files().len(), three.warehouse_files().len());
}

/// Year-less syslog rolling from Dec 31 into Jan 1 in the middle of the second chunk:
/// the third chunk's rows (all January) must be in the next year, which only the rows
/// before them can tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn year_rollover_carries_across_chunks() {
    let sb = Sandbox::new();
    let mut text = String::new();
    let dec = Utc.with_ymd_and_hms(2025, 12, 31, 18, 0, 0).unwrap();
    let jan = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for n in 0..20_000i64 {
        let t = if n < 12_000 { dec + Duration::seconds(n) } else { jan + Duration::seconds(n - 12_000) };
        text.push_str(&format!("<38>{} web-1 sshd[1]: line {n}\n", t.format("%b %e %H:%M:%S")));
    }
    sb.write("messages", text.as_bytes());
    let config = sb
        .config("[[sources]]\nkind = \"logs\"\nurl = \"sources/messages\"\nformat = \"pattern:syslog\"\nyear = 2025\n");
    let summary = ingest(&sb.warehouse(), &config.sources, &options(3)).await.expect("ingest runs");
    assert_eq!(summary.total_rows(), 20_000);
    let out = sb
        .sql("SELECT date_part('year', ts) AS year, count(*) AS rows, min(line) AS first_line, max(line) AS last_line FROM logs GROUP BY 1 ORDER BY 1")
        .await;
    insta::assert_snapshot!(out, @r"
    +------+-------+------------+-----------+
    | year | rows  | first_line | last_line |
    +------+-------+------------+-----------+
    | 2025 | 12000 | 1          | 12000     |
    | 2026 | 8000  | 12001      | 20000     |
    +------+-------+------------+-----------+
    ");
}

/// A small seeded generator (no dependency): the shapes of the stack traces below.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What a `continuation` log holds, counted while writing it.
#[derive(Debug, Default, PartialEq)]
struct Written {
    records: u64,
    merged: u64,
    blank: u64,
    no_match: u64,
    too_long: u64,
}

/// A Java-style log: `records` records, each followed by a stack trace of 0–40 lines
/// (now and then one of thousands, longer than a chunk), blank lines inside traces, a
/// continuation line that is not UTF-8, lines before the first record (rejected: they
/// continue nothing) and one line over the limit (it ends its record, and the trace
/// lines after it continue nothing either).
fn java_log(records: u64, seed: u64, header: impl Fn(u64) -> String) -> (Vec<u8>, Written) {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let mut w = Written::default();
    for i in 0..3 {
        out.extend_from_slice(format!("\tat orphan.Frame{i}(Frame.java:1)\n").as_bytes());
        w.no_match += 1;
    }
    let too_long_at = records / 2;
    for r in 0..records {
        out.extend_from_slice(header(r).as_bytes());
        out.push(b'\n');
        w.records += 1;
        let trace = match rng.below(100) {
            0 => 2_000 + rng.below(6_000),
            1..=40 => 0,
            _ => rng.below(40),
        };
        for t in 0..trace {
            if rng.below(50) == 0 {
                out.push(b'\n');
                w.blank += 1;
                continue;
            }
            if rng.below(500) == 0 {
                out.extend_from_slice(b"Caused by: bad \xff\xfe bytes\n");
            } else {
                out.extend_from_slice(format!("\tat com.acme.Pool.take{t}(Pool.java:{})\n", rng.below(900)).as_bytes());
            }
            w.merged += 1;
        }
        if r == too_long_at {
            out.extend(std::iter::repeat_n(b'x', (1 << 20) + 10));
            out.push(b'\n');
            w.too_long += 1;
            for _ in 0..2 {
                out.extend_from_slice(b"\tat after.TooLong(Line.java:1)\n");
                w.no_match += 1;
            }
        }
    }
    (out, w)
}

async fn ingest_java(
    log: &[u8],
    format: &str,
    extra: &str,
    threads: usize,
) -> (Sandbox, retrace::ingest::IngestSummary) {
    ingest_source("app.log", log, &format!("format = \"{format}\"\nservice = \"pay\"\n{extra}"), threads).await
}

/// Ingests `bytes` as the logs object `file` with the source settings `settings`.
async fn ingest_source(
    file: &str,
    bytes: &[u8],
    settings: &str,
    threads: usize,
) -> (Sandbox, retrace::ingest::IngestSummary) {
    let sb = Sandbox::new();
    sb.write(file, bytes);
    let config = sb.config(&format!("[[sources]]\nkind = \"logs\"\nurl = \"sources/{file}\"\n{settings}"));
    let summary = ingest(&sb.warehouse(), &config.sources, &options(threads)).await.expect("ingest runs");
    (sb, summary)
}

/// What the tables and the summary hold, to compare a threaded read with a sequential one.
async fn java_tables(sb: &Sandbox) -> (String, String) {
    let rows = sb.sql("SELECT ts, level, msg, attributes, ts_raw, ts_flags, line FROM logs ORDER BY line").await;
    let rejects = sb.sql("SELECT line, reason, detail, substr(raw, 1, 40) AS raw FROM rejects ORDER BY line").await;
    (rows, rejects)
}

fn check_counts(summary: &retrace::ingest::IngestSummary, w: &Written) {
    assert_eq!(summary.total_rows(), w.records);
    assert_eq!(summary.merged_lines, w.merged);
    assert_eq!(summary.blank_lines, w.blank);
    assert_eq!(summary.rejects.get("no_match").copied().unwrap_or(0), w.no_match);
    assert_eq!(summary.rejects.get("line_too_long").copied().unwrap_or(0), w.too_long);
}

/// log4j stack traces across chunk borders, on New York's fall-back day (the 01:00 hour
/// runs twice, so some chunks are parsed again in order): three threads give the rows,
/// messages and rejects one thread gives, for several seeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_traces_join_their_record_across_chunks() {
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap();
    let header = |r: u64| {
        let local = (start + Duration::seconds(r as i64)).with_timezone(&chrono_tz::America::New_York);
        format!("{} ERROR [pool-{}] com.acme.Pool - timeout {r}", local.format("%Y-%m-%d %H:%M:%S,%3f"), r % 7)
    };
    for seed in [0x1dea_u64, 0xfeed_f00d] {
        let (log, written) = java_log(6_000, seed, header);
        let (one, s1) = ingest_java(&log, "pattern:log4j", "timezone = \"America/New_York\"\n", 1).await;
        let (three, s3) = ingest_java(&log, "pattern:log4j", "timezone = \"America/New_York\"\n", 3).await;
        check_counts(&s1, &written);
        assert_eq!(s1, s3, "seed {seed:#x}");
        assert_eq!(java_tables(&one).await, java_tables(&three).await, "seed {seed:#x}");
        // Every record keeps its time: `r` seconds after 04:00 UTC, through both 01:00s.
        let offsets = three
            .sql(
                "SELECT count(*) AS rows, \
                 count(DISTINCT CAST(to_unixtime(ts) AS BIGINT) - CAST(substr(split_part(msg, chr(10), 1), 9) AS BIGINT)) AS offsets \
                 FROM logs",
            )
            .await;
        assert!(offsets.contains("| 6000 | 1       |"), "seed {seed:#x}: {offsets}");
    }
}

/// klog (a `continuation` pattern with year-less times) rolling from Dec 31 into Jan 1,
/// with traces across chunk borders: the year carries as it does in one thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn year_less_continuations_roll_over_across_chunks() {
    let dec = Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap();
    let header = |r: u64| {
        let t = dec + Duration::seconds(r as i64);
        format!("E{}   7 pool.go:{}] timeout {r}", t.format("%m%d %H:%M:%S%.6f"), r % 90)
    };
    let (log, written) = java_log(8_000, 0xc0ffee, header);
    let (one, s1) = ingest_java(&log, "pattern:klog", "year = 2025\n", 1).await;
    let (three, s3) = ingest_java(&log, "pattern:klog", "year = 2025\n", 3).await;
    check_counts(&s1, &written);
    assert_eq!(s1, s3);
    assert_eq!(java_tables(&one).await, java_tables(&three).await);
    let years =
        three.sql("SELECT date_part('year', ts) AS year, count(*) AS rows FROM logs GROUP BY 1 ORDER BY 1").await;
    insta::assert_snapshot!(years, @r"
    +------+------+
    | year | rows |
    +------+------+
    | 2025 | 3600 |
    | 2026 | 4400 |
    +------+------+
    ");
}

/// CSV read by several threads: records whose quoted message spans lines, blank lines,
/// records with a wrong field count, invalid UTF-8 and one over the limit, on New York's
/// fall-back day (naive times: some chunks are parsed again in order). Every row keeps
/// the line its record starts on and its time; every refused record is counted; one
/// thread and three give the same tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_records_across_chunks_keep_their_lines_and_times() {
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap();
    let mut rng = Rng(0xc5f);
    let mut csv: Vec<u8> = b"ts,service,msg,status\n".to_vec();
    let mut line = 2u64;
    let (mut rows, mut blank, mut wrong, mut utf8) = (0u64, 0u64, 0u64, 0u64);
    for r in 0..12_000u64 {
        let local = (start + Duration::seconds(r as i64)).with_timezone(&chrono_tz::America::New_York);
        let ts = local.format("%Y-%m-%d %H:%M:%S");
        let record: Vec<u8> = match rng.below(200) {
            0 => {
                blank += 1;
                b"\n".to_vec()
            }
            1 => {
                wrong += 1;
                format!("{ts},pay,r={r} line={line}\n").into_bytes()
            }
            2 => {
                utf8 += 1;
                [format!("{ts},pay").as_bytes(), b"\xff", format!(",r={r} line={line},200\n").as_bytes()].concat()
            }
            3..=12 => {
                rows += 1;
                let body: Vec<String> = (0..1 + rng.below(4)).map(|i| format!("part {i}, \"\"quoted\"\"")).collect();
                format!("{ts},pay,\"r={r} line={line}\n{}\",503\n", body.join("\n")).into_bytes()
            }
            _ => {
                rows += 1;
                format!("{ts},pay,r={r} line={line},200\n").into_bytes()
            }
        };
        line += record.iter().filter(|&&b| b == b'\n').count() as u64;
        csv.extend_from_slice(&record);
    }
    // One record over the 1 MiB limit, then one more row after it.
    csv.extend_from_slice(format!("2026-11-01 03:00:00,pay,\"{}\",200\n", "x".repeat(1 << 20)).as_bytes());
    csv.extend_from_slice(format!("2026-11-01 03:00:01,pay,r=last line={},200\n", line + 1).as_bytes());
    rows += 1;

    let zone = "timezone = \"America/New_York\"\n";
    let (one, s1) = ingest_source("app.csv", &csv, zone, 1).await;
    let (three, s3) = ingest_source("app.csv", &csv, zone, 3).await;
    assert_eq!(s1, s3);
    assert_eq!(csv_tables(&one).await, csv_tables(&three).await);
    assert_eq!(s3.total_rows(), rows);
    assert_eq!(s3.blank_lines, blank);
    assert_eq!(s3.rejects.get("wrong_field_count").copied(), Some(wrong));
    assert_eq!(s3.rejects.get("invalid_utf8").copied(), Some(utf8));
    assert_eq!(s3.rejects.get("line_too_long").copied(), Some(1));
    // Nothing lost: every record written (12,000 less the blank lines, plus the two at
    // the end) is a row or a reject.
    assert_eq!(s3.total_rows() + s3.rejects.values().sum::<u64>(), 12_000 - blank + 2);
    // Each row is on the line its record starts on, and at its own time (`r` seconds
    // after 04:00 UTC, through both 01:00 hours).
    let checked = three
        .sql(
            "SELECT count(*) AS rows, \
             sum(CASE WHEN CAST(regexp_replace(msg, '(?s)^.* line=([0-9]+).*$', '\\1') AS BIGINT) = line THEN 1 ELSE 0 END) AS on_their_line, \
             count(DISTINCT CAST(to_unixtime(ts) AS BIGINT) - CAST(regexp_replace(msg, '(?s)^r=([0-9]+) .*$', '\\1') AS BIGINT)) AS offsets \
             FROM logs WHERE msg <> '' AND msg NOT LIKE 'r=last%'",
        )
        .await;
    let want = format!("| {} | {:<13} | 1       |", rows - 1, rows - 1);
    assert!(checked.contains(&want), "{checked}\nwant {want}");
    let rejects =
        three.sql("SELECT reason, min(raw LIKE '%line=%') AS raw_kept FROM rejects GROUP BY 1 ORDER BY 1").await;
    assert!(rejects.contains("| invalid_utf8      | true     |"), "{rejects}");
    assert!(rejects.contains("| wrong_field_count | true     |"), "{rejects}");
}

async fn csv_tables(sb: &Sandbox) -> (String, String) {
    let rows = sb.sql("SELECT ts, service, msg, status, ts_raw, ts_flags, line FROM logs ORDER BY line").await;
    let rejects = sb.sql("SELECT line, reason, detail, substr(raw, 1, 60) AS raw FROM rejects ORDER BY line").await;
    (rows, rejects)
}

/// A CSV whose every record is refused by the record loop (a header with one column too
/// many): each refusal is counted once, with its line, whatever the number of threads.
/// (They count towards their chunk's limits, so such a file is dealt in chunks like
/// any other; that bound is by construction, not observable here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_refused_records_are_counted_once_across_chunks() {
    let mut csv = b"ts,service,msg,status,extra\n".to_vec();
    for r in 0..20_000u64 {
        csv.extend_from_slice(format!("2026-11-19T14:02:00Z,pay,r={r},200\n").as_bytes());
    }
    let (one, s1) = ingest_source("app.csv", &csv, "", 1).await;
    let (three, s3) = ingest_source("app.csv", &csv, "", 3).await;
    assert_eq!(s1, s3);
    assert_eq!(s3.total_rows(), 0);
    assert_eq!(s3.rejects.get("wrong_field_count").copied(), Some(20_000));
    let lines =
        "SELECT count(*) AS n, count(DISTINCT line) AS lines, min(line) AS first, max(line) AS last FROM rejects";
    let (a, b) = (one.sql(lines).await, three.sql(lines).await);
    assert_eq!(a, b);
    assert!(b.contains("| 20000 | 20000 | 2     | 20001 |"), "{b}");
}

/// A Prometheus `query_range` response read by three threads gives what one thread
/// gives, and every sample is a row or a reject: series of every length (runs of whole
/// series are dealt to the workers), series refused whole (no `__name__`), points that
/// are not `[time, "value"]`, `NaN` values, scalar items between series and a lone one
/// at the end. The series follow each other in time, written as New York wall clock
/// through the fall-back night (series that start in the second 01:00 hour are only
/// read right with the rows before them: their runs are parsed again in order) and as
/// float Unix times after it; each value holds its sample's true Unix second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_range_series_on_every_thread_keep_their_samples() {
    // 01:40 EDT; the repeated hour is 05:00-07:00 UTC.
    let mut t = Utc.with_ymd_and_hms(2026, 11, 1, 5, 40, 0).unwrap();
    let wall_clock_until = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
    let second_pass =
        Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap()..Utc.with_ymd_and_hms(2026, 11, 1, 7, 0, 0).unwrap();
    let mut rng = Rng(0x9e3);
    let (mut doc, mut samples, mut rows) = (String::new(), 0u64, 0u64);
    let (mut nameless, mut bad_points, mut nans, mut scalars, mut starts_in_second_pass) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    doc.push_str(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for s in 0..60u64 {
        if s > 0 {
            doc.push(',');
        }
        if rng.below(15) == 0 {
            // A scalar's `[time, "value"]` as two items: refused (a matrix names no metric).
            doc.push_str(r#"1795046400,"1","#);
            scalars += 1;
            samples += 1;
        }
        let points = match rng.below(6) {
            // Short series through the night: several start in the repeated hour.
            _ if s < 12 => 50 + rng.below(400),
            0 => rng.below(5),
            1 => 8_000 + rng.below(3_000),
            _ => rng.below(1_500),
        };
        let named = rng.below(12) != 0;
        let name = if named { r#""__name__":"http_requests_total","# } else { "" };
        doc.push_str(&format!(r#"{{"metric":{{{name}"service":"svc-{}","code":"{}"}},"values":["#, s % 7, 200 + s));
        let wall_clock = t < wall_clock_until;
        if wall_clock && named && points > 0 && second_pass.contains(&(t + Duration::seconds(1))) {
            starts_in_second_pass += 1;
        }
        for p in 0..points {
            if p > 0 {
                doc.push(',');
            }
            t += Duration::seconds(1 + rng.below(2) as i64);
            let time = if wall_clock {
                format!("\"{}\"", t.with_timezone(&chrono_tz::America::New_York).format("%Y-%m-%d %H:%M:%S"))
            } else {
                format!("{}.{:03}", t.timestamp(), rng.below(1000))
            };
            match rng.below(500) {
                0 => {
                    doc.push_str(&format!("[{time}]"));
                    bad_points += u64::from(named);
                }
                1 => {
                    doc.push_str(&format!(r#"[{time},"NaN"]"#));
                    nans += u64::from(named);
                }
                _ => {
                    doc.push_str(&format!(r#"[{time},"{}.{}"]"#, t.timestamp(), p % 10));
                    rows += u64::from(named);
                }
            }
        }
        doc.push_str("]}");
        if named {
            samples += points;
        } else {
            nameless += 1;
            samples += 1;
        }
    }
    doc.push_str(r#","1795046400"]}}"#);
    samples += 1;
    assert!(rows > 30_000, "several runs per thread: {rows}");
    assert!(starts_in_second_pass > 0, "no series starts in the repeated hour");

    let ingest_response = |threads: usize| {
        let doc = doc.clone();
        async move {
            let sb = Sandbox::new();
            sb.write("range.json", doc.as_bytes());
            let config = sb.config(
                "[[sources]]\nkind = \"metrics\"\nurl = \"sources/range.json\"\ntimezone = \"America/New_York\"\n",
            );
            // Runs of a few hundred samples: a series or two each.
            let options = IngestOptions { flush_rows: 300, ..options(threads) };
            let summary = ingest(&sb.warehouse(), &config.sources, &options).await.expect("ingest runs");
            (sb, summary)
        }
    };
    let (one, s1) = ingest_response(1).await;
    let (three, s3) = ingest_response(3).await;
    assert_eq!(s1, s3);
    assert_eq!(series_tables(&one).await, series_tables(&three).await);
    assert_eq!(s3.total_rows(), rows);
    assert_eq!(s3.rejects.get("bad_value").copied().unwrap_or(0), nans);
    assert_eq!(s3.rejects.get("unsupported_record").copied().unwrap_or(0), nameless + bad_points + scalars + 1);
    // Nothing lost: each sample (or item refused whole) is one row or one reject, on its
    // own ordinal.
    assert_eq!(s3.total_rows() + s3.rejects.values().sum::<u64>(), samples);
    let lines = "SELECT count(DISTINCT line) AS lines, min(line) AS first, max(line) AS last FROM \
                 (SELECT line FROM metrics UNION ALL SELECT line FROM rejects)";
    let got = three.sql(lines).await;
    assert!(got.contains(&format!("| {samples} | 1     | {samples} |")), "{got}\nwant {samples} lines");
    // Every row is at its true instant, through both passes of the repeated hour.
    let wrong = three
        .sql(
            "SELECT count(*) AS wrong FROM metrics \
             WHERE CAST(floor(to_unixtime(ts)) AS BIGINT) <> CAST(floor(value) AS BIGINT)",
        )
        .await;
    assert!(wrong.contains("| 0     |"), "{wrong}");
}

async fn series_tables(sb: &Sandbox) -> (String, String) {
    let rows =
        sb.sql("SELECT ts, metric, value, service, labels, ts_raw, ts_flags, line FROM metrics ORDER BY line").await;
    let rejects = sb.sql("SELECT line, reason, detail, substr(raw, 1, 80) AS raw FROM rejects ORDER BY line").await;
    (rows, rejects)
}
