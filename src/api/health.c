/*-------------------------------------------------------------------------
 *
 * health.c
 *	  categorize.health(): one row per check, status ok, warning or
 *	  critical, and a detail that says what to do.
 *
 * Checks: library_preloaded, compiled_set_current, cache_within_budget,
 * worker_alive, learning_backlog, subscription_lag.  Everything but the
 * last is read from shared memory without blocking anyone (the control
 * lock is taken SHARED briefly); subscription_lag reads the statistics
 * views of logical replication (pg_stat_subscription, _stats).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "replication/walreceiver.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "engine/engine.h"
#include "store/store.h"
#include "worker/worker.h"

PG_FUNCTION_INFO_V1(categorize_health);

/* Seconds without a heartbeat after which the worker counts as dead */
#define WORKER_STALE_SECS	30

/* Add one check's row */
static void
report(ReturnSetInfo *rsinfo, const char *check, const char *status, const char *detail)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(check);
	values[1] = CStringGetTextDatum(status);
	values[2] = CStringGetTextDatum(detail);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Overlay patterns and delta documents waiting to be folded, and scopes asking */
static void
backlog(CatzSharedDb *db, uint64 *pending, uint64 *asking)
{
	CatzSharedScope *g = catz_shared_pin_global(db);
	HASH_SEQ_STATUS status;
	CatzOwnerEntry *e;

	*pending = 0;
	*asking = 0;
	if (g)
	{
		*pending += catz_shared_pending(g);
		*asking += g->fold_requested;
		catz_shared_unpin(g);
	}
	LWLockAcquire(catz_shared->lock, LW_SHARED);
	hash_seq_init(&status, catz_owner_index);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		CatzSharedScope *s = DsaPointerIsValid(e->scope)
			? dsa_get_address(catz_area(), e->scope) : NULL;

		if (s && e->key.dboid == db->dboid && s->fold_requested)
			(*asking)++;
	}
	LWLockRelease(catz_shared->lock);
}

/* Worse of two statuses */
static const char *
worse(const char *a, const char *b)
{
	static const char *const order[] = {"ok", "warning", "critical"};
	int			ia = 0;
	int			ib = 0;
	int			i;

	for (i = 0; i < 3; i++)
	{
		if (strcmp(a, order[i]) == 0)
			ia = i;
		if (strcmp(b, order[i]) == 0)
			ib = i;
	}
	return order[Max(ia, ib)];
}

/*
 * subscription_lag: the subscriptions of this database that replicate
 * categorize's tables (the reference data of a rules primary).  Critical
 * when one is enabled and has no apply worker (it keeps failing: a
 * conflict, see the server log); warning when one is disabled, had errors
 * since its statistics were reset, still copies tables, or has not heard
 * from the publisher for wal_receiver_timeout.  The lag reported is that
 * of the last row applied: the time from its commit on the publisher to
 * its apply here (clocks of both servers; the publisher measures the same
 * as pg_stat_replication.replay_lag).
 */
