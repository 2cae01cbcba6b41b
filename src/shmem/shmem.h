/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  The shared-memory engine: one compiled copy of each scope for every
 *	  backend of the server, in a DSA area carved out of the main shared
 *	  memory segment.
 *
 * Layout (see segment.c for the locking protocol):
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
#ifndef CATZ_SHMEM_H
#define CATZ_SHMEM_H

#include "base/base.h"

#include "access/xlogdefs.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/dsa.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"


/* Databases that can use the shared engine at once */
#define CATZ_MAX_DATABASES	16

/* Per-database state */
/*
 * Commits applied by their writers that F can record before a refresh must
 * run (a refresh reads what changed since F, and starts F over)
 */
#define CATZ_FETCH_SEEN_MAX 256

/* Patterns whose rows corrections found busy lately, per database (a cache) */
#define CATZ_HOT_PATTERNS 256

/* Patterns of the latest writer-applied commits remembered (refresh.c) */
#define CATZ_APPLIED_PATTERNS 256

/*
 * Counters of changes to owners' shared state, by hash of the owner id.
 * Each owner's change bumps one, so a session's note that some other owner
 * is empty lapses once per CATZ_OWNER_CHANGE_SLOTS owners' changes on
 * average: with 4096, a load correcting 4000 new owners a second made every
 * reading session look up each of its owners again every second (8% more
 * server CPU per transaction of the mixed load).  256 kB per database.
 */
#define CATZ_OWNER_CHANGE_SLOTS 65536

/*
 * Owners found to have nothing of their own, shared by a database's
 * sessions so that each one need not look every such owner up again
 * (with 32 sessions of 1000 such owners, those look-ups were a tenth of
 * categorize()'s time).  One slot per hash of the owner id, direct-mapped,
 * 256 kB per database; see refresh/empty_owners.c.
 */
#define CATZ_EMPTY_OWNER_SLOTS 32768

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
	int			fetch_nseen;	/* F's seen xids beyond its xmax ... */
	uint64		fetch_seen[CATZ_FETCH_SEEN_MAX];	/* ... commits applied by their writer */
	pg_atomic_uint64 unapplied;	/* commits whose rows only a refresh brings in */
	pg_atomic_uint64 unapplied_done;	/* unapplied when the last refresh began */
	pg_atomic_uint64 writer_applied;	/* commits applied by their writer */
	/*
	 * Under the refresh slot: the end of the latest commit record a writer
	 * applied, and a ring of the patterns the latest applied commits put or
	 * deleted with the ends of their commit records (applied_floor: the
	 * latest end of an entry overwritten).  See apply_own_commit().
	 */
	XLogRecPtr	last_applied_commit;
	XLogRecPtr	applied_floor;
	uint32		applied_next;
	XLogRecPtr	applied_end[CATZ_APPLIED_PATTERNS];
	int64		applied_pattern[CATZ_APPLIED_PATTERNS];
	pg_atomic_uint64 refreshes; /* refreshes that read changes from the tables */
	pg_atomic_uint64 feedback_queued;	/* commits that queued pattern feedback
										 * (1 in a new slot: rows may be left) */
	pg_atomic_uint64 feedback_folded;	/* feedback_queued when the latest
										 * committed fold of a backend began */
	pg_atomic_uint64 feedback_fold_at;	/* TimestampTz: a backend's latest fold */
	pg_atomic_uint64 hot_pattern[CATZ_HOT_PATTERNS];	/* a pattern counted on or found busy, */
	pg_atomic_uint64 hot_at[CATZ_HOT_PATTERNS]; /* and when (TimestampTz) */
	bool		replayed;		/* state built or refreshed in recovery, and no
								 * refresh since on a primary */
	bool		twophase;		/* a prepared transaction of ours may commit
								 * from a backend that cannot count it */
	pg_atomic_uint64 refresh_started;	/* refreshes begun */
	pg_atomic_uint64 refresh_done;	/* the last refresh that completed */
	pg_atomic_uint32 refresh_running;	/* pid of the refreshing backend, or 0 */
	ConditionVariable refresh_cv;	/* signalled when a refresh ends */
	pg_atomic_uint64 generation;	/* global scope generations published */
	pg_atomic_uint64 rebuilds;	/* scopes (re)built */
	pg_atomic_uint64 last_rebuild_us;	/* time of the last global build */
	pg_atomic_uint64 applied_rows;	/* rows written by logical replication apply */
	pg_atomic_uint64 apply_commit_ts;	/* TimestampTz: publisher's commit of the last */
	pg_atomic_uint64 apply_at;	/* TimestampTz: when it was applied here */
	TimestampTz disabled_at;
	char		disabled_reason[128];

	/*
	 * Per hash slot of owner ids, how many times the shared state of an
	 * owner of the slot changed: bumped after a change of an owner's rows
	 * was applied to the shared scopes (or found no scope of the owner to
	 * apply to); owners_retired, when the scopes are retired (every owner's
	 * count moves).  An owner's count is the sum of the two.  A backend
	 * that found an owner's scope empty keeps skipping it while that count
	 * stays what it read before looking (refresh/empty_owners.c).  Never
	 * reset, so that a count once read is never seen again.
	 */
	pg_atomic_uint32 owners_retired;
	pg_atomic_uint32 owner_changes[CATZ_OWNER_CHANGE_SLOTS];

	/*
	 * Per hash slot of owner ids, a fingerprint of the owner a session last
	 * found empty there, with the database, the extension instance, the
	 * count above it read before looking and the owner_cache_ttl period;
	 * 0 when none.  One atomic word: a reader never sees half of two
	 * writes.  Cleared when the slot is given to a database.
	 */
	pg_atomic_uint64 empty_owner[CATZ_EMPTY_OWNER_SLOTS];
} CatzSharedDb;

