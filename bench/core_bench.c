/*-------------------------------------------------------------------------
 *
 * core_bench.c
 *	  Standalone benchmark of pattern-set compilation and matching.
 *
 * Build and run from the repository root:
 *
 *	cc -std=c11 -O2 -Isrc/core -o bench/core_bench bench/core_bench.c \
 *		$(find src/core -name '*.c') -lm
 *	bench/core_bench 1k; bench/core_bench 100k; bench/core_bench 1M
 *
 * It draws a vocabulary of 200,000 distinct words of 3 to 12 letters, then
 * N merchant/keyword patterns of 1 to 3 words each, every word uniform
 * over the vocabulary (the worst case for the automaton's size: almost no
 * shared prefixes).  Everything comes from a fixed seed, so runs compare.
 * It reports:
 *	- compile time (best of 3 builds) and peak memory held by the build,
 *	  measured through a counting allocator;
 *	- blob size per pattern;
 *	- catz_set_validate time;
 *	- time per catz_set_match call on 6-word texts, over 100,000 different
 *	  texts so that the caches see a realistic spread: "hit" texts embed
 *	  one pattern's value among random vocabulary words, "random" texts are
 *	  6 random vocabulary words; and the time for one 100,000-word text.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catz_core.h"

#define VOCAB_WORDS		200000
#define NTEXTS			100000
#define TEXT_WORDS		6
#define BUILD_RUNS		3
#define MATCH_ROUNDS	5
#define LONG_TEXTS		(100000 / TEXT_WORDS)	/* hit texts in the long text */

/* Memory accounting for the counting allocator */
typedef struct MemStats
{
	size_t		live;			/* in bytes */
	size_t		peak;			/* in bytes */
} MemStats;

/* Allocation header that remembers the size, keeping 16-byte alignment */
typedef union AllocHeader
{
	size_t		size;
	max_align_t align;
} AllocHeader;

/* Allocate and count */
static void *
counting_alloc(void *ctx, size_t size)
{
	MemStats   *ms = ctx;
	AllocHeader *h = malloc(sizeof(AllocHeader) + size);

	if (h == NULL)
		return NULL;
	h->size = size;
	ms->live += size;
	if (ms->live > ms->peak)
		ms->peak = ms->live;
	return h + 1;
}

/* Free and count */
static void
counting_free(void *ctx, void *ptr)
{
	MemStats   *ms = ctx;
	AllocHeader *h = (AllocHeader *) ptr - 1;

	ms->live -= h->size;
	free(h);
}

/* Deterministic pseudo-random numbers (splitmix64) */
static uint64_t rng_state = 20240601;

/* Next pseudo-random value */
static uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Pseudo-random value in [0, n) */
static uint32_t
rng_below(uint32_t n)
{
	return (uint32_t) (rng_next() % n);
}

/* Monotonic time in seconds */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* The vocabulary: distinct words, each NUL-terminated */
static char vocab[VOCAB_WORDS][13];

/* Fill vocab with distinct random words of 3..12 letters */
static void
make_vocabulary(void)
{
	size_t		nslots = 1u << 19;
	uint32_t   *slots = calloc(nslots, sizeof(uint32_t));	/* index + 1 */
	uint32_t	n = 0;

	while (n < VOCAB_WORDS)
	{
		uint32_t	len = 3 + rng_below(10);
		uint64_t	h;
		size_t		i;

		for (uint32_t k = 0; k < len; k++)
			vocab[n][k] = (char) ('a' + rng_below(26));
		vocab[n][len] = '\0';
		h = catz_hash_bytes(vocab[n], len, 0);
		for (i = h & (nslots - 1); slots[i] != 0; i = (i + 1) & (nslots - 1))
			if (strcmp(vocab[slots[i] - 1], vocab[n]) == 0)
				break;
		if (slots[i] != 0)
			continue;			/* a duplicate: draw again */
		slots[i] = ++n;
	}
	free(slots);
}

/* Append a random vocabulary word (with a leading space unless first) */
static size_t
append_word(char *buf, size_t len, const char *word)
{
	if (len > 0)
		buf[len++] = ' ';
	strcpy(buf + len, word);
	return len + strlen(word);
}

/* Parse "1k", "100k", "1M" or a plain number */
static size_t
parse_count(const char *s)
{
	char	   *end;
	double		v = strtod(s, &end);

	if (*end == 'k' || *end == 'K')
		v *= 1e3;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6;
	return (size_t) v;
}

/* Counts matches; the sum keeps the compiler from skipping work */
static bool
count_match(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	*(uint64_t *) arg += 1 + entry + start + end;
	return true;
}

/* Time catz_set_match over the texts; returns ns per call */
static double
time_match(const CatzSet *set, char **texts, size_t *lens, uint64_t *sum)
{
	double		best = 1e30;

	for (int round = 0; round < MATCH_ROUNDS; round++)
	{
		double		t0 = now();
		double		t;

		for (size_t i = 0; i < NTEXTS; i++)
			catz_set_match(set, texts[i], lens[i], count_match, sum);
		t = (now() - t0) * 1e9 / NTEXTS;
		if (t < best)
			best = t;
	}
	return best;
}

