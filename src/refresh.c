/*-------------------------------------------------------------------------
 *
 * refresh.c
 *	  Keep this backend's compiled scopes equal to the committed contents
 *	  of categorize.patterns and categorize.corrections.
 *
 * Plain DML on a user table sends no invalidation, so every writer (the C
 * triggers on our tables, and therefore learn_correction() too) calls
 * CacheInvalidateRelcacheByRelid() on the table it changed.  That message
 * is transactional: other backends receive it when the writer commits, and
 * a hot standby replays it from the commit record after the commit became
 * visible there.  Our relcache callback only sets `stale`.
 *
 * The next call that finds `stale` set reads what changed since the last
 * refresh, and nothing else.  Every row carries change_xid, the transaction
 * that last wrote it.  We remember the snapshot F of the previous refresh;
 * the rows to apply now are those with change_xid >= F.xmin that F could
 * not see.  Both queries run under one fresh snapshot S, which becomes the
 * next F.  This needs no counter that writers would serialize on, and it
 * works on a standby, where snapshots list running transactions too.
 *
 * Rows are applied to the loaded scope they belong to, unless that scope's
 * base snapshot already saw them (a scope loaded after F).  Scopes not
 * loaded are left alone: they load fresh on first use.  A change of the
 * reload epoch (TRUNCATE, corrections updated or deleted) drops every
 * scope instead.
 *
 * The transaction's own rows are skipped here: triggers put them in the
 * transaction overlay.  Our own xid is added to the saved snapshot, so the
 * refresh after commit reads them like anyone else's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

#include "categorize.h"
#include "scope.h"

/* Must look for changes before the next use */
static bool stale = true;

/* Snapshot of the last refresh (F) */
static CatzSnapshot fetch_snap;
static MemoryContext fetch_cxt = NULL;

/* The extension's tables */
static CatzRelids relids;
static bool relids_valid = false;

/* This transaction wrote patterns or corrections */
static bool xact_wrote = false;

/* After a subtransaction abort: rebuild the transaction overlay */
static bool own_rows_reload = false;

/* Prepared change queries */
static SPIPlanPtr plan_epoch = NULL;
static SPIPlanPtr plan_patterns = NULL;
static SPIPlanPtr plan_tombstones = NULL;
static SPIPlanPtr plan_corrections = NULL;
static SPIPlanPtr plan_own_patterns = NULL;
static SPIPlanPtr plan_own_tombstones = NULL;
static SPIPlanPtr plan_own_corrections = NULL;

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
		return false;
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
static void
snapshot_add_xid(CatzSnapshot *snap, uint64 xid, MemoryContext cxt)
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

/* Forget the prepared change queries */
static void
forget_change_plans(void)
{
	SPIPlanPtr *plans[] = {&plan_epoch, &plan_patterns, &plan_tombstones, &plan_corrections,
	&plan_own_patterns, &plan_own_tombstones, &plan_own_corrections};
	size_t		i;

	for (i = 0; i < lengthof(plans); i++)
	{
		if (*plans[i])
			SPI_freeplan(*plans[i]);
		*plans[i] = NULL;
	}
}

/* Drop every scope and start over at the next refresh */
static void
full_reset(void)
{
	catz_scope_drop_all();
	forget_change_plans();
	if (fetch_cxt)
		MemoryContextReset(fetch_cxt);
	fetch_snap.valid = false;
	stale = true;
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
	relids_valid = true;
	return &relids;
}

void
catz_relcache_callback(Datum arg, Oid relid)
{
	/* InvalidOid: the invalidation queue overflowed, anything may have changed */
	if (!OidIsValid(relid) || !relids_valid ||
		relid == relids.patterns || relid == relids.corrections ||
		relid == relids.tombstones || relid == relids.epoch ||
		relid == relids.categories)
		stale = true;
}

void
catz_signal_change(void)
{
	CacheInvalidateRelcacheByRelid(catz_relids()->patterns);
}

void
catz_note_own_write(void)
{
	xact_wrote = true;
	stale = true;
}

bool
catz_xact_wrote(void)
{
	return xact_wrote;
}

void
catz_xact_callback(int event, void *arg)
{
	switch ((XactEvent) event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			catz_stats_end_xact(true);
			catz_engine_end_xact(true);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			catz_stats_end_xact(false);
			catz_engine_end_xact(false);
			break;
		default:
			return;
	}
	if (xact_wrote)
	{
		/* Our rows leave the overlay; the next refresh reads them if committed */
		catz_xact_reset();
		catz_scope_drop_temporary();
		stale = true;
	}
	xact_wrote = false;
}

void
catz_subxact_callback(int event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	/*
	 * An aborted subtransaction may have put rows in the transaction overlay
	 * that no longer exist.  Rare: drop what this transaction cached and
	 * reload what survives on next use.
	 */
	if ((SubXactEvent) event == SUBXACT_EVENT_ABORT_SUB && xact_wrote)
	{
		catz_xact_reset();
		catz_scope_drop_temporary();
		stale = true;
		/* The surviving rows are read back by the next refresh */
		own_rows_reload = true;
	}
}

