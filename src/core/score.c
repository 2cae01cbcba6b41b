/*-------------------------------------------------------------------------
 *
 * score.c
 *	  Ranking of matched patterns and model guesses, and their confidence.
 *
 * Ranking follows the documented order: first the user's word (below),
 * then the expense owner's own patterns, then priority, then specificity
 * (merchant > regex > keyword; a match of the whole field before a partial
 * one; more words, then more bytes), then learned before manual (a
 * correction of a merchant overrides a rule), then the pattern's learned
 * reliability, then the lowest pattern id (so that ties are deterministic).
 * One candidate per category: the best pattern of each category represents
 * it.  Model guesses come after every pattern candidate.
 *
 * The user's word (the learning contract of issue 13): what a user taught
 * for a merchant is kept while it is consistent, so when all of the user's
 * corrections of the merchant name one category, that learned pattern
 * answers.  When they name several, the one their history favours
 * answers: each correction weighs CATZ_WORD_DECAY to the power of the
 * user's later corrections of the merchant (recency), and a category's
 * weight is scaled by a Gaussian kernel (one octave wide, with a floor) of
 * the distance between the expense's ln|amount| and the weighted mean
 * ln|amount| of the category's corrections, so that "small amounts here,
 * large ones there" is learned from corrections alone.  For a user who
 * taught nothing for the merchant, everyone's patterns of it weigh what
 * the users new to it have said since: each one's hits (the agreeing users
 * it was promoted with, then every correction or confirmation naming its
 * category by such a user), so that the crowd's answer follows the crowd
 * rather than whichever category was promoted last.
 *
 * Confidence is an estimate of the probability that the candidate is the
 * category the user wants.
 *
 * Pattern candidates start from q(kind, exact), how much a match of this
 * kind tells, and follow the pattern's record: its hits (confirmations)
 * and misses (corrections against it), the two outcomes of a reviewed
 * answer, and the trigger's decisions (answers, reviewed or not): of
 * n = max(decisions, hits + misses) answers, good = n - misses were right
 * (reviewed_record; counting hits - misses, as when hits were every first
 * choice, took a rule confirmed 14 times and corrected 19 for right 0 of
 * 19 times instead of 14 of 33):
 *
 *	manual patterns: the mean of a Beta(good + q a, misses + b + (1 - q) a)
 *		posterior: the prior trusts what a person wrote as far as its kind
 *		of match tells, and the record (the precision of the pattern's own
 *		matches, all of its kind) takes over as it grows.  (Taking q times
 *		the posterior instead discounted a record twice: a keyword pattern
 *		right 98% of the time said 0.83.)  Its reliability r is the same
 *		with q = 1.
 *	learned patterns: q * r, r a two-component empirical-Bayes mixture;
 *		q stays a factor, as a learned pattern's record comes from whole
 *		names, and a text that merely contains one is often another
 *		merchant.  A member of a group of several categories of one
 *		merchant (the user's word, or the crowd's, weighed by recency and
 *		amount: catz_mark_word) has q * sigma(g0 + g1 * logit(share)): how
 *		often the group's pick is right follows the pick's share of the
 *		group's evidence, not its own record, which it earned while the
 *		others competed (records of a third each for a merchant filed three
 *		ways, whose pick is right about half of the time).  Merchants
 *		are either consistent (the same category almost always, theta_c)
 *		or ambiguous (right a Beta(a, b) share of the time); the counts give
 *		the posterior weight of each, and r is the weighted prediction.  A
 *		single Beta cannot fit what corrections show: a pattern learned
 *		once is right only about half of the time, one confirmed five times
 *		more than nine times in ten, and one miss costs far more than one
 *		hit gains.
 *
 * The record already counts the times a competitor was right instead
 * (as misses), so competitors get no separate penalty.  Of q, an exact
 * whole-name merchant match tells most; a part of the name tells less for
 * a learned pattern, a whole name seen once, than for one a person wrote
 * to mean "names with these words".  Model candidates: sigma(m0 + m1 *
 * logit(p)), p the naive Bayes posterior, which is over-confident.  Each
 * candidate's confidence is its own estimate: a candidate ranked below
 * another by priority may have the higher one.
 *
 * The learned-pattern constants (learned_consistent, learned_a,
 * learned_b) were refitted by maximum likelihood, on the first half (by
 * date) of Birmingham streamed through bench/eval.sh, once hits counted
 * corrections and confirmations only (reads count nothing since issue 14),
 * and not refitted when good became n - misses (Birmingham's deciles
 * stayed within 0.08).
 * group_g0 and group_g1 were fitted by maximum likelihood (logistic
 * regression of "right" on logit(share), 8911 answers of group members)
 * on the first halves (by date) of Birmingham and of the synthetic set
 * together; with logit(r) as a second input its weight was 0.15 against
 * 0.59, so the record is left out.  Birmingham's second half, Oxford and
 * the held-out synthetic set checked them.
 * owned_consistent, the prior of a user's own learned pattern, was fitted
 * to the precision of users' own once-taught merchants on the first half
 * (by date) of the synthetic set streamed through bench/eval.sh (0.94:
 * one user files a merchant alike far more often than a crowd does;
 * Birmingham has no users).  model_m0 and model_m1 were refitted by
 * maximum likelihood (logistic regression of "right" on logit(p)) on the
 * token model's answers in the first halves (by date) of Birmingham and
 * of the synthetic set together, once the model weighed its features by
 * how they spread over the categories and scored each category against
 * the rest (model.c); the held-out synthetic set and Oxford checked them.
 * The others were fitted by maximum likelihood on the first half (by
 * date) of the Birmingham data set
 * streamed through bench/eval.sh, and
 * checked for calibration on its second half and on the Oxford set (the
 * reliability tables in the README).  They are no rule about any merchant
 * or category: numbers for learned patterns, their groups and the model.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Calibration constants (see the file header) */
