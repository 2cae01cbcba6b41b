/*-------------------------------------------------------------------------
 *
 * test_word.c
 *	  Unit tests of the user's word and the ranking (score.c).
 *
 * Hits are built by hand (as the engine would find them) and ranked:
 * a consistent word wins over rules at any amount; inconsistent
 * corrections are decided by amount, then recency; everyone's patterns are
 * a user's word only when they name one category and no rule knows better,
 * weigh what newcomers said (their hits) when they name several, and face
 * rules by their record.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "catz_core.h"
#include "unit.h"

#define OWNER 7

/* A learned merchant pattern of the owner (or everyone's when owner < 0) */
static CatzEntry
learned(int64_t id, int64_t category, int64_t owner, int64_t taught, double weight,
		int64_t weight_at, double near)
{
	CatzEntry	e;

	memset(&e, 0, sizeof(e));
	e.pattern_id = id;
	e.category_id = category;
	e.kind = CATZ_KIND_MERCHANT;
	e.flags = CATZ_PF_LEARNED;
	if (owner >= 0)
	{
		e.owner_id = owner;
		e.flags |= CATZ_PF_OWNER;
	}
	e.taught = taught;
	e.hits = taught;
	e.weight = weight;
	e.weight_at = weight_at;
	e.confirmed = id;
	e.log_amount = NAN;
	if (near > 0)
	{
		e.log_amount = log(near);
		e.flags |= CATZ_PF_AMOUNT_SEEN;
	}
	return e;
}

/* A manual merchant rule for everyone */
static CatzEntry
rule(int64_t id, int64_t category, int32_t priority, int64_t hits)
{
	CatzEntry	e;

	memset(&e, 0, sizeof(e));
	e.pattern_id = id;
	e.category_id = category;
	e.kind = CATZ_KIND_MERCHANT;
	e.priority = priority;
	e.hits = hits;
	e.log_amount = NAN;
	return e;
}

/* A hit of an entry: an exact match of the merchant name */
static CatzHit
hit(const CatzEntry *e, bool exact)
{
	CatzHit		h;

	memset(&h, 0, sizeof(h));
	h.entry = e;
	h.exact = exact;
	h.field = CATZ_FIELD_MERCHANT;
	h.match_words = 1;
	h.match_bytes = 6;
	h.own = (e->flags & CATZ_PF_OWNER) != 0;
	return h;
}

/* Mark the word and rank; the first candidate's category (-1: none) */
static int64_t
top(CatzHit *hits, int n, bool has_owner, bool has_amount, double amount, double *confidence)
{
	CatzCandidate out[4];
	int			k;

	catz_mark_word(hits, n, has_owner, OWNER, CATZ_FIELD_MERCHANT, has_amount, amount);
	k = catz_rank(hits, n, NULL, 0, 0, false, 0, out, 4);
	if (confidence)
		*confidence = k > 0 ? out[0].confidence : 0;
	return k > 0 ? out[0].category_id : -1;
}

/* top() of two whole-name hits of the owner's expense, with its confidence */
static int64_t
top_of_two_confidence(const CatzEntry *x, const CatzEntry *y, bool has_amount, double amount,
					  double *confidence)
{
	CatzHit		hits[2];

	hits[0] = hit(x, true);
	hits[1] = hit(y, true);
	return top(hits, 2, true, has_amount, amount, confidence);
}

/* top() of two whole-name hits of the owner's expense */
static int64_t
top_of_two(const CatzEntry *x, const CatzEntry *y, bool has_amount, double amount)
{
	return top_of_two_confidence(x, y, has_amount, amount, NULL);
}

/* One correction, over a rule of high priority: the word, at any amount */
static void
test_consistent_word_beats_rules(void)
{
	CatzEntry	r = rule(1, 30, 50, 100);
	CatzEntry	w = learned(2, 10, OWNER, 1, 1, 1, 80);
	CatzHit		hits[2];
	double		amounts[] = {1, 80, 5000};

	for (int i = 0; i < 3; i++)
	{
		hits[0] = hit(&r, false);
		hits[1] = hit(&w, true);
		CHECK(top(hits, 2, true, true, amounts[i], NULL) == 10);
	}
	hits[0] = hit(&r, false);
	hits[1] = hit(&w, true);
	CHECK(top(hits, 2, true, false, 0, NULL) == 10);
}

