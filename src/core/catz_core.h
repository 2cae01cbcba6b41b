/*-------------------------------------------------------------------------
 *
 * catz_core.h
 *	  Public interface of the pure-C categorization engine.
 *
 * The core knows nothing about PostgreSQL: it does not include postgres.h,
 * never calls palloc or ereport, and never longjmps.  Callers pass an
 * allocator and get a CatzStatus back.  Everything it builds for sharing
 * between processes (a compiled pattern set, a token model) is one flat,
 * position-independent blob: internal references are offsets from the
 * start of the blob, never pointers, so the blob may be copied into shared
 * memory and mapped at a different address in every backend.
 *
 * Pieces (one file each):
 *	normalize.c		text normalization and tokenization
 *	unicode_tables.c	generated case-folding / classification tables
 *	hash.c			the hash function used by every table in a blob
 *	automaton.c		compile patterns into an Aho-Corasick automaton over
 *					words; match normalized text against it
 *	regex_literal.c	required-literal extraction, a prefilter for regexes
 *	model.c			online token model (naive Bayes counts)
 *	crowd.c			owners' documents for everyone's model, where owners agree
 *	score.c			ranking of candidates and their confidence
 *	conflicts.c		rule conflicts found through a compiled set
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_CORE_H
#define CATZ_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes returned by every fallible core function */
typedef enum CatzStatus
{
	CATZ_OK = 0,
	CATZ_ENOMEM,				/* the allocator returned NULL */
	CATZ_EINVAL,				/* an input violates a documented limit */
	CATZ_ETOOBIG,				/* the result would exceed CATZ_MAX_BLOB_BYTES */
	CATZ_ECORRUPT				/* a blob failed validation */
} CatzStatus;

/* Human-readable name of a status, for error messages */
extern const char *catz_status_string(CatzStatus status);

/*
 * Allocator supplied by the caller.  alloc returns NULL on failure (the core
 * then returns CATZ_ENOMEM after freeing what it allocated); it must return
 * memory aligned for any C type (8 bytes is enough).
 */
typedef struct CatzAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} CatzAllocator;

/* An allocator over malloc/free, for tests and tools */
extern const CatzAllocator catz_malloc_allocator;

/* Limits */
#define CATZ_MAX_BLOB_BYTES		((size_t) 0xFFFFFFF0u)	/* offsets are uint32 */
#define CATZ_MAX_PATTERN_BYTES	1024	/* normalized value of a pattern */
#define CATZ_MAX_PATTERN_WORDS	64

/* ----------------------------------------------------------------
 * Normalization (normalize.c)
 *
 * catz_normalize() turns raw merchant or description text (UTF-8) into
 * lower-case words separated by single spaces, with no leading or trailing
 * space.  The rules, applied in order:
 *
 *	1. Decoding.  Invalid UTF-8 bytes count as separators.
 *	2. Characters.  Each code point is mapped through tables generated from
 *	   the Unicode Character Database: compatibility decomposition (NFKD),
 *	   combining marks dropped ("Café" -> "cafe", "ｓｈｏｐ" -> "shop"), full
 *	   case folding ("Straße" -> "strasse").  Letters and digits are word
 *	   characters; marks and invisible format characters (zero-width
 *	   space and joiners, soft hyphen, bidi marks) are dropped without
 *	   splitting a word ("Star<soft hyphen>bucks" -> "starbucks"); everything
 *	   else (punctuation, symbols, spaces, controls) separates words.  An
 *	   apostrophe between two word characters is dropped ("McDonald's" ->
 *	   "mcdonalds").
 *	3. Card-statement noise, removed at word level:
 *	   - a processor prefix: one leading run of at most 8 letters/digits
 *	     followed (spaces allowed) by '*': "SQ *JOES" -> "joes",
 *	     "TST* CAFE" -> "cafe", "PAYPAL *EBAY" -> "ebay"; not when the
 *	     word after the '*' is itself noise (below): a merchant that writes
 *	     its reference there keeps its name ("LYFT *2276605635 SAN
 *	     FRANCISCO CA" -> "lyft san francisco ca");
 *	   - leading card-network words, however many, from a fixed list
 *	     (pos, debit, credit, card, purchase, checkcard, visa, mastercard,
 *	     contactless, recurring, ...; see normalize.c), and a 4-digit
 *	     date right after checkcard;
 *	   - a number written after '#' ("#12", "#1234": store and terminal
 *	     numbers), and a word made only of digits, 3 or more of them
 *	     (reference numbers, dates: "0412");
 *	   - a card tail: x or * repeated 2+ times followed by digits
 *	     ("XXXX1234", "****1234");
 *	   - a reference code: a word of 6+ characters holding 3+ digits
 *	     ("z9uj3aep92").
 *	   If these rules would remove every word, they are tried again without
 *	   the processor-prefix rule ("SQ *1234" -> "sq"); if they still would,
 *	   none of them is applied (the text normalizes to its words after
 *	   step 2: "1234" -> "1234").  The retry keeps normalization idempotent:
 *	   the '*' marking a prefix does not survive normalization.
 *	4. Words are joined with one space.
 *
 * The output is deterministic and independent of locale and server
 * encoding settings, so it is safe in IMMUTABLE SQL functions and indexes.
 * ----------------------------------------------------------------
 */

