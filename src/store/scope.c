/*-------------------------------------------------------------------------
 *
 * scope.c
 *	  Load, cache and evict the compiled scopes of this backend, and keep
 *	  the transaction overlay of its own uncommitted writes.
 *
 * The global scope (patterns with owner_id NULL and the corrections that
 * teach everyone) stays loaded.  Owner scopes are loaded on first use, one
 * owner's rows through an index, and evicted least-recently-used when they
 * hold more than categorize.backend_cache_size.  A scope is loaded in a
 * memory context that is a child of the caller's context until it is
 * complete, so an error while loading leaks nothing.
 *
 * Loads read with a fresh snapshot (catz_fresh_snapshot) and leave out the
 * rows this transaction wrote: those are in the transaction overlay.  A
 * scope loaded by a transaction that wrote is marked temporary and dropped
 * at its end, because the rows that transaction updated are missing from
 * it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "access/htup_details.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "store/store.h"

/* Memory context of everything the engine keeps between calls */
static MemoryContext engine_cxt = NULL;

/* The global scope, and owner scopes by owner_id with their LRU order */
static CatzScope *global_scope = NULL;
static HTAB *owner_scopes = NULL;
static dlist_head owner_lru = DLIST_STATIC_INIT(owner_lru);
static Size owner_bytes = 0;

/* The transaction overlay */
static CatzXactOverlay *xact_overlay = NULL;

/* Whether a temporary scope was built since the last end of transaction */
static bool temporary_built = false;

/* Prepared queries (kept across transactions) */
static SPIPlanPtr plan_global_patterns = NULL;
static SPIPlanPtr plan_owner_patterns = NULL;
static SPIPlanPtr plan_global_docs = NULL;
static SPIPlanPtr plan_owner_docs = NULL;
static SPIPlanPtr plan_crowd_docs = NULL;

/* An owner scope in the hash table */
typedef struct OwnerScopeEntry
{
	int64		owner_id;		/* hash key */
	CatzScope  *scope;
} OwnerScopeEntry;

/* The memory context everything cached lives in */
static MemoryContext
get_engine_cxt(void)
{
	if (engine_cxt == NULL)
		engine_cxt = AllocSetContextCreate(TopMemoryContext, "categorize engine",
										   ALLOCSET_DEFAULT_SIZES);
	return engine_cxt;
}

/* Prepare a query once and keep it */
static SPIPlanPtr
prepare_kept(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	return catz_spi_prepare_kept(plan, sql, nargs, argtypes, 0);
}

/* Forget prepared queries (the tables may have been recreated) */
static void
forget_plans(void)
{
	SPIPlanPtr *plans[] = {&plan_global_patterns, &plan_owner_patterns,
	&plan_global_docs, &plan_owner_docs, &plan_crowd_docs};
	size_t		i;

	for (i = 0; i < lengthof(plans); i++)
	{
		if (*plans[i])
			SPI_freeplan(*plans[i]);
		*plans[i] = NULL;
	}
}

/*
 * Compile the pattern rows of a query result into a set in cxt.  A row the
 * core refuses (it would have been refused at INSERT, so it bypassed the
 * trigger) is left out with a WARNING.
 */
