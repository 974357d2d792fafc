#!/usr/bin/env python3
"""Two (or more) retrace builds side by side on one ingest, alternating run by run.

    python3 bench/ab.py --runs 6 --config cfg.toml OLD_BINARY NEW_BINARY

Each run starts from an empty warehouse (the `warehouse` of the config is deleted
first). Prints per binary the median and minimum wall time and the median CPU time
(user + system); peak memory is bench/run.py's. Alternating the binaries spreads the
machine's drift (its wall clock moves 15 % or more within an hour) over both; a
difference smaller than that drift needs more runs, or callgrind's instruction counts.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tomllib


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--config", required=True, help="a retrace.toml whose warehouse may be deleted")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    with open(args.config, "rb") as f:
        warehouse = tomllib.load(f).get("warehouse")
    if not warehouse or "://" in warehouse:
        sys.exit(f"{args.config}: needs a local `warehouse` folder (it is deleted before each run)")
    warehouse = os.path.join(os.path.dirname(os.path.abspath(args.config)), warehouse)
    for b in args.binaries:
        if not os.access(b, os.X_OK):
            sys.exit(f"{b}: not an executable")
    results = {b: [] for b in args.binaries}
    for _ in range(args.runs):
        for b in args.binaries:
            shutil.rmtree(warehouse, ignore_errors=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.monotonic()
            done = subprocess.run([b, "-q", "--config", args.config, "ingest"], capture_output=True, text=True)
            wall = time.monotonic() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                sys.exit(f"{b} failed ({done.returncode}):\n{done.stderr}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            results[b].append((wall, cpu))
    for b, runs in results.items():
        walls = [r[0] for r in runs]
        print(f"{b:32s} wall median {statistics.median(walls):.3f} s, min {min(walls):.3f} s; "
              f"CPU median {statistics.median(r[1] for r in runs):.2f} s")


if __name__ == "__main__":
    main()
