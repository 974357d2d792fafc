#!/usr/bin/env python3
"""Reads every retrace warehouse table with DuckDB, polars and pyarrow and checks each
against what retrace itself read: row count, and for tables with `ts`, the column's type
(UTC timestamps, microseconds) and the min, max and a checksum of the instants.

    read_warehouse.py WAREHOUSE_DIR EXPECTED_JSON

EXPECTED_JSON: {"logs": {"rows": N, "ts": [min_us, max_us, checksum]}, "rejects": {"rows": N}, ...}
where checksum = sum(epoch_us % 1_000_000_007). Exits 1 listing every mismatch.
"""

import json
import sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

MOD = 1_000_000_007


def main():
    wh, expected_path = sys.argv[1], sys.argv[2]
    expected = json.load(open(expected_path))
    problems = []
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table, want in sorted(expected.items()):
        glob = f"{wh}/{table}/*/*.parquet"
        has_ts = "ts" in want
        got = {}

        # DuckDB
        rel = f"read_parquet('{glob}', hive_partitioning = true)"
        types = dict((r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall())
        rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
        got["duckdb"] = {"rows": rows}
        if has_ts:
            if types.get("ts") != "TIMESTAMP WITH TIME ZONE":
                problems.append(f"duckdb {table}.ts is {types.get('ts')}, not TIMESTAMP WITH TIME ZONE")
            lo, hi, ck = con.execute(
                f"SELECT epoch_us(min(ts)), epoch_us(max(ts)), sum(epoch_us(ts) % {MOD}) FROM {rel}"
            ).fetchone()
            got["duckdb"]["ts"] = [lo, hi, int(ck)]

        # polars
        lf = pl.scan_parquet(glob, hive_partitioning=True)
        schema = lf.collect_schema()
        rows = lf.select(pl.len()).collect().item()
        got["polars"] = {"rows": rows}
        if has_ts:
            if schema["ts"] != pl.Datetime("us", "UTC"):
                problems.append(f"polars {table}.ts is {schema['ts']}, not Datetime(us, UTC)")
            us = pl.col("ts").dt.epoch("us")
            lo, hi, ck = lf.select(us.min().alias("lo"), us.max().alias("hi"), (us % MOD).sum().alias("ck")).collect().row(0)
            got["polars"]["ts"] = [lo, hi, int(ck)]

        # pyarrow
        t = ds.dataset(f"{wh}/{table}", format="parquet", partitioning="hive").to_table()
        got["pyarrow"] = {"rows": t.num_rows}
        if has_ts:
            if t.schema.field("ts").type != pa.timestamp("us", tz="UTC"):
                problems.append(f"pyarrow {table}.ts is {t.schema.field('ts').type}, not timestamp[us, tz=UTC]")
            us = t.column("ts").cast(pa.int64())
            ck = pc.sum(pc.cast(pc.subtract(us, pc.multiply(pc.divide(us, MOD), MOD)), pa.int64())).as_py()
            got["pyarrow"]["ts"] = [pc.min(us).as_py(), pc.max(us).as_py(), int(ck)]

        for engine, g in got.items():
            if g != want:
                problems.append(f"{engine} {table}: read {g}, retrace read {want}")
        same = all(g == want for g in got.values())
        print(f"{table}: {want['rows']} rows" + (f", ts {want['ts'][0]}..{want['ts'][1]} µs" if has_ts else "")
              + (": duckdb, polars, pyarrow agree" if same else ": MISMATCH"))

    versions = f"duckdb {duckdb.__version__}, polars {pl.__version__}, pyarrow {pa.__version__}"
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"all tables read identically by {versions}")


if __name__ == "__main__":
    main()
