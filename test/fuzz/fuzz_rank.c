/*-------------------------------------------------------------------------
 *
 * fuzz_rank.c
 *	  libFuzzer target for the user's word and the ranking (score.c).
 *
 * The input describes up to 16 hits: each entry's owner, category, kind,
 * flags, priority, hits, misses, taught, weight (any double, NaN and
 * infinities included), weight_at, log_amount, and the hit's exactness and
 * field; then the expense's owner and amount.  catz_mark_word() and
 * catz_rank() must not crash, and: at most one hit is the word, and it is
 * a member of its group; every confidence is within [0, 1]; candidates
 * have distinct categories; the word, when there is one, is the first
 * candidate.  Seeds are in corpus/rank/.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"

#define MAX_HITS 16

/* A cursor over the input; reads past the end give 0 */
typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	size_t		pos;
} Input;

static uint8_t
byte(Input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint64_t
u64(Input *in)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | byte(in);
	return v;
}

static double
f64(Input *in)
{
	uint64_t	bits = u64(in);
	double		d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Input		in = {data, size, 0};
	CatzEntry	entries[MAX_HITS];
	CatzHit		hits[MAX_HITS];
	CatzCandidate out[MAX_HITS];
	int			n = byte(&in) % (MAX_HITS + 1);
	int			words = 0;
	int			k;
	bool		has_owner;
	int64_t		owner;
	bool		has_amount;
	double		amount;

	memset(entries, 0, sizeof(entries));
	memset(hits, 0, sizeof(hits));
	for (int i = 0; i < n; i++)
	{
		CatzEntry  *e = &entries[i];
		uint8_t		shape = byte(&in);

		e->pattern_id = i + 1;
		e->owner_id = byte(&in) % 3;
		e->category_id = byte(&in) % 5;
		e->kind = shape % 3;
		e->flags = byte(&in) & 0x1f;
		e->priority = (int8_t) byte(&in);
		e->hits = byte(&in);
		e->misses = byte(&in);
		e->taught = (int8_t) byte(&in);
		e->weight = f64(&in);
		e->weight_at = (int8_t) byte(&in);
		e->log_amount = f64(&in);
		e->confirmed = byte(&in);
		hits[i].entry = e;
		hits[i].exact = (shape & 0x08) != 0;
		hits[i].field = (shape & 0x10) ? CATZ_FIELD_DESCRIPTION : CATZ_FIELD_MERCHANT;
		hits[i].own = (e->flags & CATZ_PF_OWNER) != 0;
		hits[i].match_words = 1 + (shape >> 5);
		hits[i].match_bytes = byte(&in);
		hits[i].decisions = byte(&in);
	}
	has_owner = (byte(&in) & 1) != 0;
	owner = byte(&in) % 3;
	has_amount = (byte(&in) & 1) != 0;
	amount = f64(&in);

	catz_mark_word(hits, n, has_owner, owner, CATZ_FIELD_MERCHANT, has_amount, amount);
	for (int i = 0; i < n; i++)
		if (hits[i].word)
		{
			words++;
			if (!hits[i].word_group)
				abort();
		}
	if (words > 1)
		abort();

	k = catz_rank(hits, n, NULL, 0, 0, false, 0, out, MAX_HITS);
	if (k < 0 || k > n)
		abort();
	for (int i = 0; i < k; i++)
	{
		if (!(out[i].confidence >= 0 && out[i].confidence <= 1))
			abort();
		for (int j = 0; j < i; j++)
			if (out[j].category_id == out[i].category_id)
				abort();
	}
	if (words == 1 && (k == 0 || !out[0].hit->word))
		abort();
	return 0;
}
