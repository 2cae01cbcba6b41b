/*-------------------------------------------------------------------------
 *
 * change_tracking.c
 *	  Triggers on the extension's tables: validation and change tracking.
 *
 * Every trigger on our tables ends the same way: it notes that this
 * transaction wrote (so the transaction overlay is consulted and scopes
 * loaded now are temporary) and queues a relcache invalidation that tells
 * every backend, at commit, to refresh (refresh.c).
 *
 * Rows written by logical replication (the apply worker runs with
 * session_replication_role = replica, where only ENABLE REPLICA and ENABLE
 * ALWAYS triggers fire, and row triggers only) meet the *_apply_* triggers
 * instead, which do only what the subscriber itself needs:
 *   - change_xid and value_norm are stamped again: change_xid is a
 *     transaction id, and the publisher's means nothing here (refreshes
 *     read "rows changed by transactions after X" in this cluster's xids);
 *   - deleted patterns get their tombstones row by row, and corrections
 *     changed other than by insert bump the reload epoch row by row, since
 *     statement triggers do not fire on apply;
 *   - the change signal is queued, so every session learns at the apply's
 *     commit, as from a local write;
 *   - nothing is validated (the publisher did, and an error here would
 *     stop the subscription until someone fixes it) and updated_at keeps
 *     the publisher's time of the change;
 *   - nothing goes into the transaction overlay: the apply worker never
 *     categorizes in its own transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "replication/logicalworker.h"
#include "replication/origin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "api/api.h"
#include "refresh/refresh.h"
#include "shmem/shmem.h"

PG_FUNCTION_INFO_V1(categorize_patterns_before_write);
PG_FUNCTION_INFO_V1(categorize_patterns_after_delete);
PG_FUNCTION_INFO_V1(categorize_corrections_after_insert);
PG_FUNCTION_INFO_V1(categorize_bump_reload_epoch);
PG_FUNCTION_INFO_V1(categorize_categories_before_write);
PG_FUNCTION_INFO_V1(categorize_patterns_apply_write);
PG_FUNCTION_INFO_V1(categorize_patterns_apply_delete);
PG_FUNCTION_INFO_V1(categorize_corrections_apply_write);
PG_FUNCTION_INFO_V1(categorize_corrections_apply_delete);

/* Check that we were called as the kind of trigger we expect */
TriggerData *
catz_check_trigger(FunctionCallInfo fcinfo, const char *name, bool before, bool row)
{
	TriggerData *td;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by the trigger manager", name)));
	td = (TriggerData *) fcinfo->context;
	if (before != (TRIGGER_FIRED_BEFORE(td->tg_event) != 0) ||
		row != (TRIGGER_FIRED_FOR_ROW(td->tg_event) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired %s %s", name,
						before ? "BEFORE" : "AFTER", row ? "FOR EACH ROW" : "FOR EACH STATEMENT")));
	return td;
}

/* Attribute number of a column that must exist */
static int
column(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "categorize: column \"%s\" is missing", name);
	return attnum;
}

/* Text value of a column, or NULL */
static text *
get_text(HeapTuple tup, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum, desc, &isnull);

	return isnull ? NULL : DatumGetTextPP(d);
}

/* Check a numeric amount bound; *out gets it as double */
static bool
amount_bound(HeapTuple tup, TupleDesc desc, int attnum, double *out)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum, desc, &isnull);

	if (isnull)
		return false;
	if (!catz_numeric_to_double(d, out))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pattern amount bounds must be numbers, not NaN")));
	return true;
}

/* Record that patterns were deleted, for other backends' refresh */
static void
insert_tombstone(int64 pattern_id, bool has_owner, int64 owner)
{
	CatzSpi		spi_level;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(pattern_id), Int64GetDatum(owner)};
	char		nulls[2] = {' ', has_owner ? ' ' : 'n'};

	spi_level = catz_spi_connect();
	if (SPI_execute_with_args("INSERT INTO categorize.pattern_tombstones (pattern_id, owner_id) "
							  "VALUES ($1, $2)", 2, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "categorize: could not record a pattern change");
	catz_spi_finish(spi_level);
}

/*
 * Record a tombstone for the old version of a pattern whose owner changed;
 * whether one was recorded
 */
