/*-------------------------------------------------------------------------
 *
 * automaton.c
 *	  Compile patterns into a flat Aho-Corasick automaton over words, and
 *	  match normalized text against it.
 *
 * Design.  Merchant and keyword values are normalized text, so a pattern
 * is a sequence of whole words and may only match at word boundaries.  The
 * automaton therefore runs over words, not bytes: every distinct word of
 * every value gets a word id (a hash dictionary), the trie is built over
 * word-id sequences, and matching looks each word of the text up once.
 * A word that is not in the dictionary cannot be part of any pattern, so
 * it sends the automaton back to the root.  Compared with a byte automaton
 * this makes states far fewer (one per distinct word prefix, not per byte)
 * and matching cost a few memory reads per word.
 *
 * The trie is built level by level rather than by inserting patterns one
 * at a time: level d holds the distinct (state at depth d-1, d-th word)
 * pairs, found by radix-sorting those pairs.  States are numbered in the
 * sorted order, which is a breadth-first order in which the children of a
 * state are consecutive and sorted by word id.  This gives, without any
 * per-edge storage beyond one label per state:
 *	- the children of state s are states [child_start(s), child_start(s+1));
 *	  each state's label is the word id on its incoming edge, so a
 *	  transition is a binary search over the labels of that range;
 *	- a failure link always points to a smaller state number (it has a
 *	  smaller depth), so links are computed in one pass in state order and
 *	  every chain of links ends at the root.
 * Transitions out of the root, taken for nearly every word, are kept in
 * the word's dictionary record, so the lookup that finds a word also gives
 * its first transition.  Output ("dictionary suffix") links point to
 * the nearest state on the failure chain at which some pattern ends.
 *
 * Blob layout.  A set is one allocation: a SetHeader followed by the
 * sections listed in SetSection, in that order, each starting at the next
 * multiple of 8 bytes after the previous one.  The layout is a function of
 * the counts in the header alone (set_layout), so build and validation
 * agree on it by construction.  All references are uint32 offsets from the
 * start of the blob or indexes into a section; there are no pointers.
 *
 * Invariants of a valid blob (all checked by catz_set_validate, in time
 * linear in the blob size and without allocating):
 *	- state 0 is the root, of depth 0; child_start is non-decreasing, starts
 *	  at 1, ends at nstates, and child_start(s) > s, so every other state
 *	  has exactly one parent, numbered below it; a child is one word deeper
 *	  than its parent; labels are strictly increasing among siblings;
 *	- fail(s) and dict(s) (0 meaning none) are shallower than s, so link
 *	  chains terminate and matching stays linear even on a hostile blob;
 *	  a word record's root transition is 0 or a state of depth 1 whose
 *	  label is that word, and its slot's hints equal its ranges' starts;
 *	- out_start is non-decreasing from 0 to nout; each output entry is a
 *	  merchant/keyword entry with exactly depth(s) words.  With the depth
 *	  rules this guarantees start_word = end_word - depth >= 0 in match;
 *	- every offset, length and index stays inside its section.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"
#include "core_util.h"

#include <string.h>

/* Blob identity; the version changes with the layout or the hash */
#define SET_MAGIC		0x5A544143u /* "CATZ" when stored little-endian */
#define SET_VERSION		4

/*
 * The dictionary hash seed is fixed so that the same patterns always give
 * the same bytes.  The price: words crafted to collide could slow down the
 * build of their own set, which only whoever writes the patterns can do.
 */
#define SET_HASH_SEED	UINT64_C(0x63617467)

#define SET_ALIGN		CATZ_BLOB_ALIGN
#define MIN_SLOTS		16		/* smallest dictionary table */
#define MAX_SLOTS		(UINT32_C(1) << 30)
#define MATCH_BATCH		16		/* words looked up together in match */
#define RADIX_BITS		11		/* digit width of the build's radix sort */
#define RADIX_BUCKETS	(1u << RADIX_BITS)

/* A hint to load memory that will be read soon */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr)	__builtin_prefetch(addr)
#else
#define PREFETCH(addr)	((void) (addr))
#endif

/*
 * A regex literal's trigram bits that catz_set_regex_next() tests before
 * the others: those of its first and last trigram (0 for a literal
 * shorter than a trigram, which is never tested)
 */
static void
literal_lead_bits(const char *lit, uint32_t len, uint16_t *lead, uint16_t *tail)
{
	*lead = *tail = 0;
	if (len < 3)
		return;
	*lead = (uint16_t) catz_trigram_bit(lit, CATZ_TRIGRAM_LOG2_BITS);
	*tail = (uint16_t) catz_trigram_bit(lit + len - 3, CATZ_TRIGRAM_LOG2_BITS);
}

/* Load every cache line of an entry (one spans up to three) */
static inline void
prefetch_entry(const CatzEntry *e)
{
	for (const char *p = (const char *) e; p < (const char *) (e + 1); p += 64)
		PREFETCH(p);
	PREFETCH((const char *) (e + 1) - 1);
}

/* Sections of a blob, in storage order */
typedef enum SetSection
{
	SEC_ENTRIES,				/* CatzEntry[nentries], in storage order:
								 * merchant/keyword entries by end state,
								 * then regex entries */
	SEC_REGEX,					/* RegexRef[nregex], input order */
	SEC_SLOTS,					/* WordSlot[nslots]: the word dictionary */
	SEC_WORDS,					/* WordRecords, words_size bytes */
	SEC_STATES,					/* State[nstates + 1]; the last is a sentinel */
	SEC_LABELS,					/* uint32[nstates]: word id into each state */
	SEC_DEPTH,					/* uint8[nstates]: words from the root */
	SEC_INPUT,					/* uint32[nentries]: input index of each
								 * stored entry */
	SEC_POSITION,				/* uint32[nentries]: stored position of each
								 * input index */
	SEC_STRINGS,				/* value and literal bytes, strings_size bytes */
	NUM_SECTIONS
} SetSection;

/* Start of every blob */
typedef struct SetHeader
{
	uint32_t	magic;			/* SET_MAGIC; also rejects the wrong byte
								 * order */
	uint32_t	version;		/* SET_VERSION */
	uint32_t	total_size;		/* in bytes, header included */
	uint32_t	nentries;		/* patterns of every kind */
	uint32_t	nregex;			/* regex patterns */
	uint32_t	nout;			/* merchant/keyword patterns */
	uint32_t	nwords;			/* distinct words in merchant/keyword values */
	uint32_t	nslots;			/* dictionary slots, a power of two */
	uint32_t	nstates;		/* automaton states, root included */
	uint32_t	words_size;		/* in bytes */
	uint32_t	strings_size;	/* in bytes */
	uint32_t	section_off[NUM_SECTIONS];	/* in bytes from blob start */
} SetHeader;

/* A regex pattern: its entry and its required literal */
typedef struct RegexRef
{
	uint32_t	entry;			/* index into SEC_ENTRIES */
	uint32_t	literal_off;	/* in bytes from blob start */
	uint32_t	literal_len;	/* in bytes; 0 = no prefilter */
	uint16_t	lead_bit;		/* trigram bits of the literal's first and */
	uint16_t	tail_bit;		/* last 3 bytes; 0 if it is shorter */
} RegexRef;

