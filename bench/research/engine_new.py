"""bench/research/engine_new.py -- the proposed learner, ranking and confidence.

One idea: every source of knowledge about an expense is a level of a
Dirichlet back-off chain, from the most general to the most specific; each
level holds (decayed) counts per category, and a level with little data
leans on the level below it:

    p_0      = token model posterior (naive Bayes; uniform if none)
    p_L(c)   = (n_L(c) + beta_L * p_{L-1}(c)) / (N_L + beta_L)

Levels, general to specific (each only when it has data for the expense):
    kw       a manual keyword rule matched            n = kappa_kw at its category
    mrule    a manual merchant rule matched           n = kappa_mp (part of the name)
                                                          or kappa_me (whole name)
    g1, g2   everyone's evidence for the first word / first two words of the key
    gkey     everyone's evidence for the whole normalized merchant key
    gamt     ... for the key and the amount bucket
    o1, o2   (optional) the owner's evidence for the first word(s)
    okey     the owner's own evidence for the key
    oamt     ... for the key and the amount bucket

Evidence: every expense adds one observation of its final category to the
levels it belongs to: categorize() counts an implicit observation of its
first choice (as the engine counts decisions today), and learn_correction()
moves it to the corrected category.  Observations decay per key: the k-th
latest observation weighs gamma^(k-1) (lazy: weight and the key's event
counter are stored, decay applied at read time).

Everyone's levels: single-tenant expenses (no owner) count directly; an
owner's expense counts there once the (key, category) has min_owners
distinct owners (privacy: one user cannot teach everyone), and then as the
number of distinct owners (owner votes), not events.

Confidence: a calibration map per decider type (the most specific level
that has data for the chosen category) from the posterior p of the top-1,
fitted by binning (calib.py) -- see calibrate().
"""
import math
from collections import defaultdict

import norm
from engine_current import features

DEFAULTS = dict(
    prefix_rule="whitelist",    # 'any' (current) | 'whitelist' | 'none'
    wrappers=True,              # strip 'authorized on MM DD' and a trailing 'card NNNN'
    gamma=0.85,                 # per-key decay of observations
    gamma_hits=0.9,             # per-key decay of the engine's own hit/miss record
    beta_key=1.0,               # pseudo-count of the parent at the key level (everyone's)
    beta_okey=0.5,              # ... at the owner's key level
    beta_amt=8.0,               # ... at an amount-bucket level
    beta_prefix=4.0,            # ... at a prefix level
    kappa_me=6.0,               # a manual merchant rule, whole name: pseudo-observations
    kappa_mp=3.0,               # ... part of the name
    kappa_kw=1.5,               # a keyword rule
    beta_rule=1.0,              # parent weight under a rule level
    rule_pos="above_prefix",    # 'below_prefix' | 'above_prefix': where a manual rule's prior sits
    rule_evidence=True,         # outcomes of expenses a manual rule matched (everyone's, the owner's)
    beta_rulev=3.0,             # parent (the rule prior) weight at everyone's rule-outcome level
    beta_orule=1.0,             # ... at the owner's rule-outcome level
    rule_amount=False,          # everyone's rule outcomes per amount bucket too
    amount=True,                # amount-bucket levels
    amt_width=1.0,              # bucket width in log2(amount) (1 = an octave)
    prefix=False,               # first-word / first-two-words levels (measured: no gain)
    owner_prefix="none",        # the owner's prefix levels: 'none' | 'p1' | 'p2' | 'both'
    prefix_single=False,        # a key of 1 (2) words has a p1 (p2) level: itself as a prefix
    prefix_cap=2,               # >0: a prefix level's counts weigh at most this much
    slots=0,                    # >0: category slots per evidence entry (evict the weakest)
    min_owners=3,               # distinct owners before an owner's evidence is everyone's
    owner_votes=False,          # True: everyone's evidence from owners = distinct owners; False: their decayed observations
    nb_docs="distinct",         # 'corrections' | 'all' | 'distinct' (first observation of (scope,key,cat))
    nb_alpha=1.0,
    nb_global="gated",          # owners' documents in everyone's model: 'gated' | 'agreed' | 'none'
    nb_owner_weight=3.0,
    nb_temper=1.0,              # posterior^(1/T) flattening of the token model
    implicit=True,              # categorize() decisions count as observations
    implicit_decided_only=False,  # ... only when categorize() returned the category
    pin=False,                  # current contract: the latest correction of a key is the next answer
    remap=False,                # owner category remap (coarser taxonomies)
    remap_min=2,
    min_confidence=0.5,
    recent_prior=0.0,           # ABLATION ONLY (exploits file order): weight of recent categories
    recent_gamma=0.9,
)