/* Upper bound on catz_normalize's output length for an input of len bytes */
extern size_t catz_normalize_bound(size_t len);

/*
 * Normalize in[0..len) into out, which has room for outcap bytes (pass
 * catz_normalize_bound(len)).  Returns the output length; the output is not
 * NUL-terminated.  Never fails when outcap is large enough; if it is not,
 * the output is truncated at a word boundary.
 */
extern size_t catz_normalize(const char *in, size_t len, char *out, size_t outcap);

/*
 * Iterate over the words of normalized text: *pos is the cursor (start at
 * 0).  Returns false at the end; otherwise sets *word and *wlen.
 */
static inline bool
catz_next_word(const char *text, size_t len, size_t *pos,
			   const char **word, size_t *wlen)
{
	size_t		p = *pos;
	size_t		start;

	while (p < len && text[p] == ' ')
		p++;
	if (p >= len)
	{
		*pos = p;
		return false;
	}
	start = p;
	while (p < len && text[p] != ' ')
		p++;
	*word = text + start;
	*wlen = p - start;
	*pos = p;
	return true;
}

/* nwords plus the number of words of normalized text[pos..len) */
static inline uint32_t
catz_count_words(const char *text, size_t len, size_t pos, uint32_t nwords)
{
	const char *word;
	size_t		wlen;

	while (nwords < UINT32_MAX && catz_next_word(text, len, &pos, &word, &wlen))
		nwords++;
	return nwords;
}

/* ----------------------------------------------------------------
 * Hashing (hash.c)
 * ----------------------------------------------------------------
 */
extern uint64_t catz_hash_bytes(const void *data, size_t len, uint64_t seed);

/* ----------------------------------------------------------------
 * Pattern sets (automaton.c)
 * ----------------------------------------------------------------
 */

/* Pattern kinds, in order of specificity */
typedef enum CatzKind
{
	CATZ_KIND_KEYWORD = 0,
	CATZ_KIND_REGEX = 1,
	CATZ_KIND_MERCHANT = 2
} CatzKind;

/* Pattern flags */
#define CATZ_PF_OWNER		0x01	/* owner_id is set */
#define CATZ_PF_AMOUNT_MIN	0x02	/* amount_min is set */
#define CATZ_PF_AMOUNT_MAX	0x04	/* amount_max is set */
#define CATZ_PF_LEARNED		0x08	/* source = 'learned' */
#define CATZ_PF_AMOUNT_SEEN	0x10	/* learned: log_amount is set */

/* One pattern handed to catz_set_build() */
typedef struct CatzPatternInput
{
	int64_t		pattern_id;
	int64_t		category_id;
	int64_t		owner_id;		/* meaningful when CATZ_PF_OWNER */
	double		amount_min;		/* meaningful when CATZ_PF_AMOUNT_MIN */
	double		amount_max;		/* meaningful when CATZ_PF_AMOUNT_MAX */
	int64_t		hits;
	int64_t		misses;
	int64_t		confirmed;		/* learned: order of its last confirming
								 * correction (larger is more recent); 0 if
								 * never */
	int64_t		taught;			/* learned: corrections filing its merchant
								 * under its category */
	double		weight;			/* learned: the same, decayed by the later
								 * corrections of the merchant ... */
	int64_t		weight_at;		/* ... up to the owner's weight_at-th
								 * correction of the merchant */
	double		log_amount;		/* learned: their weighted mean ln|amount|;
								 * NAN when none had an amount */
	int32_t		priority;
	uint8_t		kind;			/* CatzKind */
	uint8_t		flags;			/* CATZ_PF_* */
	const char *value;			/* merchant/keyword: normalized words;
								 * regex: the regular expression as written */
	uint32_t	value_len;
} CatzPatternInput;

