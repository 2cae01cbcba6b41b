/*-------------------------------------------------------------------------
 *
 * test_regex_literal.c
 *	  Unit tests of the regex prefilter (regex_literal.c).
 *
 * Fixed cases pin the extraction rules; a randomized property test draws
 * regexes with a string each one matches (regex_gen.h) and checks that the
 * extracted literal always occurs in that string, ignoring case, which is
 * the prefilter's only promise.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catz_core.h"
#include "regex_gen.h"
#include "unit.h"

/* Extract the literal of re into a static buffer; returns it, NUL-ended */
static const char *
literal_of(const char *re)
{
	static char buf[CATZ_MAX_PATTERN_BYTES + 1];
	size_t		n = catz_regex_required_literal(re, strlen(re), buf,
												CATZ_MAX_PATTERN_BYTES);

	buf[n] = '\0';
	return buf;
}

/* One expected extraction */
#define CHECK_LITERAL(re, want) \
	do { \
		const char *got_ = literal_of(re); \
		if (strcmp(got_, (want)) != 0) \
		{ \
			fprintf(stderr, "%s:%d: literal of \"%s\": got \"%s\", want \"%s\"\n", \
					__FILE__, __LINE__, (re), got_, (want)); \
			unit_current_failed = 1; \
		} \
	} while (0)

/* Plain literals, case folding, longest run */
static void
test_simple(void)
{
	CHECK_LITERAL("starbucks", "starbucks");
	CHECK_LITERAL("StarBucks", "starbucks");
	CHECK_LITERAL("^amzn.*mktp", "amzn");	/* first of equal length */
	CHECK_LITERAL("^amzn.*marketplace", "marketplace");
	CHECK_LITERAL("uber\\s*eats", "uber");
	CHECK_LITERAL("pay pal", "pay");
	CHECK_LITERAL("a.b.c", "a");
	CHECK_LITERAL("", "");
	CHECK_LITERAL(".*", "");
	CHECK_LITERAL("^$", "");
}

/* Quantifiers make their atom optional or end the run */
static void
test_quantifiers(void)
{
	CHECK_LITERAL("colou?r", "colo");
	CHECK_LITERAL("ab*cdef", "cdef");
	CHECK_LITERAL("ab+cd", "ab");	/* "ab" then "cd", equal length */
	CHECK_LITERAL("xab+cd", "xab");
	CHECK_LITERAL("ab{2,3}cd", "ab");
	CHECK_LITERAL("abc{0,3}d", "ab");
	CHECK_LITERAL("abc{0}defg", "defg");
	CHECK_LITERAL("ab{1}c", "ab");
	CHECK_LITERAL("abc*?d", "ab");
	CHECK_LITERAL("abc+?d", "abc");
	CHECK_LITERAL("a{,2}bc", "bc");	/* '{' not before a digit is a literal */
	CHECK_LITERAL("x{", "x");
	CHECK_LITERAL("x}yz", "yz");
	CHECK_LITERAL("x]yz", "yz");
}

/* Groups count only when mandatory and without alternatives */
static void
test_groups(void)
{
	CHECK_LITERAL("(walmart)", "walmart");
	CHECK_LITERAL("(?:wal)+mart", "mart");
	CHECK_LITERAL("x(abcd)?y", "x");
	CHECK_LITERAL("x(abcd)*y", "x");
	CHECK_LITERAL("x(abcd){0,2}y", "x");
	CHECK_LITERAL("x(abcd){1,2}y", "abcd");
	CHECK_LITERAL("(foo|barbaz)qux", "qux");
	CHECK_LITERAL("((abcde)|x)qq", "qq");
	CHECK_LITERAL("(a(bcdef)g)", "bcdef");
	CHECK_LITERAL("(a(bcdef)?g)", "a");
	CHECK_LITERAL("ab(?=cdefg)", "ab");
	CHECK_LITERAL("ab(?!cdefg)", "ab");
	CHECK_LITERAL("(?<=cdefg)ab", "ab");
	CHECK_LITERAL("(?<!cdefg)ab", "ab");
	CHECK_LITERAL("ab(?#comment here)cd", "ab");
	CHECK_LITERAL("(abc))", "");	/* unbalanced */
	CHECK_LITERAL("((abc)", "");
	CHECK_LITERAL("(?:)", "");
	CHECK_LITERAL("((((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))))))", "");
}

/* Any top-level alternation gives nothing */
static void
test_alternation(void)
{
	CHECK_LITERAL("foo|bar", "");
	CHECK_LITERAL("starbucks|", "");
	CHECK_LITERAL("(a)|bcd", "");
}

