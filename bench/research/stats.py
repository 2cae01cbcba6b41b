#!/usr/bin/env python3
"""bench/research/stats.py -- state size and work per call of the proposed design.

Streams each set and reports, at the end: evidence entries by level, the
distribution of categories per entry (to size the fixed category slots of a
C entry), token-model documents and features, and per call / per
correction the number of evidence probes and updates actually made.

    python3 stats.py [birmingham,oxford,synthetic]
"""
import collections
import sys

sys.dont_write_bytecode = True
import harness  # noqa: E402
import prep  # noqa: E402
from run import make  # noqa: E402


class Counting:
    """Wraps an engine and counts levels probed per call and updated per call/correction."""

    def __init__(self, eng):
        self.e = eng
        self.calls = self.corr = 0
        self.probes = self.dec_updates = self.corr_updates = 0
        self.nb_docs_call = self.nb_docs_corr = 0

    def categorize(self, row, k):
        self.calls += 1
        K = self.e.keys(row)
        self.probes += sum(1 for _, _, ek in self.e.levels(row, K) if ek is not None)
        return self.e.categorize(row, k)

    def decide(self, c):
        return self.e.decide(c)

    def count_decision(self, row, cands):
        n0 = len(self.e.nb_seen)
        self.e.count_decision(row, cands)
        if cands:
            K = cands[0][2]["K"]
            self.dec_updates += sum(1 for _, _, ek in self.e.levels(row, K) if ek is not None)
        self.nb_docs_call += len(self.e.nb_seen) - n0

    def learn(self, row, truth, cands):
        self.corr += 1
        n0 = len(self.e.nb_seen)
        self.e.learn(row, truth, cands)
        K = self.e.keys(row)
        self.corr_updates += 2 * sum(1 for _, _, ek in self.e.levels(row, K) if ek is not None)
        self.nb_docs_corr += max(0, len(self.e.nb_seen) - n0)


def main():
    sets = (sys.argv[1] if len(sys.argv) > 1 else "birmingham,oxford,synthetic").split(",")
    for ds in sets:
        rows = prep.load(ds)
        eng = make("new", ds, {})
        w = Counting(eng)
        harness.stream(w, rows)
        by = collections.Counter()
        cats = collections.Counter()
        slots = 0
        for (scope, ek), e in eng.ev.items():
            lvl = ("owner " if scope is not None else "everyone ") + ek[0]
            by[lvl] += 1
            n = sum(1 for v in e.w.values() if v > 0) or len(e.owners or ())
            cats[min(n, 9)] += 1
            slots += n
        tot = sum(by.values())
        print("%s: %d expenses, %d corrections" % (ds, w.calls, w.corr))
        print("  evidence entries %d (%s); category slots %d" % (
            tot, ", ".join("%s %d" % kv for kv in sorted(by.items())), slots))
        print("  categories per entry: " + ", ".join("%s%s: %.3f" % (k, "+" if k == 9 else "", v / tot)
                                                   for k, v in sorted(cats.items())))
        nbm = eng.models
        print("  token model: %d models, %d documents, %d features in everyone's model" % (
            len(nbm), sum(int(m.ndocs) for m in nbm.values()), len(nbm[None].feat) if None in nbm else 0))
        print("  per call: %.2f evidence probes; per decision: %.2f entry updates, %.3f token documents; "
              "per correction: %.2f entry updates, %.3f token documents" % (
                  w.probes / w.calls, w.dec_updates / w.calls, w.nb_docs_call / w.calls,
                  w.corr_updates / max(1, w.corr), w.nb_docs_corr / max(1, w.corr)))


if __name__ == "__main__":
    main()
