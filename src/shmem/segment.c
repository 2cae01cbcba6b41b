/*-------------------------------------------------------------------------
 *
 * segment.c
 *	  The shared memory of categorize, requested at postmaster start: the
 *	  control struct, the DSA area that holds compiled scopes, the owner
 *	  scope index and the decision counts.
 *
 * Everything lives in the main shared memory segment, sized at startup
 * from categorize.shared_cache_size, so memory never grows with the number
 * of backends or owners, and no dynamic shared memory segment is ever
 * created (the DSA area is created in place, with its size limit set to
 * its initial size).
 *
 * Locking protocol:
 *	catz_shared->lock			per-database slots (dbs[]), publishing and
 *								retiring scopes (dbs[].global, the owner
 *								index).  Readers take it SHARED just long
 *								enough to find a scope and add a pin.
 *	dbs[].refresh_running		the refresh slot (refresh.c): one backend at
 *								a time applies changes to a database's
 *								scopes and its refresh snapshot F, refreshing
 *								or as the writer of a commit.
 *	CatzSharedScope.lock		a scope's overlay and delta model: SHARED
 *								while a backend matches against them,
 *								EXCLUSIVE while a refresh changes or grows
 *								them.  The compiled set and model of a scope
 *								never change, so reading them needs no lock.
 *	catz_shared->decision_lock	the decision hash.
 * Lock order: a reader takes lock, lets it go, then takes scope locks
 * (global before owner).  A refresh may take
 * lock while it holds a scope lock (to make room when an overlay grows);
 * nobody waits for a scope lock while holding lock.  decision_lock is never
 * held with another.
 *
 * Scopes are reference counted: a published scope holds one reference,
 * every pin another.  Retiring a scope (a newer generation, eviction, a
 * reload) unpublishes it; the last unpin frees it, so a rebuild never
 * waits for readers and readers never wait for a rebuild.
 * Counters are pg_atomic_uint64 and need no lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "shmem/shmem.h"

CatzShared *catz_shared = NULL;
HTAB	   *catz_owner_index = NULL;
HTAB	   *catz_decisions = NULL;

/* This backend's attachment to the DSA area */
static dsa_area *area = NULL;

/* The parts of shared memory the other files of this layer own */
#define MAX_PARTS 8
static struct
{
	CatzShmemSizeFn size;
	CatzShmemStartupFn startup;
}			parts[MAX_PARTS];
static int	nparts = 0;

/* What the layers above release before this backend detaches from area */
#define MAX_DETACH_HOOKS 4
static CatzShmemDetachHook detach_hooks[MAX_DETACH_HOOKS];
static int	ndetach_hooks = 0;

/* Bytes of the DSA area */
static Size
dsa_bytes(void)
{
	Size		size = (Size) catz_shared_cache_kb * 1024;

	return MAXALIGN(Max(size, dsa_minimum_size()));
}

/* Size of the control struct with the area in place */
static Size
control_size(void)
{
	return add_size(MAXALIGN(offsetof(CatzShared, dsa_space)), dsa_bytes());
}

/* Total shared memory of categorize */
static Size
shmem_size(void)
{
	Size		size = control_size();

	int			i;

	for (i = 0; i < nparts; i++)
		if (parts[i].size)
			size = add_size(size, parts[i].size());
	size = add_size(size, hash_estimate_size(catz_max_cached_owners, sizeof(CatzOwnerEntry)));
	size = add_size(size, hash_estimate_size(catz_max_tracked_patterns, sizeof(CatzDecisionEntry)));
	return size;
}

static void
shmem_request(void)
{
	RequestAddinShmemSpace(shmem_size());
	RequestNamedLWLockTranche("categorize", 2);
}