/* One pattern inside a compiled set (read-only view into the blob) */
typedef struct CatzEntry
{
	int64_t		pattern_id;
	int64_t		category_id;
	int64_t		owner_id;
	double		amount_min;
	double		amount_max;
	int64_t		hits;
	int64_t		misses;
	int64_t		confirmed;		/* see CatzPatternInput */
	int64_t		taught;			/* see CatzPatternInput */
	double		weight;
	int64_t		weight_at;
	double		log_amount;
	int32_t		priority;
	uint32_t	value_off;		/* offset of the value bytes from blob start */
	uint32_t	value_len;
	uint16_t	nwords;			/* words in the value (0 for regex) */
	uint8_t		kind;
	uint8_t		flags;
} CatzEntry;

/* A compiled pattern set: an opaque, flat, position-independent blob */
typedef struct CatzSet CatzSet;

/*
 * Compile n patterns into a new blob allocated with alloc.  Merchant and
 * keyword values must already be normalized (catz_normalize); a value that
 * is empty, longer than CATZ_MAX_PATTERN_BYTES, or of more than
 * CATZ_MAX_PATTERN_WORDS words gives CATZ_EINVAL and *bad_index is set to
 * the offending pattern.  Regex patterns are stored, not compiled (the
 * caller runs them with its own regex engine); each gets a required literal
 * (regex_literal.c) for prefiltering.  Entries keep the input order.
 */
extern CatzStatus catz_set_build(const CatzPatternInput *patterns, size_t n,
								 const CatzAllocator *alloc,
								 CatzSet **set_out, size_t *size_out,
								 size_t *bad_index);

/*
 * Check that a blob of size bytes is a well-formed set (for untrusted
 * input): afterwards no accessor or match can read outside it.  The blob
 * must be 8-byte aligned, as any allocator returns it.  Linear time.
 */
extern CatzStatus catz_set_validate(const void *blob, size_t size);

/* Size of a set's blob in bytes */
extern size_t catz_set_size(const CatzSet *set);

/* Number of entries, and entry i (NULL unless 0 <= i < count) */
extern uint32_t catz_set_count(const CatzSet *set);
extern const CatzEntry *catz_set_entry(const CatzSet *set, uint32_t i);

/*
 * Value bytes of an entry; blob is the set or overlay holding it (value_off
 * is relative to the start of that blob)
 */
static inline const char *
catz_entry_value(const void *blob, const CatzEntry *e)
{
	return (const char *) blob + e->value_off;
}

/* Regex entries: their count, the entry index of the i-th one, its literal */
extern uint32_t catz_set_regex_count(const CatzSet *set);
extern uint32_t catz_set_regex_entry(const CatzSet *set, uint32_t i);
extern const char *catz_set_regex_literal(const CatzSet *set, uint32_t i,
										  uint32_t *len);

/*
 * Called for each occurrence of a merchant/keyword pattern in the text:
 * entry is the entry index; the match covers words [start_word, end_word).
 * Return false to stop the scan.
 */
typedef bool (*CatzMatchFn) (void *arg, uint32_t entry,
							 uint32_t start_word, uint32_t end_word);

/*
 * Scan normalized text (words separated by single spaces) with the
 * automaton; reports every occurrence of every merchant/keyword pattern at
 * word boundaries, by increasing end_word, longest first for the same
 * end_word, and in entry order for the same span.  Returns the number of
 * words in the text (all of them, even when fn stops the scan).  Cost is
 * linear in the text and in the number of occurrences reported, and
 * independent of the number of patterns.
 */
extern uint32_t catz_set_match(const CatzSet *set, const char *text, size_t len,
							   CatzMatchFn fn, void *arg);

/* One of several texts matched together (catz_set_match_texts) */
typedef struct CatzMatchText
{
	const char *text;			/* normalized */
	size_t		len;
} CatzMatchText;

/*
 * As CatzMatchFn, with the index of the text the occurrence is in, and
 * the entry itself rather than its index (which catz_set_match would give:
 * finding it is one more read from memory, which most callers do not need)
 */
