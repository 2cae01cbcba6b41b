/*-------------------------------------------------------------------------
 *
 * test_automaton.c
 *	  Unit tests of pattern sets (automaton.c), the hash (hash.c) and the
 *	  status helpers (status.c).
 *
 * Besides hand-written cases, a randomized differential test compares
 * catz_set_match with the brute-force oracle of match_oracle.h on small
 * vocabularies, where duplicates, overlaps and repeats are frequent; a
 * failing allocator checks that every allocation failure is reported and
 * leaks nothing; corrupted and truncated blobs must fail validation or, if
 * they pass, still be safe to match (ASan watches).
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
#include "failing_alloc.h"

/* Deterministic pseudo-random numbers (splitmix64) */
static uint64_t rng_state = 0x5EED;

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

/* A merchant pattern with the given id and value */
static CatzPatternInput
pattern(int64_t id, const char *value)
{
	CatzPatternInput p;

	memset(&p, 0, sizeof(p));
	p.pattern_id = id;
	p.category_id = id * 10;
	p.kind = CATZ_KIND_MERCHANT;
	p.value = value;
	p.value_len = (uint32_t) strlen(value);
	return p;
}

/* Build a set with the malloc allocator, checking it validates */
static CatzSet *
build_ok(const CatzPatternInput *pats, size_t n, size_t *size)
{
	CatzSet    *set = NULL;
	size_t		sz = 0;
	size_t		bad = 0;
	CatzStatus	st = catz_set_build(pats, n, &catz_malloc_allocator, &set, &sz, &bad);

	CHECK(st == CATZ_OK);
	if (st != CATZ_OK)
		return NULL;
	CHECK(catz_set_validate(set, sz) == CATZ_OK);
	if (size)
		*size = sz;
	return set;
}

/* Match text and compare with the oracle; returns true if they agree */
static bool
matches_oracle(const CatzSet *set, const CatzPatternInput *pats, size_t n,
			   const char *text)
{
	OccList		got = {0};
	OccList		want = {0};
	bool		same;

	catz_set_match(set, text, strlen(text), occ_collect, &got);
	brute_match(pats, n, text, strlen(text), &want);
	same = occ_equal(&got, &want);
	if (!same)
	{
		fprintf(stderr, "mismatch on \"%s\": got %zu, want %zu\n", text, got.n, want.n);
		for (size_t i = 0; i < got.n; i++)
			fprintf(stderr, "  got  e=%u [%u,%u)\n", got.v[i].entry, got.v[i].start, got.v[i].end);
		for (size_t i = 0; i < want.n; i++)
			fprintf(stderr, "  want e=%u [%u,%u)\n", want.v[i].entry, want.v[i].start, want.v[i].end);
	}
	occ_free(&got);
	occ_free(&want);
	return same;
}

/* Does the list hold exactly this occurrence, once? */
static int
occ_count(const OccList *list, uint32_t entry, uint32_t start, uint32_t end)
{
	int			n = 0;

	for (size_t i = 0; i < list->n; i++)
		if (list->v[i].entry == entry && list->v[i].start == start &&
			list->v[i].end == end)
			n++;
	return n;
}

/* Status names are stable */
static void
test_status_strings(void)
{
	CHECK(strcmp(catz_status_string(CATZ_OK), "success") == 0);
	CHECK(strcmp(catz_status_string(CATZ_ENOMEM), "out of memory") == 0);
	CHECK(strcmp(catz_status_string(CATZ_EINVAL), "invalid input") == 0);
	CHECK(strcmp(catz_status_string(CATZ_ETOOBIG), "result too large") == 0);
	CHECK(strcmp(catz_status_string(CATZ_ECORRUPT), "corrupt data") == 0);
	CHECK(strcmp(catz_status_string((CatzStatus) 99), "unknown status") == 0);
}