static void
shmem_startup(void)
{
	bool		found;
	bool		fresh;
	HASHCTL		info;
	int			i;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	catz_shared = ShmemInitStruct("categorize", control_size(), &found);
	fresh = !found;
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche("categorize");
		dsa_area   *dsa;
		int			i,
					j;

		memset(catz_shared, 0, offsetof(CatzShared, dsa_space));
		catz_shared->lock = &locks[0].lock;
		catz_shared->decision_lock = &locks[1].lock;
		catz_shared->dsa_tranche = LWLockNewTrancheId();
		catz_shared->dsa_size = dsa_bytes();
		for (i = 0; i < CATZ_MAX_DATABASES; i++)
		{
			CatzSharedDb *db = &catz_shared->dbs[i];

			db->dboid = InvalidOid;
			db->global = InvalidDsaPointer;
			db->fetch_xip = InvalidDsaPointer;
			pg_atomic_init_u64(&db->unapplied, 0);
			pg_atomic_init_u64(&db->unapplied_done, 0);
			pg_atomic_init_u64(&db->writer_applied, 0);
			pg_atomic_init_u32(&db->owners_retired, 0);
			for (j = 0; j < CATZ_OWNER_CHANGE_SLOTS; j++)
				pg_atomic_init_u32(&db->owner_changes[j], 0);
			for (j = 0; j < CATZ_EMPTY_OWNER_SLOTS; j++)
				pg_atomic_init_u64(&db->empty_owner[j], 0);
			db->last_applied_commit = InvalidXLogRecPtr;
			db->applied_floor = InvalidXLogRecPtr;
			db->applied_next = 0;
			memset(db->applied_end, 0, sizeof(db->applied_end));
			pg_atomic_init_u64(&db->refreshes, 0);
			pg_atomic_init_u64(&db->feedback_queued, 1);
			pg_atomic_init_u64(&db->feedback_folded, 0);
			pg_atomic_init_u64(&db->feedback_fold_at, 0);
			for (j = 0; j < CATZ_HOT_PATTERNS; j++)
			{
				pg_atomic_init_u64(&db->hot_pattern[j], 0);
				pg_atomic_init_u64(&db->hot_at[j], 0);
			}
			pg_atomic_init_u64(&db->refresh_started, 0);
			pg_atomic_init_u64(&db->refresh_done, 0);
			pg_atomic_init_u32(&db->refresh_running, 0);
			ConditionVariableInit(&db->refresh_cv);
			pg_atomic_init_u64(&db->generation, 0);
			pg_atomic_init_u64(&db->rebuilds, 0);
			pg_atomic_init_u64(&db->last_rebuild_us, 0);
			pg_atomic_init_u64(&db->applied_rows, 0);
			pg_atomic_init_u64(&db->apply_commit_ts, 0);
			pg_atomic_init_u64(&db->apply_at, 0);
		}
		pg_atomic_init_u64(&catz_shared->cache_bytes, 0);
		pg_atomic_init_u64(&catz_shared->evictions, 0);
		pg_atomic_init_u64(&catz_shared->alloc_failures, 0);
		pg_atomic_init_u64(&catz_shared->owner_scopes, 0);
		pg_atomic_init_u64(&catz_shared->decisions_dropped, 0);
		pg_atomic_init_u64(&catz_shared->decisions_changes, 0);
		pg_atomic_init_u32(&catz_shared->worker_pid, 0);
		pg_atomic_init_u64(&catz_shared->worker_heartbeat, 0);
		pg_atomic_init_u64(&catz_shared->worker_folds, 0);
		pg_atomic_init_u64(&catz_shared->worker_woken_at, 0);
		pg_atomic_init_u32(&catz_shared->worker_round_asked, 0);

		/*
		 * The postmaster cannot create DSM segments: the area lives in place
		 * in this segment, and its limit keeps it there.
		 */
		dsa = dsa_create_in_place(catz_shared->dsa_space, catz_shared->dsa_size,
								  catz_shared->dsa_tranche, NULL);
		dsa_pin(dsa);
		dsa_set_size_limit(dsa, catz_shared->dsa_size);
		dsa_detach(dsa);
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(CatzOwnerKey);
	info.entrysize = sizeof(CatzOwnerEntry);
	catz_owner_index = ShmemInitHash("categorize owner scopes",
									 catz_max_cached_owners, catz_max_cached_owners,
									 &info, HASH_ELEM | HASH_BLOBS);
	info.keysize = sizeof(CatzDecisionKey);
	info.entrysize = sizeof(CatzDecisionEntry);
	catz_decisions = ShmemInitHash("categorize decisions",
								   catz_max_tracked_patterns, catz_max_tracked_patterns,
								   &info, HASH_ELEM | HASH_BLOBS);
	for (i = 0; i < nparts; i++)
		parts[i].startup(fresh);

	LWLockRelease(AddinShmemInitLock);
}

