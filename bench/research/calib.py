#!/usr/bin/env python3
"""bench/research/calib.py -- confidence as a calibrated function of (decider, p).

The chain's posterior p of the top-1 is a score, not a probability: how
often it is right depends on which level decided (the owner's own key
evidence, everyone's, a prefix, a rule, the token model).  The confidence is
a per-decider monotone map p -> observed precision, on fixed p bins:

    fit:    python3 calib.py fit OUT.json --sets birmingham:first,synthetic:first [--set k=v]
    show:   python3 calib.py show OUT.json

Fitting: for each decider, the top-1 predictions of the tuning streams are
binned by p (BIN_EDGES); each bin's precision is smoothed toward the
decider's overall precision (m pseudo-observations) and made monotone in p
(pool adjacent violators).  Deciders with fewer than MIN_TYPE predictions
use the map of all deciders pooled.  Applying: linear interpolation between
bin centres.

OnlineCalib: the same table as a prior (PRIOR_WEIGHT pseudo-observations a
bin), updated by the stream itself -- each categorize() decision counts in
its (decider, bin), a correction marks it wrong -- so a deployment
recalibrates to its own data (two counters per bin; ~15 deciders x 12 bins).
"""
import json
import math
import sys

sys.dont_write_bytecode = True

BIN_EDGES = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0001]
M_SMOOTH = 20.0
MIN_TYPE = 200
PRIOR_WEIGHT = 30.0


def bin_of(p):
    for i in range(len(BIN_EDGES) - 1):
        if p < BIN_EDGES[i + 1]:
            return i
    return len(BIN_EDGES) - 2


