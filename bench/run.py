#!/usr/bin/env python3
"""retrace against DuckDB and polars, side by side in one run (docs/performance.md).

    python3 bench/run.py [--scales 1,4] [--runs 5] [--dir bench/data] [--skip-build]
                         [--before OLD_RETRACE] [--only report]

Builds retrace (release) and the generator, generates the scale data (bench/generate, a
package of its own),
installs the peers (duckdb, polars, pyarrow, pinned) into a venv from PyPI, then runs
each task for every engine on the same files, alternating engines run by run, and
prints the median wall time, peak RSS and the ratio to each peer:

  1. JSONL -> Parquet (timestamps parsed, zstd), plain and .gz
  2. per-minute 5xx ratio per service, over each engine's own Parquet
  3. a 1-hour window of the timeline vs a full scan (bytes read from Parquet, time)
  4. `retrace report` end to end for the planted incident
  5. scaling: ingest time and peak RSS at each scale
  6. `retrace serve`: the 1-hour window vs the full scan on one open connection, and
     queries per second for 8 concurrent psycopg clients beside DuckDB's Python client
     running the same SQL from 8 threads over the same Parquet files (bench/clients.py)

  7. text patterns (nginx, syslog, log4j) and metrics (Prometheus text, `query_range`
     JSON, CSV samples): rows/s of `retrace ingest`, beside the same parse by DuckDB
     (`regexp_extract` over `read_csv` of lines; `read_csv` of the samples) and by polars
     (`str.extract_groups`; `scan_csv`), each writing zstd Parquet. No peer reads the
     Prometheus formats, so those rows have retrace alone. `--only formats` runs just this.

`--before BIN` runs task 4 with an older build too, alternating the two run by run on the
same warehouse, and prints the time saved (the figure issue 17 asks for). `--only report`
skips tasks 1-3 and 5.

Peak RSS is the child's ru_maxrss (os.wait4), so no external `time` is needed.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
RETRACE = os.path.join(TARGET, "release", "retrace")
GENERATE = os.path.join(TARGET, "release", "bench-generate")
VENV = os.environ.get("RETRACE_BENCH_VENV") or os.path.join(TARGET, "bench-venv")
PEERS = ["duckdb==2.0.0", "polars==2.1.0", "pyarrow==26.0.1", "psycopg[binary]==3.3.9",
         # DuckDB's Python client needs pytz to return timestamptz values.
         "pytz==2025.2"]
CLIENTS = os.path.join(ROOT, "bench", "clients.py")


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def measure(cmd, env=None, cwd=None):
    """Runs cmd; returns (seconds, peak RSS in MB, stdout)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode(errors='replace')}")
    return secs, usage.ru_maxrss / 1024, out.decode(errors="replace")


def python():
    return os.path.join(VENV, "bin", "python")


