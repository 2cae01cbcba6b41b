/*-------------------------------------------------------------------------
 *
 * test_overlay.c
 *	  Unit tests of overlays (overlay.c).
 *
 * Hand-written cases cover put, replace, delete, revive and shadowing;
 * capacity, pool and limit errors, which must leave the blob byte for byte
 * unchanged; copy; position independence (a memcpy'd blob keeps working);
 * and texts of 100k+ words.  A randomized differential test runs random
 * puts, replaces and deletes over a small vocabulary and compares the
 * occurrences the overlay reports, as (pattern_id, start, end) multisets,
 * with the brute-force oracle of match_oracle.h and with catz_set_match
 * over the live patterns.  Corrupted and truncated blobs must fail
 * validation or, if they pass, be safe to use (ASan watches).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "match_oracle.h"
#include "unit.h"

/* Deterministic pseudo-random numbers (splitmix64) */
static uint64_t rng_state = 0x0E71A7;

/* Next pseudo-random 64-bit value */
static uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Pseudo-random value in [0, n) */
static uint32_t
rng_below(uint32_t n)
{
	return (uint32_t) (rng_next() % n);
}

/* A pattern of the given kind, id and value */
static CatzPatternInput
pattern_kind(int64_t id, uint8_t kind, const char *value)
{
	CatzPatternInput p;

	memset(&p, 0, sizeof(p));
	p.pattern_id = id;
	p.category_id = id * 10;
	p.kind = kind;
	p.value = value;
	p.value_len = (uint32_t) strlen(value);
	return p;
}

/* A merchant pattern */
static CatzPatternInput
pattern(int64_t id, const char *value)
{
	return pattern_kind(id, CATZ_KIND_MERCHANT, value);
}

/* Allocate and initialize an overlay; *size gets its size */
static CatzOverlay *
new_overlay(uint32_t max_patterns, uint32_t pool_bytes, size_t *size)
{
	size_t		sz = catz_overlay_size(max_patterns, pool_bytes);
	void	   *blob = malloc(sz);
	CatzOverlay *ov;

	if (blob == NULL)
		abort();
	ov = catz_overlay_init(blob, sz, max_patterns, pool_bytes);
	CHECK(ov == blob);
	if (size)
		*size = sz;
	return ov;
}

/* Put a pattern, expecting success */
static void
put_ok(CatzOverlay *ov, int64_t id, const char *value)
{
	CatzPatternInput p = pattern(id, value);

	CHECK(catz_overlay_put(ov, &p) == CATZ_OK);
}

/* CatzMatchFn: collect (pattern_id, start, end) of overlay entries */
typedef struct IdCollector
{
	const CatzOverlay *ov;
	OccList		occ;
} IdCollector;

/* Append the occurrence with the entry's pattern id */
static bool
collect_pattern_ids(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	IdCollector *c = arg;
	const CatzEntry *e = catz_overlay_entry(c->ov, entry);

	if (e == NULL)
		occ_push(&c->occ, UINT32_MAX, start, end);	/* reported a dead slot */
	else
		occ_push(&c->occ, (uint32_t) e->pattern_id, start, end);
	return true;
}

/* Match text, collecting pattern ids; returns the word count */
static uint32_t
match_ids(const CatzOverlay *ov, const char *text, OccList *out)
{
	IdCollector c = {ov, {0}};
	uint32_t	nwords = catz_overlay_match(ov, text, strlen(text),
											collect_pattern_ids, &c);

	*out = c.occ;
	return nwords;
}

/* Does the list hold this occurrence exactly `times` times? */
static bool
has_occ(const OccList *list, uint32_t id, uint32_t start, uint32_t end,
		int times)
{
	int			n = 0;

	for (size_t i = 0; i < list->n; i++)
		if (list->v[i].entry == id && list->v[i].start == start &&
			list->v[i].end == end)
			n++;
	return n == times;
}

/* Is id among the overlay's tombstones? */
static bool
has_tombstone(const CatzOverlay *ov, int64_t id)
{
	for (uint32_t i = 0; i < catz_overlay_tombstones(ov); i++)
		if (catz_overlay_tombstone(ov, i) == id)
			return true;
	return false;
}

/* Sizes: 0 for impossible requests, growing with both parameters */
static void
test_sizes(void)
{
	_Alignas(8) char buf[4096];
	size_t		small = catz_overlay_size(4, 64);

	CHECK(catz_overlay_size(0, 100) == 0);
	CHECK(catz_overlay_size(UINT32_MAX, 0) == 0);
	CHECK(catz_overlay_size(1, UINT32_MAX) == 0);
	CHECK(small > 0 && small % 8 == 0);
	CHECK(catz_overlay_size(5, 64) > small);
	CHECK(catz_overlay_size(4, 65) >= small);
	CHECK(catz_overlay_size(1000000, 1 << 24) > 0);

	/* init refuses a small, misaligned or missing buffer */
	CHECK(small <= sizeof(buf));
	CHECK(catz_overlay_init(buf, small - 1, 4, 64) == NULL);
	CHECK(catz_overlay_init(buf + 4, sizeof(buf) - 4, 4, 64) == NULL);
	CHECK(catz_overlay_init(NULL, small, 4, 64) == NULL);
	CHECK(catz_overlay_init(buf, small, 0, 64) == NULL);

	/* A bigger buffer is fine; validate accepts it with its real size */
	CHECK(catz_overlay_init(buf, sizeof(buf), 4, 64) != NULL);
	CHECK(catz_overlay_validate(buf, sizeof(buf)) == CATZ_OK);
	CHECK(catz_overlay_validate(buf, small) == CATZ_OK);
	CHECK(catz_overlay_validate(buf, small - 1) == CATZ_ECORRUPT);
}

