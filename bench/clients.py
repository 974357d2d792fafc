"""Concurrent SQL clients for bench/run.py's server task; runs in the bench venv.

    python clients.py server HOST:PORT CLIENTS QUERIES_PER_CLIENT
    python clients.py duckdb WAREHOUSE CLIENTS QUERIES_PER_CLIENT
    python clients.py window HOST:PORT RUNS

`server` connects CLIENTS psycopg connections to `retrace serve` and has each run the
same seeded mix of analyst queries (one-hour windows at random hours of the bench day);
`duckdb` runs the identical SQL text from CLIENTS threads, each with its own cursor on one
DuckDB database whose `logs` view reads retrace's own Parquet files. Both print one JSON
line: queries, wall seconds, queries per second, latency percentiles and a checksum of
the answers (so the two engines are seen to answer the same questions alike).

`window` times, on one open connection, the one-hour window query against the full scan
(the query bench/run.py also runs through one-shot `retrace sql` processes).
"""

import json
import random
import statistics
import sys
import threading
import time

DAY = "2026-11-19"

# What an analyst's dashboard and ad-hoc session ask of one hour of logs.
TEMPLATES = [
    "SELECT count(*) AS n, max(length(msg)) AS longest FROM logs WHERE ts >= '{a}' AND ts < '{b}'",
    "SELECT service, date_trunc('minute', ts) AS minute, "
    "avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END) AS ratio_5xx "
    "FROM logs WHERE ts >= '{a}' AND ts < '{b}' GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT msg, count(*) AS n FROM logs WHERE service = 'payments' AND ts >= '{a}' AND ts < '{b}' "
    "GROUP BY msg ORDER BY n DESC, msg LIMIT 10",
    "SELECT ts, service, host, msg FROM logs WHERE level = 'error' AND ts >= '{a}' AND ts < '{b}' "
    "ORDER BY ts, host, msg LIMIT 100",
]

WINDOW = TEMPLATES[0]
FULL = "SELECT count(*) AS n, max(length(msg)) AS longest FROM logs"


def mix(client, n):
    """The queries one client runs: seeded per client, identical for both engines."""
    rng = random.Random(1000 + client)
    out = []
    for _ in range(n):
        hour = rng.randrange(24)
        a, b = f"{DAY}T{hour:02}:00:00Z", (f"{DAY}T{hour + 1:02}:00:00Z" if hour < 23 else "2026-11-20T00:00:00Z")
        out.append(rng.choice(TEMPLATES).format(a=a, b=b))
    return out


def checksum(rows):
    """Order-independent sum over the answers' first integer-valued column."""
    total = 0
    for row in rows:
        for v in row:
            if isinstance(v, int) and not isinstance(v, bool):
                total += v
                break
    return total


def run_clients(connect, clients, per_client):
    """Runs the mix from `clients` threads after one barrier; returns the JSON figures."""
    conns = [connect() for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    latencies, sums, errors = [], [0] * clients, []

    def worker(i):
        cur = conns[i].cursor()
        queries = mix(i, per_client)
        barrier.wait()
        for q in queries:
            t = time.perf_counter()
            try:
                cur.execute(q)
                sums[i] += checksum(cur.fetchall())
            except Exception as e:  # a failed query is a result, reported, not a crash
                errors.append(f"{type(e).__name__}: {e}")
            latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return {
        "queries": n,
        "wall": wall,
        "qps": n / wall,
        "p50_ms": latencies[n // 2] * 1e3,
        "p95_ms": latencies[min(n - 1, int(n * 0.95))] * 1e3,
        "checksum": sum(sums),
        "errors": errors[:3],
        "failed": len(errors),
    }


def server_connect(addr):
    import psycopg

    host, port = addr.rsplit(":", 1)

    def connect():
        return psycopg.connect(host=host, port=int(port), user="retrace", dbname="retrace", autocommit=True)

    return connect


def duckdb_connect(warehouse):
    import duckdb

    db = duckdb.connect()
    db.sql("SET threads = 2")
    db.sql(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{warehouse}/logs/*/*.parquet')")
    return db.cursor


def main():
    mode = sys.argv[1]
    if mode == "window":
        connect, runs = server_connect(sys.argv[2]), int(sys.argv[3])
        cur = connect().cursor()
        hour = TEMPLATES[0].format(a=f"{DAY}T14:00:00Z", b=f"{DAY}T15:00:00Z")
        times = {"window": [], "full": []}
        cur.execute(FULL)  # the first query pays the footers once, as a server does
        cur.fetchall()
        for _ in range(runs):
            for name, q in (("window", hour), ("full", FULL)):
                t = time.perf_counter()
                cur.execute(q)
                cur.fetchall()
                times[name].append(time.perf_counter() - t)
        print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
        return
    clients, per_client = int(sys.argv[3]), int(sys.argv[4])
    connect = server_connect(sys.argv[2]) if mode == "server" else duckdb_connect(sys.argv[2])
    print(json.dumps(run_clients(connect, clients, per_client)))


if __name__ == "__main__":
    main()
