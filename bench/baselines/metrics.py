"""bench/baselines/metrics.py -- the figures of the side-by-side table.

Standard library only (bench/baselines/test_metrics.py checks it).  One
Outcome per expense of a stream, whoever predicted it; summarize() turns a
stream's outcomes into the table's columns:

- top1: share of expenses whose first choice is the true category (an
  absent answer counts as wrong); top3: the same within the first three,
  None when the learner does not rank;
- top1_first / top1_repeat: top-1 on expenses whose key (owner,
  normalized merchant) had not been seen before in the stream, and on the
  others;
- precision_at_coverage(0.45): precision of the most confident 45% of all
  expenses; a tie group of equal confidence that straddles the cut counts
  pro rata at its own precision (what a random order within the tie gives);
- coverage_at_precision(0.90): the largest share of expenses that a
  confidence threshold can auto-categorize with precision >= 0.90 (cuts only
  between distinct confidences, as a threshold can);
- corrections: share of expenses whose first choice was wrong or absent
  (the user corrects them), as bench/eval.sql counts them;
- reliability(): confidence decile -> (predictions, mean confidence,
  observed precision), for confidences meant as probabilities;
- rank_deciles(): the answered expenses in ten equal-count groups by
  confidence, least confident first -> observed precision, for any score
  that orders answers (a margin, a rule that fires or not).
"""
import collections
import math

Outcome = collections.namedtuple("Outcome", "correct top3 confidence first_seen")
"""correct: bool; top3: bool or None (learner cannot rank); confidence:
float or None (no answer, or no confidence); first_seen: bool."""


def _share(flags):
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


def _groups(outcomes):
    """(confidence, n, correct) per distinct confidence, most confident first;
    expenses without a confidence are left out (never auto-categorized)."""
    g = collections.defaultdict(lambda: [0, 0])
    for o in outcomes:
        if o.confidence is not None:
            g[o.confidence][0] += 1
            g[o.confidence][1] += bool(o.correct)
    return [(c, n, k) for c, (n, k) in sorted(g.items(), key=lambda x: -x[0])]


def precision_at_coverage(outcomes, coverage):
    """Precision of the most confident `coverage` share of all expenses, or
    None when fewer expenses than that have a confidence."""
    total = len(outcomes)
    want = coverage * total
    if total == 0 or want <= 0:
        return None
    taken = hits = 0.0
    for _, n, k in _groups(outcomes):
        if taken + n >= want:
            part = want - taken
            return (hits + k * part / n) / want
        taken += n
        hits += k
    return None


def coverage_at_precision(outcomes, precision):
    """Largest share of all expenses above some confidence threshold with
    precision >= `precision` (0.0 when no threshold reaches it)."""
    total = len(outcomes)
    if total == 0:
        return None
    best = 0.0
    taken = hits = 0
    for _, n, k in _groups(outcomes):
        taken += n
        hits += k
        if hits / taken >= precision - 1e-12:
            best = taken / total
    return best


def reliability(outcomes, bins=10):
    """[(decile, predictions, mean confidence, observed precision)] over the
    expenses that got an answer with a confidence in [0, 1]."""
    b = collections.defaultdict(list)
    for o in outcomes:
        if o.confidence is not None:
            c = min(max(o.confidence, 0.0), 1.0)
            b[min(int(math.floor(c * bins)), bins - 1)].append(o)
    return [(d, len(g), sum(min(max(x.confidence, 0.0), 1.0) for x in g) / len(g),
             sum(x.correct for x in g) / len(g)) for d, g in sorted(b.items())]


def rank_deciles(outcomes, bins=10):
    """[(group, predictions, observed precision)] for `bins` groups of equal
    size of the expenses with a confidence, least confident first.  A tie
    group of equal confidence that straddles groups counts in each pro rata
    at its own precision (the same rule as precision_at_coverage)."""
    groups = list(reversed(_groups(outcomes)))         # least confident first
    total = sum(n for _, n, _ in groups)
    if total == 0:
        return []
    size = total / bins
    out = []
    gi = 0
    left = groups[0][1] if groups else 0                # of groups[gi], not yet taken
    for b in range(bins):
        want = size
        hits = 0.0
        while want > 1e-9 and gi < len(groups):
            _, n, k = groups[gi]
            take = min(left, want)
            hits += k * take / n
            want -= take
            left -= take
            if left <= 1e-9:
                gi += 1
                left = groups[gi][1] if gi < len(groups) else 0
        out.append((b, size, hits / size))
    return out


def summarize(outcomes, ranks=True):
    """The table's columns for one stream of outcomes."""
    outcomes = list(outcomes)
    return {
        "n": len(outcomes),
        "top1": _share(o.correct for o in outcomes),
        "top3": _share(bool(o.top3) for o in outcomes) if ranks else None,
        "top1_first": _share(o.correct for o in outcomes if o.first_seen),
        "top1_repeat": _share(o.correct for o in outcomes if not o.first_seen),
        "first_share": _share(o.first_seen for o in outcomes),
        "p_at_c45": precision_at_coverage(outcomes, 0.45),
        "c_at_p90": coverage_at_precision(outcomes, 0.90),
        "corrections": _share(not o.correct for o in outcomes),
    }