static CatzSet *
compile_patterns(SPITupleTable *tt, uint64 nrows, MemoryContext cxt, Size *bytes)
{
	CatzPatternInput *pats = palloc0(sizeof(CatzPatternInput) * (nrows ? nrows : 1));
	size_t		n = 0;
	uint64		own = catz_own_fxid();
	uint64		i;
	CatzAllocator a = catz_allocator_in(cxt);
	CatzPatternColumns cols;

	if (nrows > 0)
		catz_pattern_columns(tt->tupdesc, &cols);
	for (i = 0; i < nrows; i++)
	{
		bool		active;

		CHECK_FOR_INTERRUPTS();
		if (own != 0 && catz_row_xid(tt->vals[i], tt->tupdesc, cols.xid_attnum) == own)
			continue;			/* in the transaction overlay */
		catz_pattern_from_row(tt->vals[i], tt->tupdesc, &cols, &pats[n], &active);
		if (active)
			n++;
	}

	for (;;)
	{
		CatzSet    *set = NULL;
		size_t		size = 0;
		size_t		bad = 0;
		CatzStatus	st = catz_set_build(pats, n, &a, &set, &size, &bad);

		if (st == CATZ_OK)
		{
			*bytes += size;
			return set;
		}
		if (st != CATZ_EINVAL || bad >= n)
			catz_report_status(st, "compiling patterns");
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("categorize: pattern %lld is ignored: its value is empty or too long",
						(long long) pats[bad].pattern_id),
				 errhint("Fix the row in categorize.patterns; it bypassed the validation trigger.")));
		pats[bad] = pats[n - 1];
		n--;
	}
}

/* Documents read for a model, in a temporary memory context */
typedef struct DocSet
{
	MemoryContext tmp;
	CatzModelDoc *docs;
	size_t		n;
	size_t		cap;
} DocSet;

static void
docset_init(DocSet *ds)
{
	ds->tmp = AllocSetContextCreate(CurrentMemoryContext, "categorize docs", ALLOCSET_DEFAULT_SIZES);
	ds->docs = NULL;
	ds->n = ds->cap = 0;
}

/* Room for more documents */
static void
docset_reserve(DocSet *ds, size_t more)
{
	if (ds->n + more <= ds->cap)
		return;
	ds->cap = Max(ds->n + more, ds->cap * 2);
	ds->docs = ds->docs ? repalloc_huge(ds->docs, sizeof(CatzModelDoc) * ds->cap)
		: MemoryContextAllocHuge(ds->tmp, sizeof(CatzModelDoc) * ds->cap);
}

/*
 * The document of a row of (merchant, description, category, change_xid,
 * ...) with its amount at column amount_col, into doc with its features
 * copied to ds's memory; false for this transaction's own rows (they are
 * in the transaction overlay)
 */
static bool
read_doc(DocSet *ds, HeapTuple tup, TupleDesc desc, int amount_col, uint64 own,
		 CatzModelDoc *doc)
{
	uint64		buf[CATZ_MAX_FEATURES];
	uint64	   *copy;

	if (own != 0 && catz_row_xid(tup, desc, 4) == own)
		return false;
	catz_doc_from_row(tup, desc, 1, amount_col, doc, buf);
	copy = MemoryContextAlloc(ds->tmp, sizeof(uint64) * Max(doc->nfeatures, 1));
	memcpy(copy, buf, sizeof(uint64) * doc->nfeatures);
	doc->features = copy;
	return true;
}

/* Add the documents of a query result of (..., change_xid, amount) rows */
static void
docset_add_result(DocSet *ds, SPITupleTable *tt, uint64 nrows)
{
	uint64		own = catz_own_fxid();
	uint64		i;

	docset_reserve(ds, nrows);
	for (i = 0; i < nrows; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (read_doc(ds, tt->vals[i], tt->tupdesc, 5, own, &ds->docs[ds->n]))
			ds->n++;
	}
}

/*
 * Add the crowd's documents of a query result of (merchant, description,
 * category, change_xid, owner_id, amount) rows: owners' corrections, of which
 * everyone's model keeps only what min_owners owners agree on (crowd.c)
 */