_Static_assert(CATZ_TRIGRAM_BITS <= 65536, "a trigram bit fits a RegexRef");

/*
 * A dictionary slot (open addressing, linear probing).  It repeats where
 * the record's first output entry and children are, so that the read of
 * the slot starts fetching them together with the record: two dependent
 * reads to a word's patterns, not three.  The copies are only hints to
 * prefetch; every read that matters goes through the record.
 */
typedef struct WordSlot
{
	uint32_t	tag;			/* high 32 bits of the word's hash */
	uint32_t	ref;			/* blob offset of its WordRecord, 0 = empty;
								 * during build: word id + 1 */
	uint32_t	out_start;		/* the record's, as hints (0 when empty) */
	uint32_t	child_start;
} WordSlot;

/* A distinct word, followed by its bytes and padding to 4 bytes */
typedef struct WordRecord
{
	uint32_t	word_id;
	uint32_t	len;			/* in bytes */

	/*
	 * The state the root goes to on this word (0 = none), and a copy of
	 * that state's output and child ranges: the lookup that finds the word
	 * yields its first transition, and the entries and children it leads
	 * to, with no read of the states between (all 0 when root is 0)
	 */
	uint32_t	root;
	uint32_t	out_start;
	uint32_t	out_end;
	uint32_t	child_start;
	uint32_t	child_end;
} WordRecord;

/* An automaton state */
typedef struct State
{
	uint32_t	child_start;	/* first child; children end at the next
								 * state's child_start */
	uint32_t	out_start;		/* first output, a stored entry; same scheme */
	uint32_t	fail;			/* longest proper suffix state; root = 0 */
	uint32_t	dict;			/* nearest state with outputs on the failure
								 * chain; 0 = none */
} State;

/* The set seen through its sections, to read it */
typedef struct SetView
{
	const unsigned char *base;
	const SetHeader *hdr;
	const CatzEntry *entries;
	const RegexRef *regex;
	const WordSlot *slots;
	const State *states;
	const uint32_t *labels;
	const uint8_t *depth;
	const uint32_t *input;
	const uint32_t *position;
} SetView;

/* Words of the text being matched, looked up together */
typedef struct WordBatch
{
	uint32_t	n;				/* words in the batch */
	const char *word[MATCH_BATCH];
	size_t		len[MATCH_BATCH];	/* in bytes */
	uint32_t	text[MATCH_BATCH];	/* which of the texts it is from */
	uint64_t	hash[MATCH_BATCH];
	const WordRecord *rec[MATCH_BATCH]; /* its record, or NULL */
} WordBatch;

/*
 * Occurrences found in a batch, reported once the batch's states are
 * walked: each entry is prefetched when found, so the misses of all of
 * them overlap instead of each stalling the callback that reads it.
 */
#define MATCH_PENDING	64

typedef struct PendingMatch
{
	CatzTextMatchFn fn;			/* reported to, with arg */
	void	   *arg;
	uint32_t	n;
	uint32_t	entry[MATCH_PENDING];
	uint32_t	text[MATCH_PENDING];
	uint32_t	start[MATCH_PENDING];
	uint32_t	end[MATCH_PENDING];
} PendingMatch;

/* A distinct word while building */
typedef struct BuildWord
{
	const char *bytes;			/* into the caller's pattern value */
	uint64_t	hash;
	uint32_t	len;			/* in bytes */
	uint32_t	record_off;		/* blob offset of its WordRecord */
} BuildWord;

/* One (parent state, word) pair to sort while building a trie level */
typedef struct SortItem
{
	uint64_t	key;			/* parent (relative to its level) << wbits |
								 * word id */
	uint32_t	kw;				/* keyword ordinal it came from */
} SortItem;

/* Everything catz_set_build allocates besides the blob */
typedef struct Builder
{
	const CatzAllocator *alloc;
	const CatzPatternInput *patterns;
	size_t		npatterns;

	/* Totals from the first pass */
	uint32_t	nkeywords;		/* merchant/keyword patterns */
	uint32_t	nregex;
	uint64_t	nseq;			/* words over all merchant/keyword values */
	uint64_t	value_bytes;	/* bytes over all values */
	uint64_t	literal_bytes;	/* bytes over all regex literals */

	/* Word dictionary */
	BuildWord  *words;
	uint32_t	nwords;
	uint32_t	words_cap;
	WordSlot   *slots;
	uint32_t	nslots;			/* power of two, at least 2 * nwords */
	uint64_t	words_size;		/* bytes of all WordRecords */

	/* Merchant/keyword patterns, by keyword ordinal */
	uint32_t   *kw_pattern;		/* input index */
	uint32_t   *kw_first;		/* index of its first word in seq */
	uint8_t    *kw_nwords;
	uint32_t   *kw_state;		/* deepest state reached; finally its end */
	uint32_t   *seq;			/* word ids of every value, back to back */

	/* Trie levels under construction */
	uint32_t   *active;			/* keyword ordinals still growing */
	SortItem   *items;
	SortItem   *items_tmp;

	/* The trie, in breadth-first order */
	uint32_t	nstates;
	uint32_t   *labels;
	uint8_t    *depth;
	uint32_t   *child_start;	/* nstates + 1 */
	uint32_t   *root;			/* nwords: transition from the root */
} Builder;

/* ----------------------------------------------------------------
 * Layout
 * ----------------------------------------------------------------
 */

/*
 * Compute the section offsets and the total size implied by the counts in
 * hdr.  Returns false if the blob would exceed CATZ_MAX_BLOB_BYTES.
 */
static bool
set_layout(const SetHeader *hdr, uint32_t off[NUM_SECTIONS], uint64_t *total)
{
	uint64_t	size[NUM_SECTIONS];
	uint64_t	pos = catz_align_up(sizeof(SetHeader));

	size[SEC_ENTRIES] = (uint64_t) hdr->nentries * sizeof(CatzEntry);
	size[SEC_REGEX] = (uint64_t) hdr->nregex * sizeof(RegexRef);
	size[SEC_SLOTS] = (uint64_t) hdr->nslots * sizeof(WordSlot);
	size[SEC_WORDS] = hdr->words_size;
	size[SEC_STATES] = ((uint64_t) hdr->nstates + 1) * sizeof(State);
	size[SEC_LABELS] = (uint64_t) hdr->nstates * sizeof(uint32_t);
	size[SEC_DEPTH] = hdr->nstates;
	size[SEC_INPUT] = (uint64_t) hdr->nentries * sizeof(uint32_t);
	size[SEC_POSITION] = (uint64_t) hdr->nentries * sizeof(uint32_t);
	size[SEC_STRINGS] = hdr->strings_size;

	for (int i = 0; i < NUM_SECTIONS; i++)
	{
		if (pos > CATZ_MAX_BLOB_BYTES)
			return false;
		off[i] = (uint32_t) pos;
		pos = catz_align_up(pos + size[i]);
	}
	*total = pos;
	return pos <= CATZ_MAX_BLOB_BYTES;
}

