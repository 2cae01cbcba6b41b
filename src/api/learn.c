/*-------------------------------------------------------------------------
 *
 * learn.c
 *	  learn_correction(): record a user's correction and learn from it.
 *
 * What one correction does, in one transaction (so a rollback leaves no
 * trace anywhere, and the triggers on our tables make it visible to this
 * transaction at once and to everyone at commit):
 *	1. checks: not on a standby or in a read-only transaction (25006), the
 *	   category exists (23503) and is visible to the user (22023);
 *	2. the engine's current answer for the expense (for from_category and
 *	   the pattern to blame);
 *	3. a row in categorize.corrections; with an expense id, a second
 *	   identical correction stops here (idempotent);
 *	4. unless categorize.learning is off: the user's learned merchant
 *	   pattern (owner = user, value = the normalized merchant, or the
 *	   description when there is no merchant) of this category is created
 *	   or taught once more, and the user's other learned patterns of the
 *	   merchant weigh less (evidence.c: the user's word, kept while it is
 *	   consistent, then weighed by recency and amount); the pattern that
 *	   answered gets a hit if it was right, a miss if it was not (queued
 *	   when its row is busy: feedback.c);
 *	5. with learning on and a shared category, when promote_min_users
 *	   distinct users have the same learned merchant and category, a
 *	   learned pattern for everyone is created (promotion).
 * The token model learns from the correction row itself (refresh.c).
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
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "api/api.h"
#include "engine/engine.h"
#include "shmem/shmem.h"
#include "store/store.h"
#include "worker/worker.h"

PG_FUNCTION_INFO_V1(categorize_learn_record);
PG_FUNCTION_INFO_V1(categorize_learn_values);

/* Prepared statements */
static SPIPlanPtr plan_insert_correction = NULL;
static SPIPlanPtr plan_latest_owner = NULL;
static SPIPlanPtr plan_latest_nobody = NULL;

/* Prepare once and keep */
static SPIPlanPtr
prepared(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types)
{
	return catz_spi_prepare_kept(plan, sql, nargs, types, 0);
}

/* Execute a prepared statement and check its result code */
static uint64
exec(SPIPlanPtr plan, Datum *args, const char *nulls, bool read_only, int expect)
{
	int			rc = SPI_execute_plan(plan, args, nulls, read_only, 0);

	if (rc != expect)
		elog(ERROR, "categorize: learning statement failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* A text Datum from (ptr, len), or a NULL marker */
static Datum
text_arg(const char *ptr, int len, bool present, char *null)
{
	*null = present ? ' ' : 'n';
	return present ? PointerGetDatum(cstring_to_text_with_len(ptr, len)) : (Datum) 0;
}

/* Check the category: it exists and the user may use it */
static void
check_category(int64 category_id, const CatzExpense *e)
{
	bool		has_owner;
	int64		owner;

	if (!catz_category_owner(category_id, &has_owner, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("category %lld does not exist", (long long) category_id),
				 errhint("Create it in categorize.categories first.")));
	if (has_owner && (!e->has_user || owner != e->user_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("category %lld belongs to another user", (long long) category_id),
				 errdetail("A user can file expenses under shared categories and under their own.")));
}

/* The normalized learning key: the merchant name, else the description */
static char *
learning_key(const CatzExpense *e, int *len)
{
	char	   *key = NULL;

	*len = 0;
	if (e->has_merchant)
		key = catz_normalize_cstring(e->merchant, e->merchant_len, len);
	if (*len == 0 && e->has_description)
		key = catz_normalize_cstring(e->description, e->description_len, len);
	return key;
}

/* What learning needs of the engine's answer before the correction */
typedef struct TopAnswer
{
	bool		present;
	bool		is_pattern;
	int64		category_id;
	double		confidence;
	int64		pattern_id;		/* when is_pattern */
	bool		is_learned_key; /* when is_pattern: one of the user's own
								 * learned patterns of the expense's merchant
								 * (the one this correction teaches) */
	int64		crowd_named_id; /* everyone's learned pattern of the merchant
								 * and the corrected category, for a user who
								 * taught nothing for it; 0 if none */
} TopAnswer;

/*
 * Everyone's learned pattern of the expense's merchant naming category_id,
 * when the expense's user taught nothing for the merchant (catz_mark_word()
 * then weighs everyone's patterns for them); 0 if none
 */
static int64
crowd_pattern_of(const CatzExpense *e, const CatzResult *res, int64 category_id)
{
	int			i;

	if (!e->has_user)
		return 0;
	for (i = 0; i < res->nhits; i++)
	{
		const CatzHit *h = &res->hits[i];

		if (h->word_group && !(h->entry->flags & CATZ_PF_OWNER) &&
			h->entry->category_id == category_id)
			return h->entry->pattern_id;
	}
	return 0;
}

/*
 * Whether the latest correction of this expense (by this owner) already
 * filed it under category_id: then a new call is a retry, not news.  Holds
 * a transaction lock on the expense so that concurrent retries take turns.
 */
static bool
already_filed(const CatzExpense *e, int64 category_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2];
	bool		isnull;
	uint64		key[2];

	key[0] = (uint64) e->expense_id;
	key[1] = e->has_user ? (uint64) e->user_id : 0x6e6f626f6479ull;
	DirectFunctionCall1(pg_advisory_xact_lock_int8,
						Int64GetDatum((int64) catz_hash_bytes(key, sizeof(key), 0x636f7272ull)));

	args[0] = Int64GetDatum(e->expense_id);
	args[1] = Int64GetDatum(e->user_id);
	if (e->has_user)
		exec(prepared(&plan_latest_owner,
					  "SELECT to_category_id FROM categorize.corrections "
					  "WHERE expense_id = $1 AND owner_id = $2 ORDER BY id DESC LIMIT 1",
					  2, types), args, NULL, false, SPI_OK_SELECT);
	else
		exec(prepared(&plan_latest_nobody,
					  "SELECT to_category_id FROM categorize.corrections "
					  "WHERE expense_id = $1 AND owner_id IS NULL ORDER BY id DESC LIMIT 1",
					  1, types), args, NULL, false, SPI_OK_SELECT);
	return SPI_processed > 0 &&
		DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) == category_id;
}

