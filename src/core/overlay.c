/*-------------------------------------------------------------------------
 *
 * overlay.c
 *	  A fixed-capacity, updatable pattern table that sits on top of a
 *	  compiled set: the patterns put or deleted since the set was built.
 *
 * Design.  A compiled set (automaton.c) is immutable; recompiling it for
 * every pattern change would make a write cost O(patterns).  The overlay
 * takes the changes instead, in O(1) each, until the caller folds it into a
 * new set.  It cannot use an automaton (adding a pattern would change
 * failure links all over), so it indexes each merchant/keyword value by a
 * hash of its word sequence and matching probes every word span of the
 * text that could be a value: spans of up to max_words words (the longest
 * value ever put), and only of word counts that some value has
 * (length_mask).  The span hash is computed word by word (span_step), so
 * extending a span by one word costs one multiply, whatever its length;
 * matching costs O(words x max_words) probes, plus hashing each word of
 * the text once, plus the occurrences reported, and does not grow with the
 * number of patterns (chains stay short: at least two buckets a slot).
 * Since the span hash is built from words, not bytes, text with runs of
 * spaces matches exactly as catz_set_match() would.
 *
 * Blob layout.  One OverlayHeader followed by the sections of
 * OverlaySection, each at the next multiple of 8 bytes; the layout is a
 * function of (max_patterns, pool_bytes) alone (overlay_layout), so
 * initialization and validation agree on it by construction.  References
 * are uint32 indexes or offsets from the start of the blob, never pointers,
 * so a blob may be copied or mapped anywhere (shared memory, DSA).
 *
 *	entries		CatzEntry[max_patterns]: slot i holds the i-th version ever
 *				put; slots are appended and never rewritten, so a
 *				CatzEntry pointer stays valid as long as the blob
 *	links		SlotLink[max_patterns]: liveness of each slot, and for live
 *				merchant/keyword slots their value hash and chain link
 *	buckets		uint32[nbuckets]: value hash -> first slot + 1 of a chain
 *				(0 = empty); nbuckets is a power of two >= 2 x max_patterns
 *	ids			IdSlot[nid_slots]: pattern id -> live slot or tombstone,
 *				open addressing with linear probing; ids are never removed,
 *				so no deletion markers are needed
 *	tombstones	int64[max_patterns]: deleted pattern ids, unordered
 *	pool		value bytes, appended; a replaced or deleted version's bytes
 *				are not reclaimed
 *
 * Capacity.  max_patterns bounds both the slots ever used (every put takes
 * a new slot, including a replacement) and the distinct pattern ids the
 * overlay knows (live or deleted); pool_bytes bounds the value bytes ever
 * put.  A put or delete that would exceed either returns CATZ_ETOOBIG and
 * changes nothing; the caller then folds the overlay into a new compiled
 * set, or copies its live contents into a bigger overlay
 * (catz_overlay_copy), which also drops dead slots.
 *
 * Shadowing.  An id, once put or deleted, stays in the id index for the
 * life of the overlay, so catz_overlay_shadows() is true for it from then
 * on.  A put replaces the id's live version (its slot dies) or revives a
 * deleted id (its tombstone goes); a delete kills the live version and
 * adds a tombstone, or just adds one for an id the overlay never had, to
 * hide the base set's entry.
 *
 * Values.  A merchant/keyword value is stored with its words joined by
 * single spaces (a normalized value is stored unchanged), with its word
 * count in CatzEntry.nwords.  Regex values are stored as given, with
 * nwords 0, and are not indexed: the caller iterates them with
 * catz_overlay_entry().
 *
 * Invariants of a valid blob (checked by catz_overlay_validate, in time
 * linear in the blob size, without allocating):
 *	- the layout matches (max_patterns, pool_bytes); used <= max_patterns,
 *	  live + ntombstones = nids <= max_patterns, pool_used <= pool_bytes;
 *	  max_words <= CATZ_MAX_PATTERN_WORDS is the highest bit of length_mask;
 *	- every used slot's value lies in the used pool, is canonical and has
 *	  nwords words (0 for a regex); its word count is in length_mask;
 *	- each chain is acyclic and holds only live merchant/keyword slots whose
 *	  hash falls in its bucket, and the chains hold every such slot exactly
 *	  once; dead and regex slots have no link;
 *	- every id record refers to a live slot or a tombstone with its id, can
 *	  be reached by probing from its home slot, and the records add up to
 *	  live, ntombstones and nids.
 * Validation cannot prove in linear time that ids are distinct; a crafted
 * blob with duplicate ids gives wrong answers but stays memory-safe, since
 * every operation range-checks what it reads and bounds every loop.
 *
 * Concurrency.  The overlay has no locks or atomics.  In shared memory the
 * caller holds an LWLock: shared for match and the accessors, exclusive for
 * put, delete and copy.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"
#include "core_util.h"

#include <string.h>

#define OV_MAGIC		0x564F5A43u /* "CZOV" as stored on little-endian */
#define OV_VERSION		1
#define OV_ALIGN		CATZ_BLOB_ALIGN