void
catz_own_epoch_bump(void)
{
	/*
	 * Everything cached may be gone (TRUNCATE) or changed: reload scopes
	 * and the transaction overlay from what this transaction now sees.
	 */
	catz_scope_drop_all();
	forget_change_plans();
	catz_xact_reset();
	own_rows_reload = true;
	xact_wrote = true;
	stale = true;
}

/* Prepare a change query once */
static SPIPlanPtr
prepare_change(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	return *plan;
}

/* Run a change query from F.xmin under snapshot snap */
static uint64
run_change(SPIPlanPtr plan, Snapshot snap)
{
	Datum		args[1];
	int			rc;

	args[0] = FullTransactionIdGetDatum(FullTransactionIdFromU64(fetch_snap.xmin));
	rc = SPI_execute_snapshot(plan, args, NULL, snap, InvalidSnapshot, true, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "categorize: SPI_execute_snapshot returned %s",
			 SPI_result_code_string(rc));
	return SPI_processed;
}

/* The loaded scope a row of owner (has_owner, owner) belongs to, or NULL */
static CatzScope *
loaded_scope(bool has_owner, int64 owner)
{
	return has_owner ? catz_scope_owner(owner, false) : catz_scope_global_if_loaded();
}

/* Whether a change stamped xid must be applied to scope */
static bool
scope_needs(CatzScope *scope, uint64 xid)
{
	return scope != NULL && !scope->needs_reload &&
		!catz_snapshot_sees(&scope->base_snap, xid);
}

/* Apply pattern rows that changed after F */
static void
apply_pattern_changes(Snapshot snap, uint64 own)
{
	Oid			argtypes[1] = {XID8OID};
	uint64		n = run_change(prepare_change(&plan_patterns,
											  "SELECT " PATTERN_COLUMNS " FROM categorize.patterns "
											  "WHERE change_xid >= $1", 1, argtypes),
							   snap);
	uint64		i;

	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		uint64		xid = catz_row_xid(tup, SPI_tuptable->tupdesc, CATZ_PATTERN_XID_COLUMN);
		CatzPatternInput p;
		bool		active;
		CatzScope  *scope;

		CHECK_FOR_INTERRUPTS();
		if (xid == own || catz_snapshot_sees(&fetch_snap, xid))
			continue;
		catz_pattern_from_row(tup, SPI_tuptable->tupdesc, &p, &active);
		scope = loaded_scope((p.flags & CATZ_PF_OWNER) != 0, p.owner_id);
		if (!scope_needs(scope, xid))
			continue;
		if (active)
			catz_scope_put_pattern(scope, &p);
		else
			catz_scope_delete_pattern(scope, p.pattern_id);
	}
}

/* Apply pattern deletions after F */
static void
apply_tombstones(Snapshot snap, uint64 own)
{
	Oid			argtypes[1] = {XID8OID};
	uint64		n = run_change(prepare_change(&plan_tombstones,
											  "SELECT pattern_id, owner_id, change_xid "
											  "FROM categorize.pattern_tombstones "
											  "WHERE change_xid >= $1", 1, argtypes),
							   snap);
	uint64		i;

	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		uint64		xid = catz_row_xid(tup, desc, 3);
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		Datum		owner = SPI_getbinval(tup, desc, 2, &isnull);
		CatzScope  *scope;

		if (xid == own || catz_snapshot_sees(&fetch_snap, xid))
			continue;
		scope = loaded_scope(!isnull, isnull ? 0 : DatumGetInt64(owner));
		if (scope_needs(scope, xid))
			catz_scope_delete_pattern(scope, id);
	}
}

/* Apply corrections inserted after F to the models */
static void
apply_correction_changes(Snapshot snap, uint64 own)
{
	Oid			argtypes[1] = {XID8OID};
	uint64		n = run_change(prepare_change(&plan_corrections,
											  "SELECT owner_id, merchant_name, description, to_category_id, "
											  "learn_scope, change_xid FROM categorize.corrections "
											  "WHERE change_xid >= $1 AND learn_scope <> 'none'",
											  1, argtypes),
							   snap);
	uint64		i;

	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		uint64		xid = catz_row_xid(tup, desc, 6);
		bool		isnull;
		bool		has_owner;
		int64		owner = 0;
		CatzScope  *scope;
		CatzModelDoc doc;
		uint64		features[CATZ_MAX_FEATURES];
		char	   *m;
		char	   *d;
		int			mlen;
		int			dlen;
		Datum		v;

		CHECK_FOR_INTERRUPTS();
		if (xid == own || catz_snapshot_sees(&fetch_snap, xid))
			continue;
		v = SPI_getbinval(tup, desc, 1, &isnull);
		has_owner = !isnull;
		if (has_owner)
			owner = DatumGetInt64(v);
		scope = loaded_scope(has_owner, owner);
		if (!scope_needs(scope, xid))
			continue;
		m = SPI_getvalue(tup, desc, 2);
		d = SPI_getvalue(tup, desc, 3);
		mlen = m ? strlen(m) : 0;
		dlen = d ? strlen(d) : 0;
		doc.category_id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		doc.nfeatures = catz_doc_features(m, mlen, d, dlen, features, CATZ_MAX_FEATURES);
		doc.features = features;
		catz_scope_add_doc(scope, &doc);
	}
}

