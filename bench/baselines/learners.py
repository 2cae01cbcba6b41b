"""bench/baselines/learners.py -- the online learners a user could pick instead (standard library).

Each learner sees the stream the way bench/eval.sql plays it (date order,
then file order): predict(row) answers, then learn(row, truth) is told the
category the user kept (prequential: every label is revealed, whether the
user accepted the answer or corrected it, as each of these tools stores the
category of every transaction it has seen).  Rows are those of stream.py.
predict() returns the ranked categories as [(category, score)] (best
first, [] for no answer) and the confidence of the first, or None with no
answer.  run(rows) streams a whole set and returns the answers in order,
as the learners of sk_learners.py do.

On the synthetic sets each expense has an owner.  The app-level deployment
of each method is what is measured: where the tool keeps one user's data
(a budget file, a book, a ledger), the learner looks at the owner's own
history first and falls back to everyone's; each docstring says which.
"""
import collections
import math


class Online:
    """A learner that answers one row at a time, then learns its label."""

    ranks = True            # answers with more than one category (top-3)
    probabilistic = True    # its confidence is meant as a probability

    def run(self, rows):
        answers = []
        for r in rows:
            answers.append(self.predict(r))
            self.learn(r, r["category"])
        return answers


class DecayedMajority(Online):
    """Exact-key memory with decayed majority.

    Per key, label counts that decay by DECAY at each new expense of the key
    (a recency-weighted vote); keys are (owner, normalized merchant), with
    fallback to (everyone, normalized merchant) when the owner has none.
    Confidence: the winner's share of the decayed counts.  Ranks.
    """

    name = "exact-key decayed majority"
    DECAY = 0.8

    def __init__(self):
        self.own = {}
        self.all = {}

    def predict(self, row):
        c = self.own.get((row["user"], row["key"])) if row["user"] is not None else None
        if not c:
            c = self.all.get(row["key"])
        if not c:
            return [], None
        total = sum(c.values())
        ranked = sorted(c.items(), key=lambda x: -x[1])
        return ranked, ranked[0][1] / total

    def _bump(self, table, k, truth):
        c = table.setdefault(k, {})
        for cat in c:
            c[cat] *= self.DECAY
        c[truth] = c.get(truth, 0.0) + 1.0

    def learn(self, row, truth):
        if row["user"] is not None:
            self._bump(self.own, (row["user"], row["key"]), truth)
        self._bump(self.all, row["key"], truth)


def probable_category(latest):
    """Actual Budget's choice among a payee's latest transactions (newest
    first): the most frequent category, the newest on a tie, if it occurs at
    least 3 times; else None."""
    counts = collections.Counter(latest)
    best = None
    for cat in latest:
        if best is None or counts[cat] > counts[best]:
            best = cat
    return best if best is not None and counts[best] >= 3 else None


class ActualBudget(Online):
    """Actual Budget's category learning, as the tool does it.

    Each time a transaction of a payee (here: the normalized merchant) is
    added or its category changed, Actual looks at the payee's 5 latest
    transactions within the last 180 days; when one category occurs at
    least 3 times among them (the newest wins a tie), it creates or updates
    the rule "payee is X -> set category C", and leaves the rule as it is
    otherwise.  New transactions get the rule's category; without a rule,
    none.  A budget belongs to one user: the owner's rule first, else the
    rule everyone's transactions of the payee would give (a help Actual
    does not have, which can only raise its figures).  One answer, no
    score: top-3 n/a, confidence 1 when a rule fires.
    """

    name = "Actual Budget (rule: 3 of the last 5)"
    ranks = False
    probabilistic = False
    LATEST = 5
    WINDOW_DAYS = 180

    def __init__(self):
        self.latest = collections.defaultdict(lambda: collections.deque(maxlen=self.LATEST))
        self.rule = {}

    def predict(self, row):
        c = self.rule.get((row["user"], row["key"]))
        if c is None and row["user"] is not None:
            c = self.rule.get((None, row["key"]))
        return ([(c, 1.0)], 1.0) if c is not None else ([], None)

    def _update(self, k, day, truth):
        latest = self.latest[k]
        latest.appendleft((day, truth))
        c = probable_category([cat for d, cat in latest if d >= day - self.WINDOW_DAYS])
        if c is not None:
            self.rule[k] = c

    def learn(self, row, truth):
        self._update((row["user"], row["key"]), row["day"], truth)
        if row["user"] is not None:
            self._update((None, row["key"]), row["day"], truth)


class LastFive(Online):
    """"Most common of the last 5" per payee, without Actual's minimum of 3.

    The plain reading of Actual's rule, answering from the payee's first
    expense on: the most frequent category among the payee's 5 latest
    expenses (the newest on a tie), the owner's first, else everyone's.
    Confidence: its count / the number of those expenses.  Ranks.
    """

    name = "most common of the last 5"
    LATEST = 5

    def __init__(self):
        self.latest = collections.defaultdict(lambda: collections.deque(maxlen=self.LATEST))

    def predict(self, row):
        lst = self.latest.get((row["user"], row["key"])) if row["user"] is not None else None
        if not lst:
            lst = self.latest.get((None, row["key"]))
        if not lst:
            return [], None
        counts = collections.Counter(lst)
        newest = {}
        for i, c in enumerate(lst):
            newest.setdefault(c, i)
        ranked = sorted(counts.items(), key=lambda x: (-x[1], newest[x[0]]))
        return [(c, n / len(lst)) for c, n in ranked], ranked[0][1] / len(lst)

    def learn(self, row, truth):
        if row["user"] is not None:
            self.latest[(row["user"], row["key"])].appendleft(truth)
        self.latest[(None, row["key"])].appendleft(truth)


class GnuCashBayes(Online):
    """GnuCash's Bayesian import matcher.

    GnuCash keeps, per token of an imported transaction's description and
    memo, how often each account received it; for a new transaction it
    takes, for each account, the per-token probabilities p = count(token,
    account) / count(token) over the tokens that account has seen, combines
    them as prod(p) / (prod(p) + prod(1 - p)) and proposes the best account
    (GnuCash fills it in only above 90%; here the best account is the
    top-1, the combined probability its confidence, so the threshold is the
    table's precision/coverage columns).  Tokens: the words of the
    normalized merchant and description, each once.  A book is one user's:
    the owner's token counts when any of the tokens is known to them, else
    everyone's.  Ranks.
    """

    name = "GnuCash Bayesian matcher"

    def __init__(self):
        self.counts = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))

    @staticmethod
    def tokens(row):
        return sorted(set(row["key"].split()) | set(row["desc"].split()))

    def _score(self, book, toks):
        per_account = collections.defaultdict(list)
        for t in toks:
            c = book.get(t)
            if not c:
                continue
            total = sum(c.values())
            for acct, n in c.items():
                per_account[acct].append(n / total)
        out = []
        for acct, ps in per_account.items():
            prod = math.prod(ps)
            diff = math.prod(1 - p for p in ps)
            out.append((acct, prod / (prod + diff) if prod + diff > 0 else 1.0))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out

    def predict(self, row):
        toks = self.tokens(row)
        ranked = []
        if row["user"] is not None and row["user"] in self.counts:
            ranked = self._score(self.counts[row["user"]], toks)
        if not ranked:
            ranked = self._score(self.counts[None], toks)
        return ranked, (ranked[0][1] if ranked else None)

    def learn(self, row, truth):
        for t in self.tokens(row):
            if row["user"] is not None:
                self.counts[row["user"]][t][truth] += 1
            self.counts[None][t][truth] += 1