static void
docset_add_crowd(DocSet *ds, SPITupleTable *tt, uint64 nrows, uint32 min_owners)
{
	uint64		own = catz_own_fxid();
	CatzCrowdDoc *crowd;
	size_t		n = 0;
	size_t		kept;
	size_t		i;
	CatzAllocator a = catz_allocator_in(ds->tmp);
	CatzStatus	st;
	MemoryContext old = MemoryContextSwitchTo(ds->tmp);

	crowd = palloc_extended(sizeof(CatzCrowdDoc) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < nrows; i++)
	{
		CatzModelDoc doc;

		CHECK_FOR_INTERRUPTS();
		if (!read_doc(ds, tt->vals[i], tt->tupdesc, 6, own, &doc) ||
			!catz_col_int64(tt->vals[i], tt->tupdesc, 5, &crowd[n].owner_id))
			continue;
		crowd[n].features = (uint64_t *) doc.features;
		crowd[n].nfeatures = doc.nfeatures;
		crowd[n].category_id = doc.category_id;
		n++;
	}
	MemoryContextSwitchTo(old);
	st = catz_crowd_gate(crowd, n, min_owners, &a, &kept);
	if (st != CATZ_OK)
		catz_report_status(st, "gating the crowd's documents");
	docset_reserve(ds, kept);
	for (i = 0; i < kept; i++)
	{
		ds->docs[ds->n].features = crowd[i].features;
		ds->docs[ds->n].nfeatures = crowd[i].nfeatures;
		ds->docs[ds->n].category_id = crowd[i].category_id;
		ds->n++;
	}
	pfree(crowd);
}

/* Build the model of the documents in cxt (NULL when there are none); frees ds */
static CatzModel *
docset_build(DocSet *ds, MemoryContext cxt, Size *bytes)
{
	CatzAllocator a = catz_allocator_in(cxt);
	CatzModel  *model = NULL;
	size_t		size = 0;
	CatzStatus	st;

	if (ds->n > 0)
	{
		st = catz_model_build(ds->docs, ds->n, &a, &model, &size);
		if (st != CATZ_OK)
			catz_report_status(st, "building the token model");
		*bytes += size;
	}
	MemoryContextDelete(ds->tmp);
	return model;
}


/* Run a kept plan with a fresh snapshot, read-only */
static uint64
run_plan(SPIPlanPtr plan, Datum *args, Snapshot snap)
{
	int			rc = SPI_execute_snapshot(plan, args, NULL, snap, InvalidSnapshot,
										  true, false, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "categorize: SPI_execute_snapshot returned %s",
			 SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * Testing aid (categorize.test_build_lock): when the key is not 0, wait for
 * a shared advisory lock at a known point of a build, then let go at once.
 * Point 0 is once a scope is compiled and before anything is published:
 * the lock pg_advisory_lock(key) takes.  Point n > 0 is after the n-th
 * catch-up of a publication that found itself stale (refresh/serve.c):
 * pg_advisory_lock(key, n).  A session holding those locks thereby holds
 * every build of its database at those points, so a test can cancel, time
 * out or kill a build that is certainly under way, or commit between its
 * steps, whatever the machine's speed.  The wait is an ordinary lock wait:
 * pg_locks and pg_stat_activity show it, a cancel or statement_timeout
 * ends it.
 */
void
catz_test_pause_build(uint32 point)
{
	LOCKTAG		tag;

	if (catz_test_build_lock == 0)
		return;
	/* a lock wait with interrupts held could not be canceled: say so */
	if (InterruptHoldoffCount > 0 || CritSectionCount > 0)
		elog(ERROR, "categorize: a scope was built with interrupts held");
	if (point == 0)
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, (uint32) catz_test_build_lock, 1);
	else
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) catz_test_build_lock, point, 2);
	(void) LockAcquire(&tag, ShareLock, false, false);
	LockRelease(&tag, ShareLock, false);
}

/* Error context of a build: whose patterns were being compiled */
static void
build_error_context(void *arg)
{
	CatzScope  *scope = (CatzScope *) arg;

	if (scope->global)
		errcontext("categorize: compiling everyone's patterns");
	else
		errcontext("categorize: compiling the patterns of owner " INT64_FORMAT,
				   scope->owner_id);
}

/*
 * Build a scope: its patterns and corrections at a fresh snapshot, in a new
 * memory context under engine memory (free it with catz_scope_free)
 */
