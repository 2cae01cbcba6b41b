/*-------------------------------------------------------------------------
 *
 * score.c
 *	  Ranking of matched patterns and model guesses, and their confidence.
 *
 * Ranking follows the documented order: the expense owner's own patterns
 * first, then priority, then specificity (merchant > regex > keyword; a
 * match of the whole field before a partial one; more words, then more
 * bytes), then the pattern's learned reliability, then the lowest pattern
 * id (so that ties are deterministic).  At the same level:
 *	- a pinned pattern first: the learned pattern confirmed by the latest
 *	  correction of its merchant, until it has been applied once.  What a
 *	  user just taught is what categorize() answers next (the learning
 *	  contract); after that, the evidence decides again, because for a
 *	  merchant filed under several categories the most frequent one is
 *	  right more often than the latest one;
 *	- learned before manual: a correction of a merchant overrides a rule;
 *	- then reliability.
 * One candidate per category: the best pattern of each category represents
 * it.  Model guesses come after every pattern candidate.
 *
 * Confidence is an estimate of the probability that the candidate is the
 * category the user wants.
 *
 * Pattern candidates: q(kind, exact) * r, where r is the pattern's
 * reliability, predicted from its hits (the times it was the engine's first
 * choice, plus confirming corrections) and misses (corrections against it):
 *
 *	manual patterns: the mean of a Beta(good + a, misses + b) posterior,
 *		good = hits - misses, with a prior that trusts what a person wrote;
 *	learned patterns: a two-component empirical-Bayes mixture.  Merchants
 *		are either consistent (the same category almost always, theta_c)
 *		or ambiguous (right a Beta(a, b) share of the time); the counts give
 *		the posterior weight of each, and r is the weighted prediction.  A
 *		single Beta cannot fit what corrections show: a pattern learned
 *		once is right only about half of the time, one confirmed five times
 *		more than nine times in ten, and one miss costs far more than one
 *		hit gains.
 *
 * The reliability already counts the times a competitor was right instead
 * (as misses), so competitors get no separate penalty.  q says how much a
 * match of this kind tells (an exact whole-name merchant match tells
 * most; a part of the name tells less for a learned pattern, a whole name
 * seen once, than for one a person wrote to mean "names with these
 * words").  Model candidates: sigma(m0 + m1 * logit(p)), p the naive Bayes
 * posterior, which is over-confident.  Each candidate's confidence is its
 * own estimate: a candidate ranked below another by priority may have the
 * higher one.
 *
 * The constants were fitted by maximum likelihood on the first half (by
 * date) of the Birmingham data set streamed through bench/eval.sh, and
 * checked for calibration on its second half and on the Oxford set (the
 * reliability tables in the README).  They are no rule about any merchant
 * or category: four numbers for learned patterns, two for the model.
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
	.learned_consistent = 0.0625,
	.learned_theta_c = 0.9925,
	.learned_a = 2.4,
	.learned_b = 5.65,
	.q_merchant_exact = 1.0,
	.q_merchant_partial = 0.95,
	.q_learned_partial = 0.55,
	.q_regex = 0.95,
	.q_keyword = 0.85,
	.model_m0 = -0.5,
	.model_m1 = 0.15,
	.model_docs0 = 10.0,
};

/* log of the Beta function */
static double
log_beta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

double
catz_pattern_reliability(const CatzEntry *entry, int64_t decisions)
{
	double		hits = (double) entry->hits + (double) (decisions > 0 ? decisions : 0);
	double		misses = (double) entry->misses;
	double		good;
	double		log_c;
	double		log_a;
	double		w;
	double		r_ambiguous;

	/* A miss is a first choice that was corrected: it counts in both */
	if (hits < misses)
		hits = misses;
	good = hits - misses;

	if (!(entry->flags & CATZ_PF_LEARNED))
		return (good + calib.manual_a) / (hits + calib.manual_a + calib.manual_b);

	/* Posterior weight of "consistent" against "ambiguous" */
	log_c = log(calib.learned_consistent) + good * log(calib.learned_theta_c) +
		misses * log(1 - calib.learned_theta_c);
	log_a = log(1 - calib.learned_consistent) +
		log_beta(calib.learned_a + good, calib.learned_b + misses) -
		log_beta(calib.learned_a, calib.learned_b);
	w = (log_a - log_c > 700) ? 0 : 1 / (1 + exp(log_a - log_c));
	r_ambiguous = (good + calib.learned_a) / (hits + calib.learned_a + calib.learned_b);
	return w * calib.learned_theta_c + (1 - w) * r_ambiguous;
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

	if (c != 0)
		return c;
	if (x->pinned != y->pinned)
		return x->pinned ? -1 : 1;
	if (lx != ly)
		return lx ? -1 : 1;
	rx = catz_pattern_reliability(x->entry, x->decisions);
	ry = catz_pattern_reliability(y->entry, y->decisions);
	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (x->entry->pattern_id != y->entry->pattern_id)
		return x->entry->pattern_id < y->entry->pattern_id ? -1 : 1;
	return 0;
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
 * by docs / (docs + model_docs0)
 */
static double
model_confidence(double p, double docs)
{
	double		q = p < 1e-6 ? 1e-6 : p > 1 - 1e-6 ? 1 - 1e-6 : p;

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

int
catz_rank(CatzHit *hits, int nhits,
		  const CatzPrediction *model, int nmodel,
		  uint32_t known_features, bool own_model, double model_docs,
		  CatzCandidate *out, int k)
{
	int			n = 0;
	int			i;

	if (k <= 0)
		return 0;
	if (nhits > 1)
		qsort(hits, (size_t) nhits, sizeof(CatzHit), hit_cmp);

	/* The best hit of each category, in rank order */
	for (i = 0; i < nhits && n < k; i++)
	{
		int			j;
		bool		dup = false;

		for (j = 0; j < n; j++)
			if (out[j].category_id == hits[i].entry->category_id)
			{
				dup = true;
				break;
			}
		if (dup)
			continue;
		memset(&out[n], 0, sizeof(CatzCandidate));
		out[n].category_id = hits[i].entry->category_id;
		out[n].source = CATZ_SOURCE_PATTERN;
		out[n].hit = &hits[i];
		n++;
	}

	/* Confidence of each pattern candidate */
	for (i = 0; i < n; i++)
	{
		const CatzHit *h = out[i].hit;

		out[i].confidence = clamp01(match_quality(h) *
									catz_pattern_reliability(h->entry, h->decisions));
	}

	/* Model guesses for the categories no pattern proposed */
	for (i = 0; i < nmodel && n < k; i++)
	{
		int			j;
		bool		dup = false;

		for (j = 0; j < n; j++)
			if (out[j].category_id == model[i].category_id)
			{
				dup = true;
				break;
			}
		if (dup)
			continue;
		memset(&out[n], 0, sizeof(CatzCandidate));
		out[n].category_id = model[i].category_id;
		out[n].source = CATZ_SOURCE_MODEL;
		out[n].model_probability = model[i].probability;
		out[n].known_features = known_features;
		out[n].own_model = own_model;
		out[n].confidence = clamp01(model_confidence(model[i].probability, model_docs));
		n++;
	}
	return n;
}
