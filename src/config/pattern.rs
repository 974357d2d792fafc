//! Text log lines → fields, through a regular expression with named groups. The
//! config owns the patterns (a source names one, or gives its own, and a bad one is a
//! config error naming the field); the ingest's line formats apply them.
//!
//! Named patterns cover the formats servers write by default; a user pattern is any
//! regex with named groups. Groups named like a column (`ts`, `level`, `service`, `host`,
//! `msg`, `status`, `latency_ms`, `trace_id`, or an alias) fill it; every other group is
//! kept as an attribute. A pattern may post-process its fields (syslog priority → level,
//! access-log status → level, request time → `latency_ms`).
//!
//! Patterns marked `continuation` treat a line that does not match as the continuation
//! of the record before it (a Java stack trace): it is appended to that record's `msg`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use regex::{CaptureLocations, Regex};

/// Fields of one record, in the order the pattern names them.
pub type Fields = Vec<(String, String)>;

/// Fields of one line: names borrowed from the pattern (`'p`) and values from the line
/// (`'l`), except where post-processing rewrote them. Nothing of a line is copied until
/// its record outlives it (a `continuation` record waiting for its stack trace).
pub type LineFields<'p, 'l> = Vec<(Cow<'p, str>, Cow<'l, str>)>;

/// A built-in pattern (`format = "pattern:<name>"`).
pub struct NamedPattern {
    pub name: &'static str,
    pub description: &'static str,
    pub regex: &'static str,
    /// strftime format of the `ts` group; `None`: detect the shape.
    pub ts_format: Option<&'static str>,
    pub example: &'static str,
    pub continuation: bool,
    pub post: fn(&mut LineFields<'_, '_>),
}

fn no_post(_: &mut LineFields<'_, '_>) {}

/// The built-in patterns, listed by `retrace formats`.
/// The `combined` access-log line nginx and Apache both write by default; what follows it
/// (`tail`: nginx's `$request_time` in seconds, Apache's `%D` in microseconds) is read by
/// each pattern's post-processing.
const COMBINED_ACCESS: &str = r#"^(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<msg>[^"\\]*(?:\\.[^"\\]*)*)" (?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)"(?P<tail>.*)$"#;

