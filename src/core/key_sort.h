/*-------------------------------------------------------------------------
 *
 * key_sort.h
 *	  A sort of records by two unsigned 64-bit keys, generated for each
 *	  record type that includes this file (internal to src/core).
 *
 * The builds of the token model and of the crowd's gate sort millions of
 * (feature, category, ...) records: qsort() calls its comparator through
 * a pointer for each of n log n comparisons, and was two thirds of the
 * build of everyone's scope at 200k corrections.  This sort compares
 * inline: one pass puts the records in 2048 buckets by the top bits of
 * the first key in place (features are hashes, so the buckets are even),
 * then each bucket is sorted by a three-way quicksort (runs of equal keys,
 * as a common word's, are set aside in one pass) that turns to heapsort
 * past twice the depth a balanced split would reach, and to insertion
 * sort below 16 records.  Not stable: records with equal keys end up in
 * any order.
 *
 * Before including, define:
 *	KEY_SORT_NAME	the function's name: static void NAME(TYPE *a, size_t n)
 *	KEY_SORT_TYPE	the record type
 *	KEY_SORT_K1(r)	its first key (uint64_t) from a const TYPE *r
 *	KEY_SORT_K2(r)	its second key (uint64_t), compared when the first ties
 * The file undefines them afterwards, so it can be included again.
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <stdint.h>

#define KS_CAT2(a, b) a##b
#define KS_CAT(a, b) KS_CAT2(a, b)
#define KS_FN(suffix) KS_CAT(KEY_SORT_NAME, suffix)

/* Buckets of the first pass, by the top KS_RADIX_BITS bits of the first key */
#define KS_RADIX_BITS 11
#define KS_NBUCKETS (1u << KS_RADIX_BITS)
/* Below this many records the first pass costs more than it saves */
#define KS_RADIX_MIN 4096
#define KS_INSERTION_MAX 16

/* -1, 0 or 1 as x orders before, with or after y */
static inline int
KS_FN(_cmp) (const KEY_SORT_TYPE *x, const KEY_SORT_TYPE *y)
{
	uint64_t	a = KEY_SORT_K1(x);
	uint64_t	b = KEY_SORT_K1(y);

	if (a != b)
		return a < b ? -1 : 1;
	a = KEY_SORT_K2(x);
	b = KEY_SORT_K2(y);
	return (a > b) - (a < b);
}

static inline void
KS_FN(_swap) (KEY_SORT_TYPE *x, KEY_SORT_TYPE *y)
{
	KEY_SORT_TYPE t = *x;

	*x = *y;
	*y = t;
}

