/*-------------------------------------------------------------------------
 *
 * conflicts.c
 *	  Rule conflicts: which patterns overrule, shadow or repeat each other,
 *	  and which can never match, found through one compiled set.
 *
 * A quadratic comparison of 100k rules is out of the question, and most
 * pairs have nothing in common.  Two patterns can only fire on the same
 * expense when one's words occur in a text the other matches; the
 * shortest such text of a merchant/keyword pattern is its own value (its
 * witness), and every pattern whose words occur in it is found by one scan
 * of the compiled automaton (automaton.c), whose cost does not depend on
 * the number of patterns.  Patterns with the same value share one scan.
 * The regexes that may fire on a witness are those whose required literal
 * (regex_literal.c) it contains, found through an index of the literals'
 * first trigram; the caller's regex engine decides.
 *
 * Each pair found is ranked with catz_rank() on the witness, as the engine
 * would rank the two hits on that text.  Why the result holds beyond the
 * witness (the basis of "shadowed"): if Q's words occur in P's value, Q
 * fires on every text P fires on; on P's witness P has every advantage a
 * text can give it (a whole-field match, all its words), so if Q ranks
 * first there, it ranks first on every text both fire on.
 *
 * Invariants: input indices are what the caller sees; set entry k is input
 * kept[k] (catz_set_build keeps the input order).  All memory comes from
 * the caller's allocator and is freed before returning; a callback that
 * does not return (the glue's ereport) leaves it to the caller's memory
 * context.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"

#include <stdlib.h>
#include <string.h>

#define NONE	UINT32_MAX

/* Most words a witness can have (a value or an ASCII literal of at most CATZ_MAX_PATTERN_BYTES) */
#define MAX_WITNESS_WORDS	(CATZ_MAX_PATTERN_BYTES / 2 + 1)

/* Witnesses between two calls of the tick callback */
#define TICK_EVERY	256

/* One pattern that fires on the current witness */
typedef struct WitnessHit
{
	uint32_t	entry;			/* set entry index */
	uint32_t	words;			/* words matched (0 for a regex) */
	uint32_t	bytes;			/* bytes matched */
	bool		exact;			/* matches the whole witness */
	bool		has_owner;
	int64_t		owner_id;
} WitnessHit;

/* How the witness's own pattern matches it */
typedef struct OwnMatch
{
	uint32_t	words;
	uint32_t	bytes;
	bool		exact;
} OwnMatch;

/* A pattern for sorting, with its input index */
typedef struct SortItem
{
	const CatzPatternInput *p;
	uint32_t	index;
} SortItem;

/* State of one catz_conflicts_find() call */
typedef struct Ctx
{
	const CatzPatternInput *in;
	size_t		n;
	const CatzConflictCallbacks *cb;
	const CatzAllocator *alloc;
	bool		stop;			/* a callback asked to stop */
	CatzStatus	status;

	CatzSet    *set;
	uint32_t   *kept;			/* set entry -> input index */
	uint32_t	nkept;
	uint32_t   *entry_of;		/* input index -> set entry, or NONE */

	/* Regex literal index: buckets by first trigram, chained */
	uint32_t	nregex;
	uint32_t   *rx_head;
	uint32_t   *rx_next;		/* per regex number */
	uint32_t	rx_mask;
	uint32_t   *rx_short;		/* regexes with a literal under 3 bytes */
	uint32_t	nshort;
	uint32_t   *rx_seen;		/* stamp of the witness that tested it */

	/* The current witness */
	uint32_t	stamp;
	uint32_t   *slot_stamp;		/* per set entry: stamp when in hits */
	uint32_t   *slot;			/* per set entry: its index in hits */
	WitnessHit *hits;
	size_t		nhits;
	size_t		maxhits;
	uint32_t   *wstart;			/* byte offsets of the witness's words */
	uint32_t   *wend;
	uint32_t	nwords;
	const char *raw;			/* the witness as an expense would hold it */
	size_t		rawlen;
} Ctx;

/* Allocate, noting ENOMEM */
static void *
ctx_alloc(Ctx *c, size_t size)
{
	void	   *p = c->alloc->alloc(c->alloc->ctx, size ? size : 1);

	if (p == NULL)
		c->status = CATZ_ENOMEM;
	return p;
}

/* Free what ctx_alloc gave (NULL is fine) */
static void
ctx_free(Ctx *c, void *p)
{
	if (p)
		c->alloc->free(c->alloc->ctx, p);
}

