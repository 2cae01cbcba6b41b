/*-------------------------------------------------------------------------
 *
 * test_crowd.c
 *	  Unit tests of the crowd's gate for everyone's model (crowd.c).
 *
 * Hand-written cases (enough owners, too few, one owner many times, per
 * category, documents dropped whole, min_owners 1, allocation failure),
 * and a randomized comparison with a brute-force count of distinct owners
 * per (feature, category).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "unit.h"

static void *
std_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static void
std_free(void *ctx, void *p)
{
	(void) ctx;
	free(p);
}

static const CatzAllocator std = {std_alloc, std_free, NULL};

/* Allocator that fails after a budget */
static long budget;

static void *
budget_alloc(void *ctx, size_t size)
{
	(void) ctx;
	if (budget == 0)
		return NULL;
	budget--;
	return malloc(size);
}

static const CatzAllocator failing = {budget_alloc, std_free, NULL};

#define MAXF 8

typedef struct Docs
{
	CatzCrowdDoc d[64];
	uint64_t	f[64][MAXF];
	size_t		n;
} Docs;

/* Add a document of owner o, category c, features given as a 0-terminated list */
static void
add(Docs *ds, int64_t owner, int64_t cat, const uint64_t *features)
{
	CatzCrowdDoc *d = &ds->d[ds->n];
	uint32_t	k = 0;

	while (features[k] != 0 && k < MAXF)
	{
		ds->f[ds->n][k] = features[k];
		k++;
	}
	d->features = ds->f[ds->n];
	d->nfeatures = k;
	d->category_id = cat;
	d->owner_id = owner;
	ds->n++;
}

static void
test_enough_owners(void)
{
	Docs		ds = {0};
	size_t		kept = 99;

	add(&ds, 1, 10, (uint64_t[]) {100, 200, 0});
	add(&ds, 2, 10, (uint64_t[]) {100, 300, 0});
	add(&ds, 3, 10, (uint64_t[]) {100, 0});
	CHECK(catz_crowd_gate(ds.d, ds.n, 3, &std, &kept) == CATZ_OK);
	CHECK(kept == 3);
	for (size_t i = 0; i < kept; i++)
	{
		CHECK(ds.d[i].nfeatures == 1);
		CHECK(ds.d[i].features[0] == 100);
	}
}

static void
test_too_few_and_one_owner_many_times(void)
{
	Docs		ds = {0};
	size_t		kept = 99;

	for (int i = 0; i < 10; i++)
		add(&ds, 7, 10, (uint64_t[]) {100, 0});
	add(&ds, 8, 10, (uint64_t[]) {100, 0});
	CHECK(catz_crowd_gate(ds.d, ds.n, 3, &std, &kept) == CATZ_OK);
	CHECK(kept == 0);
}

static void
test_per_category(void)
{
	Docs		ds = {0};
	size_t		kept = 99;

	/* three owners use feature 100, but for two categories: no agreement */
	add(&ds, 1, 10, (uint64_t[]) {100, 0});
	add(&ds, 2, 10, (uint64_t[]) {100, 0});
	add(&ds, 3, 20, (uint64_t[]) {100, 0});
	CHECK(catz_crowd_gate(ds.d, ds.n, 3, &std, &kept) == CATZ_OK);
	CHECK(kept == 0);

	/* two agree at min_owners 2: their documents stay, in order */
	memset(&ds, 0, sizeof(ds));
	add(&ds, 1, 10, (uint64_t[]) {100, 0});
	add(&ds, 3, 20, (uint64_t[]) {100, 0});
	add(&ds, 2, 10, (uint64_t[]) {100, 0});
	CHECK(catz_crowd_gate(ds.d, ds.n, 2, &std, &kept) == CATZ_OK);
	CHECK(kept == 2);
	CHECK(ds.d[0].owner_id == 1 && ds.d[1].owner_id == 2);
}

static void
test_min_one_keeps_all(void)
{
	Docs		ds = {0};
	size_t		kept = 0;

	add(&ds, 1, 10, (uint64_t[]) {100, 200, 0});
	add(&ds, 2, 20, (uint64_t[]) {300, 0});
	add(&ds, 2, 20, (uint64_t[]) {0});
	CHECK(catz_crowd_gate(ds.d, ds.n, 1, &std, &kept) == CATZ_OK);
	CHECK(kept == 2);				/* the empty document goes */
	CHECK(ds.d[0].nfeatures == 2 && ds.d[1].nfeatures == 1);
	CHECK(catz_crowd_gate(ds.d, 0, 1, &std, &kept) == CATZ_OK && kept == 0);
}

