/*-------------------------------------------------------------------------
 *
 * model.c
 *	  The token model: naive Bayes, each category against the rest, over
 *	  hashed text features.
 *
 * The model guesses categories for merchants no pattern knows.  It is
 * trained from corrections only (one document per correction), which is
 * what a user's feedback gives us.  Features are 64-bit hashes of each word
 * and of each character 4-gram of each word padded with ^ and $, so that a
 * new merchant that shares words or word pieces with corrected ones
 * ("tesco stores" / "tesco express", "travelodge" / "lodge") gets their
 * categories; and one for the amount's sign and binary order
 * (catz_add_amount_feature()), so that the amounts of each category count
 * too.
 *
 * Blob layout (all offsets from the start of the blob, 8-byte aligned):
 *	CatzModelHeader
 *	CatzModelCategory[ncats]	sorted by category_id
 *	CatzModelSlot[nslots]		open addressing by feature hash, nslots a
 *								power of two, feature 0 = empty
 *	CatzModelPosting[npostings] per feature, (category index, count)
 *
 * A category's score is its prior's log plus, for each known feature, the
 * log of how much likelier the feature is in the category's documents than
 * in all the others' (one category against the rest: with a few large
 * categories and many small ones, as users' categories are, a plain naive
 * Bayes gives the large ones every feature they share with a small one).
 * Each known feature's terms are weighted by how unevenly its counts
 * spread over the categories (feature_weight()), so that the words every
 * category has (a city, a state, a card network's wording) do not outvote
 * the words of a merchant's trade.
 *
 * Models are additive: catz_model_predict() sums the weighted counts of
 * several models (a large base and a small delta of recent corrections),
 * so that learning never rebuilds the large model.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"
#include "core_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CATZ_MODEL_MAGIC	0x4D5A5443u /* "CTZM" */
#define CATZ_MODEL_VERSION	1

/* Seeds that separate the feature namespaces */
#define SEED_WORD	0x9E3779B97F4A7C15ull
#define SEED_GRAM	0xC2B2AE3D27D4EB4Full
#define SEED_AMOUNT	0x165667B19E3779F9ull

typedef struct CatzModelHeader
{
	uint32_t	magic;
	uint32_t	version;
	uint64_t	size;			/* total blob size in bytes */
	uint32_t	ndocs;
	uint32_t	ncats;
	uint32_t	nslots;
	uint32_t	nfeatures;		/* distinct features (vocabulary size) */
	uint32_t	npostings;
	uint32_t	cats_off;
	uint32_t	slots_off;
	uint32_t	postings_off;
} CatzModelHeader;

typedef struct CatzModelCategory
{
	int64_t		category_id;
	uint32_t	ndocs;			/* documents of this category */
	uint32_t	pad;
	uint64_t	ntokens;		/* feature occurrences in its documents */
} CatzModelCategory;

typedef struct CatzModelSlot
{
	uint64_t	feature;		/* 0 = empty slot */
	uint32_t	post_start;
	uint32_t	post_count;
} CatzModelSlot;

typedef struct CatzModelPosting
{
	uint32_t	cat;			/* index into the category array */
	uint32_t	count;
} CatzModelPosting;

struct CatzModel
{
	CatzModelHeader hdr;
};

#define MODEL_CATS(m)	((const CatzModelCategory *) ((const char *) (m) + (m)->hdr.cats_off))
#define MODEL_SLOTS(m)	((const CatzModelSlot *) ((const char *) (m) + (m)->hdr.slots_off))
#define MODEL_POSTS(m)	((const CatzModelPosting *) ((const char *) (m) + (m)->hdr.postings_off))

/* Round up to a multiple of 8 */
static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

/* Make a feature hash non-zero (0 marks empty slots) */
static uint64_t
nonzero(uint64_t h)
{
	return h ? h : 1;
}

/*
 * Sort a few uint64 in place: Shell sort with Ciura's gaps, inline compares.
 * A text has tens of features; qsort's indirect calls cost more than this.
 */
static void
sort_u64(uint64_t *a, size_t n)
{
	static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
	size_t		g;

	for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++)
	{
		size_t		gap = gaps[g];
		size_t		i;

		for (i = gap; i < n; i++)
		{
			uint64_t	v = a[i];
			size_t		j = i;

			while (j >= gap && a[j - gap] > v)
			{
				a[j] = a[j - gap];
				j -= gap;
			}
			a[j] = v;
		}
	}
}

/* Append a feature unless the buffer is full; returns the new count */
static size_t
add_feature(uint64_t *out, size_t n, size_t cap, uint64_t f)
{
	if (n < cap)
		out[n++] = nonzero(f);
	return n;
}

size_t
catz_features(const char *norm, size_t len, uint64_t *out, size_t cap)
{
	size_t		pos = 0;
	size_t		n = 0;
	const char *word;
	size_t		wlen;

	while (n < cap && catz_next_word(norm, len, &pos, &word, &wlen))
	{
		char		gram[4];
		size_t		i;

		n = add_feature(out, n, cap, catz_hash_bytes(word, wlen, SEED_WORD));

		/* 4-grams of "^word$"; a word of 1-2 bytes has none beyond itself */
		if (wlen + 2 < 4)
			continue;
		for (i = 0; i + 4 <= wlen + 2 && n < cap; i++)
		{
			size_t		j;

			for (j = 0; j < 4; j++)
			{
				size_t		p = i + j;

				gram[j] = (p == 0) ? '^' : (p == wlen + 1) ? '$' : word[p - 1];
			}
			n = add_feature(out, n, cap, catz_hash_bytes(gram, 4, SEED_GRAM));
		}
	}

	/* Sort and deduplicate */
	if (n > 1)
	{
		size_t		w = 1;
		size_t		i;

		sort_u64(out, n);
		for (i = 1; i < n; i++)
			if (out[i] != out[w - 1])
				out[w++] = out[i];
		n = w;
	}
	return n;
}