CatzScope *
catz_scope_build(bool global, int64 owner_id)
{
	CatzSpi		spi_level = {0};
	MemoryContext cxt;
	CatzScope  *scope;
	Snapshot	snap;
	Datum		args[1];
	Oid			argtypes[1] = {INT8OID};
	uint64		n;
	ErrorContextCallback errcallback;
	DocSet		ds;
	bool		has_rows = true;	/* false: an owner without any row */

	(void) catz_relids();		/* make sure the tables exist */

	cxt = AllocSetContextCreate(CurrentMemoryContext, "categorize scope",
								ALLOCSET_DEFAULT_SIZES);
	scope = MemoryContextAllocZero(cxt, sizeof(CatzScope));
	scope->global = global;
	scope->owner_id = owner_id;
	scope->cxt = cxt;
	scope->temporary = catz_xact_wrote();
	scope->loaded_at = GetCurrentTimestamp();

	errcallback.callback = build_error_context;
	errcallback.arg = scope;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	snap = RegisterSnapshot(catz_fresh_snapshot());
	if (!catz_snapshot_copy(snap, cxt, &scope->base_snap))
		scope->temporary = true;	/* cannot tell what it holds: do not keep */
	if (scope->temporary)
		temporary_built = true;
	args[0] = Int64GetDatum(owner_id);

	/* the probe of the owner indexes needs no SPI, nor does a new owner (no row) */
	if (!global)
		has_rows = catz_owner_may_have_rows(owner_id, snap);
	if (has_rows)
		spi_level = catz_spi_connect();
	if (global)
	{
		n = run_plan(prepare_kept(&plan_global_patterns,
								  "SELECT " PATTERN_COLUMNS " FROM categorize.patterns "
								  "WHERE owner_id IS NULL AND active", 0, NULL),
					 NULL, snap);
		scope->set = compile_patterns(SPI_tuptable, n, cxt, &scope->bytes);
		docset_init(&ds);
		n = run_plan(prepare_kept(&plan_global_docs,
								  "SELECT merchant_name, description, to_category_id, change_xid, "
								  "       amount::pg_catalog.float8 "
								  "FROM categorize.corrections "
								  "WHERE owner_id IS NULL AND learn_scope IN ('all', 'owner')",
								  0, NULL),
					 NULL, snap);
		docset_add_result(&ds, SPI_tuptable, n);
		n = run_plan(prepare_kept(&plan_crowd_docs,
								  "SELECT merchant_name, description, to_category_id, change_xid, owner_id, "
								  "       amount::pg_catalog.float8 "
								  "FROM categorize.corrections "
								  "WHERE owner_id IS NOT NULL AND learn_scope = 'all' "
								  "ORDER BY id DESC LIMIT " CppAsString2(CATZ_CROWD_MAX_DOCS),
								  0, NULL),
					 NULL, snap);
		scope->crowd_refold = catz_crowd_refold(n, scope->set ? catz_set_count(scope->set) : 0);
		docset_add_crowd(&ds, SPI_tuptable, n, (uint32) catz_promote_min_users);
		scope->model = docset_build(&ds, cxt, &scope->bytes);
	}
	else if (!has_rows)
	{
		/* A new owner: the queries below would return nothing */
		scope->set = compile_patterns(NULL, 0, cxt, &scope->bytes);
		scope->model = NULL;
	}
	else
	{
		n = run_plan(prepare_kept(&plan_owner_patterns,
								  "SELECT " PATTERN_COLUMNS " FROM categorize.patterns "
								  "WHERE owner_id = $1 AND active", 1, argtypes),
					 args, snap);
		scope->set = compile_patterns(SPI_tuptable, n, cxt, &scope->bytes);
		docset_init(&ds);
		n = run_plan(prepare_kept(&plan_owner_docs,
								  "SELECT merchant_name, description, to_category_id, change_xid, "
								  "       amount::pg_catalog.float8 "
								  "FROM categorize.corrections "
								  "WHERE owner_id = $1 AND learn_scope IN ('all', 'owner')", 1, argtypes),
					 args, snap);
		docset_add_result(&ds, SPI_tuptable, n);
		scope->model = docset_build(&ds, cxt, &scope->bytes);
	}
	if (has_rows)
		catz_spi_finish(spi_level);
	UnregisterSnapshot(snap);

	/* The overlay and delta for what commits later are allocated on first use */

	if (has_rows)
		catz_test_pause_build(0);	/* a new owner's nothing is not held */
	error_context_stack = errcallback.previous;

	scope->build_us = (double) TimestampDifferenceMilliseconds(scope->loaded_at, GetCurrentTimestamp()) * 1000.0;

	/* Complete: keep it */
	MemoryContextSetParent(cxt, get_engine_cxt());
	return scope;
}

