/*-------------------------------------------------------------------------
 *
 * shared_scope.c
 *	  Compiled scopes in shared memory: publishing a scope built by a
 *	  backend, pinning it for a call, applying committed changes to it, and
 *	  bounding the cache (LRU with TTL).
 *
 * A scope is built in backend memory by scope.c (SPI, one owner through an
 * index), then copied into the DSA area and published: dbs[].global for
 * everyone's patterns, the owner index for one owner's.  Readers pin it
 * (a reference count) and match against it where it lies, without copying.
 * Publishing a newer version retires the old one; the last unpin frees it.
 * See shmem/segment.c for the locking protocol.
 *
 * Owner scopes live at most categorize.owner_cache_ttl seconds; when the
 * area is full, the owner scopes asked for least often (shmem/owner_heat.c;
 * ties: the least recently used) that no backend has pinned are retired
 * until the new one fits.  Everyone's scope is never
 * evicted; if it cannot fit at all, the database falls back to per-backend
 * scopes and categorize.health() says so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "store/store.h"

/* Scopes this backend has pinned (a call pins two; nesting is rare) */
#define MAX_PINS 16
static CatzSharedScope *pins[MAX_PINS];
static int	npins = 0;

/*
 * Scopes this transaction keeps pinned between calls: everyone's, and the
 * last owner's (catz_shared_kept_global, catz_shared_kept_owner).  A call
 * checks that the kept one is still published (a load of its retired
 * flag) instead of taking catz_shared->lock and a reference again, so a
 * statement over many rows pins each once.  Let go at the end of the
 * transaction (an idle session holds no generation), when retired (the
 * next call takes the new one), when unpinned, and at detach.  Neither is
 * in pins[]: each holds one reference of its own.
 */
static CatzSharedScope *kept_global = NULL;
static CatzSharedScope *kept_owner = NULL;

/* Address of a DSA pointer */
static void *
addr(dsa_pointer dp)
{
	return DsaPointerIsValid(dp) ? dsa_get_address(catz_area(), dp) : NULL;
}

/*
 * Allocate in the area; InvalidDsaPointer when it is full.  Owner scopes
 * are evicted until the allocation succeeds or none is left to evict: the
 * area is one fixed segment, and a large allocation needs contiguous pages,
 * which the bytes freed by one round of evictions need not give.
 */
static dsa_pointer
area_alloc_flags(Size size, int flags)
{
	dsa_pointer dp = dsa_allocate_extended(catz_area(), size, DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE | flags);

	while (!DsaPointerIsValid(dp) && catz_shared_make_room(size))
		dp = dsa_allocate_extended(catz_area(), size, DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE | flags);
	if (!DsaPointerIsValid(dp))
		pg_atomic_fetch_add_u64(&catz_shared->alloc_failures, 1);
	return dp;
}

/* Zeroed */
static dsa_pointer
area_alloc(Size size)
{
	return area_alloc_flags(size, DSA_ALLOC_ZERO);
}

/*
 * Copy size bytes into a new allocation; not zeroed first (a publication
 * of everyone's scope copies tens of megabytes)
 */
static dsa_pointer
area_copy(const void *src, Size size)
{
	dsa_pointer dp;

	if (src == NULL)
		return InvalidDsaPointer;
	dp = area_alloc_flags(size, 0);
	if (DsaPointerIsValid(dp))
		memcpy(addr(dp), src, size);
	return dp;
}

/* Free a scope and everything it holds */
static void
free_scope(CatzSharedScope *s)
{
	dsa_area   *a = catz_area();
	dsa_pointer blobs[5] = {s->set, s->model, s->overlay, s->delta, s->snap_xip};
	int			i;

	pg_atomic_fetch_sub_u64(&catz_shared->cache_bytes, s->bytes);
	for (i = 0; i < 5; i++)
		if (DsaPointerIsValid(blobs[i]))
			dsa_free(a, blobs[i]);
	dsa_free(a, s->self);
}

/* Raise an error when pins[] is full (before a pin changes anything) */
static void
check_pin_room(void)
{
	if (npins >= MAX_PINS)
		elog(ERROR, "categorize: too many shared scopes pinned at once");
}

