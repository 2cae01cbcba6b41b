/*-------------------------------------------------------------------------
 *
 * test_key_sort.c
 *	  Unit tests of the core's two-key sort (key_sort.h) and of
 *	  catz_sort_int64() (key_sort.c).
 *
 * Each case sorts an array of records and checks that the result is in
 * key order and holds the same records as the input (compared after both
 * are put in a total order with qsort()): sizes on both sides of the
 * insertion-sort and bucket-pass thresholds, and keys that are random,
 * few, all equal, already sorted, reversed, or all in one bucket.  The
 * heapsort that a too deep quicksort turns to is checked on its own.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "core_util.h"
#include "unit.h"

typedef struct Rec
{
	uint64_t	k1;
	uint32_t	k2;
	uint32_t	id;				/* payload: where the record was in the input */
} Rec;

#define KEY_SORT_NAME sort_recs
#define KEY_SORT_TYPE Rec
#define KEY_SORT_K1(r) ((r)->k1)
#define KEY_SORT_K2(r) ((uint64_t) (r)->k2)
#include "key_sort.h"

/* A total order (keys, then payload) for the reference */
static int
cmp_total(const void *a, const void *b)
{
	const Rec  *x = a;
	const Rec  *y = b;

	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

enum Shape
{
	RANDOM, FEW, EQUAL_K1, IDENTICAL, SORTED, REVERSED, ONE_BUCKET
};

static void
fill(Rec *a, size_t n, enum Shape shape)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		a[i].id = (uint32_t) i;
		switch (shape)
		{
			case RANDOM:
				a[i].k1 = next_random();
				a[i].k2 = (uint32_t) next_random();
				break;
			case FEW:
				a[i].k1 = (next_random() % 5) << 61;
				a[i].k2 = (uint32_t) (next_random() % 3);
				break;
			case EQUAL_K1:
				a[i].k1 = 42;
				a[i].k2 = (uint32_t) (next_random() % 1000);
				break;
			case IDENTICAL:
				a[i].k1 = UINT64_MAX;
				a[i].k2 = 7;
				break;
			case SORTED:
				a[i].k1 = (uint64_t) i << 40;
				a[i].k2 = (uint32_t) i;
				break;
			case REVERSED:
				a[i].k1 = (uint64_t) (n - i) << 40;
				a[i].k2 = 0;
				break;
			case ONE_BUCKET:
				a[i].k1 = next_random() >> 20;
				a[i].k2 = (uint32_t) next_random();
				break;
		}
	}
}

/* Whether out is in key order and holds in's records */
static int
sorted_as(const Rec *in, Rec *out, size_t n)
{
	Rec		   *ref = malloc(sizeof(Rec) * (n ? n : 1));
	size_t		i;
	int			ok = 1;

	for (i = 1; i < n; i++)
		if (out[i - 1].k1 > out[i].k1 ||
			(out[i - 1].k1 == out[i].k1 && out[i - 1].k2 > out[i].k2))
			ok = 0;
	memcpy(ref, in, sizeof(Rec) * n);
	qsort(ref, n, sizeof(Rec), cmp_total);
	qsort(out, n, sizeof(Rec), cmp_total);
	if (n > 0 && memcmp(ref, out, sizeof(Rec) * n) != 0)
		ok = 0;
	free(ref);
	return ok;
}

static void
test_shapes_and_sizes(void)
{
	static const size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 100, 4095, 4096, 4097, 20000, 300000};
	size_t		s;
	int			shape;

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (shape = RANDOM; shape <= ONE_BUCKET; shape++)
		{
			size_t		n = sizes[s];
			Rec		   *in = malloc(sizeof(Rec) * (n ? n : 1));
			Rec		   *out = malloc(sizeof(Rec) * (n ? n : 1));
			int			ok;

			fill(in, n, (enum Shape) shape);
			memcpy(out, in, sizeof(Rec) * n);
			sort_recs(out, n);
			ok = sorted_as(in, out, n);
			if (!ok)
				fprintf(stderr, "n = %zu, shape %d\n", n, shape);
			CHECK(ok);
			free(in);
			free(out);
		}
}

static void
test_heapsort(void)
{
	static const size_t sizes[] = {0, 1, 2, 5, 64, 1000};
	size_t		s;

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
	{
		size_t		n = sizes[s];
		Rec		   *in = malloc(sizeof(Rec) * (n ? n : 1));
		Rec		   *out = malloc(sizeof(Rec) * (n ? n : 1));

		fill(in, n, FEW);
		memcpy(out, in, sizeof(Rec) * n);
		sort_recs_heapsort(out, n);
		CHECK(sorted_as(in, out, n));
		fill(in, n, RANDOM);
		memcpy(out, in, sizeof(Rec) * n);
		sort_recs_quicksort(out, n, 0);	/* no depth left: heapsort at once */
		CHECK(sorted_as(in, out, n));
		free(in);
		free(out);
	}
}

static void
test_int64(void)
{
	int64_t		v[] = {5, -3, INT64_MIN, 0, INT64_MAX, -3, 12, -1, 1};
	size_t		n = sizeof(v) / sizeof(v[0]);
	size_t		i;
	int64_t    *big = malloc(sizeof(int64_t) * 10000);

	catz_sort_int64(v, n);
	for (i = 1; i < n; i++)
		CHECK(v[i - 1] <= v[i]);
	CHECK(v[0] == INT64_MIN && v[n - 1] == INT64_MAX);

	for (i = 0; i < 10000; i++)
		big[i] = (int64_t) next_random() % 500 - 250;
	catz_sort_int64(big, 10000);
	for (i = 1; i < 10000; i++)
		CHECK(big[i - 1] <= big[i]);
	catz_sort_int64(NULL, 0);
	free(big);
}

int
main(void)
{
	UNIT_RUN(test_shapes_and_sizes);
	UNIT_RUN(test_heapsort);
	UNIT_RUN(test_int64);
	UNIT_DONE("test_key_sort");
}