/* An empty overlay matches nothing and still counts words */
static void
test_empty(void)
{
	CatzOverlay *ov = new_overlay(8, 64, NULL);
	OccList		got;

	CHECK(catz_overlay_live(ov) == 0);
	CHECK(catz_overlay_used(ov) == 0);
	CHECK(catz_overlay_tombstones(ov) == 0);
	CHECK(catz_overlay_entry(ov, 0) == NULL);
	CHECK(!catz_overlay_shadows(ov, 1));
	CHECK(match_ids(ov, " joes  coffee shop ", &got) == 3);
	CHECK(got.n == 0);
	CHECK(catz_overlay_match(ov, "", 0, occ_collect, &got) == 0);
	occ_free(&got);
	free(ov);
}

/* Put, replace, delete and revive, with shadows and counts */
static void
test_put_replace_delete_revive(void)
{
	CatzOverlay *ov = new_overlay(16, 256, NULL);
	const CatzEntry *e;
	OccList		got;

	put_ok(ov, 1, "joes coffee");
	put_ok(ov, 2, "coffee");
	CHECK(catz_overlay_live(ov) == 2 && catz_overlay_used(ov) == 2);
	CHECK(catz_overlay_shadows(ov, 1) && catz_overlay_shadows(ov, 2));
	CHECK(!catz_overlay_shadows(ov, 3));

	e = catz_overlay_entry(ov, 0);
	CHECK(e != NULL && e->pattern_id == 1 && e->category_id == 10 &&
		  e->nwords == 2 && e->kind == CATZ_KIND_MERCHANT);
	if (e)
		CHECK_BYTES(catz_entry_value(ov, e), e->value_len, "joes coffee");

	CHECK(match_ids(ov, "joes coffee bar", &got) == 3);
	CHECK(got.n == 2 && has_occ(&got, 1, 0, 2, 1) && has_occ(&got, 2, 1, 2, 1));
	occ_free(&got);

	/* Replace: the old slot dies, the new version matches instead */
	put_ok(ov, 1, "coffee bar");
	CHECK(catz_overlay_live(ov) == 2 && catz_overlay_used(ov) == 3);
	CHECK(catz_overlay_entry(ov, 0) == NULL);
	e = catz_overlay_entry(ov, 2);
	CHECK(e != NULL && e->pattern_id == 1 && e->nwords == 2);
	match_ids(ov, "joes coffee bar", &got);
	CHECK(got.n == 2 && has_occ(&got, 1, 1, 3, 1) && has_occ(&got, 2, 1, 2, 1));
	occ_free(&got);

	/* Delete a live id: removed, tombstoned, still shadows */
	CHECK(catz_overlay_delete(ov, 2) == CATZ_OK);
	CHECK(catz_overlay_live(ov) == 1 && catz_overlay_used(ov) == 3);
	CHECK(catz_overlay_entry(ov, 1) == NULL);
	CHECK(catz_overlay_shadows(ov, 2));
	CHECK(catz_overlay_tombstones(ov) == 1 && catz_overlay_tombstone(ov, 0) == 2);
	match_ids(ov, "joes coffee bar", &got);
	CHECK(got.n == 1 && has_occ(&got, 1, 1, 3, 1));
	occ_free(&got);

	/* Deleting again changes nothing */
	CHECK(catz_overlay_delete(ov, 2) == CATZ_OK);
	CHECK(catz_overlay_tombstones(ov) == 1);

	/* Delete an id the overlay never had: it shadows a base entry */
	CHECK(catz_overlay_delete(ov, 7) == CATZ_OK);
	CHECK(catz_overlay_shadows(ov, 7));
	CHECK(catz_overlay_tombstones(ov) == 2 && has_tombstone(ov, 7));
	CHECK(catz_overlay_live(ov) == 1);

	/* Revive: the tombstone goes, the id still shadows */
	put_ok(ov, 2, "bar");
	CHECK(catz_overlay_shadows(ov, 2));
	CHECK(catz_overlay_tombstones(ov) == 1 && !has_tombstone(ov, 2) &&
		  has_tombstone(ov, 7));
	CHECK(catz_overlay_live(ov) == 2 && catz_overlay_used(ov) == 4);
	match_ids(ov, "joes coffee bar", &got);
	CHECK(got.n == 2 && has_occ(&got, 1, 1, 3, 1) && has_occ(&got, 2, 2, 3, 1));
	occ_free(&got);

	/* Delete the replaced id too; then revive the never-seen one */
	CHECK(catz_overlay_delete(ov, 1) == CATZ_OK);
	CHECK(catz_overlay_tombstones(ov) == 2 && has_tombstone(ov, 1));
	put_ok(ov, 7, "joes");
	CHECK(catz_overlay_tombstones(ov) == 1 && catz_overlay_tombstone(ov, 0) == 1);
	match_ids(ov, "joes coffee bar", &got);
	CHECK(got.n == 2 && has_occ(&got, 7, 0, 1, 1) && has_occ(&got, 2, 2, 3, 1));
	occ_free(&got);

	CHECK(catz_overlay_validate(ov, catz_overlay_size(16, 256)) == CATZ_OK);
	free(ov);
}