/* 3 Groceries near 80, 1 Electronics near 499: the amount decides */
static void
test_amount_decides(void)
{
	/* Electronics was taught at the owner's 2nd correction of 4 */
	CatzEntry	g = learned(1, 10, OWNER, 3, 2.4725, 4, 80);
	CatzEntry	el = learned(2, 20, OWNER, 1, 1, 2, 499);
	CatzHit		hits[2];
	double		conf;

	hits[0] = hit(&g, true);
	hits[1] = hit(&el, true);
	CHECK(top(hits, 2, true, true, 90, &conf) == 10);
	hits[0] = hit(&g, true);
	hits[1] = hit(&el, true);
	CHECK(top(hits, 2, true, true, 450, &conf) == 20);
	CHECK(conf > 0 && conf < 1);
	/* without an amount the weight decides */
	hits[0] = hit(&g, true);
	hits[1] = hit(&el, true);
	CHECK(top(hits, 2, true, false, 0, NULL) == 10);
}

/*
 * The prior: a merchant filed 20 times under Equipment near 60, once (the
 * latest) under Materials near 16.  An amount near 16 does not overturn
 * the usual filing on one correction's say; a second one there does.
 */
static void
test_prior_keeps_usual(void)
{
	/* Equipment's weight as of correction 20: about 6.6; Materials at 21 */
	CatzEntry	eq = learned(1, 10, OWNER, 20, 6.6, 20, 60);
	CatzEntry	mat = learned(2, 20, OWNER, 1, 1, 21, 16);
	CatzEntry	mat2 = learned(2, 20, OWNER, 2, 1.85, 22, 16);

	CHECK(top_of_two(&eq, &mat, true, 15) == 10);
	CHECK(top_of_two(&eq, &mat2, true, 15) == 20);
	/* far from both, the usual filing */
	CHECK(top_of_two(&eq, &mat2, true, 5000) == 10);
}

/* Weights decayed to nothing (a history far longer than the decay reaches): still an answer */
static void
test_weights_decayed_away(void)
{
	CatzEntry	a = learned(1, 10, OWNER, 5000, 1, 0, 80);
	CatzEntry	b = learned(2, 20, OWNER, 5000, 1, 0, 500);
	CatzHit		hits[2];
	double		conf = -1;
	int64_t		got;

	hits[0] = hit(&a, true);
	hits[1] = hit(&b, true);
	got = top(hits, 2, true, true, 90, &conf);
	CHECK(got == 10 || got == 20);
	CHECK(isfinite(conf) && conf >= 0 && conf <= 1);
	CHECK(isfinite(hits[0].word_share) && isfinite(hits[1].word_share));
}

/* Recency: the later corrections decay the earlier ones */
static void
test_recency_decides(void)
{
	/* 3 Groceries long ago (weight as of correction 3), 2 Electronics since */
	CatzEntry	g = learned(1, 10, OWNER, 3, 2.4725, 3, 0);
	CatzEntry	el = learned(2, 20, OWNER, 2, 1.85, 5, 0);
	CatzHit		hits[2];

	hits[0] = hit(&g, true);
	hits[1] = hit(&el, true);
	/* Groceries now weighs 2.4725 * 0.85^2 = 1.786 < 1.85 */
	CHECK(top(hits, 2, true, false, 0, NULL) == 20);
	CHECK(hits[0].word_group && hits[1].word_group);
	CHECK(fabs(hits[0].word_share + hits[1].word_share - 1) < 1e-9);
}

/*
 * A group member's confidence follows its share of the group's evidence,
 * whatever its own record: the pick of a merchant filed several ways is
 * right about as often as its share says
 */