def amount_bucket(a, width):
    if a is None:
        return None
    if a < 0:
        return "n%d" % int(math.log2(-a + 1) / width)
    return "p%d" % int(math.log2(a + 1) / width)


class Evidence:
    """Decayed counts per category of one key (one hash-table entry in C)."""
    __slots__ = ("n", "w", "t", "owners")

    def __init__(self):
        self.n = 0          # observations of this key so far (the decay clock)
        self.w = {}         # cat -> weight at time t[cat]
        self.t = {}
        self.owners = None  # cat -> set of owners (everyone's levels fed by owners)

    def get(self, gamma):
        return {c: w * gamma ** (self.n - self.t[c]) for c, w in self.w.items() if w > 0}

    def add(self, c, gamma, delta=1.0, tick=True, slots=0):
        if tick:
            self.n += 1
        w = self.w.get(c, 0.0)
        if w:
            w *= gamma ** (self.n - self.t[c])
        self.w[c] = max(0.0, w + delta)
        self.t[c] = self.n
        if slots and len(self.w) > slots:
            # a fixed number of category slots: evict the weakest other category
            cur = {k: v * gamma ** (self.n - self.t[k]) for k, v in self.w.items() if k != c}
            victim = min(cur, key=cur.get)
            del self.w[victim]
            del self.t[victim]


class NB:
    def __init__(self):
        self.docs = defaultdict(float)
        self.tokens = defaultdict(float)
        self.feat = defaultdict(lambda: defaultdict(float))
        self.ndocs = 0
        self.fown = None        # feature -> owners who contributed it (gated global model)
        self.gate = 0

    def add(self, feats, cat, w=1.0, owner=None):
        if self.fown is not None and owner is not None and w > 0:
            for f in feats:
                s = self.fown.setdefault(f, set())
                if len(s) < self.gate:
                    s.add(owner)
        self.docs[cat] += w
        self.tokens[cat] += w * len(feats)
        self.ndocs += w
        if self.docs[cat] <= 1e-9:
            del self.docs[cat]
            del self.tokens[cat]
        for f in feats:
            fc = self.feat[f]
            fc[cat] += w
            if fc[cat] <= 1e-9:
                del fc[cat]
                if not fc:
                    del self.feat[f]


def nb_posterior(models, feats, alpha):
    docs = defaultdict(float)
    tokens = defaultdict(float)
    vocab = 0
    total = 0.0
    for m, w in models:
        if m is None or m.ndocs == 0:
            continue
        vocab += len(m.feat)
        for c, d in m.docs.items():
            docs[c] += w * d
            tokens[c] += w * m.tokens[c]
            total += w * d
    if not docs:
        return {}, 0
    sums = defaultdict(float)
    known = 0
    for f in feats:
        acc = None
        for m, w in models:
            if m is None or m.ndocs == 0:
                continue
            fc = m.feat.get(f)
            if fc is None:
                continue
            if m.fown is not None and len(m.fown.get(f, ())) < m.gate:
                continue
            if acc is None:
                acc = defaultdict(float)
            for c, n in fc.items():
                acc[c] += w * n
        if acc is None:
            continue
        known += 1
        for c, n in acc.items():
            sums[c] += math.log((n + alpha) / alpha)
    la = math.log(alpha)
    scores = {c: math.log(docs[c] / total) + sums[c] + known * (la - math.log(tokens[c] + alpha * (vocab + 1)))
              for c in docs}
    mx = max(scores.values())
    ex = {c: math.exp(s - mx) for c, s in scores.items()}
    z = sum(ex.values())
    return {c: v / z for c, v in ex.items()}, known


def chain(parent, counts, beta):
    """One level of the back-off chain."""
    tot = sum(counts.values())
    if tot <= 0:
        return parent
    out = {}
    keys = set(parent) | set(counts)
    den = tot + beta
    for c in keys:
        out[c] = (counts.get(c, 0.0) + beta * parent.get(c, 0.0)) / den
    return out