typedef bool (*CatzTextMatchFn) (void *arg, uint32_t text, const CatzEntry *entry,
								 uint32_t start_word, uint32_t end_word);

/*
 * catz_set_match over several texts at once: each text is matched on its
 * own, exactly as catz_set_match would (the same occurrences in the same
 * order, text by text), but the words of all of them are looked up
 * together, which hides more of the memory latency of a large set than
 * matching them one after the other.
 */
extern void catz_set_match_texts(const CatzSet *set, const CatzMatchText *texts,
								 uint32_t ntexts, CatzTextMatchFn fn, void *arg);

/* ----------------------------------------------------------------
 * Overlays (overlay.c)
 *
 * An overlay holds the patterns that changed since a compiled set was
 * built: inserted or updated patterns, and the ids of deleted ones.  It is
 * a flat, fixed-capacity, position-independent blob (offsets only) that is
 * updated in place, so it can live in shared memory; when it is full the
 * caller folds it into a new compiled set.  Matching probes every word span
 * of the text (up to the longest value in the overlay) in a hash table, so
 * a pattern can be added in O(1) with no recompilation.
 *
 * The caller looks a base entry's pattern id up with catz_overlay_shadows()
 * and ignores the base entry when the overlay has a newer version of the
 * pattern, or a tombstone for it.
 * ----------------------------------------------------------------
 */
typedef struct CatzOverlay CatzOverlay;

/* Bytes needed for an overlay of max_patterns patterns and pool_bytes of values */
extern size_t catz_overlay_size(uint32_t max_patterns, uint32_t pool_bytes);

/* Initialize an overlay in size bytes at blob (8-byte aligned) */
extern CatzOverlay *catz_overlay_init(void *blob, size_t size,
									  uint32_t max_patterns, uint32_t pool_bytes);

/* Check that a blob is a well-formed overlay (for untrusted input) */
extern CatzStatus catz_overlay_validate(const void *blob, size_t size);

/*
 * Insert a pattern, or replace the overlay's version of the same
 * pattern_id.  Merchant/keyword values must be normalized.  Returns
 * CATZ_ETOOBIG when the overlay is full (nothing is changed then) and
 * CATZ_EINVAL for a value that violates the limits of catz_set_build().
 */
extern CatzStatus catz_overlay_put(CatzOverlay *ov, const CatzPatternInput *p);

/* Record that a pattern was deleted; CATZ_ETOOBIG when full */
extern CatzStatus catz_overlay_delete(CatzOverlay *ov, int64_t pattern_id);

/* True when the overlay has a version or a tombstone of pattern_id */
extern bool catz_overlay_shadows(const CatzOverlay *ov, int64_t pattern_id);

/* Live patterns and all slots ever used (live, replaced or deleted) */
extern uint32_t catz_overlay_live(const CatzOverlay *ov);
extern uint32_t catz_overlay_used(const CatzOverlay *ov);

/* Slots ever written with a regex: 0 means no slot is a regex to try */
extern uint32_t catz_overlay_regex_slots(const CatzOverlay *ov);

/*
 * Entry i (0 <= i < catz_overlay_used()), or NULL if that slot was replaced
 * or deleted
 */
extern const CatzEntry *catz_overlay_entry(const CatzOverlay *ov, uint32_t i);

/* Pattern ids the overlay deletes: count and the i-th */
extern uint32_t catz_overlay_tombstones(const CatzOverlay *ov);
extern int64_t catz_overlay_tombstone(const CatzOverlay *ov, uint32_t i);

/*
 * Report every occurrence of a live merchant/keyword pattern of the overlay
 * in normalized text, like catz_set_match() (entry is a slot index for
 * catz_overlay_entry()).  Returns the number of words in the text.
 */
extern uint32_t catz_overlay_match(const CatzOverlay *ov, const char *text, size_t len,
								   CatzMatchFn fn, void *arg);

/* Copy an overlay into a larger blob initialized by catz_overlay_size() */
extern CatzStatus catz_overlay_copy(CatzOverlay *dst, const CatzOverlay *src);

/* ----------------------------------------------------------------
 * Regex prefilter (regex_literal.c)
 *
 * A string that every match of the regular expression must contain
 * (case-folded ASCII), or length 0 when none can be proven.  Conservative:
 * a text that does not contain the literal (case-insensitively) cannot
 * match the regex.
 * ----------------------------------------------------------------
 */
