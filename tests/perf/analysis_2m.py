#!/usr/bin/env python3
"""Analysis time on a 2M-line warehouse: `slo`, `suspects`, `timeline`, `report` and
`digest`; and `report` and `digest` on the bundled sample's warehouse.

Generates two days of logs for six services (2,000,000 lines, a status on each request
line, one 30-minute outage on payments caused by a config change), 40 routine changes and
a few deploys; ingests them with the release binary, then times each analysis command.

    cargo build --release && python3 tests/perf/analysis_2m.py [--lines 2000000] [--keep DIR]

Each command is run 3 times; the median wall time is printed. RETRACE_BIN overrides the
binary (default target/release/retrace, or $CARGO_TARGET_DIR/release/retrace).
"""

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("RETRACE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "retrace")
SERVICES = ["edge", "checkout", "payments", "inventory", "search", "cart"]
START = 1795046400 - 86400  # 2026-11-18T00:00:00Z
OUTAGE = (START + 86400 + 14 * 3600 + 9 * 60, START + 86400 + 14 * 3600 + 40 * 60)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--keep")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="retrace-2m-")
    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    rng = random.Random(7)
    per_service = args.lines // len(SERVICES)
    step = 2 * 86400 / per_service
    for svc in SERVICES:
        with gzip.open(os.path.join(data, f"{svc}.jsonl.gz"), "wt", compresslevel=1) as f:
            for i in range(per_service):
                t = START + i * step + rng.random() * step
                bad = svc in ("payments", "checkout") and OUTAGE[0] <= t < OUTAGE[1] and rng.random() < 0.3
                status = 503 if bad or rng.random() < 0.0003 else 200
                rec = {
                    "ts": iso(t),
                    "service": svc,
                    "host": f"{svc}-{rng.randrange(4)}",
                    "level": "error" if status >= 500 else "info",
                    "msg": ("db pool exhausted: in_use=20 waiters=%d" % rng.randrange(200)) if bad
                    else f"GET /api/{svc}/{rng.randrange(10**6)} {status}",
                    "status": status,
                    "latency_ms": round(rng.expovariate(1 / 40), 1),
                    "trace_id": f"{rng.getrandbits(64):016x}",
                }
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    with open(os.path.join(data, "changes.jsonl"), "w") as f:
        for i in range(40):
            t = START + rng.randrange(2 * 86400)
            f.write(json.dumps({"ts": iso(t), "change_id": f"R-{i}", "service": rng.choice(SERVICES),
                                "key": f"feature.{i}", "old_value": "a", "new_value": "b"}) + "\n")
        f.write(json.dumps({"ts": iso(OUTAGE[0] - 420), "change_id": "CULPRIT", "service": "payments",
                            "key": "db.pool.max", "old_value": "200", "new_value": "20"}) + "\n")
        f.write(json.dumps({"ts": iso(OUTAGE[1] - 60), "change_id": "FIX", "service": "payments",
                            "key": "db.pool.max", "old_value": "20", "new_value": "200", "reverts": "CULPRIT"}) + "\n")
    with open(os.path.join(work, "retrace.toml"), "w") as f:
        f.write('warehouse = "warehouse"\n')
        f.write('[[sources]]\nkind = "logs"\nurl = "data/*.jsonl.gz"\n')
        f.write('[[sources]]\nkind = "changes"\nurl = "data/changes.jsonl"\n')
        f.write('[services.edge]\ndepends_on = ["checkout", "search", "cart"]\n')
        f.write('[services.checkout]\ndepends_on = ["payments", "inventory", "cart"]\n')
        for svc in SERVICES:
            f.write(f'[[slo]]\nname = "{svc}"\nservice = "{svc}"\nobjective = 0.999\n'
                    'sli = { kind = "log_ratio", bad = "status >= 500", total = "status IS NOT NULL" }\n')
    shutil.rmtree(os.path.join(work, "warehouse"), ignore_errors=True)

    def run(*cmd, config=os.path.join(work, "retrace.toml"), extra=(), repeat=1):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            out = subprocess.run([BINARY, "-q", "--config", config, *extra, *cmd], capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if out.returncode != 0:
                raise SystemExit(f"{cmd}: {out.stderr}")
        return sorted(times)[len(times) // 2], out.stdout

    secs, _ = run("ingest")
    print(f"ingest {args.lines} lines: {secs:.2f} s")
    window = ["--from", "2026-11-19T13:00Z", "--to", "2026-11-19T16:00Z"]
    for name, cmd in [
        ("slo (whole 2 days)", ["slo", "--format", "csv"]),
        ("suspects (whole 2 days)", ["suspects", "--top", "1", "--format", "csv"]),
        ("timeline (3 h window)", ["timeline", *window, "--format", "csv"]),
        ("report (latest breach; md, html, json)", ["report", "--out", os.path.join(work, "out")]),
        ("report --charts png", ["report", "--charts", "png", "--out", os.path.join(work, "out")]),
        ("digest --week 2026-W47 (md, html, json)", ["digest", "--week", "2026-W47", "--out", os.path.join(work, "out")]),
    ]:
        secs, out = run(*cmd, repeat=3)
        rows = max(0, len(out.strip().splitlines()) - 1)
        print(f"{name}: {secs:.2f} s, {rows} rows")
        if name.startswith("suspects"):
            print("  " + "\n  ".join(line[:160] for line in out.strip().splitlines()[1:]))

    # The same two commands on the bundled sample's warehouse (built by `retrace demo`).
    sample_wh = os.path.join(work, "sample-warehouse")
    sample_cfg = os.path.join(ROOT, "samples", "retrace.toml")
    subprocess.run([BINARY, "-q", "--warehouse", sample_wh, "demo", "--out", os.path.join(work, "demo")],
                   check=True, capture_output=True)
    for name, cmd in [
        ("sample: report (latest breach; md, html, json)", ["report", "--out", os.path.join(work, "out")]),
        ("sample: digest --week 2026-W47", ["digest", "--week", "2026-W47", "--out", os.path.join(work, "out")]),
    ]:
        secs, _ = run(*cmd, config=sample_cfg, extra=("--warehouse", sample_wh), repeat=3)
        print(f"{name}: {secs:.2f} s")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
