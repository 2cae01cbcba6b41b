/*-------------------------------------------------------------------------
 *
 * index_probe.c
 *	  Reads of our tables by an index key, without SQL: whether an owner
 *	  may have rows in categorize.patterns or categorize.corrections, who
 *	  owns a category, and the rows a transaction wrote.
 *
 * Owners.  Loading an owner's scope runs two queries (the owner's patterns
 * and corrections).  For a user seen for the first time, the common case
 * of a first correction and of a new tenant's first expenses, both return
 * nothing, and their executor start-up and plan checks were most of a new
 * owner's load.  A probe of each table's owner index under the load's
 * snapshot answers "no row" for a fraction of that; any row found (even
 * one the queries would leave out: inactive, or written by this
 * transaction) sends the load down the query path, so the probe only ever
 * skips queries that return nothing.  An index that is missing, not valid,
 * not keyed on owner_id first, or partial other than "owner_id IS NOT
 * NULL" is no answer: the queries run.
 *
 * Categories.  A correction reads its category twice (learn_correction()
 * checks that the user may use it, and the trigger on categorize.patterns
 * checks the learned pattern's), and so does every pattern written.  As
 * prepared statements, each read was an executor start-up, run and
 * shutdown for one primary-key row; here it is one fetch from
 * categories_pkey under the active snapshot, what the statement would have
 * seen.  Where that index is not what this reads, the statement runs.
 *
 * A transaction's rows.  Before it commits, a transaction that wrote a
 * correction reads back the rows it wrote (by change_xid), to apply them
 * to the shared scopes at commit (refresh/refresh.c).  Two statements
 * did that, each an executor start-up for one or two rows; here each
 * table's change_xid index is scanned for the transaction's id.
 *
 * Either way a schema someone altered falls back to SQL.  No privilege is
 * checked, as the queries run as the extension's owner
 * (catz_spi_connect()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

#include "store/store.h"

/*
 * Whether index (of heap) is a valid btree whose first key is the column
 * att, of type type
 */
static bool
keyed_on_type(Relation heap, Relation index, AttrNumber att, Oid type)
{
	return index->rd_rel->relam == BTREE_AM_OID &&
		index->rd_index->indisvalid &&
		index->rd_index->indrelid == RelationGetRelid(heap) &&
		index->rd_index->indnkeyatts >= 1 &&
		att != InvalidAttrNumber &&
		index->rd_index->indkey.values[0] == att &&
		TupleDescAttr(RelationGetDescr(heap), att - 1)->atttypid == type;
}

/* The same for an int8 column */
static bool
keyed_on(Relation heap, Relation index, AttrNumber att)
{
	return keyed_on_type(heap, index, att, INT8OID);
}

/*
 * Open table relid and its index index_name (of our schema), or false
 * when either is not there
 */
static bool
open_with_index(Oid relid, const char *index_name, Relation *heap, Relation *index)
{
	Oid			indexoid = get_relname_relid(index_name, catz_relids()->namespace);

	if (!OidIsValid(relid) || !OidIsValid(indexoid))
		return false;
	*heap = table_open(relid, AccessShareLock);
	*index = index_open(indexoid, AccessShareLock);
	return true;
}

static void
close_with_index(Relation heap, Relation index)
{
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
}

/* An index scan of heap for the rows whose index's first key equals key (proc eq) */
static IndexScanDesc
scan_equal(Relation heap, Relation index, RegProcedure eq, Datum key, Snapshot snap)
{
	ScanKeyData skey;
	IndexScanDesc scan;

	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, eq, key);
	scan = index_beginscan(heap, index, snap, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	return scan;
}

/*
 * The first row of heap that snap sees whose index's first key is key, or
 * NULL; the slot (heap's) stays the caller's to drop
 */
static TupleTableSlot *
fetch_first(Relation heap, Relation index, int64 key, Snapshot snap)
{
	IndexScanDesc scan = scan_equal(heap, index, F_INT8EQ, Int64GetDatum(key), snap);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	bool		found;

	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	if (found)
		return slot;
	ExecDropSingleTupleTableSlot(slot);
	return NULL;
}

/* ----------------------------------------------------------------
 * Owners
 * ----------------------------------------------------------------
 */

/* Whether a partial index's predicate is "owner_id IS NOT NULL" (or none) */
static bool
predicate_keeps_owners(Relation index, AttrNumber owner)
{
	List	   *pred = RelationGetIndexPredicate(index);
	NullTest   *nt;

	if (pred == NIL)
		return true;
	if (list_length(pred) != 1 || !IsA(linitial(pred), NullTest))
		return false;
	nt = linitial(pred);
	return nt->nulltesttype == IS_NOT_NULL && nt->arg != NULL && IsA(nt->arg, Var) &&
		((Var *) nt->arg)->varattno == owner;
}

