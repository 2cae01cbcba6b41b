/*-------------------------------------------------------------------------
 *
 * shared.h
 *	  The shared-memory engine: one compiled copy of each scope for every
 *	  backend of the server, in a DSA area carved out of the main shared
 *	  memory segment.
 *
 * Layout (see shmem.c for the locking protocol):
 *
 *	main segment "categorize"
 *		CatzShared			locks, per-database slots, worker status
 *		DSA area			categorize.shared_cache_size bytes, in place
 *	hash "categorize owner scopes"	(dboid, owner_id) -> shared scope
 *	hash "categorize decisions"		(dboid, pattern_id) -> decision counts
 *
 *	DSA: CatzSharedScope per scope, and its blobs (set, model, overlay,
 *	delta, base snapshot), all position-independent.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATEGORIZE_SHARED_H
#define CATEGORIZE_SHARED_H

#include "categorize.h"

#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/dsa.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "scope.h"

/* Databases that can use the shared engine at once */
#define CATZ_MAX_DATABASES	16

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
								 * growth): SHARED to read, EXCLUSIVE to change */
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
} CatzSharedScope;

/* Per-database state */
typedef struct CatzSharedDb
{
	Oid			dboid;			/* InvalidOid: free slot */
	Oid			patterns_relid; /* the extension instance the scopes belong to */
	bool		disabled;		/* the global scope does not fit: local mode */
	dsa_pointer global;			/* current CatzSharedScope, or Invalid */
	dsa_pointer fetch_xip;		/* refresh snapshot F (uint64[]) */
	uint64		fetch_xmin;
	uint64		fetch_xmax;
	int			fetch_nxip;
	bool		fetch_valid;
	pg_atomic_uint64 refresh_started;	/* refreshes begun */
	pg_atomic_uint64 refresh_done;	/* the last refresh that completed */
	pg_atomic_uint32 refresh_running;	/* pid of the refreshing backend, or 0 */
	ConditionVariable refresh_cv;	/* signalled when a refresh ends */
	pg_atomic_uint64 generation;	/* global scope generations published */
	pg_atomic_uint64 rebuilds;	/* scopes (re)built */
	pg_atomic_uint64 last_rebuild_us;	/* time of the last global build */
	TimestampTz disabled_at;
	char		disabled_reason[128];
} CatzSharedDb;

/* Fixed shared state */
typedef struct CatzShared
{
	LWLock	   *lock;			/* db slots, scope publication, owner index */
	LWLock	   *refresh_lock;	/* one refresh (delta application) at a time */
	LWLock	   *decision_lock;	/* the decision hash */
	int			dsa_tranche;
	Size		dsa_size;
	CatzSharedDb dbs[CATZ_MAX_DATABASES];
	pg_atomic_uint64 cache_bytes;	/* DSA bytes held by scopes */
	pg_atomic_uint64 cache_hits;	/* owner scope found in the cache */
	pg_atomic_uint64 cache_misses;	/* owner scope loaded */
	pg_atomic_uint64 evictions;
	pg_atomic_uint64 alloc_failures;	/* DSA allocations that failed */
	pg_atomic_uint64 owner_scopes;	/* published owner scopes */
	pg_atomic_uint64 decisions_dropped; /* decision hash full */
	pg_atomic_uint32 worker_pid;
	Oid			worker_dboid;	/* the database the worker serves */
	pg_atomic_uint64 worker_heartbeat;	/* TimestampTz */
	pg_atomic_uint64 worker_folds;
	Latch	   *worker_latch;
	char		dsa_space[FLEXIBLE_ARRAY_MEMBER];	/* the DSA area, in place */
} CatzShared;

/*
 * Key of the owner scope index.  Hash keys are hashed as bytes, so the key
 * has no padding: every byte is a field that is always set.
 */
typedef struct CatzOwnerKey
{
	int64		owner_id;
	Oid			dboid;
	uint32		zero;			/* always 0 */
} CatzOwnerKey;

typedef struct CatzOwnerEntry
{
	CatzOwnerKey key;
	dsa_pointer scope;
} CatzOwnerEntry;

/* Key and entry of the decision hash (no padding, like CatzOwnerKey) */
typedef struct CatzDecisionKey
{
	int64		pattern_id;
	Oid			dboid;
	uint32		zero;			/* always 0 */
} CatzDecisionKey;

