/*-------------------------------------------------------------------------
 *
 * store.h
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
#ifndef CATZ_STORE_H
#define CATZ_STORE_H

#include "base/base.h"
#include "shmem/shmem.h"

#include "lib/ilist.h"
#include "utils/timestamp.h"

/*
 * A scope's overlay and delta start small and grow twofold up to these
 * capacities; beyond them the scope is reloaded (a fold).  They start at
 * room for about what one correction writes (a learned pattern, a
 * document of 2.8 KB): most owners of a consumer application correct a
 * few expenses, and a delta of 16 documents (45 KB, zeroed in shared
 * memory at the first one's commit) cost a new owner's correction more
 * than its learned pattern's insert.  Twofold, not fourfold: 1000 owners
 * with about 40 corrections each since their scopes were loaded held
 * 338 KB of the shared cache each growing fourfold, 194 KB twofold.
 */
#define CATZ_OVERLAY_PATTERNS	1024
#define CATZ_OVERLAY_MIN		4
#define CATZ_POOL_PER_PATTERN	64	/* value bytes per pattern of capacity */
#define CATZ_DELTA_DOCS			512
#define CATZ_DELTA_MIN			2
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
	CatzSnapshot caught_up;		/* F at the last catch-up before it was
								 * published (refresh.c), or invalid */
	CatzSet    *set;			/* active patterns at base_snap */
	CatzModel  *model;			/* corrections at base_snap, or NULL */
	CatzOverlay *overlay;		/* patterns changed after base_snap, or NULL
								 * until the first change */
	uint32		overlay_capacity;	/* patterns */
	CatzModelDelta *delta;		/* corrections committed after base_snap, or
								 * NULL until the first one */
	uint32		delta_capacity; /* documents */
	Size		bytes;			/* memory held, in bytes */
	dlist_node	lru;			/* owner scopes: position in the LRU list */
	TimestampTz loaded_at;
	double		build_us;		/* time the build took, in microseconds */
	uint32		crowd_refold;	/* global: owners' corrections after which
								 * it is rebuilt for the crowd's part of its
								 * model (see catz_crowd_refold) */
	uint32		crowd_pending;	/* global, backend-local: owners'
								 * corrections committed since */
} CatzScope;

/*
 * Everyone's model learns from the owners' most recent corrections
 * (crowd.c gates them), read when everyone's scope is built.  The scope
 * is rebuilt (folded) for them once more owners' corrections have
 * committed than a quarter of those it read, and than an eighth of its
 * patterns, and at least CATZ_CROWD_MIN_REFOLD: a schedule whose rebuilds
 * cost a bounded share of the corrections' own work, at any count of
 * corrections and patterns.
 */
#define CATZ_CROWD_MAX_DOCS		200000
#define CATZ_CROWD_MIN_REFOLD	64
#define catz_crowd_refold(docs, patterns) \
	Max((uint32) CATZ_CROWD_MIN_REFOLD, Max((uint32) (docs) / 4, (uint32) (patterns) / 8))

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

/* ----------------------------------------------------------------
 * Growable blobs of both stores (blob.c)
 * ----------------------------------------------------------------
 */
typedef enum CatzBlobKind
{
	CATZ_BLOB_OVERLAY,			/* CatzOverlay: changed patterns */
	CATZ_BLOB_DELTA				/* CatzModelDelta: new corrections */
} CatzBlobKind;

/* One change to a scope */
typedef struct CatzBlobChange
{
	enum
	{
		CATZ_CHANGE_PUT,		/* pattern added or changed */
		CATZ_CHANGE_DELETE,		/* pattern_id deleted */
		CATZ_CHANGE_DOC			/* a correction */
	}			op;
	const CatzPatternInput *pattern;
	int64		pattern_id;
	const CatzModelDoc *doc;
} CatzBlobChange;

/* Bytes of a blob of this kind with room for capacity patterns/documents */
extern Size catz_blob_size(CatzBlobKind kind, uint32 capacity);

/* Bytes a store's blob holds: 0 when there is none (blob NULL) */
extern Size catz_blob_bytes(CatzBlobKind kind, const void *blob, uint32 capacity);

/* Where a store allocates a blob: zeroed memory, NULL when there is no room */
typedef struct CatzBlobAlloc
{
	void	   *(*alloc) (void *arg, Size size);
	void		(*discard) (void *arg, void *mem);	/* give back what alloc gave */
	void	   *arg;
} CatzBlobAlloc;

/*
 * The next blob of a kind after cur (NULL: the first one), from a: empty,
 * or holding a copy of cur, with room for *new_capacity (up to largest) in
 * *new_size bytes.  NULL when it cannot grow; cur is never changed.
 */
extern void *catz_blob_grow(CatzBlobKind kind, const void *cur, uint32 capacity, uint32 largest,
							const CatzBlobAlloc *a, uint32 *new_capacity, Size *new_size);

