/*-------------------------------------------------------------------------
 *
 * test_model.c
 *	  Unit tests of the token model's prediction (model.c).
 *
 * A randomized comparison of catz_model_predict() over a base model and a
 * delta of different weights, with and without a filter of categories,
 * against the naive Bayes posterior (each category against the rest)
 * computed directly from the documents
 * (the formula in model.c's catz_model_predict); the best-first order with
 * its tie rule, for k below and above the point where the selection turns
 * into a sort; the weight of an even feature; the amount's feature; and
 * every allocation failure.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "failing_alloc.h"
#include "unit.h"

#define NCATS		12
#define NFEAT		40			/* feature values 1..NFEAT */
#define MAXF		8			/* features of a document */
#define ALPHA		1.0

/* A source's documents, as the reference counts them */
typedef struct Docs
{
	int			n;
	int64_t		cat[64];
	uint64_t	feat[64][MAXF];
	uint32_t	nfeat[64];
} Docs;

static uint32_t rng = 12345;

static uint32_t
next_rand(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* n random documents: distinct sorted features, categories 100..100+NCATS-1 */
static void
random_docs(Docs *d, int n)
{
	d->n = n;
	for (int i = 0; i < n; i++)
	{
		uint32_t	m = 1 + next_rand() % MAXF;
		uint32_t	k = 0;

		d->cat[i] = 100 + (int64_t) (next_rand() % NCATS);
		while (k < m)
		{
			uint64_t	f = 1 + next_rand() % NFEAT;
			uint32_t	j;

			for (j = 0; j < k && d->feat[i][j] != f; j++)
				;
			if (j == k)
				d->feat[i][k++] = f;
		}
		/* sorted, as catz_features() gives them */
		for (uint32_t a = 1; a < k; a++)
			for (uint32_t b = a; b > 0 && d->feat[i][b - 1] > d->feat[i][b]; b--)
			{
				uint64_t	t = d->feat[i][b];

				d->feat[i][b] = d->feat[i][b - 1];
				d->feat[i][b - 1] = t;
			}
		d->nfeat[i] = k;
	}
}

static void
as_model_docs(const Docs *d, CatzModelDoc *out)
{
	for (int i = 0; i < d->n; i++)
	{
		out[i].features = d->feat[i];
		out[i].nfeatures = d->nfeat[i];
		out[i].category_id = d->cat[i];
	}
}

static bool
odd_only(void *arg, int64_t category_id)
{
	(void) arg;
	return (category_id & 1) != 0;
}

/* The posterior straight from the documents of the sources */
static int
reference(const Docs *const *src, const double *w, int nsrc, const uint64_t *q, int nq,
		  bool filter, CatzPrediction *out)
{
	double		docs[NCATS] = {0};
	double		tokens[NCATS] = {0};
	double		sum[NCATS] = {0};
	double		comp[NCATS] = {0};
	double		all_tokens = 0;
	bool		present[NCATS] = {false};
	double		vocab = 0;
	double		total = 0;
	double		maxs = -HUGE_VAL;
	double		z = 0;
	double		gsum = 0;
	int			npresent = 0;
	int			n = 0;

	for (int s = 0; s < nsrc; s++)
	{
		bool		seen_feat[NFEAT + 1] = {false};

		for (int i = 0; i < src[s]->n; i++)
		{
			int			c = (int) (src[s]->cat[i] - 100);

			for (uint32_t j = 0; j < src[s]->nfeat[i]; j++)
				seen_feat[src[s]->feat[i][j]] = true;
			if (filter && !odd_only(NULL, src[s]->cat[i]))
				continue;
			present[c] = true;
			docs[c] += w[s];
			tokens[c] += w[s] * src[s]->nfeat[i];
		}
		for (int f = 1; f <= NFEAT; f++)
			vocab += seen_feat[f];
	}
	for (int c = 0; c < NCATS; c++)
	{
		total += docs[c];
		all_tokens += tokens[c];
		npresent += present[c];
	}
	for (int qi = 0; qi < nq; qi++)
	{
		double		cnt[NCATS] = {0};
		bool		seen = false;
		double		nf;
		double		h;
		double		g;

		for (int s = 0; s < nsrc; s++)
			for (int i = 0; i < src[s]->n; i++)
				for (uint32_t j = 0; j < src[s]->nfeat[i]; j++)
					if (src[s]->feat[i][j] == q[qi])
					{
						seen = true;
						cnt[src[s]->cat[i] - 100] += w[s];
					}
		if (!seen)
			continue;
		/* the feature's weight: its evenness over the categories, its count */
		nf = 0;
		h = 0;
		for (int c = 0; c < NCATS; c++)
			if (present[c])
				nf += cnt[c];
		for (int c = 0; c < NCATS; c++)
			if (present[c] && cnt[c] > 0)
				h -= cnt[c] / nf * log(cnt[c] / nf);
		g = 0;
		if (nf > 0)
			g = (npresent > 1 ? 1 - h / log((double) npresent) : 1) * nf / (nf + 1);
		if (g < 0)
			g = 0;
		gsum += g;
		for (int c = 0; c < NCATS; c++)
			if (present[c])
			{
				if (cnt[c] > 0)
					sum[c] += g * log((cnt[c] + ALPHA) / ALPHA);
				/* the rest of the categories */
				comp[c] += g * log((nf - cnt[c] + ALPHA) / ALPHA);
			}
	}
	for (int c = 0; c < NCATS; c++)
	{
		double		score;

		if (!present[c])
			continue;
		score = log(docs[c] / total) + sum[c] +
			gsum * (log(ALPHA) - log(tokens[c] + ALPHA * (vocab + 1))) -
			(comp[c] + gsum * (log(ALPHA) - log(all_tokens - tokens[c] + ALPHA * (vocab + 1))));
		out[n].category_id = 100 + c;
		out[n].probability = score;
		if (score > maxs)
			maxs = score;
		n++;
	}
	for (int i = 0; i < n; i++)
		z += exp(out[i].probability - maxs);
	for (int i = 0; i < n; i++)
		out[i].probability = exp(out[i].probability - maxs) / z;
	/* best first, ties by id */
	for (int a = 1; a < n; a++)
		for (int b = a; b > 0 &&
			 (out[b].probability > out[b - 1].probability ||
			  (out[b].probability == out[b - 1].probability &&
			   out[b].category_id < out[b - 1].category_id)); b--)
		{
			CatzPrediction t = out[b];

			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	return n;
}

/* Base model and delta against the reference, many times over */
static void
test_matches_reference(void)
{
	for (int round = 0; round < 200; round++)
	{
		Docs		base;
		Docs		recent;
		CatzModelDoc md[64];
		CatzModel  *model = NULL;
		size_t		size;
		size_t		dsize = catz_model_delta_size(64, 64 * MAXF);
		void	   *dblob = malloc(dsize);
		CatzModelDelta *delta = catz_model_delta_init(dblob, dsize, 64, 64 * MAXF);
		const Docs *src[2] = {&base, &recent};
		double		w[2] = {1.0, round % 2 ? 3.0 : 1.0};
		CatzWeightedModel wm[2];
		uint64_t	q[MAXF + 2];
		int			nq = 1 + (int) (next_rand() % (MAXF + 2));
		bool		filter = round % 5 == 4;
		int			k = round % 3 == 0 ? 1 : round % 3 == 1 ? 3 : 20;
		CatzPrediction got[NCATS];
		CatzPrediction want[NCATS];
		uint32_t	known;
		int			ngot;
		int			nwant;

		random_docs(&base, 1 + (int) (next_rand() % 60));
		random_docs(&recent, (int) (next_rand() % 10));
		as_model_docs(&base, md);
		CHECK(catz_model_build(md, (size_t) base.n, &catz_malloc_allocator, &model, &size) == CATZ_OK);
		as_model_docs(&recent, md);
		for (int i = 0; i < recent.n; i++)
			CHECK(catz_model_delta_add(delta, &md[i]) == CATZ_OK);
		for (int i = 0; i < nq; i++)
			q[i] = 1 + next_rand() % (NFEAT + 5);	/* some unknown to both */

		memset(wm, 0, sizeof(wm));
		wm[0].model = model;
		wm[0].weight = w[0];
		wm[1].delta = delta;
		wm[1].weight = w[1];
		ngot = catz_model_predict(wm, recent.n > 0 ? 2 : 1, q, (size_t) nq, ALPHA,
								  filter ? odd_only : NULL, NULL, &catz_malloc_allocator, got, k, &known);
		nwant = reference(src, w, recent.n > 0 ? 2 : 1, q, nq, filter, want);
		if (nwant > k)
			nwant = k;
		CHECK(ngot == nwant);
		for (int i = 0; i < ngot && i < nwant; i++)
		{
			CHECK(got[i].category_id == want[i].category_id ||
				  fabs(got[i].probability - want[i].probability) < 1e-12);
			CHECK(fabs(got[i].probability - want[i].probability) < 1e-9);
		}
		free(model);
		free(dblob);
	}
}

/*
 * A feature every category has in equal measure (a city in every kind of
 * merchant's name) tells nothing: alone it leaves the prior, and beside a
 * feature of one category it does not pull toward the larger one
 */
static void
test_even_feature_weighs_nothing(void)
{
	/* A: 2 documents {1, 9}; B: 2 documents {2, 9}, 2 documents {2} */
	Docs		d = {0};
	CatzModelDoc md[64];
	CatzModel  *model = NULL;
	size_t		size;
	CatzWeightedModel wm;
	uint64_t	only_even[1] = {9};
	CatzPrediction got[2];
	uint32_t	known;

	d.n = 6;
	for (int i = 0; i < 6; i++)
	{
		d.cat[i] = i < 2 ? 100 : 101;
		d.feat[i][0] = i < 2 ? 1 : 2;
		d.feat[i][1] = 9;
		d.nfeat[i] = i < 4 ? 2 : 1;
	}
	as_model_docs(&d, md);
	CHECK(catz_model_build(md, 6, &catz_malloc_allocator, &model, &size) == CATZ_OK);
	memset(&wm, 0, sizeof(wm));
	wm.model = model;
	wm.weight = 1.0;
	CHECK(catz_model_predict(&wm, 1, only_even, 1, ALPHA, NULL, NULL, &catz_malloc_allocator,
							 got, 2, &known) == 2);
	CHECK(known == 1);
	CHECK(got[0].category_id == 101 && fabs(got[0].probability - 4.0 / 6.0) < 1e-9);
	free(model);
}

/* The amount's feature: one per sign and binary order, kept sorted and distinct */
static void
test_amount_feature(void)
{
	uint64_t	f[4] = {10, 20, 30, 0};
	uint64_t	a[1];
	uint64_t	b[1];
	size_t		n;

	/* no amount, not a number, or no room: nothing added */
	CHECK(catz_add_amount_feature(f, 3, 4, false, 25.0) == 3);
	CHECK(catz_add_amount_feature(f, 3, 4, true, NAN) == 3);
	CHECK(catz_add_amount_feature(f, 3, 3, true, 25.0) == 3);
	/* added in order */
	n = catz_add_amount_feature(f, 3, 4, true, 25.0);
	CHECK(n == 4);
	for (size_t i = 1; i < n; i++)
		CHECK(f[i - 1] < f[i]);
	/* 20.00 and 31.99 share a feature; 32.00, -25.00 and 0 have others */
	CHECK(catz_add_amount_feature(a, 0, 1, true, 20.0) == 1);
	CHECK(catz_add_amount_feature(b, 0, 1, true, 31.99) == 1 && a[0] == b[0]);
	CHECK(catz_add_amount_feature(b, 0, 1, true, 32.0) == 1 && a[0] != b[0]);
	CHECK(catz_add_amount_feature(b, 0, 1, true, -25.0) == 1 && a[0] != b[0]);
	CHECK(catz_add_amount_feature(b, 0, 1, true, 0.0) == 1 && a[0] != b[0]);
	/* already there: not twice */
	CHECK(catz_add_amount_feature(a, 1, 1, true, 21.0) == 1);
	b[0] = a[0];
	CHECK(catz_add_amount_feature(a, 1, 2, true, 21.0) == 1 && a[0] == b[0]);
	/* huge and tiny amounts are fine */
	CHECK(catz_add_amount_feature(b, 0, 1, true, 1e300) == 1);
	CHECK(catz_add_amount_feature(b, 0, 1, true, 1e-300) == 1);
}

/* Every allocation of a prediction may fail: no answer then, nothing leaked */
static void
test_allocation_failures(void)
{
	Docs		base;
	CatzModelDoc md[64];
	CatzModel  *model = NULL;
	size_t		size;
	CatzWeightedModel wm;
	uint64_t	q[3] = {1, 2, 3};
	CatzPrediction want[NCATS];
	CatzPrediction got[NCATS];
	uint32_t	known;
	int			nwant;
	long		budget;

	random_docs(&base, 40);
	as_model_docs(&base, md);
	CHECK(catz_model_build(md, (size_t) base.n, &catz_malloc_allocator, &model, &size) == CATZ_OK);
	memset(&wm, 0, sizeof(wm));
	wm.model = model;
	wm.weight = 1.0;
	nwant = catz_model_predict(&wm, 1, q, 3, ALPHA, NULL, NULL, &catz_malloc_allocator, want, 3, &known);
	CHECK(nwant == 3);
	for (budget = 0; budget < 100; budget++)
	{
		FailingAlloc fa = {budget, 0, 0};
		CatzAllocator a = {failing_alloc, failing_free, &fa};
		int			n = catz_model_predict(&wm, 1, q, 3, ALPHA, NULL, NULL, &a, got, 3, &known);

		CHECK(fa.live == 0);
		if (n > 0)
		{
			/* the first budget that suffices gives the whole answer */
			CHECK(n == nwant && memcmp(got, want, sizeof(CatzPrediction) * (size_t) n) == 0);
			break;
		}
	}
	CHECK(budget > 0 && budget < 100);
	free(model);
}

int
main(void)
{
	UNIT_RUN(test_matches_reference);
	UNIT_RUN(test_even_feature_weighs_nothing);
	UNIT_RUN(test_amount_feature);
	UNIT_RUN(test_allocation_failures);
	UNIT_DONE("test_model");
}
