#!/usr/bin/env python3
"""retrace on a Ballista cluster beside the same commands run locally (docs/distributed.md).

    python3 bench/distributed.py [--runs 3] [--dir bench/data] [--executors 1,2,3]

Needs a release build with the cluster feature (`cargo build --release --features
cluster`) and the 1x bench warehouse that `bench/run.py` leaves in bench/data/work-x1/wh.
On one machine it starts a scheduler and 1, 2, 3... executors on 127.0.0.1 (two tasks
each) and times, as medians of --runs, each command locally and through the cluster:

  - the per-minute 5xx ratio per service over the whole day (task 2 of bench/run.py),
  - the 1-hour window (task 3),
  - `retrace report` for the planted incident (task 4),

and checks that every answer is the local one. Then it measures what an analysis reads
against the warehouse's size: a warehouse of 1, 7 and 28 days (synthetic, 100k lines a
day) and the bytes DataFusion scans for a 1-hour window, one day and everything.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
RETRACE = os.path.join(TARGET, "release", "retrace")


def free_port(pair=False):
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if not pair:
            return port
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port + 1))
            t.close()
            return port
        except OSError:
            t.close()


def wait_port(port, proc, what):
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"{what} did not start on {port}")
            time.sleep(0.05)


class Cluster:
    def __init__(self, cfg, executors, work):
        self.procs = []
        port = free_port()
        sched = subprocess.Popen([RETRACE, "-q", "--config", cfg, "scheduler", "--listen", f"127.0.0.1:{port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(sched)
        wait_port(port, sched, "scheduler")
        self.url = f"df://127.0.0.1:{port}"
        for i in range(executors):
            p = free_port(pair=True)
            ex = subprocess.Popen([RETRACE, "-q", "--config", cfg, "executor", "--scheduler", f"127.0.0.1:{port}",
                                   "--listen", f"127.0.0.1:{p}", "--tasks", "2", "--work-dir",
                                   os.path.join(work, f"executor-{i}")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(ex)
            wait_port(p, ex, "executor")
        for _ in range(120):
            if subprocess.run([RETRACE, "-q", "--config", cfg, "--cluster", self.url, "sql", "SELECT 1"],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        raise SystemExit("the cluster never answered")

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True)
    secs = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr.decode(errors='replace')}")
    return secs, out.stdout


def files_of(folder):
    return {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}


def speed(args, cfg, report_cfg, work):
    five = ("SELECT service, date_trunc('minute', ts) AS minute, "
            "avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END) AS ratio_5xx FROM logs GROUP BY 1, 2 ORDER BY 1, 2")
    hour = ("SELECT count(*), max(length(msg)) FROM logs "
            "WHERE ts >= '2026-11-19T14:00:00Z' AND ts < '2026-11-19T15:00:00Z'")
    tasks = {
        "per-minute 5xx ratio, whole day": lambda c, out: [RETRACE, "-q", "--config", cfg, *c, "sql", "--format", "csv", five],
        "1-hour window": lambda c, out: [RETRACE, "-q", "--config", cfg, *c, "sql", "--format", "csv", hour],
        "report (planted incident)": lambda c, out: [RETRACE, "-q", *report_cfg, *c, "report", "--out", out],
    }
    rows = []
    local = {}
    for name, cmd in tasks.items():
        out = os.path.join(work, "report-local")
        samples = [timed(cmd([], out)) for _ in range(args.runs)]
        local[name] = (statistics.median(s for s, _ in samples), samples[0][1], files_of(out) if "report" in name else None)
        print(f"local: {name}: {local[name][0]:.2f} s", flush=True)
    for n in args.executors:
        cluster = Cluster(cfg, n, work)
        try:
            for name, cmd in tasks.items():
                out = os.path.join(work, f"report-cluster-{n}")
                samples = [timed(cmd(["--cluster", cluster.url], out)) for _ in range(args.runs)]
                # A report's stdout names its output folder: its files are what must agree.
                same = files_of(out) == local[name][2] if local[name][2] is not None else samples[0][1] == local[name][1]
                t = statistics.median(s for s, _ in samples)
                rows.append((name, n, t, local[name][0], same))
                print(f"cluster x{n}: {name}: {t:.2f} s (local {local[name][0]:.2f} s), same answer: {same}", flush=True)
        finally:
            cluster.stop()
    print("\n| analysis | local | " + " | ".join(f"{n} executor{'s' if n > 1 else ''}" for n in args.executors)
          + " | same answer |")
    print("|---|---:|" + "---:|" * len(args.executors) + "---|")
    for name in tasks:
        cells = [f"{t:.2f} s" for (nm, n, t, _, _) in rows if nm == name]
        same = all(s for (nm, _, _, _, s) in rows if nm == name)
        print(f"| {name} | {local[name][0]:.2f} s | " + " | ".join(cells) + f" | {'yes' if same else 'NO'} |")


def scanned(cfg, sql):
    out = subprocess.run([RETRACE, "-q", "--config", cfg, "sql", "--format", "csv", "EXPLAIN ANALYZE " + sql],
                         capture_output=True, text=True, check=True).stdout
    unit = {"": 1, "B": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9}
    return sum(float(n) * unit.get(u, 1) for n, u in re.findall(r"bytes_scanned=([\d.]+)\s?([KMG]?B?)", out))


def pruning(args, work):
    """Bytes scanned by a 1-hour, 1-day and whole-warehouse query, for 1, 7 and 28 days."""
    print("\n| warehouse | Parquet | 1-hour window | one day | everything |")
    print("|---|---:|---:|---:|---:|")
    for days in (1, 7, 28):
        folder = os.path.join(work, f"days-{days}")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        src = os.path.join(folder, "logs.jsonl")
        with open(src, "w") as f:
            for d in range(days):
                for i in range(100_000):
                    t = 1795046400 + d * 86400 + i * 0.864
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
                    status = 503 if i % 97 == 0 else 200
                    f.write(json.dumps({"ts": stamp + "Z", "service": f"svc-{i % 6}", "host": f"h-{i % 20}",
                                        "status": status, "msg": f"GET /item/{i} {status}"}) + "\n")
        cfg = os.path.join(folder, "retrace.toml")
        with open(cfg, "w") as f:
            f.write(f'warehouse = "{folder}/wh"\n[[sources]]\nkind = "logs"\nurl = "{src}"\n')
        subprocess.run([RETRACE, "-q", "--config", cfg, "ingest"], check=True, capture_output=True)
        size = sum(os.path.getsize(os.path.join(dp, n)) for dp, _, ns in os.walk(os.path.join(folder, "wh", "logs"))
                   for n in ns)
        q = "SELECT count(*), max(length(msg)) FROM logs"
        hour = scanned(cfg, q + " WHERE ts >= '2026-11-19T14:00:00Z' AND ts < '2026-11-19T15:00:00Z'")
        day = scanned(cfg, q + " WHERE ts >= '2026-11-19T00:00:00Z' AND ts < '2026-11-20T00:00:00Z'")
        full = scanned(cfg, q)
        print(f"| {days} day{'s' if days > 1 else ''}, {days * 100_000:,} lines | {size / 1e6:.1f} MB | "
              f"{hour / 1e6:.2f} MB | {day / 1e6:.2f} MB | {full / 1e6:.2f} MB |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench", "data"))
    ap.add_argument("--executors", default="1,2,3")
    args = ap.parse_args()
    args.executors = [int(n) for n in args.executors.split(",")]
    if not os.access(RETRACE, os.X_OK):
        raise SystemExit(f"{RETRACE} is not built: cargo build --release --features cluster")
    if b"--features cluster" in subprocess.run([RETRACE, "--cluster", "df://127.0.0.1:1", "sql", "SELECT 1"],
                                                capture_output=True).stderr:
        raise SystemExit(f"{RETRACE} was built without the cluster feature: cargo build --release --features cluster")
    work = os.path.join(args.dir, "work-x1")
    cfg = os.path.join(work, "retrace.toml")
    if not os.path.isdir(os.path.join(work, "wh")):
        raise SystemExit(f"no bench warehouse at {work}/wh: run `python3 bench/run.py --scales 1` first")
    dist = os.path.join(args.dir, "distributed")
    os.makedirs(dist, exist_ok=True)
    # The report's warehouse holds all four kinds (bench/run.py task 4 leaves it).
    full = os.path.join(work, "full")
    if not os.path.isdir(full):
        raise SystemExit(f"no full bench warehouse at {full}: run `python3 bench/run.py --scales 1` first")
    report_cfg = ["--config", os.path.join(args.dir, "x1", "retrace.toml"), "--warehouse", full]
    speed(args, cfg, report_cfg, dist)
    pruning(args, dist)


if __name__ == "__main__":
    main()