/*
 * A store's blob of a kind: with bigger false, the current one (the first
 * one made now when there is none); with bigger true, a copy grown to the
 * next capacity in its place.  NULL when that cannot be had.
 */
typedef void *(*CatzBlobGrowFn) (void *arg, CatzBlobKind kind, bool bigger);

/*
 * Apply one change, growing the blob until it fits; false when it cannot
 * grow any more (the scope must be rebuilt).  *status: the core's answer.
 */
extern bool catz_blob_apply(const CatzBlobChange *c, CatzBlobGrowFn grow, void *arg,
							CatzStatus *status);

/*
 * index_probe.c: whether the owner may have rows in patterns or corrections
 * that snap sees (false: certainly none); and whether a category exists
 * and, when it does, its owner (*has_owner false: shared), as a statement
 * run now would see it
 */
extern bool catz_owner_may_have_rows(int64 owner_id, Snapshot snap);
extern bool catz_category_owner(int64 category_id, bool *has_owner, int64 *owner);

/*
 * Every row of table relid that snap sees with change_xid = xid, read
 * through its index index_name and passed to fn; false (nothing passed)
 * when that index is missing or not a plain btree on change_xid: the
 * caller reads by SQL
 */
typedef void (*CatzRowFn) (void *arg, HeapTuple tup, TupleDesc desc);
extern bool catz_rows_written_by(Oid relid, const char *index_name, uint64 xid, Snapshot snap,
								 CatzRowFn fn, void *arg);

/* scope.c: build a scope (uncached), and the backend-local cache of scopes */
extern CatzScope *catz_scope_build(bool global, int64 owner_id);
extern void catz_scope_free(CatzScope *scope);
extern CatzScope *catz_scope_global(void);
extern CatzScope *catz_scope_global_if_loaded(void);
extern CatzScope *catz_scope_owner(int64 owner_id, bool load);
extern void catz_scope_drop_all(void);
extern bool catz_scope_any_cached(void);	/* any backend-local scope held */
extern void catz_scope_drop_temporary(void);

/* Apply a committed change to a loaded scope; when full, it reloads at next use */
extern void catz_scope_apply(CatzScope *scope, const CatzBlobChange *c);
/* An owner's correction committed: everyone's model may need the crowd's part again */
extern void catz_scope_note_crowd(CatzScope *global);

/* scope.c: a copy of doc whose features are in the current memory context */
extern CatzModelDoc catz_doc_copy(const CatzModelDoc *doc);

/* scope.c: the transaction overlay */
extern CatzXactOverlay *catz_xact_overlay(bool create);
extern void catz_xact_put_pattern(const CatzPatternInput *p);
extern void catz_xact_delete_pattern(int64 pattern_id);
extern void catz_xact_add_doc(bool has_owner, int64 owner_id, bool teaches_global,
							  const CatzModelDoc *doc);
extern void catz_xact_reset(void);

/* A change of this transaction's own rows, as the refresh reads them back */
extern void catz_xact_apply(bool has_owner, int64 owner_id, const CatzBlobChange *c);
extern CatzModelDelta *catz_xact_owner_delta(int64 owner_id);

/* ----------------------------------------------------------------
 * Shared scopes (shared_scope.c)
 * ----------------------------------------------------------------
 */
/* Largest overlay and delta of a shared scope before it must be folded */
#define CATZ_SHARED_OVERLAY_MAX	(64 * 1024)
#define CATZ_SHARED_DELTA_MAX	(16 * 1024)

/* One compiled scope in shared memory */
typedef struct CatzSharedScope
{
	pg_atomic_uint32 refcount;	/* pins by readers, +1 while published */
	bool		retired;		/* unpublished: freed when refcount drops to 0 */
	bool		global;
	Oid			dboid;
	int64		owner_id;
	LWLock		lock;			/* protects overlay and delta (and their
								 * growth): SHARED to read, EXCLUSIVE to change;
								 * not taken to read a scope with neither */
	dsa_pointer self;			/* this struct */
	dsa_pointer set;			/* CatzSet */
	dsa_pointer model;			/* CatzModel, or InvalidDsaPointer */
	dsa_pointer overlay;		/* CatzOverlay */
	uint32		overlay_capacity;	/* patterns */
	dsa_pointer delta;			/* CatzModelDelta */
	uint32		delta_capacity; /* documents */
	dsa_pointer snap_xip;		/* uint64[snap_nxip] */
	uint64		snap_xmin;		/* base snapshot */
	uint64		snap_xmax;
	int			snap_nxip;
	bool		snap_valid;
	Size		bytes;			/* DSA bytes held by this scope */
	TimestampTz loaded_at;
	pg_atomic_uint64 last_used; /* TimestampTz of the last pin */
	bool		fold_requested; /* overlay/delta above the fold threshold */
	pg_atomic_uint32 fold_claimed;	/* pid of the session folding it (no worker) */
	uint32		fold_at;		/* overlay changes that ask for a fold */
	uint32		delta_fold_at;	/* delta corrections that ask for a fold */
	uint32		crowd_refold;	/* global: as in CatzScope */
	pg_atomic_uint32 crowd_pending; /* global: as in CatzScope */
} CatzSharedScope;