static bool
tombstone_if_owner_changed(HeapTuple old, TupleDesc desc, bool has_owner, int64 owner)
{
	bool		old_null;
	bool		id_null;
	Datum		d = heap_getattr(old, column(desc, "owner_id"), desc, &old_null);
	Datum		id;

	if (old_null == !has_owner && (old_null || DatumGetInt64(d) == owner))
		return false;
	/* its own flag: C leaves the order of evaluation of arguments open */
	id = heap_getattr(old, column(desc, "id"), desc, &id_null);
	if (id_null)
		return false;
	insert_tombstone(DatumGetInt64(id), !old_null, old_null ? 0 : DatumGetInt64(d));
	return true;
}

/* Make every backend reload everything at this transaction's commit */
static void
bump_epoch(void)
{
	CatzSpi		spi_level = catz_spi_connect();

	if (SPI_execute("UPDATE categorize.reload_epoch SET epoch = epoch + 1, "
					"change_xid = pg_catalog.pg_current_xact_id()", false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "categorize: could not bump the reload epoch");
	catz_spi_finish(spi_level);
	catz_own_epoch_bump();
}

/* Note a write of this transaction (to tables) and tell every backend at commit */
static void
note_change(uint32 tables)
{
	catz_note_own_write(tables);
	catz_signal_change();
}

/*
 * Tell every backend at commit about a row written by replication, and
 * note it for health(): the apply worker knows when the publisher
 * committed the transaction it applies (the initial copy does not)
 */
static void
note_apply(void)
{
	catz_signal_change();
	if (catz_shared_enabled())
		catz_shared_note_apply(IsLogicalWorker() ? replorigin_session_origin_timestamp : 0);
}

/* value_norm of a pattern as this server normalizes it: NULL for regex and blank values */
static void
set_value_norm(HeapTuple tup, TupleDesc desc, Datum *val, bool *isnull)
{
	text	   *kind = get_text(tup, desc, column(desc, "kind"));
	text	   *value = get_text(tup, desc, column(desc, "value"));
	char	   *kind_s = kind ? text_to_cstring(kind) : NULL;
	char	   *norm;
	int			normlen = 0;

	*isnull = true;
	if (value == NULL || kind_s == NULL ||
		(strcmp(kind_s, "merchant") != 0 && strcmp(kind_s, "keyword") != 0))
		return;
	norm = catz_normalize_cstring(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), &normlen);
	if (normlen == 0)
		return;
	*val = CStringGetTextDatum(norm);
	*isnull = false;
}

/*
 * categorize.patterns BEFORE INSERT OR UPDATE FOR EACH ROW: validate the
 * row, keep value_norm, change_xid and updated_at, and put the new version
 * in this transaction's overlay.
 */