/* The hash is pinned (blobs depend on it) and sensitive to every input */
static void
test_hash(void)
{
	static const char text[] = "the quick brown fox jumps over the lazy dog";
	static const uint64_t pinned[] = {
		UINT64_C(0x4ef1d4054000f342),	/* "" */
		UINT64_C(0xf7d70cccfa0ace0c),	/* "t" */
		UINT64_C(0xcdf74ded9fd0923a),	/* "the " */
		UINT64_C(0xd2661006c99e316e),	/* "the quic" */
		UINT64_C(0x22265816fa0ccbed),	/* "the quick brown" */
		UINT64_C(0x2ff531a615676577),	/* the whole text */
	};
	static const size_t lens[] = {0, 1, 4, 8, 15, sizeof(text) - 1};
	int			flips[64] = {0};
	int			trials = 0;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
	{
		uint64_t	h = catz_hash_bytes(text, lens[i], 0);

		if (h != pinned[i])
			fprintf(stderr, "hash of %zu bytes: 0x%016llx\n", lens[i],
					(unsigned long long) h);
		CHECK(h == pinned[i]);
	}

	/* Seed, length (trailing NUL) and alignment all matter or not as due */
	CHECK(catz_hash_bytes("abc", 3, 1) != catz_hash_bytes("abc", 3, 2));
	CHECK(catz_hash_bytes("a\0", 2, 0) != catz_hash_bytes("a", 1, 0));
	{
		char		buf[64];

		memcpy(buf + 3, text, 20);
		CHECK(catz_hash_bytes(buf + 3, 20, 7) == catz_hash_bytes(text, 20, 7));
	}

	/* Avalanche: flipping one input bit flips each output bit about half
	 * the time */
	for (int t = 0; t < 400; t++)
	{
		unsigned char buf[24];
		size_t		len = 1 + rng_below(sizeof(buf));
		uint64_t	h0;
		uint64_t	diff;
		size_t		bit;

		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char) rng_next();
		h0 = catz_hash_bytes(buf, len, 0);
		bit = rng_below((uint32_t) len * 8);
		buf[bit / 8] ^= (unsigned char) (1u << (bit % 8));
		diff = h0 ^ catz_hash_bytes(buf, len, 0);
		for (int b = 0; b < 64; b++)
			flips[b] += (int) ((diff >> b) & 1);
		trials++;
	}
	for (int b = 0; b < 64; b++)
		CHECK(flips[b] > trials * 35 / 100 && flips[b] < trials * 65 / 100);
}

/* An empty set builds, validates and matches nothing */
static void
test_empty_set(void)
{
	size_t		size;
	CatzSet    *set = build_ok(NULL, 0, &size);
	OccList		got = {0};

	if (!set)
		return;
	CHECK(catz_set_count(set) == 0);
	CHECK(catz_set_regex_count(set) == 0);
	CHECK(catz_set_entry(set, 0) == NULL);
	CHECK(catz_set_match(set, "a b c", 5, occ_collect, &got) == 3);
	CHECK(got.n == 0);
	CHECK(catz_set_match(set, "", 0, occ_collect, &got) == 0);
	CHECK(catz_set_match(set, "   ", 3, occ_collect, &got) == 0);
	occ_free(&got);
	free(set);
}

/* Overlapping, nested and duplicate patterns are all reported */
static void
test_basic_match(void)
{
	CatzPatternInput pats[] = {
		pattern(1, "starbucks"),
		pattern(2, "starbucks coffee"),
		pattern(3, "coffee"),
		pattern(4, "coffee"),	/* same value, another category */
		pattern(5, "coffee shop"),
		pattern(6, "shop"),
		pattern(7, "bucks"),
	};
	const char *text = "the starbucks coffee shop";
	CatzSet    *set = build_ok(pats, 7, NULL);
	OccList		got = {0};

	if (!set)
		return;
	CHECK(catz_set_match(set, text, strlen(text), occ_collect, &got) == 4);
	CHECK(got.n == 6);
	CHECK(occ_count(&got, 0, 1, 2) == 1);
	CHECK(occ_count(&got, 1, 1, 3) == 1);
	CHECK(occ_count(&got, 2, 2, 3) == 1);
	CHECK(occ_count(&got, 3, 2, 3) == 1);
	CHECK(occ_count(&got, 4, 2, 4) == 1);
	CHECK(occ_count(&got, 5, 3, 4) == 1);
	CHECK(matches_oracle(set, pats, 7, text));
	CHECK(matches_oracle(set, pats, 7, "starbuckscoffee bucks"));
	occ_free(&got);
	free(set);
}

/* Occurrences come by end word, longest first, then in entry order */
static void
test_report_order(void)
{
	CatzPatternInput pats[] = {
		pattern(1, "b c"), pattern(2, "a b c"), pattern(3, "c"),
		pattern(4, "c"), pattern(5, "b c"), pattern(6, "a"),
	};
	static const Occ want[] = {
		{5, 0, 1}, {1, 0, 3}, {0, 1, 3}, {4, 1, 3}, {2, 2, 3}, {3, 2, 3},
	};
	CatzSet    *set = build_ok(pats, 6, NULL);
	OccList		got = {0};

	if (!set)
		return;
	catz_set_match(set, "a b c", 5, occ_collect, &got);
	CHECK(got.n == 6);
	for (size_t i = 0; i < got.n && i < 6; i++)
		CHECK(got.v[i].entry == want[i].entry && got.v[i].start == want[i].start &&
			  got.v[i].end == want[i].end);
	occ_free(&got);
	free(set);
}