/* readers */
extern CatzSharedScope *catz_shared_pin_global(CatzSharedDb *db);
extern CatzSharedScope *catz_shared_pin_owner(CatzSharedDb *db, int64 owner_id,
											  bool *hit);
extern void catz_shared_unpin(CatzSharedScope *scope);
extern void catz_shared_unpin_all(void);

/* building and publishing */
extern CatzSharedScope *catz_shared_draft(CatzSharedDb *db, const CatzScope *local);
extern bool catz_shared_redraft(CatzSharedScope *draft, const CatzScope *local);
extern void catz_shared_discard(CatzSharedScope *draft);
extern CatzSharedScope *catz_shared_publish(CatzSharedDb *db, CatzSharedScope *draft,
											const CatzScope *local, uint64 refresh_seen,
											bool *stale);
extern void catz_shared_retire_all(CatzSharedDb *db);
extern void catz_shared_evict_expired(void);
extern bool catz_shared_make_room(Size need);

/* applying changes under the scope lock */
extern CatzSharedScope *catz_shared_find(CatzSharedDb *db, bool global, int64 owner_id);
/*
 * Apply a committed change under the scope's lock; a scope that cannot take
 * it any more is retired, and its readers build a new one
 */
extern void catz_shared_apply(CatzSharedScope *scope, const CatzBlobChange *c);
/* As catz_scope_note_crowd, for everyone's shared scope: asks for a fold */
extern void catz_shared_note_crowd(CatzSharedScope *global);
extern bool catz_shared_scope_sees(CatzSharedScope *scope, uint64 xid);

/*
 * Begin reading a pinned scope's overlay and delta: locked SHARED (until
 * catz_store_release_held) when it has either, as writers change them in
 * place; a scope with neither (everyone's, after a fold, until the next
 * correction) is read without the lock, both NULL: a change committed
 * meanwhile creates them, and this read, begun before it, does not look
 */
extern void catz_shared_read_begin(CatzSharedScope *scope, const CatzOverlay **overlay,
								   const CatzModelDelta **delta);

/* Changes in a pinned scope's overlay and delta (patterns and documents) */
extern uint64 catz_shared_pending(CatzSharedScope *scope);

/* views of a pinned scope's blobs */
extern const CatzSet *catz_shared_set(CatzSharedScope *scope);
extern const CatzModel *catz_shared_model(CatzSharedScope *scope);

/* Bind the database's shared state to the installed extension (its patterns table) */
extern void catz_shared_db_bind(CatzSharedDb *db, Oid patterns_relid);

/*
 * Pins and scope locks held by this backend's current match
 * (catz_store_hold), dropped together by catz_store_release_held: when
 * the match is done, before running SQL, and on every error path
 */
extern void catz_store_hold(CatzSharedScope *scope);
extern void catz_store_release_held(void);

/*
 * Everyone's published scope, pinned for the rest of the transaction (the
 * same one at every call until it is retired); NULL when none is
 * published.  It may be held (catz_store_hold) like any other: releasing
 * the held scopes leaves it pinned; unpinning it (catz_shared_unpin) lets
 * it go.
 */
extern CatzSharedScope *catz_shared_kept_global(CatzSharedDb *db);

/*
 * An owner's cached scope, pinned like catz_shared_pin_owner() does, and
 * kept pinned for the rest of the transaction while the next calls are for
 * the same owner (a statement over one owner's rows, a trigger's bulk
 * insert): those calls check its retired flag instead of looking it up
 * (each still counts for the owner's heat).  Another owner's call lets it
 * go; so does unpinning it, as for everyone's.
 */
extern CatzSharedScope *catz_shared_kept_owner(CatzSharedDb *db, int64 owner_id,
											   bool *hit);

/* Let the kept scopes go (at the end of the transaction) */
extern void catz_shared_release_kept(void);

/* ----------------------------------------------------------------
 * Settings of the store: local (scope.c) and shared (shared_scope.c)
 * ----------------------------------------------------------------
 */
extern int	catz_backend_cache_kb;
extern int	catz_test_build_lock;
extern int	catz_promote_min_users;	/* categorize.promote_min_users */
extern void catz_local_store_init(void);

/* Testing aid of categorize.test_build_lock: wait at a known point of a build */
extern void catz_test_pause_build(uint32 point);

extern int	catz_owner_cache_ttl_s;
extern int	catz_fold_threshold;
extern void catz_shared_store_init(void);

#endif							/* CATZ_STORE_H */