/* Run a query for this transaction's own rows */
static uint64
run_own(SPIPlanPtr plan, uint64 own)
{
	Datum		args[1];
	int			rc;

	args[0] = FullTransactionIdGetDatum(FullTransactionIdFromU64(own));
	rc = SPI_execute_plan(plan, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "categorize: SPI_execute_plan returned %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * Rebuild the transaction overlay from the rows this transaction wrote and
 * still has (after a subtransaction rolled some back)
 */
static void
reload_own_rows(uint64 own)
{
	Oid			argtypes[1] = {XID8OID};
	uint64		n;
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "categorize: SPI_connect failed");
	n = run_own(prepare_change(&plan_own_patterns,
							   "SELECT " PATTERN_COLUMNS " FROM categorize.patterns "
							   "WHERE change_xid = $1", 1, argtypes), own);
	for (i = 0; i < n; i++)
	{
		CatzPatternInput p;
		bool		active;

		catz_pattern_from_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &p, &active);
		if (active)
			catz_xact_put_pattern(&p);
		else
			catz_xact_delete_pattern(p.pattern_id);
	}
	n = run_own(prepare_change(&plan_own_tombstones,
							   "SELECT pattern_id FROM categorize.pattern_tombstones "
							   "WHERE change_xid = $1", 1, argtypes), own);
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		catz_xact_delete_pattern(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull)));
	}
	n = run_own(prepare_change(&plan_own_corrections,
							   "SELECT owner_id, merchant_name, description, to_category_id "
							   "FROM categorize.corrections "
							   "WHERE change_xid = $1 AND learn_scope <> 'none'", 1, argtypes), own);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		no_owner;
		bool		isnull;
		Datum		owner = SPI_getbinval(tup, desc, 1, &no_owner);
		char	   *m = SPI_getvalue(tup, desc, 2);
		char	   *d = SPI_getvalue(tup, desc, 3);
		uint64		features[CATZ_MAX_FEATURES];
		CatzModelDoc doc;

		doc.category_id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		doc.nfeatures = catz_doc_features(m, m ? strlen(m) : 0, d, d ? strlen(d) : 0,
										  features, CATZ_MAX_FEATURES);
		doc.features = features;
		catz_xact_add_doc(!no_owner, no_owner ? 0 : DatumGetInt64(owner), no_owner, &doc);
	}
	SPI_finish();
}

/* Whether the reload epoch changed after F */
static bool
epoch_changed(Snapshot snap)
{
	uint64		n;
	bool		changed = false;

	n = run_change(prepare_change(&plan_epoch,
								  "SELECT change_xid FROM categorize.reload_epoch WHERE change_xid >= $1",
								  1, (Oid[]) {XID8OID}),
				   snap);
	if (n > 0)
	{
		uint64		xid = catz_row_xid(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		changed = xid != catz_own_fxid() && !catz_snapshot_sees(&fetch_snap, xid);
	}
	return changed;
}

/* Save snap as F, with our own xid as running */
static void
save_fetch_snapshot(Snapshot snap)
{
	if (fetch_cxt == NULL)
		fetch_cxt = AllocSetContextCreate(TopMemoryContext, "categorize refresh",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(fetch_cxt);
	if (catz_snapshot_copy(snap, fetch_cxt, &fetch_snap))
		snapshot_add_xid(&fetch_snap, catz_own_fxid(), fetch_cxt);
}

void
catz_refresh(void)
{
	Snapshot	snap;
	uint64		own;
	bool		reset = false;

	if (!stale)
		return;

	/* The tables may have been dropped and recreated */
	if (relids_valid)
	{
		Oid			nsp = get_namespace_oid("categorize", true);

		if (!OidIsValid(nsp) || nsp != relids.namespace ||
			get_relname_relid("patterns", nsp) != relids.patterns)
		{
			relids_valid = false;
			full_reset();
		}
	}
	(void) catz_relids();

	snap = RegisterSnapshot(catz_fresh_snapshot());
	own = catz_own_fxid();

	if (fetch_snap.valid)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "categorize: SPI_connect failed");
		if (epoch_changed(snap))
			reset = true;
		else
		{
			apply_pattern_changes(snap, own);
			apply_tombstones(snap, own);
			apply_correction_changes(snap, own);
		}
		SPI_finish();
	}
	else
		reset = true;

	if (reset)
	{
		catz_scope_drop_all();
		forget_change_plans();
	}
	save_fetch_snapshot(snap);
	UnregisterSnapshot(snap);

	/* The transaction overlay must hold this transaction's surviving rows */
	if (own_rows_reload)
	{
		own_rows_reload = false;
		if (own != 0)
			reload_own_rows(own);
	}

	stale = false;
}
