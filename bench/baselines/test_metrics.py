"""bench/baselines/test_metrics.py -- unit check of metrics.py (standard library).

    python3 bench/baselines/test_metrics.py        (or make -C bench check)
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import Outcome, coverage_at_precision, precision_at_coverage, reliability, summarize  # noqa: E402


def o(correct, conf, first=False, top3=None):
    return Outcome(correct, correct if top3 is None else top3, conf, first)


class Metrics(unittest.TestCase):
    def test_precision_at_coverage_exact_cut(self):
        # 10 expenses; the 4 most confident are right, then wrong ones
        out = [o(True, 0.9 - i / 100) for i in range(4)] + [o(False, 0.5 - i / 100) for i in range(6)]
        self.assertAlmostEqual(precision_at_coverage(out, 0.4), 1.0)
        self.assertAlmostEqual(precision_at_coverage(out, 0.5), 0.8)

    def test_precision_at_coverage_ties_pro_rata(self):
        # one tie group of 4 (2 right) after 2 right: coverage 0.4 of 10 takes
        # 2 of the group at its precision 0.5
        out = [o(True, 0.9), o(True, 0.8)] + [o(i < 2, 0.5) for i in range(4)] + [o(False, None)] * 4
        self.assertAlmostEqual(precision_at_coverage(out, 0.4), (2 + 1) / 4)

    def test_precision_at_coverage_not_reached(self):
        out = [o(True, 0.9)] + [o(False, None)] * 9
        self.assertIsNone(precision_at_coverage(out, 0.45))

    def test_coverage_at_precision(self):
        out = [o(True, 0.9)] * 8 + [o(False, 0.8)] * 2 + [o(True, 0.1)] * 10
        # cut after 0.9: 8/8 = 1.0 precision, coverage 0.4; after 0.8: 8/10
        # = 0.8; after 0.1: 18/20 = 0.9 -> coverage 1.0
        self.assertAlmostEqual(coverage_at_precision(out, 0.9), 1.0)
        self.assertAlmostEqual(coverage_at_precision(out, 0.95), 0.4)
        self.assertEqual(coverage_at_precision([o(False, 0.5)], 0.9), 0.0)

    def test_summarize(self):
        out = [o(True, 0.9, first=True), o(False, 0.2, first=True, top3=True),
               o(True, 0.7), o(False, None, top3=False)]
        s = summarize(out)
        self.assertEqual(s["n"], 4)
        self.assertAlmostEqual(s["top1"], 0.5)
        self.assertAlmostEqual(s["top3"], 0.75)
        self.assertAlmostEqual(s["top1_first"], 0.5)
        self.assertAlmostEqual(s["top1_repeat"], 0.5)
        self.assertAlmostEqual(s["corrections"], 0.5)
        self.assertIsNone(summarize(out, ranks=False)["top3"])

    def test_reliability(self):
        out = [o(True, 0.95), o(False, 0.91), o(True, 0.15), o(True, 1.0), o(False, None)]
        rel = reliability(out)
        self.assertEqual([(d, n) for d, n, _, _ in rel], [(1, 1), (9, 3)])
        self.assertAlmostEqual(rel[1][3], 2 / 3)


if __name__ == "__main__":
    unittest.main()