/* Add a pin; the caller holds catz_shared->lock */
static void
pin_locked(CatzSharedScope *s)
{
	check_pin_room();
	pg_atomic_fetch_add_u32(&s->refcount, 1);
	pg_atomic_write_u64(&s->last_used, (uint64) GetCurrentTimestamp());
	pins[npins++] = s;
}

/* Stop tracking a pin in pins[] (its reference stays); false if not there */
static bool
untrack(CatzSharedScope *s)
{
	for (int i = npins - 1; i >= 0; i--)
		if (pins[i] == s)
		{
			pins[i] = pins[--npins];
			return true;
		}
	return false;
}

void
catz_shared_unpin(CatzSharedScope *s)
{
	/* A kept scope is unpinned by letting it go */
	if (!untrack(s))
	{
		if (s == kept_global)
			kept_global = NULL;
		else if (s == kept_owner)
			kept_owner = NULL;
	}
	if (pg_atomic_sub_fetch_u32(&s->refcount, 1) == 0)
		free_scope(s);
}

void
catz_shared_unpin_all(void)
{
	while (npins > 0)
		catz_shared_unpin(pins[npins - 1]);
	catz_shared_release_kept();
}

/* Unpublish a scope; caller holds catz_shared->lock EXCLUSIVE */
static void
retire_locked(CatzSharedScope *s)
{
	if (s->retired)
		return;
	s->retired = true;
	if (!s->global)
		pg_atomic_fetch_sub_u64(&catz_shared->owner_scopes, 1);
	if (pg_atomic_sub_fetch_u32(&s->refcount, 1) == 0)
		free_scope(s);
}

CatzSharedScope *
catz_shared_pin_global(CatzSharedDb *db)
{
	CatzSharedScope *s = NULL;

	LWLockAcquire(catz_shared->lock, LW_SHARED);
	if (DsaPointerIsValid(db->global))
	{
		s = addr(db->global);
		pin_locked(s);
	}
	LWLockRelease(catz_shared->lock);
	return s;
}

/* An owner index key (padding zeroed for hashing) */
static CatzOwnerKey
owner_key(Oid dboid, int64 owner_id)
{
	CatzOwnerKey key;

	memset(&key, 0, sizeof(key));
	key.dboid = dboid;
	key.owner_id = owner_id;
	key.zero = 0;
	return key;
}

/* Whether an owner scope outlived categorize.owner_cache_ttl */
static bool
expired(CatzSharedScope *s, TimestampTz now)
{
	return catz_owner_cache_ttl_s > 0 &&
		now - s->loaded_at > (int64) catz_owner_cache_ttl_s * USECS_PER_SEC;
}

CatzSharedScope *
catz_shared_pin_owner(CatzSharedDb *db, int64 owner_id, bool *hit)
{
	CatzOwnerKey key = owner_key(db->dboid, owner_id);
	CatzOwnerEntry *e;
	CatzSharedScope *s = NULL;

	LWLockAcquire(catz_shared->lock, LW_SHARED);
	e = hash_search(catz_owner_index, &key, HASH_FIND, NULL);
	if (e && DsaPointerIsValid(e->scope))
	{
		s = addr(e->scope);
		if (expired(s, GetCurrentTimestamp()))
			s = NULL;			/* reloaded by the caller, which replaces it */
		else
			pin_locked(s);
	}
	LWLockRelease(catz_shared->lock);
	*hit = (s != NULL);
	catz_stats_count_owner_lookup(s != NULL);
	catz_owner_heat_touch(db->dboid, owner_id);
	return s;
}

CatzSharedScope *
catz_shared_find(CatzSharedDb *db, bool global, int64 owner_id)
{
	CatzSharedScope *s = NULL;

	if (global)
		return catz_shared_pin_global(db);
	LWLockAcquire(catz_shared->lock, LW_SHARED);
	{
		CatzOwnerKey key = owner_key(db->dboid, owner_id);
		CatzOwnerEntry *e = hash_search(catz_owner_index, &key, HASH_FIND, NULL);

		if (e && DsaPointerIsValid(e->scope))
		{
			s = addr(e->scope);
			pin_locked(s);
		}
	}
	LWLockRelease(catz_shared->lock);
	return s;
}

/* An owner scope that may be evicted, and what decides its turn */
typedef struct EvictCandidate
{
	CatzOwnerKey key;
	uint32		heat;
	uint64		used;
} EvictCandidate;

