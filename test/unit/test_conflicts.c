/*-------------------------------------------------------------------------
 *
 * test_conflicts.c
 *	  Unit tests of rule conflicts (conflicts.c).
 *
 * Hand-written cases for each kind of conflict and each reason, and a
 * randomized differential test: on small vocabularies, the pairs the
 * compiled-set search reports must be exactly the pairs a quadratic
 * comparison finds (one's words inside the other's value, different
 * categories, a common owner and amount), every "shadowed" claim must hold
 * by the definition, and every duplicate must be one.  A failing allocator
 * checks that allocation failures are reported and leak nothing.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "unit.h"
#include "failing_alloc.h"

#define MAXC 4096

/* What the callbacks collected */
typedef struct Found
{
	CatzConflict c[MAXC];
	char		example[MAXC][64];
	int			n;
	int			stop_after;		/* 0: never stop */
	int			regex_calls;
} Found;

/* The patterns of the current run, for the fake regex engine */
static const CatzPatternInput *current_patterns;

/* Test regex engine: a regex "matches" a text containing it (ignoring case), never if it starts with '!' */
static bool
fake_regex(void *arg, uint32_t index, const char *text, size_t len, uint32_t *matched)
{
	Found	   *f = arg;
	const CatzPatternInput *p = &current_patterns[index];

	f->regex_calls++;
	if (p->value_len > 0 && p->value[0] == '!')
		return false;
	if (!catz_contains_ci(text, len, p->value, p->value_len))
		return false;
	*matched = p->value_len;
	return true;
}

/* Collect a conflict */
static bool
collect(void *arg, const CatzConflict *c)
{
	Found	   *f = arg;

	if (f->n < MAXC)
	{
		f->c[f->n] = *c;
		f->example[f->n][0] = '\0';
		if (c->example)
			snprintf(f->example[f->n], sizeof(f->example[0]), "%.*s",
					 (int) c->example_len, c->example);
		f->n++;
	}
	return f->stop_after == 0 || f->n < f->stop_after;
}

/* Run the search over pats */
static CatzStatus
run(const CatzPatternInput *pats, size_t n, const bool *impossible, Found *f,
	const CatzAllocator *alloc)
{
	CatzConflictCallbacks cb = {fake_regex, collect, NULL, f};

	f->n = 0;
	current_patterns = pats;
	return catz_conflicts_find(pats, n, impossible, &cb, alloc ? alloc : &catz_malloc_allocator);
}

/* A pattern */
static CatzPatternInput
pat(int64_t id, uint8_t kind, const char *value, int64_t category)
{
	CatzPatternInput p;

	memset(&p, 0, sizeof(p));
	p.pattern_id = id;
	p.category_id = category;
	p.kind = kind;
	p.value = value;
	p.value_len = (uint32_t) strlen(value);
	return p;
}

/* The conflict with this overruled pattern and decider, or NULL */
static const CatzConflict *
find(const Found *f, uint32_t pattern, uint32_t decider, const char **example)
{
	int			i;

	for (i = 0; i < f->n; i++)
		if (f->c[i].pattern == pattern && f->c[i].decider == decider)
		{
			if (example)
				*example = f->example[i];
			return &f->c[i];
		}
	return NULL;
}

/* A keyword of higher priority shadows a merchant pattern containing it */
static void
test_shadowed(void)
{
	static Found f;
	CatzPatternInput p[2];
	const CatzConflict *c;
	const char *ex = NULL;

	p[0] = pat(1, CATZ_KIND_KEYWORD, "coffee", 1);
	p[0].priority = 5;
	p[1] = pat(2, CATZ_KIND_MERCHANT, "starbucks coffee", 2);
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 1);
	c = find(&f, 1, 0, &ex);
	CHECK(c != NULL);
	if (c)
	{
		CHECK(c->kind == CATZ_CONFLICT_SHADOWED);
		CHECK(c->why == CATZ_WHY_PRIORITY);
		CHECK(!c->has_owner);
		CHECK(strcmp(ex, "starbucks coffee") == 0);
	}

	/* the same keyword at priority 0: the merchant decides its own name */
	p[0].priority = 0;
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 1);
	c = find(&f, 0, 1, NULL);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_OVERLAPPING && c->why == CATZ_WHY_KIND);
}