extern size_t catz_regex_required_literal(const char *re, size_t len,
										  char *out, size_t outcap);

/* Case-insensitive (ASCII) substring test used with the literal */
extern bool catz_contains_ci(const char *hay, size_t hlen,
							 const char *needle, size_t nlen);

/*
 * The ASCII-case-folded trigrams of a text, hashed into 2048 bits: a
 * prefilter for many literals against one text.  A literal of three bytes
 * or more can be in the text only if all its trigrams are in the set
 * (false positives are possible, false negatives are not).
 */
#define CATZ_TRIGRAM_LOG2_BITS	11
#define CATZ_TRIGRAM_BITS	(1 << CATZ_TRIGRAM_LOG2_BITS)

typedef struct CatzTrigramSet
{
	uint64_t	bits[CATZ_TRIGRAM_BITS / 64];
} CatzTrigramSet;

extern void catz_trigrams_of(const char *text, size_t len, CatzTrigramSet *set);
/*
 * Add the trigrams of a text to set (several texts' set: their union);
 * returns whether the text is plain ASCII, where the prefilter is exact
 */
extern bool catz_trigrams_add(const char *text, size_t len, CatzTrigramSet *set);

/* Whether needle (nlen >= 3) may occur in the text of set; true if shorter */
extern bool catz_trigrams_may_contain(const CatzTrigramSet *set,
									  const char *needle, size_t nlen);

/*
 * The first regex of a set at or after index from (catz_set_regex_entry's
 * numbering) that may match one of the ntexts texts whose trigram sets are
 * given: one without a literal of three bytes or more always may, one with
 * such a literal only if some set covers its trigrams.  catz_set_regex_count
 * when no further regex may match.  One call prefilters a set's regexes for
 * a text; what it lets through still needs the regex run.
 */
extern uint32_t catz_set_regex_next(const CatzSet *set, uint32_t from,
									const CatzTrigramSet *texts, int ntexts);


/* ----------------------------------------------------------------
 * Token model (model.c)
 *
 * A multinomial naive Bayes model over hashed features of normalized
 * expense text: each word ("w:" + word) and each character 4-gram of each
 * word padded with ^ and $.  A model is a flat blob built from documents
 * (one per correction); models are additive, so a large base model and a
 * small delta model built from recent corrections are scored together.
 * ----------------------------------------------------------------
 */
#define CATZ_MAX_FEATURES	512	/* features kept per text */

/*
 * Features of normalized text, deduplicated and sorted, at most cap of
 * them (the first words win).  Returns the count.
 */
extern size_t catz_features(const char *norm, size_t len, uint64_t *out, size_t cap);

/*
 * Add the feature of an amount (its sign and binary order: 20.00 and 31.99
 * share one, 32.00 has the next) to features[0..n), keeping them sorted and
 * distinct; nothing without an amount or when n is cap.  Returns the count.
 * So the model learns the amounts of each category, as much as they tell.
 */
extern size_t catz_add_amount_feature(uint64_t *features, size_t n, size_t cap,
									  bool has_amount, double amount);

/* One training document */
typedef struct CatzModelDoc
{
	const uint64_t *features;
	uint32_t	nfeatures;
	int64_t		category_id;
} CatzModelDoc;

typedef struct CatzModel CatzModel;

extern CatzStatus catz_model_build(const CatzModelDoc *docs, size_t n,
								   const CatzAllocator *alloc,
								   CatzModel **model_out, size_t *size_out);
extern CatzStatus catz_model_validate(const void *blob, size_t size);
extern uint32_t catz_model_docs(const CatzModel *model);
extern size_t catz_model_size(const CatzModel *model);

/*
 * A delta model: the same counts in a flat, fixed-capacity blob that is
 * updated in place (one document at a time), for the corrections made since
 * the base model was built.  Position-independent, so it can live in shared
 * memory; when it is full the caller rebuilds the base.
 */
typedef struct CatzModelDelta CatzModelDelta;

/* Bytes needed for a delta of max_docs documents and max_features feature occurrences */
extern size_t catz_model_delta_size(uint32_t max_docs, uint32_t max_features);
extern CatzModelDelta *catz_model_delta_init(void *blob, size_t size,
											 uint32_t max_docs, uint32_t max_features);
