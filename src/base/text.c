/*-------------------------------------------------------------------------
 *
 * text.c
 *	  Text helpers over the core: normalization into palloc'd strings, and
 *	  the check that a regex pattern compiles.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "utils/memutils.h"

#include "base/base.h"


size_t
catz_normalize_capacity(size_t len)
{
	size_t		cap = catz_normalize_bound(len);

	if (cap >= MaxAllocSize - VARHDRSZ - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("text of %zu bytes is too long to categorize", len),
				 errdetail("Texts up to %zu bytes can be normalized.",
						   (size_t) (MaxAllocSize - VARHDRSZ - 2) / (cap / Max(len, 1)))));
	return cap;
}

char *
catz_normalize_cstring(const char *text, int len, int *outlen)
{
	size_t		cap = catz_normalize_capacity((size_t) len);
	char	   *out = palloc(cap + 1);
	size_t		n = catz_normalize(text, (size_t) len, out, cap);

	out[n] = '\0';
	if (outlen)
		*outlen = (int) n;
	return out;
}

/* Compile a regex to validate it; report a bad one with SQLSTATE 2201B */
void
catz_validate_regex(const char *pattern, int len)
{
	pg_wchar   *wide = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(pattern, wide, len);
	regex_t		re;
	int			rc;

	rc = pg_regcomp(&re, wide, wlen, REG_ADVANCED | REG_ICASE, DEFAULT_COLLATION_OID);
	pfree(wide);
	if (rc == REG_OKAY)
	{
		pg_regfree(&re);
		return;
	}
	if (rc == REG_CANCEL)
		CHECK_FOR_INTERRUPTS();
	{
		char		msg[256];

		pg_regerror(rc, &re, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression in pattern: %s", msg),
				 errdetail("The pattern was \"%.*s\".", len > 200 ? 200 : len, pattern)));
	}
}
