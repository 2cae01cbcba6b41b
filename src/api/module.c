/*-------------------------------------------------------------------------
 *
 * module.c
 *	  The module's entry point: _PG_init calls the Init() of every module,
 *	  each of which defines its own settings, hooks and callbacks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "api/api.h"
#include "engine/engine.h"
#include "refresh/refresh.h"
#include "shmem/shmem.h"
#include "store/store.h"
#include "worker/worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	catz_preloaded = process_shared_preload_libraries_in_progress;

	catz_engine_init();
	catz_learn_init();
	catz_auto_categorize_init();
	catz_review_init();
	catz_local_store_init();
	catz_shared_store_init();
	catz_refresh_init();
	catz_shmem_init();
	catz_stats_init();
	catz_ratelimit_init();
	catz_owner_heat_init();
	catz_decisions_file_init();
	catz_worker_init();
	catz_feedback_init();

	MarkGUCPrefixReserved("categorize");
}
