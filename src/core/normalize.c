/*-------------------------------------------------------------------------
 *
 * normalize.c
 *	  Text normalization: raw merchant text to lower-case words.
 *
 * catz_normalize() implements the rules of the "Normalization" section of
 * catz_core.h in two passes over the caller's output buffer, without
 * allocating:
 *
 *	1. split_words() decodes the input, maps each code point (ASCII inline,
 *	   the rest through unicode_tables.c) and writes the words joined by
 *	   single spaces into out (rules 1, 2 and 4).
 *	2. remove_noise() drops card-statement noise words in place (rule 3).
 *	   Words only ever move left, so compaction needs no second buffer.
 *
 * The processor prefix ("SQ *") is the one noise rule that needs the raw
 * text, since step 1 turns '*' into a separator; has_processor_prefix()
 * looks for it up front and remove_noise() then drops the first word,
 * unless noise follows the '*' (then the prefix is the merchant's name).
 *
 * Invariants of the output: every character is of class CATZ_UC_WORD or a
 * single ASCII space between two words; no leading or trailing space; at
 * most catz_normalize_bound(len) bytes.  Normalizing the output again gives
 * the same output (see remove_noise() for why the noise rules keep this).
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "catz_core.h"
#include "unicode_tables.h"

/* Returned by decode_utf8() for a byte that does not start valid UTF-8 */
#define INVALID_CP			0xFFFFFFFFu

/* A processor prefix is at most this many letters/digits ("PAYPAL *") */
#define MAX_PREFIX_CHARS	8

/*
 * Card-network words, dropped while they lead the text.  Sorted in byte
 * order for binary search; keep it sorted.  "pay", "atm", "payment" and
 * the like are deliberately absent: they help categorize.
 */
static const char *const network_words[] = {
	"ach",
	"card",
	"checkcard",
	"chkcard",
	"contactless",
	"credit",
	"dbt",
	"debit",
	"eftpos",
	"maestro",
	"mastercard",
	"paypass",
	"paywave",
	"pos",
	"purchase",
	"recurring",
	"visa",
};

#define NUM_NETWORK_WORDS	(sizeof(network_words) / sizeof(network_words[0]))

/* Output cursor of split_words() */
typedef struct WordWriter
{
	char	   *out;
	size_t		cap;			/* room in out, in bytes */
	size_t		len;			/* bytes written so far */
	size_t		word_start;		/* len before the current word and its space */
	bool		in_word;		/* the last character kept was a word char */
	bool		after_apostrophe;	/* an apostrophe followed that char */
} WordWriter;

/* Upper bound on catz_normalize's output length for an input of len bytes */
size_t
catz_normalize_bound(size_t len)
{
	/* See unicode_tables.h for why the expansion factor is a bound */
	if (len > SIZE_MAX / CATZ_UNICODE_MAX_EXPANSION)
		return SIZE_MAX;
	return len * CATZ_UNICODE_MAX_EXPANSION;
}

/* Is c an ASCII letter or digit */
static inline bool
is_ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Is c an ASCII digit */
static inline bool
is_ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Is c a space allowed around a processor prefix */
static inline bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Decode the UTF-8 sequence whose lead byte (>= 0x80) is s[*pos] and
 * advance *pos past it.  Overlong forms, surrogates, values above U+10FFFF
 * and truncated sequences are invalid: then only the lead byte is consumed
 * and INVALID_CP is returned, so each invalid byte becomes one separator.
 */