size_t
catz_add_amount_feature(uint64_t *features, size_t n, size_t cap, bool has_amount, double amount)
{
	int64_t		key[2];
	uint64_t	f;
	size_t		i;

	if (!has_amount || !isfinite(amount) || n >= cap)
		return n;
	key[0] = amount < 0 ? -1 : amount > 0 ? 1 : 0;
	key[1] = 0;
	if (amount != 0)
	{
		double		order = floor(log2(fabs(amount)));

		key[1] = order < -64 ? -64 : order > 64 ? 64 : (int64_t) order;
	}
	f = nonzero(catz_hash_bytes(key, sizeof(key), SEED_AMOUNT));
	for (i = 0; i < n && features[i] < f; i++)
		;
	if (i < n && features[i] == f)
		return n;
	memmove(features + i + 1, features + i, (n - i) * sizeof(uint64_t));
	features[i] = f;
	return n + 1;
}

/* A (feature, category index) pair collected during a build */
typedef struct FeatCat
{
	uint64_t	feature;
	uint32_t	cat;
	uint32_t	pad;
} FeatCat;

/* Pairs in (feature, category) order */
#define KEY_SORT_NAME sort_pairs
#define KEY_SORT_TYPE FeatCat
#define KEY_SORT_K1(r) ((r)->feature)
#define KEY_SORT_K2(r) ((uint64_t) (r)->cat)
#include "key_sort.h"

/* Index of category_id in the sorted array, or -1 */
static int64_t
find_category(const int64_t *ids, uint32_t n, int64_t id)
{
	uint32_t	lo = 0;
	uint32_t	hi = n;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else if (ids[mid] > id)
			hi = mid;
		else
			return mid;
	}
	return -1;
}

CatzStatus
catz_model_build(const CatzModelDoc *docs, size_t n,
				 const CatzAllocator *alloc,
				 CatzModel **model_out, size_t *size_out)
{
	int64_t    *ids = NULL;
	FeatCat    *pairs = NULL;
	size_t		npairs = 0;
	size_t		ncats = 0;
	size_t		nfeat = 0;
	size_t		npost = 0;
	size_t		nslots;
	size_t		size;
	size_t		i;
	CatzModel  *m;
	CatzModelCategory *cats;
	CatzModelSlot *slots;
	CatzModelPosting *posts;
	char	   *base;

	*model_out = NULL;
	*size_out = 0;
	if (n > UINT32_MAX / 2)
		return CATZ_ETOOBIG;

	/* Distinct categories, sorted */
	ids = alloc->alloc(alloc->ctx, (n ? n : 1) * sizeof(int64_t));
	if (ids == NULL)
		return CATZ_ENOMEM;
	for (i = 0; i < n; i++)
	{
		ids[i] = docs[i].category_id;
		npairs += docs[i].nfeatures;
	}
	catz_sort_int64(ids, n);
	for (i = 0; i < n; i++)
		if (ncats == 0 || ids[i] != ids[ncats - 1])
			ids[ncats++] = ids[i];

	/* Every (feature, category) occurrence, sorted, then counted */
	if (npairs > UINT32_MAX / 2)
	{
		alloc->free(alloc->ctx, ids);
		return CATZ_ETOOBIG;
	}
	pairs = alloc->alloc(alloc->ctx, (npairs ? npairs : 1) * sizeof(FeatCat));
	if (pairs == NULL)
	{
		alloc->free(alloc->ctx, ids);
		return CATZ_ENOMEM;
	}
	npairs = 0;
	for (i = 0; i < n; i++)
	{
		uint32_t	cat = (uint32_t) find_category(ids, (uint32_t) ncats, docs[i].category_id);
		uint32_t	j;

		for (j = 0; j < docs[i].nfeatures; j++)
		{
			pairs[npairs].feature = nonzero(docs[i].features[j]);
			pairs[npairs].cat = cat;
			pairs[npairs].pad = 0;
			npairs++;
		}
	}
	sort_pairs(pairs, npairs);
	for (i = 0; i < npairs; i++)
	{
		if (i == 0 || pairs[i].feature != pairs[i - 1].feature)
			nfeat++;
		if (i == 0 || pairs[i].feature != pairs[i - 1].feature ||
			pairs[i].cat != pairs[i - 1].cat)
			npost++;
	}

	/* Load factor at most 1/2 */
	nslots = 16;
	while (nslots < nfeat * 2)
		nslots <<= 1;

	size = align8(sizeof(CatzModelHeader)) +
		align8(ncats * sizeof(CatzModelCategory)) +
		align8(nslots * sizeof(CatzModelSlot)) +
		align8(npost * sizeof(CatzModelPosting));
	if (size > CATZ_MAX_BLOB_BYTES)
	{
		alloc->free(alloc->ctx, pairs);
		alloc->free(alloc->ctx, ids);
		return CATZ_ETOOBIG;
	}
	base = alloc->alloc(alloc->ctx, size);
	if (base == NULL)
	{
		alloc->free(alloc->ctx, pairs);
		alloc->free(alloc->ctx, ids);
		return CATZ_ENOMEM;
	}
	memset(base, 0, size);
	m = (CatzModel *) base;
	m->hdr.magic = CATZ_MODEL_MAGIC;
	m->hdr.version = CATZ_MODEL_VERSION;
	m->hdr.size = size;
	m->hdr.ndocs = (uint32_t) n;
	m->hdr.ncats = (uint32_t) ncats;
	m->hdr.nslots = (uint32_t) nslots;
	m->hdr.nfeatures = (uint32_t) nfeat;
	m->hdr.npostings = (uint32_t) npost;
	m->hdr.cats_off = (uint32_t) align8(sizeof(CatzModelHeader));
	m->hdr.slots_off = m->hdr.cats_off + (uint32_t) align8(ncats * sizeof(CatzModelCategory));
	m->hdr.postings_off = m->hdr.slots_off + (uint32_t) align8(nslots * sizeof(CatzModelSlot));

	cats = (CatzModelCategory *) (base + m->hdr.cats_off);
	slots = (CatzModelSlot *) (base + m->hdr.slots_off);
	posts = (CatzModelPosting *) (base + m->hdr.postings_off);

	for (i = 0; i < ncats; i++)
		cats[i].category_id = ids[i];
	for (i = 0; i < n; i++)
	{
		int64_t		c = find_category(ids, (uint32_t) ncats, docs[i].category_id);

		cats[c].ndocs++;
		cats[c].ntokens += docs[i].nfeatures;
	}

	/* Postings grouped by feature; one slot per feature */
	npost = 0;
	for (i = 0; i < npairs;)
	{
		size_t		j = i;
		uint64_t	f = pairs[i].feature;
		size_t		h = (size_t) (f & (nslots - 1));
		uint32_t	start = (uint32_t) npost;

		while (j < npairs && pairs[j].feature == f)
		{
			size_t		k = j;

			while (k < npairs && pairs[k].feature == f && pairs[k].cat == pairs[j].cat)
				k++;
			posts[npost].cat = pairs[j].cat;
			posts[npost].count = (uint32_t) (k - j);
			npost++;
			j = k;
		}
		while (slots[h].feature != 0)
			h = (h + 1) & (nslots - 1);
		slots[h].feature = f;
		slots[h].post_start = start;
		slots[h].post_count = (uint32_t) (npost - start);
		i = j;
	}

	alloc->free(alloc->ctx, pairs);
	alloc->free(alloc->ctx, ids);
	*model_out = m;
	*size_out = size;
	return CATZ_OK;
}