pub static PATTERNS: &[NamedPattern] = &[
    NamedPattern {
        name: "syslog",
        description: "syslog RFC 3164 (BSD): optional <PRI>, year-less time, host, tag[pid]",
        // `msg` takes all after the colon (its leading space is trimmed in `syslog_post`):
        // an optional space before `.*` would make the regex ambiguous and 3× slower.
        regex: r"^(?:<(?P<pri>\d{1,3})>)?(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?) (?P<host>\S+) (?P<service>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?:(?P<msg>.*)$",
        ts_format: Some("%b %e %H:%M:%S%.f"),
        example: "<38>Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
        continuation: false,
        post: syslog_post,
    },
    NamedPattern {
        name: "syslog5424",
        description: "syslog RFC 5424: <PRI>1 timestamp host app procid msgid [structured-data] msg",
        regex: r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<service>\S+) (?P<pid>\S+) (?P<msgid>\S+) (?P<structured_data>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?$",
        ts_format: None,
        example: "<165>1 2026-11-19T14:02:00.003Z db-7 payments 4211 POOL [meta pool=\"main\"] pool size changed",
        continuation: false,
        post: syslog5424_post,
    },
    NamedPattern {
        name: "rsyslog",
        description: "rsyslog's RSYSLOG_FileFormat, Debian/Ubuntu's default: RFC 3339 time, host, tag[pid]",
        // The tag is optional: a line whose tag has a space (`logger -t "my app"`) or that
        // is no syslog at all (an RFC 5424 message sent to the local socket unparsed) is
        // kept whole as `msg` rather than split at a guess.
        regex: r"^(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})) (?P<host>\S+) (?:(?P<service>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?:)?(?P<msg>.*)$",
        ts_format: None,
        example: "2025-11-30T12:00:01.123456+00:00 web-1 nginx[812]: worker process 813 exited on signal 9",
        continuation: false,
        post: syslog_post,
    },
    NamedPattern {
        name: "nginx_error",
        description: "nginx error log `yyyy/mm/dd hh:mm:ss [level] pid#tid: *conn msg, client: …, request: \"…\"` (server local time)",
        regex: r"^(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+): (?:\*(?P<connection>\d+) )?(?P<msg>.*)$",
        ts_format: Some("%Y/%m/%d %H:%M:%S"),
        example: r#"2026/11/19 14:02:00 [error] 5382#5382: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.7, server: web-1, request: "GET /pay HTTP/1.1", upstream: "http://10.0.1.4:8080/pay", host: "shop.example""#,
        continuation: false,
        post: nginx_error_post,
    },
    NamedPattern {
        name: "nginx",
        description: "nginx `combined` access log, optionally followed by $request_time (seconds)",
        regex: COMBINED_ACCESS,
        ts_format: Some("%d/%b/%Y:%H:%M:%S %z"),
        example: r#"10.0.0.7 - - [19/Nov/2026:14:02:00 +0000] "GET /pay HTTP/1.1" 503 31 "-" "curl/8.5" 0.412"#,
        continuation: false,
        post: nginx_post,
    },
    NamedPattern {
        name: "apache_access",
        description: "Apache `combined` access log, optionally followed by %D (microseconds)",
        regex: COMBINED_ACCESS,
        ts_format: Some("%d/%b/%Y:%H:%M:%S %z"),
        example: r#"10.0.0.7 - frank [19/Nov/2026:15:02:00 +0100] "GET /pay HTTP/1.1" 200 2326 "-" "Mozilla/5.0" 1520"#,
        continuation: false,
        post: apache_access_post,
    },
    NamedPattern {
        name: "apache_error",
        description: "Apache error log, 2.2 and 2.4 styles ([time] [module:level] [pid N:tid M] [client A] msg)",
        regex: r"^\[(?P<ts>[^\]]+)\] \[(?:(?P<module>[^:\]]+):)?(?P<level>[a-z]+[0-9]?)\](?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?(?: \[client (?P<client>[^\]]+)\])? ?(?P<msg>.*)$",
        ts_format: None,
        example: "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
        continuation: false,
        post: no_post,
    },
    NamedPattern {
        name: "log4j",
        description: "log4j/log4j2 `%d{ISO8601} %-5p [%t] %c - %m` (stack-trace lines join the record)",
        regex: r"^(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?) +(?P<level>[A-Z]+) +\[(?P<thread>[^\]]*)\] +(?P<logger>\S+) (?P<msg>.*)$",
        ts_format: None,
        example: "2026-11-19 14:09:12,117 ERROR [pool-3] com.acme.pay.Pool - timeout acquiring connection",
        continuation: true,
        post: log4j_post,
    },
    NamedPattern {
        name: "logback",
        description: "logback `%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg`",
        regex: r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[.,]\d{3}) \[(?P<thread>[^\]]*)\] (?P<level>[A-Z]+) +(?P<logger>\S+) - (?P<msg>.*)$",
        ts_format: None,
        example: "2026-11-19 14:09:12.117 [http-nio-8080-exec-4] WARN  c.a.checkout.Client - retrying payments call",
        continuation: true,
        post: no_post,
    },
    NamedPattern {
        name: "zookeeper",
        description: "ZooKeeper's log4j layout `%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m`",
        regex: r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) - (?P<level>[A-Z]+) +\[(?P<context>.*?)\] - (?P<msg>.*)$",
        ts_format: None,
        example: "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200",
        continuation: true,
        post: no_post,
    },
    NamedPattern {
        name: "spark",
        description: "Spark/Hadoop log4j `%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m`",
        regex: r"^(?P<ts>\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) (?P<level>[A-Z]+) (?P<logger>[^:\s]+): (?P<msg>.*)$",
        ts_format: Some("%y/%m/%d %H:%M:%S"),
        example: "17/06/09 20:10:40 INFO spark.SecurityManager: Changing view acls to: yarn,curi",
        continuation: true,
        post: no_post,
    },
    NamedPattern {
        name: "hdfs",
        description: "Hadoop HDFS `yyMMdd HHmmss pid LEVEL component: msg`",
        regex: r"^(?P<ts>\d{6} \d{6}) (?P<pid>\d+) (?P<level>[A-Z]+) (?P<logger>[^:\s]+): (?P<msg>.*)$",
        ts_format: Some("%y%m%d %H%M%S"),
        example: "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
        continuation: true,
        post: no_post,
    },
    NamedPattern {
        name: "bgl",
        description: "IBM BlueGene/L RAS log (alert flag, epoch, date, node, time, node, type, component, level, msg)",
        regex: r"^(?P<alert>\S+) (?P<epoch>\d+) (?P<date>\d{4}\.\d{2}\.\d{2}) (?P<node>\S+) (?P<ts>\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d{6}) (?P<host>\S+) (?P<type>\S+) (?P<component>\S+) (?P<level>\S+) (?P<msg>.*)$",
        ts_format: Some("%Y-%m-%d-%H.%M.%S%.f"),
        example: "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected",
        continuation: false,
        post: no_post,
    },
    NamedPattern {
        name: "healthapp",
        description: "Android HealthApp `yyyyMMdd-H:m:s:S|component|pid|msg` (unpadded fields)",
        regex: r"^(?P<ts>\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3})\|(?P<component>[^|]*)\|(?P<pid>\d+)\|(?P<msg>.*)$",
        ts_format: Some("%Y%m%d-%H:%M:%S:%3f"),
        example: "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
        continuation: false,
        post: no_post,
    },
    NamedPattern {
        name: "klog",
        description: "Kubernetes klog `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg` (year-less)",
        regex: r"^(?P<level>[IWEF])(?P<ts>\d{4} \d{2}:\d{2}:\d{2}\.\d{6}) +(?P<thread>\d+) (?P<file>[^:\s]+):(?P<file_line>\d+)\] (?P<msg>.*)$",
        ts_format: Some("%m%d %H:%M:%S%.f"),
        example: "E1119 14:09:03.512047       1 controller.go:114] error syncing 'payments/pool': timeout",
        continuation: true,
        post: no_post,
    },
];

