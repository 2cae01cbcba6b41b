/*-------------------------------------------------------------------------
 *
 * feedback.c
 *	  The hit or miss a correction gives the pattern that answered, without
 *	  making concurrent corrections of a popular pattern take turns.
 *
 * A correction counts a miss on the pattern that gave the wrong category
 * (a hit on the one it confirmed) in categorize.patterns.  When many users
 * correct the same merchant at once, they would all update one row, each
 * waiting for the previous one's commit (its row lock lasts until then).
 * So the count goes to the row only when the row's lock is free (FOR NO
 * KEY UPDATE SKIP LOCKED); while another transaction holds it, the count
 * is queued in categorize.pattern_feedback, a table without indexes or
 * conflicts; and for ten times categorize.feedback_delay after a
 * correction found the row busy or (where the worker serves the database)
 * counted on it, the pattern's counts are queued without trying the row
 * (else each would update it in turn, and each update leaves a dead
 * version of the row in every index until vacuum: the update changes
 * change_xid, which is indexed, so it is never HOT; at 700 corrections/s
 * of one merchant, those updates took 44% of a correction's time).  The
 * queue is folded (its sums added to the rows that are free, the rest
 * queued again), at most every categorize.feedback_delay, by:
 *	- the worker, where it serves the database: a commit that queued wakes
 *	  it (at most that often, whoever commits) and it folds the queue
 *	  without a whole round, and once a round anyway;
 *	- elsewhere, the next correction after a commit that queued (the
 *	  database's feedback_queued moved past feedback_folded), and every
 *	  correction when there is no shared memory to tell.
 * A pattern corrected now and then (and, where no worker folds, any pattern
 * nobody else corrects at the same moment) has its counts in its row at the
 * correction's commit.
 * Counts are never lost (the queue is a table, written in the correction's
 * transaction, so a rollback leaves nothing) nor counted twice (a fold
 * deletes what it adds, and a second fold waits for the first's row locks
 * and then finds those rows gone).
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

/* Count $2 hits and $3 misses on pattern $1 if its row is free */
static const char count_sql[] =
"UPDATE categorize.patterns p SET hits = p.hits + $2, misses = p.misses + $3,"
"       confirmed = " CONFIRMED_AFTER("$2")
"  FROM (SELECT id FROM categorize.patterns WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED) l"
" WHERE p.id = l.id";

/* ... else queue them (unless the pattern is gone) */
static const char queue_sql[] =
"INSERT INTO categorize.pattern_feedback (pattern_id, hits, misses)"
"SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM categorize.patterns WHERE id = $1)";

/*
 * A fold, in one scan of the queue: take every queued count,
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

/*
 * What this transaction did to the queue, for its commit to tell: queued
 * counts (in queued_db), or folded it as of feedback_queued = folded_as_of
 */
static CatzSharedDb *queued_db = NULL;
static CatzSharedDb *folded_db = NULL;
static uint64 folded_as_of = 0;
static bool xact_callback_registered = false;

static void
feedback_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT)
	{
		if (folded_db)
		{
			uint64		v = pg_atomic_read_u64(&folded_db->feedback_folded);

			while (v < folded_as_of &&
				   !pg_atomic_compare_exchange_u64(&folded_db->feedback_folded, &v, folded_as_of))
				;
		}
		if (queued_db)
			catz_feedback_queued(queued_db, catz_feedback_delay_ms);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		/* a prepared transaction's queue waits for the worker's round */
		queued_db = NULL;
		folded_db = NULL;
		folded_as_of = 0;
	}
}

static SPIPlanPtr plan_count = NULL;
static SPIPlanPtr plan_queue = NULL;
static SPIPlanPtr plan_update_hit = NULL;
static SPIPlanPtr plan_update_miss = NULL;

/* Whether this database's extension has the queue (1.3 and later) */
static bool
queue_exists(void)
{
	return OidIsValid(catz_relids()->feedback);
}

/*
 * Fold the queue (inside catz_spi_connect(), which restores the setting
 * changed here); true if it queued some counts again
 */
