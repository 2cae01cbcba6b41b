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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "refresh/refresh.h"
#include "shmem/shmem.h"

/* Slots of the table (a power of 2); full, it starts over */
#define EMPTY_OWNER_SLOTS 4096
#define EMPTY_OWNER_MAX (EMPTY_OWNER_SLOTS / 2)

typedef struct EmptyOwner
{
	int64		owner_id;
	TimestampTz noted_at;		/* statement start when found empty */
	uint32		changes;		/* its owner_changes count before it was looked at */
	uint32		epoch;			/* the table's epoch when noted */
} EmptyOwner;

static EmptyOwner *empty_owners = NULL;
static uint32 empty_epoch = 1;	/* slots of other epochs are free */
static int	empty_count = 0;

static inline uint32
empty_slot(int64 owner_id)
{
	return (uint32) (catz_owner_hash(owner_id) >> 32) & (EMPTY_OWNER_SLOTS - 1);
}

void
catz_forget_empty_owners(void)
{
	if (empty_count == 0)
		return;
	empty_count = 0;
	if (++empty_epoch == 0)
	{
		/* the epoch wrapped: old slots could look current */
		memset(empty_owners, 0, sizeof(EmptyOwner) * EMPTY_OWNER_SLOTS);
		empty_epoch = 1;
	}
}

uint32
catz_owner_changes(CatzSharedDb *db, int64 owner_id)
{
	uint32		changes = pg_atomic_read_u32(&db->owners_retired) +
		pg_atomic_read_u32(catz_owner_changes_of(db, owner_id));

	pg_read_barrier();			/* read before anything of the owner's scope */
	return changes;
}

void
catz_owner_changed(CatzSharedDb *db, int64 owner_id)
{
	pg_atomic_fetch_add_u32(catz_owner_changes_of(db, owner_id), 1);
}

bool
catz_owner_known_empty(int64 owner_id, uint32 changes)
{
	uint32		i;

	if (empty_count == 0)
		return false;
	for (i = empty_slot(owner_id);; i = (i + 1) & (EMPTY_OWNER_SLOTS - 1))
	{
		EmptyOwner *e = &empty_owners[i];

		if (e->epoch != empty_epoch)
			return false;
		if (e->owner_id == owner_id)
			return e->changes == changes &&
				(catz_owner_cache_ttl_s == 0 ||
				GetCurrentStatementStartTimestamp() - e->noted_at <=
				 (int64) catz_owner_cache_ttl_s * USECS_PER_SEC);
	}
}

void
catz_note_owner_empty(int64 owner_id, uint32 changes)
{
	uint32		i;

	if (empty_owners == NULL)
		empty_owners = MemoryContextAllocZero(TopMemoryContext,
											  sizeof(EmptyOwner) * EMPTY_OWNER_SLOTS);
	if (empty_count >= EMPTY_OWNER_MAX)
		catz_forget_empty_owners();
	for (i = empty_slot(owner_id);; i = (i + 1) & (EMPTY_OWNER_SLOTS - 1))
	{
		EmptyOwner *e = &empty_owners[i];

		if (e->epoch != empty_epoch)
		{
			e->epoch = empty_epoch;
			e->owner_id = owner_id;
			empty_count++;
			break;
		}
		if (e->owner_id == owner_id)
			break;
	}
	empty_owners[i].noted_at = GetCurrentStatementStartTimestamp();
	empty_owners[i].changes = changes;
}