pub fn named(name: &str) -> Option<&'static NamedPattern> {
    PATTERNS.iter().find(|p| p.name == name)
}

static COMPILED: LazyLock<Vec<Regex>> =
    LazyLock::new(|| PATTERNS.iter().map(|p| Regex::new(p.regex).expect("built-in pattern compiles")).collect());

/// A compiled pattern, built-in or the user's.
#[derive(Debug, Clone)]
pub struct LinePattern {
    pub name: String,
    pub regex: Regex,
    pub ts_format: Option<String>,
    pub continuation: bool,
    post: fn(&mut LineFields<'_, '_>),
}

impl LinePattern {
    pub fn builtin(p: &'static NamedPattern) -> LinePattern {
        let i = PATTERNS.iter().position(|q| q.name == p.name).expect("pattern from the table");
        LinePattern {
            name: p.name.to_string(),
            regex: COMPILED[i].clone(),
            ts_format: p.ts_format.map(str::to_string),
            continuation: p.continuation,
            post: p.post,
        }
    }

    /// A user pattern: the regex must compile and name a `ts` group.
    pub fn user(regex: &str, ts_format: Option<String>, continuation: bool) -> Result<LinePattern, String> {
        let compiled = Regex::new(regex).map_err(|e| format!("regex does not compile: {e}"))?;
        if !compiled.capture_names().flatten().any(|n| n == "ts") {
            return Err("regex has no named group `ts` (write `(?P<ts>...)`)".into());
        }
        Ok(LinePattern { name: "regex".into(), regex: compiled, ts_format, continuation, post: no_post })
    }