void
catz_scope_free(CatzScope *scope)
{
	MemoryContextDelete(scope->cxt);
}

CatzScope *
catz_scope_global_if_loaded(void)
{
	return global_scope;
}

CatzScope *
catz_scope_global(void)
{
	if (global_scope && global_scope->needs_reload)
	{
		catz_scope_free(global_scope);
		global_scope = NULL;
	}
	if (global_scope == NULL)
		global_scope = catz_scope_build(true, 0);
	return global_scope;
}

/* The owner scope hash table */
static HTAB *
owner_table(void)
{
	if (owner_scopes == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(OwnerScopeEntry);
		ctl.hcxt = get_engine_cxt();
		owner_scopes = hash_create("categorize owner scopes", 256, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return owner_scopes;
}

/* Remove an owner scope from the cache and free it */
static void
owner_evict(CatzScope *scope)
{
	int64		key = scope->owner_id;

	dlist_delete(&scope->lru);
	owner_bytes -= scope->bytes;
	hash_search(owner_table(), &key, HASH_REMOVE, NULL);
	catz_scope_free(scope);
}

CatzScope *
catz_scope_owner(int64 owner_id, bool load)
{
	OwnerScopeEntry *e;
	bool		found;
	CatzScope  *scope;

	e = hash_search(owner_table(), &owner_id, HASH_FIND, &found);
	if (found && e->scope->needs_reload)
	{
		owner_evict(e->scope);
		found = false;
	}
	if (found)
	{
		/* Most recently used goes to the head */
		dlist_move_head(&owner_lru, &e->scope->lru);
		return e->scope;
	}
	if (!load)
		return NULL;

	scope = catz_scope_build(false, owner_id);
	e = hash_search(owner_table(), &owner_id, HASH_ENTER, &found);
	e->scope = scope;
	dlist_push_head(&owner_lru, &scope->lru);
	owner_bytes += scope->bytes;

	/* Stay within the budget; the scope just loaded is never evicted */
	while (owner_bytes > (Size) catz_backend_cache_kb * 1024 && !dlist_is_empty(&owner_lru))
	{
		CatzScope  *victim = dlist_tail_element(CatzScope, lru, &owner_lru);

		if (victim == scope)
			break;
		owner_evict(victim);
	}
	return scope;
}

bool
catz_scope_any_cached(void)
{
	return global_scope != NULL || !dlist_is_empty(&owner_lru);
}

void
catz_scope_drop_all(void)
{
	if (global_scope)
		catz_scope_free(global_scope);
	global_scope = NULL;
	while (!dlist_is_empty(&owner_lru))
		owner_evict(dlist_head_element(CatzScope, lru, &owner_lru));
	forget_plans();
}

void
catz_scope_drop_temporary(void)
{
	dlist_mutable_iter iter;

	/* Most transactions built none: do not walk every cached owner */
	if (!temporary_built)
		return;
	temporary_built = false;

	if (global_scope && global_scope->temporary)
	{
		catz_scope_free(global_scope);
		global_scope = NULL;
	}
	dlist_foreach_modify(iter, &owner_lru)
	{
		CatzScope  *s = dlist_container(CatzScope, lru, iter.cur);

		if (s->temporary)
			owner_evict(s);
	}
}

/* Account for a change of a scope's size (owner scopes count against the budget) */
static void
scope_resized(CatzScope *scope, Size old_bytes, Size new_bytes)
{
	scope->bytes += new_bytes - old_bytes;
	if (!scope->global)
		owner_bytes += new_bytes - old_bytes;
}

/* Allocation of the local store's blobs: in the scope's memory context */
static void *
local_alloc(void *arg, Size size)
{
	return MemoryContextAllocZero(((CatzScope *) arg)->cxt, size);
}

static void
local_discard(void *arg, void *mem)
{
	pfree(mem);
}

/* The local store's blobs (CatzBlobGrowFn) */
static void *
local_blob(void *arg, CatzBlobKind kind, bool bigger)
{
	CatzScope  *scope = (CatzScope *) arg;
	bool		overlay = kind == CATZ_BLOB_OVERLAY;
	void	  **blob = overlay ? (void **) &scope->overlay : (void **) &scope->delta;
	uint32	   *capacity = overlay ? &scope->overlay_capacity : &scope->delta_capacity;
	CatzBlobAlloc a = {local_alloc, local_discard, scope};
	uint32		next;
	Size		size;
	void	   *grown;

	if (*blob != NULL && !bigger)
		return *blob;
	grown = catz_blob_grow(kind, *blob, *capacity,
						   overlay ? CATZ_OVERLAY_PATTERNS : CATZ_DELTA_DOCS, &a, &next, &size);
	if (grown == NULL)
		return NULL;
	scope_resized(scope, catz_blob_bytes(kind, *blob, *capacity), size);
	if (*blob)
		pfree(*blob);
	*blob = grown;
	*capacity = next;
	return grown;
}

void
catz_scope_apply(CatzScope *scope, const CatzBlobChange *c)
{
	CatzStatus	st;

	if (!catz_blob_apply(c, local_blob, scope, &st))
		scope->needs_reload = true; /* full: reload at next use (a fold) */
	else if (st != CATZ_OK && c->op == CATZ_CHANGE_PUT)
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("categorize: pattern %lld is ignored: %s",
						(long long) c->pattern->pattern_id, catz_status_string(st))));
}

