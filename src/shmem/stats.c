/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Counters behind categorize.stats, exact under any concurrency.
 *
 * With the library preloaded the counters live in shared memory, one set
 * per backend slot (its PGPROC number), each written only by the backend
 * that holds the slot, with plain stores: a call does no atomic
 * read-modify-write and writes no cache line another backend writes.  A
 * reader sums the slots; a reset records the sums as a baseline that
 * readers subtract (zeroing slots that their backends write could lose
 * the reset).  Committed corrections, counted once a transaction, go to
 * one shared atomic counter.  Without the library preloaded the counters
 * live in this backend only (the WARNING of catz_warn_not_preloaded says
 * so).
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
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shmem/shmem.h"

PG_FUNCTION_INFO_V1(categorize_stats_1_0);
PG_FUNCTION_INFO_V1(categorize_stats_1_1);

#define LATENCY_BUCKETS 120
PG_FUNCTION_INFO_V1(categorize_stats_reset);

/* What a call counts: one backend slot's counters, or their sums */
typedef struct CallCounters
{
	uint64		calls;			/* categorize() calls, trigger included */
	uint64		categorized;	/* calls that returned a category */
	uint64		uncategorized;	/* calls that returned NULL */
	uint64		total_ns;		/* time spent in categorize(), in ns */
	uint64		owner_hits;		/* owner scope found in the shared cache */
	uint64		owner_misses;	/* owner scope loaded */
	uint64		latency[LATENCY_BUCKETS];	/* see the file header */
} CallCounters;

#define NUM_CALL_COUNTERS	(sizeof(CallCounters) / sizeof(uint64))

#define COUNTER(field)	(offsetof(CallCounters, field) / sizeof(uint64))

/* One backend slot's counters (CallCounters' fields), alone on their lines */
typedef union CallSlot
{
	pg_atomic_uint64 v[NUM_CALL_COUNTERS];
	char		pad[TYPEALIGN(PG_CACHE_LINE_SIZE, sizeof(CallCounters))];
} CallSlot;

typedef struct CatzStats
{
	pg_atomic_uint64 corrections;	/* committed learn_correction() calls */
	slock_t		mutex;			/* guards baseline and reset_time */
	TimestampTz reset_time;		/* of the last reset */
	CallCounters baseline;		/* the slots' sums at the last reset */
	int			nslots;
	CallSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} CatzStats;

static CatzStats *stats = NULL;

/* This backend's slot */
static CallSlot *my_slot = NULL;

/* Corrections of the current transaction, counted at commit */
static uint64 pending_corrections = 0;

/* Size of the counters with nslots backend slots */
static Size
stats_size(int nslots)
{
	return add_size(offsetof(CatzStats, slots), mul_size(nslots, sizeof(CallSlot)));
}

/* Initialize counters at place (zeroed) */
static void
stats_init(CatzStats *s, int nslots)
{
	memset(s, 0, stats_size(nslots));
	pg_atomic_init_u64(&s->corrections, 0);
	for (int i = 0; i < nslots; i++)
		for (size_t k = 0; k < NUM_CALL_COUNTERS; k++)
			pg_atomic_init_u64(&s->slots[i].v[k], 0);
	SpinLockInit(&s->mutex);
	s->reset_time = GetCurrentTimestamp();
	s->nslots = nslots;
}

/* Sum every slot's counters into out, minus the baseline */
static void
sum_slots(CatzStats *s, CallCounters *out)
{
	uint64	   *sum = (uint64 *) out;
	CallCounters base;

	/*
	 * The baseline first: a reset meanwhile can then only make the sums
	 * too large for this one read, never wrap them below zero
	 */
	SpinLockAcquire(&s->mutex);
	base = s->baseline;
	SpinLockRelease(&s->mutex);
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < s->nslots; i++)
		for (size_t k = 0; k < NUM_CALL_COUNTERS; k++)
			sum[k] += pg_atomic_read_u64(&s->slots[i].v[k]);
	for (size_t k = 0; k < NUM_CALL_COUNTERS; k++)
		sum[k] = sum[k] > ((uint64 *) &base)[k] ? sum[k] - ((uint64 *) &base)[k] : 0;
}

/*
 * Histogram bucket of a latency in microseconds: floor(4 log2(us)), from
 * the exponent frexp() gives and how many of the quarter-octave steps
 * 2^(1/4), 2^(2/4), 2^(3/4) the mantissa reaches (log2() took a tenth of
 * the time of counting a call)
 */
static int
latency_bucket(double us)
{
	int			e;
	double		mantissa;
	int			b;

	if (!(us > 1.0))
		return 0;
	if (us >= 1e12)
		return LATENCY_BUCKETS - 1;
	mantissa = 2.0 * frexp(us, &e); /* us = mantissa * 2^(e - 1), mantissa in [1, 2) */
	b = 4 * (e - 1) + (mantissa >= 1.189207115002721) + (mantissa >= 1.414213562373095) +
		(mantissa >= 1.681792830507429);
	return b >= LATENCY_BUCKETS ? LATENCY_BUCKETS - 1 : b;
}

/* The latency below which a share q of the calls fall, in microseconds */
static double
latency_percentile(const CallCounters *c, double q)
{
	uint64		total = 0;
	uint64		seen = 0;
	int			i;

	for (i = 0; i < LATENCY_BUCKETS; i++)
		total += c->latency[i];
	if (total == 0)
		return 0;
	for (i = 0; i < LATENCY_BUCKETS; i++)
	{
		seen += c->latency[i];
		if ((double) seen >= q * (double) total)
			return pow(2.0, (i + 1) / 4.0);	/* the bucket's upper bound */
	}
	return pow(2.0, LATENCY_BUCKETS / 4.0);
}

