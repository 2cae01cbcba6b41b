/*-------------------------------------------------------------------------
 *
 * fuzz_conflicts.c
 *	  libFuzzer target for rule conflicts (catz_conflicts_find).
 *
 * The input describes up to 16 patterns over a tiny vocabulary (so equal
 * values, contained values and repeats are common): kind, words or raw
 * regex bytes, category, owner, amount range, priority, learned flag and
 * counts; the first byte may also set an allocation budget.  Every reported
 * conflict must name valid patterns, with a decider for the pair kinds and
 * none for never_matches; a duplicate must be of the same category and a
 * shadowed or overlapping pair of different ones; an example must be a
 * text of bounded length; and a failed allocation must be reported as
 * CATZ_ENOMEM and leak nothing.  A test regex "matches" a text containing
 * its bytes.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "fuzz_support.h"

#define MAX_PATTERNS	16

static const char *const vocabulary[] = {"a", "b", "la", "c", "dd", "xyz"};
#define VOCAB	6

typedef struct Run
{
	CatzPatternInput patterns[MAX_PATTERNS];
	char		values[MAX_PATTERNS][64];
	size_t		n;
	int			reports;
} Run;

/* Test regex engine: matches a text that contains the pattern's bytes */
static bool
fake_regex(void *arg, uint32_t index, const char *text, size_t len, uint32_t *matched)
{
	Run		   *run = arg;
	const CatzPatternInput *p = &run->patterns[index];

	if (p->value_len == 0 || p->value_len > len)
		return false;
	for (size_t i = 0; i + p->value_len <= len; i++)
		if (memcmp(text + i, p->value, p->value_len) == 0)
		{
			*matched = p->value_len;
			return true;
		}
	return false;
}

/* Check one reported conflict */
static bool
check_report(void *arg, const CatzConflict *c)
{
	Run		   *run = arg;
	const CatzPatternInput *p;
	const CatzPatternInput *w;

	if (c->pattern >= run->n || c->kind > CATZ_CONFLICT_NEVER_MATCHES)
		abort();
	p = &run->patterns[c->pattern];
	if (c->kind == CATZ_CONFLICT_NEVER_MATCHES)
	{
		if (c->decider != CATZ_CONFLICT_NONE)
			abort();
		if (catz_never_why_string(c->why) == NULL)
			abort();
	}
	else
	{
		if (c->decider >= run->n || c->decider == c->pattern)
			abort();
		w = &run->patterns[c->decider];
		if ((c->kind == CATZ_CONFLICT_DUPLICATE) != (p->category_id == w->category_id))
			abort();
		if (catz_rank_why_string(c->why) == NULL)
			abort();
	}
	if (c->example != NULL)
	{
		char		copy[4096];

		/* the sanitizer checks that the whole example is readable */
		if (c->example_len > sizeof(copy))
			abort();
		memcpy(copy, c->example, c->example_len);
	}
	run->reports++;
	return run->reports < 10000;
}

/* Decode the patterns */
static void
decode(Input *in, Run *run)
{
	run->n = 1 + next_byte(in) % MAX_PATTERNS;
	for (size_t i = 0; i < run->n; i++)
	{
		CatzPatternInput *p = &run->patterns[i];
		uint8_t		shape = next_byte(in);
		uint8_t		more = next_byte(in);
		size_t		len = 0;

		memset(p, 0, sizeof(*p));
		p->pattern_id = (int64_t) i + 1;
		p->category_id = 1 + (more & 0x03);
		p->priority = (more >> 2) & 0x01;
		if (more & 0x08)
		{
			p->flags |= CATZ_PF_OWNER;
			p->owner_id = 1 + ((more >> 4) & 0x01);
		}
		if (more & 0x20)
		{
			p->flags |= CATZ_PF_AMOUNT_MIN;
			p->amount_min = (double) (next_byte(in) % 8) * 10;
		}
		if (more & 0x40)
		{
			p->flags |= CATZ_PF_AMOUNT_MAX;
			p->amount_max = (double) (next_byte(in) % 8) * 10;
		}
		if (more & 0x80)
		{
			p->flags |= CATZ_PF_LEARNED;
			p->taught = 1 + next_byte(in) % 4;
			p->weight = (double) p->taught;
		}
		p->hits = next_byte(in) % 8;
		p->misses = next_byte(in) % 8;
		if ((shape & 0x0F) == 0x0F)
		{
			size_t		nb = next_byte(in) % 12;

			for (size_t k = 0; k < nb; k++)
				run->values[i][len++] = (char) next_byte(in);
			p->kind = CATZ_KIND_REGEX;
		}
		else
		{
			size_t		nw = (shape & 0x30) == 0x30 ? 0 : 1 + (shape & 0x03);

			p->kind = (shape & 0x40) ? CATZ_KIND_KEYWORD : CATZ_KIND_MERCHANT;
			for (size_t w = 0; w < nw; w++)
			{
				const char *word = vocabulary[next_byte(in) % VOCAB];
				size_t		wl = strlen(word);

				if (len + wl + 2 >= sizeof(run->values[i]))
					break;
				if (w > 0)
					run->values[i][len++] = ' ';
				memcpy(run->values[i] + len, word, wl);
				len += wl;
			}
		}
		p->value = run->values[i];
		p->value_len = (uint32_t) len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, size, 0};
	uint8_t		mode = next_byte(&in);
	FailingAlloc fa = {.remaining = (mode & 0x80) ? (long) (mode & 0x3F) : -1};
	CatzAllocator alloc = {failing_alloc, failing_free, &fa};
	Run			run;
	bool		impossible[MAX_PATTERNS];
	CatzConflictCallbacks cb;
	CatzStatus	st;

	memset(&run, 0, sizeof(run));
	decode(&in, &run);
	for (size_t i = 0; i < run.n; i++)
		impossible[i] = run.patterns[i].kind == CATZ_KIND_REGEX && (next_byte(&in) & 1);
	cb.regex_match = fake_regex;
	cb.report = check_report;
	cb.tick = NULL;
	cb.arg = &run;
	st = catz_conflicts_find(run.patterns, run.n, (mode & 0x40) ? impossible : NULL, &cb, &alloc);
	if (st != CATZ_OK && st != CATZ_ENOMEM && st != CATZ_ETOOBIG)
		abort();
	if (st == CATZ_ENOMEM && fa.remaining != 0)
		abort();
	if (fa.live != 0)
		abort();
	return 0;
}
