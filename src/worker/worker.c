/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The "categorize worker" background worker: folds grown overlays into
 *	  new compiled scopes, warms everyone's scope at startup, evicts owner
 *	  scopes past their TTL, folds the trigger's committed decisions into
 *	  categorize.pattern_usage (usage.c), adds the corrections' queued
 *	  feedback to categorize.patterns (feedback.c), and reports that it is
 *	  alive.
 *
 * It connects to categorize.worker_database (one database; in others,
 * backends fold a scope themselves when its overlay is full) and starts
 * once recovery has finished, so on a hot standby backends do its work.
 * Folding builds the new scope with SPI in a transaction of its own and
 * publishes it; readers keep the old generation until they next pin, and
 * the old one is freed by its last reader, so nobody waits for a fold.
 *
 * The loop is the canonical one: WaitLatch with a timeout, a reload of the
 * configuration on SIGHUP, CHECK_FOR_INTERRUPTS, and a memory context reset
 * every round.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "refresh/refresh.h"
#include "worker/worker.h"

/* How often the worker wakes without being asked, in milliseconds */
#define WORKER_NAP_MS	1000

static void
register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "categorize");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "catz_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "categorize worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "categorize worker");
	RegisterBackgroundWorker(&worker);
}

/* Forget our latch when we exit */
static void
worker_exit(int code, Datum arg)
{
	catz_decisions_save();
	catz_shared->worker_latch = NULL;
	pg_atomic_write_u32(&catz_shared->worker_pid, 0);
}

/* Whether the extension is installed in the database we serve */
static bool
extension_installed(void)
{
	return OidIsValid(get_namespace_oid("categorize", true));
}

/* Owners of this database whose scopes asked for a fold */
static List *
owners_to_fold(CatzSharedDb *db)
{
	HASH_SEQ_STATUS status;
	CatzOwnerEntry *e;
	List	   *owners = NIL;

	LWLockAcquire(catz_shared->lock, LW_SHARED);
	hash_seq_init(&status, catz_owner_index);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		CatzSharedScope *s = DsaPointerIsValid(e->scope)
			? dsa_get_address(catz_area(), e->scope) : NULL;

		if (e->key.dboid == db->dboid && s && s->fold_requested && !s->retired)
		{
			int64	   *owner = palloc(sizeof(int64));

			*owner = e->key.owner_id;
			owners = lappend(owners, owner);
		}
	}
	LWLockRelease(catz_shared->lock);
	return owners;
}

/* One round of work in a transaction */
static void
worker_round(void)
{
	CatzSharedDb *db;
	List	   *owners;
	ListCell   *lc;
	CatzSharedScope *g;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "categorize worker: folding");

	if (extension_installed() && (db = catz_shared_db(true)) != NULL && !db->disabled)
	{
		catz_refresh();			/* binds the slot to this extension, applies changes */
		/* Warm everyone's scope, and fold it when its overlay has grown */
		g = catz_shared_pin_global(db);
		if (g == NULL || g->fold_requested)
			catz_serve_fold(db, true, 0);
		if (g)
			catz_shared_unpin(g);

		owners = owners_to_fold(db);
		foreach(lc, owners)
		{
			CHECK_FOR_INTERRUPTS();
			catz_serve_fold(db, false, *(int64 *) lfirst(lc));
		}
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* The work of one wake-up: heartbeat, evictions, saves, and a round */
static void
worker_iteration(TimestampTz *last_save)
{
	TimestampTz now = GetCurrentTimestamp();

	pg_atomic_write_u64(&catz_shared->worker_heartbeat, (uint64) now);
	catz_shared_evict_expired();
	if (catz_decisions_save_interval_s > 0 &&
		TimestampDifferenceExceeds(*last_save, now, catz_decisions_save_interval_s * 1000))
	{
		catz_decisions_save();
		*last_save = now;
	}
	worker_round();
	catz_usage_fold();
	catz_feedback_fold();
}

/*
 * Between rounds: fold the pattern feedback queued since the latest fold
 * (a commit that queued some counted itself in its database's
 * feedback_queued and set our latch), without the rest of a round
 */
static uint64 feedback_seen = 0;	/* feedback_queued at the latest fold */

static uint64
feedback_queued_here(void)
{
	CatzSharedDb *db = catz_shared_db(false);

	return db ? pg_atomic_read_u64(&db->feedback_queued) : 0;
}

static void
feedback_iteration(void)
{
	uint64		queued = feedback_queued_here();

	if (queued == feedback_seen)
		return;
	feedback_seen = queued;
	catz_feedback_fold();
}

void
catz_worker_main(Datum arg)
{
	MemoryContext round_cxt;
	TimestampTz last_save = GetCurrentTimestamp();
	TimestampTz last_round = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(catz_worker_database, NULL, 0);
	pgstat_report_appname("categorize worker");

	catz_shared->worker_latch = MyLatch;
	catz_shared->worker_dboid = MyDatabaseId;
	pg_atomic_write_u32(&catz_shared->worker_pid, (uint32) MyProcPid);
	before_shmem_exit(worker_exit, (Datum) 0);

	round_cxt = AllocSetContextCreate(TopMemoryContext, "categorize worker round",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(round_cxt);
		TimestampTz now = GetCurrentTimestamp();
		volatile long since_round_ms = (long) ((now - last_round) / 1000);
		volatile bool round;

		/*
		 * A round every WORKER_NAP_MS, or at once when asked (a fold); a
		 * wake-up for the feedback queue alone folds it and no more
		 */
		round = pg_atomic_exchange_u32(&catz_shared->worker_round_asked, 0) != 0 ||
			since_round_ms >= WORKER_NAP_MS || since_round_ms < 0;
		if (round)
		{
			feedback_seen = feedback_queued_here();
			last_round = now;
			since_round_ms = 0;
		}

		/*
		 * Everything a round does runs under this handler, so that an error
		 * anywhere in it (a cancel, a failed save, an out-of-memory) is
		 * reported and the worker goes on serving: uncaught, it would be
		 * promoted to FATAL and the worker would exit.
		 */
		PG_TRY();
		{
			if (round)
				worker_iteration(&last_save);
			else
				feedback_iteration();
		}
		PG_CATCH();
		{
			HOLD_INTERRUPTS();
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			LWLockReleaseAll();
			catz_store_release_held();
			pgstat_report_activity(STATE_IDLE, NULL);
			RESUME_INTERRUPTS();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		MemoryContextReset(round_cxt);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(WORKER_NAP_MS - since_round_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);

		/*
		 * A cancel that arrives while no round runs has nothing to cancel:
		 * like an idle backend, forget it (a round under way is canceled by
		 * the CHECK_FOR_INTERRUPTS of the work itself)
		 */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

char	   *catz_worker_database = NULL;

void
catz_worker_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("categorize.worker_database",
							   "Database the categorize worker connects to.",
							   "In other databases, backends rebuild grown scopes themselves.",
							   &catz_worker_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	/*
	 * Not in the servers pg_upgrade runs: a worker connected to
	 * worker_database would make the restore's DROP DATABASE fail.
	 */
	if (!IsBinaryUpgrade)
		register_worker();
}