/*
 * One slot for every PGPROC that can run SQL (backends and workers are
 * numbered below MaxBackends), and one shared by any other process
 */
static Size
stats_shmem_size(void)
{
	return MAXALIGN(stats_size(MaxBackends + 1));
}

static void
stats_shmem_startup(bool fresh)
{
	bool		found;
	void	   *place = ShmemInitStruct("categorize stats", stats_shmem_size(), &found);

	stats = place;
	if (!found)
		stats_init(stats, MaxBackends + 1);
}

/* The counters: shared, or this backend's own (one slot) */
static CatzStats *
get_stats(void)
{
	if (stats == NULL)
	{
		stats = MemoryContextAlloc(TopMemoryContext, stats_size(1));
		stats_init(stats, 1);
	}
	return stats;
}

/*
 * This backend's slot.  A process without a slot of its own (none, in
 * practice: only backends and workers call categorize()) shares the last
 * one, under the mutex.
 */
static CallSlot *
slot_of_mine(bool *shared)
{
	CatzStats  *s = get_stats();

	*shared = false;
	if (my_slot != NULL)
		return my_slot;
	if (s->nslots == 1)
		return my_slot = &s->slots[0];
	if (MyProc != NULL && MyProc->pgprocno >= 0 && MyProc->pgprocno < s->nslots - 1)
		return my_slot = &s->slots[MyProc->pgprocno];
	*shared = true;
	return &s->slots[s->nslots - 1];
}

/* Add n to counter k of a slot that only this backend writes: no RMW */
static inline void
bump(CallSlot *slot, size_t k, uint64 n)
{
	pg_atomic_write_u64(&slot->v[k], pg_atomic_read_u64(&slot->v[k]) + n);
}

void
catz_stats_count_call(bool categorized, double elapsed_us)
{
	bool		shared;
	CallSlot   *c = slot_of_mine(&shared);

	if (shared)
		SpinLockAcquire(&get_stats()->mutex);
	bump(c, COUNTER(calls), 1);
	bump(c, categorized ? COUNTER(categorized) : COUNTER(uncategorized), 1);
	bump(c, COUNTER(total_ns), (uint64) (elapsed_us * 1000.0));
	bump(c, COUNTER(latency) + latency_bucket(elapsed_us), 1);
	if (shared)
		SpinLockRelease(&get_stats()->mutex);
}

void
catz_stats_count_owner_lookup(bool hit)
{
	bool		shared;
	CallSlot   *c = slot_of_mine(&shared);

	if (shared)
		SpinLockAcquire(&get_stats()->mutex);
	bump(c, hit ? COUNTER(owner_hits) : COUNTER(owner_misses), 1);
	if (shared)
		SpinLockRelease(&get_stats()->mutex);
}

void
catz_stats_owner_lookups(uint64 *hits, uint64 *misses)
{
	CallCounters sum;

	sum_slots(get_stats(), &sum);
	*hits = sum.owner_hits;
	*misses = sum.owner_misses;
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

/* When the counters were last reset */
static TimestampTz
reset_time(CatzStats *s)
{
	TimestampTz t;

	SpinLockAcquire(&s->mutex);
	t = s->reset_time;
	SpinLockRelease(&s->mutex);
	return t;
}

/* categorize.stats_internal(): the raw counters */
Datum
categorize_stats_1_0(PG_FUNCTION_ARGS)
{
	CatzStats  *s = get_stats();
	CallCounters sum;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	sum_slots(s, &sum);
	values[0] = Int64GetDatum((int64) sum.calls);
	values[1] = Int64GetDatum((int64) sum.categorized);
	values[2] = Int64GetDatum((int64) sum.uncategorized);
	values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&s->corrections));
	values[4] = Float8GetDatum((double) sum.total_ns / 1000.0);
	values[5] = TimestampTzGetDatum(reset_time(s));
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
	CallCounters sum;
	TupleDesc	desc;
	Datum		values[18];
	bool		nulls[18] = {false};
	CatzSharedDb *db = catz_shared_enabled() ? catz_shared_db(false) : NULL;
	uint64		hits;
	uint64		misses;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	sum_slots(s, &sum);
	hits = sum.owner_hits;
	misses = sum.owner_misses;
	values[i++] = Int64GetDatum((int64) sum.calls);
	values[i++] = Int64GetDatum((int64) sum.categorized);
	values[i++] = Int64GetDatum((int64) sum.uncategorized);
	values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&s->corrections));
	values[i++] = Float8GetDatum((double) sum.total_ns / 1000.0);
	values[i++] = TimestampTzGetDatum(reset_time(s));
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
	values[i++] = Float8GetDatum(latency_percentile(&sum, 0.50));
	values[i++] = Float8GetDatum(latency_percentile(&sum, 0.95));
	values[i++] = Float8GetDatum(latency_percentile(&sum, 0.99));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* categorize.stats_reset() */
Datum
categorize_stats_reset(PG_FUNCTION_ARGS)
{
	CatzStats  *s = get_stats();
	CallCounters now;
	uint64	   *b = (uint64 *) &now;

	/* The slots' raw sums become the baseline */
	sum_slots(s, &now);
	SpinLockAcquire(&s->mutex);
	for (size_t k = 0; k < NUM_CALL_COUNTERS; k++)
		b[k] += ((uint64 *) &s->baseline)[k];
	s->baseline = now;
	s->reset_time = GetCurrentTimestamp();
	SpinLockRelease(&s->mutex);
	pg_atomic_write_u64(&s->corrections, 0);
	if (catz_shared_enabled())
		pg_atomic_write_u64(&catz_shared->evictions, 0);
	PG_RETURN_VOID();
}

void
catz_stats_init(void)
{
	catz_shmem_add_part(stats_shmem_size, stats_shmem_startup);
}
