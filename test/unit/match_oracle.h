/*-------------------------------------------------------------------------
 *
 * match_oracle.h
 *	  Brute-force reference for catz_set_match, shared by the unit tests
 *	  and the fuzz target.
 *
 * brute_match() compares every merchant/keyword pattern's word sequence
 * with every position of the text's word sequence; OccList collects
 * (entry, start_word, end_word) triples from either side, and
 * occ_equal() compares two lists as multisets.  texts_match_alone()
 * checks catz_set_match_texts against catz_set_match text by text.  Quadratic and simple on
 * purpose: it is the definition that the automaton must agree with.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_MATCH_ORACLE_H
#define CATZ_MATCH_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"

/* One reported occurrence */
typedef struct Occ
{
	uint32_t	entry;
	uint32_t	start;			/* first word, counted from 0 */
	uint32_t	end;			/* one past the last word */
} Occ;

/* A growable list of occurrences */
typedef struct OccList
{
	Occ		   *v;
	size_t		n;
	size_t		cap;
} OccList;

/* Append one occurrence (aborts on out of memory: test code) */
static inline void
occ_push(OccList *list, uint32_t entry, uint32_t start, uint32_t end)
{
	if (list->n == list->cap)
	{
		list->cap = list->cap ? list->cap * 2 : 16;
		list->v = realloc(list->v, list->cap * sizeof(Occ));
		if (list->v == NULL)
			abort();
	}
	list->v[list->n].entry = entry;
	list->v[list->n].start = start;
	list->v[list->n].end = end;
	list->n++;
}

/* CatzMatchFn that appends to the OccList in arg */
static inline bool
occ_collect(void *arg, uint32_t entry, uint32_t start_word, uint32_t end_word)
{
	occ_push((OccList *) arg, entry, start_word, end_word);
	return true;
}

/* Order occurrences by (end, start, entry) */
static inline int
occ_cmp(const void *a, const void *b)
{
	const Occ  *x = a;
	const Occ  *y = b;

	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->entry != y->entry)
		return x->entry < y->entry ? -1 : 1;
	return 0;
}

/* Do two lists hold the same multiset of occurrences?  Sorts both. */
static inline bool
occ_equal(OccList *a, OccList *b)
{
	if (a->n != b->n)
		return false;
	if (a->n == 0)
		return true;
	qsort(a->v, a->n, sizeof(Occ), occ_cmp);
	qsort(b->v, b->n, sizeof(Occ), occ_cmp);
	return memcmp(a->v, b->v, a->n * sizeof(Occ)) == 0;
}

/* Free a list's storage */
static inline void
occ_free(OccList *list)
{
	free(list->v);
	list->v = NULL;
	list->n = list->cap = 0;
}

/* Do two lists hold the same occurrences in the same order? */
static inline bool
occ_same_order(const OccList *a, const OccList *b)
{
	return a->n == b->n &&
		(a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(Occ)) == 0);
}

/* Where catz_set_match_texts' callback collects: one list per text */
typedef struct OccTexts
{
	const CatzSet *set;
	OccList    *lists;			/* [ntexts] */
	uint32_t	ntexts;
} OccTexts;

/*
 * CatzTextMatchFn that appends to the list of the text, under the entry's
 * index (found by a scan: test sets are small), as catz_set_match reports it
 */
static inline bool
occ_collect_texts(void *arg, uint32_t text, const CatzEntry *entry,
				  uint32_t start_word, uint32_t end_word)
{
	OccTexts   *t = arg;
	uint32_t	i = 0;

	while (i < catz_set_count(t->set) && catz_set_entry(t->set, i) != entry)
		i++;
	if (text >= t->ntexts || i == catz_set_count(t->set))
		abort();
	occ_push(&t->lists[text], i, start_word, end_word);
	return true;
}

/*
 * Does catz_set_match_texts over texts report, text by text and in order,
 * what catz_set_match reports for each text alone?
 */
static inline bool
texts_match_alone(const CatzSet *set, const CatzMatchText *texts, uint32_t ntexts)
{
	OccList		together[4] = {{0}};
	OccTexts	t = {set, together, ntexts};
	bool		same = true;

	if (ntexts > 4)
		abort();
	catz_set_match_texts(set, texts, ntexts, occ_collect_texts, &t);
	for (uint32_t i = 0; i < ntexts; i++)
	{
		OccList		alone = {0};

		catz_set_match(set, texts[i].text, texts[i].len, occ_collect, &alone);
		same = same && occ_same_order(&together[i], &alone);
		occ_free(&alone);
		occ_free(&together[i]);
	}
	return same;
}

/* Split text into at most max words; returns the count */
static inline size_t
oracle_split(const char *text, size_t len, const char **words, size_t *lens,
			 size_t max)
{
	size_t		n = 0;
	size_t		i = 0;

	while (n < max)
	{
		while (i < len && text[i] == ' ')
			i++;
		if (i >= len)
			break;
		words[n] = text + i;
		while (i < len && text[i] != ' ')
			i++;
		lens[n] = (size_t) (text + i - words[n]);
		n++;
	}
	return n;
}

/* Every occurrence of every merchant/keyword pattern in text, slowly */
static inline void
brute_match(const CatzPatternInput *patterns, size_t npatterns,
			const char *text, size_t len, OccList *out)
{
	enum
	{
		MAX_TEXT_WORDS = 4096
	};
	static const char *twords[MAX_TEXT_WORDS];
	static size_t tlens[MAX_TEXT_WORDS];
	const char *pwords[CATZ_MAX_PATTERN_WORDS];
	size_t		plens[CATZ_MAX_PATTERN_WORDS];
	size_t		nt = oracle_split(text, len, twords, tlens, MAX_TEXT_WORDS);

	for (size_t p = 0; p < npatterns; p++)
	{
		size_t		np;

		if (patterns[p].kind == CATZ_KIND_REGEX)
			continue;
		np = oracle_split(patterns[p].value, patterns[p].value_len,
						  pwords, plens, CATZ_MAX_PATTERN_WORDS);
		for (size_t s = 0; np > 0 && s + np <= nt; s++)
		{
			size_t		k = 0;

			while (k < np && tlens[s + k] == plens[k] &&
				   memcmp(twords[s + k], pwords[k], plens[k]) == 0)
				k++;
			if (k == np)
				occ_push(out, (uint32_t) p, (uint32_t) s, (uint32_t) (s + np));
		}
	}
}

#endif							/* CATZ_MATCH_ORACLE_H */