/* Prefixes, suffixes, infixes and failure chains several links deep */
static void
test_overlaps(void)
{
	CatzPatternInput pats[] = {
		pattern(1, "a b c d"),
		pattern(2, "b c"),
		pattern(3, "a b"),
		pattern(4, "c d"),
		pattern(5, "b c d e"),
		pattern(6, "d"),
		pattern(7, "a b c d e f"),
		pattern(8, "c d e f g"),
	};
	const char *texts[] = {
		"a b c d e f g",
		"a b c a b c d e",
		"x a b x b c d x c d e f g",
		"a a b b c c d d",
		"d d d",
	};
	CatzSet    *set = build_ok(pats, 8, NULL);

	if (!set)
		return;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		CHECK(matches_oracle(set, pats, 8, texts[i]));
	free(set);
}

/* Repeated words: "la la" occurs twice in "la la la" */
static void
test_repeated_words(void)
{
	CatzPatternInput pats[] = {
		pattern(1, "la"),
		pattern(2, "la la"),
		pattern(3, "la la la la"),
		pattern(4, "la land"),
	};
	CatzSet    *set = build_ok(pats, 4, NULL);
	OccList		got = {0};

	if (!set)
		return;
	catz_set_match(set, "la la la", 8, occ_collect, &got);
	CHECK(got.n == 5);
	CHECK(occ_count(&got, 1, 0, 2) == 1);
	CHECK(occ_count(&got, 1, 1, 3) == 1);
	CHECK(matches_oracle(set, pats, 4, "la la la la la land la"));
	occ_free(&got);
	free(set);
}

/* Unknown words reset the automaton; spacing in text does not matter */
static void
test_unknown_words_and_spacing(void)
{
	CatzPatternInput pats[] = {
		pattern(1, "shell oil"),
		pattern(2, "oil"),
		pattern(3, "shell"),
	};
	CatzSet    *set = build_ok(pats, 3, NULL);
	OccList		got = {0};

	if (!set)
		return;
	CHECK(matches_oracle(set, pats, 3, "shell xyz oil"));
	CHECK(matches_oracle(set, pats, 3, "  shell   oil  "));
	CHECK(catz_set_match(set, "shell oilx shel oil", 19, occ_collect, &got) == 4);
	CHECK(got.n == 2);
	occ_free(&got);
	free(set);
}

/* Entry fields and values are kept, in input order */
static void
test_entry_fields(void)
{
	CatzPatternInput pats[3];
	CatzSet    *set;
	const CatzEntry *e;
	uint32_t	len;
	const char *lit;

	pats[0] = pattern(11, "amazon mktp");
	pats[0].owner_id = 42;
	pats[0].amount_min = 1.5;
	pats[0].amount_max = 99.25;
	pats[0].hits = 7;
	pats[0].misses = 2;
	pats[0].priority = -3;
	pats[0].flags = CATZ_PF_OWNER | CATZ_PF_AMOUNT_MIN | CATZ_PF_AMOUNT_MAX;
	pats[0].kind = CATZ_KIND_KEYWORD;
	pats[1] = pattern(12, "^amzn.*(mktp|marketplace)");
	pats[1].kind = CATZ_KIND_REGEX;
	pats[2] = pattern(13, "uber");
	pats[2].flags = CATZ_PF_LEARNED;

	set = build_ok(pats, 3, NULL);
	if (!set)
		return;
	CHECK(catz_set_count(set) == 3);
	e = catz_set_entry(set, 0);
	CHECK(e->pattern_id == 11 && e->category_id == 110 && e->owner_id == 42);
	CHECK(e->amount_min == 1.5 && e->amount_max == 99.25);
	CHECK(e->hits == 7 && e->misses == 2 && e->priority == -3);
	CHECK(e->kind == CATZ_KIND_KEYWORD && e->nwords == 2);
	CHECK(e->flags == (CATZ_PF_OWNER | CATZ_PF_AMOUNT_MIN | CATZ_PF_AMOUNT_MAX));
	CHECK_BYTES(catz_entry_value(set, e), e->value_len, "amazon mktp");
	e = catz_set_entry(set, 1);
	CHECK(e->kind == CATZ_KIND_REGEX && e->nwords == 0);
	CHECK_BYTES(catz_entry_value(set, e), e->value_len, "^amzn.*(mktp|marketplace)");
	e = catz_set_entry(set, 2);
	CHECK(e->pattern_id == 13 && e->nwords == 1 && e->flags == CATZ_PF_LEARNED);
	CHECK(catz_set_entry(set, 3) == NULL);

	CHECK(catz_set_regex_count(set) == 1);
	CHECK(catz_set_regex_entry(set, 0) == 1);
	lit = catz_set_regex_literal(set, 0, &len);
	CHECK_BYTES(lit, len, "amzn");

	/* A regex is never matched by the automaton, even if it is a word */
	CHECK(matches_oracle(set, pats, 3, "amzn mktp amazon mktp uber"));
	free(set);
}