CatzStatus
catz_model_validate(const void *blob, size_t size)
{
	const CatzModel *m = blob;
	const CatzModelSlot *slots;
	const CatzModelPosting *posts;
	size_t		i;
	size_t		empty = 0;

	if (size < sizeof(CatzModelHeader) || ((uintptr_t) blob & 7) != 0)
		return CATZ_ECORRUPT;
	if (m->hdr.magic != CATZ_MODEL_MAGIC || m->hdr.version != CATZ_MODEL_VERSION ||
		m->hdr.size != size)
		return CATZ_ECORRUPT;
	if (m->hdr.nslots == 0 || (m->hdr.nslots & (m->hdr.nslots - 1)) != 0)
		return CATZ_ECORRUPT;
	if ((m->hdr.cats_off & 7) || (m->hdr.slots_off & 7) || (m->hdr.postings_off & 7))
		return CATZ_ECORRUPT;
	if (m->hdr.cats_off < sizeof(CatzModelHeader) ||
		(uint64_t) m->hdr.cats_off + (uint64_t) m->hdr.ncats * sizeof(CatzModelCategory) > m->hdr.slots_off ||
		(uint64_t) m->hdr.slots_off + (uint64_t) m->hdr.nslots * sizeof(CatzModelSlot) > m->hdr.postings_off ||
		(uint64_t) m->hdr.postings_off + (uint64_t) m->hdr.npostings * sizeof(CatzModelPosting) > size)
		return CATZ_ECORRUPT;

	slots = MODEL_SLOTS(m);
	posts = MODEL_POSTS(m);
	for (i = 0; i < m->hdr.nslots; i++)
	{
		if (slots[i].feature == 0)
		{
			empty++;
			continue;
		}
		if ((uint64_t) slots[i].post_start + slots[i].post_count > m->hdr.npostings)
			return CATZ_ECORRUPT;
	}
	if (empty == 0)
		return CATZ_ECORRUPT;	/* lookups would never terminate */
	for (i = 0; i < m->hdr.npostings; i++)
		if (posts[i].cat >= m->hdr.ncats)
			return CATZ_ECORRUPT;
	return CATZ_OK;
}

uint32_t
catz_model_docs(const CatzModel *model)
{
	return model ? model->hdr.ndocs : 0;
}

size_t
catz_model_size(const CatzModel *model)
{
	return model ? (size_t) model->hdr.size : 0;
}

/* ----------------------------------------------------------------
 * Delta models
 *
 * Layout: CatzDeltaHeader, CatzModelCategory[max_docs] (in insertion
 * order), CatzDeltaSlot[nslots] (open addressing by feature), and
 * CatzDeltaPosting[max_features] chained per feature (next is an index + 1,
 * 0 ends a chain).  Adding a document is O(features); nothing moves.
 * ----------------------------------------------------------------
 */
