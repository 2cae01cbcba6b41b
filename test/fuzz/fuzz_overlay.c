/*-------------------------------------------------------------------------
 *
 * fuzz_overlay.c
 *	  libFuzzer target for overlays (overlay.c).
 *
 * The first input byte picks a mode:
 *	0: the rest is a blob; catz_overlay_validate must not crash, and a blob
 *	   that passes must be safe to match, read and update;
 *	1: the rest is a program of put/delete/match/copy operations on a small
 *	   overlay (capacity 1..12, pool 0..127 bytes), run against a reference
 *	   model: every status, shadows(), the counts and the tombstones must
 *	   agree with the model, the blob must validate after every step, and
 *	   each match must report the same (pattern_id, start, end) multiset as
 *	   brute force over the model's live patterns;
 *	2: a program as in mode 1, then (offset, byte) pairs that corrupt the
 *	   blob; the result is validated and, if it passes, used as in mode 0.
 * A violation aborts, which libFuzzer reports as a crash.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "../unit/match_oracle.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NIDS		16			/* pattern ids 0..NIDS-1 */
#define VALUE_MAX	64			/* bytes of a generated value */
#define TEXT_MAX	128			/* bytes of a generated text */

static const char *const vocab[] = {"a", "b", "ab", "ba"};

/* The fuzz input, consumed byte by byte; 0 once exhausted */
typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	size_t		pos;
} Input;

/* What the model knows of one pattern id */
typedef enum IdState
{
	ID_ABSENT,
	ID_LIVE,
	ID_DELETED
} IdState;

typedef struct ModelPattern
{
	IdState		state;
	uint8_t		kind;
	char		value[VALUE_MAX + 1];
	uint32_t	stored_len;		/* bytes the overlay stores for it */
} ModelPattern;

/* The reference model of an overlay */
typedef struct Model
{
	ModelPattern id[NIDS];
	uint32_t	max_patterns;
	uint32_t	pool_bytes;
	uint32_t	used;			/* slots */
	uint32_t	pool_used;		/* bytes */
	uint32_t	nids;			/* ids not ID_ABSENT */
} Model;

/* Report a violated property and abort */
static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_overlay: %s\n", what);
	abort();
}

