/*-------------------------------------------------------------------------
 *
 * decisions.c
 *	  How many times each pattern decided a row that the auto_categorize()
 *	  trigger categorized: the counts behind a pattern's reliability, the
 *	  "pinned until applied once" rule of learned patterns, and the usage
 *	  per rule (categorize.pattern_usage, folded by the worker).
 *
 * Reads never count: categorize(), categorize_detail(),
 * categorize_confidence() and the values forms leave every count as it
 * was, so re-reading an expense changes nothing and a read-only
 * transaction does no bookkeeping at commit.  A decision is the trigger's
 * categorization of a row (its engine's first choice, even below the
 * threshold), and it counts when its transaction commits: until then it is
 * pending in this backend, and a rolled-back one teaches nothing.
 * Committed counts live in shared memory when the library is preloaded
 * (segment.c), else in this backend.
 *
 * The shared counts are behind one LWLock.  So this backend
 *	- keeps what it read in a cache, valid until the shared counts change
 *	  (catz_shared->decisions_changes, one atomic read per call);
 *	- adds its committed decisions to shared memory in batches, at a commit
 *	  at least DECISION_FLUSH_USECS after the previous batch (and when it
 *	  exits), and counts them on top of the shared ones until then.
 * A session always sees its own decisions at once; others see them within
 * DECISION_FLUSH_USECS of their commit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shmem/shmem.h"

/* How long committed decisions wait before they go to shared memory */
#define DECISION_FLUSH_USECS	(100 * 1000)

/* ... unless this many patterns are waiting */
#define DECISION_FLUSH_PATTERNS	4096

/* Counts of one pattern, in a pattern_id -> counts table */
typedef struct DecisionSlot
{
	int64		pattern_id;		/* the key */
	char		status;			/* simplehash's */
	CatzDecisions counts;
	TimestampTz last_at;		/* commit of the latest (committed table) */
} DecisionSlot;

#define SH_PREFIX		decision_table
#define SH_ELEMENT_TYPE	DecisionSlot
#define SH_KEY_TYPE		int64
#define SH_KEY			pattern_id
#define SH_HASH_KEY(tb, key) murmurhash32((uint32) (key) ^ (uint32) ((uint64) (key) >> 32))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static decision_table_hash *pending = NULL; /* this transaction's */
static decision_table_hash *committed = NULL;	/* without shared memory: all;
												 * with it: not flushed yet */
static decision_table_hash *cache = NULL;	/* shared counts read lately */
static uint64 cache_changes = 0;	/* decisions_changes the cache is of */
static bool shared_empty = false;	/* no shared counts at cache_changes */
static TimestampTz last_flush = 0;
static bool exit_flush_registered = false;

static decision_table_hash *
new_table(void)
{
	return decision_table_create(TopMemoryContext, 256, NULL);
}

/* Add n decisions of a pattern confirmed at `confirmed`, the latest at last_at */
static void
add(decision_table_hash *table, int64 pattern_id, int64 confirmed, int64 n,
	TimestampTz last_at)
{
	bool		found;
	DecisionSlot *s = decision_table_insert(table, pattern_id, &found);

	if (!found)
	{
		s->counts.decisions = 0;
		s->counts.confirmed = confirmed;
		s->counts.since = 0;
		s->last_at = 0;
	}
	if (last_at > s->last_at)
		s->last_at = last_at;
	if (s->counts.confirmed != confirmed)
	{
		/* Confirmed again by a correction: the pin is back */
		s->counts.confirmed = confirmed;
		s->counts.since = 0;
	}
	s->counts.decisions += n;
	s->counts.since += n;
}

/* Drop the cache when the shared counts changed since it was filled */
static void
check_cache_age(void)
{
	uint64		changes = pg_atomic_read_u64(&catz_shared->decisions_changes);

	if (cache != NULL && changes == cache_changes)
		return;
	if (cache == NULL)
		cache = new_table();
	else
		decision_table_reset(cache);

	/*
	 * Counted after reading the change count: an add that comes between
	 * bumps it again, and the next call looks again
	 */
	LWLockAcquire(catz_shared->decision_lock, LW_SHARED);
	shared_empty = hash_get_num_entries(catz_decisions) == 0;
	LWLockRelease(catz_shared->decision_lock);
	cache_changes = changes;
}