#define CATZ_DELTA_MAGIC	0x445A5443u /* "CTZD" */

typedef struct CatzDeltaHeader
{
	uint32_t	magic;
	uint32_t	version;
	uint64_t	size;			/* total blob size in bytes */
	uint32_t	max_docs;
	uint32_t	max_features;
	uint32_t	ndocs;
	uint32_t	ncats;
	uint32_t	nfeatures;		/* distinct features */
	uint32_t	npostings;
	uint32_t	nslots;
	uint32_t	cats_off;
	uint32_t	slots_off;
	uint32_t	postings_off;
} CatzDeltaHeader;

typedef struct CatzDeltaSlot
{
	uint64_t	feature;		/* 0 = empty slot */
	uint32_t	head;			/* first posting + 1 */
	uint32_t	pad;
} CatzDeltaSlot;

typedef struct CatzDeltaPosting
{
	uint32_t	cat;			/* index into the category array */
	uint32_t	count;
	uint32_t	next;			/* next posting of the feature + 1, or 0 */
	uint32_t	pad;
} CatzDeltaPosting;

struct CatzModelDelta
{
	CatzDeltaHeader hdr;
};

#define DELTA_CATS(d)	((CatzModelCategory *) ((char *) (d) + (d)->hdr.cats_off))
#define DELTA_SLOTS(d)	((CatzDeltaSlot *) ((char *) (d) + (d)->hdr.slots_off))
#define DELTA_POSTS(d)	((CatzDeltaPosting *) ((char *) (d) + (d)->hdr.postings_off))

/* Slot count for a delta: a power of two at least twice max_features */
static uint32_t
delta_slots(uint32_t max_features)
{
	uint32_t	n = 16;

	while (n < (uint64_t) max_features * 2 && n < (1u << 30))
		n <<= 1;
	return n;
}

size_t
catz_model_delta_size(uint32_t max_docs, uint32_t max_features)
{
	return align8(sizeof(CatzDeltaHeader)) +
		align8((size_t) max_docs * sizeof(CatzModelCategory)) +
		align8((size_t) delta_slots(max_features) * sizeof(CatzDeltaSlot)) +
		align8((size_t) max_features * sizeof(CatzDeltaPosting));
}

CatzModelDelta *
catz_model_delta_init(void *blob, size_t size, uint32_t max_docs, uint32_t max_features)
{
	CatzModelDelta *d = blob;

	if (size < catz_model_delta_size(max_docs, max_features) ||
		size > CATZ_MAX_BLOB_BYTES || ((uintptr_t) blob & 7) != 0 ||
		max_features >= (1u << 30))
		return NULL;
	memset(blob, 0, catz_model_delta_size(max_docs, max_features));
	d->hdr.magic = CATZ_DELTA_MAGIC;
	d->hdr.version = CATZ_MODEL_VERSION;
	d->hdr.size = catz_model_delta_size(max_docs, max_features);
	d->hdr.max_docs = max_docs;
	d->hdr.max_features = max_features;
	d->hdr.nslots = delta_slots(max_features);
	d->hdr.cats_off = (uint32_t) align8(sizeof(CatzDeltaHeader));
	d->hdr.slots_off = d->hdr.cats_off + (uint32_t) align8((size_t) max_docs * sizeof(CatzModelCategory));
	d->hdr.postings_off = d->hdr.slots_off + (uint32_t) align8((size_t) d->hdr.nslots * sizeof(CatzDeltaSlot));
	return d;
}

CatzStatus
catz_model_delta_validate(const void *blob, size_t size)
{
	const CatzModelDelta *d = blob;
	const CatzDeltaSlot *slots;
	const CatzDeltaPosting *posts;
	uint32_t	i;

	if (size < sizeof(CatzDeltaHeader) || ((uintptr_t) blob & 7) != 0)
		return CATZ_ECORRUPT;
	if (d->hdr.magic != CATZ_DELTA_MAGIC || d->hdr.version != CATZ_MODEL_VERSION ||
		d->hdr.max_features >= (1u << 30) ||
		d->hdr.size != catz_model_delta_size(d->hdr.max_docs, d->hdr.max_features) ||
		d->hdr.size > size ||
		d->hdr.nslots != delta_slots(d->hdr.max_features) ||
		d->hdr.cats_off != align8(sizeof(CatzDeltaHeader)) ||
		d->hdr.slots_off != d->hdr.cats_off + align8((size_t) d->hdr.max_docs * sizeof(CatzModelCategory)) ||
		d->hdr.postings_off != d->hdr.slots_off + align8((size_t) d->hdr.nslots * sizeof(CatzDeltaSlot)))
		return CATZ_ECORRUPT;
	if (d->hdr.ndocs > d->hdr.max_docs || d->hdr.ncats > d->hdr.max_docs ||
		d->hdr.npostings > d->hdr.max_features ||
		d->hdr.nfeatures > d->hdr.max_features)
		return CATZ_ECORRUPT;
	slots = DELTA_SLOTS((CatzModelDelta *) d);
	posts = DELTA_POSTS((CatzModelDelta *) d);
	for (i = 0; i < d->hdr.nslots; i++)
		if (slots[i].feature != 0 && (slots[i].head == 0 || slots[i].head > d->hdr.npostings))
			return CATZ_ECORRUPT;
	/* Chains of a hostile blob may loop: every walk is bounded by npostings */
	for (i = 0; i < d->hdr.npostings; i++)
		if (posts[i].cat >= d->hdr.ncats || posts[i].next > d->hdr.npostings)
			return CATZ_ECORRUPT;
	return CATZ_OK;
}

