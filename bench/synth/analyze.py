#!/usr/bin/env python3
"""bench/synth/analyze.py -- where categorize loses accuracy on the synthetic set.

Joins the per-expense results that `bench/eval.sh --results DIR` keeps
(DIR/synthetic.results.csv) with the generator's metadata
(DIR/synthetic_meta.csv: how each row was made) and prints accuracy broken
down by the generation rules: merchant tier (national chain, regional
chain, local, one-off), why the label differs from the merchant's usual
category (an owner's policy, a coarser taxonomy, a slip), bank statement
style, first sight of a merchant, and the merchants that cost the most
corrections.  Standard library only.

    python3 bench/synth/analyze.py DIR
"""
import collections
import csv
import os
import sys


def load(directory):
    """Results rows with their generation metadata merged in."""
    meta = {r["seq"]: r for r in csv.DictReader(open(os.path.join(directory, "synthetic_meta.csv")))}
    rows = []
    for r in csv.DictReader(open(os.path.join(directory, "synthetic.results.csv"))):
        m = meta[r["seq"]]
        r.update({k: v for k, v in m.items() if k != "seq"})
        r["correct"] = r["correct"] == "t"
        r["categorized"] = r["categorized"] == "t"
        r["top3"] = r["top3"] == "t"
        rows.append(r)
    return rows


def table(title, rows, key, min_n=1, limit=None, order="n"):
    """Print accuracy figures of rows grouped by key(row)."""
    groups = collections.defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    total = len(rows)
    total_wrong = sum(not r["correct"] for r in rows) or 1
    out = []
    for k, g in groups.items():
        n = len(g)
        if n < min_n:
            continue
        wrong = sum(not r["correct"] for r in g)
        cov = [r for r in g if r["categorized"]]
        out.append((k, n, n / total, sum(r["correct"] for r in g) / n, sum(r["top3"] for r in g) / n,
                    len(cov) / n, (sum(r["correct"] for r in cov) / len(cov)) if cov else float("nan"),
                    sum(r["decider"] == "none" for r in g) / n, wrong, wrong / total_wrong))
    out.sort(key=lambda x: -x[1] if order == "n" else -x[8])
    if limit:
        out = out[:limit]
    print()
    print(title)
    print("%-44s %6s %6s %6s %6s %6s %6s %6s %6s %6s" % ("", "n", "share", "top1", "top3", "cover",
                                                        "prec", "none", "wrong", "ofwrong"))
    for k, n, share, acc, top3, cov, prec, none, wrong, ofw in out:
        print("%-44s %6d %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6d %6.3f" % (str(k)[:44], n, share, acc, top3,
                                                                           cov, prec, none, wrong, ofw))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = load(sys.argv[1])
    seen_user = set()
    for r in rows:
        k = (r["user_id"], r["merchant_key"])
        r["first_user"] = k not in seen_user
        seen_user.add(k)
    table("by merchant tier", rows, lambda r: r["tier"])
    table("by why the label differs from the merchant's usual category", rows, lambda r: r["why"] or "(usual)")
    table("by first sight (any user / this user)", rows,
          lambda r: "%s merchant, %s for user" % ("new" if r["first_global"] == "1" else "known",
                                                  "new" if r["first_user"] else "known"))
    table("by bank statement style", rows, lambda r: r["bank"])
    table("by what decided the top-1", rows, lambda r: r["decider"])
    table("by tier x decider", rows, lambda r: "%s / %s" % (r["tier"], r["decider"]), min_n=50)
    table("national chains costing the most corrections", [r for r in rows if r["tier"] == "national"],
          lambda r: r["merchant_key"][2:], limit=25, order="wrong")
    table("amount-decided expenses (users who split a big-box store)", [r for r in rows if r["policy"] == "split"],
          lambda r: "%s -> %s" % (r["merchant_key"][2:], r["basket"]))


if __name__ == "__main__":
    main()
