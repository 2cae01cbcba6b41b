/*-------------------------------------------------------------------------
 *
 * learned_keys.c
 *	  The few-row reads of learned merchant patterns that a correction makes
 *	  (what an owner taught of a merchant, how many owners filed it under a
 *	  category), done by index scans of our own instead of SQL.
 *
 * As prepared statements these ran with generic plans, and a generic plan
 * cannot tell a merchant key that a thousand owners taught from one that
 * a single owner did: it costs every index on value_norm at one row and
 * may pick the one that reads every owner's pattern of the key (a popular
 * merchant made each correction of it read tens of thousands of rows).
 * Here each read names its index: the learned key (owner, merchant,
 * category: unique) for an owner's patterns of a merchant, the merchant
 * and category index for the owners of a (merchant, category), the full
 * learned key for whether everyone's pattern exists.  The rows are decoded
 * by the readers' own decoder (catz_pattern_from_row()).  They see what a
 * statement run now would (the transaction snapshot, so this transaction's
 * own earlier writes too).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "api/api.h"
#include "base/base.h"

/* A scan of one of categorize.patterns's indexes, and the row it is on */
typedef struct PatternScan
{
	Relation	rel;
	Relation	idx;
	Snapshot	snap;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	CatzPatternColumns cols;	/* for catz_pattern_from_row() */
	int			nkeys;
	ScanKeyData keys[3];
	CatzPatternInput p;			/* the row, decoded */
	bool		active;
} PatternScan;

/* Open categorize.patterns and the first of these indexes of it that exists */
static void
scan_open(PatternScan *ps, const char *const *names, int n)
{
	const CatzRelids *r = catz_relids();
	Oid			idx = InvalidOid;
	int			i;

	for (i = 0; i < n && !OidIsValid(idx); i++)
		idx = get_relname_relid(names[i], r->namespace);
	if (!OidIsValid(idx))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index categorize.%s does not exist", names[0]),
				 errhint("Drop and create the extension categorize again, or restore the index.")));
	ps->rel = table_open(r->patterns, AccessShareLock);
	ps->idx = index_open(idx, AccessShareLock);
	catz_pattern_columns(RelationGetDescr(ps->rel), &ps->cols);
	ps->nkeys = 0;
}