/* Whether the table relid may have a row of owner_id that snap sees */
static bool
table_may_have(Oid relid, const char *index_name, int64 owner_id, Snapshot snap)
{
	Relation	heap;
	Relation	index;
	AttrNumber	owner;
	bool		found = true;

	if (!open_with_index(relid, index_name, &heap, &index))
		return true;
	owner = get_attnum(relid, "owner_id");
	if (keyed_on(heap, index, owner) && predicate_keeps_owners(index, owner))
	{
		TupleTableSlot *slot = fetch_first(heap, index, owner_id, snap);

		found = slot != NULL;
		if (slot)
			ExecDropSingleTupleTableSlot(slot);
	}
	close_with_index(heap, index);
	return found;
}

bool
catz_owner_may_have_rows(int64 owner_id, Snapshot snap)
{
	const CatzRelids *r = catz_relids();

	return table_may_have(r->patterns, "patterns_owner_idx", owner_id, snap) ||
		table_may_have(r->corrections, "corrections_owner_idx", owner_id, snap);
}

/* ----------------------------------------------------------------
 * Categories
 * ----------------------------------------------------------------
 */

/* The category's owner by SQL, for a schema the index read does not know */
static SPIPlanPtr plan_category_owner = NULL;

static bool
category_owner_by_sql(int64 category_id, bool *has_owner, int64 *owner)
{
	CatzSpi		spi_level;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(category_id)};
	bool		found = false;

	spi_level = catz_spi_connect();
	catz_spi_prepare_kept(&plan_category_owner,
						  "SELECT owner_id FROM categorize.categories WHERE id = $1",
						  1, argtypes, 0);
	if (SPI_execute_plan(plan_category_owner, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "categorize: could not read a category");
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		found = true;
		*has_owner = !isnull;
		*owner = isnull ? 0 : DatumGetInt64(d);
	}
	catz_spi_finish(spi_level);
	return found;
}

bool
catz_category_owner(int64 category_id, bool *has_owner, int64 *owner)
{
	const CatzRelids *r = catz_relids();
	Relation	heap;
	Relation	index;
	AttrNumber	owner_att;
	bool		probed = false;
	bool		found = false;

	*has_owner = false;
	*owner = 0;
	if (!ActiveSnapshotSet() || !open_with_index(r->categories, "categories_pkey", &heap, &index))
		return category_owner_by_sql(category_id, has_owner, owner);
	owner_att = get_attnum(r->categories, "owner_id");
	if (keyed_on(heap, index, get_attnum(r->categories, "id")) &&
		index->rd_index->indnkeyatts == 1 && owner_att != InvalidAttrNumber &&
		TupleDescAttr(RelationGetDescr(heap), owner_att - 1)->atttypid == INT8OID)
	{
		TupleTableSlot *slot = fetch_first(heap, index, category_id, GetActiveSnapshot());

		if (slot)
		{
			bool		isnull;
			Datum		d = slot_getattr(slot, owner_att, &isnull);

			found = true;
			*has_owner = !isnull;
			*owner = isnull ? 0 : DatumGetInt64(d);
			ExecDropSingleTupleTableSlot(slot);
		}
		probed = true;
	}
	close_with_index(heap, index);
	return probed ? found : category_owner_by_sql(category_id, has_owner, owner);
}

/* ----------------------------------------------------------------
 * A transaction's rows
 * ----------------------------------------------------------------
 */

bool
catz_rows_written_by(Oid relid, const char *index_name, uint64 xid, Snapshot snap,
					 CatzRowFn fn, void *arg)
{
	Relation	heap;
	Relation	index;
	bool		scanned = false;

	if (!open_with_index(relid, index_name, &heap, &index))
		return false;
	if (keyed_on_type(heap, index, get_attnum(relid, "change_xid"), XID8OID) &&
		RelationGetIndexPredicate(index) == NIL)
	{
		IndexScanDesc scan = scan_equal(heap, index, F_XID8EQ,
										FullTransactionIdGetDatum(FullTransactionIdFromU64(xid)),
										snap);
		TupleTableSlot *slot = table_slot_create(heap, NULL);

		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		should_free;
			HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &should_free);

			CHECK_FOR_INTERRUPTS();
			fn(arg, tup, RelationGetDescr(heap));
			if (should_free)
				heap_freetuple(tup);
		}
		index_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		scanned = true;
	}
	close_with_index(heap, index);
	return scanned;
}
