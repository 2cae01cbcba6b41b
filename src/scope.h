/*-------------------------------------------------------------------------
 *
 * scope.h
 *	  The compiled state of one scope (everyone's patterns, or one owner's)
 *	  and of the current transaction's own writes.
 *
 * A scope is a base compiled at a snapshot (a CatzSet of its active
 * patterns and a CatzModel of its corrections) plus what committed after
 * that snapshot: a CatzOverlay of changed patterns and a CatzModelDelta of
 * new corrections.  When the overlay or the delta fills up, the scope is
 * reloaded at a newer snapshot (a fold).
 *
 * The transaction's own uncommitted writes never enter a scope: triggers
 * push them into the transaction overlay (CatzXactOverlay), which is
 * consulted on top of the scopes and thrown away at transaction end; after
 * commit, the next refresh reads them like anyone else's changes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATEGORIZE_SCOPE_H
#define CATEGORIZE_SCOPE_H

#include "categorize.h"

#include "lib/ilist.h"
#include "utils/timestamp.h"

/*
 * A scope's overlay and delta start small and grow fourfold up to these
 * capacities; beyond them the scope is reloaded (a fold).
 */
#define CATZ_OVERLAY_PATTERNS	1024
#define CATZ_OVERLAY_MIN		16
#define CATZ_POOL_PER_PATTERN	64	/* value bytes per pattern of capacity */
#define CATZ_DELTA_DOCS			512
#define CATZ_DELTA_MIN			16
#define CATZ_FEATURES_PER_DOC	48	/* feature occurrences per document of capacity */

/* The compiled state of everyone's patterns or of one owner's */
typedef struct CatzScope
{
	bool		global;			/* everyone's patterns (owner_id IS NULL) */
	int64		owner_id;		/* the owner, when !global */
	bool		temporary;		/* loaded by a transaction that wrote: drop
								 * at its end */
	bool		needs_reload;	/* overlay or delta full: reload at next use */
	MemoryContext cxt;			/* holds everything below */
	CatzSnapshot base_snap;		/* snapshot the base was loaded at */
	CatzSet    *set;			/* active patterns at base_snap */
	CatzModel  *model;			/* corrections at base_snap, or NULL */
	CatzOverlay *overlay;		/* patterns changed after base_snap, or NULL
								 * until the first change */
	uint32		overlay_capacity;	/* patterns */
	Size		overlay_size;	/* bytes */
	CatzModelDelta *delta;		/* corrections committed after base_snap, or
								 * NULL until the first one */
	uint32		delta_capacity; /* documents */
	Size		delta_size;		/* bytes */
	Size		bytes;			/* memory held, in bytes */
	dlist_node	lru;			/* owner scopes: position in the LRU list */
	TimestampTz loaded_at;
	double		build_us;		/* time the build took, in microseconds */
} CatzScope;

/* The current transaction's own writes */
typedef struct CatzXactOverlay
{
	MemoryContext cxt;			/* reset at transaction end */
	CatzOverlay *overlay;		/* patterns written by this transaction */
	Size		overlay_size;
	uint32		max_patterns;	/* capacity of overlay */
	List	   *docs;			/* CatzXactDoc: corrections written */
	CatzModelDelta *global_delta;	/* docs that teach everyone */
	List	   *owner_deltas;	/* CatzOwnerDelta: docs of each owner */
} CatzXactOverlay;

/* A correction written by this transaction */
typedef struct CatzXactDoc
{
	bool		has_owner;
	int64		owner_id;
	bool		teaches_global; /* feeds the global model */
	CatzModelDoc doc;
} CatzXactDoc;

/* One owner's docs in the transaction overlay */
typedef struct CatzOwnerDelta
{
	int64		owner_id;
	CatzModelDelta *delta;
} CatzOwnerDelta;

/* scope.c: build a scope (uncached), and the backend-local cache of scopes */
extern CatzScope *catz_scope_build(bool global, int64 owner_id);
extern void catz_scope_free(CatzScope *scope);
extern CatzScope *catz_scope_global(void);
extern CatzScope *catz_scope_global_if_loaded(void);
extern CatzScope *catz_scope_owner(int64 owner_id, bool load);
extern void catz_scope_drop_all(void);
extern void catz_scope_drop_temporary(void);
extern void catz_scope_foreach_loaded(void (*fn) (CatzScope *scope, void *arg), void *arg);
extern void catz_scope_put_pattern(CatzScope *scope, const CatzPatternInput *p);
extern void catz_scope_delete_pattern(CatzScope *scope, int64 pattern_id);
extern void catz_scope_add_doc(CatzScope *scope, const CatzModelDoc *doc);

/* scope.c: the transaction overlay */
extern CatzXactOverlay *catz_xact_overlay(bool create);
extern void catz_xact_put_pattern(const CatzPatternInput *p);
extern void catz_xact_delete_pattern(int64 pattern_id);
extern void catz_xact_add_doc(bool has_owner, int64 owner_id, bool teaches_global,
							  const CatzModelDoc *doc);
extern void catz_xact_reset(void);
extern CatzModelDelta *catz_xact_owner_delta(int64 owner_id);

/* refresh.c: bring the scopes up to date; relids of the tables */
extern void catz_refresh(void);
extern const CatzRelids *catz_relids(void);
extern Snapshot catz_fresh_snapshot(void);

/* scope.c: rows of the tables as core input */
/*
 * Columns of pattern rows, shared by the loads here and the refresh:
 * 1 id, 2 owner_id, 3 category_id, 4 kind, 5 value, 6 value_norm,
 * 7 amount_min, 8 amount_max, 9 priority, 10 active, 11 learned, 12 hits,
 * 13 misses, 14 change_xid, 15 confirmed
 */
#define PATTERN_COLUMNS \
	"id, owner_id, category_id, kind, value, value_norm, " \
	"amount_min::pg_catalog.float8, amount_max::pg_catalog.float8, priority, active, " \
	"source = 'learned', hits, misses, change_xid, confirmed"

#define CATZ_PATTERN_XID_COLUMN 14
extern void catz_pattern_from_row(HeapTuple tup, TupleDesc desc, CatzPatternInput *p,
								  bool *active);
extern uint64 catz_row_xid(HeapTuple tup, TupleDesc desc, int col);
extern void catz_pattern_from_tuple(HeapTuple tup, TupleDesc desc, CatzPatternInput *p,
									bool *active);

/* scope.c: features of a correction's texts */
extern uint32 catz_doc_features(const char *merchant, int mlen,
								const char *description, int dlen,
								uint64 *features, uint32 cap);


#endif							/* CATEGORIZE_SCOPE_H */
