/*-------------------------------------------------------------------------
 *
 * fuzz_match.c
 *	  libFuzzer target for pattern sets: build, validate and match.
 *
 * The first input byte selects a mode:
 *	0: the rest is a blob: catz_set_validate must not crash, and a blob it
 *	   accepts must be safe to match and to read entries from;
 *	1: the rest describes patterns and a text over a tiny vocabulary (so
 *	   duplicates, overlaps and repeats are common): the set is built,
 *	   possibly with an allocator that fails after a chosen number of
 *	   allocations, validated, and its matches compared with the
 *	   brute-force oracle;
 *	2: as 1, then bytes of the blob are overwritten at chosen offsets;
 *	   the damaged blob either fails validation or matches sanely.
 * Seeds for every mode are in corpus/match/.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "fuzz_support.h"
#include "../unit/match_oracle.h"

#define MAX_PATTERNS	12
#define MAX_TEXT		4096

/* Words of patterns and texts; the last two never occur in patterns */
static const char *const vocabulary[] = {"a", "b", "la", "c", "dd", "xyz", "zz", "q"};
#define PATTERN_VOCAB	6
#define TEXT_VOCAB		8

/* Patterns and a text decoded from the input */
typedef struct Case
{
	CatzPatternInput patterns[MAX_PATTERNS];
	char		values[MAX_PATTERNS][64];
	size_t		npatterns;
	char		text[MAX_TEXT];
	size_t		text_len;
	uint32_t	text_words;
} Case;

/* Append a word to buf (with a separating space unless first) */
static size_t
append_word(char *buf, size_t len, size_t cap, const char *word, bool space)
{
	size_t		n = strlen(word);

	if (len + n + 1 >= cap)
		return len;
	if (space)
		buf[len++] = ' ';
	memcpy(buf + len, word, n);
	return len + n;
}

/* Decode patterns, then a text from the rest of the input */
static void
decode_case(Input *in, Case *c)
{
	c->npatterns = 1 + next_byte(in) % MAX_PATTERNS;
	for (size_t p = 0; p < c->npatterns; p++)
	{
		uint8_t		shape = next_byte(in);
		CatzPatternInput *pat = &c->patterns[p];
		size_t		len = 0;

		memset(pat, 0, sizeof(*pat));
		pat->pattern_id = (int64_t) p;
		pat->kind = (shape & 0x40) ? CATZ_KIND_KEYWORD : CATZ_KIND_MERCHANT;
		if ((shape & 0x0F) == 0x0F)
		{
			/* a regex of raw bytes */
			size_t		n = 1 + next_byte(in) % 16;

			for (size_t k = 0; k < n; k++)
				c->values[p][len++] = (char) next_byte(in);
			pat->kind = CATZ_KIND_REGEX;
		}
		else
		{
			size_t		nw = 1 + (shape & 0x07);

			for (size_t w = 0; w < nw; w++)
				len = append_word(c->values[p], len, sizeof(c->values[p]),
								  vocabulary[next_byte(in) % PATTERN_VOCAB], w > 0);
		}
		pat->value = c->values[p];
		pat->value_len = (uint32_t) len;
	}

	c->text_len = 0;
	c->text_words = 0;
	while (in->pos < in->size)
	{
		uint8_t		b = next_byte(in);

		if (b >= 0xF0 && c->text_len + 1 < MAX_TEXT)
			c->text[c->text_len++] = ' ';	/* irregular spacing */
		c->text_len = append_word(c->text, c->text_len, MAX_TEXT,
								  vocabulary[b % TEXT_VOCAB], c->text_len > 0);
	}
	for (size_t i = 0; i < c->text_len; i++)
		c->text_words += (c->text[i] != ' ' && (i == 0 || c->text[i - 1] == ' '));
}

/* What a match over a validated blob must respect */
typedef struct SaneCtx
{
	const CatzSet *set;
	uint32_t	text_words;
} SaneCtx;

/* Abort on an occurrence that is impossible for the set and text */
static bool
sane_cb(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	SaneCtx    *ctx = arg;
	const CatzEntry *e = catz_set_entry(ctx->set, entry);

	if (e == NULL || e->kind == CATZ_KIND_REGEX || start >= end ||
		end > ctx->text_words || end - start != e->nwords)
		abort();
	return true;
}

/* As sane_cb, for catz_set_match_texts (one text) */
static bool
sane_texts_cb(void *arg, uint32_t text, const CatzEntry *e, uint32_t start,
			  uint32_t end)
{
	SaneCtx    *ctx = arg;

	if (text != 0 || e == NULL || e->kind == CATZ_KIND_REGEX || start >= end ||
		end > ctx->text_words || end - start != e->nwords)
		abort();
	return true;
}

