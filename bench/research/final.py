#!/usr/bin/env python3
"""bench/research/final.py -- the headline table and reliability tables.

Current engine (Python model) and the proposed design (results/calib_final.json
+ online recalibration) on every stream, whole and by half (Birmingham's first
half and the synthetic set's first half are where the few hyperparameters and
the confidence map were fitted; everything else is held out), at the proposed
default min_confidence TAU and at 0.5; reliability tables of the proposed
design.

    python3 final.py [--sets ...] > results/final.md
"""
import argparse
import sys

sys.dont_write_bytecode = True
import calib as C  # noqa: E402
import harness  # noqa: E402
import prep  # noqa: E402
from ablate import CALIB, TAU, at  # noqa: E402
from run import make  # noqa: E402


def line(name, part, res, current):
    m = harness.metrics(res)
    ct, pt = at(res, TAU)
    c5, p5 = at(res, 0.5, use_decided=current)
    return ("| %s | %s | %d | %.3f | %.3f | %.3f | %.2f / %.3f | %.2f / %.3f | %.3f (%d/%d) |"
            % (name, part, m["n"], m["top1"], m["top3"], 1 - m["top1"], ct, pt, c5, p5, m["max_gap"],
               m["deciles_ok"], m["deciles_100"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="birmingham,oxford,synthetic,synthetic_s7,synthetic_d0")
    a = ap.parse_args()
    print("| engine | data set (part) | n | top-1 | top-3 | corrections | coverage / precision @%.2f "
          "| coverage / precision @0.50 | max decile gap (ok/with>=100) |" % TAU)
    print("|---|---|---|---|---|---|---|---|---|")
    rels = []
    for ds in a.sets.split(","):
        rows = prep.load(ds)
        for eng in ("current", "new"):
            calib = C.OnlineRecal(C.load(CALIB)) if eng == "new" else None
            res = harness.stream(make(eng, ds, {}, calib), rows)
            h1, h2 = harness.halves(res)
            name = "current" if eng == "current" else "proposed"
            print(line(name, ds, res, eng == "current"))
            print(line(name, ds + " 1st half", h1, eng == "current"))
            print(line(name, ds + " 2nd half", h2, eng == "current"))
            if eng == "new":
                rels.append((ds, res))
            sys.stdout.flush()
    for ds, res in rels:
        print("\nReliability, proposed design, %s (confidence decile: predictions, mean confidence, "
              "observed precision, gap):\n\n```\n%s\n```" % (ds, harness.rel_table(res)))
        print("\nPrecision when the most confident share is auto-categorized (share -> precision @ threshold): "
              + "  ".join("%.2f->%.3f@%.2f" % x for x in harness.pr_curve(res)))


if __name__ == "__main__":
    main()
