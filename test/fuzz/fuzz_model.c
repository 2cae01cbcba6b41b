/*-------------------------------------------------------------------------
 *
 * fuzz_model.c
 *	  libFuzzer target for the token model (catz_model_build, the delta,
 *	  catz_model_predict).
 *
 * The input describes up to 48 documents (category, features from a small
 * range so that they are shared), split between a base model and a delta,
 * then a query, a weight for the delta, k, and whether to leave out the
 * even categories; the first byte may set an allocation budget.  The blobs
 * must validate; a prediction must give at most k distinct allowed
 * categories, best first by probability (ties by id), probabilities in
 * [0, 1] summing to at most 1, and at least as many known features as the
 * query's features both sources know; a failed allocation must give no
 * answer and leak nothing.  The amount's feature, added to the query's
 * (check_amount_feature()), must keep features sorted and distinct.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "fuzz_support.h"

#define MAX_DOCS	48
#define MAX_FEATS	8
#define MAX_QUERY	16

static bool
odd_only(void *arg, int64_t category_id)
{
	(void) arg;
	return (category_id & 1) != 0;
}

/*
 * The amount's feature added to the query's features (sorted, made
 * distinct), the amount being the input's last 8 bytes as a double (any
 * bits: NaN, infinities, subnormals): the features stay sorted and
 * distinct, one more at most, none without room
 */
static void
check_amount_feature(const uint64_t *query, size_t nq, const uint8_t *data, size_t size)
{
	uint64_t	f[MAX_QUERY + 1];
	size_t		n = 0;
	size_t		got;
	double		amount = 0;

	for (size_t i = 0; i < nq; i++)
	{
		size_t		j = n;

		while (j > 0 && f[j - 1] > query[i])
			j--;
		if (j > 0 && f[j - 1] == query[i])
			continue;
		memmove(f + j + 1, f + j, (n - j) * sizeof(uint64_t));
		f[j] = query[i];
		n++;
	}
	if (size >= sizeof(amount))
		memcpy(&amount, data + size - sizeof(amount), sizeof(amount));
	got = catz_add_amount_feature(f, n, n, true, amount);
	if (got != n)
		abort();
	got = catz_add_amount_feature(f, n, MAX_QUERY + 1, size >= sizeof(amount), amount);
	if (got < n || got > n + 1 || (got == n + 1 && !isfinite(amount)))
		abort();
	for (size_t i = 1; i < got; i++)
		if (f[i - 1] >= f[i])
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		pos = 0;
	uint8_t		mode = pos < size ? data[pos++] : 0;
	FailingAlloc fa = {.remaining = -1};
	CatzAllocator alloc = {failing_alloc, failing_free, &fa};
	CatzModelDoc docs[MAX_DOCS];
	uint64_t	feats[MAX_DOCS][MAX_FEATS];
	size_t		n = 0;
	size_t		nbase;
	uint64_t	query[MAX_QUERY];
	size_t		nq = 0;
	CatzModel  *model = NULL;
	size_t		msize = 0;
	size_t		dsize = catz_model_delta_size(MAX_DOCS, MAX_DOCS * MAX_FEATS);
	void	   *dblob;
	CatzModelDelta *delta;
	CatzWeightedModel wm[2];
	CatzPrediction out[32];
	uint32_t	known = 0;
	int			k;
	int			got;
	double		total = 0;

	while (pos + 2 <= size && n < MAX_DOCS && data[pos] != 0xff)
	{
		uint8_t		head = data[pos++];
		uint8_t		nf = data[pos++] % MAX_FEATS;
		uint32_t	w = 0;

		for (uint8_t j = 0; j < nf && pos < size; j++)
		{
			uint64_t	v = 1 + data[pos++] % 24;
			bool		dup = false;

			for (uint32_t i = 0; i < w; i++)
				dup |= feats[n][i] == v;
			if (!dup)
				feats[n][w++] = v;
		}
		docs[n].features = feats[n];
		docs[n].nfeatures = w;
		docs[n].category_id = 1 + (head & 0x0f);
		n++;
	}
	if (pos < size && data[pos] == 0xff)
		pos++;
	while (pos < size && nq < MAX_QUERY)
		query[nq++] = 1 + data[pos++] % 30;	/* some unknown to both */
	nbase = n / 2 + (mode & 0x01);
	if (nbase > n)
		nbase = n;
	k = 1 + (mode >> 1) % 20;

	if (catz_model_build(docs, nbase, &alloc, &model, &msize) != CATZ_OK)
		abort();
	if (catz_model_validate(model, msize) != CATZ_OK || catz_model_docs(model) != nbase)
		abort();
	dblob = malloc(dsize);
	delta = catz_model_delta_init(dblob, dsize, MAX_DOCS, MAX_DOCS * MAX_FEATS);
	if (delta == NULL)
		abort();
	for (size_t i = nbase; i < n; i++)
		if (catz_model_delta_add(delta, &docs[i]) != CATZ_OK)
			abort();
	if (catz_model_delta_validate(dblob, dsize) != CATZ_OK)
		abort();

	memset(wm, 0, sizeof(wm));
	wm[0].model = model;
	wm[0].weight = 1.0;
	wm[1].delta = delta;
	wm[1].weight = 1.0 + (mode >> 5);
	if (mode & 0x80)
		fa.remaining = (long) ((mode >> 2) & 0x07);
	got = catz_model_predict(wm, 2, query, nq, 1.0, (mode & 0x40) ? odd_only : NULL, NULL,
							 &alloc, out, k, &known);
	if (fa.live != 1)			/* the model itself */
		abort();
	if (got < 0 || got > k || known > nq)
		abort();
	for (int i = 0; i < got; i++)
	{
		if (!(out[i].probability >= 0 && out[i].probability <= 1))
			abort();
		if ((mode & 0x40) && !odd_only(NULL, out[i].category_id))
			abort();
		for (int j = 0; j < i; j++)
			if (out[j].category_id == out[i].category_id)
				abort();
		if (i > 0 && (out[i - 1].probability < out[i].probability ||
					  (out[i - 1].probability == out[i].probability &&
					   out[i - 1].category_id > out[i].category_id)))
			abort();
		total += out[i].probability;
	}
	if (total > 1 + 1e-9)
		abort();
	check_amount_feature(query, nq, data, size);
	failing_free(&fa, model);
	free(dblob);
	return 0;
}
