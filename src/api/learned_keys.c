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
 * own earlier writes too).  Which indexes and columns these are is looked
 * up once and kept until a relcache invalidation of the table or of one
 * of the indexes (a correction makes three of these reads).
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
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "api/api.h"
#include "base/base.h"

/*
 * One of categorize.patterns's indexes: its OID and the index column of
 * each key column a scan uses (0 when the index has none)
 */
typedef struct PatternIndex
{
	Oid			oid;
	AttrNumber	value_norm;
	AttrNumber	owner_id;
	AttrNumber	category_id;
} PatternIndex;

/*
 * What the scans need of the table and its indexes, looked up once and
 * kept until a relcache invalidation of one of them (ALTER TABLE, CREATE
 * or DROP INDEX, REINDEX CONCURRENTLY) or a new extension (another table)
 */
static struct
{
	bool		valid;
	Oid			patterns;
	CatzPatternColumns cols;	/* for catz_pattern_from_row() */
	PatternIndex learned_key;	/* (value_norm, owner_id, category_id), unique */
	PatternIndex value_norm_idx;	/* (value_norm, category_id); oid invalid if absent */
} layout;

static void
layout_invalidate(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == layout.patterns || relid == layout.learned_key.oid ||
		relid == layout.value_norm_idx.oid)
		layout.valid = false;
}

/* The index named name of the table (its key columns found), if it exists */
static bool
index_layout(const char *name, Oid nsp, TupleDesc table_desc, PatternIndex *ix)
{
	AttrNumber	value_norm = SPI_fnumber(table_desc, "value_norm");
	AttrNumber	owner_id = SPI_fnumber(table_desc, "owner_id");
	AttrNumber	category_id = SPI_fnumber(table_desc, "category_id");
	Relation	idx;
	int			i;

	memset(ix, 0, sizeof(*ix));
	ix->oid = get_relname_relid(name, nsp);
	if (!OidIsValid(ix->oid))
		return false;
	idx = index_open(ix->oid, AccessShareLock);
	for (i = 0; i < idx->rd_index->indnkeyatts; i++)
	{
		AttrNumber	att = idx->rd_index->indkey.values[i];

		if (att == value_norm)
			ix->value_norm = i + 1;
		else if (att == owner_id)
			ix->owner_id = i + 1;
		else if (att == category_id)
			ix->category_id = i + 1;
	}
	index_close(idx, AccessShareLock);
	return true;
}

/* The layout, looked up now if an invalidation (or nothing yet) cleared it */
static void
layout_get(void)
{
	static bool registered = false;
	const CatzRelids *r = catz_relids();
	Relation	rel;

	if (layout.valid && layout.patterns == r->patterns)
		return;
	if (!registered)
	{
		CacheRegisterRelcacheCallback(layout_invalidate, (Datum) 0);
		registered = true;
	}
	rel = table_open(r->patterns, AccessShareLock);
	catz_pattern_columns(RelationGetDescr(rel), &layout.cols);
	if (!index_layout("patterns_learned_key", r->namespace, RelationGetDescr(rel), &layout.learned_key))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index categorize.patterns_learned_key does not exist"),
				 errhint("Drop and create the extension categorize again, or restore the index.")));
	(void) index_layout("patterns_value_norm_idx", r->namespace, RelationGetDescr(rel),
						&layout.value_norm_idx);
	table_close(rel, AccessShareLock);
	layout.patterns = r->patterns;
	layout.valid = true;
}

/* A scan of one of categorize.patterns's indexes, and the row it is on */
typedef struct PatternScan
{
	Relation	rel;
	Relation	idx;
	Snapshot	snap;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	int			nkeys;
	ScanKeyData keys[3];
	CatzPatternInput p;			/* the row, decoded */
	bool		active;
} PatternScan;

/* Open categorize.patterns and its index ix (of the layout) */
static void
scan_open(PatternScan *ps, const PatternIndex *ix)
{
	ps->rel = table_open(layout.patterns, AccessShareLock);
	ps->idx = index_open(ix->oid, AccessShareLock);
	ps->nkeys = 0;
}

/* Add an equality key (a NULL test when isnull) on index column col */
static void
key_equal(PatternScan *ps, AttrNumber col, RegProcedure proc, Datum value, bool isnull)
{
	ScanKey		key = &ps->keys[ps->nkeys++];

	if (col == InvalidAttrNumber)
		elog(ERROR, "categorize: index \"%s\" lacks a column of the learned key",
			 RelationGetRelationName(ps->idx));
	if (isnull)
		ScanKeyEntryInitialize(key, SK_ISNULL | SK_SEARCHNULL, col, InvalidStrategy,
							   InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
	else
		ScanKeyEntryInitialize(key, 0, col, BTEqualStrategyNumber, InvalidOid,
							   ps->idx->rd_indcollation[col - 1], proc, value);
}

/* Keys on the merchant key and on the owner (NULL: everyone's) of the learned key */
static void
key_owner_merchant(PatternScan *ps, const char *key, int keylen, bool has_owner, int64 owner_id)
{
	key_equal(ps, layout.learned_key.value_norm, F_TEXTEQ,
			  PointerGetDatum(cstring_to_text_with_len(key, keylen)), false);
	key_equal(ps, layout.learned_key.owner_id, F_INT8EQ, Int64GetDatum(owner_id), !has_owner);
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
		catz_pattern_from_row(tup, RelationGetDescr(ps->rel), &layout.cols, &ps->p, &ps->active);
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

void
catz_learned_key_read(bool has_owner, int64 owner_id, const char *key, int keylen,
					  int64 category_id, CatzKeyTaught *out)
{
	PatternScan ps;

	memset(out, 0, sizeof(*out));
	layout_get();
	scan_open(&ps, &layout.learned_key);
	key_owner_merchant(&ps, key, keylen, has_owner, owner_id);
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

	layout_get();
	scan_open(&ps, &layout.learned_key);
	key_owner_merchant(&ps, key, keylen, has_owner, owner_id);
	key_equal(&ps, layout.learned_key.category_id, F_INT8EQ, Int64GetDatum(category_id), false);
	scan_start(&ps);
	found = scan_next(&ps);
	scan_close(&ps);
	return found;
}

int64
catz_learned_owners(const char *key, int keylen, int64 category_id, int64 enough)
{
	const PatternIndex *ix;
	PatternScan ps;
	int64		owners = 0;

	/* the merchant and category index (the learned key would do, slower) */
	layout_get();
	ix = OidIsValid(layout.value_norm_idx.oid) ? &layout.value_norm_idx : &layout.learned_key;
	scan_open(&ps, ix);
	key_equal(&ps, ix->value_norm, F_TEXTEQ, PointerGetDatum(cstring_to_text_with_len(key, keylen)),
			  false);
	key_equal(&ps, ix->category_id, F_INT8EQ, Int64GetDatum(category_id), false);
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
