#!/usr/bin/env python3
"""bench/research/compare_current.py -- check engine_current.py against the real engine.

Streams a data set through the Python model of the current engine and
compares, row by row, its top-1 and confidence with the extension's own
per-expense results of a `bench/eval.sh --results DIR` run made from the
same sources.

    python3 compare_current.py birmingham --results DIR
"""
import argparse
import csv
import os
import sys
import time

sys.dont_write_bytecode = True
import engine_current  # noqa: E402
import harness  # noqa: E402
import prep  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("dataset")
ap.add_argument("--results", required=True, help="directory of a bench/eval.sh --results run")
ap.add_argument("--limit", type=int, default=0)
a = ap.parse_args()
rows = prep.load(a.dataset)
path = os.path.join(a.results, a.dataset + ".results.csv")
if a.dataset != "synthetic" and os.path.exists(path):
    # the extension numbered the rows in its own heap order: replay its order
    rows = []
    for x in csv.DictReader(open(path)):
        rows.append({"seq": int(x["seq"]), "merchant": x["merchant"], "description": None,
                     "amount": float(x["amount"]) if x["amount"] else None, "date": x["date"],
                     "category": x["category"], "user": None})
    rows.sort(key=lambda r: (r["date"], r["seq"]))
if a.limit:
    rows = rows[:a.limit]
seed = prep.seed_rules() if a.dataset == "synthetic" else ()
eng = engine_current.Engine(seed=seed)
t = time.time()
res = harness.stream(eng, rows)
print(harness.fmt(a.dataset + " (python)", harness.metrics(res)), "%.1fs" % (time.time() - t))
if os.path.exists(path):
    ref = {int(r["seq"]): r for r in csv.DictReader(open(path))}
    same = conf_close = n = 0
    first = []
    for r in res:
        x = ref.get(r.row["seq"])
        if x is None:
            continue
        n += 1
        ok = (x["predicted"] or None) == r.pred
        same += ok
        if ok and r.conf is not None and x["confidence"] and abs(float(x["confidence"]) - r.conf) < 0.01:
            conf_close += 1
        if not ok and len(first) < 8:
            first.append((r.row["seq"], r.row["merchant"], x["predicted"], r.pred, x["decider"], r.src))
    print("agreement with the extension's top-1: %.4f; confidence within 0.01: %.4f (n=%d)"
          % (same / n, conf_close / n, n))
    for f in first:
        print("  diff", f)
    # reference figures
    refres = [ref[r.row["seq"]] for r in res if r.row["seq"] in ref]
    N = len(refres)
    print("extension: top1=%.4f" % (sum(x["correct"] == "t" for x in refres) / N))