typedef struct CatzCalibration
{
	double		manual_a;		/* Beta prior of manual patterns */
	double		manual_b;
	double		learned_consistent; /* P(consistent) a priori */
	double		owned_consistent;	/* the same for one user's own merchant */
	double		group_g0;		/* logistic map of a group member's share */
	double		group_g1;
	double		learned_theta_c;	/* precision of a consistent merchant */
	double		learned_a;		/* Beta prior of an ambiguous merchant */
	double		learned_b;
	double		q_merchant_exact;
	double		q_merchant_partial; /* manual pattern, part of the name */
	double		q_learned_partial;	/* learned pattern, part of the name */
	double		q_regex;
	double		q_keyword;
	double		model_m0;		/* logistic recalibration of the model */
	double		model_m1;
	double		model_docs0;	/* documents at which a model is half trusted */
} CatzCalibration;

static const CatzCalibration calib = {
	.manual_a = 9.0,
	.manual_b = 1.0,
	.learned_consistent = 0.1,
	.owned_consistent = 0.76,
	.group_g0 = -0.066,
	.group_g1 = 0.645,
	.learned_theta_c = 0.9925,
	.learned_a = 4.0,
	.learned_b = 3.0,
	.q_merchant_exact = 1.0,
	.q_merchant_partial = 0.95,
	.q_learned_partial = 0.55,
	.q_regex = 0.95,
	.q_keyword = 0.85,
	.model_m0 = -1.41,
	.model_m1 = 0.445,
	.model_docs0 = 10.0,
};

/* log of the Beta function */
static double
log_beta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/* The reliability of a learned pattern of good confirmations and misses */
static double
learned_reliability(double good, double misses, bool owned)
{
	double		hits = good + misses;
	double		prior = owned ? calib.owned_consistent : calib.learned_consistent;
	double		log_c;
	double		log_a;
	double		w;
	double		r_ambiguous;

	/*
	 * Posterior weight of "consistent" against "ambiguous"; one user files a
	 * merchant far more consistently than everyone does
	 */
	log_c = log(prior) + good * log(calib.learned_theta_c) +
		misses * log(1 - calib.learned_theta_c);
	log_a = log(1 - prior) +
		log_beta(calib.learned_a + good, calib.learned_b + misses) -
		log_beta(calib.learned_a, calib.learned_b);
	w = (log_a - log_c > 700) ? 0 : 1 / (1 + exp(log_a - log_c));
	r_ambiguous = (good + calib.learned_a) / (hits + calib.learned_a + calib.learned_b);
	return w * calib.learned_theta_c + (1 - w) * r_ambiguous;
}