static void
KS_FN(_insertion) (KEY_SORT_TYPE *a, size_t n)
{
	size_t		i;

	for (i = 1; i < n; i++)
	{
		KEY_SORT_TYPE v = a[i];
		size_t		j = i;

		while (j > 0 && KS_FN(_cmp) (&a[j - 1], &v) > 0)
		{
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

/* Move a[i] down the max-heap a[0..n) */
static void
KS_FN(_sift) (KEY_SORT_TYPE *a, size_t i, size_t n)
{
	for (;;)
	{
		size_t		largest = i;
		size_t		l = 2 * i + 1;

		if (l < n && KS_FN(_cmp) (&a[l], &a[largest]) > 0)
			largest = l;
		if (l + 1 < n && KS_FN(_cmp) (&a[l + 1], &a[largest]) > 0)
			largest = l + 1;
		if (largest == i)
			return;
		KS_FN(_swap) (&a[i], &a[largest]);
		i = largest;
	}
}

static void
KS_FN(_heapsort) (KEY_SORT_TYPE *a, size_t n)
{
	size_t		i;

	for (i = n / 2; i-- > 0;)
		KS_FN(_sift) (a, i, n);
	for (i = n; i-- > 1;)
	{
		KS_FN(_swap) (&a[0], &a[i]);
		KS_FN(_sift) (a, 0, i);
	}
}

/* The median of a[0], a[n/2] and a[n-1], copied */
static KEY_SORT_TYPE
KS_FN(_pivot) (const KEY_SORT_TYPE *a, size_t n)
{
	const KEY_SORT_TYPE *x = &a[0];
	const KEY_SORT_TYPE *y = &a[n / 2];
	const KEY_SORT_TYPE *z = &a[n - 1];

	if (KS_FN(_cmp) (x, y) > 0)
	{
		const KEY_SORT_TYPE *t = x;

		x = y;
		y = t;
	}
	if (KS_FN(_cmp) (y, z) > 0)
		y = KS_FN(_cmp) (x, z) > 0 ? x : z;
	return *y;
}

static void
KS_FN(_quicksort) (KEY_SORT_TYPE *a, size_t n, unsigned depth)
{
	while (n > KS_INSERTION_MAX)
	{
		KEY_SORT_TYPE pivot;
		size_t		lt = 0;
		size_t		i = 0;
		size_t		gt = n;

		if (depth-- == 0)
		{
			KS_FN(_heapsort) (a, n);
			return;
		}
		pivot = KS_FN(_pivot) (a, n);

		/* [0, lt) < pivot, [lt, i) = pivot, [gt, n) > pivot */
		while (i < gt)
		{
			int			c = KS_FN(_cmp) (&a[i], &pivot);

			if (c < 0)
				KS_FN(_swap) (&a[lt++], &a[i++]);
			else if (c > 0)
				KS_FN(_swap) (&a[i], &a[--gt]);
			else
				i++;
		}

		/* Recurse into the smaller side, loop on the larger */
		if (lt < n - gt)
		{
			KS_FN(_quicksort) (a, lt, depth);
			a += gt;
			n -= gt;
		}
		else
		{
			KS_FN(_quicksort) (a + gt, n - gt, depth);
			n = lt;
		}
	}
	KS_FN(_insertion) (a, n);
}

/* Twice the depth of a balanced split of n records */
static unsigned
KS_FN(_depth) (size_t n)
{
	unsigned	d = 0;

	while (n > 1)
	{
		n >>= 1;
		d++;
	}
	return 2 * d + 2;
}

static inline uint32_t
KS_FN(_bucket) (const KEY_SORT_TYPE *r)
{
	return (uint32_t) (KEY_SORT_K1(r) >> (64 - KS_RADIX_BITS));
}

static void
KEY_SORT_NAME(KEY_SORT_TYPE *a, size_t n)
{
	size_t		end[KS_NBUCKETS];
	size_t		next[KS_NBUCKETS];
	size_t		at = 0;
	uint32_t	b;
	size_t		i;

	if (n < KS_RADIX_MIN)
	{
		KS_FN(_quicksort) (a, n, KS_FN(_depth) (n));
		return;
	}

	/* Each bucket's place, then every record swapped into its bucket */
	for (b = 0; b < KS_NBUCKETS; b++)
		end[b] = 0;
	for (i = 0; i < n; i++)
		end[KS_FN(_bucket) (&a[i])]++;
	for (b = 0; b < KS_NBUCKETS; b++)
	{
		next[b] = at;
		at += end[b];
		end[b] = at;
	}
	for (b = 0; b < KS_NBUCKETS; b++)
		while (next[b] < end[b])
		{
			uint32_t	d = KS_FN(_bucket) (&a[next[b]]);

			if (d == b)
				next[b]++;
			else
				KS_FN(_swap) (&a[next[b]], &a[next[d]++]);
		}

	/* Each bucket alone */
	at = 0;
	for (b = 0; b < KS_NBUCKETS; b++)
	{
		KS_FN(_quicksort) (a + at, end[b] - at, KS_FN(_depth) (end[b] - at));
		at = end[b];
	}
}

#undef KS_CAT2
#undef KS_CAT
#undef KS_FN
#undef KS_RADIX_BITS
#undef KS_NBUCKETS
#undef KS_RADIX_MIN
#undef KS_INSERTION_MAX
#undef KEY_SORT_NAME
#undef KEY_SORT_TYPE
#undef KEY_SORT_K1
#undef KEY_SORT_K2
