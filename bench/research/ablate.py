#!/usr/bin/env python3
"""bench/research/ablate.py -- the comparison table: current engine, proposed design, ablations.

    python3 ablate.py [--sets birmingham,oxford,synthetic] [--only NAME,...] [--out results/ablations.md]

Every variant streams every set (the harness protocol of harness.py) and
reports top-1, top-3, coverage and precision at min_confidence TAU (the
proposed default) and at 0.5, precision when 45% is auto-categorized,
and calibration (max decile gap over deciles with >= 100 predictions, and
how many of them are within 0.08).  Variants of the proposed design use
its confidence (the LR map cache/calib_lr3.json fitted on the tuning
halves + online recalibration); the current engine uses its own.
"""
import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
import calib as C  # noqa: E402
import harness  # noqa: E402
import prep  # noqa: E402
from run import make  # noqa: E402

TAU = 0.75
CALIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "calib_final.json")

VARIANTS = [
    ("current engine (Python model)", "current", {}),
    ("proposed design", "new", {}),
    ("- implicit observations (learn from corrections only)", "new", {"implicit": False}),
    ("implicit observations only when categorize() answered", "new", {"implicit_decided_only": True}),
    ("- decay (gamma = 1)", "new", {"gamma": 1.0}),
    ("- amount levels", "new", {"amount": False}),
    ("+ prefix levels (first word, first two words; capped)", "new", {"prefix": True}),
    ("+ prefix levels, uncapped", "new", {"prefix": True, "prefix_cap": 0}),
    ("- normalization changes (any prefix, no wrappers)", "new", {"prefix_rule": "any", "wrappers": False}),
    ("- rules above prefixes (rules below them)", "new", {"rule_pos": "below_prefix"}),
    ("- rule outcome levels", "new", {"rule_evidence": False}),
    ("token model from corrections only", "new", {"nb_docs": "corrections"}),
    ("everyone's token model: agreed keys only", "new", {"nb_global": "agreed"}),
    ("everyone's token model: none", "new", {"nb_global": "none"}),
    ("everyone's evidence = distinct owners", "new", {"owner_votes": True}),
    ("+ pin the latest correction (current contract)", "new", {"pin": True}),
    ("+ owner category remap", "new", {"remap": True}),
    ("confidence: raw posterior p", "new", {"_calib": "raw"}),
    ("confidence: LR map, no online recalibration", "new", {"_calib": "lr"}),
]


def at(results, tau, use_decided=False):
    cov = [r for r in results if (r.decided if use_decided else (r.pred is not None and r.conf >= tau))]
    n = len(results)
    return len(cov) / n, (sum(r.correct for r in cov) / len(cov)) if cov else float("nan")


def figures(results, current):
    m = harness.metrics(results)
    c75, p75 = at(results, TAU)
    c50, p50 = at(results, 0.5, use_decided=current)
    curve = dict((round(s, 2), pr) for s, pr, _ in harness.pr_curve(results, points=(0.45,)))
    return {"top1": m["top1"], "top3": m["top3"], "cov_tau": c75, "prec_tau": p75, "cov_50": c50,
            "prec_50": p50, "prec_at_45": curve.get(0.45, float("nan")), "gap": m["max_gap"],
            "deciles": "%d/%d" % (m["deciles_ok"], m["deciles_100"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="birmingham,oxford,synthetic")
    ap.add_argument("--only")
    ap.add_argument("--out", default=os.path.join("results", "ablations.md"))
    a = ap.parse_args()
    sets = a.sets.split(",")
    data = {ds: prep.load(ds) for ds in sets}
    only = set(a.only.split(",")) if a.only else None
    table = []
    for name, eng, kw in VARIANTS:
        if only and not any(o in name for o in only):
            continue
        kw = dict(kw)
        cal = kw.pop("_calib", "online")
        row = {"variant": name}
        for ds in sets:
            calib = None
            if eng == "new" and cal != "raw":
                calib = C.load(CALIB)
                if cal == "online":
                    calib = C.OnlineRecal(calib)
            t = time.time()
            res = harness.stream(make(eng, ds, kw, calib), data[ds])
            row[ds] = figures(res, eng == "current")
            row[ds]["seconds"] = time.time() - t
            print("%-55s %-11s %s" % (name[:55], ds, " ".join(
                "%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v) for k, v in row[ds].items())))
            sys.stdout.flush()
        table.append(row)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out.replace(".md", ".json"), "w") as f:
        json.dump(table, f, indent=1)
    with open(a.out, "w") as f:
        f.write("Columns per data set: top-1 / top-3 / coverage@%.2f / precision@%.2f / precision when 45%% is "
                "covered / max calibration gap (deciles ok)\n\n" % (TAU, TAU))
        f.write("| variant | " + " | ".join(sets) + " |\n|---|" + "---|" * len(sets) + "\n")
        for row in table:
            cells = []
            for ds in sets:
                x = row[ds]
                cells.append("%.3f / %.3f / %.2f / %.3f / %.3f / %.3f (%s)" % (
                    x["top1"], x["top3"], x["cov_tau"], x["prec_tau"], x["prec_at_45"], x["gap"], x["deciles"]))
            f.write("| %s | %s |\n" % (row["variant"], " | ".join(cells)))
    print("wrote", a.out)


if __name__ == "__main__":
    main()
