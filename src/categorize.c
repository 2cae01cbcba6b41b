/*-------------------------------------------------------------------------
 *
 * categorize.c
 *	  Module entry point: GUCs, shared memory hooks and the callbacks that
 *	  keep every backend's compiled state fresh.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "categorize.h"
#include "shared.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* GUC variables */
bool		catz_enabled = true;
double		catz_min_confidence = 0.5;
int			catz_promote_min_users = 3;
int			catz_learning = CATZ_LEARNING_ON;
int			catz_backend_cache_kb = 65536;
int			catz_rollout_percent = 100;
bool		catz_recategorizing = false;
int			catz_test_build_lock = 0;
int			catz_shared_cache_kb = 131072;
int			catz_owner_cache_ttl_s = 3600;
int			catz_max_cached_owners = 65536;
int			catz_max_tracked_patterns = 262144;
int			catz_fold_threshold = 4096;
char	   *catz_worker_database = NULL;

bool		catz_preloaded = false;

static bool warned_not_preloaded = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static const struct config_enum_entry learning_options[] = {
	{"on", CATZ_LEARNING_ON, false},
	{"owner_only", CATZ_LEARNING_OWNER_ONLY, false},
	{"off", CATZ_LEARNING_OFF, false},
	{"true", CATZ_LEARNING_ON, true},
	{"false", CATZ_LEARNING_OFF, true},
	{NULL, 0, false}
};

/* palloc-based allocator callbacks for the core */
static void *
palloc_cb(void *ctx, size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
pfree_cb(void *ctx, void *ptr)
{
	pfree(ptr);
}

const CatzAllocator catz_palloc_allocator = {palloc_cb, pfree_cb, NULL};

void
catz_report_status(CatzStatus status, const char *what)
{
	int			code;

	switch (status)
	{
		case CATZ_ENOMEM:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case CATZ_ETOOBIG:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case CATZ_ECORRUPT:
			code = ERRCODE_DATA_CORRUPTED;
			break;
		default:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("categorize: %s failed: %s", what, catz_status_string(status))));
}

void
catz_warn_not_preloaded(void)
{
	if (catz_preloaded || warned_not_preloaded)
		return;
	warned_not_preloaded = true;
	ereport(WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("categorize is not loaded through shared_preload_libraries"),
			 errdetail("Every session compiles its own copy of the patterns and keeps its own statistics."),
			 errhint("Add 'categorize' to shared_preload_libraries in postgresql.conf and restart the server to share them.")));
}

/* shmem_request_hook: ask for our shared memory */
static void
categorize_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	catz_shmem_request();
}

/* shmem_startup_hook: attach to (or create) our shared memory */
static void
categorize_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	catz_shmem_startup();
}

/* Transaction callback adapter */
static void
xact_callback(XactEvent event, void *arg)
{
	catz_xact_callback((int) event, arg);
}

/* Subtransaction callback adapter */
static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	catz_subxact_callback((int) event, mySubid, parentSubid, arg);
}

/* Define the GUCs, install hooks and callbacks */
void
_PG_init(void)
{
	DefineCustomBoolVariable("categorize.enabled",
							 "Kill switch: when off, categorize() returns NULL and the trigger does nothing.",
							 "Settable per session, role or database.",
							 &catz_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("categorize.min_confidence",
							 "Confidence below which categorize() returns NULL.",
							 "Confidence estimates the probability that the category is right; categorize_detail() shows candidates below the threshold too.",
							 &catz_min_confidence,
							 0.5,
							 0.0, 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.promote_min_users",
							"Distinct users who must teach the same merchant and category before it applies to everyone.",
							"A superuser setting: one user must not be able to teach everyone.",
							&catz_promote_min_users,
							3,
							1, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("categorize.learning",
							 "What learn_correction() learns: on, owner_only (no promotion to everyone), or off (record only).",
							 NULL,
							 &catz_learning,
							 CATZ_LEARNING_ON,
							 learning_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.max_corrections_per_minute",
							"Corrections one owner may make per minute (learn_correction); 0 means no limit.",
							"A token bucket per owner in shared memory: bursts up to the limit, refilled at the limit per minute. A superuser setting, per role or database.",
							&catz_max_corrections_per_minute,
							6000,
							0, 1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.backend_cache_size",
							"Memory for owners' compiled patterns kept by one session.",
							"Least recently used owners are dropped beyond it.",
							&catz_backend_cache_kb,
							65536,
							1024, INT_MAX / 1024,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.rollout_percent",
							"Share of owners, by a stable hash of user_id, that get categories; the others get NULL.",
							"For a gradual rollout per database or role with ALTER ... SET.",
							&catz_rollout_percent,
							100,
							0, 100,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.owner_cache_ttl",
							"Time an owner's compiled patterns stay in the shared cache.",
							"0 keeps them until evicted for room.",
							&catz_owner_cache_ttl_s,
							3600,
							0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.decisions_save_interval",
							"Time between saves of the pattern decision counts to disk by the categorize worker.",
							"The counts shape confidences; a crash loses at most this much of them. 0 saves only at shutdown.",
							&catz_decisions_save_interval_s,
							10,
							0, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.fold_threshold",
							"Changed patterns or new corrections after which a compiled scope is rebuilt in the background.",
							NULL,
							&catz_fold_threshold,
							4096,
							16, 1000000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

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

	/*
	 * For the crash and cancel tests: holds every build at a known point
	 * (see test_pause_after_build in scope.c).  Not for users: hidden from
	 * SHOW ALL and the sample file.
	 */
	DefineCustomIntVariable("categorize.test_build_lock",
							"Testing aid: an advisory lock key every compilation of patterns waits for before it is published; 0 is off.",
							"A session holding pg_advisory_lock(key) holds every build of its database once compiled, so a test can act on a build under way.",
							&catz_test_build_lock,
							0,
							0, INT_MAX,
							PGC_SUSET,
							GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);

	catz_standby_install_hook();
	CacheRegisterRelcacheCallback(catz_relcache_callback, (Datum) 0);
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);

	if (!process_shared_preload_libraries_in_progress)
	{
		MarkGUCPrefixReserved("categorize");
		return;
	}
	catz_preloaded = true;

	/*
	 * Settings of the shared memory, fixed at server start (they can only be
	 * defined while preloading)
	 */
	DefineCustomIntVariable("categorize.shared_cache_size",
							"Shared memory for compiled patterns of every backend.",
							"Everyone's patterns stay resident; owners' patterns are evicted least recently used beyond it.",
							&catz_shared_cache_kb,
							131072,
							1024, INT_MAX / 1024,
							PGC_POSTMASTER,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.max_cached_owners",
							"Owners whose compiled patterns the shared cache can index.",
							NULL,
							&catz_max_cached_owners,
							65536,
							16, INT_MAX / 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("categorize.max_tracked_patterns",
							"Patterns whose decision counts are kept in shared memory.",
							NULL,
							&catz_max_tracked_patterns,
							262144,
							1024, INT_MAX / 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("categorize.worker_database",
							   "Database the categorize worker connects to.",
							   "In other databases, backends rebuild grown scopes themselves.",
							   &catz_worker_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("categorize");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = categorize_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = categorize_shmem_startup;

	/*
	 * Not in the servers pg_upgrade runs: a worker connected to
	 * worker_database would make the restore's DROP DATABASE fail.
	 */
	if (!IsBinaryUpgrade)
		catz_register_worker();
}