/* Point a view at the sections of a blob whose header has been checked */
static SetView
set_view(const void *blob)
{
	SetView		v;
	const SetHeader *hdr = blob;

	v.base = blob;
	v.hdr = hdr;
	v.entries = (const CatzEntry *) (v.base + hdr->section_off[SEC_ENTRIES]);
	v.regex = (const RegexRef *) (v.base + hdr->section_off[SEC_REGEX]);
	v.slots = (const WordSlot *) (v.base + hdr->section_off[SEC_SLOTS]);
	v.states = (const State *) (v.base + hdr->section_off[SEC_STATES]);
	v.labels = (const uint32_t *) (v.base + hdr->section_off[SEC_LABELS]);
	v.depth = v.base + hdr->section_off[SEC_DEPTH];
	v.input = (const uint32_t *) (v.base + hdr->section_off[SEC_INPUT]);
	v.position = (const uint32_t *) (v.base + hdr->section_off[SEC_POSITION]);
	return v;
}

/* ----------------------------------------------------------------
 * Lookups
 * ----------------------------------------------------------------
 */

/* Hash a word as the dictionary does */
static inline uint64_t
word_hash(const char *word, size_t len)
{
	return catz_hash_bytes(word, len, SET_HASH_SEED);
}

/* The home slot of a word whose word_hash is h */
static inline const WordSlot *
home_slot(const SetView *v, uint64_t h)
{
	return &v->slots[(uint32_t) h & (v->hdr->nslots - 1)];
}

/* Find the record of word[0..len), whose word_hash is h, or NULL */
static inline const WordRecord *
lookup_word(const SetView *v, const char *word, size_t len, uint64_t h)
{
	uint32_t	tag = (uint32_t) (h >> 32);
	uint32_t	mask = v->hdr->nslots - 1;
	uint32_t	i = (uint32_t) h & mask;

	/* Bounded by nslots so that a full table cannot loop forever */
	for (uint32_t probes = 0; probes <= mask; probes++, i = (i + 1) & mask)
	{
		const WordSlot *slot = &v->slots[i];
		const WordRecord *rec;

		if (slot->ref == 0)
			return NULL;
		if (slot->tag != tag)
			continue;
		rec = (const WordRecord *) (v->base + slot->ref);
		if (rec->len == len && memcmp(rec + 1, word, len) == 0)
			return rec;
	}
	return NULL;
}

/* The child labelled word among the children [lo, hi) of a state, or 0 */
static inline uint32_t
find_child_in(const uint32_t *labels, uint32_t lo, uint32_t hi, uint32_t word)
{
	uint32_t	end = hi;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (labels[mid] < word)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < end && labels[lo] == word) ? lo : 0;
}

/* The child of state s (not the root) labelled word, or 0 */
static inline uint32_t
find_child(const State *states, const uint32_t *labels, uint32_t s,
		   uint32_t word)
{
	return find_child_in(labels, states[s].child_start, states[s + 1].child_start,
						 word);
}

/*
 * Follow the goto/failure function from state s on word, whose transition
 * from the root is word_root
 */
static inline uint32_t
next_state(uint32_t word_root, const State *states, const uint32_t *labels,
		   uint32_t s, uint32_t word)
{
	for (;;)
	{
		uint32_t	t;

		if (s == 0)
			return word_root;
		t = find_child(states, labels, s, word);
		if (t != 0)
			return t;
		s = states[s].fail;
	}
}

/* Does some pattern end exactly at state s? */
static inline bool
has_output(const State *states, uint32_t s)
{
	return states[s + 1].out_start > states[s].out_start;
}

/* ----------------------------------------------------------------
 * Build
 * ----------------------------------------------------------------
 */

/* Allocate count elements of elem bytes, or NULL on overflow or failure */
static void *
alloc_array(const CatzAllocator *alloc, uint64_t count, size_t elem)
{
	if (count == 0)
		count = 1;				/* some allocators return NULL for size 0 */
	if (count > SIZE_MAX / elem)
		return NULL;
	return alloc->alloc(alloc->ctx, (size_t) count * elem);
}

/* Free ptr if it was allocated */
static void
free_ptr(const CatzAllocator *alloc, void *ptr)
{
	if (ptr != NULL)
		alloc->free(alloc->ctx, ptr);
}

/* Free the level-construction scratch arrays */
static void
builder_free_levels(Builder *b)
{
	free_ptr(b->alloc, b->active);
	free_ptr(b->alloc, b->items);
	free_ptr(b->alloc, b->items_tmp);
	free_ptr(b->alloc, b->seq);
	free_ptr(b->alloc, b->kw_first);
	free_ptr(b->alloc, b->kw_nwords);
	b->active = NULL;
	b->items = NULL;
	b->items_tmp = NULL;
	b->seq = NULL;
	b->kw_first = NULL;
	b->kw_nwords = NULL;
}

/* Free everything the builder still holds */
static void
builder_free(Builder *b)
{
	builder_free_levels(b);
	free_ptr(b->alloc, b->words);
	free_ptr(b->alloc, b->slots);
	free_ptr(b->alloc, b->kw_pattern);
	free_ptr(b->alloc, b->kw_state);
	free_ptr(b->alloc, b->labels);
	free_ptr(b->alloc, b->depth);
	free_ptr(b->alloc, b->child_start);
	free_ptr(b->alloc, b->root);
}

/* Is p acceptable?  Sets *nwords to the words of a merchant/keyword value */
static bool
check_pattern(const CatzPatternInput *p, uint32_t *nwords)
{
	size_t		pos = 0;
	const char *word;
	size_t		wlen;

	*nwords = 0;
	if (p->value == NULL || p->value_len == 0 ||
		p->value_len > CATZ_MAX_PATTERN_BYTES)
		return false;
	if (p->kind == CATZ_KIND_REGEX)
		return true;
	if (p->kind != CATZ_KIND_KEYWORD && p->kind != CATZ_KIND_MERCHANT)
		return false;
	while (catz_next_word(p->value, p->value_len, &pos, &word, &wlen))
		(*nwords)++;
	return *nwords > 0 && *nwords <= CATZ_MAX_PATTERN_WORDS;
}

/* Check every pattern and count what the blob will hold */
static CatzStatus
scan_patterns(Builder *b, size_t *bad_index)
{
	char		literal[CATZ_MAX_PATTERN_BYTES];

	for (size_t i = 0; i < b->npatterns; i++)
	{
		const CatzPatternInput *p = &b->patterns[i];
		uint32_t	nwords;

		if (!check_pattern(p, &nwords))
		{
			*bad_index = i;
			return CATZ_EINVAL;
		}
		b->value_bytes += p->value_len;
		if (p->kind == CATZ_KIND_REGEX)
		{
			b->nregex++;
			b->literal_bytes += catz_regex_required_literal(p->value, p->value_len,
															literal, sizeof(literal));
		}
		else
		{
			b->nkeywords++;
			b->nseq += nwords;
		}
	}

	/* Every value is stored, so this also bounds every count below */
	if (b->value_bytes + b->literal_bytes > CATZ_MAX_BLOB_BYTES)
		return CATZ_ETOOBIG;
	return CATZ_OK;
}

/* Insert the word with this hash into the build dictionary table */
static void
dict_place(WordSlot *slots, uint32_t nslots, uint64_t hash, uint32_t id)
{
	uint32_t	mask = nslots - 1;
	uint32_t	i = (uint32_t) hash & mask;

	while (slots[i].ref != 0)
		i = (i + 1) & mask;
	slots[i].tag = (uint32_t) (hash >> 32);
	slots[i].ref = id + 1;
}