Datum
categorize_patterns_before_write(PG_FUNCTION_ARGS)
{
	TriggerData *td = catz_check_trigger(fcinfo, "patterns_before_write", true, true);
	TupleDesc	desc = td->tg_relation->rd_att;
	bool		is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
	HeapTuple	tup = is_update ? td->tg_newtuple : td->tg_trigtuple;
	int			att_kind = column(desc, "kind");
	int			att_value = column(desc, "value");
	int			att_norm = column(desc, "value_norm");
	int			att_xid = column(desc, "change_xid");
	int			att_updated = column(desc, "updated_at");
	int			att_owner = column(desc, "owner_id");
	int			att_category = column(desc, "category_id");
	text	   *kind = get_text(tup, desc, att_kind);
	text	   *value = get_text(tup, desc, att_value);
	char	   *kind_s;
	const char *v;
	int			vlen;
	int			i;
	bool		blank = true;
	char	   *norm = NULL;
	int			normlen = 0;
	int			cols[3];
	Datum		vals[3];
	bool		nulls[3] = {false, false, false};
	int			ncols = 0;
	bool		isnull;
	bool		has_owner;
	int64		owner = 0;
	int64		category_id;
	bool		cat_has_owner;
	int64		cat_owner;
	double		amin;
	double		amax;
	uint32		tables = CATZ_WROTE_PATTERNS;

	/*
	 * An update that keeps the pattern itself (the counts of a correction,
	 * active, priority) needs neither its regex compiled again nor its
	 * category looked up again
	 */
	bool		same_value = is_update &&
		!catz_column_changed(td->tg_trigtuple, tup, desc, att_kind) &&
		!catz_column_changed(td->tg_trigtuple, tup, desc, att_value);
	bool		same_category = is_update &&
		!catz_column_changed(td->tg_trigtuple, tup, desc, att_category) &&
		!catz_column_changed(td->tg_trigtuple, tup, desc, att_owner);

	/* NOT NULL and CHECK constraints run after BEFORE triggers: leave bad rows to them */
	if (kind == NULL || value == NULL)
		return PointerGetDatum(tup);
	kind_s = text_to_cstring(kind);
	if (strcmp(kind_s, "regex") != 0 && strcmp(kind_s, "merchant") != 0 &&
		strcmp(kind_s, "keyword") != 0)
		return PointerGetDatum(tup);
	v = VARDATA_ANY(value);
	vlen = VARSIZE_ANY_EXHDR(value);

	for (i = 0; i < vlen; i++)
		if (!isspace((unsigned char) v[i]))
			blank = false;
	if (blank)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pattern value must not be empty")));

	if (strcmp(kind_s, "regex") == 0)
	{
		/* Before compiling it: compiling a huge regex takes minutes */
		if (vlen > CATZ_MAX_PATTERN_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pattern value is too long"),
					 errdetail("A regex pattern may have at most %d bytes; this one has %d.",
							   CATZ_MAX_PATTERN_BYTES, vlen)));
		if (!same_value)
			catz_validate_regex(v, vlen);
	}
	else
	{
		size_t		pos = 0;
		const char *w;
		size_t		wl;
		int			words = 0;

		norm = catz_normalize_cstring(v, vlen, &normlen);
		if (normlen == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pattern value \"%.*s\" has no letters or digits", vlen > 200 ? 200 : vlen, v),
					 errdetail("A %s pattern matches the words of categorize.normalize(value), which is empty here.", kind_s)));
		while (catz_next_word(norm, normlen, &pos, &w, &wl))
			words++;
		if (normlen > CATZ_MAX_PATTERN_BYTES || words > CATZ_MAX_PATTERN_WORDS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pattern value is too long"),
					 errdetail("A %s pattern may have at most %d words and %d bytes once normalized; this one has %d words and %d bytes.",
							   kind_s, CATZ_MAX_PATTERN_WORDS, CATZ_MAX_PATTERN_BYTES, words, normlen)));
	}

	(void) amount_bound(tup, desc, column(desc, "amount_min"), &amin);
	(void) amount_bound(tup, desc, column(desc, "amount_max"), &amax);

	/* The category must be visible to the pattern's owner */
	{
		Datum		d = heap_getattr(tup, att_owner, desc, &isnull);

		has_owner = !isnull;
		if (has_owner)
			owner = DatumGetInt64(d);
		d = heap_getattr(tup, att_category, desc, &isnull);
		if (!isnull && !same_category)
		{
			category_id = DatumGetInt64(d);
			if (catz_category_owner(category_id, &cat_has_owner, &cat_owner) &&
				cat_has_owner && (!has_owner || cat_owner != owner))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("category %lld belongs to user %lld", (long long) category_id,
								(long long) cat_owner),
						 errdetail(has_owner ? "A pattern of user %lld can only use that user's categories or shared ones."
								   : "A pattern for everyone (owner_id NULL) can only use shared categories.",
								   (long long) owner)));
		}
	}

	/* Keep the derived columns */
	cols[ncols] = att_norm;
	if (norm)
		vals[ncols] = CStringGetTextDatum(norm);
	else
		nulls[ncols] = true;
	ncols++;
	cols[ncols] = att_xid;
	vals[ncols] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	ncols++;
	if (is_update)
	{
		cols[ncols] = att_updated;
		vals[ncols] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		ncols++;
	}
	tup = heap_modify_tuple_by_cols(tup, desc, ncols, cols, vals, nulls);

	/* A pattern that changes owner must leave the old owner's scope */
	if (is_update && tombstone_if_owner_changed(td->tg_trigtuple, desc, has_owner, owner))
		tables |= CATZ_WROTE_TOMBSTONES;

	/* This transaction sees its own version at once */
	{
		CatzPatternInput p;
		bool		active;

		catz_pattern_from_tuple(tup, desc, &p, &active);
		if (active)
			catz_xact_put_pattern(&p);
		else
			catz_xact_delete_pattern(p.pattern_id);
	}
	note_change(tables);
	return PointerGetDatum(tup);
}

/*
 * categorize.patterns AFTER DELETE FOR EACH STATEMENT (transition table
 * "deleted"): record tombstones, drop the patterns from this transaction's
 * view.
 */
