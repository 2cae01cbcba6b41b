/*-------------------------------------------------------------------------
 *
 * changes.c
 *	  Read the rows of patterns and corrections that changed since a
 *	  snapshot, and hand them to a sink that applies them.
 *
 * Every row carries change_xid, the transaction that last wrote it.  Given
 * the snapshot F of the previous read, the changed rows are those with
 * change_xid >= F.xmin (an index range) that F could not see.  The query
 * runs under a fresh snapshot S, which the caller keeps as the next F, so
 * nothing committed is ever missed and nothing is read twice on purpose
 * (sinks still check each scope's own base snapshot: a scope loaded after
 * F already holds some of these rows).
 *
 * Rows written by the current transaction are skipped: the triggers put
 * them in the transaction overlay, and the caller adds our xid to S, so the
 * read after commit returns them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/resowner.h"
#include "utils/xid8.h"

#include "refresh/refresh.h"

/* Prepared queries, kept across transactions */
static SPIPlanPtr plan_epoch = NULL;
static SPIPlanPtr plan_patterns = NULL;
static SPIPlanPtr plan_tombstones = NULL;
static SPIPlanPtr plan_corrections = NULL;

void
catz_changes_forget_plans(void)
{
	SPIPlanPtr *plans[] = {&plan_epoch, &plan_patterns, &plan_tombstones, &plan_corrections};
	size_t		i;

	for (i = 0; i < lengthof(plans); i++)
	{
		if (*plans[i])
			SPI_freeplan(*plans[i]);
		*plans[i] = NULL;
	}
}

/*
 * Make the generic plan of a new or invalidated query now, without
 * sequential scans and without JIT.  The plan is kept for the backend's
 * life (or until an invalidation), and our tables start empty: planned
 * while the statistics say a table is empty (a new installation, a table
 * analyzed before its first rows, autovacuum off), it would be a
 * sequential scan, kept while the table grows, and every commit of a
 * correction read the whole corrections table back.  A range of
 * change_xid is few rows of its index.  JIT off: a plan that must take a
 * disabled sequential scan (the one-row reload_epoch has no other path)
 * costs above jit_above_cost, and compiling it at every run took longer
 * than a correction.
 */
static void
plan_by_index(SPIPlanPtr plan)
{
	int			nestlevel = NewGUCNestLevel();
	CachedPlan *cplan;

	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	cplan = SPI_plan_get_cached_plan(plan);
	if (cplan)
		ReleaseCachedPlan(cplan, CurrentResourceOwner);
	AtEOXact_GUC(true, nestlevel);
}

/*
 * Prepare a query once, with xid8 parameters $1 and $2: a generic plan,
 * kept.  The queries ask for change_xid BETWEEN $1 AND $2 (the upper bound
 * is no bound in practice): a one-sided range gives a generic plan a third
 * of the table, so the plan cache would keep planning a custom plan at
 * every call; a two-sided one is estimated selective, and the generic plan
 * reads the change_xid index.
 */
