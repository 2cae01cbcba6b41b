/*-------------------------------------------------------------------------
 *
 * crowd.c
 *	  The crowd's documents for everyone's token model, gated so that no
 *	  owner teaches everyone alone.
 *
 * Everyone's token model learns from owners' corrections too (a new
 * merchant of one user is often an old one of many others), but under the
 * learning contract's rule for everyone: an owner's choice applies to
 * other owners only once promote_min_users owners agree.  So a feature of
 * a document (a word or a 4-gram) counts for its category only when
 * documents of that category from at least min_owners distinct owners
 * have it; the rest of the document is dropped, and a document left with
 * nothing is dropped.  One owner correcting the same merchant a thousand
 * times is still one owner.
 *
 * Cost: the feature occurrences sorted once, as (feature, category,
 * owner) keys that remember their place, and one pass over the runs that
 * marks the places of the admitted ones in a bitmap (no search per
 * occurrence: at 200k documents those searches' cache misses took longer
 * than the sort).
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"
#include "core_util.h"

#include <string.h>

/* One occurrence: the feature, the category's dense index, the owner's hash */
typedef struct Occurrence
{
	uint64_t	feature;
	uint32_t	cat;
	uint32_t	owner;
	size_t		at;				/* its place among all features, in document order */
} Occurrence;

/* Occurrences in (feature, category, owner) order */
#define KEY_SORT_NAME sort_occurrences
#define KEY_SORT_TYPE Occurrence
#define KEY_SORT_K1(r) ((r)->feature)
#define KEY_SORT_K2(r) (((uint64_t) (r)->cat << 32) | (r)->owner)
#include "key_sort.h"

/* Dense index of a category id in the sorted distinct ids */
static uint32_t
category_index(const int64_t *ids, size_t n, int64_t id)
{
	size_t		lo = 0;
	size_t		hi = n;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t) lo;
}

CatzStatus
catz_crowd_gate(CatzCrowdDoc *docs, size_t n, uint32_t min_owners,
				const CatzAllocator *alloc, size_t *kept)
{
	size_t		total = 0;
	size_t		ncats = 0;
	size_t		i;
	size_t		k;
	size_t		out = 0;
	int64_t    *cats = NULL;
	Occurrence *occ = NULL;
	uint8_t    *keep = NULL;		/* bit per feature, in document order */

	*kept = 0;
	if (n == 0)
		return CATZ_OK;
	if (min_owners < 1)
		min_owners = 1;
	for (i = 0; i < n; i++)
		total += docs[i].nfeatures;

	/* Categories to dense indexes */
	cats = alloc->alloc(alloc->ctx, sizeof(int64_t) * n);
	if (cats == NULL)
		return CATZ_ENOMEM;
	for (i = 0; i < n; i++)
		cats[i] = docs[i].category_id;
	catz_sort_int64(cats, n);
	for (i = 0; i < n; i++)
		if (ncats == 0 || cats[ncats - 1] != cats[i])
			cats[ncats++] = cats[i];

	if (total > 0)
	{
		occ = alloc->alloc(alloc->ctx, sizeof(Occurrence) * total);
		keep = alloc->alloc(alloc->ctx, total / 8 + 1);
		if (occ == NULL || keep == NULL)
		{
			if (occ)
				alloc->free(alloc->ctx, occ);
			if (keep)
				alloc->free(alloc->ctx, keep);
			alloc->free(alloc->ctx, cats);
			return CATZ_ENOMEM;
		}
		memset(keep, 0, total / 8 + 1);
		k = 0;
		for (i = 0; i < n; i++)
		{
			uint32_t	cat = category_index(cats, ncats, docs[i].category_id);
			uint32_t	owner = (uint32_t) catz_hash_bytes(&docs[i].owner_id,
														   sizeof(docs[i].owner_id), 0x0c0d);

			for (uint32_t f = 0; f < docs[i].nfeatures; f++)
			{
				occ[k].feature = docs[i].features[f];
				occ[k].cat = cat;
				occ[k].owner = owner;
				occ[k].at = k;
				k++;
			}
		}
		sort_occurrences(occ, total);

		/* Runs of one (feature, category): admitted with enough distinct owners */
		for (i = 0; i < total;)
		{
			size_t		j = i;
			uint32_t	owners = 0;

			while (j < total && occ[j].feature == occ[i].feature && occ[j].cat == occ[i].cat)
			{
				if (j == i || occ[j].owner != occ[j - 1].owner)
					owners++;
				j++;
			}
			if (owners >= min_owners)
				for (size_t r = i; r < j; r++)
					keep[occ[r].at / 8] |= (uint8_t) (1u << (occ[r].at % 8));
			i = j;
		}
	}

	/* Keep the admitted features of each document, and the documents that keep one */
	k = 0;
	for (i = 0; i < n; i++)
	{
		uint32_t	w = 0;

		for (uint32_t f = 0; f < docs[i].nfeatures; f++, k++)
			if (keep != NULL && (keep[k / 8] & (1u << (k % 8))) != 0)
				docs[i].features[w++] = docs[i].features[f];
		docs[i].nfeatures = w;
		if (w > 0)
			docs[out++] = docs[i];
	}
	if (occ)
		alloc->free(alloc->ctx, occ);
	if (keep)
		alloc->free(alloc->ctx, keep);
	alloc->free(alloc->ctx, cats);
	*kept = out;
	return CATZ_OK;
}