    /// The named groups of a matching line, empty ones left out; `None` when it does not match.
    pub fn fields<'p, 'l>(&'p self, line: &'l str) -> Option<LineFields<'p, 'l>> {
        let mut fields: LineFields<'p, 'l> = Vec::new();
        let matched = with_locations(&self.regex, |locs| {
            self.regex.captures_read(locs, line)?;
            fields.reserve(locs.len() + 2);
            for (i, name) in self.regex.capture_names().enumerate() {
                if let (Some(name), Some((start, end))) = (name, locs.get(i))
                    && start < end
                {
                    fields.push((Cow::Borrowed(name), Cow::Borrowed(&line[start..end])));
                }
            }
            Some(())
        });
        matched?;
        (self.post)(&mut fields);
        Some(fields)
    }
}

thread_local! {
    /// The capture slots of the regex this thread used last, and that regex (a clone
    /// shares its compiled program; holding it keeps the pattern text, whose address is
    /// the key, from being freed and reused). Allocating the slots anew for every line
    /// was ~3 % of a syslog ingest.
    static LOCATIONS: RefCell<Option<(Regex, CaptureLocations)>> = const { RefCell::new(None) };
}

fn with_locations<T>(regex: &Regex, f: impl FnOnce(&mut CaptureLocations) -> T) -> T {
    LOCATIONS.with(|cell| {
        let mut cached = cell.borrow_mut();
        let hit = cached.as_ref().is_some_and(|(r, _)| std::ptr::eq(r.as_str(), regex.as_str()));
        if !hit {
            *cached = Some((regex.clone(), regex.capture_locations()));
        }
        let (_, locs) = cached.as_mut().expect("filled above");
        f(locs)
    })
}

fn take<'l>(fields: &mut LineFields<'_, 'l>, name: &str) -> Option<Cow<'l, str>> {
    let i = fields.iter().position(|(k, _)| k == name)?;
    Some(fields.remove(i).1)
}

fn set<'l>(fields: &mut LineFields<'_, 'l>, name: &'static str, value: Cow<'l, str>) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(f) => f.1 = value,
        None => fields.push((Cow::Borrowed(name), value)),
    }
}

fn get<'f>(fields: &'f LineFields<'_, '_>, name: &str) -> Option<&'f str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
}

/// Syslog severities (RFC 5424 §6.2.1), indexed by `PRI % 8`.
const SEVERITIES: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/// Facility numbers as text (`PRI / 8` of a `u8`), so a row does not allocate one.
const FACILITIES: [&str; 32] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
    "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
];

/// `<PRI>` → `level` from the severity and a `facility` attribute.
fn syslog_post(fields: &mut LineFields<'_, '_>) {
    if let Some((_, msg)) = fields.iter_mut().find(|(k, _)| k == "msg")
        && msg.starts_with(' ')
    {
        strip_start(msg, 1);
    }
    fields.retain(|(k, v)| k != "msg" || !v.is_empty());
    if let Some(pri) = take(fields, "pri").and_then(|p| p.parse::<u8>().ok()) {
        set(fields, "level", Cow::Borrowed(SEVERITIES[usize::from(pri % 8)]));
        set(fields, "facility", Cow::Borrowed(FACILITIES[usize::from(pri / 8)]));
    }
}

/// Drops a value's first `n` bytes (a char boundary), borrowing still if it borrowed.
fn strip_start(value: &mut Cow<'_, str>, n: usize) {
    match value {
        Cow::Borrowed(s) => *s = &s[n..],
        Cow::Owned(s) => {
            s.drain(..n);
        }
    }
}

/// RFC 5424 writes `-` for an absent value, and may start the message with a BOM.
fn syslog5424_post(fields: &mut LineFields<'_, '_>) {
    fields.retain(|(_, v)| v != "-");
    if let Some((_, msg)) = fields.iter_mut().find(|(k, _)| k == "msg")
        && msg.starts_with('\u{FEFF}')
    {
        strip_start(msg, '\u{FEFF}'.len_utf8());
    }
    syslog_post(fields);
}

