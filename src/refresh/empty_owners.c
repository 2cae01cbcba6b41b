/*-------------------------------------------------------------------------
 *
 * empty_owners.c
 *	  The owners this backend found to have nothing of their own (no
 *	  pattern, no correction), whose shared scope a call need not pin.
 *
 * Most owners never wrote a pattern or a correction, and their shared
 * scope is empty; pinning it (the owner index under catz_shared->lock, its
 * reference count and lock, its heat) costs a call more than matching it,
 * and building and publishing one for an owner first seen costs far more.
 * So no empty owner scope is published (serve.c), and this backend
 * remembers the owners it found empty, with their count of changes
 * (CatzSharedDb.owner_changes of their slot plus owners_retired) read
 * before it looked.  Every change of an owner's rows that reaches the
 * shared scopes bumps their slot after it is in place (by its writer at
 * commit, or by the refresh that reads it: refresh.c), and retiring the
 * scopes bumps owners_retired, so an entry whose count is still current
 * stands for a scope that would still be empty.
 * A commit of other owners' rows makes nobody forget an owner: under a
 * load of corrections a reader keeps skipping the owners who have none.
 * An entry also lapses after categorize.owner_cache_ttl, like the shared
 * scope it stands for, and all of them when the extension is recreated.
 *
 * The same notes are shared by the database's sessions
 * (CatzSharedDb.empty_owner): a session that does not know an owner
 * asks there before it looks the owner up, so a new session (a pool's
 * connections, every pgbench client) does not look up again each owner
 * without patterns that another session already found empty.  A slot
 * holds a 64-bit fingerprint of what a note says (the owner, the count of
 * changes it was noted at, the database and extension instance, and the
 * owner_cache_ttl period it was noted in, so that it lapses at the
 * period's end); a note of another owner, or one the owner's count has
 * moved past, does not match.  A slot keeps the latest note made in it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "refresh/refresh.h"
#include "shmem/shmem.h"

/*
 * The table: EMPTY_OWNER_BUCKETS buckets of EMPTY_OWNER_WAYS entries, an
 * owner in the bucket of its hash.  A full bucket makes room by dropping
 * its least recently used entry: the owners a session keeps meeting stay,
 * the ones met once (a learner's new owners, a batch over many users) go
 * first.  (A table that started over when full made every session that met
 * more owners than it held look all of them up again.)
 */
#define EMPTY_OWNER_BUCKETS 1024
#define EMPTY_OWNER_WAYS 4

typedef struct EmptyOwner
{
	int64		owner_id;
	TimestampTz noted_at;		/* statement start when found empty */
	uint32		changes;		/* its owner_changes count before it was looked at */
	uint32		epoch;			/* the table's epoch when noted */
	uint32		used;			/* empty_clock when last noted or found */
} EmptyOwner;

static EmptyOwner *empty_owners = NULL;
static uint32 empty_epoch = 1;	/* entries of other epochs are free */
static uint32 empty_clock = 0;	/* counts notes and finds, for least recently used */
static bool empty_any = false;	/* an entry of this epoch may exist */

/* The first entry of an owner's bucket */
static inline EmptyOwner *
empty_bucket(int64 owner_id)
{
	uint32		b = (uint32) (catz_owner_hash(owner_id) >> 32) & (EMPTY_OWNER_BUCKETS - 1);

	return &empty_owners[b * EMPTY_OWNER_WAYS];
}

void
catz_forget_empty_owners(void)
{
	if (!empty_any)
		return;
	empty_any = false;
	if (++empty_epoch == 0)
	{
		/* the epoch wrapped: old entries could look current */
		memset(empty_owners, 0, sizeof(EmptyOwner) * EMPTY_OWNER_BUCKETS * EMPTY_OWNER_WAYS);
		empty_epoch = 1;
	}
}

/* The owner_cache_ttl period a time falls in (0 without a TTL) */
static int64
ttl_period(TimestampTz t)
{
	return catz_owner_cache_ttl_s > 0 ? t / ((int64) catz_owner_cache_ttl_s * USECS_PER_SEC) : 0;
}

/* The shared slot of an owner */
static inline pg_atomic_uint64 *
shared_slot(CatzSharedDb *db, int64 owner_id)
{
	return &db->empty_owner[(catz_owner_hash(owner_id) >> 16) & (CATZ_EMPTY_OWNER_SLOTS - 1)];
}