/* Same values under different ids, repeats, overlaps, and spacing */
static void
test_match_semantics(void)
{
	CatzOverlay *ov = new_overlay(16, 256, NULL);
	CatzPatternInput kw = pattern_kind(4, CATZ_KIND_KEYWORD, "  a   a ");
	CatzPatternInput re = pattern_kind(5, CATZ_KIND_REGEX, "a+ b");
	const CatzEntry *e;
	OccList		got;

	put_ok(ov, 1, "a b");
	put_ok(ov, 2, "a b");
	put_ok(ov, 3, "b");
	CHECK(catz_overlay_regex_slots(ov) == 0);
	CHECK(catz_overlay_put(ov, &kw) == CATZ_OK);
	CHECK(catz_overlay_put(ov, &re) == CATZ_OK);

	/* A value is stored with single spaces */
	e = catz_overlay_entry(ov, 3);
	CHECK(e != NULL && e->nwords == 2 && e->kind == CATZ_KIND_KEYWORD);
	if (e)
		CHECK_BYTES(catz_entry_value(ov, e), e->value_len, "a a");

	/* A regex is stored as given and never matched */
	e = catz_overlay_entry(ov, 4);
	CHECK(e != NULL && e->nwords == 0 && e->kind == CATZ_KIND_REGEX);
	/* ... and counted, so that a caller skips the slots when there is none */
	CHECK(catz_overlay_regex_slots(ov) == 1);
	if (e)
		CHECK_BYTES(catz_entry_value(ov, e), e->value_len, "a+ b");

	/* Runs of spaces in the text match like single spaces */
	CHECK(match_ids(ov, "  a  a   b a b  ", &got) == 5);
	CHECK(got.n == 7);
	CHECK(has_occ(&got, 4, 0, 2, 1));
	CHECK(has_occ(&got, 1, 1, 3, 1) && has_occ(&got, 2, 1, 3, 1));
	CHECK(has_occ(&got, 3, 2, 3, 1) && has_occ(&got, 3, 4, 5, 1));
	CHECK(has_occ(&got, 1, 3, 5, 1) && has_occ(&got, 2, 3, 5, 1));
	CHECK(has_occ(&got, 4, 1, 2, 0));
	occ_free(&got);

	/* Words match whole, never as prefixes or suffixes */
	match_ids(ov, "ab ba bb a", &got);
	CHECK(got.n == 0);
	occ_free(&got);
	free(ov);
}

/* Limits of catz_set_build give CATZ_EINVAL and change nothing */
static void
test_invalid(void)
{
	size_t		size;
	CatzOverlay *ov = new_overlay(8, 4096, &size);
	unsigned char *before = malloc(size);
	char		big[CATZ_MAX_PATTERN_BYTES + 2];
	char		words[CATZ_MAX_PATTERN_WORDS * 2 + 4];
	CatzPatternInput p;

	put_ok(ov, 1, "x");
	memcpy(before, ov, size);

	CHECK(catz_overlay_put(ov, NULL) == CATZ_EINVAL);
	p = pattern(2, "");
	CHECK(catz_overlay_put(ov, &p) == CATZ_EINVAL);
	p = pattern(2, "   ");
	CHECK(catz_overlay_put(ov, &p) == CATZ_EINVAL);
	p = pattern(2, "x");
	p.value = NULL;
	CHECK(catz_overlay_put(ov, &p) == CATZ_EINVAL);
	p = pattern_kind(2, 7, "x");
	CHECK(catz_overlay_put(ov, &p) == CATZ_EINVAL);

	memset(big, 'z', sizeof(big));
	p = pattern(2, "x");
	p.value = big;
	p.value_len = CATZ_MAX_PATTERN_BYTES + 1;
	CHECK(catz_overlay_put(ov, &p) == CATZ_EINVAL);
	p.kind = CATZ_KIND_REGEX;
	CHECK(catz_overlay_put(ov, &p) == CATZ_EINVAL);

	/* 65 one-letter words */
	for (int i = 0; i <= CATZ_MAX_PATTERN_WORDS; i++)
	{
		words[2 * i] = 'w';
		words[2 * i + 1] = ' ';
	}
	p = pattern(2, "x");
	p.value = words;
	p.value_len = 2 * (CATZ_MAX_PATTERN_WORDS + 1) - 1;
	CHECK(catz_overlay_put(ov, &p) == CATZ_EINVAL);
	CHECK(memcmp(before, ov, size) == 0);

	/* The limits themselves are fine: 64 words, 1024 bytes */
	p.value_len = 2 * CATZ_MAX_PATTERN_WORDS - 1;
	CHECK(catz_overlay_put(ov, &p) == CATZ_OK);
	p.pattern_id = 3;
	p.value = big;
	p.value_len = CATZ_MAX_PATTERN_BYTES;
	CHECK(catz_overlay_put(ov, &p) == CATZ_OK);
	CHECK(catz_overlay_validate(ov, size) == CATZ_OK);

	free(before);
	free(ov);
}

/* A full overlay refuses puts and deletes with CATZ_ETOOBIG, unchanged */
static void
test_capacity(void)
{
	size_t		size;
	CatzOverlay *ov = new_overlay(4, 1024, &size);
	unsigned char *before = malloc(size);
	CatzPatternInput p;

	/* Replacements use slots: four puts of one id fill four slots */
	for (int i = 0; i < 4; i++)
		put_ok(ov, 1, i % 2 ? "odd" : "even");
	CHECK(catz_overlay_used(ov) == 4 && catz_overlay_live(ov) == 1);
	memcpy(before, ov, size);
	p = pattern(1, "again");
	CHECK(catz_overlay_put(ov, &p) == CATZ_ETOOBIG);
	p = pattern(2, "new");
	CHECK(catz_overlay_put(ov, &p) == CATZ_ETOOBIG);
	CHECK(memcmp(before, ov, size) == 0);

	/* Slots are full, but deletes still fit: ids are not */
	CHECK(catz_overlay_delete(ov, 1) == CATZ_OK);
	CHECK(catz_overlay_delete(ov, 2) == CATZ_OK);
	CHECK(catz_overlay_delete(ov, 3) == CATZ_OK);
	CHECK(catz_overlay_delete(ov, 4) == CATZ_OK);
	CHECK(catz_overlay_tombstones(ov) == 4);

	/* Four ids known: a fifth is refused; known ones are still fine */
	memcpy(before, ov, size);
	CHECK(catz_overlay_delete(ov, 5) == CATZ_ETOOBIG);
	CHECK(!catz_overlay_shadows(ov, 5));
	CHECK(memcmp(before, ov, size) == 0);
	CHECK(catz_overlay_delete(ov, 4) == CATZ_OK);
	CHECK(memcmp(before, ov, size) == 0);
	CHECK(catz_overlay_validate(ov, size) == CATZ_OK);
	free(ov);

	/* Distinct ids fill the id capacity before the slots do */
	ov = new_overlay(3, 1024, &size);
	put_ok(ov, 1, "a");
	CHECK(catz_overlay_delete(ov, 2) == CATZ_OK);
	CHECK(catz_overlay_delete(ov, 3) == CATZ_OK);
	memcpy(before, ov, size);
	p = pattern(4, "d");
	CHECK(catz_overlay_put(ov, &p) == CATZ_ETOOBIG);
	CHECK(memcmp(before, ov, size) == 0);
	put_ok(ov, 2, "b");			/* a revive needs no new id */
	CHECK(catz_overlay_live(ov) == 2 && catz_overlay_tombstones(ov) == 1);
	CHECK(catz_overlay_validate(ov, size) == CATZ_OK);
	free(ov);
	free(before);
}

