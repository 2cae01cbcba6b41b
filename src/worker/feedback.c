/*-------------------------------------------------------------------------
 *
 * feedback.c
 *	  The hit or miss a correction gives the pattern that answered, without
 *	  making concurrent corrections of a popular pattern take turns.
 *
 * A correction counts a miss on the pattern that gave the wrong category
 * (a hit on the one it confirmed) in categorize.patterns.  When many users
 * correct the same merchant at once, they would all update one row: each
 * waits for the previous one's commit (its row lock lasts until then), and
 * each update leaves a dead version of the row in every index of
 * categorize.patterns until vacuum, which every later lookup of the row
 * steps over.  So:
 *	- where the worker serves this database, the count is queued in
 *	  categorize.pattern_feedback (an insert into a table without indexes or
 *	  conflicts), the commit wakes the worker (at most every
 *	  CATZ_WAKE_SOON_MS, whoever commits), and the worker adds the queue to
 *	  the rows: a popular pattern is updated at most about ten times a
 *	  second, not once a correction, and its counts lag by about that;
 *	- elsewhere it is added to the row at once if the row's lock is free
 *	  (FOR NO KEY UPDATE SKIP LOCKED), with whatever was queued for it, and
 *	  queued only while another transaction holds the row.
 * Counts are never lost (the queue is a table, written in the correction's
 * transaction, so a rollback leaves nothing) nor counted twice (a queued
 * row is deleted by the transaction that adds it, under the pattern's row
 * lock).  Readers see a queued count when it reaches categorize.patterns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "base/base.h"
#include "shmem/shmem.h"
#include "worker/worker.h"

/* What a hit sets confirmed to (the latest confirmation of a learned pattern) */
#define CONFIRMED_AFTER(hits) \
"CASE WHEN " hits " > 0 THEN CASE WHEN p.source = 'learned'" \
"     THEN pg_catalog.nextval('categorize.confirmation_seq') END ELSE p.confirmed END"

/*
 * Count $2 hits and $3 misses on pattern $1 if its row is free, with the
 * queued counts of the pattern that have committed
 */
static const char count_sql[] =
"WITH l AS (SELECT id FROM categorize.patterns WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED),"
"     q AS (DELETE FROM categorize.pattern_feedback f USING l WHERE f.pattern_id = l.id"
"           RETURNING f.hits, f.misses),"
"     s AS (SELECT $2 + coalesce(sum(q.hits), 0) AS h, $3 + coalesce(sum(q.misses), 0) AS m FROM q) "
"UPDATE categorize.patterns p SET hits = p.hits + s.h, misses = p.misses + s.m,"
"       confirmed = " CONFIRMED_AFTER("s.h")
"  FROM l, s WHERE p.id = l.id";

/* ... else queue them (unless the pattern is gone) */
static const char queue_sql[] =
"INSERT INTO categorize.pattern_feedback (pattern_id, hits, misses)"
"SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM categorize.patterns WHERE id = $1)";

/*
 * The worker's fold of the queued patterns $1 whose rows are free: the
 * patterns are locked by primary key, and the queue is joined to the
 * locked ones (each id once), never to itself: its row estimates are often
 * far off (rows come and go many times a second, vacuum rarely sees it
 * empty), and a self-join planned on them went badly wrong.
 */
static const char fold_sql[] =
"WITH l AS (SELECT p.id FROM categorize.patterns p WHERE p.id = ANY ($1)"
"            FOR NO KEY UPDATE OF p SKIP LOCKED),"
"     q AS (DELETE FROM categorize.pattern_feedback f USING l WHERE f.pattern_id = l.id"
"           RETURNING f.pattern_id, f.hits, f.misses),"
"     s AS (SELECT q.pattern_id, sum(q.hits) AS h, sum(q.misses) AS m FROM q GROUP BY q.pattern_id) "
"UPDATE categorize.patterns p SET hits = p.hits + s.h, misses = p.misses + s.m,"
"       confirmed = " CONFIRMED_AFTER("s.h")
"  FROM s WHERE p.id = s.pattern_id";

/* ... and what was queued for patterns of $1 deleted since */
static const char orphans_sql[] =
"DELETE FROM categorize.pattern_feedback f WHERE f.pattern_id = ANY ($1)"
"   AND NOT EXISTS (SELECT 1 FROM categorize.patterns p WHERE p.id = f.pattern_id)";

