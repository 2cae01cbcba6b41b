#!/usr/bin/env python3
"""bench/research/ceiling_synth.py -- an optimistic ceiling for top-1 on the synthetic set.

An oracle that (a) knows, for every merchant (the generator's merchant_key,
whatever its statement text) and amount basket, the label most users give it
(computed from the whole data set, i.e. from the future), (b) knows each
user's own way of filing a merchant from the second visit on (including
split-by-amount users), (c) knows a user's coarser taxonomy (merge) from the
second expense of that category on, and (d) never predicts a slip.  No
online learner can expect to beat it; the gap to it is what the
generator makes unpredictable.

    python3 ceiling_synth.py [synthetic|synthetic_d0|synthetic_s7]   (prep.VARIANTS)
"""
import collections
import sys

sys.dont_write_bytecode = True
import prep  # noqa: E402

rows = prep.load(sys.argv[1] if len(sys.argv) > 1 else "synthetic")
N = len(rows)
# the label users give a (merchant, basket) before merges and slips: the policy outcome
maj = collections.defaultdict(collections.Counter)
for r in rows:
    m = r["meta"]
    pol = m["policy"]
    cat = m["basket"] if pol == "split" else pol
    maj[(m["merchant_key"], m["basket"])][cat] += 1
seen_um = set()
merges_seen = {}
ok = 0
lost = collections.Counter()
for r in rows:
    m = r["meta"]
    u, mk, why = r["user"], m["merchant_key"], m["why"]
    truth = r["category"]
    pol = m["policy"]
    polcat = m["basket"] if pol == "split" else pol
    if why == "slip":
        lost["slip"] += 1
    elif (u, mk) not in seen_um:
        guess = maj[(mk, m["basket"])].most_common(1)[0][0]
        if guess in merges_seen.get(u, {}):
            guess = merges_seen[u][guess]
        if guess == truth:
            ok += 1
        else:
            lost["first visit of the user to this merchant: " + (why or "usual")] += 1
    else:
        if why == "merge" and polcat not in merges_seen.get(u, {}):
            lost["merge not yet seen"] += 1
        else:
            ok += 1
    if why == "merge":
        merges_seen.setdefault(u, {})[polcat] = truth
    seen_um.add((u, mk))
print("synthetic ceiling: top-1 <= %.4f" % (ok / N))
for k, v in lost.most_common():
    print("  lost %-60s %5d  %.4f" % (k, v, v / N))