/// An access log's level: 5xx → error, 4xx → warn, else info.
fn level_from_status(fields: &mut LineFields<'_, '_>) {
    let level = match get(fields, "status").and_then(|v| v.parse::<u16>().ok()) {
        Some(500..) => "error",
        Some(400..=499) => "warn",
        _ => "info",
    };
    set(fields, "level", Cow::Borrowed(level));
    if fields.iter().any(|(k, v)| k == "bytes" && v == "-") {
        take(fields, "bytes");
    }
}

/// The text after the user agent: an optional number (the request time, turned into
/// milliseconds by `to_ms`) and whatever else a custom log format appends (kept as `extra`).
fn access_tail(fields: &mut LineFields<'_, '_>, to_ms: fn(f64) -> f64) {
    level_from_status(fields);
    let Some(tail) = take(fields, "tail") else { return };
    let trimmed = tail.trim();
    let (first, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
    match first.parse::<f64>() {
        Ok(t) if !first.is_empty() => {
            let extra = rest.trim();
            let extra = (!extra.is_empty()).then(|| sub(&tail, extra).unwrap_or_else(|| Cow::Owned(extra.to_string())));
            set(fields, "latency_ms", Cow::Owned(format!("{}", to_ms(t))));
            if let Some(extra) = extra {
                set(fields, "extra", extra);
            }
        }
        _ if !trimmed.is_empty() => {
            let extra = sub(&tail, trimmed).unwrap_or_else(|| Cow::Owned(trimmed.to_string()));
            set(fields, "extra", extra);
        }
        _ => {}
    }
}

/// `part` (a slice of `value`) with `value`'s lifetime when `value` is borrowed from the
/// line, so the tail's parts are not copied.
fn sub<'a>(value: &Cow<'a, str>, part: &str) -> Option<Cow<'a, str>> {
    let Cow::Borrowed(whole) = value else { return None };
    let at = part.as_ptr() as usize - whole.as_ptr() as usize;
    Some(Cow::Borrowed(&whole[at..at + part.len()]))
}

/// `$request_time` is in seconds.
fn nginx_post(fields: &mut LineFields<'_, '_>) {
    access_tail(fields, |seconds| seconds * 1000.0);
}

/// The context nginx appends to an error (`, client: 10.0.0.7, request: "GET / HTTP/1.1"`)
/// becomes attributes, so `msg` is the error itself. `host` is the request's Host header,
/// not the machine: it is kept as `request_host`.
fn nginx_error_post(fields: &mut LineFields<'_, '_>) {
    const CONTEXT: [&str; 7] = ["client", "server", "request", "subrequest", "upstream", "host", "referrer"];
    let Some(i) = fields.iter().position(|(k, _)| k == "msg") else { return };
    let mut msg = fields[i].1.to_string();
    let mut context = Vec::new();
    loop {
        // The last `, key: value` (a quoted value may hold commas).
        let found = CONTEXT.iter().filter_map(|key| Some((msg.rfind(&format!(", {key}: "))?, key))).max();
        let found = found.and_then(|(at, key)| {
            let value = &msg[at + key.len() + 4..];
            let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
            let plain = !value.contains(", ") && !value.contains('"');
            (quoted || plain).then(|| (at, *key, value.trim_matches('"').to_string()))
        });
        let Some((at, key, value)) = found.filter(|(at, ..)| *at > 0) else { break };
        context.push((Cow::Borrowed(if key == "host" { "request_host" } else { key }), Cow::Owned(value)));
        msg.truncate(at);
    }
    fields[i].1 = Cow::Owned(msg);
    context.reverse();
    fields.extend(context);
}

/// `%D` is in microseconds.
fn apache_access_post(fields: &mut LineFields<'_, '_>) {
    access_tail(fields, |micros| micros / 1000.0);
}