uint32_t
catz_model_delta_docs(const CatzModelDelta *delta)
{
	return delta ? delta->hdr.ndocs : 0;
}

/* The slot of a feature in a delta: where it is, or the empty slot for it */
static CatzDeltaSlot *
delta_slot(const CatzModelDelta *d, uint64_t feature)
{
	CatzDeltaSlot *slots = DELTA_SLOTS((CatzModelDelta *) d);
	uint32_t	mask = d->hdr.nslots - 1;
	uint32_t	h = (uint32_t) (feature & mask);
	uint32_t	probes;

	for (probes = 0; probes < d->hdr.nslots; probes++)
	{
		if (slots[h].feature == feature || slots[h].feature == 0)
			return &slots[h];
		h = (h + 1) & mask;
	}
	return NULL;
}

CatzStatus
catz_model_delta_add(CatzModelDelta *d, const CatzModelDoc *doc)
{
	CatzModelCategory *cats = DELTA_CATS(d);
	CatzDeltaPosting *posts = DELTA_POSTS(d);
	uint32_t	cat;
	uint32_t	i;

	/* Worst case: every feature is new; refuse before changing anything */
	if (d->hdr.ndocs >= d->hdr.max_docs ||
		(uint64_t) d->hdr.npostings + doc->nfeatures > d->hdr.max_features)
		return CATZ_ETOOBIG;

	for (cat = 0; cat < d->hdr.ncats; cat++)
		if (cats[cat].category_id == doc->category_id)
			break;
	if (cat == d->hdr.ncats)
	{
		cats[cat].category_id = doc->category_id;
		cats[cat].ndocs = 0;
		cats[cat].ntokens = 0;
		d->hdr.ncats++;
	}
	cats[cat].ndocs++;
	cats[cat].ntokens += doc->nfeatures;
	d->hdr.ndocs++;

	for (i = 0; i < doc->nfeatures; i++)
	{
		uint64_t	f = nonzero(doc->features[i]);
		CatzDeltaSlot *slot = delta_slot(d, f);
		uint32_t	p;
		uint32_t	steps = 0;

		if (slot == NULL)
			return CATZ_ECORRUPT;	/* cannot happen: slots > 2 * postings */
		if (slot->feature == 0)
		{
			slot->feature = f;
			slot->head = 0;
			d->hdr.nfeatures++;
		}
		for (p = slot->head; p != 0 && steps <= d->hdr.npostings; p = posts[p - 1].next, steps++)
			if (posts[p - 1].cat == cat)
				break;
		if (p != 0 && steps <= d->hdr.npostings)
			posts[p - 1].count++;
		else
		{
			CatzDeltaPosting *np = &posts[d->hdr.npostings];

			np->cat = cat;
			np->count = 1;
			np->next = slot->head;
			d->hdr.npostings++;
			slot->head = d->hdr.npostings;
		}
	}
	return CATZ_OK;
}

CatzStatus
catz_model_delta_copy(CatzModelDelta *dst, const CatzModelDelta *src)
{
	const CatzModelCategory *scats = DELTA_CATS((CatzModelDelta *) src);
	const CatzDeltaSlot *sslots = DELTA_SLOTS((CatzModelDelta *) src);
	const CatzDeltaPosting *sposts = DELTA_POSTS((CatzModelDelta *) src);
	CatzModelCategory *dcats = DELTA_CATS(dst);
	CatzDeltaPosting *dposts = DELTA_POSTS(dst);
	uint32_t	i;

	if (dst->hdr.ndocs != 0 || dst->hdr.npostings != 0 ||
		src->hdr.ncats > dst->hdr.max_docs || src->hdr.ndocs > dst->hdr.max_docs ||
		src->hdr.npostings > dst->hdr.max_features)
		return CATZ_ETOOBIG;

	memcpy(dcats, scats, sizeof(CatzModelCategory) * src->hdr.ncats);
	dst->hdr.ncats = src->hdr.ncats;
	dst->hdr.ndocs = src->hdr.ndocs;

	/* Re-insert every feature's chain, keeping posting order */
	for (i = 0; i < src->hdr.nslots; i++)
	{
		uint32_t	p;
		uint32_t	steps = 0;
		CatzDeltaSlot *slot;

		if (sslots[i].feature == 0)
			continue;
		slot = delta_slot(dst, sslots[i].feature);
		if (slot == NULL)
			return CATZ_ECORRUPT;
		slot->feature = sslots[i].feature;
		slot->head = 0;
		dst->hdr.nfeatures++;
		for (p = sslots[i].head; p != 0 && steps <= src->hdr.npostings;
			 p = sposts[p - 1].next, steps++)
		{
			CatzDeltaPosting *np = &dposts[dst->hdr.npostings];

			np->cat = sposts[p - 1].cat;
			np->count = sposts[p - 1].count;
			np->next = slot->head;
			dst->hdr.npostings++;
			slot->head = dst->hdr.npostings;
		}
	}
	return CATZ_OK;
}