/* Whether the call must end: out of memory or asked to stop */
static bool
done(const Ctx *c)
{
	return c->stop || c->status != CATZ_OK;
}

/* Hand a conflict to the caller */
static void
report(Ctx *c, const CatzConflict *cf)
{
	if (!done(c) && !c->cb->report(c->cb->arg, cf))
		c->stop = true;
}

/* Number of words of a normalized value */
static uint32_t
value_words(const char *v, size_t len)
{
	return catz_count_words(v, len, 0, 0);
}

/* Why pattern p can never match, or -1 if it can */
static int
never_why(const CatzPatternInput *p, bool regex_impossible)
{
	if (p->value_len == 0)
		return CATZ_NEVER_EMPTY_VALUE;
	if (p->value_len > CATZ_MAX_PATTERN_BYTES)
		return CATZ_NEVER_TOO_LONG;
	if (p->kind != CATZ_KIND_REGEX &&
		value_words(p->value, p->value_len) > CATZ_MAX_PATTERN_WORDS)
		return CATZ_NEVER_TOO_LONG;
	if ((p->flags & CATZ_PF_AMOUNT_MIN) && (p->flags & CATZ_PF_AMOUNT_MAX) &&
		p->amount_min > p->amount_max)
		return CATZ_NEVER_EMPTY_RANGE;
	if (p->kind == CATZ_KIND_REGEX && regex_impossible)
		return CATZ_NEVER_REGEX;
	return -1;
}

/* Report a never-matching pattern */
static void
report_never(Ctx *c, uint32_t index, int why)
{
	CatzConflict cf;

	memset(&cf, 0, sizeof(cf));
	cf.kind = CATZ_CONFLICT_NEVER_MATCHES;
	cf.why = (uint8_t) why;
	cf.pattern = index;
	cf.decider = CATZ_CONFLICT_NONE;
	cf.has_owner = (c->in[index].flags & CATZ_PF_OWNER) != 0;
	cf.owner_id = cf.has_owner ? c->in[index].owner_id : 0;
	report(c, &cf);
}

/* Whether the amount ranges of two patterns have an amount in common */
static bool
ranges_meet(const CatzPatternInput *a, const CatzPatternInput *b)
{
	if ((a->flags & CATZ_PF_AMOUNT_MIN) && (b->flags & CATZ_PF_AMOUNT_MAX) &&
		a->amount_min > b->amount_max)
		return false;
	if ((b->flags & CATZ_PF_AMOUNT_MIN) && (a->flags & CATZ_PF_AMOUNT_MAX) &&
		b->amount_min > a->amount_max)
		return false;
	return true;
}

/* Whether every amount in b's range is in a's */
static bool
range_covers(const CatzPatternInput *a, const CatzPatternInput *b)
{
	if (a->flags & CATZ_PF_AMOUNT_MIN)
	{
		if (!(b->flags & CATZ_PF_AMOUNT_MIN) || b->amount_min < a->amount_min)
			return false;
	}
	if (a->flags & CATZ_PF_AMOUNT_MAX)
	{
		if (!(b->flags & CATZ_PF_AMOUNT_MAX) || b->amount_max > a->amount_max)
			return false;
	}
	return true;
}

/* Whether two patterns have the same value bytes */
static bool
same_value(const CatzPatternInput *a, const CatzPatternInput *b)
{
	return a->value_len == b->value_len && memcmp(a->value, b->value, a->value_len) == 0;
}

/*
 * The level of score.c's order at which x ranks before y (x being the
 * winner catz_rank chose); pinned is never set here
 */
static uint8_t
rank_why(const CatzHit *x, const CatzHit *y)
{
	bool		lx = (x->entry->flags & CATZ_PF_LEARNED) != 0;
	bool		ly = (y->entry->flags & CATZ_PF_LEARNED) != 0;

	if (x->own != y->own)
		return CATZ_WHY_OWN;
	if (x->entry->priority != y->entry->priority)
		return CATZ_WHY_PRIORITY;
	if (x->entry->kind != y->entry->kind)
		return CATZ_WHY_KIND;
	if (x->exact != y->exact)
		return CATZ_WHY_EXACT;
	if (x->match_words != y->match_words)
		return CATZ_WHY_WORDS;
	if (x->match_bytes != y->match_bytes)
		return CATZ_WHY_BYTES;
	if (lx != ly)
		return CATZ_WHY_LEARNED;
	if (catz_pattern_reliability(x->entry, 0) != catz_pattern_reliability(y->entry, 0))
		return CATZ_WHY_RELIABILITY;
	return CATZ_WHY_ID;
}