static void
test_allocation_failure(void)
{
	for (long b = 0; b < 2; b++)
	{
		Docs		ds = {0};
		size_t		kept = 99;

		add(&ds, 1, 10, (uint64_t[]) {100, 0});
		add(&ds, 2, 10, (uint64_t[]) {200, 0});
		budget = b;
		CHECK(catz_crowd_gate(ds.d, ds.n, 2, &failing, &kept) == CATZ_ENOMEM);
		CHECK(kept == 0);
		/* unchanged */
		CHECK(ds.d[0].nfeatures == 1 && ds.d[1].nfeatures == 1);
		CHECK(ds.d[0].features[0] == 100 && ds.d[1].features[0] == 200);
	}
}

/* Brute force: distinct owners with feature f in category c */
static int
owners_of(const Docs *orig, uint64_t f, int64_t c)
{
	int64_t		seen[64];
	int			n = 0;

	for (size_t i = 0; i < orig->n; i++)
	{
		bool		has = false;

		if (orig->d[i].category_id != c)
			continue;
		for (uint32_t k = 0; k < orig->d[i].nfeatures; k++)
			has |= orig->f[i][k] == f;
		if (!has)
			continue;
		bool		dup = false;

		for (int j = 0; j < n; j++)
			dup |= seen[j] == orig->d[i].owner_id;
		if (!dup)
			seen[n++] = orig->d[i].owner_id;
	}
	return n;
}

static void
test_random_against_brute_force(void)
{
	srand(42);
	for (int round = 0; round < 300; round++)
	{
		Docs		ds = {0};
		Docs		orig;
		size_t		kept;
		uint32_t	min = 1 + rand() % 4;
		size_t		n = 1 + rand() % 40;

		for (size_t i = 0; i < n; i++)
		{
			uint64_t	f[MAXF];
			int			nf = rand() % (MAXF - 1);
			int			w = 0;

			for (int k = 0; k < nf; k++)
			{
				uint64_t	v = 1 + rand() % 6;
				bool		dup = false;

				for (int j = 0; j < w; j++)
					dup |= f[j] == v;
				if (!dup)
					f[w++] = v;
			}
			f[w] = 0;
			add(&ds, 1 + rand() % 5, 1 + rand() % 3, f);
		}
		orig = ds;
		for (size_t i = 0; i < orig.n; i++)
			orig.d[i].features = orig.f[i];
		CHECK(catz_crowd_gate(ds.d, ds.n, min, &std, &kept) == CATZ_OK);

		/* every document of the original, in order, keeps exactly its admitted features */
		size_t		next = 0;

		for (size_t i = 0; i < orig.n; i++)
		{
			uint64_t	want[MAXF];
			uint32_t	nw = 0;

			for (uint32_t k = 0; k < orig.d[i].nfeatures; k++)
				if (owners_of(&orig, orig.f[i][k], orig.d[i].category_id) >= (int) min)
					want[nw++] = orig.f[i][k];
			if (nw == 0)
				continue;
			CHECK(next < kept);
			if (next >= kept)
				break;
			CHECK(ds.d[next].owner_id == orig.d[i].owner_id);
			CHECK(ds.d[next].category_id == orig.d[i].category_id);
			CHECK(ds.d[next].nfeatures == nw);
			for (uint32_t k = 0; k < nw && k < ds.d[next].nfeatures; k++)
				CHECK(ds.d[next].features[k] == want[k]);
			next++;
		}
		CHECK(next == kept);
	}
}

int
main(void)
{
	UNIT_RUN(test_enough_owners);
	UNIT_RUN(test_too_few_and_one_owner_many_times);
	UNIT_RUN(test_per_category);
	UNIT_RUN(test_min_one_keeps_all);
	UNIT_RUN(test_allocation_failure);
	UNIT_RUN(test_random_against_brute_force);
	UNIT_DONE("test_crowd");
}
