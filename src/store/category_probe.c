/*-------------------------------------------------------------------------
 *
 * category_probe.c
 *	  A category's owner, read from categorize.categories by its primary
 *	  key index without SQL.
 *
 * A correction reads its category twice (learn_correction() checks that
 * the user may use it, and the trigger on categorize.patterns checks the
 * learned pattern's), and so does every pattern written.  As prepared
 * statements, each read was an executor start-up, run and shutdown for
 * one row of a primary key; here it is one index fetch under the active
 * snapshot, what the statement would have seen.  Where the index is
 * missing or not keyed on id alone (a schema someone altered), the
 * statement runs instead.  No privilege is checked, as the statement runs
 * as the extension's owner (catz_spi_connect()).
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
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "store/store.h"

/* The category's row by SQL, for a schema the index read does not know */
static SPIPlanPtr plan_category_owner = NULL;

static bool
owner_by_sql(int64 category_id, bool *has_owner, int64 *owner)
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
	Oid			indexoid = get_relname_relid("categories_pkey", r->namespace);
	Relation	heap;
	Relation	index;
	AttrNumber	id_att;
	AttrNumber	owner_att;
	bool		probed = false;
	bool		found = false;

	*has_owner = false;
	*owner = 0;
	if (!OidIsValid(r->categories) || !OidIsValid(indexoid) || !ActiveSnapshotSet())
		return owner_by_sql(category_id, has_owner, owner);
	heap = table_open(r->categories, AccessShareLock);
	index = index_open(indexoid, AccessShareLock);
	id_att = get_attnum(r->categories, "id");
	owner_att = get_attnum(r->categories, "owner_id");
	if (index->rd_index->indrelid == r->categories && index->rd_index->indnkeyatts == 1 &&
		id_att != InvalidAttrNumber && index->rd_index->indkey.values[0] == id_att &&
		owner_att != InvalidAttrNumber && index->rd_rel->relam == BTREE_AM_OID &&
		TupleDescAttr(RelationGetDescr(heap), id_att - 1)->atttypid == INT8OID &&
		TupleDescAttr(RelationGetDescr(heap), owner_att - 1)->atttypid == INT8OID)
	{
		ScanKeyData key;
		IndexScanDesc scan;
		TupleTableSlot *slot = table_slot_create(heap, NULL);

		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(category_id));
		scan = index_beginscan(heap, index, GetActiveSnapshot(), 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		if (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			Datum		d = slot_getattr(slot, owner_att, &isnull);

			found = true;
			*has_owner = !isnull;
			*owner = isnull ? 0 : DatumGetInt64(d);
		}
		index_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		probed = true;
	}
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return probed ? found : owner_by_sql(category_id, has_owner, owner);
}
