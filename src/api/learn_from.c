/*-------------------------------------------------------------------------
 *
 * learn_from.c
 *	  categorize.learn_rows(): one batch of CALL categorize.learn_from(),
 *	  bulk learning from rows a user already categorized.
 *
 * The procedure (SQL, in the install script) walks the table in date
 * order, collects batch_size rows into arrays, calls this function and
 * commits.  For the batch, in three statements whatever its size:
 *	1. the learning key of each row (its normalized merchant name, else its
 *	   description), computed here;
 *	2. one INSERT into categorize.corrections of the rows that are news: the
 *	   category exists and the row's user may use it, and the expense's
 *	   latest correction did not already file it there (so that a second
 *	   run learns nothing);
 *	3. catz_teach() on what those rows teach, the body learn_correction()
 *	   uses for one row, so that the patterns are those correcting the rows
 *	   one by one would have left.
 * Unlike learn_correction() it does not ask the engine for its answer
 * first (from_category_id stays NULL, no pattern gets a hit or a miss):
 * the engine never answered these rows.  It is not rate limited: it is for
 * administrators (EXECUTE is granted to categorize_admin only).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "api/api.h"
#include "base/base.h"
#include "shmem/shmem.h"
#include "store/store.h"

PG_FUNCTION_INFO_V1(categorize_learn_rows);

static SPIPlanPtr plan_insert = NULL;

bool		catz_learning_in_bulk = false;

/*
 * Rows as the batch's arrays hold them; ord is 1-based (WITH ORDINALITY).
 * $8 is the learn_scope of rows with a key, $9 whether the table has the
 * evidence columns; a row whose (owner, key, category) was taught before,
 * or by an earlier row of the batch, is a 'repeat' (see learn.c).
 */
static const char insert_sql[] =
"INSERT INTO categorize.corrections (owner_id, expense_id, merchant_name, description, amount,"
"                                    to_category_id, learn_scope)"
"SELECT u.o, u.id, u.m, u.d, u.a, u.c,"
"       CASE WHEN u.k = '' OR $8 = 'none' THEN 'none'"
"            WHEN NOT $9 THEN $8"
"            WHEN u.nth > 1 OR EXISTS ("
"                SELECT FROM categorize.patterns p"
"                 WHERE p.value_norm = u.k AND p.category_id = u.c AND p.taught > 0"
"                   AND (p.owner_id = u.o OR (u.o IS NULL AND p.owner_id IS NULL))"
"                   AND p.source = 'learned' AND p.kind = 'merchant'"
"                   AND p.amount_min IS NULL AND p.amount_max IS NULL) THEN 'repeat'"
"            ELSE $8 END"
"  FROM (SELECT v.*, row_number() OVER (PARTITION BY v.o, v.k, v.c ORDER BY v.ord) AS nth"
"          FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::numeric[], $6::int8[],"
"                      $7::text[]) WITH ORDINALITY v(id, o, m, d, a, c, k, ord)"
"          JOIN categorize.categories cat ON cat.id = v.c"
"           AND (cat.owner_id IS NULL OR cat.owner_id = v.o)"
"          LEFT JOIN (SELECT DISTINCT ON (x.expense_id, x.owner_id)"
"                            x.expense_id, x.owner_id, x.to_category_id"
"                       FROM categorize.corrections x WHERE x.expense_id = ANY ($1)"
"                      ORDER BY x.expense_id, x.owner_id, x.id DESC) l"
"            ON l.expense_id = v.id"
"           AND (l.owner_id = v.o OR (v.o IS NULL AND l.owner_id IS NULL))"
"         WHERE l.to_category_id IS DISTINCT FROM v.c) u"
" ORDER BY u.ord "
"RETURNING expense_id";

/* The elements of a one-dimensional array argument, with their NULLs */
static void
array_elements(FunctionCallInfo fcinfo, int argno, Oid type, int n,
			   Datum **values, bool **nulls)
{
	ArrayType  *arr;
	int			count;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument %d of learn_rows() must not be NULL", argno + 1)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the arrays of learn_rows() must be one-dimensional")));
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, type, typlen, typbyval, typalign, values, nulls, &count);
	if (count != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the arrays of learn_rows() must have the same length"),
				 errdetail("Argument 1 has %d elements, argument %d has %d.", n, argno + 1, count)));
}

/* Run the INSERT of the batch's corrections, in bulk mode */
static int
insert_in_bulk(Datum *args)
{
	int			rc;

	catz_learning_in_bulk = true;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan_insert, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		catz_learning_in_bulk = false;
	}
	PG_END_TRY();
	return rc;
}

/* Ascending int64 comparison, for the ids the INSERT kept */
static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * categorize.learn_rows(ids bigint[], user_ids bigint[], merchant_names
 * text[], descriptions text[], amounts numeric[], category_ids bigint[])
 * RETURNS bigint: the rows learned (the others were not news, or named a
 * category that does not exist or belongs to another user)
 */