static void
subscription_lag(ReturnSetInfo *rsinfo, CatzSharedDb *db)
{
	CatzSpi		spi_level;
	StringInfoData buf;
	const char *status = "ok";
	uint64		i;
	uint64		n;

	spi_level = catz_spi_connect();
	if (SPI_execute("SELECT s.subname::text, s.subenabled, w.pid IS NOT NULL, "
					"  extract(epoch FROM pg_catalog.clock_timestamp() - w.last_msg_receipt_time)::float8, "
					"  coalesce(st.apply_error_count + st.sync_error_count, 0), "
					"  (SELECT pg_catalog.count(*) FROM pg_catalog.pg_subscription_rel r "
					"    WHERE r.srsubid = s.oid AND r.srsubstate <> 'r') "
					"FROM pg_catalog.pg_subscription s "
					"LEFT JOIN pg_catalog.pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL "
					"LEFT JOIN pg_catalog.pg_stat_subscription_stats st ON st.subid = s.oid "
					"WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d "
					"                    WHERE d.datname = pg_catalog.current_database()) "
					"  AND EXISTS (SELECT FROM pg_catalog.pg_subscription_rel r "
					"              JOIN pg_catalog.pg_class c ON c.oid = r.srrelid "
					"              JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace "
					"              WHERE r.srsubid = s.oid AND ns.nspname = 'categorize') "
					"ORDER BY 1", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "categorize: could not read the subscriptions");
	n = SPI_processed;
	initStringInfo(&buf);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = SPI_getvalue(tup, desc, 1);
		bool		enabled = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		bool		running = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		Datum		heard = SPI_getbinval(tup, desc, 4, &isnull);
		double		heard_s = isnull ? -1 : DatumGetFloat8(heard);
		int64		errors = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		int64		copying = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));

		if (buf.len > 0)
			appendStringInfoString(&buf, "; ");
		appendStringInfo(&buf, "subscription %s: ", name);
		if (!enabled)
		{
			status = worse(status, "warning");
			appendStringInfoString(&buf, "disabled");
		}
		else if (!running)
		{
			status = worse(status, "critical");
			appendStringInfoString(&buf, "no apply worker (it stops at each error and restarts after wal_retrieve_retry_interval: see the server log)");
		}
		else
		{
			appendStringInfoString(&buf, "apply worker running");
			if (heard_s >= 0)
				appendStringInfo(&buf, ", publisher heard %.1f s ago", heard_s);
			if (heard_s >= 0 && wal_receiver_timeout > 0 && heard_s * 1000 > wal_receiver_timeout)
				status = worse(status, "warning");
		}
		if (copying > 0)
		{
			status = worse(status, "warning");
			appendStringInfo(&buf, ", %lld tables still copying", (long long) copying);
		}
		appendStringInfo(&buf, ", %lld errors", (long long) errors);
		if (errors > 0)
		{
			status = worse(status, "warning");
			appendStringInfoString(&buf, " (pg_stat_subscription_stats; reset with pg_stat_reset_subscription_stats)");
		}
	}
	catz_spi_finish(spi_level);

	if (n == 0)
	{
		report(rsinfo, "subscription_lag", "ok", "no subscription replicates categorize's tables into this database");
		return;
	}
	if (db != NULL)
	{
		TimestampTz committed = (TimestampTz) pg_atomic_read_u64(&db->apply_commit_ts);
		TimestampTz applied = (TimestampTz) pg_atomic_read_u64(&db->apply_at);

		if (committed != 0 && applied != 0)
			appendStringInfo(&buf, "; last change applied %.3f s after its commit on the publisher (at %s), %llu rows applied since the server started",
							 (double) (applied - committed) / 1000000.0, timestamptz_to_str(committed),
							 (unsigned long long) pg_atomic_read_u64(&db->applied_rows));
		else
			appendStringInfoString(&buf, "; no change applied since the server started");
	}
	report(rsinfo, "subscription_lag", status, buf.data);
}