/* ----------------------------------------------------------------
 * Prediction over models and deltas
 * ----------------------------------------------------------------
 */

/* Number of categories of a source */
static uint32_t
source_ncats(const CatzWeightedModel *s)
{
	return s->model ? s->model->hdr.ncats : s->delta->hdr.ncats;
}

/* Category i of a source */
static const CatzModelCategory *
source_cat(const CatzWeightedModel *s, uint32_t i)
{
	return s->model ? MODEL_CATS(s->model) + i : DELTA_CATS(s->delta) + i;
}

/* Vocabulary size of a source */
static uint32_t
source_vocab(const CatzWeightedModel *s)
{
	return s->model ? s->model->hdr.nfeatures : s->delta->hdr.nfeatures;
}

/* Postings of a feature in a model, or NULL */
static const CatzModelSlot *
model_lookup(const CatzModel *m, uint64_t feature)
{
	const CatzModelSlot *slots = MODEL_SLOTS(m);
	uint32_t	mask = m->hdr.nslots - 1;
	uint32_t	h = (uint32_t) (feature & mask);

	for (;;)
	{
		if (slots[h].feature == feature)
			return &slots[h];
		if (slots[h].feature == 0)
			return NULL;
		h = (h + 1) & mask;
	}
}

/* Start loading the first slot a feature's look-up reads */
static inline void
model_prefetch(const CatzModel *m, uint64_t feature)
{
	const CatzModelSlot *slots = MODEL_SLOTS(m);

	__builtin_prefetch(&slots[(uint32_t) (feature & (m->hdr.nslots - 1))]);
}

/* The same for a delta model's slot of a feature */
static inline void
delta_prefetch(const CatzModelDelta *d, uint64_t feature)
{
	const CatzDeltaSlot *slots = DELTA_SLOTS((CatzModelDelta *) d);

	__builtin_prefetch(&slots[(uint32_t) (feature & (d->hdr.nslots - 1))]);
}

/* Per-category accumulator of a prediction */
typedef struct PredCat
{
	int64_t		category_id;
	double		docs;			/* weighted documents */
	double		tokens;			/* weighted feature occurrences */
	double		sum;			/* sum over features of log((n+a)/a) */
	double		csum;			/* the complement's, less that of an untouched category */
	double		feat_count;		/* this feature's weighted count */
	double		score;
} PredCat;

/*
 * The union of the sources' categories: an open-addressing table from
 * category id to its place in the accumulator array (no sort: a call
 * merges a few sources of tens of categories each, and sorting their
 * references took as long as the rest of the prediction)
 */
typedef struct CatUnion
{
	uint32_t	mask;
	int32_t    *slot;			/* index into cats, -1 empty */
} CatUnion;

/* The place of category_id among cats[0..*ncats), added when new */
static int32_t
union_place(CatUnion *u, PredCat *cats, size_t *ncats, int64_t category_id)
{
	uint32_t	h = (uint32_t) (((uint64_t) category_id * 0x9E3779B97F4A7C15ull) >> 32) & u->mask;

	for (;;)
	{
		int32_t		c = u->slot[h];

		if (c < 0)
		{
			c = (int32_t) (*ncats)++;
			memset(&cats[c], 0, sizeof(PredCat));
			cats[c].category_id = category_id;
			u->slot[h] = c;
			return c;
		}
		if (cats[c].category_id == category_id)
			return c;
		h = (h + 1) & u->mask;
	}
}

/* Whether prediction x ranks before y: higher probability, then lower id */
static inline bool
prediction_before(const CatzPrediction *x, const CatzPrediction *y)
{
	if (x->probability != y->probability)
		return x->probability > y->probability;
	return x->category_id < y->category_id;
}

/* Order predictions by probability, then category id */
static int
cmp_prediction(const void *a, const void *b)
{
	const CatzPrediction *x = a;
	const CatzPrediction *y = b;

	if (prediction_before(x, y))
		return -1;
	return prediction_before(y, x) ? 1 : 0;
}

/*
 * The best k of n predictions, best first, into out: k passes over them
 * for a few (the usual k is 1 or 3), a sort for more
 */
static int
best_predictions(CatzPrediction *all, size_t n, CatzPrediction *out, int k)
{
	int			nout = (int) (n < (size_t) k ? n : (size_t) k);
	int			i;

	if (nout > 8)
	{
		qsort(all, n, sizeof(CatzPrediction), cmp_prediction);
		memcpy(out, all, (size_t) nout * sizeof(CatzPrediction));
		return nout;
	}
	for (i = 0; i < nout; i++)
	{
		size_t		best = (size_t) i;
		size_t		j;
		CatzPrediction tmp;

		for (j = (size_t) i + 1; j < n; j++)
			if (prediction_before(&all[j], &all[best]))
				best = j;
		tmp = all[i];
		all[i] = all[best];
		all[best] = tmp;
		out[i] = all[i];
	}
	return nout;
}

/*
 * log(v), remembered.  A prediction takes three logs per category a
 * feature touches and three per category of the model; across expenses
 * scored with the same models these arguments repeat exactly (the
 * categories' documents and tokens, the common features' weighted
 * counts), so a direct-mapped table of past arguments answers most of
 * them with the very double log() returned.  Every slot starts as
 * (1.0, log 1 = 0), which is right for its key; a slot is keyed by the
 * argument's bits, so -0.0, NaN and infinities are looked up like any
 * other value and get what log() gives for them.
 */