void
catz_shmem_add_part(CatzShmemSizeFn size, CatzShmemStartupFn startup)
{
	if (nparts >= MAX_PARTS)
		elog(ERROR, "categorize: too many parts of shared memory");
	parts[nparts].size = size;
	parts[nparts].startup = startup;
	nparts++;
}

void
catz_shmem_on_detach(CatzShmemDetachHook hook)
{
	if (ndetach_hooks >= MAX_DETACH_HOOKS)
		elog(ERROR, "categorize: too many shared memory detach hooks");
	detach_hooks[ndetach_hooks++] = hook;
}

static void
detach_area(int code, Datum arg)
{
	int			i;

	/* A refresh interrupted by FATAL must not block everyone else */
	for (i = 0; i < CATZ_MAX_DATABASES; i++)
	{
		uint32		me = (uint32) MyProcPid;

		if (pg_atomic_compare_exchange_u32(&catz_shared->dbs[i].refresh_running, &me, 0))
			ConditionVariableBroadcast(&catz_shared->dbs[i].refresh_cv);
	}
	for (i = 0; i < ndetach_hooks; i++)
		detach_hooks[i] ();
	if (area)
	{
		dsa_detach(area);
		dsa_release_in_place(catz_shared->dsa_space);
		area = NULL;
	}
}

bool
catz_shared_enabled(void)
{
	return catz_preloaded && catz_shared != NULL;
}

dsa_area *
catz_area(void)
{
	if (area == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		LWLockRegisterTranche(catz_shared->dsa_tranche, "categorize_scope");
		area = dsa_attach_in_place(catz_shared->dsa_space, NULL);
		dsa_pin_mapping(area);
		MemoryContextSwitchTo(old);
		before_shmem_exit(detach_area, (Datum) 0);
	}
	return area;
}

