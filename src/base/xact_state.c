/*-------------------------------------------------------------------------
 *
 * xact_state.c
 *	  Transaction and snapshot state: 64-bit copies of MVCC snapshots,
 *	  this transaction's id and whether it wrote, the extension's tables,
 *	  and the signal that tells every backend the compiled state changed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "base/base.h"

/* The extension's tables */
static CatzRelids relids;
static bool relids_valid = false;

/* This transaction wrote patterns or corrections; how many times */
static bool xact_wrote = false;
static uint64 own_writes = 0;
static uint32 xact_tables = 0;

/* This transaction queued the change signal; rows it wrote */
static bool xact_signalled = false;
static uint64 xact_writes = 0;


/* Compare two uint64 for qsort and bsearch */
static int
cmp_u64(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return (x > y) - (x < y);
}

bool
catz_snapshot_sees(const CatzSnapshot *snap, uint64 xid)
{
	if (!snap->valid)
		return false;
	if (xid < snap->xmin)
		return true;
	if (xid >= snap->xmax)
	{
		int			i;

		for (i = 0; i < snap->nseen; i++)
			if (snap->seen[i] == xid)
				return true;
		return false;
	}
	return bsearch(&xid, snap->xip, snap->nxip, sizeof(uint64), cmp_u64) == NULL;
}

/* Widen a 32-bit xid of a recent snapshot to 64 bits, given the next fxid */
static uint64
widen_xid(TransactionId xid, FullTransactionId next)
{
	uint64		next64 = U64FromFullTransactionId(next);
	uint32		epoch = EpochFromFullTransactionId(next);

	if (!TransactionIdIsNormal(xid))
		return (uint64) xid;
	/* An xid numerically above the next xid belongs to the previous epoch */
	if (xid > XidFromFullTransactionId(next) && epoch > 0)
		epoch--;
	(void) next64;
	return ((uint64) epoch << 32) | xid;
}

bool
catz_snapshot_copy(Snapshot snap, MemoryContext cxt, CatzSnapshot *out)
{
	FullTransactionId next = ReadNextFullTransactionId();
	int			n = snap->xcnt + (snap->subxcnt > 0 ? snap->subxcnt : 0);
	uint32		i;
	int			w = 0;

	out->valid = false;
	out->nseen = 0;
	out->seen = NULL;
	out->xmin = widen_xid(snap->xmin, next);
	out->xmax = widen_xid(snap->xmax, next);
	out->xip = MemoryContextAlloc(cxt, sizeof(uint64) * (n + 1));
	for (i = 0; i < snap->xcnt; i++)
		out->xip[w++] = widen_xid(snap->xip[i], next);
	for (i = 0; i < (uint32) snap->subxcnt; i++)
		out->xip[w++] = widen_xid(snap->subxip[i], next);
	qsort(out->xip, w, sizeof(uint64), cmp_u64);
	out->nxip = w;

	/*
	 * A snapshot taken during recovery keeps every running xid in subxip; if
	 * that array overflowed, we cannot tell which rows it saw.
	 */
	if (snap->takenDuringRecovery && snap->suboverflowed)
		return false;
	out->valid = true;
	return true;
}

/* Add our own xid to a saved snapshot, so our rows count as unseen */
void
catz_snapshot_add_xid(CatzSnapshot *snap, uint64 xid, MemoryContext cxt)
{
	uint64	   *xip;

	if (xid == 0 || xid < snap->xmin || !catz_snapshot_sees(snap, xid))
		return;
	xip = MemoryContextAlloc(cxt, sizeof(uint64) * (snap->nxip + 1));
	memcpy(xip, snap->xip, sizeof(uint64) * snap->nxip);
	xip[snap->nxip++] = xid;
	qsort(xip, snap->nxip, sizeof(uint64), cmp_u64);
	pfree(snap->xip);
	snap->xip = xip;
}

Snapshot
catz_fresh_snapshot(void)
{
	/* Parallel workers must use the leader's snapshot */
	if (IsInParallelMode())
		return GetActiveSnapshot();
	return GetLatestSnapshot();
}

uint64
catz_own_fxid(void)
{
	FullTransactionId fxid;

	if (!IsTransactionState())
		return 0;
	fxid = GetTopFullTransactionIdIfAny();
	return FullTransactionIdIsValid(fxid) ? U64FromFullTransactionId(fxid) : 0;
}

const CatzRelids *
catz_relids(void)
{
	Oid			nsp;

	if (relids_valid)
		return &relids;
	nsp = get_namespace_oid("categorize", true);
	if (!OidIsValid(nsp) ||
		!OidIsValid(relids.patterns = get_relname_relid("patterns", nsp)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"categorize\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION categorize.")));
	relids.namespace = nsp;
	relids.categories = get_relname_relid("categories", nsp);
	relids.corrections = get_relname_relid("corrections", nsp);
	relids.tombstones = get_relname_relid("pattern_tombstones", nsp);
	relids.epoch = get_relname_relid("reload_epoch", nsp);
	relids.signal = get_relname_relid("change_signal", nsp);	/* from 1.1 */
	relids.feedback = get_relname_relid("pattern_feedback", nsp);	/* from 1.3 */
	relids_valid = true;
	return &relids;
}

void
catz_signal_change(void)
{
	const CatzRelids *r = catz_relids();

	/* The signal table: no cached plan depends on it (1.0 has none) */
	CacheInvalidateRelcacheByRelid(OidIsValid(r->signal) ? r->signal : r->patterns);
	xact_signalled = true;
}

bool
catz_xact_signalled(void)
{
	return xact_signalled;
}

void
catz_note_own_write(uint32 tables)
{
	xact_wrote = true;
	own_writes++;
	xact_writes++;
	xact_tables |= tables;
}

uint32
catz_xact_tables_written(void)
{
	return xact_tables;
}

uint64
catz_xact_writes(void)
{
	return xact_writes;
}

uint64
catz_own_writes(void)
{
	return own_writes;
}

void
catz_xact_state_end(void)
{
	xact_wrote = false;
	xact_signalled = false;
	xact_writes = 0;
	xact_tables = 0;
}

/*
 * Whether the known tables are gone (the extension was dropped, maybe
 * created again): then they are forgotten, to be looked up at next use
 */
bool
catz_relids_recheck(void)
{
	Oid			nsp;

	if (!relids_valid)
		return false;
	nsp = get_namespace_oid("categorize", true);
	if (OidIsValid(nsp) && nsp == relids.namespace &&
		get_relname_relid("patterns", nsp) == relids.patterns)
		return false;
	relids_valid = false;
	return true;
}

/*
 * Whether relid may be one of the extension's tables: before they are
 * known, and for InvalidOid (the invalidation queue overflowed), it may
 */
bool
catz_relids_may_be_ours(Oid relid)
{
	return !OidIsValid(relid) || !relids_valid ||
		relid == relids.patterns || relid == relids.corrections ||
		relid == relids.tombstones || relid == relids.epoch ||
		relid == relids.categories || relid == relids.signal;
}

bool
catz_xact_wrote(void)
{
	return xact_wrote;
}
