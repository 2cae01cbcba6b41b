/*-------------------------------------------------------------------------
 *
 * fuzz_crowd.c
 *	  libFuzzer target for the crowd's gate (catz_crowd_gate).
 *
 * The input describes up to 32 documents (owner, category, features from a
 * small range, so that agreement is common) and min_owners; the first byte
 * may set an allocation budget.  Kept documents must be a subsequence of
 * the input, each keeping a subsequence of its features, each of which
 * documents of its category from min_owners distinct owners have; a failed
 * allocation must leave the documents as they were and leak nothing.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "fuzz_support.h"

#define MAX_DOCS	32
#define MAX_FEATS	8

/* Distinct owners of documents of category c (of the original input) with feature f */
static uint32_t
owners_with(const CatzCrowdDoc *d, uint64_t f[][MAX_FEATS], size_t n, uint64_t feat, int64_t c)
{
	int64_t		seen[MAX_DOCS];
	uint32_t	ns = 0;

	for (size_t i = 0; i < n; i++)
	{
		bool		has = false;
		bool		dup = false;

		if (d[i].category_id != c)
			continue;
		for (uint32_t k = 0; k < d[i].nfeatures; k++)
			has |= f[i][k] == feat;
		if (!has)
			continue;
		for (uint32_t j = 0; j < ns; j++)
			dup |= seen[j] == d[i].owner_id;
		if (!dup)
			seen[ns++] = d[i].owner_id;
	}
	return ns;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		pos = 0;
	uint8_t		mode = pos < size ? data[pos++] : 0;
	FailingAlloc fa = {.remaining = (mode & 0x80) ? (long) (mode & 0x07) : -1};
	CatzAllocator alloc = {failing_alloc, failing_free, &fa};
	uint32_t	min_owners = mode & 0x07;
	CatzCrowdDoc docs[MAX_DOCS];
	CatzCrowdDoc orig[MAX_DOCS];
	uint64_t	feats[MAX_DOCS][MAX_FEATS];
	uint64_t	orig_feats[MAX_DOCS][MAX_FEATS];
	size_t		n = 0;
	size_t		kept = 0;
	CatzStatus	st;

	while (pos + 2 <= size && n < MAX_DOCS)
	{
		uint8_t		head = data[pos++];
		uint8_t		nf = data[pos++] % MAX_FEATS;
		uint32_t	w = 0;

		for (uint8_t k = 0; k < nf && pos < size; k++)
		{
			uint64_t	v = 1 + data[pos++] % 12;
			bool		dup = false;

			for (uint32_t j = 0; j < w; j++)
				dup |= feats[n][j] == v;
			if (!dup)
				feats[n][w++] = v;
		}
		docs[n].features = feats[n];
		docs[n].nfeatures = w;
		docs[n].owner_id = head & 0x07;
		docs[n].category_id = (head >> 3) & 0x03;
		n++;
	}
	memcpy(orig, docs, sizeof(docs[0]) * n);
	memcpy(orig_feats, feats, sizeof(feats[0]) * n);

	st = catz_crowd_gate(docs, n, min_owners, &alloc, &kept);
	if (fa.live != 0)
		abort();
	if (st == CATZ_ENOMEM)
	{
		if (kept != 0 || memcmp(orig, docs, sizeof(docs[0]) * n) != 0 ||
			memcmp(orig_feats, feats, sizeof(feats[0]) * n) != 0)
			abort();
		return 0;
	}
	if (st != CATZ_OK || kept > n)
		abort();

	/* each kept document is a later original's, keeping only agreed features */
	{
		size_t		from = 0;

		for (size_t i = 0; i < kept; i++)
		{
			while (from < n && orig[from].features != docs[i].features)
				from++;
			if (from == n || docs[i].nfeatures == 0 ||
				docs[i].owner_id != orig[from].owner_id ||
				docs[i].category_id != orig[from].category_id ||
				docs[i].nfeatures > orig[from].nfeatures)
				abort();
			for (uint32_t k = 0; k < docs[i].nfeatures; k++)
				if (owners_with(orig, orig_feats, n, docs[i].features[k], docs[i].category_id) <
					(min_owners ? min_owners : 1))
					abort();
			from++;
		}
	}
	return 0;
}
