//! `retrace ingest --shard k/n`: n processes ingest one warehouse at once and give the
//! tables one ingest gives, with the duplicates inside each stream resolved as one ingest
//! resolves them (the shards split by stream, docs/adr/0004-sharded-ingest.md).

use std::process::{Command, Output};

use crate::common::Rng;
use crate::common::Sandbox;

fn retrace(sb: &Sandbox, config: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_retrace"));
    cmd.current_dir(sb.path()).env_remove("RETRACE_CONFIG").env_remove("RETRACE_WAREHOUSE");
    cmd.arg("--config").arg(config).args(args);
    cmd
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every row of every table, in one order, without the warehouse's name.
fn tables(sb: &Sandbox, config: &str) -> String {
    let mut all = String::new();
    for (table, order) in [
        ("logs", "ts, source, line"),
        ("metrics", "ts, source, line"),
        ("changes", "ts, change_id"),
        ("rejects", "source, line"),
    ] {
        let sql = format!("SELECT * FROM {table} ORDER BY {order}");
        all += &ok(retrace(sb, config, &["sql", "--format", "csv", &sql]).output().unwrap(), &sql);
    }
    all
}

/// Generated exports: hosts write hourly exports that overlap the next by a few minutes
/// (duplicates inside a stream, dropped once); some hosts' lines name no host, and some of
/// those repeat another such host's lines (kept, as possible duplicates); some lines are
/// bad (rejects); metrics come as CSV per host; the change history comes as two
/// overlapping exports in two folders (one change, two rows: dropped by its id).
fn write_sources(sb: &Sandbox, rng: &mut Rng) -> usize {
    let hosts = rng.int(7, 12) as usize;
    let mut objects = 0;
    let mut previous_anonymous: Option<usize> = None;
    for h in 0..hosts {
        let exports = rng.int(2, 4);
        let per_minute = rng.int(1, 4);
        let overlap = rng.int(1, 15);
        let anonymous = rng.chance(0.4);
        // An anonymous host that repeats the lines of the anonymous host before it.
        let source_host = match previous_anonymous {
            Some(p) if anonymous && rng.chance(0.5) => p,
            _ => h,
        };
        if anonymous {
            previous_anonymous = Some(h);
        }
        for e in 0..exports {
            let mut text = String::new();
            for minute in (e * 60 - if e > 0 { overlap } else { 0 })..(e * 60 + 60) {
                for k in 0..per_minute {
                    let host = if anonymous { String::new() } else { format!("\"host\":\"web-{h}\",") };
                    text += &format!(
                        "{{\"ts\":\"2026-11-19T{:02}:{:02}:{:02}Z\",{host}\"service\":\"web\",\"level\":\"{}\",\"msg\":\"request {k} at minute {minute} from {source_host}\"}}\n",
                        10 + minute / 60,
                        minute % 60,
                        k * 7 % 60,
                        if (minute + k) % 17 == 0 { "error" } else { "info" },
                    );
                }
                if rng.chance(0.02) {
                    text += "{\"ts\": not json\n";
                }
            }
            sb.write(&format!("logs/web-{h}/app-2026-11-19T{:02}-00-00.jsonl", 10 + e), text.as_bytes());
            objects += 1;
        }
        let mut csv = String::from("ts,metric,value,host\n");
        for minute in 0..rng.int(30, 120) {
            csv += &format!(
                "2026-11-19T{:02}:{:02}:00Z,cpu,{:.3},web-{h}\n",
                10 + minute / 60,
                minute % 60,
                rng.range(0.0, 1.0)
            );
        }
        sb.write(&format!("metrics/web-{h}.csv"), csv.as_bytes());
        objects += 1;
    }
    let changes = rng.int(5, 20);
    let header = "ts,change_id,service,key,old_value,new_value\n";
    let row =
        |i: i64| format!("2026-11-19T{:02}:{:02}:00Z,CHG-{i},web,pool.max,{},{}\n", 10 + i / 60, i % 60, i, i + 1);
    let first: String = (0..changes).map(row).collect();
    let second: String = (changes / 2..changes + 5).map(row).collect();
    sb.write("changes/flags/export.csv", format!("{header}{first}").as_bytes());
    sb.write("changes/config/history.csv", format!("{header}{second}").as_bytes());
    objects + 2
}

fn config(sb: &Sandbox, name: &str, warehouse: &str) -> String {
    let text = format!(
        "warehouse = \"{warehouse}\"\n[[sources]]\nkind = \"logs\"\nurl = \"sources/logs/*/*.jsonl\"\n\
         [[sources]]\nkind = \"metrics\"\nurl = \"sources/metrics/*.csv\"\n\
         [[sources]]\nkind = \"changes\"\nurl = \"sources/changes/*/*.csv\"\n"
    );
    std::fs::write(sb.path().join(name), text).unwrap();
    name.to_string()
}

/// The number after `label` on a line of the ingest summary.
fn count(summary: &str, line_start: &str, after: &str) -> usize {
    summary
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.split(after).next()?.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn three_shards_at_once_give_the_tables_of_one_ingest() {
    for seed in [11u64, 12] {
        let sb = Sandbox::new();
        let mut rng = Rng(seed);
        let objects = write_sources(&sb, &mut rng);
        let one = config(&sb, "one.toml", "wh-one");
        let sharded = config(&sb, "sharded.toml", "wh-sharded");

        let single = ok(retrace(&sb, &one, &["ingest"]).output().unwrap(), "one ingest");
        // The three shards start together and share the warehouse (no --wait: a shard
        // that had to wait for another would fail).
        let children: Vec<_> = (1..=3)
            .map(|k| {
                retrace(&sb, &sharded, &["ingest", "--shard", &format!("{k}/3")])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<String> = children.into_iter().map(|c| ok(c.wait_with_output().unwrap(), "a shard")).collect();
        // Every object was taken by exactly one shard.
        let seen: usize = outs.iter().map(|o| count(o, "objects:", "seen")).sum();
        assert_eq!(seen, objects, "seed {seed}: {outs:#?}");
        for o in &outs {
            assert_eq!(count(o, "objects:", "seen") + count(o, "shard:", "listed"), objects, "{o}");
        }
        // Duplicates dropped inside streams: the same number as one ingest's.
        let dropped: usize = outs.iter().map(|o| count(o, "duplicates dropped: logs", "(")).sum();
        assert_eq!(dropped, count(&single, "duplicates dropped: logs", "("), "seed {seed}: {single}\n{outs:#?}");
        assert!(dropped > 0, "the generated exports overlap: {single}");
        // The change exports share rows: one ingest drops them by id, and so does shard 1,
        // which takes every change object.
        let changes: usize = outs.iter().map(|o| count(o, "duplicates dropped: changes", "(")).sum();
        assert!(changes > 0, "{single}");
        assert_eq!(changes, count(&single, "duplicates dropped: changes", "("));
        // (Possible duplicates kept are counted against what is committed when a shard
        // looks, so their count may differ; the rows kept do not.)

        let expected = tables(&sb, &one);
        assert_eq!(tables(&sb, &sharded), expected.replace("wh-one", "wh-sharded"), "seed {seed}");

        // A shard run again finds nothing new; so does one ingest over the shards' work.
        let again = ok(retrace(&sb, &sharded, &["ingest", "--shard", "2/3"]).output().unwrap(), "shard again");
        assert_eq!(count(&again, "objects:", "ingested"), 0, "{again}");
        let whole = ok(retrace(&sb, &sharded, &["ingest"]).output().unwrap(), "whole after shards");
        assert!(whole.starts_with(&format!("objects: {objects} seen, 0 ingested")), "{whole}");
        assert_eq!(tables(&sb, &sharded), expected.replace("wh-one", "wh-sharded"));
    }
}

#[test]
fn a_bad_shard_is_refused_before_anything_is_read() {
    let sb = Sandbox::new();
    let cfg = config(&sb, "one.toml", "wh");
    for (bad, says) in [("4/3", "1 to 3 of 3"), ("0/2", "1 to 2 of 2"), ("2", "is not k/n")] {
        let out = retrace(&sb, &cfg, &["ingest", "--shard", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--shard") && err.contains(says), "{bad}: {err}");
    }
    assert!(!sb.path().join("wh").exists());
}

/// The one thing left to timing (ADR 0004): a line that names its host, held by objects
/// of two streams that two shards take. One ingest keeps one copy; shards keep one or,
/// committing at the same moment, both: never none.
#[test]
fn rows_shared_across_shards_are_never_lost() {
    let sb = Sandbox::new();
    let mut text = String::new();
    for i in 0..300 {
        text += &format!(
            "{{\"ts\":\"2026-11-19T10:{:02}:{:02}Z\",\"host\":\"web-1\",\"service\":\"web\",\"msg\":\"line {i}\"}}\n",
            i / 60,
            i % 60
        );
    }
    // The same export copied into a second folder: two streams. Find a folder name whose
    // stream lands in the other shard of two.
    sb.write("logs/live/app.jsonl", text.as_bytes());
    let live = format!(
        "lineage:{}",
        retrace::ingest::dedupe::lineage(&format!("file://{}/sources/logs/live/app.jsonl", sb.path().display()))
    );
    let copy = (0..100)
        .map(|i| format!("backup-{i}"))
        .find(|f| {
            let stream = format!(
                "lineage:{}",
                retrace::ingest::dedupe::lineage(&format!("file://{}/sources/logs/{f}/app.jsonl", sb.path().display()))
            );
            retrace::ingest::shard::Shard::of(&stream, 2) != retrace::ingest::shard::Shard::of(&live, 2)
        })
        .unwrap();
    sb.write(&format!("logs/{copy}/app.jsonl"), text.as_bytes());
    let one = config(&sb, "one.toml", "wh-one");
    let sharded = config(&sb, "sharded.toml", "wh-sharded");
    ok(retrace(&sb, &one, &["ingest"]).output().unwrap(), "one ingest");
    let children: Vec<_> = (1..=2)
        .map(|k| {
            retrace(&sb, &sharded, &["ingest", "--shard", &format!("{k}/2")])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<String> = children.into_iter().map(|c| ok(c.wait_with_output().unwrap(), "a shard")).collect();
    assert!(outs.iter().all(|o| count(o, "objects:", "seen") == 1), "{outs:?}");
    let distinct = "SELECT count(*) AS n, count(DISTINCT msg) AS d FROM logs";
    let one_rows = ok(retrace(&sb, &one, &["sql", "--format", "csv", distinct]).output().unwrap(), "one");
    assert_eq!(one_rows, "n,d\n300,300\n");
    let shard_rows = ok(retrace(&sb, &sharded, &["sql", "--format", "csv", distinct]).output().unwrap(), "sharded");
    assert!(shard_rows == "n,d\n300,300\n" || shard_rows == "n,d\n600,300\n", "{shard_rows}");
}