Datum
categorize_patterns_after_delete(PG_FUNCTION_ARGS)
{
	CatzSpi		spi_level;
	TriggerData *td = catz_check_trigger(fcinfo, "patterns_after_delete", false, false);
	uint64		i;
	uint64		n;

	spi_level = catz_spi_connect();
	if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
		elog(ERROR, "categorize: could not register the transition table");
	if (SPI_execute("INSERT INTO categorize.pattern_tombstones (pattern_id, owner_id) "
					"SELECT id, owner_id FROM deleted RETURNING pattern_id", false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "categorize: could not record deleted patterns");
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		catz_xact_delete_pattern(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull)));
	}
	catz_spi_finish(spi_level);
	if (n > 0)
		note_change(CATZ_WROTE_PATTERNS | CATZ_WROTE_TOMBSTONES);
	return PointerGetDatum(NULL);
}

/*
 * categorize.corrections AFTER INSERT FOR EACH ROW: feed the correction to
 * this transaction's model.
 */
Datum
categorize_corrections_after_insert(PG_FUNCTION_ARGS)
{
	TriggerData *td = catz_check_trigger(fcinfo, "corrections_after_insert", false, true);
	uint64		features[CATZ_MAX_FEATURES];
	CatzModelDoc doc;
	int64		owner;
	bool		has_owner;

	if (!catz_learning_in_bulk &&
		catz_correction_doc(td->tg_trigtuple, td->tg_relation->rd_att, &has_owner, &owner,
							&doc, features))
		catz_xact_add_doc(has_owner, owner, !has_owner, &doc);
	note_change(CATZ_WROTE_CORRECTIONS);
	return PointerGetDatum(NULL);
}

/*
 * AFTER TRUNCATE of patterns or corrections, AFTER UPDATE or DELETE of
 * corrections (statement level): every backend reloads everything.
 */
Datum
categorize_bump_reload_epoch(PG_FUNCTION_ARGS)
{
	CatzSpi		spi_level;
	TriggerData *td = catz_check_trigger(fcinfo, "bump_reload_epoch", false, false);

	spi_level = catz_spi_connect();
	if (td->tg_oldtable || td->tg_newtable)
	{
		/* UPDATE or DELETE: nothing to do when no row changed */
		if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
			elog(ERROR, "categorize: could not register the transition table");
		if (SPI_execute("SELECT 1 FROM changed LIMIT 1", true, 1) != SPI_OK_SELECT)
			elog(ERROR, "categorize: could not read the transition table");
		if (SPI_processed == 0)
		{
			catz_spi_finish(spi_level);
			return PointerGetDatum(NULL);
		}
	}
	catz_spi_finish(spi_level);
	bump_epoch();
	note_change(CATZ_WROTE_ALL);
	return PointerGetDatum(NULL);
}

/*
 * categorize.categories BEFORE INSERT OR UPDATE FOR EACH ROW: a parent must
 * be visible to the category's owner and the tree must stay acyclic.
 */
Datum
categorize_categories_before_write(PG_FUNCTION_ARGS)
{
	CatzSpi		spi_level;
	TriggerData *td = catz_check_trigger(fcinfo, "categories_before_write", true, true);
	TupleDesc	desc = td->tg_relation->rd_att;
	HeapTuple	tup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	bool		isnull;
	Datum		parent = heap_getattr(tup, column(desc, "parent_id"), desc, &isnull);
	Datum		d;
	bool		has_owner;
	int64		owner = 0;
	int64		self;
	int64		cur;
	int			depth;

	if (isnull)
		return PointerGetDatum(tup);
	d = heap_getattr(tup, column(desc, "owner_id"), desc, &isnull);
	has_owner = !isnull;
	if (has_owner)
		owner = DatumGetInt64(d);
	d = heap_getattr(tup, column(desc, "id"), desc, &isnull);
	self = isnull ? 0 : DatumGetInt64(d);

	cur = DatumGetInt64(parent);
	for (depth = 0; depth < 1000; depth++)
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		args[1] = {Int64GetDatum(cur)};
		Datum		next;
		bool		next_null;

		if (cur == self)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("category %lld cannot have category %lld as parent", (long long) self,
							(long long) DatumGetInt64(parent)),
					 errdetail("The category tree would contain a cycle.")));
		spi_level = catz_spi_connect();
		if (SPI_execute_with_args("SELECT parent_id, owner_id FROM categorize.categories WHERE id = $1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "categorize: could not read a category");
		if (SPI_processed == 0)
		{
			catz_spi_finish(spi_level);
			break;				/* the foreign key reports a missing parent */
		}
		if (depth == 0)
		{
			Datum		po = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

			if (!isnull && (!has_owner || DatumGetInt64(po) != owner))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parent category %lld belongs to user %lld",
								(long long) cur, (long long) DatumGetInt64(po)),
						 errdetail("A category's parent must be shared or belong to the same user.")));
		}
		next = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &next_null);
		catz_spi_finish(spi_level);
		if (next_null)
			break;
		cur = DatumGetInt64(next);
	}
	return PointerGetDatum(tup);
}