CatzSharedDb *
catz_shared_db(bool create)
{
	static CatzSharedDb *mine = NULL;	/* slots are never freed */
	CatzSharedDb *free_slot = NULL;
	int			i;

	if (!catz_shared_enabled() || !OidIsValid(MyDatabaseId))
		return NULL;
	if (mine && mine->dboid == MyDatabaseId)
		return mine;
	LWLockAcquire(catz_shared->lock, LW_SHARED);
	for (i = 0; i < CATZ_MAX_DATABASES; i++)
		if (catz_shared->dbs[i].dboid == MyDatabaseId)
		{
			LWLockRelease(catz_shared->lock);
			return mine = &catz_shared->dbs[i];
		}
	LWLockRelease(catz_shared->lock);
	if (!create)
		return NULL;

	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < CATZ_MAX_DATABASES; i++)
	{
		CatzSharedDb *db = &catz_shared->dbs[i];

		if (db->dboid == MyDatabaseId)
		{
			LWLockRelease(catz_shared->lock);
			return mine = db;
		}
		if (db->dboid == InvalidOid && free_slot == NULL)
			free_slot = db;
	}
	if (free_slot)
	{
		pg_atomic_write_u64(&free_slot->unapplied, 0);
		pg_atomic_write_u64(&free_slot->unapplied_done, 0);
		pg_atomic_write_u64(&free_slot->writer_applied, 0);
		free_slot->last_applied_commit = InvalidXLogRecPtr;
		free_slot->applied_floor = InvalidXLogRecPtr;
		free_slot->applied_next = 0;
		memset(free_slot->applied_end, 0, sizeof(free_slot->applied_end));
		pg_atomic_write_u64(&free_slot->refreshes, 0);
		pg_atomic_write_u64(&free_slot->feedback_queued, 1);
		pg_atomic_write_u64(&free_slot->feedback_folded, 0);
		pg_atomic_write_u64(&free_slot->feedback_fold_at, 0);
		for (i = 0; i < CATZ_HOT_PATTERNS; i++)
			pg_atomic_write_u64(&free_slot->hot_at[i], 0);
		for (i = 0; i < CATZ_EMPTY_OWNER_SLOTS; i++)
			pg_atomic_write_u64(&free_slot->empty_owner[i], 0);
		free_slot->replayed = false;
		/* prepared before a restart, committed after it: nobody counts it */
		free_slot->twophase = max_prepared_xacts > 0;
		free_slot->fetch_nseen = 0;
		pg_atomic_write_u64(&free_slot->refresh_started, 0);
		pg_atomic_write_u64(&free_slot->refresh_done, 0);
		pg_atomic_write_u32(&free_slot->refresh_running, 0);
		pg_atomic_write_u64(&free_slot->applied_rows, 0);
		pg_atomic_write_u64(&free_slot->apply_commit_ts, 0);
		pg_atomic_write_u64(&free_slot->apply_at, 0);
		free_slot->dboid = MyDatabaseId;
		free_slot->patterns_relid = InvalidOid;
		free_slot->disabled = false;
		free_slot->global = InvalidDsaPointer;
		free_slot->fetch_valid = false;
		free_slot->fetch_xip = InvalidDsaPointer;
	}
	LWLockRelease(catz_shared->lock);
	return mine = free_slot;
}

/*
 * Note a row applied by logical replication in this database.  The two
 * times are written without a lock: a reader may pair one apply's commit
 * time with the next one's apply time, which health() tolerates (it
 * reports a delay, not an invariant).
 */
void
catz_shared_note_apply(TimestampTz remote_commit)
{
	CatzSharedDb *db = catz_shared_db(true);

	if (db == NULL)
		return;
	pg_atomic_fetch_add_u64(&db->applied_rows, 1);
	if (remote_commit != 0)
	{
		pg_atomic_write_u64(&db->apply_commit_ts, (uint64) remote_commit);
		pg_atomic_write_u64(&db->apply_at, (uint64) GetCurrentTimestamp());
	}
}

void
catz_shared_get_fetch_snap(CatzSharedDb *db, MemoryContext cxt, CatzSnapshot *out)
{
	LWLockAcquire(catz_shared->lock, LW_SHARED);
	out->valid = db->fetch_valid;
	out->xmin = db->fetch_xmin;
	out->xmax = db->fetch_xmax;
	out->nxip = db->fetch_valid ? db->fetch_nxip : 0;
	out->xip = MemoryContextAlloc(cxt, sizeof(uint64) * (out->nxip + 1));
	if (out->nxip > 0)
		memcpy(out->xip, dsa_get_address(catz_area(), db->fetch_xip), sizeof(uint64) * out->nxip);
	out->nseen = out->valid ? db->fetch_nseen : 0;
	out->seen = NULL;
	if (out->nseen > 0)
		out->seen = memcpy(MemoryContextAlloc(cxt, sizeof(uint64) * out->nseen),
						   db->fetch_seen, sizeof(uint64) * out->nseen);
	LWLockRelease(catz_shared->lock);
}