/* Make room for one more word in the dictionary */
static CatzStatus
dict_reserve(Builder *b)
{
	if ((uint64_t) (b->nwords + 1) * 2 > b->nslots)
	{
		uint32_t	nslots = b->nslots * 2;
		WordSlot   *slots;

		if (nslots > MAX_SLOTS)
			return CATZ_ETOOBIG;
		slots = alloc_array(b->alloc, nslots, sizeof(WordSlot));
		if (slots == NULL)
			return CATZ_ENOMEM;
		memset(slots, 0, (size_t) nslots * sizeof(WordSlot));
		for (uint32_t id = 0; id < b->nwords; id++)
			dict_place(slots, nslots, b->words[id].hash, id);
		free_ptr(b->alloc, b->slots);
		b->slots = slots;
		b->nslots = nslots;
	}
	if (b->nwords == b->words_cap)
	{
		uint32_t	cap = b->words_cap * 2;
		BuildWord  *words = alloc_array(b->alloc, cap, sizeof(BuildWord));

		if (words == NULL)
			return CATZ_ENOMEM;
		memcpy(words, b->words, (size_t) b->nwords * sizeof(BuildWord));
		free_ptr(b->alloc, b->words);
		b->words = words;
		b->words_cap = cap;
	}
	return CATZ_OK;
}

/* Look word up in the build dictionary, adding it if new; sets *id */
static CatzStatus
dict_intern(Builder *b, const char *word, size_t len, uint32_t *id)
{
	uint64_t	hash = word_hash(word, len);
	uint32_t	tag = (uint32_t) (hash >> 32);
	uint32_t	mask = b->nslots - 1;
	BuildWord  *bw;
	CatzStatus	status;

	for (uint32_t i = (uint32_t) hash & mask; b->slots[i].ref != 0;
		 i = (i + 1) & mask)
	{
		if (b->slots[i].tag == tag)
		{
			bw = &b->words[b->slots[i].ref - 1];
			if (bw->len == len && memcmp(bw->bytes, word, len) == 0)
			{
				*id = b->slots[i].ref - 1;
				return CATZ_OK;
			}
		}
	}

	status = dict_reserve(b);
	if (status != CATZ_OK)
		return status;
	*id = b->nwords++;
	bw = &b->words[*id];
	bw->bytes = word;
	bw->hash = hash;
	bw->len = (uint32_t) len;
	bw->record_off = 0;
	dict_place(b->slots, b->nslots, hash, *id);
	b->words_size += sizeof(WordRecord) + ((len + 3) & ~(size_t) 3);
	return CATZ_OK;
}

/* Split every merchant/keyword value into word ids */
static CatzStatus
collect_words(Builder *b)
{
	const CatzAllocator *a = b->alloc;
	uint32_t	k = 0;
	uint64_t	pos_seq = 0;

	b->nslots = MIN_SLOTS;
	b->slots = alloc_array(a, b->nslots, sizeof(WordSlot));
	b->words_cap = MIN_SLOTS / 2;
	b->words = alloc_array(a, b->words_cap, sizeof(BuildWord));
	b->kw_pattern = alloc_array(a, b->nkeywords, sizeof(uint32_t));
	b->kw_first = alloc_array(a, b->nkeywords, sizeof(uint32_t));
	b->kw_nwords = alloc_array(a, b->nkeywords, sizeof(uint8_t));
	b->kw_state = alloc_array(a, b->nkeywords, sizeof(uint32_t));
	b->seq = alloc_array(a, b->nseq, sizeof(uint32_t));
	if (!b->slots || !b->words || !b->kw_pattern || !b->kw_first ||
		!b->kw_nwords || !b->kw_state || !b->seq)
		return CATZ_ENOMEM;
	memset(b->slots, 0, (size_t) b->nslots * sizeof(WordSlot));

	for (size_t i = 0; i < b->npatterns; i++)
	{
		const CatzPatternInput *p = &b->patterns[i];
		size_t		pos = 0;
		const char *word;
		size_t		wlen;

		if (p->kind == CATZ_KIND_REGEX)
			continue;
		b->kw_pattern[k] = (uint32_t) i;
		b->kw_first[k] = (uint32_t) pos_seq;
		b->kw_state[k] = 0;
		while (catz_next_word(p->value, p->value_len, &pos, &word, &wlen))
		{
			CatzStatus	status = dict_intern(b, word, wlen, &b->seq[pos_seq]);

			if (status != CATZ_OK)
				return status;
			pos_seq++;
		}
		b->kw_nwords[k] = (uint8_t) (pos_seq - b->kw_first[k]);
		k++;
	}
	return CATZ_OK;
}

/* Sort n items on the low bits of their key (stable LSD radix sort) */
static SortItem *
radix_sort(SortItem *items, SortItem *tmp, size_t n, unsigned bits)
{
	size_t		count[RADIX_BUCKETS];

	for (unsigned shift = 0; shift < bits; shift += RADIX_BITS)
	{
		size_t		sum = 0;
		SortItem   *swap;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(items[i].key >> shift) & (RADIX_BUCKETS - 1)]++;
		for (size_t d = 0; d < RADIX_BUCKETS; d++)
		{
			size_t		c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(items[i].key >> shift) & (RADIX_BUCKETS - 1)]++] = items[i];
		swap = items;
		items = tmp;
		tmp = swap;
	}
	return items;
}

/*
 * Build the trie one depth at a time.  Level d's states are the distinct
 * (parent, d-th word) pairs of the values with at least d words, numbered
 * in sorted order after all shallower states: that is breadth-first order
 * with each state's children consecutive and sorted by word id.
 */
