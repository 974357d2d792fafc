#!/usr/bin/env python3
"""Ingest throughput per input format on ~100 MB of uncompressed input each.

Generates deterministic inputs (same records, written in each format) under a scratch
folder, then times `retrace ingest` of each into its own fresh warehouse and prints MB/s
and rows/s. Uses the release binary; build it first with `cargo build --release`.

    python3 tests/perf/ingest_formats.py [--mb 100] [--keep DIR]

The figures in docs/performance.md come from this script.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "release", "retrace")
SERVICES = ["checkout", "payments", "inventory", "search", "cart", "edge"]
LEVELS = ["info"] * 16 + ["warn"] * 3 + ["error"]
MESSAGES = [
    "request completed",
    "cache refresh completed",
    "timeout acquiring connection from pool",
    "retrying upstream call",
    "order placed",
    "slow query detected",
]
BASE = 1795046400  # 2026-11-19T00:00:00Z


def records(n):
    rng = random.Random(42)
    for i in range(n):
        t = BASE + i * 0.01
        svc = SERVICES[i % len(SERVICES)]
        yield {
            "t": t,
            "service": svc,
            "host": f"{svc}-{rng.randrange(4)}",
            "level": LEVELS[rng.randrange(len(LEVELS))],
            "msg": MESSAGES[rng.randrange(len(MESSAGES))] + f" id={rng.randrange(10**9)}",
            "status": rng.choice([200, 200, 200, 201, 404, 503]),
            "latency_ms": round(rng.expovariate(1 / 40), 2),
        }


def iso(t):
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return f"{s}.{int(round((t % 1) * 1000)):03d}Z"


def write(path, line_fn, target_bytes, header=None):
    size = 0
    rows = 0
    with open(path, "w") as f:
        if header:
            f.write(header)
            size += len(header)
        for r in records(10**9):
            line = line_fn(r)
            f.write(line)
            size += len(line)
            rows += 1
            if size >= target_bytes:
                break
    return rows, size


FORMATS = {
    "jsonl": (
        "app.jsonl",
        None,
        lambda r: json.dumps(
            {"ts": iso(r["t"]), "service": r["service"], "host": r["host"], "level": r["level"],
             "msg": r["msg"], "status": r["status"], "latency_ms": r["latency_ms"]},
            separators=(",", ":"),
        ) + "\n",
        None,
    ),
    "csv": (
        "app.csv",
        None,
        lambda r: f"{iso(r['t'])},{r['service']},{r['host']},{r['level']},{r['msg']},{r['status']},{r['latency_ms']}\n",
        "ts,service,host,level,msg,status,latency_ms\n",
    ),
    "logfmt": (
        "app.logfmt",
        "logfmt",
        lambda r: f"ts={iso(r['t'])} service={r['service']} host={r['host']} level={r['level']} "
        f"msg=\"{r['msg']}\" status={r['status']} latency_ms={r['latency_ms']}\n",
        None,
    ),
    "pattern:nginx": (
        "access.log",
        "pattern:nginx",
        lambda r: f"10.0.{r['status'] % 7}.{int(r['t']) % 250} - - "
        f"[{time.strftime('%d/%b/%Y:%H:%M:%S', time.gmtime(r['t']))} +0000] "
        f"\"GET /{r['service']}/api?id={int(r['t'] * 100)} HTTP/1.1\" {r['status']} 512 \"-\" \"curl/8.5\" {r['latency_ms'] / 1000:.3f}\n",
        None,
    ),
    "pattern:syslog": (
        "messages",
        "pattern:syslog",
        lambda r: f"<{30 if r['level'] != 'error' else 27}>{time.strftime('%b %e %H:%M:%S', time.gmtime(r['t']))} "
        f"{r['host']} {r['service']}[{int(r['t']) % 30000}]: {r['msg']}\n",
        None,
    ),
    "pattern:log4j": (
        "app.log",
        "pattern:log4j",
        lambda r: f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(r['t']))},{int(round((r['t'] % 1) * 1000)):03d} "
        f"{r['level'].upper():5} [worker-{int(r['t']) % 8}] com.acme.{r['service']}.Handler - {r['msg']}\n",
        None,
    ),
    "prometheus_text": (
        "scrape.prom",
        None,
        lambda r: f"http_request_duration_ms{{service=\"{r['service']}\",host=\"{r['host']}\",code=\"{r['status']}\"}} "
        f"{r['latency_ms']} {int(r['t'] * 1000)}\n",
        None,
    ),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--keep", help="generate into this folder and keep it")
    ap.add_argument("--only", help="comma-separated formats")
    args = ap.parse_args()
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: run `cargo build --release` first")
    work = args.keep or tempfile.mkdtemp(prefix="retrace-formats-")
    os.makedirs(work, exist_ok=True)
    target = int(args.mb * 1024 * 1024)
    names = args.only.split(",") if args.only else list(FORMATS)
    print(f"{'format':18} {'input MB':>9} {'rows':>10} {'seconds':>8} {'MB/s':>7} {'rows/s':>10} {'peak RSS MB':>11}")
    for name in names:
        file, fmt, line_fn, header = FORMATS[name]
        folder = os.path.join(work, name.replace(":", "_"))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, file)
        rows, size = write(path, line_fn, target, header)
        kind = "metrics" if name == "prometheus_text" else "logs"
        config = os.path.join(folder, "retrace.toml")
        with open(config, "w") as f:
            f.write('warehouse = "warehouse"\n')
            f.write(f'[[sources]]\nkind = "{kind}"\nurl = "{file}"\n')
            if fmt:
                f.write(f'format = "{fmt}"\n')
            if name == "pattern:syslog":
                f.write("year = 2026\n")
        shutil.rmtree(os.path.join(folder, "warehouse"), ignore_errors=True)
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as stdout:
            child = subprocess.Popen([BINARY, "-q", "--config", config, "ingest"], stdout=stdout, stderr=subprocess.STDOUT)
            # wait4: this child's own peak RSS (KiB on Linux).
            _, status, usage = os.wait4(child.pid, 0)
            secs = time.perf_counter() - start
            stdout.seek(0)
            text = stdout.read()
        if status != 0:
            sys.exit(f"{name}: ingest failed\n{text}")
        written = [l for l in text.splitlines() if l.startswith("rows:")]
        got = sum(int(l.split()[-1]) for l in written)
        if got != rows:
            sys.exit(f"{name}: wrote {got} rows, expected {rows}\n{text}")
        mb = size / 1024 / 1024
        rss = usage.ru_maxrss / 1024
        print(f"{name:18} {mb:9.1f} {rows:10d} {secs:8.2f} {mb / secs:7.1f} {rows / secs:10.0f} {rss:11.0f}")
        if not args.keep:
            shutil.rmtree(folder)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