/*
 * Learned reliabilities of small counts, each computed once (0: not yet;
 * a reliability is above 0): its lgamma and log calls would otherwise be a
 * fifth of a call's work, since every hit of every call needs one
 */
#define MEMO_COUNTS 64
static double learned_memo[2][MEMO_COUNTS][MEMO_COUNTS];

/*
 * A pattern's record as its answers' outcomes: a confirmation (a hit) and
 * a correction (a miss) are the two outcomes of one reviewed answer, so
 * its answers are at least hits + misses, of which the hits were right;
 * the trigger's decisions are answers too, reviewed or not (an unreviewed
 * one counts as right), so the answers are the larger of the two and the
 * right ones all but the misses
 */
static void
reviewed_record(const CatzEntry *entry, int64_t decisions, int64_t *trials, int64_t *good)
{
	int64_t		reviewed = entry->hits + entry->misses;
	int64_t		decided = decisions > 0 ? decisions : 0;

	*trials = decided > reviewed ? decided : reviewed;
	*good = *trials - entry->misses;
}

/*
 * A manual pattern's estimate for a match of quality q: the mean of its
 * Beta posterior when the prior's mean is q times manual_a / (manual_a +
 * manual_b), so that a new pattern starts at what its kind of match tells
 * and its own record (the precision of its matches, all of this kind)
 * takes over as it grows
 */
static double
manual_estimate(const CatzEntry *entry, int64_t decisions, double q)
{
	int64_t		trials;
	int64_t		good;

	reviewed_record(entry, decisions, &trials, &good);
	return ((double) good + q * calib.manual_a) /
		((double) trials + calib.manual_a + calib.manual_b);
}

double
catz_pattern_reliability(const CatzEntry *entry, int64_t decisions)
{
	int64_t		trials;
	int64_t		good;
	int64_t		misses = entry->misses;
	bool		owned = (entry->flags & CATZ_PF_OWNER) != 0;
	double	   *memo;

	if (!(entry->flags & CATZ_PF_LEARNED))
		return manual_estimate(entry, decisions, 1);
	reviewed_record(entry, decisions, &trials, &good);
	if (good < 0 || misses < 0 || good >= MEMO_COUNTS || misses >= MEMO_COUNTS)
		return learned_reliability((double) good, (double) misses, owned);
	memo = &learned_memo[owned][good][misses];
	if (*memo == 0)
		*memo = learned_reliability((double) good, (double) misses, owned);
	return *memo;
}

/* CATZ_WORD_DECAY to the power of later corrections (0 or fewer: 1), small powers kept */
static double
word_decay(int64_t later)
{
	static double powers[256];	/* 0: not computed yet */

	if (later <= 0)
		return 1;
	if (later >= (int64_t) (sizeof(powers) / sizeof(powers[0])))
		return pow(CATZ_WORD_DECAY, (double) later);
	if (powers[later] == 0)
		powers[later] = pow(CATZ_WORD_DECAY, (double) later);
	return powers[later];
}

/*
 * Whether a hit is one of several categories of its merchant's learned
 * patterns (a word group whose evidence it does not hold alone)
 */
static inline bool
shares_group(const CatzHit *h)
{
	return h->word_group && h->word_share < 1;
}

/*
 * A group member's estimate: how often the group's pick is right depends
 * on the member's share of the group's (recency- and amount-weighted)
 * evidence, not on the member's own record, which was earned while the
 * other categories competed (a merchant filed three ways has records of a
 * third each, and its best-share pick is right about half of the time)
 */
static double
group_estimate(const CatzHit *h)
{
	double		s = h->word_share < 1e-4 ? 1e-4 : h->word_share;

	return 1 / (1 + exp(-(calib.group_g0 + calib.group_g1 * log(s / (1 - s)))));
}

static double match_quality(const CatzHit *h);