/* Escapes never leak their arguments as literals */
static void
test_escapes(void)
{
	CHECK_LITERAL("\\d+store", "store");
	CHECK_LITERAL("ab\\.cd", "ab");
	CHECK_LITERAL("\\x41bcdef", "");	/* hex digits all belong to \x */
	CHECK_LITERAL("\\x41bcdefgh", "gh");
	CHECK_LITERAL("\\u00e9abcz", "abcz");	/* \u takes exactly 4 digits */
	CHECK_LITERAL("\\u00e9zz", "zz");
	CHECK_LITERAL("\\U0001F600xyz", "xyz");
	CHECK_LITERAL("\\cxyz", "yz");
	CHECK_LITERAL("\\c(abc", "abc");	/* '(' is \c's argument */
	CHECK_LITERAL("(a)\\1234bc", "bc");
	CHECK_LITERAL("\\0123ab", "ab");
	CHECK_LITERAL("\\mword\\M", "word");
	CHECK_LITERAL("\\yab\\y", "ab");
	CHECK_LITERAL("\\\\abc", "abc");
	CHECK_LITERAL("abc\\", "");		/* trailing backslash */
	CHECK_LITERAL("\\c", "");
}

/* Bracket expressions are skipped whole */
static void
test_brackets(void)
{
	CHECK_LITERAL("[abc]def", "def");
	CHECK_LITERAL("[]abc]de", "de");
	CHECK_LITERAL("[^]abc]de", "de");
	CHECK_LITERAL("[[:alpha:]]+xyz", "xyz");
	CHECK_LITERAL("[[.].]]abc", "abc");
	CHECK_LITERAL("[[=e=]]abc", "abc");
	CHECK_LITERAL("[\\]abcd]ef", "ef");
	CHECK_LITERAL("[a(|]bcd", "bcd");	/* '(' and '|' are members */
	CHECK_LITERAL("[abc", "");
	CHECK_LITERAL("[[:alpha:]", "");
	CHECK_LITERAL("[[:alpha", "");
}

/* Directors and embedded options */
static void
test_options(void)
{
	CHECK_LITERAL("(?i)Uber", "uber");
	CHECK_LITERAL("(?ic)Uber", "uber");
	CHECK_LITERAL("***:(?i)Uber", "uber");
	CHECK_LITERAL("***:uber", "uber");
	CHECK_LITERAL("***=a.b*(cd", "cd");
	CHECK_LITERAL("***=", "");
	CHECK_LITERAL("(?q)a.b*(cdx|", "cdx");
	CHECK_LITERAL("***xyz", "");
	CHECK_LITERAL("(?x)a b c", "");	/* expanded syntax: not handled */
	CHECK_LITERAL("(?b)abc", "");	/* BRE */
	CHECK_LITERAL("(?e)abc", "");	/* ERE */
	CHECK_LITERAL("(?z)abc", "");	/* unknown option */
	CHECK_LITERAL("(?i", "");
	CHECK_LITERAL("ab(?i)cd", "");	/* options only at the start */
	CHECK_LITERAL("*abc", "");
	CHECK_LITERAL("a**", "");
	CHECK_LITERAL("a{3,2}", "");
	CHECK_LITERAL("a{256}", "");
	CHECK_LITERAL("a{1x}", "");
}

/* The output is truncated to outcap, and never written past it */
static void
test_outcap(void)
{
	char		buf[8];

	memset(buf, '#', sizeof(buf));
	CHECK(catz_regex_required_literal("abcdefgh", 8, buf, 3) == 3);
	CHECK(memcmp(buf, "abc###", 6) == 0);
	CHECK(catz_regex_required_literal("abcdefgh", 8, buf, 0) == 0);
	CHECK(catz_regex_required_literal(NULL, 0, buf, 8) == 0);
	CHECK(catz_regex_required_literal("AB", 2, buf, 8) == 2);
	CHECK(memcmp(buf, "ab", 2) == 0);
}

/* Case-insensitive substring search */
static void
test_contains_ci(void)
{
	CHECK(catz_contains_ci("Hello World", 11, "world", 5));
	CHECK(catz_contains_ci("Hello World", 11, "HELLO", 5));
	CHECK(catz_contains_ci("Hello World", 11, "o w", 3));
	CHECK(!catz_contains_ci("Hello World", 11, "worlds", 6));
	CHECK(!catz_contains_ci("Hello", 5, "hellooo", 7));
	CHECK(catz_contains_ci("", 0, "", 0));
	CHECK(catz_contains_ci("abc", 3, "", 0));
	CHECK(!catz_contains_ci("", 0, "a", 1));
	CHECK(catz_contains_ci("aAaAb", 5, "aab", 3));
	CHECK(catz_contains_ci("xxAB", 4, "ab", 2));	/* at the very end */
	CHECK(catz_contains_ci("ab", 2, "AB", 2));
	CHECK(!catz_contains_ci("a-b", 3, "a_b", 3));
	CHECK(catz_contains_ci("1-2", 3, "1-2", 3));
	CHECK(!catz_contains_ci("\xC3\xA9", 2, "\xC3\x89", 2));	/* ASCII only */
	CHECK(catz_contains_ci("x\0y", 3, "\0Y", 2));
}