/* F of a database as a CatzSnapshot pointing into shared memory (lock held) */
static void
fetch_snap_in_place(CatzSharedDb *db, CatzSnapshot *out)
{
	out->valid = db->fetch_valid;
	out->xmin = db->fetch_xmin;
	out->xmax = db->fetch_xmax;
	out->nxip = db->fetch_valid ? db->fetch_nxip : 0;
	out->xip = out->nxip > 0 ? dsa_get_address(catz_area(), db->fetch_xip) : NULL;
	out->nseen = db->fetch_valid ? db->fetch_nseen : 0;
	out->seen = db->fetch_seen;
}

CatzFetchState
catz_shared_fetch_state(CatzSharedDb *db, uint64 xid)
{
	CatzSnapshot f;

	fetch_snap_in_place(db, &f);
	if (!f.valid || xid == 0)
		return CATZ_FETCH_UNUSABLE;
	if (catz_snapshot_sees(&f, xid))
		return CATZ_FETCH_SEEN;
	if (xid >= f.xmax && f.nseen >= CATZ_FETCH_SEEN_MAX)
		return CATZ_FETCH_UNUSABLE;
	return CATZ_FETCH_UNSEEN;
}

bool
catz_shared_fetch_mark_seen(CatzSharedDb *db, uint64 xid)
{
	CatzSnapshot f;
	int			i;

	if (catz_shared_fetch_state(db, xid) != CATZ_FETCH_UNSEEN)
		return false;
	fetch_snap_in_place(db, &f);
	if (xid >= f.xmax)
	{
		db->fetch_seen[db->fetch_nseen++] = xid;
		return true;
	}
	/* running when F was taken: it leaves F's list of running xids */
	for (i = 0; i < f.nxip; i++)
		if (f.xip[i] == xid)
		{
			memmove(&f.xip[i], &f.xip[i + 1], sizeof(uint64) * (f.nxip - i - 1));
			db->fetch_nxip--;
			return true;
		}
	return false;
}

/*
 * Store the refresh snapshot F of a database (caller holds
 * catz_shared->lock EXCLUSIVE); false if the area has no room for it
 */
bool
catz_shared_set_fetch_snap(CatzSharedDb *db, const CatzSnapshot *snap)
{
	dsa_pointer xip = InvalidDsaPointer;

	if (snap->valid)
	{
		xip = dsa_allocate_extended(catz_area(), sizeof(uint64) * (snap->nxip + 1),
									DSA_ALLOC_NO_OOM);
		if (!DsaPointerIsValid(xip))
		{
			db->fetch_valid = false;
			return false;
		}
		memcpy(dsa_get_address(catz_area(), xip), snap->xip, sizeof(uint64) * snap->nxip);
	}
	if (DsaPointerIsValid(db->fetch_xip))
		dsa_free(catz_area(), db->fetch_xip);
	db->fetch_xip = xip;
	db->fetch_xmin = snap->xmin;
	db->fetch_xmax = snap->xmax;
	db->fetch_nxip = snap->nxip;
	Assert(snap->nseen <= CATZ_FETCH_SEEN_MAX);
	db->fetch_nseen = snap->valid ? Min(snap->nseen, CATZ_FETCH_SEEN_MAX) : 0;
	if (db->fetch_nseen > 0)
		memcpy(db->fetch_seen, snap->seen, sizeof(uint64) * db->fetch_nseen);
	db->fetch_valid = snap->valid;
	return snap->valid;
}

/* Forget the decision counts of a database (its pattern ids start over) */
void
catz_shared_forget_decisions(Oid dboid)
{
	HASH_SEQ_STATUS status;
	CatzDecisionEntry *e;

	LWLockAcquire(catz_shared->decision_lock, LW_EXCLUSIVE);
	hash_seq_init(&status, catz_decisions);
	while ((e = hash_seq_search(&status)) != NULL)
		if (e->key.dboid == dboid)
			hash_search(catz_decisions, &e->key, HASH_REMOVE, NULL);
	pg_atomic_fetch_add_u64(&catz_shared->decisions_changes, 1);
	LWLockRelease(catz_shared->decision_lock);
}