void
catz_scope_note_crowd(CatzScope *scope)
{
	if (++scope->crowd_pending >= scope->crowd_refold)
		scope->needs_reload = true; /* a fold at next use */
}

/* ----------------------------------------------------------------
 * The transaction overlay
 * ----------------------------------------------------------------
 */

/*
 * The first room a transaction's overlay and delta models get: most
 * transactions that write anything write one correction and its learned
 * pattern, and every learning transaction paid for zeroing (and freeing)
 * the 77 kB that room for 64 patterns and 16 documents took; both grow
 * fourfold when full
 */
#define XACT_FIRST_PATTERNS 8
#define XACT_FIRST_DOCS 4
/* Value bytes per pattern of a transaction overlay's capacity */
#define XACT_POOL_PER_PATTERN 256

/* A new pattern overlay with room for max patterns, in the overlay's context */
static CatzOverlay *
new_overlay(CatzXactOverlay *xo, uint32 max, Size *size)
{
	uint32		pool = max * XACT_POOL_PER_PATTERN;

	*size = catz_overlay_size(max, pool);
	return catz_overlay_init(MemoryContextAllocExtended(xo->cxt, *size,
														MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO),
							 *size, max, pool);
}

/* A new delta model with room for max_docs documents, in the overlay's context */
static CatzModelDelta *
new_delta(CatzXactOverlay *xo, uint32 max_docs)
{
	Size		size = catz_model_delta_size(max_docs, max_docs * 64);

	return catz_model_delta_init(MemoryContextAllocZero(xo->cxt, size), size,
								 max_docs, max_docs * 64);
}