/* A regex pattern with the given id and value */
static CatzPatternInput
regex_pattern(int64_t id, const char *value)
{
	CatzPatternInput p = pattern(id, value);

	p.kind = CATZ_KIND_REGEX;
	return p;
}

/* The regexes catz_set_regex_next lets through for texts, as a bit mask */
static uint32_t
regexes_let_through(const CatzSet *set, const char *const *texts, int ntexts)
{
	CatzTrigramSet sets[2];
	uint32_t	mask = 0;
	uint32_t	n = catz_set_regex_count(set);

	for (int t = 0; t < ntexts; t++)
		catz_trigrams_of(texts[t], strlen(texts[t]), &sets[t]);
	for (uint32_t r = catz_set_regex_next(set, 0, sets, ntexts); r < n;
		 r = catz_set_regex_next(set, r + 1, sets, ntexts))
		mask |= UINT32_C(1) << r;
	return mask;
}

/*
 * The set's regex prefilter: a regex whose required literal is in a text
 * (in any case) is let through, one without a literal of 3 bytes or more
 * always is, and one whose literal is in no text is held back (no false
 * negatives; false positives are possible in principle, not with texts
 * this short)
 */
static void
test_regex_prefilter(void)
{
	CatzPatternInput pats[4] = {
		regex_pattern(1, "^amzn.*mktp"),
		pattern(2, "lyft"),
		regex_pattern(3, "uber +eats"),
		regex_pattern(4, "^a.b"),
	};
	const char *amazon[1] = {"AMZN Mktp US*2K4"};
	const char *both[2] = {"lyft ride", "UBER   EATS 123"};
	const char *neither[2] = {"lyft ride", "coffee"};
	CatzSet    *set = build_ok(pats, 4, NULL);

	if (!set)
		return;
	CHECK(catz_set_regex_count(set) == 3);
	/* regex 0 is "^amzn.*mktp", 1 "uber +eats", 2 "^a.b" (no literal) */
	CHECK(regexes_let_through(set, amazon, 1) == 0x5);
	CHECK(regexes_let_through(set, both, 2) == 0x6);
	CHECK(regexes_let_through(set, neither, 2) == 0x4);
	CHECK(regexes_let_through(set, neither, 0) == 0x4);
	CHECK(catz_set_regex_next(set, 3, NULL, 0) == 3);
	free(set);

	/* random literals and texts: what occurs is always let through */
	for (int round = 0; round < 200; round++)
	{
		CatzPatternInput rx[8];
		char		values[8][16];
		char		text[64];
		const char *texts[1] = {text};
		uint32_t	through;

		for (int i = 0; i < 8; i++)
		{
			int			len = 3 + (int) rng_below(5);

			for (int k = 0; k < len; k++)
				values[i][k] = (char) ('a' + rng_below(3));
			values[i][len] = '\0';
			rx[i] = regex_pattern(i + 1, values[i]);
		}
		for (int k = 0; k < 40; k++)
			text[k] = (char) ((rng_below(2) ? 'a' : 'A') + rng_below(3));
		text[40] = '\0';
		set = build_ok(rx, 8, NULL);
		if (!set)
			return;
		through = regexes_let_through(set, texts, 1);
		for (uint32_t r = 0; r < catz_set_regex_count(set); r++)
		{
			uint32_t	len;
			const char *lit = catz_set_regex_literal(set, r, &len);

			if (catz_contains_ci(text, 40, lit, len))
				CHECK(through & (UINT32_C(1) << r));
		}
		free(set);
	}
}

