//! The demo report and digest in a real browser: headless Chromium renders the committed
//! HTML (which `demo` checks is what the code produces now), the DOM has the charts and
//! tables, the network log holds no request but the file itself, and a screenshot is saved
//! for a person to look at. Ignored by default (needs Chromium); `.ci/run` installs
//! Debian's `chromium` and runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RETRACE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Chromium as the machine notes say to start it in a closed network: no background
/// traffic, no first-run, a fresh profile.
fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Serves files from memory on 127.0.0.1 (a thread per connection), recording every path
/// asked for. Pages are loaded over HTTP, not file://, so the browser's network log shows
/// the page's own requests with the page as their initiator.
struct Server {
    origin: String,
    requested: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn serve(pages: Vec<(String, Vec<u8>)>) -> Server {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let requested = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (log, pages) = (requested.clone(), std::sync::Arc::new(pages));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (log, pages) = (log.clone(), pages.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                // Chromium opens spare connections it may never use: no request, nothing to record.
                let Some(path) = line.split_whitespace().nth(1).map(str::to_string) else { return };
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                        break;
                    }
                }
                log.lock().unwrap().push(path.clone());
                let mut out = &stream;
                match pages.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => {
                        let _ = write!(
                            out,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = out.write_all(body);
                    }
                    None => {
                        let _ = write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
            });
        }
    });
    Server { origin, requested }
}

/// Requests the page started (their initiator is the page's origin) to anywhere else,
/// from a Chromium network log. The browser's own traffic (update checks and the like)
/// has no page initiator and is not the page's doing.
fn external_requests(net_log: &Path, origin: &str) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(net_log).unwrap_or_default();
    let log: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("a readable net log");
    let mut external = Vec::new();
    let mut own = 0;
    for e in log["events"].as_array().into_iter().flatten() {
        let params = &e["params"];
        let (Some(url), initiator) = (params["url"].as_str(), params["initiator"].as_str()) else { continue };
        if url.starts_with(origin) {
            own += 1;
        } else if initiator.is_some_and(|i| i.starts_with(origin)) {
            external.push(url.to_string());
        }
    }
    external.sort();
    external.dedup();
    (external, own)
}

#[test]
#[ignore = "needs Chromium; .ci/run installs it and runs this"]
fn demo_report_renders_in_chromium_with_no_external_requests() {
    let Some(chromium) = chromium() else {
        assert!(std::env::var("CI").is_err(), "CI must have Chromium (.ci/run installs Debian's chromium)");
        eprintln!("skipped: no Chromium (set RETRACE_CHROMIUM)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let mut pages: Vec<(String, Vec<u8>)> = ["report", "digest"]
        .iter()
        .map(|p| (format!("/{p}.html"), std::fs::read(root.join(format!("reports/demo/{p}.html"))).unwrap()))
        .collect();
    // A negative control: a page that does fetch from elsewhere, to show the check sees it.
    pages.push((
        "/control.html".into(),
        b"<!DOCTYPE html><html><body><img src=\"http://192.0.2.1/pixel.png\"></body></html>".to_vec(),
    ));
    let server = serve(pages);

    let load = |page: &str| {
        let url = format!("{}/{page}.html", server.origin);
        let profile = tempfile::tempdir().unwrap();
        let net_log = profile.path().join("net-log.json");
        let out = headless(&chromium, profile.path())
            .arg(format!("--log-net-log={}", net_log.display()))
            .args(["--dump-dom", &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (external, own) = external_requests(&net_log, &server.origin);
        (String::from_utf8_lossy(&out.stdout).into_owned(), external, own, url, profile)
    };

    let (_, external, _, _, _) = load("control");
    assert_eq!(external, ["http://192.0.2.1/pixel.png"], "the negative control's request must be seen");

    for page in ["report", "digest"] {
        let (dom, external, own, url, profile) = load(page);
        // The page as the browser built it.
        assert!(dom.contains("<table"), "{page}: no table in the DOM");
        if page == "report" {
            assert_eq!(dom.matches("<figure class=\"chart\">").count(), 5, "{page}: charts");
            assert!(dom.matches("<svg").count() >= 5, "{page}: inline SVG");
            assert!(dom.contains("<polyline"), "{page}: chart lines drawn");
            assert!(dom.contains("LIKELY change: CHG-1024"), "{page}: verdict header");
            assert!(dom.matches("class=\"badge k-change\"").count() >= 5, "{page}: kind badges");
        } else {
            assert!(dom.contains("2026-W47") && dom.contains("CHG-1024"), "{page}");
        }
        // The page itself was loaded over the network (so the log is live), and nothing else.
        assert!(own >= 1, "{page}: the net log does not show the page load");
        assert!(external.is_empty(), "{page}: external requests: {external:?}");

        // A screenshot for people: the test prints where it is.
        let png = shots.join(format!("{page}.png"));
        let shot = headless(&chromium, profile.path())
            .args(["--window-size=1280,2400", &format!("--screenshot={}", png.display()), &url])
            .output()
            .unwrap();
        assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(bytes.len() > 50_000, "{page}: a suspiciously small screenshot ({} bytes)", bytes.len());
        eprintln!("screenshot: {}", png.display());
    }
    // Only our pages (and the favicon every browser asks for) were fetched from the server.
    let asked = server.requested.lock().unwrap().clone();
    assert!(
        asked.iter().all(|p| ["/report.html", "/digest.html", "/control.html", "/favicon.ico"].contains(&p.as_str())),
        "{asked:?}"
    );
}
