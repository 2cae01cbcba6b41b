#!/usr/bin/python3
"""bench/baselines/side_by_side.py -- categorize beside the learners a user could pick instead.

    /usr/bin/python3 bench/baselines/side_by_side.py --results DIR [--out DIR]
        [--command TEXT] [--only LEARNER,...] NAME[=FILE.csv] ...

Reads what `bench/eval.sh --results DIR` keeps for each data set NAME: the
engine's per-expense results (NAME.results.csv), categorize.normalize() of
every distinct text (NAME.normalized.csv, fetched from the same server) and,
for the synthetic sets, the CSV that was streamed (NAME.csv); the council
sets are read from FILE (default data/NAME_pcard.csv).  It streams every
set through each learner of learners.py and sk_learners.py in the order of
bench/eval.sql (date, then file order), prequentially, and prints one
table: a row per (set, learner), the engine first, with the columns of
metrics.py.  --out DIR writes DIR/side_by_side.md and DIR/reliability.png.
First-seen: the expense's key (owner, normalized merchant; no owner on the
council sets) had not occurred earlier in the stream.
"""
import argparse
import csv
import datetime
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import learners  # noqa: E402
import metrics  # noqa: E402

top = os.path.dirname(os.path.dirname(here))


def load(name, file, results):
    """The set's rows in stream order, their labels, and the engine's outcomes."""
    norm = {}
    with open(os.path.join(results, name + ".normalized.csv"), encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            norm[r["text"]] = r["normalized"] or ""
    synthetic = name.startswith("synthetic")
    path = os.path.join(results, name + ".csv") if synthetic else (file or os.path.join(top, "data", name + "_pcard.csv"))
    raw = []
    with open(path, encoding="utf-8", newline="") as f:
        for seq, r in enumerate(csv.DictReader(f), start=1):
            if synthetic:
                merchant, desc, user = r["merchant"], r["description"] or None, r["user_id"] or None
            else:
                merchant, desc, user = r["description"], None, None
            raw.append({"seq": seq, "user": user, "key": norm.get(merchant, "") if merchant else "",
                        "desc": norm.get(desc, "") if desc else "", "amount": float(r["amount"]),
                        "date": r["date"], "category": r["category"]})
    raw.sort(key=lambda r: (r["date"], r["seq"]))
    d0 = datetime.date.fromisoformat(raw[0]["date"])
    seen = set()
    for pos, r in enumerate(raw):
        r["pos"] = pos
        r["day"] = (datetime.date.fromisoformat(r["date"]) - d0).days
        k = (r["user"], r["key"])
        r["first_seen"] = k not in seen
        seen.add(k)
    engine = {}
    with open(os.path.join(results, name + ".results.csv"), encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            engine[int(r["seq"])] = r
    if len(engine) != len(raw):
        sys.exit("side_by_side: %s: %d engine results for %d rows" % (name, len(engine), len(raw)))
    eng = []
    for r in raw:
        e = engine[r["seq"]]
        if e["category"] != r["category"]:
            sys.exit("side_by_side: %s: row %d differs from the engine's" % (name, r["seq"]))
        answered = e["predicted"] != ""
        eng.append(metrics.Outcome(e["correct"] == "t", e["top3"] == "t",
                                   float(e["confidence"]) if answered and e["confidence"] else None,
                                   r["first_seen"]))
    return raw, [r["category"] for r in raw], eng


def outcomes_of(rows, preds):
    out = []
    for r, (ranked, conf) in zip(rows, preds):
        cats = [c for c, _ in ranked]
        out.append(metrics.Outcome(bool(cats) and cats[0] == r["category"], r["category"] in cats[:3],
                                   conf if cats else None, r["first_seen"]))
    return out


def stream_online(learner, rows):
    preds = []
    for r in rows:
        preds.append(learner.predict(r))
        learner.learn(r, r["category"])
    return preds


def fmt(x):
    return "n/a" if x is None else "%.3f" % x


COLUMNS = [("top-1", "top1"), ("top-3", "top3"), ("top-1 first-seen", "top1_first"),
           ("top-1 repeats", "top1_repeat"), ("precision at coverage 0.45", "p_at_c45"),
           ("coverage at precision 0.90", "c_at_p90"), ("corrections", "corrections")]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", required=True)
    p.add_argument("--out")
    p.add_argument("--command", default="make eval")
    p.add_argument("--only", help="comma-separated learner names (class names) to run")
    p.add_argument("sets", nargs="+")
    args = p.parse_args()
    import sk_learners
    classes = [learners.DecayedMajority, learners.ActualBudget, learners.LastFive, learners.GnuCashBayes,
               sk_learners.SmartImporter, sk_learners.KNN]
    if args.only:
        classes = [c for c in classes if c.__name__ in args.only.split(",")]
    table = []          # (set, learner, summary)
    rel = {}            # set -> [(learner, reliability)]
    notes = []
    for spec in args.sets:
        name, _, file = spec.partition("=")
        if not os.path.exists(os.path.join(args.results, name + ".results.csv")):
            continue
        rows, labels, eng = load(name, file, args.results)
        secs = open(os.path.join(args.results, name + ".seconds")).read().strip() \
            if os.path.exists(os.path.join(args.results, name + ".seconds")) else "?"
        table.append((name, "categorize (this engine)", metrics.summarize(eng), secs))
        rel[name] = [("categorize", metrics.reliability(eng))]
        for cls in classes:
            t0 = time.time()
            learner = cls()
            preds = learner.run(rows, labels) if hasattr(learner, "run") else stream_online(learner, rows)
            out = outcomes_of(rows, preds)
            took = time.time() - t0
            table.append((name, cls.name, metrics.summarize(out, ranks=cls.ranks), "%.1f" % took))
            if getattr(cls, "probabilistic", True) and cls.ranks:
                rel[name].append((cls.name, metrics.reliability(out)))
            if hasattr(learner, "fits"):
                notes.append("%s: %s refitted %d times, %.0f s of fitting" % (name, cls.name, learner.fits,
                                                                             learner.fit_seconds))
            print("  %s / %s: %.1f s" % (name, cls.name, took), file=sys.stderr, flush=True)
    head = "| set | learner | " + " | ".join(c for c, _ in COLUMNS) + " | seconds |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for name, lname, s, secs in table:
        lines.append("| %s (n=%d) | %s | %s | %s |" % (name, s["n"], lname,
                                                      " | ".join(fmt(s[k]) for _, k in COLUMNS), secs))
    print("\n".join(lines))
    for n in notes:
        print(n)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_md(args, table, notes, lines)
        plot(rel, os.path.join(args.out, "reliability.png"))


def write_md(args, table, notes, lines):
    best = {}
    for name, lname, s, _ in table:
        if not lname.startswith("categorize"):
            best[name] = max(best.get(name, (0, "")), (s["top1"], lname))
    with open(os.path.join(args.out, "side_by_side.md"), "w", encoding="utf-8") as f:
        f.write("# categorize beside the learners a user could pick instead\n\n")
        f.write("Made by `%s` on %s (bench/eval.sh, then bench/baselines/side_by_side.py).\n\n"
                % (args.command, datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")))
        f.write("Every learner streams the same rows in the order of `bench/eval.sql` (date, then "
                "file order): it answers, then is told the category (the engine by "
                "`learn_correction()` on a miss; the baselines get every label). One normalizer "
                "for all: the extension's `categorize.normalize()`. The learners and what each "
                "keys on are described in `bench/baselines/learners.py` and `sk_learners.py`. "
                "First-seen: the (owner, normalized merchant) key had not occurred before. "
                "Precision at coverage 0.45: of the 45% most confident expenses; coverage at "
                "precision 0.90: the largest share a confidence threshold auto-categorizes at "
                "precision >= 0.90 (`bench/baselines/metrics.py`). Corrections: share of expenses "
                "whose first answer was wrong or absent. Seconds: the engine's stream in the "
                "server; each baseline's run in Python.\n\n")
        f.write("\n".join(lines) + "\n\n")
        f.write("Engine top-1 minus the best baseline's (issue 13's target: >= +0.02):\n\n")
        for name, lname, s, _ in table:
            if lname.startswith("categorize") and name in best:
                f.write("- %s: %.3f - %.3f (%s) = %+.3f\n" % (name, s["top1"], best[name][0], best[name][1],
                                                              s["top1"] - best[name][0]))
        if notes:
            f.write("\n" + "\n".join("- " + n for n in notes) + "\n")
        f.write("\n![reliability](reliability.png)\n")


def plot(rel, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sets = list(rel)
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 4.4), squeeze=False)
    for ax, name in zip(axes[0], sets):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        for lname, r in rel[name]:
            pts = [(mc, pr) for _, n, mc, pr in r if n >= 30]
            if not pts:
                continue
            xs, ys = zip(*pts)
            style = dict(lw=2.2, color="black", marker="o") if lname == "categorize" else dict(lw=1, marker=".")
            ax.plot(xs, ys, label=lname, **style)
        ax.set_title(name)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean confidence of the decile")
        ax.set_ylabel("observed precision")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Reliability: confidence decile vs observed precision (deciles with >= 30 predictions)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