/* Coldest first; among equals, the least recently used */
static int
cmp_candidates(const void *a, const void *b)
{
	const EvictCandidate *x = a;
	const EvictCandidate *y = b;

	if (x->heat != y->heat)
		return x->heat < y->heat ? -1 : 1;
	return (x->used > y->used) - (x->used < y->used);
}

/*
 * An allocation of `need` bytes failed: retire the coldest owner scopes
 * that nobody has pinned until they held `need` bytes plus a tenth
 * of the area (so that the next allocations find room too, and the area's
 * fragmentation is absorbed); true if anything was retired
 */
bool
catz_shared_make_room(Size need)
{
	Size		want = need + catz_shared->dsa_size / 10;
	Size		freed = 0;
	long		n = 0;
	long		cap = hash_get_num_entries(catz_owner_index);
	long		i;
	EvictCandidate *c;
	HASH_SEQ_STATUS status;
	CatzOwnerEntry *e;

	/* no error here: this runs in commit callbacks too */
	c = palloc_extended(sizeof(EvictCandidate) * Max(cap, 1), MCXT_ALLOC_NO_OOM);
	if (c == NULL)
		return false;
	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	/* one pass over the index: the unpinned scopes, coldest first */
	hash_seq_init(&status, catz_owner_index);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		CatzSharedScope *sc = addr(e->scope);

		if (sc == NULL || pg_atomic_read_u32(&sc->refcount) > 1 || n >= cap)
			continue;			/* in use right now */
		c[n].key = e->key;
		c[n].heat = catz_owner_heat(e->key.dboid, e->key.owner_id);
		c[n].used = pg_atomic_read_u64(&sc->last_used);
		n++;
	}
	qsort(c, n, sizeof(EvictCandidate), cmp_candidates);
	for (i = 0; i < n && freed < want; i++)
	{
		CatzOwnerEntry *victim = hash_search(catz_owner_index, &c[i].key, HASH_FIND, NULL);
		CatzSharedScope *sc = victim ? addr(victim->scope) : NULL;

		if (sc == NULL)
			continue;
		freed += sc->bytes;
		retire_locked(sc);
		hash_search(catz_owner_index, &c[i].key, HASH_REMOVE, NULL);
		pg_atomic_fetch_add_u64(&catz_shared->evictions, 1);
	}
	LWLockRelease(catz_shared->lock);
	pfree(c);
	return i > 0;
}

void
catz_shared_evict_expired(void)
{
	HASH_SEQ_STATUS status;
	CatzOwnerEntry *e;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, catz_owner_index);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		CatzSharedScope *s = addr(e->scope);

		if (s && expired(s, now))
		{
			CatzOwnerKey key = e->key;

			retire_locked(s);
			hash_search(catz_owner_index, &key, HASH_REMOVE, NULL);
			pg_atomic_fetch_add_u64(&catz_shared->evictions, 1);
		}
	}
	LWLockRelease(catz_shared->lock);
}

void
catz_shared_retire_all(CatzSharedDb *db)
{
	HASH_SEQ_STATUS status;
	CatzOwnerEntry *e;

	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	if (DsaPointerIsValid(db->global))
	{
		retire_locked(addr(db->global));
		db->global = InvalidDsaPointer;
	}
	hash_seq_init(&status, catz_owner_index);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		if (e->key.dboid == db->dboid)
		{
			CatzOwnerKey key = e->key;

			if (DsaPointerIsValid(e->scope))
				retire_locked(addr(e->scope));
			hash_search(catz_owner_index, &key, HASH_REMOVE, NULL);
		}
	}
	LWLockRelease(catz_shared->lock);

	/* the scopes built next may hold anything: no owner is known empty */
	pg_atomic_fetch_add_u32(&db->owners_retired, 1);
}

/*
 * The changes a scope's overlay (or its delta model, with cap
 * CATZ_SHARED_DELTA_MAX / 2) takes before it asks for a fold: at least
 * categorize.fold_threshold, and an eighth of the compiled set, so that the
 * rebuilds of a large set cost a bounded amount per change (a change made
 * to a pattern's counts by every correction, or single-tenant learning,
 * whose corrections all go to everyone's delta, would otherwise rebuild a
 * large set every few thousand corrections); below cap, half the blob's
 * largest capacity, so that it never fills before the fold is published
 */
