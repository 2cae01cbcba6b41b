/*-------------------------------------------------------------------------
 *
 * fuzz_normalize.c
 *	  libFuzzer target for catz_normalize().
 *
 * For any byte input: no crash or sanitizer report; the output fits
 * catz_normalize_bound(); it is valid UTF-8 with no leading, trailing or
 * double space; normalizing it again gives it back unchanged.  A
 * violation aborts, which libFuzzer reports as a crash.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a violated property and abort */
static void
fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_normalize: %s (input of %zu bytes)\n", what, size);
	abort();
}

/* Is s[0..len) valid UTF-8 (no overlongs, surrogates or values > U+10FFFF) */
static int
valid_utf8(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n;
		uint32_t	cp;
		uint32_t	min;
		size_t		k;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC0 && c < 0xE0)
		{
			n = 1;
			min = 0x80;
		}
		else if (c >= 0xE0 && c < 0xF0)
		{
			n = 2;
			min = 0x800;
		}
		else if (c >= 0xF0 && c < 0xF8)
		{
			n = 3;
			min = 0x10000;
		}
		else
			return 0;
		cp = c & (0x3F >> n);	/* payload bits of the lead byte */
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Check the shape of an output: no stray spaces, valid UTF-8 */
static void
check_shape(const char *out, size_t len, size_t size)
{
	size_t		i;

	if (len > 0 && (out[0] == ' ' || out[len - 1] == ' '))
		fail("leading or trailing space", size);
	for (i = 0; i + 1 < len; i++)
		if (out[i] == ' ' && out[i + 1] == ' ')
			fail("double space", size);
	if (!valid_utf8((const unsigned char *) out, len))
		fail("output is not valid UTF-8", size);
}

/* Check every output property for one input */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *) data;
	size_t		bound = catz_normalize_bound(size);
	char	   *out = malloc(bound > 0 ? bound : 1);
	char	   *again;
	size_t		len;
	size_t		alen;
	size_t		cap;

	if (out == NULL)
		return 0;
	len = catz_normalize(in, size, out, bound);
	if (len > bound)
		fail("output exceeds the bound", size);
	check_shape(out, len, size);

	/* normalizing the output changes nothing */
	again = malloc(catz_normalize_bound(len) + 1);
	if (again != NULL)
	{
		alen = catz_normalize(out, len, again, catz_normalize_bound(len));
		if (alen != len || memcmp(again, out, len) != 0)
			fail("not idempotent", size);
		free(again);
	}

	/* a smaller buffer truncates at a word boundary and is not overrun */
	cap = len / 2;
	free(out);
	out = malloc(cap > 0 ? cap : 1);	/* exact size, so ASan sees overruns */
	if (out != NULL)
	{
		len = catz_normalize(in, size, out, cap);
		if (len > cap)
			fail("output exceeds outcap", size);
		check_shape(out, len, size);
		free(out);
	}
	return 0;
}
