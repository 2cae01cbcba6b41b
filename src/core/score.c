/*-------------------------------------------------------------------------
 *
 * score.c
 *	  Ranking of matched patterns and model guesses, and their confidence.
 *
 * Ranking follows the documented order: the expense owner's own patterns
 * first, then priority, then specificity (merchant > regex > keyword; a
 * match of the whole field before a partial one; more words, then more
 * bytes), then the pattern's reliability, then the lowest pattern id (so
 * that ties are deterministic).  One candidate per category: the best
 * pattern of each category represents it.  Model guesses come after every
 * pattern candidate.
 *
 * Confidence is an estimate of the probability that the candidate is the
 * category the user wants:
 *
 *	pattern:  q(kind, exact, learned) * r * (1 - s * r2)
 *		r  = reliability of the deciding pattern, the mean of a Beta
 *			 posterior: (good + a) / (total + a + b), where good = hits -
 *			 misses and total = hits, with hits counting the expenses it
 *			 categorized and the corrections that confirmed it, and misses
 *			 the corrections that overrode it; the prior (a, b) is
 *			 stronger for manual patterns than for learned ones;
 *		q  = how much a match of this kind tells (an exact whole-name
 *			 merchant match tells most);
 *		r2 = reliability of the best competing pattern of another category
 *			 at the same rank level (0 when there is none); s its weight.
 *	model:    m * p^g, p the naive Bayes posterior of the category, damped
 *			  because naive Bayes is over-confident on few documents.
 *
 * The constants were chosen by maximum likelihood on the first half of the
 * Birmingham data set (bench/eval) and are checked for calibration on the
 * second half and on the Oxford set; see README, "Accuracy".
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
	double		learned_a;		/* Beta prior of learned patterns */
	double		learned_b;
	double		q_merchant_exact;
	double		q_merchant_partial;
	double		q_regex;
	double		q_keyword;
	double		competitor_weight;
	double		model_scale;
	double		model_power;
} CatzCalibration;

static const CatzCalibration calib = {
	.manual_a = 9.0,
	.manual_b = 1.0,
	.learned_a = 1.0,
	.learned_b = 0.5,
	.q_merchant_exact = 1.0,
	.q_merchant_partial = 0.55,
	.q_regex = 0.9,
	.q_keyword = 0.8,
	.competitor_weight = 0.5,
	.model_scale = 0.6,
	.model_power = 1.0,
};

double
catz_pattern_reliability(const CatzEntry *entry, int64_t decisions)
{
	double		a;
	double		b;
	double		hits = (double) entry->hits + (double) (decisions > 0 ? decisions : 0);
	double		misses = (double) entry->misses;
	double		good;

	if (entry->flags & CATZ_PF_LEARNED)
	{
		a = calib.learned_a;
		b = calib.learned_b;
	}
	else
	{
		a = calib.manual_a;
		b = calib.manual_b;
	}

	/* A miss is a categorization that was corrected: it counts in both */
	if (hits < misses)
		hits = misses;
	good = hits - misses;
	return (good + a) / (hits + a + b);
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
	double		rx;
	double		ry;

	if (c != 0)
		return c;
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
			return h->exact ? calib.q_merchant_exact : calib.q_merchant_partial;
		case CATZ_KIND_REGEX:
			return calib.q_regex;
		default:
			return calib.q_keyword;
	}
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
		  uint32_t known_features, bool own_model,
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
		double		r = catz_pattern_reliability(h->entry, h->decisions);
		double		r2 = 0;
		int			j;

		/* The strongest competitor of another category at the same level */
		for (j = 0; j < nhits; j++)
		{
			const CatzHit *o = &hits[j];

			if (o->entry->category_id == h->entry->category_id)
				continue;
			if (level_cmp(o, h) == 0)
			{
				double		ro = catz_pattern_reliability(o->entry, o->decisions);

				if (ro > r2)
					r2 = ro;
			}
		}
		out[i].confidence = clamp01(match_quality(h) * r * (1 - calib.competitor_weight * r2));
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
		out[n].confidence = clamp01(calib.model_scale *
									pow(model[i].probability, calib.model_power));
		n++;
	}
	return n;
}