/* A hash of an owner id, for the tables kept by owner (high bits: the best) */
static inline uint64
catz_owner_hash(int64 owner_id)
{
	return (uint64) owner_id * UINT64CONST(0x9E3779B97F4A7C15);
}

/* The owner_changes counter of an owner's slot */
static inline pg_atomic_uint32 *
catz_owner_changes_of(CatzSharedDb *db, int64 owner_id)
{
	return &db->owner_changes[(catz_owner_hash(owner_id) >> 40) & (CATZ_OWNER_CHANGE_SLOTS - 1)];
}

/* Fixed shared state */
typedef struct CatzShared
{
	LWLock	   *lock;			/* db slots, scope publication, owner index */
	LWLock	   *decision_lock;	/* the decision hash */
	int			dsa_tranche;
	Size		dsa_size;
	CatzSharedDb dbs[CATZ_MAX_DATABASES];
	pg_atomic_uint64 cache_bytes;	/* DSA bytes held by scopes */
	pg_atomic_uint64 evictions;
	pg_atomic_uint64 alloc_failures;	/* DSA allocations that failed */
	pg_atomic_uint64 owner_scopes;	/* published owner scopes */
	pg_atomic_uint64 decisions_dropped; /* decision hash full */
	pg_atomic_uint64 decisions_changes; /* adds to the decision hash, ever */
	pg_atomic_uint32 worker_pid;
	Oid			worker_dboid;	/* the database the worker serves */
	pg_atomic_uint64 worker_heartbeat;	/* TimestampTz */
	pg_atomic_uint64 worker_folds;
	pg_atomic_uint64 worker_woken_at;	/* TimestampTz of the latest
										 * catz_feedback_queued() wake-up */
	pg_atomic_uint32 worker_round_asked;	/* catz_wake_worker() since the
											 * worker's latest round */
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
	int64		unfolded;		/* decisions not yet in categorize.pattern_usage */
	TimestampTz last_at;		/* commit of the latest decision, or 0 */
} CatzDecisionEntry;

/* A pattern's decisions taken for categorize.pattern_usage (the worker's fold) */
typedef struct CatzUsageFold
{
	int64		pattern_id;
	int64		decided;		/* decisions to add */
	TimestampTz last_at;		/* the latest of them */
} CatzUsageFold;

/* Settings of the segment (segment.c) */
extern int	catz_shared_cache_kb;
extern int	catz_max_cached_owners;
extern int	catz_max_tracked_patterns;

/* segment.c */
extern CatzShared *catz_shared;
extern void catz_shared_get_fetch_snap(CatzSharedDb *db, MemoryContext cxt, CatzSnapshot *out);
extern bool catz_shared_set_fetch_snap(CatzSharedDb *db, const CatzSnapshot *snap);

/* How F stands towards a committed xid (caller holds catz_shared->lock) */
typedef enum CatzFetchState
{
	CATZ_FETCH_UNUSABLE,		/* no F, or no room to record the xid as seen */
	CATZ_FETCH_SEEN,			/* F saw it already */
	CATZ_FETCH_UNSEEN			/* F did not see it, and can record it */
} CatzFetchState;
extern CatzFetchState catz_shared_fetch_state(CatzSharedDb *db, uint64 xid);

/* Record in F that xid's rows are applied (caller holds catz_shared->lock EXCLUSIVE) */
extern bool catz_shared_fetch_mark_seen(CatzSharedDb *db, uint64 xid);
extern HTAB *catz_owner_index;
extern HTAB *catz_decisions;
extern dsa_area *catz_area(void);
extern CatzSharedDb *catz_shared_db(bool create);

/* Note a row applied by logical replication: committed at remote_commit on the publisher */
extern void catz_shared_note_apply(TimestampTz remote_commit);
extern void catz_shared_forget_decisions(Oid dboid);
extern bool catz_shared_enabled(void);

/* segment.c: decision counts shared by every backend */
extern void catz_shared_decisions_get_many(Oid dboid, int n, const int64 *pattern_ids,
										   CatzDecisionEntry *out);
extern void catz_shared_decisions_add(Oid dboid, int n, const int64 *pattern_ids,
									  const int64 *confirmed, const int64 *counts,
									  const TimestampTz *last_at);