#define LOG_MEMO_BITS	12

typedef struct LogMemo
{
	uint64_t	key;			/* bits of the argument */
	double		value;			/* log of it */
} LogMemo;

static LogMemo log_memo[1 << LOG_MEMO_BITS];
static bool log_memo_ready = false;

static double
remembered_log(double v)
{
	uint64_t	bits;
	LogMemo    *m;

	memcpy(&bits, &v, sizeof(bits));
	if (!log_memo_ready)
	{
		double		one = 1.0;
		uint64_t	one_bits;

		memcpy(&one_bits, &one, sizeof(one_bits));
		for (size_t i = 0; i < sizeof(log_memo) / sizeof(log_memo[0]); i++)
			log_memo[i] = (LogMemo) {one_bits, 0.0};
		log_memo_ready = true;
	}
	m = &log_memo[(bits * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - LOG_MEMO_BITS)];
	if (m->key != bits)
	{
		m->key = bits;
		m->value = log(v);
	}
	return m->value;
}

/*
 * How much a feature tells, in [0, 1]: 1 minus the entropy of its counts
 * (n in all) over the categories (those touched, of ncats), relative to the
 * most it could be (log_ncats, 0 for a single category), times
 * n / (n + CATZ_MODEL_FEATURE_PRIOR) for its n occurrences.  A word every
 * category has ("san", "ca", "purchase": a city, a state, a card network's
 * wording) tells nothing and weighs about 0; a word of one category
 * weighs about 1, once it has been seen more than once.  Its
 * log-likelihood terms are multiplied by it.
 */
#define CATZ_MODEL_FEATURE_PRIOR	1.0

static double
feature_weight(const PredCat *cats, const int32_t *touched, size_t ntouched, double log_ncats,
			   double n)
{
	double		h = 0;
	double		g;
	size_t		i;

	if (!(n > 0))
		return 0;
	/* H = log n - sum n_c log n_c / n */
	for (i = 0; i < ntouched; i++)
	{
		double		c = cats[touched[i]].feat_count;

		if (c > 0)
			h += c * remembered_log(c);
	}
	h = remembered_log(n) - h / n;
	g = log_ncats > 0 ? 1 - h / log_ncats : 1;
	g *= n / (n + CATZ_MODEL_FEATURE_PRIOR);
	return g > 0 ? g : 0;
}