/* Invalid patterns are rejected with their index */
static void
test_invalid_patterns(void)
{
	char		long_value[CATZ_MAX_PATTERN_BYTES + 2];
	char		many_words[2 * (CATZ_MAX_PATTERN_WORDS + 1)];
	CatzPatternInput pats[2];
	CatzSet    *set = (CatzSet *) &pats;	/* must be reset to NULL */
	size_t		bad = 99;

	memset(long_value, 'a', sizeof(long_value));
	for (size_t i = 0; i < sizeof(many_words); i += 2)
	{
		many_words[i] = 'w';
		many_words[i + 1] = ' ';
	}

	pats[0] = pattern(1, "fine");
	pats[1] = pattern(2, "");
	CHECK(catz_set_build(pats, 2, &catz_malloc_allocator, &set, NULL, &bad) == CATZ_EINVAL);
	CHECK(bad == 1 && set == NULL);

	pats[1] = pattern(2, "   ");
	CHECK(catz_set_build(pats, 2, &catz_malloc_allocator, &set, NULL, &bad) == CATZ_EINVAL);
	CHECK(bad == 1);

	pats[1].value = long_value;
	pats[1].value_len = CATZ_MAX_PATTERN_BYTES + 1;
	CHECK(catz_set_build(pats, 2, &catz_malloc_allocator, &set, NULL, &bad) == CATZ_EINVAL);
	CHECK(bad == 1);

	pats[1].value = many_words;
	pats[1].value_len = sizeof(many_words) - 1;
	CHECK(catz_set_build(pats, 2, &catz_malloc_allocator, &set, NULL, &bad) == CATZ_EINVAL);
	CHECK(bad == 1);

	pats[1].value_len = 2 * CATZ_MAX_PATTERN_WORDS - 1;	/* exactly the limit */
	CHECK(catz_set_build(pats, 2, &catz_malloc_allocator, &set, NULL, &bad) == CATZ_OK);
	free(set);

	pats[0].kind = 3;
	CHECK(catz_set_build(pats, 2, &catz_malloc_allocator, &set, NULL, &bad) == CATZ_EINVAL);
	CHECK(bad == 0);

	pats[0] = pattern(1, "x");
	pats[0].value = NULL;
	CHECK(catz_set_build(pats, 1, &catz_malloc_allocator, &set, NULL, NULL) == CATZ_EINVAL);
	CHECK(catz_set_build(NULL, 1, &catz_malloc_allocator, &set, NULL, NULL) == CATZ_EINVAL);

	/* The longest word and value allowed */
	pats[0].value = long_value;
	pats[0].value_len = CATZ_MAX_PATTERN_BYTES;
	set = build_ok(pats, 1, NULL);
	if (set)
	{
		OccList		got = {0};

		catz_set_match(set, long_value, CATZ_MAX_PATTERN_BYTES, occ_collect, &got);
		CHECK(got.n == 1);
		occ_free(&got);
		free(set);
	}
}

/* The callback can stop the scan; the word count still covers the text */
static bool
stop_after_first(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	(void) entry;
	(void) start;
	(void) end;
	(*(int *) arg)++;
	return false;
}

/* Stopping early */
static void
test_stop_early(void)
{
	CatzPatternInput pats[] = {pattern(1, "a"), pattern(2, "a")};
	CatzSet    *set = build_ok(pats, 2, NULL);
	int			calls = 0;
	char		text[200] = "";

	if (!set)
		return;
	CHECK(catz_set_match(set, "b a a c", 7, stop_after_first, &calls) == 4);
	CHECK(calls == 1);

	/* Stop in the middle of a long text */
	for (int i = 0; i < 50; i++)
		strcat(text, i == 20 ? "a " : "b ");
	calls = 0;
	CHECK(catz_set_match(set, text, strlen(text), stop_after_first, &calls) == 50);
	CHECK(calls == 1);
	free(set);
}

/*
 * More occurrences in one batch of words than match_texts() queues before
 * reporting: all come, in order (end word, then entry), and a callback that
 * stops in the middle of the queue is called no more.
 */
static void
test_many_occurrences(void)
{
	enum
	{
		NPATS = 150
	};
	CatzPatternInput pats[NPATS];
	CatzSet    *set;
	OccList		got = {0};
	int			calls = 0;
	bool		ordered = true;

	for (int i = 0; i < NPATS; i++)
		pats[i] = pattern(i + 1, i % 3 == 0 ? "a b" : "b");
	set = build_ok(pats, NPATS, NULL);
	if (!set)
		return;
	CHECK(catz_set_match(set, "a b c b", 7, occ_collect, &got) == 4);
	CHECK(got.n == NPATS / 3 + 2 * (NPATS - NPATS / 3));
	for (size_t k = 1; k < got.n; k++)
		if (got.v[k - 1].end > got.v[k].end)
			ordered = false;
	CHECK(ordered);
	occ_free(&got);
	CHECK(catz_set_match(set, "a b c b", 7, stop_after_first, &calls) == 4);
	CHECK(calls == 1);
	free(set);
}