static inline uint32_t
decode_utf8(const unsigned char *s, size_t len, size_t *pos)
{
	size_t		i = *pos;
	unsigned char lead = s[i];
	unsigned char lo = 0x80;	/* allowed range of the second byte */
	unsigned char hi = 0xBF;
	size_t		ntrail;
	uint32_t	cp;
	size_t		k;

	if (lead >= 0xC2 && lead <= 0xDF)
	{
		ntrail = 1;
		cp = lead & 0x1F;
	}
	else if (lead >= 0xE0 && lead <= 0xEF)
	{
		ntrail = 2;
		cp = lead & 0x0F;
		if (lead == 0xE0)
			lo = 0xA0;			/* overlong */
		else if (lead == 0xED)
			hi = 0x9F;			/* surrogates */
	}
	else if (lead >= 0xF0 && lead <= 0xF4)
	{
		ntrail = 3;
		cp = lead & 0x07;
		if (lead == 0xF0)
			lo = 0x90;			/* overlong */
		else if (lead == 0xF4)
			hi = 0x8F;			/* above U+10FFFF */
	}
	else
	{
		*pos = i + 1;
		return INVALID_CP;
	}

	if (len - i <= ntrail || s[i + 1] < lo || s[i + 1] > hi)
	{
		*pos = i + 1;
		return INVALID_CP;
	}
	for (k = 1; k <= ntrail; k++)
	{
		if ((s[i + k] & 0xC0) != 0x80)
		{
			*pos = i + 1;
			return INVALID_CP;
		}
		cp = (cp << 6) | (s[i + k] & 0x3F);
	}
	*pos = i + 1 + ntrail;
	return cp;
}

/* Close the current word: the next word character starts a new word */
static inline void
end_word(WordWriter *w)
{
	w->in_word = false;
	w->after_apostrophe = false;
}

/* Drop an apostrophe inside a word; anywhere else it separates words */
static inline void
put_apostrophe(WordWriter *w)
{
	/*
	 * Whether it is "between two word characters" is settled by what comes
	 * next: a word character continues the word, anything else ends it.  A
	 * second apostrophe in a row is not preceded by a word character.
	 */
	if (w->in_word && !w->after_apostrophe)
		w->after_apostrophe = true;
	else
		end_word(w);
}

/*
 * Make room for n more bytes of word characters, first opening a word (and
 * the space before it) if none is open; false if out is full.
 */
static inline bool
reserve_word_bytes(WordWriter *w, size_t n)
{
	if (!w->in_word)
	{
		size_t		space = (w->len > 0) ? 1 : 0;

		if (n + space > w->cap - w->len)
			return false;
		w->word_start = w->len;
		if (space)
			w->out[w->len++] = ' ';
		w->in_word = true;
	}
	else if (n > w->cap - w->len)
		return false;
	w->after_apostrophe = false;
	return true;
}

/* Append n bytes of word characters; false if out is full */
static inline bool
put_word_bytes(WordWriter *w, const char *p, size_t n)
{
	if (!reserve_word_bytes(w, n))
		return false;
	memcpy(w->out + w->len, p, n);
	w->len += n;
	return true;
}

/*
 * Append the run of ASCII letters and digits starting at s[*pos] (which is
 * one), folded through catz_ascii_fold, and advance *pos past it; false if
 * out is full.  Uses local copies of the cursor because stores through out
 * may alias *w.
 */
static inline bool
put_ascii_run(WordWriter *w, const unsigned char *s, size_t len, size_t *pos)
{
	char	   *out = w->out;
	size_t		cap = w->cap;
	size_t		i = *pos;
	size_t		o;
	uint8_t		folded = catz_ascii_fold[s[i]];

	if (!reserve_word_bytes(w, 1))
		return false;
	o = w->len;
	do
	{
		if (o == cap)
		{
			w->len = o;
			return false;
		}
		out[o++] = (char) folded;
		i++;
	} while (i < len && (folded = catz_ascii_fold[s[i]]) != 0);
	w->len = o;
	*pos = i;
	return true;
}

/* Append a mapping: word characters, with spaces that separate words */
static bool
put_mapping(WordWriter *w, const char *map, size_t maplen)
{
	size_t		i = 0;

	while (i < maplen)
	{
		size_t		start = i;

		if (map[i] == ' ')
		{
			end_word(w);
			i++;
			continue;
		}
		while (i < maplen && map[i] != ' ')
			i++;
		if (!put_word_bytes(w, map + start, i - start))
			return false;
	}
	return true;
}

