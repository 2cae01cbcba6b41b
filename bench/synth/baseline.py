#!/usr/bin/env python3
"""bench/synth/baseline.py -- a plain reference learner on the synthetic set.

To tell what the synthetic set allows from what the engine does, this
streams the same CSV in the same order (date, then file order) through a
deliberately simple online learner and prints its top-1 accuracy, overall
and by the generator's tiers (with --meta).  Standard library only; no
claim to be good, only to be plain:

  1. the user's own memory: the label this user last gave this normalized
     merchant text (and, for a merchant the user filed under two
     categories, the one of the nearest amount);
  2. everyone's memory: the label most users gave this merchant text, once
     at least --min-users users gave it;
  3. the seed rules (bench/synth/seed_rules.sql): the longest merchant
     rule whose words occur in the merchant text, else the longest keyword
     rule found in the merchant text or the description;
  4. naive Bayes over the words of merchant and description, learned from
     every user's corrections (everyone's model, not only the user's).

It learns, like bench/eval.sh, only when its top-1 was wrong.  The
normalization imitates categorize.normalize() roughly (case, processor
prefix, card-network words, store numbers, card tails, reference codes).

    python3 bench/synth/baseline.py synth.csv [--meta meta.csv] [--no-model]
        [--predictions out.csv]
"""
import argparse
import collections
import csv
import math
import os
import re

NETWORK = {"ach", "card", "checkcard", "chkcard", "contactless", "credit", "dbt", "debit", "eftpos",
           "maestro", "mastercard", "paypass", "paywave", "pos", "purchase", "recurring", "visa"}
PREFIX = re.compile(r"^\s*[A-Za-z0-9]{1,8}\s*\*(?!\*)")


def normalize(text):
    """Rough categorize.normalize(): lower-case words without statement noise."""
    if not text:
        return ""
    raw = text
    m = PREFIX.match(raw)
    if m:
        raw = raw[m.end():]
    raw = re.sub(r"#\s*\d+", " ", raw)
    raw = re.sub(r"(?i)\b[x*]{2,}\d+", " ", raw)
    raw = re.sub(r"(\w)'(\w)", r"\1\2", raw)
    words = re.findall(r"[0-9a-z]+", raw.lower())
    while words and words[0] in NETWORK:
        if words[0] in ("checkcard", "chkcard") and len(words) > 1 and re.fullmatch(r"\d{4}", words[1]):
            words = words[2:]
        else:
            words = words[1:]
    out = []
    for w in words:
        if w.isdigit() and len(w) >= 3:
            continue
        if len(w) >= 6 and sum(c.isdigit() for c in w) >= 3:
            continue
        out.append(w)
    return " ".join(out)


def load_seed(path):
    """(merchant rules, keyword rules) as lists of (word tuple, category)."""
    merchant, keyword = [], []
    pat = re.compile(r"^\s*\('((?:[^']|'')*)', '(merchant|keyword)', '((?:[^']|'')*)'\),?\s*$")
    for line in open(path, encoding="utf-8"):
        m = pat.match(line)
        if m:
            cat, kind, value = (m.group(1).replace("''", "'"), m.group(2), m.group(3).replace("''", "'"))
            words = tuple(normalize(value).split())
            if words:
                (merchant if kind == "merchant" else keyword).append((words, cat))
    merchant.sort(key=lambda x: -len(" ".join(x[0])))
    keyword.sort(key=lambda x: -len(" ".join(x[0])))
    return merchant, keyword


def contains(words, sub):
    """Do the words contain sub as consecutive words?"""
    n = len(sub)
    return any(tuple(words[i:i + n]) == sub for i in range(len(words) - n + 1))


