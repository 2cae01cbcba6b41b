/*-------------------------------------------------------------------------
 *
 * regex_literal.c
 *	  Required-literal extraction from PostgreSQL regular expressions, a
 *	  cheap prefilter before running the real regex engine.
 *
 * catz_regex_required_literal() reads a regex in PostgreSQL's ARE syntax
 * (the flavour of ~, ~* and regexp_*) and finds a run of ASCII letters and
 * digits that every match must contain.  It does not compile the regex;
 * it walks the source once, keeping a stack of open groups.  At each
 * nesting level it tracks the current run of plain literal characters and
 * the longest run completed so far.  A run ends at anything that is not a
 * plain ASCII letter or digit (escapes, brackets, '.', anchors, other
 * characters, group boundaries).  A quantifier that allows zero
 * repetitions ('?', '*', {0,n}) drops its atom; one that allows several
 * ('+', {m,n} with m >= 1) keeps one copy of its atom and ends the run.
 * When a group closes, its best run is offered to the enclosing level
 * only if the group is mandatory: not a lookaround, no '|' inside it, and
 * no quantifier that allows zero repetitions.
 *
 * Invariant: the result is conservative.  Anything not understood (a
 * top-level '|', BRE/ERE or expanded-syntax options, deep nesting, invalid
 * syntax) gives length 0, "no prefilter".  The literal is lower-cased, and
 * is meant for catz_contains_ci().  That is sound for case-insensitive
 * matching too, because PostgreSQL pairs an ASCII letter only with its
 * ASCII other case under the database's default collation, C and ICU
 * (regc_pg_locale.c).  Under an explicit non-default libc collation such
 * as tr_TR, (?i)i also matches U+0130, so callers run prefiltered regexes
 * with the default collation.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"
#include "core_util.h"

#include <string.h>

/* Groups nested deeper than this give no literal */
#define MAX_GROUP_DEPTH		32

/* PostgreSQL's limit on a bound, {m,n} */
#define MAX_BOUND			255

/* What was found where a quantifier may follow an atom */
typedef enum QuantResult
{
	QUANT_NONE,					/* no quantifier: exactly one occurrence */
	QUANT_FOUND,
	QUANT_INVALID				/* malformed: the regex would not compile */
} QuantResult;

/* One nesting level: the top level or an open group */
typedef struct LitLevel
{
	size_t		best_start;		/* longest run proven at this level */
	size_t		best_len;		/* in bytes; 0 = none yet */
	bool		alternation;	/* '|' seen at this level */
	bool		counts;			/* false for lookaround constraints */
} LitLevel;

/* Is c an ASCII letter or digit? */
static inline bool
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z');
}