/* Handle one non-ASCII code point cp, encoded in the input as raw[0..n) */
static bool
put_code_point(WordWriter *w, uint32_t cp, const char *raw, size_t n)
{
	char		scratch[CATZ_UNICODE_SCRATCH_BYTES];
	const char *map;
	uint32_t	maplen;

	if (cp == INVALID_CP)
	{
		end_word(w);
		return true;
	}
	switch (catz_unicode_class(cp, scratch, &map, &maplen))
	{
		case CATZ_UC_WORD:
			return put_word_bytes(w, raw, n);
		case CATZ_UC_MAPPED:
			return put_mapping(w, map, maplen);
		case CATZ_UC_MARK:
			return true;		/* dropped; the word goes on */
		case CATZ_UC_APOSTROPHE:
			put_apostrophe(w);
			return true;
		default:
			end_word(w);
			return true;
	}
}

/*
 * Is s[i] (a '#') followed by ASCII digits that make a whole word ("#12",
 * not "#12b", "#12é")?
 */
static bool
is_number_mark(const unsigned char *s, size_t len, size_t i)
{
	size_t		j = i + 1;

	if (j >= len || !is_ascii_digit(s[j]))
		return false;
	while (j < len && is_ascii_digit(s[j]))
		j++;
	return j == len || (s[j] < 0x80 && !is_ascii_alnum(s[j]) && s[j] != '\'');
}

/*
 * Steps 1, 2 and 4: write the words of in[0..len) to out, joined by single
 * spaces; return the length.  If out is too small, stop before the first
 * word that does not fit.
 */
static size_t
split_words(const char *in, size_t len, char *out, size_t outcap)
{
	const unsigned char *s = (const unsigned char *) in;
	WordWriter	w;
	size_t		i = 0;

	w.out = out;
	w.cap = outcap;
	w.len = 0;
	w.word_start = 0;
	w.in_word = false;
	w.after_apostrophe = false;

	while (i < len)
	{
		unsigned char c = s[i];
		bool		fits = true;

		if (c < 0x80)
		{
			/* ASCII fast path */
			if (catz_ascii_fold[c] != 0)
				fits = put_ascii_run(&w, s, len, &i);
			else if (c == '#' && is_number_mark(s, len, i))
			{
				/*
				 * "#12": a store or terminal number whatever its length.
				 * Keep the '#' as a marker that remove_noise() drops with
				 * the word; it never survives into the result.
				 */
				end_word(&w);
				fits = put_word_bytes(&w, "#", 1);
				i++;
				if (fits)
					fits = put_ascii_run(&w, s, len, &i);
				if (fits)
					end_word(&w);	/* on failure the partial word is cut below */
			}
			else
			{
				if (c == '\'')
					put_apostrophe(&w);
				else
					end_word(&w);
				i++;
			}
		}
		else
		{
			size_t		start = i;
			uint32_t	cp = decode_utf8(s, len, &i);

			fits = put_code_point(&w, cp, in + start, i - start);
		}
		if (!fits)
			return w.in_word ? w.word_start : w.len;
	}
	return w.len;
}

/*
 * Does the raw text start with a processor prefix: optional blanks, 1 to
 * MAX_PREFIX_CHARS ASCII letters/digits, optional blanks, then '*' not
 * followed by another '*' ("AMAZON ****1234" is a card tail, not a prefix)?
 * Processor codes are ASCII, and an ASCII run bounded by blanks or '*' is
 * exactly the first word split_words() produces.
 */
static bool
has_processor_prefix(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *) in;
	size_t		i = 0;
	size_t		run_start;

	while (i < len && is_blank(s[i]))
		i++;
	run_start = i;
	while (i < len && i - run_start <= MAX_PREFIX_CHARS && is_ascii_alnum(s[i]))
		i++;
	if (i == run_start || i - run_start > MAX_PREFIX_CHARS)
		return false;
	while (i < len && is_blank(s[i]))
		i++;
	return i < len && s[i] == '*' && (i + 1 == len || s[i + 1] != '*');
}

