#!/usr/bin/env python3
"""Many small objects: what adding one object costs in a warehouse of 20,000 (issue 22).

A log shipper (Vector, Fluent Bit, Firehose) writes one object per host per minute: 14
hosts over one day are 20,160 objects of ~20 JSON Lines each, all on the same UTC day.
The script ingests them into a fresh warehouse, then adds one object at a time and times
each `retrace ingest` (median of --adds), then runs `retrace compact` and checks that
the same queries answer the same before and after, and times adding one object again.

    python3 tests/perf/small_objects.py [--objects 20160] [--adds 3] [--keep DIR]

Uses the release binary (`cargo build --release`); CARGO_TARGET_DIR is honoured. The
figures in docs/performance.md come from this script.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
BINARY = os.path.join(TARGET, "release", "retrace")
BASE = 1795046400  # 2026-11-19T00:00:00Z
HOSTS = 14
QUERIES = [
    "SELECT count(*) AS n, count(DISTINCT source) AS objects, min(ts) AS first, max(ts) AS last FROM logs",
    "SELECT host, level, count(*) AS n, sum(status) AS s FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT date_trunc('hour', ts) AS h, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1",
    "SELECT count(*) AS n FROM rejects",
]


def write_object(src, minute, host, rng):
    t0 = BASE + minute * 60
    path = os.path.join(src, f"{minute // 60:02}", f"host-{host:02}-{minute:04}.jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for i in range(20):
            status = rng.choice([200, 200, 200, 201, 404, 503])
            f.write(json.dumps({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + i * 3)) + f".{i:03}Z",
                "service": "shop", "host": f"host-{host:02}",
                "level": "error" if status >= 500 else "info",
                "msg": f"GET /item/{rng.randrange(1000)} {status}", "status": status,
            }) + "\n")


def run(*argv):
    start = time.perf_counter()
    p = subprocess.run([BINARY, *argv], capture_output=True, text=True)
    secs = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"retrace {' '.join(argv)} failed:\n{p.stderr}")
    return secs, p.stdout


def answers(cfg):
    return [run("-q", "--config", cfg, "sql", "--format", "csv", q)[1] for q in QUERIES]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=HOSTS * 1440)
    ap.add_argument("--adds", type=int, default=3)
    ap.add_argument("--keep", help="work in this folder and keep it")
    args = ap.parse_args()
    if not os.access(BINARY, os.X_OK):
        raise SystemExit(f"{BINARY} is not built: cargo build --release --bin retrace")
    work = args.keep or tempfile.mkdtemp(prefix="retrace-small-")
    shutil.rmtree(work, ignore_errors=True)
    src, wh = os.path.join(work, "src"), os.path.join(work, "warehouse")
    rng = random.Random(7)
    minutes = args.objects // HOSTS
    for m in range(minutes):
        for h in range(HOSTS):
            write_object(src, m, h, rng)
    cfg = os.path.join(work, "retrace.toml")
    with open(cfg, "w") as f:
        f.write(f'warehouse = "{wh}"\n[[sources]]\nkind = "logs"\nurl = "{src}/*/*.jsonl"\n')
    n = minutes * HOSTS
    secs, _ = run("-q", "--config", cfg, "ingest")
    print(f"first ingest of {n} objects: {secs:.1f} s ({n / secs:.0f} objects/s)", flush=True)

    def add_one(k):
        write_object(src, minutes + k, 0, rng)
        return run("-q", "--config", cfg, "ingest")[0]

    adds = [add_one(k) for k in range(args.adds)]
    print(f"adding one object to {n}: {statistics.median(adds):.2f} s (median of {args.adds}: "
          + ", ".join(f"{a:.2f}" for a in adds) + ")", flush=True)
    # Unchanged sources: what a scheduled ingest costs when nothing is new.
    secs, _ = run("-q", "--config", cfg, "ingest")
    print(f"ingest with nothing new: {secs:.2f} s", flush=True)

    before = answers(cfg)
    secs, out = run("--config", cfg, "compact")
    print(f"retrace compact: {secs:.1f} s; {out.strip().splitlines()[-1] if out.strip() else ''}", flush=True)
    after = answers(cfg)
    for q, b, a in zip(QUERIES, before, after):
        if a != b:
            raise SystemExit(f"compact changed the answer to {q}:\nbefore:\n{b}\nafter:\n{a}")
    print("queries answer the same before and after compact", flush=True)
    adds = [add_one(args.adds + k) for k in range(args.adds)]
    print(f"adding one object after compact: {statistics.median(adds):.2f} s (median of {args.adds})", flush=True)
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