/* Several texts at once report what each text alone does, in order */
static void
test_match_texts(void)
{
	CatzPatternInput pats[] = {pattern(1, "a b"), pattern(2, "b"), pattern(3, "b c"),
	pattern(4, "a"), pattern(5, "c a b")};
	CatzSet    *set = build_ok(pats, 5, NULL);
	CatzMatchText t3[] = {{"a", 1}, {"b c a", 5}, {"", 0}};
	CatzMatchText none[] = {{"", 0}, {"   ", 3}};
	CatzMatchText one[] = {{"c a b", 5}};
	OccList		lists[2] = {{0}};
	OccTexts	t = {NULL, lists, 2};
	char		long_text[200] = "";
	CatzMatchText two_long[2];

	if (!set)
		return;
	t.set = set;

	/* A pattern never spans two texts: "a" + "b c a" has no "a b" */
	catz_set_match_texts(set, t3, 2, occ_collect_texts, &t);
	CHECK(lists[0].n == 1 && lists[0].v[0].entry == 3);
	CHECK(occ_count(&lists[1], 0, 2, 3) == 0 && occ_count(&lists[1], 1, 0, 1) == 1 &&
		  occ_count(&lists[1], 2, 0, 2) == 1 && occ_count(&lists[1], 3, 2, 3) == 1);
	occ_free(&lists[0]);
	occ_free(&lists[1]);

	CHECK(texts_match_alone(set, t3, 3));
	CHECK(texts_match_alone(set, none, 2));
	CHECK(texts_match_alone(set, one, 1));
	CHECK(texts_match_alone(set, t3, 0));

	/* More words than one lookup batch, the texts' words sharing batches */
	for (int i = 0; i < 40; i++)
		strcat(long_text, i % 3 == 0 ? "a b " : i % 3 == 1 ? "x " : "c a b ");
	two_long[0].text = long_text;
	two_long[0].len = strlen(long_text);
	two_long[1] = two_long[0];
	CHECK(texts_match_alone(set, two_long, 2));
	free(set);
}

/* Building twice gives the same bytes */
static void
test_deterministic(void)
{
	CatzPatternInput pats[] = {
		pattern(1, "b a"), pattern(2, "a"), pattern(3, "c b a"),
		pattern(4, "x.*y"),
	};
	size_t		s1;
	size_t		s2;
	CatzSet    *a;
	CatzSet    *b;

	pats[3].kind = CATZ_KIND_REGEX;
	a = build_ok(pats, 4, &s1);
	b = build_ok(pats, 4, &s2);
	if (!a || !b)
		return;
	CHECK(s1 == s2 && memcmp(a, b, s1) == 0);
	free(a);
	free(b);
}

/* Random word from a tiny vocabulary, so that patterns collide often */
static const char *
small_word(uint32_t vocab)
{
	static const char *words[] = {"a", "b", "la", "c", "dd", "e", "zz", "f"};

	return words[rng_below(vocab)];
}

/* Random sets and texts agree with the brute-force oracle */
static void
test_differential_random(void)
{
	enum
	{
		ROUNDS = 3000
	};
	int			failures = 0;

	for (int round = 0; round < ROUNDS && failures < 3; round++)
	{
		CatzPatternInput pats[16];
		char		values[16][64];
		char		text[512];
		size_t		npats = 1 + rng_below(16);
		uint32_t	vocab = 2 + rng_below(6);
		CatzSet    *set;

		for (size_t p = 0; p < npats; p++)
		{
			size_t		len = 0;
			uint32_t	nw = 1 + rng_below(rng_below(2) ? 2 : 6);

			for (uint32_t w = 0; w < nw; w++)
				len += (size_t) sprintf(values[p] + len, "%s%s", w ? " " : "",
										small_word(vocab));
			pats[p] = pattern((int64_t) p, values[p]);
			if (rng_below(10) == 0)
				pats[p].kind = CATZ_KIND_REGEX;
			else if (rng_below(2))
				pats[p].kind = CATZ_KIND_KEYWORD;
		}
		set = build_ok(pats, npats, NULL);
		if (!set)
			return;

		for (int t = 0; t < 8; t++)
		{
			size_t		len = 0;
			uint32_t	nw = rng_below(40);

			for (uint32_t w = 0; w < nw; w++)
				len += (size_t) sprintf(text + len, "%s%s",
										(w || rng_below(4) == 0) ? " " : "",
										small_word(vocab + 1));
			if (!matches_oracle(set, pats, npats, text))
			{
				CHECK(!"automaton disagrees with the oracle");
				failures++;
			}
			else
			{
				/* The text cut in two at a space, matched together */
				const char *cut = memchr(text + len / 2, ' ', len - len / 2);
				size_t		head = cut ? (size_t) (cut - text) : len;
				CatzMatchText halves[2] = {{text, head}, {text + head, len - head}};

				if (!texts_match_alone(set, halves, 2))
				{
					CHECK(!"texts matched together disagree with each alone");
					failures++;
				}
			}
		}
		free(set);
	}
}

