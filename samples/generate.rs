//! Generates the bundled sample scenario in `samples/data/` (deterministic: same output,
//! byte for byte, on every run). Run: `cargo run --example generate-sample`.
//!
//! Two days (2026-11-18/19 UTC) of telemetry for six services with a dependency graph,
//! routine config changes and deploys, and one incident in the spirit of a classic config
//! outage: a config change shrinks the payments DB connection pool; it passes, and minutes
//! later payments returns 503s, which spread to checkout and edge; an automated
//! remediation reverts it and config-sync re-applies it, three times; the on-call engineer
//! pauses the automation and reverts by hand; service recovers. The ground truth is
//! written to `samples/ground_truth.json` and explained in `samples/README.md`.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

/// splitmix64: tiny, fast, and its stream never changes (unlike a crate's default RNG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// Poisson-distributed count with the given mean (Knuth; means here are small).
    fn poisson(&mut self, mean: f64) -> u64 {
        if mean > 30.0 {
            let n = mean + mean.sqrt() * (self.f64() + self.f64() + self.f64() - 1.5) * 2.0;
            return n.max(0.0).round() as u64;
        }
        let l = (-mean).exp();
        let (mut k, mut p) = (0u64, 1.0);
        loop {
            p *= self.f64();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

struct Svc {
    name: &'static str,
    rps: f64,
    log_rate: f64,
    p99: f64,
    endpoints: &'static [&'static str],
    pods: u32,
}

const SERVICES: &[Svc] = &[
    Svc {
        name: "edge",
        rps: 300.0,
        log_rate: 0.30,
        p99: 0.25,
        endpoints: &["GET /", "GET /product/{id}", "POST /checkout", "GET /search"],
        pods: 6,
    },
    Svc {
        name: "checkout",
        rps: 80.0,
        log_rate: 0.20,
        p99: 0.30,
        endpoints: &["POST /v1/checkout", "GET /v1/checkout/{id}"],
        pods: 4,
    },
    Svc {
        name: "payments",
        rps: 40.0,
        log_rate: 0.15,
        p99: 0.15,
        endpoints: &["POST /v1/charge", "POST /v1/refund", "GET /v1/charge/{id}"],
        pods: 3,
    },
    Svc {
        name: "inventory",
        rps: 120.0,
        log_rate: 0.15,
        p99: 0.08,
        endpoints: &["GET /v1/stock/{sku}", "POST /v1/reserve"],
        pods: 3,
    },
    Svc {
        name: "cart",
        rps: 100.0,
        log_rate: 0.15,
        p99: 0.06,
        endpoints: &["GET /v1/cart", "POST /v1/cart/items"],
        pods: 3,
    },
    Svc {
        name: "search",
        rps: 150.0,
        log_rate: 0.15,
        p99: 0.20,
        endpoints: &["GET /v1/search", "GET /v1/suggest"],
        pods: 4,
    },
];

const BASELINE_ERROR: f64 = 0.0003;
const TICK: i64 = 15;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("static time").with_timezone(&Utc)
}

/// When the bad pool size is in force: [applied, reverted) intervals.
fn culprit_active() -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    vec![
        (t("2026-11-19T14:02:00Z"), t("2026-11-19T14:17:00Z")),
        (t("2026-11-19T14:19:30Z"), t("2026-11-19T14:24:00Z")),
        (t("2026-11-19T14:26:30Z"), t("2026-11-19T14:31:00Z")),
        (t("2026-11-19T14:33:30Z"), t("2026-11-19T14:41:00Z")),
    ]
}

/// Payments' extra error ratio at `now`: the first application bites after 7 minutes (old
/// connections recycle), re-applications after one (config-sync restarts the pool);
/// errors ramp up over 3 minutes and clear within a minute of a revert.
fn payments_incident(now: DateTime<Utc>) -> f64 {
    let mut worst: f64 = 0.0;
    for (i, (on, off)) in culprit_active().into_iter().enumerate() {
        let (delay, ramp) = if i == 0 { (420.0, 180.0) } else { (60.0, 60.0) };
        let since_on = (now - on).num_seconds() as f64;
        if since_on < delay {
            continue;
        }
        let level = (((since_on - delay) / ramp).min(1.0)) * 0.35;
        let since_off = (now - off).num_seconds() as f64;
        let level = if since_off >= 0.0 { level * (1.0 - since_off / 60.0).max(0.0) } else { level };
        worst = worst.max(level);
    }
    worst
}