/* Values that do not fit the pool give CATZ_ETOOBIG, unchanged */
static void
test_pool(void)
{
	size_t		size;
	CatzOverlay *ov = new_overlay(16, 12, &size);
	unsigned char *before = malloc(size);
	CatzPatternInput p;

	put_ok(ov, 1, "abcde");
	put_ok(ov, 2, "  fg   hi ");	/* stored as "fg hi": 5 bytes */
	memcpy(before, ov, size);
	p = pattern(3, "xyz");
	CHECK(catz_overlay_put(ov, &p) == CATZ_ETOOBIG);
	p = pattern(1, "xyz");		/* replaced bytes are not reclaimed */
	CHECK(catz_overlay_put(ov, &p) == CATZ_ETOOBIG);
	CHECK(memcmp(before, ov, size) == 0);
	put_ok(ov, 3, "xy");		/* exactly full */
	p = pattern(4, "z");
	CHECK(catz_overlay_put(ov, &p) == CATZ_ETOOBIG);
	CHECK(catz_overlay_delete(ov, 4) == CATZ_OK);	/* takes no pool */
	CHECK(catz_overlay_validate(ov, size) == CATZ_OK);
	free(before);
	free(ov);
}

/* The next live entry at or after slot *i, advancing *i past it; or NULL */
static const CatzEntry *
next_live(const CatzOverlay *ov, uint32_t *i)
{
	while (*i < catz_overlay_used(ov))
	{
		const CatzEntry *e = catz_overlay_entry(ov, (*i)++);

		if (e != NULL)
			return e;
	}
	return NULL;
}

/* Do a and b hold the same live entries, in the same order? */
static bool
same_live_entries(const CatzOverlay *a, const CatzOverlay *b)
{
	uint32_t	ia = 0;
	uint32_t	ib = 0;

	for (;;)
	{
		const CatzEntry *ea = next_live(a, &ia);
		const CatzEntry *eb = next_live(b, &ib);

		if (ea == NULL || eb == NULL)
			return ea == eb;
		if (ea->pattern_id != eb->pattern_id ||
			ea->category_id != eb->category_id ||
			ea->owner_id != eb->owner_id || ea->hits != eb->hits ||
			ea->misses != eb->misses || ea->priority != eb->priority ||
			ea->amount_min != eb->amount_min ||
			ea->amount_max != eb->amount_max ||
			ea->nwords != eb->nwords || ea->kind != eb->kind ||
			ea->flags != eb->flags || ea->value_len != eb->value_len ||
			memcmp(catz_entry_value(a, ea), catz_entry_value(b, eb),
				   ea->value_len) != 0)
			return false;
	}
}

/* Copy keeps live patterns and tombstones, drops dead slots */
static void
test_copy(void)
{
	size_t		size;
	size_t		dsize;
	CatzOverlay *src = new_overlay(8, 64, &size);
	CatzOverlay *dst = new_overlay(32, 256, &dsize);
	CatzOverlay *small;
	CatzPatternInput p = pattern_kind(3, CATZ_KIND_REGEX, "^sq ");
	unsigned char *before;
	OccList		a;
	OccList		b;

	p.owner_id = 77;
	p.flags = CATZ_PF_OWNER | CATZ_PF_AMOUNT_MIN;
	p.amount_min = 2.5;
	p.hits = 9;
	p.misses = 1;
	p.priority = -3;
	put_ok(src, 1, "joes coffee");
	put_ok(src, 2, "coffee");
	CHECK(catz_overlay_put(src, &p) == CATZ_OK);
	put_ok(src, 1, "joes");		/* replace */
	CHECK(catz_overlay_delete(src, 2) == CATZ_OK);
	CHECK(catz_overlay_delete(src, 9) == CATZ_OK);

	CHECK(catz_overlay_copy(dst, src) == CATZ_OK);
	CHECK(catz_overlay_validate(dst, dsize) == CATZ_OK);
	CHECK(catz_overlay_live(dst) == 2 && catz_overlay_used(dst) == 2);
	CHECK(catz_overlay_tombstones(dst) == 2 && has_tombstone(dst, 2) &&
		  has_tombstone(dst, 9));
	for (int64_t id = 0; id < 12; id++)
		CHECK(catz_overlay_shadows(dst, id) == catz_overlay_shadows(src, id));
	CHECK(same_live_entries(src, dst));
	match_ids(src, "joes coffee joes", &a);
	match_ids(dst, "joes coffee joes", &b);
	CHECK(a.n == 2 && occ_equal(&a, &b));
	occ_free(&a);
	occ_free(&b);

	/* Copying into a non-empty overlay is refused */
	CHECK(catz_overlay_copy(dst, src) == CATZ_EINVAL);

	/* Too few ids or too small a pool: refused, unchanged */
	small = new_overlay(3, 256, &dsize);
	before = malloc(dsize);
	memcpy(before, small, dsize);
	CHECK(catz_overlay_copy(small, src) == CATZ_ETOOBIG);
	CHECK(memcmp(before, small, dsize) == 0);
	free(small);
	free(before);
	small = new_overlay(4, 7, &dsize);
	CHECK(catz_overlay_copy(small, src) == CATZ_ETOOBIG);
	free(small);

	/* Exactly enough is enough: 4 ids, 4 + 4 bytes of live values */
	small = new_overlay(4, 8, &dsize);
	CHECK(catz_overlay_delete(src, 1) == CATZ_OK);
	put_ok(src, 1, "joes");
	CHECK(catz_overlay_copy(small, src) == CATZ_OK);
	CHECK(catz_overlay_validate(small, dsize) == CATZ_OK);
	CHECK(same_live_entries(src, small));
	free(small);
	free(src);
	free(dst);
}