Datum
categorize_learn_rows(PG_FUNCTION_ARGS)
{
	ArrayType  *ids_arr;
	Datum	   *ids,
			   *owners,
			   *merchants,
			   *descriptions,
			   *amounts,
			   *categories;
	bool	   *ids_null,
			   *owners_null,
			   *merchants_null,
			   *descriptions_null,
			   *amounts_null,
			   *categories_null;
	int			n;
	int			i;
	char	  **keys;
	int		   *keylens;
	Datum	   *key_datums;
	int64	   *kept;
	uint64		nkept;
	CatzTaught *taught;
	int			ntaught = 0;
	const char *scope;
	CatzSpi		spi_level;

	if (RecoveryInProgress() || XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot learn in a read-only transaction"),
				 errhint("Run learn_from() in a read-write transaction on the primary server.")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument 1 of learn_rows() must not be NULL")));
	ids_arr = PG_GETARG_ARRAYTYPE_P(0);
	n = ArrayGetNItems(ARR_NDIM(ids_arr), ARR_DIMS(ids_arr));
	array_elements(fcinfo, 0, INT8OID, n, &ids, &ids_null);
	array_elements(fcinfo, 1, INT8OID, n, &owners, &owners_null);
	array_elements(fcinfo, 2, TEXTOID, n, &merchants, &merchants_null);
	array_elements(fcinfo, 3, TEXTOID, n, &descriptions, &descriptions_null);
	array_elements(fcinfo, 4, NUMERICOID, n, &amounts, &amounts_null);
	array_elements(fcinfo, 5, INT8OID, n, &categories, &categories_null);
	if (n == 0)
		PG_RETURN_INT64(0);

	/* 1. the learning key of each row */
	keys = palloc(sizeof(char *) * n);
	keylens = palloc(sizeof(int) * n);
	key_datums = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (ids_null[i] || categories_null[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the ids and category ids of learn_rows() must not be NULL")));
		keylens[i] = 0;
		keys[i] = NULL;
		if (!merchants_null[i])
		{
			text	   *t = DatumGetTextPP(merchants[i]);

			keys[i] = catz_normalize_cstring(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &keylens[i]);
		}
		if (keylens[i] == 0 && !descriptions_null[i])
		{
			text	   *t = DatumGetTextPP(descriptions[i]);

			keys[i] = catz_normalize_cstring(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &keylens[i]);
		}
		if (keys[i] == NULL)
			keys[i] = "";
		key_datums[i] = PointerGetDatum(cstring_to_text_with_len(keys[i], keylens[i]));
	}

	scope = catz_learning == CATZ_LEARNING_OFF ? "none" :
		catz_learning == CATZ_LEARNING_OWNER_ONLY ? "owner" : "all";

	/* 2. the corrections that are news */
	spi_level = catz_spi_connect();
	{
		Oid			types[9] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		NUMERICARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTOID, BOOLOID};
		Datum		args[9];
		int			dims[1] = {n};
		int			lbs[1] = {1};
		bool	   *no_null = palloc0(sizeof(bool) * n);
		int			rc;

		args[0] = PG_GETARG_DATUM(0);
		args[1] = PG_GETARG_DATUM(1);
		args[2] = PG_GETARG_DATUM(2);
		args[3] = PG_GETARG_DATUM(3);
		args[4] = PG_GETARG_DATUM(4);
		args[5] = PG_GETARG_DATUM(5);
		args[6] = PointerGetDatum(construct_md_array(key_datums, no_null, 1, dims, lbs,
													 TEXTOID, -1, false, TYPALIGN_INT));
		args[7] = CStringGetTextDatum(scope);
		args[8] = BoolGetDatum(catz_patterns_have_evidence());
		catz_spi_prepare_kept(&plan_insert, insert_sql, 9, types, 0);
		rc = insert_in_bulk(args);
		if (rc != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "categorize: learning statement failed: %s", SPI_result_code_string(rc));
	}
	nkept = SPI_processed;
	kept = palloc(sizeof(int64) * (nkept ? nkept : 1));
	for (i = 0; i < (int) nkept; i++)
	{
		bool		isnull;

		kept[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	qsort(kept, nkept, sizeof(int64), int64_cmp);

	/* 3. what the kept rows teach, in the batch's order */
	taught = palloc(sizeof(CatzTaught) * n);
	if (strcmp(scope, "none") != 0)
		for (i = 0; i < n; i++)
		{
			int64		id = DatumGetInt64(ids[i]);
			CatzTaught *t = &taught[ntaught];

			if (keylens[i] == 0 || keylens[i] > CATZ_MAX_PATTERN_BYTES ||
				bsearch(&id, kept, nkept, sizeof(int64), int64_cmp) == NULL)
				continue;
			t->has_owner = !owners_null[i];
			t->owner_id = t->has_owner ? DatumGetInt64(owners[i]) : 0;
			t->key = keys[i];
			t->keylen = keylens[i];
			t->category_id = DatumGetInt64(categories[i]);
			t->has_amount = !amounts_null[i] && catz_numeric_to_double(amounts[i], &t->amount);
			ntaught++;
		}
	catz_teach(taught, ntaught, catz_learning == CATZ_LEARNING_ON ? catz_promote_min_users : 0);
	catz_spi_finish(spi_level);

	catz_stats_count_corrections(nkept);
	PG_RETURN_INT64((int64) nkept);
}
