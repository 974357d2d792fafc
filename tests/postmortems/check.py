#!/usr/bin/env python3
"""Validates every scenario in tests/postmortems/ (format: README.md). Exit 1 on a problem."""

import datetime
import pathlib
import sys
import tomllib

KINDS = {"kill_switch", "traffic_shift", "restart", "scale", "failover", "other"}
CLASSES = {"ongoing", "chronic-burn", "mitigation-not-undo", "common-cause", "delayed-effect", "cascade", "plain"}


def ts(v, where):
    try:
        t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"{where}: `{v}` is not an RFC 3339 time ({e})")
    if t.tzinfo is None:
        raise ValueError(f"{where}: `{v}` has no offset")
    return t


def check(path):
    d = tomllib.loads(path.read_text())
    problems = []

    def need(cond, msg):
        if not cond:
            problems.append(msg)

    src = d.get("source", {})
    for k in ("organisation", "title", "url", "published", "summary"):
        need(src.get(k), f"source.{k} missing")
    need(str(src.get("url", "")).startswith("http"), "source.url is not a URL")
    data = d.get("data", {})
    start, end = ts(data["start"], "data.start"), ts(data["end"], "data.end")
    need(start < end, "data.start is not before data.end")
    services = {s["name"]: s for s in d.get("services", [])}
    need(services, "no [[services]]")
    need(any("slo" in s for s in services.values()), "no service has an slo")
    for s in services.values():
        for dep in s.get("depends_on", []):
            need(dep in services, f"service {s['name']} depends on unknown {dep}")
        need(0 <= s.get("baseline_error_ratio", 0) < 1, f"service {s['name']}: baseline_error_ratio out of range")
        need(s.get("requests_per_minute", 0) > 0, f"service {s['name']}: requests_per_minute missing")
    ids = set()
    for c in d.get("changes", []):
        ids.add(c["id"])
        t = ts(c["ts"], f"change {c['id']}")
        need(start <= t < end, f"change {c['id']} outside the data")
        need(c.get("service", "") in services or not c.get("service"), f"change {c['id']}: unknown service")
    for c in d.get("deploys", []):
        ids.add(c["id"])
        a, b = ts(c["started"], f"deploy {c['id']}"), ts(c["ended"], f"deploy {c['id']}")
        need(start <= a <= b, f"deploy {c['id']} starts before the data or ends before it starts")
        need(c.get("service") in services, f"deploy {c['id']}: unknown service")
        need(c.get("status") in {"succeeded", "failed", "rolled_back"}, f"deploy {c['id']}: bad status")
    for c in d.get("changes", []):
        if c.get("reverts"):
            need(c["reverts"] in ids, f"change {c['id']} reverts unknown {c['reverts']}")
    impact = d.get("impact", [])
    need(impact, "no [[impact]]")
    for i in impact:
        f = ts(i["from"], f"impact {i['service']}")
        need(i["service"] in services, f"impact on unknown service {i['service']}")
        need(start <= f < end, f"impact on {i['service']} starts outside the data")
        need(0 < i.get("error_ratio", 0) <= 1, f"impact on {i['service']}: error_ratio out of range")
        if "until" in i:
            need(f < ts(i["until"], f"impact {i['service']}.until"), f"impact on {i['service']} ends before it starts")
    for a in d.get("actions", []):
        t = ts(a["ts"], "action")
        need(start <= t < end, f"action at {a['ts']} outside the data")
        need(a.get("kind") in KINDS, f"action at {a['ts']}: kind must be one of {sorted(KINDS)}")
    truth = d.get("truth", {})
    need("culprit" in truth, "truth.culprit missing")
    need(truth.get("culprit", "") in ids | {""}, f"truth.culprit {truth.get('culprit')} is no change or deploy")
    m = truth.get("mitigation", "")
    if m.startswith("action:"):
        need(any(a["ts"] == m[7:] for a in d.get("actions", [])), f"truth.mitigation {m} names no action")
    elif m:
        need(m in ids, f"truth.mitigation {m} is no change or deploy")
    need(set(truth.get("classes", [])) <= CLASSES and truth.get("classes"), f"truth.classes must come from {sorted(CLASSES)}")
    ongoing = any("until" not in i for i in impact)
    need(truth.get("ongoing", False) == ongoing, "truth.ongoing disagrees with the impact (an impact without `until`)")
    return problems


def main():
    folder = pathlib.Path(__file__).parent
    files = sorted(folder.glob("*.toml"))
    bad = 0
    for f in files:
        try:
            problems = check(f)
        except Exception as e:  # noqa: BLE001
            problems = [f"unreadable: {e}"]
        for p in problems:
            print(f"{f.name}: {p}")
        bad += bool(problems)
    print(f"{len(files)} scenarios, {bad} with problems")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
