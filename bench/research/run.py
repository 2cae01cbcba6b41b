#!/usr/bin/env python3
"""bench/research/run.py -- stream data sets through an engine and print the figures.

    python3 run.py [--engine new|current] [--sets birmingham,oxford,synthetic]
                   [--calib FILE] [--set key=value ...] [--halves] [--rel]

--set overrides a hyperparameter of engine_new.DEFAULTS (e.g. --set gamma=0.9
--set amount=False).  --halves prints the first and second half of each stream
separately (Birmingham's first half is where hyperparameters were tuned).
"""
import argparse
import ast
import sys
import time

sys.dont_write_bytecode = True
import engine_current  # noqa: E402
import engine_new  # noqa: E402
import harness  # noqa: E402
import prep  # noqa: E402


def make(engine, dataset, sets, calib=None):
    seed = prep.seed_rules() if dataset.startswith("synthetic") else ()
    if engine == "current":
        return engine_current.Engine(seed=seed, **sets)
    return engine_new.Engine(seed=seed, calib=calib, **sets)


def parse_sets(items):
    out = {}
    for s in items or ():
        k, v = s.split("=", 1)
        try:
            out[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            out[k] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="new")
    ap.add_argument("--sets", default="birmingham,oxford,synthetic")
    ap.add_argument("--set", action="append")
    ap.add_argument("--calib")
    ap.add_argument("--halves", action="store_true")
    ap.add_argument("--rel", action="store_true")
    ap.add_argument("--part", choices=("all", "first", "second"), default="all",
                    help="stream only the first (tuning) or second half of each set")
    ap.add_argument("--min-confidence", type=float)
    ap.add_argument("--online", action="store_true", help="online recalibration (calib.OnlineCalib)")
    ap.add_argument("--curve", action="store_true", help="precision at fixed coverage")
    ap.add_argument("--breakdown", action="store_true", help="by new/repeat key (per owner) and decider")
    a = ap.parse_args()
    sets = parse_sets(a.set)
    calib = None
    if a.calib:
        import calib as C
        calib = C.load(a.calib)
    if a.min_confidence is not None:
        sets["min_confidence"] = a.min_confidence
    for ds in a.sets.split(","):
        rows = prep.load(ds)
        if a.part == "first":
            rows = rows[:len(rows) // 2]
        elif a.part == "second":
            rows = rows[len(rows) // 2:]
        if calib is not None and a.online:
            calib = C.OnlineRecal(C.load(a.calib))   # fresh online state per data set
        eng = make(a.engine, ds, sets, calib)
        t = time.time()
        res = harness.stream(eng, rows)
        dt = time.time() - t
        print(harness.fmt(ds, harness.metrics(res)), "%.0fs" % dt)
        if a.halves:
            h1, h2 = harness.halves(res)
            print(harness.fmt("  first half", harness.metrics(h1)))
            print(harness.fmt("  second half", harness.metrics(h2)))
        if a.breakdown:
            import norm
            mark = harness.seen_marker(rows, norm.normalize)
            for k, n, acc, cov, pr in harness.breakdown(res, lambda r: (mark[r.row["seq"]], r.src)):
                if n >= 20:
                    print("    %-32s n=%6d top1=%.3f cov=%.3f prec=%.3f" % (" / ".join(k), n, acc, cov, pr))
            for k, n, acc, cov, pr in harness.breakdown(res, lambda r: mark[r.row["seq"]]):
                print("    %-32s n=%6d top1=%.3f cov=%.3f prec=%.3f" % (k, n, acc, cov, pr))
        if a.breakdown and ds.startswith("synthetic"):
            seen = set()
            first = {}
            for r in rows:
                k = (r["user"], r["meta"]["merchant_key"])
                first[r["seq"]] = "first" if k not in seen else "again"
                seen.add(k)
            for k, n, acc, cov, pr in harness.breakdown(
                    res, lambda r: (r.row["meta"]["why"] or "usual", first[r.row["seq"]], r.row["meta"]["tier"])):
                if n >= 100:
                    print("    %-32s n=%6d top1=%.3f cov=%.3f prec=%.3f" % (" / ".join(k), n, acc, cov, pr))
        if a.curve:
            print("    coverage->precision@threshold: " + "  ".join(
                "%.2f->%.3f@%.2f" % x for x in harness.pr_curve(res)))
        if a.rel:
            print(harness.rel_table(res))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