void
catz_decisions_get(int n, const int64 *pattern_ids, CatzDecisions *out)
{
	int			i;
	int			nmissing = 0;
	int64	   *missing;
	CatzDecisionEntry *read;

	memset(out, 0, sizeof(CatzDecisions) * n);
	if (!catz_shared_enabled())
	{
		for (i = 0; i < n && committed; i++)
		{
			DecisionSlot *s = decision_table_lookup(committed, pattern_ids[i]);

			if (s)
				out[i] = s->counts;
		}
		return;
	}

	check_cache_age();

	/*
	 * Nothing decided yet anywhere (a database that only reads): every
	 * count is 0, without a look-up per hit
	 */
	if (shared_empty && (committed == NULL || committed->members == 0))
		return;
	missing = palloc(sizeof(int64) * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		DecisionSlot *s = decision_table_lookup(cache, pattern_ids[i]);

		if (s)
			out[i] = s->counts;
		else
			missing[nmissing++] = pattern_ids[i];
	}
	if (nmissing > 0)
	{
		read = palloc(sizeof(CatzDecisionEntry) * nmissing);
		catz_shared_decisions_get_many(MyDatabaseId, nmissing, missing, read);
		for (i = 0; i < nmissing; i++)
		{
			bool		found;
			DecisionSlot *s = decision_table_insert(cache, missing[i], &found);

			s->counts.decisions = read[i].decisions;
			s->counts.confirmed = read[i].confirmed;
			s->counts.since = read[i].since;
		}
		for (i = 0; i < n; i++)
		{
			DecisionSlot *s = decision_table_lookup(cache, pattern_ids[i]);

			if (s)
				out[i] = s->counts;
		}
	}

	/* This backend's committed decisions not in shared memory yet */
	for (i = 0; i < n && committed && committed->members > 0; i++)
	{
		DecisionSlot *s = decision_table_lookup(committed, pattern_ids[i]);

		if (s == NULL)
			continue;
		if (s->counts.confirmed != out[i].confirmed)
		{
			out[i].confirmed = s->counts.confirmed;
			out[i].since = 0;
		}
		out[i].decisions += s->counts.decisions;
		out[i].since += s->counts.since;
	}
}
void
catz_decisions_count(int64 pattern_id, int64 confirmed)
{
	if (pending == NULL)
		pending = new_table();
	add(pending, pattern_id, confirmed, 1, 0);
}

/* Send this backend's committed decisions to shared memory */
static void
flush(void)
{
	decision_table_iterator it;
	DecisionSlot *s;
	int			n = 0;
	int64	   *ids;
	int64	   *confirmed;
	int64	   *counts;
	TimestampTz *last_at;
	MemoryContext old;

	if (committed == NULL || committed->members == 0 || !catz_shared_enabled())
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	ids = palloc(sizeof(int64) * committed->members);
	confirmed = palloc(sizeof(int64) * committed->members);
	counts = palloc(sizeof(int64) * committed->members);
	last_at = palloc(sizeof(TimestampTz) * committed->members);
	MemoryContextSwitchTo(old);
	decision_table_start_iterate(committed, &it);
	while ((s = decision_table_iterate(committed, &it)) != NULL)
	{
		ids[n] = s->pattern_id;
		confirmed[n] = s->counts.confirmed;
		counts[n] = s->counts.decisions;
		last_at[n] = s->last_at;
		n++;
	}
	catz_shared_decisions_add(MyDatabaseId, n, ids, confirmed, counts, last_at);
	pfree(ids);
	pfree(confirmed);
	pfree(counts);
	pfree(last_at);
	decision_table_reset(committed);
	if (cache)
		decision_table_reset(cache);	/* the shared counts now have ours */
	last_flush = GetCurrentTimestamp();
}

/* before_shmem_exit: what is not flushed yet would be lost (it committed) */
static void
flush_at_exit(int code, Datum arg)
{
	flush();
}

void
catz_decisions_end_xact(bool commit)
{
	decision_table_iterator it;
	DecisionSlot *s;

	bool		have_pending = pending != NULL && pending->members > 0;

	if (!have_pending && (committed == NULL || committed->members == 0))
		return;
	if (commit && have_pending)
	{
		/* the time of the commit record (the trigger's transaction wrote) */
		TimestampTz at = GetCurrentTransactionStopTimestamp();

		if (committed == NULL)
			committed = new_table();
		decision_table_start_iterate(pending, &it);
		while ((s = decision_table_iterate(pending, &it)) != NULL)
			add(committed, s->pattern_id, s->counts.confirmed, s->counts.decisions, at);
	}
	if (have_pending)
		decision_table_reset(pending);
	if (!commit || !catz_shared_enabled() || committed == NULL)
		return;

	if (!exit_flush_registered && MyDatabaseId != InvalidOid)
	{
		before_shmem_exit(flush_at_exit, (Datum) 0);
		exit_flush_registered = true;
	}
	if (committed->members >= DECISION_FLUSH_PATTERNS ||
		GetCurrentTimestamp() - last_flush >= DECISION_FLUSH_USECS)
		flush();
}