static uint32
fold_at(const CatzSet *set, uint32 cap)
{
	uint32		at = set ? catz_set_count(set) / 8 : 0;

	at = Max(at, (uint32) catz_fold_threshold);
	return Min(at, cap);
}

/* Bytes of a scope's overlay and delta as s holds them */
static Size
changes_bytes(const CatzSharedScope *s)
{
	return catz_blob_bytes(CATZ_BLOB_OVERLAY, addr(s->overlay), s->overlay_capacity) +
		catz_blob_bytes(CATZ_BLOB_DELTA, addr(s->delta), s->delta_capacity);
}

/*
 * Copy local's overlay and delta (what a catch-up changes) into s in place
 * of those s holds; false if they do not fit (s keeps its own)
 */
static bool
copy_changes(CatzSharedScope *s, const CatzScope *local)
{
	Size		old_bytes = changes_bytes(s);
	dsa_pointer ov = area_copy(local->overlay, catz_blob_bytes(CATZ_BLOB_OVERLAY, local->overlay,
															   local->overlay_capacity));
	dsa_pointer d = area_copy(local->delta, catz_blob_bytes(CATZ_BLOB_DELTA, local->delta,
															local->delta_capacity));
	Size		new_bytes;

	if ((local->overlay && !DsaPointerIsValid(ov)) || (local->delta && !DsaPointerIsValid(d)))
	{
		if (DsaPointerIsValid(ov))
			dsa_free(catz_area(), ov);
		if (DsaPointerIsValid(d))
			dsa_free(catz_area(), d);
		return false;
	}
	if (DsaPointerIsValid(s->overlay))
		dsa_free(catz_area(), s->overlay);
	if (DsaPointerIsValid(s->delta))
		dsa_free(catz_area(), s->delta);
	s->overlay = ov;
	s->overlay_capacity = local->overlay_capacity;
	s->delta = d;
	s->delta_capacity = local->delta_capacity;
	pg_atomic_write_u32(&s->crowd_pending, local->crowd_pending);
	new_bytes = changes_bytes(s);
	s->bytes += new_bytes - old_bytes;
	pg_atomic_fetch_add_u64(&catz_shared->cache_bytes, new_bytes);
	pg_atomic_fetch_sub_u64(&catz_shared->cache_bytes, old_bytes);
	return true;
}

/*
 * Copy a scope built in backend memory into the area, unpublished (no
 * other backend can see it); NULL if it does not fit
 */
CatzSharedScope *
catz_shared_draft(CatzSharedDb *db, const CatzScope *local)
{
	dsa_pointer self = area_alloc(sizeof(CatzSharedScope));
	CatzSharedScope *s;
	Size		set_size = local->set ? catz_set_size(local->set) : 0;
	Size		model_size = local->model ? catz_model_size(local->model) : 0;

	if (!DsaPointerIsValid(self))
		return NULL;
	s = addr(self);
	s->self = self;
	s->global = local->global;
	s->dboid = db->dboid;
	s->owner_id = local->owner_id;
	LWLockInitialize(&s->lock, catz_shared->dsa_tranche);
	s->set = area_copy(local->set, set_size);
	s->model = area_copy(local->model, model_size);
	s->snap_valid = local->base_snap.valid;
	s->snap_xmin = local->base_snap.xmin;
	s->snap_xmax = local->base_snap.xmax;
	s->snap_nxip = local->base_snap.nxip;
	s->snap_xip = area_copy(local->base_snap.xip, sizeof(uint64) * Max(local->base_snap.nxip, 1));
	s->bytes = sizeof(CatzSharedScope) + set_size + model_size +
		sizeof(uint64) * Max(local->base_snap.nxip, 1);
	s->loaded_at = GetCurrentTimestamp();
	pg_atomic_init_u32(&s->refcount, 1);	/* the publication's reference */
	pg_atomic_init_u32(&s->fold_claimed, 0);
	s->fold_at = fold_at(local->set, CATZ_SHARED_OVERLAY_MAX / 2);
	s->delta_fold_at = fold_at(local->set, CATZ_SHARED_DELTA_MAX / 2);
	pg_atomic_init_u64(&s->last_used, (uint64) s->loaded_at);
	s->crowd_refold = local->crowd_refold;
	pg_atomic_init_u32(&s->crowd_pending, 0);
	pg_atomic_fetch_add_u64(&catz_shared->cache_bytes, s->bytes);

	if (!DsaPointerIsValid(s->set) || !DsaPointerIsValid(s->snap_xip) ||
		(local->model && !DsaPointerIsValid(s->model)) || !copy_changes(s, local))
	{
		free_scope(s);
		return NULL;
	}
	return s;
}

