/*-------------------------------------------------------------------------
 *
 * usage.c
 *	  The worker's fold of committed decisions into categorize.pattern_usage:
 *	  how many rows each rule decided for the auto_categorize() trigger, and
 *	  when it last did.
 *
 * Decisions are counted in shared memory when the trigger's transactions
 * commit (shmem/decisions.c); reads never count.  The worker adds what
 * accumulated since its previous fold to pattern_usage in one statement of
 * a transaction of its own, and only once that committed subtracts it from
 * the shared counts, so a failed fold (an error, a cancel) is retried at
 * the next round and nothing is counted twice.
 *
 * pattern_usage is written here only, and never categorize.patterns: an
 * update of a pattern row would make every backend reload its compiled
 * sets, while pattern_usage has no trigger and sends no invalidation.
 * Rows of patterns deleted meanwhile are skipped (the join below, which
 * also locks the patterns it counts for, against a concurrent delete).
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
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "shmem/shmem.h"
#include "worker/worker.h"

/* Patterns folded in one statement at most; a round runs a few */
#define USAGE_FOLD_BATCH	4096
#define USAGE_FOLD_BATCHES	16

/* Whether this database's extension has categorize.pattern_usage (1.2 and later) */
static bool
usage_table_exists(void)
{
	Oid			nsp = get_namespace_oid("categorize", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("pattern_usage", nsp));
}

/* Add the folded decisions to pattern_usage (inside SPI) */
static void
write_usage(int n, const CatzUsageFold *f)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *counts = palloc(sizeof(Datum) * n);
	Datum	   *ats = palloc(sizeof(Datum) * n);
	bool	   *at_nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Oid			types[3] = {INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID};
	Datum		args[3];
	int			i;

	for (i = 0; i < n; i++)
	{
		ids[i] = Int64GetDatum(f[i].pattern_id);
		counts[i] = Int64GetDatum(f[i].decided);
		ats[i] = TimestampTzGetDatum(f[i].last_at);
		at_nulls[i] = f[i].last_at == 0;
	}
	args[0] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(counts, n, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_md_array(ats, at_nulls, 1, dims, lbs, TIMESTAMPTZOID,
												 sizeof(TimestampTz), true, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args("INSERT INTO categorize.pattern_usage AS u "
							  "(pattern_id, decided, last_matched_at) "
							  "SELECT d.id, d.decided, d.at "
							  "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
							  "pg_catalog.unnest($3)) AS d (id, decided, at) "
							  "JOIN categorize.patterns p ON p.id OPERATOR(pg_catalog.=) d.id "
							  "FOR KEY SHARE OF p "
							  "ON CONFLICT (pattern_id) DO UPDATE "
							  "SET decided = u.decided OPERATOR(pg_catalog.+) excluded.decided, "
							  "last_matched_at = GREATEST(u.last_matched_at, "
							  "excluded.last_matched_at)",
							  3, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "categorize worker: could not write categorize.pattern_usage");
}

/* Fold one batch; returns how many patterns it folded */
static int
fold_batch(CatzUsageFold *f)
{
	int			n = catz_shared_usage_collect(MyDatabaseId, USAGE_FOLD_BATCH, f);

	if (n == 0)
		return 0;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "categorize worker: folding rule usage");
	if (usage_table_exists())
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "categorize worker: SPI_connect failed");
		write_usage(n, f);
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	/* Committed: these no longer wait (before 1.2 nothing keeps them) */
	catz_shared_usage_folded(MyDatabaseId, n, f);
	return n;
}

void
catz_usage_fold(void)
{
	CatzUsageFold *f;
	int			i;

	if (!catz_shared_enabled())
		return;
	f = palloc(sizeof(CatzUsageFold) * USAGE_FOLD_BATCH);
	for (i = 0; i < USAGE_FOLD_BATCHES; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (fold_batch(f) < USAGE_FOLD_BATCH)
			break;
	}
	pfree(f);
}
