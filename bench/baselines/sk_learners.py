"""bench/baselines/sk_learners.py -- the baselines that need scikit-learn.

Run with Debian's /usr/bin/python3 (python3-sklearn, python3-numpy).  Each
learner's run(rows) takes a whole stream (rows of stream.py, in stream
order) and returns, per row, ([(category, score)] best first, confidence),
using for each row only the labels of earlier rows: the prequential
protocol of learners.py.
"""
import collections
import math
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.svm import LinearSVC


def text_of(row):
    """Merchant and description, normalized, as one text."""
    return (row["key"] + " " + row["desc"]).strip()


def amount_bin(amount):
    """The amount as one of a few classes: its sign and its binary order of
    magnitude (0-1, 1-3, 3-7, 7-15, ... up to 2^14), so that a linear model
    can tell a coffee from a television at the same merchant."""
    b = min(int(math.log2(1.0 + abs(amount))), 14)
    return b if amount >= 0 else 15 + b


class SmartImporter:
    """beancount smart_importer's approach.

    smart_importer trains a scikit-learn pipeline on the ledger's earlier
    transactions each time the importer runs and predicts the account of
    the new ones: text features of payee and narration, numeric features, a
    linear SVM.  Here: tf-idf of character n-grams (2 to 5, within words)
    and of words (1 and 2) of the normalized merchant and description, and
    the amount (one-hot of amount_bin()), LinearSVC (C = 1, squared hinge,
    one-vs-rest: scikit-learn's defaults), retrained from scratch on all
    earlier rows once per day of the stream (the day's import), and that
    model answers every row of that day; before the first refit (the first
    day, or while fewer than two categories are known) there is no answer.
    Where daily refits would cost more than BUDGET, the import is every k
    days instead (k the smallest that fits; the notes say which k), so that
    `make eval` ends within its half hour.  One model for everyone
    (a ledger pools its payees; the owner is not a feature).  Ranks by decision value; its confidence is the top
    decision value, a margin rather than a probability: it orders the
    answers (precision at coverage, coverage at precision) but is not a
    probability to calibrate.
    """

    name = "smart_importer (tf-idf + LinearSVC, daily)"
    ranks = True
    probabilistic = False
    # Refits may fit at most this many (training row x category) units in
    # a stream, about 10 minutes of one core here: a refit each day on the
    # synthetic and Oxford sets (under 2e7), every few days on Birmingham
    # (104 categories over 244 days: 3.6e8 daily)
    BUDGET = 1e8

    def __init__(self):
        self.fit_seconds = 0.0
        self.fits = 0
        self.every = 1
        self.unconverged = 0

    @staticmethod
    def _amounts(bins):
        n = len(bins)
        return sp.csr_matrix((np.ones(n), (np.arange(n), bins)), shape=(n, 30))

    def _fit(self, texts, bins, labels):
        """A model of the rows given: (features of new rows, classifier)."""
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"\S+",
                                sublinear_tf=True)

        def features(t, b):
            return sp.hstack([chars.transform(t), words.transform(t), self._amounts(b)]).tocsr()

        X = sp.hstack([chars.fit_transform(texts), words.fit_transform(texts), self._amounts(bins)]).tocsr()
        # liblinear shuffles: a fixed seed gives the same table each run;
        # its own stopping tolerance for this solver (scikit-learn's 1e-4
        # costs twice the time for the same answers)
        clf = LinearSVC(tol=0.1, random_state=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(X, labels)
        self.unconverged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return features, clf

    def refit_days(self, rows):
        """Days between refits: 1 (a refit each day), or the fewest days
        that keep the stream's refits within BUDGET."""
        cats = len({r["category"] for r in rows})
        for k in range(1, 366):
            seen = cost = 0
            last = None
            for r in rows:
                if r["day"] // k != last:
                    last = r["day"] // k
                    cost += seen * cats
                seen += 1
            if cost <= self.BUDGET:
                return k
        return 366

    def run(self, rows):
        out = [([], None)] * len(rows)
        texts = [text_of(r) for r in rows]
        bins = [amount_bin(r["amount"]) for r in rows]
        labels = [r["category"] for r in rows]
        self.every = self.refit_days(rows)
        imports = collections.OrderedDict()     # rows of each import, in order
        for i, r in enumerate(rows):
            imports.setdefault(r["day"] // self.every, []).append(i)
        seen = 0
        for idx in imports.values():
            if seen and len(set(labels[:seen])) >= 2:
                t0 = time.time()
                features, clf = self._fit(texts[:seen], bins[:seen], labels[:seen])
                dec = clf.decision_function(features([texts[i] for i in idx], [bins[i] for i in idx]))
                if dec.ndim == 1:               # two classes: one decision value
                    dec = np.column_stack([-dec, dec])
                order = np.argsort(-dec, axis=1, kind="stable")[:, :3]
                for j, i in enumerate(idx):
                    ranked = [(clf.classes_[c], float(dec[j, c])) for c in order[j]]
                    out[i] = (ranked, ranked[0][1])
                self.fit_seconds += time.time() - t0
                self.fits += 1
            seen += len(idx)
        return out

    def notes(self):
        every = "each day" if self.every == 1 else "every %d days (the refit budget)" % self.every
        return "refitted %s, %d times, %.0f s of fitting, %d fits stopped at the iteration limit" % (
            every, self.fits, self.fit_seconds, self.unconverged)


class KNN:
    """k nearest neighbours over character n-grams (k = 5).

    Each earlier expense is a point: the character 3-grams (within words)
    of its normalized merchant and description, as counts, L2-normalized;
    similarity is the cosine.  The K = 5 most similar earlier expenses vote
    with their similarity (among expenses of the same text, the newest;
    among equally similar texts, the one seen first); confidence: the
    winner's share of the votes.  Everyone's expenses (no owner), as a kNN
    classifier over a shared history would be.  Ranks.

    Expenses with the same text are one point with its label history, so a
    query computes one cosine per distinct earlier text (exactly what the
    expense-level kNN computes, faster); the cosine of count vectors needs
    no vocabulary fitted on the past, so each distinct text keeps its
    CANDIDATES most similar texts once, and a query walks them skipping
    texts not seen yet; when fewer than K earlier ones are among them, the
    query computes its exact list over every earlier text.
    """

    name = "kNN over char n-grams (k=5)"
    ranks = True
    probabilistic = True
    K = 5
    CANDIDATES = 256

    def run(self, rows):
        labels = [r["category"] for r in rows]
        texts = [text_of(r) for r in rows]
        distinct = {}
        for t in texts:
            distinct.setdefault(t, len(distinct))
        doc_of = [distinct[t] for t in texts]
        first = [None] * len(distinct)
        for i, d in enumerate(doc_of):
            if first[d] is None:
                first[d] = i
        first = np.array(first)
        vec = CountVectorizer(analyzer="char_wb", ngram_range=(3, 3))
        X = l2_normalize(vec.fit_transform(list(distinct)).astype(np.float32))
        # Candidate neighbours of each distinct text, most similar first
        cand = [None] * len(distinct)
        truncated = [False] * len(distinct)
        XT = X.T.tocsr()
        for lo in range(0, len(distinct), 512):
            S = (X[lo:lo + 512] @ XT).toarray()
            for j in range(S.shape[0]):
                row = S[j]
                d = lo + j
                top = np.flatnonzero(row > 0)
                if len(top) > self.CANDIDATES:
                    top = top[np.argpartition(-row[top], self.CANDIDATES - 1)[:self.CANDIDATES]]
                    truncated[d] = True
                top = top[np.lexsort((first[top], -row[top]))]
                cand[d] = [(int(t), float(row[t])) for t in top]
        history = collections.defaultdict(list)     # doc -> labels, oldest first
        out = []
        for i, d in enumerate(doc_of):
            votes = collections.Counter()
            got = 0
            cands = cand[d]
            if truncated[d] and sum(1 for nd, _ in cands if nd in history) < self.K:
                # The kept candidates hold fewer than K earlier texts: the
                # exact list, over every earlier text
                row = (X[d] @ XT).toarray().ravel()
                top = np.flatnonzero((row > 0) & (first < i))
                top = top[np.lexsort((first[top], -row[top]))]
                cands = [(int(t), float(row[t])) for t in top]
            for nd, sim in cands:
                h = history.get(nd)
                if not h:
                    continue
                for lab in reversed(h[-(self.K - got):]):
                    votes[lab] += sim
                    got += 1
                if got >= self.K:
                    break
            if votes:
                total = sum(votes.values())
                ranked = sorted(votes.items(), key=lambda x: -x[1])
                out.append(([(c, v / total) for c, v in ranked], ranked[0][1] / total))
            else:
                out.append(([], None))
            history[d].append(labels[i])
        return out