/* A blob moved with memcpy validates, matches and updates the same */
static void
test_position_independence(void)
{
	size_t		size;
	CatzOverlay *ov = new_overlay(64, 1024, &size);
	unsigned char *moved = malloc(size + 8);
	CatzOverlay *copy;
	const char *text = "sq joes coffee shop joes coffee";
	OccList		a;
	OccList		b;

	put_ok(ov, 1, "joes coffee");
	put_ok(ov, 2, "coffee shop");
	put_ok(ov, 3, "shop");
	put_ok(ov, 2, "coffee");
	CHECK(catz_overlay_delete(ov, 3) == CATZ_OK);
	CHECK(catz_overlay_delete(ov, 4) == CATZ_OK);
	match_ids(ov, text, &a);

	/* Move to another address and scribble over the original */
	copy = (CatzOverlay *) (moved + 8);
	memcpy(copy, ov, size);
	memset(ov, 0xAB, size);
	free(ov);

	CHECK(catz_overlay_validate(copy, size) == CATZ_OK);
	match_ids(copy, text, &b);
	CHECK(a.n == 4 && occ_equal(&a, &b));
	CHECK(catz_overlay_shadows(copy, 3) && catz_overlay_shadows(copy, 4));
	for (uint32_t i = 0; i < catz_overlay_used(copy); i++)
	{
		const CatzEntry *e = catz_overlay_entry(copy, i);

		if (e && e->pattern_id == 1)
			CHECK_BYTES(catz_entry_value(copy, e), e->value_len, "joes coffee");
	}

	/* And keeps working as an overlay */
	put_ok(copy, 3, "sq");
	CHECK(catz_overlay_delete(copy, 1) == CATZ_OK);
	occ_free(&b);
	match_ids(copy, text, &b);
	CHECK(b.n == 3 && has_occ(&b, 3, 0, 1, 1) && has_occ(&b, 2, 2, 3, 1) &&
		  has_occ(&b, 2, 5, 6, 1));
	CHECK(catz_overlay_validate(copy, size) == CATZ_OK);
	occ_free(&a);
	occ_free(&b);
	free(moved);
}

/* CatzMatchFn that stops at the first occurrence */
static bool
stop_first(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	(void) entry;
	(void) start;
	(void) end;
	(*(int *) arg)++;
	return false;
}

/* Stopping early still returns the text's word count */
static void
test_stop_early(void)
{
	CatzOverlay *ov = new_overlay(8, 64, NULL);
	const char *text = "a b a b a";
	int			calls = 0;

	put_ok(ov, 1, "a");
	put_ok(ov, 2, "b");
	CHECK(catz_overlay_match(ov, text, strlen(text), stop_first, &calls) == 5);
	CHECK(calls == 1);
	free(ov);
}

/* CatzMatchFn that counts occurrences per pattern id (ids < 128) */
static bool
count_by_id(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	(void) start;
	(void) end;
	((uint32_t *) arg)[entry]++;
	return true;
}

/* 1 MB texts of 100k+ words; values of every length up to 64 words */
static void
test_large_texts(void)
{
	enum
	{
		NWORDS = 130000
	};
	CatzOverlay *ov = new_overlay(128, 1 << 16, NULL);
	char	   *text = malloc(NWORDS * 8 + 2 * CATZ_MAX_PATTERN_BYTES);
	char		value[4 * CATZ_MAX_PATTERN_WORDS];
	uint32_t	counts[128] = {0};
	uint32_t	slot_of_len[CATZ_MAX_PATTERN_WORDS + 1];
	size_t		len = 0;
	uint32_t	nwords;

	/* "w w w ...": every run of k words is the k-word value */
	for (int k = 1; k <= CATZ_MAX_PATTERN_WORDS; k++)
	{
		CatzPatternInput p = pattern(k, "w");

		for (int i = 0; i < k; i++)
			memcpy(value + 2 * i, "w ", 2);
		p.value = value;
		p.value_len = (uint32_t) (2 * k - 1);
		slot_of_len[k] = catz_overlay_used(ov);
		CHECK(catz_overlay_put(ov, &p) == CATZ_OK);
	}
	for (int i = 0; i < NWORDS; i++)
	{
		memcpy(text + len, "w ", 2);
		len += 2;
	}
	/* A word too long for any value breaks the runs, then more words */
	memset(text + len, 'w', CATZ_MAX_PATTERN_BYTES + 1);
	len += CATZ_MAX_PATTERN_BYTES + 1;
	memcpy(text + len, " w w", 4);
	len += 4;

	nwords = catz_overlay_match(ov, text, len, count_by_id, counts);
	CHECK(nwords == NWORDS + 3);
	for (uint32_t k = 1; k <= CATZ_MAX_PATTERN_WORDS; k++)
	{
		uint32_t	want = (NWORDS - k + 1) + (k <= 2 ? 3 - k : 0);

		CHECK(counts[slot_of_len[k]] == want);
	}

	/* 1 MB of distinct-looking words with a few hits */
	memset(counts, 0, sizeof(counts));
	len = 0;
	for (int i = 0; i < NWORDS; i++)
		len += (size_t) sprintf(text + len, "%s ", i % 1000 == 999 ? "w" : "x");
	nwords = catz_overlay_match(ov, text, len, count_by_id, counts);
	CHECK(nwords == NWORDS);
	CHECK(counts[slot_of_len[1]] == NWORDS / 1000);
	CHECK(counts[slot_of_len[2]] == 0);
	free(text);
	free(ov);
}

