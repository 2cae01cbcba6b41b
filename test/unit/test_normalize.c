/*-------------------------------------------------------------------------
 *
 * test_normalize.c
 *	  Unit tests of catz_normalize() and the generated Unicode tables.
 *
 * One test function per rule of the "Normalization" section of
 * catz_core.h, then properties checked on every case and on a
 * pseudo-random corpus: the output fits catz_normalize_bound(), is
 * words of CATZ_UC_WORD characters joined by single spaces, and
 * normalizing it again changes nothing.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "catz_core.h"
#include "unicode_tables.h"
#include "unit.h"

/* Room for the output of any literal test input */
#define SMALL_OUT	4096

/* Decode one strict UTF-8 code point at s[*i]; -1 if invalid */
static int32_t
next_code_point(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	size_t		n;
	uint32_t	cp;
	uint32_t	min;
	size_t		k;

	if (c < 0x80)
	{
		(*i)++;
		return c;
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
		return -1;
	cp = c & (0x3F >> n);		/* payload bits of the lead byte */
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++)
	{
		if ((s[*i + k] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[*i + k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*i += n + 1;
	return (int32_t) cp;
}

/* Is out[0..len) words of CATZ_UC_WORD characters joined by single spaces */
static int
well_formed(const char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *) out;
	char		scratch[CATZ_UNICODE_SCRATCH_BYTES];
	const char *map;
	uint32_t	maplen;
	size_t		i = 0;

	if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
		return 0;
	while (i < len)
	{
		int32_t		cp = next_code_point(s, len, &i);

		if (cp < 0)
			return 0;
		if (cp == ' ')
		{
			if (s[i] == ' ')
				return 0;
			continue;
		}
		if (cp < 0x80 ? !((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
			: catz_unicode_class((uint32_t) cp, scratch, &map, &maplen) != CATZ_UC_WORD)
			return 0;
	}
	return 1;
}

/*
 * Normalize in[0..len) into out (room: cap) and check the properties every
 * output must have; returns the output length.
 */
static size_t
normalize_checked(const char *in, size_t len, char *out, size_t cap)
{
	size_t		bound = catz_normalize_bound(len);
	size_t		olen;
	char	   *again;
	size_t		alen;

	CHECK(bound <= cap);
	olen = catz_normalize(in, len, out, cap);
	CHECK(olen <= bound);
	CHECK(well_formed(out, olen));

	again = malloc(catz_normalize_bound(olen) + 1);
	alen = catz_normalize(out, olen, again, catz_normalize_bound(olen));
	if (alen != olen || memcmp(again, out, olen) != 0)
	{
		fprintf(stderr, "not idempotent: \"%.*s\" -> \"%.*s\" -> \"%.*s\"\n",
				(int) len, in, (int) olen, out, (int) alen, again);
		unit_current_failed = 1;
	}
	free(again);
	return olen;
}

/* Check that a string literal (NULs allowed) normalizes to want */
#define CHECK_NORM(input, want) \
	do { \
		char		out_[SMALL_OUT]; \
		size_t		len_ = normalize_checked((input), sizeof(input) - 1, \
											 out_, sizeof(out_)); \
		CHECK_BYTES(out_, len_, (want)); \
	} while (0)

/* The examples the design card gives */
static void
test_examples(void)
{
	CHECK_NORM("POS DEBIT STARBUCKS #1234", "starbucks");
	CHECK_NORM("SQ *BLUE BOTTLE COFFEE", "blue bottle coffee");
	CHECK_NORM("TST* Joe's Pizza", "joes pizza");
	CHECK_NORM("CHECKCARD 0412 SHELL OIL 57442", "shell oil");
	CHECK_NORM("AMAZON MKTPLACE XXXX1234", "amazon mktplace");
	CHECK_NORM("www.britishgas.co.", "www britishgas co");
	CHECK_NORM("  Café   Müller  ", "cafe muller");
	CHECK_NORM("facebk  z9uj3aep92", "facebk");
	CHECK_NORM("1234", "1234");
	CHECK_NORM("", "");
	CHECK_NORM("!!!", "");
	CHECK_NORM("tesco pay at pump 4231", "tesco pay at pump");
	CHECK_NORM("aldi 97", "aldi 97");
	CHECK_NORM("7-Eleven", "7 eleven");
	/* a number after '#' is a store number whatever its length */
	CHECK_NORM("Blue Bottle #12", "blue bottle");
	CHECK_NORM("BLUE BOTTLE #9 LONDON", "blue bottle london");
	CHECK_NORM("#12", "12");
	CHECK_NORM("#1 #2", "1 2");
	CHECK_NORM("#12b", "12b");
	CHECK_NORM("Shop #97PAYPAL", "shop 97paypal");
	CHECK_NORM("z9uj3aep92 #7", "z9uj3aep92");
}

/* Rule 1: invalid UTF-8 bytes are separators, one each */
static void
test_invalid_utf8(void)
{
	CHECK_NORM("abc\xff" "def", "abc def");
	CHECK_NORM("a\x80" "b", "a b");			/* lone continuation byte */
	CHECK_NORM("a\xc0\xaf" "b", "a b");		/* overlong '/' */
	CHECK_NORM("a\xc1\xbf" "b", "a b");		/* overlong DEL */
	CHECK_NORM("a\xe0\x80\xaf" "b", "a b");	/* 3-byte overlong */
	CHECK_NORM("a\xf0\x80\x80\xaf" "b", "a b");	/* 4-byte overlong */
	CHECK_NORM("a\xed\xa0\x80" "b", "a b");	/* surrogate U+D800 */
	CHECK_NORM("a\xed\xbf\xbf" "b", "a b");	/* surrogate U+DFFF */
	CHECK_NORM("a\xf4\x90\x80\x80" "b", "a b");	/* U+110000 */
	CHECK_NORM("a\xf5\x80\x80\x80" "b", "a b");
	CHECK_NORM("a\xf8\x88\x80\x80\x80" "b", "a b");	/* 5-byte form */
	CHECK_NORM("caf\xc3", "caf");			/* truncated at the end */
	CHECK_NORM("caf\xc3" "e", "caf e");		/* truncated, then ASCII */
	CHECK_NORM("a\xe2\x82", "a");
	CHECK_NORM("a\xe2\x82" "b", "a b");
	CHECK_NORM("a\xf0\x9f\x8d" "b", "a b");
	CHECK_NORM("\xc3\xa9\xc3", "e");		/* valid é, then truncated */
	CHECK_NORM("\xff\xfe\xfd", "");
	CHECK_NORM("foo\0bar", "foo bar");		/* NUL inside the buffer */
	CHECK_NORM("\0\0\0", "");
	/* valid edge cases */
	CHECK_NORM("a\xf4\x8f\xbf\xbf" "b", "a b");	/* U+10FFFF, private use */
	CHECK_NORM("a\xef\xbf\xbf" "b", "a b");	/* U+FFFF, noncharacter */
	CHECK_NORM("\xf0\x9d\x90\x80", "a");	/* U+1D400 MATHEMATICAL BOLD A */
	CHECK_NORM("\xed\x9f\xbb", "\xed\x9f\xbb");	/* U+D7FB, a Hangul jamo */
}

/* Rule 2: folding, decomposition and dropped marks */
static void
test_characters(void)
{
	CHECK_NORM("Café", "cafe");
	CHECK_NORM("Cafe\u0301", "cafe");		/* decomposed é */
	CHECK_NORM("ｓｈｏｐ", "shop");			/* fullwidth */
	CHECK_NORM("ＳＨＯＰ　１２", "shop 12");	/* ideographic space */
	CHECK_NORM("Straße", "strasse");
	CHECK_NORM("STRAẞE", "strasse");		/* capital sharp s */
	CHECK_NORM("ΟΔΟΣ", "οδοσ");				/* Greek capital sigma */
	CHECK_NORM("οδος", "οδοσ");				/* final sigma folds too */
	CHECK_NORM("İSTANBUL", "istanbul");	/* dotted capital I */
	CHECK_NORM("Isparta ısparta", "isparta ısparta");	/* dotless i kept */
	CHECK_NORM("ﬁnance ﬂow", "finance flow");	/* ligatures */
	CHECK_NORM("Œuvre Æther", "œuvre æther");
	CHECK_NORM("Ǆemal", "dzemal");			/* DŽ: NFKD, caron dropped */
	CHECK_NORM("ŉ", "ʼn");					/* to MODIFIER LETTER APOSTROPHE */
	CHECK_NORM("Ⅻ", "xii");				/* roman numeral */
	CHECK_NORM("x²", "x2");
	CHECK_NORM("½", "1 2");				/* fraction slash separates */
	CHECK_NORM("µ", "μ");					/* micro sign to Greek mu */
	CHECK_NORM("Brand™", "brand");			/* symbols separate */
	CHECK_NORM("a+b=c", "a b c");
	CHECK_NORM("€5 off", "5 off");
	CHECK_NORM("a\tb\nc\rd\x7f" "e", "a b c d e");
	CHECK_NORM("a\xc2\xa0" "b", "a b");		/* no-break space */
	/* invisible format characters (Cf) are dropped inside a word */
	CHECK_NORM("star\u00adbucks", "starbucks");	/* soft hyphen */
	CHECK_NORM("star\u200bbucks", "starbucks");	/* zero-width space */
	CHECK_NORM("a\u200d\u2060b", "ab");		/* joiner, word joiner */
	CHECK_NORM("\u200fcafe\u200e", "cafe");		/* bidi marks */
	/* emoji */
	CHECK_NORM("☕ coffee 🍕", "coffee");
	CHECK_NORM("pizza🍕place", "pizza place");
	CHECK_NORM("👍🏽", "");
	/* right-to-left scripts: points and harakat dropped, marks removed */
	CHECK_NORM("שָׁלוֹם", "שלום");
	CHECK_NORM("مَطْعَم", "مطعم");
	CHECK_NORM("\u200fمطعم\u200e", "مطعم");
	CHECK_NORM("ﻣﻄﻌﻢ", "مطعم");				/* presentation forms */
	/* combining marks are dropped without splitting a word */
	CHECK_NORM("a\u0301\u0302b", "ab");
	CHECK_NORM("\u0301abc", "abc");
	CHECK_NORM("\u20dd", "");				/* enclosing mark alone */
	CHECK_NORM("नमस्ते", "नमसत");			/* Devanagari signs are marks */
	/* Hangul syllables decompose into jamo */
	CHECK_NORM("한국", "\u1112\u1161\u11ab\u1100\u116e\u11a8");
	CHECK_NORM("가", "\u1100\u1161");
	/* CJK ideographs are letters that map to themselves */
	CHECK_NORM("東京 タワー", "東京 タワー");
	CHECK_NORM("ｶﾌｪ", "カフェ");			/* halfwidth katakana */
	/* one code point, several words */
	CHECK_NORM("ﷺ", "صلى الله عليه وسلم");
}

/* Rule 2: an apostrophe between two word characters is dropped */
static void
test_apostrophes(void)
{
	CHECK_NORM("McDonald's", "mcdonalds");
	CHECK_NORM("McDonald’s", "mcdonalds");	/* U+2019 */
	CHECK_NORM("McDonald＇s", "mcdonalds");	/* U+FF07 */
	CHECK_NORM("'quoted'", "quoted");
	CHECK_NORM("rock 'n' roll", "rock n roll");
	CHECK_NORM("Joe''s", "joe s");
	CHECK_NORM("Joe' s", "joe s");
	CHECK_NORM("it's-a", "its a");
	CHECK_NORM("Cafe\u0301's", "cafes");	/* after a mark */
	CHECK_NORM("L'\u0301eau", "leau");		/* a mark in between */
	CHECK_NORM("a'’b", "a b");
	CHECK_NORM("'", "");
}

/* Rule 3: processor prefixes */
static void
test_processor_prefix(void)
{
	CHECK_NORM("SQ *JOES", "joes");
	CHECK_NORM("TST* CAFE", "cafe");
	CHECK_NORM("PAYPAL *EBAY", "ebay");
	CHECK_NORM("GOOGLE *YouTube", "youtube");
	CHECK_NORM("  SQ \t * JOES", "joes");
	CHECK_NORM("ABCDEFGH *X", "x");		/* 8 characters */
	CHECK_NORM("ABCDEFGHI *X", "abcdefghi x");	/* 9 is too many */
	CHECK_NORM("SQ JOE *X", "sq joe x");	/* only one leading run */
	CHECK_NORM("#SQ *X", "sq x");			/* must lead */
	CHECK_NORM("JOE'S *X", "joes x");
	CHECK_NORM("AMAZON ****1234", "amazon");	/* a card tail, not a prefix */
	CHECK_NORM("SQ **JOES", "sq joes");
	CHECK_NORM("SQ *POS 1234 DEBIT JOES", "joes");	/* then leading noise */
	CHECK_NORM("SQ *JOES 1234", "joes");
	/* noise after the '*': the prefix is the merchant's own name */
	CHECK_NORM("LYFT *2276605635 SAN FRANCISCO CA", "lyft san francisco ca");
	CHECK_NORM("LIME*5923043405 SAN FRANCISCO CA XXXX4495", "lime san francisco ca");
	CHECK_NORM("LYFT *RIDE MON 2PM", "ride mon 2pm");	/* a word follows */
	CHECK_NORM("SQ *#12 JOES", "sq joes");
	/* nothing left: retried without the prefix rule, then no rule */
	CHECK_NORM("SQ *1234", "sq");
	CHECK_NORM("SQ *", "sq");
	CHECK_NORM("SQ *POS", "sq pos");
	CHECK_NORM("1234 *5678", "1234 5678");
}

/* Rule 3: card-network words while they lead */
static void
test_network_words(void)
{
	static const char *const words[] = {
		"ach", "card", "checkcard", "chkcard", "contactless", "credit",
		"dbt", "debit", "eftpos", "maestro", "mastercard", "paypass",
		"paywave", "pos", "purchase", "recurring", "visa",
	};
	size_t		i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
	{
		char		in[64];
		char		out[SMALL_OUT];
		size_t		len;

		snprintf(in, sizeof(in), "%s Target", words[i]);
		len = normalize_checked(in, strlen(in), out, sizeof(out));
		CHECK_BYTES(out, len, "target");
	}
	CHECK_NORM("VISA DEBIT CARD PURCHASE TARGET", "target");
	CHECK_NORM("POS 1234 DEBIT TARGET", "target");	/* noise inside the run */
	CHECK_NORM("Checkcard 0412 Target", "target");
	CHECK_NORM("target visa", "target visa");		/* not leading */
	CHECK_NORM("target pos 1234", "target pos");
	CHECK_NORM("posh debits", "posh debits");		/* whole words only */
	CHECK_NORM("payment pay", "payment pay");
}

/* Rule 3: digit words, card tails and reference codes anywhere */
static void
test_noise_words(void)
{
	CHECK_NORM("shop 123", "shop");
	CHECK_NORM("shop 12", "shop 12");
	CHECK_NORM("store 0412 london", "store london");
	CHECK_NORM("12 345", "12");
	CHECK_NORM("3m", "3m");
	CHECK_NORM("shop ٣٤٥", "shop ٣٤٥");		/* only ASCII digits count */
	CHECK_NORM("shop １２３", "shop");		/* fullwidth digits fold first */
	CHECK_NORM("foo xx1", "foo");			/* card tails */
	CHECK_NORM("foo xxxx1234", "foo");
	CHECK_NORM("foo ****1234", "foo");
	CHECK_NORM("foo x1234", "foo x1234");	/* one x, 5 characters */
	CHECK_NORM("foo xxxx", "foo xxxx");
	CHECK_NORM("foo xx12ab", "foo xx12ab");
	CHECK_NORM("foo abc123", "foo");		/* reference codes */
	CHECK_NORM("foo ab123", "foo ab123");	/* 5 characters */
	CHECK_NORM("foo abcd12", "foo abcd12");	/* 2 digits */
	CHECK_NORM("cafe ж1ж2ж3", "cafe");		/* 6 characters, 9 bytes */
	CHECK_NORM("cafe жж123", "cafe жж123");	/* 5 characters, 7 bytes */
}

/* Rule 3: if every word would go, no rule applies */
static void
test_all_noise(void)
{
	CHECK_NORM("1234", "1234");
	CHECK_NORM("#1234 #5678", "1234 5678");
	CHECK_NORM("POS DEBIT", "pos debit");
	CHECK_NORM("VISA 1234 XXXX5678", "visa 1234 xxxx5678");
	CHECK_NORM("z9uj3aep92", "z9uj3aep92");
	CHECK_NORM("checkcard 0412", "checkcard 0412");
}

/* Rule 4 and the shape of the output */
static void
test_joining(void)
{
	CHECK_NORM("  a  b  ", "a b");
	CHECK_NORM("a", "a");
	CHECK_NORM(" \t\n ", "");
	CHECK_NORM("...a...b...", "a b");
	CHECK_NORM("a\u3000\u2028b", "a b");
}

/* A too-small buffer truncates at a word boundary */
static void
test_truncation(void)
{
	const char *in = "Hello World";
	char		out[16];
	size_t		len;

	len = catz_normalize(in, strlen(in), out, 0);
	CHECK(len == 0);
	len = catz_normalize(in, strlen(in), out, 4);
	CHECK(len == 0);
	len = catz_normalize(in, strlen(in), out, 5);
	CHECK_BYTES(out, len, "hello");
	len = catz_normalize(in, strlen(in), out, 10);
	CHECK_BYTES(out, len, "hello");
	len = catz_normalize(in, strlen(in), out, 11);
	CHECK_BYTES(out, len, "hello world");
	len = catz_normalize("Straße", strlen("Straße"), out, 6);
	CHECK(len == 0);						/* "strasse" needs 7 */
	len = catz_normalize("a ß", strlen("a ß"), out, 3);
	CHECK_BYTES(out, len, "a");
	len = catz_normalize("ﷺ", strlen("ﷺ"), out, 20);
	CHECK_BYTES(out, len, "صلى الله");
}

/*
 * Every buffer size, each allocated exactly so ASan catches an overrun.
 * (The noise rules run after splitting, so a buffer as long as the final
 * output is not always enough; only the bound is.)
 */
static void
test_truncation_sweep(void)
{
	const char *in = "POS DEBIT Café Müller ﷺ 1234 Straße 한국 x'y";
	size_t		len = strlen(in);
	char		full[SMALL_OUT];
	size_t		full_len = normalize_checked(in, len, full, sizeof(full));
	size_t		cap;

	for (cap = 0; cap <= catz_normalize_bound(len); cap++)
	{
		char	   *out = malloc(cap > 0 ? cap : 1);
		size_t		olen = catz_normalize(in, len, out, cap);

		CHECK(olen <= cap);
		CHECK(well_formed(out, olen));
		if (cap == catz_normalize_bound(len))
			CHECK(olen == full_len && memcmp(out, full, olen) == 0);
		free(out);
	}
}

/* catz_normalize_bound() and its worst case */
static void
test_bound(void)
{
	char	   *in;
	char	   *out;
	size_t		len;
	size_t		i;
	const size_t n = 1000;

	CHECK(catz_normalize_bound(0) == 0);
	CHECK(catz_normalize_bound(1) == CATZ_UNICODE_MAX_EXPANSION);
	CHECK(catz_normalize_bound(SIZE_MAX) == SIZE_MAX);
	CHECK(catz_normalize_bound(SIZE_MAX / CATZ_UNICODE_MAX_EXPANSION) ==
		  SIZE_MAX / CATZ_UNICODE_MAX_EXPANSION * CATZ_UNICODE_MAX_EXPANSION);
	CHECK(catz_normalize_bound(SIZE_MAX / CATZ_UNICODE_MAX_EXPANSION + 1) ==
		  SIZE_MAX);

	/* U+FDFA repeated reaches the bound exactly */
	in = malloc(3 * n);
	for (i = 0; i < n; i++)
		memcpy(in + 3 * i, "ﷺ", 3);
	out = malloc(catz_normalize_bound(3 * n));
	len = normalize_checked(in, 3 * n, out, catz_normalize_bound(3 * n));
	CHECK(len == catz_normalize_bound(3 * n));
	free(in);
	free(out);
}

/* The ASCII fast path agrees with the generated tables */
static void
test_ascii_matches_tables(void)
{
	char		scratch[CATZ_UNICODE_SCRATCH_BYTES];
	const char *map;
	uint32_t	maplen;
	uint32_t	cp;

	for (cp = 0; cp < 0x80; cp++)
	{
		uint8_t		cls = catz_unicode_class(cp, scratch, &map, &maplen);

		if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
			CHECK(cls == CATZ_UC_WORD && catz_ascii_fold[cp] == cp);
		else if (cp >= 'A' && cp <= 'Z')
			CHECK(cls == CATZ_UC_MAPPED && maplen == 1 &&
				  map[0] == (char) (cp + ('a' - 'A')) &&
				  catz_ascii_fold[cp] == cp + ('a' - 'A'));
		else if (cp == '\'')
			CHECK(cls == CATZ_UC_APOSTROPHE && catz_ascii_fold[cp] == 0);
		else
			CHECK(cls == CATZ_UC_SEPARATOR && catz_ascii_fold[cp] == 0);
	}
	for (cp = 0x80; cp < 0x100; cp++)
		CHECK(catz_ascii_fold[cp] == 0);
}

/* Every mapping is short enough and made of CATZ_UC_WORD characters */
static void
test_table_invariants(void)
{
	char		scratch[CATZ_UNICODE_SCRATCH_BYTES];
	const char *map;
	uint32_t	maplen;
	uint32_t	cp;
	int			bad = 0;

	for (cp = 0; cp <= 0x10FFFF && bad < 5; cp++)
	{
		size_t		cplen = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		size_t		i = 0;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		if (catz_unicode_class(cp, scratch, &map, &maplen) != CATZ_UC_MAPPED)
			continue;
		if (maplen == 0 || maplen > CATZ_UNICODE_MAX_MAP_BYTES ||
			maplen > CATZ_UNICODE_MAX_EXPANSION * cplen)
			bad++;
		while (i < maplen && bad < 5)
		{
			int32_t		c = next_code_point((const unsigned char *) map, maplen, &i);
			char		s2[CATZ_UNICODE_SCRATCH_BYTES];
			const char *m2;
			uint32_t	l2;

			if (c < 0 || (c != ' ' &&
						  catz_unicode_class((uint32_t) c, s2, &m2, &l2) != CATZ_UC_WORD))
			{
				fprintf(stderr, "bad mapping of U+%04X\n", (unsigned) cp);
				bad++;
			}
		}
	}
	CHECK(bad == 0);
	CHECK(catz_unicode_class(0xD800, scratch, &map, &maplen) == CATZ_UC_SEPARATOR);
	CHECK(catz_unicode_class(0x110000, scratch, &map, &maplen) == CATZ_UC_SEPARATOR);
	CHECK(catz_unicode_class(0xFFFFFFFF, scratch, &map, &maplen) == CATZ_UC_SEPARATOR);
	CHECK(catz_unicode_class(0xE0100, scratch, &map, &maplen) == CATZ_UC_MARK);
}

/* Fragments the pseudo-random corpus is built from */
static const char *const fragments[] = {
	"POS ", "DEBIT", "visa", "checkcard", "SQ *", "TST* ", "PAYPAL *", "*",
	"**", " ", "  ", "'", "’", "#", "-", ".", "1234", "0412", "97", "7",
	"XXXX", "xx", "x", "z9uj3aep92", "abc", "Joe", "Café", "e\u0301",
	"\u0301", "Straße", "ΟΔΟΣ", "ς", "İ", "ı", "ｓｈｏｐ", "１２３", "ﬁ",
	"☕", "🍕", "שָׁלוֹם", "مطعم", "\u200f", "한국", "ﷺ", "½", "Ⅻ", "ŉ",
	"Ǆ", "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	"\xc0\xaf", "\t", "\n", "A", "z",
};

#define NUM_FRAGMENTS	(sizeof(fragments) / sizeof(fragments[0]))

/* A small deterministic generator (xorshift64) */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Properties over a pseudo-random corpus of fragments and raw bytes */
static void
test_random_corpus(void)
{
	uint64_t	state = 0x9E3779B97F4A7C15u;
	char		in[512];
	char		out[512 * CATZ_UNICODE_MAX_EXPANSION];
	int			n;

	for (n = 0; n < 50000 && !unit_current_failed; n++)
	{
		size_t		len = 0;
		int			pieces = (int) (next_random(&state) % 12);
		int			p;

		for (p = 0; p < pieces; p++)
		{
			uint64_t	r = next_random(&state);

			if (r % 8 == 0)
				in[len++] = (char) (r >> 8);	/* a raw byte */
			else
			{
				const char *f = fragments[(r >> 8) % NUM_FRAGMENTS];
				size_t		flen = strlen(f);

				memcpy(in + len, f, flen);
				len += flen;
			}
		}
		normalize_checked(in, len, out, sizeof(out));
	}
}

/* Inputs of a megabyte and more */
static void
test_large_input(void)
{
	const size_t len = (size_t) 3 << 20;
	char	   *in = malloc(len);
	char	   *out = malloc(catz_normalize_bound(len));
	size_t		olen;
	size_t		i;

	/* one huge word */
	memset(in, 'A', len);
	olen = catz_normalize(in, len, out, catz_normalize_bound(len));
	CHECK(olen == len && out[0] == 'a' && out[len - 1] == 'a');

	/* all noise: kept whole */
	for (i = 0; i < len; i++)
		in[i] = (i % 5 == 4) ? ' ' : '1';
	olen = normalize_checked(in, len, out, catz_normalize_bound(len));
	CHECK(olen == len && memcmp(out, in, len) == 0);

	/* mixed text, noise dropped */
	for (i = 0; i + 16 <= len; i += 16)
		memcpy(in + i, "Café 1234 shop ", 16);
	olen = normalize_checked(in, i, out, catz_normalize_bound(len));
	CHECK(olen == (i / 16) * 10 - 1);
	CHECK(olen >= 10 && memcmp(out, "cafe shop ", 10) == 0);

	free(in);
	free(out);
}

int
main(void)
{
	UNIT_RUN(test_examples);
	UNIT_RUN(test_invalid_utf8);
	UNIT_RUN(test_characters);
	UNIT_RUN(test_apostrophes);
	UNIT_RUN(test_processor_prefix);
	UNIT_RUN(test_network_words);
	UNIT_RUN(test_noise_words);
	UNIT_RUN(test_all_noise);
	UNIT_RUN(test_joining);
	UNIT_RUN(test_truncation);
	UNIT_RUN(test_truncation_sweep);
	UNIT_RUN(test_bound);
	UNIT_RUN(test_ascii_matches_tables);
	UNIT_RUN(test_table_invariants);
	UNIT_RUN(test_random_corpus);
	UNIT_RUN(test_large_input);
	UNIT_DONE("test_normalize");
}
