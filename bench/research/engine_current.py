"""bench/research/engine_current.py -- a Python model of the engine as it is.

Mirrors src/engine.c + src/core/score.c + src/core/model.c + src/learn.c
(and the model docs of src/scope.c) closely enough to reproduce the
harness's figures:
  * patterns: manual (seed rules) and learned merchant patterns, global
    (owner None) or an owner's; matched as whole-word spans of the
    normalized merchant field (merchant kind; the description when there is
    no merchant) or of either field (keyword kind);
  * ranking: own, priority, kind, exact, words, bytes, pinned, learned,
    reliability, id (score.c hit_cmp);
  * confidence: q(kind, exact, learned) * reliability (Beta / two-component
    mixture), model sigma(m0 + m1 logit p) * docs/(docs+10);
  * learning: upsert learned (owner, key, category), a miss for the wrong
    top pattern, promotion at 3 owners, one model document per correction
    into the owner's model (weight 3) or the global one (owner-less only);
  * decisions: categorize() counts its first choice as a hit of its
    pattern and un-pins it.
Only what the three data sets exercise (no regex, no amount ranges, no
priorities, learning = on).
"""
import math
from collections import defaultdict

import norm

CAL = dict(manual_a=9.0, manual_b=1.0, learned_consistent=0.0625, learned_theta_c=0.9925,
           learned_a=2.4, learned_b=5.65, q_merchant_exact=1.0, q_merchant_partial=0.95,
           q_learned_partial=0.55, q_regex=0.95, q_keyword=0.85, model_m0=-0.5, model_m1=0.15,
           model_docs0=10.0)

KIND_RANK = {"keyword": 0, "regex": 1, "merchant": 2}


def log_beta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def reliability(p, cal=CAL):
    hits = p.hits + max(p.decisions, 0)
    misses = p.misses
    if hits < misses:
        hits = misses
    good = hits - misses
    if not p.learned:
        return (good + cal["manual_a"]) / (hits + cal["manual_a"] + cal["manual_b"])
    log_c = math.log(cal["learned_consistent"]) + good * math.log(cal["learned_theta_c"]) + \
        misses * math.log(1 - cal["learned_theta_c"])
    log_a = math.log(1 - cal["learned_consistent"]) + \
        log_beta(cal["learned_a"] + good, cal["learned_b"] + misses) - log_beta(cal["learned_a"], cal["learned_b"])
    w = 0.0 if log_a - log_c > 700 else 1 / (1 + math.exp(log_a - log_c))
    r_amb = (good + cal["learned_a"]) / (hits + cal["learned_a"] + cal["learned_b"])
    return w * cal["learned_theta_c"] + (1 - w) * r_amb


def features(text):
    """catz_features(): words and 4-grams of ^word$, deduplicated."""
    out = set()
    for w in text.split():
        out.add("w:" + w)
        p = "^" + w + "$"
        if len(p) >= 4:
            for i in range(len(p) - 3):
                out.add("g:" + p[i:i + 4])
    return out


class NB:
    """Counts of one model (base + delta together)."""

    def __init__(self):
        self.docs = defaultdict(float)
        self.tokens = defaultdict(float)
        self.feat = defaultdict(lambda: defaultdict(float))
        self.ndocs = 0

    def add(self, feats, cat):
        self.docs[cat] += 1
        self.tokens[cat] += len(feats)
        self.ndocs += 1
        for f in feats:
            self.feat[f][cat] += 1


def nb_predict(models, feats, alpha=1.0, k=3):
    """catz_model_predict over [(NB, weight)]: [(cat, p)], known features, weighted docs."""
    docs = defaultdict(float)
    tokens = defaultdict(float)
    vocab = 0
    total = 0.0
    wdocs = 0.0
    for m, w in models:
        if m is None or m.ndocs == 0:
            continue
        vocab += len(m.feat)
        wdocs += w * m.ndocs
        for c, d in m.docs.items():
            docs[c] += w * d
            tokens[c] += w * m.tokens[c]
            total += w * d
    if not docs:
        return [], 0, 0.0
    sums = defaultdict(float)
    known = 0
    for f in feats:
        acc = defaultdict(float)
        seen = False
        for m, w in models:
            if m is None or m.ndocs == 0:
                continue
            fc = m.feat.get(f)
            if fc is None:
                continue
            seen = True
            for c, n in fc.items():
                acc[c] += w * n
        if not seen:
            continue
        known += 1
        for c, n in acc.items():
            if n > 0:
                sums[c] += math.log((n + alpha) / alpha)
    scores = {}
    for c in docs:
        scores[c] = math.log(docs[c] / total) + sums[c] + known * (math.log(alpha) - math.log(tokens[c] + alpha * (vocab + 1)))
    mx = max(scores.values())
    z = sum(math.exp(s - mx) for s in scores.values())
    preds = sorted(((c, math.exp(s - mx) / z) for c, s in scores.items()), key=lambda x: (-x[1], x[0]))
    return preds[:k], known, wdocs