CatzXactOverlay *
catz_xact_overlay(bool create)
{
	if (xact_overlay == NULL && create)
	{
		MemoryContext cxt = AllocSetContextCreate(get_engine_cxt(), "categorize transaction overlay",
												  ALLOCSET_SMALL_SIZES);

		xact_overlay = MemoryContextAllocZero(cxt, sizeof(CatzXactOverlay));
		xact_overlay->cxt = cxt;
	}
	if (xact_overlay && xact_overlay->overlay == NULL && create)
	{
		xact_overlay->max_patterns = XACT_FIRST_PATTERNS;
		xact_overlay->overlay = new_overlay(xact_overlay, XACT_FIRST_PATTERNS,
											&xact_overlay->overlay_size);
	}
	return xact_overlay;
}

/*
 * Grow the transaction's pattern overlay: fourfold while small, then
 * twofold, in a huge allocation beyond 1 GB; its pool of values is capped
 * by its uint32 size (16 million patterns of 256 bytes)
 */
static void
xact_grow_overlay(CatzXactOverlay *xo)
{
	uint32		max;
	Size		size;
	CatzOverlay *bigger;

	if (xo->max_patterns >= PG_UINT32_MAX / (2 * XACT_POOL_PER_PATTERN))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many pattern changes in one transaction"),
				 errhint("Change patterns in transactions of a few million rows at most.")));
	max = xo->max_patterns * (xo->max_patterns < 65536 ? 4 : 2);
	bigger = new_overlay(xo, max, &size);

	if (bigger == NULL || catz_overlay_copy(bigger, xo->overlay) != CATZ_OK)
		elog(ERROR, "categorize: could not grow the transaction overlay");
	pfree(xo->overlay);
	xo->overlay = bigger;
	xo->overlay_size = size;
	xo->max_patterns = max;
}

void
catz_xact_put_pattern(const CatzPatternInput *p)
{
	CatzXactOverlay *xo = catz_xact_overlay(true);
	CatzStatus	st;

	while ((st = catz_overlay_put(xo->overlay, p)) == CATZ_ETOOBIG)
		xact_grow_overlay(xo);
	if (st != CATZ_OK)
		catz_report_status(st, "recording a pattern change");
}

void
catz_xact_delete_pattern(int64 pattern_id)
{
	CatzXactOverlay *xo = catz_xact_overlay(true);
	CatzStatus	st;

	while ((st = catz_overlay_delete(xo->overlay, pattern_id)) == CATZ_ETOOBIG)
		xact_grow_overlay(xo);
	if (st != CATZ_OK)
		catz_report_status(st, "recording a pattern deletion");
}

/* Add a doc to a delta, growing it (rebuilt from matching docs) when full */
static CatzModelDelta *
delta_add_growing(CatzXactOverlay *xo, CatzModelDelta *delta, const CatzModelDoc *doc,
				  bool global, int64 owner_id)
{
	uint32		max = XACT_FIRST_DOCS;

	if (delta == NULL)
		delta = new_delta(xo, max);
	while (catz_model_delta_add(delta, doc) == CATZ_ETOOBIG)
	{
		ListCell   *lc;

		max = catz_model_delta_docs(delta) * 4 + 16;
		delta = new_delta(xo, max);
		foreach(lc, xo->docs)
		{
			CatzXactDoc *d = lfirst(lc);

			if (global ? d->teaches_global : (d->has_owner && d->owner_id == owner_id))
				(void) catz_model_delta_add(delta, &d->doc);
		}
	}
	return delta;
}

CatzModelDoc
catz_doc_copy(const CatzModelDoc *doc)
{
	CatzModelDoc d = *doc;
	uint64	   *f = palloc(sizeof(uint64) * Max(doc->nfeatures, 1));

	memcpy(f, doc->features, sizeof(uint64) * doc->nfeatures);
	d.features = f;
	return d;
}

