/*-------------------------------------------------------------------------
 *
 * auto_categorize.c
 *	  auto_categorize(), the trigger for applications' expense tables: it
 *	  fills the category column (and the confidence column, when there is
 *	  one) of rows that do not have one yet.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"

#include "api/api.h"
#include "engine/engine.h"

PG_FUNCTION_INFO_V1(categorize_auto_categorize);

/* Set (locally) by categorize.recategorize() for its own updates */
static bool catz_recategorizing = false;

/*
 * Make a value of the column's base type fit the column: the typmod of a
 * numeric (error 22003 when it does not fit) and the constraints of a
 * domain (error 23514), as an INSERT of the value would.
 */
static Datum
fit_column(Datum value, Form_pg_attribute att)
{
	int32		typmod = att->atttypmod;
	Oid			base = getBaseTypeAndTypmod(att->atttypid, &typmod);

	if (base == NUMERICOID && typmod >= 0)
		value = DirectFunctionCall2(numeric, value, Int32GetDatum(typmod));
	if (base != att->atttypid)
		domain_check(value, false, att->atttypid, NULL, CurrentMemoryContext);
	return value;
}

/*
 * categorize.auto_categorize(): BEFORE INSERT OR UPDATE FOR EACH ROW on an
 * application's table.  TG_ARGV[0] names the target column (default
 * category_id), TG_ARGV[1] an optional confidence column.  Fills them only
 * when the target is NULL, so a category set by a user or the application
 * is never overwritten.  With a confidence column, a row whose confidence
 * is set was categorized by the engine, and an update that changes the
 * category alone clears the confidence: the user now owns that category.
 */
Datum
categorize_auto_categorize(PG_FUNCTION_ARGS)
{
	TriggerData *td = catz_check_trigger(fcinfo, "auto_categorize", true, true);
	Relation	rel = td->tg_relation;
	TupleDesc	desc = rel->rd_att;
	HeapTuple	tup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	const char *target = td->tg_trigger->tgnargs > 0 ? td->tg_trigger->tgargs[0] : "category_id";
	const char *confcol = td->tg_trigger->tgnargs > 1 ? td->tg_trigger->tgargs[1] : NULL;
	int			att_target;
	int			att_conf = 0;
	Oid			target_type;
	bool		isnull;
	CatzExpense e;
	int64		category;
	double		confidence = 0;
	int			cols[2];
	Datum		vals[2];
	bool		nulls[2] = {false, false};
	int			ncols = 0;

	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("auto_categorize() must be fired on INSERT or UPDATE")));

	att_target = SPI_fnumber(desc, target);
	if (att_target <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", target,
						RelationGetRelationName(rel)),
				 errhint("Name the target column in the first trigger argument.")));
	target_type = getBaseType(TupleDescAttr(desc, att_target - 1)->atttypid);
	if (target_type != INT8OID && target_type != INT4OID && target_type != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" must be bigint, integer or numeric to hold a category id", target)));
	if (confcol)
	{
		Oid			t;

		att_conf = SPI_fnumber(desc, confcol);
		if (att_conf <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist", confcol,
							RelationGetRelationName(rel)),
					 errhint("Name the confidence column in the second trigger argument, or leave it out.")));
		t = getBaseType(TupleDescAttr(desc, att_conf - 1)->atttypid);
		if (t != FLOAT4OID && t != FLOAT8OID && t != NUMERICOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" must be real, double precision or numeric to hold a confidence", confcol)));
	}

	(void) heap_getattr(tup, att_target, desc, &isnull);
	if (!isnull)
	{
		/*
		 * Set by a user or the app: keep it.  An update that changes the
		 * category but not its confidence is a user's correction: the
		 * confidence (the engine's mark) goes, so that recategorize() leaves
		 * the row alone from now on.
		 */
		if (att_conf > 0 && TRIGGER_FIRED_BY_UPDATE(td->tg_event) && !catz_recategorizing &&
			catz_column_changed(td->tg_trigtuple, tup, desc, att_target) &&
			!catz_column_changed(td->tg_trigtuple, tup, desc, att_conf))
		{
			Datum		null_value = (Datum) 0;
			bool		null_flag = true;

			return PointerGetDatum(heap_modify_tuple_by_cols(tup, desc, 1, &att_conf,
															 &null_value, &null_flag));
		}
		return PointerGetDatum(tup);
	}
	if (!catz_enabled)
		return PointerGetDatum(tup);

	catz_warn_not_preloaded();
	catz_expense_from_tuple(fcinfo, tup, desc, &e);
	category = catz_categorize_counted(&e, &confidence, true);
	if (category < 0)
		return PointerGetDatum(tup);

	cols[ncols] = att_target;
	if (target_type == INT8OID)
		vals[ncols] = Int64GetDatum(category);
	else if (target_type == INT4OID)
	{
		if (category > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("category id %lld does not fit in integer column \"%s\"",
							(long long) category, target)));
		vals[ncols] = Int32GetDatum((int32) category);
	}
	else
		vals[ncols] = DirectFunctionCall1(int8_numeric, Int64GetDatum(category));
	vals[ncols] = fit_column(vals[ncols], TupleDescAttr(desc, att_target - 1));
	ncols++;
	if (att_conf > 0)
	{
		Oid			t = getBaseType(TupleDescAttr(desc, att_conf - 1)->atttypid);

		cols[ncols] = att_conf;
		if (t == FLOAT4OID)
			vals[ncols] = Float4GetDatum((float4) confidence);
		else if (t == FLOAT8OID)
			vals[ncols] = Float8GetDatum(confidence);
		else
			vals[ncols] = DirectFunctionCall1(float8_numeric, Float8GetDatum(confidence));
		vals[ncols] = fit_column(vals[ncols], TupleDescAttr(desc, att_conf - 1));
		ncols++;
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(tup, desc, ncols, cols, vals, nulls));
}

void
catz_auto_categorize_init(void)
{
	/*
	 * Set (locally) by categorize.recategorize() for its own updates, so
	 * that auto_categorize() does not take them for a user's.  Not for
	 * users: hidden from SHOW ALL and the sample file.
	 */
	DefineCustomBoolVariable("categorize.recategorizing",
							 "Marks updates made by categorize.recategorize() (internal).",
							 NULL,
							 &catz_recategorizing,
							 false,
							 PGC_USERSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_NO_RESET_ALL,
							 NULL, NULL, NULL);
}
