/*-------------------------------------------------------------------------
 *
 * match_ops.c
 *	  The match operators @~ and ~@ and their GIN operator class,
 *	  categorize.match_ops.
 *
 *	text @~ pattern		the text contains the pattern: the words of
 *						categorize.normalize(pattern) appear, in order and
 *						next to each other, among the words of
 *						categorize.normalize(text).  This is how merchant and
 *						keyword patterns match in categorize().
 *	pattern ~@ text		the same, with the pattern on the left (commutator).
 *
 * A pattern that normalizes to no words matches nothing.
 *
 * The GIN key of a text is each of its normalized words, hashed to int4.
 *	Strategy 1 (indexed text @~ query pattern): every word of the pattern
 *		must be among the item's keys; then the order and adjacency are
 *		rechecked.
 *	Strategy 2 (indexed pattern ~@ query text): an item is a candidate if
 *		any of its words is among the text's words (GIN cannot see that an
 *		item has no other keys); the recheck keeps the real matches.  A
 *		pattern shorter than any key unit does not exist here: the key unit
 *		is the word, and a pattern has at least one word.
 * Both always recheck: the index is lossy (hash collisions, word order).
 *
 * The operators depend only on their arguments (normalize() is immutable),
 * so they are IMMUTABLE and an index on them stays valid.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/gin.h"
#include "access/stratnum.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "base/base.h"

PG_FUNCTION_INFO_V1(categorize_match_contains);
PG_FUNCTION_INFO_V1(categorize_match_contained);
PG_FUNCTION_INFO_V1(categorize_match_extract_value);
PG_FUNCTION_INFO_V1(categorize_match_extract_query);
PG_FUNCTION_INFO_V1(categorize_match_consistent);
PG_FUNCTION_INFO_V1(categorize_match_triconsistent);

/* Strategy numbers of categorize.match_ops */
#define CATZ_STRATEGY_CONTAINS		1	/* indexed text @~ pattern */
#define CATZ_STRATEGY_CONTAINED		2	/* indexed pattern ~@ text */

/* Seed of the word keys */
#define WORD_KEY_SEED	0x776f72646b657973ull

/* Normalize a text argument */
static char *
normalized(text *t, int *len)
{
	return catz_normalize_cstring(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), len);
}

/* Whether the words p[0..plen) appear, adjacent and in order, in t[0..tlen) */
static bool
words_contain(const char *t, int tlen, const char *p, int plen)
{
	int			i;

	if (plen == 0 || plen > tlen)
		return false;
	for (i = 0; i + plen <= tlen; i++)
	{
		if (i > 0 && t[i - 1] != ' ')
			continue;			/* not the start of a word */
		if ((i + plen == tlen || t[i + plen] == ' ') && memcmp(t + i, p, plen) == 0)
			return true;
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/* Whether text contains pattern (both raw; normalized here) */
static bool
match(text *doc, text *pattern)
{
	int			tlen;
	int			plen;
	char	   *t = normalized(doc, &tlen);
	char	   *p = normalized(pattern, &plen);
	bool		result = words_contain(t, tlen, p, plen);

	pfree(t);
	pfree(p);
	return result;
}

/* text @~ pattern */
Datum
categorize_match_contains(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1)));
}

/* pattern ~@ text */
Datum
categorize_match_contained(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match(PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(0)));
}

/* The distinct word keys of a text (palloc'd); *n gets their count */
static Datum *
word_keys(text *t, int32 *n)
{
	int			len;
	char	   *norm = normalized(t, &len);
	size_t		pos = 0;
	const char *w;
	size_t		wl;
	int			count = 0;
	Datum	   *keys;

	while (catz_next_word(norm, len, &pos, &w, &wl))
		count++;
	keys = palloc(sizeof(Datum) * (count ? count : 1));
	pos = 0;
	count = 0;
	while (catz_next_word(norm, len, &pos, &w, &wl))
		keys[count++] = Int32GetDatum((int32) catz_hash_bytes(w, wl, WORD_KEY_SEED));
	pfree(norm);
	*n = count;					/* GIN removes duplicate keys itself */
	return keys;
}

/* GIN extractValue: the word keys of an indexed text */
Datum
categorize_match_extract_value(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);

	PG_RETURN_POINTER(word_keys(t, nkeys));
}

/* GIN extractQuery: the word keys of the query's pattern or text */
Datum
categorize_match_extract_query(PG_FUNCTION_ARGS)
{
	text	   *query = PG_GETARG_TEXT_PP(0);
	int32	   *nkeys = (int32 *) PG_GETARG_POINTER(1);
	StrategyNumber strategy = PG_GETARG_UINT16(2);
	int32	   *searchMode = (int32 *) PG_GETARG_POINTER(6);

	if (strategy != CATZ_STRATEGY_CONTAINS && strategy != CATZ_STRATEGY_CONTAINED)
		elog(ERROR, "categorize.match_ops: unknown strategy %d", strategy);

	/* No words: nothing matches (the default search mode returns nothing) */
	*searchMode = GIN_SEARCH_MODE_DEFAULT;
	PG_RETURN_POINTER(word_keys(query, nkeys));
}

/* GIN consistent: candidates, always rechecked */
Datum
categorize_match_consistent(PG_FUNCTION_ARGS)
{
	bool	   *check = (bool *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	int32		nkeys = PG_GETARG_INT32(3);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(5);
	bool		all = true;
	bool		any = false;
	int32		i;

	for (i = 0; i < nkeys; i++)
	{
		all &= check[i];
		any |= check[i];
	}
	*recheck = true;
	PG_RETURN_BOOL(strategy == CATZ_STRATEGY_CONTAINS ? all : any);
}

/* GIN triConsistent: the same with GIN_MAYBE */
Datum
categorize_match_triconsistent(PG_FUNCTION_ARGS)
{
	GinTernaryValue *check = (GinTernaryValue *) PG_GETARG_POINTER(0);
	StrategyNumber strategy = PG_GETARG_UINT16(1);
	int32		nkeys = PG_GETARG_INT32(3);
	bool		any_false = false;
	bool		any_true = false;
	int32		i;

	for (i = 0; i < nkeys; i++)
	{
		if (check[i] == GIN_FALSE)
			any_false = true;
		else if (check[i] == GIN_TRUE)
			any_true = true;
	}
	if (strategy == CATZ_STRATEGY_CONTAINS)
		PG_RETURN_GIN_TERNARY_VALUE(any_false ? GIN_FALSE : GIN_MAYBE);
	/* CONTAINED: a candidate needs one of its words among the text's */
	if (any_true)
		PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
	for (i = 0; i < nkeys; i++)
		if (check[i] == GIN_MAYBE)
			PG_RETURN_GIN_TERNARY_VALUE(GIN_MAYBE);
	PG_RETURN_GIN_TERNARY_VALUE(GIN_FALSE);
}
