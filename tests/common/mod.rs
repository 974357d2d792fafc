//! Shared helpers: write fixture objects, ingest them, query the result.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use datafusion::arrow::util::pretty::pretty_format_batches;
use retrace::config::Config;
use retrace::ingest::{IngestOptions, IngestSummary, ingest};
use retrace::warehouse::Warehouse;

mod rng;
pub use rng::Rng;

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// A temporary folder with `sources/` (inputs) and `warehouse/`.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn warehouse_path(&self) -> PathBuf {
        self.path().join("warehouse")
    }

    pub fn warehouse(&self) -> Warehouse {
        Warehouse::open(&self.warehouse_path().display().to_string()).expect("open warehouse")
    }

    /// Writes `content` to `sources/<rel>`; `.gz` names are gzip-compressed.
    pub fn write(&self, rel: &str, content: &[u8]) -> PathBuf {
        let path = self.path().join("sources").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if rel.ends_with(".gz") {
            let mut enc =
                flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
            enc.write_all(content).unwrap();
            enc.finish().unwrap();
        } else if rel.ends_with(".zst") {
            std::fs::write(&path, zstd::encode_all(content, 3).unwrap()).unwrap();
        } else {
            std::fs::write(&path, content).unwrap();
        }
        path
    }

    /// Copies a fixture file into `sources/<rel>` (compressing by the target name).
    pub fn copy_fixture(&self, fixture: &str, rel: &str) -> PathBuf {
        let content = std::fs::read(fixture_dir().join(fixture)).expect("fixture");
        self.write(rel, &content)
    }

    /// A config over this sandbox; relative source paths resolve against the sandbox
    /// (so inputs are `sources/...`).
    pub fn config(&self, sources_toml: &str) -> Config {
        let text = format!("warehouse = \"warehouse\"\n{sources_toml}");
        Config::parse(&text, self.path()).expect("config parses")
    }

    /// Writes the config to `retrace.toml` in the sandbox, for CLI runs.
    pub fn config_file(&self, sources_toml: &str) -> PathBuf {
        let path = self.path().join("retrace.toml");
        std::fs::write(&path, format!("warehouse = \"warehouse\"\n{sources_toml}")).unwrap();
        path
    }

    pub async fn ingest(&self, config: &Config) -> IngestSummary {
        ingest(&self.warehouse(), &config.sources, &IngestOptions::default()).await.expect("ingest runs")
    }

    /// Runs SQL over the warehouse and returns a pretty table with the sandbox path hidden.
    pub async fn sql(&self, sql: &str) -> String {
        let ctx = retrace::catalog::open(&self.warehouse()).await.expect("catalog");
        let batches = ctx.sql(sql).await.expect("plans").collect().await.expect("runs");
        let table = pretty_format_batches(&batches).expect("formats").to_string();
        self.redact(&table)
    }

    /// The report of the window 14:00–15:00Z on 2026-11-19, in UTC, without SLOs (so no
    /// breaches): what the report tests over hostile or generated log text build.
    pub async fn window_report(&self, config: &Config, redact: bool) -> retrace::report::Report {
        let ctx = retrace::catalog::open(&self.warehouse()).await.expect("catalog");
        let window = retrace::analyze::Window::new(
            retrace::cli::parse_time("2026-11-19T14:00Z").unwrap(),
            retrace::cli::parse_time("2026-11-19T15:00Z").unwrap(),
        )
        .unwrap();
        let request = retrace::report::ReportRequest {
            window,
            service: None,
            display_timezone: chrono_tz::Tz::UTC,
            source_root: None,
            config: Some(config.clone()),
            focus: None,
            redact,
            duplicates: Default::default(),
            analysis: retrace::analyze::Analysis::empty(window),
        };
        retrace::report::build(&ctx, &request).await.expect("report")
    }

    /// Runs SQL over the warehouse and returns the batches.
    pub async fn sql_batches(&self, sql: &str) -> Vec<datafusion::arrow::array::RecordBatch> {
        let ctx = retrace::catalog::open(&self.warehouse()).await.expect("catalog");
        ctx.sql(sql).await.expect("plans").collect().await.expect("runs")
    }

    /// Replaces the sandbox path with `[SANDBOX]` so snapshots are machine-independent.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.path().display().to_string(), "[SANDBOX]")
    }

    /// Every file under the warehouse, relative, sorted.
    pub fn warehouse_files(&self) -> Vec<String> {
        let root = self.warehouse_path();
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}