/*
 * The random differential test.  A model records each id's state; the
 * overlay must agree with it on shadows, counts and tombstones, and its
 * matches must equal brute force (and catz_set_match) over the live
 * patterns.
 */
#define DIFF_IDS		24
#define DIFF_VALUE_MAX	64

typedef struct ModelPattern
{
	bool		live;
	bool		deleted;
	uint8_t		kind;
	char		value[DIFF_VALUE_MAX];
	uint32_t	value_len;
} ModelPattern;

static const char *const diff_vocab[] = {"a", "b", "ab", "coffee", "shop", "co"};

#define DIFF_VOCAB	(sizeof(diff_vocab) / sizeof(diff_vocab[0]))

/* A random sequence of 1..max words, with stray spaces if messy */
static uint32_t
random_words(char *out, size_t cap, uint32_t max, bool messy, bool unknown)
{
	uint32_t	n = 1 + rng_below(max);
	size_t		len = 0;

	for (uint32_t i = 0; i < n; i++)
	{
		const char *w = diff_vocab[rng_below(DIFF_VOCAB)];
		size_t		wl;
		int			spaces = (i > 0) + (messy && rng_below(4) == 0);

		if (unknown && rng_below(8) == 0)
			w = "zz";			/* in no pattern */
		wl = strlen(w);

		if (messy && i == 0 && rng_below(4) == 0)
			spaces++;
		if (len + (size_t) spaces + wl + 2 > cap)
			break;
		while (spaces-- > 0)
			out[len++] = ' ';
		memcpy(out + len, w, wl);
		len += wl;
	}
	if (messy && rng_below(4) == 0 && len + 1 < cap)
		out[len++] = ' ';
	out[len] = '\0';
	return (uint32_t) len;
}

/* Compare the overlay with the model on one text */
static bool
diff_check_text(const CatzOverlay *ov, const ModelPattern *model,
				const char *text)
{
	CatzPatternInput live[DIFF_IDS];
	uint32_t	live_id[DIFF_IDS];
	size_t		nlive = 0;
	OccList		got = {0};
	OccList		want = {0};
	OccList		from_set = {0};
	CatzSet    *set = NULL;
	size_t		set_size;
	bool		same;

	for (uint32_t id = 0; id < DIFF_IDS; id++)
	{
		if (!model[id].live)
			continue;
		live[nlive] = pattern_kind(id, model[id].kind, model[id].value);
		live_id[nlive++] = id;
	}
	match_ids(ov, text, &got);
	brute_match(live, nlive, text, strlen(text), &want);
	for (size_t i = 0; i < want.n; i++)
		want.v[i].entry = live_id[want.v[i].entry];

	/* The compiled set's semantics are the reference too */
	if (catz_set_build(live, nlive, &catz_malloc_allocator, &set, &set_size,
					   NULL) == CATZ_OK)
	{
		catz_set_match(set, text, strlen(text), occ_collect, &from_set);
		for (size_t i = 0; i < from_set.n; i++)
			from_set.v[i].entry = live_id[from_set.v[i].entry];
		free(set);
	}

	same = occ_equal(&got, &want) && occ_equal(&from_set, &want);
	if (!same)
	{
		fprintf(stderr, "mismatch on \"%s\": got %zu, want %zu, set %zu\n",
				text, got.n, want.n, from_set.n);
		for (size_t i = 0; i < got.n; i++)
			fprintf(stderr, "  got  id=%u [%u,%u)\n",
					got.v[i].entry, got.v[i].start, got.v[i].end);
		for (size_t i = 0; i < want.n; i++)
			fprintf(stderr, "  want id=%u [%u,%u)\n",
					want.v[i].entry, want.v[i].start, want.v[i].end);
	}
	occ_free(&got);
	occ_free(&want);
	occ_free(&from_set);
	return same;
}

/* Compare the overlay's bookkeeping with the model */
static bool
diff_check_state(const CatzOverlay *ov, size_t size, const ModelPattern *model)
{
	uint32_t	live = 0;
	uint32_t	deleted = 0;
	bool		ok = catz_overlay_validate(ov, size) == CATZ_OK;

	for (uint32_t id = 0; id < DIFF_IDS; id++)
	{
		live += model[id].live;
		deleted += model[id].deleted;
		ok = ok && catz_overlay_shadows(ov, id) ==
			(model[id].live || model[id].deleted);
		ok = ok && has_tombstone(ov, id) == model[id].deleted;
	}
	ok = ok && catz_overlay_live(ov) == live &&
		catz_overlay_tombstones(ov) == deleted;

	/* Each live id has exactly one live entry, with the model's value */
	for (uint32_t i = 0; ok && i < catz_overlay_used(ov); i++)
	{
		const CatzEntry *e = catz_overlay_entry(ov, i);
		const ModelPattern *m;

		if (e == NULL)
			continue;
		if (e->pattern_id < 0 || e->pattern_id >= DIFF_IDS)
			return false;
		m = &model[e->pattern_id];
		ok = m->live && e->kind == m->kind && e->value_len <= m->value_len;
		live--;
	}
	return ok && live == 0;
}