/// `%c - %m`: the ` - ` after the logger belongs to the layout, not the message.
fn log4j_post(fields: &mut LineFields<'_, '_>) {
    if let Some((_, msg)) = fields.iter_mut().find(|(k, _)| k == "msg") {
        let trimmed = msg.trim_start();
        let trimmed = match trimmed.strip_prefix('-') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => rest.trim_start(),
            _ => trimmed,
        };
        let cut = msg.len() - trimmed.len();
        if cut > 0 {
            strip_start(msg, cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in pattern matches its own example (the one `retrace formats` prints).
    #[test]
    fn every_example_matches() {
        for p in PATTERNS {
            let pattern = LinePattern::builtin(p);
            let fields = pattern.fields(p.example);
            let fields = fields.unwrap_or_else(|| panic!("pattern {} does not match its example", p.name));
            assert!(get(&fields, "ts").is_some(), "{}: no ts", p.name);
            assert!(get(&fields, "msg").is_some(), "{}: no msg", p.name);
        }
    }

    #[test]
    fn syslog_priority_becomes_level_and_facility() {
        let syslog = LinePattern::builtin(named("syslog").unwrap());
        let f = syslog.fields(named("syslog").unwrap().example).unwrap();
        assert_eq!(get(&f, "level"), Some("info"));
        assert_eq!(get(&f, "facility"), Some("4"));
        assert_eq!(get(&f, "host"), Some("LabSZ"));
        assert_eq!(get(&f, "service"), Some("sshd"));
        assert_eq!(get(&f, "pid"), Some("24200"));
        assert_eq!(get(&f, "pri"), None);

        let p = LinePattern::builtin(named("syslog5424").unwrap());
        let f = p.fields(named("syslog5424").unwrap().example).unwrap();
        assert_eq!(get(&f, "level"), Some("notice"));
        assert_eq!(get(&f, "structured_data"), Some("[meta pool=\"main\"]"));
        let nil = p.fields("<14>1 2026-11-19T14:02:00Z host app - - - hello").unwrap();
        assert_eq!((get(&nil, "pid"), get(&nil, "msg")), (None, Some("hello")));
    }

    #[test]
    fn access_logs_give_status_level_and_latency() {
        let nginx = LinePattern::builtin(named("nginx").unwrap());
        let f = nginx.fields(named("nginx").unwrap().example).unwrap();
        assert_eq!(
            (get(&f, "status"), get(&f, "level"), get(&f, "latency_ms"), get(&f, "msg")),
            (Some("503"), Some("error"), Some("412"), Some("GET /pay HTTP/1.1"))
        );
        let a = named("apache_access").unwrap();
        let apache = LinePattern::builtin(a);
        let f = apache.fields(a.example).unwrap();
        assert_eq!(
            (get(&f, "level"), get(&f, "latency_ms"), get(&f, "user")),
            (Some("info"), Some("1.52"), Some("frank"))
        );
    }

    #[test]
    fn access_log_tails_and_log4j_separators() {
        let p = LinePattern::builtin(named("nginx").unwrap());
        let base = r#"10.0.0.7 - - [19/Nov/2026:14:02:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl""#;
        let line = format!("{base} 0.050 upstream=10.0.0.3:8080");
        let f = p.fields(&line).unwrap();
        assert_eq!((get(&f, "latency_ms"), get(&f, "extra")), (Some("50"), Some("upstream=10.0.0.3:8080")));
        let f = p.fields(base).unwrap();
        assert_eq!((get(&f, "latency_ms"), get(&f, "extra"), get(&f, "tail")), (None, None, None));
        let line = format!("{base} \"custom\"");
        let f = p.fields(&line).unwrap();
        assert_eq!((get(&f, "latency_ms"), get(&f, "extra")), (None, Some("\"custom\"")));

        let l = LinePattern::builtin(named("log4j").unwrap());
        let f = l.fields("2026-11-19 14:09:12,117 INFO  [main] com.acme.App   -   started").unwrap();
        assert_eq!((get(&f, "logger"), get(&f, "msg")), (Some("com.acme.App"), Some("started")));
        let f = l.fields("2026-11-19 14:09:12,117 INFO [main] com.acme.App no separator - here").unwrap();
        assert_eq!(get(&f, "msg"), Some("no separator - here"));
        let s = LinePattern::builtin(named("syslog").unwrap());
        assert_eq!(get(&s.fields("Dec 10 06:55:46 h app:tight").unwrap(), "msg"), Some("tight"));
    }

    #[test]
    fn nginx_error_context_becomes_attributes() {
        let nginx_error = LinePattern::builtin(named("nginx_error").unwrap());
        let f = nginx_error.fields(named("nginx_error").unwrap().example).unwrap();
        assert_eq!(get(&f, "msg"), Some("connect() failed (111: Connection refused) while connecting to upstream"));
        assert_eq!(get(&f, "level"), Some("error"));
        assert_eq!(get(&f, "connection"), Some("5"));
        assert_eq!(get(&f, "client"), Some("10.0.0.7"));
        assert_eq!(get(&f, "request"), Some("GET /pay HTTP/1.1"));
        assert_eq!(get(&f, "upstream"), Some("http://10.0.1.4:8080/pay"));
        assert_eq!(get(&f, "request_host"), Some("shop.example"));
        assert_eq!(get(&f, "host"), None, "the Host header is not the machine");
        // A message with a comma of its own keeps it; a line with no context is all msg.
        let p = LinePattern::builtin(named("nginx_error").unwrap());
        let f = p.fields("2026/11/19 14:02:00 [warn] 1#1: a, b: c, client: 1.2.3.4").unwrap();
        assert_eq!((get(&f, "msg"), get(&f, "client")), (Some("a, b: c"), Some("1.2.3.4")));
        let f = p.fields("2026/11/19 14:02:00 [notice] 1#1: signal process started").unwrap();
        assert_eq!(get(&f, "msg"), Some("signal process started"));
    }

    #[test]
    fn rsyslog_tags_are_split_only_when_they_are_tags() {
        let p = LinePattern::builtin(named("rsyslog").unwrap());
        let f = p.fields("2026-12-01T10:14:43.192050+00:00 vm CRON[9229]: (root) CMD (x)").unwrap();
        assert_eq!(
            (get(&f, "service"), get(&f, "pid"), get(&f, "msg")),
            (Some("CRON"), Some("9229"), Some("(root) CMD (x)"))
        );
        let f = p.fields("2026-12-01T10:14:45.536261+00:00 vm my app[9278]: tag with a space").unwrap();
        assert_eq!((get(&f, "service"), get(&f, "msg")), (None, Some("my app[9278]: tag with a space")));
    }

    #[test]
    fn apache_error_24_style() {
        let p = LinePattern::builtin(named("apache_error").unwrap());
        let f = p
            .fields("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] File does not exist")
            .unwrap();
        assert_eq!(
            (get(&f, "module"), get(&f, "level"), get(&f, "pid"), get(&f, "client")),
            (Some("core"), Some("error"), Some("35708"), Some("72.15.99.187"))
        );
    }

    #[test]
    fn user_patterns_need_a_ts_group() {
        let e = LinePattern::user(r"^(?P<time>\S+) (?P<msg>.*)$", None, false).unwrap_err();
        assert!(e.contains("`ts`"), "{e}");
        let e = LinePattern::user(r"^(?P<ts>\S+", None, false).unwrap_err();
        assert!(e.contains("does not compile"), "{e}");
        let p = LinePattern::user(r"^(?P<ts>\S+) \[(?P<level>\w+)\] (?P<order>\d+) (?P<msg>.*)$", None, false).unwrap();
        let f = p.fields("2026-11-19T14:02:00Z [WARN] 42 slow").unwrap();
        assert_eq!(get(&f, "order"), Some("42"));
    }
}
