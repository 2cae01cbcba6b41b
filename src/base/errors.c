/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  Errors and allocation shared by every layer: core status codes as
 *	  ereport()s, a palloc allocator for the core, and the warning that
 *	  the library is not preloaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "base/base.h"

bool		catz_preloaded = false;

static bool warned_not_preloaded = false;

/*
 * Allocator callbacks for the core: in the memory context ctx, or in the
 * current one when ctx is NULL; out of memory is a NULL the core reports
 */
static void *
alloc_cb(void *ctx, size_t size)
{
	return MemoryContextAllocExtended(ctx ? (MemoryContext) ctx : CurrentMemoryContext, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
free_cb(void *ctx, void *ptr)
{
	pfree(ptr);
}

const CatzAllocator catz_palloc_allocator = {alloc_cb, free_cb, NULL};

CatzAllocator
catz_allocator_in(MemoryContext cxt)
{
	CatzAllocator a = {alloc_cb, free_cb, cxt};

	return a;
}

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