extern CatzStatus catz_model_delta_validate(const void *blob, size_t size);

/*
 * Copy a delta into a larger one just initialized (for growing a delta
 * that lives in ordinary memory); CATZ_ETOOBIG if it does not fit
 */
extern CatzStatus catz_model_delta_copy(CatzModelDelta *dst, const CatzModelDelta *src);

/* Add a document; CATZ_ETOOBIG (and no change) when the delta is full */
extern CatzStatus catz_model_delta_add(CatzModelDelta *delta, const CatzModelDoc *doc);
extern uint32_t catz_model_delta_docs(const CatzModelDelta *delta);

/*
 * One source of counts (a model or a delta; the other is NULL) and the
 * weight of its counts in a combined prediction
 */
typedef struct CatzWeightedModel
{
	const CatzModel *model;
	const CatzModelDelta *delta;
	double		weight;
} CatzWeightedModel;

/* A category and its posterior probability */
typedef struct CatzPrediction
{
	int64_t		category_id;
	double		probability;
} CatzPrediction;

/*
 * Posterior over the categories of the combined models (counts added with
 * their weights, Laplace smoothing alpha), best first; writes at most k
 * predictions and returns how many.  *known_features gets the number of
 * the text's features seen in training.  Categories for which allowed()
 * returns false are left out (allowed may be NULL).
 */
extern int	catz_model_predict(const CatzWeightedModel *models, int nmodels,
							   const uint64_t *features, size_t nfeatures,
							   double alpha,
							   bool (*allowed) (void *arg, int64_t category_id),
							   void *allowed_arg,
							   const CatzAllocator *alloc,
							   CatzPrediction *out, int k,
							   uint32_t *known_features);

/* ----------------------------------------------------------------
 * The crowd's documents (crowd.c)
 *
 * Owners' corrections teach everyone's token model only where owners
 * agree: a document's feature is kept for its category when documents of
 * that category from at least min_owners distinct owners have it (the
 * learning contract's promote_min_users); the others are dropped, and so
 * are documents left with no feature.
 * ----------------------------------------------------------------
 */
typedef struct CatzCrowdDoc
{
	uint64_t   *features;		/* filtered in place */
	uint32_t	nfeatures;
	int64_t		category_id;
	int64_t		owner_id;
} CatzCrowdDoc;

/*
 * Gate n documents in place: the kept ones, with their kept features, are
 * moved to the front, their number to *kept.  CATZ_ENOMEM leaves docs as
 * they were.
 */
extern CatzStatus catz_crowd_gate(CatzCrowdDoc *docs, size_t n, uint32_t min_owners,
								  const CatzAllocator *alloc, size_t *kept);

/* ----------------------------------------------------------------
 * Ranking and confidence (score.c)
 * ----------------------------------------------------------------
 */

/* Which field of the expense a pattern matched */
#define CATZ_FIELD_MERCHANT		0
#define CATZ_FIELD_DESCRIPTION	1

/* A pattern that matched the expense */
typedef struct CatzHit
{
	const void *blob;			/* the set or overlay holding the entry */
	const CatzEntry *entry;
	int64_t		decisions;		/* categorizations it made, not yet in
								 * entry->hits */
	uint32_t	match_words;	/* words matched (0 for a regex) */
	uint32_t	match_bytes;	/* bytes matched */
	uint8_t		field;			/* CATZ_FIELD_* */
	bool		exact;			/* the match covers the whole field */
	bool		own;			/* the expense owner's own pattern */
	double		reliability;	/* catz_pattern_reliability(), once per hit
								 * (set by catz_rank, and by catz_mark_word
								 * when it weighs the crowd against rules) */
	bool		word;			/* the user's word: see catz_mark_word() */
	bool		crowd;			/* for an expense of a user: everyone's learned
								 * pattern outside the user's word (of the
								 * merchant, when the user taught nothing for
								 * it, or of a part of the name), which faces
								 * rules by its record */
	bool		word_group;		/* one of the user's learned patterns of this
								 * merchant (word or not) */
	double		word_share;		/* a group member's share of the group's
								 * evidence */
	double		word_weight;	/* a group member's weight, decayed to now */
} CatzHit;

/* Where a candidate came from */
#define CATZ_SOURCE_PATTERN	0
#define CATZ_SOURCE_MODEL	1