void
catz_shared_decisions_get_many(Oid dboid, int n, const int64 *pattern_ids,
							   CatzDecisionEntry *out)
{
	CatzDecisionKey key;
	int			i;

	memset(&key, 0, sizeof(key));
	key.dboid = dboid;
	LWLockAcquire(catz_shared->decision_lock, LW_SHARED);
	for (i = 0; i < n; i++)
	{
		CatzDecisionEntry *e;

		key.pattern_id = pattern_ids[i];
		e = hash_search(catz_decisions, &key, HASH_FIND, NULL);
		if (e)
			out[i] = *e;
		else
			memset(&out[i], 0, sizeof(CatzDecisionEntry));
	}
	LWLockRelease(catz_shared->decision_lock);
}
void
catz_shared_decisions_add(Oid dboid, int n, const int64 *pattern_ids, const int64 *confirmed,
						  const int64 *counts, const TimestampTz *last_at)
{
	CatzDecisionKey key;
	int			i;

	memset(&key, 0, sizeof(key));
	key.dboid = dboid;
	key.zero = 0;
	LWLockAcquire(catz_shared->decision_lock, LW_EXCLUSIVE);
	for (i = 0; i < n; i++)
	{
		CatzDecisionEntry *e;
		bool		found;

		key.pattern_id = pattern_ids[i];
		e = hash_search(catz_decisions, &key, HASH_ENTER_NULL, &found);
		if (e == NULL)
		{
			pg_atomic_fetch_add_u64(&catz_shared->decisions_dropped, 1);
			continue;
		}
		if (!found)
		{
			e->decisions = 0;
			e->confirmed = confirmed[i];
			e->since = 0;
			e->unfolded = 0;
			e->last_at = 0;
		}
		if (e->confirmed != confirmed[i])
		{
			e->confirmed = confirmed[i];
			e->since = 0;
		}
		e->decisions += counts[i];
		e->since += counts[i];
		e->unfolded += counts[i];
		if (last_at[i] > e->last_at)
			e->last_at = last_at[i];
	}
	pg_atomic_fetch_add_u64(&catz_shared->decisions_changes, 1);
	LWLockRelease(catz_shared->decision_lock);
}

int
catz_shared_usage_collect(Oid dboid, int max, CatzUsageFold *out)
{
	HASH_SEQ_STATUS status;
	CatzDecisionEntry *e;
	int			n = 0;

	LWLockAcquire(catz_shared->decision_lock, LW_SHARED);
	hash_seq_init(&status, catz_decisions);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		if (e->key.dboid != dboid || e->unfolded <= 0)
			continue;
		if (n == max)
		{
			hash_seq_term(&status);
			break;
		}
		out[n].pattern_id = e->key.pattern_id;
		out[n].decided = e->unfolded;
		out[n].last_at = e->last_at;
		n++;
	}
	LWLockRelease(catz_shared->decision_lock);
	return n;
}

void
catz_shared_usage_folded(Oid dboid, int n, const CatzUsageFold *done)
{
	CatzDecisionKey key;
	int			i;

	memset(&key, 0, sizeof(key));
	key.dboid = dboid;
	LWLockAcquire(catz_shared->decision_lock, LW_EXCLUSIVE);
	for (i = 0; i < n; i++)
	{
		CatzDecisionEntry *e;

		key.pattern_id = done[i].pattern_id;
		e = hash_search(catz_decisions, &key, HASH_FIND, NULL);
		/* decisions committed since the collection stay for the next fold */
		if (e)
			e->unfolded = Max(e->unfolded - done[i].decided, 0);
	}
	LWLockRelease(catz_shared->decision_lock);
}