/* Add an equality key (a NULL test when isnull) on the table's column name */
static void
key_equal(PatternScan *ps, const char *name, RegProcedure proc, Datum value, bool isnull)
{
	int			att = SPI_fnumber(RelationGetDescr(ps->rel), name);
	ScanKey		key = &ps->keys[ps->nkeys++];
	AttrNumber	col = InvalidAttrNumber;
	int			i;

	for (i = 0; i < ps->idx->rd_index->indnkeyatts && col == InvalidAttrNumber; i++)
		if (ps->idx->rd_index->indkey.values[i] == att)
			col = i + 1;
	if (col == InvalidAttrNumber)
		elog(ERROR, "categorize: index \"%s\" has no column %s",
			 RelationGetRelationName(ps->idx), name);
	if (isnull)
		ScanKeyEntryInitialize(key, SK_ISNULL | SK_SEARCHNULL, col, InvalidStrategy,
							   InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
	else
		ScanKeyEntryInitialize(key, 0, col, BTEqualStrategyNumber, InvalidOid,
							   ps->idx->rd_indcollation[col - 1], proc, value);
}

static void
key_merchant(PatternScan *ps, const char *key, int keylen)
{
	key_equal(ps, "value_norm", F_TEXTEQ, PointerGetDatum(cstring_to_text_with_len(key, keylen)), false);
}

/* Start the scan once its keys are set */
static void
scan_start(PatternScan *ps)
{
	int			i,
				j;

	/* btree wants its keys in column order */
	for (i = 1; i < ps->nkeys; i++)
		for (j = i; j > 0 && ps->keys[j - 1].sk_attno > ps->keys[j].sk_attno; j--)
		{
			ScanKeyData k = ps->keys[j - 1];

			ps->keys[j - 1] = ps->keys[j];
			ps->keys[j] = k;
		}
	ps->snap = RegisterSnapshot(GetTransactionSnapshot());
	ps->slot = table_slot_create(ps->rel, NULL);
	ps->scan = index_beginscan(ps->rel, ps->idx, ps->snap, ps->nkeys, 0);
	index_rescan(ps->scan, ps->keys, ps->nkeys, NULL, 0);
}

/*
 * The next learned merchant pattern without amounts (the learned key's
 * kind), decoded into ps->p and ps->active; false at the end
 */
static bool
scan_next(PatternScan *ps)
{
	while (index_getnext_slot(ps->scan, ForwardScanDirection, ps->slot))
	{
		bool		should_free;
		HeapTuple	tup = ExecFetchSlotHeapTuple(ps->slot, false, &should_free);

		CHECK_FOR_INTERRUPTS();
		catz_pattern_from_row(tup, RelationGetDescr(ps->rel), &ps->cols, &ps->p, &ps->active);
		if (should_free)
			heap_freetuple(tup);
		if ((ps->p.flags & CATZ_PF_LEARNED) && ps->p.kind == CATZ_KIND_MERCHANT &&
			!(ps->p.flags & (CATZ_PF_AMOUNT_MIN | CATZ_PF_AMOUNT_MAX)))
			return true;
	}
	return false;
}

static void
scan_close(PatternScan *ps)
{
	index_endscan(ps->scan);
	ExecDropSingleTupleTableSlot(ps->slot);
	UnregisterSnapshot(ps->snap);
	index_close(ps->idx, AccessShareLock);
	table_close(ps->rel, AccessShareLock);
}

static const char *const learned_key[] = {"patterns_learned_key"};

void
catz_learned_key_read(bool has_owner, int64 owner_id, const char *key, int keylen,
					  int64 category_id, CatzKeyTaught *out)
{
	PatternScan ps;

	memset(out, 0, sizeof(*out));
	scan_open(&ps, learned_key, lengthof(learned_key));
	key_merchant(&ps, key, keylen);
	key_equal(&ps, "owner_id", F_INT8EQ, Int64GetDatum(owner_id), !has_owner);
	scan_start(&ps);
	while (scan_next(&ps))
	{
		if (ps.active)
			out->taught += ps.p.taught;
		if (ps.p.category_id == category_id)
			out->category_taught = ps.p.taught > 0;
	}
	scan_close(&ps);
}

bool
catz_learned_key_exists(bool has_owner, int64 owner_id, const char *key, int keylen,
						int64 category_id)
{
	PatternScan ps;
	bool		found;

	scan_open(&ps, learned_key, lengthof(learned_key));
	key_merchant(&ps, key, keylen);
	key_equal(&ps, "owner_id", F_INT8EQ, Int64GetDatum(owner_id), !has_owner);
	key_equal(&ps, "category_id", F_INT8EQ, Int64GetDatum(category_id), false);
	scan_start(&ps);
	found = scan_next(&ps);
	scan_close(&ps);
	return found;
}

int64
catz_learned_owners(const char *key, int keylen, int64 category_id, int64 enough)
{
	/* the merchant and category index (the learned key would do, slower) */
	static const char *const names[] = {"patterns_value_norm_idx", "patterns_learned_key"};
	PatternScan ps;
	int64		owners = 0;

	scan_open(&ps, names, lengthof(names));
	key_merchant(&ps, key, keylen);
	key_equal(&ps, "category_id", F_INT8EQ, Int64GetDatum(category_id), false);
	scan_start(&ps);
	while (owners < enough && scan_next(&ps))
	{
		/* each learned pattern of (key, category) is one owner's: the key is unique */
		if ((ps.p.flags & CATZ_PF_OWNER) && ps.active)
			owners++;
	}
	scan_close(&ps);
	return owners;
}