/*
 * Insert the correction row; false if it repeats the latest correction of
 * the same expense (a retry).  Filing an expense back under a category it
 * had before is a new correction.
 */
static bool
insert_correction(const CatzExpense *e, int64 category_id, const TopAnswer *top,
				  const char *scope)
{
	Oid			types[9] = {INT8OID, INT8OID, TEXTOID, TEXTOID, NUMERICOID, INT8OID,
	INT8OID, INT8OID, TEXTOID};
	Datum		args[9];
	char		nulls[10] = "         ";

	args[0] = Int64GetDatum(e->user_id);
	nulls[0] = e->has_user ? ' ' : 'n';
	args[1] = Int64GetDatum(e->expense_id);
	nulls[1] = e->has_expense_id ? ' ' : 'n';
	args[2] = text_arg(e->merchant, e->merchant_len, e->has_merchant, &nulls[2]);
	args[3] = text_arg(e->description, e->description_len, e->has_description, &nulls[3]);
	nulls[4] = 'n';
	args[4] = (Datum) 0;
	if (e->has_amount_numeric)
	{
		args[4] = e->amount_numeric;
		nulls[4] = ' ';
	}
	else if (e->has_amount)
	{
		args[4] = DirectFunctionCall1(float8_numeric, Float8GetDatum(e->amount));
		nulls[4] = ' ';
	}
	nulls[5] = 'n';
	args[5] = (Datum) 0;
	nulls[7] = 'n';
	args[7] = (Datum) 0;
	if (top->present && top->confidence >= catz_min_confidence)
	{
		args[5] = Int64GetDatum(top->category_id);
		nulls[5] = ' ';
	}
	if (top->is_pattern)
	{
		args[7] = Int64GetDatum(top->pattern_id);
		nulls[7] = ' ';
	}
	args[6] = Int64GetDatum(category_id);
	args[8] = CStringGetTextDatum(scope);

	if (e->has_expense_id && already_filed(e, category_id))
		return false;

	return exec(prepared(&plan_insert_correction,
						 "INSERT INTO categorize.corrections (owner_id, expense_id, merchant_name, "
						 "description, amount, from_category_id, to_category_id, from_pattern_id, "
						 "learn_scope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
						 9, types), args, nulls, false, SPI_OK_INSERT) > 0;
}

