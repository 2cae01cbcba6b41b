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
 *	  CATZ_FEEDBACK_WAKE_MS, whoever commits), and the worker adds the queue to
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
 * The worker's fold, in one scan of the queue: take every queued count,
 * add the sums to the patterns whose rows are free, and queue again the
 * sums of those whose rows another transaction holds (those of patterns
 * deleted meanwhile are dropped).  The queue is only ever scanned once,
 * never joined to itself: its row estimates are often far off (rows come
 * and go many times a second, vacuum rarely sees it empty).
 */
static const char fold_sql[] =
"WITH q AS (DELETE FROM categorize.pattern_feedback RETURNING pattern_id, hits, misses),"
"     s AS (SELECT q.pattern_id, sum(q.hits) AS h, sum(q.misses) AS m FROM q GROUP BY q.pattern_id),"
"     l AS (SELECT p.id FROM categorize.patterns p JOIN s ON s.pattern_id = p.id"
"            FOR NO KEY UPDATE OF p SKIP LOCKED),"
"     u AS (UPDATE categorize.patterns p SET hits = p.hits + s.h, misses = p.misses + s.m,"
"                  confirmed = " CONFIRMED_AFTER("s.h")
"             FROM s JOIN l ON l.id = s.pattern_id WHERE p.id = s.pattern_id RETURNING p.id) "
"INSERT INTO categorize.pattern_feedback (pattern_id, hits, misses)"
"SELECT s.pattern_id, s.h::int, s.m::int FROM s"
" WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = s.pattern_id)"
"   AND EXISTS (SELECT 1 FROM categorize.patterns p WHERE p.id = s.pattern_id)";

/* This transaction queued counts for the worker */
static bool queued_for_worker = false;
static bool xact_callback_registered = false;

static void
feedback_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && queued_for_worker)
		catz_wake_worker_for_feedback();
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

		pgstat_report_activity(STATE_RUNNING, "categorize worker: folding pattern feedback");
		/* the queue's estimates can make it look worth a JIT compilation: never */
		(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);
		if (SPI_execute(fold_sql, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "categorize worker: could not fold categorize.pattern_feedback");
		catz_spi_finish(spi);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}