def model_confidence(p, docs, cal=CAL):
    q = min(max(p, 1e-6), 1 - 1e-6)
    return docs / (docs + cal["model_docs0"]) / (1 + math.exp(-(cal["model_m0"] + cal["model_m1"] * math.log(q / (1 - q)))))


class Pattern:
    __slots__ = ("id", "owner", "kind", "words", "value", "cat", "learned", "hits", "misses",
                 "confirmed", "decisions", "dconf", "dsince", "active")

    def __init__(self, pid, owner, kind, value, cat, learned):
        self.id, self.owner, self.kind, self.value, self.cat, self.learned = pid, owner, kind, value, cat, learned
        self.words = tuple(value.split())
        self.hits = 0
        self.misses = 0
        self.confirmed = 0
        self.decisions = 0
        self.dconf = 0
        self.dsince = 0
        self.active = True


class Hit:
    __slots__ = ("p", "field", "exact", "mwords", "mbytes", "own", "pinned")


class Engine:
    name = "current"

    def __init__(self, seed=(), min_confidence=0.5, promote_min_users=3, owner_model_weight=3.0,
                 prefix_rule="any"):
        self.min_conf = min_confidence
        self.promote = promote_min_users
        self.owner_w = owner_model_weight
        self.prefix_rule = prefix_rule
        self.next_id = 1
        self.seq = 0
        self.index = defaultdict(lambda: defaultdict(list))    # scope -> words -> [Pattern]
        self.maxlen = defaultdict(int)
        self.learned_key = {}                                  # (owner, value, cat) -> Pattern
        self.models = defaultdict(NB)                          # scope (owner or None) -> NB
        self._norm = {}
        for cat, kind, value in seed:
            v = self.norm(value)
            if v:
                p = Pattern(self.next_id, None, kind, v, cat, False)
                self.next_id += 1
                self._add(p)

    def norm(self, s):
        if not s:
            return ""
        r = self._norm.get(s)
        if r is None:
            r = self._norm[s] = norm.normalize(s, self.prefix_rule)
        return r

    def _add(self, p):
        self.index[p.owner][p.words].append(p)
        self.maxlen[p.owner] = max(self.maxlen[p.owner], len(p.words))

    # -- matching ---------------------------------------------------------
    def _match(self, scope, fields, merchant_empty, hits, user):
        idx = self.index.get(scope)
        if not idx:
            return
        ml = self.maxlen[scope]
        for fid, words in enumerate(fields):
            n = len(words)
            for i in range(n):
                for j in range(i + 1, min(n, i + ml) + 1):
                    lst = idx.get(tuple(words[i:j]))
                    if not lst:
                        continue
                    for p in lst:
                        if not p.active:
                            continue
                        if p.kind == "merchant" and fid == 1 and not merchant_empty:
                            continue
                        h = Hit()
                        h.p = p
                        h.field = fid
                        h.exact = i == 0 and j == n
                        h.mwords = j - i
                        h.mbytes = len(" ".join(words[i:j]))
                        h.own = p.owner is not None
                        h.pinned = False
                        hits.append(h)

    def _mark_pinned(self, hits):
        for h in hits:
            e = h.p
            h.pinned = False
            if not e.learned or not h.exact or e.confirmed == 0:
                continue
            later = any(o.p is not e and o.p.learned and o.p.confirmed > e.confirmed and o.p.owner == e.owner
                        and o.p.value == e.value for o in hits)
            h.pinned = (not later) and not (e.dconf == e.confirmed and e.dsince > 0)

    def _q(self, h):
        k = h.p.kind
        if k == "merchant":
            if h.exact:
                return CAL["q_merchant_exact"]
            return CAL["q_learned_partial"] if h.p.learned else CAL["q_merchant_partial"]
        if k == "regex":
            return CAL["q_regex"]
        return CAL["q_keyword"]

    def fields(self, row):
        m = self.norm(row["merchant"]).split()
        d = self.norm(row["description"]).split()
        return m, d

    def categorize(self, row, k=3):
        m, d = self.fields(row)
        user = row.get("user")
        hits = []
        merchant_empty = not m
        self._match(None, (m, d), merchant_empty, hits, user)
        if user is not None:
            self._match(user, (m, d), merchant_empty, hits, user)
        self._mark_pinned(hits)
        rel = {}

        def key(h):
            r = rel.get(h.p.id)
            if r is None:
                r = rel[h.p.id] = reliability(h.p)
            return (not h.own, -KIND_RANK[h.p.kind], not h.exact, -h.mwords, -h.mbytes,
                    not h.pinned, not h.p.learned, -r, h.p.id)
        hits.sort(key=key)
        out = []
        seen = set()
        for h in hits:
            if len(out) >= k:
                break
            if h.p.cat in seen:
                continue
            seen.add(h.p.cat)
            conf = min(max(self._q(h) * rel[h.p.id], 0.0), 1.0)
            out.append((h.p.cat, conf, {"src": ("learned " if h.p.learned else "rule ") + h.p.kind +
                                        (" (owner)" if h.own else ""), "hit": h}))
        ncats = len(set(h.p.cat for h in hits))
        if min(ncats, k) < k:
            feats = features(" ".join(m) + " " + " ".join(d))
            models = [(self.models.get(None), 1.0)]
            if user is not None:
                models.append((self.models.get(user), self.owner_w))
            preds, known, docs = nb_predict(models, feats, k=k)
            for c, p in preds:
                if len(out) >= k:
                    break
                if c in seen:
                    continue
                seen.add(c)
                out.append((c, min(max(model_confidence(p, docs), 0.0), 1.0),
                            {"src": "token model", "p": p, "known": known}))
        return out

    def decide(self, cands):
        if not cands:
            return None
        c = cands[0]
        h = c[2].get("hit")
        if c[1] >= self.min_conf or (h is not None and h.pinned):
            return c[0]
        return None

    def count_decision(self, row, cands):
        if not cands:
            return
        h = cands[0][2].get("hit")
        if h is None:
            return
        p = h.p
        if p.dconf != p.confirmed:
            p.dconf = p.confirmed
            p.dsince = 0
        p.decisions += 1
        p.dsince += 1

    # -- learning ---------------------------------------------------------
    def _upsert(self, owner, key, cat):
        self.seq += 1
        p = self.learned_key.get((owner, key, cat))
        if p is None:
            p = Pattern(self.next_id, owner, "merchant", key, cat, True)
            self.next_id += 1
            p.hits = 1
            p.confirmed = self.seq
            self.learned_key[(owner, key, cat)] = p
            self._add(p)
        else:
            p.hits += 1
            p.active = True
            p.confirmed = self.seq
        return p

    def learn(self, row, truth, cands):
        user = row.get("user")
        key = self.norm(row["merchant"]) or self.norm(row["description"])
        if not key:
            return
        top = cands[0] if cands else None
        th = top[2].get("hit") if top else None
        if th is not None and top[0] == truth:
            th.p.hits += 1
            return
        self._upsert(user, key, truth)
        if user is not None:
            self.owners_of.setdefault((key, truth), set()).add(user)
            if len(self.owners_of[(key, truth)]) >= self.promote and (None, key, truth) not in self.learned_key:
                self.seq += 1
                p = Pattern(self.next_id, None, "merchant", key, truth, True)
                self.next_id += 1
                p.hits = 1
                p.confirmed = self.seq
                self.learned_key[(None, key, truth)] = p
                self._add(p)
        if th is not None:
            th.p.misses += 1
        m, d = self.fields(row)
        self.models[user].add(features(" ".join(m) + " " + " ".join(d)), truth)

    owners_of = None

    def __new__(cls, *a, **kw):
        o = super().__new__(cls)
        o.owners_of = {}
        return o