def ensure_peers():
    try:
        subprocess.run([python(), "-c", "import duckdb, polars, pyarrow, psycopg, pytz"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        sh([sys.executable, "-m", "venv", VENV])
        sh([os.path.join(VENV, "bin", "pip"), "install", "-q", "--disable-pip-version-check", *PEERS])
    out = subprocess.run([python(), "-c", "import duckdb, polars; print(duckdb.__version__, polars.__version__)"],
                         check=True, capture_output=True, text=True).stdout.split()
    return {"duckdb": out[0], "polars": out[1]}


def ingest_cmds(data, src, work):
    """The three engines' JSONL -> Parquet commands for one input file."""
    wh = os.path.join(work, "wh")
    cfg = os.path.join(work, "retrace.toml")
    with open(cfg, "w") as f:
        f.write(f'warehouse = "{wh}"\n[[sources]]\nkind = "logs"\nurl = "{os.path.join(data, src)}"\n')
    path = os.path.join(data, src)
    duck_out, pl_out = os.path.join(work, "duck.parquet"), os.path.join(work, "polars.parquet")
    duck = (
        "import duckdb; duckdb.sql(\"SET threads = 2\");"
        f"duckdb.sql(\"COPY (SELECT * REPLACE (CAST(ts AS TIMESTAMPTZ) AS ts) FROM read_json_auto('{path}')) "
        f"TO '{duck_out}' (FORMAT parquet, COMPRESSION zstd)\")"
    )
    polars = (
        "import os; os.environ['POLARS_MAX_THREADS'] = '2'; import polars as pl;"
        f"pl.scan_ndjson('{path}').with_columns(pl.col('ts').str.to_datetime(time_zone='UTC', time_unit='us'))"
        f".sink_parquet('{pl_out}', compression='zstd')"
    )

    def fresh(engine):
        # Only the engine about to run starts from nothing: the others' outputs stay for
        # the query tasks.
        p = {"retrace": wh, "duckdb": duck_out, "polars": pl_out}[engine]
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)

    return fresh, {
        "retrace": [RETRACE, "-q", "--config", cfg, "ingest"],
        "duckdb": [python(), "-c", duck],
        "polars": [python(), "-c", polars],
    }, (wh, duck_out, pl_out)


def side_by_side(name, fresh, cmds, runs, results):
    """Alternates engines run by run; records medians."""
    samples = {e: [] for e in cmds}
    for _ in range(runs):
        for engine, cmd in cmds.items():
            fresh(engine)
            secs, rss, _ = measure(cmd)
            samples[engine].append((secs, rss))
    row = {}
    for engine, s in samples.items():
        row[engine] = (statistics.median(x[0] for x in s), max(x[1] for x in s))
    results.append((name, row))
    print(f"{name}: " + ", ".join(f"{e} {t:.2f} s / {r:.0f} MB" for e, (t, r) in row.items()), flush=True)
    return row


def load_format_generators():
    """tests/perf/ingest_formats.py's deterministic records and line writers."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("ingest_formats", os.path.join(ROOT, "tests", "perf", "ingest_formats.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The built-in patterns' regexes as src/config/pattern.rs has them (RE2 and Rust's regex
# read the same syntax), with the `ts` format each peer is given.
TEXT_PATTERNS = {
    "nginx": (r'^(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<msg>[^"\\]*(?:\\.[^"\\]*)*)" (?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)"(?P<tail>.*)$',
              "%d/%b/%Y:%H:%M:%S %z"),
    "syslog": (r"^(?:<(?P<pri>\d{1,3})>)?(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?) (?P<host>\S+) (?P<service>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?:(?P<msg>.*)$",
               "%b %d %H:%M:%S"),
    "log4j": (r"^(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?) +(?P<level>[A-Z]+) +\[(?P<thread>[^\]]*)\] +(?P<logger>\S+) (?P<msg>.*)$",
              "%Y-%m-%d %H:%M:%S,%f"),
}


def write_query_range(path, target):
    """A Prometheus `query_range` response of ~target bytes: 48 series of 15 s samples."""
    if os.path.exists(path) and os.path.exists(path + ".rows"):
        return int(open(path + ".rows").read()), os.path.getsize(path)
    series = [(svc, f"{svc}-{h}", code) for svc in ("checkout", "payments", "search", "cart")
              for h in range(4) for code in ("200", "404", "503")]
    per_point = len('[1795046400.000,"123.45"],')
    points = max(1, target // (len(series) * per_point))
    with open(path, "w") as f:
        f.write('{"status":"success","data":{"resultType":"matrix","result":[')
        for i, (svc, host, code) in enumerate(series):
            f.write(("," if i else "") + '{"metric":{"__name__":"http_request_duration_ms","service":"%s","host":"%s","code":"%s"},"values":[' % (svc, host, code))
            f.write(",".join('[%d.000,"%.2f"]' % (1795046400 + 15 * j, (j * 7 + i) % 1000 / 7) for j in range(points)))
            f.write("]}")
        f.write("]}}")
    rows = len(series) * points
    open(path + ".rows", "w").write(str(rows))
    return rows, os.path.getsize(path)


def formats_task(args, work, results):
    """Task 7: text patterns and metrics, rows/s beside DuckDB and polars."""
    gen = load_format_generators()
    folder = os.path.join(work, "formats")
    os.makedirs(folder, exist_ok=True)
    target = int(args.formats_mb * 1024 * 1024)
    cases = []
    for name in TEXT_PATTERNS:
        file, fmt, line_fn, header = gen.FORMATS[f"pattern:{name}"]
        cases.append((f"pattern:{name}", "logs", file, fmt, line_fn, header))
    cases.append(("prometheus_text", "metrics", *gen.FORMATS["prometheus_text"]))
    cases.append(("metrics csv", "metrics", "samples.csv", None,
                  lambda r: f"{gen.iso(r['t'])},http_request_duration_ms,{r['latency_ms']},{r['service']},{r['host']},{r['status']}\n",
                  "ts,metric,value,service,host,code\n"))
    cases.append(("prometheus query_range", "metrics", "range.json", None, None, None))
    for name, kind, file, fmt, line_fn, header in cases:
        path = os.path.join(folder, file)
        if line_fn is None:
            rows, size = write_query_range(path, target)
        elif not os.path.exists(path) or abs(os.path.getsize(path) - target) > target // 10:
            rows, size = gen.write(path, line_fn, target, header)
        else:
            size = os.path.getsize(path)
            rows = sum(1 for _ in open(path, "rb")) - (1 if header else 0)
        wh = os.path.join(folder, "wh")
        cfg = os.path.join(folder, f"{file}.toml")
        with open(cfg, "w") as f:
            f.write(f'warehouse = "{wh}"\n[[sources]]\nkind = "{kind}"\nurl = "{path}"\n')
            if fmt:
                f.write(f'format = "{fmt}"\n')
            if name == "pattern:syslog":
                f.write("year = 2026\n")
        out = os.path.join(folder, "peer.parquet")
        cmds = {"retrace": [RETRACE, "-q", "--config", cfg, "ingest"]}
        if name.startswith("pattern:"):
            regex, ts_fmt = TEXT_PATTERNS[name.split(":")[1]]
            groups = re.findall(r"\(\?P<(\w+)>", regex)
            lines = (f"read_csv('{path}', columns={{'line': 'VARCHAR'}}, header=false, delim=chr(1), quote='', "
                     "escape='', auto_detect=false)").replace("chr(1)", "'\x01'")
            duck_sql = (f"COPY (SELECT s.* REPLACE (try_strptime(s.ts, '{ts_fmt}') AS ts) FROM "
                        f"(SELECT regexp_extract(line, '{regex}', {groups!r}) AS s FROM {lines})) "
                        f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
            polars = (f"pl.scan_csv({path!r}, has_header=False, separator='\\x01', quote_char=None, "
                      "new_columns=['line'], schema={'line': pl.String})"
                      f".select(pl.col('line').str.extract_groups({regex!r})).unnest('line')"
                      f".with_columns(pl.col('ts').str.to_datetime({ts_fmt!r}, strict=False))")
        elif name == "metrics csv":
            duck_sql = (f"COPY (SELECT * REPLACE (CAST(ts AS TIMESTAMPTZ) AS ts) FROM read_csv('{path}')) "
                        f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
            polars = (f"pl.scan_csv({path!r}).with_columns(pl.col('ts').str.to_datetime(time_zone='UTC', time_unit='us'))")
        else:
            duck_sql = polars = None
        if duck_sql:
            cmds["duckdb"] = [python(), "-c", "import duckdb; duckdb.sql(\"SET threads = 2\"); duckdb.sql(" + repr(duck_sql) + ")"]
            cmds["polars"] = [python(), "-c", "import os; os.environ['POLARS_MAX_THREADS'] = '2'; import polars as pl; "
                              f"{polars}.sink_parquet({out!r}, compression='zstd')"]

        def fresh(engine):
            for p in (wh, out):
                if os.path.isdir(p):
                    shutil.rmtree(p)
                elif os.path.exists(p):
                    os.remove(p)

        row = side_by_side(f"{name} ({size / 1e6:.0f} MB, {rows:,} rows)", fresh, cmds, args.runs, [])
        results.append((f"{name} ({size / 1e6:.0f} MB)", {"rows": rows, **row}))


def report_task(args, data, work, scale, results):
    """`retrace report` for the planted incident over the full warehouse (all four kinds);
    with --before, the older build beside it, alternating run by run."""
    full_wh = os.path.join(work, "full")
    full_cfg = os.path.join(data, "retrace.toml")
    shutil.rmtree(full_wh, ignore_errors=True)
    secs, rss, _ = measure([RETRACE, "-q", "--config", full_cfg, "--warehouse", full_wh, "ingest"])
    print(f"x{scale} full ingest (logs, metrics, changes, deploys): {secs:.2f} s, {rss:.0f} MB", flush=True)
    builds = {"retrace": RETRACE}
    if args.before:
        builds["before"] = os.path.abspath(args.before)
    samples = {name: [] for name in builds}
    for _ in range(args.runs):
        for name, binary in builds.items():
            out = os.path.join(work, f"report-{name}")
            samples[name].append(measure([binary, "-q", "--config", full_cfg, "--warehouse", full_wh,
                                          "report", "--out", out]))
    report_t = statistics.median(r[0] for r in samples["retrace"])
    rss = max(r[1] for r in samples["retrace"])
    focus = json.load(open(os.path.join(work, "report-retrace", "report.json")))
    top = focus["breaches"][0]["suspects"][0]["id"] if focus["breaches"] else None
    print(f"x{scale} retrace report (latest breach, md+html+json): {report_t:.2f} s, {rss:.0f} MB; top suspect {top}",
          flush=True)
    results.append((f"x{scale} report", {"retrace": (report_t, rss), "top": top}))
    if args.before:
        before_t = statistics.median(r[0] for r in samples["before"])
        before_rss = max(r[1] for r in samples["before"])
        print(f"x{scale} report, before vs now (median of {args.runs}, alternating): {before_t:.2f} s, "
              f"{before_rss:.0f} MB -> {report_t:.2f} s, {rss:.0f} MB: "
              f"{(1 - report_t / before_t) * 100:.0f} % less time", flush=True)


def server_task(args, cfg, wh, scale, hour_t, full_t, results):
    """`retrace serve` over the logs warehouse: the window query on one connection, then
    8 clients at once, beside DuckDB on the same files; the server's peak RSS at the end."""
    server = subprocess.Popen([RETRACE, "--config", cfg, "serve", "--listen", "127.0.0.1:0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    found = re.search(r"listening on (\S+)", line)
    if not found:
        server.kill()
        raise SystemExit(f"retrace serve did not start: {line}{server.stderr.read()}")
    addr = found.group(1)
    # Keep draining its stderr so a chatty server never blocks on a full pipe.
    drain = threading.Thread(target=lambda: server.stderr.read(), daemon=True)
    drain.start()

    def clients(*argv):
        out = subprocess.run([python(), CLIENTS, *argv], check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    try:
        w = clients("window", addr, str(args.runs))
        one_shot = "" if hour_t != hour_t else (  # NaN: --only server measured no one-shot run
            f" (one-shot retrace sql: {hour_t:.2f} s vs {full_t:.2f} s = {full_t / hour_t:.1f}×)")
        print(f"x{scale} served 1-hour window vs full scan (one connection): {w['window'] * 1e3:.0f} ms vs "
              f"{w['full'] * 1e3:.0f} ms = {w['full'] / w['window']:.1f}×{one_shot}", flush=True)
        results.append((f"x{scale} served window", {"window": w["window"], "full": w["full"]}))
        per_client = 30
        samples = {"retrace serve": [], "duckdb": []}
        for _ in range(args.runs):
            samples["retrace serve"].append(clients("server", addr, "8", str(per_client)))
            samples["duckdb"].append(clients("duckdb", wh, "8", str(per_client)))
    finally:
        server.terminate()
        _, _, usage = os.wait4(server.pid, 0)
    rss = usage.ru_maxrss / 1024
    row = {}
    for engine, runs in samples.items():
        best = sorted(runs, key=lambda r: r["qps"])[len(runs) // 2]
        failed = sum(r["failed"] for r in runs)
        if failed:
            print(f"  {engine}: {failed} queries failed, e.g. {best['errors'] or runs[0]['errors']}", flush=True)
        row[engine] = best
    same = (row["retrace serve"]["checksum"] == row["duckdb"]["checksum"]
            and not any(r["failed"] for runs in samples.values() for r in runs))
    print(f"x{scale} 8 clients x {per_client} queries: retrace serve {row['retrace serve']['qps']:.1f} q/s "
          f"(p50 {row['retrace serve']['p50_ms']:.0f} ms, p95 {row['retrace serve']['p95_ms']:.0f} ms, "
          f"server peak {rss:.0f} MB), DuckDB {row['duckdb']['qps']:.1f} q/s (p50 {row['duckdb']['p50_ms']:.0f} ms, "
          f"p95 {row['duckdb']['p95_ms']:.0f} ms); answers {'agree' if same else 'DIFFER (or queries failed)'}", flush=True)
    results.append((f"x{scale} 8 clients", {**row, "rss": rss, "same": same}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="1,4")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench", "data"))
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--before", help="an older retrace binary to run the report beside")
    ap.add_argument("--only", choices=["report", "server", "formats"],
                    help="run only this task (server: over the logs warehouse a previous run left)")
    ap.add_argument("--formats-mb", type=float, default=100, help="input size per format in task 7")
    args = ap.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    if not args.skip_build:
        sh(["cargo", "build", "--release", "-p", "retrace", "--bin", "retrace"], cwd=ROOT)
        sh(["cargo", "build", "--release", "-p", "retrace-bench-generate"], cwd=ROOT)
    for binary, what in ((RETRACE, "retrace"), (GENERATE, "the bench generator")):
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"bench/run.py: {what} is not built at {binary}; build it with\n"
                             "  cargo build --release -p retrace --bin retrace && cargo build --release -p retrace-bench-generate\n"
                             "or run without --skip-build (CARGO_TARGET_DIR is honoured)")
    versions = {"duckdb": "-", "polars": "-"} if args.only == "report" else ensure_peers()
    results, scaling = [], []

    for scale in scales:
        data = os.path.join(args.dir, f"x{scale}")
        if not os.path.exists(os.path.join(data, "truth.json")):
            sh([GENERATE, data, "--scale", str(scale)])
        truth = json.load(open(os.path.join(data, "truth.json")))
        mb = truth["log_bytes"] / 1e6
        work = os.path.join(args.dir, f"work-x{scale}")
        os.makedirs(work, exist_ok=True)

        for src in ([] if args.only else ["logs.jsonl", "logs.jsonl.gz"] if scale == scales[0] else ["logs.jsonl"]):
            fresh, cmds, outs = ingest_cmds(data, src, work)
            row = side_by_side(f"x{scale} ingest {src} ({mb:.0f} MB)", fresh, cmds, args.runs, results)
            scaling.append((scale, src, mb, row["retrace"]))
        if scale != scales[0]:
            continue
        if args.only == "server":
            cfg, wh = os.path.join(work, "retrace.toml"), os.path.join(work, "wh")
            if not os.path.isdir(wh):
                raise SystemExit(f"bench/run.py --only server: no warehouse at {wh}; run bench/run.py once first")
            server_task(args, cfg, wh, scale, float("nan"), float("nan"), results)
            continue
        if args.only == "report":
            report_task(args, data, work, scale, results)
            continue
        if args.only == "formats":
            formats_task(args, work, results)
            continue

        # Keep the last run's outputs for the query tasks.
        wh, duck_out, pl_out = outs
        q = ("SELECT service, date_trunc('minute', ts) AS minute, "
             "avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END) AS ratio_5xx "
             "FROM {t} GROUP BY 1, 2 ORDER BY 1, 2")
        cfg = os.path.join(work, "retrace.toml")
        cmds = {
            "retrace": [RETRACE, "-q", "--config", cfg, "sql", "--format", "csv", "--output",
                        os.path.join(work, "q.csv"), q.format(t="logs")],
            "duckdb": [python(), "-c", "import duckdb; duckdb.sql(\"SET threads = 2\");"
                       f"duckdb.sql(\"\"\"COPY ({q.format(t=repr(duck_out))}) TO '{work}/q-duck.csv'\"\"\")"],
            "polars": [python(), "-c", "import os; os.environ['POLARS_MAX_THREADS'] = '2'; import polars as pl;"
                       f"(pl.scan_parquet('{pl_out}').group_by('service', pl.col('ts').dt.truncate('1m').alias('minute'))"
                       ".agg((pl.col('status') >= 500).mean().alias('ratio_5xx')).sort('service', 'minute')"
                       f".sink_csv('{work}/q-polars.csv'))"],
        }
        side_by_side(f"x{scale} 5xx ratio per service and minute", lambda engine: None, cmds, args.runs, results)

        # Pruning: one hour vs the whole day, bytes scanned as DataFusion reports them.
        def scan(where):
            # Reads the timestamp and the message column, as a timeline does.
            sql = f"EXPLAIN ANALYZE SELECT count(*), max(length(msg)) FROM logs {where}"
            secs, rss, out = measure([RETRACE, "-q", "--config", cfg, "sql", "--format", "csv", sql])
            # DataFusion prints sizes with units (bytes_scanned=1.05 K, =12.3 M).
            unit = {"": 1, "B": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9}
            scanned = sum(float(n) * unit.get(u, 1) for n, u in re.findall(r"bytes_scanned=([\d.]+)\s?([KMG]?B?)", out))
            return secs, scanned
        hour = "WHERE ts >= '2026-11-19T14:00:00Z' AND ts < '2026-11-19T15:00:00Z'"
        full_t = statistics.median(scan("")[0] for _ in range(args.runs))
        hour_t = statistics.median(scan(hour)[0] for _ in range(args.runs))
        full_b, hour_b = scan("")[1], scan(hour)[1]
        print(f"x{scale} 1-hour window vs full scan: {hour_t:.2f} s vs {full_t:.2f} s; "
              f"{hour_b / 1e6:.1f} MB vs {full_b / 1e6:.1f} MB scanned ({hour_b / max(full_b, 1) * 100:.1f} %)", flush=True)
        results.append((f"x{scale} 1-hour window vs full scan", {"window": (hour_t, hour_b), "full": (full_t, full_b)}))
        server_task(args, cfg, wh, scale, hour_t, full_t, results)

        report_task(args, data, work, scale, results)
        formats_task(args, work, results)

    print("\n## Figures (median of %d runs; ratio = peer time / retrace time, > 1 means retrace is faster)\n" % args.runs)
    print(f"peers: duckdb {versions['duckdb']}, polars {versions['polars']}; machine: {os.cpu_count()} cores\n")
    print("| task | retrace | DuckDB | polars | vs DuckDB | vs polars |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in results:
        if "polars" in row and "rows" not in row:
            r, d, p = row["retrace"], row["duckdb"], row["polars"]
            print(f"| {name} | {r[0]:.2f} s, {r[1]:.0f} MB | {d[0]:.2f} s, {d[1]:.0f} MB | {p[0]:.2f} s, {p[1]:.0f} MB "
                  f"| {d[0] / r[0]:.2f}× | {p[0] / r[0]:.2f}× |")
    served = [(n, r) for n, r in results if n.endswith("served window") or n.endswith("8 clients")]
    if served:
        print("\n| server task | retrace serve | DuckDB (Python, same files) | ratio |")
        print("|---|---:|---:|---:|")
        for name, row in served:
            if "full" in row:
                print(f"| {name}: 1-hour window vs full scan | {row['window'] * 1e3:.0f} ms vs {row['full'] * 1e3:.0f} ms "
                      f"| | {row['full'] / row['window']:.1f}× (target ≥ 5×) |")
            else:
                r, d = row["retrace serve"], row["duckdb"]
                print(f"| {name}: queries/s (p50, p95) | {r['qps']:.1f} ({r['p50_ms']:.0f} ms, {r['p95_ms']:.0f} ms), "
                      f"server {row['rss']:.0f} MB | {d['qps']:.1f} ({d['p50_ms']:.0f} ms, {d['p95_ms']:.0f} ms) "
                      f"| {r['qps'] / d['qps']:.2f}× |")
    formats = [(n, r) for n, r in results if "rows" in r]
    if formats:
        print("\n| format (task 7) | rows | retrace rows/s | DuckDB rows/s | polars rows/s | vs DuckDB | vs polars |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, row in formats:
            n, r = row["rows"], row["retrace"]
            cells = [f"{n / r[0]:,.0f} ({r[0]:.2f} s, {r[1]:.0f} MB)"]
            ratios = []
            for peer in ("duckdb", "polars"):
                if peer in row:
                    p = row[peer]
                    cells.append(f"{n / p[0]:,.0f} ({p[0]:.2f} s, {p[1]:.0f} MB)")
                    ratios.append(f"{p[0] / r[0]:.2f}×")
                else:
                    cells.append("no reader")
                    ratios.append("")
            print(f"| {name} | {n:,} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print("\n| scale | input | MB | retrace ingest | MB/s | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|")
    for scale, src, mb, (t, rss) in scaling:
        print(f"| {scale}× | {src} | {mb:.0f} | {t:.2f} s | {mb / t:.0f} | {rss:.0f} MB |")


if __name__ == "__main__":
    main()