static void
test_group_confidence(void)
{
	/* the weights of test_recency_decides: Electronics has a little more */
	CatzEntry	g = learned(1, 10, OWNER, 3, 2.4725, 3, 0);
	CatzEntry	el = learned(2, 20, OWNER, 2, 1.85, 5, 0);
	CatzHit		hits[2];
	double		c;
	double		c_missed;
	double		share;

	hits[0] = hit(&g, true);
	hits[1] = hit(&el, true);
	CHECK(top(hits, 2, true, false, 0, &c) == 20);
	share = hits[0].entry == &el ? hits[0].word_share : hits[1].word_share;
	CHECK(share > 0.5 && share < 0.6);
	CHECK(fabs(c - 1 / (1 + exp(0.066 - 0.645 * log(share / (1 - share))))) < 1e-9);
	CHECK(c > 0.45 && c < 0.55);
	/* misses of the pick change its record, not how often the pick is right */
	el.misses = 2;
	CHECK(top_of_two_confidence(&g, &el, false, 0, &c_missed) == 20);
	CHECK(fabs(c_missed - c) < 1e-9);
	/* a larger share, a higher confidence */
	el.weight = 6;
	CHECK(top_of_two_confidence(&g, &el, false, 0, &c_missed) == 20 && c_missed > c + 0.1);
}

/* Another user's word is not this user's; a partial match is no word */
static void
test_whose_word(void)
{
	CatzEntry	other = learned(1, 10, OWNER + 1, 1, 1, 1, 0);
	CatzEntry	mine = learned(2, 20, OWNER, 1, 1, 1, 0);
	CatzHit		hits[2];

	hits[0] = hit(&other, true);
	hits[1] = hit(&mine, false);
	catz_mark_word(hits, 2, true, OWNER, CATZ_FIELD_MERCHANT, false, 0);
	CHECK(!hits[0].word && !hits[0].word_group);
	CHECK(!hits[1].word && !hits[1].word_group);
}

/* Everyone's patterns for a user without a word of their own */
static void
test_crowd(void)
{
	CatzEntry	r = rule(1, 30, 0, 50);
	CatzEntry	c1 = learned(2, 10, -1, 3, 3, 3, 0);
	CatzEntry	c2 = learned(3, 20, -1, 3, 3, 6, 0);
	CatzHit		hits[3];

	/* consistent, no rule: the crowd's word */
	hits[0] = hit(&c1, true);
	CHECK(top(hits, 1, true, false, 0, NULL) == 10);
	CHECK(hits[0].word);

	/* consistent, but a rule with a good record knows better */
	hits[0] = hit(&r, false);
	hits[1] = hit(&c1, true);
	CHECK(top(hits, 2, true, false, 0, NULL) == 30);

	/* inconsistent: nobody's word */
	hits[0] = hit(&c1, true);
	hits[1] = hit(&c2, true);
	catz_mark_word(hits, 2, true, OWNER, CATZ_FIELD_MERCHANT, false, 0);
	CHECK(!hits[0].word && !hits[1].word && hits[0].crowd && hits[1].crowd);

	/* without a user, everyone's patterns are the word even with a rule */
	hits[0] = hit(&r, false);
	hits[1] = hit(&c1, true);
	CHECK(top(hits, 2, false, false, 0, NULL) == 10);
}

/*
 * Everyone's patterns for a newcomer weigh their hits (what users new to
 * the merchant said), not the weight frozen at promotion: the category
 * promoted last does not win by recency
 */
static void
test_crowd_follows_hits(void)
{
	/* promoted first, confirmed since: 40 hits; promoted later: 12 hits */
	CatzEntry	c1 = learned(2, 10, -1, 3, 3, 3, 0);
	CatzEntry	c2 = learned(3, 20, -1, 3, 3, 40, 0);
	CatzHit		hits[2];

	c1.hits = 40;
	c1.misses = 12;
	c2.hits = 12;
	hits[0] = hit(&c1, true);
	hits[1] = hit(&c2, true);
	CHECK(top(hits, 2, true, false, 0, NULL) == 10);
	CHECK(hits[0].word_share > 0.7 && hits[0].word_share < 0.8);

	/* the crowd changes its mind */
	c2.hits = 60;
	hits[0] = hit(&c1, true);
	hits[1] = hit(&c2, true);
	CHECK(top(hits, 2, true, false, 0, NULL) == 20);

	/* a user's own patterns keep their recency-weighted evidence */
	{
		CatzEntry	o1 = learned(4, 10, OWNER, 3, 2.4725, 3, 0);
		CatzEntry	o2 = learned(5, 20, OWNER, 2, 1.85, 5, 0);

		o1.hits = 1000;
		hits[0] = hit(&o1, true);
		hits[1] = hit(&o2, true);
		CHECK(top(hits, 2, true, false, 0, NULL) == 20);
	}
}