/* Is c an ASCII digit? */
static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Is c an ASCII hexadecimal digit? */
static inline bool
is_xdigit(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Copy src[0..len) lower-cased into out, truncated to outcap */
static size_t
emit(const char *src, size_t len, char *out, size_t outcap)
{
	if (len > outcap)
		len = outcap;			/* a prefix of a required string is required */
	for (size_t i = 0; i < len; i++)
		out[i] = (char) catz_ascii_fold((unsigned char) src[i]);
	return len;
}

/* Emit the longest alnum run of text that is matched literally */
static size_t
emit_longest_run(const char *s, size_t len, char *out, size_t outcap)
{
	size_t		best_start = 0;
	size_t		best_len = 0;
	size_t		i = 0;

	while (i < len)
	{
		size_t		start = i;

		while (i < len && is_alnum((unsigned char) s[i]))
			i++;
		if (i - start > best_len)
		{
			best_start = start;
			best_len = i - start;
		}
		if (i == start)
			i++;
	}
	return emit(s + best_start, best_len, out, outcap);
}

/* Offer the run [start, start + len) as the level's best */
static inline void
offer(LitLevel *level, size_t start, size_t len)
{
	if (len > level->best_len)
	{
		level->best_start = start;
		level->best_len = len;
	}
}

/* Read a decimal bound number; values above MAX_BOUND saturate */
static unsigned
read_bound(const char *re, size_t len, size_t *pos)
{
	unsigned	n = 0;

	while (*pos < len && is_digit((unsigned char) re[*pos]))
	{
		if (n <= MAX_BOUND)
			n = n * 10 + (unsigned) (re[*pos] - '0');
		(*pos)++;
	}
	return n;
}

/* Does a quantifier start at re[i]? */
static inline bool
starts_quantifier(const char *re, size_t len, size_t i)
{
	return i < len &&
		(re[i] == '*' || re[i] == '+' || re[i] == '?' ||
		 (re[i] == '{' && i + 1 < len && is_digit((unsigned char) re[i + 1])));
}

/*
 * Parse the quantifier at *pos, if any, and advance past it; *min is its
 * least repetition count.  '{' not followed by a digit is a literal in
 * ARE syntax, not a bound.
 */
static QuantResult
parse_quantifier(const char *re, size_t len, size_t *pos, unsigned *min)
{
	size_t		i = *pos;
	unsigned	lo;

	if (!starts_quantifier(re, len, i))
		return QUANT_NONE;
	if (re[i] == '{')
	{
		unsigned	hi;

		i++;
		lo = hi = read_bound(re, len, &i);
		if (i < len && re[i] == ',')
		{
			i++;
			hi = MAX_BOUND;
			if (i < len && is_digit((unsigned char) re[i]))
				hi = read_bound(re, len, &i);
		}
		if (i >= len || re[i] != '}' || lo > hi || hi > MAX_BOUND)
			return QUANT_INVALID;
		i++;
	}
	else
	{
		lo = (re[i] == '+') ? 1 : 0;
		i++;
	}

	if (i < len && re[i] == '?')
		i++;					/* non-greedy */
	if (starts_quantifier(re, len, i))
		return QUANT_INVALID;	/* nested quantifiers are an error */
	*pos = i;
	*min = lo;
	return QUANT_FOUND;
}

/*
 * Skip the escape at *pos (a backslash).  Escapes that take arguments
 * consume at least as many characters as PostgreSQL's lexer would, so no
 * argument is ever mistaken for a literal.  Returns false on a trailing
 * backslash.
 */
static bool
skip_escape(const char *re, size_t len, size_t *pos)
{
	size_t		i = *pos + 1;
	unsigned char c;

	if (i >= len)
		return false;
	c = (unsigned char) re[i++];
	if (c == 'c')
	{
		if (i >= len)
			return false;
		i++;					/* \cX: X is any character */
	}
	else if (c == 'x')
	{
		while (i < len && is_xdigit((unsigned char) re[i]))
			i++;
	}
	else if (c == 'u' || c == 'U')
	{
		int			ndigits = (c == 'u') ? 4 : 8;

		for (int n = 0; n < ndigits && i < len &&
			 is_xdigit((unsigned char) re[i]); n++)
			i++;
	}
	else if (is_digit(c))
	{
		/* back reference or octal escape: take every digit */
		while (i < len && is_digit((unsigned char) re[i]))
			i++;
	}
	*pos = i;
	return true;
}

/* Skip the bracket expression at *pos; false if it is not terminated */
static bool
skip_bracket(const char *re, size_t len, size_t *pos)
{
	size_t		i = *pos + 1;

	if (i < len && re[i] == '^')
		i++;
	if (i < len && re[i] == ']')
		i++;					/* a leading ']' is a member */
	while (i < len)
	{
		char		c = re[i];

		if (c == ']')
		{
			*pos = i + 1;
			return true;
		}
		if (c == '[' && i + 1 < len &&
			(re[i + 1] == ':' || re[i + 1] == '.' || re[i + 1] == '='))
		{
			/* [:class:], [.collating element.] or [=equivalence class=] */
			char		delim = re[i + 1];
			size_t		j = i + 2;

			while (j + 1 < len && !(re[j] == delim && re[j + 1] == ']'))
				j++;
			if (j + 1 >= len)
				return false;
			i = j + 2;
		}
		else if (c == '\\')
			i += (i + 1 < len && re[i + 1] == 'c') ? 3 : 2;
		else
			i++;
	}
	return false;
}

/* Find the required literal of an ARE body (no director, no options) */
static size_t
are_required_literal(const char *re, size_t len, char *out, size_t outcap)
{
	LitLevel	levels[MAX_GROUP_DEPTH + 1];
	int			depth = 0;
	size_t		run_start = 0;
	size_t		run_len = 0;
	size_t		i = 0;

	levels[0] = (LitLevel) {0, 0, false, true};

	while (i < len)
	{
		unsigned char c = (unsigned char) re[i];
		size_t		atom = i;
		unsigned	min = 1;
		QuantResult quant;

		if (c == '(')
		{
			bool		counts = true;

			i++;
			if (i < len && re[i] == '?')
			{
				if (i + 1 < len && re[i + 1] == ':')
					i += 2;
				else if (i + 1 < len && (re[i + 1] == '=' || re[i + 1] == '!'))
				{
					counts = false;
					i += 2;
				}
				else if (i + 2 < len && re[i + 1] == '<' &&
						 (re[i + 2] == '=' || re[i + 2] == '!'))
				{
					counts = false;
					i += 3;
				}
				else if (i + 1 < len && re[i + 1] == '#')
				{
					/* a comment, (?#...): no nesting, ends at ')' */
					const char *close = memchr(re + i, ')', len - i);

					if (close == NULL)
						return 0;
					offer(&levels[depth], run_start, run_len);
					run_len = 0;
					i = (size_t) (close - re) + 1;
					continue;
				}
				else
					return 0;	/* options are only allowed at the start */
			}
			offer(&levels[depth], run_start, run_len);
			run_len = 0;
			if (depth == MAX_GROUP_DEPTH)
				return 0;
			levels[++depth] = (LitLevel) {0, 0, false, counts};
			continue;
		}

		if (c == ')')
		{
			LitLevel   *inner;

			if (depth == 0)
				return 0;		/* unbalanced */
			offer(&levels[depth], run_start, run_len);
			run_len = 0;
			inner = &levels[depth--];
			i++;
			quant = parse_quantifier(re, len, &i, &min);
			if (quant == QUANT_INVALID)
				return 0;
			if (inner->counts && !inner->alternation && min >= 1)
				offer(&levels[depth], inner->best_start, inner->best_len);
			continue;
		}

		if (c == '|')
		{
			offer(&levels[depth], run_start, run_len);
			run_len = 0;
			levels[depth].alternation = true;
			i++;
			continue;
		}

		/* A quantifier with nothing to repeat is an error */
		if (starts_quantifier(re, len, i))
			return 0;

		/* Anything else is one atom, possibly quantified */
		if (c == '[')
		{
			if (!skip_bracket(re, len, &i))
				return 0;
		}
		else if (c == '\\')
		{
			if (!skip_escape(re, len, &i))
				return 0;
		}
		else
			i++;
		quant = parse_quantifier(re, len, &i, &min);
		if (quant == QUANT_INVALID)
			return 0;

		if (!is_alnum(c) || quant != QUANT_NONE)
		{
			/* A repeated letter: one copy is certain, but not what follows */
			if (is_alnum(c) && min >= 1)
			{
				if (run_len == 0)
					run_start = atom;
				run_len++;
			}
			offer(&levels[depth], run_start, run_len);
			run_len = 0;
			continue;
		}
		if (run_len == 0)
			run_start = atom;
		run_len++;
	}

	if (depth != 0)
		return 0;				/* unbalanced */
	offer(&levels[0], run_start, run_len);
	if (levels[0].alternation)
		return 0;
	return emit(re + levels[0].best_start, levels[0].best_len, out, outcap);
}

/* Find a lower-case literal that every match of the regex contains */
size_t
catz_regex_required_literal(const char *re, size_t len, char *out, size_t outcap)
{
	size_t		i = 0;

	if (re == NULL || outcap == 0)
		return 0;

	/* Directors: ***: is an ARE, ***= a literal string */
	if (len >= 3 && memcmp(re, "***", 3) == 0)
	{
		if (len >= 4 && re[3] == ':')
			i = 4;
		else if (len >= 4 && re[3] == '=')
			return emit_longest_run(re + 4, len - 4, out, outcap);
		else
			return 0;
	}

	/* Embedded options, (?xyz), are allowed only at the start */
	if (i + 2 < len && re[i] == '(' && re[i + 1] == '?' &&
		((re[i + 2] >= 'a' && re[i + 2] <= 'z') ||
		 (re[i + 2] >= 'A' && re[i + 2] <= 'Z')))
	{
		bool		literal_rest = false;

		for (i += 2; i < len && re[i] != ')'; i++)
		{
			switch (re[i])
			{
				case 'q':
					literal_rest = true;
					break;
				case 'c':
				case 'i':
				case 'm':
				case 'n':
				case 'p':
				case 's':
				case 't':
				case 'w':
					break;
				default:
					/* BRE/ERE (b, e), expanded syntax (x), or an error */
					return 0;
			}
		}
		if (i >= len)
			return 0;
		i++;
		if (literal_rest)
			return emit_longest_run(re + i, len - i, out, outcap);
	}

	return are_required_literal(re + i, len - i, out, outcap);
}

/* Compare n bytes ignoring ASCII case */
static inline bool
equal_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (catz_ascii_fold((unsigned char) a[i]) != catz_ascii_fold((unsigned char) b[i]))
			return false;
	return true;
}