static CatzStatus
build_trie(Builder *b)
{
	const CatzAllocator *a = b->alloc;
	unsigned	wbits = catz_bit_width(b->nwords > 0 ? b->nwords - 1 : 0);
	uint64_t	wmask = (UINT64_C(1) << wbits) - 1;
	uint32_t	nactive = b->nkeywords;
	uint32_t	lvl_lo = 0;		/* states of the last level built */
	uint32_t	lvl_hi = 1;

	/* Each word of each value adds at most one state */
	b->active = alloc_array(a, b->nkeywords, sizeof(uint32_t));
	b->items = alloc_array(a, b->nkeywords, sizeof(SortItem));
	b->items_tmp = alloc_array(a, b->nkeywords, sizeof(SortItem));
	b->labels = alloc_array(a, b->nseq + 1, sizeof(uint32_t));
	b->depth = alloc_array(a, b->nseq + 1, sizeof(uint8_t));
	b->child_start = alloc_array(a, b->nseq + 2, sizeof(uint32_t));
	if (!b->active || !b->items || !b->items_tmp || !b->labels ||
		!b->depth || !b->child_start)
		return CATZ_ENOMEM;

	for (uint32_t k = 0; k < nactive; k++)
		b->active[k] = k;
	b->labels[0] = 0;
	b->depth[0] = 0;
	b->nstates = 1;

	for (unsigned d = 1; nactive > 0; d++)
	{
		unsigned	pbits = catz_bit_width(lvl_hi - lvl_lo - 1);
		SortItem   *sorted;
		uint32_t	next = b->nstates;
		uint32_t	parent_cur = lvl_lo;
		uint32_t	kept = 0;

		for (uint32_t i = 0; i < nactive; i++)
		{
			uint32_t	k = b->active[i];
			uint32_t	word = b->seq[b->kw_first[k] + d - 1];

			b->items[i].key = ((uint64_t) (b->kw_state[k] - lvl_lo) << wbits) | word;
			b->items[i].kw = k;
		}
		sorted = radix_sort(b->items, b->items_tmp, nactive, pbits + wbits);

		for (uint32_t i = 0; i < nactive; i++)
		{
			if (i == 0 || sorted[i].key != sorted[i - 1].key)
			{
				uint32_t	parent = lvl_lo + (uint32_t) (sorted[i].key >> wbits);

				/* Parents up to this one start their children here */
				while (parent_cur <= parent)
					b->child_start[parent_cur++] = next;
				b->labels[next] = (uint32_t) (sorted[i].key & wmask);
				b->depth[next] = (uint8_t) d;
				next++;
			}
			b->kw_state[sorted[i].kw] = next - 1;
		}
		while (parent_cur < lvl_hi)
			b->child_start[parent_cur++] = next;

		lvl_lo = lvl_hi;
		lvl_hi = next;
		b->nstates = next;

		/* Values that have more words go on to the next level */
		for (uint32_t i = 0; i < nactive; i++)
			if (b->kw_nwords[b->active[i]] > d)
				b->active[kept++] = b->active[i];
		nactive = kept;
	}

	/* The deepest level has no children; then the sentinel */
	for (uint32_t s = lvl_lo; s <= b->nstates; s++)
		b->child_start[s] = b->nstates;
	return CATZ_OK;
}

/* Compute failure and output links, in state (breadth-first) order */
static void
link_states(State *states, const uint32_t *labels, const uint32_t *root,
			uint32_t nstates)
{
	for (uint32_t p = 0; p < nstates; p++)
	{
		for (uint32_t t = states[p].child_start; t < states[p + 1].child_start; t++)
		{
			uint32_t	fail = 0;

			/* Children of the root fail to the root */
			if (p != 0)
				fail = next_state(root[labels[t]], states, labels, states[p].fail,
								  labels[t]);
			states[t].fail = fail;
			states[t].dict = has_output(states, fail) ? fail : states[fail].dict;
		}
	}
}

/* Write the blob: every section, then the links */
static void
write_blob(Builder *b, unsigned char *blob, const SetHeader *hdr)
{
	const uint32_t *off = hdr->section_off;
	CatzEntry  *entries = (CatzEntry *) (blob + off[SEC_ENTRIES]);
	RegexRef   *regex = (RegexRef *) (blob + off[SEC_REGEX]);
	WordSlot   *slots = (WordSlot *) (blob + off[SEC_SLOTS]);
	uint32_t   *root = b->root;
	State	   *states = (State *) (blob + off[SEC_STATES]);
	uint32_t   *labels = (uint32_t *) (blob + off[SEC_LABELS]);
	uint8_t    *depth = blob + off[SEC_DEPTH];
	uint32_t   *input = (uint32_t *) (blob + off[SEC_INPUT]);
	uint32_t   *position = (uint32_t *) (blob + off[SEC_POSITION]);
	uint32_t	nstored = 0;
	uint32_t	word_pos = off[SEC_WORDS];
	uint32_t	str_pos = off[SEC_STRINGS];
	uint32_t	nregex = 0;

	/* Zero first: padding is zero */
	memset(blob, 0, hdr->total_size);
	memcpy(blob, hdr, sizeof(SetHeader));

	/* Trie structure; the root's children are the states of depth 1 */
	for (uint32_t s = 0; s <= b->nstates; s++)
		states[s].child_start = b->child_start[s];
	memcpy(labels, b->labels, (size_t) b->nstates * sizeof(uint32_t));
	memcpy(depth, b->depth, b->nstates);
	memset(root, 0, (size_t) b->nwords * sizeof(uint32_t));
	for (uint32_t s = states[0].child_start; s < states[1].child_start; s++)
		root[labels[s]] = s;

	/*
	 * Storage order: outputs grouped by end state, in input order within a
	 * state (count into out_start[s + 1], turn counts into starts, place
	 * entries while advancing each start, then shift the starts back by
	 * one state), so that a state's outputs are consecutive entries; then
	 * the regex entries in input order.
	 */
	for (uint32_t k = 0; k < b->nkeywords; k++)
		states[b->kw_state[k] + 1].out_start++;
	for (uint32_t s = 1; s <= b->nstates; s++)
		states[s].out_start += states[s - 1].out_start;
	for (uint32_t k = 0; k < b->nkeywords; k++)
		input[states[b->kw_state[k]].out_start++] = b->kw_pattern[k];
	for (uint32_t s = b->nstates - 1; s > 0; s--)
		states[s].out_start = states[s - 1].out_start;
	states[0].out_start = 0;
	nstored = b->nkeywords;
	for (size_t i = 0; i < b->npatterns; i++)
		if (b->patterns[i].kind == CATZ_KIND_REGEX)
			input[nstored++] = (uint32_t) i;
	for (uint32_t pos = 0; pos < nstored; pos++)
		position[input[pos]] = pos;

	/* Entries and their values, in storage order */
	for (uint32_t pos = 0; pos < nstored; pos++)
	{
		const CatzPatternInput *p = &b->patterns[input[pos]];
		CatzEntry  *e = &entries[pos];

		e->pattern_id = p->pattern_id;
		e->category_id = p->category_id;
		e->owner_id = p->owner_id;
		e->amount_min = p->amount_min;
		e->amount_max = p->amount_max;
		e->hits = p->hits;
		e->misses = p->misses;
		e->confirmed = p->confirmed;
		e->taught = p->taught;
		e->weight = p->weight;
		e->weight_at = p->weight_at;
		e->log_amount = p->log_amount;
		e->priority = p->priority;
		e->value_off = str_pos;
		e->value_len = p->value_len;
		e->nwords = 0;
		e->kind = p->kind;
		e->flags = p->flags;
		memcpy(blob + str_pos, p->value, p->value_len);
		str_pos += p->value_len;
	}
	for (uint32_t k = 0; k < b->nkeywords; k++)
		entries[position[b->kw_pattern[k]]].nwords = b->depth[b->kw_state[k]];

	/* Regex references in input order, their literals after the values */
	for (size_t i = 0; i < b->npatterns; i++)
	{
		const CatzPatternInput *p = &b->patterns[i];
		char		literal[CATZ_MAX_PATTERN_BYTES];
		size_t		len;

		if (p->kind != CATZ_KIND_REGEX)
			continue;
		len = catz_regex_required_literal(p->value, p->value_len,
										  literal, sizeof(literal));
		memcpy(blob + str_pos, literal, len);
		regex[nregex].entry = (uint32_t) i;
		regex[nregex].literal_off = str_pos;
		regex[nregex].literal_len = (uint32_t) len;
		literal_lead_bits(literal, (uint32_t) len, &regex[nregex].lead_bit,
						  &regex[nregex].tail_bit);
		nregex++;
		str_pos += (uint32_t) len;
	}

	/* Word records in id order; then the slots refer to them */
	for (uint32_t id = 0; id < b->nwords; id++)
	{
		BuildWord  *bw = &b->words[id];
		uint32_t	r = root[id];
		WordRecord	rec = {id, bw->len, r, 0, 0, 0, 0};

		if (r != 0)
		{
			rec.out_start = states[r].out_start;
			rec.out_end = states[r + 1].out_start;
			rec.child_start = states[r].child_start;
			rec.child_end = states[r + 1].child_start;
		}
		bw->record_off = word_pos;
		memcpy(blob + word_pos, &rec, sizeof(rec));
		memcpy(blob + word_pos + sizeof(rec), bw->bytes, bw->len);
		word_pos += (uint32_t) (sizeof(rec) + ((bw->len + 3) & ~UINT32_C(3)));
	}
	for (uint32_t i = 0; i < b->nslots; i++)
	{
		const WordRecord *rec;

		if (b->slots[i].ref == 0)
			continue;			/* all zero */
		slots[i].tag = b->slots[i].tag;
		slots[i].ref = b->words[b->slots[i].ref - 1].record_off;
		rec = (const WordRecord *) (blob + slots[i].ref);
		slots[i].out_start = rec->out_start;
		slots[i].child_start = rec->child_start;
	}

	link_states(states, labels, root, b->nstates);
}

