#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Merge the --json results of `s2mmu check --shard I/N` runs into one.

usage: tools/check-merge.py SHARD.json... > merged.json

Each file holds what one shard printed with --json (one object).  The
shards must have run the same campaign (same command but for --shard);
the merge refuses objects of different kinds.  Counts (schedules, worlds,
violations) add up; a bug is found if any shard found it, with the token,
invariant and time of the shard that found it first (in seconds); the
exit status is that of the campaign run as one: 0 when the correct code
had no violation and every findable bug was found (or, for one
scenario/bug, when the expected outcome holds), 1 otherwise.
"""
import json
import sys


def load(paths):
    objs = []
    for p in paths:
        with open(p) as f:
            text = f.read().strip()
        if not text:
            sys.exit(f"check-merge: {p} is empty")
        # the last JSON object in the file (progress lines may precede it)
        objs.append(json.loads(text.splitlines()[-1]))
    return objs


def kind(o):
    if "scenarios" in o:
        return "campaign"
    if "generate" in o:
        return "generate"
    if "scenario" in o:
        return "single"
    sys.exit("check-merge: not an `s2mmu check --json` result")


def first_found(items):
    found = [i for i in items if i.get("found")]
    return min(found, key=lambda i: i.get("seconds_to_find", 0.0)) if found else None


def merge_campaign(objs):
    out = {k: v for k, v in objs[0].items() if k not in ("scenarios", "bugs")}
    out["shards"] = len(objs)
    scen = {}
    for o in objs:
        for s in o["scenarios"]:
            m = scen.setdefault(s["name"], {"name": s["name"], "schedules": 0, "violations": 0})
            m["schedules"] += s["schedules"]
            m["violations"] += s["violations"]
    out["scenarios"] = list(scen.values())
    bugs = []
    for i, b in enumerate(objs[0]["bugs"]):
        same = [o["bugs"][i] for o in objs]
        if any(x["name"] != b["name"] for x in same):
            sys.exit("check-merge: shards list different bugs")
        f = first_found(same)
        m = dict(f if f else b)
        m["found"] = f is not None
        m["schedules"] = sum(x["schedules_to_find"] for x in same)
        bugs.append(m)
    out["bugs"] = bugs
    out["total_schedules"] = sum(o["total_schedules"] for o in objs)
    ok = all(s["violations"] == 0 for s in out["scenarios"]) and \
        all(b["found"] or not b.get("scenario") for b in bugs)
    return out, ok


def merge_single(objs):
    out = dict(objs[0])
    out["shards"] = len(objs)
    out["schedules"] = sum(o["schedules"] for o in objs)
    hit = [o for o in objs if o["violation"]]
    out["violation"] = bool(hit)
    if hit:
        f = min(hit, key=lambda o: o["seconds"])
        out.update({"invariant": f["invariant"], "token": f["token"], "seconds": f["seconds"]})
    else:
        out["seconds"] = max(o["seconds"] for o in objs)
    ok = out["violation"] if out.get("bug") else not out["violation"]
    return out, ok


def merge_generate(objs):
    out = dict(objs[0])
    out["shards"] = len(objs)
    for k in ("worlds", "schedules", "violations"):
        if k in out:
            out[k] = sum(o.get(k, 0) for o in objs)
    hit = [o for o in objs if o.get("found")]
    out["found"] = bool(hit)
    if hit:
        f = min(hit, key=lambda o: o.get("seconds_to_find", 0.0))
        for k in ("invariant", "token", "seconds_to_find", "worlds_to_find",
                  "schedules_to_find"):
            if k in f:
                out[k] = f[k]
    ok = out["found"] if out.get("bug") else out.get("violations", 0) == 0
    return out, ok


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    objs = load(argv[1:])
    kinds = {kind(o) for o in objs}
    if len(kinds) != 1:
        sys.exit("check-merge: the files come from different kinds of run")
    k = kinds.pop()
    out, ok = {"campaign": merge_campaign, "single": merge_single,
               "generate": merge_generate}[k](objs)
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
