#!/usr/bin/env python3
"""bench/research/tune.py -- one-at-a-time sweeps of hyperparameters on a tuning stream.

    python3 tune.py --sets birmingham --part first --base nb_docs="'distinct'" \
        --sweep gamma=0.7,0.8,0.85,0.9,0.95 --sweep beta_key=0.5,1,2
Prints top-1 (and coverage/precision/ECE) per value; --base sets the others.
"""
import argparse
import sys

sys.dont_write_bytecode = True
import harness  # noqa: E402
import prep  # noqa: E402
from run import make, parse_sets  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sets", default="birmingham")
ap.add_argument("--part", default="first")
ap.add_argument("--base", action="append")
ap.add_argument("--sweep", action="append")
a = ap.parse_args()
base = parse_sets(a.base)
data = {}
for ds in a.sets.split(","):
    rows = prep.load(ds)
    if a.part == "first":
        rows = rows[:len(rows) // 2]
    elif a.part == "second":
        rows = rows[len(rows) // 2:]
    data[ds] = rows
for sw in a.sweep:
    k, vals = sw.split("=", 1)
    for v in vals.split(","):
        sets = dict(base)
        sets.update(parse_sets(["%s=%s" % (k, v)]))
        line = []
        for ds, rows in data.items():
            m = harness.metrics(harness.stream(make("new", ds, sets), rows))
            line.append("%s top1=%.4f top3=%.4f" % (ds[:4], m["top1"], m["top3"]))
        print("%-14s %-8s %s" % (k, v, "  ".join(line)))
        sys.stdout.flush()