/* A longer merchant decides its name over a shorter one */
static void
test_overlapping(void)
{
	static Found f;
	CatzPatternInput p[2];
	const CatzConflict *c;

	p[0] = pat(1, CATZ_KIND_MERCHANT, "coffee", 1);
	p[1] = pat(2, CATZ_KIND_MERCHANT, "starbucks coffee", 2);
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 1);
	c = find(&f, 0, 1, NULL);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_OVERLAPPING && c->why == CATZ_WHY_EXACT);

	/* a merchant above a keyword of the same value: the keyword still sees descriptions */
	p[0] = pat(1, CATZ_KIND_KEYWORD, "tesco", 1);
	p[1] = pat(2, CATZ_KIND_MERCHANT, "tesco", 2);
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 1);
	c = find(&f, 0, 1, NULL);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_OVERLAPPING && c->why == CATZ_WHY_KIND);

	/* two merchants, same value: a full tie, the lower id decides everything */
	p[0] = pat(1, CATZ_KIND_MERCHANT, "tesco", 1);
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 1);
	c = find(&f, 1, 0, NULL);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_SHADOWED && c->why == CATZ_WHY_ID);

	/* a learned one beats the manual one */
	p[1].flags |= CATZ_PF_LEARNED;
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	c = find(&f, 0, 1, NULL);
	CHECK(f.n == 1 && c != NULL && c->kind == CATZ_CONFLICT_SHADOWED && c->why == CATZ_WHY_LEARNED);
}

/* Amount ranges: disjoint ones never meet; a narrower winner only overlaps */
static void
test_amounts(void)
{
	static Found f;
	CatzPatternInput p[2];
	const CatzConflict *c;

	p[0] = pat(1, CATZ_KIND_MERCHANT, "uber", 1);
	p[0].flags |= CATZ_PF_AMOUNT_MAX;
	p[0].amount_max = 10;
	p[1] = pat(2, CATZ_KIND_MERCHANT, "uber", 2);
	p[1].flags |= CATZ_PF_AMOUNT_MIN;
	p[1].amount_min = 20;
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 0);

	/* [0, 10] wins over an unbounded one by id, but covers only part of it */
	p[1].flags = 0;
	CHECK(run(p, 2, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 1);
	c = find(&f, 1, 0, NULL);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_OVERLAPPING);
}

/* An owner's pattern overrules everyone's for that owner; owners never meet */
static void
test_owners(void)
{
	static Found f;
	CatzPatternInput p[3];
	const CatzConflict *c;

	p[0] = pat(1, CATZ_KIND_MERCHANT, "shell", 4);
	p[1] = pat(2, CATZ_KIND_MERCHANT, "shell", 5);
	p[1].flags |= CATZ_PF_OWNER;
	p[1].owner_id = 7;
	p[2] = pat(3, CATZ_KIND_MERCHANT, "shell", 6);
	p[2].flags |= CATZ_PF_OWNER;
	p[2].owner_id = 8;
	CHECK(run(p, 3, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 2);
	c = find(&f, 0, 1, NULL);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_OVERLAPPING && c->why == CATZ_WHY_OWN &&
		  c->has_owner && c->owner_id == 7);
	c = find(&f, 0, 2, NULL);
	CHECK(c != NULL && c->has_owner && c->owner_id == 8);
	CHECK(find(&f, 1, 2, NULL) == NULL && find(&f, 2, 1, NULL) == NULL);
}