/* Compare word[0..len) with the NUL-terminated cand, like strcmp */
static inline int
compare_word(const char *word, size_t len, const char *cand)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (cand[i] == '\0')
			return 1;
		if (word[i] != cand[i])
			return (unsigned char) word[i] < (unsigned char) cand[i] ? -1 : 1;
	}
	return cand[len] == '\0' ? 0 : -1;
}

/*
 * For each word length up to MAX_NETWORK_WORD, the first letters of the
 * network words of that length (bit c - 'a'): most words are told apart
 * from them by two loads, without the search.  Longer words are searched.
 */
#define MAX_NETWORK_WORD	11

static uint32_t network_initials[MAX_NETWORK_WORD + 1];
static bool network_initials_ready = false;

/* Fill network_initials from network_words (idempotent) */
static void
init_network_initials(void)
{
	uint32_t	initials[MAX_NETWORK_WORD + 1] = {0};

	for (size_t i = 0; i < NUM_NETWORK_WORDS; i++)
	{
		size_t		len = strlen(network_words[i]);

		if (len <= MAX_NETWORK_WORD)
			initials[len] |= UINT32_C(1) << (network_words[i][0] - 'a');
	}
	memcpy(network_initials, initials, sizeof(initials));
	network_initials_ready = true;
}

/* Is word[0..len) one of network_words */
static bool
is_network_word(const char *word, size_t len)
{
	size_t		lo = 0;
	size_t		hi = NUM_NETWORK_WORDS;
	unsigned char first = (unsigned char) word[0];

	if (!network_initials_ready)
		init_network_initials();
	if (len <= MAX_NETWORK_WORD &&
		(first < 'a' || first > 'z' ||
		 !(network_initials[len] & (UINT32_C(1) << (first - 'a')))))
		return false;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		int			cmp = compare_word(word, len, network_words[mid]);

		if (cmp == 0)
			return true;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/*
 * Is word[0..len) noise wherever it stands: 3+ digits and nothing else; a
 * card tail (2+ 'x' then digits; "****1234" has already become "1234"); or
 * a reference code (6+ characters, 3+ of them digits).  The "4-digit date
 * after checkcard" of the rules is a word of 3+ digits, so it is covered.
 * digits counts the word's ASCII digits; its characters are counted only
 * when they decide.
 */
static bool
is_noise_word(const char *word, size_t len, size_t digits)
{
	size_t		nx = 0;

	if (len > 0 && word[0] == '#')
		return true;			/* "#12" marked by split_words() */
	if (digits == 0)
		return false;
	if (digits == len && len >= 3)
		return true;
	if (digits >= 3 && len >= 6)
	{
		size_t		chars = 0;

		for (size_t i = 0; i < len; i++)
			chars += ((unsigned char) word[i] & 0xC0) != 0x80;
		if (chars >= 6)
			return true;
	}
	while (nx < len && word[nx] == 'x')
		nx++;
	return nx >= 2 && digits == len - nx;
}

/*
 * Step 3: drop noise words from the normalized text buf[0..len) in place.
 * With drop_first, the first word goes too (a processor prefix).  Then
 * network words and noise words are dropped while they lead, and noise
 * words anywhere.  Returns the new length, or 0 when no word would remain,
 * in which case buf is untouched (nothing is written before the first kept
 * word is found).
 *
 * Idempotence: the first kept word is neither a network word nor noise,
 * and noise is a property of the word alone, so applying this again to the
 * result (without drop_first: the '*' is gone) removes nothing more.
 */
static size_t
remove_noise(char *buf, size_t len, bool drop_first)
{
	size_t		pos = 0;
	size_t		kept = 0;
	bool		leading = true;

	/* buf holds words joined by single spaces, without leading space */
	while (pos < len)
	{
		char	   *word = buf + pos;
		size_t		digits = 0;
		size_t		wlen;

		/* find the end of the word, counting the digits is_noise_word needs */
		for (; pos < len && buf[pos] != ' '; pos++)
			digits += is_ascii_digit((unsigned char) buf[pos]);
		wlen = (size_t) (buf + pos - word);
		pos++;
		if (drop_first)
		{
			drop_first = false;
			continue;
		}
		if (leading && is_network_word(word, wlen))
			continue;
		if (is_noise_word(word, wlen, digits))
			continue;
		leading = false;
		if (kept > 0)
			buf[kept++] = ' ';
		if (buf + kept != word)
			memmove(buf + kept, word, wlen);
		kept += wlen;
	}
	return kept;
}

/*
 * The fallback when every word is noise: the words of buf[0..len) without
 * the "#12" numbers marked by split_words(), or, when nothing else is left,
 * those numbers without their '#' ("#12" alone gives "12").  Either result
 * normalizes to itself.  Returns the new length.
 */
static size_t
drop_number_marks(char *buf, size_t len)
{
	size_t		i;
	size_t		w = 0;
	bool		unmarked = false;

	for (i = 0; i < len; i++)
		if ((i == 0 || buf[i - 1] == ' ') && buf[i] != '#')
			unmarked = true;
	if (!unmarked)
	{
		for (i = 0; i < len; i++)
			if (buf[i] != '#')
				buf[w++] = buf[i];
		return w;
	}
	for (i = 0; i < len;)
	{
		size_t		end = i;

		while (end < len && buf[end] != ' ')
			end++;
		if (buf[i] != '#')
		{
			if (w > 0)
				buf[w++] = ' ';
			memmove(buf + w, buf + i, end - i);
			w += end - i;
		}
		i = end + 1;
	}
	return w;
}

/*
 * Normalize in[0..len) into out (see catz_core.h).
 *
 * When the noise rules would leave nothing, the processor-prefix rule is
 * dropped first and the others tried again ("SQ *1234" -> "sq"); only if
 * they still leave nothing is no rule applied ("1234" -> "1234"), after
 * "#12" numbers are dropped (see below).  Going
 * straight to "no rule" would give "sq 1234", which normalizes to "sq":
 * the '*' that marked the prefix does not survive normalization, so a
 * result that depended on it would not be stable.
 */
/*
 * Is the second word of buf[0..len) (words joined by single spaces) noise?
 * After a processor prefix it tells a processor ("SQ *JOES": a name
 * follows) from a merchant that writes its own reference after the '*'
 * ("LYFT *2276605635", "LIME*5923043405"): there the prefix is the name.
 */
static bool
second_word_is_noise(const char *buf, size_t len)
{
	const char *sp = memchr(buf, ' ', len);
	const char *word;
	size_t		wlen;
	size_t		digits = 0;
	size_t		i;

	if (sp == NULL)
		return false;
	word = sp + 1;
	sp = memchr(word, ' ', (size_t) (buf + len - word));
	wlen = (size_t) ((sp ? sp : buf + len) - word);
	for (i = 0; i < wlen; i++)
		digits += is_ascii_digit((unsigned char) word[i]);
	return is_noise_word(word, wlen, digits);
}

size_t
catz_normalize(const char *in, size_t len, char *out, size_t outcap)
{
	bool		prefix = has_processor_prefix(in, len);
	size_t		wlen;
	size_t		kept;

	wlen = split_words(in, len, out, outcap);
	if (prefix && second_word_is_noise(out, wlen))
		prefix = false;			/* the prefix is the merchant's name */
	kept = remove_noise(out, wlen, prefix);
	if (kept == 0 && prefix)
		kept = remove_noise(out, wlen, false);
	if (kept > 0)
		return kept;

	/*
	 * Every word is noise.  Without the "#12" numbers (or with them, bare,
	 * when nothing else is left), apply the rules once more: what they keep
	 * is a fixed point of normalization; if they keep nothing, every word
	 * left is noise and stays so, which is a fixed point too.
	 */
	wlen = drop_number_marks(out, wlen);
	kept = remove_noise(out, wlen, false);
	return kept > 0 ? kept : wlen;
}