static SPIPlanPtr
prepare_xid(SPIPlanPtr *plan, const char *sql)
{
	Oid			argtypes[2] = {XID8OID, XID8OID};
	bool		replan = (*plan == NULL || !SPI_plan_is_valid(*plan));

	catz_spi_prepare_kept(plan, sql, 2, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (replan)
		plan_by_index(*plan);
	return *plan;
}

/* Run a prepared query with the xids lo, hi as $1, $2, under snap (or the current one) */
static uint64
run_xid(SPIPlanPtr plan, uint64 lo, uint64 hi, Snapshot snap)
{
	Datum		args[2];
	int			rc;

	args[0] = FullTransactionIdGetDatum(FullTransactionIdFromU64(lo));
	args[1] = FullTransactionIdGetDatum(FullTransactionIdFromU64(hi));
	if (snap)
		rc = SPI_execute_snapshot(plan, args, NULL, snap, InvalidSnapshot, true, false, 0);
	else
		rc = SPI_execute_plan(plan, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "categorize: reading changes failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* A changed row goes to the sink unless F saw it or it is our own */
static bool
wanted(const CatzChangeRead *r, uint64 xid)
{
	return xid != r->own && !catz_snapshot_sees(r->since, xid);
}

/* Whether r reads one scope's rows and a row of this owner is not one */
static bool
other_scope(const CatzChangeRead *r, bool has_owner, int64 owner)
{
	if (r == NULL || r->only == NULL)
		return false;
	return r->only->global ? has_owner : (!has_owner || owner != r->only->owner_id);
}

/* Owner of a row (column col); false when NULL */
static bool
row_owner(HeapTuple tup, TupleDesc desc, int col, int64 *owner)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	*owner = isnull ? 0 : DatumGetInt64(d);
	return !isnull;
}

/* The changed rows of categorize.patterns: puts and deletes */
static void
read_patterns(uint64 lo, uint64 hi, Snapshot snap, const CatzChangeRead *r,
			  CatzChangeSink sink, void *arg)
{
	uint64		n;
	uint64		i;
	CatzPatternColumns cols;

	n = run_xid(prepare_xid(&plan_patterns,
							"SELECT " PATTERN_COLUMNS " FROM categorize.patterns "
							"WHERE change_xid BETWEEN $1 AND $2"),
				lo, hi, snap);
	if (n > 0)
		catz_pattern_columns(SPI_tuptable->tupdesc, &cols);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		uint64		xid = catz_row_xid(tup, SPI_tuptable->tupdesc, cols.xid_attnum);
		CatzPatternInput p;
		bool		active;
		CatzBlobChange c = {0};

		CHECK_FOR_INTERRUPTS();
		if (r && !wanted(r, xid))
			continue;
		if (r && r->only)
		{
			int64		owner;
			bool		has_owner = row_owner(tup, SPI_tuptable->tupdesc, cols.owner_attnum, &owner);

			if (other_scope(r, has_owner, owner))
				continue;
		}
		catz_pattern_from_row(tup, SPI_tuptable->tupdesc, &cols, &p, &active);
		c.op = active ? CATZ_CHANGE_PUT : CATZ_CHANGE_DELETE;
		c.pattern = &p;
		c.pattern_id = p.pattern_id;
		sink(arg, (p.flags & CATZ_PF_OWNER) != 0, p.owner_id, xid, &c);
	}
}

/* The changed rows of categorize.pattern_tombstones: deletes */
static void
read_tombstones(uint64 lo, uint64 hi, Snapshot snap, const CatzChangeRead *r,
				CatzChangeSink sink, void *arg)
{
	uint64		n;
	uint64		i;

	n = run_xid(prepare_xid(&plan_tombstones,
							"SELECT pattern_id, owner_id, change_xid FROM categorize.pattern_tombstones "
							"WHERE change_xid BETWEEN $1 AND $2"),
				lo, hi, snap);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		uint64		xid = catz_row_xid(tup, desc, 3);
		int64		owner;
		bool		has_owner;
		CatzBlobChange c = {.op = CATZ_CHANGE_DELETE};

		if (r && !wanted(r, xid))
			continue;
		has_owner = row_owner(tup, desc, 2, &owner);
		if (other_scope(r, has_owner, owner))
			continue;
		(void) catz_col_int64(tup, desc, 1, &c.pattern_id);
		sink(arg, has_owner, owner, xid, &c);
	}
}

/* The changed rows of categorize.corrections: documents */
static void
read_corrections(uint64 lo, uint64 hi, Snapshot snap, const CatzChangeRead *r,
				 CatzChangeSink sink, void *arg)
{
	uint64		n;
	uint64		i;

	n = run_xid(prepare_xid(&plan_corrections,
							"SELECT owner_id, merchant_name, description, to_category_id, change_xid, "
							"       amount::pg_catalog.float8 "
							"FROM categorize.corrections "
							"WHERE change_xid BETWEEN $1 AND $2 AND learn_scope IN ('all', 'owner')"),
				lo, hi, snap);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		uint64		xid = catz_row_xid(tup, desc, 5);
		uint64		features[CATZ_MAX_FEATURES];
		CatzModelDoc doc;
		int64		owner;
		bool		has_owner;
		CatzBlobChange c = {.op = CATZ_CHANGE_DOC,.doc = &doc};

		CHECK_FOR_INTERRUPTS();
		if (r && !wanted(r, xid))
			continue;
		has_owner = row_owner(tup, desc, 1, &owner);
		if (other_scope(r, has_owner, owner))
			continue;
		catz_doc_from_row(tup, desc, 2, 6, &doc, features);
		sink(arg, has_owner, owner, xid, &c);
	}
}