/* Duplicates: everyone's twice, an owner's repeating everyone's */
static void
test_duplicates(void)
{
	static Found f;
	CatzPatternInput p[4];
	const CatzConflict *c;
	const char *ex = NULL;
	int			i;
	int			dups = 0;

	p[0] = pat(1, CATZ_KIND_MERCHANT, "tesco", 3);
	p[1] = pat(2, CATZ_KIND_MERCHANT, "tesco", 3);
	p[1].flags |= CATZ_PF_LEARNED;
	p[2] = pat(3, CATZ_KIND_MERCHANT, "tesco", 3);
	p[2].flags |= CATZ_PF_LEARNED | CATZ_PF_OWNER;
	p[2].owner_id = 9;
	p[3] = pat(4, CATZ_KIND_KEYWORD, "tesco", 3);	/* another kind: no duplicate */
	CHECK(run(p, 4, NULL, &f, NULL) == CATZ_OK);
	for (i = 0; i < f.n; i++)
		if (f.c[i].kind == CATZ_CONFLICT_DUPLICATE)
			dups++;
	CHECK(dups == 2);
	CHECK(f.n == 2);			/* same category: no other conflict */
	c = find(&f, 0, 1, &ex);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_DUPLICATE && c->why == CATZ_WHY_LEARNED &&
		  strcmp(ex, "tesco") == 0);
	c = find(&f, 1, 2, NULL);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_DUPLICATE && c->why == CATZ_WHY_OWN &&
		  c->has_owner && c->owner_id == 9);
}

/* Patterns that can never match */
static void
test_never(void)
{
	static Found f;
	CatzPatternInput p[5];
	bool		impossible[5] = {false, false, true, false, false};
	char		longv[CATZ_MAX_PATTERN_BYTES + 2];
	const CatzConflict *c;

	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	p[0] = pat(1, CATZ_KIND_KEYWORD, "", 1);
	p[1] = pat(2, CATZ_KIND_MERCHANT, "x", 1);
	p[1].flags |= CATZ_PF_AMOUNT_MIN | CATZ_PF_AMOUNT_MAX;
	p[1].amount_min = 10;
	p[1].amount_max = 5;
	p[2] = pat(3, CATZ_KIND_REGEX, "a^b", 1);
	p[3] = pat(4, CATZ_KIND_MERCHANT, longv, 2);
	p[4] = pat(5, CATZ_KIND_MERCHANT, "x", 2);
	CHECK(run(p, 5, impossible, &f, NULL) == CATZ_OK);
	CHECK(f.n == 4);
	c = find(&f, 0, CATZ_CONFLICT_NONE, NULL);
	CHECK(c && c->kind == CATZ_CONFLICT_NEVER_MATCHES && c->why == CATZ_NEVER_EMPTY_VALUE);
	c = find(&f, 1, CATZ_CONFLICT_NONE, NULL);
	CHECK(c && c->why == CATZ_NEVER_EMPTY_RANGE);
	c = find(&f, 2, CATZ_CONFLICT_NONE, NULL);
	CHECK(c && c->why == CATZ_NEVER_REGEX);
	c = find(&f, 3, CATZ_CONFLICT_NONE, NULL);
	CHECK(c && c->why == CATZ_NEVER_TOO_LONG);
	CHECK(strcmp(catz_never_why_string(CATZ_NEVER_REGEX), "unknown") != 0);
	CHECK(strcmp(catz_rank_why_string(CATZ_WHY_ID), "unknown") != 0);
}

/* Regexes fire through their literal and are never said to shadow */
static void
test_regex(void)
{
	static Found f;
	CatzPatternInput p[4];
	const CatzConflict *c;
	const char *ex = NULL;

	p[0] = pat(1, CATZ_KIND_REGEX, "amzn", 6);
	p[1] = pat(2, CATZ_KIND_KEYWORD, "amzn mktp", 7);
	p[2] = pat(3, CATZ_KIND_REGEX, "!mktp", 8);	/* never matches in the fake engine */
	p[3] = pat(4, CATZ_KIND_MERCHANT, "zz", 9);
	CHECK(run(p, 4, NULL, &f, NULL) == CATZ_OK);
	c = find(&f, 1, 0, &ex);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_OVERLAPPING && c->why == CATZ_WHY_KIND &&
		  strcmp(ex, "amzn mktp") == 0);
	CHECK(f.n == 1);

	/* a regex's witness is its literal: a merchant pattern of it outranks it */
	p[3] = pat(4, CATZ_KIND_MERCHANT, "amzn", 9);
	CHECK(run(p, 4, NULL, &f, NULL) == CATZ_OK);
	c = find(&f, 0, 3, &ex);
	CHECK(c != NULL && c->kind == CATZ_CONFLICT_OVERLAPPING && strcmp(ex, "amzn") == 0);
}

