"""bench/baselines/test_metrics.py -- unit tests of metrics.py (standard library only).

    cd bench/baselines && python3 -m unittest
    python3 -m unittest bench/baselines/test_metrics.py      (from the top)

Each case is small enough to be worked out by hand; the comments say how.
"""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import (Outcome, coverage_at_precision, precision_at_coverage,  # noqa: E402
                     rank_deciles, reliability, summarize)


def o(correct, conf, first=False, top3=None):
    """An outcome; top3 defaults to correct (a right top-1 is in the top 3)."""
    return Outcome(correct, correct if top3 is None else top3, conf, first)


class PrecisionAtCoverage(unittest.TestCase):
    def test_exact_cut(self):
        # 10 expenses: the 4 most confident right, the 6 others wrong
        out = [o(True, 0.9 - i / 100) for i in range(4)] + [o(False, 0.5 - i / 100) for i in range(6)]
        self.assertAlmostEqual(precision_at_coverage(out, 0.4), 1.0)
        self.assertAlmostEqual(precision_at_coverage(out, 0.5), 0.8)       # 4 of 5
        self.assertAlmostEqual(precision_at_coverage(out, 1.0), 0.4)

    def test_order_of_the_stream_does_not_matter(self):
        out = [o(True, 0.9), o(False, 0.2), o(True, 0.8), o(False, 0.1)]
        self.assertAlmostEqual(precision_at_coverage(out, 0.5), precision_at_coverage(out[::-1], 0.5))

    def test_ties_count_pro_rata(self):
        # 2 right, then a tie group of 4 (2 right); coverage 0.4 of 10 takes
        # 2 of the group at its precision 0.5: (2 + 1) / 4
        out = [o(True, 0.9), o(True, 0.8)] + [o(i < 2, 0.5) for i in range(4)] + [o(False, None)] * 4
        self.assertAlmostEqual(precision_at_coverage(out, 0.4), 0.75)

    def test_one_tie_for_everything(self):
        # a rule that fires or not: every answer has confidence 1
        out = [o(i < 6, 1.0) for i in range(8)] + [o(False, None)] * 2
        self.assertAlmostEqual(precision_at_coverage(out, 0.45), 0.75)

    def test_not_reached(self):
        # only 1 of 10 expenses has an answer: no 45% to take
        out = [o(True, 0.9)] + [o(False, None)] * 9
        self.assertIsNone(precision_at_coverage(out, 0.45))

    def test_empty(self):
        self.assertIsNone(precision_at_coverage([], 0.45))


class CoverageAtPrecision(unittest.TestCase):
    def test_best_threshold(self):
        out = [o(True, 0.9)] * 8 + [o(False, 0.8)] * 2 + [o(True, 0.1)] * 10
        # cut after 0.9: 8/8, coverage 0.4; after 0.8: 8/10 = 0.8; after
        # 0.1: 18/20 = 0.9, coverage 1.0
        self.assertAlmostEqual(coverage_at_precision(out, 0.9), 1.0)
        self.assertAlmostEqual(coverage_at_precision(out, 0.95), 0.4)

    def test_counts_unanswered_in_the_denominator(self):
        out = [o(True, 0.7)] * 3 + [o(False, None)] * 7
        self.assertAlmostEqual(coverage_at_precision(out, 0.9), 0.3)

    def test_a_tie_is_all_or_nothing(self):
        # a threshold cannot split expenses of equal confidence: the tie
        # of 10 has precision 0.8 < 0.9, so nothing
        out = [o(i < 8, 0.5) for i in range(10)]
        self.assertEqual(coverage_at_precision(out, 0.9), 0.0)

    def test_never_reached(self):
        self.assertEqual(coverage_at_precision([o(False, 0.5)], 0.9), 0.0)
        self.assertEqual(coverage_at_precision([o(False, None)], 0.9), 0.0)

    def test_exactly_at_the_precision(self):
        out = [o(True, 0.9)] * 9 + [o(False, 0.8)]
        self.assertAlmostEqual(coverage_at_precision(out, 0.9), 1.0)