void
catz_wake_worker(void)
{
	Latch	   *latch = catz_shared ? catz_shared->worker_latch : NULL;

	if (latch && pg_atomic_read_u32(&catz_shared->worker_pid) != 0)
	{
		pg_atomic_write_u32(&catz_shared->worker_round_asked, 1);
		SetLatch(latch);
	}
}

bool
catz_worker_serves(const CatzSharedDb *db)
{
	return pg_atomic_read_u32(&catz_shared->worker_pid) != 0 &&
		catz_shared->worker_dboid == db->dboid;
}

/*
 * Whether interval_ms passed since *at (a TimestampTz): then *at becomes
 * now, for this caller only
 */
static bool
claim_interval(pg_atomic_uint64 *at, int interval_ms)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		last = pg_atomic_read_u64(at);

	return now - (TimestampTz) last >= (TimestampTz) interval_ms * 1000 &&
		pg_atomic_compare_exchange_u64(at, &last, (uint64) now);
}

void
catz_feedback_queued(CatzSharedDb *db, int interval_ms)
{
	Latch	   *latch = catz_shared->worker_latch;

	pg_atomic_fetch_add_u64(&db->feedback_queued, 1);
	if (latch && catz_worker_serves(db) &&
		claim_interval(&catz_shared->worker_woken_at, interval_ms))
		SetLatch(latch);
}

bool
catz_feedback_fold_claim(CatzSharedDb *db, int interval_ms)
{
	return claim_interval(&db->feedback_fold_at, interval_ms);
}

/* The slot of a pattern in the busy cache */
static int
hot_slot(int64 pattern_id)
{
	uint64		id = (uint64) pattern_id;

	return (int) (catz_hash_bytes(&id, sizeof(id), 0x686f74ull) % CATZ_HOT_PATTERNS);
}

void
catz_pattern_mark_hot(CatzSharedDb *db, int64 pattern_id)
{
	int			i = hot_slot(pattern_id);

	pg_atomic_write_u64(&db->hot_pattern[i], (uint64) pattern_id);
	pg_atomic_write_u64(&db->hot_at[i], (uint64) GetCurrentTimestamp());
}

bool
catz_pattern_is_hot(CatzSharedDb *db, int64 pattern_id, int ttl_ms)
{
	int			i = hot_slot(pattern_id);
	TimestampTz at = (TimestampTz) pg_atomic_read_u64(&db->hot_at[i]);

	return pg_atomic_read_u64(&db->hot_pattern[i]) == (uint64) pattern_id && at != 0 &&
		GetCurrentTimestamp() - at < (TimestampTz) ttl_ms * 1000;
}

/* ----------------------------------------------------------------
 * Settings and hooks of the segment
 * ----------------------------------------------------------------
 */
int			catz_shared_cache_kb = 131072;
int			catz_max_cached_owners = 65536;
int			catz_max_tracked_patterns = 262144;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* shmem_request_hook: ask for our shared memory */
static void
categorize_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	shmem_request();
}

/* shmem_startup_hook: attach to (or create) our shared memory */
static void
categorize_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	shmem_startup();
}

/* The sizes of the segment can only be defined while preloading */
void
catz_shmem_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	/*
	 * Settings of the shared memory, fixed at server start (they can only be
	 * defined while preloading)
	 */
	DefineCustomIntVariable("categorize.shared_cache_size",
							"Shared memory for compiled patterns of every backend.",
							"Everyone's patterns stay resident; owners' patterns are evicted beyond it, those asked for least often first.",
							&catz_shared_cache_kb,
							131072,
							1024, INT_MAX / 1024,
							PGC_POSTMASTER,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.max_cached_owners",
							"Owners whose compiled patterns the shared cache can index.",
							NULL,
							&catz_max_cached_owners,
							65536,
							16, INT_MAX / 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.max_tracked_patterns",
							"Patterns whose decision counts are kept in shared memory.",
							NULL,
							&catz_max_tracked_patterns,
							262144,
							1024, INT_MAX / 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = categorize_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = categorize_shmem_startup;
}