/*
 * A pattern's own estimate: a learned pattern's is how much its match tells
 * times its reliability (and its share of its merchant's evidence); a
 * manual pattern's is its record with the match's quality as the prior
 */
static double
hit_estimate(const CatzHit *h)
{
	if (!(h->entry->flags & CATZ_PF_LEARNED))
		return manual_estimate(h->entry, h->decisions, match_quality(h));
	if (shares_group(h))
		return match_quality(h) * group_estimate(h);
	return match_quality(h) * h->reliability;
}

/* Each hit's reliability, once (the sort compares hits many times) */
static void
fill_reliability(CatzHit *hits, int nhits)
{
	for (int i = 0; i < nhits; i++)
		hits[i].reliability = catz_pattern_reliability(hits[i].entry, hits[i].decisions);
}

/* Rank level: everything in the ranking key before reliability */
static int
level_cmp(const CatzHit *x, const CatzHit *y)
{
	if (x->own != y->own)
		return x->own ? -1 : 1;
	if (x->entry->priority != y->entry->priority)
		return x->entry->priority > y->entry->priority ? -1 : 1;
	if (x->entry->kind != y->entry->kind)
		return x->entry->kind > y->entry->kind ? -1 : 1;
	if (x->exact != y->exact)
		return x->exact ? -1 : 1;
	if (x->match_words != y->match_words)
		return x->match_words > y->match_words ? -1 : 1;
	if (x->match_bytes != y->match_bytes)
		return x->match_bytes > y->match_bytes ? -1 : 1;
	return 0;
}

/* Full ranking order of two hits (qsort comparator) */
static int
hit_cmp(const void *a, const void *b)
{
	const CatzHit *x = a;
	const CatzHit *y = b;
	int			c = level_cmp(x, y);
	bool		lx = (x->entry->flags & CATZ_PF_LEARNED) != 0;
	bool		ly = (y->entry->flags & CATZ_PF_LEARNED) != 0;
	double		rx;
	double		ry;

	if (x->word != y->word)
		return x->word ? -1 : 1;

	/*
	 * The crowd against a rule, for a user who taught nothing for the
	 * merchant: what everyone's corrections say overrides a rule of the
	 * same owner and priority only when its record is better
	 */
	if (x->crowd != y->crowd && x->own == y->own &&
		x->entry->priority == y->entry->priority &&
		!((x->crowd ? y : x)->entry->flags & CATZ_PF_LEARNED))
	{
		double		ex = hit_estimate(x);
		double		ey = hit_estimate(y);

		if (ex != ey)
			return ex > ey ? -1 : 1;
	}
	if (c != 0)
		return c;
	if (lx != ly)
		return lx ? -1 : 1;
	if (x->word_group && y->word_group && x->word_share != y->word_share)
		return x->word_share > y->word_share ? -1 : 1;
	rx = x->reliability;
	ry = y->reliability;
	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (x->entry->pattern_id != y->entry->pattern_id)
		return x->entry->pattern_id < y->entry->pattern_id ? -1 : 1;
	return 0;
}

double
catz_word_amount_kernel(const CatzEntry *e, bool has_amount, double amount)
{
	double		z;

	if (!has_amount || !(e->flags & CATZ_PF_AMOUNT_SEEN) || !isfinite(amount) ||
		!isfinite(e->log_amount))
		return 1;
	z = (log(fabs(amount) + 1e-9) - e->log_amount) / CATZ_WORD_AMOUNT_SCALE;
	return exp(-0.5 * z * z);
}

/*
 * The weight of everyone's pattern for a user who taught nothing for its
 * merchant: its hits (confirmations and corrections naming its category,
 * see learn.c), at least one
 */
static double
crowd_weight(const CatzHit *h)
{
	int64_t		hits = h->entry->hits + (h->decisions > 0 ? h->decisions : 0);

	return hits > 1 ? (double) hits : 1;
}