/* Next input byte, or 0 at the end */
static uint8_t
next_byte(Input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* Is the input exhausted? */
static bool
at_end(const Input *in)
{
	return in->pos >= in->size;
}

/* Allocate and initialize an overlay */
static CatzOverlay *
new_overlay(uint32_t max_patterns, uint32_t pool_bytes, size_t *size)
{
	size_t		sz = catz_overlay_size(max_patterns, pool_bytes);
	void	   *blob = malloc(sz);

	if (blob == NULL ||
		catz_overlay_init(blob, sz, max_patterns, pool_bytes) != blob)
		fail("init failed");
	*size = sz;
	return blob;
}

/*
 * Generate up to max_words vocabulary words into out, with runs of spaces
 * and (if unknown) words no pattern has; returns the length
 */
static uint32_t
gen_words(Input *in, char *out, size_t cap, uint32_t max_words, bool unknown)
{
	uint32_t	n = next_byte(in) % (max_words + 1);
	size_t		len = 0;

	for (uint32_t i = 0; i < n; i++)
	{
		uint8_t		b = next_byte(in);
		const char *w = unknown && (b & 0x40) ? "zz" : vocab[b % 4];
		size_t		wl = strlen(w);
		size_t		spaces = (i > 0) + ((b & 0x80) != 0);

		if (len + spaces + wl + 1 > cap)
			break;
		memset(out + len, ' ', spaces);
		len += spaces;
		memcpy(out + len, w, wl);
		len += wl;
	}
	out[len] = '\0';
	return (uint32_t) len;
}

/* Length of value with its words joined by single spaces; *nwords set */
static uint32_t
canonical_len(const char *value, uint32_t len, uint32_t *nwords)
{
	size_t		pos = 0;
	const char *word;
	size_t		wlen;
	uint32_t	total = 0;

	*nwords = 0;
	while (catz_next_word(value, len, &pos, &word, &wlen))
	{
		if (*nwords > 0)
			total++;			/* the space before this word */
		total += (uint32_t) wlen;
		(*nwords)++;
	}
	return total;
}

/* Number of words in text */
static uint32_t
count_words(const char *text, size_t len)
{
	size_t		pos = 0;
	const char *word;
	size_t		wlen;
	uint32_t	n = 0;

	while (catz_next_word(text, len, &pos, &word, &wlen))
		n++;
	return n;
}

/* Put a generated pattern; check the status against the model */
static void
op_put(Input *in, CatzOverlay *ov, Model *m)
{
	static const uint8_t kinds[] = {CATZ_KIND_KEYWORD, CATZ_KIND_REGEX,
	CATZ_KIND_MERCHANT, 7};
	uint32_t	id = next_byte(in) % NIDS;
	uint8_t		kind = kinds[next_byte(in) % 4];
	ModelPattern *mp = &m->id[id];
	char		value[VALUE_MAX + 1];
	uint32_t	len = gen_words(in, value, sizeof(value), 5, false);
	uint32_t	nwords;
	uint32_t	stored = canonical_len(value, len, &nwords);
	CatzPatternInput p;
	CatzStatus	want;

	if (kind == CATZ_KIND_REGEX)
		stored = len;
	if (len == 0 || kind == 7 || (kind != CATZ_KIND_REGEX && nwords == 0))
		want = CATZ_EINVAL;
	else if (m->used >= m->max_patterns || stored > m->pool_bytes - m->pool_used ||
			 (mp->state == ID_ABSENT && m->nids >= m->max_patterns))
		want = CATZ_ETOOBIG;
	else
		want = CATZ_OK;

	memset(&p, 0, sizeof(p));
	p.pattern_id = id;
	p.category_id = id;
	p.kind = kind;
	p.value = value;
	p.value_len = len;
	if (catz_overlay_put(ov, &p) != want)
		fail("put status differs from the model");
	if (want != CATZ_OK)
		return;

	m->used++;
	m->pool_used += stored;
	if (mp->state == ID_ABSENT)
		m->nids++;
	mp->state = ID_LIVE;
	mp->kind = kind;
	memcpy(mp->value, value, len + 1);
	mp->stored_len = stored;
}

/* Delete a pattern id; check the status against the model */
static void
op_delete(Input *in, CatzOverlay *ov, Model *m)
{
	uint32_t	id = next_byte(in) % NIDS;
	ModelPattern *mp = &m->id[id];
	CatzStatus	want = CATZ_OK;

	if (mp->state == ID_ABSENT && m->nids >= m->max_patterns)
		want = CATZ_ETOOBIG;
	if (catz_overlay_delete(ov, id) != want)
		fail("delete status differs from the model");
	if (want != CATZ_OK)
		return;
	if (mp->state == ID_ABSENT)
		m->nids++;
	mp->state = ID_DELETED;
}

/* CatzMatchFn: collect (pattern_id, start, end) */
typedef struct Collector
{
	const CatzOverlay *ov;
	OccList		occ;
} Collector;

/* Append an occurrence under its entry's pattern id */
static bool
collect(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	Collector  *c = arg;
	const CatzEntry *e = catz_overlay_entry(c->ov, entry);

	if (e == NULL)
		fail("match reported a dead or unused slot");
	occ_push(&c->occ, (uint32_t) e->pattern_id, start, end);
	return true;
}

/* Match a generated text; compare with brute force over live patterns */
static void
op_match(Input *in, const CatzOverlay *ov, const Model *m)
{
	char		text[TEXT_MAX + 1];
	uint32_t	len = gen_words(in, text, sizeof(text), 12, true);
	CatzPatternInput live[NIDS];
	uint32_t	live_id[NIDS];
	size_t		nlive = 0;
	Collector	got = {ov, {0}};
	OccList		want = {0};
	uint32_t	nwords;

	for (uint32_t id = 0; id < NIDS; id++)
	{
		if (m->id[id].state != ID_LIVE)
			continue;
		memset(&live[nlive], 0, sizeof(live[nlive]));
		live[nlive].kind = m->id[id].kind;
		live[nlive].value = m->id[id].value;
		live[nlive].value_len = (uint32_t) strlen(m->id[id].value);
		live_id[nlive++] = id;
	}
	nwords = catz_overlay_match(ov, text, len, collect, &got);
	brute_match(live, nlive, text, len, &want);
	for (size_t i = 0; i < want.n; i++)
		want.v[i].entry = live_id[want.v[i].entry];
	if (!occ_equal(&got.occ, &want))
		fail("match differs from brute force");
	if (nwords != count_words(text, len))
		fail("match returned a wrong word count");
	occ_free(&got.occ);
	occ_free(&want);
}

/* Copy into a bigger overlay, which replaces *ov */
static void
op_copy(CatzOverlay **ov, size_t *size, Model *m)
{
	size_t		dsize;
	CatzOverlay *dst = new_overlay(m->max_patterns + 4, m->pool_bytes + 64, &dsize);

	if (catz_overlay_copy(dst, *ov) != CATZ_OK)
		fail("copy failed");
	free(*ov);
	*ov = dst;
	*size = dsize;
	m->max_patterns += 4;
	m->pool_bytes += 64;
	m->used = 0;
	m->pool_used = 0;
	for (uint32_t id = 0; id < NIDS; id++)
	{
		if (m->id[id].state == ID_LIVE)
		{
			m->used++;
			m->pool_used += m->id[id].stored_len;
		}
	}
}

/* Check the overlay's bookkeeping against the model */
static void
check_state(const CatzOverlay *ov, size_t size, const Model *m)
{
	uint32_t	live = 0;
	uint32_t	deleted = 0;
	uint32_t	seen = 0;

	if (catz_overlay_validate(ov, size) != CATZ_OK)
		fail("a blob built by the API does not validate");
	for (uint32_t id = 0; id < NIDS; id++)
	{
		live += m->id[id].state == ID_LIVE;
		deleted += m->id[id].state == ID_DELETED;
		if (catz_overlay_shadows(ov, id) != (m->id[id].state != ID_ABSENT))
			fail("shadows differs from the model");
	}
	if (catz_overlay_live(ov) != live || catz_overlay_used(ov) != m->used ||
		catz_overlay_tombstones(ov) != deleted)
		fail("counts differ from the model");
	for (uint32_t i = 0; i < deleted; i++)
	{
		int64_t		id = catz_overlay_tombstone(ov, i);

		if (id < 0 || id >= NIDS || m->id[id].state != ID_DELETED)
			fail("tombstone differs from the model");
	}
	for (uint32_t i = 0; i < catz_overlay_used(ov); i++)
	{
		const CatzEntry *e = catz_overlay_entry(ov, i);

		if (e == NULL)
			continue;
		if (e->pattern_id < 0 || e->pattern_id >= NIDS ||
			m->id[e->pattern_id].state != ID_LIVE ||
			m->id[e->pattern_id].stored_len != e->value_len)
			fail("live entry differs from the model");
		seen++;
	}
	if (seen != live)
		fail("live entries differ from the model");
}

/* Run a program of operations; returns the overlay, *size its size */
static CatzOverlay *
run_program(Input *in, size_t *size, bool check)
{
	Model		m;
	CatzOverlay *ov;

	memset(&m, 0, sizeof(m));
	m.max_patterns = 1 + next_byte(in) % 12;
	m.pool_bytes = next_byte(in) % 128;
	ov = new_overlay(m.max_patterns, m.pool_bytes, size);

	for (int steps = 0; steps < 256 && !at_end(in); steps++)
	{
		uint8_t		op = next_byte(in);

		if (op == 0xFF)
			break;				/* end of program (mode 2: corruption next) */
		switch (op % 8)
		{
			case 0:
			case 1:
			case 2:
				op_put(in, ov, &m);
				break;
			case 3:
			case 4:
				op_delete(in, ov, &m);
				break;
			case 5:
			case 6:
				if (check)
					op_match(in, ov, &m);
				break;
			default:
				if (m.max_patterns < 64)
					op_copy(&ov, size, &m);
				break;
		}
		if (check)
			check_state(ov, *size, &m);
	}
	return ov;
}

/* Use a blob that passed validation in every way; ASan checks the reads */
static void
exercise(CatzOverlay *ov)
{
	static const char text[] = "a  b ab ba a b zz ab";
	Collector	got = {ov, {0}};
	int64_t		sum = 0;

	catz_overlay_match(ov, text, sizeof(text) - 1, collect, &got);
	occ_free(&got.occ);
	for (uint32_t i = 0; i < catz_overlay_used(ov) + 1; i++)
	{
		const CatzEntry *e = catz_overlay_entry(ov, i);

		if (e != NULL)
			sum += catz_entry_value(ov, e)[e->value_len - 1];
	}
	for (uint32_t i = 0; i < catz_overlay_tombstones(ov); i++)
		sum += catz_overlay_tombstone(ov, i);
	for (int64_t id = 0; id < NIDS; id++)
	{
		CatzPatternInput p;

		memset(&p, 0, sizeof(p));
		p.pattern_id = id;
		p.kind = CATZ_KIND_MERCHANT;
		p.value = id % 2 ? "a b" : "ab";
		p.value_len = (uint32_t) strlen(p.value);
		sum += catz_overlay_shadows(ov, id);
		if (id % 3 == 0)
			(void) catz_overlay_delete(ov, id);
		else
			(void) catz_overlay_put(ov, &p);
	}
	catz_overlay_match(ov, text, sizeof(text) - 1, collect, &got);
	occ_free(&got.occ);
	(void) sum;
}

/* Validate a blob and, if it passes, use it */
static void
validate_and_use(void *blob, size_t size)
{
	if (catz_overlay_validate(blob, size) == CATZ_OK)
		exercise(blob);
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
			{
				/* An exact-size copy, so ASan catches any read past it */
				size_t		n = size - 1;
				void	   *blob = malloc(n > 0 ? n : 1);

				memcpy(blob, data + 1, n);
				validate_and_use(blob, n);
				free(blob);
				break;
			}
		case 1:
			{
				size_t		ov_size;
				CatzOverlay *ov = run_program(&in, &ov_size, true);

				free(ov);
				break;
			}
		default:
			{
				size_t		ov_size;
				unsigned char *ov;

				ov = (unsigned char *) run_program(&in, &ov_size, false);
				while (in.size - in.pos >= 3)
				{
					size_t		at = (size_t) next_byte(&in) << 8;

					at |= next_byte(&in);
					ov[at % ov_size] = next_byte(&in);
				}
				validate_and_use(ov, ov_size);
				free(ov);
				break;
			}
	}
	return 0;
}