def pav(vals, weights):
    """Pool adjacent violators: non-decreasing fit."""
    blocks = [[v, w, 1] for v, w in zip(vals, weights)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] > blocks[i + 1][0] + 1e-12:
            v1, w1, n1 = blocks[i]
            v2, w2, n2 = blocks[i + 1]
            w = w1 + w2
            blocks[i] = [(v1 * w1 + v2 * w2) / w if w > 0 else (v1 + v2) / 2, w, n1 + n2]
            del blocks[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    out = []
    for v, w, n in blocks:
        out += [v] * n
    return out


def fit_table(samples):
    """samples: [(p, correct)] -> [precision per bin] (monotone)."""
    nb = len(BIN_EDGES) - 1
    n = [0] * nb
    k = [0] * nb
    for p, c in samples:
        b = bin_of(p)
        n[b] += 1
        k[b] += c
    tot = sum(n)
    base = sum(k) / tot if tot else 0.5
    vals = []
    for b in range(nb):
        # smooth toward the overall rate, and toward the bin's own p range
        mid = (BIN_EDGES[b] + min(BIN_EDGES[b + 1], 1.0)) / 2
        prior = 0.5 * base + 0.5 * mid
        vals.append((k[b] + M_SMOOTH * prior) / (n[b] + M_SMOOTH))
    return pav(vals, [x + M_SMOOTH for x in n]), n


def fit(samples_by_type):
    allp = [s for lst in samples_by_type.values() for s in lst]
    pooled, npool = fit_table(allp)
    tables = {"*": pooled}
    counts = {"*": npool}
    for t, lst in samples_by_type.items():
        if len(lst) >= MIN_TYPE:
            tables[t], counts[t] = fit_table(lst)
    return {"edges": BIN_EDGES, "tables": tables, "counts": counts}


def interp(table, p):
    centres = [(BIN_EDGES[i] + min(BIN_EDGES[i + 1], 1.0)) / 2 for i in range(len(table))]
    if p <= centres[0]:
        return table[0]
    for i in range(len(centres) - 1):
        if p <= centres[i + 1]:
            f = (p - centres[i]) / (centres[i + 1] - centres[i])
            return table[i] + f * (table[i + 1] - table[i])
    return table[-1]


class Calib:
    def __init__(self, d):
        self.d = d
        self.tables = d["tables"]

    def __call__(self, p, decider, info, rank):
        t = self.tables.get(decider) or self.tables["*"]
        return interp(t, p)

    # hooks for the online variant (no-ops here)
    def observe(self, p, decider, correct):
        pass


class OnlineCalib(Calib):
    """Prior table + the stream's own outcomes per (decider, bin)."""

    def __init__(self, d, weight=PRIOR_WEIGHT):
        super().__init__(d)
        self.w = weight
        self.n = {}
        self.k = {}

    def __call__(self, p, decider, info, rank):
        t = self.tables.get(decider) or self.tables["*"]
        b = bin_of(p)
        prior = interp(t, p)
        n = self.n.get((decider, b), 0)
        if n == 0:
            return prior
        # the bin's observed precision, shrunk to the prior; keep p's position
        # inside the bin from the prior table
        obs = self.k[(decider, b)] / n
        shift = (self.k[(decider, b)] + self.w * interp(t, (BIN_EDGES[b] + min(BIN_EDGES[b + 1], 1.0)) / 2)) \
            / (n + self.w) - interp(t, (BIN_EDGES[b] + min(BIN_EDGES[b + 1], 1.0)) / 2)
        del obs
        return min(max(prior + shift, 0.0), 1.0)

    def observe(self, p, decider, correct):
        b = bin_of(p)
        self.n[(decider, b)] = self.n.get((decider, b), 0) + 1
        self.k[(decider, b)] = self.k.get((decider, b), 0) + (1 if correct else 0)


def load(path, online=False):
    with open(path) as f:
        d = json.load(f)
    if "weights" in d:
        return LRCalib(d)
    return OnlineCalib(d) if online else Calib(d)


def collect(results):
    out = {}
    for r in results:
        if r.pred is None:
            continue
        # the engine ran uncalibrated: r.conf is p
        out.setdefault(r.src, []).append((r.conf, 1 if r.correct else 0))
    return out


def main():
    import harness
    import prep
    from run import make, parse_sets
    cmd = sys.argv[1]
    if cmd == "show":
        d = json.load(open(sys.argv[2]))
        if "weights" in d:
            print("features:", d["features"])
            for t, w in sorted(d["weights"].items()):
                print("%-8s n=%6d  %s" % (t, d["counts"].get(t, sum(d["counts"].values())),
                                          " ".join("%+.3f" % v for v in w)))
            return
        print("bins:", " ".join("%.2f" % e for e in d["edges"][:-1]))
        for t, tab in sorted(d["tables"].items()):
            print("%-8s n=%6d  %s" % (t, sum(d["counts"][t]), " ".join("%.2f" % v for v in tab)))
        return
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("out")
    ap.add_argument("--sets", default="birmingham:first,synthetic:first")
    ap.add_argument("--set", action="append")
    ap.add_argument("--kind", choices=("bins", "lr"), default="lr")
    a = ap.parse_args()
    sets = parse_sets(a.set)
    samples = {}
    for spec in a.sets.split(","):
        ds, part = (spec.split(":") + ["all"])[:2]
        rows = prep.load(ds)
        if part == "first":
            rows = rows[:len(rows) // 2]
        res = harness.stream(make("new", ds, sets), rows)
        if a.kind == "lr":
            for r in res:
                if r.pred is not None:
                    samples.setdefault(r.src, []).append((lr_features(r.p, r.info), 1 if r.correct else 0))
        else:
            for t, lst in collect(res).items():
                samples.setdefault(t, []).extend(lst)
    if a.kind == "lr":
        d = {"weights": lr_fit_all(samples), "counts": {t: len(v) for t, v in samples.items()},
             "features": FEATURES}
    else:
        d = fit(samples)
    d["fitted_on"] = a.sets
    d["settings"] = sets
    with open(a.out, "w") as f:
        json.dump(d, f, indent=1)
    sys.argv = [sys.argv[0], "show", a.out]
    main()



# ---------------------------------------------------------------------------
# Logistic calibration over several features (the proposed confidence formula)

def _logit(x, eps=1e-3):
    x = min(max(x, eps), 1 - eps)
    return math.log(x / (1 - x))


EXTRA = False
FEATURES = ("1, logit p, log(1+N), logit share, last agrees, last disagrees, logit margin, "
            "log((hits+.5)/(misses+.5)), log(1+streak)")


def lr_features(p, info):
    """x: see FEATURES (N, share at the most specific level with data; hits/misses of the
    engine's own first choices for this key; streak of the same final category)."""
    info = info or {}
    N = info.get("N", 0.0)
    share = info.get("share", p)
    la = info.get("last_agree")
    margin = info.get("margin", p)
    h, m = info.get("hits", 0.0), info.get("misses", 0.0)
    x = [1.0, _logit(p), math.log1p(N), _logit(share), 1.0 if la is True else 0.0,
         1.0 if la is False else 0.0, _logit(margin), math.log((h + 0.5) / (m + 0.5)),
         math.log1p(info.get("streak", 0))]
    if EXTRA:
        x += [math.log1p(info.get("N_key", 0.0)), _logit(info.get("share_key", share))]
    return x


def lr_fit(X, y, l2=1.0, iters=25):
    """Newton-Raphson for L2-regularized logistic regression (stdlib)."""
    d = len(X[0])
    w = [0.0] * d
    for _ in range(iters):
        g = [0.0] * d
        H = [[0.0] * d for _ in range(d)]
        for x, t in zip(X, y):
            z = sum(wi * xi for wi, xi in zip(w, x))
            z = min(max(z, -30), 30)
            q = 1 / (1 + math.exp(-z))
            r = q - t
            s = q * (1 - q)
            for i in range(d):
                g[i] += r * x[i]
                xi = x[i] * s
                Hi = H[i]
                for j in range(i, d):
                    Hi[j] += xi * x[j]
        for i in range(d):
            for j in range(i):
                H[i][j] = H[j][i]
        for i in range(1, d):
            g[i] += l2 * w[i]
            H[i][i] += l2
        H[0][0] += 1e-6
        step = _solve(H, g)
        w = [wi - si for wi, si in zip(w, step)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return w


def _solve(A, b):
    n = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(M[r][c]))
        M[c], M[piv] = M[piv], M[c]
        if abs(M[c][c]) < 1e-12:
            continue
        for r in range(n):
            if r != c:
                f = M[r][c] / M[c][c]
                for k in range(c, n + 1):
                    M[r][k] -= f * M[c][k]
    return [M[i][n] / M[i][i] if abs(M[i][i]) > 1e-12 else 0.0 for i in range(n)]


class LRCalib:
    """confidence = sigma(w_type . x(p, N, share, last, margin))."""

    def __init__(self, d):
        self.d = d
        self.w = d["weights"]

    def __call__(self, p, decider, info, rank):
        w = self.w.get(decider) or self.w["*"]
        z = sum(a * b for a, b in zip(w, lr_features(p, info)))
        z = min(max(z, -30), 30)
        c = 1 / (1 + math.exp(-z))
        if rank > 0:
            c = min(c, p)
        return c

    def observe(self, p, decider, correct):
        pass


def lr_fit_all(samples_by_type, min_type=MIN_TYPE):
    allX = [x for lst in samples_by_type.values() for x, _ in lst]
    ally = [y for lst in samples_by_type.values() for _, y in lst]
    out = {"*": lr_fit(allX, ally)}
    for t, lst in samples_by_type.items():
        if len(lst) >= min_type:
            out[t] = lr_fit([x for x, _ in lst], [y for _, y in lst])
    return out


if __name__ == "__main__":
    main()


class OnlineRecal:
    """Online histogram recalibration on top of a fitted map.

    The fitted confidence c0 = base(p, decider, info) is binned (BIN_EDGES);
    each (decider, bin) and each pooled ('*', bin) keeps three numbers, n
    (decisions), k (not corrected) and s (sum of c0), updated by
    categorize() and learn_correction().  The confidence is c0 plus the
    bin's observed miscalibration, shrunk (weight pseudo-observations)
    toward the pooled bin's, itself shrunk toward 0:
        shift(bin) = (k - s + weight * shift(parent)) / (n + weight)
        c = c0 + shift((decider, bin))"""

    def __init__(self, base, weight=PRIOR_WEIGHT):
        self.base = base
        self.w = weight
        self.n = {}
        self.k = {}
        self.s = {}

    def raw(self, p, decider, info, rank):
        return self.base(p, decider, info, rank)

    def _shift(self, key, prior_shift):
        n = self.n.get(key, 0)
        if n == 0:
            return prior_shift
        m = self.s[key] / n
        # observed precision minus mean confidence, shrunk toward prior_shift
        return (self.k[key] - self.s[key] + self.w * prior_shift) / (n + self.w) if m >= 0 else 0.0

    def __call__(self, p, decider, info, rank):
        c0 = self.raw(p, decider, info, rank)
        b = bin_of(c0)
        # hierarchical: all deciders' bin, then this decider's bin
        pooled = self._shift(("*", b), 0.0)
        return min(max(c0 + self._shift((decider, b), pooled), 0.0), 1.0)

    def decided(self, c0, decider):
        b = bin_of(c0)
        keys = ((decider, b), ("*", b))
        for key in keys:
            self.n[key] = self.n.get(key, 0) + 1
            self.k[key] = self.k.get(key, 0) + 1
            self.s[key] = self.s.get(key, 0.0) + c0
        return keys

    def corrected(self, keys):
        for key in keys:
            self.k[key] -= 1