static bool
fold_queue(void)
{
	/* the queue's estimates can make it look worth a JIT compilation: never */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (SPI_execute(fold_sql, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "categorize: could not fold categorize.pattern_feedback");
	return SPI_processed > 0;
}

void
catz_feedback_count(int64 pattern_id, bool hit)
{
	Oid			types[3] = {INT8OID, INT4OID, INT4OID};
	Datum		args[3];
	CatzSharedDb *db;
	bool		requeued = false;	/* a fold queued others' counts again */
	bool		mine_queued = false;
	bool		busy = false;	/* another transaction held the row */

	args[0] = Int64GetDatum(pattern_id);
	args[1] = Int32GetDatum(hit ? 1 : 0);
	args[2] = Int32GetDatum(hit ? 0 : 1);

	/* An extension older than this library: update the row, as 1.2 did */
	if (!queue_exists())
	{
		if (hit)
			catz_spi_run_kept(&plan_update_hit,
				"UPDATE categorize.patterns SET hits = hits + 1, "
				"confirmed = CASE WHEN source = 'learned' "
				"THEN pg_catalog.nextval('categorize.confirmation_seq') END WHERE id = $1",
				1, types, 0, args, NULL, SPI_OK_UPDATE);
		else
			catz_spi_run_kept(&plan_update_miss,
				"UPDATE categorize.patterns SET misses = misses + 1 WHERE id = $1",
				1, types, 0, args, NULL, SPI_OK_UPDATE);
		return;
	}
	if (!xact_callback_registered)
	{
		RegisterXactCallback(feedback_xact_callback, NULL);
		xact_callback_registered = true;
	}

	/*
	 * Fold what others queued, unless the worker does, nothing was queued
	 * since the latest fold, or a backend folded less than feedback_delay
	 * ago
	 */
	db = catz_shared_enabled() ? catz_shared_db(false) : NULL;
	if (db == NULL)
		requeued = fold_queue();
	else if (!catz_worker_serves(db))
	{
		uint64		as_of = pg_atomic_read_u64(&db->feedback_queued);

		if (as_of != pg_atomic_read_u64(&db->feedback_folded) &&
			catz_feedback_fold_claim(db, catz_feedback_delay_ms))
		{
			requeued = fold_queue();
			folded_db = db;
			folded_as_of = Max(folded_as_of, as_of);
		}
	}

	/*
	 * The row if it is free, unless a correction found it busy lately or,
	 * where the worker folds the queue soon, counted on it lately: a popular
	 * pattern's counts then queue until the next fold, and its row is not
	 * updated (and waited for) once a correction.  Elsewhere the queue
	 * waits for the next correction, so a free row takes its count.
	 */
	if (db && catz_pattern_is_hot(db, pattern_id, 10 * catz_feedback_delay_ms))
		mine_queued = true;
	else if (catz_spi_run_kept(&plan_count, count_sql, 3, types, 0, args, NULL, SPI_OK_UPDATE) == 0)
		mine_queued = busy = true;
	if (db && catz_feedback_delay_ms > 0 && (busy || catz_worker_serves(db)))
		catz_pattern_mark_hot(db, pattern_id);
	if (mine_queued)
		catz_spi_run_kept(&plan_queue, queue_sql, 3, types, 0, args, NULL, SPI_OK_INSERT);
	if ((mine_queued || requeued) && db)
		queued_db = db;
}

void
catz_feedback_fold(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_namespace_oid("categorize", true)) && queue_exists())
	{
		CatzSpi		spi = catz_spi_connect();

		pgstat_report_activity(STATE_RUNNING, "categorize worker: folding pattern feedback");
		(void) fold_queue();
		catz_spi_finish(spi);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* ----------------------------------------------------------------
 * Settings of feedback
 * ----------------------------------------------------------------
 */
int			catz_feedback_delay_ms = 100;

void
catz_feedback_init(void)
{
	DefineCustomIntVariable("categorize.feedback_delay",
							"How long the hits and misses of a popular pattern may wait in categorize.pattern_feedback.",
							"The queue is folded at most this often; a pattern whose row a correction found busy "
							"(or, where the worker serves the database, counted on) has its counts queued, "
							"without trying its row, for ten times as long. "
							"0 folds at every chance and never skips a row.",
							&catz_feedback_delay_ms,
							100,
							0, 60000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}