/*
 * Read the rows of tables (CATZ_WROTE_*) written by transactions lo..hi
 * under snap (NULL: the current snapshot) and pass each one that r wants
 * (r NULL: every one) to the sink, as a change to apply
 */
static void
read_changes(uint64 lo, uint64 hi, Snapshot snap, const CatzChangeRead *r,
			 uint32 tables, CatzChangeSink sink, void *arg)
{
	if (tables & CATZ_WROTE_PATTERNS)
		read_patterns(lo, hi, snap, r, sink, arg);
	if (tables & CATZ_WROTE_TOMBSTONES)
		read_tombstones(lo, hi, snap, r, sink, arg);
	if (tables & CATZ_WROTE_CORRECTIONS)
		read_corrections(lo, hi, snap, r, sink, arg);
}

bool
catz_changes_read(const CatzChangeRead *r, CatzChangeSink sink, void *arg)
{
	uint64		from = r->since->xmin;
	uint64		n;

	/* TRUNCATE, or corrections changed other than by insert: reload everything */
	n = run_xid(prepare_xid(&plan_epoch,
							"SELECT change_xid FROM categorize.reload_epoch WHERE change_xid BETWEEN $1 AND $2"),
				from, PG_UINT64_MAX, r->snap);
	if (n > 0 && wanted(r, catz_row_xid(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)))
		return false;
	read_changes(from, PG_UINT64_MAX, r->snap, r, CATZ_WROTE_ALL, sink, arg);
	return true;
}

/* Where a transaction's own rows read through an index go */
typedef struct OwnRows
{
	uint64		xid;
	CatzChangeSink sink;
	void	   *arg;
} OwnRows;

/* A row of categorize.patterns the transaction wrote (CatzRowFn) */
static void
own_pattern(void *arg, HeapTuple tup, TupleDesc desc)
{
	OwnRows    *o = arg;
	CatzPatternInput p;
	bool		active;
	CatzBlobChange c = {0};

	catz_pattern_from_tuple(tup, desc, &p, &active);
	c.op = active ? CATZ_CHANGE_PUT : CATZ_CHANGE_DELETE;
	c.pattern = &p;
	c.pattern_id = p.pattern_id;
	o->sink(o->arg, (p.flags & CATZ_PF_OWNER) != 0, p.owner_id, o->xid, &c);
}

/* A row of categorize.corrections the transaction wrote, if it teaches (CatzRowFn) */
static void
own_correction(void *arg, HeapTuple tup, TupleDesc desc)
{
	OwnRows    *o = arg;
	uint64		features[CATZ_MAX_FEATURES];
	CatzModelDoc doc;
	CatzBlobChange c = {.op = CATZ_CHANGE_DOC,.doc = &doc};
	int64		owner;
	bool		has_owner;

	if (catz_correction_doc(tup, desc, &has_owner, &owner, &doc, features))
		o->sink(o->arg, has_owner, owner, o->xid, &c);
}

void
catz_changes_read_own(uint64 own, uint32 tables, Snapshot snap, CatzChangeSink sink, void *arg)
{
	const CatzRelids *rel = catz_relids();
	OwnRows		o = {own, sink, arg};

	/*
	 * With a snapshot, through the change_xid indexes when they are as
	 * created (one or two rows: an executor start-up each was most of the
	 * read); tombstones, written by deletes only, by SQL
	 */
	if (snap && (tables & CATZ_WROTE_PATTERNS) &&
		catz_rows_written_by(rel->patterns, "patterns_change_xid_idx", own, snap, own_pattern, &o))
		tables &= ~CATZ_WROTE_PATTERNS;
	if (snap && (tables & CATZ_WROTE_CORRECTIONS) &&
		catz_rows_written_by(rel->corrections, "corrections_change_xid_idx", own, snap,
							 own_correction, &o))
		tables &= ~CATZ_WROTE_CORRECTIONS;
	read_changes(own, own, NULL, NULL, tables, sink, arg);
}