/* A hit of set entry on the witness, as the engine would make it */
static CatzHit
make_hit(const Ctx *c, uint32_t entry, uint32_t words, uint32_t bytes, bool exact)
{
	CatzHit		h;

	memset(&h, 0, sizeof(h));
	h.blob = c->set;
	h.entry = catz_set_entry(c->set, entry);
	h.match_words = words;
	h.match_bytes = bytes;
	h.field = CATZ_FIELD_MERCHANT;
	h.exact = exact;
	h.own = (h.entry->flags & CATZ_PF_OWNER) != 0;
	return h;
}

/*
 * Rank two hits as the engine would: true when a ranks first; *why gets
 * the deciding level
 */
static bool
ranks_first(CatzHit a, CatzHit b, uint8_t *why)
{
	CatzHit		pair[2];
	CatzCandidate out[2];
	const CatzEntry *ea = a.entry;
	bool		a_first;

	pair[0] = a;
	pair[1] = b;
	(void) catz_rank(pair, 2, NULL, 0, 0, false, 0, out, 2);
	a_first = out[0].hit->entry == ea;
	*why = a_first ? rank_why(&a, &b) : rank_why(&b, &a);
	return a_first;
}

/*
 * One pair on the witness of input i: j fires on it (hit h), with a
 * different category; rank them and report who overrules whom
 */
static void
pair_conflict(Ctx *c, uint32_t i, const OwnMatch *own, uint32_t j, const WitnessHit *h)
{
	const CatzPatternInput *p = &c->in[i];
	const CatzPatternInput *q = &c->in[j];
	CatzHit		hp;
	CatzHit		hq;
	uint8_t		why;
	bool		p_first;
	const CatzPatternInput *win;
	const CatzPatternInput *lose;
	CatzConflict cf;
	bool		covered;

	if (p->category_id == q->category_id || !ranges_meet(p, q))
		return;
	/* Two merchant/keyword patterns of the same value find each other: once */
	if (q->kind != CATZ_KIND_REGEX && p->kind != CATZ_KIND_REGEX && h->exact && j < i)
		return;

	hp = make_hit(c, c->entry_of[i], own->words, own->bytes, own->exact);
	hq = make_hit(c, h->entry, h->words, h->bytes, h->exact);
	p_first = ranks_first(hp, hq, &why);
	win = p_first ? p : q;
	lose = p_first ? q : p;

	/*
	 * The winner fires wherever the loser does: its words are in the
	 * loser's value (the loser is the witness's pattern, or both have the
	 * same value), it looks at the loser's fields (a merchant pattern does
	 * not see a description beside a merchant name, a keyword does), its
	 * amount range covers the loser's, and it applies to the loser's owner
	 */
	covered = win->kind != CATZ_KIND_REGEX && lose->kind != CATZ_KIND_REGEX &&
		(!p_first || same_value(p, q)) &&
		(win->kind == CATZ_KIND_KEYWORD || lose->kind == CATZ_KIND_MERCHANT) &&
		range_covers(win, lose) &&
		(!(win->flags & CATZ_PF_OWNER) ||
		 ((lose->flags & CATZ_PF_OWNER) && lose->owner_id == win->owner_id));

	memset(&cf, 0, sizeof(cf));
	cf.kind = covered ? CATZ_CONFLICT_SHADOWED : CATZ_CONFLICT_OVERLAPPING;
	cf.why = why;
	cf.pattern = p_first ? j : i;
	cf.decider = p_first ? i : j;
	cf.has_owner = ((p->flags | q->flags) & CATZ_PF_OWNER) != 0;
	cf.owner_id = (p->flags & CATZ_PF_OWNER) ? p->owner_id : q->owner_id;
	cf.example = c->raw;
	cf.example_len = (uint32_t) c->rawlen;
	report(c, &cf);
}

