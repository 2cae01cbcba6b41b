#!/usr/bin/python3
"""bench/baselines/side_by_side.py -- the table: categorize beside the learners a user could pick instead.

    /usr/bin/python3 bench/baselines/side_by_side.py --results DIR [--out DIR]
        [--command TEXT] NAME ...

Reads, for each data set NAME, what bench/eval.sh --results DIR keeps of
the engine's stream (stream.py) and what run_baselines.py wrote of the
baselines' (NAME.baselines.csv and .json), and prints one Markdown table: a
row per (set, learner), the engine first, with the columns of metrics.py.
--out DIR writes DIR/side_by_side.md (the table and how it was made) and
DIR/reliability.png (reliability_plot.py).
"""
import argparse
import collections
import csv
import datetime
import json
import os
import sys

sys.dont_write_bytecode = True      # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402
import stream  # noqa: E402

ENGINE = "categorize (this engine)"
COLUMNS = [("top-1", "top1"), ("top-3", "top3"), ("top-1 first-seen", "top1_first"),
           ("top-1 repeats", "top1_repeat"), ("precision at coverage 0.45", "p_at_c45"),
           ("coverage at precision 0.90", "c_at_p90"), ("corrections", "corrections")]


def baselines_of(results, name, rows):
    """[(meta, outcomes)] of each baseline run_baselines.py ran on set NAME."""
    path = os.path.join(results, name + ".baselines.json")
    if not os.path.exists(path):
        raise stream.StreamError("%s: missing (run_baselines.py writes it)" % path)
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)
    answers = collections.defaultdict(dict)
    with open(os.path.join(results, name + ".baselines.csv"), encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            answers[r["learner"]][int(r["seq"])] = r
    out = []
    for m in meta:
        got = answers[m["class"]]
        if len(got) != len(rows):
            raise stream.StreamError("%s: %s answered %d of %d rows" % (name, m["class"], len(got), len(rows)))
        outcomes = []
        for row in rows:
            a = got[row["seq"]]
            outcomes.append(metrics.Outcome(a["correct"] == "1", a["top3"] == "1",
                                            float(a["confidence"]) if a["confidence"] else None,
                                            row["first_seen"]))
        out.append((m, outcomes))
    return out


def fmt(x):
    return "n/a" if x is None else "%.3f" % x


def table_lines(table):
    """The Markdown table: a row per (set, learner)."""
    lines = ["| set | learner | " + " | ".join(c for c, _ in COLUMNS) + " | seconds |",
             "|" + "---|" * (len(COLUMNS) + 3)]
    for name, learner, s, secs in table:
        lines.append("| %s | %s | %s | %s |" % (name, learner, " | ".join(fmt(s[k]) for _, k in COLUMNS),
                                               "?" if secs is None else "%.0f" % secs))
    return lines


def evaluate(results, names):
    """(table rows, reliability curves, notes) of the data sets NAMES."""
    table, curves, notes = [], {}, []
    for name in names:
        rows = stream.load_rows(results, name)
        eng, secs = stream.load_engine(results, name, rows)
        first = sum(r["first_seen"] for r in rows)
        label = "%s (n=%d, %.0f%% first-seen)" % (name, len(rows), 100.0 * first / len(rows))
        table.append((label, ENGINE, metrics.summarize(eng), secs))
        curves[name] = [("categorize", True, eng)]
        for m, out in baselines_of(results, name, rows):
            table.append((label, m["name"], metrics.summarize(out, ranks=m["ranks"]), m["seconds"]))
            curves[name].append((m["name"], m["probabilistic"], out))
            if m.get("notes"):
                notes.append("%s, %s: %s" % (name, m["name"], m["notes"]))
    return table, curves, notes


PROTOCOL = """\
Every learner streams the same rows in the same order, the order of
`bench/eval.sql` (date, then file order), and answers each expense before
it is told the expense's category (prequential). The engine learns by
`learn_correction()` (a correction on a miss, a confirmation otherwise);
every baseline is given every label. One normalizer for all: the texts are
`categorize.normalize()` of the merchant and description, computed by the
same server that ran the engine. The engine starts with no rules on the
council sets, and with `bench/synth/seed_rules.sql` on the synthetic ones
(the baselines have no such rules). What each learner keys on, and how it
follows the tool it stands for, is in the docstrings of
`bench/baselines/learners.py` and `bench/baselines/sk_learners.py`; no
parameter of any learner is set per data set.

Columns (`bench/baselines/metrics.py`): top-1 and top-3 (an absent answer is
wrong; n/a for a learner that gives one category); top-1 on first-seen
expenses (their (owner, normalized merchant) key had not occurred before in
the stream; the share is in the set's label) and on repeats; precision of
the 45% most confident expenses (n/a when the learner answers fewer than
45% of them); the largest share of expenses a confidence threshold
auto-categorizes at precision >= 0.90; corrections, the share of expenses
whose first answer was wrong or absent. The engine's confidence is that of
its first `categorize_detail()` row. Seconds: the engine's stream inside
the server (`categorize_detail()`, `categorize()` and `learn_correction()`
with a commit per expense); each baseline's whole run in Python, on the
other core while the engine streams (each slows the other a little).
"""


def write_markdown(path, command, table, notes):
    best = {}
    for name, learner, s, _ in table:
        if learner != ENGINE and (name not in best or s["top1"] > best[name][0]):
            best[name] = (s["top1"], learner)
    with open(path, "w", encoding="utf-8") as f:
        f.write("# categorize beside the learners a user could pick instead\n\n")
        f.write("Made by `%s` on %s.\n\n" % (command, datetime.datetime.now(datetime.timezone.utc)
                                             .strftime("%Y-%m-%d %H:%M UTC")))
        f.write(PROTOCOL + "\n")
        f.write("\n".join(table_lines(table)) + "\n\n")
        f.write("Engine top-1 minus the best baseline's:\n\n")
        for name, learner, s, _ in table:
            if learner == ENGINE and name in best:
                f.write("- %s: %.3f - %.3f (%s) = %+.3f\n" % (name, s["top1"], best[name][0], best[name][1],
                                                              s["top1"] - best[name][0]))
        if notes:
            f.write("\nNotes:\n\n" + "\n".join("- " + n for n in notes) + "\n")
        f.write("\n![reliability](reliability.png)\n\n"
                "`reliability.png`: top, confidence decile vs observed precision for the learners "
                "whose confidence is a probability; bottom, every learner's answers in ten "
                "equal-count groups by its own confidence vs observed precision.\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", required=True, help="the directory of bench/eval.sh --results")
    p.add_argument("--out", help="write side_by_side.md and reliability.png here")
    p.add_argument("--command", default="make eval", help="the command to name in side_by_side.md")
    p.add_argument("sets", nargs="+", help="data set names")
    args = p.parse_args()
    try:
        table, curves, notes = evaluate(args.results, args.sets)
    except stream.StreamError as e:
        sys.exit("side_by_side: %s" % e)
    print("\n".join(table_lines(table)))
    for n in notes:
        print(n)
    if args.out:
        import reliability_plot
        os.makedirs(args.out, exist_ok=True)
        write_markdown(os.path.join(args.out, "side_by_side.md"), args.command, table, notes)
        reliability_plot.plot(curves, os.path.join(args.out, "reliability.png"))
        print("side_by_side: wrote %s and %s" % (os.path.join(args.out, "side_by_side.md"),
                                                 os.path.join(args.out, "reliability.png")))


if __name__ == "__main__":
    main()