void
catz_xact_add_doc(bool has_owner, int64 owner_id, bool teaches_global,
				  const CatzModelDoc *doc)
{
	CatzXactOverlay *xo = catz_xact_overlay(true);
	MemoryContext old = MemoryContextSwitchTo(xo->cxt);
	CatzXactDoc *d = palloc(sizeof(CatzXactDoc));

	d->has_owner = has_owner;
	d->owner_id = owner_id;
	d->teaches_global = teaches_global;
	d->doc = catz_doc_copy(doc);

	if (teaches_global)
		xo->global_delta = delta_add_growing(xo, xo->global_delta, &d->doc, true, 0);
	if (has_owner)
	{
		CatzOwnerDelta *od = NULL;
		ListCell   *lc;

		foreach(lc, xo->owner_deltas)
		{
			if (((CatzOwnerDelta *) lfirst(lc))->owner_id == owner_id)
				od = lfirst(lc);
		}
		if (od == NULL)
		{
			od = palloc0(sizeof(CatzOwnerDelta));
			od->owner_id = owner_id;
			xo->owner_deltas = lappend(xo->owner_deltas, od);
		}
		od->delta = delta_add_growing(xo, od->delta, &d->doc, false, owner_id);
	}
	xo->docs = lappend(xo->docs, d);
	MemoryContextSwitchTo(old);
}

void
catz_xact_apply(bool has_owner, int64 owner_id, const CatzBlobChange *c)
{
	switch (c->op)
	{
		case CATZ_CHANGE_PUT:
			catz_xact_put_pattern(c->pattern);
			break;
		case CATZ_CHANGE_DELETE:
			catz_xact_delete_pattern(c->pattern_id);
			break;
		case CATZ_CHANGE_DOC:
			catz_xact_add_doc(has_owner, owner_id, !has_owner, c->doc);
			break;
	}
}

CatzModelDelta *
catz_xact_owner_delta(int64 owner_id)
{
	ListCell   *lc;

	if (xact_overlay == NULL)
		return NULL;
	foreach(lc, xact_overlay->owner_deltas)
	{
		CatzOwnerDelta *od = lfirst(lc);

		if (od->owner_id == owner_id)
			return od->delta;
	}
	return NULL;
}

void
catz_xact_reset(void)
{
	if (xact_overlay)
	{
		MemoryContextDelete(xact_overlay->cxt);
		xact_overlay = NULL;
	}
}

/* ----------------------------------------------------------------
 * Settings of the backend-local store
 * ----------------------------------------------------------------
 */
int			catz_backend_cache_kb = 65536;
int			catz_test_build_lock = 0;

/*
 * Distinct owners who must agree before an owner's choice applies to
 * everyone: promotion of learned patterns (learn_correction) and the
 * crowd's part of everyone's model (built here) both follow it
 */
int			catz_promote_min_users = 3;

void
catz_local_store_init(void)
{
	DefineCustomIntVariable("categorize.promote_min_users",
							"Distinct users who must teach the same merchant and category before it applies to everyone.",
							"A superuser setting: one user must not be able to teach everyone.",
							&catz_promote_min_users,
							3,
							1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.backend_cache_size",
							"Memory for owners' compiled patterns kept by one session.",
							"Least recently used owners are dropped beyond it.",
							&catz_backend_cache_kb,
							65536,
							1024, INT_MAX / 1024,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	/*
	 * For the crash and cancel tests: holds every build at a known point
	 * (see catz_test_pause_build).  Not for users: hidden from
	 * SHOW ALL and the sample file.
	 */
	DefineCustomIntVariable("categorize.test_build_lock",
							"Testing aid: an advisory lock key every compilation of patterns waits for before it is published; 0 is off.",
							"A session holding pg_advisory_lock(key) holds every build of its database once compiled, pg_advisory_lock(key, n) after a stale publication's n-th catch-up, so a test can act on a build under way.",
							&catz_test_build_lock,
							0,
							0, INT_MAX,
							PGC_SUSET,
							GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
}