/*
 * For a user, everyone's learned pattern of a part of the name faces a
 * rule by its record; without a user, learned ranks before manual
 */
static void
test_crowd_part_faces_rules(void)
{
	CatzEntry	r = rule(1, 30, 0, 0);
	CatzEntry	c = learned(2, 10, -1, 3, 3, 3, 0);
	CatzHit		hits[2];

	/* a rule nobody corrected beats a part matched by the crowd's pattern */
	hits[0] = hit(&r, false);
	hits[1] = hit(&c, false);
	CHECK(top(hits, 2, true, false, 0, NULL) == 30);
	CHECK(hits[0].crowd != hits[1].crowd);

	/* a rule users keep correcting loses to it */
	r.hits = 2;
	r.misses = 40;
	c.hits = 200;
	hits[0] = hit(&r, false);
	hits[1] = hit(&c, false);
	CHECK(top(hits, 2, true, false, 0, NULL) == 10);

	/* no user: everyone's patterns are the user's own, learned first */
	r.hits = 0;
	r.misses = 0;
	c.hits = 3;
	hits[0] = hit(&r, false);
	hits[1] = hit(&c, false);
	CHECK(top(hits, 2, false, false, 0, NULL) == 10);
}

/*
 * A learned pattern that matched a part of the name gives way to a surer
 * model guess; a whole-name match and a manual rule do not
 */
static void
test_part_yields_to_model(void)
{
	CatzEntry	part = learned(1, 10, -1, 3, 3, 3, 0);
	CatzEntry	r = rule(2, 30, 0, 0);
	CatzPrediction sure = {20, 0.999};
	CatzPrediction unsure = {20, 0.01};
	CatzCandidate out[3];
	CatzHit		hits[2];
	int			n;

	/* the crowd's part, corrected far more often than confirmed */
	part.hits = 3;
	part.misses = 40;
	hits[0] = hit(&part, false);
	n = catz_rank(hits, 1, &sure, 1, 5, false, 1000, out, 3);
	CHECK(n == 2 && out[0].category_id == 20 && out[0].source == CATZ_SOURCE_MODEL);
	CHECK(out[1].category_id == 10 && out[0].confidence > out[1].confidence);
	/* k = 1: the model's guess is the answer */
	hits[0] = hit(&part, false);
	n = catz_rank(hits, 1, &sure, 1, 5, false, 1000, out, 1);
	CHECK(n == 1 && out[0].category_id == 20);
	/* a guess less sure than the part comes after it */
	hits[0] = hit(&part, false);
	n = catz_rank(hits, 1, &unsure, 1, 5, false, 1000, out, 3);
	CHECK(n == 2 && out[0].category_id == 10 && out[1].category_id == 20);
	/* the same pattern on the whole name keeps its place */
	hits[0] = hit(&part, true);
	n = catz_rank(hits, 1, &sure, 1, 5, false, 1000, out, 3);
	CHECK(n == 2 && out[0].category_id == 10);
	/* and so does a manual rule on a part of the name */
	hits[0] = hit(&r, false);
	n = catz_rank(hits, 1, &sure, 1, 5, false, 1000, out, 3);
	CHECK(n == 2 && out[0].category_id == 30);
}

/* The confidence of one manual rule's hit, of this kind, exact or not */
static double
rule_confidence(CatzEntry *e, uint8_t kind, bool exact)
{
	CatzHit		h;
	double		confidence = 0;

	e->kind = kind;
	h = hit(e, exact);
	CHECK(top(&h, 1, false, false, 0, &confidence) == e->category_id);
	return confidence;
}

