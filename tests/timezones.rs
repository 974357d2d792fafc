use crate::common::{Sandbox, source_tz};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naive_new_york_times_land_in_utc_across_dst() {
    let sb = Sandbox::new();
    // 2026-11-01 02:00 EDT falls back to 01:00 EST; 2026-03-08 02:00 EST springs to 03:00 EDT.
    sb.write(
        "ny.jsonl",
        br#"{"ts":"2026-03-08 01:59:59","msg":"last EST second"}
{"ts":"2026-03-08 03:00:00","msg":"first EDT second"}
{"ts":"2026-10-31 23:30:00","msg":"EDT evening"}
{"ts":"2026-11-01 00:59:59","msg":"before the repeated hour"}
{"ts":"2026-11-01 01:30:00","msg":"ambiguous: earlier instant"}
{"ts":"2026-11-01 02:00:00","msg":"EST"}
{"ts":"2026-11-01T01:30:00-05:00","msg":"explicit offset wins"}
{"ts":"2026-11-02 12:00:00.5","msg":"EST noon"}
"#,
    );
    sb.write("ny.csv", b"ts,change_id,service\n2026-11-01 01:59:59,C-1,a\n2026-11-01 03:00:00,C-2,a\n");
    let config = sb.config(
        &[
            source_tz("logs", "sources/ny.jsonl", "America/New_York"),
            source_tz("changes", "sources/ny.csv", "America/New_York"),
        ]
        .concat(),
    );
    let summary = sb.ingest(&config).await;
    assert_eq!(summary.total_rejects(), 0);
    insta::assert_snapshot!(sb.sql("SELECT date, ts, msg FROM logs ORDER BY line").await, @"
    +------------+--------------------------+----------------------------+
    | date       | ts                       | msg                        |
    +------------+--------------------------+----------------------------+
    | 2026-03-08 | 2026-03-08T06:59:59Z     | last EST second            |
    | 2026-03-08 | 2026-03-08T07:00:00Z     | first EDT second           |
    | 2026-11-01 | 2026-11-01T03:30:00Z     | EDT evening                |
    | 2026-11-01 | 2026-11-01T04:59:59Z     | before the repeated hour   |
    | 2026-11-01 | 2026-11-01T05:30:00Z     | ambiguous: earlier instant |
    | 2026-11-01 | 2026-11-01T07:00:00Z     | EST                        |
    | 2026-11-01 | 2026-11-01T06:30:00Z     | explicit offset wins       |
    | 2026-11-02 | 2026-11-02T17:00:00.500Z | EST noon                   |
    +------------+--------------------------+----------------------------+
    ");
    insta::assert_snapshot!(sb.sql("SELECT ts, change_id FROM changes ORDER BY ts").await, @r"
    +----------------------+-----------+
    | ts                   | change_id |
    +----------------------+-----------+
    | 2026-11-01T05:59:59Z | C-1       |
    | 2026-11-01T08:00:00Z | C-2       |
    +----------------------+-----------+
    ");
}