/* Whether a hit belongs to the word group of catz_mark_word() */
static bool
in_word_group(const CatzHit *h, bool has_owner, int64_t owner_id, uint8_t key_field)
{
	const CatzEntry *e = h->entry;

	if (!(e->flags & CATZ_PF_LEARNED) || e->kind != CATZ_KIND_MERCHANT || !h->exact ||
		h->field != key_field || (e->flags & (CATZ_PF_AMOUNT_MIN | CATZ_PF_AMOUNT_MAX)))
		return false;
	if (has_owner)
		return (e->flags & CATZ_PF_OWNER) && e->owner_id == owner_id;
	return !(e->flags & CATZ_PF_OWNER);
}

void
catz_mark_word(CatzHit *hits, int nhits, bool has_owner, int64_t owner_id,
			   uint8_t key_field, bool has_amount, double amount)
{
	int			best = -1;
	double		best_score = 0;
	double		total = 0;
	double		weights = 0;
	double		prior;
	int64_t		corrections = 0;
	bool		has_owner_in = has_owner;
	bool		fallback = false;
	int			i;

	/*
	 * The group, and the user's corrections of the merchant so far; a user
	 * who taught nothing for it gets everyone's (what was promoted, or
	 * taught without a user)
	 */
	for (;;)
	{
		int			members = 0;

		fallback = !has_owner && has_owner_in;

		for (i = 0; i < nhits; i++)
		{
			CatzHit    *h = &hits[i];

			h->word = false;
			h->crowd = false;
			h->word_share = 0;
			h->word_weight = 0;
			h->word_group = in_word_group(h, has_owner, owner_id, key_field);
			if (h->word_group)
				members++;
			if (h->word_group && h->entry->taught > 0)
				corrections += h->entry->taught;
		}
		if (members > 0 || !has_owner)
			break;
		has_owner = false;
	}

	/*
	 * For an expense of a user, everyone's learned patterns outside the
	 * group (a part of the name, or another merchant's) are the crowd's
	 * word too, not the user's: they face rules by their record
	 */
	if (has_owner_in)
		for (i = 0; i < nhits; i++)
			if (!hits[i].word_group && (hits[i].entry->flags & CATZ_PF_LEARNED) &&
				!(hits[i].entry->flags & CATZ_PF_OWNER))
				hits[i].crowd = true;

	for (i = 0; i < nhits; i++)
	{
		CatzHit    *h = &hits[i];
		const CatzEntry *e = h->entry;
		int64_t		later;

		if (!h->word_group)
			continue;

		/*
		 * Bring the weight up to now; a pattern taught before weights
		 * existed counts as one correction.  Everyone's patterns for a user
		 * who taught nothing: what the users new to the merchant said.
		 */
		later = corrections - e->weight_at;
		if (fallback)
			h->word_weight = crowd_weight(h);
		else
			h->word_weight = e->weight <= 0 ? 1 : e->weight * word_decay(later);
		weights += h->word_weight;
	}

	/*
	 * Each category's weight near the expense's amount, plus a prior of
	 * CATZ_WORD_PRIOR corrections shared out in the group's proportions:
	 * the amount decides as far as the corrections show it, and a few
	 * corrections cannot make a far-off amount rule out the category the
	 * merchant is usually filed under.
	 */
	prior = CATZ_WORD_PRIOR / weights;
	if (!isfinite(prior))
		prior = 0;				/* weights decayed to nothing (or none) */
	for (i = 0; i < nhits; i++)
	{
		CatzHit    *h = &hits[i];
		const CatzEntry *e = h->entry;
		double		score;

		if (!h->word_group)
			continue;
		score = h->word_weight * (catz_word_amount_kernel(e, has_amount, amount) + prior);
		h->word_share = score;	/* divided by the total below */
		total += score;
		if (best < 0 || score > best_score ||
			(score == best_score &&
			 (e->confirmed > hits[best].entry->confirmed ||
			  (e->confirmed == hits[best].entry->confirmed &&
			   e->pattern_id < hits[best].entry->pattern_id))))
		{
			best = i;
			best_score = score;
		}
	}
	for (i = 0; i < nhits; i++)
		if (hits[i].word_group)
			hits[i].word_share = total > 0 ? hits[i].word_share / total : 1;
	/*
	 * Everyone's patterns for a user who taught nothing for the merchant
	 * are that user's word only when everyone filed it alike; else they
	 * rank by their shares among themselves, and their confidence decides
	 */
	if (best < 0)
		return;
	if (!fallback)
	{
		hits[best].word = true;
		return;
	}
	for (i = 0; i < nhits; i++)
		if (hits[i].word_group)
			hits[i].crowd = true;
	if (hits[best].word_share < 1)
		return;
	/* Consistent, and no rule of the user's or everyone's knows better */
	fill_reliability(hits, nhits);
	for (i = 0; i < nhits; i++)
		if (!(hits[i].entry->flags & CATZ_PF_LEARNED) &&
			hit_estimate(&hits[i]) > hit_estimate(&hits[best]))
			return;
	hits[best].word = true;
	hits[best].crowd = false;
}

