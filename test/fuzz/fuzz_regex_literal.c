/*-------------------------------------------------------------------------
 *
 * fuzz_regex_literal.c
 *	  libFuzzer target for the regex prefilter (regex_literal.c).
 *
 * The first input byte selects a mode:
 *	0: the rest is a regex: extraction must not crash, must respect outcap,
 *	   must give lower-case ASCII letters and digits, and a smaller outcap
 *	   must give a prefix of the full literal;
 *	1: the rest drives regex_gen.h, which draws a regex and a string it
 *	   matches (as checked against PostgreSQL): the literal must occur in
 *	   that string, ignoring case;
 *	2: the rest is split into a haystack and a needle: catz_contains_ci
 *	   must agree with a naive search.
 * Seeds for every mode are in corpus/regex_literal/.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "../unit/regex_gen.h"

/* A cursor over the fuzz input; reads past the end give 0 */
typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	size_t		pos;
} Input;

/* Random value in [0, n) drawn from the input, as regex_gen wants it */
static uint32_t
input_below(void *ctx, uint32_t n)
{
	Input	   *in = ctx;
	uint32_t	v = 0;

	if (in->pos < in->size)
		v = in->data[in->pos++];
	if (n > 256 && in->pos < in->size)
		v = (v << 8) | in->data[in->pos++];
	return v % n;
}

/* Mode 0: properties of the literal of an arbitrary string */
static void
fuzz_raw(const uint8_t *data, size_t size)
{
	char		full[CATZ_MAX_PATTERN_BYTES];
	char		part[8];
	size_t		cap = size % sizeof(part);
	size_t		n;
	size_t		m;

	n = catz_regex_required_literal((const char *) data, size, full, sizeof(full));
	if (n > sizeof(full) || n > size)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((full[i] >= 'a' && full[i] <= 'z') || (full[i] >= '0' && full[i] <= '9')))
			abort();

	memset(part, '#', sizeof(part));
	m = catz_regex_required_literal((const char *) data, size, part, cap);
	if (m > cap || m != (n < cap ? n : cap) || memcmp(part, full, m) != 0)
		abort();
	for (size_t i = m; i < sizeof(part); i++)
		if (part[i] != '#')
			abort();
}

/* Mode 1: the literal of a generated regex occurs in what it matches */
static void
fuzz_generated(const uint8_t *data, size_t size)
{
	static RegexGen g;
	Input		in = {data, size, 0};
	char		lit[GEN_RE_CAP];
	size_t		n;

	g.below = input_below;
	g.ctx = &in;
	if (!regex_gen(&g))
		return;
	n = catz_regex_required_literal(g.re, g.re_len, lit, sizeof(lit));
	if (!catz_contains_ci(g.sample, g.sample_len, lit, n))
		abort();
}

/* ASCII lower case */
static unsigned char
fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + 32) : c;
}

/* Mode 2: catz_contains_ci against a naive search */
static void
fuzz_contains(const uint8_t *data, size_t size)
{
	size_t		nlen = size > 0 ? data[0] % 8 : 0;
	const char *needle;
	const char *hay;
	size_t		hlen;
	bool		naive = false;

	if (size < 1 + nlen)
		return;
	needle = (const char *) data + 1;
	hay = needle + nlen;
	hlen = size - 1 - nlen;
	for (size_t i = 0; !naive && i + nlen <= hlen; i++)
	{
		size_t		k = 0;

		while (k < nlen && fold((unsigned char) hay[i + k]) == fold((unsigned char) needle[k]))
			k++;
		naive = (k == nlen);
	}
	if (catz_contains_ci(hay, hlen, needle, nlen) != naive)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3)
	{
		case 0:
			fuzz_raw(data + 1, size - 1);
			break;
		case 1:
			fuzz_generated(data + 1, size - 1);
			break;
		default:
			fuzz_contains(data + 1, size - 1);
			break;
	}
	return 0;
}