/* Compile patterns into a new set */
CatzStatus
catz_set_build(const CatzPatternInput *patterns, size_t n,
			   const CatzAllocator *alloc,
			   CatzSet **set_out, size_t *size_out, size_t *bad_index)
{
	Builder		b;
	SetHeader	hdr;
	uint64_t	total;
	unsigned char *blob;
	size_t		bad = 0;
	CatzStatus	status;

	*set_out = NULL;
	if (size_out)
		*size_out = 0;
	if (bad_index)
		*bad_index = 0;
	if (n > 0 && patterns == NULL)
		return CATZ_EINVAL;
	if (n > CATZ_MAX_BLOB_BYTES / sizeof(CatzEntry))
		return CATZ_ETOOBIG;

	memset(&b, 0, sizeof(b));
	b.alloc = alloc;
	b.patterns = patterns;
	b.npatterns = n;

	status = scan_patterns(&b, &bad);
	if (status == CATZ_EINVAL && bad_index)
		*bad_index = bad;
	if (status == CATZ_OK)
		status = collect_words(&b);
	if (status == CATZ_OK)
		status = build_trie(&b);
	if (status != CATZ_OK)
	{
		builder_free(&b);
		return status;
	}
	builder_free_levels(&b);

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = SET_MAGIC;
	hdr.version = SET_VERSION;
	hdr.nentries = (uint32_t) n;
	hdr.nregex = b.nregex;
	hdr.nout = b.nkeywords;
	hdr.nwords = b.nwords;
	hdr.nslots = b.nslots;
	hdr.nstates = b.nstates;
	hdr.words_size = (uint32_t) b.words_size;
	hdr.strings_size = (uint32_t) (b.value_bytes + b.literal_bytes);
	if (b.words_size > CATZ_MAX_BLOB_BYTES ||	/* before it is truncated */
		!set_layout(&hdr, hdr.section_off, &total))
	{
		builder_free(&b);
		return CATZ_ETOOBIG;
	}
	hdr.total_size = (uint32_t) total;

	b.root = alloc_array(alloc, (uint64_t) b.nwords + 1, sizeof(uint32_t));
	blob = b.root ? alloc->alloc(alloc->ctx, (size_t) total) : NULL;
	if (blob == NULL)
	{
		builder_free(&b);
		return CATZ_ENOMEM;
	}
	write_blob(&b, blob, &hdr);
	builder_free(&b);

	*set_out = (CatzSet *) blob;
	if (size_out)
		*size_out = (size_t) total;
	return CATZ_OK;
}

/* ----------------------------------------------------------------
 * Validation
 * ----------------------------------------------------------------
 */

/* Is [off, off + len) inside the section of bytes [lo, lo + size)? */
static inline bool
in_section(uint64_t off, uint64_t len, uint64_t lo, uint64_t size)
{
	return off >= lo && off + len <= lo + size;
}

/* Check the header and the layout it implies */
static bool
check_header(const void *blob, size_t size)
{
	const SetHeader *hdr = blob;
	uint32_t	off[NUM_SECTIONS];
	uint64_t	total;

	if (blob == NULL || ((uintptr_t) blob % SET_ALIGN) != 0 ||
		size < sizeof(SetHeader) || size > CATZ_MAX_BLOB_BYTES)
		return false;
	if (hdr->magic != SET_MAGIC || hdr->version != SET_VERSION ||
		hdr->total_size != size)
		return false;
	if (hdr->nslots == 0 || (hdr->nslots & (hdr->nslots - 1)) != 0 ||
		hdr->nstates == 0 || hdr->nregex > hdr->nentries ||
		hdr->nout > hdr->nentries)
		return false;
	if (!set_layout(hdr, off, &total) || total != size)
		return false;
	return memcmp(off, hdr->section_off, sizeof(off)) == 0;
}

/* Check entries, their two orders and regex references */
static bool
check_entries(const SetView *v)
{
	const SetHeader *hdr = v->hdr;
	uint32_t	str_lo = hdr->section_off[SEC_STRINGS];

	/* The two maps between orders are inverse permutations */
	for (uint32_t pos = 0; pos < hdr->nentries; pos++)
		if (v->input[pos] >= hdr->nentries || v->position[v->input[pos]] != pos)
			return false;

	for (uint32_t i = 0; i < hdr->nentries; i++)
	{
		const CatzEntry *e = &v->entries[i];

		if (!in_section(e->value_off, e->value_len, str_lo, hdr->strings_size))
			return false;
		if (e->kind == CATZ_KIND_REGEX)
		{
			if (e->nwords != 0)
				return false;
		}
		else if (e->kind == CATZ_KIND_KEYWORD || e->kind == CATZ_KIND_MERCHANT)
		{
			if (e->nwords == 0 || e->nwords > CATZ_MAX_PATTERN_WORDS)
				return false;
		}
		else
			return false;
	}
	for (uint32_t r = 0; r < hdr->nregex; r++)
	{
		const RegexRef *ref = &v->regex[r];
		uint16_t	lead;
		uint16_t	tail;

		if (ref->entry >= hdr->nentries ||
			v->entries[v->position[ref->entry]].kind != CATZ_KIND_REGEX ||
			!in_section(ref->literal_off, ref->literal_len, str_lo,
						hdr->strings_size))
			return false;
		literal_lead_bits((const char *) v->base + ref->literal_off, ref->literal_len,
						  &lead, &tail);
		if (ref->lead_bit != lead || ref->tail_bit != tail)
			return false;
	}
	return true;
}

