#!/usr/bin/env python3
"""bench/research/pin_bound.py -- what the learning contract allows on repeats.

Issue 2's contract: after learn_correction() teaches category c for a
merchant, the next categorize() of that merchant (same owner) returns c.
This script replays the stream of a `bench/eval.sh --results DIR` run (rows
in the order bench/eval.sql streamed them: date, then seq) and splits it
into first-seen merchant keys and repeats (key = owner and the normalized
merchant, or the description when there is none, as the results file
holds it).  On the repeats it runs label-memory policies that see the same
information an online learner sees (the true label of each earlier row,
because a right answer stands and a wrong one is corrected):

  majority     the (decayed) most frequent label of the key so far
  pin once     the corrected label once right after a correction, then
               the majority (what the engine does)
  pin kept     the latest corrected label until the next correction

and prints their accuracy beside the engine's own, and the first-seen
accuracy the engine would need to reach a target overall.

    python3 pin_bound.py DIR [--target birmingham=0.65 --target oxford=0.55]
"""
import argparse
import collections
import csv
import os


def load(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: (r["date"], int(r["seq"])))
    return rows


def key_of(r):
    return (r["user_id"], r["merchant"] or r["description"])


def policy(rows, gamma, pin):
    """Accuracy of a label-memory policy on the repeats"""
    counts = {}
    pinned = {}
    right = n = 0
    for r in rows:
        k = key_of(r)
        truth = r["category"]
        c = counts.get(k)
        if c is None:
            counts[k] = collections.defaultdict(float, {truth: 1.0})
            pinned[k] = None
            continue
        n += 1
        guess = max(c.items(), key=lambda x: x[1])[0]
        if pin != "none" and pinned[k] is not None:
            guess = pinned[k]
            if pin == "once":
                pinned[k] = None
        if guess == truth:
            right += 1
        else:
            pinned[k] = truth          # the user corrects it
        for cat in c:
            c[cat] *= gamma
        c[truth] += 1.0
    return right / n if n else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="directory of a bench/eval.sh --results run")
    ap.add_argument("--target", action="append", default=[],
                    help="NAME=TOP1: print the first-seen accuracy needed for it")
    a = ap.parse_args()
    targets = dict(t.split("=", 1) for t in a.target)
    for name in ("birmingham", "oxford", "synthetic"):
        path = os.path.join(a.results, name + ".results.csv")
        if not os.path.exists(path):
            continue
        rows = load(path)
        seen = set()
        split = collections.Counter()
        for r in rows:
            k = key_of(r)
            group = "repeat" if k in seen else "first"
            seen.add(k)
            split[group] += 1
            split[group + "_right"] += r["correct"] == "t"
        n = len(rows)
        share_rep = split["repeat"] / n
        eng_rep = split["repeat_right"] / max(1, split["repeat"])
        eng_first = split["first_right"] / max(1, split["first"])
        print(f"{name}: {n} rows, {1 - share_rep:.3f} first-seen keys; engine top-1 "
              f"{(split['repeat_right'] + split['first_right']) / n:.4f} "
              f"(first-seen {eng_first:.3f}, repeats {eng_rep:.3f})")
        best_pinned = 0.0
        for gamma in (1.0, 0.9, 0.8):
            line = []
            for pin in ("none", "once", "kept"):
                acc = policy(rows, gamma, pin)
                if pin != "none":
                    best_pinned = max(best_pinned, acc)
                line.append(f"{pin if pin != 'none' else 'majority'} {acc:.3f}")
            print(f"  repeats, decay {gamma}: " + ", ".join(
                s.replace("once", "pin once").replace("kept", "pin kept") for s in line))
        if name in targets:
            t = float(targets[name])
            need = (t - best_pinned * share_rep) / (1 - share_rep)
            print(f"  to reach {t} with the best pinned policy on repeats ({best_pinned:.3f}), "
                  f"first-seen keys need {need:.3f} (the engine has {eng_first:.3f})")


if __name__ == "__main__":
    main()
