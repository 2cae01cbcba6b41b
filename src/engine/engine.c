/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  Categorize one expense: match it against the compiled scopes, run the
 *	  regex patterns and, when needed, the token model; rank the result.
 *
 * Sources of matches, and what shadows what:
 *	global base set		shadowed by the global overlay and the transaction overlay
 *	global overlay		shadowed by the transaction overlay
 *	owner base set		shadowed by the owner overlay and the transaction overlay
 *	owner overlay		shadowed by the transaction overlay
 *	transaction overlay	(this transaction's own writes; any owner, filtered)
 *
 * No SQL runs here unless the state is stale (refresh.c) or a scope must be
 * loaded (scope.c); a steady-state call is normalization, two automaton
 * scans per scope, and ranking.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "engine/engine.h"
#include "refresh/refresh.h"

/* Weight of an owner's own corrections against everyone's in the model */
#define OWNER_MODEL_WEIGHT	3.0

/* Laplace smoothing of the token model */
#define MODEL_ALPHA			1.0

/* Where a match came from */
typedef enum SourceKind
{
	SOURCE_SET,
	SOURCE_OVERLAY
} SourceKind;

/* One source of patterns, with what shadows it */
typedef struct Source
{
	SourceKind	kind;
	const void *blob;			/* CatzSet or CatzOverlay */
	const CatzOverlay *shadow1; /* overlays that hold newer versions */
	const CatzOverlay *shadow2;
	bool		owner_filter;	/* keep only global or the expense owner's */
} Source;

/* Words of one normalized field */
typedef struct FieldText
{
	const char *text;
	int			len;
	uint32		nwords;
	uint32	   *word_start;		/* byte offset of each word */
	uint32	   *word_end;
	bool		present;
} FieldText;

/* State of one categorization while collecting hits */
typedef struct MatchState
{
	const CatzExpense *e;
	const Source *src;
	const FieldText *field;
	uint8		field_id;
	CatzMatchText set_texts[2]; /* the fields present, as texts to match */
	const FieldText *texts[2];	/* their FieldText and field id, by the */
	uint8		text_ids[2];	/* index catz_set_match_texts reports */
	uint32		ntexts;
	bool		merchant_empty; /* no merchant name: merchant patterns look
								 * at the description */
	CatzHit    *hits;
	int			nhits;
	int			maxhits;

	/* The raw fields' prefilter for regex literals, made at the first regex */
	bool		prefilter_ready;
	bool		ascii[2];		/* merchant, description */
	bool		unfiltered;		/* a field is present but not ASCII */
	/* last: not zeroed with the rest, but by prepare_prefilter() when used */
	CatzTrigramSet trigrams;	/* of the ASCII fields together */
} MatchState;

/* A compiled regex of a pattern */
typedef struct RegexEntry
{
	uint64		key;			/* hash of the pattern text */
	char	   *pattern;
	bool		valid;
	regex_t		re;
} RegexEntry;

static HTAB *regex_cache = NULL;
static MemoryContext regex_cxt = NULL;

/* Decision counts of every hit's pattern */
static CatzDecisions *
hit_decisions(CatzHit *hits, int nhits)
{
	CatzDecisions *d = palloc(sizeof(CatzDecisions) * (nhits ? nhits : 1));
	int64	   *ids = palloc(sizeof(int64) * (nhits ? nhits : 1));
	int			i;

	for (i = 0; i < nhits; i++)
		ids[i] = hits[i].entry->pattern_id;
	catz_decisions_get(nhits, ids, d);
	return d;
}

/* Split a normalized field into words */
static void
field_init(FieldText *f, const char *text, int len, bool present)
{
	size_t		pos = 0;
	const char *w;
	size_t		wl;
	uint32		n = 0;
	uint32		cap = 8;

	f->text = text;
	f->len = len;
	f->present = present && len > 0;
	f->word_start = palloc(sizeof(uint32) * cap);
	f->word_end = palloc(sizeof(uint32) * cap);
	while (catz_next_word(text, len, &pos, &w, &wl))
	{
		if (n == cap)
		{
			cap *= 2;
			f->word_start = repalloc_huge(f->word_start, sizeof(uint32) * cap);
			f->word_end = repalloc_huge(f->word_end, sizeof(uint32) * cap);
		}
		f->word_start[n] = (uint32) (w - text);
		f->word_end[n] = (uint32) (w - text + wl);
		n++;
	}
	f->nwords = n;
}

/* Whether an entry applies to this expense (owner and amount) */
static bool
entry_applies(const CatzEntry *entry, const CatzExpense *e, bool owner_filter)
{
	if (owner_filter && (entry->flags & CATZ_PF_OWNER) &&
		(!e->has_user || entry->owner_id != e->user_id))
		return false;
	if (entry->flags & (CATZ_PF_AMOUNT_MIN | CATZ_PF_AMOUNT_MAX))
	{
		if (!e->has_amount)
			return false;
		if ((entry->flags & CATZ_PF_AMOUNT_MIN) && e->amount < entry->amount_min)
			return false;
		if ((entry->flags & CATZ_PF_AMOUNT_MAX) && e->amount > entry->amount_max)
			return false;
	}
	return true;
}

/* Whether a newer version of the entry's pattern exists in a shadowing overlay */
static bool
shadowed(const Source *src, const CatzEntry *entry)
{
	return (src->shadow1 && catz_overlay_shadows(src->shadow1, entry->pattern_id)) ||
		(src->shadow2 && catz_overlay_shadows(src->shadow2, entry->pattern_id));
}

/* Slots an overlay has used (0 for none) */
static uint32
overlay_used(const CatzOverlay *ov)
{
	return ov ? catz_overlay_used(ov) : 0;
}

/* An overlay that can shadow something, or NULL (an empty one cannot) */
static const CatzOverlay *
shadowing(const CatzOverlay *ov)
{
	return (ov && (catz_overlay_used(ov) > 0 || catz_overlay_tombstones(ov) > 0)) ? ov : NULL;
}

/* Append a hit */
static CatzHit *
add_hit(MatchState *ms, const CatzEntry *entry)
{
	CatzHit    *h;

	if (ms->nhits == ms->maxhits)
	{
		ms->maxhits = ms->maxhits ? ms->maxhits * 2 : 16;
		ms->hits = ms->hits ? repalloc_huge(ms->hits, sizeof(CatzHit) * ms->maxhits)
			: palloc(sizeof(CatzHit) * ms->maxhits);
	}
	h = &ms->hits[ms->nhits++];
	memset(h, 0, sizeof(CatzHit));
	h->blob = ms->src->blob;
	h->entry = entry;
	h->own = (entry->flags & CATZ_PF_OWNER) != 0;
	return h;
}

/* Keep a word-span match of entry in ms->field if it applies */
static void
keep_match(MatchState *ms, const CatzEntry *entry, uint32_t start, uint32_t end)
{
	CatzHit    *h;

	/*
	 * Merchant patterns look at the merchant name, or at the description
	 * when there is none; keywords look at both.
	 */
	if (entry->kind == CATZ_KIND_MERCHANT &&
		ms->field_id == CATZ_FIELD_DESCRIPTION && !ms->merchant_empty)
		return;
	if (!entry_applies(entry, ms->e, ms->src->owner_filter) || shadowed(ms->src, entry))
		return;

	h = add_hit(ms, entry);
	h->field = ms->field_id;
	h->exact = (start == 0 && end == ms->field->nwords);
	h->match_words = end - start;
	h->match_bytes = (end > start && end <= ms->field->nwords)
		? ms->field->word_end[end - 1] - ms->field->word_start[start] : 0;
}

/* Overlay callback */
static bool
on_match(void *arg, uint32_t index, uint32_t start, uint32_t end)
{
	MatchState *ms = arg;
	const CatzEntry *entry = catz_overlay_entry(ms->src->blob, index);

	if (entry != NULL)
		keep_match(ms, entry, start, end);
	return true;
}

/* Compiled-set callback, for the field the text index names */
static bool
on_field_match(void *arg, uint32_t text, const CatzEntry *entry,
			   uint32_t start, uint32_t end)
{
	MatchState *ms = arg;

	ms->field = ms->texts[text];
	ms->field_id = ms->text_ids[text];
	keep_match(ms, entry, start, end);
	return true;
}

/* The fields present, as the texts every source matches (once a call) */
static void
init_texts(MatchState *ms, const FieldText *merchant, const FieldText *description)
{
	const FieldText *fields[2] = {merchant, description};

	ms->ntexts = 0;
	for (int i = 0; i < 2; i++)
	{
		if (!fields[i]->present)
			continue;
		ms->texts[ms->ntexts] = fields[i];
		ms->text_ids[ms->ntexts] = (i == 0) ? CATZ_FIELD_MERCHANT : CATZ_FIELD_DESCRIPTION;
		ms->set_texts[ms->ntexts++] = (CatzMatchText) {fields[i]->text, fields[i]->len};
	}
}

/* Scan both fields with one source */
static void
match_source(MatchState *ms, const Source *src)
{
	ms->src = src;
	if (src->kind == SOURCE_SET)
	{
		/* Both fields' words are looked up together */
		if (ms->ntexts > 0)
			catz_set_match_texts(src->blob, ms->set_texts, ms->ntexts, on_field_match, ms);
		return;
	}
	for (uint32 i = 0; i < ms->ntexts; i++)
	{
		ms->field = ms->texts[i];
		ms->field_id = ms->text_ids[i];
		catz_overlay_match(src->blob, ms->set_texts[i].text, ms->set_texts[i].len,
						   on_match, ms);
	}
}

/* The compiled regex for a pattern text, compiling it on first use */
static RegexEntry *
get_regex(const char *pattern, size_t len)
{
	uint64		key = catz_hash_bytes(pattern, len, 0x5eed);
	RegexEntry *re;
	bool		found;

	if (regex_cache == NULL)
	{
		HASHCTL		ctl;

		regex_cxt = AllocSetContextCreate(TopMemoryContext, "categorize regexes",
										  ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(RegexEntry);
		ctl.hcxt = regex_cxt;
		regex_cache = hash_create("categorize regexes", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	re = hash_search(regex_cache, &key, HASH_ENTER, &found);
	if (found && strlen(re->pattern) == len && memcmp(re->pattern, pattern, len) == 0)
		return re;
	if (found && re->valid)
		pg_regfree(&re->re);	/* a hash collision: replace */

	{
		MemoryContext old = MemoryContextSwitchTo(regex_cxt);
		pg_wchar   *wide = palloc((len + 1) * sizeof(pg_wchar));
		int			wlen = pg_mb2wchar_with_len(pattern, wide, (int) len);
		int			rc;

		re->key = key;
		re->pattern = pnstrdup(pattern, len);
		rc = pg_regcomp(&re->re, wide, wlen, REG_ADVANCED | REG_ICASE,
						DEFAULT_COLLATION_OID);
		re->valid = (rc == REG_OKAY);
		pfree(wide);
		MemoryContextSwitchTo(old);
		if (rc == REG_CANCEL)
			CHECK_FOR_INTERRUPTS();
	}
	return re;
}

/* Whether a regex matches raw text; the match length goes to *matched */
static bool
regex_matches(RegexEntry *re, const char *text, int len, uint32 *matched)
{
	pg_wchar   *wide = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(text, wide, len);
	regmatch_t	pm[1];
	int			rc;

	rc = pg_regexec(&re->re, wide, wlen, 0, NULL, 1, pm, 0);
	pfree(wide);
	if (rc == REG_CANCEL)
		CHECK_FOR_INTERRUPTS();
	if (rc != REG_OKAY)
		return false;
	*matched = (uint32) (pm[0].rm_eo - pm[0].rm_so);
	return true;
}

/*
 * A regex pattern as the engine runs it, for callers outside the hot path
 * (rule_conflicts): whether it provably matches nothing (also when it does
 * not compile), and whether it matches raw text
 */
bool
catz_regex_impossible(const char *pattern, size_t len)
{
	RegexEntry *re = get_regex(pattern, len);

	return !re->valid || (re->re.re_info & REG_UIMPOSSIBLE) != 0;
}

bool
catz_regex_match(const char *pattern, size_t len, const char *text, int textlen,
				 uint32 *matched)
{
	RegexEntry *re = get_regex(pattern, len);

	return re->valid && regex_matches(re, text, textlen, matched);
}

/*
 * The literal prefilter's trigram set of the raw fields (of both at once:
 * a literal in either has all its trigrams there), made once per call on
 * the first regex tried.  The prefilter is exact only for ASCII text: a
 * field that is not leaves the regexes unfiltered (its trigrams in the set
 * then only let more through).
 */
static void
prepare_prefilter(MatchState *ms)
{
	const CatzExpense *e = ms->e;

	if (ms->prefilter_ready)
		return;
	memset(&ms->trigrams, 0, sizeof(ms->trigrams));
	ms->ascii[0] = e->has_merchant &&
		catz_trigrams_add(e->merchant, e->merchant_len, &ms->trigrams);
	ms->ascii[1] = e->has_description &&
		catz_trigrams_add(e->description, e->description_len, &ms->trigrams);
	ms->unfiltered = (e->has_merchant && !ms->ascii[0]) ||
		(e->has_description && !ms->ascii[1]);
	ms->prefilter_ready = true;
}

/* Try one regex entry against both raw fields */
static void
try_regex(MatchState *ms, const CatzEntry *entry, const char *literal, uint32 litlen)
{
	const CatzExpense *e = ms->e;
	const char *texts[2] = {e->merchant, e->description};
	int			lens[2] = {e->merchant_len, e->description_len};
	bool		present[2] = {e->has_merchant, e->has_description};
	RegexEntry *re = NULL;
	bool		checked = false;
	int			i;

	prepare_prefilter(ms);
	for (i = 0; i < 2; i++)
	{
		uint32		matched = 0;
		CatzHit    *h;

		if (!present[i])
			continue;

		/*
		 * The literal in this field first (the set's prefilter looked at
		 * both fields together), then owner, amount, shadowing
		 */
		if (litlen > 0 && ms->ascii[i] && !catz_contains_ci(texts[i], lens[i], literal, litlen))
			continue;
		if (!checked)
		{
			if (!entry_applies(entry, e, ms->src->owner_filter) || shadowed(ms->src, entry))
				return;
			checked = true;
		}
		if (re == NULL)
			re = get_regex(catz_entry_value(ms->src->blob, entry), entry->value_len);
		if (!re->valid || !regex_matches(re, texts[i], lens[i], &matched))
			continue;
		h = add_hit(ms, entry);
		h->field = (i == 0) ? CATZ_FIELD_MERCHANT : CATZ_FIELD_DESCRIPTION;
		h->match_bytes = matched;
		return;					/* one hit per pattern is enough */
	}
}

/*
 * The next regex of a set at or after from that the literal prefilter lets
 * through for some field (every one when a field is not ASCII)
 */
static uint32
next_regex(const MatchState *ms, const CatzSet *set, uint32 from)
{
	if (ms->unfiltered)
		return from;
	/* with no field present only the regexes without a literal get through */
	return catz_set_regex_next(set, from, &ms->trigrams, (ms->ascii[0] || ms->ascii[1]) ? 1 : 0);
}

/* Run the regex patterns of one source */
static void
regex_source(MatchState *ms, const Source *src)
{
	ms->src = src;
	if (src->kind == SOURCE_SET)
	{
		const CatzSet *set = src->blob;
		uint32		n = catz_set_regex_count(set);
		uint32		i;

		prepare_prefilter(ms);
		for (i = next_regex(ms, set, 0); i < n; i = next_regex(ms, set, i + 1))
		{
			uint32		litlen;
			const char *lit = catz_set_regex_literal(set, i, &litlen);

			CHECK_FOR_INTERRUPTS();
			try_regex(ms, catz_set_entry(set, catz_set_regex_entry(set, i)), lit, litlen);
		}
	}
	else
	{
		const CatzOverlay *ov = src->blob;
		uint32		n = catz_overlay_used(ov);
		uint32		i;

		for (i = 0; i < n; i++)
		{
			const CatzEntry *entry = catz_overlay_entry(ov, i);

			if (entry && entry->kind == CATZ_KIND_REGEX)
				try_regex(ms, entry, NULL, 0);
		}
	}
}

/* Whether a source may hold regexes at all (cheap check before the loop) */
static bool
source_has_regexes(const Source *src)
{
	return src->kind == SOURCE_OVERLAY ? catz_overlay_regex_slots(src->blob) > 0 :
		catz_set_regex_count(src->blob) > 0;
}

void
catz_engine_count_decision(const CatzResult *res)
{
	const CatzEntry *e;

	if (res->ncandidates == 0 || res->candidates[0].source != CATZ_SOURCE_PATTERN)
		return;
	e = res->candidates[0].hit->entry;
	catz_decisions_count(e->pattern_id, e->confirmed);
}

/* A scope as the engine reads it: backend-local, or shared and pinned */
typedef struct ScopeView
{
	const CatzSet *set;
	const CatzModel *model;
	const CatzOverlay *overlay;
	const CatzModelDelta *delta;
} ScopeView;

/* A rule being previewed (categorize.rule_decides), matched as if it existed */
static const CatzSet *extra_rule = NULL;

void
catz_engine_set_extra(const CatzSet *rule)
{
	extra_rule = rule;
}

/* A view of a backend-local scope */
static ScopeView
local_view(CatzScope *scope)
{
	ScopeView	v;

	v.set = scope->set;
	v.model = scope->model;
	v.overlay = scope->overlay;
	v.delta = scope->delta;
	return v;
}

/* A view of a pinned shared scope, begun with catz_shared_read_begin() */
static ScopeView
shared_view(CatzSharedScope *scope)
{
	ScopeView	v;

	v.set = catz_shared_set(scope);
	v.model = catz_shared_model(scope);
	catz_shared_read_begin(scope, &v.overlay, &v.delta);
	return v;
}

void
catz_engine_release(void)
{
	catz_store_release_held();
}

/* Token-model predictions for the expense */
static int
predict_model(const CatzExpense *e, const ScopeView *global, const ScopeView *owner,
			  CatzXactOverlay *xo, const FieldText *m, const FieldText *d,
			  CatzPrediction *out, int k, uint32 *known, bool *own_model,
			  double *docs)
{
	CatzWeightedModel models[6];
	int			n = 0;
	uint64	   *features;
	size_t		nf;
	CatzModelDelta *od = NULL;

	memset(models, 0, sizeof(models));
	models[n].model = global->model;
	models[n++].weight = 1.0;
	models[n].delta = global->delta;
	models[n++].weight = 1.0;
	if (xo && xo->global_delta)
	{
		models[n].delta = xo->global_delta;
		models[n++].weight = 1.0;
	}
	*own_model = false;
	if (owner)
	{
		models[n].model = owner->model;
		models[n++].weight = OWNER_MODEL_WEIGHT;
		models[n].delta = owner->delta;
		models[n++].weight = OWNER_MODEL_WEIGHT;
		*own_model = owner->model != NULL || catz_model_delta_docs(owner->delta) > 0;
	}
	if (e->has_user && (od = catz_xact_owner_delta(e->user_id)) != NULL)
	{
		models[n].delta = od;
		models[n++].weight = OWNER_MODEL_WEIGHT;
		*own_model = true;
	}
	/* Drop empty sources */
	{
		int			w = 0;
		int			i;

		*docs = 0;
		for (i = 0; i < n; i++)
			if (models[i].model || models[i].delta)
			{
				*docs += models[i].weight * (models[i].model ? catz_model_docs(models[i].model)
											 : catz_model_delta_docs(models[i].delta));
				models[w++] = models[i];
			}
		n = w;
	}

	/*
	 * No correction anywhere yet: nothing to ask, and the expense's
	 * features (a tenth of a call over patterns alone) are not worked out
	 */
	if (n == 0 || *docs <= 0)
	{
		*known = 0;
		return 0;
	}
	features = palloc(sizeof(uint64) * CATZ_MAX_FEATURES);
	nf = catz_expense_features(m->text, m->len, d->text, d->len, e->has_amount, e->amount,
							   features, CATZ_MAX_FEATURES);
	return catz_model_predict(models, n, features, nf, MODEL_ALPHA, NULL, NULL,
							  &catz_palloc_allocator, out, k, known);
}

/* Whether a view holds nothing: no pattern, no correction */
static bool
view_empty(const ScopeView *v)
{
	return (v->set == NULL || catz_set_count(v->set) == 0) &&
		overlay_used(v->overlay) == 0 &&
		catz_model_docs(v->model) == 0 && catz_model_delta_docs(v->delta) == 0;
}

/*
 * Views of the global scope and, when the expense has an owner with
 * anything of their own, of the owner's scope: shared ones pinned (and
 * locked SHARED while they have changes after their snapshot, see
 * catz_shared_read_begin) until catz_engine_release(), otherwise this
 * backend's own.
 * True when there is an owner view.
 */
static bool
acquire_views(const CatzExpense *e, ScopeView *global, ScopeView *owner)
{
	CatzSharedDb *db = catz_shared_enabled() ? catz_shared_db(true) : NULL;
	CatzSharedScope *gs = NULL;
	CatzSharedScope *os = NULL;
	bool		use_owner = e->has_user;
	uint32		owner_changes = 0;

	catz_engine_release();
	if (db && !db->disabled)
	{
		if (use_owner)
			catz_owner_prefetch(db, e->user_id);

		/*
		 * Pin first (pinning may build and run SQL), lock afterwards; a pin
		 * is held at once, so an error in the next build releases it
		 */
		gs = catz_serve_shared(db, true, 0, NULL);
		if (gs)
			catz_store_hold(gs);

		/*
		 * An owner found empty, whose shared state did not change since,
		 * still has nothing of their own: the engine reads no owner scope
		 */
		if (gs && use_owner)
		{
			bool		empty;

			owner_changes = catz_owner_changes(db, e->user_id);
			if (catz_owner_known_empty(db, e->user_id, owner_changes))
				use_owner = false;
			else
			{
				os = catz_serve_shared(db, false, e->user_id, &empty);
				if (empty)
				{
					catz_note_owner_empty(db, e->user_id, owner_changes);
					use_owner = false;
				}
			}
		}
		if (os)
			catz_store_hold(os);
	}

	/*
	 * Local scopes are loaded (SQL, maybe a long compilation) before any
	 * shared scope is locked: no LWLock is held while a build runs, so it
	 * can be canceled and never stalls a writer of the shared scope
	 */
	if (!gs)
		*global = local_view(catz_scope_global());
	if (use_owner && !os)
		*owner = local_view(catz_scope_owner(e->user_id, true));
	if (gs)
		*global = shared_view(gs);
	if (os)
	{
		*owner = shared_view(os);
		if (view_empty(owner))
			catz_note_owner_empty(db, e->user_id, owner_changes);
	}
	return use_owner;
}

void
catz_engine_categorize(const CatzExpense *e, int k, CatzResult *res)
{
	ScopeView	global;
	ScopeView	owner_view;
	ScopeView  *owner = NULL;
	CatzXactOverlay *xo;
	const CatzOverlay *xov;
	FieldText	merchant;
	FieldText	description;
	int			mlen;
	int			dlen;
	MatchState	ms;
	Source		sources[6];
	int			nsources = 0;
	int			i;
	CatzPrediction *preds = NULL;
	int			npreds = 0;
	uint32		known = 0;
	bool		own_model = false;
	double		model_docs = 0;
	int			ncats;
	bool		yielding = false;

	memset(res, 0, sizeof(*res));
	catz_refresh();
	if (acquire_views(e, &global, &owner_view))
		owner = &owner_view;
	xo = catz_xact_overlay(false);
	xov = xo ? shadowing(xo->overlay) : NULL;

	res->merchant_norm = catz_normalize_cstring(e->merchant, e->has_merchant ? e->merchant_len : 0, &mlen);
	res->description_norm = catz_normalize_cstring(e->description,
												   e->has_description ? e->description_len : 0, &dlen);
	field_init(&merchant, res->merchant_norm, mlen, e->has_merchant);
	field_init(&description, res->description_norm, dlen, e->has_description);

	/* Sources in order; each shadowed by the overlays above it */
	sources[nsources++] = (Source) {SOURCE_SET, global.set, shadowing(global.overlay), xov, false};
	if (overlay_used(global.overlay) > 0)
		sources[nsources++] = (Source) {SOURCE_OVERLAY, global.overlay, xov, NULL, false};
	if (owner)
	{
		sources[nsources++] = (Source) {SOURCE_SET, owner->set, shadowing(owner->overlay), xov, false};
		if (overlay_used(owner->overlay) > 0)
			sources[nsources++] = (Source) {SOURCE_OVERLAY, owner->overlay, xov, NULL, false};
	}
	if (xov)
		sources[nsources++] = (Source) {SOURCE_OVERLAY, xov, NULL, NULL, true};
	if (extra_rule)
		sources[nsources++] = (Source) {SOURCE_SET, extra_rule, NULL, NULL, false};

	memset(&ms, 0, offsetof(MatchState, trigrams));
	ms.e = e;
	ms.merchant_empty = !merchant.present;
	init_texts(&ms, &merchant, &description);
	for (i = 0; i < nsources; i++)
	{
		match_source(&ms, &sources[i]);
		if (source_has_regexes(&sources[i]))
			regex_source(&ms, &sources[i]);
	}
	{
		CatzDecisions *d = hit_decisions(ms.hits, ms.nhits);

		for (i = 0; i < ms.nhits; i++)
			ms.hits[i].decisions = d[i].decisions;
	}
	/* The learning key is the merchant name, else the description */
	catz_mark_word(ms.hits, ms.nhits, e->has_user, e->user_id,
				   mlen > 0 ? CATZ_FIELD_MERCHANT : CATZ_FIELD_DESCRIPTION,
				   e->has_amount, e->amount);

	/*
	 * Distinct categories among the hits (up to k); a hit that gives way to
	 * a surer model guess needs the model's guesses too.  The hits are not
	 * ranked yet, so every one is asked: the one that yields may rank first
	 * behind hits of other categories found before it, and categorize()
	 * (k = 1) must answer what categorize_detail() ranks first.
	 */
	ncats = 0;
	for (i = 0; i < ms.nhits && (ncats < k || !yielding); i++)
	{
		if (catz_yields_to_model(&ms.hits[i]))
			yielding = true;
		if (ncats < k)
		{
			int			j;

			for (j = 0; j < i; j++)
				if (ms.hits[j].entry->category_id == ms.hits[i].entry->category_id)
					break;
			if (j == i)
				ncats++;
		}
	}

	/* The model fills what the patterns leave open */
	if (ncats < k || yielding)
	{
		preds = palloc(sizeof(CatzPrediction) * k);
		npreds = predict_model(e, &global, owner, xo, &merchant, &description,
							   preds, k, &known, &own_model, &model_docs);
	}

	res->hits = ms.hits;
	res->nhits = ms.nhits;
	res->candidates = palloc(sizeof(CatzCandidate) * k);
	res->ncandidates = catz_rank(res->hits, res->nhits, preds, npreds, known, own_model,
								 model_docs, res->candidates, k);
}

/* ----------------------------------------------------------------
 * Settings of the answer
 * ----------------------------------------------------------------
 */
bool		catz_enabled = true;
double		catz_min_confidence = 0.5;
int			catz_rollout_percent = 100;

void
catz_engine_init(void)
{
	DefineCustomBoolVariable("categorize.enabled",
							 "Kill switch: when off, categorize() returns NULL and the trigger does nothing.",
							 "Settable per session, role or database.",
							 &catz_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("categorize.min_confidence",
							 "Confidence below which categorize() returns NULL.",
							 "Confidence estimates the probability that the category is right; categorize_detail() shows candidates below the threshold too.",
							 &catz_min_confidence,
							 0.5,
							 0.0, 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.rollout_percent",
							"Share of owners, by a stable hash of user_id, that get categories; the others get NULL.",
							"For a gradual rollout per database or role with ALTER ... SET.",
							&catz_rollout_percent,
							100,
							0, 100,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
}