/* One ranked candidate category */
typedef struct CatzCandidate
{
	int64_t		category_id;
	double		confidence;		/* calibrated probability of being right */
	uint8_t		source;			/* CATZ_SOURCE_* */
	const CatzHit *hit;			/* the deciding pattern, for patterns */
	double		model_probability;	/* for the model */
	uint32_t	known_features; /* for the model */
	bool		own_model;		/* for the model: the owner's model decided */
} CatzCandidate;

/* Reliability of a pattern from its hits and misses (Beta posterior mean) */
extern double catz_pattern_reliability(const CatzEntry *entry, int64_t decisions);

/*
 * The user's word (the learning contract): among the hits, the learned
 * merchant patterns the expense's user taught for its learning key (the
 * whole normalized merchant name, field key_field; owner-less patterns —
 * promoted, or taught without a user — when the expense has no user) form
 * a group, one pattern per category.  When the user taught nothing for
 * the key, the owner-less patterns form the group, and are the word only
 * when they name one category; else they get shares (their ranking among
 * themselves, and their confidence) only.  Mark
 * the one the user's corrections favour as the word: the only one when
 * they all filed the merchant alike; else the largest score, where a
 * category scores its weight (recency) times how near the expense's
 * amount is to the amounts of that category's corrections, plus its share
 * of CATZ_WORD_PRIOR corrections (the group's weights in proportion), then
 * the latest confirmed.  Marks the group's members, and the word's share
 * of the group's evidence.
 */
#define CATZ_WORD_DECAY			0.85	/* weight of a correction per later one
										 * of the same merchant */
#define CATZ_WORD_AMOUNT_SCALE	0.6931471805599453	/* ln 2: an octave */
#define CATZ_WORD_PRIOR			1.0 /* corrections' worth of the merchant's
									 * usual filing, whatever the amount */
extern void catz_mark_word(CatzHit *hits, int nhits, bool has_owner, int64_t owner_id,
						   uint8_t key_field, bool has_amount, double amount);

/* The amount kernel of catz_mark_word(): 1 at the mean of the category's
 * amounts, 0 far from it, 1 when either amount is unknown */
extern double catz_word_amount_kernel(const CatzEntry *e, bool has_amount, double amount);

/*
 * Whether a hit gives way to a surer model guess in catz_rank(): a learned
 * pattern that matched only a part of the name (the caller asks the model
 * for guesses whenever one is among the hits)
 */
extern bool catz_yields_to_model(const CatzHit *h);

/*
 * Rank hits and model predictions into at most k candidates, one per
 * category, best first: the user's word, then the owner's own patterns,
 * then priority, then specificity (merchant > regex > keyword; an exact
 * whole-field match first; longer matches first), then learned before
 * manual, then reliability; model
 * predictions (from a model of model_docs weighted documents) follow every
 * pattern candidate, but for a learned pattern that matched a part of the
 * name: the model's guesses surer than it come before it.  hits may be
 * reordered.  Returns the count.
 */
extern int	catz_rank(CatzHit *hits, int nhits,
					  const CatzPrediction *model, int nmodel,
					  uint32_t known_features, bool own_model, double model_docs,
					  CatzCandidate *out, int k);

/* ----------------------------------------------------------------
 * Rule conflicts (conflicts.c)
 *
 * Which active patterns get in each other's way, found through one
 * compiled set of all of them (no pairwise comparison of the rules): each
 * merchant/keyword pattern's own value is a text it matches exactly (its
 * witness), and every other pattern that fires on that text is found by
 * one automaton scan (merchant/keyword) or by the regexes whose required
 * literal it contains.  A regex pattern's witness is its required literal,
 * when the regex matches it.  Two such patterns of different categories
 * are then ranked with catz_rank(), as the engine would rank them on the
 * witness, for the owner the pair concerns (an owner's pattern applies to
 * that owner's expenses; everyone's to all).
 *
 *	shadowed	the loser never decides anything: the winner fires on
 *				every expense it fires on (the winner's words are in the
 *				loser's value, its fields and amount range cover the
 *				loser's, its owner is the loser's or everyone) and ranks
 *				first there.  Only merchant/keyword pairs qualify: a regex
 *				may fire on the witness and not on another text.
 *	overlapping	the winner decides some expenses the loser fires on (the
 *				example), and the loser still decides others.
 *	duplicate	same kind, value, amount range and category (for
 *				everyone, or the same owner, or one for everyone and one
 *				an owner's); the loser adds nothing.
 *	never_matches  a merchant/keyword value that normalizes to nothing or
 *				exceeds the limits, an empty amount range, or a regex the
 *				caller's regex engine proved impossible.
 *
 * Pinned patterns and decisions not yet counted in hits are not
 * considered: the ranking is that of the patterns' stored counts.  Cost:
 * one set build, one scan per distinct value, plus the regex tests the
 * literal index lets through, plus the pairs found.
 * ----------------------------------------------------------------
 */