/* Every allocation failure gives CATZ_ENOMEM and frees everything */
static void
test_failing_allocator(void)
{
	enum
	{
		NPATS = 300
	};
	static CatzPatternInput pats[NPATS];
	static char values[NPATS][48];
	FailingAlloc fa = {.remaining = -1};
	CatzAllocator alloc = {failing_alloc, failing_free, &fa};
	CatzSet    *set;
	long		needed;

	/* Enough distinct words to grow the dictionary several times */
	for (int i = 0; i < NPATS; i++)
	{
		sprintf(values[i], "w%d w%d w%d", i % 97, (i * 7) % 101, i);
		pats[i] = pattern(i, values[i]);
		if (i % 50 == 0)
			pats[i].kind = CATZ_KIND_REGEX;
	}
	CHECK(catz_set_build(pats, NPATS, &alloc, &set, NULL, NULL) == CATZ_OK);
	needed = fa.total;
	CHECK(fa.live == 1);
	alloc.free(alloc.ctx, set);
	CHECK(needed > 10);

	for (long n = 0; n < needed; n++)
	{
		fa.remaining = n;
		fa.live = 0;
		set = (CatzSet *) &fa;
		CHECK(catz_set_build(pats, NPATS, &alloc, &set, NULL, NULL) == CATZ_ENOMEM);
		CHECK(set == NULL);
		CHECK(fa.live == 0);
	}
	fa.remaining = needed;
	fa.live = 0;
	CHECK(catz_set_build(pats, NPATS, &alloc, &set, NULL, NULL) == CATZ_OK);
	CHECK(fa.live == 1);
	if (set)
		alloc.free(alloc.ctx, set);
}

/* Counts matches without storing them */
static bool
count_cb(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	(void) entry;
	(void) start;
	(void) end;
	(*(uint64_t *) arg)++;
	return true;
}

/* What a match over a validated blob must respect */
typedef struct SaneCtx
{
	const CatzSet *set;
	uint32_t	text_words;
	bool		sane;
} SaneCtx;

/* Check one reported occurrence against the set and the text */
static bool
sane_cb(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	SaneCtx    *ctx = arg;
	const CatzEntry *e = catz_set_entry(ctx->set, entry);

	if (e == NULL || e->kind == CATZ_KIND_REGEX || start >= end ||
		end > ctx->text_words || end - start != e->nwords)
		ctx->sane = false;
	return true;
}

/* Match a copy of a possibly corrupted blob if it validates */
static void
validate_and_match(const unsigned char *bytes, size_t size, CatzStatus want)
{
	uint64_t   *copy = malloc(size + 8);	/* 8-byte aligned */
	CatzStatus	st;

	memcpy(copy, bytes, size);
	st = catz_set_validate(copy, size);
	if (want != CATZ_OK)
		CHECK(st == want);
	if (st == CATZ_OK)
	{
		const CatzSet *set = (const CatzSet *) copy;
		SaneCtx		ctx = {set, 9, true};
		uint64_t	n = 0;
		uint32_t	len;

		CHECK(catz_set_match(set, "a b a b c d a b c", 17, sane_cb, &ctx) == 9);
		CHECK(ctx.sane);
		for (uint32_t i = 0; i < catz_set_count(set); i++)
			n += catz_set_entry(set, i)->value_len;
		for (uint32_t i = 0; i < catz_set_regex_count(set); i++)
			n += catz_set_regex_entry(set, i) + (catz_set_regex_literal(set, i, &len) != NULL);
		(void) n;
	}
	free(copy);
}

/* Truncated, misaligned and corrupted blobs are caught */
static void
test_validate_corruption(void)
{
	CatzPatternInput pats[] = {
		pattern(1, "a b"), pattern(2, "b c"), pattern(3, "a b c d"),
		pattern(4, "c"), pattern(5, "b.*c"),
	};
	size_t		size;
	CatzSet    *set;
	unsigned char *bytes;
	char	   *shifted;

	pats[4].kind = CATZ_KIND_REGEX;
	set = build_ok(pats, 5, &size);
	if (!set)
		return;
	bytes = (unsigned char *) set;

	CHECK(catz_set_validate(NULL, size) == CATZ_ECORRUPT);
	for (size_t len = 0; len < size; len++)
		validate_and_match(bytes, len, CATZ_ECORRUPT);

	/* A blob must be 8-byte aligned */
	shifted = malloc(size + 1);
	memcpy(shifted + 1, bytes, size);
	CHECK(catz_set_validate(shifted + 1, size) == CATZ_ECORRUPT);
	free(shifted);

	/* Every single-byte change either fails validation or is harmless */
	for (size_t pos = 0; pos < size; pos++)
	{
		static const unsigned char deltas[] = {0x01, 0x80, 0xFF, 0x10};

		for (size_t d = 0; d < sizeof(deltas); d++)
		{
			bytes[pos] ^= deltas[d];
			validate_and_match(bytes, size, CATZ_OK);
			bytes[pos] ^= deltas[d];
		}
	}

	/* Random multi-byte damage */
	for (int t = 0; t < 2000; t++)
	{
		unsigned char *copy = malloc(size);

		memcpy(copy, bytes, size);
		for (int k = 1 + (int) rng_below(4); k > 0; k--)
			copy[rng_below((uint32_t) size)] = (unsigned char) rng_next();
		validate_and_match(copy, size, CATZ_OK);
		free(copy);
	}
	CHECK(catz_set_validate(set, size) == CATZ_OK);
	free(set);
}