class Engine:
    name = "new"

    def __init__(self, seed=(), calib=None, **kw):
        self.o = dict(DEFAULTS)
        for k, v in kw.items():
            if k not in self.o:
                raise KeyError(k)
            self.o[k] = v
        self.calib = calib
        self.ev = {}                    # (scope, level, key) -> Evidence
        self.models = defaultdict(NB)   # None = everyone's, owner id = the owner's
        self.nb_seen = set()
        self.ownobs = {}
        self.kstat = {}                 # (scope, key) -> [hits, misses, streak cat, streak length]
        self.pins = {}
        self.rules = defaultdict(list)  # words tuple -> [(cat, kind)]
        self.rule_maxlen = 0
        self.remap = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
        self.recent = defaultdict(float)
        self.recent_n = 0
        self._norm = {}
        for cat, kind, value in seed:
            v = self.norm(value)
            if v:
                t = tuple(v.split())
                self.rules[t].append((cat, kind))
                self.rule_maxlen = max(self.rule_maxlen, len(t))
        self.cats = sorted(set(c for lst in self.rules.values() for c, _ in lst))

    def norm(self, s):
        if not s:
            return ""
        r = self._norm.get(s)
        if r is None:
            r = self._norm[s] = norm.normalize(s, self.o["prefix_rule"], self.o["wrappers"])
        return r

    # -- keys of an expense -------------------------------------------------
    def keys(self, row):
        m = self.norm(row["merchant"])
        d = self.norm(row["description"])
        key = m or d
        words = key.split()
        b = amount_bucket(row["amount"], self.o["amt_width"]) if self.o["amount"] else None
        out = {"m": m, "d": d, "key": key, "words": words, "bucket": b}
        r = self.rule_hits(out) if self.rules else None
        out["rule"] = (r[1], r[2], r[3]) if r is not None else None   # (type, cat, words)
        out["p1"] = out["p2"] = None
        if self.o["prefix"] and words:
            if len(words) >= 2 or self.o["prefix_single"]:
                out["p1"] = words[0]
            if len(words) >= 3 or (len(words) == 2 and self.o["prefix_single"]):
                out["p2"] = " ".join(words[:2])
        return out

    def levels(self, row, K):
        """(level name, scope, evidence key) of the expense, general to specific.

        'rule' is the manual rule's own prior (kappa pseudo-observations, no
        evidence key); the others are evidence tables."""
        user = row.get("user")
        o = self.o
        lv = []
        if not K["key"]:
            return lv
        r = K.get("rule")
        rk = ("r",) + r[1:] if r is not None else None
        if r is not None and o["rule_pos"] == "below_prefix":
            lv.append(("rule", None, None))
        if K["p1"]:
            lv.append(("g1", None, ("p1", K["p1"])))
        if K["p2"]:
            lv.append(("g2", None, ("p2", K["p2"])))
        if r is not None:
            if o["rule_pos"] != "below_prefix":
                lv.append(("rule", None, None))
            if o["rule_evidence"]:
                lv.append(("grule", None, rk))
                if o["rule_amount"] and K["bucket"] is not None:
                    lv.append(("gramt", None, rk + (K["bucket"],)))
        lv.append(("gkey", None, ("k", K["key"])))
        if K["bucket"] is not None:
            lv.append(("gamt", None, ("ka", K["key"], K["bucket"])))
        if user is not None:
            if o["owner_prefix"] in ("p1", "both") and K["p1"]:
                lv.append(("o1", user, ("p1", K["p1"])))
            if o["owner_prefix"] in ("p2", "both") and K["p2"]:
                lv.append(("o2", user, ("p2", K["p2"])))
            if r is not None and o["rule_evidence"]:
                lv.append(("orule", user, rk))
            lv.append(("okey", user, ("k", K["key"])))
            if K["bucket"] is not None:
                lv.append(("oamt", user, ("ka", K["key"], K["bucket"])))
        return lv

    def _counts(self, scope, ek, user):
        e = self.ev.get((scope, ek))
        if e is None:
            return {}
        g = self.o["gamma"]
        out = e.get(g) if e.w else {}
        if scope is None and e.owners:
            # owners' votes, once min_owners distinct owners agree; the asking
            # owner's own evidence is in the owner levels
            ev = None
            if not self.o["owner_votes"]:
                ee = self.ev.get((None, ("ev",) + ek))
                ev = ee.get(g) if ee is not None else {}
            for c, s in e.owners.items():
                if len(s) < self.o["min_owners"]:
                    continue
                n = len(s) - (1 if user in s else 0)
                if n <= 0:
                    continue
                out[c] = out.get(c, 0.0) + (float(n) if ev is None else ev.get(c, 0.0))
        return out

    # -- categorize ---------------------------------------------------------
    def rule_hits(self, K):
        """Best manual rule level: ('me'|'mp'|'kw', cat, words) or None."""
        best = None
        fields = [(K["m"].split(), 0), (K["d"].split(), 1)]
        merchant_empty = not K["m"]
        for words, fid in fields:
            n = len(words)
            for i in range(n):
                for j in range(i + 1, min(n, i + self.rule_maxlen) + 1):
                    lst = self.rules.get(tuple(words[i:j]))
                    if not lst:
                        continue
                    for cat, kind in lst:
                        if kind == "merchant" and fid == 1 and not merchant_empty:
                            continue
                        if kind == "merchant":
                            t = "me" if (i == 0 and j == n) else "mp"
                        else:
                            t = "kw"
                        rank = ({"kw": 0, "mp": 1, "me": 2}[t], j - i, len(" ".join(words[i:j])))
                        if best is None or rank > best[0]:
                            best = (rank, t, cat, tuple(words[i:j]))
        return best

    def posterior(self, row):
        K = self.keys(row)
        user = row.get("user")
        o = self.o
        # level 0: the token model
        models = [(self.models.get(None), 1.0)]
        if user is not None:
            models.append((self.models.get(user), o["nb_owner_weight"]))
        feats = features(K["m"] + " " + K["d"])
        p, known = nb_posterior(models, feats, o["nb_alpha"])
        if p and o["nb_temper"] != 1.0:
            p = {c: v ** (1 / o["nb_temper"]) for c, v in p.items()}
            z = sum(p.values())
            p = {c: v / z for c, v in p.items()}
        if o["recent_prior"] > 0 and self.recent:
            z = sum(self.recent.values())
            rp = {c: v / z for c, v in self.recent.items()}
            p = chain(p, {c: o["recent_prior"] * v for c, v in rp.items()}, 1.0) if p else rp
        decider = {c: "model" for c in p}
        info = {"known": known}
        # the levels of the back-off chain (a manual rule: kappa pseudo-observations)
        betas = {"g1": o["beta_prefix"], "g2": o["beta_prefix"], "o1": o["beta_prefix"],
                 "o2": o["beta_prefix"], "gkey": o["beta_key"], "okey": o["beta_okey"],
                 "gamt": o["beta_amt"], "oamt": o["beta_amt"], "grule": o["beta_rulev"],
                 "orule": o["beta_orule"], "gramt": o["beta_amt"]}
        chain_levels = []
        for name, scope, ek in self.levels(row, K):
            if name == "rule":
                t, cat, _ = K["rule"]
                kappa = {"me": o["kappa_me"], "mp": o["kappa_mp"], "kw": o["kappa_kw"]}[t]
                chain_levels.append(("rule_" + t, {cat: kappa}, o["beta_rule"]))
                continue
            cnt = self._counts(scope, ek, user)
            if cnt and name in ("g1", "g2", "o1", "o2") and o["prefix_cap"]:
                # a prefix is a weak witness: its counts weigh at most prefix_cap
                tot = sum(cnt.values())
                if tot > o["prefix_cap"]:
                    f = o["prefix_cap"] / tot
                    cnt = {c: v * f for c, v in cnt.items()}
            if cnt:
                chain_levels.append((name, cnt, betas[name]))
        for name, cnt, beta in chain_levels:
            p = chain(p, cnt, beta) if p else chain({}, cnt, 0.0)
            for c in cnt:
                decider[c] = name
            info[name] = sum(cnt.values())
            info.setdefault("levels", []).append((name, cnt))
        # owner's coarser taxonomy
        if o["remap"] and user is not None and p:
            rm = self.remap.get(user)
            if rm:
                q = defaultdict(float)
                for c, v in p.items():
                    m = rm.get(c)
                    if m and decider.get(c, "model")[0] != "o":
                        tot = sum(m.values())
                        if tot >= o["remap_min"]:
                            for c2, w in m.items():
                                q[c2] += v * w / tot
                            continue
                    q[c] += v
                p = dict(q)
        return p, decider, info, K

    def categorize(self, row, k=3):
        p, decider, info, K = self.posterior(row)
        if not p:
            return []
        if self.o["pin"]:
            pin = self.pins.get((row.get("user"), K["key"]))
            if pin is not None and pin in p:
                # the learning contract of the current engine: what the latest
                # correction taught is the next answer (once)
                p = dict(p)
                p[pin] = max(p.values()) + 1e-9
                decider[pin] = "pinned"
        top = sorted(p.items(), key=lambda x: (-x[1], x[0]))[:k]
        # features of the top-1 for the confidence: evidence count, agreement
        # share and recency at the most specific level that has data, margin
        c0 = top[0][0]
        info["margin"] = top[0][1] - (top[1][1] if len(top) > 1 else 0.0)
        lv = info.get("levels")
        if lv:
            name, cnt = lv[-1]
            tot = sum(cnt.values())
            info["N"] = tot
            info["share"] = cnt.get(c0, 0.0) / tot if tot else 0.0
            info["top_level"] = name
        for name, cnt in (lv or ()):
            if name in ("gkey", "okey"):
                tot = sum(cnt.values())
                info["N_key"] = tot
                info["share_key"] = cnt.get(c0, 0.0) / tot if tot else 0.0
        ek = self._last_key_evidence(row, K)
        info["last_agree"] = None if ek is None else (ek == c0)
        ks = self.kstat.get((row.get("user"), K["key"]))
        if ks is not None:
            info["hits"], info["misses"] = ks[0], ks[1]
            info["streak"] = ks[3] if ks[2] == c0 else 0
        out = []
        if hasattr(self.calib, "raw"):
            info["c0"] = self.calib.raw(top[0][1], decider.get(c0, "model"), info, 0)
        for i, (c, v) in enumerate(top):
            d = decider.get(c, "model")
            conf = self.confidence(v, d, info, i)
            out.append((c, conf, {"src": d, "p": v, "K": K, "info": info}))
        return out

    def _kstat(self, row, K, cat, hit):
        """Outcomes of the engine's own first choices for this key (decayed) and the
        streak of identical final categories."""
        kk = (row.get("user"), K["key"])
        ks = self.kstat.get(kk)
        if ks is None:
            ks = self.kstat[kk] = [0.0, 0.0, None, 0]
        g = self.o["gamma_hits"]
        if hit is not None:
            ks[0] = ks[0] * g + (1.0 if hit else 0.0)
            ks[1] = ks[1] * g + (0.0 if hit else 1.0)
        if ks[2] == cat:
            ks[3] += 1
        else:
            ks[2], ks[3] = cat, 1

    def _last_key_evidence(self, row, K):
        """The category of the latest observation of this key (the owner's, else everyone's)."""
        user = row.get("user")
        for scope in ((user, None) if user is not None else (None,)):
            e = self.ev.get((scope, ("k", K["key"])))
            if e is not None and e.w:
                best = max(e.t.items(), key=lambda x: x[1])
                if e.t[best[0]] == e.n and e.w.get(best[0], 0) > 0:
                    return best[0]
        return None

    def confidence(self, p, decider, info, rank):
        if self.calib is None:
            return p
        return self.calib(p, decider, info, rank)

    def decide(self, cands):
        if cands and cands[0][1] >= self.o["min_confidence"]:
            return cands[0][0]
        return None

    # -- learning -----------------------------------------------------------
    def _observe(self, row, K, cat, delta=1.0, tick=True):
        """One observation (delta -1: retract one) of cat for the expense's keys."""
        user = row.get("user")
        g = self.o["gamma"]
        for name, scope, ek in self.levels(row, K):
            if ek is None:
                continue
            if scope is None and user is not None:
                # an owner's expense on everyone's level: a vote of this owner
                ge = self.ev.get((None, ek))
                if ge is None:
                    ge = self.ev[(None, ek)] = Evidence()
                if ge.owners is None:
                    ge.owners = {}
                ok = (user, ek, cat)
                n = self.ownobs.get(ok, 0) + (1 if delta > 0 else -1)
                self.ownobs[ok] = max(n, 0)
                if n > 0:
                    ge.owners.setdefault(cat, set()).add(user)
                elif cat in ge.owners:
                    ge.owners[cat].discard(user)
                if not self.o["owner_votes"]:
                    ee = self.ev.get((None, ("ev",) + ek))
                    if ee is None:
                        ee = self.ev[(None, ("ev",) + ek)] = Evidence()
                    ee.add(cat, g, delta, tick, self.o["slots"])
                continue
            e = self.ev.get((scope, ek))
            if e is None:
                e = self.ev[(scope, ek)] = Evidence()
            e.add(cat, g, delta, tick, self.o["slots"])
        # token model documents (a retraction removes the document its
        # observation added)
        nbd = self.o["nb_docs"]
        if delta > 0:
            self._nb_last = None
            if nbd == "all":
                self._nb_last = self._nb_add(row, K, cat)
            elif nbd == "distinct":
                k = (user, K["key"], cat)
                if k not in self.nb_seen:
                    self.nb_seen.add(k)
                    self._nb_last = self._nb_add(row, K, cat) + (k,)
        elif getattr(self, "_nb_last", None) is not None:
            last = self._nb_last
            self._nb_last = None
            for m, feats, c in last[0]:
                m.add(feats, c, -1.0)
            for k in last[1:]:
                self.nb_seen.discard(k)

    def _nb_add(self, row, K, cat):
        """Add a document; returns ([(model, features, cat)], keys) to undo it."""
        user = row.get("user")
        feats = features(K["m"] + " " + K["d"])
        done = []
        keys = ()
        if user is None:
            self.models[None].add(feats, cat)
            done.append((self.models[None], feats, cat))
        else:
            self.models[user].add(feats, cat)
            done.append((self.models[user], feats, cat))
            if self.o["nb_global"] == "gated":
                # everyone's model gets every owner's document; a feature is used
                # only once min_owners distinct owners contributed it
                gm = self.models[None]
                if gm.fown is None:
                    gm.fown = {}
                    gm.gate = self.o["min_owners"]
                gm.add(feats, cat, owner=user)
                done.append((gm, feats, cat))
                return (done,)
            if self.o["nb_global"] != "agreed":
                return (done,)
            # everyone's model: once min_owners owners agree on (key, cat)
            ge = self.ev.get((None, ("k", K["key"])))
            if ge is not None and ge.owners is not None and len(ge.owners.get(cat, ())) >= self.o["min_owners"]:
                k = (None, K["key"], cat)
                if k not in self.nb_seen:
                    self.nb_seen.add(k)
                    self.models[None].add(feats, cat)
                    done.append((self.models[None], feats, cat))
                    keys = (k,)
        return (done,) + keys

    def count_decision(self, row, cands):
        self._last = None
        self._recal = None
        if cands and hasattr(self.calib, "decided"):
            self._recal = self.calib.decided(cands[0][2]["info"]["c0"], cands[0][2]["src"])
        if not self.o["implicit"] or not cands:
            return
        if self.o["implicit_decided_only"] and self.decide(cands) is None:
            return
        K = cands[0][2]["K"]
        if not K["key"]:
            return
        if self.o["pin"]:
            self.pins.pop((row.get("user"), K["key"]), None)
        self._observe(row, K, cands[0][0])
        self._last = (row["seq"], cands[0][0])
        ks = self.kstat.get((row.get("user"), K["key"]))
        self._kstash = None if ks is None else list(ks)
        self._kstat(row, K, cands[0][0], hit=True)
        self._after(row, cands[0][0], cands)

    def learn(self, row, truth, cands):
        if getattr(self, "_recal", None) is not None:
            self.calib.corrected(self._recal)
            self._recal = None
        K = self.keys(row)
        if not K["key"]:
            return
        last = getattr(self, "_last", None)
        if last is not None and last[0] == row["seq"]:
            # the decision counted for this expense was wrong: move it
            self._observe(row, K, last[1], delta=-1.0, tick=False)
            self._observe(row, K, truth, tick=False)
            kk = (row.get("user"), K["key"])
            if self._kstash is None:
                self.kstat.pop(kk, None)
            else:
                self.kstat[kk] = self._kstash
            self._kstat(row, K, truth, hit=False)
            self._unafter(row, last[1])
        else:
            self._observe(row, K, truth)
            self._kstat(row, K, truth, hit=None)
        if self.o["pin"]:
            self.pins[(row.get("user"), K["key"])] = truth
        if self.o["nb_docs"] == "corrections":
            k = (row.get("user"), K["key"], truth)
            self._nb_add(row, K, truth)
        self._after(row, truth, cands, corrected=True)

    def _after(self, row, cat, cands, corrected=False):
        if self.o["recent_prior"] > 0:
            g = self.o["recent_gamma"]
            for c in list(self.recent):
                self.recent[c] *= g
            self.recent[cat] += 1
        if self.o["remap"] and row.get("user") is not None and cands:
            d = cands[0][2]["src"]
            if d[0] != "o":
                self.remap[row["user"]][cands[0][0]][cat] += 1

    def _unafter(self, row, cat):
        if self.o["recent_prior"] > 0:
            self.recent[cat] = max(0.0, self.recent[cat] - 1)
        if self.o["remap"] and row.get("user") is not None:
            m = self.remap[row["user"]].get(cat)
            if m and m.get(cat, 0) > 0:
                m[cat] -= 1