class NaiveBayes:
    """Multinomial naive Bayes over words and 4-grams of words."""

    def __init__(self):
        self.docs = collections.Counter()
        self.words = collections.defaultdict(collections.Counter)
        self.total = collections.Counter()
        self.vocab = set()

    @staticmethod
    def features(merchant, description):
        words = (merchant + " " + description).split()
        feats = list(words)
        for w in words:
            feats += ["#" + w[i:i + 4] for i in range(max(1, len(w) - 3))]
        return feats

    def learn(self, feats, cat):
        self.docs[cat] += 1
        for f in feats:
            self.words[cat][f] += 1
            self.total[cat] += 1
            self.vocab.add(f)

    def predict(self, feats):
        if not self.docs:
            return None
        n = sum(self.docs.values())
        v = len(self.vocab) + 1
        best, best_lp = None, -math.inf
        for cat, d in self.docs.items():
            lp = math.log(d / n)
            wc, tot = self.words[cat], self.total[cat]
            for f in feats:
                if f in self.vocab:
                    lp += math.log((wc[f] + 0.5) / (tot + 0.5 * v))
            if lp > best_lp:
                best, best_lp = cat, lp
        return best


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv")
    p.add_argument("--meta", help="the generator's --meta file, for a breakdown by tier")
    p.add_argument("--seed-rules", default=os.path.join(here, "seed_rules.sql"))
    p.add_argument("--min-users", type=int, default=3)
    p.add_argument("--no-model", action="store_true", help="without step 4")
    p.add_argument("--predictions", help="write seq,predicted,step here (seq = row number in the CSV)")
    args = p.parse_args()

    seed_m, seed_k = load_seed(args.seed_rules)
    own = {}                                          # (user, text) -> [(amount, category)]
    everyone = collections.defaultdict(dict)          # text -> {user: category}
    nb = NaiveBayes()
    rows = list(csv.DictReader(open(args.csv, encoding="utf-8")))
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["date"], i))
    meta = list(csv.DictReader(open(args.meta))) if args.meta else None
    by_tier = collections.defaultdict(lambda: [0, 0])
    by_step = collections.defaultdict(lambda: [0, 0])
    correct = corrections = 0
    preds = {}
    for i in order:
        r = rows[i]
        text, desc = normalize(r["merchant"]), normalize(r["description"])
        amount, user, truth = float(r["amount"]), r["user_id"], r["category"]
        words = text.split()
        pred, step = None, "none"
        mine = own.get((user, text))
        if mine:
            pred, step = min(mine, key=lambda x: abs(x[0] - amount))[1], "own memory"
        if pred is None and len(everyone.get(text, {})) >= args.min_users:
            votes = collections.Counter(everyone[text].values())
            pred, step = votes.most_common(1)[0][0], "everyone's memory"
        if pred is None:
            for sub, cat in seed_m:
                if contains(words, sub):
                    pred, step = cat, "seed merchant"
                    break
        if pred is None:
            both = words + ["|"] + desc.split()
            for sub, cat in seed_k:
                if contains(both, sub):
                    pred, step = cat, "seed keyword"
                    break
        feats = NaiveBayes.features(text, desc)
        if pred is None and not args.no_model:
            pred = nb.predict(feats)
            step = "model" if pred else "none"
        ok = pred == truth
        preds[i] = (pred, step)
        correct += ok
        by_step[step][0] += 1
        by_step[step][1] += ok
        if meta:
            t = by_tier[meta[i]["tier"]]
            t[0] += 1
            t[1] += ok
        if not ok:
            corrections += 1
            lst = own.setdefault((user, text), [])
            lst[:] = [x for x in lst if x[1] != truth or abs(x[0] - amount) > 0] + [(amount, truth)]
            everyone[text][user] = truth
            nb.learn(feats, truth)
    if args.predictions:
        with open(args.predictions, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seq", "predicted", "step"])
            for i in range(len(rows)):
                w.writerow([i + 1, preds[i][0] or "", preds[i][1]])
    n = len(rows)
    print("plain reference learner: %d expenses, top-1 %.4f, corrections %.4f" % (n, correct / n, corrections / n))
    for k, (m, c) in sorted(by_step.items(), key=lambda x: -x[1][0]):
        print("  decided by %-18s %6d  share %.3f  top-1 %.3f" % (k, m, m / n, c / m))
    for k, (m, c) in sorted(by_tier.items(), key=lambda x: -x[1][0]):
        print("  tier %-24s %6d  share %.3f  top-1 %.3f" % (k, m, m / n, c / m))


if __name__ == "__main__":
    main()