/* Fixed seeds: hashes are part of the stored format */
#define WORD_SEED		UINT64_C(0x6F7665726C6179)	/* "overlay" */
#define ID_SEED			UINT64_C(0x69647368)	/* "idsh" */
#define SPAN_MULT		UINT64_C(0x9E3779B97F4A7C15)

/* IdSlot.ref: 0 = empty, slot + 1 = live version, REF_TOMB | index */
#define REF_EMPTY		0
#define REF_TOMB		UINT32_C(0x80000000)

/* SlotLink.state */
#define SLOT_DEAD		0
#define SLOT_LIVE		1

/* Word positions of the current text kept while matching; a power of two */
#define RING_SIZE		CATZ_MAX_PATTERN_WORDS
#define RING_MASK		(RING_SIZE - 1)

_Static_assert((RING_SIZE & RING_MASK) == 0,
			   "RING_SIZE must be a power of two");

/* Sections of a blob, in storage order */
typedef enum OverlaySection
{
	SEC_ENTRIES,				/* CatzEntry[max_patterns] */
	SEC_LINKS,					/* SlotLink[max_patterns] */
	SEC_BUCKETS,				/* uint32[nbuckets] */
	SEC_IDS,					/* IdSlot[nid_slots] */
	SEC_TOMBSTONES,				/* int64[max_patterns] */
	SEC_POOL,					/* pool_bytes bytes */
	NUM_SECTIONS
} OverlaySection;

/* Start of every overlay */
typedef struct OverlayHeader
{
	uint32_t	magic;			/* OV_MAGIC; also rejects the wrong byte order */
	uint32_t	version;		/* OV_VERSION */
	uint32_t	total_size;		/* in bytes, header included */
	uint32_t	max_patterns;	/* entry slots, and distinct ids, at most */
	uint32_t	pool_bytes;		/* capacity of the value pool, in bytes */
	uint32_t	nbuckets;		/* value index buckets, a power of two */
	uint32_t	nid_slots;		/* id index slots, a power of two */
	uint32_t	used;			/* entry slots written */
	uint32_t	live;			/* slots holding a pattern's current version */
	uint32_t	nids;			/* distinct ids: live + ntombstones */
	uint32_t	ntombstones;	/* deleted ids */
	uint32_t	pool_used;		/* in bytes */
	uint32_t	max_words;		/* most words in a merchant/keyword value ever
								 * put; never shrinks */
	uint32_t	regex_slots;	/* slots written with a regex (live or not) */
	uint64_t	length_mask;	/* bit k - 1 set once a value of k words was
								 * put; never shrinks */
	uint32_t	section_off[NUM_SECTIONS];	/* in bytes from blob start */
} OverlayHeader;

/* Per-slot state beside its CatzEntry */
typedef struct SlotLink
{
	uint64_t	hash;			/* hash of the value's words (span_step); 0
								 * for a regex */
	uint32_t	next;			/* next slot + 1 in the bucket's chain; 0 =
								 * end, and always 0 when not chained */
	uint32_t	state;			/* SLOT_LIVE or SLOT_DEAD */
} SlotLink;

/* A slot of the pattern id index */
typedef struct IdSlot
{
	int64_t		pattern_id;
	uint32_t	ref;			/* REF_EMPTY, slot + 1, or REF_TOMB | index */
	uint32_t	padding;		/* zero */
} IdSlot;

/* The overlay seen through its sections */
typedef struct OverlayView
{
	unsigned char *base;
	OverlayHeader *hdr;
	CatzEntry  *entries;
	SlotLink   *links;
	uint32_t   *buckets;
	IdSlot	   *ids;
	int64_t    *tombstones;
} OverlayView;

/* Where a pattern id is, or would go, in the id index */
typedef struct IdProbe
{
	bool		found;
	uint32_t	pos;			/* its slot, or the empty slot to insert at;
								 * UINT32_MAX if the index has neither */
} IdProbe;

/* Shape of a value about to be put */
typedef struct ValueShape
{
	uint32_t	len;			/* stored length, in bytes */
	uint32_t	nwords;			/* 0 for a regex */
	uint64_t	hash;			/* hash of its words (span_step); 0 for a
								 * regex */
} ValueShape;

/* Spans of the text ending at the current word, while matching */
typedef struct SpanWindow
{
	uint64_t	hash[CATZ_MAX_PATTERN_WORDS + 1];	/* [k], k >= 1: hash of
													 * the last k words */
	uint32_t	bytes[CATZ_MAX_PATTERN_WORDS + 1];	/* [k]: their canonical
													 * length, in bytes */
	const char *start[RING_SIZE];	/* word w of the text at [w & RING_MASK] */
	uint32_t	len[RING_SIZE]; /* in bytes, same indexing */
	uint32_t	nspans;			/* spans that can match: words since the last
								 * too-long word, at most max_words */
} SpanWindow;

/* ----------------------------------------------------------------
 * Layout and hashing
 * ----------------------------------------------------------------
 */