/* Shared body of both forms of learn_correction() */
static void
learn(const CatzExpense *e, int64 category_id)
{
	CatzSpi		spi_level;
	CatzResult	res;
	TopAnswer	top;
	const char *scope;
	char	   *key;
	int			keylen;
	CatzTaught	t;
	CatzKeyTaught before;
	bool		teaches;
	bool		evidence;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot learn a correction on a standby server"),
				 errhint("Run learn_correction() on the primary server; the standby gets what it learns by replication.")));
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot learn a correction in a read-only transaction"),
				 errhint("Learn corrections in a read-write transaction.")));

	scope = catz_learning == CATZ_LEARNING_OFF ? "none" :
		catz_learning == CATZ_LEARNING_OWNER_ONLY ? "owner" : "all";

	/* The engine's answer before the correction (copied: scopes are released) */
	memset(&top, 0, sizeof(top));
	PG_TRY();
	{
		catz_engine_categorize(e, 1, &res);
		if (res.ncandidates > 0)
		{
			top.present = true;
			top.category_id = res.candidates[0].category_id;
			top.confidence = res.candidates[0].confidence;
			top.is_pattern = res.candidates[0].source == CATZ_SOURCE_PATTERN;
			if (top.is_pattern)
			{
				top.pattern_id = res.candidates[0].hit->entry->pattern_id;
				/* everyone's pattern answering a user is not the one taught */
				top.is_learned_key = res.candidates[0].hit->word_group &&
					(!e->has_user || (res.candidates[0].hit->entry->flags & CATZ_PF_OWNER));
			}
			top.crowd_named_id = crowd_pattern_of(e, &res, category_id);
		}
	}
	PG_FINALLY();
	{
		catz_engine_release();
	}
	PG_END_TRY();

	/* Before anything is written */
	catz_ratelimit_take(e->has_user, e->user_id);

	/* An expense without words teaches nothing: record it only */
	key = learning_key(e, &keylen);
	if (keylen == 0)
		scope = "none";

	t.has_owner = e->has_user;
	t.owner_id = e->user_id;
	t.key = key;
	t.keylen = keylen;
	t.category_id = category_id;
	t.has_amount = e->has_amount;
	t.amount = e->amount;
	teaches = strcmp(scope, "none") != 0 && keylen <= CATZ_MAX_PATTERN_BYTES;

	spi_level = catz_spi_connect();
	check_category(category_id, e);

	/*
	 * The token model learns each way a user files a merchant once: a
	 * correction naming an (owner, merchant, category) taught before is a
	 * repeat, evidence for the learned pattern only
	 */
	evidence = teaches && catz_learned_before(&t, &before);
	if (evidence && before.category_taught)
		scope = "repeat";
	if (!insert_correction(e, category_id, &top, scope))
	{
		catz_spi_finish(spi_level);
		return;					/* this correction was already made */
	}
	catz_stats_count_correction();

	if (strcmp(scope, "none") != 0)
	{
		bool		taught_pattern = false;

		if (teaches)
		{
			int			promote = e->has_user && catz_learning == CATZ_LEARNING_ON ?
				catz_promote_min_users : 0;

			if (evidence)
				catz_teach_one(&t, &before, promote);
			else
				catz_teach(&t, 1, promote);
			taught_pattern = top.is_pattern && top.is_learned_key;
		}

		/*
		 * The pattern that answered: a hit when it was right, a miss when it
		 * was not (the learned pattern just taught counted its own hit)
		 */
		if (top.is_pattern && !(taught_pattern && top.category_id == category_id))
			catz_feedback_count(top.pattern_id, top.category_id == category_id);

		/*
		 * Everyone's pattern of this merchant and category, when another
		 * answered a user who taught nothing for it: a hit, for the crowd's
		 * answer follows what such users say (catz_mark_word())
		 */
		if (top.crowd_named_id != 0 && top.category_id != category_id &&
			top.crowd_named_id != top.pattern_id)
			catz_feedback_count(top.crowd_named_id, true);
	}
	catz_spi_finish(spi_level);
}

/* Read and check the category argument */
static int64
category_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("category_id must not be NULL")));
	return PG_GETARG_INT64(argno);
}

/* categorize.learn_correction(expense record, category_id bigint) */
Datum
categorize_learn_record(PG_FUNCTION_ARGS)
{
	CatzExpense e;
	int64		category_id = category_arg(fcinfo, 1);

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("expense must not be NULL")));
	catz_expense_from_record(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), &e);
	learn(&e, category_id);
	PG_RETURN_VOID();
}

/*
 * categorize.learn_correction(merchant_name, description, amount, user_id,
 * category_id, expense_id)
 */
Datum
categorize_learn_values(PG_FUNCTION_ARGS)
{
	CatzExpense e;
	int64		category_id = category_arg(fcinfo, 4);

	catz_expense_from_values(fcinfo, &e);
	if (!PG_ARGISNULL(5))
	{
		e.expense_id = PG_GETARG_INT64(5);
		e.has_expense_id = true;
	}
	learn(&e, category_id);
	PG_RETURN_VOID();
}

/* ----------------------------------------------------------------
 * Settings of learning
 * ----------------------------------------------------------------
 */
int			catz_learning = CATZ_LEARNING_ON;

static const struct config_enum_entry learning_options[] = {
	{"on", CATZ_LEARNING_ON, false},
	{"owner_only", CATZ_LEARNING_OWNER_ONLY, false},
	{"off", CATZ_LEARNING_OFF, false},
	{"true", CATZ_LEARNING_ON, true},
	{"false", CATZ_LEARNING_OFF, true},
	{NULL, 0, false}
};

void
catz_learn_init(void)
{
	DefineCustomEnumVariable("categorize.learning",
							 "What learn_correction() learns: on, owner_only (no promotion to everyone), or off (record only).",
							 NULL,
							 &catz_learning,
							 CATZ_LEARNING_ON,
							 learning_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}