/* First occurrence of byte c in [p, end), or NULL */
static inline const char *
find_byte(const char *p, const char *end, unsigned char c)
{
	return p < end ? memchr(p, c, (size_t) (end - p)) : NULL;
}

/*
 * Does hay contain needle, ignoring ASCII case?  Candidates are found with
 * memchr on both cases of the needle's first byte, each scan resuming
 * where it stopped, then checked on the last byte and on the whole
 * needle.  Worst case O(hlen * nlen) on repetitive input; needles are
 * literals of at most CATZ_MAX_PATTERN_BYTES.
 */
bool
catz_contains_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const char *end;			/* last possible start + 1 */
	unsigned char first_lower;
	unsigned char first_upper;
	unsigned char last;
	const char *lower_hit;
	const char *upper_hit;

	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;

	end = hay + (hlen - nlen) + 1;
	first_lower = catz_ascii_fold((unsigned char) needle[0]);
	first_upper = (first_lower >= 'a' && first_lower <= 'z') ?
		(unsigned char) (first_lower - ('a' - 'A')) : first_lower;
	last = catz_ascii_fold((unsigned char) needle[nlen - 1]);

	lower_hit = find_byte(hay, end, first_lower);
	upper_hit = NULL;
	if (first_upper != first_lower)
		upper_hit = find_byte(hay, end, first_upper);
	while (lower_hit != NULL || upper_hit != NULL)
	{
		const char *cand;

		if (upper_hit == NULL || (lower_hit != NULL && lower_hit < upper_hit))
		{
			cand = lower_hit;
			lower_hit = find_byte(cand + 1, end, first_lower);
		}
		else
		{
			cand = upper_hit;
			upper_hit = find_byte(cand + 1, end, first_upper);
		}
		if (catz_ascii_fold((unsigned char) cand[nlen - 1]) == last &&
			equal_ci(cand + 1, needle + 1, nlen - 1))
			return true;
	}
	return false;
}

void
catz_trigrams_of(const char *text, size_t len, CatzTrigramSet *set)
{
	memset(set, 0, sizeof(*set));
	(void) catz_trigrams_add(text, len, set);
}

bool
catz_trigrams_add(const char *text, size_t len, CatzTrigramSet *set)
{
	uint32_t	key = 0;
	unsigned char high = 0;		/* the bytes' top bits, or-ed */
	size_t		i;

	/* each byte folded once, the key rolled along the text */
	for (i = 0; i < len; i++)
	{
		high |= (unsigned char) text[i];
		key = ((key << 8) | catz_ascii_fold((unsigned char) text[i])) & 0xFFFFFFu;
		if (i >= 2)
		{
			uint32_t	bit = catz_trigram_key_bit(key, CATZ_TRIGRAM_LOG2_BITS);

			set->bits[bit / 64] |= (uint64_t) 1 << (bit % 64);
		}
	}
	return (high & 0x80) == 0;
}

bool
catz_trigrams_may_contain(const CatzTrigramSet *set, const char *needle, size_t nlen)
{
	return catz_trigram_bits_cover(set->bits, CATZ_TRIGRAM_LOG2_BITS, needle, nlen);
}