/*
 * categorize.patterns BEFORE INSERT OR UPDATE FOR EACH ROW, ENABLE REPLICA:
 * a pattern written by logical replication gets this server's value_norm
 * and change_xid (see the top of this file for what is not done).
 */
Datum
categorize_patterns_apply_write(PG_FUNCTION_ARGS)
{
	TriggerData *td = catz_check_trigger(fcinfo, "patterns_apply_write", true, true);
	TupleDesc	desc = td->tg_relation->rd_att;
	bool		is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
	HeapTuple	tup = is_update ? td->tg_newtuple : td->tg_trigtuple;
	int			cols[2] = {column(desc, "value_norm"), column(desc, "change_xid")};
	Datum		vals[2] = {0, FullTransactionIdGetDatum(GetTopFullTransactionId())};
	bool		nulls[2] = {true, false};

	set_value_norm(tup, desc, &vals[0], &nulls[0]);
	tup = heap_modify_tuple_by_cols(tup, desc, 2, cols, vals, nulls);
	if (is_update)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, column(desc, "owner_id"), desc, &isnull);

		(void) tombstone_if_owner_changed(td->tg_trigtuple, desc, !isnull, isnull ? 0 : DatumGetInt64(d));
	}
	note_apply();
	return PointerGetDatum(tup);
}

/*
 * categorize.patterns AFTER DELETE FOR EACH ROW, ENABLE REPLICA: the
 * tombstone of a pattern deleted by logical replication.
 */
Datum
categorize_patterns_apply_delete(PG_FUNCTION_ARGS)
{
	TriggerData *td = catz_check_trigger(fcinfo, "patterns_apply_delete", false, true);
	TupleDesc	desc = td->tg_relation->rd_att;
	bool		isnull;
	Datum		owner = heap_getattr(td->tg_trigtuple, column(desc, "owner_id"), desc, &isnull);
	bool		id_null;
	Datum		id = heap_getattr(td->tg_trigtuple, column(desc, "id"), desc, &id_null);

	if (!id_null)
		insert_tombstone(DatumGetInt64(id), !isnull, isnull ? 0 : DatumGetInt64(owner));
	note_apply();
	return PointerGetDatum(NULL);
}

/*
 * categorize.corrections BEFORE INSERT OR UPDATE FOR EACH ROW, ENABLE
 * REPLICA: a correction written by logical replication gets this server's
 * change_xid; an update makes every backend reload (as the statement
 * trigger corrections_after_update does for local writes).
 */
Datum
categorize_corrections_apply_write(PG_FUNCTION_ARGS)
{
	TriggerData *td = catz_check_trigger(fcinfo, "corrections_apply_write", true, true);
	TupleDesc	desc = td->tg_relation->rd_att;
	bool		is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
	HeapTuple	tup = is_update ? td->tg_newtuple : td->tg_trigtuple;
	int			cols[1] = {column(desc, "change_xid")};
	Datum		vals[1] = {FullTransactionIdGetDatum(GetTopFullTransactionId())};
	bool		nulls[1] = {false};

	tup = heap_modify_tuple_by_cols(tup, desc, 1, cols, vals, nulls);
	if (is_update)
		bump_epoch();
	note_apply();
	return PointerGetDatum(tup);
}

/*
 * categorize.corrections AFTER DELETE FOR EACH ROW, ENABLE REPLICA: every
 * backend reloads (as corrections_after_delete does for local deletes).
 */
Datum
categorize_corrections_apply_delete(PG_FUNCTION_ARGS)
{
	(void) catz_check_trigger(fcinfo, "corrections_apply_delete", false, true);
	bump_epoch();
	note_apply();
	return PointerGetDatum(NULL);
}