/*
 * Decisions of a database not yet folded into categorize.pattern_usage: up
 * to max of them into out (returns how many); after the fold committed,
 * catz_shared_usage_folded() subtracts what it took
 */
extern int	catz_shared_usage_collect(Oid dboid, int max, CatzUsageFold *out);
extern void catz_shared_usage_folded(Oid dboid, int n, const CatzUsageFold *done);

/* decisions_file.c: the decision counts across restarts */
extern int	catz_decisions_save_interval_s;
extern void catz_decisions_file_init(void);
extern void catz_decisions_save(void);
extern void catz_decisions_load(void);

/* ----------------------------------------------------------------
 * Decisions (decisions.c): how many times each pattern was the answer
 * ----------------------------------------------------------------
 */
typedef struct CatzDecisions
{
	int64		decisions;		/* committed, since the server started */
	int64		confirmed;		/* the pattern's confirmed value when ... */
	int64		since;			/* ... these decisions started counting */
} CatzDecisions;

/*
 * The committed counts of n patterns (zeros for unknown ones).  Only the
 * trigger's categorizations count (catz_decisions_count); categorize() and
 * the other reads never change a count.
 */
extern void catz_decisions_get(int n, const int64 *pattern_ids, CatzDecisions *out);

/* Count one decision of this transaction (pending until commit) */
extern void catz_decisions_count(int64 pattern_id, int64 confirmed);

/* Commit or abort: make this transaction's decisions count, or forget them */
extern void catz_decisions_end_xact(bool commit);

/* ----------------------------------------------------------------
 * Statistics (stats.c)
 * ----------------------------------------------------------------
 */
extern void catz_stats_init(void);

/* Count one categorize() call: categorized or not, and its latency */
extern void catz_stats_count_call(bool categorized, double elapsed_us);

/* An owner scope asked of the shared cache: found, or loaded */
extern void catz_stats_count_owner_lookup(bool hit);
extern void catz_stats_owner_lookups(uint64 *hits, uint64 *misses);

/* Count an accepted correction (added to the counters at commit) */
extern void catz_stats_count_correction(void);
extern void catz_stats_count_corrections(uint64 n);

/* Commit or abort: apply or forget the pending correction count */
extern void catz_stats_end_xact(bool commit);

/*
 * Owner heat (owner_heat.c): how often each owner's scope is asked for,
 * which the eviction of owner scopes keeps the busiest by
 */
extern void catz_owner_heat_init(void);
extern void catz_owner_heat_touch(Oid dboid, int64 owner_id);
extern uint32 catz_owner_heat(Oid dboid, int64 owner_id);

/* ----------------------------------------------------------------
 * Rate limit (ratelimit.c): categorize.max_corrections_per_minute
 * ----------------------------------------------------------------
 */
extern void catz_ratelimit_init(void);
extern void catz_ratelimit_take(bool has_owner, int64 owner);	/* error 53400 */

/* ----------------------------------------------------------------
 * The segment (segment.c)
 * ----------------------------------------------------------------
 */

/* Define the settings of the segment; install its hooks when preloading */
extern void catz_shmem_init(void);

/*
 * A part of shared memory owned by another file of this layer: its size is
 * requested with the segment's, and startup(fresh) runs under
 * AddinShmemInitLock once the segment is attached (fresh: just created)
 */
typedef Size (*CatzShmemSizeFn) (void);
typedef void (*CatzShmemStartupFn) (bool fresh);
extern void catz_shmem_add_part(CatzShmemSizeFn size, CatzShmemStartupFn startup);

/* Called before this backend detaches from the DSA area (at exit) */
typedef void (*CatzShmemDetachHook) (void);
extern void catz_shmem_on_detach(CatzShmemDetachHook hook);

/* Whether the worker runs and serves db (folds its scopes and queues) */
extern bool catz_worker_serves(const CatzSharedDb *db);

/* Wake the worker for a round (it does one at once), if one runs */
extern void catz_wake_worker(void);

/*
 * A commit queued pattern feedback in db: count it, and wake the worker if
 * it serves db (it folds the queue, without a whole round), at most once
 * every interval_ms of all callers (a commit in between is served by the
 * fold that wake-up starts, or by the next one)
 */
extern void catz_feedback_queued(CatzSharedDb *db, int interval_ms);

/*
 * Whether a backend may fold db's feedback queue now: none did in the last
 * interval_ms (true claims the turn)
 */
extern bool catz_feedback_fold_claim(CatzSharedDb *db, int interval_ms);

/*
 * A correction counted on pattern_id's row or found it busy; whether one
 * did within the last ttl_ms (then the next ones queue without trying the
 * row)
 */
extern void catz_pattern_mark_hot(CatzSharedDb *db, int64 pattern_id);
extern bool catz_pattern_is_hot(CatzSharedDb *db, int64 pattern_id, int ttl_ms);

#endif							/* CATZ_SHMEM_H */