/* Smallest power of two >= n (n >= 1) */
static inline uint64_t
pow2_at_least(uint64_t n)
{
	uint64_t	p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * Compute the hash table sizes, section offsets and total size of an
 * overlay.  Returns false if max_patterns is 0 or the overlay would exceed
 * CATZ_MAX_BLOB_BYTES.
 */
static bool
overlay_layout(uint32_t max_patterns, uint32_t pool_bytes,
			   OverlayHeader *hdr)
{
	uint64_t	nslots = pow2_at_least(2 * (uint64_t) max_patterns);
	uint64_t	size[NUM_SECTIONS];
	uint64_t	pos = catz_align_up(sizeof(OverlayHeader));

	if (max_patterns == 0)
		return false;
	size[SEC_ENTRIES] = (uint64_t) max_patterns * sizeof(CatzEntry);
	size[SEC_LINKS] = (uint64_t) max_patterns * sizeof(SlotLink);
	size[SEC_BUCKETS] = nslots * sizeof(uint32_t);
	size[SEC_IDS] = nslots * sizeof(IdSlot);
	size[SEC_TOMBSTONES] = (uint64_t) max_patterns * sizeof(int64_t);
	size[SEC_POOL] = pool_bytes;

	for (int i = 0; i < NUM_SECTIONS; i++)
	{
		if (pos > CATZ_MAX_BLOB_BYTES)
			return false;
		hdr->section_off[i] = (uint32_t) pos;
		pos = catz_align_up(pos + size[i]);
	}
	if (pos > CATZ_MAX_BLOB_BYTES)
		return false;
	hdr->max_patterns = max_patterns;
	hdr->pool_bytes = pool_bytes;
	hdr->nbuckets = (uint32_t) nslots;
	hdr->nid_slots = (uint32_t) nslots;
	hdr->total_size = (uint32_t) pos;
	return true;
}

/*
 * Point a view at the sections of an overlay whose header has been checked.
 * Readers and writers share the view; readers never write through it.
 */
static OverlayView
overlay_view(const CatzOverlay *ov)
{
	OverlayView v;
	unsigned char *base = (unsigned char *) (uintptr_t) ov;

	v.base = base;
	v.hdr = (OverlayHeader *) base;
	v.entries = (CatzEntry *) (base + v.hdr->section_off[SEC_ENTRIES]);
	v.links = (SlotLink *) (base + v.hdr->section_off[SEC_LINKS]);
	v.buckets = (uint32_t *) (base + v.hdr->section_off[SEC_BUCKETS]);
	v.ids = (IdSlot *) (base + v.hdr->section_off[SEC_IDS]);
	v.tombstones = (int64_t *) (base + v.hdr->section_off[SEC_TOMBSTONES]);
	return v;
}

/* Rotate left by r (0 < r < 64) */
static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Hash one word */
static inline uint64_t
word_hash(const char *word, size_t len)
{
	return catz_hash_bytes(word, len, WORD_SEED);
}

/*
 * Extend a span hash by one word.  Word hashes are fully mixed already, so
 * one multiply suffices; the rotation brings the well-mixed high half of
 * the product down to the bits that pick a bucket.  A span of words
 * w1..wk hashes to span_step(...span_step(WORD_SEED, h(w1))..., h(wk)).
 */
static inline uint64_t
span_step(uint64_t span, uint64_t word)
{
	return rotl64((span ^ word) * SPAN_MULT, 32);
}

/* Bucket of a value hash */
static inline uint32_t
bucket_of(const OverlayHeader *hdr, uint64_t hash)
{
	return (uint32_t) hash & (hdr->nbuckets - 1);
}

/* Home slot of a pattern id in the id index */
static inline uint32_t
id_home(const OverlayHeader *hdr, int64_t pattern_id)
{
	return (uint32_t) catz_hash_bytes(&pattern_id, sizeof(pattern_id), ID_SEED) &
		(hdr->nid_slots - 1);
}

/* Find pattern_id in the id index, or the empty slot where it would go */
static IdProbe
find_id(const OverlayView *v, int64_t pattern_id)
{
	uint32_t	mask = v->hdr->nid_slots - 1;
	uint32_t	pos = id_home(v->hdr, pattern_id);
	IdProbe		probe = {false, UINT32_MAX};

	/* Bounded by the table size, so that a full table cannot loop forever */
	for (uint32_t n = 0; n <= mask; n++, pos = (pos + 1) & mask)
	{
		const IdSlot *slot = &v->ids[pos];

		if (slot->ref == REF_EMPTY)
		{
			probe.pos = pos;
			return probe;
		}
		if (slot->pattern_id == pattern_id)
		{
			probe.found = true;
			probe.pos = pos;
			return probe;
		}
	}
	return probe;
}

/* ----------------------------------------------------------------
 * Initialization and validation
 * ----------------------------------------------------------------
 */

/*
 * Bytes needed for an overlay of max_patterns slots and pool_bytes of
 * values; 0 if max_patterns is 0 or the overlay would exceed
 * CATZ_MAX_BLOB_BYTES.
 */
size_t
catz_overlay_size(uint32_t max_patterns, uint32_t pool_bytes)
{
	OverlayHeader hdr;

	if (!overlay_layout(max_patterns, pool_bytes, &hdr))
		return 0;
	return hdr.total_size;
}

/*
 * Initialize an empty overlay at blob; NULL if blob is not 8-byte aligned
 * or size is less than catz_overlay_size() (more is fine and left unused)
 */
CatzOverlay *
catz_overlay_init(void *blob, size_t size, uint32_t max_patterns,
				  uint32_t pool_bytes)
{
	OverlayHeader hdr;

	memset(&hdr, 0, sizeof(hdr));
	if (blob == NULL || ((uintptr_t) blob % OV_ALIGN) != 0 ||
		!overlay_layout(max_patterns, pool_bytes, &hdr) ||
		size < hdr.total_size)
		return NULL;
	hdr.magic = OV_MAGIC;
	hdr.version = OV_VERSION;

	/* Zeroed buckets and id slots are empty; zeroed padding is reproducible */
	memset(blob, 0, hdr.total_size);
	memcpy(blob, &hdr, sizeof(hdr));
	return (CatzOverlay *) blob;
}

/* Check the header, the layout it implies and its counters */
static bool
check_header(const void *blob, size_t size)
{
	const OverlayHeader *hdr = blob;
	OverlayHeader expect;

	if (blob == NULL || ((uintptr_t) blob % OV_ALIGN) != 0 ||
		size < sizeof(OverlayHeader))
		return false;
	if (hdr->magic != OV_MAGIC || hdr->version != OV_VERSION ||
		hdr->total_size > size)
		return false;
	if (!overlay_layout(hdr->max_patterns, hdr->pool_bytes, &expect) ||
		expect.total_size != hdr->total_size ||
		expect.nbuckets != hdr->nbuckets ||
		expect.nid_slots != hdr->nid_slots ||
		memcmp(expect.section_off, hdr->section_off,
			   sizeof(expect.section_off)) != 0)
		return false;
	if (hdr->used > hdr->max_patterns || hdr->nids > hdr->max_patterns ||
		hdr->live > hdr->used || hdr->ntombstones > hdr->nids ||
		hdr->live + hdr->ntombstones != hdr->nids ||
		hdr->pool_used > hdr->pool_bytes)
		return false;
	return hdr->max_words <= CATZ_MAX_PATTERN_WORDS &&
		hdr->max_words == catz_bit_width(hdr->length_mask);
}

/*
 * Check that value[0..len) is canonical (words joined by single spaces,
 * none leading or trailing) with nwords words, and compute its hash
 */
static bool
check_value_words(const char *value, uint32_t len, uint32_t nwords,
				  uint64_t *hash)
{
	size_t		pos = 0;
	const char *word;
	size_t		wlen;
	uint32_t	spaces = 0;
	uint64_t	h = WORD_SEED;

	for (uint32_t i = 0; i < len; i++)
	{
		if (value[i] != ' ')
			continue;
		if (i == 0 || i == len - 1 || value[i - 1] == ' ')
			return false;
		spaces++;
	}
	if (len == 0 || spaces + 1 != nwords)
		return false;

	while (catz_next_word(value, len, &pos, &word, &wlen))
		h = span_step(h, word_hash(word, wlen));
	*hash = h;
	return true;
}

/* Check every used slot: its entry, its value and its link */
static bool
check_slots(const OverlayView *v, uint32_t *nchained)
{
	const OverlayHeader *hdr = v->hdr;
	uint64_t	pool_lo = hdr->section_off[SEC_POOL];
	uint32_t	live = 0;
	uint32_t	regexes = 0;

	*nchained = 0;
	for (uint32_t i = 0; i < hdr->used; i++)
	{
		const CatzEntry *e = &v->entries[i];
		const SlotLink *link = &v->links[i];
		uint64_t	hash;

		if (e->value_len == 0 || e->value_len > CATZ_MAX_PATTERN_BYTES ||
			e->value_off < pool_lo ||
			(uint64_t) e->value_off + e->value_len > pool_lo + hdr->pool_used)
			return false;
		if (link->state != SLOT_LIVE && link->state != SLOT_DEAD)
			return false;
		if (link->state == SLOT_LIVE)
			live++;

		if (e->kind == CATZ_KIND_REGEX)
		{
			if (e->nwords != 0 || link->hash != 0 || link->next != 0)
				return false;
			regexes++;
			continue;
		}
		if (e->kind != CATZ_KIND_KEYWORD && e->kind != CATZ_KIND_MERCHANT)
			return false;
		if (e->nwords == 0 || e->nwords > hdr->max_words ||
			(hdr->length_mask & (UINT64_C(1) << (e->nwords - 1))) == 0 ||
			!check_value_words(catz_entry_value(v->base, e), e->value_len,
							   e->nwords, &hash) ||
			link->hash != hash || link->next > hdr->used)
			return false;
		if (link->state == SLOT_LIVE)
			(*nchained)++;
		else if (link->next != 0)
			return false;
	}
	return live == hdr->live && regexes == hdr->regex_slots;
}

/*
 * Check the chains: finite, each in its own bucket, and together holding
 * the nchained live merchant/keyword slots
 */
static bool
check_buckets(const OverlayView *v, uint32_t nchained)
{
	const OverlayHeader *hdr = v->hdr;
	uint64_t	seen = 0;

	for (uint32_t b = 0; b < hdr->nbuckets; b++)
	{
		uint32_t	steps = 0;

		for (uint32_t ref = v->buckets[b]; ref != 0; ref = v->links[ref - 1].next)
		{
			const SlotLink *link;

			/* A cycle would make the walk longer than the slots chained */
			if (ref > hdr->used || ++steps > nchained)
				return false;
			link = &v->links[ref - 1];
			if (link->state != SLOT_LIVE ||
				v->entries[ref - 1].kind == CATZ_KIND_REGEX ||
				bucket_of(hdr, link->hash) != b)
				return false;
		}
		seen += steps;
	}
	return seen == nchained;
}

/* Check the id index against the slots and the tombstones */
static bool
check_ids(const OverlayView *v)
{
	const OverlayHeader *hdr = v->hdr;
	uint32_t	mask = hdr->nid_slots - 1;
	uint32_t	first_empty = 0;
	uint32_t	run = 0;		/* occupied slots ending at pos */
	uint32_t	nlive = 0;
	uint32_t	ntomb = 0;

	/* Find an empty slot; there must be one, since nids < nid_slots */
	while (first_empty < hdr->nid_slots &&
		   v->ids[first_empty].ref != REF_EMPTY)
		first_empty++;
	if (first_empty == hdr->nid_slots)
		return false;

	/* One pass around the table, starting just after an empty slot */
	for (uint32_t n = 1; n <= hdr->nid_slots; n++)
	{
		uint32_t	pos = (first_empty + n) & mask;
		const IdSlot *slot = &v->ids[pos];

		if (slot->padding != 0)
			return false;
		if (slot->ref == REF_EMPTY)
		{
			run = 0;
			continue;
		}
		run++;

		/* Lookups probe from the home slot and stop at the first empty one */
		if (((pos - id_home(hdr, slot->pattern_id)) & mask) >= run)
			return false;

		if (slot->ref & REF_TOMB)
		{
			uint32_t	t = slot->ref & ~REF_TOMB;

			if (t >= hdr->ntombstones || v->tombstones[t] != slot->pattern_id)
				return false;
			ntomb++;
		}
		else
		{
			uint32_t	s = slot->ref - 1;

			if (s >= hdr->used || v->links[s].state != SLOT_LIVE ||
				v->entries[s].pattern_id != slot->pattern_id)
				return false;
			nlive++;
		}
	}
	return nlive == hdr->live && ntomb == hdr->ntombstones;
}

/*
 * Check that a blob of size bytes is a well-formed overlay (for untrusted
 * input); size may exceed the overlay's own size
 */
CatzStatus
catz_overlay_validate(const void *blob, size_t size)
{
	OverlayView v;
	uint32_t	nchained;

	if (!check_header(blob, size))
		return CATZ_ECORRUPT;
	v = overlay_view(blob);
	if (!check_slots(&v, &nchained) || !check_buckets(&v, nchained) ||
		!check_ids(&v))
		return CATZ_ECORRUPT;
	return CATZ_OK;
}

/* ----------------------------------------------------------------
 * Updates
 * ----------------------------------------------------------------
 */

/* Check a pattern against the limits of catz_set_build and measure it */
static CatzStatus
measure_value(const CatzPatternInput *p, ValueShape *shape)
{
	size_t		pos = 0;
	const char *word;
	size_t		wlen;

	if (p == NULL || p->value == NULL || p->value_len == 0 ||
		p->value_len > CATZ_MAX_PATTERN_BYTES)
		return CATZ_EINVAL;
	shape->len = 0;
	shape->nwords = 0;
	shape->hash = 0;

	if (p->kind == CATZ_KIND_REGEX)
	{
		shape->len = p->value_len;
		return CATZ_OK;
	}
	if (p->kind != CATZ_KIND_KEYWORD && p->kind != CATZ_KIND_MERCHANT)
		return CATZ_EINVAL;

	shape->hash = WORD_SEED;
	while (catz_next_word(p->value, p->value_len, &pos, &word, &wlen))
	{
		if (++shape->nwords > CATZ_MAX_PATTERN_WORDS)
			return CATZ_EINVAL;
		shape->len += (uint32_t) wlen + (shape->nwords > 1 ? 1 : 0);
		shape->hash = span_step(shape->hash, word_hash(word, wlen));
	}
	return shape->nwords == 0 ? CATZ_EINVAL : CATZ_OK;
}

/* Copy a value into the pool at dst: canonical words, or a regex as is */
static void
store_value(char *dst, const CatzPatternInput *p)
{
	size_t		pos = 0;
	const char *word;
	size_t		wlen;
	size_t		n = 0;

	if (p->kind == CATZ_KIND_REGEX)
	{
		memcpy(dst, p->value, p->value_len);
		return;
	}
	while (catz_next_word(p->value, p->value_len, &pos, &word, &wlen))
	{
		if (n > 0)
			dst[n++] = ' ';
		memcpy(dst + n, word, wlen);
		n += wlen;
	}
}

/*
 * Write a pattern into the next slot and, for a merchant/keyword value,
 * link it into its chain; the caller has checked the capacity.  Returns the
 * slot.
 */
static uint32_t
append_slot(OverlayView *v, const CatzPatternInput *p, const ValueShape *shape)
{
	OverlayHeader *hdr = v->hdr;
	uint32_t	slot = hdr->used;
	CatzEntry  *e = &v->entries[slot];
	SlotLink   *link = &v->links[slot];

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
	e->value_off = hdr->section_off[SEC_POOL] + hdr->pool_used;
	e->value_len = shape->len;
	e->nwords = (uint16_t) shape->nwords;
	e->kind = p->kind;
	e->flags = p->flags;
	store_value((char *) v->base + e->value_off, p);

	link->hash = shape->hash;
	link->next = 0;
	link->state = SLOT_LIVE;
	if (p->kind == CATZ_KIND_REGEX)
		hdr->regex_slots++;
	if (shape->nwords > 0)
	{
		uint32_t   *head = &v->buckets[bucket_of(hdr, shape->hash)];

		link->next = *head;
		*head = slot + 1;
		hdr->length_mask |= UINT64_C(1) << (shape->nwords - 1);
		if (shape->nwords > hdr->max_words)
			hdr->max_words = shape->nwords;
	}

	hdr->used++;
	hdr->pool_used += shape->len;
	return slot;
}

/* Mark a slot dead and take it out of its chain */
static void
kill_slot(OverlayView *v, uint32_t slot)
{
	SlotLink   *link = &v->links[slot];

	if (link->state == SLOT_LIVE && v->entries[slot].kind != CATZ_KIND_REGEX)
	{
		uint32_t   *ref = &v->buckets[bucket_of(v->hdr, link->hash)];

		/* Chains are acyclic in a valid blob; bound the walk regardless */
		for (uint32_t n = 0; *ref != 0 && n < v->hdr->used; n++)
		{
			if (*ref == slot + 1)
			{
				*ref = link->next;
				break;
			}
			ref = &v->links[*ref - 1].next;
		}
	}
	link->next = 0;
	link->state = SLOT_DEAD;
}

/* Append pattern_id to the tombstones; returns its id index ref */
static uint32_t
add_tombstone(OverlayView *v, int64_t pattern_id)
{
	uint32_t	t = v->hdr->ntombstones++;

	v->tombstones[t] = pattern_id;
	return REF_TOMB | t;
}

/* Remove tombstone t, moving the last one into its place */
static void
remove_tombstone(OverlayView *v, uint32_t t)
{
	OverlayHeader *hdr = v->hdr;
	uint32_t	last;

	if (t >= hdr->ntombstones)
		return;					/* impossible in a valid blob */
	last = --hdr->ntombstones;
	if (t != last)
	{
		IdProbe		moved = find_id(v, v->tombstones[last]);

		v->tombstones[t] = v->tombstones[last];
		if (moved.found)
			v->ids[moved.pos].ref = REF_TOMB | t;
	}
}

/* Insert a pattern, or replace the overlay's version of its pattern_id */
CatzStatus
catz_overlay_put(CatzOverlay *ov, const CatzPatternInput *p)
{
	OverlayView v = overlay_view(ov);
	OverlayHeader *hdr = v.hdr;
	ValueShape	shape;
	IdProbe		probe;
	IdSlot	   *id;
	uint32_t	slot;
	CatzStatus	status;

	status = measure_value(p, &shape);
	if (status != CATZ_OK)
		return status;

	/* Check every capacity before changing anything */
	probe = find_id(&v, p->pattern_id);
	if (probe.pos == UINT32_MAX || hdr->used >= hdr->max_patterns ||
		shape.len > hdr->pool_bytes - hdr->pool_used ||
		(!probe.found && hdr->nids >= hdr->max_patterns))
		return CATZ_ETOOBIG;

	slot = append_slot(&v, p, &shape);
	id = &v.ids[probe.pos];
	if (!probe.found)
	{
		id->pattern_id = p->pattern_id;
		hdr->nids++;
		hdr->live++;
	}
	else if (id->ref & REF_TOMB)
	{
		/* Revived: it still shadows the base set, now with a version */
		remove_tombstone(&v, id->ref & ~REF_TOMB);
		hdr->live++;
	}
	else
		kill_slot(&v, id->ref - 1);
	id->ref = slot + 1;
	return CATZ_OK;
}

/* Record that a pattern was deleted, whether or not the overlay has it */
CatzStatus
catz_overlay_delete(CatzOverlay *ov, int64_t pattern_id)
{
	OverlayView v = overlay_view(ov);
	OverlayHeader *hdr = v.hdr;
	IdProbe		probe = find_id(&v, pattern_id);
	IdSlot	   *id;

	if (probe.found)
	{
		id = &v.ids[probe.pos];
		if (id->ref & REF_TOMB)
			return CATZ_OK;		/* deleted already */

		/*
		 * A live id holds no tombstone, so ntombstones < nids <= max_patterns
		 * here; the check keeps a crafted blob in bounds.
		 */
		if (hdr->ntombstones >= hdr->max_patterns)
			return CATZ_ETOOBIG;
		kill_slot(&v, id->ref - 1);
		hdr->live--;
		id->ref = add_tombstone(&v, pattern_id);
		return CATZ_OK;
	}

	/* A new id: it shadows a base entry, and needs room in the index */
	if (probe.pos == UINT32_MAX || hdr->nids >= hdr->max_patterns ||
		hdr->ntombstones >= hdr->max_patterns)
		return CATZ_ETOOBIG;
	id = &v.ids[probe.pos];
	id->pattern_id = pattern_id;
	id->ref = add_tombstone(&v, pattern_id);
	hdr->nids++;
	return CATZ_OK;
}

/*
 * Copy the live patterns and the tombstones of src into dst, which must be
 * freshly initialized: CATZ_EINVAL if it is not empty, CATZ_ETOOBIG (dst
 * unchanged) if src's ids or live values do not fit.  Dead slots are not
 * copied, so dst->used = dst->live afterwards.
 */
CatzStatus
catz_overlay_copy(CatzOverlay *dst, const CatzOverlay *src)
{
	OverlayView d = overlay_view(dst);
	OverlayView s = overlay_view(src);
	uint64_t	live_bytes = 0;

	if (d.hdr->used != 0 || d.hdr->nids != 0)
		return CATZ_EINVAL;
	for (uint32_t i = 0; i < s.hdr->used; i++)
		if (s.links[i].state == SLOT_LIVE)
			live_bytes += s.entries[i].value_len;
	if (s.hdr->nids > d.hdr->max_patterns || live_bytes > d.hdr->pool_bytes)
		return CATZ_ETOOBIG;

	for (uint32_t i = 0; i < s.hdr->used; i++)
	{
		const CatzEntry *e = &s.entries[i];
		CatzPatternInput p;

		if (s.links[i].state != SLOT_LIVE)
			continue;
		p.pattern_id = e->pattern_id;
		p.category_id = e->category_id;
		p.owner_id = e->owner_id;
		p.amount_min = e->amount_min;
		p.amount_max = e->amount_max;
		p.hits = e->hits;
		p.misses = e->misses;
		p.confirmed = e->confirmed;
		p.taught = e->taught;
		p.weight = e->weight;
		p.weight_at = e->weight_at;
		p.log_amount = e->log_amount;
		p.priority = e->priority;
		p.kind = e->kind;
		p.flags = e->flags;
		p.value = catz_entry_value(src, e);
		p.value_len = e->value_len;
		if (catz_overlay_put(dst, &p) != CATZ_OK)
			return CATZ_ECORRUPT;	/* src was not a valid overlay */
	}
	for (uint32_t t = 0; t < s.hdr->ntombstones; t++)
		if (catz_overlay_delete(dst, s.tombstones[t]) != CATZ_OK)
			return CATZ_ECORRUPT;
	return CATZ_OK;
}

/* ----------------------------------------------------------------
 * Access
 * ----------------------------------------------------------------
 */

/* True when the overlay has a version or a tombstone of pattern_id */
bool
catz_overlay_shadows(const CatzOverlay *ov, int64_t pattern_id)
{
	OverlayView v = overlay_view(ov);

	return find_id(&v, pattern_id).found;
}

/* Number of live patterns */
uint32_t
catz_overlay_live(const CatzOverlay *ov)
{
	return ((const OverlayHeader *) ov)->live;
}

/* Number of slots ever used: live, replaced or deleted */
uint32_t
catz_overlay_used(const CatzOverlay *ov)
{
	return ((const OverlayHeader *) ov)->used;
}

/* Entry in slot i, or NULL if the slot is unused, replaced or deleted */
const CatzEntry *
catz_overlay_entry(const CatzOverlay *ov, uint32_t i)
{
	OverlayView v = overlay_view(ov);

	if (i >= v.hdr->used || v.links[i].state != SLOT_LIVE)
		return NULL;
	return &v.entries[i];
}

uint32_t
catz_overlay_regex_slots(const CatzOverlay *ov)
{
	return ((const OverlayHeader *) ov)->regex_slots;
}

/* Number of deleted pattern ids */
uint32_t
catz_overlay_tombstones(const CatzOverlay *ov)
{
	return ((const OverlayHeader *) ov)->ntombstones;
}

/* The i-th deleted pattern id (0 <= i < catz_overlay_tombstones()) */
int64_t
catz_overlay_tombstone(const CatzOverlay *ov, uint32_t i)
{
	OverlayView v = overlay_view(ov);

	if (i >= v.hdr->ntombstones)
		return 0;
	return v.tombstones[i];
}

/* ----------------------------------------------------------------
 * Matching
 * ----------------------------------------------------------------
 */

/*
 * Do the last k words of the text (ending at word end_word - 1) equal the
 * canonical value?  The caller has checked the length.
 */
static bool
span_equals(const SpanWindow *w, uint32_t end_word, uint32_t k,
			const char *value, uint32_t value_len)
{
	uint32_t	first = (end_word - k) & RING_MASK;
	uint32_t	last = (end_word - 1) & RING_MASK;
	size_t		off = 0;

	/* Single spaces between the words: one comparison */
	if ((size_t) (w->start[last] + w->len[last] - w->start[first]) == value_len)
		return memcmp(w->start[first], value, value_len) == 0;

	/* Runs of spaces in the text: word by word */
	for (uint32_t i = 0; i < k; i++)
	{
		uint32_t	r = (end_word - k + i) & RING_MASK;

		if (i > 0)
		{
			if (off >= value_len || value[off] != ' ')
				return false;
			off++;
		}
		if (w->len[r] > value_len - off ||
			memcmp(w->start[r], value + off, w->len[r]) != 0)
			return false;
		off += w->len[r];
	}
	return off == value_len;
}

/*
 * Report the live values equal to the span of the last k words; false if
 * the callback asked to stop
 */
static bool
probe_span(const OverlayView *v, const SpanWindow *w, uint32_t end_word,
		   uint32_t k, CatzMatchFn fn, void *arg)
{
	uint64_t	hash = w->hash[k];
	uint32_t	ref = v->buckets[bucket_of(v->hdr, hash)];

	/* Chains are acyclic in a valid blob; bound the walk regardless */
	for (uint32_t n = 0; ref != 0 && n < v->hdr->used; n++)
	{
		uint32_t	slot = ref - 1;
		const SlotLink *link = &v->links[slot];

		if (link->hash == hash)
		{
			const CatzEntry *e = &v->entries[slot];

			if (e->nwords == k && e->value_len == w->bytes[k] &&
				span_equals(w, end_word, k,
							catz_entry_value(v->base, e), e->value_len) &&
				!fn(arg, slot, end_word - k, end_word))
				return false;
		}
		ref = link->next;
	}
	return true;
}

/*
 * Report every occurrence of a live merchant/keyword pattern in normalized
 * text; returns the number of words in the text
 */
uint32_t
catz_overlay_match(const CatzOverlay *ov, const char *text, size_t len,
				   CatzMatchFn fn, void *arg)
{
	OverlayView v = overlay_view(ov);
	uint64_t	length_mask = v.hdr->length_mask;
	uint32_t	max_words = v.hdr->max_words;
	uint32_t	nwords = 0;		/* words consumed so far */
	size_t		pos = 0;
	const char *word;
	size_t		wlen;
	SpanWindow	w;

	if (max_words > CATZ_MAX_PATTERN_WORDS)
		max_words = CATZ_MAX_PATTERN_WORDS; /* impossible in a valid blob */
	if (max_words == 0 || v.hdr->live == 0)
		return catz_count_words(text, len, 0, 0);

	w.nspans = 0;

	/* Word positions are uint32; a longer text is matched in its prefix */
	while (nwords < UINT32_MAX && catz_next_word(text, len, &pos, &word, &wlen))
	{
		uint32_t	r = nwords & RING_MASK;
		uint64_t	h;

		nwords++;
		if (wlen > CATZ_MAX_PATTERN_BYTES)
		{
			w.nspans = 0;		/* no value spans this word */
			continue;
		}
		w.start[r] = word;
		w.len[r] = (uint32_t) wlen;
		if (w.nspans < max_words)
			w.nspans++;

		/*
		 * The span of the last k words extends the previous span of k - 1
		 * words; go down so that each reads the previous word's value.
		 */
		h = word_hash(word, wlen);
		for (uint32_t k = w.nspans; k > 1; k--)
		{
			w.hash[k] = span_step(w.hash[k - 1], h);
			w.bytes[k] = w.bytes[k - 1] + 1 + (uint32_t) wlen;
		}
		w.hash[1] = span_step(WORD_SEED, h);
		w.bytes[1] = (uint32_t) wlen;

		/* Longest first, like catz_set_match */
		for (uint32_t k = w.nspans; k >= 1; k--)
		{
			if ((length_mask & (UINT64_C(1) << (k - 1))) == 0 ||
				w.bytes[k] > CATZ_MAX_PATTERN_BYTES)
				continue;
			if (!probe_span(&v, &w, nwords, k, fn, arg))
				return catz_count_words(text, len, pos, nwords);
		}
	}
	return nwords;
}
