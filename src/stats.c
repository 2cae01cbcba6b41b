/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Counters behind categorize.stats, exact under any concurrency.
 *
 * With the library preloaded the counters live in shared memory and are
 * pg_atomic_uint64, updated without locks.  Without it they live in this
 * backend only (the WARNING of catz_warn_not_preloaded says so).
 *
 * Corrections are counted when the transaction that made them commits, so
 * a rolled-back learn_correction() leaves no trace here either.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "port/atomics.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "categorize.h"

PG_FUNCTION_INFO_V1(categorize_stats_1_0);
PG_FUNCTION_INFO_V1(categorize_stats_reset);

typedef struct CatzStats
{
	pg_atomic_uint64 calls;		/* categorize() calls, trigger included */
	pg_atomic_uint64 categorized;	/* calls that returned a category */
	pg_atomic_uint64 uncategorized; /* calls that returned NULL */
	pg_atomic_uint64 corrections;	/* committed learn_correction() calls */
	pg_atomic_uint64 total_ns;	/* time spent in categorize(), in ns */
	pg_atomic_uint64 reset_time;	/* TimestampTz of the last reset */
} CatzStats;

static CatzStats *stats = NULL;

/* Corrections of the current transaction, counted at commit */
static uint64 pending_corrections = 0;

/* Initialize counters at place */
static void
stats_init(CatzStats *s)
{
	pg_atomic_init_u64(&s->calls, 0);
	pg_atomic_init_u64(&s->categorized, 0);
	pg_atomic_init_u64(&s->uncategorized, 0);
	pg_atomic_init_u64(&s->corrections, 0);
	pg_atomic_init_u64(&s->total_ns, 0);
	pg_atomic_init_u64(&s->reset_time, (uint64) GetCurrentTimestamp());
}

Size
catz_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(CatzStats));
}

void
catz_stats_shmem_init(void *place, bool found)
{
	stats = place;
	if (!found)
		stats_init(stats);
}

/* The counters: shared, or this backend's own */
static CatzStats *
get_stats(void)
{
	if (stats == NULL)
	{
		stats = MemoryContextAlloc(TopMemoryContext, sizeof(CatzStats));
		stats_init(stats);
	}
	return stats;
}

void
catz_stats_count_call(bool categorized, double elapsed_us)
{
	CatzStats  *s = get_stats();

	pg_atomic_fetch_add_u64(&s->calls, 1);
	pg_atomic_fetch_add_u64(categorized ? &s->categorized : &s->uncategorized, 1);
	pg_atomic_fetch_add_u64(&s->total_ns, (uint64) (elapsed_us * 1000.0));
}

void
catz_stats_count_correction(void)
{
	pending_corrections++;
}

void
catz_stats_end_xact(bool commit)
{
	if (commit && pending_corrections > 0)
		pg_atomic_fetch_add_u64(&get_stats()->corrections, pending_corrections);
	pending_corrections = 0;
}

/* categorize.stats_internal(): the raw counters */
Datum
categorize_stats_1_0(PG_FUNCTION_ARGS)
{
	CatzStats  *s = get_stats();
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum((int64) pg_atomic_read_u64(&s->calls));
	values[1] = Int64GetDatum((int64) pg_atomic_read_u64(&s->categorized));
	values[2] = Int64GetDatum((int64) pg_atomic_read_u64(&s->uncategorized));
	values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&s->corrections));
	values[4] = Float8GetDatum((double) pg_atomic_read_u64(&s->total_ns) / 1000.0);
	values[5] = TimestampTzGetDatum((TimestampTz) pg_atomic_read_u64(&s->reset_time));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* categorize.stats_reset() */
Datum
categorize_stats_reset(PG_FUNCTION_ARGS)
{
	CatzStats  *s = get_stats();

	pg_atomic_write_u64(&s->calls, 0);
	pg_atomic_write_u64(&s->categorized, 0);
	pg_atomic_write_u64(&s->uncategorized, 0);
	pg_atomic_write_u64(&s->corrections, 0);
	pg_atomic_write_u64(&s->total_ns, 0);
	pg_atomic_write_u64(&s->reset_time, (uint64) GetCurrentTimestamp());
	PG_RETURN_VOID();
}
