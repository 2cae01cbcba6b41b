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
 * Latency goes to a fixed log-scale histogram: bucket i counts calls that
 * took [2^(i/4), 2^((i+1)/4)) microseconds (four buckets per doubling, up
 * to about 17 minutes), so percentiles are exact to within 19%.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shmem/shmem.h"

PG_FUNCTION_INFO_V1(categorize_stats_1_0);
PG_FUNCTION_INFO_V1(categorize_stats_1_1);

#define LATENCY_BUCKETS 120
PG_FUNCTION_INFO_V1(categorize_stats_reset);

typedef struct CatzStats
{
	pg_atomic_uint64 calls;		/* categorize() calls, trigger included */
	pg_atomic_uint64 categorized;	/* calls that returned a category */
	pg_atomic_uint64 uncategorized; /* calls that returned NULL */
	pg_atomic_uint64 corrections;	/* committed learn_correction() calls */
	pg_atomic_uint64 total_ns;	/* time spent in categorize(), in ns */
	pg_atomic_uint64 reset_time;	/* TimestampTz of the last reset */
	pg_atomic_uint64 latency[LATENCY_BUCKETS];	/* see the file header */
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
	for (int i = 0; i < LATENCY_BUCKETS; i++)
		pg_atomic_init_u64(&s->latency[i], 0);
}

/* Histogram bucket of a latency in microseconds */
static int
latency_bucket(double us)
{
	int			b;

	if (!(us > 1.0))
		return 0;
	b = (int) (4.0 * log2(us));
	return b >= LATENCY_BUCKETS ? LATENCY_BUCKETS - 1 : b;
}

/* The latency below which a share q of the calls fall, in microseconds */
static double
latency_percentile(CatzStats *s, double q)
{
	uint64		counts[LATENCY_BUCKETS];
	uint64		total = 0;
	uint64		seen = 0;
	int			i;

	for (i = 0; i < LATENCY_BUCKETS; i++)
		total += counts[i] = pg_atomic_read_u64(&s->latency[i]);
	if (total == 0)
		return 0;
	for (i = 0; i < LATENCY_BUCKETS; i++)
	{
		seen += counts[i];
		if ((double) seen >= q * (double) total)
			return pow(2.0, (i + 1) / 4.0);	/* the bucket's upper bound */
	}
	return pow(2.0, LATENCY_BUCKETS / 4.0);
}

static Size
stats_shmem_size(void)
{
	return MAXALIGN(sizeof(CatzStats));
}

static void
stats_shmem_startup(bool fresh)
{
	bool		found;
	void	   *place = ShmemInitStruct("categorize stats", stats_shmem_size(), &found);

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
	pg_atomic_fetch_add_u64(&s->latency[latency_bucket(elapsed_us)], 1);
}

void
catz_stats_count_correction(void)
{
	pending_corrections++;
}

void
catz_stats_count_corrections(uint64 n)
{
	pending_corrections += n;
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

/*
 * categorize.stats_internal() of version 1.1: the counters of 1.0, the
 * shared cache and the latency percentiles
 */
Datum
categorize_stats_1_1(PG_FUNCTION_ARGS)
{
	CatzStats  *s = get_stats();
	TupleDesc	desc;
	Datum		values[18];
	bool		nulls[18] = {false};
	CatzSharedDb *db = catz_shared_enabled() ? catz_shared_db(false) : NULL;
	uint64		hits = 0;
	uint64		misses = 0;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (catz_shared_enabled())
	{
		hits = pg_atomic_read_u64(&catz_shared->cache_hits);
		misses = pg_atomic_read_u64(&catz_shared->cache_misses);
	}
	values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&s->calls));
	values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&s->categorized));
	values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&s->uncategorized));
	values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&s->corrections));
	values[i++] = Float8GetDatum((double) pg_atomic_read_u64(&s->total_ns) / 1000.0);
	values[i++] = TimestampTzGetDatum((TimestampTz) pg_atomic_read_u64(&s->reset_time));
	values[i++] = Int64GetDatum((int64) hits);
	values[i++] = Int64GetDatum((int64) misses);
	if (hits + misses > 0)
		values[i++] = Float8GetDatum((double) hits / (double) (hits + misses));
	else
		nulls[i++] = true;
	values[i++] = Int64GetDatum(catz_shared_enabled()
								? (int64) pg_atomic_read_u64(&catz_shared->evictions) : 0);
	values[i++] = Int64GetDatum(catz_shared_enabled()
								? (int64) pg_atomic_read_u64(&catz_shared->cache_bytes) : 0);
	values[i++] = Int64GetDatum(catz_shared_enabled() ? (int64) catz_shared->dsa_size : 0);
	values[i++] = Int64GetDatum(db ? (int64) pg_atomic_read_u64(&db->generation) : 0);
	values[i++] = Int64GetDatum(db ? (int64) pg_atomic_read_u64(&db->rebuilds) : 0);
	values[i++] = Float8GetDatum(db ? (double) pg_atomic_read_u64(&db->last_rebuild_us) / 1000.0 : 0);
	values[i++] = Float8GetDatum(latency_percentile(s, 0.50));
	values[i++] = Float8GetDatum(latency_percentile(s, 0.95));
	values[i++] = Float8GetDatum(latency_percentile(s, 0.99));
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
	for (int i = 0; i < LATENCY_BUCKETS; i++)
		pg_atomic_write_u64(&s->latency[i], 0);
	if (catz_shared_enabled())
	{
		pg_atomic_write_u64(&catz_shared->cache_hits, 0);
		pg_atomic_write_u64(&catz_shared->cache_misses, 0);
		pg_atomic_write_u64(&catz_shared->evictions, 0);
	}
	PG_RETURN_VOID();
}

void
catz_stats_init(void)
{
	catz_shmem_add_part(stats_shmem_size, stats_shmem_startup);
}