/* A report callback that returns false stops the search */
static void
test_stop(void)
{
	static Found f;
	CatzPatternInput p[6];
	int			i;
	static const char *v[6] = {"a", "a b", "a b c", "b", "b c", "c"};

	for (i = 0; i < 6; i++)
		p[i] = pat(i + 1, CATZ_KIND_MERCHANT, v[i], i + 1);
	f.stop_after = 1;
	CHECK(run(p, 6, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n == 1);
	f.stop_after = 0;
	CHECK(run(p, 6, NULL, &f, NULL) == CATZ_OK);
	CHECK(f.n > 1);
}

/* Whether the words of w occur, adjacent and in order, in v */
static bool
words_in(const char *w, const char *v)
{
	char		a[256];
	char		b[256];

	snprintf(a, sizeof(a), " %s ", w);
	snprintf(b, sizeof(b), " %s ", v);
	return strstr(b, a) != NULL;
}

/* Whether two amount ranges meet, and whether a's covers b's */
static bool
meet(const CatzPatternInput *a, const CatzPatternInput *b)
{
	double		alo = (a->flags & CATZ_PF_AMOUNT_MIN) ? a->amount_min : -1e300;
	double		ahi = (a->flags & CATZ_PF_AMOUNT_MAX) ? a->amount_max : 1e300;
	double		blo = (b->flags & CATZ_PF_AMOUNT_MIN) ? b->amount_min : -1e300;
	double		bhi = (b->flags & CATZ_PF_AMOUNT_MAX) ? b->amount_max : 1e300;

	return (alo > blo ? alo : blo) <= (ahi < bhi ? ahi : bhi);
}

static bool
covers(const CatzPatternInput *a, const CatzPatternInput *b)
{
	double		alo = (a->flags & CATZ_PF_AMOUNT_MIN) ? a->amount_min : -1e300;
	double		ahi = (a->flags & CATZ_PF_AMOUNT_MAX) ? a->amount_max : 1e300;
	double		blo = (b->flags & CATZ_PF_AMOUNT_MIN) ? b->amount_min : -1e300;
	double		bhi = (b->flags & CATZ_PF_AMOUNT_MAX) ? b->amount_max : 1e300;

	return alo <= blo && bhi <= ahi;
}

/* Deterministic pseudo-random numbers */
static uint64_t rng = 0xC0FFEE;

static uint32_t
below(uint32_t n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) ((rng >> 33) % n);
}