/// Extra error ratio per service: payments fails; checkout fails on payment calls; edge
/// fails on the checkout share of its traffic. The search deploy on day one fails briefly.
fn incident_ratio(svc: &str, now: DateTime<Utc>) -> f64 {
    let p = payments_incident(now);
    let search_blip = if now >= t("2026-11-18T16:21:00Z") && now < t("2026-11-18T16:25:00Z") { 0.02 } else { 0.0 };
    match svc {
        "payments" => p,
        "checkout" => p * 0.8,
        "edge" => p * 0.8 * 0.25,
        "search" => search_blip,
        _ => 0.0,
    }
}

fn diurnal(now: DateTime<Utc>) -> f64 {
    let h = (now.timestamp().rem_euclid(86_400)) as f64 / 3600.0;
    1.0 + 0.4 * ((h - 15.0) / 24.0 * std::f64::consts::TAU).cos()
}

struct Change {
    ts: DateTime<Utc>,
    id: String,
    service: &'static str,
    system: &'static str,
    key: String,
    old: String,
    new: String,
    actor: &'static str,
    scope: &'static str,
    description: String,
    reverts: Option<String>,
}

struct DeployEvent {
    ts: DateTime<Utc>,
    id: String,
    service: &'static str,
    version: String,
    previous: String,
    status: &'static str,
    percent: u32,
    actor: &'static str,
    commit: String,
    description: String,
}

fn main() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join("data");
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("remove old sample data");
    }
    let mut rng = Rng(0x5EED_2026_1119);
    let start = t("2026-11-18T00:00:00Z");
    let end = t("2026-11-20T00:00:00Z");

    let (changes, culprit, decoy) = changes(&mut rng, start);
    let deploys = deploys(&mut rng, start);
    write_changes(&out, &changes);
    write_deploys(&out, &deploys);
    write_metrics(&out, &mut rng, start, end, &deploys);
    let rows = write_logs(&out, &mut rng, start, end, &deploys);
    write_incident_events(&out);

    let truth = format!(
        "{{\n  \"culprit_change\": \"{culprit}\",\n  \"culprit_service\": \"payments\",\n  \"decoy_change\": \"{decoy}\",\n  \
         \"culprit_applied\": \"2026-11-19T14:02:00Z\",\n  \"onset\": \"2026-11-19T14:09:00Z\",\n  \
         \"errors_peak_from\": \"2026-11-19T14:12:00Z\",\n  \"first_automated_revert\": \"2026-11-19T14:17:00Z\",\n  \
         \"manual_revert\": \"2026-11-19T14:41:00Z\",\n  \"recovered\": \"2026-11-19T14:42:00Z\",\n  \
         \"affected_services\": [\"payments\", \"checkout\", \"edge\"],\n  \"log_lines\": {rows},\n  \"malformed_log_lines\": 3,\n  \
         \"first_alert\": \"{FIRST_ALERT}\",\n  \"first_page\": \"{FIRST_PAGE}\",\n  \"acknowledged\": \"{ACKNOWLEDGED}\",\n  \
         \"declared\": \"{DECLARED}\",\n  \"first_status_update\": \"{FIRST_STATUS_UPDATE}\",\n  \"revert_announced\": \"{REVERT_ANNOUNCED}\"\n}}\n"
    );
    std::fs::write(out.parent().expect("samples").join("ground_truth.json"), truth).expect("write ground truth");
    eprintln!(
        "sample written to {} ({rows} log lines, {} changes, {} deploy events)",
        out.display(),
        changes.len(),
        deploys.len()
    );
}

const ACTORS: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank"];

// The people's side of the incident (ground truth): the alert's rule fires a minute after
// the SLO's 1h/5m pair would have, the page goes to the payments on-call, who is asleep:
// it escalates after ten minutes and the secondary acknowledges; the revert is announced in
// chat a minute before it is made.
const FIRST_ALERT: &str = "2026-11-19T14:14:30Z";
const FIRST_PAGE: &str = "2026-11-19T14:15:10Z";
const ACKNOWLEDGED: &str = "2026-11-19T14:27:30Z";
const DECLARED: &str = "2026-11-19T14:29:00Z";
const FIRST_STATUS_UPDATE: &str = "2026-11-19T14:38:00Z";
const REVERT_ANNOUNCED: &str = "2026-11-19T14:40:00Z";