/* Exercise every reader on a validated blob */
static void
read_everything(const CatzSet *set, const char *text, size_t len, uint32_t nwords)
{
	SaneCtx		ctx = {set, nwords};
	uint32_t	lit_len;
	volatile uint64_t sink = 0;
	CatzTrigramSet trigrams;
	uint32_t	next;

	CatzMatchText whole = {text, len};

	if (catz_set_match(set, text, len, sane_cb, &ctx) != nwords)
		abort();
	catz_set_match_texts(set, &whole, 1, sane_texts_cb, &ctx);
	for (uint32_t i = 0; i < catz_set_count(set); i++)
	{
		const CatzEntry *e = catz_set_entry(set, i);
		const char *v = catz_entry_value(set, e);

		for (uint32_t k = 0; k < e->value_len; k++)
			sink += (unsigned char) v[k];
	}
	catz_trigrams_of(text, len, &trigrams);
	next = catz_set_regex_next(set, 0, &trigrams, 1);
	for (uint32_t r = 0; r < catz_set_regex_count(set); r++)
	{
		const char *lit = catz_set_regex_literal(set, r, &lit_len);

		sink += catz_set_regex_entry(set, r);
		for (uint32_t k = 0; k < lit_len; k++)
			sink += (unsigned char) lit[k];
		/* the prefilter lets through every regex whose literal is in the text */
		if (next < r)
			abort();
		if (next > r && catz_contains_ci(text, len, lit, lit_len))
			abort();
		if (next == r)
			next = catz_set_regex_next(set, r + 1, &trigrams, 1);
	}
	if (next != catz_set_regex_count(set))
		abort();
	(void) sink;
}

/* Mode 0: raw bytes as a blob */
static void
fuzz_raw_blob(const uint8_t *data, size_t size)
{
	static const char text[] = "a b la c dd xyz a b a b la zz la la";
	uint64_t   *copy = malloc(size + 8);	/* blobs must be 8-byte aligned */

	memcpy(copy, data, size);
	if (catz_set_validate(copy, size) == CATZ_OK)
		read_everything((const CatzSet *) copy, text, sizeof(text) - 1, 14);
	free(copy);
}

/* Modes 1 and 2: build from a decoded case; compare or corrupt */
static void
fuzz_build(Input *in, bool corrupt)
{
	static Case c;
	FailingAlloc fa = {.remaining = -1};
	CatzAllocator alloc = {failing_alloc, failing_free, &fa};
	uint8_t		fail_at = next_byte(in);
	uint8_t		ndamage = corrupt ? next_byte(in) % 8 : 0;
	uint16_t	damage_pos[8];
	uint8_t		damage_val[8];
	CatzSet    *set = NULL;
	size_t		size = 0;
	size_t		bad = 0;
	CatzStatus	st;

	for (int k = 0; k < ndamage; k++)
	{
		damage_pos[k] = (uint16_t) (next_byte(in) | (next_byte(in) << 8));
		damage_val[k] = next_byte(in);
	}
	if (fail_at < 32)
		fa.remaining = fail_at;
	decode_case(in, &c);

	st = catz_set_build(c.patterns, c.npatterns, &alloc, &set, &size, &bad);
	if (st != CATZ_OK)
	{
		/* only allocation failure is possible for these inputs */
		if (st != CATZ_ENOMEM || fa.remaining != 0 || fa.live != 0 || set != NULL)
			abort();
		return;
	}
	if (catz_set_validate(set, size) != CATZ_OK)
		abort();

	if (!corrupt)
	{
		OccList		got = {0};
		OccList		want = {0};

		size_t		head = c.text_len / 2;
		CatzMatchText halves[2];

		catz_set_match(set, c.text, c.text_len, occ_collect, &got);
		brute_match(c.patterns, c.npatterns, c.text, c.text_len, &want);
		if (!occ_equal(&got, &want))
			abort();
		occ_free(&got);
		occ_free(&want);

		/* The text cut in two at a space, matched together */
		while (head < c.text_len && c.text[head] != ' ')
			head++;
		halves[0].text = c.text;
		halves[0].len = head;
		halves[1].text = c.text + head;
		halves[1].len = c.text_len - head;
		if (!texts_match_alone(set, halves, 2))
			abort();
	}
	else
	{
		for (int k = 0; k < ndamage; k++)
			((uint8_t *) set)[damage_pos[k] % size] = damage_val[k];
		if (catz_set_validate(set, size) == CATZ_OK)
			read_everything(set, c.text, c.text_len, c.text_words);
	}
	failing_free(&fa, set);
	if (fa.live != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, size, 1};

	if (size == 0)
		return 0;
	switch (data[0] % 3)
	{
		case 0:
			fuzz_raw_blob(data + 1, size - 1);
			break;
		case 1:
			fuzz_build(&in, false);
			break;
		default:
			fuzz_build(&in, true);
			break;
	}
	return 0;
}