/* Check the dictionary: every slot refers to a whole record */
static bool
check_dictionary(const SetView *v)
{
	const SetHeader *hdr = v->hdr;
	uint32_t	words_lo = hdr->section_off[SEC_WORDS];

	for (uint32_t i = 0; i < hdr->nslots; i++)
	{
		uint32_t	ref = v->slots[i].ref;
		const WordRecord *rec;

		if (ref == 0)
		{
			if (v->slots[i].tag != 0 || v->slots[i].out_start != 0 ||
				v->slots[i].child_start != 0)
				return false;
			continue;
		}
		if (ref % sizeof(uint32_t) != 0 ||
			!in_section(ref, sizeof(WordRecord), words_lo, hdr->words_size))
			return false;
		rec = (const WordRecord *) (v->base + ref);
		if (rec->word_id >= hdr->nwords ||
			!in_section(ref + sizeof(WordRecord), rec->len, words_lo,
						hdr->words_size) ||
			v->slots[i].out_start != rec->out_start ||
			v->slots[i].child_start != rec->child_start)
			return false;
		/*
		 * A root transition leads to a state of depth 1 on this word, and
		 * the record's copy of its ranges is exact (the states' ranges are
		 * checked with the automaton)
		 */
		if (rec->root == 0)
		{
			if (rec->out_start != 0 || rec->out_end != 0 ||
				rec->child_start != 0 || rec->child_end != 0)
				return false;
		}
		else if (rec->root >= hdr->nstates || v->depth[rec->root] != 1 ||
				 v->labels[rec->root] != rec->word_id ||
				 rec->out_start != v->states[rec->root].out_start ||
				 rec->out_end != v->states[rec->root + 1].out_start ||
				 rec->child_start != v->states[rec->root].child_start ||
				 rec->child_end != v->states[rec->root + 1].child_start)
			return false;
	}
	return true;
}

/* Check the trie, the links and the outputs */
static bool
check_automaton(const SetView *v)
{
	const SetHeader *hdr = v->hdr;
	const State *st = v->states;
	uint32_t	nstates = hdr->nstates;

	/* Child ranges partition [1, nstates), each after its parent */
	if (v->depth[0] != 0 || st[0].child_start != 1 || st[0].out_start != 0 ||
		st[0].fail != 0 || st[0].dict != 0 ||
		st[nstates].child_start != nstates || st[nstates].out_start != hdr->nout)
		return false;
	for (uint32_t s = 0; s < nstates; s++)
	{
		if (st[s].child_start <= s ||
			st[s + 1].child_start < st[s].child_start ||
			st[s + 1].out_start < st[s].out_start)
			return false;
	}

	for (uint32_t s = 0; s < nstates; s++)
	{
		uint32_t	d = v->depth[s];

		if (d > CATZ_MAX_PATTERN_WORDS)
			return false;
		for (uint32_t t = st[s].child_start; t < st[s + 1].child_start; t++)
		{
			if (v->depth[t] != d + 1 || v->labels[t] >= hdr->nwords ||
				(t > st[s].child_start && v->labels[t] <= v->labels[t - 1]))
				return false;
		}
		if (s > 0 &&
			(st[s].fail >= nstates || v->depth[st[s].fail] >= d ||
			 st[s].dict >= nstates ||
			 (st[s].dict != 0 && v->depth[st[s].dict] >= d)))
			return false;
		for (uint32_t i = st[s].out_start; i < st[s + 1].out_start; i++)
		{
			if (v->entries[i].kind == CATZ_KIND_REGEX ||
				v->entries[i].nwords != d)
				return false;
		}
	}
	return true;
}

/* Check that a blob is a well-formed set */
CatzStatus
catz_set_validate(const void *blob, size_t size)
{
	SetView		v;

	if (!check_header(blob, size))
		return CATZ_ECORRUPT;
	v = set_view(blob);
	if (!check_entries(&v) || !check_dictionary(&v) || !check_automaton(&v))
		return CATZ_ECORRUPT;
	return CATZ_OK;
}

/* ----------------------------------------------------------------
 * Access and matching
 * ----------------------------------------------------------------
 */

/* Size of the blob in bytes */
size_t
catz_set_size(const CatzSet *set)
{
	return ((const SetHeader *) set)->total_size;
}

/* Number of entries */
uint32_t
catz_set_count(const CatzSet *set)
{
	return ((const SetHeader *) set)->nentries;
}

/* Entry i (in input order), or NULL if out of range */
const CatzEntry *
catz_set_entry(const CatzSet *set, uint32_t i)
{
	SetView		v = set_view(set);

	if (i >= v.hdr->nentries)
		return NULL;
	return &v.entries[v.position[i]];
}

/* Number of regex entries */
uint32_t
catz_set_regex_count(const CatzSet *set)
{
	return ((const SetHeader *) set)->nregex;
}

/* Entry index of the i-th regex entry */
uint32_t
catz_set_regex_entry(const CatzSet *set, uint32_t i)
{
	SetView		v = set_view(set);

	return v.regex[i].entry;
}

/* Required literal of the i-th regex entry (length 0: none) */
const char *
catz_set_regex_literal(const CatzSet *set, uint32_t i, uint32_t *len)
{
	SetView		v = set_view(set);

	*len = v.regex[i].literal_len;
	return (const char *) v.base + v.regex[i].literal_off;
}

/*
 * The next regex whose literal the texts' trigrams may hold (catz_core.h).
 * The literal's first and last trigram are tested from the reference
 * first: most regexes fail there, without reading the literal.
 */
uint32_t
catz_set_regex_next(const CatzSet *set, uint32_t from, const CatzTrigramSet *texts, int ntexts)
{
	SetView		v = set_view(set);
	uint32_t	n = v.hdr->nregex;
	uint32_t	r;

	for (r = from; r < n; r++)
	{
		const RegexRef *ref = &v.regex[r];
		const char *lit = (const char *) v.base + ref->literal_off;

		if (ref->literal_len < 3)
			return r;
		for (int t = 0; t < ntexts; t++)
			if (catz_trigram_bit_in(texts[t].bits, ref->lead_bit) &&
				catz_trigram_bit_in(texts[t].bits, ref->tail_bit) &&
				catz_trigram_bits_cover(texts[t].bits, CATZ_TRIGRAM_LOG2_BITS, lit, ref->literal_len))
				return r;
	}
	return n;
}

/*
 * Look up a batch of words.  The lookups are independent of each other and
 * of the automaton, so they are done in rounds, each round prefetching
 * what the next one reads for every word of the batch: the cache misses of
 * all words overlap instead of adding up (a large set is far bigger than
 * the CPU caches, and one word costs several dependent misses).  A word's
 * slot names its record and, as hints, where its first state's outputs
 * and children are, so the second round fetches the record, the entry of
 * its first output (which the caller's callback reads) and the labels of
 * its children at once: two dependent reads a word.
 */
static void
lookup_batch(const SetView *v, WordBatch *batch)
{
	/* Hash each word; fetch its home slot */
	for (uint32_t j = 0; j < batch->n; j++)
	{
		batch->rec[j] = NULL;
		if (batch->len[j] > CATZ_MAX_PATTERN_BYTES)
			continue;			/* longer than any stored word */
		batch->hash[j] = word_hash(batch->word[j], batch->len[j]);
		PREFETCH(home_slot(v, batch->hash[j]));
	}

	/*
	 * If the home slot's tag agrees: fetch the record it names, its first
	 * output's entry and its children (the hints are bounded before use:
	 * the blob was validated, but a prefetch must not even compute an
	 * address outside it)
	 */
	for (uint32_t j = 0; j < batch->n; j++)
	{
		const WordSlot *slot;

		if (batch->len[j] > CATZ_MAX_PATTERN_BYTES)
			continue;
		slot = home_slot(v, batch->hash[j]);
		if (slot->ref == 0 || slot->tag != (uint32_t) (batch->hash[j] >> 32))
			continue;
		PREFETCH(v->base + slot->ref);
		if (slot->out_start < v->hdr->nout)
		{
			const CatzEntry *e = &v->entries[slot->out_start];

			prefetch_entry(e);
		}
		if (slot->child_start < v->hdr->nstates)
			PREFETCH(&v->labels[slot->child_start]);
	}

	/* Resolve each word */
	for (uint32_t j = 0; j < batch->n; j++)
	{
		if (batch->len[j] <= CATZ_MAX_PATTERN_BYTES)
			batch->rec[j] = lookup_word(v, batch->word[j], batch->len[j],
										batch->hash[j]);
	}
}