/* What a shared note of an owner empty at a count of changes, in a period, holds */
static uint64
fingerprint(CatzSharedDb *db, int64 owner_id, uint32 changes, int64 period)
{
	uint64		key[4];
	uint64		f;

	key[0] = (uint64) owner_id;
	key[1] = ((uint64) db->dboid << 32) | changes;
	key[2] = (uint64) db->patterns_relid;
	key[3] = (uint64) period;
	f = catz_hash_bytes(key, sizeof(key), 0x656d707479ull);
	return f != 0 ? f : 1;		/* 0 is a free slot */
}

static void note_local(int64 owner_id, uint32 changes, TimestampTz noted_at);

uint32
catz_owner_changes(CatzSharedDb *db, int64 owner_id)
{
	uint32		changes = pg_atomic_read_u32(&db->owners_retired) +
		pg_atomic_read_u32(catz_owner_changes_of(db, owner_id));

	pg_read_barrier();			/* read before anything of the owner's scope */
	return changes;
}

/*
 * Start loading what the calls below read of an owner, which are cache
 * misses at once (a random slot of 256 kB, of this session's table and of
 * the shared one), while the caller pins everyone's scope
 */
void
catz_owner_prefetch(CatzSharedDb *db, int64 owner_id)
{
	catz_prefetch(catz_owner_changes_of(db, owner_id));
	catz_prefetch(shared_slot(db, owner_id));
	if (empty_any)
	{
		EmptyOwner *b = empty_bucket(owner_id);

		catz_prefetch(b);
		catz_prefetch(&b[EMPTY_OWNER_WAYS - 1]);
	}
}

void
catz_owner_changed(CatzSharedDb *db, int64 owner_id)
{
	pg_atomic_fetch_add_u32(catz_owner_changes_of(db, owner_id), 1);
}

bool
catz_owner_known_empty(CatzSharedDb *db, int64 owner_id, uint32 changes)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();
	int64		period;

	if (empty_any)
	{
		EmptyOwner *b = empty_bucket(owner_id);
		int			i;

		for (i = 0; i < EMPTY_OWNER_WAYS; i++)
		{
			EmptyOwner *e = &b[i];

			if (e->epoch == empty_epoch && e->owner_id == owner_id)
			{
				if (e->changes == changes &&
					(catz_owner_cache_ttl_s == 0 ||
					 now - e->noted_at <= (int64) catz_owner_cache_ttl_s * USECS_PER_SEC))
				{
					e->used = ++empty_clock;
					return true;
				}
				break;
			}
		}
	}

	/* Another session's note: kept here too, lapsing when the shared one does */
	period = ttl_period(now);
	if (pg_atomic_read_u64(shared_slot(db, owner_id)) != fingerprint(db, owner_id, changes, period))
		return false;
	note_local(owner_id, changes,
			   catz_owner_cache_ttl_s > 0 ? period * catz_owner_cache_ttl_s * USECS_PER_SEC : now);
	return true;
}

void
catz_note_owner_empty(CatzSharedDb *db, int64 owner_id, uint32 changes)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();

	note_local(owner_id, changes, now);
	pg_atomic_write_u64(shared_slot(db, owner_id),
						fingerprint(db, owner_id, changes, ttl_period(now)));
}

/* Note an owner empty in this session's table, as of noted_at */
static void
note_local(int64 owner_id, uint32 changes, TimestampTz noted_at)
{
	EmptyOwner *b;
	EmptyOwner *e = NULL;
	int			i;

	if (empty_owners == NULL)
		empty_owners = MemoryContextAllocZero(TopMemoryContext,
											  sizeof(EmptyOwner) * EMPTY_OWNER_BUCKETS * EMPTY_OWNER_WAYS);
	b = empty_bucket(owner_id);
	for (i = 0; i < EMPTY_OWNER_WAYS; i++)
	{
		EmptyOwner *c = &b[i];

		if (c->epoch == empty_epoch && c->owner_id == owner_id)
		{
			e = c;				/* noted again */
			break;
		}
		/* otherwise a free entry, or else the least recently used (wrap-safe) */
		if (e == NULL || (e->epoch == empty_epoch &&
						  (c->epoch != empty_epoch || (int32) (c->used - e->used) < 0)))
			e = c;
	}
	e->epoch = empty_epoch;
	e->owner_id = owner_id;
	e->noted_at = noted_at;
	e->changes = changes;
	e->used = ++empty_clock;
	empty_any = true;
}