class Reliability(unittest.TestCase):
    def test_deciles(self):
        out = [o(True, 0.95), o(False, 0.91), o(True, 0.15), o(True, 1.0), o(False, None)]
        rel = reliability(out)
        # 1.0 goes into the top decile with 0.95 and 0.91
        self.assertEqual([(d, n) for d, n, _, _ in rel], [(1, 1), (9, 3)])
        self.assertAlmostEqual(rel[1][2], (0.95 + 0.91 + 1.0) / 3)
        self.assertAlmostEqual(rel[1][3], 2 / 3)

    def test_out_of_range_confidence_is_clamped(self):
        rel = reliability([o(True, 1.2), o(False, -0.1)])
        self.assertEqual([(d, n) for d, n, _, _ in rel], [(0, 1), (9, 1)])
        self.assertAlmostEqual(rel[1][2], 1.0)


class RankDeciles(unittest.TestCase):
    def test_equal_groups_least_confident_first(self):
        # 20 answers, confidence i/20, right when i >= 10
        out = [o(i >= 10, i / 20) for i in range(20)] + [o(False, None)] * 5
        groups = rank_deciles(out)
        self.assertEqual(len(groups), 10)
        self.assertEqual([g for g, _, _ in groups], list(range(10)))
        self.assertTrue(all(abs(n - 2) < 1e-9 for _, n, _ in groups))
        self.assertEqual([p for _, _, p in groups], [0.0] * 5 + [1.0] * 5)

    def test_a_tie_spreads_at_its_precision(self):
        # one confidence for all: every tenth has the overall precision
        out = [o(i < 3, 1.0) for i in range(5)]
        for _, n, p in rank_deciles(out):
            self.assertAlmostEqual(n, 0.5)
            self.assertAlmostEqual(p, 0.6)

    def test_mean_of_groups_is_the_precision(self):
        out = [o(i % 3 == 0, (i * 7 % 11) / 11) for i in range(37)]
        groups = rank_deciles(out)
        self.assertAlmostEqual(sum(p for _, _, p in groups) / 10, sum(x.correct for x in out) / 37)

    def test_no_answers(self):
        self.assertEqual(rank_deciles([o(False, None)]), [])


class Summarize(unittest.TestCase):
    def test_columns(self):
        out = [o(True, 0.9, first=True), o(False, 0.2, first=True, top3=True),
               o(True, 0.7), o(False, None, top3=False)]
        s = summarize(out)
        self.assertEqual(s["n"], 4)
        self.assertAlmostEqual(s["top1"], 0.5)
        self.assertAlmostEqual(s["top3"], 0.75)
        self.assertAlmostEqual(s["top1_first"], 0.5)
        self.assertAlmostEqual(s["top1_repeat"], 0.5)
        self.assertAlmostEqual(s["first_share"], 0.5)
        self.assertAlmostEqual(s["corrections"], 0.5)
        # the 2 most confident of 4 (0.9 right, 0.7 right)
        self.assertAlmostEqual(s["p_at_c45"], 1.0)
        # 0.9 and 0.7 right (0.5 coverage); with 0.2 it falls to 2/3
        self.assertAlmostEqual(s["c_at_p90"], 0.5)

    def test_no_ranking_no_top3(self):
        self.assertIsNone(summarize([o(True, 1.0)], ranks=False)["top3"])

    def test_corrections_are_the_misses(self):
        out = [o(True, 0.9), o(False, 0.9), o(False, None)]
        s = summarize(out)
        self.assertAlmostEqual(s["corrections"], 1 - s["top1"])

    def test_no_repeats(self):
        s = summarize([o(True, 0.9, first=True)])
        self.assertIsNone(s["top1_repeat"])
        self.assertAlmostEqual(s["top1_first"], 1.0)


if __name__ == "__main__":
    unittest.main()
