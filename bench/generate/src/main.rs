//! Scale data for the benchmark (`bench/run.py`), deterministic (splitmix64): the same
//! scale gives the same bytes. Run: `cargo run --release -p retrace-bench-generate -- DIR [--scale N]`.
//!
//! At scale 1: 2,000,000 JSON Lines log lines (~230 B each: ts, level, service, host,
//! region, msg, status, latency_ms, trace_id) over one day for 8 services, written plain
//! (`logs.jsonl`) and gzipped (`logs.jsonl.gz`); 5,000,000 metric samples (CSV, 15 s
//! scrapes of request and error counters per host); 10,000 config changes and deploys;
//! and one planted incident: a config change on `payments` at 14:02, 503s from 14:09 to
//! 14:41, a revert at 14:40. `--scale 4` makes 4× of everything (the day is denser).
//! Also writes `retrace.toml` (sources, services, an SLO on payments) and `truth.json`.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// splitmix64: tiny, fast, and its stream never changes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const SERVICES: [&str; 8] = ["edge", "checkout", "payments", "inventory", "search", "cart", "auth", "ledger"];
const DAY_START_MS: i64 = 1_795_046_400_000; // 2026-11-19T00:00:00Z
const CHANGE_AT_MS: i64 = DAY_START_MS + (14 * 60 + 2) * 60_000;
const OUTAGE_MS: (i64, i64) = (DAY_START_MS + (14 * 60 + 9) * 60_000, DAY_START_MS + (14 * 60 + 41) * 60_000);
const PATHS: [&str; 6] = ["/api/cart", "/api/checkout", "/api/items/{id}", "/api/search", "/api/pay", "/healthz"];