/// Alertmanager webhooks, PagerDuty log entries, a Slack export and the status page's
/// updates for the incident, as those tools write them.
fn write_incident_events(out: &Path) {
    let alert = |status: &str, name: &str, service: &str, starts: &str, ends: &str, fp: &str, summary: &str| {
        format!(
            "{{\"version\":\"4\",\"groupKey\":\"{{}}:{{alertname=\\\"{name}\\\"}}\",\"status\":\"{status}\",\"receiver\":\"pagerduty\",\
             \"alerts\":[{{\"status\":\"{status}\",\"labels\":{{\"alertname\":\"{name}\",\"service\":\"{service}\",\"severity\":\"page\"}},\
             \"annotations\":{{\"summary\":{}}},\"startsAt\":\"{starts}\",\"endsAt\":\"{ends}\",\"fingerprint\":\"{fp}\"}}],\
             \"externalURL\":\"http://alertmanager.shop.internal:9093\"}}\n",
            json_str(summary)
        )
    };
    let unset = "0001-01-01T00:00:00Z";
    let mut am = String::new();
    am.push_str(&alert(
        "firing",
        "PaymentsHighErrorRate",
        "payments",
        FIRST_ALERT,
        unset,
        "a1f0c3",
        "payments 5xx above 5% for 5m",
    ));
    am.push_str(&alert(
        "firing",
        "CheckoutHighErrorRate",
        "checkout",
        "2026-11-19T14:16:00Z",
        unset,
        "b2e1d4",
        "checkout 5xx above 2% for 5m",
    ));
    am.push_str(&alert(
        "resolved",
        "PaymentsHighErrorRate",
        "payments",
        FIRST_ALERT,
        "2026-11-19T14:46:30Z",
        "a1f0c3",
        "payments 5xx above 5% for 5m",
    ));
    am.push_str(&alert(
        "resolved",
        "CheckoutHighErrorRate",
        "checkout",
        "2026-11-19T14:16:00Z",
        "2026-11-19T14:47:00Z",
        "b2e1d4",
        "checkout 5xx above 2% for 5m",
    ));
    plain(&out.join("events").join("alertmanager").join("2026-11-19.jsonl"), &am);

    let entry = |id: &str, kind: &str, at: &str, agent: &str, summary: &str, user: Option<&str>| {
        let user = user
            .map(|u| format!(",\"user\":{{\"type\":\"user_reference\",\"summary\":{}}}", json_str(u)))
            .unwrap_or_default();
        format!(
            "{{\"id\":\"{id}\",\"type\":\"{kind}\",\"created_at\":\"{at}\",\"summary\":{},\
             \"html_url\":\"https://shop.pagerduty.com/incidents/Q1PAY42/log_entries/{id}\",\
             \"agent\":{{\"type\":\"user_reference\",\"summary\":{}}}{user},\
             \"service\":{{\"summary\":\"payments\"}},\"incident\":{{\"id\":\"Q1PAY42\",\"summary\":\"[#4211] PaymentsHighErrorRate\",\"urgency\":\"high\"}}}}",
            json_str(summary),
            json_str(agent)
        )
    };
    let entries = [
        entry("R1", "trigger_log_entry", "2026-11-19T14:14:40Z", "Alertmanager", "Triggered through the API", None),
        entry(
            "R2",
            "notify_log_entry",
            FIRST_PAGE,
            "PagerDuty",
            "Notified Dana Whitfield by push",
            Some("Dana Whitfield"),
        ),
        entry(
            "R3",
            "escalate_log_entry",
            "2026-11-19T14:25:10Z",
            "PagerDuty",
            "Escalated to level 2: Omar Haddad",
            None,
        ),
        entry(
            "R4",
            "notify_log_entry",
            "2026-11-19T14:25:15Z",
            "PagerDuty",
            "Notified Omar Haddad by phone",
            Some("Omar Haddad"),
        ),
        entry("R5", "acknowledge_log_entry", ACKNOWLEDGED, "Omar Haddad", "Acknowledged by Omar Haddad", None),
        entry(
            "R6",
            "annotate_log_entry",
            "2026-11-19T14:39:00Z",
            "Omar Haddad",
            "Rolling back CHG-1024 by hand; the config bot keeps re-applying it",
            None,
        ),
        entry("R7", "resolve_log_entry", "2026-11-19T14:47:00Z", "Omar Haddad", "Resolved by Omar Haddad", None),
    ];
    plain(
        &out.join("events").join("pagerduty").join("log_entries.json"),
        &format!("{{\"log_entries\":[{}]}}\n", entries.join(",")),
    );

    let message = |at: &str, user: &str, name: &str, text: &str| {
        let secs = t(at).timestamp();
        format!(
            "{{\"type\":\"message\",\"user\":\"{user}\",\"user_profile\":{{\"real_name\":{}}},\"text\":{},\"ts\":\"{secs}.000100\"}}",
            json_str(name),
            json_str(text)
        )
    };
    let chat = [
        message("2026-11-19T14:28:10Z", "U02OMAR", "Omar Haddad", "on it. payments 5xx, checkout failing behind it"),
        message(DECLARED, "U02OMAR", "Omar Haddad", "declaring SEV-2, I'm IC"),
        message("2026-11-19T14:31:40Z", "U07LEE", "Lee Park", "db pool exhausted on payments since ~14:09"),
        message(
            "2026-11-19T14:34:20Z",
            "U07LEE",
            "Lee Park",
            "CHG-1024 shrank db.pool.max 200 -> 20 at 09:02 ET, that lines up",
        ),
        message(
            "2026-11-19T14:36:00Z",
            "U02OMAR",
            "Omar Haddad",
            "the config bot reverted it at 09:17 and put it back, it's looping",
        ),
        message(REVERT_ANNOUNCED, "U02OMAR", "Omar Haddad", "reverting CHG-1024 by hand and pausing the bot"),
        message("2026-11-19T14:43:30Z", "U07LEE", "Lee Park", "error rate back to baseline"),
    ];
    plain(
        &out.join("events").join("slack").join("inc-4211-payments").join("2026-11-19.json"),
        &format!("[{}]\n", chat.join(",\n")),
    );

    let updates = [
        (DECLARED, "declared", "Omar Haddad", "SEV-2: payments failing", ""),
        (
            FIRST_STATUS_UPDATE,
            "status_update",
            "status page",
            "Investigating",
            "Some card payments are failing. We are investigating.",
        ),
        (
            "2026-11-19T14:45:00Z",
            "status_update",
            "status page",
            "Monitoring",
            "A fix has been applied and payments are recovering.",
        ),
        (
            "2026-11-19T15:05:00Z",
            "status_update",
            "status page",
            "Resolved",
            "Payments have been working normally since 14:42 UTC.",
        ),
    ];
    let mut text = String::new();
    for (at, kind, actor, title, body) in updates {
        text.push_str(&format!(
            "{{\"ts\":\"{at}\",\"kind\":\"{kind}\",\"service\":\"payments\",\"actor\":{},\"title\":{},\"text\":{}}}\n",
            json_str(actor),
            json_str(title),
            json_str(body)
        ));
    }
    plain(&out.join("events").join("status").join("updates.jsonl"), &text);

    // The facilitator's notes, kept on a laptop in New York time (the source's timezone),
    // the date from the heading. Each is later than the tool's record of the same step,
    // as notes are.
    let notes = "\
# INC-4211 payments failing, 2026-11-19

Facilitator: Priya Raman. Times are Eastern.

- 09:30 EST joined the bridge as facilitator; Omar is incident commander
- 09:33 checkout errors are payments errors surfacing through the call path
- 09:35 Lee: CHG-1024 shrank the payments DB pool from 200 to 20, lines up with the onset
- 09:37 the config bot keeps re-applying CHG-1024 (flip-flop since 09:02)
- 09:40 Omar reverted the pool change by hand and paused the bot
  (bot paused until the post-mortem)
- 09:43 errors back to baseline, watching for 10 minutes
- 09:53 resolved; post-mortem owner: Omar
";
    plain(&out.join("events").join("notes").join("inc-4211.md"), notes);
}