/* Large inputs: a 1 MB text and 100k-word texts, with many outputs */
static void
test_large_texts(void)
{
	enum
	{
		TEXT_BYTES = 1 << 20
	};
	char		la64[64 * 3];
	CatzPatternInput pats[4];
	char	   *text = malloc(TEXT_BYTES);
	CatzSet    *set;
	uint64_t	n = 0;
	uint32_t	words;

	for (int i = 0; i < 64; i++)
		memcpy(la64 + 3 * i, "la ", 3);
	pats[0] = pattern(1, "la");
	pats[1] = pattern(2, "la la");
	pats[2] = pattern(3, "la");
	pats[2].value = la64;
	pats[2].value_len = 64 * 3 - 1;	/* 64 words */
	pats[3] = pattern(4, "lo");
	set = build_ok(pats, 4, NULL);
	if (!set)
	{
		free(text);
		return;
	}

	/* "la la la ..." : 349,525 words, each a match of several patterns */
	for (size_t i = 0; i + 3 <= TEXT_BYTES; i += 3)
		memcpy(text + i, "la ", 3);
	words = catz_set_match(set, text, TEXT_BYTES - TEXT_BYTES % 3, count_cb, &n);
	CHECK(words == TEXT_BYTES / 3);
	CHECK(n == (uint64_t) words + (words - 1) + (words - 63));

	/* 100k words, one unknown every other word: no long matches */
	n = 0;
	for (size_t i = 0; i < 100000; i++)
		memcpy(text + 3 * i, i % 2 ? "xy " : "la ", 3);
	words = catz_set_match(set, text, 300000, count_cb, &n);
	CHECK(words == 100000 && n == 50000);

	/* One 1 MB word is just unknown */
	memset(text, 'l', TEXT_BYTES);
	n = 0;
	CHECK(catz_set_match(set, text, TEXT_BYTES, count_cb, &n) == 1 && n == 0);

	free(set);
	free(text);
}

/* Many patterns sharing words: dictionary growth and deep failure chains */
static void
test_many_patterns(void)
{
	enum
	{
		NPATS = 5000
	};
	static CatzPatternInput pats[NPATS];
	static char values[NPATS][64];
	CatzSet    *set;
	char		text[4096];

	for (int i = 0; i < NPATS; i++)
	{
		int			nw = 1 + (int) rng_below(4);
		size_t		len = 0;

		for (int w = 0; w < nw; w++)
			len += (size_t) sprintf(values[i] + len, "%sw%u", w ? " " : "",
									rng_below(w == 0 ? 3000 : 30));
		pats[i] = pattern(i, values[i]);
	}
	set = build_ok(pats, NPATS, NULL);
	if (!set)
		return;
	for (int t = 0; t < 50; t++)
	{
		size_t		len = 0;

		for (int w = 0; w < 60; w++)
			len += (size_t) sprintf(text + len, "%sw%u", w ? " " : "",
									rng_below(rng_below(2) ? 30 : 3000));
		CHECK(matches_oracle(set, pats, NPATS, text));
	}
	free(set);
}

int
main(void)
{
	UNIT_RUN(test_status_strings);
	UNIT_RUN(test_hash);
	UNIT_RUN(test_empty_set);
	UNIT_RUN(test_basic_match);
	UNIT_RUN(test_report_order);
	UNIT_RUN(test_overlaps);
	UNIT_RUN(test_repeated_words);
	UNIT_RUN(test_unknown_words_and_spacing);
	UNIT_RUN(test_entry_fields);
	UNIT_RUN(test_regex_prefilter);
	UNIT_RUN(test_invalid_patterns);
	UNIT_RUN(test_stop_early);
	UNIT_RUN(test_many_occurrences);
	UNIT_RUN(test_match_texts);
	UNIT_RUN(test_deterministic);
	UNIT_RUN(test_differential_random);
	UNIT_RUN(test_failing_allocator);
	UNIT_RUN(test_validate_corruption);
	UNIT_RUN(test_large_texts);
	UNIT_RUN(test_many_patterns);
	UNIT_DONE("test_automaton");
}