/* Queued rows a fold of the worker looks at, at most (it takes all of their patterns') */
#define FEEDBACK_FOLD_ROWS 100000

/* This transaction queued counts for the worker */
static bool queued_for_worker = false;
static bool xact_callback_registered = false;

static void
feedback_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && queued_for_worker)
		catz_wake_worker_soon();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE)
		queued_for_worker = false;
}

static SPIPlanPtr plan_count = NULL;
static SPIPlanPtr plan_queue = NULL;
static SPIPlanPtr plan_update_hit = NULL;
static SPIPlanPtr plan_update_miss = NULL;

/* Whether this database's extension has the queue (1.3 and later) */
static bool
queue_exists(void)
{
	Oid			nsp = get_namespace_oid("categorize", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("pattern_feedback", nsp));
}

/* Run a kept statement; ERROR unless it returned `expect` */
static uint64
run(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types, Datum *args, int expect)
{
	int			rc;

	catz_spi_prepare_kept(plan, sql, nargs, types, 0);
	rc = SPI_execute_plan(*plan, args, NULL, false, 0);
	if (rc != expect)
		elog(ERROR, "categorize: feedback statement failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Whether the categorize worker serves this database (and folds the queue) */
static bool
worker_folds_here(void)
{
	return catz_shared_enabled() && pg_atomic_read_u32(&catz_shared->worker_pid) != 0 &&
		catz_shared->worker_dboid == MyDatabaseId;
}

void
catz_feedback_count(int64 pattern_id, bool hit)
{
	Oid			types[3] = {INT8OID, INT4OID, INT4OID};
	Datum		args[3];

	args[0] = Int64GetDatum(pattern_id);
	args[1] = Int32GetDatum(hit ? 1 : 0);
	args[2] = Int32GetDatum(hit ? 0 : 1);

	/* An extension older than this library: update the row, as 1.2 did */
	if (!queue_exists())
	{
		if (hit)
			run(&plan_update_hit,
				"UPDATE categorize.patterns SET hits = hits + 1, "
				"confirmed = CASE WHEN source = 'learned' "
				"THEN pg_catalog.nextval('categorize.confirmation_seq') END WHERE id = $1",
				1, types, args, SPI_OK_UPDATE);
		else
			run(&plan_update_miss,
				"UPDATE categorize.patterns SET misses = misses + 1 WHERE id = $1",
				1, types, args, SPI_OK_UPDATE);
		return;
	}
	if (worker_folds_here())
	{
		if (!xact_callback_registered)
		{
			RegisterXactCallback(feedback_xact_callback, NULL);
			xact_callback_registered = true;
		}
		run(&plan_queue, queue_sql, 3, types, args, SPI_OK_INSERT);
		queued_for_worker = true;
	}
	else if (run(&plan_count, count_sql, 3, types, args, SPI_OK_UPDATE) == 0)
		run(&plan_queue, queue_sql, 3, types, args, SPI_OK_INSERT);
}

void
catz_feedback_fold(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (queue_exists())
	{
		CatzSpi		spi = catz_spi_connect();
		bool		isnull = true;
		Datum		ids = (Datum) 0;

		/* a backlog (the worker was away) is folded over several rounds */
		if (SPI_execute("SELECT pg_catalog.array_agg(DISTINCT f.pattern_id)"
						"  FROM (SELECT pattern_id FROM categorize.pattern_feedback"
						"         LIMIT " CppAsString2(FEEDBACK_FOLD_ROWS) ") f",
						true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "categorize worker: could not read categorize.pattern_feedback");
		ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			Oid			types[1] = {INT8ARRAYOID};

			pgstat_report_activity(STATE_RUNNING, "categorize worker: folding pattern feedback");
			/* the queue's estimates can make it look worth a JIT compilation: never */
			(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
									 true, 0, false);
			if (SPI_execute_with_args(fold_sql, 1, types, &ids, NULL, false, 0) != SPI_OK_UPDATE ||
				SPI_execute_with_args(orphans_sql, 1, types, &ids, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "categorize worker: could not fold categorize.pattern_feedback");
		}
		catz_spi_finish(spi);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}