fn changes(rng: &mut Rng, start: DateTime<Utc>) -> (Vec<Change>, String, String) {
    let routine: &[(&str, &str, &str, &[&str])] = &[
        ("edge", "flags", "edge.new_header_layout", &["false", "true"]),
        ("edge", "config-service", "edge.rate_limit.per_ip", &["100", "120", "150"]),
        ("checkout", "flags", "checkout.one_click.enabled", &["false", "true"]),
        ("checkout", "config-service", "checkout.timeout_ms", &["2000", "2500", "3000"]),
        ("payments", "config-service", "payments.retry.max_attempts", &["2", "3"]),
        ("payments", "flags", "payments.3ds_v2", &["false", "true"]),
        ("inventory", "config-service", "inventory.cache.ttl_s", &["30", "60", "120"]),
        ("cart", "flags", "cart.save_for_later", &["false", "true"]),
        ("search", "config-service", "search.cache.ttl_s", &["300", "600"]),
        ("search", "terraform", "search.replicas", &["4", "5", "6"]),
    ];
    let mut out = Vec::new();
    // 30 routine changes spread over working hours of both days.
    for i in 0..30 {
        let day = i % 2;
        let minute = 8 * 60 + rng.below(12 * 60) as i64;
        let ts = start + Duration::days(day) + Duration::minutes(minute) + Duration::seconds(rng.below(60) as i64);
        // Keep the incident hour free of routine changes except the planted decoy.
        if day == 1 && (13 * 60 + 30..15 * 60 + 30).contains(&minute) {
            continue;
        }
        let (svc, system, key, values) = *rng.pick(routine);
        let a = rng.below(values.len() as u64) as usize;
        let b = (a + 1) % values.len();
        out.push(Change {
            ts,
            id: String::new(),
            service: svc,
            system,
            key: key.into(),
            old: values[a].into(),
            new: values[b].into(),
            actor: ACTORS[rng.below(ACTORS.len() as u64) as usize],
            scope: "prod",
            description: format!("Routine tuning of {key}"),
            reverts: None,
        });
    }
    let incident = |ts: &str, svc, system, key: &str, old: &str, new: &str, actor, desc: &str| Change {
        ts: t(ts),
        id: String::new(),
        service: svc,
        system,
        key: key.into(),
        old: old.into(),
        new: new.into(),
        actor,
        scope: "prod/all-regions",
        description: desc.into(),
        reverts: None,
    };
    let pool = "payments.db.pool.max_connections";
    out.push(incident(
        "2026-11-19T14:02:00Z",
        "payments",
        "config-service",
        pool,
        "200",
        "20",
        "alice",
        "Reduce DB pool to match the new proxy's per-client limit",
    ));
    out.push(incident(
        "2026-11-19T14:06:10Z",
        "inventory",
        "config-service",
        "inventory.reserve.batch_size",
        "50",
        "100",
        "carol",
        "Larger reservation batches",
    ));
    for (revert, reapply) in [
        ("2026-11-19T14:17:00Z", "2026-11-19T14:19:30Z"),
        ("2026-11-19T14:24:00Z", "2026-11-19T14:26:30Z"),
        ("2026-11-19T14:31:00Z", "2026-11-19T14:33:30Z"),
    ] {
        let mut r = incident(
            revert,
            "payments",
            "config-service",
            pool,
            "20",
            "200",
            "auto-remediator",
            "Automated rollback: payments 5xx above threshold after config change",
        );
        r.reverts = Some("CULPRIT".into());
        out.push(r);
        out.push(incident(
            reapply,
            "payments",
            "config-service",
            pool,
            "200",
            "20",
            "config-sync",
            "Reconcile drift: desired state from config repo",
        ));
    }
    out.push(incident(
        "2026-11-19T14:38:00Z",
        "payments",
        "flags",
        "auto_remediation.payments.enabled",
        "true",
        "false",
        "bob",
        "Pause auto-remediation while investigating",
    ));
    let mut manual = incident(
        "2026-11-19T14:41:00Z",
        "payments",
        "config-service",
        pool,
        "20",
        "200",
        "bob",
        "Manual revert of the pool size change; pinned in config repo",
    );
    manual.reverts = Some("CULPRIT".into());
    out.push(manual);

    out.sort_by_key(|c| c.ts);
    for (i, c) in out.iter_mut().enumerate() {
        c.id = format!("CHG-{}", 1001 + i);
    }
    let culprit = out.iter().find(|c| c.ts == t("2026-11-19T14:02:00Z")).expect("culprit").id.clone();
    let decoy = out.iter().find(|c| c.ts == t("2026-11-19T14:06:10Z")).expect("decoy").id.clone();
    for c in &mut out {
        if c.reverts.as_deref() == Some("CULPRIT") {
            c.reverts = Some(culprit.clone());
        }
    }
    (out, culprit, decoy)
}