/// `2026-11-19T14:02:00.123Z` without chrono's formatting machinery (it is the hot loop).
fn iso(ms: i64, out: &mut String) {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    );
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut scale = 1u64;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scale" => scale = args.next().and_then(|s| s.parse().ok()).unwrap_or(1),
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from("bench/data"));
    std::fs::create_dir_all(&dir)?;
    let mut rng = Rng(0x5eed_0000 + scale);

    // Logs: plain and gzipped in one pass.
    let lines = 2_000_000 * scale;
    let step_ms = 86_400_000.0 / lines as f64;
    let mut plain = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("logs.jsonl"))?);
    let gz_file = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("logs.jsonl.gz"))?);
    let mut gz = flate2::write::GzEncoder::new(gz_file, flate2::Compression::fast());
    let mut line = String::with_capacity(512);
    let (mut bytes, mut errors_in_outage) = (0u64, 0u64);
    for i in 0..lines {
        line.clear();
        let ts = DAY_START_MS + (i as f64 * step_ms) as i64;
        let svc = SERVICES[rng.below(SERVICES.len() as u64) as usize];
        let host = rng.below(8);
        let in_outage = svc == "payments" && (OUTAGE_MS.0..OUTAGE_MS.1).contains(&ts);
        let status = if in_outage && rng.below(100) < 35 {
            503
        } else if rng.below(10_000) < 3 {
            500
        } else if rng.below(100) < 2 {
            404
        } else {
            200
        };
        if in_outage && status == 503 {
            errors_in_outage += 1;
        }
        let level = match status {
            500.. => "error",
            404 => "warn",
            _ => "info",
        };
        let path = PATHS[rng.below(PATHS.len() as u64) as usize];
        let latency = (-(rng.unit().max(1e-9)).ln() * 40.0 * 10.0).round() / 10.0;
        line.push_str("{\"ts\":\"");
        iso(ts, &mut line);
        let _ = writeln!(
            line,
            "\",\"level\":\"{level}\",\"service\":\"{svc}\",\"host\":\"{svc}-{host}\",\"region\":\"eu-west-{}\",\"msg\":\"{}\",\"status\":{status},\"latency_ms\":{latency},\"trace_id\":\"{:016x}{:016x}\"}}",
            1 + host % 3,
            if status == 503 {
                "db pool exhausted: max_connections=20 in_use=20, request rejected".to_string()
            } else {
                format!("GET {path} {status} user={} bytes={}", rng.below(100_000), rng.below(50_000))
            },
            rng.next(),
            rng.next()
        );
        bytes += line.len() as u64;
        plain.write_all(line.as_bytes())?;
        gz.write_all(line.as_bytes())?;
    }
    plain.flush()?;
    gz.finish()?.flush()?;

    // Metrics: request and error counters per host, 15 s scrapes.
    let samples = 5_000_000 * scale;
    let series = 2 * SERVICES.len() as u64 * 8;
    let scrapes = samples / series;
    let scrape_ms = 86_400_000 / scrapes as i64;
    let mut m = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("metrics.csv"))?);
    writeln!(m, "ts,metric,value,service,host")?;
    let mut counters = vec![0u64; series as usize];
    for k in 0..scrapes {
        let ts = DAY_START_MS + k as i64 * scrape_ms;
        line.clear();
        iso(ts, &mut line);
        for (j, c) in counters.iter_mut().enumerate() {
            let svc = SERVICES[j / 16];
            let errors = j % 2 == 1;
            let in_outage = svc == "payments" && (OUTAGE_MS.0..OUTAGE_MS.1).contains(&ts);
            *c += match (errors, in_outage) {
                (false, _) => 100 + rng.below(20),
                (true, true) => 30 + rng.below(10),
                (true, false) => u64::from(rng.below(100) < 5),
            };
            let name = if errors { "http_requests_errors_total" } else { "http_requests_total" };
            writeln!(m, "{line},{name},{c},{svc},{svc}-{}", (j % 16) / 2)?;
        }
    }
    m.flush()?;

    // Changes and deploys: 10,000 each per scale spread over the day, plus the culprit and its revert.
    let mut c = BufWriter::new(std::fs::File::create(dir.join("changes.jsonl"))?);
    let mut d = BufWriter::new(std::fs::File::create(dir.join("deploys.jsonl"))?);
    let n = 10_000 * scale;
    for i in 0..n {
        let svc = SERVICES[rng.below(SERVICES.len() as u64) as usize];
        let mut ts = String::new();
        iso(DAY_START_MS + (rng.below(86_400_000) as i64), &mut ts);
        writeln!(
            c,
            "{{\"ts\":\"{ts}\",\"change_id\":\"R-{i}\",\"service\":\"{svc}\",\"key\":\"{svc}.feature_{}\",\"old_value\":\"a\",\"new_value\":\"b\"}}",
            i % 97
        )?;
        let mut ts = String::new();
        iso(DAY_START_MS + (rng.below(86_400_000) as i64), &mut ts);
        writeln!(
            d,
            "{{\"ts\":\"{ts}\",\"deploy_id\":\"D-{i}\",\"service\":\"{svc}\",\"version\":\"v{}\",\"status\":\"succeeded\",\"percent\":100}}",
            i
        )?;
    }
    let (mut at, mut fix) = (String::new(), String::new());
    iso(CHANGE_AT_MS, &mut at);
    iso(OUTAGE_MS.1 - 60_000, &mut fix);
    writeln!(
        c,
        "{{\"ts\":\"{at}\",\"change_id\":\"CULPRIT\",\"service\":\"payments\",\"key\":\"payments.db.pool.max\",\"old_value\":\"200\",\"new_value\":\"20\"}}"
    )?;
    writeln!(
        c,
        "{{\"ts\":\"{fix}\",\"change_id\":\"FIX\",\"service\":\"payments\",\"key\":\"payments.db.pool.max\",\"old_value\":\"20\",\"new_value\":\"200\",\"reverts\":\"CULPRIT\"}}"
    )?;
    c.flush()?;
    d.flush()?;

    let mut toml = String::from("warehouse = \"warehouse\"\n");
    for (kind, url, format) in [
        ("logs", "logs.jsonl", ""),
        ("metrics", "metrics.csv", ""),
        ("changes", "changes.jsonl", ""),
        ("deploys", "deploys.jsonl", ""),
    ] {
        let _ = writeln!(toml, "[[sources]]\nkind = \"{kind}\"\nurl = \"{url}\"{format}");
    }
    toml.push_str("[services.edge]\ndepends_on = [\"checkout\", \"search\", \"cart\", \"auth\"]\n");
    toml.push_str("[services.checkout]\ndepends_on = [\"payments\", \"inventory\", \"cart\"]\n");
    toml.push_str("[services.payments]\ndepends_on = [\"ledger\"]\n");
    toml.push_str(
        "[[slo]]\nname = \"payments-availability\"\nservice = \"payments\"\nobjective = 0.999\n\
         sli = { kind = \"log_ratio\", bad = \"status >= 500\", total = \"status IS NOT NULL\" }\n",
    );
    std::fs::write(dir.join("retrace.toml"), toml)?;
    std::fs::write(
        dir.join("truth.json"),
        format!(
            "{{\"scale\":{scale},\"log_lines\":{lines},\"log_bytes\":{bytes},\"metric_samples\":{},\"changes\":{},\"deploys\":{n},\"culprit\":\"CULPRIT\",\"outage_503s\":{errors_in_outage}}}\n",
            scrapes * series,
            n + 2
        ),
    )?;
    eprintln!(
        "{}: {lines} log lines ({:.0} MB), {} metric samples, {} changes, {n} deploys",
        dir.display(),
        bytes as f64 / 1e6,
        scrapes * series,
        n + 2
    );
    Ok(())
}
