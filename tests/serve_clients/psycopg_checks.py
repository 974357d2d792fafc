"""retrace serve, seen by psycopg 3 (the PostgreSQL driver notebooks use).

Run by tests/serve_clients.rs against a server it started:
    python psycopg_checks.py HOST PORT PASSWORD EXPECTED_LOG_ROWS RUNAWAY_SQL
The server has a 3 s query timeout. Prints "all psycopg checks passed" at the end; any
failed check raises.
"""

import datetime
import json
import sys
import threading
import time

import psycopg
from psycopg import errors

host, port, password, expected_rows, runaway_sql = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]


def connect(pw=password):
    return psycopg.connect(host=host, port=port, user="analyst", dbname="retrace", password=pw, autocommit=True)


# Wrong password refused.
try:
    connect("not-the-password")
    raise AssertionError("a wrong password was accepted")
except psycopg.OperationalError as e:
    assert "password" in str(e).lower() or "authentication" in str(e).lower(), e
print("wrong password refused")

conn = connect()
cur = conn.cursor()

# Parameters over the extended protocol (psycopg 3 binds server-side).
cur.execute("SELECT count(*) FROM logs")
(total,) = cur.fetchone()
assert total == expected_rows, (total, expected_rows)
cur.execute("SELECT service, count(*) FROM logs WHERE level = %s GROUP BY service ORDER BY service", ("error",))
errors_by_service = cur.fetchall()
assert errors_by_service and all(isinstance(n, int) for _, n in errors_by_service), errors_by_service
cur.execute("SELECT min(ts) FROM logs")
(first,) = cur.fetchone()
assert isinstance(first, datetime.datetime) and first.utcoffset() == datetime.timedelta(0), first
cur.execute("SELECT count(*) FROM logs WHERE ts >= %s", (first + datetime.timedelta(minutes=1),))
(later,) = cur.fetchone()
assert 0 <= later < total, (later, total)
print(f"parameters: {len(errors_by_service)} services with errors; {later} of {total} rows after {first}")

# Maps as JSON text, lists as arrays.
cur.execute("SELECT labels FROM metrics WHERE cardinality(labels) > 0 LIMIT 1")
(labels,) = cur.fetchone()
labels = labels if isinstance(labels, dict) else json.loads(labels)
assert labels, labels
cur.execute("SELECT make_array('a', 'b')")
assert cur.fetchone()[0] == ["a", "b"]

# A refused DROP, and the connection still serves.
try:
    cur.execute("DROP TABLE logs")
    raise AssertionError("DROP was accepted")
except errors.ReadOnlySqlTransaction as e:
    assert "read-only" in str(e), e
cur.execute("SELECT count(*) FROM logs")
assert cur.fetchone()[0] == total
print("DROP refused (25006)")

# Catalog introspection as drivers and BI tools run it.
cur.execute(
    "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') ORDER BY 1"
)
relations = [r[0] for r in cur.fetchall()]
assert "logs" in relations and "timeline" in relations, relations
cur.execute(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
    ("logs",),
)
columns = dict(cur.fetchall())
assert "ts" in columns and "service" in columns, columns
print(f"catalog: {len(relations)} relations")

# Eight clients at once.
results, failures = [], []


def client(i):
    try:
        with connect() as c:
            for j in range(10):
                level = "error" if (i + j) % 2 == 0 else "info"
                n = c.execute("SELECT count(*) FROM logs WHERE level = %s", (level,)).fetchone()[0]
                results.append((level, n))
    except Exception as e:  # noqa: BLE001 - reported below
        failures.append(repr(e))


threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not failures, failures
assert len(results) == 80 and len({n for level, n in results if level == "error"}) == 1, results
print("8 clients: 80 answers, all agree")

# A runaway cross join is cancelled by the query timeout while another client is answered.
outcome = {}


def runaway():
    with connect() as c:
        started = time.monotonic()
        try:
            c.execute(runaway_sql).fetchone()
            outcome["error"] = None
        except errors.QueryCanceled as e:
            outcome["error"] = str(e)
        outcome["took"] = time.monotonic() - started


t = threading.Thread(target=runaway)
t.start()
time.sleep(0.5)
answered = 0
while t.is_alive():
    started = time.monotonic()
    cur.execute("SELECT count(*) FROM changes")
    cur.fetchone()
    assert time.monotonic() - started < 3, "a short query waited behind the runaway one"
    answered += 1
    time.sleep(0.2)
t.join()
assert outcome["error"] and "timeout" in outcome["error"], outcome
assert answered >= 2, answered
print(f"runaway cross join cancelled after {outcome['took']:.1f} s; {answered} other queries answered meanwhile")

print("all psycopg checks passed")