/* How much a match of this kind and extent tells */
static double
match_quality(const CatzHit *h)
{
	switch (h->entry->kind)
	{
		case CATZ_KIND_MERCHANT:
			if (h->exact)
				return calib.q_merchant_exact;

			/*
			 * A person who writes a merchant pattern means "any name with
			 * these words"; a learned one is a whole name seen once, and a
			 * text that merely contains it is often another merchant.
			 */
			return (h->entry->flags & CATZ_PF_LEARNED) ? calib.q_learned_partial
				: calib.q_merchant_partial;
		case CATZ_KIND_REGEX:
			return calib.q_regex;
		default:
			return calib.q_keyword;
	}
}

/*
 * Recalibrated probability of a model guess; a model of few documents
 * knows too few categories for its posterior to mean much, so it is shrunk
 * by docs / (docs + model_docs0).  A posterior beyond 0.005 or 0.995 is
 * taken as that: naive Bayes gives such odds to guesses that are not
 * surer for it (and m0, m1 were fitted on posteriors so clipped).
 */
#define MODEL_P_CLIP	0.005

static double
model_confidence(double p, double docs)
{
	double		q = p < MODEL_P_CLIP ? MODEL_P_CLIP : p > 1 - MODEL_P_CLIP ? 1 - MODEL_P_CLIP : p;

	return docs / (docs + calib.model_docs0) /
		(1 + exp(-(calib.model_m0 + calib.model_m1 * log(q / (1 - q)))));
}

/* Clamp to [0, 1] */
static double
clamp01(double x)
{
	if (!(x > 0))
		return 0;
	return x > 1 ? 1 : x;
}

/*
 * Whether a hit gives way to a surer model guess: a learned pattern that
 * matched only a part of the name (a whole name seen once, inside another
 * merchant's name more often than not)
 */
bool
catz_yields_to_model(const CatzHit *h)
{
	return (h->entry->flags & CATZ_PF_LEARNED) && !h->exact;
}

/* Whether out[0..n) has a candidate of this category */
static bool
has_category(const CatzCandidate *out, int n, int64_t category_id)
{
	int			j;

	for (j = 0; j < n; j++)
		if (out[j].category_id == category_id)
			return true;
	return false;
}

/* A pattern candidate's confidence */
static double
pattern_confidence(const CatzHit *h)
{
	return clamp01(hit_estimate(h));
}

/* Put hit h into out[n] */
static void
put_pattern(CatzCandidate *out, int n, CatzHit *h)
{
	memset(&out[n], 0, sizeof(CatzCandidate));
	out[n].category_id = h->entry->category_id;
	out[n].source = CATZ_SOURCE_PATTERN;
	out[n].hit = h;
	out[n].confidence = pattern_confidence(h);
}

/* A model guess's confidence, from a model of model_docs documents */
static double
guess_confidence(const CatzPrediction *m, double model_docs)
{
	return clamp01(model_confidence(m->probability, model_docs));
}

/* Put model guess m into out[n] */
static void
put_model(CatzCandidate *out, int n, const CatzPrediction *m, double confidence,
		  uint32_t known_features, bool own_model)
{
	memset(&out[n], 0, sizeof(CatzCandidate));
	out[n].category_id = m->category_id;
	out[n].source = CATZ_SOURCE_MODEL;
	out[n].model_probability = m->probability;
	out[n].known_features = known_features;
	out[n].own_model = own_model;
	out[n].confidence = confidence;
}

