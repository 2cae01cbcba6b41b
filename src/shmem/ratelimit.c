/*-------------------------------------------------------------------------
 *
 * ratelimit.c
 *	  A token bucket per owner in shared memory that limits
 *	  learn_correction(): categorize.max_corrections_per_minute.
 *
 * One user must not flood the learned patterns that others may get by
 * promotion.  A bucket holds up to max_corrections_per_minute tokens and
 * refills at that rate; a correction takes one token, and a correction
 * without a token fails (SQLSTATE 53400) before anything is written.
 *
 * The buckets are a fixed array of RATE_SLOTS slots indexed by a hash of
 * the owner (corrections without an owner share one key), each behind its
 * own spinlock.  A slot belongs to the last owner that used it; another
 * owner hashed to the same slot takes it over once it is full again (the
 * first owner was idle for a minute), and until then the two share it, so
 * a collision can only make a limit stricter, never looser.
 *
 * Without shared_preload_libraries there is no shared memory and no limit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "shmem/shmem.h"

/* Slots of the table: 16384 x 32 bytes */
#define RATE_SLOTS		16384

/* Key of corrections without an owner */
#define NO_OWNER_KEY	((uint64) 0x6e6f206f776e6572ull)

typedef struct RateSlot
{
	slock_t		mutex;
	uint64		key;			/* owner the slot belongs to */
	double		tokens;
	TimestampTz refilled_at;
} RateSlot;

int			catz_max_corrections_per_minute = 6000;

static RateSlot *rate_slots = NULL;

static Size
ratelimit_shmem_size(void)
{
	return mul_size(RATE_SLOTS, sizeof(RateSlot));
}

static void
ratelimit_shmem_startup(bool fresh)
{
	bool		found;
	int			i;

	rate_slots = ShmemInitStruct("categorize rate limits", ratelimit_shmem_size(), &found);
	if (!found)
	{
		for (i = 0; i < RATE_SLOTS; i++)
		{
			SpinLockInit(&rate_slots[i].mutex);
			rate_slots[i].key = 0;
			rate_slots[i].tokens = -1;	/* unused: full at first use */
			rate_slots[i].refilled_at = 0;
		}
	}
}

void
catz_ratelimit_take(bool has_owner, int64 owner)
{
	uint64		key = has_owner ? (uint64) owner : NO_OWNER_KEY;
	double		capacity = catz_max_corrections_per_minute;
	RateSlot   *slot;
	TimestampTz now;
	bool		granted;

	if (rate_slots == NULL || catz_max_corrections_per_minute <= 0)
		return;
	slot = &rate_slots[catz_hash_bytes(&key, sizeof(key), 0x72617465ull) % RATE_SLOTS];
	now = GetCurrentTimestamp();

	SpinLockAcquire(&slot->mutex);
	if (slot->tokens < 0)
		slot->tokens = capacity;
	else
		slot->tokens = Min(capacity, slot->tokens +
						   capacity * (double) (now - slot->refilled_at) / (60.0 * USECS_PER_SEC));
	slot->refilled_at = now;
	if (slot->key != key && slot->tokens >= capacity)
		slot->key = key;		/* idle long enough: the slot changes hands */
	granted = slot->tokens >= 1.0;
	if (granted)
		slot->tokens -= 1.0;
	SpinLockRelease(&slot->mutex);

	if (!granted)
	{
		char		who[32];

		if (has_owner)
			snprintf(who, sizeof(who), "owner %lld", (long long) owner);
		else
			strlcpy(who, "corrections without an owner", sizeof(who));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many corrections for %s", who),
				 errdetail("categorize.max_corrections_per_minute is %d.",
						   catz_max_corrections_per_minute),
				 errhint("Retry later; an administrator can raise categorize.max_corrections_per_minute for a role or database.")));
	}
}

void
catz_ratelimit_init(void)
{
	catz_shmem_add_part(ratelimit_shmem_size, ratelimit_shmem_startup);
	DefineCustomIntVariable("categorize.max_corrections_per_minute",
							"Corrections one owner may make per minute (learn_correction); 0 means no limit.",
							"A token bucket per owner in shared memory: bursts up to the limit, refilled at the limit per minute. A superuser setting, per role or database.",
							&catz_max_corrections_per_minute,
							6000,
							0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}
