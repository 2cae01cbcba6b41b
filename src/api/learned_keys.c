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
 * learned key for whether everyone's pattern exists.  They see
 * what a statement run now would (the transaction snapshot, so this
 * transaction's own earlier writes too).
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
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "api/api.h"

/* The columns read, by name (looked up at each read: a few syscache hits) */
typedef struct PatternColumns
{
	AttrNumber	owner_id;
	AttrNumber	value_norm;
	AttrNumber	category_id;
	AttrNumber	taught;			/* InvalidAttrNumber before 1.2 */
	AttrNumber	active;
	AttrNumber	kind;
	AttrNumber	source;
	AttrNumber	amount_min;
	AttrNumber	amount_max;
} PatternColumns;

static PatternColumns cols;

/* categorize.patterns, with its column numbers; InvalidOid if absent */
static Oid
patterns_relid(Oid *nsp)
{
	Oid			relid;

	*nsp = get_namespace_oid("categorize", true);
	relid = OidIsValid(*nsp) ? get_relname_relid("patterns", *nsp) : InvalidOid;
	if (OidIsValid(relid))
	{
		cols.owner_id = get_attnum(relid, "owner_id");
		cols.value_norm = get_attnum(relid, "value_norm");
		cols.category_id = get_attnum(relid, "category_id");
		cols.taught = get_attnum(relid, "taught");
		cols.active = get_attnum(relid, "active");
		cols.kind = get_attnum(relid, "kind");
		cols.source = get_attnum(relid, "source");
		cols.amount_min = get_attnum(relid, "amount_min");
		cols.amount_max = get_attnum(relid, "amount_max");
	}
	return relid;
}

/* The first of these indexes of categorize.patterns that exists */
static Oid
index_named(Oid nsp, const char *const *names, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		Oid			idx = get_relname_relid(names[i], nsp);

		if (OidIsValid(idx))
			return idx;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("index categorize.%s does not exist", names[0]),
			 errhint("Drop and create the extension categorize again, or restore the index.")));
	return InvalidOid;			/* keep the compiler quiet */
}

/* The column of index idx that holds table column att (1-based), or ERROR */
static AttrNumber
index_column(Relation idx, AttrNumber att)
{
	int			i;

	for (i = 0; i < idx->rd_index->indnkeyatts; i++)
		if (idx->rd_index->indkey.values[i] == att)
			return i + 1;
	elog(ERROR, "categorize: index \"%s\" has no column %d", RelationGetRelationName(idx), att);
	return InvalidAttrNumber;	/* keep the compiler quiet */
}

/* An equality key (a NULL test when isnull) on table column att, for index idx */
static void
key_equal(ScanKey key, Relation idx, AttrNumber att, RegProcedure proc, Datum value, bool isnull)
{
	AttrNumber	col = index_column(idx, att);

	if (isnull)
		ScanKeyEntryInitialize(key, SK_ISNULL | SK_SEARCHNULL, col, InvalidStrategy,
							   InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
	else
		ScanKeyEntryInitialize(key, 0, col, BTEqualStrategyNumber, InvalidOid,
							   idx->rd_indcollation[col - 1], proc, value);
}

/* A scan of one of categorize.patterns's indexes */
typedef struct PatternScan
{
	Relation	rel;
	Relation	idx;
	Snapshot	snap;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	int			nkeys;
	ScanKeyData keys[3];
} PatternScan;

/* Open categorize.patterns (relid) and the first index of names that exists */
static void
scan_open(PatternScan *ps, Oid relid, Oid nsp, const char *const *names, int n)
{
	ps->rel = table_open(relid, AccessShareLock);
	ps->idx = index_open(index_named(nsp, names, n), AccessShareLock);
}

/* Start the scan once its nkeys keys are set */
static void
scan_start(PatternScan *ps, int nkeys)
{
	int			i,
				j;

	/* btree wants its keys in column order */
	for (i = 1; i < nkeys; i++)
		for (j = i; j > 0 && ps->keys[j - 1].sk_attno > ps->keys[j].sk_attno; j--)
		{
			ScanKeyData k = ps->keys[j - 1];

			ps->keys[j - 1] = ps->keys[j];
			ps->keys[j] = k;
		}
	ps->nkeys = nkeys;
	ps->snap = RegisterSnapshot(GetTransactionSnapshot());
	ps->slot = table_slot_create(ps->rel, NULL);
	ps->scan = index_beginscan(ps->rel, ps->idx, ps->snap, nkeys, 0);
	index_rescan(ps->scan, ps->keys, nkeys, NULL, 0);
}

/* The next row, in ps->slot; false at the end */
static bool
scan_next(PatternScan *ps)
{
	CHECK_FOR_INTERRUPTS();
	return index_getnext_slot(ps->scan, ForwardScanDirection, ps->slot);
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

static bool
is_null(TupleTableSlot *slot, AttrNumber att)
{
	bool		isnull;

	(void) slot_getattr(slot, att, &isnull);
	return isnull;
}

/* Whether a text column holds this word */
static bool
text_is(TupleTableSlot *slot, AttrNumber att, const char *word)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, att, &isnull);

	return !isnull && strcmp(TextDatumGetCString(d), word) == 0;
}

