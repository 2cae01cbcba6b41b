/*-------------------------------------------------------------------------
 *
 * owner_heat.c
 *	  How often each owner's scope is asked for, for the eviction of owner
 *	  scopes from the shared cache: a count-min sketch that ages.
 *
 * Least recently used is a poor guess of what to keep when a few owners
 * make most of the calls and many make a few (a Zipf-like load): every
 * cold owner that passes through pushes out a busy one that was idle for a
 * moment.  So eviction asks how often an owner was asked for, and keeps the
 * busiest (ties: the most recently used).  The counts must outlive the
 * scope itself (an evicted busy owner comes back busy), so they live here,
 * not in the scope: CATZ_HEAT_ROWS rows of counters, each indexed by its own
 * hash of (database, owner); an owner's heat is the least of its counters,
 * which collisions can only raise.  After every 8 x (counters of a row)
 * calls every counter is halved, so the counts follow a load that changes.
 *
 * Counters are updated without a lock and without an atomic
 * read-modify-write (a locked instruction on every call, on cache lines
 * all backends write): a read and a write, so two backends touching one
 * counter at the same moment may count once, and a lost halving race only
 * makes some counts twice too large for a while.  Heat ranks owners for
 * eviction; it needs to be about right, not exact.  The count of calls
 * since the last halving, one cache line every backend would write on
 * every call, is added to in batches of HEAT_CALLS_BATCH per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bitutils.h"
#include "storage/shmem.h"

#include "shmem/shmem.h"

#define CATZ_HEAT_ROWS 4

/* Calls a backend counts before it adds them to the shared count */
#define HEAT_CALLS_BATCH 64

typedef struct OwnerHeat
{
	uint32		mask;			/* counters of a row, minus one */
	pg_atomic_uint64 calls;		/* since the last halving */
	pg_atomic_uint32 halving;	/* 1 while a backend halves */
	pg_atomic_uint32 counters[FLEXIBLE_ARRAY_MEMBER];	/* ROWS x (mask + 1) */
} OwnerHeat;

static OwnerHeat *heat = NULL;
static uint32 calls_here = 0;	/* this backend's, not yet in heat->calls */

/* Counters of a row: a power of two at least the owners the cache may hold */
static uint32
row_width(void)
{
	return pg_nextpower2_32((uint32) Max(catz_max_cached_owners, 1024));
}

static Size
heat_shmem_size(void)
{
	return add_size(offsetof(OwnerHeat, counters),
					mul_size(sizeof(pg_atomic_uint32), mul_size(CATZ_HEAT_ROWS, row_width())));
}

static void
heat_shmem_startup(bool fresh)
{
	bool		found;
	uint32		i;
	uint32		n = CATZ_HEAT_ROWS * row_width();

	heat = ShmemInitStruct("categorize owner heat", heat_shmem_size(), &found);
	if (!found)
	{
		heat->mask = row_width() - 1;
		pg_atomic_init_u64(&heat->calls, 0);
		pg_atomic_init_u32(&heat->halving, 0);
		for (i = 0; i < n; i++)
			pg_atomic_init_u32(&heat->counters[i], 0);
	}
}

/* The counter of (db, owner) in row r */
static pg_atomic_uint32 *
counter(Oid dboid, int64 owner_id, int r)
{
	uint64		key[2] = {(uint64) dboid, (uint64) owner_id};
	uint64		h = catz_hash_bytes(key, sizeof(key), 0x68656174ull + (uint64) r);

	return &heat->counters[(uint32) r * (heat->mask + 1) + ((uint32) h & heat->mask)];
}

/* Halve every counter (one backend at a time) */
static void
halve_all(void)
{
	uint32		expected = 0;
	uint32		n = CATZ_HEAT_ROWS * (heat->mask + 1);
	uint32		i;

	if (!pg_atomic_compare_exchange_u32(&heat->halving, &expected, 1))
		return;
	pg_atomic_write_u64(&heat->calls, 0);
	for (i = 0; i < n; i++)
	{
		uint32		v = pg_atomic_read_u32(&heat->counters[i]);

		if (v > 0)
			pg_atomic_write_u32(&heat->counters[i], v / 2);
	}
	pg_atomic_write_u32(&heat->halving, 0);
}

void
catz_owner_heat_touch(Oid dboid, int64 owner_id)
{
	int			r;

	if (heat == NULL)
		return;
	for (r = 0; r < CATZ_HEAT_ROWS; r++)
	{
		pg_atomic_uint32 *c = counter(dboid, owner_id, r);

		uint32		v = pg_atomic_read_u32(c);

		if (v < PG_UINT32_MAX / 2)
			pg_atomic_write_u32(c, v + 1);
	}
	if (++calls_here < HEAT_CALLS_BATCH)
		return;
	calls_here = 0;
	if (pg_atomic_add_fetch_u64(&heat->calls, HEAT_CALLS_BATCH) >= (uint64) 8 * (heat->mask + 1))
		halve_all();
}

uint32
catz_owner_heat(Oid dboid, int64 owner_id)
{
	uint32		least = PG_UINT32_MAX;
	int			r;

	if (heat == NULL)
		return 0;
	for (r = 0; r < CATZ_HEAT_ROWS; r++)
		least = Min(least, pg_atomic_read_u32(counter(dboid, owner_id, r)));
	return least;
}

void
catz_owner_heat_init(void)
{
	catz_shmem_add_part(heat_shmem_size, heat_shmem_startup);
}
