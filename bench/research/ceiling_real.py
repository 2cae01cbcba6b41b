#!/usr/bin/env python3
"""bench/research/ceiling_real.py -- how far simple learner families can go on the council sets.

Every learner in the harness sees every label eventually (a correct answer
is confirmed by the absence of a correction, a wrong one is corrected), so
what limits online top-1 is how predictable a label is from what came
before.  This script streams each set with full label feedback and
measures, on the normalized merchant key (categorize.normalize):

  repeats (the key was seen before):
    majority so far, last label, decayed majority (gamma), decayed majority
    per (key, amount octave) backed off to the key, and -- for reference
    only, it exploits the publisher's row order within a day, which groups
    a cardholder's rows -- "previous row's label" as a bonus;
  first-seen keys:
    the most frequent category so far, naive Bayes over word + 4-gram
    features of the distinct keys seen so far (alpha 1 and 3), NB + the
    category's amount distribution, 20-nearest keys by idf-weighted n-gram
    overlap;
  hindsight: the per-key majority label over the whole stream (not an
    online learner: a bound for any learner that gives a key one label).

    python3 ceiling_real.py [birmingham] [oxford]
"""
import collections
import math
import sys

sys.dont_write_bytecode = True
import norm  # noqa: E402
import prep  # noqa: E402
from engine_current import features  # noqa: E402
from engine_new import NB, amount_bucket, nb_posterior  # noqa: E402


def argmax(d):
    return max(d.items(), key=lambda x: (x[1], x[0]))[0]


def run(name):
    rows = prep.load(name)
    N = len(rows)
    hist = collections.defaultdict(list)          # key -> [(cat, amount)]
    dec = collections.defaultdict(lambda: collections.defaultdict(float))
    deca = collections.defaultdict(lambda: collections.defaultdict(float))
    nb1, nb3 = NB(), NB()
    seen_kc = set()
    catfreq = collections.Counter()
    cat_amt = collections.defaultdict(collections.Counter)
    inv = collections.defaultdict(set)
    labels = collections.defaultdict(collections.Counter)
    rep = collections.Counter()
    new = collections.Counter()
    nrep = nnew = 0
    prev = None
    for r in rows:
        k = norm.normalize(r["merchant"])
        t = r["category"]
        a = r["amount"]
        b = amount_bucket(a, 1.0)
        h = hist[k]
        if h:
            nrep += 1
            cnt = collections.Counter(c for c, _ in h)
            rep["majority so far"] += argmax(cnt) == t
            rep["last label"] += h[-1][0] == t
            rep["decayed majority (gamma 0.85)"] += argmax(dec[k]) == t
            # key + amount octave, backed off to the key (Dirichlet, beta 8)
            ka = deca[(k, b)]
            tot = sum(ka.values())
            p = {c: (ka.get(c, 0.0) + 8.0 * v / sum(dec[k].values())) / (tot + 8.0) for c, v in dec[k].items()}
            rep["decayed key + amount octave"] += argmax(p) == t
            s = dict(dec[k])
            if prev in s:
                s[prev] += 2.0 * sum(s.values()) / (1 + len(s))
            rep["(order leak) + previous row's label"] += argmax(s) == t
            rep["any label seen for the key (oracle pick)"] += t in cnt
        else:
            nnew += 1
            fs = features(k)
            new["most frequent category so far"] += bool(catfreq) and catfreq.most_common(1)[0][0] == t
            for nm, m in (("NB over distinct keys, alpha 1", nb1), ("NB over distinct keys, alpha 3", nb3)):
                p, _ = nb_posterior([(m, 1.0)], fs, 1.0 if m is nb1 else 3.0)
                new[nm] += bool(p) and argmax(p) == t
                if m is nb1 and p:
                    q = {c: math.log(v) + 0.5 * math.log((cat_amt[c][b] + 0.5) / (catfreq[c] + 15.0))
                         for c, v in p.items()}
                    new["NB alpha 1 + category amount octave"] += argmax(q) == t
            sc = collections.defaultdict(float)
            nk = len(labels) + 1
            for f in fs:
                ks = inv.get(f)
                if ks and len(ks) < 2000:
                    idf = math.log(nk / len(ks))
                    for kk in ks:
                        sc[kk] += idf
            if sc:
                v = collections.defaultdict(float)
                for kk, s_ in sorted(sc.items(), key=lambda x: -x[1])[:20]:
                    tot = sum(labels[kk].values())
                    for c, n in labels[kk].items():
                        v[c] += s_ * s_ * n / tot
                new["20 nearest keys (n-gram overlap)"] += argmax(v) == t
            for f in fs:
                inv[f].add(k)
        # learn the label
        h.append((t, a))
        for d in (dec[k], deca[(k, b)]):
            for c in d:
                d[c] *= 0.85
            d[t] += 1
        if (k, t) not in seen_kc:
            seen_kc.add((k, t))
            fs = features(k)
            nb1.add(fs, t)
            nb3.add(fs, t)
        catfreq[t] += 1
        cat_amt[t][b] += 1
        labels[k][t] += 1
        prev = t
    hind = sum(c.most_common(1)[0][1] for c in labels.values()) / N
    print("%s: %d rows, %d first-seen keys (%.3f), %d repeats" % (name, N, nnew, nnew / N, nrep))
    print("  repeats (share of repeats right):")
    for k_, v in sorted(rep.items(), key=lambda x: -x[1]):
        print("    %-45s %.4f" % (k_, v / nrep))
    print("  first-seen keys (share right):")
    for k_, v in sorted(new.items(), key=lambda x: -x[1]):
        print("    %-45s %.4f" % (k_, v / nnew))
    best_rep = max(v for k_, v in rep.items() if "leak" not in k_ and "oracle" not in k_) / nrep
    best_new = max(new.values()) / nnew
    print("  best repeat predictor x repeats + best first-seen predictor x first-seen = %.4f"
          % ((best_rep * nrep + best_new * nnew) / N))
    print("  hindsight per-key majority (uses the future): %.4f" % hind)


if __name__ == "__main__":
    for name in (sys.argv[1:] or ["birmingham", "oxford"]):
        run(name)
