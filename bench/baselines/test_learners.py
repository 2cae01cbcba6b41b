"""bench/baselines/test_learners.py -- unit tests of the baselines' protocol.

    cd bench/baselines && python3 -m unittest

Checks that each learner follows the tool it stands for on small cases
worked out by hand, and that none sees a label before it answers (the
answers to the first rows do not change when later labels do).  The
scikit-learn learners are skipped where scikit-learn is not installed
(it is for bench/eval.sh, which runs Debian's /usr/bin/python3).
"""
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import learners  # noqa: E402

try:
    import sk_learners
except ImportError:             # no scikit-learn on this python3
    sk_learners = None


def row(key, category, day=0, user=None, desc="", amount=10.0):
    return {"seq": 0, "user": user, "key": key, "desc": desc, "amount": amount, "day": day,
            "category": category, "first_seen": False}


def top1(answer):
    ranked, _ = answer
    return ranked[0][0] if ranked else None


class ActualBudget(unittest.TestCase):
    def test_probable_category(self):
        self.assertEqual(learners.probable_category(["a", "b", "a", "b", "a"]), "a")
        self.assertIsNone(learners.probable_category(["a", "b", "a", "b", "c"]))
        # newest first: on a tie of 3 the newest wins (needs 6; 5 allow one)
        self.assertEqual(learners.probable_category(["b", "a", "b", "a", "b", "a"]), "b")
        self.assertIsNone(learners.probable_category([]))

    def test_rule_after_three_and_kept_until_another_wins(self):
        a = learners.ActualBudget()
        cats = ["x", "x", "x", "y", "y", "y", "y"]
        answers = a.run([row("shop", c, day=i) for i, c in enumerate(cats)])
        # no rule until three x; then x while y has fewer than 3 of the last 5
        self.assertEqual([top1(x) for x in answers], [None, None, None, "x", "x", "x", "y"])

    def test_window_forgets_old_transactions(self):
        a = learners.ActualBudget()
        rows = [row("shop", "x", day=0), row("shop", "x", day=1), row("shop", "x", day=300)]
        a.run(rows)
        self.assertNotIn((None, "shop"), a.rule)

    def test_owner_first(self):
        a = learners.ActualBudget()
        rows = [row("shop", "x", user=1)] * 3 + [row("shop", "y", user=2)] * 3
        a.run(rows)
        self.assertEqual(top1(a.predict(row("shop", None, user=1))), "x")
        self.assertEqual(top1(a.predict(row("shop", None, user=2))), "y")
        self.assertIsNotNone(top1(a.predict(row("shop", None, user=3))))


class LastFiveAndDecay(unittest.TestCase):
    def test_last_five(self):
        lf = learners.LastFive()
        lf.run([row("shop", c) for c in ["a", "a", "a", "b", "b", "b", "b"]])
        ranked, conf = lf.predict(row("shop", None))
        self.assertEqual(ranked[0][0], "b")         # b b b b a are the last five
        self.assertAlmostEqual(conf, 0.8)

    def test_decayed_majority_follows_a_change(self):
        d = learners.DecayedMajority()
        d.run([row("shop", "a")] * 3 + [row("shop", "b")] * 2)
        # a: 0.8^4 + 0.8^3 + 0.8^2 = 1.5616; b: 0.8 + 1 = 1.8
        ranked, conf = d.predict(row("shop", None))
        self.assertEqual(ranked[0][0], "b")
        self.assertAlmostEqual(conf, 1.8 / (1.8 + 1.5616))


class GnuCash(unittest.TestCase):
    def test_combination(self):
        g = learners.GnuCashBayes()
        g.run([row("tesco fuel", "Fuel"), row("tesco", "Food"), row("tesco", "Food")])
        ranked, conf = g.predict(row("tesco fuel", None))
        # Fuel: p(tesco) = 1/3, p(fuel) = 1 -> 1/3 / (1/3 + 0) = 1;
        # Food: p(tesco) = 2/3 -> 2/3
        self.assertEqual(ranked[0][0], "Fuel")
        self.assertAlmostEqual(conf, 1.0)
        self.assertAlmostEqual(dict(ranked)["Food"], 2 / 3)

    def test_unknown_tokens_no_answer(self):
        g = learners.GnuCashBayes()
        g.run([row("tesco", "Food")])
        self.assertEqual(g.predict(row("aldi", None)), ([], None))


def stream_rows():
    """A small stream over 6 days with repeated and new merchants."""
    names = ["tesco store", "tesco metro", "shell fuel", "bp fuel", "boots", "tesco express"]
    cats = ["Food", "Food", "Fuel", "Fuel", "Health", "Food"]
    rows = []
    for i in range(36):
        k = i % 6
        rows.append(row(names[k], cats[k], day=i // 6, amount=5.0 + i))
    return rows


class NoPeeking(unittest.TestCase):
    def classes(self):
        out = [learners.DecayedMajority, learners.ActualBudget, learners.LastFive, learners.GnuCashBayes]
        if sk_learners is not None:
            out += [sk_learners.SmartImporter, sk_learners.KNN]
        return out

    def test_later_labels_do_not_change_earlier_answers(self):
        rows = stream_rows()
        cut = 20                        # rows[:cut] answered before any later label
        changed = [dict(r) for r in rows]
        for r in changed[cut:]:
            r["category"] = "Other"
        for cls in self.classes():
            a = cls().run(rows)
            b = cls().run(changed)
            # SmartImporter answers a whole day with the model of the days
            # before: row cut's day started at row 18
            upto = 18 if cls.__name__ == "SmartImporter" else cut + 1
            self.assertEqual(a[:upto], b[:upto], cls.__name__)

    @unittest.skipIf(sk_learners is None, "no scikit-learn")
    def test_smart_importer_learns_by_day(self):
        answers = sk_learners.SmartImporter().run(stream_rows())
        self.assertTrue(all(top1(x) is None for x in answers[:6]))     # day 0: no model yet
        self.assertEqual(top1(answers[-1]), "Food")

    @unittest.skipIf(sk_learners is None, "no scikit-learn")
    def test_knn_nearest_text(self):
        answers = sk_learners.KNN().run(stream_rows())
        self.assertIsNone(top1(answers[0]))
        # "tesco express" first seen at row 5: its nearest earlier texts are tescos
        self.assertEqual(top1(answers[5]), "Food")


if __name__ == "__main__":
    unittest.main()