pub fn source(kind: &str, url: &str) -> String {
    format!("[[sources]]\nkind = \"{kind}\"\nurl = \"{url}\"\n")
}

pub fn source_tz(kind: &str, url: &str, tz: &str) -> String {
    format!("[[sources]]\nkind = \"{kind}\"\nurl = \"{url}\"\ntimezone = \"{tz}\"\n")
}

/// The `basic` fixtures (one of each kind, compressed three ways) and a config over them.
pub fn basic_sandbox() -> (Sandbox, Config) {
    let sb = Sandbox::new();
    sb.copy_fixture("basic/logs.jsonl", "logs/app.jsonl");
    sb.copy_fixture("basic/metrics.csv", "metrics/m.csv.gz");
    sb.copy_fixture("basic/changes.csv", "changes/c.csv");
    sb.copy_fixture("basic/deploys.jsonl", "deploys/d.jsonl.zst");
    sb.copy_fixture("basic/events.jsonl", "events/e.jsonl");
    let config = sb.config(&basic_sources());
    (sb, config)
}

/// The `[[sources]]` of [`basic_sandbox`]'s config, for tests that add to it.
pub fn basic_sources() -> String {
    [
        source("logs", "sources/logs/*.jsonl"),
        source("metrics", "sources/metrics/*.csv.gz"),
        source("changes", "sources/changes/"),
        source("deploys", "sources/deploys/d.jsonl.zst"),
        source("events", "sources/events/e.jsonl"),
    ]
    .concat()
}

/// JSON Lines of the shop that `grafana` and `cluster` test against: six requests a minute
/// from 06:00 to `until_hour` on 2026-11-19, half of them 503 during the outage
/// 13:00–13:40; request `i` of a minute comes from host `host(i)`.
pub fn shop_outage_lines(until_hour: u32, host: impl Fn(u32) -> String) -> String {
    let mut lines = String::new();
    for minute in 6 * 60..until_hour * 60 {
        for i in 0..6 {
            let outage = (13 * 60..13 * 60 + 40).contains(&minute) && i % 2 == 0;
            let status = if outage { 503 } else { 200 };
            lines.push_str(&format!(
                "{{\"ts\":\"2026-11-19T{:02}:{:02}:{:02}Z\",\"service\":\"shop\",\"host\":\"{}\",\"msg\":\"GET / {status}\",\"status\":{status}}}\n",
                minute / 60,
                minute % 60,
                i * 10,
                host(i)
            ));
        }
    }
    lines
}

/// Every row of every Markdown table in `md` has as many unescaped cell separators as
/// its header: text from the data never broke a table.
pub fn assert_markdown_tables_intact(md: &str, what: &str) {
    let mut header_cells = 0;
    for line in md.lines() {
        if !line.starts_with('|') {
            header_cells = 0;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        if header_cells == 0 {
            header_cells = cells;
        }
        assert_eq!(cells, header_cells, "{what}: broken table row: {line}");
    }
}

/// Prints ranked breaches with their mitigation and first `suspects` suspects: what the
/// corpus (`POSTMORTEM=…`) and the sweeps (`SWEEP_CASE=…`) show of one case.
pub fn print_ranked(ranked: &[retrace::analyze::suspects::BreachSuspects], suspects: usize) {
    for b in ranked {
        println!(
            "BREACH {} onset {} detected {} recovered {:?} ongoing {:?}\n  {}\n  mitigation {:?}",
            b.breach.id,
            b.breach.onset,
            b.breach.detected,
            b.breach.recovered,
            b.breach.ongoing_at,
            b.verdict,
            b.mitigation
        );
        for s in b.suspects.iter().take(suspects) {
            println!("    #{} {} {:?} {:.2} {:?}", s.rank, s.id, s.verdict, s.score, s.evidence);
        }
    }
}