bool
catz_shared_redraft(CatzSharedScope *draft, const CatzScope *local)
{
	return copy_changes(draft, local);
}

void
catz_shared_discard(CatzSharedScope *draft)
{
	free_scope(draft);
}

/*
 * Publish a draft (catz_shared_draft of local) and pin it: it becomes the
 * returned scope.  refresh_seen is the db's refresh_started read, with no
 * refresh running, before the snapshot local was built or last caught up
 * from: if a refresh started since, it may have applied changes local
 * lacks to the scope published now, so nothing is published and *stale is
 * set (the caller catches up, redrafts and tries again).  The first scope
 * of a database also sets the database's refresh snapshot F to its base
 * snapshot.  NULL without *stale: the owner index has no room.  Unless
 * published, the draft stays the caller's (catz_shared_discard).
 */
CatzSharedScope *
catz_shared_publish(CatzSharedDb *db, CatzSharedScope *draft, const CatzScope *local,
					uint64 refresh_seen, bool *stale)
{
	CatzSharedScope *s = draft;

	*stale = false;
	check_pin_room();			/* published, it must not fail to pin */
	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	if (pg_atomic_read_u64(&db->refresh_started) != refresh_seen)
	{
		LWLockRelease(catz_shared->lock);
		*stale = true;
		return NULL;
	}
	if (local->global)
	{
		if (DsaPointerIsValid(db->global))
			retire_locked(addr(db->global));
		db->global = s->self;
		pg_atomic_fetch_add_u64(&db->generation, 1);
	}
	else
	{
		CatzOwnerKey key = owner_key(db->dboid, local->owner_id);
		bool		found;
		CatzOwnerEntry *e = hash_search(catz_owner_index, &key, HASH_ENTER_NULL, &found);

		if (e != NULL && !found)
			e->scope = InvalidDsaPointer;
		if (e == NULL)
		{
			/* the index is full: the caller serves this owner from local memory */
			LWLockRelease(catz_shared->lock);
			return NULL;
		}
		if (DsaPointerIsValid(e->scope) && e->scope != s->self)
			retire_locked(addr(e->scope));
		e->scope = s->self;
		pg_atomic_fetch_add_u64(&catz_shared->owner_scopes, 1);
	}
	if (!db->fetch_valid)
		(void) catz_shared_set_fetch_snap(db, &local->base_snap);
	if (RecoveryInProgress())
		db->replayed = true;	/* promoted later, replayed rows are not counted */
	pg_atomic_fetch_add_u64(&db->rebuilds, 1);
	pin_locked(s);
	LWLockRelease(catz_shared->lock);
	return s;
}

bool
catz_shared_scope_sees(CatzSharedScope *s, uint64 xid)
{
	CatzSnapshot snap;

	snap.valid = s->snap_valid;
	snap.xmin = s->snap_xmin;
	snap.xmax = s->snap_xmax;
	snap.nxip = s->snap_nxip;
	snap.xip = addr(s->snap_xip);
	snap.nseen = 0;
	snap.seen = NULL;
	return catz_snapshot_sees(&snap, xid);
}

/* Ask for a fold when the overlay or the delta has grown large */
static void
maybe_request_fold(CatzSharedScope *s)
{
	const CatzOverlay *ov = addr(s->overlay);
	const CatzModelDelta *d = addr(s->delta);

	if (!s->fold_requested &&
		((ov && catz_overlay_used(ov) >= s->fold_at) ||
		 catz_model_delta_docs(d) >= s->delta_fold_at))
	{
		s->fold_requested = true;
		catz_wake_worker();
	}
}

/*
 * Put a grown copy (dp, size bytes) in place of the blob in *slot (old_size
 * bytes, none if invalid), and account for the difference
 */
static void
replace_grown(CatzSharedScope *s, dsa_pointer *slot, dsa_pointer dp, Size size, Size old_size)
{
	pg_atomic_fetch_add_u64(&catz_shared->cache_bytes, size);
	pg_atomic_fetch_sub_u64(&catz_shared->cache_bytes, old_size);
	s->bytes += size - old_size;
	if (DsaPointerIsValid(*slot))
		dsa_free(catz_area(), *slot);
	*slot = dp;
}