/* The compiled-set search finds exactly the pairs a quadratic comparison finds */
static void
test_differential(void)
{
	static Found f;
	static const char *vocab[4] = {"a", "b", "c", "dd"};
	char		values[40][32];
	CatzPatternInput p[40];
	int			round;

	for (round = 0; round < 300; round++)
	{
		int			n = 2 + (int) below(38);
		int			i;
		int			j;
		int			k;
		int			expected = 0;
		int			pairs = 0;

		for (i = 0; i < n; i++)
		{
			int			words = 1 + (int) below(3);

			values[i][0] = '\0';
			for (k = 0; k < words; k++)
			{
				if (k)
					strcat(values[i], " ");
				strcat(values[i], vocab[below(4)]);
			}
			p[i] = pat(i + 1, below(2) ? CATZ_KIND_MERCHANT : CATZ_KIND_KEYWORD, values[i],
					   1 + below(3));
			if (below(3) == 0)
			{
				p[i].flags |= CATZ_PF_OWNER;
				p[i].owner_id = 1 + below(2);
			}
			if (below(4) == 0)
			{
				p[i].flags |= CATZ_PF_AMOUNT_MIN;
				p[i].amount_min = below(20);
			}
			if (below(4) == 0)
			{
				p[i].flags |= CATZ_PF_AMOUNT_MAX;
				p[i].amount_max = 10 + below(20);
			}
			p[i].priority = (int32_t) below(2);
			if (below(3) == 0)
				p[i].flags |= CATZ_PF_LEARNED;
			p[i].hits = below(5);
		}
		CHECK(run(p, (size_t) n, NULL, &f, NULL) == CATZ_OK);

		/* every reported pair is a true one, reported once, and claims hold */
		for (k = 0; k < f.n; k++)
		{
			const CatzConflict *c = &f.c[k];
			const CatzPatternInput *lo;
			const CatzPatternInput *win;
			int			m;

			if (c->kind == CATZ_CONFLICT_NEVER_MATCHES)
				continue;
			CHECK(c->pattern < (uint32_t) n && c->decider < (uint32_t) n && c->pattern != c->decider);
			lo = &p[c->pattern];
			win = &p[c->decider];
			CHECK(meet(lo, win));
			CHECK(!(lo->flags & CATZ_PF_OWNER) || !(win->flags & CATZ_PF_OWNER) ||
				  lo->owner_id == win->owner_id);
			if (c->kind == CATZ_CONFLICT_DUPLICATE)
			{
				CHECK(lo->category_id == win->category_id && lo->kind == win->kind &&
					  strcmp(lo->value, win->value) == 0 && covers(lo, win) && covers(win, lo));
				continue;
			}
			pairs++;
			CHECK(lo->category_id != win->category_id);
			CHECK(words_in(lo->value, win->value) || words_in(win->value, lo->value));
			if (c->kind == CATZ_CONFLICT_SHADOWED)
			{
				CHECK(words_in(win->value, lo->value));
				CHECK(covers(win, lo));
				CHECK(win->kind == CATZ_KIND_KEYWORD || lo->kind == CATZ_KIND_MERCHANT);
				CHECK(!(win->flags & CATZ_PF_OWNER) || lo->owner_id == win->owner_id);
			}
			for (m = 0; m < k; m++)
				if (f.c[m].kind != CATZ_CONFLICT_DUPLICATE &&
					f.c[m].kind != CATZ_CONFLICT_NEVER_MATCHES)
					CHECK(!((f.c[m].pattern == c->pattern && f.c[m].decider == c->decider) ||
							(f.c[m].pattern == c->decider && f.c[m].decider == c->pattern)));
		}

		/* the quadratic count */
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (p[i].category_id != p[j].category_id && meet(&p[i], &p[j]) &&
					(!(p[i].flags & CATZ_PF_OWNER) || !(p[j].flags & CATZ_PF_OWNER) ||
					 p[i].owner_id == p[j].owner_id) &&
					(words_in(p[i].value, p[j].value) || words_in(p[j].value, p[i].value)))
					expected++;
		CHECK(pairs == expected);
		if (pairs != expected)
		{
			fprintf(stderr, "round %d: %d pairs reported, %d expected\n", round, pairs, expected);
			break;
		}
	}
}

/* Every allocation failure gives CATZ_ENOMEM and frees everything */
static void
test_enomem(void)
{
	static Found f;
	CatzPatternInput p[5];
	int			limit;
	bool		succeeded = false;

	p[0] = pat(1, CATZ_KIND_MERCHANT, "a b", 1);
	p[1] = pat(2, CATZ_KIND_KEYWORD, "b", 2);
	p[2] = pat(3, CATZ_KIND_REGEX, "abc", 3);
	p[3] = pat(4, CATZ_KIND_MERCHANT, "abc", 4);
	p[4] = pat(5, CATZ_KIND_MERCHANT, "abc", 4);
	for (limit = 0; limit < 200 && !succeeded; limit++)
	{
		FailingAlloc fa = {.remaining = limit};
		CatzAllocator a = {failing_alloc, failing_free, &fa};
		CatzStatus	st = run(p, 5, NULL, &f, &a);

		CHECK(st == CATZ_OK || st == CATZ_ENOMEM);
		CHECK(fa.live == 0);
		succeeded = (st == CATZ_OK);
	}
	CHECK(succeeded);
}

int
main(void)
{
	UNIT_RUN(test_shadowed);
	UNIT_RUN(test_overlapping);
	UNIT_RUN(test_amounts);
	UNIT_RUN(test_owners);
	UNIT_RUN(test_duplicates);
	UNIT_RUN(test_never);
	UNIT_RUN(test_regex);
	UNIT_RUN(test_stop);
	UNIT_RUN(test_differential);
	UNIT_RUN(test_enomem);
	UNIT_DONE("test_conflicts");
}