/* Report the pending occurrences, in the order found; false if fn stopped */
static bool
report_pending(const SetView *v, PendingMatch *pm)
{
	uint32_t	n = pm->n;

	pm->n = 0;
	for (uint32_t k = 0; k < n; k++)
		if (!pm->fn(pm->arg, pm->text[k], &v->entries[pm->entry[k]], pm->start[k], pm->end[k]))
			return false;
	return true;
}

/* Queue an occurrence, reporting the queue first if it is full */
static inline bool
add_pending(const SetView *v, PendingMatch *pm,
			uint32_t entry, uint32_t text, uint32_t start, uint32_t end)
{
	if (pm->n == MATCH_PENDING && !report_pending(v, pm))
		return false;
	prefetch_entry(&v->entries[entry]);
	pm->entry[pm->n] = entry;
	pm->text[pm->n] = text;
	pm->start[pm->n] = start;
	pm->end[pm->n] = end;
	pm->n++;
	return true;
}

/*
 * Run the automaton over texts[0..ntexts), each matched on its own (no
 * pattern spans two texts) but with the words of all of them looked up
 * together, so that the cache misses of short texts overlap.  Reports to
 * fn with the text's index; returns false if fn stopped the scan.  Sets
 * nwords[i], if given, to the words of text i (when the scan was not
 * stopped: a batch's words are walked before its occurrences are reported).
 *
 * The state s is carried with its output and child ranges; a state of
 * depth 1 (reached from the root) takes them from the word's record and
 * has no output link (its failure state, the root, has no outputs), so
 * the states section is read only for deeper states.
 */
static bool
match_texts(const SetView *v, const CatzMatchText *texts, uint32_t ntexts,
			CatzTextMatchFn fn, void *arg, uint32_t *nwords)
{
	const State *st = v->states;
	uint32_t	fill_text = 0;	/* where the next batch is read from */
	size_t		fill_pos = 0;
	uint32_t	fill_words = 0; /* words of fill_text read so far */
	uint32_t	cur = UINT32_MAX;	/* text of the words being matched */
	uint32_t	s = 0;
	uint32_t	child_lo = 0;	/* children of s: [child_lo, child_hi) */
	uint32_t	child_hi = 0;
	uint32_t	done = 0;		/* words of text cur consumed */
	WordBatch	batch;
	PendingMatch pending;		/* not zeroed: only [0, n) is read */

	pending.fn = fn;
	pending.arg = arg;
	pending.n = 0;
	for (uint32_t i = 0; nwords && i < ntexts; i++)
		nwords[i] = 0;
	for (;;)
	{
		/* Word positions are uint32; a longer text is matched in its prefix */
		batch.n = 0;
		while (batch.n < MATCH_BATCH && fill_text < ntexts)
		{
			if (fill_words < UINT32_MAX &&
				catz_next_word(texts[fill_text].text, texts[fill_text].len,
							   &fill_pos, &batch.word[batch.n],
							   &batch.len[batch.n]))
			{
				batch.text[batch.n++] = fill_text;
				fill_words++;
				continue;
			}
			fill_text++;
			fill_pos = 0;
			fill_words = 0;
		}
		if (batch.n == 0)
			break;
		lookup_batch(v, &batch);

		for (uint32_t j = 0; j < batch.n; j++)
		{
			const WordRecord *rec = batch.rec[j];
			uint32_t	out_lo;
			uint32_t	out_hi;
			uint32_t	depth;
			uint32_t	t;

			if (batch.text[j] != cur)
			{
				cur = batch.text[j];
				s = 0;
				done = 0;
			}
			done++;
			if (nwords)
				nwords[cur] = done;
			if (rec == NULL)
			{
				s = 0;			/* no pattern contains this word */
				continue;
			}

			/* Goto, else follow failure links; the root goes by the record */
			for (t = 0; s != 0; s = st[s].fail)
			{
				if ((t = find_child_in(v->labels, child_lo, child_hi,
									   rec->word_id)) != 0)
					break;
				child_lo = st[st[s].fail].child_start;
				child_hi = st[st[s].fail + 1].child_start;
			}
			if (t != 0)
			{
				s = t;
				child_lo = st[s].child_start;
				child_hi = st[s + 1].child_start;
				out_lo = st[s].out_start;
				out_hi = st[s + 1].out_start;
				depth = v->depth[s];
				t = st[s].dict;
			}
			else
			{
				s = rec->root;
				child_lo = rec->child_start;
				child_hi = rec->child_end;
				out_lo = rec->out_start;
				out_hi = rec->out_end;
				depth = 1;
				t = 0;			/* depth 1: no output link */
			}

			/* Patterns ending here: at s, then along the output links */
			for (uint32_t i = out_lo; i < out_hi; i++)
				if (!add_pending(v, &pending, i, cur, done - depth, done))
					return false;
			for (; t != 0; t = st[t].dict)
			{
				for (uint32_t i = st[t].out_start; i < st[t + 1].out_start; i++)
					if (!add_pending(v, &pending, i, cur, done - v->depth[t], done))
						return false;
			}
		}
		if (!report_pending(v, &pending))
			return false;
	}
	return true;
}

/* Report every occurrence of every merchant/keyword pattern in the texts */
void
catz_set_match_texts(const CatzSet *set, const CatzMatchText *texts,
					 uint32_t ntexts, CatzTextMatchFn fn, void *arg)
{
	SetView		v = set_view(set);

	(void) match_texts(&v, texts, ntexts, fn, arg, NULL);
}

/* catz_set_match's callback, called through catz_set_match_texts' form */
typedef struct OneText
{
	const SetView *v;
	CatzMatchFn fn;
	void	   *arg;
} OneText;

static bool
one_text_match(void *arg, uint32_t text, const CatzEntry *entry,
			   uint32_t start, uint32_t end)
{
	OneText    *one = arg;

	(void) text;
	return one->fn(one->arg, one->v->input[entry - one->v->entries], start, end);
}

/* Report every occurrence of every merchant/keyword pattern in text */
uint32_t
catz_set_match(const CatzSet *set, const char *text, size_t len,
			   CatzMatchFn fn, void *arg)
{
	SetView		v = set_view(set);
	CatzMatchText t = {text, len};
	OneText		one = {&v, fn, arg};
	uint32_t	nwords;

	if (!match_texts(&v, &t, 1, one_text_match, &one, &nwords))
		return catz_count_words(text, len, 0, 0);
	return nwords;
}