/* Allocation of the shared store's blobs: in the area; arg keeps the pointer */
static void *
shared_alloc(void *arg, Size size)
{
	dsa_pointer *dp = (dsa_pointer *) arg;

	*dp = area_alloc(size);
	return DsaPointerIsValid(*dp) ? addr(*dp) : NULL;
}

static void
shared_discard(void *arg, void *mem)
{
	dsa_free(catz_area(), *(dsa_pointer *) arg);
}

/* The shared store's blobs (CatzBlobGrowFn) */
static void *
shared_blob(void *arg, CatzBlobKind kind, bool bigger)
{
	CatzSharedScope *s = (CatzSharedScope *) arg;
	bool		overlay = kind == CATZ_BLOB_OVERLAY;
	dsa_pointer *slot = overlay ? &s->overlay : &s->delta;
	uint32	   *capacity = overlay ? &s->overlay_capacity : &s->delta_capacity;
	void	   *cur = addr(*slot);
	dsa_pointer dp = InvalidDsaPointer;
	CatzBlobAlloc a = {shared_alloc, shared_discard, &dp};
	uint32		next;
	Size		size;
	void	   *grown;

	if (cur != NULL && !bigger)
		return cur;
	grown = catz_blob_grow(kind, cur, *capacity,
						   overlay ? CATZ_SHARED_OVERLAY_MAX : CATZ_SHARED_DELTA_MAX, &a, &next, &size);
	if (grown == NULL)
		return NULL;
	replace_grown(s, slot, dp, size, catz_blob_bytes(kind, cur, *capacity));
	*capacity = next;
	return grown;
}

/* A scope that cannot take a change any more: unpublish it, readers reload */
static void
retire_full(CatzSharedScope *s)
{
	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	if (!s->retired)
	{
		if (s->global)
		{
			int			i;

			for (i = 0; i < CATZ_MAX_DATABASES; i++)
				if (catz_shared->dbs[i].dboid == s->dboid &&
					catz_shared->dbs[i].global == s->self)
					catz_shared->dbs[i].global = InvalidDsaPointer;
		}
		else
		{
			CatzOwnerKey key = owner_key(s->dboid, s->owner_id);
			CatzOwnerEntry *e = hash_search(catz_owner_index, &key, HASH_FIND, NULL);

			if (e && e->scope == s->self)
				hash_search(catz_owner_index, &key, HASH_REMOVE, NULL);
		}
		retire_locked(s);
	}
	LWLockRelease(catz_shared->lock);
}

void
catz_shared_note_crowd(CatzSharedScope *s)
{
	uint32		pending = pg_atomic_add_fetch_u32(&s->crowd_pending, 1);

	if (pending >= s->crowd_refold && !s->fold_requested)
	{
		LWLockAcquire(&s->lock, LW_EXCLUSIVE);
		s->fold_requested = true;
		LWLockRelease(&s->lock);
		catz_wake_worker();
	}
}

void
catz_shared_apply(CatzSharedScope *s, const CatzBlobChange *c)
{
	CatzStatus	st;
	bool		applied;

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	applied = catz_blob_apply(c, shared_blob, s, &st);
	maybe_request_fold(s);
	LWLockRelease(&s->lock);
	if (!applied)
		retire_full(s);
}

void
catz_shared_read_begin(CatzSharedScope *s, const CatzOverlay **overlay,
					   const CatzModelDelta **delta)
{
	volatile CatzSharedScope *vs = s;

	if (!DsaPointerIsValid(vs->overlay) && !DsaPointerIsValid(vs->delta))
	{
		*overlay = NULL;
		*delta = NULL;
		return;
	}
	LWLockAcquire(&s->lock, LW_SHARED);
	*overlay = addr(s->overlay);
	*delta = addr(s->delta);
}

uint64
catz_shared_pending(CatzSharedScope *s)
{
	const CatzOverlay *ov;
	uint64		pending;

	/* under the lock: a writer that grows the overlay or delta frees the old one */
	LWLockAcquire(&s->lock, LW_SHARED);
	ov = addr(s->overlay);
	pending = (ov ? catz_overlay_used(ov) : 0) + catz_model_delta_docs(addr(s->delta));
	LWLockRelease(&s->lock);
	return pending;
}

