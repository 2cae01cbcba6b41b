"""bench/research/harness.py -- the online protocol of bench/eval.sql, in Python.

For each expense in date order: cands = engine.categorize(row, k=3) (best
first, each (category, confidence, info)), decided = engine.decide(cands)
(what categorize() returns at the default min_confidence, or None), then
engine.count_decision(cands) (categorize() counts its first choice), then
engine.learn(row, truth) when the top-1 is wrong or absent.

Metrics as bench/eval.sql prints them: top-1, top-3, correction rate,
coverage (decided non-NULL), precision on coverage, reliability deciles
(confidence decile -> observed precision; 'calibrated' when every decile
with >= 100 predictions is within 0.08), computed on the whole stream and on
parts of it (first / second half by stream position).
"""
import math


class Result:
    __slots__ = ("pred", "conf", "correct", "top3", "decided", "dcorrect", "src", "row", "p", "info")

    def __init__(self, pred, conf, correct, top3, decided, dcorrect, src, row, p=None, info=None):
        self.pred, self.conf, self.correct, self.top3 = pred, conf, correct, top3
        self.decided, self.dcorrect, self.src, self.row = decided, dcorrect, src, row
        self.p, self.info = p, info


def stream(engine, rows, k=3):
    out = []
    for row in rows:
        cands = engine.categorize(row, k)
        truth = row["category"]
        pred = cands[0][0] if cands else None
        conf = cands[0][1] if cands else None
        correct = pred == truth
        top3 = any(c[0] == truth for c in cands[:3])
        d = engine.decide(cands)
        engine.count_decision(row, cands)
        if not correct:
            engine.learn(row, truth, cands)
        src = cands[0][2].get("src", "?") if cands else "none"
        x = cands[0][2] if cands else {}
        out.append(Result(pred, conf, correct, top3, d is not None, d is not None and d == truth, src, row,
                          x.get("p"), x.get("info")))
    return out


def reliability(results):
    """[(decile, n, mean conf, precision, gap)] over predictions with a confidence."""
    b = {}
    for r in results:
        if r.pred is None:
            continue
        d = min(int(math.floor(r.conf * 10)), 9)
        b.setdefault(d, []).append(r)
    out = []
    for d in sorted(b):
        g = b[d]
        mc = sum(x.conf for x in g) / len(g)
        pr = sum(x.correct for x in g) / len(g)
        out.append((d, len(g), mc, pr, abs(pr - mc)))
    return out


def metrics(results):
    n = len(results)
    if n == 0:
        return {}
    cov = [r for r in results if r.decided]
    rel = reliability(results)
    big = [x for x in rel if x[1] >= 100]
    m = {
        "n": n,
        "top1": sum(r.correct for r in results) / n,
        "top3": sum(r.top3 for r in results) / n,
        "coverage": len(cov) / n,
        "precision": (sum(r.dcorrect for r in cov) / len(cov)) if cov else float("nan"),
        "max_gap": max((x[4] for x in big), default=0.0),
        "deciles_ok": sum(1 for x in big if x[4] <= 0.08),
        "deciles_100": len(big),
        # expected calibration error over all predictions
        "ece": sum(x[1] * x[4] for x in rel) / max(1, sum(x[1] for x in rel)),
        # log loss of the top-1 confidence
        "logloss": -sum(math.log(min(max(r.conf, 1e-4), 1 - 1e-4)) if r.correct
                        else math.log(1 - min(max(r.conf, 1e-4), 1 - 1e-4))
                        for r in results if r.pred is not None) / max(1, sum(r.pred is not None for r in results)),
    }
    return m


def fmt(name, m):
    return ("%-22s n=%5d top1=%.4f top3=%.4f corr=%.4f cov=%.4f prec=%.4f gap=%.3f (%d/%d) ece=%.3f"
            % (name, m["n"], m["top1"], m["top3"], 1 - m["top1"], m["coverage"], m["precision"],
               m["max_gap"], m["deciles_ok"], m["deciles_100"], m["ece"]))


def rel_table(results):
    lines = ["  decile     n   conf   prec    gap"]
    for d, n, mc, pr, gap in reliability(results):
        lines.append("  %.1f-%.1f %5d  %.3f  %.3f  %.3f%s" % (d / 10, (d + 1) / 10, n, mc, pr, gap,
                                                             "" if n < 100 else (" ok" if gap <= 0.08 else " NO")))
    return "\n".join(lines)


def halves(results):
    h = len(results) // 2
    return results[:h], results[h:]


def breakdown(results, keyfn):
    """Accuracy by a grouping of the rows: [(group, n, top1, coverage, precision)]."""
    g = {}
    for r in results:
        g.setdefault(keyfn(r), []).append(r)
    out = []
    for k, lst in sorted(g.items(), key=lambda x: -len(x[1])):
        cov = [r for r in lst if r.decided]
        out.append((k, len(lst), sum(r.correct for r in lst) / len(lst), len(cov) / len(lst),
                    (sum(r.dcorrect for r in cov) / len(cov)) if cov else float("nan")))
    return out


def seen_marker(rows, normalize):
    """Mark each row 'new' (its normalized merchant key never seen before) or 'repeat'."""
    seen = set()
    out = {}
    for r in rows:
        k = (r.get("user"), normalize(r["merchant"]) or normalize(r["description"]))
        out[r["seq"]] = "new" if k not in seen else "repeat"
        seen.add(k)
    return out


def pr_curve(results, points=(0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)):
    """Precision when the most confident share s of expenses is auto-categorized,
    and the confidence threshold that gives it."""
    lst = sorted((r for r in results if r.pred is not None), key=lambda r: -r.conf)
    n = len(results)
    out = []
    for s in points:
        k = int(s * n)
        if k == 0 or k > len(lst):
            continue
        out.append((s, sum(r.correct for r in lst[:k]) / k, lst[k - 1].conf))
    return out