/* Keep the better of two hits of the same entry (a value seen twice) */
static void
add_hit(Ctx *c, uint32_t entry, uint32_t words, uint32_t bytes, bool exact)
{
	WitnessHit *h;
	const CatzEntry *e;

	if (c->slot_stamp[entry] == c->stamp)
	{
		h = &c->hits[c->slot[entry]];
		if ((exact && !h->exact) || (exact == h->exact && words > h->words) ||
			(exact == h->exact && words == h->words && bytes > h->bytes))
		{
			h->words = words;
			h->bytes = bytes;
			h->exact = exact;
		}
		return;
	}
	if (c->nhits == c->maxhits)
	{
		size_t		cap = c->maxhits ? c->maxhits * 2 : 64;
		WitnessHit *grown = ctx_alloc(c, sizeof(WitnessHit) * cap);

		if (grown == NULL)
			return;
		if (c->nhits)
			memcpy(grown, c->hits, sizeof(WitnessHit) * c->nhits);
		ctx_free(c, c->hits);
		c->hits = grown;
		c->maxhits = cap;
	}
	e = catz_set_entry(c->set, entry);
	h = &c->hits[c->nhits];
	h->entry = entry;
	h->words = words;
	h->bytes = bytes;
	h->exact = exact;
	h->has_owner = (e->flags & CATZ_PF_OWNER) != 0;
	h->owner_id = h->has_owner ? e->owner_id : 0;
	c->slot_stamp[entry] = c->stamp;
	c->slot[entry] = (uint32_t) c->nhits;
	c->nhits++;
}

/* Automaton callback: a merchant/keyword pattern fires on the witness */
static bool
on_match(void *arg, uint32_t entry, uint32_t start, uint32_t end)
{
	Ctx		   *c = arg;
	uint32_t	bytes;

	if (end <= start || end > c->nwords)
		return true;
	bytes = c->wend[end - 1] - c->wstart[start];
	add_hit(c, entry, end - start, bytes, start == 0 && end == c->nwords);
	return c->status == CATZ_OK;
}

/* Key of a trigram (ASCII lower-cased bytes) */
static uint32_t
trigram_key(const char *s)
{
	uint32_t	k = 0;
	int			i;

	for (i = 0; i < 3; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char) (ch - 'A' + 'a');
		k = (k << 8) | ch;
	}
	return k;
}

/* Bucket of a trigram key */
static uint32_t
trigram_bucket(const Ctx *c, uint32_t key)
{
	return (uint32_t) (catz_hash_bytes(&key, sizeof(key), 0x7472) & c->rx_mask);
}

/* Build the regex literal index */
static void
index_regexes(Ctx *c)
{
	uint32_t	nb = 1;
	uint32_t	r;

	c->nregex = catz_set_regex_count(c->set);
	if (c->nregex == 0)
		return;
	while (nb < c->nregex * 2)
		nb <<= 1;
	c->rx_mask = nb - 1;
	c->rx_head = ctx_alloc(c, sizeof(uint32_t) * nb);
	c->rx_next = ctx_alloc(c, sizeof(uint32_t) * c->nregex);
	c->rx_short = ctx_alloc(c, sizeof(uint32_t) * c->nregex);
	c->rx_seen = ctx_alloc(c, sizeof(uint32_t) * c->nregex);
	if (done(c))
		return;
	memset(c->rx_head, 0xff, sizeof(uint32_t) * nb);
	memset(c->rx_seen, 0, sizeof(uint32_t) * c->nregex);
	for (r = 0; r < c->nregex; r++)
	{
		uint32_t	len;
		const char *lit = catz_set_regex_literal(c->set, r, &len);

		if (len < 3)
			c->rx_short[c->nshort++] = r;
		else
		{
			uint32_t	b = trigram_bucket(c, trigram_key(lit));

			c->rx_next[r] = c->rx_head[b];
			c->rx_head[b] = r;
		}
	}
}

/* Run regex number r on the witness unless already done for it */
static void
try_regex(Ctx *c, uint32_t r)
{
	uint32_t	len;
	const char *lit;
	uint32_t	entry;
	uint32_t	matched = 0;

	if (c->rx_seen[r] == c->stamp)
		return;
	c->rx_seen[r] = c->stamp;
	lit = catz_set_regex_literal(c->set, r, &len);
	if (len > 0 && !catz_contains_ci(c->raw, c->rawlen, lit, len))
		return;
	entry = catz_set_regex_entry(c->set, r);
	if (c->cb->regex_match(c->cb->arg, c->kept[entry], c->raw, c->rawlen, &matched))
		add_hit(c, entry, 0, matched, false);
}

/* The regexes that fire on the witness */
static void
regex_hits(Ctx *c)
{
	size_t		p;
	uint32_t	k;

	if (c->nregex == 0 || c->cb->regex_match == NULL)
		return;
	for (k = 0; k < c->nshort && !done(c); k++)
		try_regex(c, c->rx_short[k]);
	for (p = 0; p + 3 <= c->rawlen && !done(c); p++)
	{
		uint32_t	key = trigram_key(c->raw + p);
		uint32_t	r;

		for (r = c->rx_head[trigram_bucket(c, key)]; r != NONE && !done(c); r = c->rx_next[r])
		{
			uint32_t	len;
			const char *lit = catz_set_regex_literal(c->set, r, &len);

			if (trigram_key(lit) == key)
				try_regex(c, r);
		}
	}
}