/*
 * Sort hits into rank order.  hit_cmp is not transitive in every case (the
 * crowd against a rule compares estimates, other pairs their level), so
 * the order depends on the comparisons the sort makes: this is the
 * top-down merge sort glibc's qsort runs (halves of n / 2 and the rest,
 * ties to the left half), over hit indices, so that the ranking of an
 * expense's hits (a handful; up to SORT_HITS_MAX) is the one qsort gave
 * and does not change with the C library.  Past that, qsort itself.
 */
#define SORT_HITS_MAX	64

static void
merge_sort_hits(const CatzHit *hits, uint32_t *idx, uint32_t *tmp, int n)
{
	int			n1 = n / 2;
	int			n2 = n - n1;
	uint32_t   *b1 = idx;
	uint32_t   *b2 = idx + n1;
	int			i = 0;
	int			j = 0;
	int			k = 0;

	if (n <= 1)
		return;
	merge_sort_hits(hits, b1, tmp, n1);
	merge_sort_hits(hits, b2, tmp, n2);
	while (i < n1 && j < n2)
		tmp[k++] = (hit_cmp(&hits[b1[i]], &hits[b2[j]]) <= 0) ? b1[i++] : b2[j++];
	while (i < n1)
		tmp[k++] = b1[i++];
	memcpy(idx, tmp, (size_t) k * sizeof(uint32_t));	/* b2's rest is in place */
}

static void
sort_hits(CatzHit *hits, int nhits)
{
	uint32_t	idx[SORT_HITS_MAX];
	uint32_t	tmp[SORT_HITS_MAX];

	if (nhits > SORT_HITS_MAX)
	{
		qsort(hits, (size_t) nhits, sizeof(CatzHit), hit_cmp);
		return;
	}
	for (int i = 0; i < nhits; i++)
		idx[i] = (uint32_t) i;
	merge_sort_hits(hits, idx, tmp, nhits);

	/* Put hit idx[k] at k, cycle by cycle; a placed slot's idx is its own */
	for (int start = 0; start < nhits; start++)
	{
		CatzHit		first;
		int			k = start;

		if (idx[start] == (uint32_t) start)
			continue;
		first = hits[start];
		while (idx[k] != (uint32_t) start)
		{
			int			from = (int) idx[k];

			hits[k] = hits[from];
			idx[k] = (uint32_t) k;
			k = from;
		}
		hits[k] = first;
		idx[k] = (uint32_t) k;
	}
}

int
catz_rank(CatzHit *hits, int nhits,
		  const CatzPrediction *model, int nmodel,
		  uint32_t known_features, bool own_model, double model_docs,
		  CatzCandidate *out, int k)
{
	int			n = 0;
	int			i;
	int			mi = 0;			/* next model guess */

	if (k <= 0)
		return 0;
	fill_reliability(hits, nhits);
	sort_hits(hits, nhits);

	/*
	 * The best hit of each category, in rank order; before a hit that
	 * yields to the model, the model's guesses that are surer than it
	 */
	for (i = 0; i < nhits && n < k; i++)
	{
		CatzHit    *h = &hits[i];

		if (has_category(out, n, h->entry->category_id))
			continue;
		if (catz_yields_to_model(h))
		{
			double		pc = pattern_confidence(h);

			for (; mi < nmodel && n < k; mi++)
			{
				double		mc;

				if (has_category(out, n, model[mi].category_id))
					continue;
				mc = guess_confidence(&model[mi], model_docs);
				if (!(mc > pc))
					break;
				put_model(out, n++, &model[mi], mc, known_features, own_model);
			}
			if (n >= k || has_category(out, n, h->entry->category_id))
				continue;
		}
		put_pattern(out, n++, h);
	}

	/* The model's guesses for the categories no pattern proposed */
	for (; mi < nmodel && n < k; mi++)
		if (!has_category(out, n, model[mi].category_id))
			put_model(out, n++, &model[mi], guess_confidence(&model[mi], model_docs),
					  known_features, own_model);
	return n;
}