int
catz_model_predict(const CatzWeightedModel *models, int nmodels,
				   const uint64_t *features, size_t nfeatures,
				   double alpha,
				   bool (*allowed) (void *arg, int64_t category_id),
				   void *allowed_arg,
				   const CatzAllocator *alloc,
				   CatzPrediction *out, int k,
				   uint32_t *known_features)
{
	size_t		total_cats = 0;
	size_t		ncats = 0;
	PredCat    *cats = NULL;
	int32_t    *touched = NULL;
	int32_t   **maps = NULL;
	CatzPrediction *all = NULL;
	CatUnion	u = {0, NULL};
	double		vocab = 0;
	double		total_docs = 0;
	uint32_t	known = 0;
	size_t		f;
	size_t		i;
	int			mi;
	int			nout = 0;
	double		maxscore = -HUGE_VAL;
	double		z = 0;
	double		gsum = 0;
	double		gcomp = 0;
	double		total_tokens = 0;
	double		log_alpha = log(alpha);
	double		log_ncats;
	size_t		nslots = 16;

	*known_features = 0;
	if (k <= 0 || nmodels <= 0)
		return 0;
	for (mi = 0; mi < nmodels; mi++)
		if ((models[mi].model || models[mi].delta) && models[mi].weight > 0)
			total_cats += source_ncats(&models[mi]);
	if (total_cats == 0)
		return 0;
	while (nslots < total_cats * 2)
		nslots <<= 1;

	cats = alloc->alloc(alloc->ctx, total_cats * sizeof(PredCat));
	touched = alloc->alloc(alloc->ctx, total_cats * sizeof(int32_t));
	all = alloc->alloc(alloc->ctx, total_cats * sizeof(CatzPrediction));
	maps = alloc->alloc(alloc->ctx, (size_t) nmodels * sizeof(int32_t *));
	if (maps)
		memset(maps, 0, (size_t) nmodels * sizeof(int32_t *));
	u.slot = alloc->alloc(alloc->ctx, nslots * sizeof(int32_t));
	if (cats == NULL || touched == NULL || all == NULL || maps == NULL || u.slot == NULL)
		goto done;
	u.mask = (uint32_t) (nslots - 1);
	memset(u.slot, 0xff, nslots * sizeof(int32_t));

	/*
	 * Union of the allowed categories, and a map from each source's category
	 * index into it; a category's documents and tokens are added source by
	 * source, in the sources' order
	 */
	for (mi = 0; mi < nmodels; mi++)
	{
		const CatzWeightedModel *src = &models[mi];
		double		w = src->weight;
		uint32_t	n;

		if ((src->model == NULL && src->delta == NULL) || w <= 0)
			continue;
		n = source_ncats(src);
		maps[mi] = alloc->alloc(alloc->ctx, (n ? n : 1) * sizeof(int32_t));
		if (maps[mi] == NULL)
			goto done;
		vocab += source_vocab(src);
		for (i = 0; i < n; i++)
		{
			const CatzModelCategory *mc = source_cat(src, (uint32_t) i);
			int32_t		c;

			maps[mi][i] = -1;
			if (allowed && !allowed(allowed_arg, mc->category_id))
				continue;
			c = union_place(&u, cats, &ncats, mc->category_id);
			maps[mi][i] = c;
			cats[c].docs += w * mc->ndocs;
			cats[c].tokens += w * (double) mc->ntokens;
			total_tokens += w * (double) mc->ntokens;
			total_docs += w * mc->ndocs;
		}
	}
	if (ncats == 0 || total_docs <= 0)
		goto done;

	log_ncats = log((double) ncats);

	/*
	 * A large model's (or delta's) slots are cache misses, one per feature:
	 * ask for all of them first, so that the misses overlap instead of queueing
	 */
	for (mi = 0; mi < nmodels; mi++)
		if (maps[mi] != NULL)
			for (f = 0; f < nfeatures; f++)
			{
				if (models[mi].model)
					model_prefetch(models[mi].model, nonzero(features[f]));
				else if (models[mi].delta->hdr.nslots > 0)
					delta_prefetch(models[mi].delta, nonzero(features[f]));
			}

	/* Sum log((n + alpha) / alpha) over the known features */
	for (f = 0; f < nfeatures; f++)
	{
		uint64_t	feat = nonzero(features[f]);
		bool		seen = false;
		size_t		ntouched = 0;
		double		g;
		double		nf = 0;		/* the feature's weighted count in all */
		double		base;

		for (mi = 0; mi < nmodels; mi++)
		{
			const CatzWeightedModel *src = &models[mi];
			double		w = src->weight;

			if (maps[mi] == NULL)
				continue;
			if (src->model)
			{
				const CatzModelSlot *slot = model_lookup(src->model, feat);
				const CatzModelPosting *posts;
				uint32_t	p;

				if (slot == NULL)
					continue;
				seen = true;
				posts = MODEL_POSTS(src->model) + slot->post_start;
				for (p = 0; p < slot->post_count; p++)
				{
					int32_t		c = maps[mi][posts[p].cat];
					double		add = w * posts[p].count;

					if (c < 0 || !(add > 0))
						continue;
					if (cats[c].feat_count == 0)
						touched[ntouched++] = c;	/* once: its count is now > 0 */
					cats[c].feat_count += add;
					nf += add;
				}
			}
			else
			{
				const CatzDeltaSlot *slot = delta_slot(src->delta, feat);
				const CatzDeltaPosting *posts = DELTA_POSTS((CatzModelDelta *) src->delta);
				uint32_t	p;
				uint32_t	steps = 0;

				if (slot == NULL || slot->feature == 0)
					continue;
				seen = true;
				for (p = slot->head; p != 0 && steps <= src->delta->hdr.npostings;
					 p = posts[p - 1].next, steps++)
				{
					int32_t		c = maps[mi][posts[p - 1].cat];
					double		add = w * posts[p - 1].count;

					if (c < 0 || !(add > 0))
						continue;
					if (cats[c].feat_count == 0)
						touched[ntouched++] = c;
					cats[c].feat_count += add;
					nf += add;
				}
			}
		}
		if (!seen)
			continue;
		known++;
		g = feature_weight(cats, touched, ntouched, log_ncats, nf);
		gsum += g;

		/*
		 * The complement (every other category) has the feature's count
		 * less the category's: nf for the categories without it, whose
		 * term is base, kept once for all of them in gcomp
		 */
		base = remembered_log(nf + alpha) - log_alpha;
		gcomp += g * base;
		for (i = 0; i < ntouched; i++)
		{
			PredCat    *c = &cats[touched[i]];

			c->csum += g * (remembered_log(nf - c->feat_count + alpha) - log_alpha - base);
			c->sum += g * (remembered_log(c->feat_count + alpha) - log_alpha);
			c->feat_count = 0;
		}
	}

	/*
	 * log P(c) + sum_f g_f [log((n_fc + a) / (tokens_c + a V)) -
	 * log((n_f - n_fc + a) / (tokens - tokens_c + a V))]
	 */
	for (i = 0; i < ncats; i++)
	{
		PredCat    *c = &cats[i];

		c->score = remembered_log(c->docs / total_docs) + c->sum +
			gsum * (log_alpha - remembered_log(c->tokens + alpha * (vocab + 1))) -
			(gcomp + c->csum +
			 gsum * (log_alpha - remembered_log(total_tokens - c->tokens + alpha * (vocab + 1))));
		if (c->score > maxscore)
			maxscore = c->score;
	}
	for (i = 0; i < ncats; i++)
	{
		all[i].category_id = cats[i].category_id;
		all[i].probability = exp(cats[i].score - maxscore);
		z += all[i].probability;
	}
	for (i = 0; i < ncats; i++)
		all[i].probability /= z;
	nout = best_predictions(all, ncats, out, k);
	*known_features = known;

done:
	if (maps)
	{
		for (mi = 0; mi < nmodels; mi++)
			if (maps[mi])
				alloc->free(alloc->ctx, maps[mi]);
		alloc->free(alloc->ctx, maps);
	}
	if (u.slot)
		alloc->free(alloc->ctx, u.slot);
	if (cats)
		alloc->free(alloc->ctx, cats);
	if (touched)
		alloc->free(alloc->ctx, touched);
	if (all)
		alloc->free(alloc->ctx, all);
	return nout;
}