/*
 * A manual rule starts at its kind's quality times 0.9, and its record
 * takes over as it grows: counted once, not discounted by its kind again
 */
static void
test_rule_record(void)
{
	CatzEntry	r = rule(1, 10, 0, 0);

	/* new: q * 0.9 */
	CHECK(fabs(rule_confidence(&r, CATZ_KIND_MERCHANT, true) - 0.9) < 1e-9);
	CHECK(fabs(rule_confidence(&r, CATZ_KIND_MERCHANT, false) - 0.95 * 0.9) < 1e-9);
	CHECK(fabs(rule_confidence(&r, CATZ_KIND_KEYWORD, false) - 0.85 * 0.9) < 1e-9);
	/* a keyword rule confirmed 980 times and corrected 20 says about that */
	r.hits = 980;
	r.misses = 20;
	CHECK(fabs(rule_confidence(&r, CATZ_KIND_KEYWORD, false) - (980 + 0.85 * 9) / 1010.0) < 1e-9);
	CHECK(rule_confidence(&r, CATZ_KIND_KEYWORD, false) > 0.97);
	/* kinds still differ while the record is short */
	r.hits = 2;
	r.misses = 0;
	CHECK(rule_confidence(&r, CATZ_KIND_KEYWORD, false) <
		  rule_confidence(&r, CATZ_KIND_REGEX, false));
	/* and a poor record is poor whatever the kind */
	r.hits = 40;
	r.misses = 60;
	CHECK(rule_confidence(&r, CATZ_KIND_MERCHANT, true) < 0.45);
	/*
	 * The reliability (what the reason shows) is the record with q = 1:
	 * 40 confirmations and 60 corrections are the outcomes of 100 answers,
	 * 40 of them right (a miss is not also a hit: 14 and 19 are 33 answers,
	 * 14 right) ...
	 */
	CHECK(fabs(catz_pattern_reliability(&r, 0) - 49.0 / 110.0) < 1e-9);
	r.hits = 14;
	r.misses = 19;
	CHECK(fabs(catz_pattern_reliability(&r, 0) - 23.0 / 43.0) < 1e-9);
	/* ... and the trigger's decisions are answers, reviewed ones among them */
	r.hits = 40;
	r.misses = 60;
	CHECK(fabs(catz_pattern_reliability(&r, 10) - 49.0 / 110.0) < 1e-9);
	CHECK(fabs(catz_pattern_reliability(&r, 150) - 99.0 / 160.0) < 1e-9);
}

/* The amount kernel: 1 at the mean, near 0 far away, 1 when unknown */
static void
test_kernel(void)
{
	CatzEntry	e = learned(1, 10, OWNER, 1, 1, 1, 100);

	CHECK(fabs(catz_word_amount_kernel(&e, true, 100) - 1) < 1e-9);
	CHECK(fabs(catz_word_amount_kernel(&e, true, -100) - 1) < 1e-9);
	CHECK(catz_word_amount_kernel(&e, true, 1e9) < 1e-6);
	CHECK(fabs(catz_word_amount_kernel(&e, true, 200) - exp(-0.5)) < 1e-9);
	CHECK(catz_word_amount_kernel(&e, false, 0) == 1);
	CHECK(catz_word_amount_kernel(&e, true, NAN) == 1);
	e.flags &= ~CATZ_PF_AMOUNT_SEEN;
	CHECK(catz_word_amount_kernel(&e, true, 5) == 1);
}

int
main(void)
{
	UNIT_RUN(test_consistent_word_beats_rules);
	UNIT_RUN(test_amount_decides);
	UNIT_RUN(test_prior_keeps_usual);
	UNIT_RUN(test_weights_decayed_away);
	UNIT_RUN(test_recency_decides);
	UNIT_RUN(test_whose_word);
	UNIT_RUN(test_crowd);
	UNIT_RUN(test_crowd_follows_hits);
	UNIT_RUN(test_crowd_part_faces_rules);
	UNIT_RUN(test_part_yields_to_model);
	UNIT_RUN(test_kernel);
	UNIT_RUN(test_rule_record);
	UNIT_RUN(test_group_confidence);
	UNIT_DONE("test_word");
}
