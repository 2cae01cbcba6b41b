/*-------------------------------------------------------------------------
 *
 * owner_probe.c
 *	  Whether an owner may have rows in categorize.patterns or
 *	  categorize.corrections, asked of the tables' owner indexes without SQL.
 *
 * Loading an owner's scope runs two queries (the owner's patterns and
 * corrections).  For a user seen for the first time, the common case of a
 * first correction and of a new tenant's first expenses, both return
 * nothing, and their executor start-up and plan checks were most of a new
 * owner's load.  A probe of each table's owner index under the load's
 * snapshot answers "no row" for a fraction of that; any row found (even one
 * the queries would leave out: inactive, or written by this transaction)
 * sends the load down the query path, so the probe only ever skips queries
 * that return nothing.  An index that is missing, not valid, not keyed on
 * owner_id first, or partial other than "owner_id IS NOT NULL" (a schema
 * someone altered) is no answer: the queries run.  The scans check no privilege, as the queries run as the
 * extension's owner (catz_spi_connect()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "executor/tuptable.h"
#include "nodes/primnodes.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "store/store.h"

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

/*
 * Whether index (of heap) is a valid btree whose first key is owner_id and
 * that holds every row with an owner
 */
static bool
keyed_on_owner(Relation heap, Relation index)
{
	AttrNumber	owner = get_attnum(RelationGetRelid(heap), "owner_id");

	return index->rd_rel->relam == BTREE_AM_OID &&
		index->rd_index->indisvalid &&
		index->rd_index->indrelid == RelationGetRelid(heap) &&
		index->rd_index->indnkeyatts >= 1 &&
		owner != InvalidAttrNumber &&
		index->rd_index->indkey.values[0] == owner &&
		TupleDescAttr(RelationGetDescr(heap), owner - 1)->atttypid == INT8OID &&
		predicate_keeps_owners(index, owner);
}

/* Whether the table relid may have a row of owner_id that snap sees */
static bool
table_may_have(Oid relid, const char *index_name, int64 owner_id, Snapshot snap)
{
	Oid			indexoid = get_relname_relid(index_name, catz_relids()->namespace);
	Relation	heap;
	Relation	index;
	bool		found = true;

	if (!OidIsValid(relid) || !OidIsValid(indexoid))
		return true;
	heap = table_open(relid, AccessShareLock);
	index = index_open(indexoid, AccessShareLock);
	if (keyed_on_owner(heap, index))
	{
		ScanKeyData key;
		IndexScanDesc scan;
		TupleTableSlot *slot = table_slot_create(heap, NULL);

		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(owner_id));
		scan = index_beginscan(heap, index, snap, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		found = index_getnext_slot(scan, ForwardScanDirection, slot);
		index_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
	}
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return found;
}

bool
catz_owner_may_have_rows(int64 owner_id, Snapshot snap)
{
	const CatzRelids *r = catz_relids();

	return table_may_have(r->patterns, "patterns_owner_idx", owner_id, snap) ||
		table_may_have(r->corrections, "corrections_owner_idx", owner_id, snap);
}