/* The trigram prefilter: never a false negative, few false positives */
static void
test_trigrams(void)
{
	static const char alphabet[] = "abcAB -1*";
	CatzTrigramSet set;
	char		text[64];
	char		needle[8];
	int			i;
	int			positives = 0;
	int			false_positives = 0;
	uint64_t	x = 12345;

	catz_trigrams_of("POS STARBUCKS #12", 17, &set);
	CHECK(catz_trigrams_may_contain(&set, "starbucks", 9));
	CHECK(catz_trigrams_may_contain(&set, "S ST", 4));
	CHECK(!catz_trigrams_may_contain(&set, "costa", 5));
	CHECK(catz_trigrams_may_contain(&set, "zz", 2));	/* too short to say */
	catz_trigrams_of("", 0, &set);
	CHECK(!catz_trigrams_may_contain(&set, "abc", 3));
	/* two texts added to one set: a literal of either may be there */
	CHECK(catz_trigrams_add("costa coffee", 12, &set));	/* plain ASCII */
	CHECK(catz_trigrams_add("UBER EATS", 9, &set));
	CHECK(!catz_trigrams_add("caf\xc3\xa9", 5, &set));
	CHECK(catz_trigrams_add("", 0, &set));
	CHECK(catz_trigrams_may_contain(&set, "costa", 5));
	CHECK(catz_trigrams_may_contain(&set, "uber eats", 9));
	CHECK(!catz_trigrams_may_contain(&set, "starbucks", 9));

	for (i = 0; i < 20000; i++)
	{
		int			tlen;
		int			nlen;
		int			j;
		bool		contains;
		bool		may;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		tlen = (int) ((x >> 33) % 40);
		nlen = 3 + (int) ((x >> 20) % 4);
		for (j = 0; j < tlen; j++)
		{
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			text[j] = alphabet[(x >> 33) % (sizeof(alphabet) - 1)];
		}
		for (j = 0; j < nlen; j++)
		{
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			needle[j] = alphabet[(x >> 33) % (sizeof(alphabet) - 1)];
		}
		catz_trigrams_of(text, tlen, &set);
		contains = catz_contains_ci(text, tlen, needle, nlen);
		may = catz_trigrams_may_contain(&set, needle, nlen);
		CHECK(!contains || may);
		positives += contains;
		false_positives += (may && !contains);
	}
	CHECK(positives > 100);
	CHECK(false_positives < positives);
}

/* Deterministic pseudo-random numbers (splitmix64) */
static uint64_t rng_state = 0xC0FFEE;

/* Random value in [0, n), as regex_gen wants it */
static uint32_t
rng_below(void *ctx, uint32_t n)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	(void) ctx;
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return (uint32_t) ((z ^ (z >> 31)) % n);
}

/* Random regexes: the literal always occurs in a string the regex matches */
static void
test_random_soundness(void)
{
	static RegexGen g;
	int			cases = 0;
	int			with_literal = 0;
	int			failures = 0;

	g.below = rng_below;
	g.ctx = NULL;
	while (cases < 200000 && failures < 5)
	{
		char		lit[GEN_RE_CAP];
		size_t		n;

		if (!regex_gen(&g))
			continue;
		cases++;
		n = catz_regex_required_literal(g.re, g.re_len, lit, sizeof(lit));
		with_literal += (n > 0);
		for (size_t i = 0; i < n; i++)
			CHECK((lit[i] >= 'a' && lit[i] <= 'z') || (lit[i] >= '0' && lit[i] <= '9'));
		if (!catz_contains_ci(g.sample, g.sample_len, lit, n))
		{
			fprintf(stderr, "regex \"%s\" matches \"%.*s\" but literal is \"%.*s\"\n",
					g.re, (int) g.sample_len, g.sample, (int) n, lit);
			unit_current_failed = 1;
			failures++;
		}
	}
	/* The generator must exercise extraction, not only the no-literal case */
	CHECK(with_literal > cases / 4);
}

int
main(void)
{
	UNIT_RUN(test_simple);
	UNIT_RUN(test_quantifiers);
	UNIT_RUN(test_groups);
	UNIT_RUN(test_alternation);
	UNIT_RUN(test_escapes);
	UNIT_RUN(test_brackets);
	UNIT_RUN(test_options);
	UNIT_RUN(test_outcap);
	UNIT_RUN(test_contains_ci);
	UNIT_RUN(test_trigrams);
	UNIT_RUN(test_random_soundness);
	UNIT_DONE("test_regex_literal");
}