/* Random puts, replaces and deletes, checked against brute force */
static void
test_differential_random(void)
{
	for (int round = 0; round < 150; round++)
	{
		size_t		size;
		CatzOverlay *ov = new_overlay(512, 1 << 14, &size);
		ModelPattern model[DIFF_IDS];

		memset(model, 0, sizeof(model));
		for (int op = 0; op < 120; op++)
		{
			uint32_t	id = rng_below(DIFF_IDS);
			ModelPattern *m = &model[id];

			if (rng_below(3) == 0)
			{
				CHECK(catz_overlay_delete(ov, id) == CATZ_OK);
				m->deleted = true;
				m->live = false;
			}
			else
			{
				CatzPatternInput p;

				m->kind = rng_below(10) == 0 ? CATZ_KIND_REGEX :
					rng_below(2) ? CATZ_KIND_MERCHANT : CATZ_KIND_KEYWORD;
				m->value_len = random_words(m->value, sizeof(m->value),
											1 + rng_below(4), true, false);
				p = pattern_kind(id, m->kind, m->value);
				CHECK(catz_overlay_put(ov, &p) == CATZ_OK);
				m->live = true;
				m->deleted = false;
			}

			if (op % 5 == 4)
			{
				char		text[256];

				CHECK(diff_check_state(ov, size, model));
				for (int t = 0; t < 6; t++)
				{
					random_words(text, sizeof(text), 14, rng_below(3) == 0, true);
					CHECK(diff_check_text(ov, model, text));
				}
			}
		}

		/* A copy agrees with the model too */
		{
			size_t		csize;
			CatzOverlay *copy = new_overlay(600, 1 << 14, &csize);
			char		text[256];

			CHECK(catz_overlay_copy(copy, ov) == CATZ_OK);
			CHECK(diff_check_state(copy, csize, model));
			random_words(text, sizeof(text), 14, false, true);
			CHECK(diff_check_text(copy, model, text));
			free(copy);
		}
		free(ov);
	}
}

/* Build an overlay with every kind of slot for the corruption tests */
static CatzOverlay *
corruption_subject(size_t *size)
{
	CatzOverlay *ov = new_overlay(8, 128, size);
	CatzPatternInput re = pattern_kind(5, CATZ_KIND_REGEX, "^sq");

	put_ok(ov, 1, "joes coffee");
	put_ok(ov, 2, "coffee");
	put_ok(ov, 3, "shop");
	put_ok(ov, 1, "joes");
	CHECK(catz_overlay_put(ov, &re) == CATZ_OK);
	CHECK(catz_overlay_delete(ov, 2) == CATZ_OK);
	CHECK(catz_overlay_delete(ov, 4) == CATZ_OK);
	CHECK(catz_overlay_validate(ov, *size) == CATZ_OK);
	return ov;
}

/* Use a blob that passed validation in every way; ASan checks the reads */
static void
exercise(CatzOverlay *ov)
{
	OccList		got;
	int64_t		sum = 0;

	match_ids(ov, "joes coffee shop  joes", &got);
	occ_free(&got);
	for (uint32_t i = 0; i < catz_overlay_used(ov) + 2; i++)
	{
		const CatzEntry *e = catz_overlay_entry(ov, i);

		if (e)
			sum += catz_entry_value(ov, e)[e->value_len - 1];
	}
	for (uint32_t i = 0; i < catz_overlay_tombstones(ov); i++)
		sum += catz_overlay_tombstone(ov, i);
	for (int64_t id = 0; id < 8; id++)
	{
		CatzPatternInput p = pattern(id, id % 2 ? "joes" : "coffee shop");

		sum += catz_overlay_shadows(ov, id);
		if (id % 3 == 0)
			(void) catz_overlay_delete(ov, id);
		else
			(void) catz_overlay_put(ov, &p);
	}
	match_ids(ov, "joes coffee shop  joes", &got);
	occ_free(&got);
	(void) sum;
}

/*
 * Byte offsets in the private layout of overlay.c, for targeted
 * corruption: OverlayHeader fields and section_off[] entries, and the
 * size and fields of a SlotLink and an IdSlot.
 */
#define HDR_SIZE		88
#define HDR_NBUCKETS	20
#define HDR_NID_SLOTS	24
#define HDR_USED		28
#define HDR_LIVE		32
#define HDR_MAX_WORDS	48
#define HDR_OFF_ENTRIES	64
#define HDR_OFF_LINKS	68
#define HDR_OFF_BUCKETS	72
#define HDR_OFF_IDS		76
#define HDR_OFF_TOMBS	80
#define LINK_SIZE		16
#define LINK_NEXT		8
#define LINK_STATE		12
#define IDSLOT_SIZE		16

/* Load a 32-bit value at a byte offset */
static uint32_t
load32(const void *blob, size_t off)
{
	uint32_t	v;

	memcpy(&v, (const char *) blob + off, sizeof(v));
	return v;
}

/* Store a 32-bit value at a byte offset */
static void
store32(void *blob, size_t off, uint32_t v)
{
	memcpy((char *) blob + off, &v, sizeof(v));
}

