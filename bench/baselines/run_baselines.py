#!/usr/bin/python3
"""bench/baselines/run_baselines.py -- stream each data set through the baselines.

    /usr/bin/python3 bench/baselines/run_baselines.py --results DIR
        [--only LEARNER,...] NAME ...

For each data set NAME, reads DIR/NAME.stream.csv (stream.py), which
bench/eval.sh writes before the engine streams the set (so this runs
beside the engine, on another core), runs every learner of learners.py and
sk_learners.py on its rows, prequentially, and writes DIR/NAME.baselines.csv
(learner, seq, correct, top3, confidence: one line per learner and row)
and DIR/NAME.baselines.json (per learner: its name, whether it ranks,
whether its confidence is a probability, its seconds, notes).
side_by_side.py reads them.  --only runs the learners named (class names,
comma-separated).  Several of these may run at once on the same sets: each
takes the sets in order and skips one another has claimed (the file
DIR/NAME.baselines.claim, created by whoever takes the set).  No parameter of any learner depends on the data set.
"""
import argparse
import csv
import json
import os
import sys
import time

sys.dont_write_bytecode = True      # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import learners  # noqa: E402
import sk_learners  # noqa: E402
import stream  # noqa: E402

LEARNERS = [learners.DecayedMajority, learners.ActualBudget, learners.LastFive, learners.GnuCashBayes,
            sk_learners.SmartImporter, sk_learners.KNN]


def run_set(results, name, classes):
    rows = stream.load_rows(results, name)
    meta = []
    tmp = os.path.join(results, name + ".baselines.csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["learner", "seq", "correct", "top3", "confidence"])
        for cls in classes:
            t0 = time.time()
            learner = cls()
            answers = learner.run(rows)
            took = time.time() - t0
            for r, (ranked, conf) in zip(rows, answers):
                cats = [c for c, _ in ranked]
                w.writerow([cls.__name__, r["seq"], int(bool(cats) and cats[0] == r["category"]),
                            int(r["category"] in cats[:3]), "" if not cats or conf is None else repr(conf)])
            meta.append({"class": cls.__name__, "name": cls.name, "ranks": cls.ranks,
                         "probabilistic": cls.probabilistic, "seconds": took,
                         "notes": learner.notes() if hasattr(learner, "notes") else None})
            print("run_baselines: %s / %s: %.1f s" % (name, cls.name, took), file=sys.stderr, flush=True)
    with open(os.path.join(results, name + ".baselines.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    os.replace(tmp, os.path.join(results, name + ".baselines.csv"))


def claim(results, name):
    """True when this process takes set NAME (no other one has)."""
    try:
        os.close(os.open(os.path.join(results, name + ".baselines.claim"), os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", required=True, help="the directory of bench/eval.sh --results")
    p.add_argument("--only", help="comma-separated class names of the learners to run")
    p.add_argument("sets", nargs="+", help="data set names")
    args = p.parse_args()
    classes = LEARNERS
    if args.only:
        want = args.only.split(",")
        unknown = set(want) - {c.__name__ for c in LEARNERS}
        if unknown:
            p.error("no learner named %s (have %s)" % (", ".join(sorted(unknown)),
                                                        ", ".join(c.__name__ for c in LEARNERS)))
        classes = [c for c in LEARNERS if c.__name__ in want]
    try:
        for name in args.sets:
            if claim(args.results, name):
                run_set(args.results, name, classes)
    except stream.StreamError as e:
        sys.exit("run_baselines: %s" % e)


if __name__ == "__main__":
    main()