const CatzSet *
catz_shared_set(CatzSharedScope *s)
{
	return addr(s->set);
}

const CatzModel *
catz_shared_model(CatzSharedScope *s)
{
	return addr(s->model);
}

/* Shared scopes pinned (and maybe locked SHARED) by the match under way */
static CatzSharedScope *held[2];
static int	nheld = 0;

void
catz_store_hold(CatzSharedScope *scope)
{
	Assert(nheld < lengthof(held));
	held[nheld++] = scope;
}

void
catz_store_release_held(void)
{
	while (nheld > 0)
	{
		CatzSharedScope *s = held[--nheld];

		if (LWLockHeldByMe(&s->lock))
			LWLockRelease(&s->lock);
		if (s != kept_global && s != kept_owner)
			catz_shared_unpin(s);
	}
}

/* Let a kept scope go */
static void
release_kept_one(CatzSharedScope **kept)
{
	CatzSharedScope *s = *kept;

	if (s == NULL)
		return;
	*kept = NULL;
	if (pg_atomic_sub_fetch_u32(&s->refcount, 1) == 0)
		free_scope(s);
}

void
catz_shared_release_kept(void)
{
	release_kept_one(&kept_global);
	release_kept_one(&kept_owner);
}

/* Whether the kept scope k is still the published one of this database and owner */
static bool
still_kept(CatzSharedScope *k, Oid dboid, int64 owner_id)
{
	pg_read_barrier();
	return !k->retired && k->dboid == dboid && (k->global || k->owner_id == owner_id);
}

/* Make a new pin the kept one (*kept is empty) */
static CatzSharedScope *
keep(CatzSharedScope **kept, CatzSharedScope *s)
{
	if (s != NULL && untrack(s))
		*kept = s;
	return s;
}

CatzSharedScope *
catz_shared_kept_owner(CatzSharedDb *db, int64 owner_id, bool *hit)
{
	if (kept_owner != NULL)
	{
		if (still_kept(kept_owner, db->dboid, owner_id))
		{
			/* each call counts for the owner's heat, as a look-up does */
			catz_owner_heat_touch(db->dboid, owner_id);
			*hit = true;
			return kept_owner;
		}
		release_kept_one(&kept_owner);
	}
	return keep(&kept_owner, catz_shared_pin_owner(db, owner_id, hit));
}

CatzSharedScope *
catz_shared_kept_global(CatzSharedDb *db)
{
	if (kept_global != NULL)
	{
		if (still_kept(kept_global, db->dboid, 0))
			return kept_global;
		release_kept_one(&kept_global);
	}
	return keep(&kept_global, catz_shared_pin_global(db));
}

/*
 * Make sure the database's shared state belongs to the installed extension
 * (identified by its patterns table): after DROP and CREATE EXTENSION, the
 * scopes of the old one are retired and the refresh state starts over
 */
void
catz_shared_db_bind(CatzSharedDb *db, Oid patterns_relid)
{
	CatzSnapshot none;

	if (db->patterns_relid == patterns_relid)
		return;
	catz_shared_retire_all(db);
	catz_shared_forget_decisions(db->dboid);
	memset(&none, 0, sizeof(none));
	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	if (db->patterns_relid != patterns_relid)
	{
		(void) catz_shared_set_fetch_snap(db, &none);
		db->disabled = false;
		db->patterns_relid = patterns_relid;
	}
	LWLockRelease(catz_shared->lock);
}

/* ----------------------------------------------------------------
 * Settings of the shared store
 * ----------------------------------------------------------------
 */
int			catz_owner_cache_ttl_s = 3600;
int			catz_fold_threshold = 4096;

void
catz_shared_store_init(void)
{
	DefineCustomIntVariable("categorize.owner_cache_ttl",
							"Time an owner's compiled patterns stay in the shared cache.",
							"0 keeps them until evicted for room.",
							&catz_owner_cache_ttl_s,
							3600,
							0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.fold_threshold",
							"Changed patterns or new corrections after which a compiled scope is rebuilt in the background.",
							NULL,
							&catz_fold_threshold,
							4096,
							16, 1000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	/* pins of shared scopes go before this backend leaves the DSA area */
	catz_shmem_on_detach(catz_shared_unpin_all);
}
