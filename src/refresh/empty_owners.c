/*-------------------------------------------------------------------------
 *
 * empty_owners.c
 *	  The owners this backend found to have nothing of their own (no
 *	  pattern, no correction), whose shared scope a call need not pin.
 *
 * Most owners never wrote a pattern or a correction, and their shared
 * scope is empty; pinning it (the owner index under catz_shared->lock, its
 * reference count and lock, its heat) costs a call more than matching it.
 * This backend remembers the owners whose scope it found empty, and skips
 * their scope until its next refresh: any commit that writes our tables
 * sends an invalidation that marks the backend stale (refresh.c), so the
 * refresh that follows, which every call runs first, forgets them all
 * (catz_forget_empty_owners).  What an owner's scope would hold is then
 * never staler than the shared scope itself.  An entry also lapses after
 * categorize.owner_cache_ttl, like the shared scope it stands for.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "refresh/refresh.h"

/* Slots of the table (a power of 2); full, it starts over */
#define EMPTY_OWNER_SLOTS 4096
#define EMPTY_OWNER_MAX (EMPTY_OWNER_SLOTS / 2)

typedef struct EmptyOwner
{
	int64		owner_id;
	TimestampTz noted_at;		/* statement start when found empty */
	uint32		epoch;			/* the table's epoch when noted */
} EmptyOwner;

static EmptyOwner *empty_owners = NULL;
static uint32 empty_epoch = 1;	/* slots of other epochs are free */
static int	empty_count = 0;

static inline uint32
empty_slot(int64 owner_id)
{
	uint64		h = (uint64) owner_id * UINT64CONST(0x9E3779B97F4A7C15);

	return (uint32) (h >> 32) & (EMPTY_OWNER_SLOTS - 1);
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

bool
catz_owner_known_empty(int64 owner_id)
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
			return catz_owner_cache_ttl_s == 0 ||
				GetCurrentStatementStartTimestamp() - e->noted_at <=
				(int64) catz_owner_cache_ttl_s * USECS_PER_SEC;
	}
}

void
catz_note_owner_empty(int64 owner_id)
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
}