fn deploys(rng: &mut Rng, start: DateTime<Utc>) -> Vec<DeployEvent> {
    let mut out = Vec::new();
    let mut versions: Vec<(usize, u32)> = SERVICES.iter().map(|_| (2, 10)).collect();
    let mut plan: Vec<(DateTime<Utc>, usize, bool)> = Vec::new();
    for i in 0..20 {
        let day = (i % 2) as i64;
        let minute = 9 * 60 + rng.below(10 * 60) as i64;
        if day == 1 && (13 * 60..15 * 60 + 30).contains(&minute) {
            continue;
        }
        plan.push((
            start + Duration::days(day) + Duration::minutes(minute),
            rng.below(SERVICES.len() as u64) as usize,
            false,
        ));
    }
    // The day-one search deploy that fails and is rolled back; and a checkout deploy shortly
    // before the incident (a plausible but innocent suspect).
    plan.push((t("2026-11-18T16:15:00Z"), 5, true));
    plan.push((t("2026-11-19T13:35:00Z"), 1, false));
    plan.sort_by_key(|p| p.0);
    for (n, (ts, svc, fails)) in plan.into_iter().enumerate() {
        let s = &SERVICES[svc];
        let (major, minor) = versions[svc];
        let previous = format!("v{major}.{minor}.0");
        let version = format!("v{major}.{}.0", minor + 1);
        if !fails {
            versions[svc] = (major, minor + 1);
        }
        let id = format!("D-{}", 501 + n);
        let commit = format!("{:07x}", rng.next() & 0xFFF_FFFF);
        let actor = *rng.pick(&["ci-bot", "ci-bot", "alice", "dave"]);
        let description = format!("Release {version} of {}", s.name);
        let mut ev = |offset_s: i64, status, percent| {
            out.push(DeployEvent {
                ts: ts + Duration::seconds(offset_s),
                id: id.clone(),
                service: s.name,
                version: version.clone(),
                previous: previous.clone(),
                status,
                percent,
                actor,
                commit: commit.clone(),
                description: description.clone(),
            })
        };
        ev(0, "started", 0);
        ev(240, "progress", 25);
        if fails {
            ev(360, "failed", 25);
            ev(600, "rolled_back", 0);
            continue;
        }
        ev(480, "progress", 50);
        ev(720, "succeeded", 100);
    }
    out
}