typedef enum CatzConflictKind
{
	CATZ_CONFLICT_SHADOWED = 0,
	CATZ_CONFLICT_OVERLAPPING,
	CATZ_CONFLICT_DUPLICATE,
	CATZ_CONFLICT_NEVER_MATCHES
} CatzConflictKind;

/* Why the winner of a pair ranks first: the level of score.c's order that decides */
typedef enum CatzRankWhy
{
	CATZ_WHY_OWN = 0,			/* the owner's own pattern */
	CATZ_WHY_PRIORITY,
	CATZ_WHY_KIND,				/* merchant > regex > keyword */
	CATZ_WHY_EXACT,				/* matches the whole text */
	CATZ_WHY_WORDS,				/* more words matched */
	CATZ_WHY_BYTES,				/* more bytes matched */
	CATZ_WHY_LEARNED,			/* learned before manual */
	CATZ_WHY_RELIABILITY,
	CATZ_WHY_ID					/* the lower pattern id (a full tie) */
} CatzRankWhy;

/* Why a pattern can never match */
typedef enum CatzNeverWhy
{
	CATZ_NEVER_EMPTY_VALUE = 0, /* merchant/keyword value of no words */
	CATZ_NEVER_TOO_LONG,		/* value beyond the compiled set's limits */
	CATZ_NEVER_EMPTY_RANGE,		/* amount_min > amount_max */
	CATZ_NEVER_REGEX			/* the regex matches no text */
} CatzNeverWhy;

/* One conflict, as reported to the caller */
typedef struct CatzConflict
{
	uint8_t		kind;			/* CatzConflictKind */
	uint8_t		why;			/* CatzRankWhy, or CatzNeverWhy for never */
	uint32_t	pattern;		/* input index of the pattern overruled */
	uint32_t	decider;		/* input index of the one that decides;
								 * CATZ_CONFLICT_NONE for never_matches */
	bool		has_owner;		/* the pair concerns this owner's expenses */
	int64_t		owner_id;
	const char *example;		/* a text both fire on, decided by decider;
								 * NULL when none; valid during the call */
	uint32_t	example_len;
} CatzConflict;

#define CATZ_CONFLICT_NONE	UINT32_MAX

/* What the caller supplies */
typedef struct CatzConflictCallbacks
{
	/*
	 * Whether regex pattern index (input index) matches raw text; the bytes
	 * matched go to *matched.  Required when there are regex patterns.
	 */
	bool		(*regex_match) (void *arg, uint32_t index, const char *text, size_t len,
								uint32_t *matched);
	/* Report one conflict; return false to stop */
	bool		(*report) (void *arg, const CatzConflict *conflict);
	/* Called every few hundred witnesses (may be NULL); false stops */
	bool		(*tick) (void *arg);
	void	   *arg;
} CatzConflictCallbacks;

/*
 * Find the conflicts among n active patterns (values as for
 * catz_set_build, unchecked: bad values are reported as never_matches).
 * regex_impossible[i] (may be NULL) says that regex pattern i matches
 * nothing.  Each conflict is reported once, or once per example for pairs
 * of which one is a regex.  Returns CATZ_ENOMEM, CATZ_ETOOBIG (the set
 * would be too big) or CATZ_OK, also when a callback stopped it.
 */
extern CatzStatus catz_conflicts_find(const CatzPatternInput *patterns, size_t n,
									  const bool *regex_impossible,
									  const CatzConflictCallbacks *cb,
									  const CatzAllocator *alloc);

/* Words for a CatzRankWhy, and for a CatzNeverWhy */
extern const char *catz_rank_why_string(uint8_t why);
extern const char *catz_never_why_string(uint8_t why);

#endif							/* CATZ_CORE_H */