/* Whether a row the index returned is a learned merchant pattern without amounts */
static bool
learned_merchant(TupleTableSlot *slot)
{
	return text_is(slot, cols.source, "learned") && text_is(slot, cols.kind, "merchant") &&
		is_null(slot, cols.amount_min) && is_null(slot, cols.amount_max);
}

static bool
bool_column(TupleTableSlot *slot, AttrNumber att)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, att, &isnull);

	return !isnull && DatumGetBool(d);
}

static int64
int8_column(TupleTableSlot *slot, AttrNumber att, int64 otherwise)
{
	bool		isnull;
	Datum		d;

	if (att == InvalidAttrNumber)
		return otherwise;
	d = slot_getattr(slot, att, &isnull);
	return isnull ? otherwise : DatumGetInt64(d);
}

void
catz_learned_key_read(bool has_owner, int64 owner_id, const char *key, int keylen,
					  int64 category_id, CatzKeyTaught *out)
{
	static const char *const names[] = {"patterns_learned_key"};
	Oid			nsp;
	Oid			relid = patterns_relid(&nsp);
	PatternScan ps;

	memset(out, 0, sizeof(*out));
	if (!OidIsValid(relid))
		return;
	scan_open(&ps, relid, nsp, names, lengthof(names));
	key_equal(&ps.keys[0], ps.idx, cols.value_norm, F_TEXTEQ,
			  PointerGetDatum(cstring_to_text_with_len(key, keylen)), false);
	key_equal(&ps.keys[1], ps.idx, cols.owner_id, F_INT8EQ, Int64GetDatum(owner_id), !has_owner);
	scan_start(&ps, 2);
	while (scan_next(&ps))
	{
		int64		taught = int8_column(ps.slot, cols.taught, 0);

		if (!learned_merchant(ps.slot))
			continue;
		if (bool_column(ps.slot, cols.active))
			out->taught += taught;
		if (int8_column(ps.slot, cols.category_id, 0) == category_id)
			out->category_taught = taught > 0;
	}
	scan_close(&ps);
}

bool
catz_learned_key_exists(bool has_owner, int64 owner_id, const char *key, int keylen,
						int64 category_id)
{
	static const char *const names[] = {"patterns_learned_key"};
	Oid			nsp;
	Oid			relid = patterns_relid(&nsp);
	PatternScan ps;
	bool		found = false;

	if (!OidIsValid(relid))
		return false;
	scan_open(&ps, relid, nsp, names, lengthof(names));
	key_equal(&ps.keys[0], ps.idx, cols.value_norm, F_TEXTEQ,
			  PointerGetDatum(cstring_to_text_with_len(key, keylen)), false);
	key_equal(&ps.keys[1], ps.idx, cols.owner_id, F_INT8EQ, Int64GetDatum(owner_id), !has_owner);
	key_equal(&ps.keys[2], ps.idx, cols.category_id, F_INT8EQ, Int64GetDatum(category_id), false);
	scan_start(&ps, 3);
	while (!found && scan_next(&ps))
		found = learned_merchant(ps.slot);
	scan_close(&ps);
	return found;
}

int64
catz_learned_owners(const char *key, int keylen, int64 category_id, int64 enough)
{
	/* the merchant and category index (the learned key would do, slower) */
	static const char *const names[] = {"patterns_value_norm_idx", "patterns_learned_key"};
	Oid			nsp;
	Oid			relid = patterns_relid(&nsp);
	PatternScan ps;
	int64		owners = 0;

	if (!OidIsValid(relid))
		return 0;
	scan_open(&ps, relid, nsp, names, lengthof(names));
	key_equal(&ps.keys[0], ps.idx, cols.value_norm, F_TEXTEQ,
			  PointerGetDatum(cstring_to_text_with_len(key, keylen)), false);
	key_equal(&ps.keys[1], ps.idx, cols.category_id, F_INT8EQ, Int64GetDatum(category_id), false);
	scan_start(&ps, 2);
	while (owners < enough && scan_next(&ps))
	{
		/* each learned pattern of (key, category) is one owner's: the key is unique */
		if (!is_null(ps.slot, cols.owner_id) && bool_column(ps.slot, cols.active) &&
			learned_merchant(ps.slot))
			owners++;
	}
	scan_close(&ps);
	return owners;
}