typedef struct CatzDecisionEntry
{
	CatzDecisionKey key;
	int64		decisions;		/* since the server started */
	int64		confirmed;		/* pattern's confirmed value when ... */
	int64		since;			/* ... these decisions started counting */
} CatzDecisionEntry;

/* GUCs of the shared engine (categorize.c) */
extern int	catz_shared_cache_kb;
extern int	catz_owner_cache_ttl_s;
extern int	catz_max_cached_owners;
extern int	catz_max_tracked_patterns;
extern int	catz_fold_threshold;
extern char *catz_worker_database;

/* shmem.c */
extern CatzShared *catz_shared;
extern void catz_shared_get_fetch_snap(CatzSharedDb *db, MemoryContext cxt, CatzSnapshot *out);
extern bool catz_shared_set_fetch_snap(CatzSharedDb *db, const CatzSnapshot *snap);
extern HTAB *catz_owner_index;
extern HTAB *catz_decisions;
extern dsa_area *catz_area(void);
extern CatzSharedDb *catz_shared_db(bool create);
extern void catz_shared_db_bind(CatzSharedDb *db, Oid patterns_relid);
extern bool catz_shared_enabled(void);

/* shared_scope.c: readers */
extern CatzSharedScope *catz_shared_pin_global(CatzSharedDb *db);
extern CatzSharedScope *catz_shared_pin_owner(CatzSharedDb *db, int64 owner_id,
											  bool *hit);
extern void catz_shared_unpin(CatzSharedScope *scope);
extern void catz_shared_unpin_all(void);

/* shared_scope.c: building and publishing */
extern CatzSharedScope *catz_shared_publish(CatzSharedDb *db, CatzScope *local,
											uint64 refresh_seen, bool *stale);
extern void catz_shared_retire_all(CatzSharedDb *db);
extern void catz_shared_evict_expired(void);
extern bool catz_shared_make_room(Size need);

/* shared_scope.c: applying changes under the scope lock */
extern CatzSharedScope *catz_shared_find(CatzSharedDb *db, bool global, int64 owner_id);
extern void catz_shared_put_pattern(CatzSharedScope *scope, const CatzPatternInput *p);
extern void catz_shared_delete_pattern(CatzSharedScope *scope, int64 pattern_id);
extern void catz_shared_add_doc(CatzSharedScope *scope, const CatzModelDoc *doc);
extern bool catz_shared_scope_sees(CatzSharedScope *scope, uint64 xid);

/* shared_scope.c: views of a pinned scope's blobs */
extern const CatzSet *catz_shared_set(CatzSharedScope *scope);
extern const CatzModel *catz_shared_model(CatzSharedScope *scope);
extern const CatzOverlay *catz_shared_overlay(CatzSharedScope *scope);
extern const CatzModelDelta *catz_shared_delta(CatzSharedScope *scope);

/* shmem.c: decision counts shared by every backend */
extern bool catz_shared_decisions_get(Oid dboid, int64 pattern_id, CatzDecisionEntry *out);
extern void catz_shared_decisions_get_many(Oid dboid, int n, const int64 *pattern_ids,
										   CatzDecisionEntry *out);
extern void catz_shared_decisions_add(Oid dboid, int n, const int64 *pattern_ids,
									  const int64 *confirmed, const int64 *counts);

/* decisions_file.c: the decision counts across restarts */
extern int	catz_decisions_save_interval_s;
extern void catz_decisions_save(void);
extern void catz_decisions_load(void);
extern void catz_decisions_file_startup(bool found);

/* refresh.c: shared refreshes and catching up a scope before publishing it */
extern uint64 catz_shared_quiet_point(CatzSharedDb *db);
extern void catz_catch_up(CatzScope *scope, CatzSharedDb *db, uint64 *seen);

/* engine.c: rebuild a scope (a fold) and publish it */
extern void catz_engine_fold(CatzSharedDb *db, bool global, int64 owner_id);

/* worker.c */
extern void catz_register_worker(void);
extern void catz_wake_worker(void);
PGDLLEXPORT void catz_worker_main(Datum arg);

#endif							/* CATEGORIZE_SHARED_H */