int
main(int argc, char **argv)
{
	size_t		n = argc > 1 ? parse_count(argv[1]) : 1000;
	CatzPatternInput *pats = calloc(n, sizeof(CatzPatternInput));
	char	   *values = malloc(n * 40);
	char	  **hit_texts = malloc(NTEXTS * sizeof(char *));
	char	  **rnd_texts = malloc(NTEXTS * sizeof(char *));
	size_t	   *hit_lens = malloc(NTEXTS * sizeof(size_t));
	size_t	   *rnd_lens = malloc(NTEXTS * sizeof(size_t));
	MemStats	mem = {0, 0};
	CatzAllocator alloc = {counting_alloc, counting_free, &mem};
	CatzSet    *set = NULL;
	size_t		size = 0;
	double		best_build = 1e30;
	uint64_t	sum = 0;
	double		hit_ns;
	double		rnd_ns;
	double		t_validate;
	double		t_long;
	char	   *long_text = malloc(LONG_TEXTS * 256);
	size_t		long_len = 0;
	uint32_t	long_words;

	if (n == 0 || !pats || !values || !hit_texts || !rnd_texts)
	{
		fprintf(stderr, "usage: core_bench N (e.g. 1k, 100k, 1M)\n");
		return 1;
	}

	make_vocabulary();
	for (size_t i = 0; i < n; i++)
	{
		char	   *v = values + i * 40;
		size_t		len = 0;
		uint32_t	nw = 1 + rng_below(3);

		for (uint32_t w = 0; w < nw; w++)
			len = append_word(v, len, vocab[rng_below(VOCAB_WORDS)]);
		pats[i].pattern_id = (int64_t) i;
		pats[i].category_id = (int64_t) (i % 500);
		pats[i].kind = (i % 2) ? CATZ_KIND_MERCHANT : CATZ_KIND_KEYWORD;
		pats[i].value = v;
		pats[i].value_len = (uint32_t) len;
	}

	for (size_t i = 0; i < NTEXTS; i++)
	{
		const CatzPatternInput *p = &pats[rng_below((uint32_t) n)];
		char		buf[256];
		size_t		len = 0;
		uint32_t	before = rng_below(4);
		uint32_t	pw = 1;

		for (uint32_t k = 0; k < p->value_len; k++)
			pw += (p->value[k] == ' ');
		for (uint32_t w = 0; w < before && w + pw < TEXT_WORDS; w++)
			len = append_word(buf, len, vocab[rng_below(VOCAB_WORDS)]);
		len = append_word(buf, len, p->value);
		for (uint32_t w = before + pw; w < TEXT_WORDS; w++)
			len = append_word(buf, len, vocab[rng_below(VOCAB_WORDS)]);
		hit_texts[i] = strdup(buf);
		hit_lens[i] = len;

		len = 0;
		for (uint32_t w = 0; w < TEXT_WORDS; w++)
			len = append_word(buf, len, vocab[rng_below(VOCAB_WORDS)]);
		rnd_texts[i] = strdup(buf);
		rnd_lens[i] = len;
	}

	for (int run = 0; run < BUILD_RUNS; run++)
	{
		double		t0;
		double		t;
		CatzStatus	st;

		if (set)
			counting_free(&mem, set);
		mem.peak = mem.live;
		t0 = now();
		st = catz_set_build(pats, n, &alloc, &set, &size, NULL);
		t = now() - t0;
		if (st != CATZ_OK)
		{
			fprintf(stderr, "build failed: %s\n", catz_status_string(st));
			return 1;
		}
		if (t < best_build)
			best_build = t;
	}
	t_validate = now();
	if (catz_set_validate(set, size) != CATZ_OK)
	{
		fprintf(stderr, "blob does not validate\n");
		return 1;
	}
	t_validate = now() - t_validate;

	/* One long text: 100,000 words, hit texts back to back */
	for (size_t i = 0; i < LONG_TEXTS; i++)
	{
		memcpy(long_text + long_len, hit_texts[i], hit_lens[i]);
		long_len += hit_lens[i];
		long_text[long_len++] = ' ';
	}
	t_long = now();
	long_words = catz_set_match(set, long_text, long_len, count_match, &sum);
	t_long = now() - t_long;

	hit_ns = time_match(set, hit_texts, hit_lens, &sum);
	rnd_ns = time_match(set, rnd_texts, rnd_lens, &sum);

	printf("patterns        %zu\n", n);
	printf("compile         %.1f ms (best of %d)\n", best_build * 1e3, BUILD_RUNS);
	printf("blob            %zu bytes, %.1f bytes/pattern\n", size,
		   (double) size / (double) n);
	printf("peak build mem  %.1f MB (%.2f x blob)\n", (double) mem.peak / 1e6,
		   (double) mem.peak / (double) size);
	printf("validate        %.1f ms\n", t_validate * 1e3);
	printf("match, hit      %.0f ns per 6-word text\n", hit_ns);
	printf("match, random   %.0f ns per 6-word text\n", rnd_ns);
	printf("match, long     %.1f ms for one text of %u words (%.0f ns/word)\n",
		   t_long * 1e3, long_words, t_long * 1e9 / long_words);
	printf("checksum        %llu\n", (unsigned long long) sum);

	counting_free(&mem, set);
	for (size_t i = 0; i < NTEXTS; i++)
	{
		free(hit_texts[i]);
		free(rnd_texts[i]);
	}
	free(hit_texts);
	free(rnd_texts);
	free(hit_lens);
	free(rnd_lens);
	free(long_text);
	free(values);
	free(pats);
	return 0;
}
