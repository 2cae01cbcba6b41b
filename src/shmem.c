/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  The shared memory of categorize, requested at postmaster start.
 *
 * Layout of the "categorize" segment:
 *	CatzStats	statistics counters (pg_atomic_uint64; no lock)
 *
 * Locking protocol: the segment is initialized once under
 * AddinShmemInitLock by the first process that attaches; the counters are
 * atomics and need no lock afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "categorize.h"

/* Size of the segment */
static Size
shmem_size(void)
{
	return catz_stats_shmem_size();
}

void
catz_shmem_request(void)
{
	RequestAddinShmemSpace(shmem_size());
}

void
catz_shmem_startup(void)
{
	bool		found;
	char	   *base;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	base = ShmemInitStruct("categorize", shmem_size(), &found);
	catz_stats_shmem_init(base, found);
	LWLockRelease(AddinShmemInitLock);
}