/* categorize.health() */
Datum
categorize_health(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CatzSharedDb *db;
	char		buf[512];

	InitMaterializedSRF(fcinfo, 0);

	if (!catz_shared_enabled())
	{
		report(rsinfo, "library_preloaded", "warning",
			   "categorize is not in shared_preload_libraries: each session compiles its own copy of the patterns and keeps its own statistics; add it and restart the server");
		report(rsinfo, "compiled_set_current", "ok", "backend-local compiled sets, refreshed at each session's next call after a change");
		report(rsinfo, "cache_within_budget", "ok",
			   psprintf("no shared cache; each session keeps at most categorize.backend_cache_size (%d kB) of owners' patterns",
						catz_backend_cache_kb));
		report(rsinfo, "worker_alive", "warning", "no worker without shared_preload_libraries");
		report(rsinfo, "learning_backlog", "ok", "corrections are applied by each session at its next call");
		subscription_lag(rsinfo, NULL);
		return (Datum) 0;
	}

	report(rsinfo, "library_preloaded", "ok", "loaded through shared_preload_libraries");
	db = catz_shared_db(false);

	/* compiled_set_current */
	if (db == NULL)
		report(rsinfo, "compiled_set_current", "ok",
			   "nothing compiled in this database yet: compiled on first use");
	else if (db->disabled)
		report(rsinfo, "compiled_set_current", "critical",
			   psprintf("shared engine off in this database since %s: %s; sessions compile their own copies",
						timestamptz_to_str(db->disabled_at), db->disabled_reason));
	else if (!DsaPointerIsValid(db->global))
		report(rsinfo, "compiled_set_current", "ok", "everyone's patterns are compiled at the next call");
	else
	{
		snprintf(buf, sizeof(buf),
				 "generation %llu, %llu commits applied by their writers, %llu refreshes, last build %.1f ms",
				 (unsigned long long) pg_atomic_read_u64(&db->generation),
				 (unsigned long long) pg_atomic_read_u64(&db->writer_applied),
				 (unsigned long long) pg_atomic_read_u64(&db->refreshes),
				 (double) pg_atomic_read_u64(&db->last_rebuild_us) / 1000.0);
		report(rsinfo, "compiled_set_current", "ok", buf);
	}

	/* cache_within_budget */
	{
		uint64		used = pg_atomic_read_u64(&catz_shared->cache_bytes);
		uint64		failures = pg_atomic_read_u64(&catz_shared->alloc_failures);
		uint64		owners = pg_atomic_read_u64(&catz_shared->owner_scopes);
		const char *status = "ok";

		snprintf(buf, sizeof(buf),
				 "%llu of %llu bytes used by %llu owner scopes and everyone's; %llu allocations refused, %llu evictions",
				 (unsigned long long) used, (unsigned long long) catz_shared->dsa_size,
				 (unsigned long long) owners, (unsigned long long) failures,
				 (unsigned long long) pg_atomic_read_u64(&catz_shared->evictions));
		if (used > catz_shared->dsa_size)
			status = "critical";
		else if (failures > 0 || owners >= (uint64) catz_max_cached_owners)
			status = "warning";
		report(rsinfo, "cache_within_budget", status, buf);
	}

	/* worker_alive */
	{
		uint32		pid = pg_atomic_read_u32(&catz_shared->worker_pid);
		TimestampTz beat = (TimestampTz) pg_atomic_read_u64(&catz_shared->worker_heartbeat);

		if (RecoveryInProgress())
			report(rsinfo, "worker_alive", "ok",
				   "on a standby the worker does not run; sessions rebuild grown scopes themselves");
		else if (pid == 0)
			report(rsinfo, "worker_alive", "critical",
				   "the categorize worker is not running; the postmaster restarts it within 10 seconds");
		else if (TimestampDifferenceExceeds(beat, GetCurrentTimestamp(), WORKER_STALE_SECS * 1000))
			report(rsinfo, "worker_alive", "warning",
				   psprintf("worker pid %u has not reported since %s", pid, timestamptz_to_str(beat)));
		else
			report(rsinfo, "worker_alive", "ok",
				   psprintf("worker pid %u in database \"%s\", %llu folds", pid,
							catz_worker_database,
							(unsigned long long) pg_atomic_read_u64(&catz_shared->worker_folds)));
	}

	/* learning_backlog */
	if (db == NULL || db->disabled)
		report(rsinfo, "learning_backlog", "ok", "no shared scopes in this database");
	else
	{
		uint64		pending;
		uint64		asking;
		uint64		dropped = pg_atomic_read_u64(&catz_shared->decisions_dropped);
		const char *status = "ok";

		backlog(db, &pending, &asking);
		snprintf(buf, sizeof(buf),
				 "%llu changes in everyone's overlay, %llu scopes waiting for a fold (threshold %d)%s",
				 (unsigned long long) pending, (unsigned long long) asking,
				 catz_fold_threshold,
				 dropped > 0 ? "; decision counts full: raise categorize.max_tracked_patterns" : "");
		if (pending > (uint64) catz_fold_threshold * 4 || dropped > 0)
			status = "warning";
		report(rsinfo, "learning_backlog", status, buf);
	}

	subscription_lag(rsinfo, catz_shared_db(false));
	return (Datum) 0;
}