/* Order hits everyone's first, then by owner */
static int
hit_owner_cmp(const void *a, const void *b)
{
	const WitnessHit *x = a;
	const WitnessHit *y = b;

	if (x->has_owner != y->has_owner)
		return x->has_owner ? 1 : -1;
	if (x->owner_id != y->owner_id)
		return x->owner_id < y->owner_id ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* First hit of owner o in the sorted hits, from lo */
static size_t
owner_start(const Ctx *c, size_t lo, int64_t o)
{
	size_t		hi = c->nhits;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (!c->hits[mid].has_owner || c->hits[mid].owner_id < o)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Find every pattern firing on one witness (norm for the automaton, raw
 * for regexes and as the example), then pair it with each member: the
 * patterns the witness belongs to, with how each matches it
 */
static void
witness(Ctx *c, const char *raw, size_t rawlen, const char *norm, size_t normlen,
		const uint32_t *members, const OwnMatch *own, size_t nmembers)
{
	size_t		pos = 0;
	const char *w;
	size_t		wl;
	size_t		nglobal;
	size_t		m;

	c->stamp++;
	if (c->stamp == 0)
	{
		/* wrapped: forget every stamp */
		memset(c->slot_stamp, 0, sizeof(uint32_t) * (c->nkept ? c->nkept : 1));
		if (c->rx_seen)
			memset(c->rx_seen, 0, sizeof(uint32_t) * c->nregex);
		c->stamp = 1;
	}
	c->nhits = 0;
	c->raw = raw;
	c->rawlen = rawlen;
	c->nwords = 0;
	while (catz_next_word(norm, normlen, &pos, &w, &wl) && c->nwords < MAX_WITNESS_WORDS)
	{
		c->wstart[c->nwords] = (uint32_t) (w - norm);
		c->wend[c->nwords] = (uint32_t) (w - norm + wl);
		c->nwords++;
	}
	if (c->nwords > 0)
		(void) catz_set_match(c->set, norm, normlen, on_match, c);
	regex_hits(c);
	if (done(c) || c->nhits == 0)
		return;

	qsort(c->hits, c->nhits, sizeof(WitnessHit), hit_owner_cmp);
	for (nglobal = 0; nglobal < c->nhits && !c->hits[nglobal].has_owner; nglobal++)
		;

	for (m = 0; m < nmembers && !done(c); m++)
	{
		uint32_t	i = members[m];
		const CatzPatternInput *p = &c->in[i];
		size_t		k;

		if (!(p->flags & CATZ_PF_OWNER))
		{
			/* everyone's pattern meets every owner's */
			for (k = 0; k < c->nhits && !done(c); k++)
				if (c->kept[c->hits[k].entry] != i)
					pair_conflict(c, i, &own[m], c->kept[c->hits[k].entry], &c->hits[k]);
			continue;
		}
		for (k = 0; k < nglobal && !done(c); k++)
			pair_conflict(c, i, &own[m], c->kept[c->hits[k].entry], &c->hits[k]);
		for (k = owner_start(c, nglobal, p->owner_id);
			 k < c->nhits && c->hits[k].owner_id == p->owner_id && !done(c); k++)
			if (c->kept[c->hits[k].entry] != i)
				pair_conflict(c, i, &own[m], c->kept[c->hits[k].entry], &c->hits[k]);
	}
}

/* Order by value bytes (shorter first), then input index */
static int
value_cmp(const void *a, const void *b)
{
	const SortItem *x = a;
	const SortItem *y = b;
	int			d;

	if (x->p->value_len != y->p->value_len)
		return x->p->value_len < y->p->value_len ? -1 : 1;
	d = memcmp(x->p->value, y->p->value, x->p->value_len);
	if (d != 0)
		return d;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Compare two optional bounds */
static int
bound_cmp(bool ha, double a, bool hb, double b)
{
	if (ha != hb)
		return ha ? 1 : -1;
	if (!ha || a == b)
		return 0;
	return a < b ? -1 : 1;
}

/* Order for duplicates: kind, value, range, category, then owner (everyone's first) */
static int
rule_cmp(const void *a, const void *b)
{
	const SortItem *x = a;
	const SortItem *y = b;
	const CatzPatternInput *p = x->p;
	const CatzPatternInput *q = y->p;
	int			d;
	bool		po = (p->flags & CATZ_PF_OWNER) != 0;
	bool		qo = (q->flags & CATZ_PF_OWNER) != 0;

	if (p->kind != q->kind)
		return p->kind < q->kind ? -1 : 1;
	if ((d = value_cmp(a, b)) != 0 && !same_value(p, q))
		return d;
	if ((d = bound_cmp(p->flags & CATZ_PF_AMOUNT_MIN, p->amount_min,
					   q->flags & CATZ_PF_AMOUNT_MIN, q->amount_min)) != 0)
		return d;
	if ((d = bound_cmp(p->flags & CATZ_PF_AMOUNT_MAX, p->amount_max,
					   q->flags & CATZ_PF_AMOUNT_MAX, q->amount_max)) != 0)
		return d;
	if (p->category_id != q->category_id)
		return p->category_id < q->category_id ? -1 : 1;
	if (po != qo)
		return po ? 1 : -1;
	if (po && p->owner_id != q->owner_id)
		return p->owner_id < q->owner_id ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Whether two sorted items are the same rule (apart from owner) */
static bool
same_rule(const SortItem *x, const SortItem *y)
{
	const CatzPatternInput *p = x->p;
	const CatzPatternInput *q = y->p;

	return p->kind == q->kind && same_value(p, q) && p->category_id == q->category_id &&
		bound_cmp(p->flags & CATZ_PF_AMOUNT_MIN, p->amount_min,
				  q->flags & CATZ_PF_AMOUNT_MIN, q->amount_min) == 0 &&
		bound_cmp(p->flags & CATZ_PF_AMOUNT_MAX, p->amount_max,
				  q->flags & CATZ_PF_AMOUNT_MAX, q->amount_max) == 0;
}

/* The hit a pattern makes on its own value (a duplicate's witness) */
static CatzHit
own_hit(const Ctx *c, uint32_t index)
{
	const CatzPatternInput *p = &c->in[index];

	if (p->kind == CATZ_KIND_REGEX)
		return make_hit(c, c->entry_of[index], 0, 0, false);
	return make_hit(c, c->entry_of[index], value_words(p->value, p->value_len),
					p->value_len, true);
}

/* Report that loser repeats winner */
static void
report_duplicate(Ctx *c, uint32_t a, uint32_t b)
{
	uint8_t		why;
	bool		a_first = ranks_first(own_hit(c, a), own_hit(c, b), &why);
	const CatzPatternInput *p = &c->in[a];
	const CatzPatternInput *q = &c->in[b];
	CatzConflict cf;

	memset(&cf, 0, sizeof(cf));
	cf.kind = CATZ_CONFLICT_DUPLICATE;
	cf.why = why;
	cf.pattern = a_first ? b : a;
	cf.decider = a_first ? a : b;
	cf.has_owner = ((p->flags | q->flags) & CATZ_PF_OWNER) != 0;
	cf.owner_id = (p->flags & CATZ_PF_OWNER) ? p->owner_id : q->owner_id;
	if (p->kind != CATZ_KIND_REGEX)
	{
		cf.example = p->value;
		cf.example_len = p->value_len;
	}
	report(c, &cf);
}

/* The better ranked of two duplicates */
static uint32_t
better(const Ctx *c, uint32_t a, uint32_t b)
{
	uint8_t		why;

	return ranks_first(own_hit(c, a), own_hit(c, b), &why) ? a : b;
}

/*
 * Duplicates: within a group of the same rule, each owner's copies (and
 * everyone's) repeat the best of them, and an owner's best repeats
 * everyone's best for that owner's expenses
 */
static void
find_duplicates(Ctx *c, SortItem *items, size_t n)
{
	size_t		g = 0;

	qsort(items, n, sizeof(SortItem), rule_cmp);
	while (g < n && !done(c))
	{
		size_t		end = g + 1;
		size_t		s;
		uint32_t	global_best = NONE;

		while (end < n && same_rule(&items[g], &items[end]))
			end++;
		s = g;
		while (s < end && !done(c))
		{
			size_t		e = s + 1;
			bool		owned = (items[s].p->flags & CATZ_PF_OWNER) != 0;
			uint32_t	best = items[s].index;
			size_t		k;

			while (e < end && ((items[e].p->flags & CATZ_PF_OWNER) != 0) == owned &&
				   (!owned || items[e].p->owner_id == items[s].p->owner_id))
				e++;
			for (k = s + 1; k < e; k++)
				best = better(c, best, items[k].index);
			for (k = s; k < e && !done(c); k++)
				if (items[k].index != best)
					report_duplicate(c, best, items[k].index);
			if (!owned)
				global_best = best;
			else if (global_best != NONE)
				report_duplicate(c, global_best, best);
			s = e;
		}
		g = end;
	}
}

/* Build the set of the patterns that can match; kept[] maps its entries */
static void
build_set(Ctx *c, const bool *regex_impossible)
{
	CatzPatternInput *pats = ctx_alloc(c, sizeof(CatzPatternInput) * (c->n ? c->n : 1));
	size_t		i;

	c->kept = ctx_alloc(c, sizeof(uint32_t) * (c->n ? c->n : 1));
	c->entry_of = ctx_alloc(c, sizeof(uint32_t) * (c->n ? c->n : 1));
	if (done(c))
	{
		ctx_free(c, pats);
		return;
	}
	for (i = 0; i < c->n; i++)
	{
		int			why = never_why(&c->in[i], regex_impossible && regex_impossible[i] &&
									c->in[i].kind == CATZ_KIND_REGEX);

		c->entry_of[i] = NONE;
		if (why >= 0)
		{
			report_never(c, (uint32_t) i, why);
			continue;
		}
		c->kept[c->nkept] = (uint32_t) i;
		pats[c->nkept++] = c->in[i];
	}
	while (!done(c))
	{
		size_t		size = 0;
		size_t		bad = 0;
		CatzStatus	st = catz_set_build(pats, c->nkept, c->alloc, &c->set, &size, &bad);

		if (st == CATZ_OK)
			break;
		if (st != CATZ_EINVAL || bad >= c->nkept)
		{
			c->status = st == CATZ_EINVAL ? CATZ_OK : st;
			c->set = NULL;
			break;
		}
		/* a value the set refuses for a reason not checked above */
		report_never(c, c->kept[bad], CATZ_NEVER_TOO_LONG);
		memmove(&pats[bad], &pats[bad + 1], sizeof(CatzPatternInput) * (c->nkept - bad - 1));
		memmove(&c->kept[bad], &c->kept[bad + 1], sizeof(uint32_t) * (c->nkept - bad - 1));
		c->nkept--;
	}
	ctx_free(c, pats);
	if (c->set)
		for (i = 0; i < c->nkept; i++)
			c->entry_of[c->kept[i]] = (uint32_t) i;
}

/* Tick the caller now and then */
static void
tick(Ctx *c, size_t *count)
{
	if (++*count % TICK_EVERY == 0 && c->cb->tick && !c->cb->tick(c->cb->arg))
		c->stop = true;
}

/* Merchant/keyword witnesses, one scan per distinct value */
static void
value_witnesses(Ctx *c, SortItem *items, size_t n, size_t *ticks)
{
	uint32_t   *members = ctx_alloc(c, sizeof(uint32_t) * (n ? n : 1));
	OwnMatch   *own = ctx_alloc(c, sizeof(OwnMatch) * (n ? n : 1));
	size_t		g = 0;

	if (done(c))
		goto out;
	qsort(items, n, sizeof(SortItem), value_cmp);
	while (g < n && !done(c))
	{
		size_t		end = g;
		const CatzPatternInput *p = items[g].p;
		uint32_t	words = value_words(p->value, p->value_len);

		while (end < n && same_value(items[end].p, p))
		{
			members[end - g] = items[end].index;
			own[end - g].words = words;
			own[end - g].bytes = p->value_len;
			own[end - g].exact = true;
			end++;
		}
		witness(c, p->value, p->value_len, p->value, p->value_len, members, own, end - g);
		tick(c, ticks);
		g = end;
	}
out:
	ctx_free(c, members);
	ctx_free(c, own);
}

/* Regex witnesses: a regex's required literal, when the regex matches it */
static void
regex_witnesses(Ctx *c, size_t *ticks)
{
	uint32_t	r;
	char	   *norm = ctx_alloc(c, catz_normalize_bound(CATZ_MAX_PATTERN_BYTES));

	for (r = 0; r < c->nregex && !done(c) && c->cb->regex_match; r++)
	{
		uint32_t	len;
		const char *lit = catz_set_regex_literal(c->set, r, &len);
		uint32_t	entry = catz_set_regex_entry(c->set, r);
		uint32_t	i = c->kept[entry];
		OwnMatch	own;
		size_t		normlen;

		if (len == 0 || !c->cb->regex_match(c->cb->arg, i, lit, len, &own.bytes))
			continue;
		own.words = 0;
		own.exact = false;
		normlen = catz_normalize(lit, len, norm, catz_normalize_bound(CATZ_MAX_PATTERN_BYTES));
		witness(c, lit, len, norm, normlen, &i, &own, 1);
		tick(c, ticks);
	}
	ctx_free(c, norm);
}

CatzStatus
catz_conflicts_find(const CatzPatternInput *patterns, size_t n,
					const bool *regex_impossible,
					const CatzConflictCallbacks *cb,
					const CatzAllocator *alloc)
{
	Ctx			c;
	SortItem   *items = NULL;
	SortItem   *values = NULL;
	size_t		nitems = 0;
	size_t		nvalues = 0;
	size_t		ticks = 0;
	uint32_t	k;

	if (n > UINT32_MAX - 1)
		return CATZ_EINVAL;
	memset(&c, 0, sizeof(c));
	c.in = patterns;
	c.n = n;
	c.cb = cb;
	c.alloc = alloc;

	build_set(&c, regex_impossible);
	if (done(&c) || c.set == NULL)
		goto out;

	items = ctx_alloc(&c, sizeof(SortItem) * (c.nkept ? c.nkept : 1));
	values = ctx_alloc(&c, sizeof(SortItem) * (c.nkept ? c.nkept : 1));
	c.slot_stamp = ctx_alloc(&c, sizeof(uint32_t) * (c.nkept ? c.nkept : 1));
	c.slot = ctx_alloc(&c, sizeof(uint32_t) * (c.nkept ? c.nkept : 1));
	c.wstart = ctx_alloc(&c, sizeof(uint32_t) * MAX_WITNESS_WORDS);
	c.wend = ctx_alloc(&c, sizeof(uint32_t) * MAX_WITNESS_WORDS);
	if (done(&c))
		goto out;
	memset(c.slot_stamp, 0, sizeof(uint32_t) * (c.nkept ? c.nkept : 1));
	for (k = 0; k < c.nkept; k++)
	{
		const CatzPatternInput *p = &patterns[c.kept[k]];

		items[nitems].p = p;
		items[nitems++].index = c.kept[k];
		if (p->kind != CATZ_KIND_REGEX)
		{
			values[nvalues].p = p;
			values[nvalues++].index = c.kept[k];
		}
	}

	find_duplicates(&c, items, nitems);
	index_regexes(&c);
	if (!done(&c))
		value_witnesses(&c, values, nvalues, &ticks);
	if (!done(&c))
		regex_witnesses(&c, &ticks);

out:
	ctx_free(&c, items);
	ctx_free(&c, values);
	ctx_free(&c, c.slot_stamp);
	ctx_free(&c, c.slot);
	ctx_free(&c, c.wstart);
	ctx_free(&c, c.wend);
	ctx_free(&c, c.hits);
	ctx_free(&c, c.rx_head);
	ctx_free(&c, c.rx_next);
	ctx_free(&c, c.rx_short);
	ctx_free(&c, c.rx_seen);
	ctx_free(&c, c.kept);
	ctx_free(&c, c.entry_of);
	ctx_free(&c, c.set);
	return c.status;
}

const char *
catz_rank_why_string(uint8_t why)
{
	switch (why)
	{
		case CATZ_WHY_OWN:
			return "an owner's own pattern ranks before everyone's";
		case CATZ_WHY_PRIORITY:
			return "higher priority";
		case CATZ_WHY_KIND:
			return "merchant ranks before regex, regex before keyword";
		case CATZ_WHY_EXACT:
			return "a match of the whole text ranks first";
		case CATZ_WHY_WORDS:
			return "more words matched";
		case CATZ_WHY_BYTES:
			return "more bytes matched";
		case CATZ_WHY_LEARNED:
			return "learned ranks before manual";
		case CATZ_WHY_RELIABILITY:
			return "higher reliability (hits and misses)";
		case CATZ_WHY_ID:
			return "a full tie, broken by the lower pattern id";
	}
	return "unknown";
}

const char *
catz_never_why_string(uint8_t why)
{
	switch (why)
	{
		case CATZ_NEVER_EMPTY_VALUE:
			return "its value normalizes to no words";
		case CATZ_NEVER_TOO_LONG:
			return "its value exceeds the limits of a compiled set";
		case CATZ_NEVER_EMPTY_RANGE:
			return "its amount range is empty (amount_min > amount_max)";
		case CATZ_NEVER_REGEX:
			return "the regex matches no text";
	}
	return "unknown";
}