fn gz(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let file = std::fs::File::create(path).expect("create");
    let mut enc = flate2::GzBuilder::new().mtime(0).write(file, flate2::Compression::best());
    enc.write_all(text.as_bytes()).expect("write");
    enc.finish().expect("finish gzip");
}

fn plain(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Changes are exported by the config service with naive New York wall-clock times
/// (the source sets `timezone = "America/New_York"`).
fn write_changes(out: &Path, changes: &[Change]) {
    let ny = chrono_tz::America::New_York;
    let mut text = String::new();
    for c in changes {
        let local = c.ts.with_timezone(&ny).format("%Y-%m-%d %H:%M:%S");
        let _ = write!(
            text,
            "{{\"ts\":\"{local}\",\"change_id\":\"{}\",\"service\":\"{}\",\"system\":\"{}\",\"key\":{},\"old_value\":{},\"new_value\":{},\"actor\":\"{}\",\"scope\":\"{}\",\"description\":{}",
            c.id,
            c.service,
            c.system,
            json_str(&c.key),
            json_str(&c.old),
            json_str(&c.new),
            c.actor,
            c.scope,
            json_str(&c.description)
        );
        if let Some(r) = &c.reverts {
            let _ = write!(text, ",\"reverts\":\"{r}\"");
        }
        text.push_str("}\n");
    }
    plain(&out.join("changes").join("changes.jsonl"), &text);
}

/// Deploy events come from a CD system in Berlin that writes local times with offsets.
fn write_deploys(out: &Path, deploys: &[DeployEvent]) {
    let berlin = chrono_tz::Europe::Berlin;
    let mut text = String::new();
    for d in deploys {
        let ts = d.ts.with_timezone(&berlin).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let _ = writeln!(
            text,
            "{{\"ts\":\"{ts}\",\"deploy_id\":\"{}\",\"service\":\"{}\",\"version\":\"{}\",\"previous_version\":\"{}\",\"environment\":\"production\",\"status\":\"{}\",\"percent\":{},\"actor\":\"{}\",\"commit\":\"{}\",\"description\":{}}}",
            d.id,
            d.service,
            d.version,
            d.previous,
            d.status,
            d.percent,
            d.actor,
            d.commit,
            json_str(&d.description)
        );
    }
    plain(&out.join("deploys").join("deploys.jsonl"), &text);
}

/// Time a service's last finished deploy completed at or before `now` (counters restart then).
fn restarted(deploys: &[DeployEvent], svc: &str, prev: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    deploys
        .iter()
        .any(|d| d.service == svc && matches!(d.status, "succeeded" | "rolled_back") && d.ts > prev && d.ts <= now)
}

/// Metrics: per service every 15 s, request counters by status code and a p99 latency gauge,
/// as CSV (epoch seconds). Counters restart from zero when a deploy finishes.
fn write_metrics(out: &Path, rng: &mut Rng, start: DateTime<Utc>, end: DateTime<Utc>, deploys: &[DeployEvent]) {
    let mut counters: Vec<(u64, u64)> = vec![(0, 0); SERVICES.len()];
    let mut day_text = String::from("ts,metric,service,code,value\n");
    let mut now = start;
    let mut prev = start - Duration::seconds(TICK);
    while now < end {
        for (i, s) in SERVICES.iter().enumerate() {
            if restarted(deploys, s.name, prev, now) {
                counters[i] = (0, 0);
            }
            let total = rng.poisson(s.rps * diurnal(now) * TICK as f64);
            let ratio = BASELINE_ERROR + incident_ratio(s.name, now);
            let bad = ((total as f64) * ratio + rng.f64()).floor() as u64;
            counters[i].0 += total - bad.min(total);
            counters[i].1 += bad.min(total);
            let slow = 1.0 + incident_ratio(s.name, now) * 30.0;
            let p99 = s.p99 * slow * (0.9 + 0.2 * rng.f64());
            let ts = now.timestamp();
            let _ = writeln!(day_text, "{ts},http_requests_total,{},200,{}", s.name, counters[i].0);
            let _ = writeln!(day_text, "{ts},http_requests_total,{},503,{}", s.name, counters[i].1);
            let _ = writeln!(day_text, "{ts},http_request_duration_seconds_p99,{},,{p99:.3}", s.name);
        }
        prev = now;
        now += Duration::seconds(TICK);
        if now.timestamp() % 86_400 == 0 {
            let day = (now - Duration::days(1)).format("%Y-%m-%d");
            gz(&out.join("metrics").join(format!("{day}.csv.gz")), &day_text);
            day_text = String::from("ts,metric,service,code,value\n");
        }
    }
}

fn hex(rng: &mut Rng, n: usize) -> String {
    let mut s = format!("{:016x}", rng.next());
    s.truncate(n);
    s
}

/// Logs: sampled access lines per service, error lines during the incident, routine noise,
/// and a "starting version" line per deploy. One JSON Lines object per service and day.
fn write_logs(out: &Path, rng: &mut Rng, start: DateTime<Utc>, end: DateTime<Utc>, deploys: &[DeployEvent]) -> u64 {
    let mut total = 0u64;
    let mut day = start;
    while day < end {
        for s in SERVICES {
            let mut lines: Vec<(DateTime<Utc>, String)> = Vec::new();
            let mut now = day;
            while now < day + Duration::days(1) {
                let extra = incident_ratio(s.name, now);
                let n = rng.poisson(s.log_rate * diurnal(now) * TICK as f64);
                for _ in 0..n {
                    let ts = now + Duration::milliseconds(rng.below(TICK as u64 * 1000) as i64);
                    let failed = rng.f64() < BASELINE_ERROR * 3.0 + extra;
                    let status = if failed { 503 } else { 200 };
                    let base = s.p99 * 1000.0 * 0.3;
                    let latency = if failed { base * (5.0 + 20.0 * rng.f64()) } else { base * (0.3 + rng.f64()) };
                    let ep = rng.pick(s.endpoints);
                    let pod = rng.below(s.pods as u64);
                    let level = if failed { "error" } else { "info" };
                    let trace = if failed || rng.below(5) == 0 {
                        format!(",\"trace_id\":\"{}\"", hex(rng, 16))
                    } else {
                        String::new()
                    };
                    lines.push((ts, format!(
                        "\"service\":\"{}\",\"host\":\"{}-{pod}\",\"level\":\"{level}\",\"msg\":\"{ep} {status}\",\"status\":{status},\"latency_ms\":{latency:.1}{trace}",
                        s.name, s.name
                    )));
                }
                // The incident's own voice: what each service says while failing.
                let voice: Option<(&str, &str, f64)> = match s.name {
                    "payments" => Some((
                        "error",
                        "db pool exhausted: max_connections=20 in_use=20 waiters=143, request rejected",
                        3.0,
                    )),
                    "checkout" => Some(("error", "payment authorization failed: upstream payments returned 503", 2.0)),
                    "edge" => Some(("warn", "upstream checkout returned 503 for POST /checkout", 1.0)),
                    _ => None,
                };
                if let (Some((level, msg, rate)), true) = (voice, extra > 0.02) {
                    for _ in 0..rng.poisson(rate * extra / 0.35 * TICK as f64) {
                        let ts = now + Duration::milliseconds(rng.below(TICK as u64 * 1000) as i64);
                        let pod = rng.below(s.pods as u64);
                        lines.push((ts, format!(
                            "\"service\":\"{}\",\"host\":\"{}-{pod}\",\"level\":\"{level}\",\"msg\":\"{msg}\",\"trace_id\":\"{}\"",
                            s.name, s.name, hex(rng, 16)
                        )));
                    }
                }
                // Routine noise: an occasional timeout warning and a periodic info line.
                if rng.f64() < 0.004 {
                    let pod = rng.below(s.pods as u64);
                    lines.push((now + Duration::seconds(rng.below(15) as i64), format!(
                        "\"service\":\"{}\",\"host\":\"{}-{pod}\",\"level\":\"warn\",\"msg\":\"slow downstream call took {}ms\"",
                        s.name, s.name, 800 + rng.below(2000)
                    )));
                }
                if now.timestamp() % 600 == 0 {
                    lines.push((now, format!(
                        "\"service\":\"{}\",\"host\":\"{}-0\",\"level\":\"info\",\"msg\":\"cache refresh completed\"",
                        s.name, s.name
                    )));
                }
                now += Duration::seconds(TICK);
            }
            for d in deploys.iter().filter(|d| {
                d.service == s.name && d.status == "succeeded" && d.ts >= day && d.ts < day + Duration::days(1)
            }) {
                for pod in 0..s.pods {
                    lines.push((d.ts - Duration::seconds(30 * (s.pods - pod) as i64), format!(
                        "\"service\":\"{}\",\"host\":\"{}-{pod}\",\"level\":\"info\",\"msg\":\"starting {} version {} (commit {})\"",
                        s.name, s.name, s.name, d.version, d.commit
                    )));
                }
            }
            lines.sort_by_key(|l| l.0);
            let mut text = String::with_capacity(lines.len() * 200);
            for (ts, rest) in &lines {
                let _ =
                    writeln!(text, "{{\"ts\":\"{}\",{rest}}}", ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            }
            total += lines.len() as u64;
            // Three malformed lines, as a crashed writer, an unset clock and a bad exporter
            // leave them. (A `status` of "OK" is no longer one: it is kept as an attribute.)
            if s.name == "payments" && day == t("2026-11-19T00:00:00Z") {
                text.push_str("{\"ts\":\"2026-11-19T23:59:59.100Z\",\"service\":\"payments\",\"level\":\"info\",\"msg\":\"shutting do\n");
                text.push_str("{\"ts\":\"19/11/2026 late\",\"service\":\"payments\",\"level\":\"info\",\"msg\":\"clock not set\"}\n");
                text.push_str("{\"service\":\"payments\",\"status\":200,\"msg\":\"health\"}\n");
                total += 3;
            }
            let name: PathBuf =
                out.join("logs").join(day.format("%Y-%m-%d").to_string()).join(format!("{}.jsonl.gz", s.name));
            gz(&name, &text);
        }
        day += Duration::days(1);
    }
    total
}