/* Truncated, misaligned and corrupted blobs fail validation or are safe */
static void
test_validate_corruption(void)
{
	size_t		size;
	CatzOverlay *ov = corruption_subject(&size);
	unsigned char *buf = malloc(size + 8);
	unsigned char *work = malloc(size);
	int			passed = 0;

	/* Truncation, misalignment, garbage */
	for (size_t n = 0; n < size; n += (n < 256 ? 1 : 97))
		CHECK(catz_overlay_validate(ov, n) == CATZ_ECORRUPT);
	CHECK(catz_overlay_validate(NULL, size) == CATZ_ECORRUPT);
	memcpy(buf + 4, ov, size);
	CHECK(catz_overlay_validate(buf + 4, size) == CATZ_ECORRUPT);
	memset(work, 0, size);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* Every header word set to a few hostile values */
	for (size_t off = 0; off + 4 <= HDR_SIZE; off += 4)
	{
		static const uint32_t hostile[] = {0, 1, 7, 0x7FFFFFFF, 0xFFFFFFFF};

		for (size_t h = 0; h < sizeof(hostile) / sizeof(hostile[0]); h++)
		{
			memcpy(work, ov, size);
			if (load32(work, off) == hostile[h])
				continue;
			store32(work, off, hostile[h]);
			if (catz_overlay_validate(work, size) == CATZ_OK)
			{
				passed++;
				exercise((CatzOverlay *) work);
			}
		}
	}

	/* Random bytes anywhere: most fail, the rest must be safe to use */
	for (int trial = 0; trial < 20000; trial++)
	{
		int			flips = 1 + (int) rng_below(3);

		memcpy(work, ov, size);
		for (int f = 0; f < flips; f++)
		{
			size_t		at = rng_below((uint32_t) size);

			switch (rng_below(3))
			{
				case 0:
					work[at] ^= (unsigned char) (1u << rng_below(8));
					break;
				case 1:
					work[at] = (unsigned char) rng_next();
					break;
				default:
					work[at] = (unsigned char) rng_below(4);
					break;
			}
		}
		if (catz_overlay_validate(work, size) == CATZ_OK)
		{
			passed++;
			exercise((CatzOverlay *) work);
		}
	}
	CHECK(passed > 0);			/* flips of ids, categories, unused slots */

	free(work);
	free(buf);
	free(ov);
}

/* Structural corruptions that validation must catch, one by one */
static void
test_validate_targeted(void)
{
	size_t		size;
	CatzOverlay *ov = corruption_subject(&size);
	unsigned char *work = malloc(size);
	size_t		links = load32(ov, HDR_OFF_LINKS);
	size_t		link3 = links + 3 * LINK_SIZE;
	const CatzEntry *e3 = catz_overlay_entry(ov, 3);
	size_t		off_e3;

	/* Slot 3 is "joes" (live, chained), slot 0 the replaced "joes coffee" */
	CHECK(catz_overlay_entry(ov, 0) == NULL);
	CHECK(e3 != NULL && e3->pattern_id == 1);
	if (e3 == NULL)
		goto done;
	off_e3 = (size_t) ((const char *) e3 - (const char *) ov);
	CHECK(off_e3 == load32(ov, HDR_OFF_ENTRIES) + 3 * sizeof(CatzEntry));

	/* value outside the used pool */
	memcpy(work, ov, size);
	store32(work, off_e3 + offsetof(CatzEntry, value_off), (uint32_t) size - 2);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* word count beyond the limit, and disagreeing with the value */
	memcpy(work, ov, size);
	((CatzEntry *) (work + off_e3))->nwords = CATZ_MAX_PATTERN_WORDS + 1;
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);
	memcpy(work, ov, size);
	((CatzEntry *) (work + off_e3))->nwords = 2;
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* a kind that does not exist */
	memcpy(work, ov, size);
	((CatzEntry *) (work + off_e3))->kind = 9;
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* a chain that loops on itself: slot 3's next = slot 3 */
	memcpy(work, ov, size);
	store32(work, link3 + LINK_NEXT, 4);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* a chain link past the used slots */
	memcpy(work, ov, size);
	store32(work, link3 + LINK_NEXT, 8);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* a live slot marked dead, or with an unknown state */
	memcpy(work, ov, size);
	store32(work, link3 + LINK_STATE, 0);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);
	memcpy(work, ov, size);
	store32(work, link3 + LINK_STATE, 2);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* the id behind a live slot changed */
	memcpy(work, ov, size);
	((CatzEntry *) (work + off_e3))->pattern_id = 99;
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* a tombstone's id changed */
	memcpy(work, ov, size);
	store32(work, load32(ov, HDR_OFF_TOMBS), 12345);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* counters: used past capacity, live off by one, max_words too big */
	memcpy(work, ov, size);
	store32(work, HDR_USED, 9);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);
	memcpy(work, ov, size);
	store32(work, HDR_LIVE, load32(ov, HDR_LIVE) + 1);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);
	memcpy(work, ov, size);
	store32(work, HDR_MAX_WORDS, CATZ_MAX_PATTERN_WORDS + 1);
	CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);

	/* every id slot moved one place: records leave their probe paths */
	{
		size_t		ids = load32(ov, HDR_OFF_IDS);
		size_t		bytes = load32(ov, HDR_NID_SLOTS) * IDSLOT_SIZE;

		memcpy(work, ov, size);
		memmove(work + ids + IDSLOT_SIZE, work + ids, bytes - IDSLOT_SIZE);
		memcpy(work + ids, (const char *) ov + ids + bytes - IDSLOT_SIZE,
			   IDSLOT_SIZE);
		CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);
	}

	/* an empty bucket where a chain started */
	{
		size_t		buckets = load32(ov, HDR_OFF_BUCKETS);
		size_t		nb = load32(ov, HDR_NBUCKETS);

		for (size_t b = 0; b < nb; b++)
		{
			if (load32(ov, buckets + 4 * b) == 0)
				continue;
			memcpy(work, ov, size);
			store32(work, buckets + 4 * b, 0);
			CHECK(catz_overlay_validate(work, size) == CATZ_ECORRUPT);
		}
	}

done:
	free(work);
	free(ov);
}

int
main(void)
{
	UNIT_RUN(test_sizes);
	UNIT_RUN(test_empty);
	UNIT_RUN(test_put_replace_delete_revive);
	UNIT_RUN(test_match_semantics);
	UNIT_RUN(test_invalid);
	UNIT_RUN(test_capacity);
	UNIT_RUN(test_pool);
	UNIT_RUN(test_copy);
	UNIT_RUN(test_position_independence);
	UNIT_RUN(test_stop_early);
	UNIT_RUN(test_large_texts);
	UNIT_RUN(test_differential_random);
	UNIT_RUN(test_validate_corruption);
	UNIT_RUN(test_validate_targeted);
	UNIT_DONE("test_overlay");
}
